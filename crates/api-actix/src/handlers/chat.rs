//! Chat over REST (PROTOCOL §2). Every change goes through the same services as the WebSocket,
//! so a message sent here reaches live sessions exactly like one sent over a socket.

// utoipa's actix integration re-emits the `Query<…>` extractor types fully qualified.
#![allow(unused_qualifications)]

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::Query;
use actix_web::{HttpResponse, web};
use app::{CreateRoom, Ports, SendMessage, Services, UpdateRoom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use domain::chat::{RoomId, RoomKind, Seq};
use ports::{HistoryCursor, RoomCursor, RoomFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::auth::Caller;
use crate::dto::{MessageDto, Page, ParticipantDto, RoomDto};
use crate::error::{ApiError, ErrorBody};
use crate::validation::validate;

/// Filters and paging of the room list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomListQuery {
    /// Only rooms of this type (`job`, `direct`, `general`, `support`).
    pub room_type: Option<String>,
    /// Only the rooms of this job.
    pub job_id: Option<i64>,
    /// Include archived rooms.
    pub include_archived: Option<bool>,
    /// Page size (default 50, max 100).
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

fn encode_cursor(cursor: &RoomCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}.{}",
        cursor.last_activity.timestamp_micros(),
        cursor.id
    ))
}

fn decode_cursor(raw: &str) -> Result<RoomCursor, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "cursor is not one this server issued",
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let (micros, id) = text.split_once('.').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let id: i64 = id.parse().map_err(|_| invalid())?;
    Ok(RoomCursor {
        last_activity: DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?,
        id: RoomId::new(id).map_err(|_| invalid())?,
    })
}

/// The caller's rooms, most recent activity first, each with its unread count, last message and
/// participants.
#[utoipa::path(get, path = "/api/chat/rooms/", tag = "chat", security(("bearer" = [])), params(RoomListQuery),
    responses((status = 200, description = "A page of rooms", body = Page<RoomDto>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_rooms<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    query: Query<RoomListQuery>,
) -> Result<web::Json<Page<RoomDto>>, ApiError> {
    let user = caller.user()?;
    let kind = query
        .room_type
        .as_deref()
        .map(RoomKind::parse)
        .transpose()
        .map_err(|e| ApiError::validation(&e.into()))?;
    let cursor = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = RoomFilter {
        kind,
        job_id: query.job_id,
        include_archived: query.include_archived.unwrap_or(false),
    };
    let page = services
        .chat
        .list_rooms(user, filter, cursor, query.limit)
        .await?;
    Ok(web::Json(Page {
        has_more: page.next.is_some(),
        next: page.next.as_ref().map(encode_cursor),
        results: page
            .rooms
            .iter()
            .map(|d| RoomDto::detailed(d, user.id))
            .collect(),
    }))
}

/// A new general or support room; the creator owns it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoomRequest {
    /// `general` or `support`.
    #[validate(length(min = 1, max = 20))]
    pub room_type: String,
    /// Name (unique among public rooms).
    #[validate(length(min = 1, max = 255))]
    pub name: String,
    /// `public` or `private` (default).
    pub visibility: Option<String>,
    /// Users to add as members.
    #[serde(default)]
    #[validate(length(
        max = 100,
        message = "at most 100 members at creation; add more afterwards"
    ))]
    pub member_ids: Vec<i64>,
}

/// Creates a general or support room.
#[utoipa::path(post, path = "/api/chat/rooms/", tag = "chat", security(("bearer" = [])), request_body = CreateRoomRequest,
    responses((status = 201, body = RoomDto), (status = 400, body = ErrorBody), (status = 409, description = "A public room with this name exists", body = ErrorBody)))]
pub async fn create_room<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    body: web::Json<CreateRoomRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let user = caller.user()?;
    let body = body.into_inner();
    let details = services
        .chat
        .create_room(
            user,
            CreateRoom {
                room_type: body.room_type,
                name: body.name,
                visibility: body.visibility,
                member_ids: body.member_ids,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(RoomDto::detailed(&details, user.id)))
}

/// One of the caller's rooms.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = RoomDto), (status = 404, description = "No such room, or not a member", body = ErrorBody)))]
pub async fn get_room<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<RoomDto>, ApiError> {
    let user = caller.user()?;
    let details = services.chat.get_room(user, id.into_inner()).await?;
    Ok(web::Json(RoomDto::detailed(&details, user.id)))
}

/// Changes to a room (owner or admin).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoomRequest {
    /// New name.
    #[validate(length(min = 1, max = 255))]
    pub name: Option<String>,
    /// `public` or `private` (general rooms).
    pub visibility: Option<String>,
    /// `active`, `read_only` or `archived`.
    pub state: Option<String>,
}

/// Renames a room, changes its visibility or state (owner or admin).
#[utoipa::path(patch, path = "/api/chat/rooms/{id}/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateRoomRequest,
    responses((status = 200, body = RoomDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_room<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<UpdateRoomRequest>,
) -> Result<web::Json<RoomDto>, ApiError> {
    validate(&*body)?;
    let user = caller.user()?;
    let body = body.into_inner();
    let details = services
        .chat
        .update_room(
            user,
            id.into_inner(),
            UpdateRoom {
                name: body.name,
                visibility: body.visibility,
                state: body.state,
            },
        )
        .await?;
    Ok(web::Json(RoomDto::detailed(&details, user.id)))
}

/// Archives a room (owner or admin). Its history stays readable.
#[utoipa::path(delete, path = "/api/chat/rooms/{id}/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Archived"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn archive_room<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    services
        .chat
        .archive_room(caller.user()?, id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The members of one of the caller's rooms.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/participants/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [ParticipantDto]), (status = 404, body = ErrorBody)))]
pub async fn participants<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<ParticipantDto>>, ApiError> {
    let members = services
        .chat
        .participants(caller.user()?, id.into_inner())
        .await?;
    Ok(web::Json(
        members
            .iter()
            .map(|(p, u)| ParticipantDto::new(p, u))
            .collect(),
    ))
}

/// A user to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIdRequest {
    /// The user.
    pub user_id: i64,
}

/// Adds a member (owner or admin), or joins a public room (your own id).
#[utoipa::path(post, path = "/api/chat/rooms/{id}/participants/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)), request_body = UserIdRequest,
    responses((status = 201, body = ParticipantDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_participant<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<UserIdRequest>,
) -> Result<HttpResponse, ApiError> {
    let (participant, user) = services
        .chat
        .add_participant(caller.user()?, id.into_inner(), body.user_id)
        .await?;
    Ok(HttpResponse::Created().json(ParticipantDto::new(&participant, &user)))
}

/// Removes a member (owner or admin), or leaves (your own id).
#[utoipa::path(delete, path = "/api/chat/rooms/{id}/participants/{user_id}/", tag = "chat", security(("bearer" = [])),
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_participant<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (room, user) = path.into_inner();
    services
        .chat
        .remove_participant(caller.user()?, room, user)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A direct room and whether it was just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct StartDmResponse {
    /// The room.
    pub room: RoomDto,
    /// True when created by this call.
    pub created: bool,
}

/// The direct room with another user, created on first use (201) or found (200). Concurrent
/// calls give one room.
#[utoipa::path(post, path = "/api/chat/rooms/start_dm/", tag = "chat", security(("bearer" = [])), request_body = UserIdRequest,
    responses((status = 201, body = StartDmResponse), (status = 200, body = StartDmResponse), (status = 400, body = ErrorBody)))]
pub async fn start_dm<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    body: web::Json<UserIdRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = caller.user()?;
    let (details, created) = services.chat.start_dm(user, body.user_id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(StartDmResponse {
        room: RoomDto::detailed(&details, user.id),
        created,
    }))
}

/// History paging by sequence number.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The `limit` messages just before this seq.
    pub before: Option<i64>,
    /// The `limit` messages just after this seq.
    pub after: Option<i64>,
    /// Page size (default 50, max 100).
    pub limit: Option<usize>,
}

/// A room's messages, ascending. Without a cursor: the latest. Reading does not mark anything read.
#[utoipa::path(get, path = "/api/chat/rooms/{id}/messages/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path), HistoryQuery),
    responses((status = 200, body = Page<MessageDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn messages<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
    query: Query<HistoryQuery>,
) -> Result<web::Json<Page<MessageDto>>, ApiError> {
    let user = caller.user()?;
    let seq = |raw: i64, field: &'static str| {
        Seq::new(raw).map_err(|_| {
            ApiError::validation(
                &domain::ValidationError::new(field, "must be zero or positive").into(),
            )
        })
    };
    let cursor = match (query.before, query.after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                &domain::ValidationError::new("before", "use before or after, not both").into(),
            ));
        }
        (Some(before), None) => HistoryCursor::Before(seq(before, "before")?),
        (None, Some(after)) => HistoryCursor::After(seq(after, "after")?),
        (None, None) => HistoryCursor::Latest,
    };
    let (views, has_more) = services
        .chat
        .history(user, id.into_inner(), cursor, query.limit)
        .await?;
    Ok(web::Json(Page {
        results: views
            .iter()
            .map(|v| MessageDto::new(v, v.is_own(user.id)))
            .collect(),
        next: None,
        has_more,
    }))
}

/// A message to send.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// Text (at most the configured limit, 4,000 characters by default).
    pub content: String,
    /// `text` (default), `image` or `file`.
    pub message_type: Option<String>,
    /// A message of the same room this one answers.
    pub reply_to: Option<i64>,
    /// Idempotency key: a retry with the same key returns the original message.
    #[validate(length(min = 1, max = 64))]
    pub client_msg_id: Option<String>,
    /// An upload of yours (`POST /api/chat/attachments/`) to show with the message; the
    /// content may then be empty, and the type defaults to `image` or `file` by the upload.
    pub attachment_id: Option<i64>,
}

/// Sends a message: 201 with the message, or 200 with the original for a retried
/// `client_msg_id`. Delivered live exactly as a WebSocket send.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/send_message/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)), request_body = SendMessageRequest,
    responses((status = 201, body = MessageDto), (status = 200, description = "A retry: the original message", body = MessageDto),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Read-only or archived room", body = ErrorBody)))]
pub async fn send_message<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<SendMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let user = caller.user()?;
    let body = body.into_inner();
    let (view, created) = services
        .chat
        .send_message(
            user,
            SendMessage {
                room_id: id.into_inner(),
                content: body.content,
                message_type: body.message_type,
                reply_to: body.reply_to,
                client_msg_id: body.client_msg_id,
                attachment_id: body.attachment_id,
            },
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(MessageDto::new(&view, true)))
}

/// One message of a room the caller belongs to.
#[utoipa::path(get, path = "/api/chat/messages/{id}/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = MessageDto), (status = 404, body = ErrorBody)))]
pub async fn get_message<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<MessageDto>, ApiError> {
    let user = caller.user()?;
    let view = services.chat.get_message(user, id.into_inner()).await?;
    Ok(web::Json(MessageDto::new(&view, view.is_own(user.id))))
}

/// New content for an own message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    /// The new text.
    pub content: String,
}

/// Edits an own message within the edit window (15 minutes by default).
#[utoipa::path(patch, path = "/api/chat/messages/{id}/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EditMessageRequest,
    responses((status = 200, body = MessageDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn edit_message<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<EditMessageRequest>,
) -> Result<web::Json<MessageDto>, ApiError> {
    let user = caller.user()?;
    let view = services
        .chat
        .edit_message(user, id.into_inner(), &body.content)
        .await?;
    Ok(web::Json(MessageDto::new(&view, true)))
}

/// Deletes a message (its sender, or an admin): it becomes a tombstone.
#[utoipa::path(delete, path = "/api/chat/messages/{id}/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_message<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    services
        .chat
        .delete_message(caller.user()?, id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A read cursor after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadResponse {
    /// The room.
    pub room_id: i64,
    /// The caller's cursor now.
    pub seq: i64,
    /// The caller's unread messages left in the room.
    pub unread_count: i64,
}

/// Reads a room up to this message.
#[utoipa::path(post, path = "/api/chat/messages/{id}/mark_read/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ReadResponse), (status = 404, body = ErrorBody)))]
pub async fn mark_message_read<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ReadResponse>, ApiError> {
    let user = caller.user()?;
    let view = services.chat.get_message(user, id.into_inner()).await?;
    let (seq, unread) = services
        .chat
        .mark_message_read(user, view.message.id.get())
        .await?;
    Ok(web::Json(ReadResponse {
        room_id: view.message.room_id.get(),
        seq: seq.get(),
        unread_count: unread,
    }))
}

/// A cursor position.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// Read up to this seq (clamped to the room's head; the cursor never moves back).
    pub seq: i64,
}

/// Moves the caller's read cursor in a room.
#[utoipa::path(post, path = "/api/chat/rooms/{id}/read/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ReadRequest,
    responses((status = 200, body = ReadResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn mark_room_read<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<ReadRequest>,
) -> Result<web::Json<ReadResponse>, ApiError> {
    let room = id.into_inner();
    let (seq, unread) = services
        .chat
        .mark_read(caller.user()?, room, body.seq)
        .await?;
    Ok(web::Json(ReadResponse {
        room_id: room,
        seq: seq.get(),
        unread_count: unread,
    }))
}

/// Unread messages of the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadResponse {
    /// Over all rooms.
    pub total: i64,
    /// Per room with any (room id → count).
    pub rooms: BTreeMap<String, i64>,
}

/// The caller's unread messages, in total and per room.
#[utoipa::path(get, path = "/api/chat/unread/", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = UnreadResponse), (status = 401, body = ErrorBody)))]
pub async fn unread<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
) -> Result<web::Json<UnreadResponse>, ApiError> {
    let counts = services.chat.unread(caller.user()?).await?;
    Ok(web::Json(UnreadResponse {
        total: counts.total,
        rooms: counts
            .rooms
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect(),
    }))
}

/// An uploaded file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentDto {
    /// Id, for `attachment_id`.
    pub id: i64,
    /// Where to download it (the uploader and members of rooms showing it may).
    pub url: String,
    /// Media type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// File name.
    pub filename: String,
}

impl From<&domain::chat::Attachment> for AttachmentDto {
    fn from(file: &domain::chat::Attachment) -> Self {
        Self {
            id: file.id.get(),
            url: format!("/api/chat/attachments/{}/", file.id),
            content_type: file.content_type.clone(),
            size: file.size,
            filename: file.filename.clone(),
        }
    }
}

/// The multipart upload (documentation only: the body is read as a stream).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file: an image (PNG, JPEG, GIF, WebP) or a PDF/office document, at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn upload_error(status: StatusCode, code: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(status, code, detail)
}

/// Uploads a file to attach to a message (multipart field `file`). Only images and PDF/office
/// documents whose bytes match their type are accepted.
#[utoipa::path(post, path = "/api/chat/attachments/", tag = "chat", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentDto), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn upload<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    mut form: actix_multipart::Multipart,
) -> Result<HttpResponse, ApiError> {
    use futures_util::TryStreamExt as _;
    let user = caller.user()?;
    let limit = services.chat.settings().max_attachment_bytes;
    let malformed = |e: actix_multipart::MultipartError| {
        upload_error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the multipart body could not be read: {e}"),
        )
    };
    while let Some(mut field) = form.try_next().await.map_err(malformed)? {
        if field.name() != Some("file") {
            // Drain and ignore other fields.
            while field.try_next().await.map_err(malformed)?.is_some() {}
            continue;
        }
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("file")
            .to_owned();
        let content_type = field
            .content_type()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(malformed)? {
            if bytes.len() + chunk.len() > limit {
                return Err(upload_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the file exceeds the limit of {limit} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let file = services
            .chat
            .upload(user, &filename, &content_type, bytes)
            .await?;
        return Ok(HttpResponse::Created().json(AttachmentDto::from(&file)));
    }
    Err(ApiError::validation(
        &domain::ValidationError::new("file", "send the file in a multipart field named \"file\"")
            .into(),
    ))
}

/// Downloads an upload: its uploader, and members of rooms whose messages show it.
#[utoipa::path(get, path = "/api/chat/attachments/{id}/", tag = "chat", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn download<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (file, bytes) = services
        .chat
        .download(caller.user()?, id.into_inner())
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", file.filename),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, max-age=3600"))
        .body(bytes))
}
