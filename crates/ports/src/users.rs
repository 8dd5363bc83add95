//! Storage of users and their password hashes.

use std::future::Future;

use domain::password::PasswordHash;
use domain::user::{Email, ExternalUser, NewUser, User, UserId, Username};

use crate::PortError;

/// The user accounts. Usernames and e-mail addresses are unique without regard to case.
pub trait UserRepository: Clone + Send + Sync + 'static {
    /// Stores a new account with a fresh id.
    ///
    /// Errors: `Conflict("email")` when the address is taken, `Conflict("username")` when the
    /// username is taken (both compared case-insensitively); nothing is stored then.
    fn create(
        &self,
        user: NewUser,
        password: PasswordHash,
    ) -> impl Future<Output = Result<User, PortError>> + Send;

    /// The user with this id. Errors: `NotFound`.
    fn get(&self, id: UserId) -> impl Future<Output = Result<User, PortError>> + Send;

    /// These users (unknown ids are skipped), in any order.
    fn get_many(&self, ids: &[UserId])
    -> impl Future<Output = Result<Vec<User>, PortError>> + Send;

    /// The user with this address (case-insensitive) and their password hash, if they have one
    /// (platform users have none). Errors: `NotFound`.
    fn find_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<(User, Option<PasswordHash>), PortError>> + Send;

    /// Returns the user with `user.id`, creating them from the platform's claims when they are
    /// unknown. An existing user is returned unchanged. Safe under concurrency: two calls for the
    /// same new id create one user. Ids chosen here are never handed out by `create` afterwards.
    ///
    /// Errors: `Conflict("username")` / `Conflict("email")` when another user already holds the
    /// username or address.
    fn ensure_external(
        &self,
        user: ExternalUser,
    ) -> impl Future<Output = Result<User, PortError>> + Send;

    /// Creates an admin, or promotes the user holding this address or username to admin, and sets
    /// their password and activates them. Errors: `Conflict("username")` when the address and the
    /// username belong to two different users.
    fn upsert_admin(
        &self,
        email: Email,
        username: Username,
        password: PasswordHash,
    ) -> impl Future<Output = Result<User, PortError>> + Send;

    /// Active users with this role (any role when `None`), by id, after `after`, at most `limit`:
    /// the pages of a broadcast.
    fn active_ids(
        &self,
        role: Option<domain::user::Role>,
        after: Option<UserId>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<UserId>, PortError>> + Send;

    /// How many active users have this role (any role when `None`).
    fn count_active(
        &self,
        role: Option<domain::user::Role>,
    ) -> impl Future<Output = Result<u64, PortError>> + Send;

    /// Activates or deactivates a user. Errors: `NotFound`.
    fn set_active(
        &self,
        id: UserId,
        active: bool,
    ) -> impl Future<Output = Result<User, PortError>> + Send;
}
