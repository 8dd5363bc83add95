//! Access tokens for simulated users, signed the way the platform signs them (HS256,
//! simplejwt claims). A token carrying `username` creates its user on first sight, so a run
//! needs no registration round-trips.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

/// Mints tokens for user ids `base + i`.
#[derive(Clone)]
pub struct Tokens {
    key: EncodingKey,
    /// First user id of the run (keeps runs apart and clear of real users).
    pub base: i64,
    /// Username prefix.
    pub tag: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("base", &self.base)
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens signed with `secret` for users from `base` up.
    pub fn new(secret: &str, base: i64, tag: impl Into<String>) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
            base,
            tag: tag.into(),
        }
    }

    /// The id of simulated user `i`.
    pub fn user_id(&self, i: usize) -> i64 {
        self.base + i64::try_from(i).unwrap_or(i64::MAX - self.base)
    }

    /// A 24-hour access token for simulated user `i`.
    pub fn token(&self, i: usize) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = json!({
            "token_type": "access",
            "user_id": self.user_id(i),
            "username": format!("{}{}", self.tag, i),
            "role": "client",
            "iat": now,
            "exp": now + 86_400,
            "jti": format!("{}-{i}-{now}", self.tag),
        });
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key).unwrap_or_default()
    }
}
