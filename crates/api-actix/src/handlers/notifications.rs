//! Notifications over REST (PROTOCOL §2): the caller's inbox, admin sends and broadcasts,
//! preferences, and templates.

// utoipa's actix integration re-emits the `Query<…>` extractor types fully qualified.
#![allow(unused_qualifications)]

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::Query;
use actix_web::{HttpResponse, web};
use app::{Audience, Ports, PreferencesInput, SendInput, Services, TemplateInput};
use chrono::{DateTime, Utc};
use domain::notification::NotificationType;
use domain::user::Role;
use ports::InboxFilter;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::dto::{NotificationDto, Page, PreferencesDto, TemplateDto};
use crate::error::{ApiError, ErrorBody};

/// Filters and paging of the inbox.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only unread ones.
    pub unread: Option<bool>,
    /// Only this type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Page size (default 50, max 100).
    pub limit: Option<usize>,
    /// Older than this inbox seq.
    pub before: Option<i64>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

fn inbox_filter(
    query: &InboxQuery,
    unread_only: bool,
) -> Result<(InboxFilter, Option<i64>), ApiError> {
    let kind = query
        .kind
        .as_deref()
        .map(NotificationType::parse)
        .transpose()
        .map_err(|e| ApiError::validation(&e.into()))?;
    let before = match (&query.cursor, query.before) {
        (Some(cursor), _) => Some(cursor.parse::<i64>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "cursor is not one this server issued",
            )
        })?),
        (None, before) => before,
    };
    Ok((
        InboxFilter {
            unread_only: unread_only || query.unread.unwrap_or(false),
            kind,
        },
        before,
    ))
}

async fn page<P: Ports>(
    services: &Services<P>,
    caller: &Caller,
    query: &InboxQuery,
    unread_only: bool,
) -> Result<Page<NotificationDto>, ApiError> {
    let user = caller.user()?;
    let (filter, before) = inbox_filter(query, unread_only)?;
    let (found, more) = services
        .notifications
        .list(user, filter, before, query.limit)
        .await?;
    Ok(Page {
        next: if more {
            found.last().map(|n| n.seq.get().to_string())
        } else {
            None
        },
        has_more: more,
        results: found.iter().map(NotificationDto::new).collect(),
    })
}

/// The caller's notifications, newest first; expired ones are left out.
#[utoipa::path(get, path = "/api/notifications/", tag = "notifications", security(("bearer" = [])), params(InboxQuery),
    responses((status = 200, body = Page<NotificationDto>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    query: Query<InboxQuery>,
) -> Result<web::Json<Page<NotificationDto>>, ApiError> {
    Ok(web::Json(page(&services, &caller, &query, false).await?))
}

/// The caller's unread notifications, newest first.
#[utoipa::path(get, path = "/api/notifications/unread/", tag = "notifications", security(("bearer" = [])), params(InboxQuery),
    responses((status = 200, body = Page<NotificationDto>), (status = 401, body = ErrorBody)))]
pub async fn unread<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    query: Query<InboxQuery>,
) -> Result<web::Json<Page<NotificationDto>>, ApiError> {
    Ok(web::Json(page(&services, &caller, &query, true).await?))
}

/// How many unread notifications the caller has.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    /// Unread, unexpired notifications.
    pub unread_count: i64,
}

/// The caller's unread count.
#[utoipa::path(get, path = "/api/notifications/unread_count/", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody)))]
pub async fn unread_count<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
) -> Result<web::Json<UnreadCount>, ApiError> {
    Ok(web::Json(UnreadCount {
        unread_count: services
            .notifications
            .unread_count(caller.user()?.id)
            .await?,
    }))
}

/// One of the caller's notifications.
#[utoipa::path(get, path = "/api/notifications/{id}/", tag = "notifications", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = NotificationDto), (status = 404, description = "Not the caller's, or no such notification", body = ErrorBody)))]
pub async fn get<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<NotificationDto>, ApiError> {
    let notification = services
        .notifications
        .get(caller.user()?, id.into_inner())
        .await?;
    Ok(web::Json(NotificationDto::new(&notification)))
}

/// Deletes one of the caller's notifications.
#[utoipa::path(delete, path = "/api/notifications/{id}/", tag = "notifications", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    services
        .notifications
        .delete(caller.user()?, id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A notification after `mark_read`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// The original's acknowledgement text.
    pub status: &'static str,
    /// The notification.
    pub notification: NotificationDto,
    /// Unread notifications left.
    pub unread_count: i64,
}

/// Marks one notification read (sets `read_at`); every session of the caller is told.
#[utoipa::path(post, path = "/api/notifications/{id}/mark_read/", tag = "notifications", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = MarkedRead), (status = 404, body = ErrorBody)))]
pub async fn mark_read<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<MarkedRead>, ApiError> {
    let (notification, unread) = services
        .notifications
        .mark_read(caller.user()?, id.into_inner())
        .await?;
    Ok(web::Json(MarkedRead {
        status: "notification marked as read",
        notification: NotificationDto::new(&notification),
        unread_count: unread,
    }))
}

/// How many `mark_all_read` changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedCount {
    /// Exactly the rows it changed.
    pub marked_count: u64,
}

/// Marks every unread notification read in one statement.
#[utoipa::path(post, path = "/api/notifications/mark_all_read/", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = MarkedCount), (status = 401, body = ErrorBody)))]
pub async fn mark_all_read<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
) -> Result<web::Json<MarkedCount>, ApiError> {
    Ok(web::Json(MarkedCount {
        marked_count: services.notifications.mark_all_read(caller.user()?).await?,
    }))
}

/// What an admin sends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The recipient (send_notification only).
    pub recipient_id: Option<i64>,
    /// Recipients by id (send_bulk).
    pub recipient_ids: Option<Vec<i64>>,
    /// Recipients by role: `client`, `cleaner` or `all` (send_bulk).
    pub role: Option<String>,
    /// The type.
    pub notification_type: String,
    /// Explicit title (otherwise from the template).
    pub title: Option<String>,
    /// Explicit message (otherwise from the template).
    pub message: Option<String>,
    /// A named template (otherwise the type's active one).
    pub template: Option<String>,
    /// Template variables.
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
    /// `low`, `medium`, `high`, `urgent` (default: the template's).
    pub priority: Option<String>,
    /// A path or http(s) URL (≤ 500 chars).
    pub action_url: Option<String>,
    /// Client data.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// One notification per recipient and key (send_notification only).
    pub dedupe_key: Option<String>,
}

impl SendRequest {
    fn input(self) -> SendInput {
        SendInput {
            notification_type: self.notification_type,
            title: self.title,
            message: self.message,
            template: self.template,
            context: self.context,
            priority: self.priority,
            action_url: self.action_url,
            metadata: self.metadata,
            expires_at: self.expires_at,
            dedupe_key: self.dedupe_key,
        }
    }
}

/// Sends one notification (admins). Delivered live and externally as the recipient's
/// preferences say.
#[utoipa::path(post, path = "/api/notifications/send_notification/", tag = "notifications", security(("bearer" = [])), request_body = SendRequest,
    responses((status = 201, body = NotificationDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn send_notification<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    body: web::Json<SendRequest>,
) -> Result<HttpResponse, ApiError> {
    let admin = caller.user()?;
    let body = body.into_inner();
    if body.recipient_ids.is_some() || body.role.is_some() {
        return Err(ApiError::validation(
            &domain::ValidationError::new(
                "recipient_id",
                "send_notification takes one recipient_id; use send_bulk for many",
            )
            .into(),
        ));
    }
    let Some(recipient) = body.recipient_id else {
        return Err(ApiError::validation(
            &domain::ValidationError::new("recipient_id", "is required").into(),
        ));
    };
    let notification = services
        .notifications
        .send(admin, recipient, body.input())
        .await?;
    Ok(HttpResponse::Created().json(NotificationDto::new(&notification)))
}

/// A broadcast accepted for background delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastDto {
    /// Its id.
    pub broadcast_id: String,
    /// Recipients targeted.
    pub queued: u64,
    /// Notifications stored so far.
    pub notifications_sent: u64,
    /// Unknown or inactive ids skipped so far.
    pub skipped: u64,
    /// Finished.
    pub done: bool,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
    /// Where to follow its progress.
    pub status_url: String,
}

impl From<app::BroadcastProgress> for BroadcastDto {
    fn from(p: app::BroadcastProgress) -> Self {
        Self {
            status_url: format!("/api/notifications/broadcasts/{}/", p.id),
            broadcast_id: p.id,
            queued: p.total,
            notifications_sent: p.stored,
            skipped: p.skipped,
            done: p.done,
            error: p.error,
        }
    }
}

/// Broadcasts (admins) to `recipient_ids` or a `role`: answered at once with 202; stored and
/// delivered in the background in batches.
#[utoipa::path(post, path = "/api/notifications/send_bulk/", tag = "notifications", security(("bearer" = [])), request_body = SendRequest,
    responses((status = 202, body = BroadcastDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn send_bulk<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    body: web::Json<SendRequest>,
) -> Result<HttpResponse, ApiError> {
    let admin = caller.user()?;
    let body = body.into_inner();
    if body.recipient_id.is_some() {
        return Err(ApiError::validation(
            &domain::ValidationError::new("recipient_id", "send_bulk takes recipient_ids or role")
                .into(),
        ));
    }
    let audience = match (&body.recipient_ids, body.role.as_deref()) {
        (Some(ids), None) => Audience::Users(ids.clone()),
        (None, Some("all")) => Audience::Role(None),
        (None, Some(role @ ("client" | "cleaner" | "admin"))) => {
            Audience::Role(Role::parse(role).ok())
        }
        (None, Some(_)) => {
            return Err(ApiError::validation(
                &domain::ValidationError::new("role", "must be client, cleaner, admin or all")
                    .into(),
            ));
        }
        _ => {
            return Err(ApiError::validation(
                &domain::ValidationError::new(
                    "recipient_ids",
                    "give recipient_ids or role, not both",
                )
                .into(),
            ));
        }
    };
    let progress = services
        .notifications
        .send_bulk(admin, audience, body.input())
        .await?;
    Ok(HttpResponse::Accepted().json(BroadcastDto::from(progress)))
}

/// A broadcast's progress (admins; broadcasts started on this instance).
#[utoipa::path(get, path = "/api/notifications/broadcasts/{id}/", tag = "notifications", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = BroadcastDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn broadcast_status<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<BroadcastDto>, ApiError> {
    Ok(web::Json(
        services
            .notifications
            .broadcast_status(caller.user()?, &id)?
            .into(),
    ))
}

/// An external delivery of a notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    /// Id (sent to receivers as `X-Eclean-Delivery` / the e-mail's Message-ID).
    pub id: i64,
    /// `email` or `push`.
    pub channel: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last_error: Option<String>,
    /// When sent.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Not attempted before this (the end of quiet hours, or a retry's backoff).
    pub not_before: DateTime<Utc>,
}

/// The external deliveries of a notification (admins).
#[utoipa::path(get, path = "/api/notifications/{id}/deliveries/", tag = "notifications", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [DeliveryDto]), (status = 403, body = ErrorBody)))]
pub async fn deliveries<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<DeliveryDto>>, ApiError> {
    let records = services
        .notifications
        .deliveries(caller.user()?, id.into_inner())
        .await?;
    Ok(web::Json(
        records
            .into_iter()
            .map(|r| DeliveryDto {
                id: r.id,
                channel: r.channel.as_str().to_owned(),
                state: match r.state {
                    ports::DeliveryState::Pending => "pending",
                    ports::DeliveryState::Delivered => "delivered",
                    ports::DeliveryState::Failed => "failed",
                }
                .to_owned(),
                attempts: r.attempts,
                last_error: r.last_error,
                delivered_at: r.delivered_at,
                not_before: r.not_before,
            })
            .collect(),
    ))
}

/// Preferences as sent; every field optional. PUT resets missing fields to the defaults, PATCH
/// keeps them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesRequest {
    /// E-mail for job updates.
    pub email_job_updates: Option<bool>,
    /// E-mail for messages.
    pub email_messages: Option<bool>,
    /// E-mail for marketing.
    pub email_marketing: Option<bool>,
    /// Push for job updates.
    pub push_job_updates: Option<bool>,
    /// Push for messages.
    pub push_messages: Option<bool>,
    /// Push for reminders.
    pub push_reminders: Option<bool>,
    /// Live in-app pushes.
    pub inapp_all: Option<bool>,
    /// Quiet hours apply.
    pub quiet_hours_enabled: Option<bool>,
    /// `"HH:MM"`, or null to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub quiet_hours_start: Option<Option<String>>,
    /// `"HH:MM"`, or null to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub quiet_hours_end: Option<Option<String>>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// `{category: {channel: bool}}`.
    #[schema(value_type = Option<Object>)]
    pub channels: Option<BTreeMap<String, BTreeMap<String, bool>>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

impl PreferencesRequest {
    fn input(self) -> PreferencesInput {
        let mut switches = BTreeMap::new();
        for (name, value) in [
            ("email_job_updates", self.email_job_updates),
            ("email_messages", self.email_messages),
            ("email_marketing", self.email_marketing),
            ("push_job_updates", self.push_job_updates),
            ("push_messages", self.push_messages),
            ("push_reminders", self.push_reminders),
        ] {
            if let Some(on) = value {
                switches.insert(name.to_owned(), on);
            }
        }
        PreferencesInput {
            switches,
            inapp_all: self.inapp_all,
            quiet_hours_enabled: self.quiet_hours_enabled,
            quiet_hours_start: self.quiet_hours_start,
            quiet_hours_end: self.quiet_hours_end,
            timezone: self.timezone,
            channels: self.channels.unwrap_or_default(),
        }
    }
}

/// The caller's own preferences (defaults until changed).
#[utoipa::path(get, path = "/api/preferences/", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = PreferencesDto), (status = 401, body = ErrorBody)))]
pub async fn preferences<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
) -> Result<web::Json<PreferencesDto>, ApiError> {
    Ok(web::Json(PreferencesDto::from(
        &services.notifications.preferences(caller.user()?).await?,
    )))
}

/// Replaces the caller's preferences (missing fields take their defaults).
#[utoipa::path(put, path = "/api/preferences/", tag = "notifications", security(("bearer" = [])), request_body = PreferencesRequest,
    responses((status = 200, body = PreferencesDto), (status = 400, body = ErrorBody)))]
pub async fn put_preferences<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    body: web::Json<PreferencesRequest>,
) -> Result<web::Json<PreferencesDto>, ApiError> {
    let updated = services
        .notifications
        .update_preferences(caller.user()?, body.into_inner().input(), true)
        .await?;
    Ok(web::Json(PreferencesDto::from(&updated)))
}

/// Changes some of the caller's preferences.
#[utoipa::path(patch, path = "/api/preferences/", tag = "notifications", security(("bearer" = [])), request_body = PreferencesRequest,
    responses((status = 200, body = PreferencesDto), (status = 400, body = ErrorBody)))]
pub async fn patch_preferences<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    body: web::Json<PreferencesRequest>,
) -> Result<web::Json<PreferencesDto>, ApiError> {
    let updated = services
        .notifications
        .update_preferences(caller.user()?, body.into_inner().input(), false)
        .await?;
    Ok(web::Json(PreferencesDto::from(&updated)))
}

/// A template as an admin writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    /// Unique name (`a-z 0-9 _ . -`); on creation only.
    pub name: Option<String>,
    /// The type it renders.
    pub notification_type: Option<String>,
    /// Title source (minijinja), checked on save.
    pub title_template: Option<String>,
    /// Message source (minijinja), checked on save.
    pub message_template: Option<String>,
    /// `low`, `medium`, `high`, `urgent`.
    pub default_priority: Option<String>,
    /// Used for its type.
    pub is_active: Option<bool>,
}

impl TemplateRequest {
    fn input(self) -> TemplateInput {
        TemplateInput {
            name: self.name,
            notification_type: self.notification_type,
            title_template: self.title_template,
            message_template: self.message_template,
            default_priority: self.default_priority,
            is_active: self.is_active,
        }
    }
}

/// Every template (admins).
#[utoipa::path(get, path = "/api/notification-templates/", tag = "templates", security(("bearer" = [])),
    responses((status = 200, body = [TemplateDto]), (status = 403, body = ErrorBody)))]
pub async fn templates<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
) -> Result<web::Json<Vec<TemplateDto>>, ApiError> {
    Ok(web::Json(
        services
            .notifications
            .templates(caller.user()?)
            .await?
            .iter()
            .map(TemplateDto::from)
            .collect(),
    ))
}

/// Creates a template (admins); a syntax error is a 400 naming the field and line.
#[utoipa::path(post, path = "/api/notification-templates/", tag = "templates", security(("bearer" = [])), request_body = TemplateRequest,
    responses((status = 201, body = TemplateDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_template<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    body: web::Json<TemplateRequest>,
) -> Result<HttpResponse, ApiError> {
    let template = services
        .notifications
        .create_template(caller.user()?, body.into_inner().input())
        .await?;
    Ok(HttpResponse::Created().json(TemplateDto::from(&template)))
}

/// One template (admins).
#[utoipa::path(get, path = "/api/notification-templates/{name}/", tag = "templates", security(("bearer" = [])), params(("name" = String, Path)),
    responses((status = 200, body = TemplateDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn template<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    name: web::Path<String>,
) -> Result<web::Json<TemplateDto>, ApiError> {
    Ok(web::Json(TemplateDto::from(
        &services
            .notifications
            .template(caller.user()?, &name)
            .await?,
    )))
}

/// Replaces a template (admins; every field needed).
#[utoipa::path(put, path = "/api/notification-templates/{name}/", tag = "templates", security(("bearer" = [])), params(("name" = String, Path)), request_body = TemplateRequest,
    responses((status = 200, body = TemplateDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_template<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    name: web::Path<String>,
    body: web::Json<TemplateRequest>,
) -> Result<web::Json<TemplateDto>, ApiError> {
    let template = services
        .notifications
        .update_template(caller.user()?, &name, body.into_inner().input(), true)
        .await?;
    Ok(web::Json(TemplateDto::from(&template)))
}

/// Changes some fields of a template (admins).
#[utoipa::path(patch, path = "/api/notification-templates/{name}/", tag = "templates", security(("bearer" = [])), params(("name" = String, Path)), request_body = TemplateRequest,
    responses((status = 200, body = TemplateDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch_template<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    name: web::Path<String>,
    body: web::Json<TemplateRequest>,
) -> Result<web::Json<TemplateDto>, ApiError> {
    let template = services
        .notifications
        .update_template(caller.user()?, &name, body.into_inner().input(), false)
        .await?;
    Ok(web::Json(TemplateDto::from(&template)))
}

/// Deletes a template (admins); built-in ones cannot be deleted (409).
#[utoipa::path(delete, path = "/api/notification-templates/{name}/", tag = "templates", security(("bearer" = [])), params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_template<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    services
        .notifications
        .delete_template(caller.user()?, &name)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A preview's variables.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderRequest {
    /// Template variables.
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
}

/// A rendered preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderedDto {
    /// Title.
    pub title: String,
    /// Message.
    pub message: String,
}

/// Renders a template with a context (admins); errors are 400 with the line, never a fallback.
#[utoipa::path(post, path = "/api/notification-templates/{name}/render/", tag = "templates", security(("bearer" = [])), params(("name" = String, Path)), request_body = RenderRequest,
    responses((status = 200, body = RenderedDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn render_template<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    name: web::Path<String>,
    body: web::Json<RenderRequest>,
) -> Result<web::Json<RenderedDto>, ApiError> {
    let (title, message) = services
        .notifications
        .preview(caller.user()?, &name, body.into_inner().context)
        .await?;
    Ok(web::Json(RenderedDto { title, message }))
}
