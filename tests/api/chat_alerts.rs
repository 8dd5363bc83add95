//! `message_received` notifications: for participants not looking at the room, collapsed per
//! room into one unread notification that keeps up with the conversation.

use std::time::Duration;

use eclean_tests::{ResponseExt, TestApp, TestUser, both_backends, both_backends_with};
use serde_json::{Value, json};

async fn message_notes(app: &TestApp, user: &TestUser) -> Vec<Value> {
    app.get("/api/notifications/?type=message_received", &user.access)
        .await
        .json_with(200)
        .await["results"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until `user`'s message notifications satisfy `done`.
async fn until(app: &TestApp, user: &TestUser, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let notes = message_notes(app, user).await;
        if done(&notes) {
            return notes;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {notes:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_backends! {
    async fn a_missed_conversation_is_one_notification_that_keeps_up(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        for text in ["Hi Bob", "Are you free on Friday?", "The oven needs work too"] {
            app.say(&anna, room, text).await;
        }
        let notes = until(&app, &bob, |n| n.len() == 1 && n[0]["metadata"]["unread_messages"] == 3).await;
        let note = &notes[0];
        assert_eq!(note["title"], format!("New message from {}", anna.username));
        assert_eq!(note["message"], "The oven needs work too");
        assert_eq!(note["object"], json!({"kind": "room", "id": room}));
        assert_eq!(note["action_url"], format!("/messages/?room={room}"));
        assert_eq!(note["sender"], anna.id);
        assert_eq!(note["priority"], "low");
        assert!(message_notes(&app, &anna).await.is_empty(), "not the sender");
        assert_eq!(app.get("/api/notifications/unread_count/", &bob.access).await.json_with(200).await["unread_count"], 1);

        // Connected but elsewhere: the same notification arrives again, updated; the count holds.
        let mut ws = app.ws(&bob.access).await;
        app.say(&anna, room, "Hello?").await;
        let pushed = ws.recv_type("new_notification").await;
        assert_eq!(pushed["notification"]["id"], note["id"]);
        assert_eq!(pushed["notification"]["message"], "Hello?");
        assert!(pushed["notification"]["seq"].as_i64() > note["seq"].as_i64());
        assert_eq!(app.get("/api/notifications/unread_count/", &bob.access).await.json_with(200).await["unread_count"], 1);

        // Once read, the next message starts a new one.
        app.post(&format!("/api/notifications/{}/mark_read/", note["id"]), &bob.access, &json!({})).await.json_with(200).await;
        app.say(&anna, room, "Bob?").await;
        let fresh = ws.recv_type("new_notification").await;
        assert_ne!(fresh["notification"]["id"], note["id"]);
        until(&app, &bob, |n| n.len() == 2).await;

        // Looking at the room: no notification.
        ws.send(json!({"type": "subscribe_room", "room_id": room})).await;
        ws.recv_type("subscribed").await;
        app.post(&format!("/api/notifications/{}/mark_read/", fresh["notification"]["id"]), &bob.access, &json!({})).await.json_with(200).await;
        app.say(&anna, room, "Now you see me").await;
        let frames = ws.drain(Duration::from_millis(500)).await;
        assert!(frames.iter().any(|f| f["type"] == "new_message"), "{frames:?}");
        assert!(frames.iter().all(|f| f["type"] != "new_notification"), "{frames:?}");
        assert_eq!(message_notes(&app, &bob).await.len(), 2);
        // Having read the room, nothing is owed either: replying reads it (the sender's cursor moves).
        ws.send(json!({"type": "unsubscribe_room", "room_id": room})).await;
        ws.recv_type("unsubscribed").await;
        app.say(&bob, room, "Here!").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(message_notes(&app, &anna).await.len() == 1, "anna is told of bob's reply once");
    }
}

both_backends_with! {
    |f| f.merge(figment::providers::Serialized::default("chat.notify_max_members", 2)),
    async fn large_rooms_send_no_message_notifications(app) {
        let owner = app.register("client").await;
        let a = app.register("cleaner").await;
        let b = app.register("cleaner").await;
        let room = app.create_room(&owner, "private", &[&a, &b]).await;
        app.say(&owner, room, "Announcement").await;
        let dm = app.dm(&owner, &a).await;
        app.say(&owner, dm, "Just you").await;
        until(&app, &a, |n| n.len() == 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let notes = message_notes(&app, &a).await;
        assert_eq!(notes.len(), 1, "only the direct message: {notes:?}");
        assert_eq!(notes[0]["object"]["id"], dm);
        assert!(message_notes(&app, &b).await.is_empty());
    }
}
