//! User accounts in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::password::PasswordHash;
use domain::user::{Email, ExternalUser, NewUser, PersonName, Role, User, UserId, Username};
use ports::{PortError, UserRepository};

use crate::errors::{db, map_query_error};
use crate::pool::{PgPool, conn};
use crate::schema::users;

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
diesel::define_sql_function! {
    /// SQL `lower(text)` on a nullable column.
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Which unique index means which rule.
const UNIQUE_RULES: &[(&str, &str)] = &[
    ("users_email_lower_key", "email"),
    ("users_username_lower_key", "username"),
];

/// A row of `users`.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct UserRow {
    id: i64,
    username: String,
    email: Option<String>,
    first_name: String,
    last_name: String,
    role: String,
    is_active: bool,
    password_hash: Option<String>,
    created_at: DateTime<Utc>,
}

impl UserRow {
    /// The domain user. A row that no longer parses is a broken invariant.
    fn into_user(self) -> Result<(User, Option<PasswordHash>), PortError> {
        let corrupt = |e: domain::ValidationError| {
            PortError::unexpected(format!("stored user {} is invalid: {e}", self.id))
        };
        let user = User {
            id: UserId::new(self.id).map_err(corrupt)?,
            username: Username::parse(&self.username).map_err(corrupt)?,
            email: self
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(corrupt)?,
            first_name: PersonName::parse("first_name", &self.first_name).map_err(corrupt)?,
            last_name: PersonName::parse("last_name", &self.last_name).map_err(corrupt)?,
            role: Role::parse(&self.role).map_err(corrupt)?,
            is_active: self.is_active,
            created_at: self.created_at,
        };
        Ok((user, self.password_hash.map(PasswordHash::from_phc)))
    }
}

/// The `users` table.
#[derive(Clone)]
pub struct PgUsers {
    pool: PgPool,
}

impl std::fmt::Debug for PgUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgUsers")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgUsers {
    /// The repository over this pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Serialises explicit-id inserts so the identity sequence is only ever moved forward.
const EXTERNAL_ID_LOCK_KEY: i64 = 0x65_63_6c_75_73_72;

impl UserRepository for PgUsers {
    async fn create(&self, new: NewUser, password: PasswordHash) -> Result<User, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: UserRow = diesel::insert_into(users::table)
            .values((
                users::username.eq(new.username.as_str()),
                users::email.eq(new.email.as_str()),
                users::first_name.eq(new.first_name.as_str()),
                users::last_name.eq(new.last_name.as_str()),
                users::role.eq(new.role.as_str()),
                users::password_hash.eq(password.as_phc()),
            ))
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .await
            .map_err(|e| map_query_error(e, UNIQUE_RULES))?;
        Ok(row.into_user()?.0)
    }

    async fn get(&self, id: UserId) -> Result<User, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: UserRow = users::table
            .find(id.get())
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .map_err(db)?;
        Ok(row.into_user()?.0)
    }

    async fn get_many(&self, ids: &[UserId]) -> Result<Vec<User>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        let mut conn = conn(&self.pool).await?;
        let rows: Vec<UserRow> = users::table
            .filter(users::id.eq_any(raw))
            .select(UserRow::as_select())
            .load(&mut conn)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(|row| row.into_user().map(|(user, _)| user))
            .collect()
    }

    async fn find_by_email(
        &self,
        email: &Email,
    ) -> Result<(User, Option<PasswordHash>), PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: UserRow = users::table
            .filter(lower_nullable(users::email).eq(email.as_str().to_lowercase()))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .map_err(db)?;
        row.into_user()
    }

    async fn ensure_external(&self, external: ExternalUser) -> Result<User, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row = conn
            .transaction::<UserRow, diesel::result::Error, _>(async move |conn| {
                diesel::sql_query(format!(
                    "SELECT pg_advisory_xact_lock({EXTERNAL_ID_LOCK_KEY})"
                ))
                .execute(conn)
                .await?;
                let inserted: Option<UserRow> = diesel::insert_into(users::table)
                    .values((
                        users::id.eq(external.id.get()),
                        users::username.eq(external.username.as_str()),
                        users::email.eq(external.email.as_ref().map(Email::as_str)),
                        users::role.eq(external.role.as_str()),
                    ))
                    .on_conflict(users::id)
                    .do_nothing()
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await
                    .optional()?;
                match inserted {
                    Some(row) => {
                        // Keep `create` from ever handing out this id.
                        diesel::sql_query(
                            "SELECT setval(pg_get_serial_sequence('users', 'id'), \
                                 GREATEST($1, (SELECT last_value FROM users_id_seq)))",
                        )
                        .bind::<diesel::sql_types::BigInt, _>(row.id)
                        .execute(conn)
                        .await?;
                        Ok(row)
                    }
                    None => {
                        users::table
                            .find(external.id.get())
                            .select(UserRow::as_select())
                            .first(conn)
                            .await
                    }
                }
            })
            .await
            .map_err(|e| map_query_error(e, UNIQUE_RULES))?;
        Ok(row.into_user()?.0)
    }

    async fn upsert_admin(
        &self,
        email: Email,
        username: Username,
        password: PasswordHash,
    ) -> Result<User, PortError> {
        let mut conn = conn(&self.pool).await?;
        let outcome = conn
            .transaction::<Option<UserRow>, diesel::result::Error, _>(async move |conn| {
                let matches: Vec<i64> = users::table
                    .filter(
                        lower_nullable(users::email)
                            .eq(email.as_str().to_lowercase())
                            .or(lower(users::username).eq(username.as_str().to_lowercase())),
                    )
                    .select(users::id)
                    .for_update()
                    .load(conn)
                    .await?;
                match matches.as_slice() {
                    [] => diesel::insert_into(users::table)
                        .values((
                            users::username.eq(username.as_str()),
                            users::email.eq(email.as_str()),
                            users::role.eq(Role::Admin.as_str()),
                            users::password_hash.eq(password.as_phc()),
                        ))
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                        .await
                        .map(Some),
                    [id] => diesel::update(users::table.find(*id))
                        .set((
                            users::role.eq(Role::Admin.as_str()),
                            users::is_active.eq(true),
                            users::password_hash.eq(password.as_phc()),
                            users::email.eq(diesel::dsl::sql::<
                                diesel::sql_types::Nullable<diesel::sql_types::Text>,
                            >("COALESCE(email, ")
                            .bind::<diesel::sql_types::Text, _>(email.as_str())
                            .sql(")")),
                            users::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                        .await
                        .map(Some),
                    _ => Ok(None),
                }
            })
            .await
            .map_err(|e| map_query_error(e, UNIQUE_RULES))?;
        let row = outcome.ok_or(PortError::Conflict("username"))?;
        Ok(row.into_user()?.0)
    }

    async fn active_ids(
        &self,
        role: Option<Role>,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserId>, PortError> {
        let mut conn = conn(&self.pool).await?;
        let mut query = users::table
            .filter(users::is_active.eq(true))
            .select(users::id)
            .into_boxed();
        if let Some(role) = role {
            query = query.filter(users::role.eq(role.as_str()));
        }
        if let Some(after) = after {
            query = query.filter(users::id.gt(after.get()));
        }
        let ids: Vec<i64> = query
            .order(users::id)
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(&mut conn)
            .await
            .map_err(db)?;
        ids.into_iter()
            .map(|id| UserId::new(id).map_err(PortError::unexpected))
            .collect()
    }

    async fn count_active(&self, role: Option<Role>) -> Result<u64, PortError> {
        let mut conn = conn(&self.pool).await?;
        let mut query = users::table.filter(users::is_active.eq(true)).into_boxed();
        if let Some(role) = role {
            query = query.filter(users::role.eq(role.as_str()));
        }
        query
            .count()
            .get_result::<i64>(&mut conn)
            .await
            .map(|n| n as u64)
            .map_err(db)
    }

    async fn set_active(&self, id: UserId, active: bool) -> Result<User, PortError> {
        let mut conn = conn(&self.pool).await?;
        let row: UserRow = diesel::update(users::table.find(id.get()))
            .set((
                users::is_active.eq(active),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .await
            .map_err(db)?;
        Ok(row.into_user()?.0)
    }
}
