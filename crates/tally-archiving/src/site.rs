//! What archiving needs to know about a site.

use diesel::prelude::*;
use tally_schema::schema::{custom_dimensions, goal, site};
use tally_schema::tz::SiteTimeZone;
use time::Date;

use crate::ArchiveError;
use crate::segment::{CustomDimension, DimensionScope, Segment, SegmentContext, SegmentError};

/// A site as archiving sees it: its time zone, creation date and the
/// configuration parameterized builders read (goals, ecommerce, custom
/// dimensions).
#[derive(Debug, Clone)]
pub struct SiteInfo {
    /// `site.idsite`.
    pub idsite: u32,
    /// The site's time zone; periods are calendar periods in it.
    pub timezone: SiteTimeZone,
    /// The local date the site was created: earlier dates have no data.
    pub created: Option<Date>,
    /// Whether the site is an ecommerce site.
    pub ecommerce: bool,
    /// Ids of the site's active goals.
    pub goals: Vec<u32>,
    /// The site's active custom dimensions (one report each, and the
    /// `dimension<id>` segment names).
    pub custom_dimensions: Vec<CustomDimension>,
}

impl SiteInfo {
    /// Parses a segment definition for this site: its custom dimensions
    /// are segment names too (`dimension<id>`).
    ///
    /// # Errors
    /// As [`Segment::parse_with`].
    pub fn parse_segment(&self, definition: &str) -> Result<Segment, SegmentError> {
        Segment::parse_with(
            definition,
            &SegmentContext {
                custom_dimensions: self.custom_dimensions.clone(),
            },
        )
    }

    /// A site in `timezone` without goals, for callers that build one by hand.
    pub fn new(idsite: u32, timezone: &str) -> Self {
        Self {
            idsite,
            timezone: SiteTimeZone::parse(timezone),
            created: None,
            ecommerce: false,
            goals: Vec::new(),
            custom_dimensions: Vec::new(),
        }
    }

    /// Loads site `idsite`.
    ///
    /// # Errors
    /// [`ArchiveError::UnknownSite`] when there is no such site, or the
    /// query error.
    pub fn load(conn: &mut MysqlConnection, idsite: u32) -> Result<Self, ArchiveError> {
        let row: Option<(String, Option<time::PrimitiveDateTime>, Option<i8>)> = site::table
            .filter(site::idsite.eq(idsite))
            .select((site::timezone, site::ts_created, site::ecommerce))
            .first(conn)
            .optional()?;
        let (timezone, ts_created, ecommerce) = row.ok_or(ArchiveError::UnknownSite(idsite))?;
        let timezone = SiteTimeZone::parse(&timezone);
        let created = ts_created.map(|ts| timezone.local_date(ts.assume_utc().unix_timestamp()));
        // goal.idsite is a signed INT in Matomo's schema.
        let goal_site = i32::try_from(idsite).map_err(|_| ArchiveError::UnknownSite(idsite))?;
        let goals = goal::table
            .filter(goal::idsite.eq(goal_site))
            .filter(goal::deleted.eq(0))
            .select(goal::idgoal)
            .order(goal::idgoal)
            .load::<i32>(conn)?
            .into_iter()
            .filter_map(|id| u32::try_from(id).ok())
            .collect();
        Ok(Self {
            idsite,
            timezone,
            created,
            ecommerce: ecommerce.unwrap_or(0) != 0,
            goals,
            custom_dimensions: list_active_custom_dimensions(conn, idsite)?,
        })
    }

    /// Ids of every site, ascending.
    ///
    /// # Errors
    /// The query error.
    pub fn all_ids(conn: &mut MysqlConnection) -> Result<Vec<u32>, ArchiveError> {
        Ok(site::table
            .select(site::idsite)
            .order(site::idsite)
            .load(conn)?)
    }
}

/// The active custom dimensions of site `idsite`, by id.
///
/// # Errors
/// The query error.
fn list_active_custom_dimensions(
    conn: &mut MysqlConnection,
    idsite: u32,
) -> Result<Vec<CustomDimension>, ArchiveError> {
    let rows: Vec<(u64, u16, String)> = custom_dimensions::table
        .filter(custom_dimensions::idsite.eq(u64::from(idsite)))
        .filter(custom_dimensions::active.eq(1))
        .select((
            custom_dimensions::idcustomdimension,
            custom_dimensions::index,
            custom_dimensions::scope,
        ))
        .order(custom_dimensions::idcustomdimension)
        .load(conn)?;
    // Rows the admin API cannot write (an id or index out of range, an
    // unknown scope) have no report.
    Ok(rows
        .into_iter()
        .filter_map(|(id, index, scope)| {
            let scope = match scope.as_str() {
                "visit" => DimensionScope::Visit,
                "action" => DimensionScope::Action,
                _ => return None,
            };
            Some(CustomDimension {
                id: u32::try_from(id).ok()?,
                index: u8::try_from(index).ok()?,
                scope,
            })
        })
        .collect())
}
