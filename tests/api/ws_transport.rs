//! How a session rides its HTTP/1 connection: the upgrade leaves actix-http's dispatcher
//! (crates/api-actix/src/ws/upgrade.rs), so what the dispatcher used to do for it must still hold
//! on the raw socket.

use eclean_tests::ws::WsClient;
use eclean_tests::{Backend, TestApp};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

/// Reads one response head; returns it and whatever bytes followed it.
async fn read_head(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buffer = Vec::new();
    loop {
        let mut chunk = [0_u8; 1024];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a response head");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return (String::from_utf8(buffer).unwrap(), rest);
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0)
}

/// A final client text frame (RFC 6455 §5.2), masked as clients must, for payloads under 126
/// bytes.
fn client_text_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x37_u8, 0xfa, 0x21, 0x3d];
    assert!(payload.len() < 126);
    let mut frame = vec![0x81, 0x80 | u8::try_from(payload.len()).unwrap()];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Opens a session over a raw TCP stream, writing `with_handshake` in the same write as the
/// handshake; returns the client socket after the `101`.
async fn raw_session(
    app: &TestApp,
    token: &str,
    with_handshake: &[u8],
) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let mut bytes = upgrade_request(&format!("/ws/?token={token}")).into_bytes();
    bytes.extend_from_slice(with_handshake);
    stream.write_all(&bytes).await.unwrap();
    let (head, rest) = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    WebSocketStream::from_partially_read(MaybeTlsStream::Plain(stream), rest, Role::Client, None)
        .await
}

/// Writes raw bytes under an open client socket, then returns the close code the server sent.
async fn close_code_after(
    mut socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    raw: &[u8],
) -> u16 {
    let MaybeTlsStream::Plain(stream) = socket.get_mut() else {
        unreachable!("plain TCP")
    };
    stream.write_all(raw).await.unwrap();
    WsClient::from_stream(socket).closed().await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_on_a_connection_that_already_served_a_request_starts_a_session() {
    let app = TestApp::spawn(Backend::Memory).await;
    let anna = app.register("client").await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let (head, mut body) = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length = content_length(&head);
    while body.len() < length {
        let mut chunk = [0_u8; 256];
        let n = stream.read(&mut chunk).await.unwrap();
        body.extend_from_slice(&chunk[..n]);
    }
    // The same connection, kept alive, now asks for the socket.
    let request = app
        .ws_url(&format!("/ws/?token={}", anna.access))
        .into_client_request()
        .unwrap();
    let (socket, response) =
        tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    assert_eq!(response.status().as_u16(), 101);
    let mut ws = WsClient::from_stream(socket);
    assert_eq!(ws.recv().await["type"], "connection_established");
    assert_eq!(ws.recv().await["type"], "unread_count");
    ws.send(json!({"type": "ping", "ref": "after-rest"})).await;
    assert_eq!(ws.recv().await["ref"], "after-rest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_sent_together_with_the_handshake_is_answered() {
    let app = TestApp::spawn(Backend::Memory).await;
    let anna = app.register("client").await;
    // Handshake and first frame in one write: the frame arrives in the bytes the HTTP layer read.
    let early = client_text_frame(br#"{"type":"ping","ref":"early"}"#);
    let mut ws = WsClient::from_stream(raw_session(&app, &anna.access, &early).await);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(ws.recv().await);
    }
    assert!(
        seen.iter()
            .any(|f| f["type"] == "pong" && f["ref"] == "early"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upgrade_gets_the_error_body_and_the_connection_closes() {
    let app = TestApp::spawn(Backend::Memory).await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    stream
        .write_all(upgrade_request("/ws/?token=garbage").as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    // read_to_end returns only once the server has closed the connection.
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut response),
    )
    .await
    .unwrap()
    .unwrap();
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    let body = response.split_once("\r\n\r\n").unwrap().1;
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["code"], "token_malformed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_get_of_the_socket_path_is_not_an_upgrade() {
    let app = TestApp::spawn(Backend::Memory).await;
    let anna = app.register("client").await;
    let response = app
        .client
        .get(format!("{}/ws/?token={}", app.address, anna.access))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "websocket_handshake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let app = TestApp::spawn(Backend::Memory).await;
    let anna = app.register("client").await;
    let socket = raw_session(&app, &anna.access, &[]).await;
    assert_eq!(
        close_code_after(socket, &client_text_frame(&[0xc3, 0x28, 0xff])).await,
        1007
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmasked_client_frame_closes_with_1002() {
    let app = TestApp::spawn(Backend::Memory).await;
    let anna = app.register("client").await;
    let socket = raw_session(&app, &anna.access, &[]).await;
    // A final text frame of 6 bytes without the mask bit.
    let unmasked = [&[0x81_u8, 0x06][..], b"{\"a\":1"].concat();
    assert_eq!(close_code_after(socket, &unmasked).await, 1002);
}
