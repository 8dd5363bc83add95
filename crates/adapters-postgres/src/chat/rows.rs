//! Rows of the chat tables and their conversion to domain values.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ValidationError;
use domain::chat::{
    AttachmentId, ClientMsgId, JobRoomKey, Message, MessageId, MessageKind, Participant,
    ParticipantRole, Room, RoomId, RoomKind, RoomName, RoomState, Seq, Visibility,
};
use domain::user::UserId;
use ports::PortError;

use crate::schema::{chat_messages, chat_participants, chat_rooms};

fn corrupt(what: &'static str, id: i64) -> impl Fn(ValidationError) -> PortError {
    move |e| PortError::unexpected(format!("stored {what} {id} is invalid: {e}"))
}

/// A row of `chat_rooms`.
#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = chat_rooms, check_for_backend(diesel::pg::Pg))]
pub(crate) struct RoomRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub visibility: String,
    pub state: String,
    pub job_id: Option<i64>,
    pub job_cleaner_id: Option<i64>,
    pub created_by: Option<i64>,
    pub head_seq: i64,
    pub last_message_preview: Option<String>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl RoomRow {
    pub(crate) fn into_room(self) -> Result<Room, PortError> {
        let bad = corrupt("room", self.id);
        let job = match (self.job_id, self.job_cleaner_id) {
            (Some(job_id), Some(cleaner)) => Some(JobRoomKey {
                job_id,
                cleaner: UserId::new(cleaner).map_err(&bad)?,
            }),
            _ => None,
        };
        Ok(Room {
            id: RoomId::new(self.id).map_err(&bad)?,
            kind: RoomKind::parse(&self.kind).map_err(&bad)?,
            name: RoomName::parse(&self.name).map_err(&bad)?,
            visibility: Visibility::parse(&self.visibility).map_err(&bad)?,
            state: RoomState::parse(&self.state).map_err(&bad)?,
            job,
            created_by: self.created_by.map(UserId::new).transpose().map_err(&bad)?,
            head_seq: Seq::new(self.head_seq).map_err(&bad)?,
            last_message_preview: self.last_message_preview,
            last_message_at: self.last_message_at,
            created_at: self.created_at,
        })
    }
}

/// A row of `chat_participants`.
#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = chat_participants, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ParticipantRow {
    pub room_id: i64,
    pub user_id: i64,
    pub role: String,
    pub joined_at: DateTime<Utc>,
    pub last_read_seq: i64,
    pub muted_until: Option<DateTime<Utc>>,
}

impl ParticipantRow {
    pub(crate) fn into_participant(self) -> Result<Participant, PortError> {
        let bad = corrupt("participant of room", self.room_id);
        Ok(Participant {
            room_id: RoomId::new(self.room_id).map_err(&bad)?,
            user_id: UserId::new(self.user_id).map_err(&bad)?,
            role: ParticipantRole::parse(&self.role).map_err(&bad)?,
            joined_at: self.joined_at,
            last_read_seq: Seq::new(self.last_read_seq).map_err(&bad)?,
            muted_until: self.muted_until,
        })
    }
}

/// A row of `chat_messages`.
#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = chat_messages, check_for_backend(diesel::pg::Pg))]
pub(crate) struct MessageRow {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub sender_id: Option<i64>,
    pub kind: String,
    pub content: String,
    pub attachment_id: Option<i64>,
    pub reply_to_id: Option<i64>,
    pub client_msg_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl MessageRow {
    pub(crate) fn into_message(self) -> Result<Message, PortError> {
        let bad = corrupt("message", self.id);
        Ok(Message {
            id: MessageId::new(self.id).map_err(&bad)?,
            room_id: RoomId::new(self.room_id).map_err(&bad)?,
            seq: Seq::new(self.seq).map_err(&bad)?,
            sender: self.sender_id.map(UserId::new).transpose().map_err(&bad)?,
            kind: MessageKind::parse(&self.kind).map_err(&bad)?,
            content: self.content,
            attachment: self
                .attachment_id
                .map(AttachmentId::new)
                .transpose()
                .map_err(&bad)?,
            reply_to: self
                .reply_to_id
                .map(MessageId::new)
                .transpose()
                .map_err(&bad)?,
            client_msg_id: self
                .client_msg_id
                .as_deref()
                .map(ClientMsgId::parse)
                .transpose()
                .map_err(&bad)?,
            created_at: self.created_at,
            edited_at: self.edited_at,
            deleted_at: self.deleted_at,
        })
    }
}

/// Converts every row, failing on the first corrupt one.
pub(crate) fn rooms(rows: Vec<RoomRow>) -> Result<Vec<Room>, PortError> {
    rows.into_iter().map(RoomRow::into_room).collect()
}

/// Converts every row.
pub(crate) fn messages(rows: Vec<MessageRow>) -> Result<Vec<Message>, PortError> {
    rows.into_iter().map(MessageRow::into_message).collect()
}

/// Converts every row.
pub(crate) fn participants(rows: Vec<ParticipantRow>) -> Result<Vec<Participant>, PortError> {
    rows.into_iter()
        .map(ParticipantRow::into_participant)
        .collect()
}
