//! The Matomo-compatible Reporting API.
//!
//! `index.php?module=API&method=Plugin.method&...` over archived reports
//! (MATOMO.md section 9): authentication through `tally-management`, site,
//! period and date resolution, archives read (or built on demand) through
//! `tally-archiving`, the DataTable filters, processed metrics and the four
//! renderings of `tally-datatable`.
//!
//! - [`Api`]: answers one [`ApiRequest`] with an [`ApiResponse`]; blocking
//!   (it runs diesel queries), so async callers use `spawn_blocking`.
//! - [`http::router`]: the axum routes `/index.php` and `/`.
#![deny(missing_docs)]

pub mod api;
mod columns;
mod compare;
mod dimensions_admin;
mod formatting;
pub mod http;
mod live;
mod load;
mod manage;
mod meta;
mod methods;
mod multisites;
mod notes;
mod output;
mod overview;
mod pivot;
mod present;
mod privacy;
mod processed;
pub mod request;
mod row_evolution;
mod rss;
mod segment_meta;
mod subtables;
mod transitions;

pub use api::{Api, ApiResponse, ReportingConfig};
pub use output::Format;
pub use request::ApiRequest;
pub use transitions::MaxPeriodAllowed;

use tally_archiving::ArchiveError;
use tally_datatable::DataTableError;
use tally_management::ManagementError;

/// Errors answered by the Reporting API, rendered in the requested format
/// with Matomo's messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportingError {
    /// `method=` names no method of a known module.
    #[error(
        "The method '{method}' does not exist or is not available in the module '\\Piwik\\Plugins\\{module}\\API'."
    )]
    UnknownMethod {
        /// The method part of `method=`.
        method: String,
        /// The module part.
        module: String,
    },
    /// `method=` names a module we do not have.
    #[error("API module {module} not found.")]
    UnknownModule {
        /// The module part of `method=`.
        module: String,
    },
    /// `API.getRowEvolution` named a report we do not have (Matomo's
    /// message).
    #[error(
        "Requested report {module}.{action} for Website id={idsite} not found in the list of available reports."
    )]
    UnknownReport {
        /// `apiModule`.
        module: String,
        /// `apiAction`.
        action: String,
        /// The site asked about.
        idsite: u32,
    },
    /// `module=` is not `API`.
    #[error("only module=API is served here (got '{module}')")]
    NotApi {
        /// The value sent.
        module: String,
    },
    /// A required parameter is missing.
    #[error("Please specify a value for '{0}'.")]
    MissingParameter(String),
    /// A parameter value we cannot use.
    #[error("invalid value for '{name}': {reason}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// Why.
        reason: String,
    },
    /// `API.getSuggestedValuesForSegment` of a segment the site does not
    /// have (Matomo's message).
    #[error("Requested segment {name} not found.")]
    SegmentNotFound {
        /// `segmentName`.
        name: String,
    },
    /// A segment report the archiver has not built yet, over visits that
    /// match, while browser archiving is off and
    /// `browser_archiving_disabled_enforce` keeps segments from being
    /// archived on request (SegmentEditor's `UnprocessedSegmentException`,
    /// with Matomo's English messages).
    #[error("{}", unprocessed_segment_message(stored_name.as_deref()))]
    UnprocessedSegment {
        /// The stored segment's name, `None` for a definition that is not
        /// stored (a "custom" segment).
        stored_name: Option<String>,
    },
    /// A request Matomo also refuses, with Matomo's message.
    #[error("{0}")]
    NotSupported(String),
    /// `format=` names no renderer.
    #[error(
        "Renderer format '{0}' not valid. Try any of the following instead: json, xml, csv, tsv, html, original, rss."
    )]
    InvalidFormat(String),
    /// `format=rss` of an answer that is not a report over several periods
    /// of one site (Matomo's message).
    #[error(
        "RSS feeds can be generated for one specific website &idSite=X.\nPlease specify only one idSite or consider using &format=XML instead."
    )]
    RssNeedsPeriods,
    /// `format=original&serialize=1` of a report (or `format=original` of
    /// `API.getProcessedReport`): Matomo would send PHP's serialization or
    /// export of its `DataTable` objects, which we do not imitate.
    #[error(
        "format=original cannot send this result: Matomo would send the internals of PHP DataTable objects. Use format=original without serialize=1 (an HTML table), or format=json, xml, csv or tsv."
    )]
    PhpObject,
    /// A renderer cannot show the result (Matomo's message).
    #[error(transparent)]
    Render(#[from] tally_datatable::render::RenderError),
    /// Access or management failure (its message is Matomo's).
    #[error(transparent)]
    Management(#[from] ManagementError),
    /// Archives could not be read or built.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// A table filter parameter was invalid.
    #[error(transparent)]
    Table(#[from] DataTableError),
    /// No connection could be taken from the pool.
    #[error("database unavailable")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A database error outside archiving.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// The message of [`ReportingError::UnprocessedSegment`].
fn unprocessed_segment_message(stored_name: Option<&str>) -> String {
    const VISITOR_LOG: &str = "(If it does not, there may be a problem.) Please note that you can \
        test whether your segment will work without having to wait for it to be processed by \
        using the Live.getLastVisitsDetails API. When using this API method, you will see which \
        users and actions were matched by your &segment= parameter. This can help you confirm \
        your Segment matches the users and actions you expect it to.";
    match stored_name {
        None => format!(
            "The Segment you requested has not yet been created in the Segment Editor and so the \
             report data has not been pre-processed. To see data for this segment, you must go \
             to Matomo and create this segment manually in the Segment Editor. (Alternatively, \
             you can create a new segment programmatically using the SegmentEditor.add API \
             method). Once created the segment in the editor (or via API), this error message \
             will disappear and within a few hours you will see your segmented report data, \
             after the segment data has been pre-processed. {VISITOR_LOG}"
        ),
        Some(name) => format!(
            "These reports have no data, because the Segment you requested ({name}) has not yet \
             been processed by the system. Data for this Segment should become available in a \
             few hours when processing completes. {VISITOR_LOG}"
        ),
    }
}

impl ReportingError {
    /// The HTTP status Matomo answers the error with: 401 for missing
    /// access, 400 for an unknown method or report, 200 for the rest (Matomo's API
    /// errors are normally 200 with an error body), 503 when the database
    /// is down.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::UnknownMethod { .. } | Self::UnknownReport { .. } | Self::PhpObject => 400,
            Self::Management(
                ManagementError::NoAccess { .. }
                | ManagementError::NoAccessToAnySite { .. }
                | ManagementError::SuperUserOrSelfRequired { .. }
                | ManagementError::SuperUserRequired
                | ManagementError::InvalidToken,
            ) => 401,
            Self::Pool(_) => 503,
            _ => 200,
        }
    }
}

/// Every report method served, as `Module.method`.
pub fn report_methods() -> impl Iterator<Item = String> {
    methods::REPORT_METHODS
        .iter()
        .map(|(module, method, _)| format!("{module}.{method}"))
}
