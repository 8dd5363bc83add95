//! The application's error: what a use case tells its caller, independent of transport.

use domain::FieldErrors;
use ports::{BoxError, PortError, TokenError};

/// Why a caller could not be authenticated. Each becomes a `401` with its own machine code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No credentials were sent.
    #[error("authentication credentials were not provided")]
    Missing,
    /// The `Authorization` header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    MalformedHeader,
    /// The token itself was refused.
    #[error("{0}")]
    Token(TokenError),
    /// A refresh token was used where an access token is required.
    #[error("an access token is required (token_type must be \"access\")")]
    NotAccessToken,
    /// An access token was used where a refresh token is required.
    #[error("a refresh token is required (token_type must be \"refresh\")")]
    NotRefreshToken,
    /// The token names a user we do not know and carries no `username` to create them from.
    #[error("the token's user is unknown")]
    UnknownUser,
    /// The user exists but is deactivated.
    #[error("the user is inactive")]
    InactiveUser,
    /// This refresh token was already exchanged once.
    #[error("this refresh token was already used")]
    RefreshReused,
    /// Login with a wrong address or password (deliberately not saying which).
    #[error("no active account found with the given credentials")]
    InvalidCredentials,
}

impl AuthFailure {
    /// The machine-readable code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "not_authenticated",
            AuthFailure::MalformedHeader => "malformed_authorization",
            AuthFailure::Token(TokenError::Expired) => "token_expired",
            AuthFailure::Token(TokenError::BadSignature) => "token_bad_signature",
            AuthFailure::Token(TokenError::BadAlgorithm) => "token_bad_algorithm",
            AuthFailure::Token(TokenError::BadIssuerOrAudience) => "token_bad_issuer_or_audience",
            AuthFailure::Token(TokenError::Malformed(_)) => "token_malformed",
            AuthFailure::NotAccessToken => "token_not_access",
            AuthFailure::NotRefreshToken => "token_not_refresh",
            AuthFailure::UnknownUser => "user_not_found",
            AuthFailure::InactiveUser => "user_inactive",
            AuthFailure::RefreshReused => "token_reused",
            AuthFailure::InvalidCredentials => "invalid_credentials",
        }
    }
}

/// What a use case can fail with. The HTTP and WebSocket gateways map it in exactly one place.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input did not parse; every failing field is named. Nothing changed.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    /// The caller is not authenticated.
    #[error("{0}")]
    Unauthenticated(AuthFailure),
    /// The caller is authenticated but not allowed to do this. Nothing changed.
    #[error("{detail}")]
    Forbidden {
        /// Machine code.
        code: &'static str,
        /// Human explanation.
        detail: String,
    },
    /// The resource does not exist or the caller may not know it does. Nothing changed.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state. Nothing changed.
    #[error("{detail}")]
    Conflict {
        /// Machine code.
        code: &'static str,
        /// Human explanation.
        detail: String,
    },
    /// Too many requests of this kind from this caller; nothing was done. Retry after the
    /// given time.
    #[error("{detail}")]
    RateLimited {
        /// Human explanation.
        detail: String,
        /// When a retry can succeed.
        retry_after: std::time::Duration,
    },
    /// A dependency is down; nothing was done and the request may be retried.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug or broken invariant; logged with its chain, opaque to clients.
    #[error("unexpected error")]
    Unexpected(#[source] BoxError),
}

impl AppError {
    /// A forbidden operation.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    /// A state conflict.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// A single invalid field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        Self::Validation(errors)
    }

    /// Maps a port error whose `NotFound` means `what` is missing. `Conflict` from a port that the
    /// use case did not anticipate is a broken invariant, hence `Unexpected`.
    pub fn from_port(what: &'static str) -> impl FnOnce(PortError) -> Self {
        move |error| match error {
            PortError::NotFound => Self::NotFound(what),
            PortError::Unavailable(source) => Self::Unavailable(source),
            PortError::Conflict(rule) => {
                Self::Unexpected(format!("unanticipated conflict on {rule}").into())
            }
            PortError::Unexpected(source) => Self::Unexpected(source),
        }
    }
}

impl AppError {
    /// The machine code clients branch on; the same over REST and WebSocket.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_error",
            AppError::Unauthenticated(failure) => failure.code(),
            AppError::Forbidden { code, .. } | AppError::Conflict { code, .. } => code,
            AppError::NotFound(_) => "not_found",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Unexpected(_) => "internal_error",
        }
    }

    /// A sentence safe to show to the client: never the internals of a 5xx.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Validation(errors) => format!("invalid input: {errors}"),
            AppError::Unauthenticated(failure) => failure.to_string(),
            AppError::Forbidden { detail, .. } | AppError::Conflict { detail, .. } => {
                detail.clone()
            }
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::RateLimited { detail, .. } => detail.clone(),
            AppError::Unavailable(_) => {
                "a dependency is temporarily unavailable; retry shortly".to_owned()
            }
            AppError::Unexpected(_) => "an internal error occurred; it has been logged".to_owned(),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<domain::ValidationError> for AppError {
    fn from(error: domain::ValidationError) -> Self {
        Self::Validation(error.into())
    }
}

impl From<AuthFailure> for AppError {
    fn from(failure: AuthFailure) -> Self {
        Self::Unauthenticated(failure)
    }
}
