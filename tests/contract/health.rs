//! `HealthProbe`: up when the dependency answers, down (never an error, never a hang) otherwise.

use std::time::{Duration, Instant};

use adapters_memory::MemoryHealth;
use adapters_postgres::{PgHealth, PoolSettings};
use adapters_redis::RedisHealth;
use eclean_tests::services::free_port;
use ports::HealthProbe;

fn pool_settings() -> PoolSettings {
    PoolSettings {
        max_size: 2,
        wait_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn memory_is_always_up() {
    let statuses = MemoryHealth.check().await;
    assert_eq!(statuses.len(), 1);
    assert!(statuses[0].is_up());
    assert_eq!(statuses[0].name, "memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_up_when_it_answers_and_down_when_it_does_not() {
    let database = eclean_tests::TestDatabase::migrated().await;
    let pool = adapters_postgres::connect(database.url(), &pool_settings()).unwrap();
    let up = PgHealth::new(pool, Duration::from_secs(2)).check().await;
    assert!(up[0].is_up(), "{up:?}");
    assert_eq!(up[0].name, "postgres");

    let dead = adapters_postgres::connect(
        &format!("postgres://postgres@127.0.0.1:{}/x", free_port()),
        &pool_settings(),
    )
    .unwrap();
    let started = Instant::now();
    let down = PgHealth::new(dead, Duration::from_secs(2)).check().await;
    assert!(!down[0].is_up(), "{down:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_is_up_when_it_answers_and_down_when_it_does_not() {
    let pool = adapters_redis::connect(&eclean_tests::app::redis_url(), 2, Duration::from_secs(1))
        .unwrap();
    let up = RedisHealth::new(pool, Duration::from_secs(2)).check().await;
    assert!(up[0].is_up(), "{up:?}");
    assert_eq!(up[0].name, "redis");

    let dead = adapters_redis::connect(
        &format!("redis://127.0.0.1:{}", free_port()),
        2,
        Duration::from_millis(500),
    )
    .unwrap();
    let down = RedisHealth::new(dead, Duration::from_secs(2)).check().await;
    assert!(!down[0].is_up(), "{down:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_of_probes_reports_both() {
    let dead = adapters_redis::connect(
        &format!("redis://127.0.0.1:{}", free_port()),
        2,
        Duration::from_millis(500),
    )
    .unwrap();
    let statuses = (MemoryHealth, RedisHealth::new(dead, Duration::from_secs(1)))
        .check()
        .await;
    let names: Vec<_> = statuses.iter().map(|s| (s.name, s.is_up())).collect();
    assert_eq!(names, vec![("memory", true), ("redis", false)]);
}
