//! From one line of bytes to a borrowed [`LogLine`].
//!
//! The common/combined family (common, vhost, combined, complete, icecast2,
//! OVH, Gandi) is scanned by hand: the line is validated as UTF-8 once, then
//! walked with a cursor and `memchr`, and every field borrows from it; this
//! is what most logs are and what the parse-only benchmark measures. W3C
//! lines are split on blanks with a field map from the `#Fields:` header.
//! JSON formats go through `serde_json` and the rarer formats through a
//! regex; their fields may be owned (unescaped), hence [`Field`] is a `Cow`.

use std::borrow::Cow;

use crate::LogImportError;
use crate::format::{CLF_DATE_FORMAT, LogFormat, UserRegex};

/// A field of a log line: borrowed from the line when it needs no unescaping.
pub type Field<'a> = Cow<'a, str>;

/// When a request was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTime {
    /// The wall-clock time the log shows, as seconds since 1970-01-01T00:00
    /// of that same wall clock (the log's offset not applied yet).
    pub wall: i64,
    /// The offset from UTC the line states, in seconds (`-0500` is -18000);
    /// `None` when the format has none (then the import's log time zone
    /// applies).
    pub offset: Option<i32>,
}

impl LogTime {
    /// The unix time, with `zone` for lines that state no offset.
    pub fn unix(&self, zone: &LogTimeZone) -> i64 {
        match self.offset {
            Some(o) => self.wall - i64::from(o),
            None => zone.to_unix(self.wall),
        }
    }
}

/// The time zone of a log's lines that carry no offset (`--log-timezone`;
/// `import_logs.py` sends such times as they are, which Matomo reads as UTC).
#[derive(Debug, Clone, Default)]
pub enum LogTimeZone {
    /// UTC (the default).
    #[default]
    Utc,
    /// A fixed offset in seconds east of UTC.
    Fixed(i32),
    /// An IANA zone (with DST).
    Iana(jiff::tz::TimeZone),
}

impl LogTimeZone {
    /// Parses `UTC`, an offset such as `+0200`, `-05:30`, or an IANA name.
    ///
    /// # Errors
    /// [`LogImportError::Format`] for a name that is none of these.
    pub fn parse(s: &str) -> Result<Self, LogImportError> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Self::Utc);
        }
        if let Some(o) = parse_offset(s.as_bytes()) {
            return Ok(Self::Fixed(o));
        }
        jiff::tz::TimeZone::get(s)
            .map(Self::Iana)
            .map_err(|e| LogImportError::Format {
                reason: format!("unknown log time zone `{s}`: {e}"),
            })
    }

    fn to_unix(&self, wall: i64) -> i64 {
        match self {
            Self::Utc => wall,
            Self::Fixed(o) => wall - i64::from(*o),
            Self::Iana(tz) => {
                // The offset in force at that wall time: look it up at the
                // wall time read as UTC, then once more at the corrected
                // instant (right except within a DST transition hour).
                let at = |t: i64| {
                    jiff::Timestamp::from_second(t)
                        .map(|ts| i64::from(tz.to_offset(ts).seconds()))
                        .unwrap_or(0)
                };
                let first = at(wall);
                wall - at(wall - first)
            }
        }
    }
}

/// A parsed access-log line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine<'a> {
    /// The client address as logged.
    pub ip: Field<'a>,
    /// The request time.
    pub time: LogTime,
    /// The HTTP method, when the format logs it.
    pub method: Option<Field<'a>>,
    /// The requested path as logged: with its query string, unless the
    /// format logs that separately in [`Self::query`]. It may also be a full
    /// URL (proxies, ELB).
    pub path: Field<'a>,
    /// The query string, for formats that log it apart from the path (W3C
    /// `cs-uri-query`, a `query_string` regex group; `-` read as empty).
    /// `Some("")` also for Caddy and Traefik: `import_logs.py` never splits
    /// their URI, so its query is part of [`Self::path`] for every filter
    /// (static files, downloads, path globs), as there. `None`: the path
    /// is split at the query-string delimiter.
    pub query: Option<Field<'a>>,
    /// The HTTP status.
    pub status: u16,
    /// Response bytes, when logged.
    pub bytes: Option<u64>,
    /// The `Referer` header (`-` already turned into `None`).
    pub referrer: Option<Field<'a>>,
    /// The `User-Agent` header.
    pub user_agent: Option<Field<'a>>,
    /// The virtual host, lower-cased by the importer when used.
    pub host: Option<Field<'a>>,
    /// The time taken to serve the request, in milliseconds.
    pub duration_ms: Option<f64>,
    /// The authenticated user (`-` already turned into `None`).
    pub userid: Option<Field<'a>>,
    /// The values of [`ParseOptions::groups`], in that order (`None` when
    /// the line has no such group or it is `-`); empty when none are asked
    /// for. Read before `ignore_groups` applies, as `import_logs.py` reads
    /// its custom-variable groups before it drops the ignored ones.
    pub groups: Vec<Option<Field<'a>>>,
    /// The event the line is tracked as (CloudFront RTMP lines, a
    /// `--log-format-regex` with event groups); boxed, as most lines have
    /// none.
    pub event: Option<Box<LogEvent<'a>>>,
}

/// An event logged by a line: `import_logs.py` sends it as `e_c`, `e_a`
/// and `e_n`, with the line's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent<'a> {
    /// The category (`cloudfront_rtmp` for CloudFront; never empty).
    pub category: Field<'a>,
    /// The action (CloudFront's `x-event`, e.g. `play`; never empty).
    pub action: Field<'a>,
    /// The name (CloudFront's `x-sname`), `None` when empty or `-`.
    pub name: Option<Field<'a>>,
}

impl<'a> LogEvent<'a> {
    /// The event of a category, an action and a name as `import_logs.py`
    /// reads them: none unless both the category and the action are
    /// non-empty.
    fn of(
        category: Option<Field<'a>>,
        action: Option<Field<'a>>,
        name: Option<&'a str>,
    ) -> Option<Box<Self>> {
        match (category, action) {
            (Some(category), Some(action)) if !category.is_empty() && !action.is_empty() => {
                Some(Box::new(Self {
                    category,
                    action,
                    name: name.and_then(dash_none),
                }))
            }
            _ => None,
        }
    }
}

/// Why a line is not a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    /// The line does not have the format's shape.
    NoMatch,
    /// The date or time does not exist (31 February, hour 25) or cannot be
    /// read.
    Date,
    /// The line is not UTF-8.
    Utf8,
    /// The line is longer than the reader accepts.
    TooLong,
    /// W3C data before any `#Fields:` header.
    NoFieldsHeader,
    /// The status is missing or not a number (e.g. an ELB TCP line).
    Status,
    /// The line is not valid in the `--encoding` charset.
    Encoding,
}

impl Invalid {
    /// A short description, for error lists.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NoMatch => "line does not match the log format",
            Self::Date => "invalid date or time",
            Self::Utf8 => "invalid utf-8",
            Self::TooLong => "line too long",
            Self::NoFieldsHeader => "w3c data before a #Fields: header",
            Self::Status => "missing or invalid http status",
            Self::Encoding => "invalid in the log's --encoding",
        }
    }
}

/// What one line is.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a line is the common case; boxing it would allocate for every line"
)]
pub enum Parsed<'a> {
    /// A request.
    Line(LogLine<'a>),
    /// A blank line, a comment or a header (`#Fields:` and the like).
    Skip,
    /// A line that cannot be read.
    Invalid(Invalid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClfShape {
    Common,
    Vhost,
    Combined,
    Complete,
    Icecast2,
    Ovh,
    Gandi,
}

/// Where each known W3C field sits in a line.
#[derive(Debug, Clone, Default)]
struct W3cLayout {
    count: usize,
    date: Option<usize>,
    time: Option<usize>,
    path: Option<usize>,
    uri: Option<usize>,
    query: Option<usize>,
    ip: Option<usize>,
    ua: Option<usize>,
    referrer: Option<usize>,
    status: Option<usize>,
    bytes: Option<usize>,
    host: Option<usize>,
    method: Option<usize>,
    userid: Option<usize>,
    time_taken: Option<usize>,
    /// CloudFront RTMP's `x-event` and `x-sname`.
    event_action: Option<usize>,
    event_name: Option<usize>,
    /// Whether `time_taken` is in milliseconds (IIS, or
    /// `--w3c-time-taken-millisecs`) rather than seconds.
    time_taken_ms: bool,
    /// `--w3c-field-regex`: (column, index into [`W3cOptions::regexes`]).
    regex_columns: Vec<(usize, usize)>,
}

/// The W3C options of [`ParseOptions`], compiled.
#[derive(Debug, Clone, Default)]
struct W3cOptions {
    map: Vec<(String, String)>,
    time_taken_ms: bool,
    /// Field name and its regex, anchored to the whole field.
    regexes: Vec<(String, regex::Regex)>,
}

#[derive(Debug, Clone)]
enum Kind {
    Clf(ClfShape),
    W3c {
        format: LogFormat,
        layout: Option<Box<W3cLayout>>,
        opts: Box<W3cOptions>,
    },
    NginxJson,
    CaddyJson,
    TraefikJson,
    Regex(UserRegex),
}

/// The group names `import_logs.py` gives the fields of a line (its
/// `--log-format-regex` groups): what `--ignore-groups` and the
/// `--regex-group-to-*-cvar` options name, whatever the format.
pub const STANDARD_GROUPS: &[&str] = &[
    "ip",
    "date",
    "time",
    "timezone",
    "method",
    "path",
    "query_string",
    "status",
    "length",
    "referrer",
    "user_agent",
    "host",
    "userid",
    "generation_time_milli",
    "generation_time_micro",
    "generation_time_secs",
];

/// Groups without which a line is no request: `--ignore-groups` refuses
/// them (`import_logs.py` would fail on every line).
const REQUIRED_GROUPS: &[&str] = &["ip", "date", "time", "path"];

/// The W3C field names the parser reads (what `--w3c-map-field` can map a
/// custom field to). As in `import_logs.py`, some are read in one flavour
/// only: `cs-uri` and `cs-bytes` (Incapsula), `c-user-agent` and
/// `x-host-header` (CloudFront), `c-status` and `x-duration` (SHOUTcast).
pub const W3C_FIELDS: &[&str] = &[
    "date",
    "time",
    "cs-uri-stem",
    "cs-uri",
    "cs-uri-query",
    "c-ip",
    "cs(User-Agent)",
    "c-user-agent",
    "cs(Referer)",
    "sc-status",
    "c-status",
    "sc-bytes",
    "cs-bytes",
    "cs-host",
    "x-host-header",
    "cs-method",
    "cs-username",
    "time-taken",
    "x-duration",
];

/// How lines are read beyond their format: `import_logs.py`'s W3C field
/// options and its regex-group options. The default reads lines as the
/// format alone says.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// `--w3c-fields`: the field list (without `#Fields:`) of W3C files
    /// that lack the header.
    pub w3c_fields: Option<String>,
    /// `--w3c-map-field`: (custom field name, known field name), e.g.
    /// `("my-date", "date")`; the known name itself is then no longer read,
    /// as in `import_logs.py`. Known names: [`W3C_FIELDS`].
    pub w3c_map_fields: Vec<(String, String)>,
    /// `--w3c-time-taken-millisecs`: the W3C `time-taken` field is in
    /// milliseconds (IIS logs always are), not seconds.
    pub w3c_time_taken_millisecs: bool,
    /// `--w3c-field-regex`: (W3C field name, regex with named groups). The
    /// regex must match the whole field, else the line is invalid; its
    /// groups can be read with [`Self::groups`]. The field keeps its own
    /// meaning when it has one.
    pub w3c_field_regexes: Vec<(String, String)>,
    /// Groups whose values each line carries in [`LogLine::groups`]: a
    /// named group of a regex format (`--log-format-regex` or a
    /// `--w3c-field-regex`), or one of [`STANDARD_GROUPS`] for any format.
    pub groups: Vec<String>,
    /// `--ignore-groups`: fields read as if the line did not have them
    /// (e.g. `userid`: no user id). Names: [`STANDARD_GROUPS`] except
    /// `ip`, `date`, `time` and `path`.
    pub ignore_groups: Vec<String>,
}

impl ParseOptions {
    /// Checks the options (known W3C field names, regexes that compile and
    /// have named groups, groups that can be ignored).
    ///
    /// # Errors
    /// [`LogImportError::Format`] naming the option and the bad value.
    pub fn validate(&self) -> Result<(), LogImportError> {
        self.compile_w3c().map(|_| ())?;
        for g in &self.ignore_groups {
            if REQUIRED_GROUPS.contains(&g.as_str()) {
                return Err(LogImportError::Format {
                    reason: format!(
                        "--ignore-groups: `{g}` cannot be ignored, a line has no request without it"
                    ),
                });
            }
            if !STANDARD_GROUPS.contains(&g.as_str()) {
                return Err(LogImportError::Format {
                    reason: format!(
                        "--ignore-groups: unknown group `{g}` (known: {})",
                        STANDARD_GROUPS
                            .iter()
                            .filter(|n| !REQUIRED_GROUPS.contains(n))
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    fn compile_w3c(&self) -> Result<W3cOptions, LogImportError> {
        for (custom, known) in &self.w3c_map_fields {
            if custom.trim().is_empty() {
                return Err(LogImportError::Format {
                    reason: format!("--w3c-map-field `={known}`: the custom field name is empty"),
                });
            }
            if !W3C_FIELDS.contains(&known.as_str()) {
                return Err(LogImportError::Format {
                    reason: format!(
                        "--w3c-map-field `{custom}={known}`: `{known}` is not a W3C field the \
                         importer reads (known: {})",
                        W3C_FIELDS.join(", ")
                    ),
                });
            }
        }
        let mut regexes = Vec::with_capacity(self.w3c_field_regexes.len());
        for (field, re) in &self.w3c_field_regexes {
            regexes.push((field.clone(), compile_field_regex(field, re)?));
        }
        Ok(W3cOptions {
            map: self.w3c_map_fields.clone(),
            time_taken_ms: self.w3c_time_taken_millisecs,
            regexes,
        })
    }
}

/// A `--w3c-field-regex` regex, anchored to the whole field.
///
/// # Errors
/// [`LogImportError::Format`] when it does not compile, has no named group,
/// or names a group after a field the importer reads itself (map the field
/// with `--w3c-map-field` instead: the group would be ignored).
pub fn compile_field_regex(field: &str, re: &str) -> Result<regex::Regex, LogImportError> {
    let bad = |why: String| LogImportError::Format {
        reason: format!("--w3c-field-regex `{field}={re}`: {why}"),
    };
    if field.trim().is_empty() {
        return Err(bad("the field name is empty".to_owned()));
    }
    let regex = regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| bad(e.to_string()))?;
    let mut named = regex.capture_names().flatten().peekable();
    if named.peek().is_none() {
        return Err(bad(
            "no named group such as (?P<name>...) to read the field into".to_owned(),
        ));
    }
    if let Some(g) = named.find(|g| STANDARD_GROUPS.contains(g)) {
        return Err(bad(format!(
            "group `{g}` is a field the importer reads itself; use --w3c-map-field to map a \
             custom field to a known one"
        )));
    }
    Ok(regex)
}

/// A line parser for one format (stateful for W3C: it learns the field
/// list from the `#Fields:` header).
#[derive(Debug, Clone)]
pub struct LineParser {
    kind: Kind,
    /// [`ParseOptions::groups`].
    groups: Vec<String>,
    /// [`ParseOptions::ignore_groups`].
    ignore: Vec<String>,
}

impl LineParser {
    /// A parser for `format`; `w3c_fields` is a field list (`--w3c-fields`,
    /// without the `#Fields:` prefix) for W3C files that lack the header.
    ///
    /// # Errors
    /// [`LogImportError::Format`] if a built-in regex does not compile
    /// (a bug).
    pub fn new(format: &LogFormat, w3c_fields: Option<&str>) -> Result<Self, LogImportError> {
        Self::with_options(
            format,
            &ParseOptions {
                w3c_fields: w3c_fields.map(str::to_owned),
                ..ParseOptions::default()
            },
        )
    }

    /// A parser for `format` reading lines as `opts` say.
    ///
    /// # Errors
    /// [`LogImportError::Format`] for options that [`ParseOptions::validate`]
    /// refuses.
    pub fn with_options(format: &LogFormat, opts: &ParseOptions) -> Result<Self, LogImportError> {
        opts.validate()?;
        let kind = match format {
            LogFormat::Common => Kind::Clf(ClfShape::Common),
            LogFormat::CommonVhost => Kind::Clf(ClfShape::Vhost),
            LogFormat::Combined => Kind::Clf(ClfShape::Combined),
            LogFormat::CommonComplete => Kind::Clf(ClfShape::Complete),
            LogFormat::Icecast2 => Kind::Clf(ClfShape::Icecast2),
            LogFormat::Ovh => Kind::Clf(ClfShape::Ovh),
            LogFormat::Gandi => Kind::Clf(ClfShape::Gandi),
            f if f.is_w3c() => {
                let w3c = opts.compile_w3c()?;
                Kind::W3c {
                    format: f.clone(),
                    layout: opts
                        .w3c_fields
                        .as_deref()
                        .map(|f| Box::new(w3c_layout(f, format, &w3c))),
                    opts: Box::new(w3c),
                }
            }
            LogFormat::NginxJson => Kind::NginxJson,
            LogFormat::CaddyJson => Kind::CaddyJson,
            LogFormat::TraefikJson => Kind::TraefikJson,
            LogFormat::Elb => Kind::Regex(UserRegex::new(ELB_REGEX, Some("%Y-%m-%dT%H:%M:%S"))?),
            LogFormat::S3 => Kind::Regex(UserRegex::new(S3_REGEX, None)?),
            LogFormat::HaProxy => {
                Kind::Regex(UserRegex::new(HAPROXY_REGEX, Some("%d/%b/%Y:%H:%M:%S.%f"))?)
            }
            LogFormat::Regex(r) => Kind::Regex(r.clone()),
            _ => {
                return Err(LogImportError::Format {
                    reason: format!("no parser for format {format}"),
                });
            }
        };
        Ok(Self {
            kind,
            groups: opts.groups.clone(),
            ignore: opts.ignore_groups.clone(),
        })
    }

    /// Parses one line (with or without its line ending).
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Parsed<'a> {
        let Ok(line) = std::str::from_utf8(line) else {
            return Parsed::Invalid(Invalid::Utf8);
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim_start().is_empty() {
            return Parsed::Skip;
        }
        // A regex format reads the groups (and drops the ignored ones) from
        // its captures, where custom groups are; the others from the fields.
        let mut from_captures = false;
        let result = match &mut self.kind {
            Kind::Clf(shape) => parse_clf(line, *shape),
            Kind::W3c {
                format,
                layout,
                opts,
            } => {
                if let Some(rest) = line.strip_prefix('#') {
                    if let Some(fields) = rest.strip_prefix("Fields:") {
                        *layout = Some(Box::new(w3c_layout(fields, format, opts)));
                    }
                    return Parsed::Skip;
                }
                match layout {
                    Some(l) if !l.regex_columns.is_empty() => {
                        parse_w3c(line, l, format).and_then(|mut parsed| {
                            w3c_regex_groups(line, l, opts, &self.groups, &mut parsed)?;
                            Ok(parsed)
                        })
                    }
                    Some(l) => parse_w3c(line, l, format),
                    None => Err(Invalid::NoFieldsHeader),
                }
            }
            Kind::NginxJson => parse_nginx_json(line),
            Kind::CaddyJson => parse_caddy_json(line),
            Kind::TraefikJson => parse_traefik_json(line),
            Kind::Regex(r) => {
                if line.starts_with('#') && !r.regex.is_match(line) {
                    return Parsed::Skip;
                }
                from_captures = true;
                parse_regex(line, r, &self.groups, &self.ignore)
            }
        };
        match result {
            Ok(mut l) => {
                if !from_captures {
                    if l.groups.len() < self.groups.len() {
                        let from = l.groups.len();
                        let shape = match &self.kind {
                            Kind::W3c { .. } => Some(DateShape::W3c),
                            Kind::Clf(_) => Some(DateShape::Clf),
                            _ => None,
                        };
                        for name in &self.groups[from..] {
                            let v = standard_group(&l, name)
                                .or_else(|| shape.and_then(|s| date_group(s, &l, name)));
                            l.groups.push(v);
                        }
                    }
                    for g in &self.ignore {
                        ignore_group(&mut l, g);
                    }
                }
                Parsed::Line(l)
            }
            Err(e) => Parsed::Invalid(e),
        }
    }
}

// ---------------------------------------------------------------------------
// Dates

/// Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Seconds since the epoch of a wall-clock date, or `None` when it does not
/// exist. Years outside 1900..=9999 are refused: they are typos or garbage,
/// and MariaDB's DATETIME cannot hold them anyway.
fn wall_seconds(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1900..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || s > 60
    {
        return None;
    }
    // A leap second is counted as the last second of its minute.
    let s = s.min(59);
    Some(
        days_from_civil(y, mo, d) * 86_400
            + i64::from(h) * 3600
            + i64::from(mi) * 60
            + i64::from(s),
    )
}

fn month_of(name: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    if name.len() < 3 {
        return None;
    }
    let lower = [
        name[0].to_ascii_lowercase(),
        name[1].to_ascii_lowercase(),
        name[2].to_ascii_lowercase(),
    ];
    MONTHS
        .iter()
        .position(|m| **m == lower)
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// `+0200`, `-05:30`, `+02`, `Z`: seconds east of UTC.
fn parse_offset(b: &[u8]) -> Option<i32> {
    if b == b"Z" || b == b"z" {
        return Some(0);
    }
    let (sign, rest) = match b.first()? {
        b'+' => (1, &b[1..]),
        b'-' => (-1, &b[1..]),
        _ => return None,
    };
    let (h, m) = match rest.len() {
        2 => (digits(rest)?, 0),
        4 => (digits(&rest[..2])?, digits(&rest[2..])?),
        5 if rest[2] == b':' => (digits(&rest[..2])?, digits(&rest[3..])?),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    i32::try_from(h * 3600 + m * 60).ok().map(|s| sign * s)
}

/// `10/Oct/2000:13:55:36` (optionally with `.fff`), fixed width.
fn parse_clf_date(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let d = digits(&b[0..2])?;
    let mo = month_of(&b[3..6])?;
    let y = i64::from(digits(&b[7..11])?);
    if b[14] != b':' || b[17] != b':' {
        return None;
    }
    let h = digits(&b[12..14])?;
    let mi = digits(&b[15..17])?;
    let s = digits(&b[18..20])?;
    if b.len() > 20 && (b[20] != b'.' || digits(&b[21..]).is_none()) {
        return None;
    }
    wall_seconds(y, mo, d, h, mi, s)
}

/// `2012-04-01` and `00:00:13[.fff]`, or `2012-04-01T00:00:13[.fff][offset]`.
fn parse_iso(date: &[u8], time: &[u8]) -> Option<(i64, Option<i32>)> {
    if date.len() != 10 || date[4] != b'-' || date[7] != b'-' || time.len() < 8 {
        return None;
    }
    let y = i64::from(digits(&date[0..4])?);
    let mo = digits(&date[5..7])?;
    let d = digits(&date[8..10])?;
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let h = digits(&time[0..2])?;
    let mi = digits(&time[3..5])?;
    let s = digits(&time[6..8])?;
    let mut rest = &time[8..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = if rest.is_empty() {
        None
    } else {
        Some(parse_offset(rest)?)
    };
    Some((wall_seconds(y, mo, d, h, mi, s)?, offset))
}

/// Parses `YYYY-MM-DD hh:mm:ss +hhmm`, the offset required (the form of
/// `--exclude-older-than` and `--exclude-newer-than`; `+hh:mm` and `Z` are
/// accepted too).
///
/// # Errors
/// [`LogImportError::Format`] saying what was expected.
pub fn parse_date_with_offset(s: &str) -> Result<time::OffsetDateTime, LogImportError> {
    let bad = |why: &str| LogImportError::Format {
        reason: format!("`{s}`: {why}; expected `YYYY-MM-DD hh:mm:ss +hhmm`"),
    };
    let s = s.trim();
    let (datetime, offset) = s
        .rsplit_once(' ')
        .ok_or_else(|| bad("no time zone offset"))?;
    let offset = parse_offset(offset.as_bytes()).ok_or_else(|| bad("no valid time zone offset"))?;
    let datetime = datetime.trim_end();
    let (wall, inner) = (datetime.len() == 19)
        .then(|| parse_iso_datetime(datetime))
        .flatten()
        .ok_or_else(|| bad("not a valid date and time"))?;
    if inner.is_some() {
        return Err(bad("two time zone offsets"));
    }
    let utc_offset = time::UtcOffset::from_whole_seconds(offset)
        .map_err(|_| bad("time zone offset out of range"))?;
    time::OffsetDateTime::from_unix_timestamp(wall - i64::from(offset))
        .map(|t| t.to_offset(utc_offset))
        .map_err(|_| bad("date out of range"))
}

fn parse_iso_datetime(s: &str) -> Option<(i64, Option<i32>)> {
    let b = s.as_bytes();
    if b.len() < 19 || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    parse_iso(&b[..10], &b[11..])
}

/// A `strptime` subset for `--log-date-format`: `%Y %y %m %d %e %b %B %h %H
/// %I %p %M %S %f %z %Z %s %j %%`, literal characters, and a blank that
/// matches any run of blanks.
pub(crate) fn strptime(input: &str, format: &str) -> Option<LogTime> {
    let s = input.as_bytes();
    let f = format.as_bytes();
    let (mut i, mut j) = (0usize, 0usize);
    let (mut y, mut mo, mut d, mut h, mut mi, mut sec) = (1900i64, 1u32, 1u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset = None;
    let mut epoch: Option<i64> = None;
    let mut yday: Option<u32> = None;
    let num = |i: &mut usize, max: usize| -> Option<u32> {
        let start = *i;
        while *i < s.len() && *i - start < max && s[*i].is_ascii_digit() {
            *i += 1;
        }
        digits(&s[start..*i])
    };
    while j < f.len() {
        let c = f[j];
        if c == b'%' && j + 1 < f.len() {
            j += 2;
            match f[j - 1] {
                b'Y' => y = i64::from(num(&mut i, 4)?),
                b'y' => {
                    let v = i64::from(num(&mut i, 2)?);
                    // POSIX: 69–99 are 1969–1999, 00–68 are 2000–2068.
                    y = if v < 69 { 2000 + v } else { 1900 + v };
                }
                b'm' => mo = num(&mut i, 2)?,
                b'd' | b'e' => {
                    while i < s.len() && s[i] == b' ' {
                        i += 1;
                    }
                    d = num(&mut i, 2)?;
                }
                b'H' | b'I' => h = num(&mut i, 2)?,
                b'M' => mi = num(&mut i, 2)?,
                b'S' => sec = num(&mut i, 2)?,
                b'j' => yday = Some(num(&mut i, 3)?),
                b'f' => {
                    num(&mut i, 9)?;
                }
                b'p' => {
                    let w = s.get(i..i + 2)?;
                    pm = Some(w.eq_ignore_ascii_case(b"pm"));
                    if !w.eq_ignore_ascii_case(b"am") && !w.eq_ignore_ascii_case(b"pm") {
                        return None;
                    }
                    i += 2;
                }
                b'b' | b'h' | b'B' => {
                    mo = month_of(s.get(i..)?)?;
                    let start = i;
                    while i < s.len() && s[i].is_ascii_alphabetic() {
                        i += 1;
                    }
                    if f[j - 1] != b'B' && i - start != 3 {
                        return None;
                    }
                }
                b'z' | b'Z' => {
                    let start = i;
                    if s.get(i) == Some(&b'Z') {
                        i += 1;
                    } else {
                        i += 1;
                        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b':') {
                            i += 1;
                        }
                    }
                    let text = s.get(start..i)?;
                    offset = Some(if f[j - 1] == b'Z' && text == b"UTC" {
                        0
                    } else {
                        parse_offset(text)?
                    });
                }
                b's' => {
                    let start = i;
                    while i < s.len() && s[i].is_ascii_digit() {
                        i += 1;
                    }
                    epoch = Some(std::str::from_utf8(&s[start..i]).ok()?.parse().ok()?);
                }
                b'%' => {
                    if s.get(i) != Some(&b'%') {
                        return None;
                    }
                    i += 1;
                }
                _ => return None,
            }
        } else if c.is_ascii_whitespace() {
            j += 1;
            while i < s.len() && s[i].is_ascii_whitespace() {
                i += 1;
            }
        } else {
            if s.get(i) != Some(&c) {
                return None;
            }
            i += 1;
            j += 1;
        }
    }
    if i != s.len() {
        return None;
    }
    if let Some(e) = epoch {
        return Some(LogTime {
            wall: e,
            offset: Some(0),
        });
    }
    if let Some(p) = pm {
        if h == 0 || h > 12 {
            return None;
        }
        h = match (p, h) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    let wall = match yday {
        Some(n) => {
            let jan1 = wall_seconds(y, 1, 1, h, mi, sec)?;
            let len = if days_in_month(y, 2) == 29 { 366 } else { 365 };
            if n == 0 || n > len {
                return None;
            }
            jan1 + i64::from(n - 1) * 86_400
        }
        None => wall_seconds(y, mo, d, h, mi, sec)?,
    };
    Some(LogTime { wall, offset })
}

// ---------------------------------------------------------------------------
// The common/combined family, by hand

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    fn skip_blanks(&mut self) {
        let b = self.bytes();
        while self.pos < b.len() && (b[self.pos] == b' ' || b[self.pos] == b'\t') {
            self.pos += 1;
        }
    }

    /// The next blank-separated token (never empty).
    fn token(&mut self) -> Option<&'a str> {
        self.skip_blanks();
        let b = self.bytes();
        let start = self.pos;
        while self.pos < b.len() && b[self.pos] != b' ' && b[self.pos] != b'\t' {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.s[start..self.pos])
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.skip_blanks();
        (self.bytes().get(self.pos) == Some(&c)).then(|| self.pos += 1)
    }

    /// A `"..."` field (the opening quote next); `\"` inside does not end
    /// it. Returned without the quotes and without unescaping.
    fn quoted(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let b = self.bytes();
        let start = self.pos;
        let mut from = start;
        loop {
            let q = from + memchr::memchr(b'"', &b[from..])?;
            let mut backslashes = 0;
            while q - backslashes > start && b[q - backslashes - 1] == b'\\' {
                backslashes += 1;
            }
            if backslashes % 2 == 0 {
                self.pos = q + 1;
                return Some(&self.s[start..q]);
            }
            from = q + 1;
        }
    }

    /// A `"..."` field ending at the next `"`, escaped or not.
    fn quoted_to_next(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let b = self.bytes();
        let start = self.pos;
        let q = start + memchr::memchr(b'"', &b[start..])?;
        self.pos = q + 1;
        Some(&self.s[start..q])
    }

    /// The request field: ends at the first `"` followed by blanks and a
    /// digit (the status), so that a quote inside a malformed request line
    /// does not end it early.
    fn request(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let b = self.bytes();
        let start = self.pos;
        let mut from = start;
        loop {
            let q = from + memchr::memchr(b'"', &b[from..])?;
            let mut k = q + 1;
            while k < b.len() && b[k] == b' ' {
                k += 1;
            }
            if k > q + 1 && b.get(k).is_some_and(u8::is_ascii_digit) {
                self.pos = q + 1;
                return Some(&self.s[start..q]);
            }
            from = q + 1;
        }
    }

    /// `[date offset]`.
    fn bracket_date(&mut self) -> Option<Result<LogTime, Invalid>> {
        self.expect(b'[')?;
        let b = self.bytes();
        let end = self.pos + memchr::memchr(b']', &b[self.pos..])?;
        let inner = &b[self.pos..end];
        self.pos = end + 1;
        // `import_logs.py`'s `\[(?P<date>.*?)\s+(?P<timezone>.*?)\]`: the
        // offset is required, after one blank or more.
        let Some(sp) = memchr::memchr(b' ', inner) else {
            return Some(Err(Invalid::NoMatch));
        };
        let mut o = sp + 1;
        while inner.get(o).is_some_and(|&b| b == b' ' || b == b'\t') {
            o += 1;
        }
        let Some(wall) = parse_clf_date(&inner[..sp]) else {
            return Some(Err(Invalid::Date));
        };
        let Some(offset) = parse_offset(&inner[o..]) else {
            return Some(Err(Invalid::Date));
        };
        Some(Ok(LogTime {
            wall,
            offset: Some(offset),
        }))
    }
}

fn dash_none(s: &str) -> Option<Field<'_>> {
    (s != "-" && !s.is_empty()).then_some(Cow::Borrowed(s))
}

pub(crate) fn strip_port(host: &str) -> &str {
    // `[::1]:443` keeps its brackets off; `example.org:8080` loses the port.
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rfind(':') {
        Some(i)
            if host[i + 1..].bytes().all(|c| c.is_ascii_digit())
                && host[..i].find(':').is_none() =>
        {
            &host[..i]
        }
        _ => host,
    }
}

/// `method path protocol`, as `import_logs.py`'s `"(?P<method>\S+)\s+
/// (?P<path>.*?)\s+\S+"` reads it: the protocol (any last word) is
/// required, and a path with spaces in it keeps them.
fn split_request(req: &str) -> Option<(&str, &str)> {
    let (method, rest) = req.split_once(' ')?;
    if method.is_empty() {
        return None;
    }
    let rest = rest.trim_start_matches(' ');
    let (path, protocol) = rest.rsplit_once(' ')?;
    let path = path.trim_end_matches(' ');
    (!path.is_empty() && !protocol.is_empty()).then_some((method, path))
}

fn parse_clf(line: &str, shape: ClfShape) -> Result<LogLine<'_>, Invalid> {
    let mut c = Cursor { s: line, pos: 0 };
    let nm = Invalid::NoMatch;
    let (host, ip, userid) = match shape {
        ClfShape::Vhost | ClfShape::Complete | ClfShape::Gandi => {
            let host = c.token().ok_or(nm)?;
            let ip = c.token().ok_or(nm)?;
            c.token().ok_or(nm)?;
            (Some(strip_port(host)), ip, c.token().ok_or(nm)?)
        }
        ClfShape::Ovh => {
            let ip = c.token().ok_or(nm)?;
            let host = c.token().ok_or(nm)?;
            (Some(strip_port(host)), ip, c.token().ok_or(nm)?)
        }
        _ => {
            let ip = c.token().ok_or(nm)?;
            c.token().ok_or(nm)?;
            (None, ip, c.token().ok_or(nm)?)
        }
    };
    if ip.starts_with('[')
        || !ip
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:-_*".contains(&b))
    {
        return Err(nm);
    }
    let time = c.bracket_date().ok_or(nm)??;
    let mut duration_ms = None;
    if shape == ClfShape::Gandi {
        c.expect(b'(').ok_or(nm)?;
        let b = c.bytes();
        let end = c.pos + memchr::memchr(b')', &b[c.pos..]).ok_or(nm)?;
        duration_ms = gandi_duration(&line[c.pos..end]);
        c.pos = end + 1;
    }
    let request = c.request().ok_or(nm)?;
    let (method, path) = split_request(request).ok_or(nm)?;
    let status = c.token().ok_or(nm)?;
    if status.len() != 3 {
        return Err(Invalid::Status);
    }
    let status = u16::try_from(digits(status.as_bytes()).ok_or(Invalid::Status)?)
        .map_err(|_| Invalid::Status)?;
    let bytes = c.token().ok_or(nm)?.parse().ok();
    let (referrer, user_agent) = match shape {
        ClfShape::Common | ClfShape::Vhost => (None, None),
        _ => {
            let r = c.quoted().ok_or(nm)?;
            // `import_logs.py`'s lazy `"(?P<user_agent>.*?)"` ends at the
            // first quote, `\"` or not, when nothing is read after it (it
            // is, in icecast2: the session time).
            let ua = if shape == ClfShape::Icecast2 {
                c.quoted()
            } else {
                c.quoted_to_next()
            };
            (dash_none(r), Some(Cow::Borrowed(ua.ok_or(nm)?)))
        }
    };
    if shape == ClfShape::Icecast2 {
        let t = c.token().ok_or(nm)?;
        if !t.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(nm);
        }
    }
    Ok(LogLine {
        ip: Cow::Borrowed(ip),
        time,
        // `import_logs.py`'s OVH regex reads no method.
        method: (shape != ClfShape::Ovh).then_some(Cow::Borrowed(method)),
        path: Cow::Borrowed(path),
        query: None,
        status,
        bytes,
        referrer,
        user_agent,
        host: host.map(Cow::Borrowed),
        duration_ms,
        userid: dash_none(userid),
        groups: Vec::new(),
        event: None,
    })
}

/// Gandi's `(0 s)` / `(1234 us)`: the time taken, in milliseconds, as
/// `import_logs.py` reads it: its `generation_time_secs` group holds the
/// unit too, which Python's `float()` refuses, so a time with a unit (all
/// that Gandi writes) is none; only a bare number is read, in seconds.
fn gandi_duration(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().map(|secs| secs * 1000.0)
}

// ---------------------------------------------------------------------------
// W3C extended

fn w3c_layout(fields: &str, format: &LogFormat, opts: &W3cOptions) -> W3cLayout {
    let mut l = W3cLayout {
        time_taken_ms: matches!(format, LogFormat::Iis),
        ..W3cLayout::default()
    };
    let cloudfront = matches!(format, LogFormat::AmazonCloudFront);
    let incapsula = matches!(format, LogFormat::IncapsulaW3c);
    let shoutcast = matches!(format, LogFormat::Shoutcast);
    for (i, logged) in fields.split_whitespace().enumerate() {
        for (r, (field, _)) in opts.regexes.iter().enumerate() {
            if field == logged {
                l.regex_columns.push((i, r));
            }
        }
        // `--w3c-map-field custom=known`: the custom name is read as the
        // known one, and the known name itself no longer is (so that a log
        // with both reads the one asked for).
        let name = match opts.map.iter().find(|(custom, _)| custom == logged) {
            Some((_, known)) => known.as_str(),
            None if opts.map.iter().any(|(_, known)| known == logged) => "",
            None => logged,
        };
        if name == "time-taken" && opts.time_taken_ms {
            l.time_taken_ms = true;
        }
        // The fields `import_logs.py` reads in each flavour; any other
        // (`cs(Referrer)` with two r's included) is not read there.
        let slot = match name {
            "date" => &mut l.date,
            "time" => &mut l.time,
            "cs-uri-stem" => &mut l.path,
            "cs-uri" if incapsula => &mut l.uri,
            "cs-uri-query" => &mut l.query,
            "c-ip" => &mut l.ip,
            "cs(User-Agent)" => &mut l.ua,
            "c-user-agent" if cloudfront => &mut l.ua,
            "cs(Referer)" => &mut l.referrer,
            "sc-status" => &mut l.status,
            "c-status" if shoutcast => &mut l.status,
            "sc-bytes" => &mut l.bytes,
            "cs-bytes" if incapsula => &mut l.bytes,
            "cs-host" => &mut l.host,
            "x-host-header" if cloudfront => &mut l.host,
            "cs-method" => &mut l.method,
            "cs-username" => &mut l.userid,
            "time-taken" => &mut l.time_taken,
            "x-duration" if shoutcast => &mut l.time_taken,
            "x-event" if cloudfront => &mut l.event_action,
            "x-sname" if cloudfront => &mut l.event_name,
            _ => {
                l.count = i + 1;
                continue;
            }
        };
        *slot = Some(i);
        l.count = i + 1;
    }
    l
}

/// Splits a W3C line on blanks (spaces or tabs); a field starting with `"`
/// runs to the next `"` and is returned without its quotes.
fn w3c_split(line: &str, out: &mut Vec<(usize, usize)>) -> bool {
    out.clear();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'"' {
            let Some(q) = memchr::memchr(b'"', &b[i + 1..]) else {
                return false;
            };
            out.push((i + 1, i + 1 + q));
            i = i + 2 + q;
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                i += 1;
            }
            out.push((start, i));
        }
    }
    true
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn parse_w3c<'a>(line: &'a str, l: &W3cLayout, format: &LogFormat) -> Result<LogLine<'a>, Invalid> {
    let mut spans = Vec::with_capacity(l.count);
    if !w3c_split(line, &mut spans) || spans.len() < l.count {
        return Err(Invalid::NoMatch);
    }
    let get = |slot: Option<usize>| slot.and_then(|i| spans.get(i)).map(|&(a, b)| &line[a..b]);
    let date = get(l.date).ok_or(Invalid::NoMatch)?;
    let time = get(l.time).ok_or(Invalid::NoMatch)?;
    let (wall, offset) = parse_iso(date.as_bytes(), time.as_bytes()).ok_or(Invalid::Date)?;
    let (mut host, path) = match (get(l.path), get(l.uri)) {
        // CloudFront RTMP's `rtmp://host/app` is read as the path
        // `/host/app` (`import_logs.py`'s `(?:rtmp:/)?(?P<path>/\S*)`).
        (Some(p), _) if matches!(format, LogFormat::AmazonCloudFront) => {
            (None, p.strip_prefix("rtmp:/").unwrap_or(p))
        }
        (Some(p), _) => (None, p),
        // Incapsula's `cs-uri` (read in no other flavour) is `host/path`.
        (None, Some(u)) => match u.find('/') {
            Some(i) => (Some(&u[..i]), &u[i..]),
            None => (Some(u), "/"),
        },
        (None, None) => return Err(Invalid::NoMatch),
    };
    // `import_logs.py` reads a `cs-uri-stem` as `/\S*`.
    if path.is_empty() || (l.path.is_some() && !path.starts_with('/')) {
        return Err(Invalid::NoMatch);
    }
    if let Some(h) = get(l.host)
        .map(|h| h.trim_matches('"'))
        .filter(|h| *h != "-" && !h.is_empty())
    {
        host = Some(h);
    }
    let status = match get(l.status) {
        Some(s) if !s.is_empty() => s.parse().map_err(|_| Invalid::Status)?,
        // CloudFront RTMP and Incapsula may leave it out: a success.
        _ if matches!(
            format,
            LogFormat::AmazonCloudFront | LogFormat::IncapsulaW3c
        ) =>
        {
            200
        }
        _ => return Err(Invalid::Status),
    };
    let ua = get(l.ua).and_then(dash_none).map(|ua| match format {
        LogFormat::AmazonCloudFront => {
            Cow::Owned(percent_decode(&percent_decode(&ua)).into_owned())
        }
        LogFormat::Shoutcast => Cow::Owned(percent_decode(&ua).into_owned()),
        _ => ua,
    });
    let taken: Option<f64> = get(l.time_taken).and_then(|t| t.parse().ok());
    let duration_ms = taken.map(|t| if l.time_taken_ms { t } else { t * 1000.0 });
    let ip = get(l.ip).ok_or(Invalid::NoMatch)?;
    let incapsula_quoted_method = matches!(format, LogFormat::IncapsulaW3c)
        && l.method
            .and_then(|i| spans.get(i))
            .is_some_and(|&(a, _)| a > 0 && line.as_bytes()[a - 1] == b'"');
    Ok(LogLine {
        ip: Cow::Borrowed(ip),
        time: LogTime { wall, offset },
        method: if incapsula_quoted_method {
            // `import_logs.py` reads Incapsula's `cs-method` with W3C's
            // `\S+`, quotes and all (`"GET"`, its `HTTP-method` value).
            l.method
                .and_then(|i| spans.get(i))
                .and_then(|&(a, b)| line.get(a.checked_sub(1)?..b + 1))
                .map(Cow::Borrowed)
        } else {
            get(l.method).and_then(dash_none)
        },
        path: Cow::Borrowed(path),
        // With a `cs-uri-query` field `import_logs.py` takes the stem as
        // the whole path, even when it has a `?`.
        query: get(l.query).map(|q| Cow::Borrowed(if q == "-" { "" } else { q })),
        status,
        bytes: get(l.bytes).and_then(|b| b.parse().ok()),
        referrer: get(l.referrer).and_then(dash_none),
        user_agent: ua,
        // With its port, if any: `import_logs.py` builds the URL from it
        // (`http://example.com:8080/a`).
        host: host.map(Cow::Borrowed),
        duration_ms,
        userid: get(l.userid).and_then(dash_none),
        groups: Vec::new(),
        // `import_logs.py`'s CloudFront category is `cloudfront_rtmp`;
        // web distributions log no `x-event`, hence no event.
        event: LogEvent::of(
            Some(Cow::Borrowed("cloudfront_rtmp")),
            get(l.event_action).map(Cow::Borrowed),
            get(l.event_name),
        ),
    })
}

// ---------------------------------------------------------------------------
// JSON formats

fn json_str(v: Option<&serde_json::Value>) -> Option<Field<'static>> {
    match v? {
        serde_json::Value::String(s) if s != "-" && !s.is_empty() => Some(Cow::Owned(s.clone())),
        serde_json::Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn json_num(v: Option<&serde_json::Value>) -> Option<f64> {
    match v? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn json_object(line: &str) -> Result<serde_json::Map<String, serde_json::Value>, Invalid> {
    match serde_json::from_str(line) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(Invalid::NoMatch),
    }
}

fn status_of(v: Option<&serde_json::Value>) -> Result<u16, Invalid> {
    json_num(v)
        .filter(|s| (100.0..1000.0).contains(s))
        .map(|s| {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "range checked"
            )]
            let s = s as u16;
            s
        })
        .ok_or(Invalid::Status)
}

fn json_bytes(v: Option<&serde_json::Value>) -> Option<u64> {
    json_num(v).filter(|b| *b >= 0.0).map(|b| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "non-negative"
        )]
        let b = b as u64;
        b
    })
}

fn parse_nginx_json(line: &str) -> Result<LogLine<'static>, Invalid> {
    // nginx writes bytes it cannot encode as `\xHH`, which is not JSON.
    let fixed;
    let line = if line.contains("\\x") {
        fixed = line.replace("\\x", "\\u00");
        fixed.as_str()
    } else {
        line
    };
    let m = json_object(line)?;
    let date = m
        .get("date")
        .and_then(|d| d.as_str())
        .ok_or(Invalid::NoMatch)?;
    let (wall, offset) = parse_iso_datetime(date).ok_or(Invalid::Date)?;
    Ok(LogLine {
        ip: json_str(m.get("ip")).ok_or(Invalid::NoMatch)?,
        time: LogTime { wall, offset },
        method: json_str(m.get("method")),
        path: json_str(m.get("path")).ok_or(Invalid::NoMatch)?,
        query: None,
        status: status_of(m.get("status"))?,
        bytes: json_bytes(m.get("length")),
        referrer: json_str(m.get("referrer")),
        user_agent: json_str(m.get("user_agent")),
        host: json_str(m.get("host")),
        // nginx's $request_time is in seconds despite the key's name.
        duration_ms: json_num(m.get("generation_time_milli")).map(|s| s * 1000.0),
        userid: json_str(m.get("userid")),
        groups: Vec::new(),
        event: None,
    })
}

fn parse_caddy_json(line: &str) -> Result<LogLine<'static>, Invalid> {
    let m = json_object(line)?;
    let ts = json_num(m.get("ts")).ok_or(Invalid::Date)?;
    if !(0.0..253_402_300_800.0).contains(&ts) {
        return Err(Invalid::Date);
    }
    #[expect(clippy::cast_possible_truncation, reason = "range checked")]
    let wall = ts.floor() as i64;
    let req = m
        .get("request")
        .and_then(|r| r.as_object())
        .ok_or(Invalid::NoMatch)?;
    let header = |name: &str| {
        req.get("headers")
            .and_then(|h| h.get(name))
            .and_then(|v| v.get(0))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(|s| Cow::Owned(s.to_owned()))
    };
    Ok(LogLine {
        ip: json_str(req.get("client_ip"))
            .or_else(|| json_str(req.get("remote_ip")))
            .ok_or(Invalid::NoMatch)?,
        time: LogTime {
            wall,
            offset: Some(0),
        },
        method: json_str(req.get("method")),
        path: json_str(req.get("uri")).ok_or(Invalid::NoMatch)?,
        // `import_logs.py` has no query string for Caddy: the URI stays
        // whole, `/a.css?v=1` is no static file.
        query: Some(Cow::Borrowed("")),
        status: status_of(m.get("status"))?,
        bytes: json_bytes(m.get("size")),
        referrer: header("Referer"),
        user_agent: header("User-Agent"),
        host: json_str(req.get("host")),
        duration_ms: json_num(m.get("duration")).map(|s| s * 1000.0),
        userid: json_str(m.get("user_id")),
        groups: Vec::new(),
        event: None,
    })
}

fn parse_traefik_json(line: &str) -> Result<LogLine<'static>, Invalid> {
    let m = json_object(line)?;
    let date = m
        .get("time")
        .and_then(|d| d.as_str())
        .ok_or(Invalid::NoMatch)?;
    let (wall, offset) = parse_iso_datetime(date).ok_or(Invalid::Date)?;
    Ok(LogLine {
        ip: json_str(m.get("ClientHost")).ok_or(Invalid::NoMatch)?,
        time: LogTime { wall, offset },
        method: json_str(m.get("RequestMethod")),
        path: json_str(m.get("RequestPath")).ok_or(Invalid::NoMatch)?,
        // As for Caddy: `import_logs.py` reads an empty query string.
        query: Some(Cow::Borrowed("")),
        status: status_of(m.get("DownstreamStatus"))?,
        bytes: json_bytes(m.get("DownstreamContentSize")),
        referrer: json_str(m.get("request_Referer")),
        user_agent: json_str(m.get("request_User-Agent")),
        host: json_str(m.get("RequestHost")),
        // Traefik's Duration is in nanoseconds.
        duration_ms: json_num(m.get("Duration")).map(|ns| ns / 1_000_000.0),
        userid: json_str(m.get("ClientUsername")),
        groups: Vec::new(),
        event: None,
    })
}

// ---------------------------------------------------------------------------
// Regex formats

/// ELB classic and ALB (which adds a leading request type). The method is
/// not read: `import_logs.py`'s regex has no group for it.
const ELB_REGEX: &str = r#"^(?:[a-z0-9]+\s+)?(?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?Z\s+\S+\s+(?P<ip>[0-9a-fA-F.:]+?):\d+\s+\S+\s+\S+\s+(?P<generation_time_secs>\S+)\s+\S+\s+(?P<status>\d{3})\s+\S+\s+\S+\s+(?P<length>\d+)\s+"[A-Z]+\s+[a-z]+://(?P<host>[^/:\s"]+)(?::\d+)?(?P<path>/[^\s"]*)[^"]*"\s+"(?P<user_agent>[^"]*)""#;

/// S3 server access logs.
const S3_REGEX: &str = r#"^\S+\s+(?P<host>\S+)\s+\[(?P<date>[^\]\s]+)\s+(?P<timezone>[^\]]+)\]\s+(?P<ip>\S+)\s+(?P<userid>\S+)\s+\S+\s+\S+\s+\S+\s+"(?P<method>\S+)\s+(?P<path>\S+)[^"]*"\s+(?P<status>\d{3})\s+\S+\s+(?P<length>\S+)\s+\S+\s+\S+\s+\S+\s+"(?P<referrer>[^"]*)"\s+"(?P<user_agent>[^"]*)""#;

/// HAProxy's HTTP log format behind a syslog prefix. Its total time `Tt`
/// is not read: `import_logs.py` records no server time for HAProxy.
const HAPROXY_REGEX: &str = r#"^.*?haproxy\S*:\s+(?P<ip>[0-9a-fA-F.:]+?):\d+\s+\[(?P<date>[^\]]+)\]\s+\S+\s+\S+\s+(?:-?\d+/){3,4}-?\d+\s+(?P<status>\d{3})\s+(?P<length>\d+)\s.*?"(?P<method>[A-Z]+)\s+(?P<path>\S+)"#;

fn parse_regex<'a>(
    line: &'a str,
    r: &UserRegex,
    groups: &[String],
    ignore: &[String],
) -> Result<LogLine<'a>, Invalid> {
    let caps = r.regex.captures(line).ok_or(Invalid::NoMatch)?;
    let raw = |name: &str| caps.name(name).map(|m| m.as_str());
    // An ignored group reads as absent (the required ones cannot be).
    let get = |name: &str| {
        if ignore.iter().any(|g| g == name) {
            None
        } else {
            raw(name)
        }
    };
    let date = get("date").ok_or(Invalid::NoMatch)?;
    let joined;
    let date = match get("time") {
        Some(t) => {
            joined = format!("{date} {t}");
            joined.as_str()
        }
        None => date,
    };
    let mut time = strptime(date, &r.date_format)
        .or_else(|| {
            // The default format also accepts ISO dates, as users of a
            // custom regex often have those.
            (r.date_format == CLF_DATE_FORMAT)
                .then(|| parse_iso_datetime(date))
                .flatten()
                .map(|(wall, offset)| LogTime { wall, offset })
        })
        .ok_or(Invalid::Date)?;
    if let Some(tz) = get("timezone").filter(|t| !t.is_empty()) {
        time.offset = Some(parse_offset(tz.replace(':', "").as_bytes()).ok_or(Invalid::Date)?);
    }
    let path = get("path")
        .filter(|p| !p.is_empty())
        .ok_or(Invalid::NoMatch)?;
    let status = match get("status") {
        Some(s) => s.trim_matches('"').parse().map_err(|_| Invalid::Status)?,
        None => 200,
    };
    let num = |name: &str| get(name).and_then(|v| v.parse::<f64>().ok());
    let duration_ms = num("generation_time_milli")
        .or_else(|| num("generation_time_micro").map(|us| us / 1000.0))
        .or_else(|| num("generation_time_secs").map(|s| s * 1000.0));
    let has_query_group = r
        .regex
        .capture_names()
        .flatten()
        .any(|n| n == "query_string");
    let unquote = |s: &'a str| {
        s.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(s)
    };
    Ok(LogLine {
        ip: Cow::Borrowed(get("ip").ok_or(Invalid::NoMatch)?),
        time,
        method: get("method").and_then(dash_none),
        path: Cow::Borrowed(path),
        // A regex with a `query_string` group keeps its path whole, as in
        // `import_logs.py` (which splits the path only without the group).
        query: if has_query_group {
            get("query_string")
                .map(|q| if q == "-" { "" } else { q })
                .or(Some(""))
                .filter(|_| !ignore.iter().any(|g| g == "query_string"))
                .map(Cow::Borrowed)
        } else {
            None
        },
        status,
        bytes: get("length").and_then(|v| v.trim_matches('"').parse().ok()),
        referrer: get("referrer").map(unquote).and_then(dash_none),
        user_agent: get("user_agent").map(unquote).and_then(dash_none),
        host: get("host").map(unquote).and_then(dash_none),
        duration_ms,
        userid: get("userid").and_then(dash_none),
        groups: groups.iter().map(|g| raw(g).and_then(dash_none)).collect(),
        event: LogEvent::of(
            get("event_category").map(Cow::Borrowed),
            get("event_action").map(Cow::Borrowed),
            get("event_name"),
        ),
    })
}

/// The value of a [`STANDARD_GROUPS`] name from a parsed line (`None` for
/// other names).
fn standard_group<'a>(line: &LogLine<'a>, name: &str) -> Option<Field<'a>> {
    match name {
        "ip" => Some(line.ip.clone()),
        "method" => line.method.clone(),
        "path" => Some(line.path.clone()),
        "query_string" => line.query.clone().filter(|q| !q.is_empty()),
        "status" => Some(Cow::Owned(line.status.to_string())),
        "length" => line.bytes.map(|b| Cow::Owned(b.to_string())),
        "referrer" => line.referrer.clone(),
        "user_agent" => line.user_agent.clone(),
        "host" => line.host.clone(),
        "userid" => line.userid.clone(),
        "generation_time_milli" => line.duration_ms.map(|d| Cow::Owned(d.to_string())),
        _ => None,
    }
}

/// How a format's `date` group reads in `import_logs.py`.
#[derive(Debug, Clone, Copy)]
enum DateShape {
    /// `2012-04-01 00:00:13` (its `date` and `time` joined).
    W3c,
    /// `10/Feb/2012:16:42:07`, the offset apart (`timezone`, `-0500`).
    Clf,
}

/// The `date` and `timezone` groups of a line read without a regex, as
/// `import_logs.py`'s regex for the format holds them (for the
/// `--regex-group-to-*-cvar` options), written back from the parsed time.
fn date_group(shape: DateShape, line: &LogLine<'_>, name: &str) -> Option<Field<'static>> {
    let t = time::OffsetDateTime::from_unix_timestamp(line.time.wall).ok()?;
    let (y, d, h, mi, s) = (t.year(), t.day(), t.hour(), t.minute(), t.second());
    let text = match (shape, name) {
        (DateShape::W3c, "date") => format!(
            "{y:04}-{:02}-{d:02} {h:02}:{mi:02}:{s:02}",
            u8::from(t.month())
        ),
        (DateShape::Clf, "date") => {
            let month = t.month().to_string();
            let month = month.get(..3).unwrap_or(&month);
            format!("{d:02}/{month}/{y:04}:{h:02}:{mi:02}:{s:02}")
        }
        (DateShape::Clf, "timezone") => {
            let o = line.time.offset?;
            let sign = if o < 0 { '-' } else { '+' };
            let o = o.unsigned_abs();
            format!("{sign}{:02}{:02}", o / 3600, o % 3600 / 60)
        }
        _ => return None,
    };
    Some(Cow::Owned(text))
}

/// `--ignore-groups` on a line parsed without a regex: the field as if the
/// format did not log it.
fn ignore_group(line: &mut LogLine<'_>, name: &str) {
    match name {
        "timezone" => line.time.offset = None,
        "method" => line.method = None,
        "query_string" => line.query = None,
        // As a regex without a `status` group: a success.
        "status" => line.status = 200,
        "length" => line.bytes = None,
        "referrer" => line.referrer = None,
        "user_agent" => line.user_agent = None,
        "host" => line.host = None,
        "userid" => line.userid = None,
        "generation_time_milli" | "generation_time_micro" | "generation_time_secs" => {
            line.duration_ms = None;
        }
        _ => {}
    }
}

/// `--w3c-field-regex`: every such field must match its regex (else the
/// line is invalid); the wanted groups come from their captures, or from
/// the line's known fields.
fn w3c_regex_groups<'a>(
    line: &'a str,
    l: &W3cLayout,
    opts: &W3cOptions,
    groups: &[String],
    parsed: &mut LogLine<'a>,
) -> Result<(), Invalid> {
    let mut spans = Vec::with_capacity(l.count);
    if !w3c_split(line, &mut spans) {
        return Err(Invalid::NoMatch);
    }
    let mut captures = Vec::with_capacity(l.regex_columns.len());
    for &(col, r) in &l.regex_columns {
        let (a, b) = *spans.get(col).ok_or(Invalid::NoMatch)?;
        let caps = opts.regexes[r]
            .1
            .captures(&line[a..b])
            .ok_or(Invalid::NoMatch)?;
        captures.push(caps);
    }
    parsed.groups = groups
        .iter()
        .map(|g| match captures.iter().find_map(|c| c.name(g)) {
            Some(m) => dash_none(m.as_str()),
            None => standard_group(parsed, g).or_else(|| date_group(DateShape::W3c, parsed, g)),
        })
        .collect();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        wall_seconds(y, mo, d, h, mi, s).unwrap_or_default()
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(wall(2012, 2, 10, 16, 42, 7), 1_328_892_127);
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(parse_clf_date(b"31/Feb/2012:16:42:07"), None);
        assert_eq!(parse_clf_date(b"29/Feb/2013:16:42:07"), None);
        assert!(parse_clf_date(b"29/Feb/2012:16:42:07").is_some());
        assert_eq!(parse_clf_date(b"10/Feb/2012:25:42:07"), None);
        assert_eq!(parse_clf_date(b"10/Fob/2012:16:42:07"), None);
        assert_eq!(strptime("2012-13-01", "%Y-%m-%d"), None);
    }

    #[test]
    fn strptime_subset() {
        let t = strptime("10/Feb/2012:16:42:07 -0500", "%d/%b/%Y:%H:%M:%S %z");
        assert_eq!(
            t,
            Some(LogTime {
                wall: wall(2012, 2, 10, 16, 42, 7),
                offset: Some(-18_000)
            })
        );
        let t = strptime("Feb 10 2012 04:42:07 PM", "%b %d %Y %I:%M:%S %p");
        assert_eq!(t.map(|t| t.wall), Some(wall(2012, 2, 10, 16, 42, 7)));
        assert_eq!(
            strptime("1328892127", "%s").map(|t| t.unix(&LogTimeZone::Utc)),
            Some(1_328_892_127)
        );
    }

    #[test]
    fn offsets_and_zones() {
        assert_eq!(parse_offset(b"+0200"), Some(7200));
        assert_eq!(parse_offset(b"-05:30"), Some(-19_800));
        assert_eq!(parse_offset(b"+2500"), None);
        let paris = LogTimeZone::parse("Europe/Paris").map_err(|e| e.to_string());
        let t = LogTime {
            wall: wall(2024, 7, 1, 12, 0, 0),
            offset: None,
        };
        assert_eq!(paris.map(|z| t.unix(&z)), Ok(wall(2024, 7, 1, 10, 0, 0)));
    }

    #[test]
    fn request_line_with_spaces_and_quotes() {
        assert_eq!(split_request("GET /a b HTTP/1.1"), Some(("GET", "/a b")));
        assert_eq!(split_request("GET / x"), Some(("GET", "/")));
        // No protocol: no request, as in `import_logs.py`.
        assert_eq!(split_request("GET /"), None);
        assert_eq!(split_request("-"), None);
        let line = r#"1.2.3.4 - - [10/Feb/2012:16:42:07 -0500] "GET /x"y HTTP/1.1" 200 5 "-" "UA \"quoted\" x""#;
        let l = parse_clf(line, ClfShape::Combined).map_err(|e| e.describe());
        let l = l
            .as_ref()
            .map(|l| (l.path.as_ref(), l.user_agent.as_deref()));
        // The user agent ends at its first quote, as in `import_logs.py`.
        assert_eq!(l, Ok(("/x\"y", Some(r#"UA \"#))));
    }

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(strip_port("example.org:8080"), "example.org");
        assert_eq!(strip_port("[::1]:443"), "::1");
        assert_eq!(strip_port("::1"), "::1");
    }
}
