//! Job lifecycle events from the platform: validated, decided by the pure rules of
//! `domain::job::rules`, applied with every effect in one transaction, then announced to live
//! sessions. Also the job's read model for its participants, and the closing of finished jobs'
//! rooms after a grace period.

mod input;
mod report;
mod rooms;

use std::time::Duration;

use domain::auth::Principal;
use domain::chat::Room;
use domain::job::{Job, JobId, JobState};
use ports::{ChatRepository, JobStore};

use crate::chat::ChatService;
use crate::error::AppError;
use crate::notifications::NotificationService;
use crate::ports::{Adapters, Ports};

pub use input::{BidInput, EventInput, JobInput};

/// Limits of the job service.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// How long a completed job's rooms stay open (for last words) before turning read-only.
    pub completed_room_grace: Duration,
}

/// What posting an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutcome {
    /// False when the event id had been applied before (nothing changed now).
    pub applied: bool,
    /// The job as it is now.
    pub job: Job,
    /// Notifications the event produced (with a fan-out, those it is producing).
    pub notifications: u64,
}

/// A job as one of its participants sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    /// The job and its bids (the caller's own bid only, unless they are the client or an admin).
    pub state: JobState,
    /// The job's rooms the caller belongs to.
    pub rooms: Vec<Room>,
}

/// The job service.
pub struct JobService<P: Ports> {
    adapters: Adapters<P>,
    chat: ChatService<P>,
    notifications: NotificationService<P>,
    settings: JobSettings,
}

impl<P: Ports> Clone for JobService<P> {
    fn clone(&self) -> Self {
        Self {
            adapters: self.adapters.clone(),
            chat: self.chat.clone(),
            notifications: self.notifications.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<P: Ports> std::fmt::Debug for JobService<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<P: Ports> JobService<P> {
    /// A service announcing through these chat and notification services.
    pub fn new(
        adapters: Adapters<P>,
        chat: ChatService<P>,
        notifications: NotificationService<P>,
        settings: JobSettings,
    ) -> Self {
        Self {
            adapters,
            chat,
            notifications,
            settings,
        }
    }

    /// The job, for its participants (client, assigned cleaner, bidders still in play), admins
    /// and the platform; anyone else gets `NotFound`, as for an unknown job. A cleaner sees only
    /// their own bid.
    pub async fn job(&self, caller: &Principal, id: i64) -> Result<JobView, AppError> {
        let id = JobId::new(id).map_err(|_| AppError::NotFound("job"))?;
        let Some(mut state) = self
            .adapters
            .jobs
            .get(id)
            .await
            .map_err(AppError::from_port("job"))?
        else {
            return Err(AppError::NotFound("job"));
        };
        // The platform (a service token) and admins see everything, rooms excepted.
        let Some(actor) = caller.user().filter(|u| !u.is_admin()) else {
            return Ok(JobView {
                state,
                rooms: Vec::new(),
            });
        };
        if state.job.client != actor.id {
            if !state.is_participant(actor.id) {
                return Err(AppError::NotFound("job"));
            }
            state.bids.retain(|b| b.cleaner == actor.id);
        }
        let mut rooms = Vec::new();
        for room in self
            .adapters
            .chat
            .rooms_of_job(id.get())
            .await
            .map_err(AppError::from_port("room"))?
        {
            let member = self
                .adapters
                .chat
                .participant(room.id, actor.id)
                .await
                .map_err(AppError::from_port("room"))?
                .is_some();
            if member {
                rooms.push(room);
            }
        }
        Ok(JobView { state, rooms })
    }
}
