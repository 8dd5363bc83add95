//! Admin broadcasts: answered at once, stored in batches in the background, every row stored and
//! every connected recipient told exactly once.

use std::time::Duration;

use eclean_tests::tokens::{access_claims, sign};
use eclean_tests::{ResponseExt, TestApp, TestUser, WsClient, both_backends};
use serde_json::{Value, json};

const RECIPIENTS: usize = 10_000;
const CONNECTED: usize = 25;

/// Polls the broadcast's status until it is done.
async fn finished(app: &TestApp, admin: &TestUser, accepted: &Value) -> Value {
    let url = accepted["status_url"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let status = app.get(&url, &admin.access).await.json_with(200).await;
        if status["done"] == true {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broadcast did not finish: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn broadcasts_in(frames: &[Value], title: &str) -> usize {
    frames
        .iter()
        .filter(|f| f["type"] == "new_notification" && f["notification"]["title"] == title)
        .count()
}

both_backends! {
    async fn a_broadcast_to_ten_thousand_users_stores_every_row_and_tells_each_connected_one_once(app) {
        let admin = app.admin().await;
        let ids = app.bulk_users("cleaner", RECIPIENTS).await;
        let client = app.register("client").await;
        let mut sockets: Vec<WsClient> = Vec::new();
        for id in ids.iter().step_by(RECIPIENTS / CONNECTED) {
            sockets.push(app.ws(&sign(&access_claims(json!(id)))).await);
        }
        let mut bystander = app.ws(&client.access).await;

        let accepted = app.post("/api/notifications/send_bulk/", &admin.access, &json!({
            "role": "cleaner", "notification_type": "system_alert", "priority": "high",
            "context": {"headline": "New safety rules", "text": "Read them before your next job."},
        })).await.json_with(202).await;
        assert_eq!(accepted["queued"], RECIPIENTS);
        assert_eq!(accepted["done"], false);
        let status = finished(&app, &admin, &accepted).await;
        assert_eq!(status["notifications_sent"], RECIPIENTS, "{status}");
        assert_eq!((status["skipped"].as_u64(), status["error"].as_str()), (Some(0), None));

        let unread = app.stored_unread(&ids).await;
        assert!(unread.iter().all(|n| *n == 1), "every recipient has exactly one row");
        assert_eq!(app.stored_unread(&[client.id, admin.id]).await, [0, 0], "nobody else");
        for ws in &mut sockets {
            let frames = ws.drain(Duration::from_millis(300)).await;
            assert_eq!(broadcasts_in(&frames, "New safety rules"), 1, "{frames:?}");
        }
        assert_eq!(broadcasts_in(&bystander.drain(Duration::from_millis(100)).await, "New safety rules"), 0);
    }
}

both_backends! {
    async fn a_broadcast_to_listed_ids_skips_unknown_and_inactive_ones(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let carl = app.register("cleaner").await;
        app.patch(&format!("/api/users/{}/", carl.id), &admin.access, &json!({"is_active": false})).await.json_with(200).await;
        let mut ws = app.ws(&anna.access).await;
        let accepted = app.post("/api/notifications/send_bulk/", &admin.access, &json!({
            "recipient_ids": [anna.id, bob.id, bob.id, carl.id, 987_654_321], "notification_type": "promotion",
            "title": "Spring offer", "message": "Two rooms for the price of one",
        })).await.json_with(202).await;
        assert_eq!(accepted["queued"], 4, "duplicates are counted once");
        let status = finished(&app, &admin, &accepted).await;
        assert_eq!((status["notifications_sent"].as_u64(), status["skipped"].as_u64()), (Some(2), Some(2)), "{status}");
        assert_eq!(app.stored_unread(&[anna.id, bob.id, carl.id]).await, [1, 1, 0]);
        let pushed = ws.recv_type("new_notification").await;
        assert_eq!(pushed["notification"]["title"], "Spring offer");
        assert_eq!(pushed["notification"]["sender"], admin.id);
    }
}

both_backends! {
    async fn a_broadcast_request_is_validated_before_it_is_accepted(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        for (body, field) in [
            (json!({"notification_type": "promotion", "title": "t", "message": "m"}), "recipient_ids"),
            (json!({"role": "everyone", "notification_type": "promotion", "title": "t", "message": "m"}), "role"),
            (json!({"recipient_ids": [], "notification_type": "promotion", "title": "t", "message": "m"}), "recipient_ids"),
            (json!({"recipient_ids": [anna.id], "role": "all", "notification_type": "promotion", "title": "t", "message": "m"}), "recipient_ids"),
            (json!({"recipient_id": anna.id, "notification_type": "promotion", "title": "t", "message": "m"}), "recipient_id"),
            (json!({"role": "all", "notification_type": "bogus", "title": "t", "message": "m"}), "notification_type"),
            (json!({"role": "all", "notification_type": "promotion", "title": "t", "message": "m", "dedupe_key": "x"}), "dedupe_key"),
            (json!({"role": "all", "notification_type": "promotion", "template": "nope"}), "template"),
        ] {
            let error = app.post("/api/notifications/send_bulk/", &admin.access, &body).await.error_with(400, "validation_error").await;
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
        app.post("/api/notifications/send_bulk/", &admin.access, &json!({"recipient_ids": "all", "notification_type": "promotion"}))
            .await.error_with(400, "invalid_body").await;
        app.get("/api/notifications/broadcasts/unknown/", &admin.access).await.error_with(404, "not_found").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(app.stored_unread(&[anna.id]).await, [0]);
    }
}
