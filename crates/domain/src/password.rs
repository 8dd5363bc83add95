//! The password policy for our own accounts, modelled on Django's default validators so a
//! password the original accepted is usually accepted here, and a weak one is named clearly.

use std::fmt;

use crate::error::FieldErrors;

/// The shortest password accepted.
pub const MIN_CHARS: usize = 8;
/// The longest password accepted; hashing cost grows with length, so it is bounded.
pub const MAX_CHARS: usize = 128;

/// Passwords found at the top of every leaked-password list. Short on purpose: it refuses the
/// passwords attackers try first without shipping a dictionary.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "0987654321",
    "87654321",
    "11111111",
    "00000000",
    "12341234",
    "11223344",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "zaq12wsx",
    "asdfghjk",
    "asdfghjkl",
    "zxcvbnm1",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "superman",
    "trustno1",
    "whatever",
    "welcome1",
    "welcome123",
    "letmein1",
    "letmein123",
    "admin123",
    "administrator",
    "changeme",
    "changeme1",
    "starwars",
    "computer",
    "michelle",
    "jennifer",
    "internet",
    "shadow12",
    "monkey12",
    "dragon12",
    "master12",
    "abc12345",
    "abcd1234",
    "abcdefgh",
    "aa123456",
    "a1b2c3d4",
    "access14",
    "mustang1",
    "cleaning",
    "cleaner1",
    "eclean123",
];

/// A password that passed the policy. Its `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Checks `raw` against the policy, given the other things the user typed, and returns every
    /// reason it is too weak under the field `password`.
    pub fn parse(raw: &str, personal: &[&str]) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            errors.add(
                "password",
                format!("is too short: it must contain at least {MIN_CHARS} characters"),
            );
        }
        if chars > MAX_CHARS {
            errors.add(
                "password",
                format!("is too long: it must contain at most {MAX_CHARS} characters"),
            );
        }
        if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()) {
            errors.add("password", "is entirely numeric");
        }
        let lowered = raw.to_lowercase();
        if COMMON.contains(&lowered.as_str()) {
            errors.add("password", "is too common");
        }
        if is_too_personal(&lowered, personal) {
            errors.add(
                "password",
                "is too similar to your username or e-mail address",
            );
        }
        errors.into_result().map(|()| Self(raw.to_owned()))
    }

    /// A password as typed at login, where no policy applies (it is only compared to a hash).
    pub fn unchecked(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// True when the password contains, or is contained in, something the user typed elsewhere.
fn is_too_personal(lowered_password: &str, personal: &[&str]) -> bool {
    personal
        .iter()
        .map(|item| item.trim().to_lowercase())
        .filter(|item| item.chars().count() >= 3)
        .any(|item| lowered_password.contains(&item) || item.contains(lowered_password))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(raw: &str, personal: &[&str]) -> Vec<String> {
        match Password::parse(raw, personal) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.fields().get("password").cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn a_long_unrelated_password_passes() {
        assert!(
            reasons(
                "correct horse battery staple",
                &["anna", "anna@example.com"]
            )
            .is_empty()
        );
        assert!(reasons("Tr0ub4dor&3x", &[]).is_empty());
    }

    #[test]
    fn each_weakness_is_named() {
        assert_eq!(
            reasons("abc", &[]),
            vec!["is too short: it must contain at least 8 characters"]
        );
        assert_eq!(reasons("12345679", &[]), vec!["is entirely numeric"]);
        assert_eq!(reasons("Password123", &[]), vec!["is too common"]);
        assert_eq!(
            reasons("annakarras2024", &["annakarras", "x@example.com"]),
            vec!["is too similar to your username or e-mail address"]
        );
        assert_eq!(reasons(&"x".repeat(129), &[]).len(), 1);
    }

    #[test]
    fn several_weaknesses_are_all_reported() {
        assert_eq!(reasons("1234", &[]).len(), 2);
        assert_eq!(reasons("12345678", &[]).len(), 2);
    }

    #[test]
    fn personal_items_shorter_than_three_characters_are_ignored() {
        assert!(reasons("abzzqqxy-horse", &["ab"]).is_empty());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let password = Password::unchecked("hunter2hunter2");
        assert!(!format!("{password:?}").contains("hunter2"));
        assert_eq!(password.expose(), "hunter2hunter2");
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$...`). Opaque to the domain.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

impl PasswordHash {
    /// Wraps a stored PHC string.
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage and verification.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}
