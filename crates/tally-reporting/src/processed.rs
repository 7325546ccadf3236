//! Processed metrics (§7.7): computed at API time, never stored.
//!
//! `Piwik::getQuotientSafe(a, b, precision)` is 0 when `b` is 0, else
//! `round(a / b, precision)`. Quotients are kept as numbers here;
//! `format_metrics` turns them into display strings afterwards
//! (`crate::formatting`).

use tally_datatable::format::round_php;
use tally_datatable::{ColumnKey, Columns, DataTable, Row, Value};

mod goals;

pub(crate) use goals::{GoalFilters, conversion_page_rates, page_goal_ids};

/// A number as Matomo's JSON shows it: integral values without a fraction.
pub(crate) fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        // Exact: integral and within i64's exactly representable range.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked integral and in range above"
        )]
        Value::Int(value as i64)
    } else {
        Value::Float(value)
    }
}

fn quotient(dividend: f64, divisor: f64, precision: i32) -> f64 {
    if divisor == 0.0 {
        0.0
    } else {
        round_php(dividend / divisor, precision)
    }
}

fn get(columns: &Columns, name: &str) -> f64 {
    columns.find(name).and_then(Value::as_f64).unwrap_or(0.0)
}

fn set(columns: &mut Columns, name: &str, value: f64) {
    columns.set(ColumnKey::from(name), number(value));
}

/// Per visit: `(column, dividend, precision)` quotients of `nb_visits`, set
/// in the given order (each report lists its processed metrics in its own).
fn per_visit(columns: &mut Columns, quotients: [(&str, &str, i32); 3]) {
    let visits = get(columns, "nb_visits");
    for (name, dividend, precision) in quotients {
        let value = quotient(get(columns, dividend), visits, precision);
        set(columns, name, value);
    }
}

const BOUNCE_RATE: (&str, &str, i32) = ("bounce_rate", "bounce_count", 2);
const ACTIONS_PER_VISIT: (&str, &str, i32) = ("nb_actions_per_visit", "nb_actions", 1);
const TIME_ON_SITE: (&str, &str, i32) = ("avg_time_on_site", "sum_visit_length", 0);

/// `nb_actions_per_visit` of a row (`ActionsPerVisit`: one decimal, 0
/// without visits).
pub(crate) fn actions_per_visit(columns: &Columns) -> Value {
    let (name, dividend, precision) = ACTIONS_PER_VISIT;
    debug_assert_eq!(name, "nb_actions_per_visit");
    number(quotient(
        get(columns, dividend),
        get(columns, "nb_visits"),
        precision,
    ))
}

/// `VisitsSummary.get`: bounce rate, actions per visit, time on site.
pub(crate) fn visits_summary(columns: &mut Columns) {
    per_visit(columns, [BOUNCE_RATE, ACTIONS_PER_VISIT, TIME_ON_SITE]);
}

/// A visit custom dimension's row, in Matomo's order (`AverageTimeOnSite`,
/// `BounceRate`, `ActionsPerVisit`); a row of conversions only has 0s.
fn custom_visits_row(columns: &mut Columns) {
    per_visit(columns, [TIME_ON_SITE, BOUNCE_RATE, ACTIONS_PER_VISIT]);
}

/// An action custom dimension's row (`AverageTimeOnDimension`: time spent
/// per visit, `BounceRate`, `ExitRate`).
fn custom_actions_row(columns: &mut Columns) {
    per_visit(
        columns,
        [
            ("avg_time_on_dimension", "sum_time_spent", 0),
            BOUNCE_RATE,
            ("exit_rate", "exit_nb_visits", 2),
        ],
    );
}

/// The page-timing columns of Actions rows and their averages (seconds).
pub(crate) const PAGE_TIMINGS: [&str; 6] = [
    "network",
    "server",
    "transfer",
    "dom_processing",
    "dom_completion",
    "on_load",
];

/// The four stored columns of a page timing, in Matomo's order.
const TIMING_PREFIXES: [&str; 4] = ["sum_time_", "nb_hits_with_time_", "min_time_", "max_time_"];

/// Which page timing (index in [`PAGE_TIMINGS`]) a column belongs to.
fn timing_of(name: &str) -> Option<(usize, usize)> {
    TIMING_PREFIXES
        .iter()
        .enumerate()
        .find_map(|(part, prefix)| {
            let timing = name.strip_prefix(prefix)?;
            PAGE_TIMINGS
                .iter()
                .position(|t| *t == timing)
                .map(|index| (index, part))
        })
}

/// The page timing columns of page URL / title answers, as Matomo's rows
/// have them: run before [`bandwidth`] and [`page_timings`].
///
/// Archives keep a timing's columns only on rows with a hit that has it.
/// Matomo's answers give every row of the table (all levels) the columns
/// of each timing some row of it has: `0` hits and empty bounds where the
/// row has none (`ImportLogsTest`'s month and range outputs, the "Page URL
/// not defined" rows of `TwoVisitors_twoWebsites_differentDays`), and no
/// columns for a timing no row has. They sit after the time spent, in
/// PagePerformance's order (network, server, transfer, DOM processing, DOM
/// completion, on load), also where summing periods appended a timing a
/// later period brought.
pub(crate) fn page_timing_columns(table: &mut DataTable, metrics: TableMetrics) {
    if metrics != TableMetrics::Pages {
        return;
    }
    let present = timings_present(table);
    if present != 0 {
        align_timings(table, present);
    }
}

/// The answered table's rows (after the label filter and the generic
/// filters) lose the columns and the average of each timing none of them
/// has a hit with, as in Matomo's answers: `LabelFilterTest`'s page four
/// folders down has no timing columns though other pages of its day do.
/// A timing whose hit count is not shown (`showColumns`) is left alone.
pub(crate) fn drop_unused_page_timings(table: &mut DataTable, metrics: TableMetrics) {
    if metrics != TableMetrics::Pages {
        return;
    }
    let (shown, used) = timings_used(table);
    let unused = shown & !used;
    if unused != 0 {
        drop_timings(table, unused);
    }
}

/// Bits per timing whose hit count some row of the table or of its
/// subtables shows, and whose hit count is not zero there.
fn timings_used(table: &DataTable) -> (u8, u8) {
    let row_bits = |row: &Row| {
        let (mut shown, mut used) = (0u8, 0u8);
        for (index, timing) in PAGE_TIMINGS.iter().enumerate() {
            if let Some(hits) = row.columns.find(&format!("nb_hits_with_time_{timing}")) {
                shown |= 1 << index;
                if hits.as_f64().is_some_and(|hits| hits != 0.0) {
                    used |= 1 << index;
                }
            }
        }
        let (sub_shown, sub_used) = row.subtable.as_deref().map_or((0, 0), timings_used);
        (shown | sub_shown, used | sub_used)
    };
    let summary = table.summary_row().map(row_bits).unwrap_or_default();
    table
        .rows()
        .iter()
        .map(row_bits)
        .fold(summary, |(s, u), (rs, ru)| (s | rs, u | ru))
}

/// Removes the columns and average of each timing in `unused` (bits).
fn drop_timings(table: &mut DataTable, unused: u8) {
    let drop = |columns: &mut Columns| {
        columns.retain(|key, _| {
            let name = key.name();
            let timing = timing_of(&name).map(|(timing, _)| timing).or_else(|| {
                let average = name.strip_prefix("avg_time_")?;
                PAGE_TIMINGS.iter().position(|t| *t == average)
            });
            timing.is_none_or(|timing| unused & (1 << timing) == 0)
        });
    };
    for row in table.rows_mut() {
        drop(&mut row.columns);
        if let Some(subtable) = row.subtable.as_deref_mut() {
            drop_timings(subtable, unused);
        }
    }
    if let Some(summary) = table.summary_row_mut() {
        drop(&mut summary.columns);
    }
}

/// A bit per timing some row of the table (or of its subtables) has.
fn timings_present(table: &DataTable) -> u8 {
    let row_bits = |row: &Row| {
        let mut bits = 0u8;
        for key in row.columns.keys() {
            if let Some((timing, _)) = timing_of(&key.name()) {
                bits |= 1 << timing;
            }
        }
        bits | row.subtable.as_deref().map_or(0, timings_present)
    };
    let mut bits = table.rows().iter().map(row_bits).fold(0, |a, b| a | b);
    if let Some(summary) = table.summary_row() {
        bits |= row_bits(summary);
    }
    bits
}

fn align_timings(table: &mut DataTable, present: u8) {
    for row in table.rows_mut() {
        align_row_timings(&mut row.columns, present);
        if let Some(subtable) = row.subtable.as_deref_mut() {
            align_timings(subtable, present);
        }
    }
    if let Some(summary) = table.summary_row_mut() {
        align_row_timings(&mut summary.columns, present);
    }
}

fn align_row_timings(columns: &mut Columns, present: u8) {
    let mut stored: [[Option<(ColumnKey, Value)>; 4]; 6] = Default::default();
    columns.retain(|key, value| {
        let timing = timing_of(&key.name());
        if let Some((timing, part)) = timing {
            stored[timing][part] = Some((key.clone(), value.clone()));
        }
        timing.is_none()
    });
    // After the time spent and the hits following a search, where the
    // page query puts them, even when summing periods appended them last.
    let mut at = columns
        .keys()
        .enumerate()
        .filter(|(_, key)| {
            let name = key.name();
            name == "sum_time_spent" || name == "nb_hits_following_search"
        })
        .map(|(index, _)| index + 1)
        .last()
        .unwrap_or(columns.len());
    for (timing, parts) in stored.into_iter().enumerate() {
        if present & (1 << timing) == 0 {
            continue;
        }
        for (part, column) in parts.into_iter().enumerate() {
            let (key, value) = column.unwrap_or_else(|| {
                let name = format!("{}{}", TIMING_PREFIXES[part], PAGE_TIMINGS[timing]);
                let value = if part < 2 { Value::Int(0) } else { Value::Null };
                (ColumnKey::from(name), value)
            });
            columns.insert_at(at, key, value);
            at += 1;
        }
    }
}

/// The page timings of page URL / title reports (`TableMetrics::Pages`):
/// run before the goal-column filters and [`apply`], as in Matomo's order.
///
/// PagePerformance adds its averages to the answered table's own extra
/// processed metrics (table metadata, which subtables do not have) when
/// the API method answers, so they come before those of the goal-column
/// filters and the report's own. Each row of the answered table (every
/// row with `flat`) has `avg_page_load_time` (0 without timings) and an
/// average per timing it has; rows of expanded subtables get none and keep
/// the raw timing columns (Matomo's expected outputs with `expanded=1`).
pub(crate) fn page_timings(table: &mut DataTable, metrics: TableMetrics, flat: bool) {
    if metrics == TableMetrics::Pages {
        walk(table, page_timing_row, true, flat);
    }
}

fn page_timing_row(row: &mut Row, top: bool) {
    if !top {
        return;
    }
    let columns = &mut row.columns;
    let mut load_time = 0.0;
    for timing in PAGE_TIMINGS {
        let hits = columns
            .find(&format!("nb_hits_with_time_{timing}"))
            .and_then(Value::as_f64);
        if let Some(hits) = hits {
            let average = quotient(get(columns, &format!("sum_time_{timing}")), hits, 3);
            load_time += average;
            set(columns, &format!("avg_time_{timing}"), average);
        }
    }
    set(columns, "avg_page_load_time", round_php(load_time, 3));
}

/// The API methods whose answers carry the Bandwidth plugin's columns
/// (its `reportsToEnrich`, the Actions ones; their tables' rows hold the
/// stored columns, the answer gets `avg_bandwidth`).
pub(crate) const BANDWIDTH_METHODS: [&str; 16] = [
    "Actions.getPageUrls",
    "Actions.getPageUrl",
    "Actions.getPageTitles",
    "Actions.getPageTitle",
    "Actions.getDownloads",
    "Actions.getDownload",
    "Actions.getOutlink",
    "Actions.getOutlinks",
    "Actions.getEntryPageTitles",
    "Actions.getEntryPageUrls",
    "Actions.getExitPageTitles",
    "Actions.getExitPageUrls",
    "Actions.getSiteSearchKeywords",
    "Actions.getSiteSearchNoResultKeywords",
    "Actions.getPageTitlesFollowingSiteSearch",
    "Actions.getPageUrlsFollowingSiteSearch",
];

/// The four stored Bandwidth columns, in Matomo's order.
const BANDWIDTH_COLUMNS: [&str; 4] = [
    "sum_bandwidth",
    "nb_hits_with_bandwidth",
    "min_bandwidth",
    "max_bandwidth",
];

/// The Bandwidth plugin's columns of an Actions answer: run before
/// [`page_timings`] (its `API.<method>.end` listener adds `avg_bandwidth`
/// to the answered table's extra processed metrics before
/// PagePerformance's `API.Request.dispatch.end` does).
///
/// With `enabled` (`[reporting] bandwidth`) and one of
/// [`BANDWIDTH_METHODS`], every row gets the four stored columns: archives
/// keep them only on rows with sized hits, and rows without get what
/// Matomo stores there, `0`, `0` and empty bounds (SQL `MIN`/`MAX` of no
/// value), after the time spent and the page timings. Each row of the
/// answered table (every row with `flat`, as for the timings) then gets
/// `avg_bandwidth`: the bytes per sized hit, rounded down, 0 without;
/// here for page, download and outlink tables, by [`apply`] where Matomo
/// computes it after a method's own columns (site search keywords: after
/// `nb_pages_per_search`; single pages: last).
/// Otherwise the rows of an Actions table lose any stored columns, as
/// Matomo's without the plugin never have them.
pub(crate) fn bandwidth(
    table: &mut DataTable,
    method: &str,
    enabled: bool,
    metrics: TableMetrics,
    flat: bool,
) {
    if enabled && BANDWIDTH_METHODS.contains(&method) {
        let per_row: fn(&mut Row, bool) = match metrics {
            TableMetrics::Pages | TableMetrics::None => |row, top| {
                fill_bandwidth(&mut row.columns);
                if top {
                    average_bandwidth(&mut row.columns);
                }
            },
            _ => |row, _| fill_bandwidth(&mut row.columns),
        };
        walk(table, per_row, true, flat);
    } else if method.starts_with("Actions.") {
        // Only the Actions tables store the columns.
        walk(
            table,
            |row, _| remove_bandwidth(&mut row.columns),
            true,
            true,
        );
    }
}

fn remove_bandwidth(columns: &mut Columns) {
    columns.retain(|key, _| !BANDWIDTH_COLUMNS.contains(&key.name().as_ref()));
}

/// The stored columns of a row without sized hits.
fn fill_bandwidth(columns: &mut Columns) {
    if columns.find("nb_hits_with_bandwidth").is_none() {
        // After the last of the time spent, the hits following a search and
        // the page timings, where the archived ones are, else at the end.
        let after = columns
            .keys()
            .enumerate()
            .filter(|(_, key)| {
                let name = key.name();
                name == "sum_time_spent"
                    || name == "nb_hits_following_search"
                    || ["sum_time_", "nb_hits_with_time_", "min_time_", "max_time_"]
                        .iter()
                        .any(|prefix| name.starts_with(prefix))
            })
            .map(|(index, _)| index + 1)
            .last()
            .unwrap_or(columns.len());
        let defaults = [Value::Int(0), Value::Int(0), Value::Null, Value::Null];
        for (offset, (name, value)) in BANDWIDTH_COLUMNS.into_iter().zip(defaults).enumerate() {
            columns.insert_at(after + offset, ColumnKey::from(name), value);
        }
    }
}

/// `avg_bandwidth` (`AvgBandwidth`), on rows that have the stored columns
/// (those of the plugin's methods, with the switch on).
fn average_bandwidth(columns: &mut Columns) {
    let Some(hits) = columns
        .find("nb_hits_with_bandwidth")
        .and_then(Value::as_f64)
    else {
        return;
    };
    let sum = get(columns, "sum_bandwidth");
    let average = if hits > 0.0 && sum > 0.0 {
        (sum / hits).floor()
    } else {
        0.0
    };
    set(columns, "avg_bandwidth", average);
}

/// Page URL / title rows: time on page, bounce and exit rate, in Matomo's
/// column order (the timings come first, from [`page_timings`]).
fn page_row(row: &mut Row, _top: bool) {
    page_metrics(&mut row.columns);
}

/// Time on page, bounce and exit rate (`AverageTimeOnPage`, `BounceRate`,
/// `ExitRate`), which every Actions page row has.
fn page_metrics(columns: &mut Columns) {
    set(
        columns,
        "avg_time_on_page",
        quotient(get(columns, "sum_time_spent"), get(columns, "nb_hits"), 0),
    );
    let bounce = quotient(
        get(columns, "entry_bounce_count"),
        get(columns, "entry_nb_visits"),
        2,
    );
    set(columns, "bounce_rate", bounce);
    let exit = quotient(get(columns, "exit_nb_visits"), get(columns, "nb_visits"), 2);
    set(columns, "exit_rate", exit);
}

/// The row of `Actions.getPageUrl` / `getPageTitle`: the page metrics
/// without the page timings, whose columns PagePerformance only keeps in
/// the page reports.
fn single_page_row(row: &mut Row) {
    row.columns.retain(|key, _| {
        let name = key.name();
        !PAGE_TIMINGS.iter().any(|timing| {
            TIMING_PREFIXES
                .iter()
                .any(|prefix| name.strip_prefix(prefix) == Some(timing))
        })
    });
    page_metrics(&mut row.columns);
    average_bandwidth(&mut row.columns);
}

/// Site search rows: `nb_pages_per_search` (`addPagesPerSearchColumn`:
/// `hits` over visits, one decimal), then for keywords the processed
/// metrics of their report (time on page, bounce and exit rates).
fn site_search_row(row: &mut Row, hits: &str, with_page_metrics: bool) {
    let columns = &mut row.columns;
    let pages = quotient(get(columns, hits), get(columns, "nb_visits"), 1);
    set(columns, "nb_pages_per_search", pages);
    average_bandwidth(columns);
    if with_page_metrics {
        page_metrics(columns);
    }
}

/// `VisitsPercent` without a forced total: visits over the sum of the
/// table's visits, 2 decimals.
fn visits_percent(table: &mut DataTable) {
    let total: f64 = table
        .all_rows()
        .map(|row| {
            row.column("nb_visits")
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        })
        .sum();
    for row in table.rows_mut() {
        let share = quotient(get(&row.columns, "nb_visits"), total, 2);
        set(&mut row.columns, "nb_visits_percentage", share);
    }
    if let Some(summary) = table.summary_row_mut() {
        let share = quotient(get(&summary.columns, "nb_visits"), total, 2);
        set(&mut summary.columns, "nb_visits_percentage", share);
    }
}

/// Events rows: the average event value.
fn event_row(row: &mut Row) {
    let columns = &mut row.columns;
    let average = quotient(
        get(columns, "sum_event_value"),
        get(columns, "nb_events_with_value"),
        2,
    );
    set(columns, "avg_event_value", average);
}

/// Contents rows (`InteractionRate`): interactions per impression, to 4
/// decimals (0 without impressions).
fn content_row(row: &mut Row) {
    let columns = &mut row.columns;
    let rate = quotient(
        get(columns, "nb_interactions"),
        get(columns, "nb_impressions"),
        4,
    );
    set(columns, "interaction_rate", rate);
}

/// Ecommerce item rows (`AveragePrice`, `AverageQuantity`,
/// `ProductConversionRate`), each computed only where the row has no such
/// column yet (a viewed-only product keeps its viewed price as
/// `avg_price`), from `orders`, else `abandoned_carts`. `price` stays for
/// `API.getProcessedReport`'s totals; [`apply`] deletes it afterwards.
fn item_row(row: &mut Row) {
    let columns = &mut row.columns;
    let count = columns
        .find("orders")
        .or_else(|| columns.find("abandoned_carts"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let computed = [
        ("avg_price", quotient(get(columns, "price"), count, 2)),
        ("avg_quantity", quotient(get(columns, "quantity"), count, 1)),
        (
            "conversion_rate",
            quotient(count, get(columns, "nb_visits"), 4),
        ),
    ];
    for (name, value) in computed {
        if columns.find(name).is_none() {
            set(columns, name, value);
        }
    }
}

/// `getItems` queues a `ColumnDelete` of `price`, which only serves the
/// average: the answered rows never show it, but Matomo's
/// `API.getProcessedReport` totals the rows before the queued filters run,
/// so its `reportTotal` has the summed `price`.
fn delete_item_price(row: &mut Row, _top: bool) {
    let price = row
        .columns
        .keys()
        .find(|key| key.name() == "price")
        .cloned();
    if let Some(price) = price {
        row.columns.remove(&price);
    }
}

/// Which processed metrics a table report adds to each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableMetrics {
    /// None (visit-dimension reports show only stored metrics).
    None,
    /// Actions page URL and title reports.
    Pages,
    /// Events reports.
    Events,
    /// Ecommerce item reports.
    Items,
    /// Contents reports.
    Contents,
    /// `Actions.getSiteSearchKeywords` and `getSiteSearchNoResultKeywords`:
    /// results pages a search, then the Actions metrics without timings.
    SiteSearch,
    /// `Actions.getSiteSearchCategories`: results pages a search only.
    SiteSearchCategories,
    /// `Actions.getPageUrl` / `getPageTitle`: one page row, no timings.
    SinglePage,
    /// `VisitsPercent`: each row's share of the table's visits
    /// (`VisitorInterest.getNumberOfVisitsByVisitCount`).
    VisitsPercent,
    /// A visit-scope custom dimension: time on site, bounce rate, actions
    /// per visit (the plugin's report declares them as metric objects, so
    /// Matomo computes them for every answer).
    CustomVisits,
    /// An action-scope custom dimension: time on dimension, bounce and
    /// exit rate.
    CustomActions,
}

/// Adds the processed metrics to every row of `table`, recursively.
/// `flat`: the subtables' rows will be answered as rows of their own:
/// flattened into the answered table (Matomo flattens before computing
/// processed metrics), or picked by a `label` path (Matomo reads each
/// subtable on the path with a request of its own, which computes them).
/// `for_totals`: the rows are asked again (with `showRawMetrics=1`) for
/// `API.getProcessedReport`'s totals, which keep the ecommerce items'
/// `price`.
pub(crate) fn apply(table: &mut DataTable, metrics: TableMetrics, flat: bool, for_totals: bool) {
    if metrics == TableMetrics::VisitsPercent {
        visits_percent(table);
        return;
    }
    let per_row: fn(&mut Row, bool) = match metrics {
        TableMetrics::None => return,
        TableMetrics::Pages => page_row,
        TableMetrics::Events => |row, _| event_row(row),
        TableMetrics::Items => |row, _| item_row(row),
        TableMetrics::Contents => |row, _| content_row(row),
        TableMetrics::SiteSearch => |row, _| site_search_row(row, "nb_hits", true),
        TableMetrics::SiteSearchCategories => |row, _| site_search_row(row, "nb_actions", false),
        TableMetrics::SinglePage => |row, _| single_page_row(row),
        TableMetrics::CustomVisits => |row, _| custom_visits_row(&mut row.columns),
        TableMetrics::CustomActions => |row, _| custom_actions_row(&mut row.columns),
        TableMetrics::VisitsPercent => return,
    };
    walk(table, per_row, true, flat);
    if metrics == TableMetrics::Items && !for_totals {
        walk(table, delete_item_price, true, flat);
    }
}

fn walk(table: &mut DataTable, per_row: fn(&mut Row, bool), top: bool, flat: bool) {
    for row in table.rows_mut() {
        per_row(row, top);
        if let Some(subtable) = row.subtable.as_deref_mut() {
            walk(subtable, per_row, flat, flat);
        }
    }
    if let Some(summary) = table.summary_row_mut() {
        per_row(summary, top);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answered_page_rows_have_a_page_load_time_even_without_timings() {
        let page = || Row::new("/a").with("nb_hits", 2).with("sum_time_spent", 10);
        let load_time = |row: &Row| row.columns.find("avg_page_load_time").cloned();
        let folder = || {
            Row::new("dir")
                .with("nb_hits", 2)
                .with_subtable(DataTable::from_rows([page()]))
        };
        let mut table = DataTable::from_rows([page(), folder()]);
        page_timings(&mut table, TableMetrics::Pages, false);
        apply(&mut table, TableMetrics::Pages, false, false);
        let rows = table.rows();
        assert_eq!(load_time(&rows[0]), Some(Value::Int(0)));
        assert_eq!(load_time(&rows[1]), Some(Value::Int(0)));
        // An expanded subtable's row never, timings or not, as in Matomo.
        let sub = rows[1].subtable.as_deref().and_then(|t| t.rows().first());
        assert_eq!(sub.and_then(load_time), None);
        let timed = || {
            Row::new("/t")
                .with("nb_hits", 1)
                .with("sum_time_network", 0.5)
                .with("nb_hits_with_time_network", 1)
        };
        let mut table = DataTable::from_rows([Row::new("dir")
            .with("nb_hits", 1)
            .with_subtable(DataTable::from_rows([timed()]))]);
        page_timings(&mut table, TableMetrics::Pages, false);
        apply(&mut table, TableMetrics::Pages, false, false);
        let sub = table.rows()[0].subtable.as_deref().map(|t| &t.rows()[0]);
        let sub = sub.expect("subtable row");
        assert_eq!(sub.columns.find("avg_time_network"), None);
        assert_eq!(sub.columns.find("avg_page_load_time"), None);
        assert_eq!(
            sub.columns.find("sum_time_network"),
            Some(&Value::Float(0.5))
        );
        // Rows to be flattened are the answer's rows.
        let mut table = DataTable::from_rows([folder()]);
        page_timings(&mut table, TableMetrics::Pages, true);
        apply(&mut table, TableMetrics::Pages, true, false);
        let sub = table.rows().first().and_then(|row| row.subtable.as_deref());
        let sub = sub.and_then(|t| t.rows().first()).and_then(load_time);
        assert_eq!(sub, Some(Value::Int(0)));
    }

    fn column_names(row: &Row) -> Vec<String> {
        row.columns
            .keys()
            .map(|key| key.name().into_owned())
            .collect()
    }

    #[test]
    fn every_row_gets_the_timings_some_row_has_in_matomos_place_and_order() {
        // A range row whose on-load timing a later period appended last,
        // after its exits, and a page in a folder without any timing.
        let summed = Row::new("/a")
            .with("nb_hits", 3)
            .with("sum_time_spent", 10)
            .with("sum_time_server", 0.5)
            .with("nb_hits_with_time_server", 2)
            .with("min_time_server", Value::Decimal4(100))
            .with("max_time_server", Value::Decimal4(400))
            .with("exit_nb_visits", 1)
            .with("sum_time_on_load", 0.25)
            .with("nb_hits_with_time_on_load", 1)
            .with("min_time_on_load", Value::Decimal4(250))
            .with("max_time_on_load", Value::Decimal4(250));
        let bare = || Row::new("/b").with("nb_hits", 1).with("sum_time_spent", 4);
        let folder = Row::new("dir")
            .with("nb_hits", 1)
            .with("sum_time_spent", 4)
            .with_subtable(DataTable::from_rows([bare()]));
        let mut table = DataTable::from_rows([summed, folder]);
        page_timing_columns(&mut table, TableMetrics::Pages);
        let expected = |exit: bool| {
            let mut names = vec!["nb_hits".to_owned(), "sum_time_spent".to_owned()];
            for timing in ["server", "on_load"] {
                names.extend(TIMING_PREFIXES.map(|prefix| format!("{prefix}{timing}")));
            }
            if exit {
                names.push("exit_nb_visits".to_owned());
            }
            names
        };
        let rows = table.rows();
        assert_eq!(column_names(&rows[0]), expected(true));
        assert_eq!(column_names(&rows[1]), expected(false));
        let leaf = rows[1].subtable.as_deref().unwrap().rows()[0].clone();
        assert_eq!(column_names(&leaf), expected(false));
        assert_eq!(
            leaf.columns.find("nb_hits_with_time_server"),
            Some(&Value::Int(0))
        );
        assert_eq!(leaf.columns.find("min_time_on_load"), Some(&Value::Null));
        assert_eq!(
            rows[0].columns.find("min_time_on_load"),
            Some(&Value::Decimal4(250))
        );

        // The whole table keeps them: some row has a hit with each.
        drop_unused_page_timings(&mut table, TableMetrics::Pages);
        let sub = table.rows()[1].subtable.as_deref().unwrap();
        assert_eq!(column_names(&sub.rows()[0]), expected(false));
        // Answered alone (a label filter's row), the bare page loses them
        // again, averages included.
        let mut alone = DataTable::from_rows([leaf]);
        page_timings(&mut alone, TableMetrics::Pages, false);
        assert_eq!(
            alone.rows()[0].columns.find("avg_time_server"),
            Some(&Value::Int(0))
        );
        drop_unused_page_timings(&mut alone, TableMetrics::Pages);
        assert_eq!(
            column_names(&alone.rows()[0]),
            ["nb_hits", "sum_time_spent", "avg_page_load_time"]
        );
    }

    #[test]
    fn bandwidth_columns_are_filled_after_the_timings_and_averaged() {
        let names = |row: &Row| -> Vec<String> {
            row.columns
                .keys()
                .map(|key| key.name().into_owned())
                .collect()
        };
        let timed = Row::new("/t")
            .with("nb_hits", 3)
            .with("sum_time_spent", 10)
            .with("sum_time_network", 0.5)
            .with("nb_hits_with_time_network", 1)
            .with("exit_nb_visits", 1);
        let sized = Row::new("/s")
            .with("nb_hits", 3)
            .with("sum_bandwidth", 1001)
            .with("nb_hits_with_bandwidth", 2)
            .with("min_bandwidth", 1)
            .with("max_bandwidth", 1000);
        let mut table = DataTable::from_rows([timed, sized]);
        bandwidth(
            &mut table,
            "Actions.getPageUrls",
            true,
            TableMetrics::Pages,
            false,
        );
        let rows = table.rows();
        assert_eq!(
            names(&rows[0]),
            [
                "nb_hits",
                "sum_time_spent",
                "sum_time_network",
                "nb_hits_with_time_network",
                "sum_bandwidth",
                "nb_hits_with_bandwidth",
                "min_bandwidth",
                "max_bandwidth",
                "exit_nb_visits",
                "avg_bandwidth",
            ]
        );
        assert_eq!(rows[0].columns.find("min_bandwidth"), Some(&Value::Null));
        assert_eq!(rows[0].columns.find("avg_bandwidth"), Some(&Value::Int(0)));
        // 1001 bytes over 2 sized hits: 500, rounded down.
        assert_eq!(
            rows[1].columns.find("avg_bandwidth"),
            Some(&Value::Int(500))
        );
        // Not one of the plugin's methods: the stored columns go.
        let mut table = DataTable::from_rows([rows[1].clone()]);
        bandwidth(
            &mut table,
            "Actions.getSiteSearchCategories",
            true,
            TableMetrics::SiteSearchCategories,
            false,
        );
        assert!(table.rows()[0].columns.find("sum_bandwidth").is_none());
        // Switched off: the same.
        let mut table = DataTable::from_rows([rows[1].clone()]);
        bandwidth(
            &mut table,
            "Actions.getPageUrls",
            false,
            TableMetrics::Pages,
            false,
        );
        assert!(table.rows()[0].columns.find("max_bandwidth").is_none());
    }

    #[test]
    fn visits_summary_metrics_match_matomos_example() {
        // MATOMO.md §9.3: 2 visits, 8 actions, 1 bounce, 1622 s.
        let mut columns: Columns = [
            (ColumnKey::from("nb_visits"), Value::Int(2)),
            (ColumnKey::from("nb_actions"), Value::Int(8)),
            (ColumnKey::from("bounce_count"), Value::Int(1)),
            (ColumnKey::from("sum_visit_length"), Value::Int(1622)),
        ]
        .into_iter()
        .collect();
        visits_summary(&mut columns);
        assert_eq!(columns.find("bounce_rate"), Some(&Value::Float(0.5)));
        assert_eq!(columns.find("nb_actions_per_visit"), Some(&Value::Int(4)));
        assert_eq!(columns.find("avg_time_on_site"), Some(&Value::Int(811)));
    }

    #[test]
    fn quotients_of_zero_visits_are_zero() {
        let mut columns = Columns::new();
        visits_summary(&mut columns);
        assert_eq!(columns.find("bounce_rate"), Some(&Value::Int(0)));
        assert_eq!(columns.find("avg_time_on_site"), Some(&Value::Int(0)));
    }

    #[test]
    fn contents_rows_get_the_interaction_rate() {
        // ContentsTest's "Text Ad": 4 interactions of 6 impressions; a
        // subtable row without impressions gets 0.
        let mut table = DataTable::new();
        for (label, impressions, interactions) in [("Text Ad", 6, 4), ("piece", 0, 1)] {
            let row = Row::new(label)
                .with("nb_impressions", Value::Int(impressions))
                .with("nb_interactions", Value::Int(interactions));
            table.add_row(row).expect("distinct labels");
        }
        apply(&mut table, TableMetrics::Contents, false, false);
        let rates: Vec<_> = table
            .rows()
            .iter()
            .map(|row| row.columns.find("interaction_rate").cloned())
            .collect();
        assert_eq!(rates, [Some(Value::Float(0.6667)), Some(Value::Int(0))]);
    }
}
