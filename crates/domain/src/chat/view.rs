//! A message as readers see it: with its sender's name and the message it answers.

use serde::{Deserialize, Serialize};

use crate::chat::attachment::Attachment;
use crate::chat::ids::{MessageId, Seq};
use crate::chat::message::Message;
use crate::user::{Role, User, UserId};

/// Enough about a user to show next to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// "First Last" or the username.
    pub display_name: String,
    /// Role.
    pub role: Role,
}

impl From<&User> for UserSummary {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            username: user.username.as_str().to_owned(),
            display_name: user.display_name(),
            role: user.role,
        }
    }
}

/// The answered message, shortened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyPreview {
    /// Its id.
    pub id: MessageId,
    /// Its position.
    pub seq: Seq,
    /// Its first 100 characters (empty if deleted).
    pub content: String,
    /// Its sender.
    pub sender: Option<UserSummary>,
}

impl ReplyPreview {
    /// Characters of the answered message shown in a reply.
    pub const PREVIEW_CHARS: usize = 100;

    /// The preview of `message` by `sender`.
    pub fn of(message: &Message, sender: Option<UserSummary>) -> Self {
        let content = if message.is_deleted() {
            String::new()
        } else {
            message.content.chars().take(Self::PREVIEW_CHARS).collect()
        };
        Self {
            id: message.id,
            seq: message.seq,
            content,
            sender,
        }
    }
}

/// A message with what a reader needs to display it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The message.
    pub message: Message,
    /// Its sender, if a person sent it.
    pub sender: Option<UserSummary>,
    /// The message it answers.
    pub reply: Option<ReplyPreview>,
    /// The file shown with it.
    pub attachment: Option<Attachment>,
}

impl MessageView {
    /// True when `reader` wrote it.
    pub fn is_own(&self, reader: UserId) -> bool {
        self.message.sender == Some(reader)
    }
}
