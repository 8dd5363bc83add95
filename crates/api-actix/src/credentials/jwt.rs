//! JWTs compatible with djangorestframework-simplejwt, on jsonwebtoken.
//!
//! Access tokens carry `token_type`, `exp`, `iat`, `jti` and `user_id` (a number or a string),
//! plus the optional `username`, `email`, `role` a platform may add. Service tokens carry
//! `role: "service"` and `service: <name>`. Exactly one algorithm is accepted: a token whose
//! header names another one — including `none`, and HS256 when a public key is configured (the
//! key-confusion attack) — is refused before any signature check.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use domain::auth::{Claims, Subject, TokenKind};
use domain::user::UserId;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ports::{PortError, TokenCodec, TokenError};
use serde::{Deserialize, Serialize};

/// Which algorithm and keys to use.
#[derive(Clone)]
pub enum JwtKeys {
    /// A shared secret (the platform's Django `SECRET_KEY` or `SIMPLE_JWT["SIGNING_KEY"]`).
    Hs256 {
        /// The secret bytes.
        secret: Vec<u8>,
    },
    /// RSA: verify with the platform's public key; sign only if a private key is given.
    Rs256 {
        /// PEM public key.
        public_pem: Vec<u8>,
        /// PEM private key, for issuing our own tokens.
        private_pem: Option<Vec<u8>>,
    },
    /// ECDSA P-256: as RS256.
    Es256 {
        /// PEM public key.
        public_pem: Vec<u8>,
        /// PEM (PKCS#8) private key.
        private_pem: Option<Vec<u8>>,
    },
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            JwtKeys::Hs256 { .. } => "Hs256",
            JwtKeys::Rs256 { .. } => "Rs256",
            JwtKeys::Es256 { .. } => "Es256",
        };
        write!(f, "JwtKeys::{name}(<redacted>)")
    }
}

/// Everything the codec needs.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// Algorithm and keys.
    pub keys: JwtKeys,
    /// Seconds of clock skew tolerated on `exp`.
    pub leeway_s: u64,
    /// When set, `iss` must equal it (and our tokens carry it).
    pub issuer: Option<String>,
    /// When set, `aud` must contain it (and our tokens carry it).
    pub audience: Option<String>,
}

/// Signs and verifies tokens. Cheap to clone.
#[derive(Clone)]
pub struct JwtCodec {
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.encoding.is_some())
            .finish_non_exhaustive()
    }
}

/// A `user_id` claim: simplejwt writes the primary key as a number, other issuers as a string.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum UserIdClaim {
    Number(i64),
    Text(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct WireClaims {
    token_type: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<UserIdClaim>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// A string or an array of strings; jsonwebtoken checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<serde_json::Value>,
}

impl JwtCodec {
    /// A codec for these settings. Errors: a key that does not parse.
    pub fn new(settings: JwtSettings) -> Result<Self, PortError> {
        let bad_key =
            |e: jsonwebtoken::errors::Error| PortError::unexpected(format!("invalid JWT key: {e}"));
        let (algorithm, decoding, encoding) = match &settings.keys {
            JwtKeys::Hs256 { secret } => (
                Algorithm::HS256,
                DecodingKey::from_secret(secret),
                Some(EncodingKey::from_secret(secret)),
            ),
            JwtKeys::Rs256 {
                public_pem,
                private_pem,
            } => (
                Algorithm::RS256,
                DecodingKey::from_rsa_pem(public_pem).map_err(bad_key)?,
                private_pem
                    .as_deref()
                    .map(EncodingKey::from_rsa_pem)
                    .transpose()
                    .map_err(bad_key)?,
            ),
            JwtKeys::Es256 {
                public_pem,
                private_pem,
            } => (
                Algorithm::ES256,
                DecodingKey::from_ec_pem(public_pem).map_err(bad_key)?,
                private_pem
                    .as_deref()
                    .map(EncodingKey::from_ec_pem)
                    .transpose()
                    .map_err(bad_key)?,
            ),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = settings.leeway_s;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp"]);
        match &settings.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                validation.required_spec_claims.insert("iss".to_owned());
            }
            None => validation.iss = None,
        }
        match &settings.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.required_spec_claims.insert("aud".to_owned());
            }
            None => validation.validate_aud = false,
        }
        Ok(Self {
            algorithm,
            decoding,
            encoding,
            validation,
            issuer: settings.issuer,
            audience: settings.audience,
        })
    }

    /// The algorithm's name in token headers.
    fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::HS256 => "HS256",
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            _ => "unsupported",
        }
    }

    /// Reads the header's `alg` without trusting anything else, so `none` and other algorithms
    /// are refused with a precise reason rather than a parse error.
    fn check_header_algorithm(&self, token: &str) -> Result<(), TokenError> {
        let header = token
            .split('.')
            .next()
            .ok_or_else(|| TokenError::Malformed("not a JWT".into()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(header.trim_end_matches('='))
            .map_err(|_| TokenError::Malformed("header is not base64url".into()))?;
        let header: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|_| TokenError::Malformed("header is not JSON".into()))?;
        match header.get("alg").and_then(serde_json::Value::as_str) {
            Some(alg) if alg == self.algorithm_name() => Ok(()),
            Some(_) => Err(TokenError::BadAlgorithm),
            None => Err(TokenError::Malformed("header has no alg".into())),
        }
    }
}

fn timestamp(seconds: i64, claim: &str) -> Result<DateTime<Utc>, TokenError> {
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| TokenError::Malformed(format!("{claim} is out of range")))
}

impl TokenCodec for JwtCodec {
    fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    fn issue(&self, claims: &Claims) -> Result<String, PortError> {
        let Some(key) = &self.encoding else {
            return Err(PortError::unexpected(
                "no signing key configured (a public key only verifies)",
            ));
        };
        let (user_id, service, sub) = match &claims.subject {
            Subject::User(id) => (Some(UserIdClaim::Number(id.get())), None, None),
            Subject::Service(name) => (None, Some(name.clone()), Some(format!("service:{name}"))),
        };
        let wire = WireClaims {
            token_type: claims.kind.as_str().to_owned(),
            exp: claims.expires_at.timestamp(),
            iat: Some(claims.issued_at.timestamp()),
            jti: Some(claims.jti.clone()),
            user_id,
            service,
            sub,
            username: claims.username.clone(),
            email: claims.email.clone(),
            role: claims.role.clone(),
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(serde_json::Value::String),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &wire, key)
            .map_err(|e| PortError::unexpected(format!("signing a token failed: {e}")))
    }

    fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.check_header_algorithm(token)?;
        let data = jsonwebtoken::decode::<WireClaims>(token, &self.decoding, &self.validation)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    TokenError::BadAlgorithm
                }
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                    TokenError::BadIssuerOrAudience
                }
                ErrorKind::MissingRequiredClaim(claim) if claim == "iss" || claim == "aud" => {
                    TokenError::BadIssuerOrAudience
                }
                _ => TokenError::Malformed(error.to_string()),
            })?;
        let wire = data.claims;
        let kind = match wire.token_type.as_str() {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            other => {
                return Err(TokenError::Malformed(format!(
                    "unknown token_type {other:?}"
                )));
            }
        };
        if kind == TokenKind::Refresh && wire.jti.as_deref().is_none_or(str::is_empty) {
            return Err(TokenError::Malformed("refresh token without jti".into()));
        }
        let subject = if wire.role.as_deref() == Some("service") {
            let name = wire
                .service
                .or(wire.sub)
                .unwrap_or_else(|| "platform".to_owned());
            Subject::Service(name)
        } else {
            let raw = match wire.user_id {
                Some(UserIdClaim::Number(n)) => n,
                Some(UserIdClaim::Text(text)) => text
                    .trim()
                    .parse()
                    .map_err(|_| TokenError::Malformed("user_id is not an integer".into()))?,
                None => return Err(TokenError::Malformed("user_id is missing".into())),
            };
            Subject::User(UserId::new(raw).map_err(|e| TokenError::Malformed(e.to_string()))?)
        };
        let expires_at = timestamp(wire.exp, "exp")?;
        let issued_at = match wire.iat {
            Some(iat) => timestamp(iat, "iat")?,
            None => expires_at,
        };
        Ok(Claims {
            subject,
            kind,
            jti: wire.jti.unwrap_or_default(),
            issued_at,
            expires_at,
            username: wire.username,
            email: wire.email,
            role: wire.role,
        })
    }
}
