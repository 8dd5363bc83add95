//! Messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chat::ids::{AttachmentId, MessageId, RoomId, Seq};
use crate::error::ValidationError;
use crate::user::UserId;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Plain text.
    Text,
    /// An image (with an attachment or a URL in its content).
    Image,
    /// A file.
    File,
    /// Written by the server (job events, membership changes). Never from clients.
    System,
    /// A job status change, written by the server. Never from clients.
    JobUpdate,
}

impl MessageKind {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::File => "file",
            MessageKind::System => "system",
            MessageKind::JobUpdate => "job_update",
        }
    }

    /// Parses the wire spelling of any kind (stored data).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "text" => Ok(MessageKind::Text),
            "image" => Ok(MessageKind::Image),
            "file" => Ok(MessageKind::File),
            "system" => Ok(MessageKind::System),
            "job_update" => Ok(MessageKind::JobUpdate),
            other => Err(ValidationError::new(
                "message_type",
                format!("unknown message type {other:?}"),
            )),
        }
    }

    /// Parses a kind a client may send: `text`, `image` or `file`.
    pub fn parse_from_client(raw: &str) -> Result<Self, ValidationError> {
        match Self::parse(raw) {
            Ok(kind @ (MessageKind::Text | MessageKind::Image | MessageKind::File)) => Ok(kind),
            Ok(_) => Err(ValidationError::new(
                "message_type",
                "clients may send text, image or file messages only",
            )),
            Err(_) => Err(ValidationError::new(
                "message_type",
                format!("unknown message type {raw:?}; expected text, image or file"),
            )),
        }
    }
}

/// A message's text: not blank, at most the configured number of characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    /// Validates `raw` against `max_chars`. Surrounding whitespace is kept (it may be meaningful
    /// in code snippets) but a body of whitespace only is blank.
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, ValidationError> {
        if raw.trim().is_empty() {
            return Err(ValidationError::new("content", "may not be blank"));
        }
        let length = raw.chars().count();
        if length > max_chars {
            return Err(ValidationError::new(
                "content",
                format!("is {length} characters long; the limit is {max_chars}"),
            ));
        }
        if raw
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(ValidationError::new(
                "content",
                "may not contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A caption next to an attachment: may be empty, otherwise as [`MessageBody::parse`].
    pub fn caption(raw: &str, max_chars: usize) -> Result<Self, ValidationError> {
        if raw.trim().is_empty() {
            Ok(Self(String::new()))
        } else {
            Self::parse(raw, max_chars)
        }
    }

    /// Text written by the server (never blank, never limited).
    pub fn system(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `chars` characters, for previews and replies.
    pub fn preview(&self, chars: usize) -> String {
        self.0.chars().take(chars).collect()
    }
}

/// A client's idempotency key for a send: 1–64 characters of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    /// The longest key.
    pub const MAX_CHARS: usize = 64;

    /// Validates a key.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() || raw.len() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "client_msg_id",
                format!("must be 1 to {} characters", Self::MAX_CHARS),
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        {
            return Err(ValidationError::new(
                "client_msg_id",
                "may contain only letters, digits and . _ : -",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Global id.
    pub id: MessageId,
    /// Room.
    pub room_id: RoomId,
    /// Position in the room, gap-free from 1.
    pub seq: Seq,
    /// Author; none for system messages.
    pub sender: Option<UserId>,
    /// Kind.
    pub kind: MessageKind,
    /// Text; empty once deleted.
    pub content: String,
    /// An uploaded file shown with the message.
    pub attachment: Option<AttachmentId>,
    /// The message this one answers (same room).
    pub reply_to: Option<MessageId>,
    /// The sender's idempotency key.
    pub client_msg_id: Option<ClientMsgId>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it was last edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was deleted (the row stays as a tombstone so sequences have no holes).
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Message {
    /// True once deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A message to append to a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Room.
    pub room_id: RoomId,
    /// Author; none for system messages.
    pub sender: Option<UserId>,
    /// Kind.
    pub kind: MessageKind,
    /// Text.
    pub content: MessageBody,
    /// Uploaded file (already checked to belong to the sender).
    pub attachment: Option<AttachmentId>,
    /// Answered message (already checked to be in the same room).
    pub reply_to: Option<MessageId>,
    /// Idempotency key.
    pub client_msg_id: Option<ClientMsgId>,
}
