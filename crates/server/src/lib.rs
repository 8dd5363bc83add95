//! The `eclean-realtime` binary as a library, so the test suite can start the real server
//! in-process on port 0.

pub mod cli;
pub mod config;
pub mod probe;
pub mod startup;
pub mod telemetry;
pub mod wiring;

pub use config::{Settings, Sources};
pub use startup::{Application, StartupError, Storage};
