//! The original's chat sockets on the new services, with the access checks the original lacked.

use std::time::Duration;

use eclean_tests::ws::{Refused, WsClient, open};
use eclean_tests::{ResponseExt, TestApp, both_backends};
use serde_json::{Value, json};

async fn compat(app: &TestApp, path: &str, token: &str) -> WsClient {
    let separator = if path.contains('?') { '&' } else { '?' };
    let stream = open(&app.ws_url(&format!("{path}{separator}token={token}")), &[])
        .await
        .unwrap_or_else(|r| panic!("refused {} {}", r.status, r.body));
    WsClient::from_stream(stream)
}

async fn next_of(ws: &mut WsClient, kind: &str) -> Value {
    ws.recv_type(kind).await
}

both_backends! {
    async fn the_named_room_socket_speaks_the_original_frames(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let name = format!("lobby_{}", eclean_tests::unique());
        let path = format!("/ws/chat/{name}/");
        let mut a = compat(&app, &path, &anna.access).await;
        let joined = next_of(&mut a, "user_status").await;
        assert_eq!(joined, json!({"type": "user_status", "user": anna.username, "status": "joined"}));
        let mut b = compat(&app, &path, &bob.access).await;
        assert_eq!(next_of(&mut b, "user_status").await["user"], bob.username.as_str());
        let seen = next_of(&mut a, "user_status").await;
        assert_eq!((seen["user"].as_str(), seen["status"].as_str()), (Some(bob.username.as_str()), Some("joined")));

        a.send(json!({"type": "message", "message": "  hello everyone  "})).await;
        for ws in [&mut a, &mut b] {
            let message = next_of(ws, "message").await;
            assert_eq!(message["data"]["content"], "hello everyone");
            assert_eq!(message["data"]["sender"]["username"], anna.username.as_str());
        }
        // The original defaulted a frame without a type to a message.
        b.send(json!({"message": "typeless"})).await;
        assert_eq!(next_of(&mut a, "message").await["data"]["content"], "typeless");
        a.send(json!({"type": "typing", "is_typing": true})).await;
        let typing = next_of(&mut b, "typing").await;
        assert_eq!(typing, json!({"type": "typing", "user": anna.username, "is_typing": true}));
        // The room is an ordinary public room: history over REST, and read_message moves the cursor.
        let rooms = app.get("/api/chat/rooms/", &bob.access).await.json_with(200).await;
        let room = rooms["results"].as_array().unwrap().iter().find(|r| r["name"] == name.as_str()).unwrap().clone();
        assert_eq!((room["room_type"].as_str(), room["visibility"].as_str()), (Some("general"), Some("public")));
        let history = app.get(&format!("/api/chat/rooms/{}/messages/", room["id"]), &bob.access).await.json_with(200).await;
        let last_id = history["results"].as_array().unwrap().last().unwrap()["id"].as_i64().unwrap();
        // Bob's message is unread for Anna until she reads it.
        assert_eq!(app.get("/api/chat/unread/", &anna.access).await.json_with(200).await["total"], 1);
        a.send(json!({"type": "read_message", "message_id": last_id})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(app.get("/api/chat/unread/", &anna.access).await.json_with(200).await["total"], 0);
        // Errors come in the original's key plus our code; the socket stays open.
        a.send_text("{nope").await;
        let error = next_of(&mut a, "error").await;
        assert_eq!(error["code"], "malformed_json");
        assert!(error["error"].as_str().unwrap().contains("Invalid JSON"));
        a.send(json!({"type": "message", "message": "   "})).await;
        assert_eq!(next_of(&mut a, "error").await["code"], "validation_error");
        a.send(json!({"type": "dance"})).await;
        assert_eq!(next_of(&mut a, "error").await["code"], "unknown_type");
        b.close().await;
        let left = next_of(&mut a, "user_status").await;
        assert_eq!((left["user"].as_str(), left["status"].as_str()), (Some(bob.username.as_str()), Some("left")));
    }
}

both_backends! {
    async fn a_name_addresses_public_rooms_only(app) {
        let owner = app.register("client").await;
        let eve = app.register("cleaner").await;
        let name = format!("secret_{}", eclean_tests::unique());
        let private = app
            .post("/api/chat/rooms/", &owner.access, &json!({"room_type": "general", "name": name, "visibility": "private"}))
            .await
            .json_with(201)
            .await["id"]
            .as_i64()
            .unwrap();
        app.say(&owner, private, "private plans").await;
        let mut e = compat(&app, &format!("/ws/chat/{name}/"), &eve.access).await;
        e.send(json!({"type": "message", "message": "anyone?"})).await;
        let frames = e.drain(Duration::from_millis(500)).await;
        assert!(frames.iter().all(|f| !f.to_string().contains("private plans")), "{frames:?}");
        app.get(&format!("/api/chat/rooms/{private}/"), &eve.access).await.error_with(404, "not_found").await;
        let history = app.get(&format!("/api/chat/rooms/{private}/messages/"), &owner.access).await.json_with(200).await;
        assert_eq!(history["results"].as_array().unwrap().len(), 1, "the private room is untouched");
        let Refused { status, .. } = open(&app.ws_url(&format!("/ws/chat/bad-name/?token={}", eve.access)), &[]).await.unwrap_err();
        assert_eq!(status, 400);
        let Refused { status, .. } = open(&app.ws_url(&format!("/ws/chat/{name}/")), &[]).await.unwrap_err();
        assert_eq!(status, 401);
    }
}

both_backends! {
    async fn the_job_chat_socket_admits_the_jobs_people_and_admins_only(app) {
    let client = app.register("client").await;
    let cleaner = app.register("cleaner").await;
    let other_bidder = app.register("cleaner").await;
    let outsider = app.register("cleaner").await;
    let admin = app.admin().await;
    app.open_job_room(77, client.id, cleaner.id).await;
    app.open_job_room(77, client.id, other_bidder.id).await;

    let mut c = compat(&app, "/ws/job_chat/77/", &cleaner.access).await;
    let mut k = compat(&app, &format!("/ws/job_chat/77/?bidder_id={}", cleaner.id), &client.access).await;
    next_of(&mut c, "user_status").await;
    next_of(&mut k, "user_status").await;
    k.send(json!({"type": "message", "message": "when can you come?"})).await;
    assert_eq!(next_of(&mut c, "message").await["data"]["content"], "when can you come?");
    // The other bidder has their own room and sees none of it.
    let mut o = compat(&app, "/ws/job_chat/77/", &other_bidder.access).await;
    c.send(json!({"type": "message", "message": "tomorrow at 9"})).await;
    // Senders see their own messages echoed, as in the original.
    assert_eq!(next_of(&mut k, "message").await["data"]["content"], "when can you come?");
    assert_eq!(next_of(&mut k, "message").await["data"]["content"], "tomorrow at 9");
    let leaked = o.drain(Duration::from_millis(500)).await;
    assert!(leaked.iter().all(|f| f["type"] != "message"), "{leaked:?}");
    // An admin may look in, naming the cleaner.
    let mut a = compat(&app, &format!("/ws/job_chat/77/?bidder_id={}", cleaner.id), &admin.access).await;
    next_of(&mut a, "user_status").await;
    for (path, token, status) in [
        ("/ws/job_chat/77/".to_owned(), outsider.access.clone(), 404),
        ("/ws/job_chat/78/".to_owned(), cleaner.access.clone(), 404),
        (format!("/ws/job_chat/77/?bidder_id={}", outsider.id), client.access.clone(), 404),
        ("/ws/job_chat/abc/".to_owned(), cleaner.access.clone(), 404),
    ] {
        let Refused { status: got, body } = open(&app.ws_url(&format!("{path}{}token={token}", if path.contains('?') { "&" } else { "?" })), &[]).await.unwrap_err();
        assert_eq!(got, status, "{path}: {body}");
    }
}
}
