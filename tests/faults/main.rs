//! Fault tests: two real `eclean-realtime` processes against one PostgreSQL and one Redis, and
//! the guarantees of DESIGN §3 through Redis, node and database faults. Each scenario runs
//! several rounds, so a flaky guarantee shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use eclean_tests::services::{PrivatePostgres, PrivateRedis};
use eclean_tests::{ResponseExt, TestDatabase};
use serde_json::json;

use support::*;

/// Rounds per scenario.
const ROUNDS: usize = 3;

fn shared_redis() -> String {
    eclean_tests::app::redis_url()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_through_one_instance_reaches_both_once_each_in_order() {
    let database = TestDatabase::migrated().await;
    let env = cluster_env(
        database.url(),
        &shared_redis(),
        &format!("fault1:{}:", eclean_tests::unique()),
    );
    let (a, b) = (instance(&env), instance(&env));
    let client = eclean_tests::http_client();
    a.wait_ready(&client).await;
    b.wait_ready(&client).await;
    for round in 0..ROUNDS {
        let anna = register(&client, &a, "client").await;
        let bob = register(&client, &b, "cleaner").await;
        let room = dm(&client, &a, &anna, &bob).await;
        let mut on_a = Receiver::connect(&a, &anna, room, None).await;
        let mut on_b = Receiver::connect(&b, &bob, room, None).await;
        // Sent over A's socket, one after the other.
        for i in 1..=40 {
            on_a.ws.send(json!({"type": "send_message", "room_id": room, "content": format!("m{i}"), "client_msg_id": format!("r{round}-{i}")})).await;
        }
        // And one through B, over REST.
        on_b.read_until(40).await;
        let (status, _) = send(&client, &b, &bob, room, "from b").await;
        assert_eq!(status, 201);
        on_a.read_until(41).await;
        on_b.read_until(41).await;
        on_a.read_for(Duration::from_millis(300)).await;
        on_b.read_for(Duration::from_millis(300)).await;
        exactly_once_in_order(&on_a.seqs, 1, 41, "the session on A");
        exactly_once_in_order(&on_b.seqs, 1, 41, "the session on B");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_loses_and_duplicates_nothing() {
    let database = TestDatabase::migrated().await;
    let mut redis = PrivateRedis::start();
    let env = cluster_env(database.url(), &redis.url(), "fault2:");
    let (a, b) = (instance(&env), instance(&env));
    let client = eclean_tests::http_client();
    a.wait_ready(&client).await;
    b.wait_ready(&client).await;
    for _ in 0..ROUNDS {
        let anna = register(&client, &a, "client").await;
        let bob = register(&client, &b, "cleaner").await;
        let room = dm(&client, &a, &anna, &bob).await;
        let mut on_a = Receiver::connect(&a, &anna, room, None).await;
        let mut on_b = Receiver::connect(&b, &bob, room, None).await;
        let total = 60;
        for i in 1..=total {
            // Both instances keep sending, alternately, while Redis goes away and comes back.
            let (via, sender) = if i % 2 == 0 { (&a, &anna) } else { (&b, &bob) };
            let (status, _) = send(&client, via, sender, room, &format!("m{i}")).await;
            assert_eq!(
                status, 201,
                "message {i}: PostgreSQL is up, so every send is accepted"
            );
            if i == 20 {
                redis.stop();
            }
            if i == 35 {
                redis.resume();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Then the hardest case: the last messages go out through A while Redis is down and
        // nothing follows them — only reconciliation can bring them to B.
        redis.stop();
        let last = total + 5;
        for i in total + 1..=last {
            assert_eq!(
                send(&client, &a, &anna, room, &format!("m{i}")).await.0,
                201
            );
        }
        redis.resume();
        on_a.read_until(last).await;
        on_b.read_until(last).await;
        on_a.read_for(Duration::from_millis(500)).await;
        on_b.read_for(Duration::from_millis(500)).await;
        exactly_once_in_order(&on_a.seqs, 1, last, "the session on A");
        exactly_once_in_order(&on_b.seqs, 1, last, "the session on B");
        a.wait_ready(&client).await;
        b.wait_ready(&client).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instances_clients_resume_on_the_other_and_lose_nothing() {
    let database = TestDatabase::migrated().await;
    let env = cluster_env(
        database.url(),
        &shared_redis(),
        &format!("fault3:{}:", eclean_tests::unique()),
    );
    let client = eclean_tests::http_client();
    let b = instance(&env);
    b.wait_ready(&client).await;
    for _ in 0..ROUNDS {
        let mut a = instance(&env);
        a.wait_ready(&client).await;
        let anna = register(&client, &b, "client").await;
        let bob = register(&client, &b, "cleaner").await;
        let room = dm(&client, &b, &anna, &bob).await;
        let mut on_a = Receiver::connect(&a, &anna, room, None).await;
        let total = 40;
        for i in 1..=total {
            let (status, _) = send(&client, &b, &bob, room, &format!("m{i}")).await;
            assert_eq!(status, 201);
            if i == 15 {
                on_a.read_until(15).await;
                a.signal("KILL");
                a.wait_exit(Duration::from_secs(10));
            }
        }
        // The client notices the dead connection and resumes on B from what it saw last.
        on_a.read_for(Duration::from_millis(200)).await;
        let seen = on_a.seqs.clone();
        let mut resumed = Receiver::connect(&b, &anna, room, Some(on_a.last())).await;
        resumed.read_until(total).await;
        resumed.read_for(Duration::from_millis(300)).await;
        let mut all = seen;
        all.extend(resumed.seqs.iter().copied());
        exactly_once_in_order(&all, 1, total, "the client that moved from A to B");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_means_retryable_errors_nothing_half_written_and_recovery() {
    let mut postgres = PrivatePostgres::start();
    let env = cluster_env(
        &postgres.url(),
        &shared_redis(),
        &format!("fault4:{}:", eclean_tests::unique()),
    );
    let (a, b) = (instance(&env), instance(&env));
    let client = eclean_tests::http_client();
    a.wait_ready(&client).await;
    b.wait_ready(&client).await;
    for round in 0..ROUNDS {
        let anna = register(&client, &a, "client").await;
        let bob = register(&client, &b, "cleaner").await;
        let room = dm(&client, &a, &anna, &bob).await;
        let mut on_b = Receiver::connect(&b, &bob, room, None).await;
        let mut on_a = Receiver::connect(&a, &anna, room, None).await;
        assert_eq!(send(&client, &a, &anna, room, "before").await.0, 201);
        postgres.stop();
        // REST: a retryable 503, on both instances.
        for via in [&a, &b] {
            let (status, body) = send(&client, via, &anna, room, "while down").await;
            assert_eq!(status, 503, "{body}");
            assert_eq!(body["code"], "service_unavailable");
        }
        let ready = client
            .get(a.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json_with(503)
            .await;
        assert!(ready.to_string().contains("postgres"), "{ready}");
        // WebSocket: an error frame with the request's ref; the connection stays open.
        on_a.ws.send(json!({"type": "send_message", "room_id": room, "content": "ws while down", "client_msg_id": format!("down-{round}"), "ref": "w1"})).await;
        let error = on_a.ws.recv_type("error").await;
        assert_eq!(
            (error["code"].as_str(), error["ref"].as_str()),
            (Some("service_unavailable"), Some("w1"))
        );
        postgres.resume();
        // The instances recover by themselves.
        a.wait_ready(&client).await;
        b.wait_ready(&client).await;
        let mut accepted = false;
        for _ in 0..50 {
            if send(&client, &a, &anna, room, "after").await.0 == 201 {
                accepted = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(accepted, "sends work again once PostgreSQL is back");
        on_a.ws.send(json!({"type": "send_message", "room_id": room, "content": "ws after", "client_msg_id": format!("up-{round}"), "ref": "w2"})).await;
        assert_eq!(on_a.ws.recv_type("message_ack").await["ref"], "w2");
        // Nothing of the refused sends was written: the history is before, after, ws after.
        on_b.read_until(3).await;
        on_b.read_for(Duration::from_millis(300)).await;
        exactly_once_in_order(&on_b.seqs, 1, 3, "the session on B");
        let contents: Vec<String> = {
            let page = client
                .get(b.url(&format!("/api/chat/rooms/{room}/messages/")))
                .bearer_auth(&bob.access)
                .send()
                .await
                .unwrap()
                .json_with(200)
                .await;
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["content"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(contents, ["before", "after", "ws after"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sessions_with_1012_and_loses_no_accepted_message() {
    let database = TestDatabase::migrated().await;
    let env = cluster_env(
        database.url(),
        &shared_redis(),
        &format!("fault5:{}:", eclean_tests::unique()),
    );
    let client = eclean_tests::http_client();
    let b = instance(&env);
    b.wait_ready(&client).await;
    for _ in 0..ROUNDS {
        let mut a = instance(&env);
        a.wait_ready(&client).await;
        let anna = register(&client, &b, "client").await;
        let bob = register(&client, &b, "cleaner").await;
        let room = dm(&client, &b, &anna, &bob).await;
        let mut on_a = Receiver::connect(&a, &anna, room, None).await;
        // Bob sends through A until A is gone; every accepted message must survive.
        let mut accepted = Vec::new();
        for i in 1..=200 {
            let (status, body) = send(&client, &a, &bob, room, &format!("m{i}")).await;
            match status {
                201 => accepted.push(body["seq"].as_i64().unwrap()),
                _ => break,
            }
            if i == 10 {
                a.signal("TERM");
            }
        }
        let (code, reason) = on_a.ws.closed().await;
        assert_eq!(code, 1012, "{reason}");
        assert!(a.wait_exit(Duration::from_secs(20)).success());
        assert!(accepted.len() >= 10, "{accepted:?}");
        let stored = history(&client, &b, &bob, room).await;
        for seq in &accepted {
            assert!(
                stored.contains(seq),
                "accepted message {seq} was lost: {stored:?}"
            );
        }
        exactly_once_in_order(&stored, 1, stored.len() as i64, "the stored history");
        // The client resumes on B and sees the rest.
        let mut resumed = Receiver::connect(&b, &anna, room, Some(0)).await;
        resumed.read_until(stored.len() as i64).await;
        exactly_once_in_order(&resumed.seqs, 1, stored.len() as i64, "the resumed client");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_leaves_nobody_online_for_long() {
    let database = TestDatabase::migrated().await;
    let mut env = cluster_env(
        database.url(),
        &shared_redis(),
        &format!("fault6:{}:", eclean_tests::unique()),
    );
    // Sessions count as online for three heartbeats (3 s here).
    env.push(("APP_WS__HEARTBEAT_S".into(), "1".into()));
    let client = eclean_tests::http_client();
    let b = instance(&env);
    b.wait_ready(&client).await;
    for _ in 0..ROUNDS {
        let mut a = instance(&env);
        a.wait_ready(&client).await;
        let anna = register(&client, &b, "client").await;
        let bob = register(&client, &b, "cleaner").await;
        let room = dm(&client, &b, &anna, &bob).await;
        let _anna_on_a = Receiver::connect(&a, &anna, room, None).await;
        let mut bob_on_b = Receiver::connect(&b, &bob, room, None).await;
        let shown = bob_on_b.ws.drain(Duration::from_millis(300)).await;
        assert!(
            shown
                .iter()
                .any(|f| f["type"] == "presence" && f["user_id"] == anna.id && f["online"] == true),
            "{shown:?}"
        );
        a.signal("KILL");
        a.wait_exit(Duration::from_secs(10));
        // Nobody said goodbye, but anna's sessions expire and bob's session notices.
        let offline = bob_on_b.ws.recv_type("presence").await;
        assert_eq!(
            (offline["user_id"].as_i64(), offline["online"].as_bool()),
            (Some(anna.id), Some(false))
        );
        // And she is offline for newcomers too.
        let mut late = Receiver::connect(&b, &bob, room, None).await;
        let frames = late.ws.drain(Duration::from_millis(300)).await;
        assert!(
            frames
                .iter()
                .all(|f| !(f["type"] == "presence" && f["user_id"] == anna.id)),
            "{frames:?}"
        );
    }
}
