//! In-memory implementations of every port: the embedded default (`eclean-realtime` with no
//! database configured) and the test double. They honour the same contracts as the PostgreSQL and
//! Redis adapters; the contract-test suite runs against both.
//!
//! State lives behind `std::sync::Mutex`es that are never held across an `.await`, so the
//! futures stay `Send` and a lock is held only for the few instructions of one operation.

pub mod attachments;
pub mod bus;
pub mod chat;
pub mod health;
pub mod jobs;
mod lock;
pub mod notifications;
pub mod presence;
pub mod refresh_tokens;
pub mod users;

pub use attachments::MemoryAttachments;
pub use bus::LocalBus;
pub use chat::MemoryChat;
pub use health::MemoryHealth;
pub use jobs::MemoryJobs;
pub use notifications::{
    MemoryDeliveries, MemoryNotifications, MemoryPreferences, MemoryTemplates,
};
pub use presence::{MemoryPresence, MemoryThrottle};
pub use refresh_tokens::MemoryRefreshTokens;
pub use users::MemoryUsers;
