//! Jobs as JSON.

use chrono::{DateTime, Utc};
use domain::job::{Bid, Job};
use serde::Serialize;
use utoipa::ToSchema;

/// A job as this service projects it (PROTOCOL §4).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobDto {
    /// The platform's id.
    pub id: i64,
    /// The client.
    pub client_id: i64,
    /// The assigned cleaner.
    pub cleaner_id: Option<i64>,
    /// `open_for_bids`, `bid_accepted`, `confirmed`, `ready_to_start`, `in_progress`,
    /// `awaiting_review`, `completed` or `cancelled`.
    pub status: String,
    /// Title.
    pub title: String,
    /// City.
    pub city: Option<String>,
    /// Scheduled time.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Incremented by every applied event.
    pub version: i64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&Job> for JobDto {
    fn from(job: &Job) -> Self {
        Self {
            id: job.id.get(),
            client_id: job.client.get(),
            cleaner_id: job.cleaner.map(|c| c.get()),
            status: job.status.as_str().to_owned(),
            title: job.title.clone(),
            city: job.city.clone(),
            scheduled_at: job.scheduled_at,
            version: job.version,
            updated_at: job.updated_at,
        }
    }
}

/// A bid on a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BidDto {
    /// The bidder.
    pub cleaner_id: i64,
    /// `pending`, `accepted`, `rejected` or `withdrawn`.
    pub status: String,
}

impl From<&Bid> for BidDto {
    fn from(bid: &Bid) -> Self {
        Self {
            cleaner_id: bid.cleaner.get(),
            status: bid.status.as_str().to_owned(),
        }
    }
}
