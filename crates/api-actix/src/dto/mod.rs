//! JSON shapes shared by REST responses and WebSocket frames.

pub mod chat;
pub mod job;
pub mod notification;
pub mod page;

pub use chat::{MessageDto, ParticipantDto, RoomDto, SenderDto};
pub use job::{BidDto, JobDto};
pub use notification::{NotificationDto, PreferencesDto, TemplateDto};
pub use page::Page;
