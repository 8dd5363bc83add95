//! Turns a bearer token into a principal: verifies it, then resolves (or creates) its user.

use domain::auth::{Claims, Principal, Subject, TokenKind};
use domain::user::{Email, ExternalUser, Role, User, UserId, Username};
use ports::{PortError, TokenCodec, UserRepository};

use crate::error::{AppError, AuthFailure};
use crate::ports::{Adapters, Ports};

/// Authenticates access tokens: ours, the platform's (djangorestframework-simplejwt compatible),
/// and service tokens.
#[derive(Debug)]
pub struct Authenticator<P: Ports> {
    adapters: Adapters<P>,
}

impl<P: Ports> Clone for Authenticator<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
        }
    }
}

impl<P: Ports> Authenticator<P> {
    /// An authenticator over these adapters.
    pub fn new(adapters: Adapters<P>) -> Self {
        Self { adapters }
    }

    /// Verifies an access token and returns who is calling, with the token's expiry.
    ///
    /// A valid token for an unknown user creates that user from the token's claims when it
    /// carries `username` (a platform-issued token); otherwise it is refused. Inactive users and
    /// refresh tokens are always refused.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, token: &str) -> Result<(Principal, Claims), AppError> {
        let claims = self
            .adapters
            .tokens
            .verify(token)
            .map_err(AuthFailure::Token)?;
        if claims.kind != TokenKind::Access {
            return Err(AuthFailure::NotAccessToken.into());
        }
        let principal = match &claims.subject {
            Subject::Service(name) => Principal::Service { name: name.clone() },
            Subject::User(id) => Principal::User(self.resolve_user(*id, &claims).await?),
        };
        Ok((principal, claims))
    }

    /// The active user `id`, created from the claims when unknown and the claims allow it.
    pub(crate) async fn resolve_user(&self, id: UserId, claims: &Claims) -> Result<User, AppError> {
        let user = match self.adapters.users.get(id).await {
            Ok(user) => user,
            Err(PortError::NotFound) => self.create_from_claims(id, claims).await?,
            Err(other) => return Err(AppError::from_port("user")(other)),
        };
        if user.is_active {
            Ok(user)
        } else {
            Err(AuthFailure::InactiveUser.into())
        }
    }

    async fn create_from_claims(&self, id: UserId, claims: &Claims) -> Result<User, AppError> {
        let Some(raw_username) = claims.username.as_deref() else {
            return Err(AuthFailure::UnknownUser.into());
        };
        let username = Username::parse(raw_username)
            .map_err(|e| AuthFailure::Token(ports::TokenError::Malformed(e.to_string())))?;
        // An address that does not parse is dropped rather than failing the login: the platform
        // owns it and we only use it for e-mail notifications.
        let email = claims.email.as_deref().and_then(|e| Email::parse(e).ok());
        let role = match claims.role.as_deref() {
            None => Role::Client,
            Some(raw) => Role::parse(raw)
                .map_err(|e| AuthFailure::Token(ports::TokenError::Malformed(e.to_string())))?,
        };
        let external = ExternalUser {
            id,
            username,
            email,
            role,
        };
        match self.adapters.users.ensure_external(external).await {
            Ok(user) => {
                tracing::info!(user_id = %user.id, "created user from platform token claims");
                Ok(user)
            }
            Err(PortError::Conflict(rule)) => {
                tracing::warn!(user_id = %id, rule, "platform user clashes with an existing account");
                Err(AuthFailure::UnknownUser.into())
            }
            Err(other) => Err(AppError::from_port("user")(other)),
        }
    }
}
