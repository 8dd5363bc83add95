//! Who may do what in chat, and the read-cursor arithmetic. Pure functions, tested row by row.

use chrono::{DateTime, Duration, Utc};

use crate::chat::ids::Seq;
use crate::chat::message::{Message, MessageKind};
use crate::chat::room::{Participant, ParticipantRole, Room, RoomKind, RoomState, Visibility};
use crate::user::UserId;

/// Why a chat operation is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChatDenial {
    /// The user is not in the room (and may not learn that it exists).
    #[error("room not found")]
    NotParticipant,
    /// The room takes no new messages.
    #[error("the room is read-only")]
    ReadOnly,
    /// The room was archived.
    #[error("the room is archived")]
    Archived,
    /// Only the sender may edit a message.
    #[error("only the sender may edit or delete this message")]
    NotSender,
    /// The edit window has passed.
    #[error("the edit window has passed")]
    EditWindowPassed,
    /// The message was deleted.
    #[error("the message was deleted")]
    Deleted,
    /// Server-written messages cannot be edited.
    #[error("system messages cannot be edited")]
    SystemMessage,
    /// Only the owner (or an admin) manages this room.
    #[error("only the room's owner or an admin may do this")]
    NotOwner,
    /// Job and direct rooms have fixed members.
    #[error("the members of job and direct rooms are fixed")]
    FixedMembership,
    /// The room is not open for anyone to join.
    #[error("this room cannot be joined")]
    NotJoinable,
}

/// A participant may read a room's messages; nobody else may.
pub fn may_read(membership: Option<&Participant>) -> Result<(), ChatDenial> {
    membership.map(|_| ()).ok_or(ChatDenial::NotParticipant)
}

/// A participant may post into an active room.
pub fn may_post(room: &Room, membership: Option<&Participant>) -> Result<(), ChatDenial> {
    may_read(membership)?;
    match room.state {
        RoomState::Active => Ok(()),
        RoomState::ReadOnly => Err(ChatDenial::ReadOnly),
        RoomState::Archived => Err(ChatDenial::Archived),
    }
}

/// The sender may edit their own text/image/file message within `window` of sending it, while
/// the room still takes messages.
pub fn may_edit(
    room: &Room,
    message: &Message,
    editor: UserId,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<(), ChatDenial> {
    if message.is_deleted() {
        return Err(ChatDenial::Deleted);
    }
    if matches!(message.kind, MessageKind::System | MessageKind::JobUpdate) {
        return Err(ChatDenial::SystemMessage);
    }
    if message.sender != Some(editor) {
        return Err(ChatDenial::NotSender);
    }
    if now - message.created_at > window {
        return Err(ChatDenial::EditWindowPassed);
    }
    match room.state {
        RoomState::Active => Ok(()),
        RoomState::ReadOnly => Err(ChatDenial::ReadOnly),
        RoomState::Archived => Err(ChatDenial::Archived),
    }
}

/// The sender, or an admin moderating, may delete a message. System messages only by admins.
pub fn may_delete(message: &Message, deleter: UserId, is_admin: bool) -> Result<(), ChatDenial> {
    if message.is_deleted() {
        return Err(ChatDenial::Deleted);
    }
    if is_admin || message.sender == Some(deleter) {
        Ok(())
    } else {
        Err(ChatDenial::NotSender)
    }
}

/// The owner of a general or support room, or an admin, may rename it, change its visibility,
/// archive it and manage its members. Job and direct rooms are managed by the system (an admin
/// may still archive them).
pub fn may_manage(
    room: &Room,
    membership: Option<&Participant>,
    is_admin: bool,
) -> Result<(), ChatDenial> {
    if is_admin {
        return Ok(());
    }
    let member = membership.ok_or(ChatDenial::NotParticipant)?;
    match room.kind {
        RoomKind::General | RoomKind::Support if member.role == ParticipantRole::Owner => Ok(()),
        RoomKind::General | RoomKind::Support => Err(ChatDenial::NotOwner),
        RoomKind::Job | RoomKind::Direct => Err(ChatDenial::FixedMembership),
    }
}

/// Members of job and direct rooms are fixed; general and support rooms can change.
pub fn membership_is_editable(room: &Room) -> Result<(), ChatDenial> {
    match room.kind {
        RoomKind::General | RoomKind::Support => Ok(()),
        RoomKind::Job | RoomKind::Direct => Err(ChatDenial::FixedMembership),
    }
}

/// Anyone may join an active public general room by themselves.
pub fn may_self_join(room: &Room) -> Result<(), ChatDenial> {
    if room.kind == RoomKind::General
        && room.visibility == Visibility::Public
        && room.state == RoomState::Active
    {
        Ok(())
    } else {
        Err(ChatDenial::NotJoinable)
    }
}

/// A read cursor only moves forward and never past the room's head.
pub fn next_read_cursor(current: Seq, requested: Seq, head: Seq) -> Seq {
    current.max(requested.min(head))
}

/// Whether `message` counts as unread for `reader` whose cursor is `cursor`: a message by someone
/// else (or the system), after the cursor, not deleted.
pub fn counts_as_unread(message: &Message, reader: UserId, cursor: Seq) -> bool {
    message.seq > cursor && message.sender != Some(reader) && !message.is_deleted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ids::{MessageId, RoomId};
    use crate::chat::room::RoomName;

    fn user(id: i64) -> UserId {
        UserId::new(id).unwrap()
    }

    fn room(kind: RoomKind, state: RoomState, visibility: Visibility) -> Room {
        Room {
            id: RoomId::new(1).unwrap(),
            kind,
            name: RoomName::parse("r").unwrap(),
            visibility,
            state,
            job: None,
            created_by: None,
            head_seq: Seq::new(10).unwrap(),
            last_message_preview: None,
            last_message_at: None,
            created_at: Utc::now(),
        }
    }

    fn member(id: i64, role: ParticipantRole) -> Participant {
        Participant {
            room_id: RoomId::new(1).unwrap(),
            user_id: user(id),
            role,
            joined_at: Utc::now(),
            last_read_seq: Seq::ZERO,
            muted_until: None,
        }
    }

    fn message(sender: Option<i64>, kind: MessageKind, age_minutes: i64) -> Message {
        Message {
            id: MessageId::new(1).unwrap(),
            room_id: RoomId::new(1).unwrap(),
            seq: Seq::new(5).unwrap(),
            sender: sender.map(user),
            kind,
            content: "hi".into(),
            attachment: None,
            reply_to: None,
            client_msg_id: None,
            created_at: Utc::now() - Duration::minutes(age_minutes),
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn posting_needs_membership_and_an_active_room() {
        let m = member(1, ParticipantRole::Member);
        let cases = [
            (RoomState::Active, Some(&m), Ok(())),
            (RoomState::Active, None, Err(ChatDenial::NotParticipant)),
            (RoomState::ReadOnly, Some(&m), Err(ChatDenial::ReadOnly)),
            (RoomState::Archived, Some(&m), Err(ChatDenial::Archived)),
            (RoomState::Archived, None, Err(ChatDenial::NotParticipant)),
        ];
        for (state, membership, expected) in cases {
            let r = room(RoomKind::General, state, Visibility::Public);
            assert_eq!(may_post(&r, membership), expected, "{state:?}");
        }
        assert_eq!(may_read(Some(&m)), Ok(()));
        assert_eq!(may_read(None), Err(ChatDenial::NotParticipant));
    }

    #[test]
    fn editing_is_for_the_sender_within_the_window() {
        let r = room(RoomKind::Direct, RoomState::Active, Visibility::Private);
        let window = Duration::minutes(15);
        let now = Utc::now();
        let cases = [
            (message(Some(1), MessageKind::Text, 1), 1, Ok(())),
            (message(Some(1), MessageKind::Image, 14), 1, Ok(())),
            (
                message(Some(1), MessageKind::Text, 16),
                1,
                Err(ChatDenial::EditWindowPassed),
            ),
            (
                message(Some(1), MessageKind::Text, 1),
                2,
                Err(ChatDenial::NotSender),
            ),
            (
                message(None, MessageKind::System, 1),
                1,
                Err(ChatDenial::SystemMessage),
            ),
            (
                message(Some(1), MessageKind::JobUpdate, 1),
                1,
                Err(ChatDenial::SystemMessage),
            ),
        ];
        for (m, editor, expected) in cases {
            assert_eq!(
                may_edit(&r, &m, user(editor), now, window),
                expected,
                "{m:?}"
            );
        }
        let mut deleted = message(Some(1), MessageKind::Text, 1);
        deleted.deleted_at = Some(now);
        assert_eq!(
            may_edit(&r, &deleted, user(1), now, window),
            Err(ChatDenial::Deleted)
        );
        let read_only = room(RoomKind::Job, RoomState::ReadOnly, Visibility::Private);
        assert_eq!(
            may_edit(
                &read_only,
                &message(Some(1), MessageKind::Text, 1),
                user(1),
                now,
                window
            ),
            Err(ChatDenial::ReadOnly)
        );
    }

    #[test]
    fn deleting_is_for_the_sender_or_an_admin() {
        let m = message(Some(1), MessageKind::Text, 100);
        assert_eq!(may_delete(&m, user(1), false), Ok(()));
        assert_eq!(may_delete(&m, user(2), false), Err(ChatDenial::NotSender));
        assert_eq!(may_delete(&m, user(2), true), Ok(()));
        let system = message(None, MessageKind::System, 1);
        assert_eq!(
            may_delete(&system, user(2), false),
            Err(ChatDenial::NotSender)
        );
        assert_eq!(may_delete(&system, user(2), true), Ok(()));
        let mut gone = m.clone();
        gone.deleted_at = Some(Utc::now());
        assert_eq!(may_delete(&gone, user(1), false), Err(ChatDenial::Deleted));
    }

    #[test]
    fn managing_is_for_owners_of_general_and_support_rooms_or_admins() {
        let owner = member(1, ParticipantRole::Owner);
        let plain = member(2, ParticipantRole::Member);
        for kind in [RoomKind::General, RoomKind::Support] {
            let r = room(kind, RoomState::Active, Visibility::Private);
            assert_eq!(may_manage(&r, Some(&owner), false), Ok(()));
            assert_eq!(
                may_manage(&r, Some(&plain), false),
                Err(ChatDenial::NotOwner)
            );
            assert_eq!(may_manage(&r, None, false), Err(ChatDenial::NotParticipant));
            assert_eq!(may_manage(&r, None, true), Ok(()));
            assert_eq!(membership_is_editable(&r), Ok(()));
        }
        for kind in [RoomKind::Job, RoomKind::Direct] {
            let r = room(kind, RoomState::Active, Visibility::Private);
            assert_eq!(
                may_manage(&r, Some(&owner), false),
                Err(ChatDenial::FixedMembership)
            );
            assert_eq!(may_manage(&r, None, true), Ok(()));
            assert_eq!(membership_is_editable(&r), Err(ChatDenial::FixedMembership));
        }
    }

    #[test]
    fn only_active_public_general_rooms_can_be_joined() {
        assert_eq!(
            may_self_join(&room(
                RoomKind::General,
                RoomState::Active,
                Visibility::Public
            )),
            Ok(())
        );
        for r in [
            room(RoomKind::General, RoomState::Active, Visibility::Private),
            room(RoomKind::General, RoomState::Archived, Visibility::Public),
            room(RoomKind::General, RoomState::ReadOnly, Visibility::Public),
            room(RoomKind::Direct, RoomState::Active, Visibility::Public),
            room(RoomKind::Job, RoomState::Active, Visibility::Public),
        ] {
            assert_eq!(may_self_join(&r), Err(ChatDenial::NotJoinable), "{r:?}");
        }
    }

    #[test]
    fn read_cursors_move_forward_only_and_stop_at_the_head() {
        let s = |n| Seq::new(n).unwrap();
        assert_eq!(next_read_cursor(s(3), s(5), s(10)), s(5));
        assert_eq!(next_read_cursor(s(5), s(3), s(10)), s(5));
        assert_eq!(next_read_cursor(s(5), s(99), s(10)), s(10));
        assert_eq!(next_read_cursor(s(0), s(0), s(0)), s(0));
    }

    #[test]
    fn unread_means_by_someone_else_after_the_cursor_and_not_deleted() {
        let s = |n| Seq::new(n).unwrap();
        let theirs = message(Some(2), MessageKind::Text, 0);
        assert!(counts_as_unread(&theirs, user(1), s(4)));
        assert!(!counts_as_unread(&theirs, user(1), s(5)));
        assert!(
            !counts_as_unread(&theirs, user(2), s(0)),
            "own messages never count"
        );
        let system = message(None, MessageKind::System, 0);
        assert!(counts_as_unread(&system, user(1), s(0)));
        let mut deleted = theirs.clone();
        deleted.deleted_at = Some(Utc::now());
        assert!(!counts_as_unread(&deleted, user(1), s(0)));
    }
}
