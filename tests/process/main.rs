//! The `eclean-realtime` binary as operators run it: start-up lines, JSON logs, migrations,
//! concurrent start-up, admin bootstrap, graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eclean_tests::binary::server_binary;
use eclean_tests::tokens::TEST_SECRET;
use eclean_tests::{ResponseExt, TestDatabase};
use serde_json::json;

/// A server process and the lines it logged so far.
struct Process {
    child: Child,
    port: u16,
    first_line: String,
}

fn command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(server_binary());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_SERVER__PORT", "0")
        .env("APP_SERVER__WORKERS", "1")
        .env("APP_AUTH__PASSWORD_HASH__MEMORY_KIB", "1024")
        .env("APP_AUTH__PASSWORD_HASH__ITERATIONS", "1")
        .env("JWT_SECRET", TEST_SECRET)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Starts the server and waits for the log line that names its port.
fn start(env: &[(&str, &str)]) -> Process {
    let mut child = command(env)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = true;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if first || line.contains("listening on") {
                let _ = tx.send(line.clone());
                first = false;
            }
            if std::env::var_os("TEST_LOG").is_some() {
                eprintln!("[server] {line}");
            }
        }
    });
    let first_line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server logs a first line");
    let listening = if first_line.contains("listening on") {
        first_line.clone()
    } else {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the server logs its address")
    };
    let port = listening
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no port in {listening}"));
    Process {
        child,
        port,
        first_line,
    }
}

impl Process {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(client: &reqwest::Client, process: &Process) {
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(process.url("/readyz")).send().await
            && response.status() == 200
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not ready in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
