//! VisitorInterest: visits by duration, pages, visit number and days since
//! the previous visit (MATOMO.md section 7.5; Matomo's
//! `plugins/VisitorInterest/RecordBuilders/Engagement.php` and the ranges
//! in `plugins/VisitorInterest/Archiver.php`).

use tally_datatable::{DataTable, Row, metrics};

use crate::ArchiveError;
use crate::builders::int;
use crate::context::{DayContext, SharedScan};
use crate::logs::VisitDimensions;
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

/// A row's range of a visit value: `[lo, hi]`, or above `top`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bounds {
    Closed(i64, i64),
    Above(i64),
}

impl Bounds {
    /// SQL's `value BETWEEN lo AND hi` / `value > top`: a NULL value is in
    /// no range.
    fn contains(self, value: Option<i64>) -> bool {
        match (self, value) {
            (_, None) => false,
            (Self::Closed(lo, hi), Some(value)) => (lo..=hi).contains(&value),
            (Self::Above(top), Some(value)) => value > top,
        }
    }
}

/// `(label, bounds)` for each closed range `[lo, hi]` and for the open
/// range above `top`, whose label is given (Matomo writes the open range as
/// `top + 1` followed by an encoded `+`). Labels and bounds come from the
/// same literals, so they cannot drift apart.
macro_rules! ranges {
    ($([$lo:literal, $hi:literal]),+ ; above $top:literal => $open:literal) => {
        [
            $((concat!($lo, "-", $hi), Bounds::Closed($lo, $hi)),)+
            ($open, Bounds::Above($top)),
        ]
    };
}

/// `visit_total_time`: three ranges in seconds, then minute ranges turned
/// into seconds.
const TIME_GAP: [(&str, Bounds); 10] = ranges!(
    [0, 10], [11, 30], [31, 60], [60, 120], [120, 240], [240, 420], [420, 600], [600, 900],
    [900, 1800];
    above 1800 => "1801%2B"
);

/// `visit_total_actions`.
const PAGE_GAP: [(&str, Bounds); 10] = ranges!(
    [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 7], [8, 10], [11, 14], [15, 20];
    above 20 => "21%2B"
);

/// `visitor_count_visits`.
const VISIT_COUNT: [(&str, Bounds); 14] = ranges!(
    [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 8], [9, 14], [15, 25],
    [26, 50], [51, 100], [101, 200];
    above 200 => "201%2B"
);

/// `FLOOR(visitor_seconds_since_last / 86400)` of returning visits
/// (`visitor_returning = 1`).
const DAYS_SINCE_LAST: [(&str, Bounds); 14] = ranges!(
    [0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 14], [15, 30],
    [31, 60], [61, 120], [121, 364];
    above 364 => "365%2B"
);

/// The first row of the days-since-last-visit table: `visitor_returning = 0`.
const NEW_VISITS: &str = "General_NewVisits";

fn time_gap(visit: &VisitDimensions) -> Option<i64> {
    Some(i64::from(visit.total_time))
}

fn page_gap(visit: &VisitDimensions) -> Option<i64> {
    visit.total_actions.map(i64::from)
}

fn visit_count(visit: &VisitDimensions) -> Option<i64> {
    Some(i64::from(visit.visitor_count_visits))
}

fn days_since_last(visit: &VisitDimensions) -> Option<i64> {
    if visit.visitor_returning == Some(1) {
        visit
            .seconds_since_last
            .map(|seconds| i64::from(seconds / 86_400))
    } else {
        None
    }
}

/// One table: its record, the visit value its ranges apply to, its
/// ranges, and whether a new-visits row comes first.
type Report = (
    &'static str,
    fn(&VisitDimensions) -> Option<i64>,
    &'static [(&'static str, Bounds)],
    bool,
);

const REPORTS: [Report; 4] = [
    (VisitorInterest::TIME_GAP, time_gap, &TIME_GAP, false),
    (VisitorInterest::PAGE_GAP, page_gap, &PAGE_GAP, false),
    (
        VisitorInterest::VISITS_BY_VISIT_COUNT,
        visit_count,
        &VISIT_COUNT,
        false,
    ),
    (
        VisitorInterest::DAYS_SINCE_LAST_VISIT,
        days_since_last,
        &DAYS_SINCE_LAST,
        true,
    ),
];

impl RecordBuilder for VisitorInterest {
    fn plugin(&self) -> &str {
        "VisitorInterest"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn records(&self) -> Vec<Record> {
        REPORTS
            .iter()
            .map(|(name, ..)| Record::blob(*name))
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        // Counted from the shared visit scan (Matomo: one SUM(CASE ...) per
        // range over the day's visits; the ranges may overlap).
        let visits = ctx.visit_dimensions()?;
        for (name, value, ranges, new_visits_first) in REPORTS {
            let mut counts = vec![0u64; ranges.len()];
            let mut new_visits = 0u64;
            for visit in visits.iter() {
                let value = value(visit);
                for (count, (_, bounds)) in counts.iter_mut().zip(ranges) {
                    *count += u64::from(bounds.contains(value));
                }
                if new_visits_first {
                    new_visits += u64::from(visit.visitor_returning == Some(0));
                }
            }
            let mut table = DataTable::new();
            if new_visits_first {
                table.add_row(Row::new(NEW_VISITS).with(metrics::NB_VISITS, int(new_visits)))?;
            }
            for ((label, _), visits) in ranges.iter().zip(counts) {
                table.add_row(Row::new(*label).with(metrics::NB_VISITS, int(visits)))?;
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
    fn labels_and_bounds_come_from_the_same_literals() {
        assert_eq!(TIME_GAP[3], ("60-120", Bounds::Closed(60, 120)));
        assert_eq!(TIME_GAP[9], ("1801%2B", Bounds::Above(1800)));
        assert_eq!(
            PAGE_GAP.map(|(label, _)| label),
            [
                "1-1", "2-2", "3-3", "4-4", "5-5", "6-7", "8-10", "11-14", "15-20", "21%2B"
            ]
        );
        assert_eq!(DAYS_SINCE_LAST[13], ("365%2B", Bounds::Above(364)));
    }

    #[test]
    fn ranges_count_as_sql_compares() {
        // The minute ranges share their bounds: 60 s is in both.
        let sixty: Vec<&str> = TIME_GAP
            .iter()
            .filter(|(_, bounds)| bounds.contains(Some(60)))
            .map(|(label, _)| *label)
            .collect();
        assert_eq!(sixty, ["31-60", "60-120"]);
        assert!(!Bounds::Closed(1, 1).contains(None));
        assert!(!Bounds::Above(20).contains(Some(20)));
        assert!(Bounds::Above(20).contains(Some(21)));
        let returning = |seconds: Option<u32>, returning: Option<i8>| VisitDimensions {
            seconds_since_last: seconds,
            visitor_returning: returning,
            ..VisitDimensions::default()
        };
        assert_eq!(days_since_last(&returning(Some(86_399), Some(1))), Some(0));
        assert_eq!(
            days_since_last(&returning(Some(86_400 * 8), Some(1))),
            Some(8)
        );
        // Returning customers (2) and new visits are in no range.
        assert_eq!(days_since_last(&returning(Some(86_400), Some(2))), None);
        assert_eq!(days_since_last(&returning(Some(86_400), Some(0))), None);
    }
}
