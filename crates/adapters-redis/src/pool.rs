//! The pooled connection for key commands.

use std::time::Duration;

use deadpool_redis::{Config, PoolConfig, Runtime, Timeouts};
use ports::PortError;

/// A deadpool-redis pool.
pub type RedisPool = deadpool_redis::Pool;

/// Builds the pool. Connections open lazily, so this succeeds while Redis is down; every wait is
/// bounded by `timeout`, so a dead Redis gives prompt errors rather than hung requests.
pub fn connect(url: &str, max_size: usize, timeout: Duration) -> Result<RedisPool, PortError> {
    let mut config = Config::from_url(url);
    let mut pool = PoolConfig::new(max_size);
    pool.timeouts = Timeouts {
        wait: Some(timeout),
        create: Some(timeout),
        recycle: Some(timeout),
    };
    config.pool = Some(pool);
    config
        .create_pool(Some(Runtime::Tokio1))
        .map_err(PortError::unexpected)
}
