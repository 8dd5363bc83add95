//! The use cases of eclean-realtime, generic over the ports, and the transport-agnostic session hub.
//!
//! Services take their adapters through one [`Ports`] bundle so the binary picks concrete types
//! once (memory, or PostgreSQL + Redis) and everything below dispatches statically.

pub mod accounts;
pub mod authenticator;
pub mod chat;
pub mod delivery;
pub mod error;
pub mod health;
pub mod jobs;
pub mod message_alerts;
pub mod notifications;
pub mod ports;
pub mod realtime;

use std::sync::Arc;

pub use accounts::{AccountService, AuthSettings, RegisterInput, TokenPair};
pub use authenticator::Authenticator;
pub use chat::{
    ChatService, ChatSettings, CreateRoom, RoomDetails, RoomPage, SendMessage, UpdateRoom,
};
pub use delivery::{DeliverySettings, DeliveryWorker};
pub use error::{AppError, AuthFailure};
pub use health::HealthService;
pub use jobs::{BidInput, EventInput, EventOutcome, JobInput, JobService, JobSettings, JobView};
pub use message_alerts::{MessageAlerts, RoomWatchers};
pub use notifications::{
    Audience, BroadcastProgress, NotificationService, NotificationSettings, Notify,
    PreferencesInput, SendInput, TemplateInput,
};
pub use ports::{Adapters, Ports};
pub use realtime::{Hub, HubSettings, PresenceService};

/// Settings of every service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Tokens and accounts.
    pub auth: AuthSettings,
    /// Chat limits.
    pub chat: ChatSettings,
    /// Live-session fan-out.
    pub hub: HubSettings,
    /// Notifications.
    pub notifications: NotificationSettings,
    /// Job events.
    pub jobs: JobSettings,
}

/// Every service of the application, built once by the binary and shared by the gateways.
///
/// One allocation behind an `Arc`: every live session holds a handle, and the services by value
/// are about 10 KiB (each keeps its own adapter handles and settings). Cloned by value into the
/// connection task and its session, they were most of the 83 KiB that an idle session cost
/// (docs/benchmarks.md, "Memory per session").
pub struct Services<P: Ports>(Arc<ServiceSet<P>>);

/// The services themselves; reached through [`Services`] by `Deref`.
#[derive(Debug)]
pub struct ServiceSet<P: Ports> {
    /// Registration, login, refresh and admin bootstrap.
    pub accounts: AccountService<P>,
    /// Turns a bearer token into a principal.
    pub authenticator: Authenticator<P>,
    /// Readiness of the dependencies.
    pub health: HealthService<P>,
    /// Rooms and messages.
    pub chat: ChatService<P>,
    /// Inboxes, preferences, templates.
    pub notifications: NotificationService<P>,
    /// Job events and the job read model.
    pub jobs: JobService<P>,
    /// Live sessions of this instance.
    pub hub: Hub<P::Bus>,
    /// Who is online, across instances.
    pub presence: PresenceService<P>,
}

impl<P: Ports> Clone for Services<P> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<P: Ports> std::fmt::Debug for Services<P>
where
    ServiceSet<P>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<P: Ports> std::ops::Deref for Services<P> {
    type Target = ServiceSet<P>;

    fn deref(&self) -> &ServiceSet<P> {
        &self.0
    }
}

impl<P: Ports> Services<P> {
    /// Builds every service over the same adapters; the hub attaches itself to the bus.
    pub fn new(adapters: Adapters<P>, settings: Settings) -> Self {
        let presence = PresenceService::new(
            adapters.clone(),
            settings.hub.presence_ttl,
            settings.hub.max_sessions_per_user,
        );
        let hub = Hub::new(adapters.bus.clone(), settings.hub);
        let notifications = NotificationService::new(adapters.clone(), settings.notifications);
        let alerts = MessageAlerts::new(
            adapters.clone(),
            notifications.clone(),
            Arc::new(hub.clone()),
            settings.chat.alert_max_members,
        );
        let chat = ChatService::new(adapters.clone(), settings.chat).with_alerts(alerts);
        Self(Arc::new(ServiceSet {
            accounts: AccountService::new(adapters.clone(), settings.auth),
            authenticator: Authenticator::new(adapters.clone()),
            health: HealthService::new(adapters.clone()),
            jobs: JobService::new(
                adapters.clone(),
                chat.clone(),
                notifications.clone(),
                settings.jobs,
            ),
            chat,
            notifications,
            hub,
            presence,
        }))
    }
}
