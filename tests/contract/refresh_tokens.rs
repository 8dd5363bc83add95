//! `RefreshTokenStore`.

use chrono::{Duration, Utc};
use domain::password::PasswordHash;
use domain::user::{Email, NewUser, PersonName, Role, UserId, Username};
use ports::{PortError, RefreshTokenStore, UserRepository};

async fn a_user(users: &impl UserRepository) -> UserId {
    users
        .create(
            NewUser {
                username: Username::parse("tok").unwrap(),
                email: Email::parse("tok@example.com").unwrap(),
                first_name: PersonName::default(),
                last_name: PersonName::default(),
                role: Role::Client,
            },
            PasswordHash::from_phc("x".into()),
        )
        .await
        .unwrap()
        .id
}

async fn a_jti_is_consumed_once(adapters: (impl UserRepository, impl RefreshTokenStore)) {
    let (users, tokens) = adapters;
    let user = a_user(&users).await;
    let expires = Utc::now() + Duration::days(1);
    tokens.consume("jti-1", user, expires).await.unwrap();
    assert!(matches!(
        tokens.consume("jti-1", user, expires).await,
        Err(PortError::Conflict("jti"))
    ));
    tokens.consume("jti-2", user, expires).await.unwrap();
}
contract!(a_jti_is_consumed_once, refresh_tokens);

async fn concurrent_consumption_has_one_winner(
    adapters: (impl UserRepository, impl RefreshTokenStore),
) {
    let (users, tokens) = adapters;
    let user = a_user(&users).await;
    let expires = Utc::now() + Duration::days(1);
    let attempts = (0..10).map(|_| {
        let tokens = tokens.clone();
        tokio::spawn(async move { tokens.consume("contested", user, expires).await })
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    let losers = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(PortError::Conflict("jti")))))
        .count();
    assert_eq!((winners, losers), (1, 9));
}
contract!(concurrent_consumption_has_one_winner, refresh_tokens);

async fn purging_forgets_only_expired_tokens(
    adapters: (impl UserRepository, impl RefreshTokenStore),
) {
    let (users, tokens) = adapters;
    let user = a_user(&users).await;
    let now = Utc::now();
    tokens
        .consume("old", user, now - Duration::hours(1))
        .await
        .unwrap();
    tokens
        .consume("fresh", user, now + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(tokens.purge_expired(now).await.unwrap(), 1);
    assert_eq!(tokens.purge_expired(now).await.unwrap(), 0);
    assert!(matches!(
        tokens.consume("fresh", user, now).await,
        Err(PortError::Conflict("jti"))
    ));
}
contract!(purging_forgets_only_expired_tokens, refresh_tokens);
