//! Notifications: the sequenced inbox, its categories and priorities, preferences and templates.

pub mod builtin;
pub mod kinds;
pub mod preferences;
pub mod template;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chat::Seq;
use crate::error::ValidationError;
use crate::user::UserId;

pub use kinds::{Category, NotificationType, Priority};
pub use preferences::{Channel, Decision, InApp, Preferences, QuietHours};
pub use template::{NewTemplate, NotificationTemplate, TemplateName};

/// A notification's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotificationId(i64);

impl NotificationId {
    /// Wraps a raw id; ids are positive.
    pub fn new(raw: i64) -> Result<Self, ValidationError> {
        if raw > 0 {
            Ok(Self(raw))
        } else {
            Err(ValidationError::new(
                "notification_id",
                "must be a positive integer",
            ))
        }
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for NotificationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a notification is about, e.g. `{kind: "job", id: 5}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// `job`, `room`, `message`, `bid`, `payment`, … (lower-case letters and `_`, ≤ 32).
    pub kind: String,
    /// Its id.
    pub id: i64,
}

impl ObjectRef {
    /// Validates a reference.
    pub fn new(kind: &str, id: i64) -> Result<Self, ValidationError> {
        if kind.is_empty()
            || kind.len() > 32
            || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(ValidationError::new(
                "object",
                "kind must be 1–32 lower-case letters or _",
            ));
        }
        if id <= 0 {
            return Err(ValidationError::new("object", "id must be positive"));
        }
        Ok(Self {
            kind: kind.to_owned(),
            id,
        })
    }
}

/// Where a client goes when the notification is opened: a path on the front end (`/jobs/5/`) or
/// an absolute `http(s)` URL, at most 500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionUrl(String);

impl ActionUrl {
    /// The longest URL.
    pub const MAX_CHARS: usize = 500;

    /// Validates a URL. `javascript:` and other schemes are refused, as are protocol-relative
    /// `//host` links (they would leave the site).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        let invalid = |why: &str| ValidationError::new("action_url", why.to_owned());
        if value.is_empty() {
            return Err(invalid("may not be blank"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(invalid("must be at most 500 characters"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("may not contain spaces or control characters"));
        }
        let lower = value.to_ascii_lowercase();
        let relative = value.starts_with('/') && !value.starts_with("//");
        let absolute = (lower.starts_with("https://") || lower.starts_with("http://"))
            && value
                .split("://")
                .nth(1)
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if relative || absolute {
            Ok(Self(value.to_owned()))
        } else {
            Err(invalid("must be a path starting with / or an http(s) URL"))
        }
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A notification's title: 1–255 characters.
pub fn parse_title(raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(ValidationError::new("title", "may not be blank"));
    }
    if value.chars().count() > 255 {
        return Err(ValidationError::new(
            "title",
            "must be at most 255 characters",
        ));
    }
    Ok(value.to_owned())
}

/// A notification's message: 1–5,000 characters.
pub fn parse_message(raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(ValidationError::new("message", "may not be blank"));
    }
    if value.chars().count() > 5000 {
        return Err(ValidationError::new(
            "message",
            "must be at most 5000 characters",
        ));
    }
    Ok(value.to_owned())
}

/// A dedupe key: 1–200 printable ASCII characters. One notification per recipient and key.
pub fn parse_dedupe_key(raw: &str) -> Result<String, ValidationError> {
    if raw.is_empty() || raw.len() > 200 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(
            "dedupe_key",
            "must be 1–200 printable ASCII characters",
        ));
    }
    Ok(raw.to_owned())
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Id.
    pub id: NotificationId,
    /// Whose inbox.
    pub recipient: UserId,
    /// Position in the recipient's inbox (increasing).
    pub seq: Seq,
    /// Who caused it (an admin, a chat sender), if a person did.
    pub sender: Option<UserId>,
    /// Type.
    pub kind: NotificationType,
    /// Title.
    pub title: String,
    /// Text.
    pub message: String,
    /// Priority.
    pub priority: Priority,
    /// What it is about.
    pub object: Option<ObjectRef>,
    /// Where to go.
    pub action_url: Option<ActionUrl>,
    /// Free-form data for clients (a JSON object).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Read by the recipient.
    pub read_at: Option<DateTime<Utc>>,
    /// Pushed to a live session of the recipient.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Stored.
    pub created_at: DateTime<Utc>,
    /// Leaves lists and counts after this.
    pub expires_at: Option<DateTime<Utc>>,
    /// Idempotency key.
    pub dedupe_key: Option<String>,
    /// Pushed without sound or banner (quiet hours).
    pub silent: bool,
}

impl Notification {
    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A notification to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Whose inbox.
    pub recipient: UserId,
    /// Who caused it.
    pub sender: Option<UserId>,
    /// Type.
    pub kind: NotificationType,
    /// Title.
    pub title: String,
    /// Text.
    pub message: String,
    /// Priority.
    pub priority: Priority,
    /// What it is about.
    pub object: Option<ObjectRef>,
    /// Where to go.
    pub action_url: Option<ActionUrl>,
    /// Client data.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Idempotency key.
    pub dedupe_key: Option<String>,
    /// Quiet hours: push without sound.
    pub silent: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_urls_are_paths_or_web_urls() {
        for ok in [
            "/jobs/5/",
            "/messages?room=3",
            "https://e-clean.example/jobs/5",
            "http://localhost:3000/x",
        ] {
            assert!(ActionUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "jobs/5",
            "javascript:alert(1)",
            "//evil.example/x",
            "ftp://x",
            "https://",
            "https:///x",
            "/a b",
            &format!("/{}", "x".repeat(500)),
        ] {
            assert!(ActionUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_refs_and_texts_are_checked() {
        assert!(ObjectRef::new("job", 5).is_ok());
        assert!(ObjectRef::new("Job", 5).is_err());
        assert!(ObjectRef::new("job", 0).is_err());
        assert!(parse_title("  ").is_err());
        assert!(parse_title(&"t".repeat(256)).is_err());
        assert!(parse_message(&"m".repeat(5001)).is_err());
        assert!(parse_dedupe_key("event:42").is_ok());
        assert!(parse_dedupe_key("has space").is_err());
    }
}
