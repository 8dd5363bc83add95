//! `ChatRepository`: the same behaviour from memory and PostgreSQL, races included.

use std::collections::BTreeSet;

use chrono::Utc;
use domain::chat::{
    ClientMsgId, JobRoomKey, MessageBody, MessageKind, NewMessage, NewRoom, ParticipantRole,
    RoomId, RoomKind, RoomName, RoomState, Seq, Visibility,
};
use domain::password::PasswordHash;
use domain::user::{Email, NewUser, PersonName, Role, UserId, Username};
use ports::{ChatRepository, HistoryCursor, PortError, RoomFilter, RoomPatch, UserRepository};

async fn users(repo: &impl UserRepository, n: usize) -> Vec<UserId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let user = repo
            .create(
                NewUser {
                    username: Username::parse(&format!("u{i}")).unwrap(),
                    email: Email::parse(&format!("u{i}@example.com")).unwrap(),
                    first_name: PersonName::default(),
                    last_name: PersonName::default(),
                    role: Role::Client,
                },
                PasswordHash::from_phc("x".into()),
            )
            .await
            .unwrap();
        ids.push(user.id);
    }
    ids
}

fn general(name: &str, visibility: Visibility, by: UserId) -> NewRoom {
    NewRoom {
        kind: RoomKind::General,
        name: RoomName::parse(name).unwrap(),
        visibility,
        job: None,
        created_by: Some(by),
    }
}

fn text(room: RoomId, sender: UserId, content: &str, key: Option<&str>) -> NewMessage {
    NewMessage {
        room_id: room,
        sender: Some(sender),
        kind: MessageKind::Text,
        content: MessageBody::parse(content, 4000).unwrap(),
        attachment: None,
        reply_to: None,
        client_msg_id: key.map(|k| ClientMsgId::parse(k).unwrap()),
    }
}

fn seq(n: i64) -> Seq {
    Seq::new(n).unwrap()
}

async fn rooms_have_members_and_unique_public_names(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 3).await;
    let room = chat
        .create_room(
            general("Lobby", Visibility::Public, u[0]),
            vec![
                (u[0], ParticipantRole::Owner),
                (u[1], ParticipantRole::Member),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        (room.kind, room.state, room.head_seq),
        (RoomKind::General, RoomState::Active, Seq::ZERO)
    );
    let members = chat.participants(&[room.id]).await.unwrap();
    let roles: Vec<_> = members.iter().map(|p| (p.user_id, p.role)).collect();
    assert!(
        roles.contains(&(u[0], ParticipantRole::Owner))
            && roles.contains(&(u[1], ParticipantRole::Member)),
        "{roles:?}"
    );
    assert!(chat.participant(room.id, u[2]).await.unwrap().is_none());
    // The room with a membership in one lookup: a member gets both, anyone else nothing.
    let (found, member) = chat.member_room(room.id, u[1]).await.unwrap().unwrap();
    assert_eq!(
        (found.id, member.user_id, member.role),
        (room.id, u[1], ParticipantRole::Member)
    );
    assert!(chat.member_room(room.id, u[2]).await.unwrap().is_none());
    assert!(
        chat.member_room(RoomId::new(987_654).unwrap(), u[1])
            .await
            .unwrap()
            .is_none()
    );
    let dup = chat
        .create_room(
            general("LOBBY", Visibility::Public, u[2]),
            vec![(u[2], ParticipantRole::Owner)],
        )
        .await;
    assert!(
        matches!(dup, Err(PortError::Conflict("room_name"))),
        "{dup:?}"
    );
    // Private rooms may share names.
    chat.create_room(
        general("Lobby", Visibility::Private, u[2]),
        vec![(u[2], ParticipantRole::Owner)],
    )
    .await
    .unwrap();
    chat.create_room(
        general("Lobby", Visibility::Private, u[2]),
        vec![(u[2], ParticipantRole::Owner)],
    )
    .await
    .unwrap();
    assert!(matches!(
        chat.get_room(RoomId::new(987_654).unwrap()).await,
        Err(PortError::NotFound)
    ));
}
contract!(rooms_have_members_and_unique_public_names, chat);

async fn concurrent_direct_room_requests_yield_one_room(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 2).await;
    let attempts = (0..10).map(|i| {
        let chat = chat.clone();
        let (a, b) = if i % 2 == 0 {
            (u[0], u[1])
        } else {
            (u[1], u[0])
        };
        tokio::spawn(async move {
            chat.get_or_create_direct(a, b, RoomName::parse("dm").unwrap())
                .await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let ids: BTreeSet<RoomId> = results.iter().map(|(room, _)| room.id).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let room = results[0].0.clone();
    assert_eq!(room.kind, RoomKind::Direct);
    assert_eq!(chat.participants(&[room.id]).await.unwrap().len(), 2);
}
contract!(concurrent_direct_room_requests_yield_one_room, chat);

async fn job_rooms_are_one_per_job_and_cleaner(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 3).await;
    let new = |cleaner: UserId| NewRoom {
        kind: RoomKind::Job,
        name: RoomName::parse("Job #5").unwrap(),
        visibility: Visibility::Private,
        job: Some(JobRoomKey { job_id: 5, cleaner }),
        created_by: None,
    };
    let attempts = (0..6).map(|_| {
        let chat = chat.clone();
        let room = new(u[1]);
        let members = vec![
            (u[0], ParticipantRole::Member),
            (u[1], ParticipantRole::Member),
        ];
        tokio::spawn(async move { chat.get_or_create_job_room(room, members).await })
    });
    let results: Vec<_> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(
        results
            .iter()
            .map(|(r, _)| r.id)
            .collect::<BTreeSet<_>>()
            .len(),
        1
    );
    assert_eq!(results.iter().filter(|(_, c)| *c).count(), 1);
    let (other, created) = chat
        .get_or_create_job_room(
            new(u[2]),
            vec![
                (u[0], ParticipantRole::Member),
                (u[2], ParticipantRole::Member),
            ],
        )
        .await
        .unwrap();
    assert!(created);
    assert_ne!(other.id, results[0].0.id);
    let of_job = chat.rooms_of_job(5).await.unwrap();
    assert_eq!(of_job.len(), 2);
    assert!(of_job.iter().all(|r| r.job.map(|j| j.job_id) == Some(5)));
    assert!(chat.rooms_of_job(6).await.unwrap().is_empty());
}
contract!(job_rooms_are_one_per_job_and_cleaner, chat);

async fn public_rooms_by_name_are_created_once(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 2).await;
    let attempts = (0..6).map(|i| {
        let chat = chat.clone();
        let creator = u[i % 2];
        tokio::spawn(async move {
            chat.get_or_create_public_room(RoomName::parse("town-square").unwrap(), creator)
                .await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(
        results
            .iter()
            .map(|(r, _)| r.id)
            .collect::<BTreeSet<_>>()
            .len(),
        1
    );
    assert_eq!(results.iter().filter(|(_, c)| *c).count(), 1);
    let (again, created) = chat
        .get_or_create_public_room(RoomName::parse("Town-Square").unwrap(), u[1])
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, results[0].0.id);
}
contract!(public_rooms_by_name_are_created_once, chat);

async fn concurrent_senders_get_gap_free_ordered_sequences(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 4).await;
    let members = u.iter().map(|id| (*id, ParticipantRole::Member)).collect();
    let room = chat
        .create_room(general("busy", Visibility::Private, u[0]), members)
        .await
        .unwrap();
    let sends = (0..40).map(|i| {
        let chat = chat.clone();
        let sender = u[i % 4];
        let room = room.id;
        tokio::spawn(async move {
            chat.append_message(text(room, sender, &format!("m{i}"), None))
                .await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let mut seqs: Vec<i64> = results.iter().map(|a| a.message.seq.get()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
    let page = chat
        .history(room.id, HistoryCursor::After(Seq::ZERO), 100)
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 40);
    assert!(
        page.messages
            .windows(2)
            .all(|w| w[0].seq.next() == w[1].seq)
    );
    assert_eq!(chat.get_room(room.id).await.unwrap().head_seq, seq(40));
}
contract!(concurrent_senders_get_gap_free_ordered_sequences, chat);

async fn retried_sends_return_the_original_also_under_concurrency(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 2).await;
    let room = chat
        .create_room(
            general("retry", Visibility::Private, u[0]),
            vec![
                (u[0], ParticipantRole::Owner),
                (u[1], ParticipantRole::Member),
            ],
        )
        .await
        .unwrap();
    let retries = (0..8).map(|_| {
        let chat = chat.clone();
        let room = room.id;
        let sender = u[0];
        tokio::spawn(async move {
            chat.append_message(text(room, sender, "once", Some("key-1")))
                .await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(retries)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|a| a.created).count(), 1);
    assert_eq!(
        results
            .iter()
            .map(|a| a.message.id)
            .collect::<BTreeSet<_>>()
            .len(),
        1
    );
    assert_eq!(
        chat.get_room(room.id).await.unwrap().head_seq,
        seq(1),
        "a retry allocates no seq"
    );
    // The same key from another sender is another message.
    let other = chat
        .append_message(text(room.id, u[1], "mine", Some("key-1")))
        .await
        .unwrap();
    assert!(other.created);
    assert_eq!(other.message.seq, seq(2));
}
contract!(
    retried_sends_return_the_original_also_under_concurrency,
    chat
);

async fn appending_updates_the_room_and_the_senders_cursor(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 2).await;
    let room = chat
        .create_room(
            general("r", Visibility::Private, u[0]),
            vec![
                (u[0], ParticipantRole::Owner),
                (u[1], ParticipantRole::Member),
            ],
        )
        .await
        .unwrap();
    let first = chat
        .append_message(text(room.id, u[1], "hello there", None))
        .await
        .unwrap()
        .message;
    assert_eq!(
        (first.seq, first.sender, first.kind),
        (seq(1), Some(u[1]), MessageKind::Text)
    );
    let stored = chat.get_room(room.id).await.unwrap();
    assert_eq!(stored.head_seq, seq(1));
    assert_eq!(stored.last_message_preview.as_deref(), Some("hello there"));
    assert!(stored.last_message_at.is_some());
    assert_eq!(
        chat.participant(room.id, u[1])
            .await
            .unwrap()
            .unwrap()
            .last_read_seq,
        seq(1)
    );
    assert_eq!(
        chat.participant(room.id, u[0])
            .await
            .unwrap()
            .unwrap()
            .last_read_seq,
        Seq::ZERO
    );
    assert_eq!(chat.get_message(first.id).await.unwrap(), first);
    assert!(matches!(
        chat.append_message(text(RoomId::new(987_654).unwrap(), u[0], "x", None))
            .await,
        Err(PortError::NotFound)
    ));
    // Heads for reconciliation: unknown rooms are skipped.
    let unknown = RoomId::new(987_654).unwrap();
    assert_eq!(
        chat.room_heads(&[room.id, unknown]).await.unwrap(),
        [(room.id, seq(1))]
    );
    assert!(chat.room_heads(&[]).await.unwrap().is_empty());
}
contract!(appending_updates_the_room_and_the_senders_cursor, chat);

async fn closed_rooms_refuse_people_but_not_the_system(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 1).await;
    let room = chat
        .create_room(
            general("c", Visibility::Private, u[0]),
            vec![(u[0], ParticipantRole::Owner)],
        )
        .await
        .unwrap();
    chat.append_message(text(room.id, u[0], "before", Some("k")))
        .await
        .unwrap();
    for state in [RoomState::ReadOnly, RoomState::Archived] {
        chat.update_room(
            room.id,
            RoomPatch {
                state: Some(state),
                ..RoomPatch::default()
            },
        )
        .await
        .unwrap();
        let refused = chat
            .append_message(text(room.id, u[0], "after", None))
            .await;
        assert!(
            matches!(refused, Err(PortError::Conflict("room_state"))),
            "{refused:?}"
        );
        // A retry of an accepted send is still answered.
        assert!(
            !chat
                .append_message(text(room.id, u[0], "before", Some("k")))
                .await
                .unwrap()
                .created
        );
        let system = NewMessage {
            sender: None,
            kind: MessageKind::System,
            content: MessageBody::system("closed"),
            ..text(room.id, u[0], "x", None)
        };
        assert!(chat.append_message(system).await.unwrap().created);
    }
    assert_eq!(chat.get_room(room.id).await.unwrap().head_seq, seq(3));
}
contract!(closed_rooms_refuse_people_but_not_the_system, chat);

async fn history_pages_ascend_and_say_whether_more_exist(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 1).await;
    let room = chat
        .create_room(
            general("h", Visibility::Private, u[0]),
            vec![(u[0], ParticipantRole::Owner)],
        )
        .await
        .unwrap();
    for i in 1..=10 {
        chat.append_message(text(room.id, u[0], &format!("m{i}"), None))
            .await
            .unwrap();
    }
    let seqs = |page: &ports::HistoryPage| {
        page.messages
            .iter()
            .map(|m| m.seq.get())
            .collect::<Vec<_>>()
    };
    let latest = chat
        .history(room.id, HistoryCursor::Latest, 3)
        .await
        .unwrap();
    assert_eq!((seqs(&latest), latest.has_more), (vec![8, 9, 10], true));
    let before = chat
        .history(room.id, HistoryCursor::Before(seq(8)), 3)
        .await
        .unwrap();
    assert_eq!((seqs(&before), before.has_more), (vec![5, 6, 7], true));
    let first = chat
        .history(room.id, HistoryCursor::Before(seq(4)), 5)
        .await
        .unwrap();
    assert_eq!((seqs(&first), first.has_more), (vec![1, 2, 3], false));
    let after = chat
        .history(room.id, HistoryCursor::After(seq(6)), 3)
        .await
        .unwrap();
    assert_eq!((seqs(&after), after.has_more), (vec![7, 8, 9], true));
    let tail = chat
        .history(room.id, HistoryCursor::After(seq(8)), 5)
        .await
        .unwrap();
    assert_eq!((seqs(&tail), tail.has_more), (vec![9, 10], false));
    let none = chat
        .history(room.id, HistoryCursor::After(seq(10)), 5)
        .await
        .unwrap();
    assert_eq!((seqs(&none), none.has_more), (vec![], false));
    let all = chat
        .history(room.id, HistoryCursor::Latest, 50)
        .await
        .unwrap();
    assert_eq!((all.messages.len(), all.has_more), (10, false));
    assert!(matches!(
        chat.history(RoomId::new(987_654).unwrap(), HistoryCursor::Latest, 5)
            .await,
        Err(PortError::NotFound)
    ));
}
contract!(history_pages_ascend_and_say_whether_more_exist, chat);

async fn edits_and_tombstones(adapters: (impl UserRepository, impl ChatRepository)) {
    let (repo, chat) = adapters;
    let u = users(&repo, 1).await;
    let room = chat
        .create_room(
            general("e", Visibility::Private, u[0]),
            vec![(u[0], ParticipantRole::Owner)],
        )
        .await
        .unwrap();
    let m = chat
        .append_message(text(room.id, u[0], "draft", None))
        .await
        .unwrap()
        .message;
    let at = Utc::now();
    let edited = chat
        .edit_message(m.id, MessageBody::parse("final", 100).unwrap(), at)
        .await
        .unwrap();
    assert_eq!(edited.content, "final");
    assert!(edited.edited_at.is_some());
    assert_eq!(
        chat.get_room(room.id)
            .await
            .unwrap()
            .last_message_preview
            .as_deref(),
        Some("final")
    );
    let deleted = chat.delete_message(m.id, at).await.unwrap();
    assert!(deleted.is_deleted());
    assert_eq!(deleted.content, "");
    assert_eq!(deleted.seq, m.seq, "a tombstone keeps its place");
    assert_eq!(
        chat.get_room(room.id)
            .await
            .unwrap()
            .last_message_preview
            .as_deref(),
        Some("")
    );
    let ghost = domain::chat::MessageId::new(987_654).unwrap();
    assert!(matches!(
        chat.edit_message(ghost, MessageBody::parse("x", 10).unwrap(), at)
            .await,
        Err(PortError::NotFound)
    ));
    assert!(matches!(
        chat.delete_message(ghost, at).await,
        Err(PortError::NotFound)
    ));
    assert!(matches!(
        chat.get_message(ghost).await,
        Err(PortError::NotFound)
    ));
    assert_eq!(chat.messages_by_id(&[m.id, ghost]).await.unwrap().len(), 1);
}
contract!(edits_and_tombstones, chat);

async fn unread_counts_follow_cursors_senders_and_deletions(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 3).await;
    let members = u.iter().map(|id| (*id, ParticipantRole::Member)).collect();
    let room = chat
        .create_room(general("u", Visibility::Private, u[0]), members)
        .await
        .unwrap();
    let other = chat
        .create_room(
            general("v", Visibility::Private, u[0]),
            vec![
                (u[0], ParticipantRole::Owner),
                (u[1], ParticipantRole::Member),
            ],
        )
        .await
        .unwrap();
    for i in 0..5 {
        chat.append_message(text(room.id, u[0], &format!("a{i}"), None))
            .await
            .unwrap();
    }
    let doomed = chat
        .append_message(text(room.id, u[2], "b", None))
        .await
        .unwrap()
        .message;
    chat.append_message(text(other.id, u[0], "c", None))
        .await
        .unwrap();
    // u1: 6 in room, 1 in other. u2 sent seq 6, so its cursor is at 6: 0 unread. u0: 1 (u2's).
    let counts = chat.unread_counts(u[1]).await.unwrap();
    assert_eq!(counts.total, 7);
    assert_eq!(counts.rooms.get(&room.id), Some(&6));
    assert_eq!(counts.rooms.get(&other.id), Some(&1));
    assert_eq!(chat.unread_in(room.id, u[2]).await.unwrap(), 0);
    assert_eq!(chat.unread_in(room.id, u[0]).await.unwrap(), 1);
    chat.delete_message(doomed.id, Utc::now()).await.unwrap();
    assert_eq!(
        chat.unread_in(room.id, u[0]).await.unwrap(),
        0,
        "deleted messages are not unread"
    );
    assert_eq!(chat.unread_in(room.id, u[1]).await.unwrap(), 5);
    assert_eq!(chat.mark_read(room.id, u[1], seq(3)).await.unwrap(), seq(3));
    assert_eq!(chat.unread_in(room.id, u[1]).await.unwrap(), 2);
    // Cursors never move back and never pass the head.
    assert_eq!(chat.mark_read(room.id, u[1], seq(1)).await.unwrap(), seq(3));
    assert_eq!(
        chat.mark_read(room.id, u[1], seq(99)).await.unwrap(),
        seq(6)
    );
    assert_eq!(chat.unread_counts(u[1]).await.unwrap().total, 1);
    assert!(
        !chat
            .unread_counts(u[1])
            .await
            .unwrap()
            .rooms
            .contains_key(&room.id)
    );
    assert!(matches!(
        chat.mark_read(other.id, u[2], seq(1)).await,
        Err(PortError::NotFound)
    ));
    let memberships = chat.memberships(u[1]).await.unwrap();
    assert_eq!(memberships.len(), 2);
    let m = memberships.iter().find(|m| m.room.id == room.id).unwrap();
    assert_eq!((m.last_read_seq, m.unread), (seq(6), 0));
    assert_eq!(
        memberships
            .iter()
            .find(|m| m.room.id == other.id)
            .unwrap()
            .unread,
        1
    );
}
contract!(unread_counts_follow_cursors_senders_and_deletions, chat);

async fn membership_changes(adapters: (impl UserRepository, impl ChatRepository)) {
    let (repo, chat) = adapters;
    let u = users(&repo, 2).await;
    let room = chat
        .create_room(
            general("m", Visibility::Public, u[0]),
            vec![(u[0], ParticipantRole::Owner)],
        )
        .await
        .unwrap();
    let added = chat
        .add_participant(room.id, u[1], ParticipantRole::Member)
        .await
        .unwrap();
    assert_eq!(
        (added.user_id, added.role, added.last_read_seq),
        (u[1], ParticipantRole::Member, Seq::ZERO)
    );
    assert!(matches!(
        chat.add_participant(room.id, u[1], ParticipantRole::Member)
            .await,
        Err(PortError::Conflict("participant"))
    ));
    assert!(matches!(
        chat.add_participant(RoomId::new(987_654).unwrap(), u[1], ParticipantRole::Member)
            .await,
        Err(PortError::NotFound)
    ));
    chat.remove_participant(room.id, u[1]).await.unwrap();
    assert!(matches!(
        chat.remove_participant(room.id, u[1]).await,
        Err(PortError::NotFound)
    ));
    assert!(chat.participant(room.id, u[1]).await.unwrap().is_none());
    assert!(chat.memberships(u[1]).await.unwrap().is_empty());
}
contract!(membership_changes, chat);

async fn listing_orders_by_activity_filters_and_pages(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 2).await;
    let mut rooms = Vec::new();
    for i in 0..5 {
        let room = chat
            .create_room(
                general(&format!("l{i}"), Visibility::Private, u[0]),
                vec![(u[0], ParticipantRole::Owner)],
            )
            .await
            .unwrap();
        rooms.push(room.id);
    }
    // Activity makes room 1 the most recent, then 3.
    chat.append_message(text(rooms[3], u[0], "x", None))
        .await
        .unwrap();
    chat.append_message(text(rooms[1], u[0], "y", None))
        .await
        .unwrap();
    chat.update_room(
        rooms[4],
        RoomPatch {
            state: Some(RoomState::Archived),
            ..RoomPatch::default()
        },
    )
    .await
    .unwrap();
    let listed = chat
        .list_rooms(u[0], RoomFilter::default(), None, 10)
        .await
        .unwrap();
    let ids: Vec<RoomId> = listed.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![rooms[1], rooms[3], rooms[2], rooms[0]]);
    let with_archived = chat
        .list_rooms(
            u[0],
            RoomFilter {
                include_archived: true,
                ..RoomFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(with_archived.len(), 5);
    let first = chat
        .list_rooms(u[0], RoomFilter::default(), None, 2)
        .await
        .unwrap();
    let last = first.last().unwrap();
    let cursor = ports::RoomCursor {
        last_activity: last.last_activity(),
        id: last.id,
    };
    let second = chat
        .list_rooms(u[0], RoomFilter::default(), Some(cursor), 2)
        .await
        .unwrap();
    assert_eq!(
        second.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![rooms[2], rooms[0]]
    );
    assert!(
        chat.list_rooms(u[1], RoomFilter::default(), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let direct = chat
        .list_rooms(
            u[0],
            RoomFilter {
                kind: Some(RoomKind::Direct),
                ..RoomFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert!(direct.is_empty());
}
contract!(listing_orders_by_activity_filters_and_pages, chat);

async fn renaming_respects_public_name_uniqueness(
    adapters: (impl UserRepository, impl ChatRepository),
) {
    let (repo, chat) = adapters;
    let u = users(&repo, 1).await;
    let a = chat
        .create_room(
            general("alpha", Visibility::Public, u[0]),
            vec![(u[0], ParticipantRole::Owner)],
        )
        .await
        .unwrap();
    let b = chat
        .create_room(
            general("beta", Visibility::Private, u[0]),
            vec![(u[0], ParticipantRole::Owner)],
        )
        .await
        .unwrap();
    let clash = chat
        .update_room(
            b.id,
            RoomPatch {
                name: Some(RoomName::parse("ALPHA").unwrap()),
                visibility: Some(Visibility::Public),
                state: None,
            },
        )
        .await;
    assert!(
        matches!(clash, Err(PortError::Conflict("room_name"))),
        "{clash:?}"
    );
    let renamed = chat
        .update_room(
            a.id,
            RoomPatch {
                name: Some(RoomName::parse("gamma").unwrap()),
                ..RoomPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_str(), "gamma");
    // alpha is free again.
    let b = chat
        .update_room(
            b.id,
            RoomPatch {
                name: Some(RoomName::parse("alpha").unwrap()),
                visibility: Some(Visibility::Public),
                state: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (b.name.as_str(), b.visibility),
        ("alpha", Visibility::Public)
    );
    assert!(matches!(
        chat.update_room(RoomId::new(987_654).unwrap(), RoomPatch::default())
            .await,
        Err(PortError::NotFound)
    ));
}
contract!(renaming_respects_public_name_uniqueness, chat);

async fn attachments_are_stored_and_traced_to_the_rooms_showing_them(
    adapters: (
        impl UserRepository,
        impl ChatRepository,
        impl ports::AttachmentStore,
    ),
) {
    use domain::chat::{AttachmentId, NewAttachment};
    let (repo, chat, files) = adapters;
    let u = users(&repo, 1).await;
    let bytes = b"%PDF-1.7 a small document".to_vec();
    let stored = files
        .store(NewAttachment {
            owner: u[0],
            filename: "report.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: bytes.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        (stored.owner, stored.size, stored.filename.as_str()),
        (u[0], bytes.len() as i64, "report.pdf")
    );
    assert_eq!(files.get(stored.id).await.unwrap(), stored);
    assert_eq!(files.content(stored.id).await.unwrap(), bytes);
    let ghost = AttachmentId::new(987_654).unwrap();
    assert!(matches!(files.get(ghost).await, Err(PortError::NotFound)));
    assert!(matches!(
        files.content(ghost).await,
        Err(PortError::NotFound)
    ));
    assert_eq!(files.get_many(&[stored.id, ghost]).await.unwrap().len(), 1);
    let room = chat
        .create_room(
            general("files", Visibility::Private, u[0]),
            vec![(u[0], ParticipantRole::Owner)],
        )
        .await
        .unwrap();
    assert!(
        chat.rooms_with_attachment(stored.id)
            .await
            .unwrap()
            .is_empty()
    );
    let message = chat
        .append_message(NewMessage {
            attachment: Some(stored.id),
            kind: MessageKind::File,
            ..text(room.id, u[0], "see attached", None)
        })
        .await
        .unwrap()
        .message;
    assert_eq!(message.attachment, Some(stored.id));
    assert_eq!(
        chat.rooms_with_attachment(stored.id).await.unwrap(),
        vec![room.id]
    );
    // Deleting the message detaches the file: it is no longer shown anywhere.
    let tombstone = chat.delete_message(message.id, Utc::now()).await.unwrap();
    assert_eq!(tombstone.attachment, None);
    assert!(
        chat.rooms_with_attachment(stored.id)
            .await
            .unwrap()
            .is_empty()
    );
}
contract!(
    attachments_are_stored_and_traced_to_the_rooms_showing_them,
    files
);
