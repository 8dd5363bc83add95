//! Chat over REST: rooms, membership, messages, cursors — and every authorization rule attacked.

use eclean_tests::{ResponseExt, both_backends, both_backends_with};
use serde_json::{Value, json};

both_backends! {
    async fn rooms_are_created_listed_and_shown_to_members_only(app) {
        let owner = app.register("client").await;
        let member = app.register("cleaner").await;
        let outsider = app.register("cleaner").await;
        let room = app.create_room(&owner, "private", &[&member]).await;
        let shown = app.get(&format!("/api/chat/rooms/{room}/"), &member.access).await.json_with(200).await;
        assert_eq!(shown["room_type"], "general");
        assert_eq!(shown["visibility"], "private");
        assert_eq!(shown["state"], "active");
        assert_eq!(shown["last_seq"], 0);
        assert_eq!(shown["unread_count"], 0);
        let people: Vec<(i64, String)> = shown["participants"].as_array().unwrap().iter()
            .map(|p| (p["user"]["id"].as_i64().unwrap(), p["role"].as_str().unwrap().to_owned())).collect();
        assert!(people.contains(&(owner.id, "owner".into())) && people.contains(&(member.id, "member".into())), "{people:?}");
        app.get(&format!("/api/chat/rooms/{room}/"), &outsider.access).await.error_with(404, "not_found").await;
        app.get("/api/chat/rooms/987654/", &owner.access).await.error_with(404, "not_found").await;
        app.get("/api/chat/rooms/abc/", &owner.access).await.error_with(404, "not_found").await;
        let list = app.get("/api/chat/rooms/", &member.access).await.json_with(200).await;
        assert_eq!(list["results"].as_array().unwrap().len(), 1);
        assert_eq!(list["has_more"], false);
        assert!(app.get("/api/chat/rooms/", &outsider.access).await.json_with(200).await["results"].as_array().unwrap().is_empty());
    }
}

both_backends! {
    async fn room_creation_validates_its_input(app) {
        let owner = app.register("client").await;
        let bad = [
            (json!({"room_type": "job", "name": "x"}), "room_type"),
            (json!({"room_type": "direct", "name": "x"}), "room_type"),
            (json!({"room_type": "nonsense", "name": "x"}), "room_type"),
            (json!({"room_type": "general", "name": "   "}), "name"),
            (json!({"room_type": "general", "name": "x", "visibility": "secret"}), "visibility"),
            (json!({"room_type": "support", "name": "x", "visibility": "public"}), "visibility"),
            (json!({"room_type": "general", "name": "x", "member_ids": [987654]}), "member_ids"),
        ];
        for (body, field) in bad {
            let error = app.post("/api/chat/rooms/", &owner.access, &body).await.error_with(400, "validation_error").await;
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
        app.post("/api/chat/rooms/", &owner.access, &json!({"room_type": "general", "name": "x", "extra": 1})).await.error_with(400, "invalid_body").await;
        let name = format!("Public {}", eclean_tests::unique());
        app.post("/api/chat/rooms/", &owner.access, &json!({"room_type": "general", "name": name, "visibility": "public"})).await.json_with(201).await;
        app.post("/api/chat/rooms/", &owner.access, &json!({"room_type": "general", "name": name.to_uppercase(), "visibility": "public"}))
            .await.error_with(409, "room_name_taken").await;
        assert_eq!(app.get("/api/chat/rooms/", &owner.access).await.json_with(200).await["results"].as_array().unwrap().len(), 1);
    }
}

both_backends! {
    async fn only_the_owner_or_an_admin_changes_or_archives_a_room(app) {
        let owner = app.register("client").await;
        let member = app.register("cleaner").await;
        let outsider = app.register("cleaner").await;
        let admin = app.admin().await;
        let room = app.create_room(&owner, "private", &[&member]).await;
        let path = format!("/api/chat/rooms/{room}/");
        app.patch(&path, &member.access, &json!({"name": "mine now"})).await.error_with(403, "not_owner").await;
        app.patch(&path, &outsider.access, &json!({"name": "mine now"})).await.error_with(404, "not_found").await;
        app.delete(&path, &member.access).await.error_with(403, "not_owner").await;
        app.delete(&path, &outsider.access).await.error_with(404, "not_found").await;
        let unchanged = app.get(&path, &owner.access).await.json_with(200).await;
        assert_eq!(unchanged["state"], "active");
        assert!(unchanged["name"].as_str().unwrap().starts_with("room-"));
        let renamed = app.patch(&path, &owner.access, &json!({"name": "Renamed", "visibility": "public"})).await.json_with(200).await;
        assert_eq!((renamed["name"].as_str(), renamed["visibility"].as_str()), (Some("Renamed"), Some("public")));
        app.patch(&path, &owner.access, &json!({"state": "frozen"})).await.error_with(400, "validation_error").await;
        app.patch(&path, &admin.access, &json!({"state": "read_only"})).await.json_with(200).await;
        app.post(&format!("{path}send_message/"), &member.access, &json!({"content": "hi"})).await.error_with(409, "room_read_only").await;
        app.delete(&path, &owner.access).await.json_with(204).await;
        app.post(&format!("{path}send_message/"), &owner.access, &json!({"content": "hi"})).await.error_with(409, "room_archived").await;
        assert!(app.get("/api/chat/rooms/", &owner.access).await.json_with(200).await["results"].as_array().unwrap().is_empty());
        let archived = app.get("/api/chat/rooms/?include_archived=true", &owner.access).await.json_with(200).await;
        assert_eq!(archived["results"][0]["state"], "archived");
    }
}

both_backends! {
    async fn direct_rooms_are_one_per_pair(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let first = app.post("/api/chat/rooms/start_dm/", &anna.access, &json!({"user_id": bob.id})).await.json_with(201).await;
        assert_eq!(first["created"], true);
        assert_eq!(first["room"]["room_type"], "direct");
        let again = app.post("/api/chat/rooms/start_dm/", &bob.access, &json!({"user_id": anna.id})).await.json_with(200).await;
        assert_eq!(again["created"], false);
        assert_eq!(again["room"]["id"], first["room"]["id"]);
        app.post("/api/chat/rooms/start_dm/", &anna.access, &json!({"user_id": anna.id})).await.error_with(400, "validation_error").await;
        app.post("/api/chat/rooms/start_dm/", &anna.access, &json!({"user_id": 987654})).await.error_with(400, "validation_error").await;
        app.post("/api/chat/rooms/start_dm/", &anna.access, &json!({"user_id": "bob"})).await.error_with(400, "invalid_body").await;
        // Members of a direct room are fixed.
        let carol = app.register("client").await;
        let room = first["room"]["id"].as_i64().unwrap();
        app.post(&format!("/api/chat/rooms/{room}/participants/"), &anna.access, &json!({"user_id": carol.id})).await.error_with(409, "fixed_membership").await;
    }
}

both_backends! {
    async fn concurrent_start_dm_calls_give_one_room(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let calls = (0..8).map(|i| {
            let (from, to) = if i % 2 == 0 { (&anna, &bob) } else { (&bob, &anna) };
            let body = json!({"user_id": to.id});
            let token = from.access.clone();
            let app = &app;
            async move { app.post("/api/chat/rooms/start_dm/", &token, &body).await.json::<Value>().await.unwrap() }
        });
        let rooms: std::collections::BTreeSet<i64> = futures_util::future::join_all(calls)
            .await
            .iter()
            .map(|r| r["room"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(rooms.len(), 1, "{rooms:?}");
    }
}

both_backends! {
    async fn messages_are_sent_validated_and_retried_idempotently(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let send = format!("/api/chat/rooms/{room}/send_message/");
        let first = app.post(&send, &anna.access, &json!({"content": "Hello Bob", "client_msg_id": "c-1"})).await.json_with(201).await;
        assert_eq!(first["seq"], 1);
        assert_eq!(first["room"], room);
        assert_eq!(first["message_type"], "text");
        assert_eq!(first["sender"]["id"], anna.id);
        assert_eq!(first["sender"]["username"], anna.username.as_str());
        assert_eq!(first["is_own_message"], true);
        assert_eq!(first["deleted"], false);
        assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
        let retry = app.post(&send, &anna.access, &json!({"content": "Hello Bob", "client_msg_id": "c-1"})).await.json_with(200).await;
        assert_eq!(retry["id"], first["id"]);
        for (body, field) in [
            (json!({"content": "  "}), "content"),
            (json!({"content": "x".repeat(4001)}), "content"),
            (json!({"content": "x", "message_type": "system"}), "message_type"),
            (json!({"content": "x", "message_type": "job_update"}), "message_type"),
            (json!({"content": "x", "message_type": "video"}), "message_type"),
            (json!({"content": "x", "client_msg_id": "has spaces"}), "client_msg_id"),
            (json!({"content": "x", "reply_to": 987654}), "reply_to"),
            (json!({"content": "x", "attachment_id": 3}), "attachment_id"),
        ] {
            let error = app.post(&send, &anna.access, &body).await.error_with(400, "validation_error").await;
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
        app.post(&send, &anna.access, &json!({"content": 5})).await.error_with(400, "invalid_body").await;
        let exactly = app.post(&send, &anna.access, &json!({"content": "y".repeat(4000), "message_type": "file"})).await.json_with(201).await;
        assert_eq!(exactly["seq"], 2, "refused sends allocate no seq");
        let history = app.get(&format!("/api/chat/rooms/{room}/messages/"), &bob.access).await.json_with(200).await;
        assert_eq!(history["results"].as_array().unwrap().len(), 2);
        assert_eq!(history["results"][0]["is_own_message"], false);
    }
}

both_backends! {
    async fn replies_stay_inside_their_room(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let carol = app.register("cleaner").await;
        let ours = app.dm(&anna, &bob).await;
        let theirs = app.dm(&bob, &carol).await;
        let secret = app.say(&bob, theirs, "the secret between bob and carol").await;
        let quoted = app.say(&anna, ours, "first").await;
        let send = format!("/api/chat/rooms/{ours}/send_message/");
        let leak = app.post(&send, &anna.access, &json!({"content": "what?", "reply_to": secret["id"]})).await.error_with(400, "validation_error").await;
        assert!(!leak.to_string().contains("secret between"), "{leak}");
        let reply = app.post(&send, &bob.access, &json!({"content": "answer", "reply_to": quoted["id"]})).await.json_with(201).await;
        assert_eq!(reply["reply_to"]["id"], quoted["id"]);
        assert_eq!(reply["reply_to"]["content"], "first");
        assert_eq!(reply["reply_to"]["sender"]["id"], anna.id);
        let long = app.say(&anna, ours, &"z".repeat(300)).await;
        let reply = app.post(&send, &bob.access, &json!({"content": "ok", "reply_to": long["id"]})).await.json_with(201).await;
        assert_eq!(reply["reply_to"]["content"].as_str().unwrap().chars().count(), 100);
    }
}

both_backends! {
    async fn history_is_paged_by_sequence_and_reading_it_marks_nothing(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        for i in 1..=7 {
            app.say(&anna, room, &format!("m{i}")).await;
        }
        let seqs = |page: &Value| page["results"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect::<Vec<_>>();
        let base = format!("/api/chat/rooms/{room}/messages/");
        let latest = app.get(&format!("{base}?limit=3"), &bob.access).await.json_with(200).await;
        assert_eq!((seqs(&latest), latest["has_more"].as_bool(), latest["next"].is_null()), (vec![5, 6, 7], Some(true), true));
        let before = app.get(&format!("{base}?before=5&limit=3"), &bob.access).await.json_with(200).await;
        assert_eq!((seqs(&before), before["has_more"].as_bool()), (vec![2, 3, 4], Some(true)));
        let after = app.get(&format!("{base}?after=4&limit=10"), &bob.access).await.json_with(200).await;
        assert_eq!((seqs(&after), after["has_more"].as_bool()), (vec![5, 6, 7], Some(false)));
        app.get(&format!("{base}?before=3&after=1"), &bob.access).await.error_with(400, "validation_error").await;
        app.get(&format!("{base}?limit=0"), &bob.access).await.error_with(400, "validation_error").await;
        app.get(&format!("{base}?limit=101"), &bob.access).await.error_with(400, "validation_error").await;
        app.get(&format!("{base}?after=-1"), &bob.access).await.error_with(400, "validation_error").await;
        app.get(&format!("{base}?after=x"), &bob.access).await.error_with(400, "invalid_query").await;
        let unread = app.get("/api/chat/unread/", &bob.access).await.json_with(200).await;
        assert_eq!(unread["total"], 7, "GETs never mark messages read: {unread}");
    }
}

both_backends! {
    async fn read_cursors_drive_unread_counts(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let mut ids = Vec::new();
        for i in 1..=5 {
            ids.push(app.say(&anna, room, &format!("m{i}")).await["id"].as_i64().unwrap());
        }
        let unread = app.get("/api/chat/unread/", &bob.access).await.json_with(200).await;
        assert_eq!(unread, json!({"total": 5, "rooms": {room.to_string(): 5}}));
        assert_eq!(app.get("/api/chat/unread/", &anna.access).await.json_with(200).await["total"], 0, "own messages are read");
        let read = app.post(&format!("/api/chat/rooms/{room}/read/"), &bob.access, &json!({"seq": 2})).await.json_with(200).await;
        assert_eq!(read, json!({"room_id": room, "seq": 2, "unread_count": 3}));
        let back = app.post(&format!("/api/chat/rooms/{room}/read/"), &bob.access, &json!({"seq": 1})).await.json_with(200).await;
        assert_eq!(back["seq"], 2, "cursors never move back");
        let by_message = app.post(&format!("/api/chat/messages/{}/mark_read/", ids[3]), &bob.access, &json!({})).await.json_with(200).await;
        assert_eq!((by_message["seq"].as_i64(), by_message["unread_count"].as_i64()), (Some(4), Some(1)));
        let beyond = app.post(&format!("/api/chat/rooms/{room}/read/"), &bob.access, &json!({"seq": 500})).await.json_with(200).await;
        assert_eq!((beyond["seq"].as_i64(), beyond["unread_count"].as_i64()), (Some(5), Some(0)));
        app.post(&format!("/api/chat/rooms/{room}/read/"), &bob.access, &json!({"seq": -1})).await.error_with(400, "validation_error").await;
        app.post(&format!("/api/chat/rooms/{room}/read/"), &bob.access, &json!({"seq": "x"})).await.error_with(400, "invalid_body").await;
        // Sending moves the sender's cursor.
        app.say(&anna, room, "m6").await;
        app.say(&bob, room, "reply").await;
        assert_eq!(app.get("/api/chat/unread/", &bob.access).await.json_with(200).await["total"], 0);
        assert_eq!(app.get("/api/chat/unread/", &anna.access).await.json_with(200).await["total"], 1);
        let listed = app.get("/api/chat/rooms/", &anna.access).await.json_with(200).await;
        assert_eq!(listed["results"][0]["unread_count"], 1);
        assert_eq!(listed["results"][0]["last_message"]["content"], "reply");
    }
}

both_backends! {
    async fn edits_are_for_the_sender_and_deletes_leave_tombstones(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let admin = app.admin().await;
        let room = app.dm(&anna, &bob).await;
        let message = app.say(&anna, room, "typo").await;
        let path = format!("/api/chat/messages/{}/", message["id"]);
        app.patch(&path, &bob.access, &json!({"content": "hijack"})).await.error_with(403, "not_sender").await;
        app.patch(&path, &anna.access, &json!({"content": " "})).await.error_with(400, "validation_error").await;
        let edited = app.patch(&path, &anna.access, &json!({"content": "fixed"})).await.json_with(200).await;
        assert_eq!(edited["content"], "fixed");
        assert!(edited["edited_at"].is_string());
        assert_eq!(app.get(&path, &bob.access).await.json_with(200).await["content"], "fixed");
        app.delete(&path, &bob.access).await.error_with(403, "not_sender").await;
        app.delete(&path, &anna.access).await.json_with(204).await;
        let tombstone = app.get(&path, &bob.access).await.json_with(200).await;
        assert_eq!((tombstone["deleted"].as_bool(), tombstone["content"].as_str(), tombstone["seq"].as_i64()), (Some(true), Some(""), Some(1)));
        app.delete(&path, &anna.access).await.error_with(409, "message_deleted").await;
        app.patch(&path, &anna.access, &json!({"content": "again"})).await.error_with(409, "message_deleted").await;
        // Admins moderate any message.
        let rude = app.say(&bob, room, "rude").await;
        app.delete(&format!("/api/chat/messages/{}/", rude["id"]), &admin.access).await.json_with(204).await;
        app.get("/api/chat/messages/987654/", &anna.access).await.error_with(404, "not_found").await;
    }
}

both_backends_with! {
    |f| {
        f.merge(figment::providers::Serialized::default("chat.edit_window_s", 1))
    },
    async fn the_edit_window_closes(app) {
    let anna = app.register("client").await;
    let bob = app.register("cleaner").await;
    let room = app.dm(&anna, &bob).await;
    let message = app.say(&anna, room, "soon stale").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    app.patch(
        &format!("/api/chat/messages/{}/", message["id"]),
        &anna.access,
        &json!({"content": "late"}),
    )
    .await
    .error_with(409, "edit_window_passed")
    .await;
    }
}

both_backends_with! {
    |f| {
        f.merge(figment::providers::Serialized::default("chat.max_message_chars", 10))
    },
    async fn the_content_limit_is_configurable(app) {
    let anna = app.register("client").await;
    let bob = app.register("cleaner").await;
    let room = app.dm(&anna, &bob).await;
    app.say(&anna, room, "0123456789").await;
    app.post(
        &format!("/api/chat/rooms/{room}/send_message/"),
        &anna.access,
        &json!({"content": "01234567890"}),
    )
    .await
    .error_with(400, "validation_error")
    .await;
    }
}

both_backends! {
    async fn membership_is_managed_by_owners_and_public_rooms_are_joinable(app) {
        let owner = app.register("client").await;
        let member = app.register("cleaner").await;
        let newcomer = app.register("cleaner").await;
        let stranger = app.register("client").await;
        let private = app.create_room(&owner, "private", &[&member]).await;
        let path = format!("/api/chat/rooms/{private}/participants/");
        app.post(&path, &member.access, &json!({"user_id": newcomer.id})).await.error_with(403, "not_owner").await;
        app.post(&path, &stranger.access, &json!({"user_id": stranger.id})).await.error_with(404, "not_found").await;
        app.post(&path, &stranger.access, &json!({"user_id": newcomer.id})).await.error_with(404, "not_found").await;
        app.get(&path, &stranger.access).await.error_with(404, "not_found").await;
        assert_eq!(app.get(&path, &member.access).await.json_with(200).await.as_array().unwrap().len(), 2);
        let added = app.post(&path, &owner.access, &json!({"user_id": newcomer.id})).await.json_with(201).await;
        assert_eq!(added["user"]["id"], newcomer.id);
        app.post(&path, &owner.access, &json!({"user_id": newcomer.id})).await.error_with(409, "already_member").await;
        app.post(&path, &owner.access, &json!({"user_id": 987654})).await.error_with(400, "validation_error").await;
        app.delete(&format!("{path}{}/", newcomer.id), &member.access).await.error_with(403, "not_owner").await;
        app.delete(&format!("{path}{}/", owner.id), &owner.access).await.error_with(409, "owner_cannot_leave").await;
        app.delete(&format!("{path}{}/", newcomer.id), &owner.access).await.json_with(204).await;
        app.get(&format!("/api/chat/rooms/{private}/"), &newcomer.access).await.error_with(404, "not_found").await;
        app.delete(&format!("{path}{}/", member.id), &member.access).await.json_with(204).await;
        app.delete(&format!("{path}{}/", member.id), &owner.access).await.error_with(404, "not_found").await;
        let public = app.create_room(&owner, "public", &[]).await;
        app.post(&format!("/api/chat/rooms/{public}/participants/"), &stranger.access, &json!({"user_id": stranger.id})).await.json_with(201).await;
        app.say(&stranger, public, "hello all").await;
    }
}

both_backends! {
    async fn parallel_senders_get_gap_free_sequences_and_exact_unread_counts(app) {
        let owner = app.register("client").await;
        let mut members = Vec::new();
        for _ in 0..3 {
            members.push(app.register("cleaner").await);
        }
        let refs: Vec<&eclean_tests::TestUser> = members.iter().collect();
        let room = app.create_room(&owner, "private", &refs).await;
        let senders: Vec<&eclean_tests::TestUser> = std::iter::once(&owner).chain(members.iter()).collect();
        let sends = (0..40).map(|i| {
            let user = senders[i % senders.len()];
            let app = &app;
            async move { app.say(user, room, &format!("parallel {i}")).await["seq"].as_i64().unwrap() }
        });
        let mut seqs = futures_util::future::join_all(sends).await;
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
        let history = app.get(&format!("/api/chat/rooms/{room}/messages/?limit=100"), &owner.access).await.json_with(200).await;
        let stored: Vec<i64> = history["results"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(stored, (1..=40).collect::<Vec<_>>());
        // Each user's unread = messages by others after their own last message.
        for user in &senders {
            let mine: Vec<i64> = history["results"].as_array().unwrap().iter()
                .filter(|m| m["sender"]["id"] == user.id).map(|m| m["seq"].as_i64().unwrap()).collect();
            let cursor = mine.iter().max().copied().unwrap_or(0);
            let expected = history["results"].as_array().unwrap().iter()
                .filter(|m| m["seq"].as_i64().unwrap() > cursor && m["sender"]["id"] != user.id).count();
            let unread = app.get("/api/chat/unread/", &user.access).await.json_with(200).await;
            assert_eq!(unread["total"], expected as i64, "{}: {unread}", user.username);
        }
    }
}

both_backends! {
    async fn an_outsider_can_neither_read_nor_change_anything(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let eve = app.register("cleaner").await;
        let room = app.create_room(&anna, "private", &[&bob]).await;
        let message = app.say(&anna, room, "private words").await;
        let mid = message["id"].as_i64().unwrap();
        let before_room = app.get(&format!("/api/chat/rooms/{room}/"), &anna.access).await.json_with(200).await;
        let attempts: Vec<(reqwest::Response, u16)> = vec![
            (app.get(&format!("/api/chat/rooms/{room}/"), &eve.access).await, 404),
            (app.patch(&format!("/api/chat/rooms/{room}/"), &eve.access, &json!({"name": "pwned"})).await, 404),
            (app.delete(&format!("/api/chat/rooms/{room}/"), &eve.access).await, 404),
            (app.get(&format!("/api/chat/rooms/{room}/participants/"), &eve.access).await, 404),
            (app.post(&format!("/api/chat/rooms/{room}/participants/"), &eve.access, &json!({"user_id": eve.id})).await, 404),
            (app.delete(&format!("/api/chat/rooms/{room}/participants/{}/", bob.id), &eve.access).await, 404),
            (app.get(&format!("/api/chat/rooms/{room}/messages/"), &eve.access).await, 404),
            (app.post(&format!("/api/chat/rooms/{room}/send_message/"), &eve.access, &json!({"content": "spam"})).await, 404),
            (app.post(&format!("/api/chat/rooms/{room}/read/"), &eve.access, &json!({"seq": 1})).await, 404),
            (app.get(&format!("/api/chat/messages/{mid}/"), &eve.access).await, 404),
            (app.patch(&format!("/api/chat/messages/{mid}/"), &eve.access, &json!({"content": "x"})).await, 404),
            (app.delete(&format!("/api/chat/messages/{mid}/"), &eve.access).await, 404),
            (app.post(&format!("/api/chat/messages/{mid}/mark_read/"), &eve.access, &json!({})).await, 404),
        ];
        for (response, status) in attempts {
            let url = response.url().to_string();
            let body = response.json_with(status).await;
            assert!(!body.to_string().contains("private words"), "{url}: {body}");
        }
        // Anonymous and service callers are refused too.
        let anonymous = app.client.get(app.url(&format!("/api/chat/rooms/{room}/messages/"))).send().await.unwrap();
        anonymous.error_with(401, "not_authenticated").await;
        let service = eclean_tests::tokens::service_token("platform");
        app.get("/api/chat/rooms/", &service).await.error_with(403, "not_a_user").await;
        // Nothing changed.
        let after_room = app.get(&format!("/api/chat/rooms/{room}/"), &anna.access).await.json_with(200).await;
        assert_eq!(before_room["name"], after_room["name"]);
        assert_eq!(after_room["participants"].as_array().unwrap().len(), 2);
        assert_eq!(after_room["last_seq"], 1);
        let still = app.get(&format!("/api/chat/messages/{mid}/"), &bob.access).await.json_with(200).await;
        assert_eq!((still["content"].as_str(), still["deleted"].as_bool()), (Some("private words"), Some(false)));
        assert_eq!(app.get("/api/chat/unread/", &bob.access).await.json_with(200).await["total"], 1);
    }
}
