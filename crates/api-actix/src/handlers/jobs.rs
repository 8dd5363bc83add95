//! Job lifecycle events from the platform, and the job read model (PROTOCOL §4).

use actix_web::{HttpResponse, web};
use app::{BidInput, EventInput, JobInput, Ports, Services};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::dto::{BidDto, JobDto};
use crate::error::{ApiError, ErrorBody};

/// The `job` object of an event: the job as the platform sees it after the event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSnapshotRequest {
    /// The platform's job id.
    pub id: i64,
    /// The client.
    pub client_id: i64,
    /// The assigned cleaner, if any (checked against the projection).
    pub cleaner_id: Option<i64>,
    /// The status after the event, if sent (checked against the state machine's result).
    pub status: Option<String>,
    /// Title (≤ 200 characters).
    pub title: Option<String>,
    /// City (≤ 200 characters).
    pub city: Option<String>,
    /// Scheduled time (RFC 3339).
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// The `bid` object of a bid event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidSnapshotRequest {
    /// The bidder.
    pub cleaner_id: i64,
    /// The bid's status after the event, if sent.
    pub status: Option<String>,
}

/// An event from the platform.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobEventRequest {
    /// Idempotency key (≤ 200 characters, no spaces): the same id is applied once.
    pub event_id: String,
    /// `job_created`, `bid_placed`, `bid_accepted`, `job_confirmed`, `job_ready`, `job_started`,
    /// `job_finished`, `job_completed`, `completion_rejected`, `job_cancelled`,
    /// `payment_received`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened on the platform.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Who did it (not notified of their own cancellation).
    pub actor_id: Option<i64>,
    /// The job.
    pub job: JobSnapshotRequest,
    /// The bid (bid events).
    pub bid: Option<BidSnapshotRequest>,
    /// For `job_created`: the cleaners to tell; every active cleaner when absent.
    pub notify_user_ids: Option<Vec<i64>>,
    /// Extras: `reason`, `amount`, `client_name`, `cleaner_name`, or anything else.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

impl JobEventRequest {
    fn input(self) -> EventInput {
        EventInput {
            event_id: self.event_id,
            kind: self.kind,
            occurred_at: self.occurred_at,
            actor_id: self.actor_id,
            job: JobInput {
                id: self.job.id,
                client_id: self.job.client_id,
                cleaner_id: self.job.cleaner_id,
                status: self.job.status,
                title: self.job.title,
                city: self.job.city,
                scheduled_at: self.job.scheduled_at,
            },
            bid: self.bid.map(|b| BidInput {
                cleaner_id: b.cleaner_id,
                status: b.status,
            }),
            notify_user_ids: self.notify_user_ids,
            data: self.data,
        }
    }
}

/// What posting an event did.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobEventResponse {
    /// False when this `event_id` had been applied before: nothing changed.
    pub applied: bool,
    /// The event id.
    pub event_id: String,
    /// Notifications the event produced (a `job_created` fan-out: those it is producing).
    pub notifications: u64,
    /// The job now.
    pub job: JobDto,
}

/// Applies a job event: 202 when applied (every effect stored at once, then announced), 200
/// `applied: false` for a repeated `event_id`, 409 for a transition the state machine forbids
/// (nothing changes).
#[utoipa::path(post, path = "/api/jobs/events/", tag = "jobs", security(("bearer" = [])), request_body = JobEventRequest,
    responses(
        (status = 202, description = "Applied", body = JobEventResponse),
        (status = 200, description = "Already applied; nothing changed", body = JobEventResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Neither a service token nor an admin", body = ErrorBody),
        (status = 409, description = "invalid_transition, unknown_job, job_exists, snapshot_mismatch, bid_exists, no_cleaner, event_id_reused", body = ErrorBody)))]
pub async fn post_event<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    body: web::Json<JobEventRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let event_id = body.event_id.clone();
    let outcome = services
        .jobs
        .report(&caller.principal, body.input())
        .await?;
    let response = JobEventResponse {
        applied: outcome.applied,
        event_id,
        notifications: outcome.notifications,
        job: JobDto::from(&outcome.job),
    };
    Ok(if outcome.applied {
        HttpResponse::Accepted().json(response)
    } else {
        HttpResponse::Ok().json(response)
    })
}

/// One of the caller's job rooms.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobRoomDto {
    /// Room id (`/api/chat/rooms/{id}/`).
    pub id: i64,
    /// The cleaner side of the room.
    pub cleaner_id: Option<i64>,
    /// `active`, `read_only` or `archived`.
    pub state: String,
}

/// A job with its bids and the caller's rooms.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetailDto {
    /// The job.
    #[serde(flatten)]
    pub job: JobDto,
    /// Bids: all of them for the client and admins, a cleaner's own otherwise.
    pub bids: Vec<BidDto>,
    /// The job's rooms the caller belongs to.
    pub rooms: Vec<JobRoomDto>,
}

/// A job, for its client, its cleaner, bidders still in play, admins and the platform; 404 for
/// anyone else.
#[utoipa::path(get, path = "/api/jobs/{id}/", tag = "jobs", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = JobDetailDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_job<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<JobDetailDto>, ApiError> {
    let view = services
        .jobs
        .job(&caller.principal, id.into_inner())
        .await?;
    Ok(web::Json(JobDetailDto {
        job: JobDto::from(&view.state.job),
        bids: view.state.bids.iter().map(BidDto::from).collect(),
        rooms: view
            .rooms
            .iter()
            .map(|r| JobRoomDto {
                id: r.id.get(),
                cleaner_id: r.job.map(|k| k.cleaner.get()),
                state: r.state.as_str().to_owned(),
            })
            .collect(),
    }))
}
