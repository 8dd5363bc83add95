//! The task behind one WebSocket: a `select!` over client frames, hub deliveries, the heartbeat,
//! typing expiry, the token's expiry and close requests. Writes go to the socket directly; the
//! hub's bounded queue is the only buffer between fan-out and a client.
//!
//! The socket is tokio-tungstenite's over the bare TCP stream (see [`super::upgrade`] for how it
//! leaves actix-http), with a small read buffer: an idle session should cost a few KiB.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::rt::net::TcpStream;
use app::Ports;
use app::realtime::frames::close;
use app::realtime::{Outbound, Registration, Session, SessionSettings};
use app::{AppError, Services};
use domain::user::User;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

use crate::telemetry::names;
use crate::ws::codec;
use crate::ws::dialect::Dialect;

/// What a connection needs besides the services.
pub struct Connection<P: Ports> {
    /// Services.
    pub services: Services<P>,
    /// How this socket reads and writes frames.
    pub dialect: Arc<dyn Dialect>,
    /// Session behaviour.
    pub settings: SessionSettings,
    /// Largest client frame accepted.
    pub max_frame_bytes: usize,
}

impl<P: Ports> std::fmt::Debug for Connection<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("max_frame_bytes", &self.max_frame_bytes)
            .finish_non_exhaustive()
    }
}

/// A session's socket.
pub type Socket = WebSocketStream<TcpStream>;

/// Bytes read from the socket at a time. Client frames are small JSON requests; a larger one
/// grows the buffer while it is read. (tungstenite's default, 128 KiB, would be most of an idle
/// session's cost.)
const READ_BUFFER_BYTES: usize = 1024;

/// Frames are collected up to this size before they are written, so a batch of deliveries is
/// one write; it also bounds the write buffer a session keeps after a burst.
const WRITE_BUFFER_BYTES: usize = 4096;

/// Opens the session's socket on the upgraded connection; `already_read` are bytes the client
/// sent after its handshake.
pub async fn open_socket(io: TcpStream, already_read: Vec<u8>, max_frame_bytes: usize) -> Socket {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(Some(max_frame_bytes))
        .max_frame_size(Some(max_frame_bytes));
    WebSocketStream::from_partially_read(io, already_read, Role::Server, Some(config)).await
}

/// How long until `at` (zero once passed).
fn until(at: chrono::DateTime<chrono::Utc>) -> Duration {
    (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Sends a close frame (or completes the client's closing handshake), then reads until the
/// client's reply so that the connection is not reset under the close frame — but never waits
/// more than a second on a client that stopped reading.
pub async fn close_socket(mut socket: Socket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        if socket.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await;
}

/// Writes frames, then flushes them as one; `Err` with a close request when one of them is a
/// close (the frames before it are sent with the close), or when the socket is gone.
async fn write(socket: &mut Socket, frames: Vec<Outbound>) -> Result<(), Option<(u16, String)>> {
    let mut written = false;
    for frame in frames {
        match frame {
            Outbound::Text(text) if text.is_empty() => {}
            Outbound::Text(text) => {
                // The frame text is shared between sessions; the socket needs its own copy.
                if socket.feed(Message::text(text.as_ref())).await.is_err() {
                    return Err(None);
                }
                written = true;
                metrics::counter!(names::WS_FRAMES_OUT).increment(1);
            }
            Outbound::Close(code, reason) => return Err(Some((code, reason))),
        }
    }
    if written && socket.flush().await.is_err() {
        return Err(None);
    }
    Ok(())
}

impl<P: Ports> Connection<P> {
    /// Runs a session to its end.
    pub async fn run(
        self,
        user: User,
        expires_at: chrono::DateTime<chrono::Utc>,
        registration: Registration,
        mut socket: Socket,
    ) {
        metrics::gauge!(names::WS_SESSIONS).increment(1.0);
        let Registration {
            id,
            mut inbox,
            control,
            first_of_user: _,
        } = registration;
        let encoder = self.dialect.encoder();
        let greeting = self.dialect.greeting(&user);
        // The session's handlers are boxed while they run: inlined, the largest of them (a
        // message send, with its database futures) sized this task's state for the whole life of
        // even an idle session — 27 KiB of the 110 KiB per idle session that the connections
        // benchmark measured before (docs/benchmarks.md).
        let started = Box::pin(Session::start(
            self.services.clone(),
            encoder.clone(),
            self.settings.clone(),
            user,
            expires_at,
            id,
        ))
        .await;
        let (mut session, opening) = match started {
            Ok(started) => started,
            Err(error) => {
                let code = match &error {
                    AppError::Unavailable(_) => 1013,
                    AppError::Conflict {
                        code: "too_many_sessions",
                        ..
                    } => close::TOO_MANY_SESSIONS,
                    _ => 1011,
                };
                tracing::warn!(%error, "session could not start");
                // Boxed like the handlers: with the Redis bus this future alone is several KiB.
                Box::pin(self.services.hub.unregister(id)).await;
                let reason = if code == close::TOO_MANY_SESSIONS {
                    error.public_message()
                } else {
                    "the session could not start; retry".to_owned()
                };
                close_socket(socket, code, &reason).await;
                metrics::gauge!(names::WS_SESSIONS).decrement(1.0);
                return;
            }
        };
        let mut closing = write(&mut socket, opening).await.err();
        if closing.is_none() {
            closing = write(
                &mut socket,
                greeting.into_iter().map(Outbound::Text).collect(),
            )
            .await
            .err();
        }
        for request in self.dialect.opening_requests() {
            if closing.is_none() {
                let frames = Box::pin(session.on_request(request)).await;
                closing = write(&mut socket, frames).await.err();
            }
        }
        let heartbeat = self.settings.heartbeat;
        let mut pings = tokio::time::interval(heartbeat);
        pings.tick().await;
        // Two timers re-armed only when their deadline moves, not re-created per frame.
        let mut tick = std::pin::pin!(tokio::time::sleep_until(session.next_tick().into()));
        let mut expires_at = session.expires_at();
        let mut expiry = std::pin::pin!(tokio::time::sleep(until(expires_at)));
        let mut last_heard = Instant::now();
        while closing.is_none() {
            let next_tick = tokio::time::Instant::from_std(session.next_tick());
            if tick.deadline() != next_tick {
                tick.as_mut().reset(next_tick);
            }
            if session.expires_at() != expires_at {
                expires_at = session.expires_at();
                expiry
                    .as_mut()
                    .reset(tokio::time::Instant::now() + until(expires_at));
            }
            let frames = tokio::select! {
                biased;
                request = control.requested() => Err(Some(request)),
                // Deliveries before the client's next frame: each takes microseconds, and a
                // client sending steadily into a busy room would otherwise starve its own queue
                // until the hub closed it as a slow consumer (found by the fan-out benchmark).
                delivery = inbox.recv() => match delivery {
                    Some(delivery) => Ok(Box::pin(session.on_delivery(delivery)).await),
                    None => Err(Some((1011, "session closed by the server".to_owned()))),
                },
                message = socket.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        last_heard = Instant::now();
                        metrics::counter!(names::WS_FRAMES_IN).increment(1);
                        let frames = match self.dialect.parse(text.as_str()) {
                            Ok(frame) => {
                                let started = Instant::now();
                                let frames = Box::pin(session.on_request(frame)).await;
                                metrics::histogram!(names::WS_REQUEST_DURATION).record(started.elapsed());
                                frames
                            }
                            Err(error) => vec![Outbound::Text(encoder.encode(&error.into_frame()))],
                        };
                        Ok(frames)
                    }
                    Some(Ok(Message::Binary(_))) => {
                        last_heard = Instant::now();
                        Ok(vec![Outbound::Text(encoder.encode(&codec::parse_error("invalid_frame", "binary frames are not supported; send JSON text", None).into_frame()))])
                    }
                    // tungstenite queues the pong itself and sends it with the next read.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                        last_heard = Instant::now();
                        Ok(Vec::new())
                    }
                    Some(Ok(Message::Close(_))) => Err(Some((1000, "closed by the client".to_owned()))),
                    None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_))) => Err(None),
                    Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))) => Err(Some((close::TOO_BIG, format!("frames are limited to {} bytes", self.max_frame_bytes)))),
                    Some(Err(WsError::Utf8(_))) => Err(Some((1007, "text frames must be UTF-8".to_owned()))),
                    Some(Err(error)) => {
                        tracing::debug!(%error, "WebSocket protocol error");
                        Err(Some((1002, "protocol error".to_owned())))
                    }
                },
                _ = pings.tick() => {
                    if last_heard.elapsed() > heartbeat * 2 {
                        Err(Some((close::GOING_AWAY, "heartbeat timeout".to_owned())))
                    } else if socket.send(Message::Ping(Default::default())).await.is_err() {
                        Err(None)
                    } else {
                        Ok(Vec::new())
                    }
                }
                () = &mut tick => {
                    Ok(Box::pin(session.on_tick(Instant::now())).await)
                }
                () = &mut expiry => Err(Some((close::UNAUTHENTICATED, "token expired; reconnect with a fresh token or send auth_refresh before expiry".to_owned()))),
            };
            closing = match frames {
                Ok(frames) => write(&mut socket, frames).await.err(),
                Err(request) => Some(request),
            };
        }
        if let Some(Some((code, reason))) = closing {
            close_socket(socket, code, &reason).await;
        }
        Box::pin(session.finish()).await;
        metrics::gauge!(names::WS_SESSIONS).decrement(1.0);
    }
}
