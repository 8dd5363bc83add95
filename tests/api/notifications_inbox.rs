//! The notification inbox over REST: listing, filters, paging, counts, read state, deletion — and
//! every attempt to reach someone else's inbox.

use eclean_tests::{ResponseExt, both_backends};
use serde_json::{Value, json};

fn titles(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

both_backends! {
    async fn an_admin_sends_and_the_recipient_reads_their_inbox(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let sent = app.notify(&admin, anna.id, json!({
            "notification_type": "job_confirmed",
            "context": {"job_id": 7, "job_title": "Kitchen deep clean", "cleaner_name": "Bob", "scheduled_at": "Friday"},
            "action_url": "/jobs/7/",
            "metadata": {"job_id": 7},
            "priority": "high",
        })).await;
        assert_eq!(sent["recipient"], anna.id);
        assert_eq!(sent["sender"], admin.id);
        assert_eq!(sent["seq"], 1);
        assert_eq!(sent["notification_type"], "job_confirmed");
        assert_eq!(sent["category"], "job_updates");
        assert_eq!(sent["priority"], "high");
        assert_eq!(sent["is_read"], false);
        assert_eq!(sent["read_at"], Value::Null);
        assert_eq!(sent["action_url"], "/jobs/7/");
        assert_eq!(sent["metadata"], json!({"job_id": 7}));
        assert_eq!(sent["silent"], false);
        let title = sent["title"].as_str().unwrap();
        let message = sent["message"].as_str().unwrap();
        assert!(title.contains("Kitchen deep clean") || message.contains("Kitchen deep clean"), "{sent}");
        assert!(message.contains("Bob"), "{sent}");

        let id = sent["id"].as_i64().unwrap();
        let shown = app.get(&format!("/api/notifications/{id}/"), &anna.access).await.json_with(200).await;
        assert_eq!(shown["id"], id);
        assert_eq!(shown["title"], sent["title"]);
        let list = app.get("/api/notifications/", &anna.access).await.json_with(200).await;
        assert_eq!(list["results"].as_array().unwrap().len(), 1);
        assert_eq!(list["has_more"], false);
        let count = app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await;
        assert_eq!(count, json!({"unread_count": 1}));
    }
}

both_backends! {
    async fn lists_filter_by_read_state_and_type_and_page_by_seq(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        for i in 1..=5 {
            app.alert(&admin, anna.id, &format!("alert {i}")).await;
        }
        app.notify(&admin, anna.id, json!({"notification_type": "reminder", "context": {"text": "Bring a ladder"}})).await;
        let everything = app.get("/api/notifications/", &anna.access).await.json_with(200).await;
        let all = titles(&everything);
        assert_eq!(all.len(), 6);
        assert_eq!(&all[1..], ["alert 5", "alert 4", "alert 3", "alert 2", "alert 1"], "newest first");

        let first = app.get("/api/notifications/?limit=2", &anna.access).await.json_with(200).await;
        assert_eq!(first["results"].as_array().unwrap().len(), 2);
        assert_eq!(first["has_more"], true);
        let next = first["next"].as_str().unwrap().to_owned();
        let second = app.get(&format!("/api/notifications/?limit=2&cursor={next}"), &anna.access).await.json_with(200).await;
        assert_eq!(titles(&second), ["alert 4", "alert 3"]);
        let before = app.get("/api/notifications/?before=3", &anna.access).await.json_with(200).await;
        assert_eq!(titles(&before), ["alert 2", "alert 1"]);

        let reminders = app.get("/api/notifications/?type=reminder", &anna.access).await.json_with(200).await;
        assert_eq!(reminders["results"].as_array().unwrap().len(), 1);
        assert_eq!(reminders["results"][0]["notification_type"], "reminder");

        let id = everything["results"][2]["id"].as_i64().unwrap();
        let marked = app.post(&format!("/api/notifications/{id}/mark_read/"), &anna.access, &json!({})).await.json_with(200).await;
        assert_eq!(marked["notification"]["is_read"], true);
        assert!(marked["notification"]["read_at"].is_string());
        assert_eq!(marked["unread_count"], 5);
        let unread = app.get("/api/notifications/unread/", &anna.access).await.json_with(200).await;
        assert_eq!(unread["results"].as_array().unwrap().len(), 5);
        assert!(unread["results"].as_array().unwrap().iter().all(|n| n["id"] != id));
        let unread_too = app.get("/api/notifications/?unread=true", &anna.access).await.json_with(200).await;
        assert_eq!(titles(&unread_too), titles(&unread));

        for bad in ["?limit=0", "?limit=1000", "?type=nonsense", "?cursor=garbage", "?before=abc", "?unread=maybe"] {
            let response = app.get(&format!("/api/notifications/{bad}"), &anna.access).await;
            assert_eq!(response.status().as_u16(), 400, "{bad}");
        }
    }
}

both_backends! {
    async fn marking_read_is_idempotent_and_mark_all_counts_exactly_what_changed(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let first = app.alert(&admin, anna.id, "one").await;
        for headline in ["two", "three"] {
            app.alert(&admin, anna.id, headline).await;
        }
        let path = format!("/api/notifications/{}/mark_read/", first["id"]);
        let once = app.post(&path, &anna.access, &json!({})).await.json_with(200).await;
        let twice = app.post(&path, &anna.access, &json!({})).await.json_with(200).await;
        assert_eq!(once["notification"]["read_at"], twice["notification"]["read_at"], "read_at is set once");
        assert_eq!(twice["unread_count"], 2);

        let all = app.post("/api/notifications/mark_all_read/", &anna.access, &json!({})).await.json_with(200).await;
        assert_eq!(all, json!({"marked_count": 2}));
        let again = app.post("/api/notifications/mark_all_read/", &anna.access, &json!({})).await.json_with(200).await;
        assert_eq!(again, json!({"marked_count": 0}));
        let count = app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await;
        assert_eq!(count["unread_count"], 0);
        let listed = app.get("/api/notifications/", &anna.access).await.json_with(200).await;
        assert!(listed["results"].as_array().unwrap().iter().all(|n| n["is_read"] == true && n["read_at"].is_string()));
    }
}

both_backends! {
    async fn mark_all_read_is_exact_under_concurrent_calls(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        for i in 0..20 {
            app.alert(&admin, anna.id, &format!("n{i}")).await;
        }
        let empty = json!({});
        let calls = (0..6).map(|_| app.post("/api/notifications/mark_all_read/", &anna.access, &empty));
        let mut total = 0;
        for response in futures_util::future::join_all(calls).await {
            total += response.json_with(200).await["marked_count"].as_u64().unwrap();
        }
        assert_eq!(total, 20, "every notification is counted by exactly one call");
    }
}

both_backends! {
    async fn deleting_removes_from_lists_and_counts(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let gone = app.alert(&admin, anna.id, "to delete").await;
        app.alert(&admin, anna.id, "to keep").await;
        let path = format!("/api/notifications/{}/", gone["id"]);
        app.delete(&path, &anna.access).await.json_with(204).await;
        app.get(&path, &anna.access).await.error_with(404, "not_found").await;
        app.delete(&path, &anna.access).await.error_with(404, "not_found").await;
        assert_eq!(titles(&app.get("/api/notifications/", &anna.access).await.json_with(200).await), ["to keep"]);
        assert_eq!(app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await["unread_count"], 1);
    }
}

both_backends! {
    async fn nobody_reaches_someone_elses_notification(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let mallory = app.register("cleaner").await;
        let note = app.alert(&admin, anna.id, "private").await;
        let id = note["id"].as_i64().unwrap();
        app.get(&format!("/api/notifications/{id}/"), &mallory.access).await.error_with(404, "not_found").await;
        app.post(&format!("/api/notifications/{id}/mark_read/"), &mallory.access, &json!({})).await.error_with(404, "not_found").await;
        app.delete(&format!("/api/notifications/{id}/"), &mallory.access).await.error_with(404, "not_found").await;
        // The admin's own inbox does not hold it either: admins send, they do not read others' inboxes.
        app.get(&format!("/api/notifications/{id}/"), &admin.access).await.error_with(404, "not_found").await;
        app.get(&format!("/api/notifications/{id}/deliveries/"), &mallory.access).await.error_with(403, "admin_only").await;
        app.post("/api/notifications/mark_all_read/", &mallory.access, &json!({})).await.json_with(200).await;
        assert!(app.get("/api/notifications/", &mallory.access).await.json_with(200).await["results"].as_array().unwrap().is_empty());

        let unchanged = app.get(&format!("/api/notifications/{id}/"), &anna.access).await.json_with(200).await;
        assert_eq!(unchanged["is_read"], false);
        assert_eq!(app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await["unread_count"], 1);
        for path in ["/api/notifications/abc/", "/api/notifications/0/", "/api/notifications/99999999/"] {
            app.get(path, &anna.access).await.error_with(404, "not_found").await;
        }
        app.get("/api/notifications/", "not-a-token").await.error_with(401, "token_malformed").await;
    }
}

both_backends! {
    async fn only_admins_send_and_broadcast(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let body = json!({"recipient_id": bob.id, "notification_type": "system_alert", "title": "Pay me", "message": "now"});
        app.post("/api/notifications/send_notification/", &anna.access, &body).await.error_with(403, "admin_only").await;
        app.post("/api/notifications/send_bulk/", &anna.access, &json!({"role": "all", "notification_type": "promotion", "title": "x", "message": "y"}))
            .await.error_with(403, "admin_only").await;
        app.post("/api/notifications/send_bulk/", &bob.access, &json!({"recipient_ids": [anna.id], "notification_type": "promotion", "title": "x", "message": "y"}))
            .await.error_with(403, "admin_only").await;
        app.get("/api/notifications/broadcasts/abc/", &anna.access).await.error_with(403, "admin_only").await;
        app.post("/api/notifications/", &anna.access, &body).await.error_with(405, "method_not_allowed").await;
        assert_eq!(app.get("/api/notifications/unread_count/", &bob.access).await.json_with(200).await["unread_count"], 0);
    }
}

both_backends! {
    async fn sending_validates_everything_and_stores_nothing_on_error(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let cases = [
            (json!({"recipient_id": anna.id, "notification_type": "nonsense", "title": "t", "message": "m"}), "notification_type"),
            (json!({"recipient_id": 987654321, "notification_type": "system_alert", "title": "t", "message": "m"}), "recipient_id"),
            (json!({"notification_type": "system_alert", "title": "t", "message": "m"}), "recipient_id"),
            (json!({"recipient_id": anna.id, "notification_type": "system_alert", "title": "t", "message": "m", "priority": "extreme"}), "priority"),
            (json!({"recipient_id": anna.id, "notification_type": "system_alert", "title": "t", "message": "m", "action_url": "javascript:alert(1)"}), "action_url"),
            (json!({"recipient_id": anna.id, "notification_type": "system_alert", "title": "t", "message": "m", "metadata": [1, 2]}), "metadata"),
            (json!({"recipient_id": anna.id, "notification_type": "system_alert", "context": "not an object"}), "context"),
            (json!({"recipient_id": anna.id, "notification_type": "system_alert", "title": "   ", "message": "m"}), "title"),
            (json!({"recipient_id": anna.id, "notification_type": "system_alert", "title": "t", "message": "m", "template": "no_such_template"}), "template"),
            (json!({"recipient_id": anna.id, "notification_type": "system_alert", "title": "t", "message": "m", "expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
            (json!({"recipient_id": anna.id, "recipient_ids": [anna.id], "notification_type": "system_alert", "title": "t", "message": "m"}), "recipient_id"),
        ];
        for (body, field) in cases {
            let error = app.post("/api/notifications/send_notification/", &admin.access, &body).await.error_with(400, "validation_error").await;
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
        app.post("/api/notifications/send_notification/", &admin.access, &json!({"recipient_id": anna.id, "notification_type": "system_alert", "colour": "red"}))
            .await.error_with(400, "invalid_body").await;
        app.post("/api/notifications/send_notification/", &admin.access, &json!({"recipient_id": "one", "notification_type": "system_alert"}))
            .await.error_with(400, "invalid_body").await;
        assert_eq!(app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await["unread_count"], 0);
    }
}

both_backends! {
    async fn a_dedupe_key_gives_one_notification_also_under_concurrency(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let body = json!({"recipient_id": anna.id, "notification_type": "reminder", "context": {"text": "Tomorrow 9:00"}, "dedupe_key": "reminder:job:7"});
        let sends = (0..8).map(|_| app.post("/api/notifications/send_notification/", &admin.access, &body));
        let mut ids = Vec::new();
        for response in futures_util::future::join_all(sends).await {
            ids.push(response.json_with(201).await["id"].as_i64().unwrap());
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await["unread_count"], 1);
        // The key is per recipient.
        let bob = app.register("cleaner").await;
        let mut for_bob = body.clone();
        for_bob["recipient_id"] = json!(bob.id);
        let other = app.post("/api/notifications/send_notification/", &admin.access, &for_bob).await.json_with(201).await;
        assert_ne!(other["id"].as_i64(), Some(ids[0]));
    }
}

both_backends! {
    async fn expired_notifications_leave_lists_and_counts(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
        let fleeting = app.notify(&admin, anna.id, json!({"notification_type": "promotion", "title": "Flash sale", "message": "Now", "expires_at": soon})).await;
        app.alert(&admin, anna.id, "lasting").await;
        assert_eq!(app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await["unread_count"], 2);
        assert!(fleeting["expires_at"].is_string());
        tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
        assert_eq!(app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await["unread_count"], 1);
        assert_eq!(titles(&app.get("/api/notifications/", &anna.access).await.json_with(200).await), ["lasting"]);
        assert_eq!(titles(&app.get("/api/notifications/unread/", &anna.access).await.json_with(200).await), ["lasting"]);
        let marked = app.post("/api/notifications/mark_all_read/", &anna.access, &json!({})).await.json_with(200).await;
        assert_eq!(marked["marked_count"], 1, "an expired notification is not counted as marked");
    }
}
