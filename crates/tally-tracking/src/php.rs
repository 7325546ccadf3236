//! PHP string primitives that Matomo's tracker relies on, re-implemented so
//! that our stored values match byte for byte.
//!
//! Matomo parses URLs with `parse_url`, decodes with `urldecode`, rebuilds
//! query strings by hand (`UrlHelper::getArrayFromQueryString` /
//! `getQueryStringWithExcludedParameters`) and coerces parameters with PHP's
//! loose comparisons. Generic URL crates normalise more than PHP does
//! (percent-encoding, IDNA, dot segments), which would change stored URLs, so
//! the few primitives needed live here.

use std::borrow::Cow;

use tally_datatable::format::{decode_entities, numeric_entity};

/// PHP `urldecode`: `+` is a space, `%XX` is a byte, anything else (including
/// a malformed `%` sequence) is kept. Invalid UTF-8 becomes U+FFFD because
/// every stored column is UTF-8.
pub fn urldecode(s: &str) -> String {
    // Most parameter names and many values have nothing to decode.
    if !s.contains(['%', '+']) {
        return s.to_owned();
    }
    match String::from_utf8(urldecode_bytes(s)) {
        Ok(decoded) => decoded,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// PHP `rawurlencode` (RFC 3986): every byte but ASCII letters, digits and
/// `-_.~` as `%XX`, so that any text reads back as written, whatever
/// `urldecode` or `parse_str` does with `+`, `&` or `=`. For clients
/// building tracking requests (the tests and benches among them).
pub fn rawurlencode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// PHP `urldecode` returning the bytes, for callers that know their
/// charset (see [`crate::charset`]).
pub fn urldecode_bytes(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// PHP `trim` with its default character list (`" \t\n\r\0\x0B"`).
pub fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0B'])
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character
/// boundary. PHP's `substr` may cut inside a character; MySQL would then
/// reject or mangle the row, so we stop one character earlier.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The first `max` characters of `s` (PHP `mb_substr($s, 0, $max)`).
pub fn truncate_chars(s: &str, max: usize) -> &str {
    // No more bytes than the limit: no more characters either.
    if s.len() <= max {
        return s;
    }
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// PHP `htmlspecialchars($s, ENT_QUOTES)`: the five characters Matomo's
/// `Common::sanitizeInputValue` escapes.
pub fn htmlspecialchars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Matomo's `Common::sanitizeInputValue`: entities decoded first (so that an
/// already escaped value is not escaped twice), NUL bytes removed, then
/// [`htmlspecialchars`]. This is the form in which Matomo stores page titles,
/// site search keywords, event and product names in `log_action`.
pub fn sanitize_input_value(s: &str) -> String {
    htmlspecialchars(&html_entity_decode(s).replace('\0', ""))
}

/// Matomo's `Common::unsanitizeInputValue`, PHP
/// `htmlspecialchars_decode($s, ENT_QUOTES)`: the five characters
/// [`htmlspecialchars`] escapes are decoded, named (`&amp;`) or numbered
/// (`&#039;`, `&#x3C;`), in one left-to-right pass (`&amp;lt;` is `&lt;`);
/// every other entity stays.
pub fn unsanitize_input_value(s: &str) -> Cow<'_, str> {
    let special = |name: &str| -> Option<char> {
        let c = match name {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            _ => numeric_entity(name)?,
        };
        matches!(c, '&' | '"' | '\'' | '<' | '>').then_some(c)
    };
    decode_entities(s, special)
}

/// PHP `html_entity_decode($s, ENT_QUOTES, 'UTF-8')`
/// ([`tally_datatable::format::html_entity_decode`], shared with the
/// report renderers).
pub fn html_entity_decode(s: &str) -> String {
    html_entity_decode_cow(s).into_owned()
}

/// [`html_entity_decode`], borrowing `s` when it holds no `&` (nearly
/// every URL without a query string).
pub fn html_entity_decode_cow(s: &str) -> Cow<'_, str> {
    tally_datatable::format::html_entity_decode(s)
}

/// True if `s` is a PHP numeric string (`is_numeric`): optional leading
/// whitespace, sign, digits with an optional fraction and exponent, optional
/// trailing whitespace (PHP 8).
pub fn is_numeric(s: &str) -> bool {
    parse_numeric(s).is_some()
}

fn parse_numeric(s: &str) -> Option<f64> {
    let t = s.trim_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C']);
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == exp_start {
            return None;
        }
        i = j;
    }
    if i != b.len() {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Matomo's `int` coercion (`Common::getRequestVar(..., 'int')`): the value
/// is accepted when `$value == (string)(int)$value`, i.e. it is a numeric
/// string whose value is integral; anything else yields `None` (the caller
/// uses the parameter's default). `"007"`, `" 7"`, `"7.0"`, `"1e3"` are
/// accepted; `""`, `"7.5"`, `"abc"`, `"0x1A"` are not.
pub fn coerce_int(s: &str) -> Option<i64> {
    let f = parse_numeric(s)?;
    if f.fract() != 0.0 || f.abs() >= 9.2e18 {
        return None;
    }
    // Integral and in range: exact for the magnitudes trackers send.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "checked integral and in range above"
    )]
    Some(f as i64)
}

/// A numeric string as a float (`is_numeric`, then the value), else `None`.
pub fn coerce_float(s: &str) -> Option<f64> {
    parse_numeric(s)
}

/// A tracking parameter read as Matomo's `getRequestVar(..., 'float')` reads
/// it: the value is valid when, with commas taken as decimal points, it is a
/// plain decimal number (sign, digits with an optional point, optional
/// exponent; no spaces, no `INF`), and is then PHP's `(float)` of the value
/// *as sent*, so `"12,5"` is valid and worth 12. `None` when it is not valid
/// (the caller applies the parameter's default).
pub fn request_float(s: &str) -> Option<f64> {
    let dotted = s.replace(',', ".");
    let (len, _) = float_prefix(dotted.as_bytes());
    if len == 0 || len != dotted.len() {
        return None;
    }
    Some(float_cast(s))
}

/// PHP's `(float)` of a string: the longest leading decimal number (after
/// leading whitespace), 0 when there is none.
pub fn float_cast(s: &str) -> f64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C']);
    let (len, _) = float_prefix(t.as_bytes());
    t[..len]
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .unwrap_or(0.0)
}

/// The length of the longest prefix of `b` that is a decimal number with at
/// least one mantissa digit, and that digit count.
fn float_prefix(b: &[u8]) -> (usize, usize) {
    let digits_from = |mut i: usize| {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i, i - start)
    };
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let (after_int, int_digits) = digits_from(i);
    i = after_int;
    let mut digits = int_digits;
    if b.get(i) == Some(&b'.') {
        let (after_frac, frac_digits) = digits_from(i + 1);
        if int_digits + frac_digits > 0 {
            i = after_frac;
            digits += frac_digits;
        }
    }
    if digits == 0 {
        return (0, 0);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        let (after_exp, exp_digits) = digits_from(i + 1 + sign);
        if exp_digits > 0 {
            i = after_exp;
        }
    }
    (i, digits)
}

/// PHP `empty()` on a string: `""` and `"0"` are empty.
pub fn is_empty(s: &str) -> bool {
    s.is_empty() || s == "0"
}

/// The parts of a URL as PHP's `parse_url` returns them (the subset Matomo
/// uses). Absent parts are `None`; a present but empty query or fragment is
/// `Some("")`, as in PHP 8.
///
/// The parts borrow the parsed string: referrer detection parses two URLs
/// a new visit and mostly only reads them, so copies are made only where a
/// part is rewritten (URL normalization assigns owned strings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedUrl<'a> {
    /// Scheme without `:`, case kept.
    pub scheme: Option<Cow<'a, str>>,
    /// User name.
    pub user: Option<Cow<'a, str>>,
    /// Password.
    pub pass: Option<Cow<'a, str>>,
    /// Host, case kept.
    pub host: Option<Cow<'a, str>>,
    /// Port digits.
    pub port: Option<Cow<'a, str>>,
    /// Path, starting with `/` when a host is present.
    pub path: Option<Cow<'a, str>>,
    /// Query without `?`.
    pub query: Option<Cow<'a, str>>,
    /// Fragment without `#`.
    pub fragment: Option<Cow<'a, str>>,
}

/// Splits a URL like PHP's `parse_url` does for the forms trackers send:
/// `scheme://[user[:pass]@]host[:port][/path][?query][#fragment]`,
/// `//host/...`, and (without authority) `path?query#fragment`.
///
/// Returns `None` where PHP returns `false`: a non-numeric port.
pub fn parse_url(s: &str) -> Option<ParsedUrl<'_>> {
    let mut url = ParsedUrl::default();
    let mut rest = s;
    // Byte searches: every delimiter is ASCII, so each index found is a
    // char boundary.
    if let Some(i) = memchr::memchr(b'#', rest.as_bytes()) {
        url.fragment = Some(Cow::Borrowed(&rest[i + 1..]));
        rest = &rest[..i];
    }
    if let Some(i) = memchr::memchr(b'?', rest.as_bytes()) {
        url.query = Some(Cow::Borrowed(&rest[i + 1..]));
        rest = &rest[..i];
    }
    let authority_and_path = if let Some(r) = rest.strip_prefix("//") {
        Some(r)
    } else if let Some((scheme, r)) = split_scheme(rest) {
        url.scheme = Some(Cow::Borrowed(scheme));
        Some(r)
    } else {
        None
    };
    match authority_and_path {
        Some(ap) => {
            let (authority, path) = match memchr::memchr(b'/', ap.as_bytes()) {
                Some(i) => (&ap[..i], Some(&ap[i..])),
                None => (ap, None),
            };
            let host_port = match memchr::memrchr(b'@', authority.as_bytes()) {
                Some(at) => {
                    let userinfo = &authority[..at];
                    match memchr::memchr(b':', userinfo.as_bytes()) {
                        Some(c) => {
                            url.user = Some(Cow::Borrowed(&userinfo[..c]));
                            url.pass = Some(Cow::Borrowed(&userinfo[c + 1..]));
                        }
                        None => url.user = Some(Cow::Borrowed(userinfo)),
                    }
                    &authority[at + 1..]
                }
                None => authority,
            };
            // IPv6 literals keep their colons inside brackets.
            let port_sep = if host_port.starts_with('[') {
                memchr::memchr(b']', host_port.as_bytes()).and_then(|end| {
                    memchr::memchr(b':', &host_port.as_bytes()[end..]).map(|c| end + c)
                })
            } else {
                memchr::memrchr(b':', host_port.as_bytes())
            };
            let host = match port_sep {
                Some(c) => {
                    let port = &host_port[c + 1..];
                    if !port.is_empty() {
                        if !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
                            return None;
                        }
                        url.port = Some(Cow::Borrowed(port));
                    }
                    &host_port[..c]
                }
                None => host_port,
            };
            if !host.is_empty() {
                url.host = Some(Cow::Borrowed(host));
            }
            url.path = path.map(Cow::Borrowed);
        }
        None => {
            if !rest.is_empty() {
                url.path = Some(Cow::Borrowed(rest));
            }
        }
    }
    Some(url)
}

/// `scheme://rest` split into the scheme and what follows `://`, when the
/// text before the first `://` is a valid scheme: a letter, then letters,
/// digits, `+`, `-` and `.`.
pub fn split_scheme(s: &str) -> Option<(&str, &str)> {
    // The first "://" can only end a valid scheme where the run of scheme
    // characters from the start ends, so one scan finds both.
    let bytes = s.as_bytes();
    let run = bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
        .unwrap_or(bytes.len());
    (run > 0 && bytes[0].is_ascii_alphabetic() && bytes[run..].starts_with(b"://"))
        .then(|| (&s[..run], &s[run + 3..]))
}

impl ParsedUrl<'_> {
    /// Matomo's `UrlHelper::getParseUrlReverse`: empty parts are left out,
    /// so an empty query loses its `?` and an empty fragment its `#`.
    pub fn to_url_string(&self) -> String {
        fn non_empty<'s>(o: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
            o.as_deref().filter(|s| !s.is_empty())
        }
        let parts = [
            &self.scheme,
            &self.user,
            &self.pass,
            &self.host,
            &self.port,
            &self.path,
            &self.query,
            &self.fragment,
        ];
        // Each part plus its separator (`://`, `:`, `@`, `/`, `?`, `#`).
        let mut uri = String::with_capacity(
            parts
                .iter()
                .map(|p| p.as_deref().map_or(0, str::len))
                .sum::<usize>()
                + 8,
        );
        if let Some(scheme) = non_empty(&self.scheme) {
            uri.push_str(scheme);
            uri.push(':');
            if !scheme.eq_ignore_ascii_case("mailto") {
                uri.push_str("//");
            }
        }
        if let Some(user) = non_empty(&self.user) {
            uri.push_str(user);
            if let Some(pass) = non_empty(&self.pass) {
                uri.push(':');
                uri.push_str(pass);
            }
            uri.push('@');
        }
        if let Some(host) = non_empty(&self.host) {
            uri.push_str(host);
        }
        if let Some(port) = self.port.as_deref().filter(|p| !is_empty(p)) {
            uri.push(':');
            uri.push_str(port);
        }
        if let Some(path) = non_empty(&self.path) {
            if !path.starts_with('/') && !uri.is_empty() {
                uri.push('/');
            }
            uri.push_str(path);
        }
        if let Some(query) = non_empty(&self.query) {
            uri.push('?');
            uri.push_str(query);
        }
        if let Some(fragment) = non_empty(&self.fragment) {
            uri.push('#');
            uri.push_str(fragment);
        }
        uri
    }
}

/// One parameter of a query string as Matomo's
/// `UrlHelper::getArrayFromQueryString` keeps it (raw, not decoded).
///
/// Names and values borrow the query they were split from: most queries are
/// read, or rebuilt without a few names, and never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryValue<'a> {
    /// `name` without `=`.
    Flag,
    /// `name=value` (value may be empty).
    Value(&'a str),
    /// `name[]=a&name[]=b`: the values in order (`None` for `name[]`).
    List(Vec<Option<&'a str>>),
}

/// Matomo's `UrlHelper::getArrayFromQueryString`: splits on `&`, keeps names
/// and values raw, drops empty names, groups `name[]` entries, and lets a
/// later duplicate overwrite an earlier one *in the earlier one's position*
/// (PHP arrays keep insertion order on overwrite).
pub fn query_to_pairs(query: &str) -> Vec<(&str, QueryValue<'_>)> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut out: Vec<(&str, QueryValue<'_>)> =
        Vec::with_capacity(memchr::memchr_iter(b'&', query.as_bytes()).count() + 1);
    for part in query.split('&') {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (part, None),
        };
        if name.is_empty() || name == "0" {
            // PHP `!empty($name)`: "" and "0" are skipped.
            continue;
        }
        let ends = |suffix: &str| {
            name.len() >= suffix.len()
                && name.as_bytes()[name.len() - suffix.len()..]
                    .eq_ignore_ascii_case(suffix.as_bytes())
        };
        let list_name = if ends("[]") {
            Some(&name[..name.len() - 2])
        } else if ends("%5b%5d") {
            Some(&name[..name.len() - 6])
        } else if ends("[%5d") || ends("%5b]") {
            Some(&name[..name.len() - 4])
        } else {
            None
        };
        match list_name.filter(|n| !n.is_empty() && *n != "0") {
            Some(base) => {
                let v = value;
                match out.iter_mut().find(|(n, _)| *n == base) {
                    Some((_, QueryValue::List(list))) => list.push(v),
                    Some((_, other)) => *other = QueryValue::List(vec![v]),
                    None => out.push((base, QueryValue::List(vec![v]))),
                }
            }
            None => {
                let v = match value {
                    Some(v) => QueryValue::Value(v),
                    None => QueryValue::Flag,
                };
                match out.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, slot)) => *slot = v,
                    None => out.push((name, v)),
                }
            }
        }
    }
    out
}

/// Matomo's `UrlHelper::getQueryStringWithExcludedParameters`: rebuilds a
/// query from [`query_to_pairs`] output, leaving out every parameter for
/// which `exclude(name)` is true (`%5B`/`%5D` in names are decoded first).
pub fn pairs_to_query(pairs: &[(&str, QueryValue<'_>)], exclude: impl Fn(&str) -> bool) -> String {
    let mut q = String::with_capacity(
        pairs
            .iter()
            .map(|(n, v)| match v {
                QueryValue::Flag => n.len() + 1,
                QueryValue::Value(v) => n.len() + v.len() + 2,
                QueryValue::List(l) => l.iter().map(|v| n.len() + 4 + v.map_or(0, str::len)).sum(),
            })
            .sum(),
    );
    for (name, value) in pairs {
        let decoded;
        let name = if name.contains('%') {
            decoded = name.replace("%5B", "[").replace("%5D", "]");
            decoded.as_str()
        } else {
            name
        };
        if exclude(name) {
            continue;
        }
        match value {
            QueryValue::Flag => {
                q.push_str(name);
                q.push('&');
            }
            QueryValue::Value(v) => {
                q.push_str(name);
                q.push('=');
                q.push_str(v);
                q.push('&');
            }
            QueryValue::List(values) => {
                for v in values {
                    q.push_str(name);
                    q.push_str("[]");
                    if let Some(v) = v {
                        q.push('=');
                        q.push_str(v);
                    }
                    q.push('&');
                }
            }
        }
    }
    q.pop();
    q
}

/// Matomo's `UrlHelper::getParameterFromQueryString`: the raw value of a
/// scalar parameter (exact, case-sensitive name); `None` when absent or a
/// list. A flag without `=` gives `Some("")`.
pub fn query_param<'a>(pairs: &[(&str, QueryValue<'a>)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| match v {
            QueryValue::Value(v) => Some(*v),
            QueryValue::Flag => Some(""),
            QueryValue::List(_) => None,
        })
}

/// Whether `query` may have a parameter named as one of `names` (ASCII
/// case-insensitively): false only when every parameter name is plain
/// ASCII, which `parse_str` keeps as it is, and none is listed (the names
/// all ASCII too: a few other characters lower-case into ASCII). Most URLs
/// name no site search keyword or `ignore_referrer`, and this spares them
/// [`query_to_pairs`] with its decoded copies. (Campaign parameters are not
/// checked this way: tagged landing pages are common, and the check costs
/// about as much as the pairs when it finds one.)
pub fn may_name_any<S: AsRef<str>>(query: &str, names: &[S]) -> bool {
    if !names.iter().all(|n| n.as_ref().is_ascii()) {
        return true;
    }
    // One pass over the bytes: a name ends at `=` or `&`, and its pair at
    // `&`.
    let bytes = query.as_bytes();
    let mut start = 0;
    loop {
        let end = memchr::memchr(b'&', &bytes[start..]).map_or(bytes.len(), |e| start + e);
        let pair = &bytes[start..end];
        let name = memchr::memchr(b'=', pair).map_or(pair, |e| &pair[..e]);
        let plain = name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-');
        if !plain
            || names
                .iter()
                .any(|n| n.as_ref().as_bytes().eq_ignore_ascii_case(name))
        {
            return true;
        }
        if end == bytes.len() {
            return false;
        }
        start = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rawurlencode_reads_back_through_urldecode() {
        let text = "a b+c&d=e/ü'\"?\t😀-_.~";
        let encoded = rawurlencode(text);
        assert_eq!(
            encoded,
            "a%20b%2Bc%26d%3De%2F%C3%BC%27%22%3F%09%F0%9F%98%80-_.~"
        );
        assert_eq!(urldecode(&encoded), text);
    }

    #[test]
    fn the_name_precheck_never_hides_a_parameter() {
        let names = ["q".to_owned(), "Search".to_owned()];
        for (query, may) in [
            ("a=1&b=2", false),
            ("a=1&Q=x", true),
            ("SEARCH=shoes", true),
            ("q", true),
            ("a=1&&b", false),
            // Names PHP rewrites or decodes: not decided here.
            ("%71=x", true),
            ("q[]=x", true),
            ("s.q=1", true),
            ("é=1", true),
        ] {
            assert_eq!(may_name_any(query, &names), may, "{query}");
        }
        assert!(may_name_any("k=1", &["\u{212a}".to_owned()]));
    }

    #[test]
    fn urldecode_like_php() {
        assert_eq!(urldecode("a+b%20c"), "a b c");
        assert_eq!(urldecode("%zz%4"), "%zz%4");
        assert_eq!(urldecode("caf%C3%A9"), "café");
        assert_eq!(urldecode("%"), "%");
        assert_eq!(urldecode("%ff"), "\u{FFFD}");
    }

    #[test]
    fn int_coercion_is_phps_loose_comparison() {
        assert_eq!(coerce_int("7"), Some(7));
        assert_eq!(coerce_int("007"), Some(7));
        assert_eq!(coerce_int(" 7"), Some(7));
        assert_eq!(coerce_int("7.0"), Some(7));
        assert_eq!(coerce_int("1e3"), Some(1000));
        assert_eq!(coerce_int("-3"), Some(-3));
        assert_eq!(coerce_int("7.5"), None);
        assert_eq!(coerce_int(""), None);
        assert_eq!(coerce_int("abc"), None);
        assert_eq!(coerce_int("0x1A"), None);
        assert_eq!(coerce_int("1e999"), None);
        assert_eq!(coerce_float("12.50"), Some(12.5));
        assert_eq!(coerce_float(".5"), Some(0.5));
        assert_eq!(coerce_float("5."), Some(5.0));
        assert_eq!(coerce_float("."), None);
    }

    #[test]
    fn float_parameters_as_matomo_reads_them() {
        assert_eq!(request_float("12.50"), Some(12.5));
        assert_eq!(request_float(".5"), Some(0.5));
        assert_eq!(request_float("5."), Some(5.0));
        assert_eq!(request_float("-1.5e2"), Some(-150.0));
        // A decimal comma is valid, and PHP's cast stops at it.
        assert_eq!(request_float("12,5"), Some(12.0));
        assert_eq!(request_float(",5"), Some(0.0));
        // Spaces, words, hex, two points, a bare exponent: not valid.
        for bad in [
            " 5", "5 ", "abc", "0x1A", "1.2.3", "1e", "e5", ".", "", "INF", "1_000",
        ] {
            assert_eq!(request_float(bad), None, "{bad:?}");
        }
        assert_eq!(float_cast("  3.5kg"), 3.5);
        assert_eq!(float_cast("1e"), 1.0);
        assert_eq!(float_cast("abc"), 0.0);
    }

    #[test]
    fn entities() {
        assert_eq!(html_entity_decode("a &amp; b &lt;c&gt;"), "a & b <c>");
        assert_eq!(
            html_entity_decode("&#039;&#x41;&eacute;&nbsp;"),
            "'Aé\u{a0}"
        );
        assert_eq!(
            html_entity_decode("&unknown; & &apos;"),
            "&unknown; & &apos;"
        );
        // A name is ten bytes at most; a query string's pairs stay as
        // they are, the entity after them is decoded.
        assert_eq!(
            html_entity_decode("&#000000065;&#0000000065;"),
            "A&#0000000065;"
        );
        assert_eq!(html_entity_decode("?a=1&b=2;c&amp;d"), "?a=1&b=2;c&d");
        assert!(matches!(
            html_entity_decode_cow("/no/entities"),
            Cow::Borrowed("/no/entities")
        ));
        assert_eq!(
            htmlspecialchars("<a href='x'>\"&"),
            "&lt;a href=&#039;x&#039;&gt;&quot;&amp;"
        );
        assert_eq!(sanitize_input_value("A &amp; B & C"), "A &amp; B &amp; C");
        assert_eq!(
            unsanitize_input_value("&amp;lt; &lt;&#039;&#x27;&#60;&quot; &eacute; &#65; & x;"),
            "&lt; <''<\" &eacute; &#65; & x;"
        );
        assert!(matches!(
            unsanitize_input_value("/no/entities"),
            Cow::Borrowed("/no/entities")
        ));
    }

    #[test]
    fn parse_url_parts() {
        let u = parse_url("HTTPS://user:pw@WWW.Example.com:8080/a/b?x=1&y#frag").unwrap();
        assert_eq!(u.scheme.as_deref(), Some("HTTPS"));
        assert_eq!(u.user.as_deref(), Some("user"));
        assert_eq!(u.pass.as_deref(), Some("pw"));
        assert_eq!(u.host.as_deref(), Some("WWW.Example.com"));
        assert_eq!(u.port.as_deref(), Some("8080"));
        assert_eq!(u.path.as_deref(), Some("/a/b"));
        assert_eq!(u.query.as_deref(), Some("x=1&y"));
        assert_eq!(u.fragment.as_deref(), Some("frag"));
        assert_eq!(
            u.to_url_string(),
            "HTTPS://user:pw@WWW.Example.com:8080/a/b?x=1&y#frag"
        );
        assert!(parse_url("http://host:abc/").is_none());
        let u = parse_url("!/search?q=x").unwrap();
        assert_eq!(u.path.as_deref(), Some("!/search"));
        assert_eq!(u.query.as_deref(), Some("q=x"));
        assert_eq!(
            parse_url("http://a.b/?#").unwrap().to_url_string(),
            "http://a.b/"
        );
        assert_eq!(parse_url("//a.b/c").unwrap().to_url_string(), "a.b/c");
        // A scheme starts with a letter and holds letters, digits, `+-.`;
        // otherwise the whole text is a path.
        let scheme_and_host = |s: &str| {
            let u = parse_url(s).unwrap();
            (
                u.scheme.as_deref().map(str::to_owned),
                u.host.as_deref().map(str::to_owned),
                u.path.as_deref().map(str::to_owned),
            )
        };
        let owned = |s: &str| Some(s.to_owned());
        assert_eq!(
            scheme_and_host("svn+ssh.x-1://h/p"),
            (owned("svn+ssh.x-1"), owned("h"), owned("/p"))
        );
        assert_eq!(
            scheme_and_host("1ab://h/p"),
            (None, None, owned("1ab://h/p"))
        );
        assert_eq!(scheme_and_host("a b://h"), (None, None, owned("a b://h")));
        assert_eq!(scheme_and_host("x:y://z"), (None, None, owned("x:y://z")));
        assert_eq!(
            scheme_and_host("mailto:a@b.c"),
            (None, None, owned("mailto:a@b.c"))
        );
        // The last `@` ends the user info, the first `:` in it the user;
        // an IPv6 literal keeps its colons.
        let u = parse_url("ftp://a:b:c@d@[::1]:21/x").unwrap();
        assert_eq!(
            (
                u.user.as_deref(),
                u.pass.as_deref(),
                u.host.as_deref(),
                u.port.as_deref()
            ),
            (Some("a"), Some("b:c@d"), Some("[::1]"), Some("21"))
        );
        // A `?` or `/` inside the fragment stays there.
        let u = parse_url("http://h#f?g/h").unwrap();
        assert_eq!(
            (u.path.as_deref(), u.fragment.as_deref()),
            (None, Some("f?g/h"))
        );
    }

    #[test]
    fn query_round_trip_like_matomo() {
        let pairs = query_to_pairs("a=1&b&&c[]=x&c[]&a=2&0=z&d=");
        assert_eq!(pairs_to_query(&pairs, |_| false), "a=2&b&c[]=x&c[]&d=");
        assert_eq!(pairs_to_query(&pairs, |n| n == "a"), "b&c[]=x&c[]&d=");
        assert_eq!(query_param(&pairs, "b"), Some(""));
        assert_eq!(query_param(&pairs, "c"), None);
        assert_eq!(query_param(&pairs, "A"), None);
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate_bytes("héllo", 2), "h");
        assert_eq!(truncate_bytes("héllo", 3), "hé");
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(trim("\0 x \x0B\n"), "x");
    }
}
