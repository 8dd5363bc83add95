//! Notifications, preferences and templates as JSON.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::notification::preferences::Channel;
use domain::notification::{Category, Notification, NotificationTemplate, Preferences};
use serde::Serialize;
use utoipa::ToSchema;

/// What a notification is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectDto {
    /// `job`, `room`, …
    pub kind: String,
    /// Its id.
    pub id: i64,
}

/// A notification (PROTOCOL §2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationDto {
    /// Id.
    pub id: i64,
    /// Position in the recipient's inbox.
    pub seq: i64,
    /// Recipient id.
    pub recipient: i64,
    /// Sender id, if a person caused it.
    pub sender: Option<i64>,
    /// Type.
    pub notification_type: String,
    /// Preference category of the type.
    pub category: String,
    /// Title.
    pub title: String,
    /// Text.
    pub message: String,
    /// `low`, `medium`, `high`, `urgent`.
    pub priority: String,
    /// Read.
    pub is_read: bool,
    /// Pushed to a live session.
    pub is_delivered: bool,
    /// Stored.
    pub created_at: DateTime<Utc>,
    /// Read at.
    pub read_at: Option<DateTime<Utc>>,
    /// First live delivery.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Leaves lists after this.
    pub expires_at: Option<DateTime<Utc>>,
    /// Where to go.
    pub action_url: Option<String>,
    /// Client data.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// What it is about.
    pub object: Option<ObjectDto>,
    /// Pushed without sound or banner (quiet hours).
    pub silent: bool,
}

impl NotificationDto {
    /// The stored notification.
    pub fn new(n: &Notification) -> Self {
        Self {
            id: n.id.get(),
            seq: n.seq.get(),
            recipient: n.recipient.get(),
            sender: n.sender.map(|s| s.get()),
            notification_type: n.kind.as_str().to_owned(),
            category: n.kind.category().as_str().to_owned(),
            title: n.title.clone(),
            message: n.message.clone(),
            priority: n.priority.as_str().to_owned(),
            is_read: n.read_at.is_some(),
            is_delivered: n.delivered_at.is_some(),
            created_at: n.created_at,
            read_at: n.read_at,
            delivered_at: n.delivered_at,
            expires_at: n.expires_at,
            action_url: n.action_url.as_ref().map(|u| u.as_str().to_owned()),
            metadata: n.metadata.clone(),
            object: n.object.as_ref().map(|o| ObjectDto {
                kind: o.kind.clone(),
                id: o.id,
            }),
            silent: n.silent,
        }
    }

    /// As pushed live: the push is the delivery (the original said `is_delivered: false` here).
    pub fn pushed(n: &Notification) -> Self {
        let mut dto = Self::new(n);
        dto.is_delivered = true;
        dto.delivered_at = n.delivered_at.or_else(|| Some(Utc::now()));
        dto
    }
}

/// A user's preferences (PROTOCOL §2, DESIGN §4).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreferencesDto {
    /// E-mail for job updates.
    pub email_job_updates: bool,
    /// E-mail for messages.
    pub email_messages: bool,
    /// E-mail for marketing.
    pub email_marketing: bool,
    /// Push for job updates.
    pub push_job_updates: bool,
    /// Push for messages.
    pub push_messages: bool,
    /// Push for reminders.
    pub push_reminders: bool,
    /// Live in-app pushes at all (urgent ones always go).
    pub inapp_all: bool,
    /// Quiet hours apply.
    pub quiet_hours_enabled: bool,
    /// `"HH:MM"` local.
    pub quiet_hours_start: Option<String>,
    /// `"HH:MM"` local.
    pub quiet_hours_end: Option<String>,
    /// IANA time zone of the quiet hours.
    pub timezone: String,
    /// Every category × channel: `{"messages": {"in_app": true, "email": false, "push": true}, …}`.
    #[schema(value_type = Object)]
    pub channels: BTreeMap<String, BTreeMap<String, bool>>,
}

impl From<&Preferences> for PreferencesDto {
    fn from(p: &Preferences) -> Self {
        let mut channels: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        for category in Category::ALL {
            for channel in Channel::ALL {
                channels
                    .entry(category.as_str().to_owned())
                    .or_default()
                    .insert(channel.as_str().to_owned(), p.allows(category, channel));
            }
        }
        Self {
            email_job_updates: p.allows(Category::JobUpdates, Channel::Email),
            email_messages: p.allows(Category::Messages, Channel::Email),
            email_marketing: p.allows(Category::Marketing, Channel::Email),
            push_job_updates: p.allows(Category::JobUpdates, Channel::Push),
            push_messages: p.allows(Category::Messages, Channel::Push),
            push_reminders: p.allows(Category::Reminders, Channel::Push),
            inapp_all: p.inapp_all,
            quiet_hours_enabled: p.quiet_hours_enabled,
            quiet_hours_start: p.quiet_hours.map(|q| q.start.format("%H:%M").to_string()),
            quiet_hours_end: p.quiet_hours.map(|q| q.end.format("%H:%M").to_string()),
            timezone: p.timezone.name().to_owned(),
            channels,
        }
    }
}

/// A notification template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateDto {
    /// Unique name.
    pub name: String,
    /// The type it renders.
    pub notification_type: String,
    /// Title source (minijinja).
    pub title_template: String,
    /// Message source (minijinja).
    pub message_template: String,
    /// Priority when the sender names none.
    pub default_priority: String,
    /// Used for its type.
    pub is_active: bool,
    /// Installed with the service (cannot be deleted).
    pub builtin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&NotificationTemplate> for TemplateDto {
    fn from(t: &NotificationTemplate) -> Self {
        Self {
            name: t.name.as_str().to_owned(),
            notification_type: t.kind.as_str().to_owned(),
            title_template: t.title_template.clone(),
            message_template: t.message_template.clone(),
            default_priority: t.default_priority.as_str().to_owned(),
            is_active: t.is_active,
            builtin: t.builtin,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}
