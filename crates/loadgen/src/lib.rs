//! The load generator of eclean-realtime: real WebSocket clients speaking its protocol, in
//! scenarios that end with one JSON summary line. Every loop is bounded in count and time.

pub mod auth;
pub mod net;
pub mod procfs;
pub mod scenario;
pub mod setup;
pub mod stats;

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::auth::Tokens;
use crate::net::{NetError, Receiver, Sender, Target};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A session failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Setting up failed.
    #[error("setup: {0}")]
    Setup(String),
}

/// How long a session may take to be greeted.
pub const GREETING: Duration = Duration::from_secs(30);

/// Opens the sessions `plan` names (session index, where), at most `rate` per second and a few
/// hundred at once, in plan order. Fails on the first session that cannot open.
pub async fn connect_many(
    plan: Vec<(usize, Target)>,
    tokens: &Tokens,
    rate: f64,
) -> Result<Vec<(Sender, Receiver)>, LoadError> {
    let gap = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let started = Instant::now();
    let attempts = plan.into_iter().enumerate().map(|(k, (i, target))| {
        let token = tokens.token(i);
        let at = started + gap.mul_f64(k as f64);
        async move {
            tokio::time::sleep_until(at.into()).await;
            net::connect(&target, i, &token, GREETING).await
        }
    });
    let opened: Vec<Result<(Sender, Receiver), NetError>> = futures_util::stream::iter(attempts)
        .buffered(256)
        .collect()
        .await;
    opened
        .into_iter()
        .map(|r| r.map_err(LoadError::from))
        .collect()
}
