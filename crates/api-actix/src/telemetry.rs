//! Per-request telemetry: a request id on every request and response, a tracing span around the
//! handler, and the Prometheus metrics `http_requests_total` and
//! `http_request_duration_seconds`, labelled by route pattern (never by raw path, which would
//! explode cardinality).

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

/// The header carrying the request id, in and out.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Metric names, in one place.
pub mod names {
    /// Counter of finished HTTP requests by method, route and status.
    pub const HTTP_REQUESTS: &str = "http_requests_total";
    /// Histogram of HTTP request latency in seconds by method and route.
    pub const HTTP_DURATION: &str = "http_request_duration_seconds";
    /// Gauge of open WebSocket sessions.
    pub const WS_SESSIONS: &str = "websocket_sessions_open";
    /// Counter of frames received from clients.
    pub const WS_FRAMES_IN: &str = "websocket_frames_received_total";
    /// Counter of frames sent to clients.
    pub const WS_FRAMES_OUT: &str = "websocket_frames_sent_total";
    /// Histogram of the time the server spends answering one client frame, in seconds.
    pub const WS_REQUEST_DURATION: &str = "websocket_request_duration_seconds";
}

/// Installs the process-wide Prometheus recorder once and returns its handle. Later calls (a
/// second server in the same test process) share the first recorder.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.to_owned()), &buckets)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::WS_REQUEST_DURATION.to_owned()),
                        &buckets,
                    )
                });
            let recorder = match builder {
                Ok(builder) => builder.build_recorder(),
                Err(error) => {
                    tracing::warn!(%error, "histogram buckets refused; using summaries");
                    PrometheusBuilder::new().build_recorder()
                }
            };
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            metrics::describe_counter!(names::HTTP_REQUESTS, "Finished HTTP requests");
            metrics::describe_histogram!(
                names::HTTP_DURATION,
                metrics::Unit::Seconds,
                "HTTP request latency"
            );
            metrics::describe_gauge!(names::WS_SESSIONS, "Open WebSocket sessions");
            metrics::describe_counter!(
                names::WS_FRAMES_IN,
                "WebSocket frames received from clients"
            );
            metrics::describe_counter!(names::WS_FRAMES_OUT, "WebSocket frames sent to clients");
            metrics::describe_histogram!(
                names::WS_REQUEST_DURATION,
                metrics::Unit::Seconds,
                "Time to answer one WebSocket client frame"
            );
            metrics::gauge!(names::WS_SESSIONS).set(0.0);
            handle
        })
        .clone()
}

/// A usable request id: a client's own (`[A-Za-z0-9._-]`, at most 128 bytes), or a fresh UUIDv7.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The route label: the canonical path a resource was registered under (its name), else the
/// matched pattern, else `unmatched`.
fn route_label(response: &ServiceResponse<impl MessageBody>) -> String {
    let request = response.request();
    request
        .match_name()
        .map(str::to_owned)
        .or_else(|| request.match_pattern())
        .unwrap_or_else(|| "unmatched".to_owned())
}

/// The middleware (`actix_web::middleware::from_fn(observe)`).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        path = %req.path(),
    );
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    let elapsed = started.elapsed();
    let route = route_label(&response);
    let status = response.status();
    metrics::counter!(
        names::HTTP_REQUESTS,
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.as_u16().to_string(),
    )
    .increment(1);
    metrics::histogram!(names::HTTP_DURATION, "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    Ok(response)
}

/// Folds the samples histograms collected since the last pass into their buckets, every `every`,
/// forever. The recorder keeps each raw sample until a scrape or this upkeep drains it, so without
/// it a server nobody scrapes grows by every request it answers (found by the soak benchmark:
/// ~8 bytes per WebSocket frame, never released). Run it as a background task.
pub async fn drain_histograms_every(every: std::time::Duration) {
    let handle = metrics_handle();
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        handle.run_upkeep();
    }
}
