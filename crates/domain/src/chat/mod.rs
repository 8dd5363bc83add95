//! Chat: rooms, participants, sequenced messages, read cursors, and the rules that govern them.

pub mod attachment;
pub mod ids;
pub mod message;
pub mod room;
pub mod rules;

pub use attachment::{Attachment, AttachmentKind, NewAttachment};
pub use ids::{AttachmentId, MessageId, RoomId, Seq};
pub use message::{ClientMsgId, Message, MessageBody, MessageKind, NewMessage};
pub use room::{
    JobRoomKey, NewRoom, Participant, ParticipantRole, Room, RoomKind, RoomName, RoomState,
    Visibility,
};
pub mod view;

pub use view::{MessageView, ReplyPreview, UserSummary};
