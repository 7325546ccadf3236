//! Embedded schema migrations (the top-level `migrations/` directory).

use diesel::connection::SimpleConnection;
use diesel::{Connection, MysqlConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::DbError;
use crate::url::{DbUrl, redact};

/// Every migration of Tally's static tables, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Applies every pending migration; returns the versions applied, oldest first.
///
/// # Errors
/// [`DbError::Migration`] naming the failing migration's error.
pub fn run_migrations(conn: &mut MysqlConnection) -> Result<Vec<String>, DbError> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|err| DbError::Migration {
            message: err.to_string(),
        })?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Applies the pending migrations of a plugin crate (its own
/// `embed_migrations!` directory), after Tally's own.
///
/// Plugin and core migrations share diesel's `__diesel_schema_migrations`
/// table, keyed by version: a plugin's directory names must not reuse a
/// version of `migrations/` (prefix them with a date after the plugin's
/// creation and the plugin's name, e.g. `2027-01-10-000001_myplugin_tables`).
///
/// # Errors
/// [`DbError::Migration`] naming the failing migration's error.
pub fn run_plugin_migrations(
    conn: &mut MysqlConnection,
    migrations: EmbeddedMigrations,
) -> Result<Vec<String>, DbError> {
    let applied = conn
        .run_pending_migrations(migrations)
        .map_err(|err| DbError::Migration {
            message: err.to_string(),
        })?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Lists the migrations not yet applied to this database.
///
/// # Errors
/// [`DbError::Migration`] if the migrations table cannot be read.
pub fn pending_migrations(conn: &mut MysqlConnection) -> Result<Vec<String>, DbError> {
    let pending = conn
        .pending_migrations(MIGRATIONS)
        .map_err(|err| DbError::Migration {
            message: err.to_string(),
        })?;
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}

/// Creates the database named in `url` if the server does not have it yet.
/// Returns whether it was created.
///
/// # Errors
/// [`DbError::InvalidUrl`] for a URL without a plain database name,
/// [`DbError::Connect`] when the server cannot be reached.
pub fn create_database_if_missing(url: &str) -> Result<bool, DbError> {
    let parsed = DbUrl::parse(url)?;
    let server = parsed.server_only();
    // Connect without the database, which may not exist yet; errors name the
    // URL the user configured.
    let mut conn = MysqlConnection::establish(&server).map_err(|source| DbError::Connect {
        url: redact(url),
        source,
    })?;
    let exists = database_exists(&mut conn, parsed.database())?;
    if !exists {
        // The name was checked to be a plain identifier by DbUrl::parse.
        conn.batch_execute(&format!(
            "CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4",
            parsed.database()
        ))?;
    }
    Ok(!exists)
}

pub(crate) fn database_exists(conn: &mut MysqlConnection, name: &str) -> diesel::QueryResult<bool> {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    )
    .bind::<Text, _>(name)
    .get_result(conn)?;
    Ok(count.n > 0)
}
