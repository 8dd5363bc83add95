//! The connection pool.

use std::time::Duration;

use deadpool::Runtime;
use deadpool::managed::{Metrics, Object, Pool, RecycleResult};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError, RecyclingMethod,
};
use ports::PortError;

use crate::errors::map_pool_error;

/// A pool of async PostgreSQL connections.
pub type PgPool = Pool<Manager>;

/// A connection last handed out this recently is handed out again without a test
/// query: it answered a moment ago, and a connection that broke since fails its next query as
/// `Unavailable` and is then dropped. Older ones are tested first (`SELECT 1`), so a restarted
/// database costs no request after an idle period.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// Opens connections and decides how to recycle them (see [`TRUSTED_FOR`]). Testing every
/// checkout doubled the round trips of each query on the message path.
pub struct Manager {
    tested: AsyncDieselConnectionManager<AsyncPgConnection>,
    trusted: AsyncDieselConnectionManager<AsyncPgConnection>,
}

impl Manager {
    fn new(url: &str) -> Self {
        let mut fast = ManagerConfig::default();
        fast.recycling_method = RecyclingMethod::Fast;
        Self {
            tested: AsyncDieselConnectionManager::new(url),
            trusted: AsyncDieselConnectionManager::new_with_config(url, fast),
        }
    }
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").finish_non_exhaustive()
    }
}

impl deadpool::managed::Manager for Manager {
    type Type = AsyncPgConnection;
    type Error = PoolError;

    async fn create(&self) -> Result<AsyncPgConnection, PoolError> {
        self.tested.create().await
    }

    async fn recycle(
        &self,
        conn: &mut AsyncPgConnection,
        metrics: &Metrics,
    ) -> RecycleResult<PoolError> {
        if metrics.last_used() < TRUSTED_FOR {
            self.trusted.recycle(conn, metrics).await
        } else {
            self.tested.recycle(conn, metrics).await
        }
    }
}

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
    Pool::builder(Manager::new(url))
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.wait_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(PortError::unexpected)
}

/// A pooled connection, or `Unavailable`.
pub(crate) async fn conn(pool: &PgPool) -> Result<Object<Manager>, PortError> {
    pool.get().await.map_err(map_pool_error)
}
