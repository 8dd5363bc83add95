//! Jobs and bids as this service knows them: a projection of the platform's cleaning jobs, kept
//! up to date by the events the platform posts, on the platform's real status vocabulary.

pub mod event;
pub mod rules;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::user::UserId;

pub use event::{BidSnapshot, EventId, JobEvent, JobEventKind, JobSnapshot};
pub use rules::{Effects, JobDenial, Notice, RoomEffect, SystemNote, decide};

/// The platform's job id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(i64);

impl JobId {
    /// Wraps a raw id; ids are positive.
    pub fn new(raw: i64) -> Result<Self, ValidationError> {
        if raw > 0 {
            Ok(Self(raw))
        } else {
            Err(ValidationError::new("job.id", "must be a positive integer"))
        }
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// Parses the wire spelling.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    ValidationError::new($field, format!("unknown value {raw:?}; expected one of {}", known.join(", ")))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// Where a job is in its life (the platform's `CleaningJob.status`).
    JobStatus, "job.status" {
        /// Published; cleaners bid.
        OpenForBids => "open_for_bids",
        /// The client accepted a bid; the cleaner has to confirm.
        BidAccepted => "bid_accepted",
        /// The cleaner confirmed.
        Confirmed => "confirmed",
        /// The cleaner is ready to start.
        ReadyToStart => "ready_to_start",
        /// Work under way (also after the client rejected a completion).
        InProgress => "in_progress",
        /// The cleaner finished; the client reviews.
        AwaitingReview => "awaiting_review",
        /// The client accepted the work. Terminal.
        Completed => "completed",
        /// Called off. Terminal.
        Cancelled => "cancelled",
    }
);

impl JobStatus {
    /// No event moves a job out of this status.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Cancelled)
    }
}

wire_enum!(
    /// A bid's state (the platform's `JobBid.status`).
    BidStatus, "bid.status" {
        /// Waiting for the client.
        Pending => "pending",
        /// Chosen.
        Accepted => "accepted",
        /// Not chosen (another bid won, or the job was cancelled).
        Rejected => "rejected",
        /// Taken back by the cleaner.
        Withdrawn => "withdrawn",
    }
);

/// A job as projected here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The platform's id.
    pub id: JobId,
    /// Who booked it.
    pub client: UserId,
    /// The assigned cleaner, once a bid is accepted.
    pub cleaner: Option<UserId>,
    /// Status.
    pub status: JobStatus,
    /// Short title shown in notifications.
    pub title: String,
    /// City, if the platform gives one.
    pub city: Option<String>,
    /// When it is scheduled, if known.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Incremented by every applied event (optimistic concurrency).
    pub version: i64,
    /// When this service first heard of it.
    pub created_at: DateTime<Utc>,
    /// The last applied event.
    pub updated_at: DateTime<Utc>,
    /// When it was completed (the job room closes a grace period later).
    pub completed_at: Option<DateTime<Utc>>,
}

/// A cleaner's bid on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bid {
    /// The job.
    pub job: JobId,
    /// The bidder.
    pub cleaner: UserId,
    /// State.
    pub status: BidStatus,
}

/// A job with its bids: what the rules decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    /// The job.
    pub job: Job,
    /// Its bids, one per cleaner.
    pub bids: Vec<Bid>,
}

impl JobState {
    /// The bid of `cleaner`, if any.
    pub fn bid_of(&self, cleaner: UserId) -> Option<&Bid> {
        self.bids.iter().find(|b| b.cleaner == cleaner)
    }

    /// Whether `user` takes part in the job now: its client, its cleaner, or a cleaner whose bid
    /// is still in play. A losing or withdrawn bidder no longer does.
    pub fn is_participant(&self, user: UserId) -> bool {
        self.job.client == user
            || self.job.cleaner == Some(user)
            || self
                .bid_of(user)
                .is_some_and(|b| matches!(b.status, BidStatus::Pending | BidStatus::Accepted))
    }

    /// Everyone who takes part now (for `job_updated` frames), client first.
    pub fn participants(&self) -> Vec<UserId> {
        let mut out = vec![self.job.client];
        let others = self.job.cleaner.into_iter().chain(
            self.bids
                .iter()
                .filter(|b| b.status == BidStatus::Pending)
                .map(|b| b.cleaner),
        );
        for user in others {
            if !out.contains(&user) {
                out.push(user);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
