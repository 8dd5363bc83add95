//! Notification templates: named title and message templates per type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::notification::kinds::{NotificationType, Priority};

/// A template's name: 1–100 of `[a-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateName(String);

impl TemplateName {
    /// Validates a name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty()
            || raw.len() > 100
            || !raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
        {
            return Err(ValidationError::new(
                "name",
                "must be 1–100 of a-z, 0-9, _ . -",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Bounds a template's source.
pub fn check_source(
    field: &'static str,
    raw: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    if raw.trim().is_empty() {
        return Err(ValidationError::new(field, "may not be blank"));
    }
    if raw.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(raw.to_owned())
}

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationTemplate {
    /// Unique name.
    pub name: TemplateName,
    /// The type it renders.
    pub kind: NotificationType,
    /// Title source.
    pub title_template: String,
    /// Message source.
    pub message_template: String,
    /// Priority when the sender names none.
    pub default_priority: Priority,
    /// Inactive templates are not used for their type (the built-in text is).
    pub is_active: bool,
    /// Installed with the service; cannot be deleted, only edited.
    pub builtin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A template to create or the new contents of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemplate {
    /// Name.
    pub name: TemplateName,
    /// Type.
    pub kind: NotificationType,
    /// Title source (syntax-checked).
    pub title_template: String,
    /// Message source (syntax-checked).
    pub message_template: String,
    /// Default priority.
    pub default_priority: Priority,
    /// Active?
    pub is_active: bool,
}
