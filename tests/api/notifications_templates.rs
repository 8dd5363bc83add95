//! Notification templates: admin CRUD with syntax checked on save, preview, the built-ins, and the
//! fallback that never drops a notification.

use eclean_tests::{ResponseExt, both_backends};
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

both_backends! {
    async fn every_type_has_a_builtin_template(app) {
        let admin = app.admin().await;
        let list = app.get("/api/notification-templates/", &admin.access).await.json_with(200).await;
        let names = names(&list);
        for kind in [
            "job_created", "bid_received", "bid_accepted", "bid_rejected", "job_accepted", "job_confirmed",
            "job_ready", "job_started", "job_finished", "job_completed", "job_rejected", "job_cancelled",
            "payment_received", "message_received", "reminder", "promotion", "system_alert",
        ] {
            assert!(names.contains(&kind.to_owned()), "{kind} missing from {names:?}");
        }
        let one = app.get("/api/notification-templates/bid_received/", &admin.access).await.json_with(200).await;
        assert_eq!((one["notification_type"].as_str(), one["builtin"].as_bool(), one["is_active"].as_bool()), (Some("bid_received"), Some(true), Some(true)));
        assert!(one["message_template"].as_str().unwrap().contains("{{ cleaner_name }}"));
    }
}

both_backends! {
    async fn only_admins_see_or_change_templates(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        let create = json!({"name": "mine", "notification_type": "reminder", "title_template": "x", "message_template": "y"});
        app.get("/api/notification-templates/", &anna.access).await.error_with(403, "admin_only").await;
        app.get("/api/notification-templates/reminder/", &anna.access).await.error_with(403, "admin_only").await;
        app.post("/api/notification-templates/", &anna.access, &create).await.error_with(403, "admin_only").await;
        app.patch("/api/notification-templates/reminder/", &anna.access, &json!({"title_template": "pwned"})).await.error_with(403, "admin_only").await;
        app.put("/api/notification-templates/reminder/", &anna.access, &json!({"notification_type": "reminder", "title_template": "pwned", "message_template": "p"})).await.error_with(403, "admin_only").await;
        app.delete("/api/notification-templates/reminder/", &anna.access).await.error_with(403, "admin_only").await;
        app.post("/api/notification-templates/reminder/render/", &anna.access, &json!({})).await.error_with(403, "admin_only").await;
        let unchanged = app.get("/api/notification-templates/reminder/", &admin.access).await.json_with(200).await;
        assert_eq!(unchanged["title_template"], "Reminder");
        app.get("/api/notification-templates/mine/", &admin.access).await.error_with(404, "not_found").await;
    }
}

both_backends! {
    async fn templates_are_created_changed_previewed_and_deleted(app) {
        let admin = app.admin().await;
        let created = app.post("/api/notification-templates/", &admin.access, &json!({
            "name": "reminder.friendly",
            "notification_type": "reminder",
            "title_template": "Hey {{ recipient_name }}",
            "message_template": "{{ text }}{% if job_id %} (job {{ job_id }}){% endif %}",
            "default_priority": "low",
            "is_active": false,
        })).await.json_with(201).await;
        assert_eq!((created["builtin"].as_bool(), created["is_active"].as_bool(), created["default_priority"].as_str()), (Some(false), Some(false), Some("low")));
        let path = "/api/notification-templates/reminder.friendly/";
        let preview = app.post(&format!("{path}render/"), &admin.access, &json!({"context": {"text": "Water the plants", "job_id": 9, "recipient_name": "Anna"}}))
            .await.json_with(200).await;
        assert_eq!((preview["title"].as_str(), preview["message"].as_str()), (Some("Hey Anna"), Some("Water the plants (job 9)")));
        // A preview shows the error instead of falling back.
        let error = app.post(&format!("{path}render/"), &admin.access, &json!({"context": {}})).await.error_with(400, "validation_error").await;
        assert!(error["errors"]["message_template"].is_array(), "{error}");
        app.post(&format!("{path}render/"), &admin.access, &json!({"context": [1]})).await.error_with(400, "validation_error").await;

        let patched = app.patch(path, &admin.access, &json!({"title_template": "Psst {{ recipient_name }}"})).await.json_with(200).await;
        assert_eq!(patched["message_template"], created["message_template"], "PATCH keeps the rest");
        assert_eq!(patched["title_template"], "Psst {{ recipient_name }}");
        app.put(path, &admin.access, &json!({"title_template": "only a title"})).await.error_with(400, "validation_error").await;
        let replaced = app.put(path, &admin.access, &json!({"notification_type": "reminder", "title_template": "T", "message_template": "M"})).await.json_with(200).await;
        assert_eq!((replaced["default_priority"].as_str(), replaced["is_active"].as_bool()), (Some("medium"), Some(true)), "PUT resets to the defaults");
        app.patch(path, &admin.access, &json!({"name": "renamed"})).await.error_with(400, "validation_error").await;

        app.post("/api/notification-templates/", &admin.access, &json!({"name": "reminder.friendly", "notification_type": "reminder", "title_template": "a", "message_template": "b"}))
            .await.error_with(409, "template_exists").await;
        app.delete(path, &admin.access).await.json_with(204).await;
        app.get(path, &admin.access).await.error_with(404, "not_found").await;
        app.delete(path, &admin.access).await.error_with(404, "not_found").await;
        app.delete("/api/notification-templates/reminder/", &admin.access).await.error_with(409, "builtin_template").await;
        app.get("/api/notification-templates/reminder/", &admin.access).await.json_with(200).await;
    }
}

both_backends! {
    async fn a_syntax_error_is_refused_on_save_with_its_line(app) {
        let admin = app.admin().await;
        let before = app.get("/api/notification-templates/job_started/", &admin.access).await.json_with(200).await;
        let broken = "Started\n{% if job_title %}\n{{ job_title }\n{% endif %}";
        let error = app.post("/api/notification-templates/", &admin.access, &json!({
            "name": "broken", "notification_type": "job_started", "title_template": "ok", "message_template": broken,
        })).await.error_with(400, "validation_error").await;
        let detail = error["errors"]["message_template"][0].as_str().unwrap();
        assert!(detail.contains("line 3"), "{detail}");
        app.get("/api/notification-templates/broken/", &admin.access).await.error_with(404, "not_found").await;

        let error = app.patch("/api/notification-templates/job_started/", &admin.access, &json!({"title_template": "{% for %}"}))
            .await.error_with(400, "validation_error").await;
        assert!(error["errors"]["title_template"].is_array(), "{error}");
        assert_eq!(app.get("/api/notification-templates/job_started/", &admin.access).await.json_with(200).await, before);

        for (body, field) in [
            (json!({"name": "Bad Name!", "notification_type": "reminder", "title_template": "a", "message_template": "b"}), "name"),
            (json!({"name": "fine", "notification_type": "nope", "title_template": "a", "message_template": "b"}), "notification_type"),
            (json!({"name": "fine", "notification_type": "reminder", "title_template": "", "message_template": "b"}), "title_template"),
            (json!({"name": "fine", "notification_type": "reminder", "title_template": "a", "message_template": "b", "default_priority": "asap"}), "default_priority"),
            (json!({"name": "fine", "notification_type": "reminder", "title_template": "a"}), "message_template"),
        ] {
            let error = app.post("/api/notification-templates/", &admin.access, &body).await.error_with(400, "validation_error").await;
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
        app.post("/api/notification-templates/", &admin.access, &json!({"name": "fine", "notification_type": "reminder", "title_template": "a", "message_template": "b", "engine": "jinja"}))
            .await.error_with(400, "invalid_body").await;
    }
}

both_backends! {
    async fn an_edited_active_template_is_used_and_a_failing_one_falls_back_to_the_builtin(app) {
        let admin = app.admin().await;
        let anna = app.register("client").await;
        app.patch("/api/notification-templates/payment_received/", &admin.access, &json!({
            "title_template": "Paid: {{ amount }} EUR", "message_template": "For {{ job_title }}, thanks {{ recipient_name }}.",
        })).await.json_with(200).await;
        let paid = app.notify(&admin, anna.id, json!({"notification_type": "payment_received", "context": {"amount": "42.00", "job_title": "Windows"}})).await;
        assert_eq!(paid["title"], "Paid: 42.00 EUR");
        assert_eq!(paid["message"], format!("For Windows, thanks {}.", anna.username));

        // A custom active template whose variable is missing at send time: the built-in text is
        // used (and the failure logged) — the notification is not dropped.
        app.patch("/api/notification-templates/job_cancelled/", &admin.access, &json!({"is_active": false})).await.json_with(200).await;
        app.post("/api/notification-templates/", &admin.access, &json!({
            "name": "job_cancelled.v2", "notification_type": "job_cancelled",
            "title_template": "{{ job.title | upper }} cancelled", "message_template": "Sorry {{ refund.amount }}",
        })).await.json_with(201).await;
        let cancelled = app.notify(&admin, anna.id, json!({"notification_type": "job_cancelled", "context": {"job_title": "Attic"}})).await;
        let builtin = app.get("/api/notification-templates/job_cancelled/", &admin.access).await.json_with(200).await;
        assert!(builtin["message_template"].as_str().unwrap().contains("{{ job_title }}"), "{builtin}");
        assert_eq!((cancelled["title"].as_str(), cancelled["message"].as_str()), (Some("Job cancelled"), Some("Attic has been cancelled.")), "built-in text used");
        assert_eq!(app.get("/api/notifications/unread_count/", &anna.access).await.json_with(200).await["unread_count"], 2);

        // A named template of another type is refused; a named one of the right type is used.
        app.post("/api/notifications/send_notification/", &admin.access, &json!({"recipient_id": anna.id, "notification_type": "reminder", "template": "job_cancelled.v2"}))
            .await.error_with(400, "validation_error").await;
        let named = app.notify(&admin, anna.id, json!({"notification_type": "job_cancelled", "template": "job_cancelled.v2", "context": {"job": {"title": "roof"}, "refund": {"amount": 5}}})).await;
        assert_eq!((named["title"].as_str(), named["message"].as_str()), (Some("ROOF cancelled"), Some("Sorry 5")));
    }
}
