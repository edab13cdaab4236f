//! The `familiar` command line: the scripting face of [`crate::api`].
//! Every command prints for people by default and JSON with `--json`;
//! errors go to stderr with a non-zero exit code.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;
use serde_json::json;

use crate::agent::{ExportFormat, ImportOptions};
use crate::api::{self, Studio};

#[derive(Parser)]
#[command(name = "familiar", version, about = "A local-first studio for AI agents")]
pub struct Cli {
    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
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
}

#[derive(Subcommand)]
enum AgentCommand {
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

fn parse_format(s: &str) -> Result<ExportFormat, String> {
    s.parse()
}

/// Prints `value` as pretty JSON.
fn print_json(value: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// A Unix time as `YYYY-MM-DD HH:MM` UTC.
fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", rem / 3600, rem % 3600 / 60)
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
    match cli.command {
        Command::Setup => {
            let studio = Studio::open_default().await?;
            let installed = api::install_samples(&studio).await?;
            let agents = api::list_agents(&studio).await?;
            if j {
                print_json(&json!({ "home": studio.home(), "installed": installed, "agents": agents_json(&agents) }));
            } else {
                println!("Data folder: {}", studio.home().display());
                for report in &installed {
                    println!("Installed sample agent {}", report.name);
                }
                print_agents(&agents);
            }
            studio.close().await;
        }
        Command::Agent(command) => {
            let studio = Studio::open_default().await?;
            agent_command(&studio, j, command).await?;
            studio.close().await;
        }
        Command::Package(command) => package_command(j, command).await?,
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
        println!("{:<10} {:<28} {:>7}  {}", short(&a.id), a.name, a.version, format_time(a.updated_at));
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
                println!("version {}, updated {} UTC", summary.version, format_time(summary.updated_at));
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
        AgentCommand::Undelete { id } => {
            let restored = api::undelete_agent(studio, &id).await?;
            if j {
                print_json(&json!({ "id": restored.id, "name": restored.name }));
            } else {
                println!("{} is back", restored.name);
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
                    println!("{:>7}  {:<16}  {:<24} {}", v.version, format_time(v.created_at), v.name, v.reason);
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
