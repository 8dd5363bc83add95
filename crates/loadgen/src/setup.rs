//! REST calls that set a run up: rooms to talk in.

use serde_json::{Value, json};

/// Why setting up failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// HTTP failed.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The server refused.
    #[error("{0}")]
    Refused(String),
}

/// The server's REST API.
#[derive(Debug, Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    /// The API at `base` (`http://127.0.0.1:8000`).
    pub fn new(base: impl Into<String>) -> Self {
        static PROVIDER: std::sync::OnceLock<()> = std::sync::OnceLock::new();
        PROVIDER.get_or_init(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        Self {
            client: reqwest::Client::new(),
            base: base.into(),
        }
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> Result<Value, SetupError> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            Err(SetupError::Refused(format!("{path}: {status} {body}")))
        }
    }

    /// A private general room owned by the caller with these members; its id. The first hundred
    /// join at creation, the rest one by one.
    pub async fn room(&self, owner: &str, name: &str, members: &[i64]) -> Result<i64, SetupError> {
        let (first, rest) = members.split_at(members.len().min(100));
        let body = self
            .post(
                "/api/chat/rooms/",
                owner,
                &json!({"room_type": "general", "name": name, "visibility": "private", "member_ids": first}),
            )
            .await?;
        let room = body["id"]
            .as_i64()
            .ok_or_else(|| SetupError::Refused(format!("no room id in {body}")))?;
        for member in rest {
            self.post(
                &format!("/api/chat/rooms/{room}/participants/"),
                owner,
                &json!({"user_id": member}),
            )
            .await?;
        }
        Ok(room)
    }

    /// The direct room of the caller and `other`; its id.
    pub async fn dm(&self, caller: &str, other: i64) -> Result<i64, SetupError> {
        let body = self
            .post(
                "/api/chat/rooms/start_dm/",
                caller,
                &json!({"user_id": other}),
            )
            .await?;
        body["room"]["id"]
            .as_i64()
            .ok_or_else(|| SetupError::Refused(format!("no room id in {body}")))
    }
}
