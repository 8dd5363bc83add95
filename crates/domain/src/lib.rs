//! The domain of eclean-realtime: entities, value types and the pure rules that govern them.
//!
//! Nothing in this crate performs I/O or knows about HTTP, SQL or Redis; an automated check
//! (`tests/architecture`) fails the build if it ever depends on actix, diesel, fred, redis or tokio.

pub mod auth;
pub mod chat;
pub mod error;
pub mod job;
pub mod notification;
pub mod password;
pub mod user;

pub use error::{FieldErrors, ValidationError};
