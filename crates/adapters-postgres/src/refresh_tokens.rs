//! Used refresh tokens in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::user::UserId;
use ports::{PortError, RefreshTokenStore};

use crate::errors::{db, map_query_error};
use crate::pool::{PgPool, conn};
use crate::schema::used_refresh_tokens;

/// The `used_refresh_tokens` table; its primary key makes each jti usable once.
#[derive(Clone)]
pub struct PgRefreshTokens {
    pool: PgPool,
}

impl std::fmt::Debug for PgRefreshTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRefreshTokens")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgRefreshTokens {
    /// The store over this pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl RefreshTokenStore for PgRefreshTokens {
    async fn consume(
        &self,
        jti: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::insert_into(used_refresh_tokens::table)
            .values((
                used_refresh_tokens::jti.eq(jti),
                used_refresh_tokens::user_id.eq(user.get()),
                used_refresh_tokens::expires_at.eq(expires_at),
            ))
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| map_query_error(e, &[("used_refresh_tokens_pkey", "jti")]))
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, PortError> {
        let mut conn = conn(&self.pool).await?;
        diesel::delete(used_refresh_tokens::table.filter(used_refresh_tokens::expires_at.lt(now)))
            .execute(&mut conn)
            .await
            .map(|n| n as u64)
            .map_err(db)
    }
}
