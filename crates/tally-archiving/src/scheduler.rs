//! What `tally-archiver run` does (`core:archive`, `CronArchive`): decide
//! what needs archiving, then archive it on several threads.

use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use tally_db::DbPool;
use tally_schema::PeriodKind;
use tally_schema::schema::log_visit;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::ArchiveError;
use crate::invalidation::{self, Claimer};
use crate::period::Period;
use crate::processor::{Archiver, ArchivingConfig, Outcome};
use crate::record::Registry;
use crate::segment::{Segment, SegmentError};
use crate::site::SiteInfo;
use crate::{storage, visit_frequency};

/// What to archive in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    /// Sites to archive; empty = every site with visits in the dates.
    pub sites: Vec<u32>,
    /// Period kinds to archive for each date (day, week, month, year).
    pub periods: Vec<PeriodKind>,
    /// Dates to archive (site-local); `None` = today and yesterday.
    pub dates: Option<(Date, Date)>,
    /// Worker threads.
    pub concurrency: usize,
    /// Also consume the invalidation queue.
    pub invalidations: bool,
    /// Also archive the site's pre-processed segments (`segment` rows with
    /// `auto_archive = 1`) for every planned and invalidated period.
    pub segments: bool,
}

impl Default for RunPlan {
    fn default() -> Self {
        Self {
            sites: Vec::new(),
            periods: vec![
                PeriodKind::Day,
                PeriodKind::Week,
                PeriodKind::Month,
                PeriodKind::Year,
            ],
            dates: None,
            concurrency: 2,
            invalidations: true,
            segments: true,
        }
    }
}

/// One archive a run built, reused or failed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// The site.
    pub idsite: u32,
    /// The period.
    pub period: Period,
    /// The segment definition, for a segment archive.
    pub segment: Option<String>,
    /// What happened: `Ok(true)` built, `Ok(false)` reused or nothing to do,
    /// `Err(message)` failed.
    pub result: Result<bool, String>,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Every job, in completion order.
    pub jobs: Vec<JobResult>,
    /// Invalidation rows queued by expanding days to their parents.
    pub expanded: usize,
    /// Stale claims returned to the queue.
    pub recovered: usize,
}

impl JobResult {
    /// The archive in words: `site 1 day 2026-01-05`, plus `segment <definition>`.
    pub fn describe(&self) -> String {
        match &self.segment {
            None => format!("site {} {}", self.idsite, self.period),
            Some(segment) => format!("site {} {} segment {segment}", self.idsite, self.period),
        }
    }
}

impl RunReport {
    /// Archives built.
    pub fn built(&self) -> usize {
        self.jobs.iter().filter(|j| j.result == Ok(true)).count()
    }

    /// Jobs that failed.
    pub fn failures(&self) -> impl Iterator<Item = &JobResult> {
        self.jobs.iter().filter(|j| j.result.is_err())
    }
}

/// Progress callbacks (a progress bar, log lines).
pub trait Progress: Send + Sync {
    /// `total` jobs are known so far.
    fn set_total(&self, total: usize);
    /// One job finished.
    fn finished(&self, job: &JobResult);
}

/// No progress output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn set_total(&self, _total: usize) {}
    fn finished(&self, _job: &JobResult) {}
}

fn now_primitive(now: OffsetDateTime) -> PrimitiveDateTime {
    PrimitiveDateTime::new(now.date(), now.time())
}

fn conn_error(error: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Builder(format!("no database connection: {error}"))
}

/// Sites with at least one visit whose last action is at or after `since`.
fn sites_with_visits(
    conn: &mut MysqlConnection,
    since: PrimitiveDateTime,
) -> Result<Vec<u32>, ArchiveError> {
    let mut sites = Vec::new();
    for idsite in SiteInfo::all_ids(conn)? {
        let any: Option<u64> = log_visit::table
            .filter(log_visit::idsite.eq(idsite))
            .filter(log_visit::visit_last_action_time.ge(since))
            .select(log_visit::idvisit)
            .first(conn)
            .optional()?;
        if any.is_some() {
            sites.push(idsite);
        }
    }
    Ok(sites)
}

/// A pre-processed segment's definition and what parsing it gave.
pub type AutoSegment = (String, Result<Segment, SegmentError>);

/// The pre-processed segments of `idsite`: `segment` rows to archive
/// automatically, for all sites or for this one, not deleted; each
/// definition with its parse result (a definition we cannot use is
/// reported as a failed job, not skipped silently).
///
/// # Errors
/// The query error.
pub fn auto_archive_segments(
    conn: &mut MysqlConnection,
    site: &SiteInfo,
) -> Result<Vec<AutoSegment>, ArchiveError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        definition: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT definition FROM segment WHERE auto_archive = 1 AND deleted = 0 \
         AND (enable_only_idsite = 0 OR enable_only_idsite IS NULL OR enable_only_idsite = ?) \
         ORDER BY idsegment",
    )
    .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(site.idsite)
    .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|row| seen.insert(row.definition.clone()))
        .map(|row| {
            let parsed = site.parse_segment(&row.definition);
            (row.definition, parsed)
        })
        .collect())
}

/// Runs `plan`: consumes the invalidation queue (days first), then archives
/// the planned sites and dates (reusing archives that are still usable,
/// as `core:archive` does for today and yesterday). A failed archive does
/// not stop the others; it is reported.
///
/// # Errors
/// A database error outside any single archive (listing sites, the queue).
pub fn run(
    pool: &DbPool,
    registry: &Registry,
    config: &ArchivingConfig,
    plan: &RunPlan,
    progress: &dyn Progress,
) -> Result<RunReport, ArchiveError> {
    let now = OffsetDateTime::now_utc();
    let claimer = Claimer::current();
    let mut report = RunReport::default();
    let mut conn = pool.get().map_err(conn_error)?;
    if plan.invalidations {
        report.recovered = invalidation::recover_stale(
            &mut conn,
            &claimer,
            now_primitive(now),
            time::Duration::days(1),
        )?;
        report.expanded = invalidation::expand_queued_days(&mut conn, now_primitive(now))?;
    }

    // Planned jobs: (site, period) for each date and period kind.
    let sites = if plan.sites.is_empty() {
        let since = match plan.dates {
            // Visits of the range, with a day of margin for time zones.
            Some((from, _)) => from.previous_day().unwrap_or(from).midnight(),
            None => (now.date() - time::Duration::days(2)).midnight(),
        };
        sites_with_visits(&mut conn, since)?
    } else {
        plan.sites.clone()
    };
    let mut jobs: Vec<(SiteInfo, Period, Option<Arc<Segment>>)> = Vec::new();
    let mut unusable = Vec::new();
    for idsite in sites {
        let site = SiteInfo::load(&mut conn, idsite)?;
        let mut segments: Vec<Option<Arc<Segment>>> = vec![None];
        if plan.segments {
            for (definition, parsed) in auto_archive_segments(&mut conn, &site)? {
                match parsed {
                    Ok(segment) if !segment.is_empty() => segments.push(Some(Arc::new(segment))),
                    Ok(_) => {}
                    Err(error) => unusable.push((idsite, definition, error.to_string())),
                }
            }
        }
        let today = site.timezone.local_date(now.unix_timestamp());
        let (from, to) = plan
            .dates
            .unwrap_or((today.previous_day().unwrap_or(today), today));
        let mut seen = std::collections::HashSet::new();
        let mut date = from;
        while date <= to {
            for kind in &plan.periods {
                let period = Period::containing(*kind, date);
                if seen.insert(period) {
                    for segment in &segments {
                        jobs.push((site.clone(), period, segment.clone()));
                    }
                }
            }
            match date.next_day() {
                Some(next) => date = next,
                None => break,
            }
        }
    }
    drop(conn);

    // A phase with fewer jobs than threads (one month, say) lends its idle
    // connections to the builds: a period's builders run side by side.
    let archiver =
        Archiver::new(registry, config.clone()).with_workers(pool.clone(), plan.concurrency);
    let results = Mutex::new(Vec::new());
    progress.set_total(jobs.len() + unusable.len());
    let record = |job: JobResult| {
        progress.finished(&job);
        if let Ok(mut results) = results.lock() {
            results.push(job);
        }
    };
    for (idsite, definition, error) in unusable {
        // Reported once per run, under the first planned period.
        if let Some((_, period, _)) = jobs.iter().find(|(site, _, _)| site.idsite == idsite) {
            record(JobResult {
                idsite,
                period: *period,
                segment: Some(definition),
                result: Err(format!("unusable segment: {error}")),
            });
        }
    }
    // Phase 1, the queue: its own order (days first) and claims keep
    // workers apart. Then one phase per period kind, so that no worker
    // builds a week while another is still building one of its days.
    if plan.invalidations {
        in_parallel(plan.concurrency, pool, |conn| {
            while let Some(claim) = invalidation::claim_next(conn, &claimer, now_primitive(now))? {
                if claim.name != storage::DONE {
                    record(segment_claim(&archiver, conn, &claim, now)?);
                    continue;
                }
                let site = SiteInfo::load(conn, claim.idsite);
                let outcome = site
                    .as_ref()
                    .map_err(|error| ArchiveError::Builder(error.to_string()))
                    .and_then(|site| archiver.archive(conn, site, claim.period, now, true));
                // The segment archives of the period were invalidated with
                // it (every `done%` flag): rebuild them too.
                let segments = match (&outcome, &site) {
                    (Ok(_), Ok(site)) if plan.segments => auto_archive_segments(conn, site)?,
                    _ => Vec::new(),
                };
                let result = match outcome {
                    Ok(outcome) => {
                        invalidation::complete(conn, &claim)?;
                        Ok(matches!(outcome, Outcome::Built(_)))
                    }
                    Err(error) => {
                        invalidation::release(conn, &claim)?;
                        Err(error.to_string())
                    }
                };
                let plain_ok = result.is_ok();
                record(JobResult {
                    idsite: claim.idsite,
                    period: claim.period,
                    segment: None,
                    result,
                });
                if plain_ok
                    && plan.segments
                    && let Ok(site) = &site
                {
                    for job in visit_frequency_jobs(&archiver, conn, site, claim.period, now, true)
                    {
                        record(job);
                    }
                }
                if let Ok(site) = &site {
                    for (definition, parsed) in segments {
                        let result = parsed
                            .map_err(ArchiveError::from)
                            .and_then(|segment| {
                                archiver.archive_segment(
                                    conn,
                                    site,
                                    claim.period,
                                    &segment,
                                    now,
                                    true,
                                )
                            })
                            .map(|outcome| matches!(outcome, Outcome::Built(_)))
                            .map_err(|error| error.to_string());
                        record(JobResult {
                            idsite: claim.idsite,
                            period: claim.period,
                            segment: Some(definition),
                            result,
                        });
                    }
                }
            }
            Ok(())
        })?;
    }
    for kind in [
        PeriodKind::Day,
        PeriodKind::Week,
        PeriodKind::Month,
        PeriodKind::Year,
    ] {
        let phase: Vec<&(SiteInfo, Period, Option<Arc<Segment>>)> =
            jobs.iter().filter(|(_, p, _)| p.kind() == kind).collect();
        let queue = Mutex::new(phase.into_iter());
        in_parallel(plan.concurrency, pool, |conn| {
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some((site, period, segment)) = next else {
                    return Ok(());
                };
                let outcome = match segment {
                    None => archiver.archive(conn, site, *period, now, false),
                    Some(segment) => {
                        archiver.archive_segment(conn, site, *period, segment, now, false)
                    }
                };
                let result = outcome
                    .map(|outcome| matches!(outcome, Outcome::Built(_)))
                    .map_err(|error| error.to_string());
                let dependents = segment.is_none() && result.is_ok() && plan.segments;
                record(JobResult {
                    idsite: site.idsite,
                    period: *period,
                    segment: segment.as_ref().map(|s| s.definition().to_owned()),
                    result,
                });
                if dependents {
                    for job in visit_frequency_jobs(&archiver, conn, site, *period, now, false) {
                        record(job);
                    }
                }
            }
        })?;
    }
    report.jobs = results.into_inner().unwrap_or_default();
    Ok(report)
}

/// A queue row of one pre-processed segment (`done<hash>`, queued by
/// [`invalidation::queue_segment`] when the segment was added or its
/// definition changed): builds that segment's archive only. A segment that
/// is no longer pre-processed (deleted, or its definition changed again)
/// has nothing left to build, and its row is simply done.
fn segment_claim(
    archiver: &Archiver<'_>,
    conn: &mut MysqlConnection,
    claim: &invalidation::Claim,
    now: OffsetDateTime,
) -> Result<JobResult, ArchiveError> {
    let built = SiteInfo::load(conn, claim.idsite).and_then(|site| {
        let segment = auto_archive_segments(conn, &site)?
            .into_iter()
            .filter_map(|(_, parsed)| parsed.ok())
            .find(|segment| segment.done_flag() == claim.name);
        match segment {
            Some(segment) => archiver
                .archive_segment(conn, &site, claim.period, &segment, now, true)
                .map(|outcome| (Some(segment.definition().to_owned()), outcome)),
            None => Ok((None, Outcome::NoData)),
        }
    });
    let (segment, result) = match built {
        Ok((definition, outcome)) => {
            invalidation::complete(conn, claim)?;
            (definition, Ok(matches!(outcome, Outcome::Built(_))))
        }
        Err(error) => {
            invalidation::release(conn, claim)?;
            (None, Err(error.to_string()))
        }
    };
    Ok(JobResult {
        idsite: claim.idsite,
        period: claim.period,
        segment: Some(segment.unwrap_or_else(|| claim.name.clone())),
        result,
    })
}

/// The VisitsSummary archives of new and returning visits that
/// VisitFrequency reads (Matomo's dependent archives), as job results.
fn visit_frequency_jobs(
    archiver: &Archiver<'_>,
    conn: &mut MysqlConnection,
    site: &SiteInfo,
    period: Period,
    now: OffsetDateTime,
    force: bool,
) -> Vec<JobResult> {
    let job = |segment: String, result: Result<bool, String>| JobResult {
        idsite: site.idsite,
        period,
        segment: Some(format!("{segment} ({})", visit_frequency::PLUGIN)),
        result,
    };
    match visit_frequency::archive(archiver, conn, site, period, now, force) {
        Ok(outcomes) => outcomes
            .into_iter()
            .map(|(segment, outcome)| {
                job(
                    segment.definition().to_owned(),
                    outcome
                        .map(|outcome| matches!(outcome, Outcome::Built(_)))
                        .map_err(|error| error.to_string()),
                )
            })
            .collect(),
        Err(error) => vec![job(visit_frequency::NEW.to_owned(), Err(error.to_string()))],
    }
}

/// Runs `work` on `threads` threads, each with its own connection; the
/// first error (a database error outside a single archive) is returned.
fn in_parallel<F>(threads: usize, pool: &DbPool, work: F) -> Result<(), ArchiveError>
where
    F: Fn(&mut MysqlConnection) -> Result<(), ArchiveError> + Sync,
{
    let first_error: Mutex<Option<ArchiveError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let outcome = pool
                    .get()
                    .map_err(conn_error)
                    .and_then(|mut conn| work(&mut conn));
                if let Err(error) = outcome
                    && let Ok(mut first) = first_error.lock()
                {
                    first.get_or_insert(error);
                }
            });
        }
    });
    match first_error.into_inner().ok().flatten() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
