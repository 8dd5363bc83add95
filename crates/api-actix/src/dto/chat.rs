//! Rooms, participants and messages as JSON.

use chrono::{DateTime, Utc};
use domain::chat::{MessageView, Participant, ReplyPreview, Room, UserSummary};
use serde::Serialize;
use utoipa::ToSchema;

/// A message's author.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SenderDto {
    /// User id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// "First Last" or the username.
    pub display_name: String,
    /// `client`, `cleaner` or `admin`.
    pub role: String,
}

impl From<&UserSummary> for SenderDto {
    fn from(user: &UserSummary) -> Self {
        Self {
            id: user.id.get(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role.as_str().to_owned(),
        }
    }
}

/// The answered message, shortened to 100 characters.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyDto {
    /// Its id.
    pub id: i64,
    /// Its position in the room.
    pub seq: i64,
    /// Its first 100 characters (empty when deleted).
    pub content: String,
    /// Its author.
    pub sender: Option<SenderDto>,
}

impl From<&ReplyPreview> for ReplyDto {
    fn from(reply: &ReplyPreview) -> Self {
        Self {
            id: reply.id.get(),
            seq: reply.seq.get(),
            content: reply.content.clone(),
            sender: reply.sender.as_ref().map(SenderDto::from),
        }
    }
}

/// A message (PROTOCOL §2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageDto {
    /// Global id.
    pub id: i64,
    /// Room id.
    pub room: i64,
    /// Position in the room, gap-free from 1.
    pub seq: i64,
    /// Author; `null` for system messages.
    pub sender: Option<SenderDto>,
    /// `text`, `image`, `file`, `system`, `job_update`.
    pub message_type: String,
    /// Text; empty once deleted.
    pub content: String,
    /// The file shown with the message.
    pub attachment: Option<crate::handlers::chat::AttachmentDto>,
    /// The answered message.
    pub reply_to: Option<ReplyDto>,
    /// The sender's idempotency key.
    pub client_msg_id: Option<String>,
    /// When stored.
    pub timestamp: DateTime<Utc>,
    /// When last edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted (a tombstone).
    pub deleted: bool,
    /// Whether the reader wrote it.
    pub is_own_message: bool,
}

impl MessageDto {
    /// The message as `reader_is_author` sees it.
    pub fn new(view: &MessageView, is_own: bool) -> Self {
        let m = &view.message;
        Self {
            id: m.id.get(),
            room: m.room_id.get(),
            seq: m.seq.get(),
            sender: view.sender.as_ref().map(SenderDto::from),
            message_type: m.kind.as_str().to_owned(),
            content: m.content.clone(),
            attachment: view
                .attachment
                .as_ref()
                .map(crate::handlers::chat::AttachmentDto::from),
            reply_to: view.reply.as_ref().map(ReplyDto::from),
            client_msg_id: m.client_msg_id.as_ref().map(|k| k.as_str().to_owned()),
            timestamp: m.created_at,
            edited_at: m.edited_at,
            deleted: m.is_deleted(),
            is_own_message: is_own,
        }
    }
}

/// A member of a room.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantDto {
    /// The member.
    pub user: SenderDto,
    /// `owner` or `member`.
    pub role: String,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
    /// Their read cursor.
    pub last_read_seq: i64,
}

impl ParticipantDto {
    /// A member with their name.
    pub fn new(participant: &Participant, user: &UserSummary) -> Self {
        Self {
            user: SenderDto::from(user),
            role: participant.role.as_str().to_owned(),
            joined_at: participant.joined_at,
            last_read_seq: participant.last_read_seq.get(),
        }
    }
}

/// A room.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomDto {
    /// Id.
    pub id: i64,
    /// `job`, `direct`, `general`, `support`.
    pub room_type: String,
    /// Display name.
    pub name: String,
    /// `public` or `private`.
    pub visibility: String,
    /// `active`, `read_only`, `archived`.
    pub state: String,
    /// For job rooms: the job.
    pub job_id: Option<i64>,
    /// For job rooms: the cleaner.
    pub bidder_id: Option<i64>,
    /// Who created it.
    pub created_by: Option<i64>,
    /// The last message's `seq` (0 when empty).
    pub last_seq: i64,
    /// Start of the last message.
    pub last_message_preview: Option<String>,
    /// Last message time, or creation time.
    pub last_activity: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// The caller's unread messages (lists and details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<i64>,
    /// The last message (lists and details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message: Option<MessageDto>,
    /// The members (lists and details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<ParticipantDto>>,
}

impl RoomDto {
    /// The room alone.
    pub fn bare(room: &Room) -> Self {
        Self {
            id: room.id.get(),
            room_type: room.kind.as_str().to_owned(),
            name: room.name.as_str().to_owned(),
            visibility: room.visibility.as_str().to_owned(),
            state: room.state.as_str().to_owned(),
            job_id: room.job.map(|j| j.job_id),
            bidder_id: room.job.map(|j| j.cleaner.get()),
            created_by: room.created_by.map(|u| u.get()),
            last_seq: room.head_seq.get(),
            last_message_preview: room.last_message_preview.clone(),
            last_activity: room.last_activity(),
            created_at: room.created_at,
            unread_count: None,
            last_message: None,
            participants: None,
        }
    }

    /// The room with the caller's view of it.
    pub fn detailed(details: &app::RoomDetails, reader: domain::user::UserId) -> Self {
        let mut dto = Self::bare(&details.room);
        dto.unread_count = Some(details.unread);
        dto.last_message = details
            .last_message
            .as_ref()
            .map(|m| MessageDto::new(m, m.is_own(reader)));
        dto.participants = Some(
            details
                .participants
                .iter()
                .map(|(p, u)| ParticipantDto::new(p, u))
                .collect(),
        );
        dto
    }
}
