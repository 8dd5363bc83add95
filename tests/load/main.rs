//! The load generator itself, at tiny sizes against the real server: every scenario runs and its
//! counts are exact (nothing lost, duplicated or out of order). Performance is measured by
//! `just bench`, never asserted here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use eclean_tests::tokens::TEST_SECRET;
use eclean_tests::{Backend, TestApp};
use figment::providers::Serialized;
use loadgen::auth::Tokens;
use loadgen::net::Target;
use loadgen::scenario::connections::{self, ConnectionsConfig};
use loadgen::scenario::soak;
use loadgen::scenario::traffic::{self, Layout, TrafficConfig, TrafficReport};

async fn server(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |f| {
        f.merge(Serialized::default("ws.rate_per_s", 10_000))
            .merge(Serialized::default("ws.rate_burst", 10_000))
            .merge(Serialized::default("chat.user_messages_per_s", 10_000))
    })
    .await
}

fn target(app: &TestApp) -> Target {
    Target {
        address: SocketAddr::from(([127, 0, 0, 1], app.port)),
        sources: 2,
    }
}

fn tokens(base: i64) -> Tokens {
    Tokens::new(
        TEST_SECRET,
        base,
        format!("smoke{}x", eclean_tests::unique()),
    )
}

fn traffic(publish: &TestApp, subscribe: &TestApp, layout: Layout, rate: f64) -> TrafficConfig {
    TrafficConfig {
        publish: target(publish),
        subscribe: target(subscribe),
        api: publish.address.clone(),
        tokens: tokens(200_000_000 + distinct_base()),
        layout,
        rate,
        duration: Duration::from_secs(1),
        drain: Duration::from_secs(10),
        connect_rate: 200.0,
        server_pid: Some(std::process::id()),
    }
}

/// A user-id offset no other run of this suite shares.
fn distinct_base() -> i64 {
    i64::from_str_radix(&eclean_tests::unique()[..6], 16).unwrap_or(1) * 1000
}

fn exact(report: &TrafficReport) {
    assert!(report.sent > 0, "{report:?}");
    assert_eq!(
        report.acked, report.sent,
        "every send acknowledged: {report:?}"
    );
    assert_eq!(report.delivered, report.expected, "{report:?}");
    assert_eq!(
        report.disconnected, 0,
        "no publisher lost its session: {report:?}"
    );
    assert_eq!(
        (report.lost, report.duplicated, report.out_of_order),
        (0, 0, 0),
        "{report:?}"
    );
    assert!(
        report.latency_ms.count > 0 && report.latency_ms.max >= report.latency_ms.p50,
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_open_hold_and_report_memory() {
    let app = server(Backend::Memory).await;
    let report = connections::run(ConnectionsConfig {
        target: target(&app),
        tokens: tokens(300_000_000),
        sessions: 40,
        rate: 400.0,
        hold: Duration::from_secs(2),
        server_pid: Some(std::process::id()),
    })
    .await
    .unwrap();
    assert_eq!(
        (report.opened, report.failed, report.held),
        (40, 0, 40),
        "{report:?}"
    );
    assert_eq!(report.connect_ms.count, 40);
    assert!(report.server_rss_after_kib.is_some() && report.kib_per_session.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_counts_are_exact() {
    for backend in [Backend::Memory, Backend::Postgres] {
        let app = server(backend).await;
        let layout = Layout::Fanout {
            subscribers: 6,
            publishers: 2,
        };
        exact(
            &traffic::run(traffic(&app, &app, layout, 40.0), "fanout")
                .await
                .unwrap(),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_counts_are_exact() {
    for backend in [Backend::Memory, Backend::Postgres] {
        let app = server(backend).await;
        exact(
            &traffic::run(
                traffic(&app, &app, Layout::Rooms { rooms: 5 }, 5.0),
                "rooms",
            )
            .await
            .unwrap(),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_node_counts_are_exact() {
    let a = server(Backend::Postgres).await;
    let b = TestApp::start(Backend::Postgres, a.settings.clone(), None).await;
    let layout = Layout::Fanout {
        subscribers: 4,
        publishers: 2,
    };
    let report = traffic::run(traffic(&a, &b, layout, 30.0), "cross-node")
        .await
        .unwrap();
    exact(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_samples_memory_while_traffic_flows() {
    let app = server(Backend::Memory).await;
    let mut config = traffic(&app, &app, Layout::Rooms { rooms: 3 }, 4.0);
    config.duration = Duration::from_secs(2);
    let report = soak::run(config, Duration::from_millis(250)).await.unwrap();
    exact(&report.traffic);
    assert!(report.rss_kib.len() >= 4, "{report:?}");
    assert!(report.drift_pct.is_some());
}
