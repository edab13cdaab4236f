//! The local chain: an anvil node that the studio starts as a child process on
//! 127.0.0.1, on the free port it binds and names in its log (`anvil.log`,
//! rewritten at each start), with its state saved in the data folder so that
//! tokens survive a restart. anvil comes from the npm package `@foundry-rs/anvil`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The chain id anvil uses.
pub const LOCAL_CHAIN_ID: u64 = 31337;

/// anvil's first development key (public knowledge: used only on the local chain,
/// to deploy the contract and to fund the user's wallets there).
pub const DEV_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(
        "anvil was not found: run `npm ci --prefix contracts` (it installs @foundry-rs/anvil), put anvil on PATH, or set FAMILIAR_ANVIL"
    )]
    NoAnvil,
    #[error("anvil did not start: {0}")]
    Start(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// Where the anvil binary is: `$FAMILIAR_ANVIL`, the npm package in this
/// source tree, or `anvil` on PATH. The source tree is the one cargo runs the
/// tests for (the workspace root or this crate's folder), else the one this
/// was built in.
pub fn anvil_binary() -> Result<PathBuf, NodeError> {
    if let Some(path) = std::env::var_os("FAMILIAR_ANVIL") {
        return Ok(PathBuf::from(path));
    }
    let running = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let trees = running.iter().flat_map(|dir| [dir.clone(), dir.join("../..")]).chain([built]);
    for tree in trees {
        let packages = tree.join("contracts/node_modules/@foundry-rs");
        for platform in ["anvil-linux-amd64", "anvil-linux-arm64", "anvil-darwin-arm64", "anvil-darwin-amd64"] {
            let candidate = packages.join(platform).join("bin/anvil");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("anvil"))
        .find(|p| p.is_file());
    on_path.ok_or(NodeError::NoAnvil)
}

/// A running local node, as recorded in `<dir>/node.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LocalNode {
    pub pid: u32,
    pub port: u16,
}

impl LocalNode {
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The node recorded in `dir`, if its process still runs.
    pub fn running(dir: &Path) -> Option<LocalNode> {
        let node: LocalNode = serde_json::from_slice(&std::fs::read(dir.join("node.json")).ok()?).ok()?;
        alive(node.pid).then_some(node)
    }

    /// Starts anvil in its own process group (it outlives the command that
    /// started it; [`LocalNode::stop`] ends it), on a free loopback port, with
    /// its state loaded from and saved to `dir/state.json` every second.
    pub fn start(dir: &Path, port: Option<u16>) -> Result<LocalNode, NodeError> {
        if let Some(node) = LocalNode::running(dir) {
            return Ok(node);
        }
        let anvil = anvil_binary()?;
        let io = |what: &str, e| NodeError::Io(format!("{what} {}", dir.display()), e);
        std::fs::create_dir_all(dir).map_err(|e| io("could not create", e))?;
        // Port 0 lets anvil bind a free port itself and say which in its log: a port chosen here
        // and bound there later could be taken in between (by another node, or by any listener,
        // which would then look like this node).
        let log_path = dir.join("anvil.log");
        let log = std::fs::File::create(&log_path).map_err(|e| io("could not write the log in", e))?;
        let log2 = log.try_clone().map_err(|e| io("could not write the log in", e))?;
        let mut command = Command::new(&anvil);
        command
            .args(["--host", "127.0.0.1", "--port", &port.unwrap_or(0).to_string()])
            .args(["--state-interval", "1", "--state"])
            .arg(dir.join("state.json"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command.spawn().map_err(|e| NodeError::Start(format!("{}: {e}", anvil.display())))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(port) = listening_port(&log) {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(NodeError::Start(format!("it exited ({status}): {}", log.trim())));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(NodeError::Start("it did not listen within 30 s".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let node = LocalNode { pid: child.id(), port };
        let record = serde_json::to_vec(&node).unwrap_or_default();
        std::fs::write(dir.join("node.json"), record).map_err(|e| io("could not record the node in", e))?;
        Ok(node)
    }

    /// Stops the node (SIGTERM, so anvil saves its state) and waits for it.
    pub fn stop(dir: &Path) -> Result<bool, NodeError> {
        let Some(node) = LocalNode::running(dir) else {
            return Ok(false);
        };
        let _ = Command::new("kill").arg(node.pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(node.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(dir.join("node.json"));
        Ok(true)
    }
}

/// Whether a process runs (a zombie, dead but not yet reaped by its parent, does not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The port in anvil's "Listening on 127.0.0.1:<port>" line, once it has written
/// the whole line (a line still being written could hold half the number).
fn listening_port(log: &str) -> Option<u16> {
    log.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .find_map(|line| line.trim().strip_prefix("Listening on 127.0.0.1:")?.parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_port_is_read_from_anvils_log_once_it_listens() {
        assert_eq!(super::listening_port("Available Accounts\n==================\n"), None);
        let log = "Base Fee\n==================\n\n1000000000\n\nListening on 127.0.0.1:40541\neth_chainId\n";
        assert_eq!(super::listening_port(log), Some(40541));
        assert_eq!(super::listening_port("Listening on 127.0.0.1:405"), None, "a line not written to its end");
    }
}
