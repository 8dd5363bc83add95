//! Users: public profiles and admin activation, with every authorization rule attacked.

use eclean_tests::{ResponseExt, both_backends};
use serde_json::json;

both_backends! {
    async fn anyone_signed_in_sees_a_public_profile_without_the_address(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let profile = app.get(&format!("/api/users/{}/", anna.id), &bob.access).await.json_with(200).await;
        assert_eq!(profile["username"], anna.username.as_str());
        assert!(profile.get("email").is_none(), "{profile}");
        app.client.get(app.url(&format!("/api/users/{}/", anna.id))).send().await.unwrap()
            .error_with(401, "not_authenticated").await;
        app.get("/api/users/987654321/", &bob.access).await.error_with(404, "not_found").await;
        app.get("/api/users/abc/", &bob.access).await.error_with(404, "not_found").await;
        app.get("/api/users/-3/", &bob.access).await.error_with(404, "not_found").await;
    }
}

both_backends! {
    async fn only_admins_change_users_and_a_refusal_changes_nothing(app) {
        let victim = app.register("client").await;
        let attacker = app.register("cleaner").await;
        app.patch(&format!("/api/users/{}/", victim.id), &attacker.access, &json!({"is_active": false}))
            .await
            .error_with(403, "admin_only")
            .await;
        app.patch(&format!("/api/users/{}/", attacker.id), &attacker.access, &json!({"is_active": false}))
            .await
            .error_with(403, "admin_only")
            .await;
        app.me(&victim.access).await.json_with(200).await;

        let service = eclean_tests::tokens::service_token("platform");
        app.patch(&format!("/api/users/{}/", victim.id), &service, &json!({"is_active": false}))
            .await
            .error_with(403, "admin_only")
            .await;
        app.me(&victim.access).await.json_with(200).await;

        let admin = app.admin().await;
        app.patch(&format!("/api/users/{}/", admin.id), &admin.access, &json!({"is_active": false}))
            .await
            .error_with(409, "cannot_deactivate_self")
            .await;
        app.patch("/api/users/987654321/", &admin.access, &json!({"is_active": false}))
            .await
            .error_with(404, "not_found")
            .await;
        app.patch(&format!("/api/users/{}/", victim.id), &admin.access, &json!({"is_active": "no"}))
            .await
            .error_with(400, "invalid_body")
            .await;
        app.patch(&format!("/api/users/{}/", victim.id), &admin.access, &json!({"is_active": false, "role": "admin"}))
            .await
            .error_with(400, "invalid_body")
            .await;
        app.me(&victim.access).await.json_with(200).await;
        let updated = app
            .patch(&format!("/api/users/{}/", victim.id), &admin.access, &json!({"is_active": false}))
            .await
            .json_with(200)
            .await;
        assert_eq!(updated["is_active"], false);
        assert_eq!(updated["role"], "client");
    }
}
