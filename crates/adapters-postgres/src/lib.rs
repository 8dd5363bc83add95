//! PostgreSQL implementations of the repository ports, on diesel + diesel-async, with the
//! embedded migrations of the top-level `migrations/` folder.
//!
//! PostgreSQL is the system of record: every guarantee about ordering, idempotency and
//! exactly-once effects is enforced here by constraints and transactions, never by Redis.

pub mod attachments;
pub mod chat;
mod errors;
pub mod health;
pub mod jobs;
pub mod migrations;
pub mod notifications;
pub mod pool;
pub mod refresh_tokens;
pub mod schema;
pub mod users;

pub use attachments::PgAttachments;
pub use chat::PgChat;
pub use health::PgHealth;
pub use jobs::PgJobs;
pub use migrations::{MIGRATIONS, run_migrations};
pub use notifications::{PgDeliveries, PgNotifications, PgPreferences, PgTemplates};
pub use pool::{PgPool, PoolSettings, connect};
pub use refresh_tokens::PgRefreshTokens;
pub use users::PgUsers;
