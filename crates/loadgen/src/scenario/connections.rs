//! `connections`: many authenticated idle sessions, opened at a bounded rate and held; what each
//! costs the server in memory.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::watch;

use crate::auth::Tokens;
use crate::net::{self, Target};
use crate::procfs::rss_kib;
use crate::stats::{Latencies, Percentiles};
use crate::{GREETING, LoadError};

/// A connections run.
#[derive(Debug, Clone)]
pub struct ConnectionsConfig {
    /// Where to connect.
    pub target: Target,
    /// Token minting.
    pub tokens: Tokens,
    /// Sessions to open.
    pub sessions: usize,
    /// Sessions opened per second.
    pub rate: f64,
    /// How long to hold them once all are open.
    pub hold: Duration,
    /// The server's pid, for its memory.
    pub server_pid: Option<u32>,
}

/// What it measured.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionsReport {
    /// `connections`.
    pub scenario: &'static str,
    /// Sessions asked for.
    pub sessions: usize,
    /// Sessions that opened (greeted).
    pub opened: usize,
    /// Sessions that failed to open.
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Sessions still open at the end of the hold.
    pub held: usize,
    /// Connect + handshake + greeting time.
    pub connect_ms: Percentiles,
    /// Seconds to open them all.
    pub ramp_s: f64,
    /// Server memory before and with every session open, KiB.
    pub server_rss_before_kib: Option<u64>,
    /// With every session open.
    pub server_rss_after_kib: Option<u64>,
    /// (after − before) / opened.
    pub kib_per_session: Option<f64>,
}

/// Opens, holds, measures, closes.
pub async fn run(config: ConnectionsConfig) -> Result<ConnectionsReport, LoadError> {
    let before = config.server_pid.and_then(rss_kib);
    let gap = Duration::from_secs_f64(1.0 / config.rate.max(1.0));
    let started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let attempts = (0..config.sessions).map(|i| {
        let token = config.tokens.token(i);
        let target = config.target.clone();
        let at = started + gap.mul_f64(i as f64);
        async move {
            tokio::time::sleep_until(at.into()).await;
            let begun = Instant::now();
            net::connect(&target, i, &token, GREETING)
                .await
                .map(|session| (session, begun.elapsed()))
        }
    });
    let mut opened = Vec::new();
    let mut connect = Latencies::default();
    let mut failed = 0;
    let mut first_error = None;
    let mut results = futures_util::stream::iter(attempts).buffer_unordered(512);
    while let Some(result) = results.next().await {
        match result {
            Ok(((sender, mut receiver), took)) => {
                connect.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
                // Keep reading, so the server's pings are answered.
                let mut stop = stop_rx.clone();
                let reader = tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            frame = net::next_json(&mut receiver) => if frame.is_err() { return false },
                            _ = stop.changed() => return true,
                        }
                    }
                });
                opened.push((sender, reader));
            }
            Err(error) => {
                failed += 1;
                first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    let ramp = started.elapsed();
    // Let allocations settle before reading the server's memory.
    tokio::time::sleep(Duration::from_secs(2).min(config.hold)).await;
    let after = config.server_pid.and_then(rss_kib);
    tokio::time::sleep(config.hold.saturating_sub(Duration::from_secs(2))).await;
    let _ = stop_tx.send(true);
    let mut held = 0;
    let count = opened.len();
    for (sender, reader) in opened {
        if reader.await.unwrap_or(false) {
            held += 1;
        }
        drop(sender);
    }
    let kib_per_session = match (before, after) {
        (Some(b), Some(a)) if count > 0 => Some(a.saturating_sub(b) as f64 / count as f64),
        _ => None,
    };
    Ok(ConnectionsReport {
        scenario: "connections",
        sessions: config.sessions,
        opened: count,
        failed,
        first_error,
        held,
        connect_ms: connect.percentiles(),
        ramp_s: ramp.as_secs_f64(),
        server_rss_before_kib: before,
        server_rss_after_kib: after,
        kib_per_session,
    })
}
