//! The API's sort (Matomo's `Sort` filter with its `Metrics\Sorter`), and
//! PHP's natural string order.
//!
//! Matomo chooses every setting of the sort once, from the top-level table
//! (the primary column, its comparison, the secondary column, its direction
//! and comparison), and applies that one configuration to each expanded
//! subtable, at every depth. Its `array_multisort` then compares, for rows
//! still equal on both columns, the rows themselves: PHP `ArrayObject`s,
//! whose column arrays compare by their number of entries first, then by
//! their first entry, the label. [`ApiSort`] reproduces all of it, so that
//! equal rows come out in Matomo's order whatever order they were stored in.

use std::cmp::Ordering;

use crate::format::php_float_string;
use crate::row::Row;
use crate::table::{SortOrder, php_cmp_parsed, php_numeric};
use crate::value::{Number, Value, decimal4_text, parse_numeric};

/// How `Sorter` compares one column's values (`getBestSortFlags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flags {
    /// `SORT_NUMERIC`: every value as a number.
    Numeric,
    /// `SORT_NATURAL | SORT_FLAG_CASE`: every value as a string,
    /// [`natural_cmp_ci`].
    Natural,
}

/// One column's sort settings.
#[derive(Clone, Debug)]
struct Key {
    column: String,
    order: SortOrder,
    flags: Flags,
}

/// The settings of one API sort, chosen from the top-level table.
#[derive(Clone, Debug)]
pub(crate) struct ApiSort {
    primary: Key,
    /// `getSecondaryColumnToSort`; `None` when the first row offers none.
    secondary: Option<Key>,
    /// Ties of the primary column are broken by the secondary one only
    /// when the primary column compares as numbers (labels are unique).
    break_ties: bool,
}

/// A value as `array_multisort` sees it under the column's flags.
enum SortValue {
    Number(Number),
    Text(String),
}

impl ApiSort {
    /// The settings `Sort::filter` computes for `table_rows` (the rows
    /// without the summary row, in their current order); `None` for an
    /// empty table, which Matomo leaves alone.
    pub(crate) fn for_rows(rows: &[Row], column: &str, order: SortOrder) -> Option<Self> {
        let first = rows.first()?;
        // `getPrimaryColumnToSort`: the column when the first row has it,
        // else visits when the first row has those, else the column still.
        let primary = if column != "label"
            && first.column(column).is_none()
            && first.column("nb_visits").is_some()
        {
            "nb_visits"
        } else {
            column
        };
        let primary_flags = best_flags(rows, primary);
        let is_visits = primary == "nb_visits" || primary == "2";
        // `getSecondaryColumnToSort`, from the first row only: the label
        // after visits; visits, else the label, after anything else (but
        // never the label twice).
        let secondary = if is_visits {
            Some("label")
        } else if first.column("nb_visits").is_some() {
            Some("nb_visits")
        } else if primary != "label" {
            Some("label")
        } else {
            None
        };
        let secondary = secondary.map(|name| Key {
            column: name.to_owned(),
            // `getSecondarySortOrder`: labels A to Z under a descending
            // sort, other columns in the primary direction.
            order: if name == "label" {
                reversed(order)
            } else {
                order
            },
            flags: best_flags(rows, name),
        });
        Some(Self {
            primary: Key {
                column: primary.to_owned(),
                order,
                flags: primary_flags,
            },
            secondary,
            break_ties: primary_flags == Flags::Numeric,
        })
    }

    /// Sorts `rows` (a table's rows without its summary row) with these
    /// settings: rows with a value for the primary column first, in order;
    /// then the others, by the secondary column (`Sorter::sort`).
    pub(crate) fn sort(&self, rows: &mut Vec<Row>) {
        // Values are converted once per row, not once per comparison.
        let mut with: Vec<(SortValue, Keyed)> = Vec::with_capacity(rows.len());
        let mut without: Vec<Keyed> = Vec::new();
        for row in rows.drain(..) {
            let keyed = Keyed {
                second: self
                    .secondary
                    .as_ref()
                    .map(|key| secondary_value(&row, key)),
                label_number: php_numeric(&row.label),
                row,
            };
            match primary_value(&keyed.row, &self.primary) {
                Some(value) => with.push((value, keyed)),
                None => without.push(keyed),
            }
        }
        let secondary = self.secondary.as_ref();
        let by_secondary = |a: &Keyed, b: &Keyed| match (secondary, &a.second, &b.second) {
            (Some(key), Some(x), Some(y)) => directed(compare(x, y), key.order),
            _ => Ordering::Equal,
        };
        with.sort_by(|(a, keyed_a), (b, keyed_b)| {
            directed(compare(a, b), self.primary.order)
                .then_with(|| {
                    if self.break_ties {
                        by_secondary(keyed_a, keyed_b)
                    } else {
                        Ordering::Equal
                    }
                })
                .then_with(|| keyed_a.cmp_rows(keyed_b))
        });
        rows.extend(with.into_iter().map(|(_, keyed)| keyed.row));
        // Without a secondary column, Matomo keeps these rows' order.
        if secondary.is_some() {
            without.sort_by(|a, b| by_secondary(a, b).then_with(|| a.cmp_rows(b)));
        }
        rows.extend(without.into_iter().map(|keyed| keyed.row));
    }
}

fn reversed(order: SortOrder) -> SortOrder {
    match order {
        SortOrder::Asc => SortOrder::Desc,
        SortOrder::Desc => SortOrder::Asc,
    }
}

fn directed(ordering: Ordering, order: SortOrder) -> Ordering {
    match order {
        SortOrder::Asc => ordering,
        SortOrder::Desc => ordering.reverse(),
    }
}

fn compare(a: &SortValue, b: &SortValue) -> Ordering {
    match (a, b) {
        (SortValue::Number(x), SortValue::Number(y)) => x.cmp_value(*y),
        (SortValue::Text(x), SortValue::Text(y)) => natural_cmp_ci(x, y),
        // Both sides of one column always have the same flags.
        (SortValue::Number(_), SortValue::Text(_)) => Ordering::Less,
        (SortValue::Text(_), SortValue::Number(_)) => Ordering::Greater,
    }
}

/// A row with its secondary sort value and its label's numeric value.
struct Keyed {
    second: Option<SortValue>,
    label_number: Option<f64>,
    row: Row,
}

impl Keyed {
    /// What is left when both sort columns are equal: `array_multisort`
    /// compares the rows themselves, by their number of columns (the
    /// label counts on both sides there; ours keep it apart, which
    /// compares alike), then by the label with PHP 8's `<=>`.
    fn cmp_rows(&self, other: &Self) -> Ordering {
        self.row
            .columns
            .len()
            .cmp(&other.row.columns.len())
            .then_with(|| {
                php_cmp_parsed(
                    (&self.row.label, self.label_number),
                    (&other.row.label, other.label_number),
                )
            })
    }
}

/// `getBestSortFlags`: the label always compares as text; another column
/// as numbers when the first row with a value for it holds a number (or a
/// numeric string), as text otherwise or when no row has a value.
fn best_flags(rows: &[Row], column: &str) -> Flags {
    if column == "label" {
        return Flags::Natural;
    }
    let first_value = rows.iter().find_map(|row| match row.column(column)? {
        Value::Goals(_) | Value::False | Value::Null => None,
        value => Some(value),
    });
    match first_value {
        Some(Value::Str(text)) if parse_numeric(text).is_none() => Flags::Natural,
        Some(_) => Flags::Numeric,
        None => Flags::Natural,
    }
}

/// `Sorter::getColumnValue`: no value for a missing column, PHP `false`
/// or `null`, or an array (`goals`).
fn primary_value(row: &Row, key: &Key) -> Option<SortValue> {
    if key.column == "label" {
        return Some(converted(&Value::Str(row.label.clone()), key.flags));
    }
    match row.column(&key.column)? {
        Value::Goals(_) | Value::False | Value::Null => None,
        value => Some(converted(value, key.flags)),
    }
}

/// `Row::getColumn` for the secondary column: a missing column is `false`,
/// which compares as 0 or as the empty string.
fn secondary_value(row: &Row, key: &Key) -> SortValue {
    if key.column == "label" {
        return converted(&Value::Str(row.label.clone()), key.flags);
    }
    converted(row.column(&key.column).unwrap_or(&Value::False), key.flags)
}

/// A value converted as `array_multisort` converts it for `flags`.
fn converted(value: &Value, flags: Flags) -> SortValue {
    match flags {
        Flags::Numeric => SortValue::Number(match value {
            Value::Int(number) => Number::Int(*number),
            Value::Str(text) => Number::Float(php_string_to_float(text)),
            other => other.number().unwrap_or(Number::Int(0)),
        }),
        Flags::Natural => SortValue::Text(match value {
            Value::Int(number) => number.to_string(),
            Value::Float(number) => php_float_string(*number),
            Value::Str(text) => text.clone(),
            Value::Decimal4(thousandths) => decimal4_text(*thousandths),
            // PHP's `false` and `null` are the empty string; an array is
            // never a sort value here.
            Value::Goals(_) | Value::False | Value::Null => String::new(),
        }),
    }
}

/// PHP's string-to-float conversion (`zval_get_double`): the leading
/// number of the text, 0 when it starts with none (`"12abc"` is 12).
fn php_string_to_float(text: &str) -> f64 {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\u{b}', '\u{c}']);
    let bytes = trimmed.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let digits_from = |mut at: usize| {
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        at
    };
    let whole_end = digits_from(end);
    let mut mantissa_end = whole_end;
    if bytes.get(whole_end) == Some(&b'.') {
        mantissa_end = digits_from(whole_end + 1);
    }
    // A lone sign or dot is no number.
    let has_digit = trimmed[..mantissa_end]
        .bytes()
        .any(|byte| byte.is_ascii_digit());
    if !has_digit {
        return 0.0;
    }
    end = mantissa_end;
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut exponent = end + 1;
        if matches!(bytes.get(exponent), Some(b'+' | b'-')) {
            exponent += 1;
        }
        let exponent_end = digits_from(exponent);
        if exponent_end > exponent {
            end = exponent_end;
        }
    }
    trimmed[..end].parse().unwrap_or(0.0)
}

/// Case-insensitive natural order, as PHP's `strnatcasecmp`
/// (`strnatcmp_ex`), byte for byte: leading zeros are skipped at the start
/// of the strings only; whitespace is skipped before each comparison (so
/// `"SKU2"` sorts before `"SKU VERY"`); digit runs compare by value, except
/// a run starting with `0` on either side, which compares digit by digit
/// from the left (a fraction: `"1.05"` before `"1.5"`); other bytes
/// compare upper-cased in ASCII (`"_"` after `"a"`).
pub fn natural_cmp_ci(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.is_empty() || b.is_empty() {
        return a.len().cmp(&b.len());
    }
    // PHP reads a NUL byte past the end of its strings; `at` gives 0 there.
    let at = |text: &[u8], index: usize| text.get(index).copied().unwrap_or(0);
    let (mut i, mut j) = (0, 0);
    let mut leading = true;
    loop {
        let (mut ca, mut cb) = (at(a, i), at(b, j));
        if leading {
            while ca == b'0' && i + 1 < a.len() && a[i + 1].is_ascii_digit() {
                i += 1;
                ca = a[i];
            }
            while cb == b'0' && j + 1 < b.len() && b[j + 1].is_ascii_digit() {
                j += 1;
                cb = b[j];
            }
            leading = false;
        }
        while is_c_space(ca) {
            i += 1;
            ca = at(a, i);
        }
        while is_c_space(cb) {
            j += 1;
            cb = at(b, j);
        }
        if ca.is_ascii_digit() && cb.is_ascii_digit() {
            let fractional = ca == b'0' || cb == b'0';
            let result = if fractional {
                compare_left(a, &mut i, b, &mut j)
            } else {
                compare_right(a, &mut i, b, &mut j)
            };
            if result != Ordering::Equal {
                return result;
            }
            match (i == a.len(), j == b.len()) {
                (true, true) => return Ordering::Equal,
                (true, false) => return Ordering::Less,
                (false, true) => return Ordering::Greater,
                (false, false) => {
                    ca = a[i];
                    cb = b[j];
                }
            }
        }
        let by_byte = ca.to_ascii_uppercase().cmp(&cb.to_ascii_uppercase());
        if by_byte != Ordering::Equal {
            return by_byte;
        }
        i += 1;
        j += 1;
        match (i >= a.len(), j >= b.len()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn digit_at(text: &[u8], index: usize) -> bool {
    text.get(index).is_some_and(u8::is_ascii_digit)
}

/// Two digit runs aligned right: the longer run is larger; at equal
/// lengths the first differing digit decides.
fn compare_right(a: &[u8], i: &mut usize, b: &[u8], j: &mut usize) -> Ordering {
    let mut bias = Ordering::Equal;
    loop {
        match (digit_at(a, *i), digit_at(b, *j)) {
            (false, false) => return bias,
            (false, true) => return Ordering::Less,
            (true, false) => return Ordering::Greater,
            (true, true) => {
                if bias == Ordering::Equal {
                    bias = a[*i].cmp(&b[*j]);
                }
            }
        }
        *i += 1;
        *j += 1;
    }
}

/// Two digit runs aligned left (fractions): the first differing digit
/// decides, a run that ends first is smaller.
fn compare_left(a: &[u8], i: &mut usize, b: &[u8], j: &mut usize) -> Ordering {
    loop {
        match (digit_at(a, *i), digit_at(b, *j)) {
            (false, false) => return Ordering::Equal,
            (false, true) => return Ordering::Less,
            (true, false) => return Ordering::Greater,
            (true, true) => {
                let by_digit = a[*i].cmp(&b[*j]);
                if by_digit != Ordering::Equal {
                    return by_digit;
                }
            }
        }
        *i += 1;
        *j += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_digit_runs_by_value() {
        assert_eq!(natural_cmp_ci("img12", "img10"), Ordering::Greater);
        assert_eq!(natural_cmp_ci("img2", "IMG10"), Ordering::Less);
        assert_eq!(natural_cmp_ci("Abc", "abd"), Ordering::Less);
        assert_eq!(natural_cmp_ci("a", "a"), Ordering::Equal);
        // Whitespace is skipped before each comparison.
        assert_eq!(natural_cmp_ci("SKU2", "SKU VERY nice"), Ordering::Less);
        assert_eq!(natural_cmp_ci("a b", "ab"), Ordering::Equal);
        assert_eq!(natural_cmp_ci("  x", "x"), Ordering::Equal);
    }

    /// Details of PHP's `strnatcasecmp` a per-run value comparison misses.
    #[test]
    fn natural_order_follows_strnatcasecmp_byte_for_byte() {
        // A run starting with 0 compares from the left, as a fraction.
        assert_eq!(natural_cmp_ci("1.05", "1.5"), Ordering::Less);
        assert_eq!(natural_cmp_ci("1.5", "1.25"), Ordering::Less);
        assert_eq!(natural_cmp_ci("x05", "x5"), Ordering::Less);
        // Leading zeros at the very start are skipped.
        assert_eq!(natural_cmp_ci("007", "7"), Ordering::Equal);
        assert_eq!(natural_cmp_ci("010", "9"), Ordering::Greater);
        // Upper-cased ASCII: `_` (0x5F) is above `A` (0x41).
        assert_eq!(natural_cmp_ci("a_b", "ab"), Ordering::Greater);
        // Negative numbers are a `-` then a run.
        assert_eq!(natural_cmp_ci("-5", "-3"), Ordering::Greater);
        // The empty string is smallest.
        assert_eq!(natural_cmp_ci("", "0"), Ordering::Less);
        // After a digit run, whitespace is not skipped before comparing.
        assert_eq!(natural_cmp_ci("1 a", "1a"), Ordering::Less);
    }

    #[test]
    fn php_reads_the_leading_number_of_a_string() {
        assert_eq!(php_string_to_float("12abc"), 12.0);
        assert_eq!(php_string_to_float(" -1.5e2x"), -150.0);
        assert_eq!(php_string_to_float("abc"), 0.0);
        assert_eq!(php_string_to_float("-"), 0.0);
        assert_eq!(php_string_to_float("3e"), 3.0);
    }
}
