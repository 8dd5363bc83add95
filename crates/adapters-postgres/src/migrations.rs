//! The embedded migrations, applied under an advisory lock so instances starting together take
//! turns instead of colliding.

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use ports::PortError;

/// Every migration of the top-level `migrations/` folder, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// The advisory lock key held while migrating (an arbitrary constant: "eclean" in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x65_63_6c_65_61_6e;

/// Applies every pending migration and returns their names. Holds a session-level advisory lock
/// for the duration, so a second instance waits, then finds nothing to do.
///
/// Runs the synchronous migration harness on a blocking thread, which works on any runtime.
pub async fn run_migrations(url: &str) -> Result<Vec<String>, PortError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(PortError::unavailable)?;
        lock(&mut conn, true)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| PortError::unexpected(format!("migration failed: {e}")));
        // Unlock even when a migration failed; the session ends right after anyway.
        let unlocked = lock(&mut conn, false);
        let applied = applied?;
        unlocked?;
        Ok(applied)
    })
    .await
    .map_err(PortError::unexpected)?
}

/// Reverts every applied migration, newest first (used by the migration test and `migrate --down-all`).
pub async fn revert_all(url: &str) -> Result<Vec<String>, PortError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(PortError::unavailable)?;
        lock(&mut conn, true)?;
        let reverted = conn
            .revert_all_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| PortError::unexpected(format!("revert failed: {e}")));
        let unlocked = lock(&mut conn, false);
        let reverted = reverted?;
        unlocked?;
        Ok(reverted)
    })
    .await
    .map_err(PortError::unexpected)?
}

fn lock(
    conn: &mut AsyncConnectionWrapper<AsyncPgConnection>,
    acquire: bool,
) -> Result<(), PortError> {
    let function = if acquire {
        "pg_advisory_lock"
    } else {
        "pg_advisory_unlock"
    };
    // The synchronous trait, explicitly: diesel_async's RunQueryDsl would return a future here.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!("SELECT {function}({MIGRATION_LOCK_KEY})")),
        conn,
    )
    .map(|_| ())
    .map_err(PortError::unavailable)
}
