//! The job projection in memory, and the all-or-nothing application of an event across jobs,
//! chat, inboxes and the delivery queue.
//!
//! The four stores keep their own locks. Applying an event takes all four (always in the order
//! jobs → chat → inbox → queue; every other operation takes one), works on copies, and swaps the
//! copies in only when every step succeeded — so a failure anywhere leaves no trace. Copying is
//! proportional to the data held, which suits the memory backend's scale (a laptop, a test).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::chat::{
    JobRoomKey, MessageBody, MessageKind, NewMessage, NewRoom, ParticipantRole, RoomKind,
    RoomState, Visibility,
};
use domain::job::{EventId, JobId, JobState, JobStatus};
use ports::{
    AppliedChange, JobChange, JobStore, PlannedRoom, PortError, RecordedEvent, RoomOutcome,
};

use crate::chat::State as ChatState;
use crate::lock::lock;
use crate::notifications::{Inbox, Queue};
use crate::{MemoryChat, MemoryDeliveries, MemoryNotifications};

#[derive(Debug, Clone)]
struct Row {
    state: JobState,
    rooms_closed: bool,
}

#[derive(Debug, Clone, Default)]
struct Jobs {
    jobs: BTreeMap<JobId, Row>,
    events: HashMap<EventId, RecordedEvent>,
}

/// Jobs, bids and applied events, applied together with the chat and notification stores they
/// share state with.
#[derive(Debug, Clone)]
pub struct MemoryJobs {
    state: Arc<Mutex<Jobs>>,
    chat: MemoryChat,
    notifications: MemoryNotifications,
    deliveries: MemoryDeliveries,
    fail_after_notifications: Arc<AtomicBool>,
}

impl MemoryJobs {
    /// A projection writing into these stores.
    pub fn new(
        chat: MemoryChat,
        notifications: MemoryNotifications,
        deliveries: MemoryDeliveries,
    ) -> Self {
        Self {
            state: Arc::default(),
            chat,
            notifications,
            deliveries,
            fail_after_notifications: Arc::default(),
        }
    }

    /// Fault injection for tests: the next [`JobStore::apply`] fails right after writing its
    /// notifications, as a database error would. The memory backend has no I/O that can fail,
    /// so the all-or-nothing contract is proven through this.
    pub fn fail_next_apply_after_notifications(&self) {
        self.fail_after_notifications.store(true, Ordering::SeqCst);
    }
}

struct Stores<'a> {
    jobs: &'a mut Jobs,
    chat: &'a mut ChatState,
    inbox: &'a mut Inbox,
    queue: &'a mut Queue,
}

impl MemoryJobs {
    fn apply_to(&self, s: Stores<'_>, change: JobChange) -> Result<AppliedChange, PortError> {
        let now = Utc::now();
        if s.jobs.events.contains_key(&change.event.id) {
            return Err(PortError::Conflict("event"));
        }
        let id = change.job.id;
        match (change.expected_version, s.jobs.jobs.get(&id)) {
            (None, Some(_)) => return Err(PortError::Conflict("job_exists")),
            (Some(_), None) => return Err(PortError::NotFound),
            (Some(expected), Some(row)) if row.state.job.version != expected => {
                return Err(PortError::Conflict("job_version"));
            }
            _ => {}
        }
        let client = change.job.client;
        let rooms_closed = s.jobs.jobs.get(&id).is_some_and(|r| r.rooms_closed);
        s.jobs.jobs.insert(
            id,
            Row {
                state: JobState {
                    job: change.job,
                    bids: change.bids,
                },
                rooms_closed,
            },
        );

        let mut rooms = Vec::new();
        for planned in change.rooms {
            if let Some(outcome) = room_change(s.chat, id, client, planned)? {
                rooms.push(outcome);
            }
        }

        let mut notifications = Vec::with_capacity(change.notifications.len());
        for planned in change.notifications {
            let (stored, created) = s.inbox.insert(planned.notification, now)?;
            if created {
                s.queue.push(
                    planned
                        .deliveries
                        .iter()
                        .map(|d| d.for_notification(&stored))
                        .collect(),
                );
            }
            notifications.push((stored, created));
        }
        if self.fail_after_notifications.swap(false, Ordering::SeqCst) {
            return Err(PortError::unexpected(
                "injected failure after the notifications were written",
            ));
        }

        let mut messages = Vec::with_capacity(change.notes.len());
        for note in change.notes {
            let Some(room) = s.chat.job_room_of(id.get(), note.cleaner) else {
                continue;
            };
            let appended = s.chat.append(NewMessage {
                room_id: room.id,
                sender: None,
                kind: MessageKind::JobUpdate,
                content: MessageBody::system(note.text),
                attachment: None,
                reply_to: None,
                client_msg_id: Some(note.key),
            })?;
            messages.push(appended.message);
        }
        s.jobs.events.insert(change.event.id.clone(), change.event);
        Ok(AppliedChange {
            rooms,
            notifications,
            messages,
        })
    }
}

fn room_change(
    chat: &mut ChatState,
    job: JobId,
    client: domain::user::UserId,
    planned: PlannedRoom,
) -> Result<Option<RoomOutcome>, PortError> {
    match planned {
        PlannedRoom::Open { cleaner, name } => {
            let (room, created) = chat.job_room(
                NewRoom {
                    kind: RoomKind::Job,
                    name,
                    visibility: Visibility::Private,
                    job: Some(JobRoomKey {
                        job_id: job.get(),
                        cleaner,
                    }),
                    created_by: None,
                },
                vec![
                    (client, ParticipantRole::Member),
                    (cleaner, ParticipantRole::Member),
                ],
            )?;
            if created {
                return Ok(Some(RoomOutcome {
                    room,
                    changed: true,
                    added: vec![client, cleaner],
                    removed: Vec::new(),
                }));
            }
            let mut added = Vec::new();
            for user in [client, cleaner] {
                if chat.ensure_member(room.id, user)? {
                    added.push(user);
                }
            }
            let reopened = room.state != RoomState::Active;
            let room = if reopened {
                chat.set_state(room.id, RoomState::Active)?
            } else {
                room
            };
            Ok(Some(RoomOutcome {
                room,
                changed: reopened || !added.is_empty(),
                added,
                removed: Vec::new(),
            }))
        }
        PlannedRoom::ReadOnly { cleaner } | PlannedRoom::Remove { cleaner } => {
            let Some(room) = chat.job_room_of(job.get(), cleaner) else {
                return Ok(None);
            };
            let mut removed = Vec::new();
            if matches!(planned, PlannedRoom::Remove { .. })
                && chat.remove_member(room.id, cleaner).is_ok()
            {
                removed.push(cleaner);
            }
            let closing = room.state == RoomState::Active;
            let room = if closing {
                chat.set_state(room.id, RoomState::ReadOnly)?
            } else {
                room
            };
            Ok(Some(RoomOutcome {
                room,
                changed: closing || !removed.is_empty(),
                added: Vec::new(),
                removed,
            }))
        }
    }
}

impl JobStore for MemoryJobs {
    async fn get(&self, id: JobId) -> Result<Option<JobState>, PortError> {
        Ok(lock(&self.state).jobs.get(&id).map(|r| r.state.clone()))
    }

    async fn event(&self, id: &EventId) -> Result<Option<RecordedEvent>, PortError> {
        Ok(lock(&self.state).events.get(id).cloned())
    }

    async fn apply(&self, change: JobChange) -> Result<AppliedChange, PortError> {
        let mut jobs = lock(&self.state);
        let mut chat = lock(&self.chat.state);
        let mut inbox = lock(&self.notifications.inbox);
        let mut queue = lock(&self.deliveries.queue);
        let (mut jobs_copy, mut chat_copy, mut inbox_copy, mut queue_copy) =
            (jobs.clone(), chat.clone(), inbox.clone(), queue.clone());
        let applied = self.apply_to(
            Stores {
                jobs: &mut jobs_copy,
                chat: &mut chat_copy,
                inbox: &mut inbox_copy,
                queue: &mut queue_copy,
            },
            change,
        )?;
        *jobs = jobs_copy;
        *chat = chat_copy;
        *inbox = inbox_copy;
        *queue = queue_copy;
        Ok(applied)
    }

    async fn count_notifications(&self, id: &EventId, added: u64) -> Result<(), PortError> {
        let mut state = lock(&self.state);
        let event = state.events.get_mut(id).ok_or(PortError::NotFound)?;
        event.notifications += added;
        Ok(())
    }

    async fn rooms_to_close(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<JobId>, PortError> {
        Ok(lock(&self.state)
            .jobs
            .values()
            .filter(|r| {
                !r.rooms_closed
                    && r.state.job.status == JobStatus::Completed
                    && r.state.job.completed_at.is_some_and(|at| at <= before)
            })
            .take(limit)
            .map(|r| r.state.job.id)
            .collect())
    }

    async fn rooms_closed(&self, id: JobId) -> Result<(), PortError> {
        let mut state = lock(&self.state);
        let row = state.jobs.get_mut(&id).ok_or(PortError::NotFound)?;
        row.rooms_closed = true;
        Ok(())
    }
}
