//! The invalidation queue (`archive_invalidations`, `QueueConsumer`).
//!
//! The tracker queues a day when it records data for a day before today;
//! `tally-archiver invalidate` queues any period. The archiver expands a
//! queued day to the week, month and year containing it, marks the
//! existing archives of those periods invalidated, and consumes the queue:
//! days before weeks before months before years, so that a parent is built
//! from fresh children.
//!
//! Several archivers (processes or machines) share the queue. A claim is a
//! short transaction that first locks one row of `sequence` (a mutex that
//! works on any MySQL-compatible engine, unlike `GET_LOCK`), then picks a
//! row with `SELECT ... FOR UPDATE SKIP LOCKED` that is not in progress
//! elsewhere and has no queued or running child, and marks it and its
//! queued duplicates in progress with this process's host and pid. A claim
//! whose process died (same host, pid gone) or that is older than the
//! timeout goes back to the queue.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date as SqlDate, Datetime, Integer, Text, TinyInt, Unsigned};
use tally_schema::PeriodKind;
use time::{Date, PrimitiveDateTime};

use crate::ArchiveError;
use crate::period::Period;
use crate::segment::Segment;
use crate::site::SiteInfo;
use crate::storage::{self, DONE};

/// The `sequence` row whose lock serialises claims.
const CLAIM_LOCK: &str = "archive_invalidations.claim";

/// A claimed invalidation: the archive to rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The claimed rows (the picked one and its duplicates).
    pub ids: Vec<u64>,
    /// The site.
    pub idsite: u32,
    /// The period to rebuild.
    pub period: Period,
    /// The done flag: `done` for the plain archive (and, with it, every
    /// pre-processed segment's), `done<hash>` for one segment's archive
    /// only ([`queue_segment`]).
    pub name: String,
}

/// Who claims: recorded on claimed rows so a dead claimer can be detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimer {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: String,
}

impl Claimer {
    /// This process.
    pub fn current() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        Self {
            host,
            pid: std::process::id().to_string(),
        }
    }
}

/// Queues `period` of `idsite` (unless the same archive is already queued
/// and not started) and marks its existing archives invalidated. With
/// `cascade_up`, a day also queues its week, month and year. Returns the
/// number of rows queued.
///
/// # Errors
/// Any database error.
pub fn invalidate(
    conn: &mut MysqlConnection,
    idsite: u32,
    period: Period,
    cascade_up: bool,
    now: PrimitiveDateTime,
) -> Result<usize, ArchiveError> {
    let mut periods = vec![period];
    if cascade_up && period.kind() == PeriodKind::Day {
        periods.extend(period.parents());
    }
    let mut queued = 0;
    for p in periods {
        storage::mark_invalidated(conn, idsite, p, now)?;
        queued += queue(conn, idsite, p, now)?;
    }
    Ok(queued)
}

/// Expands the queued days that do not have their parents queued yet (the
/// tracker queues days only): queues their week, month and year and marks
/// the existing archives invalidated. Returns the number of rows queued.
///
/// # Errors
/// Any database error.
pub fn expand_queued_days(
    conn: &mut MysqlConnection,
    now: PrimitiveDateTime,
) -> Result<usize, ArchiveError> {
    #[derive(QueryableByName)]
    struct Day {
        #[diesel(sql_type = Unsigned<Integer>)]
        idsite: u32,
        #[diesel(sql_type = SqlDate)]
        date1: Date,
        #[diesel(sql_type = diesel::sql_types::Nullable<Datetime>)]
        invalidated: Option<PrimitiveDateTime>,
    }
    tally_db::sequence::create_sequence(conn, CLAIM_LOCK, 0)?;
    // Under the claim lock: two archivers starting together expand once.
    conn.transaction(|conn| {
        lock_claims(conn)?;
        // A day whose year is queued and not started was expanded already
        // (the year is the last parent queued).
        let days: Vec<Day> = diesel::sql_query(
            "SELECT d.idsite, d.date1, MAX(d.ts_invalidated) AS invalidated \
             FROM archive_invalidations d \
             WHERE d.period = 1 AND d.status = 0 AND NOT EXISTS (\
               SELECT 1 FROM archive_invalidations y WHERE y.idsite = d.idsite AND y.period = 4 \
               AND y.status = 0 AND y.date1 <= d.date1 AND y.date2 >= d.date1 AND y.name = d.name) \
             GROUP BY d.idsite, d.date1",
        )
        .load(conn)?;
        let mut queued = 0;
        for day in days {
            // Only archives written before the data changed are stale; one
            // built since (by another archiver) already holds the new data.
            let before = day.invalidated.unwrap_or(now);
            let period = Period::day(day.date1);
            storage::mark_invalidated(conn, day.idsite, period, before)?;
            for parent in period.parents() {
                storage::mark_invalidated(conn, day.idsite, parent, before)?;
                queued += queue(conn, day.idsite, parent, now)?;
            }
        }
        Ok(queued)
    })
}

fn lock_claims(conn: &mut MysqlConnection) -> Result<(), ArchiveError> {
    diesel::sql_query("SELECT value FROM sequence WHERE name = ? FOR UPDATE")
        .bind::<Text, _>(CLAIM_LOCK)
        .execute(conn)?;
    Ok(())
}

/// How far back a new pre-processed segment is archived: Matomo's
/// `process_new_segments_from = beginning_of_time`, which it bounds to the
/// last seven years (`DEFAULT_BEGINNING_OF_TIME_LAST_N_YEARS`).
const SEGMENT_HISTORY_YEARS: i32 = 7;

/// Queues the archives of a new (or newly defined) pre-processed segment on
/// `site`, so that the archiver builds its reports for the past and not
/// only for the days it archives from now on (Matomo's
/// `SegmentArchiving::reArchiveSegment` with its default
/// `process_new_segments_from = beginning_of_time`).
///
/// The queue rows carry the segment's done flag (`done<hash>`) as `name`;
/// the scheduler builds only that segment's archive for them, never the
/// plain one. Months and years are queued, from the month of the site's
/// earliest visit (at most seven years back) to the current one: building
/// a month builds its missing days, and weeks are built on demand from
/// those days. A site without visits queues nothing. Returns the number of
/// rows queued.
///
/// # Errors
/// Any database error.
pub fn queue_segment(
    conn: &mut MysqlConnection,
    site: &SiteInfo,
    segment: &Segment,
    now: PrimitiveDateTime,
) -> Result<usize, ArchiveError> {
    use tally_schema::schema::log_visit;
    if segment.is_empty() {
        return Ok(0);
    }
    // `index_idsite_datetime` answers this from the index.
    let earliest: Option<PrimitiveDateTime> = log_visit::table
        .filter(log_visit::idsite.eq(site.idsite))
        .select(diesel::dsl::min(log_visit::visit_last_action_time))
        .first(conn)?;
    let Some(earliest) = earliest else {
        return Ok(0);
    };
    let today = site.timezone.local_date(now.assume_utc().unix_timestamp());
    let first = site
        .timezone
        .local_date(earliest.assume_utc().unix_timestamp());
    // Day clamped to 28 so that February 29th has a counterpart.
    let horizon = Date::from_calendar_date(
        today.year() - SEGMENT_HISTORY_YEARS,
        today.month(),
        today.day().min(28),
    )
    .unwrap_or(today);
    let start = first.max(horizon).min(today);
    let name = segment.done_flag();
    let mut queued = 0;
    let mut month = Period::month(start);
    loop {
        queued += queue_named(conn, site.idsite, month, &name, now)?;
        if month.contains(today) {
            break;
        }
        let Some(next) = month.end().next_day() else {
            break;
        };
        month = Period::month(next);
    }
    for year in start.year()..=today.year() {
        let Ok(day) = Date::from_calendar_date(year, time::Month::January, 1) else {
            continue;
        };
        queued += queue_named(conn, site.idsite, Period::year(day), &name, now)?;
    }
    Ok(queued)
}

/// Inserts a queue row for `period` unless one is queued and not started.
fn queue(
    conn: &mut MysqlConnection,
    idsite: u32,
    p: Period,
    now: PrimitiveDateTime,
) -> Result<usize, ArchiveError> {
    queue_named(conn, idsite, p, DONE, now)
}

/// [`queue`] for the archive whose done flag is `name`.
fn queue_named(
    conn: &mut MysqlConnection,
    idsite: u32,
    p: Period,
    name: &str,
    now: PrimitiveDateTime,
) -> Result<usize, ArchiveError> {
    Ok(diesel::sql_query(
        "INSERT INTO archive_invalidations (name, idsite, date1, date2, period, ts_invalidated, status) \
         SELECT ?, ?, ?, ?, ?, ?, 0 FROM DUAL WHERE NOT EXISTS (\
           SELECT 1 FROM archive_invalidations WHERE idsite = ? AND date1 = ? AND date2 = ? \
           AND period = ? AND name = ? AND status = 0)",
    )
    .bind::<Text, _>(name)
    .bind::<Unsigned<Integer>, _>(idsite)
    .bind::<SqlDate, _>(p.start())
    .bind::<SqlDate, _>(p.end())
    .bind::<Unsigned<TinyInt>, _>(p.kind().code())
    .bind::<Datetime, _>(now)
    .bind::<Unsigned<Integer>, _>(idsite)
    .bind::<SqlDate, _>(p.start())
    .bind::<SqlDate, _>(p.end())
    .bind::<Unsigned<TinyInt>, _>(p.kind().code())
    .bind::<Text, _>(name)
    .execute(conn)?)
}

/// Claims the next invalidation to process, or `None` when nothing is
/// claimable now. Order: `period` ascending (days first), then `date1`
/// descending (recent data first), as Matomo's queue consumer.
///
/// # Errors
/// Any database error.
pub fn claim_next(
    conn: &mut MysqlConnection,
    claimer: &Claimer,
    now: PrimitiveDateTime,
) -> Result<Option<Claim>, ArchiveError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Unsigned<BigInt>)]
        idinvalidation: u64,
        #[diesel(sql_type = Unsigned<Integer>)]
        idsite: u32,
        #[diesel(sql_type = SqlDate)]
        date1: Date,
        #[diesel(sql_type = SqlDate)]
        date2: Date,
        #[diesel(sql_type = Unsigned<TinyInt>)]
        period: u8,
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Unsigned<BigInt>)]
        idinvalidation: u64,
    }
    tally_db::sequence::create_sequence(conn, CLAIM_LOCK, 0)?;
    conn.transaction(|conn| {
        lock_claims(conn)?;
        let picked: Option<Row> = diesel::sql_query(
            "SELECT i.idinvalidation, i.idsite, i.date1, i.date2, i.period, i.name \
             FROM archive_invalidations i \
             WHERE i.status = 0 \
               AND NOT EXISTS (SELECT 1 FROM archive_invalidations r WHERE r.status = 1 \
                   AND r.idsite = i.idsite AND r.period = i.period AND r.date1 = i.date1 \
                   AND r.date2 = i.date2 AND r.name = i.name) \
               AND NOT EXISTS (SELECT 1 FROM archive_invalidations c WHERE c.idsite = i.idsite \
                   AND c.period < i.period AND c.date1 >= i.date1 AND c.date2 <= i.date2 \
                   AND c.name = i.name) \
             ORDER BY i.period ASC, i.date1 DESC, i.idinvalidation ASC \
             LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .get_result(conn)
        .optional()?;
        let Some(row) = picked else {
            return Ok(None);
        };
        let kind = PeriodKind::from_code(row.period).map_err(|_| {
            ArchiveError::InvalidPeriod(format!("unknown period id {} in the queue", row.period))
        })?;
        let period = Period::from_stored(kind, row.date1, row.date2)?;
        let duplicates: Vec<Id> = diesel::sql_query(
            "SELECT idinvalidation FROM archive_invalidations WHERE status = 0 AND idsite = ? \
             AND period = ? AND date1 = ? AND date2 = ? AND name = ? FOR UPDATE",
        )
        .bind::<Unsigned<Integer>, _>(row.idsite)
        .bind::<Unsigned<TinyInt>, _>(row.period)
        .bind::<SqlDate, _>(row.date1)
        .bind::<SqlDate, _>(row.date2)
        .bind::<Text, _>(&row.name)
        .load(conn)?;
        let mut ids: Vec<u64> = duplicates.into_iter().map(|d| d.idinvalidation).collect();
        if !ids.contains(&row.idinvalidation) {
            ids.push(row.idinvalidation);
        }
        for id in &ids {
            diesel::sql_query(
                "UPDATE archive_invalidations SET status = 1, ts_started = ?, \
                 processing_host = ?, process_id = ? WHERE idinvalidation = ?",
            )
            .bind::<Datetime, _>(now)
            .bind::<Text, _>(&claimer.host)
            .bind::<Text, _>(&claimer.pid)
            .bind::<Unsigned<BigInt>, _>(*id)
            .execute(conn)?;
        }
        Ok(Some(Claim {
            ids,
            idsite: row.idsite,
            period,
            name: row.name,
        }))
    })
}

/// Removes the rows of a processed claim.
///
/// # Errors
/// Any database error.
pub fn complete(conn: &mut MysqlConnection, claim: &Claim) -> Result<(), ArchiveError> {
    for id in &claim.ids {
        diesel::sql_query("DELETE FROM archive_invalidations WHERE idinvalidation = ?")
            .bind::<Unsigned<BigInt>, _>(*id)
            .execute(conn)?;
    }
    Ok(())
}

/// Puts the rows of a claim that failed back in the queue.
///
/// # Errors
/// Any database error.
pub fn release(conn: &mut MysqlConnection, claim: &Claim) -> Result<(), ArchiveError> {
    for id in &claim.ids {
        diesel::sql_query(
            "UPDATE archive_invalidations SET status = 0, ts_started = NULL, \
             processing_host = NULL, process_id = NULL WHERE idinvalidation = ?",
        )
        .bind::<Unsigned<BigInt>, _>(*id)
        .execute(conn)?;
    }
    Ok(())
}

/// Returns stale claims to the queue: claims older than `timeout`, and
/// claims of this host whose process no longer exists. Returns the number
/// of rows recovered.
///
/// # Errors
/// Any database error.
pub fn recover_stale(
    conn: &mut MysqlConnection,
    claimer: &Claimer,
    now: PrimitiveDateTime,
    timeout: time::Duration,
) -> Result<usize, ArchiveError> {
    #[derive(QueryableByName)]
    struct Running {
        #[diesel(sql_type = Unsigned<BigInt>)]
        idinvalidation: u64,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        process_id: Option<String>,
    }
    let mut recovered = diesel::sql_query(
        "UPDATE archive_invalidations SET status = 0, ts_started = NULL, processing_host = NULL, \
         process_id = NULL WHERE status = 1 AND (ts_started IS NULL OR ts_started < ?)",
    )
    .bind::<Datetime, _>(now - timeout)
    .execute(conn)?;
    let running: Vec<Running> = diesel::sql_query(
        "SELECT idinvalidation, process_id FROM archive_invalidations \
         WHERE status = 1 AND processing_host = ?",
    )
    .bind::<Text, _>(&claimer.host)
    .load(conn)?;
    for row in running {
        let alive = row.process_id.as_deref().is_some_and(|pid| {
            pid == claimer.pid || std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if !alive {
            recovered += diesel::sql_query(
                "UPDATE archive_invalidations SET status = 0, ts_started = NULL, \
                 processing_host = NULL, process_id = NULL WHERE idinvalidation = ? AND status = 1",
            )
            .bind::<Unsigned<BigInt>, _>(row.idinvalidation)
            .execute(conn)?;
        }
    }
    Ok(recovered)
}

/// Number of rows waiting in the queue (status 0).
///
/// # Errors
/// The query error.
pub fn queued_count(conn: &mut MysqlConnection) -> Result<u64, ArchiveError> {
    use tally_schema::schema::archive_invalidations as q;
    let count: i64 = q::table.filter(q::status.eq(0)).count().get_result(conn)?;
    Ok(u64::try_from(count).unwrap_or(0))
}
