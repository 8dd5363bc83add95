//! Notification ports: inbox, preferences, templates, delivery queue.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use domain::notification::builtin::BUILTINS;
use domain::notification::preferences::{Channel, QuietHours, parse_timezone};
use domain::notification::{
    Category, NewNotification, NewTemplate, NotificationType, Preferences, Priority, TemplateName,
};
use domain::password::PasswordHash;
use domain::user::{Email, NewUser, PersonName, Role, UserId, Username};
use ports::{
    DeliveryPayload, DeliveryQueue, DeliveryState, InboxFilter, NewDelivery,
    NotificationRepository, PortError, PreferenceRepository, TemplateRepository, UserRepository,
};

async fn people(repo: &impl UserRepository, roles: &[Role]) -> Vec<UserId> {
    let mut ids = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let user = repo
            .create(
                NewUser {
                    username: Username::parse(&format!("n{i}")).unwrap(),
                    email: Email::parse(&format!("n{i}@example.com")).unwrap(),
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
    ids
}

fn note(recipient: UserId, title: &str) -> NewNotification {
    NewNotification {
        recipient,
        sender: None,
        kind: NotificationType::SystemAlert,
        title: title.to_owned(),
        message: format!("{title} message"),
        priority: Priority::Medium,
        object: None,
        action_url: None,
        metadata: serde_json::Map::new(),
        expires_at: None,
        dedupe_key: None,
        silent: false,
    }
}

async fn inbox_sequences_listing_and_counts(
    adapters: (impl UserRepository, impl NotificationRepository),
) {
    let (users, inbox) = adapters;
    let u = people(&users, &[Role::Client, Role::Client]).await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for i in 1..=5 {
        let (n, created) = inbox.create(note(u[0], &format!("t{i}"))).await.unwrap();
        assert!(created);
        assert_eq!(n.seq.get(), i);
        assert_eq!((n.recipient, n.read_at, n.delivered_at), (u[0], None, None));
        ids.push(n.id);
    }
    let other = inbox.create(note(u[1], "theirs")).await.unwrap().0;
    assert_eq!(other.seq.get(), 1, "each inbox has its own sequence");
    assert_eq!(inbox.head_seq(u[0]).await.unwrap().get(), 5);
    let all = inbox
        .list(u[0], InboxFilter::default(), None, 10, now)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|n| n.seq.get()).collect::<Vec<_>>(),
        vec![5, 4, 3, 2, 1],
        "newest first"
    );
    let page = inbox
        .list(u[0], InboxFilter::default(), Some(all[1].seq), 2, now)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|n| n.seq.get()).collect::<Vec<_>>(),
        vec![3, 2]
    );
    let replay = inbox.after(u[0], all[3].seq, 10, now).await.unwrap();
    assert_eq!(
        replay.iter().map(|n| n.seq.get()).collect::<Vec<_>>(),
        vec![3, 4, 5],
        "oldest first"
    );
    assert_eq!(inbox.unread_count(u[0], now).await.unwrap(), 5);
    assert!(inbox.mark_read(u[0], ids[0], now).await.unwrap());
    assert!(
        !inbox.mark_read(u[0], ids[0], now).await.unwrap(),
        "only the first read changes anything"
    );
    assert!(
        matches!(
            inbox.mark_read(u[1], ids[1], now).await,
            Err(PortError::NotFound)
        ),
        "not someone else's"
    );
    assert!(matches!(
        inbox.get(u[1], ids[1]).await,
        Err(PortError::NotFound)
    ));
    let unread = inbox
        .list(
            u[0],
            InboxFilter {
                unread_only: true,
                kind: None,
            },
            None,
            10,
            now,
        )
        .await
        .unwrap();
    assert_eq!(unread.len(), 4);
    assert_eq!(
        inbox.mark_all_read(u[0], now).await.unwrap(),
        4,
        "exactly the rows changed"
    );
    assert_eq!(inbox.mark_all_read(u[0], now).await.unwrap(), 0);
    assert_eq!(inbox.unread_count(u[0], now).await.unwrap(), 0);
    assert_eq!(
        inbox.unread_count(u[1], now).await.unwrap(),
        1,
        "other inboxes untouched"
    );
    assert!(inbox.mark_delivered(ids[2], now).await.unwrap());
    assert!(
        !inbox.mark_delivered(ids[2], now).await.unwrap(),
        "delivery is recorded once"
    );
    assert!(
        inbox
            .get(u[0], ids[2])
            .await
            .unwrap()
            .delivered_at
            .is_some()
    );
    inbox.delete(u[0], ids[4]).await.unwrap();
    assert!(matches!(
        inbox.delete(u[0], ids[4]).await,
        Err(PortError::NotFound)
    ));
    assert!(matches!(
        inbox.delete(u[1], ids[3]).await,
        Err(PortError::NotFound)
    ));
    assert_eq!(
        inbox
            .list(u[0], InboxFilter::default(), None, 10, now)
            .await
            .unwrap()
            .len(),
        4
    );
    let typed = inbox
        .list(
            u[0],
            InboxFilter {
                unread_only: false,
                kind: Some(NotificationType::Reminder),
            },
            None,
            10,
            now,
        )
        .await
        .unwrap();
    assert!(typed.is_empty());
}
contract!(inbox_sequences_listing_and_counts, inbox);

async fn expired_notifications_leave_lists_and_counts(
    adapters: (impl UserRepository, impl NotificationRepository),
) {
    let (users, inbox) = adapters;
    let u = people(&users, &[Role::Client]).await;
    let now = Utc::now();
    inbox
        .create(NewNotification {
            expires_at: Some(now - Duration::minutes(1)),
            ..note(u[0], "gone")
        })
        .await
        .unwrap();
    inbox
        .create(NewNotification {
            expires_at: Some(now + Duration::hours(1)),
            ..note(u[0], "soon")
        })
        .await
        .unwrap();
    inbox.create(note(u[0], "forever")).await.unwrap();
    let listed: Vec<String> = inbox
        .list(u[0], InboxFilter::default(), None, 10, now)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    assert_eq!(listed, vec!["forever", "soon"]);
    assert_eq!(inbox.unread_count(u[0], now).await.unwrap(), 2);
    assert_eq!(
        inbox
            .after(u[0], domain::chat::Seq::ZERO, 10, now)
            .await
            .unwrap()
            .len(),
        2
    );
    let later = now + Duration::hours(2);
    assert_eq!(inbox.unread_count(u[0], later).await.unwrap(), 1);
    assert_eq!(
        inbox.mark_all_read(u[0], later).await.unwrap(),
        1,
        "expired ones are not counted as marked"
    );
}
contract!(expired_notifications_leave_lists_and_counts, inbox);

async fn dedupe_keys_give_one_notification_also_under_concurrency(
    adapters: (impl UserRepository, impl NotificationRepository),
) {
    let (users, inbox) = adapters;
    let u = people(&users, &[Role::Client, Role::Client]).await;
    let attempts = (0..8).map(|_| {
        let inbox = inbox.clone();
        let n = NewNotification {
            dedupe_key: Some("event:7".into()),
            ..note(u[0], "once")
        };
        tokio::spawn(async move { inbox.create(n).await })
    });
    let results: Vec<_> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    assert_eq!(
        results
            .iter()
            .map(|(n, _)| n.id)
            .collect::<BTreeSet<_>>()
            .len(),
        1
    );
    assert_eq!(
        inbox
            .list(u[0], InboxFilter::default(), None, 10, Utc::now())
            .await
            .unwrap()
            .len(),
        1
    );
    // The same key for someone else is their own notification.
    assert!(
        inbox
            .create(NewNotification {
                dedupe_key: Some("event:7".into()),
                ..note(u[1], "once")
            })
            .await
            .unwrap()
            .1
    );
}
contract!(
    dedupe_keys_give_one_notification_also_under_concurrency,
    inbox
);

async fn batches_store_one_per_recipient_and_skip_duplicates(
    adapters: (impl UserRepository, impl NotificationRepository),
) {
    let (users, inbox) = adapters;
    let u = people(&users, &[Role::Cleaner, Role::Cleaner, Role::Cleaner]).await;
    inbox.create(note(u[1], "earlier")).await.unwrap();
    inbox
        .create(NewNotification {
            dedupe_key: Some("bulk:1".into()),
            ..note(u[2], "already")
        })
        .await
        .unwrap();
    let batch: Vec<NewNotification> = u
        .iter()
        .map(|id| NewNotification {
            dedupe_key: Some("bulk:1".into()),
            ..note(*id, "bulk")
        })
        .collect();
    let stored = inbox.create_many(batch.clone()).await.unwrap();
    assert_eq!(
        stored.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        vec![true, true, false]
    );
    assert_eq!(
        stored.iter().map(|(n, _)| n.recipient).collect::<Vec<_>>(),
        u,
        "results follow the input order"
    );
    assert_eq!(stored[0].0.seq.get(), 1);
    assert_eq!(
        stored[1].0.seq.get(),
        2,
        "after the user's earlier notification"
    );
    assert_eq!(stored[2].0.title, "already");
    let again = inbox.create_many(batch).await.unwrap();
    assert!(
        again.iter().all(|(_, created)| !created),
        "re-running a broadcast stores nothing"
    );
    assert!(inbox.create_many(Vec::new()).await.unwrap().is_empty());
}
contract!(batches_store_one_per_recipient_and_skip_duplicates, inbox);

async fn preferences_default_and_round_trip(
    adapters: (impl UserRepository, impl PreferenceRepository),
) {
    let (users, prefs) = adapters;
    let u = people(&users, &[Role::Client, Role::Cleaner]).await;
    assert_eq!(prefs.get(u[0]).await.unwrap(), Preferences::default());
    let mut changed = Preferences::default();
    changed.timezone = parse_timezone("Europe/Athens").unwrap();
    changed.inapp_all = false;
    changed.quiet_hours_enabled = true;
    changed.quiet_hours = Some(QuietHours::parse("22:30", "07:15").unwrap());
    changed.set(Category::Marketing, Channel::Push, true);
    changed.set(Category::Messages, Channel::Email, false);
    prefs.put(u[0], &changed).await.unwrap();
    assert_eq!(prefs.get(u[0]).await.unwrap(), changed);
    // In the order asked, with the defaults for whoever never saved any, repeats included.
    assert_eq!(
        prefs.get_many(&[u[1], u[0], u[1]]).await.unwrap(),
        [
            Preferences::default(),
            changed.clone(),
            Preferences::default()
        ]
    );
    assert!(prefs.get_many(&[]).await.unwrap().is_empty());
    changed.quiet_hours = None;
    changed.quiet_hours_enabled = false;
    prefs.put(u[0], &changed).await.unwrap();
    assert_eq!(prefs.get(u[0]).await.unwrap(), changed);
}
contract!(preferences_default_and_round_trip, prefs);

async fn templates_start_with_the_builtins_and_guard_them(templates: impl TemplateRepository) {
    let listed = templates.list().await.unwrap();
    assert_eq!(listed.len(), BUILTINS.len());
    for builtin in BUILTINS {
        let stored = listed
            .iter()
            .find(|t| t.name.as_str() == builtin.name)
            .unwrap_or_else(|| panic!("{} missing", builtin.name));
        assert_eq!(
            (
                stored.kind,
                stored.default_priority,
                stored.builtin,
                stored.is_active
            ),
            (builtin.kind, builtin.priority, true, true)
        );
        assert_eq!(stored.title_template, builtin.title, "{}", builtin.name);
        assert_eq!(stored.message_template, builtin.message, "{}", builtin.name);
    }
    let name = TemplateName::parse("spring_promo").unwrap();
    let new = NewTemplate {
        name: name.clone(),
        kind: NotificationType::Promotion,
        title_template: "Spring!".into(),
        message_template: "{{ text }}".into(),
        default_priority: Priority::Low,
        is_active: true,
    };
    let created = templates.create(new.clone()).await.unwrap();
    assert!(!created.builtin);
    assert!(matches!(
        templates.create(new.clone()).await,
        Err(PortError::Conflict("name"))
    ));
    // The template named after the type wins; otherwise the most recent active one.
    assert_eq!(
        templates
            .active_for(NotificationType::Promotion)
            .await
            .unwrap()
            .unwrap()
            .name
            .as_str(),
        "promotion"
    );
    let builtin_name = TemplateName::parse("promotion").unwrap();
    let mut off = NewTemplate {
        name: builtin_name.clone(),
        ..new.clone()
    };
    off.is_active = false;
    off.title_template = "{{ headline }}".into();
    templates.update(&builtin_name, off).await.unwrap();
    assert_eq!(
        templates
            .active_for(NotificationType::Promotion)
            .await
            .unwrap()
            .unwrap()
            .name,
        name
    );
    let updated = templates
        .update(
            &name,
            NewTemplate {
                title_template: "Spring is here".into(),
                ..new.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.title_template, "Spring is here");
    assert!(matches!(
        templates.delete(&builtin_name).await,
        Err(PortError::Conflict("builtin"))
    ));
    templates.delete(&name).await.unwrap();
    assert!(matches!(
        templates.delete(&name).await,
        Err(PortError::NotFound)
    ));
    assert!(matches!(
        templates.get(&name).await,
        Err(PortError::NotFound)
    ));
    assert!(
        templates
            .active_for(NotificationType::Promotion)
            .await
            .unwrap()
            .is_none(),
        "no active template left for the type"
    );
    let ghost = TemplateName::parse("ghost").unwrap();
    assert!(matches!(
        templates.update(&ghost, new).await,
        Err(PortError::NotFound)
    ));
}
contract!(templates_start_with_the_builtins_and_guard_them, templates);

fn payload() -> DeliveryPayload {
    DeliveryPayload {
        email: Some("a@example.com".into()),
        notification: serde_json::json!({"id": 1}),
        title: "t".into(),
        message: "m".into(),
        action_url: None,
    }
}

async fn deliveries_are_leased_retried_and_sent_once(
    adapters: (
        impl UserRepository,
        impl NotificationRepository,
        impl DeliveryQueue,
    ),
) {
    let (users, inbox, queue) = adapters;
    let u = people(&users, &[Role::Client]).await;
    let now = Utc::now();
    let n1 = inbox.create(note(u[0], "a")).await.unwrap().0;
    let n2 = inbox.create(note(u[0], "b")).await.unwrap().0;
    let job = |n: domain::notification::NotificationId, channel, at| NewDelivery {
        notification: n,
        recipient: u[0],
        channel,
        payload: payload(),
        not_before: at,
    };
    queue
        .enqueue(vec![
            job(n1.id, Channel::Email, now),
            job(n1.id, Channel::Push, now),
            job(n2.id, Channel::Email, now + Duration::hours(1)),
        ])
        .await
        .unwrap();
    queue
        .enqueue(vec![job(n1.id, Channel::Email, now)])
        .await
        .unwrap();
    assert_eq!(
        queue.of_notification(n1.id).await.unwrap().len(),
        2,
        "one job per notification and channel"
    );
    let lease = Duration::seconds(30);
    // Concurrent claims never hand out the same job twice.
    let claims = (0..4).map(|_| {
        let queue = queue.clone();
        tokio::spawn(async move { queue.claim(now, 10, lease).await })
    });
    let claimed: Vec<_> = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(
        claimed.len(),
        2,
        "the job held back by not_before is not due"
    );
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<BTreeSet<_>>().len(),
        2
    );
    assert!(
        claimed
            .iter()
            .all(|j| j.attempts == 1 && j.payload == payload())
    );
    assert!(
        queue.claim(now, 10, lease).await.unwrap().is_empty(),
        "leased jobs are not claimed again"
    );
    let (email, push) = if claimed[0].channel == Channel::Email {
        (&claimed[0], &claimed[1])
    } else {
        (&claimed[1], &claimed[0])
    };
    queue.complete(email.id, now).await.unwrap();
    queue
        .retry(push.id, "503", now + Duration::seconds(5))
        .await
        .unwrap();
    assert!(queue.claim(now, 10, lease).await.unwrap().is_empty());
    let retried = queue
        .claim(now + Duration::seconds(6), 10, lease)
        .await
        .unwrap();
    assert_eq!(
        retried
            .iter()
            .map(|j| (j.id, j.attempts))
            .collect::<Vec<_>>(),
        vec![(push.id, 2)]
    );
    // A worker that dies loses its lease; the job comes back afterwards.
    let after_lease = queue
        .claim(now + Duration::seconds(40), 10, lease)
        .await
        .unwrap();
    assert_eq!(
        after_lease.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![push.id]
    );
    queue.fail(push.id, "gave up").await.unwrap();
    let records = queue.of_notification(n1.id).await.unwrap();
    let state = |id| records.iter().find(|r| r.id == id).unwrap().clone();
    assert_eq!(state(email.id).state, DeliveryState::Delivered);
    assert!(state(email.id).delivered_at.is_some());
    assert_eq!(
        (
            state(push.id).state,
            state(push.id).attempts,
            state(push.id).last_error.as_deref()
        ),
        (DeliveryState::Failed, 3, Some("gave up"))
    );
    // Delivered and failed jobs are never claimed again; the later one becomes due in time.
    let later = queue
        .claim(now + Duration::hours(2), 10, lease)
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|j| j.notification).collect::<Vec<_>>(),
        vec![n2.id]
    );
}
contract!(deliveries_are_leased_retried_and_sent_once, queue);

async fn broadcast_audiences_page_through_active_users(users: impl UserRepository) {
    let ids = people(
        &users,
        &[
            Role::Client,
            Role::Cleaner,
            Role::Cleaner,
            Role::Cleaner,
            Role::Client,
        ],
    )
    .await;
    users.set_active(ids[2], false).await.unwrap();
    assert_eq!(users.count_active(Some(Role::Cleaner)).await.unwrap(), 2);
    assert_eq!(users.count_active(None).await.unwrap(), 4);
    let first = users
        .active_ids(Some(Role::Cleaner), None, 1)
        .await
        .unwrap();
    assert_eq!(first, vec![ids[1]]);
    let second = users
        .active_ids(Some(Role::Cleaner), first.last().copied(), 1)
        .await
        .unwrap();
    assert_eq!(second, vec![ids[3]]);
    assert!(
        users
            .active_ids(Some(Role::Cleaner), second.last().copied(), 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        users.active_ids(None, None, 10).await.unwrap(),
        vec![ids[0], ids[1], ids[3], ids[4]]
    );
}
contract!(broadcast_audiences_page_through_active_users, users);

async fn collapsed_notifications_update_in_place_until_read(
    adapters: (impl UserRepository, impl NotificationRepository),
) {
    let (users, inbox) = adapters;
    let u = people(&users, &[Role::Client, Role::Cleaner]).await;
    let now = Utc::now;
    let (first, created) = inbox
        .upsert_collapsed(note(u[0], "one"), "room:5")
        .await
        .unwrap();
    assert!(created);
    assert_eq!(first.seq.get(), 1);
    let (second, created) = inbox
        .upsert_collapsed(note(u[0], "two"), "room:5")
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(second.id, first.id, "updated in place");
    assert_eq!(
        (second.seq.get(), second.title.as_str()),
        (2, "two"),
        "a fresh seq carries the update in replays"
    );
    assert_eq!(inbox.unread_count(u[0], now()).await.unwrap(), 1);
    // Heads for reconciliation: an empty inbox is skipped.
    assert_eq!(
        inbox.inbox_heads(&[u[0], u[1]]).await.unwrap(),
        [(u[0], second.seq)]
    );
    let replay = inbox
        .after(u[0], domain::chat::Seq::new(1).unwrap(), 10, now())
        .await
        .unwrap();
    assert_eq!(replay.iter().map(|n| n.id).collect::<Vec<_>>(), [first.id]);
    // Another key, another recipient: separate.
    inbox
        .upsert_collapsed(note(u[0], "elsewhere"), "room:6")
        .await
        .unwrap();
    inbox
        .upsert_collapsed(note(u[1], "theirs"), "room:5")
        .await
        .unwrap();
    assert_eq!(inbox.unread_count(u[0], now()).await.unwrap(), 2);
    // Once read, the next one is new.
    inbox.mark_read(u[0], first.id, now()).await.unwrap();
    let (third, created) = inbox
        .upsert_collapsed(note(u[0], "three"), "room:5")
        .await
        .unwrap();
    assert!(created);
    assert_ne!(third.id, first.id);
    assert_eq!(
        inbox.get(u[0], first.id).await.unwrap().title,
        "two",
        "the read one is left alone"
    );
    // Racing first messages still give one unread notification per key.
    let racing = (0..8).map(|i| inbox.upsert_collapsed(note(u[1], &format!("race {i}")), "room:9"));
    let results = futures_util::future::join_all(racing).await;
    let ids: BTreeSet<_> = results.into_iter().map(|r| r.unwrap().0.id).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(inbox.unread_count(u[1], now()).await.unwrap(), 2);
}
contract!(collapsed_notifications_update_in_place_until_read, inbox);
