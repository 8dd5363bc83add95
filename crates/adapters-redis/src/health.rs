//! Readiness of Redis.

use std::time::Duration;

use ports::{DependencyStatus, HealthProbe};

use crate::pool::RedisPool;

/// Answers `redis` up when `PING` returns `PONG` within the timeout.
#[derive(Clone)]
pub struct RedisHealth {
    pool: RedisPool,
    timeout: Duration,
}

impl std::fmt::Debug for RedisHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHealth")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl RedisHealth {
    /// A probe over this pool.
    pub fn new(pool: RedisPool, timeout: Duration) -> Self {
        Self { pool, timeout }
    }
}

impl HealthProbe for RedisHealth {
    async fn check(&self) -> Vec<DependencyStatus> {
        let probe = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            let reply: String = deadpool_redis::redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            if reply == "PONG" {
                Ok(())
            } else {
                Err(format!("unexpected reply {reply:?}"))
            }
        };
        let status = match tokio::time::timeout(self.timeout, probe).await {
            Ok(Ok(())) => DependencyStatus::up("redis"),
            Ok(Err(error)) => DependencyStatus::down("redis", error),
            Err(_) => DependencyStatus::down("redis", "timed out"),
        };
        vec![status]
    }
}
