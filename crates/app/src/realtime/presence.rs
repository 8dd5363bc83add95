//! Who is online, across instances: every live session is registered in the shared presence
//! store under `<instance>:<session>` and refreshed by its heartbeat. The per-user session cap is
//! enforced there too, so it holds however a user's sessions spread over instances.

use std::collections::HashSet;
use std::time::Duration;

use domain::user::UserId;
use ports::{PortError, PresenceStore};

use super::{Hub, SessionId};
use crate::error::AppError;
use crate::ports::{Adapters, Ports};

/// Presence across instances.
pub struct PresenceService<P: Ports> {
    adapters: Adapters<P>,
    instance: String,
    ttl: Duration,
    cap: usize,
}

impl<P: Ports> Clone for PresenceService<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
            instance: self.instance.clone(),
            ttl: self.ttl,
            cap: self.cap,
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
        }
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
            Ok(first) => Ok(first),
            Err(PortError::Conflict(_)) => Err(AppError::conflict(
                "too_many_sessions",
                format!("at most {} sessions per user", self.cap),
            )),
            Err(error) => {
                tracing::warn!(%error, "the presence store is unavailable; session admitted");
                Ok(true)
            }
        }
    }

    /// Keeps `sessions` (this instance's) counted as live, in one call to the store.
    pub async fn heartbeat(&self, sessions: &[(UserId, SessionId)]) {
        let keyed: Vec<(UserId, String)> = sessions
            .iter()
            .map(|(user, session)| (*user, self.key(*session)))
            .collect();
        if let Err(error) = self.adapters.presence.refresh(&keyed, self.ttl).await {
            tracing::warn!(%error, sessions = keyed.len(), "refreshing presence failed; the next heartbeat retries");
        }
    }

    /// Refreshes every session of `hub` each `every`; a background chore that runs until it is
    /// aborted at shutdown. One task per instance instead of a store round trip per session and
    /// heartbeat.
    pub async fn refresh_every(self, hub: Hub<P::Bus>, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let sessions = hub.sessions();
            if !sessions.is_empty() {
                self.heartbeat(&sessions).await;
            }
        }
    }

    /// Removes a session; true when it was the user's last live one.
    pub async fn disconnect(&self, user: UserId, session: SessionId) -> bool {
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
