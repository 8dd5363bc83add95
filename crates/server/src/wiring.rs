//! The concrete port bundles: where adapter types finally meet.

use adapters_memory::{
    LocalBus, MemoryAttachments, MemoryChat, MemoryHealth, MemoryRefreshTokens, MemoryUsers,
};
use adapters_postgres::{PgAttachments, PgChat, PgHealth, PgRefreshTokens, PgUsers};
use adapters_redis::RedisHealth;
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
    // The Redis event bus arrives with scale-out; until then each instance fans out locally.
    type Bus = LocalBus;
    type Attachments = PgAttachments;
}
