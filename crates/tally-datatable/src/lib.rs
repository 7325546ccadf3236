//! Matomo-compatible report tables.
//!
//! A [`DataTable`] report is a list of [`Row`]s, each with a label, metric
//! columns, metadata and an optional subtable, plus an optional summary
//! ("Others") row. This crate owns the structure, its aggregation
//! ([`DataTable::merge`], [`DataTable::truncate`]), the API filters
//! ([`Filters`]), its storage format ([`storage`]: bincode + flate2 behind a
//! versioned, checksummed header) and its renderings ([`render`]: JSON, XML,
//! CSV, TSV) in Matomo's shapes. It contains no database code.
//!
//! ```
//! use tally_datatable::{DataTable, Row, render};
//!
//! let mut table = DataTable::new();
//! table.add_row(Row::new("Firefox").with(2u16, 3).with(1u16, 2))?;
//! let json = render::json(&render::Report::Table(table), &render::RenderOptions::default());
//! assert_eq!(json, r#"[{"label":"Firefox","nb_visits":3,"nb_uniq_visitors":2}]"#);
//! # Ok::<(), tally_datatable::DataTableError>(())
//! ```
#![deny(missing_docs)]

pub use accumulate::{InflatedTable, TableSum};
pub use filters::{Filters, ReportSettings};
pub use row::{ColumnOp, Row, SUMMARY_ROW_LABEL};
pub use sort::natural_cmp_ci;
pub use table::{AggregationOps, DataTable, SortOrder};
pub use value::{ColumnKey, Columns, GoalColumns, Goals, Metadata, OrderedMap, Scalar, Value};

mod accumulate;
pub mod filters;
pub mod format;
pub mod metrics;
pub mod render;
mod row;
mod sort;
pub mod storage;
mod table;
mod value;

/// Errors from decoding, aggregating, filtering or rendering report tables.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataTableError {
    /// Stored bytes are not a table we wrote (wrong magic or version).
    #[error("not a tally datatable blob (format version {found})")]
    UnknownFormat {
        /// The version byte found in the header.
        found: u8,
    },
    /// Stored bytes do not start with our magic bytes.
    #[error("not a tally datatable blob (bad magic bytes)")]
    BadMagic,
    /// Stored bytes end before the header says they should.
    #[error("datatable blob truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the header announces.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The blob's checksum does not match its contents.
    #[error(
        "datatable blob failed its checksum (stored {stored:#010x}, computed {computed:#010x})"
    )]
    Checksum {
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the bytes read.
        computed: u32,
    },
    /// A blob announces or decompresses to more bytes than we accept.
    #[error("datatable blob too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// The announced or observed size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The blob is of another kind than expected (root table vs chunk).
    #[error("datatable blob holds a {found}, expected a {expected}")]
    WrongKind {
        /// What the caller expected.
        expected: &'static str,
        /// What the header says.
        found: &'static str,
    },
    /// Compression failed.
    #[error("datatable blob does not compress")]
    Compress(#[source] std::io::Error),
    /// Decompression failed.
    #[error("datatable blob does not decompress")]
    Decompress(#[source] std::io::Error),
    /// The decompressed bytes are not a valid encoded table.
    #[error("datatable blob does not decode")]
    Decode(#[source] bincode::error::DecodeError),
    /// Encoding a table failed.
    #[error("datatable does not encode")]
    Encode(#[source] bincode::error::EncodeError),
    /// The decompressed size differs from the header's.
    #[error("datatable blob decompressed to {actual} bytes, header says {expected}")]
    LengthMismatch {
        /// Size in the header.
        expected: u64,
        /// Size observed.
        actual: u64,
    },
    /// A chunk index is inconsistent.
    #[error("datatable chunk index is corrupt: {0}")]
    CorruptChunk(&'static str),
    /// A subtable id is referenced but not present in the given chunks.
    #[error("subtable {id} not found")]
    SubtableNotFound {
        /// The missing subtable id.
        id: u32,
    },
    /// Subtables nest deeper than we accept.
    #[error("subtables nest deeper than {limit} levels")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// Summing met a number and a non-numeric value (Matomo throws here).
    #[error("cannot sum column `{column}` of row `{label}`: a number and a non-numeric value")]
    UnsummableColumn {
        /// The column name.
        column: String,
        /// The row label.
        label: String,
    },
    /// An API filter parameter has a value we cannot use.
    #[error("invalid value `{value}` for parameter `{parameter}`: {reason}")]
    InvalidParameter {
        /// The parameter name, e.g. `filter_limit`.
        parameter: String,
        /// The value given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// An invariant of this crate broke; a bug.
    #[error("internal datatable error: {0}")]
    Internal(&'static str),
}
