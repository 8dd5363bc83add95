//! Assertions on HTTP responses.

use serde_json::Value;

/// Reads a response and checks it, with the body in the failure message.
#[allow(async_fn_in_trait)]
pub trait ResponseExt {
    /// Asserts the status and returns the JSON body.
    async fn json_with(self, status: u16) -> Value;
    /// Asserts the status and the error body's `code`, and returns the body.
    async fn error_with(self, status: u16, code: &str) -> Value;
}

impl ResponseExt for reqwest::Response {
    async fn json_with(self, status: u16) -> Value {
        let actual = self.status().as_u16();
        let text = self.text().await.unwrap();
        assert_eq!(actual, status, "unexpected status; body: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        }
    }

    async fn error_with(self, status: u16, code: &str) -> Value {
        let content_type = self
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = self.json_with(status).await;
        assert_eq!(content_type.as_deref(), Some("application/json"), "{body}");
        assert_eq!(body["code"], code, "unexpected error code in {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        body
    }
}
