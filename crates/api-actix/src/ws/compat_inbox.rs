//! The original's notification socket, `/ws/notifications/<user_id>/`, on the same session logic —
//! for the token's own user only (the original let staff follow anyone's inbox).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use app::realtime::{ClientFrame, ClientRequest, FrameEncoder, ServerFrame};
use app::{AppError, Ports, Services};
use domain::auth::Principal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dto::NotificationDto;
use crate::error::{ApiError, ErrorBody};
use crate::ws::codec::{FrameError, parse_error};
use crate::ws::dialect::Dialect;
use crate::ws::handshake::websocket_token;
use crate::ws::{WsGateway, start_connection};

/// The original inbox frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompatInbox;

#[derive(Deserialize)]
struct MarkRead {
    notification_id: i64,
}

impl Dialect for CompatInbox {
    fn parse(&self, text: &str) -> Result<ClientFrame, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            parse_error("malformed_json", format!("Invalid JSON format: {e}"), None)
        })?;
        let Value::Object(mut object) = value else {
            return Err(parse_error(
                "invalid_frame",
                "a frame must be a JSON object",
                None,
            ));
        };
        let reference = match object.remove("ref") {
            Some(Value::String(r)) => Some(r),
            _ => None,
        };
        let request = match object.remove("action") {
            Some(Value::String(action)) => match action.as_str() {
                "mark_read" => {
                    let f: MarkRead = serde_path_to_error::deserialize(Value::Object(object))
                        .map_err(|e| {
                            parse_error(
                                "validation_error",
                                format!("{}: {}", e.path(), e.inner()),
                                reference.clone(),
                            )
                        })?;
                    ClientRequest::MarkNotificationRead {
                        notification_id: f.notification_id,
                    }
                }
                "mark_all_read" => ClientRequest::MarkAllNotificationsRead,
                "get_unread_count" => ClientRequest::GetUnreadCount,
                other => {
                    let shown: String = other.chars().take(64).collect();
                    return Err(parse_error(
                        "unknown_type",
                        format!("unknown action {shown:?}"),
                        reference,
                    ));
                }
            },
            None => {
                return Err(parse_error(
                    "missing_type",
                    "the frame has no action",
                    reference,
                ));
            }
            Some(_) => {
                return Err(parse_error(
                    "invalid_frame",
                    "action: must be a string",
                    reference,
                ));
            }
        };
        Ok(ClientFrame { reference, request })
    }

    fn encoder(&self) -> Arc<dyn FrameEncoder> {
        Arc::new(InboxEncoder)
    }

    fn opening_requests(&self) -> Vec<ClientFrame> {
        vec![ClientFrame {
            reference: None,
            request: ClientRequest::RecentNotifications { limit: 10 },
        }]
    }
}

// Built and serialised immediately, never stored.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Out<'a> {
    NewNotification { notification: NotificationDto },
    UnreadCount { count: i64 },
    NotificationRead { notification_id: i64 },
    AllNotificationsRead { marked_count: u64 },
    RecentNotifications { notifications: Vec<NotificationDto> },
    Error { error: &'a str, code: &'a str },
}

/// The original's frames; the unified protocol's others are not sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct InboxEncoder;

impl FrameEncoder for InboxEncoder {
    fn dialect(&self) -> usize {
        2
    }

    fn encode(&self, frame: &ServerFrame) -> Arc<str> {
        let out = match frame {
            ServerFrame::NewNotification { notification } => Out::NewNotification {
                notification: NotificationDto::pushed(notification),
            },
            ServerFrame::UnreadCount { notifications, .. } => Out::UnreadCount {
                count: *notifications,
            },
            ServerFrame::NotificationRead { notification_id } => Out::NotificationRead {
                notification_id: notification_id.get(),
            },
            ServerFrame::AllNotificationsRead { marked_count } => Out::AllNotificationsRead {
                marked_count: *marked_count,
            },
            // As the original: sent only when there is something to show.
            ServerFrame::RecentNotifications { notifications } if !notifications.is_empty() => {
                Out::RecentNotifications {
                    notifications: notifications.iter().map(NotificationDto::new).collect(),
                }
            }
            ServerFrame::Error { code, message, .. } => Out::Error {
                error: message,
                code,
            },
            _ => return Arc::from(""),
        };
        serde_json::to_string(&out).map_or_else(|_| Arc::from(""), Arc::from)
    }
}

/// The original notification socket: the caller's own inbox, with the original's frames
/// (PROTOCOL §5). Another user's id is refused with 403 before the upgrade, whoever asks.
#[utoipa::path(get, path = "/ws/notifications/{user_id}/", tag = "realtime",
    params(("user_id" = i64, Path, description = "Must be the token's own user")),
    responses((status = 101, description = "Switching protocols (the original's frames)"), (status = 401, body = ErrorBody), (status = 403, description = "Not the caller's own inbox", body = ErrorBody)))]
pub async fn inbox<P: Ports>(
    req: HttpRequest,
    services: web::Data<Services<P>>,
    gateway: web::Data<WsGateway>,
    user_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    gateway.settings.origins.check(&req)?;
    let token = websocket_token(&req)?;
    let (principal, claims) = services.authenticator.authenticate(&token).await?;
    let Principal::User(user) = principal else {
        return Err(AppError::forbidden("not_a_user", "sessions are for user tokens").into());
    };
    if user.id.get() != user_id.into_inner() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you may only follow your own notifications",
        ));
    }
    start_connection(
        &req,
        services.get_ref().clone(),
        &gateway,
        user,
        claims.expires_at,
        Arc::new(CompatInbox),
    )
}
