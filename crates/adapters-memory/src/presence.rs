//! Live sessions and throttles in this process's memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::user::UserId;
use ports::{PortError, PresenceStore, Throttle};

use crate::lock::lock;

/// Sessions per user with their expiry.
#[derive(Debug, Clone, Default)]
pub struct MemoryPresence {
    state: Arc<Mutex<HashMap<UserId, HashMap<String, Instant>>>>,
}

fn live(sessions: &mut HashMap<String, Instant>, now: Instant) {
    sessions.retain(|_, until| *until > now);
}

impl PresenceStore for MemoryPresence {
    async fn register(
        &self,
        user: UserId,
        session: &str,
        ttl: Duration,
        cap: usize,
    ) -> Result<bool, PortError> {
        let now = Instant::now();
        let mut state = lock(&self.state);
        let sessions = state.entry(user).or_default();
        live(sessions, now);
        if !sessions.contains_key(session) && sessions.len() >= cap {
            return Err(PortError::Conflict("session_cap"));
        }
        sessions.insert(session.to_owned(), now + ttl);
        Ok(sessions.len() == 1)
    }

    async fn refresh(&self, sessions: &[(UserId, String)], ttl: Duration) -> Result<(), PortError> {
        let until = Instant::now() + ttl;
        let mut state = lock(&self.state);
        for (user, session) in sessions {
            state
                .entry(*user)
                .or_default()
                .insert(session.clone(), until);
        }
        Ok(())
    }

    async fn unregister(&self, user: UserId, session: &str) -> Result<bool, PortError> {
        let now = Instant::now();
        let mut state = lock(&self.state);
        let Some(sessions) = state.get_mut(&user) else {
            return Ok(true);
        };
        sessions.remove(session);
        live(sessions, now);
        let last = sessions.is_empty();
        if last {
            state.remove(&user);
        }
        Ok(last)
    }

    async fn online(&self, users: &[UserId]) -> Result<HashSet<UserId>, PortError> {
        let now = Instant::now();
        let state = lock(&self.state);
        Ok(users
            .iter()
            .filter(|u| {
                state
                    .get(u)
                    .is_some_and(|sessions| sessions.values().any(|until| *until > now))
            })
            .copied()
            .collect())
    }
}

/// Fixed windows per key.
#[derive(Debug, Clone, Default)]
pub struct MemoryThrottle {
    state: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

impl Throttle for MemoryThrottle {
    async fn allow(&self, key: &str, window: Duration, limit: u32) -> Result<bool, PortError> {
        let now = Instant::now();
        let mut state = lock(&self.state);
        // Forget closed windows now and then, so keys do not pile up.
        if state.len() > 10_000 {
            state.retain(|_, (until, _)| *until > now);
        }
        let entry = state.entry(key.to_owned()).or_insert((now + window, 0));
        if entry.0 <= now {
            *entry = (now + window, 0);
        }
        entry.1 += 1;
        Ok(entry.1 <= limit)
    }

    async fn reset(&self, key: &str) -> Result<(), PortError> {
        lock(&self.state).remove(key);
        Ok(())
    }
}
