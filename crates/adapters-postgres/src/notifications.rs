//! The notification inbox, preferences, templates and delivery queue in PostgreSQL.
//!
//! Inbox sequences: the recipient's `notification_inboxes` row is upserted (`head_seq + 1`) in the
//! transaction that inserts the notification, so its row lock orders concurrent inserts into one
//! inbox. Dedupe keys are enforced by a unique index; a racing duplicate loses with 23505 and is
//! answered with the winner's row.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::chat::Seq;
use domain::notification::preferences::{Channel, QuietHours, parse_timezone};
use domain::notification::{
    ActionUrl, Category, NewNotification, NewTemplate, Notification, NotificationId,
    NotificationTemplate, NotificationType, ObjectRef, Preferences, Priority, TemplateName,
};
use domain::user::UserId;
use ports::{
    DeliveryJob, DeliveryPayload, DeliveryQueue, DeliveryRecord, DeliveryState, InboxFilter,
    NewDelivery, NotificationRepository, PortError, PreferenceRepository, TemplateRepository,
};

use crate::errors::{db, map_query_error};
use crate::pool::{PgPool, conn};
use crate::schema::{
    notification_deliveries, notification_inboxes, notification_preferences,
    notification_templates, notifications,
};

macro_rules! pg_store {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            pool: PgPool,
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("pool", &self.pool.status()).finish()
            }
        }

        impl $name {
            /// The store over this pool.
            pub fn new(pool: PgPool) -> Self {
                Self { pool }
            }
        }
    };
}

pg_store!(
    /// The `notifications` and `notification_inboxes` tables.
    PgNotifications
);
pg_store!(
    /// The `notification_preferences` table.
    PgPreferences
);
pg_store!(
    /// The `notification_templates` table.
    PgTemplates
);
pg_store!(
    /// The `notification_deliveries` table.
    PgDeliveries
);

#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg))]
pub(crate) struct NotificationRow {
    id: i64,
    recipient_id: i64,
    seq: i64,
    sender_id: Option<i64>,
    kind: String,
    title: String,
    message: String,
    priority: String,
    object_kind: Option<String>,
    object_id: Option<i64>,
    action_url: Option<String>,
    metadata: serde_json::Value,
    read_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    dedupe_key: Option<String>,
    silent: bool,
}

impl NotificationRow {
    pub(crate) fn into_notification(self) -> Result<Notification, PortError> {
        let id = self.id;
        let bad = move |e: domain::ValidationError| {
            PortError::unexpected(format!("stored notification {id} is invalid: {e}"))
        };
        let object = match (self.object_kind, self.object_id) {
            (Some(kind), Some(object_id)) => Some(ObjectRef::new(&kind, object_id).map_err(bad)?),
            _ => None,
        };
        Ok(Notification {
            id: NotificationId::new(self.id).map_err(bad)?,
            recipient: UserId::new(self.recipient_id).map_err(bad)?,
            seq: Seq::new(self.seq).map_err(bad)?,
            sender: self.sender_id.map(UserId::new).transpose().map_err(bad)?,
            kind: NotificationType::parse(&self.kind).map_err(bad)?,
            title: self.title,
            message: self.message,
            priority: Priority::parse(&self.priority).map_err(bad)?,
            object,
            action_url: self
                .action_url
                .as_deref()
                .map(ActionUrl::parse)
                .transpose()
                .map_err(bad)?,
            metadata: match self.metadata {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
            read_at: self.read_at,
            delivered_at: self.delivered_at,
            created_at: self.created_at,
            expires_at: self.expires_at,
            dedupe_key: self.dedupe_key,
            silent: self.silent,
        })
    }
}

fn notifications_of(rows: Vec<NotificationRow>) -> Result<Vec<Notification>, PortError> {
    rows.into_iter()
        .map(NotificationRow::into_notification)
        .collect()
}

const DEDUPE_RULES: &[(&str, &str)] = &[("notifications_dedupe_key", "dedupe")];

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = notifications)]
struct NewRow<'a> {
    recipient_id: i64,
    seq: i64,
    sender_id: Option<i64>,
    kind: &'a str,
    title: &'a str,
    message: &'a str,
    priority: &'a str,
    object_kind: Option<&'a str>,
    object_id: Option<i64>,
    action_url: Option<&'a str>,
    metadata: serde_json::Value,
    expires_at: Option<DateTime<Utc>>,
    dedupe_key: Option<&'a str>,
    silent: bool,
    collapse_key: Option<&'a str>,
}

impl<'a> NewRow<'a> {
    fn new(new: &'a NewNotification, seq: i64) -> Self {
        Self {
            recipient_id: new.recipient.get(),
            seq,
            sender_id: new.sender.map(UserId::get),
            kind: new.kind.as_str(),
            title: &new.title,
            message: &new.message,
            priority: new.priority.as_str(),
            object_kind: new.object.as_ref().map(|o| o.kind.as_str()),
            object_id: new.object.as_ref().map(|o| o.id),
            action_url: new.action_url.as_ref().map(ActionUrl::as_str),
            metadata: serde_json::Value::Object(new.metadata.clone()),
            expires_at: new.expires_at,
            dedupe_key: new.dedupe_key.as_deref(),
            silent: new.silent,
            collapse_key: None,
        }
    }
}

/// Rows per INSERT statement: 14 parameters each stays far below PostgreSQL's 65535.
const INSERT_CHUNK: usize = 1000;

/// Inserts notifications for distinct recipients with the given inbox seqs, a thousand rows per
/// statement, and returns the stored rows by recipient.
async fn insert_many(
    conn: &mut AsyncPgConnection,
    rows: Vec<NewRow<'_>>,
) -> Result<HashMap<i64, NotificationRow>, diesel::result::Error> {
    let mut out = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_CHUNK) {
        let stored: Vec<NotificationRow> = diesel::insert_into(notifications::table)
            .values(chunk)
            .returning(NotificationRow::as_returning())
            .get_results(conn)
            .await?;
        out.extend(stored.into_iter().map(|r| (r.recipient_id, r)));
    }
    Ok(out)
}

/// Inserts one notification with the given inbox seq.
async fn insert_one(
    conn: &mut AsyncPgConnection,
    new: &NewNotification,
    seq: i64,
) -> Result<NotificationRow, diesel::result::Error> {
    diesel::insert_into(notifications::table)
        .values(NewRow::new(new, seq))
        .returning(NotificationRow::as_returning())
        .get_result(conn)
        .await
}

async fn existing(
    conn: &mut AsyncPgConnection,
    recipient: UserId,
    key: &str,
) -> Result<Option<NotificationRow>, diesel::result::Error> {
    notifications::table
        .filter(notifications::recipient_id.eq(recipient.get()))
        .filter(notifications::dedupe_key.eq(key))
        .select(NotificationRow::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    head_seq: i64,
}

/// Moves the inbox heads of `users` (distinct) forward by one, in id order so concurrent batches
/// never deadlock, and returns each user's new head.
async fn advance_heads(
    conn: &mut AsyncPgConnection,
    users: &[i64],
) -> Result<HashMap<i64, i64>, diesel::result::Error> {
    let heads: Vec<Head> = diesel::sql_query(
        "INSERT INTO notification_inboxes (user_id, head_seq) \
         SELECT u, 1 FROM unnest($1::bigint[]) AS u ORDER BY u \
         ON CONFLICT (user_id) DO UPDATE SET head_seq = notification_inboxes.head_seq + 1 \
         RETURNING user_id, head_seq",
    )
    .bind::<Array<BigInt>, _>(users)
    .load(conn)
    .await?;
    Ok(heads.into_iter().map(|h| (h.user_id, h.head_seq)).collect())
}

fn not_expired(
    now: DateTime<Utc>,
) -> Box<
    dyn BoxableExpression<notifications::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>,
> {
    Box::new(
        notifications::expires_at
            .is_null()
            .or(notifications::expires_at.gt(now))
            .assume_not_null(),
    )
}

/// Stores one notification inside the caller's transaction: the stored one for a known dedupe
/// key (`false`), otherwise a new row with the recipient's next inbox seq.
pub(crate) async fn create_in(
    conn: &mut AsyncPgConnection,
    notification: &NewNotification,
) -> Result<(NotificationRow, bool), diesel::result::Error> {
    if let Some(key) = &notification.dedupe_key
        && let Some(row) = existing(conn, notification.recipient, key).await?
    {
        return Ok((row, false));
    }
    let heads = advance_heads(conn, &[notification.recipient.get()]).await?;
    let seq = heads
        .get(&notification.recipient.get())
        .copied()
        .unwrap_or(1);
    Ok((insert_one(conn, notification, seq).await?, true))
}

/// Queues deliveries inside the caller's transaction; one per (notification, channel).
pub(crate) async fn enqueue_in(
    conn: &mut AsyncPgConnection,
    jobs: &[NewDelivery],
) -> Result<(), diesel::result::Error> {
    if jobs.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(jobs.len());
    for job in jobs {
        let payload = serde_json::to_value(&job.payload)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        values.push((
            notification_deliveries::notification_id.eq(job.notification.get()),
            notification_deliveries::recipient_id.eq(job.recipient.get()),
            notification_deliveries::channel.eq(job.channel.as_str()),
            notification_deliveries::payload.eq(payload),
            notification_deliveries::not_before.eq(job.not_before),
        ));
    }
    diesel::insert_into(notification_deliveries::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|_| ())
}

impl NotificationRepository for PgNotifications {
    async fn create(
        &self,
        notification: NewNotification,
    ) -> Result<(Notification, bool), PortError> {
        let mut conn = conn(&self.pool).await?;
        let attempt = conn
            .transaction::<(NotificationRow, bool), diesel::result::Error, _>(async |conn| {
                create_in(conn, &notification).await
            })
            .await
            .map_err(|e| map_query_error(e, DEDUPE_RULES));
        let (row, created) = match attempt {
            Ok(result) => result,
            // Lost a race with the same dedupe key: the winner's row is the answer.
            Err(PortError::Conflict("dedupe")) => {
                let key = notification.dedupe_key.as_deref().unwrap_or_default();
                let row = existing(&mut conn, notification.recipient, key)
                    .await
                    .map_err(db)?
                    .ok_or(PortError::NotFound)?;
                (row, false)
            }
            Err(other) => return Err(other),
        };
        Ok((row.into_notification()?, created))
    }

    async fn inbox_heads(&self, users: &[UserId]) -> Result<Vec<(UserId, Seq)>, PortError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = users.iter().map(|u| u.get()).collect();
        let mut conn = conn(&self.pool).await?;
        let rows: Vec<(i64, i64)> = notification_inboxes::table
            .filter(notification_inboxes::user_id.eq_any(&ids))
            .select((
                notification_inboxes::user_id,
                notification_inboxes::head_seq,
            ))
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(|(user, head)| {
                Ok((
                    UserId::new(user).map_err(PortError::unexpected)?,
                    Seq::new(head).map_err(PortError::unexpected)?,
                ))
            })
            .collect()
    }

    async fn upsert_collapsed(
        &self,
        notification: NewNotification,
        key: &str,
    ) -> Result<(Notification, bool), PortError> {
        let mut conn = conn(&self.pool).await?;
        let recipient = notification.recipient.get();
        // Two first messages racing: the loser's insert hits the unique index and retries as an
        // update of the winner's row.
        for _ in 0..2 {
            let attempt = conn
                .transaction::<(NotificationRow, bool), diesel::result::Error, _>(async |conn| {
                    let open: Option<i64> = notifications::table
                        .filter(notifications::recipient_id.eq(recipient))
                        .filter(notifications::collapse_key.eq(key))
                        .filter(notifications::read_at.is_null())
                        .select(notifications::id)
                        .for_update()
                        .first(conn)
                        .await
                        .optional()?;
                    let heads = advance_heads(conn, &[recipient]).await?;
                    let seq = heads.get(&recipient).copied().unwrap_or(1);
                    match open {
                        Some(id) => diesel::update(notifications::table.find(id))
                            .set((
                                notifications::title.eq(&notification.title),
                                notifications::message.eq(&notification.message),
                                notifications::priority.eq(notification.priority.as_str()),
                                notifications::metadata
                                    .eq(serde_json::Value::Object(notification.metadata.clone())),
                                notifications::silent.eq(notification.silent),
                                notifications::expires_at.eq(notification.expires_at),
                                notifications::seq.eq(seq),
                                notifications::created_at.eq(diesel::dsl::now),
                            ))
                            .returning(NotificationRow::as_returning())
                            .get_result(conn)
                            .await
                            .map(|row| (row, false)),
                        None => {
                            let mut row = NewRow::new(&notification, seq);
                            row.collapse_key = Some(key);
                            diesel::insert_into(notifications::table)
                                .values(row)
                                .returning(NotificationRow::as_returning())
                                .get_result(conn)
                                .await
                                .map(|row| (row, true))
                        }
                    }
                })
                .await
                .map_err(|e| map_query_error(e, &[("notifications_collapse_key", "collapse")]));
            match attempt {
                Ok((row, created)) => return Ok((row.into_notification()?, created)),
                Err(PortError::Conflict("collapse")) => {}
                Err(other) => return Err(other),
            }
        }
        Err(PortError::unexpected(
            "a collapsed notification kept colliding",
        ))
    }

    async fn create_many(
        &self,
        notifications_in: Vec<NewNotification>,
    ) -> Result<Vec<(Notification, bool)>, PortError> {
        if notifications_in.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = conn(&self.pool).await?;
        // A racing single insert with the same dedupe key fails the batch once; the retry sees it.
        for attempt in 0..2 {
            let result = conn
                .transaction::<Vec<(NotificationRow, bool)>, diesel::result::Error, _>(
                    async |conn| {
                        let keyed: Vec<(i64, String)> = notifications_in
                            .iter()
                            .filter_map(|n| n.dedupe_key.clone().map(|k| (n.recipient.get(), k)))
                            .collect();
                        let mut existing_rows: HashMap<i64, NotificationRow> = HashMap::new();
                        if !keyed.is_empty() {
                            let (users, keys): (Vec<i64>, Vec<String>) = keyed.into_iter().unzip();
                            let rows: Vec<NotificationRow> = diesel::sql_query(
                                "SELECT n.* FROM notifications n \
                             JOIN unnest($1::bigint[], $2::text[]) AS k (user_id, key) \
                               ON n.recipient_id = k.user_id AND n.dedupe_key = k.key",
                            )
                            .bind::<Array<BigInt>, _>(&users)
                            .bind::<Array<Text>, _>(&keys)
                            .load(conn)
                            .await?;
                            existing_rows = rows.into_iter().map(|r| (r.recipient_id, r)).collect();
                        }
                        let fresh: Vec<i64> = notifications_in
                            .iter()
                            .map(|n| n.recipient.get())
                            .filter(|id| !existing_rows.contains_key(id))
                            .collect();
                        let heads = if fresh.is_empty() {
                            HashMap::new()
                        } else {
                            advance_heads(conn, &fresh).await?
                        };
                        let rows: Vec<NewRow<'_>> = notifications_in
                            .iter()
                            .filter(|n| !existing_rows.contains_key(&n.recipient.get()))
                            .map(|n| {
                                let seq = heads.get(&n.recipient.get()).copied().unwrap_or(1);
                                NewRow::new(n, seq)
                            })
                            .collect();
                        let mut inserted = insert_many(conn, rows).await?;
                        let mut out = Vec::with_capacity(notifications_in.len());
                        for n in &notifications_in {
                            let recipient = n.recipient.get();
                            if let Some(row) = existing_rows.remove(&recipient) {
                                out.push((row, false));
                            } else if let Some(row) = inserted.remove(&recipient) {
                                out.push((row, true));
                            } else {
                                // Only a repeated recipient (outside the contract) lands here.
                                return Err(diesel::result::Error::RollbackTransaction);
                            }
                        }
                        Ok(out)
                    },
                )
                .await
                .map_err(|e| map_query_error(e, DEDUPE_RULES));
            match result {
                Ok(rows) => {
                    return rows
                        .into_iter()
                        .map(|(row, created)| row.into_notification().map(|n| (n, created)))
                        .collect();
                }
                Err(PortError::Conflict("dedupe")) if attempt == 0 => {}
                Err(other) => return Err(other),
            }
        }
        Err(PortError::unexpected(
            "a notification batch kept colliding on dedupe keys",
        ))
    }

    async fn get(&self, recipient: UserId, id: NotificationId) -> Result<Notification, PortError> {
        let mut conn = conn(&self.pool).await?;
        notifications::table
            .find(id.get())
            .filter(notifications::recipient_id.eq(recipient.get()))
            .select(NotificationRow::as_select())
            .first::<NotificationRow>(&mut conn)
            .await
            .map_err(db)?
            .into_notification()
    }

    async fn list(
        &self,
        recipient: UserId,
        filter: InboxFilter,
        before: Option<Seq>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Notification>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let mut query = notifications::table
            .filter(notifications::recipient_id.eq(recipient.get()))
            .filter(not_expired(now))
            .select(NotificationRow::as_select())
            .into_boxed();
        if filter.unread_only {
            query = query.filter(notifications::read_at.is_null());
        }
        if let Some(kind) = filter.kind {
            query = query.filter(notifications::kind.eq(kind.as_str()));
        }
        if let Some(before) = before {
            query = query.filter(notifications::seq.lt(before.get()));
        }
        let rows = query
            .order(notifications::seq.desc())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(&mut conn)
            .await
            .map_err(db)?;
        notifications_of(rows)
    }

    async fn after(
        &self,
        recipient: UserId,
        after: Seq,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Notification>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let rows = notifications::table
            .filter(notifications::recipient_id.eq(recipient.get()))
            .filter(notifications::seq.gt(after.get()))
            .filter(not_expired(now))
            .order(notifications::seq.asc())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .select(NotificationRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        notifications_of(rows)
    }

    async fn unread_count(&self, recipient: UserId, now: DateTime<Utc>) -> Result<i64, PortError> {
        let mut conn = conn(&self.pool).await?;
        notifications::table
            .filter(notifications::recipient_id.eq(recipient.get()))
            .filter(notifications::read_at.is_null())
            .filter(not_expired(now))
            .count()
            .get_result(&mut conn)
            .await
            .map_err(db)
    }

    async fn mark_read(
        &self,
        recipient: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut conn = conn(&self.pool).await?;
        let changed = diesel::update(
            notifications::table
                .find(id.get())
                .filter(notifications::recipient_id.eq(recipient.get()))
                .filter(notifications::read_at.is_null()),
        )
        .set(notifications::read_at.eq(at))
        .execute(&mut conn)
        .await
        .map_err(db)?;
        if changed > 0 {
            return Ok(true);
        }
        let exists: i64 = notifications::table
            .find(id.get())
            .filter(notifications::recipient_id.eq(recipient.get()))
            .count()
            .get_result(&mut conn)
            .await
            .map_err(db)?;
        if exists > 0 {
            Ok(false)
        } else {
            Err(PortError::NotFound)
        }
    }

    async fn mark_all_read(&self, recipient: UserId, at: DateTime<Utc>) -> Result<u64, PortError> {
        let mut conn = conn(&self.pool).await?;
        // One statement: the count is exactly the rows it changed.
        diesel::update(
            notifications::table
                .filter(notifications::recipient_id.eq(recipient.get()))
                .filter(notifications::read_at.is_null())
                .filter(
                    notifications::expires_at
                        .is_null()
                        .or(notifications::expires_at.gt(at)),
                ),
        )
        .set(notifications::read_at.eq(at))
        .execute(&mut conn)
        .await
        .map(|n| n as u64)
        .map_err(db)
    }

    async fn mark_delivered(
        &self,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::update(
            notifications::table
                .find(id.get())
                .filter(notifications::delivered_at.is_null()),
        )
        .set(notifications::delivered_at.eq(at))
        .execute(&mut conn)
        .await
        .map(|n| n > 0)
        .map_err(db)
    }

    async fn delete(&self, recipient: UserId, id: NotificationId) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        let deleted = diesel::delete(
            notifications::table
                .find(id.get())
                .filter(notifications::recipient_id.eq(recipient.get())),
        )
        .execute(&mut conn)
        .await
        .map_err(db)?;
        if deleted == 0 {
            Err(PortError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn head_seq(&self, recipient: UserId) -> Result<Seq, PortError> {
        let mut conn = conn(&self.pool).await?;
        let head: Option<i64> = notification_inboxes::table
            .find(recipient.get())
            .select(notification_inboxes::head_seq)
            .first(&mut conn)
            .await
            .optional()
            .map_err(db)?;
        Seq::new(head.unwrap_or(0)).map_err(PortError::unexpected)
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = notification_preferences, check_for_backend(diesel::pg::Pg))]
struct PreferenceRow {
    user_id: i64,
    timezone: String,
    inapp_all: bool,
    quiet_hours_enabled: bool,
    quiet_hours_start: Option<NaiveTime>,
    quiet_hours_end: Option<NaiveTime>,
    channels: serde_json::Value,
}

impl PreferenceRow {
    fn into_preferences(self) -> Result<Preferences, PortError> {
        let row = self;
        let mut preferences = Preferences::default();
        preferences.timezone = parse_timezone(&row.timezone).map_err(PortError::unexpected)?;
        preferences.inapp_all = row.inapp_all;
        preferences.quiet_hours_enabled = row.quiet_hours_enabled;
        preferences.quiet_hours = match (row.quiet_hours_start, row.quiet_hours_end) {
            (Some(start), Some(end)) => Some(QuietHours { start, end }),
            _ => None,
        };
        for category in Category::ALL {
            for channel in Channel::ALL {
                if let Some(on) = row
                    .channels
                    .get(category.as_str())
                    .and_then(|c| c.get(channel.as_str()))
                    .and_then(serde_json::Value::as_bool)
                {
                    preferences.set(category, channel, on);
                }
            }
        }
        Ok(preferences)
    }
}

fn channels_json(preferences: &Preferences) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (category, channel, on) in preferences.cells() {
        let entry = out
            .entry(category.as_str().to_owned())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(map) = entry {
            map.insert(channel.as_str().to_owned(), serde_json::Value::Bool(on));
        }
    }
    serde_json::Value::Object(out)
}

impl PreferenceRepository for PgPreferences {
    async fn get(&self, user: UserId) -> Result<Preferences, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: Option<PreferenceRow> = notification_preferences::table
            .find(user.get())
            .select(PreferenceRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(db)?;
        row.map_or_else(
            || Ok(Preferences::default()),
            PreferenceRow::into_preferences,
        )
    }

    async fn get_many(&self, users: &[UserId]) -> Result<Vec<Preferences>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let ids: Vec<i64> = users.iter().map(|u| u.get()).collect();
        let rows: Vec<PreferenceRow> = notification_preferences::table
            .filter(notification_preferences::user_id.eq_any(&ids))
            .select(PreferenceRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        let mut by_user = HashMap::with_capacity(rows.len());
        for row in rows {
            by_user.insert(row.user_id, row.into_preferences()?);
        }
        Ok(ids
            .iter()
            .map(|id| by_user.remove(id).unwrap_or_default())
            .collect())
    }

    async fn put(&self, user: UserId, preferences: &Preferences) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        let values = (
            notification_preferences::user_id.eq(user.get()),
            notification_preferences::timezone.eq(preferences.timezone.name()),
            notification_preferences::inapp_all.eq(preferences.inapp_all),
            notification_preferences::quiet_hours_enabled.eq(preferences.quiet_hours_enabled),
            notification_preferences::quiet_hours_start
                .eq(preferences.quiet_hours.map(|q| q.start)),
            notification_preferences::quiet_hours_end.eq(preferences.quiet_hours.map(|q| q.end)),
            notification_preferences::channels.eq(channels_json(preferences)),
            notification_preferences::updated_at.eq(diesel::dsl::now),
        );
        diesel::insert_into(notification_preferences::table)
            .values(values.clone())
            .on_conflict(notification_preferences::user_id)
            .do_update()
            .set(values)
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(db)
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = notification_templates, check_for_backend(diesel::pg::Pg))]
struct TemplateRow {
    name: String,
    kind: String,
    title_template: String,
    message_template: String,
    default_priority: String,
    is_active: bool,
    builtin: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TemplateRow {
    fn into_template(self) -> Result<NotificationTemplate, PortError> {
        let bad = PortError::unexpected;
        Ok(NotificationTemplate {
            name: TemplateName::parse(&self.name).map_err(bad)?,
            kind: NotificationType::parse(&self.kind).map_err(bad)?,
            title_template: self.title_template,
            message_template: self.message_template,
            default_priority: Priority::parse(&self.default_priority).map_err(bad)?,
            is_active: self.is_active,
            builtin: self.builtin,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl TemplateRepository for PgTemplates {
    async fn list(&self) -> Result<Vec<NotificationTemplate>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let rows: Vec<TemplateRow> = notification_templates::table
            .order(notification_templates::name)
            .select(TemplateRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows.into_iter().map(TemplateRow::into_template).collect()
    }

    async fn get(&self, name: &TemplateName) -> Result<NotificationTemplate, PortError> {
        let mut conn = conn(&self.pool).await?;
        notification_templates::table
            .find(name.as_str())
            .select(TemplateRow::as_select())
            .first::<TemplateRow>(&mut conn)
            .await
            .map_err(db)?
            .into_template()
    }

    async fn active_for(
        &self,
        kind: NotificationType,
    ) -> Result<Option<NotificationTemplate>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let named = diesel::dsl::sql::<diesel::sql_types::Bool>("name = kind");
        let row: Option<TemplateRow> = notification_templates::table
            .filter(notification_templates::kind.eq(kind.as_str()))
            .filter(notification_templates::is_active.eq(true))
            .order((
                named.desc(),
                notification_templates::updated_at.desc(),
                notification_templates::name,
            ))
            .select(TemplateRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(db)?;
        row.map(TemplateRow::into_template).transpose()
    }

    async fn create(&self, template: NewTemplate) -> Result<NotificationTemplate, PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::insert_into(notification_templates::table)
            .values((
                notification_templates::name.eq(template.name.as_str()),
                notification_templates::kind.eq(template.kind.as_str()),
                notification_templates::title_template.eq(&template.title_template),
                notification_templates::message_template.eq(&template.message_template),
                notification_templates::default_priority.eq(template.default_priority.as_str()),
                notification_templates::is_active.eq(template.is_active),
            ))
            .returning(TemplateRow::as_returning())
            .get_result::<TemplateRow>(&mut conn)
            .await
            .map_err(|e| map_query_error(e, &[("notification_templates_pkey", "name")]))?
            .into_template()
    }

    async fn update(
        &self,
        name: &TemplateName,
        template: NewTemplate,
    ) -> Result<NotificationTemplate, PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::update(notification_templates::table.find(name.as_str()))
            .set((
                notification_templates::kind.eq(template.kind.as_str()),
                notification_templates::title_template.eq(&template.title_template),
                notification_templates::message_template.eq(&template.message_template),
                notification_templates::default_priority.eq(template.default_priority.as_str()),
                notification_templates::is_active.eq(template.is_active),
                notification_templates::updated_at.eq(diesel::dsl::now),
            ))
            .returning(TemplateRow::as_returning())
            .get_result::<TemplateRow>(&mut conn)
            .await
            .map_err(db)?
            .into_template()
    }

    async fn delete(&self, name: &TemplateName) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        let builtin: Option<bool> = notification_templates::table
            .find(name.as_str())
            .select(notification_templates::builtin)
            .first(&mut conn)
            .await
            .optional()
            .map_err(db)?;
        match builtin {
            None => Err(PortError::NotFound),
            Some(true) => Err(PortError::Conflict("builtin")),
            Some(false) => diesel::delete(
                notification_templates::table
                    .find(name.as_str())
                    .filter(notification_templates::builtin.eq(false)),
            )
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(db),
        }
    }
}

#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = notification_deliveries, check_for_backend(diesel::pg::Pg))]
struct DeliveryRow {
    id: i64,
    notification_id: i64,
    recipient_id: i64,
    channel: String,
    payload: serde_json::Value,
    state: String,
    attempts: i32,
    last_error: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
    not_before: DateTime<Utc>,
}

impl DeliveryRow {
    fn into_job(self) -> Result<DeliveryJob, PortError> {
        Ok(DeliveryJob {
            id: self.id,
            notification: NotificationId::new(self.notification_id)
                .map_err(PortError::unexpected)?,
            recipient: UserId::new(self.recipient_id).map_err(PortError::unexpected)?,
            channel: Channel::parse(&self.channel).map_err(PortError::unexpected)?,
            payload: serde_json::from_value::<DeliveryPayload>(self.payload)
                .map_err(PortError::unexpected)?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
        })
    }

    fn into_record(self) -> Result<DeliveryRecord, PortError> {
        Ok(DeliveryRecord {
            id: self.id,
            channel: Channel::parse(&self.channel).map_err(PortError::unexpected)?,
            state: match self.state.as_str() {
                "delivered" => DeliveryState::Delivered,
                "failed" => DeliveryState::Failed,
                _ => DeliveryState::Pending,
            },
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            last_error: self.last_error,
            delivered_at: self.delivered_at,
            not_before: self.not_before,
        })
    }
}

impl DeliveryQueue for PgDeliveries {
    async fn enqueue(&self, jobs: Vec<NewDelivery>) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        enqueue_in(&mut conn, &jobs).await.map_err(db)
    }

    async fn claim(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<DeliveryJob>, PortError> {
        let mut conn = conn(&self.pool).await?;
        // SKIP LOCKED: concurrent workers (other instances) take different jobs.
        let rows: Vec<DeliveryRow> = diesel::sql_query(
            "UPDATE notification_deliveries SET attempts = attempts + 1, leased_until = $2 \
             WHERE id IN (SELECT id FROM notification_deliveries \
                          WHERE state = 'pending' AND not_before <= $1 \
                            AND (leased_until IS NULL OR leased_until <= $1) \
                          ORDER BY not_before, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, notification_id, recipient_id, channel, payload, state, attempts, last_error, delivered_at, not_before",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .bind::<diesel::sql_types::Timestamptz, _>(now + lease)
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .load(&mut conn)
        .await
        .map_err(db)?;
        rows.into_iter().map(DeliveryRow::into_job).collect()
    }

    async fn complete(&self, id: i64, at: DateTime<Utc>) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::update(notification_deliveries::table.find(id))
            .set((
                notification_deliveries::state.eq("delivered"),
                notification_deliveries::delivered_at.eq(at),
                notification_deliveries::leased_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(db)
    }

    async fn retry(
        &self,
        id: i64,
        error: &str,
        not_before: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::update(notification_deliveries::table.find(id))
            .set((
                notification_deliveries::not_before.eq(not_before),
                notification_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                notification_deliveries::last_error.eq(error),
            ))
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(db)
    }

    async fn fail(&self, id: i64, error: &str) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::update(notification_deliveries::table.find(id))
            .set((
                notification_deliveries::state.eq("failed"),
                notification_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                notification_deliveries::last_error.eq(error),
            ))
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(db)
    }

    async fn of_notification(
        &self,
        notification: NotificationId,
    ) -> Result<Vec<DeliveryRecord>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let rows: Vec<DeliveryRow> = notification_deliveries::table
            .filter(notification_deliveries::notification_id.eq(notification.get()))
            .order(notification_deliveries::id)
            .select(DeliveryRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows.into_iter().map(DeliveryRow::into_record).collect()
    }
}
