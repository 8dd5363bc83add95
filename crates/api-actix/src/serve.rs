//! The HTTP server: actix-web's app on actix-http's HTTP/1 service, with the upgrade hook that
//! lets WebSocket sessions leave the HTTP dispatcher.
//!
//! `actix_web::HttpServer` has no way to install an upgrade service, so this module assembles the
//! same stack it does (actix-server → actix-http → the app) with the settings `HttpServer`
//! defaults to, plus [`crate::ws::upgrade`].

use std::net::TcpListener;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive};
use actix_server::Server;
use actix_service::{IntoServiceFactory as _, ServiceFactoryExt as _};
use actix_web::dev::AppConfig;
use app::Ports;

use crate::ws::upgrade::upgrade_factory;
use crate::{Gateway, build_app};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// How long a graceful stop waits for HTTP requests in flight.
    pub shutdown_timeout: Duration,
}

/// Starts serving `gateway` on `listener`; the returned server runs until stopped through its
/// handle. Signals are not handled here: the binary owns the shutdown sequence.
pub fn serve<P: Ports>(
    gateway: Gateway<P>,
    listener: TcpListener,
    options: &ServeOptions,
) -> std::io::Result<Server> {
    let mut builder = Server::build()
        .disable_signals()
        .shutdown_timeout(options.shutdown_timeout.as_secs());
    if options.workers > 0 {
        builder = builder.workers(options.workers);
    }
    let local_addr = listener.local_addr()?;
    let shutdown = builder.graceful_shutdown_signal();
    let builder = builder.listen("eclean-http", listener, move || {
        let shutdown = shutdown.clone();
        let app = build_app(gateway.clone())
            .into_factory()
            .map_err(|error| error.error_response());
        // `HttpServer`'s defaults: keep-alive and the request-head timeout 5 s, 1 s to finish
        // a response to a client that is going away.
        HttpService::build()
            .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            .graceful_shutdown_signal(move || {
                let shutdown = shutdown.clone();
                async move { shutdown.notified().await }
            })
            // Deliveries are small frames written back to back; Nagle's algorithm would hold
            // each one until the previous is acknowledged.
            .tcp_nodelay(true)
            .local_addr(local_addr)
            .upgrade(upgrade_factory(gateway.clone()))
            // The app config carries a host name for URL generation, which this API never
            // does; actix-web's default is used rather than its semver-exempt constructor.
            .finish(actix_service::map_config(app, |()| AppConfig::default()))
            .tcp()
    })?;
    Ok(builder.run())
}
