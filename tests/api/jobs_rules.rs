//! Which events the state machine refuses, which inputs are bad, and who may post or read.

use eclean_tests::{ResponseExt, both_backends};
use serde_json::json;

use crate::jobs_support::{Job, applied};

both_backends! {
    async fn forbidden_transitions_and_bad_events_change_nothing(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let job = Job::new(&client);
        app.job_event(&job.event("bid_placed", json!({"bid": {"cleaner_id": anna.id}}))).await.error_with(409, "unknown_job").await;
        applied(&app, &job.event("job_created", json!({"notify_user_ids": []}))).await;
        app.job_event(&job.event("job_created", json!({}))).await.error_with(409, "job_exists").await;
        for kind in ["job_confirmed", "job_started", "job_finished", "job_completed", "completion_rejected", "payment_received"] {
            let answer = app.job_event(&job.event(kind, json!({}))).await;
            assert_eq!(answer.status().as_u16(), 409, "{kind}");
        }
        app.job_event(&job.event("bid_placed", json!({}))).await.error_with(400, "validation_error").await;
        app.job_event(&job.event("bid_placed", json!({"bid": {"cleaner_id": client.id}}))).await.error_with(400, "validation_error").await;
        app.job_event(&job.event("bid_accepted", json!({"bid": {"cleaner_id": anna.id}, "job": {"status": "confirmed"}}))).await
            .error_with(409, "snapshot_mismatch").await;
        app.job_event(&job.event("bid_placed", json!({"bid": {"cleaner_id": anna.id}, "job": {"client_id": client.id + 1}}))).await
            .error_with(409, "snapshot_mismatch").await;
        let seen = app.get(&format!("/api/jobs/{}/", job.id), &client.access).await.json_with(200).await;
        assert_eq!((seen["status"].as_str(), seen["version"].as_i64()), (Some("open_for_bids"), Some(1)));
        assert!(seen["bids"].as_array().unwrap().is_empty() && seen["rooms"].as_array().unwrap().is_empty());
        assert!(app.get("/api/notifications/", &client.access).await.json_with(200).await["results"].as_array().unwrap().is_empty());

        for (body, field) in [
            (json!({"event_id": "", "type": "job_created", "job": {"id": 1, "client_id": client.id}}), "event_id"),
            (json!({"event_id": "x", "type": "job_exploded", "job": {"id": 1, "client_id": client.id}}), "type"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 0, "client_id": client.id}}), "job.id"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": -4}}), "job.client_id"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": client.id, "status": "pending"}}), "job.status"),
            (json!({"event_id": "x", "type": "bid_placed", "job": {"id": 1, "client_id": client.id}, "bid": {"cleaner_id": anna.id, "status": "maybe"}}), "bid.status"),
            (json!({"event_id": "x", "type": "bid_placed", "job": {"id": 1, "client_id": client.id}, "notify_user_ids": [anna.id]}), "notify_user_ids"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": client.id}, "data": [1]}), "data"),
            (json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": client.id, "title": "t".repeat(201)}}), "job.title"),
        ] {
            let error = app.job_event(&body).await.error_with(400, "validation_error").await;
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
        for body in [json!({"event_id": "x", "type": "job_created"}), json!({"event_id": "x", "type": "job_created", "job": {"id": "one", "client_id": 1}}), json!({"event_id": "x", "type": "job_created", "job": {"id": 1, "client_id": 1}, "extra": true})] {
            app.job_event(&body).await.error_with(400, "invalid_body").await;
        }
    }
}

both_backends! {
    async fn only_the_platform_and_admins_post_events(app) {
        let client = app.register("client").await;
        let anna = app.register("cleaner").await;
        let admin = app.admin().await;
        let job = Job::new(&client);
        let create = job.event("job_created", json!({"notify_user_ids": []}));
        for user in [&client, &anna] {
            app.post("/api/jobs/events/", &user.access, &create).await.error_with(403, "not_allowed").await;
        }
        app.post_anonymous("/api/jobs/events/", &create).await.error_with(401, "not_authenticated").await;
        app.get(&format!("/api/jobs/{}/", job.id), &client.access).await.error_with(404, "not_found").await;
        app.post("/api/jobs/events/", &admin.access, &create).await.json_with(202).await;
        app.get(&format!("/api/jobs/{}/", job.id), &client.access).await.json_with(200).await;
        app.get(&format!("/api/jobs/{}/", job.id), &admin.access).await.json_with(200).await;
        app.get(&format!("/api/jobs/{}/", job.id), &eclean_tests::tokens::service_token("platform")).await.json_with(200).await;
        app.get(&format!("/api/jobs/{}/", job.id), &anna.access).await.error_with(404, "not_found").await;
        app.get("/api/jobs/abc/", &client.access).await.error_with(404, "not_found").await;
    }
}
