//! Two (or more) real `eclean-realtime` processes on one PostgreSQL and one Redis, and the
//! clients that talk to them.

use std::time::Duration;

use eclean_tests::instance::Instance;
use eclean_tests::{ResponseExt, TestUser, WsClient};
use serde_json::{Value, json};

/// How long a receiver waits for everything it expects.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The environment of one instance of a cluster.
pub fn cluster_env(database: &str, redis: &str, prefix: &str) -> Vec<(String, String)> {
    vec![
        ("DATABASE_URL".into(), database.into()),
        ("REDIS_URL".into(), redis.into()),
        ("APP_REDIS__KEY_PREFIX".into(), prefix.into()),
        // Faults are noticed and repaired quickly here; production uses the defaults.
        ("APP_REDIS__TIMEOUT_MS".into(), "300".into()),
        ("APP_DATABASE__CONNECT_TIMEOUT_MS".into(), "500".into()),
        ("APP_DATABASE__WAIT_TIMEOUT_MS".into(), "500".into()),
        ("APP_WS__RECONCILE_S".into(), "2".into()),
        ("APP_WS__RATE_PER_S".into(), "1000".into()),
        ("APP_WS__RATE_BURST".into(), "1000".into()),
        ("APP_CHAT__USER_MESSAGES_PER_S".into(), "1000".into()),
    ]
}

/// Starts an instance with this environment.
pub fn instance(env: &[(String, String)]) -> Instance {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Instance::start(&pairs)
}

/// Registers a user through `instance`.
pub async fn register(client: &reqwest::Client, instance: &Instance, role: &str) -> TestUser {
    eclean_tests::app::register_with(client, |path| instance.url(path), role).await
}

/// The direct room of `a` and `b`.
pub async fn dm(client: &reqwest::Client, instance: &Instance, a: &TestUser, b: &TestUser) -> i64 {
    let response = client
        .post(instance.url("/api/chat/rooms/start_dm/"))
        .bearer_auth(&a.access)
        .json(&json!({"user_id": b.id}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "start_dm: {}",
        response.status()
    );
    response.json::<Value>().await.unwrap()["room"]["id"]
        .as_i64()
        .unwrap()
}

/// Sends a message over REST; the status and body.
pub async fn send(
    client: &reqwest::Client,
    instance: &Instance,
    user: &TestUser,
    room: i64,
    content: &str,
) -> (u16, Value) {
    match client
        .post(instance.url(&format!("/api/chat/rooms/{room}/send_message/")))
        .bearer_auth(&user.access)
        .json(&json!({"content": content}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(response) => {
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
        // The instance is gone (killed or stopping): nothing was accepted.
        Err(_) => (0, Value::Null),
    }
}

/// The seqs of a room's stored history, ascending, read through `instance`.
pub async fn history(
    client: &reqwest::Client,
    instance: &Instance,
    user: &TestUser,
    room: i64,
) -> Vec<i64> {
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let page = client
            .get(instance.url(&format!(
                "/api/chat/rooms/{room}/messages/?after={after}&limit=100"
            )))
            .bearer_auth(&user.access)
            .send()
            .await
            .unwrap()
            .json_with(200)
            .await;
        let batch: Vec<i64> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect();
        let Some(last) = batch.last().copied() else {
            return seqs;
        };
        seqs.extend(batch);
        after = last;
    }
}

/// A subscribed session that records the seqs it is shown in one room.
pub struct Receiver {
    /// The socket.
    pub ws: WsClient,
    /// The room.
    pub room: i64,
    /// Seqs of `new_message` frames, as they arrived.
    pub seqs: Vec<i64>,
}

impl Receiver {
    /// Connects to `instance` as `user` and subscribes to `room` after `since` (or from now).
    pub async fn connect(
        instance: &Instance,
        user: &TestUser,
        room: i64,
        since: Option<i64>,
    ) -> Self {
        let ws = WsClient::connect(
            &instance.ws_url(&format!("/ws/?token={}", user.access)),
            &[],
        )
        .await
        .unwrap_or_else(|r| panic!("refused {} {}", r.status, r.body));
        let mut receiver = Self {
            ws,
            room,
            seqs: Vec::new(),
        };
        let mut subscribe = json!({"type": "subscribe_room", "room_id": room});
        if let Some(since) = since {
            subscribe["since_seq"] = json!(since);
        }
        receiver.ws.send(subscribe).await;
        receiver.ws.recv_type("subscribed").await;
        receiver
    }

    /// Reads frames for `window`, keeping the room's message seqs. Returns false when the server
    /// closed the connection.
    pub async fn read_for(&mut self, window: Duration) -> bool {
        for frame in self.ws.drain(window).await {
            if frame["type"] == "new_message" && frame["room_id"] == self.room {
                self.seqs.push(frame["message"]["seq"].as_i64().unwrap());
            }
        }
        true
    }

    /// Reads until the last seq is `until`, or panics after [`PATIENCE`].
    pub async fn read_until(&mut self, until: i64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.seqs.last().copied() < Some(until) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only got {:?}",
                self.seqs
            );
            self.read_for(Duration::from_millis(200)).await;
        }
    }

    /// The last seq shown.
    pub fn last(&self) -> i64 {
        self.seqs.last().copied().unwrap_or(0)
    }
}

/// Asserts `seqs` is exactly `from..=to`: every message once, in order.
pub fn exactly_once_in_order(seqs: &[i64], from: i64, to: i64, who: &str) {
    let expected: Vec<i64> = (from..=to).collect();
    assert_eq!(
        seqs,
        expected.as_slice(),
        "{who}: missing, repeated or out of order"
    );
}
