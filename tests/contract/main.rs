//! Contract tests: every port's documented behaviour, run against the memory adapter and the
//! PostgreSQL (or Redis) adapter alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Instantiates a generic contract test `$name(adapter)` once per adapter. `$fixture` names a
/// function in [`fixtures`] that returns the adapter (and keeps its database alive).
macro_rules! contract {
    // Adapters whose shared backend is Redis: the second test is named `redis`.
    ($name:ident, $fixture:ident, redis) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                let fixture = crate::fixtures::memory::$fixture();
                super::$name(fixture).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                let (_guard, fixture) = crate::fixtures::redis::$fixture().await;
                super::$name(fixture).await;
            }
        }
    };
    ($name:ident, $fixture:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                let fixture = crate::fixtures::memory::$fixture();
                super::$name(fixture).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (_database, fixture) = crate::fixtures::postgres::$fixture().await;
                super::$name(fixture).await;
            }
        }
    };
}

// Declared after the macro, so its textual scope covers them.
mod chat;
mod fixtures;
mod health;
mod jobs;
mod notifications;
mod presence;
mod refresh_tokens;
mod users;
