//! The job lifecycle end to end over real WebSockets: a client and two cleaners connected, every
//! event posted by the platform, and exactly what each of the three hears.

use eclean_tests::{ResponseExt, both_backends};
use serde_json::{Value, json};

use crate::jobs_support::{Job, Party, applied, lines};

both_backends! {
    async fn the_full_lifecycle_reaches_exactly_the_right_people(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let ben = app.register("cleaner").await;
        let outsider = app.register("cleaner").await;
        let job = Job::new(&client);
        let (mut c, mut a, mut b) = (Party::connect(&app, &client).await, Party::connect(&app, &anna).await, Party::connect(&app, &ben).await);

        // Created, targeted at the two cleaners (fanned out in the background).
        let created = applied(&app, &job.event("job_created", json!({"notify_user_ids": [anna.id, ben.id]}))).await;
        assert_eq!((created["applied"].as_bool(), created["notifications"].as_u64()), (Some(true), Some(2)));
        assert_eq!(created["job"]["status"], "open_for_bids");
        assert_eq!(c.heard().await, lines(&["job open_for_bids"]));
        assert_eq!(a.heard().await, lines(&["notification job_created medium"]));
        assert_eq!(b.heard().await, lines(&["notification job_created medium"]));

        // Two bids: each opens a room between the client and that bidder.
        applied(&app, &job.event("bid_placed", json!({"bid": {"cleaner_id": anna.id, "status": "pending"}}))).await;
        assert_eq!(c.heard().await, lines(&["job open_for_bids", "notification bid_received medium", "room active"]));
        assert_eq!(a.heard().await, lines(&["job open_for_bids", "room active"]));
        assert_eq!(b.heard().await, Vec::<String>::new());
        applied(&app, &job.event("bid_placed", json!({"bid": {"cleaner_id": ben.id}}))).await;
        assert_eq!(c.heard().await, lines(&["job open_for_bids", "notification bid_received medium", "room active"]));
        assert_eq!(a.heard().await, lines(&["job open_for_bids"]));
        assert_eq!(b.heard().await, lines(&["job open_for_bids", "room active"]));

        // Anna wins; Ben's room turns read-only and he hears nothing more of this job.
        applied(&app, &job.event("bid_accepted", json!({"bid": {"cleaner_id": anna.id}, "job": {"cleaner_id": anna.id, "status": "bid_accepted"}}))).await;
        assert_eq!(a.heard().await, lines(&["job bid_accepted", "message The client accepted this bid.", "notification bid_accepted high"]));
        assert_eq!(c.heard().await, lines(&["job bid_accepted", "message The client accepted this bid.", "room read_only"]));
        assert_eq!(b.heard().await, lines(&["notification bid_rejected low", "room read_only"]));

        let steps: [(&str, Value, &[&str], &[&str]); 7] = [
            ("job_confirmed", json!({}), &["job confirmed", "message The cleaner confirmed the job.", "notification job_confirmed high"], &["job confirmed", "message The cleaner confirmed the job."]),
            ("job_started", json!({}), &["job in_progress", "message Work has started.", "notification job_started high"], &["job in_progress", "message Work has started."]),
            ("job_finished", json!({}), &["job awaiting_review", "message The cleaner finished. Waiting for the client's review.", "notification job_finished high"], &["job awaiting_review", "message The cleaner finished. Waiting for the client's review."]),
            ("completion_rejected", json!({"data": {"reason": "The oven is still greasy"}}), &["job in_progress", "message The client asked for changes: The oven is still greasy"], &["job in_progress", "message The client asked for changes: The oven is still greasy", "notification job_rejected urgent"]),
            ("job_finished", json!({}), &["job awaiting_review", "message The cleaner finished. Waiting for the client's review.", "notification job_finished high"], &["job awaiting_review", "message The cleaner finished. Waiting for the client's review."]),
            ("job_completed", json!({}), &["job completed", "message The client accepted the work. The job is complete.", "notification job_completed high"], &["job completed", "message The client accepted the work. The job is complete.", "notification job_completed medium"]),
            ("payment_received", json!({"data": {"amount": "80.00"}}), &["job completed"], &["job completed", "notification payment_received medium"]),
        ];
        for (kind, extra, for_client, for_anna) in steps {
            let answer = applied(&app, &job.event(kind, extra)).await;
            assert_eq!(answer["applied"], true, "{kind}");
            assert_eq!(c.heard().await, lines(for_client), "client after {kind}");
            assert_eq!(a.heard().await, lines(for_anna), "anna after {kind}");
            assert_eq!(b.heard().await, Vec::<String>::new(), "the losing bidder after {kind}");
        }

        // The inboxes, as REST shows them.
        let kinds = |inbox: Value| -> Vec<String> {
            let mut k: Vec<String> = inbox["results"].as_array().unwrap().iter().map(|n| n["notification_type"].as_str().unwrap().to_owned()).collect();
            k.sort();
            k
        };
        let client_inbox = app.get("/api/notifications/?limit=100", &client.access).await.json_with(200).await;
        assert_eq!(kinds(client_inbox.clone()), lines(&["bid_received", "bid_received", "job_completed", "job_confirmed", "job_finished", "job_finished", "job_started"]));
        let bid_note = client_inbox["results"].as_array().unwrap().iter().find(|n| n["notification_type"] == "bid_received").unwrap();
        assert_eq!(bid_note["object"], json!({"kind": "job", "id": job.id}));
        let anna_inbox = app.get("/api/notifications/?limit=100", &anna.access).await.json_with(200).await;
        assert_eq!(kinds(anna_inbox.clone()), lines(&["bid_accepted", "job_completed", "job_created", "job_rejected", "payment_received"]));
        let rejected = anna_inbox["results"].as_array().unwrap().iter().find(|n| n["notification_type"] == "job_rejected").unwrap();
        assert!(rejected["message"].as_str().unwrap().contains("The oven is still greasy"), "{rejected}");
        assert_eq!(kinds(app.get("/api/notifications/", &ben.access).await.json_with(200).await), lines(&["bid_rejected", "job_created"]));

        // The job as each one may see it.
        let path = format!("/api/jobs/{}/", job.id);
        let seen = app.get(&path, &client.access).await.json_with(200).await;
        assert_eq!((seen["status"].as_str(), seen["cleaner_id"].as_i64(), seen["version"].as_i64()), (Some("completed"), Some(anna.id), Some(11)));
        assert_eq!(seen["bids"].as_array().unwrap().len(), 2);
        assert_eq!(seen["rooms"].as_array().unwrap().len(), 2);
        let by_anna = app.get(&path, &anna.access).await.json_with(200).await;
        assert_eq!(by_anna["bids"], json!([{"cleaner_id": anna.id, "status": "accepted"}]));
        assert_eq!(by_anna["rooms"].as_array().unwrap().len(), 1);
        app.get(&path, &ben.access).await.error_with(404, "not_found").await;
        app.get(&path, &outsider.access).await.error_with(404, "not_found").await;
        let anna_room = by_anna["rooms"][0]["id"].as_i64().unwrap();
        app.get(&format!("/api/chat/rooms/{anna_room}/"), &outsider.access).await.error_with(404, "not_found").await;
        app.get(&format!("/api/chat/rooms/{anna_room}/messages/"), &ben.access).await.error_with(404, "not_found").await;
        let history = app.get(&format!("/api/chat/rooms/{anna_room}/messages/"), &client.access).await.json_with(200).await;
        let kinds_of_messages: Vec<&str> = history["results"].as_array().unwrap().iter().map(|m| m["message_type"].as_str().unwrap()).collect();
        assert!(kinds_of_messages.iter().all(|k| *k == "job_update"), "{kinds_of_messages:?}");
        assert_eq!(kinds_of_messages.len(), 7);
    }
}

both_backends! {
    async fn the_same_event_twice_changes_nothing(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let job = Job::new(&client);
        applied(&app, &job.event("job_created", json!({"notify_user_ids": []}))).await;
        let bid = job.event("bid_placed", json!({"bid": {"cleaner_id": anna.id}}));
        let first = applied(&app, &bid).await;
        let mut a = Party::connect(&app, &anna).await;
        let again = app.job_event(&bid).await.json_with(200).await;
        assert_eq!((again["applied"].as_bool(), again["event_id"].as_str()), (Some(false), bid["event_id"].as_str()));
        assert_eq!(again["job"]["version"], first["job"]["version"]);
        assert_eq!(again["notifications"], first["notifications"]);
        assert_eq!(a.heard().await, Vec::<String>::new());
        let inbox = app.get("/api/notifications/", &client.access).await.json_with(200).await;
        assert_eq!(inbox["results"].as_array().unwrap().len(), 1);
        // Concurrent repeats of a new event: one applies.
        let accept = job.event("bid_accepted", json!({"bid": {"cleaner_id": anna.id}}));
        let posts = (0..6).map(|_| app.job_event(&accept));
        let statuses: Vec<u16> = futures_util::future::join_all(posts).await.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 202).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5, "{statuses:?}");
        let seen = app.get(&format!("/api/jobs/{}/", job.id), &client.access).await.json_with(200).await;
        assert_eq!(seen["version"], 3);
        // An event id reused for something else is refused.
        let mut reused = job.event("job_confirmed", json!({}));
        reused["event_id"] = accept["event_id"].clone();
        app.job_event(&reused).await.error_with(409, "event_id_reused").await;
    }
}

both_backends! {
    async fn cancellation_tells_those_in_play_and_closes_their_rooms(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let ben = app.register("cleaner").await;
        let job = Job::new(&client);
        applied(&app, &job.event("job_created", json!({"notify_user_ids": []}))).await;
        applied(&app, &job.event("bid_placed", json!({"bid": {"cleaner_id": anna.id}}))).await;
        applied(&app, &job.event("bid_placed", json!({"bid": {"cleaner_id": ben.id}}))).await;
        applied(&app, &job.event("bid_accepted", json!({"bid": {"cleaner_id": anna.id}}))).await;
        let (mut c, mut a, mut b) = (Party::connect(&app, &client).await, Party::connect(&app, &anna).await, Party::connect(&app, &ben).await);
        applied(&app, &job.event("job_cancelled", json!({"actor_id": client.id, "data": {"reason": "Moving house"}}))).await;
        assert_eq!(a.heard().await, lines(&["job cancelled", "notification job_cancelled high", "room read_only"]));
        assert_eq!(c.heard().await, lines(&["job cancelled", "room read_only"]), "the actor is not told of their own cancellation");
        assert_eq!(b.heard().await, Vec::<String>::new(), "the losing bidder is out of it");
        let seen = app.get(&format!("/api/jobs/{}/", job.id), &client.access).await.json_with(200).await;
        assert_eq!(seen["status"], "cancelled");
        assert!(seen["rooms"].as_array().unwrap().iter().all(|r| r["state"] == "read_only"), "{seen}");
        let room = seen["rooms"].as_array().unwrap().iter().find(|r| r["cleaner_id"] == anna.id).unwrap()["id"].as_i64().unwrap();
        app.post(&format!("/api/chat/rooms/{room}/send_message/"), &anna.access, &json!({"content": "hello?"})).await.error_with(409, "room_read_only").await;
        let history = app.get(&format!("/api/chat/rooms/{room}/messages/"), &anna.access).await.json_with(200).await;
        assert_eq!(history["results"].as_array().unwrap().last().unwrap()["content"], "This job was cancelled: Moving house");
        // Nothing moves a cancelled job.
        app.job_event(&job.event("job_confirmed", json!({}))).await.error_with(409, "invalid_transition").await;
        app.job_event(&job.event("job_cancelled", json!({}))).await.error_with(409, "invalid_transition").await;
    }
}
