//! VisitorInterest: visits by duration, pages, visit number and days since
//! the previous visit (MATOMO.md section 7.5; Matomo's
//! `plugins/VisitorInterest/RecordBuilders/Engagement.php` and the ranges
//! in `plugins/VisitorInterest/Archiver.php`).

use tally_datatable::{DataTable, Row, metrics};

use crate::ArchiveError;
use crate::builders::int;
use crate::context::DayContext;
use crate::record::{Record, RecordBuilder};

/// [`VisitorInterest::TIME_GAP`], [`VisitorInterest::PAGE_GAP`],
/// [`VisitorInterest::VISITS_BY_VISIT_COUNT`] and
/// [`VisitorInterest::DAYS_SINCE_LAST_VISIT`].
///
/// Every table has one row per range, with zero visits too, holding only
/// column 2 (`nb_visits`): the visits whose value lies in the range, bounds
/// included. All four come from one query counting each range. Labels are
/// Matomo's stored ones, prettified only at output: `lower-upper` (`0-10`,
/// and `1-1` for a one-value range) and `lower%2B` for the open range
/// (`1801%2B`, an URL-encoded `+`). Time ranges are in seconds and the
/// minute ranges overlap at their bounds (a visit of 60 s is in `31-60` and
/// `60-120`). Days since the last visit count returning visits only
/// (`visitor_returning = 1`) by `FLOOR(visitor_seconds_since_last /
/// 86400)`, after a `General_NewVisits` row of new visits
/// (`visitor_returning = 0`); returning customers (2) are in neither, as in
/// Matomo. Longer periods use the default aggregation.
///
/// Differences from Matomo: none known.
#[derive(Debug, Clone, Copy, Default)]
pub struct VisitorInterest;

impl VisitorInterest {
    /// Visits by `visit_total_time`.
    pub const TIME_GAP: &'static str = "VisitorInterest_timeGap";
    /// Visits by `visit_total_actions`.
    pub const PAGE_GAP: &'static str = "VisitorInterest_pageGap";
    /// Visits by `visitor_count_visits`.
    pub const VISITS_BY_VISIT_COUNT: &'static str = "VisitorInterest_visitsByVisitCount";
    /// Returning visits by days since the visitor's previous visit.
    pub const DAYS_SINCE_LAST_VISIT: &'static str = "VisitorInterest_daysSinceLastVisit";
}

/// `(label, condition)` for each closed range `[lo, hi]` of `column` and for
/// the open range above `top`, whose label is given (Matomo writes the open
/// range as `top + 1` followed by an encoded `+`). Labels and SQL come from
/// the same literals, so they cannot drift apart.
macro_rules! ranges {
    ($column:literal: $([$lo:literal, $hi:literal]),+ ; above $top:literal => $open:literal) => {
        [
            $((
                concat!($lo, "-", $hi),
                concat!($column, " BETWEEN ", $lo, " AND ", $hi),
            ),)+
            ($open, concat!($column, " > ", $top)),
        ]
    };
}

/// Seconds: three ranges in seconds, then minute ranges turned into seconds.
const TIME_GAP: [(&str, &str); 10] = ranges!(
    "log_visit.visit_total_time":
    [0, 10], [11, 30], [31, 60], [60, 120], [120, 240], [240, 420], [420, 600], [600, 900],
    [900, 1800];
    above 1800 => "1801%2B"
);

const PAGE_GAP: [(&str, &str); 10] = ranges!(
    "log_visit.visit_total_actions":
    [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 7], [8, 10], [11, 14], [15, 20];
    above 20 => "21%2B"
);

const VISIT_COUNT: [(&str, &str); 14] = ranges!(
    "log_visit.visitor_count_visits":
    [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 8], [9, 14], [15, 25],
    [26, 50], [51, 100], [101, 200];
    above 200 => "201%2B"
);

/// The returning-visit condition comes first so that it applies to every
/// range (`AND` binds looser than `BETWEEN` and `>`).
const DAYS_SINCE_LAST: [(&str, &str); 14] = ranges!(
    "log_visit.visitor_returning = 1 AND FLOOR(log_visit.visitor_seconds_since_last / 86400)":
    [0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 14], [15, 30],
    [31, 60], [61, 120], [121, 364];
    above 364 => "365%2B"
);

/// The first row of the days-since-last-visit table.
const NEW_VISITS: (&str, &str) = ("General_NewVisits", "log_visit.visitor_returning = 0");

/// Each record and its rows, in the order the rows are stored.
fn reports() -> [(&'static str, Vec<(&'static str, &'static str)>); 4] {
    let mut days = vec![NEW_VISITS];
    days.extend(DAYS_SINCE_LAST);
    [
        (VisitorInterest::TIME_GAP, TIME_GAP.to_vec()),
        (VisitorInterest::PAGE_GAP, PAGE_GAP.to_vec()),
        (VisitorInterest::VISITS_BY_VISIT_COUNT, VISIT_COUNT.to_vec()),
        (VisitorInterest::DAYS_SINCE_LAST_VISIT, days),
    ]
}

impl RecordBuilder for VisitorInterest {
    fn plugin(&self) -> &str {
        "VisitorInterest"
    }

    fn records(&self) -> Vec<Record> {
        reports()
            .iter()
            .map(|(name, _)| Record::blob(*name))
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let reports = reports();
        let conditions: Vec<&'static str> = reports
            .iter()
            .flat_map(|(_, rows)| rows.iter().map(|(_, condition)| *condition))
            .collect();
        let logs = ctx.logs();
        let counts = logs.count_visits_matching(ctx.conn(), &conditions)?;
        let mut counts = counts.into_iter();
        for (name, rows) in reports {
            let mut table = DataTable::new();
            for (label, _) in rows {
                let visits = counts.next().ok_or_else(|| {
                    ArchiveError::Builder(format!("no visit count for {name} row {label}"))
                })?;
                table.add_row(Row::new(label).with(metrics::NB_VISITS, int(visits)))?;
            }
            ctx.insert_table(name, table);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_conditions_come_from_the_same_bounds() {
        assert_eq!(
            TIME_GAP[3],
            ("60-120", "log_visit.visit_total_time BETWEEN 60 AND 120")
        );
        assert_eq!(
            TIME_GAP[9],
            ("1801%2B", "log_visit.visit_total_time > 1800")
        );
        assert_eq!(
            PAGE_GAP.map(|(label, _)| label),
            [
                "1-1", "2-2", "3-3", "4-4", "5-5", "6-7", "8-10", "11-14", "15-20", "21%2B"
            ]
        );
        assert_eq!(
            DAYS_SINCE_LAST[13].1,
            "log_visit.visitor_returning = 1 AND \
             FLOOR(log_visit.visitor_seconds_since_last / 86400) > 364"
        );
    }
}
