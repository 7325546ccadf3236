//! Log formats: their names (as `import_logs.py --log-format-name` knows
//! them), a user regex, and detection from a file's first lines.

use std::fmt;

use crate::LogImportError;

/// A log format.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LogFormat {
    /// Apache/nginx common log format: `ip ident user [date] "request" status bytes`.
    Common,
    /// `host[:port] ` then the common format (Apache `%v`).
    CommonVhost,
    /// The combined format (`ncsa_extended`): common plus `"referrer" "user agent"`.
    Combined,
    /// `host ` then the combined format.
    CommonComplete,
    /// Icecast2: combined plus the session duration in seconds.
    Icecast2,
    /// OVH: `ip host user [date] "request" status bytes "referrer" "user agent"`
    /// (never auto-detected: it reads like the common format).
    Ovh,
    /// Gandi simple hosting: `host ip - user [date] (time) "request" ...`.
    Gandi,
    /// W3C extended (`#Fields:` header), including NetScaler.
    W3cExtended,
    /// W3C extended as written by IIS (`time-taken` in milliseconds).
    Iis,
    /// Amazon CloudFront web distributions (W3C, tab separated, user agent
    /// percent-encoded twice).
    AmazonCloudFront,
    /// Incapsula W3C (every field quoted, `cs-uri` is host and path).
    IncapsulaW3c,
    /// SHOUTcast (W3C, user agent percent-encoded).
    Shoutcast,
    /// nginx `log_format` writing JSON (`ip`, `host`, `path`, `date`, ...).
    NginxJson,
    /// Caddy's JSON access log.
    CaddyJson,
    /// Traefik's JSON access log.
    TraefikJson,
    /// Amazon ELB classic and ALB access logs.
    Elb,
    /// Amazon S3 server access logs.
    S3,
    /// HAProxy HTTP logs as syslog writes them.
    HaProxy,
    /// A user regex with named groups and a date format (`--log-format-regex`,
    /// `--log-date-format`).
    Regex(UserRegex),
}

/// `--log-format-regex` with `--log-date-format`. The regex must match
/// from the start of a line (not necessarily to its end).
///
/// Group names are `import_logs.py`'s: `ip`, `date` (plus an optional
/// `time` joined to it with a space), `timezone`, `method`, `path`,
/// `query_string`, `status`, `length`, `referrer`, `user_agent`, `host`,
/// `userid`, `generation_time_milli`, `generation_time_micro`,
/// `generation_time_secs`, and `event_category`, `event_action`,
/// `event_name` (a line with a category and an action is tracked as that
/// event). `ip`, `date` and `path` are required.
#[derive(Debug, Clone)]
pub struct UserRegex {
    pub(crate) regex: regex::Regex,
    pub(crate) date_format: String,
}

impl UserRegex {
    /// Compiles a user regex; `date_format` is a `strptime` pattern
    /// (`%d/%b/%Y:%H:%M:%S` when `None`, as in `import_logs.py`).
    ///
    /// # Errors
    /// [`LogImportError::Format`] when the regex does not compile or lacks a
    /// required group.
    pub fn new(pattern: &str, date_format: Option<&str>) -> Result<Self, LogImportError> {
        let bad = |e: regex::Error| LogImportError::Format {
            reason: format!("--log-format-regex does not compile: {e}"),
        };
        // Checked alone first, so that an error shows the user's pattern.
        regex::Regex::new(pattern).map_err(bad)?;
        // Anchored at the start of the line, as `import_logs.py` matches
        // it (`re.match`): a line with something before what the regex
        // describes is invalid.
        let regex = regex::Regex::new(&format!("^(?:{pattern})")).map_err(bad)?;
        for group in ["ip", "date", "path"] {
            if !regex.capture_names().flatten().any(|n| n == group) {
                return Err(LogImportError::Format {
                    reason: format!("--log-format-regex has no `{group}` group"),
                });
            }
        }
        Ok(Self {
            regex,
            date_format: date_format.unwrap_or(CLF_DATE_FORMAT).to_owned(),
        })
    }
}

/// `import_logs.py`'s default date format.
pub(crate) const CLF_DATE_FORMAT: &str = "%d/%b/%Y:%H:%M:%S";

/// Every name [`LogFormat::from_name`] accepts, for `--help` texts.
pub const FORMAT_NAMES: &[&str] = &[
    "common",
    "common_vhost",
    "ncsa_extended",
    "combined",
    "common_complete",
    "icecast2",
    "ovh",
    "gandi",
    "w3c_extended",
    "netscaler",
    "iis",
    "amazon_cloudfront",
    "incapsula_w3c",
    "shoutcast",
    "nginx_json",
    "caddy_json",
    "traefik_json",
    "elb",
    "alb",
    "s3",
    "haproxy",
];

impl LogFormat {
    /// The format called `name` (`--log-format-name`).
    ///
    /// # Errors
    /// [`LogImportError::Format`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self, LogImportError> {
        Ok(match name {
            "common" => Self::Common,
            "common_vhost" => Self::CommonVhost,
            "ncsa_extended" | "combined" => Self::Combined,
            "common_complete" => Self::CommonComplete,
            "icecast2" => Self::Icecast2,
            "ovh" => Self::Ovh,
            "gandi" => Self::Gandi,
            "w3c_extended" | "netscaler" => Self::W3cExtended,
            "iis" => Self::Iis,
            "amazon_cloudfront" => Self::AmazonCloudFront,
            "incapsula_w3c" => Self::IncapsulaW3c,
            "shoutcast" => Self::Shoutcast,
            "nginx_json" => Self::NginxJson,
            "caddy_json" => Self::CaddyJson,
            "traefik_json" => Self::TraefikJson,
            "elb" | "alb" => Self::Elb,
            "s3" => Self::S3,
            "haproxy" => Self::HaProxy,
            other => {
                return Err(LogImportError::Format {
                    reason: format!(
                        "unknown log format `{other}` (known: {})",
                        FORMAT_NAMES.join(", ")
                    ),
                });
            }
        })
    }

    /// The format's name, as stored in `logimport_file.log_format`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Common => "common",
            Self::CommonVhost => "common_vhost",
            Self::Combined => "ncsa_extended",
            Self::CommonComplete => "common_complete",
            Self::Icecast2 => "icecast2",
            Self::Ovh => "ovh",
            Self::Gandi => "gandi",
            Self::W3cExtended => "w3c_extended",
            Self::Iis => "iis",
            Self::AmazonCloudFront => "amazon_cloudfront",
            Self::IncapsulaW3c => "incapsula_w3c",
            Self::Shoutcast => "shoutcast",
            Self::NginxJson => "nginx_json",
            Self::CaddyJson => "caddy_json",
            Self::TraefikJson => "traefik_json",
            Self::Elb => "elb",
            Self::S3 => "s3",
            Self::HaProxy => "haproxy",
            Self::Regex(_) => "regex",
        }
    }

    /// Whether the format can name the host (needed to find the site by
    /// host when no `idsite` is given).
    pub fn has_host(&self) -> bool {
        !matches!(
            self,
            Self::Common | Self::Combined | Self::Icecast2 | Self::HaProxy
        )
    }

    pub(crate) fn is_w3c(&self) -> bool {
        matches!(
            self,
            Self::W3cExtended
                | Self::Iis
                | Self::AmazonCloudFront
                | Self::IncapsulaW3c
                | Self::Shoutcast
        )
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Lines looked at by [`detect`].
pub const DETECT_LINES: usize = 50;

/// Lines an import reads to find one of a known format when the first
/// [`DETECT_LINES`] are none (`import_logs.py`'s limit); [`detect`] then
/// looks at the lines from that one on.
pub const DETECT_SCAN_LINES: usize = 100_000;

/// The line-oriented formats [`detect`] tries, most specific first: a tie
/// goes to the earlier one.
fn candidates() -> [LogFormat; 9] {
    [
        LogFormat::Icecast2,
        LogFormat::Gandi,
        LogFormat::CommonComplete,
        LogFormat::Combined,
        LogFormat::CommonVhost,
        LogFormat::Common,
        LogFormat::S3,
        LogFormat::Elb,
        LogFormat::HaProxy,
    ]
}

/// Tells whether a line is of a format [`detect`] knows (a W3C `#Fields:`
/// header, a JSON line of a known format, a line some line-oriented format
/// reads), its parsers built once for all the lines it is asked about.
pub(crate) struct LineProbe {
    parsers: Vec<crate::parse::LineParser>,
}

impl LineProbe {
    pub(crate) fn new() -> Self {
        Self {
            parsers: candidates()
                .iter()
                .filter_map(|f| crate::parse::LineParser::new(f, None).ok())
                .collect(),
        }
    }

    pub(crate) fn readable(&mut self, line: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(line) else {
            return false;
        };
        let text = text.trim_end_matches(['\r', '\n']);
        if text.starts_with("#Fields:") || text.trim_start().starts_with('{') {
            return detect(&[line]).is_some();
        }
        self.parsers
            .iter_mut()
            .any(|p| matches!(p.parse(text.as_bytes()), crate::parse::Parsed::Line(_)))
    }
}

/// Guesses the format from the first lines of a file (at most
/// [`DETECT_LINES`] are used; an import whose first lines are of no known
/// format looks further, see [`DETECT_SCAN_LINES`]).
///
/// A `#Fields:` header means W3C (its flavour from the `#Software:` header
/// and the field names); a line starting with `{` means one of the JSON
/// formats (told apart by their keys); otherwise every line-oriented format
/// is tried and the one parsing the most lines wins, the more specific
/// format on a tie (the combined format over the common one it extends), as
/// `import_logs.py` prefers the match with the most groups.
/// (Exactly: the most specific format that reads at least half as many
/// lines as the best one, so that a few malformed lines do not demote a
/// combined log to the common format.)
pub fn detect(lines: &[&[u8]]) -> Option<LogFormat> {
    let lines: Vec<&str> = lines
        .iter()
        .take(DETECT_LINES)
        .filter_map(|l| std::str::from_utf8(l).ok())
        .map(|l| l.trim_end_matches(['\r', '\n']))
        .filter(|l| !l.trim().is_empty())
        .collect();
    if let Some(fields) = lines.iter().find_map(|l| l.strip_prefix("#Fields:")) {
        let software = lines
            .iter()
            .filter_map(|l| l.strip_prefix("#Software:"))
            .map(str::to_ascii_lowercase)
            .collect::<String>();
        let has = |f: &str| fields.split_whitespace().any(|x| x == f);
        return Some(if has("x-edge-location") || has("x-edge-request-id") {
            LogFormat::AmazonCloudFront
        } else if software.contains("incapsula") || has("cs-clapp") {
            LogFormat::IncapsulaW3c
        } else if software.contains("shoutcast") || has("c-status") || has("x-duration") {
            LogFormat::Shoutcast
        } else if software.contains("internet information services")
            || software.contains("iis")
            || has("sc-win32-status")
        {
            LogFormat::Iis
        } else {
            LogFormat::W3cExtended
        });
    }
    if let Some(first) = lines.iter().find(|l| l.trim_start().starts_with('{')) {
        // nginx's `\xHH` escapes are not JSON (see the nginx parser).
        let value: serde_json::Value = serde_json::from_str(&first.replace("\\x", "\\u00")).ok()?;
        let obj = value.as_object()?;
        let has = |k: &str| obj.contains_key(k);
        return if has("level") && has("msg") && has("time") {
            Some(LogFormat::TraefikJson)
        } else if has("request") && has("user_id") && has("resp_headers") {
            Some(LogFormat::CaddyJson)
        } else if has("referrer") && has("date") {
            Some(LogFormat::NginxJson)
        } else {
            None
        };
    }
    let mut counts: Vec<(usize, LogFormat)> = Vec::new();
    for candidate in candidates() {
        let Ok(mut parser) = crate::parse::LineParser::new(&candidate, None) else {
            continue;
        };
        let ok = lines
            .iter()
            .filter(|l| matches!(parser.parse(l.as_bytes()), crate::parse::Parsed::Line(_)))
            .count();
        counts.push((ok, candidate));
    }
    // The common format reads any combined line (extra fields are
    // ignored), so counts alone would always pick it: take the most
    // specific format reading at least half as many lines as the best.
    let max = counts.iter().map(|(n, _)| *n).max().unwrap_or(0);
    counts
        .into_iter()
        .find(|(n, _)| *n > 0 && n * 2 >= max)
        .map(|(_, f)| f)
}
