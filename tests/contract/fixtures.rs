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

    /// Arms the memory store's fault hook.
    pub struct Faults(adapters_memory::MemoryJobs);

    impl crate::jobs::FailureInjection for Faults {
        async fn arm(&self) {
            self.0.fail_next_apply_after_notifications();
        }
    }

    pub fn jobs() -> crate::jobs::Stores<
        MemoryUsers,
        MemoryChat,
        adapters_memory::MemoryNotifications,
        adapters_memory::MemoryDeliveries,
        adapters_memory::MemoryJobs,
        Faults,
    > {
        let chat = MemoryChat::default();
        let inbox = adapters_memory::MemoryNotifications::default();
        let queue = adapters_memory::MemoryDeliveries::default();
        let jobs = adapters_memory::MemoryJobs::new(chat.clone(), inbox.clone(), queue.clone());
        crate::jobs::Stores {
            users: MemoryUsers::default(),
            chat,
            inbox,
            queue,
            faults: Faults(jobs.clone()),
            jobs,
        }
    }

    pub fn files() -> (MemoryUsers, MemoryChat, adapters_memory::MemoryAttachments) {
        (
            MemoryUsers::default(),
            MemoryChat::default(),
            adapters_memory::MemoryAttachments::default(),
        )
    }

    pub fn presence() -> (
        adapters_memory::MemoryPresence,
        adapters_memory::MemoryThrottle,
    ) {
        Default::default()
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

    /// Arms a trigger that fails the insert of a message carrying the failure marker — the
    /// system messages are written after the notifications.
    pub struct Faults(String);

    impl crate::jobs::FailureInjection for Faults {
        async fn arm(&self) {
            use diesel_async::{AsyncConnection, RunQueryDsl};
            let mut conn = diesel_async::AsyncPgConnection::establish(&self.0)
                .await
                .unwrap();
            for sql in [
                "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
                &format!(
                    "CREATE TRIGGER injected_failure BEFORE INSERT ON chat_messages FOR EACH ROW \
                     WHEN (NEW.content LIKE '%{}%') EXECUTE FUNCTION injected_failure()",
                    crate::jobs::FAIL_MARKER
                ),
            ] {
                diesel::sql_query(sql).execute(&mut conn).await.unwrap();
            }
        }
    }

    pub async fn jobs() -> (
        TestDatabase,
        crate::jobs::Stores<
            PgUsers,
            PgChat,
            adapters_postgres::PgNotifications,
            adapters_postgres::PgDeliveries,
            adapters_postgres::PgJobs,
            Faults,
        >,
    ) {
        let (database, pool) = pool().await;
        let faults = Faults(database.url().to_owned());
        (
            database,
            crate::jobs::Stores {
                users: PgUsers::new(pool.clone()),
                chat: PgChat::new(pool.clone()),
                inbox: adapters_postgres::PgNotifications::new(pool.clone()),
                queue: adapters_postgres::PgDeliveries::new(pool.clone()),
                jobs: adapters_postgres::PgJobs::new(pool),
                faults,
            },
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

pub mod redis {
    use std::time::Duration;

    /// The Redis adapters (the suite's Redis, a key prefix of their own).
    pub async fn presence() -> (
        (),
        (adapters_redis::RedisPresence, adapters_redis::RedisThrottle),
    ) {
        let pool =
            adapters_redis::connect(&eclean_tests::app::redis_url(), 4, Duration::from_secs(2))
                .unwrap();
        let prefix = format!("contract:{}:", eclean_tests::unique());
        (
            (),
            (
                adapters_redis::RedisPresence::new(pool.clone(), prefix.clone()),
                adapters_redis::RedisThrottle::new(pool, prefix),
            ),
        )
    }
}
