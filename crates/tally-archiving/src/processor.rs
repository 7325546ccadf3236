//! Building one archive (`ArchiveProcessor`, `Loader`, `PluginsArchiver`):
//! reuse a usable archive, or build the day from the logs or the period
//! from its sub-periods (archiving those first), then write it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use diesel::MysqlConnection;
use tally_db::{DbPool, PooledConn};
use tally_schema::PeriodKind;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::ArchiveError;
use crate::context::{
    DayContext, KnownVisitors, Output, PeriodContext, Scans, SubArchive, SubarchiveCache,
};
use crate::logs::LogAggregator;
use crate::period::Period;
use crate::record::{Record, RecordKind, Registry};
use crate::segment::Segment;
use crate::site::SiteInfo;
use crate::storage::{self, ArchiveKey, ArchiveWriter, StoredArchive};

/// Archiving settings (`[archiver]` in `tally.toml`). The row limits keep
/// the names of Matomo's `[General]` keys; a table over its limit keeps its
/// largest rows and sums the others into one "Others" row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchivingConfig {
    /// Seconds an archive of a period containing today stays usable
    /// (`time_before_today_archive_considered_outdated`, 900).
    pub today_ttl_secs: i64,
    /// Leaves the goal metrics out of the page URL and title reports
    /// (Matomo's `disable_archive_actions_goals`, off by default as
    /// there): they cost the day archive four more queries and make every
    /// page row of a converting site carry a nested `goals` column
    /// (docs/PERFORMANCE.md has what that costs).
    pub disable_archive_actions_goals: bool,
    /// Splits page titles into a hierarchy of page title "folders" on this
    /// text in the page title reports (Matomo's `[General]
    /// action_title_category_delimiter`, empty by default as there: titles
    /// stay whole). The Reporting API's `Actions.getPageTitle` follows it,
    /// and the tracker trims titles on it (`TrackerConfig::title_category_delimiter`).
    pub action_title_category_delimiter: String,
    /// Top-level rows of the referrer tables (keywords, search engines,
    /// websites, campaigns…), default 1000. Matomo's older spelling
    /// `datatable_archiving_maximum_rows_referers`, which its Referrers
    /// builder reads first, is accepted as the same key.
    #[serde(alias = "datatable_archiving_maximum_rows_referers")]
    pub datatable_archiving_maximum_rows_referrers: usize,
    /// Rows of each referrer subtable, default 50 (also
    /// `datatable_archiving_maximum_rows_subtable_referers`).
    #[serde(alias = "datatable_archiving_maximum_rows_subtable_referers")]
    pub datatable_archiving_maximum_rows_subtable_referrers: usize,
    /// Rows of the User IDs report, default 50,000.
    pub datatable_archiving_maximum_rows_userid_users: usize,
    /// Top-level rows of a custom dimension's report and of the custom
    /// variables report, default 1000 (Matomo 4 moved the CustomVariables
    /// plugin's own keys to these).
    pub datatable_archiving_maximum_rows_custom_dimensions: usize,
    /// Rows of each subtable of an action dimension's report and of each
    /// custom variable's values, default 1000.
    pub datatable_archiving_maximum_rows_subtable_custom_dimensions: usize,
    /// Top-level rows of the page URL, page title, download and outlink
    /// tables and of the content reports, default 500.
    pub datatable_archiving_maximum_rows_actions: usize,
    /// Rows of each of their subtables, default 100.
    pub datatable_archiving_maximum_rows_subtable_actions: usize,
    /// Rows of the site search keyword and category tables, default 500.
    pub datatable_archiving_maximum_rows_site_search: usize,
    /// Top-level rows of the event tables, default 500.
    pub datatable_archiving_maximum_rows_events: usize,
    /// Rows of each event subtable, default 500.
    pub datatable_archiving_maximum_rows_subtable_events: usize,
    /// Rows of each product (ecommerce item) report, default 10,000.
    pub datatable_archiving_maximum_rows_products: usize,
    /// Rows of the other tables (devices, browsers, operating systems,
    /// resolutions, configurations, languages, regions, cities), default
    /// 500.
    pub datatable_archiving_maximum_rows_standard: usize,
}

impl Default for ArchivingConfig {
    fn default() -> Self {
        Self {
            today_ttl_secs: 900,
            disable_archive_actions_goals: false,
            action_title_category_delimiter: String::new(),
            datatable_archiving_maximum_rows_referrers: 1000,
            datatable_archiving_maximum_rows_subtable_referrers: 50,
            datatable_archiving_maximum_rows_userid_users: 50_000,
            datatable_archiving_maximum_rows_custom_dimensions: 1000,
            datatable_archiving_maximum_rows_subtable_custom_dimensions: 1000,
            datatable_archiving_maximum_rows_actions: 500,
            datatable_archiving_maximum_rows_subtable_actions: 100,
            datatable_archiving_maximum_rows_site_search: 500,
            datatable_archiving_maximum_rows_events: 500,
            datatable_archiving_maximum_rows_subtable_events: 500,
            datatable_archiving_maximum_rows_products: 10_000,
            datatable_archiving_maximum_rows_standard: 500,
        }
    }
}

/// What [`Archiver::archive`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A usable archive existed.
    Reused(StoredArchive),
    /// A new archive was written (records and done flag).
    Built(StoredArchive),
    /// Nothing to archive: the period ends before the site was created or
    /// starts after today.
    NoData,
}

impl Outcome {
    /// The archive, if there is one.
    pub fn archive(&self) -> Option<StoredArchive> {
        match self {
            Self::Reused(a) | Self::Built(a) => Some(*a),
            Self::NoData => None,
        }
    }
}

/// Builds archives with a registry of builders.
#[derive(Debug)]
pub struct Archiver<'r> {
    registry: &'r Registry,
    config: ArchivingConfig,
    workers: Option<Workers>,
    /// Distinct visitors of the archives built recently, for the unique
    /// recount of their parent periods.
    known_visitors: KnownVisitors,
}

fn to_primitive(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    PrimitiveDateTime::new(t.date(), t.time())
}

fn unix_to_primitive(unix: i64) -> PrimitiveDateTime {
    OffsetDateTime::from_unix_timestamp(unix).map_or(PrimitiveDateTime::MIN, to_primitive)
}

impl<'r> Archiver<'r> {
    /// An archiver running the builders of `registry`.
    pub fn new(registry: &'r Registry, config: ArchivingConfig) -> Self {
        Self {
            registry,
            config,
            workers: None,
            known_visitors: KnownVisitors::default(),
        }
    }

    /// Lets a build use up to `threads` threads (this one included), each
    /// extra one with its own connection from `pool`, to build the missing
    /// sub-periods of a period side by side (the months of a year, the
    /// weeks of a month). Extra connections are only taken when idle in
    /// the pool. Each archive is still built by one thread and written on
    /// its connection as without workers, so the archives are the same.
    #[must_use]
    pub fn with_workers(mut self, pool: DbPool, threads: usize) -> Self {
        self.workers = (threads > 1).then(|| Workers {
            pool,
            spare: AtomicUsize::new(threads - 1),
        });
        self
    }

    /// The oldest `ts_archived` a usable archive of `period` may have at
    /// `now` (MATOMO.md section 7.9): a finished period needs an archive
    /// written after it ended; a period containing now one younger than
    /// the TTL.
    pub fn min_ts_archived(
        &self,
        site: &SiteInfo,
        period: Period,
        now: OffsetDateTime,
    ) -> PrimitiveDateTime {
        let (_, end) = period.utc_bounds(&site.timezone);
        let now_unix = now.unix_timestamp();
        if end <= now_unix {
            unix_to_primitive(end)
        } else {
            to_primitive(now - Duration::seconds(self.config.today_ttl_secs))
        }
    }

    /// Returns a usable archive of `period` for `site`, building it (and
    /// the sub-period archives it needs) when there is none. With `force`,
    /// this period's archive is rebuilt even if a usable one exists (its
    /// sub-periods are still reused when usable).
    ///
    /// # Errors
    /// Any database, table or builder error; a failed archive is left with
    /// its done flag at 2 and is never read.
    pub fn archive(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<Outcome, ArchiveError> {
        self.archive_segment(conn, site, period, &Segment::default(), now, force)
    }

    /// [`Archiver::archive`] for the visits of `segment`: the archive is
    /// stored under `done<md5 of the definition>` (Matomo's name), its
    /// sub-periods are archived with the same segment, and every log query
    /// of the builders reads only the segment's visits. The empty segment
    /// is the plain archive.
    ///
    /// # Errors
    /// As [`Archiver::archive`].
    pub fn archive_segment(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        segment: &Segment,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<Outcome, ArchiveError> {
        let job = Job {
            site,
            segment,
            plugin: None,
            now,
        };
        self.archive_with(conn, job, period, force)
    }

    /// [`Archiver::archive_segment`] with only the builders of `plugin`,
    /// stored under `done<hash>.<plugin>`: Matomo's single-plugin archives,
    /// which another report depends on (VisitFrequency reads VisitsSummary
    /// archives of two visitor-type segments, see [`crate::visit_frequency`]).
    ///
    /// # Errors
    /// As [`Archiver::archive`].
    #[expect(
        clippy::too_many_arguments,
        reason = "archive_segment's arguments plus the plugin; a struct would only rename them"
    )]
    pub fn archive_plugin_segment(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        segment: &Segment,
        plugin: &str,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<Outcome, ArchiveError> {
        let job = Job {
            site,
            segment,
            plugin: Some(plugin),
            now,
        };
        self.archive_with(conn, job, period, force)
    }

    fn archive_with(
        &self,
        conn: &mut MysqlConnection,
        job: Job<'_>,
        period: Period,
        force: bool,
    ) -> Result<Outcome, ArchiveError> {
        let Job {
            site,
            segment,
            plugin,
            now,
        } = job;
        if job.has_no_data(period) {
            return Ok(Outcome::NoData);
        }
        let key = ArchiveKey {
            idsite: site.idsite,
            period,
            done_flag: job.done_flag(),
        };
        if !force {
            let min = self.min_ts_archived(site, period, now);
            if let Some(found) = storage::find_archive(conn, &key, Some(min), false)? {
                return Ok(Outcome::Reused(found));
            }
        }
        let (start, end) = period.utc_bounds(&site.timezone);
        let logs = LogAggregator::new(site.idsite, start, end)?.with_segment(segment);
        let mut builders = self.registry.builders_for(site);
        if let Some(plugin) = plugin {
            builders.retain(|builder| builder.plugin() == plugin);
        }
        let output = if period.kind() == PeriodKind::Day {
            let has_visits = logs.has_visits(conn)?;
            let mut ctx = DayContext {
                conn: &mut *conn,
                site,
                period,
                logs,
                scans: Scans::planned(
                    builders
                        .iter()
                        .flat_map(|builder| builder.shared_scans().iter().copied()),
                ),
                output: Output::default(),
            };
            for builder in &builders {
                if has_visits || builder.runs_without_visits() {
                    builder.build_day(&mut ctx)?;
                }
            }
            ctx.output
        } else {
            // A range that ends today or later is cut as Matomo cuts it
            // then (whole periods running past its end); others as usual.
            let subperiods = if period.kind() == PeriodKind::Range {
                period.subperiods_as_of(job.today())
            } else {
                period.subperiods()
            };
            let archives = self.archive_subperiods(conn, job, &subperiods)?;
            let subarchives: Vec<SubArchive> = subperiods
                .into_iter()
                .zip(archives)
                .map(|(period, archive)| SubArchive { period, archive })
                .collect();
            let cache = SubarchiveCache::default();
            let build = |conn: &mut MysqlConnection, index: usize| {
                let mut ctx = PeriodContext {
                    conn,
                    site,
                    period,
                    logs: logs.clone(),
                    subarchives: &subarchives,
                    cache: &cache,
                    known_visitors: &self.known_visitors,
                    now: now.unix_timestamp(),
                    output: Output::default(),
                };
                builders[index].build_period(&mut ctx)?;
                Ok(ctx.output)
            };
            // Builders are independent here (each sums its own records), so
            // with a spare connection they run side by side: the unique
            // visitor recount, for one, waits on MariaDB while another
            // builder sums tables.
            let mut extra = self.take_workers(builders.len().saturating_sub(1));
            let mut output = Output::default();
            for built in share_work(conn, &mut extra, builders.len(), build)? {
                output.append(built);
            }
            output
        };
        let records: Vec<Record> = builders.iter().flat_map(|b| b.records()).collect();
        let mut output = output;
        let uniques = output.uniques.take();
        let stored = write_archive(conn, key, to_primitive(now), &records, output)?;
        // Only days and weeks are sub-periods of a period that recounts
        // (their week and month); years and ranges drop unique visitors.
        if let Some(uniques) = uniques
            && matches!(period.kind(), PeriodKind::Day | PeriodKind::Week)
        {
            self.known_visitors.insert(&stored, uniques);
        }
        tracing::debug!(idsite = site.idsite, %period, idarchive = stored.idarchive, "archived");
        Ok(Outcome::Built(stored))
    }

    /// The usable archives of `periods` (in order; `None` without data),
    /// building the missing ones: all are looked up with one query per
    /// month table, then the missing ones are built, side by side when
    /// [`Archiver::with_workers`] gave spare connections.
    fn archive_subperiods(
        &self,
        conn: &mut MysqlConnection,
        job: Job<'_>,
        periods: &[Period],
    ) -> Result<Vec<Option<StoredArchive>>, ArchiveError> {
        let mut archives = vec![None; periods.len()];
        let wanted: Vec<usize> = (0..periods.len())
            .filter(|&i| !job.has_no_data(periods[i]))
            .collect();
        let lookups: Vec<(Period, Option<PrimitiveDateTime>)> = wanted
            .iter()
            .map(|&i| {
                let period = periods[i];
                (
                    period,
                    Some(self.min_ts_archived(job.site, period, job.now)),
                )
            })
            .collect();
        let found =
            storage::find_archives(conn, job.site.idsite, &job.done_flag(), &lookups, false)?;
        let mut missing = Vec::new();
        for (&index, found) in wanted.iter().zip(found) {
            match found {
                Some(archive) => archives[index] = Some(archive),
                None => missing.push(index),
            }
        }
        let missing_periods: Vec<Period> = missing.iter().map(|&i| periods[i]).collect();
        let built = self.build_all(conn, job, &missing_periods)?;
        for (index, archive) in missing.into_iter().zip(built) {
            archives[index] = archive;
        }
        Ok(archives)
    }

    /// Builds an archive of each of `periods` (none of which has a usable
    /// one), in order. With spare workers, each takes the next period on
    /// its own connection; every archive is still written in its own
    /// transactions on the connection that built it.
    fn build_all(
        &self,
        conn: &mut MysqlConnection,
        job: Job<'_>,
        periods: &[Period],
    ) -> Result<Vec<Option<StoredArchive>>, ArchiveError> {
        let mut extra = self.take_workers(periods.len().saturating_sub(1));
        share_work(conn, &mut extra, periods.len(), |conn, index| {
            Ok(self
                .archive_with(conn, job, periods[index], true)?
                .archive())
        })
    }

    /// Up to `wanted` spare workers (none without [`Archiver::with_workers`]).
    fn take_workers(&self, wanted: usize) -> Vec<Worker<'_>> {
        match &self.workers {
            Some(workers) if wanted > 0 => workers.take(wanted),
            _ => Vec::new(),
        }
    }
}

/// Runs `work` for every index below `count` and returns the results in
/// index order: on this thread alone without `extra` workers, otherwise on
/// this thread and one per worker, each taking the next index. After an
/// error the other threads stop once their current item is done.
fn share_work<T, F>(
    conn: &mut MysqlConnection,
    extra: &mut [Worker<'_>],
    count: usize,
    work: F,
) -> Result<Vec<T>, ArchiveError>
where
    T: Send,
    F: Fn(&mut MysqlConnection, usize) -> Result<T, ArchiveError> + Sync,
{
    if extra.is_empty() {
        return (0..count).map(|index| work(conn, index)).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let run = |conn: &mut MysqlConnection| -> Result<Vec<(usize, T)>, ArchiveError> {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= count {
                break;
            }
            match work(conn, index) {
                Ok(result) => done.push((index, result)),
                Err(error) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        Ok(done)
    };
    let results = std::thread::scope(|scope| {
        let run = &run;
        let handles: Vec<_> = extra
            .iter_mut()
            .map(|worker| scope.spawn(move || run(&mut worker.conn)))
            .collect();
        let mut results = vec![run(conn)];
        for handle in handles {
            results.push(
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        results
    });
    let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(count).collect();
    for result in results {
        for (index, value) in result? {
            slots[index] = Some(value);
        }
    }
    slots
        .into_iter()
        .map(|slot| {
            slot.ok_or_else(|| ArchiveError::Builder("a parallel build skipped an item".into()))
        })
        .collect()
}

/// What every archive of one [`Archiver`] call shares.
#[derive(Debug, Clone, Copy)]
struct Job<'a> {
    site: &'a SiteInfo,
    segment: &'a Segment,
    plugin: Option<&'a str>,
    now: OffsetDateTime,
}

impl Job<'_> {
    /// The site's local date at `now`.
    fn today(&self) -> time::Date {
        self.site.timezone.local_date(self.now.unix_timestamp())
    }

    /// Whether `period` starts after today or ends before the site existed.
    fn has_no_data(&self, period: Period) -> bool {
        period.start() > self.today()
            || self
                .site
                .created
                .is_some_and(|created| period.end() < created)
    }

    /// The done flag name of the archives.
    fn done_flag(&self) -> String {
        match self.plugin {
            None => self.segment.done_flag(),
            Some(plugin) => format!("{}.{plugin}", self.segment.done_flag()),
        }
    }
}

/// Spare connections for building sub-periods side by side, and how many
/// more threads may still take one (shared by every level of a build, so
/// a month built by a worker does not spread its weeks over more threads
/// than were given).
#[derive(Debug)]
struct Workers {
    pool: DbPool,
    spare: AtomicUsize,
}

/// A worker's connection; its thread slot is given back when dropped.
struct Worker<'a> {
    conn: PooledConn,
    spare: &'a AtomicUsize,
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        self.spare.fetch_add(1, Ordering::AcqRel);
    }
}

impl Workers {
    /// Up to `wanted` workers: as many as there are free thread slots and
    /// idle pooled connections. Never waits for a connection: a pool
    /// exhausted by other requests means building on this thread alone.
    fn take(&self, wanted: usize) -> Vec<Worker<'_>> {
        let mut out = Vec::new();
        while out.len() < wanted
            && self
                .spare
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
        {
            match self.pool.try_get() {
                Some(conn) => out.push(Worker {
                    conn,
                    spare: &self.spare,
                }),
                None => {
                    self.spare.fetch_add(1, Ordering::AcqRel);
                    break;
                }
            }
        }
        out
    }
}

/// Writes the declared records of `output` (blob tables truncated to their
/// record's limits, count-of-rows records computed) and finalises the
/// archive. Undeclared records are an error: a builder that writes a name
/// it did not declare would not be aggregated for longer periods.
fn write_archive(
    conn: &mut MysqlConnection,
    key: ArchiveKey,
    now: PrimitiveDateTime,
    records: &[Record],
    output: Output,
) -> Result<StoredArchive, ArchiveError> {
    let declared: HashMap<&str, &Record> = records.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut writer = ArchiveWriter::begin(conn, key, now)?;
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    for (name, mut table) in output.tables {
        let record = declared
            .get(name.as_str())
            .filter(|r| r.kind == RecordKind::Blob)
            .ok_or_else(|| ArchiveError::Builder(format!("blob record {name} is not declared")))?;
        table.aggregation_ops = record.aggregation_ops.clone();
        table.truncate_recursive(
            record.max_rows,
            record.max_subtable_rows,
            &record.sort_column,
        )?;
        counts.insert(
            name.clone(),
            (table.rows_count(), table.rows_count_recursive()),
        );
        writer.insert_table(&name, &table)?;
    }
    for (name, value) in output.numeric {
        let record = declared
            .get(name.as_str())
            .filter(|r| r.kind == RecordKind::Numeric)
            .ok_or_else(|| {
                ArchiveError::Builder(format!("numeric record {name} is not declared"))
            })?;
        if record.count_of_rows.is_none() {
            writer.insert_numeric(&name, value);
        }
    }
    for record in records {
        if let Some(count) = &record.count_of_rows {
            let (top, recursive) = counts.get(&count.blob).copied().unwrap_or((0, 0));
            let value = if count.recursive { recursive } else { top };
            #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
            writer.insert_numeric(&record.name, value as f64);
        }
    }
    writer.finish(conn)
}
