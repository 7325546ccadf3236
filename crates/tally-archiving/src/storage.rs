//! Archive storage (`ArchiveWriter`, `ArchiveSelector`, `ArchivePurger`):
//! numeric and blob records in the monthly tables, the done flag protocol,
//! finding the newest usable archive, and purging.
//!
//! Write protocol (MATOMO.md section 4.8): allocate `idarchive` from the
//! month's sequence, write the done flag with value 2 (in progress) on its
//! own, write the records, then set the done flag to 1. A reader only
//! accepts archives whose done flag is 1 (or 3, or 4/5 when it may not
//! archive), so an archive interrupted before its final write is never read;
//! its rows are removed by [`purge`].

use std::collections::HashMap;

use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{
    Blob, Date as SqlDate, Datetime, Double, Integer, Text, TinyInt, Unsigned,
};
use tally_datatable::DataTable;
use tally_datatable::storage::{decode_tree, encode_table};
use tally_db::{ArchiveKind, ArchiveMonth};
use tally_schema::ArchiveStatus;
use time::PrimitiveDateTime;

use crate::ArchiveError;
use crate::period::Period;

/// The done flag of an archive of all plugins without segment.
pub const DONE: &str = "done";

/// What an archive is for: one site, one period, one done flag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArchiveKey {
    /// `idsite`.
    pub idsite: u32,
    /// The period (`period`, `date1`, `date2`).
    pub period: Period,
    /// The done flag name: [`DONE`], `done<segment hash>`, `done.<Plugin>`.
    pub done_flag: String,
}

impl ArchiveKey {
    /// The all-plugins, no-segment archive of `idsite` for `period`.
    pub fn all(idsite: u32, period: Period) -> Self {
        Self {
            idsite,
            period,
            done_flag: DONE.to_owned(),
        }
    }

    /// The month whose tables hold this archive (the period's start month).
    ///
    /// # Errors
    /// [`ArchiveError::Storage`] for a year before 1991.
    pub fn month(&self) -> Result<ArchiveMonth, ArchiveError> {
        Ok(ArchiveMonth::of(self.period.start())?)
    }
}

/// Where an archive is: its month's tables and its id in them (ids are
/// only unique per month).
pub type ArchiveId = (ArchiveMonth, u32);

/// Blob rows of one archive: (name, stored bytes).
pub type NamedBlobs = Vec<(String, Vec<u8>)>;

/// An archive found in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredArchive {
    /// Its id in the month's tables.
    pub idarchive: u32,
    /// The month of its tables.
    pub month: ArchiveMonth,
    /// When it was written (UTC).
    pub ts_archived: PrimitiveDateTime,
    /// Its done flag value.
    pub status: ArchiveStatus,
}

/// Numeric values are stored rounded to 2 decimals, as Matomo stores them.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Writes one archive: begun by [`ArchiveWriter::begin`], filled with
/// records, made visible by [`ArchiveWriter::finish`].
#[derive(Debug)]
pub struct ArchiveWriter {
    key: ArchiveKey,
    month: ArchiveMonth,
    idarchive: u32,
    ts_archived: PrimitiveDateTime,
    numeric: Vec<(String, f64)>,
    /// Encoded blobs, written by `finish` in the archive's transaction.
    blobs: Vec<(String, Vec<u8>)>,
}

/// Blob rows are sent in statements of about this size: well under the
/// server's default `max_allowed_packet` (16 MiB on MariaDB).
const BLOB_BATCH_BYTES: usize = 4 << 20;

impl ArchiveWriter {
    /// Allocates the archive id and writes the done flag with value 2 (in
    /// progress), committed on their own so that a crash leaves a visible
    /// error archive, not an invisible half, and so that an invalidation
    /// arriving while the archive is built can mark it (2 → 6).
    ///
    /// Creates the month's tables when they are missing (DDL: call it
    /// outside any transaction).
    ///
    /// # Errors
    /// Any database error.
    pub fn begin(
        conn: &mut MysqlConnection,
        key: ArchiveKey,
        now: PrimitiveDateTime,
    ) -> Result<Self, ArchiveError> {
        let month = key.month()?;
        let mut writer = Self {
            key,
            month,
            idarchive: 0,
            ts_archived: now,
            numeric: Vec::new(),
            blobs: Vec::new(),
        };
        // The tables exist for all but the first archive of a month: trying
        // first saves the DDL statements (and their metadata locks) on
        // every archive of a long period.
        match writer.allocate(conn) {
            Err(error) if lacks_tables(&error) => {
                tally_db::create_archive_tables(conn, month)?;
                writer.allocate(conn)?;
            }
            other => other?,
        }
        Ok(writer)
    }

    /// Takes an id from the month's sequence and writes the done flag 2,
    /// in one transaction (one commit instead of two).
    fn allocate(&mut self, conn: &mut MysqlConnection) -> Result<(), ArchiveError> {
        conn.transaction(|conn| {
            self.idarchive = tally_db::next_archive_id(conn, self.month)?;
            self.write_numeric_rows(
                conn,
                &[(
                    self.key.done_flag.clone(),
                    f64::from(ArchiveStatus::Error.code()),
                )],
            )
        })
    }

    /// The archive id.
    pub fn idarchive(&self) -> u32 {
        self.idarchive
    }

    /// Queues a numeric record. Zero is not stored (a missing numeric
    /// record reads as 0); values are rounded to 2 decimals.
    pub fn insert_numeric(&mut self, name: &str, value: f64) {
        let value = round2(value);
        if value != 0.0 && value.is_finite() {
            self.numeric.push((name.to_owned(), value));
        }
    }

    /// Queues a blob record: the table under `name`, its subtables in
    /// chunks of 100 under `name_chunk_<start>_<end>`. An empty table is
    /// not stored. The encoded blobs are written by
    /// [`ArchiveWriter::finish`].
    ///
    /// # Errors
    /// [`ArchiveError::Table`] when the table cannot be encoded.
    pub fn insert_table(&mut self, name: &str, table: &DataTable) -> Result<(), ArchiveError> {
        if table.rows_count() == 0 {
            return Ok(());
        }
        let encoded = encode_table(table)?;
        self.blobs.push((name.to_owned(), encoded.root));
        for chunk in encoded.chunks {
            let blob_name = chunk.blob_name(name);
            self.blobs.push((blob_name, chunk.bytes));
        }
        Ok(())
    }

    /// Inserts blob rows in statements of about [`BLOB_BATCH_BYTES`].
    fn write_blob_rows(
        &self,
        conn: &mut MysqlConnection,
        blobs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), ArchiveError> {
        let table = self.month.table(ArchiveKind::Blob);
        let mut blobs = blobs.into_iter().peekable();
        while blobs.peek().is_some() {
            let mut sql = format!(
                "INSERT INTO {table} (idarchive, name, idsite, date1, date2, period, ts_archived, value) VALUES "
            );
            let mut query_bytes = 0;
            let mut batch = Vec::new();
            while let Some((name, bytes)) =
                blobs.next_if(|_| batch.is_empty() || query_bytes < BLOB_BATCH_BYTES)
            {
                sql.push_str(if batch.is_empty() {
                    "(?,?,?,?,?,?,?,?)"
                } else {
                    ",(?,?,?,?,?,?,?,?)"
                });
                query_bytes += bytes.len();
                batch.push((name, bytes));
            }
            let mut query = diesel::sql_query(sql).into_boxed::<Mysql>();
            for (name, bytes) in batch {
                query = self.bind_common(query, name).bind::<Blob, _>(bytes);
            }
            query.execute(conn)?;
        }
        Ok(())
    }

    fn bind_common<'a>(
        &self,
        query: BoxedSqlQuery<'a, Mysql, diesel::query_builder::SqlQuery>,
        name: String,
    ) -> BoxedSqlQuery<'a, Mysql, diesel::query_builder::SqlQuery> {
        query
            .bind::<Unsigned<Integer>, _>(self.idarchive)
            .bind::<Text, _>(name)
            .bind::<Unsigned<Integer>, _>(self.key.idsite)
            .bind::<SqlDate, _>(self.key.period.start())
            .bind::<SqlDate, _>(self.key.period.end())
            .bind::<Unsigned<TinyInt>, _>(self.key.period.kind().code())
            .bind::<Datetime, _>(self.ts_archived)
    }

    fn write_numeric_rows(
        &self,
        conn: &mut MysqlConnection,
        rows: &[(String, f64)],
    ) -> Result<(), ArchiveError> {
        if rows.is_empty() {
            return Ok(());
        }
        let table = self.month.table(ArchiveKind::Numeric);
        for batch in rows.chunks(500) {
            let mut sql = format!(
                "INSERT INTO {table} (idarchive, name, idsite, date1, date2, period, ts_archived, value) VALUES "
            );
            for i in 0..batch.len() {
                sql.push_str(if i == 0 {
                    "(?,?,?,?,?,?,?,?)"
                } else {
                    ",(?,?,?,?,?,?,?,?)"
                });
            }
            // A record written twice keeps the last value.
            sql.push_str(" ON DUPLICATE KEY UPDATE value = VALUES(value)");
            let mut query = diesel::sql_query(sql).into_boxed::<Mysql>();
            for (name, value) in batch {
                query = self
                    .bind_common(query, name.clone())
                    .bind::<Double, _>(*value);
            }
            query.execute(conn)?;
        }
        Ok(())
    }

    /// Writes the queued records, sets the done flag to 1 (or to 4 when the
    /// archive was invalidated while it was being built) and deletes the
    /// older archives of the same key, all in one transaction: readers see
    /// the whole archive or none of it, and the archive costs one commit.
    ///
    /// # Errors
    /// Any database error; the archive then stays invisible.
    pub fn finish(mut self, conn: &mut MysqlConnection) -> Result<StoredArchive, ArchiveError> {
        let blobs = std::mem::take(&mut self.blobs);
        let numeric = std::mem::take(&mut self.numeric);
        let table = self.month.table(ArchiveKind::Numeric);
        let status = conn.transaction(|conn| -> Result<ArchiveStatus, ArchiveError> {
            self.write_blob_rows(conn, blobs)?;
            self.write_numeric_rows(conn, &numeric)?;
            // 2 -> 1 in the usual case: one statement, and its row count
            // says which case it was. Otherwise (6, invalidated meanwhile)
            // the flag becomes 4 and is read back. An UPDATE reads the
            // latest committed flag, whatever this transaction's snapshot.
            let finished = diesel::sql_query(format!(
                "UPDATE {table} SET value = 1 WHERE idarchive = ? AND name = ? AND value = 2"
            ))
            .bind::<Unsigned<Integer>, _>(self.idarchive)
            .bind::<Text, _>(&self.key.done_flag)
            .execute(conn)?;
            let status = if finished > 0 {
                ArchiveStatus::Ok
            } else {
                diesel::sql_query(format!(
                    "UPDATE {table} SET value = IF(value = 6, 4, 1) WHERE idarchive = ? AND name = ?"
                ))
                .bind::<Unsigned<Integer>, _>(self.idarchive)
                .bind::<Text, _>(&self.key.done_flag)
                .execute(conn)?;
                let value = diesel::sql_query(format!(
                    "SELECT value FROM {table} WHERE idarchive = ? AND name = ?"
                ))
                .bind::<Unsigned<Integer>, _>(self.idarchive)
                .bind::<Text, _>(&self.key.done_flag)
                .get_result::<ValueRow>(conn)?
                .value;
                status_of(value)
            };
            delete_older(conn, &self.key, self.month, self.idarchive)?;
            Ok(status)
        })?;
        Ok(StoredArchive {
            idarchive: self.idarchive,
            month: self.month,
            ts_archived: self.ts_archived,
            status,
        })
    }
}

/// Whether `error` says the month's tables or sequence row are missing.
fn lacks_tables(error: &ArchiveError) -> bool {
    match error {
        // next_archive_id: no sequence row for the month.
        ArchiveError::Db(diesel::result::Error::NotFound) => true,
        ArchiveError::Db(error) => is_missing_table(error),
        _ => false,
    }
}

#[derive(QueryableByName)]
struct ValueRow {
    #[diesel(sql_type = Double)]
    value: f64,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Unsigned<Integer>)]
    idarchive: u32,
}

fn status_of(value: f64) -> ArchiveStatus {
    // Done values are small integers stored as DOUBLE.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "0..=6"
    )]
    let code = value.clamp(0.0, 255.0) as u8;
    ArchiveStatus::from_code(code).unwrap_or(ArchiveStatus::Error)
}

/// Deletes the archives of `key` older than `idarchive` (both tables).
fn delete_older(
    conn: &mut MysqlConnection,
    key: &ArchiveKey,
    month: ArchiveMonth,
    idarchive: u32,
) -> Result<(), ArchiveError> {
    let numeric = month.table(ArchiveKind::Numeric);
    let older: Vec<u32> = diesel::sql_query(format!(
        "SELECT idarchive FROM {numeric} WHERE idsite = ? AND date1 = ? AND date2 = ? AND period = ? \
         AND name = ? AND idarchive < ?"
    ))
    .bind::<Unsigned<Integer>, _>(key.idsite)
    .bind::<SqlDate, _>(key.period.start())
    .bind::<SqlDate, _>(key.period.end())
    .bind::<Unsigned<TinyInt>, _>(key.period.kind().code())
    .bind::<Text, _>(&key.done_flag)
    .bind::<Unsigned<Integer>, _>(idarchive)
    .load::<IdRow>(conn)?
    .into_iter()
    .map(|row| row.idarchive)
    .collect();
    delete_archives(conn, month, &older)
}

fn delete_archives(
    conn: &mut MysqlConnection,
    month: ArchiveMonth,
    ids: &[u32],
) -> Result<(), ArchiveError> {
    for batch in ids.chunks(1000) {
        // Ids are integers we read: formatting them is not interpolating input.
        let list = batch
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        for kind in [ArchiveKind::Numeric, ArchiveKind::Blob] {
            let table = month.table(kind);
            diesel::sql_query(format!("DELETE FROM {table} WHERE idarchive IN ({list})"))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Finds the newest archive of `key` whose done flag is acceptable (1 or
/// 3; also 4 and 5 with `accept_invalidated`) and that was written at or
/// after `min_ts_archived`.
///
/// # Errors
/// Any database error. A month whose tables do not exist has no archive.
pub fn find_archive(
    conn: &mut MysqlConnection,
    key: &ArchiveKey,
    min_ts_archived: Option<PrimitiveDateTime>,
    accept_invalidated: bool,
) -> Result<Option<StoredArchive>, ArchiveError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Unsigned<Integer>)]
        idarchive: u32,
        #[diesel(sql_type = Double)]
        value: f64,
        #[diesel(sql_type = Datetime)]
        ts_archived: PrimitiveDateTime,
    }
    let month = key.month()?;
    let numeric = month.table(ArchiveKind::Numeric);
    let accepted = if accept_invalidated { "1,3,4,5" } else { "1,3" };
    let found = diesel::sql_query(format!(
        "SELECT idarchive, value, ts_archived FROM {numeric} \
         WHERE idsite = ? AND date1 = ? AND date2 = ? AND period = ? AND name = ? \
         AND value IN ({accepted}) ORDER BY idarchive DESC LIMIT 1"
    ))
    .bind::<Unsigned<Integer>, _>(key.idsite)
    .bind::<SqlDate, _>(key.period.start())
    .bind::<SqlDate, _>(key.period.end())
    .bind::<Unsigned<TinyInt>, _>(key.period.kind().code())
    .bind::<Text, _>(&key.done_flag)
    .get_result::<Found>(conn)
    .optional();
    // Readers look up every sub-period: asking for the month table first
    // doubled their queries. A month without tables has no archive.
    let found: Option<Found> = match found {
        Err(error) if is_missing_table(&error) => None,
        other => other?,
    };
    Ok(found
        .filter(|f| min_ts_archived.is_none_or(|min| f.ts_archived >= min))
        .map(|f| StoredArchive {
            idarchive: f.idarchive,
            month,
            ts_archived: f.ts_archived,
            status: status_of(f.value),
        }))
}

/// [`find_archive`] for several periods of one site and done flag, each
/// with its own `min_ts_archived`: one query per month table instead of
/// one per period (a month looks up its weeks and days, a year its
/// months). Answers in the order of `periods`.
///
/// # Errors
/// Any database error. A month whose tables do not exist has no archive.
pub fn find_archives(
    conn: &mut MysqlConnection,
    idsite: u32,
    done_flag: &str,
    periods: &[(Period, Option<PrimitiveDateTime>)],
    accept_invalidated: bool,
) -> Result<Vec<Option<StoredArchive>>, ArchiveError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Unsigned<Integer>)]
        idarchive: u32,
        #[diesel(sql_type = SqlDate)]
        date1: time::Date,
        #[diesel(sql_type = SqlDate)]
        date2: time::Date,
        #[diesel(sql_type = Unsigned<TinyInt>)]
        period: u8,
        #[diesel(sql_type = Double)]
        value: f64,
        #[diesel(sql_type = Datetime)]
        ts_archived: PrimitiveDateTime,
    }
    let mut by_month: HashMap<ArchiveMonth, Vec<usize>> = HashMap::new();
    for (index, (period, _)) in periods.iter().enumerate() {
        by_month
            .entry(ArchiveMonth::of(period.start())?)
            .or_default()
            .push(index);
    }
    let accepted = if accept_invalidated { "1,3,4,5" } else { "1,3" };
    let mut out = vec![None; periods.len()];
    for (month, indexes) in by_month {
        let numeric = month.table(ArchiveKind::Numeric);
        let starts = indexes.iter().map(|&i| periods[i].0.start());
        let (Some(first), Some(last)) = (starts.clone().min(), starts.max()) else {
            continue;
        };
        // Every archive of the flag starting in [first, last] (index
        // prefix idsite, date1), matched to the periods here: a month
        // holds a few dozen archives per site and flag.
        let found = diesel::sql_query(format!(
            "SELECT idarchive, date1, date2, period, value, ts_archived FROM {numeric} \
             WHERE idsite = ? AND date1 BETWEEN ? AND ? AND name = ? AND value IN ({accepted})"
        ))
        .bind::<Unsigned<Integer>, _>(idsite)
        .bind::<SqlDate, _>(first)
        .bind::<SqlDate, _>(last)
        .bind::<Text, _>(done_flag)
        .load::<Found>(conn);
        let found = match found {
            Err(error) if is_missing_table(&error) => continue,
            other => other?,
        };
        for index in indexes {
            let (period, min_ts_archived) = &periods[index];
            // The newest archive of the key, then the age check, as
            // find_archive's ORDER BY idarchive DESC LIMIT 1.
            let newest = found
                .iter()
                .filter(|f| {
                    f.date1 == period.start()
                        && f.date2 == period.end()
                        && f.period == period.kind().code()
                })
                .max_by_key(|f| f.idarchive);
            out[index] = newest
                .filter(|f| min_ts_archived.is_none_or(|min| f.ts_archived >= min))
                .map(|f| StoredArchive {
                    idarchive: f.idarchive,
                    month,
                    ts_archived: f.ts_archived,
                    status: status_of(f.value),
                });
        }
    }
    Ok(out)
}

/// MySQL's ER_NO_SUCH_TABLE (1146), which diesel reports by message only.
fn is_missing_table(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(_, info) if info.message().contains("doesn't exist")
    )
}

fn month_exists(conn: &mut MysqlConnection, month: ArchiveMonth) -> Result<bool, ArchiveError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // One indexed lookup in information_schema, not a listing of all tables:
    // readers ask this for every sub-period they load.
    let found: Found = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind::<Text, _>(month.table(ArchiveKind::Numeric).to_string())
    .get_result(conn)?;
    Ok(found.n > 0)
}

/// Every numeric record of an archive except its done flags.
///
/// # Errors
/// Any database error.
pub fn read_numeric_records(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
) -> Result<HashMap<String, f64>, ArchiveError> {
    #[derive(QueryableByName)]
    struct NumericRow {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Double)]
        value: f64,
    }
    let numeric = archive.month.table(ArchiveKind::Numeric);
    let rows: Vec<NumericRow> = diesel::sql_query(format!(
        "SELECT name, value FROM {numeric} WHERE idarchive = ? AND name NOT LIKE 'done%'"
    ))
    .bind::<Unsigned<Integer>, _>(archive.idarchive)
    .load(conn)?;
    Ok(rows.into_iter().map(|row| (row.name, row.value)).collect())
}

/// [`read_numeric_records`] of several archives, with one query per month
/// table.
///
/// # Errors
/// Any database error.
pub fn read_numeric_records_of(
    conn: &mut MysqlConnection,
    archives: &[StoredArchive],
) -> Result<HashMap<ArchiveId, HashMap<String, f64>>, ArchiveError> {
    #[derive(QueryableByName)]
    struct NumericRow {
        #[diesel(sql_type = Unsigned<Integer>)]
        idarchive: u32,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Double)]
        value: f64,
    }
    let mut out: HashMap<ArchiveId, HashMap<String, f64>> = archives
        .iter()
        .map(|a| ((a.month, a.idarchive), HashMap::new()))
        .collect();
    for (month, list) in ids_by_month(archives) {
        let numeric = month.table(ArchiveKind::Numeric);
        let rows: Vec<NumericRow> = diesel::sql_query(format!(
            "SELECT idarchive, name, value FROM {numeric} \
             WHERE idarchive IN ({list}) AND name NOT LIKE 'done%'"
        ))
        .load(conn)?;
        for row in rows {
            out.entry((month, row.idarchive))
                .or_default()
                .insert(row.name, row.value);
        }
    }
    Ok(out)
}

/// The ids of `archives` per month, as a comma-separated list: ids are
/// integers we read, so formatting them is not interpolating input.
fn ids_by_month(archives: &[StoredArchive]) -> HashMap<ArchiveMonth, String> {
    let mut out: HashMap<ArchiveMonth, String> = HashMap::new();
    for archive in archives {
        let list = out.entry(archive.month).or_default();
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(&archive.idarchive.to_string());
    }
    out
}

/// One numeric record of an archive; a missing record reads as 0.
///
/// # Errors
/// Any database error.
pub fn read_numeric(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
    name: &str,
) -> Result<f64, ArchiveError> {
    let numeric = archive.month.table(ArchiveKind::Numeric);
    let value: Option<ValueRow> = diesel::sql_query(format!(
        "SELECT value FROM {numeric} WHERE idarchive = ? AND name = ?"
    ))
    .bind::<Unsigned<Integer>, _>(archive.idarchive)
    .bind::<Text, _>(name)
    .get_result(conn)
    .optional()?;
    Ok(value.map_or(0.0, |v| v.value))
}

/// The stored blobs of one blob record: its root and its subtable chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableBlobs {
    /// The root table blob (stored under the record name).
    pub root: Vec<u8>,
    /// The `<record>_chunk_<start>_<end>` blobs.
    pub chunk_blobs: Vec<Vec<u8>>,
}

impl TableBlobs {
    /// The chunk blobs as slices, as the decoders take them.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.chunk_blobs.iter().map(Vec::as_slice)
    }
}

/// Reads blob record `name` of `archive` with all its subtables, or `None`
/// when the archive does not have it.
///
/// # Errors
/// The query error, or bytes that do not decode.
pub fn read_table(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
    name: &str,
) -> Result<Option<DataTable>, ArchiveError> {
    match read_table_blobs(conn, archive, name)? {
        Some(blobs) => Ok(Some(decode_tree(&blobs.root, blobs.chunks())?)),
        None => Ok(None),
    }
}

/// Reads the blobs of record `name` of `archive` (root and chunks)
/// without decoding them, or `None` when the archive does not have it.
///
/// # Errors
/// The query error.
pub fn read_table_blobs(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
    name: &str,
) -> Result<Option<TableBlobs>, ArchiveError> {
    #[derive(QueryableByName)]
    struct BlobRow {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Blob)]
        value: Vec<u8>,
    }
    let blob = archive.month.table(ArchiveKind::Blob);
    // `_` is a LIKE wildcard: the prefix is matched exactly with LEFT().
    let prefix = format!("{name}_chunk_");
    let rows: Vec<BlobRow> = diesel::sql_query(format!(
        "SELECT name, value FROM {blob} WHERE idarchive = ? \
         AND (name = ? OR LEFT(name, CHAR_LENGTH(?)) = ?)"
    ))
    .bind::<Unsigned<Integer>, _>(archive.idarchive)
    .bind::<Text, _>(name)
    .bind::<Text, _>(&prefix)
    .bind::<Text, _>(&prefix)
    .load(conn)?;
    let mut root = None;
    let mut chunk_blobs = Vec::with_capacity(rows.len());
    for row in rows {
        if row.name == name {
            root = Some(row.value);
        } else {
            chunk_blobs.push(row.value);
        }
    }
    Ok(root.map(|root| TableBlobs { root, chunk_blobs }))
}

/// Every blob row of `archive` (roots and chunks of all its records), by
/// name.
///
/// # Errors
/// The query error.
pub fn read_all_blobs(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    #[derive(QueryableByName)]
    struct BlobRow {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Blob)]
        value: Vec<u8>,
    }
    let blob = archive.month.table(ArchiveKind::Blob);
    let rows: Vec<BlobRow> = diesel::sql_query(format!(
        "SELECT name, value FROM {blob} WHERE idarchive = ? AND value IS NOT NULL"
    ))
    .bind::<Unsigned<Integer>, _>(archive.idarchive)
    .load(conn)?;
    Ok(rows.into_iter().map(|row| (row.name, row.value)).collect())
}

/// [`read_all_blobs`] of several archives, with one query per month table.
///
/// # Errors
/// The query error.
pub fn read_all_blobs_of(
    conn: &mut MysqlConnection,
    archives: &[StoredArchive],
) -> Result<HashMap<ArchiveId, NamedBlobs>, ArchiveError> {
    #[derive(QueryableByName)]
    struct BlobRow {
        #[diesel(sql_type = Unsigned<Integer>)]
        idarchive: u32,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Blob)]
        value: Vec<u8>,
    }
    let mut out: HashMap<ArchiveId, NamedBlobs> = archives
        .iter()
        .map(|a| ((a.month, a.idarchive), Vec::new()))
        .collect();
    for (month, list) in ids_by_month(archives) {
        let blob = month.table(ArchiveKind::Blob);
        let rows: Vec<BlobRow> = diesel::sql_query(format!(
            "SELECT idarchive, name, value FROM {blob} \
             WHERE idarchive IN ({list}) AND value IS NOT NULL"
        ))
        .load(conn)?;
        for row in rows {
            out.entry((month, row.idarchive))
                .or_default()
                .push((row.name, row.value));
        }
    }
    Ok(out)
}

/// Sets the done flag of the archives of `idsite` for `period` written
/// before `before` to invalidated: 1 → 4 (still served when archiving is
/// not allowed) and 2 → 6 (a running archive finishes as invalidated).
/// Archives written since are kept: they already saw the new data.
/// Returns the number of archives marked.
///
/// # Errors
/// Any database error.
pub fn mark_invalidated(
    conn: &mut MysqlConnection,
    idsite: u32,
    period: Period,
    before: PrimitiveDateTime,
) -> Result<usize, ArchiveError> {
    let month = ArchiveMonth::of(period.start())?;
    if !month_exists(conn, month)? {
        return Ok(0);
    }
    let numeric = month.table(ArchiveKind::Numeric);
    let changed = diesel::sql_query(format!(
        "UPDATE {numeric} SET value = IF(value = 2, 6, 4) \
         WHERE idsite = ? AND date1 = ? AND date2 = ? AND period = ? \
         AND name LIKE 'done%' AND value IN (1, 2, 3) AND ts_archived < ?"
    ))
    .bind::<Unsigned<Integer>, _>(idsite)
    .bind::<SqlDate, _>(period.start())
    .bind::<SqlDate, _>(period.end())
    .bind::<Unsigned<TinyInt>, _>(period.kind().code())
    .bind::<Datetime, _>(before)
    .execute(conn)?;
    Ok(changed)
}

/// What [`purge`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    /// Archives removed because they were invalidated and a newer usable
    /// archive of the same key exists.
    pub invalidated: usize,
    /// Archives removed because they never finished (done flag 2 or 6)
    /// and are older than the grace period.
    pub errored: usize,
    /// Range archives removed because they are older than a day.
    pub ranges: usize,
}

/// Purges every month's tables (`ArchivePurger`): invalidated archives that
/// a newer usable archive replaces, archives that never finished and are
/// older than `error_grace` before `now`, and range archives older than one
/// day (they are rebuilt on demand).
///
/// # Errors
/// Any database error.
pub fn purge(
    conn: &mut MysqlConnection,
    now: PrimitiveDateTime,
    error_grace: time::Duration,
) -> Result<PurgeReport, ArchiveError> {
    let mut report = PurgeReport::default();
    let months: Vec<ArchiveMonth> = tally_db::list_archive_tables(conn)?
        .into_iter()
        .filter(|t| t.kind() == ArchiveKind::Numeric)
        .map(|t| t.month())
        .collect();
    for month in months {
        let numeric = month.table(ArchiveKind::Numeric);
        let invalidated: Vec<u32> = diesel::sql_query(format!(
            "SELECT o.idarchive FROM {numeric} o JOIN {numeric} n \
               ON n.idsite = o.idsite AND n.date1 = o.date1 AND n.date2 = o.date2 \
              AND n.period = o.period AND n.name = o.name \
              AND n.idarchive > o.idarchive AND n.value IN (1, 3) \
             WHERE o.name LIKE 'done%' AND o.value = 4"
        ))
        .load::<IdRow>(conn)?
        .into_iter()
        .map(|row| row.idarchive)
        .collect();
        delete_archives(conn, month, &invalidated)?;
        report.invalidated += invalidated.len();

        let errored: Vec<u32> = diesel::sql_query(format!(
            "SELECT idarchive FROM {numeric} WHERE name LIKE 'done%' AND value IN (2, 6) \
             AND ts_archived < ?"
        ))
        .bind::<Datetime, _>(now - error_grace)
        .load::<IdRow>(conn)?
        .into_iter()
        .map(|row| row.idarchive)
        .collect();
        delete_archives(conn, month, &errored)?;
        report.errored += errored.len();

        let ranges: Vec<u32> = diesel::sql_query(format!(
            "SELECT idarchive FROM {numeric} WHERE name LIKE 'done%' AND period = 5 \
             AND ts_archived < ?"
        ))
        .bind::<Datetime, _>(now - time::Duration::days(1))
        .load::<IdRow>(conn)?
        .into_iter()
        .map(|row| row.idarchive)
        .collect();
        delete_archives(conn, month, &ranges)?;
        report.ranges += ranges.len();
    }
    Ok(report)
}
