//! The chain: the local node, wallets, mint, the marketplace (list, sell,
//! cancel, buy) and verified import. Every transaction is planned first: the
//! plan (what it does, price, royalty, fee) streams to the UI, and nothing
//! is sent until the user answers with `answer_plan`.

use std::sync::Mutex;
use std::time::Duration;

use familiar::api::ImportReport;
use familiar::api::chain::{
    self as chain_api, ChainStatus, MarketToken, MintOptions, MintReport, Provenance, TradeReport, TxPlan, WalletAuth,
    WalletBalance,
};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::IpcResult;
use crate::events::{AgentsChanged, emit};
use crate::state::AppState;

/// How long a plan waits for the user's answer before it counts as declined.
const ANSWER_WITHIN: Duration = Duration::from_secs(600);

/// Where the chain stands (network, node, contract, gateways).
#[tauri::command(async)]
#[specta::specta]
pub async fn chain_status(state: State<'_, AppState>) -> IpcResult<ChainStatus> {
    Ok(chain_api::chain_status(&state.studio).await?)
}

/// Starts the local chain (and deploys the contract the first time).
#[tauri::command(async)]
#[specta::specta]
pub async fn start_chain(state: State<'_, AppState>) -> IpcResult<ChainStatus> {
    Ok(chain_api::start_chain(&state.studio).await?)
}

/// Stops the local chain; false when it was not running.
#[tauri::command(async)]
#[specta::specta]
pub async fn stop_chain(state: State<'_, AppState>) -> IpcResult<bool> {
    Ok(chain_api::stop_chain(&state.studio).await?)
}

/// The wallets' addresses.
#[tauri::command(async)]
#[specta::specta]
pub fn list_wallets(state: State<'_, AppState>) -> IpcResult<Vec<String>> {
    Ok(chain_api::list_wallets(&state.studio)?.iter().map(|a| a.to_string()).collect())
}

/// Creates a wallet with a new key, encrypted with `passphrase`.
#[tauri::command(async)]
#[specta::specta]
pub fn create_wallet(state: State<'_, AppState>, passphrase: String) -> IpcResult<String> {
    Ok(chain_api::create_wallet(&state.studio, &passphrase)?.to_string())
}

/// What a wallet is imported from.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WalletSecret {
    /// A hex private key.
    Key { key: String },
    /// A BIP-39 mnemonic and the account index.
    Mnemonic { phrase: String, index: u32 },
}

/// Imports a wallet; the secret is stored only encrypted.
#[tauri::command(async)]
#[specta::specta]
pub fn import_wallet(state: State<'_, AppState>, secret: WalletSecret, passphrase: String) -> IpcResult<String> {
    let address = match secret {
        WalletSecret::Key { key } => chain_api::import_wallet_key(&state.studio, &key, &passphrase)?,
        WalletSecret::Mnemonic { phrase, index } => {
            chain_api::import_wallet_mnemonic(&state.studio, &phrase, index, &passphrase)?
        }
    };
    Ok(address.to_string())
}

/// A wallet's balance on the chain in use.
#[tauri::command(async)]
#[specta::specta]
pub async fn wallet_balance(state: State<'_, AppState>, wallet: Option<String>) -> IpcResult<WalletBalance> {
    Ok(chain_api::wallet_balance(&state.studio, wallet.as_deref()).await?)
}

/// Minted agents, as the marketplace shows them (read from the chain first).
#[tauri::command(async)]
#[specta::specta]
pub async fn market(state: State<'_, AppState>) -> IpcResult<Vec<MarketToken>> {
    chain_api::sync_market(&state.studio).await?;
    Ok(chain_api::market(&state.studio).await?)
}

/// The user's answer to the plan streamed for `request_id`.
#[tauri::command(async)]
#[specta::specta]
pub fn answer_plan(state: State<'_, AppState>, request_id: String, approved: bool) -> IpcResult<()> {
    state.answer(&request_id, approved)
}

/// Streams each plan to `channel` and waits (off the async threads) for the answer.
fn approval(state: &AppState, request_id: &str, channel: Channel<TxPlan>) -> impl Fn(&TxPlan) -> bool + Send + Sync {
    let answers = Mutex::new(state.await_approval(request_id));
    move |plan: &TxPlan| {
        if channel.send(plan.clone()).is_err() {
            return false;
        }
        tokio::task::block_in_place(|| {
            answers.lock().ok().and_then(|rx| rx.recv_timeout(ANSWER_WITHIN).ok()).unwrap_or(false)
        })
    }
}

/// A wallet and its passphrase, as the UI sends them.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
pub struct Signer {
    /// The wallet's address (the only wallet when empty).
    pub wallet: Option<String>,
    pub passphrase: String,
}

impl Signer {
    fn auth(&self) -> WalletAuth<'_> {
        WalletAuth { wallet: self.wallet.as_deref(), passphrase: &self.passphrase }
    }
}

/// Mints an agent (royalty in basis points, at most 1000); the plan streams
/// to `channel` and waits for `answer_plan`.
#[tauri::command(async)]
#[specta::specta]
pub async fn mint_agent(
    state: State<'_, AppState>,
    agent: String,
    royalty_bps: u16,
    description: Option<String>,
    signer: Signer,
    request_id: String,
    channel: Channel<TxPlan>,
) -> IpcResult<MintReport> {
    let approve = approval(&state, &request_id, channel);
    let options = MintOptions { auth: signer.auth(), royalty_bps, description, pin: None };
    Ok(chain_api::mint_agent(&state.studio, &agent, options, &approve).await?)
}

/// Lists a token for sale at `price_eth`.
#[tauri::command(async)]
#[specta::specta]
pub async fn sell_token(
    state: State<'_, AppState>,
    token: String,
    price_eth: String,
    signer: Signer,
    request_id: String,
    channel: Channel<TxPlan>,
) -> IpcResult<TradeReport> {
    let price = chain_api::parse_ether(&price_eth)?;
    let approve = approval(&state, &request_id, channel);
    Ok(chain_api::sell_token(&state.studio, &token, price, signer.auth(), &approve).await?)
}

/// Withdraws a listing.
#[tauri::command(async)]
#[specta::specta]
pub async fn cancel_listing(
    state: State<'_, AppState>,
    token: String,
    signer: Signer,
    request_id: String,
    channel: Channel<TxPlan>,
) -> IpcResult<TradeReport> {
    let approve = approval(&state, &request_id, channel);
    Ok(chain_api::cancel_listing(&state.studio, &token, signer.auth(), &approve).await?)
}

/// Buys a listed token: the plan shows the price, the creator's royalty and the fee.
#[tauri::command(async)]
#[specta::specta]
pub async fn buy_token(
    state: State<'_, AppState>,
    token: String,
    signer: Signer,
    request_id: String,
    channel: Channel<TxPlan>,
) -> IpcResult<TradeReport> {
    let approve = approval(&state, &request_id, channel);
    Ok(chain_api::buy_token(&state.studio, &token, signer.auth(), &approve).await?)
}

/// Bytes of a package fetched so far.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Fetched {
    pub done: f64,
    pub total: Option<f64>,
}

/// An imported token: the agent and where it came from.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TokenImport {
    pub agent: ImportReport,
    pub provenance: Provenance,
}

/// Imports a token the studio's wallets own, verified against the chain;
/// the download's progress streams to `channel`.
#[tauri::command(async)]
#[specta::specta]
pub async fn import_token<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    token: String,
    channel: Channel<Fetched>,
) -> IpcResult<TokenImport> {
    let progress = move |done: u64, total: Option<u64>| {
        let _ = channel.send(Fetched { done: done as f64, total: total.map(|t| t as f64) });
    };
    let (agent, provenance) = chain_api::import_token(&state.studio, &token, None, progress).await?;
    emit(&app, AgentsChanged { id: agent.id.clone() });
    Ok(TokenImport { agent, provenance })
}

/// Where an imported agent came from, when it came from the chain.
#[tauri::command(async)]
#[specta::specta]
pub async fn agent_provenance(state: State<'_, AppState>, agent: String) -> IpcResult<Option<Provenance>> {
    Ok(chain_api::agent_provenance(&state.studio, &agent).await?)
}
