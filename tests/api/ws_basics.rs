//! The unified socket: connecting, authentication, and the frames every session starts with.

use std::time::Duration;

use eclean_tests::tokens::{access_claims, now, service_token, sign};
use eclean_tests::ws::{Refused, WsClient};
use eclean_tests::{ResponseExt, both_backends, both_backends_with};
use serde_json::json;

both_backends! {
    async fn a_session_opens_with_the_welcome_and_the_unread_snapshot(app) {
        let anna = app.register("client").await;
        let mut ws = app.ws(&anna.access).await;
        assert_eq!(ws.welcome["user_id"], anna.id);
        assert!(ws.welcome["session_id"].is_string());
        assert!(ws.welcome["server_time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(ws.welcome["heartbeat_s"], 20);
        assert_eq!(ws.initial_unread["notifications"], 0);
        assert_eq!(ws.initial_unread["chat"]["total"], 0);
        ws.send(json!({"type": "ping", "ref": "p1"})).await;
        let pong = ws.recv().await;
        assert_eq!(pong["type"], "pong");
        assert_eq!(pong["ref"], "p1");
    }
}

both_backends! {
    async fn the_token_may_come_by_query_header_or_subprotocol_and_the_alias_works(app) {
        let anna = app.register("client").await;
        let header = format!("Bearer {}", anna.access);
        WsClient::connect(&app.ws_url("/ws/"), &[("authorization", &header)]).await.unwrap();
        let protocol = format!("bearer, {}", anna.access);
        WsClient::connect(&app.ws_url("/ws/"), &[("sec-websocket-protocol", &protocol)]).await.unwrap();
        WsClient::connect(&app.ws_url(&format!("/ws/chat/?token={}", anna.access)), &[]).await.unwrap();
        WsClient::connect(&app.ws_url(&format!("/ws?token={}", anna.access)), &[]).await.unwrap();
    }
}

both_backends! {
    async fn unauthenticated_upgrades_are_refused_with_the_error_body(app) {
        let Refused { status, body } = WsClient::connect(&app.ws_url("/ws/"), &[]).await.unwrap_err();
        assert_eq!((status, body["code"].as_str()), (401, Some("not_authenticated")));
        let Refused { status, body } = WsClient::connect(&app.ws_url("/ws/?token=garbage"), &[]).await.unwrap_err();
        assert_eq!((status, body["code"].as_str()), (401, Some("token_malformed")));
        let anna = app.register("client").await;
        let Refused { status, body } = WsClient::connect(&app.ws_url(&format!("/ws/?token={}", anna.refresh)), &[]).await.unwrap_err();
        assert_eq!((status, body["code"].as_str()), (401, Some("token_not_access")));
        let mut expired = access_claims(json!(anna.id));
        expired["exp"] = json!(now() - 600);
        let Refused { status, body } = WsClient::connect(&app.ws_url(&format!("/ws/?token={}", sign(&expired))), &[]).await.unwrap_err();
        assert_eq!((status, body["code"].as_str()), (401, Some("token_expired")));
        let Refused { status, body } = WsClient::connect(&app.ws_url(&format!("/ws/?token={}", service_token("platform"))), &[]).await.unwrap_err();
        assert_eq!((status, body["code"].as_str()), (403, Some("not_a_user")));
    }
}

both_backends! {
    async fn origins_outside_the_allowlist_are_refused(app) {
        let anna = app.register("client").await;
        let url = app.ws_url(&format!("/ws/?token={}", anna.access));
        WsClient::connect(&url, &[("origin", "http://localhost:3000")]).await.unwrap();
        let Refused { status, body } = WsClient::connect(&url, &[("origin", "https://evil.example")]).await.unwrap_err();
        assert_eq!((status, body["code"].as_str()), (403, Some("origin_not_allowed")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_origin_can_be_refused_by_configuration() {
    use figment::providers::Serialized;
    let app = eclean_tests::TestApp::spawn_with(eclean_tests::Backend::Memory, |f| {
        f.merge(Serialized::default("ws.allow_missing_origin", false))
    })
    .await;
    let anna = app.register("client").await;
    let url = app.ws_url(&format!("/ws/?token={}", anna.access));
    let refused = WsClient::connect(&url, &[]).await.unwrap_err();
    assert_eq!(refused.status, 403);
    WsClient::connect(&url, &[("origin", "http://127.0.0.1:5173")])
        .await
        .unwrap();
}

both_backends! {
    async fn bad_frames_get_error_frames_and_the_connection_stays_open(app) {
        let anna = app.register("client").await;
        let mut ws = app.ws(&anna.access).await;
        let cases: Vec<(&str, &str, Option<&str>)> = vec![
            ("{oops", "malformed_json", None),
            ("[1, 2]", "invalid_frame", None),
            ("42", "invalid_frame", None),
            (r#"{"ref": "a"}"#, "missing_type", Some("a")),
            (r#"{"type": 7, "ref": "b"}"#, "invalid_frame", Some("b")),
            (r#"{"type": "warp", "ref": "c"}"#, "unknown_type", Some("c")),
            (r#"{"type": "subscribe_room", "room_id": "x", "ref": "d"}"#, "validation_error", Some("d")),
            (r#"{"type": "subscribe_room", "ref": "e"}"#, "validation_error", Some("e")),
            (r#"{"type": "subscribe_room", "room_id": 999999, "ref": "f"}"#, "not_found", Some("f")),
            (r#"{"type": "subscribe_room", "room_id": -1, "ref": "g"}"#, "not_found", Some("g")),
            (r#"{"type": "send_message", "room_id": 999999, "content": "hi", "client_msg_id": "k1", "ref": "h"}"#, "not_found", Some("h")),
            (r#"{"type": "typing", "room_id": 999999, "is_typing": true, "ref": "i"}"#, "not_found", Some("i")),
            (r#"{"type": "mark_read", "room_id": 999999, "seq": 1, "ref": "j"}"#, "not_found", Some("j")),
            (r#"{"type": "edit_message", "message_id": 999999, "content": "x", "ref": "k"}"#, "not_found", Some("k")),
            (r#"{"type": "delete_message", "message_id": 999999, "ref": "l"}"#, "not_found", Some("l")),
            (r#"{"type": "ping", "ref": 5}"#, "invalid_frame", None),
        ];
        for (text, code, reference) in cases {
            ws.send_text(text).await;
            let error = ws.recv().await;
            assert_eq!(error["type"], "error", "{text}: {error}");
            assert_eq!(error["code"], code, "{text}: {error}");
            assert_eq!(error["ref"].as_str(), reference, "{text}: {error}");
            assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        ws.send_binary(vec![1, 2, 3]).await;
        assert_eq!(ws.recv().await["code"], "invalid_frame");
        ws.send(json!({"type": "ping"})).await;
        assert_eq!(ws.recv().await["type"], "pong");
    }
}

both_backends! {
    async fn an_oversized_frame_closes_with_1009(app) {
        let anna = app.register("client").await;
        let mut ws = app.ws(&anna.access).await;
        let huge = "x".repeat(70 * 1024);
        ws.send(json!({"type": "ping", "pad": huge})).await;
        let (code, _) = ws.closed().await;
        assert_eq!(code, 1009);
    }
}

both_backends_with! {
    |f| f.merge(figment::providers::Serialized::default("ws.max_sessions_per_user", 2)),
    async fn the_session_cap_closes_the_extra_session_with_4009(app) {
    let anna = app.register("client").await;
    let _one = app.ws(&anna.access).await;
    let _two = app.ws(&anna.access).await;
    let stream = eclean_tests::ws::open(&app.ws_url(&format!("/ws/?token={}", anna.access)), &[])
        .await
        .unwrap();
    let mut third = WsClient::from_stream(stream);
    assert_eq!(third.closed().await.0, 4009);
    // Another user is not affected.
    let bob = app.register("client").await;
    app.ws(&bob.access).await;
    }
}

both_backends_with! {
    |f| f,
    async fn an_expiring_token_closes_with_4001_unless_refreshed(app) {
    let anna = app.register("client").await;
    let mut short = access_claims(json!(anna.id));
    short["exp"] = json!(now() + 2);
    let mut ws = app.ws(&sign(&short)).await;
    assert_eq!(ws.closed().await.0, 4001);

    let mut short = access_claims(json!(anna.id));
    short["exp"] = json!(now() + 2);
    let mut ws = app.ws(&sign(&short)).await;
    ws.send(json!({"type": "auth_refresh", "token": anna.access, "ref": "r"}))
        .await;
    let refreshed = ws.recv().await;
    assert_eq!(refreshed["type"], "auth_refreshed", "{refreshed}");
    assert_eq!(refreshed["ref"], "r");
    ws.expect_silence(Duration::from_secs(3)).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await["type"], "pong");

    // A token of someone else is refused and the session goes on.
    let bob = app.register("client").await;
    ws.send(json!({"type": "auth_refresh", "token": bob.access}))
        .await;
    assert_eq!(ws.recv().await["code"], "token_user_mismatch");
    ws.send(json!({"type": "auth_refresh", "token": "junk"}))
        .await;
    assert_eq!(ws.recv().await["code"], "token_malformed");
    }
}

both_backends! {
    async fn the_session_gauge_counts_open_sessions(app) {
        let anna = app.register("client").await;
        let ws = app.ws(&anna.access).await;
        let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let line = text.lines().find(|l| l.starts_with("websocket_sessions_open ")).unwrap();
        let open: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(open >= 1.0, "{line}");
        ws.close().await;
        let _ = app.get("/api/users/me/", &anna.access).await.json_with(200).await;
    }
}
