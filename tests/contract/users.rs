//! `UserRepository`.

use domain::password::PasswordHash;
use domain::user::{Email, ExternalUser, NewUser, PersonName, Role, UserId, Username};
use ports::{PortError, UserRepository};

fn new_user(username: &str, email: &str) -> NewUser {
    NewUser {
        username: Username::parse(username).unwrap(),
        email: Email::parse(email).unwrap(),
        first_name: PersonName::parse("first_name", "Anna").unwrap(),
        last_name: PersonName::default(),
        role: Role::Cleaner,
    }
}

fn hash(text: &str) -> PasswordHash {
    PasswordHash::from_phc(format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdA${text}"))
}

fn external(id: i64, username: &str) -> ExternalUser {
    ExternalUser {
        id: UserId::new(id).unwrap(),
        username: Username::parse(username).unwrap(),
        email: None,
        role: Role::Client,
    }
}

async fn create_then_read_back(users: impl UserRepository) {
    let created = users
        .create(new_user("anna", "anna@example.com"), hash("a"))
        .await
        .unwrap();
    assert_eq!(created.username.as_str(), "anna");
    assert_eq!(created.role, Role::Cleaner);
    assert!(created.is_active);
    let fetched = users.get(created.id).await.unwrap();
    assert_eq!(fetched, created);
    let (by_email, stored) = users
        .find_by_email(&Email::parse("ANNA@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email.id, created.id);
    assert_eq!(stored, Some(hash("a")));
    let second = users
        .create(new_user("bob", "bob@example.com"), hash("b"))
        .await
        .unwrap();
    assert!(second.id > created.id, "ids increase");
}
contract!(create_then_read_back, users);

async fn unknown_ids_and_addresses_are_not_found(users: impl UserRepository) {
    assert!(matches!(
        users.get(UserId::new(424242).unwrap()).await,
        Err(PortError::NotFound)
    ));
    assert!(matches!(
        users
            .find_by_email(&Email::parse("ghost@example.com").unwrap())
            .await,
        Err(PortError::NotFound)
    ));
    assert!(matches!(
        users.set_active(UserId::new(424242).unwrap(), false).await,
        Err(PortError::NotFound)
    ));
}
contract!(unknown_ids_and_addresses_are_not_found, users);

async fn uniqueness_ignores_case_and_names_the_rule(users: impl UserRepository) {
    users
        .create(new_user("Anna", "anna@example.com"), hash("a"))
        .await
        .unwrap();
    let email = users
        .create(new_user("other", "ANNA@EXAMPLE.COM"), hash("x"))
        .await;
    assert!(
        matches!(email, Err(PortError::Conflict("email"))),
        "{email:?}"
    );
    let username = users
        .create(new_user("aNNa", "other@example.com"), hash("x"))
        .await;
    assert!(
        matches!(username, Err(PortError::Conflict("username"))),
        "{username:?}"
    );
    // Nothing was stored by the refused writes.
    assert!(matches!(
        users
            .find_by_email(&Email::parse("other@example.com").unwrap())
            .await,
        Err(PortError::NotFound)
    ));
}
contract!(uniqueness_ignores_case_and_names_the_rule, users);

async fn concurrent_registrations_of_one_address_store_one_user(users: impl UserRepository) {
    let attempts = (0..8).map(|i| {
        let users = users.clone();
        tokio::spawn(async move {
            users
                .create(
                    new_user(&format!("racer{i}"), "race@example.com"),
                    hash("r"),
                )
                .await
        })
    });
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(PortError::Conflict("email")))))
        .count();
    assert_eq!((ok, conflicts), (1, 7));
}
contract!(
    concurrent_registrations_of_one_address_store_one_user,
    users
);

async fn external_users_keep_their_id_and_are_created_once(users: impl UserRepository) {
    let attempts = (0..6).map(|_| {
        let users = users.clone();
        tokio::spawn(async move { users.ensure_external(external(5000, "platform_anna")).await })
    });
    for result in futures_util::future::join_all(attempts).await {
        let user = result.unwrap().unwrap();
        assert_eq!(user.id.get(), 5000);
        assert_eq!(user.username.as_str(), "platform_anna");
    }
    // A second sighting returns the stored user unchanged.
    let again = users
        .ensure_external(external(5000, "renamed"))
        .await
        .unwrap();
    assert_eq!(again.username.as_str(), "platform_anna");
    // The id space moved past it: our own accounts never take 5000 or below afterwards.
    let local = users
        .create(new_user("local", "local@example.com"), hash("l"))
        .await
        .unwrap();
    assert!(local.id.get() > 5000, "{:?}", local.id);
    // Another id cannot take a username already held.
    let next = local.id.get() + 1;
    let clash = users.ensure_external(external(next, "PLATFORM_ANNA")).await;
    assert!(
        matches!(clash, Err(PortError::Conflict("username"))),
        "{clash:?}"
    );
    assert!(
        users
            .ensure_external(external(next, "platform_bob"))
            .await
            .is_ok()
    );
    let platform = users.get(UserId::new(5000).unwrap()).await.unwrap();
    let (_, stored) = users
        .find_by_email(&Email::parse("local@example.com").unwrap())
        .await
        .unwrap();
    assert!(stored.is_some());
    assert!(platform.email.is_none());
}
contract!(external_users_keep_their_id_and_are_created_once, users);

async fn upsert_admin_creates_or_promotes(users: impl UserRepository) {
    let admin = users
        .upsert_admin(
            Email::parse("root@example.com").unwrap(),
            Username::parse("root").unwrap(),
            hash("r1"),
        )
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    let again = users
        .upsert_admin(
            Email::parse("ROOT@example.com").unwrap(),
            Username::parse("root").unwrap(),
            hash("r2"),
        )
        .await
        .unwrap();
    assert_eq!(again.id, admin.id);
    let (_, stored) = users
        .find_by_email(&Email::parse("root@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(stored, Some(hash("r2")), "the password is replaced");

    let cleaner = users
        .create(new_user("carl", "carl@example.com"), hash("c"))
        .await
        .unwrap();
    users.set_active(cleaner.id, false).await.unwrap();
    let promoted = users
        .upsert_admin(
            Email::parse("carl@example.com").unwrap(),
            Username::parse("carl").unwrap(),
            hash("c2"),
        )
        .await
        .unwrap();
    assert_eq!(
        (promoted.id, promoted.role, promoted.is_active),
        (cleaner.id, Role::Admin, true)
    );

    let split = users
        .upsert_admin(
            Email::parse("carl@example.com").unwrap(),
            Username::parse("root").unwrap(),
            hash("x"),
        )
        .await;
    assert!(
        matches!(split, Err(PortError::Conflict("username"))),
        "{split:?}"
    );
}
contract!(upsert_admin_creates_or_promotes, users);

async fn activation_is_stored(users: impl UserRepository) {
    let user = users
        .create(new_user("dora", "dora@example.com"), hash("d"))
        .await
        .unwrap();
    assert!(!users.set_active(user.id, false).await.unwrap().is_active);
    assert!(!users.get(user.id).await.unwrap().is_active);
    assert!(users.set_active(user.id, true).await.unwrap().is_active);
}
contract!(activation_is_stored, users);
