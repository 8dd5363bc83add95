use eclean_tests::{ResponseExt, both_backends};

both_backends! {
    async fn registration_returns_a_user_and_working_tokens(app) {
        let user = app.register("cleaner").await;
        let me = app.me(&user.access).await.json_with(200).await;
        assert_eq!(me["id"], user.id);
        assert_eq!(me["username"], user.username.as_str());
        assert_eq!(me["role"], "cleaner");
    }
}
