//! `eclean-realtime` as a real process: started with an environment, read from its log, stopped
//! with a signal or killed — for tests of start-up, shutdown and several instances at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::binary::server_binary;
use crate::tokens::TEST_SECRET;

/// A running server process.
#[derive(Debug)]
pub struct Instance {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its first log line.
    pub first_line: String,
    log: Arc<Mutex<Vec<String>>>,
}

/// The command with a clean, fast test environment (cheap password hashing, one worker, port 0,
/// the test secret) plus `env`.
pub fn command(env: &[(&str, &str)]) -> Command {
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

fn port_in(line: &str) -> Option<u16> {
    line.split("127.0.0.1:").nth(1).and_then(|rest| {
        rest.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    })
}

impl Instance {
    /// Starts the server and waits for the log line that names its port.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut child = command(env)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = log.clone();
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
                kept.lock().unwrap().push(line);
            }
        });
        let first_line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs a first line");
        let listening = if first_line.contains("listening on") {
            first_line.clone()
        } else {
            rx.recv_timeout(Duration::from_secs(60))
                .expect("the server logs its address")
        };
        let port = port_in(&listening).unwrap_or_else(|| panic!("no port in {listening}"));
        Self {
            child,
            port,
            first_line,
            log,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Sends a signal (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
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

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self, client: &reqwest::Client) {
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(self.url("/readyz")).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "not ready in time"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
