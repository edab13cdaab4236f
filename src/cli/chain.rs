//! `familiar wallet`, `familiar chain`, `familiar mint` and `familiar market`:
//! the chain commands over [`crate::api::chain`]. Passphrases and keys are read
//! from an environment variable or typed without echo, never from arguments.

use std::io::{IsTerminal, Write};

use clap::Subcommand;
use serde_json::json;

use super::{print_json, print_report};
use crate::api::chain::{self as chain_api, Approve, MintOptions, TxPlan, WalletAuth};
use crate::api::{self, Studio};

/// The environment variable a passphrase is read from when set.
const PASSPHRASE_ENV: &str = "FAMILIAR_PASSPHRASE";

#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create a wallet with a new key (encrypted keystore; passphrase from $FAMILIAR_PASSPHRASE or typed)
    New,
    /// Import a private key or a mnemonic, read from an environment variable or typed without echo
    Import {
        /// Read a hex private key from this environment variable
        #[arg(long, conflicts_with = "mnemonic_env")]
        key_env: Option<String>,
        /// Read a BIP-39 mnemonic from this environment variable
        #[arg(long)]
        mnemonic_env: Option<String>,
        /// Type a mnemonic instead of a private key
        #[arg(long)]
        mnemonic: bool,
        /// The account index in the mnemonic
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// List the wallets' addresses
    Address,
    /// Show a wallet's balance on the chain in use
    Balance {
        #[arg(long)]
        wallet: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ChainCommand {
    /// Start the local chain (anvil) and deploy the contract on first use
    Start,
    /// Stop the local chain (its state is kept)
    Stop,
    /// Show the network, the node and the contract
    Status,
    /// Use the local chain (`local`) or another: `familiar chain use <rpc-url> --chain-id N --contract 0x…`
    Use {
        /// `local`, or an RPC URL
        target: String,
        #[arg(long)]
        chain_id: Option<u64>,
        #[arg(long)]
        contract: Option<String>,
    },
    /// Deploy the AgentNFT contract on another chain from your wallet, then use that chain
    Deploy {
        rpc_url: String,
        #[arg(long)]
        chain_id: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Show or set the gateways packages are fetched from (e.g. other studios' `familiar serve`)
    Gateways { urls: Vec<String> },
}

#[derive(clap::Args)]
pub struct MintArgs {
    /// The agent (name or id)
    agent: String,
    /// The creator's royalty on every resale, in percent (at most 10)
    #[arg(long, default_value_t = 5.0)]
    royalty: f64,
    /// The description stored on chain (default: the card's creator notes or description, first line)
    #[arg(long)]
    description: Option<String>,
    /// Pin the package on this Kubo RPC endpoint too (e.g. http://127.0.0.1:5001)
    #[arg(long)]
    pin: Option<String>,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(clap::Args, Clone)]
pub struct TxArgs {
    /// The wallet to sign with (address or prefix; default: the only one)
    #[arg(long)]
    wallet: Option<String>,
    /// Send without asking (the cost is still shown)
    #[arg(long, short = 'y')]
    yes: bool,
}

impl TxArgs {
    fn auth<'a>(&'a self, passphrase: &'a str) -> WalletAuth<'a> {
        WalletAuth { wallet: self.wallet.as_deref(), passphrase }
    }
}

#[derive(Subcommand)]
pub enum MarketCommand {
    /// Minted agents with creator, royalty and price
    List,
    /// Put a token you own up for sale
    Sell {
        token: String,
        /// The price in ether, e.g. 0.5
        price: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Withdraw your listing
    Cancel {
        token: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Buy a listed token at its price (the creator's royalty is paid from it)
    Buy {
        token: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Import the agent of a token you own, verified against the chain
    Import {
        token: String,
        /// Fetch from this gateway instead of the configured ones (repeatable)
        #[arg(long)]
        gateway: Vec<String>,
    },
}

fn passphrase(confirm: bool) -> api::Result<String> {
    if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        return Err(api::Error::Invalid(format!("no passphrase: set {PASSPHRASE_ENV} or run in a terminal")));
    }
    let first = rpassword::prompt_password("Wallet passphrase: ").map_err(|e| api::Error::Invalid(e.to_string()))?;
    if confirm {
        let again = rpassword::prompt_password("Again: ").map_err(|e| api::Error::Invalid(e.to_string()))?;
        if again != first {
            return Err(api::Error::Invalid("the passphrases differ".into()));
        }
    }
    Ok(first)
}

fn secret(env: Option<&str>, prompt: &str) -> api::Result<String> {
    match env {
        Some(var) => {
            std::env::var(var).map_err(|_| api::Error::Invalid(format!("the environment variable {var} is not set")))
        }
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password(prompt).map_err(|e| api::Error::Invalid(e.to_string()))
        }
        None => {
            Err(api::Error::Invalid("nothing to import: pass --key-env or --mnemonic-env, or run in a terminal".into()))
        }
    }
}

/// Shows the plan on stderr; asks in a terminal unless `--yes`.
fn approver(yes: bool) -> impl Fn(&TxPlan) -> bool + Send + Sync {
    move |plan: &TxPlan| {
        eprintln!("About to {} from {}", plan.action, plan.from);
        if !plan.value_wei.is_zero() {
            eprintln!("  pays:        {} ETH", chain_api::format_ether(plan.value_wei));
        }
        if let Some(royalty) = plan.royalty_wei.filter(|r| !r.is_zero()) {
            eprintln!("  of which royalty to the creator: {} ETH", chain_api::format_ether(royalty));
        }
        eprintln!(
            "  network fee: at most {} ETH ({} gas at up to {} gwei)",
            chain_api::format_ether(plan.fee.max_fee_wei),
            plan.fee.gas_limit,
            plan.fee.max_fee_per_gas as f64 / 1e9
        );
        if yes || !std::io::stdin().is_terminal() {
            return true;
        }
        eprint!("Send? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
    }
}

pub async fn wallet_command(studio: &Studio, j: bool, command: WalletCommand) -> api::Result<()> {
    match command {
        WalletCommand::New => {
            let address = chain_api::create_wallet(studio, &passphrase(true)?)?;
            if j {
                print_json(&json!({ "address": address }));
            } else {
                println!("Created wallet {address}");
            }
        }
        WalletCommand::Import { key_env, mnemonic_env, mnemonic, index } => {
            let address = if mnemonic || mnemonic_env.is_some() {
                let phrase = secret(mnemonic_env.as_deref(), "Mnemonic: ")?;
                chain_api::import_wallet_mnemonic(studio, &phrase, index, &passphrase(true)?)?
            } else {
                let key = secret(key_env.as_deref(), "Private key (hex): ")?;
                chain_api::import_wallet_key(studio, &key, &passphrase(true)?)?
            };
            if j {
                print_json(&json!({ "address": address }));
            } else {
                println!("Imported wallet {address}");
            }
        }
        WalletCommand::Address => {
            let all = chain_api::list_wallets(studio)?;
            if j {
                print_json(&all);
            } else if all.is_empty() {
                println!("No wallet yet: `familiar wallet new` creates one.");
            } else {
                all.iter().for_each(|a| println!("{a}"));
            }
        }
        WalletCommand::Balance { wallet } => {
            let balance = chain_api::wallet_balance(studio, wallet.as_deref()).await?;
            if j {
                print_json(&balance);
            } else {
                println!("{} ETH  {} (chain {})", balance.ether, balance.address, balance.chain_id);
            }
        }
    }
    Ok(())
}

pub async fn chain_command(studio: &Studio, j: bool, command: ChainCommand) -> api::Result<()> {
    match command {
        ChainCommand::Start | ChainCommand::Status => {
            let status = match command {
                ChainCommand::Start => chain_api::start_chain(studio).await?,
                _ => chain_api::chain_status(studio).await?,
            };
            if j {
                print_json(&status);
            } else {
                println!("Network:  {} (chain {})", status.network.kind, status.network.chain_id);
                println!("RPC:      {}", status.rpc_url.as_deref().unwrap_or("-"));
                println!("Contract: {}", status.network.contract.as_deref().unwrap_or("-"));
                match (status.reachable, status.block) {
                    (true, Some(block)) => println!("Block:    {block}"),
                    _ => println!("Status:   {}", status.error.as_deref().unwrap_or("unreachable")),
                }
                println!("Gateways: {}", status.gateways.join(", "));
            }
        }
        ChainCommand::Stop => {
            let stopped = chain_api::stop_chain(studio).await?;
            if j {
                print_json(&json!({ "stopped": stopped }));
            } else {
                println!("{}", if stopped { "Stopped the local chain" } else { "The local chain was not running" });
            }
        }
        ChainCommand::Use { target, chain_id, contract } => {
            let settings = if target == "local" {
                chain_api::use_local_chain(studio).await?
            } else {
                let (Some(chain_id), Some(contract)) = (chain_id, contract) else {
                    return Err(api::Error::Invalid("another network needs --chain-id and --contract".into()));
                };
                chain_api::use_network(studio, &target, chain_id, &contract).await?
            };
            if j {
                print_json(&settings);
            } else {
                println!("Using the {} network (chain {})", settings.kind, settings.chain_id);
            }
        }
        ChainCommand::Deploy { rpc_url, chain_id, tx } => {
            let (passphrase, approve) = (passphrase(false)?, approver(tx.yes));
            let settings =
                chain_api::deploy_contract(studio, &rpc_url, chain_id, tx.auth(&passphrase), &approve).await?;
            if j {
                print_json(&settings);
            } else {
                println!(
                    "Deployed AgentNFT at {} on chain {}; now using it",
                    settings.contract.as_deref().unwrap_or("-"),
                    settings.chain_id
                );
            }
        }
        ChainCommand::Gateways { urls } => {
            let list = if urls.is_empty() {
                chain_api::gateways(studio).await?
            } else {
                chain_api::set_gateways(studio, &urls).await?
            };
            if j {
                print_json(&list);
            } else {
                list.iter().for_each(|g| println!("{g}"));
            }
        }
    }
    Ok(())
}

pub async fn mint_command(studio: &Studio, j: bool, args: MintArgs) -> api::Result<()> {
    if !(0.0..=10.0).contains(&args.royalty) {
        return Err(api::Error::Invalid(format!("a royalty of {} % is outside 0–10 %", args.royalty)));
    }
    let passphrase = passphrase(false)?;
    let options = MintOptions {
        auth: args.tx.auth(&passphrase),
        royalty_bps: (args.royalty * 100.0).round() as u16,
        description: args.description,
        pin: args.pin,
    };
    let approve = approver(args.tx.yes);
    let approve: Approve = &approve;
    let report = chain_api::mint_agent(studio, &args.agent, options, approve).await?;
    if j {
        print_json(&report);
    } else {
        println!("{}: token {}", if report.status == "minted" { "Minted" } else { "Already minted" }, report.token);
        println!("  package ipfs://{}", report.cid);
        if let (Some(tx), Some(block)) = (&report.tx_hash, report.block_number) {
            println!("  transaction {tx} in block {block}");
        }
        if let Some(cid) = &report.pinned {
            println!("  pinned as {cid}");
        }
        println!("Sell it with `familiar market sell {} <price in ETH>`", &report.token[..10]);
    }
    Ok(())
}

pub async fn market_command(studio: &Studio, j: bool, command: MarketCommand) -> api::Result<()> {
    match command {
        MarketCommand::List => {
            let tokens = chain_api::market(studio).await?;
            if j {
                print_json(&tokens);
            } else if tokens.is_empty() {
                println!("No agents minted on this chain yet: `familiar mint <agent>` mints one.");
            } else {
                println!(
                    "{:<12} {:<20} {:<24} {:>8} {:>12}  CREATOR",
                    "TOKEN", "NAME", "MODEL", "ROYALTY", "PRICE ETH"
                );
                for t in &tokens {
                    let price = t.price_wei.map(chain_api::format_ether).unwrap_or_else(|| "-".into());
                    println!(
                        "{:<12} {:<20} {:<24} {:>7.2}% {:>12}  {}",
                        &t.token[..12],
                        t.name,
                        t.model,
                        f64::from(t.royalty_bps) / 100.0,
                        price,
                        t.creator
                    );
                    if !t.description.is_empty() {
                        let shown: String = t.description.chars().take(100).collect();
                        let more = if shown.len() < t.description.len() { "…" } else { "" };
                        println!("{:<12} {shown}{more}", "");
                    }
                }
            }
        }
        MarketCommand::Sell { token, price, tx } => {
            let wei = chain_api::parse_ether(&price)?;
            let (passphrase, approve) = (passphrase(false)?, approver(tx.yes));
            let report = chain_api::sell_token(studio, &token, wei, tx.auth(&passphrase), &approve).await?;
            print_trade(j, "Listed", &report);
        }
        MarketCommand::Cancel { token, tx } => {
            let (passphrase, approve) = (passphrase(false)?, approver(tx.yes));
            let report = chain_api::cancel_listing(studio, &token, tx.auth(&passphrase), &approve).await?;
            print_trade(j, "Withdrew", &report);
        }
        MarketCommand::Buy { token, tx } => {
            let (passphrase, approve) = (passphrase(false)?, approver(tx.yes));
            let report = chain_api::buy_token(studio, &token, tx.auth(&passphrase), &approve).await?;
            print_trade(j, "Bought", &report);
            if !j {
                println!("Import it with `familiar market import {}`", &report.token[..10]);
            }
        }
        MarketCommand::Import { token, gateway } => {
            let gateways = (!gateway.is_empty()).then_some(gateway);
            let (report, provenance) = chain_api::import_token(studio, &token, gateways, |done, total| {
                if std::io::stderr().is_terminal() {
                    match total {
                        Some(total) => eprint!("\rFetching the package: {done}/{total} bytes"),
                        None => eprint!("\rFetching the package: {done} bytes"),
                    }
                }
            })
            .await?;
            if j {
                print_json(&json!({ "agent": report, "provenance": provenance }));
            } else {
                print_report(false, &report);
                println!(
                    "  token {} on chain {} (creator {})",
                    provenance.token, provenance.chain_id, provenance.creator
                );
                println!(
                    "  verified: ipfs://{} matches the on-chain content hash and the creator's signature",
                    provenance.cid
                );
            }
        }
    }
    Ok(())
}

fn print_trade(j: bool, verb: &str, report: &chain_api::TradeReport) {
    if j {
        print_json(report);
    } else {
        let price = report.price_wei.map(|p| format!(" for {} ETH", chain_api::format_ether(p))).unwrap_or_default();
        println!(
            "{verb} token {}{price} (transaction {}, block {})",
            report.token, report.tx_hash, report.block_number
        );
        if let Some(royalty) = report.royalty_wei.filter(|r| !r.is_zero()) {
            println!("  {} ETH of it went to the creator as royalty", chain_api::format_ether(royalty));
        }
    }
}
