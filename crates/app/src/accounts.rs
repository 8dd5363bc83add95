//! Our own accounts: registration, login, refresh-token rotation and admin bootstrap.

use chrono::{DateTime, Duration, Utc};
use domain::FieldErrors;
use domain::auth::{Claims, Principal, Subject, TokenKind};
use domain::password::Password;
use domain::user::{Email, NewUser, PersonName, Role, User, UserId, Username};
use ports::{PasswordHasher, PortError, RefreshTokenStore, TokenCodec, UserRepository};
use uuid::Uuid;

use crate::authenticator::Authenticator;
use crate::error::{AppError, AuthFailure};
use crate::ports::{Adapters, Ports};

/// Token lifetimes and whether our own accounts are offered.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// When false, register/login/refresh answer 403: the platform issues every token.
    pub own_accounts: bool,
}

/// What a registration form carries, unparsed.
#[derive(Debug, Clone)]
pub struct RegisterInput {
    /// Login address.
    pub email: String,
    /// Chosen handle.
    pub username: String,
    /// Chosen password.
    pub password: String,
    /// `client` or `cleaner`.
    pub role: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
}

/// A signed access token and its refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// Authenticates requests until `access_expires_at`.
    pub access: String,
    /// Exchanged once for a new pair.
    pub refresh: String,
    /// When the access token expires.
    pub access_expires_at: DateTime<Utc>,
}

/// Registration, login, refresh and admin bootstrap.
#[derive(Debug)]
pub struct AccountService<P: Ports> {
    adapters: Adapters<P>,
    settings: AuthSettings,
}

impl<P: Ports> Clone for AccountService<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<P: Ports> AccountService<P> {
    /// A service over these adapters.
    pub fn new(adapters: Adapters<P>, settings: AuthSettings) -> Self {
        Self { adapters, settings }
    }

    /// Creates a client or cleaner account and signs them in.
    ///
    /// Errors: `Validation` naming every bad field, including a taken address or username and
    /// every weakness of the password; `Forbidden` when own accounts are disabled.
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, input: RegisterInput) -> Result<(User, TokenPair), AppError> {
        self.ensure_own_accounts()?;
        let mut errors = FieldErrors::new();
        let email = errors.collect(Email::parse(&input.email));
        let username = errors.collect(Username::parse(&input.username));
        let role = errors.collect(Role::parse(&input.role)).and_then(|role| {
            if role == Role::Admin {
                errors.add("role", "must be client or cleaner");
                None
            } else {
                Some(role)
            }
        });
        let first_name = errors.collect(PersonName::parse(
            "first_name",
            input.first_name.as_deref().unwrap_or_default(),
        ));
        let last_name = errors.collect(PersonName::parse(
            "last_name",
            input.last_name.as_deref().unwrap_or_default(),
        ));
        let personal = [
            input.username.as_str(),
            input.email.split('@').next().unwrap_or_default(),
            input.first_name.as_deref().unwrap_or_default(),
            input.last_name.as_deref().unwrap_or_default(),
        ];
        let password = match Password::parse(&input.password, &personal) {
            Ok(password) => Some(password),
            Err(weak) => {
                for (field, messages) in weak.fields() {
                    for message in messages {
                        errors.add(field.clone(), message.clone());
                    }
                }
                None
            }
        };
        let (
            Some(email),
            Some(username),
            Some(role),
            Some(first_name),
            Some(last_name),
            Some(password),
        ) = (email, username, role, first_name, last_name, password)
        else {
            return Err(AppError::Validation(errors));
        };
        let hash = self
            .adapters
            .hasher
            .hash(&password)
            .await
            .map_err(AppError::from_port("password"))?;
        let new_user = NewUser {
            username,
            email,
            first_name,
            last_name,
            role,
        };
        let user =
            self.adapters
                .users
                .create(new_user, hash)
                .await
                .map_err(|error| match error {
                    PortError::Conflict("email") => {
                        AppError::invalid("email", "a user with this e-mail address already exists")
                    }
                    PortError::Conflict("username") => {
                        AppError::invalid("username", "a user with this username already exists")
                    }
                    other => AppError::from_port("user")(other),
                })?;
        tracing::info!(user_id = %user.id, role = user.role.as_str(), "registered user");
        let tokens = self.issue_pair(&user)?;
        Ok((user, tokens))
    }

    /// Signs in with e-mail and password.
    ///
    /// Errors: `Unauthenticated(InvalidCredentials)` for an unknown address, a wrong password, an
    /// inactive user or a platform user without a password — indistinguishable on purpose.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, email: &str, password: &str) -> Result<(User, TokenPair), AppError> {
        self.ensure_own_accounts()?;
        let password = Password::unchecked(password);
        let found = match Email::parse(email) {
            Ok(email) => match self.adapters.users.find_by_email(&email).await {
                Ok(found) => Some(found),
                Err(PortError::NotFound) => None,
                Err(other) => return Err(AppError::from_port("user")(other)),
            },
            Err(_) => None,
        };
        let Some((user, Some(hash))) = found else {
            // Spend the same time as a real check so response times do not reveal which
            // addresses have accounts.
            let _ = self.adapters.hasher.hash(&password).await;
            return Err(AuthFailure::InvalidCredentials.into());
        };
        let matches = self
            .adapters
            .hasher
            .verify(&password, &hash)
            .await
            .map_err(AppError::from_port("password"))?;
        if !matches || !user.is_active {
            return Err(AuthFailure::InvalidCredentials.into());
        }
        let tokens = self.issue_pair(&user)?;
        Ok((user, tokens))
    }

    /// Exchanges a refresh token for a new pair. Each refresh token works once: a second use is
    /// refused even if the first exchange's tokens were lost.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AppError> {
        self.ensure_own_accounts()?;
        let claims = self
            .adapters
            .tokens
            .verify(refresh_token)
            .map_err(AuthFailure::Token)?;
        if claims.kind != TokenKind::Refresh {
            return Err(AuthFailure::NotRefreshToken.into());
        }
        let Subject::User(user_id) = claims.subject else {
            return Err(AuthFailure::NotRefreshToken.into());
        };
        let user = Authenticator::new(self.adapters.clone())
            .resolve_user(user_id, &claims)
            .await?;
        self.adapters
            .refresh_tokens
            .consume(&claims.jti, user_id, claims.expires_at)
            .await
            .map_err(|error| match error {
                PortError::Conflict(_) => AppError::Unauthenticated(AuthFailure::RefreshReused),
                other => AppError::from_port("refresh token")(other),
            })?;
        self.issue_pair(&user)
    }

    /// Creates an admin, or promotes the user with this address or username, with this password.
    /// Used by `create-admin` and the `auth.bootstrap_admin` config. The password policy applies.
    #[tracing::instrument(skip_all)]
    pub async fn create_admin(
        &self,
        email: &str,
        username: &str,
        password: &str,
    ) -> Result<User, AppError> {
        let mut errors = FieldErrors::new();
        let parsed_email = errors.collect(Email::parse(email));
        let parsed_username = errors.collect(Username::parse(username));
        let local = email.split('@').next().unwrap_or_default();
        let password = match Password::parse(password, &[username, local]) {
            Ok(password) => Some(password),
            Err(weak) => {
                for (field, messages) in weak.fields() {
                    for message in messages {
                        errors.add(field.clone(), message.clone());
                    }
                }
                None
            }
        };
        let (Some(email), Some(username), Some(password)) =
            (parsed_email, parsed_username, password)
        else {
            return Err(AppError::Validation(errors));
        };
        let hash = self
            .adapters
            .hasher
            .hash(&password)
            .await
            .map_err(AppError::from_port("password"))?;
        let user = self
            .adapters
            .users
            .upsert_admin(email, username, hash)
            .await
            .map_err(|error| match error {
                PortError::Conflict(_) => AppError::invalid(
                    "username",
                    "the address and the username belong to two different users",
                ),
                other => AppError::from_port("user")(other),
            })?;
        tracing::info!(user_id = %user.id, "admin created or promoted");
        Ok(user)
    }

    /// A signed service token for the platform (`role: "service"`), valid for `ttl`.
    pub fn issue_service_token(&self, name: &str, ttl: Duration) -> Result<String, AppError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(AppError::invalid("service", "must be 1–100 characters"));
        }
        let now = Utc::now();
        let claims = Claims {
            subject: Subject::Service(name.to_owned()),
            kind: TokenKind::Access,
            jti: Uuid::new_v4().simple().to_string(),
            issued_at: now,
            expires_at: now + ttl,
            username: None,
            email: None,
            role: Some("service".to_owned()),
        };
        self.adapters
            .tokens
            .issue(&claims)
            .map_err(AppError::from_port("signing key"))
    }

    /// Signs a fresh access + refresh pair for `user`.
    pub fn issue_pair(&self, user: &User) -> Result<TokenPair, AppError> {
        let now = Utc::now();
        let access_expires_at = now + self.settings.access_ttl;
        let access = self.sign(user, TokenKind::Access, now, access_expires_at)?;
        let refresh = self.sign(
            user,
            TokenKind::Refresh,
            now,
            now + self.settings.refresh_ttl,
        )?;
        Ok(TokenPair {
            access,
            refresh,
            access_expires_at,
        })
    }

    /// Forgets used refresh tokens that have expired anyway.
    pub async fn purge_used_refresh_tokens(&self) -> Result<u64, AppError> {
        self.adapters
            .refresh_tokens
            .purge_expired(Utc::now())
            .await
            .map_err(AppError::from_port("refresh token"))
    }

    /// A user's profile. Any authenticated caller may look a user up (chat needs names).
    pub async fn user(&self, id: UserId) -> Result<User, AppError> {
        self.adapters
            .users
            .get(id)
            .await
            .map_err(AppError::from_port("user"))
    }

    /// Activates or deactivates a user. Only admins may, and not themselves (an admin locking
    /// themselves out is always a mistake).
    pub async fn set_active(
        &self,
        actor: &Principal,
        id: UserId,
        active: bool,
    ) -> Result<User, AppError> {
        if !actor.is_admin() {
            return Err(AppError::forbidden(
                "admin_only",
                "only admins may activate or deactivate users",
            ));
        }
        if actor.user().is_some_and(|admin| admin.id == id) && !active {
            return Err(AppError::conflict(
                "cannot_deactivate_self",
                "an admin cannot deactivate their own account",
            ));
        }
        self.adapters
            .users
            .set_active(id, active)
            .await
            .map_err(AppError::from_port("user"))
    }

    fn sign(
        &self,
        user: &User,
        kind: TokenKind,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, AppError> {
        let claims = Claims {
            subject: Subject::User(user.id),
            kind,
            jti: Uuid::new_v4().simple().to_string(),
            issued_at,
            expires_at,
            username: Some(user.username.as_str().to_owned()),
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            role: Some(user.role.as_str().to_owned()),
        };
        self.adapters
            .tokens
            .issue(&claims)
            .map_err(AppError::from_port("signing key"))
    }

    fn ensure_own_accounts(&self) -> Result<(), AppError> {
        if self.settings.own_accounts && self.adapters.tokens.can_sign() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "own_accounts_disabled",
                "accounts are managed by the platform; sign in there",
            ))
        }
    }
}
