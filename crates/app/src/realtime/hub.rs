//! The hub: which local session follows which topic, and fan-out that never waits on a client.
//!
//! An event is wrapped once in a [`Delivery`] shared by every receiving session; its frames are
//! encoded at most once per audience (author / everyone else) by whichever session needs them
//! first. Each session has a bounded queue: `try_send` either enqueues or, when the queue is full,
//! asks that session to close with 4008 — a slow client never slows anyone else.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use domain::chat::{RoomId, Seq};
use domain::user::UserId;
use ports::{BusEvent, EventBus, Topic};
use tokio::sync::{Notify, mpsc};

/// A session's id, unique in this process.
pub type SessionId = u64;

/// One event on its way to the sessions following its topic.
#[derive(Debug)]
pub struct Delivery {
    /// Where it was published.
    pub topic: Topic,
    /// What happened.
    pub event: Arc<BusEvent>,
    /// Encoded frames, per dialect and audience (author / everyone else).
    frames: [[OnceLock<Arc<str>>; 2]; super::frames::DIALECTS],
}

impl Delivery {
    /// Wraps an event.
    pub fn new(topic: Topic, event: Arc<BusEvent>) -> Self {
        Self {
            topic,
            event,
            frames: std::array::from_fn(|_| [OnceLock::new(), OnceLock::new()]),
        }
    }

    /// The encoded frame for one dialect and audience, encoding it on first use.
    pub fn frame(
        &self,
        dialect: usize,
        for_author: bool,
        encode: impl FnOnce() -> Arc<str>,
    ) -> Arc<str> {
        match self.frames.get(dialect) {
            Some(slots) => slots[usize::from(for_author)].get_or_init(encode).clone(),
            // An unknown dialect is encoded every time rather than mixed into another's cache.
            None => encode(),
        }
    }
}

/// A request to close a session, settable from any thread.
#[derive(Debug, Default)]
pub struct SessionControl {
    close: Mutex<Option<(u16, String)>>,
    notify: Notify,
}

impl SessionControl {
    /// Asks the session to close; the first request wins.
    pub fn request_close(&self, code: u16, reason: &str) {
        let mut slot = self
            .close
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some((code, reason.to_owned()));
        }
        drop(slot);
        self.notify.notify_one();
    }

    /// Resolves when a close was requested, with its code and reason.
    pub async fn requested(&self) -> (u16, String) {
        loop {
            if let Some(request) = self
                .close
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
            {
                return request;
            }
            self.notify.notified().await;
        }
    }
}

/// Hub limits.
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// Frames a session may have queued before it is closed as too slow.
    pub queue_capacity: usize,
    /// Sessions one user may hold (on this instance, and across instances through presence).
    pub max_sessions_per_user: usize,
    /// How long a session counts as online without a heartbeat.
    pub presence_ttl: std::time::Duration,
}

/// A new session's handles.
#[derive(Debug)]
pub struct Registration {
    /// Its id.
    pub id: SessionId,
    /// Where its deliveries arrive.
    pub inbox: mpsc::Receiver<Arc<Delivery>>,
    /// Where close requests arrive.
    pub control: Arc<SessionControl>,
    /// True when it is the user's first session here (they came online).
    pub first_of_user: bool,
}

/// The user already holds the maximum number of sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sessions for this user")]
pub struct TooManySessions;

struct Entry {
    user: UserId,
    tx: mpsc::Sender<Arc<Delivery>>,
    control: Arc<SessionControl>,
    topics: HashSet<Topic>,
    /// Rooms this session subscribed to (it shows their messages as they arrive).
    watching: HashSet<RoomId>,
}

/// Sequence numbers seen in dispatched events.
#[derive(Default)]
struct Seen {
    rooms: HashMap<RoomId, Seq>,
    inboxes: HashMap<UserId, Seq>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<SessionId, Entry>,
    topics: HashMap<Topic, HashSet<SessionId>>,
    users: HashMap<UserId, HashSet<SessionId>>,
    /// Per room: users with a session watching it, and how many such sessions.
    watchers: HashMap<RoomId, HashMap<UserId, usize>>,
}

impl State {
    fn stop_watching(&mut self, room: RoomId, user: UserId) {
        if let Some(users) = self.watchers.get_mut(&room) {
            if let Some(count) = users.get_mut(&user) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    users.remove(&user);
                }
            }
            if users.is_empty() {
                self.watchers.remove(&room);
            }
        }
    }
}

struct Inner<B: EventBus> {
    bus: B,
    settings: HubSettings,
    next_id: AtomicU64,
    state: RwLock<State>,
    /// Serialises bus (un)subscriptions so their order matches the state changes that caused them.
    subscriptions: tokio::sync::Mutex<()>,
    /// The highest room and inbox seqs seen go by, for reconciliation.
    seen: Mutex<Seen>,
    dropped: AtomicU64,
}

/// The hub. Cheap to clone.
pub struct Hub<B: EventBus> {
    inner: Arc<Inner<B>>,
}

impl<B: EventBus> Clone for Hub<B> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<B: EventBus> std::fmt::Debug for Hub<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("sessions", &self.session_count())
            .finish_non_exhaustive()
    }
}

impl<B: EventBus> Hub<B> {
    /// A hub fed by `bus`: every event the bus receives is dispatched here.
    pub fn new(bus: B, settings: HubSettings) -> Self {
        let hub = Self {
            inner: Arc::new(Inner {
                bus,
                settings,
                next_id: AtomicU64::new(1),
                state: RwLock::new(State::default()),
                subscriptions: tokio::sync::Mutex::new(()),
                seen: Mutex::new(Seen::default()),
                dropped: AtomicU64::new(0),
            }),
        };
        // A weak reference: the bus must not keep a dropped hub alive.
        let weak: Weak<Inner<B>> = Arc::downgrade(&hub.inner);
        hub.inner.bus.attach(Arc::new(move |topic, event| {
            if let Some(inner) = weak.upgrade() {
                Hub { inner }.dispatch(topic, event);
            }
        }));
        hub
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a session of `user`. Errors: [`TooManySessions`] at the per-user cap.
    pub fn register(&self, user: UserId) -> Result<Registration, TooManySessions> {
        let (tx, inbox) = mpsc::channel(self.inner.settings.queue_capacity.max(1));
        let control = Arc::new(SessionControl::default());
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut state = self.write();
        let sessions = state.users.entry(user).or_default();
        if sessions.len() >= self.inner.settings.max_sessions_per_user {
            return Err(TooManySessions);
        }
        sessions.insert(id);
        let first_of_user = sessions.len() == 1;
        state.sessions.insert(
            id,
            Entry {
                user,
                tx,
                control: control.clone(),
                topics: HashSet::new(),
                watching: HashSet::new(),
            },
        );
        Ok(Registration {
            id,
            inbox,
            control,
            first_of_user,
        })
    }

    /// Makes `session` follow `topic`; the bus subscribes on the topic's first local follower.
    pub async fn follow(&self, session: SessionId, topic: Topic) {
        let _order = self.inner.subscriptions.lock().await;
        let first = {
            let mut state = self.write();
            let Some(entry) = state.sessions.get_mut(&session) else {
                return;
            };
            if !entry.topics.insert(topic) {
                return;
            }
            let followers = state.topics.entry(topic).or_default();
            followers.insert(session);
            followers.len() == 1
        };
        if first && let Err(error) = self.inner.bus.follow(topic).await {
            tracing::warn!(%error, topic = %topic.channel(), "bus subscription failed; reconciliation covers it");
        }
    }

    /// Makes `session` stop following `topic`; the bus unsubscribes after the last local follower.
    pub async fn unfollow(&self, session: SessionId, topic: Topic) {
        let _order = self.inner.subscriptions.lock().await;
        let last = {
            let mut state = self.write();
            if let Some(entry) = state.sessions.get_mut(&session) {
                entry.topics.remove(&topic);
            }
            Self::remove_follower(&mut state, topic, session)
        };
        if last {
            self.forget_seen(topic);
            if let Err(error) = self.inner.bus.unfollow(topic).await {
                tracing::warn!(%error, topic = %topic.channel(), "bus unsubscription failed");
            }
        }
    }

    fn remove_follower(state: &mut State, topic: Topic, session: SessionId) -> bool {
        let Some(followers) = state.topics.get_mut(&topic) else {
            return false;
        };
        if !followers.remove(&session) {
            return false;
        }
        if followers.is_empty() {
            state.topics.remove(&topic);
            true
        } else {
            false
        }
    }

    /// Removes a session and its follows. Returns true when it was its user's last session here.
    pub async fn unregister(&self, session: SessionId) -> bool {
        let _order = self.inner.subscriptions.lock().await;
        let (emptied, last_of_user) = {
            let mut state = self.write();
            let Some(entry) = state.sessions.remove(&session) else {
                return false;
            };
            for room in &entry.watching {
                state.stop_watching(*room, entry.user);
            }
            let mut emptied = Vec::new();
            for topic in &entry.topics {
                if Self::remove_follower(&mut state, *topic, session) {
                    emptied.push(*topic);
                }
            }
            let last = match state.users.get_mut(&entry.user) {
                Some(sessions) => {
                    sessions.remove(&session);
                    let empty = sessions.is_empty();
                    if empty {
                        state.users.remove(&entry.user);
                    }
                    empty
                }
                None => true,
            };
            (emptied, last)
        };
        for topic in emptied {
            self.forget_seen(topic);
            if let Err(error) = self.inner.bus.unfollow(topic).await {
                tracing::warn!(%error, topic = %topic.channel(), "bus unsubscription failed");
            }
        }
        last_of_user
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn note_seen(&self, topic: Topic, event: &BusEvent) {
        let (key, seq) = match (topic, event) {
            (Topic::Room(room), BusEvent::MessageCreated { view }) => {
                (Topic::Room(room), view.message.seq)
            }
            (Topic::Room(room), BusEvent::RoomHead { head, .. }) => (Topic::Room(room), *head),
            (
                Topic::User(user),
                BusEvent::NotificationCreated { notification }
                | BusEvent::NotificationUpdated { notification },
            ) => (Topic::User(user), notification.seq),
            (Topic::User(user), BusEvent::InboxHead { head, .. }) => (Topic::User(user), *head),
            _ => return,
        };
        let mut seen = self.seen();
        let slot = match key {
            Topic::Room(room) => seen.rooms.entry(room).or_default(),
            Topic::User(user) => seen.inboxes.entry(user).or_default(),
        };
        *slot = (*slot).max(seq);
    }

    fn forget_seen(&self, topic: Topic) {
        let mut seen = self.seen();
        match topic {
            Topic::Room(room) => seen.rooms.remove(&room),
            Topic::User(user) => seen.inboxes.remove(&user),
        };
    }

    /// The highest seq seen go by for a room or inbox topic (zero when none).
    pub fn seen_head(&self, topic: Topic) -> Seq {
        let seen = self.seen();
        match topic {
            Topic::Room(room) => seen.rooms.get(&room).copied(),
            Topic::User(user) => seen.inboxes.get(&user).copied(),
        }
        .unwrap_or_default()
    }

    /// Records that `session` shows `room`'s messages as they arrive (it subscribed).
    pub fn watch(&self, session: SessionId, room: RoomId) {
        let mut state = self.write();
        let Some(entry) = state.sessions.get_mut(&session) else {
            return;
        };
        if entry.watching.insert(room) {
            let user = entry.user;
            *state
                .watchers
                .entry(room)
                .or_default()
                .entry(user)
                .or_default() += 1;
        }
    }

    /// Records that `session` no longer shows `room`.
    pub fn unwatch(&self, session: SessionId, room: RoomId) {
        let mut state = self.write();
        let Some(entry) = state.sessions.get_mut(&session) else {
            return;
        };
        if entry.watching.remove(&room) {
            let user = entry.user;
            state.stop_watching(room, user);
        }
    }

    /// Users with a session here watching `room`.
    pub fn watching(&self, room: RoomId) -> HashSet<UserId> {
        self.read()
            .watchers
            .get(&room)
            .map(|users| users.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Hands an event to every local session following `topic`. Never blocks: a full queue closes
    /// that session with 4008 instead.
    pub fn dispatch(&self, topic: Topic, event: Arc<BusEvent>) {
        self.note_seen(topic, &event);
        let delivery = Arc::new(Delivery::new(topic, event));
        let state = self.read();
        let Some(followers) = state.topics.get(&topic) else {
            return;
        };
        for id in followers {
            let Some(entry) = state.sessions.get(id) else {
                continue;
            };
            match entry.tx.try_send(delivery.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                    entry.control.request_close(
                        super::frames::close::POLICY,
                        "slow consumer: outbound queue full",
                    );
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    /// Whether `user` has a session on this instance.
    pub fn is_online(&self, user: UserId) -> bool {
        self.read().users.contains_key(&user)
    }

    /// Sessions of `user` on this instance.
    pub fn sessions_of(&self, user: UserId) -> usize {
        self.read().users.get(&user).map_or(0, HashSet::len)
    }

    /// Open sessions on this instance.
    pub fn session_count(&self) -> usize {
        self.read().sessions.len()
    }

    /// Topics followed on this instance.
    pub fn topics(&self) -> Vec<Topic> {
        self.read().topics.keys().copied().collect()
    }

    /// Deliveries refused because a session's queue was full, since start.
    pub fn dropped_deliveries(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Asks every session to close (shutdown: 1012).
    pub fn close_all(&self, code: u16, reason: &str) {
        for entry in self.read().sessions.values() {
            entry.control.request_close(code, reason);
        }
    }

    /// Asks every session of `user` to close (deactivation).
    pub fn close_user(&self, user: UserId, code: u16, reason: &str) {
        let state = self.read();
        for id in state.users.get(&user).into_iter().flatten() {
            if let Some(entry) = state.sessions.get(id) {
                entry.control.request_close(code, reason);
            }
        }
    }

    /// The bus, for publishing.
    pub fn bus(&self) -> &B {
        &self.inner.bus
    }
}
