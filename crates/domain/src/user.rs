//! Users: who they are and the value types that describe them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A user's id. Our own accounts get it from a sequence; platform users keep the platform's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(i64);

impl UserId {
    /// Wraps a raw id. Ids are positive; zero and negatives are refused.
    pub fn new(raw: i64) -> Result<Self, ValidationError> {
        if raw > 0 {
            Ok(Self(raw))
        } else {
            Err(ValidationError::new(
                "user_id",
                "must be a positive integer",
            ))
        }
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a user is on the marketplace. Admins can moderate and broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Books cleanings.
    Client,
    /// Bids on and performs cleanings.
    Cleaner,
    /// Operates the marketplace.
    Admin,
}

impl Role {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Cleaner => "cleaner",
            Role::Admin => "admin",
        }
    }

    /// Parses the wire spelling (case-sensitive, as the original stored it).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "client" => Ok(Role::Client),
            "cleaner" => Ok(Role::Cleaner),
            "admin" => Ok(Role::Admin),
            other => Err(ValidationError::new(
                "role",
                format!("unknown role {other:?}; expected client, cleaner or admin"),
            )),
        }
    }
}

/// A username: 1–150 letters, digits and `@ . + - _` (Django's rule, so platform names fit).
/// Unique without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// The longest username accepted.
    pub const MAX_CHARS: usize = 150;

    /// Validates a username as typed (surrounding whitespace is removed).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ValidationError::new("username", "may not be blank"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "username",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_alphanumeric() || "@.+-_".contains(*c)))
        {
            return Err(ValidationError::new(
                "username",
                format!("may contain only letters, digits and @ . + - _ (found {bad:?})"),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The username as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, with its domain lower-cased. Unique without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// The longest address accepted (RFC 5321's path limit).
    pub const MAX_CHARS: usize = 254;

    /// Validates an address as typed. Deliberately simple: one `@`, a non-empty local part,
    /// a dotted domain, no whitespace. Deliverability is proven by sending, not by parsing.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        let invalid = || ValidationError::new("email", "enter a valid e-mail address");
        if value.is_empty() {
            return Err(ValidationError::new("email", "may not be blank"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "email",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let labels_ok = domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.contains('@') || !domain.contains('.') || !labels_ok {
            return Err(invalid());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(&self.0, |(local, _)| local)
    }
}

/// A first or last name: at most 150 characters, may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    /// The longest name accepted.
    pub const MAX_CHARS: usize = 150;

    /// Validates a name for `field` (surrounding whitespace is removed).
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(ValidationError::new(
                field,
                "may not contain control characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user as the rest of the system sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Unique (case-insensitive) handle.
    pub username: Username,
    /// Unique (case-insensitive) address; platform users may have none.
    pub email: Option<Email>,
    /// Given name, possibly empty.
    pub first_name: PersonName,
    /// Family name, possibly empty.
    pub last_name: PersonName,
    /// What the user is on the marketplace.
    pub role: Role,
    /// Inactive users are refused everywhere.
    pub is_active: bool,
    /// When we first knew of the user.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// "First Last" when a name is known, the username otherwise.
    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name.as_str(), self.last_name.as_str());
        let full = full.trim();
        if full.is_empty() {
            self.username.as_str().to_owned()
        } else {
            full.to_owned()
        }
    }

    /// True for admins, who may moderate and broadcast.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A user registering an account of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Chosen handle.
    pub username: Username,
    /// Login address.
    pub email: Email,
    /// Given name.
    pub first_name: PersonName,
    /// Family name.
    pub last_name: PersonName,
    /// Client or cleaner (admins are made by `create-admin`, never by registration).
    pub role: Role,
}

/// A user described by the claims of a platform-issued token, created on first sight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUser {
    /// The platform's id, kept as ours.
    pub id: UserId,
    /// The platform's username.
    pub username: Username,
    /// The platform's address, if the token carries one.
    pub email: Option<Email>,
    /// The platform's role; `client` when the token carries none.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_positive() {
        assert!(UserId::new(1).is_ok());
        assert!(UserId::new(0).is_err());
        assert!(UserId::new(-5).is_err());
    }

    #[test]
    fn roles_round_trip_and_unknown_ones_are_refused() {
        for role in [Role::Client, Role::Cleaner, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("service").is_err());
        assert!(Role::parse("Admin").is_err());
    }

    #[test]
    fn usernames_follow_djangos_rule() {
        assert_eq!(
            Username::parse("  anna.k+1@x_y-z ").map(|u| u.0),
            Ok("anna.k+1@x_y-z".into())
        );
        assert!(Username::parse("Zoë").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse("semi;colon").is_err());
        assert!(Username::parse(&"a".repeat(150)).is_ok());
        assert!(Username::parse(&"a".repeat(151)).is_err());
    }

    #[test]
    fn emails_are_checked_and_their_domain_lowercased() {
        assert_eq!(
            Email::parse(" Anna@Example.COM ").map(|e| e.0),
            Ok("Anna@example.com".into())
        );
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.com",
            "anna@example",
            "an na@example.com",
            "a@b@example.com",
            "a@-x.com",
            "a@x..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
        assert_eq!(
            Email::parse("anna@example.com").map(|e| e.local_part().to_owned()),
            Ok("anna".into())
        );
    }

    #[test]
    fn names_may_be_empty_but_not_too_long() {
        assert!(PersonName::parse("first_name", "").is_ok());
        assert!(PersonName::parse("first_name", &"x".repeat(151)).is_err());
        assert!(PersonName::parse("first_name", "a\u{0007}b").is_err());
    }

    #[test]
    fn display_name_prefers_the_full_name() {
        let mut user = User {
            id: UserId(1),
            username: Username("anna".into()),
            email: None,
            first_name: PersonName::default(),
            last_name: PersonName::default(),
            role: Role::Client,
            is_active: true,
            created_at: Utc::now(),
        };
        assert_eq!(user.display_name(), "anna");
        user.first_name = PersonName("Anna".into());
        assert_eq!(user.display_name(), "Anna");
        user.last_name = PersonName("Karras".into());
        assert_eq!(user.display_name(), "Anna Karras");
    }
}
