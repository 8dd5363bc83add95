//! The original's chat sockets (PROTOCOL §5) on the same services: `/ws/chat/<room_name>/` (a
//! public room by name) and `/ws/job_chat/<job_id>/` (a job's room). Unlike the original, both
//! check access: a room name addresses public rooms only, and a job room admits its members and
//! admins.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use app::realtime::{ClientFrame, ClientRequest, FrameEncoder, ServerFrame};
use app::{AppError, Ports, Services};
use domain::auth::Principal;
use domain::chat::{RoomId, RoomState};
use domain::user::User;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dto::MessageDto;
use crate::error::{ApiError, ErrorBody};
use crate::ws::codec::{FrameError, parse_error};
use crate::ws::dialect::Dialect;
use crate::ws::handshake::websocket_token;
use crate::ws::{WsGateway, start_connection};

/// The original chat frames, bound to one room.
#[derive(Debug, Clone, Copy)]
pub struct CompatRoom {
    /// The room.
    pub room_id: RoomId,
}

#[derive(Deserialize)]
struct Say {
    message: String,
    reply_to: Option<i64>,
}

#[derive(Deserialize)]
struct Typing {
    #[serde(default)]
    is_typing: bool,
}

#[derive(Deserialize)]
struct ReadMessage {
    message_id: i64,
}

fn fields<T: serde::de::DeserializeOwned>(
    object: Map<String, Value>,
    reference: Option<String>,
) -> Result<T, FrameError> {
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        let message = if path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        };
        parse_error("validation_error", message, reference)
    })
}

impl Dialect for CompatRoom {
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
        // The original treated a frame without a type as a message.
        let kind = match object.remove("type") {
            None => "message".to_owned(),
            Some(Value::String(kind)) => kind,
            Some(_) => {
                return Err(parse_error(
                    "invalid_frame",
                    "type: must be a string",
                    reference,
                ));
            }
        };
        let request = match kind.as_str() {
            "message" => {
                let f: Say = fields(object, reference.clone())?;
                ClientRequest::SendMessage {
                    room_id: self.room_id.get(),
                    content: f.message.trim().to_owned(),
                    message_type: None,
                    reply_to: f.reply_to,
                    client_msg_id: uuid::Uuid::new_v4().simple().to_string(),
                    attachment_id: None,
                }
            }
            "typing" => {
                let f: Typing = fields(object, reference.clone())?;
                ClientRequest::Typing {
                    room_id: self.room_id.get(),
                    is_typing: f.is_typing,
                }
            }
            "read_message" => {
                let f: ReadMessage = fields(object, reference.clone())?;
                ClientRequest::MarkMessageRead {
                    message_id: f.message_id,
                }
            }
            other => {
                let shown: String = other.chars().take(64).collect();
                return Err(parse_error(
                    "unknown_type",
                    format!("unknown frame type {shown:?}"),
                    reference,
                ));
            }
        };
        Ok(ClientFrame { reference, request })
    }

    fn encoder(&self) -> Arc<dyn FrameEncoder> {
        Arc::new(CompatEncoder)
    }

    fn opening_requests(&self) -> Vec<ClientFrame> {
        vec![ClientFrame {
            reference: None,
            request: ClientRequest::SubscribeRoom {
                room_id: self.room_id.get(),
                since_seq: None,
            },
        }]
    }

    fn greeting(&self, user: &User) -> Vec<Arc<str>> {
        vec![encode(&Out::UserStatus {
            user: user.username.as_str(),
            status: "joined",
        })]
    }
}

// Built and serialised immediately, never stored.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Out<'a> {
    Message { data: MessageDto },
    Typing { user: &'a str, is_typing: bool },
    UserStatus { user: &'a str, status: &'a str },
    Error { error: &'a str, code: &'a str },
}

fn encode(frame: &Out<'_>) -> Arc<str> {
    serde_json::to_string(frame).map_or_else(|_| Arc::from(""), Arc::from)
}

/// The original's outbound frames; everything else of the unified protocol is not sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompatEncoder;

impl FrameEncoder for CompatEncoder {
    fn dialect(&self) -> usize {
        1
    }

    fn encode(&self, frame: &ServerFrame) -> Arc<str> {
        match frame {
            ServerFrame::NewMessage { message, own } => encode(&Out::Message {
                data: MessageDto::new(message, *own),
            }),
            ServerFrame::Typing {
                username,
                is_typing,
                ..
            } => encode(&Out::Typing {
                user: username,
                is_typing: *is_typing,
            }),
            ServerFrame::Presence {
                username, online, ..
            } => encode(&Out::UserStatus {
                user: username,
                status: if *online { "joined" } else { "left" },
            }),
            ServerFrame::Error { code, message, .. } => encode(&Out::Error {
                error: message,
                code,
            }),
            _ => Arc::from(""),
        }
    }
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("{what} not found"),
    )
}

async fn user_of<P: Ports>(
    req: &HttpRequest,
    services: &Services<P>,
    gateway: &WsGateway,
) -> Result<(User, chrono::DateTime<chrono::Utc>), ApiError> {
    gateway.settings.origins.check(req)?;
    let token = websocket_token(req)?;
    let (principal, claims) = services.authenticator.authenticate(&token).await?;
    match principal {
        Principal::User(user) => Ok((user, claims.expires_at)),
        Principal::Service { .. } => {
            Err(AppError::forbidden("not_a_user", "sessions are for user tokens").into())
        }
    }
}

/// The original general-room socket: the public room with this name, created on first use and
/// joined by the caller. Frames: PROTOCOL §5.
#[utoipa::path(get, path = "/ws/chat/{room_name}/", tag = "realtime",
    params(("room_name" = String, Path, description = "Letters, digits and underscores, up to 100")),
    responses((status = 101, description = "Switching protocols (the original's frames)"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn chat_room<P: Ports>(
    req: HttpRequest,
    services: web::Data<Services<P>>,
    gateway: web::Data<WsGateway>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        return Err(ApiError::validation(
            &domain::ValidationError::new(
                "room_name",
                "letters, digits and underscores only, up to 100",
            )
            .into(),
        ));
    }
    let (user, expires_at) = user_of(&req, &services, &gateway).await?;
    let room = services
        .chat
        .open_public_room(&user, &name)
        .await
        .map_err(|e| match e {
            AppError::Forbidden { .. } => not_found("room"),
            other => other.into(),
        })?;
    start_connection(
        &req,
        services.get_ref().clone(),
        &gateway,
        user,
        expires_at,
        Arc::new(CompatRoom { room_id: room.id }),
    )
}

/// Which job room a client or admin means.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobChatQuery {
    /// For clients and admins: the cleaner whose room to open (default: the job's open room).
    pub bidder_id: Option<i64>,
}

/// The original job-chat socket: the room of a job between its client and a cleaner, for those
/// two and admins. A cleaner gets their own room; a client or admin names the cleaner with
/// `?bidder_id=` or gets the job's one open room.
#[utoipa::path(get, path = "/ws/job_chat/{job_id}/", tag = "realtime",
    params(("job_id" = i64, Path), JobChatQuery),
    responses((status = 101, description = "Switching protocols (the original's frames)"), (status = 401, body = ErrorBody), (status = 404, description = "No such job room for the caller", body = ErrorBody)))]
pub async fn job_chat<P: Ports>(
    req: HttpRequest,
    services: web::Data<Services<P>>,
    gateway: web::Data<WsGateway>,
    job_id: web::Path<i64>,
    query: web::Query<JobChatQuery>,
) -> Result<HttpResponse, ApiError> {
    let (user, expires_at) = user_of(&req, &services, &gateway).await?;
    let rooms = services
        .chat
        .job_rooms_for(&user, job_id.into_inner())
        .await?;
    let room = match query.bidder_id {
        Some(bidder) => rooms
            .into_iter()
            .find(|r| r.job.is_some_and(|j| j.cleaner.get() == bidder)),
        None => {
            let mut candidates = rooms;
            // The cleaner's own room first; otherwise the one open room (after acceptance the
            // losing bidders' rooms are read-only).
            candidates.sort_by_key(|r| {
                (
                    r.job.is_some_and(|j| j.cleaner != user.id),
                    r.state != RoomState::Active,
                    std::cmp::Reverse(r.last_activity()),
                )
            });
            candidates.into_iter().next()
        }
    }
    .ok_or_else(|| not_found("job room"))?;
    start_connection(
        &req,
        services.get_ref().clone(),
        &gateway,
        user,
        expires_at,
        Arc::new(CompatRoom { room_id: room.id }),
    )
}
