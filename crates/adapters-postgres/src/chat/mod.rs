//! Rooms, participants and messages in PostgreSQL.
//!
//! Sequence numbers: `append_message` checks the idempotency key, increments `head_seq` and
//! inserts the message in one statement (see [`append`]), so senders of one room are serialised
//! by the room row's lock and `seq` is gap-free; the unique `(room_id, seq)` constraint is the
//! backstop. Races on "one room per pair/job/name" are settled by partial unique indexes with
//! `INSERT … ON CONFLICT DO NOTHING`.

mod append;
pub(crate) mod rows;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::chat::rules::next_read_cursor;
use domain::chat::{
    Message, MessageBody, MessageId, NewMessage, NewRoom, Participant, ParticipantRole, Room,
    RoomId, RoomKind, RoomName, RoomState, Seq, Visibility,
};
use domain::user::UserId;
use ports::{
    Appended, ChatRepository, HistoryCursor, HistoryPage, Membership, PortError, RoomCursor,
    RoomFilter, RoomPatch, UnreadCounts,
};

use self::append::{AppendQuery, AppendedRow};
use self::rows::{MessageRow, ParticipantRow, RoomRow};
use crate::errors::{db, map_query_error};
use crate::pool::{PgPool, conn};
use crate::schema::{chat_messages, chat_participants, chat_rooms};

/// Which unique index means which rule.
const UNIQUE_RULES: &[(&str, &str)] = &[
    ("chat_rooms_public_name_key", "room_name"),
    ("chat_rooms_job_key", "job_room"),
    ("chat_participants_pkey", "participant"),
];

/// Characters of a message kept as the room's preview.
const PREVIEW_CHARS: usize = 200;

/// The chat tables.
#[derive(Clone)]
pub struct PgChat {
    pool: PgPool,
}

impl std::fmt::Debug for PgChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgChat")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgChat {
    /// The repository over this pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn direct_key(a: UserId, b: UserId) -> String {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

/// Inserts a room row (with `ON CONFLICT DO NOTHING` for the race-settled kinds) and, when it was
/// inserted, its members. Returns the row when inserted.
async fn insert_room(
    conn: &mut AsyncPgConnection,
    room: &NewRoom,
    direct: Option<&str>,
    on_conflict: &str,
    members: &[(UserId, ParticipantRole)],
) -> Result<Option<RoomRow>, diesel::result::Error> {
    let sql = format!(
        "INSERT INTO chat_rooms (kind, name, visibility, job_id, job_cleaner_id, direct_key, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) {on_conflict} RETURNING *"
    );
    let inserted: Option<RoomRow> = diesel::sql_query(sql)
        .bind::<Text, _>(room.kind.as_str())
        .bind::<Text, _>(room.name.as_str())
        .bind::<Text, _>(room.visibility.as_str())
        .bind::<Nullable<BigInt>, _>(room.job.map(|j| j.job_id))
        .bind::<Nullable<BigInt>, _>(room.job.map(|j| j.cleaner.get()))
        .bind::<Nullable<Text>, _>(direct)
        .bind::<Nullable<BigInt>, _>(room.created_by.map(UserId::get))
        .get_result(conn)
        .await
        .optional()?;
    if let Some(row) = &inserted {
        let values: Vec<_> = members
            .iter()
            .map(|(user, role)| {
                (
                    chat_participants::room_id.eq(row.id),
                    chat_participants::user_id.eq(user.get()),
                    chat_participants::role.eq(role.as_str()),
                )
            })
            .collect();
        diesel::insert_into(chat_participants::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

pub(crate) async fn room_row(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<RoomRow, diesel::result::Error> {
    chat_rooms::table
        .find(id)
        .select(RoomRow::as_select())
        .first(conn)
        .await
}

/// The message an earlier send with the same idempotency key stored, if any.
async fn earlier_send(
    conn: &mut AsyncPgConnection,
    new: &NewMessage,
) -> Result<Option<MessageRow>, diesel::result::Error> {
    let Some(key) = &new.client_msg_id else {
        return Ok(None);
    };
    chat_messages::table
        .filter(chat_messages::room_id.eq(new.room_id.get()))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("COALESCE(sender_id, 0) = ")
                .bind::<BigInt, _>(new.sender.map_or(0, UserId::get)),
        )
        .filter(chat_messages::client_msg_id.eq(key.as_str()))
        .select(MessageRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Appends a message (see [`ChatRepository::append_message`] and [`append`]), in the caller's
/// transaction if there is one. The outer error is the database's; the inner one the port's
/// answer (`NotFound`, a closed room).
///
/// Two *concurrent* sends with one key both find no earlier send; the room lock orders them and
/// the unique index rejects the second, which `append_message` answers with the first. Inside a
/// transaction (job events) the key is derived from the event, and the version-checked job write
/// before it lets only one transaction per event get this far.
pub(crate) async fn append_in(
    conn: &mut AsyncPgConnection,
    new: &NewMessage,
) -> Result<Result<(MessageRow, bool), PortError>, diesel::result::Error> {
    let appended: Option<AppendedRow> = AppendQuery::new(new, new.content.preview(PREVIEW_CHARS))
        .get_result(conn)
        .await
        .optional()?;
    if let Some(row) = appended {
        return Ok(Ok((row.message, row.created)));
    }
    // Nothing written: say whether the room is missing or closed.
    let exists: Option<i64> = chat_rooms::table
        .find(new.room_id.get())
        .select(chat_rooms::id)
        .first(conn)
        .await
        .optional()?;
    Ok(Err(match exists {
        None => PortError::NotFound,
        Some(_) => PortError::Conflict("room_state"),
    }))
}

/// The job room of `job`, created with `members` if missing, inside the caller's transaction.
pub(crate) async fn job_room_in(
    conn: &mut AsyncPgConnection,
    room: &NewRoom,
    job: domain::chat::JobRoomKey,
    members: &[(UserId, ParticipantRole)],
) -> Result<(RoomRow, bool), diesel::result::Error> {
    let conflict = "ON CONFLICT (job_id, job_cleaner_id) WHERE kind = 'job' DO NOTHING";
    match insert_room(conn, room, None, conflict, members).await? {
        Some(row) => Ok((row, true)),
        None => chat_rooms::table
            .filter(chat_rooms::kind.eq("job"))
            .filter(chat_rooms::job_id.eq(job.job_id))
            .filter(chat_rooms::job_cleaner_id.eq(job.cleaner.get()))
            .select(RoomRow::as_select())
            .first(conn)
            .await
            .map(|row| (row, false)),
    }
}

impl ChatRepository for PgChat {
    async fn create_room(
        &self,
        room: NewRoom,
        members: Vec<(UserId, ParticipantRole)>,
    ) -> Result<Room, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row = conn
            .transaction::<Option<RoomRow>, diesel::result::Error, _>(async |conn| {
                insert_room(conn, &room, None, "", &members).await
            })
            .await
            .map_err(|e| map_query_error(e, UNIQUE_RULES))?
            .ok_or_else(|| PortError::unexpected("insert returned no row"))?;
        row.into_room()
    }

    async fn get_or_create_direct(
        &self,
        a: UserId,
        b: UserId,
        name: RoomName,
    ) -> Result<(Room, bool), PortError> {
        let key = direct_key(a, b);
        let room = NewRoom {
            kind: RoomKind::Direct,
            name,
            visibility: Visibility::Private,
            job: None,
            created_by: Some(a),
        };
        let members = [(a, ParticipantRole::Member), (b, ParticipantRole::Member)];
        let mut conn = conn(&self.pool).await?;
        let (row, created) = conn
            .transaction::<(RoomRow, bool), diesel::result::Error, _>(async |conn| {
                let conflict = "ON CONFLICT (direct_key) WHERE kind = 'direct' DO NOTHING";
                match insert_room(conn, &room, Some(&key), conflict, &members).await? {
                    Some(row) => Ok((row, true)),
                    None => chat_rooms::table
                        .filter(chat_rooms::direct_key.eq(&key))
                        .filter(chat_rooms::kind.eq("direct"))
                        .select(RoomRow::as_select())
                        .first(conn)
                        .await
                        .map(|row| (row, false)),
                }
            })
            .await
            .map_err(|e| map_query_error(e, UNIQUE_RULES))?;
        Ok((row.into_room()?, created))
    }

    async fn get_or_create_job_room(
        &self,
        room: NewRoom,
        members: Vec<(UserId, ParticipantRole)>,
    ) -> Result<(Room, bool), PortError> {
        let Some(job) = room.job else {
            return Err(PortError::unexpected("a job room needs a job key"));
        };
        let mut conn = conn(&self.pool).await?;
        let (row, created) = conn
            .transaction::<(RoomRow, bool), diesel::result::Error, _>(async |conn| {
                job_room_in(conn, &room, job, &members).await
            })
            .await
            .map_err(|e| map_query_error(e, UNIQUE_RULES))?;
        Ok((row.into_room()?, created))
    }

    async fn get_or_create_public_room(
        &self,
        name: RoomName,
        creator: UserId,
    ) -> Result<(Room, bool), PortError> {
        let room = NewRoom {
            kind: RoomKind::General,
            name: name.clone(),
            visibility: Visibility::Public,
            job: None,
            created_by: Some(creator),
        };
        let members = [(creator, ParticipantRole::Owner)];
        let mut conn = conn(&self.pool).await?;
        let (row, created) = conn
            .transaction::<(RoomRow, bool), diesel::result::Error, _>(async |conn| {
                let conflict = "ON CONFLICT ((lower(name))) WHERE kind = 'general' AND visibility = 'public' DO NOTHING";
                match insert_room(conn, &room, None, conflict, &members).await? {
                    Some(row) => Ok((row, true)),
                    None => diesel::sql_query(
                        "SELECT * FROM chat_rooms WHERE kind = 'general' AND visibility = 'public' \
                         AND lower(name) = lower($1)",
                    )
                    .bind::<Text, _>(name.as_str())
                    .get_result::<RoomRow>(conn)
                    .await
                    .map(|row| (row, false)),
                }
            })
            .await
            .map_err(|e| map_query_error(e, UNIQUE_RULES))?;
        Ok((row.into_room()?, created))
    }

    async fn get_room(&self, id: RoomId) -> Result<Room, PortError> {
        let mut conn = conn(&self.pool).await?;
        room_row(&mut conn, id.get()).await.map_err(db)?.into_room()
    }

    async fn rooms_of_job(&self, job_id: i64) -> Result<Vec<Room>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let rows = chat_rooms::table
            .filter(chat_rooms::job_id.eq(job_id))
            .order(chat_rooms::id)
            .select(RoomRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows::rooms(rows)
    }

    async fn list_rooms(
        &self,
        user: UserId,
        filter: RoomFilter,
        cursor: Option<RoomCursor>,
        limit: usize,
    ) -> Result<Vec<Room>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let activity = diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
            "COALESCE(chat_rooms.last_message_at, chat_rooms.created_at)",
        );
        let mut query = chat_rooms::table
            .inner_join(chat_participants::table)
            .filter(chat_participants::user_id.eq(user.get()))
            .select(RoomRow::as_select())
            .into_boxed();
        if let Some(kind) = filter.kind {
            query = query.filter(chat_rooms::kind.eq(kind.as_str()));
        }
        if let Some(job_id) = filter.job_id {
            query = query.filter(chat_rooms::job_id.eq(job_id));
        }
        if !filter.include_archived {
            query = query.filter(chat_rooms::state.ne(RoomState::Archived.as_str()));
        }
        if let Some(cursor) = cursor {
            query = query.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "(COALESCE(chat_rooms.last_message_at, chat_rooms.created_at), chat_rooms.id) < (",
                )
                .bind::<diesel::sql_types::Timestamptz, _>(cursor.last_activity)
                .sql(", ")
                .bind::<BigInt, _>(cursor.id.get())
                .sql(")"),
            );
        }
        let rows = query
            .order((activity.desc(), chat_rooms::id.desc()))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows::rooms(rows)
    }

    async fn memberships(&self, user: UserId) -> Result<Vec<Membership>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let rows: Vec<(RoomRow, i64)> = chat_rooms::table
            .inner_join(chat_participants::table)
            .filter(chat_participants::user_id.eq(user.get()))
            .select((RoomRow::as_select(), chat_participants::last_read_seq))
            .load(&mut conn)
            .await
            .map_err(db)?;
        let unread = unread_by_room(&mut conn, user).await?;
        rows.into_iter()
            .map(|(room, cursor)| {
                let room = room.into_room()?;
                Ok(Membership {
                    unread: unread.get(&room.id).copied().unwrap_or(0),
                    last_read_seq: Seq::new(cursor).map_err(PortError::unexpected)?,
                    room,
                })
            })
            .collect()
    }

    async fn update_room(&self, id: RoomId, patch: RoomPatch) -> Result<Room, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: RoomRow = diesel::update(chat_rooms::table.find(id.get()))
            .set((
                patch.name.as_ref().map(|n| chat_rooms::name.eq(n.as_str())),
                patch
                    .visibility
                    .map(|v| chat_rooms::visibility.eq(v.as_str())),
                patch.state.map(|s| chat_rooms::state.eq(s.as_str())),
                chat_rooms::updated_at.eq(diesel::dsl::now),
            ))
            .returning(RoomRow::as_returning())
            .get_result(&mut conn)
            .await
            .map_err(|e| map_query_error(e, UNIQUE_RULES))?;
        row.into_room()
    }

    async fn participant(
        &self,
        room: RoomId,
        user: UserId,
    ) -> Result<Option<Participant>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: Option<ParticipantRow> = chat_participants::table
            .find((room.get(), user.get()))
            .select(ParticipantRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(db)?;
        row.map(ParticipantRow::into_participant).transpose()
    }

    async fn member_room(
        &self,
        room: RoomId,
        user: UserId,
    ) -> Result<Option<(Room, Participant)>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: Option<(RoomRow, ParticipantRow)> = chat_participants::table
            .inner_join(chat_rooms::table)
            .filter(chat_participants::room_id.eq(room.get()))
            .filter(chat_participants::user_id.eq(user.get()))
            .select((RoomRow::as_select(), ParticipantRow::as_select()))
            .first(&mut conn)
            .await
            .optional()
            .map_err(db)?;
        row.map(|(room, member)| Ok((room.into_room()?, member.into_participant()?)))
            .transpose()
    }

    async fn participants(&self, rooms: &[RoomId]) -> Result<Vec<Participant>, PortError> {
        let ids: Vec<i64> = rooms.iter().map(|r| r.get()).collect();
        let mut conn = conn(&self.pool).await?;
        let rows = chat_participants::table
            .filter(chat_participants::room_id.eq_any(ids))
            .order((
                chat_participants::room_id,
                chat_participants::joined_at,
                chat_participants::user_id,
            ))
            .select(ParticipantRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows::participants(rows)
    }

    async fn add_participant(
        &self,
        room: RoomId,
        user: UserId,
        role: ParticipantRole,
    ) -> Result<Participant, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: ParticipantRow = diesel::insert_into(chat_participants::table)
            .values((
                chat_participants::room_id.eq(room.get()),
                chat_participants::user_id.eq(user.get()),
                chat_participants::role.eq(role.as_str()),
            ))
            .returning(ParticipantRow::as_returning())
            .get_result(&mut conn)
            .await
            .map_err(|e| match &e {
                diesel::result::Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                    PortError::NotFound
                }
                _ => map_query_error(e, UNIQUE_RULES),
            })?;
        row.into_participant()
    }

    async fn remove_participant(&self, room: RoomId, user: UserId) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        let removed = diesel::delete(chat_participants::table.find((room.get(), user.get())))
            .execute(&mut conn)
            .await
            .map_err(db)?;
        if removed == 0 {
            Err(PortError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn room_heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, PortError> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rooms.iter().map(|r| r.get()).collect();
        let mut conn = conn(&self.pool).await?;
        let rows: Vec<(i64, i64)> = chat_rooms::table
            .filter(chat_rooms::id.eq_any(&ids))
            .select((chat_rooms::id, chat_rooms::head_seq))
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(|(room, head)| {
                Ok((
                    RoomId::new(room).map_err(PortError::unexpected)?,
                    Seq::new(head).map_err(PortError::unexpected)?,
                ))
            })
            .collect()
    }

    async fn append_message(&self, new: NewMessage) -> Result<Appended, PortError> {
        let mut conn = conn(&self.pool).await?;
        let (row, created) = match append_in(&mut conn, &new).await {
            Ok(outcome) => outcome?,
            // A concurrent send with the same key won the race: answer with its message.
            Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some("chat_messages_client_msg_key") =>
            {
                let row = earlier_send(&mut conn, &new).await.map_err(db)?;
                (
                    row.ok_or_else(|| PortError::unexpected("a duplicate send vanished"))?,
                    false,
                )
            }
            Err(other) => return Err(db(other)),
        };
        Ok(Appended {
            message: row.into_message()?,
            created,
        })
    }

    async fn get_message(&self, id: MessageId) -> Result<Message, PortError> {
        let mut conn = conn(&self.pool).await?;
        chat_messages::table
            .find(id.get())
            .select(MessageRow::as_select())
            .first(&mut conn)
            .await
            .map_err(db)?
            .into_message()
    }

    async fn messages_by_id(&self, ids: &[MessageId]) -> Result<Vec<Message>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        let mut conn = conn(&self.pool).await?;
        let rows = chat_messages::table
            .filter(chat_messages::id.eq_any(ids))
            .select(MessageRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows::messages(rows)
    }

    async fn history(
        &self,
        room: RoomId,
        cursor: HistoryCursor,
        limit: usize,
    ) -> Result<HistoryPage, PortError> {
        let mut conn = conn(&self.pool).await?;
        room_row(&mut conn, room.get()).await.map_err(db)?;
        // One extra row tells whether more exist in that direction.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let base = chat_messages::table
            .filter(chat_messages::room_id.eq(room.get()))
            .select(MessageRow::as_select());
        let mut rows: Vec<MessageRow> = match cursor {
            HistoryCursor::Latest => {
                base.order(chat_messages::seq.desc())
                    .limit(fetch)
                    .load(&mut conn)
                    .await
            }
            HistoryCursor::Before(seq) => {
                base.filter(chat_messages::seq.lt(seq.get()))
                    .order(chat_messages::seq.desc())
                    .limit(fetch)
                    .load(&mut conn)
                    .await
            }
            HistoryCursor::After(seq) => {
                base.filter(chat_messages::seq.gt(seq.get()))
                    .order(chat_messages::seq.asc())
                    .limit(fetch)
                    .load(&mut conn)
                    .await
            }
        }
        .map_err(db)?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        if !matches!(cursor, HistoryCursor::After(_)) {
            rows.reverse();
        }
        Ok(HistoryPage {
            messages: rows::messages(rows)?,
            has_more,
        })
    }

    async fn edit_message(
        &self,
        id: MessageId,
        content: MessageBody,
        at: DateTime<Utc>,
    ) -> Result<Message, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row = conn
            .transaction::<MessageRow, diesel::result::Error, _>(async |conn| {
                let row: MessageRow = diesel::update(chat_messages::table.find(id.get()))
                    .set((
                        chat_messages::content.eq(content.as_str()),
                        chat_messages::edited_at.eq(at),
                    ))
                    .returning(MessageRow::as_returning())
                    .get_result(conn)
                    .await?;
                refresh_preview(conn, row.room_id, row.seq, &content.preview(PREVIEW_CHARS))
                    .await?;
                Ok(row)
            })
            .await
            .map_err(db)?;
        row.into_message()
    }

    async fn delete_message(&self, id: MessageId, at: DateTime<Utc>) -> Result<Message, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row = conn
            .transaction::<MessageRow, diesel::result::Error, _>(async |conn| {
                let row: MessageRow = diesel::update(chat_messages::table.find(id.get()))
                    .set((
                        chat_messages::content.eq(""),
                        chat_messages::attachment_id.eq(None::<i64>),
                        chat_messages::deleted_at.eq(at),
                    ))
                    .returning(MessageRow::as_returning())
                    .get_result(conn)
                    .await?;
                refresh_preview(conn, row.room_id, row.seq, "").await?;
                Ok(row)
            })
            .await
            .map_err(db)?;
        row.into_message()
    }

    async fn mark_read(&self, room: RoomId, user: UserId, seq: Seq) -> Result<Seq, PortError> {
        let mut conn = conn(&self.pool).await?;
        let head: i64 = chat_rooms::table
            .find(room.get())
            .select(chat_rooms::head_seq)
            .first(&mut conn)
            .await
            .map_err(db)?;
        let head = Seq::new(head).map_err(PortError::unexpected)?;
        // GREATEST keeps the cursor monotonic even against a concurrent mark_read.
        let target = next_read_cursor(Seq::ZERO, seq, head);
        let cursor: Option<i64> =
            diesel::update(chat_participants::table.find((room.get(), user.get())))
                .set(
                    chat_participants::last_read_seq.eq(diesel::dsl::sql::<BigInt>(
                        "GREATEST(last_read_seq, ",
                    )
                    .bind::<BigInt, _>(target.get())
                    .sql(")")),
                )
                .returning(chat_participants::last_read_seq)
                .get_result(&mut conn)
                .await
                .optional()
                .map_err(db)?;
        let cursor = cursor.ok_or(PortError::NotFound)?;
        Seq::new(cursor).map_err(PortError::unexpected)
    }

    async fn unread_counts(&self, user: UserId) -> Result<UnreadCounts, PortError> {
        let mut conn = conn(&self.pool).await?;
        let rooms = unread_by_room(&mut conn, user).await?;
        Ok(UnreadCounts {
            total: rooms.values().sum(),
            rooms: rooms.into_iter().filter(|(_, n)| *n > 0).collect(),
        })
    }

    async fn rooms_with_attachment(
        &self,
        id: domain::chat::AttachmentId,
    ) -> Result<Vec<RoomId>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let rooms: Vec<i64> = chat_messages::table
            .filter(chat_messages::attachment_id.eq(id.get()))
            .filter(chat_messages::deleted_at.is_null())
            .select(chat_messages::room_id)
            .distinct()
            .load(&mut conn)
            .await
            .map_err(db)?;
        rooms
            .into_iter()
            .map(|r| RoomId::new(r).map_err(PortError::unexpected))
            .collect()
    }

    async fn unread_in(&self, room: RoomId, user: UserId) -> Result<i64, PortError> {
        let mut conn = conn(&self.pool).await?;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let count: Count = diesel::sql_query(
            "SELECT count(m.id) AS n FROM chat_participants p \
             JOIN chat_messages m ON m.room_id = p.room_id AND m.seq > p.last_read_seq \
              AND m.sender_id IS DISTINCT FROM p.user_id AND m.deleted_at IS NULL \
             WHERE p.room_id = $1 AND p.user_id = $2",
        )
        .bind::<BigInt, _>(room.get())
        .bind::<BigInt, _>(user.get())
        .get_result(&mut conn)
        .await
        .map_err(db)?;
        Ok(count.n)
    }
}

/// Unread messages per room of `user` (rooms with none are absent).
async fn unread_by_room(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<BTreeMap<RoomId, i64>, PortError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        room_id: i64,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    // "Unread" as domain::chat::rules::counts_as_unread defines it.
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT p.room_id, count(m.id) AS n FROM chat_participants p \
         JOIN chat_messages m ON m.room_id = p.room_id AND m.seq > p.last_read_seq \
          AND m.sender_id IS DISTINCT FROM p.user_id AND m.deleted_at IS NULL \
         WHERE p.user_id = $1 GROUP BY p.room_id",
    )
    .bind::<BigInt, _>(user.get())
    .load(conn)
    .await
    .map_err(db)?;
    rows.into_iter()
        .map(|row| {
            Ok((
                RoomId::new(row.room_id).map_err(PortError::unexpected)?,
                row.n,
            ))
        })
        .collect()
}

/// Keeps the room's preview in step when its last message is edited or deleted.
async fn refresh_preview(
    conn: &mut AsyncPgConnection,
    room: i64,
    seq: i64,
    preview: &str,
) -> Result<(), diesel::result::Error> {
    diesel::update(
        chat_rooms::table
            .find(room)
            .filter(chat_rooms::head_seq.eq(seq)),
    )
    .set(chat_rooms::last_message_preview.eq(preview))
    .execute(conn)
    .await
    .map(|_| ())
}
