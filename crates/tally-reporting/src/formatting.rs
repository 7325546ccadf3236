//! `format_metrics`: metric values rendered for display (MATOMO.md §7.7).
//!
//! Matomo formats a report after its filters (`DataTablePostProcessor::
//! applyMetricsFormatting`, `Metrics\Formatter::formatMetrics`), by one of
//! four modes read from `format_metrics`:
//!
//! - `bc` (the default): only percentage metrics, `0.5` → `"50%"`;
//! - `0`: nothing, quotients stay numbers;
//! - `1`: every metric *object* the report declares (its processed
//!   metrics, plus those a method attaches to the table) is passed through
//!   that metric's own `format()`: bounce and conversion rates become
//!   percentages, `avg_time_on_site` a sentence (`"1 min 42s"`),
//!   `avg_time_on_page` a clock (`"00:01:42"`), and metrics without a
//!   `format()` of their own (`nb_actions_per_visit`, `avg_event_value`)
//!   stay numbers. Stored metrics (`nb_visits`, `revenue`…) are strings in
//!   Matomo's report definitions, not objects, so they are never formatted;
//! - `all`: as `1`, then every numeric column whose name contains
//!   `revenue` becomes money in the site's currency (`"€5"`) — but only in
//!   reports that declare at least one metric object: Matomo leaves the
//!   whole table alone otherwise, so `Referrers.getReferrerType` keeps
//!   `"revenue":5`.
//!
//! Numbers are written as Matomo's English locale writes them (`Intl`
//! patterns `#,##0.###`, `#,##0%` and `¤#,##0.00`, `,` grouping, `.`
//! decimals, `-` before the symbol).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use diesel::MysqlConnection;
use tally_archiving::Period;
use tally_datatable::format::{is_percent_metric, php_float_string, round_php};
use tally_datatable::{Columns, DataTable, Scalar, Value};
use tally_management::Principal;
use tally_schema::PeriodKind;
use time::Date;

use crate::ReportingError;
use crate::request::ApiRequest;

/// What `format_metrics` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `0`: values as computed.
    Off,
    /// `bc`, the default: percentage metrics only.
    Percentages,
    /// `1` (and any value other than `0`, `bc` and `all`): the report's
    /// metric objects.
    Metrics,
    /// `all`: the metric objects, then revenue columns as money.
    All,
}

impl Mode {
    /// The mode of a request, read as Matomo reads it: absent is `bc`
    /// (`Request::getRequestArrayFromString` adds it); present but empty
    /// is `0` (`getRequestVar` falls back to the post-processor's default
    /// 0); a value equal to 0 as a number (`0`, `00`, `0.0`, PHP's loose
    /// `== '0'`) is `0`; `bc` and `all` are matched exactly; anything else
    /// formats like `1`, without an error.
    pub(crate) fn from_request(request: &ApiRequest) -> Self {
        match request.get("format_metrics") {
            None => Self::Percentages,
            Some(raw) => Self::parse(raw),
        }
    }

    /// The mode of the `Goals.getMetrics` sub-requests `Goals.get` makes:
    /// it forwards `getRequestVar('format_metrics', 'bc')`, for which an
    /// empty value is `bc`, not `0`.
    pub(crate) fn from_request_for_goals(request: &ApiRequest) -> Self {
        match request.get("format_metrics") {
            None | Some("") => Self::Percentages,
            Some(raw) => Self::parse(raw),
        }
    }

    fn parse(raw: &str) -> Self {
        let is_zero = Scalar::Str(raw.to_owned()).as_f64() == Some(0.0);
        if raw.is_empty() || is_zero {
            return Self::Off;
        }
        match raw {
            "bc" => Self::Percentages,
            "all" => Self::All,
            _ => Self::Metrics,
        }
    }
}

/// How a metric object shows its value (its class's `format()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Display {
    /// No `format()` of its own: the value is left as computed.
    AsIs,
    /// `getPrettyPercentFromQuotient`: `0.5` → `"50%"`.
    Percent,
    /// `getPrettyTimeFromSeconds($s, true)`: `"1 min 42s"`.
    Duration,
    /// `getPrettyTimeFromSeconds($s, false)`: `"00:01:42"`.
    Clock,
    /// `getPrettyMoney`: `"€5"`, `"€1,234.50"`.
    Money,
}

/// The metric objects Matomo attaches to a report: what `format_metrics=1`
/// formats. Reports without any are not formatted at all under `1` or
/// `all`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportMetrics {
    declared: &'static [(&'static str, Display)],
    /// Whether the goal-column filters attached their metric objects
    /// (`crate::processed::GoalFilters`), whose names depend on the goals.
    goal_columns: bool,
    /// Whether `Goals.getMetrics` attached a `GoalConversionRate` per goal
    /// (`showAllGoalSpecificMetrics`): `goal_<id>_conversion_rate`, with
    /// `Goals.get`'s visitor-type suffix.
    goal_rates: bool,
}

impl ReportMetrics {
    const fn declared(declared: &'static [(&'static str, Display)]) -> Self {
        Self {
            declared,
            goal_columns: false,
            goal_rates: false,
        }
    }

    /// [`ReportMetrics::declared`] plus the goals' conversion rates.
    const fn with_goal_rates(self) -> Self {
        Self {
            goal_rates: true,
            ..self
        }
    }

    /// These metric objects plus those of the goal-column filters
    /// (`AddColumnsProcessedMetrics`, `AddColumnsProcessedMetricsGoal`).
    pub(crate) const fn with_goal_columns(self) -> Self {
        Self {
            goal_columns: true,
            ..self
        }
    }

    fn is_empty(self) -> bool {
        self.declared.is_empty() && !self.goal_columns
    }

    /// No metric objects (visit-dimension and referrer reports, whose
    /// processed metrics Matomo names by strings only).
    pub(crate) const NONE: Self = Self::declared(&[]);
    /// `VisitsSummary.get` (`BounceRate`, `ActionsPerVisit`,
    /// `AverageTimeOnSite`).
    pub(crate) const VISITS_SUMMARY: Self = Self::declared(&[
        ("bounce_rate", Display::Percent),
        ("nb_actions_per_visit", Display::AsIs),
        ("avg_time_on_site", Display::Duration),
    ]);
    /// `VisitFrequency.get`: the same three, wrapped per visitor type
    /// (`ReturningMetric` formats as the metric it wraps).
    pub(crate) const VISIT_FREQUENCY: Self = Self::declared(&[
        ("avg_time_on_site_returning", Display::Duration),
        ("nb_actions_per_visit_returning", Display::AsIs),
        ("bounce_rate_returning", Display::Percent),
        ("avg_time_on_site_new", Display::Duration),
        ("nb_actions_per_visit_new", Display::AsIs),
        ("bounce_rate_new", Display::Percent),
    ]);
    /// `Goals.getMetrics` (`ConversionRate`).
    /// With an ecommerce `idGoal`, `Goals.getMetrics` also attaches
    /// `AverageOrderRevenue` (money); other goals have no such column.
    pub(crate) const GOALS: Self = Self::declared(&[
        ("avg_order_revenue", Display::Money),
        ("conversion_rate", Display::Percent),
    ])
    .with_goal_rates();
    /// `Goals.get`: formatted by its three `Goals.getMetrics`
    /// sub-requests, before their columns get the visitor-type suffix.
    pub(crate) const GOALS_BY_VISITOR_TYPE: Self = Self::declared(&[
        ("avg_order_revenue", Display::Money),
        ("avg_order_revenue_new_visit", Display::Money),
        ("avg_order_revenue_returning_visit", Display::Money),
        ("conversion_rate", Display::Percent),
        ("conversion_rate_new_visit", Display::Percent),
        ("conversion_rate_returning_visit", Display::Percent),
    ])
    .with_goal_rates();
    /// Page URL and title reports, entry and exit pages included: the
    /// Actions metrics and the page timings `PagePerformance` attaches.
    pub(crate) const PAGES: Self = Self::declared(&[
        ("avg_time_on_page", Display::Clock),
        ("bounce_rate", Display::Percent),
        ("exit_rate", Display::Percent),
        ("avg_time_generation", Display::Duration),
        ("avg_time_network", Display::Duration),
        ("avg_time_server", Display::Duration),
        ("avg_time_transfer", Display::Duration),
        ("avg_time_dom_processing", Display::Duration),
        ("avg_time_dom_completion", Display::Duration),
        ("avg_time_on_load", Display::Duration),
        ("avg_page_load_time", Display::Duration),
    ]);
    /// `Actions.getSiteSearchKeywords`: the Actions metrics, no timings.
    pub(crate) const SITE_SEARCH: Self = Self::declared(&[
        ("avg_time_on_page", Display::Clock),
        ("bounce_rate", Display::Percent),
        ("exit_rate", Display::Percent),
        ("avg_time_generation", Display::Duration),
    ]);
    /// `Referrers.get` (`VisitorsFromReferrerPercent`).
    pub(crate) const REFERRERS_OVERVIEW: Self = Self::declared(&[
        (
            "Referrers_visitorsFromDirectEntry_percent",
            Display::Percent,
        ),
        (
            "Referrers_visitorsFromSearchEngines_percent",
            Display::Percent,
        ),
        ("Referrers_visitorsFromCampaigns_percent", Display::Percent),
        (
            "Referrers_visitorsFromSocialNetworks_percent",
            Display::Percent,
        ),
        ("Referrers_visitorsFromWebsites_percent", Display::Percent),
    ]);
    /// Events reports (`AverageEventValue` has no `format()`).
    pub(crate) const EVENTS: Self = Self::declared(&[("avg_event_value", Display::AsIs)]);
    /// Contents reports (`InteractionRate`).
    pub(crate) const CONTENTS: Self = Self::declared(&[("interaction_rate", Display::Percent)]);
    /// `DevicePlugins.getPlugin` and
    /// `VisitorInterest.getNumberOfVisitsByVisitCount` (`VisitsPercent`).
    pub(crate) const VISITS_PERCENT: Self =
        Self::declared(&[("nb_visits_percentage", Display::Percent)]);
    /// Ecommerce item reports (`AveragePrice`, `AverageQuantity`,
    /// `ProductConversionRate`).
    pub(crate) const ITEMS: Self = Self::declared(&[
        ("avg_price", Display::Money),
        ("avg_quantity", Display::AsIs),
        ("conversion_rate", Display::Percent),
    ]);
    /// `CustomDimensions.getCustomDimension`: a visit dimension's metrics
    /// (an action dimension's differ only in metrics we do not compute;
    /// what matters here is that the report has some, for `all`).
    pub(crate) const CUSTOM_DIMENSION: Self = Self::declared(&[
        ("avg_time_on_site", Display::Duration),
        ("bounce_rate", Display::Percent),
        ("nb_actions_per_visit", Display::AsIs),
    ]);

    /// `MultiSites.getAll` / `getOne`: the evolution metrics
    /// (`EvolutionMetric`, percentages).
    pub(crate) const MULTI_SITES: Self = Self::declared(&[
        ("visits_evolution", Display::Percent),
        ("actions_evolution", Display::Percent),
        ("pageviews_evolution", Display::Percent),
        ("revenue_evolution", Display::Percent),
        ("nb_conversions_evolution", Display::Percent),
        ("orders_evolution", Display::Percent),
        ("ecommerce_revenue_evolution", Display::Percent),
    ]);

    fn display(self, column: &str) -> Option<Display> {
        // A report's own metric of the same name wins (Matomo keys them
        // by name, the report's last).
        self.declared
            .iter()
            .find(|(name, _)| *name == column)
            .map(|(_, display)| *display)
            .or_else(|| {
                self.goal_columns
                    .then(|| goal_column_display(column))
                    .flatten()
            })
            .or_else(|| (self.goal_rates && is_goal_rate(column)).then_some(Display::Percent))
    }
}

/// `goal_<id>_conversion_rate`, bare or with `Goals.get`'s visitor-type
/// suffix.
fn is_goal_rate(column: &str) -> bool {
    column
        .strip_prefix("goal_")
        .and_then(|rest| rest.split_once("_conversion_rate"))
        .is_some_and(|(idgoal, suffix)| {
            !idgoal.contains('_') && matches!(suffix, "" | "_new_visit" | "_returning_visit")
        })
}

/// How the goal-column filters' metric objects format: the rates as
/// percentages, `avg_time_on_site` as a sentence, revenue as money,
/// counts as they are.
fn goal_column_display(column: &str) -> Option<Display> {
    match column {
        "conversion_rate" | "bounce_rate" => return Some(Display::Percent),
        "nb_actions_per_visit" => return Some(Display::AsIs),
        "avg_time_on_site" => return Some(Display::Duration),
        "revenue_per_visit" => return Some(Display::Money),
        _ => {}
    }
    let (_, metric) = column.strip_prefix("goal_")?.split_once('_')?;
    match metric {
        "conversion_rate" | "nb_conversions_page_rate" | "nb_conversions_entry_rate" => {
            Some(Display::Percent)
        }
        "nb_conversions" | "items" | "nb_conversions_attrib" | "nb_conversions_entry" => {
            Some(Display::AsIs)
        }
        "revenue_per_visit" | "revenue" | "avg_order_revenue" | "revenue_attrib"
        | "revenue_entry" | "revenue_per_entry" => Some(Display::Money),
        _ => None,
    }
}

/// Formats reports' metrics for one request: its [`Mode`] and the
/// currency symbols of the sites already seen (money needs one query per
/// site).
#[derive(Debug)]
pub(crate) struct Formatter {
    mode: Mode,
    symbols: HashMap<u32, String>,
}

impl Formatter {
    pub(crate) fn new(mode: Mode) -> Self {
        Self {
            mode,
            symbols: HashMap::new(),
        }
    }

    /// Formats `table` (a report of site `idsite`) whose metric objects are
    /// `metrics`.
    ///
    /// # Errors
    /// Loading the site's currency failed.
    pub(crate) fn table(
        &mut self,
        conn: &mut MysqlConnection,
        principal: &Principal,
        idsite: u32,
        metrics: ReportMetrics,
        table: &mut DataTable,
    ) -> Result<(), ReportingError> {
        let mode = self.mode;
        let needs_money = match mode {
            Mode::Off | Mode::Percentages => false,
            Mode::Metrics => {
                metrics.goal_columns || metrics.declared.iter().any(|(_, d)| *d == Display::Money)
            }
            Mode::All => !metrics.is_empty(),
        };
        let symbol = if needs_money {
            self.symbol(conn, principal, idsite)?
        } else {
            ""
        };
        format_table(table, metrics, mode, symbol);
        Ok(())
    }

    /// [`Formatter::table`] for a simple report's columns.
    ///
    /// # Errors
    /// As [`Formatter::table`].
    pub(crate) fn columns(
        &mut self,
        conn: &mut MysqlConnection,
        principal: &Principal,
        idsite: u32,
        metrics: ReportMetrics,
        columns: Columns,
    ) -> Result<Columns, ReportingError> {
        let mut row = tally_datatable::Row::new("");
        row.columns = columns;
        let mut table = DataTable::from_rows([row]);
        self.table(conn, principal, idsite, metrics, &mut table)?;
        Ok(table
            .take_rows()
            .pop()
            .map(|row| row.columns)
            .unwrap_or_default())
    }

    fn symbol(
        &mut self,
        conn: &mut MysqlConnection,
        principal: &Principal,
        idsite: u32,
    ) -> Result<&str, ReportingError> {
        let symbol = match self.symbols.entry(idsite) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => {
                let currency = tally_management::get_site(conn, principal, idsite)?.currency;
                slot.insert(currency_symbol(&currency).to_owned())
            }
        };
        Ok(symbol)
    }
}

/// Formats every row of `table`, its summary row and its subtables.
/// `symbol` is the site's currency symbol (used under `1` by money metrics
/// and under `all` by revenue columns).
pub(crate) fn format_table(
    table: &mut DataTable,
    metrics: ReportMetrics,
    mode: Mode,
    symbol: &str,
) {
    if mode == Mode::Off {
        return;
    }
    // Matomo's `formatMetrics` returns before the revenue pass too when
    // the report has no metric object. (`bc` picks its percentages by
    // column name here, which finds the same columns in our reports.)
    if matches!(mode, Mode::Metrics | Mode::All) && metrics.is_empty() {
        return;
    }
    for row in table.rows_mut() {
        format_columns(&mut row.columns, metrics, mode, symbol);
        if let Some(subtable) = row.subtable.as_deref_mut() {
            format_table(subtable, metrics, mode, symbol);
        }
    }
    if let Some(summary) = table.summary_row_mut() {
        format_columns(&mut summary.columns, metrics, mode, symbol);
    }
}

fn format_columns(columns: &mut Columns, metrics: ReportMetrics, mode: Mode, symbol: &str) {
    for (key, value) in columns.iter_mut() {
        // Numbers and numeric strings only (`is_numeric`): a column
        // formatted once stays as it is.
        if matches!(value, Value::Goals(_)) {
            continue;
        }
        let Some(number) = value.as_f64() else {
            continue;
        };
        let name = key.name();
        let display = match mode {
            Mode::Off => None,
            Mode::Percentages => is_percent_metric(&name).then_some(Display::Percent),
            Mode::Metrics => metrics.display(&name),
            // The revenue pass comes after the metric objects and takes
            // any numeric column left, so a metric shown as is counts too.
            Mode::All => match metrics.display(&name) {
                None | Some(Display::AsIs) if name.contains("revenue") => Some(Display::Money),
                display => display,
            },
        };
        let text = match display {
            None | Some(Display::AsIs) => continue,
            Some(Display::Percent) => pretty_percent(number),
            Some(Display::Duration) => pretty_time(number, true),
            Some(Display::Clock) => pretty_time(number, false),
            Some(Display::Money) => pretty_money(number, symbol),
        };
        *value = Value::Str(text);
    }
}

// ---------------------------------------------------------------------------
// Matomo's English number formats (`NumberFormatter`, `Metrics\Formatter`)

/// The digits of a non-negative number: rounded to `max_fraction`
/// decimals (PHP `round`), read back through PHP's float-to-string (14
/// significant digits), trailing fraction zeros dropped, then zeros added
/// up to `min_fraction`, thousands grouped by `,`
/// (`NumberFormatter::formatNumberWithPattern`).
fn digits(value: f64, max_fraction: i32, min_fraction: usize) -> String {
    let rounded = php_float_string(round_php(value, max_fraction));
    let (major, minor) = rounded.split_once('.').unwrap_or((&rounded, ""));
    let mut grouped = String::with_capacity(major.len() + major.len() / 3);
    for (index, digit) in major.chars().enumerate() {
        if index > 0 && (major.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let mut minor = minor.trim_end_matches('0').to_owned();
    while minor.len() < min_fraction {
        minor.push('0');
    }
    if minor.is_empty() {
        grouped
    } else {
        format!("{grouped}.{minor}")
    }
}

/// The value PHP's `NumberFormatter` works on: its argument converted to
/// a string (14 significant digits) and read back.
fn as_php_reads_it(value: f64) -> f64 {
    php_float_string(value).parse().unwrap_or(value)
}

/// `-` for negative values (the `-` Matomo puts before a pattern).
fn sign(value: f64) -> &'static str {
    if value < 0.0 { "-" } else { "" }
}

/// `Formatter::getPrettyNumber` / `NumberFormatter::formatNumber` with
/// pattern `#,##0.###`: `1234.5` → `"1,234.5"`.
pub(crate) fn pretty_number(value: f64, max_fraction: i32) -> String {
    let value = as_php_reads_it(value);
    format!("{}{}", sign(value), digits(value.abs(), max_fraction, 0))
}

/// `Formatter::getPrettyPercentFromQuotient`: the quotient times 100, at
/// most 4 decimals, pattern `#,##0%`: `0.5` → `"50%"`, `0.3333` →
/// `"33.33%"`, `12.345` → `"1,234.5%"`.
pub(crate) fn pretty_percent(quotient: f64) -> String {
    let value = as_php_reads_it(quotient * 100.0);
    if !value.is_finite() {
        return php_float_string(value);
    }
    format!("{}{}%", sign(value), digits(value.abs(), 4, 0))
}

/// `ProcessedReport::getPrettyValue`: how `API.getProcessedReport` writes
/// a number of its rows when `format_metrics` is absent or `bc` (rules of
/// its own, by column name, applied after the report's formatting): a
/// `time_generation` column as a sentence (`"1 min 42s"`), any other
/// `time` column as a clock (`"00:04:02"`), a `revenue` or `price` column
/// (not an evolution) as money (`"$1,000"`), a `_rate` column as a
/// percentage of PHP's product (`0.75` → `"75%"`). `None`: the value stays
/// (not a number, a comparison change, another name).
pub(crate) fn processed_report_value(name: &str, value: &Value, symbol: &str) -> Option<String> {
    if matches!(value, Value::Goals(_) | Value::Null | Value::False) || name.contains("_change") {
        return None;
    }
    let number = value.as_f64()?;
    if name.contains("time_generation") {
        Some(pretty_time(number, true))
    } else if name.contains("time") {
        Some(pretty_time(number, false))
    } else if (name.contains("revenue") || name.contains("price")) && !name.contains("evolution") {
        Some(pretty_money(number, symbol))
    } else if name.contains("_rate") {
        Some(format!("{}%", php_float_string(100.0 * number)))
    } else {
        None
    }
}

/// `Formatter::getPrettyMoney` (`NumberFormatter::formatCurrency`, pattern
/// `¤#,##0.00`): a whole amount without decimals, any other with exactly
/// two; the symbol before the digits, `-` before the symbol: `5` → `"€5"`,
/// `1234.5` → `"€1,234.50"`, `-3.999` → `"-€4.00"`.
pub(crate) fn pretty_money(value: f64, symbol: &str) -> String {
    let value = as_php_reads_it(value);
    if !value.is_finite() {
        return php_float_string(value);
    }
    // Whole or not is decided before rounding to cents.
    let digits = if value == round_php(value, 0) {
        digits(value.abs(), 0, 0)
    } else {
        digits(value.abs(), 2, 2)
    };
    format!("{}{symbol}{digits}", sign(value))
}

/// `Formatter::getPrettyTimeFromSeconds($seconds, $sentence)` (English):
/// a sentence of the two largest units (`"1 min 42s"`, `"2 hours 5 min"`,
/// `"3 days 4 hours"`, `"1 years 2 days"`, `"0.12s"`), or a clock
/// (`"00:01:42"`, `"1 days 02:00:00"`, hundredths as `".50"`).
pub(crate) fn pretty_time(seconds: f64, sentence: bool) -> String {
    if !seconds.is_finite() {
        return php_float_string(seconds);
    }
    let text = if sentence {
        sentence_time(seconds.abs())
    } else {
        clock_time(seconds.abs())
    };
    format!("{}{text}", sign(seconds))
}

/// `sprintf("%02s", $float)`: PHP's string of the number, zero-padded to
/// two characters.
fn two_digits(value: f64) -> String {
    format!("{:0>2}", php_float_string(value))
}

fn clock_time(total: f64) -> String {
    let days = (total / 86_400.0).floor();
    let rest = total - days * 86_400.0;
    let hours = (rest / 3_600.0).floor();
    let rest = rest - hours * 3_600.0;
    let minutes = (rest / 60.0).floor();
    let seconds = (rest - minutes * 60.0).floor();
    let clock = format!(
        "{}:{}:{}",
        two_digits(hours),
        two_digits(minutes),
        two_digits(seconds)
    );
    let mut text = if days == 0.0 {
        clock
    } else {
        format!("{} days {clock}", php_float_string(days))
    };
    // `intval($seconds * 100) % 100`: truncated, not rounded.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "PHP's intval truncates (and saturates) the same way"
    )]
    let hundredths = ((total * 100.0) as i64) % 100;
    if hundredths != 0 {
        text.push_str(&format!(".{hundredths:02}"));
    }
    text
}

fn sentence_time(total: f64) -> String {
    const YEAR: f64 = 86_400.0 * 365.25;
    let years = (total / YEAR).floor();
    let days = ((total - years * YEAR) / 86_400.0).floor();
    // As Matomo: hours (and below) count from the days only, which is
    // wrong past a year but then they are not shown.
    let after_days = total - days * 86_400.0;
    let hours = (after_days / 3_600.0).floor();
    let after_hours = after_days - hours * 3_600.0;
    let minutes = (after_hours / 60.0).floor();
    let seconds = after_hours - minutes * 60.0;
    let precision = if seconds > 0.0 && seconds < 0.01 {
        3
    } else {
        2
    };
    let seconds = pretty_number(round_php(seconds, precision), precision);
    let whole = php_float_string;
    if years > 0.0 {
        format!("{} years {} days", whole(years), whole(days))
    } else if days > 0.0 {
        format!("{} days {} hours", whole(days), whole(hours))
    } else if hours > 0.0 {
        format!("{} hours {} min", whole(hours), whole(minutes))
    } else if minutes > 0.0 {
        format!("{} min {seconds}s", whole(minutes))
    } else {
        format!("{seconds}s")
    }
}

/// English short month names (`Intl_Month_Short_StandAlone_*`).
const MONTHS_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// English short weekday names, Monday first (`Intl_Day_Short_*`).
const WEEKDAYS_SHORT: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `Period::getLocalizedShortString` in English, as evolution metadata
/// shows the period compared with (`previousRange`): a day `"Tue, Dec 14"`
/// (`E, MMM d`), a month `"Dec 2010"`, a year `"2010"`, a week or range as
/// CLDR's short interval of its first and last day: `"Dec 13 – 19, 2010"`,
/// `"Nov 13 – Dec 14, 2010"`, `"Dec 27, 2010 – Jan 2, 2011"` (the dash
/// between thin spaces, as Matomo's English patterns have it).
pub(crate) fn period_short_string(period: &Period) -> String {
    const DASH: &str = "\u{2009}\u{2013}\u{2009}";
    let (start, end) = (period.start(), period.end());
    let month = |date: Date| MONTHS_SHORT[usize::from(u8::from(date.month())) - 1];
    match period.kind() {
        PeriodKind::Day => format!(
            "{}, {} {}",
            WEEKDAYS_SHORT[usize::from(start.weekday().number_days_from_monday())],
            month(start),
            start.day()
        ),
        PeriodKind::Month => format!("{} {}", month(start), start.year()),
        PeriodKind::Year => start.year().to_string(),
        _ if start.year() != end.year() => format!(
            "{} {}, {}{DASH}{} {}, {}",
            month(start),
            start.day(),
            start.year(),
            month(end),
            end.day(),
            end.year()
        ),
        _ if start.month() != end.month() => format!(
            "{} {}{DASH}{} {}, {}",
            month(start),
            start.day(),
            month(end),
            end.day(),
            end.year()
        ),
        _ => format!(
            "{} {}{DASH}{}, {}",
            month(start),
            start.day(),
            end.day(),
            end.year()
        ),
    }
}

/// The currency symbol Matomo's English translations give a site's
/// currency (`Site::getCurrencySymbolFor`, `Intl_CurrencySymbol_<code>`);
/// a code without one is shown as the code.
pub(crate) fn currency_symbol(code: &str) -> &str {
    CURRENCY_SYMBOLS
        .binary_search_by(|(known, _)| known.cmp(&code))
        .map_or(code, |index| CURRENCY_SYMBOLS[index].1)
}

/// `(ISO code, English symbol)`, sorted by code (CLDR data as Matomo ships
/// it).
const CURRENCY_SYMBOLS: [(&str, &str); 157] = [
    ("AED", "د.إ"),
    ("AFN", "؋"),
    ("ALL", "L"),
    ("AMD", "դր."),
    ("ANG", "ƒ"),
    ("AOA", "Kz"),
    ("ARS", "$"),
    ("AUD", "A$"),
    ("AWG", "ƒ"),
    ("AZN", "m"),
    ("BAM", "KM"),
    ("BBD", "$"),
    ("BDT", "৳"),
    ("BGN", "лв"),
    ("BHD", ".د.ب"),
    ("BIF", "Fr"),
    ("BMD", "$"),
    ("BND", "$"),
    ("BOB", "Bs."),
    ("BRL", "R$"),
    ("BSD", "$"),
    ("BTC", "BTC"),
    ("BTN", "Nu."),
    ("BWP", "P"),
    ("BYN", "Br"),
    ("BZD", "$"),
    ("CAD", "CA$"),
    ("CDF", "Fr"),
    ("CHF", "Fr"),
    ("CLP", "$"),
    ("CNY", "CN¥"),
    ("COP", "$"),
    ("CRC", "₡"),
    ("CUC", "$"),
    ("CUP", "$"),
    ("CVE", "$"),
    ("CZK", "Kč"),
    ("DJF", "Fr"),
    ("DKK", "kr"),
    ("DOP", "$"),
    ("DZD", "د.ج"),
    ("EGP", "ج.م"),
    ("ERN", "Nfk"),
    ("ETB", "Br"),
    ("EUR", "€"),
    ("FJD", "$"),
    ("FKP", "£"),
    ("GBP", "£"),
    ("GEL", "ლ"),
    ("GHS", "₵"),
    ("GIP", "£"),
    ("GMD", "D"),
    ("GNF", "Fr"),
    ("GTQ", "Q"),
    ("GYD", "$"),
    ("HKD", "HK$"),
    ("HNL", "L"),
    ("HRK", "kn"),
    ("HTG", "G"),
    ("HUF", "Ft"),
    ("IDR", "Rp"),
    ("ILS", "₪"),
    ("INR", "₹"),
    ("IQD", "ع.د"),
    ("IRR", "﷼"),
    ("ISK", "kr"),
    ("JMD", "$"),
    ("JOD", "د.ا"),
    ("JPY", "¥"),
    ("KES", "Sh"),
    ("KGS", "лв"),
    ("KHR", "៛"),
    ("KMF", "Fr"),
    ("KPW", "₩"),
    ("KRW", "₩"),
    ("KWD", "د.ك"),
    ("KYD", "$"),
    ("KZT", "₸"),
    ("LAK", "₭"),
    ("LBP", "ل.ل"),
    ("LKR", "Rs"),
    ("LRD", "$"),
    ("LSL", "L"),
    ("LYD", "ل.د"),
    ("MAD", "د.م."),
    ("MDL", "L"),
    ("MGA", "Ar"),
    ("MKD", "ден"),
    ("MMK", "K"),
    ("MNT", "₮"),
    ("MOP", "P"),
    ("MRU", "UM"),
    ("MUR", "₨"),
    ("MVR", "ރ."),
    ("MWK", "MK"),
    ("MXN", "MX$"),
    ("MYR", "RM"),
    ("MZN", "MTn"),
    ("NAD", "$"),
    ("NGN", "₦"),
    ("NIO", "C$"),
    ("NOK", "kr"),
    ("NPR", "₨"),
    ("NZD", "NZ$"),
    ("OMR", "ر.ع."),
    ("PAB", "B/."),
    ("PEN", "S/."),
    ("PGK", "K"),
    ("PHP", "₱"),
    ("PKR", "₨"),
    ("PLN", "zł"),
    ("PYG", "₲"),
    ("QAR", "ر.ق"),
    ("RON", "L"),
    ("RSD", "дин. or din."),
    ("RUB", "руб."),
    ("RWF", "Fr"),
    ("SAR", "ر.س"),
    ("SBD", "$"),
    ("SCR", "₨"),
    ("SDG", "جنيه سوداني"),
    ("SEK", "kr"),
    ("SGD", "$"),
    ("SHP", "£"),
    ("SLE", "Le"),
    ("SLL", "Le"),
    ("SOS", "Sh"),
    ("SRD", "$"),
    ("SSP", "£"),
    ("STN", "Db"),
    ("SYP", "ل.س"),
    ("SZL", "L"),
    ("THB", "฿"),
    ("TJS", "ЅМ"),
    ("TMT", "m"),
    ("TND", "د.ت"),
    ("TOP", "T$"),
    ("TRY", "TL"),
    ("TTD", "$"),
    ("TWD", "NT$"),
    ("TZS", "Sh"),
    ("UAH", "₴"),
    ("UGX", "Sh"),
    ("USD", "$"),
    ("UYU", "$"),
    ("UZS", "лв"),
    ("VES", "Bs. S"),
    ("VND", "₫"),
    ("VUV", "Vt"),
    ("WST", "T"),
    ("XAF", "FCFA"),
    ("XCD", "EC$"),
    ("XOF", "F\u{202f}CFA"),
    ("XPF", "CFPF"),
    ("YER", "﷼"),
    ("ZAR", "R"),
    ("ZMW", "ZK"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use tally_datatable::{ColumnKey, Goals, Row};

    fn mode(raw: Option<&str>) -> Mode {
        let request = match raw {
            None => ApiRequest::from_pairs([("method", "VisitsSummary.get")]),
            Some(value) => ApiRequest::from_pairs([("format_metrics", value)]),
        };
        Mode::from_request(&request)
    }

    #[test]
    fn goal_column_objects_format_under_1_as_their_classes() {
        let mut columns: Columns = [
            ("nb_visits", Value::Int(2)),
            ("revenue", Value::Int(3)),
            ("avg_time_on_site", Value::Int(16)),
            ("revenue_per_visit", Value::Float(1.5)),
            ("goal_ecommerceOrder_conversion_rate", Value::Float(0.3333)),
            ("goal_-1_nb_conversions", Value::Int(2)),
            ("goal_2_revenue", Value::Int(3)),
            ("goal_2_items", Value::Int(4)),
        ]
        .into_iter()
        .map(|(name, value)| (ColumnKey::from(name), value))
        .collect();
        let metrics = ReportMetrics::NONE.with_goal_columns();
        format_columns(&mut columns, metrics, Mode::Metrics, "€");
        let shown: Vec<String> = columns
            .iter()
            .map(|(_, value)| match value {
                Value::Str(text) => text.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        // Stored metrics stay numbers under `1`; the filters' objects do not.
        assert_eq!(
            shown,
            [
                "Int(2)", "Int(3)", "16s", "€1.50", "33.33%", "Int(2)", "€3", "Int(4)"
            ]
        );
        assert!(ReportMetrics::NONE.is_empty());
        assert!(!metrics.is_empty());
    }

    #[test]
    fn modes_are_read_as_matomo_reads_format_metrics() {
        assert_eq!(mode(None), Mode::Percentages);
        assert_eq!(mode(Some("bc")), Mode::Percentages);
        assert_eq!(mode(Some("0")), Mode::Off);
        // Empty falls back to the post-processor's default 0; numeric
        // zeros compare equal to '0'.
        assert_eq!(mode(Some("")), Mode::Off);
        assert_eq!(mode(Some("00")), Mode::Off);
        assert_eq!(mode(Some("0.0")), Mode::Off);
        assert_eq!(mode(Some("1")), Mode::Metrics);
        assert_eq!(mode(Some("all")), Mode::All);
        // Case matters, and any other value formats like 1.
        assert_eq!(mode(Some("ALL")), Mode::Metrics);
        assert_eq!(mode(Some("BC")), Mode::Metrics);
        assert_eq!(mode(Some("yes")), Mode::Metrics);
        assert_eq!(mode(Some("2")), Mode::Metrics);
        let goals =
            |raw| Mode::from_request_for_goals(&ApiRequest::from_pairs([("format_metrics", raw)]));
        assert_eq!(goals(""), Mode::Percentages);
        assert_eq!(goals("0"), Mode::Off);
        assert_eq!(goals("all"), Mode::All);
    }

    #[test]
    fn numbers_are_grouped_by_thousands_and_rounded() {
        assert_eq!(pretty_number(0.0, 0), "0");
        assert_eq!(pretty_number(999.0, 0), "999");
        assert_eq!(pretty_number(1234.0, 0), "1,234");
        assert_eq!(pretty_number(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(pretty_number(-1234.5, 0), "-1,235");
        assert_eq!(pretty_number(2.30, 2), "2.3");
        assert_eq!(pretty_number(0.1 + 0.2, 3), "0.3");
    }

    #[test]
    fn periods_read_as_matomos_english_short_strings() {
        use time::macros::date;
        let range = |a, b| Period::range(a, b).expect("a range");
        for (period, text) in [
            (Period::day(date!(2010 - 12 - 14)), "Tue, Dec 14"),
            (Period::month(date!(2009 - 12 - 5)), "Dec 2009"),
            (Period::year(date!(2009 - 12 - 5)), "2009"),
            (
                Period::week(date!(2010 - 12 - 15)),
                "Dec 13\u{2009}\u{2013}\u{2009}19, 2010",
            ),
            (
                range(date!(2010 - 11 - 13), date!(2010 - 12 - 14)),
                "Nov 13\u{2009}\u{2013}\u{2009}Dec 14, 2010",
            ),
            (
                Period::week(date!(2011 - 01 - 01)),
                "Dec 27, 2010\u{2009}\u{2013}\u{2009}Jan 2, 2011",
            ),
        ] {
            assert_eq!(period_short_string(&period), text, "{period}");
        }
    }

    #[test]
    fn percentages_keep_up_to_four_decimals() {
        assert_eq!(pretty_percent(0.5), "50%");
        assert_eq!(pretty_percent(0.0), "0%");
        assert_eq!(pretty_percent(1.0), "100%");
        assert_eq!(pretty_percent(0.3333), "33.33%");
        assert_eq!(pretty_percent(0.07), "7%");
        assert_eq!(pretty_percent(0.123_456_7), "12.3457%");
        assert_eq!(pretty_percent(12.345), "1,234.5%");
        assert_eq!(pretty_percent(-0.25), "-25%");
    }

    #[test]
    fn money_has_no_cents_when_whole_and_two_otherwise() {
        assert_eq!(pretty_money(5.0, "€"), "€5");
        assert_eq!(pretty_money(0.0, "€"), "€0");
        assert_eq!(pretty_money(42.5, "$"), "$42.50");
        assert_eq!(pretty_money(1234.5, "€"), "€1,234.50");
        assert_eq!(pretty_money(1_234_567.0, "£"), "£1,234,567");
        assert_eq!(pretty_money(-42.5, "€"), "-€42.50");
        // Not whole before rounding, so two decimals after it.
        assert_eq!(pretty_money(3.999, "€"), "€4.00");
        assert_eq!(pretty_money(0.004, "€"), "€0.00");
        assert_eq!(pretty_money(7.0, "CHF"), "CHF7");
    }

    #[test]
    fn processed_report_values_follow_get_pretty_value() {
        let cases = [
            ("avg_time_on_site", Value::Int(242), Some("00:04:02")),
            ("avg_time_generation", Value::Float(1.5), Some("1.5s")),
            (
                "goal_1_revenue_per_visit",
                Value::Float(333.33),
                Some("$333.33"),
            ),
            ("revenue", Value::Int(1000), Some("$1,000")),
            (
                "goal_1_nb_conversions_entry_rate",
                Value::Float(0.75),
                Some("75%"),
            ),
            // Already formatted, not a number, or another name: left alone.
            ("bounce_rate", Value::Str("67%".to_owned()), None),
            ("revenue_evolution", Value::Float(0.5), None),
            ("nb_visits", Value::Int(3), None),
            ("nb_conversions_attrib", Value::Null, None),
        ];
        for (name, value, expected) in cases {
            assert_eq!(
                processed_report_value(name, &value, "$").as_deref(),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn currency_symbols_are_matomos_english_ones() {
        assert_eq!(currency_symbol("EUR"), "€");
        assert_eq!(currency_symbol("USD"), "$");
        assert_eq!(currency_symbol("GBP"), "£");
        assert_eq!(currency_symbol("JPY"), "¥");
        assert_eq!(currency_symbol("CHF"), "Fr");
        assert_eq!(currency_symbol("XYZ"), "XYZ");
        assert!(
            CURRENCY_SYMBOLS
                .windows(2)
                .all(|pair| pair[0].0 < pair[1].0),
            "sorted for the binary search"
        );
    }

    #[test]
    fn durations_as_sentences_show_the_two_largest_units() {
        assert_eq!(pretty_time(0.0, true), "0s");
        assert_eq!(pretty_time(31.0, true), "31s");
        assert_eq!(pretty_time(102.0, true), "1 min 42s");
        assert_eq!(pretty_time(811.0, true), "13 min 31s");
        assert_eq!(pretty_time(313.0, true), "5 min 13s");
        assert_eq!(pretty_time(3_600.0, true), "1 hours 0 min");
        assert_eq!(pretty_time(7_530.0, true), "2 hours 5 min");
        assert_eq!(pretty_time(100_000.0, true), "1 days 3 hours");
        assert_eq!(pretty_time(40_000_000.0, true), "1 years 97 days");
        // Fractions of seconds: 2 decimals, 3 below a hundredth.
        assert_eq!(pretty_time(0.123, true), "0.12s");
        assert_eq!(pretty_time(0.005, true), "0.005s");
        assert_eq!(pretty_time(61.5, true), "1 min 1.5s");
        assert_eq!(pretty_time(-102.0, true), "-1 min 42s");
    }

    #[test]
    fn durations_as_clocks_have_days_and_hundredths() {
        assert_eq!(pretty_time(0.0, false), "00:00:00");
        assert_eq!(pretty_time(50.0, false), "00:00:50");
        assert_eq!(pretty_time(811.0, false), "00:13:31");
        assert_eq!(pretty_time(36_000.0, false), "10:00:00");
        assert_eq!(pretty_time(93_784.0, false), "1 days 02:03:04");
        assert_eq!(pretty_time(50.5, false), "00:00:50.50");
        assert_eq!(pretty_time(0.07, false), "00:00:00.07");
        assert_eq!(pretty_time(-5.0, false), "-00:00:05");
    }

    fn row(columns: &[(&str, Value)]) -> Row {
        let mut row = Row::new("x");
        for (name, value) in columns {
            row.columns.set(ColumnKey::from(*name), value.clone());
        }
        row
    }

    fn formatted(metrics: ReportMetrics, mode: Mode) -> Vec<(String, Value)> {
        let mut child = DataTable::from_rows([row(&[("bounce_rate", Value::Float(0.25))])]);
        child
            .add_row(row(&[("revenue", Value::Int(3))]))
            .expect("a new label");
        let mut parent = row(&[
            ("nb_visits", Value::Int(1234)),
            ("bounce_rate", Value::Float(0.5)),
            ("avg_time_on_site", Value::Int(102)),
            ("nb_actions_per_visit", Value::Float(2.3)),
            ("revenue", Value::Float(42.5)),
            ("revenue_new_visit", Value::Str("7".to_owned())),
            ("goals", Value::Goals(Goals::new())),
        ]);
        parent.subtable = Some(Box::new(child));
        let mut table = DataTable::from_rows([parent]);
        format_table(&mut table, metrics, mode, "€");
        let mut out = Vec::new();
        for row in table.rows_mut() {
            out.extend(
                row.columns
                    .iter()
                    .map(|(k, v)| (k.name().into_owned(), v.clone())),
            );
            for sub in row
                .subtable
                .as_deref_mut()
                .into_iter()
                .flat_map(|t| t.rows_mut())
            {
                out.extend(
                    sub.columns
                        .iter()
                        .map(|(k, v)| (format!("sub.{}", k.name()), v.clone())),
                );
            }
        }
        out
    }

    fn value<'v>(columns: &'v [(String, Value)], name: &str) -> &'v Value {
        &columns.iter().find(|(n, _)| n == name).expect("column").1
    }

    #[test]
    fn modes_select_columns_as_matomo_does() {
        let text = |s: &str| Value::Str(s.to_owned());
        let off = formatted(ReportMetrics::VISITS_SUMMARY, Mode::Off);
        assert_eq!(value(&off, "bounce_rate"), &Value::Float(0.5));
        let bc = formatted(ReportMetrics::VISITS_SUMMARY, Mode::Percentages);
        assert_eq!(value(&bc, "bounce_rate"), &text("50%"));
        assert_eq!(value(&bc, "sub.bounce_rate"), &text("25%"));
        assert_eq!(value(&bc, "avg_time_on_site"), &Value::Int(102));
        let one = formatted(ReportMetrics::VISITS_SUMMARY, Mode::Metrics);
        assert_eq!(value(&one, "bounce_rate"), &text("50%"));
        assert_eq!(value(&one, "avg_time_on_site"), &text("1 min 42s"));
        // No format() of its own; stored metrics are never formatted.
        assert_eq!(value(&one, "nb_actions_per_visit"), &Value::Float(2.3));
        assert_eq!(value(&one, "nb_visits"), &Value::Int(1234));
        assert_eq!(value(&one, "revenue"), &Value::Float(42.5));
        let all = formatted(ReportMetrics::VISITS_SUMMARY, Mode::All);
        assert_eq!(value(&all, "revenue"), &text("€42.50"));
        assert_eq!(value(&all, "revenue_new_visit"), &text("€7"));
        assert_eq!(value(&all, "sub.revenue"), &text("€3"));
        assert_eq!(value(&all, "nb_visits"), &Value::Int(1234));
        assert!(matches!(value(&all, "goals"), Value::Goals(_)));
        // A report without metric objects is left alone, revenue included.
        let bare = formatted(ReportMetrics::NONE, Mode::All);
        assert_eq!(value(&bare, "bounce_rate"), &Value::Float(0.5));
        assert_eq!(value(&bare, "revenue"), &Value::Float(42.5));
    }
}
