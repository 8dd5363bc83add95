//! The job-event rules, row by row.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, json};

use super::*;
use crate::notification::{NotificationType as T, Priority as P};

const CLIENT: i64 = 3;
const ANNA: i64 = 9;
const BEN: i64 = 10;
const CARL: i64 = 11;

fn uid(raw: i64) -> UserId {
    UserId::new(raw).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn event(kind: JobEventKind) -> JobEvent {
    JobEvent {
        id: EventId::parse(&format!("ev-{}", kind.as_str())).unwrap(),
        kind,
        occurred_at: None,
        actor: None,
        job: JobSnapshot {
            id: JobId::new(5).unwrap(),
            client: uid(CLIENT),
            cleaner: None,
            status: None,
            title: Some("Kitchen".into()),
            city: Some("Athens".into()),
            scheduled_at: None,
        },
        bid: None,
        notify: None,
        data: Map::new(),
    }
}

fn bid_event(kind: JobEventKind, cleaner: i64) -> JobEvent {
    let mut e = event(kind);
    e.bid = Some(BidSnapshot {
        cleaner: uid(cleaner),
        status: None,
    });
    e
}

fn state(status: JobStatus, cleaner: Option<i64>, bids: &[(i64, BidStatus)]) -> JobState {
    let job = Job {
        id: JobId::new(5).unwrap(),
        client: uid(CLIENT),
        cleaner: cleaner.map(uid),
        status,
        title: "Kitchen".into(),
        city: Some("Athens".into()),
        scheduled_at: None,
        version: 4,
        created_at: now(),
        updated_at: now(),
        completed_at: None,
    };
    JobState {
        bids: bids
            .iter()
            .map(|(c, s)| Bid {
                job: job.id,
                cleaner: uid(*c),
                status: *s,
            })
            .collect(),
        job,
    }
}

fn notices(effects: &Effects) -> Vec<(i64, T, P)> {
    effects
        .notices
        .iter()
        .map(|n| (n.recipient.get(), n.kind, n.priority))
        .collect()
}

fn notes(effects: &Effects) -> Vec<(i64, &str)> {
    effects
        .notes
        .iter()
        .map(|n| (n.cleaner.get(), n.text.as_str()))
        .collect()
}

#[test]
fn job_created_introduces_the_job_and_fans_out_in_the_background() {
    let effects = decide(None, &event(JobEventKind::JobCreated), now()).unwrap();
    assert_eq!(effects.job.status, JobStatus::OpenForBids);
    assert_eq!((effects.job.version, effects.job.cleaner), (1, None));
    assert_eq!(effects.job.title, "Kitchen");
    assert!(effects.notices.is_empty(), "nothing inside the request");
    let fan_out = effects.fan_out.unwrap();
    assert_eq!(fan_out.targets, None, "every active cleaner");
    assert_eq!(
        (fan_out.notice.kind, fan_out.notice.priority),
        (T::JobCreated, P::Medium)
    );
    assert_eq!(fan_out.notice.context["city"], "Athens");

    let mut targeted = event(JobEventKind::JobCreated);
    targeted.notify = Some(vec![uid(BEN), uid(ANNA), uid(BEN), uid(CLIENT)]);
    let fan_out = decide(None, &targeted, now()).unwrap().fan_out.unwrap();
    assert_eq!(
        fan_out.targets,
        Some(vec![uid(ANNA), uid(BEN)]),
        "deduplicated, never the client"
    );

    let mut untitled = event(JobEventKind::JobCreated);
    untitled.job.title = Some("  ".into());
    assert_eq!(decide(None, &untitled, now()).unwrap().job.title, "Job #5");

    let existing = state(JobStatus::OpenForBids, None, &[]);
    assert_eq!(
        decide(Some(&existing), &event(JobEventKind::JobCreated), now()),
        Err(JobDenial::JobExists(JobId::new(5).unwrap()))
    );
    let mut assigned = event(JobEventKind::JobCreated);
    assigned.job.cleaner = Some(uid(ANNA));
    assert_eq!(
        decide(None, &assigned, now()).unwrap_err().code(),
        "snapshot_mismatch"
    );
}

#[test]
fn only_job_created_may_introduce_a_job() {
    for kind in JobEventKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != JobEventKind::JobCreated)
    {
        assert_eq!(
            decide(None, &bid_event(kind, ANNA), now()),
            Err(JobDenial::UnknownJob(JobId::new(5).unwrap())),
            "{kind}"
        );
    }
}

#[test]
fn a_bid_tells_the_client_and_opens_their_room_with_the_bidder() {
    let open = state(JobStatus::OpenForBids, None, &[]);
    let effects = decide(
        Some(&open),
        &bid_event(JobEventKind::BidPlaced, ANNA),
        now(),
    )
    .unwrap();
    assert_eq!(notices(&effects), [(CLIENT, T::BidReceived, P::Medium)]);
    assert_eq!(effects.rooms, [RoomEffect::Open { cleaner: uid(ANNA) }]);
    assert_eq!(
        effects.bids,
        [Bid {
            job: open.job.id,
            cleaner: uid(ANNA),
            status: BidStatus::Pending
        }]
    );
    assert_eq!(
        (effects.job.status, effects.job.version),
        (JobStatus::OpenForBids, 5)
    );
    assert_eq!(effects.notices[0].context["cleaner_id"], ANNA);

    let bidding = state(JobStatus::OpenForBids, None, &[(ANNA, BidStatus::Pending)]);
    assert_eq!(
        decide(
            Some(&bidding),
            &bid_event(JobEventKind::BidPlaced, ANNA),
            now()
        ),
        Err(JobDenial::BidExists)
    );
    let withdrawn = state(
        JobStatus::OpenForBids,
        None,
        &[(ANNA, BidStatus::Withdrawn)],
    );
    assert!(
        decide(
            Some(&withdrawn),
            &bid_event(JobEventKind::BidPlaced, ANNA),
            now()
        )
        .is_ok(),
        "a withdrawn bidder may bid again"
    );
    assert_eq!(
        decide(
            Some(&open),
            &bid_event(JobEventKind::BidPlaced, CLIENT),
            now()
        ),
        Err(JobDenial::OwnJob)
    );
    assert_eq!(
        decide(Some(&open), &event(JobEventKind::BidPlaced), now()),
        Err(JobDenial::MissingBid(JobEventKind::BidPlaced))
    );
    let taken = state(JobStatus::BidAccepted, Some(ANNA), &[]);
    assert_eq!(
        decide(
            Some(&taken),
            &bid_event(JobEventKind::BidPlaced, BEN),
            now()
        )
        .unwrap_err()
        .code(),
        "invalid_transition"
    );
}

#[test]
fn accepting_a_bid_tells_the_winner_and_closes_the_losers_rooms() {
    let bidding = state(
        JobStatus::OpenForBids,
        None,
        &[
            (ANNA, BidStatus::Pending),
            (BEN, BidStatus::Pending),
            (CARL, BidStatus::Withdrawn),
        ],
    );
    let effects = decide(
        Some(&bidding),
        &bid_event(JobEventKind::BidAccepted, ANNA),
        now(),
    )
    .unwrap();
    assert_eq!(
        (effects.job.status, effects.job.cleaner),
        (JobStatus::BidAccepted, Some(uid(ANNA)))
    );
    assert_eq!(
        notices(&effects),
        [
            (ANNA, T::BidAccepted, P::High),
            (BEN, T::BidRejected, P::Low)
        ],
        "not the withdrawn bidder"
    );
    assert_eq!(
        effects.rooms,
        [
            RoomEffect::Open { cleaner: uid(ANNA) },
            RoomEffect::ReadOnly { cleaner: uid(BEN) }
        ]
    );
    assert_eq!(notes(&effects), [(ANNA, "The client accepted this bid.")]);
    let status = |c: i64| {
        effects
            .bids
            .iter()
            .find(|b| b.cleaner == uid(c))
            .unwrap()
            .status
    };
    assert_eq!(
        (status(ANNA), status(BEN), status(CARL)),
        (
            BidStatus::Accepted,
            BidStatus::Rejected,
            BidStatus::Withdrawn
        )
    );

    // The winner may come only from the job snapshot, but the two must agree.
    let mut by_job = event(JobEventKind::BidAccepted);
    by_job.job.cleaner = Some(uid(BEN));
    assert_eq!(
        decide(Some(&bidding), &by_job, now()).unwrap().job.cleaner,
        Some(uid(BEN))
    );
    let mut disagree = bid_event(JobEventKind::BidAccepted, ANNA);
    disagree.job.cleaner = Some(uid(BEN));
    assert_eq!(
        decide(Some(&bidding), &disagree, now()).unwrap_err().code(),
        "snapshot_mismatch"
    );
    assert_eq!(
        decide(Some(&bidding), &event(JobEventKind::BidAccepted), now()),
        Err(JobDenial::MissingBid(JobEventKind::BidAccepted))
    );
}

#[test]
fn reassigning_moves_room_access_to_the_new_cleaner() {
    for from in [
        JobStatus::BidAccepted,
        JobStatus::Confirmed,
        JobStatus::ReadyToStart,
    ] {
        let assigned = state(
            from,
            Some(ANNA),
            &[(ANNA, BidStatus::Accepted), (BEN, BidStatus::Rejected)],
        );
        let effects = decide(
            Some(&assigned),
            &bid_event(JobEventKind::BidAccepted, BEN),
            now(),
        )
        .unwrap();
        assert_eq!(
            (effects.job.status, effects.job.cleaner),
            (JobStatus::BidAccepted, Some(uid(BEN))),
            "{from}"
        );
        assert_eq!(
            effects.rooms,
            [
                RoomEffect::Open { cleaner: uid(BEN) },
                RoomEffect::Remove { cleaner: uid(ANNA) }
            ]
        );
        assert_eq!(
            notices(&effects),
            [
                (BEN, T::BidAccepted, P::High),
                (ANNA, T::BidRejected, P::Low)
            ]
        );
        assert_eq!(
            notes(&effects),
            [
                (BEN, "The client accepted this bid."),
                (ANNA, "This job was reassigned to another cleaner.")
            ]
        );
        // Accepting the same cleaner again is no transition.
        assert_eq!(
            decide(
                Some(&assigned),
                &bid_event(JobEventKind::BidAccepted, ANNA),
                now()
            )
            .unwrap_err()
            .code(),
            "invalid_transition"
        );
    }
    let working = state(JobStatus::InProgress, Some(ANNA), &[]);
    assert_eq!(
        decide(
            Some(&working),
            &bid_event(JobEventKind::BidAccepted, BEN),
            now()
        )
        .unwrap_err()
        .code(),
        "invalid_transition",
        "not once work started"
    );
}

#[test]
fn the_lifecycle_row_by_row() {
    // (from, event, to, who hears it, type, priority, action, system message)
    let rows = [
        (
            JobStatus::BidAccepted,
            JobEventKind::JobConfirmed,
            JobStatus::Confirmed,
            CLIENT,
            T::JobConfirmed,
            P::High,
            "/jobs/5/",
            "The cleaner confirmed the job.",
        ),
        (
            JobStatus::Confirmed,
            JobEventKind::JobReady,
            JobStatus::ReadyToStart,
            CLIENT,
            T::JobReady,
            P::Medium,
            "/jobs/5/",
            "The cleaner is ready to start.",
        ),
        (
            JobStatus::Confirmed,
            JobEventKind::JobStarted,
            JobStatus::InProgress,
            CLIENT,
            T::JobStarted,
            P::High,
            "/jobs/5/",
            "Work has started.",
        ),
        (
            JobStatus::ReadyToStart,
            JobEventKind::JobStarted,
            JobStatus::InProgress,
            CLIENT,
            T::JobStarted,
            P::High,
            "/jobs/5/",
            "Work has started.",
        ),
        (
            JobStatus::InProgress,
            JobEventKind::JobFinished,
            JobStatus::AwaitingReview,
            CLIENT,
            T::JobFinished,
            P::High,
            "/jobs/5/review/",
            "The cleaner finished. Waiting for the client's review.",
        ),
        (
            JobStatus::AwaitingReview,
            JobEventKind::CompletionRejected,
            JobStatus::InProgress,
            ANNA,
            T::JobRejected,
            P::Urgent,
            "/jobs/5/",
            "The client asked for changes: no reason given",
        ),
    ];
    for (from, kind, to, who, t, p, url, text) in rows {
        let before = state(from, Some(ANNA), &[(ANNA, BidStatus::Accepted)]);
        let effects = decide(Some(&before), &event(kind), now()).unwrap();
        assert_eq!(effects.job.status, to, "{kind}");
        assert_eq!(effects.job.version, before.job.version + 1);
        assert_eq!(notices(&effects), [(who, t, p)], "{kind}");
        assert_eq!(effects.notices[0].action_url, url, "{kind}");
        assert_eq!(notes(&effects), [(ANNA, text)], "{kind}");
        assert!(effects.rooms.is_empty() && effects.fan_out.is_none());
        let unassigned = state(from, None, &[]);
        assert_eq!(
            decide(Some(&unassigned), &event(kind), now()),
            Err(JobDenial::NoCleaner(kind))
        );
    }
}

#[test]
fn completion_tells_both_sides_and_a_rejection_carries_the_reason() {
    let review = state(JobStatus::AwaitingReview, Some(ANNA), &[]);
    let effects = decide(Some(&review), &event(JobEventKind::JobCompleted), now()).unwrap();
    assert_eq!(effects.job.status, JobStatus::Completed);
    assert_eq!(effects.job.completed_at, Some(now()));
    assert_eq!(
        notices(&effects),
        [
            (ANNA, T::JobCompleted, P::Medium),
            (CLIENT, T::JobCompleted, P::High)
        ]
    );
    assert_eq!(effects.notices[0].context["for_client"], false);
    assert_eq!(
        (
            effects.notices[1].context["for_client"].as_bool(),
            effects.notices[1].action_url.as_str()
        ),
        (Some(true), "/jobs/5/review/")
    );

    let mut rejected = event(JobEventKind::CompletionRejected);
    rejected
        .data
        .insert("reason".into(), json!("  The oven is still greasy "));
    let effects = decide(Some(&review), &rejected, now()).unwrap();
    assert_eq!(
        effects.notices[0].context["reason"],
        "The oven is still greasy"
    );
    assert_eq!(
        notes(&effects),
        [(
            ANNA,
            "The client asked for changes: The oven is still greasy"
        )]
    );
}

#[test]
fn cancellation_tells_everyone_in_play_but_the_actor_and_closes_their_rooms() {
    let bidding = state(
        JobStatus::OpenForBids,
        None,
        &[(ANNA, BidStatus::Pending), (BEN, BidStatus::Rejected)],
    );
    let mut cancel = event(JobEventKind::JobCancelled);
    cancel.actor = Some(uid(CLIENT));
    let effects = decide(Some(&bidding), &cancel, now()).unwrap();
    assert_eq!(effects.job.status, JobStatus::Cancelled);
    assert_eq!(
        notices(&effects),
        [(ANNA, T::JobCancelled, P::High)],
        "the client cancelled; the rejected bidder hears nothing"
    );
    assert_eq!(effects.rooms, [RoomEffect::ReadOnly { cleaner: uid(ANNA) }]);
    assert_eq!(notes(&effects), [(ANNA, "This job was cancelled.")]);
    assert_eq!(
        effects
            .bids
            .iter()
            .find(|b| b.cleaner == uid(ANNA))
            .unwrap()
            .status,
        BidStatus::Rejected
    );

    let working = state(
        JobStatus::InProgress,
        Some(ANNA),
        &[(ANNA, BidStatus::Accepted)],
    );
    let mut by_cleaner = event(JobEventKind::JobCancelled);
    by_cleaner.actor = Some(uid(ANNA));
    by_cleaner.data.insert("reason".into(), json!("Sick"));
    let effects = decide(Some(&working), &by_cleaner, now()).unwrap();
    assert_eq!(notices(&effects), [(CLIENT, T::JobCancelled, P::High)]);
    assert_eq!(effects.notices[0].context["reason"], "Sick");
    assert_eq!(notes(&effects), [(ANNA, "This job was cancelled: Sick")]);
    let by_platform = decide(Some(&working), &event(JobEventKind::JobCancelled), now()).unwrap();
    assert_eq!(
        notices(&by_platform),
        [
            (CLIENT, T::JobCancelled, P::High),
            (ANNA, T::JobCancelled, P::High)
        ],
        "no actor: both, once each"
    );

    for terminal in [JobStatus::Completed, JobStatus::Cancelled] {
        let done = state(terminal, Some(ANNA), &[]);
        assert_eq!(
            decide(Some(&done), &event(JobEventKind::JobCancelled), now())
                .unwrap_err()
                .code(),
            "invalid_transition"
        );
    }
}

#[test]
fn a_payment_tells_the_cleaner_and_changes_no_status() {
    for status in [
        JobStatus::Completed,
        JobStatus::InProgress,
        JobStatus::Cancelled,
    ] {
        let paid = state(status, Some(ANNA), &[]);
        let mut payment = event(JobEventKind::PaymentReceived);
        payment.data.insert("amount".into(), json!(42.5));
        let effects = decide(Some(&paid), &payment, now()).unwrap();
        assert_eq!(effects.job.status, status);
        assert_eq!(notices(&effects), [(ANNA, T::PaymentReceived, P::Medium)]);
        assert_eq!(effects.notices[0].context["amount"], "42.5");
    }
    let open = state(JobStatus::OpenForBids, None, &[]);
    assert_eq!(
        decide(Some(&open), &event(JobEventKind::PaymentReceived), now()),
        Err(JobDenial::NoCleaner(JobEventKind::PaymentReceived))
    );
}

#[test]
fn every_transition_outside_the_machine_is_refused() {
    use JobEventKind as E;
    use JobStatus as S;
    let allowed = |from: S, kind: E| -> bool {
        match kind {
            E::JobCreated => false,
            E::BidPlaced => from == S::OpenForBids,
            E::BidAccepted => matches!(
                from,
                S::OpenForBids | S::BidAccepted | S::Confirmed | S::ReadyToStart
            ),
            E::JobConfirmed => from == S::BidAccepted,
            E::JobReady => from == S::Confirmed,
            E::JobStarted => matches!(from, S::Confirmed | S::ReadyToStart),
            E::JobFinished => from == S::InProgress,
            E::JobCompleted | E::CompletionRejected => from == S::AwaitingReview,
            E::JobCancelled => !from.is_terminal(),
            E::PaymentReceived => from != S::OpenForBids,
        }
    };
    for from in S::ALL.iter().copied() {
        for kind in E::ALL.iter().copied() {
            // A cleaner is assigned from bid_accepted on; BEN is a new bidder to accept.
            let cleaner = (from != S::OpenForBids).then_some(ANNA);
            let before = state(from, cleaner, &[(ANNA, BidStatus::Accepted)]);
            let result = decide(Some(&before), &bid_event(kind, BEN), now());
            assert_eq!(
                result.is_ok(),
                allowed(from, kind),
                "{kind} from {from}: {result:?}"
            );
            if let Err(denial) = result {
                assert!(
                    matches!(
                        denial.code(),
                        "invalid_transition" | "job_exists" | "no_cleaner"
                    ),
                    "{kind} from {from}: {denial}"
                );
            }
        }
    }
}

#[test]
fn the_snapshot_must_agree_with_the_projection() {
    let before = state(JobStatus::BidAccepted, Some(ANNA), &[]);
    let mut wrong_status = event(JobEventKind::JobConfirmed);
    wrong_status.job.status = Some(JobStatus::InProgress);
    assert_eq!(
        decide(Some(&before), &wrong_status, now())
            .unwrap_err()
            .to_string(),
        "the event says job.status is in_progress, but here it is confirmed"
    );
    let mut right_status = event(JobEventKind::JobConfirmed);
    right_status.job.status = Some(JobStatus::Confirmed);
    right_status.job.cleaner = Some(uid(ANNA));
    right_status.job.title = Some("Kitchen and hall".into());
    let effects = decide(Some(&before), &right_status, now()).unwrap();
    assert_eq!(
        effects.job.title, "Kitchen and hall",
        "descriptive fields follow the platform"
    );
    let mut other_client = event(JobEventKind::JobConfirmed);
    other_client.job.client = uid(99);
    assert_eq!(
        decide(Some(&before), &other_client, now())
            .unwrap_err()
            .code(),
        "snapshot_mismatch"
    );
    let mut other_cleaner = event(JobEventKind::JobConfirmed);
    other_cleaner.job.cleaner = Some(uid(BEN));
    assert_eq!(
        decide(Some(&before), &other_cleaner, now())
            .unwrap_err()
            .code(),
        "snapshot_mismatch"
    );
}

#[test]
fn participants_are_the_client_the_cleaner_and_bidders_in_play() {
    let s = state(
        JobStatus::OpenForBids,
        None,
        &[
            (ANNA, BidStatus::Pending),
            (BEN, BidStatus::Rejected),
            (CARL, BidStatus::Withdrawn),
        ],
    );
    assert_eq!(s.participants(), [uid(CLIENT), uid(ANNA)]);
    assert!(
        s.is_participant(uid(ANNA)) && !s.is_participant(uid(BEN)) && !s.is_participant(uid(CARL))
    );
    let assigned = state(
        JobStatus::Confirmed,
        Some(BEN),
        &[(BEN, BidStatus::Accepted)],
    );
    assert_eq!(assigned.participants(), [uid(CLIENT), uid(BEN)]);
}

#[test]
fn event_ids_and_wire_names_parse() {
    assert!(EventId::parse("0b6f1c9e-uuid").is_ok());
    assert!(EventId::parse("").is_err());
    assert!(EventId::parse("has space").is_err());
    assert!(EventId::parse(&"x".repeat(201)).is_err());
    for kind in JobEventKind::ALL {
        assert_eq!(JobEventKind::parse(kind.as_str()), Ok(*kind));
    }
    assert!(JobEventKind::parse("job_exploded").is_err());
    for status in JobStatus::ALL {
        assert_eq!(JobStatus::parse(status.as_str()), Ok(*status));
    }
    assert_eq!(JobStatus::parse("pending").unwrap_err().field, "job.status");
}
