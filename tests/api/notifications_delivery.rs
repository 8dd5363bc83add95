//! External delivery against a real local SMTP server and a real local HTTP receiver: sent once,
//! signed, retried after transient failures, given up after permanent ones, and resumed by the
//! next server after a restart mid-queue.

use std::time::Duration;

use eclean_tests::receivers::{SmtpReceiver, WebhookReceiver};
use eclean_tests::{Backend, ResponseExt, TestApp, TestUser};
use figment::providers::Serialized;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "webhook-secret-for-the-delivery-tests";

struct Harness {
    app: TestApp,
    smtp: SmtpReceiver,
    hook: WebhookReceiver,
}

async fn harness(
    backend: Backend,
    tune: impl FnOnce(figment::Figment) -> figment::Figment,
) -> Harness {
    let smtp = SmtpReceiver::start().await;
    let hook = WebhookReceiver::start().await;
    let (smtp_url, hook_url) = (smtp.url(), hook.url());
    let app = TestApp::spawn_with(backend, move |f| {
        tune(
            f.merge(Serialized::default("notifications.smtp_url", smtp_url))
                .merge(Serialized::default("notifications.webhook_url", hook_url))
                .merge(Serialized::default("notifications.webhook_secret", SECRET))
                .merge(Serialized::default("notifications.delivery_poll_ms", 50))
                .merge(Serialized::default("notifications.retry_base_ms", 100))
                .merge(Serialized::default(
                    "notifications.delivery_timeout_ms",
                    3000,
                )),
        )
    })
    .await;
    Harness { app, smtp, hook }
}

async fn deliveries(app: &TestApp, admin: &TestUser, notification: &Value) -> Vec<Value> {
    let mut list = app
        .get(
            &format!("/api/notifications/{}/deliveries/", notification["id"]),
            &admin.access,
        )
        .await
        .json_with(200)
        .await
        .as_array()
        .unwrap()
        .clone();
    list.sort_by_key(|d| d["channel"].as_str().unwrap().to_owned());
    list
}

/// Waits until every delivery of `notification` has left `pending`.
async fn settled(app: &TestApp, admin: &TestUser, notification: &Value) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = deliveries(app, admin, notification).await;
        if !list.is_empty() && list.iter().all(|d| d["state"] != "pending") {
            return list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still pending: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn expected_signature(timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$body(eclean_tests::Backend::Memory).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body(eclean_tests::Backend::Postgres).await;
            }
        }
    };
}

async fn e_mail_and_signed_webhook_are_delivered_once(backend: Backend) {
    let Harness { app, smtp, hook } = harness(backend, |f| f).await;
    let admin = app.admin().await;
    let anna = app.register("client").await;
    let sent = app
        .notify(&admin, anna.id, json!({
            "notification_type": "job_confirmed", "action_url": "/jobs/12/",
            "context": {"job_title": "Spring clean", "cleaner_name": "Bob", "scheduled_at": "Monday"},
        }))
        .await;
    let mails = smtp.wait_for(1).await;
    let hooks = hook.wait_for(1).await;
    let list = settled(&app, &admin, &sent).await;

    let mail = &mails[0];
    assert_eq!(mail.to, std::slice::from_ref(&anna.email));
    assert_eq!(mail.from, "no-reply@e-clean.example");
    assert_eq!(mail.header("Subject").as_deref(), sent["title"].as_str());
    assert!(
        mail.body().contains(sent["message"].as_str().unwrap()),
        "{}",
        mail.data
    );
    assert!(mail.body().contains("/jobs/12/"), "{}", mail.data);
    let email_delivery = list.iter().find(|d| d["channel"] == "email").unwrap();
    assert!(
        mail.header("Message-ID")
            .unwrap()
            .contains(&format!("delivery-{}@", email_delivery["id"])),
        "{:?}",
        mail.header("Message-ID")
    );

    let call = &hooks[0];
    let timestamp = call.header("X-Eclean-Timestamp").unwrap();
    assert!((timestamp.parse::<i64>().unwrap() - chrono::Utc::now().timestamp()).abs() < 60);
    assert_eq!(
        call.header("X-Eclean-Signature").unwrap(),
        expected_signature(timestamp, &call.body)
    );
    assert_eq!(call.header("Content-Type"), Some("application/json"));
    let push_delivery = list.iter().find(|d| d["channel"] == "push").unwrap();
    assert_eq!(
        call.header("X-Eclean-Delivery").unwrap(),
        push_delivery["id"].to_string()
    );
    assert_eq!(
        call.header("Idempotency-Key").unwrap(),
        format!("eclean-delivery-{}", push_delivery["id"])
    );
    let payload = call.json();
    assert_eq!(
        (
            payload["channel"].as_str(),
            payload["user_id"].as_i64(),
            payload["attempt"].as_i64()
        ),
        (Some("push"), Some(anna.id), Some(1))
    );
    assert_eq!(payload["notification"]["id"], sent["id"]);
    assert_eq!(payload["notification"]["title"], sent["title"]);
    assert_eq!(payload["notification"]["action_url"], "/jobs/12/");

    for delivery in &list {
        assert_eq!(
            (delivery["state"].as_str(), delivery["attempts"].as_u64()),
            (Some("delivered"), Some(1)),
            "{delivery}"
        );
        assert!(delivery["delivered_at"].is_string());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        (smtp.mails().len(), hook.hooks().len()),
        (1, 1),
        "sent once"
    );
}
on_both!(
    e_mail_and_signed_webhook_are_delivered_once,
    e_mail_and_signed_webhook_are_delivered_once
);

async fn transient_failures_are_retried_until_delivered(backend: Backend) {
    let Harness { app, smtp, hook } = harness(backend, |f| f).await;
    let admin = app.admin().await;
    let anna = app.register("client").await;
    smtp.fail_next(2);
    hook.fail_next(2, 503);
    let sent = app.alert(&admin, anna.id, "Retry me").await;
    smtp.wait_for(1).await;
    hook.wait_for(1).await;
    let list = settled(&app, &admin, &sent).await;
    assert_eq!((smtp.refused(), hook.refused()), (2, 2));
    for delivery in &list {
        assert_eq!(
            (delivery["state"].as_str(), delivery["attempts"].as_u64()),
            (Some("delivered"), Some(3)),
            "{delivery}"
        );
    }
    assert_eq!(hook.hooks()[0].json()["attempt"], 3);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        (smtp.mails().len(), hook.hooks().len()),
        (1, 1),
        "delivered once after the retries"
    );
}
on_both!(
    transient_failures_are_retried_until_delivered,
    transient_failures_are_retried_until_delivered
);

async fn permanent_failures_and_exhausted_retries_give_up(backend: Backend) {
    let Harness { app, smtp, hook } = harness(backend, |f| {
        f.merge(Serialized::default("notifications.max_attempts", 2))
    })
    .await;
    let admin = app.admin().await;
    let anna = app.register("client").await;
    smtp.fail_next(10);
    hook.fail_next(1, 400);
    let sent = app.alert(&admin, anna.id, "Doomed").await;
    let list = settled(&app, &admin, &sent).await;
    let (email, push) = (&list[0], &list[1]);
    assert_eq!(
        (email["state"].as_str(), email["attempts"].as_u64()),
        (Some("failed"), Some(2)),
        "{email}"
    );
    assert!(
        email["last_error"].as_str().unwrap().contains("451"),
        "{email}"
    );
    assert_eq!(
        (push["state"].as_str(), push["attempts"].as_u64()),
        (Some("failed"), Some(1)),
        "a 400 is not retried: {push}"
    );
    assert!(
        push["last_error"].as_str().unwrap().contains("400"),
        "{push}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((smtp.refused(), hook.refused()), (2, 1));
    assert!(smtp.mails().is_empty() && hook.hooks().is_empty());
}
on_both!(
    permanent_failures_and_exhausted_retries_give_up,
    permanent_failures_and_exhausted_retries_give_up
);

/// The queue is durable on PostgreSQL: a server stopped mid-queue finishes the delivery it holds,
/// and the next one sends the rest — each exactly once. (The memory queue ends with its process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_queue_resumes_and_sends_nothing_twice() {
    const COUNT: usize = 8;
    let Harness { app, hook, .. } = harness(Backend::Postgres, |f| {
        f.merge(Serialized::default("notifications.smtp_url", ""))
            .merge(Serialized::default("notifications.delivery_batch", 1))
            .merge(Serialized::default("notifications.delivery_concurrency", 1))
    })
    .await;
    hook.delay(Duration::from_millis(250));
    let admin = app.admin().await;
    let anna = app.register("client").await;
    let mut sent = Vec::new();
    for i in 0..COUNT {
        sent.push(
            app.alert(&admin, anna.id, &format!("queued {i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    hook.wait_for(2).await;
    let app = app.restart().await;
    let before = hook.hooks().len();
    assert!(
        before < COUNT,
        "the restart happened mid-queue ({before} of {COUNT} sent)"
    );

    let hooks = hook.wait_for(COUNT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let hooks_after = hook.hooks();
    assert_eq!(hooks_after.len(), COUNT, "nothing sent twice");
    let mut delivered: Vec<i64> = hooks
        .iter()
        .map(|h| h.json()["notification"]["id"].as_i64().unwrap())
        .collect();
    delivered.sort_unstable();
    assert_eq!(delivered, sent);
    let mut ids: Vec<&str> = hooks_after
        .iter()
        .map(|h| h.header("X-Eclean-Delivery").unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), COUNT);
    let admin = app.admin().await;
    for id in sent {
        let list = deliveries(&app, &admin, &json!({"id": id})).await;
        assert_eq!(
            (
                list.len(),
                list[0]["state"].as_str(),
                list[0]["attempts"].as_u64()
            ),
            (1, Some("delivered"), Some(1)),
            "{list:?}"
        );
    }
}
