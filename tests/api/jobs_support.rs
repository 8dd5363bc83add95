//! What the job tests share: jobs whose events they post, and participants whose sockets they
//! listen to.

use std::time::Duration;

use eclean_tests::{ResponseExt, TestApp, TestUser, WsClient};
use serde_json::{Value, json};

pub const WINDOW: Duration = Duration::from_millis(400);

/// A job under test and the event counter that keeps event ids unique.
pub struct Job {
    pub id: i64,
    pub client: i64,
    tag: String,
}

impl Job {
    pub fn new(client: &TestUser) -> Self {
        Self {
            id: 1 + (rand_id() % 1_000_000_000),
            client: client.id,
            tag: eclean_tests::unique(),
        }
    }

    pub fn event(&self, kind: &str, extra: Value) -> Value {
        let mut event = json!({
            "event_id": format!("{}-{kind}-{}", self.tag, eclean_tests::unique()),
            "type": kind,
            "occurred_at": "2026-12-01T10:00:00Z",
            "job": {"id": self.id, "client_id": self.client, "title": "Oven deep clean", "city": "Athens"},
        });
        for (key, value) in extra.as_object().unwrap() {
            if key == "job" {
                for (k, v) in value.as_object().unwrap() {
                    event["job"][k] = v.clone();
                }
            } else {
                event[key] = value.clone();
            }
        }
        event
    }
}

fn rand_id() -> i64 {
    i64::from_str_radix(&eclean_tests::unique()[..12], 16).unwrap_or(42)
}

/// One connected participant: their socket and the rooms it subscribed to.
pub struct Party {
    pub ws: WsClient,
    pub rooms: Vec<i64>,
}

impl Party {
    pub async fn connect(app: &TestApp, user: &TestUser) -> Self {
        Self {
            ws: app.ws(&user.access).await,
            rooms: Vec::new(),
        }
    }

    /// What arrived since the last look, summarised and sorted; rooms that opened for this user
    /// are subscribed to on the way (as a client would).
    pub async fn heard(&mut self) -> Vec<String> {
        let frames = self.ws.drain(WINDOW).await;
        let mut out = Vec::new();
        for frame in &frames {
            let line = match frame["type"].as_str().unwrap() {
                "new_notification" => format!(
                    "notification {} {}",
                    frame["notification"]["notification_type"].as_str().unwrap(),
                    frame["notification"]["priority"].as_str().unwrap()
                ),
                "new_message" => {
                    format!("message {}", frame["message"]["content"].as_str().unwrap())
                }
                "room_updated" => {
                    let room = frame["room"]["id"].as_i64().unwrap();
                    let member = frame["member"] == true;
                    if member && !self.rooms.contains(&room) {
                        self.rooms.push(room);
                        self.ws
                            .send(json!({"type": "subscribe_room", "room_id": room}))
                            .await;
                    }
                    format!(
                        "room {}{}",
                        frame["room"]["state"].as_str().unwrap(),
                        if member { "" } else { " (left)" }
                    )
                }
                "job_updated" => format!("job {}", frame["job"]["status"].as_str().unwrap()),
                "unread_count" | "subscribed" | "presence" => continue,
                other => other.to_owned(),
            };
            out.push(line);
        }
        // Subscriptions answer with `subscribed`; let them land before the next event.
        if frames.iter().any(|f| f["type"] == "room_updated") {
            for frame in self.ws.drain(Duration::from_millis(150)).await {
                assert!(
                    matches!(
                        frame["type"].as_str(),
                        Some("subscribed" | "unread_count" | "presence")
                    ),
                    "{frame}"
                );
            }
        }
        out.sort();
        out
    }
}

pub fn lines(expected: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    out.sort();
    out
}

pub async fn applied(app: &TestApp, event: &Value) -> Value {
    app.job_event(event).await.json_with(202).await
}
