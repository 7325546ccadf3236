//! Connections and the pool, with the session state every Tally connection needs.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, MysqlConnection};
use serde::{Deserialize, Serialize};

use crate::DbError;
use crate::url::redact;

/// A pool of MySQL connections with Tally's session setup applied.
pub type DbPool = Pool<ConnectionManager<MysqlConnection>>;

/// A connection checked out of a [`DbPool`].
pub type PooledConn = PooledConnection<ConnectionManager<MysqlConnection>>;

/// The `[database]` section of a Tally config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Connection URL, `mysql://user:password@host:port/database`.
    /// Default: `mysql://root@127.0.0.1:3306/tally`. Env: `TALLY_DATABASE_URL`.
    pub url: String,
    /// Largest number of pooled connections. Default: 10.
    pub pool_size: u32,
    /// Seconds to wait for a pooled connection before giving up. Default: 5.
    pub connect_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "mysql://root@127.0.0.1:3306/tally".to_owned(),
            pool_size: 10,
            connect_timeout_secs: 5,
        }
    }
}

/// Session state set on every connection we open.
///
/// - UTC: log tables store UTC `DATETIME`s; the server's own zone must not
///   shift them.
/// - Strict `sql_mode`: an out-of-range or truncated value is an error, never
///   a silently altered row. `PIPES_AS_CONCAT` is kept because diesel sets it.
/// - `utf8mb4`: URLs and titles carry any Unicode, emoji included.
const SESSION_SETUP: &str = "SET NAMES utf8mb4; \
    SET time_zone = '+00:00'; \
    SET sql_mode = 'STRICT_TRANS_TABLES,STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,\
NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,PIPES_AS_CONCAT'";

/// Applies Tally's session setup (UTC, strict `sql_mode`, `utf8mb4`) to a connection.
///
/// # Errors
/// The query error if the server rejects a setting.
pub fn setup_session(conn: &mut MysqlConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(SESSION_SETUP)
}

/// Opens one connection with the session setup applied.
///
/// # Errors
/// [`DbError::Connect`] when the server is unreachable or refuses the
/// credentials; [`DbError::Query`] if the session setup fails.
pub fn connect(url: &str) -> Result<MysqlConnection, DbError> {
    let mut conn = MysqlConnection::establish(url).map_err(|source| DbError::Connect {
        url: redact(url),
        source,
    })?;
    setup_session(&mut conn)?;
    Ok(conn)
}

#[derive(Debug, Clone, Copy)]
struct SessionSetup;

impl CustomizeConnection<MysqlConnection, diesel::r2d2::Error> for SessionSetup {
    fn on_acquire(&self, conn: &mut MysqlConnection) -> Result<(), diesel::r2d2::Error> {
        setup_session(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds the process's connection pool.
///
/// One connection is opened first and directly: r2d2 alone would retry for the
/// whole timeout and then report only "timed out", hiding the real cause
/// (refused connection, wrong password, unknown database).
///
/// # Errors
/// [`DbError::Connect`] with the server's reason, or [`DbError::Pool`].
pub fn pool(config: &DatabaseConfig) -> Result<DbPool, DbError> {
    drop(connect(&config.url)?);
    Pool::builder()
        .max_size(config.pool_size.max(1))
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(config.connect_timeout_secs.max(1)))
        .connection_customizer(Box::new(SessionSetup))
        .build(ConnectionManager::new(&config.url))
        .map_err(|source| DbError::Pool {
            url: redact(&config.url),
            source,
        })
}
