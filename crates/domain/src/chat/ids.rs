//! Identifiers and sequence numbers.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

macro_rules! positive_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw id; ids are positive.
            pub fn new(raw: i64) -> Result<Self, ValidationError> {
                if raw > 0 {
                    Ok(Self(raw))
                } else {
                    Err(ValidationError::new($field, "must be a positive integer"))
                }
            }

            /// The raw id.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

positive_id!(
    /// A chat room's id.
    RoomId,
    "room_id"
);
positive_id!(
    /// A message's id (global, unlike its per-room [`Seq`]).
    MessageId,
    "message_id"
);
positive_id!(
    /// An uploaded file's id.
    AttachmentId,
    "attachment_id"
);

/// A position in a room's message sequence. The first message of a room is 1; 0 means "before
/// the first message" (an empty room's head, a cursor that has read nothing).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Seq(i64);

impl Seq {
    /// Before the first message.
    pub const ZERO: Seq = Seq(0);

    /// Wraps a raw sequence number; negatives are refused.
    pub fn new(raw: i64) -> Result<Self, ValidationError> {
        if raw >= 0 {
            Ok(Self(raw))
        } else {
            Err(ValidationError::new("seq", "must be zero or positive"))
        }
    }

    /// The raw number.
    pub fn get(self) -> i64 {
        self.0
    }

    /// The next position.
    pub fn next(self) -> Seq {
        Seq(self.0 + 1)
    }
}

impl std::fmt::Display for Seq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
