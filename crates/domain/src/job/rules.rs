//! The job-event rules of DESIGN §5 as one pure function: the job before, the event → the job
//! after, and every effect (notifications, system messages, room changes). The application
//! applies the whole result in one transaction, or nothing.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Bid, BidStatus, Job, JobEvent, JobEventKind, JobId, JobState, JobStatus};
use crate::notification::{NotificationType, Priority};
use crate::user::UserId;

/// Why an event cannot be applied (409, nothing changes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobDenial {
    /// Only `job_created` may introduce a job.
    #[error("job {0} is unknown here; post its job_created event first")]
    UnknownJob(JobId),
    /// `job_created` for a job that exists.
    #[error("job {0} already exists")]
    JobExists(JobId),
    /// The state machine forbids it.
    #[error("{event} is not allowed while the job is {from}")]
    Transition {
        /// The job's status.
        from: JobStatus,
        /// The event.
        event: JobEventKind,
    },
    /// A bid event without a bid (or cleaner) to act on.
    #[error("{0} needs bid.cleaner_id")]
    MissingBid(JobEventKind),
    /// The cleaner already has a bid in play.
    #[error("this cleaner already has a pending bid on the job")]
    BidExists,
    /// A bid from the job's own client.
    #[error("the client cannot bid on their own job")]
    OwnJob,
    /// The event needs an assigned cleaner and the job has none.
    #[error("{0} needs an assigned cleaner")]
    NoCleaner(JobEventKind),
    /// The snapshot disagrees with the projection.
    #[error("the event says {field} is {given}, but here it is {known}")]
    Mismatch {
        /// Which field.
        field: &'static str,
        /// What the event says.
        given: String,
        /// What the projection says (after the event).
        known: String,
    },
}

impl JobDenial {
    /// The error code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            JobDenial::UnknownJob(_) => "unknown_job",
            JobDenial::JobExists(_) => "job_exists",
            JobDenial::Transition { .. } => "invalid_transition",
            JobDenial::MissingBid(_) => "missing_bid",
            JobDenial::BidExists => "bid_exists",
            JobDenial::OwnJob => "own_job",
            JobDenial::NoCleaner(_) => "no_cleaner",
            JobDenial::Mismatch { .. } => "snapshot_mismatch",
        }
    }
}

/// A notification to store, rendered later through the type's template.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Who.
    pub recipient: UserId,
    /// Type.
    pub kind: NotificationType,
    /// Priority.
    pub priority: Priority,
    /// Where it leads.
    pub action_url: String,
    /// Template variables (the job's fields and the event's extras; names are added by the
    /// application).
    pub context: Map<String, Value>,
}

/// A `job_update` message the server writes into a job room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemNote {
    /// The room: the job's room with this cleaner.
    pub cleaner: UserId,
    /// The text.
    pub text: String,
}

/// A change to a job room (the room of the job with `cleaner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomEffect {
    /// The room exists (created if needed) and is open for messages.
    Open {
        /// The bidder or assigned cleaner.
        cleaner: UserId,
    },
    /// Nobody may post any more; history stays readable.
    ReadOnly {
        /// Whose room.
        cleaner: UserId,
    },
    /// The cleaner leaves the room (reassignment): they lose access; the room turns read-only.
    Remove {
        /// Whose room.
        cleaner: UserId,
    },
}

/// Notifications to fan out after the event is stored (too many for its transaction).
#[derive(Debug, Clone, PartialEq)]
pub struct FanOut {
    /// These users, or every active cleaner when `None`.
    pub targets: Option<Vec<UserId>>,
    /// What each one gets (its `recipient` is a placeholder).
    pub notice: Notice,
}

/// Everything an event changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Effects {
    /// The job after the event.
    pub job: Job,
    /// Every bid after the event.
    pub bids: Vec<Bid>,
    /// Notifications, stored with the event.
    pub notices: Vec<Notice>,
    /// System messages, stored with the event.
    pub notes: Vec<SystemNote>,
    /// Room changes, applied with the event.
    pub rooms: Vec<RoomEffect>,
    /// Background notifications (job_created).
    pub fan_out: Option<FanOut>,
}

/// The template variables every job notification gets.
pub fn job_context(job: &Job) -> Map<String, Value> {
    let mut context = Map::new();
    context.insert("job_id".into(), json!(job.id.get()));
    context.insert("job_title".into(), json!(job.title));
    context.insert("city".into(), json!(job.city.clone().unwrap_or_default()));
    context.insert(
        "scheduled_at".into(),
        json!(
            job.scheduled_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        ),
    );
    context
}

fn job_url(id: JobId) -> String {
    format!("/jobs/{id}/")
}

fn review_url(id: JobId) -> String {
    format!("/jobs/{id}/review/")
}

struct Builder {
    effects: Effects,
}

impl Builder {
    fn notify(&mut self, recipient: UserId, kind: NotificationType, priority: Priority) {
        let url = job_url(self.effects.job.id);
        self.notify_with(recipient, kind, priority, url, Map::new());
    }

    fn notify_with(
        &mut self,
        recipient: UserId,
        kind: NotificationType,
        priority: Priority,
        action_url: String,
        extra: Map<String, Value>,
    ) {
        let mut context = job_context(&self.effects.job);
        context.extend(extra);
        self.effects.notices.push(Notice {
            recipient,
            kind,
            priority,
            action_url,
            context,
        });
    }

    fn note(&mut self, cleaner: UserId, text: impl Into<String>) {
        self.effects.notes.push(SystemNote {
            cleaner,
            text: text.into(),
        });
    }

    fn set_bid(&mut self, cleaner: UserId, status: BidStatus) {
        let job = self.effects.job.id;
        match self.effects.bids.iter_mut().find(|b| b.cleaner == cleaner) {
            Some(bid) => bid.status = status,
            None => self.effects.bids.push(Bid {
                job,
                cleaner,
                status,
            }),
        }
    }

    fn pending_bidders(&self) -> Vec<UserId> {
        self.effects
            .bids
            .iter()
            .filter(|b| b.status == BidStatus::Pending)
            .map(|b| b.cleaner)
            .collect()
    }
}

fn transition(from: JobStatus, event: JobEventKind) -> JobDenial {
    JobDenial::Transition { from, event }
}

/// Decides what `event` does to `state` (`None`: the job is unknown here), at `now`.
pub fn decide(
    state: Option<&JobState>,
    event: &JobEvent,
    now: DateTime<Utc>,
) -> Result<Effects, JobDenial> {
    let snapshot = &event.job;
    let Some(state) = state else {
        return if event.kind == JobEventKind::JobCreated {
            created(event, now)
        } else {
            Err(JobDenial::UnknownJob(snapshot.id))
        };
    };
    if event.kind == JobEventKind::JobCreated {
        return Err(JobDenial::JobExists(snapshot.id));
    }
    if snapshot.client != state.job.client {
        return Err(JobDenial::Mismatch {
            field: "job.client_id",
            given: snapshot.client.to_string(),
            known: state.job.client.to_string(),
        });
    }
    let mut job = state.job.clone();
    job.version += 1;
    job.updated_at = now;
    if let Some(title) = snapshot.title.as_deref().filter(|t| !t.trim().is_empty()) {
        job.title = title.trim().to_owned();
    }
    if snapshot.city.is_some() {
        job.city.clone_from(&snapshot.city);
    }
    if snapshot.scheduled_at.is_some() {
        job.scheduled_at = snapshot.scheduled_at;
    }
    let mut b = Builder {
        effects: Effects {
            job,
            bids: state.bids.clone(),
            notices: Vec::new(),
            notes: Vec::new(),
            rooms: Vec::new(),
            fan_out: None,
        },
    };
    let from = state.job.status;
    let client = state.job.client;
    match event.kind {
        JobEventKind::JobCreated => return Err(JobDenial::JobExists(snapshot.id)),
        JobEventKind::BidPlaced => {
            if from != JobStatus::OpenForBids {
                return Err(transition(from, event.kind));
            }
            let cleaner = event
                .bid
                .map(|bid| bid.cleaner)
                .ok_or(JobDenial::MissingBid(event.kind))?;
            if cleaner == client {
                return Err(JobDenial::OwnJob);
            }
            if state
                .bid_of(cleaner)
                .is_some_and(|bid| bid.status == BidStatus::Pending)
            {
                return Err(JobDenial::BidExists);
            }
            b.set_bid(cleaner, BidStatus::Pending);
            b.effects.rooms.push(RoomEffect::Open { cleaner });
            let extra = cleaner_ref(cleaner);
            b.notify_with(
                client,
                NotificationType::BidReceived,
                Priority::Medium,
                job_url(state.job.id),
                extra,
            );
        }
        JobEventKind::BidAccepted => {
            let winner = event
                .bid
                .map(|bid| bid.cleaner)
                .or(snapshot.cleaner)
                .ok_or(JobDenial::MissingBid(event.kind))?;
            if let (Some(bid), Some(named)) = (event.bid, snapshot.cleaner)
                && bid.cleaner != named
            {
                return Err(JobDenial::Mismatch {
                    field: "job.cleaner_id",
                    given: named.to_string(),
                    known: bid.cleaner.to_string(),
                });
            }
            if winner == client {
                return Err(JobDenial::OwnJob);
            }
            let previous = state.job.cleaner;
            let reassigning = matches!(
                from,
                JobStatus::BidAccepted | JobStatus::Confirmed | JobStatus::ReadyToStart
            ) && previous.is_some_and(|p| p != winner);
            if from != JobStatus::OpenForBids && !reassigning {
                return Err(transition(from, event.kind));
            }
            b.effects.job.status = JobStatus::BidAccepted;
            b.effects.job.cleaner = Some(winner);
            let losers: Vec<UserId> = b
                .pending_bidders()
                .into_iter()
                .filter(|c| *c != winner)
                .collect();
            b.set_bid(winner, BidStatus::Accepted);
            b.effects.rooms.push(RoomEffect::Open { cleaner: winner });
            b.notify(winner, NotificationType::BidAccepted, Priority::High);
            b.note(winner, "The client accepted this bid.");
            for loser in losers {
                b.set_bid(loser, BidStatus::Rejected);
                b.effects
                    .rooms
                    .push(RoomEffect::ReadOnly { cleaner: loser });
                b.notify(loser, NotificationType::BidRejected, Priority::Low);
            }
            if let Some(previous) = previous.filter(|_| reassigning) {
                b.set_bid(previous, BidStatus::Rejected);
                b.note(previous, "This job was reassigned to another cleaner.");
                b.effects
                    .rooms
                    .push(RoomEffect::Remove { cleaner: previous });
                let mut extra = Map::new();
                extra.insert("reason".into(), json!("The job was reassigned."));
                b.notify_with(
                    previous,
                    NotificationType::BidRejected,
                    Priority::Low,
                    job_url(state.job.id),
                    extra,
                );
            }
        }
        JobEventKind::JobConfirmed
        | JobEventKind::JobReady
        | JobEventKind::JobStarted
        | JobEventKind::JobFinished
        | JobEventKind::JobCompleted
        | JobEventKind::CompletionRejected => {
            let cleaner = state.job.cleaner.ok_or(JobDenial::NoCleaner(event.kind))?;
            let (allowed, to): (&[JobStatus], JobStatus) = match event.kind {
                JobEventKind::JobConfirmed => (&[JobStatus::BidAccepted], JobStatus::Confirmed),
                JobEventKind::JobReady => (&[JobStatus::Confirmed], JobStatus::ReadyToStart),
                JobEventKind::JobStarted => (
                    &[JobStatus::Confirmed, JobStatus::ReadyToStart],
                    JobStatus::InProgress,
                ),
                JobEventKind::JobFinished => (&[JobStatus::InProgress], JobStatus::AwaitingReview),
                JobEventKind::JobCompleted => (&[JobStatus::AwaitingReview], JobStatus::Completed),
                _ => (&[JobStatus::AwaitingReview], JobStatus::InProgress),
            };
            if !allowed.contains(&from) {
                return Err(transition(from, event.kind));
            }
            b.effects.job.status = to;
            let id = state.job.id;
            match event.kind {
                JobEventKind::JobConfirmed => {
                    b.notify(client, NotificationType::JobConfirmed, Priority::High);
                    b.note(cleaner, "The cleaner confirmed the job.");
                }
                JobEventKind::JobReady => {
                    b.notify(client, NotificationType::JobReady, Priority::Medium);
                    b.note(cleaner, "The cleaner is ready to start.");
                }
                JobEventKind::JobStarted => {
                    b.notify(client, NotificationType::JobStarted, Priority::High);
                    b.note(cleaner, "Work has started.");
                }
                JobEventKind::JobFinished => {
                    b.notify_with(
                        client,
                        NotificationType::JobFinished,
                        Priority::High,
                        review_url(id),
                        Map::new(),
                    );
                    b.note(
                        cleaner,
                        "The cleaner finished. Waiting for the client's review.",
                    );
                }
                JobEventKind::JobCompleted => {
                    b.effects.job.completed_at = Some(now);
                    let mut for_cleaner = Map::new();
                    for_cleaner.insert("for_client".into(), json!(false));
                    b.notify_with(
                        cleaner,
                        NotificationType::JobCompleted,
                        Priority::Medium,
                        job_url(id),
                        for_cleaner,
                    );
                    let mut for_client = Map::new();
                    for_client.insert("for_client".into(), json!(true));
                    b.notify_with(
                        client,
                        NotificationType::JobCompleted,
                        Priority::High,
                        review_url(id),
                        for_client,
                    );
                    b.note(
                        cleaner,
                        "The client accepted the work. The job is complete.",
                    );
                }
                _ => {
                    let reason = event
                        .data_text("reason")
                        .unwrap_or_else(|| "no reason given".to_owned());
                    let mut extra = Map::new();
                    extra.insert("reason".into(), json!(reason));
                    b.notify_with(
                        cleaner,
                        NotificationType::JobRejected,
                        Priority::Urgent,
                        job_url(id),
                        extra,
                    );
                    b.note(cleaner, format!("The client asked for changes: {reason}"));
                }
            }
        }
        JobEventKind::JobCancelled => {
            if from.is_terminal() {
                return Err(transition(from, event.kind));
            }
            b.effects.job.status = JobStatus::Cancelled;
            let reason = event.data_text("reason");
            let pending = b.pending_bidders();
            let mut told: Vec<UserId> = Vec::new();
            // Rooms still in play: the assigned cleaner's and the pending bidders'. Losing
            // bidders' rooms are read-only already and hear nothing more.
            let rooms: Vec<UserId> = state
                .job
                .cleaner
                .into_iter()
                .chain(pending.iter().copied())
                .collect();
            for cleaner in &pending {
                b.set_bid(*cleaner, BidStatus::Rejected);
            }
            let mut audience = vec![client];
            audience.extend(state.job.cleaner);
            audience.extend(pending);
            for user in audience {
                if Some(user) == event.actor || told.contains(&user) {
                    continue;
                }
                told.push(user);
                let mut extra = Map::new();
                extra.insert("reason".into(), json!(reason.clone().unwrap_or_default()));
                b.notify_with(
                    user,
                    NotificationType::JobCancelled,
                    Priority::High,
                    "/jobs/".to_owned(),
                    extra,
                );
            }
            let text = match &reason {
                Some(reason) => format!("This job was cancelled: {reason}"),
                None => "This job was cancelled.".to_owned(),
            };
            let mut seen: Vec<UserId> = Vec::new();
            for cleaner in rooms {
                if seen.contains(&cleaner) {
                    continue;
                }
                seen.push(cleaner);
                b.note(cleaner, text.clone());
                b.effects.rooms.push(RoomEffect::ReadOnly { cleaner });
            }
        }
        JobEventKind::PaymentReceived => {
            let cleaner = state.job.cleaner.ok_or(JobDenial::NoCleaner(event.kind))?;
            let mut extra = Map::new();
            extra.insert(
                "amount".into(),
                json!(event.data_text("amount").unwrap_or_default()),
            );
            b.notify_with(
                cleaner,
                NotificationType::PaymentReceived,
                Priority::Medium,
                job_url(state.job.id),
                extra,
            );
        }
    }
    check_snapshot(event, &b.effects.job)?;
    Ok(b.effects)
}

fn cleaner_ref(cleaner: UserId) -> Map<String, Value> {
    let mut extra = Map::new();
    extra.insert("cleaner_id".into(), json!(cleaner.get()));
    extra
}

fn created(event: &JobEvent, now: DateTime<Utc>) -> Result<Effects, JobDenial> {
    let snapshot = &event.job;
    let job = Job {
        id: snapshot.id,
        client: snapshot.client,
        cleaner: None,
        status: JobStatus::OpenForBids,
        title: snapshot
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map_or_else(|| format!("Job #{}", snapshot.id), str::to_owned),
        city: snapshot.city.clone(),
        scheduled_at: snapshot.scheduled_at,
        version: 1,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    if let Some(cleaner) = snapshot.cleaner {
        return Err(JobDenial::Mismatch {
            field: "job.cleaner_id",
            given: cleaner.to_string(),
            known: "none (a new job has no cleaner)".to_owned(),
        });
    }
    check_snapshot(event, &job)?;
    let targets = event.notify.as_ref().map(|ids| {
        let mut ids: Vec<UserId> = ids
            .iter()
            .copied()
            .filter(|id| *id != snapshot.client)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    });
    let notice = Notice {
        recipient: snapshot.client,
        kind: NotificationType::JobCreated,
        priority: Priority::Medium,
        action_url: job_url(job.id),
        context: job_context(&job),
    };
    Ok(Effects {
        job,
        bids: Vec::new(),
        notices: Vec::new(),
        notes: Vec::new(),
        rooms: Vec::new(),
        fan_out: Some(FanOut { targets, notice }),
    })
}

/// The platform's status and cleaner, when sent, must be what the rules arrive at.
fn check_snapshot(event: &JobEvent, after: &Job) -> Result<(), JobDenial> {
    if let Some(status) = event.job.status
        && status != after.status
    {
        return Err(JobDenial::Mismatch {
            field: "job.status",
            given: status.to_string(),
            known: after.status.to_string(),
        });
    }
    if let Some(cleaner) = event.job.cleaner
        && Some(cleaner) != after.cleaner
    {
        return Err(JobDenial::Mismatch {
            field: "job.cleaner_id",
            given: cleaner.to_string(),
            known: after
                .cleaner
                .map_or_else(|| "none".to_owned(), |c| c.to_string()),
        });
    }
    Ok(())
}
