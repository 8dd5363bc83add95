//! The events the platform posts (PROTOCOL §4).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{BidStatus, JobId, JobStatus};
use crate::error::ValidationError;
use crate::user::UserId;

/// The platform's idempotency key of an event: the same id is applied once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// The longest id.
    pub const MAX_CHARS: usize = 200;

    /// Validates an id: 1–200 visible characters, no whitespace.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = |why: &str| ValidationError::new("event_id", why.to_owned());
        if raw.is_empty() {
            return Err(invalid("may not be empty"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(invalid("must be at most 200 characters"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("may not contain spaces or control characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal),+ $(,)?) => {
        /// What happened.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum JobEventKind {
            $($(#[$doc])* $variant,)+
        }

        impl JobEventKind {
            /// Every kind.
            pub const ALL: &'static [JobEventKind] = &[$(JobEventKind::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(JobEventKind::$variant => $wire,)+
                }
            }
        }
    };
}

event_kinds! {
    /// The client published a job.
    JobCreated => "job_created",
    /// A cleaner bid on it.
    BidPlaced => "bid_placed",
    /// The client accepted a bid (again, with another cleaner: reassignment).
    BidAccepted => "bid_accepted",
    /// The cleaner confirmed.
    JobConfirmed => "job_confirmed",
    /// The cleaner is ready to start.
    JobReady => "job_ready",
    /// Work started.
    JobStarted => "job_started",
    /// The cleaner finished; the client reviews.
    JobFinished => "job_finished",
    /// The client accepted the work.
    JobCompleted => "job_completed",
    /// The client sent the work back.
    CompletionRejected => "completion_rejected",
    /// Called off.
    JobCancelled => "job_cancelled",
    /// The cleaner was paid.
    PaymentReceived => "payment_received",
}

impl JobEventKind {
    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                ValidationError::new(
                    "type",
                    format!(
                        "unknown event type {raw:?}; expected one of {}",
                        known.join(", ")
                    ),
                )
            })
    }
}

impl std::fmt::Display for JobEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The job as the platform sees it when the event happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSnapshot {
    /// Id.
    pub id: JobId,
    /// Client.
    pub client: UserId,
    /// Assigned cleaner, if any.
    pub cleaner: Option<UserId>,
    /// The platform's status after the event, if it sends it (checked against the rules).
    pub status: Option<JobStatus>,
    /// Title.
    pub title: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Scheduled time.
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// The bid the event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BidSnapshot {
    /// The bidder.
    pub cleaner: UserId,
    /// Its status after the event, if the platform sends it.
    pub status: Option<BidStatus>,
}

/// One event from the platform.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    /// Idempotency key.
    pub id: EventId,
    /// What happened.
    pub kind: JobEventKind,
    /// When it happened on the platform.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Who did it.
    pub actor: Option<UserId>,
    /// The job.
    pub job: JobSnapshot,
    /// The bid, for bid events.
    pub bid: Option<BidSnapshot>,
    /// For `job_created`: the cleaners to tell (otherwise every active cleaner).
    pub notify: Option<Vec<UserId>>,
    /// Free-form extras: `reason` (completion_rejected, job_cancelled), `amount`
    /// (payment_received), `client_name`, `cleaner_name`.
    pub data: Map<String, Value>,
}

impl JobEvent {
    /// A text field of `data`, trimmed, if present and non-empty.
    pub fn data_text(&self, key: &str) -> Option<String> {
        match self.data.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}
