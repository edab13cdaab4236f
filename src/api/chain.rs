//! The chain part of the core API: the network in use and the local node, the
//! wallet, minting (recorded before it is sent and reconciled after a crash),
//! the packages this studio publishes by CID, the marketplace index, buying,
//! and importing a token's agent with proof.
//!
//! Invariants: a mint intent (the signed transaction and its hash) is in the
//! database before the transaction leaves; the token id is the package's
//! sha256, so the chain itself refuses a second mint of the same package.
//! Nothing fetched is trusted: an imported package must hash to its CID and to
//! the on-chain content hash, and the creator's signature must name the minter.

use std::collections::BTreeMap;
use std::time::Duration;

use familiar_chain::client::{self, AgentText, Included, TransactionRequest, signer_of};
use familiar_chain::contract::MAX_ROYALTY_BPS;
use familiar_chain::node::{DEV_KEY, LOCAL_CHAIN_ID};
use familiar_chain::{
    Address, B256, Chain, ChainError, ChainEvent, EventKind, FeeEstimate, LocalNode, Network, Prepared,
    PrivateKeySigner, U256, Wallets, gateway, uri,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Error, ImportReport, Result, Studio, agent};
use crate::package;

/// On a changed hash of the last block read, this many blocks are read again.
const REORG_DEPTH: u64 = 12;
/// Blocks per `eth_getLogs` request.
const LOG_RANGE: u64 = 5_000;
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// What the local chain's faucet gives a wallet that runs low.
const DEV_FUNDS_ETH: u64 = 100;

/// Which chain the studio uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NetworkSettings {
    /// `local` (the studio's own anvil node) or `custom`.
    pub kind: String,
    /// The RPC URL of a custom network.
    pub rpc_url: Option<String>,
    /// The chain id.
    pub chain_id: u64,
    /// The AgentNFT contract's address, when known.
    pub contract: Option<String>,
}

impl NetworkSettings {
    fn local() -> NetworkSettings {
        NetworkSettings { kind: "local".into(), rpc_url: None, chain_id: LOCAL_CHAIN_ID, contract: None }
    }

    fn is_local(&self) -> bool {
        self.kind == "local"
    }
}

/// Where the chain stands.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChainStatus {
    /// The network settings.
    pub network: NetworkSettings,
    /// The RPC URL in use.
    pub rpc_url: Option<String>,
    /// Whether the node answered.
    pub reachable: bool,
    /// The latest block.
    pub block: Option<u64>,
    /// Whether the contract is deployed at its address.
    pub contract_deployed: bool,
    /// The local node, when it runs.
    pub local_node: Option<LocalNode>,
    /// Why the node could not be used.
    pub error: Option<String>,
    /// The gateways packages are fetched from.
    pub gateways: Vec<String>,
}

/// A wallet to sign with: an address (or unique prefix; the only wallet when
/// `None`) and its passphrase.
#[derive(Debug, Clone, Copy)]
pub struct WalletAuth<'a> {
    /// The wallet.
    pub wallet: Option<&'a str>,
    /// Its passphrase.
    pub passphrase: &'a str,
}

/// What a transaction will do and cost, shown before it is sent.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TxPlan {
    /// What it does, in words.
    pub action: String,
    /// The sender.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub from: Address,
    /// The value sent, in wei.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub value_wei: U256,
    /// The creator's royalty within that value, for a purchase.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub royalty_wei: Option<U256>,
    /// The gas and the most it can cost.
    pub fee: FeeEstimate,
}

/// Decides whether a planned transaction is sent (the CLI asks, or `--yes`).
pub type Approve<'a> = &'a (dyn Fn(&TxPlan) -> bool + Send + Sync);

/// A wallet's balance.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WalletBalance {
    /// The address.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub address: Address,
    /// The balance in wei.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub wei: U256,
    /// The balance in ether, as a decimal.
    pub ether: String,
    /// The chain asked.
    pub chain_id: u64,
}

/// Options of a mint.
#[derive(Debug, Clone)]
pub struct MintOptions<'a> {
    /// The creator's wallet.
    pub auth: WalletAuth<'a>,
    /// The creator's royalty in basis points (at most 1000 = 10 %).
    pub royalty_bps: u16,
    /// The on-chain description; by default the card's creator notes or description, shortened.
    pub description: Option<String>,
    /// A Kubo RPC endpoint (e.g. `http://127.0.0.1:5001`) to pin the package on.
    pub pin: Option<String>,
}

/// The outcome of a mint.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MintReport {
    /// The token id, which is the package's sha256 (0x-hex).
    pub token: String,
    /// The package's CID, served at `/ipfs/<cid>`.
    pub cid: String,
    /// `minted` now, or `already minted` earlier (nothing was sent).
    pub status: &'static str,
    /// The creator.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub creator: Address,
    /// The mint transaction.
    pub tx_hash: Option<String>,
    /// Its block.
    pub block_number: Option<u64>,
    /// The fee estimate shown before sending.
    pub fee: Option<FeeEstimate>,
    /// The CID the Kubo node pinned.
    pub pinned: Option<String>,
}

/// The outcome of a listing, cancellation or purchase.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TradeReport {
    /// The token.
    pub token: String,
    /// The transaction.
    pub tx_hash: String,
    /// Its block.
    pub block_number: u64,
    /// The price, in wei.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub price_wei: Option<U256>,
    /// The creator's royalty in that price, in wei.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub royalty_wei: Option<U256>,
    /// The fee estimate shown before sending.
    pub fee: FeeEstimate,
    /// The gas it used.
    pub gas_used: u64,
}

/// A minted agent as the marketplace shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MarketToken {
    /// The token id (the package's sha256, 0x-hex).
    pub token: String,
    /// The package's CID.
    pub cid: String,
    /// ERC-7662 agent data.
    pub name: String,
    /// ERC-7662 agent data.
    pub description: String,
    /// ERC-7662 agent data.
    pub model: String,
    /// The creator, who receives the royalty.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub creator: Address,
    /// The current owner.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub owner: Address,
    /// The creator's royalty, in basis points.
    pub royalty_bps: u16,
    /// The asking price in wei, when listed.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub price_wei: Option<U256>,
    /// The mint's block.
    pub minted_block: u64,
}

/// What a market refresh read.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncReport {
    /// The first block read.
    pub from_block: u64,
    /// The last block read.
    pub to_block: u64,
    /// The events read in that range.
    pub events: usize,
    /// Whether the last block seen had changed (a reorganisation).
    pub reorg: bool,
}

/// Where an imported agent came from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Provenance {
    /// The chain.
    pub chain_id: u64,
    /// The contract.
    pub contract: String,
    /// The token id (= the package's sha256).
    pub token: String,
    /// The creator who minted it.
    pub creator: String,
    /// The owner when it was imported.
    pub owner: String,
    /// The package's CID.
    pub cid: String,
}

// ---- settings ---------------------------------------------------------------------

async fn setting<T: DeserializeOwned>(studio: &Studio, key: &str) -> Result<Option<T>> {
    let row = sqlx::query("SELECT value FROM chain_settings WHERE key = ?")
        .bind(key)
        .fetch_optional(studio.store.pool())
        .await
        .map_err(db)?;
    Ok(row.and_then(|r| serde_json::from_str(r.get::<&str, _>("value")).ok()))
}

async fn set_setting<T: Serialize>(studio: &Studio, key: &str, value: &T) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| Error::Invalid(e.to_string()))?;
    sqlx::query(
        "INSERT INTO chain_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(text)
    .execute(studio.store.pool())
    .await
    .map_err(db)?;
    Ok(())
}

fn db(e: sqlx::Error) -> Error {
    Error::Store(crate::store::StoreError::from(e))
}

/// The network in use (the local chain unless another was chosen).
pub async fn network_settings(studio: &Studio) -> Result<NetworkSettings> {
    Ok(setting(studio, "network").await?.unwrap_or_else(NetworkSettings::local))
}

/// Uses the studio's own local chain.
pub async fn use_local_chain(studio: &Studio) -> Result<NetworkSettings> {
    let settings = NetworkSettings::local();
    set_setting(studio, "network", &settings).await?;
    Ok(settings)
}

/// Uses another chain by RPC URL and chain id, with the AgentNFT contract at
/// `contract`. The node must answer with that chain id and have the contract.
pub async fn use_network(studio: &Studio, rpc_url: &str, chain_id: u64, contract: &str) -> Result<NetworkSettings> {
    let address: Address = contract
        .parse()
        .map_err(|_| Error::Invalid(format!("{contract:?} is not a contract address (0x and 40 hex digits)")))?;
    let chain = Chain::connect(Network { rpc_url: rpc_url.to_owned(), chain_id, contract: address }).await?;
    if !chain.has_contract().await? {
        return Err(ChainError::NoContract(address).into());
    }
    let settings = NetworkSettings {
        kind: "custom".into(),
        rpc_url: Some(rpc_url.to_owned()),
        chain_id,
        contract: Some(address.to_string()),
    };
    set_setting(studio, "network", &settings).await?;
    Ok(settings)
}

/// Deploys the AgentNFT contract on another chain from one of the studio's
/// wallets (which pays the fee, shown first), then uses that network.
pub async fn deploy_contract(
    studio: &Studio,
    rpc_url: &str,
    chain_id: u64,
    auth: WalletAuth<'_>,
    approve: Approve<'_>,
) -> Result<NetworkSettings> {
    let chain = Chain::connect(Network { rpc_url: rpc_url.to_owned(), chain_id, contract: Address::ZERO }).await?;
    let signer = unlock(studio, &auth)?;
    let request = chain.deploy_request(signer.address());
    let (included, _) = transact(
        studio,
        &chain,
        &signer,
        request,
        format!("deploy the AgentNFT contract on chain {chain_id}"),
        None,
        approve,
    )
    .await?;
    let receipt = chain.receipt(included.hash).await?;
    let Some(address) = receipt.and_then(|r| r.contract_address) else {
        return Err(Error::Invalid(format!("transaction {} created no contract", included.hash)));
    };
    use_network(studio, rpc_url, chain_id, &address.to_string()).await
}

/// The gateways packages are fetched from, in order (after this studio's own store).
pub async fn gateways(studio: &Studio) -> Result<Vec<String>> {
    Ok(setting(studio, "gateways").await?.unwrap_or_else(|| vec!["https://ipfs.io".into(), "https://dweb.link".into()]))
}

/// Replaces the gateway list. Each must be an http(s) URL.
pub async fn set_gateways(studio: &Studio, list: &[String]) -> Result<Vec<String>> {
    for g in list {
        if !(g.starts_with("http://") || g.starts_with("https://")) {
            return Err(Error::Invalid(format!("gateway {g:?} is not an http:// or https:// URL")));
        }
    }
    let list: Vec<String> = list.iter().map(|g| g.trim_end_matches('/').to_owned()).collect();
    set_setting(studio, "gateways", &list).await?;
    Ok(list)
}

// ---- the node ---------------------------------------------------------------------

fn chain_dir(studio: &Studio) -> std::path::PathBuf {
    studio.home.join("chain")
}

/// Starts the local chain (if it is not running) and deploys the contract on
/// it the first time.
pub async fn start_chain(studio: &Studio) -> Result<ChainStatus> {
    local_chain(studio).await?;
    chain_status(studio).await
}

async fn local_chain(studio: &Studio) -> Result<Chain> {
    let dir = chain_dir(studio);
    let node = tokio::task::spawn_blocking(move || LocalNode::start(&dir, None))
        .await
        .map_err(|e| Error::Invalid(e.to_string()))??;
    let recorded: Option<String> = setting(studio, "local_contract").await?;
    if let Some(address) = recorded.and_then(|a| a.parse::<Address>().ok()) {
        let chain =
            Chain::connect(Network { rpc_url: node.rpc_url(), chain_id: LOCAL_CHAIN_ID, contract: address }).await?;
        if chain.has_contract().await? {
            return Ok(chain);
        }
    }
    let deployer: PrivateKeySigner = DEV_KEY.parse().map_err(|_| Error::Invalid("bad development key".into()))?;
    let address = client::deploy(&node.rpc_url(), &deployer).await?;
    set_setting(studio, "local_contract", &address.to_string()).await?;
    Ok(Chain::connect(Network { rpc_url: node.rpc_url(), chain_id: LOCAL_CHAIN_ID, contract: address }).await?)
}

/// Stops the local chain; its state is saved in the data folder.
pub async fn stop_chain(studio: &Studio) -> Result<bool> {
    let dir = chain_dir(studio);
    Ok(tokio::task::spawn_blocking(move || LocalNode::stop(&dir))
        .await
        .map_err(|e| Error::Invalid(e.to_string()))??)
}

/// The network, whether it answers, and the contract.
pub async fn chain_status(studio: &Studio) -> Result<ChainStatus> {
    let network = network_settings(studio).await?;
    let local_node = LocalNode::running(&chain_dir(studio));
    let mut status = ChainStatus {
        rpc_url: if network.is_local() { local_node.as_ref().map(|n| n.rpc_url()) } else { network.rpc_url.clone() },
        network: network.clone(),
        reachable: false,
        block: None,
        contract_deployed: false,
        local_node,
        error: None,
        gateways: gateways(studio).await?,
    };
    if network.is_local() {
        status.network.contract = setting(studio, "local_contract").await?;
        if status.local_node.is_none() {
            status.error = Some("the local chain is not running: `familiar chain start` starts it".into());
            return Ok(status);
        }
    }
    let (Some(rpc_url), Some(contract)) = (status.rpc_url.clone(), status.network.contract.clone()) else {
        status.error = Some("no contract on this network yet".into());
        return Ok(status);
    };
    let contract = contract.parse().unwrap_or(Address::ZERO);
    match Chain::connect(Network { rpc_url, chain_id: network.chain_id, contract }).await {
        Ok(chain) => {
            status.reachable = true;
            status.block = chain.block_number().await.ok();
            status.contract_deployed = chain.has_contract().await.unwrap_or(false);
        }
        Err(e) => status.error = Some(e.to_string()),
    }
    Ok(status)
}

/// The chain in use: the local one is started on demand.
pub async fn connect(studio: &Studio) -> Result<Chain> {
    let network = network_settings(studio).await?;
    if network.is_local() {
        return local_chain(studio).await;
    }
    let (Some(rpc_url), Some(contract)) = (network.rpc_url, network.contract) else {
        return Err(Error::Invalid("the network has no RPC URL or contract: `familiar chain use <rpc-url> --chain-id <id> --contract <address>`".into()));
    };
    let contract = contract.parse().map_err(|_| Error::Invalid(format!("bad contract address {contract:?}")))?;
    Ok(Chain::connect(Network { rpc_url, chain_id: network.chain_id, contract }).await?)
}

// ---- the wallet -------------------------------------------------------------------

fn wallets(studio: &Studio) -> Wallets {
    Wallets::new(studio.home.join("wallets"))
}

/// Creates a wallet with a new key, encrypted with `passphrase`.
pub fn create_wallet(studio: &Studio, passphrase: &str) -> Result<Address> {
    Ok(wallets(studio).create(passphrase)?)
}

/// Imports a private key (hex) into an encrypted keystore.
pub fn import_wallet_key(studio: &Studio, key_hex: &str, passphrase: &str) -> Result<Address> {
    Ok(wallets(studio).import_key(key_hex, passphrase)?)
}

/// Imports account `index` of a BIP-39 mnemonic into an encrypted keystore.
pub fn import_wallet_mnemonic(studio: &Studio, phrase: &str, index: u32, passphrase: &str) -> Result<Address> {
    Ok(wallets(studio).import_mnemonic(phrase, index, passphrase)?)
}

/// The studio's wallets.
pub fn list_wallets(studio: &Studio) -> Result<Vec<Address>> {
    Ok(wallets(studio).list()?)
}

/// The wallet a query names (or the only one).
pub fn wallet_address(studio: &Studio, query: Option<&str>) -> Result<Address> {
    Ok(wallets(studio).resolve(query)?)
}

/// A wallet's balance on the chain in use.
pub async fn wallet_balance(studio: &Studio, query: Option<&str>) -> Result<WalletBalance> {
    let address = wallet_address(studio, query)?;
    let chain = connect(studio).await?;
    let wei = chain.balance(address).await?;
    Ok(WalletBalance { address, wei, ether: format_ether(wei), chain_id: chain.network().chain_id })
}

fn unlock(studio: &Studio, auth: &WalletAuth<'_>) -> Result<PrivateKeySigner> {
    let wallets = wallets(studio);
    let address = wallets.resolve(auth.wallet)?;
    Ok(wallets.unlock(address, auth.passphrase)?)
}

/// Ether as a decimal string.
pub fn format_ether(wei: U256) -> String {
    familiar_chain::client::format_ether(wei)
}

/// Parses an amount of ether (`0.5`, `2`) into wei.
pub fn parse_ether(text: &str) -> Result<U256> {
    Ok(familiar_chain::client::parse_ether(text)?)
}

// ---- transactions -----------------------------------------------------------------

/// Tops a wallet up from anvil's faucet on the local chain (never elsewhere).
async fn dev_funds(studio: &Studio, chain: &Chain, address: Address) -> Result<()> {
    if !network_settings(studio).await?.is_local() {
        return Ok(());
    }
    let one_ether = U256::from(10u64).pow(U256::from(18));
    if chain.balance(address).await? < one_ether {
        chain.dev_fund(address, one_ether * U256::from(DEV_FUNDS_ETH)).await?;
    }
    Ok(())
}

/// Signs a transaction and shows its plan; nothing is sent unless `approve` says yes.
async fn prepare_approved(
    studio: &Studio,
    chain: &Chain,
    signer: &PrivateKeySigner,
    request: TransactionRequest,
    action: String,
    royalty_wei: Option<U256>,
    approve: Approve<'_>,
) -> Result<Prepared> {
    dev_funds(studio, chain, signer.address()).await?;
    let prepared = chain.prepare(signer, request).await?;
    let plan = TxPlan { action, from: signer.address(), value_wei: prepared.value, royalty_wei, fee: prepared.fee };
    if !approve(&plan) {
        return Err(Error::Declined);
    }
    Ok(prepared)
}

async fn transact(
    studio: &Studio,
    chain: &Chain,
    signer: &PrivateKeySigner,
    request: TransactionRequest,
    action: String,
    royalty_wei: Option<U256>,
    approve: Approve<'_>,
) -> Result<(Included, FeeEstimate)> {
    let prepared = prepare_approved(studio, chain, signer, request, action, royalty_wei, approve).await?;
    chain.send(&prepared.raw).await?;
    Ok((chain.wait(prepared.hash, RECEIPT_TIMEOUT).await?, prepared.fee))
}

/// A token named by its 0x id, its CID, or a unique prefix of the id.
async fn token_id(studio: &Studio, chain: &Chain, query: &str) -> Result<B256> {
    let query = query.trim();
    if query.starts_with("baf") {
        let (_, digest) = uri::digest_of_cid(query)?;
        return Ok(B256::from(digest));
    }
    let hex_part = query.trim_start_matches("0x").to_ascii_lowercase();
    if hex_part.len() == 64 {
        return hex_part.parse().map_err(|_| Error::Invalid(format!("{query:?} is not a token id")));
    }
    if hex_part.is_empty() || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Invalid(format!("{query:?} is not a token id, a CID or an id prefix")));
    }
    let network = chain.network();
    let rows = sqlx::query("SELECT token FROM chain_tokens WHERE chain_id = ? AND contract = ? AND token LIKE ?")
        .bind(network.chain_id as i64)
        .bind(network.contract.to_string())
        .bind(format!("0x{hex_part}%"))
        .fetch_all(studio.store.pool())
        .await
        .map_err(db)?;
    match rows.as_slice() {
        [one] => one.get::<String, _>("token").parse().map_err(|_| Error::Invalid("bad token id in the index".into())),
        [] => Err(Error::Invalid(format!("no token starts with {query:?}: `familiar market list` shows them"))),
        _ => Err(Error::Invalid(format!("several tokens start with {query:?}: give more digits"))),
    }
}

// ---- minting ----------------------------------------------------------------------

/// Keeps at most `max` bytes of `text`, cut at a character boundary.
fn clip(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

/// The first sentence of `text` if it fits `max` bytes, else as many whole words as fit, with "…".
fn first_sentence(text: &str, max: usize) -> String {
    let end = text.find(". ").map(|i| i + 1).unwrap_or(text.len());
    if end <= max {
        return text[..end].to_owned();
    }
    let clipped = clip(text, max - '…'.len_utf8());
    let words = clipped.rsplit_once(' ').map(|(head, _)| head).unwrap_or(&clipped);
    format!("{}…", words.trim_end_matches([',', ';', ':']))
}

fn agent_text(agent: &crate::agent::Agent, description: Option<String>) -> AgentText {
    let spec = agent.spec();
    let description = description.unwrap_or_else(|| {
        let source = if spec.creator_notes.trim().is_empty() { &spec.description } else { &spec.creator_notes };
        let line = source.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
        first_sentence(line, 280)
    });
    let model =
        spec.familiar.model.as_ref().and_then(|m| m.id.clone().or_else(|| m.remote.as_ref().map(|r| r.model.clone())));
    AgentText {
        name: clip(agent.name(), 64),
        description: clip(&description, 280),
        model: clip(&model.unwrap_or_default(), 128),
        prompts_encrypted: false,
    }
}

async fn publish(studio: &Studio, package: &package::Package, agent_id: &str) -> Result<()> {
    sqlx::query(
        "INSERT OR IGNORE INTO published_packages (cid, sha256, agent_id, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&package.id.cid)
    .bind(&package.id.sha256)
    .bind(agent_id)
    .bind(package.bytes.len() as i64)
    .bind(package.bytes.as_slice())
    .bind(studio.now())
    .execute(studio.store.pool())
    .await
    .map_err(db)?;
    Ok(())
}

/// The bytes of a package this studio publishes, by CID (what `GET /ipfs/<cid>` serves).
pub async fn published_package(studio: &Studio, cid: &str) -> Result<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT data FROM published_packages WHERE cid = ?")
        .bind(cid)
        .fetch_optional(studio.store.pool())
        .await
        .map_err(db)?;
    Ok(row.map(|r| r.get("data")))
}

/// Mints an agent: builds and publishes its package, optionally pins it, signs
/// its content hash, records the signed transaction, sends it and follows it to
/// its receipt. Run again after any failure, it finishes the same mint; a
/// package is never minted twice.
pub async fn mint_agent(
    studio: &Studio,
    query: &str,
    options: MintOptions<'_>,
    approve: Approve<'_>,
) -> Result<MintReport> {
    if options.royalty_bps > MAX_ROYALTY_BPS {
        return Err(Error::Invalid(format!(
            "a royalty of {}.{:02} % is above the cap of 10 %",
            options.royalty_bps / 100,
            options.royalty_bps % 100
        )));
    }
    let (summary, agent) = agent(studio, query).await?;
    let package = package::build(&agent)?;
    let signer = unlock(studio, &options.auth)?;
    let chain = connect(studio).await?;
    // Published (served at /ipfs/<cid>) before the mint is sent, so a buyer can always fetch it.
    publish(studio, &package, &summary.id).await?;
    let pinned = match &options.pin {
        Some(api) => Some(gateway::pin(api, &package.bytes).await?),
        None => None,
    };
    let id: B256 = package.id.sha256.parse().map_err(|_| Error::Invalid("bad package hash".into()))?;
    let base = MintReport {
        token: id.to_string(),
        cid: package.id.cid.clone(),
        status: "already minted",
        creator: signer.address(),
        tx_hash: None,
        block_number: None,
        fee: None,
        pinned,
    };

    // A mint recorded earlier is finished first, whoever signs now.
    let recorded = reconcile_mint(studio, &chain, id).await?;
    if let Some(token) = chain.token(id).await? {
        if token.creator != signer.address() {
            return Err(Error::Invalid(format!(
                "this exact package is already minted by {} (token {id})",
                token.creator
            )));
        }
        let (tx_hash, block_number, now) =
            recorded.map_or((None, None, false), |(tx, block, now)| (Some(tx), block, now));
        let status = if now { "minted" } else { "already minted" };
        return Ok(MintReport { tx_hash, block_number, status, ..base });
    }

    let text = agent_text(&agent, options.description.clone());
    let (request, _) = chain.mint_request(&signer, id, options.royalty_bps, &text).await?;
    let action =
        format!("mint {} with a {}.{:02} % royalty", text.name, options.royalty_bps / 100, options.royalty_bps % 100);
    let prepared = prepare_approved(studio, &chain, &signer, request, action, None, approve).await?;
    let network = chain.network();
    let now = studio.now();
    sqlx::query(
        "INSERT OR REPLACE INTO mint_intents (chain_id, contract, token, creator, agent_id, cid, tx_hash, raw_tx, status,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent', ?, ?)",
    )
    .bind(network.chain_id as i64)
    .bind(network.contract.to_string())
    .bind(id.to_string())
    .bind(signer.address().to_string())
    .bind(&summary.id)
    .bind(&package.id.cid)
    .bind(prepared.hash.to_string())
    .bind(prepared.raw.to_vec())
    .bind(now)
    .bind(now)
    .execute(studio.store.pool())
    .await
    .map_err(db)?;

    let sent = async {
        chain.send(&prepared.raw).await?;
        chain.wait(prepared.hash, RECEIPT_TIMEOUT).await
    }
    .await;
    match sent {
        Ok(included) => {
            mark_minted(studio, &chain, id, included.block_number).await?;
            Ok(MintReport {
                status: "minted",
                tx_hash: Some(prepared.hash.to_string()),
                block_number: Some(included.block_number),
                fee: Some(prepared.fee),
                ..base
            })
        }
        Err(e) => {
            let reason = e.to_string();
            let _ = sqlx::query(
                "UPDATE mint_intents SET error = ?, updated_at = ? WHERE chain_id = ? AND contract = ? AND token = ?",
            )
            .bind(&reason)
            .bind(studio.now())
            .bind(network.chain_id as i64)
            .bind(network.contract.to_string())
            .bind(id.to_string())
            .execute(studio.store.pool())
            .await;
            Err(Error::MintInterrupted { token: id.to_string(), reason })
        }
    }
}

async fn mark_minted(studio: &Studio, chain: &Chain, id: B256, block: u64) -> Result<()> {
    let network = chain.network();
    sqlx::query(
        "UPDATE mint_intents SET status = 'minted', error = NULL, block_number = ?, updated_at = ?
         WHERE chain_id = ? AND contract = ? AND token = ?",
    )
    .bind(block as i64)
    .bind(studio.now())
    .bind(network.chain_id as i64)
    .bind(network.contract.to_string())
    .bind(id.to_string())
    .execute(studio.store.pool())
    .await
    .map_err(db)?;
    Ok(())
}

/// Finishes a recorded mint: found on chain → done; known to the node → wait;
/// lost → the same signed transaction is sent again (same nonce, so it can be
/// included at most once). Returns the transaction, its block, and whether the
/// mint was completed only now, when the token exists.
async fn reconcile_mint(studio: &Studio, chain: &Chain, id: B256) -> Result<Option<(String, Option<u64>, bool)>> {
    let network = chain.network();
    let row = sqlx::query(
        "SELECT tx_hash, raw_tx, status, block_number FROM mint_intents WHERE chain_id = ? AND contract = ? AND token = ?",
    )
    .bind(network.chain_id as i64)
    .bind(network.contract.to_string())
    .bind(id.to_string())
    .fetch_optional(studio.store.pool())
    .await
    .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let tx_text: String = row.get("tx_hash");
    let tx_hash: B256 = tx_text.parse().map_err(|_| Error::Invalid("bad transaction hash in a mint intent".into()))?;
    let raw: Vec<u8> = row.get("raw_tx");
    if chain.token(id).await?.is_some() {
        let block = match chain.receipt(tx_hash).await? {
            Some(receipt) => receipt.block_number,
            None => row.get::<Option<i64>, _>("block_number").map(|b| b as u64),
        };
        let now = row.get::<&str, _>("status") != "minted";
        mark_minted(studio, chain, id, block.unwrap_or_default()).await?;
        return Ok(Some((tx_text, block, now)));
    }
    if row.get::<&str, _>("status") == "minted" {
        // The chain no longer has it (a reset local chain): mint afresh.
        forget_intent(studio, chain, id).await?;
        return Ok(None);
    }
    if !chain.knows(tx_hash).await?
        && let Err(e) = chain.send(&raw.into()).await
    {
        // The nonce was used by another transaction meanwhile: this intent can never land.
        if !e.is_unreachable() {
            forget_intent(studio, chain, id).await?;
            return Ok(None);
        }
        return Err(e.into());
    }
    let included = chain.wait(tx_hash, RECEIPT_TIMEOUT).await?;
    mark_minted(studio, chain, id, included.block_number).await?;
    Ok(Some((tx_text, Some(included.block_number), true)))
}

async fn forget_intent(studio: &Studio, chain: &Chain, id: B256) -> Result<()> {
    sqlx::query("DELETE FROM mint_intents WHERE chain_id = ? AND contract = ? AND token = ?")
        .bind(chain.network().chain_id as i64)
        .bind(chain.network().contract.to_string())
        .bind(id.to_string())
        .execute(studio.store.pool())
        .await
        .map_err(db)?;
    Ok(())
}

// ---- the marketplace ----------------------------------------------------------------

/// Reads the contract's events since the last block seen. If that block's hash
/// changed (a reorganisation), the last [`REORG_DEPTH`] blocks are read again
/// and what was recorded for them is replaced.
pub async fn sync_market(studio: &Studio) -> Result<SyncReport> {
    let chain = connect(studio).await?;
    sync(studio, &chain).await
}

async fn sync(studio: &Studio, chain: &Chain) -> Result<SyncReport> {
    let network = chain.network().clone();
    let (chain_id, contract) = (network.chain_id as i64, network.contract.to_string());
    let head = chain.block_number().await?;
    let last = sqlx::query("SELECT last_block, last_hash FROM chain_sync WHERE chain_id = ? AND contract = ?")
        .bind(chain_id)
        .bind(&contract)
        .fetch_optional(studio.store.pool())
        .await
        .map_err(db)?
        .map(|r| (r.get::<i64, _>("last_block") as u64, r.get::<String, _>("last_hash")));
    let (from, reorg) = match last {
        None => (0, false),
        Some((block, hash)) => {
            let now = chain.block_hash(block).await?.map(|h| h.to_string());
            if now.as_deref() == Some(hash.as_str()) {
                (block + 1, false)
            } else {
                (block.min(head).saturating_sub(REORG_DEPTH), true)
            }
        }
    };
    let mut events = Vec::new();
    let mut start = from;
    while start <= head {
        let end = (start + LOG_RANGE - 1).min(head);
        events.extend(chain.events(start, end).await?);
        start = end + 1;
    }
    let head_hash = chain.block_hash(head).await?.unwrap_or_default();

    let mut tx = studio.store.pool().begin().await.map_err(db)?;
    sqlx::query("DELETE FROM chain_events WHERE chain_id = ? AND contract = ? AND block_number >= ?")
        .bind(chain_id)
        .bind(&contract)
        .bind(from as i64)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    for e in &events {
        sqlx::query(
            "INSERT OR REPLACE INTO chain_events (chain_id, contract, block_number, log_index, block_hash, tx_hash, event)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(chain_id)
        .bind(&contract)
        .bind(e.block_number as i64)
        .bind(e.log_index as i64)
        .bind(e.block_hash.to_string())
        .bind(e.tx_hash.to_string())
        .bind(serde_json::to_string(&e.kind).map_err(|e| Error::Invalid(e.to_string()))?)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    sqlx::query(
        "INSERT INTO chain_sync (chain_id, contract, last_block, last_hash) VALUES (?, ?, ?, ?)
         ON CONFLICT (chain_id, contract) DO UPDATE SET last_block = excluded.last_block, last_hash = excluded.last_hash",
    )
    .bind(chain_id)
    .bind(&contract)
    .bind(head as i64)
    .bind(head_hash.to_string())
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;

    // Agent data never changes after a mint: read it once per token.
    for e in &events {
        if let EventKind::Minted { token, .. } = &e.kind {
            let known = sqlx::query("SELECT 1 FROM chain_tokens WHERE chain_id = ? AND contract = ? AND token = ?")
                .bind(chain_id)
                .bind(&contract)
                .bind(token.to_string())
                .fetch_optional(studio.store.pool())
                .await
                .map_err(db)?;
            if known.is_some() {
                continue;
            }
            if let Some(t) = chain.token(*token).await? {
                sqlx::query(
                    "INSERT OR IGNORE INTO chain_tokens (chain_id, contract, token, name, description, model,
                         prompts_encrypted, token_uri) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(chain_id)
                .bind(&contract)
                .bind(token.to_string())
                .bind(&t.name)
                .bind(&t.description)
                .bind(&t.model)
                .bind(t.prompts_encrypted)
                .bind(&t.token_uri)
                .execute(studio.store.pool())
                .await
                .map_err(db)?;
            }
        }
    }
    Ok(SyncReport { from_block: from, to_block: head, events: events.len(), reorg })
}

async fn recorded_events(studio: &Studio, network: &Network) -> Result<Vec<ChainEvent>> {
    let rows = sqlx::query(
        "SELECT block_number, log_index, block_hash, tx_hash, event FROM chain_events
         WHERE chain_id = ? AND contract = ? ORDER BY block_number, log_index",
    )
    .bind(network.chain_id as i64)
    .bind(network.contract.to_string())
    .fetch_all(studio.store.pool())
    .await
    .map_err(db)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Ok(kind) = serde_json::from_str::<EventKind>(r.get("event")) else { continue };
        out.push(ChainEvent {
            block_number: r.get::<i64, _>("block_number") as u64,
            log_index: r.get::<i64, _>("log_index") as u64,
            block_hash: r.get::<String, _>("block_hash").parse().unwrap_or_default(),
            tx_hash: r.get::<String, _>("tx_hash").parse().unwrap_or_default(),
            kind,
        });
    }
    Ok(out)
}

/// The state of each token, folded from its events in chain order.
#[derive(Debug, Clone, Default)]
struct Folded {
    creator: Address,
    owner: Address,
    royalty_bps: u16,
    signature: Vec<u8>,
    listing: Option<U256>,
    minted_block: u64,
}

fn fold(events: &[ChainEvent]) -> BTreeMap<B256, Folded> {
    let mut tokens: BTreeMap<B256, Folded> = BTreeMap::new();
    for e in events {
        match &e.kind {
            EventKind::Minted { token, creator, royalty_bps, signature } => {
                let t = tokens.entry(*token).or_default();
                t.creator = *creator;
                t.royalty_bps = *royalty_bps;
                t.signature = signature.to_vec();
                t.minted_block = e.block_number;
            }
            EventKind::Transfer { token, to, .. } => tokens.entry(*token).or_default().owner = *to,
            EventKind::Listed { token, price, .. } => tokens.entry(*token).or_default().listing = Some(*price),
            EventKind::Cancelled { token, .. } | EventKind::Sold { token, .. } => {
                tokens.entry(*token).or_default().listing = None
            }
        }
    }
    tokens
}

/// The minted agents on the chain in use, newest first, after reading new events.
pub async fn market(studio: &Studio) -> Result<Vec<MarketToken>> {
    let chain = connect(studio).await?;
    sync(studio, &chain).await?;
    let network = chain.network();
    let folded = fold(&recorded_events(studio, network).await?);
    let rows =
        sqlx::query("SELECT token, name, description, model FROM chain_tokens WHERE chain_id = ? AND contract = ?")
            .bind(network.chain_id as i64)
            .bind(network.contract.to_string())
            .fetch_all(studio.store.pool())
            .await
            .map_err(db)?;
    let mut out = Vec::new();
    for r in rows {
        let Ok(id) = r.get::<String, _>("token").parse::<B256>() else { continue };
        let Some(t) = folded.get(&id) else { continue };
        out.push(MarketToken {
            token: id.to_string(),
            cid: uri::cid_of_digest(&id.0),
            name: r.get("name"),
            description: r.get("description"),
            model: r.get("model"),
            creator: t.creator,
            owner: t.owner,
            royalty_bps: t.royalty_bps,
            price_wei: t.listing,
            minted_block: t.minted_block,
        });
    }
    out.sort_by(|a, b| b.minted_block.cmp(&a.minted_block).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// Lists a token the wallet owns at `price_wei`.
pub async fn sell_token(
    studio: &Studio,
    token: &str,
    price_wei: U256,
    auth: WalletAuth<'_>,
    approve: Approve<'_>,
) -> Result<TradeReport> {
    let chain = connect(studio).await?;
    sync(studio, &chain).await?;
    let id = token_id(studio, &chain, token).await?;
    let signer = unlock(studio, &auth)?;
    let request = chain.list_request(signer.address(), id, price_wei);
    let action = format!("list token {id} for {} ETH", format_ether(price_wei));
    let (included, fee) = transact(studio, &chain, &signer, request, action, None, approve).await?;
    Ok(trade(id, included, fee, Some(price_wei), None))
}

/// Withdraws the wallet's listing of a token.
pub async fn cancel_listing(
    studio: &Studio,
    token: &str,
    auth: WalletAuth<'_>,
    approve: Approve<'_>,
) -> Result<TradeReport> {
    let chain = connect(studio).await?;
    sync(studio, &chain).await?;
    let id = token_id(studio, &chain, token).await?;
    let signer = unlock(studio, &auth)?;
    let request = chain.cancel_request(signer.address(), id);
    let (included, fee) =
        transact(studio, &chain, &signer, request, format!("withdraw token {id} from sale"), None, approve).await?;
    Ok(trade(id, included, fee, None, None))
}

/// Buys a listed token at its asking price (read from the chain, not the index).
pub async fn buy_token(
    studio: &Studio,
    token: &str,
    auth: WalletAuth<'_>,
    approve: Approve<'_>,
) -> Result<TradeReport> {
    let chain = connect(studio).await?;
    sync(studio, &chain).await?;
    let id = token_id(studio, &chain, token).await?;
    let signer = unlock(studio, &auth)?;
    let Some(onchain) = chain.token(id).await? else {
        return Err(Error::Invalid(format!("token {id} does not exist on this chain")));
    };
    let Some((seller, price)) = onchain.listing else {
        return Err(Error::Invalid(format!("{} (token {id}) is not for sale", onchain.name)));
    };
    let royalty = if seller == onchain.creator {
        U256::ZERO
    } else {
        price * U256::from(onchain.royalty_bps) / U256::from(10_000)
    };
    let request = chain.buy_request(signer.address(), id, price);
    let action = format!(
        "buy {} for {} ETH ({} ETH of it is the creator's royalty)",
        onchain.name,
        format_ether(price),
        format_ether(royalty)
    );
    let (included, fee) = transact(studio, &chain, &signer, request, action, Some(royalty), approve).await?;
    sync(studio, &chain).await?;
    Ok(trade(id, included, fee, Some(price), Some(royalty)))
}

fn trade(id: B256, included: Included, fee: FeeEstimate, price: Option<U256>, royalty: Option<U256>) -> TradeReport {
    TradeReport {
        token: id.to_string(),
        tx_hash: included.hash.to_string(),
        block_number: included.block_number,
        price_wei: price,
        royalty_wei: royalty,
        fee,
        gas_used: included.gas_used,
    }
}

// ---- importing --------------------------------------------------------------------

/// Checks what the chain says about a token before any byte is fetched: the
/// token URI must be `ipfs://` with the CID of the on-chain content hash, and
/// the creator's signature of that hash must be the minter's. Returns the CID.
pub fn check_provenance(id: B256, token_uri: &str, creator: Address, signature: &[u8]) -> Result<String> {
    let (cid, digest) = uri::parse_token_uri(token_uri)?;
    if digest != id.0 {
        return Err(Error::Provenance(format!(
            "the token URI names content {cid}, whose hash is not the token's on-chain content hash {id}"
        )));
    }
    match signer_of(id, signature) {
        Some(signer) if signer == creator => Ok(cid),
        Some(signer) => Err(Error::Provenance(format!(
            "the content-hash signature was made by {signer}, not by the creator {creator}: a forged signature"
        ))),
        None => Err(Error::Provenance("the creator's content-hash signature is malformed".into())),
    }
}

/// Imports the agent of a token one of the studio's wallets owns: the package is
/// taken from this studio's own store or fetched from the gateways, and checked
/// against the chain before it is opened. The provenance is kept with the agent.
pub async fn import_token(
    studio: &Studio,
    token: &str,
    gateway_override: Option<Vec<String>>,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<(ImportReport, Provenance)> {
    let chain = connect(studio).await?;
    sync(studio, &chain).await?;
    let id = token_id(studio, &chain, token).await?;
    let Some(onchain) = chain.token(id).await? else {
        return Err(Error::Invalid(format!("token {id} does not exist on this chain")));
    };
    let ours = list_wallets(studio)?;
    if !ours.contains(&onchain.owner) {
        return Err(Error::Invalid(format!(
            "token {id} belongs to {}, not to one of your wallets: buy it first (`familiar market buy {id}`)",
            onchain.owner
        )));
    }
    let network = chain.network().clone();
    let signature =
        fold(&recorded_events(studio, &network).await?).get(&id).map(|t| t.signature.clone()).unwrap_or_default();
    let cid = check_provenance(id, &onchain.token_uri, onchain.creator, &signature)?;

    let bytes = match published_package(studio, &cid).await? {
        Some(bytes) if Sha256::digest(&bytes)[..] == id[..] => bytes,
        _ => {
            let list = match gateway_override {
                Some(list) => list,
                None => gateways(studio).await?,
            };
            gateway::fetch(&list, &cid, progress).await?
        }
    };
    let package = package::open(&bytes)?;
    if package.id.sha256 != hex::encode(id) {
        return Err(Error::Provenance("the package's identity does not match the token".into()));
    }
    let origin = format!("token:{}:{}:{id}", network.chain_id, network.contract);
    let agent_id = studio.store.insert_agent(&package.agent, Some(&origin), studio.now()).await?;
    let provenance = Provenance {
        chain_id: network.chain_id,
        contract: network.contract.to_string(),
        token: id.to_string(),
        creator: onchain.creator.to_string(),
        owner: onchain.owner.to_string(),
        cid,
    };
    sqlx::query(
        "INSERT OR REPLACE INTO agent_provenance (agent_id, chain_id, contract, token, creator, owner, cid, imported_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&agent_id)
    .bind(provenance.chain_id as i64)
    .bind(&provenance.contract)
    .bind(&provenance.token)
    .bind(&provenance.creator)
    .bind(&provenance.owner)
    .bind(&provenance.cid)
    .bind(studio.now())
    .execute(studio.store.pool())
    .await
    .map_err(db)?;
    let report = ImportReport {
        id: agent_id,
        name: package.agent.name().to_owned(),
        format: "minted agent",
        warnings: Vec::new(),
    };
    Ok((report, provenance))
}

/// Where an agent came from, if it was imported from a token.
pub async fn agent_provenance(studio: &Studio, query: &str) -> Result<Option<Provenance>> {
    let id = studio.store.resolve(query).await?;
    let row =
        sqlx::query("SELECT chain_id, contract, token, creator, owner, cid FROM agent_provenance WHERE agent_id = ?")
            .bind(&id)
            .fetch_optional(studio.store.pool())
            .await
            .map_err(db)?;
    Ok(row.map(|r| Provenance {
        chain_id: r.get::<i64, _>("chain_id") as u64,
        contract: r.get("contract"),
        token: r.get("token"),
        creator: r.get("creator"),
        owner: r.get("owner"),
        cid: r.get("cid"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn signed(key: &str, id: B256) -> (Address, Vec<u8>) {
        let signer: PrivateKeySigner = key.parse().unwrap();
        (signer.address(), client::sign_content_hash(&signer, id).await.unwrap().to_vec())
    }

    #[tokio::test]
    async fn provenance_needs_the_hash_s_own_cid_and_the_creator_s_signature() {
        let id = B256::from([9u8; 32]);
        let uri = format!("ipfs://{}", uri::cid_of_digest(&id.0));
        let (creator, signature) = signed(DEV_KEY, id).await;
        assert_eq!(check_provenance(id, &uri, creator, &signature).unwrap(), uri[7..]);

        let other = format!("ipfs://{}", uri::cid_of_digest(&[8u8; 32]));
        let wrong_hash = check_provenance(id, &other, creator, &signature).unwrap_err().to_string();
        assert!(wrong_hash.contains("not the token's on-chain content hash"), "{wrong_hash}");

        let (_, forged) = signed("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", id).await;
        let forged = check_provenance(id, &uri, creator, &forged).unwrap_err().to_string();
        assert!(forged.contains("forged signature"), "{forged}");
        assert!(check_provenance(id, &uri, creator, &[0u8; 10]).unwrap_err().to_string().contains("malformed"));

        for hostile in ["file:///etc/passwd", "http://example.com/a.zip", &format!("ipfs://{}", "b".repeat(200))] {
            let e = check_provenance(id, hostile, creator, &signature).unwrap_err();
            assert_eq!(e.code(), super::super::ErrorCode::VerificationFailed, "{hostile}: {e}");
        }
    }

    #[test]
    fn the_on_chain_description_is_a_whole_sentence_or_whole_words() {
        assert_eq!(first_sentence("A tutor. She knows a lot.", 280), "A tutor.");
        let long = "word ".repeat(100);
        let short = first_sentence(&long, 40);
        assert!(short.len() <= 40 && short.ends_with("word…"), "{short}");
    }

    #[test]
    fn events_fold_into_owner_listing_and_royalty() {
        let token = B256::from([1u8; 32]);
        let (a, b) = (Address::from([0xa; 20]), Address::from([0xb; 20]));
        let at = |n: u64, kind| ChainEvent {
            block_number: n,
            block_hash: B256::ZERO,
            log_index: 0,
            tx_hash: B256::ZERO,
            kind,
        };
        let price = U256::from(5);
        let events = vec![
            at(1, EventKind::Transfer { token, from: Address::ZERO, to: a }),
            at(1, EventKind::Minted { token, creator: a, royalty_bps: 250, signature: Default::default() }),
            at(2, EventKind::Listed { token, seller: a, price }),
        ];
        let listed = fold(&events);
        assert_eq!((listed[&token].owner, listed[&token].listing, listed[&token].royalty_bps), (a, Some(price), 250));
        let mut sold = events.clone();
        sold.push(at(3, EventKind::Sold { token, seller: a, buyer: b, price, royalty: U256::ZERO }));
        sold.push(at(3, EventKind::Transfer { token, from: a, to: b }));
        let sold = fold(&sold);
        assert_eq!((sold[&token].owner, sold[&token].listing, sold[&token].creator), (b, None, a));
    }
}
