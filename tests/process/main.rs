//! The `eclean-realtime` binary as operators run it: start-up lines, JSON logs, migrations,
//! concurrent start-up, admin bootstrap, graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::Duration;

use eclean_tests::instance::{Instance, command};
use eclean_tests::{ResponseExt, TestDatabase};
use serde_json::json;

fn start(env: &[(&str, &str)]) -> Instance {
    Instance::start(env)
}

async fn wait_ready(client: &reqwest::Client, process: &Instance) {
    process.wait_ready(client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_line_names_the_port_and_the_memory_storage_and_sigterm_stops_it() {
    let mut server = start(&[]);
    assert!(
        server.first_line.contains("listening on http://127.0.0.1:"),
        "{}",
        server.first_line
    );
    assert!(
        server.first_line.contains("IN MEMORY"),
        "{}",
        server.first_line
    );
    let client = eclean_tests::http_client();
    client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json_with(200)
        .await;
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(15)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_it_too() {
    let mut server = start(&[]);
    server.signal("INT");
    assert!(server.wait_exit(Duration::from_secs(15)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_the_request_id() {
    let server = start(&[("APP_LOG__FORMAT", "json")]);
    let first: serde_json::Value = serde_json::from_str(&server.first_line)
        .unwrap_or_else(|e| panic!("{e}: {}", server.first_line));
    assert_eq!(first["level"], "WARN");
    assert!(
        first["message"].as_str().unwrap().contains("listening on"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_applies_pending_migrations_once() {
    let database = TestDatabase::empty().await;
    let url = database.url().to_owned();
    let first = command(&[("DATABASE_URL", &url)])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("applied"),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let second = command(&[("DATABASE_URL", &url)])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&second.stdout).contains("nothing to do"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_starting_together_on_an_empty_database_both_become_ready() {
    let database = TestDatabase::empty().await;
    let url = database.url().to_owned();
    let redis = eclean_tests::app::redis_url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis.as_str()),
    ];
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| start(&env));
        let b = scope.spawn(|| start(&env));
        (a.join().unwrap(), b.join().unwrap())
    });
    let client = eclean_tests::http_client();
    wait_ready(&client, &a).await;
    wait_ready(&client, &b).await;
    assert!(
        a.first_line.contains("PostgreSQL + Redis"),
        "{}",
        a.first_line
    );
    // Both serve the same accounts.
    let body = json!({"email": "both@example.com", "username": "both", "password": "a-long-walk-home", "role": "client"});
    client
        .post(a.url("/api/auth/register/"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json_with(201)
        .await;
    client
        .post(b.url("/api/auth/login/"))
        .json(&json!({"email": "both@example.com", "password": "a-long-walk-home"}))
        .send()
        .await
        .unwrap()
        .json_with(200)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_admin_creates_an_admin_who_can_log_in() {
    use std::io::Write;
    let database = TestDatabase::empty().await;
    let url = database.url().to_owned();
    let mut child = command(&[("DATABASE_URL", &url)])
        .args([
            "create-admin",
            "--email",
            "ops@example.com",
            "--username",
            "ops",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"operations-password-42\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let weak = command(&[("DATABASE_URL", &url), ("ECLEAN_ADMIN_PASSWORD", "123")])
        .args([
            "create-admin",
            "--email",
            "ops2@example.com",
            "--username",
            "ops2",
        ])
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    let server = start(&[("DATABASE_URL", &url)]);
    let client = eclean_tests::http_client();
    let body = client
        .post(server.url("/api/auth/login/"))
        .json(&json!({"email": "ops@example.com", "password": "operations-password-42"}))
        .send()
        .await
        .unwrap()
        .json_with(200)
        .await;
    assert_eq!(body["user"]["role"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_exits_zero_for_a_ready_server_and_one_otherwise() {
    let server = start(&[]);
    let client = eclean_tests::http_client();
    wait_ready(&client, &server).await;
    let ready = command(&[])
        .args(["probe", "--url", &server.url("/readyz")])
        .output()
        .unwrap();
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    let nobody = eclean_tests::services::free_port();
    let down = command(&[])
        .args([
            "probe",
            "--url",
            &format!("http://127.0.0.1:{nobody}/readyz"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        down.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
}
