//! VisitTime: visits by hour of the visitor's local time and of the site's
//! time (MATOMO.md section 7.5; Matomo's
//! `plugins/VisitTime/RecordBuilders/{LocalTime,ServerTime}.php`).

use tally_datatable::{ColumnKey, DataTable, Row, SortOrder, Value, metrics};
use tally_schema::tz::SiteTimeZone;
use time::PrimitiveDateTime;

use crate::ArchiveError;
use crate::builders::goals::{enrich_with_goal_sums, goal_metric_columns};
use crate::builders::{label_of, sum_visits};
use crate::context::{DayContext, SharedScan};
use crate::grouping::group_visit_dimensions;
use crate::logs::VisitGroup;
use crate::record::{Record, RecordBuilder};

/// [`VisitTime::LOCAL_TIME`] and [`VisitTime::SERVER_TIME`].
///
/// Both tables have a row for every hour `0` to `23` (hours without visits
/// get zeros), sorted by hour, with the 8 visit metrics keyed by id (1, 2,
/// 3, 39, 4, 5, 6, 7). Local time is `HOUR(visitor_localtime)`; a visit
/// without a local time gets a row with the empty label, as Matomo's NULL
/// label does, sorted first. Server time is `HOUR(visit_first_action_time)`
/// (UTC) moved into the site's time zone with the offset in effect at
/// that hour of the UTC date on which the local day starts, as Matomo
/// converts it; two UTC hours landing on the same local hour (a DST
/// change) are summed. Longer periods use the default aggregation.
///
/// Server time rows also carry goal metrics (column 10 per goal, then the
/// `nb_conversions` / `revenue` sums) by `HOUR(log_conversion.server_time)`
/// moved into the site's zone the same way, as Matomo's ServerTime builder.
#[derive(Debug, Clone, Copy, Default)]
pub struct VisitTime;

impl VisitTime {
    /// Visits by hour of the visitor's clock.
    pub const LOCAL_TIME: &'static str = "VisitTime_localTime";
    /// Visits by hour of their first action in the site's time zone.
    pub const SERVER_TIME: &'static str = "VisitTime_serverTime";
}

/// The server hour of each conversion, for the goal metrics of the server
/// time report (Matomo's ServerTime builder).
const CONVERSION_HOUR: &str = "HOUR(log_conversion.server_time)";

const SECONDS_PER_HOUR: i64 = 3_600;
const SECONDS_PER_DAY: i64 = 86_400;

/// The site-time hour of UTC hour `utc_hour`, for a day whose first instant
/// is `day_start` (UTC). Matomo converts `<UTC date of day_start>
/// <utc_hour>:00:00` from UTC to the site's zone and keeps the hour.
fn site_hour(utc_hour: i64, day_start: PrimitiveDateTime, timezone: &SiteTimeZone) -> i64 {
    let midnight = day_start.date().midnight().assume_utc().unix_timestamp();
    let offset = i64::from(
        timezone
            .offset_at(midnight + utc_hour * SECONDS_PER_HOUR)
            .seconds(),
    );
    (utc_hour * SECONDS_PER_HOUR + offset).rem_euclid(SECONDS_PER_DAY) / SECONDS_PER_HOUR
}

/// A table of `groups` (already labelled) with every hour present and the
/// rows sorted by label, as Matomo's `ensureAllHoursAreSet` and label sort.
fn hours_table<'g>(
    groups: impl IntoIterator<Item = (String, &'g VisitGroup)>,
) -> Result<DataTable, ArchiveError> {
    let mut table = DataTable::new();
    for (label, group) in groups {
        sum_visits(&mut table, &label, group)?;
    }
    fill_hours(&mut table)?;
    Ok(table)
}

/// `ensureAllHoursAreSet` then the label sort: an empty row for every hour
/// `0` to `23` without one.
fn fill_hours(table: &mut DataTable) -> Result<(), ArchiveError> {
    for hour in 0..24u8 {
        let label = hour.to_string();
        if table.row_by_label(&label).is_none() {
            let mut row = Row::new(label);
            for id in [
                metrics::NB_UNIQ_VISITORS,
                metrics::NB_VISITS,
                metrics::NB_ACTIONS,
                metrics::NB_USERS,
                metrics::MAX_ACTIONS,
                metrics::SUM_VISIT_LENGTH,
                metrics::BOUNCE_COUNT,
                metrics::NB_VISITS_CONVERTED,
            ] {
                row.columns.set(ColumnKey::Id(id), Value::Int(0));
            }
            table.add_row(row)?;
        }
    }
    table.sort("label", SortOrder::Asc, false);
    Ok(())
}

impl RecordBuilder for VisitTime {
    fn plugin(&self) -> &str {
        "VisitTime"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn records(&self) -> Vec<Record> {
        vec![
            Record::blob(Self::LOCAL_TIME),
            Record::blob(Self::SERVER_TIME),
        ]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let logs = ctx.logs();
        let visits = ctx.visit_dimensions()?;
        // Both hours grouped from the shared visit scan, as the text SQL
        // would group them (the order does not matter: every hour gets a
        // row in 0..23 order).
        let local = group_visit_dimensions(&visits, |v, key| {
            key.push_int(v.local_hour.map(i64::from));
            true
        });
        let local = hours_table(
            local
                .iter()
                .map(|group| (label_of(&group.labels, 0).to_owned(), group)),
        )?;
        let server_groups = group_visit_dimensions(&visits, |v, key| {
            key.push_int(Some(i64::from(v.first_action_hour)));
            true
        });
        let conversions = logs.query_conversions_by_dimension(ctx.conn(), &[CONVERSION_HOUR])?;
        let timezone = &ctx.site().timezone;
        let to_site = |utc: &str| match utc.parse::<i64>() {
            Ok(hour) => site_hour(hour, logs.start(), timezone).to_string(),
            Err(_) => utc.to_owned(),
        };
        // As Matomo: visits, then conversions (an hour with conversions
        // only gets a row of goal metrics), then the empty hours.
        let mut server = DataTable::new();
        for group in &server_groups {
            sum_visits(&mut server, &to_site(label_of(&group.labels, 0)), group)?;
        }
        for group in &conversions {
            server.sum_row_with_label(
                &to_site(label_of(&group.labels, 0)),
                goal_metric_columns(group),
            )?;
        }
        enrich_with_goal_sums(&mut server);
        fill_hours(&mut server)?;
        ctx.insert_table(Self::LOCAL_TIME, local);
        ctx.insert_table(Self::SERVER_TIME, server);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn server_hours_move_into_the_site_zone() {
        let utc = SiteTimeZone::parse("UTC");
        let day = datetime!(2026-01-05 00:00);
        assert_eq!(site_hour(0, day, &utc), 0);
        assert_eq!(site_hour(23, day, &utc), 23);
        // Paris in winter (UTC+1): its day 2026-01-05 starts at 23:00 UTC
        // on the 4th.
        let paris = SiteTimeZone::parse("Europe/Paris");
        let start = datetime!(2026-01-04 23:00);
        assert_eq!(site_hour(23, start, &paris), 0);
        assert_eq!(site_hour(9, start, &paris), 10);
        // Half-hour zones keep the hour the minutes fall in.
        let india = SiteTimeZone::parse("UTC+5.5");
        let start = datetime!(2026-01-04 18:30);
        assert_eq!(site_hour(18, start, &india), 23);
        assert_eq!(site_hour(19, start, &india), 0);
        let newfoundland = SiteTimeZone::parse("UTC-3.5");
        assert_eq!(site_hour(2, datetime!(2026-01-05 03:30), &newfoundland), 22);
    }
}
