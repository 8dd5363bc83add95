//! WebSocket sessions to the server, optionally from one of several loopback source addresses
//! (one address has ~28,000 ephemeral ports; 127.0.0.0/8 has millions).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use nix::sys::socket::{setsockopt, sockopt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Why a session could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// TCP failed.
    #[error("connect: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket handshake or a frame failed.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server did not greet in time.
    #[error("no greeting within {0:?}")]
    Timeout(Duration),
    /// The server closed or sent nonsense.
    #[error("unexpected: {0}")]
    Protocol(String),
}

/// Where the server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host and port, e.g. `127.0.0.1:8000`.
    pub address: SocketAddr,
    /// How many loopback source addresses to spread connections over (`127.0.0.1`, `.2`, …);
    /// 1 uses the system's choice.
    pub sources: u8,
}

impl Target {
    fn source(&self, i: usize) -> Option<SocketAddr> {
        (self.sources > 1).then(|| {
            let last = u8::try_from(1 + i % usize::from(self.sources)).unwrap_or(1);
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), 0)
        })
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The sending half of a session.
pub type Sender = SplitSink<Ws, Message>;
/// The receiving half of a session.
pub type Receiver = SplitStream<Ws>;

/// Opens session number `i` with `token` and reads its two opening frames.
pub async fn connect(
    target: &Target,
    i: usize,
    token: &str,
    greet: Duration,
) -> Result<(Sender, Receiver), NetError> {
    let socket = if target.address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(source) = target.source(i) {
        // Pick the port at connect time, not at bind: bind(addr:0) reserves a port by searching
        // the bind table, and at tens of thousands of sockets that search took three quarters
        // of the machine's CPU (perf: `inet_csk_bind_conflict`) — the load generator starved
        // the server it was measuring.
        setsockopt(&socket, sockopt::IpBindAddressNoPort, &true).map_err(std::io::Error::from)?;
        socket.bind(source)?;
    }
    let stream = socket.connect(target.address).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{}/ws/?token={token}", target.address);
    let request = url.into_client_request()?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        request,
        MaybeTlsStream::Plain(stream),
        Some(small_buffers()),
    )
    .await?;
    let (sender, mut receiver) = ws.split();
    for expected in ["connection_established", "unread_count"] {
        let frame = tokio::time::timeout(greet, next_json(&mut receiver))
            .await
            .map_err(|_| NetError::Timeout(greet))??;
        if frame["type"] != expected {
            return Err(NetError::Protocol(format!(
                "expected {expected}, got {frame}"
            )));
        }
    }
    Ok((sender, receiver))
}

/// Buffers sized for our frames (a few hundred bytes). tungstenite's defaults are 128 KiB each
/// way, which made the load generator hold about 290 KiB per session (2.9 GB at 10,000) — too
/// much for the 100,000 sessions of the cluster run.
fn small_buffers() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// The next text frame as JSON (pings are answered by the library as it reads).
pub async fn next_json(receiver: &mut Receiver) -> Result<Value, NetError> {
    loop {
        match receiver.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str())
                    .map_err(|e| NetError::Protocol(e.to_string()));
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(NetError::Protocol(format!("closed: {frame:?}")));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
            None => return Err(NetError::Protocol("connection ended".into())),
        }
    }
}

/// Sends a JSON frame.
pub async fn send(sender: &mut Sender, frame: &Value) -> Result<(), NetError> {
    sender.send(Message::text(frame.to_string())).await?;
    Ok(())
}
