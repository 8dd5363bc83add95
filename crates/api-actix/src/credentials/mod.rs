//! Adapters for the credential ports: JWT signing/verification and argon2 password hashing.
//! They live beside the auth extractor because jsonwebtoken is the gateway's concern; the binary
//! hands them to the application services like any other adapter.

pub mod jwt;
pub mod password;

pub use jwt::{JwtCodec, JwtKeys, JwtSettings};
pub use password::Argon2Hasher;
