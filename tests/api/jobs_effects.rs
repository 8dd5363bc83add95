//! The effects around an event: all or nothing, fanned out in the background, rooms closing
//! after the grace period, access moving with a reassignment.

use std::time::Duration;

use eclean_tests::{ResponseExt, both_backends};
use serde_json::{Value, json};

use crate::jobs_support::{Job, Party, applied, lines};

both_backends! {
    async fn a_failure_inside_the_event_leaves_no_trace(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let job = Job::new(&client);
        for (kind, extra) in [
            ("job_created", json!({"notify_user_ids": []})),
            ("bid_placed", json!({"bid": {"cleaner_id": anna.id}})),
            ("bid_accepted", json!({"bid": {"cleaner_id": anna.id}})),
            ("job_confirmed", json!({})),
            ("job_started", json!({})),
            ("job_finished", json!({})),
        ] {
            applied(&app, &job.event(kind, extra)).await;
        }
        let path = format!("/api/jobs/{}/", job.id);
        let before = app.get(&path, &client.access).await.json_with(200).await;
        let room = before["rooms"][0]["id"].as_i64().unwrap();
        let history = format!("/api/chat/rooms/{room}/messages/");
        let messages_before = app.get(&history, &client.access).await.json_with(200).await["results"].as_array().unwrap().len();
        let (mut c, mut a) = (Party::connect(&app, &client).await, Party::connect(&app, &anna).await);

        app.fail_next_job_event("inject-failure").await;
        let mut rejected = job.event("completion_rejected", json!({"data": {"reason": "inject-failure"}}));
        app.job_event(&rejected).await.error_with(500, "internal_error").await;
        // No trace: the job, the cleaner's inbox, the room, the sessions.
        assert_eq!(app.get(&path, &client.access).await.json_with(200).await, before);
        let inbox = app.get("/api/notifications/?type=job_rejected", &anna.access).await.json_with(200).await;
        assert!(inbox["results"].as_array().unwrap().is_empty(), "{inbox}");
        assert_eq!(app.get(&history, &client.access).await.json_with(200).await["results"].as_array().unwrap().len(), messages_before);
        assert_eq!(c.heard().await, Vec::<String>::new());
        assert_eq!(a.heard().await, Vec::<String>::new());

        // The same event id applies once the failure is gone.
        rejected["data"]["reason"] = json!("Greasy oven");
        applied(&app, &rejected).await;
        let after = app.get(&path, &client.access).await.json_with(200).await;
        assert_eq!(after["status"], "in_progress");
        assert_eq!(a.heard().await, lines(&["job in_progress", "notification job_rejected urgent"]));
    }
}

both_backends! {
    async fn job_created_fans_out_to_five_thousand_cleaners_in_the_background(app) {
        const CLEANERS: usize = 5_000;
        let client = app.register("client").await;
        let ids = app.bulk_users("cleaner", CLEANERS).await;
        let mut sockets = Vec::new();
        for id in ids.iter().step_by(CLEANERS / 20) {
            sockets.push(app.ws(&eclean_tests::tokens::sign(&eclean_tests::tokens::access_claims(json!(id)))).await);
        }
        let mut c = Party::connect(&app, &client).await;
        let job = Job::new(&client);
        let created = job.event("job_created", json!({}));
        let answer = applied(&app, &created).await;
        assert_eq!(answer["notifications"], CLEANERS, "every active cleaner is targeted");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let unread = app.stored_unread(&ids).await;
            if unread.iter().all(|n| *n == 1) {
                break;
            }
            assert!(unread.iter().all(|n| *n <= 1), "nobody gets it twice");
            assert!(tokio::time::Instant::now() < deadline, "{} of {CLEANERS} stored", unread.iter().filter(|n| **n == 1).count());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for ws in &mut sockets {
            let frames = ws.drain(Duration::from_millis(300)).await;
            let pushed: Vec<&Value> = frames.iter().filter(|f| f["type"] == "new_notification").collect();
            assert_eq!(pushed.len(), 1, "{frames:?}");
            assert_eq!(pushed[0]["notification"]["notification_type"], "job_created");
            assert_eq!(pushed[0]["notification"]["object"], json!({"kind": "job", "id": job.id}));
        }
        assert_eq!(c.heard().await, lines(&["job open_for_bids"]), "the client is not among them");
        assert_eq!(app.stored_unread(&[client.id]).await, [0]);
        // Posting it again sends nothing more, and reports the count the fan-out reached.
        let again = app.job_event(&created).await.json_with(200).await;
        assert_eq!((again["applied"].as_bool(), again["notifications"].as_u64()), (Some(false), Some(CLEANERS as u64)));
        assert!(sockets[0].drain(Duration::from_millis(300)).await.iter().all(|f| f["type"] != "new_notification"));
        assert!(app.stored_unread(&ids).await.iter().all(|n| *n == 1));
    }
}

eclean_tests::both_backends_with! {
    |f| f.merge(figment::providers::Serialized::default("jobs.completed_room_grace_s", 1)),
    async fn a_completed_jobs_room_closes_after_the_grace_period(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let job = Job::new(&client);
        for (kind, extra) in [
            ("job_created", json!({"notify_user_ids": []})),
            ("bid_placed", json!({"bid": {"cleaner_id": anna.id}})),
            ("bid_accepted", json!({"bid": {"cleaner_id": anna.id}})),
            ("job_confirmed", json!({})),
            ("job_started", json!({})),
            ("job_finished", json!({})),
        ] {
            applied(&app, &job.event(kind, extra)).await;
        }
        let mut a = Party::connect(&app, &anna).await;
        applied(&app, &job.event("job_completed", json!({}))).await;
        let path = format!("/api/jobs/{}/", job.id);
        let room = app.get(&path, &anna.access).await.json_with(200).await["rooms"][0].clone();
        assert_eq!(room["state"], "active", "last words are still possible right after completion");
        let room_id = room["id"].as_i64().unwrap();
        app.post(&format!("/api/chat/rooms/{room_id}/send_message/"), &anna.access, &json!({"content": "Thanks!"})).await.json_with(201).await;
        // Within a few sweeps (every second here) the room turns read-only, live.
        let closed = a.ws.recv_type("room_updated").await;
        assert_eq!((closed["room"]["id"].as_i64(), closed["room"]["state"].as_str()), (Some(room_id), Some("read_only")));
        app.post(&format!("/api/chat/rooms/{room_id}/send_message/"), &anna.access, &json!({"content": "One more"})).await
            .error_with(409, "room_read_only").await;
        assert_eq!(app.get(&path, &client.access).await.json_with(200).await["rooms"][0]["state"], "read_only");
    }
}

both_backends! {
    async fn reassigning_the_cleaner_moves_room_access(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let ben = app.register("cleaner").await;
        let job = Job::new(&client);
        for (kind, extra) in [
            ("job_created", json!({"notify_user_ids": []})),
            ("bid_placed", json!({"bid": {"cleaner_id": anna.id}})),
            ("bid_placed", json!({"bid": {"cleaner_id": ben.id}})),
            ("bid_accepted", json!({"bid": {"cleaner_id": anna.id}})),
            ("job_confirmed", json!({})),
        ] {
            applied(&app, &job.event(kind, extra)).await;
        }
        let path = format!("/api/jobs/{}/", job.id);
        let anna_room = app.get(&path, &anna.access).await.json_with(200).await["rooms"][0]["id"].as_i64().unwrap();
        let (mut a, mut b) = (Party::connect(&app, &anna).await, Party::connect(&app, &ben).await);
        a.ws.send(json!({"type": "subscribe_room", "room_id": anna_room})).await;
        a.ws.recv_type("subscribed").await;
        // Ben keeps his (read-only) room from the first round open on screen.
        let all_rooms = app.get(&path, &client.access).await.json_with(200).await["rooms"].clone();
        let ben_room = all_rooms.as_array().unwrap().iter().find(|r| r["cleaner_id"] == ben.id).unwrap()["id"].as_i64().unwrap();
        assert_eq!(all_rooms.as_array().unwrap().iter().find(|r| r["id"] == ben_room).unwrap()["state"], "read_only");
        b.ws.send(json!({"type": "subscribe_room", "room_id": ben_room})).await;
        b.ws.recv_type("subscribed").await;
        b.rooms.push(ben_room);

        // The client takes Ben after all.
        applied(&app, &job.event("bid_accepted", json!({"bid": {"cleaner_id": ben.id}, "job": {"cleaner_id": ben.id, "status": "bid_accepted"}}))).await;
        // Anna leaves the room before the note about it is written: the client reads it, she is told
        // by her notification.
        assert_eq!(a.heard().await, lines(&["notification bid_rejected low", "room read_only (left)"]));
        let note = app.get("/api/notifications/?type=bid_rejected", &anna.access).await.json_with(200).await;
        assert!(note["results"][0]["message"].as_str().is_some(), "{note}");
        assert_eq!(b.heard().await, lines(&["job bid_accepted", "message The client accepted this bid.", "notification bid_accepted high", "room active"]));
        // Anna lost access to the room and the job; Ben has both.
        app.get(&format!("/api/chat/rooms/{anna_room}/"), &anna.access).await.error_with(404, "not_found").await;
        app.get(&format!("/api/chat/rooms/{anna_room}/messages/"), &anna.access).await.error_with(404, "not_found").await;
        app.get(&path, &anna.access).await.error_with(404, "not_found").await;
        let seen = app.get(&path, &ben.access).await.json_with(200).await;
        assert_eq!((seen["cleaner_id"].as_i64(), seen["status"].as_str()), (Some(ben.id), Some("bid_accepted")));
        assert_eq!((seen["rooms"][0]["id"].as_i64(), seen["rooms"][0]["state"].as_str()), (Some(ben_room), Some("active")), "his room reopened");
        app.post(&format!("/api/chat/rooms/{ben_room}/send_message/"), &ben.access, &json!({"content": "On my way"})).await.json_with(201).await;
        // The rest of the lifecycle is Ben's.
        applied(&app, &job.event("job_confirmed", json!({}))).await;
        assert_eq!(a.heard().await, Vec::<String>::new());
        assert!(b.heard().await.contains(&"message The cleaner confirmed the job.".to_owned()));
    }
}
