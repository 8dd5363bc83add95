//! Liveness and readiness.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use app::{Ports, Services};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};

/// The process is alive.
#[derive(Debug, Serialize, ToSchema)]
pub struct Alive {
    /// Always `ok`.
    pub status: &'static str,
}

/// Every dependency answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// Always `ready`.
    pub status: &'static str,
    /// Each dependency and `up`.
    #[schema(value_type = Object)]
    pub dependencies: std::collections::BTreeMap<&'static str, &'static str>,
}

/// Liveness: answers while the process runs, whatever its dependencies do.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Alive)))]
pub async fn healthz() -> web::Json<Alive> {
    web::Json(Alive { status: "ok" })
}

/// Readiness: 200 when PostgreSQL and Redis (or the memory backend) answer, 503 naming each
/// dependency that does not.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "A dependency is down; `detail` names it", body = ErrorBody),
    ))]
pub async fn readyz<P: Ports>(services: web::Data<Services<P>>) -> Result<HttpResponse, ApiError> {
    let statuses = services.health.readiness().await;
    let down: Vec<String> = statuses
        .iter()
        .filter_map(|s| {
            s.error
                .as_ref()
                .map(|e| format!("{} is down ({e})", s.name))
        })
        .collect();
    if down.is_empty() {
        let dependencies = statuses.iter().map(|s| (s.name, "up")).collect();
        Ok(HttpResponse::Ok().json(Ready {
            status: "ready",
            dependencies,
        }))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("not ready: {}", down.join("; ")),
        ))
    }
}
