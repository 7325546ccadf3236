//! Matomo's API renderings (§9.3): JSON, XML, CSV, TSV, HTML, the table of
//! an RSS item, and the PHP values of `format=original` (`var_export` and
//! `serialize`).
//!
//! Renderers show metric ids by name (`ReplaceColumnNames`), goal entries
//! as `idgoal=N` (sorted by id, `ecommerceOrder` and `ecommerceAbandonedCart`
//! for 0 and -1), and the summary row with the label `Others`
//! (`ReplaceSummaryRowLabel`). Each row renders as its columns, then its
//! metadata (a metadata entry never overrides a column of the same name),
//! then `idsubdatatable`, then with `expanded` its `subtable`, which is the
//! array PHP's `DataTable\Renderer\Php::flatRender` builds.

use std::borrow::Cow;

use crate::row::Row;
use crate::table::DataTable;
use crate::value::{ColumnKey, Columns, Goals, Scalar, Value};

mod csv;
mod html;
mod json;
mod php;
mod rss;
mod xml;

pub use csv::{CsvOptions, NO_DATA_AVAILABLE, csv, csv_text, tsv};
pub use html::{html, html_array};
pub use json::json;
pub use php::{Php, PhpKey, report_php, serialize, var_export};
pub use rss::rss_table;
pub use xml::{xml, xml_array};

/// A value a renderer cannot show, with Matomo's message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A non-empty map of maps (several sites and periods) asked for as
    /// HTML: Matomo's `Renderer\Html` draws tables only.
    #[error("HTML Renderer does not work with this combination of parameters")]
    HtmlNestedMap,
    /// An array `DataTable::makeFromSimpleArray` refuses (nested arrays).
    #[error(
        "Data structure returned is not convertible in the requested format: {0} Try to call this method with the parameters '&format=original&serialize=1'; you will get the original php data structure serialized."
    )]
    NotConvertible(String),
}

/// What an API call returns, in Matomo's three shapes.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    /// A table report (`DataTable`).
    Table(DataTable),
    /// A single-row report of name → value (`DataTable\Simple`, e.g.
    /// `VisitsSummary.get`); one column renders as a bare value.
    Simple(Columns),
    /// A simple report whose row carries the rows of compared series
    /// (`compare=1`), rendered after its columns as `comparisons`.
    SimpleCompared(Columns, Box<DataTable>),
    /// A plain list of associative arrays, as management methods return
    /// them (`SitesManager.getSitesWithAtLeastViewAccess`): rows without a
    /// label, metadata or subtables.
    Rows(Vec<Columns>),
    /// A nested PHP array, for meta answers (`API.getReportMetadata`,
    /// `API.getProcessedReport`): rendered as Matomo renders arrays.
    Tree(Tree),
    /// A keyed collection (`DataTable\Map`): several periods (`key_name`
    /// `date`) or sites (`idSite`), possibly nested.
    Map {
        /// The key name, e.g. `date` or `idSite`.
        key_name: String,
        /// The entries in order, e.g. `("2024-01-05", report)`.
        entries: Vec<(String, Report)>,
    },
}

/// A PHP value: scalar, associative array or list.
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    /// PHP `null` (`null` in JSON, an empty element in XML).
    Null,
    /// PHP `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// An associative array, in order.
    Assoc(Vec<(String, Tree)>),
    /// A list.
    List(Vec<Tree>),
    /// A report object inside the array (`API.getProcessedReport`'s
    /// `reportData`: a `DataTable`, `DataTable\Simple` or `DataTable\Map`),
    /// which XML renders as a report, not as an array.
    Report(Box<Report>),
}

impl Tree {
    fn item<'a>(&'a self, options: &RenderOptions) -> Item<'a> {
        match self {
            Self::Null => Item::Null,
            Self::Bool(true) => Item::True,
            Self::Bool(false) => Item::False,
            Self::Int(number) => Item::Int(*number),
            Self::Float(number) => Item::Float(*number),
            Self::Str(text) => Item::Str(Cow::Borrowed(text)),
            Self::Assoc(entries) => Item::Assoc(
                entries
                    .iter()
                    .map(|(key, value)| (Cow::Borrowed(key.as_str()), value.item(options)))
                    .collect(),
            ),
            Self::List(items) => Item::List(items.iter().map(|item| item.item(options)).collect()),
            Self::Report(report) => report_item(report, options),
        }
    }
}

/// Options shared by all renderers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// `expanded=1`: render loaded subtables inline under `subtable`.
    pub expanded: bool,
    /// `hideIdSubDatable=1`: omit `idsubdatatable`.
    pub hide_id_subtable: bool,
    /// The label shown for the summary row; `None` keeps Matomo's raw `-1`
    /// (an integer), as with `disable_queued_filters=1`.
    pub summary_label: Option<String>,
    /// Columns as stored, without `ReplaceColumnNames` (a queued filter,
    /// skipped under `disable_queued_filters=1`): metric ids as numbers
    /// (`"2"` for `nb_visits`), goals keyed by their goal id with goal
    /// metric ids inside. Named columns (processed metrics…) keep names.
    pub raw_column_ids: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            expanded: false,
            hide_id_subtable: false,
            summary_label: Some("Others".to_owned()),
            raw_column_ids: false,
        }
    }
}

/// PHP's array view of the data, as `flatRender` builds it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item<'a> {
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// PHP `false` ([`Value::False`]).
    False,
    /// PHP `null` ([`Tree::Null`]).
    Null,
    /// PHP `true` ([`Tree::Bool`]).
    True,
    /// An associative array (row, goals, simple table, map).
    Assoc(Vec<(Cow<'a, str>, Item<'a>)>),
    /// A list (rows of a table).
    List(Vec<Item<'a>>),
}

impl Item<'_> {
    pub(crate) fn is_array(&self) -> bool {
        matches!(self, Item::Assoc(_) | Item::List(_))
    }
}

/// Row metadata whose value is stored as the JSON text of a list of flat
/// objects (strings and integers), because stored metadata holds scalars
/// only, and which Matomo's metadata holds as that array: CustomVariables'
/// `slots` (`[{"scope":"visit","index":1}]`). Renderers show it as the
/// array; CSV and TSV leave the column out, as Matomo's CSV renderer drops
/// a metadata column holding an array.
pub const ARRAY_METADATA: &[&str] = &["slots"];

/// A metadata entry as the renderers show it: [`ARRAY_METADATA`] as its
/// array when its text reads as one, everything else as the scalar.
pub(crate) fn metadata_item<'a>(name: &str, value: &'a Scalar) -> Item<'a> {
    if let Scalar::Str(text) = value
        && ARRAY_METADATA.contains(&name)
        && let Some(list) = flat_object_list(text)
    {
        return list;
    }
    scalar_item(value)
}

/// Reads `[{"key":"text","other":12},...]`: a list of objects whose values
/// are strings (with `\"` and `\\` escapes) or integers; `None` for anything
/// else, which then shows as the text it is.
fn flat_object_list(text: &str) -> Option<Item<'static>> {
    fn string(rest: &mut &str) -> Option<String> {
        *rest = rest.strip_prefix('"')?;
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    *rest = &rest[at + 1..];
                    return Some(out);
                }
                '\\' => out.push(chars.next()?.1),
                other => out.push(other),
            }
        }
        None
    }
    let mut rest = text.trim().strip_prefix('[')?;
    let mut items = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(']') {
            return after.trim().is_empty().then_some(Item::List(items));
        }
        if !items.is_empty() {
            rest = rest.strip_prefix(',')?.trim_start();
        }
        rest = rest.strip_prefix('{')?;
        let mut entries = Vec::new();
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            if !entries.is_empty() {
                rest = rest.strip_prefix(',')?.trim_start();
            }
            let key = string(&mut rest)?;
            rest = rest.trim_start().strip_prefix(':')?.trim_start();
            let value = if rest.starts_with('"') {
                Item::Str(Cow::Owned(string(&mut rest)?))
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '-'))
                    .unwrap_or(rest.len());
                let number = rest[..end].parse().ok()?;
                rest = &rest[end..];
                Item::Int(number)
            };
            entries.push((Cow::Owned(key), value));
        }
        items.push(Item::Assoc(entries));
    }
}

fn scalar_item(value: &Scalar) -> Item<'_> {
    match value {
        Scalar::Int(number) => Item::Int(*number),
        Scalar::Float(number) => Item::Float(*number),
        Scalar::Str(text) => Item::Str(Cow::Borrowed(text)),
    }
}

/// A column's rendered name and value: as the API names it, or as stored
/// ([`RenderOptions::raw_column_ids`]).
pub(crate) fn column_entry<'a>(
    key: &'a ColumnKey,
    value: &'a Value,
    options: &RenderOptions,
) -> (Cow<'a, str>, Item<'a>) {
    if !options.raw_column_ids {
        return (key.name(), value_item(value));
    }
    let item = match value {
        Value::Goals(goals) => raw_goals_item(goals),
        other => value_item(other),
    };
    (raw_key(key), item)
}

/// Matomo's ids as numbers (the Bandwidth plugin's 1090–1093 included);
/// our page-timing ids (which Matomo stores by name) and names as names.
pub(crate) fn raw_key(key: &ColumnKey) -> Cow<'_, str> {
    match key {
        ColumnKey::Id(id)
            if *id < crate::metrics::PAGE_TIMING_FIRST_ID
                || *id >= crate::metrics::BANDWIDTH_FIRST_ID =>
        {
            Cow::Owned(id.to_string())
        }
        other => other.name(),
    }
}

/// Goals as archived: keyed by goal id (`-1` and `0` for the ecommerce
/// ones), metric ids inside. PHP's `json_encode` makes a list of an array
/// keyed 0, 1, … in order.
fn raw_goals_item(goals: &Goals) -> Item<'_> {
    let entries: Vec<(Cow<'_, str>, Item<'_>)> = goals
        .0
        .iter()
        .map(|(idgoal, columns)| {
            let inner = columns
                .iter()
                .map(|(key, value)| (raw_key(key), scalar_item(value)))
                .collect();
            (Cow::Owned(idgoal.to_string()), Item::Assoc(inner))
        })
        .collect();
    let is_list = entries
        .iter()
        .enumerate()
        .all(|(index, (key, _))| *key == index.to_string());
    if is_list {
        Item::List(entries.into_iter().map(|(_, item)| item).collect())
    } else {
        Item::Assoc(entries)
    }
}

fn value_item(value: &Value) -> Item<'_> {
    match value {
        Value::Int(number) => Item::Int(*number),
        Value::Float(number) => Item::Float(*number),
        Value::Str(text) => Item::Str(Cow::Borrowed(text)),
        Value::False => Item::False,
        Value::Null => Item::Null,
        Value::Decimal4(thousandths) => {
            Item::Str(Cow::Owned(crate::value::decimal4_text(*thousandths)))
        }
        Value::Goals(goals) => {
            // Matomo's ReplaceColumnNames sorts the goals by id and names
            // the ecommerce ones (`Piwik::LABEL_ID_GOAL_IS_ECOMMERCE_*`).
            let mut sorted: Vec<_> = goals.0.iter().collect();
            sorted.sort_by_key(|(idgoal, _)| **idgoal);
            Item::Assoc(
                sorted
                    .into_iter()
                    .map(|(idgoal, columns)| {
                        let entries = columns
                            .iter()
                            .map(|(key, value)| {
                                (Cow::Owned(key.goal_name().into_owned()), scalar_item(value))
                            })
                            .collect();
                        let key = match *idgoal {
                            -1 => Cow::Borrowed("idgoal=ecommerceAbandonedCart"),
                            0 => Cow::Borrowed("idgoal=ecommerceOrder"),
                            id => Cow::Owned(format!("idgoal={id}")),
                        };
                        (key, Item::Assoc(entries))
                    })
                    .collect(),
            )
        }
    }
}

pub(crate) fn label_item<'a>(row: &'a Row, options: &RenderOptions) -> Item<'a> {
    if row.is_summary_row() {
        return match &options.summary_label {
            Some(label) => Item::Str(Cow::Owned(label.clone())),
            None => Item::Int(-1),
        };
    }
    Item::Str(Cow::Borrowed(&row.label))
}

fn push_unique<'a>(entries: &mut Vec<(Cow<'a, str>, Item<'a>)>, key: Cow<'a, str>, item: Item<'a>) {
    // PHP's `$columns + $metadata` keeps the first value of a key.
    if !entries.iter().any(|(existing, _)| *existing == key) {
        entries.push((key, item));
    }
}

pub(crate) fn row_item<'a>(row: &'a Row, options: &RenderOptions) -> Item<'a> {
    let mut entries = Vec::with_capacity(row.columns.len() + row.metadata.len() + 2);
    entries.push((Cow::Borrowed("label"), label_item(row, options)));
    for (key, value) in row.columns.iter() {
        let (name, item) = column_entry(key, value, options);
        push_unique(&mut entries, name, item);
    }
    for (name, value) in row.metadata.iter() {
        if name == "idsubdatatable_in_db" {
            continue;
        }
        push_unique(
            &mut entries,
            Cow::Borrowed(name),
            metadata_item(name, value),
        );
    }
    // Matomo keeps the comparisons table in the row's metadata.
    if let Some(comparisons) = row.comparisons.as_deref() {
        push_unique(
            &mut entries,
            Cow::Borrowed("comparisons"),
            comparisons_item(comparisons),
        );
    }
    // A subtable shown inline takes the place of its id: Matomo's expanded
    // answers (every expected output of its system tests with a
    // `<subtable>`) carry no `idsubdatatable`.
    let inline = options.expanded && row.subtable.is_some();
    if let Some(id) = row.subtable_id
        && !options.hide_id_subtable
        && !inline
    {
        push_unique(
            &mut entries,
            Cow::Borrowed("idsubdatatable"),
            Item::Int(i64::from(id)),
        );
    }
    if options.expanded
        && let Some(subtable) = row.subtable.as_deref()
    {
        push_unique(
            &mut entries,
            Cow::Borrowed("subtable"),
            table_item(subtable, options),
        );
    }
    Item::Assoc(entries)
}

/// The comparison rows of a row: columns then metadata, no label (the
/// rows Matomo's `ComparisonRowGenerator` builds have none).
fn comparisons_item(table: &DataTable) -> Item<'_> {
    Item::List(
        table
            .all_rows()
            .map(|row| {
                let mut entries = Vec::with_capacity(row.columns.len() + row.metadata.len());
                for (key, value) in row.columns.iter() {
                    push_unique(&mut entries, key.name(), value_item(value));
                }
                for (name, value) in row.metadata.iter() {
                    push_unique(&mut entries, Cow::Borrowed(name), scalar_item(value));
                }
                Item::Assoc(entries)
            })
            .collect(),
    )
}

pub(crate) fn table_item<'a>(table: &'a DataTable, options: &RenderOptions) -> Item<'a> {
    Item::List(table.all_rows().map(|row| row_item(row, options)).collect())
}

fn simple_item<'a>(columns: &'a Columns) -> Item<'a> {
    let mut entries: Vec<(Cow<'a, str>, Item<'a>)> = columns
        .iter()
        .map(|(key, value)| (key.name(), value_item(value)))
        .collect();
    // One value renders bare (`flatRender`: "keep it simple!").
    if entries.len() == 1
        && let Some((_, item)) = entries.pop()
    {
        return item;
    }
    Item::Assoc(entries)
}

/// The value of a row whose only column is `value`.
pub(crate) fn value_only(columns: &Columns) -> Option<&Value> {
    let mut iter = columns.iter();
    match (iter.next(), iter.next()) {
        (Some((key, value)), None) if key.name() == "value" => Some(value),
        _ => None,
    }
}

/// `flatRender` of a report.
pub(crate) fn report_item<'a>(report: &'a Report, options: &RenderOptions) -> Item<'a> {
    match report {
        Report::Table(table) => table_item(table, options),
        Report::Simple(columns) => simple_item(columns),
        // Never bare: Matomo keeps the array when its one other key is
        // `comparisons`.
        Report::SimpleCompared(columns, comparisons) => {
            let mut entries: Vec<(Cow<'a, str>, Item<'a>)> = columns
                .iter()
                .map(|(key, value)| (key.name(), value_item(value)))
                .collect();
            entries.push((Cow::Borrowed("comparisons"), comparisons_item(comparisons)));
            Item::Assoc(entries)
        }
        Report::Tree(tree) => tree.item(options),
        // A row holding only `value` is our shape of one element of a PHP
        // list of scalars (`SitesManager.getAllSitesId`): Matomo renders
        // the list itself, `[1,2]`.
        Report::Rows(rows) => Item::List(
            rows.iter()
                .map(|columns| match value_only(columns) {
                    Some(value) => value_item(value),
                    None => Item::Assoc(
                        columns
                            .iter()
                            .map(|(key, value)| (key.name(), value_item(value)))
                            .collect(),
                    ),
                })
                .collect(),
        ),
        Report::Map { entries, .. } => Item::Assoc(
            entries
                .iter()
                .map(|(key, report)| (Cow::Borrowed(key.as_str()), report_item(report, options)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
