//! The WebSocket gateway: `/ws/` (alias `/ws/chat/`), PROTOCOL §3.

pub mod codec;
pub mod compat;
pub mod compat_inbox;
pub mod connection;
pub mod dialect;
pub mod handshake;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use app::realtime::SessionSettings;
use app::realtime::frames::close;
use app::{AppError, Ports, Services};
use domain::auth::Principal;

use self::connection::Connection;
use self::dialect::{Dialect, Unified};
use self::handshake::{BEARER_PROTOCOL, OriginPolicy, websocket_token};
use crate::error::{ApiError, ErrorBody};

/// WebSocket settings.
#[derive(Debug, Clone)]
pub struct WsSettings {
    /// Which origins may connect.
    pub origins: OriginPolicy,
    /// Largest client frame, in bytes (1009 beyond).
    pub max_frame_bytes: usize,
    /// Session behaviour.
    pub session: SessionSettings,
}

/// The gateway's shared state.
pub struct WsGateway {
    /// Settings.
    pub settings: WsSettings,
}

impl std::fmt::Debug for WsGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsGateway")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The unified socket. Authenticate with `?token=`, `Authorization: Bearer`, or the subprotocol
/// `bearer, <JWT>`; then see PROTOCOL §3 for the frames.
#[utoipa::path(get, path = "/ws/", tag = "realtime",
    params(("token" = Option<String>, Query, description = "Access token (or use the Authorization header, or the `bearer` subprotocol)")),
    responses(
        (status = 101, description = "Switching protocols: the session starts with `connection_established`"),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 403, description = "Origin not allowed, or not a user token", body = ErrorBody),
    ))]
pub async fn unified<P: Ports>(
    req: HttpRequest,
    body: web::Payload,
    services: web::Data<Services<P>>,
    gateway: web::Data<WsGateway>,
) -> Result<HttpResponse, ApiError> {
    open(req, body, services, gateway).await
}

/// The same socket under the original's path.
#[utoipa::path(get, path = "/ws/chat/", tag = "realtime",
    responses((status = 101, description = "As `/ws/`"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn unified_alias<P: Ports>(
    req: HttpRequest,
    body: web::Payload,
    services: web::Data<Services<P>>,
    gateway: web::Data<WsGateway>,
) -> Result<HttpResponse, ApiError> {
    open(req, body, services, gateway).await
}

async fn open<P: Ports>(
    req: HttpRequest,
    body: web::Payload,
    services: web::Data<Services<P>>,
    gateway: web::Data<WsGateway>,
) -> Result<HttpResponse, ApiError> {
    gateway.settings.origins.check(&req)?;
    let token = websocket_token(&req)?;
    let (principal, claims) = services.authenticator.authenticate(&token).await?;
    let Principal::User(user) = principal else {
        return Err(AppError::forbidden(
            "not_a_user",
            "sessions are for user tokens, not service tokens",
        )
        .into());
    };
    start_connection(
        req,
        body,
        services.get_ref().clone(),
        &gateway,
        user,
        claims.expires_at,
        Arc::new(Unified),
    )
}

/// Completes the upgrade for an authenticated user and starts their session task in `dialect`.
pub fn start_connection<P: Ports>(
    req: HttpRequest,
    body: web::Payload,
    services: Services<P>,
    gateway: &WsGateway,
    user: domain::user::User,
    expires_at: chrono::DateTime<chrono::Utc>,
    dialect: Arc<dyn Dialect>,
) -> Result<HttpResponse, ApiError> {
    let (response, socket, stream) =
        actix_ws::handle_with_protocols(&req, body, &[BEARER_PROTOCOL]).map_err(|e| {
            ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "websocket_handshake",
                format!("not a valid WebSocket upgrade: {e}"),
            )
        })?;
    match services.hub.register(user.id) {
        Ok(registration) => {
            let connection = Connection {
                services,
                dialect,
                settings: gateway.settings.session.clone(),
                max_frame_bytes: gateway.settings.max_frame_bytes,
            };
            actix_web::rt::spawn(connection.run(user, expires_at, registration, socket, stream));
        }
        Err(_) => {
            // The upgrade must complete for the client to see the close code.
            actix_web::rt::spawn(async move {
                let reason = actix_ws::CloseReason {
                    code: actix_ws::CloseCode::from(close::TOO_MANY_SESSIONS),
                    description: Some("too many sessions for this user".to_owned()),
                };
                let _ = socket.close(Some(reason)).await;
                drop(stream);
            });
        }
    }
    Ok(response)
}
