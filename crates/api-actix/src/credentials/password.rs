//! argon2id password hashing, off the async executor.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use domain::password::{Password, PasswordHash};
use ports::{PasswordHasher, PortError};

/// argon2id with configurable cost. The defaults are OWASP's (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Default)]
pub struct Argon2Hasher {
    params: Params,
}

impl Argon2Hasher {
    /// A hasher with these costs. Errors: the parameters are out of argon2's range.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, PortError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| PortError::unexpected(format!("invalid argon2 parameters: {e}")))?;
        Ok(Self { params })
    }

    fn engine(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError> {
        let engine = self.engine();
        let secret = password.expose().to_owned();
        // Hashing takes tens of milliseconds of CPU on purpose; keep it off the I/O threads.
        tokio::task::spawn_blocking(move || {
            engine
                .hash_password(secret.as_bytes())
                .map(|hash| PasswordHash::from_phc(hash.to_string()))
                .map_err(|e| PortError::unexpected(format!("argon2 hashing failed: {e}")))
        })
        .await
        .map_err(PortError::unexpected)?
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError> {
        let engine = self.engine();
        let secret = password.expose().to_owned();
        let phc = hash.as_phc().to_owned();
        tokio::task::spawn_blocking(move || {
            engine
                .verify_password(secret.as_bytes(), phc.as_str())
                .is_ok()
        })
        .await
        .map_err(PortError::unexpected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = Argon2Hasher::new(1024, 1, 1).unwrap();
        let hash = hasher
            .hash(&Password::unchecked("right horse"))
            .await
            .unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            hasher
                .verify(&Password::unchecked("right horse"), &hash)
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&Password::unchecked("wrong horse"), &hash)
                .await
                .unwrap()
        );
        let garbage = PasswordHash::from_phc("not a hash".into());
        assert!(
            !hasher
                .verify(&Password::unchecked("right horse"), &garbage)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_same_password_gets_a_fresh_salt_each_time() {
        let hasher = Argon2Hasher::new(1024, 1, 1).unwrap();
        let a = hasher.hash(&Password::unchecked("same")).await.unwrap();
        let b = hasher.hash(&Password::unchecked("same")).await.unwrap();
        assert_ne!(a.as_phc(), b.as_phc());
    }

    #[test]
    fn out_of_range_parameters_are_refused() {
        assert!(Argon2Hasher::new(1, 1, 1).is_err());
    }
}
