//! The REST handlers, one module per area. Each handler is annotated with `#[utoipa::path]`,
//! which is also where its method and path are declared (see [`crate::routes`]).

pub mod accounts;
pub mod chat;
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod notifications;
pub mod users;
