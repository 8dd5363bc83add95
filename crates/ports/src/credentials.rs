//! Password hashing, token signing and refresh-token rotation.

use std::future::Future;

use chrono::{DateTime, Utc};
use domain::auth::Claims;
use domain::password::{Password, PasswordHash};
use domain::user::UserId;

use crate::PortError;

/// Hashes and verifies passwords. Implementations are deliberately slow (memory-hard), so they
/// run off the async executor.
pub trait PasswordHasher: Clone + Send + Sync + 'static {
    /// A salted hash of `password`. Errors: `Unexpected` only.
    fn hash(
        &self,
        password: &Password,
    ) -> impl Future<Output = Result<PasswordHash, PortError>> + Send;

    /// True when `password` matches `hash`; false for a mismatch or a hash it cannot read.
    /// Errors: `Unexpected` only.
    fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
}

/// Why a token was refused. Each reason is reported to the client as `401` with its own code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// `exp` is in the past (beyond the configured leeway).
    #[error("token has expired")]
    Expired,
    /// The signature does not verify with the configured key.
    #[error("token signature is invalid")]
    BadSignature,
    /// The header names an algorithm other than the configured one (including `none`).
    #[error("token algorithm is not accepted")]
    BadAlgorithm,
    /// `iss` or `aud` does not match the configuration.
    #[error("token issuer or audience is not accepted")]
    BadIssuerOrAudience,
    /// Not a JWT, or a claim is missing or of the wrong type.
    #[error("token is malformed: {0}")]
    Malformed(String),
}

/// Signs and verifies JWTs with the configured algorithm and key.
pub trait TokenCodec: Clone + Send + Sync + 'static {
    /// True when this codec holds a key that can sign (HS256 secret or a private key).
    fn can_sign(&self) -> bool;

    /// Signs `claims`. Errors: `Unexpected` when no signing key is configured or signing fails.
    fn issue(&self, claims: &Claims) -> Result<String, PortError>;

    /// Verifies signature, algorithm, `exp` (with leeway), and `iss`/`aud` when configured, and
    /// returns the claims. The token's kind is returned, not checked: callers decide.
    fn verify(&self, token: &str) -> Result<Claims, TokenError>;
}

/// Remembers which refresh tokens were already exchanged, so each is usable once (rotation).
pub trait RefreshTokenStore: Clone + Send + Sync + 'static {
    /// Marks the refresh token `jti` as used. Atomic: of two concurrent calls with one `jti`,
    /// exactly one succeeds.
    ///
    /// Errors: `Conflict("jti")` when it was already used.
    fn consume(
        &self,
        jti: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Forgets used tokens that expired before `now` (they are refused by their `exp` anyway) and
    /// returns how many were removed.
    fn purge_expired(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, PortError>> + Send;
}
