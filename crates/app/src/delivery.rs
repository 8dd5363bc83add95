//! The worker that drains the delivery queue: claims due jobs under a lease, sends them, and
//! records the outcome — success once and for all, a retry with exponential backoff, or failure
//! after the last attempt. Jobs are durable (PostgreSQL), so a restart resumes where it stopped;
//! a job whose worker died is taken again when its lease runs out.

use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt as _;
use ports::{DeliveryJob, DeliveryOutcome, DeliveryQueue, ExternalChannel};

use crate::ports::{Adapters, Ports};

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Pause between polls when the queue was empty.
    pub poll: Duration,
    /// Jobs claimed per poll.
    pub batch: usize,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How long a claimed job is reserved for this worker.
    pub lease: Duration,
    /// The first retry delay; each further one is three times longer (capped at an hour).
    pub retry_base: Duration,
    /// Attempts before giving up.
    pub max_attempts: u32,
}

/// The delay before attempt `attempts + 1`.
pub fn backoff(settings: &DeliverySettings, attempts: u32) -> Duration {
    let factor = 3u32.saturating_pow(attempts.saturating_sub(1).min(10));
    settings
        .retry_base
        .saturating_mul(factor)
        .min(Duration::from_secs(3600))
}

/// Drains the queue.
pub struct DeliveryWorker<P: Ports> {
    adapters: Adapters<P>,
    settings: DeliverySettings,
}

impl<P: Ports> std::fmt::Debug for DeliveryWorker<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryWorker")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<P: Ports> DeliveryWorker<P> {
    /// A worker over these adapters.
    pub fn new(adapters: Adapters<P>, settings: DeliverySettings) -> Self {
        Self { adapters, settings }
    }

    /// Claims and processes one batch; returns how many jobs it handled.
    pub async fn run_once(&self) -> usize {
        let lease = chrono::Duration::from_std(self.settings.lease)
            .unwrap_or(chrono::Duration::seconds(60));
        let jobs = match self
            .adapters
            .deliveries
            .claim(Utc::now(), self.settings.batch, lease)
            .await
        {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::warn!(%error, "claiming deliveries failed");
                return 0;
            }
        };
        let count = jobs.len();
        futures_util::stream::iter(jobs)
            .for_each_concurrent(self.settings.concurrency.max(1), |job| async move {
                self.process(job).await
            })
            .await;
        count
    }

    async fn process(&self, job: DeliveryJob) {
        let outcome = self.adapters.channels.deliver(&job).await;
        let queue = &self.adapters.deliveries;
        let recorded = match outcome {
            DeliveryOutcome::Delivered => {
                tracing::info!(
                    delivery = job.id,
                    channel = job.channel.as_str(),
                    attempt = job.attempts,
                    "delivered"
                );
                queue.complete(job.id, Utc::now()).await
            }
            DeliveryOutcome::Retry(error) if job.attempts < self.settings.max_attempts => {
                let delay = backoff(&self.settings, job.attempts);
                tracing::warn!(delivery = job.id, channel = job.channel.as_str(), attempt = job.attempts, %error, retry_in_s = delay.as_secs_f64(), "delivery failed; will retry");
                let at = Utc::now()
                    + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60));
                queue.retry(job.id, &error, at).await
            }
            DeliveryOutcome::Retry(error) | DeliveryOutcome::Permanent(error) => {
                tracing::error!(delivery = job.id, channel = job.channel.as_str(), attempt = job.attempts, %error, "delivery failed for good");
                queue.fail(job.id, &error).await
            }
        };
        if let Err(error) = recorded {
            // The lease runs out and the job is taken again: late, never lost.
            tracing::error!(delivery = job.id, %error, "recording a delivery outcome failed");
        }
    }

    /// Runs until `stop` turns true (or its sender is dropped). A batch already claimed is
    /// finished first, so a graceful shutdown never leaves a job sent but unrecorded — which a
    /// later instance would send again when its lease ran out.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                break;
            }
            if self.run_once().await == 0 {
                tokio::select! {
                    () = tokio::time::sleep(self.settings.poll) => {}
                    changed = stop.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        tracing::debug!("the delivery worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_threefold_and_is_capped() {
        let settings = DeliverySettings {
            poll: Duration::from_secs(1),
            batch: 10,
            concurrency: 2,
            lease: Duration::from_secs(60),
            retry_base: Duration::from_secs(10),
            max_attempts: 8,
        };
        assert_eq!(backoff(&settings, 1), Duration::from_secs(10));
        assert_eq!(backoff(&settings, 2), Duration::from_secs(30));
        assert_eq!(backoff(&settings, 3), Duration::from_secs(90));
        assert_eq!(backoff(&settings, 9), Duration::from_secs(3600));
    }
}
