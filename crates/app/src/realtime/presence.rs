//! Who is online, across instances: every live session is registered in the shared presence
//! store under `<instance>:<session>`, and each instance refreshes all of its sessions at once
//! every heartbeat ([`PresenceService::refresh_every`]). The per-user session cap is
//! enforced there too, so it holds however a user's sessions spread over instances.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use domain::user::UserId;
use ports::{PortError, PresenceStore};

use super::SessionId;
use crate::error::AppError;
use crate::ports::{Adapters, Ports};

/// Presence across instances.
pub struct PresenceService<P: Ports> {
    adapters: Adapters<P>,
    instance: String,
    ttl: Duration,
    cap: usize,
    /// The sessions this instance registered and has not yet removed: what the heartbeat
    /// refreshes. (Not the hub's list: a session is in the hub before its registration and may
    /// fail it, and refreshing it would leave a ghost counted against the user's cap.)
    registered: Arc<Mutex<HashMap<SessionId, UserId>>>,
}

impl<P: Ports> Clone for PresenceService<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
            instance: self.instance.clone(),
            ttl: self.ttl,
            cap: self.cap,
            registered: self.registered.clone(),
        }
    }
}

impl<P: Ports> std::fmt::Debug for PresenceService<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceService")
            .field("instance", &self.instance)
            .field("ttl", &self.ttl)
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl<P: Ports> PresenceService<P> {
    /// Sessions live for `ttl` between heartbeats; a user holds at most `cap` of them.
    pub fn new(adapters: Adapters<P>, ttl: Duration, cap: usize) -> Self {
        Self {
            adapters,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            ttl,
            cap,
            registered: Arc::default(),
        }
    }

    fn registered(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, UserId>> {
        self.registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How long a session counts as live without a heartbeat.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn key(&self, session: SessionId) -> String {
        format!("{}:{session}", self.instance)
    }

    /// Registers a session; true when the user just came online. Errors: `too_many_sessions`
    /// (the session must close with 4009). With the store down the session is let in (the
    /// local cap still applies) and treated as the user's first.
    pub async fn connect(&self, user: UserId, session: SessionId) -> Result<bool, AppError> {
        match self
            .adapters
            .presence
            .register(user, &self.key(session), self.ttl, self.cap)
            .await
        {
            Ok(first) => {
                self.registered().insert(session, user);
                Ok(first)
            }
            Err(PortError::Conflict(_)) => Err(AppError::conflict(
                "too_many_sessions",
                format!("at most {} sessions per user", self.cap),
            )),
            Err(error) => {
                tracing::warn!(%error, "the presence store is unavailable; session admitted");
                // Refreshed from now on, so it counts once the store is back.
                self.registered().insert(session, user);
                Ok(true)
            }
        }
    }

    /// Refreshes every registered session of this instance each `every`; a background chore
    /// that runs until it is aborted at shutdown. One task per instance instead of a store round
    /// trip per session and heartbeat.
    pub async fn refresh_every(self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.refresh_registered().await;
        }
    }

    /// One refresh of every registered session, in one call to the store. A session removed
    /// while the refresh was in flight may have been written back by it (a refresh re-registers
    /// what it does not find): such sessions are removed again, so no closed session stays online
    /// until its TTL.
    async fn refresh_registered(&self) {
        let sessions: Vec<(SessionId, UserId)> = self
            .registered()
            .iter()
            .map(|(session, user)| (*session, *user))
            .collect();
        if sessions.is_empty() {
            return;
        }
        let keyed: Vec<(UserId, String)> = sessions
            .iter()
            .map(|(session, user)| (*user, self.key(*session)))
            .collect();
        if let Err(error) = self.adapters.presence.refresh(&keyed, self.ttl).await {
            tracing::warn!(%error, sessions = keyed.len(), "refreshing presence failed; the next heartbeat retries");
        }
        let gone: Vec<(SessionId, UserId)> = {
            let registered = self.registered();
            sessions
                .into_iter()
                .filter(|(session, _)| !registered.contains_key(session))
                .collect()
        };
        for (session, user) in gone {
            self.disconnect(user, session).await;
        }
    }

    /// Removes a session; true when it was the user's last live one.
    pub async fn disconnect(&self, user: UserId, session: SessionId) -> bool {
        // Forgotten before the store is told, so a refresh in flight can tell (see
        // `refresh_registered`).
        self.registered().remove(&session);
        self.adapters
            .presence
            .unregister(user, &self.key(session))
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "the presence store is unavailable; assuming offline");
                true
            })
    }

    /// Which of `users` are online anywhere (none, when the store cannot say).
    pub async fn online(&self, users: &[UserId]) -> HashSet<UserId> {
        self.adapters
            .presence
            .online(users)
            .await
            .unwrap_or_else(|error| {
                tracing::debug!(%error, "presence lookup failed");
                HashSet::new()
            })
    }
}
