//! `soak`: steady traffic over many sessions for a long time, sampling the server's memory.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::traffic::{self, TrafficConfig, TrafficReport};
use crate::LoadError;
use crate::procfs::rss_kib;

/// What a soak measured.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// `soak`.
    pub scenario: &'static str,
    /// The traffic it carried.
    pub traffic: TrafficReport,
    /// Server memory samples, KiB, every `sample_s`.
    pub rss_kib: Vec<u64>,
    /// Seconds between samples.
    pub sample_s: f64,
    /// Change from the first sample taken under load to the last, in percent.
    pub drift_pct: Option<f64>,
}

/// Runs `traffic` while sampling the server's memory every `every`.
pub async fn run(traffic: TrafficConfig, every: Duration) -> Result<SoakReport, LoadError> {
    let pid = traffic.server_pid;
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut ticks = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Some(rss) = pid.and_then(rss_kib) {
                        samples.push(rss);
                    }
                }
                _ = stop_rx.changed() => return samples,
            }
        }
    });
    let report = traffic::run(traffic, "soak").await;
    let _ = stop_tx.send(true);
    let samples = sampler.await.unwrap_or_default();
    let report = report?;
    // The first samples cover the ramp-up; drift is measured from the first quarter on.
    let warm = samples.get(samples.len() / 4).copied();
    let drift_pct = match (warm, samples.last()) {
        (Some(first), Some(last)) if first > 0 => {
            Some((*last as f64 - first as f64) * 100.0 / first as f64)
        }
        _ => None,
    };
    Ok(SoakReport {
        scenario: "soak",
        traffic: report,
        rss_kib: samples,
        sample_s: every.as_secs_f64(),
        drift_pct,
    })
}
