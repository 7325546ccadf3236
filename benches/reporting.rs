//! Reporting API latency: archived reports answered through
//! `tally_reporting::Api` (token check, archive lookup, blob decode,
//! filters, processed metrics, rendering), and a 365-day range built from
//! archived days.
//!
//! ```text
//! [TALLY_BENCH_URLS=N] cargo bench -p tally-benches --bench reporting
//! ```
//!
//! Setup (not timed): one UTC site; one day (2025-06-02) of generated
//! traffic tracked through the tracker's routes (bulk requests): 4,000
//! visits over `TALLY_BENCH_URLS` (default 2,000) page URLs without folders,
//! so `Actions.getPageUrls` has its 500 top-level rows (the Actions record
//! keeps 499 + "Others"); the day is archived, and its archive rows are
//! copied to the other 364 days of 2025.
//!
//! Phases, each printed as a markdown row for docs/PERFORMANCE.md:
//! 1. `VisitsSummary.get` for the day, JSON: 2,000 sequential calls, p50,
//!    p99 and calls/s; then 2 client threads for calls/s under load;
//! 2. `Actions.getPageUrls` for the day, JSON, `filter_limit=500`: the same;
//! 3. `VisitsSummary.get` and `Actions.getPageUrls` for the range
//!    2025-01-01,2025-12-31: the first call (builds the range archive from
//!    the month, week and day archives, which it builds from the days), then
//!    200 calls on the stored range archive (p50, p99).
//!
//! `TALLY_BENCH_RANGE_ONLY=1` skips phases 1 and 2 (to profile the range
//! build alone). The first range call also prints the CPU time it took in
//! this process and in the MariaDB server (from `/proc`), which tells a
//! loaded machine's waiting apart from work.
//!
//! Targets (issue 7): archived reports p99 under 10 ms; the 365-day range
//! under 500 ms the first time and under 10 ms after.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use axum::body::Body;
use axum::http::Request;
use diesel::prelude::*;
use diesel::sql_types::{Date as SqlDate, Integer, Unsigned};
use tally_archiving::storage::{self, ArchiveKey};
use tally_archiving::{ArchivingConfig, Period, Registry};
use tally_db::ArchiveKind;
use tally_db::test_support::TestDb;
use tally_management::{self as management, NewSiteParams, Principal};
use tally_reporting::{Api, ApiRequest, ReportingConfig};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use tower::ServiceExt as _;

const DAY: Date = date!(2025 - 06 - 02);
const NOW: OffsetDateTime = datetime!(2026-01-10 12:00 UTC);
const VISITS: u64 = 4_000;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("reporting bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn env_u64(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(value) => value.parse().with_context(|| format!("{name}={value}")),
        Err(_) => Ok(default),
    }
}

/// A deterministic mix (splitmix64).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn track(db: &TestDb, token: &str, urls: u64) -> anyhow::Result<()> {
    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);
    let runtime = tokio::runtime::Runtime::new()?;
    let start = DAY.midnight().assume_utc().unix_timestamp();
    let mut requests = Vec::new();
    for visit in 0..VISITS {
        let visitor = mix(visit) % (VISITS * 3 / 4);
        let at = start + i64::try_from(mix(visit + 7) % 80_000)?;
        for hit in 0..3u64 {
            let page = mix(visit * 3 + hit) % urls;
            requests.push(format!(
                "\"?idsite=1&rec=1&_id={visitor:016x}&cip=198.51.100.{}&cdt={}&url=https%3A%2F%2Fshop.example%2Fpage-{page}&action_name=Page%20{page}\"",
                1 + visitor % 250,
                at + i64::try_from(hit * 40)?,
            ));
        }
    }
    for chunk in requests.chunks(2_000) {
        let body = format!(
            "{{\"requests\":[{}],\"token_auth\":\"{token}\"}}",
            chunk.join(",")
        );
        let response = runtime.block_on(
            router.clone().oneshot(
                Request::post("/matomo.php")
                    .header("content-type", "application/json")
                    .body(Body::from(body))?,
            ),
        )?;
        ensure!(
            response.status().is_success(),
            "tracking failed: {}",
            response.status()
        );
    }
    Ok(())
}

/// Copies the day's archive rows to every other day of 2025.
fn copy_day(
    conn: &mut MysqlConnection,
    from: &tally_archiving::StoredArchive,
) -> anyhow::Result<()> {
    let mut day = date!(2025 - 01 - 01);
    while day.year() == 2025 {
        if day != DAY {
            let month = tally_db::ArchiveMonth::of(day)?;
            tally_db::create_archive_tables(conn, month)?;
            let idarchive = tally_db::next_archive_id(conn, month)?;
            for kind in [ArchiveKind::Numeric, ArchiveKind::Blob] {
                let source = from.month.table(kind);
                let target = month.table(kind);
                diesel::sql_query(format!(
                    "INSERT INTO {target} (idarchive, name, idsite, date1, date2, period, ts_archived, value) \
                     SELECT ?, name, idsite, ?, ?, period, ts_archived, value FROM {source} WHERE idarchive = ?"
                ))
                .bind::<Unsigned<Integer>, _>(idarchive)
                .bind::<SqlDate, _>(day)
                .bind::<SqlDate, _>(day)
                .bind::<Unsigned<Integer>, _>(from.idarchive)
                .execute(conn)?;
            }
        }
        day = day.next_day().context("date overflow")?;
    }
    Ok(())
}

fn call(api: &Api, query: &str) -> anyhow::Result<Duration> {
    let request = ApiRequest::from_parts(query, None);
    let started = Instant::now();
    let answer = api.handle_at(&request, NOW);
    let took = started.elapsed();
    ensure!(
        answer.status == 200 && !answer.body.starts_with(b"{\"result\":\"error\""),
        "{query}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    Ok(took)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let last = sorted.len().saturating_sub(1);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list"
    )]
    let index = ((last as f64) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Sequential calls: p50, p99 and calls/s; then calls/s from 2 threads.
fn latency(api: &Api, what: &str, query: &str, calls: usize) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        times.push(call(api, query)?);
    }
    let elapsed = started.elapsed();
    times.sort();
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = calls as f64 / elapsed.as_secs_f64();
    let threads = 2;
    let started = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    for _ in 0..calls / threads {
                        call(api, query)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        }
        Ok(())
    })?;
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let parallel = (calls / threads * threads) as f64 / started.elapsed().as_secs_f64();
    println!(
        "| {what} | p50 {} | p99 {} | {rate:.0} calls/s (1 client), {parallel:.0} calls/s (2 clients) |",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
    );
    Ok(())
}

#[derive(QueryableByName)]
struct Fetched {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[expect(dead_code, reason = "fetched to measure the transfer, not used")]
    name: String,
}

/// p50/p99 of fetching an archive's rows with a bare query.
fn bare(
    conn: &mut MysqlConnection,
    archive: &tally_archiving::StoredArchive,
    what: &str,
    kind: ArchiveKind,
    record: Option<&str>,
) -> anyhow::Result<()> {
    let table = archive.month.table(kind);
    let mut times = Vec::new();
    for _ in 0..1_000 {
        let started = Instant::now();
        let rows: Vec<Fetched> = match record {
            None => diesel::sql_query(format!(
                "SELECT name, value FROM {table} WHERE idarchive = ?"
            ))
            .bind::<Unsigned<Integer>, _>(archive.idarchive)
            .load(conn)?,
            Some(record) => diesel::sql_query(format!(
                "SELECT name, value FROM {table} WHERE idarchive = ? AND (name = ? OR name LIKE ?)"
            ))
            .bind::<Unsigned<Integer>, _>(archive.idarchive)
            .bind::<diesel::sql_types::Text, _>(record)
            .bind::<diesel::sql_types::Text, _>(format!("{record}\\_chunk\\_%"))
            .load(conn)?,
        };
        times.push(started.elapsed());
        ensure!(!rows.is_empty(), "no rows for {what}");
    }
    times.sort();
    println!(
        "bare MariaDB, {what}: p50 {}, p99 {}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
    Ok(())
}

#[derive(QueryableByName)]
struct Status {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "Variable_name")]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "Value")]
    value: String,
}

/// MariaDB global counters of statements and fsyncs, to see what
/// the server does during a call.
fn server_counters(conn: &mut MysqlConnection) -> anyhow::Result<Vec<(String, i64)>> {
    let rows: Vec<Status> = diesel::sql_query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN \
         ('Com_select', 'Com_insert', 'Com_update', 'Com_delete', 'Innodb_data_fsyncs')",
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.name, row.value.parse().unwrap_or(0)))
        .collect())
}

fn run() -> anyhow::Result<()> {
    let urls = env_u64("TALLY_BENCH_URLS", 2_000)?;
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let root = Principal::super_user("bench");
    let params = NewSiteParams {
        timezone: Some("UTC".to_owned()),
        start_date: Some(datetime!(2024-01-01 00:00)),
        ..NewSiteParams::new("Shop", ["https://shop.example"])
    };
    management::add_site(&mut conn, &root, &params)?;
    management::create_superuser(&mut conn, "root", "bench-password", "root@example.org", NOW)?;
    let token =
        management::create_app_specific_token(&mut conn, &root, "root", "", "bench", None, NOW)?;

    let started = Instant::now();
    track(&db, &token, urls)?;
    println!(
        "setup: {VISITS} visits, {} hits tracked in {:.1} s",
        VISITS * 3,
        started.elapsed().as_secs_f64()
    );

    let api = Api::new(
        db.pool()?,
        Registry::core(),
        ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    let base = format!("module=API&idSite=1&format=json&token_auth={token}");
    let started = Instant::now();
    call(
        &api,
        &format!("{base}&method=VisitsSummary.get&period=day&date={DAY}"),
    )?;
    println!(
        "setup: the day archived on demand in {}",
        ms(started.elapsed())
    );
    let key = ArchiveKey::all(1, Period::day(DAY));
    let archive =
        storage::find_archive(&mut conn, &key, None, false)?.context("the day archive")?;
    let started = Instant::now();
    copy_day(&mut conn, &archive)?;
    println!(
        "setup: day archive copied to 364 days in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The bare MariaDB figure for the same rows: the archive rows these
    // reports read, fetched with one query each, no decoding.
    bare(
        &mut conn,
        &archive,
        "numeric rows of the day archive (VisitsSummary.get reads them)",
        ArchiveKind::Numeric,
        None,
    )?;
    bare(
        &mut conn,
        &archive,
        "Actions_actions_url blob rows of the day archive",
        ArchiveKind::Blob,
        Some("Actions_actions_url"),
    )?;

    println!();
    println!("| report | p50 | p99 | throughput |");
    println!("|---|---|---|---|");
    if std::env::var_os("TALLY_BENCH_RANGE_ONLY").is_none() {
        latency(
            &api,
            "VisitsSummary.get, day",
            &format!("{base}&method=VisitsSummary.get&period=day&date={DAY}"),
            2_000,
        )?;
        latency(
            &api,
            "Actions.getPageUrls, day, 500 rows",
            &format!("{base}&method=Actions.getPageUrls&period=day&date={DAY}&filter_limit=500"),
            1_000,
        )?;
    }
    let server_pid = server_pid();
    for (what, method) in [
        ("VisitsSummary.get", "method=VisitsSummary.get"),
        (
            "Actions.getPageUrls (500 rows)",
            "method=Actions.getPageUrls&filter_limit=500",
        ),
    ] {
        let query = format!("{base}&{method}&period=range&date=2025-01-01,2025-12-31");
        let before = server_counters(&mut conn)?;
        let cpu_before = (cpu_ms("self"), server_pid.as_deref().and_then(cpu_ms));
        let first = call(&api, &query)?;
        let cpu_after = (cpu_ms("self"), server_pid.as_deref().and_then(cpu_ms));
        let after = server_counters(&mut conn)?;
        let delta: Vec<String> = after
            .iter()
            .zip(&before)
            .map(|((name, a), (_, b))| format!("{name} {}", a - b))
            .collect();
        println!("server work during the first call: {}", delta.join(", "));
        if let ((Some(a), Some(b)), (Some(c), Some(d))) = (cpu_before, cpu_after) {
            println!(
                "CPU during the first call: this process {} ms, MariaDB {} ms",
                c - a,
                d - b
            );
        }
        let mut times = Vec::new();
        for _ in 0..200 {
            times.push(call(&api, &query)?);
        }
        times.sort();
        println!(
            "| {what}, range 2025-01-01..2025-12-31 | first call {} | then p50 {}, p99 {} | |",
            ms(first),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
        );
    }
    Ok(())
}

/// User + system CPU time of process `pid` (`self` for this one) in
/// milliseconds, from `/proc/<pid>/stat` (clock ticks of 10 ms).
fn cpu_ms(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces: state is the
    // first, utime and stime the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 10)
}

/// The MariaDB server's process id, when it runs on this machine.
fn server_pid() -> Option<String> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid = entry.file_name().into_string().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            matches!(comm.trim(), "mariadbd" | "mysqld").then_some(pid)
        })
}
