//! Archiving: turning raw logs into reports.
//!
//! Periods in a site's time zone, the `RecordBuilder` plugin interface, the
//! archive processor and the archive storage in the monthly
//! `archive_numeric_YYYY_MM` / `archive_blob_YYYY_MM` tables (created through
//! `tally-db`).
#![deny(missing_docs)]

pub mod builders;
pub mod context;
pub mod grouping;
pub mod invalidation;
pub mod logs;
pub mod period;
pub mod processor;
pub mod record;
pub mod scheduler;
pub mod segment;
pub mod site;
pub mod storage;
pub mod visit_frequency;

/// `docs/PLUGINS.md`: its example plugin runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/PLUGINS.md")]
pub struct PluginsGuide;

pub use context::{DayContext, Output, PeriodContext, SharedScan, SubArchive};
pub use logs::LogAggregator;
pub use period::Period;
pub use processor::{Archiver, ArchivingConfig, Outcome};
pub use record::{
    BuilderProvider, CountOfRows, Record, RecordBuilder, RecordKind, Registry,
    RenameAfterAggregation,
};
pub use site::SiteInfo;
pub use storage::{ArchiveKey, StoredArchive};

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
    /// A period or date parameter we cannot use.
    #[error("invalid period: {0}")]
    InvalidPeriod(String),
    /// No site with this id.
    #[error("no site with idsite {0}")]
    UnknownSite(u32),
    /// A report table could not be built, merged or stored.
    #[error(transparent)]
    Table(#[from] tally_datatable::DataTableError),
    /// A builder broke the contract of `RecordBuilder`.
    #[error("record builder: {0}")]
    Builder(String),
    /// A segment definition we cannot use (unknown name, bad syntax).
    #[error(transparent)]
    Segment(#[from] segment::SegmentError),
}
