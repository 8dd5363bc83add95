//! The caller's own profile.

use actix_web::web;
use chrono::{DateTime, Utc};
use domain::user::User;
use serde::Serialize;
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
