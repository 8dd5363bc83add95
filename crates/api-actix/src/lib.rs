//! The HTTP and WebSocket gateway of eclean-realtime on actix-web.
//!
//! [`build_app`] assembles the whole API for one set of ports; [`serve::serve`] runs it, with
//! WebSocket sessions leaving the HTTP layer once upgraded. Errors become HTTP only in
//! [`error`]; authentication is the [`auth::Caller`] extractor; the route table is in
//! [`routes`].

pub mod auth;
pub mod credentials;
pub mod dto;
pub mod error;
pub mod handlers;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod telemetry;
pub mod validation;
pub mod ws;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpRequest, web};
use app::{Ports, Services};
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use auth::{Caller, SharedAuthenticator, shared_authenticator};
pub use error::{ApiError, ErrorBody};

/// Limits of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest JSON body accepted, in bytes.
    pub json_limit: usize,
}

/// Everything the handlers share, built once and cloned into each worker.
pub struct Gateway<P: Ports> {
    /// The application services.
    pub services: web::Data<Services<P>>,
    /// The services' authenticator behind the object-safe seam.
    pub authenticator: SharedAuthenticator,
    /// The Prometheus recorder's handle.
    pub metrics: web::Data<PrometheusHandle>,
    /// HTTP limits.
    pub http: HttpSettings,
    /// The WebSocket gateway.
    pub ws: web::Data<ws::WsGateway>,
}

impl<P: Ports> std::fmt::Debug for Gateway<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl<P: Ports> Clone for Gateway<P> {
    fn clone(&self) -> Self {
        Self {
            services: self.services.clone(),
            authenticator: self.authenticator.clone(),
            metrics: self.metrics.clone(),
            http: self.http.clone(),
            ws: self.ws.clone(),
        }
    }
}

impl<P: Ports> Gateway<P> {
    /// Wraps the services for the HTTP layer.
    pub fn new(services: Services<P>, http: HttpSettings, ws: ws::WsSettings) -> Self {
        let authenticator = shared_authenticator(services.authenticator.clone());
        Self {
            services: web::Data::new(services),
            authenticator,
            metrics: web::Data::new(telemetry::metrics_handle()),
            http,
            ws: web::Data::new(ws::WsGateway { settings: ws }),
        }
    }
}

async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::route_not_found(req.path()))
}

/// The complete actix application: REST routes, API docs, error normalisation and telemetry.
pub fn build_app<P: Ports>(
    gateway: Gateway<P>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json = web::JsonConfig::default()
        .limit(gateway.http.json_limit)
        .error_handler(error::json_error);
    let path = web::PathConfig::default().error_handler(error::path_error);
    let query = web::QueryConfig::default().error_handler(error::query_error);
    App::new()
        .app_data(gateway.services.clone())
        .app_data(gateway.authenticator.clone())
        .app_data(gateway.metrics.clone())
        .app_data(gateway.ws.clone())
        .app_data(json)
        .app_data(path)
        .app_data(query)
        .configure(|cfg| routes::api::<P>().install(cfg))
        .service(
            SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", openapi::ApiDoc::openapi()),
        )
        .default_service(web::to(not_found))
        .wrap(ErrorHandlers::new().default_handler(error::normalize_error_response))
        .wrap(from_fn(telemetry::observe))
}
