//! Reconciliation (DESIGN §3.3): the bus is a notification path, storage is the record. After a
//! bus reconnect, and periodically, compare the stored heads of every room and inbox followed on
//! this instance with the highest seq seen go by; where storage is ahead, tell the topic's
//! sessions, which fetch the gap from storage — so an event lost in transit makes a delivery
//! late, never lost (and the per-session seq bookkeeping keeps it from arriving twice).

use std::sync::Arc;
use std::time::Duration;

use domain::chat::RoomId;
use domain::user::UserId;
use ports::{BusEvent, ChatRepository, EventBus, NotificationRepository, Topic};
use tokio::sync::Notify;

use super::Hub;
use crate::error::AppError;
use crate::ports::{Adapters, Ports};

/// Topics looked up per query.
const CHUNK: usize = 1000;

/// Delay before the second pass after a bus reconnect: the bus re-subscribes in the meantime, and
/// anything published between the first pass and the new subscriptions is caught by it.
const SETTLE: Duration = Duration::from_secs(1);

/// Compares stored heads with what went by and closes the gaps.
pub struct Reconciler<P: Ports> {
    adapters: Adapters<P>,
    hub: Hub<P::Bus>,
    wake: Arc<Notify>,
}

impl<P: Ports> std::fmt::Debug for Reconciler<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler").finish_non_exhaustive()
    }
}

/// What one pass found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Rooms whose stored head was ahead.
    pub rooms: usize,
    /// Inboxes whose stored head was ahead.
    pub inboxes: usize,
}

impl<P: Ports> Reconciler<P> {
    /// A reconciler for this hub; it registers itself to run whenever the bus may have lost
    /// events.
    pub fn new(adapters: Adapters<P>, hub: Hub<P::Bus>) -> Self {
        let wake = Arc::new(Notify::new());
        let trigger = wake.clone();
        adapters
            .bus
            .on_resync(Arc::new(move || trigger.notify_one()));
        Self {
            adapters,
            hub,
            wake,
        }
    }

    /// One pass over every followed room and inbox.
    pub async fn run_once(&self) -> Result<Pass, AppError> {
        let mut rooms: Vec<RoomId> = Vec::new();
        let mut users: Vec<UserId> = Vec::new();
        for topic in self.hub.topics() {
            match topic {
                Topic::Room(room) => rooms.push(room),
                Topic::User(user) => users.push(user),
            }
        }
        let mut pass = Pass::default();
        for chunk in rooms.chunks(CHUNK) {
            let heads = self
                .adapters
                .chat
                .room_heads(chunk)
                .await
                .map_err(AppError::from_port("room"))?;
            for (room_id, head) in heads {
                let topic = Topic::Room(room_id);
                if head > self.hub.seen_head(topic) {
                    pass.rooms += 1;
                    self.hub
                        .dispatch(topic, Arc::new(BusEvent::RoomHead { room_id, head }));
                }
            }
        }
        for chunk in users.chunks(CHUNK) {
            let heads = self
                .adapters
                .notifications
                .inbox_heads(chunk)
                .await
                .map_err(AppError::from_port("notification"))?;
            for (user_id, head) in heads {
                let topic = Topic::User(user_id);
                if head > self.hub.seen_head(topic) {
                    pass.inboxes += 1;
                    self.hub
                        .dispatch(topic, Arc::new(BusEvent::InboxHead { user_id, head }));
                }
            }
        }
        Ok(pass)
    }

    async fn pass(&self, why: &str) {
        match self.run_once().await {
            Ok(pass) if pass.rooms + pass.inboxes > 0 => {
                tracing::info!(
                    rooms = pass.rooms,
                    inboxes = pass.inboxes,
                    why,
                    "reconciled live sessions from storage"
                );
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, why, "reconciliation failed; the next pass retries")
            }
        }
    }

    /// Runs every `every`, and twice after each bus resync, until the task is aborted.
    pub async fn run(self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => self.pass("periodic").await,
                () = self.wake.notified() => {
                    self.pass("bus resync").await;
                    tokio::time::sleep(SETTLE).await;
                    self.pass("bus resync, settled").await;
                }
            }
        }
    }
}
