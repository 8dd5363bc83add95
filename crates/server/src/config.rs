//! Layered, typed configuration.
//!
//! Layers, later wins: `config/base.toml` (compiled in, so the binary runs anywhere) →
//! `config/<APP_ENV>.toml` → the `--config` file → the conventional `DATABASE_URL`, `REDIS_URL`,
//! `JWT_SECRET` → `APP_SECTION__KEY` variables. Every struct denies unknown fields, so a typo is
//! an error naming the key, not a silently ignored setting. Secrets are [`SecretString`]s and
//! print as `[REDACTED]`.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The compiled-in defaults.
pub const BASE_TOML: &str = include_str!("../../../config/base.toml");

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP listener.
    pub server: ServerSettings,
    /// Logging.
    pub log: LogSettings,
    /// PostgreSQL.
    pub database: DatabaseSettings,
    /// Redis.
    pub redis: RedisSettings,
    /// Tokens and accounts.
    pub auth: AuthConfig,
    /// Chat limits.
    pub chat: ChatConfig,
    /// WebSocket sessions.
    pub ws: WsConfig,
    /// Notifications and their external channels.
    pub notifications: NotificationsConfig,
    /// Job events.
    pub jobs: JobsConfig,
    /// Which profile was loaded (`local`, `test`, `production`); not a config key.
    #[serde(skip)]
    pub profile: String,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    /// Seconds in-flight requests may take to finish at shutdown.
    pub shutdown_timeout_s: u64,
    /// Largest JSON body, in bytes.
    pub json_limit_bytes: usize,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// EnvFilter directives.
    pub filter: String,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Connection URL; empty means in-memory storage.
    pub url: SecretString,
    /// Pool size.
    pub pool_size: usize,
    /// Milliseconds to open a connection.
    pub connect_timeout_ms: u64,
    /// Milliseconds to wait for a free connection.
    pub wait_timeout_ms: u64,
    /// Apply pending migrations at start.
    pub migrate_on_start: bool,
}

/// `[redis]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Connection URL; empty means a single instance with a process-local bus.
    pub url: SecretString,
    /// Pool size for key commands.
    pub pool_size: usize,
    /// Milliseconds any Redis wait may take.
    pub timeout_ms: u64,
    /// Prefix of every key and channel.
    pub key_prefix: String,
}

/// JWT algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Algorithm {
    /// Shared secret.
    HS256,
    /// RSA public key.
    RS256,
    /// ECDSA P-256 public key.
    ES256,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Accepted algorithm.
    pub algorithm: Algorithm,
    /// HS256 secret.
    pub jwt_secret: SecretString,
    /// RS256/ES256 public key file.
    pub public_key_path: String,
    /// RS256/ES256 private key file.
    pub private_key_path: String,
    /// Seconds of skew tolerated on `exp`.
    pub leeway_s: u64,
    /// Required `iss`, if any.
    pub issuer: String,
    /// Required `aud`, if any.
    pub audience: String,
    /// Access token lifetime.
    pub access_ttl_s: u64,
    /// Refresh token lifetime.
    pub refresh_ttl_s: u64,
    /// Offer register/login/refresh.
    pub own_accounts: bool,
    /// argon2 cost.
    pub password_hash: PasswordHashSettings,
    /// Admin created at start.
    pub bootstrap_admin: BootstrapAdmin,
}

/// `[auth.password_hash]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordHashSettings {
    /// KiB of memory per hash.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// `[auth.bootstrap_admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapAdmin {
    /// Address.
    pub email: String,
    /// Username.
    pub username: String,
    /// Password.
    pub password: SecretString,
}

/// `[chat]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// Seconds a sender may edit a message.
    pub edit_window_s: u64,
    /// Default page size.
    pub page_size: usize,
    /// Largest page size.
    pub max_page_size: usize,
    /// Largest upload, in bytes.
    pub max_attachment_bytes: usize,
    /// Rooms with more members send no `message_received` notifications.
    pub notify_max_members: usize,
    /// Messages one user may send per second, over all sessions and instances.
    pub user_messages_per_s: u32,
}

/// `[ws]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsConfig {
    /// Allowed browser origins.
    pub allowed_origins: Vec<String>,
    /// Allow requests without `Origin`.
    pub allow_missing_origin: bool,
    /// Largest client frame.
    pub max_frame_bytes: usize,
    /// Ping interval, seconds.
    pub heartbeat_s: u64,
    /// Frames queued per session.
    pub outbound_queue: usize,
    /// Sessions per user.
    pub max_sessions_per_user: usize,
    /// Frames per second per session.
    pub rate_per_s: f64,
    /// Burst size.
    pub rate_burst: f64,
    /// Refused frames within 10 s before closing.
    pub abuse_limit: u32,
    /// Typing expiry, seconds.
    pub typing_ttl_s: u64,
    /// Typing broadcast throttle, milliseconds.
    pub typing_throttle_ms: u64,
    /// Seconds between reconciliation passes (also run after every Redis reconnect).
    pub reconcile_s: u64,
}

/// `[notifications]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Recipients per broadcast transaction.
    pub bulk_batch: usize,
    /// SMTP URL (may hold credentials).
    pub smtp_url: SecretString,
    /// Sender mailbox.
    pub smtp_from: String,
    /// Push webhook URL.
    pub webhook_url: String,
    /// Webhook HMAC key.
    pub webhook_secret: SecretString,
    /// Limit of one delivery attempt.
    pub delivery_timeout_ms: u64,
    /// Idle poll interval.
    pub delivery_poll_ms: u64,
    /// Deliveries per claim.
    pub delivery_batch: usize,
    /// Deliveries in flight.
    pub delivery_concurrency: usize,
    /// Lease of a claimed delivery.
    pub delivery_lease_s: u64,
    /// First retry delay.
    pub retry_base_ms: u64,
    /// Attempts before giving up.
    pub max_attempts: u32,
}

/// `[jobs]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Seconds a completed job's rooms stay open before turning read-only.
    pub completed_room_grace_s: u64,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer did not parse or a key is unknown or of the wrong type; the message names it.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// The values parse but do not make sense together.
    #[error("invalid configuration: {key}: {message}")]
    Inconsistent {
        /// The key at fault.
        key: &'static str,
        /// Why.
        message: String,
    },
}

/// Where to read configuration from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Folder holding `<profile>.toml`; default `./config` (or `APP_CONFIG_DIR`).
    pub config_dir: Option<PathBuf>,
    /// Profile; default `APP_ENV` or `local`.
    pub profile: Option<String>,
    /// An extra file, applied after the profile's.
    pub file: Option<PathBuf>,
    /// Read the process environment (off in tests).
    pub environment: bool,
}

/// The layered figment, before extraction, so tests can merge overrides on top.
pub fn figment(sources: &Sources) -> (Figment, String) {
    let env_profile = std::env::var("APP_ENV").ok().filter(|p| !p.is_empty());
    let profile = sources
        .profile
        .clone()
        .or(if sources.environment {
            env_profile
        } else {
            None
        })
        .unwrap_or_else(|| "local".to_owned());
    let dir = sources
        .config_dir
        .clone()
        .or_else(|| {
            sources
                .environment
                .then(|| std::env::var_os("APP_CONFIG_DIR").map(PathBuf::from))
                .flatten()
        })
        .unwrap_or_else(|| PathBuf::from("config"));
    let mut figment = Figment::from(Toml::string(BASE_TOML))
        .merge(Toml::file(dir.join(format!("{profile}.toml"))));
    if let Some(file) = &sources.file {
        figment = figment.merge(Toml::file_exact(file));
    }
    if sources.environment {
        figment = figment
            .merge(Env::raw().filter_map(|key| {
                let mapped = match key.as_str().to_ascii_uppercase().as_str() {
                    "DATABASE_URL" => "database.url",
                    "REDIS_URL" => "redis.url",
                    "JWT_SECRET" => "auth.jwt_secret",
                    _ => return None,
                };
                Some(mapped.into())
            }))
            .merge(
                Env::prefixed("APP_")
                    .split("__")
                    .ignore(&["env", "config_dir"]),
            );
    }
    (figment, profile)
}

impl Settings {
    /// Loads and checks the configuration from these sources.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let (figment, profile) = figment(sources);
        Self::from_figment(&figment, profile)
    }

    /// Extracts and checks a prepared figment.
    pub fn from_figment(figment: &Figment, profile: String) -> Result<Self, ConfigError> {
        let mut settings: Settings = figment
            .extract()
            .map_err(|error| ConfigError::Invalid(describe_figment_error(&error)))?;
        settings.profile = profile;
        settings.check()?;
        Ok(settings)
    }

    /// The database URL, when one is configured.
    pub fn database_url(&self) -> Option<&str> {
        non_empty(self.database.url.expose_secret())
    }

    /// The Redis URL, when one is configured.
    pub fn redis_url(&self) -> Option<&str> {
        non_empty(self.redis.url.expose_secret())
    }

    /// True in the production profile, which refuses insecure defaults.
    pub fn is_production(&self) -> bool {
        self.profile == "production"
    }

    fn check(&self) -> Result<(), ConfigError> {
        let inconsistent = |key, message: &str| ConfigError::Inconsistent {
            key,
            message: message.to_owned(),
        };
        if self.redis_url().is_some() && self.database_url().is_none() {
            return Err(inconsistent(
                "redis.url",
                "Redis needs PostgreSQL as the system of record: set database.url (DATABASE_URL) too",
            ));
        }
        if let Some(url) = self.database_url()
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(inconsistent(
                "database.url",
                "must start with postgres:// or postgresql://",
            ));
        }
        if let Some(url) = self.redis_url()
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(inconsistent(
                "redis.url",
                "must start with redis:// or rediss://",
            ));
        }
        if self.database.pool_size == 0 {
            return Err(inconsistent("database.pool_size", "must be at least 1"));
        }
        if self.redis.pool_size == 0 {
            return Err(inconsistent("redis.pool_size", "must be at least 1"));
        }
        if self.server.json_limit_bytes < 1024 {
            return Err(inconsistent(
                "server.json_limit_bytes",
                "must be at least 1024",
            ));
        }
        if self.chat.max_message_chars == 0 {
            return Err(inconsistent("chat.max_message_chars", "must be at least 1"));
        }
        if self.chat.page_size == 0 || self.chat.page_size > self.chat.max_page_size {
            return Err(inconsistent(
                "chat.page_size",
                "must be between 1 and chat.max_page_size",
            ));
        }
        if self.ws.heartbeat_s == 0 {
            return Err(inconsistent("ws.heartbeat_s", "must be at least 1"));
        }
        if self.ws.max_frame_bytes < 1024 {
            return Err(inconsistent("ws.max_frame_bytes", "must be at least 1024"));
        }
        if self.ws.outbound_queue == 0 || self.ws.max_sessions_per_user == 0 {
            return Err(inconsistent(
                "ws.outbound_queue",
                "queues and session caps must be at least 1",
            ));
        }
        if self.ws.rate_per_s <= 0.0 || self.ws.rate_burst < 1.0 {
            return Err(inconsistent(
                "ws.rate_per_s",
                "rates must be positive and the burst at least 1",
            ));
        }
        let n = &self.notifications;
        if !n.webhook_url.is_empty() && n.webhook_secret.expose_secret().len() < 16 {
            return Err(inconsistent(
                "notifications.webhook_secret",
                "a webhook needs a secret of at least 16 bytes",
            ));
        }
        let webhook_ok = n.webhook_url.is_empty()
            || n.webhook_url.starts_with("http://")
            || n.webhook_url.starts_with("https://");
        if !webhook_ok {
            return Err(inconsistent(
                "notifications.webhook_url",
                "must be an http(s) URL",
            ));
        }
        if n.bulk_batch == 0 || n.delivery_batch == 0 || n.max_attempts == 0 {
            return Err(inconsistent(
                "notifications.bulk_batch",
                "batch sizes and max_attempts must be at least 1",
            ));
        }
        if self.auth.access_ttl_s == 0 || self.auth.refresh_ttl_s == 0 {
            return Err(inconsistent(
                "auth.access_ttl_s",
                "token lifetimes must be positive",
            ));
        }
        match self.auth.algorithm {
            Algorithm::HS256 => {
                let secret = self.auth.jwt_secret.expose_secret();
                if secret.is_empty() && self.is_production() {
                    return Err(inconsistent(
                        "auth.jwt_secret",
                        "production needs a JWT secret (JWT_SECRET or APP_AUTH__JWT_SECRET)",
                    ));
                }
                if !secret.is_empty() && secret.len() < 32 && self.is_production() {
                    return Err(inconsistent(
                        "auth.jwt_secret",
                        "must be at least 32 bytes in production",
                    ));
                }
            }
            Algorithm::RS256 | Algorithm::ES256 => {
                if self.auth.public_key_path.is_empty() {
                    return Err(inconsistent(
                        "auth.public_key_path",
                        "RS256/ES256 need the PEM public key that verifies the platform's tokens",
                    ));
                }
            }
        }
        let admin = &self.auth.bootstrap_admin;
        let set = [
            !admin.email.is_empty(),
            !admin.username.is_empty(),
            !admin.password.expose_secret().is_empty(),
        ];
        if set.iter().any(|s| *s) && !set.iter().all(|s| *s) {
            return Err(inconsistent(
                "auth.bootstrap_admin",
                "set email, username and password together, or none of them",
            ));
        }
        Ok(())
    }
}

fn non_empty(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()).then_some(value)
}

/// figment's message, with every key path it names, never the value of a secret.
fn describe_figment_error(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|e| {
            let path = e.path.join(".");
            let kind = e.kind.to_string();
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            if path.is_empty() {
                format!("{kind}{source}")
            } else {
                format!("{path}: {kind}{source}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads a key file named by the configuration.
pub fn read_key(key: &'static str, path: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(Path::new(path)).map_err(|e| ConfigError::Inconsistent {
        key,
        message: format!("cannot read {path}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use figment::providers::Serialized;

    use super::*;

    fn base() -> Figment {
        figment(&Sources::default()).0
    }

    fn load(figment: Figment) -> Result<Settings, ConfigError> {
        Settings::from_figment(&figment, "local".into())
    }

    #[test]
    fn the_base_file_alone_is_a_valid_in_memory_configuration() {
        let settings = load(base()).unwrap();
        assert_eq!(settings.server.port, 8000);
        assert!(settings.database_url().is_none());
        assert!(settings.redis_url().is_none());
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let error = load(base().merge(Serialized::default("server.portt", 1))).unwrap_err();
        assert!(error.to_string().contains("portt"), "{error}");
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let error = load(base().merge(Serialized::default("server.port", "eighty"))).unwrap_err();
        assert!(error.to_string().contains("server.port"), "{error}");
        let error = load(base().merge(Serialized::default("log.format", "xml"))).unwrap_err();
        assert!(error.to_string().contains("log.format"), "{error}");
    }

    #[test]
    fn redis_without_a_database_is_refused() {
        let error =
            load(base().merge(Serialized::default("redis.url", "redis://127.0.0.1"))).unwrap_err();
        assert!(error.to_string().contains("redis.url"), "{error}");
    }

    #[test]
    fn production_needs_a_secret() {
        let error = Settings::from_figment(&base(), "production".into()).unwrap_err();
        assert!(error.to_string().contains("auth.jwt_secret"), "{error}");
    }

    #[test]
    fn secrets_never_print() {
        let settings = load(
            base()
                .merge(Serialized::default(
                    "auth.jwt_secret",
                    "s3cr3t-value-that-must-not-leak",
                ))
                .merge(Serialized::default(
                    "database.url",
                    "postgres://u:hunter2@h/db",
                )),
        )
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn half_a_bootstrap_admin_is_refused() {
        let error = load(base().merge(Serialized::default("auth.bootstrap_admin.email", "a@b.co")))
            .unwrap_err();
        assert!(error.to_string().contains("bootstrap_admin"), "{error}");
    }
}
