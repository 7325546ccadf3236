//! Matomo's `DataTable\Renderer\Html`: one `<table border="1">` whose
//! header is the union of every row's columns, in the order first seen.
//!
//! It serves `format=html` and, through `DataTable::__toString()`, reports
//! asked for with `format=original` (PHP echoes the object). Its quirks are
//! kept: row metadata is one `_metadata` cell of `'name' => value` pairs
//! joined by an (escaped) `<br />`; `_idSubtable` holds the subtable id
//! (even with `hideIdSubDatable`); subtables are never inlined; a missing
//! cell is `-`; a column keyed `0` is headed `value`; in a map the key is a
//! first column `_date` (`_` + key name) and empty tables are skipped;
//! `_metadata` and `_idSubtable` show when the last table rendered had
//! some. Strings are escaped as `formatValueXml` does (its
//! `html_entity_decode` pass, then `htmlspecialchars` with `ENT_COMPAT`, as
//! in our XML renderer); header names are not escaped.

use super::php::{Php, PhpKey, var_export};
use super::{RenderError, RenderOptions, Report, column_entry, label_item, value_item};
use crate::format::{Quotes, html_entity_decode, htmlspecialchars, php_float_string};

const METADATA: &str = "_metadata";
const ID_SUBTABLE: &str = "_idSubtable";

/// The part of a Matomo exception message around a data structure the
/// HTML renderer cannot show (`DataTable::addRowsFromSimpleArray`).
const EXPORT_LIMIT: usize = 500;

#[derive(Default)]
struct Structure {
    /// `allColumns`: key → shown.
    columns: Vec<(PhpKey, bool)>,
    /// `tableStructure`: the cells of rows that have any.
    rows: Vec<Vec<(PhpKey, Php)>>,
}

impl Structure {
    fn show(&mut self, key: &PhpKey, shown: bool) {
        match self
            .columns
            .iter_mut()
            .find(|(existing, _)| existing == key)
        {
            Some((_, flag)) => *flag = shown,
            None => self.columns.push((key.clone(), shown)),
        }
    }

    /// Adds a row; every cell's column becomes shown.
    fn push_row(&mut self, cells: Vec<(PhpKey, Php)>) {
        let mut row: Vec<(PhpKey, Php)> = Vec::with_capacity(cells.len());
        for (key, value) in cells {
            self.show(&key, true);
            match row.iter_mut().find(|(existing, _)| *existing == key) {
                Some((_, cell)) => *cell = value,
                None => row.push((key, value)),
            }
        }
        if !row.is_empty() {
            self.rows.push(row);
        }
    }

    fn add_report(
        &mut self,
        report: &Report,
        options: &RenderOptions,
        map_key: Option<(&PhpKey, &str)>,
    ) -> Result<(), RenderError> {
        let extra = |cells: &mut Vec<(PhpKey, Php)>| {
            if let Some((key, value)) = map_key {
                cells.push((key.clone(), Php::Str(value.to_owned())));
            }
        };
        let mut some_metadata = false;
        let mut some_subtable = false;
        match report {
            Report::Table(table) => {
                for row in table.all_rows() {
                    let mut cells = Vec::with_capacity(row.columns.len() + 3);
                    extra(&mut cells);
                    cells.push((
                        PhpKey::from("label"),
                        Php::from_item(&label_item(row, options)),
                    ));
                    for (key, value) in row.columns.iter() {
                        let (name, item) = column_entry(key, value, options);
                        cells.push((PhpKey::from(name.as_ref()), Php::from_item(&item)));
                    }
                    let metadata: Vec<String> = row
                        .metadata
                        .iter()
                        .filter(|(name, _)| name.as_str() != "idsubdatatable_in_db")
                        .map(|(name, value)| {
                            let text = match value {
                                crate::Scalar::Str(text) => format!("'{text}'"),
                                crate::Scalar::Int(number) => number.to_string(),
                                crate::Scalar::Float(number) => php_float_string(*number),
                            };
                            format!("'{name}' => {text}")
                        })
                        .collect();
                    if !metadata.is_empty() {
                        some_metadata = true;
                        cells.push((PhpKey::from(METADATA), Php::Str(metadata.join("<br />"))));
                    }
                    if let Some(id) = row.subtable_id {
                        some_subtable = true;
                        cells.push((PhpKey::from(ID_SUBTABLE), Php::Int(i64::from(id))));
                    }
                    self.push_row(cells);
                }
            }
            Report::Simple(columns) | Report::SimpleCompared(columns, _) => {
                let mut cells = Vec::with_capacity(columns.len() + 1);
                extra(&mut cells);
                for (key, value) in columns.iter() {
                    cells.push((
                        PhpKey::from(key.name().as_ref()),
                        Php::from_item(&value_item(value)),
                    ));
                }
                self.push_row(cells);
            }
            // A map inside a map: `buildTableStructure` accepts tables only.
            Report::Map { .. } => return Err(RenderError::HtmlNestedMap),
            Report::Rows(_) | Report::Tree(_) => {
                for cells in array_rows(&super::php::report_php(report, options))? {
                    let mut all = Vec::with_capacity(cells.len() + 1);
                    extra(&mut all);
                    all.extend(cells);
                    self.push_row(all);
                }
            }
        }
        self.show(&PhpKey::from(METADATA), some_metadata);
        self.show(&PhpKey::from(ID_SUBTABLE), some_subtable);
        Ok(())
    }

    fn render(&self, table_id: Option<&str>) -> String {
        let mut out = String::from("<table ");
        if let Some(id) = table_id.filter(|id| !id.is_empty()) {
            out.push_str("id=\"");
            out.push_str(&id.replace('.', "_"));
            out.push_str("\" ");
        }
        out.push_str("border=\"1\">\n<thead>\n\t<tr>\n");
        let shown: Vec<&PhpKey> = self
            .columns
            .iter()
            .filter(|(_, shown)| *shown)
            .map(|(key, _)| key)
            .collect();
        for key in &shown {
            let name = match key {
                PhpKey::Int(0) => "value".into(),
                other => other.text(),
            };
            out.push_str("\t\t<th>");
            out.push_str(&name);
            out.push_str("</th>\n");
        }
        out.push_str("\t</tr>\n</thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("\t<tr>\n");
            for key in &shown {
                let cell = row
                    .iter()
                    .find(|(existing, _)| existing == *key)
                    .map_or_else(|| "-".to_owned(), |(_, value)| cell_text(value));
                out.push_str("\t\t<td>");
                out.push_str(&cell);
                out.push_str("</td>\n");
            }
            out.push_str("\t</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        out
    }
}

/// `getRowsCount()` (the summary row counts).
fn rows_count(report: &Report) -> usize {
    match report {
        Report::Table(table) => table.rows_count(),
        Report::Simple(columns) | Report::SimpleCompared(columns, _) => {
            usize::from(!columns.is_empty())
        }
        Report::Map { entries, .. } => entries.iter().map(|(_, entry)| rows_count(entry)).sum(),
        Report::Rows(rows) => rows.len(),
        Report::Tree(_) => 1,
    }
}

/// A cell as `renderDataTable` writes it.
fn cell_text(value: &Php) -> String {
    match value {
        Php::Null => "-".to_owned(),
        Php::Array(_) => format!("<pre>{}</pre>", escape(&var_export(value))),
        Php::Str(text) => escape(text),
        Php::Int(number) => number.to_string(),
        Php::Float(number) => php_float_string(*number),
        Php::Bool(true) => "1".to_owned(),
        // `formatValueXml(false)` is 0.
        Php::Bool(false) => "0".to_owned(),
    }
}

/// `formatValueXml`: `html_entity_decode`, then `htmlspecialchars($value,
/// ENT_COMPAT)` (the XML renderer writes with it too), so that a label
/// already escaped by SafeDecodeLabel is not escaped twice.
pub(crate) fn escape(text: &str) -> String {
    htmlspecialchars(&html_entity_decode(text), Quotes::Double)
}

/// A report (table, simple table or map of them) as Matomo's HTML
/// renderer draws it; `table_id` is the `method` of `format=html`
/// (`.` becomes `_`), `None` for `format=original`.
///
/// # Errors
/// [`RenderError::HtmlNestedMap`] for a non-empty map of maps (several
/// sites and periods), which Matomo's renderer refuses.
pub fn html(
    report: &Report,
    options: &RenderOptions,
    table_id: Option<&str>,
) -> Result<String, RenderError> {
    let mut structure = Structure::default();
    match report {
        Report::Map { key_name, entries } => {
            let column = PhpKey::from(format!("_{key_name}").as_str());
            for (key, entry) in entries {
                if rows_count(entry) > 0 {
                    structure.add_report(entry, options, Some((&column, key)))?;
                }
            }
        }
        other => {
            if rows_count(other) > 0 {
                structure.add_report(other, options, None)?;
            }
        }
    }
    Ok(structure.render(table_id))
}

/// A PHP array as Matomo's HTML renderer draws it after
/// `DataTable::makeFromSimpleArray`: an array of scalars is one row (or,
/// keyed 0, 1, … in order, one `value` row per item); otherwise each
/// integer-keyed array is a row and each scalar a one-cell row.
///
/// # Errors
/// [`RenderError::NotConvertible`], with Matomo's message, for a
/// string-keyed array at the top level or an array inside a row.
pub fn html_array(value: &Php, table_id: Option<&str>) -> Result<String, RenderError> {
    let mut structure = Structure::default();
    let rows = array_rows(value)?;
    if !rows.is_empty() {
        for cells in rows {
            structure.push_row(cells);
        }
        structure.show(&PhpKey::from(METADATA), false);
        structure.show(&PhpKey::from(ID_SUBTABLE), false);
    }
    Ok(structure.render(table_id))
}

/// `addRowsFromSimpleArray`: the rows' cells.
fn array_rows(value: &Php) -> Result<Vec<Vec<(PhpKey, Php)>>, RenderError> {
    let entries = match value {
        Php::Array(entries) => entries.clone(),
        scalar => vec![(PhpKey::Int(0), scalar.clone())],
    };
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    if !entries.iter().any(|(_, item)| item.is_array()) {
        let is_list = entries
            .iter()
            .enumerate()
            .all(|(index, (key, _))| i64::try_from(index).is_ok_and(|i| *key == PhpKey::Int(i)));
        return Ok(if is_list {
            entries
                .into_iter()
                .map(|(_, item)| vec![(PhpKey::Int(0), item)])
                .collect()
        } else {
            vec![entries]
        });
    }
    let mut rows = Vec::with_capacity(entries.len());
    for (key, item) in entries {
        match item {
            Php::Array(cells) => {
                if let PhpKey::Str(name) = &key {
                    return Err(RenderError::NotConvertible(format!(
                        "Only integer keys supported for array columns on base level. \
                         Unsupported string '{name}' found for row '{}'.",
                        export_excerpt(&Php::Array(cells))
                    )));
                }
                if let Some((name, sub)) = cells.iter().find(|(_, sub)| sub.is_array()) {
                    return Err(RenderError::NotConvertible(format!(
                        "Multidimensional column values not supported. \
                         Found unexpected array value for column '{}' in row '{}': '{}'.",
                        name.text(),
                        key.text(),
                        export_excerpt(sub)
                    )));
                }
                rows.push(cells);
            }
            scalar => rows.push(vec![(key, scalar)]),
        }
    }
    Ok(rows)
}

/// `substr(var_export($value, true), 0, 500)`: 500 bytes; a character cut
/// in two becomes `?`, as `mb_convert_encoding` later makes it.
fn export_excerpt(value: &Php) -> String {
    let export = var_export(value);
    if export.len() <= EXPORT_LIMIT {
        return export;
    }
    let mut end = EXPORT_LIMIT;
    while !export.is_char_boundary(end) {
        end -= 1;
    }
    let mut excerpt = export[..end].to_owned();
    if end < EXPORT_LIMIT {
        excerpt.push('?');
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::Row;
    use crate::table::DataTable;
    use crate::value::Value;

    #[test]
    fn a_table_shows_metadata_and_subtable_ids_and_dashes_for_missing_cells() {
        let mut first = Row::new("a<b")
            .with("nb_visits", 3)
            .with_metadata("url", "http://x/?a=1&b")
            .with_metadata("logoHeight", 16);
        first.subtable_id = Some(7);
        let second = Row::new("b")
            .with("nb_visits", 1.5)
            .with("bounce", Value::False);
        let table = DataTable::from_rows([first, second]);
        let out = html(
            &Report::Table(table),
            &RenderOptions::default(),
            Some("Actions.getPageUrls"),
        );
        assert_eq!(
            out.ok().as_deref(),
            Some(
                "<table id=\"Actions_getPageUrls\" border=\"1\">\n<thead>\n\t<tr>\n\
                 \t\t<th>label</th>\n\t\t<th>nb_visits</th>\n\t\t<th>_metadata</th>\n\
                 \t\t<th>_idSubtable</th>\n\t\t<th>bounce</th>\n\t</tr>\n</thead>\n<tbody>\n\
                 \t<tr>\n\t\t<td>a&lt;b</td>\n\t\t<td>3</td>\n\
                 \t\t<td>'url' =&gt; 'http://x/?a=1&amp;b'&lt;br /&gt;'logoHeight' =&gt; 16</td>\n\
                 \t\t<td>7</td>\n\t\t<td>-</td>\n\t</tr>\n\
                 \t<tr>\n\t\t<td>b</td>\n\t\t<td>1.5</td>\n\t\t<td>-</td>\n\t\t<td>-</td>\n\
                 \t\t<td>0</td>\n\t</tr>\n</tbody>\n</table>\n"
            )
        );
    }

    #[test]
    fn arrays_follow_make_from_simple_array() {
        let list = Php::list([Php::Int(1), Php::Str("x".to_owned())]);
        assert_eq!(
            html_array(&list, None).ok().as_deref(),
            Some(
                "<table border=\"1\">\n<thead>\n\t<tr>\n\t\t<th>value</th>\n\t</tr>\n</thead>\n\
                 <tbody>\n\t<tr>\n\t\t<td>1</td>\n\t</tr>\n\t<tr>\n\t\t<td>x</td>\n\t</tr>\n\
                 </tbody>\n</table>\n"
            )
        );
        let empty = "<table border=\"1\">\n<thead>\n\t<tr>\n\t</tr>\n</thead>\n<tbody>\n</tbody>\n</table>\n";
        assert_eq!(
            html_array(&Php::list([]), None).ok().as_deref(),
            Some(empty)
        );
        let nested = Php::list([Php::assoc([(
            "metrics",
            Php::assoc([("nb_visits", Php::Str("Visits".to_owned()))]),
        )])]);
        assert_eq!(
            html_array(&nested, None)
                .err()
                .map(|error| error.to_string()),
            Some(
                "Data structure returned is not convertible in the requested format: \
                 Multidimensional column values not supported. Found unexpected array value \
                 for column 'metrics' in row '0': 'array (\n  'nb_visits' => 'Visits',\n)'. \
                 Try to call this method with the parameters '&format=original&serialize=1'; \
                 you will get the original php data structure serialized."
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_long_export_is_cut_at_500_bytes() {
        let text = "é".repeat(300);
        let excerpt = export_excerpt(&Php::Str(text));
        // `'` + 249 two-byte characters = 499 bytes, then half a character.
        assert_eq!(excerpt, format!("'{}?", "é".repeat(249)));
    }
}
