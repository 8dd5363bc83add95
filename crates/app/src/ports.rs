//! The bundle of adapter types the services run on.

use ports::{
    AttachmentStore, ChatRepository, DeliveryQueue, EventBus, ExternalChannel, HealthProbe,
    JobStore, NotificationRepository, PasswordHasher, PreferenceRepository, PresenceStore,
    RefreshTokenStore, TemplateEngine, TemplateRepository, Throttle, TokenCodec, UserRepository,
};

/// Names the concrete adapter for every port. The binary implements it twice: once for the
/// memory adapters, once for PostgreSQL + Redis.
pub trait Ports: Send + Sync + 'static {
    /// User accounts.
    type Users: UserRepository;
    /// Password hashing.
    type Hasher: PasswordHasher;
    /// JWT signing and verification.
    type Tokens: TokenCodec;
    /// Used refresh tokens.
    type RefreshTokens: RefreshTokenStore;
    /// Readiness of the dependencies.
    type Health: HealthProbe;
    /// Rooms, participants and messages.
    type Chat: ChatRepository;
    /// The event bus between instances.
    type Bus: EventBus;
    /// Uploaded files.
    type Attachments: AttachmentStore;
    /// Notification inboxes.
    type Notifications: NotificationRepository;
    /// Notification preferences.
    type Preferences: PreferenceRepository;
    /// Notification templates.
    type Templates: TemplateRepository;
    /// The template engine.
    type Engine: TemplateEngine;
    /// The queue of external deliveries.
    type Deliveries: DeliveryQueue;
    /// E-mail and push.
    type Channels: ExternalChannel;
    /// The job projection (applied together with chat and notifications).
    type Jobs: JobStore;
    /// Live sessions across instances.
    type Presence: PresenceStore;
    /// Shared throttles and rate limits.
    type Throttle: Throttle;
}

/// One instance of every adapter.
pub struct Adapters<P: Ports> {
    /// User accounts.
    pub users: P::Users,
    /// Password hashing.
    pub hasher: P::Hasher,
    /// JWT signing and verification.
    pub tokens: P::Tokens,
    /// Used refresh tokens.
    pub refresh_tokens: P::RefreshTokens,
    /// Readiness of the dependencies.
    pub health: P::Health,
    /// Rooms, participants and messages.
    pub chat: P::Chat,
    /// The event bus between instances.
    pub bus: P::Bus,
    /// Uploaded files.
    pub attachments: P::Attachments,
    /// Notification inboxes.
    pub notifications: P::Notifications,
    /// Notification preferences.
    pub preferences: P::Preferences,
    /// Notification templates.
    pub templates: P::Templates,
    /// The template engine.
    pub engine: P::Engine,
    /// The queue of external deliveries.
    pub deliveries: P::Deliveries,
    /// E-mail and push.
    pub channels: P::Channels,
    /// The job projection.
    pub jobs: P::Jobs,
    /// Live sessions across instances.
    pub presence: P::Presence,
    /// Shared throttles and rate limits.
    pub throttle: P::Throttle,
}

impl<P: Ports> Clone for Adapters<P> {
    fn clone(&self) -> Self {
        Self {
            users: self.users.clone(),
            hasher: self.hasher.clone(),
            tokens: self.tokens.clone(),
            refresh_tokens: self.refresh_tokens.clone(),
            health: self.health.clone(),
            chat: self.chat.clone(),
            bus: self.bus.clone(),
            attachments: self.attachments.clone(),
            notifications: self.notifications.clone(),
            preferences: self.preferences.clone(),
            templates: self.templates.clone(),
            engine: self.engine.clone(),
            deliveries: self.deliveries.clone(),
            channels: self.channels.clone(),
            jobs: self.jobs.clone(),
            presence: self.presence.clone(),
            throttle: self.throttle.clone(),
        }
    }
}

impl<P: Ports> std::fmt::Debug for Adapters<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapters").finish_non_exhaustive()
    }
}
