//! JSON as Matomo's `Renderer\Json` writes it with PHP's `json_encode`.

use std::fmt::Write;

use super::{Item, RenderOptions, Report, report_item};
use crate::format::{html_entity_decode, json_float_string};

/// Renders a report as Matomo's JSON.
///
/// Tables are arrays of row objects, single values `{"value":x}`, maps
/// objects keyed by period or site. String values are HTML-decoded first
/// (`&amp;` is `&`, `&#039;` is `'`), as Matomo's renderer does since 2010;
/// keys are not. Strings are escaped as `json_encode` does by default: `/`
/// as `\/` and non-ASCII as `\u` escapes (`é` as `\u00e9`).
pub fn json(report: &Report, options: &RenderOptions) -> String {
    let item = report_item(report, options);
    let mut out = String::new();
    if item.is_array() {
        write_item(&mut out, &item);
    } else {
        out.push_str("{\"value\":");
        write_item(&mut out, &item);
        out.push('}');
    }
    out
}

fn write_item(out: &mut String, item: &Item<'_>) {
    match item {
        Item::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Item::Float(number) => out.push_str(&json_float_string(*number)),
        // `Renderer\Json` runs `html_entity_decode` over every string value
        // (not over keys) before `json_encode`: a label SafeDecodeLabel
        // escaped (`Tom &amp; Jerry`) and a name stored escaped read as
        // typed in JSON, unlike XML, which escapes them again.
        Item::Str(text) => write_string(out, &html_entity_decode(text)),
        Item::False => out.push_str("false"),
        Item::Null => out.push_str("null"),
        Item::True => out.push_str("true"),
        // PHP encodes an empty array as a list.
        Item::Assoc(entries) if entries.is_empty() => out.push_str("[]"),
        Item::Assoc(entries) => {
            out.push('{');
            for (position, (key, value)) in entries.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_item(out, value);
            }
            out.push('}');
        }
        Item::List(items) => {
            out.push('[');
            for (position, value) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_item(out, value);
            }
            out.push(']');
        }
    }
}

/// A JSON string as `json_encode` without flags writes it.
pub(crate) fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' | '\u{7f}' => out.push(character),
            other => {
                let mut units = [0u16; 2];
                for unit in other.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}
