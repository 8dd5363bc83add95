//! Token verification: simplejwt compatibility, every refusal, public keys, service tokens.

use eclean_tests::tokens::{
    self, access_claims, fixture, now, sign, sign_hs256, sign_pem, unsigned,
};
use eclean_tests::{Backend, ResponseExt, TestApp, both_backends};
use figment::providers::Serialized;
use jsonwebtoken::Algorithm;
use serde_json::json;

both_backends! {
    async fn a_platform_token_creates_its_user_from_the_claims(app) {
        let id = 900_000 + (now() % 1000);
        let mut claims = access_claims(json!(id.to_string()));
        claims["username"] = json!(format!("platform_{id}"));
        claims["email"] = json!(format!("p{id}@platform.example"));
        claims["role"] = json!("cleaner");
        let token = sign(&claims);
        let me = app.me(&token).await.json_with(200).await;
        assert_eq!(me["id"], id);
        assert_eq!(me["username"], format!("platform_{id}"));
        assert_eq!(me["role"], "cleaner");
        // Seen again (user_id as a number this time): the same user, not a second one.
        let mut again = access_claims(json!(id));
        again["username"] = json!("a_different_name");
        let me = app.me(&sign(&again)).await.json_with(200).await;
        assert_eq!(me["username"], format!("platform_{id}"));
        // Our own registrations never collide with the platform's id.
        let local = app.register("client").await;
        assert_ne!(local.id, id);
    }
}

both_backends! {
    async fn an_unknown_user_without_a_username_is_refused(app) {
        app.me(&sign(&access_claims(json!(777_777)))).await.error_with(401, "user_not_found").await;
    }
}

both_backends! {
    async fn a_deactivated_users_tokens_stop_working(app) {
        let user = app.register("client").await;
        let admin = app.admin().await;
        app.me(&user.access).await.json_with(200).await;
        app.patch(&format!("/api/users/{}/", user.id), &admin.access, &json!({"is_active": false}))
            .await
            .json_with(200)
            .await;
        app.me(&user.access).await.error_with(401, "user_inactive").await;
        app.patch(&format!("/api/users/{}/", user.id), &admin.access, &json!({"is_active": true}))
            .await
            .json_with(200)
            .await;
        app.me(&user.access).await.json_with(200).await;
    }
}

both_backends! {
    async fn expired_forged_unsigned_and_refresh_tokens_are_refused(app) {
        let user = app.register("client").await;
        let mut expired = access_claims(json!(user.id));
        expired["exp"] = json!(now() - 3600);
        app.me(&sign(&expired)).await.error_with(401, "token_expired").await;

        let forged = sign_hs256(&access_claims(json!(user.id)), b"not-the-shared-secret-at-all-no");
        app.me(&forged).await.error_with(401, "token_bad_signature").await;

        app.me(&unsigned(&access_claims(json!(user.id)))).await.error_with(401, "token_bad_algorithm").await;

        let mut refresh = access_claims(json!(user.id));
        refresh["token_type"] = json!("refresh");
        app.me(&sign(&refresh)).await.error_with(401, "token_not_access").await;
        app.me(&user.refresh).await.error_with(401, "token_not_access").await;

        let mut no_user = access_claims(json!(user.id));
        no_user.as_object_mut().unwrap().remove("user_id");
        app.me(&sign(&no_user)).await.error_with(401, "token_malformed").await;

        let mut no_exp = access_claims(json!(user.id));
        no_exp.as_object_mut().unwrap().remove("exp");
        app.me(&sign(&no_exp)).await.error_with(401, "token_malformed").await;

        let mut bad_id = access_claims(json!("twelve"));
        bad_id["username"] = json!("twelve");
        app.me(&sign(&bad_id)).await.error_with(401, "token_malformed").await;

        app.me("not.a.jwt").await.error_with(401, "token_malformed").await;
    }
}

both_backends! {
    async fn missing_and_malformed_authorization_headers_are_refused(app) {
        let url = app.url("/api/users/me/");
        let none = app.client.get(&url).send().await.unwrap();
        assert_eq!(none.headers().get("www-authenticate").unwrap(), "Bearer");
        none.error_with(401, "not_authenticated").await;
        for header in ["Token abc", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", ""] {
            let response = app.client.get(&url).header("authorization", header).send().await.unwrap();
            response.error_with(401, "malformed_authorization").await;
        }
        let user = app.register("client").await;
        let lower = app.client.get(&url).header("authorization", format!("bearer {}", user.access)).send().await.unwrap();
        lower.json_with(200).await;
    }
}

both_backends! {
    async fn service_tokens_are_services_not_users(app) {
        let token = tokens::service_token("platform");
        app.me(&token).await.error_with(403, "not_a_user").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leeway_tolerates_small_clock_skew_only() {
    let app = TestApp::spawn_with(Backend::Memory, |f| {
        f.merge(Serialized::default("auth.leeway_s", 30))
    })
    .await;
    let user = app.register("client").await;
    let mut slightly = access_claims(json!(user.id));
    slightly["exp"] = json!(now() - 10);
    app.me(&sign(&slightly)).await.json_with(200).await;
    let mut clearly = access_claims(json!(user.id));
    clearly["exp"] = json!(now() - 120);
    app.me(&sign(&clearly))
        .await
        .error_with(401, "token_expired")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_and_audience_are_enforced_when_configured() {
    let app = TestApp::spawn_with(Backend::Memory, |f| {
        f.merge(Serialized::default(
            "auth.issuer",
            "https://platform.example",
        ))
        .merge(Serialized::default("auth.audience", "eclean-realtime"))
    })
    .await;
    // Our own tokens carry both, so they work.
    let user = app.register("client").await;
    app.me(&user.access).await.json_with(200).await;

    let mut right = access_claims(json!(user.id));
    right["iss"] = json!("https://platform.example");
    right["aud"] = json!(["other", "eclean-realtime"]);
    app.me(&sign(&right)).await.json_with(200).await;

    let mut wrong_iss = right.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    app.me(&sign(&wrong_iss))
        .await
        .error_with(401, "token_bad_issuer_or_audience")
        .await;

    let mut wrong_aud = right.clone();
    wrong_aud["aud"] = json!("someone-else");
    app.me(&sign(&wrong_aud))
        .await
        .error_with(401, "token_bad_issuer_or_audience")
        .await;

    let mut neither = right.clone();
    neither.as_object_mut().unwrap().remove("iss");
    neither.as_object_mut().unwrap().remove("aud");
    app.me(&sign(&neither))
        .await
        .error_with(401, "token_bad_issuer_or_audience")
        .await;
}

async fn public_key_app(algorithm: &str, public: &str, private: Option<&str>) -> TestApp {
    let public = fixture(public).display().to_string();
    let private = private
        .map(|p| fixture(p).display().to_string())
        .unwrap_or_default();
    let algorithm = algorithm.to_owned();
    TestApp::spawn_with(Backend::Memory, move |f| {
        f.merge(Serialized::default("auth.algorithm", algorithm))
            .merge(Serialized::default("auth.public_key_path", public))
            .merge(Serialized::default("auth.private_key_path", private))
    })
    .await
}

fn platform_claims(id: i64) -> serde_json::Value {
    let mut claims = access_claims(json!(id));
    claims["username"] = json!(format!("pk_user_{id}"));
    claims
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_tokens_verify_with_the_public_key_and_hs256_ones_are_refused() {
    let app = public_key_app("RS256", "rs256_public.pem", None).await;
    let private = std::fs::read(fixture("rs256_private.pem")).unwrap();
    let token = sign_pem(&platform_claims(4101), Algorithm::RS256, &private);
    let me = app.me(&token).await.json_with(200).await;
    assert_eq!(me["id"], 4101);

    // The key-confusion attack: an HS256 token whose "secret" is the public key.
    let public = std::fs::read(fixture("rs256_public.pem")).unwrap();
    let confused = sign_hs256(&platform_claims(4101), &public);
    app.me(&confused)
        .await
        .error_with(401, "token_bad_algorithm")
        .await;
    // And the shared secret of the default configuration means nothing here.
    app.me(&sign(&platform_claims(4101)))
        .await
        .error_with(401, "token_bad_algorithm")
        .await;
    // Without a private key we cannot issue tokens, so own accounts are off.
    app.post_anonymous(
        "/api/auth/register/",
        &json!({"email": "a@example.com", "username": "anna", "password": "a-long-walk-home", "role": "client"}),
    )
    .await
    .error_with(403, "own_accounts_disabled")
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_tokens_verify_and_own_accounts_work_with_a_private_key() {
    let app = public_key_app("ES256", "es256_public.pem", Some("es256_private.pem")).await;
    let private = std::fs::read(fixture("es256_private.pem")).unwrap();
    let token = sign_pem(&platform_claims(4202), Algorithm::ES256, &private);
    app.me(&token).await.json_with(200).await;
    let rs_private = std::fs::read(fixture("rs256_private.pem")).unwrap();
    let wrong_family = sign_pem(&platform_claims(4202), Algorithm::RS256, &rs_private);
    app.me(&wrong_family)
        .await
        .error_with(401, "token_bad_algorithm")
        .await;
    // Our own tokens are ES256 too.
    let user = app.register("client").await;
    app.me(&user.access).await.json_with(200).await;
}
