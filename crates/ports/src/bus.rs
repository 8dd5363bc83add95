//! The event bus: how a change made on one instance reaches the live sessions of every instance.
//!
//! It is a notification path only: PostgreSQL (or the memory store) already holds every change
//! when it is published, and sessions close any gap from there. An event lost in transit makes a
//! delivery late, never lost.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::chat::{MessageView, Room, RoomId, Seq};
use domain::job::Job;
use domain::notification::{Notification, NotificationId};
use domain::user::UserId;
use serde::{Deserialize, Serialize};

use crate::PortError;

/// Where an event is published. Sessions follow the rooms their user belongs to and their user's
/// own topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Topic {
    /// Everything that happens in a room.
    Room(RoomId),
    /// Everything addressed to one user (their unread counts, membership changes, inbox).
    User(UserId),
}

impl Topic {
    /// A stable name, used as the Redis channel suffix: `room:12`, `user:7`.
    pub fn channel(&self) -> String {
        match self {
            Topic::Room(id) => format!("room:{id}"),
            Topic::User(id) => format!("user:{id}"),
        }
    }
}

/// Something that happened, for live sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BusEvent {
    /// A message was stored (published to its room).
    MessageCreated {
        /// The message with its sender and reply.
        view: MessageView,
    },
    /// A message was edited (published to its room).
    MessageUpdated {
        /// The message as it is now.
        view: MessageView,
    },
    /// A message was deleted (published to its room).
    MessageDeleted {
        /// The tombstone.
        view: MessageView,
    },
    /// A user's read cursor moved (published to the room, for receipts, and to the user, for
    /// their unread counts).
    ReadReceipt {
        /// Room.
        room_id: RoomId,
        /// Reader.
        user_id: UserId,
        /// New cursor.
        seq: Seq,
        /// The reader's unread messages left in this room.
        unread: i64,
    },
    /// Someone started or stopped typing (published to the room).
    Typing {
        /// Room.
        room_id: RoomId,
        /// Typer.
        user_id: UserId,
        /// Their username.
        username: String,
        /// Started (true) or stopped.
        is_typing: bool,
    },
    /// A user came online or went offline (published to each of their rooms).
    Presence {
        /// Room the notice is for.
        room_id: RoomId,
        /// The user.
        user_id: UserId,
        /// Their username (the compatibility socket shows names).
        username: String,
        /// Online now?
        online: bool,
        /// When last seen, when going offline.
        last_seen: Option<DateTime<Utc>>,
    },
    /// A notification was stored and is to be pushed live (published to its recipient).
    NotificationCreated {
        /// The notification.
        notification: Notification,
    },
    /// A collapsed notification was updated in place (published to its recipient); its unread
    /// count did not change.
    NotificationUpdated {
        /// The notification now.
        notification: Notification,
    },
    /// One notification was read (published to its recipient).
    NotificationRead {
        /// The recipient.
        user_id: UserId,
        /// The notification.
        notification_id: NotificationId,
        /// Unread notifications left.
        unread: i64,
    },
    /// Every notification was read (published to the recipient).
    AllNotificationsRead {
        /// The recipient.
        user_id: UserId,
        /// How many changed.
        marked_count: u64,
        /// Unread notifications left (0 unless new ones arrived meanwhile).
        unread: i64,
    },
    /// The inbox changed without a push (a muted notification stored, one deleted).
    InboxCount {
        /// The recipient.
        user_id: UserId,
        /// Unread notifications now.
        unread: i64,
    },
    /// Reconciliation found a room's stored head beyond what this instance saw go by: sessions
    /// fetch the gap from storage. Dispatched locally by the reconciler, never published.
    RoomHead {
        /// The room.
        room_id: RoomId,
        /// Its stored head.
        head: Seq,
    },
    /// As [`BusEvent::RoomHead`], for a user's notification inbox.
    InboxHead {
        /// The user.
        user_id: UserId,
        /// Their inbox head.
        head: Seq,
    },
    /// A job changed (published to each participant's user topic).
    JobUpdated {
        /// The job after the event.
        job: Job,
    },
    /// A room's settings or members changed (published to the room and to added/removed users).
    RoomChanged {
        /// The room as it is now.
        room: Room,
        /// Users who joined.
        added: Vec<UserId>,
        /// Users who left or were removed.
        removed: Vec<UserId>,
    },
}

/// Receives the events of followed topics. Called on the bus's own task; must not block.
pub type EventSink = Arc<dyn Fn(Topic, Arc<BusEvent>) + Send + Sync + 'static>;

/// Called when the bus may have lost events (it reconnected, or fell behind): the application
/// reconciles live sessions from storage. Called on the bus's own task; must not block.
pub type ResyncHook = Arc<dyn Fn() + Send + Sync + 'static>;

/// Publishes events and delivers those of followed topics to this instance's sink.
pub trait EventBus: Clone + Send + Sync + 'static {
    /// Sets where received events go. Called once, before any `follow`.
    fn attach(&self, sink: EventSink);

    /// Sets what to call when events may have been lost in transit. A bus that cannot lose
    /// events (the process-local one) never calls it.
    fn on_resync(&self, hook: ResyncHook);

    /// Publishes `event` to every instance following `topic`, this one included.
    /// Errors: `Unavailable` when the bus is down; the change is stored anyway and sessions catch
    /// up by reconciliation.
    fn publish(
        &self,
        topic: Topic,
        event: BusEvent,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Starts receiving `topic` on this instance. Idempotent; the hub calls it on the first local
    /// follower.
    fn follow(&self, topic: Topic) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Stops receiving `topic`. Idempotent; the hub calls it when the last local follower leaves.
    fn unfollow(&self, topic: Topic) -> impl Future<Output = Result<(), PortError>> + Send;
}
