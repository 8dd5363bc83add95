//! Notification use cases: storing into inboxes (through templates and preferences), live
//! delivery, external deliveries, the REST inbox, preferences, templates and admin broadcasts.
//!
//! Every notification is stored (a muted one too: the inbox is a record; preferences govern
//! interruptions), then published for live sessions, then queued for e-mail and push — in that
//! order, so a crash after the store loses at most an interruption, never the notification.

mod broadcast;
mod inbox;
mod produce;
mod render;
mod templates;
mod user_preferences;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::notification::{ActionUrl, NotificationType, ObjectRef, Priority, TemplateName};
use domain::user::{Role, User, UserId};
use ports::{BusEvent, EventBus, TemplateError, Topic};
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::ports::{Adapters, Ports};

/// Limits of the notification service.
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// Page size when none is asked for.
    pub default_page: usize,
    /// Largest page.
    pub max_page: usize,
    /// Recipients stored per transaction in a broadcast.
    pub bulk_batch: usize,
}

/// What a producer (an admin, the job-event service, chat) asks to send.
#[derive(Debug, Clone)]
pub struct Notify {
    /// Whose inbox.
    pub recipient: UserId,
    /// Type.
    pub kind: NotificationType,
    /// Who caused it.
    pub sender: Option<UserId>,
    /// A named template instead of the type's active one.
    pub template: Option<TemplateName>,
    /// Template variables.
    pub context: Map<String, Value>,
    /// An explicit title (no template).
    pub title: Option<String>,
    /// An explicit message (no template).
    pub message: Option<String>,
    /// Priority; the template's default when absent.
    pub priority: Option<Priority>,
    /// What it is about.
    pub object: Option<ObjectRef>,
    /// Where to go.
    pub action_url: Option<ActionUrl>,
    /// Client data.
    pub metadata: Map<String, Value>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Idempotency key.
    pub dedupe_key: Option<String>,
}

impl Notify {
    /// A notification of `kind` for `recipient` rendered from templates with `context`.
    pub fn new(recipient: UserId, kind: NotificationType, context: Map<String, Value>) -> Self {
        Self {
            recipient,
            kind,
            sender: None,
            template: None,
            context,
            title: None,
            message: None,
            priority: None,
            object: None,
            action_url: None,
            metadata: Map::new(),
            expires_at: None,
            dedupe_key: None,
        }
    }
}

/// An admin's request, as the API received it.
#[derive(Debug, Clone, Default)]
pub struct SendInput {
    /// `notification_type`.
    pub notification_type: String,
    /// Explicit title.
    pub title: Option<String>,
    /// Explicit message.
    pub message: Option<String>,
    /// Template name.
    pub template: Option<String>,
    /// Template variables (a JSON object).
    pub context: Option<Value>,
    /// Priority.
    pub priority: Option<String>,
    /// Link.
    pub action_url: Option<String>,
    /// Client data (a JSON object).
    pub metadata: Option<Value>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Dedupe key.
    pub dedupe_key: Option<String>,
}

/// Who a broadcast goes to.
#[derive(Debug, Clone)]
pub enum Audience {
    /// These users.
    Users(Vec<i64>),
    /// Every active user with this role (`None`: everyone).
    Role(Option<Role>),
}

/// A broadcast's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastProgress {
    /// Its id.
    pub id: String,
    /// Recipients targeted.
    pub total: u64,
    /// Notifications stored so far.
    pub stored: u64,
    /// Recipients skipped (unknown or inactive ids).
    pub skipped: u64,
    /// Finished.
    pub done: bool,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// A title and message, and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Title.
    pub title: String,
    /// Message.
    pub message: String,
    /// The template's default priority.
    pub priority: Priority,
    /// `template:<name>`, `builtin:<name>` or `plain`.
    pub source: String,
}

/// Changes to preferences; `None` leaves a field alone (or resets it, for a replacement).
#[derive(Debug, Clone, Default)]
pub struct PreferencesInput {
    /// The original's switches, by name.
    pub switches: BTreeMap<String, bool>,
    /// `inapp_all`.
    pub inapp_all: Option<bool>,
    /// `quiet_hours_enabled`.
    pub quiet_hours_enabled: Option<bool>,
    /// `"HH:MM"`, or `Some(None)` to clear.
    pub quiet_hours_start: Option<Option<String>>,
    /// `"HH:MM"`, or `Some(None)` to clear.
    pub quiet_hours_end: Option<Option<String>>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// `{category: {channel: bool}}`.
    pub channels: BTreeMap<String, BTreeMap<String, bool>>,
}

/// A template as an admin wrote it.
#[derive(Debug, Clone, Default)]
pub struct TemplateInput {
    /// Name (creation only).
    pub name: Option<String>,
    /// Type.
    pub notification_type: Option<String>,
    /// Title source.
    pub title_template: Option<String>,
    /// Message source.
    pub message_template: Option<String>,
    /// Default priority.
    pub default_priority: Option<String>,
    /// Active?
    pub is_active: Option<bool>,
}

/// The notification service.
pub struct NotificationService<P: Ports> {
    adapters: Adapters<P>,
    settings: NotificationSettings,
    broadcasts: Arc<Mutex<HashMap<String, BroadcastProgress>>>,
}

impl<P: Ports> Clone for NotificationService<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
            settings: self.settings.clone(),
            broadcasts: self.broadcasts.clone(),
        }
    }
}

impl<P: Ports> std::fmt::Debug for NotificationService<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn admin_only(actor: &User) -> Result<(), AppError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("admin_only", "only admins may do this"))
    }
}

fn object_of(value: Option<Value>, field: &'static str) -> Result<Map<String, Value>, AppError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(AppError::invalid(field, "must be a JSON object")),
    }
}

fn template_error(field: &'static str, error: &TemplateError) -> AppError {
    AppError::invalid(field, format!("template error: {error}"))
}

impl<P: Ports> NotificationService<P> {
    /// A service over these adapters.
    pub fn new(adapters: Adapters<P>, settings: NotificationSettings) -> Self {
        Self {
            adapters,
            settings,
            broadcasts: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    async fn publish(&self, topic: Topic, event: BusEvent) {
        if let Err(error) = self.adapters.bus.publish(topic, event).await {
            tracing::warn!(%error, "publishing a notification event failed; sessions catch up from the inbox");
        }
    }

    fn page(&self, limit: Option<usize>) -> Result<usize, AppError> {
        match limit {
            None => Ok(self.settings.default_page),
            Some(0) => Err(AppError::invalid("limit", "must be at least 1")),
            Some(n) if n > self.settings.max_page => Err(AppError::invalid(
                "limit",
                format!("must be at most {}", self.settings.max_page),
            )),
            Some(n) => Ok(n),
        }
    }
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}
