//! `familiar serve`, driven by the official `openai` Python client.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::*;

/// Stops the server when the test ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn test_python() -> String {
    let out = Command::new(root().join("scripts/test-venv.sh")).output().expect("scripts/test-venv.sh runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_openai_client_lists_agents_and_chats_with_and_without_streaming() {
    let python = test_python();
    let home = tempfile::tempdir().unwrap();
    let familiar = env!("CARGO_BIN_EXE_familiar");
    let setup = Command::new(familiar).arg("setup").env("FAMILIAR_HOME", home.path()).output().unwrap();
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let mut child = Command::new(familiar)
        .args(["serve", "--port", "0", "--json"])
        .env("FAMILIAR_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = serde_json::from_str::<serde_json::Value>(&line).unwrap()["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let out = Command::new(&python).arg(root().join("tests/openai_client.py")).arg(&url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["models"], serde_json::json!(["Ada", "Bram", "Lena", "Orbit"]));
    let reply = result["reply"].as_str().unwrap();
    assert!(!reply.is_empty());
    assert_eq!(result["again"], result["reply"], "the same seed gives the same reply; names match in any case");
    assert_eq!(result["streamed"], result["reply"], "streaming gives the same text");
    assert_eq!(result["finish_reason"], "length");
    assert_eq!(result["stream_finish"], "length");
    assert_eq!(result["usage"]["completion"], 16);
    assert!(result["usage"]["prompt"].as_u64().unwrap() > 200, "the persona is in the prompt");
    assert!(result["missing"].as_str().unwrap().contains("no agent matches `Nobody`"), "{}", result["missing"]);
    // The documented extension field: the sources Ada's reply was given.
    let citations = result["citations"].as_array().expect("familiar_citations");
    assert!(!citations.is_empty());
    assert_eq!(citations[0]["document"], "jargon-file-chapters.md");
    assert!(citations[0]["location"].as_str().unwrap().contains("Chapter 7. Hacker Speech Style"), "{}", citations[0]);
    assert_eq!(citations[0]["n"], 1);
    assert_eq!(result["stream_citations"], result["citations"], "the last streamed chunk carries them too");
}
