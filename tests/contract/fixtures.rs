//! The adapters under contract, built fresh for each test.

pub mod memory {
    use adapters_memory::{MemoryChat, MemoryRefreshTokens, MemoryUsers};

    pub fn chat() -> (MemoryUsers, MemoryChat) {
        (MemoryUsers::default(), MemoryChat::default())
    }

    pub fn files() -> (MemoryUsers, MemoryChat, adapters_memory::MemoryAttachments) {
        (
            MemoryUsers::default(),
            MemoryChat::default(),
            adapters_memory::MemoryAttachments::default(),
        )
    }

    pub fn users() -> MemoryUsers {
        MemoryUsers::default()
    }

    pub fn refresh_tokens() -> (MemoryUsers, MemoryRefreshTokens) {
        (MemoryUsers::default(), MemoryRefreshTokens::default())
    }
}

pub mod postgres {
    use std::time::Duration;

    use adapters_postgres::{PgChat, PgPool, PgRefreshTokens, PgUsers, PoolSettings};

    pub async fn chat() -> (TestDatabase, (PgUsers, PgChat)) {
        let (database, pool) = pool().await;
        (database, (PgUsers::new(pool.clone()), PgChat::new(pool)))
    }

    pub async fn files() -> (
        TestDatabase,
        (PgUsers, PgChat, adapters_postgres::PgAttachments),
    ) {
        let (database, pool) = pool().await;
        (
            database,
            (
                PgUsers::new(pool.clone()),
                PgChat::new(pool.clone()),
                adapters_postgres::PgAttachments::new(pool),
            ),
        )
    }
    use eclean_tests::TestDatabase;

    pub async fn pool() -> (TestDatabase, PgPool) {
        let database = TestDatabase::migrated().await;
        let pool = adapters_postgres::connect(
            database.url(),
            &PoolSettings {
                max_size: 12,
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
