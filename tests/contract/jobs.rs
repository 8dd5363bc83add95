//! The job store: the projection, idempotent events, optimistic versions, and the
//! all-or-nothing application of an event's effects across chat, inboxes and the queue.

use chrono::Utc;
use domain::chat::{ClientMsgId, RoomName, RoomState};
use domain::job::{Bid, BidStatus, EventId, Job, JobEventKind, JobId, JobStatus};
use domain::notification::preferences::Channel;
use domain::notification::{NewNotification, NotificationType, Priority};
use domain::password::PasswordHash;
use domain::user::{Email, NewUser, PersonName, Role, UserId, Username};
use ports::{
    ChatRepository, DeliveryQueue, JobChange, JobStore, NotificationRepository, PlannedDelivery,
    PlannedNote, PlannedNotification, PlannedRoom, PortError, RecordedEvent, UserRepository,
};

/// Makes the next apply fail after its notifications are written (each adapter has its own way).
#[allow(async_fn_in_trait)]
pub trait FailureInjection {
    /// Arms the failure.
    async fn arm(&self);
}

/// What every job-store contract test gets.
pub struct Stores<U, C, N, Q, J, F> {
    pub users: U,
    pub chat: C,
    pub inbox: N,
    pub queue: Q,
    pub jobs: J,
    pub faults: F,
}

/// The marker a PostgreSQL trigger fails on (the memory store is armed directly).
pub const FAIL_MARKER: &str = "inject-failure";

async fn people(repo: &impl UserRepository) -> (UserId, UserId, UserId) {
    let mut ids = Vec::new();
    for (i, role) in [Role::Client, Role::Cleaner, Role::Cleaner]
        .iter()
        .enumerate()
    {
        let user = repo
            .create(
                NewUser {
                    username: Username::parse(&format!("j{i}")).unwrap(),
                    email: Email::parse(&format!("j{i}@example.com")).unwrap(),
                    first_name: PersonName::default(),
                    last_name: PersonName::default(),
                    role: *role,
                },
                PasswordHash::from_phc("x".into()),
            )
            .await
            .unwrap();
        ids.push(user.id);
    }
    (ids[0], ids[1], ids[2])
}

fn job(client: UserId, cleaner: Option<UserId>, status: JobStatus, version: i64) -> Job {
    Job {
        id: JobId::new(77).unwrap(),
        client,
        cleaner,
        status,
        title: "Windows".into(),
        city: None,
        scheduled_at: None,
        version,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        completed_at: None,
    }
}

fn event(id: &str, kind: JobEventKind) -> RecordedEvent {
    RecordedEvent {
        id: EventId::parse(id).unwrap(),
        kind,
        job: JobId::new(77).unwrap(),
        applied_at: Utc::now(),
        notifications: 1,
    }
}

fn notice(recipient: UserId, key: &str) -> PlannedNotification {
    PlannedNotification {
        notification: NewNotification {
            recipient,
            sender: None,
            kind: NotificationType::BidReceived,
            title: "New bid".into(),
            message: "A bid".into(),
            priority: Priority::Medium,
            object: None,
            action_url: None,
            metadata: serde_json::Map::new(),
            expires_at: None,
            dedupe_key: Some(key.to_owned()),
            silent: false,
        },
        deliveries: vec![PlannedDelivery {
            channel: Channel::Push,
            not_before: Utc::now(),
            email: None,
        }],
    }
}

fn created(client: UserId) -> JobChange {
    JobChange {
        event: event("e-created", JobEventKind::JobCreated),
        expected_version: None,
        job: job(client, None, JobStatus::OpenForBids, 1),
        bids: Vec::new(),
        rooms: Vec::new(),
        notifications: Vec::new(),
        notes: Vec::new(),
    }
}

fn bid_placed(client: UserId, cleaner: UserId, text: &str) -> JobChange {
    JobChange {
        event: event("e-bid", JobEventKind::BidPlaced),
        expected_version: Some(1),
        job: job(client, None, JobStatus::OpenForBids, 2),
        bids: vec![Bid {
            job: JobId::new(77).unwrap(),
            cleaner,
            status: BidStatus::Pending,
        }],
        rooms: vec![PlannedRoom::Open {
            cleaner,
            name: RoomName::parse("Job #77").unwrap(),
        }],
        notifications: vec![notice(client, "job-event:e-bid")],
        notes: vec![PlannedNote {
            cleaner,
            text: text.to_owned(),
            key: ClientMsgId::parse("job:77:v2:0").unwrap(),
        }],
    }
}

pub async fn an_event_applies_everything_once<U, C, N, Q, J, F>(s: Stores<U, C, N, Q, J, F>)
where
    U: UserRepository,
    C: ChatRepository,
    N: NotificationRepository,
    Q: DeliveryQueue,
    J: JobStore,
    F: FailureInjection,
{
    let (client, anna, _) = people(&s.users).await;
    let id = JobId::new(77).unwrap();
    assert_eq!(s.jobs.get(id).await.unwrap(), None);
    s.jobs.apply(created(client)).await.unwrap();
    assert!(matches!(
        s.jobs.apply(created(client)).await,
        Err(PortError::Conflict("event"))
    ));
    let mut again = created(client);
    again.event = event("e-created-2", JobEventKind::JobCreated);
    assert!(matches!(
        s.jobs.apply(again).await,
        Err(PortError::Conflict("job_exists"))
    ));

    let applied = s
        .jobs
        .apply(bid_placed(client, anna, "Bid placed."))
        .await
        .unwrap();
    let state = s.jobs.get(id).await.unwrap().unwrap();
    assert_eq!(
        (state.job.version, state.job.status),
        (2, JobStatus::OpenForBids)
    );
    assert_eq!(state.bids.len(), 1);
    assert_eq!(applied.rooms.len(), 1);
    let room = &applied.rooms[0];
    assert!(room.changed);
    assert_eq!(room.added.len(), 2);
    assert_eq!(room.room.job.map(|k| k.cleaner), Some(anna));
    assert!(
        s.chat
            .participant(room.room.id, client)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.chat
            .participant(room.room.id, anna)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(applied.notifications.len(), 1);
    assert!(applied.notifications[0].1, "stored now");
    assert_eq!(s.inbox.unread_count(client, Utc::now()).await.unwrap(), 1);
    let deliveries = s
        .queue
        .of_notification(applied.notifications[0].0.id)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(applied.messages.len(), 1);
    assert_eq!(applied.messages[0].content, "Bid placed.");
    let recorded = s
        .jobs
        .event(&EventId::parse("e-bid").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (recorded.kind, recorded.job, recorded.notifications),
        (JobEventKind::BidPlaced, id, 1)
    );
    s.jobs.count_notifications(&recorded.id, 4).await.unwrap();
    assert_eq!(
        s.jobs
            .event(&recorded.id)
            .await
            .unwrap()
            .unwrap()
            .notifications,
        5
    );

    // A stale version (another event won) changes nothing.
    let mut stale = bid_placed(client, anna, "stale");
    stale.event = event("e-stale", JobEventKind::BidPlaced);
    assert!(matches!(
        s.jobs.apply(stale).await,
        Err(PortError::Conflict("job_version"))
    ));
    assert_eq!(s.jobs.get(id).await.unwrap().unwrap().job.version, 2);
    assert!(
        s.jobs
            .event(&EventId::parse("e-stale").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // Closing and removing.
    let close = JobChange {
        event: event("e-reassign", JobEventKind::BidAccepted),
        expected_version: Some(2),
        job: job(client, None, JobStatus::OpenForBids, 3),
        bids: Vec::new(),
        rooms: vec![
            PlannedRoom::Remove { cleaner: anna },
            PlannedRoom::ReadOnly {
                cleaner: UserId::new(999_999).unwrap(),
            },
        ],
        notifications: Vec::new(),
        notes: Vec::new(),
    };
    let applied = s.jobs.apply(close).await.unwrap();
    assert_eq!(
        applied.rooms.len(),
        1,
        "a room that does not exist is skipped"
    );
    assert_eq!(applied.rooms[0].removed, [anna]);
    assert_eq!(applied.rooms[0].room.state, RoomState::ReadOnly);
    assert!(
        s.chat
            .participant(room.room.id, anna)
            .await
            .unwrap()
            .is_none()
    );
    // Opening again brings the cleaner back and reactivates the room.
    let reopen = JobChange {
        event: event("e-reopen", JobEventKind::BidAccepted),
        expected_version: Some(3),
        job: job(client, Some(anna), JobStatus::BidAccepted, 4),
        bids: Vec::new(),
        rooms: vec![PlannedRoom::Open {
            cleaner: anna,
            name: RoomName::parse("Job #77").unwrap(),
        }],
        notifications: Vec::new(),
        notes: Vec::new(),
    };
    let applied = s.jobs.apply(reopen).await.unwrap();
    assert_eq!(
        (applied.rooms[0].room.id, applied.rooms[0].room.state),
        (room.room.id, RoomState::Active)
    );
    assert_eq!(applied.rooms[0].added, [anna]);
}
contract!(an_event_applies_everything_once, jobs);

pub async fn a_failure_after_the_notifications_leaves_no_trace<U, C, N, Q, J, F>(
    s: Stores<U, C, N, Q, J, F>,
) where
    U: UserRepository,
    C: ChatRepository,
    N: NotificationRepository,
    Q: DeliveryQueue,
    J: JobStore,
    F: FailureInjection,
{
    let (client, anna, _) = people(&s.users).await;
    let id = JobId::new(77).unwrap();
    s.jobs.apply(created(client)).await.unwrap();
    s.faults.arm().await;
    let failing = bid_placed(client, anna, &format!("Bid placed. {FAIL_MARKER}"));
    assert!(s.jobs.apply(failing).await.is_err());
    // No trace: not the job change, the bid, the room, the notification, its delivery, the
    // message or the event record.
    let state = s.jobs.get(id).await.unwrap().unwrap();
    assert_eq!((state.job.version, state.bids.len()), (1, 0));
    assert!(s.chat.rooms_of_job(77).await.unwrap().is_empty());
    assert_eq!(s.inbox.unread_count(client, Utc::now()).await.unwrap(), 0);
    assert_eq!(
        s.inbox.head_seq(client).await.unwrap().get(),
        0,
        "the inbox head did not move"
    );
    assert!(
        s.queue
            .claim(Utc::now(), 10, chrono::Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.jobs
            .event(&EventId::parse("e-bid").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // And the event applies cleanly afterwards.
    let applied = s
        .jobs
        .apply(bid_placed(client, anna, "Bid placed."))
        .await
        .unwrap();
    assert_eq!(applied.notifications[0].0.seq.get(), 1);
    assert_eq!(s.jobs.get(id).await.unwrap().unwrap().job.version, 2);
}
contract!(a_failure_after_the_notifications_leaves_no_trace, jobs);

pub async fn completed_jobs_are_found_until_their_rooms_close<U, C, N, Q, J, F>(
    s: Stores<U, C, N, Q, J, F>,
) where
    U: UserRepository,
    C: ChatRepository,
    N: NotificationRepository,
    Q: DeliveryQueue,
    J: JobStore,
    F: FailureInjection,
{
    let (client, anna, _) = people(&s.users).await;
    s.jobs.apply(created(client)).await.unwrap();
    let mut done = job(client, Some(anna), JobStatus::Completed, 2);
    let completed_at = Utc::now() - chrono::Duration::hours(2);
    done.completed_at = Some(completed_at);
    s.jobs
        .apply(JobChange {
            event: event("e-done", JobEventKind::JobCompleted),
            expected_version: Some(1),
            job: done,
            bids: Vec::new(),
            rooms: Vec::new(),
            notifications: Vec::new(),
            notes: Vec::new(),
        })
        .await
        .unwrap();
    let id = JobId::new(77).unwrap();
    assert!(
        s.jobs
            .rooms_to_close(completed_at - chrono::Duration::minutes(1), 10)
            .await
            .unwrap()
            .is_empty(),
        "not yet due"
    );
    assert_eq!(s.jobs.rooms_to_close(Utc::now(), 10).await.unwrap(), [id]);
    s.jobs.rooms_closed(id).await.unwrap();
    assert!(
        s.jobs
            .rooms_to_close(Utc::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
contract!(completed_jobs_are_found_until_their_rooms_close, jobs);
