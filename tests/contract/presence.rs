//! Live sessions and throttles shared by instances: memory and Redis.

use std::time::Duration;

use domain::user::UserId;
use ports::{PortError, PresenceStore, Throttle};

fn user(raw: i64) -> UserId {
    UserId::new(raw).unwrap()
}

const TTL: Duration = Duration::from_secs(30);

async fn sessions_count_towards_presence_and_the_cap(
    adapters: (impl PresenceStore, impl Throttle),
) {
    let (presence, _) = adapters;
    let (anna, bob) = (user(1), user(2));
    assert!(
        presence.register(anna, "a1", TTL, 2).await.unwrap(),
        "first session: online now"
    );
    assert!(!presence.register(anna, "a2", TTL, 2).await.unwrap());
    assert!(matches!(
        presence.register(anna, "a3", TTL, 2).await,
        Err(PortError::Conflict("session_cap"))
    ));
    assert!(
        !presence.register(anna, "a2", TTL, 2).await.unwrap(),
        "registering again is no new session"
    );
    assert_eq!(presence.online(&[anna, bob]).await.unwrap(), [anna].into());
    assert!(
        !presence.unregister(anna, "a1").await.unwrap(),
        "one session left"
    );
    assert!(
        presence.register(anna, "a3", TTL, 2).await.is_ok(),
        "a place freed up"
    );
    assert!(!presence.unregister(anna, "a2").await.unwrap());
    assert!(
        presence.unregister(anna, "a3").await.unwrap(),
        "the last one"
    );
    assert!(presence.online(&[anna, bob]).await.unwrap().is_empty());
    assert!(presence.unregister(bob, "never").await.unwrap());
    assert!(presence.online(&[]).await.unwrap().is_empty());
}
contract!(sessions_count_towards_presence_and_the_cap, presence, redis);

async fn sessions_expire_unless_refreshed(adapters: (impl PresenceStore, impl Throttle)) {
    let (presence, _) = adapters;
    let (anna, bob) = (user(3), user(4));
    let short = Duration::from_millis(400);
    presence.register(anna, "a", short, 1).await.unwrap();
    presence.register(bob, "b", short, 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    presence
        .refresh(&[(bob, "b".to_owned())], short)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        presence.online(&[anna, bob]).await.unwrap(),
        [bob].into(),
        "anna's session expired"
    );
    // An expired session frees its place and makes the next one the first again.
    assert!(presence.register(anna, "a-new", short, 1).await.unwrap());
}
contract!(sessions_expire_unless_refreshed, presence, redis);

async fn one_call_refreshes_many_sessions(adapters: (impl PresenceStore, impl Throttle)) {
    let (presence, _) = adapters;
    // More sessions than the Redis adapter sends in one pipelined request.
    let users: Vec<UserId> = (100..1300).map(user).collect();
    let short = Duration::from_secs(1);
    let started = std::time::Instant::now();
    for u in &users {
        presence.register(*u, "s", short, 1).await.unwrap();
    }
    let registered = std::time::Instant::now();
    let sessions: Vec<(UserId, String)> = users.iter().map(|u| (*u, "s".to_owned())).collect();
    presence.refresh(&sessions, TTL).await.unwrap();
    // Every registration has expired by now; only the refresh keeps them (a refresh re-registers
    // a session that expired, so how long registering took does not matter).
    let wait = (started + Duration::from_millis(1500))
        .max(registered + Duration::from_millis(1100))
        .saturating_duration_since(std::time::Instant::now());
    tokio::time::sleep(wait).await;
    assert_eq!(presence.online(&users).await.unwrap().len(), users.len());
}
contract!(one_call_refreshes_many_sessions, presence, redis);

async fn the_cap_holds_under_concurrency(adapters: (impl PresenceStore, impl Throttle)) {
    let (presence, _) = adapters;
    let carl = user(5);
    let names: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    let attempts = names.iter().map(|n| presence.register(carl, n, TTL, 3));
    let results = futures_util::future::join_all(attempts).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        3,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|r| matches!(r, Ok(true))).count(),
        1,
        "exactly one came online first"
    );
}
contract!(the_cap_holds_under_concurrency, presence, redis);

async fn throttles_count_within_their_window(adapters: (impl PresenceStore, impl Throttle)) {
    let (_, throttle) = adapters;
    let window = Duration::from_millis(400);
    assert!(throttle.allow("k", window, 2).await.unwrap());
    assert!(throttle.allow("k", window, 2).await.unwrap());
    assert!(!throttle.allow("k", window, 2).await.unwrap());
    assert!(
        throttle.allow("other", window, 2).await.unwrap(),
        "keys are separate"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        throttle.allow("k", window, 2).await.unwrap(),
        "a new window"
    );
    assert!(throttle.allow("k", window, 2).await.unwrap());
    throttle.reset("k").await.unwrap();
    assert!(
        throttle.allow("k", window, 2).await.unwrap(),
        "reset opens a new window"
    );
}
contract!(throttles_count_within_their_window, presence, redis);
