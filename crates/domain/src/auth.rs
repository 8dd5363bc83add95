//! Who is calling: the claims a verified token carries and the principal they resolve to.

use chrono::{DateTime, Utc};

use crate::user::{User, UserId};

/// What a token may be used for. Only access tokens authenticate requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Authenticates requests (`token_type: "access"`).
    Access,
    /// Buys a new pair of tokens once (`token_type: "refresh"`).
    Refresh,
}

impl TokenKind {
    /// The `token_type` claim's spelling (djangorestframework-simplejwt's).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// Whom a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A person, by id.
    User(UserId),
    /// The marketplace platform or another trusted service, by name (`role: "service"`).
    Service(String),
}

/// The claims of a token whose signature, algorithm, expiry, issuer and audience were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Whom the token speaks for.
    pub subject: Subject,
    /// Access or refresh.
    pub kind: TokenKind,
    /// Unique token id; refresh rotation remembers used ones.
    pub jti: String,
    /// When the token was issued.
    pub issued_at: DateTime<Utc>,
    /// When the token stops being valid.
    pub expires_at: DateTime<Utc>,
    /// Optional profile claims a platform token may carry; a user first seen is created from them.
    pub username: Option<String>,
    /// Optional e-mail claim.
    pub email: Option<String>,
    /// Optional role claim, as sent (`client`, `cleaner`, `admin` or `service`).
    pub role: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person with an active account.
    User(User),
    /// A trusted service such as the marketplace platform.
    Service {
        /// The service's name, from its token.
        name: String,
    },
}

impl Principal {
    /// The user behind the call, if a person is calling.
    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::User(user) => Some(user),
            Principal::Service { .. } => None,
        }
    }

    /// True for admins, who may moderate, broadcast and edit templates.
    pub fn is_admin(&self) -> bool {
        self.user().is_some_and(User::is_admin)
    }

    /// Job lifecycle events may be reported by the platform (a service token) or an admin.
    pub fn may_report_job_events(&self) -> bool {
        matches!(self, Principal::Service { .. }) || self.is_admin()
    }

    /// A short description for logs: `user:12` or `service:platform`.
    pub fn describe(&self) -> String {
        match self {
            Principal::User(user) => format!("user:{}", user.id),
            Principal::Service { name } => format!("service:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::{PersonName, Role, Username};

    fn user(role: Role) -> Principal {
        Principal::User(User {
            id: UserId::new(7).unwrap(),
            username: Username::parse("anna").unwrap(),
            email: None,
            first_name: PersonName::default(),
            last_name: PersonName::default(),
            role,
            is_active: true,
            created_at: Utc::now(),
        })
    }

    #[test]
    fn only_services_and_admins_report_job_events() {
        assert!(
            Principal::Service {
                name: "platform".into()
            }
            .may_report_job_events()
        );
        assert!(user(Role::Admin).may_report_job_events());
        assert!(!user(Role::Client).may_report_job_events());
        assert!(!user(Role::Cleaner).may_report_job_events());
    }

    #[test]
    fn services_are_not_admins() {
        assert!(
            !Principal::Service {
                name: "platform".into()
            }
            .is_admin()
        );
        assert!(user(Role::Admin).is_admin());
        assert_eq!(user(Role::Client).describe(), "user:7");
    }
}
