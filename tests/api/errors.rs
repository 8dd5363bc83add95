//! The one error body, for our errors and the framework's.

use eclean_tests::{ResponseExt, both_backends};

both_backends! {
    async fn unknown_routes_and_methods_get_the_shared_body(app) {
        let missing = app.client.get(app.url("/no/such/thing")).send().await.unwrap();
        missing.error_with(404, "not_found").await;
        let wrong_method = app.client.delete(app.url("/api/users/me/")).send().await.unwrap();
        assert_eq!(wrong_method.headers().get("allow").unwrap(), "GET");
        wrong_method.error_with(405, "method_not_allowed").await;
        let wrong_method = app.client.get(app.url("/api/auth/login/")).send().await.unwrap();
        wrong_method.error_with(405, "method_not_allowed").await;
    }
}

both_backends! {
    async fn every_response_carries_a_request_id(app) {
        let generated = app.client.get(app.url("/healthz")).send().await.unwrap();
        let id = generated.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "{id}");
        let kept = app.client.get(app.url("/healthz")).header("x-request-id", "trace-42.a_b").send().await.unwrap();
        assert_eq!(kept.headers().get("x-request-id").unwrap(), "trace-42.a_b");
        let replaced = app.client.get(app.url("/healthz")).header("x-request-id", "bad id with spaces").send().await.unwrap();
        assert_ne!(replaced.headers().get("x-request-id").unwrap(), "bad id with spaces");
        let on_error = app.client.get(app.url("/nope")).send().await.unwrap();
        assert!(on_error.headers().get("x-request-id").is_some());
    }
}
