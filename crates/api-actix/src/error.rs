//! The one error body of the API, and the one place where errors become HTTP responses.
//!
//! Every 4xx/5xx the service sends has the shape `{"detail", "code", "errors"?}`: errors of our
//! use cases (through the exhaustive [`From<AppError>`]), actix's own extractor errors (through
//! the handlers installed in [`crate::routes`]), unknown routes and methods, and — as a last
//! line of defence — any other error response, rewritten by [`normalize_error_response`].

use std::collections::BTreeMap;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use app::{AppError, AuthFailure};
use domain::FieldErrors;
use serde::Serialize;
use utoipa::ToSchema;

/// The error body of every 4xx/5xx response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence a person can read.
    pub detail: String,
    /// A stable machine code (`validation_error`, `not_found`, `token_expired`, …).
    pub code: String,
    /// For validation errors only: every failing field with its messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

/// An HTTP error: a status and the shared body.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Seconds for `Retry-After` (429 and 503).
    retry_after_s: u64,
}

impl ApiError {
    /// An error with this status, code and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                detail: detail.into(),
                code: code.to_owned(),
                errors: None,
            },
            retry_after_s: 1,
        }
    }

    /// A 400 naming every failing field.
    pub fn validation(errors: &FieldErrors) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "validation_error",
            format!("invalid input: {errors}"),
        );
        error.body.errors = Some(errors.fields().clone());
        error
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.body.code,
            self.body.detail
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE
            || self.status == StatusCode::TOO_MANY_REQUESTS
        {
            response.insert_header((header::RETRY_AFTER, self.retry_after_s.to_string()));
        }
        response.json(&self.body)
    }
}

impl ApiError {
    /// Sets `Retry-After` (whole seconds, at least one).
    fn retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after_s = after.as_secs_f64().ceil().max(1.0) as u64;
        self
    }
}

impl From<AppError> for ApiError {
    /// The exhaustive mapping of use-case errors to HTTP. 5xx bodies are opaque; their cause is
    /// logged here with its whole chain.
    fn from(error: AppError) -> Self {
        match error {
            AppError::Validation(errors) => Self::validation(&errors),
            AppError::Unauthenticated(failure) => Self::unauthenticated(&failure),
            AppError::Forbidden { code, detail } => Self::new(StatusCode::FORBIDDEN, code, detail),
            AppError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            AppError::Conflict { code, detail } => Self::new(StatusCode::CONFLICT, code, detail),
            AppError::RateLimited {
                detail,
                retry_after,
            } => Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail)
                .retry_after(retry_after),
            AppError::Unavailable(source) => {
                tracing::warn!(error = %chain(source.as_ref()), "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "a dependency is temporarily unavailable; retry shortly",
                )
            }
            AppError::Unexpected(source) => {
                tracing::error!(error = %chain(source.as_ref()), "unexpected error");
                Self::internal()
            }
        }
    }
}

impl ApiError {
    /// A 401 for this failure.
    pub fn unauthenticated(failure: &AuthFailure) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            failure.code(),
            failure.to_string(),
        )
    }

    /// The opaque 500.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; it has been logged",
        )
    }

    /// 404 for a path no route matches.
    pub fn route_not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {path}"),
        )
    }
}

/// Renders an error and its sources as `outer: inner: innermost`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// actix's JSON extractor errors, in the shared body.
pub fn json_error(error: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &error {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body exceeds the limit of {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON, sent with Content-Type: application/json",
        ),
        JsonPayloadError::Deserialize(inner) if inner.is_data() => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the JSON body does not match the expected shape: {inner}"),
        ),
        JsonPayloadError::Deserialize(inner) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {inner}"),
        ),
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body could not be read: {other}"),
        ),
    };
    api.into()
}

/// A path parameter that does not parse (`/rooms/abc/`) names no resource: 404, as Django's
/// typed URL patterns answer.
pub fn path_error(error: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such resource ({error})"),
    )
    .into()
}

/// A query string that does not parse.
pub fn query_error(error: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        format!("the query string is invalid: {error}"),
    )
    .into()
}

/// The last line of defence: any 4xx/5xx response that is not already JSON (an error raised by
/// actix itself, a middleware, or a library) is rewritten into the shared body. JSON error bodies
/// pass through untouched. 5xx bodies are always replaced by the opaque one.
pub fn normalize_error_response<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let status = response.status();
    // Our own error bodies are the only JSON error bodies the service produces.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value == HeaderValue::from_static("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let api = if status.is_server_error() {
        if let Some(error) = response.response().error() {
            tracing::error!(error = %error, "internal error outside a handler");
        }
        ApiError::new(
            status,
            "internal_error",
            "an internal error occurred; it has been logged",
        )
    } else {
        let code = match status {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNAUTHORIZED => "not_authenticated",
            StatusCode::FORBIDDEN => "forbidden",
            _ => "bad_request",
        };
        let detail = response
            .response()
            .error()
            .map(|e| e.to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
        ApiError::new(status, code, detail)
    };
    let (request, _) = response.into_parts();
    let rewritten = ServiceResponse::new(request, api.error_response()).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(rewritten))
}

/// Type of a response after [`normalize_error_response`].
pub type NormalizedBody<B> = EitherBody<B, BoxBody>;
