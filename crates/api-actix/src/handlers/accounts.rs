//! Registration, login and token refresh (standalone mode).

use actix_web::{HttpResponse, web};
use app::{Ports, RegisterInput, Services};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::error::{ApiError, ErrorBody};
use crate::handlers::users::UserDto;
use crate::validation::validate;

/// A registration form.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RegisterRequest {
    /// Login address; unique, case-insensitive.
    #[validate(length(min = 1, max = 254))]
    pub email: String,
    /// Handle; unique, case-insensitive; letters, digits and `@ . + - _`.
    #[validate(length(min = 1, max = 150))]
    pub username: String,
    /// At least 8 characters, not common, not numeric, not like the username or address.
    #[validate(length(min = 1, max = 1024))]
    pub password: String,
    /// `client` or `cleaner`.
    #[validate(length(min = 1, max = 20))]
    pub role: String,
    /// Given name.
    #[validate(length(max = 150))]
    pub first_name: Option<String>,
    /// Family name.
    #[validate(length(max = 150))]
    pub last_name: Option<String>,
}

/// Login credentials.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    /// Login address.
    #[validate(length(min = 1, max = 254))]
    pub email: String,
    /// Password.
    #[validate(length(min = 1, max = 1024))]
    pub password: String,
}

/// A refresh token to exchange.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from login, registration or the previous refresh.
    #[validate(length(min = 1, max = 8192))]
    pub refresh: String,
}

/// A signed-in user and their tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    /// The user.
    pub user: UserDto,
    /// Access token (`Authorization: Bearer …`).
    pub access: String,
    /// Refresh token, usable once.
    pub refresh: String,
}

/// A fresh pair of tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairResponse {
    /// Access token.
    pub access: String,
    /// The next refresh token; the one sent is now spent.
    pub refresh: String,
}

/// Creates a client or cleaner account and returns its tokens.
#[utoipa::path(post, path = "/api/auth/register/", tag = "accounts", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = AuthResponse),
        (status = 400, description = "Invalid, duplicate or weak; `errors` names each field", body = ErrorBody),
        (status = 403, description = "Own accounts are disabled", body = ErrorBody),
    ))]
pub async fn register<P: Ports>(
    services: web::Data<Services<P>>,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let body = body.into_inner();
    let (user, tokens) = services
        .accounts
        .register(RegisterInput {
            email: body.email,
            username: body.username,
            password: body.password,
            role: body.role,
            first_name: body.first_name,
            last_name: body.last_name,
        })
        .await?;
    Ok(HttpResponse::Created().json(AuthResponse {
        user: UserDto::from(&user),
        access: tokens.access,
        refresh: tokens.refresh,
    }))
}

/// Signs in with e-mail and password.
#[utoipa::path(post, path = "/api/auth/login/", tag = "accounts", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = AuthResponse),
        (status = 401, description = "Wrong address or password, or inactive", body = ErrorBody),
    ))]
pub async fn login<P: Ports>(
    services: web::Data<Services<P>>,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<AuthResponse>, ApiError> {
    validate(&*body)?;
    let (user, tokens) = services.accounts.login(&body.email, &body.password).await?;
    Ok(web::Json(AuthResponse {
        user: UserDto::from(&user),
        access: tokens.access,
        refresh: tokens.refresh,
    }))
}

/// Exchanges a refresh token for a new pair (rotation: the token sent cannot be used again).
#[utoipa::path(post, path = "/api/auth/token/refresh/", tag = "accounts", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New pair", body = TokenPairResponse),
        (status = 401, description = "Invalid, expired, not a refresh token, or already used", body = ErrorBody),
    ))]
pub async fn refresh<P: Ports>(
    services: web::Data<Services<P>>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenPairResponse>, ApiError> {
    validate(&*body)?;
    let tokens = services.accounts.refresh(&body.refresh).await?;
    Ok(web::Json(TokenPairResponse {
        access: tokens.access,
        refresh: tokens.refresh,
    }))
}
