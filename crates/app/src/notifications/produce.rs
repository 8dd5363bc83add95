//! Producing one notification: render, decide by the recipient's preferences, store, push live,
//! queue e-mail and push — and the admin's single send.

use chrono::{DateTime, Utc};
use domain::notification::builtin::builtin;
use domain::notification::preferences::{self, Channel, InApp};
use domain::notification::{
    ActionUrl, NewNotification, Notification, NotificationTemplate, NotificationType, Preferences,
    Priority, TemplateName, parse_dedupe_key, parse_message, parse_title,
};
use domain::user::{User, UserId};
use ports::{
    BusEvent, DeliveryQueue, ExternalChannel, NewDelivery, NotificationRepository, PlannedDelivery,
    PlannedNotification, PortError, PreferenceRepository, TemplateRepository, Topic,
    UserRepository,
};
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::ports::Ports;

use super::{NotificationService, Notify, Rendered, SendInput, admin_only, object_of, truncate};

impl<P: Ports> NotificationService<P> {
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
        let template = self.template_of(&request).await?;
        let (new, decision) =
            self.prepare(&request, &recipient, &preferences, template.as_ref(), now)?;
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

    /// Stores a notification collapsed under `key` — one unread per recipient and key, updated in
    /// place — and announces it: a new one like [`NotificationService::notify`], an update as the
    /// same notification pushed again (external deliveries go out for the first one only).
    pub async fn notify_collapsed(
        &self,
        request: Notify,
        key: &str,
    ) -> Result<(Notification, bool), AppError> {
        let recipient = self
            .adapters
            .users
            .get(request.recipient)
            .await
            .map_err(AppError::from_port("user"))?;
        let preferences = self
            .adapters
            .preferences
            .get(recipient.id)
            .await
            .map_err(AppError::from_port("preferences"))?;
        let template = self.template_of(&request).await?;
        let (new, decision) = self.prepare(
            &request,
            &recipient,
            &preferences,
            template.as_ref(),
            Utc::now(),
        )?;
        let (stored, created) = self
            .adapters
            .notifications
            .upsert_collapsed(new, key)
            .await
            .map_err(AppError::from_port("notification"))?;
        if created {
            self.after_store(&stored, &recipient, decision).await;
        } else if decision.in_app != InApp::StoredOnly {
            self.publish(
                Topic::User(recipient.id),
                BusEvent::NotificationUpdated {
                    notification: stored.clone(),
                },
            )
            .await;
        }
        Ok((stored, created))
    }

    /// Renders and decides one notification without storing it: a job event stores it inside
    /// its own transaction, then calls [`NotificationService::push_live`].
    pub(crate) async fn plan(
        &self,
        request: &Notify,
        recipient: &User,
    ) -> Result<(PlannedNotification, preferences::Decision), AppError> {
        let preferences = self
            .adapters
            .preferences
            .get(recipient.id)
            .await
            .map_err(AppError::from_port("preferences"))?;
        let template = self.template_of(request).await?;
        let (notification, decision) = self.prepare(
            request,
            recipient,
            &preferences,
            template.as_ref(),
            Utc::now(),
        )?;
        let deliveries = self.planned_deliveries(recipient, decision);
        Ok((
            PlannedNotification {
                notification,
                deliveries,
            },
            decision,
        ))
    }

    /// The template a request renders with; none is looked up when it gives both texts.
    pub(super) async fn template_of(
        &self,
        request: &Notify,
    ) -> Result<Option<NotificationTemplate>, AppError> {
        if request.title.is_some() && request.message.is_some() {
            return Ok(None);
        }
        self.template_for(request.kind, request.template.as_ref())
            .await
    }

    /// Renders and decides, without storing.
    pub(super) fn prepare(
        &self,
        request: &Notify,
        recipient: &User,
        preferences: &Preferences,
        template: Option<&NotificationTemplate>,
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
                let mut rendered = self.render_with(request.kind, template, &context);
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
    pub(super) async fn after_store(
        &self,
        stored: &Notification,
        recipient: &User,
        decision: preferences::Decision,
    ) {
        self.push_live(stored, decision).await;
        let jobs = self.deliveries_for(stored, recipient, decision);
        self.enqueue(jobs).await;
    }

    /// The live push, or — for a muted one — only the new count.
    pub(crate) async fn push_live(&self, stored: &Notification, decision: preferences::Decision) {
        let recipient = stored.recipient;
        match decision.in_app {
            InApp::Push | InApp::Silent => {
                self.publish(
                    Topic::User(recipient),
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
                    .unread_count(recipient, Utc::now())
                    .await
                {
                    self.publish(
                        Topic::User(recipient),
                        BusEvent::InboxCount {
                            user_id: recipient,
                            unread,
                        },
                    )
                    .await;
                }
            }
        }
    }

    pub(super) async fn enqueue(&self, jobs: Vec<NewDelivery>) {
        if jobs.is_empty() {
            return;
        }
        let count = jobs.len();
        if let Err(error) = self.adapters.deliveries.enqueue(jobs).await {
            tracing::error!(%error, count, "queueing external deliveries failed");
        }
    }

    /// The e-mail and push deliveries `decision` calls for, on configured channels.
    pub(crate) fn planned_deliveries(
        &self,
        recipient: &User,
        decision: preferences::Decision,
    ) -> Vec<PlannedDelivery> {
        let email = recipient.email.as_ref().map(|e| e.as_str().to_owned());
        [
            (Channel::Email, decision.email),
            (Channel::Push, decision.push),
        ]
        .into_iter()
        .filter_map(|(channel, when)| Some((channel, when?)))
        .filter(|(channel, _)| self.adapters.channels.available(*channel))
        .filter(|(channel, _)| *channel != Channel::Email || email.is_some())
        .map(|(channel, not_before)| PlannedDelivery {
            channel,
            not_before,
            email: email.clone(),
        })
        .collect()
    }

    pub(super) fn deliveries_for(
        &self,
        stored: &Notification,
        recipient: &User,
        decision: preferences::Decision,
    ) -> Vec<NewDelivery> {
        self.planned_deliveries(recipient, decision)
            .iter()
            .map(|p| p.for_notification(stored))
            .collect()
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
    pub(super) async fn check_named_template(&self, request: &Notify) -> Result<(), AppError> {
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

    pub(super) fn parse_send(
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
}
