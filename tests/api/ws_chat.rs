//! Chat over the unified socket: subscriptions, replay, exactly-once live delivery, typing,
//! receipts, unread pushes, presence, edits, access changes, and overload.

use std::collections::BTreeMap;
use std::time::Duration;

use eclean_tests::{ResponseExt, WsClient, both_backends, both_backends_with};
use figment::providers::Serialized;
use serde_json::{Value, json};

async fn subscribe(ws: &mut WsClient, room: i64, since: Option<i64>) -> Value {
    let mut frame = json!({"type": "subscribe_room", "room_id": room, "ref": "sub"});
    if let Some(since) = since {
        frame["since_seq"] = json!(since);
    }
    ws.send(frame).await;
    let subscribed = ws.recv_type("subscribed").await;
    assert_eq!(subscribed["room_id"], room);
    assert_eq!(subscribed["ref"], "sub");
    subscribed
}

/// The seqs of the `new_message` frames among `frames`.
fn message_seqs(frames: &[Value], room: i64) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f["type"] == "new_message" && f["room_id"] == room)
        .map(|f| f["message"]["seq"].as_i64().unwrap())
        .collect()
}

both_backends! {
    async fn a_send_is_acked_to_the_sender_and_delivered_once_to_every_subscribed_session(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let mut a = app.ws(&anna.access).await;
        let mut b1 = app.ws(&bob.access).await;
        let mut b2 = app.ws(&bob.access).await;
        for ws in [&mut a, &mut b1, &mut b2] {
            subscribe(ws, room, None).await;
        }
        a.send(json!({"type": "send_message", "room_id": room, "content": "hi bob", "client_msg_id": "m-1", "ref": "s1"})).await;
        let frames = a.drain(Duration::from_millis(500)).await;
        let ack = frames.iter().find(|f| f["type"] == "message_ack").unwrap();
        assert_eq!((ack["client_msg_id"].as_str(), ack["ref"].as_str()), (Some("m-1"), Some("s1")));
        assert_eq!(ack["message"]["seq"], 1);
        assert_eq!(ack["message"]["is_own_message"], true);
        assert_eq!(message_seqs(&frames, room), vec![1], "the sender's session gets new_message too: {frames:?}");
        let own = frames.iter().find(|f| f["type"] == "new_message").unwrap();
        assert_eq!(own["message"]["is_own_message"], true);
        for ws in [&mut b1, &mut b2] {
            let frames = ws.drain(Duration::from_millis(500)).await;
            assert_eq!(message_seqs(&frames, room), vec![1], "{frames:?}");
            let message = frames.iter().find(|f| f["type"] == "new_message").unwrap();
            assert_eq!(message["message"]["content"], "hi bob");
            assert_eq!(message["message"]["is_own_message"], false);
            let unread = frames.iter().rev().find(|f| f["type"] == "unread_count").unwrap();
            assert_eq!(unread["chat"]["total"], 1);
        }
        // A retried send is acked with the original and delivered to nobody again.
        a.send(json!({"type": "send_message", "room_id": room, "content": "hi bob", "client_msg_id": "m-1"})).await;
        let retry = a.recv_type("message_ack").await;
        assert_eq!(retry["message"]["id"], ack["message"]["id"]);
        b1.expect_silence(Duration::from_millis(300)).await;
    }
}

both_backends! {
    async fn a_rest_send_reaches_live_sessions_like_a_socket_send(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let mut b = app.ws(&bob.access).await;
        subscribe(&mut b, room, None).await;
        let sent = app.say(&anna, room, "over REST").await;
        let frame = b.recv_type("new_message").await;
        assert_eq!(frame["message"]["id"], sent["id"]);
        assert_eq!(frame["message"]["content"], "over REST");
    }
}

both_backends! {
    async fn subscribing_with_since_seq_replays_the_gap_in_order_then_continues_live(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        for i in 1..=5 {
            app.say(&anna, room, &format!("m{i}")).await;
        }
        let mut b = app.ws(&bob.access).await;
        let subscribed = subscribe(&mut b, room, Some(2)).await;
        assert_eq!(subscribed["last_seq"], 5);
        let replay = b.drain(Duration::from_millis(500)).await;
        assert_eq!(message_seqs(&replay, room), vec![3, 4, 5]);
        app.say(&anna, room, "m6").await;
        let live = b.drain(Duration::from_millis(500)).await;
        assert_eq!(message_seqs(&live, room), vec![6]);
        // Without since_seq: live only.
        let mut fresh = app.ws(&bob.access).await;
        let subscribed = subscribe(&mut fresh, room, None).await;
        assert_eq!(subscribed["last_seq"], 6);
        assert!(message_seqs(&fresh.drain(Duration::from_millis(300)).await, room).is_empty());
        // since_seq 0 replays everything; a since_seq beyond the head replays nothing.
        let mut all = app.ws(&bob.access).await;
        subscribe(&mut all, room, Some(0)).await;
        assert_eq!(message_seqs(&all.drain(Duration::from_millis(500)).await, room), vec![1, 2, 3, 4, 5, 6]);
        let mut ahead = app.ws(&bob.access).await;
        subscribe(&mut ahead, room, Some(99)).await;
        app.say(&anna, room, "m7").await;
        assert_eq!(message_seqs(&ahead.drain(Duration::from_millis(500)).await, room), vec![7]);
    }
}

both_backends! {
    async fn concurrent_senders_reach_every_subscriber_exactly_once_in_order(app) {
        let owner = app.register("client").await;
        let mut senders = vec![owner.clone()];
        for _ in 0..3 {
            senders.push(app.register("cleaner").await);
        }
        let members: Vec<&eclean_tests::TestUser> = senders[1..].iter().collect();
        let room = app.create_room(&owner, "private", &members).await;
        let mut watchers = Vec::new();
        for user in &senders[..2] {
            let mut ws = app.ws(&user.access).await;
            subscribe(&mut ws, room, Some(0)).await;
            watchers.push(ws);
        }
        let mut sockets = Vec::new();
        for user in &senders {
            sockets.push(app.ws(&user.access).await);
        }
        let per_sender = 15;
        let sends = sockets.iter_mut().enumerate().map(|(i, ws)| async move {
            for n in 0..per_sender {
                ws.send(json!({"type": "send_message", "room_id": room, "content": format!("s{i} n{n}"), "client_msg_id": format!("s{i}-{n}")})).await;
            }
            let mut acks = 0;
            while acks < per_sender {
                if ws.recv().await["type"] == "message_ack" {
                    acks += 1;
                }
            }
        });
        futures_util::future::join_all(sends).await;
        let total = (per_sender * senders.len()) as i64;
        for ws in &mut watchers {
            let mut seqs = Vec::new();
            while (seqs.len() as i64) < total {
                let frame = ws.recv().await;
                if frame["type"] == "new_message" {
                    seqs.push(frame["message"]["seq"].as_i64().unwrap());
                }
            }
            assert_eq!(seqs, (1..=total).collect::<Vec<_>>(), "every message once, in order");
            assert!(message_seqs(&ws.drain(Duration::from_millis(300)).await, room).is_empty(), "and nothing twice");
        }
    }
}

both_backends_with! {
    |f| f.merge(Serialized::default("ws.typing_ttl_s", 1)).merge(Serialized::default("ws.typing_throttle_ms", 600)),
    async fn typing_is_relayed_to_others_throttled_and_expires_by_itself(app) {
    let anna = app.register("client").await;
    let bob = app.register("cleaner").await;
    let room = app.dm(&anna, &bob).await;
    let mut a = app.ws(&anna.access).await;
    let mut a2 = app.ws(&anna.access).await;
    let mut b = app.ws(&bob.access).await;
    for ws in [&mut a, &mut a2, &mut b] {
        subscribe(ws, room, None).await;
    }
    b.drain(Duration::from_millis(200)).await;
    a2.drain(Duration::from_millis(200)).await;
    a.send(json!({"type": "typing", "room_id": room, "is_typing": true}))
        .await;
    let typing = b.recv_type("typing").await;
    assert_eq!(
        (typing["user_id"].as_i64(), typing["is_typing"].as_bool()),
        (Some(anna.id), Some(true))
    );
    assert_eq!(typing["username"], anna.username.as_str());
    // Renewed at once: not broadcast again (throttled), but the indicator is kept alive.
    a.send(json!({"type": "typing", "room_id": room, "is_typing": true}))
        .await;
    // Expires by itself: is_typing false after the TTL without renewal.
    let stopped = b.recv_type("typing").await;
    assert_eq!(stopped["is_typing"], false);
    // Never echoed to the typer's own sessions.
    let echoed: Vec<Value> = a2
        .drain(Duration::from_millis(300))
        .await
        .into_iter()
        .filter(|f| f["type"] == "typing")
        .collect();
    assert!(echoed.is_empty(), "{echoed:?}");
    // An explicit stop is relayed at once.
    a.send(json!({"type": "typing", "room_id": room, "is_typing": true}))
        .await;
    assert_eq!(b.recv_type("typing").await["is_typing"], true);
    a.send(json!({"type": "typing", "room_id": room, "is_typing": false}))
        .await;
    assert_eq!(b.recv_type("typing").await["is_typing"], false);
    // Typing into a room one is not in is an error.
    let other = app.register("client").await;
    let elsewhere = app.dm(&bob, &other).await;
    a.send(json!({"type": "typing", "room_id": elsewhere, "is_typing": true, "ref": "t"}))
        .await;
    let error = a.recv_type("error").await;
    assert_eq!(
        (error["code"].as_str(), error["ref"].as_str()),
        (Some("not_found"), Some("t"))
    );
    }
}

both_backends! {
    async fn mark_read_sends_receipts_and_fresh_counts_to_every_session(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        for i in 1..=3 {
            app.say(&anna, room, &format!("m{i}")).await;
        }
        let mut a = app.ws(&anna.access).await;
        subscribe(&mut a, room, None).await;
        let mut b1 = app.ws(&bob.access).await;
        assert_eq!(b1.initial_unread["chat"], json!({"total": 3, "rooms": {room.to_string(): 3}}));
        let mut b2 = app.ws(&bob.access).await;
        b1.send(json!({"type": "mark_read", "room_id": room, "seq": 2})).await;
        let receipt = a.recv_type("read_receipt").await;
        assert_eq!(receipt, json!({"type": "read_receipt", "room_id": room, "user_id": bob.id, "seq": 2}));
        for ws in [&mut b1, &mut b2] {
            let counts = ws.recv_type("unread_count").await;
            assert_eq!(counts["chat"], json!({"total": 1, "rooms": {room.to_string(): 1}}));
        }
        // A REST read from another device updates the sockets too.
        app.post(&format!("/api/chat/rooms/{room}/read/"), &bob.access, &json!({"seq": 3})).await.json_with(200).await;
        assert_eq!(b2.recv_type("unread_count").await["chat"]["total"], 0);
        b1.send(json!({"type": "get_unread_count", "ref": "g"})).await;
        assert_eq!(b1.recv_type("unread_count").await["chat"]["total"], 0);
    }
}

both_backends! {
    async fn unread_counts_are_pushed_for_rooms_the_session_does_not_watch(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let mut b = app.ws(&bob.access).await;
        app.say(&anna, room, "one").await;
        let counts = b.recv_type("unread_count").await;
        assert_eq!(counts["chat"]["rooms"][room.to_string()], 1);
        let frames = b.drain(Duration::from_millis(300)).await;
        assert!(message_seqs(&frames, room).is_empty(), "no new_message without a subscription");
        app.say(&bob, room, "my answer").await;
        assert_eq!(b.recv_type("unread_count").await["chat"]["total"], 0, "sending reads the room");
    }
}

both_backends! {
    async fn presence_follows_a_users_first_and_last_session(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let mut a = app.ws(&anna.access).await;
        subscribe(&mut a, room, None).await;
        let b1 = app.ws(&bob.access).await;
        let online = a.recv_type("presence").await;
        assert_eq!((online["user_id"].as_i64(), online["online"].as_bool()), (Some(bob.id), Some(true)));
        let b2 = app.ws(&bob.access).await;
        b1.close().await;
        let quiet: Vec<Value> = a.drain(Duration::from_millis(500)).await.into_iter().filter(|f| f["type"] == "presence").collect();
        assert!(quiet.is_empty(), "bob is still online on another session: {quiet:?}");
        b2.close().await;
        let offline = a.recv_type("presence").await;
        assert_eq!((offline["user_id"].as_i64(), offline["online"].as_bool()), (Some(bob.id), Some(false)));
        assert!(offline["last_seen"].is_string());
        // A new subscriber learns who is online already.
        let _b3 = app.ws(&bob.access).await;
        let mut late = app.ws(&anna.access).await;
        late.send(json!({"type": "subscribe_room", "room_id": room})).await;
        let frames = late.drain(Duration::from_millis(500)).await;
        assert!(frames.iter().any(|f| f["type"] == "presence" && f["user_id"] == bob.id && f["online"] == true), "{frames:?}");
    }
}

both_backends! {
    async fn edits_and_deletes_reach_subscribers(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let mut a = app.ws(&anna.access).await;
        let mut b = app.ws(&bob.access).await;
        subscribe(&mut a, room, None).await;
        subscribe(&mut b, room, None).await;
        a.send(json!({"type": "send_message", "room_id": room, "content": "tpyo", "client_msg_id": "e1"})).await;
        let id = a.recv_type("message_ack").await["message"]["id"].as_i64().unwrap();
        b.recv_type("new_message").await;
        a.send(json!({"type": "edit_message", "message_id": id, "content": "typo"})).await;
        let updated = b.recv_type("message_updated").await;
        assert_eq!((updated["room_id"].as_i64(), updated["message"]["content"].as_str()), (Some(room), Some("typo")));
        assert!(updated["message"]["edited_at"].is_string());
        assert_eq!(a.recv_type("message_updated").await["message"]["is_own_message"], true);
        b.send(json!({"type": "edit_message", "message_id": id, "content": "mine", "ref": "x"})).await;
        assert_eq!(b.recv_type("error").await["code"], "not_sender");
        a.send(json!({"type": "delete_message", "message_id": id})).await;
        let deleted = b.recv_type("message_deleted").await;
        assert_eq!((deleted["message"]["deleted"].as_bool(), deleted["message"]["content"].as_str()), (Some(true), Some("")));
    }
}

both_backends! {
    async fn a_member_who_loses_access_stops_receiving_and_is_told(app) {
        let owner = app.register("client").await;
        let member = app.register("cleaner").await;
        let room = app.create_room(&owner, "private", &[&member]).await;
        let mut m = app.ws(&member.access).await;
        subscribe(&mut m, room, None).await;
        app.delete(&format!("/api/chat/rooms/{room}/participants/{}/", member.id), &owner.access).await.json_with(204).await;
        let updated = m.recv_type("room_updated").await;
        assert_eq!((updated["room"]["id"].as_i64(), updated["member"].as_bool()), (Some(room), Some(false)));
        app.say(&owner, room, "after you left").await;
        let frames = m.drain(Duration::from_millis(500)).await;
        assert!(frames.iter().all(|f| !f.to_string().contains("after you left")), "{frames:?}");
        m.send(json!({"type": "subscribe_room", "room_id": room, "ref": "again"})).await;
        assert_eq!(m.recv_type("error").await["code"], "not_found");
        m.send(json!({"type": "send_message", "room_id": room, "content": "let me in", "client_msg_id": "x1"})).await;
        assert_eq!(m.recv_type("error").await["code"], "not_found");
        // Added back: the session learns of the room without reconnecting.
        app.post(&format!("/api/chat/rooms/{room}/participants/"), &owner.access, &json!({"user_id": member.id})).await.json_with(201).await;
        let back = m.recv_type("room_updated").await;
        assert_eq!(back["member"], true);
        subscribe(&mut m, room, None).await;
        app.say(&owner, room, "welcome back").await;
        assert_eq!(m.recv_type("new_message").await["message"]["content"], "welcome back");
    }
}

both_backends! {
    async fn closed_rooms_refuse_socket_sends_and_tell_subscribers(app) {
        let owner = app.register("client").await;
        let member = app.register("cleaner").await;
        let room = app.create_room(&owner, "private", &[&member]).await;
        let mut m = app.ws(&member.access).await;
        subscribe(&mut m, room, None).await;
        app.patch(&format!("/api/chat/rooms/{room}/"), &owner.access, &json!({"state": "read_only"})).await.json_with(200).await;
        let updated = m.recv_type("room_updated").await;
        assert_eq!(updated["room"]["state"], "read_only");
        m.send(json!({"type": "send_message", "room_id": room, "content": "hello?", "client_msg_id": "r1", "ref": "s"})).await;
        let error = m.recv_type("error").await;
        assert_eq!((error["code"].as_str(), error["room_id"].as_i64(), error["ref"].as_str()), (Some("room_read_only"), Some(room), Some("s")));
        app.delete(&format!("/api/chat/rooms/{room}/"), &owner.access).await.json_with(204).await;
        assert_eq!(m.recv_type("room_updated").await["room"]["state"], "archived");
        m.send(json!({"type": "send_message", "room_id": room, "content": "hello?", "client_msg_id": "r2"})).await;
        assert_eq!(m.recv_type("error").await["code"], "room_archived");
    }
}

both_backends! {
    async fn an_outsider_cannot_use_any_room_operation(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let eve = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let message = app.say(&anna, room, "for bob only").await;
        let mid = message["id"].as_i64().unwrap();
        let mut e = app.ws(&eve.access).await;
        let attempts = [
            json!({"type": "subscribe_room", "room_id": room, "since_seq": 0}),
            json!({"type": "unsubscribe_room", "room_id": room}),
            json!({"type": "send_message", "room_id": room, "content": "spam", "client_msg_id": "e1"}),
            json!({"type": "typing", "room_id": room, "is_typing": true}),
            json!({"type": "mark_read", "room_id": room, "seq": 1}),
            json!({"type": "edit_message", "message_id": mid, "content": "x"}),
            json!({"type": "delete_message", "message_id": mid}),
        ];
        for (i, frame) in attempts.into_iter().enumerate() {
            let mut frame = frame;
            frame["ref"] = json!(format!("r{i}"));
            e.send(frame.clone()).await;
            let reply = e.recv().await;
            assert_eq!(reply["type"], "error", "{frame}: {reply}");
            assert_eq!(reply["code"], "not_found", "{frame}: {reply}");
            assert_eq!(reply["ref"], format!("r{i}"));
            assert!(!reply.to_string().contains("for bob only"));
        }
        let history = app.get(&format!("/api/chat/rooms/{room}/messages/"), &bob.access).await.json_with(200).await;
        assert_eq!(history["results"].as_array().unwrap().len(), 1);
        assert_eq!(history["results"][0]["content"], "for bob only");
        assert_eq!(app.get("/api/chat/unread/", &bob.access).await.json_with(200).await["total"], 1);
    }
}

both_backends_with! {
    |f| f.merge(Serialized::default("ws.outbound_queue", 16)),
    async fn a_client_that_stops_reading_is_closed_with_4008_and_others_are_unaffected(app) {
    let anna = app.register("client").await;
    let bob = app.register("cleaner").await;
    let carol = app.register("cleaner").await;
    let room = app.create_room(&anna, "private", &[&bob, &carol]).await;
    let mut slow = app.ws(&bob.access).await;
    subscribe(&mut slow, room, None).await;
    let mut healthy = app.ws(&carol.access).await;
    subscribe(&mut healthy, room, None).await;
    let big = "b".repeat(3900);
    let total = 1500;
    let reader = async {
        let mut seqs = Vec::new();
        while seqs.len() < total {
            let frame = healthy.recv().await;
            if frame["type"] == "new_message" {
                seqs.push(frame["message"]["seq"].as_i64().unwrap());
            }
        }
        seqs
    };
    let writer = async {
        for _ in 0..total {
            app.say(&anna, room, &big).await;
        }
    };
    let (seqs, ()) = tokio::join!(reader, writer);
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());
    // The slow client never read: it was cut off.
    let (code, reason) = slow.closed().await;
    assert_eq!(code, 4008, "{reason}");
    }
}

both_backends_with! {
    |f| f.merge(Serialized::default("ws.rate_per_s", 5.0)).merge(Serialized::default("ws.rate_burst", 5.0)).merge(Serialized::default("ws.abuse_limit", 10)),
    async fn flooding_frames_is_rate_limited_then_closed(app) {
    let anna = app.register("client").await;
    let mut ws = app.ws(&anna.access).await;
    for _ in 0..8 {
        ws.send(json!({"type": "ping"})).await;
    }
    let frames = ws.drain(Duration::from_millis(300)).await;
    let counts: BTreeMap<String, usize> = frames.iter().fold(BTreeMap::new(), |mut m, f| {
        let key = if f["type"] == "error" {
            f["code"].as_str().unwrap().to_owned()
        } else {
            f["type"].as_str().unwrap().to_owned()
        };
        *m.entry(key).or_default() += 1;
        m
    });
    assert_eq!(counts.get("pong"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("rate_limited"), Some(&3), "{counts:?}");
    for _ in 0..30 {
        ws.send(json!({"type": "ping"})).await;
    }
    assert_eq!(ws.closed().await.0, 4008);
    }
}

both_backends_with! {
    |f| f.merge(Serialized::default("ws.heartbeat_s", 1)),
    async fn a_silent_client_is_dropped_after_two_heartbeats(app) {
    let anna = app.register("client").await;
    let stream = eclean_tests::ws::open(&app.ws_url(&format!("/ws/?token={}", anna.access)), &[])
        .await
        .unwrap();
    // Not reading means not answering pings: after 2 × 1 s the server gives up.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let mut client = WsClient::from_stream(stream);
    let (code, reason) = client.closed().await;
    assert_eq!(code, 1001, "{reason}");
    // A client that reads (and so answers pings) stays.
    let mut ws = app.ws(&anna.access).await;
    ws.expect_silence(Duration::from_millis(3000)).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await["type"], "pong");
    }
}

both_backends! {
    async fn a_session_that_drops_out_resumes_with_since_seq_and_misses_nothing(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let total = 40;
        let mut b = app.ws(&bob.access).await;
        subscribe(&mut b, room, None).await;
        // Anna keeps sending while Bob drops out and comes back.
        let sender = async {
            for i in 1..=total {
                app.say(&anna, room, &format!("m{i}")).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let receiver = async {
            let mut seen = Vec::new();
            while seen.len() < 10 {
                let frame = b.recv().await;
                if frame["type"] == "new_message" {
                    seen.push(frame["message"]["seq"].as_i64().unwrap());
                }
            }
            let last = *seen.last().unwrap();
            b.close().await;
            tokio::time::sleep(Duration::from_millis(150)).await;
            let mut again = app.ws(&bob.access).await;
            subscribe(&mut again, room, Some(last)).await;
            while seen.len() < total as usize {
                let frame = again.recv().await;
                if frame["type"] == "new_message" {
                    seen.push(frame["message"]["seq"].as_i64().unwrap());
                }
            }
            let extra = message_seqs(&again.drain(Duration::from_millis(400)).await, room);
            (seen, extra)
        };
        let ((), (seen, extra)) = tokio::join!(sender, receiver);
        assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "every message once, in order, across the reconnect");
        assert!(extra.is_empty(), "duplicates after the end: {extra:?}");
    }
}

both_backends! {
    async fn parallel_retries_of_one_client_msg_id_store_one_message(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let mut b = app.ws(&bob.access).await;
        subscribe(&mut b, room, None).await;
        let body = json!({"content": "only once", "client_msg_id": "retry-me"});
        let path = format!("/api/chat/rooms/{room}/send_message/");
        let rest = (0..6).map(|_| app.post(&path, &anna.access, &body));
        let mut sockets = Vec::new();
        for _ in 0..3 {
            sockets.push(app.ws(&anna.access).await);
        }
        let socket_sends = sockets.iter_mut().map(|ws| async move {
            ws.send(json!({"type": "send_message", "room_id": room, "content": "only once", "client_msg_id": "retry-me"})).await;
            ws.recv_type("message_ack").await["message"]["id"].as_i64().unwrap()
        });
        let (responses, acked) = tokio::join!(futures_util::future::join_all(rest), futures_util::future::join_all(socket_sends));
        let mut ids = std::collections::BTreeSet::new();
        let mut created = 0;
        for response in responses {
            if response.status() == 201 {
                created += 1;
            }
            ids.insert(response.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
        }
        ids.extend(acked);
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert!(created <= 1);
        let history = app.get(&format!("/api/chat/rooms/{room}/messages/"), &bob.access).await.json_with(200).await;
        assert_eq!(history["results"].as_array().unwrap().len(), 1);
        assert_eq!(message_seqs(&b.drain(Duration::from_millis(500)).await, room), vec![1]);
    }
}
