//! The application: binds, migrates, wires the adapters, serves, and shuts down.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use adapters_postgres::PoolSettings;
use api_actix::credentials::{Argon2Hasher, JwtCodec, JwtKeys, JwtSettings};
use api_actix::serve::{ServeOptions, serve as serve_http};
use api_actix::ws::WsSettings;
use api_actix::ws::handshake::OriginPolicy;
use api_actix::{Gateway, HttpSettings};
use app::realtime::{RateSettings, Reconciler, SessionSettings};
use app::{
    Adapters, AppError, AuthSettings, ChatSettings, DeliverySettings, DeliveryWorker, HubSettings,
    JobSettings, NotificationSettings, Ports, Services,
};
use ports::{PortError, TokenCodec};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;

use crate::config::{Algorithm, ConfigError, Settings, read_key};
use crate::wiring::{self, MemoryPorts};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Address tried.
        address: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A dependency failed during start.
    #[error("{context}: {source}")]
    Dependency {
        /// What was being done.
        context: &'static str,
        /// Cause.
        source: PortError,
    },
    /// A use case failed during start (the bootstrap admin).
    #[error("{context}: {source}")]
    App {
        /// What was being done.
        context: &'static str,
        /// Cause.
        source: AppError,
    },
    /// The HTTP server could not be built.
    #[error("cannot start the HTTP server: {0}")]
    Server(std::io::Error),
    /// `probe`: the server is not ready.
    #[error(transparent)]
    Probe(#[from] crate::probe::ProbeError),
}

/// Which storage the process runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Everything in memory.
    Memory,
    /// PostgreSQL, no Redis.
    Postgres,
    /// PostgreSQL and Redis.
    Cluster,
}

/// A started (bound, migrated, wired) service, not yet serving until awaited.
pub struct Application {
    address: SocketAddr,
    storage: Storage,
    server: Server,
    background: Background,
    sessions: Sessions,
}

/// Work that runs beside the HTTP server.
struct Background {
    /// Periodic chores, aborted at shutdown.
    chores: Vec<JoinHandle<()>>,
    /// The delivery worker, asked to stop and given time to finish what it claimed.
    deliveries: JoinHandle<()>,
    stop_deliveries: tokio::sync::watch::Sender<bool>,
    /// How long the worker may take to finish.
    drain: Duration,
}

impl Background {
    async fn shutdown(self) {
        for chore in self.chores {
            chore.abort();
        }
        let _ = self.stop_deliveries.send(true);
        let mut deliveries = self.deliveries;
        if tokio::time::timeout(self.drain, &mut deliveries)
            .await
            .is_err()
        {
            tracing::warn!(
                "deliveries in flight did not finish in time; their leases will hand them to the next worker"
            );
            deliveries.abort();
        }
    }
}

/// Closes every live session with a code and reason.
type CloseAll = Arc<dyn Fn(u16, &str) + Send + Sync>;
/// Counts the live sessions.
type CountSessions = Arc<dyn Fn() -> usize + Send + Sync>;

/// Type-erased access to the live sessions (the hub is generic over the ports), for shutdown.
#[derive(Clone)]
struct Sessions {
    close_all: CloseAll,
    count: CountSessions,
}

/// Stops the application gracefully from another task.
#[derive(Clone)]
pub struct ShutdownHandle {
    server: ServerHandle,
    sessions: Sessions,
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHandle").finish_non_exhaustive()
    }
}

impl ShutdownHandle {
    /// Closes every WebSocket with 1012 (clients reconnect elsewhere), waits up to `grace` for
    /// the sessions to end, then stops accepting and lets in-flight requests finish.
    pub async fn shutdown(&self, grace: Duration) {
        (self.sessions.close_all)(
            app::realtime::frames::close::RESTARTING,
            "server restarting",
        );
        let started = std::time::Instant::now();
        while (self.sessions.count)() > 0 && started.elapsed() < grace {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.server.stop(true).await;
    }
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds the listener first (so port 0 works and the port is known early), then migrates and
    /// wires everything. Serving starts when [`Application::run_until_stopped`] is awaited.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let storage = match (settings.database_url(), settings.redis_url()) {
            (None, _) => Storage::Memory,
            (Some(_), None) => Storage::Postgres,
            (Some(_), Some(_)) => Storage::Cluster,
        };
        let requested = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&requested).map_err(|source| StartupError::Bind {
            address: requested.clone(),
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: requested,
            source,
        })?;
        // The first line says where the service listens and where its data lives.
        match storage {
            Storage::Memory => tracing::warn!(
                %address, profile = %settings.profile,
                "listening on http://{address} — storage: IN MEMORY (no database configured); data lives in this process and is lost when it exits"
            ),
            Storage::Postgres => tracing::info!(
                %address, profile = %settings.profile,
                "listening on http://{address} — storage: PostgreSQL; no Redis configured, so this is a single instance"
            ),
            Storage::Cluster => tracing::info!(
                %address, profile = %settings.profile,
                "listening on http://{address} — storage: PostgreSQL + Redis"
            ),
        }

        let (server, background, sessions) = match storage {
            Storage::Memory => {
                serve(wiring::memory_adapters(&settings)?, &settings, listener).await?
            }
            Storage::Postgres => {
                let pool = postgres_pool(&settings).await?;
                serve(
                    wiring::postgres_adapters(&settings, pool)?,
                    &settings,
                    listener,
                )
                .await?
            }
            Storage::Cluster => {
                let pool = postgres_pool(&settings).await?;
                let redis = redis_pool(&settings)?;
                serve(
                    wiring::cluster_adapters(&settings, pool, redis)?,
                    &settings,
                    listener,
                )
                .await?
            }
        };
        Ok(Self {
            address,
            storage,
            server,
            background,
            sessions,
        })
    }

    /// Starts the server on in-memory adapters supplied by the caller, who keeps clones of them.
    /// Everything else is as [`Application::build`] with no database: the same routes, services
    /// and session hub. Tests use it to drive use cases that have no public endpoint (job rooms
    /// are opened by the job-event service) against a real server.
    pub async fn build_in_memory(
        settings: Settings,
        adapters: Adapters<MemoryPorts>,
    ) -> Result<Self, StartupError> {
        let requested = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&requested).map_err(|source| StartupError::Bind {
            address: requested.clone(),
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: requested,
            source,
        })?;
        tracing::warn!(%address, "listening on http://{address} — storage: IN MEMORY (adapters supplied by the caller)");
        let (server, background, sessions) = serve(adapters, &settings, listener).await?;
        Ok(Self {
            address,
            storage: Storage::Memory,
            server,
            background,
            sessions,
        })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Which storage is in use.
    pub fn storage(&self) -> Storage {
        self.storage
    }

    /// A handle that stops the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// A handle for a graceful shutdown that closes sessions with 1012 first.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            server: self.server.handle(),
            sessions: self.sessions.clone(),
        }
    }

    /// Serves until stopped through [`Application::handle`], then stops background work.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.background.shutdown().await;
        tracing::info!("stopped");
        result
    }
}

/// Wires the services over `adapters` and starts the HTTP server on `listener`.
async fn serve<P: Ports>(
    adapters: Adapters<P>,
    settings: &Settings,
    listener: TcpListener,
) -> Result<(Server, Background, Sessions), StartupError> {
    let adapters_for_worker = adapters.clone();
    let adapters_for_reconciler = adapters.clone();
    let services = Services::new(adapters, app_settings(settings));
    bootstrap_admin(&services, settings).await?;
    let (stop_deliveries, stop) = tokio::sync::watch::channel(false);
    let background = Background {
        chores: vec![
            spawn_refresh_token_purge(services.clone()),
            spawn_room_closer(services.clone()),
            tokio::spawn(api_actix::telemetry::drain_histograms_every(
                Duration::from_secs(5),
            )),
            tokio::spawn(
                services
                    .presence
                    .clone()
                    .refresh_every(Duration::from_secs(settings.ws.heartbeat_s.max(1))),
            ),
            tokio::spawn(
                Reconciler::new(adapters_for_reconciler, services.hub.clone())
                    .run(Duration::from_secs(settings.ws.reconcile_s.max(1))),
            ),
        ],
        deliveries: tokio::spawn(
            DeliveryWorker::new(adapters_for_worker, delivery_settings(settings)).run(stop),
        ),
        stop_deliveries,
        // Every claimed job gets its one attempt, each bounded by the delivery timeout.
        drain: {
            let n = &settings.notifications;
            let rounds = n.delivery_batch.div_ceil(n.delivery_concurrency.max(1));
            Duration::from_millis(n.delivery_timeout_ms)
                .saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
                .saturating_add(Duration::from_secs(1))
        },
    };
    let hub = services.hub.clone();
    let sessions = Sessions {
        close_all: Arc::new({
            let hub = hub.clone();
            move |code, reason| hub.close_all(code, reason)
        }),
        count: Arc::new(move || hub.session_count()),
    };
    let gateway = Gateway::new(
        services,
        HttpSettings {
            json_limit: settings.server.json_limit_bytes,
        },
        ws_settings(settings),
    );
    let options = ServeOptions {
        workers: settings.server.workers,
        shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_s),
    };
    let server = serve_http(gateway, listener, &options).map_err(StartupError::Server)?;
    Ok((server, background, sessions))
}

/// Creates or promotes the configured admin.
async fn bootstrap_admin<P: Ports>(
    services: &Services<P>,
    settings: &Settings,
) -> Result<(), StartupError> {
    let admin = &settings.auth.bootstrap_admin;
    if admin.email.is_empty() {
        return Ok(());
    }
    services
        .accounts
        .create_admin(
            &admin.email,
            &admin.username,
            admin.password.expose_secret(),
        )
        .await
        .map(|_| ())
        .map_err(|source| StartupError::App {
            context: "auth.bootstrap_admin",
            source,
        })
}

/// Forgets expired used refresh tokens once an hour.
fn spawn_refresh_token_purge<P: Ports>(services: Services<P>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match services.accounts.purge_used_refresh_tokens().await {
                Ok(0) => {}
                Ok(purged) => tracing::debug!(purged, "purged expired used refresh tokens"),
                Err(error) => tracing::warn!(%error, "purging used refresh tokens failed"),
            }
        }
    })
}

/// Closes the rooms of completed jobs after their grace period.
fn spawn_room_closer<P: Ports>(services: Services<P>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(services.jobs.sweep_interval());
        loop {
            every.tick().await;
            match services.jobs.close_due_rooms().await {
                Ok(0) => {}
                Ok(closed) => tracing::info!(closed, "closed the rooms of completed jobs"),
                Err(error) => tracing::warn!(%error, "closing the rooms of completed jobs failed"),
            }
        }
    })
}

/// The settings of every service.
pub fn app_settings(settings: &Settings) -> app::Settings {
    app::Settings {
        auth: auth_settings(settings),
        chat: ChatSettings {
            max_content_chars: settings.chat.max_message_chars,
            edit_window: chrono::Duration::seconds(settings.chat.edit_window_s as i64),
            default_page: settings.chat.page_size,
            max_page: settings.chat.max_page_size,
            max_attachment_bytes: settings.chat.max_attachment_bytes,
            alert_max_members: settings.chat.notify_max_members,
            user_messages_per_s: settings.chat.user_messages_per_s,
        },
        hub: HubSettings {
            queue_capacity: settings.ws.outbound_queue,
            max_sessions_per_user: settings.ws.max_sessions_per_user,
            // Three missed heartbeats and a session stops counting as online.
            presence_ttl: Duration::from_secs(settings.ws.heartbeat_s.max(1) * 3),
        },
        notifications: NotificationSettings {
            default_page: settings.chat.page_size,
            max_page: settings.chat.max_page_size,
            bulk_batch: settings.notifications.bulk_batch,
        },
        jobs: JobSettings {
            completed_room_grace: Duration::from_secs(settings.jobs.completed_room_grace_s),
        },
    }
}

/// The delivery worker's pacing.
pub fn delivery_settings(settings: &Settings) -> DeliverySettings {
    let n = &settings.notifications;
    DeliverySettings {
        poll: Duration::from_millis(n.delivery_poll_ms),
        batch: n.delivery_batch,
        concurrency: n.delivery_concurrency,
        lease: Duration::from_secs(n.delivery_lease_s),
        retry_base: Duration::from_millis(n.retry_base_ms),
        max_attempts: n.max_attempts,
    }
}

/// The WebSocket gateway's settings.
pub fn ws_settings(settings: &Settings) -> WsSettings {
    let ws = &settings.ws;
    WsSettings {
        origins: OriginPolicy {
            allowed: ws.allowed_origins.clone(),
            allow_missing: ws.allow_missing_origin,
        },
        max_frame_bytes: ws.max_frame_bytes,
        session: SessionSettings {
            heartbeat: Duration::from_secs(ws.heartbeat_s),
            typing_ttl: Duration::from_secs(ws.typing_ttl_s),
            typing_throttle: Duration::from_millis(ws.typing_throttle_ms),
            rate: RateSettings {
                per_second: ws.rate_per_s,
                burst: ws.rate_burst,
                abuse_limit: ws.abuse_limit,
                abuse_window: Duration::from_secs(10),
            },
            replay_page: 100,
        },
    }
}

/// The auth policy of the services.
pub fn auth_settings(settings: &Settings) -> AuthSettings {
    AuthSettings {
        access_ttl: chrono::Duration::seconds(settings.auth.access_ttl_s as i64),
        refresh_ttl: chrono::Duration::seconds(settings.auth.refresh_ttl_s as i64),
        own_accounts: settings.auth.own_accounts,
    }
}

/// The password hasher with the configured cost.
pub fn argon2(settings: &Settings) -> Result<Argon2Hasher, StartupError> {
    let cost = &settings.auth.password_hash;
    Argon2Hasher::new(cost.memory_kib, cost.iterations, cost.parallelism).map_err(|source| {
        StartupError::Dependency {
            context: "auth.password_hash",
            source,
        }
    })
}

/// The JWT codec for the configured algorithm and keys. With HS256 and no secret (allowed
/// outside production) a random per-process secret is generated and a warning logged.
pub fn jwt_codec(settings: &Settings) -> Result<JwtCodec, StartupError> {
    let auth = &settings.auth;
    let optional = |value: &str| (!value.is_empty()).then(|| value.to_owned());
    let keys = match auth.algorithm {
        Algorithm::HS256 => {
            let configured = auth.jwt_secret.expose_secret();
            let secret = if configured.is_empty() {
                tracing::warn!(
                    "auth.jwt_secret is not set: using a random secret for this process; \
                     tokens stop working at restart and platform tokens are refused"
                );
                ephemeral_secret()
            } else {
                configured.as_bytes().to_vec()
            };
            JwtKeys::Hs256 { secret }
        }
        Algorithm::RS256 | Algorithm::ES256 => {
            let public_pem = read_key("auth.public_key_path", &auth.public_key_path)?;
            let private_pem = match optional(&auth.private_key_path) {
                Some(path) => Some(read_key("auth.private_key_path", &path)?),
                None => None,
            };
            if auth.algorithm == Algorithm::RS256 {
                JwtKeys::Rs256 {
                    public_pem,
                    private_pem,
                }
            } else {
                JwtKeys::Es256 {
                    public_pem,
                    private_pem,
                }
            }
        }
    };
    let codec = JwtCodec::new(JwtSettings {
        keys,
        leeway_s: auth.leeway_s,
        issuer: optional(&auth.issuer),
        audience: optional(&auth.audience),
    })
    .map_err(|source| StartupError::Dependency {
        context: "auth keys",
        source,
    })?;
    if auth.own_accounts && !codec.can_sign() {
        tracing::warn!(
            "auth.own_accounts is on but no private key is configured: register/login/refresh answer 403"
        );
    }
    Ok(codec)
}

/// 32 random bytes from the OS (via two v4 UUIDs, whose 122 random bits each come from getrandom).
fn ephemeral_secret() -> Vec<u8> {
    let mut secret = uuid::Uuid::new_v4().as_bytes().to_vec();
    secret.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    secret
}

/// Migrates (when configured) and builds the PostgreSQL pool.
pub async fn postgres_pool(settings: &Settings) -> Result<adapters_postgres::PgPool, StartupError> {
    let url = settings.database_url().unwrap_or_default();
    if settings.database.migrate_on_start {
        let applied = adapters_postgres::run_migrations(url)
            .await
            .map_err(|source| StartupError::Dependency {
                context: "applying database migrations",
                source,
            })?;
        if applied.is_empty() {
            tracing::info!("database schema is up to date");
        } else {
            tracing::info!(?applied, "applied database migrations");
        }
    }
    adapters_postgres::connect(
        url,
        &PoolSettings {
            max_size: settings.database.pool_size,
            wait_timeout: Duration::from_millis(settings.database.wait_timeout_ms),
            connect_timeout: Duration::from_millis(settings.database.connect_timeout_ms),
        },
    )
    .map_err(|source| StartupError::Dependency {
        context: "creating the database pool",
        source,
    })
}

/// Builds the Redis pool.
pub fn redis_pool(settings: &Settings) -> Result<adapters_redis::RedisPool, StartupError> {
    adapters_redis::connect(
        settings.redis_url().unwrap_or_default(),
        settings.redis.pool_size,
        Duration::from_millis(settings.redis.timeout_ms),
    )
    .map_err(|source| StartupError::Dependency {
        context: "creating the Redis pool",
        source,
    })
}
