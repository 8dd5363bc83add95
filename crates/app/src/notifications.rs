//! Notification use cases: storing into inboxes (through templates and preferences), live
//! delivery, external deliveries, the REST inbox, preferences, templates and admin broadcasts.
//!
//! Every notification is stored (a muted one too: the inbox is a record; preferences govern
//! interruptions), then published for live sessions, then queued for e-mail and push — in that
//! order, so a crash after the store loses at most an interruption, never the notification.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveTime, Utc};
use domain::chat::Seq;
use domain::notification::builtin::{BUILTINS, builtin, plain_text};
use domain::notification::preferences::{self, Channel, InApp, QuietHours, parse_timezone};
use domain::notification::template::check_source;
use domain::notification::{
    ActionUrl, Category, NewNotification, NewTemplate, Notification, NotificationId,
    NotificationTemplate, NotificationType, ObjectRef, Preferences, Priority, TemplateName,
    parse_dedupe_key, parse_message, parse_title,
};
use domain::user::{Role, User, UserId};
use ports::{
    BusEvent, DeliveryPayload, DeliveryQueue, EventBus, ExternalChannel, InboxFilter, NewDelivery,
    NotificationRepository, PortError, PreferenceRepository, TemplateEngine, TemplateError,
    TemplateRepository, Topic, UserRepository,
};
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

    // ----- producing -----

    /// Stores a notification for one recipient and delivers it as their preferences say.
    /// A repeated `dedupe_key` returns the stored one (`false`) and sends nothing again.
    pub async fn notify(&self, request: Notify) -> Result<(Notification, bool), AppError> {
        let recipient = match self.adapters.users.get(request.recipient).await {
            Ok(user) => user,
            Err(PortError::NotFound) => {
                return Err(AppError::invalid("recipient_id", "no such user"));
            }
            Err(e) => return Err(AppError::from_port("user")(e)),
        };
        let preferences = self
            .adapters
            .preferences
            .get(recipient.id)
            .await
            .map_err(AppError::from_port("preferences"))?;
        let now = Utc::now();
        let (new, decision) = self
            .prepare(&request, &recipient, &preferences, now)
            .await?;
        let (stored, created) = self
            .adapters
            .notifications
            .create(new)
            .await
            .map_err(AppError::from_port("notification"))?;
        if created {
            self.after_store(&stored, &recipient, decision).await;
        }
        Ok((stored, created))
    }

    /// Renders and decides, without storing.
    async fn prepare(
        &self,
        request: &Notify,
        recipient: &User,
        preferences: &Preferences,
        now: DateTime<Utc>,
    ) -> Result<(NewNotification, preferences::Decision), AppError> {
        let mut context = request.context.clone();
        context
            .entry("recipient_name")
            .or_insert_with(|| Value::String(recipient.display_name()));
        context
            .entry("recipient_username")
            .or_insert_with(|| Value::String(recipient.username.as_str().to_owned()));
        let rendered = match (&request.title, &request.message) {
            (Some(title), Some(message)) => Rendered {
                title: parse_title(title)?,
                message: parse_message(message)?,
                priority: builtin(request.kind).priority,
                source: "explicit".to_owned(),
            },
            (title, message) => {
                let mut rendered = self
                    .render(request.kind, request.template.as_ref(), &context)
                    .await?;
                if let Some(title) = title {
                    rendered.title = parse_title(title)?;
                }
                if let Some(message) = message {
                    rendered.message = parse_message(message)?;
                }
                rendered
            }
        };
        let priority = request.priority.unwrap_or(rendered.priority);
        let decision = preferences::decide(preferences, request.kind, priority, now);
        let new = NewNotification {
            recipient: recipient.id,
            sender: request.sender,
            kind: request.kind,
            title: truncate(&rendered.title, 255),
            message: truncate(&rendered.message, 5000),
            priority,
            object: request.object.clone(),
            action_url: request.action_url.clone(),
            metadata: request.metadata.clone(),
            expires_at: request.expires_at,
            dedupe_key: request.dedupe_key.clone(),
            silent: decision.in_app == InApp::Silent,
        };
        Ok((new, decision))
    }

    /// Live push (or a count update for a muted one) and the external deliveries.
    async fn after_store(
        &self,
        stored: &Notification,
        recipient: &User,
        decision: preferences::Decision,
    ) {
        match decision.in_app {
            InApp::Push | InApp::Silent => {
                self.publish(
                    Topic::User(recipient.id),
                    BusEvent::NotificationCreated {
                        notification: stored.clone(),
                    },
                )
                .await;
            }
            InApp::StoredOnly => {
                if let Ok(unread) = self
                    .adapters
                    .notifications
                    .unread_count(recipient.id, Utc::now())
                    .await
                {
                    self.publish(
                        Topic::User(recipient.id),
                        BusEvent::InboxCount {
                            user_id: recipient.id,
                            unread,
                        },
                    )
                    .await;
                }
            }
        }
        let jobs = self.deliveries_for(stored, recipient, decision);
        if !jobs.is_empty()
            && let Err(error) = self.adapters.deliveries.enqueue(jobs).await
        {
            tracing::error!(%error, notification = %stored.id, "queueing external deliveries failed");
        }
    }

    fn deliveries_for(
        &self,
        stored: &Notification,
        recipient: &User,
        decision: preferences::Decision,
    ) -> Vec<NewDelivery> {
        let mut jobs = Vec::new();
        let payload = DeliveryPayload {
            email: recipient.email.as_ref().map(|e| e.as_str().to_owned()),
            notification: notification_payload(stored),
            title: stored.title.clone(),
            message: stored.message.clone(),
            action_url: stored.action_url.as_ref().map(|u| u.as_str().to_owned()),
        };
        let channels = [
            (Channel::Email, decision.email),
            (Channel::Push, decision.push),
        ];
        for (channel, when) in channels {
            let Some(not_before) = when else { continue };
            if !self.adapters.channels.available(channel) {
                continue;
            }
            if channel == Channel::Email && recipient.email.is_none() {
                continue;
            }
            jobs.push(NewDelivery {
                notification: stored.id,
                recipient: recipient.id,
                channel,
                payload: payload.clone(),
                not_before,
            });
        }
        jobs
    }

    /// Renders a type with a named template, or the type's active template, falling back to the
    /// built-in text (and, if even that fails, plain text) — never dropping the notification.
    pub async fn render(
        &self,
        kind: NotificationType,
        named: Option<&TemplateName>,
        context: &Map<String, Value>,
    ) -> Result<Rendered, AppError> {
        let template = match named {
            Some(name) => match self.adapters.templates.get(name).await {
                Ok(t) => Some(t),
                Err(PortError::NotFound) => {
                    return Err(AppError::invalid("template", "no such template"));
                }
                Err(e) => return Err(AppError::from_port("template")(e)),
            },
            None => self
                .adapters
                .templates
                .active_for(kind)
                .await
                .map_err(AppError::from_port("template"))?,
        };
        let ctx = Value::Object(context.clone());
        if let Some(template) = &template {
            let title = self.adapters.engine.render(&template.title_template, &ctx);
            let message = self
                .adapters
                .engine
                .render(&template.message_template, &ctx);
            match (title, message) {
                (Ok(title), Ok(message))
                    if !title.trim().is_empty() && !message.trim().is_empty() =>
                {
                    return Ok(Rendered {
                        title,
                        message,
                        priority: template.default_priority,
                        source: format!("template:{}", template.name.as_str()),
                    });
                }
                (title, message) => {
                    let why = title
                        .err()
                        .or(message.err())
                        .map_or_else(|| "rendered empty".to_owned(), |e| e.to_string());
                    tracing::warn!(template = template.name.as_str(), kind = kind.as_str(), error = %why, "template failed to render; using the built-in text");
                }
            }
        }
        let base = builtin(kind);
        // The built-in text never fails on a missing variable: each documented one defaults to "".
        let mut filled = context.clone();
        for variable in base.variables {
            filled
                .entry(*variable)
                .or_insert_with(|| Value::String(String::new()));
        }
        let filled = Value::Object(filled);
        match (
            self.adapters.engine.render(base.title, &filled),
            self.adapters.engine.render(base.message, &filled),
        ) {
            (Ok(title), Ok(message)) if !title.trim().is_empty() && !message.trim().is_empty() => {
                Ok(Rendered {
                    title,
                    message,
                    priority: template.map_or(base.priority, |t| t.default_priority),
                    source: format!("builtin:{}", base.name),
                })
            }
            _ => {
                tracing::error!(
                    kind = kind.as_str(),
                    "the built-in template failed to render; sending plain text"
                );
                let (title, message) = plain_text(kind);
                Ok(Rendered {
                    title,
                    message,
                    priority: base.priority,
                    source: "plain".to_owned(),
                })
            }
        }
    }

    /// An admin sends one notification.
    pub async fn send(
        &self,
        admin: &User,
        recipient: i64,
        input: SendInput,
    ) -> Result<Notification, AppError> {
        admin_only(admin)?;
        let recipient = UserId::new(recipient)
            .map_err(|_| AppError::invalid("recipient_id", "no such user"))?;
        let request = self.parse_send(admin, recipient, input)?;
        self.check_named_template(&request).await?;
        Ok(self.notify(request).await?.0)
    }

    /// A named template must exist and render the requested type, even when an explicit title
    /// and message make rendering unnecessary: a typo is an error, not a silent fallback.
    async fn check_named_template(&self, request: &Notify) -> Result<(), AppError> {
        let Some(name) = &request.template else {
            return Ok(());
        };
        match self.adapters.templates.get(name).await {
            Ok(template) if template.kind == request.kind => Ok(()),
            Ok(template) => Err(AppError::invalid(
                "template",
                format!(
                    "renders {}, not {}",
                    template.kind.as_str(),
                    request.kind.as_str()
                ),
            )),
            Err(PortError::NotFound) => Err(AppError::invalid("template", "no such template")),
            Err(e) => Err(AppError::from_port("template")(e)),
        }
    }

    fn parse_send(
        &self,
        admin: &User,
        recipient: UserId,
        input: SendInput,
    ) -> Result<Notify, AppError> {
        let mut errors = domain::FieldErrors::new();
        let kind = errors.collect(NotificationType::parse(&input.notification_type));
        let template = input
            .template
            .as_deref()
            .map(|raw| TemplateName::parse(raw).map_err(|e| e.named("template")))
            .map(|r| errors.collect(r))
            .unwrap_or(None);
        let priority = input
            .priority
            .as_deref()
            .map(Priority::parse)
            .map(|r| errors.collect(r))
            .unwrap_or(None);
        let action_url = input
            .action_url
            .as_deref()
            .map(ActionUrl::parse)
            .map(|r| errors.collect(r))
            .unwrap_or(None);
        let dedupe_key = input
            .dedupe_key
            .as_deref()
            .map(parse_dedupe_key)
            .map(|r| errors.collect(r))
            .unwrap_or(None);
        if let Some(title) = &input.title {
            errors.collect(parse_title(title));
        }
        if let Some(message) = &input.message {
            errors.collect(parse_message(message));
        }
        let context = match object_of(input.context, "context") {
            Ok(map) => map,
            Err(_) => {
                errors.add("context", "must be a JSON object");
                Map::new()
            }
        };
        let metadata = match object_of(input.metadata, "metadata") {
            Ok(map) => map,
            Err(_) => {
                errors.add("metadata", "must be a JSON object");
                Map::new()
            }
        };
        if input.expires_at.is_some_and(|at| at <= Utc::now()) {
            errors.add("expires_at", "must be in the future");
        }
        errors.clone().into_result()?;
        let Some(kind) = kind else {
            return Err(AppError::Validation(errors));
        };
        Ok(Notify {
            recipient,
            kind,
            sender: Some(admin.id),
            template,
            context,
            title: input.title,
            message: input.message,
            priority,
            object: None,
            action_url,
            metadata,
            expires_at: input.expires_at,
            dedupe_key,
        })
    }

    /// An admin broadcasts: answered at once, stored and delivered in the background in batches.
    /// Each recipient gets the broadcast once even if it is re-run (its id is the dedupe key).
    pub async fn send_bulk(
        &self,
        admin: &User,
        audience: Audience,
        input: SendInput,
    ) -> Result<BroadcastProgress, AppError> {
        admin_only(admin)?;
        if input.dedupe_key.is_some() {
            return Err(AppError::invalid(
                "dedupe_key",
                "a broadcast is deduplicated by its own id",
            ));
        }
        // Validate once with a placeholder recipient.
        let template = self.parse_send(admin, admin.id, input)?;
        self.check_named_template(&template).await?;
        let total = match &audience {
            Audience::Users(ids) => {
                if ids.is_empty() {
                    return Err(AppError::invalid(
                        "recipient_ids",
                        "name at least one recipient",
                    ));
                }
                if ids.len() > 100_000 {
                    return Err(AppError::invalid(
                        "recipient_ids",
                        "at most 100000 recipients; use a role",
                    ));
                }
                ids.iter().collect::<std::collections::BTreeSet<_>>().len() as u64
            }
            Audience::Role(role) => self
                .adapters
                .users
                .count_active(*role)
                .await
                .map_err(AppError::from_port("user"))?,
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let progress = BroadcastProgress {
            id: id.clone(),
            total,
            stored: 0,
            skipped: 0,
            done: false,
            error: None,
        };
        self.track(&progress);
        let service = self.clone();
        tokio::spawn(async move {
            let outcome = service.run_broadcast(&id, audience, template).await;
            service.update(&id, |p| {
                p.done = true;
                if let Err(error) = &outcome {
                    p.error = Some(error.public_message());
                }
            });
            match outcome {
                Ok(()) => tracing::info!(broadcast = %id, "broadcast finished"),
                Err(error) => tracing::error!(broadcast = %id, %error, "broadcast stopped"),
            }
        });
        Ok(progress)
    }

    fn track(&self, progress: &BroadcastProgress) {
        self.broadcasts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(progress.id.clone(), progress.clone());
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut BroadcastProgress)) {
        if let Some(p) = self
            .broadcasts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(id)
        {
            change(p);
        }
    }

    /// A broadcast's progress (admins; broadcasts started on this instance).
    pub fn broadcast_status(&self, admin: &User, id: &str) -> Result<BroadcastProgress, AppError> {
        admin_only(admin)?;
        self.broadcasts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or(AppError::NotFound("broadcast"))
    }

    async fn run_broadcast(
        &self,
        id: &str,
        audience: Audience,
        template: Notify,
    ) -> Result<(), AppError> {
        let batch = self.settings.bulk_batch.max(1);
        match audience {
            Audience::Users(ids) => {
                let mut unique: Vec<i64> = ids;
                unique.sort_unstable();
                unique.dedup();
                for chunk in unique.chunks(batch) {
                    let ids: Vec<UserId> = chunk
                        .iter()
                        .filter_map(|raw| UserId::new(*raw).ok())
                        .collect();
                    let users = self
                        .adapters
                        .users
                        .get_many(&ids)
                        .await
                        .map_err(AppError::from_port("user"))?;
                    let active: Vec<User> = users.into_iter().filter(|u| u.is_active).collect();
                    let skipped = (chunk.len() - active.len()) as u64;
                    self.deliver_batch(id, &template, active).await?;
                    self.update(id, |p| p.skipped += skipped);
                }
            }
            Audience::Role(role) => {
                let mut after = None;
                loop {
                    let ids = self
                        .adapters
                        .users
                        .active_ids(role, after, batch)
                        .await
                        .map_err(AppError::from_port("user"))?;
                    let Some(last) = ids.last().copied() else {
                        break;
                    };
                    after = Some(last);
                    let users = self
                        .adapters
                        .users
                        .get_many(&ids)
                        .await
                        .map_err(AppError::from_port("user"))?;
                    self.deliver_batch(id, &template, users).await?;
                }
            }
        }
        Ok(())
    }

    /// Stores one batch in one transaction, then pushes and queues each.
    async fn deliver_batch(
        &self,
        id: &str,
        template: &Notify,
        recipients: Vec<User>,
    ) -> Result<(), AppError> {
        if recipients.is_empty() {
            return Ok(());
        }
        let ids: Vec<UserId> = recipients.iter().map(|u| u.id).collect();
        let now = Utc::now();
        let mut news = Vec::with_capacity(recipients.len());
        let mut decisions = Vec::with_capacity(recipients.len());
        for user in &recipients {
            let preferences = self
                .adapters
                .preferences
                .get(user.id)
                .await
                .map_err(AppError::from_port("preferences"))?;
            let request = Notify {
                recipient: user.id,
                dedupe_key: Some(format!("broadcast:{id}")),
                ..template.clone()
            };
            let (new, decision) = self.prepare(&request, user, &preferences, now).await?;
            news.push(new);
            decisions.push(decision);
        }
        let stored = self
            .adapters
            .notifications
            .create_many(news)
            .await
            .map_err(AppError::from_port("notification"))?;
        let mut created = 0;
        for ((notification, fresh), (user, decision)) in
            stored.into_iter().zip(recipients.iter().zip(decisions))
        {
            if fresh {
                created += 1;
                self.after_store(&notification, user, decision).await;
            }
        }
        debug_assert_eq!(ids.len(), recipients.len());
        self.update(id, |p| p.stored += created);
        Ok(())
    }

    // ----- the inbox -----

    /// The caller's notifications, newest first.
    pub async fn list(
        &self,
        actor: &User,
        filter: InboxFilter,
        before: Option<i64>,
        limit: Option<usize>,
    ) -> Result<(Vec<Notification>, bool), AppError> {
        let limit = self.page(limit)?;
        let before = before.map(Seq::new).transpose()?;
        let mut found = self
            .adapters
            .notifications
            .list(actor.id, filter, before, limit + 1, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))?;
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found, more))
    }

    /// One of the caller's notifications.
    pub async fn get(&self, actor: &User, id: i64) -> Result<Notification, AppError> {
        let id = NotificationId::new(id).map_err(|_| AppError::NotFound("notification"))?;
        self.adapters
            .notifications
            .get(actor.id, id)
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// The caller's unread notifications.
    pub async fn unread_count(&self, user: UserId) -> Result<i64, AppError> {
        self.adapters
            .notifications
            .unread_count(user, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// Marks one read and tells every session of the caller.
    pub async fn mark_read(&self, actor: &User, id: i64) -> Result<(Notification, i64), AppError> {
        let id = NotificationId::new(id).map_err(|_| AppError::NotFound("notification"))?;
        let changed = self
            .adapters
            .notifications
            .mark_read(actor.id, id, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))?;
        let unread = self.unread_count(actor.id).await?;
        if changed {
            self.publish(
                Topic::User(actor.id),
                BusEvent::NotificationRead {
                    user_id: actor.id,
                    notification_id: id,
                    unread,
                },
            )
            .await;
        }
        let notification = self
            .adapters
            .notifications
            .get(actor.id, id)
            .await
            .map_err(AppError::from_port("notification"))?;
        Ok((notification, unread))
    }

    /// Marks every unread notification read; returns exactly how many changed.
    pub async fn mark_all_read(&self, actor: &User) -> Result<u64, AppError> {
        let marked = self
            .adapters
            .notifications
            .mark_all_read(actor.id, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))?;
        let unread = self.unread_count(actor.id).await?;
        self.publish(
            Topic::User(actor.id),
            BusEvent::AllNotificationsRead {
                user_id: actor.id,
                marked_count: marked,
                unread,
            },
        )
        .await;
        Ok(marked)
    }

    /// Deletes one of the caller's notifications.
    pub async fn delete(&self, actor: &User, id: i64) -> Result<(), AppError> {
        let id = NotificationId::new(id).map_err(|_| AppError::NotFound("notification"))?;
        self.adapters
            .notifications
            .delete(actor.id, id)
            .await
            .map_err(AppError::from_port("notification"))?;
        let unread = self.unread_count(actor.id).await?;
        self.publish(
            Topic::User(actor.id),
            BusEvent::InboxCount {
                user_id: actor.id,
                unread,
            },
        )
        .await;
        Ok(())
    }

    /// Notifications after `after`, oldest first (a session's replay).
    pub async fn replay(
        &self,
        user: UserId,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Notification>, AppError> {
        self.adapters
            .notifications
            .after(user, after, limit, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// The newest unread notifications (the compatibility socket's greeting).
    pub async fn recent_unread(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<Notification>, AppError> {
        let filter = InboxFilter {
            unread_only: true,
            kind: None,
        };
        self.adapters
            .notifications
            .list(user, filter, None, limit, Utc::now())
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// The inbox head (a session's starting point).
    pub async fn head(&self, user: UserId) -> Result<Seq, AppError> {
        self.adapters
            .notifications
            .head_seq(user)
            .await
            .map_err(AppError::from_port("notification"))
    }

    /// Records the first live delivery of a notification.
    pub async fn mark_delivered(&self, id: NotificationId) {
        if let Err(error) = self
            .adapters
            .notifications
            .mark_delivered(id, Utc::now())
            .await
        {
            tracing::warn!(%error, notification = %id, "recording a delivery failed");
        }
    }

    /// The deliveries of one of the caller's notifications (admins: any).
    pub async fn deliveries(
        &self,
        actor: &User,
        id: i64,
    ) -> Result<Vec<ports::DeliveryRecord>, AppError> {
        admin_only(actor)?;
        let id = NotificationId::new(id).map_err(|_| AppError::NotFound("notification"))?;
        self.adapters
            .deliveries
            .of_notification(id)
            .await
            .map_err(AppError::from_port("notification"))
    }

    // ----- preferences -----

    /// The caller's preferences.
    pub async fn preferences(&self, actor: &User) -> Result<Preferences, AppError> {
        self.adapters
            .preferences
            .get(actor.id)
            .await
            .map_err(AppError::from_port("preferences"))
    }

    /// Changes the caller's preferences: `replace` starts from the defaults (PUT), otherwise from
    /// the current ones (PATCH).
    pub async fn update_preferences(
        &self,
        actor: &User,
        input: PreferencesInput,
        replace: bool,
    ) -> Result<Preferences, AppError> {
        let mut preferences = if replace {
            Preferences::default()
        } else {
            self.preferences(actor).await?
        };
        let mut errors = domain::FieldErrors::new();
        for (name, on) in &input.switches {
            match Preferences::SWITCHES.iter().find(|(n, _, _)| n == name) {
                Some((_, category, channel)) => preferences.set(*category, *channel, *on),
                None => errors.add(name.clone(), "unknown switch"),
            }
        }
        for (category, channels) in &input.channels {
            let Some(category) =
                errors.collect(Category::parse(category).map_err(|e| e.named("channels")))
            else {
                continue;
            };
            for (channel, on) in channels {
                if let Some(channel) =
                    errors.collect(Channel::parse(channel).map_err(|e| e.named("channels")))
                {
                    preferences.set(category, channel, *on);
                }
            }
        }
        if let Some(on) = input.inapp_all {
            preferences.inapp_all = on;
        }
        if let Some(on) = input.quiet_hours_enabled {
            preferences.quiet_hours_enabled = on;
        }
        if let Some(tz) = &input.timezone
            && let Some(tz) = errors.collect(parse_timezone(tz))
        {
            preferences.timezone = tz;
        }
        let current = preferences.quiet_hours;
        let time = |field: &'static str, raw: &str, errors: &mut domain::FieldErrors| {
            errors.collect(NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| {
                domain::ValidationError::new(
                    field,
                    format!("{raw:?} is not a time of the form HH:MM"),
                )
            }))
        };
        let start = match &input.quiet_hours_start {
            None => current.map(|q| q.start),
            Some(None) => None,
            Some(Some(raw)) => time("quiet_hours_start", raw, &mut errors),
        };
        let end = match &input.quiet_hours_end {
            None => current.map(|q| q.end),
            Some(None) => None,
            Some(Some(raw)) => time("quiet_hours_end", raw, &mut errors),
        };
        preferences.quiet_hours = match (start, end) {
            (Some(start), Some(end)) => Some(QuietHours { start, end }),
            (None, None) => None,
            _ => {
                errors.add(
                    "quiet_hours_start",
                    "set both quiet_hours_start and quiet_hours_end, or neither",
                );
                None
            }
        };
        if preferences.quiet_hours_enabled && preferences.quiet_hours.is_none() {
            errors.add(
                "quiet_hours_enabled",
                "quiet hours need quiet_hours_start and quiet_hours_end",
            );
        }
        errors.into_result()?;
        self.adapters
            .preferences
            .put(actor.id, &preferences)
            .await
            .map_err(AppError::from_port("preferences"))?;
        Ok(preferences)
    }

    // ----- templates -----

    /// Every template (admins).
    pub async fn templates(&self, admin: &User) -> Result<Vec<NotificationTemplate>, AppError> {
        admin_only(admin)?;
        self.adapters
            .templates
            .list()
            .await
            .map_err(AppError::from_port("template"))
    }

    /// One template (admins).
    pub async fn template(
        &self,
        admin: &User,
        name: &str,
    ) -> Result<NotificationTemplate, AppError> {
        admin_only(admin)?;
        let name = TemplateName::parse(name).map_err(|_| AppError::NotFound("template"))?;
        self.adapters
            .templates
            .get(&name)
            .await
            .map_err(AppError::from_port("template"))
    }

    fn checked(
        &self,
        input: &TemplateInput,
        base: Option<&NotificationTemplate>,
    ) -> Result<(NotificationType, String, String, Priority, bool), AppError> {
        let mut errors = domain::FieldErrors::new();
        let kind = match (&input.notification_type, base) {
            (Some(raw), _) => errors.collect(NotificationType::parse(raw)),
            (None, Some(b)) => Some(b.kind),
            (None, None) => {
                errors.add("notification_type", "is required");
                None
            }
        };
        let mut source = |field: &'static str,
                          given: &Option<String>,
                          current: Option<&str>,
                          max: usize|
         -> Option<String> {
            let raw = match (given, current) {
                (Some(raw), _) => raw.clone(),
                (None, Some(current)) => current.to_owned(),
                (None, None) => {
                    errors.add(field, "is required");
                    return None;
                }
            };
            let raw = errors.collect(check_source(field, &raw, max))?;
            if let Err(e) = self.adapters.engine.check(&raw) {
                errors.add(field, format!("template error: {e}"));
                return None;
            }
            Some(raw)
        };
        let title = source(
            "title_template",
            &input.title_template,
            base.map(|b| b.title_template.as_str()),
            1000,
        );
        let message = source(
            "message_template",
            &input.message_template,
            base.map(|b| b.message_template.as_str()),
            10_000,
        );
        let priority = match (&input.default_priority, base) {
            (Some(raw), _) => {
                errors.collect(Priority::parse(raw).map_err(|e| e.named("default_priority")))
            }
            (None, Some(b)) => Some(b.default_priority),
            (None, None) => Some(Priority::Medium),
        };
        errors.clone().into_result()?;
        match (kind, title, message, priority) {
            (Some(kind), Some(title), Some(message), Some(priority)) => Ok((
                kind,
                title,
                message,
                priority,
                input
                    .is_active
                    .or(base.map(|b| b.is_active))
                    .unwrap_or(true),
            )),
            _ => Err(AppError::Validation(errors)),
        }
    }

    /// Creates a template; its sources are syntax-checked (400 naming the line).
    pub async fn create_template(
        &self,
        admin: &User,
        input: TemplateInput,
    ) -> Result<NotificationTemplate, AppError> {
        admin_only(admin)?;
        let name = TemplateName::parse(input.name.as_deref().unwrap_or_default())?;
        let (kind, title_template, message_template, default_priority, is_active) =
            self.checked(&input, None)?;
        self.adapters
            .templates
            .create(NewTemplate {
                name,
                kind,
                title_template,
                message_template,
                default_priority,
                is_active,
            })
            .await
            .map_err(|e| match e {
                PortError::Conflict(_) => {
                    AppError::conflict("template_exists", "a template with this name exists")
                }
                other => AppError::from_port("template")(other),
            })
    }

    /// Changes a template: `replace` (PUT) needs every field, otherwise (PATCH) missing ones stay.
    pub async fn update_template(
        &self,
        admin: &User,
        name: &str,
        input: TemplateInput,
        replace: bool,
    ) -> Result<NotificationTemplate, AppError> {
        let current = self.template(admin, name).await?;
        if input
            .name
            .as_deref()
            .is_some_and(|n| n != current.name.as_str())
        {
            return Err(AppError::invalid("name", "a template cannot be renamed"));
        }
        let base = if replace { None } else { Some(&current) };
        let (kind, title_template, message_template, default_priority, is_active) =
            self.checked(&input, base)?;
        self.adapters
            .templates
            .update(
                &current.name,
                NewTemplate {
                    name: current.name.clone(),
                    kind,
                    title_template,
                    message_template,
                    default_priority,
                    is_active,
                },
            )
            .await
            .map_err(AppError::from_port("template"))
    }

    /// Deletes a template; built-in ones can only be edited or deactivated.
    pub async fn delete_template(&self, admin: &User, name: &str) -> Result<(), AppError> {
        admin_only(admin)?;
        let name = TemplateName::parse(name).map_err(|_| AppError::NotFound("template"))?;
        self.adapters
            .templates
            .delete(&name)
            .await
            .map_err(|e| match e {
                PortError::Conflict(_) => AppError::conflict(
                    "builtin_template",
                    "built-in templates cannot be deleted; deactivate or edit them",
                ),
                other => AppError::from_port("template")(other),
            })
    }

    /// Renders a template with a context, showing errors instead of falling back (admins).
    pub async fn preview(
        &self,
        admin: &User,
        name: &str,
        context: Option<Value>,
    ) -> Result<(String, String), AppError> {
        let template = self.template(admin, name).await?;
        let mut ctx = object_of(context, "context")?;
        ctx.entry("recipient_name")
            .or_insert_with(|| Value::String(admin.display_name()));
        ctx.entry("recipient_username")
            .or_insert_with(|| Value::String(admin.username.as_str().to_owned()));
        let ctx = Value::Object(ctx);
        let title = self
            .adapters
            .engine
            .render(&template.title_template, &ctx)
            .map_err(|e| template_error("title_template", &e))?;
        let message = self
            .adapters
            .engine
            .render(&template.message_template, &ctx)
            .map_err(|e| template_error("message_template", &e))?;
        Ok((title, message))
    }

    /// The built-in templates (for documentation and tests).
    pub fn builtins() -> &'static [domain::notification::builtin::Builtin] {
        BUILTINS
    }
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// The notification as external channels receive it.
pub fn notification_payload(n: &Notification) -> Value {
    serde_json::json!({
        "id": n.id.get(),
        "seq": n.seq.get(),
        "recipient": n.recipient.get(),
        "sender": n.sender.map(|s| s.get()),
        "notification_type": n.kind.as_str(),
        "category": n.kind.category().as_str(),
        "title": n.title,
        "message": n.message,
        "priority": n.priority.as_str(),
        "action_url": n.action_url.as_ref().map(|u| u.as_str()),
        "object": n.object.as_ref().map(|o| serde_json::json!({"kind": o.kind, "id": o.id})),
        "metadata": n.metadata,
        "created_at": n.created_at,
    })
}
