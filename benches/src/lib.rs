//! Shared fixtures for Tally's benchmarks.
//!
//! Each bench target in this package measures one area; its figures and the
//! command that produced them go to `docs/PERFORMANCE.md`.
#![deny(missing_docs)]

use anyhow::Context as _;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

pub mod bare;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The single `n` column of `sql` (a `SELECT COUNT(*) AS n ...`), as the
/// benches read their row counts and server variables.
///
/// # Errors
/// The query's error, with the query.
pub fn count(conn: &mut MysqlConnection, sql: &str) -> anyhow::Result<i64> {
    let c: Count = diesel::sql_query(sql)
        .get_result(conn)
        .with_context(|| format!("running {sql}"))?;
    Ok(c.n)
}
