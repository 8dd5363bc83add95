//! The caller's own profile.

use actix_web::web;
use app::{AppError, Ports, Services};
use chrono::{DateTime, Utc};
use domain::user::{User, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

/// A user as the API shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserDto {
    /// Id.
    pub id: i64,
    /// Unique handle.
    pub username: String,
    /// Address, when known.
    pub email: Option<String>,
    /// Given name (may be empty).
    pub first_name: String,
    /// Family name (may be empty).
    pub last_name: String,
    /// "First Last", or the username.
    pub display_name: String,
    /// `client`, `cleaner` or `admin`.
    pub role: String,
    /// Inactive users cannot sign in.
    pub is_active: bool,
    /// When the account was created.
    pub date_joined: DateTime<Utc>,
}

impl From<&User> for UserDto {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.get(),
            username: user.username.as_str().to_owned(),
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            first_name: user.first_name.as_str().to_owned(),
            last_name: user.last_name.as_str().to_owned(),
            display_name: user.display_name(),
            role: user.role.as_str().to_owned(),
            is_active: user.is_active,
            date_joined: user.created_at,
        }
    }
}

/// The authenticated user.
#[utoipa::path(get, path = "/api/users/me/", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserDto),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "A service token is not a user", body = ErrorBody),
    ))]
pub async fn me(caller: Caller) -> Result<web::Json<UserDto>, ApiError> {
    Ok(web::Json(UserDto::from(caller.user()?)))
}

/// What anyone signed in may see of another user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicUserDto {
    /// Id.
    pub id: i64,
    /// Unique handle.
    pub username: String,
    /// "First Last", or the username.
    pub display_name: String,
    /// `client`, `cleaner` or `admin`.
    pub role: String,
    /// Whether the account is active.
    pub is_active: bool,
}

impl From<&User> for PublicUserDto {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.get(),
            username: user.username.as_str().to_owned(),
            display_name: user.display_name(),
            role: user.role.as_str().to_owned(),
            is_active: user.is_active,
        }
    }
}

/// An admin's change to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// Deactivated users are refused everywhere, their tokens included.
    pub is_active: bool,
}

fn user_id(raw: i64) -> Result<UserId, ApiError> {
    UserId::new(raw).map_err(|_| ApiError::from(AppError::NotFound("user")))
}

/// A user's public profile (any signed-in caller).
#[utoipa::path(get, path = "/api/users/{id}/", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = PublicUserDto),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn get_user<P: Ports>(
    services: web::Data<Services<P>>,
    _caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PublicUserDto>, ApiError> {
    let user = services.accounts.user(user_id(id.into_inner())?).await?;
    Ok(web::Json(PublicUserDto::from(&user)))
}

/// Activates or deactivates a user (admins only; not themselves).
#[utoipa::path(patch, path = "/api/users/{id}/", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Updated", body = UserDto),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "An admin deactivating themselves", body = ErrorBody),
    ))]
pub async fn update_user<P: Ports>(
    services: web::Data<Services<P>>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<UpdateUserRequest>,
) -> Result<web::Json<UserDto>, ApiError> {
    let user = services
        .accounts
        .set_active(&caller.principal, user_id(id.into_inner())?, body.is_active)
        .await?;
    Ok(web::Json(UserDto::from(&user)))
}
