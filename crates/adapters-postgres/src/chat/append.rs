//! Appending a message: one statement, prepared once per connection.
//!
//! The statement answers a retry with the message an earlier send with the same idempotency
//! key stored, or increments the room's `head_seq` (taking the room row's lock, which serialises
//! the senders of one room and keeps `seq` gap-free), inserts the message at that `seq` and moves
//! the sender's read cursor past it. A room that is missing, or closed to a user's message,
//! updates no row and so returns none. Outside a transaction the room lock lasts one statement;
//! the `SELECT … FOR UPDATE` transaction this replaced held it over seven round trips, which
//! capped one room at a few hundred messages a second.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Untyped};
use diesel::{QueryResult, QueryableByName};
use domain::chat::{MessageId, NewMessage, RoomState};
use domain::user::UserId;

use super::rows::MessageRow;

/// `$n` are the fields of [`AppendQuery`], numbered as in [`AppendQuery::bind`].
const APPEND_SQL: &str = "\
WITH earlier AS (
    SELECT * FROM chat_messages
     WHERE $8::text IS NOT NULL AND room_id = $1
       AND COALESCE(sender_id, 0) = COALESCE($3::bigint, 0) AND client_msg_id = $8::text
), room AS (
    UPDATE chat_rooms
       SET head_seq = head_seq + 1, last_message_preview = $2,
           last_message_at = now(), updated_at = now()
     WHERE id = $1 AND (state = $9 OR $3::bigint IS NULL) AND NOT EXISTS (SELECT 1 FROM earlier)
 RETURNING id, head_seq
), message AS (
    INSERT INTO chat_messages
           (room_id, seq, sender_id, kind, content, attachment_id, reply_to_id, client_msg_id)
    SELECT id, head_seq, $3::bigint, $4, $5, $6::bigint, $7::bigint, $8::text FROM room
 RETURNING *
), cursor AS (
    UPDATE chat_participants AS p
       SET last_read_seq = GREATEST(p.last_read_seq, message.seq)
      FROM message
     WHERE p.room_id = message.room_id AND p.user_id = message.sender_id
)
SELECT message.*, true AS created FROM message
UNION ALL
SELECT earlier.*, false AS created FROM earlier";

/// The row the statement returns: the message, and whether this call stored it.
#[derive(Debug, QueryableByName)]
pub(crate) struct AppendedRow {
    #[diesel(embed)]
    pub message: MessageRow,
    #[diesel(sql_type = Bool)]
    pub created: bool,
}

/// [`APPEND_SQL`] with its parameters. A query of its own type rather than a `sql_query`, which
/// diesel re-parses on every call (two round trips and a plan each time): this one has a static
/// query id, so each connection prepares it once.
#[derive(Debug)]
pub(crate) struct AppendQuery<'a> {
    room: i64,
    preview: String,
    sender: Option<i64>,
    kind: &'a str,
    content: &'a str,
    attachment: Option<i64>,
    reply_to: Option<i64>,
    client_msg_id: Option<&'a str>,
    active: &'static str,
}

impl<'a> AppendQuery<'a> {
    pub(crate) fn new(new: &'a NewMessage, preview: String) -> Self {
        Self {
            room: new.room_id.get(),
            preview,
            sender: new.sender.map(UserId::get),
            kind: new.kind.as_str(),
            content: new.content.as_str(),
            attachment: new.attachment.map(|a| a.get()),
            reply_to: new.reply_to.map(MessageId::get),
            client_msg_id: new.client_msg_id.as_ref().map(|k| k.as_str()),
            active: RoomState::Active.as_str(),
        }
    }

    fn bind<'b>(&'b self, n: u32, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match n {
            1 => out.push_bind_param::<BigInt, _>(&self.room),
            2 => out.push_bind_param::<Text, _>(&self.preview),
            3 => out.push_bind_param::<Nullable<BigInt>, _>(&self.sender),
            4 => out.push_bind_param::<Text, _>(&self.kind),
            5 => out.push_bind_param::<Text, _>(&self.content),
            6 => out.push_bind_param::<Nullable<BigInt>, _>(&self.attachment),
            7 => out.push_bind_param::<Nullable<BigInt>, _>(&self.reply_to),
            8 => out.push_bind_param::<Nullable<Text>, _>(&self.client_msg_id),
            9 => out.push_bind_param::<Text, _>(&self.active),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("APPEND_SQL names an unknown parameter ${n}").into(),
            )),
        }
    }
}

/// The type-level id of [`AppendQuery`] (its SQL never changes).
#[derive(Debug)]
pub(crate) struct AppendQueryId;

impl QueryId for AppendQuery<'_> {
    type QueryId = AppendQueryId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for AppendQuery<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for AppendQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Each `$n` of the text becomes a bind of field n (diesel numbers the placeholders).
        let mut pieces = APPEND_SQL.split('$');
        if let Some(head) = pieces.next() {
            out.push_sql(head);
        }
        for piece in pieces {
            let digits = piece.bytes().take_while(u8::is_ascii_digit).count();
            let n: u32 = piece[..digits].parse().map_err(|_| {
                diesel::result::Error::QueryBuilderError("a `$` without a number".into())
            })?;
            self.bind(n, &mut out)?;
            out.push_sql(&piece[digits..]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::debug_query;
    use domain::chat::{ClientMsgId, MessageBody, MessageKind, RoomId};

    #[test]
    fn every_placeholder_becomes_a_bind_of_its_field() {
        let new = NewMessage {
            room_id: RoomId::new(7).unwrap(),
            sender: Some(UserId::new(3).unwrap()),
            kind: MessageKind::Text,
            content: MessageBody::parse("hello", 100).unwrap(),
            attachment: None,
            reply_to: None,
            client_msg_id: Some(ClientMsgId::parse("k-1").unwrap()),
        };
        let query = AppendQuery::new(&new, "hello".into());
        let shown = debug_query::<Pg, _>(&query).to_string();
        // Fourteen `$n` in the text, numbered in order by diesel.
        assert!(shown.contains("$14"), "{shown}");
        assert!(!shown.contains("$15"), "{shown}");
        assert!(
            shown.contains(r#"binds: [Some("k-1"), 7, Some(3), Some("k-1"), "hello", 7, "active""#),
            "{shown}"
        );
    }
}
