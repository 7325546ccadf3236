//! VisitsSummary: the core visit metrics (MATOMO.md section 7.2).

use tally_schema::PeriodKind;

use crate::ArchiveError;
use crate::context::{DayContext, PeriodContext, SharedScan};
use crate::grouping::general_ci_key;
use crate::logs::UniqueVisitors;
use crate::record::{Record, RecordBuilder};

/// `nb_uniq_visitors`, `nb_visits`, `nb_actions`, `max_actions`,
/// `sum_visit_length`, `bounce_count`, `nb_visits_converted`, `nb_users`.
///
/// Weeks and months recount unique visitors and users from the logs (a
/// visitor of two days is one visitor of the week); years and ranges do not
/// have them, as Matomo's `enable_processing_unique_visitors_year/range = 0`.
#[derive(Debug, Clone, Copy, Default)]
pub struct VisitsSummary;

/// The record names, in Matomo's order.
pub(crate) const RECORDS: [&str; 8] = [
    "nb_uniq_visitors",
    "nb_visits",
    "nb_actions",
    "max_actions",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
    "nb_users",
];

/// Whether unique visitors and users are recounted for `kind` (else dropped).
fn recounts_uniques(kind: PeriodKind) -> bool {
    matches!(kind, PeriodKind::Day | PeriodKind::Week | PeriodKind::Month)
}

impl RecordBuilder for VisitsSummary {
    fn plugin(&self) -> &str {
        "VisitsSummary"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::Visits]
    }

    fn records(&self) -> Vec<Record> {
        RECORDS.iter().map(|name| Record::numeric(*name)).collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let visits = ctx.visits()?;
        let mut visitors = Vec::with_capacity(visits.len());
        let mut users = Vec::new();
        let (mut actions, mut max_actions, mut length, mut bounces, mut converted) =
            (0u64, 0u32, 0u64, 0u64, 0u64);
        for visit in visits.iter() {
            visitors.push(visit.idvisitor);
            // Under the column's collation, as COUNT(DISTINCT user_id) and
            // the week's recount compare them.
            if let Some(user) = visit.user_id.as_deref() {
                users.push(general_ci_key(user));
            }
            actions += u64::from(visit.total_actions);
            max_actions = max_actions.max(visit.total_actions);
            length += u64::from(visit.total_time);
            bounces += u64::from(visit.bounce);
            converted += u64::from(visit.converted);
        }
        let uniques = UniqueVisitors::new(visitors, users);
        let (unique_visitors, unique_users) = uniques.counts();
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
        let values = [
            unique_visitors as f64,
            visits.len() as f64,
            actions as f64,
            f64::from(max_actions),
            length as f64,
            bounces as f64,
            converted as f64,
            unique_users as f64,
        ];
        for (name, value) in RECORDS.iter().zip(values) {
            ctx.insert_numeric(name, value);
        }
        ctx.keep_uniques(uniques);
        Ok(())
    }

    fn build_period(&self, ctx: &mut PeriodContext<'_>) -> Result<(), ArchiveError> {
        let summed: Vec<Record> = self
            .records()
            .into_iter()
            .filter(|r| r.name != "nb_uniq_visitors" && r.name != "nb_users")
            .collect();
        ctx.aggregate_records(&summed)?;
        if recounts_uniques(ctx.period().kind()) {
            let visits = ctx.output().numeric("nb_visits").unwrap_or(0.0);
            let (visitors, users) = ctx.unique_visitors_and_users()?.counts();
            // Capped at nb_visits, as Matomo caps them (visits from before
            // a day was re-archived can make the recount exceed the sum).
            #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
            let (visitors, users) = (visitors as f64, users as f64);
            ctx.insert_numeric("nb_uniq_visitors", visitors.min(visits));
            ctx.insert_numeric("nb_users", users.min(visits));
        }
        Ok(())
    }
}
