//! The WebSocket gateway: `/ws/` (alias `/ws/chat/`), PROTOCOL §3.

pub mod codec;
pub mod compat;
pub mod compat_inbox;
pub mod connection;
pub mod dialect;
pub mod handshake;
pub mod upgrade;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use app::realtime::SessionSettings;
use app::realtime::frames::close;
use app::{AppError, Ports, Services};
use domain::auth::Principal;
use futures_util::FutureExt as _;

use self::connection::{Connection, close_socket, open_socket};
use self::dialect::{Dialect, Unified};
use self::handshake::{OriginPolicy, accept, websocket_token};
use self::upgrade::Handoff;
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
    services: web::Data<Services<P>>,
    gateway: web::Data<WsGateway>,
) -> Result<HttpResponse, ApiError> {
    open(req, services, gateway).await
}

/// The same socket under the original's path.
#[utoipa::path(get, path = "/ws/chat/", tag = "realtime",
    responses((status = 101, description = "As `/ws/`"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn unified_alias<P: Ports>(
    req: HttpRequest,
    services: web::Data<Services<P>>,
    gateway: web::Data<WsGateway>,
) -> Result<HttpResponse, ApiError> {
    open(req, services, gateway).await
}

async fn open<P: Ports>(
    req: HttpRequest,
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
        &req,
        services.get_ref().clone(),
        &gateway,
        user,
        claims.expires_at,
        Arc::new(Unified),
    )
}

/// Answers the upgrade for an authenticated user: the `101`, and the session in `dialect` that
/// runs once it is written ([`upgrade`]).
pub fn start_connection<P: Ports>(
    req: &HttpRequest,
    services: Services<P>,
    gateway: &WsGateway,
    user: domain::user::User,
    expires_at: chrono::DateTime<chrono::Utc>,
    dialect: Arc<dyn Dialect>,
) -> Result<HttpResponse, ApiError> {
    let mut response = accept(req)?;
    let settings = gateway.settings.session.clone();
    let max_frame_bytes = gateway.settings.max_frame_bytes;
    let session = move |io, already_read| {
        async move {
            let socket = open_socket(io, already_read, max_frame_bytes).await;
            match services.hub.register(user.id) {
                Ok(registration) => {
                    let connection = Connection {
                        services,
                        dialect,
                        settings,
                        max_frame_bytes,
                    };
                    connection.run(user, expires_at, registration, socket).await;
                }
                // The upgrade completes so that the client sees the close code.
                Err(_) => {
                    close_socket(
                        socket,
                        close::TOO_MANY_SESSIONS,
                        "too many sessions for this user",
                    )
                    .await;
                }
            }
        }
        .boxed_local()
    };
    response.extensions_mut().insert(Handoff::new(session));
    Ok(response)
}
