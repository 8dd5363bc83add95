//! The job projection and the one transaction that applies a job event with all its effects.

use std::future::Future;

use chrono::{DateTime, Utc};
use domain::chat::{ClientMsgId, Message, Room, RoomName};
use domain::job::{Bid, EventId, Job, JobEventKind, JobId, JobState};
use domain::notification::{NewNotification, Notification};
use domain::user::UserId;

use crate::{PlannedDelivery, PortError};

/// An applied event, kept so that a repeated `event_id` is recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The platform's id.
    pub id: EventId,
    /// Its type.
    pub kind: JobEventKind,
    /// Its job.
    pub job: JobId,
    /// When it was applied here.
    pub applied_at: DateTime<Utc>,
    /// How many notifications it produced (fan-outs included).
    pub notifications: u64,
}

/// A notification stored with an event, and the external deliveries it calls for.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedNotification {
    /// The notification.
    pub notification: NewNotification,
    /// Its e-mail / push deliveries.
    pub deliveries: Vec<PlannedDelivery>,
}

/// A change to the job room of (`job`, `cleaner`), whose other member is the job's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedRoom {
    /// The room exists, holds the client and the cleaner, and is active.
    Open {
        /// The cleaner side.
        cleaner: UserId,
        /// Its name, if it has to be created.
        name: RoomName,
    },
    /// The room becomes read-only.
    ReadOnly {
        /// The cleaner side.
        cleaner: UserId,
    },
    /// The cleaner leaves the room, which becomes read-only.
    Remove {
        /// The cleaner side.
        cleaner: UserId,
    },
}

/// A `job_update` message written into the job room of (`job`, `cleaner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNote {
    /// The cleaner side of the room.
    pub cleaner: UserId,
    /// The text.
    pub text: String,
    /// Makes the write idempotent.
    pub key: ClientMsgId,
}

/// Everything one event changes, applied in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct JobChange {
    /// The event, recorded for idempotency.
    pub event: RecordedEvent,
    /// The job's version before the event; `None` when the event creates the job.
    pub expected_version: Option<i64>,
    /// The job after the event.
    pub job: Job,
    /// Every bid of the job after the event.
    pub bids: Vec<Bid>,
    /// Room changes, in order.
    pub rooms: Vec<PlannedRoom>,
    /// Notifications (and their deliveries).
    pub notifications: Vec<PlannedNotification>,
    /// System messages.
    pub notes: Vec<PlannedNote>,
}

/// What a room change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomOutcome {
    /// The room after the change.
    pub room: Room,
    /// Whether anything changed (created, state or members).
    pub changed: bool,
    /// Users who joined.
    pub added: Vec<UserId>,
    /// Users who left.
    pub removed: Vec<UserId>,
}

/// What an applied change stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedChange {
    /// One per planned room change.
    pub rooms: Vec<RoomOutcome>,
    /// One per planned notification (`false`: it existed already under its dedupe key).
    pub notifications: Vec<(Notification, bool)>,
    /// One per planned note.
    pub messages: Vec<Message>,
}

/// The job projection.
pub trait JobStore: Clone + Send + Sync + 'static {
    /// A job with its bids, if known.
    fn get(&self, id: JobId) -> impl Future<Output = Result<Option<JobState>, PortError>> + Send;

    /// An applied event, if recorded.
    fn event(
        &self,
        id: &EventId,
    ) -> impl Future<Output = Result<Option<RecordedEvent>, PortError>> + Send;

    /// Applies `change` — the event record, the job and its bids, room changes, notifications
    /// with their deliveries, system messages — in one transaction: all of it or nothing.
    ///
    /// Errors (nothing changed): `Conflict("event")` when the event id is recorded already;
    /// `Conflict("job_version")` when the job is not at `expected_version` (another event won:
    /// decide again); `Conflict("job_exists")` when creating a job that exists.
    fn apply(
        &self,
        change: JobChange,
    ) -> impl Future<Output = Result<AppliedChange, PortError>> + Send;

    /// Adds fanned-out notifications to an event's count.
    fn count_notifications(
        &self,
        id: &EventId,
        added: u64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Completed jobs whose rooms are still open and whose completion is at or before `before`.
    fn rooms_to_close(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<JobId>, PortError>> + Send;

    /// Records that a completed job's rooms were closed.
    fn rooms_closed(&self, id: JobId) -> impl Future<Output = Result<(), PortError>> + Send;
}
