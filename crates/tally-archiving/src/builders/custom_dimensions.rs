//! CustomDimensions: one report per active custom dimension of a site
//! (MATOMO.md section 7.5; Matomo's
//! `plugins/CustomDimensions/RecordBuilders/CustomDimension.php`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tally_datatable::{AggregationOps, ColumnKey, Columns, DataTable, Value, metrics};

use crate::ArchiveError;
use crate::builders::goals::{enrich_with_goal_sums, goal_metric_columns};
use crate::builders::{label_of, sum_to_subtable, sum_visits};
use crate::context::{DayContext, SharedScan};
use crate::grouping::{ActionAccumulator, Groups, group_visit_dimensions};
use crate::logs::{self, ActionValuesGroup, SpecialAction, VisitEnd};
use crate::record::{BuilderProvider, Record, RecordBuilder};
use crate::segment::{CustomDimension as Dimension, DimensionScope};
use crate::site::SiteInfo;

/// The report of one custom dimension: `CustomDimensions_Dimension<id>`
/// ([`CustomDimensionReport::record_name`]), labelled with the dimension's
/// values; an empty value is [`CustomDimensionReport::VALUE_NOT_DEFINED`] and
/// NULL (no value) is left out.
///
/// - Visit scope (`log_visit.custom_dimension_<index>`): the 8 visit
///   metrics keyed by id (1, 2, 3, 39, 4, 5, 6, 7) per value.
/// - Action scope (`log_link_visit_action.custom_dimension_<index>`): per
///   value and page URL (the `log_action` name of `idaction_url`, any
///   action type), 2 `nb_visits`, 1 `nb_uniq_visitors`, 12 `nb_hits`,
///   the 24 PagePerformance columns Matomo's
///   `Actions.Archiving.addActionMetrics` listener adds (per timing:
///   `sum_time_<t>` in seconds of `ifnull(t, 0)`, `nb_hits_with_time_<t>`,
///   `min_time_<t>` and `max_time_<t>` in seconds, 0 where SQL gives
///   NULL), keyed by ids
///   200–223 ([`metrics::PAGE_TIMING_FIRST_ID`]; the API writes the
///   names), then 13 `sum_time_spent` (SUM of `time_spent`), 6
///   `bounce_count` (actions of visits with at most one action) and 15
///   `exit_nb_visits` (actions that are their visit's last,
///   `last_idlink_va`), all floats as Matomo casts them. Each value row has
///   a subtable of the URLs (normalized: scheme and `www.` removed, empty
///   URLs left out) with the same columns; groups that share a label are
///   summed, unique visitors included, and so are the timings' min and
///   max: Matomo's `sumRowWithLabel` gets no aggregation operations.
///
/// Longer periods use the default aggregation (standard renames; every
/// column summed, min and max timings included, as Matomo's builder
/// passes no column aggregation operations).
///
/// Visit-scope rows also carry goal metrics (column 10 per goal, then the
/// `nb_conversions` / `revenue` sums) from `log_conversion`'s copy of the
/// dimension, as Matomo's `aggregateFromConversions`.
///
/// Differences from Matomo:
/// - No legacy generation-time columns (ids 30–33; Matomo's report drops
///   them at API time when no hit has a generation time) and no columns
///   of other `Actions.Archiving.addActionMetrics` listeners (Matomo's
///   test install has the Bandwidth plugin's four). Page timings are not
///   capped (Matomo's `time_*_cap_duration_ms`, 0 by default).
/// - No ranking query (Matomo keeps the top groups in SQL, at least
///   50,000, and sums the rest into "Others").
/// - Only indexes 1 to 5 have columns in our schema; a dimension with a
///   higher index has no report.
#[derive(Debug, Clone)]
pub struct CustomDimensionReport {
    /// The dimension.
    pub dimension: Dimension,
    /// Top-level rows
    /// (`datatable_archiving_maximum_rows_custom_dimensions`, default 1000).
    pub max_rows: usize,
    /// Rows of each URL subtable
    /// (`datatable_archiving_maximum_rows_subtable_custom_dimensions`,
    /// default 1000).
    pub max_subtable_rows: usize,
}

impl CustomDimensionReport {
    /// The label of an empty value.
    pub const VALUE_NOT_DEFINED: &'static str = "Value not defined";

    /// The report of `dimension` with the default row limits.
    pub fn new(dimension: Dimension) -> Self {
        Self {
            dimension,
            max_rows: 1000,
            max_subtable_rows: 1000,
        }
    }

    /// The record name of dimension `idcustomdimension`
    /// (`Archiver::buildRecordNameForCustomDimensionId`).
    pub fn record_name(idcustomdimension: u32) -> String {
        format!("CustomDimensions_Dimension{idcustomdimension}")
    }
}

/// One `custom_dimension_<index>` column: its slot in the visit scan and
/// its SQL on the other tables.
struct DimensionColumns {
    /// The slot in [`crate::logs::VisitDimensions::custom_dimensions`] (index − 1).
    index: usize,
    /// The same value on `log_conversion`, for goal metrics of visit scope.
    conversion: &'static str,
}

macro_rules! dimension_columns {
    ($index:literal) => {
        DimensionColumns {
            index: $index - 1,
            conversion: concat!("log_conversion.custom_dimension_", $index),
        }
    };
}

/// Indexes 1 to 5, the columns of our schema.
const COLUMNS: [DimensionColumns; 5] = [
    dimension_columns!(1),
    dimension_columns!(2),
    dimension_columns!(3),
    dimension_columns!(4),
    dimension_columns!(5),
];

/// Time spent, bounces and exits of the actions of one group, as
/// Matomo's `SUM(time_spent)`, `SUM(CASE visit_total_actions WHEN 1 THEN 1
/// WHEN 0 THEN 1 ELSE 0 END)` and `SUM(IF(last_idlink_va = idlink_va, 1,
/// 0))` over the action joined to its visit.
///
/// Also the PagePerformance columns Matomo's
/// `Actions.Archiving.addActionMetrics` listener adds to the query, per
/// timing: `sum(ifnull(t, 0)) / 1000`, the hits with the timing, `min(t) /
/// 1000` and `max(t) / 1000` (NULL without one).
#[derive(Debug, Default)]
struct ActionSums {
    time_spent: Option<u64>,
    bounces: u64,
    exits: u64,
    timings: [TimingSums; 6],
}

/// One page timing of a group, in ms.
#[derive(Debug, Default, Clone, Copy)]
struct TimingSums {
    sum: u64,
    hits: u64,
    min: Option<u32>,
    max: Option<u32>,
}

impl ActionSums {
    fn add(&mut self, action: &SpecialAction, visit_actions: Option<u32>, last: Option<u64>) {
        if let Some(time) = action.time_spent {
            *self.time_spent.get_or_insert(0) += u64::from(time);
        }
        for (sums, timing) in self.timings.iter_mut().zip(action.timings) {
            if let Some(ms) = timing {
                sums.sum += u64::from(ms);
                sums.hits += 1;
                sums.min = Some(sums.min.map_or(ms, |min| min.min(ms)));
                sums.max = Some(sums.max.map_or(ms, |max| max.max(ms)));
            }
        }
        if matches!(visit_actions, Some(0 | 1)) {
            self.bounces += 1;
        }
        if last == Some(action.idlink_va) {
            self.exits += 1;
        }
    }

    /// `sum_time_spent`, `bounce_count`, `exit_nb_visits`, then per timing
    /// sum (s), hits, min (s) and max (s); NULL where SQL has NULL.
    #[expect(clippy::cast_precision_loss, reason = "sums are far below 2^53")]
    fn values(&self) -> Vec<Option<f64>> {
        let mut values = vec![
            self.time_spent.map(|time| time as f64),
            Some(self.bounces as f64),
            Some(self.exits as f64),
        ];
        let seconds = |ms: u32| f64::from(ms) / 1000.0;
        for timing in &self.timings {
            values.extend([
                Some(timing.sum as f64 / 1000.0),
                Some(timing.hits as f64),
                timing.min.map(seconds),
                timing.max.map(seconds),
            ]);
        }
        values
    }
}

/// `cleanCustomDimensionValue`: an empty value is "Value not defined".
fn value_label(value: &str) -> &str {
    if value.is_empty() {
        CustomDimensionReport::VALUE_NOT_DEFINED
    } else {
        value
    }
}

/// `PageUrl::normalizeUrl(...)['url']` of a stored action name: trimmed,
/// without line breaks and NUL bytes, cut to `page_maximum_length` (1024
/// bytes), and without a leading `http://`, `http://www.`, `https://` or
/// `https://www.`.
fn normalize_url(name: &str) -> String {
    let mut url: String = name
        .trim()
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r' | '\0'))
        .collect();
    if url.len() > 1024 {
        let mut cut = 1024;
        while !url.is_char_boundary(cut) {
            cut -= 1;
        }
        url.truncate(cut);
    }
    // Matomo's prefix map order, the `www.` forms before the bare schemes,
    // compared case-insensitively.
    for prefix in ["http://www.", "http://", "https://www.", "https://"] {
        if url
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        {
            return url.get(prefix.len()..).unwrap_or_default().to_owned();
        }
    }
    url
}

/// The columns of one action-scope group, as floats in Matomo's order:
/// its metric ids, then the 24 PagePerformance columns (by name in
/// Matomo, ids 200–223 here, [`metrics::PAGE_TIMING_FIRST_ID`]; NULL made
/// 0 by Matomo's `(float) ($row[$id] ?? 0)`), then the three sums of the
/// query itself.
fn action_columns(group: &ActionValuesGroup) -> Columns {
    let value = |index: usize| group.values.get(index).copied().flatten().unwrap_or(0.0);
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
    let counts = [
        (metrics::NB_VISITS, group.nb_visits as f64),
        (metrics::NB_UNIQ_VISITORS, group.nb_uniq_visitors as f64),
        (metrics::NB_HITS, group.nb_hits as f64),
    ];
    let timings = (0..24u16).map(|offset| {
        (
            metrics::PAGE_TIMING_FIRST_ID + offset,
            value(3 + usize::from(offset)),
        )
    });
    let sums = [
        (metrics::SUM_TIME_SPENT, value(0)),
        (metrics::BOUNCE_COUNT, value(1)),
        (metrics::EXIT_NB_VISITS, value(2)),
    ];
    let mut columns = Columns::new();
    for (id, total) in counts.into_iter().chain(timings).chain(sums) {
        columns.set(ColumnKey::Id(id), Value::Float(total));
    }
    columns
}

impl CustomDimensionReport {
    fn build_visits(
        &self,
        ctx: &mut DayContext<'_>,
        columns: &DimensionColumns,
    ) -> Result<DataTable, ArchiveError> {
        let logs = ctx.logs();
        let visits = ctx.visit_dimensions()?;
        let mut table = DataTable::new();
        // The visits with a value (Matomo's `IS NOT NULL` condition),
        // grouped from the shared visit scan.
        for group in group_visit_dimensions(&visits, |v, key| {
            let value = v.custom_dimensions[columns.index].as_deref();
            key.push(value);
            value.is_some()
        }) {
            sum_visits(&mut table, value_label(label_of(&group.labels, 0)), &group)?;
        }
        // Goal metrics per value (`aggregateFromConversions`, the same
        // `IS NOT NULL` rule), then Matomo's EnrichRecordWithGoalMetricSums.
        for group in logs.query_conversions_by_dimension(ctx.conn(), &[columns.conversion])? {
            if group.labels.first().is_none_or(Option::is_none) {
                continue;
            }
            table.sum_row_with_label(
                value_label(label_of(&group.labels, 0)),
                goal_metric_columns(&group),
            )?;
        }
        enrich_with_goal_sums(&mut table);
        Ok(table)
    }

    fn build_actions(
        &self,
        ctx: &mut DayContext<'_>,
        columns: &DimensionColumns,
    ) -> Result<DataTable, ArchiveError> {
        // Matomo's query groups the actions with a value on the value and
        // the page URL's name, joining the action's visit for its bounces
        // and exits. Here: the special actions (every action with a
        // custom dimension value is one), the names and the visits of the
        // day's scans, and the visits ending after the day read by id.
        let actions = ctx.special_actions()?;
        let visits = ctx.visit_dimensions()?;
        let with_value = || {
            actions
                .iter()
                .filter(|action| action.custom_dimensions[columns.index].is_some())
        };
        // Only the visits of those actions are looked up.
        let needed: HashSet<u64> = with_value().map(|action| action.idvisit).collect();
        let mut ends: HashMap<u64, VisitEnd> = visits
            .iter()
            .filter(|visit| needed.contains(&visit.idvisit))
            .map(|visit| (visit.idvisit, (visit.total_actions, visit.last_idlink_va)))
            .collect();
        let mut missing: Vec<u64> = needed
            .iter()
            .copied()
            .filter(|idvisit| !ends.contains_key(idvisit))
            .collect();
        missing.sort_unstable();
        ends.extend(logs::load_visit_ends(ctx.conn(), &missing)?);
        let names = ctx.action_names(with_value().filter_map(|action| action.idaction_url))?;
        let mut sums: Groups<(ActionAccumulator, ActionSums)> = Groups::default();
        for action in with_value() {
            let name = action
                .idaction_url
                .and_then(|id| names.get(&id))
                .map(|name| name.name.as_str());
            let Some((accumulator, totals)) = sums.entry(|key| {
                key.push(action.custom_dimensions[columns.index].as_deref());
                key.push(name);
                true
            }) else {
                continue;
            };
            accumulator.add(action.idvisit, action.idvisitor);
            let (visit_actions, last) = ends.get(&action.idvisit).copied().unwrap_or_default();
            totals.add(action, visit_actions, last);
        }
        let mut groups: Vec<ActionValuesGroup> = sums
            .into_sorted()
            .into_iter()
            .map(|(labels, (accumulator, totals))| {
                accumulator.into_values_group(labels, totals.values())
            })
            .collect();
        // Matomo's ORDER BY: most hits first.
        groups.sort_by_key(|group| std::cmp::Reverse(group.nb_hits));
        let ops = AggregationOps::new();
        let mut table = DataTable::new();
        for group in &groups {
            let columns = action_columns(group);
            let label = value_label(label_of(&group.labels, 0));
            let row = table.sum_row_with_label(label, columns.clone())?;
            let url = normalize_url(label_of(&group.labels, 1));
            if !url.is_empty() {
                sum_to_subtable(row, &url, columns, &ops)?;
            }
        }
        Ok(table)
    }
}

impl RecordBuilder for CustomDimensionReport {
    fn plugin(&self) -> &str {
        "CustomDimensions"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions, SharedScan::SpecialActions]
    }

    fn records(&self) -> Vec<Record> {
        vec![
            Record::blob(Self::record_name(self.dimension.id))
                .max_rows(self.max_rows, self.max_subtable_rows),
        ]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let Some(columns) = usize::from(self.dimension.index)
            .checked_sub(1)
            .and_then(|slot| COLUMNS.get(slot))
        else {
            return Ok(());
        };
        let table = match self.dimension.scope {
            DimensionScope::Visit => self.build_visits(ctx, columns)?,
            DimensionScope::Action => self.build_actions(ctx, columns)?,
        };
        if table.rows_count() > 0 {
            ctx.insert_table(&Self::record_name(self.dimension.id), table);
        }
        Ok(())
    }
}

/// Provides one [`CustomDimensionReport`] per active custom dimension of
/// the site ([`SiteInfo::custom_dimensions`], read with the site for every
/// archive); register with [`crate::Registry::add_provider`].
#[derive(Debug, Clone, Copy)]
pub struct CustomDimensionsProvider {
    /// [`CustomDimensionReport::max_rows`] of every report (default 1000).
    pub max_rows: usize,
    /// [`CustomDimensionReport::max_subtable_rows`] of every report
    /// (default 1000).
    pub max_subtable_rows: usize,
}

impl Default for CustomDimensionsProvider {
    fn default() -> Self {
        Self {
            max_rows: 1000,
            max_subtable_rows: 1000,
        }
    }
}

impl BuilderProvider for CustomDimensionsProvider {
    fn builders(&self, site: &SiteInfo) -> Vec<Arc<dyn RecordBuilder>> {
        site.custom_dimensions
            .iter()
            .map(|dimension| {
                Arc::new(CustomDimensionReport {
                    max_rows: self.max_rows,
                    max_subtable_rows: self.max_subtable_rows,
                    ..CustomDimensionReport::new(*dimension)
                }) as Arc<dyn RecordBuilder>
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_scheme_and_www() {
        assert_eq!(normalize_url("example.org/a"), "example.org/a");
        assert_eq!(normalize_url("https://www.example.org/a"), "example.org/a");
        assert_eq!(normalize_url(" http://example.org/\n"), "example.org/");
        assert_eq!(normalize_url("ftp://example.org/"), "ftp://example.org/");
        assert_eq!(normalize_url(""), "");
    }

    #[test]
    fn record_names_carry_the_dimension_id() {
        assert_eq!(
            CustomDimensionReport::record_name(7),
            "CustomDimensions_Dimension7"
        );
    }
}
