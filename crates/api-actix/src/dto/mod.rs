//! JSON shapes shared by REST responses and WebSocket frames.

pub mod chat;
pub mod page;

pub use chat::{MessageDto, ParticipantDto, RoomDto, SenderDto};
pub use page::Page;
