//! Before the upgrade: the Origin allowlist and the token, wherever the client put it.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use app::AuthFailure;

use crate::auth::bearer_token;
use crate::error::ApiError;

/// Which browser origins may open sessions.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Allowed `Origin` values (scheme://host[:port]); `*` allows any.
    pub allowed: Vec<String>,
    /// Whether a request without `Origin` (a non-browser client) is allowed.
    pub allow_missing: bool,
}

impl OriginPolicy {
    /// 403 `origin_not_allowed` unless the request's origin passes.
    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let refuse = |why: String| ApiError::new(StatusCode::FORBIDDEN, "origin_not_allowed", why);
        match req.headers().get(header::ORIGIN) {
            None if self.allow_missing => Ok(()),
            None => Err(refuse(
                "a WebSocket without an Origin header is not allowed here".into(),
            )),
            Some(value) => {
                let origin = value.to_str().unwrap_or_default().trim_end_matches('/');
                if self
                    .allowed
                    .iter()
                    .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
                {
                    Ok(())
                } else {
                    Err(refuse(format!("origin {origin:?} is not allowed")))
                }
            }
        }
    }
}

/// The subprotocol that carries a token: `Sec-WebSocket-Protocol: bearer, <JWT>`.
pub const BEARER_PROTOCOL: &str = "bearer";

/// The `101 Switching Protocols` for a valid WebSocket handshake (400 `websocket_handshake`
/// otherwise), naming the `bearer` subprotocol when the client offered it.
pub fn accept(req: &HttpRequest) -> Result<HttpResponse, ApiError> {
    let invalid = |e: &dyn std::fmt::Display| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "websocket_handshake",
            format!("not a valid WebSocket upgrade: {e}"),
        )
    };
    let mut response = actix_http::ws::handshake(req.head()).map_err(|e| invalid(&e))?;
    if offered_protocols(req).any(|p| p.eq_ignore_ascii_case(BEARER_PROTOCOL)) {
        response.insert_header((header::SEC_WEBSOCKET_PROTOCOL, BEARER_PROTOCOL));
    }
    let response = response.message_body(()).map_err(|e| invalid(&e))?;
    Ok(HttpResponse::from(response).map_into_boxed_body())
}

/// The subprotocols the client offered, in order.
fn offered_protocols(req: &HttpRequest) -> impl Iterator<Item = &str> {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// The access token from `?token=`, the `Authorization` header, or the `bearer` subprotocol.
pub fn websocket_token(req: &HttpRequest) -> Result<String, ApiError> {
    if let Some(token) = query_token(req.query_string()) {
        return Ok(token);
    }
    if let Some(token) = bearer_token(req).map_err(|f| ApiError::unauthenticated(&f))? {
        return Ok(token);
    }
    if let Some(token) = subprotocol_token(req) {
        return Ok(token);
    }
    Err(ApiError::unauthenticated(&AuthFailure::Missing))
}

fn query_token(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "token")
        .map(|(_, value)| value.replace("%2E", ".").replace("%2e", "."))
        .filter(|token| !token.is_empty())
}

fn subprotocol_token(req: &HttpRequest) -> Option<String> {
    let mut offered = offered_protocols(req);
    offered.find(|p| p.eq_ignore_ascii_case(BEARER_PROTOCOL))?;
    offered.next().filter(|t| !t.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_query() {
        assert_eq!(query_token("a=1&token=x.y.z"), Some("x.y.z".into()));
        assert_eq!(query_token("token=x%2Ey%2Ez"), Some("x.y.z".into()));
        assert_eq!(query_token("token="), None);
        assert_eq!(query_token("tokens=abc"), None);
    }
}
