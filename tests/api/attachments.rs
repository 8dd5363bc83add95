//! Uploads: accepted types and sizes, attaching them, and who may download them.

use eclean_tests::{ResponseExt, TestApp, TestUser, both_backends};
use figment::providers::Serialized;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[7u8; 300]);
    bytes
}

async fn upload(
    app: &TestApp,
    user: &TestUser,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(content_type)
        .unwrap();
    app.client
        .post(app.url("/api/chat/attachments/"))
        .bearer_auth(&user.access)
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

both_backends! {
    async fn an_uploaded_image_is_attached_and_readable_by_the_rooms_members_only(app) {
        let anna = app.register("client").await;
        let bob = app.register("cleaner").await;
        let eve = app.register("cleaner").await;
        let room = app.dm(&anna, &bob).await;
        let file = upload(&app, &anna, "../photo.png", "image/png", png()).await.json_with(201).await;
        assert_eq!(file["content_type"], "image/png");
        assert_eq!(file["size"], 308);
        assert_eq!(file["filename"], "photo.png");
        let url = file["url"].as_str().unwrap().to_owned();
        // Before it is shown anywhere, only the uploader can fetch it.
        assert_eq!(app.get(&url, &anna.access).await.status(), 200);
        app.get(&url, &bob.access).await.error_with(404, "not_found").await;
        let message = app
            .post(&format!("/api/chat/rooms/{room}/send_message/"), &anna.access, &json!({"content": "", "attachment_id": file["id"]}))
            .await
            .json_with(201)
            .await;
        assert_eq!(message["message_type"], "image");
        assert_eq!(message["attachment"]["id"], file["id"]);
        assert_eq!(message["attachment"]["url"], url.as_str());
        let history = app.get(&format!("/api/chat/rooms/{room}/messages/"), &bob.access).await.json_with(200).await;
        assert_eq!(history["results"][0]["attachment"]["content_type"], "image/png");
        let download = app.get(&url, &bob.access).await;
        assert_eq!(download.status(), 200);
        assert_eq!(download.headers().get("content-type").unwrap(), "image/png");
        assert_eq!(download.headers().get("x-content-type-options").unwrap(), "nosniff");
        assert!(download.headers().get("content-disposition").unwrap().to_str().unwrap().contains("photo.png"));
        assert_eq!(download.bytes().await.unwrap().to_vec(), png());
        app.get(&url, &eve.access).await.error_with(404, "not_found").await;
        // Bob cannot pass Anna's upload off as his.
        app.post(&format!("/api/chat/rooms/{room}/send_message/"), &bob.access, &json!({"content": "mine", "attachment_id": file["id"]}))
            .await
            .error_with(400, "validation_error")
            .await;
        // Deleting the message withdraws the file from the room.
        app.delete(&format!("/api/chat/messages/{}/", message["id"]), &anna.access).await.json_with(204).await;
        app.get(&url, &bob.access).await.error_with(404, "not_found").await;
        let tombstone = app.get(&format!("/api/chat/messages/{}/", message["id"]), &bob.access).await.json_with(200).await;
        assert!(tombstone["attachment"].is_null());
    }
}

both_backends! {
    async fn uploads_of_the_wrong_type_or_shape_are_refused(app) {
        let anna = app.register("client").await;
        let html = upload(&app, &anna, "page.html", "text/html", b"<html>".to_vec()).await.error_with(400, "validation_error").await;
        assert!(html["errors"]["file"][0].as_str().unwrap().contains("not accepted"), "{html}");
        let disguised = upload(&app, &anna, "x.png", "image/png", b"<script>alert(1)</script>".to_vec()).await.error_with(400, "validation_error").await;
        assert!(disguised["errors"]["file"][0].as_str().unwrap().contains("not a image/png"), "{disguised}");
        upload(&app, &anna, "empty.pdf", "application/pdf", Vec::new()).await.error_with(400, "validation_error").await;
        let pdf = upload(&app, &anna, "doc.pdf", "application/pdf", b"%PDF-1.4 ok".to_vec()).await.json_with(201).await;
        assert_eq!(pdf["content_type"], "application/pdf");
        let wrong_field = app.client
            .post(app.url("/api/chat/attachments/"))
            .bearer_auth(&anna.access)
            .multipart(Form::new().part("upload", Part::bytes(png()).mime_str("image/png").unwrap()))
            .send()
            .await
            .unwrap();
        wrong_field.error_with(400, "validation_error").await;
        let not_multipart = app.post("/api/chat/attachments/", &anna.access, &json!({"file": "x"})).await;
        let status = not_multipart.status().as_u16();
        let body: Value = not_multipart.json().await.unwrap();
        assert_eq!(status, 400, "{body}");
        assert!(body["code"].is_string(), "{body}");
        let anonymous = app.client.post(app.url("/api/chat/attachments/")).multipart(Form::new().part("file", Part::bytes(png()))).send().await.unwrap();
        anonymous.error_with(401, "not_authenticated").await;
        app.get("/api/chat/attachments/987654/", &anna.access).await.error_with(404, "not_found").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_size_limit_are_refused_with_413() {
    let app = TestApp::spawn_with(eclean_tests::Backend::Memory, |f| {
        f.merge(Serialized::default("chat.max_attachment_bytes", 1024))
    })
    .await;
    let anna = app.register("client").await;
    let mut big = b"%PDF-".to_vec();
    big.extend_from_slice(&[b'x'; 2000]);
    upload(&app, &anna, "big.pdf", "application/pdf", big)
        .await
        .error_with(413, "payload_too_large")
        .await;
    upload(
        &app,
        &anna,
        "small.pdf",
        "application/pdf",
        b"%PDF-small".to_vec(),
    )
    .await
    .json_with(201)
    .await;
}
