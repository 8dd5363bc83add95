//! Two instances in one test process, sharing PostgreSQL and Redis (the key prefix included):
//! presence, the session cap, typing and rate limits hold across instances.

use std::time::Duration;

use eclean_tests::ws::WsClient;
use eclean_tests::{Backend, ResponseExt, TestApp};
use figment::providers::Serialized;
use serde_json::json;

/// A second instance next to `first`: the same settings, database and Redis namespace.
async fn second(first: &TestApp) -> TestApp {
    TestApp::start(Backend::Postgres, first.settings.clone(), None).await
}

async fn pair(customize: impl FnOnce(figment::Figment) -> figment::Figment) -> (TestApp, TestApp) {
    let a = TestApp::spawn_with(Backend::Postgres, customize).await;
    let b = second(&a).await;
    (a, b)
}

/// Subscribes `client` to `room` and returns what it hears in the next half second (a new
/// subscriber is told who of the room's members is online already).
async fn subscribe_and_listen(client: &mut WsClient, room: i64) -> Vec<serde_json::Value> {
    client
        .send(json!({"type": "subscribe_room", "room_id": room}))
        .await;
    client.drain(Duration::from_millis(500)).await
}

/// Whether `frames` show `user` online.
fn shown_online(frames: &[serde_json::Value], user: i64) -> bool {
    frames
        .iter()
        .any(|f| f["type"] == "presence" && f["user_id"] == user && f["online"] == true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_seen_across_instances() {
    let (a, b) = pair(|f| f).await;
    let anna = a.register("client").await;
    let bob = a.register("cleaner").await;
    let room = a.dm(&anna, &bob).await;
    let mut on_a = a.ws(&anna.access).await;
    on_a.send(json!({"type": "subscribe_room", "room_id": room}))
        .await;
    on_a.recv_type("subscribed").await;
    let mut on_b = b.ws(&bob.access).await;
    let online = on_a.recv_type("presence").await;
    assert_eq!(
        (online["user_id"].as_i64(), online["online"].as_bool()),
        (Some(bob.id), Some(true))
    );
    // Subscribing on B shows anna, connected on A, as online.
    let frames = subscribe_and_listen(&mut on_b, room).await;
    assert!(shown_online(&frames, anna.id), "{frames:?}");
    on_b.close().await;
    let offline = on_a.recv_type("presence").await;
    assert_eq!(
        (offline["user_id"].as_i64(), offline["online"].as_bool()),
        (Some(bob.id), Some(false))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_session_stays_online_past_the_presence_ttl() {
    // A heartbeat of 1 s makes the presence TTL 3 s: only the instance's refresh keeps anna online.
    let (a, b) = pair(|f| f.merge(Serialized::default("ws.heartbeat_s", 1))).await;
    let anna = a.register("client").await;
    let bob = a.register("cleaner").await;
    let room = a.dm(&anna, &bob).await;
    let mut on_a = a.ws(&anna.access).await;
    // Read (and so answer the server's pings) for longer than the TTL.
    on_a.drain(Duration::from_secs(5)).await;
    let mut on_b = b.ws(&bob.access).await;
    let frames = subscribe_and_listen(&mut on_b, room).await;
    assert!(
        shown_online(&frames, anna.id),
        "anna, connected on A for longer than the TTL, is still online: {frames:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cap_counts_sessions_on_every_instance() {
    let (a, b) = pair(|f| f.merge(Serialized::default("ws.max_sessions_per_user", 2))).await;
    let anna = a.register("client").await;
    let _first = a.ws(&anna.access).await;
    let _second = b.ws(&anna.access).await;
    // Each instance holds one session only, but the user holds two: the third is refused.
    let mut third = WsClient::from_stream(
        eclean_tests::ws::open(&a.ws_url(&format!("/ws/?token={}", anna.access)), &[])
            .await
            .unwrap(),
    );
    let (code, reason) = third.closed().await;
    assert_eq!(code, 4009, "{reason}");
    // Leaving frees a place.
    drop(_second);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _again = b.ws(&anna.access).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_is_throttled_over_all_of_a_users_sessions() {
    let (a, b) = pair(|f| f.merge(Serialized::default("ws.typing_throttle_ms", 5_000))).await;
    let anna = a.register("client").await;
    let bob = a.register("cleaner").await;
    let room = a.dm(&anna, &bob).await;
    let mut watcher = a.ws(&bob.access).await;
    watcher
        .send(json!({"type": "subscribe_room", "room_id": room}))
        .await;
    watcher.recv_type("subscribed").await;
    let mut phone = a.ws(&anna.access).await;
    let mut laptop = b.ws(&anna.access).await;
    phone
        .send(json!({"type": "typing", "room_id": room, "is_typing": true}))
        .await;
    let typing = watcher.recv_type("typing").await;
    assert_eq!(
        (typing["user_id"].as_i64(), typing["is_typing"].as_bool()),
        (Some(anna.id), Some(true))
    );
    laptop
        .send(json!({"type": "typing", "room_id": room, "is_typing": true}))
        .await;
    let frames = watcher.drain(Duration::from_millis(500)).await;
    assert!(
        frames.iter().all(|f| f["type"] != "typing"),
        "the second device stays quiet: {frames:?}"
    );
    // Stopping opens the way for the next notice at once.
    phone
        .send(json!({"type": "typing", "room_id": room, "is_typing": false}))
        .await;
    assert_eq!(watcher.recv_type("typing").await["is_typing"], false);
    laptop
        .send(json!({"type": "typing", "room_id": room, "is_typing": false}))
        .await;
    laptop
        .send(json!({"type": "typing", "room_id": room, "is_typing": true}))
        .await;
    let frames = watcher.drain(Duration::from_millis(500)).await;
    let last = frames.iter().rev().find(|f| f["type"] == "typing").unwrap();
    assert_eq!(last["is_typing"], true, "{frames:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_rate_is_per_user_over_every_instance() {
    let (a, b) = pair(|f| f.merge(Serialized::default("chat.user_messages_per_s", 4))).await;
    let anna = a.register("client").await;
    let bob = a.register("cleaner").await;
    let room = a.dm(&anna, &bob).await;
    let path = format!("/api/chat/rooms/{room}/send_message/");
    let mut statuses = Vec::new();
    for i in 0..6 {
        let via = if i % 2 == 0 { &a } else { &b };
        let response = via
            .post(&path, &anna.access, &json!({"content": format!("m{i}")}))
            .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert_eq!(response.headers()["retry-after"], "1");
            let body = response.json_with(429).await;
            assert_eq!(body["code"], "rate_limited");
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        4,
        "{statuses:?}"
    );
    let mut ws = b.ws(&anna.access).await;
    ws.send(json!({"type": "send_message", "room_id": room, "content": "one more", "client_msg_id": "x1", "ref": "r"})).await;
    let error = ws.recv_type("error").await;
    assert_eq!(
        (error["code"].as_str(), error["ref"].as_str()),
        (Some("rate_limited"), Some("r"))
    );
    // Bob is not limited by anna's sends, and anna may send again a second later.
    a.post(&path, &bob.access, &json!({"content": "hi"}))
        .await
        .json_with(201)
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.post(&path, &anna.access, &json!({"content": "later"}))
        .await
        .json_with(201)
        .await;
    let history = a
        .get(&format!("/api/chat/rooms/{room}/messages/"), &anna.access)
        .await
        .json_with(200)
        .await;
    assert_eq!(
        history["results"].as_array().unwrap().len(),
        6,
        "refused sends stored nothing"
    );
}
