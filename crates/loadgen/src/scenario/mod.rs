//! The scenarios.

pub mod connections;
pub mod soak;
pub mod traffic;
