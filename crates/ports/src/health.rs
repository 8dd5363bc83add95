//! Readiness probes of the dependencies.

use std::future::Future;

/// The state of one dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyStatus {
    /// `postgres`, `redis` or `memory`.
    pub name: &'static str,
    /// `None` when it answered, the reason otherwise.
    pub error: Option<String>,
}

impl DependencyStatus {
    /// A dependency that answered.
    pub fn up(name: &'static str) -> Self {
        Self { name, error: None }
    }

    /// A dependency that did not answer, and why.
    pub fn down(name: &'static str, error: impl Into<String>) -> Self {
        Self {
            name,
            error: Some(error.into()),
        }
    }

    /// True when it answered.
    pub fn is_up(&self) -> bool {
        self.error.is_none()
    }
}

/// Asks dependencies whether they answer. Never errors: a failure is a `down` status.
/// Implementations bound the time they wait.
pub trait HealthProbe: Clone + Send + Sync + 'static {
    /// One status per dependency this probe covers.
    fn check(&self) -> impl Future<Output = Vec<DependencyStatus>> + Send;
}

/// Two probes side by side report both.
impl<A: HealthProbe, B: HealthProbe> HealthProbe for (A, B) {
    async fn check(&self) -> Vec<DependencyStatus> {
        let (mut first, second) = futures_util::future::join(self.0.check(), self.1.check()).await;
        first.extend(second);
        first
    }
}
