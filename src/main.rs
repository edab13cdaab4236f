//! The `familiar` binary: parse arguments, run, report errors once.

use std::process::ExitCode;

use clap::Parser;
use familiar::cli::{Cli, run};

fn main() -> ExitCode {
    // A bug must never show users a Rust panic or a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        // `familiar agent list | head -1`: the reader left; stop quietly, like other tools.
        if what.contains("Broken pipe") {
            std::process::exit(141);
        }
        // A document parser choking on a malformed file: that file is reported as failed.
        if std::thread::current().name() == Some(familiar::knowledge::ingest::EXTRACT_THREAD) {
            return;
        }
        eprintln!("error: internal error ({what}); please report it — your data is unchanged");
    }));
    let cli = Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                let mut error = serde_json::json!({ "code": e.code(), "message": e.to_string() });
                if let Some(details) = e.details() {
                    error["details"] = details;
                }
                let body = serde_json::json!({ "error": error });
                eprintln!("{body}");
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
