//! Importing files: each line becomes the tracking request `import_logs.py`
//! would send, built into a tracker [`Hit`] and written by the tracker's
//! write path (a [`DirectWriter`]: same visit recognition, `log_action`
//! resolution and archive invalidation of old days as over HTTP).
//!
//! A file's life: its days are found by a first, parse-only pass and
//! registered (`queue`); lines are then imported in batches of
//! [`ImportOptions::batch_lines`]. Each batch is ONE transaction on one
//! connection holding its log rows, the file's `offset_bytes`/`lines_done`,
//! the run's summary counters and the days that became `partial`; the last
//! one also marks the file `completed` and its days `loaded` once every file
//! of the day is. A crash at any point therefore loses nothing and repeats
//! nothing: on resume the file continues after the last committed batch.
//!
//! Threads (with [`ImportOptions::recorders`] ≥ 2; with 1 everything happens
//! in turn on the calling thread): the calling thread reads, parses,
//! classifies and builds the hits of batch *k + 2*, while one writer thread
//! computes the rows of batch *k + 1* (visit recognition, names, SQL) and
//! another has the server write batch *k* and commit it. There is one such
//! pair, not one per recorder: the batches of a file must commit in order
//! (each carries the file's offset), and one visit cache must see every hit
//! for visits to be recognised across batches; it treats the batch being
//! committed as written ([`DirectWriter::prepare`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use diesel::prelude::*;
use diesel::sql_types::{Date as SqlDate, Integer, Text, Unsigned};
use tally_schema::models::{LogImportFile, NewLogImportFile, NewLogImportFileSummary};
use tally_schema::schema::{logimport_file, site};
use tally_tracking::charset::Charset;
use tally_tracking::hit::{Exclusion, Hit, RequestMeta, build_hit};
use tally_tracking::params::{RawParams, TrackingRequest};
use tally_tracking::recorder::{DirectWriter, HitResult, PreparedBatch};
use tally_tracking::referrer::ReferrerDefinitions;
use tally_tracking::site::{ConfiguredLists, Globals, SiteSettings, Snapshot, load_snapshot};
use time::{Date, PrimitiveDateTime};

use crate::LogImportError;
use crate::classify::{Classifier, FilterOptions, IgnoreReason, Tracked};
use crate::format::{self, LogFormat};
use crate::input::{self, LineReader};
use crate::parse::{LineParser, LogLine, LogTimeZone, ParseOptions, Parsed};

/// How lines find their site.
#[derive(Debug, Clone)]
pub enum SiteSelection {
    /// `--idsite`: every line goes to this site.
    Id(u32),
    /// By the line's host (or `log_hostname`), matched against the sites'
    /// main and alias URLs.
    ByHost {
        /// `--add-sites-new-hosts`: create a site for an unknown host.
        add_new_hosts: bool,
        /// `--idsite-fallback`: the site of unknown hosts.
        fallback: Option<u32>,
    },
}

/// The options of an import, named after `import_logs.py`'s.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Where lines go. Default: by host, no site creation, no fallback.
    pub site: SiteSelection,
    /// `--log-format-name` / `--log-format-regex`; `None` detects the format
    /// of each file from its first lines (default).
    pub format: Option<LogFormat>,
    /// `--w3c-fields`: the field list of W3C files without a `#Fields:` line.
    pub w3c_fields: Option<String>,
    /// What is imported and how URLs are built.
    pub filters: FilterOptions,
    /// The time zone of lines that state no offset (default UTC).
    pub log_timezone: LogTimeZone,
    /// `--log-hostname`: the host of every line.
    pub log_hostname: Option<String>,
    /// `--recorders` (default 2): 1 parses and writes in turn on the
    /// calling thread; 2 or more parse batch *k + 2* while the rows of
    /// *k + 1* are computed and *k* commits (see the module docs). Batches
    /// always commit one at a time, in order, so that each commits with
    /// the file's progress; values above 2 act as 2.
    pub recorders: usize,
    /// Lines per committed batch (default [`BATCH_LINES`]): the most work
    /// a crash can make the resumed import read again.
    pub batch_lines: usize,
    /// A table with at least this many new rows in a batch is loaded from a
    /// file rather than inserted (`tally_tracking::load`; default 100, so
    /// every full batch is); `None`: always inserted. Where the database
    /// refuses local files, rows are inserted whatever this says.
    pub load_data_min_rows: Option<usize>,
    /// `--dry-run`: parse, classify and build hits, write nothing.
    pub dry_run: bool,
    /// `--replay-tracking`: lines that are requests to `matomo.php` or
    /// `piwik.php` are replayed with their own parameters; other lines
    /// are invalid.
    pub replay_tracking: bool,
    /// `--resume`: continue partly imported files (without it they are an
    /// error). Completed files are always skipped.
    pub resume: bool,
    /// `--title-category-delimiter` of HTTP error and redirect titles
    /// (default `/`).
    pub title_category_delimiter: String,
    /// Stop each file after this many batches, leaving it `partial`
    /// (`--debug-request-limit` in spirit; tests use it to interrupt).
    pub max_batches: Option<u64>,
    /// Line errors listed per file in the report (default 1,000); all are
    /// counted.
    pub max_listed_errors: usize,
    /// `--exclude-older-than`: lines before this instant (after
    /// [`Self::seconds_to_add_to_date`]) are not imported; counted in
    /// [`Counts::ignored_excluded`]. The instant itself is kept.
    pub exclude_older_than: Option<time::OffsetDateTime>,
    /// `--exclude-newer-than`: lines after this instant are not imported;
    /// counted in [`Counts::ignored_excluded`]. The instant itself is kept.
    pub exclude_newer_than: Option<time::OffsetDateTime>,
    /// `--add-to-date`: seconds added to every line's time (negative to
    /// go back), e.g. to correct a server clock; also to the visitor
    /// timestamps (`_idts`, `_viewts`, `_ects`, `_refts`) of replayed
    /// tracking requests. Default 0.
    pub seconds_to_add_to_date: i64,
    /// `--skip`: the first lines of each file (by line number, header and
    /// blank lines included) are passed over: neither imported nor
    /// counted. W3C `#Fields:` headers among them are still read. A
    /// resumed file continues after its committed line as usual. Default 0.
    pub skip: u64,
    /// `--w3c-map-field`: (custom W3C field, known field) pairs, see
    /// [`ParseOptions::w3c_map_fields`].
    pub w3c_map_fields: Vec<(String, String)>,
    /// `--w3c-time-taken-millisecs`: W3C `time-taken` is in milliseconds
    /// (it becomes the page's server time, `pf_srv`). IIS logs always are.
    pub w3c_time_taken_millisecs: bool,
    /// `--w3c-field-regex`: (W3C field, regex with named groups) pairs, see
    /// [`ParseOptions::w3c_field_regexes`].
    pub w3c_field_regexes: Vec<(String, String)>,
    /// `--regex-group-to-visit-cvar`: (group, custom variable name) pairs:
    /// the group's value is tracked as a visit-scope custom variable
    /// (`_cvar`), in slots 1, 2, ... in this order (the `Bot` variable of
    /// `--enable-bots` follows). A line without the group (or with `-`)
    /// has no such variable. A replayed tracking request gets them only
    /// if it has no `_cvar` of its own, as in `import_logs.py`.
    pub regex_group_to_visit_cvars: Vec<(String, String)>,
    /// `--regex-group-to-page-cvar`: as the visit ones, page scope
    /// (`cvar`); the `HTTP-code` variable follows them.
    pub regex_group_to_page_cvars: Vec<(String, String)>,
    /// `--ignore-groups`: fields read as if the format had none, see
    /// [`ParseOptions::ignore_groups`].
    pub ignore_groups: Vec<String>,
    /// `--encoding`: the charset of the log files (default UTF-8); see
    /// [`input::charset`] for the ones supported.
    pub encoding: Charset,
    /// `--track-http-method`: the request's HTTP method (`GET`, `POST`,
    /// ...) is tracked as the page custom variable `HTTP-method`, in the
    /// slot after the `--regex-group-to-page-cvar` ones and before
    /// `HTTP-code`. Lines whose format logs no method (or `-`, or with
    /// `method` in [`Self::ignore_groups`]) have none. A replayed tracking
    /// request gets it only if it has no `cvar` of its own. Default off.
    pub track_http_method: bool,
    /// `--include-host`: when not empty, only lines whose host is one of
    /// these are imported; the others are counted in
    /// [`Counts::ignored_excluded`]. Hosts are compared whole, without
    /// case or port (see [`normalize_host`]). The host is
    /// [`Self::log_hostname`], else the line's, else the one of an
    /// absolute request URL; a line with none is kept, as in
    /// `import_logs.py`.
    pub include_hosts: Vec<String>,
    /// `--exclude-host`: lines whose host is one of these are not
    /// imported (counted in [`Counts::ignored_excluded`]); compared as
    /// [`Self::include_hosts`].
    pub exclude_hosts: Vec<String>,
    /// `--replay-tracking-expected-tracker-file`: with
    /// [`Self::replay_tracking`], only requests whose path ends with this
    /// (case-insensitively) are replayed, e.g. `js/tracker.php` for a
    /// renamed tracker. `None` (default): `matomo.php` or `piwik.php`.
    pub replay_tracking_expected_tracker_file: Option<String>,
    /// `--request-suffix`: query-string parameters added to every tracked
    /// request, replayed ones included, e.g. `bots=1&lang=de`; a parameter
    /// the request already has is replaced, as the later of two duplicates
    /// in a query string wins. See [`parse_request_suffix`].
    pub request_suffix: Option<String>,
    /// The tracker's configured lists (`[tracker] exclude_requests` and
    /// `referrer_spam_list`, see [`ConfiguredLists::from_config`]), applied
    /// to imported lines as the tracker applies them to requests. `None`
    /// (default): the built-in spam list and no request exclusions.
    pub lists: Option<ConfiguredLists>,
}

/// Lines per committed batch by default. A visit whose hits fall in two
/// batches is written twice (inserted, then updated), and each batch costs
/// its reads and a commit: 10,000 lines imported a 1,000,000-line log
/// 15–20% faster than 5,000 (docs/PERFORMANCE.md, session 17).
pub const BATCH_LINES: usize = 10_000;

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            site: SiteSelection::ByHost {
                add_new_hosts: false,
                fallback: None,
            },
            format: None,
            w3c_fields: None,
            filters: FilterOptions::default(),
            log_timezone: LogTimeZone::Utc,
            log_hostname: None,
            recorders: 2,
            batch_lines: BATCH_LINES,
            load_data_min_rows: Some(tally_tracking::load::LOAD_MIN_ROWS),
            dry_run: false,
            replay_tracking: false,
            resume: false,
            title_category_delimiter: "/".to_owned(),
            max_batches: None,
            max_listed_errors: 1_000,
            exclude_older_than: None,
            exclude_newer_than: None,
            seconds_to_add_to_date: 0,
            skip: 0,
            w3c_map_fields: Vec::new(),
            w3c_time_taken_millisecs: false,
            w3c_field_regexes: Vec::new(),
            regex_group_to_visit_cvars: Vec::new(),
            regex_group_to_page_cvars: Vec::new(),
            ignore_groups: Vec::new(),
            encoding: Charset::Utf8,
            track_http_method: false,
            include_hosts: Vec::new(),
            exclude_hosts: Vec::new(),
            replay_tracking_expected_tracker_file: None,
            request_suffix: None,
            lists: None,
        }
    }
}

impl ImportOptions {
    /// How the import's parsers read lines: the W3C options, the groups of
    /// the custom-variable options and the ignored groups.
    pub fn parse_options(&self) -> ParseOptions {
        let mut groups: Vec<String> = Vec::new();
        for (group, _) in self
            .regex_group_to_visit_cvars
            .iter()
            .chain(&self.regex_group_to_page_cvars)
        {
            if !groups.contains(group) {
                groups.push(group.clone());
            }
        }
        ParseOptions {
            w3c_fields: self.w3c_fields.clone(),
            w3c_map_fields: self.w3c_map_fields.clone(),
            w3c_time_taken_millisecs: self.w3c_time_taken_millisecs,
            w3c_field_regexes: self.w3c_field_regexes.clone(),
            groups,
            ignore_groups: self.ignore_groups.clone(),
        }
    }
}

/// Line counts of one import run of a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lines read (the lines passed over by [`ImportOptions::skip`] not
    /// counted); each is counted in exactly one of the fields below.
    /// Blank lines and `#` headers or comments count as read and invalid
    /// (not listed in [`FileReport::errors`]), as `import_logs.py` counts
    /// them, except, as there, the W3C header lines up to the first
    /// `#Fields:` of a file whose format is given (`import_logs.py` reads
    /// them apart then).
    pub lines_parsed: u64,
    /// Lines recorded.
    pub imported: u64,
    /// Static resources.
    pub ignored_static: u64,
    /// Bots (the importer's list, `--useragent-exclude`, or the tracker's
    /// device detection).
    pub ignored_bots: u64,
    /// 4xx and 5xx.
    pub ignored_http_errors: u64,
    /// 3xx other than 304.
    pub ignored_redirects: u64,
    /// Path, host (`--hostname`, `--include-host`, `--exclude-host`),
    /// download-extension exclusions, times outside
    /// `exclude_older_than`/`exclude_newer_than`, lines of no known site,
    /// and the tracker's own exclusions (excluded IPs, user agents, unknown
    /// URLs).
    pub ignored_excluded: u64,
    /// Lines that cannot be read (format, date, UTF-8, length).
    pub ignored_invalid: u64,
    /// Lines the tracker refused or failed to record, and read errors.
    pub errors: u64,
    /// Of the imported lines, downloads.
    pub downloads: u64,
}

impl Counts {
    fn ignore(&mut self, reason: IgnoreReason) {
        match reason {
            IgnoreReason::Static => self.ignored_static += 1,
            IgnoreReason::Bot => self.ignored_bots += 1,
            IgnoreReason::HttpError => self.ignored_http_errors += 1,
            IgnoreReason::Redirect => self.ignored_redirects += 1,
            _ => self.ignored_excluded += 1,
        }
    }
}

/// A line that was not imported because of an error, by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the (decompressed) file.
    pub line: u64,
    /// What went wrong.
    pub reason: String,
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOutcome {
    /// Imported to its end (now `completed`).
    Completed,
    /// Already `completed` by an earlier run (same content hash): skipped.
    AlreadyCompleted,
    /// Stopped after [`ImportOptions::max_batches`]; it stays `partial`.
    Stopped,
    /// `dry_run`: nothing written.
    DryRun,
}

/// The result of importing one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The path given (`-` for standard input).
    pub path: PathBuf,
    /// Its `logimport_file` row (`None` in a dry run).
    pub idfile: Option<u64>,
    /// The format used.
    pub format: String,
    /// What happened.
    pub outcome: FileOutcome,
    /// Lines of this run (a resumed file counts from where it resumed).
    pub counts: Counts,
    /// Invalid and failed lines, the first [`ImportOptions::max_listed_errors`].
    pub errors: Vec<LineError>,
    /// The line the run started after (0, or the committed line of a
    /// resumed file).
    pub resumed_at_line: u64,
}

/// The result of [`import_files`].
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// One per file, in the order given.
    pub files: Vec<FileReport>,
    /// Wall-clock seconds.
    pub elapsed_secs: f64,
}

/// Progress of the file being imported, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The file.
    pub path: &'a Path,
    /// Lines read in this run.
    pub lines: u64,
    /// Lines recorded in this run.
    pub imported: u64,
    /// Bytes read (decompressed), from the start of the file.
    pub offset_bytes: u64,
}

/// Imports `paths` (`-` is standard input) in order.
///
/// A file whose content hash is known as `completed` is skipped; one known
/// as `partial` continues where it stopped when `opts.resume` is set.
/// Malformed lines are counted and listed with their line numbers; they
/// never stop an import.
///
/// # Errors
/// A file that cannot be opened, an undetectable format, an unknown site,
/// a partial file without `resume`, or a database error: the files before it
/// are imported, the failing one stays resumable.
pub fn import_files(
    pool: &tally_db::DbPool,
    paths: &[PathBuf],
    opts: &ImportOptions,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ImportReport, LogImportError> {
    let started = Instant::now();
    let mut ctx = Context::new(pool, opts)?;
    let mut report = ImportReport::default();
    for path in paths {
        let file = if path.as_os_str() == "-" {
            let spooled = input::Spooled::stdin()?;
            let r = ctx.import_file(path, spooled.path(), on_progress);
            drop(spooled);
            r?
        } else {
            ctx.import_file(path, path, on_progress)?
        };
        report.files.push(file);
    }
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

fn now() -> PrimitiveDateTime {
    let t = time::OffsetDateTime::now_utc();
    PrimitiveDateTime::new(t.date(), t.time().replace_nanosecond(0).unwrap_or(t.time()))
}

struct Context<'o> {
    pool: tally_db::DbPool,
    opts: &'o ImportOptions,
    classifier: Classifier,
    snapshot: Arc<Snapshot>,
    main_urls: HashMap<u32, String>,
    hosts: HashMap<String, Option<u32>>,
    /// `None` in a dry run.
    writer: Option<DirectWriter>,
    parse: ParseOptions,
    /// `--regex-group-to-visit-cvar`: (index in `LogLine::groups`, name).
    visit_cvars: Vec<(usize, String)>,
    /// `--regex-group-to-page-cvar`: likewise.
    page_cvars: Vec<(usize, String)>,
    /// The exclusion bounds as unix times.
    older_than: Option<i64>,
    newer_than: Option<i64>,
    /// `--include-host` / `--exclude-host`, normalized.
    include_hosts: Vec<String>,
    exclude_hosts: Vec<String>,
    /// `--replay-tracking-expected-tracker-file`, lower-cased.
    tracker_file: Option<String>,
    /// `--request-suffix`, parsed.
    suffix: Vec<(String, String)>,
}

/// A line ready to record.
struct Pending {
    line: u64,
    hit: Hit,
}

impl<'o> Context<'o> {
    fn new(pool: &tally_db::DbPool, opts: &'o ImportOptions) -> Result<Self, LogImportError> {
        let mut filters = opts.filters.clone();
        filters.replay_tracking |= opts.replay_tracking;
        let classifier = Classifier::new(filters)?.with_log_hostname(opts.log_hostname.clone());
        // Bad parse options fail here, before any file is touched.
        let parse = opts.parse_options();
        parse.validate()?;
        let slots = |pairs: &[(String, String)]| -> Vec<(usize, String)> {
            pairs
                .iter()
                .filter_map(|(group, name)| {
                    let i = parse.groups.iter().position(|g| g == group)?;
                    Some((i, name.clone()))
                })
                .collect()
        };
        let visit_cvars = slots(&opts.regex_group_to_visit_cvars);
        let page_cvars = slots(&opts.regex_group_to_page_cvars);
        let hosts = |option, list: &[String]| -> Result<Vec<String>, LogImportError> {
            list.iter().map(|h| normalize_host(option, h)).collect()
        };
        let include_hosts = hosts("--include-host", &opts.include_hosts)?;
        let exclude_hosts = hosts("--exclude-host", &opts.exclude_hosts)?;
        let tracker_file = opts
            .replay_tracking_expected_tracker_file
            .as_deref()
            .map(normalize_tracker_file)
            .transpose()?;
        let suffix = match &opts.request_suffix {
            Some(s) => parse_request_suffix(s)?,
            None => Vec::new(),
        };
        let mut conn = pool.get()?;
        let snapshot = Arc::new(with_lists(load_snapshot(&mut conn)?, opts));
        let main_urls = load_main_urls(&mut conn)?;
        drop(conn);
        if let SiteSelection::Id(id) = opts.site
            && !snapshot.sites.contains_key(&id)
        {
            return Err(LogImportError::UnknownSite { idsite: id });
        }
        let writer = (!opts.dry_run).then(|| {
            DirectWriter::new(
                tally_tracking::recorder::RecorderConfig::default().cache_visits,
                Arc::new(ReferrerDefinitions::builtin().clone()),
            )
            .with_load_min_rows(opts.load_data_min_rows)
        });
        Ok(Self {
            pool: pool.clone(),
            opts,
            classifier,
            snapshot,
            main_urls,
            hosts: HashMap::new(),
            writer,
            parse,
            visit_cvars,
            page_cvars,
            older_than: opts
                .exclude_older_than
                .map(time::OffsetDateTime::unix_timestamp),
            newer_than: opts
                .exclude_newer_than
                .map(time::OffsetDateTime::unix_timestamp),
            include_hosts,
            exclude_hosts,
            tracker_file,
            suffix,
        })
    }

    /// `--include-host` / `--exclude-host`: whether the line's host keeps
    /// it out. A line without a host is kept (`import_logs.py` only
    /// filters the hosts it knows).
    fn host_filtered(&self, line: &LogLine<'_>) -> bool {
        if self.include_hosts.is_empty() && self.exclude_hosts.is_empty() {
            return false;
        }
        let Some(host) = self.host_of(line).or_else(|| url_host(&line.path)) else {
            return false;
        };
        let host = crate::parse::strip_port(&host);
        if host.is_empty() {
            return false;
        }
        self.exclude_hosts.iter().any(|h| h == host)
            || (!self.include_hosts.is_empty() && !self.include_hosts.iter().any(|h| h == host))
    }

    /// A line's unix time, shifted by `seconds_to_add_to_date`.
    fn time_of(&self, line: &LogLine<'_>) -> i64 {
        line.time
            .unix(&self.opts.log_timezone)
            .saturating_add(self.opts.seconds_to_add_to_date)
    }

    /// Whether a time is outside `exclude_older_than`/`exclude_newer_than`
    /// (both exclusive: the bound itself is imported).
    fn outside_dates(&self, unix: i64) -> bool {
        self.older_than.is_some_and(|t| unix < t) || self.newer_than.is_some_and(|t| unix > t)
    }

    fn reload_sites(&mut self) -> Result<(), LogImportError> {
        let mut conn = self.pool.get()?;
        self.snapshot = Arc::new(with_lists(load_snapshot(&mut conn)?, self.opts));
        self.main_urls = load_main_urls(&mut conn)?;
        self.hosts.clear();
        Ok(())
    }

    /// The host a line is attributed to (`--log-hostname`, else the
    /// line's, lower-cased without trailing dots).
    fn host_of(&self, line: &LogLine<'_>) -> Option<String> {
        if let Some(h) = &self.opts.log_hostname {
            return Some(h.to_ascii_lowercase());
        }
        line.host
            .as_ref()
            .map(|h| h.trim_matches('"').trim_matches('.').to_ascii_lowercase())
    }

    /// The site of a line, creating it for a new host when asked to.
    fn site_of(
        &mut self,
        line: &LogLine<'_>,
        replay_idsite: Option<u32>,
    ) -> Result<Option<u32>, LogImportError> {
        let (add_new_hosts, fallback) = match self.opts.site {
            // Also over a replayed request's own `idsite`, as
            // `import_logs.py`'s static resolver replaces it: one log of
            // tracking requests can be replayed into another site.
            SiteSelection::Id(id) => return Ok(Some(id)),
            SiteSelection::ByHost {
                add_new_hosts,
                fallback,
            } => (add_new_hosts, fallback),
        };
        if let Some(id) = replay_idsite {
            return Ok(self.snapshot.sites.contains_key(&id).then_some(id));
        }
        let host = self
            .host_of(line)
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| "no-hostname-found-in-log".to_owned());
        if let Some(known) = self.hosts.get(&host) {
            return Ok(*known);
        }
        let found = tally_tracking::php::parse_url(&format!("http://{host}/")).and_then(|u| {
            self.snapshot
                .globals
                .site_urls
                .matching(&u)
                .and_then(|(ids, _)| ids.iter().min().copied())
        });
        let id = match found {
            Some(id) => Some(id),
            None if fallback.is_some() => fallback,
            None if add_new_hosts && !self.opts.dry_run => {
                let mut conn = self.pool.get()?;
                let id = add_site(&mut conn, &host)?;
                tracing::info!(site.id = id, host = %host, "created a site for a new host");
                self.reload_sites()?;
                Some(id)
            }
            None => None,
        };
        self.hosts.insert(host, id);
        Ok(id)
    }

    fn site(&self, id: u32) -> Option<&Arc<SiteSettings>> {
        self.snapshot.sites.get(&id)
    }

    fn import_file(
        &mut self,
        shown: &Path,
        real: &Path,
        on_progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<FileReport, LogImportError> {
        let hash = input::content_hash(real)?;
        let size = std::fs::metadata(real)
            .map_err(|source| LogImportError::Read {
                path: shown.to_owned(),
                source,
            })?
            .len();
        let existing: Option<LogImportFile> = if self.opts.dry_run {
            None
        } else {
            let mut conn = self.pool.get()?;
            logimport_file::table
                .filter(logimport_file::content_hash.eq(&hash[..]))
                .select(LogImportFile::as_select())
                .first(&mut conn)
                .optional()?
        };
        let format = match (&self.opts.format, &existing) {
            (Some(f), _) => f.clone(),
            (None, Some(row)) if row.log_format.as_deref().is_some_and(|n| n != "regex") => {
                LogFormat::from_name(row.log_format.as_deref().unwrap_or_default())?
            }
            _ => detect_file(shown, real, self.opts.encoding)?,
        };
        let mut report = FileReport {
            path: shown.to_owned(),
            idfile: existing.as_ref().map(|r| r.idfile),
            format: format.name().to_owned(),
            outcome: FileOutcome::Completed,
            counts: Counts::default(),
            errors: Vec::new(),
            resumed_at_line: 0,
        };
        if let Some(row) = &existing {
            if row.status == "completed" {
                tracing::info!(path = %shown.display(), file.id = row.idfile, "already imported, skipped");
                report.outcome = FileOutcome::AlreadyCompleted;
                return Ok(report);
            }
            if !self.opts.resume {
                return Err(LogImportError::NeedsResume {
                    path: shown.to_owned(),
                    lines_done: row.lines_done,
                });
            }
        }
        if matches!(self.opts.site, SiteSelection::ByHost { .. })
            && !self.opts.replay_tracking
            && self.opts.log_hostname.is_none()
            && !format.has_host()
        {
            return Err(LogImportError::NoHost {
                path: shown.to_owned(),
                format: format.name().to_owned(),
            });
        }

        // Pass 1: the (site, day) pairs of the file, from the lines that
        // will be imported.
        let days = self.scan_days(shown, real, &format)?;

        let (idfile, resume_from) = if self.opts.dry_run {
            (None, (0, 0))
        } else if let Some(row) = &existing {
            (Some(row.idfile), (row.lines_done, row.offset_bytes))
        } else {
            let mut conn = self.pool.get()?;
            let id = register_file(
                &mut conn,
                shown,
                &hash,
                size,
                &self.opts.site,
                &format,
                &days,
            )?;
            (Some(id), (0, 0))
        };
        report.idfile = idfile;
        report.resumed_at_line = resume_from.0;
        let idsummary = match idfile {
            Some(id) => Some(insert_summary(&mut *self.pool.get()?, id)?),
            None => None,
        };

        // Pass 2: the import, batches committed by `sink` (on a writer
        // thread when asked for).
        let ids = idfile.zip(idsummary);
        let live = Arc::new(AtomicU64::new(0));
        let mut sink = Sink {
            writer: self.writer.take(),
            pool: self.pool.clone(),
            path: shown.to_owned(),
            committed: Committed {
                max_listed_errors: self.opts.max_listed_errors,
                imported: 0,
                errors: 0,
                listed: Vec::new(),
                live: live.clone(),
            },
        };
        let threaded = self.opts.recorders >= 2 && sink.writer.is_some();
        let produced = if threaded {
            std::thread::scope(|scope| {
                let (tx, rx) = mpsc::sync_channel::<Batch>(1);
                // A rendezvous: the first stage computes one batch ahead of
                // the commits, no more.
                let (staged_tx, staged_rx) = mpsc::sync_channel::<Staged>(0);
                let Sink {
                    writer,
                    pool,
                    path,
                    committed,
                } = &mut sink;
                let (pool, path) = (&*pool, &*path);
                let spawn_failed = |source| LogImportError::Read {
                    path: PathBuf::from("(writer thread)"),
                    source,
                };
                let preparer = std::thread::Builder::new()
                    .name("tally-logimport-rows".to_owned())
                    .spawn_scoped(scope, move || {
                        for batch in rx {
                            let staged = stage(writer.as_mut(), pool, path, batch)?;
                            if staged_tx.send(staged).is_err() {
                                // The committing thread stopped on an
                                // error, which the join below reports.
                                break;
                            }
                        }
                        Ok::<_, LogImportError>(())
                    })
                    .map_err(spawn_failed)?;
                let committer = std::thread::Builder::new()
                    .name("tally-logimport-writer".to_owned())
                    .spawn_scoped(scope, move || {
                        for staged in staged_rx {
                            finish(committed, pool, path, staged)?;
                        }
                        Ok::<_, LogImportError>(())
                    })
                    .map_err(spawn_failed)?;
                let mut send = |b: Batch| tx.send(b).map_err(|_| LogImportError::WriterStopped);
                let produced = self.produce(
                    shown,
                    real,
                    &format,
                    resume_from,
                    &days,
                    ids,
                    &mut report,
                    &live,
                    on_progress,
                    &mut send,
                );
                drop(tx);
                // The writers' errors are the cause of a failed send: first.
                // Of those, the first stage's: after it fails, the writer
                // refuses the batch the second stage holds, and that
                // refusal is only a consequence. The second stage failing
                // first stops the first stage without an error.
                let join = |handle: std::thread::ScopedJoinHandle<'_, _>| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                };
                let (prepared, committed) = (join(preparer), join(committer));
                prepared?;
                committed?;
                produced
            })
        } else {
            let mut send = |b: Batch| sink.commit(b);
            self.produce(
                shown,
                real,
                &format,
                resume_from,
                &days,
                ids,
                &mut report,
                &live,
                on_progress,
                &mut send,
            )
        };
        self.writer = sink.writer.take();
        report.counts.imported += sink.committed.imported;
        report.counts.errors += sink.committed.errors;
        if !sink.committed.listed.is_empty() {
            report.errors.append(&mut sink.committed.listed);
            report.errors.sort_by_key(|e| e.line);
            report.errors.truncate(self.opts.max_listed_errors);
        }
        let stopped = produced?;
        if let Some((_, idsummary)) = ids {
            finish_summary(&mut *self.pool.get()?, idsummary)?;
        }
        report.outcome = if stopped {
            FileOutcome::Stopped
        } else if ids.is_none() {
            FileOutcome::DryRun
        } else {
            FileOutcome::Completed
        };
        Ok(report)
    }

    /// Pass 2 on the calling thread: reads the file after `resume_from`
    /// (line, offset), builds the hits and hands each batch, with the
    /// file's progress at its end, to `send`. Returns whether it stopped
    /// at [`ImportOptions::max_batches`].
    #[expect(clippy::too_many_arguments, reason = "the state of one file's import")]
    fn produce(
        &mut self,
        shown: &Path,
        real: &Path,
        format: &LogFormat,
        resume_from: (u64, u64),
        days: &BTreeSet<(u32, Date)>,
        ids: Option<(u64, u64)>,
        report: &mut FileReport,
        live: &AtomicU64,
        on_progress: &mut dyn FnMut(Progress<'_>),
        send: &mut dyn FnMut(Batch) -> Result<(), LogImportError>,
    ) -> Result<bool, LogImportError> {
        let mut parser = LineParser::with_options(format, &self.parse)?;
        let mut reader = LineReader::new(input::open(real)?);
        let is_w3c = format.is_w3c();
        // See `Counts::lines_parsed`.
        let mut w3c_header_uncounted =
            is_w3c && self.opts.format.is_some() && self.opts.w3c_fields.is_none();
        let mut decode_buf = String::new();
        let batch_lines = self.opts.batch_lines.max(1) as u64;
        let mut batch: Vec<Pending> = Vec::new();
        let mut in_batch = 0u64;
        let mut batches = 0u64;
        let mut touched: BTreeSet<(u32, Date)> = BTreeSet::new();
        let mut new_touched: Vec<(u32, Date)> = Vec::new();
        let mut last_line = 0u64;
        let mut read_error: Option<LineError> = None;
        loop {
            let raw = match reader.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    // A truncated or corrupt compressed file: what came
                    // before is imported, the rest cannot be read again.
                    read_error = Some(LineError {
                        line: reader.line_number() + 1,
                        reason: format!("read error, rest of file skipped: {e}"),
                    });
                    break;
                }
            };
            let number = raw.number;
            last_line = number;
            if number <= resume_from.0 {
                // Already committed: only W3C headers matter (the field
                // list); nothing else is even parsed.
                if is_w3c && let Some(b) = raw.bytes.filter(|b| b.starts_with(b"#")) {
                    let _ = parser.parse(b);
                }
                if number == resume_from.0 && reader.offset() != resume_from.1 {
                    return Err(LogImportError::FileChanged {
                        path: shown.to_owned(),
                        line: number,
                        offset: resume_from.1,
                    });
                }
                continue;
            }
            if number <= self.opts.skip {
                // `--skip`: passed over uncounted, but a W3C field list
                // still applies to the lines after it.
                if is_w3c && let Some(b) = raw.bytes.filter(|b| b.starts_with(b"#")) {
                    let _ = parser.parse(b);
                }
                continue;
            }
            let Some(bytes) = raw.bytes else {
                report.counts.lines_parsed += 1;
                report.counts.ignored_invalid += 1;
                push_error(report, self.opts, number, "line too long".to_owned());
                in_batch += 1;
                continue;
            };
            let parsed = match input::decoded(self.opts.encoding, bytes, &mut decode_buf) {
                Some(b) => parser.parse(b),
                None => Parsed::Invalid(crate::parse::Invalid::Encoding),
            };
            in_batch += 1;
            let uncounted = w3c_header_uncounted && matches!(parsed, Parsed::Skip);
            if w3c_header_uncounted && (!uncounted || bytes.starts_with(b"#Fields:")) {
                w3c_header_uncounted = false;
            }
            match parsed {
                Parsed::Skip if uncounted => {}
                Parsed::Skip => {
                    report.counts.lines_parsed += 1;
                    report.counts.ignored_invalid += 1;
                }
                Parsed::Invalid(why) => {
                    report.counts.lines_parsed += 1;
                    report.counts.ignored_invalid += 1;
                    push_error(report, self.opts, number, why.describe().to_owned());
                }
                Parsed::Line(line) => {
                    report.counts.lines_parsed += 1;
                    match self.hit_for(&line) {
                        Ok(HitOutcome::Hit(hit, tracked)) => {
                            let day = (hit.site.idsite, hit.site.timezone.local_date(hit.time));
                            if touched.insert(day) {
                                new_touched.push(day);
                            }
                            if tracked.download {
                                report.counts.downloads += 1;
                            }
                            batch.push(Pending {
                                line: number,
                                hit: *hit,
                            });
                        }
                        Ok(HitOutcome::Ignored(reason)) => report.counts.ignore(reason),
                        Ok(HitOutcome::Excluded(Exclusion::Bot)) => {
                            report.counts.ignored_bots += 1;
                        }
                        Ok(HitOutcome::Excluded(_)) => report.counts.ignored_excluded += 1,
                        Ok(HitOutcome::Invalid(reason)) => {
                            report.counts.ignored_invalid += 1;
                            push_error(report, self.opts, number, reason);
                        }
                        Err(reason) => {
                            report.counts.errors += 1;
                            push_error(report, self.opts, number, reason);
                        }
                    }
                }
            }
            if in_batch >= batch_lines {
                send(Batch {
                    hits: std::mem::take(&mut batch),
                    globals: self.snapshot.globals.clone(),
                    progress: ids.map(|(idfile, idsummary)| BatchProgress {
                        idfile,
                        idsummary,
                        offset: reader.offset(),
                        lines_done: number,
                        counts: report.counts,
                        new_days: std::mem::take(&mut new_touched),
                        completed_days: None,
                    }),
                })?;
                in_batch = 0;
                batches += 1;
                on_progress(Progress {
                    path: shown,
                    lines: report.counts.lines_parsed,
                    imported: live.load(Ordering::Relaxed),
                    offset_bytes: reader.offset(),
                });
                if self.opts.max_batches.is_some_and(|m| batches >= m) {
                    return Ok(true);
                }
            }
        }
        if let Some(e) = read_error {
            report.counts.errors += 1;
            let (line, reason) = (e.line, e.reason);
            push_error(report, self.opts, line, reason);
        }
        send(Batch {
            hits: batch,
            globals: self.snapshot.globals.clone(),
            progress: ids.map(|(idfile, idsummary)| BatchProgress {
                idfile,
                idsummary,
                offset: reader.offset(),
                lines_done: last_line.max(resume_from.0),
                counts: report.counts,
                new_days: new_touched,
                completed_days: Some(days.clone()),
            }),
        })?;
        on_progress(Progress {
            path: shown,
            lines: report.counts.lines_parsed,
            imported: live.load(Ordering::Relaxed),
            offset_bytes: reader.offset(),
        });
        Ok(false)
    }
    /// Pass 1: every (site, site-local day) the file's importable lines
    /// fall on (sites for new hosts are created here).
    fn scan_days(
        &mut self,
        shown: &Path,
        real: &Path,
        format: &LogFormat,
    ) -> Result<BTreeSet<(u32, Date)>, LogImportError> {
        let mut parser = LineParser::with_options(format, &self.parse)?;
        let mut reader = LineReader::new(input::open(real)?);
        let mut days = BTreeSet::new();
        let mut decode_buf = String::new();
        loop {
            let raw = match reader.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(path = %shown.display(), error = %e, "read error while scanning for days");
                    break;
                }
            };
            let Some(bytes) = raw.bytes else { continue };
            if raw.number <= self.opts.skip {
                if bytes.starts_with(b"#") {
                    let _ = parser.parse(bytes);
                }
                continue;
            }
            let Some(bytes) = input::decoded(self.opts.encoding, bytes, &mut decode_buf) else {
                continue;
            };
            let Parsed::Line(line) = parser.parse(bytes) else {
                continue;
            };
            if self.classifier.classify(&line).is_err() || self.host_filtered(&line) {
                continue;
            }
            let unix = self.time_of(&line);
            if self.outside_dates(unix) {
                continue;
            }
            let replay_idsite = if self.opts.replay_tracking {
                match replay_params(&self.classifier, &line, 0, self.tracker_file.as_deref()) {
                    Some((_, id)) => Some(id),
                    None => continue,
                }
            } else {
                None
            };
            let Some(id) = self.site_of(&line, replay_idsite)? else {
                continue;
            };
            if let Some(site) = self.site(id) {
                days.insert((id, site.timezone.local_date(unix)));
            }
        }
        Ok(days)
    }

    /// One line to a hit, or why not.
    fn hit_for(&mut self, line: &LogLine<'_>) -> Result<HitOutcome, String> {
        let tracked = match self.classifier.classify(line) {
            Ok(t) => t,
            Err(reason) => return Ok(HitOutcome::Ignored(reason)),
        };
        // `import_logs.py` sends whatever the log holds (`-` behind some
        // proxies) as `cip`, and Matomo's tracker stores an address it
        // cannot read as 0.0.0.0: the line is a visit all the same.
        let ip = line
            .ip
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let unix = self.time_of(line);
        let (mut raw, idsite) = if self.opts.replay_tracking {
            let Some((params, id)) = replay_params(
                &self.classifier,
                line,
                self.opts.seconds_to_add_to_date,
                self.tracker_file.as_deref(),
            ) else {
                let file = self
                    .tracker_file
                    .as_deref()
                    .unwrap_or("matomo.php or piwik.php");
                return Ok(HitOutcome::Invalid(format!(
                    "not a request to {file} with an idsite (replay tracking)"
                )));
            };
            // `import_logs.py` filters hosts, then dates, once a replayed
            // line is known to be a tracking request.
            if self.host_filtered(line) {
                return Ok(HitOutcome::Ignored(IgnoreReason::ExcludedHost));
            }
            if self.outside_dates(unix) {
                return Ok(HitOutcome::Ignored(IgnoreReason::OutsideDates));
            }
            match self.site_of(line, Some(id)).map_err(|e| e.to_string())? {
                Some(site) => {
                    let mut params = params;
                    if site != id {
                        params.insert("idsite", site.to_string());
                    }
                    self.insert_cvars(&mut params, line, tracked);
                    (params, site)
                }
                None => return Ok(HitOutcome::Ignored(IgnoreReason::ExcludedPath)),
            }
        } else {
            // After the classifier's rules, as `import_logs.py` filters
            // hosts and dates after its checks: a static file is counted
            // as static.
            if self.host_filtered(line) {
                return Ok(HitOutcome::Ignored(IgnoreReason::ExcludedHost));
            }
            if self.outside_dates(unix) {
                return Ok(HitOutcome::Ignored(IgnoreReason::OutsideDates));
            }
            let Some(id) = self.site_of(line, None).map_err(|e| e.to_string())? else {
                return Ok(HitOutcome::Ignored(IgnoreReason::ExcludedPath));
            };
            (self.page_params(line, id, tracked), id)
        };
        let Some(site) = self.site(idsite).cloned() else {
            return Ok(HitOutcome::Ignored(IgnoreReason::ExcludedPath));
        };
        // Last, so that the suffix wins over the line's own parameters as
        // it would at the end of a query string.
        for (name, value) in &self.suffix {
            raw.insert(name.as_str(), value.as_str());
        }
        let req = TrackingRequest::from_params(&raw).map_err(|e| e.to_string())?;
        let meta = RequestMeta {
            ip: Some(ip),
            user_agent: line.user_agent.as_deref().map(str::to_owned),
            ..RequestMeta::default()
        };
        // `now` is the line's time: the request is tracked as if it
        // arrived then, so no `cdt` (and no token) is needed, and `cip`
        // is the connection's address rather than a parameter.
        match build_hit(raw, req, &meta, site, &self.snapshot.globals, unix) {
            Ok(Ok(hit)) => Ok(HitOutcome::Hit(Box::new(hit), tracked)),
            Ok(Err(exclusion)) => Ok(HitOutcome::Excluded(exclusion)),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The custom variables `import_logs.py` adds to a line's request, in
    /// its slots: the regex groups' first, then its own (`HTTP-method`,
    /// `HTTP-code` for the page; `Bot` or `Not-Bot` for the visit with
    /// `--enable-bots`, which also sends `bots=1`). A replayed tracking
    /// request keeps a `cvar` or `_cvar` of its own instead: Matomo's
    /// importer adds its variables only where the request has none (an
    /// empty one is none: Python's `parse_qs` drops blank values).
    fn insert_cvars(&self, p: &mut RawParams, line: &LogLine<'_>, tracked: Tracked) {
        let has = |p: &RawParams, name: &str| p.get(name).is_some_and(|v| !v.is_empty());
        let from_groups = |slots: &[(usize, String)]| -> Vec<(String, String)> {
            slots
                .iter()
                .filter_map(|(i, name)| {
                    let value = line.groups.get(*i)?.as_deref()?;
                    Some((name.clone(), value.to_owned()))
                })
                .collect()
        };
        if !has(p, "cvar") {
            let method = line
                .method
                .as_deref()
                .filter(|_| self.opts.track_http_method);
            if self.page_cvars.is_empty() && method.is_none() {
                // The common case, without building a list per line.
                p.insert(
                    "cvar",
                    format!("{{\"1\":[\"HTTP-code\",\"{}\"]}}", line.status),
                );
            } else {
                let mut page = from_groups(&self.page_cvars);
                if let Some(m) = method {
                    page.push(("HTTP-method".to_owned(), m.to_owned()));
                }
                page.push(("HTTP-code".to_owned(), line.status.to_string()));
                p.insert("cvar", cvar_json(&page));
            }
        }
        let bots = self.classifier.options().enable_bots;
        if bots {
            p.insert("bots", "1");
        }
        if !has(p, "_cvar") {
            let mut visit = from_groups(&self.visit_cvars);
            if bots {
                let key = if tracked.bot { "Bot" } else { "Not-Bot" };
                let ua = line.user_agent.as_deref().unwrap_or("");
                visit.push((key.to_owned(), ua.to_owned()));
            }
            if !visit.is_empty() {
                p.insert("_cvar", cvar_json(&visit));
            }
        }
    }

    /// The request `import_logs.py` sends for a line (`_get_hit_args`).
    fn page_params(&self, line: &LogLine<'_>, idsite: u32, tracked: Tracked) -> RawParams {
        let mut path = self.classifier.url_path(line);
        truncate_chars(&mut path, 1024);
        let main_url = self
            .main_urls
            .get(&idsite)
            .map_or("http://", String::as_str);
        let url = if path.starts_with('/') {
            match self.host_of(line) {
                Some(host) if host.contains("://") => format!("{host}{path}"),
                Some(host) if !host.is_empty() => {
                    let scheme = main_url
                        .split("://")
                        .next()
                        .filter(|s| !s.is_empty() && main_url.contains("://"))
                        .unwrap_or("http");
                    format!("{scheme}://{host}{path}")
                }
                _ => format!("{}{path}", main_url.trim_end_matches('/')),
            }
        } else {
            path
        };
        let mut referrer = line.referrer.as_deref().unwrap_or("").to_owned();
        truncate_chars(&mut referrer, 1024);
        let ua = line.user_agent.as_deref().unwrap_or("");
        // The dozen or so parameters below, and room for a few more.
        let mut p = RawParams::with_capacity(24);
        p.insert("rec", "1");
        p.insert("apiv", "1");
        p.insert("idsite", idsite.to_string());
        p.insert("dp", "1");
        p.insert("ua", ua);
        if let Some(u) = &line.userid {
            p.insert("uid", u.as_ref());
        }
        self.insert_cvars(&mut p, line, tracked);
        if tracked.download {
            p.insert("download", url.as_str());
        }
        if tracked.error || tracked.redirect {
            let d = &self.opts.title_category_delimiter;
            let mut title = format!("{}{d}URL = {}", line.status, quote(&url));
            if !referrer.is_empty() {
                let _ = write!(title, "{d}From = {}", quote(&referrer));
            }
            p.insert("action_name", title);
        }
        if let Some(e) = &line.event {
            p.insert("e_c", e.category.as_ref());
            p.insert("e_a", e.action.as_ref());
            if let Some(n) = &e.name {
                p.insert("e_n", n.as_ref());
            }
        }
        // `import_logs.py` sends any positive time, truncated: 0.4 ms is
        // `pf_srv=0`, a server time of 0 (not none).
        if let Some(ms) = line.duration_ms.filter(|ms| *ms > 0.0) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "positive, PHP int cast"
            )]
            let ms = ms.min(f64::from(u32::MAX)) as u64;
            p.insert("pf_srv", ms.to_string());
        }
        insert_length(&mut p, line);
        p.insert("url", url);
        p.insert("urlref", referrer);
        p
    }
}

/// The response length as `bw_bytes` (Matomo's Bandwidth plugin stores it on
/// the action), as `import_logs.py` sends it: only a length above 0 (a `-`,
/// a 0 or a format without one sends nothing), and over any `bw_bytes` of
/// a replayed request.
fn insert_length(p: &mut RawParams, line: &LogLine<'_>) {
    if let Some(length) = line.bytes.filter(|&length| length > 0) {
        p.insert("bw_bytes", length.to_string());
    }
}

/// A batch of hits and the file's progress at its last line.
struct Batch {
    hits: Vec<Pending>,
    globals: Arc<Globals>,
    /// `None` in a dry run.
    progress: Option<BatchProgress>,
}

/// What a batch's transaction records besides its rows (see
/// [`write_progress`]).
struct BatchProgress {
    idfile: u64,
    idsummary: u64,
    offset: u64,
    lines_done: u64,
    /// The run's counts up to the batch's end, except the hits' outcomes
    /// (imported, refused), which the [`Sink`] adds.
    counts: Counts,
    new_days: Vec<(u32, Date)>,
    /// On the file's last batch: all its days.
    completed_days: Option<BTreeSet<(u32, Date)>>,
}

/// Commits batches, in order, each in one transaction with its progress,
/// in two stages: [`stage`] computes a batch's rows (on the writer's
/// connection), [`finish`] writes them with the progress and commits. With
/// two or more recorders each stage has its own thread, so the rows of
/// batch *k + 1* are computed while the server writes batch *k*.
struct Sink {
    /// `None` in a dry run: hits are counted, nothing is written.
    writer: Option<DirectWriter>,
    pool: tally_db::DbPool,
    path: PathBuf,
    committed: Committed,
}

/// What the commits of one file's import have counted.
struct Committed {
    max_listed_errors: usize,
    /// Committed hits of this run.
    imported: u64,
    /// Hits the tracker refused (committed as errors).
    errors: u64,
    listed: Vec<LineError>,
    /// `imported`, for the progress bar.
    live: Arc<AtomicU64>,
}

/// A batch between the two stages of the [`Sink`].
#[expect(
    clippy::large_enum_variant,
    reason = "one value at a time passes from one stage to the other"
)]
enum Staged {
    /// A dry run's batch of this many hits: building them is all it checks.
    DryRun(u64),
    /// A batch whose rows are computed, with the line of each hit.
    Prepared {
        lines: Vec<u64>,
        progress: BatchProgress,
        batch: PreparedBatch,
    },
}

impl Sink {
    /// Both stages in turn, on the calling thread.
    fn commit(&mut self, batch: Batch) -> Result<(), LogImportError> {
        let staged = stage(self.writer.as_mut(), &self.pool, &self.path, batch)?;
        finish(&mut self.committed, &self.pool, &self.path, staged)
    }
}

/// The import's error for a database error at `line` of `path`.
fn record_error(path: &Path, line: u64, e: diesel::result::Error) -> LogImportError {
    LogImportError::Record {
        path: path.to_owned(),
        line,
        source: tally_tracking::TrackingError::Db(tally_db::DbError::Query(e)),
    }
}

/// The first stage of the [`Sink`]: the batch's rows
/// ([`DirectWriter::prepare`]).
fn stage(
    writer: Option<&mut DirectWriter>,
    pool: &tally_db::DbPool,
    path: &Path,
    batch: Batch,
) -> Result<Staged, LogImportError> {
    let Batch {
        hits,
        globals,
        progress,
    } = batch;
    let (Some(writer), Some(progress)) = (writer, progress) else {
        return Ok(Staged::DryRun(hits.len() as u64));
    };
    let (lines, hits): (Vec<u64>, Vec<Hit>) = hits.into_iter().map(|p| (p.line, p.hit)).unzip();
    let last_line = lines.last().copied().unwrap_or(progress.lines_done);
    // Taken for the batch only: the other stage needs a connection too.
    let mut conn = pool.get()?;
    let batch = writer
        .prepare(&mut conn, hits, globals)
        .map_err(|e| record_error(path, last_line, e))?;
    Ok(Staged::Prepared {
        lines,
        progress,
        batch,
    })
}

/// The second stage of the [`Sink`]: the batch's rows and the file's
/// progress in one transaction.
fn finish(
    committed: &mut Committed,
    pool: &tally_db::DbPool,
    path: &Path,
    staged: Staged,
) -> Result<(), LogImportError> {
    let (lines, progress, batch) = match staged {
        Staged::DryRun(hits) => {
            committed.imported += hits;
            committed.live.store(committed.imported, Ordering::Relaxed);
            return Ok(());
        }
        Staged::Prepared {
            lines,
            progress,
            batch,
        } => (lines, progress, batch),
    };
    let last_line = lines.last().copied().unwrap_or(progress.lines_done);
    let mut conn = pool.get()?;
    let (mut imported, mut errors) = (committed.imported, committed.errors);
    let results: Vec<HitResult> = batch
        .commit(&mut conn, |conn, results| {
            for r in results {
                if r.is_ok() {
                    imported += 1;
                } else {
                    errors += 1;
                }
            }
            let mut c = progress.counts;
            c.imported += imported;
            c.errors += errors;
            write_progress(conn, &progress, &c)
        })
        .map_err(|e| record_error(path, last_line, e))?;
    (committed.imported, committed.errors) = (imported, errors);
    committed.live.store(imported, Ordering::Relaxed);
    for (line, r) in lines.into_iter().zip(results) {
        if let Err(e) = r
            && committed.listed.len() < committed.max_listed_errors
        {
            committed.listed.push(LineError {
                line,
                reason: e.to_string(),
            });
        }
    }
    Ok(())
}

enum HitOutcome {
    Hit(Box<Hit>, Tracked),
    Ignored(IgnoreReason),
    Excluded(Exclusion),
    Invalid(String),
}

fn push_error(report: &mut FileReport, opts: &ImportOptions, line: u64, reason: String) {
    if report.errors.len() < opts.max_listed_errors {
        report.errors.push(LineError { line, reason });
    }
}

/// `--replay-tracking`: a request to `matomo.php`/`piwik.php` (or to the
/// lower-cased `expected_file`) with an `idsite`, as parameters (without
/// those only a token could authorise: the client address comes from the
/// log line, the time from its date), with the line's user agent and
/// referrer where the request has no `ua` / `urlref`. `seconds_to_add` shifts the visitor
/// timestamps of the request as `--add-to-date` shifts the line.
fn replay_params(
    classifier: &Classifier,
    line: &LogLine<'_>,
    seconds_to_add: i64,
    expected_file: Option<&str>,
) -> Option<(RawParams, u32)> {
    let path = classifier.path_only(line).to_ascii_lowercase();
    let is_tracker = match expected_file {
        Some(file) => path.ends_with(file),
        None => path.ends_with("matomo.php") || path.ends_with("piwik.php"),
    };
    if !is_tracker {
        return None;
    }
    let query = classifier.query(line);
    if query.is_empty() {
        return None;
    }
    let original = RawParams::from_query(query);
    let idsite: u32 = original.get("idsite")?.trim().parse().ok()?;
    let mut p = RawParams::with_capacity(original.len() + 8);
    for (name, value) in original.iter() {
        if matches!(
            name,
            "cip" | "cdt" | "cdo" | "token_auth" | "country" | "region" | "city" | "lat" | "long"
        ) {
            continue;
        }
        if let tally_tracking::params::ParamValue::Text(v) = value {
            match v.trim().parse::<i64>() {
                Ok(ts)
                    if seconds_to_add != 0
                        && matches!(name, "_idts" | "_viewts" | "_ects" | "_refts") =>
                {
                    p.insert(name, ts.saturating_add(seconds_to_add).to_string());
                }
                _ => {
                    p.insert(name, v.as_str());
                }
            }
        }
    }
    // Python's `parse_qs` drops blank values: `urlref=` is no `urlref`.
    let blank = |p: &RawParams, name: &str| p.get(name).is_none_or(str::is_empty);
    if blank(&p, "ua")
        && let Some(ua) = &line.user_agent
    {
        p.insert("ua", ua.as_ref());
    }
    // `import_logs.py` sends the logged referrer as `urlref` unless the
    // request has its own: the referrer of the page that loaded the
    // tracker, often the tracked page itself.
    if blank(&p, "urlref")
        && let Some(referrer) = line.referrer.as_deref().filter(|r| !r.is_empty())
    {
        let mut referrer = referrer.to_owned();
        truncate_chars(&mut referrer, 1024);
        p.insert("urlref", referrer);
    }
    insert_length(&mut p, line);
    Some((p, idsite))
}

/// An `--include-host`/`--exclude-host` value (`option` names which, for
/// the error) as it is compared: trimmed, lower-cased, without the dots
/// around it (as the importer reads a line's host). IPv6 addresses may be
/// written bare or in brackets.
///
/// # Errors
/// [`LogImportError::InvalidOption`] for an empty value, a URL or path, a
/// space, or a port: hosts are compared without their port, which most
/// formats do not log (and the vhost formats drop).
pub fn normalize_host(option: &'static str, value: &str) -> Result<String, LogImportError> {
    let bad = |reason: String| LogImportError::InvalidOption { option, reason };
    let v = value.trim();
    if v.contains("://") || v.contains('/') {
        return Err(bad(format!(
            "expected a host name such as www.example.org, not a URL or path: `{value}`"
        )));
    }
    if v.chars().any(char::is_whitespace) {
        return Err(bad(format!("a host name has no spaces: `{value}`")));
    }
    let bare = crate::parse::strip_port(v);
    let has_port = if v.starts_with('[') {
        !v.ends_with(']')
    } else {
        bare != v
    };
    if has_port {
        return Err(bad(format!(
            "give the host without a port (`{bare}`): hosts are compared without theirs"
        )));
    }
    let host = bare.trim_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err(bad(format!("expected a host name, got `{value}`")));
    }
    Ok(host)
}

/// A `--replay-tracking-expected-tracker-file` value as it is compared:
/// trimmed and lower-cased.
///
/// # Errors
/// [`LogImportError::InvalidOption`] for an empty value or one with a
/// space, `?` or `#` (the end of a path is expected, not a URL).
pub fn normalize_tracker_file(value: &str) -> Result<String, LogImportError> {
    let v = value.trim();
    if v.is_empty() || v.contains(['?', '#']) || v.chars().any(char::is_whitespace) {
        return Err(LogImportError::InvalidOption {
            option: "--replay-tracking-expected-tracker-file",
            reason: format!(
                "expected the end of the tracker's path, such as `matomo.php` or \
                 `js/tracker.php`, got `{value}`"
            ),
        });
    }
    Ok(v.to_ascii_lowercase())
}

/// Parses a `--request-suffix`: query-string parameters (`a=1&b=2`, a
/// leading `?` or `&` allowed, values percent-encoded as in a URL) into
/// the (name, value) pairs added to every tracked request, a later
/// duplicate winning.
///
/// # Errors
/// [`LogImportError::InvalidOption`] for a suffix with no parameter, a
/// parameter without a name, an array parameter (`name[]=`), or one the
/// importer sets itself from each line (`idsite`, `cip`, `cdt`, `cdo`) or
/// has no use for (`token_auth`).
pub fn parse_request_suffix(suffix: &str) -> Result<Vec<(String, String)>, LogImportError> {
    let bad = |reason: String| LogImportError::InvalidOption {
        option: "--request-suffix",
        reason,
    };
    let query = suffix.trim().trim_start_matches(['?', '&']);
    if let Some(part) = query
        .split('&')
        .find(|p| !p.is_empty() && p.split('=').next().is_some_and(|n| n.trim().is_empty()))
    {
        return Err(bad(format!(
            "`{part}` has no parameter name; expected NAME=VALUE pairs joined by &, e.g. bots=1&lang=de"
        )));
    }
    let mut out = Vec::new();
    for (name, value) in RawParams::from_query(query).iter() {
        let why = match name {
            "idsite" => Some("the site comes from --idsite or each line's host"),
            "cip" | "cdt" | "cdo" => {
                Some("the importer takes the client address and time from each line")
            }
            "token_auth" => Some("the importer records directly and needs no token"),
            _ => None,
        };
        if let Some(why) = why {
            return Err(bad(format!("`{name}` cannot be set: {why}")));
        }
        match value {
            tally_tracking::params::ParamValue::Text(v) => out.push((name.to_owned(), v.clone())),
            tally_tracking::params::ParamValue::Array
            | tally_tracking::params::ParamValue::Json(_) => {
                return Err(bad(format!(
                    "`{name}` is an array parameter (`{name}[...]`), which is not supported"
                )));
            }
        }
    }
    if out.is_empty() {
        return Err(bad(format!(
            "expected NAME=VALUE pairs joined by &, e.g. bots=1&lang=de, got `{suffix}`"
        )));
    }
    Ok(out)
}

/// The host of an absolute request URL (`GET http://host:port/path`, as
/// proxies log), lower-cased without user or port; `None` for a path.
fn url_host(path: &str) -> Option<String> {
    let (scheme, rest) = path.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = crate::parse::strip_port(host).trim_matches('.');
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A `cvar`/`_cvar` value: `{"1":["name","value"],...}`.
fn cvar_json(vars: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in vars.iter().enumerate() {
        let name = serde_json::Value::from(name.as_str());
        let value = serde_json::Value::from(value.as_str());
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(out, "{sep}\"{}\":[{name},{value}]", i + 1);
    }
    out.push('}');
    out
}

fn truncate_chars(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
}

/// Python's `urllib.parse.quote(s, '')`: everything but unreserved
/// characters percent-encoded.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn detect_file(shown: &Path, real: &Path, charset: Charset) -> Result<LogFormat, LogImportError> {
    let mut reader = LineReader::new(input::open(real)?);
    let mut buf = String::new();
    let mut next = |reader: &mut LineReader<_>| -> Option<Option<Vec<u8>>> {
        match reader.next_line() {
            Ok(Some(l)) => Some(
                l.bytes
                    .and_then(|b| input::decoded(charset, b, &mut buf))
                    .map(<[u8]>::to_vec),
            ),
            _ => None,
        }
    };
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut read = 0;
    while lines.len() < format::DETECT_LINES
        && let Some(line) = next(&mut reader)
    {
        read += 1;
        lines.extend(line);
    }
    let detect = |lines: &[Vec<u8>]| {
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        format::detect(&refs)
    };
    if let Some(f) = detect(&lines) {
        return Ok(f);
    }
    // `import_logs.py` tries line after line (up to 100,000) until one is
    // of a known format: after unreadable first lines, the first lines
    // from the first readable one decide.
    let mut probe = format::LineProbe::new();
    let mut found = None;
    while read < format::DETECT_SCAN_LINES
        && let Some(line) = next(&mut reader)
    {
        read += 1;
        if let Some(line) = line.filter(|l| probe.readable(l)) {
            found = Some(line);
            break;
        }
    }
    if let Some(first) = found {
        let mut lines = vec![first];
        while lines.len() < format::DETECT_LINES
            && let Some(line) = next(&mut reader)
        {
            lines.extend(line);
        }
        if let Some(f) = detect(&lines) {
            return Ok(f);
        }
    }
    Err(LogImportError::Detect {
        path: shown.to_owned(),
    })
}

fn load_main_urls(conn: &mut MysqlConnection) -> QueryResult<HashMap<u32, String>> {
    Ok(site::table
        .select((site::idsite, site::main_url))
        .load::<(u32, String)>(conn)?
        .into_iter()
        .collect())
}

/// `--add-sites-new-hosts`: a site named after the host, `http://host` as
/// its URL, UTC.
fn add_site(conn: &mut MysqlConnection, host: &str) -> Result<u32, LogImportError> {
    let name: String = host.chars().take(90).collect();
    diesel::sql_query(
        "INSERT INTO site (name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (?, ?, UTC_TIMESTAMP(), 0, 1, '', '', 'UTC', 'USD', '', '', '', '', '', 'website')",
    )
    .bind::<Text, _>(&name)
    .bind::<Text, _>(format!("http://{host}"))
    .execute(conn)?;
    let id: u64 = diesel::select(tally_db::sequence::last_insert_id()).get_result(conn)?;
    u32::try_from(id).map_err(|_| {
        LogImportError::Db(diesel::result::Error::QueryBuilderError(
            format!("site id {id} out of range").into(),
        ))
    })
}

/// Inserts the file (`queue`) and counts it in each of its days, in one
/// transaction.
fn register_file(
    conn: &mut MysqlConnection,
    shown: &Path,
    hash: &[u8; 32],
    size: u64,
    site: &SiteSelection,
    format: &LogFormat,
    days: &BTreeSet<(u32, Date)>,
) -> Result<u64, LogImportError> {
    let path = shown.to_string_lossy();
    let ts = now();
    Ok(conn.transaction(|conn| {
        diesel::insert_into(logimport_file::table)
            .values(NewLogImportFile {
                path: &path,
                content_hash: &hash[..],
                size_bytes: size,
                idsite: match site {
                    SiteSelection::Id(id) => Some(*id),
                    SiteSelection::ByHost { .. } => None,
                },
                log_format: Some(format.name()),
                status: "queue",
                offset_bytes: 0,
                lines_done: 0,
                ts_created: ts,
                ts_updated: ts,
                ts_completed: None,
            })
            .execute(conn)?;
        let idfile: u64 = diesel::select(tally_db::sequence::last_insert_id()).get_result(conn)?;
        for (idsite, date) in days {
            // A new file for a day already loaded (or further) re-opens it.
            diesel::sql_query(
                "INSERT INTO logimport_day_status (idsite, date, status, files_total, files_completed, ts_updated) \
                 VALUES (?, ?, 'queue', 1, 0, ?) ON DUPLICATE KEY UPDATE \
                 files_total = files_total + 1, \
                 status = IF(status IN ('queue', 'partial'), status, 'partial'), \
                 ts_updated = VALUES(ts_updated)",
            )
            .bind::<Unsigned<Integer>, _>(*idsite)
            .bind::<SqlDate, _>(*date)
            .bind::<diesel::sql_types::Datetime, _>(ts)
            .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(idfile)
    })?)
}

fn insert_summary(conn: &mut MysqlConnection, idfile: u64) -> Result<u64, LogImportError> {
    use tally_schema::schema::logimport_file_summary;
    diesel::insert_into(logimport_file_summary::table)
        .values(NewLogImportFileSummary {
            idfile,
            ts_started: now(),
            ts_finished: None,
            lines_parsed: 0,
            lines_imported: 0,
            ignored_static: 0,
            ignored_bots: 0,
            ignored_http_errors: 0,
            ignored_redirects: 0,
            ignored_excluded: 0,
            ignored_invalid: 0,
            errors: 0,
        })
        .execute(conn)?;
    Ok(diesel::select(tally_db::sequence::last_insert_id()).get_result(conn)?)
}

fn finish_summary(conn: &mut MysqlConnection, idsummary: u64) -> Result<(), LogImportError> {
    use tally_schema::schema::logimport_file_summary as s;
    diesel::update(s::table.filter(s::idsummary.eq(idsummary)))
        .set(s::ts_finished.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

/// The progress rows of a batch, written in the batch's transaction: the
/// file's offset, the run's counters, days that now have lines (`queue` →
/// `partial`), and on the last batch the file's completion and its days'
/// (`loaded` once every file of the day is completed).
fn write_progress(conn: &mut MysqlConnection, p: &BatchProgress, c: &Counts) -> QueryResult<()> {
    use tally_schema::schema::logimport_file_summary as s;
    let ts = now();
    let complete = p.completed_days.is_some();
    diesel::update(logimport_file::table.filter(logimport_file::idfile.eq(p.idfile)))
        .set((
            logimport_file::status.eq(if complete { "completed" } else { "partial" }),
            logimport_file::offset_bytes.eq(p.offset),
            logimport_file::lines_done.eq(p.lines_done),
            logimport_file::ts_updated.eq(ts),
            logimport_file::ts_completed.eq(complete.then_some(ts)),
        ))
        .execute(conn)?;
    diesel::update(s::table.filter(s::idsummary.eq(p.idsummary)))
        .set((
            s::lines_parsed.eq(c.lines_parsed),
            s::lines_imported.eq(c.imported),
            s::ignored_static.eq(c.ignored_static),
            s::ignored_bots.eq(c.ignored_bots),
            s::ignored_http_errors.eq(c.ignored_http_errors),
            s::ignored_redirects.eq(c.ignored_redirects),
            s::ignored_excluded.eq(c.ignored_excluded),
            s::ignored_invalid.eq(c.ignored_invalid),
            s::errors.eq(c.errors),
        ))
        .execute(conn)?;
    let touched: HashSet<&(u32, Date)> = p.new_days.iter().collect();
    for (idsite, date) in touched {
        diesel::sql_query(
            "UPDATE logimport_day_status SET status = 'partial', ts_updated = ? \
             WHERE idsite = ? AND date = ? AND status = 'queue'",
        )
        .bind::<diesel::sql_types::Datetime, _>(ts)
        .bind::<Unsigned<Integer>, _>(*idsite)
        .bind::<SqlDate, _>(*date)
        .execute(conn)?;
    }
    for (idsite, date) in p.completed_days.iter().flatten() {
        // MariaDB assigns left to right: the status sees the new count.
        diesel::sql_query(
            "UPDATE logimport_day_status SET files_completed = files_completed + 1, \
             status = IF(files_completed >= files_total, 'loaded', 'partial'), ts_updated = ? \
             WHERE idsite = ? AND date = ?",
        )
        .bind::<diesel::sql_types::Datetime, _>(ts)
        .bind::<Unsigned<Integer>, _>(*idsite)
        .bind::<SqlDate, _>(*date)
        .execute(conn)?;
    }
    Ok(())
}

/// `snapshot` with the configured lists of `opts`, when it has some.
fn with_lists(snapshot: Snapshot, opts: &ImportOptions) -> Snapshot {
    match &opts.lists {
        Some(lists) => snapshot.with_lists(lists),
        None => snapshot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_like_python() {
        assert_eq!(
            quote("http://a.b/c d?e=1"),
            "http%3A%2F%2Fa.b%2Fc%20d%3Fe%3D1"
        );
    }

    #[test]
    fn hosts_of_absolute_urls() {
        assert_eq!(
            url_host("http://User@Example.org:8080/a?b").as_deref(),
            Some("example.org")
        );
        assert_eq!(url_host("https://[::1]:443/").as_deref(), Some("::1"));
        assert_eq!(url_host("/a?u=http://x.org/"), None);
    }

    #[test]
    fn host_option_values() {
        let ok = |v| normalize_host("--include-host", v).ok();
        assert_eq!(ok(" WWW.Example.org. ").as_deref(), Some("www.example.org"));
        assert_eq!(ok("[::1]").as_deref(), Some("::1"));
        assert_eq!(ok("::1").as_deref(), Some("::1"));
        for bad in [
            "",
            "example.org:8080",
            "[::1]:80",
            "http://example.org",
            "a b",
            ".",
        ] {
            assert!(ok(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn request_suffixes() -> Result<(), LogImportError> {
        assert_eq!(
            parse_request_suffix("&bots=1&lang=de%2Dat&lang=fr")?,
            [
                ("bots".to_owned(), "1".to_owned()),
                ("lang".to_owned(), "fr".to_owned())
            ]
        );
        assert_eq!(
            parse_request_suffix("?a+b=x+y")?,
            [("a_b".to_owned(), "x y".to_owned())]
        );
        for bad in [
            "",
            "&",
            "=1",
            "a=1&=2",
            "idsite=3",
            "x[]=1",
            "token_auth=abc",
        ] {
            assert!(parse_request_suffix(bad).is_err(), "{bad:?} accepted");
        }
        Ok(())
    }

    #[test]
    fn truncation_respects_chars() {
        let mut s = "ééé".to_owned();
        truncate_chars(&mut s, 2);
        assert_eq!(s, "éé");
    }
}
