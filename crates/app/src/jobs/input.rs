//! An event as the platform posts it, validated into a [`JobEvent`]; every failing field is named.

use chrono::{DateTime, Utc};
use domain::job::{
    BidSnapshot, BidStatus, EventId, JobEvent, JobEventKind, JobId, JobSnapshot, JobStatus,
};
use domain::user::UserId;
use domain::{FieldErrors, ValidationError};
use serde_json::{Map, Value};

use crate::error::AppError;

/// The `job` object of an event.
#[derive(Debug, Clone, Default)]
pub struct JobInput {
    /// Id.
    pub id: i64,
    /// Client.
    pub client_id: i64,
    /// Assigned cleaner.
    pub cleaner_id: Option<i64>,
    /// Status after the event.
    pub status: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Scheduled time.
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// The `bid` object of an event.
#[derive(Debug, Clone, Default)]
pub struct BidInput {
    /// The bidder.
    pub cleaner_id: i64,
    /// Status after the event.
    pub status: Option<String>,
}

/// An event as posted (PROTOCOL §4).
#[derive(Debug, Clone, Default)]
pub struct EventInput {
    /// Idempotency key.
    pub event_id: String,
    /// `type`.
    pub kind: String,
    /// When it happened.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Who did it.
    pub actor_id: Option<i64>,
    /// The job.
    pub job: JobInput,
    /// The bid.
    pub bid: Option<BidInput>,
    /// Targeted cleaners (job_created).
    pub notify_user_ids: Option<Vec<i64>>,
    /// Extras (a JSON object).
    pub data: Option<Value>,
}

const MAX_TITLE: usize = 200;
const MAX_CITY: usize = 200;
const MAX_TARGETS: usize = 100_000;

fn user(field: &'static str, raw: i64) -> Result<UserId, ValidationError> {
    UserId::new(raw).map_err(|e| e.named(field))
}

fn text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(t) if t.chars().any(char::is_control) => Err(ValidationError::new(
            field,
            "may not contain control characters",
        )),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

impl EventInput {
    /// Validates the event.
    pub fn parse(self) -> Result<JobEvent, AppError> {
        let mut errors = FieldErrors::new();
        let id = errors.collect(EventId::parse(&self.event_id));
        let kind = errors.collect(JobEventKind::parse(&self.kind));
        let actor = self
            .actor_id
            .map(|a| errors.collect(user("actor_id", a)))
            .unwrap_or(None);
        let job_id = errors.collect(JobId::new(self.job.id));
        let client = errors.collect(user("job.client_id", self.job.client_id));
        let cleaner = self
            .job
            .cleaner_id
            .and_then(|c| errors.collect(user("job.cleaner_id", c)));
        let status = self
            .job
            .status
            .as_deref()
            .and_then(|s| errors.collect(JobStatus::parse(s)));
        let title = errors
            .collect(text("job.title", self.job.title.as_deref(), MAX_TITLE))
            .flatten();
        let city = errors
            .collect(text("job.city", self.job.city.as_deref(), MAX_CITY))
            .flatten();
        let bid = self.bid.and_then(|bid| {
            let cleaner = errors.collect(user("bid.cleaner_id", bid.cleaner_id))?;
            let status = bid
                .status
                .as_deref()
                .and_then(|s| errors.collect(BidStatus::parse(s)));
            Some(BidSnapshot { cleaner, status })
        });
        let notify = self.notify_user_ids.and_then(|ids| {
            if ids.len() > MAX_TARGETS {
                errors.add(
                    "notify_user_ids",
                    format!("at most {MAX_TARGETS} users; leave it out to tell every cleaner"),
                );
                return None;
            }
            ids.into_iter()
                .map(|raw| errors.collect(user("notify_user_ids", raw)))
                .collect::<Option<Vec<_>>>()
        });
        if notify.is_some() && kind.is_some_and(|k| k != JobEventKind::JobCreated) {
            errors.add("notify_user_ids", "only job_created takes notify_user_ids");
        }
        let data = match self.data {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                errors.add("data", "must be a JSON object");
                Map::new()
            }
        };
        errors.clone().into_result()?;
        match (id, kind, job_id, client) {
            (Some(id), Some(kind), Some(job_id), Some(client)) => Ok(JobEvent {
                id,
                kind,
                occurred_at: self.occurred_at,
                actor,
                job: JobSnapshot {
                    id: job_id,
                    client,
                    cleaner,
                    status,
                    title,
                    city,
                    scheduled_at: self.job.scheduled_at,
                },
                bid,
                notify,
                data,
            }),
            _ => Err(AppError::Validation(errors)),
        }
    }
}
