//! The one error type every port returns.

/// Any error, with its source chain kept for the logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong behind a port. Callers decide on the variant, never on the message.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The addressed record does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; the payload names the rule (`"email"`, `"jti"`, …).
    /// Nothing was written.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// A dependency (database, Redis, SMTP) could not be reached or timed out. The operation did
    /// not happen and may be retried.
    #[error("dependency unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug or a broken invariant. Logged with its chain, never shown to clients.
    #[error("unexpected: {0}")]
    Unexpected(#[source] BoxError),
}

impl PortError {
    /// Wraps an unexpected error.
    pub fn unexpected(error: impl Into<BoxError>) -> Self {
        Self::Unexpected(error.into())
    }

    /// Wraps an error that means a dependency is down.
    pub fn unavailable(error: impl Into<BoxError>) -> Self {
        Self::Unavailable(error.into())
    }
}
