//! Tally's database schema: what the tables are and what their values mean.
//!
//! - [`schema`]: the diesel `table!` definitions, generated from the
//!   migrations (never edited by hand; a test in `tally-db` regenerates and
//!   compares it).
//! - [`models`]: one module per table with its row struct, its insert struct
//!   (`NewX`, borrowing strings) and, where rows change, a changeset.
//! - [`codes`]: Matomo's codes ([`ActionType`], [`ReferrerType`],
//!   [`PeriodKind`], [`ArchiveStatus`], [`Access`], goal match enums).
//! - [`tz`]: a site's time zone (IANA with DST, or Matomo's `UTC+N`).
//! - [`geo`]: countries and Matomo's continents.
//! - [`devices`]: DeviceDetector's browser and operating system names.
//! - [`ids`]: id newtypes ([`SiteId`], [`VisitId`], ...) and the 8-byte
//!   [`VisitorId`].
//!
//! Table and column names are Matomo 5's without the `matomo_` prefix.
//!
//! ```
//! use tally_schema::{ActionType, PeriodKind, VisitorId};
//!
//! assert_eq!(ActionType::from_code(4)?, ActionType::PageTitle);
//! assert_eq!(PeriodKind::Week.code(), 2);
//! let id = VisitorId::from_hex("5f3a9c0e12ab34cd").expect("16 hex digits");
//! assert_eq!(id.to_hex(), "5f3a9c0e12ab34cd");
//! # Ok::<(), tally_schema::SchemaError>(())
//! ```
#![deny(missing_docs)]

pub mod codes;
mod coordinate;
pub mod devices;
pub mod geo;
pub mod ids;
pub mod lang;
#[expect(
    missing_docs,
    reason = "fields are the columns of the same name, documented in the migrations"
)]
pub mod models;
#[allow(missing_docs)] // generated
pub mod schema;
pub mod tz;

pub use codes::{
    Access, ActionType, ArchiveStatus, GoalMatchAttribute, GoalPatternType, IDGOAL_ECOMMERCE_CART,
    IDGOAL_ECOMMERCE_ORDER, PeriodKind, ReferrerType,
};
pub use coordinate::Coordinate;
pub use ids::{ActionId, ArchiveId, GoalId, LinkVisitActionId, SiteId, VisitId, VisitorId};

/// Errors from interpreting stored values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A stored integer code Matomo does not define.
    #[error("unknown {what} code {code}")]
    UnknownCode {
        /// Which kind of code.
        what: &'static str,
        /// The code found.
        code: i64,
    },
    /// A name Matomo does not define.
    #[error("unknown {what} `{name}`")]
    UnknownName {
        /// Which kind of name.
        what: &'static str,
        /// The name found.
        name: String,
    },
}
