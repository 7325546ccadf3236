//! Matomo-compatible report tables.
//!
//! A `DataTable` report is a list of rows, each with a label, metric
//! columns, metadata and an optional subtable. This crate owns the structure,
//! its aggregation, its storage format (bincode + flate2 behind a versioned,
//! checksummed header) and its renderings (JSON, XML, CSV, TSV) in Matomo's
//! shapes. It contains no database code.
//!
//! The full implementation lands with the DataTable issue; this crate starts
//! with its error type so that dependants can already name it.
#![deny(missing_docs)]

/// Errors from decoding, aggregating or rendering report tables.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataTableError {
    /// Stored bytes are not a table we wrote (wrong magic or version).
    #[error("not a tally datatable blob (format version {found})")]
    UnknownFormat {
        /// The version byte found in the header.
        found: u8,
    },
}
