//! [`TestApp`]: the real server, in-process on port 0, with helpers that speak its API.

use std::path::Path;

use actix_web::dev::ServerHandle;
use figment::Figment;
use figment::providers::Serialized;
use serde_json::{Value, json};
use server::{Application, Settings, Sources};

use crate::database::TestDatabase;
use crate::http::ResponseExt;

/// Which adapters the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Memory,
    /// PostgreSQL + Redis.
    Postgres,
}

/// The bootstrap admin every test server has.
pub const ADMIN_EMAIL: &str = "root@eclean.test";
/// Its username.
pub const ADMIN_USERNAME: &str = "root";
/// Its password.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A registered user and their tokens.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
}

/// Registers a fresh user with this role through the server `url` makes addresses for (a test
/// app, or a process started by the fault tests), and returns them with their tokens.
pub async fn register_with(
    client: &reqwest::Client,
    url: impl Fn(&str) -> String,
    role: &str,
) -> TestUser {
    let tag = crate::unique();
    let username = format!("{role}_{tag}");
    let email = format!("{username}@example.com");
    let password = format!("pw-{tag}-horse-battery");
    let body = client
        .post(url("/api/auth/register/"))
        .json(&json!({"email": email, "username": username, "password": password, "role": role}))
        .send()
        .await
        .unwrap()
        .json_with(201)
        .await;
    TestUser {
        id: body["user"]["id"].as_i64().unwrap(),
        username,
        email,
        password,
        access: body["access"].as_str().unwrap().to_owned(),
        refresh: body["refresh"].as_str().unwrap().to_owned(),
    }
}

/// A running server and what it runs on.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// Which backend.
    pub backend: Backend,
    /// The settings the server runs with.
    pub settings: Settings,
    handle: ServerHandle,
    running: tokio::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    database: Option<TestDatabase>,
    memory: Option<app::Adapters<server::wiring::MemoryPorts>>,
}

/// The test profile's figment: base + `config/test.toml`, never the process environment.
pub fn test_figment() -> Figment {
    let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let (figment, _) = server::config::figment(&Sources {
        config_dir: Some(config_dir),
        profile: Some("test".to_owned()),
        file: None,
        environment: false,
    });
    figment
        .merge(Serialized::default(
            "auth.jwt_secret",
            crate::tokens::TEST_SECRET,
        ))
        .merge(Serialized::default(
            "auth.bootstrap_admin.email",
            ADMIN_EMAIL,
        ))
        .merge(Serialized::default(
            "auth.bootstrap_admin.username",
            ADMIN_USERNAME,
        ))
        .merge(Serialized::default(
            "auth.bootstrap_admin.password",
            ADMIN_PASSWORD,
        ))
}

/// The Redis the suite shares (each test uses its own key prefix).
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

impl TestApp {
    /// Starts a server on `backend` with the test configuration.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |figment| figment).await
    }

    /// Starts a server on `backend` after `customize` adjusted the configuration.
    pub async fn spawn_with(backend: Backend, customize: impl FnOnce(Figment) -> Figment) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            server::telemetry::init(&server::config::LogSettings {
                format: server::config::LogFormat::Text,
                filter: "info".to_owned(),
            });
        }
        let mut figment = test_figment();
        let database = match backend {
            Backend::Memory => None,
            Backend::Postgres => {
                let database = TestDatabase::migrated().await;
                figment = figment
                    .merge(Serialized::default("database.url", database.url()))
                    .merge(Serialized::default("redis.url", redis_url()))
                    .merge(Serialized::default(
                        "redis.key_prefix",
                        format!("test:{}:", crate::unique()),
                    ));
                Some(database)
            }
        };
        let figment = customize(figment);
        let settings = Settings::from_figment(&figment, "test".to_owned()).unwrap();
        Self::start(backend, settings, database).await
    }

    /// Starts a server with exactly these settings.
    pub async fn start(
        backend: Backend,
        settings: Settings,
        database: Option<TestDatabase>,
    ) -> Self {
        let memory = (backend == Backend::Memory && settings.database_url().is_none())
            .then(|| server::wiring::memory_adapters(&settings).unwrap());
        let application = match &memory {
            Some(adapters) => {
                Application::build_in_memory(settings.clone(), adapters.clone()).await
            }
            None => Application::build(settings.clone()).await,
        }
        .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        let port = application.port();
        let handle = application.handle();
        let running = tokio::spawn(application.run_until_stopped());
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: crate::http_client(),
            backend,
            settings,
            handle,
            running: tokio::sync::Mutex::new(Some(running)),
            database,
            memory,
        }
    }

    /// Opens the job room of `job_id` between a client and a cleaner, as the job-event service
    /// does, on the server's own storage. On memory this goes through the chat use case (live
    /// sessions hear of it); on PostgreSQL through the repository on the test database.
    pub async fn open_job_room(&self, job_id: i64, client: i64, cleaner: i64) -> i64 {
        use ports::ChatRepository;
        let uid = |id: i64| domain::user::UserId::new(id).unwrap();
        if let Some(adapters) = &self.memory {
            let chat = app::ChatService::new(
                adapters.clone(),
                server::startup::app_settings(&self.settings).chat,
            );
            let (room, _) = chat
                .open_job_room(job_id, uid(client), uid(cleaner), &format!("Job #{job_id}"))
                .await
                .unwrap();
            return room.id.get();
        }
        let database = self
            .database
            .as_ref()
            .expect("a PostgreSQL test app has a database");
        let pool = adapters_postgres::connect(
            database.url(),
            &adapters_postgres::PoolSettings {
                max_size: 1,
                wait_timeout: std::time::Duration::from_secs(5),
                connect_timeout: std::time::Duration::from_secs(5),
            },
        )
        .unwrap();
        let room = domain::chat::NewRoom {
            kind: domain::chat::RoomKind::Job,
            name: domain::chat::RoomName::parse(&format!("Job #{job_id}")).unwrap(),
            visibility: domain::chat::Visibility::Private,
            job: Some(domain::chat::JobRoomKey {
                job_id,
                cleaner: uid(cleaner),
            }),
            created_by: None,
        };
        let members = vec![
            (uid(client), domain::chat::ParticipantRole::Member),
            (uid(cleaner), domain::chat::ParticipantRole::Member),
        ];
        let (room, _) = adapters_postgres::PgChat::new(pool)
            .get_or_create_job_room(room, members)
            .await
            .unwrap();
        room.id.get()
    }

    /// Creates `count` active users of `role` directly in the server's storage — platform
    /// users, without passwords, so thousands take moments — and returns their ids.
    pub async fn bulk_users(&self, role: &str, count: usize) -> Vec<i64> {
        use ports::UserRepository;
        let tag = crate::unique();
        if let Some(adapters) = &self.memory {
            let role = domain::user::Role::parse(role).unwrap();
            let mut ids = Vec::with_capacity(count);
            for i in 0..count {
                let id = 50_000_000 + i64::try_from(i).unwrap();
                let user = adapters
                    .users
                    .ensure_external(domain::user::ExternalUser {
                        id: domain::user::UserId::new(id).unwrap(),
                        username: domain::user::Username::parse(&format!("bulk_{tag}_{i}"))
                            .unwrap(),
                        email: None,
                        role,
                    })
                    .await
                    .unwrap();
                ids.push(user.id.get());
            }
            return ids;
        }
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        use diesel_async::RunQueryDsl;
        let mut conn = self.connection().await;
        let rows: Vec<Id> = diesel::sql_query(
            "INSERT INTO users (username, role) \
             SELECT 'bulk_' || $1 || '_' || g, $2 FROM generate_series(1, $3) AS g RETURNING id",
        )
        .bind::<diesel::sql_types::Text, _>(tag)
        .bind::<diesel::sql_types::Text, _>(role)
        .bind::<diesel::sql_types::Integer, _>(i32::try_from(count).unwrap())
        .get_results(&mut conn)
        .await
        .unwrap();
        rows.into_iter().map(|r| r.id).collect()
    }

    /// How many unread notifications each of these users has, read from storage (not through
    /// the API), in the order given.
    pub async fn stored_unread(&self, ids: &[i64]) -> Vec<i64> {
        use ports::NotificationRepository;
        if let Some(adapters) = &self.memory {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let user = domain::user::UserId::new(*id).unwrap();
                out.push(
                    adapters
                        .notifications
                        .unread_count(user, chrono::Utc::now())
                        .await
                        .unwrap(),
                );
            }
            return out;
        }
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            recipient_id: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            unread: i64,
        }
        use diesel_async::RunQueryDsl;
        let mut conn = self.connection().await;
        let rows: Vec<Count> = diesel::sql_query(
            "SELECT recipient_id, count(*) AS unread FROM notifications \
             WHERE recipient_id = ANY($1) AND read_at IS NULL GROUP BY recipient_id",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(ids)
        .get_results(&mut conn)
        .await
        .unwrap();
        let by_user: std::collections::HashMap<i64, i64> = rows
            .into_iter()
            .map(|r| (r.recipient_id, r.unread))
            .collect();
        ids.iter()
            .map(|id| by_user.get(id).copied().unwrap_or(0))
            .collect()
    }

    /// Makes the next job event fail inside its transaction, after its notifications are
    /// written: on memory through the store's fault hook; on PostgreSQL through a trigger that
    /// refuses a chat message containing `marker` (put it in a `completion_rejected` reason,
    /// which the system message repeats).
    pub async fn fail_next_job_event(&self, marker: &str) {
        if let Some(adapters) = &self.memory {
            adapters.jobs.fail_next_apply_after_notifications();
            return;
        }
        use diesel_async::RunQueryDsl;
        let mut conn = self.connection().await;
        for sql in [
            "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
                .to_owned(),
            format!(
                "CREATE TRIGGER injected_failure BEFORE INSERT ON chat_messages FOR EACH ROW \
                 WHEN (NEW.content LIKE '%{marker}%') EXECUTE FUNCTION injected_failure()"
            ),
        ] {
            diesel::sql_query(sql).execute(&mut conn).await.unwrap();
        }
    }

    /// A direct connection to the test database (PostgreSQL backend only).
    pub async fn connection(&self) -> diesel_async::AsyncPgConnection {
        use diesel_async::AsyncConnection;
        let database = self
            .database
            .as_ref()
            .expect("a PostgreSQL test app has a database");
        diesel_async::AsyncPgConnection::establish(database.url())
            .await
            .unwrap()
    }

    /// Stops this server and starts another with the same settings on the same database — a
    /// restart, as a deployment does it.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let database = self.database.take();
        Self::start(self.backend, self.settings.clone(), database).await
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The test database, on the PostgreSQL backend.
    pub fn database(&self) -> Option<&TestDatabase> {
        self.database.as_ref()
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
        // And its background work (the delivery worker finishes what it claimed).
        if let Some(running) = self.running.lock().await.take() {
            running.await.unwrap().unwrap();
        }
    }

    /// GET with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// POST JSON with a bearer token.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// PATCH JSON with a bearer token.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// PUT JSON with a bearer token.
    pub async fn put(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// An admin sends `recipient` a notification: `body` plus `recipient_id`; returns it (201).
    pub async fn notify(&self, admin: &TestUser, recipient: i64, body: Value) -> Value {
        let mut body = body;
        body["recipient_id"] = json!(recipient);
        self.post(
            "/api/notifications/send_notification/",
            &admin.access,
            &body,
        )
        .await
        .json_with(201)
        .await
    }

    /// A `system_alert` for `recipient` with this headline; returns it.
    pub async fn alert(&self, admin: &TestUser, recipient: i64, headline: &str) -> Value {
        self.notify(
            admin,
            recipient,
            json!({"notification_type": "system_alert", "context": {"headline": headline, "text": "details"}}),
        )
        .await
    }

    /// Posts a job event as the platform (a service token).
    pub async fn job_event(&self, event: &Value) -> reqwest::Response {
        let token = crate::tokens::service_token("platform");
        self.post("/api/jobs/events/", &token, event).await
    }

    /// POST JSON without credentials.
    pub async fn post_anonymous(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Registers a fresh user with this role and returns them with their tokens.
    pub async fn register(&self, role: &str) -> TestUser {
        register_with(&self.client, |path| self.url(path), role).await
    }

    /// Logs in and returns the response body.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_anonymous(
            "/api/auth/login/",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// The bootstrap admin, logged in.
    pub async fn admin(&self) -> TestUser {
        let body = self
            .login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .json_with(200)
            .await;
        TestUser {
            id: body["user"]["id"].as_i64().unwrap(),
            username: ADMIN_USERNAME.to_owned(),
            email: ADMIN_EMAIL.to_owned(),
            password: ADMIN_PASSWORD.to_owned(),
            access: body["access"].as_str().unwrap().to_owned(),
            refresh: body["refresh"].as_str().unwrap().to_owned(),
        }
    }

    /// `ws://…/ws/?token=<token>` connected, opening frames read.
    pub async fn ws(&self, token: &str) -> crate::WsClient {
        crate::WsClient::connect(&self.ws_url(&format!("/ws/?token={token}")), &[])
            .await
            .unwrap_or_else(|refused| panic!("refused: {} {}", refused.status, refused.body))
    }

    /// The `ws://` URL of `path`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// DELETE with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Creates a general room owned by `owner` with these members; returns its id.
    pub async fn create_room(
        &self,
        owner: &TestUser,
        visibility: &str,
        members: &[&TestUser],
    ) -> i64 {
        let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
        let body = self
            .post(
                "/api/chat/rooms/",
                &owner.access,
                &json!({"room_type": "general", "name": format!("room-{}", crate::unique()), "visibility": visibility, "member_ids": ids}),
            )
            .await
            .json_with(201)
            .await;
        body["id"].as_i64().unwrap()
    }

    /// The direct room of two users; returns its id.
    pub async fn dm(&self, a: &TestUser, b: &TestUser) -> i64 {
        let response = self
            .post(
                "/api/chat/rooms/start_dm/",
                &a.access,
                &json!({"user_id": b.id}),
            )
            .await;
        let status = response.status().as_u16();
        assert!(status == 200 || status == 201, "start_dm answered {status}");
        response.json::<Value>().await.unwrap()["room"]["id"]
            .as_i64()
            .unwrap()
    }

    /// Sends a message over REST; returns the message JSON.
    pub async fn say(&self, user: &TestUser, room: i64, content: &str) -> Value {
        self.post(
            &format!("/api/chat/rooms/{room}/send_message/"),
            &user.access,
            &json!({"content": content}),
        )
        .await
        .json_with(201)
        .await
    }

    /// `GET /api/users/me/` with `token`.
    pub async fn me(&self, token: &str) -> reqwest::Response {
        self.get("/api/users/me/", token).await
    }
}
