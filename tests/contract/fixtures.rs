//! The adapters under contract, built fresh for each test.

pub mod memory {
    use adapters_memory::{MemoryRefreshTokens, MemoryUsers};

    pub fn users() -> MemoryUsers {
        MemoryUsers::default()
    }

    pub fn refresh_tokens() -> (MemoryUsers, MemoryRefreshTokens) {
        (MemoryUsers::default(), MemoryRefreshTokens::default())
    }
}

pub mod postgres {
    use std::time::Duration;

    use adapters_postgres::{PgPool, PgRefreshTokens, PgUsers, PoolSettings};
    use eclean_tests::TestDatabase;

    pub async fn pool() -> (TestDatabase, PgPool) {
        let database = TestDatabase::migrated().await;
        let pool = adapters_postgres::connect(
            database.url(),
            &PoolSettings {
                max_size: 8,
                wait_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(5),
            },
        )
        .unwrap();
        (database, pool)
    }

    pub async fn users() -> (TestDatabase, PgUsers) {
        let (database, pool) = pool().await;
        (database, PgUsers::new(pool))
    }

    pub async fn refresh_tokens() -> (TestDatabase, (PgUsers, PgRefreshTokens)) {
        let (database, pool) = pool().await;
        (
            database,
            (PgUsers::new(pool.clone()), PgRefreshTokens::new(pool)),
        )
    }
}
