//! Registration, login, refresh rotation and the caller's profile.

use eclean_tests::{ResponseExt, both_backends};
use serde_json::json;

both_backends! {
    async fn registration_returns_a_user_and_working_tokens(app) {
        let user = app.register("cleaner").await;
        let me = app.me(&user.access).await.json_with(200).await;
        assert_eq!(me["id"], user.id);
        assert_eq!(me["username"], user.username.as_str());
        assert_eq!(me["email"], user.email.as_str());
        assert_eq!(me["role"], "cleaner");
        assert_eq!(me["is_active"], true);
        assert_eq!(me["display_name"], user.username.as_str());
    }
}

both_backends! {
    async fn registration_keeps_names_and_the_path_without_slash_works(app) {
        let body = app
            .post_anonymous(
                "/api/auth/register",
                &json!({"email": "Zoe.K@Example.COM", "username": "zoe_k", "password": "a-long-walk-home",
                        "role": "client", "first_name": " Zoë ", "last_name": "Kar"}),
            )
            .await
            .json_with(201)
            .await;
        assert_eq!(body["user"]["email"], "Zoe.K@example.com");
        assert_eq!(body["user"]["first_name"], "Zoë");
        assert_eq!(body["user"]["display_name"], "Zoë Kar");
        // The address is case-insensitive for login.
        app.login("zoe.k@EXAMPLE.com", "a-long-walk-home").await.json_with(200).await;
    }
}

both_backends! {
    async fn duplicate_email_or_username_is_a_400_and_changes_nothing(app) {
        let first = app.register("client").await;
        let same_email = app
            .post_anonymous(
                "/api/auth/register/",
                &json!({"email": first.email.to_uppercase(), "username": "someone_else_1",
                        "password": "another-fine-password", "role": "client"}),
            )
            .await
            .error_with(400, "validation_error")
            .await;
        assert!(same_email["errors"]["email"][0].as_str().unwrap().contains("already exists"));
        let same_username = app
            .post_anonymous(
                "/api/auth/register/",
                &json!({"email": "fresh-address@example.com", "username": first.username.to_uppercase(),
                        "password": "another-fine-password", "role": "client"}),
            )
            .await
            .error_with(400, "validation_error")
            .await;
        assert!(same_username["errors"]["username"][0].as_str().unwrap().contains("already exists"));
        // Nothing was created: the fresh address has no account.
        app.login("fresh-address@example.com", "another-fine-password")
            .await
            .error_with(401, "invalid_credentials")
            .await;
        // And the first account is untouched.
        app.login(&first.email, &first.password).await.json_with(200).await;
    }
}

both_backends! {
    async fn weak_passwords_are_refused_with_every_reason(app) {
        let cases = [
            ("short1", "too short"),
            ("12345678901", "entirely numeric"),
            ("password123", "too common"),
            ("weakling_user_2024", "too similar"),
        ];
        for (password, reason) in cases {
            let body = app
                .post_anonymous(
                    "/api/auth/register/",
                    &json!({"email": "weak@example.com", "username": "weakling_user",
                            "password": password, "role": "client"}),
                )
                .await
                .error_with(400, "validation_error")
                .await;
            let messages = body["errors"]["password"].to_string();
            assert!(messages.contains(reason), "{password}: {body}");
        }
        app.login("weak@example.com", "short1").await.error_with(401, "invalid_credentials").await;
    }
}

both_backends! {
    async fn every_bad_field_is_named_at_once(app) {
        let body = app
            .post_anonymous(
                "/api/auth/register/",
                &json!({"email": "not-an-address", "username": "bad name", "password": "x", "role": "admin"}),
            )
            .await
            .error_with(400, "validation_error")
            .await;
        for field in ["email", "username", "password", "role"] {
            assert!(body["errors"][field].is_array(), "{field} missing in {body}");
        }
    }
}

both_backends! {
    async fn registration_input_of_the_wrong_shape_is_refused(app) {
        let url = app.url("/api/auth/register/");
        let missing = app.post_anonymous("/api/auth/register/", &json!({"email": "a@b.co"})).await;
        missing.error_with(400, "invalid_body").await;
        let wrong_type = app
            .post_anonymous("/api/auth/register/", &json!({"email": 5, "username": "u", "password": "p", "role": "client"}))
            .await;
        wrong_type.error_with(400, "invalid_body").await;
        let malformed = app.client.post(&url).header("content-type", "application/json").body("{\"email\": ").send().await.unwrap();
        malformed.error_with(400, "malformed_json").await;
        let not_an_object = app.client.post(&url).header("content-type", "application/json").body("[1,2]").send().await.unwrap();
        not_an_object.error_with(400, "invalid_body").await;
        let form = app.client.post(&url).header("content-type", "text/plain").body("email=a").send().await.unwrap();
        form.error_with(415, "unsupported_media_type").await;
        let huge = "x".repeat(70 * 1024);
        let too_large = app
            .post_anonymous("/api/auth/register/", &json!({"email": huge, "username": "u", "password": "p", "role": "client"}))
            .await;
        too_large.error_with(413, "payload_too_large").await;
        let too_long_field = app
            .post_anonymous("/api/auth/register/", &json!({"email": "a".repeat(300), "username": "u", "password": "p", "role": "client"}))
            .await
            .error_with(400, "validation_error")
            .await;
        assert!(too_long_field["errors"]["email"].is_array(), "{too_long_field}");
    }
}

both_backends! {
    async fn login_refuses_wrong_passwords_unknown_addresses_and_inactive_users_alike(app) {
        let user = app.register("client").await;
        let body = app.login(&user.email, &user.password).await.json_with(200).await;
        assert_eq!(body["user"]["id"], user.id);
        app.me(body["access"].as_str().unwrap()).await.json_with(200).await;

        app.login(&user.email, "not-the-password").await.error_with(401, "invalid_credentials").await;
        app.login("nobody@example.com", "whatever-password").await.error_with(401, "invalid_credentials").await;
        app.login("not an address", "whatever-password").await.error_with(401, "invalid_credentials").await;

        let admin = app.admin().await;
        app.patch(&format!("/api/users/{}/", user.id), &admin.access, &json!({"is_active": false}))
            .await
            .json_with(200)
            .await;
        app.login(&user.email, &user.password).await.error_with(401, "invalid_credentials").await;
    }
}

both_backends! {
    async fn a_refresh_token_works_once(app) {
        let user = app.register("client").await;
        let pair = app
            .post_anonymous("/api/auth/token/refresh/", &json!({"refresh": user.refresh}))
            .await
            .json_with(200)
            .await;
        let access = pair["access"].as_str().unwrap();
        let next_refresh = pair["refresh"].as_str().unwrap();
        assert_ne!(next_refresh, user.refresh);
        app.me(access).await.json_with(200).await;

        // The spent token is refused, the new one works.
        app.post_anonymous("/api/auth/token/refresh/", &json!({"refresh": user.refresh}))
            .await
            .error_with(401, "token_reused")
            .await;
        app.post_anonymous("/api/auth/token/refresh/", &json!({"refresh": next_refresh}))
            .await
            .json_with(200)
            .await;
    }
}

both_backends! {
    async fn concurrent_refreshes_of_one_token_yield_one_pair(app) {
        let user = app.register("client").await;
        let body = json!({"refresh": user.refresh});
        let attempts = (0..8).map(|_| app.post_anonymous("/api/auth/token/refresh/", &body));
        let statuses: Vec<u16> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.status().as_u16())
            .collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 7, "{statuses:?}");
    }
}

both_backends! {
    async fn an_access_token_is_not_a_refresh_token(app) {
        let user = app.register("client").await;
        app.post_anonymous("/api/auth/token/refresh/", &json!({"refresh": user.access}))
            .await
            .error_with(401, "token_not_refresh")
            .await;
        app.post_anonymous("/api/auth/token/refresh/", &json!({"refresh": "garbage"}))
            .await
            .error_with(401, "token_malformed")
            .await;
    }
}

both_backends! {
    async fn an_inactive_user_cannot_refresh(app) {
        let user = app.register("cleaner").await;
        let admin = app.admin().await;
        app.patch(&format!("/api/users/{}/", user.id), &admin.access, &json!({"is_active": false}))
            .await
            .json_with(200)
            .await;
        app.post_anonymous("/api/auth/token/refresh/", &json!({"refresh": user.refresh}))
            .await
            .error_with(401, "user_inactive")
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_accounts_can_be_turned_off() {
    use figment::providers::Serialized;
    let app = eclean_tests::TestApp::spawn_with(eclean_tests::Backend::Memory, |f| {
        f.merge(Serialized::default("auth.own_accounts", false))
    })
    .await;
    app.post_anonymous(
        "/api/auth/register/",
        &json!({"email": "a@example.com", "username": "anna", "password": "a-long-walk-home", "role": "client"}),
    )
    .await
    .error_with(403, "own_accounts_disabled")
    .await;
    app.login("a@example.com", "a-long-walk-home")
        .await
        .error_with(403, "own_accounts_disabled")
        .await;
}
