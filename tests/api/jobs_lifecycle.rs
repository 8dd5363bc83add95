//! The job lifecycle end to end over real WebSockets: a client and two cleaners connected, every
//! event posted by the platform, and exactly what each of the three hears.

use std::time::Duration;

use eclean_tests::{ResponseExt, TestApp, TestUser, WsClient, both_backends};
use serde_json::{Value, json};

const WINDOW: Duration = Duration::from_millis(400);

/// A job under test and the event counter that keeps event ids unique.
struct Job {
    id: i64,
    client: i64,
    tag: String,
}

impl Job {
    fn new(client: &TestUser) -> Self {
        Self {
            id: 1 + (rand_id() % 1_000_000_000),
            client: client.id,
            tag: eclean_tests::unique(),
        }
    }

    fn event(&self, kind: &str, extra: Value) -> Value {
        let mut event = json!({
            "event_id": format!("{}-{kind}-{}", self.tag, eclean_tests::unique()),
            "type": kind,
            "occurred_at": "2026-12-01T10:00:00Z",
            "job": {"id": self.id, "client_id": self.client, "title": "Oven deep clean", "city": "Athens"},
        });
        for (key, value) in extra.as_object().unwrap() {
            if key == "job" {
                for (k, v) in value.as_object().unwrap() {
                    event["job"][k] = v.clone();
                }
            } else {
                event[key] = value.clone();
            }
        }
        event
    }
}

fn rand_id() -> i64 {
    i64::from_str_radix(&eclean_tests::unique()[..12], 16).unwrap_or(42)
}

/// One connected participant: their socket and the rooms it subscribed to.
struct Party {
    ws: WsClient,
    rooms: Vec<i64>,
}

impl Party {
    async fn connect(app: &TestApp, user: &TestUser) -> Self {
        Self {
            ws: app.ws(&user.access).await,
            rooms: Vec::new(),
        }
    }

    /// What arrived since the last look, summarised and sorted; rooms that opened for this user
    /// are subscribed to on the way (as a client would).
    async fn heard(&mut self) -> Vec<String> {
        let frames = self.ws.drain(WINDOW).await;
        let mut out = Vec::new();
        for frame in &frames {
            let line = match frame["type"].as_str().unwrap() {
                "new_notification" => format!(
                    "notification {} {}",
                    frame["notification"]["notification_type"].as_str().unwrap(),
                    frame["notification"]["priority"].as_str().unwrap()
                ),
                "new_message" => {
                    format!("message {}", frame["message"]["content"].as_str().unwrap())
                }
                "room_updated" => {
                    let room = frame["room"]["id"].as_i64().unwrap();
                    let member = frame["member"] == true;
                    if member && !self.rooms.contains(&room) {
                        self.rooms.push(room);
                        self.ws
                            .send(json!({"type": "subscribe_room", "room_id": room}))
                            .await;
                    }
                    format!(
                        "room {}{}",
                        frame["room"]["state"].as_str().unwrap(),
                        if member { "" } else { " (left)" }
                    )
                }
                "job_updated" => format!("job {}", frame["job"]["status"].as_str().unwrap()),
                "unread_count" | "subscribed" | "presence" => continue,
                other => other.to_owned(),
            };
            out.push(line);
        }
        // Subscriptions answer with `subscribed`; let them land before the next event.
        if frames.iter().any(|f| f["type"] == "room_updated") {
            for frame in self.ws.drain(Duration::from_millis(150)).await {
                assert!(
                    matches!(
                        frame["type"].as_str(),
                        Some("subscribed" | "unread_count" | "presence")
                    ),
                    "{frame}"
                );
            }
        }
        out.sort();
        out
    }
}

fn lines(expected: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    out.sort();
    out
}

async fn applied(app: &TestApp, event: &Value) -> Value {
    app.job_event(event).await.json_with(202).await
}

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

both_backends! {
    async fn forbidden_transitions_and_bad_events_change_nothing(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let job = Job::new(&client);
        app.job_event(&job.event("bid_placed", json!({"bid": {"cleaner_id": anna.id}}))).await.error_with(409, "unknown_job").await;
        applied(&app, &job.event("job_created", json!({"notify_user_ids": []}))).await;
        app.job_event(&job.event("job_created", json!({}))).await.error_with(409, "job_exists").await;
        for kind in ["job_confirmed", "job_started", "job_finished", "job_completed", "completion_rejected", "payment_received"] {
            let answer = app.job_event(&job.event(kind, json!({}))).await;
            assert_eq!(answer.status().as_u16(), 409, "{kind}");
        }
        app.job_event(&job.event("bid_placed", json!({}))).await.error_with(400, "validation_error").await;
        app.job_event(&job.event("bid_placed", json!({"bid": {"cleaner_id": client.id}}))).await.error_with(400, "validation_error").await;
        app.job_event(&job.event("bid_accepted", json!({"bid": {"cleaner_id": anna.id}, "job": {"status": "confirmed"}}))).await
            .error_with(409, "snapshot_mismatch").await;
        app.job_event(&job.event("bid_placed", json!({"bid": {"cleaner_id": anna.id}, "job": {"client_id": client.id + 1}}))).await
            .error_with(409, "snapshot_mismatch").await;
        let seen = app.get(&format!("/api/jobs/{}/", job.id), &client.access).await.json_with(200).await;
        assert_eq!((seen["status"].as_str(), seen["version"].as_i64()), (Some("open_for_bids"), Some(1)));
        assert!(seen["bids"].as_array().unwrap().is_empty() && seen["rooms"].as_array().unwrap().is_empty());
        assert!(app.get("/api/notifications/", &client.access).await.json_with(200).await["results"].as_array().unwrap().is_empty());

        for (body, field) in [
            (json!({"event_id": "", "type": "job_created", "job": {"id": 1, "client_id": client.id}}), "event_id"),
            (json!({"event_id": "x", "type": "job_exploded", "job": {"id": 1, "client_id": client.id}}), "type"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 0, "client_id": client.id}}), "job.id"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": -4}}), "job.client_id"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": client.id, "status": "pending"}}), "job.status"),
            (json!({"event_id": "x", "type": "bid_placed", "job": {"id": 1, "client_id": client.id}, "bid": {"cleaner_id": anna.id, "status": "maybe"}}), "bid.status"),
            (json!({"event_id": "x", "type": "bid_placed", "job": {"id": 1, "client_id": client.id}, "notify_user_ids": [anna.id]}), "notify_user_ids"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": client.id}, "data": [1]}), "data"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": client.id, "title": "t".repeat(201)}}), "job.title"),
        ] {
            let error = app.job_event(&body).await.error_with(400, "validation_error").await;
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
        for body in [json!({"event_id": "x", "type": "job_created"}), json!({"event_id": "x", "type": "job_created", "job": {"id": "one", "client_id": 1}}), json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": 1}, "extra": true})] {
            app.job_event(&body).await.error_with(400, "invalid_body").await;
        }
    }
}

both_backends! {
    async fn only_the_platform_and_admins_post_events(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let admin = app.admin().await;
        let job = Job::new(&client);
        let create = job.event("job_created", json!({"notify_user_ids": []}));
        for user in [&client, &anna] {
            app.post("/api/jobs/events/", &user.access, &create).await.error_with(403, "not_allowed").await;
        }
        app.post_anonymous("/api/jobs/events/", &create).await.error_with(401, "not_authenticated").await;
        app.get(&format!("/api/jobs/{}/", job.id), &client.access).await.error_with(404, "not_found").await;
        app.post("/api/jobs/events/", &admin.access, &create).await.json_with(202).await;
        app.get(&format!("/api/jobs/{}/", job.id), &client.access).await.json_with(200).await;
        app.get(&format!("/api/jobs/{}/", job.id), &admin.access).await.json_with(200).await;
        app.get(&format!("/api/jobs/{}/", job.id), &eclean_tests::tokens::service_token("platform")).await.json_with(200).await;
        app.get(&format!("/api/jobs/{}/", job.id), &anna.access).await.error_with(404, "not_found").await;
        app.get("/api/jobs/abc/", &client.access).await.error_with(404, "not_found").await;
    }
}

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
