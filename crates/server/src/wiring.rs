//! The concrete port bundles: where adapter types finally meet.

use adapters_delivery::{MiniJinjaEngine, OutboundChannels};
use adapters_memory::{
    LocalBus, MemoryAttachments, MemoryChat, MemoryDeliveries, MemoryHealth, MemoryJobs,
    MemoryNotifications, MemoryPreferences, MemoryPresence, MemoryRefreshTokens, MemoryTemplates,
    MemoryThrottle, MemoryUsers,
};
use adapters_postgres::{
    PgAttachments, PgChat, PgDeliveries, PgHealth, PgJobs, PgNotifications, PgPreferences,
    PgRefreshTokens, PgTemplates, PgUsers,
};
use adapters_redis::{RedisBus, RedisBusSettings, RedisHealth, RedisPresence, RedisThrottle};
use api_actix::credentials::{Argon2Hasher, JwtCodec};
use app::Ports;

/// Everything in this process's memory: the embedded default.
#[derive(Debug)]
pub struct MemoryPorts;

impl Ports for MemoryPorts {
    type Users = MemoryUsers;
    type Hasher = Argon2Hasher;
    type Tokens = JwtCodec;
    type RefreshTokens = MemoryRefreshTokens;
    type Health = MemoryHealth;
    type Chat = MemoryChat;
    type Bus = LocalBus;
    type Attachments = MemoryAttachments;
    type Notifications = MemoryNotifications;
    type Preferences = MemoryPreferences;
    type Templates = MemoryTemplates;
    type Engine = MiniJinjaEngine;
    type Deliveries = MemoryDeliveries;
    type Channels = OutboundChannels;
    type Jobs = MemoryJobs;
    type Presence = MemoryPresence;
    type Throttle = MemoryThrottle;
}

/// PostgreSQL as the system of record, one instance, no Redis.
#[derive(Debug)]
pub struct PostgresPorts;

impl Ports for PostgresPorts {
    type Users = PgUsers;
    type Hasher = Argon2Hasher;
    type Tokens = JwtCodec;
    type RefreshTokens = PgRefreshTokens;
    type Health = PgHealth;
    type Chat = PgChat;
    type Bus = LocalBus;
    type Attachments = PgAttachments;
    type Notifications = PgNotifications;
    type Preferences = PgPreferences;
    type Templates = PgTemplates;
    type Engine = MiniJinjaEngine;
    type Deliveries = PgDeliveries;
    type Channels = OutboundChannels;
    type Jobs = PgJobs;
    type Presence = MemoryPresence;
    type Throttle = MemoryThrottle;
}

/// PostgreSQL and Redis: the scaled-out deployment.
#[derive(Debug)]
pub struct ClusterPorts;

impl Ports for ClusterPorts {
    type Users = PgUsers;
    type Hasher = Argon2Hasher;
    type Tokens = JwtCodec;
    type RefreshTokens = PgRefreshTokens;
    type Health = (PgHealth, RedisHealth);
    type Chat = PgChat;
    type Bus = RedisBus;
    type Attachments = PgAttachments;
    type Notifications = PgNotifications;
    type Preferences = PgPreferences;
    type Templates = PgTemplates;
    type Engine = MiniJinjaEngine;
    type Deliveries = PgDeliveries;
    type Channels = OutboundChannels;
    type Jobs = PgJobs;
    type Presence = RedisPresence;
    type Throttle = RedisThrottle;
}

use std::time::Duration;

use adapters_delivery::{SmtpMailer, SmtpSettings, WebhookSender, WebhookSettings};
use adapters_postgres::PgPool;
use adapters_redis::RedisPool;
use app::Adapters;
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::startup::{StartupError, argon2, jwt_codec};

fn dependency(context: &'static str) -> impl FnOnce(ports::PortError) -> StartupError {
    move |source| StartupError::Dependency { context, source }
}

/// The external channels the configuration enables.
pub fn channels(settings: &Settings) -> Result<OutboundChannels, StartupError> {
    let n = &settings.notifications;
    let timeout = Duration::from_millis(n.delivery_timeout_ms);
    let url = n.smtp_url.expose_secret();
    let email = if url.is_empty() {
        None
    } else {
        Some(
            SmtpMailer::new(&SmtpSettings {
                url: url.to_owned(),
                from: n.smtp_from.clone(),
                timeout,
            })
            .map_err(dependency("notifications.smtp_url"))?,
        )
    };
    let push = if n.webhook_url.is_empty() {
        None
    } else {
        Some(
            WebhookSender::new(WebhookSettings {
                url: n.webhook_url.clone(),
                secret: n.webhook_secret.expose_secret().as_bytes().to_vec(),
                timeout,
            })
            .map_err(dependency("notifications.webhook_url"))?,
        )
    };
    Ok(OutboundChannels { email, push })
}

/// Every adapter in memory.
pub fn memory_adapters(settings: &Settings) -> Result<Adapters<MemoryPorts>, StartupError> {
    // The job store applies an event across chat, inboxes and the queue: it shares their state.
    let chat = MemoryChat::default();
    let notifications = MemoryNotifications::default();
    let deliveries = MemoryDeliveries::default();
    Ok(Adapters {
        users: MemoryUsers::default(),
        hasher: argon2(settings)?,
        tokens: jwt_codec(settings)?,
        refresh_tokens: MemoryRefreshTokens::default(),
        health: MemoryHealth,
        jobs: MemoryJobs::new(chat.clone(), notifications.clone(), deliveries.clone()),
        chat,
        bus: LocalBus::default(),
        attachments: MemoryAttachments::default(),
        notifications,
        preferences: MemoryPreferences::default(),
        templates: MemoryTemplates::default(),
        engine: MiniJinjaEngine,
        deliveries,
        channels: channels(settings)?,
        presence: MemoryPresence::default(),
        throttle: MemoryThrottle::default(),
    })
}

fn probe_timeout(settings: &Settings) -> Duration {
    Duration::from_millis(
        settings
            .database
            .connect_timeout_ms
            .max(settings.redis.timeout_ms),
    )
}

/// PostgreSQL for storage, a process-local bus.
pub fn postgres_adapters(
    settings: &Settings,
    pool: PgPool,
) -> Result<Adapters<PostgresPorts>, StartupError> {
    Ok(Adapters {
        users: PgUsers::new(pool.clone()),
        hasher: argon2(settings)?,
        tokens: jwt_codec(settings)?,
        refresh_tokens: PgRefreshTokens::new(pool.clone()),
        health: PgHealth::new(pool.clone(), probe_timeout(settings)),
        chat: PgChat::new(pool.clone()),
        bus: LocalBus::default(),
        attachments: PgAttachments::new(pool.clone()),
        notifications: PgNotifications::new(pool.clone()),
        preferences: PgPreferences::new(pool.clone()),
        templates: PgTemplates::new(pool.clone()),
        engine: MiniJinjaEngine,
        deliveries: PgDeliveries::new(pool.clone()),
        jobs: PgJobs::new(pool),
        channels: channels(settings)?,
        presence: MemoryPresence::default(),
        throttle: MemoryThrottle::default(),
    })
}

/// PostgreSQL and Redis.
pub fn cluster_adapters(
    settings: &Settings,
    pool: PgPool,
    redis: RedisPool,
) -> Result<Adapters<ClusterPorts>, StartupError> {
    let base = postgres_adapters(settings, pool.clone())?;
    Ok(Adapters {
        users: base.users,
        hasher: base.hasher,
        tokens: base.tokens,
        refresh_tokens: base.refresh_tokens,
        health: (
            base.health,
            RedisHealth::new(redis.clone(), probe_timeout(settings)),
        ),
        chat: base.chat,
        bus: RedisBus::start(&RedisBusSettings {
            url: settings.redis.url.expose_secret().to_owned(),
            prefix: settings.redis.key_prefix.clone(),
            timeout: Duration::from_millis(settings.redis.timeout_ms),
            buffer: 65_536,
        })
        .map_err(dependency("redis.url"))?,
        attachments: base.attachments,
        notifications: base.notifications,
        preferences: base.preferences,
        templates: base.templates,
        engine: base.engine,
        deliveries: base.deliveries,
        channels: base.channels,
        jobs: base.jobs,
        presence: RedisPresence::new(redis.clone(), settings.redis.key_prefix.clone()),
        throttle: RedisThrottle::new(redis.clone(), settings.redis.key_prefix.clone()),
    })
}
