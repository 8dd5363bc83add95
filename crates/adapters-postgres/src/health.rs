//! Readiness of PostgreSQL.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use ports::{DependencyStatus, HealthProbe};

use crate::pool::{PgPool, conn};

/// Answers `postgres` up when `SELECT 1` returns within the timeout.
#[derive(Clone)]
pub struct PgHealth {
    pool: PgPool,
    timeout: Duration,
}

impl std::fmt::Debug for PgHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHealth")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgHealth {
    /// A probe over this pool.
    pub fn new(pool: PgPool, timeout: Duration) -> Self {
        Self { pool, timeout }
    }
}

impl HealthProbe for PgHealth {
    async fn check(&self) -> Vec<DependencyStatus> {
        let probe = async {
            let mut conn = conn(&self.pool).await.map_err(|e| e.to_string())?;
            diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let status = match tokio::time::timeout(self.timeout, probe).await {
            Ok(Ok(())) => DependencyStatus::up("postgres"),
            Ok(Err(error)) => DependencyStatus::down("postgres", error),
            Err(_) => DependencyStatus::down("postgres", "timed out"),
        };
        vec![status]
    }
}
