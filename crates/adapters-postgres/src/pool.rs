//! The connection pool.

use std::time::Duration;

use deadpool::Runtime;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use ports::PortError;

use crate::errors::map_pool_error;

/// A pool of async PostgreSQL connections.
pub type PgPool = Pool<AsyncPgConnection>;

/// Pool sizing and the time limits that turn a dead database into a prompt `Unavailable`.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections held open.
    pub max_size: usize,
    /// Longest wait for a free connection.
    pub wait_timeout: Duration,
    /// Longest wait to open a new connection.
    pub connect_timeout: Duration,
}

/// Builds the pool. Connections open lazily, so this succeeds while the database is down.
pub fn connect(url: &str, settings: &PoolSettings) -> Result<PgPool, PortError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.wait_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(PortError::unexpected)
}

/// A pooled connection, or `Unavailable`.
pub(crate) async fn conn(pool: &PgPool) -> Result<Object<AsyncPgConnection>, PortError> {
    pool.get().await.map_err(map_pool_error)
}
