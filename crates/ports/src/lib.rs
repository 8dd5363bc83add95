//! The ports of eclean-realtime: every trait the core needs from the outside world.
//!
//! Ports speak domain types only. Each method documents its error contract, and every adapter
//! (memory, PostgreSQL, Redis) honours the same contract; the contract-test suite in `tests/`
//! runs against all of them.
//!
//! Ports are `Clone + Send + Sync + 'static` and use native `async fn` with `Send` futures, so the
//! services in `app` are generic over them and dispatch statically.

pub mod attachments;
pub mod bus;
pub mod chat;
pub mod credentials;
pub mod error;
pub mod health;
pub mod jobs;
pub mod notifications;
pub mod presence;
pub mod users;

pub use attachments::AttachmentStore;
pub use bus::{BusEvent, EventBus, EventSink, ResyncHook, Topic};
pub use chat::{
    Appended, ChatRepository, HistoryCursor, HistoryPage, Membership, RoomCursor, RoomFilter,
    RoomPatch, UnreadCounts,
};
pub use credentials::{PasswordHasher, RefreshTokenStore, TokenCodec, TokenError};
pub use error::{BoxError, PortError};
pub use health::{DependencyStatus, HealthProbe};
pub use jobs::{
    AppliedChange, JobChange, JobStore, PlannedNote, PlannedNotification, PlannedRoom,
    RecordedEvent, RoomOutcome,
};
pub use notifications::{
    DeliveryJob, DeliveryOutcome, DeliveryPayload, DeliveryQueue, DeliveryRecord, DeliveryState,
    ExternalChannel, InboxFilter, NewDelivery, NotificationRepository, PlannedDelivery,
    PreferenceRepository, TemplateEngine, TemplateError, TemplateRepository,
};
pub use presence::{PresenceStore, Throttle};
pub use users::UserRepository;
