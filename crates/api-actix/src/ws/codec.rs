//! JSON ↔ frames. Parsing never panics and never closes the connection: every malformed frame
//! becomes an `error` frame carrying the request's `ref` when one could be read.

use std::sync::Arc;

use app::realtime::{ClientFrame, ClientRequest, FrameEncoder, ServerFrame};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dto::{JobDto, MessageDto, NotificationDto, RoomDto};

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Machine code.
    pub code: &'static str,
    /// Human explanation.
    pub message: String,
    /// The request's ref, when it could be read.
    pub reference: Option<String>,
}

impl FrameError {
    /// The `error` frame to send back.
    pub fn into_frame(self) -> ServerFrame {
        ServerFrame::Error {
            code: self.code.to_owned(),
            message: self.message,
            reference: self.reference,
            room_id: None,
        }
    }
}

/// A frame error.
pub fn parse_error(
    code: &'static str,
    message: impl Into<String>,
    reference: Option<String>,
) -> FrameError {
    FrameError {
        code,
        message: message.into(),
        reference,
    }
}

#[derive(Deserialize)]
struct RoomRef {
    room_id: i64,
    since_seq: Option<i64>,
}

#[derive(Deserialize)]
struct Send {
    room_id: i64,
    content: String,
    message_type: Option<String>,
    reply_to: Option<i64>,
    client_msg_id: String,
    attachment_id: Option<i64>,
}

#[derive(Deserialize)]
struct Edit {
    message_id: i64,
    content: String,
}

#[derive(Deserialize)]
struct MessageRef {
    message_id: i64,
}

#[derive(Deserialize)]
struct TypingRequest {
    room_id: i64,
    is_typing: bool,
}

#[derive(Deserialize)]
struct MarkRead {
    room_id: i64,
    seq: i64,
}

#[derive(Deserialize)]
struct Since {
    since_seq: Option<i64>,
}

#[derive(Deserialize)]
struct NotificationRef {
    notification_id: i64,
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

/// Deserialises the fields of a frame, naming the offending field on failure.
fn fields<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, String> {
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        if path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// Reads one text frame of the unified protocol.
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        parse_error(
            "malformed_json",
            format!("the frame is not valid JSON: {e}"),
            None,
        )
    })?;
    let Value::Object(mut object) = value else {
        return Err(parse_error(
            "invalid_frame",
            "a frame must be a JSON object",
            None,
        ));
    };
    let reference = match object.remove("ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r.len() <= 128 => Some(r),
        Some(Value::String(_)) => {
            return Err(parse_error(
                "invalid_frame",
                "ref: at most 128 characters",
                None,
            ));
        }
        Some(_) => return Err(parse_error("invalid_frame", "ref: must be a string", None)),
    };
    let kind = match object.remove("type") {
        Some(Value::String(kind)) => kind,
        None => {
            return Err(parse_error(
                "missing_type",
                "the frame has no type",
                reference,
            ));
        }
        Some(_) => {
            return Err(parse_error(
                "invalid_frame",
                "type: must be a string",
                reference,
            ));
        }
    };
    let invalid = |message: String| parse_error("validation_error", message, reference.clone());
    let request = match kind.as_str() {
        "subscribe_room" => {
            let f: RoomRef = fields(object).map_err(invalid)?;
            ClientRequest::SubscribeRoom {
                room_id: f.room_id,
                since_seq: f.since_seq,
            }
        }
        "unsubscribe_room" => {
            let f: RoomRef = fields(object).map_err(invalid)?;
            ClientRequest::UnsubscribeRoom { room_id: f.room_id }
        }
        "send_message" => {
            let f: Send = fields(object).map_err(invalid)?;
            ClientRequest::SendMessage {
                room_id: f.room_id,
                content: f.content,
                message_type: f.message_type,
                reply_to: f.reply_to,
                client_msg_id: f.client_msg_id,
                attachment_id: f.attachment_id,
            }
        }
        "edit_message" => {
            let f: Edit = fields(object).map_err(invalid)?;
            ClientRequest::EditMessage {
                message_id: f.message_id,
                content: f.content,
            }
        }
        "delete_message" => {
            let f: MessageRef = fields(object).map_err(invalid)?;
            ClientRequest::DeleteMessage {
                message_id: f.message_id,
            }
        }
        "typing" => {
            let f: TypingRequest = fields(object).map_err(invalid)?;
            ClientRequest::Typing {
                room_id: f.room_id,
                is_typing: f.is_typing,
            }
        }
        "mark_read" => {
            let f: MarkRead = fields(object).map_err(invalid)?;
            ClientRequest::MarkRead {
                room_id: f.room_id,
                seq: f.seq,
            }
        }
        "subscribe_notifications" => {
            let f: Since = fields(object).map_err(invalid)?;
            ClientRequest::SubscribeNotifications {
                since_seq: f.since_seq,
            }
        }
        "mark_notification_read" => {
            let f: NotificationRef = fields(object).map_err(invalid)?;
            ClientRequest::MarkNotificationRead {
                notification_id: f.notification_id,
            }
        }
        "mark_all_notifications_read" => ClientRequest::MarkAllNotificationsRead,
        "get_unread_count" => ClientRequest::GetUnreadCount,
        "auth_refresh" => {
            let f: Token = fields(object).map_err(invalid)?;
            ClientRequest::AuthRefresh { token: f.token }
        }
        "ping" => ClientRequest::Ping,
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

/// The JSON of every server frame.
// Built and serialised immediately, never stored: the size spread between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire<'a> {
    ConnectionEstablished {
        user_id: i64,
        session_id: &'a str,
        server_time: DateTime<Utc>,
        heartbeat_s: u64,
    },
    UnreadCount {
        notifications: i64,
        chat: ChatUnread,
    },
    Subscribed {
        room_id: i64,
        last_seq: i64,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    Unsubscribed {
        room_id: i64,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    MessageAck {
        client_msg_id: &'a str,
        message: MessageDto,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    NewMessage {
        room_id: i64,
        message: MessageDto,
    },
    MessageUpdated {
        room_id: i64,
        message: MessageDto,
    },
    MessageDeleted {
        room_id: i64,
        message: MessageDto,
    },
    Typing {
        room_id: i64,
        user_id: i64,
        username: &'a str,
        is_typing: bool,
    },
    ReadReceipt {
        room_id: i64,
        user_id: i64,
        seq: i64,
    },
    Presence {
        user_id: i64,
        username: &'a str,
        online: bool,
        last_seen: Option<DateTime<Utc>>,
    },
    RoomUpdated {
        room: RoomDto,
        member: bool,
    },
    JobUpdated {
        job: JobDto,
    },
    Pong {
        server_time: DateTime<Utc>,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    AuthRefreshed {
        exp: DateTime<Utc>,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    NewNotification {
        notification: NotificationDto,
    },
    NotificationRead {
        notification_id: i64,
    },
    AllNotificationsRead {
        marked_count: u64,
    },
    NotificationsSubscribed {
        last_seq: i64,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    RecentNotifications {
        notifications: Vec<NotificationDto>,
    },
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        room_id: Option<i64>,
    },
}

#[derive(Serialize)]
struct ChatUnread {
    total: i64,
    rooms: std::collections::BTreeMap<String, i64>,
}

/// Encodes frames as the protocol's JSON.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonEncoder;

impl JsonEncoder {
    fn wire(frame: &ServerFrame) -> Wire<'_> {
        match frame {
            ServerFrame::ConnectionEstablished {
                user_id,
                session_id,
                server_time,
                heartbeat_s,
            } => Wire::ConnectionEstablished {
                user_id: user_id.get(),
                session_id,
                server_time: *server_time,
                heartbeat_s: *heartbeat_s,
            },
            ServerFrame::UnreadCount {
                notifications,
                chat,
            } => Wire::UnreadCount {
                notifications: *notifications,
                chat: ChatUnread {
                    total: chat.total,
                    rooms: chat
                        .rooms
                        .iter()
                        .map(|(id, n)| (id.to_string(), *n))
                        .collect(),
                },
            },
            ServerFrame::Subscribed {
                room_id,
                last_seq,
                reference,
            } => Wire::Subscribed {
                room_id: room_id.get(),
                last_seq: last_seq.get(),
                reference: reference.as_deref(),
            },
            ServerFrame::Unsubscribed { room_id, reference } => Wire::Unsubscribed {
                room_id: room_id.get(),
                reference: reference.as_deref(),
            },
            ServerFrame::MessageAck {
                client_msg_id,
                message,
                reference,
            } => Wire::MessageAck {
                client_msg_id,
                message: MessageDto::new(message, true),
                reference: reference.as_deref(),
            },
            ServerFrame::NewMessage { message, own } => Wire::NewMessage {
                room_id: message.message.room_id.get(),
                message: MessageDto::new(message, *own),
            },
            ServerFrame::MessageUpdated { message, own } => Wire::MessageUpdated {
                room_id: message.message.room_id.get(),
                message: MessageDto::new(message, *own),
            },
            ServerFrame::MessageDeleted { message, own } => Wire::MessageDeleted {
                room_id: message.message.room_id.get(),
                message: MessageDto::new(message, *own),
            },
            ServerFrame::Typing {
                room_id,
                user_id,
                username,
                is_typing,
            } => Wire::Typing {
                room_id: room_id.get(),
                user_id: user_id.get(),
                username,
                is_typing: *is_typing,
            },
            ServerFrame::ReadReceipt {
                room_id,
                user_id,
                seq,
            } => Wire::ReadReceipt {
                room_id: room_id.get(),
                user_id: user_id.get(),
                seq: seq.get(),
            },
            ServerFrame::Presence {
                user_id,
                username,
                online,
                last_seen,
            } => Wire::Presence {
                user_id: user_id.get(),
                username,
                online: *online,
                last_seen: *last_seen,
            },
            ServerFrame::JobUpdated { job } => Wire::JobUpdated {
                job: JobDto::from(job),
            },
            ServerFrame::RoomUpdated { room, member } => Wire::RoomUpdated {
                room: RoomDto::bare(room),
                member: *member,
            },
            ServerFrame::Pong {
                server_time,
                reference,
            } => Wire::Pong {
                server_time: *server_time,
                reference: reference.as_deref(),
            },
            ServerFrame::AuthRefreshed { exp, reference } => Wire::AuthRefreshed {
                exp: *exp,
                reference: reference.as_deref(),
            },
            ServerFrame::NewNotification { notification } => Wire::NewNotification {
                notification: NotificationDto::pushed(notification),
            },
            ServerFrame::NotificationRead { notification_id } => Wire::NotificationRead {
                notification_id: notification_id.get(),
            },
            ServerFrame::AllNotificationsRead { marked_count } => Wire::AllNotificationsRead {
                marked_count: *marked_count,
            },
            ServerFrame::NotificationsSubscribed {
                last_seq,
                reference,
            } => Wire::NotificationsSubscribed {
                last_seq: last_seq.get(),
                reference: reference.as_deref(),
            },
            ServerFrame::RecentNotifications { notifications } => Wire::RecentNotifications {
                notifications: notifications.iter().map(NotificationDto::new).collect(),
            },
            ServerFrame::Error {
                code,
                message,
                reference,
                room_id,
            } => Wire::Error {
                code,
                message,
                reference: reference.as_deref(),
                room_id: *room_id,
            },
        }
    }
}

impl FrameEncoder for JsonEncoder {
    fn dialect(&self) -> usize {
        0
    }

    fn encode(&self, frame: &ServerFrame) -> Arc<str> {
        match serde_json::to_string(&Self::wire(frame)) {
            Ok(text) => Arc::from(text),
            Err(error) => {
                // Serialising these plain structs cannot fail; if it ever does, say so on the wire.
                tracing::error!(%error, "encoding a frame failed");
                Arc::from(
                    r#"{"type":"error","code":"internal_error","message":"a frame could not be encoded"}"#,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(result: Result<ClientFrame, FrameError>) -> (String, Option<String>) {
        match result {
            Err(FrameError {
                code, reference, ..
            }) => (code.to_owned(), reference),
            other => panic!("expected an error frame, got {other:?}"),
        }
    }

    #[test]
    fn well_formed_frames_parse_with_their_ref() {
        let frame =
            parse(r#"{"type":"subscribe_room","room_id":4,"since_seq":10,"ref":"a1"}"#).unwrap();
        assert_eq!(frame.reference.as_deref(), Some("a1"));
        assert_eq!(
            frame.request,
            ClientRequest::SubscribeRoom {
                room_id: 4,
                since_seq: Some(10)
            }
        );
        assert_eq!(
            parse(r#"{"type":"ping"}"#).unwrap().request,
            ClientRequest::Ping
        );
    }

    #[test]
    fn every_malformation_has_its_code_and_keeps_the_ref_when_readable() {
        assert_eq!(code_of(parse("{not json")), ("malformed_json".into(), None));
        assert_eq!(code_of(parse("[1,2]")), ("invalid_frame".into(), None));
        assert_eq!(code_of(parse("\"ping\"")), ("invalid_frame".into(), None));
        assert_eq!(
            code_of(parse(r#"{"ref":"r"}"#)),
            ("missing_type".into(), Some("r".into()))
        );
        assert_eq!(
            code_of(parse(r#"{"type":5,"ref":"r"}"#)),
            ("invalid_frame".into(), Some("r".into()))
        );
        assert_eq!(
            code_of(parse(r#"{"type":"teleport","ref":"r"}"#)),
            ("unknown_type".into(), Some("r".into()))
        );
        assert_eq!(
            code_of(parse(r#"{"type":"ping","ref":7}"#)),
            ("invalid_frame".into(), None)
        );
    }

    #[test]
    fn wrong_field_types_name_the_field() {
        match parse(
            r#"{"type":"send_message","room_id":"four","content":"x","client_msg_id":"c","ref":"r"}"#,
        ) {
            Err(FrameError {
                code,
                message,
                reference,
            }) => {
                assert_eq!(code, "validation_error");
                assert!(message.contains("room_id"), "{message}");
                assert_eq!(reference.as_deref(), Some("r"));
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"{"type":"send_message","room_id":4,"content":"x"}"#) {
            Err(FrameError { message, .. }) => {
                assert!(message.contains("client_msg_id"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
}
