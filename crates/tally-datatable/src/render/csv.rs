//! CSV and TSV as Matomo's `Renderer\Csv` and `Renderer\Tsv` write them.

use super::{Item, RenderOptions, Report};
use crate::format::{html_entity_decode, php_float_string};
use crate::value::parse_numeric;

/// What Matomo answers instead of an empty CSV/TSV.
pub const NO_DATA_AVAILABLE: &str = "No data available";

/// CSV/TSV options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Shared renderer options (`expanded` has no effect: CSV is flat).
    pub render: RenderOptions,
    /// Matomo's default `convertToUnicode=1`: UTF-16LE with a `FF FE` BOM,
    /// so that Excel reads non-ASCII text.
    pub convert_to_unicode: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            render: RenderOptions::default(),
            convert_to_unicode: true,
        }
    }
}

/// Renders a report as Matomo's CSV bytes (UTF-16LE with BOM by default).
pub fn csv(report: &Report, options: &CsvOptions) -> Vec<u8> {
    encode(csv_text(report, &options.render, ','), options)
}

/// Renders a report as Matomo's TSV bytes (UTF-16LE with BOM by default).
pub fn tsv(report: &Report, options: &CsvOptions) -> Vec<u8> {
    encode(csv_text(report, &options.render, '\t'), options)
}

fn encode(text: String, options: &CsvOptions) -> Vec<u8> {
    // Matomo returns "No data available" before converting to Unicode.
    if !options.convert_to_unicode || text == NO_DATA_AVAILABLE {
        return text.into_bytes();
    }
    let mut bytes = Vec::with_capacity(2 + text.len() * 2);
    bytes.extend_from_slice(&[0xFF, 0xFE]);
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// The CSV/TSV text (before the UTF-16 conversion) with `separator`.
///
/// Header line, then one line per row (`\n`, no final newline); nested
/// `goals` become `goals_idgoal=N_<metric>` columns, metadata become
/// `metadata_<name>` columns; a value containing `"`, `,`, `;` or the separator is
/// quoted; text that a spreadsheet would run as a formula is prefixed with
/// `'`. Maps get a first column named after their key (`date`).
pub fn csv_text(report: &Report, options: &RenderOptions, separator: char) -> String {
    let renderer = Renderer { separator, options };
    let mut columns = Vec::new();
    let text = renderer.report(report, &mut columns);
    if text.is_empty() {
        NO_DATA_AVAILABLE.to_owned()
    } else {
        text
    }
}

struct Renderer<'o> {
    separator: char,
    options: &'o RenderOptions,
}

type CsvRow<'a> = Vec<(String, Item<'a>)>;

fn add_column(columns: &mut Vec<String>, name: &str) {
    if !columns.iter().any(|existing| existing == name) {
        columns.push(name.to_owned());
    }
}

impl Renderer<'_> {
    fn report(&self, report: &Report, columns: &mut Vec<String>) -> String {
        match report {
            Report::Map { key_name, entries } => {
                let mut body = String::new();
                for (key, entry) in entries {
                    let rendered = self.report(entry, columns);
                    // Drop each entry's header; an entry without rows adds
                    // nothing (XML would show `<result date="…" />`).
                    let lines: Vec<&str> = rendered.split('\n').skip(1).collect();
                    for line in lines {
                        body.push('\n');
                        body.push_str(&self.value(&Item::Str(key.as_str().into())));
                        body.push(self.separator);
                        body.push_str(line);
                    }
                }
                columns.retain(|name| name != key_name);
                columns.insert(0, key_name.clone());
                let mut text = self.header(columns);
                text.push_str(&body);
                text
            }
            Report::Simple(simple) if simple.len() == 1 => {
                add_column(columns, "value");
                let value = simple
                    .iter()
                    .next()
                    .map(|(_, value)| super::value_item(value))
                    .unwrap_or(Item::Str("".into()));
                format!("value\n{}", self.value(&value))
            }
            Report::Simple(simple) | Report::SimpleCompared(simple, _) => {
                let mut row = Vec::new();
                for (key, value) in simple.iter() {
                    flatten(&mut row, key.name().into_owned(), super::value_item(value));
                }
                self.rows(vec![row], columns)
            }
            Report::Tree(_) => {
                let rows = match super::report_item(report, self.options) {
                    Item::List(items) => items
                        .into_iter()
                        .map(|item| {
                            let mut row = Vec::new();
                            match item {
                                Item::Assoc(entries) => {
                                    for (key, value) in entries {
                                        flatten(&mut row, key.into_owned(), value);
                                    }
                                }
                                scalar => row.push(("value".to_owned(), scalar)),
                            }
                            row
                        })
                        .collect(),
                    // `addRowsFromSimpleArray`: an array of rows keyed by
                    // integers (`Goals.getGoals`, keyed by idgoal) is one
                    // line per row, the keys dropped.
                    Item::Assoc(entries)
                        if !entries.is_empty()
                            && entries.iter().all(|(key, value)| {
                                key.parse::<i64>().is_ok_and(|n| n.to_string() == *key)
                                    && matches!(value, Item::Assoc(_))
                            }) =>
                    {
                        entries
                            .into_iter()
                            .map(|(_, value)| {
                                let mut row = Vec::new();
                                if let Item::Assoc(columns) = value {
                                    for (key, value) in columns {
                                        flatten(&mut row, key.into_owned(), value);
                                    }
                                }
                                row
                            })
                            .collect()
                    }
                    Item::Assoc(entries) => {
                        let mut row = Vec::new();
                        for (key, value) in entries {
                            flatten(&mut row, key.into_owned(), value);
                        }
                        vec![row]
                    }
                    scalar => vec![vec![("value".to_owned(), scalar)]],
                };
                self.rows(rows, columns)
            }
            Report::Rows(list) => {
                let rows = list
                    .iter()
                    .map(|columns| {
                        let mut row = Vec::new();
                        // A value-only row is one element of a PHP list of
                        // scalars, which `addRowsFromSimpleArray` turns into
                        // a row whose one column is the list index 0.
                        if let Some(value) = super::value_only(columns) {
                            flatten(&mut row, "0".to_owned(), super::value_item(value));
                            return row;
                        }
                        for (key, value) in columns.iter() {
                            flatten(&mut row, key.name().into_owned(), super::value_item(value));
                        }
                        row
                    })
                    .collect();
                self.rows(rows, columns)
            }
            Report::Table(table) => {
                let rows = table
                    .all_rows()
                    .map(|row| {
                        let mut csv_row =
                            vec![("label".to_owned(), super::label_item(row, self.options))];
                        for (key, value) in row.columns.iter() {
                            let (name, item) = super::column_entry(key, value, self.options);
                            flatten(&mut csv_row, name.into_owned(), item);
                        }
                        for (name, value) in row.metadata.iter() {
                            let item = super::metadata_item(name, value);
                            // Matomo's CSV renderer leaves out metadata
                            // holding an array.
                            if name != "idsubdatatable_in_db" && !item.is_array() {
                                flatten(&mut csv_row, format!("metadata_{name}"), item);
                            }
                        }
                        // `idsubdatatable` never reaches Matomo's column list,
                        // so it is not exported.
                        csv_row
                    })
                    .collect();
                self.rows(rows, columns)
            }
        }
    }

    fn rows(&self, rows: Vec<CsvRow<'_>>, columns: &mut Vec<String>) -> String {
        for row in &rows {
            for (name, _) in row {
                add_column(columns, name);
            }
        }
        let mut text = self.header(columns);
        text.push('\n');
        for row in &rows {
            let mut line = String::new();
            for (position, column) in columns.iter().enumerate() {
                if position > 0 {
                    line.push(self.separator);
                }
                if let Some((_, value)) = row.iter().find(|(name, _)| name == column) {
                    line.push_str(&self.value(value));
                }
            }
            text.push_str(&line);
            text.push('\n');
        }
        text.pop();
        text
    }

    fn header(&self, columns: &[String]) -> String {
        let separator = self.separator.to_string();
        columns
            .iter()
            .map(|name| self.value(&Item::Str(name.as_str().into())))
            .collect::<Vec<_>>()
            .join(&separator)
    }

    /// `formatValue`: numbers as PHP prints them, text protected against
    /// formulas, tabs made spaces, and quoted when it holds a quote, the
    /// separator, a comma or a semicolon.
    fn value(&self, item: &Item<'_>) -> String {
        match item {
            Item::Int(number) => number.to_string(),
            // `formatValue` writes `false` as 0.
            Item::False => "0".to_owned(),
            Item::Null => String::new(),
            Item::True => "1".to_owned(),
            Item::Float(number) => php_float_string(*number),
            Item::Str(text) => {
                // `formatValue` decodes the HTML entities of a non-numeric
                // string (labels come HTML-escaped from SafeDecodeLabel).
                let mut value = if parse_numeric(text).is_none() {
                    html_entity_decode(text).into_owned()
                } else {
                    text.to_string()
                };
                if parse_numeric(&value).is_none() && is_formula(&value) {
                    value.insert(0, '\'');
                }
                // Matomo turns tabs into spaces and quotes a value holding
                // any commonly used separator, whatever this file's is (a
                // TSV cell `€1,234.50` is quoted too).
                if value.contains('\t') {
                    value = value.replace('\t', " ");
                }
                if value.contains(['"', ',', ';', self.separator]) {
                    value = format!("\"{}\"", value.replace('"', "\"\""));
                }
                value
            }
            Item::Assoc(_) | Item::List(_) => String::new(),
        }
    }
}

/// `formatFormulas`: a cell starting with `=`, `+`, `-` or `@` (after an
/// optional leading `%`) that is not a number would run as a formula.
fn is_formula(value: &str) -> bool {
    let without_percent = value.strip_prefix('%').unwrap_or(value);
    if without_percent.is_empty() || parse_numeric(without_percent).is_some() {
        return false;
    }
    without_percent.starts_with(['=', '+', '-', '@'])
}

/// `flattenColumnArray`: nested arrays become `<name>_<key>` columns.
fn flatten<'a>(row: &mut CsvRow<'a>, name: String, value: Item<'a>) {
    match value {
        Item::Assoc(entries) => {
            for (key, inner) in entries {
                flatten(row, format!("{name}_{key}"), inner);
            }
        }
        Item::List(items) => {
            for (key, inner) in items.into_iter().enumerate() {
                flatten(row, format!("{name}_{key}"), inner);
            }
        }
        scalar => row.push((name, scalar)),
    }
}
