//! The event bus over Redis pub/sub (fred): one subscriber connection per process, subscribed to
//! exactly the topics local sessions follow.
//!
//! - **Publishing** hands the event to this instance's hub at once, then publishes it for the
//!   others, wrapped with this instance's id so that it does not come back twice.
//! - **Subscriptions** are what the hub asks for. The bus remembers them itself (fred forgets a
//!   subscription that failed), re-subscribes after every reconnect and repairs any that failed
//!   while connected.
//! - **After a reconnect** (or when this process fell behind the subscriber's buffer), events may
//!   have been missed: the resync hook tells the application to reconcile from PostgreSQL.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::prelude::*;
use ports::{BusEvent, EventBus, EventSink, PortError, ResyncHook, Topic};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisBusSettings {
    /// `redis://host:port/db`.
    pub url: String,
    /// Namespace of the channels (`eclean:` → `eclean:room:12`).
    pub prefix: String,
    /// Bound on connecting and on every command.
    pub timeout: Duration,
    /// Messages buffered between the subscriber connection and the hub.
    pub buffer: usize,
}

/// Depth of the publisher's event channels (errors, reconnects): nothing here listens to its
/// pub/sub messages, so fred's default is plenty.
const PUBLISHER_EVENT_CAPACITY: usize = 32;

/// How often failed subscriptions are retried while connected.
const REPAIR_EVERY: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct Outgoing<'a> {
    origin: &'a str,
    topic: Topic,
    event: &'a BusEvent,
}

#[derive(Deserialize)]
struct Incoming {
    origin: String,
    topic: Topic,
    event: BusEvent,
}

struct Inner {
    publisher: Client,
    subscriber: SubscriberClient,
    prefix: String,
    origin: String,
    sink: Mutex<Option<EventSink>>,
    resync: Mutex<Option<ResyncHook>>,
    /// The channels the hub wants, whatever fred managed to subscribe.
    wanted: Mutex<BTreeSet<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The Redis event bus. Cheap to clone.
#[derive(Clone)]
pub struct RedisBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("origin", &self.inner.origin)
            .field("subscriptions", &lock(&self.inner.wanted).len())
            .finish_non_exhaustive()
    }
}

fn unavailable(error: Error) -> PortError {
    PortError::unavailable(error)
}

impl RedisBus {
    /// Starts the bus. It connects in the background and keeps reconnecting, so the process
    /// starts (and reports Redis down on `/readyz`) while Redis is unreachable.
    pub fn start(settings: &RedisBusSettings) -> Result<Self, PortError> {
        let config = Config::from_url(&settings.url)
            .map_err(|e| PortError::unexpected(format!("redis.url: {e}")))?;
        let mut builder = Builder::from_config(config);
        builder
            .with_config(|c| c.fail_fast = false)
            .with_performance_config(|p| {
                p.default_command_timeout = settings.timeout;
                p.broadcast_channel_capacity = PUBLISHER_EVENT_CAPACITY;
            })
            .with_connection_config(|c| {
                c.connection_timeout = settings.timeout;
                c.internal_command_timeout = settings.timeout;
                // A command in flight when the connection dies fails instead of being replayed
                // later: callers treat a publish failure as "reconciliation will cover it".
                c.max_command_attempts = 1;
                // Publishes from many tasks share this connection; with Nagle's algorithm a
                // command written while the previous one is unacknowledged waits for the ACK
                // (tens of milliseconds under delayed ACKs), which dominated delivery latency.
                c.tcp.nodelay = Some(true);
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2));
        let publisher = builder.build().map_err(unavailable)?;
        // fred gives every client eight broadcast channels of this one capacity, each allocated
        // and initialised up front (~30 MB at 65,536). Only the subscriber's pub/sub channel
        // needs the depth, so only the subscriber pays for it.
        builder.with_performance_config(|p| {
            p.broadcast_channel_capacity = settings.buffer.max(PUBLISHER_EVENT_CAPACITY);
        });
        let subscriber = builder.build_subscriber_client().map_err(unavailable)?;
        let bus = Self {
            inner: Arc::new(Inner {
                publisher,
                subscriber,
                prefix: settings.prefix.clone(),
                origin: uuid::Uuid::new_v4().simple().to_string(),
                sink: Mutex::new(None),
                resync: Mutex::new(None),
                wanted: Mutex::new(BTreeSet::new()),
            }),
        };
        bus.spawn_tasks();
        let _publisher = bus.inner.publisher.connect();
        let _subscriber = bus.inner.subscriber.connect();
        Ok(bus)
    }

    /// This process's id on the bus.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    fn channel(&self, topic: Topic) -> String {
        format!("{}{}", self.inner.prefix, topic.channel())
    }

    fn spawn_tasks(&self) {
        // Incoming messages. Holding only a weak reference: a dropped bus stops its tasks.
        let weak = Arc::downgrade(&self.inner);
        let mut messages = self.inner.subscriber.message_rx();
        tokio::spawn(async move {
            loop {
                let received = messages.recv().await;
                let Some(inner) = weak.upgrade() else { return };
                let bus = RedisBus { inner };
                match received {
                    Ok(message) => bus.receive(&message),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "the hub fell behind the Redis subscriber; reconciling"
                        );
                        bus.resync();
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        // Reconnects: subscribe again to everything wanted, then reconcile. The first event is
        // the initial connection.
        let weak = Arc::downgrade(&self.inner);
        let mut reconnects = self.inner.subscriber.reconnect_rx();
        tokio::spawn(async move {
            let mut first = true;
            while reconnects.recv().await.is_ok() {
                let Some(inner) = weak.upgrade() else { return };
                let bus = RedisBus { inner };
                bus.repair(true).await;
                if first {
                    first = false;
                    tracing::info!("Redis bus connected");
                } else {
                    tracing::warn!("Redis bus reconnected; reconciling from storage");
                }
                bus.resync();
            }
        });
        // Subscriptions that failed while connected.
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(REPAIR_EVERY);
            loop {
                every.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                RedisBus { inner }.repair(false).await;
            }
        });
    }

    /// Subscribes to every wanted channel fred does not hold (all of them after a reconnect).
    async fn repair(&self, all: bool) {
        if !self.inner.subscriber.is_connected() {
            return;
        }
        let tracked = self.inner.subscriber.tracked_channels();
        // A lookup per wanted channel: scanning `tracked` for each one was quadratic, and with
        // 15,000 channels (the soak) it took a whole core every two seconds.
        let missing: Vec<String> = lock(&self.inner.wanted)
            .iter()
            .filter(|c| all || !tracked.contains(c.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() {
            return;
        }
        match self.inner.subscriber.subscribe(missing.clone()).await {
            Ok(()) => tracing::debug!(count = missing.len(), "Redis subscriptions restored"),
            Err(error) => tracing::warn!(%error, "restoring Redis subscriptions failed; retrying"),
        }
    }

    fn receive(&self, message: &fred::types::Message) {
        let Some(text) = message.value.as_str() else {
            return;
        };
        let incoming: Incoming = match serde_json::from_str(&text) {
            Ok(incoming) => incoming,
            Err(error) => {
                tracing::warn!(%error, channel = %message.channel, "undecodable bus message dropped");
                return;
            }
        };
        if incoming.origin == self.inner.origin {
            return;
        }
        let sink = lock(&self.inner.sink).clone();
        if let Some(sink) = sink {
            sink(incoming.topic, Arc::new(incoming.event));
        }
    }

    fn resync(&self) {
        let hook = lock(&self.inner.resync).clone();
        if let Some(hook) = hook {
            hook();
        }
    }
}

impl EventBus for RedisBus {
    fn attach(&self, sink: EventSink) {
        *lock(&self.inner.sink) = Some(sink);
    }

    fn on_resync(&self, hook: ResyncHook) {
        *lock(&self.inner.resync) = Some(hook);
    }

    async fn publish(&self, topic: Topic, event: BusEvent) -> Result<(), PortError> {
        let payload = serde_json::to_string(&Outgoing {
            origin: &self.inner.origin,
            topic,
            event: &event,
        })
        .map_err(PortError::unexpected)?;
        // Local sessions first: they never wait for Redis.
        let sink = lock(&self.inner.sink).clone();
        if let Some(sink) = sink {
            sink(topic, Arc::new(event));
        }
        let _receivers: i64 = self
            .inner
            .publisher
            .publish(self.channel(topic), payload)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn follow(&self, topic: Topic) -> Result<(), PortError> {
        let channel = self.channel(topic);
        lock(&self.inner.wanted).insert(channel.clone());
        self.inner
            .subscriber
            .subscribe(channel)
            .await
            .map_err(unavailable)
    }

    async fn unfollow(&self, topic: Topic) -> Result<(), PortError> {
        let channel = self.channel(topic);
        lock(&self.inner.wanted).remove(&channel);
        self.inner
            .subscriber
            .unsubscribe(channel)
            .await
            .map_err(unavailable)
    }
}
