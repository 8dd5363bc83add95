//! Readiness: do the dependencies answer?

use ports::{DependencyStatus, HealthProbe};

use crate::ports::{Adapters, Ports};

/// Reports whether every dependency answers.
#[derive(Debug)]
pub struct HealthService<P: Ports> {
    adapters: Adapters<P>,
}

impl<P: Ports> Clone for HealthService<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
        }
    }
}

impl<P: Ports> HealthService<P> {
    /// A service over these adapters.
    pub fn new(adapters: Adapters<P>) -> Self {
        Self { adapters }
    }

    /// One status per dependency; ready when all are up.
    pub async fn readiness(&self) -> Vec<DependencyStatus> {
        self.adapters.health.check().await
    }
}
