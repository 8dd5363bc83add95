//! Preferences over REST, and their enforcement on live pushes and external deliveries.

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use eclean_tests::{ResponseExt, TestApp, TestUser, both_backends, both_backends_with};
use figment::providers::Serialized;
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_millis(400);

/// Channels configured towards closed ports: deliveries are queued (and would fail), which is
/// enough to see what the preferences decided.
fn with_channels(figment: figment::Figment) -> figment::Figment {
    figment
        .merge(Serialized::default(
            "notifications.webhook_url",
            "http://127.0.0.1:9/push",
        ))
        .merge(Serialized::default(
            "notifications.webhook_secret",
            "a-test-secret-of-32-bytes-length",
        ))
        .merge(Serialized::default(
            "notifications.smtp_url",
            "smtp://127.0.0.1:9",
        ))
        // Keep the worker from attempting (and rescheduling) them while the test looks.
        .merge(Serialized::default(
            "notifications.delivery_poll_ms",
            3_600_000,
        ))
}

async fn deliveries(app: &TestApp, admin: &TestUser, notification: &Value) -> Vec<Value> {
    app.get(
        &format!("/api/notifications/{}/deliveries/", notification["id"]),
        &admin.access,
    )
    .await
    .json_with(200)
    .await
    .as_array()
    .unwrap()
    .clone()
}

fn channels(deliveries: &[Value]) -> Vec<&str> {
    let mut out: Vec<&str> = deliveries
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    out.sort_unstable();
    out
}

/// Quiet hours from an hour ago to an hour from now in `tz`, and the instant they end.
fn quiet_around_now(tz: chrono_tz::Tz) -> (String, String, DateTime<Utc>) {
    let now = Utc::now().with_timezone(&tz);
    let start = now - chrono::Duration::hours(1);
    let end = now + chrono::Duration::hours(1);
    let end_instant = end
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap()
        .with_timezone(&Utc);
    (
        start.format("%H:%M").to_string(),
        end.format("%H:%M").to_string(),
        end_instant,
    )
}

both_backends! {
    async fn preferences_start_at_the_defaults_and_are_the_callers_own(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let prefs = app.get("/api/preferences/", &anna.access).await.json_with(200).await;
        assert_eq!(prefs["email_marketing"], false);
        assert_eq!(prefs["email_job_updates"], true);
        assert_eq!(prefs["push_reminders"], true);
        assert_eq!(prefs["inapp_all"], true);
        assert_eq!(prefs["quiet_hours_enabled"], false);
        assert_eq!(prefs["quiet_hours_start"], Value::Null);
        assert_eq!(prefs["timezone"], "UTC");
        let matrix = prefs["channels"].as_object().unwrap();
        assert_eq!(matrix.len(), 5);
        for category in ["job_updates", "messages", "reminders", "marketing", "system"] {
            for channel in ["in_app", "email", "push"] {
                assert!(matrix[category][channel].is_boolean(), "{category}.{channel}");
            }
            assert_eq!(matrix[category]["in_app"], true);
        }
        assert_eq!(matrix["marketing"]["email"], false);
        assert_eq!(matrix["reminders"]["email"], false);

        let changed = app.patch("/api/preferences/", &anna.access, &json!({"email_messages": false, "timezone": "Europe/Athens"})).await.json_with(200).await;
        assert_eq!((changed["email_messages"].as_bool(), changed["timezone"].as_str()), (Some(false), Some("Europe/Athens")));
        assert_eq!(changed["channels"]["messages"]["email"], false);
        assert_eq!(app.get("/api/preferences/", &anna.access).await.json_with(200).await, changed);
        let untouched = app.get("/api/preferences/", &bob.access).await.json_with(200).await;
        assert_eq!((untouched["email_messages"].as_bool(), untouched["timezone"].as_str()), (Some(true), Some("UTC")));
        app.get("/api/preferences/", "garbage").await.error_with(401, "token_malformed").await;
    }
}

both_backends! {
    async fn patch_keeps_and_put_resets_what_is_not_given(app) {
        let anna = app.register("client").await;
        app.patch("/api/preferences/", &anna.access, &json!({
            "quiet_hours_enabled": true, "quiet_hours_start": "22:00", "quiet_hours_end": "07:00",
            "timezone": "America/New_York", "channels": {"marketing": {"push": true}, "system": {"email": false}},
        })).await.json_with(200).await;
        let patched = app.patch("/api/preferences/", &anna.access, &json!({"push_messages": false})).await.json_with(200).await;
        assert_eq!((patched["quiet_hours_start"].as_str(), patched["quiet_hours_end"].as_str()), (Some("22:00"), Some("07:00")));
        assert_eq!(patched["channels"]["marketing"]["push"], true);
        assert_eq!(patched["channels"]["system"]["email"], false);
        assert_eq!(patched["push_messages"], false);

        let replaced = app.put("/api/preferences/", &anna.access, &json!({"email_marketing": true})).await.json_with(200).await;
        assert_eq!(replaced["email_marketing"], true);
        assert_eq!(replaced["push_messages"], true, "PUT starts from the defaults");
        assert_eq!(replaced["quiet_hours_enabled"], false);
        assert_eq!(replaced["quiet_hours_start"], Value::Null);
        assert_eq!(replaced["timezone"], "UTC");
        assert_eq!(replaced["channels"]["marketing"]["push"], false);

        // Clearing quiet hours with null.
        app.patch("/api/preferences/", &anna.access, &json!({"quiet_hours_start": "23:00", "quiet_hours_end": "06:00"})).await.json_with(200).await;
        let cleared = app.patch("/api/preferences/", &anna.access, &json!({"quiet_hours_start": null, "quiet_hours_end": null})).await.json_with(200).await;
        assert_eq!(cleared["quiet_hours_start"], Value::Null);
    }
}

both_backends! {
    async fn bad_preferences_are_refused_and_change_nothing(app) {
        let anna = app.register("client").await;
        let before = app.get("/api/preferences/", &anna.access).await.json_with(200).await;
        let cases = [
            (json!({"timezone": "Mars/Olympus"}), "timezone"),
            (json!({"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}), "quiet_hours_start"),
            (json!({"quiet_hours_start": "22:00"}), "quiet_hours_start"),
            (json!({"quiet_hours_enabled": true}), "quiet_hours_enabled"),
            (json!({"channels": {"gossip": {"email": true}}}), "channels"),
            (json!({"channels": {"messages": {"pigeon": true}}}), "channels"),
            (json!({"email_messages": false, "timezone": "Nowhere"}), "timezone"),
        ];
        for (body, field) in cases {
            for method in ["PATCH", "PUT"] {
                let response = if method == "PATCH" {
                    app.patch("/api/preferences/", &anna.access, &body).await
                } else {
                    app.put("/api/preferences/", &anna.access, &body).await
                };
                let error = response.error_with(400, "validation_error").await;
                assert!(error["errors"][field].is_array(), "{method} {body}: {error}");
            }
        }
        for body in [json!({"email_everything": true}), json!({"inapp_all": "yes"}), json!({"channels": {"messages": {"email": 1}}}), json!([true])] {
            app.patch("/api/preferences/", &anna.access, &body).await.error_with(400, "invalid_body").await;
        }
        assert_eq!(app.get("/api/preferences/", &anna.access).await.json_with(200).await, before);
    }
}

both_backends_with! {
    with_channels,
    async fn a_muted_category_is_stored_and_counted_but_neither_pushed_nor_sent(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        app.patch("/api/preferences/", &anna.access, &json!({"channels": {"system": {"in_app": false, "email": false, "push": false}}}))
            .await.json_with(200).await;
        let mut ws = app.ws(&anna.access).await;
        let muted = app.alert(&admin, anna.id, "Muted").await;
        let frames = ws.drain(QUIET).await;
        assert!(frames.iter().all(|f| f["type"] != "new_notification"), "{frames:?}");
        let count = frames.iter().find(|f| f["type"] == "unread_count").expect("the count still moves");
        assert_eq!(count["notifications"], 1);
        assert!(deliveries(&app, &admin, &muted).await.is_empty());
        let listed = app.get("/api/notifications/", &anna.access).await.json_with(200).await;
        assert_eq!(listed["results"][0]["id"], muted["id"], "the inbox keeps the record");
        assert_eq!(listed["results"][0]["is_delivered"], false);

        // Another category still goes everywhere.
        let reminder = app.notify(&admin, anna.id, json!({"notification_type": "job_confirmed", "context": {"job_title": "Windows"}})).await;
        assert_eq!(ws.recv_type("new_notification").await["notification"]["id"], reminder["id"]);
        assert_eq!(channels(&deliveries(&app, &admin, &reminder).await), ["email", "push"]);

        // Urgent always goes through.
        let urgent = app.notify(&admin, anna.id, json!({"notification_type": "system_alert", "priority": "urgent", "title": "Gas leak", "message": "Leave the building"})).await;
        let pushed = ws.recv_type("new_notification").await;
        assert_eq!((pushed["notification"]["id"].as_i64(), pushed["notification"]["silent"].as_bool()), (urgent["id"].as_i64(), Some(false)));
        assert_eq!(channels(&deliveries(&app, &admin, &urgent).await), ["email", "push"]);
    }
}

both_backends_with! {
    with_channels,
    async fn the_original_switches_and_inapp_all_are_enforced(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        app.patch("/api/preferences/", &anna.access, &json!({"email_job_updates": false, "inapp_all": false})).await.json_with(200).await;
        let mut ws = app.ws(&anna.access).await;
        let job = app.notify(&admin, anna.id, json!({"notification_type": "job_started", "context": {"job_title": "Oven"}})).await;
        assert_eq!(channels(&deliveries(&app, &admin, &job).await), ["push"]);
        let frames = ws.drain(QUIET).await;
        assert!(frames.iter().all(|f| f["type"] != "new_notification"), "inapp_all off: {frames:?}");
        // Marketing e-mail is off by default, and so is its push.
        app.patch("/api/preferences/", &anna.access, &json!({"inapp_all": true})).await.json_with(200).await;
        let promo = app.notify(&admin, anna.id, json!({"notification_type": "promotion", "context": {"headline": "20% off", "text": "This week"}})).await;
        assert!(deliveries(&app, &admin, &promo).await.is_empty());
        assert_eq!(ws.recv_type("new_notification").await["notification"]["id"], promo["id"]);
    }
}

both_backends_with! {
    with_channels,
    async fn quiet_hours_in_the_users_zone_silence_pushes_and_defer_deliveries(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let tz = chrono_tz::Asia::Tokyo;
        let (start, end, ends_at) = quiet_around_now(tz);
        app.patch("/api/preferences/", &anna.access, &json!({
            "quiet_hours_enabled": true, "quiet_hours_start": start, "quiet_hours_end": end, "timezone": "Asia/Tokyo",
        })).await.json_with(200).await;
        let mut ws = app.ws(&anna.access).await;

        let quiet = app.notify(&admin, anna.id, json!({"notification_type": "job_confirmed", "context": {"job_title": "Garage"}})).await;
        assert_eq!(quiet["silent"], true);
        let pushed = ws.recv_type("new_notification").await;
        assert_eq!((pushed["notification"]["id"].as_i64(), pushed["notification"]["silent"].as_bool()), (quiet["id"].as_i64(), Some(true)));
        let deferred = deliveries(&app, &admin, &quiet).await;
        assert_eq!(channels(&deferred), ["email", "push"]);
        for delivery in &deferred {
            let not_before: DateTime<Utc> = delivery["not_before"].as_str().unwrap().parse().unwrap();
            assert_eq!(not_before, ends_at, "deferred to the end of the quiet period: {delivery}");
            assert_eq!((delivery["state"].as_str(), delivery["attempts"].as_u64()), (Some("pending"), Some(0)));
        }

        let urgent = app.notify(&admin, anna.id, json!({"notification_type": "system_alert", "priority": "urgent", "title": "Storm", "message": "Job moved"})).await;
        assert_eq!(urgent["silent"], false);
        for delivery in deliveries(&app, &admin, &urgent).await {
            let not_before: DateTime<Utc> = delivery["not_before"].as_str().unwrap().parse().unwrap();
            assert!(not_before <= Utc::now(), "urgent is not deferred: {delivery}");
        }

        // Outside the quiet period (same hours, a zone twelve hours away) nothing is deferred.
        app.patch("/api/preferences/", &anna.access, &json!({"timezone": "America/Los_Angeles"})).await.json_with(200).await;
        // Tokyo and Los Angeles are 16 or 17 hours apart: the two hours around Tokyo's now never
        // hold Los Angeles' now.
        let loud = app.notify(&admin, anna.id, json!({"notification_type": "job_confirmed", "context": {"job_title": "Attic"}})).await;
        assert_eq!(loud["silent"], false);
        for delivery in deliveries(&app, &admin, &loud).await {
            let not_before: DateTime<Utc> = delivery["not_before"].as_str().unwrap().parse().unwrap();
            assert!(not_before <= Utc::now(), "{delivery}");
        }
    }
}
