//! The Matomo-compatible Reporting API.
//!
//! `index.php?module=API&method=Plugin.method&...` over archived reports:
//! authentication, date and period resolution, DataTable filters, processed
//! metrics and rendering. The HTTP router lands with the reporting issue; this
//! crate starts with its error type.
#![deny(missing_docs)]

/// Errors answered by the Reporting API (rendered in the requested format).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportingError {
    /// `method=` names no known API method.
    #[error("the method '{method}' does not exist or is not available in the module")]
    UnknownMethod {
        /// The method as requested.
        method: String,
    },
}
