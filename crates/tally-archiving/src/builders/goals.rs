//! Goals: conversions, converted visits and revenue overall and per goal,
//! and the visits-until and days-until-conversion tables (MATOMO.md
//! sections 6 and 7.5; Matomo's
//! `plugins/Goals/RecordBuilders/GeneralGoalsRecords.php` and the ranges in
//! `plugins/Goals/Archiver.php`). Also the goal-metric helpers other
//! builders use for their column 10 (`Metrics::makeGoalColumnsRow`,
//! `EnrichRecordWithGoalMetricSums`).

use std::sync::Arc;

use tally_datatable::{ColumnKey, Columns, DataTable, GoalColumns, Row, Scalar, Value, metrics};
use tally_schema::{IDGOAL_ECOMMERCE_CART, IDGOAL_ECOMMERCE_ORDER};

use crate::ArchiveError;
use crate::builders::int;
use crate::context::{DayContext, PeriodContext, SharedScan};
use crate::logs::{ConversionCounts, ConversionGroup};
use crate::record::{BuilderProvider, Record, RecordBuilder};
use crate::site::SiteInfo;

/// The Goals records of one site: one builder for all its goals, made per
/// site by [`GoalsProvider`] because the record names carry the goal ids.
///
/// Records (names as Matomo's `Archiver::getRecordName`):
/// - numeric `Goal_nb_conversions` and `Goal_revenue`: sums over every
///   goal and ecommerce orders, abandoned carts left out;
///   `Goal_nb_visits_converted`: the day's converted visits
///   (`visit_goal_converted = 1`, VisitsSummary's `nb_visits_converted`);
/// - per goal G (the site's active goals, then `-1` abandoned carts and `0`
///   orders): `Goal_G_nb_conversions`, `Goal_G_nb_visits_converted`,
///   `Goal_G_revenue`; orders also `Goal_0_revenue_subtotal`,
///   `Goal_0_revenue_tax`, `Goal_0_revenue_shipping`,
///   `Goal_0_revenue_discount`, `Goal_0_items`; carts `Goal_-1_items`;
/// - blobs `Goal_G_visits_until_conv` (conversions by
///   `log_conversion.visitor_count_visits`: `1-1` ... `8-8`, `9-14`,
///   `15-25`, `26-50`, `51-100`, `101%2B`) and `Goal_G_days_until_conv`
///   (by `FLOOR(visitor_seconds_since_first / 86400)`: `0-0` ... `7-7`,
///   `8-14`, `15-30`, `31-60`, `61-120`, `121-364`, `365%2B`), one row
///   per range, zeros included, holding column 8 (`nb_conversions`); and
///   the overall `Goal_visits_until_conv` / `Goal_days_until_conv`, the
///   sums of the tables of user goals (orders and carts left out).
///
/// Conversions count by `log_conversion.server_time` in the period.
/// Nothing is built when the period has no converted visit and the site
/// is not an ecommerce site (Matomo's `isEnabled`); a site with neither
/// goals nor ecommerce gets only `Goal_nb_visits_converted`. Totals and the
/// overview tables include conversions of goals that are no longer active,
/// whose own records are not written (Matomo builds them and drops the
/// undeclared names). Revenue is rounded to 2 decimals by the query.
/// Order and cart records are declared for every site, as Matomo declares
/// them while its Ecommerce plugin is active (its default); they are only
/// written when such conversions exist. Longer periods use the default
/// aggregation: numeric records and the range tables are summed.
///
/// Differences from Matomo:
/// - The range tables hold integer counts where Matomo keeps the strings
///   MySQL returned (both render as the same numbers).
#[derive(Debug, Clone, Default)]
pub struct Goals {
    /// The ids of the site's active goals.
    pub goals: Vec<u32>,
}

impl Goals {
    /// The builder for `site`'s goals.
    pub fn for_site(site: &SiteInfo) -> Self {
        Self {
            goals: site.goals.clone(),
        }
    }

    /// `Goal_<metric>` (overall) or `Goal_<idgoal>_<metric>`.
    pub fn record_name(metric: &str, idgoal: Option<i32>) -> String {
        match idgoal {
            Some(idgoal) => format!("Goal_{idgoal}_{metric}"),
            None => format!("Goal_{metric}"),
        }
    }

    /// The goal ids with records: the site's goals, then carts and orders
    /// (Matomo's order).
    fn declared_goals(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .goals
            .iter()
            .filter_map(|id| i32::try_from(*id).ok())
            .collect();
        ids.extend([IDGOAL_ECOMMERCE_CART, IDGOAL_ECOMMERCE_ORDER]);
        ids
    }
}

/// Makes a [`Goals`] builder per site (register with
/// [`crate::Registry::add_provider`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct GoalsProvider;

impl BuilderProvider for GoalsProvider {
    fn builders(&self, site: &SiteInfo) -> Vec<Arc<dyn RecordBuilder>> {
        vec![Arc::new(Goals::for_site(site))]
    }
}

/// `(label, condition)` for each closed range `[lo, hi]` of `column` and
/// for the open range above `top` (labelled `top + 1` and an URL-encoded
/// `+`, as Matomo's `getSelectsFromRangedColumn` names it). Labels and SQL
/// come from the same literals.
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

/// `Archiver::$visitCountRanges`: the last closed range ends at 100 and the
/// open one starts above 100.
const VISITS_UNTIL: [(&str, &str); 13] = ranges!(
    "log_conversion.visitor_count_visits":
    [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 8], [9, 14], [15, 25],
    [26, 50], [51, 100];
    above 100 => "101%2B"
);

/// `Archiver::$daysToConvRanges`, on whole days since the first visit.
const DAYS_UNTIL: [(&str, &str); 14] = ranges!(
    "FLOOR(log_conversion.visitor_seconds_since_first / 86400)":
    [0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 14], [15, 30],
    [31, 60], [61, 120], [121, 364];
    above 364 => "365%2B"
);

/// The visits-until-conversion record suffix.
const VISITS_UNTIL_RECORD: &str = "visits_until_conv";
/// The days-until-conversion record suffix.
const DAYS_UNTIL_RECORD: &str = "days_until_conv";

/// The numeric metrics recorded per goal (`Goals::getGoalColumns`).
fn goal_record_metrics(idgoal: i32) -> &'static [&'static str] {
    const USER_GOAL: &[&str] = &["nb_conversions", "nb_visits_converted", "revenue"];
    const ORDER: &[&str] = &[
        "nb_conversions",
        "nb_visits_converted",
        "revenue",
        "revenue_subtotal",
        "revenue_tax",
        "revenue_shipping",
        "revenue_discount",
        "items",
    ];
    const CART: &[&str] = &["nb_conversions", "nb_visits_converted", "revenue", "items"];
    match idgoal {
        IDGOAL_ECOMMERCE_ORDER => ORDER,
        IDGOAL_ECOMMERCE_CART => CART,
        _ => USER_GOAL,
    }
}

/// The value of conversion metric `metric` in `group`.
#[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
fn conversion_metric(group: &ConversionGroup, metric: &str) -> f64 {
    match metric {
        "nb_conversions" => group.nb_conversions as f64,
        "nb_visits_converted" => group.nb_visits_converted as f64,
        "revenue" => group.revenue,
        "revenue_subtotal" => group.revenue_subtotal,
        "revenue_tax" => group.revenue_tax,
        "revenue_shipping" => group.revenue_shipping,
        "revenue_discount" => group.revenue_discount,
        "items" => group.items as f64,
        _ => 0.0,
    }
}

/// A range table: one row per range with its conversion count in column
/// 8 (`nb_conversions`).
fn range_table(ranges: &[(&str, &str)], counts: &[u64]) -> Result<DataTable, ArchiveError> {
    let mut table = DataTable::new();
    for ((label, _), count) in ranges.iter().zip(counts) {
        table.add_row(Row::new(*label).with(metrics::NB_CONVERSIONS, int(*count)))?;
    }
    Ok(table)
}

/// Whether `idgoal` is a user-defined goal (not an order or a cart).
fn is_user_goal(idgoal: i32) -> bool {
    idgoal != IDGOAL_ECOMMERCE_CART && idgoal != IDGOAL_ECOMMERCE_ORDER
}

impl RecordBuilder for Goals {
    fn plugin(&self) -> &str {
        "Goals"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::Visits]
    }

    fn records(&self) -> Vec<Record> {
        let mut records = Vec::new();
        for idgoal in self.declared_goals() {
            for metric in goal_record_metrics(idgoal) {
                records.push(Record::numeric(Self::record_name(metric, Some(idgoal))));
            }
            for blob in [VISITS_UNTIL_RECORD, DAYS_UNTIL_RECORD] {
                records.push(Record::blob(Self::record_name(blob, Some(idgoal))));
            }
        }
        for metric in ["nb_conversions", "nb_visits_converted", "revenue"] {
            records.push(Record::numeric(Self::record_name(metric, None)));
        }
        for blob in [VISITS_UNTIL_RECORD, DAYS_UNTIL_RECORD] {
            records.push(Record::blob(Self::record_name(blob, None)));
        }
        records
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        // VisitsSummary's nb_visits_converted, from the shared visit scan.
        let converted = ctx.visits()?.iter().filter(|visit| visit.converted).count();
        let ecommerce = ctx.site().ecommerce;
        if converted == 0 && !ecommerce {
            return Ok(());
        }
        // A site without goals nor ecommerce has no conversions to read
        // (Matomo skips the query and writes empty records).
        let (groups, counts) = if ecommerce || !ctx.site().goals.is_empty() {
            let conditions: Vec<&'static str> = VISITS_UNTIL
                .iter()
                .chain(&DAYS_UNTIL)
                .map(|(_, condition)| *condition)
                .collect();
            let logs = ctx.logs();
            let groups = logs.query_conversions_by_dimension(ctx.conn(), &[])?;
            let counts = logs.count_conversions_matching(ctx.conn(), &conditions)?;
            (groups, counts)
        } else {
            (Vec::new(), Vec::new())
        };
        let declared = self.declared_goals();

        // Abandoned carts are lost revenue: not part of the totals.
        let (mut conversions, mut revenue) = (0u64, 0.0);
        for group in groups.iter().filter(|g| g.idgoal != IDGOAL_ECOMMERCE_CART) {
            conversions += group.nb_conversions;
            revenue += group.revenue;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
        let (conversions, converted) = (conversions as f64, converted as f64);
        ctx.insert_numeric(&Self::record_name("nb_conversions", None), conversions);
        ctx.insert_numeric(&Self::record_name("nb_visits_converted", None), converted);
        ctx.insert_numeric(&Self::record_name("revenue", None), revenue);

        for group in groups.iter().filter(|g| declared.contains(&g.idgoal)) {
            for metric in goal_record_metrics(group.idgoal) {
                let name = Self::record_name(metric, Some(group.idgoal));
                ctx.insert_numeric(&name, conversion_metric(group, metric));
            }
        }

        let mut overview_visits = vec![0u64; VISITS_UNTIL.len()];
        let mut overview_days = vec![0u64; DAYS_UNTIL.len()];
        let mut has_user_goal = false;
        for ConversionCounts { idgoal, counts } in &counts {
            let (visits, days) = counts.split_at(VISITS_UNTIL.len().min(counts.len()));
            if is_user_goal(*idgoal) {
                has_user_goal = true;
                for (sum, count) in overview_visits.iter_mut().zip(visits) {
                    *sum += count;
                }
                for (sum, count) in overview_days.iter_mut().zip(days) {
                    *sum += count;
                }
            }
            if declared.contains(idgoal) {
                let name = Self::record_name(VISITS_UNTIL_RECORD, Some(*idgoal));
                ctx.insert_table(&name, range_table(&VISITS_UNTIL, visits)?);
                let name = Self::record_name(DAYS_UNTIL_RECORD, Some(*idgoal));
                ctx.insert_table(&name, range_table(&DAYS_UNTIL, days)?);
            }
        }
        if has_user_goal {
            let name = Self::record_name(VISITS_UNTIL_RECORD, None);
            ctx.insert_table(&name, range_table(&VISITS_UNTIL, &overview_visits)?);
            let name = Self::record_name(DAYS_UNTIL_RECORD, None);
            ctx.insert_table(&name, range_table(&DAYS_UNTIL, &overview_days)?);
        }
        Ok(())
    }

    fn build_period(&self, ctx: &mut PeriodContext<'_>) -> Result<(), ArchiveError> {
        // Matomo's isEnabled on the period: its converted visits are the
        // sum of the sub-periods'. Read from our own record (equal to
        // VisitsSummary's), so that a Goals-only archive (Goals.get's
        // visitor-type segments) does not depend on VisitsSummary's.
        let converted: f64 = ctx
            .subperiod_numeric(&Self::record_name("nb_visits_converted", None))?
            .iter()
            .sum();
        if converted == 0.0 && !ctx.site().ecommerce {
            return Ok(());
        }
        ctx.aggregate_records(&self.records())
    }
}

/// An amount of money as Matomo stores it: whole amounts as integers
/// ("25.00 recorded as 25"), others as floats.
pub(crate) fn money(amount: f64) -> Scalar {
    // Beyond 2^53 a float has no fraction anyway; keep it a float there.
    if amount.fract() == 0.0 && amount.abs() < 9.0e15 {
        #[expect(clippy::cast_possible_truncation, reason = "integral and below 2^53")]
        Scalar::Int(amount as i64)
    } else {
        Scalar::Float(amount)
    }
}

/// The goal metrics of one conversion group, keyed by goal metric id
/// (`Metrics::makeGoalColumnsRow`): user goals {1, 3, 2}, orders {1, 3, 2,
/// 4, 5, 6, 7, 8}, abandoned carts {1, 3, 2, 8}. Matomo casts every value
/// to a float; counts stay integers here and amounts follow [`money`], so
/// sums of counts stay exact (the API renders both alike).
pub(crate) fn goal_columns_row(group: &ConversionGroup) -> GoalColumns {
    let mut columns = GoalColumns::new();
    let count = |value: u64| Scalar::Int(i64::try_from(value).unwrap_or(i64::MAX));
    columns.set(
        ColumnKey::Id(metrics::GOAL_NB_CONVERSIONS),
        count(group.nb_conversions),
    );
    columns.set(
        ColumnKey::Id(metrics::GOAL_NB_VISITS_CONVERTED),
        count(group.nb_visits_converted),
    );
    columns.set(ColumnKey::Id(metrics::GOAL_REVENUE), money(group.revenue));
    if group.idgoal == IDGOAL_ECOMMERCE_ORDER {
        for (id, value) in [
            (metrics::GOAL_REVENUE_SUBTOTAL, group.revenue_subtotal),
            (metrics::GOAL_REVENUE_TAX, group.revenue_tax),
            (metrics::GOAL_REVENUE_SHIPPING, group.revenue_shipping),
            (metrics::GOAL_REVENUE_DISCOUNT, group.revenue_discount),
        ] {
            columns.set(ColumnKey::Id(id), money(value));
        }
    }
    if group.idgoal <= IDGOAL_ECOMMERCE_ORDER {
        columns.set(ColumnKey::Id(metrics::GOAL_ITEMS), count(group.items));
    }
    columns
}

/// The columns a conversion group adds to a report row: column 10
/// (`goals`) holding the group's goal metrics under its goal id.
pub(crate) fn goal_metric_columns(group: &ConversionGroup) -> Columns {
    let goals =
        tally_datatable::Goals::new().with(i64::from(group.idgoal), goal_columns_row(group));
    let mut columns = Columns::new();
    columns.set(ColumnKey::Id(metrics::GOALS), Value::Goals(goals));
    columns
}

/// `EnrichRecordWithGoalMetricSums`, on every row of `table` and of its
/// subtables that has goal metrics: column 8 (`nb_conversions`) and 9
/// (`revenue`) become the sums over goals and orders (abandoned carts are
/// lost revenue and left out), and a row without `nb_visits` gets 0.
pub(crate) fn enrich_with_goal_sums(table: &mut DataTable) {
    for row in table.rows_mut() {
        enrich_columns(&mut row.columns);
        if let Some(subtable) = row.subtable.as_deref_mut() {
            enrich_with_goal_sums(subtable);
        }
    }
}

fn enrich_columns(columns: &mut Columns) {
    let Some(Value::Goals(goals)) = columns.get(&ColumnKey::Id(metrics::GOALS)) else {
        return;
    };
    let (mut conversions, mut revenue) = (0.0, 0.0);
    for (idgoal, goal) in goals.0.iter() {
        if *idgoal >= i64::from(IDGOAL_ECOMMERCE_ORDER) {
            let metric = |id: u16| {
                goal.get(&ColumnKey::Id(id))
                    .and_then(Scalar::as_f64)
                    .unwrap_or(0.0)
            };
            conversions += metric(metrics::GOAL_NB_CONVERSIONS);
            revenue += metric(metrics::GOAL_REVENUE);
        }
    }
    columns.set(
        ColumnKey::Id(metrics::NB_CONVERSIONS),
        money(conversions).into(),
    );
    columns.set(ColumnKey::Id(metrics::REVENUE), money(revenue).into());
    if columns.get(&ColumnKey::Id(metrics::NB_VISITS)).is_none() {
        columns.set(ColumnKey::Id(metrics::NB_VISITS), Value::Int(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_labels_follow_matomo() {
        let labels: Vec<&str> = VISITS_UNTIL.iter().map(|(label, _)| *label).collect();
        assert_eq!(
            labels,
            [
                "1-1", "2-2", "3-3", "4-4", "5-5", "6-6", "7-7", "8-8", "9-14", "15-25", "26-50",
                "51-100", "101%2B"
            ]
        );
        assert_eq!(
            VISITS_UNTIL[12].1,
            "log_conversion.visitor_count_visits > 100"
        );
        assert_eq!(DAYS_UNTIL[13].0, "365%2B");
        assert_eq!(
            DAYS_UNTIL[12].1,
            "FLOOR(log_conversion.visitor_seconds_since_first / 86400) BETWEEN 121 AND 364"
        );
    }

    #[test]
    fn record_names() {
        assert_eq!(Goals::record_name("revenue", None), "Goal_revenue");
        assert_eq!(Goals::record_name("items", Some(-1)), "Goal_-1_items");
        let names: Vec<String> = Goals { goals: vec![3] }
            .records()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert!(names.contains(&"Goal_3_visits_until_conv".to_owned()));
        assert!(names.contains(&"Goal_0_revenue_discount".to_owned()));
        assert!(!names.contains(&"Goal_3_items".to_owned()));
        assert!(!names.contains(&"Goal_-1_revenue_tax".to_owned()));
    }

    #[test]
    fn money_keeps_whole_amounts_integral() {
        assert_eq!(money(25.0), Scalar::Int(25));
        assert_eq!(money(10.5), Scalar::Float(10.5));
        assert_eq!(money(-0.0), Scalar::Int(0));
    }
}
