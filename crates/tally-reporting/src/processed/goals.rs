//! The goal-column filters (MATOMO.md §8.4): processed metrics a request
//! asks for on top of a report's own.
//!
//! Matomo's `DataTablePostProcessor::applyProcessedMetricsGenericFilters`
//! reads two parameters before the generic filters (and not at all with
//! `disable_generic_filters`), and attaches metric objects to the table
//! that are computed for each of its rows, the summary row included:
//!
//! - `filter_add_columns_when_show_all_columns=N`, an integer
//!   (`AddColumnsProcessedMetrics`): `conversion_rate`,
//!   `nb_actions_per_visit`, `avg_time_on_site` and `bounce_rate`. When N
//!   is not 0, rows with neither visits nor actions are deleted first.
//! - `filter_update_columns_when_show_all_goals`, on for any value that is
//!   a non-zero integer as PHP's `(int)` reads it, `0`, `ecommerceOrder` or
//!   `ecommerceAbandonedCart` (`AddColumnsProcessedMetricsGoal`): the same
//!   four (no row deleted), `revenue_per_visit`, then metrics per goal as
//!   `idGoal` asks (see [`PerGoal`]).
//!
//! The goals are those found in the rows' `goals` columns (in the order
//! met), plus `filter_show_goal_columns_process_goals` (a comma list; then
//! the whole list is sorted). Per goal, in this order:
//! `goal_<id>_conversion_rate` (the goal's conversions / visits, 4
//! decimals), `goal_<id>_nb_conversions`, `goal_<id>_revenue_per_visit`
//! (revenue / visits, or / conversions when the row has no visits; 2
//! decimals), `goal_<id>_revenue`, and for the ecommerce goals
//! `goal_<id>_avg_order_revenue` and `goal_<id>_items`. `<id>` is written
//! as it was found or given: `goal_1_…`, `goal_0_…` for orders found in
//! rows, `goal_ecommerceOrder_…` when `ecommerceOrder` is asked for. A row
//! without that goal gets zeros. The nested `goals` column stays.
//!
//! Only the top-level rows get the columns (and, with `flat=1`, every row,
//! since Matomo flattens first); a column the row already has is not
//! computed again, and a report's own processed metric of the same name
//! (Actions' `bounce_rate`) replaces the value while keeping the position.

use std::cmp::Ordering;

use tally_datatable::filters::Filters;
use tally_datatable::{ColumnKey, Columns, DataTable, GoalColumns, Goals, Row, Scalar, Value};

use super::{get, number, quotient};
use crate::formatting::ReportMetrics;
use crate::request::ApiRequest;

/// Matomo's names for the ecommerce goal ids 0 and −1 (§6.5).
const ECOMMERCE_ORDER: &str = "ecommerceOrder";
const ECOMMERCE_CART: &str = "ecommerceAbandonedCart";

/// What the goal-column parameters of a request ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GoalFilters {
    /// `filter_add_columns_when_show_all_columns`: whether rows without
    /// visits and actions are deleted.
    add_columns: Option<bool>,
    /// `filter_update_columns_when_show_all_goals` with `idGoal`.
    per_goal: Option<PerGoal>,
    /// `flat=1`: every row is a top-level row once flattened.
    flat: bool,
}

/// `AddColumnsProcessedMetricsGoal`'s `processOnlyIdGoal` and
/// `goalsToProcess`.
///
/// `idGoal` (as given; absent means the single goal of
/// `filter_show_goal_columns_process_goals` when it names one, else -1)
/// selects, with PHP's loose comparisons:
///
/// - `-2`: no per-goal metric;
/// - `-1`: only `goal_<id>_conversion_rate`, for every goal;
/// - `0` and other values not above 0: the four metrics of every goal;
///   the Actions page modes add, per goal, `nb_conversions_attrib`,
///   `revenue_attrib` and `nb_conversions_page_rate` (`-3`, and `-5` for
///   ecommerce) or `nb_conversions_entry`, `revenue_per_entry`,
///   `revenue_entry` and `nb_conversions_entry_rate` (`-4`, `-6`), from
///   the rows' page goal metrics; `-5` and `-6` also add
///   `avg_order_revenue` and `items`;
/// - a goal id above 0: the four metrics of that goal only;
/// - `ecommerceOrder` / `ecommerceAbandonedCart`: the four metrics plus
///   `avg_order_revenue` and `items`, for the goal of that very name only,
///   which comes from `filter_show_goal_columns_process_goals` (goals met
///   in rows are numbers and never equal it);
/// - any other text: the goals of that very name only.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PerGoal {
    process_only: String,
    goals_to_process: Vec<String>,
}

/// A column the filters add.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Metric {
    ConversionRate,
    ActionsPerVisit,
    AvgTimeOnSite,
    BounceRate,
    RevenuePerVisit,
    Goal(String, GoalMetric),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoalMetric {
    ConversionRate,
    Conversions,
    RevenuePerVisit,
    Revenue,
    AvgOrderRevenue,
    Items,
    /// Page reports (`idGoal=-3` / `-5`).
    ConversionsAttrib,
    RevenueAttrib,
    ConversionPageRate,
    /// Entry page reports (`idGoal=-4` / `-6`).
    ConversionsEntry,
    RevenuePerEntry,
    RevenueEntry,
    ConversionEntryRate,
}

impl GoalMetric {
    fn suffix(self) -> &'static str {
        match self {
            Self::ConversionRate => "conversion_rate",
            Self::Conversions => "nb_conversions",
            Self::RevenuePerVisit => "revenue_per_visit",
            Self::Revenue => "revenue",
            Self::AvgOrderRevenue => "avg_order_revenue",
            Self::Items => "items",
            Self::ConversionsAttrib => "nb_conversions_attrib",
            Self::RevenueAttrib => "revenue_attrib",
            Self::ConversionPageRate => "nb_conversions_page_rate",
            Self::ConversionsEntry => "nb_conversions_entry",
            Self::RevenuePerEntry => "revenue_per_entry",
            Self::RevenueEntry => "revenue_entry",
            Self::ConversionEntryRate => "nb_conversions_entry_rate",
        }
    }
}

impl Metric {
    fn name(&self) -> String {
        match self {
            Self::ConversionRate => "conversion_rate".to_owned(),
            Self::ActionsPerVisit => "nb_actions_per_visit".to_owned(),
            Self::AvgTimeOnSite => "avg_time_on_site".to_owned(),
            Self::BounceRate => "bounce_rate".to_owned(),
            Self::RevenuePerVisit => "revenue_per_visit".to_owned(),
            Self::Goal(id, metric) => format!("goal_{id}_{}", metric.suffix()),
        }
    }

    fn compute(&self, columns: &Columns) -> Value {
        let visits = get(columns, "nb_visits");
        match self {
            Self::ConversionRate => {
                number(quotient(get(columns, "nb_visits_converted"), visits, 4))
            }
            Self::ActionsPerVisit => number(quotient(get(columns, "nb_actions"), visits, 1)),
            Self::AvgTimeOnSite => number(quotient(get(columns, "sum_visit_length"), visits, 0)),
            Self::BounceRate => number(quotient(get(columns, "bounce_count"), visits, 2)),
            Self::RevenuePerVisit => number(revenue_per_visit(columns)),
            Self::Goal(id, metric) => {
                let goal = goals_of(columns).and_then(|goals| goal_entry(goals, id));
                let value = |name: &str| goal.map_or(0.0, |goal| goal_value(goal, name));
                let conversions = value("nb_conversions");
                let revenue = value("revenue");
                match metric {
                    GoalMetric::ConversionRate => number(quotient(conversions, visits, 4)),
                    GoalMetric::Conversions => number(conversions.trunc()),
                    GoalMetric::RevenuePerVisit => {
                        let divisor = if visits == 0.0 { conversions } else { visits };
                        number(quotient(revenue, divisor, 2))
                    }
                    GoalMetric::Revenue => number(revenue),
                    GoalMetric::AvgOrderRevenue => number(quotient(revenue, conversions, 2)),
                    GoalMetric::Items => number(value("items").trunc()),
                    // Matomo returns these two as stored (null for a row
                    // without the goal, which we write as 0).
                    GoalMetric::ConversionsAttrib => number(value("nb_conversions_attrib")),
                    GoalMetric::ConversionPageRate => number(value("nb_conversions_page_rate")),
                    GoalMetric::RevenueAttrib => number(value("revenue_attrib")),
                    GoalMetric::ConversionsEntry => number(value("nb_conversions_entry").trunc()),
                    GoalMetric::RevenueEntry => number(value("revenue_entry")),
                    GoalMetric::RevenuePerEntry => {
                        // The goal's whole revenue, not its entry revenue,
                        // as Matomo's RevenuePerEntry reads it.
                        let entrances = get(columns, "entry_nb_visits");
                        let divisor = if entrances == 0.0 {
                            conversions
                        } else {
                            entrances
                        };
                        number(quotient(revenue, divisor, 2))
                    }
                    GoalMetric::ConversionEntryRate => {
                        let entrances = get(columns, "entry_nb_visits");
                        if entrances > 0.0 {
                            number(quotient(value("nb_conversions_entry"), entrances, 3))
                        } else {
                            Value::Int(0)
                        }
                    }
                }
            }
        }
    }
}

/// The overall `revenue_per_visit` (Goals' `RevenuePerVisit`): the
/// revenue of the goals with an id of 0 or more (abandoned carts left
/// out), each cut to an integer as PHP's `(int)` does, else the row's
/// `revenue` cut alike; over the visits, or over the conversions when the
/// row has no visits; 2 decimals.
fn revenue_per_visit(columns: &Columns) -> f64 {
    let mut revenue: f64 = goals_of(columns).map_or(0.0, |goals| {
        goals
            .0
            .iter()
            .filter(|(idgoal, _)| **idgoal >= 0)
            .map(|(_, goal)| goal_value(goal, "revenue").trunc())
            .sum()
    });
    if revenue == 0.0 {
        revenue = get(columns, "revenue").trunc();
    }
    let visits = get(columns, "nb_visits").trunc();
    let divisor = if visits == 0.0 {
        get(columns, "nb_conversions").trunc()
    } else {
        visits
    };
    quotient(revenue, divisor, 2)
}

fn goals_of(columns: &Columns) -> Option<&Goals> {
    match columns.find("goals") {
        Some(Value::Goals(goals)) => Some(goals),
        _ => None,
    }
}

/// The metrics of goal `id` in a row: a canonical integer is that goal
/// (PHP array keys), `ecommerceOrder` is 0 and `ecommerceAbandonedCart`
/// -1 (`GoalSpecificProcessedMetric::getGoalMetrics`).
fn goal_entry<'g>(goals: &'g Goals, id: &str) -> Option<&'g GoalColumns> {
    let key = match id {
        ECOMMERCE_ORDER => 0,
        ECOMMERCE_CART => -1,
        _ => id.parse::<i64>().ok().filter(|key| key.to_string() == id)?,
    };
    goals.0.get(&key)
}

/// A goal metric by name, whether keyed by id (archives) or by name.
fn goal_value(goal: &GoalColumns, name: &str) -> f64 {
    goal.iter()
        .find(|(key, _)| key.goal_name() == name)
        .and_then(|(_, value)| value.as_f64())
        .unwrap_or(0.0)
}

/// PHP's `is_numeric` value of a string.
fn numeric(text: &str) -> Option<f64> {
    Scalar::Str(text.to_owned()).as_f64()
}

/// PHP's `(int)` of a string, reduced to whether it is 0: the number at
/// the start of the text (after whitespace), cut to an integer.
fn php_int_is_zero(text: &str) -> bool {
    let text = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let mut end = 0;
    let bytes = text.as_bytes();
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let mut seen_point = false;
    let mut seen_exponent = false;
    while let Some(&byte) = bytes.get(end) {
        match byte {
            b'0'..=b'9' => {}
            b'.' if !seen_point && !seen_exponent => seen_point = true,
            b'e' | b'E' if !seen_exponent && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) => {
                seen_exponent = true;
            }
            _ => break,
        }
        end += 1;
    }
    text[..end]
        .parse::<f64>()
        .map_or(true, |value| value.trunc() == 0.0)
}

/// PHP 8's `==` between two strings: numerically when both are numeric.
fn php_loose_eq(a: &str, b: &str) -> bool {
    match (numeric(a), numeric(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// PHP 8's `sort()` of goal ids, made total: numeric ids by value, then
/// names (`ecommerceOrder`) by bytes, which is PHP's order for them.
fn goal_order(a: &str, b: &str) -> Ordering {
    match (numeric(a), numeric(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

impl PerGoal {
    fn is_ecommerce(&self) -> bool {
        matches!(self.process_only.as_str(), ECOMMERCE_ORDER | ECOMMERCE_CART)
    }

    fn is(&self, mode: f64) -> bool {
        numeric(&self.process_only) == Some(mode)
    }

    /// Whether `idGoal` limits the goals to itself (`> 0` in PHP 8: by
    /// value when numeric, else as text against "0").
    fn restricts(&self) -> bool {
        self.is_ecommerce()
            || match numeric(&self.process_only) {
                Some(value) => value > 0.0,
                None => self.process_only.as_str() > "0",
            }
    }

    fn metrics(&self, goals: &[String], out: &mut Vec<Metric>) {
        out.push(Metric::RevenuePerVisit);
        if self.is(-2.0) {
            return;
        }
        for goal in goals {
            if self.restricts() && !php_loose_eq(&self.process_only, goal) {
                continue;
            }
            out.push(Metric::Goal(goal.clone(), GoalMetric::ConversionRate));
            if self.is(-1.0) {
                continue;
            }
            for metric in [
                GoalMetric::Conversions,
                GoalMetric::RevenuePerVisit,
                GoalMetric::Revenue,
            ] {
                out.push(Metric::Goal(goal.clone(), metric));
            }
            if self.is(-3.0) || self.is(-5.0) {
                for metric in [
                    GoalMetric::ConversionsAttrib,
                    GoalMetric::RevenueAttrib,
                    GoalMetric::ConversionPageRate,
                ] {
                    out.push(Metric::Goal(goal.clone(), metric));
                }
            }
            if self.is(-4.0) || self.is(-6.0) {
                for metric in [
                    GoalMetric::ConversionsEntry,
                    GoalMetric::RevenuePerEntry,
                    GoalMetric::RevenueEntry,
                    GoalMetric::ConversionEntryRate,
                ] {
                    out.push(Metric::Goal(goal.clone(), metric));
                }
            }
            if self.is_ecommerce() || self.is(-5.0) || self.is(-6.0) {
                out.push(Metric::Goal(goal.clone(), GoalMetric::AvgOrderRevenue));
                out.push(Metric::Goal(goal.clone(), GoalMetric::Items));
            }
        }
    }
}

impl GoalFilters {
    /// Reads the parameters; none apply with `disable_generic_filters`.
    pub(crate) fn from_request(request: &ApiRequest, filters: &Filters) -> Self {
        if filters.disable_generic_filters {
            return Self::default();
        }
        // `getRequestVar(…, null, 'integer')`: an integral number, else
        // the filter is off.
        let add_columns = request
            .non_empty("filter_add_columns_when_show_all_columns")
            .and_then(numeric)
            .filter(|value| value.is_finite() && value.trunc() == *value)
            .map(|value| value != 0.0);
        let per_goal = request
            .non_empty("filter_update_columns_when_show_all_goals")
            .filter(|value| {
                !php_int_is_zero(value) || matches!(*value, "0" | ECOMMERCE_ORDER | ECOMMERCE_CART)
            })
            .map(|_| {
                let goals_to_process: Vec<String> = request
                    .get("filter_show_goal_columns_process_goals")
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    // `array_filter`: empty entries and "0" go.
                    .filter(|goal| !goal.is_empty() && *goal != "0")
                    .map(str::to_owned)
                    .collect();
                let default = match goals_to_process.as_slice() {
                    [only] => only.clone(),
                    _ => "-1".to_owned(),
                };
                let process_only = request.non_empty("idGoal").map_or(default, str::to_owned);
                PerGoal {
                    process_only,
                    goals_to_process,
                }
            });
        Self {
            add_columns,
            per_goal,
            flat: filters.flat,
        }
    }

    /// Whether the request asks for none of the columns.
    pub(crate) fn is_empty(&self) -> bool {
        self.add_columns.is_none() && self.per_goal.is_none()
    }

    /// The metric objects of a report after these filters (what
    /// `format_metrics=1|all` formats).
    pub(crate) fn report_metrics(&self, declared: ReportMetrics) -> ReportMetrics {
        if self.is_empty() {
            declared
        } else {
            declared.with_goal_columns()
        }
    }

    /// Adds the requested columns to the rows of `table`.
    pub(crate) fn apply(&self, table: &mut DataTable) {
        if self.is_empty() {
            return;
        }
        if self.add_columns == Some(true) {
            delete_rows_without_visits(table, self.flat);
        }
        let mut metrics = vec![
            Metric::ConversionRate,
            Metric::ActionsPerVisit,
            Metric::AvgTimeOnSite,
            Metric::BounceRate,
        ];
        if let Some(per_goal) = &self.per_goal {
            let mut goals = Vec::new();
            goals_in_table(table, self.flat, &mut goals);
            if !per_goal.goals_to_process.is_empty() {
                for goal in &per_goal.goals_to_process {
                    if !goals.contains(goal) {
                        goals.push(goal.clone());
                    }
                }
                goals.sort_by(|a, b| goal_order(a, b));
            }
            per_goal.metrics(&goals, &mut metrics);
        }
        let named: Vec<(String, Metric)> = metrics
            .into_iter()
            .map(|metric| (metric.name(), metric))
            .collect();
        add_columns(table, &named, self.flat);
    }
}

/// The goal ids in the `goals` columns of the top-level rows of an
/// Actions table (the summary row left out), in the order met: the goals
/// whose totals [`conversion_page_rates`] needs.
pub(crate) fn page_goal_ids(table: &DataTable) -> Vec<i64> {
    let mut ids = Vec::new();
    for row in table.rows() {
        if let Some(goals) = goals_of(&row.columns) {
            for idgoal in goals.0.keys() {
                if !ids.contains(idgoal) {
                    ids.push(*idgoal);
                }
            }
        }
    }
    ids
}

/// Matomo's `CalculateConversionPageRate`, which every Actions method
/// runs: on the top-level rows (not the subtables of an expanded table,
/// whose stored 0 stays; `idSubtable` makes the subtable the top level),
/// a goal's `nb_conversions_page_rate` becomes its
/// `nb_conversions_page_uniq` over the period's conversions of that goal
/// (`Goal_<id>_nb_conversions`), 3 decimals, at most 1 (a folder counts
/// the conversions of each of its pages). A goal without a total keeps
/// its value where no goal has one, and gets 0 otherwise.
pub(crate) fn conversion_page_rates(table: &mut DataTable, totals: &[(i64, f64)]) {
    if totals.is_empty() {
        return;
    }
    let page_uniq = ColumnKey::Id(tally_datatable::metrics::GOAL_NB_CONVERSIONS_PAGE_UNIQ);
    let page_rate = ColumnKey::Id(tally_datatable::metrics::GOAL_NB_CONVERSIONS_PAGE_RATE);
    for row in table.rows_mut() {
        let key = row
            .columns
            .iter()
            .find(|(key, _)| key.name() == "goals")
            .map(|(key, _)| key.clone());
        let Some(Value::Goals(goals)) = key.and_then(|key| row.columns.get_mut(&key)) else {
            continue;
        };
        for (idgoal, columns) in goals.0.iter_mut() {
            let Some(uniq) = columns.get(&page_uniq).and_then(Scalar::as_f64) else {
                continue;
            };
            let total = totals
                .iter()
                .find(|(id, _)| id == idgoal)
                .map_or(0.0, |(_, total)| *total);
            let rate = quotient(uniq, total, 3).min(1.0);
            let value = match number(rate) {
                Value::Int(value) => Scalar::Int(value),
                _ => Scalar::Float(rate),
            };
            columns.set(page_rate.clone(), value);
        }
    }
}

/// `AddColumnsProcessedMetrics::deleteRowsWithNoVisit`: rows whose visits
/// and actions are both 0 (as integers).
fn delete_rows_without_visits(table: &mut DataTable, recursive: bool) {
    let empty = |row: &Row| {
        get(&row.columns, "nb_visits").trunc() == 0.0
            && get(&row.columns, "nb_actions").trunc() == 0.0
    };
    table.retain_rows(|row| !empty(row));
    if table.summary_row().is_some_and(empty) {
        table.take_summary_row();
    }
    if recursive {
        for row in table.rows_mut() {
            if let Some(subtable) = row.subtable.as_deref_mut() {
                delete_rows_without_visits(subtable, true);
            }
        }
    }
}

/// The goal ids of the rows' `goals` columns, in the order met.
fn goals_in_table(table: &DataTable, recursive: bool, out: &mut Vec<String>) {
    for row in table.all_rows() {
        if let Some(goals) = goals_of(&row.columns) {
            for idgoal in goals.0.keys() {
                let id = idgoal.to_string();
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        if recursive && let Some(subtable) = row.subtable.as_deref() {
            goals_in_table(subtable, true, out);
        }
    }
}

fn add_columns(table: &mut DataTable, metrics: &[(String, Metric)], recursive: bool) {
    let add = |row: &mut Row| {
        for (name, metric) in metrics {
            if row.columns.find(name).is_none() {
                let value = metric.compute(&row.columns);
                row.columns.set(ColumnKey::from(name.as_str()), value);
            }
        }
    };
    for row in table.rows_mut() {
        add(row);
        if recursive && let Some(subtable) = row.subtable.as_deref_mut() {
            add_columns(subtable, metrics, true);
        }
    }
    // Matomo's `getRows()` includes the summary row.
    if let Some(summary) = table.summary_row_mut() {
        add(summary);
    }
}

#[cfg(test)]
mod tests {
    use tally_datatable::{GoalColumns, Goals};

    use super::*;

    fn goal(conversions: i64, converted: i64, revenue: Scalar) -> GoalColumns {
        [
            (ColumnKey::from("nb_conversions"), Scalar::Int(conversions)),
            (
                ColumnKey::from("nb_visits_converted"),
                Scalar::Int(converted),
            ),
            (ColumnKey::from("revenue"), revenue),
        ]
        .into_iter()
        .collect()
    }

    /// Matomo's `goals_ecommerce` system test, "Direct Entry": 3 visits,
    /// 13 actions, 5403 s, 2 converted; an abandoned cart, orders worth
    /// 3111.11 (2 of them, 10 items) and goal 1 worth 10.
    fn direct_entry() -> Row {
        let mut order = goal(2, 1, Scalar::Float(3111.11));
        order.set(ColumnKey::from("items"), Scalar::Int(10));
        let goals = Goals::new()
            .with(-1, goal(2, 2, Scalar::Float(5020.22)))
            .with(0, order)
            .with(1, goal(1, 1, Scalar::Int(10)));
        let mut row = Row::new("Direct Entry");
        for (name, value) in [
            ("nb_visits", Value::Int(3)),
            ("nb_actions", Value::Int(13)),
            ("sum_visit_length", Value::Int(5403)),
            ("bounce_count", Value::Int(0)),
            ("nb_visits_converted", Value::Int(2)),
            ("goals", Value::Goals(goals)),
            ("nb_conversions", Value::Int(3)),
            ("revenue", Value::Float(3121.11)),
        ] {
            row.columns.set(ColumnKey::from(name), value);
        }
        row
    }

    fn filters(query: &str) -> GoalFilters {
        GoalFilters::from_request(&ApiRequest::from_parts(query, None), &Filters::default())
    }

    fn added(query: &str, row: Row) -> Vec<(String, Value)> {
        let mut table = DataTable::from_rows([row]);
        filters(query).apply(&mut table);
        let row = &table.rows()[0];
        row.columns
            .iter()
            .skip_while(|(key, _)| key.name() != "revenue")
            .skip(1)
            .map(|(key, value)| (key.name().into_owned(), value.clone()))
            .collect()
    }

    fn pairs(expected: &[(&str, Value)]) -> Vec<(String, Value)> {
        expected
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    #[test]
    fn ecommerce_order_columns_match_matomos_system_test() {
        // test_goals_ecommerceshowSalesByReferrers: the same values, in
        // the same order (revenue_per_visit sums the integer parts: 3121/3).
        let columns = added(
            "filter_update_columns_when_show_all_goals=ecommerceOrder\
             &filter_show_goal_columns_process_goals=ecommerceOrder&idGoal=ecommerceOrder",
            direct_entry(),
        );
        assert_eq!(
            columns,
            pairs(&[
                ("conversion_rate", Value::Float(0.6667)),
                ("nb_actions_per_visit", Value::Float(4.3)),
                ("avg_time_on_site", Value::Int(1801)),
                ("bounce_rate", Value::Int(0)),
                ("revenue_per_visit", Value::Float(1040.33)),
                ("goal_ecommerceOrder_conversion_rate", Value::Float(0.6667)),
                ("goal_ecommerceOrder_nb_conversions", Value::Int(2)),
                (
                    "goal_ecommerceOrder_revenue_per_visit",
                    Value::Float(1037.04)
                ),
                ("goal_ecommerceOrder_revenue", Value::Float(3111.11)),
                (
                    "goal_ecommerceOrder_avg_order_revenue",
                    Value::Float(1555.56)
                ),
                ("goal_ecommerceOrder_items", Value::Int(10)),
            ])
        );
    }

    #[test]
    fn without_id_goal_every_goal_gets_its_conversion_rate_only() {
        let columns = added(
            "filter_update_columns_when_show_all_goals=1",
            direct_entry(),
        );
        let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "conversion_rate",
                "nb_actions_per_visit",
                "avg_time_on_site",
                "bounce_rate",
                "revenue_per_visit",
                "goal_-1_conversion_rate",
                "goal_0_conversion_rate",
                "goal_1_conversion_rate",
            ]
        );
        assert_eq!(columns[7].1, Value::Float(0.3333));
    }

    #[test]
    fn id_goal_zero_is_every_goal_and_a_positive_id_one_goal() {
        let all = added(
            "filter_update_columns_when_show_all_goals=1&idGoal=0",
            direct_entry(),
        );
        // Four per goal, abandoned carts included; no ecommerce extras.
        assert_eq!(all.len(), 5 + 3 * 4);
        let one = added(
            "filter_update_columns_when_show_all_goals=1&idGoal=1",
            direct_entry(),
        );
        assert_eq!(
            one[5..],
            pairs(&[
                ("goal_1_conversion_rate", Value::Float(0.3333)),
                ("goal_1_nb_conversions", Value::Int(1)),
                ("goal_1_revenue_per_visit", Value::Float(3.33)),
                ("goal_1_revenue", Value::Int(10)),
            ])[..]
        );
        // A goal the row does not have: zeros.
        let missing = added(
            "filter_update_columns_when_show_all_goals=1&idGoal=7\
             &filter_show_goal_columns_process_goals=7",
            direct_entry(),
        );
        assert_eq!(
            missing[5..],
            pairs(&[
                ("goal_7_conversion_rate", Value::Int(0)),
                ("goal_7_nb_conversions", Value::Int(0)),
                ("goal_7_revenue_per_visit", Value::Int(0)),
                ("goal_7_revenue", Value::Int(0)),
            ])[..]
        );
        // -2: the overall metrics only.
        let minimal = added(
            "filter_update_columns_when_show_all_goals=1&idGoal=-2",
            direct_entry(),
        );
        assert_eq!(minimal.len(), 5);
    }

    #[test]
    fn ecommerce_id_goal_needs_the_goal_named_in_process_goals() {
        // Goals met in rows are numbers: `ecommerceOrder` never equals them.
        let columns = added(
            "filter_update_columns_when_show_all_goals=1&idGoal=ecommerceOrder",
            direct_entry(),
        );
        assert_eq!(columns.len(), 5);
        // One goal in process_goals is the default idGoal.
        let default = added(
            "filter_update_columns_when_show_all_goals=1&filter_show_goal_columns_process_goals=1",
            direct_entry(),
        );
        assert_eq!(default.len(), 5 + 4);
    }

    #[test]
    fn which_values_turn_the_filters_on() {
        for on in [
            "1",
            "0",
            "5",
            " 2x",
            "ecommerceOrder",
            "ecommerceAbandonedCart",
        ] {
            let query = format!("filter_update_columns_when_show_all_goals={on}");
            assert!(filters(&query).per_goal.is_some(), "{on}");
        }
        for off in ["", "00", "abc", "0.5", "ecommerceorder"] {
            let query = format!("filter_update_columns_when_show_all_goals={off}");
            assert!(filters(&query).per_goal.is_none(), "{off}");
        }
        assert_eq!(
            filters("filter_add_columns_when_show_all_columns=0").add_columns,
            Some(false)
        );
        assert_eq!(
            filters("filter_add_columns_when_show_all_columns=1").add_columns,
            Some(true)
        );
        assert_eq!(
            filters("filter_add_columns_when_show_all_columns=yes").add_columns,
            None
        );
        let disabled = GoalFilters::from_request(
            &ApiRequest::from_parts("filter_add_columns_when_show_all_columns=1", None),
            &Filters {
                disable_generic_filters: true,
                ..Filters::default()
            },
        );
        assert!(disabled.is_empty());
    }

    #[test]
    fn show_all_columns_deletes_rows_without_visits_unless_zero() {
        let mut conversions_only = Row::new("campaign");
        conversions_only
            .columns
            .set(ColumnKey::from("nb_conversions"), Value::Int(2));
        conversions_only
            .columns
            .set(ColumnKey::from("revenue"), Value::Int(6));
        let rows = || [direct_entry(), conversions_only.clone()];
        let mut table = DataTable::from_rows(rows());
        filters("filter_add_columns_when_show_all_columns=1").apply(&mut table);
        assert_eq!(table.rows().len(), 1);
        let mut table = DataTable::from_rows(rows());
        filters("filter_add_columns_when_show_all_columns=0").apply(&mut table);
        assert_eq!(table.rows().len(), 2);
        // No visits: revenue per visit is per conversion instead.
        let mut table = DataTable::from_rows(rows());
        filters("filter_update_columns_when_show_all_goals=1").apply(&mut table);
        assert_eq!(table.rows().len(), 2);
        assert_eq!(
            table.rows()[1].columns.find("revenue_per_visit"),
            Some(&Value::Int(3))
        );
    }

    #[test]
    fn goals_given_are_merged_and_sorted() {
        let mut goals = vec!["ecommerceOrder", "2", "-1", "10", "0"];
        goals.sort_by(|a, b| goal_order(a, b));
        assert_eq!(goals, ["-1", "0", "2", "10", "ecommerceOrder"]);
        let columns = added(
            "filter_update_columns_when_show_all_goals=1\
             &filter_show_goal_columns_process_goals=3,ecommerceOrder",
            direct_entry(),
        );
        let rates: Vec<&str> = columns[5..].iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            rates,
            [
                "goal_-1_conversion_rate",
                "goal_0_conversion_rate",
                "goal_1_conversion_rate",
                "goal_3_conversion_rate",
                "goal_ecommerceOrder_conversion_rate",
            ]
        );
    }
}
