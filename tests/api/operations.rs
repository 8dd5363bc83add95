//! Health, readiness (and its recovery), metrics, and the API description.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use eclean_tests::services::{PrivateRedis, free_port};
use eclean_tests::{Backend, ResponseExt, TestApp, both_backends};
use figment::providers::Serialized;
use utoipa::OpenApi;

both_backends! {
    async fn health_and_readiness_report_the_backend(app) {
        let alive = app.client.get(app.url("/healthz")).send().await.unwrap().json_with(200).await;
        assert_eq!(alive["status"], "ok");
        let ready = app.client.get(app.url("/readyz/")).send().await.unwrap().json_with(200).await;
        let names: BTreeSet<String> = ready["dependencies"].as_object().unwrap().keys().cloned().collect();
        let expected: BTreeSet<String> = match app.backend {
            Backend::Memory => ["memory"].into_iter().map(String::from).collect(),
            Backend::Postgres => ["postgres", "redis"].into_iter().map(String::from).collect(),
        };
        assert_eq!(names, expected, "{ready}");
    }
}

both_backends! {
    async fn metrics_count_requests_by_route_and_status(app) {
        app.client.get(app.url("/healthz")).send().await.unwrap();
        app.client.get(app.url("/api/users/me/")).send().await.unwrap();
        let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"), "{text}");
        assert!(text.contains("route=\"/api/users/me/\",status=\"401\""), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("websocket_sessions_open"), "{text}");
    }
}

both_backends! {
    async fn the_api_is_described_and_the_docs_page_is_served_locally(app) {
        let doc = app.client.get(app.url("/api/openapi.json")).send().await.unwrap().json_with(200).await;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
        assert!(doc["paths"]["/api/auth/register/"]["post"].is_object());
        let page = app.client.get(app.url("/api/docs/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        assert!(!html.contains("https://"), "the docs page must not load anything from the internet");
        let bundle = app.client.get(app.url("/api/docs/swagger-ui-bundle.js")).send().await.unwrap();
        assert_eq!(bundle.status(), 200);
    }
}

/// Every registered route is in the OpenAPI document with the same method, and vice versa.
#[test]
fn openapi_lists_every_route() {
    let registered: BTreeSet<(String, String)> =
        api_actix::routes::api::<server::wiring::MemoryPorts>()
            .routes()
            .into_iter()
            .map(|(method, path)| (method.to_lowercase(), path))
            .collect();
    let doc = serde_json::to_value(api_actix::openapi::ApiDoc::openapi()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if [
                "get", "post", "put", "patch", "delete", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    let phantom: Vec<_> = documented.difference(&registered).collect();
    assert!(
        phantom.is_empty(),
        "documented routes that are not registered: {phantom:?}"
    );
    // Guards against a vacuous pass (an empty route table).
    assert!(
        registered.contains(&("get".to_owned(), "/healthz".to_owned())),
        "{registered:?}"
    );
}

async fn wait_for_status(app: &TestApp, status: u16, limit: Duration) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let response = app.client.get(app.url("/readyz")).send().await.unwrap();
        if response.status().as_u16() == status {
            return response.json().await.unwrap();
        }
        assert!(
            started.elapsed() < limit,
            "/readyz did not become {status} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_a_stopped_redis_and_recovers_when_it_returns() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::Postgres, move |f| {
        f.merge(Serialized::default("redis.url", url))
            .merge(Serialized::default("redis.timeout_ms", 500))
    })
    .await;
    wait_for_status(&app, 200, Duration::from_secs(10)).await;
    redis.stop();
    let body = wait_for_status(&app, 503, Duration::from_secs(10)).await;
    assert_eq!(body["code"], "not_ready");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("redis"), "{detail}");
    assert!(!detail.contains("postgres"), "{detail}");
    redis.resume();
    wait_for_status(&app, 200, Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_an_unreachable_database() {
    let closed = free_port();
    let app = TestApp::spawn_with(Backend::Postgres, move |f| {
        f.merge(Serialized::default(
            "database.url",
            format!("postgres://postgres@127.0.0.1:{closed}/x"),
        ))
        .merge(Serialized::default("database.migrate_on_start", false))
        .merge(Serialized::default("database.connect_timeout_ms", 500))
        .merge(Serialized::default("auth.bootstrap_admin.email", ""))
        .merge(Serialized::default("auth.bootstrap_admin.username", ""))
        .merge(Serialized::default("auth.bootstrap_admin.password", ""))
    })
    .await;
    let body = wait_for_status(&app, 503, Duration::from_secs(10)).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("postgres"), "{detail}");
    assert!(!detail.contains("redis is down"), "{detail}");
    // A request that needs the database answers 503, not 500, and reveals nothing internal.
    let response = app
        .post_anonymous(
            "/api/auth/login/",
            &serde_json::json!({"email": "a@example.com", "password": "whatever-password"}),
        )
        .await;
    assert_eq!(response.headers().get("retry-after").unwrap(), "1");
    let body = response.error_with(503, "service_unavailable").await;
    assert!(
        !body["detail"].as_str().unwrap().contains("127.0.0.1"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_a_stopped_database_and_recovers_when_it_returns() {
    let mut pg = eclean_tests::services::PrivatePostgres::start();
    let url = pg.url();
    let app = TestApp::spawn_with(Backend::Postgres, move |f| {
        f.merge(Serialized::default("database.url", url))
            .merge(Serialized::default("database.connect_timeout_ms", 500))
            .merge(Serialized::default("database.wait_timeout_ms", 500))
    })
    .await;
    wait_for_status(&app, 200, Duration::from_secs(10)).await;
    let user = app.register("client").await;
    pg.stop();
    let body = wait_for_status(&app, 503, Duration::from_secs(10)).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("postgres"), "{detail}");
    // Requests that need the database are retryable 503s meanwhile.
    app.login(&user.email, &user.password)
        .await
        .error_with(503, "service_unavailable")
        .await;
    pg.resume();
    wait_for_status(&app, 200, Duration::from_secs(20)).await;
    app.login(&user.email, &user.password)
        .await
        .json_with(200)
        .await;
}
