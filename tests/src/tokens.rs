//! Tokens signed the way the platform (djangorestframework-simplejwt) signs them, for tests that
//! present foreign, expired, forged or odd tokens.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The HS256 secret every test server is configured with.
pub const TEST_SECRET: &str = "test-secret-with-at-least-thirty-two-bytes!";

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// simplejwt-style access claims for `user_id`, valid for 5 minutes.
pub fn access_claims(user_id: Value) -> Value {
    json!({
        "token_type": "access",
        "exp": now() + 300,
        "iat": now(),
        "jti": crate::unique(),
        "user_id": user_id,
    })
}

/// Signs `claims` with HS256 and `secret`.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// Signs `claims` with the test secret.
pub fn sign(claims: &Value) -> String {
    sign_hs256(claims, TEST_SECRET.as_bytes())
}

/// Signs with a PEM private key (RS256 or ES256).
pub fn sign_pem(claims: &Value, algorithm: Algorithm, private_pem: &[u8]) -> String {
    let key = match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(private_pem).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(private_pem).unwrap(),
        other => panic!("unsupported {other:?}"),
    };
    jsonwebtoken::encode(&Header::new(algorithm), claims, &key).unwrap()
}

/// A token with `alg: none` and no signature.
pub fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = engine.encode(serde_json::to_vec(claims).unwrap());
    format!("{header}.{body}.")
}

/// A service token for the platform.
pub fn service_token(name: &str) -> String {
    sign(&json!({
        "token_type": "access",
        "exp": now() + 300,
        "iat": now(),
        "jti": crate::unique(),
        "role": "service",
        "service": name,
    }))
}

/// Path of a test key in `tests/fixtures`.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}
