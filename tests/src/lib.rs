//! The test harness of eclean-realtime: the real server on port 0, real HTTP and WebSocket
//! clients, and a fresh PostgreSQL database (from a migrated template) plus a private Redis key
//! namespace for every test, so tests run in parallel without seeing each other.
//!
//! Environment: `TEST_DATABASE_URL` (an admin connection, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`). Set `TEST_LOG=1` to see the server's logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod app;
pub mod binary;
pub mod database;
pub mod http;
pub mod instance;
pub mod receivers;
pub mod services;
pub mod tokens;
pub mod ws;

pub use app::{Backend, TestApp, TestUser};
pub use database::TestDatabase;
pub use http::ResponseExt;
pub use ws::WsClient;

/// Defines one test per backend: `name::memory` and `name::postgres` (PostgreSQL + Redis).
/// The body receives a started [`TestApp`] named by the given identifier.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                let $app = $crate::TestApp::spawn($crate::Backend::Memory).await;
                $body
            }

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $app = $crate::TestApp::spawn($crate::Backend::Postgres).await;
                $body
            }
        }
    };
}

/// As [`both_backends!`], with a configuration change applied to both servers:
/// `both_backends_with!(|figment| figment.merge(...), async fn name(app) { ... })`.
#[macro_export]
macro_rules! both_backends_with {
    ($customize:expr, $(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                let $app = $crate::TestApp::spawn_with($crate::Backend::Memory, $customize).await;
                $body
            }

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $app = $crate::TestApp::spawn_with($crate::Backend::Postgres, $customize).await;
                $body
            }
        }
    };
}

/// An HTTP client. The workspace builds reqwest with rustls but without a built-in crypto
/// provider (only `ring` is compiled), so the process-wide provider is installed first.
pub fn http_client() -> reqwest::Client {
    static PROVIDER: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    PROVIDER.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::new()
}

/// A unique suffix for names in one test (users, rooms, databases).
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}
