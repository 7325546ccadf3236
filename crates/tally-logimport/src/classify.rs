//! Which lines are imported, and as what: `import_logs.py`'s rules.
//!
//! Its checks run in the order it runs them (alphabetical by method name:
//! download, hostname, HTTP error, redirect, path, static, user agent), so
//! that a line is counted under the same reason as with Matomo's importer:
//! a `404` for `/logo.png` is an HTTP error, not a static file.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::LogImportError;
use crate::parse::LogLine;

/// Extensions of static resources, ignored unless `enable_static`.
pub const STATIC_EXTENSIONS: &[&str] = &[
    "bmp", "class", "css", "eot", "gif", "ico", "jpeg", "jpg", "js", "otf", "png", "svg", "svgz",
    "swf", "ttf", "webp", "woff", "woff2", "xml",
];

/// File names that are static resources whatever their extension.
pub const STATIC_FILES: &[&str] = &["robots.txt"];

/// Extensions tracked as downloads (the default of `download_extensions`).
pub const DOWNLOAD_EXTENSIONS: &[&str] = &[
    "7z", "aac", "apk", "arc", "arj", "asf", "asx", "avi", "azw3", "bin", "bz2", "csv", "deb",
    "dmg", "doc", "docx", "epub", "exe", "flac", "flv", "gz", "gzip", "hqx", "ibooks", "jar",
    "json", "md5", "mobi", "mov", "movie", "mp2", "mp3", "mp4", "mpeg", "mpg", "msi", "msp", "odb",
    "odf", "odg", "odp", "ods", "odt", "ogg", "ogv", "pdf", "phps", "ppt", "pptx", "qt", "qtm",
    "ra", "ram", "rar", "rpm", "rtf", "sea", "sig", "sit", "tar", "tbz", "tgz", "torrent", "txt",
    "wav", "webm", "wma", "wmv", "wpd", "xls", "xlsx", "xml", "xsd", "z", "zip",
];

/// Lower-case substrings of bot user agents (`import_logs.py`'s list; the
/// tracker's device detection then catches the bots it knows besides).
pub const BOT_USER_AGENTS: &[&str] = &[
    "adsbot-google",
    "ask jeeves",
    "baidubot",
    "bot-",
    "bot/",
    "ccooter/",
    "crawl",
    "curl",
    "echoping",
    "exabot",
    "feed",
    "googlebot",
    "googlestackdrivermonitoring",
    "ia_archiver",
    "java/",
    "libwww",
    "mediapartners-google",
    "msnbot",
    "netcraftsurvey",
    "panopta",
    "pingdom.com_bot_",
    "robot",
    "spider",
    "surveybot",
    "twiceler",
    "voilabot",
    "yahoo",
    "yandex",
    "zabbix",
];

/// The filtering options of an import (a subset of `import_logs.py`'s).
#[derive(Debug, Clone)]
pub struct FilterOptions {
    /// `--enable-static`: track static resources, as downloads. Default off.
    pub enable_static: bool,
    /// `--enable-bots`: track bots (with a `Bot` visit custom variable).
    /// Default off.
    pub enable_bots: bool,
    /// `--enable-http-errors`: track 4xx/5xx as page views titled
    /// `404/URL = ...`. Default off.
    pub enable_http_errors: bool,
    /// `--enable-http-redirects`: track 3xx (except 304). Default off.
    pub enable_http_redirects: bool,
    /// `--exclude-path`: glob patterns (`*`, `?`, `[...]`) of paths to skip.
    pub exclude_paths: Vec<String>,
    /// `--include-path`: when not empty, only paths matching one of these
    /// globs are imported.
    pub include_paths: Vec<String>,
    /// `--hostname`: when not empty, only lines whose host matches one of
    /// these globs are imported.
    pub hostnames: Vec<String>,
    /// `--useragent-exclude`: more user-agent substrings treated as bots
    /// (case-insensitive).
    pub useragent_exclude: Vec<String>,
    /// `--strip-query-string`: drop the query string from URLs.
    pub strip_query_string: bool,
    /// `--query-string-delimiter`. Default `?`.
    pub query_string_delimiter: String,
    /// `--download-extensions`: replaces [`DOWNLOAD_EXTENSIONS`]; other known
    /// download extensions are then skipped (counted as excluded).
    pub download_extensions: Option<Vec<String>>,
    /// `--add-download-extensions`: extensions added to the download list.
    pub add_download_extensions: Vec<String>,
    /// `--force-lowercase-path`.
    pub force_lowercase_path: bool,
    /// `--replay-tracking`: HTTP errors are kept (Matomo may have answered
    /// the original tracking request with an error).
    pub replay_tracking: bool,
}

/// Reads the globs of `--exclude-path-from` / `--include-path-from`: one
/// per line, surrounding blanks trimmed, blank lines ignored.
///
/// # Errors
/// [`LogImportError::Read`] when the file cannot be read (or is not UTF-8).
pub fn read_globs(path: &std::path::Path) -> Result<Vec<String>, LogImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| LogImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

impl Default for FilterOptions {
    fn default() -> Self {
        Self {
            enable_static: false,
            enable_bots: false,
            enable_http_errors: false,
            enable_http_redirects: false,
            exclude_paths: Vec::new(),
            include_paths: Vec::new(),
            hostnames: Vec::new(),
            useragent_exclude: Vec::new(),
            strip_query_string: false,
            query_string_delimiter: "?".to_owned(),
            download_extensions: None,
            add_download_extensions: Vec::new(),
            force_lowercase_path: false,
            replay_tracking: false,
        }
    }
}

/// Why a line is not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IgnoreReason {
    /// A static resource.
    Static,
    /// A bot, or a `--useragent-exclude` match.
    Bot,
    /// A 4xx or 5xx answer.
    HttpError,
    /// A 3xx answer other than 304.
    Redirect,
    /// `--exclude-path`, `--include-path` or `--hostname`.
    ExcludedPath,
    /// A known download extension outside `--download-extensions`.
    SkippedDownload,
    /// A host outside `--include-host` or in `--exclude-host`
    /// (`import_logs.py` counts these as filtered, like path exclusions).
    ExcludedHost,
    /// A time before `--exclude-older-than` or after
    /// `--exclude-newer-than` (`import_logs.py` counts these as filtered,
    /// like path exclusions).
    OutsideDates,
}

/// How a kept line is tracked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tracked {
    /// A download (`download=` the URL) rather than a page view.
    pub download: bool,
    /// A bot kept by `enable_bots`.
    pub bot: bool,
    /// An HTTP error kept by `enable_http_errors`.
    pub error: bool,
    /// A redirect kept by `enable_http_redirects`.
    pub redirect: bool,
}

/// The filters of [`FilterOptions`], compiled once per import.
#[derive(Debug)]
pub struct Classifier {
    opts: FilterOptions,
    downloads: HashSet<String>,
    bots: regex::Regex,
    /// [`Self::with_log_hostname`].
    log_hostname: Option<String>,
}

impl Classifier {
    /// Compiles the filters.
    ///
    /// # Errors
    /// [`LogImportError::Format`] when the user-agent list cannot be
    /// compiled (too large).
    pub fn new(opts: FilterOptions) -> Result<Self, LogImportError> {
        let mut downloads: HashSet<String> = match &opts.download_extensions {
            Some(list) => list.iter().map(|e| e.trim().to_ascii_lowercase()).collect(),
            None => DOWNLOAD_EXTENSIONS
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
        };
        downloads.extend(
            opts.add_download_extensions
                .iter()
                .map(|e| e.trim().to_ascii_lowercase()),
        );
        // One case-insensitive alternation of literals: the regex engine
        // turns it into a multi-substring search, far cheaper per line than
        // lower-casing the user agent and trying 30 `contains`.
        let pattern = BOT_USER_AGENTS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(
                opts.useragent_exclude
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned(),
            )
            .map(|s| regex::escape(&s))
            .collect::<Vec<_>>()
            .join("|");
        let bots = regex::RegexBuilder::new(&pattern)
            .case_insensitive(true)
            .build()
            .map_err(|e| LogImportError::Format {
                reason: format!("--useragent-exclude list: {e}"),
            })?;
        Ok(Self {
            opts,
            downloads,
            bots,
            log_hostname: None,
        })
    }

    /// `--log-hostname`: the host `--hostname` globs match for every line,
    /// as given (`import_logs.py` matches it, not the logged host).
    #[must_use]
    pub fn with_log_hostname(mut self, host: Option<String>) -> Self {
        self.log_hostname = host;
        self
    }

    /// The options the classifier was built from.
    pub fn options(&self) -> &FilterOptions {
        &self.opts
    }

    /// Decides on one line: imported as what, or ignored why.
    pub fn classify(&self, line: &LogLine<'_>) -> Result<Tracked, IgnoreReason> {
        let o = &self.opts;
        // `import_logs.py` lower-cases the path before any check (a copy
        // only with `--force-lowercase-path`).
        let lowered;
        let path = if o.force_lowercase_path {
            lowered = self.path_only(line).to_lowercase();
            lowered.as_str()
        } else {
            self.path_only(line)
        };
        let ext = extension(path);
        let mut t = Tracked::default();
        // check_download
        if self.downloads.contains(ext.as_str()) {
            t.download = true;
        } else if DOWNLOAD_EXTENSIONS.contains(&ext.as_str()) {
            return Err(IgnoreReason::SkippedDownload);
        }
        // check_hostname, on the host `import_logs.py` gives the hit:
        // `--log-hostname` as given, else the logged one lower-cased
        // without the dots around it.
        if !o.hostnames.is_empty()
            && let Some(host) = self
                .log_hostname
                .as_deref()
                .map(Cow::Borrowed)
                .or_else(|| line.host.as_deref().map(hit_host))
            && !o.hostnames.iter().any(|p| glob_match(p, &host))
        {
            return Err(IgnoreReason::ExcludedPath);
        }
        // check_http_error
        if matches!(line.status / 100, 4 | 5) && !o.replay_tracking {
            if !o.enable_http_errors {
                return Err(IgnoreReason::HttpError);
            }
            t.error = true;
        }
        // check_http_redirect
        if line.status / 100 == 3 && line.status != 304 {
            if !o.enable_http_redirects {
                return Err(IgnoreReason::Redirect);
            }
            t.redirect = true;
        }
        // check_path
        if o.exclude_paths.iter().any(|p| glob_match(p, path))
            || (!o.include_paths.is_empty() && !o.include_paths.iter().any(|p| glob_match(p, path)))
        {
            return Err(IgnoreReason::ExcludedPath);
        }
        // check_static
        let file = path.rsplit('/').next().unwrap_or(path);
        if STATIC_EXTENSIONS.contains(&ext.as_str()) || STATIC_FILES.contains(&file) {
            if !o.enable_static {
                return Err(IgnoreReason::Static);
            }
            t.download = true;
        }
        // check_user_agent
        if let Some(ua) = &line.user_agent
            && self.bots.is_match(ua)
        {
            if !o.enable_bots {
                return Err(IgnoreReason::Bot);
            }
            t.bot = true;
        }
        Ok(t)
    }

    /// The path without its query string (W3C logs it apart already).
    pub fn path_only<'l>(&self, line: &'l LogLine<'_>) -> &'l str {
        if line.query.is_some() {
            return &line.path;
        }
        match line.path.find(self.opts.query_string_delimiter.as_str()) {
            Some(i) if !self.opts.query_string_delimiter.is_empty() => &line.path[..i],
            _ => &line.path,
        }
    }

    /// The query string, without its delimiter (empty when none).
    pub fn query<'l>(&self, line: &'l LogLine<'_>) -> &'l str {
        if let Some(q) = &line.query {
            return q;
        }
        let d = self.opts.query_string_delimiter.as_str();
        match line.path.find(d) {
            Some(i) if !d.is_empty() => &line.path[i + d.len()..],
            _ => "",
        }
    }

    /// The path and query as they go into the tracked URL: query dropped
    /// with `strip_query_string`; with `force_lowercase_path` the path
    /// lower-cased, and the query too unless the format logs it apart (W3C
    /// `cs-uri-query`): `import_logs.py` lower-cases the logged path.
    pub fn url_path(&self, line: &LogLine<'_>) -> String {
        let path = self.path_only(line);
        let query = self.query(line);
        let mut out = String::with_capacity(path.len() + query.len() + 1);
        out.push_str(path);
        let lower = self.opts.force_lowercase_path;
        if lower {
            out = out.to_lowercase();
        }
        if !query.is_empty() && !self.opts.strip_query_string {
            out.push_str(&self.opts.query_string_delimiter);
            if lower && line.query.is_none() {
                out.push_str(&query.to_lowercase());
            } else {
                out.push_str(query);
            }
        }
        out
    }
}

/// A logged host as `import_logs.py` reads it: lower-cased, without the
/// dots around it or its quotes.
fn hit_host(host: &str) -> Cow<'_, str> {
    let host = host.trim_matches('.').trim_matches('"');
    if host.chars().any(char::is_uppercase) {
        Cow::Owned(host.to_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// What follows the last `.` of the path, lower-cased (the whole path when
/// there is none, which then matches no list, as in `import_logs.py`).
fn extension(path: &str) -> String {
    let ext = path.rsplit('.').next().unwrap_or(path);
    ext.to_ascii_lowercase()
}

/// `fnmatch`-style glob: `*` (any run, `/` included), `?` (one character),
/// `[abc]`, `[a-z]`, `[!abc]`; case-sensitive as on POSIX.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`: whether it
/// matched and the index after `]`, or `None` for an unclosed class.
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() && (first || p[i] != ']') {
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::LogTime;

    fn line(path: &str, status: u16, ua: &str) -> LogLine<'static> {
        LogLine {
            ip: Cow::Borrowed("1.2.3.4"),
            time: LogTime {
                wall: 0,
                offset: Some(0),
            },
            method: Some(Cow::Borrowed("GET")),
            path: Cow::Owned(path.to_owned()),
            query: None,
            status,
            bytes: None,
            referrer: None,
            user_agent: Some(Cow::Owned(ua.to_owned())),
            host: Some(Cow::Borrowed("example.org")),
            duration_ms: None,
            userid: None,
            groups: Vec::new(),
            event: None,
        }
    }

    fn classifier(o: FilterOptions) -> Classifier {
        match Classifier::new(o) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn importer_rules_in_order() {
        let c = classifier(FilterOptions::default());
        let ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0";
        assert_eq!(c.classify(&line("/", 200, ua)), Ok(Tracked::default()));
        assert_eq!(
            c.classify(&line("/a.css?v=1", 200, ua)),
            Err(IgnoreReason::Static)
        );
        assert_eq!(
            c.classify(&line("/robots.txt", 200, ua)),
            Err(IgnoreReason::Static)
        );
        assert_eq!(
            c.classify(&line("/logo.png", 404, ua)),
            Err(IgnoreReason::HttpError)
        );
        assert_eq!(
            c.classify(&line("/old", 301, ua)),
            Err(IgnoreReason::Redirect)
        );
        assert!(c.classify(&line("/same", 304, ua)).is_ok());
        assert_eq!(
            c.classify(&line("/", 200, "Mozilla/5.0 (compatible; Googlebot/2.1)")),
            Err(IgnoreReason::Bot)
        );
        let dl = c.classify(&line("/files/a.PDF", 200, ua));
        assert_eq!(dl.map(|t| t.download), Ok(true));
    }

    #[test]
    fn options_change_the_rules() {
        let c = classifier(FilterOptions {
            enable_static: true,
            enable_bots: true,
            enable_http_errors: true,
            download_extensions: Some(vec!["pdf".into()]),
            exclude_paths: vec!["/admin/*".into()],
            useragent_exclude: vec!["MyMonitor".into()],
            ..FilterOptions::default()
        });
        let ua = "Mozilla/5.0";
        assert_eq!(
            c.classify(&line("/a.css", 200, ua)).map(|t| t.download),
            Ok(true)
        );
        assert_eq!(
            c.classify(&line("/a.zip", 200, ua)),
            Err(IgnoreReason::SkippedDownload)
        );
        assert_eq!(
            c.classify(&line("/admin/x", 200, ua)),
            Err(IgnoreReason::ExcludedPath)
        );
        assert_eq!(c.classify(&line("/x", 500, ua)).map(|t| t.error), Ok(true));
        assert_eq!(
            c.classify(&line("/x", 200, "mymonitor 1.0")).map(|t| t.bot),
            Ok(true)
        );
    }

    #[test]
    fn urls_and_queries() {
        let c = classifier(FilterOptions {
            strip_query_string: true,
            ..FilterOptions::default()
        });
        assert_eq!(c.url_path(&line("/a?b=1", 200, "")), "/a");
        let c = classifier(FilterOptions::default());
        assert_eq!(c.url_path(&line("/a?b=1", 200, "")), "/a?b=1");
        assert_eq!(c.query(&line("/a?b=1", 200, "")), "b=1");
    }

    #[test]
    fn globs() {
        assert!(glob_match("/admin/*", "/admin/x/y"));
        assert!(glob_match("*.php", "/index.php"));
        assert!(!glob_match("*.php", "/index.html"));
        assert!(glob_match("/[a-c]?", "/bz"));
        assert!(!glob_match("/[!a-c]?", "/bz"));
        assert!(glob_match("*", ""));
    }
}
