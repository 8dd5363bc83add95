//! Readiness of the memory backend: always up.

use ports::{DependencyStatus, HealthProbe};

/// Reports `memory` as up; there is nothing that could be down.
#[derive(Debug, Clone, Default)]
pub struct MemoryHealth;

impl HealthProbe for MemoryHealth {
    async fn check(&self) -> Vec<DependencyStatus> {
        vec![DependencyStatus::up("memory")]
    }
}
