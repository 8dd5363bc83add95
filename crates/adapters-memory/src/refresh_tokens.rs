//! Used refresh tokens, in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::user::UserId;
use ports::{PortError, RefreshTokenStore};

use crate::lock::lock;

/// The set of used refresh-token ids with their expiry.
#[derive(Debug, Clone, Default)]
pub struct MemoryRefreshTokens {
    used: Arc<Mutex<HashMap<String, DateTime<Utc>>>>,
}

impl RefreshTokenStore for MemoryRefreshTokens {
    async fn consume(
        &self,
        jti: &str,
        _user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut used = lock(&self.used);
        if used.contains_key(jti) {
            return Err(PortError::Conflict("jti"));
        }
        used.insert(jti.to_owned(), expires_at);
        Ok(())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, PortError> {
        let mut used = lock(&self.used);
        let before = used.len();
        used.retain(|_, expires_at| *expires_at >= now);
        Ok((before - used.len()) as u64)
    }
}
