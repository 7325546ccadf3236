//! `tally-tracker import`: web-server logs into Tally (crate `tally-logimport`).

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use tally_logimport::{
    BATCH_LINES, DayStatus, ExportFormat, FileOutcome, FilterOptions, ImportOptions, ImportReport,
    LogFormat, LogTimeZone, SiteSelection, UserRegex,
};
use tally_tracking::charset::Charset;

/// `import FILES...`, or one of the day-pipeline subcommands.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "A file named like a subcommand (status, export-day, mark-day) is given as ./status.\n\
                  Each batch of lines is committed with the file's progress in one transaction: \
                  an interrupted import continues with --resume and never counts a line twice."
)]
pub(crate) struct ImportCli {
    #[command(subcommand)]
    command: Option<ImportCommand>,
    #[command(flatten)]
    args: ImportArgs,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// List the imported files and the days with their status and summary.
    Status,
    /// Write a loaded day's raw hits (one row per action) and mark it `pretable`.
    ExportDay {
        /// The site.
        #[arg(long)]
        site: u32,
        /// The day, YYYY-MM-DD (site time).
        #[arg(long, value_parser = parse_date)]
        date: time::Date,
        /// Output file (`-` for standard output).
        #[arg(long)]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Tsv)]
        format: Format,
    },
    /// Set a downstream status on an exported day.
    MarkDay {
        /// The site.
        #[arg(long)]
        site: u32,
        /// The day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: time::Date,
        /// The new status.
        #[arg(long, value_enum)]
        status: Mark,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Tsv,
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mark {
    Calculated,
    Done,
}

/// The options of `import_logs.py`, under its names.
#[derive(Debug, Args)]
struct ImportArgs {
    /// Log files (.gz and .bz2 are decompressed; `-` is standard input).
    #[arg(required = true, value_name = "FILES")]
    files: Vec<PathBuf>,
    /// Import every line into this site (default: the site of the line's host).
    #[arg(long)]
    idsite: Option<u32>,
    /// Site of lines whose host matches no site (instead of skipping them).
    #[arg(long, conflicts_with = "idsite")]
    idsite_fallback: Option<u32>,
    /// Create a site for each host that matches no site.
    #[arg(long, conflicts_with = "idsite")]
    add_sites_new_hosts: bool,
    /// The host of every line (for formats that log none).
    #[arg(long)]
    log_hostname: Option<String>,
    /// Track static files (images, CSS, JS...) as downloads.
    #[arg(long)]
    enable_static: bool,
    /// Track bots.
    #[arg(long)]
    enable_bots: bool,
    /// Track HTTP errors (4xx, 5xx) as page views.
    #[arg(long)]
    enable_http_errors: bool,
    /// Track HTTP redirects (3xx except 304) as page views.
    #[arg(long)]
    enable_http_redirects: bool,
    /// Skip paths matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude_path: Vec<String>,
    /// Only import paths matching one of these globs (repeatable).
    #[arg(long, value_name = "GLOB")]
    include_path: Vec<String>,
    /// Only import lines whose host matches one of these globs (repeatable).
    #[arg(long, value_name = "GLOB")]
    hostname: Vec<String>,
    /// Treat user agents containing this text as bots (repeatable).
    #[arg(long, value_name = "TEXT")]
    useragent_exclude: Vec<String>,
    /// Drop query strings from URLs.
    #[arg(long)]
    strip_query_string: bool,
    /// The query string delimiter.
    #[arg(long, default_value = "?")]
    query_string_delimiter: String,
    /// Download extensions, comma-separated (replaces the built-in list).
    #[arg(long, value_delimiter = ',')]
    download_extensions: Option<Vec<String>>,
    /// Download extensions added to the built-in list, comma-separated.
    #[arg(long, value_delimiter = ',')]
    add_download_extensions: Vec<String>,
    /// Lower-case paths.
    #[arg(long)]
    force_lowercase_path: bool,
    /// 1: parse and write in turn; 2 or more: parse one batch while the rows
    /// of the one before are computed and the one before that commits
    /// (three threads, two connections, batches committed in order).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    recorders: u32,
    /// Lines per committed batch.
    #[arg(long, default_value_t = BATCH_LINES as u32, value_parser = clap::value_parser!(u32).range(1..))]
    batch_lines: u32,
    /// Parse, filter and build hits; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Replay lines that are Matomo tracking requests with their own parameters.
    #[arg(long)]
    replay_tracking: bool,
    /// Log format (common, common_vhost, combined, w3c_extended, nginx_json, ...);
    /// default: detected from each file's first lines.
    #[arg(long, conflicts_with = "log_format_regex")]
    log_format_name: Option<String>,
    /// A regex with named groups (ip, date, path, status, ...) for each line.
    #[arg(long)]
    log_format_regex: Option<String>,
    /// The strptime format of the regex's `date` group.
    #[arg(long, requires = "log_format_regex")]
    log_date_format: Option<String>,
    /// The field list of W3C files without a #Fields: line.
    #[arg(long)]
    w3c_fields: Option<String>,
    /// Time zone of lines without an offset: UTC, +0200, or an IANA name.
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Continue files that a previous run left partly imported.
    #[arg(long)]
    resume: bool,
    /// Title delimiter of HTTP error and redirect page views.
    #[arg(long, default_value = "/")]
    title_category_delimiter: String,
    /// Ignore lines older than this moment, written "YYYY-MM-DD hh:mm:ss +hhmm"
    /// (quote it; the time zone offset is required), e.g. "2024-02-01 00:00:00 +0100".
    /// A line at exactly this moment is kept. Ignored lines count as excluded.
    #[arg(long, value_name = "DATE", value_parser = parse_cutoff)]
    exclude_older_than: Option<time::OffsetDateTime>,
    /// Ignore lines newer than this moment (same format as --exclude-older-than).
    /// A line at exactly this moment is kept. Ignored lines count as excluded.
    #[arg(long, value_name = "DATE", value_parser = parse_cutoff)]
    exclude_newer_than: Option<time::OffsetDateTime>,
    /// Add this many seconds to every line's date (negative to subtract), e.g. to
    /// correct a server clock; applied before --exclude-older-than/--exclude-newer-than.
    #[arg(
        long = "add-to-date",
        visible_alias = "seconds-to-add-to-date",
        value_name = "SECONDS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    seconds_to_add_to_date: i64,
    /// Skip the first N lines of each file (counted as neither imported nor invalid).
    /// A file resumed with --resume continues after its last committed line anyway.
    #[arg(long, value_name = "N", default_value_t = 0)]
    skip: u64,
    /// Skip paths matching the globs listed in FILE, one per line (blank lines
    /// ignored); adds to --exclude-path.
    #[arg(long, value_name = "FILE", value_parser = read_globs)]
    exclude_path_from: Vec<Globs>,
    /// Only import paths matching one of the globs listed in FILE, one per line
    /// (blank lines ignored); adds to --include-path.
    #[arg(long, value_name = "FILE", value_parser = read_globs)]
    include_path_from: Vec<Globs>,
    /// W3C logs: read the custom field CUSTOM as the standard field KNOWN, e.g.
    /// my-date=date (repeatable, or comma-separated). KNOWN is one of: date, time,
    /// cs-uri-stem, cs-uri-query, c-ip, cs(User-Agent), cs(Referer), sc-status,
    /// sc-bytes, cs-host, cs-method, cs-username, time-taken, ...
    #[arg(long, value_name = "CUSTOM=KNOWN", value_delimiter = ',', value_parser = parse_map_field)]
    w3c_map_field: Vec<(String, String)>,
    /// W3C logs: the time-taken field is in milliseconds, not seconds (IIS logs
    /// always are). It becomes the page's server generation time.
    #[arg(long)]
    w3c_time_taken_millisecs: bool,
    /// W3C logs: parse the field FIELD with REGEX, whose named groups can then be
    /// tracked with --regex-group-to-*-cvar, e.g.
    /// 'sc-win32-status=(?P<win32_status>\S+)'. The regex must match the whole
    /// field (else the line is invalid). One FIELD=REGEX per option (repeatable).
    #[arg(long, value_name = "FIELD=REGEX", value_parser = parse_field_regex)]
    w3c_field_regex: Vec<(String, String)>,
    /// Track the value of a regex group as a visit custom variable named NAME,
    /// e.g. "userid=User Name" (repeatable, or comma-separated). GROUP is a named
    /// group of --log-format-regex or --w3c-field-regex, or a standard field
    /// (userid, user_agent, host, ...).
    #[arg(long, value_name = "GROUP=NAME", value_delimiter = ',', value_parser = parse_cvar)]
    regex_group_to_visit_cvar: Vec<(String, String)>,
    /// Like --regex-group-to-visit-cvar, as a page (action) custom variable.
    #[arg(long, value_name = "GROUP=NAME", value_delimiter = ',', value_parser = parse_cvar)]
    regex_group_to_page_cvar: Vec<(String, String)>,
    /// Comma-separated fields to read as if the log did not have them, e.g.
    /// "userid" to track no user ids (any format; the --regex-group-to-*-cvar
    /// options still see them). Not ip, date, time or path.
    #[arg(long, value_name = "GROUPS", value_delimiter = ',', value_parser = parse_ignore_group)]
    ignore_groups: Vec<String>,
    /// The log files' character encoding: utf-8 (default), latin1
    /// (iso-8859-1), cp1252, shift_jis, gbk, windows-1251 or any other
    /// WHATWG encoding name.
    #[arg(long, value_name = "NAME", default_value = "utf-8", value_parser = parse_encoding)]
    encoding: Charset,
    /// Also track each request's HTTP method (GET, POST, ...) as a page custom
    /// variable named HTTP-method (after the --regex-group-to-page-cvar ones, before
    /// HTTP-code). Lines whose format logs no method get none. Written as a plain
    /// flag; `--track-http-method=1` as used with import_logs.py works too, and
    /// `=0`/`=false` turn it off.
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        hide_default_value = true,
        hide_possible_values = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    track_http_method: bool,
    /// Only import lines whose host is HOST (repeatable: any of them). The whole
    /// name must match, without regard to case or port: www.example.org does not
    /// match example.org (use --hostname for globs). Lines that log no host are
    /// kept. Ignored lines count as excluded.
    #[arg(long, value_name = "HOST", value_parser = parse_include_host)]
    include_host: Vec<String>,
    /// Skip lines whose host is HOST (repeatable), compared as for --include-host.
    /// Ignored lines count as excluded.
    #[arg(long, value_name = "HOST", value_parser = parse_exclude_host)]
    exclude_host: Vec<String>,
    /// With --replay-tracking: replay only requests whose path ends with NAME, e.g.
    /// js/tracker.php for a renamed tracker; case does not count. Default: requests
    /// to matomo.php or piwik.php. Other lines count as invalid.
    #[arg(
        long,
        value_name = "NAME",
        requires = "replay_tracking",
        value_parser = parse_tracker_file
    )]
    replay_tracking_expected_tracker_file: Option<String>,
    /// Add these parameters to every tracked request (replayed ones too), written
    /// as a URL query string with encoded values, e.g. "lang=de&bots=1". A
    /// parameter the request already has is replaced (cvar=... replaces the
    /// HTTP-code custom variable). Refused: idsite, cip, cdt and cdo (taken from
    /// each line) and token_auth (not needed).
    #[arg(long, value_name = "QUERY", value_parser = parse_request_suffix)]
    request_suffix: Option<String>,
}

/// The globs of one `--exclude-path-from`/`--include-path-from` file, read
/// while the arguments are parsed so that a bad file is a usage error.
#[derive(Debug, Clone)]
struct Globs(Vec<String>);

fn read_globs(path: &str) -> Result<Globs, String> {
    tally_logimport::classify::read_globs(std::path::Path::new(path))
        .map(Globs)
        .map_err(|e| match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        })
}

fn parse_cutoff(s: &str) -> Result<time::OffsetDateTime, String> {
    tally_logimport::parse_date_with_offset(s).map_err(|e| reason(&e))
}

/// The library's reason without its `log format:` prefix: clap already
/// names the option.
fn reason(e: &tally_logimport::LogImportError) -> String {
    match e {
        tally_logimport::LogImportError::Format { reason }
        | tally_logimport::LogImportError::InvalidOption { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// `KEY=VALUE`, both non-empty (`what` names the two for the message).
fn pair(s: &str, what: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
            Ok((k.trim().to_owned(), v.trim().to_owned()))
        }
        _ => Err(format!("expected {what}, got `{s}`")),
    }
}

fn parse_map_field(s: &str) -> Result<(String, String), String> {
    let p = pair(s, "CUSTOM=KNOWN (e.g. my-date=date)")?;
    tally_logimport::ParseOptions {
        w3c_map_fields: vec![p.clone()],
        ..tally_logimport::ParseOptions::default()
    }
    .validate()
    .map_err(|e| reason(&e))?;
    Ok(p)
}

fn parse_field_regex(s: &str) -> Result<(String, String), String> {
    // Only the first `=` separates: the regex may contain more.
    let (field, re) = s
        .split_once('=')
        .filter(|(f, r)| !f.trim().is_empty() && !r.is_empty())
        .ok_or_else(|| format!("expected FIELD=REGEX, got `{s}`"))?;
    tally_logimport::parse::compile_field_regex(field.trim(), re).map_err(|e| reason(&e))?;
    Ok((field.trim().to_owned(), re.to_owned()))
}

fn parse_cvar(s: &str) -> Result<(String, String), String> {
    pair(s, "GROUP=NAME (e.g. \"userid=User Name\")")
}

fn parse_ignore_group(s: &str) -> Result<String, String> {
    let g = s.trim().to_owned();
    tally_logimport::ParseOptions {
        ignore_groups: vec![g.clone()],
        ..tally_logimport::ParseOptions::default()
    }
    .validate()
    .map_err(|e| reason(&e))?;
    Ok(g)
}

fn parse_include_host(s: &str) -> Result<String, String> {
    tally_logimport::normalize_host("--include-host", s).map_err(|e| reason(&e))
}

fn parse_exclude_host(s: &str) -> Result<String, String> {
    tally_logimport::normalize_host("--exclude-host", s).map_err(|e| reason(&e))
}

fn parse_tracker_file(s: &str) -> Result<String, String> {
    tally_logimport::normalize_tracker_file(s).map_err(|e| reason(&e))
}

/// Checked now so that a bad suffix is a usage error; the library parses
/// the string again.
fn parse_request_suffix(s: &str) -> Result<String, String> {
    tally_logimport::parse_request_suffix(s).map_err(|e| reason(&e))?;
    Ok(s.to_owned())
}

fn parse_encoding(s: &str) -> Result<Charset, String> {
    tally_logimport::input::charset(s).map_err(|e| reason(&e))
}

impl ImportArgs {
    fn options(&self) -> anyhow::Result<ImportOptions> {
        let format = match (&self.log_format_name, &self.log_format_regex) {
            (Some(name), _) => Some(LogFormat::from_name(name)?),
            (None, Some(re)) => Some(LogFormat::Regex(UserRegex::new(
                re,
                self.log_date_format.as_deref(),
            )?)),
            (None, None) => None,
        };
        Ok(ImportOptions {
            site: match self.idsite {
                Some(id) => SiteSelection::Id(id),
                None => SiteSelection::ByHost {
                    add_new_hosts: self.add_sites_new_hosts,
                    fallback: self.idsite_fallback,
                },
            },
            format,
            w3c_fields: self.w3c_fields.clone(),
            filters: FilterOptions {
                enable_static: self.enable_static,
                enable_bots: self.enable_bots,
                enable_http_errors: self.enable_http_errors,
                enable_http_redirects: self.enable_http_redirects,
                exclude_paths: self
                    .exclude_path
                    .iter()
                    .chain(self.exclude_path_from.iter().flat_map(|g| &g.0))
                    .cloned()
                    .collect(),
                include_paths: self
                    .include_path
                    .iter()
                    .chain(self.include_path_from.iter().flat_map(|g| &g.0))
                    .cloned()
                    .collect(),
                hostnames: self.hostname.clone(),
                useragent_exclude: self.useragent_exclude.clone(),
                strip_query_string: self.strip_query_string,
                query_string_delimiter: self.query_string_delimiter.clone(),
                download_extensions: self.download_extensions.clone(),
                add_download_extensions: self.add_download_extensions.clone(),
                force_lowercase_path: self.force_lowercase_path,
                replay_tracking: self.replay_tracking,
            },
            log_timezone: LogTimeZone::parse(&self.tz)?,
            log_hostname: self.log_hostname.clone(),
            recorders: self.recorders as usize,
            batch_lines: self.batch_lines as usize,
            dry_run: self.dry_run,
            replay_tracking: self.replay_tracking,
            resume: self.resume,
            title_category_delimiter: self.title_category_delimiter.clone(),
            exclude_older_than: self.exclude_older_than,
            exclude_newer_than: self.exclude_newer_than,
            seconds_to_add_to_date: self.seconds_to_add_to_date,
            skip: self.skip,
            w3c_map_fields: self.w3c_map_field.clone(),
            w3c_time_taken_millisecs: self.w3c_time_taken_millisecs,
            w3c_field_regexes: self.w3c_field_regex.clone(),
            regex_group_to_visit_cvars: self.regex_group_to_visit_cvar.clone(),
            regex_group_to_page_cvars: self.regex_group_to_page_cvar.clone(),
            ignore_groups: self.ignore_groups.clone(),
            encoding: self.encoding,
            track_http_method: self.track_http_method,
            include_hosts: self.include_host.clone(),
            exclude_hosts: self.exclude_host.clone(),
            replay_tracking_expected_tracker_file: self
                .replay_tracking_expected_tracker_file
                .clone(),
            request_suffix: self.request_suffix.clone(),
            ..ImportOptions::default()
        })
    }
}

fn parse_date(s: &str) -> Result<time::Date, String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, fmt).map_err(|e| format!("expected YYYY-MM-DD: {e}"))
}

/// Runs an `import` command; `tracker` is the config's `[tracker]` table,
/// whose request exclusions and spam list apply to imported lines too.
pub(crate) fn run(
    cli: ImportCli,
    pool: &tally_db::DbPool,
    tracker: &tally_tracking::http::TrackerConfig,
) -> anyhow::Result<()> {
    match cli.command {
        Some(ImportCommand::Status) => status(pool),
        Some(ImportCommand::ExportDay {
            site,
            date,
            out,
            format,
        }) => {
            let format = match format {
                Format::Tsv => ExportFormat::Tsv,
                Format::Csv => ExportFormat::Csv,
            };
            let mut conn = pool.get()?;
            let rows = if out.as_os_str() == "-" {
                tally_logimport::export_day(
                    &mut conn,
                    site,
                    date,
                    std::io::stdout().lock(),
                    format,
                )?
            } else {
                let file = std::fs::File::create(&out)
                    .with_context(|| format!("creating {}", out.display()))?;
                tally_logimport::export_day(
                    &mut conn,
                    site,
                    date,
                    std::io::BufWriter::new(file),
                    format,
                )?
            };
            tracing::info!(site.id = site, %date, rows, out = %out.display(), "day exported, now pretable");
            Ok(())
        }
        Some(ImportCommand::MarkDay { site, date, status }) => {
            let to = match status {
                Mark::Calculated => DayStatus::Calculated,
                Mark::Done => DayStatus::Done,
            };
            tally_logimport::mark_day(&mut *pool.get()?, site, date, to)?;
            tracing::info!(site.id = site, %date, status = to.as_str(), "day marked");
            Ok(())
        }
        None => import(&cli.args, pool, tracker),
    }
}

fn import(
    args: &ImportArgs,
    pool: &tally_db::DbPool,
    tracker: &tally_tracking::http::TrackerConfig,
) -> anyhow::Result<()> {
    let mut opts = args.options()?;
    opts.lists = Some(
        tally_tracking::site::ConfiguredLists::from_config(tracker)
            .context("reading the [tracker] lists")?,
    );
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} {human_pos} lines {per_sec} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    let started = std::time::Instant::now();
    let mut last_log = started;
    let mut on_progress = |p: tally_logimport::Progress<'_>| {
        if let Some(bar) = &bar {
            bar.set_message(p.path.display().to_string());
            bar.set_position(p.lines);
        } else if last_log.elapsed().as_secs() >= 10 {
            last_log = std::time::Instant::now();
            tracing::info!(
                path = %p.path.display(),
                lines = p.lines,
                imported = p.imported,
                offset_bytes = p.offset_bytes,
                "importing"
            );
        }
    };
    // One file at a time, so that a failure names its file; the files
    // before it stay imported, the failing one resumable.
    let mut report = ImportReport::default();
    for path in &args.files {
        let result = tally_logimport::import_files(
            pool,
            std::slice::from_ref(path),
            &opts,
            &mut on_progress,
        );
        match result {
            Ok(r) => report.files.extend(r.files),
            Err(e) => {
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                report.elapsed_secs = started.elapsed().as_secs_f64();
                print_summary(&report);
                return Err(e).with_context(|| format!("importing {}", path.display()));
            }
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    report.elapsed_secs = started.elapsed().as_secs_f64();
    print_summary(&report);
    Ok(())
}

fn print_summary(report: &ImportReport) {
    let mut lines = 0;
    for f in &report.files {
        let c = &f.counts;
        lines += c.lines_parsed;
        let outcome = match f.outcome {
            FileOutcome::Completed => "completed",
            FileOutcome::AlreadyCompleted => "already imported, skipped",
            FileOutcome::Stopped => "stopped",
            FileOutcome::DryRun => "dry run",
        };
        println!(
            "{}: {outcome} ({}{})",
            f.path.display(),
            f.format,
            if f.resumed_at_line > 0 {
                format!(", resumed after line {}", f.resumed_at_line)
            } else {
                String::new()
            }
        );
        println!(
            "  {} lines parsed, {} imported ({} downloads); ignored: {} static, {} bots, \
             {} http errors, {} redirects, {} excluded, {} invalid; {} errors",
            c.lines_parsed,
            c.imported,
            c.downloads,
            c.ignored_static,
            c.ignored_bots,
            c.ignored_http_errors,
            c.ignored_redirects,
            c.ignored_excluded,
            c.ignored_invalid,
            c.errors
        );
        for e in f.errors.iter().take(10) {
            println!("  line {}: {}", e.line, e.reason);
        }
        if f.errors.len() > 10 {
            println!("  ... {} more listed in the run's log", f.errors.len() - 10);
        }
    }
    let secs = report.elapsed_secs.max(1e-9);
    #[expect(clippy::cast_precision_loss, reason = "a rate for display")]
    let rate = lines as f64 / secs;
    println!("{lines} lines in {secs:.1} s ({rate:.0} lines/s)");
}

fn status(pool: &tally_db::DbPool) -> anyhow::Result<()> {
    let st = tally_logimport::status(&mut *pool.get()?)?;
    println!("files:");
    for f in &st.files {
        let r = &f.file;
        println!(
            "  #{} {} [{}] {} lines, {} bytes of {}{}",
            r.idfile,
            r.path,
            r.status,
            r.lines_done,
            r.offset_bytes,
            r.size_bytes,
            r.log_format
                .as_deref()
                .map(|n| format!(", {n}"))
                .unwrap_or_default()
        );
        for s in &f.summaries {
            println!(
                "    run {}: {} parsed, {} imported; ignored {} static, {} bots, {} http errors, \
                 {} redirects, {} excluded, {} invalid; {} errors",
                s.ts_started,
                s.lines_parsed,
                s.lines_imported,
                s.ignored_static,
                s.ignored_bots,
                s.ignored_http_errors,
                s.ignored_redirects,
                s.ignored_excluded,
                s.ignored_invalid,
                s.errors
            );
        }
    }
    println!("days:");
    for d in &st.days {
        println!(
            "  site {} {} [{}] {}/{} files completed",
            d.idsite, d.date, d.status, d.files_completed, d.files_total
        );
    }
    if st.files.is_empty() {
        println!("  (no file imported yet)");
    }
    Ok(())
}
