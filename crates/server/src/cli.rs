//! The command line: `serve` (the default), `migrate`, `create-admin`, `issue-token`,
//! `check-config`, `probe`.

// Printing to stdout is this module's interface: tokens, migration names, the configuration.
#![allow(clippy::print_stdout)]

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use app::Services;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::config::{Algorithm, Settings, Sources};
use crate::startup::{self, Application, StartupError};

/// The real-time backend of E-Clean: chat, notifications and job-lifecycle events.
#[derive(Debug, Parser)]
#[command(name = "eclean-realtime", version)]
pub struct Cli {
    /// An extra TOML file, applied after config/<APP_ENV>.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Revert every migration instead (drops all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Create an admin, or promote an existing user to admin, in the configured database.
    CreateAdmin {
        /// The admin's e-mail address.
        #[arg(long)]
        email: String,
        /// The admin's username.
        #[arg(long)]
        username: String,
        /// Read the password from standard input (otherwise from ECLEAN_ADMIN_PASSWORD).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a service token (role "service") for the platform to report job events with.
    IssueToken {
        /// The service's name, e.g. "platform".
        #[arg(long)]
        service: String,
        /// Lifetime, e.g. "30d", "12h".
        #[arg(long, default_value = "30d")]
        ttl: humantime::Duration,
    },
    /// Load and check the configuration, print it with secrets redacted, and exit.
    CheckConfig,
    /// Ask a running server whether it is ready (exit 0) or not (exit 1): the container
    /// health check, for images without curl.
    Probe {
        /// What to ask (default: this configuration's port on 127.0.0.1, `/readyz`).
        #[arg(long)]
        url: Option<String>,
    },
}

/// Runs the command line; the error is printed by `main`.
pub async fn run(cli: Cli) -> Result<(), StartupError> {
    let sources = Sources {
        file: cli.config,
        environment: true,
        ..Sources::default()
    };
    let settings = Settings::load(&sources)?;
    crate::telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate { revert_all } => migrate(&settings, revert_all).await,
        Command::CreateAdmin {
            email,
            username,
            password_stdin,
        } => create_admin(&settings, &email, &username, password_stdin).await,
        Command::IssueToken { service, ttl } => issue_token(&settings, &service, ttl.into()),
        Command::CheckConfig => {
            println!("{settings:#?}");
            Ok(())
        }
        Command::Probe { url } => {
            let url =
                url.unwrap_or_else(|| format!("http://127.0.0.1:{}/readyz", settings.server.port));
            crate::probe::probe(&url, Duration::from_secs(3)).map_err(StartupError::Probe)?;
            println!("ready: {url}");
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> Result<(), StartupError> {
    // Listen for signals before anything else: a signal that arrives while the server is still
    // starting must stop it gracefully, not kill it.
    let shutdown = ShutdownSignal::install();
    let grace = Duration::from_secs(settings.server.shutdown_timeout_s.min(5));
    let app = Application::build(settings).await?;
    let handle = app.shutdown_handle();
    tokio::spawn(async move {
        shutdown.recv().await;
        tracing::info!("shutdown signal received: closing sessions (1012) and draining");
        handle.shutdown(grace).await;
    });
    app.run_until_stopped().await.map_err(StartupError::Server)
}

/// SIGTERM and SIGINT, registered at construction.
struct ShutdownSignal {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl ShutdownSignal {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(terminate), Ok(interrupt)) => Some((terminate, interrupt)),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM/SIGINT; falling back to Ctrl-C");
                    None
                }
            };
            Self { streams }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    async fn recv(self) {
        #[cfg(unix)]
        if let Some((mut terminate, mut interrupt)) = self.streams {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn require_database(settings: &Settings, command: &str) -> Result<String, StartupError> {
    settings.database_url().map(str::to_owned).ok_or_else(|| {
        StartupError::Config(crate::config::ConfigError::Inconsistent {
            key: "database.url",
            message: format!(
                "{command} needs a database (DATABASE_URL); on the in-memory default use auth.bootstrap_admin"
            ),
        })
    })
}

async fn migrate(settings: &Settings, revert_all: bool) -> Result<(), StartupError> {
    let url = require_database(settings, "migrate")?;
    let names = if revert_all {
        adapters_postgres::migrations::revert_all(&url).await
    } else {
        adapters_postgres::run_migrations(&url).await
    }
    .map_err(|source| StartupError::Dependency {
        context: "migrating",
        source,
    })?;
    let verb = if revert_all { "reverted" } else { "applied" };
    if names.is_empty() {
        println!("nothing to do: the schema is up to date");
    }
    for name in names {
        println!("{verb} {name}");
    }
    Ok(())
}

async fn create_admin(
    settings: &Settings,
    email: &str,
    username: &str,
    password_stdin: bool,
) -> Result<(), StartupError> {
    require_database(settings, "create-admin")?;
    let password = if password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(StartupError::Server)?;
        text.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        std::env::var("ECLEAN_ADMIN_PASSWORD").map_err(|_| {
            StartupError::Config(crate::config::ConfigError::Inconsistent {
                key: "ECLEAN_ADMIN_PASSWORD",
                message:
                    "pass the password on stdin with --password-stdin or in ECLEAN_ADMIN_PASSWORD"
                        .into(),
            })
        })?
    };
    let pool = startup::postgres_pool(settings).await?;
    let adapters = crate::wiring::postgres_adapters(settings, pool)?;
    let services = Services::new(adapters, startup::app_settings(settings));
    let user = services
        .accounts
        .create_admin(email, username, &password)
        .await
        .map_err(|source| StartupError::App {
            context: "create-admin",
            source,
        })?;
    println!("admin {} (id {}) is ready", user.username.as_str(), user.id);
    Ok(())
}

fn issue_token(settings: &Settings, service: &str, ttl: Duration) -> Result<(), StartupError> {
    let no_key = settings.auth.algorithm == Algorithm::HS256
        && settings.auth.jwt_secret.expose_secret().is_empty();
    if no_key {
        return Err(StartupError::Config(
            crate::config::ConfigError::Inconsistent {
                key: "auth.jwt_secret",
                message: "issue-token needs the shared secret the server uses (JWT_SECRET)".into(),
            },
        ));
    }
    let adapters = crate::wiring::memory_adapters(settings)?;
    // The token depends only on the signing key; the storage behind these services is unused.
    let services = Services::new(adapters, startup::app_settings(settings));
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(30));
    let token = services
        .accounts
        .issue_service_token(service, ttl)
        .map_err(|source| StartupError::App {
            context: "issue-token",
            source,
        })?;
    println!("{token}");
    Ok(())
}
