//! A fresh, migrated database per test (feature `test-support`).
//!
//! The first test of a run migrates a template database
//! (`<base>_tpl_<migrations hash>`) once; every [`TestDb`] then copies the
//! template's tables with `CREATE TABLE ... LIKE` (Matomo's schema has no
//! foreign keys to lose) and drops its database when dropped. Tests therefore
//! run in parallel, in threads or in processes (nextest), without sharing rows.
//!
//! `TEST_DATABASE_URL` (default `mysql://root@127.0.0.1:3306/tally_test`)
//! names the server and the base name; it is separate from the application's
//! `TALLY_DATABASE_URL` so that tests never touch real data.
//!
//! Rollback-only test transactions are not enough here: in MariaDB any DDL
//! commits implicitly, and archiving creates tables.

use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use crate::url::{DbUrl, redact};
use crate::{DatabaseConfig, DbError, DbPool, migrations};

/// The variable naming the test server and base database name.
pub const TEST_DATABASE_URL_ENV: &str = "TEST_DATABASE_URL";
const DEFAULT_TEST_URL: &str = "mysql://root@127.0.0.1:3306/tally_test";
const READY_MARKER: &str = "_tally_template_ready";
/// Leftover test databases older than this were abandoned by a killed run.
const STALE_AFTER_SECS: u64 = 2 * 3600;

static SWEEP: Once = Once::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test, migrated, dropped on drop.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
    server_url: String,
}

impl TestDb {
    /// Creates a fresh database with every migration applied.
    ///
    /// # Errors
    /// [`DbError`] when the test server is unreachable or the copy fails.
    pub fn new() -> Result<Self, DbError> {
        let base_url =
            std::env::var(TEST_DATABASE_URL_ENV).unwrap_or_else(|_| DEFAULT_TEST_URL.to_owned());
        let base = DbUrl::parse(&base_url)?;
        let server_url = base.server_only();
        let mut server =
            MysqlConnection::establish(&server_url).map_err(|source| DbError::Connect {
                url: redact(&server_url),
                source,
            })?;

        SWEEP.call_once(|| {
            // Best effort: a failed sweep must not fail the test.
            if let Err(err) = sweep_stale(&mut server, base.database()) {
                tracing::warn!(error = %err, "could not sweep stale test databases");
            }
        });

        let template = format!("{}_tpl_{}", base.database(), env!("TALLY_MIGRATIONS_HASH"));
        ensure_template(&mut server, &base, &template)?;

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = format!(
            "{}_t{now}_{}_{}",
            base.database(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let db = Self {
            url: base.with_database(&name),
            name,
            server_url,
        };
        // From here on, Drop cleans up even if the copy fails half-way.
        copy_tables(&mut server, &template, &db.name)?;
        Ok(db)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for this database (for code that takes a URL or a config).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A `[database]` config pointing at this database.
    pub fn config(&self) -> DatabaseConfig {
        DatabaseConfig {
            url: self.url.clone(),
            pool_size: 4,
            connect_timeout_secs: 10,
        }
    }

    /// A new connection with Tally's session setup.
    ///
    /// # Errors
    /// [`DbError::Connect`].
    pub fn conn(&self) -> Result<MysqlConnection, DbError> {
        crate::connect(&self.url)
    }

    /// A pool over this database.
    ///
    /// # Errors
    /// See [`crate::pool`].
    pub fn pool(&self) -> Result<DbPool, DbError> {
        crate::pool(&self.config())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let dropped = MysqlConnection::establish(&self.server_url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                conn.batch_execute(&format!("DROP DATABASE IF EXISTS `{}`", self.name))
                    .map_err(|e| e.to_string())
            });
        if let Err(err) = dropped {
            // Left for the next run's sweep.
            eprintln!("warning: could not drop test database {}: {err}", self.name);
        }
    }
}

#[derive(QueryableByName)]
struct Scalar {
    #[diesel(sql_type = Nullable<BigInt>)]
    v: Option<i64>,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn ensure_template(
    server: &mut MysqlConnection,
    base: &DbUrl,
    template: &str,
) -> Result<(), DbError> {
    if template_ready(server, template)? {
        return Ok(());
    }
    // Another test process may be building it: serialise on a server lock.
    // (Only the test helper uses GET_LOCK; production code never does.)
    let lock: Scalar = diesel::sql_query("SELECT GET_LOCK(?, 300) AS v")
        .bind::<Text, _>(template)
        .get_result(server)?;
    if lock.v != Some(1) {
        return Err(DbError::Migration {
            message: format!("timed out waiting for the lock on template {template}"),
        });
    }
    let built = build_template(server, base, template);
    let released = diesel::sql_query("SELECT RELEASE_LOCK(?) AS v")
        .bind::<Text, _>(template)
        .get_result::<Scalar>(server);
    built?;
    released?;
    Ok(())
}

fn build_template(
    server: &mut MysqlConnection,
    base: &DbUrl,
    template: &str,
) -> Result<(), DbError> {
    if template_ready(server, template)? {
        return Ok(());
    }
    server.batch_execute(&format!(
        "DROP DATABASE IF EXISTS `{template}`; CREATE DATABASE `{template}` CHARACTER SET utf8mb4"
    ))?;
    let mut conn = crate::connect(&base.with_database(template))?;
    migrations::run_migrations(&mut conn)?;
    conn.batch_execute(&format!("CREATE TABLE `{READY_MARKER}` (x INT)"))?;
    Ok(())
}

fn template_ready(server: &mut MysqlConnection, template: &str) -> Result<bool, DbError> {
    let found: Scalar = diesel::sql_query(
        "SELECT COUNT(*) AS v FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    )
    .bind::<Text, _>(template)
    .bind::<Text, _>(READY_MARKER)
    .get_result(server)?;
    Ok(found.v.unwrap_or(0) > 0)
}

fn copy_tables(server: &mut MysqlConnection, template: &str, target: &str) -> Result<(), DbError> {
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT TABLE_NAME AS name FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> ? ORDER BY TABLE_NAME",
    )
    .bind::<Text, _>(template)
    .bind::<Text, _>(READY_MARKER)
    .load(server)?;
    let mut sql = format!("CREATE DATABASE `{target}` CHARACTER SET utf8mb4;");
    for t in &tables {
        // Rows too: the migrations table must say every migration is applied,
        // and a migration may seed data.
        sql.push_str(&format!(
            "CREATE TABLE `{target}`.`{0}` LIKE `{template}`.`{0}`;
             INSERT INTO `{target}`.`{0}` SELECT * FROM `{template}`.`{0}`;",
            t.name
        ));
    }
    server.batch_execute(&sql)?;
    Ok(())
}

/// Drops per-test databases left by killed runs, and templates of old migrations.
fn sweep_stale(server: &mut MysqlConnection, base: &str) -> Result<(), DbError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let names: Vec<Name> = diesel::sql_query(
        "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?",
    )
    .bind::<Text, _>(format!("{}\\_t%", base.replace('_', "\\_")))
    .load(server)?;
    for Name { name } in names {
        let Some(rest) = name.strip_prefix(&format!("{base}_t")) else {
            continue;
        };
        let created: Option<u64> = rest.split('_').next().and_then(|s| s.parse().ok());
        if created.is_some_and(|t| now.saturating_sub(t) > STALE_AFTER_SECS) {
            server.batch_execute(&format!("DROP DATABASE IF EXISTS `{name}`"))?;
        }
    }
    Ok(())
}
