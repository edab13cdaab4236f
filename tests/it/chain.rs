//! Owning and trading agents on a real anvil node: mint, list, browse, buy,
//! import with verification, and what must be refused or survived.

use std::path::{Path, PathBuf};
use std::time::Duration;

use familiar::api::chain::{self as chain_api, MintOptions, WalletAuth};
use familiar::api::{self, ErrorCode, Studio};
use familiar_chain::{Address, LocalNode, U256};

use crate::support::{self, PASSPHRASE};

const ETH: u128 = 1_000_000_000_000_000_000;

/// Stops a studio's local chain when the test ends, even on failure.
struct ChainGuard(PathBuf);

impl Drop for ChainGuard {
    fn drop(&mut self) {
        let _ = LocalNode::stop(&self.0.join("chain"));
    }
}

fn yes(_: &chain_api::TxPlan) -> bool {
    true
}

fn auth(wallet: &str) -> WalletAuth<'_> {
    WalletAuth { wallet: Some(wallet), passphrase: PASSPHRASE }
}

fn mint_options(wallet: &str) -> MintOptions<'_> {
    MintOptions { auth: auth(wallet), royalty_bps: 500, description: None, pin: None }
}

/// A studio with the sample agents, its local chain started, and a wallet.
async fn creator() -> (tempfile::TempDir, Studio, ChainGuard, String) {
    let (dir, studio) = support::studio().await;
    api::install_samples(&studio).await.unwrap();
    let guard = ChainGuard(dir.path().to_path_buf());
    chain_api::start_chain(&studio).await.unwrap();
    let wallet = chain_api::create_wallet(&studio, PASSPHRASE).unwrap().to_string();
    (dir, studio, guard, wallet)
}

/// Another studio on the creator's chain, fetching packages from `gateways`, with a funded wallet.
async fn peer(creator: &Studio, gateways: &[String]) -> (tempfile::TempDir, Studio, String) {
    let status = chain_api::chain_status(creator).await.unwrap();
    let (dir, studio) = support::studio().await;
    chain_api::use_network(
        &studio,
        status.rpc_url.as_deref().unwrap(),
        31337,
        status.network.contract.as_deref().unwrap(),
    )
    .await
    .unwrap();
    chain_api::set_gateways(&studio, gateways).await.unwrap();
    let wallet = chain_api::create_wallet(&studio, PASSPHRASE).unwrap();
    let chain = chain_api::connect(creator).await.unwrap();
    chain.dev_fund(wallet, U256::from(50 * ETH)).await.unwrap();
    (dir, studio, wallet.to_string())
}

async fn balance(studio: &Studio, wallet: &str) -> U256 {
    chain_api::connect(studio).await.unwrap().balance(wallet.parse().unwrap()).await.unwrap()
}

async fn serve(studio: &Studio) -> String {
    let (listener, addr) = familiar::serve::bind(0).await.unwrap();
    tokio::spawn(familiar::serve::serve(studio.clone(), listener));
    format!("http://{addr}")
}

/// An HTTP server that answers every request with `body`.
async fn hostile_gateway(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_creator_mints_and_sells_and_a_buyer_imports_the_very_same_agent() {
    let (_c, creator, _guard, creator_wallet) = creator().await;
    let minted = chain_api::mint_agent(&creator, "ada", mint_options(&creator_wallet), &yes).await.unwrap();
    assert_eq!(minted.status, "minted");
    let original = familiar::package::build(&api::agent(&creator, "ada").await.unwrap().1).unwrap();
    assert_eq!(minted.token, format!("0x{}", original.id.sha256), "the token id is the package's sha256");
    assert_eq!(minted.cid, original.id.cid);

    // The creator's studio serves the package by CID, byte for byte.
    let gateway = serve(&creator).await;
    let served = reqwest_get(&format!("{gateway}/ipfs/{}", minted.cid)).await;
    assert_eq!(served, original.bytes);

    let price = U256::from(2 * ETH);
    chain_api::sell_token(&creator, &minted.token[..12], price, auth(&creator_wallet), &yes).await.unwrap();

    // The buyer browses: agent data, creator, royalty and price come from the chain.
    let (_b, buyer, buyer_wallet) = peer(&creator, std::slice::from_ref(&gateway)).await;
    let listed = chain_api::market(&buyer).await.unwrap();
    assert_eq!(listed.len(), 1);
    let token = &listed[0];
    assert_eq!((token.name.as_str(), token.royalty_bps, token.price_wei), ("Ada", 500, Some(price)));
    assert_eq!(token.creator, creator_wallet.parse::<Address>().unwrap());
    assert!(!token.description.is_empty());

    // Importing before owning is refused.
    let err = chain_api::import_token(&buyer, &minted.token, None, |_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("buy it first"), "{err}");

    let creator_before = balance(&creator, &creator_wallet).await;
    let bought = chain_api::buy_token(&buyer, &minted.token, auth(&buyer_wallet), &yes).await.unwrap();
    assert_eq!(bought.price_wei, Some(price));
    assert_eq!(
        balance(&creator, &creator_wallet).await - creator_before,
        price,
        "a first sale pays the creator all of it"
    );

    // A resale pays the creator exactly the royalty.
    let (_r, collector, collector_wallet) = peer(&creator, std::slice::from_ref(&gateway)).await;
    chain_api::sell_token(&buyer, &minted.token, U256::from(4 * ETH), auth(&buyer_wallet), &yes).await.unwrap();
    let (creator_before, seller_before) =
        (balance(&creator, &creator_wallet).await, balance(&buyer, &buyer_wallet).await);
    let resale = chain_api::buy_token(&collector, &minted.token, auth(&collector_wallet), &yes).await.unwrap();
    let royalty = U256::from(4 * ETH / 20);
    assert_eq!(resale.royalty_wei, Some(royalty));
    assert_eq!(balance(&creator, &creator_wallet).await - creator_before, royalty);
    assert_eq!(balance(&buyer, &buyer_wallet).await - seller_before, U256::from(4 * ETH) - royalty);

    // The collector imports it from the creator's gateway; a tampering gateway listed first is skipped.
    let mut tampered = original.bytes.clone();
    let last = tampered.len() - 30;
    tampered[last] ^= 0x20;
    let liar = hostile_gateway(tampered).await;
    let (report, provenance) =
        chain_api::import_token(&collector, &minted.token, Some(vec![liar, gateway]), |_, _| {}).await.unwrap();
    let imported = api::agent(&collector, &report.id).await.unwrap().1;
    assert_eq!(
        familiar::package::build(&imported).unwrap().bytes,
        original.bytes,
        "the imported agent equals the original"
    );
    assert_eq!(provenance.creator, creator_wallet);
    assert_eq!(provenance.owner, collector_wallet);
    assert_eq!(chain_api::agent_provenance(&collector, &report.id).await.unwrap(), Some(provenance));
}

async fn reqwest_get(url: &str) -> Vec<u8> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut response = ureq::get(&url).call().unwrap();
        response.body_mut().read_to_vec().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_package_from_a_lying_gateway_is_refused_with_the_reason() {
    let (_c, creator, _guard, wallet) = creator().await;
    let minted = chain_api::mint_agent(&creator, "lena", mint_options(&wallet), &yes).await.unwrap();
    let original = familiar::package::build(&api::agent(&creator, "lena").await.unwrap().1).unwrap();
    let mut tampered = original.bytes.clone();
    tampered[100] ^= 1;
    let liar = hostile_gateway(tampered).await;
    let other = hostile_gateway(b"<html>not found</html>".to_vec()).await;

    // The creator's own studio would use its local copy; a peer must fetch.
    let (_p, peer, peer_wallet) = peer(&creator, &[liar.clone(), other]).await;
    chain_api::sell_token(&creator, &minted.token, U256::from(ETH), auth(&wallet), &yes).await.unwrap();
    chain_api::buy_token(&peer, &minted.token, auth(&peer_wallet), &yes).await.unwrap();
    let err = chain_api::import_token(&peer, &minted.token, None, |_, _| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::VerificationFailed);
    let message = err.to_string();
    assert!(message.contains(&liar) && message.contains("tampered"), "{message}");
    assert!(api::list_agents(&peer).await.unwrap().is_empty(), "nothing was imported");
}

#[tokio::test]
async fn a_mint_is_refused_for_a_wrong_passphrase_a_high_royalty_or_a_package_minted_by_someone_else() {
    let (_c, creator, _guard, wallet) = creator().await;
    let wrong = MintOptions {
        auth: WalletAuth { wallet: Some(&wallet), passphrase: "not the passphrase" },
        ..mint_options(&wallet)
    };
    let keystore = std::fs::read_dir(creator.home().join("wallets")).unwrap().flatten().next().unwrap().path();
    let before = std::fs::read(&keystore).unwrap();
    let err = chain_api::mint_agent(&creator, "ada", wrong, &yes).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::WrongPassphrase, "{err}");
    assert_eq!(std::fs::read(&keystore).unwrap(), before, "the keystore is intact");

    let greedy = MintOptions { royalty_bps: 1500, ..mint_options(&wallet) };
    let err = chain_api::mint_agent(&creator, "ada", greedy, &yes).await.unwrap_err();
    assert!(err.to_string().contains("cap of 10 %"), "{err}");

    let declined = chain_api::mint_agent(&creator, "ada", mint_options(&wallet), &|_| false).await.unwrap_err();
    assert_eq!(declined.code(), ErrorCode::Cancelled);

    chain_api::mint_agent(&creator, "ada", mint_options(&wallet), &yes).await.unwrap();
    let again = chain_api::mint_agent(&creator, "ada", mint_options(&wallet), &yes).await.unwrap();
    assert_eq!(again.status, "already minted");

    let second = chain_api::create_wallet(&creator, PASSPHRASE).unwrap().to_string();
    let err = chain_api::mint_agent(&creator, "ada", mint_options(&second), &yes).await.unwrap_err();
    assert!(err.to_string().contains("already minted by"), "{err}");
}

fn kill_9(home: &Path) {
    let node = LocalNode::running(&home.join("chain")).expect("the local chain runs");
    let status = std::process::Command::new("kill").args(["-9", &node.pid.to_string()]).status().unwrap();
    assert!(status.success());
    while LocalNode::running(&home.join("chain")).is_some() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the local chain has saved its whole state to disk after `since`
/// (anvil writes it every second; on a loaded machine a fixed wait fell short).
fn saved_since(home: &Path, since: std::time::SystemTime) {
    let state = home.join("chain/state.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let saved = std::fs::metadata(&state).and_then(|m| m.modified()).is_ok_and(|t| t > since)
            && std::fs::read(&state).is_ok_and(|b| serde_json::from_slice::<serde_json::Value>(&b).is_ok());
        if saved {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the chain did not save its state within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn intents(studio: &Studio) -> Vec<(String, String)> {
    use sqlx::Row;
    sqlx::query("SELECT tx_hash, status FROM mint_intents")
        .fetch_all(studio.store().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("tx_hash"), r.get("status")))
        .collect()
}

#[tokio::test]
async fn a_mint_cut_off_by_the_node_dying_is_finished_after_restart_exactly_once() {
    let (dir, creator, _guard, wallet) = creator().await;
    let chain = chain_api::connect(&creator).await.unwrap();
    chain.dev_fund(wallet.parse().unwrap(), U256::from(10 * ETH)).await.unwrap();
    // The node keeps transactions waiting, and has saved its state (contract, funds) to disk.
    chain.dev_automine(false).await.unwrap();
    saved_since(dir.path(), std::time::SystemTime::now());

    let minting = {
        let creator = creator.clone();
        let wallet = wallet.clone();
        tokio::spawn(async move { chain_api::mint_agent(&creator, "ada", mint_options(&wallet), &yes).await })
    };
    while intents(&creator).await.is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill_9(dir.path());
    let err = minting.await.unwrap().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ChainUnavailable, "{err}");
    assert!(err.to_string().contains("run the same mint again"), "{err}");
    let recorded = intents(&creator).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].1, "sent");

    // Restarted (from its saved state, which never saw the transaction), the same command finishes the mint.
    chain_api::start_chain(&creator).await.unwrap();
    let finished = chain_api::mint_agent(&creator, "ada", mint_options(&wallet), &yes).await.unwrap();
    assert_eq!(finished.status, "minted");
    assert_eq!(
        finished.tx_hash.as_deref(),
        Some(recorded[0].0.as_str()),
        "the recorded transaction itself was sent again"
    );
    assert_eq!(intents(&creator).await[0].1, "minted");
    let again = chain_api::mint_agent(&creator, "ada", mint_options(&wallet), &yes).await.unwrap();
    assert_eq!(again.status, "already minted");

    let tokens = chain_api::market(&creator).await.unwrap();
    assert_eq!(tokens.len(), 1, "exactly one token");
}

#[test]
fn the_cli_starts_the_chain_mints_lists_and_browses() {
    let home = tempfile::tempdir().unwrap();
    let _guard = ChainGuard(home.path().to_path_buf());
    support::ok(home.path(), &["setup", "--json"]);
    let wallet = support::json(home.path(), &["wallet", "new", "--json"]);
    let address = wallet["address"].as_str().unwrap().to_owned();
    let status = support::json(home.path(), &["chain", "start", "--json"]);
    assert_eq!(status["reachable"], true);
    assert_eq!(status["contract_deployed"], true);

    let minted = support::json(home.path(), &["mint", "bram", "--royalty", "7.5", "--json"]);
    let token = minted["token"].as_str().unwrap().to_owned();
    support::json(home.path(), &["market", "sell", &token[..10], "0.25", "--json"]);
    let market = support::json(home.path(), &["market", "list", "--json"]);
    assert_eq!(market[0]["name"], "Bram");
    assert_eq!(market[0]["royalty_bps"], 750);
    assert_eq!(market[0]["creator"].as_str().unwrap(), address);
    assert_eq!(market[0]["price_wei"], "0x3782dace9d90000");

    let own = support::fails(home.path(), &["market", "buy", &token[..10], "--json"]);
    assert!(own.contains("your own listing"), "{own}");
    let balance = support::json(home.path(), &["wallet", "balance", "--json"]);
    assert_eq!(balance["address"].as_str().unwrap(), address);
    support::ok(home.path(), &["chain", "stop"]);
    let status = support::json(home.path(), &["chain", "status", "--json"]);
    assert_eq!(status["reachable"], false);
}

#[tokio::test]
async fn the_market_index_follows_a_reorganisation_of_the_last_blocks() {
    let (_c, creator, _guard, wallet) = creator().await;
    let minted = chain_api::mint_agent(&creator, "ada", mint_options(&wallet), &yes).await.unwrap();
    let chain = chain_api::connect(&creator).await.unwrap();
    let before_listing = chain.dev_snapshot().await.unwrap();
    chain_api::sell_token(&creator, &minted.token, U256::from(ETH), auth(&wallet), &yes).await.unwrap();
    assert_eq!(chain_api::market(&creator).await.unwrap()[0].price_wei, Some(U256::from(ETH)));

    // The listing's block is replaced by other blocks: the index must forget the listing.
    chain.dev_revert(before_listing).await.unwrap();
    chain.dev_mine(3).await.unwrap();
    let report = chain_api::sync_market(&creator).await.unwrap();
    assert!(report.reorg, "{report:?}");
    let tokens = chain_api::market(&creator).await.unwrap();
    assert_eq!((tokens.len(), tokens[0].price_wei), (1, None), "the mint stays, the listing is gone");
}

#[tokio::test]
async fn a_mint_pins_the_package_on_a_kubo_node_that_names_it_by_the_same_cid() {
    use axum::extract::State;
    use std::sync::{Arc, Mutex};
    // A stand-in for Kubo's `POST /api/v0/add`: it keeps the uploaded body and answers like Kubo
    // does for a raw-leaves add of one block (the CID of the file's bytes).
    let received: Arc<Mutex<Vec<u8>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/api/v0/add",
            axum::routing::post(|State(store): State<Arc<Mutex<Vec<u8>>>>, body: axum::body::Bytes| async move {
                let text = body.to_vec();
                let start = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                // The body ends with CRLF, the boundary line, "--" and CRLF.
                let boundary = text.windows(2).position(|w| w == b"\r\n").unwrap();
                let file = text[start..text.len() - (boundary + 6)].to_vec();
                let cid = familiar_chain::uri::cid_of_digest(&sha2_digest(&file));
                *store.lock().unwrap() = file;
                format!("{{\"Name\":\"package.zip\",\"Hash\":\"{cid}\",\"Size\":\"1\"}}\n")
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let kubo = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (_c, creator, _guard, wallet) = creator().await;
    let options = MintOptions { pin: Some(kubo), ..mint_options(&wallet) };
    let minted = chain_api::mint_agent(&creator, "orbit", options, &yes).await.unwrap();
    assert_eq!(minted.pinned.as_deref(), Some(minted.cid.as_str()));
    let original = familiar::package::build(&api::agent(&creator, "orbit").await.unwrap().1).unwrap();
    assert_eq!(*received.lock().unwrap(), original.bytes, "Kubo received the package's exact bytes");

    let err = chain_api::mint_agent(
        &creator,
        "lena",
        MintOptions { pin: Some("http://127.0.0.1:9".into()), ..mint_options(&wallet) },
        &yes,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("pinning through"), "{err}");
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[tokio::test]
async fn a_studio_deploys_its_own_contract_on_another_chain_and_mints_there() {
    let (_c, creator, _guard, _) = creator().await;
    let status = chain_api::chain_status(&creator).await.unwrap();
    let rpc = status.rpc_url.clone().unwrap();
    let (_o, other) = support::studio().await;
    api::install_samples(&other).await.unwrap();
    let wallet = chain_api::create_wallet(&other, PASSPHRASE).unwrap();
    chain_api::connect(&creator).await.unwrap().dev_fund(wallet, U256::from(5 * ETH)).await.unwrap();

    let wallet = wallet.to_string();
    let settings = chain_api::deploy_contract(&other, &rpc, 31337, auth(&wallet), &yes).await.unwrap();
    assert_eq!(settings.kind, "custom");
    assert_ne!(settings.contract, status.network.contract, "a contract of its own");
    chain_api::mint_agent(&other, "orbit", mint_options(&wallet), &yes).await.unwrap();
    assert_eq!(chain_api::market(&other).await.unwrap()[0].name, "Orbit");
    assert!(chain_api::market(&creator).await.unwrap().is_empty(), "the creator's contract has no token");

    let err = chain_api::use_network(&other, &rpc, 1, settings.contract.as_deref().unwrap()).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ChainUnavailable, "{err}");
    assert!(err.to_string().contains("not chain 1"), "{err}");
}
