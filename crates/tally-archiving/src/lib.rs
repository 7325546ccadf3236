//! Archiving: turning raw logs into reports.
//!
//! Periods in a site's time zone, the `RecordBuilder` plugin interface, the
//! archive processor and the archive storage in the monthly
//! `archive_numeric_YYYY_MM` / `archive_blob_YYYY_MM` tables (created through
//! `tally-db`). The processor lands with the archiving issue; this crate
//! starts with its error type.
#![deny(missing_docs)]

/// Errors from archiving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// A database error.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// A table-level error from `tally-db`.
    #[error(transparent)]
    Storage(#[from] tally_db::DbError),
}
