//! The job projection in PostgreSQL, and the one transaction that applies an event with all its
//! effects: the job row (guarded by its version), bids, room changes, notifications with their
//! deliveries, system messages and the event record. Any failure rolls all of it back.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::chat::{
    JobRoomKey, MessageBody, MessageKind, NewMessage, NewRoom, ParticipantRole, RoomKind,
    Visibility,
};
use domain::job::{Bid, BidStatus, EventId, Job, JobEventKind, JobId, JobState, JobStatus};
use domain::user::UserId;
use ports::{
    AppliedChange, JobChange, JobStore, PlannedRoom, PortError, RecordedEvent, RoomOutcome,
};

use crate::chat::rows::RoomRow;
use crate::chat::{append_in, job_room_in};
use crate::errors::{db, map_query_error};
use crate::notifications::{create_in, enqueue_in};
use crate::pool::{PgPool, conn};
use crate::schema::{chat_rooms, job_bids, job_events, jobs};

/// Which unique index means which rule.
const RULES: &[(&str, &str)] = &[
    ("job_events_pkey", "event"),
    ("jobs_pkey", "job_exists"),
    ("notifications_dedupe_key", "dedupe"),
];

/// The `jobs`, `job_bids` and `job_events` tables, written together with chat and notifications.
#[derive(Clone)]
pub struct PgJobs {
    pool: PgPool,
}

impl std::fmt::Debug for PgJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgJobs")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgJobs {
    /// The store over this pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
struct JobRow {
    id: i64,
    client_id: i64,
    cleaner_id: Option<i64>,
    status: String,
    title: String,
    city: Option<String>,
    scheduled_at: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl JobRow {
    fn into_job(self) -> Result<Job, PortError> {
        Ok(Job {
            id: JobId::new(self.id).map_err(PortError::unexpected)?,
            client: UserId::new(self.client_id).map_err(PortError::unexpected)?,
            cleaner: self
                .cleaner_id
                .map(UserId::new)
                .transpose()
                .map_err(PortError::unexpected)?,
            status: JobStatus::parse(&self.status).map_err(PortError::unexpected)?,
            title: self.title,
            city: self.city,
            scheduled_at: self.scheduled_at,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = job_events, check_for_backend(diesel::pg::Pg))]
struct EventRow {
    event_id: String,
    job_id: i64,
    kind: String,
    applied_at: DateTime<Utc>,
    notifications: i64,
}

impl EventRow {
    fn into_event(self) -> Result<RecordedEvent, PortError> {
        Ok(RecordedEvent {
            id: EventId::parse(&self.event_id).map_err(PortError::unexpected)?,
            kind: JobEventKind::parse(&self.kind).map_err(PortError::unexpected)?,
            job: JobId::new(self.job_id).map_err(PortError::unexpected)?,
            applied_at: self.applied_at,
            notifications: u64::try_from(self.notifications).unwrap_or(0),
        })
    }
}

/// A step's answer inside the transaction: the outer error rolls back as a database error, the
/// inner one is the port's answer (and rolls back too).
type Step<T> = Result<Result<T, PortError>, diesel::result::Error>;

async fn write_job(conn: &mut AsyncPgConnection, change: &JobChange) -> Step<()> {
    let job = &change.job;
    let written = match change.expected_version {
        None => {
            diesel::insert_into(jobs::table)
                .values((
                    jobs::id.eq(job.id.get()),
                    jobs::client_id.eq(job.client.get()),
                    jobs::cleaner_id.eq(job.cleaner.map(UserId::get)),
                    jobs::status.eq(job.status.as_str()),
                    jobs::title.eq(&job.title),
                    jobs::city.eq(job.city.as_deref()),
                    jobs::scheduled_at.eq(job.scheduled_at),
                    jobs::version.eq(job.version),
                    jobs::created_at.eq(job.created_at),
                    jobs::updated_at.eq(job.updated_at),
                    jobs::completed_at.eq(job.completed_at),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?
        }
        Some(expected) => {
            diesel::update(
                jobs::table
                    .filter(jobs::id.eq(job.id.get()))
                    .filter(jobs::version.eq(expected)),
            )
            .set((
                jobs::cleaner_id.eq(job.cleaner.map(UserId::get)),
                jobs::status.eq(job.status.as_str()),
                jobs::title.eq(&job.title),
                jobs::city.eq(job.city.as_deref()),
                jobs::scheduled_at.eq(job.scheduled_at),
                jobs::version.eq(job.version),
                jobs::updated_at.eq(job.updated_at),
                jobs::completed_at.eq(job.completed_at),
            ))
            .execute(conn)
            .await?
        }
    };
    Ok(match (written, change.expected_version) {
        (0, None) => Err(PortError::Conflict("job_exists")),
        (0, Some(_)) => Err(PortError::Conflict("job_version")),
        _ => Ok(()),
    })
}

async fn write_bids(
    conn: &mut AsyncPgConnection,
    bids: &[Bid],
) -> Result<(), diesel::result::Error> {
    for bid in bids {
        diesel::insert_into(job_bids::table)
            .values((
                job_bids::job_id.eq(bid.job.get()),
                job_bids::cleaner_id.eq(bid.cleaner.get()),
                job_bids::status.eq(bid.status.as_str()),
            ))
            .on_conflict((job_bids::job_id, job_bids::cleaner_id))
            .do_update()
            .set((
                job_bids::status.eq(bid.status.as_str()),
                job_bids::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

async fn job_room(
    conn: &mut AsyncPgConnection,
    job: JobId,
    cleaner: UserId,
) -> Result<Option<RoomRow>, diesel::result::Error> {
    chat_rooms::table
        .filter(chat_rooms::kind.eq("job"))
        .filter(chat_rooms::job_id.eq(job.get()))
        .filter(chat_rooms::job_cleaner_id.eq(cleaner.get()))
        .select(RoomRow::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct Member {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
}

/// Sets a room's state when it differs; true when it changed.
async fn set_state(
    conn: &mut AsyncPgConnection,
    room: i64,
    state: &str,
) -> Result<bool, diesel::result::Error> {
    let changed = diesel::update(
        chat_rooms::table
            .filter(chat_rooms::id.eq(room))
            .filter(chat_rooms::state.ne(state)),
    )
    .set((
        chat_rooms::state.eq(state),
        chat_rooms::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await?;
    Ok(changed > 0)
}

async fn change_room(
    conn: &mut AsyncPgConnection,
    job: JobId,
    client: UserId,
    planned: &PlannedRoom,
) -> Step<Option<RoomOutcome>> {
    let (row, changed, added, removed) = match planned {
        PlannedRoom::Open { cleaner, name } => {
            let key = JobRoomKey {
                job_id: job.get(),
                cleaner: *cleaner,
            };
            let new = NewRoom {
                kind: RoomKind::Job,
                name: name.clone(),
                visibility: Visibility::Private,
                job: Some(key),
                created_by: None,
            };
            let members = [
                (client, ParticipantRole::Member),
                (*cleaner, ParticipantRole::Member),
            ];
            let (row, created) = job_room_in(conn, &new, key, &members).await?;
            if created {
                (row, true, vec![client, *cleaner], Vec::new())
            } else {
                let added: Vec<Member> = diesel::sql_query(
                    "INSERT INTO chat_participants (room_id, user_id, role) \
                     SELECT $1, u, 'member' FROM unnest(ARRAY[$2, $3]::bigint[]) AS u \
                     ON CONFLICT DO NOTHING RETURNING user_id",
                )
                .bind::<BigInt, _>(row.id)
                .bind::<BigInt, _>(client.get())
                .bind::<BigInt, _>(cleaner.get())
                .load(conn)
                .await?;
                let reopened = set_state(conn, row.id, "active").await?;
                let added = added
                    .into_iter()
                    .filter_map(|m| UserId::new(m.user_id).ok())
                    .collect::<Vec<_>>();
                let row = crate::chat::room_row(conn, row.id).await?;
                (row, reopened || !added.is_empty(), added, Vec::new())
            }
        }
        PlannedRoom::ReadOnly { cleaner } | PlannedRoom::Remove { cleaner } => {
            let Some(row) = job_room(conn, job, *cleaner).await? else {
                return Ok(Ok(None));
            };
            let mut removed = Vec::new();
            if matches!(planned, PlannedRoom::Remove { .. }) {
                let gone: Vec<Member> = diesel::sql_query(
                    "DELETE FROM chat_participants WHERE room_id = $1 AND user_id = $2 \
                     RETURNING user_id",
                )
                .bind::<BigInt, _>(row.id)
                .bind::<BigInt, _>(cleaner.get())
                .load(conn)
                .await?;
                if !gone.is_empty() {
                    removed.push(*cleaner);
                }
            }
            let closed = set_state(conn, row.id, "read_only").await?;
            let row = crate::chat::room_row(conn, row.id).await?;
            (row, closed || !removed.is_empty(), Vec::new(), removed)
        }
    };
    Ok(row.into_room().map(|room| {
        Some(RoomOutcome {
            room,
            changed,
            added,
            removed,
        })
    }))
}

async fn apply_in(conn: &mut AsyncPgConnection, change: &JobChange) -> Step<AppliedChange> {
    let recorded: Option<String> = job_events::table
        .find(change.event.id.as_str())
        .select(job_events::event_id)
        .first(conn)
        .await
        .optional()?;
    if recorded.is_some() {
        return Ok(Err(PortError::Conflict("event")));
    }
    if let Err(denied) = write_job(conn, change).await? {
        return Ok(Err(denied));
    }
    write_bids(conn, &change.bids).await?;
    let id = change.job.id;
    let mut rooms = Vec::new();
    for planned in &change.rooms {
        match change_room(conn, id, change.job.client, planned).await? {
            Ok(Some(outcome)) => rooms.push(outcome),
            Ok(None) => {}
            Err(denied) => return Ok(Err(denied)),
        }
    }
    let mut notifications = Vec::with_capacity(change.notifications.len());
    for planned in &change.notifications {
        let (row, created) = create_in(conn, &planned.notification).await?;
        let stored = match row.into_notification() {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        if created {
            let jobs: Vec<_> = planned
                .deliveries
                .iter()
                .map(|d| d.for_notification(&stored))
                .collect();
            enqueue_in(conn, &jobs).await?;
        }
        notifications.push((stored, created));
    }
    let mut messages = Vec::with_capacity(change.notes.len());
    for note in &change.notes {
        let Some(room) = job_room(conn, id, note.cleaner).await? else {
            continue;
        };
        let new = NewMessage {
            room_id: match domain::chat::RoomId::new(room.id) {
                Ok(id) => id,
                Err(e) => return Ok(Err(PortError::unexpected(e))),
            },
            sender: None,
            kind: MessageKind::JobUpdate,
            content: MessageBody::system(note.text.clone()),
            attachment: None,
            reply_to: None,
            client_msg_id: Some(note.key.clone()),
        };
        match append_in(conn, &new).await? {
            Ok((row, _)) => match row.into_message() {
                Ok(message) => messages.push(message),
                Err(e) => return Ok(Err(e)),
            },
            Err(denied) => return Ok(Err(denied)),
        }
    }
    diesel::insert_into(job_events::table)
        .values((
            job_events::event_id.eq(change.event.id.as_str()),
            job_events::job_id.eq(id.get()),
            job_events::kind.eq(change.event.kind.as_str()),
            job_events::applied_at.eq(change.event.applied_at),
            job_events::notifications.eq(i64::try_from(change.event.notifications).unwrap_or(0)),
        ))
        .execute(conn)
        .await?;
    Ok(Ok(AppliedChange {
        rooms,
        notifications,
        messages,
    }))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = job_bids, check_for_backend(diesel::pg::Pg))]
struct BidRow {
    job_id: i64,
    cleaner_id: i64,
    status: String,
}

impl JobStore for PgJobs {
    async fn get(&self, id: JobId) -> Result<Option<JobState>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let Some(row) = jobs::table
            .find(id.get())
            .select(JobRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(db)?
        else {
            return Ok(None);
        };
        let bids: Vec<BidRow> = job_bids::table
            .filter(job_bids::job_id.eq(id.get()))
            .order(job_bids::cleaner_id)
            .select(BidRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        let bids = bids
            .into_iter()
            .map(|b| {
                Ok(Bid {
                    job: JobId::new(b.job_id).map_err(PortError::unexpected)?,
                    cleaner: UserId::new(b.cleaner_id).map_err(PortError::unexpected)?,
                    status: BidStatus::parse(&b.status).map_err(PortError::unexpected)?,
                })
            })
            .collect::<Result<Vec<_>, PortError>>()?;
        Ok(Some(JobState {
            job: row.into_job()?,
            bids,
        }))
    }

    async fn event(&self, id: &EventId) -> Result<Option<RecordedEvent>, PortError> {
        let mut conn = conn(&self.pool).await?;
        job_events::table
            .find(id.as_str())
            .select(EventRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(db)?
            .map(EventRow::into_event)
            .transpose()
    }

    async fn apply(&self, change: JobChange) -> Result<AppliedChange, PortError> {
        let mut conn = conn(&self.pool).await?;
        let outcome = conn
            .transaction::<AppliedChange, diesel::result::Error, _>(async |conn| {
                match apply_in(conn, &change).await? {
                    Ok(applied) => Ok(applied),
                    // Roll back, and carry the port's answer out.
                    Err(denied) => Err(diesel::result::Error::QueryBuilderError(Box::new(Denied(
                        denied,
                    )))),
                }
            })
            .await;
        match outcome {
            Ok(applied) => Ok(applied),
            Err(diesel::result::Error::QueryBuilderError(inner)) => {
                match inner.downcast::<Denied>() {
                    Ok(denied) => Err(denied.0),
                    Err(other) => Err(PortError::unexpected(other.to_string())),
                }
            }
            Err(other) => Err(map_query_error(other, RULES)),
        }
    }

    async fn count_notifications(&self, id: &EventId, added: u64) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        let updated = diesel::update(job_events::table.find(id.as_str()))
            .set(
                job_events::notifications
                    .eq(job_events::notifications + i64::try_from(added).unwrap_or(i64::MAX)),
            )
            .execute(&mut conn)
            .await
            .map_err(db)?;
        if updated == 0 {
            return Err(PortError::NotFound);
        }
        Ok(())
    }

    async fn rooms_to_close(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<JobId>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let ids: Vec<i64> = jobs::table
            .filter(jobs::status.eq(JobStatus::Completed.as_str()))
            .filter(jobs::rooms_closed_at.is_null())
            .filter(jobs::completed_at.le(before))
            .order(jobs::completed_at)
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .select(jobs::id)
            .load(&mut conn)
            .await
            .map_err(db)?;
        ids.into_iter()
            .map(|id| JobId::new(id).map_err(PortError::unexpected))
            .collect()
    }

    async fn rooms_closed(&self, id: JobId) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::update(jobs::table.find(id.get()))
            .set(jobs::rooms_closed_at.eq(diesel::dsl::now))
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(db)
    }
}

/// A port answer that rolled the transaction back.
#[derive(Debug)]
struct Denied(PortError);

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Denied {}
