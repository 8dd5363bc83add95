//! The signed webhook: the platform receives each push delivery as JSON and sends mobile push or
//! SMS itself.
//!
//! Signature: `X-Eclean-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
//! `X-Eclean-Timestamp: <unix seconds>`; receivers recompute it over the raw body and reject old
//! timestamps. `X-Eclean-Delivery` (also `Idempotency-Key`) is stable across retries.

use std::sync::OnceLock;
use std::time::Duration;

use hmac::{Hmac, Mac};
use http_client::Client;
use ports::{DeliveryJob, DeliveryOutcome, PortError};
use sha2::Sha256;

/// Where to post and with which secret.
#[derive(Clone)]
pub struct WebhookSettings {
    /// The platform's endpoint.
    pub url: String,
    /// The shared HMAC secret.
    pub secret: Vec<u8>,
    /// Limit of one request.
    pub timeout: Duration,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        // HMAC accepts keys of any length; this branch cannot be taken.
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + digest.len() * 2);
    hex.push_str("sha256=");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Posts deliveries to the webhook.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: Client,
    settings: WebhookSettings,
}

/// reqwest uses rustls without a built-in provider here (so that only `ring` is compiled, as
/// for lettre); install it once for the process.
fn install_crypto_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl WebhookSender {
    /// A sender for these settings.
    pub fn new(settings: WebhookSettings) -> Result<Self, PortError> {
        install_crypto_provider();
        let client = Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| PortError::unexpected(format!("notifications.webhook: {e}")))?;
        Ok(Self { client, settings })
    }

    /// One attempt for `job`.
    pub async fn send(&self, job: &DeliveryJob) -> DeliveryOutcome {
        let body = serde_json::json!({
            "delivery_id": job.id,
            "attempt": job.attempts,
            "channel": job.channel.as_str(),
            "user_id": job.recipient.get(),
            "notification": job.payload.notification,
        });
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => return DeliveryOutcome::Permanent(format!("cannot encode the payload: {e}")),
        };
        let timestamp = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(&self.settings.url)
            .header("Content-Type", "application/json")
            .header("X-Eclean-Timestamp", timestamp.to_string())
            .header(
                "X-Eclean-Signature",
                signature(&self.settings.secret, timestamp, &body),
            )
            .header("X-Eclean-Delivery", job.id.to_string())
            .header("Idempotency-Key", format!("eclean-delivery-{}", job.id))
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => DeliveryOutcome::Delivered,
            Ok(r)
                if r.status().is_server_error()
                    || r.status().as_u16() == 429
                    || r.status().as_u16() == 408 =>
            {
                DeliveryOutcome::Retry(format!("the webhook answered {}", r.status()))
            }
            Ok(r) => DeliveryOutcome::Permanent(format!(
                "the webhook refused the delivery with {}",
                r.status()
            )),
            Err(e) => DeliveryOutcome::Retry(format!("the webhook could not be reached: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 style check: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let known = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
            mac.update(b"The quick brown fox jumps over the lazy dog");
            mac.finalize().into_bytes()
        };
        assert_eq!(
            known.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let a = signature(b"secret", 1_700_000_000, b"{\"x\":1}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(
            a,
            signature(b"secret", 1_700_000_001, b"{\"x\":1}"),
            "the timestamp is signed"
        );
        assert_ne!(a, signature(b"other", 1_700_000_000, b"{\"x\":1}"));
    }
}
