//! VisitFrequency: new versus returning visits (MATOMO.md section 7.5).
//!
//! The plugin has no records of its own. `VisitFrequency.get` answers with
//! the VisitsSummary metrics of two segments, suffixed `_new` and
//! `_returning`; Matomo builds those VisitsSummary archives as dependent
//! archives of every archiving run. [`archive`] builds the same two
//! single-plugin archives (`done<hash>.VisitsSummary`), which the
//! scheduler runs after every plain archive it builds.

use diesel::MysqlConnection;
use time::OffsetDateTime;

use crate::ArchiveError;
use crate::period::Period;
use crate::processor::{Archiver, Outcome};
use crate::segment::Segment;
use crate::site::SiteInfo;

/// The segment of new visits.
pub const NEW: &str = "visitorType==new";

/// The segment of returning visits (returning customers included).
pub const RETURNING: &str = "visitorType==returning,visitorType==returningCustomer";

/// The plugin whose archives VisitFrequency reads.
pub const PLUGIN: &str = "VisitsSummary";

/// The two segments with the suffix their metrics take in
/// `VisitFrequency.get`.
///
/// # Errors
/// [`ArchiveError::Segment`] if a definition stopped parsing (a bug).
pub fn segments() -> Result<[(&'static str, Segment); 2], ArchiveError> {
    Ok([
        ("_new", Segment::parse(NEW)?),
        ("_returning", Segment::parse(RETURNING)?),
    ])
}

/// One segment's archive, or the error building it.
pub type SegmentOutcome = (Segment, Result<Outcome, ArchiveError>);

/// Builds (or reuses, as [`Archiver::archive`] does) the VisitsSummary
/// archives of new and of returning visits for `period`; each segment's
/// result on its own, so that one failing does not hide the other.
///
/// # Errors
/// [`ArchiveError::Segment`] if a definition stopped parsing (a bug); each
/// archive's own error is in its result.
pub fn archive(
    archiver: &Archiver<'_>,
    conn: &mut MysqlConnection,
    site: &SiteInfo,
    period: Period,
    now: OffsetDateTime,
    force: bool,
) -> Result<Vec<SegmentOutcome>, ArchiveError> {
    Ok(segments()?
        .into_iter()
        .map(|(_, segment)| {
            let outcome =
                archiver.archive_plugin_segment(conn, site, period, &segment, PLUGIN, now, force);
            (segment, outcome)
        })
        .collect())
}
