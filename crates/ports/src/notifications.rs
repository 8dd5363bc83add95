//! The notification inbox, preferences, templates, and the durable queue of external deliveries.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use domain::chat::Seq;
use domain::notification::preferences::Channel;
use domain::notification::{
    NewNotification, NewTemplate, Notification, NotificationId, NotificationTemplate,
    NotificationType, Preferences, TemplateName,
};
use domain::user::UserId;
use serde::{Deserialize, Serialize};

use crate::PortError;

/// Which notifications of an inbox to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxFilter {
    /// Only unread ones.
    pub unread_only: bool,
    /// Only this type.
    pub kind: Option<NotificationType>,
}

/// Each user's inbox. Expired notifications (`expires_at <= now`) are left out of every list and
/// count.
pub trait NotificationRepository: Clone + Send + Sync + 'static {
    /// Stores a notification with the recipient's next inbox `seq`. When the recipient already
    /// has one with the same `dedupe_key`, that one is returned (`false`) and nothing changes —
    /// also under concurrent calls.
    fn create(
        &self,
        notification: NewNotification,
    ) -> impl Future<Output = Result<(Notification, bool), PortError>> + Send;

    /// Stores many notifications, for **distinct** recipients, in one transaction; deduplicated
    /// like [`NotificationRepository::create`]. Returns one entry per input, in order.
    fn create_many(
        &self,
        notifications: Vec<NewNotification>,
    ) -> impl Future<Output = Result<Vec<(Notification, bool)>, PortError>> + Send;

    /// One of the recipient's notifications. Errors: `NotFound` (also for someone else's).
    fn get(
        &self,
        recipient: UserId,
        id: NotificationId,
    ) -> impl Future<Output = Result<Notification, PortError>> + Send;

    /// The recipient's notifications, newest first, before `before` (an inbox seq), at most `limit`.
    fn list(
        &self,
        recipient: UserId,
        filter: InboxFilter,
        before: Option<Seq>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Notification>, PortError>> + Send;

    /// The recipient's notifications after `after`, oldest first (a session's replay).
    fn after(
        &self,
        recipient: UserId,
        after: Seq,
        limit: usize,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Notification>, PortError>> + Send;

    /// Unread, unexpired notifications of the recipient.
    fn unread_count(
        &self,
        recipient: UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<i64, PortError>> + Send;

    /// Marks one read (sets `read_at`). Returns whether it changed. Errors: `NotFound`.
    fn mark_read(
        &self,
        recipient: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Marks every unread notification read in one statement and returns exactly how many changed.
    fn mark_all_read(
        &self,
        recipient: UserId,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, PortError>> + Send;

    /// Records the first live delivery. Returns true only for the call that recorded it.
    fn mark_delivered(
        &self,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Deletes one. Errors: `NotFound`.
    fn delete(
        &self,
        recipient: UserId,
        id: NotificationId,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// The recipient's latest inbox seq (0 when empty).
    fn head_seq(&self, recipient: UserId) -> impl Future<Output = Result<Seq, PortError>> + Send;

    /// The inbox heads of these users (those with an empty inbox are skipped), for
    /// reconciliation.
    fn inbox_heads(
        &self,
        users: &[UserId],
    ) -> impl Future<Output = Result<Vec<(UserId, Seq)>, PortError>> + Send;

    /// Stores `notification` collapsed under `key`: when the recipient has an unread
    /// notification with this key it is updated in place — title, message, priority, metadata,
    /// `silent`, expiry, and a fresh inbox seq and `created_at`, so replays carry the update — and
    /// `false` is returned; otherwise a new one is stored (`true`). At most one unread
    /// notification per recipient and key exists, also under concurrency.
    fn upsert_collapsed(
        &self,
        notification: NewNotification,
        key: &str,
    ) -> impl Future<Output = Result<(Notification, bool), PortError>> + Send;
}

/// Preferences per user; a user without stored preferences has the defaults.
pub trait PreferenceRepository: Clone + Send + Sync + 'static {
    /// The user's preferences.
    fn get(&self, user: UserId) -> impl Future<Output = Result<Preferences, PortError>> + Send;

    /// The preferences of several users at once (a broadcast batch), in the order asked; the
    /// defaults for those who never changed theirs.
    fn get_many(
        &self,
        users: &[UserId],
    ) -> impl Future<Output = Result<Vec<Preferences>, PortError>> + Send;

    /// Replaces the user's preferences.
    fn put(
        &self,
        user: UserId,
        preferences: &Preferences,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Notification templates (the built-in ones are installed by migration or at start).
pub trait TemplateRepository: Clone + Send + Sync + 'static {
    /// Every template, by name.
    fn list(&self) -> impl Future<Output = Result<Vec<NotificationTemplate>, PortError>> + Send;

    /// One template. Errors: `NotFound`.
    fn get(
        &self,
        name: &TemplateName,
    ) -> impl Future<Output = Result<NotificationTemplate, PortError>> + Send;

    /// The template used for a type: the active one named after the type, else the most recently
    /// changed active one of that type.
    fn active_for(
        &self,
        kind: NotificationType,
    ) -> impl Future<Output = Result<Option<NotificationTemplate>, PortError>> + Send;

    /// Creates a template. Errors: `Conflict("name")`.
    fn create(
        &self,
        template: NewTemplate,
    ) -> impl Future<Output = Result<NotificationTemplate, PortError>> + Send;

    /// Replaces a template's contents (its name stays). Errors: `NotFound`.
    fn update(
        &self,
        name: &TemplateName,
        template: NewTemplate,
    ) -> impl Future<Output = Result<NotificationTemplate, PortError>> + Send;

    /// Deletes a template. Errors: `NotFound`; `Conflict("builtin")` for a built-in one.
    fn delete(&self, name: &TemplateName) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Where in a template source an error is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", .line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct TemplateError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// A template engine.
pub trait TemplateEngine: Clone + Send + Sync + 'static {
    /// Checks a source's syntax.
    fn check(&self, source: &str) -> Result<(), TemplateError>;

    /// Renders `source` with `context` (a JSON object). Undefined variables are errors.
    fn render(&self, source: &str, context: &serde_json::Value) -> Result<String, TemplateError>;
}

/// A notification to hand to an external channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// The notification.
    pub notification: NotificationId,
    /// Its recipient.
    pub recipient: UserId,
    /// E-mail or push.
    pub channel: Channel,
    /// What to send (rendered at enqueue time, so a retry sends the same thing).
    pub payload: DeliveryPayload,
    /// Not before this (quiet hours).
    pub not_before: DateTime<Utc>,
}

/// The content of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPayload {
    /// E-mail address, for e-mail.
    pub email: Option<String>,
    /// The notification as the platform's webhook receives it (a JSON object).
    pub notification: serde_json::Value,
    /// Subject / title.
    pub title: String,
    /// Body.
    pub message: String,
    /// Link, if any.
    pub action_url: Option<String>,
}

/// An external delivery decided before its notification is stored (the id comes later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelivery {
    /// E-mail or push.
    pub channel: Channel,
    /// Not before this.
    pub not_before: DateTime<Utc>,
    /// The recipient's address, for e-mail.
    pub email: Option<String>,
}

impl PlannedDelivery {
    /// The queue entry for the stored notification.
    pub fn for_notification(&self, n: &Notification) -> NewDelivery {
        NewDelivery {
            notification: n.id,
            recipient: n.recipient,
            channel: self.channel,
            payload: DeliveryPayload::of(n, self.email.clone()),
            not_before: self.not_before,
        }
    }
}

impl DeliveryPayload {
    /// What e-mail and the push webhook receive for `n` (`email`: the recipient's address).
    pub fn of(n: &Notification, email: Option<String>) -> Self {
        let notification = serde_json::json!({
            "id": n.id.get(),
            "seq": n.seq.get(),
            "recipient": n.recipient.get(),
            "sender": n.sender.map(UserId::get),
            "notification_type": n.kind.as_str(),
            "category": n.kind.category().as_str(),
            "title": n.title,
            "message": n.message,
            "priority": n.priority.as_str(),
            "action_url": n.action_url.as_ref().map(|u| u.as_str()),
            "object": n.object.as_ref().map(|o| serde_json::json!({"kind": o.kind, "id": o.id})),
            "metadata": n.metadata,
            "created_at": n.created_at,
        });
        Self {
            email,
            notification,
            title: n.title.clone(),
            message: n.message.clone(),
            action_url: n.action_url.as_ref().map(|u| u.as_str().to_owned()),
        }
    }
}

/// A claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryJob {
    /// Stable id; sent to receivers so they can drop a duplicate.
    pub id: i64,
    /// The notification.
    pub notification: NotificationId,
    /// Its recipient.
    pub recipient: UserId,
    /// E-mail or push.
    pub channel: Channel,
    /// What to send.
    pub payload: DeliveryPayload,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting (or between attempts).
    Pending,
    /// Sent.
    Delivered,
    /// Given up on.
    Failed,
}

/// A delivery's record, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Id.
    pub id: i64,
    /// Channel.
    pub channel: Channel,
    /// State.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// When it was sent.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Not attempted before this (quiet hours, backoff).
    pub not_before: DateTime<Utc>,
}

/// The durable queue of external deliveries: survives restarts; a claimed job is leased, so two
/// workers (or instances) never hold it at once, and a worker that died loses its lease.
pub trait DeliveryQueue: Clone + Send + Sync + 'static {
    /// Adds jobs. One job per (notification, channel): adding it again changes nothing.
    fn enqueue(&self, jobs: Vec<NewDelivery>)
    -> impl Future<Output = Result<(), PortError>> + Send;

    /// Takes up to `limit` due, unleased pending jobs, leasing them for `lease` and counting the
    /// attempt.
    fn claim(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<DeliveryJob>, PortError>> + Send;

    /// Records success: the job is never sent again.
    fn complete(
        &self,
        id: i64,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Records a failed attempt and when to try again.
    fn retry(
        &self,
        id: i64,
        error: &str,
        not_before: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Gives up on a job.
    fn fail(&self, id: i64, error: &str) -> impl Future<Output = Result<(), PortError>> + Send;

    /// The deliveries of a notification.
    fn of_notification(
        &self,
        notification: NotificationId,
    ) -> impl Future<Output = Result<Vec<DeliveryRecord>, PortError>> + Send;
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Accepted by the receiver.
    Delivered,
    /// Failed in a way worth retrying (network, 5xx, 4xx temporary SMTP codes).
    Retry(String),
    /// Failed for good (bad address, 4xx from the webhook, channel not configured).
    Permanent(String),
}

/// Sends deliveries out (SMTP for e-mail, the platform's webhook for push).
pub trait ExternalChannel: Clone + Send + Sync + 'static {
    /// Whether deliveries on `channel` can be made; none are queued for the others.
    fn available(&self, channel: Channel) -> bool;

    /// One attempt.
    fn deliver(&self, job: &DeliveryJob) -> impl Future<Output = DeliveryOutcome> + Send;
}
