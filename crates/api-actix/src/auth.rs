//! The bearer-token extractor: every authenticated handler takes a [`Caller`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use app::{AppError, AuthFailure, Authenticator, Ports};
use domain::auth::{Claims, Principal};
use domain::user::User;

use crate::error::ApiError;

/// A boxed future, for the one object-safe seam below.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Authentication behind a trait object, so the extractor needs no type parameter. This is the
/// only dynamic dispatch in the request path: one box per authenticated request.
pub trait Authenticate: Send + Sync + 'static {
    /// Verifies `token` and resolves its principal.
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(Principal, Claims), AppError>>;
}

impl<P: Ports> Authenticate for Authenticator<P> {
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(Principal, Claims), AppError>> {
        Box::pin(Authenticator::authenticate(self, token))
    }
}

/// The shared authenticator, as app data.
pub type SharedAuthenticator = web::Data<dyn Authenticate>;

/// Builds the app data from a concrete authenticator.
pub fn shared_authenticator<P: Ports>(authenticator: Authenticator<P>) -> SharedAuthenticator {
    let shared: Arc<dyn Authenticate> = Arc::new(authenticator);
    web::Data::from(shared)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling.
    pub principal: Principal,
    /// The verified claims of their token.
    pub claims: Claims,
}

impl Caller {
    /// The calling user; services get 403 on endpoints meant for people.
    pub fn user(&self) -> Result<&User, ApiError> {
        self.principal.user().ok_or_else(|| {
            ApiError::from(AppError::forbidden(
                "not_a_user",
                "this endpoint is for user accounts, not service tokens",
            ))
        })
    }
}

/// Extracts the token of `Authorization: Bearer <token>`.
///
/// Errors: `Missing` without the header, `MalformedHeader` for any other scheme or shape.
pub fn bearer_token(req: &HttpRequest) -> Result<Option<String>, AuthFailure> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthFailure::MalformedHeader)?;
    let mut parts = value.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(scheme), Some(token), None) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(token.to_owned()))
        }
        _ => Err(AuthFailure::MalformedHeader),
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = BoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let authenticator = req.app_data::<SharedAuthenticator>().cloned();
        Box::pin(async move {
            let token = token
                .map_err(|failure| ApiError::unauthenticated(&failure))?
                .ok_or_else(|| ApiError::unauthenticated(&AuthFailure::Missing))?;
            let Some(authenticator) = authenticator else {
                tracing::error!("no authenticator registered as app data");
                return Err(ApiError::internal());
            };
            let (principal, claims) = authenticator.authenticate(&token).await?;
            Ok(Caller { principal, claims })
        })
    }
}
