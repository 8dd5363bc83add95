//! A real WebSocket client (tokio-tungstenite) with helpers for protocol tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for an expected frame.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected client.
#[derive(Debug)]
pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The `connection_established` frame.
    pub welcome: Value,
    /// The first `unread_count` frame.
    pub initial_unread: Value,
}

/// What came back instead of an upgrade.
#[derive(Debug)]
pub struct Refused {
    /// HTTP status.
    pub status: u16,
    /// Body (the shared error body).
    pub body: Value,
}

/// Opens `url` with extra headers; returns the raw stream or the HTTP refusal.
pub async fn open(
    url: &str,
    headers: &[(&str, &str)],
) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, Refused> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, _)) => Ok(stream),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            Err(Refused { status, body })
        }
        Err(other) => panic!("WebSocket connection failed: {other}"),
    }
}

impl WsClient {
    /// Connects, reads the two opening frames and returns the client.
    pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<Self, Refused> {
        let stream = open(url, headers).await?;
        let mut client = Self {
            stream,
            welcome: Value::Null,
            initial_unread: Value::Null,
        };
        client.welcome = client.recv().await;
        assert_eq!(
            client.welcome["type"], "connection_established",
            "{}",
            client.welcome
        );
        client.initial_unread = client.recv().await;
        assert_eq!(
            client.initial_unread["type"], "unread_count",
            "{}",
            client.initial_unread
        );
        Ok(client)
    }

    /// Wraps an already-open stream (no opening frames read).
    pub fn from_stream(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            stream,
            welcome: Value::Null,
            initial_unread: Value::Null,
        }
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.stream
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::text(text.to_owned()))
            .await
            .unwrap();
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream.send(Message::binary(bytes)).await.unwrap();
    }

    /// The next text frame as JSON (pings are answered by the library), or panics after the
    /// timeout or on a close.
    pub async fn recv(&mut self) -> Value {
        match self.next_text(FRAME_TIMEOUT).await {
            Some(Ok(value)) => value,
            Some(Err((code, reason))) => {
                panic!("closed ({code}: {reason}) while waiting for a frame")
            }
            None => panic!("no frame within {FRAME_TIMEOUT:?}"),
        }
    }

    /// The next frame of this type, skipping others (use where other traffic is irrelevant).
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_text(left).await {
                Some(Ok(value)) if value["type"] == kind => return value,
                Some(Ok(_)) => {}
                Some(Err((code, reason))) => {
                    panic!("closed ({code}: {reason}) while waiting for {kind}")
                }
                None => panic!("no {kind} frame within {FRAME_TIMEOUT:?}"),
            }
        }
    }

    /// Asserts that no text frame arrives within `quiet` and returns nothing.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        if let Some(frame) = self.next_text(quiet).await {
            panic!("expected silence, got {frame:?}");
        }
    }

    /// Frames that arrive within `window`, in order.
    pub async fn drain(&mut self, window: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_text(left).await {
                Some(Ok(value)) => out.push(value),
                _ => return out,
            }
        }
    }

    /// Waits for the server to close and returns the close code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_text(left).await {
                Some(Err(close)) => return close,
                Some(Ok(_)) => {}
                None => panic!("the server did not close the connection"),
            }
        }
    }

    /// Closes from the client side.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }

    /// Next text frame, or the close, or `None` on timeout.
    async fn next_text(&mut self, within: Duration) -> Option<Result<Value, (u16, String)>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = tokio::time::timeout(left, self.stream.next()).await.ok()?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Some(Ok(serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                    return Some(Err((code, reason)));
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Some(Err((1006, error.to_string()))),
                None => return Some(Err((1006, "stream ended".to_owned()))),
            }
        }
    }
}
