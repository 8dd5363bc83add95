//! What sessions say and hear, as typed values. The gateway turns JSON into [`ClientRequest`]s
//! and [`ServerFrame`]s into JSON (through a [`FrameEncoder`]); nothing here knows JSON.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::chat::{MessageView, Room, RoomId, Seq};
use domain::job::Job;
use domain::notification::{Notification, NotificationId};
use domain::user::UserId;
use ports::UnreadCounts;

/// A request from a client, with the `ref` it carried (echoed in the reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFrame {
    /// The client's correlation id.
    pub reference: Option<String>,
    /// What it asks for.
    pub request: ClientRequest,
}

/// What a client can ask for (ids are raw: the session validates them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRequest {
    /// Follow a room's messages, replaying those after `since_seq`.
    SubscribeRoom {
        /// Room.
        room_id: i64,
        /// Replay messages after this one.
        since_seq: Option<i64>,
    },
    /// Stop following a room.
    UnsubscribeRoom {
        /// Room.
        room_id: i64,
    },
    /// Send a message.
    SendMessage {
        /// Room.
        room_id: i64,
        /// Text.
        content: String,
        /// `text`, `image`, `file`.
        message_type: Option<String>,
        /// Answered message.
        reply_to: Option<i64>,
        /// Idempotency key (required on the socket).
        client_msg_id: String,
        /// An upload of the sender's.
        attachment_id: Option<i64>,
    },
    /// Edit an own message.
    EditMessage {
        /// Message.
        message_id: i64,
        /// New text.
        content: String,
    },
    /// Delete a message.
    DeleteMessage {
        /// Message.
        message_id: i64,
    },
    /// Typing started or stopped.
    Typing {
        /// Room.
        room_id: i64,
        /// Started?
        is_typing: bool,
    },
    /// Read a room up to one of its messages.
    MarkMessageRead {
        /// Message.
        message_id: i64,
    },
    /// Move the read cursor.
    MarkRead {
        /// Room.
        room_id: i64,
        /// Read up to here.
        seq: i64,
    },
    /// Replay inbox entries after `since_seq`.
    SubscribeNotifications {
        /// Replay notifications after this inbox seq.
        since_seq: Option<i64>,
    },
    /// Mark one notification read.
    MarkNotificationRead {
        /// Notification.
        notification_id: i64,
    },
    /// Mark every notification read.
    MarkAllNotificationsRead,
    /// Ask for the unread counts.
    GetUnreadCount,
    /// The newest unread notifications (the compatibility socket's greeting).
    RecentNotifications {
        /// How many.
        limit: usize,
    },
    /// Replace the session's token before it expires.
    AuthRefresh {
        /// The new access token.
        token: String,
    },
    /// Liveness check.
    Ping,
}

/// A room as sessions see it in `room_updated`.
pub type RoomFrame = Room;

/// Everything a session can send.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerFrame {
    /// First frame of every session.
    ConnectionEstablished {
        /// The user.
        user_id: UserId,
        /// This session's id.
        session_id: String,
        /// Server clock.
        server_time: DateTime<Utc>,
        /// Ping interval.
        heartbeat_s: u64,
    },
    /// Unread counts.
    UnreadCount {
        /// Unread notifications.
        notifications: i64,
        /// Unread chat messages.
        chat: UnreadCounts,
    },
    /// A room subscription is live.
    Subscribed {
        /// Room.
        room_id: RoomId,
        /// The room's head when subscribed.
        last_seq: Seq,
        /// Echoed ref.
        reference: Option<String>,
    },
    /// A room subscription ended.
    Unsubscribed {
        /// Room.
        room_id: RoomId,
        /// Echoed ref.
        reference: Option<String>,
    },
    /// A send was stored.
    MessageAck {
        /// The client's key.
        client_msg_id: String,
        /// The stored message.
        message: MessageView,
        /// Echoed ref.
        reference: Option<String>,
    },
    /// A message in a subscribed room.
    NewMessage {
        /// The message.
        message: MessageView,
        /// Whether the reader sent it.
        own: bool,
    },
    /// An edited message.
    MessageUpdated {
        /// The message.
        message: MessageView,
        /// Whether the reader sent it.
        own: bool,
    },
    /// A deleted message (tombstone).
    MessageDeleted {
        /// The tombstone.
        message: MessageView,
        /// Whether the reader sent it.
        own: bool,
    },
    /// Someone is typing.
    Typing {
        /// Room.
        room_id: RoomId,
        /// Typer.
        user_id: UserId,
        /// Their username.
        username: String,
        /// Started?
        is_typing: bool,
    },
    /// Someone read up to `seq`.
    ReadReceipt {
        /// Room.
        room_id: RoomId,
        /// Reader.
        user_id: UserId,
        /// Their cursor.
        seq: Seq,
    },
    /// A co-member came online or went offline.
    Presence {
        /// The user.
        user_id: UserId,
        /// Their username.
        username: String,
        /// Online?
        online: bool,
        /// Last seen, when offline.
        last_seen: Option<DateTime<Utc>>,
    },
    /// A job the reader takes part in changed.
    JobUpdated {
        /// The job now.
        job: Job,
    },
    /// A room changed (settings, state, or the reader's access).
    RoomUpdated {
        /// The room now.
        room: RoomFrame,
        /// False when the reader just lost access.
        member: bool,
    },
    /// Answer to `ping`.
    Pong {
        /// Server clock.
        server_time: DateTime<Utc>,
        /// Echoed ref.
        reference: Option<String>,
    },
    /// The token was replaced.
    AuthRefreshed {
        /// New expiry.
        exp: DateTime<Utc>,
        /// Echoed ref.
        reference: Option<String>,
    },
    /// A notification for the reader.
    NewNotification {
        /// The notification.
        notification: Notification,
    },
    /// A notification was read (on any device).
    NotificationRead {
        /// Which.
        notification_id: NotificationId,
    },
    /// Every notification was read.
    AllNotificationsRead {
        /// How many changed.
        marked_count: u64,
    },
    /// The inbox replay is about to start.
    NotificationsSubscribed {
        /// The inbox head.
        last_seq: Seq,
        /// Echoed ref.
        reference: Option<String>,
    },
    /// The newest unread notifications.
    RecentNotifications {
        /// Newest first.
        notifications: Vec<Notification>,
    },
    /// A request failed; the connection stays open.
    Error {
        /// Machine code (the REST error codes).
        code: String,
        /// Human explanation.
        message: String,
        /// Echoed ref.
        reference: Option<String>,
        /// The room concerned.
        room_id: Option<i64>,
    },
}

/// How many wire dialects can share one delivery's frame cache.
pub const DIALECTS: usize = 3;

/// Turns frames into the wire format. The gateway implements it; a frame shared by many sessions
/// is encoded once per dialect and audience (see [`crate::realtime::hub::Delivery`]).
pub trait FrameEncoder: Send + Sync + 'static {
    /// Which dialect this encoder speaks (`0..DIALECTS`); encoders of one dialect must agree.
    fn dialect(&self) -> usize;

    /// The frame as one text message. An empty text means the dialect has no such frame: nothing
    /// is sent.
    fn encode(&self, frame: &ServerFrame) -> Arc<str>;
}

/// What a session writes to its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A text frame.
    Text(Arc<str>),
    /// Close with this code and reason.
    Close(u16, String),
}

/// WebSocket close codes of the protocol.
pub mod close {
    /// Unauthenticated, or the token expired without `auth_refresh`.
    pub const UNAUTHENTICATED: u16 = 4001;
    /// Forbidden.
    pub const FORBIDDEN: u16 = 4003;
    /// Policy: rate limit abuse or a consumer too slow to drain its queue.
    pub const POLICY: u16 = 4008;
    /// Too many sessions for this user.
    pub const TOO_MANY_SESSIONS: u16 = 4009;
    /// A frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server is restarting; reconnect elsewhere.
    pub const RESTARTING: u16 = 1012;
    /// Heartbeat lapsed.
    pub const GOING_AWAY: u16 = 1001;
}
