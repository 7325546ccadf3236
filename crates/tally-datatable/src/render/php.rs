//! PHP values as `format=original` sends them: `var_export($value, true)`
//! (what Matomo's `API\Controller::index()` makes of an array) and
//! `serialize($value)` (`serialize=1`, `Renderer\Original`).
//!
//! Only plain values are modelled: Matomo also serializes `DataTable`
//! objects, whose PHP internals we do not imitate (the API refuses them).

use std::borrow::Cow;
use std::fmt::Write;

use super::{Item, RenderOptions, Report, report_item, value_item, value_only};
use crate::value::Columns;

/// A PHP value: what an API method returns before rendering.
#[derive(Clone, Debug, PartialEq)]
pub enum Php {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (PHP strings are bytes; ours are UTF-8).
    Str(String),
    /// An array, in insertion order.
    Array(Vec<(PhpKey, Php)>),
}

/// An array key. PHP stores a decimal integer string (`"5"`, `"-3"`, not
/// `"05"`) as an integer key, so [`PhpKey::from`] does the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhpKey {
    /// An integer key.
    Int(i64),
    /// A string key.
    Str(String),
}

impl From<&str> for PhpKey {
    fn from(key: &str) -> Self {
        let digits = key.strip_prefix('-').unwrap_or(key);
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && key != "-0";
        match key.parse::<i64>() {
            Ok(number) if canonical => Self::Int(number),
            _ => Self::Str(key.to_owned()),
        }
    }
}

impl PhpKey {
    /// The key as PHP converts it to a string.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Self::Int(number) => Cow::Owned(number.to_string()),
            Self::Str(text) => Cow::Borrowed(text),
        }
    }
}

impl Php {
    /// A list (keys 0, 1, …).
    pub fn list(items: impl IntoIterator<Item = Php>) -> Self {
        Self::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| (PhpKey::Int(i64::try_from(index).unwrap_or(i64::MAX)), item))
                .collect(),
        )
    }

    /// An associative array; numeric keys become integer keys as in PHP.
    pub fn assoc<'k>(entries: impl IntoIterator<Item = (&'k str, Php)>) -> Self {
        Self::Array(
            entries
                .into_iter()
                .map(|(key, value)| (PhpKey::from(key), value))
                .collect(),
        )
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self, Self::Array(_))
    }

    pub(crate) fn from_item(item: &Item<'_>) -> Self {
        match item {
            Item::Int(number) => Self::Int(*number),
            Item::Float(number) => Self::Float(*number),
            Item::Str(text) => Self::Str(text.to_string()),
            Item::False => Self::Bool(false),
            Item::Null => Self::Null,
            Item::True => Self::Bool(true),
            Item::Assoc(entries) => Self::assoc(
                entries
                    .iter()
                    .map(|(key, value)| (key.as_ref(), Self::from_item(value))),
            ),
            Item::List(items) => Self::list(items.iter().map(Self::from_item)),
        }
    }
}

fn columns_php(columns: &Columns) -> Php {
    Php::Array(
        columns
            .iter()
            .map(|(key, value)| {
                (
                    PhpKey::from(key.name().as_ref()),
                    Php::from_item(&value_item(value)),
                )
            })
            .collect(),
    )
}

/// A report that a method returned as a PHP array (management and meta
/// methods): simple tables as associative arrays (every column, even a
/// single one), maps as arrays keyed by their keys, and lists whose rows
/// hold only `value` (our shape of an id list such as
/// `SitesManager.getAllSitesId`) as plain lists.
pub fn report_php(report: &Report, options: &RenderOptions) -> Php {
    match report {
        Report::Simple(columns) | Report::SimpleCompared(columns, _) => columns_php(columns),
        Report::Rows(rows) => Php::list(rows.iter().map(|columns| match value_only(columns) {
            Some(value) => Php::from_item(&value_item(value)),
            None => columns_php(columns),
        })),
        Report::Map { entries, .. } => Php::assoc(
            entries
                .iter()
                .map(|(key, report)| (key.as_str(), report_php(report, options))),
        ),
        Report::Table(_) | Report::Tree(_) => Php::from_item(&report_item(report, options)),
    }
}

/// `var_export($value, true)`: PHP 8's layout, two spaces per level,
/// `array (` with a line break before nested arrays, a trailing comma
/// after every element.
pub fn var_export(value: &Php) -> String {
    let mut out = String::new();
    export(&mut out, value, 1);
    out
}

fn spaces(out: &mut String, count: usize) {
    out.extend(std::iter::repeat_n(' ', count));
}

fn export(out: &mut String, value: &Php, level: usize) {
    match value {
        Php::Null => out.push_str("NULL"),
        Php::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Php::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Php::Float(number) => out.push_str(&float_repr(*number, true)),
        Php::Str(text) => export_string(out, text),
        Php::Array(entries) => {
            if level > 1 {
                out.push('\n');
                spaces(out, level - 1);
            }
            out.push_str("array (\n");
            for (key, item) in entries {
                spaces(out, level + 1);
                match key {
                    PhpKey::Int(number) => {
                        let _ = write!(out, "{number}");
                    }
                    PhpKey::Str(text) => export_string(out, text),
                }
                out.push_str(" => ");
                export(out, item, level + 2);
                out.push_str(",\n");
            }
            if level > 1 {
                spaces(out, level - 1);
            }
            out.push(')');
        }
    }
}

/// A single-quoted PHP literal: `\` and `'` escaped, NUL bytes spliced in
/// as `' . "\0" . '` as `var_export` does.
fn export_string(out: &mut String, text: &str) {
    out.push('\'');
    for character in text.chars() {
        match character {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("' . \"\\0\" . '"),
            other => out.push(other),
        }
    }
    out.push('\'');
}

/// A float as PHP writes it with `serialize_precision = -1`: the shortest
/// digits that read back the same (`php_gcvt` in mode 0 with 17 digits),
/// in exponent form (`1.0E+25`) when the decimal point would sit more than
/// 17 places right or 3 places left of the first digit; `var_export` adds
/// `.0` to integral values, `serialize` does not.
pub(crate) fn float_repr(value: f64, zero_fraction: bool) -> String {
    if value.is_nan() {
        return "NAN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "INF" } else { "-INF" }.to_owned();
    }
    if value == 0.0 {
        let zero = if value.is_sign_negative() { "-0" } else { "0" };
        return if zero_fraction {
            format!("{zero}.0")
        } else {
            zero.to_owned()
        };
    }
    // `{:e}` gives the shortest round-trip digits: `1.2345e3`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let text = if !(-4..=16).contains(&exponent) {
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}E{sign}{}", exponent.abs())
    } else {
        // Within that range Rust's shortest decimal form is PHP's.
        format!("{value}")
    };
    if zero_fraction && !text.contains(['.', 'E']) {
        format!("{text}.0")
    } else {
        text
    }
}

/// `serialize($value)`: `s:` lengths count UTF-8 bytes, as PHP counts
/// string bytes.
pub fn serialize(value: &Php) -> String {
    let mut out = String::new();
    serialize_into(&mut out, value);
    out
}

fn serialize_into(out: &mut String, value: &Php) {
    match value {
        Php::Null => out.push_str("N;"),
        Php::Bool(flag) => out.push_str(if *flag { "b:1;" } else { "b:0;" }),
        Php::Int(number) => {
            let _ = write!(out, "i:{number};");
        }
        Php::Float(number) => {
            let _ = write!(out, "d:{};", float_repr(*number, false));
        }
        Php::Str(text) => serialize_string(out, text),
        Php::Array(entries) => {
            let _ = write!(out, "a:{}:{{", entries.len());
            for (key, item) in entries {
                match key {
                    PhpKey::Int(number) => {
                        let _ = write!(out, "i:{number};");
                    }
                    PhpKey::Str(text) => serialize_string(out, text),
                }
                serialize_into(out, item);
            }
            out.push('}');
        }
    }
}

fn serialize_string(out: &mut String, text: &str) {
    let _ = write!(out, "s:{}:\"{text}\";", text.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested() -> Php {
        Php::assoc([
            ("name", Php::Str("O'Brien \\ \"café\"".to_owned())),
            ("5", Php::Int(-3)),
            ("05", Php::Float(0.5)),
            ("ratio", Php::Float(2.0)),
            ("big", Php::Float(1e25)),
            ("tiny", Php::Float(1.5e-7)),
            ("on", Php::Bool(true)),
            ("off", Php::Bool(false)),
            ("none", Php::Null),
            (
                "list",
                Php::list([Php::Str("a".to_owned()), Php::list([]), Php::Int(7)]),
            ),
        ])
    }

    #[test]
    fn var_export_writes_php_8_layout() {
        assert_eq!(
            var_export(&nested()),
            "array (\n  'name' => 'O\\'Brien \\\\ \"café\"',\n  5 => -3,\n  '05' => 0.5,\n  \
             'ratio' => 2.0,\n  'big' => 1.0E+25,\n  'tiny' => 1.5E-7,\n  'on' => true,\n  \
             'off' => false,\n  'none' => NULL,\n  'list' => \n  array (\n    0 => 'a',\n    \
             1 => \n    array (\n    ),\n    2 => 7,\n  ),\n)"
        );
        assert_eq!(var_export(&Php::list([])), "array (\n)");
        assert_eq!(
            var_export(&Php::Str("a\0b".to_owned())),
            "'a' . \"\\0\" . 'b'"
        );
        assert_eq!(var_export(&Php::Float(0.1 + 0.2)), "0.30000000000000004");
        assert_eq!(var_export(&Php::Float(-0.0)), "-0.0");
    }

    #[test]
    fn serialize_counts_bytes_and_keeps_key_types() {
        assert_eq!(
            serialize(&nested()),
            "a:10:{s:4:\"name\";s:17:\"O'Brien \\ \"café\"\";i:5;i:-3;s:2:\"05\";d:0.5;\
             s:5:\"ratio\";d:2;s:3:\"big\";d:1.0E+25;s:4:\"tiny\";d:1.5E-7;s:2:\"on\";b:1;\
             s:3:\"off\";b:0;s:4:\"none\";N;s:4:\"list\";a:3:{i:0;s:1:\"a\";i:1;a:0:{}i:2;i:7;}}"
        );
        assert_eq!(serialize(&Php::Str("日本".to_owned())), "s:6:\"日本\";");
        assert_eq!(serialize(&Php::Float(100.0)), "d:100;");
        assert_eq!(serialize(&Php::Float(1e15)), "d:1000000000000000;");
        assert_eq!(var_export(&Php::Float(1e16)), "10000000000000000.0");
        assert_eq!(serialize(&Php::Float(1e17)), "d:1.0E+17;");
        assert_eq!(serialize(&Php::Float(-1234.5)), "d:-1234.5;");
        assert_eq!(serialize(&Php::Float(0.0001)), "d:0.0001;");
        assert_eq!(serialize(&Php::Float(0.000_01)), "d:1.0E-5;");
    }

    #[test]
    fn integer_looking_keys_become_integers() {
        assert_eq!(PhpKey::from("12"), PhpKey::Int(12));
        assert_eq!(PhpKey::from("-4"), PhpKey::Int(-4));
        assert_eq!(PhpKey::from("0"), PhpKey::Int(0));
        for text in [
            "-0",
            "007",
            "1.5",
            " 1",
            "",
            "99999999999999999999",
            "2024-01-05",
        ] {
            assert_eq!(PhpKey::from(text), PhpKey::Str(text.to_owned()), "{text}");
        }
    }
}
