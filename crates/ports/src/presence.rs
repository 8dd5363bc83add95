//! What instances share about live sessions: who is online (and how many sessions they hold),
//! and fixed-window counters for throttles and rate limits. In memory for one process, in Redis
//! for many. Entries expire by themselves, so a killed instance leaves nothing behind for long.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use domain::user::UserId;

use crate::PortError;

/// Live sessions across instances.
pub trait PresenceStore: Clone + Send + Sync + 'static {
    /// Registers session `session` of `user`, alive for `ttl` unless refreshed. Returns true
    /// when it is the user's only live session (they just came online).
    ///
    /// Errors: `Conflict("session_cap")` when the user already has `cap` live sessions (nothing
    /// is registered); `Unavailable` when the store is down.
    fn register(
        &self,
        user: UserId,
        session: &str,
        ttl: Duration,
        cap: usize,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Keeps `sessions` (user, session) alive for another `ttl`, registering again any that had
    /// expired. An instance refreshes all of its sessions in one call: one round trip per
    /// session and heartbeat was, at tens of thousands of sessions, a load of its own.
    fn refresh(
        &self,
        sessions: &[(UserId, String)],
        ttl: Duration,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Removes a session. Returns true when the user has no live session left.
    fn unregister(
        &self,
        user: UserId,
        session: &str,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Which of `users` have a live session.
    fn online(
        &self,
        users: &[UserId],
    ) -> impl Future<Output = Result<HashSet<UserId>, PortError>> + Send;
}

/// Counters shared by every instance.
pub trait Throttle: Clone + Send + Sync + 'static {
    /// Counts a hit on `key`; true while the hits since the key's window opened (it opens with
    /// the first hit and lasts `window`) are at most `limit`.
    fn allow(
        &self,
        key: &str,
        window: Duration,
        limit: u32,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Closes `key`'s window early (the next hit opens a new one).
    fn reset(&self, key: &str) -> impl Future<Output = Result<(), PortError>> + Send;
}
