//! Notifications live: pushed to every session of the recipient (unified and compatibility
//! sockets), delivered state recorded, counts pushed after every change, replay after a gap.

use std::time::Duration;

use eclean_tests::ws::{WsClient, open};
use eclean_tests::{ResponseExt, TestApp, both_backends};
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_millis(400);

async fn inbox_socket(app: &TestApp, user_id: i64, token: &str) -> WsClient {
    let stream = open(
        &app.ws_url(&format!("/ws/notifications/{user_id}/?token={token}")),
        &[],
    )
    .await
    .unwrap_or_else(|r| panic!("refused {} {}", r.status, r.body));
    WsClient::from_stream(stream)
}

/// Frames of `kind` among those that arrive within the quiet window.
async fn all_of(ws: &mut WsClient, kind: &str) -> Vec<Value> {
    ws.drain(QUIET)
        .await
        .into_iter()
        .filter(|f| f["type"] == kind)
        .collect()
}

both_backends! {
    async fn a_notification_reaches_every_session_of_its_recipient_once(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let mut phone = app.ws(&anna.access).await;
        let mut laptop = app.ws(&anna.access).await;
        let mut legacy = inbox_socket(&app, anna.id, &anna.access).await;
        let mut other = app.ws(&bob.access).await;

        let sent = app.alert(&admin, anna.id, "Server maintenance").await;
        for ws in [&mut phone, &mut laptop] {
            let pushed = ws.recv_type("new_notification").await;
            assert_eq!(pushed["notification"]["id"], sent["id"]);
            assert_eq!(pushed["notification"]["title"], "Server maintenance");
            assert_eq!(pushed["notification"]["is_delivered"], true);
            let count = ws.recv_type("unread_count").await;
            assert_eq!(count["notifications"], 1);
            assert!(all_of(ws, "new_notification").await.is_empty(), "exactly once per session");
        }
        let pushed = legacy.recv_type("new_notification").await;
        assert_eq!(pushed["notification"]["id"], sent["id"]);
        assert_eq!(legacy.recv_type("unread_count").await, json!({"type": "unread_count", "count": 1}));
        assert!(all_of(&mut legacy, "new_notification").await.is_empty());
        other.expect_silence(QUIET).await;

        let stored = app.get(&format!("/api/notifications/{}/", sent["id"]), &anna.access).await.json_with(200).await;
        assert_eq!(stored["is_delivered"], true);
        let first = stored["delivered_at"].as_str().unwrap().to_owned();
        // Another session connecting later does not move the first delivery time.
        let _late = app.ws(&anna.access).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let again = app.get(&format!("/api/notifications/{}/", sent["id"]), &anna.access).await.json_with(200).await;
        assert_eq!(again["delivered_at"].as_str(), Some(first.as_str()));
    }
}

both_backends! {
    async fn an_undelivered_notification_stays_undelivered_until_pushed(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let sent = app.alert(&admin, anna.id, "Offline").await;
        assert_eq!(sent["is_delivered"], false);
        let stored = app.get(&format!("/api/notifications/{}/", sent["id"]), &anna.access).await.json_with(200).await;
        assert_eq!((stored["is_delivered"].as_bool(), stored["delivered_at"].as_str()), (Some(false), None));
        // The opening snapshot counts it.
        let ws = app.ws(&anna.access).await;
        assert_eq!(ws.initial_unread["notifications"], 1);
    }
}

both_backends! {
    async fn reading_on_one_device_updates_every_other(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let first = app.alert(&admin, anna.id, "one").await;
        let second = app.alert(&admin, anna.id, "two").await;
        let third = app.alert(&admin, anna.id, "three").await;
        let mut phone = app.ws(&anna.access).await;
        let mut legacy = inbox_socket(&app, anna.id, &anna.access).await;
        let greeting = legacy.recv_type("recent_notifications").await;
        assert_eq!(greeting["notifications"].as_array().unwrap().len(), 3);
        assert_eq!(phone.initial_unread["notifications"], 3);

        // REST from a third device.
        app.post(&format!("/api/notifications/{}/mark_read/", first["id"]), &anna.access, &json!({})).await.json_with(200).await;
        let read = phone.recv_type("notification_read").await;
        assert_eq!(read["notification_id"], first["id"]);
        assert_eq!(phone.recv_type("unread_count").await["notifications"], 2);
        assert_eq!(legacy.recv_type("notification_read").await["notification_id"], first["id"]);
        assert_eq!(legacy.recv_type("unread_count").await["count"], 2);

        // The unified socket's own request.
        phone.send(json!({"type": "mark_notification_read", "notification_id": second["id"], "ref": "r1"})).await;
        assert_eq!(phone.recv_type("notification_read").await["notification_id"], second["id"]);
        assert_eq!(phone.recv_type("unread_count").await["notifications"], 1);
        assert_eq!(legacy.recv_type("unread_count").await["count"], 1);

        // The compatibility socket's actions.
        legacy.send(json!({"action": "get_unread_count"})).await;
        assert_eq!(legacy.recv_type("unread_count").await["count"], 1);
        legacy.send(json!({"action": "mark_read", "notification_id": third["id"]})).await;
        assert_eq!(legacy.recv_type("notification_read").await["notification_id"], third["id"]);
        assert_eq!(phone.recv_type("unread_count").await["notifications"], 0);

        let more = app.alert(&admin, anna.id, "four").await;
        phone.recv_type("new_notification").await;
        legacy.recv_type("new_notification").await;
        legacy.send(json!({"action": "mark_all_read"})).await;
        assert_eq!(legacy.recv_type("all_notifications_read").await["marked_count"], 1);
        let all = phone.recv_type("all_notifications_read").await;
        assert_eq!(all["marked_count"], 1);
        assert_eq!(phone.recv_type("unread_count").await["notifications"], 0);
        let stored = app.get(&format!("/api/notifications/{}/", more["id"]), &anna.access).await.json_with(200).await;
        assert_eq!(stored["is_read"], true);

        // Deleting an unread one changes the count too.
        let fifth = app.alert(&admin, anna.id, "five").await;
        assert_eq!(phone.recv_type("unread_count").await["notifications"], 1);
        app.delete(&format!("/api/notifications/{}/", fifth["id"]), &anna.access).await.json_with(204).await;
        assert_eq!(phone.recv_type("unread_count").await["notifications"], 0);

        phone.send(json!({"type": "mark_all_notifications_read", "ref": "all"})).await;
        assert_eq!(phone.recv_type("all_notifications_read").await["marked_count"], 0);
        phone.send(json!({"type": "get_unread_count", "ref": "c"})).await;
        let count = phone.recv_type("unread_count").await;
        assert_eq!(count["notifications"], 0);
    }
}

both_backends! {
    async fn nobody_reads_someone_elses_notifications_over_a_socket(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let mallory = app.register("cleaner").await;
        let note = app.alert(&admin, anna.id, "private").await;
        let mut ws = app.ws(&mallory.access).await;
        ws.send(json!({"type": "mark_notification_read", "notification_id": note["id"], "ref": "steal"})).await;
        let error = ws.recv_type("error").await;
        assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("not_found"), Some("steal")));
        ws.send(json!({"type": "mark_notification_read", "notification_id": "x", "ref": "bad"})).await;
        let error = ws.recv_type("error").await;
        assert_eq!(error["ref"], "bad");
        let mut legacy = inbox_socket(&app, mallory.id, &mallory.access).await;
        legacy.send(json!({"action": "mark_read", "notification_id": note["id"]})).await;
        assert_eq!(legacy.recv_type("error").await["code"], "not_found");
        legacy.send(json!({"action": "explode"})).await;
        assert!(legacy.recv_type("error").await["error"].is_string());
        let stored = app.get(&format!("/api/notifications/{}/", note["id"]), &anna.access).await.json_with(200).await;
        assert_eq!(stored["is_read"], false);

        // The compatibility socket serves only the token's own inbox — to admins too.
        for (path_user, token) in [(anna.id, &mallory.access), (anna.id, &admin.access), (999_999, &anna.access)] {
            let refused = open(&app.ws_url(&format!("/ws/notifications/{path_user}/?token={token}")), &[]).await.unwrap_err();
            assert_eq!(refused.status, 403, "{}", refused.body);
            assert_eq!(refused.body["code"], "forbidden");
        }
        let refused = open(&app.ws_url(&format!("/ws/notifications/{}/", anna.id)), &[]).await.unwrap_err();
        assert_eq!(refused.status, 401);
    }
}

both_backends! {
    async fn subscribe_notifications_replays_what_a_session_missed(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let seen = app.alert(&admin, anna.id, "seen").await;
        let mut missed = Vec::new();
        for headline in ["missed 1", "missed 2", "missed 3"] {
            missed.push(app.alert(&admin, anna.id, headline).await);
        }
        let mut ws = app.ws(&anna.access).await;
        ws.send(json!({"type": "subscribe_notifications", "since_seq": seen["seq"], "ref": "sub"})).await;
        let subscribed = ws.recv_type("notifications_subscribed").await;
        assert_eq!((subscribed["last_seq"].as_i64(), subscribed["ref"].as_str()), (Some(4), Some("sub")));
        let mut replayed = Vec::new();
        for _ in 0..3 {
            replayed.push(ws.recv_type("new_notification").await["notification"]["title"].as_str().unwrap().to_owned());
        }
        assert_eq!(replayed, ["missed 1", "missed 2", "missed 3"], "oldest first");
        // Live ones continue after the replay, each once.
        app.alert(&admin, anna.id, "live").await;
        let live: Vec<String> = all_of(&mut ws, "new_notification").await.iter()
            .map(|f| f["notification"]["title"].as_str().unwrap().to_owned()).collect();
        assert_eq!(live, ["live"]);
        // Subscribing again from the current head replays nothing.
        ws.send(json!({"type": "subscribe_notifications", "since_seq": 5})).await;
        assert_eq!(ws.recv_type("notifications_subscribed").await["last_seq"], 5);
        assert!(all_of(&mut ws, "new_notification").await.is_empty());
        ws.send(json!({"type": "subscribe_notifications", "since_seq": -1, "ref": "neg"})).await;
        assert_eq!(ws.recv_type("error").await["ref"], "neg");
        ws.send(json!({"type": "subscribe_notifications", "since_seq": "one", "ref": "str"})).await;
        assert_eq!(ws.recv_type("error").await["ref"], "str");
    }
}
