//! Applying an event: decide (pure), plan (render notifications through templates and
//! preferences), apply (one transaction), announce (live sessions), fan out (job_created).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::auth::Principal;
use domain::chat::{ClientMsgId, RoomName};
use domain::job::rules::{Effects, FanOut};
use domain::job::{JobDenial, JobEvent, JobState, RoomEffect, decide};
use domain::notification::preferences::Decision;
use domain::notification::{ActionUrl, ObjectRef};
use domain::user::{ExternalUser, Role, User, UserId, Username};
use ports::{
    AppliedChange, BusEvent, EventBus, JobChange, JobStore, PlannedNote, PlannedRoom, PortError,
    RecordedEvent, Topic, UserRepository,
};
use serde_json::{Value, json};

use super::{EventInput, EventOutcome, JobService};
use crate::error::AppError;
use crate::notifications::{Audience, Notify};
use crate::ports::Ports;

/// Attempts when concurrent events for one job keep moving its version.
const ATTEMPTS: usize = 4;

fn denied(denial: JobDenial) -> AppError {
    match denial {
        JobDenial::MissingBid(_) | JobDenial::OwnJob => {
            AppError::invalid("bid.cleaner_id", denial.to_string())
        }
        other => AppError::conflict(other.code(), other.to_string()),
    }
}

impl<P: Ports> JobService<P> {
    /// Applies an event from the platform (service tokens) or an admin. A repeated `event_id`
    /// changes nothing (`applied: false`); a transition the state machine forbids is a conflict
    /// and changes nothing; otherwise every effect is stored at once and then announced.
    pub async fn report(
        &self,
        principal: &Principal,
        input: EventInput,
    ) -> Result<EventOutcome, AppError> {
        if !principal.may_report_job_events() {
            return Err(AppError::forbidden(
                "not_allowed",
                "only the platform (a service token) and admins report job events",
            ));
        }
        let event = input.parse()?;
        for _ in 0..ATTEMPTS {
            if let Some(recorded) = self
                .adapters
                .jobs
                .event(&event.id)
                .await
                .map_err(AppError::from_port("event"))?
            {
                return self.repeated(&event, &recorded).await;
            }
            let before = self
                .adapters
                .jobs
                .get(event.job.id)
                .await
                .map_err(AppError::from_port("job"))?;
            let now = Utc::now();
            let effects = decide(before.as_ref(), &event, now).map_err(denied)?;
            let users = self.ensure_users(&event, &effects).await?;
            let (change, decisions) = self
                .plan(&event, before.as_ref(), &effects, &users, now)
                .await?;
            let stored_notifications = change.notifications.len() as u64;
            match self.adapters.jobs.apply(change).await {
                Ok(applied) => {
                    self.announce(&effects, applied, decisions).await;
                    let fanned = match &effects.fan_out {
                        Some(fan_out) => self.start_fan_out(&event, fan_out).await?,
                        None => 0,
                    };
                    tracing::info!(event = %event.id, kind = %event.kind, job = %event.job.id, status = %effects.job.status, "job event applied");
                    return Ok(EventOutcome {
                        applied: true,
                        job: effects.job,
                        notifications: stored_notifications + fanned,
                    });
                }
                // Another request applied this event or moved the job: look again.
                Err(PortError::Conflict("event" | "job_version" | "job_exists" | "dedupe")) => {}
                Err(error) => return Err(AppError::from_port("job")(error)),
            }
        }
        Err(AppError::conflict(
            "job_busy",
            "the job kept changing while this event was applied; post it again",
        ))
    }

    async fn repeated(
        &self,
        event: &JobEvent,
        recorded: &RecordedEvent,
    ) -> Result<EventOutcome, AppError> {
        if recorded.kind != event.kind || recorded.job != event.job.id {
            return Err(AppError::conflict(
                "event_id_reused",
                format!(
                    "event {} was applied as {} of job {}",
                    event.id, recorded.kind, recorded.job
                ),
            ));
        }
        let job = self
            .adapters
            .jobs
            .get(recorded.job)
            .await
            .map_err(AppError::from_port("job"))?
            .ok_or(AppError::NotFound("job"))?
            .job;
        Ok(EventOutcome {
            applied: false,
            job,
            notifications: recorded.notifications,
        })
    }

    /// Everyone the event touches exists here afterwards: a platform user never seen before is
    /// created with a placeholder name (`user-<id>`) until a token of theirs brings the real one.
    async fn ensure_users(
        &self,
        event: &JobEvent,
        effects: &Effects,
    ) -> Result<HashMap<UserId, User>, AppError> {
        let client = event.job.client;
        let mut ids = vec![client];
        ids.extend(event.job.cleaner);
        ids.extend(event.bid.map(|b| b.cleaner));
        ids.extend(effects.notices.iter().map(|n| n.recipient));
        ids.extend(effects.bids.iter().map(|b| b.cleaner));
        ids.extend(event.actor);
        ids.sort_unstable();
        ids.dedup();
        let found = self
            .adapters
            .users
            .get_many(&ids)
            .await
            .map_err(AppError::from_port("user"))?;
        let mut users: HashMap<UserId, User> = found.into_iter().map(|u| (u.id, u)).collect();
        for id in ids {
            if users.contains_key(&id) || Some(id) == event.actor {
                continue;
            }
            let role = if id == client {
                Role::Client
            } else {
                Role::Cleaner
            };
            let user = self.placeholder_user(id, role).await?;
            users.insert(id, user);
        }
        Ok(users)
    }

    async fn placeholder_user(&self, id: UserId, role: Role) -> Result<User, AppError> {
        for name in [format!("user-{id}"), format!("user-{id}-platform")] {
            let username =
                Username::parse(&name).map_err(|e| AppError::Unexpected(e.to_string().into()))?;
            match self
                .adapters
                .users
                .ensure_external(ExternalUser {
                    id,
                    username,
                    email: None,
                    role,
                })
                .await
            {
                Ok(user) => return Ok(user),
                Err(PortError::Conflict(_)) => {}
                Err(e) => return Err(AppError::from_port("user")(e)),
            }
        }
        Err(AppError::conflict(
            "user_unavailable",
            format!("user {id} cannot be created here: its placeholder names are taken"),
        ))
    }

    /// The transaction's content, and for each notification the preference decision that says
    /// how to announce it.
    async fn plan(
        &self,
        event: &JobEvent,
        before: Option<&JobState>,
        effects: &Effects,
        users: &HashMap<UserId, User>,
        now: DateTime<Utc>,
    ) -> Result<(JobChange, Vec<Decision>), AppError> {
        let job = &effects.job;
        let name_of = |id: Option<UserId>, key: &str| -> String {
            event
                .data_text(key)
                .or_else(|| id.and_then(|id| users.get(&id)).map(User::display_name))
                .unwrap_or_default()
        };
        let client_name = name_of(Some(job.client), "client_name");
        let room_name = RoomName::parse(&format!("Job #{}: {}", job.id, job.title))
            .or_else(|_| RoomName::parse(&format!("Job #{}", job.id)))
            .map_err(|e| AppError::Unexpected(e.to_string().into()))?;
        let rooms = effects
            .rooms
            .iter()
            .map(|effect| match *effect {
                RoomEffect::Open { cleaner } => PlannedRoom::Open {
                    cleaner,
                    name: room_name.clone(),
                },
                RoomEffect::ReadOnly { cleaner } => PlannedRoom::ReadOnly { cleaner },
                RoomEffect::Remove { cleaner } => PlannedRoom::Remove { cleaner },
            })
            .collect();
        let mut notifications = Vec::new();
        let mut decisions = Vec::new();
        for notice in &effects.notices {
            let Some(recipient) = users.get(&notice.recipient).filter(|u| u.is_active) else {
                continue;
            };
            let mut context = notice.context.clone();
            let named_cleaner = notice
                .context
                .get("cleaner_id")
                .and_then(Value::as_i64)
                .and_then(|raw| UserId::new(raw).ok())
                .or(job.cleaner);
            context.insert("client_name".into(), json!(client_name));
            context.insert(
                "cleaner_name".into(),
                json!(name_of(named_cleaner, "cleaner_name")),
            );
            let mut request = Notify::new(recipient.id, notice.kind, context);
            request.sender = event.actor.filter(|a| users.contains_key(a));
            request.priority = Some(notice.priority);
            request.object = ObjectRef::new("job", job.id.get()).ok();
            request.action_url = ActionUrl::parse(&notice.action_url).ok();
            request.metadata = json!({"job_id": job.id.get(), "event": event.kind.as_str(), "status": job.status.as_str()})
                .as_object()
                .cloned()
                .unwrap_or_default();
            request.dedupe_key = Some(format!("job-event:{}", event.id));
            let (planned, decision) = self.notifications.plan(&request, recipient).await?;
            notifications.push(planned);
            decisions.push(decision);
        }
        let mut notes = Vec::with_capacity(effects.notes.len());
        for (i, note) in effects.notes.iter().enumerate() {
            let key = ClientMsgId::parse(&format!("job:{}:v{}:{i}", job.id, job.version))
                .map_err(|e| AppError::Unexpected(e.to_string().into()))?;
            notes.push(PlannedNote {
                cleaner: note.cleaner,
                text: note.text.clone(),
                key,
            });
        }
        let change = JobChange {
            event: RecordedEvent {
                id: event.id.clone(),
                kind: event.kind,
                job: job.id,
                applied_at: now,
                notifications: notifications.len() as u64,
            },
            expected_version: before.map(|s| s.job.version),
            job: job.clone(),
            bids: effects.bids.clone(),
            rooms,
            notifications,
            notes,
        };
        Ok((change, decisions))
    }

    /// After the commit: room changes, system messages, notifications and `job_updated`, to
    /// whoever is connected. Storage holds all of it already; a lost announcement is a late one.
    async fn announce(&self, effects: &Effects, applied: AppliedChange, decisions: Vec<Decision>) {
        for outcome in applied.rooms.into_iter().filter(|o| o.changed) {
            self.chat
                .announce_room(&outcome.room, outcome.added, outcome.removed)
                .await;
        }
        for message in applied.messages {
            self.chat.announce_message(message).await;
        }
        for ((stored, created), decision) in applied.notifications.into_iter().zip(decisions) {
            if created {
                self.notifications.push_live(&stored, decision).await;
            }
        }
        let after = JobState {
            job: effects.job.clone(),
            bids: effects.bids.clone(),
        };
        for user in after.participants() {
            let event = BusEvent::JobUpdated {
                job: effects.job.clone(),
            };
            if let Err(error) = self.adapters.bus.publish(Topic::User(user), event).await {
                tracing::warn!(%error, "publishing job_updated failed");
            }
        }
    }

    /// Starts the background fan-out of `job_created`; returns how many it targets.
    async fn start_fan_out(&self, event: &JobEvent, fan_out: &FanOut) -> Result<u64, AppError> {
        let (audience, total) = match &fan_out.targets {
            Some(ids) => (
                Audience::Users(ids.iter().map(|id| id.get()).collect()),
                ids.len() as u64,
            ),
            None => (
                Audience::Role(Some(Role::Cleaner)),
                self.adapters
                    .users
                    .count_active(Some(Role::Cleaner))
                    .await
                    .map_err(AppError::from_port("user"))?,
            ),
        };
        let notice = &fan_out.notice;
        let mut template = Notify::new(notice.recipient, notice.kind, notice.context.clone());
        template.priority = Some(notice.priority);
        template.object = ObjectRef::new("job", event.job.id.get()).ok();
        template.action_url = ActionUrl::parse(&notice.action_url).ok();
        template.dedupe_key = Some(format!("job-event:{}", event.id));
        let id = format!("job-event-{}", uuid::Uuid::new_v4().simple());
        self.notifications.begin_fan_out(&id, total);
        let service = self.clone();
        let event_id = event.id.clone();
        tokio::spawn(async move {
            let progress = service.notifications.fan_out(&id, audience, template).await;
            if let Err(error) = service
                .adapters
                .jobs
                .count_notifications(&event_id, progress.stored)
                .await
            {
                tracing::warn!(%error, event = %event_id, "recording the fan-out count failed");
            }
        });
        Ok(total)
    }
}
