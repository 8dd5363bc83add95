//! The HTTP/1 upgrade hook: how a WebSocket session leaves actix-http.
//!
//! actix-http hands every request that asks for `Upgrade: websocket` to this service together
//! with the connection itself. The request still goes through the whole actix-web app — routing,
//! middleware, authentication, the same handlers and error bodies as any request — and the
//! handler that accepts it answers `101` with a [`Handoff`] attached. Then the `101` is written,
//! actix-http's buffers are dropped, and the session runs on the bare socket. Any other answer
//! (401, 403, 404…) is written as an ordinary response and the connection is closed.
//!
//! Why: under actix-ws a session lives inside actix-http's HTTP/1 dispatcher, which keeps two
//! fixed 8 KiB buffers per connection — 16 of the 26 KiB an idle session cost
//! (docs/benchmarks.md, "Idle sessions").

use std::rc::Rc;

use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::h1::{self, Message};
use actix_http::{ConnectionType, Request, Response, StatusCode};
use actix_service::{IntoServiceFactory as _, Service, ServiceFactory, fn_factory, fn_service};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{AppConfig, ServiceResponse};
use actix_web::rt::net::TcpStream;
use app::Ports;
use futures_util::SinkExt as _;
use futures_util::future::LocalBoxFuture;

use crate::{Gateway, build_app};

type Start = Box<dyn FnOnce(TcpStream, Vec<u8>) -> LocalBoxFuture<'static, ()>>;

/// The rest of an accepted WebSocket session, carried from the handler to this hook in the
/// `101` response's extensions: given the socket and any bytes the client sent after its
/// handshake, it runs the session.
pub struct Handoff(Start);

impl Handoff {
    /// A handoff that runs `start` on the socket.
    pub fn new(
        start: impl FnOnce(TcpStream, Vec<u8>) -> LocalBoxFuture<'static, ()> + 'static,
    ) -> Self {
        Self(Box::new(start))
    }
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handoff")
    }
}

/// The upgrade service for one worker: its own instance of the app, called for upgrade
/// requests only.
pub fn upgrade_factory<P: Ports>(
    gateway: Gateway<P>,
) -> impl ServiceFactory<
    (Request, Framed<TcpStream, h1::Codec>),
    Config = (),
    Response = (),
    Error = actix_web::Error,
    InitError = (),
> {
    fn_factory(move || {
        let app = build_app(gateway.clone()).into_factory();
        async move {
            let app = Rc::new(app.new_service(AppConfig::default()).await?);
            Ok(fn_service(
                move |(request, framed): (Request, Framed<TcpStream, h1::Codec>)| {
                    answer(Rc::clone(&app), request, framed)
                },
            ))
        }
    })
}

/// Runs the app on an upgrade request and either hands the socket to the session or writes the
/// refusal.
async fn answer<S, B>(
    app: Rc<S>,
    request: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let mut response = match app.call(request).await {
        Ok(response) => response.into_parts().1.map_into_boxed_body(),
        Err(error) => error.error_response(),
    };
    let handoff = response.extensions_mut().remove::<Handoff>();
    let (head, body) = response.into_parts();
    let head: Response<()> = head.into();
    match handoff {
        Some(Handoff(start)) if head.status() == StatusCode::SWITCHING_PROTOCOLS => {
            framed.send(Message::Item((head, BodySize::None))).await?;
            let parts = framed.into_parts();
            // Clients wait for the 101 before sending frames, so this is almost always empty;
            // copied so that actix-http's 8 KiB read buffer can go.
            let already_read = parts.read_buf.to_vec();
            actix_web::rt::spawn(start(parts.io, already_read));
        }
        _ => refuse(&mut framed, head, body).await?,
    }
    Ok(())
}

/// Writes a non-101 answer in full; the connection closes after it (it asked to be upgraded and
/// cannot go back to HTTP/1 requests).
async fn refuse(
    framed: &mut Framed<TcpStream, h1::Codec>,
    mut head: Response<()>,
    body: BoxBody,
) -> Result<(), actix_web::Error> {
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("response body failed"))?;
    head.head_mut().set_connection_type(ConnectionType::Close);
    let size = BodySize::Sized(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
    // One write for head and body: a client reading the refusal may not wait for a second one.
    framed.feed(Message::Item((head, size))).await?;
    if !bytes.is_empty() {
        framed.feed(Message::Chunk(Some(bytes))).await?;
    }
    framed.feed(Message::Chunk(None)).await?;
    framed.flush().await?;
    Ok(())
}
