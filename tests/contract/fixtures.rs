//! The adapters under contract, built fresh for each test.

pub mod memory {
    use adapters_memory::{MemoryChat, MemoryRefreshTokens, MemoryUsers};

    pub fn chat() -> (MemoryUsers, MemoryChat) {
        (MemoryUsers::default(), MemoryChat::default())
    }

    pub fn inbox() -> (MemoryUsers, adapters_memory::MemoryNotifications) {
        (
            MemoryUsers::default(),
            adapters_memory::MemoryNotifications::default(),
        )
    }

    pub fn prefs() -> (MemoryUsers, adapters_memory::MemoryPreferences) {
        (
            MemoryUsers::default(),
            adapters_memory::MemoryPreferences::default(),
        )
    }

    pub fn templates() -> adapters_memory::MemoryTemplates {
        adapters_memory::MemoryTemplates::default()
    }

    pub fn queue() -> (
        MemoryUsers,
        adapters_memory::MemoryNotifications,
        adapters_memory::MemoryDeliveries,
    ) {
        (
            MemoryUsers::default(),
            adapters_memory::MemoryNotifications::default(),
            adapters_memory::MemoryDeliveries::default(),
        )
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

    pub async fn inbox() -> (TestDatabase, (PgUsers, adapters_postgres::PgNotifications)) {
        let (database, pool) = pool().await;
        (
            database,
            (
                PgUsers::new(pool.clone()),
                adapters_postgres::PgNotifications::new(pool),
            ),
        )
    }

    pub async fn prefs() -> (TestDatabase, (PgUsers, adapters_postgres::PgPreferences)) {
        let (database, pool) = pool().await;
        (
            database,
            (
                PgUsers::new(pool.clone()),
                adapters_postgres::PgPreferences::new(pool),
            ),
        )
    }

    pub async fn templates() -> (TestDatabase, adapters_postgres::PgTemplates) {
        let (database, pool) = pool().await;
        (database, adapters_postgres::PgTemplates::new(pool))
    }

    pub async fn queue() -> (
        TestDatabase,
        (
            PgUsers,
            adapters_postgres::PgNotifications,
            adapters_postgres::PgDeliveries,
        ),
    ) {
        let (database, pool) = pool().await;
        (
            database,
            (
                PgUsers::new(pool.clone()),
                adapters_postgres::PgNotifications::new(pool.clone()),
                adapters_postgres::PgDeliveries::new(pool),
            ),
        )
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
