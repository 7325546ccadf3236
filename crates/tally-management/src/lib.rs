//! Sites, users, access levels, API tokens, goals and privacy.
//!
//! The management layer of Tally: everything an administrator changes, kept in
//! the configuration tables created by `tally-db`'s migrations. Query functions
//! take a `&mut MysqlConnection` so that the caller owns the transaction.
//!
//! The API lands with the reporting/management issue; this crate starts with
//! its error type.
#![deny(missing_docs)]

/// Errors from management operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagementError {
    /// No site has this id.
    #[error("site {idsite} does not exist")]
    UnknownSite {
        /// The id that was asked for.
        idsite: u32,
    },
    /// A database error.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}
