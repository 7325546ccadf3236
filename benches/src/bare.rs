//! The bare MariaDB baseline the tracker and log import figures are put
//! next to: the rows our code stored, inserted again by a plain client with
//! multi-row text `INSERT`s. What any client pays to hand MariaDB these
//! rows, without our parsing, visit recognition or name resolution.

use std::time::Instant;

use anyhow::{Context, ensure};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::count;

#[derive(QueryableByName)]
struct Tuple {
    #[diesel(sql_type = Text)]
    t: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

/// How the baseline sends its rows.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Rows per multi-row `INSERT`.
    pub rows_per_insert: usize,
    /// Rows per transaction (a multiple of `rows_per_insert`).
    pub rows_per_transaction: usize,
}

/// Copies `table` into an empty `bench_<table>` (same columns and indexes)
/// with plain multi-row text `INSERT`s on one connection, in `order_by`
/// order; returns (rows, seconds of inserting). The statements are built
/// before the clock starts: the baseline is the server's cost of taking
/// the rows, not string building.
///
/// # Errors
/// A failing query, or a copy that does not hold every row.
pub fn bare_insert(
    conn: &mut MysqlConnection,
    table: &str,
    order_by: &str,
    batching: Batching,
) -> anyhow::Result<(usize, f64)> {
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind::<Text, _>(table)
    .load(conn)
    .with_context(|| format!("reading the columns of {table}"))?;
    // Each row as its SQL literal tuple, built by the server; binary
    // columns as hex literals so the text stays UTF-8.
    let exprs: Vec<String> = columns
        .iter()
        .map(|c| {
            if c.data_type.contains("binary") || c.data_type.contains("blob") {
                format!(
                    "IF(`{0}` IS NULL, 'NULL', CONCAT('X''', HEX(`{0}`), ''''))",
                    c.name
                )
            } else {
                format!("QUOTE(`{}`)", c.name)
            }
        })
        .collect();
    let names: Vec<String> = columns.iter().map(|c| format!("`{}`", c.name)).collect();
    let tuples: Vec<Tuple> = diesel::sql_query(format!(
        "SELECT CONVERT(CONCAT('(', CONCAT_WS(',', {}), ')') USING utf8mb4) AS t FROM {table} ORDER BY {order_by}",
        exprs.join(", ")
    ))
    .load(conn)
    .with_context(|| format!("reading the rows of {table}"))?;
    let copy = format!("bench_{table}");
    conn.batch_execute(&format!(
        "DROP TABLE IF EXISTS {copy}; CREATE TABLE {copy} LIKE {table}"
    ))?;
    let prefix = format!("INSERT INTO {copy} ({}) VALUES ", names.join(","));
    let statements: Vec<String> = tuples
        .chunks(batching.rows_per_insert.max(1))
        .map(|chunk| {
            let mut s = prefix.clone();
            for (i, t) in chunk.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&t.t);
            }
            s
        })
        .collect();
    let per_tx = (batching.rows_per_transaction / batching.rows_per_insert.max(1)).max(1);
    let started = Instant::now();
    for group in statements.chunks(per_tx) {
        conn.transaction(|c| {
            for s in group {
                c.batch_execute(s)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .with_context(|| format!("inserting into {copy}"))?;
    }
    let secs = started.elapsed().as_secs_f64();
    let copied = count(conn, &format!("SELECT COUNT(*) AS n FROM {copy}"))?;
    ensure!(
        usize::try_from(copied)? == tuples.len(),
        "{copy} holds {copied} rows, expected {}",
        tuples.len()
    );
    conn.batch_execute(&format!("DROP TABLE {copy}"))?;
    Ok((tuples.len(), secs))
}
