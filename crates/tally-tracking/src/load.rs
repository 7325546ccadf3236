//! Big batches of log rows through `LOAD DATA LOCAL INFILE`.
//!
//! The server parses every value of a multi-row `INSERT` as SQL text: an
//! item per literal, then a conversion into the column. Tab-separated
//! fields read by `LOAD DATA` skip the first step. Measured on MariaDB
//! 10.11, server CPU per row (docs/PERFORMANCE.md, session 15): a
//! `log_visit` row 16.4 µs as an `INSERT`, 9.5 µs loaded; an action row
//! 6.0 µs and 4.8 µs, at 100 rows or more per statement. At 20 rows the
//! two cost the same, and a load takes more round trips (the server asks
//! for the file, then the warning check), so only tables with at least
//! [`LOAD_MIN_ROWS`] rows in a batch are loaded: the log import's batches
//! (5,000 lines) and the recorder's under heavy load.
//!
//! Three properties of `LOCAL` shape this module:
//! - the client reads the file, so it must be on this machine, not the
//!   server's; it is written to the temporary directory, readable by its
//!   owner only, and removed when the load is dropped;
//! - the server cannot stop the client's transfer midway, so it treats
//!   every row error as a warning and skips duplicate keys (it behaves as
//!   `LOAD DATA ... IGNORE`). An `INSERT` in strict mode would fail
//!   instead. [`Load::run`] restores that: unless every row was stored and
//!   no warning was raised, the load is an error, and the caller's
//!   transaction rolls back as it would for a failing `INSERT`;
//! - both ends must allow it: MariaDB's client library and server do by
//!   default, MySQL 8's do not. [`probe`] finds out once per writer; when
//!   refused, batches are written as `INSERT`s as before.
//!
//! A load cannot be part of a multi-statement query (the connection is
//! left out of sync), so each is a query of its own.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::sql::{Val, push_datetime, push_quoted};

/// Fewest rows of one table in a batch for it to be loaded rather than
/// inserted (see the module docs).
pub const LOAD_MIN_ROWS: usize = 100;

/// A batch's rows of one table, written to a file, ready to load.
#[derive(Debug)]
pub struct Load {
    sql: String,
    file: TempFile,
    rows: u64,
}

impl Load {
    /// Writes the `columns` of `rows` whose `present` is true (as
    /// [`crate::sql::multi_insert_sparse`] chooses them) to a new file.
    ///
    /// # Errors
    /// The file could not be created or written; the caller then inserts
    /// the rows instead.
    pub fn new(
        table: &str,
        columns: &[&str],
        present: &[bool],
        rows: &[Vec<Val>],
    ) -> std::io::Result<Self> {
        let mut data = Vec::with_capacity(rows.len() * 256);
        // Datetimes are formatted as text first; one buffer for all.
        let mut scratch = String::with_capacity(19);
        for row in rows {
            let mut first = true;
            for (v, _) in row.iter().zip(present).filter(|(_, p)| **p) {
                if !first {
                    data.push(b'\t');
                }
                first = false;
                push_field(&mut data, v, &mut scratch);
            }
            data.push(b'\n');
        }
        let file = TempFile::create(&data)?;
        Ok(Self {
            sql: load_sql(&file.path, table, columns, present),
            file,
            rows: rows.len() as u64,
        })
    }

    /// Loads the rows on `conn`, in the caller's transaction.
    ///
    /// # Errors
    /// The server's error, or an error when fewer rows were stored than
    /// written or the server raised a warning (a value it had to change):
    /// what a strict-mode `INSERT` of the same rows would have refused.
    pub fn run(&self, conn: &mut MysqlConnection) -> QueryResult<()> {
        let stored = diesel::sql_query(&self.sql).execute(conn)? as u64;
        let warnings = warning_count(conn)?;
        if stored != self.rows || warnings != 0 {
            return Err(diesel::result::Error::QueryBuilderError(
                format!(
                    "loading {}: {stored} of {} rows stored, {warnings} warnings \
                     (a row an INSERT would have refused)",
                    self.file.path.display(),
                    self.rows
                )
                .into(),
            ));
        }
        Ok(())
    }
}

/// Whether `conn` can load a local file: loads an empty one into
/// `log_link_visit_action` (no row, so no effect in or out of a
/// transaction). Also removes the files a killed process left behind.
pub fn probe(conn: &mut MysqlConnection) -> bool {
    sweep_stale_files();
    let refused = |reason: &dyn std::fmt::Display| {
        tracing::info!(%reason, "LOAD DATA LOCAL INFILE unavailable; big batches are written as INSERTs");
        false
    };
    let file = match TempFile::create(&[]) {
        Ok(f) => f,
        Err(e) => return refused(&e),
    };
    let sql = load_sql(&file.path, "log_link_visit_action", &["idlink_va"], &[true]);
    match diesel::sql_query(sql).execute(conn) {
        Ok(_) => true,
        Err(e) => refused(&e),
    }
}

fn warning_count(conn: &mut MysqlConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query("SELECT @@warning_count AS n").get_result(conn)?;
    Ok(c.n)
}

/// The statement loading `path`. The field and line format is the
/// default one (tab, backslash escapes, newline), which no `sql_mode`
/// changes; the text is read as utf8mb4, the connection's character set,
/// and bytes for binary columns pass through unchanged.
fn load_sql(path: &std::path::Path, table: &str, columns: &[&str], present: &[bool]) -> String {
    let mut sql = String::from("LOAD DATA LOCAL INFILE ");
    push_quoted(&mut sql, &path.to_string_lossy());
    sql.push_str(" INTO TABLE ");
    sql.push_str(table);
    sql.push_str(" CHARACTER SET utf8mb4 (");
    let mut first = true;
    for (c, _) in columns.iter().zip(present).filter(|(_, p)| **p) {
        if !first {
            sql.push(',');
        }
        first = false;
        sql.push_str(c);
    }
    sql.push(')');
    sql
}

/// One field in `LOAD DATA`'s default format: `\N` for NULL; a backslash,
/// tab or newline escaped with a backslash; numbers and datetimes as
/// the `INSERT` literals write them (`scratch` holds the datetime text).
fn push_field(out: &mut Vec<u8>, v: &Val, scratch: &mut String) {
    match v {
        Val::Null => out.extend_from_slice(b"\\N"),
        Val::U64(x) => out.extend_from_slice(itoa::Buffer::new().format(*x).as_bytes()),
        Val::I64(x) => out.extend_from_slice(itoa::Buffer::new().format(*x).as_bytes()),
        Val::F64(x) if x.is_finite() => {
            let _ = write!(out, "{x:?}");
        }
        Val::F64(_) => out.extend_from_slice(b"\\N"),
        Val::Str(s) => push_escaped(out, s.as_bytes()),
        Val::Bytes(b) => push_escaped(out, b),
        Val::DateTime(t) => {
            scratch.clear();
            push_datetime(scratch, t);
            out.extend_from_slice(scratch.as_bytes());
        }
    }
}

/// A raw NUL is plain data to the reader, as is any byte but the escape
/// and the two terminators.
fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut from = 0;
    for at in memchr::memchr3_iter(b'\\', b'\t', b'\n', bytes) {
        out.extend_from_slice(&bytes[from..at]);
        out.push(b'\\');
        out.push(match bytes[at] {
            b'\t' => b't',
            b'\n' => b'n',
            c => c,
        });
        from = at + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

const FILE_PREFIX: &str = "tally-load-";

/// Removes our files older than an hour from the temporary directory: a
/// process killed mid-batch (SIGKILL runs no destructor) leaves its files
/// there, while a live one removes each within a batch's time.
fn sweep_stale_files() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let hour = std::time::Duration::from_secs(3_600);
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(FILE_PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > hour));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A file in the temporary directory, readable by its owner only, removed
/// on drop.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn create(data: &[u8]) -> std::io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "{FILE_PREFIX}{}-{}.tsv",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&path)?;
        let file = Self { path };
        f.write_all(data)?;
        Ok(file)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::insert_columns;
    use diesel::connection::SimpleConnection as _;
    use diesel::sql_types::Text;
    use tally_db::test_support::TestDb;

    const COLUMNS: [&str; 8] = ["id", "b", "s", "n", "i", "f", "d", "e"];

    fn table(conn: &mut MysqlConnection, name: &str) -> QueryResult<()> {
        conn.batch_execute(&format!(
            "CREATE TABLE {name} (id INT PRIMARY KEY, b VARBINARY(300), s VARCHAR(200), \
             n BIGINT UNSIGNED, i BIGINT, f DOUBLE, d DATETIME, e VARCHAR(3) DEFAULT 'def') \
             CHARACTER SET utf8mb4"
        ))
    }

    /// Every column of `name` as hex (NULL as `-`), a row a line.
    fn dump(conn: &mut MysqlConnection, name: &str) -> QueryResult<String> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            r: String,
        }
        let cols: Vec<String> = COLUMNS
            .iter()
            .map(|c| format!("COALESCE(HEX({c}), '-')"))
            .collect();
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT CONCAT_WS(',', {}) AS r FROM {name} ORDER BY id",
            cols.join(",")
        ))
        .load(conn)?;
        Ok(rows.into_iter().map(|r| r.r + "\n").collect())
    }

    fn rows() -> Vec<Vec<Val>> {
        let all_bytes: Vec<u8> = (0..=255).collect();
        let t = time::macros::datetime!(2026-03-02 10:00:07);
        let texts = [
            "plain",
            "",
            "tab\there, new\nline, cr\r, back\\slash, \\N, \\0",
            "quote ' double \" question ? NUL \0 end",
            "🎉 four-byte and é two-byte",
            "\\",
            "trailing tab\t",
        ];
        let mut rows = Vec::new();
        for (i, s) in texts.iter().enumerate() {
            let n = i as u64;
            rows.push(vec![
                Val::U64(n),
                Val::Bytes(all_bytes.iter().map(|b| b.wrapping_add(n as u8)).collect()),
                Val::from(*s),
                Val::U64(if i == 0 { u64::MAX } else { n }),
                Val::I64(if i == 0 { i64::MIN } else { -(i as i64) }),
                Val::F64([0.1, -1.5e-7, 12_345.678_9, f64::NAN, 0.0, 1e15, -2.5][i]),
                Val::DateTime(t),
                Val::from("abc"),
            ]);
        }
        // NULL everywhere but the key and the column with a default.
        rows.push(vec![
            Val::U64(100),
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
            Val::from(""),
        ]);
        rows.push(vec![
            Val::U64(101),
            Val::Bytes(Vec::new()),
            Val::Str(String::new()),
            Val::U64(0),
            Val::I64(0),
            Val::F64(f64::INFINITY),
            Val::Null,
            Val::Null,
        ]);
        rows
    }

    /// A load stores exactly what the `INSERT` of the same rows stores:
    /// every byte value, every escape the format has, NULL against empty,
    /// integer extremes, doubles, datetimes.
    #[test]
    fn a_load_stores_what_an_insert_stores() -> anyhow::Result<()> {
        let db = TestDb::new()?;
        let mut conn = db.conn()?;
        assert!(probe(&mut conn));
        table(&mut conn, "by_insert")?;
        table(&mut conn, "by_load")?;
        let present = [true; COLUMNS.len()];
        for st in insert_columns("INSERT", "by_insert", &COLUMNS, &present, rows()) {
            st.execute(&mut conn)?;
        }
        let load = Load::new("by_load", &COLUMNS, &present, &rows())?;
        let path = load.file.path.clone();
        assert!(path.exists());
        load.run(&mut conn)?;
        drop(load);
        assert!(!path.exists(), "the file is removed with its load");
        let inserted = dump(&mut conn, "by_insert")?;
        assert_eq!(inserted.lines().count(), rows().len());
        assert_eq!(dump(&mut conn, "by_load")?, inserted);
        Ok(())
    }

    /// Columns left out of the load take their defaults, as in an `INSERT`
    /// naming fewer columns.
    #[test]
    fn columns_left_out_take_their_defaults() -> anyhow::Result<()> {
        let db = TestDb::new()?;
        let mut conn = db.conn()?;
        table(&mut conn, "t")?;
        let mut present = [true; COLUMNS.len()];
        present[7] = false;
        Load::new("t", &COLUMNS, &present, &rows()[..2])?.run(&mut conn)?;
        let dumped = dump(&mut conn, "t")?;
        let def = "646566"; // 'def'
        assert_eq!(
            dumped.lines().filter(|l| l.ends_with(def)).count(),
            2,
            "{dumped}"
        );
        Ok(())
    }

    /// Files left by a killed process are removed after an hour; files of
    /// a batch in progress stay.
    #[test]
    fn stale_files_are_swept() -> anyhow::Result<()> {
        let dir = std::env::temp_dir();
        let id = std::process::id();
        let old = dir.join(format!("{FILE_PREFIX}sweep-old-{id}.tsv"));
        let new = dir.join(format!("{FILE_PREFIX}sweep-new-{id}.tsv"));
        for p in [&old, &new] {
            std::fs::write(p, b"1\n")?;
        }
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7_200);
        std::fs::File::options()
            .write(true)
            .open(&old)?
            .set_modified(two_hours_ago)?;
        sweep_stale_files();
        assert!(!old.exists());
        assert!(new.exists());
        std::fs::remove_file(&new)?;
        Ok(())
    }

    /// What a strict-mode `INSERT` refuses (a value too long, a duplicate
    /// key) fails the load instead of being changed or skipped, and the
    /// caller's transaction stores nothing.
    #[test]
    fn a_row_an_insert_would_refuse_fails_the_load() -> anyhow::Result<()> {
        let db = TestDb::new()?;
        let mut conn = db.conn()?;
        table(&mut conn, "t")?;
        let present = [true; COLUMNS.len()];
        let mut too_long = rows()[..1].to_vec();
        too_long[0][7] = Val::from("four");
        let mut duplicate = rows()[..2].to_vec();
        duplicate[1][0] = Val::U64(0);
        for bad in [too_long, duplicate] {
            let load = Load::new("t", &COLUMNS, &present, &bad)?;
            let result = conn.transaction(|conn| load.run(conn));
            let err = result.expect_err("refused").to_string();
            assert!(
                err.contains("rows stored") && err.contains("warnings"),
                "{err}"
            );
            assert_eq!(dump(&mut conn, "t")?, "");
        }
        Ok(())
    }
}
