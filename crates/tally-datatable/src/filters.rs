//! The API's DataTable filters (§8.4), parsed from request parameters.
//!
//! [`Filters::apply`] runs them in Matomo's order: flatten → generic filters
//! (Pattern → ExcludeLowPopulation → Sort → Truncate → Limit) → column
//! deletion (`hideColumns` / `showColumns`, or else the report's temporary
//! metrics unless `showRawMetrics=1`) → label filter. Processed metrics and their formatting
//! ([`crate::format::format_percent_metrics`]) belong to the caller, between
//! the generic filters and column deletion.

use regex::Regex;

use crate::DataTableError;
use crate::format::{php_float_string, safe_decode_label};
use crate::render::{RenderOptions, Report};
use crate::row::Row;
use crate::table::{DataTable, SortOrder};
use crate::value::{Columns, Scalar, Value};

/// The HTTP API's default row limit (`API_datatable_default_limit`).
pub const DEFAULT_LIMIT: usize = 100;

/// `ExcludeLowPopulation::MINIMUM_SIGNIFICANT_PERCENTAGE_THRESHOLD`: with a
/// threshold value of 0, rows below 2 % of the column total are dropped.
const LOW_POPULATION_SHARE: f64 = 0.02;

/// What a report declares about itself, used when a parameter is absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSettings {
    /// The report's default sort column (most reports: `nb_visits`).
    pub default_sort_column: Option<String>,
    /// The report's default sort order.
    pub default_sort_order: SortOrder,
    /// The separator `flat=1` joins labels with: `/` for Actions and
    /// `Referrers.getWebsites`, ` - ` otherwise.
    pub flat_separator: String,
    /// The temporary metrics of the report's processed metrics
    /// (`ProcessedMetric::getTemporaryMetrics`, e.g. `sum_time_network` of
    /// the page reports): removed from the answer unless `showRawMetrics=1`
    /// or `hideColumns` / `showColumns` is given.
    pub temporary_columns: Vec<String>,
    /// Whether `label` parts are also tried with a leading blank, first:
    /// the page title reports' rows start with one (Matomo's
    /// `getLabelVariations` for `getPageTitles`, `getEntryPageTitles`,
    /// `getExitPageTitles`).
    pub label_blank_prefix: bool,
    /// The metadata names `flat=1` writes each level's labels into (see
    /// [`flatten`]); empty for none.
    pub flat_dimensions: Vec<String>,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            default_sort_column: Some("nb_visits".to_owned()),
            default_sort_order: SortOrder::Desc,
            flat_separator: " - ".to_owned(),
            temporary_columns: Vec::new(),
            label_blank_prefix: false,
            flat_dimensions: Vec::new(),
        }
    }
}

/// The §8.4 API parameters that manipulate tables.
#[derive(Clone, Debug, PartialEq)]
pub struct Filters {
    /// `filter_limit`; `None` is `-1` (all rows). Default 100.
    pub limit: Option<usize>,
    /// `filter_offset`. Default 0.
    pub offset: usize,
    /// `keep_summary_row`: re-add the "Others" row after the limit.
    pub keep_summary_row: bool,
    /// `filter_sort_column`; the report default when absent.
    pub sort_column: Option<String>,
    /// `filter_sort_order`; the report default when absent.
    pub sort_order: Option<SortOrder>,
    /// `filter_pattern`: a case-insensitive regular expression.
    pub pattern: Option<String>,
    /// `filter_column`: the column `filter_pattern` applies to. Default `label`.
    pub column: String,
    /// `filter_pattern_recursive`: keep rows that match or have a matching
    /// row anywhere below them; subtables are filtered the same way.
    pub pattern_recursive: Option<String>,
    /// `filter_column_recursive`: the column `filter_pattern_recursive`
    /// applies to. Default `label`.
    pub column_recursive: String,
    /// `disable_generic_filters=1`: no pattern, low-population, sort,
    /// truncate or limit filter (rows in archive order, all of them).
    pub disable_generic_filters: bool,
    /// `hideColumnsRecursively=1`. Matomo's `ColumnDelete` then also
    /// deletes inside arrays nested in a row (Live's action details); our
    /// reports have none, so it changes nothing here: loaded subtables
    /// lose the columns either way.
    pub hide_columns_recursively: bool,
    /// `filter_excludelowpop`: the column compared with the threshold.
    pub exclude_low_pop: Option<String>,
    /// `filter_excludelowpop_value`; 0 means 2 % of the column total.
    pub exclude_low_pop_value: f64,
    /// `filter_truncate`: keep N rows and fold the rest into "Others".
    pub truncate: Option<usize>,
    /// `flat=1`.
    pub flat: bool,
    /// `include_aggregate_rows=1` (with `flat`): keep parent rows too.
    pub include_aggregate_rows: bool,
    /// `expanded=1`: render subtables inline.
    pub expanded: bool,
    /// `hideIdSubDatable=1`.
    pub hide_id_subtable: bool,
    /// `hideColumns` (comma-separated).
    pub hide_columns: Vec<String>,
    /// `showColumns` (comma-separated); `label` is always kept.
    pub show_columns: Vec<String>,
    /// `label` / `label[]`: only these rows; `>` separates a path into
    /// subtables. Disables truncate and limit.
    pub labels: Vec<String>,
    /// `showRawMetrics=1`: keep the report's temporary metrics
    /// ([`ReportSettings::temporary_columns`]).
    pub show_raw_metrics: bool,
    /// `disable_queued_filters=1` (any non-zero integer): skip the filters
    /// Matomo queues until rendering. Of those, the summary row's label
    /// (`ReplaceSummaryRowLabel`: `-1`) and the column names
    /// (`ReplaceColumnNames`: metric ids) are ours to skip; see
    /// [`Filters::render_options`].
    pub disable_queued_filters: bool,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            limit: Some(DEFAULT_LIMIT),
            offset: 0,
            keep_summary_row: false,
            sort_column: None,
            sort_order: None,
            pattern: None,
            column: "label".to_owned(),
            pattern_recursive: None,
            column_recursive: "label".to_owned(),
            disable_generic_filters: false,
            hide_columns_recursively: false,
            exclude_low_pop: None,
            exclude_low_pop_value: 0.0,
            truncate: None,
            flat: false,
            include_aggregate_rows: false,
            expanded: false,
            hide_id_subtable: false,
            hide_columns: Vec::new(),
            show_columns: Vec::new(),
            labels: Vec::new(),
            show_raw_metrics: false,
            disable_queued_filters: false,
        }
    }
}

fn invalid(parameter: &str, value: &str, reason: &str) -> DataTableError {
    DataTableError::InvalidParameter {
        parameter: parameter.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn parse_int(parameter: &str, value: &str) -> Result<i64, DataTableError> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| invalid(parameter, value, "expected an integer"))
}

fn parse_bool(parameter: &str, value: &str) -> Result<bool, DataTableError> {
    match value.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(invalid(parameter, value, "expected 0 or 1")),
    }
}

/// `Common::getRequestVar($name, 0, 'int')`: a numeric value truncated to
/// an integer, anything else the default 0.
fn php_int(value: &str) -> i64 {
    let value = value.trim();
    value.parse::<i64>().unwrap_or_else(|_| {
        value
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .map_or(0, |number| {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "PHP's (int) cast truncates too"
                )]
                let truncated = number.trunc() as i64;
                truncated
            })
    })
}

fn parse_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Filters {
    /// Parses the filter parameters from request key/value pairs; other
    /// parameters are ignored. `label[]` may repeat.
    ///
    /// # Errors
    ///
    /// [`DataTableError::InvalidParameter`] for a value that is not of the
    /// parameter's type (e.g. `filter_limit=abc`, `filter_sort_order=up`,
    /// a `filter_pattern` that is not a valid regular expression).
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, DataTableError> {
        let mut filters = Self::default();
        for (name, value) in params {
            match name {
                "filter_limit" => {
                    let limit = parse_int(name, value)?;
                    // Any negative limit means "all rows", as in Limit.php.
                    filters.limit = usize::try_from(limit).ok();
                }
                "filter_offset" => {
                    let offset = parse_int(name, value)?;
                    filters.offset = usize::try_from(offset)
                        .map_err(|_| invalid(name, value, "expected a non-negative integer"))?;
                }
                "keep_summary_row" => filters.keep_summary_row = parse_bool(name, value)?,
                "filter_sort_column" => {
                    filters.sort_column =
                        Some(value.to_owned()).filter(|column| !column.is_empty());
                }
                "filter_sort_order" => {
                    filters.sort_order = match value.to_ascii_lowercase().as_str() {
                        "asc" => Some(SortOrder::Asc),
                        "desc" => Some(SortOrder::Desc),
                        "" => None,
                        _ => return Err(invalid(name, value, "expected asc or desc")),
                    };
                }
                "filter_pattern" if !value.is_empty() => {
                    pattern_regex(value)?;
                    filters.pattern = Some(value.to_owned());
                }
                "filter_column" if !value.is_empty() => value.clone_into(&mut filters.column),
                "filter_pattern_recursive" if !value.is_empty() => {
                    pattern_regex(value)?;
                    filters.pattern_recursive = Some(value.to_owned());
                }
                "filter_column_recursive" if !value.is_empty() => {
                    value.clone_into(&mut filters.column_recursive);
                }
                "disable_generic_filters" => {
                    filters.disable_generic_filters = parse_bool(name, value)?;
                }
                "hideColumnsRecursively" => {
                    filters.hide_columns_recursively = parse_bool(name, value)?;
                }
                "filter_excludelowpop" => {
                    filters.exclude_low_pop =
                        Some(value.to_owned()).filter(|column| !column.is_empty());
                }
                "filter_excludelowpop_value" => {
                    filters.exclude_low_pop_value = value
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|threshold| threshold.is_finite())
                        .ok_or_else(|| invalid(name, value, "expected a number"))?;
                }
                "filter_truncate" => {
                    let truncate = parse_int(name, value)?;
                    // Truncate.php does nothing for a negative value.
                    filters.truncate = usize::try_from(truncate).ok();
                }
                "flat" => filters.flat = parse_bool(name, value)?,
                "include_aggregate_rows" => {
                    filters.include_aggregate_rows = parse_bool(name, value)?
                }
                "expanded" => filters.expanded = parse_bool(name, value)?,
                "hideIdSubDatable" => filters.hide_id_subtable = parse_bool(name, value)?,
                "hideColumns" => filters.hide_columns = parse_list(value),
                "showColumns" => filters.show_columns = parse_list(value),
                "label" | "label[]" if !value.is_empty() => filters.labels.push(value.to_owned()),
                "showRawMetrics" => filters.show_raw_metrics = php_int(value) == 1,
                "disable_queued_filters" => filters.disable_queued_filters = php_int(value) != 0,
                _ => {}
            }
        }
        Ok(filters)
    }

    /// The render options these parameters imply: with
    /// `disable_queued_filters=1` the summary row keeps its raw label `-1`
    /// and columns their stored ids.
    pub fn render_options(&self) -> RenderOptions {
        let defaults = RenderOptions::default();
        RenderOptions {
            expanded: self.expanded,
            hide_id_subtable: self.hide_id_subtable,
            summary_label: if self.disable_queued_filters {
                None
            } else {
                defaults.summary_label
            },
            raw_column_ids: self.disable_queued_filters,
        }
    }

    /// Applies the filters to every table of a report.
    ///
    /// # Errors
    ///
    /// As [`Filters::apply`].
    pub fn apply_report(
        &self,
        report: Report,
        settings: &ReportSettings,
    ) -> Result<Report, DataTableError> {
        Ok(match report {
            Report::Table(table) => Report::Table(self.apply(table, settings)?),
            simple @ (Report::Simple(_) | Report::SimpleCompared(..)) => simple,
            Report::Rows(rows) => Report::Rows(rows),
            Report::Tree(tree) => Report::Tree(tree),
            Report::Map { key_name, entries } => Report::Map {
                key_name,
                entries: entries
                    .into_iter()
                    .map(|(key, report)| Ok((key, self.apply_report(report, settings)?)))
                    .collect::<Result<_, DataTableError>>()?,
            },
        })
    }

    /// Applies the filters to a table, in Matomo's order.
    ///
    /// # Errors
    ///
    /// [`DataTableError::InvalidParameter`] for an invalid pattern, and
    /// [`DataTableError::UnsummableColumn`] if truncation meets values it
    /// cannot sum.
    pub fn apply(
        &self,
        table: DataTable,
        settings: &ReportSettings,
    ) -> Result<DataTable, DataTableError> {
        self.apply_with(table, settings, &mut |_| {})
    }

    /// [`Filters::apply`] with `queued` run where Matomo runs a table's
    /// queued filters: after the generic filters, before column deletion
    /// (a pivot table's numbered column names are given there).
    ///
    /// # Errors
    ///
    /// As [`Filters::apply`].
    pub fn apply_with(
        &self,
        table: DataTable,
        settings: &ReportSettings,
        queued: &mut dyn FnMut(&mut DataTable),
    ) -> Result<DataTable, DataTableError> {
        let mut table = if self.flat {
            flatten(
                table,
                &settings.flat_separator,
                self.include_aggregate_rows,
                &settings.flat_dimensions,
            )
        } else {
            table
        };
        if self.disable_generic_filters {
            queued(&mut table);
            self.safe_decode_labels(&mut table);
            self.delete_columns(&mut table, settings);
            if !self.labels.is_empty() {
                table = self.label_filter(&table, settings.label_blank_prefix);
            }
            return Ok(table);
        }
        if let Some(pattern) = &self.pattern {
            let regex = pattern_regex(pattern)?;
            retain_all(&mut table, |row| {
                regex.is_match(&column_text(row, &self.column))
            });
        }
        if let Some(pattern) = &self.pattern_recursive {
            let regex = pattern_regex(pattern)?;
            retain_recursive(&mut table, &|row| {
                regex.is_match(&column_text(row, &self.column_recursive))
            });
        }
        if let Some(column) = &self.exclude_low_pop {
            self.exclude_low_population(&mut table, column);
        }
        let sort_column = self
            .sort_column
            .as_ref()
            .or(settings.default_sort_column.as_ref());
        if let Some(column) = sort_column {
            let order = self.sort_order.unwrap_or(settings.default_sort_order);
            table.sort_for_api(column, order, true);
        }
        let label_filter = !self.labels.is_empty();
        if let Some(keep) = self.truncate
            && !label_filter
        {
            truncate_api(&mut table, keep, sort_column.is_none())?;
        }
        if !label_filter {
            self.limit_rows(&mut table);
        }
        queued(&mut table);
        self.safe_decode_labels(&mut table);
        self.delete_columns(&mut table, settings);
        if label_filter {
            table = self.label_filter(&table, settings.label_blank_prefix);
        }
        Ok(table)
    }

    /// `SafeDecodeLabel`, queued last after the report's own queued
    /// filters (so skipped with them), on every row and loaded subtable.
    fn safe_decode_labels(&self, table: &mut DataTable) {
        fn decode(table: &mut DataTable) {
            for row in table.rows_mut() {
                row.label = safe_decode_label(&row.label);
                if let Some(subtable) = row.subtable.as_deref_mut() {
                    decode(subtable);
                }
            }
        }
        if !self.disable_queued_filters {
            decode(table);
        }
    }

    fn exclude_low_population(&self, table: &mut DataTable, column: &str) {
        let value_of = |row: &Row| row.column(column).and_then(Value::as_f64).unwrap_or(0.0);
        let threshold = if self.exclude_low_pop_value == 0.0 {
            table.all_rows().map(value_of).sum::<f64>() * LOW_POPULATION_SHARE
        } else {
            self.exclude_low_pop_value
        };
        retain_all(table, |row| value_of(row) >= threshold);
    }

    /// `Limit`: a window over the rows followed by the summary row.
    fn limit_rows(&self, table: &mut DataTable) {
        let total = table.rows_count();
        table.metadata.set(
            "total_rows_before_limit".to_owned(),
            Scalar::Int(i64::try_from(total).unwrap_or(i64::MAX)),
        );
        let end = match self.limit {
            Some(limit) => self.offset.saturating_add(limit).min(total),
            None => total,
        };
        let start = self.offset.min(total);
        let summary = table.take_summary_row();
        let mut rows = table.take_rows();
        let summary_in_window = summary.is_some() && end == total && start < total;
        let rows_end = end.min(rows.len());
        let kept: Vec<Row> = rows.drain(start.min(rows_end)..rows_end).collect();
        let mut limited = table.empty_clone();
        for row in kept {
            limited.push_row_unchecked(row);
        }
        if let Some(summary) = summary
            && (summary_in_window || self.keep_summary_row)
        {
            limited.set_summary_row(summary);
        }
        *table = limited;
    }

    /// `hideColumns` / `showColumns` on a simple report's columns (Matomo's
    /// `ColumnDelete` on a `DataTable\Simple`, its one row).
    pub fn delete_simple_columns(&self, columns: &mut Columns) {
        if self.hide_columns.is_empty() && self.show_columns.is_empty() {
            return;
        }
        columns.retain(|key, _| {
            let name = key.name();
            let hidden = self.hide_columns.iter().any(|hide| *hide == name);
            let shown =
                self.show_columns.is_empty() || self.show_columns.iter().any(|show| *show == name);
            !hidden && shown
        });
    }

    /// `hideColumns` / `showColumns`, or else, unless `showRawMetrics=1`,
    /// the removal of the temporary metrics (in every loaded subtable too),
    /// as `DataTablePostProcessor::applyRequestedColumnDeletion`.
    fn delete_columns(&self, table: &mut DataTable, settings: &ReportSettings) {
        if self.hide_columns.is_empty() && self.show_columns.is_empty() {
            if !self.show_raw_metrics && !settings.temporary_columns.is_empty() {
                let temporary = &settings.temporary_columns;
                let apply = |row: &mut Row| {
                    row.columns
                        .retain(|key, _| !temporary.iter().any(|name| *name == key.name()));
                };
                delete_in(table, &apply, true);
            }
            return;
        }
        let apply = |row: &mut Row| {
            row.columns.retain(|key, _| {
                // Matomo deletes columns after the queued filters, so
                // without `ReplaceColumnNames` the lists name stored ids.
                let name = if self.disable_queued_filters {
                    crate::render::raw_key(key)
                } else {
                    key.name()
                };
                let hidden = self.hide_columns.iter().any(|hide| *hide == name);
                let shown = self.show_columns.is_empty()
                    || self.show_columns.iter().any(|show| *show == name);
                !hidden && shown
            });
        };
        // Matomo's `ColumnDelete` always filters the subtables a table has
        // loaded (`enableRecursive(true)`): expanded ones lose the columns
        // too.
        delete_in(table, &apply, true);
    }

    /// `LabelFilter`: the rows with the requested labels, in request order.
    fn label_filter(&self, table: &DataTable, blank_prefix: bool) -> DataTable {
        let mut result = table.empty_clone();
        for label in &self.labels {
            let path: Vec<&str> = if self.flat {
                vec![label.as_str()]
            } else {
                label.split('>').collect()
            };
            // A label holding `>` of its own (`incredible title! <>,;`,
            // sent without encoding it) is also tried whole, as Matomo
            // finds it.
            let whole = [label.as_str()];
            let found = find_path(table, &label_variations(&path, blank_prefix)).or_else(|| {
                (path.len() > 1)
                    .then(|| find_path(table, &label_variations(&whole, blank_prefix)))
                    .flatten()
            });
            if let Some(row) = found {
                if row.is_summary_row() {
                    result.set_summary_row(row.clone());
                } else {
                    result.push_row_unchecked(row.clone());
                }
            }
        }
        result
    }
}

/// Each part of a `label` path with the labels it may stand for.
///
/// `@` before a part (after blanks) is Matomo's terminal operator: it asks
/// for the leaf row of that name rather than the folder (`dir> @ /subdir`).
/// Labels were safe-decoded (escaped) by now: Matomo's `getLabelVariations`
/// tries the escaped form of the asked label, then the label as given. In
/// the page title reports, whose pages have a leading blank and whose
/// folders (titles split on `action_title_category_delimiter`) have none,
/// a terminal part tries the blank-prefixed label and escaped form first,
/// another part after its escaped form (the folder before the page).
fn label_variations(path: &[&str], blank_prefix: bool) -> Vec<Vec<String>> {
    path.iter()
        .map(|part| {
            let part = part.trim();
            let terminal = part.strip_prefix('@');
            let part = terminal.map_or(part, str::trim);
            let escaped = safe_decode_label(part);
            let mut variations = Vec::new();
            if blank_prefix && terminal.is_some() {
                variations.push(format!(" {part}"));
                variations.push(format!(" {escaped}"));
            }
            variations.push(escaped.clone());
            if blank_prefix && terminal.is_none() {
                variations.push(format!(" {escaped}"));
                variations.push(format!(" {part}"));
            }
            variations.push(part.to_owned());
            variations
        })
        .collect()
}

/// The row along `path`, each level's row found by the first of its label
/// variations that names one.
fn find_path<'t>(table: &'t DataTable, path: &[Vec<String>]) -> Option<&'t Row> {
    let (first, rest) = path.split_first()?;
    let row = first.iter().find_map(|label| table.row_by_label(label))?;
    if rest.is_empty() {
        return Some(row);
    }
    find_path(row.subtable.as_deref()?, rest)
}

/// Matomo quotes the pattern with `/` delimiters and matches with `i`.
fn pattern_regex(pattern: &str) -> Result<Regex, DataTableError> {
    Regex::new(&format!("(?i){pattern}"))
        .map_err(|error| invalid("filter_pattern", pattern, &error.to_string()))
}

/// The text a pattern is matched against: the label, a column, or a
/// metadata entry of that name; an absent value matches as "".
fn column_text(row: &Row, column: &str) -> String {
    if column == "label" {
        return row.label.clone();
    }
    match row.column(column) {
        Some(Value::Str(text)) => text.clone(),
        Some(Value::Int(number)) => number.to_string(),
        Some(Value::Float(number)) => php_float_string(*number),
        Some(Value::Decimal4(thousandths)) => crate::value::decimal4_text(*thousandths),
        Some(Value::Goals(_) | Value::False | Value::Null) => String::new(),
        None => match row.metadata.get(column) {
            Some(value) => crate::format::scalar_string(value),
            None => String::new(),
        },
    }
}

/// Column deletion over a table's rows (and its subtables' when `deep`).
fn delete_in(table: &mut DataTable, apply: &dyn Fn(&mut Row), deep: bool) {
    for row in table.rows_mut() {
        apply(row);
        if deep && let Some(subtable) = row.subtable.as_deref_mut() {
            delete_in(subtable, apply, deep);
        }
    }
    if let Some(summary) = table.summary_row_mut() {
        apply(summary);
    }
}

/// `PatternRecursive`: subtables are filtered first; a row stays when it
/// matches or something below it still does. Returns the rows left.
fn retain_recursive(table: &mut DataTable, matches: &dyn Fn(&Row) -> bool) -> usize {
    for row in table.rows_mut() {
        if let Some(subtable) = row.subtable.as_deref_mut() {
            retain_recursive(subtable, matches);
        }
    }
    let keep =
        |row: &Row| matches(row) || row.subtable.as_deref().is_some_and(|t| t.rows_count() > 0);
    retain_all(table, keep);
    table.rows_count()
}

/// Keeps matching rows, the summary row included (Matomo's filters walk
/// `getRows()`, which ends with it).
fn retain_all(table: &mut DataTable, keep: impl Fn(&Row) -> bool) {
    table.retain_rows(&keep);
    if table.summary_row().is_some_and(|summary| !keep(summary)) {
        table.take_summary_row();
    }
}

/// `filter_truncate=N`: keep N rows and fold the others into "Others",
/// recursively. Rows are already sorted when a sort column applied;
/// otherwise they are sorted by `nb_visits` first, as Truncate does.
fn truncate_api(
    table: &mut DataTable,
    keep: usize,
    sort_first: bool,
) -> Result<(), DataTableError> {
    if sort_first {
        table.truncate(keep.saturating_add(1), "nb_visits")?;
    } else {
        table.fold_tail(keep.saturating_add(1))?;
    }
    for row in table.rows_mut() {
        if let Some(subtable) = row.subtable.as_deref_mut() {
            truncate_api(subtable, keep, sort_first)?;
        }
    }
    Ok(())
}

/// `flat=1` (`Flattener`): subtable rows replace their parents, labels
/// joined with `separator`; with `/`, a row's leading `/` is dropped after
/// its parent's (`dir/` + `/page` is `dir/page`; a top-level `/page` keeps
/// it). Parents pass their `logo` on; with `include_aggregate_rows`,
/// parents stay and rows get `is_aggregate` metadata. Summary rows of
/// subtables become `<parent><separator>Others` (`<parent>/ - Others` with
/// `/`); the top summary row stays the summary row. Only loaded subtables
/// are flattened.
///
/// `dimensions` names the metadata each level's label goes into (Matomo's
/// `Actions_PageUrl`, `Referrers_WebsitePage`…: the report's dimension,
/// then its subtables'; the last one serves the deeper levels). A level
/// sharing its parent's dimension gets the path (`/dir/page.html`); each
/// row also keeps the labels of its ancestors' dimensions. Empty: no
/// dimension metadata.
pub fn flatten(
    table: DataTable,
    separator: &str,
    include_aggregate_rows: bool,
    dimensions: &[String],
) -> DataTable {
    let mut flat = table.empty_clone();
    let mut source = table;
    let mut summary = source.take_summary_row();
    let context = FlattenContext {
        separator,
        include_aggregate_rows,
        dimensions,
    };
    for row in source.take_rows() {
        flatten_row(row, &mut flat, "", None, 0, &context);
    }
    if let Some(summary) = summary.as_mut()
        && let Some(name) = dimensions.first()
    {
        // Matomo flattens the summary row as a row: its dimension is its
        // label (`Others` by now).
        let label = Scalar::Str(summary.label.trim().to_owned());
        summary.metadata.set(name.clone(), label);
    }
    if let Some(summary) = summary {
        flat.set_summary_row(summary);
    }
    flat
}

/// What every level of [`flatten`] shares.
struct FlattenContext<'a> {
    separator: &'a str,
    include_aggregate_rows: bool,
    dimensions: &'a [String],
}

impl FlattenContext<'_> {
    /// The dimension metadata name of `level` (0 = top).
    fn dimension(&self, level: usize) -> Option<&String> {
        self.dimensions
            .get(level)
            .or_else(|| self.dimensions.last())
    }
}

fn flatten_row(
    mut row: Row,
    flat: &mut DataTable,
    prefix: &str,
    parent_logo: Option<&Scalar>,
    level: usize,
    context: &FlattenContext<'_>,
) {
    let separator = context.separator;
    let summary_in_subtable = row.is_summary_row() && !prefix.is_empty();
    let own_label = if summary_in_subtable {
        // Matomo marks a subtable's "Others" so with the `/` separator.
        let others = if separator == "/" {
            " - Others"
        } else {
            "Others"
        };
        others.to_owned()
    } else {
        row.label.trim().to_owned()
    };
    let own_label = match own_label.strip_prefix('/') {
        Some(stripped) if separator == "/" && prefix.ends_with('/') => stripped.to_owned(),
        _ => own_label,
    };
    // The label as the dimension sees it: the summary row's `Others`
    // without the ` - ` of its flattened label.
    let dimension_label = if summary_in_subtable {
        "Others".to_owned()
    } else {
        own_label.clone()
    };
    row.label = format!("{prefix}{own_label}");
    let dimension = context.dimension(level);
    if let Some(name) = dimension {
        // A parent of the same dimension left its path in the row.
        let value = match row.metadata.get(name) {
            Some(parent) => {
                let parent = crate::format::scalar_string(parent);
                if summary_in_subtable && separator == "/" {
                    format!("{parent}{separator} - {dimension_label}")
                } else {
                    format!("{parent}{separator}{dimension_label}")
                }
            }
            None => dimension_label,
        };
        row.metadata.set(name.clone(), Scalar::Str(value));
    }
    // Matomo copies the parent's metadata to children lacking it, in the
    // parent's order (its `segment` too, unless the child has a
    // `segmentValue` for the post-processor): the dimensions (each
    // ancestor level's label), a segment the child's presenter gave it
    // none of, and the rest, each where the parent has it (a segment set
    // before flattening precedes the parent's dimension: the custom
    // dimension's `Value not defined` rows). `is_aggregate` is each row's
    // own.
    let inherited: Vec<(String, Scalar)> = row
        .metadata
        .iter()
        .filter(|(name, _)| name.as_str() != "is_aggregate")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if row.metadata.get("logo").is_none()
        && let Some(logo) = parent_logo
    {
        row.metadata.set("logo".to_owned(), logo.clone());
    }
    let subtable = row.subtable.take();
    row.subtable_id = None;
    match subtable {
        None => {
            if context.include_aggregate_rows {
                row.metadata.set("is_aggregate".to_owned(), Scalar::Int(0));
            }
            flat.push_row_unchecked(row);
        }
        Some(subtable) => {
            let logo = row.metadata.get("logo").cloned();
            let child_prefix = format!("{}{separator}", row.label);
            if context.include_aggregate_rows {
                row.metadata.set("is_aggregate".to_owned(), Scalar::Int(1));
                flat.push_row_unchecked(row);
            }
            let mut subtable = *subtable;
            let summary = subtable.take_summary_row();
            for mut child in subtable.take_rows().into_iter().chain(summary) {
                for (name, value) in &inherited {
                    // The parent's own dimension always (it may continue
                    // as the child's path), the others where missing.
                    let keeps_segment_value =
                        name == "segment" && child.metadata.get("segmentValue").is_some();
                    if Some(name) == dimension
                        || (child.metadata.get(name).is_none() && !keeps_segment_value)
                    {
                        child.metadata.set(name.clone(), value.clone());
                    }
                }
                flatten_row(
                    child,
                    flat,
                    &child_prefix,
                    logo.as_ref(),
                    level + 1,
                    context,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{self, RenderOptions};

    fn params(pairs: &[(&'static str, &'static str)]) -> Filters {
        Filters::from_params(pairs.iter().copied()).unwrap()
    }

    fn labels(table: &DataTable) -> Vec<&str> {
        table.all_rows().map(|row| row.label.as_str()).collect()
    }

    /// Actions-style page URL tree, three levels deep.
    fn url_tree() -> DataTable {
        let year = DataTable::from_rows([
            Row::new("/post-a")
                .with(12u16, 5)
                .with_metadata("url", "http://x.org/blog/2024/post-a"),
            Row::new("/post-b").with(12u16, 2),
        ]);
        let mut blog = DataTable::from_rows([
            Row::new("2024").with(12u16, 7).with_subtable(year),
            Row::new("/about").with(12u16, 1),
        ]);
        blog.set_summary_row(Row::new("").with(12u16, 4));
        DataTable::from_rows([
            Row::new("blog")
                .with(12u16, 12)
                .with_metadata("logo", "b.png")
                .with_subtable(blog),
            Row::new("/index").with(12u16, 9),
        ])
    }

    #[test]
    fn pattern_recursive_keeps_ancestors_of_matches_and_prunes_subtables() {
        let settings = ReportSettings {
            default_sort_column: None,
            ..ReportSettings::default()
        };
        let filtered = params(&[("filter_pattern_recursive", "post-b")])
            .apply(url_tree(), &settings)
            .unwrap();
        // `blog` stays for its grandchild; `/index` goes.
        assert_eq!(labels(&filtered), ["blog"]);
        let blog = filtered
            .all_rows()
            .next()
            .unwrap()
            .subtable
            .as_deref()
            .unwrap();
        // `/about` and the summary row go; `2024` stays with `/post-b` only.
        assert_eq!(labels(blog), ["2024"]);
        let year = blog.all_rows().next().unwrap().subtable.as_deref().unwrap();
        assert_eq!(labels(year), ["/post-b"]);
        // A match at the top keeps the row, its subtable still filtered.
        let filtered = params(&[("filter_pattern_recursive", "^blog$|about")])
            .apply(url_tree(), &settings)
            .unwrap();
        assert_eq!(labels(&filtered), ["blog"]);
        let blog = filtered
            .all_rows()
            .next()
            .unwrap()
            .subtable
            .as_deref()
            .unwrap();
        assert_eq!(labels(blog), ["/about"]);
        // Another column.
        let filtered = params(&[
            ("filter_pattern_recursive", "^9$"),
            ("filter_column_recursive", "nb_hits"),
        ])
        .apply(url_tree(), &settings)
        .unwrap();
        assert_eq!(labels(&filtered), ["/index"]);
    }

    #[test]
    fn disabled_generic_filters_keep_every_row_in_order() {
        let settings = ReportSettings::default();
        let filtered = params(&[
            ("disable_generic_filters", "1"),
            ("filter_limit", "1"),
            ("filter_pattern", "nothing matches this"),
        ])
        .apply(url_tree(), &settings)
        .unwrap();
        assert_eq!(labels(&filtered), ["blog", "/index"]);
    }

    #[test]
    fn hidden_columns_reach_loaded_subtables() {
        let settings = ReportSettings {
            default_sort_column: None,
            ..ReportSettings::default()
        };
        let has_hits = |t: &DataTable| t.all_rows().any(|r| r.column("nb_hits").is_some());
        for query in [
            &[("hideColumns", "nb_hits")][..],
            &[("hideColumns", "nb_hits"), ("hideColumnsRecursively", "1")][..],
            &[("showColumns", "nb_visits")][..],
        ] {
            let filtered = params(query).apply(url_tree(), &settings).unwrap();
            assert!(!has_hits(&filtered), "{query:?}");
            let blog = filtered
                .all_rows()
                .next()
                .unwrap()
                .subtable
                .as_deref()
                .unwrap();
            assert!(!has_hits(blog), "{query:?}");
            let year = blog.all_rows().next().unwrap().subtable.as_deref().unwrap();
            assert!(!has_hits(year), "{query:?}");
        }
    }

    #[test]
    fn flat_writes_each_levels_dimension_as_matomos_flattener() {
        // Actions: one dimension for every level, so each row's is its
        // path; a subtable's summary row `<path>/ - Others`.
        let settings = ReportSettings {
            default_sort_column: None,
            flat_separator: "/".to_owned(),
            flat_dimensions: vec!["Actions_PageUrl".to_owned()],
            ..ReportSettings::default()
        };
        let flat = params(&[("flat", "1")])
            .apply(url_tree(), &settings)
            .unwrap();
        let dimension = |table: &DataTable, name: &str| -> Vec<String> {
            table
                .all_rows()
                .map(|row| {
                    row.metadata
                        .get(name)
                        .map(crate::format::scalar_string)
                        .unwrap_or_default()
                })
                .collect()
        };
        assert_eq!(
            dimension(&flat, "Actions_PageUrl"),
            vec![
                "blog/2024/post-a",
                "blog/2024/post-b",
                "blog/about",
                "blog/ - Others",
                "/index"
            ]
        );
        // Two dimensions (a referrer's site, then its page): the first
        // level's label under the first, the second's under the second;
        // deeper levels reuse the last.
        let settings = ReportSettings {
            default_sort_column: None,
            flat_dimensions: vec![
                "Referrers_Website".to_owned(),
                "Referrers_WebsitePage".to_owned(),
            ],
            ..ReportSettings::default()
        };
        let flat = params(&[("flat", "1")])
            .apply(url_tree(), &settings)
            .unwrap();
        assert_eq!(
            dimension(&flat, "Referrers_Website"),
            vec!["blog", "blog", "blog", "blog", "/index"]
        );
        assert_eq!(
            dimension(&flat, "Referrers_WebsitePage"),
            vec!["2024 - /post-a", "2024 - /post-b", "/about", "Others", ""]
        );
        // Without dimensions, no metadata.
        let plain = params(&[("flat", "1")])
            .apply(url_tree(), &ReportSettings::default())
            .unwrap();
        assert!(
            plain
                .all_rows()
                .all(|row| row.metadata.get("Actions_PageUrl").is_none())
        );
    }

    /// `CustomDimensions.getCustomDimension&flat=1` (Matomo's
    /// `test_day_site_1_dimension_3_flat`): a child inherits its parent's
    /// metadata in the parent's order, so a page below `Value not
    /// defined`, which gets no segment of its own, shows the value's
    /// `segment` before the dimension; a page with its own `segment` and
    /// `url` keeps them first.
    #[test]
    fn flat_children_inherit_metadata_in_the_parents_order() {
        let value = |label: &str, segment: &str, pages: DataTable| {
            let mut row = Row::new(label).with(2u16, 1).with_subtable(pages);
            row.metadata
                .set("segment".to_owned(), Scalar::Str(segment.to_owned()));
            row
        };
        let mut own = Row::new("example.com/").with(2u16, 1);
        own.metadata.set(
            "segment".to_owned(),
            Scalar::Str("dimension3==v;actionUrl=$example.com%2F".to_owned()),
        );
        own.metadata
            .set("url".to_owned(), Scalar::Str("example.com%2F".to_owned()));
        let table = DataTable::from_rows([
            value("v", "dimension3==v", DataTable::from_rows([own])),
            value(
                "Value not defined",
                "dimension3==",
                DataTable::from_rows([Row::new("example.com/page").with(2u16, 1)]),
            ),
        ]);
        let settings = ReportSettings {
            default_sort_column: None,
            flat_dimensions: vec!["CustomDimension_CustomDimension3".to_owned()],
            ..ReportSettings::default()
        };
        let flat = params(&[("flat", "1")]).apply(table, &settings).unwrap();
        let metadata: Vec<Vec<String>> = flat
            .all_rows()
            .map(|row| {
                row.metadata
                    .iter()
                    .map(|(name, value)| format!("{name}={}", crate::format::scalar_string(value)))
                    .collect()
            })
            .collect();
        assert_eq!(
            metadata,
            [
                vec![
                    "segment=dimension3==v;actionUrl=$example.com%2F".to_owned(),
                    "url=example.com%2F".to_owned(),
                    "CustomDimension_CustomDimension3=v - example.com/".to_owned(),
                ],
                vec![
                    "segment=dimension3==".to_owned(),
                    "CustomDimension_CustomDimension3=Value not defined - example.com/page"
                        .to_owned(),
                ],
            ]
        );
    }

    #[test]
    fn label_paths_take_the_terminal_operator_and_whole_labels() {
        let labelled = |label: &'static str, blank: bool| {
            let settings = ReportSettings {
                default_sort_column: None,
                label_blank_prefix: blank,
                ..ReportSettings::default()
            };
            let table = params(&[("label", label)])
                .apply(url_tree(), &settings)
                .unwrap();
            labels(&table)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(labelled("blog> @ 2024 > /post-b", false), vec!["/post-b"]);
        assert_eq!(labelled("blog>nothing", false), Vec::<String>::new());
        // `index` is stored as `/index`: only the exact label, or with the
        // page titles' blank where that applies.
        assert_eq!(labelled("index", true), Vec::<String>::new());
        let titles = DataTable::from_rows([Row::new(" a <b> c").with(12u16, 1)]);
        let settings = ReportSettings {
            label_blank_prefix: true,
            ..ReportSettings::default()
        };
        let found = params(&[("label", "a <b> c")])
            .apply(titles, &settings)
            .unwrap();
        assert_eq!(labels(&found), vec![" a &lt;b&gt; c"]);
    }

    #[test]
    fn flat_joins_a_three_level_url_tree_as_matomo_does() {
        let settings = ReportSettings {
            default_sort_column: None,
            flat_separator: "/".to_owned(),
            ..ReportSettings::default()
        };
        let flat = params(&[("flat", "1")])
            .apply(url_tree(), &settings)
            .unwrap();
        assert_eq!(
            labels(&flat),
            vec![
                "blog/2024/post-a",
                "blog/2024/post-b",
                "blog/about",
                "blog/ - Others",
                "/index"
            ]
        );
        let post_a = flat.row_by_label("blog/2024/post-a").unwrap();
        assert_eq!(post_a.metadata.get("logo"), Some(&Scalar::from("b.png")));
        assert_eq!(
            post_a.metadata.get("url"),
            Some(&Scalar::from("http://x.org/blog/2024/post-a"))
        );
        assert_eq!(post_a.subtable_id, None);
        assert_eq!(
            render::json(&Report::Table(flat), &RenderOptions::default()),
            concat!(
                r#"[{"label":"blog\/2024\/post-a","nb_hits":5,"url":"http:\/\/x.org\/blog\/2024\/post-a","logo":"b.png"},"#,
                r#"{"label":"blog\/2024\/post-b","nb_hits":2,"logo":"b.png"},"#,
                r#"{"label":"blog\/about","nb_hits":1,"logo":"b.png"},"#,
                r#"{"label":"blog\/ - Others","nb_hits":4,"logo":"b.png"},"#,
                r#"{"label":"\/index","nb_hits":9}]"#
            )
        );
        let with_parents = params(&[("flat", "1"), ("include_aggregate_rows", "1")])
            .apply(url_tree(), &settings)
            .unwrap();
        assert_eq!(
            labels(&with_parents),
            vec![
                "blog",
                "blog/2024",
                "blog/2024/post-a",
                "blog/2024/post-b",
                "blog/about",
                "blog/ - Others",
                "/index"
            ]
        );
        assert_eq!(
            with_parents.rows()[1].metadata.get("is_aggregate"),
            Some(&Scalar::Int(1))
        );
        assert_eq!(
            with_parents.rows()[2].metadata.get("is_aggregate"),
            Some(&Scalar::Int(0))
        );
        let dashed = params(&[("flat", "1")])
            .apply(
                url_tree(),
                &ReportSettings {
                    default_sort_column: None,
                    ..ReportSettings::default()
                },
            )
            .unwrap();
        assert_eq!(labels(&dashed)[0], "blog - 2024 - /post-a");
    }

    fn browsers() -> DataTable {
        let mut table = DataTable::from_rows([
            Row::new("Firefox").with(2u16, 40).with(6u16, 1),
            Row::new("Chrome").with(2u16, 100).with(6u16, 7),
            Row::new("chromium").with(2u16, 1).with(6u16, 0),
            Row::new("Safari").with(2u16, 20).with(6u16, 3),
            Row::new("Edge").with(2u16, 20).with(6u16, 2),
        ]);
        table.set_summary_row(Row::new("").with(2u16, 5));
        table
    }

    #[test]
    fn default_sort_limit_and_offset_treat_others_as_the_last_row() {
        let settings = ReportSettings::default();
        let all = Filters::default().apply(browsers(), &settings).unwrap();
        assert_eq!(
            labels(&all),
            vec!["Chrome", "Firefox", "Edge", "Safari", "chromium", "-1"]
        );
        let page = params(&[("filter_limit", "2"), ("filter_offset", "1")])
            .apply(browsers(), &settings)
            .unwrap();
        assert_eq!(labels(&page), vec!["Firefox", "Edge"]);
        assert_eq!(
            page.metadata.get("total_rows_before_limit"),
            Some(&Scalar::Int(6))
        );
        let tail = params(&[("filter_limit", "3"), ("filter_offset", "4")])
            .apply(browsers(), &settings)
            .unwrap();
        assert_eq!(labels(&tail), vec!["chromium", "-1"]);
        let kept = params(&[("filter_limit", "1"), ("keep_summary_row", "1")])
            .apply(browsers(), &settings)
            .unwrap();
        assert_eq!(labels(&kept), vec!["Chrome", "-1"]);
        let everything = params(&[
            ("filter_limit", "-1"),
            ("filter_sort_column", "label"),
            ("filter_sort_order", "asc"),
        ])
        .apply(browsers(), &settings)
        .unwrap();
        assert_eq!(
            labels(&everything),
            vec!["Chrome", "chromium", "Edge", "Firefox", "Safari", "-1"]
        );
        let by_bounces = params(&[
            ("filter_sort_column", "bounce_count"),
            ("filter_sort_order", "asc"),
        ])
        .apply(browsers(), &settings)
        .unwrap();
        assert_eq!(
            labels(&by_bounces),
            vec!["chromium", "Firefox", "Edge", "Safari", "Chrome", "-1"]
        );
    }

    #[test]
    fn pattern_low_population_and_truncate() {
        let settings = ReportSettings::default();
        let chrome = params(&[("filter_pattern", "^chrom")])
            .apply(browsers(), &settings)
            .unwrap();
        assert_eq!(labels(&chrome), vec!["Chrome", "chromium"]);
        let bounces = params(&[
            ("filter_pattern", "^[23]$"),
            ("filter_column", "bounce_count"),
        ])
        .apply(browsers(), &settings)
        .unwrap();
        assert_eq!(labels(&bounces), vec!["Edge", "Safari"]);
        // Threshold 0: 2 % of 186 visits = 3.72, so chromium (1) goes.
        let popular = params(&[("filter_excludelowpop", "nb_visits")])
            .apply(browsers(), &settings)
            .unwrap();
        assert_eq!(
            labels(&popular),
            vec!["Chrome", "Firefox", "Edge", "Safari", "-1"]
        );
        let above_twenty = params(&[
            ("filter_excludelowpop", "nb_visits"),
            ("filter_excludelowpop_value", "21"),
        ])
        .apply(browsers(), &settings)
        .unwrap();
        assert_eq!(labels(&above_twenty), vec!["Chrome", "Firefox"]);
        let truncated = params(&[("filter_truncate", "2")])
            .apply(browsers(), &settings)
            .unwrap();
        assert_eq!(labels(&truncated), vec!["Chrome", "Firefox", "-1"]);
        assert_eq!(
            truncated.summary_row().unwrap().column("nb_visits"),
            Some(&Value::Int(46))
        );
    }

    #[test]
    fn columns_and_labels() {
        let settings = ReportSettings::default();
        let hidden = params(&[("hideColumns", "bounce_count")])
            .apply(browsers(), &settings)
            .unwrap();
        assert_eq!(
            render::json(&Report::Table(hidden), &RenderOptions::default()),
            concat!(
                r#"[{"label":"Chrome","nb_visits":100},{"label":"Firefox","nb_visits":40},"#,
                r#"{"label":"Edge","nb_visits":20},{"label":"Safari","nb_visits":20},"#,
                r#"{"label":"chromium","nb_visits":1},{"label":"Others","nb_visits":5}]"#
            )
        );
        let shown = params(&[("showColumns", "bounce_count"), ("filter_limit", "1")])
            .apply(browsers(), &settings)
            .unwrap();
        assert_eq!(
            render::json(&Report::Table(shown), &RenderOptions::default()),
            r#"[{"label":"Chrome","bounce_count":7}]"#
        );
        let picked = params(&[
            ("label[]", "Safari"),
            ("label[]", "Firefox"),
            ("label[]", "Opera"),
            ("filter_limit", "1"),
        ])
        .apply(browsers(), &settings)
        .unwrap();
        assert_eq!(labels(&picked), vec!["Safari", "Firefox"]);
        let nested = params(&[("label", "blog>2024>/post-b")])
            .apply(
                url_tree(),
                &ReportSettings {
                    default_sort_column: None,
                    ..ReportSettings::default()
                },
            )
            .unwrap();
        assert_eq!(labels(&nested), vec!["/post-b"]);
    }

    fn timed_pages() -> DataTable {
        let leaf = DataTable::from_rows([Row::new("/post")
            .with("sum_time_network", 0.4)
            .with("nb_hits_with_time_network", 2)
            .with("avg_time_network", 0.2)]);
        DataTable::from_rows([Row::new("blog")
            .with("sum_time_network", 0.4)
            .with("nb_hits_with_time_network", 2)
            .with("avg_time_network", 0.2)
            .with_subtable(leaf)])
    }

    fn column_names(table: &DataTable) -> Vec<String> {
        let row = table.all_rows().next().unwrap();
        row.columns
            .keys()
            .map(|key| key.name().into_owned())
            .collect()
    }

    #[test]
    fn temporary_metrics_go_unless_raw_metrics_or_column_lists_are_asked_for() {
        let settings = ReportSettings {
            default_sort_column: None,
            temporary_columns: vec!["sum_time_network".to_owned()],
            ..ReportSettings::default()
        };
        let plain = Filters::default().apply(timed_pages(), &settings).unwrap();
        assert_eq!(
            column_names(&plain),
            ["nb_hits_with_time_network", "avg_time_network"]
        );
        // Loaded subtables lose them too.
        let blog = plain
            .all_rows()
            .next()
            .unwrap()
            .subtable
            .as_deref()
            .unwrap();
        assert_eq!(
            column_names(blog),
            ["nb_hits_with_time_network", "avg_time_network"]
        );
        let raw = params(&[("showRawMetrics", "1")])
            .apply(timed_pages(), &settings)
            .unwrap();
        assert_eq!(column_names(&raw).len(), 3);
        // hideColumns / showColumns replace the removal (Matomo's `elseif`).
        let hidden = params(&[("hideColumns", "avg_time_network")])
            .apply(timed_pages(), &settings)
            .unwrap();
        assert_eq!(
            column_names(&hidden),
            ["sum_time_network", "nb_hits_with_time_network"]
        );
        // `Common::getRequestVar(…, 'int')`: only the integer 1 keeps them;
        // other values are 0, never an error.
        for (value, keeps) in [("1", true), ("1.9", true), ("true", false), ("2", false)] {
            assert_eq!(params(&[("showRawMetrics", value)]).show_raw_metrics, keeps);
        }
    }

    #[test]
    fn disabled_queued_filters_render_the_stored_columns_and_summary_label() {
        let settings = ReportSettings::default();
        let filters = params(&[("disable_queued_filters", "1")]);
        let mut table = DataTable::from_rows([Row::new("Chrome").with(2u16, 100).with(
            10u16,
            crate::value::Goals::new()
                .with(
                    0,
                    [(crate::value::ColumnKey::from(1u16), Scalar::Int(2))]
                        .into_iter()
                        .collect(),
                )
                .with(
                    1,
                    [(crate::value::ColumnKey::from(1u16), Scalar::Int(1))]
                        .into_iter()
                        .collect(),
                ),
        )]);
        table.set_summary_row(Row::new("").with(2u16, 5).with("bounce_rate", 0.5));
        let table = filters.apply(table, &settings).unwrap();
        let options = filters.render_options();
        // Goals keyed 0, 1 are a PHP list; `bounce_rate` has no id.
        assert_eq!(
            render::json(&Report::Table(table.clone()), &options),
            r#"[{"label":"Chrome","2":100,"10":[{"1":2},{"1":1}]},{"label":-1,"2":5,"bounce_rate":0.5}]"#
        );
        let named = Filters::default().render_options();
        assert_eq!(
            render::json(&Report::Table(table), &named),
            concat!(
                r#"[{"label":"Chrome","nb_visits":100,"goals":{"idgoal=ecommerceOrder":{"nb_conversions":2},"idgoal=1":{"nb_conversions":1}}},"#,
                r#"{"label":"Others","nb_visits":5,"bounce_rate":0.5}]"#
            )
        );
        // `Common::getRequestVar(…, 0, 'int')`: `true` is not an integer.
        assert!(!params(&[("disable_queued_filters", "true")]).disable_queued_filters);
        assert!(params(&[("disable_queued_filters", "2")]).disable_queued_filters);
    }

    #[test]
    fn the_secondary_sort_column_is_not_a_parameter() {
        // Matomo's generic Sort filter passes a hard-coded `true`, so the
        // tie-break is always on and this parameter changes nothing.
        assert_eq!(
            params(&[("filter_sort_column_secondary", "label")]),
            Filters::default()
        );
        let settings = ReportSettings::default();
        let sorted = params(&[
            ("filter_sort_column", "nb_visits"),
            ("filter_sort_column_secondary", "bounce_count"),
        ])
        .apply(browsers(), &settings)
        .unwrap();
        // Edge and Safari tie at 20 visits: A to Z by label.
        assert_eq!(
            labels(&sorted),
            vec!["Chrome", "Firefox", "Edge", "Safari", "chromium", "-1"]
        );
    }

    #[test]
    fn bad_values_are_errors() {
        let cases: [(&str, &str, &str); 6] = [
            (
                "filter_limit",
                "ten",
                "invalid value `ten` for parameter `filter_limit`: expected an integer",
            ),
            (
                "filter_offset",
                "-3",
                "invalid value `-3` for parameter `filter_offset`: expected a non-negative integer",
            ),
            (
                "filter_sort_order",
                "up",
                "invalid value `up` for parameter `filter_sort_order`: expected asc or desc",
            ),
            (
                "filter_truncate",
                "1.5",
                "invalid value `1.5` for parameter `filter_truncate`: expected an integer",
            ),
            (
                "flat",
                "yes",
                "invalid value `yes` for parameter `flat`: expected 0 or 1",
            ),
            (
                "filter_excludelowpop_value",
                "NaN",
                "invalid value `NaN` for parameter `filter_excludelowpop_value`: expected a number",
            ),
        ];
        for (name, value, message) in cases {
            let error = Filters::from_params([(name, value)]).unwrap_err();
            assert_eq!(error.to_string(), message);
        }
        assert!(matches!(
            Filters::from_params([("filter_pattern", "(unclosed")]),
            Err(DataTableError::InvalidParameter { .. })
        ));
        let filters = params(&[
            ("filter_limit", "-1"),
            ("filter_truncate", "-1"),
            ("expanded", "1"),
            ("hideIdSubDatable", "1"),
        ]);
        assert_eq!(filters.limit, None);
        assert_eq!(filters.truncate, None);
        assert_eq!(
            filters.render_options(),
            RenderOptions {
                expanded: true,
                hide_id_subtable: true,
                summary_label: Some("Others".to_owned()),
                raw_column_ids: false,
            }
        );
    }
}
