//! User accounts, in memory.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use domain::password::PasswordHash;
use domain::user::{Email, ExternalUser, NewUser, PersonName, Role, User, UserId, Username};
use ports::{PortError, UserRepository};

use crate::lock::lock;

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<UserId, (User, Option<PasswordHash>)>,
    /// Lower-cased e-mail → holder, so uniqueness checks do not scan every user.
    emails: HashMap<String, UserId>,
    /// Lower-cased username → holder.
    usernames: HashMap<String, UserId>,
    last_id: i64,
}

impl State {
    fn holder_of_email(&self, email: &str) -> Option<UserId> {
        self.emails.get(&email.to_lowercase()).copied()
    }

    fn holder_of_username(&self, username: &str) -> Option<UserId> {
        self.usernames.get(&username.to_lowercase()).copied()
    }

    /// Stores a user (new or replaced), keeping the indexes in step.
    fn put(&mut self, user: User, password: Option<PasswordHash>) {
        if let Some((old, _)) = self.users.get(&user.id) {
            if let Some(email) = &old.email {
                self.emails.remove(&email.as_str().to_lowercase());
            }
            self.usernames.remove(&old.username.as_str().to_lowercase());
        }
        if let Some(email) = &user.email {
            self.emails.insert(email.as_str().to_lowercase(), user.id);
        }
        self.usernames
            .insert(user.username.as_str().to_lowercase(), user.id);
        self.users.insert(user.id, (user, password));
    }

    fn next_id(&mut self) -> Result<UserId, PortError> {
        self.last_id += 1;
        UserId::new(self.last_id).map_err(PortError::unexpected)
    }
}

/// Every user, keyed by id. Uniqueness of e-mail and username is checked under the same lock
/// as the insert, so concurrent registrations cannot both win.
#[derive(Debug, Clone, Default)]
pub struct MemoryUsers {
    state: Arc<Mutex<State>>,
}

impl UserRepository for MemoryUsers {
    async fn create(&self, new: NewUser, password: PasswordHash) -> Result<User, PortError> {
        let mut state = lock(&self.state);
        if state.holder_of_email(new.email.as_str()).is_some() {
            return Err(PortError::Conflict("email"));
        }
        if state.holder_of_username(new.username.as_str()).is_some() {
            return Err(PortError::Conflict("username"));
        }
        let user = User {
            id: state.next_id()?,
            username: new.username,
            email: Some(new.email),
            first_name: new.first_name,
            last_name: new.last_name,
            role: new.role,
            is_active: true,
            created_at: Utc::now(),
        };
        state.put(user.clone(), Some(password));
        Ok(user)
    }

    async fn get(&self, id: UserId) -> Result<User, PortError> {
        lock(&self.state)
            .users
            .get(&id)
            .map(|(user, _)| user.clone())
            .ok_or(PortError::NotFound)
    }

    async fn get_many(&self, ids: &[UserId]) -> Result<Vec<User>, PortError> {
        let state = lock(&self.state);
        Ok(ids
            .iter()
            .filter_map(|id| state.users.get(id).map(|(user, _)| user.clone()))
            .collect())
    }

    async fn find_by_email(
        &self,
        email: &Email,
    ) -> Result<(User, Option<PasswordHash>), PortError> {
        let state = lock(&self.state);
        let id = state
            .holder_of_email(email.as_str())
            .ok_or(PortError::NotFound)?;
        state.users.get(&id).cloned().ok_or(PortError::NotFound)
    }

    async fn ensure_external(&self, external: ExternalUser) -> Result<User, PortError> {
        let mut state = lock(&self.state);
        if let Some((user, _)) = state.users.get(&external.id) {
            return Ok(user.clone());
        }
        if let Some(email) = &external.email
            && state.holder_of_email(email.as_str()).is_some()
        {
            return Err(PortError::Conflict("email"));
        }
        if state
            .holder_of_username(external.username.as_str())
            .is_some()
        {
            return Err(PortError::Conflict("username"));
        }
        let user = User {
            id: external.id,
            username: external.username,
            email: external.email,
            first_name: PersonName::default(),
            last_name: PersonName::default(),
            role: external.role,
            is_active: true,
            created_at: Utc::now(),
        };
        state.last_id = state.last_id.max(user.id.get());
        state.put(user.clone(), None);
        Ok(user)
    }

    async fn upsert_admin(
        &self,
        email: Email,
        username: Username,
        password: PasswordHash,
    ) -> Result<User, PortError> {
        let mut state = lock(&self.state);
        let by_email = state.holder_of_email(email.as_str());
        let by_username = state.holder_of_username(username.as_str());
        let existing = match (by_email, by_username) {
            (Some(a), Some(b)) if a != b => return Err(PortError::Conflict("username")),
            (Some(id), _) | (None, Some(id)) => Some(id),
            (None, None) => None,
        };
        let id = match existing {
            Some(id) => id,
            None => state.next_id()?,
        };
        let user = match state.users.get(&id).cloned() {
            Some((mut user, _)) => {
                user.role = Role::Admin;
                user.is_active = true;
                if user.email.is_none() {
                    user.email = Some(email);
                }
                user
            }
            None => User {
                id,
                username,
                email: Some(email),
                first_name: PersonName::default(),
                last_name: PersonName::default(),
                role: Role::Admin,
                is_active: true,
                created_at: Utc::now(),
            },
        };
        state.put(user.clone(), Some(password));
        Ok(user)
    }

    async fn active_ids(
        &self,
        role: Option<Role>,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserId>, PortError> {
        let state = lock(&self.state);
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(state
            .users
            .range((from, Bound::Unbounded))
            .map(|(_, (user, _))| user)
            .filter(|u| u.is_active && role.is_none_or(|r| u.role == r))
            .take(limit)
            .map(|u| u.id)
            .collect())
    }

    async fn count_active(&self, role: Option<Role>) -> Result<u64, PortError> {
        let state = lock(&self.state);
        Ok(state
            .users
            .values()
            .filter(|(u, _)| u.is_active && role.is_none_or(|r| u.role == r))
            .count() as u64)
    }

    async fn set_active(&self, id: UserId, active: bool) -> Result<User, PortError> {
        let mut state = lock(&self.state);
        let (user, _) = state.users.get_mut(&id).ok_or(PortError::NotFound)?;
        user.is_active = active;
        Ok(user.clone())
    }
}
