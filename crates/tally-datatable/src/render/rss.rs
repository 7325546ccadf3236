//! The table of one period in Matomo's `DataTable\Renderer\Rss`
//! (`renderDataTable`): an HTML table of every row's columns, which the
//! feed then escapes into an item's `<description>`.
//!
//! Its quirks are kept: only columns are shown (no metadata, no
//! subtables), array columns such as `goals` are left out, the header is
//! the union of the rows' columns in the order first seen, a missing or
//! `null` cell is `-`, every value goes through PHP's `urldecode`, and a
//! table without rows is the text "Empty table". Column names are never
//! translated (`translateColumnNames` is ignored, as in our other
//! renderers).

use super::{Item, RenderOptions, Report, column_entry, label_item, value_item};
use crate::format::{php_float_string, php_urldecode};

/// One row's cells: `(column, text)`, `None` for PHP `null` (`isset`
/// fails, the cell shows `-`).
type Cells = Vec<(String, Option<String>)>;

/// `"$value"` of `urldecode($value)` in PHP, `None` for `null` and arrays.
fn cell_text(item: &Item<'_>) -> Option<String> {
    let text = match item {
        Item::Int(number) => number.to_string(),
        Item::Float(number) => php_float_string(*number),
        Item::Str(text) => String::from_utf8_lossy(&php_urldecode(text.as_bytes())).into_owned(),
        Item::False => String::new(),
        Item::True => "1".to_owned(),
        Item::Null | Item::Assoc(_) | Item::List(_) => return None,
    };
    Some(text)
}

/// Adds a cell unless its value is an array (`is_array($value)`: skipped,
/// and its column is not added to the header by this row).
fn push_cell(cells: &mut Cells, name: &str, item: &Item<'_>) {
    if item.is_array() {
        return;
    }
    cells.push((name.to_owned(), cell_text(item)));
}

/// The rows of a table or simple report as cells; `None` for shapes the
/// RSS renderer cannot show (lists, arrays, maps).
fn rows(report: &Report, options: &RenderOptions) -> Option<Vec<Cells>> {
    match report {
        Report::Table(table) => Some(
            table
                .all_rows()
                .map(|row| {
                    let mut cells = Cells::with_capacity(row.columns.len() + 1);
                    push_cell(&mut cells, "label", &label_item(row, options));
                    for (key, value) in row.columns.iter() {
                        let (name, item) = column_entry(key, value, options);
                        push_cell(&mut cells, &name, &item);
                    }
                    cells
                })
                .collect(),
        ),
        // `DataTable\Simple`: one row, or none when the period has no data;
        // compared, its own row only (as CSV shows it).
        Report::Simple(columns) | Report::SimpleCompared(columns, _) if columns.is_empty() => {
            Some(Vec::new())
        }
        Report::Simple(columns) | Report::SimpleCompared(columns, _) => {
            let mut cells = Cells::with_capacity(columns.len());
            for (key, value) in columns.iter() {
                push_cell(&mut cells, &key.name(), &value_item(value));
            }
            Some(vec![cells])
        }
        Report::Rows(_) | Report::Tree(_) | Report::Map { .. } => None,
    }
}

/// The HTML of one period's table as Matomo's RSS renderer builds it,
/// before the feed escapes it; `None` when `report` is not a table (the
/// feed then refuses the answer).
pub fn rss_table(report: &Report, options: &RenderOptions) -> Option<String> {
    let rows = rows(report, options)?;
    if rows.is_empty() {
        return Some("<strong><em>Empty table</em></strong><br />\n".to_owned());
    }
    let mut columns: Vec<&str> = Vec::new();
    for row in &rows {
        for (name, _) in row {
            if !columns.contains(&name.as_str()) {
                columns.push(name);
            }
        }
    }
    let mut html = String::from("\n<table border=1 width=70%>\n<tr>");
    for name in &columns {
        html.push_str(&format!("\n\t<td><strong>{name}</strong></td>"));
    }
    html.push_str("\n</tr>");
    for row in &rows {
        html.push_str("\n\n<tr>");
        for name in &columns {
            let value = row
                .iter()
                .rev()
                .find(|(column, _)| column == name)
                .and_then(|(_, value)| value.as_deref())
                .unwrap_or("-");
            html.push_str(&format!("\n\t<td>{value}</td>"));
        }
        html.push_str("</tr>");
    }
    html.push_str("\n\n</table>");
    Some(html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Columns, Goals, Value};
    use crate::{DataTable, Row};

    #[test]
    fn rows_become_a_table_of_their_columns() {
        let mut table = DataTable::from_rows([
            Row::new("a%20b+c")
                .with(2u16, 10)
                .with(10u16, Goals::new())
                .with("bounce_rate", "50%")
                .with_metadata("url", "http://example.org/"),
            Row::new("second")
                .with(2u16, 1.5)
                .with("extra", Value::Null),
        ]);
        table.set_summary_row(Row::new("").with(2u16, 2));
        let html = rss_table(&Report::Table(table), &RenderOptions::default());
        // Metadata and the goals array are left out; `urldecode` turns
        // `%20` and `+` into spaces; a null or missing cell is `-`.
        assert_eq!(
            html.as_deref(),
            Some(
                "\n<table border=1 width=70%>\n<tr>\n\t<td><strong>label</strong></td>\
                 \n\t<td><strong>nb_visits</strong></td>\n\t<td><strong>bounce_rate</strong></td>\
                 \n\t<td><strong>extra</strong></td>\n</tr>\
                 \n\n<tr>\n\t<td>a b c</td>\n\t<td>10</td>\n\t<td>50%</td>\n\t<td>-</td></tr>\
                 \n\n<tr>\n\t<td>second</td>\n\t<td>1.5</td>\n\t<td>-</td>\n\t<td>-</td></tr>\
                 \n\n<tr>\n\t<td>Others</td>\n\t<td>2</td>\n\t<td>-</td>\n\t<td>-</td></tr>\
                 \n\n</table>"
            )
        );
    }

    #[test]
    fn empty_reports_and_other_shapes() {
        let empty = "<strong><em>Empty table</em></strong><br />\n";
        let options = RenderOptions::default();
        assert_eq!(
            rss_table(&Report::Table(DataTable::new()), &options).as_deref(),
            Some(empty)
        );
        assert_eq!(
            rss_table(&Report::Simple(Columns::default()), &options).as_deref(),
            Some(empty)
        );
        assert_eq!(rss_table(&Report::Rows(Vec::new()), &options), None);
    }
}
