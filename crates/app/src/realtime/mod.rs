//! Live sessions: the hub that fans events out to them, and the per-session protocol logic.

mod early;
pub mod frames;
pub mod hub;
pub mod presence;
pub mod rate;
pub mod reconcile;
pub mod session;

pub use frames::{ClientFrame, ClientRequest, FrameEncoder, Outbound, ServerFrame};
pub use hub::{
    Delivery, Hub, HubSettings, Registration, SessionControl, SessionId, TooManySessions,
};
pub use presence::PresenceService;
pub use rate::{RateLimiter, RateSettings, Verdict};
pub use reconcile::{Pass, Reconciler};
pub use session::{Session, SessionSettings};
