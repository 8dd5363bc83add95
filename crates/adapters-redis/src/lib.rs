//! Redis adapters. deadpool-redis holds what instances share as keys (presence, typing, rate
//! limits, session caps); fred carries the event bus (one subscriber connection per process).
//! Redis is never the only path for a message: PostgreSQL is the system of record.

pub mod bus;
pub mod health;
pub mod pool;
pub mod presence;

pub use bus::{RedisBus, RedisBusSettings};
pub use health::RedisHealth;
pub use pool::{RedisPool, connect};
pub use presence::{RedisPresence, RedisThrottle};
