//! The monthly archive tables `archive_numeric_YYYY_MM` and `archive_blob_YYYY_MM`.
//!
//! Their names are built at run time, so they cannot appear in `schema.rs`.
//! A name can only come from an [`ArchiveMonth`], which validates its year and
//! month: that is what makes interpolating it into SQL safe. Values are always
//! bound.

use std::fmt;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::DbError;
use crate::sequence;

/// A validated calendar month that archive tables can be named after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArchiveMonth {
    year: u16,
    month: u8,
}

impl ArchiveMonth {
    /// The earliest year we archive (Matomo refuses dates before 1991).
    pub const MIN_YEAR: i32 = 1991;
    /// The latest year a four-digit table suffix can name.
    pub const MAX_YEAR: i32 = 9999;

    /// A month from a year and a month number (1-12).
    ///
    /// # Errors
    /// [`DbError::InvalidArchiveMonth`] outside 1991-01..9999-12.
    pub fn new(year: i32, month: u8) -> Result<Self, DbError> {
        if !(Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year) || !(1..=12).contains(&month) {
            return Err(DbError::InvalidArchiveMonth { year, month });
        }
        let year = u16::try_from(year).map_err(|_| DbError::InvalidArchiveMonth { year, month })?;
        Ok(Self { year, month })
    }

    /// The month holding `date` (an archive lives in its period's start month).
    ///
    /// # Errors
    /// [`DbError::InvalidArchiveMonth`] for a year before 1991.
    pub fn of(date: time::Date) -> Result<Self, DbError> {
        Self::new(date.year(), u8::from(date.month()))
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1-12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// This month's table of the given kind.
    pub fn table(self, kind: ArchiveKind) -> ArchiveTable {
        ArchiveTable { month: self, kind }
    }

    /// The `sequence` row that allocates this month's `idarchive`s (the numeric
    /// table's name, as Matomo names it).
    pub fn sequence_name(self) -> String {
        self.table(ArchiveKind::Numeric).to_string()
    }
}

/// Numeric (DOUBLE values) or blob (MEDIUMBLOB values) archive table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArchiveKind {
    /// `archive_numeric_YYYY_MM`.
    Numeric,
    /// `archive_blob_YYYY_MM`.
    Blob,
}

impl ArchiveKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Numeric => "archive_numeric_",
            Self::Blob => "archive_blob_",
        }
    }
}

/// The name of one monthly archive table; displays as e.g. `archive_blob_2024_09`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArchiveTable {
    month: ArchiveMonth,
    kind: ArchiveKind,
}

impl ArchiveTable {
    /// The month this table holds.
    pub fn month(self) -> ArchiveMonth {
        self.month
    }

    /// Numeric or blob.
    pub fn kind(self) -> ArchiveKind {
        self.kind
    }

    /// Parses a table name such as `archive_numeric_2024_09`; `None` for any
    /// other name, including a month out of range.
    pub fn parse(name: &str) -> Option<Self> {
        let (kind, rest) = [ArchiveKind::Numeric, ArchiveKind::Blob]
            .into_iter()
            .find_map(|kind| name.strip_prefix(kind.prefix()).map(|rest| (kind, rest)))?;
        let (year, month) = rest.split_once('_')?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let month = ArchiveMonth::new(year.parse().ok()?, month.parse().ok()?).ok()?;
        Some(month.table(kind))
    }
}

impl fmt::Display for ArchiveTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{:04}_{:02}",
            self.kind.prefix(),
            self.month.year,
            self.month.month
        )
    }
}

/// Creates both archive tables of `month` and its `idarchive` sequence, if
/// missing (MATOMO.md section 4.8).
///
/// This is DDL: MySQL commits any open transaction before it. Call it before
/// starting the transaction that writes the archive.
///
/// # Errors
/// The query error.
pub fn create_archive_tables(conn: &mut MysqlConnection, month: ArchiveMonth) -> QueryResult<()> {
    let numeric = month.table(ArchiveKind::Numeric);
    let blob = month.table(ArchiveKind::Blob);
    conn.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {numeric} (
            idarchive INT UNSIGNED NOT NULL,
            name VARCHAR(190) NOT NULL,
            idsite INT UNSIGNED NULL,
            date1 DATE NULL,
            date2 DATE NULL,
            period TINYINT UNSIGNED NULL,
            ts_archived DATETIME NULL,
            value DOUBLE NULL,
            PRIMARY KEY (idarchive, name),
            INDEX index_idsite_dates_period (idsite, date1, date2, period, name(6)),
            INDEX index_period_archived (period, ts_archived)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
        CREATE TABLE IF NOT EXISTS {blob} (
            idarchive INT UNSIGNED NOT NULL,
            name VARCHAR(190) NOT NULL,
            idsite INT UNSIGNED NULL,
            date1 DATE NULL,
            date2 DATE NULL,
            period TINYINT UNSIGNED NULL,
            ts_archived DATETIME NULL,
            value MEDIUMBLOB NULL,
            PRIMARY KEY (idarchive, name),
            INDEX index_period_archived (period, ts_archived)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    ))?;
    sequence::create_sequence(conn, &month.sequence_name(), 0)
}

/// Lists the archive tables present in the current database, oldest month
/// first, numeric before blob.
///
/// # Errors
/// The query error.
pub fn list_archive_tables(conn: &mut MysqlConnection) -> QueryResult<Vec<ArchiveTable>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        table_name: String,
    }
    let names: Vec<Name> = diesel::sql_query(
        "SELECT TABLE_NAME AS table_name FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'archive\\_%'",
    )
    .load(conn)?;
    let mut tables: Vec<ArchiveTable> = names
        .iter()
        .filter_map(|n| ArchiveTable::parse(&n.table_name))
        .collect();
    tables.sort_by_key(|t| (t.month, t.kind));
    Ok(tables)
}

/// Allocates a new `idarchive` for `month` (tables must exist: see
/// [`create_archive_tables`]).
///
/// # Errors
/// [`diesel::result::Error::NotFound`] if the month's sequence is missing.
pub fn next_archive_id(conn: &mut MysqlConnection, month: ArchiveMonth) -> QueryResult<u32> {
    let id = sequence::next_id(conn, &month.sequence_name())?;
    // INT UNSIGNED column: 4 billion archives per month table.
    u32::try_from(id).map_err(|_| {
        diesel::result::Error::DeserializationError(
            format!("idarchive {id} exceeds INT UNSIGNED").into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let m = ArchiveMonth::new(2024, 9).unwrap();
        let t = m.table(ArchiveKind::Numeric);
        assert_eq!(t.to_string(), "archive_numeric_2024_09");
        assert_eq!(ArchiveTable::parse("archive_numeric_2024_09"), Some(t));
        assert_eq!(
            ArchiveTable::parse("archive_blob_1991_12").map(|t| t.to_string()),
            Some("archive_blob_1991_12".to_owned())
        );
    }

    #[test]
    fn invalid_months_are_rejected() {
        assert!(ArchiveMonth::new(2024, 0).is_err());
        assert!(ArchiveMonth::new(2024, 13).is_err());
        assert!(ArchiveMonth::new(1990, 12).is_err());
        assert!(ArchiveMonth::new(10000, 1).is_err());
        for bad in [
            "archive_numeric_2024_13",
            "archive_numeric_2024_9",
            "archive_numeric_24_09",
            "archive_blob_2024_09; DROP TABLE x",
            "archive_text_2024_09",
            "archive_numeric_+024_09",
        ] {
            assert_eq!(ArchiveTable::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn month_of_a_date() {
        let date = time::macros::date!(2024 - 09 - 30);
        assert_eq!(
            ArchiveMonth::of(date)
                .unwrap()
                .table(ArchiveKind::Blob)
                .to_string(),
            "archive_blob_2024_09"
        );
    }
}
