//! Tally's MySQL layer.
//!
//! Everything that talks to the server at the level of connections and
//! tables, below any business logic:
//!
//! - [`pool`] / [`connect`]: an r2d2 pool (or one connection) whose every
//!   connection runs in UTC, with a strict `sql_mode` and `utf8mb4`.
//! - [`run_migrations`]: the embedded migrations of the top-level
//!   `migrations/` directory (also `tally-admin migrate`).
//! - [`ArchiveMonth`] / [`create_archive_tables`] / [`next_archive_id`]: the
//!   monthly `archive_numeric_YYYY_MM` and `archive_blob_YYYY_MM` tables,
//!   whose names can only be built from a validated year and month.
//! - [`config::load`]: a process's TOML config with `TALLY_*` overrides.
//! - `test_support::TestDb` (feature `test-support`): a fresh migrated
//!   database per test.
//!
//! Query functions take `&mut MysqlConnection`, never the pool, so that the
//! caller owns the transaction.
//!
//! ```no_run
//! # fn main() -> Result<(), tally_db::DbError> {
//! use tally_db::{ArchiveMonth, DatabaseConfig};
//!
//! let pool = tally_db::pool(&DatabaseConfig::default())?;
//! let mut conn = pool.get().map_err(|source| tally_db::DbError::Pool {
//!     url: "pool".into(),
//!     source,
//! })?;
//! tally_db::run_migrations(&mut conn)?;
//! let month = ArchiveMonth::new(2024, 9)?;
//! tally_db::create_archive_tables(&mut conn, month)?;
//! let idarchive = tally_db::next_archive_id(&mut conn, month)?;
//! assert!(idarchive >= 1);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod archive_tables;
pub mod config;
mod connection;
mod error;
mod migrations;
pub mod sequence;
#[cfg(feature = "test-support")]
pub mod test_support;
mod url;

pub use archive_tables::{
    ArchiveKind, ArchiveMonth, ArchiveTable, create_archive_tables, list_archive_tables,
    next_archive_id,
};
pub use connection::{DatabaseConfig, DbPool, PooledConn, connect, pool, setup_session};
pub use error::DbError;
pub use migrations::{
    MIGRATIONS, create_database_if_missing, pending_migrations, run_migrations,
    run_plugin_migrations,
};
pub use url::redact;
