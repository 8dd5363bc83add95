//! A fresh database per test, copied from a template that holds the migrated schema.

use std::hash::{Hash, Hasher};
use std::path::Path;

use diesel::Connection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// The admin connection tests create and drop databases through.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The URL of database `name` on the admin connection's server.
pub fn url_for(name: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

/// A database that exists for one test and is dropped (forcibly) when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
}

/// Lock key serialising template creation across test processes.
const TEMPLATE_LOCK: i64 = 0x74_65_6d_70_6c;

impl TestDatabase {
    /// A new database with every migration applied.
    pub async fn migrated() -> Self {
        let template = ensure_template().await;
        Self::create(Some(&template)).await
    }

    /// A new, empty database (no migrations).
    pub async fn empty() -> Self {
        Self::create(None).await
    }

    async fn create(template: Option<&str>) -> Self {
        let name = format!("eclean_test_{}", crate::unique());
        let mut admin = AsyncPgConnection::establish(&admin_url())
            .await
            .expect("TEST_DATABASE_URL must point at a running PostgreSQL");
        let sql = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        // Copying a template fails while another session is connected to it, which only happens
        // for an instant while it is being built; retry briefly.
        let mut attempts = 0;
        loop {
            match diesel::sql_query(&sql).execute(&mut admin).await {
                Ok(_) => break,
                Err(error) if attempts < 50 => {
                    attempts += 1;
                    let _ = error;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(error) => panic!("cannot create test database: {error}"),
            }
        }
        let url = url_for(&name);
        Self { name, url }
    }

    /// The URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let admin = admin_url();
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread with
        // its own small runtime.
        let _ = std::thread::spawn(move || {
            let Ok(mut conn) =
                <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&admin)
            else {
                return;
            };
            let _ = diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn);
        })
        .join();
    }
}

/// A fingerprint of the migrations folder, so a changed migration gets a new template.
fn migrations_fingerprint() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in entries {
        path.to_string_lossy().hash(&mut hasher);
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Creates the migrated template once per migration fingerprint, under an advisory lock so
/// parallel test processes build it once.
async fn ensure_template() -> String {
    let name = format!("eclean_tmpl_{}", migrations_fingerprint());
    let admin_url = admin_url();
    let template = name.clone();
    tokio::task::spawn_blocking(move || {
        let mut admin =
            <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&admin_url)
                .expect("TEST_DATABASE_URL must point at a running PostgreSQL");
        let run = |conn: &mut AsyncConnectionWrapper<AsyncPgConnection>, sql: String| {
            diesel::RunQueryDsl::execute(diesel::sql_query(sql), conn)
        };
        run(
            &mut admin,
            format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"),
        )
        .unwrap();
        #[derive(diesel::QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let exists: Exists = diesel::RunQueryDsl::get_result(
            diesel::sql_query(format!(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{template}') AS exists"
            )),
            &mut admin,
        )
        .unwrap();
        if !exists.exists {
            let building = format!("{template}_building");
            let _ = run(
                &mut admin,
                format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            );
            run(&mut admin, format!("CREATE DATABASE {building}")).unwrap();
            {
                use diesel_migrations::MigrationHarness;
                let mut conn =
                    <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url_for(
                        &building,
                    ))
                    .unwrap();
                conn.run_pending_migrations(adapters_postgres::MIGRATIONS)
                    .expect("migrations apply to an empty database");
            }
            run(
                &mut admin,
                format!("ALTER DATABASE {building} RENAME TO {template}"),
            )
            .unwrap();
        }
        run(
            &mut admin,
            format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"),
        )
        .unwrap();
    })
    .await
    .unwrap();
    name
}
