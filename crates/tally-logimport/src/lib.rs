//! Web-server access log import.
//!
//! Reads access logs (common, combined, W3C, JSON formats and more), filters
//! them as Matomo's `import_logs.py` does and records them through the tracker
//! core, with per-file status and summaries so that an interrupted import
//! resumes without counting a line twice. The importer lands with the log
//! import issue; this crate starts with its error type.
#![deny(missing_docs)]

/// Errors from reading or importing a log file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogImportError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file's path.
        path: std::path::PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}
