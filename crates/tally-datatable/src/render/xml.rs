//! XML as Matomo's `Renderer\Xml` writes it.

use super::html::escape;
use super::{Item, RenderOptions, Report, Tree, report_item};
use crate::format::php_float_string;

/// Renders a report as Matomo's XML: `<result>` with `<row>` elements
/// (columns as child elements, `<goals><row idgoal='1'>`, `<subtable>` when
/// expanded), bare values for single-value reports, and
/// `<results><result date="…">` for maps (empty entries self-closing).
pub fn xml(report: &Report, options: &RenderOptions) -> String {
    let item = report_item(report, options);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n");
    match report {
        Report::Map { .. } => {
            out.push_str("<results>\n");
            render_map(&mut out, report, &item, "");
            out.push_str("</results>");
        }
        Report::Tree(_) if matches!(item, Item::List(_)) => match &item {
            // A PHP list of scalars (`API.getSuggestedValuesForSegment`).
            Item::List(rows) if !rows.is_empty() && rows.iter().all(|row| !row.is_array()) => {
                render_scalar_list(&mut out, rows);
            }
            Item::List(rows) if !rows.is_empty() => {
                out.push_str("<result>\n");
                render_rows(&mut out, &list_entries(rows), "");
                out.push_str("</result>");
            }
            _ => out.push_str("<result />"),
        },
        // An array holding arrays or reports (`API.getProcessedReport`):
        // Matomo's `renderArray`, element by element.
        Report::Tree(tree @ Tree::Assoc(entries))
            if entries.iter().any(|(_, value)| {
                matches!(value, Tree::Assoc(_) | Tree::List(_) | Tree::Report(_))
            }) =>
        {
            out.push_str("<result>\n");
            render_array(&mut out, tree, "\t", options);
            out.push_str("</result>");
        }
        // An associative array of several scalars at the top
        // (`UserCountry.getCountryCodeMapping`): `renderArray` wraps it in
        // one `<row>`, where a `DataTable\Simple` has none.
        Report::Tree(Tree::Assoc(entries)) if entries.len() > 1 => match &item {
            Item::Assoc(entries) => {
                out.push_str("<result>\n\t<row>\n");
                render_simple(&mut out, entries, "\t");
                out.push_str("\t</row>\n</result>");
            }
            _ => out.push_str("<result />"),
        },
        Report::Simple(_) | Report::SimpleCompared(..) | Report::Tree(_) => match &item {
            Item::Assoc(entries) if !entries.is_empty() => {
                out.push_str("<result>\n");
                render_simple(&mut out, entries, "");
                out.push_str("</result>");
            }
            value if value.is_array() => out.push_str("<result />"),
            value => {
                let text = scalar_text(value);
                if text.is_empty() {
                    out.push_str("<result />");
                } else {
                    out.push_str("<result>");
                    out.push_str(&text);
                    out.push_str("</result>");
                }
            }
        },
        Report::Table(_) | Report::Rows(_) => match &item {
            // A PHP list of scalars (`renderArray`): one `<row>` each.
            Item::List(rows) if !rows.is_empty() && rows.iter().all(|row| !row.is_array()) => {
                render_scalar_list(&mut out, rows);
            }
            Item::List(rows) if !rows.is_empty() => {
                out.push_str("<result>\n");
                render_rows(&mut out, &list_entries(rows), "");
                out.push_str("</result>");
            }
            _ => out.push_str("<result />"),
        },
    }
    out
}

/// A PHP array as Matomo's `Renderer\Xml::renderArray` writes it, for
/// methods that return arrays rather than `DataTable`s: a list's elements
/// are `<row>`s whose own arrays nest element by element (`<key>`, or
/// `<row key="…">` for a key that is no tag name), where [`xml`] writes a
/// list as a table's rows. Anything but a non-empty list renders as
/// [`xml`] does (it already follows `renderArray` for associative arrays).
pub fn xml_array(report: &Report, options: &RenderOptions) -> String {
    match report {
        Report::Tree(tree @ Tree::List(items))
            if !items.is_empty()
                && items.iter().any(|item| {
                    matches!(item, Tree::Assoc(_) | Tree::List(_) | Tree::Report(_))
                }) =>
        {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n");
            render_array(&mut out, tree, "\t", options);
            out.push_str("</result>");
            out
        }
        _ => xml(report, options),
    }
}

/// A PHP list of scalars (`renderArray`): one `<row>` each.
fn render_scalar_list(out: &mut String, rows: &[Item<'_>]) {
    out.push_str("<result>\n");
    for row in rows {
        let text = scalar_text(row);
        if text.is_empty() {
            out.push_str("\t<row/>\n");
        } else {
            out.push_str(&format!("\t<row>{text}</row>\n"));
        }
    }
    out.push_str("</result>");
}

/// `renderArray`: each element as `<key>` (`<row key="…">` for a key
/// that is no tag name, `<row a="b">` for `a=b`, `<row>` in a list),
/// arrays nested, reports as Matomo renders a table, simple table or map
/// there (an empty one as an empty element).
fn render_array(out: &mut String, tree: &Tree, prefix: &str, options: &RenderOptions) {
    let entries: Vec<(Option<&str>, &Tree)> = match tree {
        Tree::Assoc(entries) => entries
            .iter()
            .map(|(key, value)| (Some(key.as_str()), value))
            .collect(),
        Tree::List(items) => items.iter().map(|value| (None, value)).collect(),
        _ => return,
    };
    for (key, value) in entries {
        let (open, close, empty) = match key {
            Some(key) => match key.split_once('=') {
                Some((name, value)) => (
                    format!("<row {name}=\"{value}\">"),
                    "</row>".to_owned(),
                    format!("<row {name}=\"{value}\">"),
                ),
                None if !is_valid_tag_name(key) => (
                    format!("<row key=\"{key}\">"),
                    "</row>".to_owned(),
                    format!("<row key=\"{key}\"/>"),
                ),
                None => (
                    format!("<{key}>"),
                    format!("</{key}>"),
                    format!("<{key} />"),
                ),
            },
            None => ("<row>".to_owned(), "</row>".to_owned(), "<row/>".to_owned()),
        };
        match value {
            Tree::Assoc(_) | Tree::List(_) => {
                out.push_str(&format!("{prefix}{open}\n"));
                render_array(out, value, &format!("{prefix}\t"), options);
                out.push_str(&format!("{prefix}{close}\n"));
            }
            Tree::Report(report) => {
                let item = report_item(report, options);
                let rows = match (report.as_ref(), &item) {
                    (Report::Map { entries, .. }, _) => entries.len(),
                    (_, Item::List(rows)) => rows.len(),
                    (_, Item::Assoc(entries)) => entries.len(),
                    _ => 1,
                };
                if rows == 0 {
                    out.push_str(&format!("{prefix}{empty}\n"));
                    continue;
                }
                out.push_str(&format!("{prefix}{open}\n"));
                match (report.as_ref(), &item) {
                    (Report::Map { .. }, _) => render_map(out, report, &item, prefix),
                    (Report::Simple(_) | Report::SimpleCompared(..), Item::Assoc(entries)) => {
                        render_simple(out, entries, prefix);
                    }
                    // One column renders bare; `renderDataTableSimple`
                    // names it `value`.
                    (Report::Simple(_), value) => {
                        let entries = [(std::borrow::Cow::Borrowed("value"), value.clone())];
                        render_simple(out, &entries, prefix);
                    }
                    _ => render_rows(out, &array_entries(&item), prefix),
                }
                out.push_str(&format!("{prefix}{close}\n"));
            }
            scalar => {
                let text = scalar_text(&scalar.item(options));
                if text.is_empty() {
                    out.push_str(&format!("{prefix}{empty}\n"));
                } else {
                    out.push_str(&format!("{prefix}{open}{text}{close}\n"));
                }
            }
        }
    }
}

/// Keyed entries of an array; list positions have no key.
fn list_entries<'b, 'a>(rows: &'b [Item<'a>]) -> Vec<(Option<&'b str>, &'b Item<'a>)> {
    rows.iter().map(|row| (None, row)).collect()
}

fn array_entries<'b, 'a>(item: &'b Item<'a>) -> Vec<(Option<&'b str>, &'b Item<'a>)> {
    match item {
        Item::List(rows) => list_entries(rows),
        Item::Assoc(entries) => entries
            .iter()
            .map(|(key, value)| (Some(key.as_ref()), value))
            .collect(),
        _ => Vec::new(),
    }
}

/// `renderDataTable`: rows, each `<row>` with one child element per entry.
fn render_rows(out: &mut String, rows: &[(Option<&str>, &Item<'_>)], prefix: &str) {
    let invalid_names = rows
        .first()
        .is_some_and(|(_, row)| has_invalid_tag_names(row));
    for (row_key, row) in rows {
        // Goal entries are keyed `idgoal=N`: the key becomes an attribute.
        let attribute = row_key
            .and_then(|key| key.split_once('='))
            .map(|(name, value)| format!(" {name}='{value}'"))
            .unwrap_or_default();
        let Item::Assoc(entries) = row else {
            let text = scalar_text(row);
            let name = row_key.unwrap_or("row");
            if text.is_empty() {
                out.push_str(&format!("{prefix}\t\t<{name} />\n"));
            } else {
                out.push_str(&format!("{prefix}\t\t<{name}>{text}</{name}>\n"));
            }
            continue;
        };
        out.push_str(prefix);
        out.push_str("\t<row");
        out.push_str(&attribute);
        out.push_str(">\n");
        let inner_prefix = format!("{prefix}\t\t");
        for (name, value) in entries {
            let text = if value.is_array() {
                let nested = array_entries(value);
                let nested_rows = nested.first().is_some_and(|(_, first)| first.is_array());
                let mut inner = String::from("\n");
                if nested_rows {
                    render_rows(&mut inner, &nested, &inner_prefix);
                } else if let Item::Assoc(simple) = value {
                    render_simple(&mut inner, simple, &inner_prefix);
                } else if let Item::List(values) = value {
                    // `renderArray` of a list of scalars (Live's
                    // `productViewCategories`): one `<row>` each, at the
                    // indentation of the enclosing element.
                    for item in values {
                        let text = scalar_text(item);
                        if text.is_empty() {
                            inner.push_str(&format!("{inner_prefix}<row/>\n"));
                        } else {
                            inner.push_str(&format!("{inner_prefix}<row>{text}</row>\n"));
                        }
                    }
                }
                inner.push_str(&inner_prefix);
                inner
            } else {
                scalar_text(value)
            };
            let (start, end) = tag_names(name, invalid_names);
            if text.is_empty() {
                out.push_str(&format!("{inner_prefix}<{start} />\n"));
            } else {
                out.push_str(&format!("{inner_prefix}<{start}>{text}</{end}>\n"));
            }
        }
        out.push('\t');
        out.push_str(prefix);
        out.push_str("</row>\n");
    }
}

/// `renderDataTableSimple`: one element per entry.
fn render_simple(
    out: &mut String,
    entries: &[(std::borrow::Cow<'_, str>, Item<'_>)],
    prefix: &str,
) {
    let invalid_names = entries.iter().any(|(name, _)| !is_valid_tag_name(name));
    for (name, value) in entries {
        // A simple report's `comparisons`: its rows one level deeper.
        if let Item::List(rows) = value
            && rows.iter().any(Item::is_array)
        {
            out.push_str(&format!("{prefix}\t<{name}>\n"));
            render_rows(out, &list_entries(rows), &format!("{prefix}\t"));
            out.push_str(&format!("{prefix}\t</{name}>\n"));
            continue;
        }
        let text = scalar_text(value);
        let (start, end) = tag_names(name, invalid_names);
        if text.is_empty() {
            out.push_str(&format!("{prefix}\t<{start} />\n"));
        } else {
            out.push_str(&format!("{prefix}\t<{start}>{text}</{end}>\n"));
        }
    }
}

/// `renderDataTableMap`: one `<result key="…">` per entry.
fn render_map(out: &mut String, report: &Report, item: &Item<'_>, prefix: &str) {
    let (Report::Map { key_name, entries }, Item::Assoc(items)) = (report, item) else {
        return;
    };
    let first_report = entries.first().map(|(_, report)| report);
    let first_item = items.first().map(|(_, item)| item);
    match (first_report, first_item) {
        // Case 4: nested maps (multi-site × multi-period).
        (Some(Report::Map { .. }), _) => {
            for ((key, report), (_, item)) in entries.iter().zip(items) {
                out.push_str(&format!(
                    "{prefix}\t<result {key_name}=\"{}\">\n",
                    escape(key)
                ));
                render_map(out, report, item, &format!("{prefix}\t"));
                out.push_str(&format!("{prefix}\t</result>\n"));
            }
        }
        // Case 1: every entry renders to a bare value.
        (_, Some(first)) if !first.is_array() => {
            for (key, item) in items {
                let key = escape(key);
                if is_php_empty(item) {
                    out.push_str(&format!("{prefix}\t<result {key_name}=\"{key}\" />\n"));
                } else {
                    out.push_str(&format!(
                        "{prefix}\t<result {key_name}=\"{key}\">{}</result>\n",
                        scalar_text(item)
                    ));
                }
            }
        }
        // Case 2: single-row (simple) reports.
        (Some(Report::Simple(_) | Report::SimpleCompared(..)), _) => {
            for (key, item) in items {
                let key = escape(key);
                match item {
                    Item::Assoc(entries) if !entries.is_empty() => {
                        out.push_str(&format!("{prefix}\t<result {key_name}=\"{key}\">\n"));
                        render_simple(out, entries, &format!("{prefix}\t"));
                        out.push_str(&format!("{prefix}\t</result>\n"));
                    }
                    value if value.is_array() => {
                        out.push_str(&format!("{prefix}\t<result {key_name}=\"{key}\" />\n"));
                    }
                    value => out.push_str(&format!(
                        "{prefix}\t<result {key_name}=\"{key}\">{}</result>\n",
                        raw_text(value)
                    )),
                }
            }
        }
        // Case 3: table reports.
        _ => {
            for (key, item) in items {
                let key = escape(key);
                let mut rows = String::new();
                render_rows(&mut rows, &array_entries(item), &format!("{prefix}\t"));
                if rows.is_empty() {
                    out.push_str(&format!("{prefix}\t<result {key_name}=\"{key}\" />\n"));
                } else {
                    out.push_str(&format!("{prefix}\t<result {key_name}=\"{key}\">\n"));
                    out.push_str(&rows);
                    out.push_str(&format!("{prefix}\t</result>\n"));
                }
            }
        }
    }
}

/// PHP `empty()` of a rendered value.
fn is_php_empty(item: &Item<'_>) -> bool {
    match item {
        Item::Int(number) => *number == 0,
        Item::False | Item::Null => true,
        Item::True => false,
        Item::Float(number) => *number == 0.0,
        Item::Str(text) => text.is_empty() || text == "0",
        Item::Assoc(entries) => entries.is_empty(),
        Item::List(items) => items.is_empty(),
    }
}

/// A value as PHP converts it to a string, without escaping.
fn raw_text(item: &Item<'_>) -> String {
    match item {
        Item::Int(number) => number.to_string(),
        // `formatValueXml` writes `false` as 0.
        Item::False => "0".to_owned(),
        Item::True => "1".to_owned(),
        Item::Float(number) => php_float_string(*number),
        Item::Str(text) => text.to_string(),
        Item::Null | Item::Assoc(_) | Item::List(_) => String::new(),
    }
}

/// `formatValueXml`: strings escaped as `htmlspecialchars(ENT_COMPAT)`.
fn scalar_text(item: &Item<'_>) -> String {
    match item {
        Item::Str(text) => escape(text),
        other => raw_text(other),
    }
}

fn is_valid_tag_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|rest| rest.is_ascii_alphanumeric() || matches!(rest, '_' | '-' | '.'))
}

fn has_invalid_tag_names(row: &Item<'_>) -> bool {
    match row {
        Item::Assoc(entries) => entries.iter().any(|(name, _)| !is_valid_tag_name(name)),
        _ => false,
    }
}

/// Column names that are not valid XML tag names render as
/// `<col name="…">` (decided per table from its first row, as Matomo does).
fn tag_names(name: &str, invalid_names: bool) -> (String, String) {
    if invalid_names {
        (format!("col name=\"{}\"", escape(name)), "col".to_owned())
    } else {
        (name.to_owned(), name.to_owned())
    }
}
