//! Matomo's number formatting: PHP float → string conversions, PHP
//! `round()`, and the `"50%"` percentages of `format_metrics=bc`.

use std::borrow::Cow;

use crate::table::DataTable;
use crate::value::{Scalar, Value};

/// PHP `round($value, $precision)`: half away from zero, with PHP's
/// pre-rounding so that `round(1.955, 2)` gives 1.96 like PHP.
pub fn round_php(value: f64, precision: i32) -> f64 {
    if !value.is_finite() {
        return value;
    }
    let factor = 10f64.powi(precision);
    let scaled = value * factor;
    if !scaled.is_finite() {
        return value;
    }
    // Pre-round to 15 significant digits to absorb binary noise
    // (1.955 * 100 = 195.49999999999997), as PHP's round helper does.
    let pre_rounded = format!("{scaled:.15e}").parse::<f64>().unwrap_or(scaled);
    let rounded = pre_rounded.abs().add_half_floor().copysign(scaled);
    let result = rounded / factor;
    if result.is_finite() { result } else { value }
}

trait HalfUp {
    fn add_half_floor(self) -> f64;
}

impl HalfUp for f64 {
    fn add_half_floor(self) -> f64 {
        (self + 0.5).floor()
    }
}

/// A float as PHP converts it to a string with `precision = 14` (echo,
/// string concatenation, XML and CSV output): 14 significant digits,
/// trailing zeros dropped, `1.0E+25` style beyond that range.
pub fn php_float_string(value: f64) -> String {
    format_significant(value, 14)
}

/// A float as PHP's `json_encode` writes it with `serialize_precision = -1`
/// (the shortest text that reads back the same), except that integral
/// values are written without `.0`, as Matomo's API output shows them.
pub fn json_float_string(value: f64) -> String {
    if !value.is_finite() {
        // json_encode refuses NaN/INF; Matomo's metrics are never either.
        return "0".to_owned();
    }
    // PHP's php_gcvt in its shortest mode (17 digits) writes plain digits
    // while the decimal exponent `decpt` (1 for 1.0) is within -3..=17,
    // i.e. for 0.0001 <= |value| < 1e17; integral values without a
    // fraction.
    if value == value.trunc() && value.abs() < 1e17 {
        return format!("{value:.0}");
    }
    let text = format!("{value}");
    let abs = value.abs();
    if (1e-4..1e17).contains(&abs) {
        return text;
    }
    // Exponent notation outside that range: 1.0e-5, 1.0e+25.
    let formatted = format!("{value:e}");
    match formatted.split_once('e') {
        Some((mantissa, exponent)) => {
            let mantissa = if mantissa.contains('.') {
                mantissa.to_owned()
            } else {
                format!("{mantissa}.0")
            };
            let exponent = if exponent.starts_with('-') {
                exponent.to_owned()
            } else {
                format!("+{exponent}")
            };
            format!("{mantissa}e{exponent}")
        }
        None => text,
    }
}

/// Matomo's `SafeDecodeLabel::decodeLabelSafe`, which the API queues on
/// every report ("against XSS"): the label URL-decoded (PHP `urldecode`:
/// `+` is a space), the five special entities decoded, then escaped again
/// with `htmlspecialchars(ENT_QUOTES | ENT_IGNORE)`. So `a%20b` reads
/// `a b`, `<script>` reads `&lt;script&gt;` and `Tom & Jerry` reads
/// `Tom &amp; Jerry` in every format; bytes that decode to invalid UTF-8
/// are dropped (`ENT_IGNORE`).
pub fn safe_decode_label(label: &str) -> String {
    let raw = php_urldecode(label.as_bytes());
    let mut text = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        text.push_str(chunk.valid());
    }
    // `htmlspecialchars_decode` is one left-to-right pass: `&amp;lt;`
    // becomes `&lt;`. `str::replace` passes are non-overlapping, and `&amp;`
    // goes last so that what it produces is not decoded again.
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    htmlspecialchars(&decoded, Quotes::Both)
}

/// Which quotes [`htmlspecialchars`] escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quotes {
    /// `ENT_COMPAT`: double quotes only.
    Double,
    /// `ENT_QUOTES`: single quotes too, as `&#039;`.
    Both,
}

/// PHP `htmlspecialchars`: `&`, `<`, `>`, `"` and (with [`Quotes::Both`])
/// `'` escaped, every `&` included (`double_encode`).
pub fn htmlspecialchars(text: &str, quotes: Quotes) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' if quotes == Quotes::Both => out.push_str("&#039;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// PHP `html_entity_decode($text, ENT_QUOTES, 'UTF-8')`, which the CSV,
/// TSV, XML, HTML and JSON renderers apply to every string before writing
/// it (`formatValue`, `formatValueXml`, `Renderer\\Json`) and the tracker's
/// `sanitizeInputValue` before escaping, in one left-to-right pass
/// (`&amp;lt;` gives `&lt;`): numeric entities (`&#233;`, `&#xE9;`; not
/// `&#0;`), the HTML 4.01 Latin-1 entities and the most frequent others
/// (`&amp; &lt; &gt; &quot; &euro; &hellip; &ndash; &mdash;`, quotes).
/// Unknown entities are kept verbatim, as PHP does; `&apos;` is not an
/// HTML 4.01 entity and stays as is. Borrows `text` when it holds no `&`.
pub fn html_entity_decode(text: &str) -> Cow<'_, str> {
    decode_entities(text, |name| {
        if name.starts_with('#') {
            // PHP leaves NUL encoded.
            numeric_entity(name).filter(|&c| c != '\0')
        } else {
            named_entity(name)
        }
    })
}

/// The Latin-1 block of HTML 4.01 entities, in code point order from U+00A0.
const LATIN1_ENTITIES: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

/// A few frequent HTML 4.01 entities outside Latin-1.
const OTHER_ENTITIES: [(&str, char); 14] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("euro", '€'),
    ("hellip", '…'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bull", '•'),
    ("trade", '™'),
];

fn named_entity(name: &str) -> Option<char> {
    if let Some(pos) = LATIN1_ENTITIES.iter().position(|e| *e == name) {
        return char::from_u32(0xA0 + u32::try_from(pos).ok()?);
    }
    OTHER_ENTITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

/// The character of a numeric entity's name (`#39`, `#x3C`).
pub fn numeric_entity(name: &str) -> Option<char> {
    let num = name.strip_prefix('#')?;
    let code = match num.strip_prefix(['x', 'X']) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(hex, 16).ok()?
        }
        None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => num.parse().ok()?,
        _ => return None,
    };
    char::from_u32(code)
}

/// Replaces each `&name;` that `decode` resolves with its character, in
/// one left-to-right pass (`&amp;lt;` gives `&lt;`), keeping the others
/// verbatim; borrows `s` when it holds no `&`.
pub fn decode_entities(s: &str, decode: impl Fn(&str) -> Option<char>) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // An entity name is at most 10 bytes: look no further for its `;`
        // (a query string's `&` would otherwise scan the rest each time).
        let window = &after.as_bytes()[..after.len().min(11)];
        let decoded = window
            .iter()
            .position(|&b| b == b';')
            .filter(|&semi| semi > 0)
            .and_then(|semi| decode(&after[..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// PHP `urldecode`: `+` is a space, `%` and two hex digits a byte, any
/// other byte (a lone `%` included) itself.
pub fn php_urldecode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&byte, tail)) = rest.split_first() {
        let hex = tail
            .get(..2)
            .filter(|digits| digits.iter().all(u8::is_ascii_hexdigit));
        match (byte, hex) {
            (b'%', Some(digits)) => {
                let value = digits.iter().fold(0u8, |acc, digit| {
                    // Hex digits only (checked above).
                    let nibble = char::from(*digit).to_digit(16).unwrap_or(0);
                    acc.wrapping_mul(16)
                        .wrapping_add(u8::try_from(nibble).unwrap_or(0))
                });
                out.push(value);
                rest = &tail[2..];
                continue;
            }
            (b'+', _) => out.push(b' '),
            (other, _) => out.push(other),
        }
        rest = tail;
    }
    out
}

/// `%.{digits}G` as PHP does it for float → string.
fn format_significant(value: f64, digits: usize) -> String {
    if value.is_nan() {
        return "NAN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "INF" } else { "-INF" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let scientific = format!("{:.*e}", digits.saturating_sub(1), value);
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits_i32 = i32::try_from(digits).unwrap_or(14);
    if exponent < -4 || exponent >= digits_i32 {
        let mantissa = trim_fraction(mantissa);
        let mantissa = if mantissa.contains('.') {
            mantissa
        } else {
            format!("{mantissa}.0")
        };
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}E{sign}{}", exponent.abs());
    }
    let decimals = usize::try_from(digits_i32 - 1 - exponent).unwrap_or(0);
    trim_fraction(&format!("{value:.decimals$}"))
}

fn trim_fraction(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}

/// `Formatter::getPrettyPercentFromQuotient`: `0.5` → `"50%"`.
pub fn percent_from_quotient(quotient: f64) -> String {
    format!("{}%", php_float_string(quotient * 100.0))
}

/// Whether the API's default `format_metrics=bc` renders `column` as a
/// percentage (`Inconsistencies::getPercentMetricsToFormat`).
pub fn is_percent_metric(column: &str) -> bool {
    matches!(
        column,
        "bounce_rate"
            | "conversion_rate"
            | "abandoned_rate"
            | "interaction_rate"
            | "exit_rate"
            | "bounce_rate_returning"
            | "nb_visits_percentage"
    ) || column.ends_with("_evolution")
        // Visitor-type variants (`bounce_rate_new`,
        // `conversion_rate_returning_visit`) are formatted alike.
        || ["bounce_rate_", "conversion_rate_", "exit_rate_"]
            .iter()
            .any(|prefix| column.starts_with(prefix))
        // A goal's rate, also with `Goals.get`'s visitor-type suffix
        // (Matomo's pattern matches `conversion_rate` anywhere).
        || (column.starts_with("goal_") && column.contains("_conversion_rate"))
        // `Referrers.get`'s shares of visits by referrer type.
        || (column.starts_with("Referrers_visitorsFrom") && column.ends_with("_percent"))
}

/// Applies `format_metrics=bc` to a table: percentage metrics (quotients)
/// become strings like `"50%"`; everything else is left as is. Recursive.
pub fn format_percent_metrics(table: &mut DataTable) {
    for row in table.rows_mut() {
        format_row(&mut row.columns);
        if let Some(subtable) = row.subtable.as_deref_mut() {
            format_percent_metrics(subtable);
        }
    }
    if let Some(summary) = table.summary_row_mut() {
        format_row(&mut summary.columns);
    }
}

fn format_row(columns: &mut crate::value::Columns) {
    for (key, value) in columns.iter_mut() {
        if is_percent_metric(&key.name())
            && !matches!(value, Value::Str(_))
            && let Some(quotient) = value.as_f64()
        {
            *value = Value::Str(percent_from_quotient(quotient));
        }
    }
}

/// A scalar as PHP prints it (`(string) $value`).
pub fn scalar_string(value: &Scalar) -> String {
    match value {
        Scalar::Int(number) => number.to_string(),
        Scalar::Float(number) => php_float_string(*number),
        Scalar::Str(text) => text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_round_is_half_away_from_zero_with_pre_rounding() {
        assert_eq!(round_php(2.5, 0), 3.0);
        assert_eq!(round_php(-2.5, 0), -3.0);
        assert_eq!(round_php(1.955, 2), 1.96);
        assert_eq!(round_php(5.045, 2), 5.05);
        assert_eq!(round_php(0.285, 2), 0.29);
        assert_eq!(round_php(811.4, 0), 811.0);
        assert_eq!(round_php(1234.5678, -2), 1200.0);
    }

    #[test]
    fn php_string_conversion_uses_14_significant_digits() {
        assert_eq!(php_float_string(4.0), "4");
        assert_eq!(php_float_string(0.1 + 0.2), "0.3");
        assert_eq!(php_float_string(7.000000000000001), "7");
        assert_eq!(php_float_string(12.34), "12.34");
        assert_eq!(php_float_string(-0.5), "-0.5");
        assert_eq!(php_float_string(1e25), "1.0E+25");
        assert_eq!(php_float_string(0.00001), "1.0E-5");
        assert_eq!(php_float_string(0.0001), "0.0001");
        assert_eq!(
            php_float_string(123_456_789_012_345.0),
            "1.2345678901234E+14"
        );
    }

    #[test]
    fn json_floats_are_shortest_and_integral_values_have_no_fraction() {
        assert_eq!(json_float_string(4.0), "4");
        assert_eq!(json_float_string(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(json_float_string(12.5), "12.5");
        assert_eq!(json_float_string(-811.0), "-811");
        assert_eq!(json_float_string(1e-7), "1.0e-7");
        // The edges of php_gcvt's plain range.
        assert_eq!(json_float_string(0.0001), "0.0001");
        assert_eq!(json_float_string(0.00012), "0.00012");
        assert_eq!(json_float_string(0.00005), "5.0e-5");
        assert_eq!(json_float_string(-0.000015), "-1.5e-5");
        assert_eq!(json_float_string(1e15), "1000000000000000");
        assert_eq!(json_float_string(1.5e16), "15000000000000000");
        assert_eq!(json_float_string(1e17), "1.0e+17");
    }

    #[test]
    fn labels_are_safe_decoded_as_matomo_does() {
        assert_eq!(
            safe_decode_label("/#!outlink-with-fragment-<script>"),
            "/#!outlink-with-fragment-&lt;script&gt;"
        );
        assert_eq!(
            safe_decode_label("/other#fragment&pk_campaign=Open%20partnership"),
            "/other#fragment&amp;pk_campaign=Open partnership"
        );
        // Stored escaped (page titles) or not, the output is the same.
        assert_eq!(safe_decode_label("Tom &amp; Jerry"), "Tom &amp; Jerry");
        assert_eq!(safe_decode_label("Tom & Jerry"), "Tom &amp; Jerry");
        assert_eq!(safe_decode_label("it's \"x\""), "it&#039;s &quot;x&quot;");
        assert_eq!(safe_decode_label("&amp;lt;"), "&amp;lt;");
        // urldecode's `+`, a lone `%`, and a decoded byte that is not UTF-8.
        assert_eq!(safe_decode_label("c++ 100%"), "c   100%");
        assert_eq!(safe_decode_label("a%FFb%zz"), "ab%zz");
        assert_eq!(safe_decode_label("Zürich"), "Zürich");
    }

    #[test]
    fn entities_decode_in_one_pass() {
        assert_eq!(
            html_entity_decode("a &lt;b&gt; &amp;amp; &quot;c&quot; &#039;d&#39;"),
            "a <b> &amp; \"c\" 'd'"
        );
        assert_eq!(html_entity_decode("&#233;&#xE9;&#XE9;"), "ééé");
        // Named HTML 4.01 entities decode; what is no entity is kept.
        assert_eq!(
            html_entity_decode("AT&T &eacute; & ;&#; &#x+1; &apos; &bogus;"),
            "AT&T é & ;&#; &#x+1; &apos; &bogus;"
        );
        assert_eq!(html_entity_decode("plain"), "plain");
        assert_eq!(json_float_string(2.5e20), "2.5e+20");
    }

    #[test]
    fn percentages_are_formatted_like_matomo() {
        assert_eq!(percent_from_quotient(0.5), "50%");
        assert_eq!(percent_from_quotient(0.07), "7%");
        assert_eq!(percent_from_quotient(0.1234), "12.34%");
        assert_eq!(percent_from_quotient(0.0), "0%");
        assert!(is_percent_metric("bounce_rate"));
        assert!(is_percent_metric("goal_3_conversion_rate"));
        assert!(is_percent_metric("nb_visits_evolution"));
        assert!(!is_percent_metric("nb_visits"));
    }
}
