//! Web-server access log import.
//!
//! Reads access logs (common, combined, W3C, JSON formats and more), filters
//! them as Matomo's `import_logs.py` does and records them through the tracker
//! core (no HTTP), with per-file status and summaries so that an interrupted
//! import resumes where it stopped.
//!
//! - [`parse::LineParser`] turns one line into a borrowed [`LogLine`];
//!   [`format::detect`] guesses the [`LogFormat`] from a file's first lines.
//! - [`classify::Classifier`] applies the importer's rules (static files,
//!   downloads, bots, HTTP errors and redirects, path globs).
//! - [`import_files`] imports files with [`ImportOptions`] and returns an
//!   [`ImportReport`]; [`status`], [`export_day`] and [`mark_day`] serve the
//!   day pipeline (`queue` → `partial` → `loaded` → `pretable` →
//!   `calculated` → `done`).
//!
//! ```
//! use tally_logimport::{LineParser, LogFormat, Parsed};
//!
//! let mut parser = LineParser::new(&LogFormat::Combined, None)?;
//! let line = br#"1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] "GET /index.html HTTP/1.1" 200 368 "-" "Mozilla/5.0""#;
//! let Parsed::Line(l) = parser.parse(line) else { panic!("not a line") };
//! assert_eq!((l.path.as_ref(), l.status, l.time.offset), ("/index.html", 200, Some(-5 * 3600)));
//! # Ok::<(), tally_logimport::LogImportError>(())
//! ```
#![deny(missing_docs)]

use std::path::PathBuf;

pub use classify::{Classifier, FilterOptions, IgnoreReason, Tracked};
pub use days::{
    DayStatus, EXPORT_COLUMNS, ExportFormat, FileStatus, ImportStatus, export_day, mark_day, status,
};
pub use format::{LogFormat, UserRegex, detect};
pub use import::{
    BATCH_LINES, Counts, FileOutcome, FileReport, ImportOptions, ImportReport, LineError, Progress,
    SiteSelection, import_files, normalize_host, normalize_tracker_file, parse_request_suffix,
};
pub use parse::{
    Field, Invalid, LineParser, LogEvent, LogLine, LogTime, LogTimeZone, ParseOptions, Parsed,
    parse_date_with_offset,
};

pub mod classify;
mod days;
pub mod format;
mod import;
pub mod input;
pub mod parse;

/// Errors from reading or importing a log file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogImportError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file's path.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A format option that cannot be used (unknown name, bad regex, bad
    /// time zone).
    #[error("log format: {reason}")]
    Format {
        /// What is wrong.
        reason: String,
    },
    /// An import option with a value it cannot use (named as
    /// `import_logs.py` names it, e.g. `--request-suffix`).
    #[error("{option}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// No format matched the first lines of a file.
    #[error("cannot detect the log format of {path} from its first lines; give the format name")]
    Detect {
        /// The file.
        path: PathBuf,
    },
    /// The site is to be found by host, but the format logs no host.
    #[error("the format {format} of {path} has no host field: give an idsite or a log hostname")]
    NoHost {
        /// The file.
        path: PathBuf,
        /// The format's name.
        format: String,
    },
    /// `idsite` names no site.
    #[error("site {idsite} does not exist")]
    UnknownSite {
        /// The id given.
        idsite: u32,
    },
    /// A file was partly imported before and `resume` was not asked for.
    #[error(
        "{path} was partly imported before (line {lines_done}); import it with resume to continue"
    )]
    NeedsResume {
        /// The file.
        path: PathBuf,
        /// Lines committed so far.
        lines_done: u64,
    },
    /// A file being resumed no longer has the same content up to its
    /// committed offset.
    #[error("{path} changed since its import started: line {line} no longer ends at byte {offset}")]
    FileChanged {
        /// The file.
        path: PathBuf,
        /// The committed line count.
        line: u64,
        /// The committed offset.
        offset: u64,
    },
    /// The recorder refused or lost the hits of a batch (database down).
    #[error("recording the batch of {path} ending at line {line} failed")]
    Record {
        /// The file.
        path: PathBuf,
        /// The batch's last line.
        line: u64,
        /// The tracker's error.
        #[source]
        source: tally_tracking::TrackingError,
    },
    /// The writer thread stopped (its own error is reported instead).
    #[error("the import's writer thread stopped")]
    WriterStopped,
    /// A day that is not `loaded` yet (some of its files are not completed)
    /// cannot be exported.
    #[error(
        "day {date} of site {idsite} is `{status}`, not loaded: not all of its files are imported"
    )]
    DayNotLoaded {
        /// The site.
        idsite: u32,
        /// The day.
        date: time::Date,
        /// Its status (`none` when no file touched it).
        status: String,
    },
    /// A day status change that the pipeline does not allow.
    #[error("day {date} of site {idsite} cannot go from `{from}` to `{to}`")]
    DayTransition {
        /// The site.
        idsite: u32,
        /// The day.
        date: time::Date,
        /// Its status.
        from: String,
        /// The status asked for.
        to: String,
    },
    /// Writing an export failed.
    #[error("cannot write the export of day {date} of site {idsite}")]
    Export {
        /// The site.
        idsite: u32,
        /// The day.
        date: time::Date,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A database error.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// No database connection.
    #[error(transparent)]
    Pool(#[from] diesel::r2d2::PoolError),
}
