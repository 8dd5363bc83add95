//! The migrations and the hand-written diesel schema, checked against a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use diesel::Connection;
use diesel::migration::MigrationSource;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;
use eclean_tests::TestDatabase;

type SyncConn = AsyncConnectionWrapper<AsyncPgConnection>;

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Everything a migration can create in the public schema, one line per object, sorted.
const SNAPSHOT: &str = r"
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable
       || ' default=' || coalesce(column_default, '') AS line
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes
 WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '__diesel_schema_migrations'
UNION ALL
SELECT 'sequence ' || sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'
UNION ALL
SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'type ' || typname FROM pg_type
 WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd')
UNION ALL
SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
ORDER BY 1";

fn snapshot(conn: &mut SyncConn) -> Vec<String> {
    let lines: Vec<Line> = diesel::RunQueryDsl::load(diesel::sql_query(SNAPSHOT), conn).unwrap();
    lines.into_iter().map(|l| l.line).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_down_migration_undoes_its_up_migration() {
    let database = TestDatabase::empty().await;
    let url = database.url().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = <SyncConn as Connection>::establish(&url).unwrap();
        let empty = snapshot(&mut conn);
        assert!(
            empty.is_empty(),
            "a fresh database has no objects: {empty:?}"
        );
        let count = MigrationSource::<diesel::pg::Pg>::migrations(&adapters_postgres::MIGRATIONS)
            .unwrap()
            .len();
        assert!(count > 0);
        for step in 0..count {
            let before = snapshot(&mut conn);
            let name = conn
                .run_next_migration(adapters_postgres::MIGRATIONS)
                .unwrap()
                .to_string();
            let after_up = snapshot(&mut conn);
            assert_ne!(before, after_up, "migration {name} changed nothing");
            conn.revert_last_migration(adapters_postgres::MIGRATIONS)
                .unwrap();
            let after_down = snapshot(&mut conn);
            assert_eq!(
                before, after_down,
                "down.sql of {name} (step {step}) does not undo its up.sql"
            );
            conn.run_next_migration(adapters_postgres::MIGRATIONS)
                .unwrap();
            assert_eq!(
                snapshot(&mut conn),
                after_up,
                "{name} does not re-apply cleanly"
            );
        }
        conn.revert_all_migrations(adapters_postgres::MIGRATIONS)
            .unwrap();
        assert_eq!(
            snapshot(&mut conn),
            empty,
            "reverting everything leaves objects behind"
        );
    })
    .await
    .unwrap();
    drop(database);
}

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_rs_matches_the_migrated_database() {
    let database = TestDatabase::migrated().await;
    let url = database.url().to_owned();
    let actual = tokio::task::spawn_blocking(move || {
        let mut conn = <SyncConn as Connection>::establish(&url).unwrap();
        let columns: Vec<Column> = diesel::RunQueryDsl::load(
            diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name
                   FROM information_schema.columns
                  WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
                  ORDER BY table_name, ordinal_position",
            ),
            &mut conn,
        )
        .unwrap();
        let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for column in columns {
            tables
                .entry(column.table_name)
                .or_default()
                .push(column.column_name);
        }
        tables
    })
    .await
    .unwrap();
    let declared: BTreeMap<String, Vec<String>> = adapters_postgres::schema::tables()
        .into_iter()
        .map(|(table, columns)| {
            (
                table.to_owned(),
                columns.into_iter().map(str::to_owned).collect(),
            )
        })
        .collect();
    assert_eq!(
        declared, actual,
        "crates/adapters-postgres/src/schema.rs differs from migrations/"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_twice_is_a_no_op_and_concurrent_migrations_take_turns() {
    let database = TestDatabase::empty().await;
    let url = database.url().to_owned();
    let runs = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { adapters_postgres::run_migrations(&url).await })
    });
    let results = futures_util::future::join_all(runs).await;
    let applied: Vec<usize> = results
        .into_iter()
        .map(|r| r.unwrap().unwrap().len())
        .collect();
    let total = MigrationSource::<diesel::pg::Pg>::migrations(&adapters_postgres::MIGRATIONS)
        .unwrap()
        .len();
    assert_eq!(
        applied.iter().sum::<usize>(),
        total,
        "each migration ran exactly once: {applied:?}"
    );
    assert!(
        adapters_postgres::run_migrations(&url)
            .await
            .unwrap()
            .is_empty()
    );
}
