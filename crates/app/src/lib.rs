//! The use cases of eclean-realtime, generic over the ports, and the transport-agnostic session hub.
//!
//! Services take their adapters through one [`Ports`] bundle so the binary picks concrete types
//! once (memory, or PostgreSQL + Redis) and everything below dispatches statically.

pub mod accounts;
pub mod authenticator;
pub mod error;
pub mod health;
pub mod ports;

pub use accounts::{AccountService, AuthSettings, RegisterInput, TokenPair};
pub use authenticator::Authenticator;
pub use error::{AppError, AuthFailure};
pub use health::HealthService;
pub use ports::{Adapters, Ports};

/// Every service of the application, built once by the binary and shared by the gateways.
#[derive(Debug)]
pub struct Services<P: Ports> {
    /// Registration, login, refresh and admin bootstrap.
    pub accounts: AccountService<P>,
    /// Turns a bearer token into a principal.
    pub authenticator: Authenticator<P>,
    /// Readiness of the dependencies.
    pub health: HealthService<P>,
}

impl<P: Ports> Clone for Services<P> {
    fn clone(&self) -> Self {
        Self {
            accounts: self.accounts.clone(),
            authenticator: self.authenticator.clone(),
            health: self.health.clone(),
        }
    }
}

impl<P: Ports> Services<P> {
    /// Builds every service over the same adapters.
    pub fn new(adapters: Adapters<P>, auth: AuthSettings) -> Self {
        Self {
            accounts: AccountService::new(adapters.clone(), auth),
            authenticator: Authenticator::new(adapters.clone()),
            health: HealthService::new(adapters),
        }
    }
}
