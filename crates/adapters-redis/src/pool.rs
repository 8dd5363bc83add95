//! The pooled connections for key commands.

use std::time::Duration;

use deadpool::Runtime;
use deadpool::managed::{Metrics, Pool, RecycleResult, Timeouts};
use deadpool_redis::redis::RedisError;
use deadpool_redis::redis::aio::MultiplexedConnection;
use ports::PortError;

/// A pool of Redis connections.
pub type RedisPool = Pool<Manager>;

/// A connection last handed out this recently is handed out again without a `PING`: it answered
/// a moment ago, and one that broke since fails its next command as `Unavailable`. The check on
/// every checkout that deadpool-redis does cost a round trip per rate-limit decision.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// deadpool-redis's manager, with the recycling of [`TRUSTED_FOR`].
pub struct Manager(deadpool_redis::Manager);

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").finish_non_exhaustive()
    }
}

impl deadpool::managed::Manager for Manager {
    type Type = MultiplexedConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        self.0.create().await
    }

    async fn recycle(
        &self,
        conn: &mut MultiplexedConnection,
        metrics: &Metrics,
    ) -> RecycleResult<RedisError> {
        if metrics.last_used() < TRUSTED_FOR {
            Ok(())
        } else {
            self.0.recycle(conn, metrics).await
        }
    }
}

/// Builds the pool. Connections open lazily, so this succeeds while Redis is down; every wait is
/// bounded by `timeout`, so a dead Redis gives prompt errors rather than hung requests.
pub fn connect(url: &str, max_size: usize, timeout: Duration) -> Result<RedisPool, PortError> {
    let manager = deadpool_redis::Manager::new(url).map_err(PortError::unexpected)?;
    Pool::builder(Manager(manager))
        .max_size(max_size)
        .timeouts(Timeouts {
            wait: Some(timeout),
            create: Some(timeout),
            recycle: Some(timeout),
        })
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(PortError::unexpected)
}
