//! The process-local event bus: a published event goes straight to this instance's sink.

use std::sync::{Arc, Mutex};

use ports::{BusEvent, EventBus, EventSink, PortError, ResyncHook, Topic};

use crate::lock::lock;

/// Loops every event back to the local hub. Used whenever no Redis is configured.
#[derive(Clone, Default)]
pub struct LocalBus {
    sink: Arc<Mutex<Option<EventSink>>>,
}

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBus").finish_non_exhaustive()
    }
}

impl EventBus for LocalBus {
    fn attach(&self, sink: EventSink) {
        *lock(&self.sink) = Some(sink);
    }

    fn on_resync(&self, _hook: ResyncHook) {
        // Nothing is ever lost between a process and itself.
    }

    async fn publish(&self, topic: Topic, event: BusEvent) -> Result<(), PortError> {
        // Clone the sink out so the lock is not held while the hub dispatches.
        let sink = lock(&self.sink).clone();
        if let Some(sink) = sink {
            sink(topic, Arc::new(event));
        }
        Ok(())
    }

    async fn follow(&self, _topic: Topic) -> Result<(), PortError> {
        Ok(())
    }

    async fn unfollow(&self, _topic: Topic) -> Result<(), PortError> {
        Ok(())
    }
}
