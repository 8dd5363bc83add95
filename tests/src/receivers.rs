//! Real local receivers for external deliveries: an SMTP server on a free port (speaking the
//! part of RFC 5321 a submission uses) and an HTTP webhook receiver. Both record what arrived,
//! can be told to fail the next requests, and can be waited on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(20);

/// One accepted e-mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message as sent after `DATA` (headers and body, dot-unstuffed).
    pub data: String,
}

impl Mail {
    /// A header's value (first occurrence, case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The body after the blank line.
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
    }
}

#[derive(Debug)]
struct Inbox<T> {
    accepted: Mutex<Vec<T>>,
    refused: AtomicUsize,
    fail_next: AtomicUsize,
    delay_ms: AtomicUsize,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Self {
            accepted: Mutex::new(Vec::new()),
            refused: AtomicUsize::new(0),
            fail_next: AtomicUsize::new(0),
            delay_ms: AtomicUsize::new(0),
        }
    }
}

impl<T: Clone> Inbox<T> {
    /// Whether this request is to fail (consuming one planned failure).
    fn should_fail(&self) -> bool {
        let failed = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failed {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        failed
    }

    fn accepted(&self) -> Vec<T> {
        self.accepted.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<T> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let now = self.accepted();
            if now.len() >= count {
                return now;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {count} deliveries arrived",
                now.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A local SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpReceiver {
    /// Its port on 127.0.0.1.
    pub port: u16,
    inbox: Arc<Inbox<Mail>>,
}

impl SmtpReceiver {
    /// Listens on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox: Arc<Inbox<Mail>> = Arc::default();
        let shared = inbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = shared.clone();
                tokio::spawn(async move {
                    let _ = session(stream, &inbox).await;
                });
            }
        });
        Self { port, inbox }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answers the next `n` messages with `451` (a transient failure).
    pub fn fail_next(&self, n: usize) {
        self.inbox.fail_next.store(n, Ordering::SeqCst);
    }

    /// Messages accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.inbox.accepted()
    }

    /// Messages refused so far.
    pub fn refused(&self) -> usize {
        self.inbox.refused.load(Ordering::SeqCst)
    }

    /// Waits until `count` messages were accepted and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        self.inbox.wait_for(count).await
    }
}

async fn session(stream: tokio::net::TcpStream, inbox: &Inbox<Mail>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 receiver.test ESMTP\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-receiver.test\r\n250 8BITMIME\r\n"
        } else if command.starts_with("HELO") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if command.starts_with("MAIL FROM:") {
            from = address(&line);
            to.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO:") {
            to.push(address(&line));
            b"250 OK\r\n"
        } else if command == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            if inbox.should_fail() {
                b"451 4.3.0 Try again later\r\n"
            } else {
                inbox.accepted.lock().unwrap().push(Mail {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                b"250 OK queued\r\n"
            }
        } else if command == "RSET" {
            to.clear();
            b"250 OK\r\n"
        } else if command == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

fn address(line: &str) -> String {
    line.split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}

/// One accepted webhook request.
#[derive(Debug, Clone)]
pub struct Hook {
    /// Headers, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Hook {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A local HTTP receiver for the push webhook at `/push`.
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    /// Its port on 127.0.0.1.
    pub port: u16,
    inbox: Arc<Inbox<Hook>>,
    status: Arc<AtomicUsize>,
}

impl WebhookReceiver {
    /// Listens on a free port.
    pub async fn start() -> Self {
        let inbox: Arc<Inbox<Hook>> = Arc::default();
        let status = Arc::new(AtomicUsize::new(503));
        let state = (inbox.clone(), status.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/push", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self {
            port,
            inbox,
            status,
        }
    }

    /// `http://127.0.0.1:<port>/push`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/push", self.port)
    }

    /// Answers the next `n` requests with `status` (503 is transient, 400 permanent).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.status.store(usize::from(status), Ordering::SeqCst);
        self.inbox.fail_next.store(n, Ordering::SeqCst);
    }

    /// Holds each request this long before answering.
    pub fn delay(&self, delay: Duration) {
        self.inbox.delay_ms.store(
            usize::try_from(delay.as_millis()).unwrap(),
            Ordering::SeqCst,
        );
    }

    /// Requests accepted so far.
    pub fn hooks(&self) -> Vec<Hook> {
        self.inbox.accepted()
    }

    /// Requests refused so far.
    pub fn refused(&self) -> usize {
        self.inbox.refused.load(Ordering::SeqCst)
    }

    /// Waits until `count` requests were accepted and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Hook> {
        self.inbox.wait_for(count).await
    }
}

async fn receive(
    state: web::Data<(Arc<Inbox<Hook>>, Arc<AtomicUsize>)>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (inbox, status) = state.get_ref();
    let delay = inbox.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    if inbox.should_fail() {
        let code = u16::try_from(status.load(Ordering::SeqCst)).unwrap();
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).finish();
    }
    let headers = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    inbox.accepted.lock().unwrap().push(Hook {
        headers,
        body: body.to_vec(),
    });
    HttpResponse::Ok().finish()
}
