//! Closing the rooms of completed jobs once their grace period is over.

use chrono::Utc;
use domain::chat::RoomState;
use ports::{ChatRepository, JobStore};

use super::JobService;
use crate::error::AppError;
use crate::ports::Ports;

/// Jobs handled per sweep.
const SWEEP_BATCH: usize = 100;

impl<P: Ports> JobService<P> {
    /// Makes the still-open rooms of jobs completed more than the grace period ago read-only
    /// (sessions get `room_updated`); returns how many jobs it closed. Safe to run on every
    /// instance at once: closing is idempotent.
    pub async fn close_due_rooms(&self) -> Result<usize, AppError> {
        let grace = chrono::Duration::from_std(self.settings.completed_room_grace)
            .unwrap_or(chrono::Duration::days(1));
        let due = self
            .adapters
            .jobs
            .rooms_to_close(Utc::now() - grace, SWEEP_BATCH)
            .await
            .map_err(AppError::from_port("job"))?;
        for job in &due {
            let rooms = self
                .adapters
                .chat
                .rooms_of_job(job.get())
                .await
                .map_err(AppError::from_port("room"))?;
            for room in rooms.into_iter().filter(|r| r.state == RoomState::Active) {
                self.chat
                    .set_room_state(room.id, RoomState::ReadOnly)
                    .await?;
            }
            self.adapters
                .jobs
                .rooms_closed(*job)
                .await
                .map_err(AppError::from_port("job"))?;
        }
        Ok(due.len())
    }

    /// How often [`JobService::close_due_rooms`] should run: a quarter of the grace period,
    /// between a second and a minute.
    pub fn sweep_interval(&self) -> std::time::Duration {
        (self.settings.completed_room_grace / 4).clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        )
    }
}
