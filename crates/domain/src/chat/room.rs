//! Rooms and their participants.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chat::ids::{RoomId, Seq};
use crate::error::ValidationError;
use crate::user::UserId;

/// What a room is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// One per job and cleaner: the client with a bidder, then with the assigned cleaner.
    Job,
    /// Exactly two users; one room per pair.
    Direct,
    /// A named room, public or private, managed by its owner.
    General,
    /// A user with the support staff.
    Support,
}

impl RoomKind {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Job => "job",
            RoomKind::Direct => "direct",
            RoomKind::General => "general",
            RoomKind::Support => "support",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "job" => Ok(RoomKind::Job),
            "direct" => Ok(RoomKind::Direct),
            "general" => Ok(RoomKind::General),
            "support" => Ok(RoomKind::Support),
            other => Err(ValidationError::new(
                "room_type",
                format!("unknown room type {other:?}; expected job, direct, general or support"),
            )),
        }
    }
}

/// Who may join a general room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Anyone signed in may join (and then read and write).
    Public,
    /// Only members the owner (or an admin) adds.
    Private,
}

impl Visibility {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "public" => Ok(Visibility::Public),
            "private" => Ok(Visibility::Private),
            other => Err(ValidationError::new(
                "visibility",
                format!("unknown visibility {other:?}; expected public or private"),
            )),
        }
    }
}

/// Whether a room takes new messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomState {
    /// Open for messages.
    Active,
    /// Readable, but nobody may post (a losing bidder's room, a finished job).
    ReadOnly,
    /// Closed by its owner or an admin: readable, not writable, hidden from default lists.
    Archived,
}

impl RoomState {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomState::Active => "active",
            RoomState::ReadOnly => "read_only",
            RoomState::Archived => "archived",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "active" => Ok(RoomState::Active),
            "read_only" => Ok(RoomState::ReadOnly),
            "archived" => Ok(RoomState::Archived),
            other => Err(ValidationError::new(
                "state",
                format!("unknown state {other:?}; expected active, read_only or archived"),
            )),
        }
    }
}

/// A room's display name: 1–255 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomName(String);

impl RoomName {
    /// The longest name.
    pub const MAX_CHARS: usize = 255;

    /// Validates a name (surrounding whitespace removed).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ValidationError::new("name", "may not be blank"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "name",
                "may not contain control characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which job room: one per job and cleaner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobRoomKey {
    /// The platform's job id.
    pub job_id: i64,
    /// The cleaner (bidder, later the assigned cleaner) on the other side of the client.
    pub cleaner: UserId,
}

/// A room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// Id.
    pub id: RoomId,
    /// What it is for.
    pub kind: RoomKind,
    /// Display name.
    pub name: RoomName,
    /// Who may join (meaningful for general rooms; others are private).
    pub visibility: Visibility,
    /// Open, read-only or archived.
    pub state: RoomState,
    /// For job rooms: the job and the cleaner.
    pub job: Option<JobRoomKey>,
    /// Who created it (none for rooms the platform's events created).
    pub created_by: Option<UserId>,
    /// The last message's sequence number (0 when empty).
    pub head_seq: Seq,
    /// The first characters of the last message.
    pub last_message_preview: Option<String>,
    /// When the last message was sent.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Room {
    /// When the room last saw activity: its last message, or its creation.
    pub fn last_activity(&self) -> DateTime<Utc> {
        self.last_message_at.unwrap_or(self.created_at)
    }
}

/// A room to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    /// Kind.
    pub kind: RoomKind,
    /// Name.
    pub name: RoomName,
    /// Visibility.
    pub visibility: Visibility,
    /// Job key, for job rooms.
    pub job: Option<JobRoomKey>,
    /// Creator.
    pub created_by: Option<UserId>,
}

/// A member's standing in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    /// Manages members and settings.
    Owner,
    /// Reads and writes.
    Member,
}

impl ParticipantRole {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Owner => "owner",
            ParticipantRole::Member => "member",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "owner" => Ok(ParticipantRole::Owner),
            "member" => Ok(ParticipantRole::Member),
            other => Err(ValidationError::new(
                "role",
                format!("unknown participant role {other:?}"),
            )),
        }
    }
}

/// A user's membership of a room, with their read cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The room.
    pub room_id: RoomId,
    /// The user.
    pub user_id: UserId,
    /// Owner or member.
    pub role: ParticipantRole,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
    /// Every message up to this sequence number counts as read.
    pub last_read_seq: Seq,
    /// Notifications for this room are muted until then.
    pub muted_until: Option<DateTime<Utc>>,
}
