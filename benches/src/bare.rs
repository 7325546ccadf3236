//! The bare MariaDB baselines the tracker and log import figures are put
//! next to: the rows our code stored, sent again by a plain client, as
//! multi-row text `INSERT`s ([`bare_insert`]) or as tab-separated files
//! through `LOAD DATA LOCAL INFILE` ([`bare_load`], the way the log import
//! now writes its big batches). What any client pays to hand MariaDB these
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
struct Line {
    #[diesel(sql_type = diesel::sql_types::Binary)]
    line: Vec<u8>,
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
    let columns = columns(conn, table)?;
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
    let copy = empty_copy(conn, table)?;
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
    drop_checked(conn, &copy, tuples.len())?;
    Ok((tuples.len(), secs))
}

/// [`bare_insert`] through `LOAD DATA LOCAL INFILE`: the rows written, in
/// `order_by` order, `rows_per_file` to a tab-separated file (the server
/// formats them; files written before the clock starts), each file loaded
/// and committed on its own. Returns (rows, seconds of loading).
///
/// # Errors
/// A failing query or file, or a copy that does not hold every row.
pub fn bare_load(
    conn: &mut MysqlConnection,
    table: &str,
    order_by: &str,
    rows_per_file: usize,
) -> anyhow::Result<(usize, f64)> {
    let columns = columns(conn, table)?;
    // The default field format: tab, newline, backslash escapes, \N.
    let fields: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "IFNULL(REPLACE(REPLACE(REPLACE(CAST(`{}` AS BINARY), '\\\\', '\\\\\\\\'), \
                 '\\t', '\\\\t'), '\\n', '\\\\n'), '\\\\N')",
                c.name
            )
        })
        .collect();
    let lines: Vec<Line> = diesel::sql_query(format!(
        "SELECT CONCAT(CONCAT_WS('\\t', {}), '\\n') AS line FROM {table} ORDER BY {order_by}",
        fields.join(", ")
    ))
    .load(conn)
    .with_context(|| format!("reading the rows of {table}"))?;
    let dir = std::env::temp_dir();
    let mut files = Vec::new();
    for (i, chunk) in lines.chunks(rows_per_file.max(1)).enumerate() {
        let path = dir.join(format!(
            "tally-bench-load-{}-{table}-{i}.tsv",
            std::process::id()
        ));
        let bytes: Vec<u8> = chunk.iter().flat_map(|l| l.line.iter().copied()).collect();
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
    }
    let copy = empty_copy(conn, table)?;
    let names: Vec<String> = columns.iter().map(|c| format!("`{}`", c.name)).collect();
    let started = Instant::now();
    let loaded = files.iter().try_for_each(|path| {
        conn.transaction(|c| {
            c.batch_execute(&format!(
                "LOAD DATA LOCAL INFILE '{}' INTO TABLE {copy} CHARACTER SET binary ({})",
                path.display(),
                names.join(",")
            ))
        })
        .with_context(|| format!("loading {}", path.display()))
    });
    let secs = started.elapsed().as_secs_f64();
    for path in &files {
        let _ = std::fs::remove_file(path);
    }
    loaded?;
    drop_checked(conn, &copy, lines.len())?;
    Ok((lines.len(), secs))
}

fn columns(conn: &mut MysqlConnection, table: &str) -> anyhow::Result<Vec<Column>> {
    diesel::sql_query(
        "SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind::<Text, _>(table)
    .load(conn)
    .with_context(|| format!("reading the columns of {table}"))
}

/// `bench_<table>`, empty, with `table`'s columns and indexes.
fn empty_copy(conn: &mut MysqlConnection, table: &str) -> anyhow::Result<String> {
    let copy = format!("bench_{table}");
    conn.batch_execute(&format!(
        "DROP TABLE IF EXISTS {copy}; CREATE TABLE {copy} LIKE {table}"
    ))?;
    Ok(copy)
}

/// Checks that `copy` holds `rows` rows, then drops it.
fn drop_checked(conn: &mut MysqlConnection, copy: &str, rows: usize) -> anyhow::Result<()> {
    let copied = count(conn, &format!("SELECT COUNT(*) AS n FROM {copy}"))?;
    ensure!(
        usize::try_from(copied)? == rows,
        "{copy} holds {copied} rows, expected {rows}"
    );
    conn.batch_execute(&format!("DROP TABLE {copy}"))?;
    Ok(())
}
