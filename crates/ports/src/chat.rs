//! Storage of rooms, participants and messages.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use domain::chat::{
    Message, MessageBody, MessageId, NewMessage, NewRoom, Participant, ParticipantRole, Room,
    RoomId, RoomKind, RoomName, RoomState, Seq, Visibility,
};
use domain::user::UserId;

use crate::PortError;

/// Which of a user's rooms to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomFilter {
    /// Only this kind.
    pub kind: Option<RoomKind>,
    /// Only the rooms of this job.
    pub job_id: Option<i64>,
    /// Include archived rooms (hidden by default).
    pub include_archived: bool,
}

/// Where a page of rooms starts: after this (activity, id) in "most recent first" order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomCursor {
    /// Last activity of the last room of the previous page.
    pub last_activity: DateTime<Utc>,
    /// Its id (ties).
    pub id: RoomId,
}

/// Which slice of a room's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCursor {
    /// The latest messages.
    Latest,
    /// Messages just before this sequence number.
    Before(Seq),
    /// Messages just after this sequence number.
    After(Seq),
}

/// A slice of history, ascending by `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The messages, ascending.
    pub messages: Vec<Message>,
    /// Whether more exist in the direction of the cursor.
    pub has_more: bool,
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The stored message (the original one for a retried `client_msg_id`).
    pub message: Message,
    /// False when a message with this `client_msg_id` already existed.
    pub created: bool,
}

/// Changes to a room's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomPatch {
    /// New name.
    pub name: Option<RoomName>,
    /// New visibility.
    pub visibility: Option<Visibility>,
    /// New state.
    pub state: Option<RoomState>,
}

/// A user's unread messages: the total and every room with at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnreadCounts {
    /// Sum over rooms.
    pub total: i64,
    /// Rooms with unread messages.
    pub rooms: BTreeMap<RoomId, i64>,
}

/// One of a user's rooms with their read cursor, for a session's starting state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The room.
    pub room: Room,
    /// The user's cursor.
    pub last_read_seq: Seq,
    /// Unread messages for the user.
    pub unread: i64,
}

/// Rooms, participants and messages. Sequence numbers are allocated in the same transaction that
/// stores the message: gap-free and ordered under concurrent senders.
pub trait ChatRepository: Clone + Send + Sync + 'static {
    /// Creates a room with these members.
    ///
    /// Errors: `Conflict("room_name")` for a public general room whose name (case-insensitive) is
    /// taken; `Conflict("job_room")` when the job room for this job and cleaner exists.
    fn create_room(
        &self,
        room: NewRoom,
        members: Vec<(UserId, ParticipantRole)>,
    ) -> impl Future<Output = Result<Room, PortError>> + Send;

    /// The direct room of `a` and `b`, created if it does not exist; `true` when created. Two
    /// concurrent calls for one pair (in either order) yield one room.
    fn get_or_create_direct(
        &self,
        a: UserId,
        b: UserId,
        name: RoomName,
    ) -> impl Future<Output = Result<(Room, bool), PortError>> + Send;

    /// The job room of `room.job`, created with `members` if it does not exist; `true` when
    /// created. Race-free like [`ChatRepository::get_or_create_direct`].
    fn get_or_create_job_room(
        &self,
        room: NewRoom,
        members: Vec<(UserId, ParticipantRole)>,
    ) -> impl Future<Output = Result<(Room, bool), PortError>> + Send;

    /// The public general room with this name (case-insensitive), created with `creator` as owner
    /// if there is none; `true` when created. Race-free.
    fn get_or_create_public_room(
        &self,
        name: RoomName,
        creator: UserId,
    ) -> impl Future<Output = Result<(Room, bool), PortError>> + Send;

    /// A room. Errors: `NotFound`.
    fn get_room(&self, id: RoomId) -> impl Future<Output = Result<Room, PortError>> + Send;

    /// The rooms of a job. Empty when none.
    fn rooms_of_job(
        &self,
        job_id: i64,
    ) -> impl Future<Output = Result<Vec<Room>, PortError>> + Send;

    /// The user's rooms matching `filter`, most recent activity first, at most `limit`, after
    /// `cursor`.
    fn list_rooms(
        &self,
        user: UserId,
        filter: RoomFilter,
        cursor: Option<RoomCursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Room>, PortError>> + Send;

    /// Every room the user belongs to (archived included) with their cursor and unread count.
    fn memberships(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<Membership>, PortError>> + Send;

    /// Changes a room's settings. Errors: `NotFound`; `Conflict("room_name")` as for creation.
    fn update_room(
        &self,
        id: RoomId,
        patch: RoomPatch,
    ) -> impl Future<Output = Result<Room, PortError>> + Send;

    /// The user's membership of the room, if any.
    fn participant(
        &self,
        room: RoomId,
        user: UserId,
    ) -> impl Future<Output = Result<Option<Participant>, PortError>> + Send;

    /// The room with the user's membership of it, in one lookup; `None` when the user is not a
    /// member (or there is no such room). What every send and most reads check first.
    fn member_room(
        &self,
        room: RoomId,
        user: UserId,
    ) -> impl Future<Output = Result<Option<(Room, Participant)>, PortError>> + Send;

    /// The members of these rooms, ordered by room then join time.
    fn participants(
        &self,
        rooms: &[RoomId],
    ) -> impl Future<Output = Result<Vec<Participant>, PortError>> + Send;

    /// Adds a member. Errors: `NotFound` (room); `Conflict("participant")` when already a member.
    fn add_participant(
        &self,
        room: RoomId,
        user: UserId,
        role: ParticipantRole,
    ) -> impl Future<Output = Result<Participant, PortError>> + Send;

    /// Removes a member. Errors: `NotFound` when not a member.
    fn remove_participant(
        &self,
        room: RoomId,
        user: UserId,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Appends a message with the room's next `seq`, updates the room's preview, and moves the
    /// sender's read cursor to it — all in one transaction. A message whose `(room, sender,
    /// client_msg_id)` already exists is returned instead (`created: false`), also under
    /// concurrent retries, and nothing changes.
    ///
    /// Errors: `NotFound` (room); `Conflict("room_state")` when the room is not active — except
    /// for system messages (no sender), which the server writes into rooms of any state.
    fn append_message(
        &self,
        message: NewMessage,
    ) -> impl Future<Output = Result<Appended, PortError>> + Send;

    /// A message. Errors: `NotFound`.
    fn get_message(&self, id: MessageId)
    -> impl Future<Output = Result<Message, PortError>> + Send;

    /// These messages (missing ids are skipped), in any order.
    fn messages_by_id(
        &self,
        ids: &[MessageId],
    ) -> impl Future<Output = Result<Vec<Message>, PortError>> + Send;

    /// A slice of a room's history, ascending, at most `limit` messages.
    fn history(
        &self,
        room: RoomId,
        cursor: HistoryCursor,
        limit: usize,
    ) -> impl Future<Output = Result<HistoryPage, PortError>> + Send;

    /// Replaces a message's content and sets `edited_at`. Errors: `NotFound`.
    fn edit_message(
        &self,
        id: MessageId,
        content: MessageBody,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Message, PortError>> + Send;

    /// Turns a message into a tombstone (empty content, `deleted_at` set). Errors: `NotFound`.
    fn delete_message(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Message, PortError>> + Send;

    /// Moves the user's cursor to `seq` (forward only, never past the head) and returns the new
    /// cursor. Errors: `NotFound` when the user is not a member.
    fn mark_read(
        &self,
        room: RoomId,
        user: UserId,
        seq: Seq,
    ) -> impl Future<Output = Result<Seq, PortError>> + Send;

    /// The user's unread messages over all their rooms (archived ones included).
    fn unread_counts(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<UnreadCounts, PortError>> + Send;

    /// The rooms with a message showing this attachment.
    fn rooms_with_attachment(
        &self,
        id: domain::chat::AttachmentId,
    ) -> impl Future<Output = Result<Vec<RoomId>, PortError>> + Send;

    /// The head `seq` of each of these rooms (missing rooms are skipped), for reconciliation.
    fn room_heads(
        &self,
        rooms: &[RoomId],
    ) -> impl Future<Output = Result<Vec<(RoomId, Seq)>, PortError>> + Send;

    /// The user's unread messages in one room (0 when not a member).
    fn unread_in(
        &self,
        room: RoomId,
        user: UserId,
    ) -> impl Future<Output = Result<i64, PortError>> + Send;
}
