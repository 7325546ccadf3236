//! `tally-archiver`: turns raw logs into reports.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[path = "../../common/cli.rs"]
mod cli;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};
use tally_archiving::period::{Period, parse_period_kind};
use tally_archiving::scheduler::{self, JobResult, Progress, RunPlan};
use tally_archiving::{ArchivingConfig, Registry, invalidation, storage};
use tally_db::DatabaseConfig;
use tally_schema::PeriodKind;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// Turn raw logs into reports (archives) and manage the archive tables.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true)]
struct Cli {
    /// Config file (TOML). Default: ./tally.toml if present. Every key can be
    /// overridden by TALLY_SECTION_KEY, e.g. TALLY_DATABASE_URL.
    #[arg(long, global = true, env = "TALLY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Archive what needs it, like Matomo's core:archive: the pending
    /// invalidations (old data tracked or imported, `invalidate`), then
    /// today and yesterday of every site with recent visits (archives still
    /// within their TTL are kept).
    Run {
        /// Only these sites (comma-separated ids). Default: every site with
        /// visits in the dates.
        #[arg(long, value_delimiter = ',')]
        sites: Vec<u32>,
        /// Period kinds to archive (comma-separated: day,week,month,year).
        #[arg(long, value_delimiter = ',', default_value = "day,week,month,year")]
        periods: Vec<String>,
        /// Archive these site-local dates instead of today and yesterday:
        /// `YYYY-MM-DD,YYYY-MM-DD`.
        #[arg(long)]
        date_range: Option<String>,
        /// Archives built in parallel (one database connection each).
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        /// Skip the invalidation queue.
        #[arg(long)]
        skip_invalidations: bool,
        /// Archive no segment, not even the pre-processed ones (`segment`
        /// rows with `auto_archive = 1`, archived by default).
        #[arg(long)]
        skip_all_segments: bool,
        /// Keep running: archive, sleep --interval seconds, repeat.
        #[arg(long = "loop")]
        repeat: bool,
        /// Seconds between two runs with --loop.
        #[arg(long, default_value_t = 300)]
        interval: u64,
    },
    /// Queue archives for re-computation (like core:invalidate-report-data):
    /// their current archives are marked invalidated and `run` rebuilds them.
    Invalidate {
        /// Sites (comma-separated ids).
        #[arg(long, value_delimiter = ',', required = true)]
        sites: Vec<u32>,
        /// Dates: `YYYY-MM-DD` or `YYYY-MM-DD,YYYY-MM-DD` (every period of the
        /// kind containing a date of the range is queued).
        #[arg(long)]
        dates: String,
        /// day, week, month or year. A day also queues its week, month and year.
        #[arg(long, default_value = "day")]
        period: String,
    },
    /// Delete invalidated archives that a newer one replaces, archives that
    /// never finished, and range archives older than a day.
    Purge {
        /// Archives still unfinished after this many hours are treated as crashed.
        #[arg(long, default_value_t = 24)]
        error_grace_hours: i64,
    },
    /// List the monthly archive tables (archive_numeric_YYYY_MM, archive_blob_YYYY_MM).
    Tables,
    /// Delete raw data (visits with their actions, conversions and items)
    /// whose last action is older than --older-than-days days before today
    /// (UTC), like Matomo's `delete_logs_older_than`. Reports already
    /// archived are kept; re-archiving those days afterwards would lose them.
    PurgeLogs {
        /// Keep this many days of raw data (at least 1, as Matomo's setting).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        older_than_days: u32,
        /// Visits deleted per transaction.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
        chunk_visits: u32,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    database: DatabaseConfig,
    archiver: ArchivingConfig,
    /// Read by tally-tracker; accepted here so that one tally.toml serves all binaries.
    tracker: toml::Table,
    /// Read by tally-admin serve; accepted here for the same reason.
    reporting: toml::Table,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::main_with("tally-archiver", || run(cli))
}

fn parse_date(text: &str) -> anyhow::Result<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), format).with_context(|| format!("invalid date {text:?} (YYYY-MM-DD)"))
}

fn parse_dates(text: &str) -> anyhow::Result<(Date, Date)> {
    let (from, to) = match text.split_once(',') {
        Some((from, to)) => (parse_date(from)?, parse_date(to)?),
        None => {
            let date = parse_date(text)?;
            (date, date)
        }
    };
    if to < from {
        bail!("date range {text:?} ends before it starts");
    }
    Ok((from, to))
}

/// Matomo's `Date::factory('today')->subDay(N)`: midnight UTC, N days ago.
fn purge_cutoff(today: Date, older_than_days: u32) -> PrimitiveDateTime {
    (today - time::Duration::days(i64::from(older_than_days))).midnight()
}

fn parse_kinds(names: &[String]) -> anyhow::Result<Vec<PeriodKind>> {
    names
        .iter()
        .map(|name| {
            let kind = parse_period_kind(name.trim())?;
            if kind == PeriodKind::Range {
                bail!("--periods takes day, week, month or year; ranges are archived on request");
            }
            Ok(kind)
        })
        .collect()
}

fn now_utc() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc();
    PrimitiveDateTime::new(now.date(), now.time())
}

/// A progress bar on a terminal, one log line per archive otherwise.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress for Reporter {
    fn set_total(&self, total: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(bar.length().unwrap_or(0) + total as u64);
        }
    }

    fn finished(&self, job: &JobResult) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if let Err(error) = &job.result {
                bar.println(format!("failed: {}: {error}", job.describe()));
            }
            return;
        }
        match &job.result {
            Ok(built) => {
                tracing::info!(idsite = job.idsite, period = %job.period, segment = job.segment.as_deref().unwrap_or(""), built, "archive")
            }
            Err(error) => {
                tracing::error!(idsite = job.idsite, period = %job.period, segment = job.segment.as_deref().unwrap_or(""), %error, "archive failed")
            }
        }
    }
}

fn run_once(
    pool: &tally_db::DbPool,
    registry: &Registry,
    config: &ArchivingConfig,
    plan: &RunPlan,
) -> anyhow::Result<()> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} archiving [{bar:40}] {pos}/{len} {per_sec} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let reporter = Reporter { bar };
    let started = std::time::Instant::now();
    let report = scheduler::run(pool, registry, config, plan, &reporter)?;
    if let Some(bar) = &reporter.bar {
        bar.finish_and_clear();
    }
    let failures: Vec<String> = report
        .failures()
        .map(|job| {
            format!(
                "{}: {}",
                job.describe(),
                job.result.as_ref().err().map_or("", String::as_str)
            )
        })
        .collect();
    tracing::info!(
        built = report.built(),
        jobs = report.jobs.len(),
        failed = failures.len(),
        expanded = report.expanded,
        recovered = report.recovered,
        seconds = started.elapsed().as_secs_f64(),
        "archiving run done"
    );
    if !failures.is_empty() {
        bail!(
            "{} archive(s) failed: {}",
            failures.len(),
            failures.join("; ")
        );
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config: Config = tally_db::config::load(cli.config.as_deref()).context("loading config")?;
    let archiving = config.archiver;
    match cli.command {
        Command::Run {
            sites,
            periods,
            date_range,
            concurrency,
            skip_invalidations,
            skip_all_segments,
            repeat,
            interval,
        } => {
            let plan = RunPlan {
                sites,
                periods: parse_kinds(&periods)?,
                dates: date_range.as_deref().map(parse_dates).transpose()?,
                concurrency: concurrency.max(1),
                invalidations: !skip_invalidations,
                segments: !skip_all_segments,
            };
            let pool = tally_db::pool(&config.database)?;
            let registry = Registry::core_with(&archiving);
            loop {
                let outcome = run_once(&pool, &registry, &archiving, &plan);
                if !repeat {
                    return outcome;
                }
                // In a loop a failed run is logged and retried next time.
                if let Err(error) = outcome {
                    tracing::error!("{error:#}");
                }
                std::thread::sleep(Duration::from_secs(interval));
            }
        }
        Command::Invalidate {
            sites,
            dates,
            period,
        } => {
            let (from, to) = parse_dates(&dates)?;
            let kind = parse_period_kind(&period)?;
            if kind == PeriodKind::Range {
                bail!("--period takes day, week, month or year");
            }
            let mut conn = tally_db::connect(&config.database.url)?;
            let mut queued = 0;
            for idsite in sites {
                tally_archiving::SiteInfo::load(&mut conn, idsite)?;
                let mut seen = std::collections::HashSet::new();
                let mut date = from;
                while date <= to {
                    let period = Period::containing(kind, date);
                    if seen.insert(period) {
                        queued +=
                            invalidation::invalidate(&mut conn, idsite, period, true, now_utc())?;
                    }
                    date = match date.next_day() {
                        Some(next) => next,
                        None => break,
                    };
                }
            }
            println!("queued {queued} archive(s); `tally-archiver run` rebuilds them");
            Ok(())
        }
        Command::Purge { error_grace_hours } => {
            let mut conn = tally_db::connect(&config.database.url)?;
            let report = storage::purge(
                &mut conn,
                now_utc(),
                time::Duration::hours(error_grace_hours.max(0)),
            )?;
            println!(
                "purged {} invalidated, {} unfinished, {} range archive(s)",
                report.invalidated, report.errored, report.ranges
            );
            Ok(())
        }
        Command::PurgeLogs {
            older_than_days,
            chunk_visits,
        } => {
            let mut conn = tally_db::connect(&config.database.url)?;
            let cutoff = purge_cutoff(now_utc().date(), older_than_days);
            let counts = tally_management::purge_logs_older_than(
                &mut conn,
                &tally_management::Principal::super_user("tally-archiver"),
                cutoff,
                chunk_visits,
            )?;
            println!(
                "deleted {} visit(s), {} action(s), {} conversion(s), {} ecommerce item(s) last active before {cutoff} UTC",
                counts.visits, counts.actions, counts.conversions, counts.conversion_items
            );
            Ok(())
        }
        Command::Tables => {
            let mut conn = tally_db::connect(&config.database.url)?;
            let tables = tally_db::list_archive_tables(&mut conn)?;
            if tables.is_empty() {
                println!("no archive tables yet");
            }
            for table in tables {
                println!("{table}");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn dates_and_periods_are_checked() {
        assert!(super::parse_dates("2024-01-02,2024-01-01").is_err());
        assert!(super::parse_dates("2024-13-01").is_err());
        assert_eq!(
            super::parse_dates("2024-01-01").ok(),
            Some((
                time::macros::date!(2024 - 01 - 01),
                time::macros::date!(2024 - 01 - 01)
            ))
        );
        assert!(super::parse_kinds(&["range".to_owned()]).is_err());
        assert!(super::parse_kinds(&["fortnight".to_owned()]).is_err());
    }

    #[test]
    fn purge_cutoff_is_midnight_n_days_ago() {
        assert_eq!(
            super::purge_cutoff(time::macros::date!(2026 - 03 - 02), 180),
            time::macros::datetime!(2025 - 09 - 03 00:00)
        );
    }

    #[test]
    fn purge_logs_needs_a_positive_number_of_days() {
        use clap::Parser as _;
        assert!(
            super::Cli::try_parse_from(["tally-archiver", "purge-logs", "--older-than-days", "0"])
                .is_err()
        );
        assert!(super::Cli::try_parse_from(["tally-archiver", "purge-logs"]).is_err());
        assert!(
            super::Cli::try_parse_from(["tally-archiver", "purge-logs", "--older-than-days", "30"])
                .is_ok()
        );
    }
}
