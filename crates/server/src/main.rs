//! `eclean-realtime`: see `eclean-realtime --help`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = server::cli::Cli::parse();
    match server::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Logging may not be initialised yet (a configuration error), so print as well.
            tracing::error!(%error, "eclean-realtime failed");
            eprintln!("eclean-realtime: {error}");
            ExitCode::FAILURE
        }
    }
}
