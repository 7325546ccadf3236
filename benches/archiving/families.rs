//! Phase 5 of the archiving bench (issue 6): the day archived with every
//! core family of `Registry::core()`, against a bare scan of every log row
//! those families read, and each family on its own.
//!
//! The families mostly do not fold the shared scans: VisitsSummary,
//! Actions, PagePerformance and Goals do, the others run their own
//! `GROUP BY` queries. So the bare scan here reads, with one typed SELECT
//! per log table (`load_iter`, rows decoded one at a time and dropped),
//! every column any family reads: 54 `log_visit` columns, 43 of
//! `log_link_visit_action`, 22 of `log_conversion` and 12 of
//! `log_conversion_item`. Its time is the floor for any way of archiving
//! the day that reads the rows into the process.
//!
//! Where the time goes is measured per run: the queries, the rows MariaDB
//! read (`Rows_read`, temporary tables included) and sent for this
//! session, and the CPU seconds of this process and of the server (all of
//! the server's sessions: another client of the same server counts too).

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use diesel::connection::DefaultLoadingMode;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use tally_archiving::builders::{
    Actions, Contents, CustomDimensionsProvider, CustomVariables, DevicePlugins, DevicesDetection,
    Ecommerce, Events, GoalsProvider, PagePerformance, Referrers, Resolution, UserCountry, UserId,
    UserLanguage, VisitTime, VisitorInterest, VisitsSummary,
};
use tally_archiving::logs::LogAggregator;
use tally_archiving::{
    Archiver, ArchivingConfig, BuilderProvider, Period, Record, RecordBuilder, RecordKind,
    Registry, SiteInfo, StoredArchive, storage,
};
use tally_schema::schema::{
    log_conversion as c, log_conversion_item as ci, log_link_visit_action as a, log_visit as v,
};
use time::{PrimitiveDateTime, Time};

use crate::{DAY, NOW, RUNS, best, built, runs_text, secs};

/// One report family: a registry holding only its builder(s).
struct Family {
    name: &'static str,
    registry: Registry,
}

impl Family {
    fn one(name: &'static str, builder: impl RecordBuilder + 'static) -> Self {
        let mut registry = Registry::empty();
        registry.add(builder);
        Self { name, registry }
    }

    /// A family of per-site builders (one per custom dimension, the goals).
    fn provided(name: &'static str, provider: impl BuilderProvider + 'static) -> Self {
        let mut registry = Registry::empty();
        registry.add_provider(provider);
        Self { name, registry }
    }
}

/// The families of `Registry::core()`, in its order. Ecommerce is a
/// family of its own although its records belong to the Goals plugin.
/// [`check_families_match_core`] catches a core registry that changed.
fn families() -> Vec<Family> {
    vec![
        Family::one("VisitsSummary", VisitsSummary),
        Family::one("Actions", Actions::default()),
        Family::one("UserCountry", UserCountry::default()),
        Family::one("UserLanguage", UserLanguage::default()),
        Family::one("DevicesDetection", DevicesDetection::default()),
        Family::one("Resolution", Resolution::default()),
        Family::one("DevicePlugins", DevicePlugins),
        Family::one("VisitTime", VisitTime),
        Family::one("VisitorInterest", VisitorInterest),
        Family::one("Events", Events::default()),
        Family::one("Contents", Contents::default()),
        Family::one("PagePerformance", PagePerformance),
        Family::one("UserId", UserId::default()),
        Family::one("CustomVariables", CustomVariables::default()),
        Family::provided("CustomDimensions", CustomDimensionsProvider::default()),
        Family::one("Referrers", Referrers::default()),
        Family::provided("Goals", GoalsProvider),
        Family::one("Ecommerce", Ecommerce::default()),
    ]
}

/// The families' builders, in order, are those of `Registry::core()`.
fn check_families_match_core(families: &[Family], site: &SiteInfo) -> anyhow::Result<()> {
    let names = |builders: Vec<std::sync::Arc<dyn RecordBuilder>>| -> Vec<String> {
        builders
            .iter()
            .map(|b| {
                let first = b.records().first().map(|r| r.name.clone());
                format!("{}:{}", b.plugin(), first.unwrap_or_default())
            })
            .collect()
    };
    let core = names(Registry::core().builders_for(site));
    let ours = names(
        families
            .iter()
            .flat_map(|f| f.registry.builders_for(site))
            .collect(),
    );
    ensure!(
        core == ours,
        "the bench's families no longer match Registry::core(): core {core:?}, bench {ours:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// The bare scan.

/// `log_visit` columns: the shared scan (VisitsSummary, Actions, Goals);
/// UserCountry and UserLanguage; DevicesDetection and Resolution;
/// DevicePlugins; VisitTime and VisitorInterest; Referrers; the custom
/// dimension and the action dimension's join; the custom variables.
type VisitColumns = (
    (
        u64,
        Vec<u8>,
        Option<String>,
        Option<u32>,
        u32,
        Option<i8>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
    ),
    (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<f64>,
        Option<String>,
    ),
    (
        Option<i8>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    (
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
    ),
    (
        Option<Time>,
        PrimitiveDateTime,
        u32,
        Option<i8>,
        Option<u32>,
    ),
    (Option<u8>, Option<String>, Option<String>, Option<String>),
    (Option<String>, Option<u64>),
    CustomVars,
);

/// The ten custom variable columns (`custom_var_k1` ... `custom_var_v5`),
/// which tally-schema declares in a table of their own.
type CustomVars = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
type CustomVarTypes = (
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
);
const CUSTOM_VARS: &str = "custom_var_k1, custom_var_v1, custom_var_k2, custom_var_v2, \
     custom_var_k3, custom_var_v3, custom_var_k4, custom_var_v4, custom_var_k5, custom_var_v5";

/// `log_link_visit_action` columns: the shared scan (Actions,
/// PagePerformance) with its timings; Events and the action dimension;
/// Contents; the product views of Ecommerce; the custom variables.
type ActionColumns = (
    (
        u64,
        Vec<u8>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<String>,
        Option<u32>,
    ),
    (
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
    ),
    (u64, Option<u32>, Option<f64>, Option<u32>, Option<String>),
    (Option<u32>, Option<u32>, Option<u32>, Option<u32>),
    (
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<f64>,
    ),
    CustomVars,
);

/// `log_conversion` columns: Goals (metrics, visits and days until
/// conversion), then the dimensions of the reports with goal metrics.
type ConversionColumns = (
    (
        u64,
        i32,
        PrimitiveDateTime,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<u16>,
    ),
    (Option<u8>, Option<String>, Option<String>, u32, Option<u32>),
    (Option<String>, Option<i8>, Option<String>, Option<String>),
    (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
);

/// `log_conversion_item` columns (Ecommerce).
type ItemColumns = (u64, String, u32, u32, u32, u32, u32, u32, u32, f64, u32, u8);

/// One bare scan: seconds and rows per table.
#[derive(Debug, Clone, Copy, Default)]
struct BareScan {
    visits: Duration,
    actions: Duration,
    conversions: Duration,
    items: Duration,
    rows: [u64; 4],
}

impl BareScan {
    fn total(&self) -> Duration {
        self.visits + self.actions + self.conversions + self.items
    }
}

/// Counts the rows of a typed query, decoding each and dropping it.
fn drain<T>(iter: impl Iterator<Item = QueryResult<T>>) -> anyhow::Result<u64> {
    let mut rows = 0u64;
    for row in iter {
        std::hint::black_box(row?);
        rows += 1;
    }
    Ok(rows)
}

fn bare_scan(conn: &mut MysqlConnection, logs: &LogAggregator) -> anyhow::Result<BareScan> {
    let (idsite, start, end) = (logs.idsite(), logs.start(), logs.end());
    let mut scan = BareScan::default();

    let t = Instant::now();
    let visits = v::table
        .filter(v::idsite.eq(idsite))
        .filter(v::visit_last_action_time.ge(start))
        .filter(v::visit_last_action_time.lt(end))
        .select((
            (
                v::idvisit,
                v::idvisitor,
                v::user_id,
                v::visit_total_actions,
                v::visit_total_time,
                v::visit_goal_converted,
                v::visit_entry_idaction_url,
                v::visit_entry_idaction_name,
                v::visit_exit_idaction_url,
                v::visit_exit_idaction_name,
            ),
            (
                v::location_country,
                v::location_region,
                v::location_city,
                // DECIMAL: read as UserCountry reads it (the bench has no
                // decimal type).
                sql::<Nullable<Double>>("CAST(location_latitude AS DOUBLE)"),
                sql::<Nullable<Double>>("CAST(location_longitude AS DOUBLE)"),
                v::location_browser_lang,
            ),
            (
                v::config_device_type,
                v::config_device_brand,
                v::config_device_model,
                v::config_os,
                v::config_os_version,
                v::config_browser_name,
                v::config_browser_version,
                v::config_browser_engine,
                v::config_resolution,
            ),
            (
                v::config_cookie,
                v::config_flash,
                v::config_java,
                v::config_pdf,
                v::config_quicktime,
                v::config_realplayer,
                v::config_silverlight,
                v::config_windowsmedia,
            ),
            (
                v::visitor_localtime,
                v::visit_first_action_time,
                v::visitor_count_visits,
                v::visitor_returning,
                v::visitor_seconds_since_last,
            ),
            (
                v::referer_type,
                v::referer_name,
                v::referer_keyword,
                v::referer_url,
            ),
            (v::custom_dimension_1, v::last_idlink_va),
            sql::<CustomVarTypes>(CUSTOM_VARS),
        ));
    scan.rows[0] = drain(visits.load_iter::<VisitColumns, DefaultLoadingMode>(conn)?)?;
    scan.visits = t.elapsed();

    let t = Instant::now();
    let actions = a::table
        .filter(a::idsite.eq(idsite))
        .filter(a::server_time.ge(start))
        .filter(a::server_time.lt(end))
        .select((
            (
                a::idvisit,
                a::idvisitor,
                a::idaction_url,
                a::idaction_name,
                a::idaction_url_ref,
                a::idaction_name_ref,
                a::time_spent_ref_action,
                a::idaction_event_category,
                a::search_cat,
                a::search_count,
            ),
            (
                a::time_network,
                a::time_server,
                a::time_transfer,
                a::time_dom_processing,
                a::time_dom_completion,
                a::time_on_load,
            ),
            (
                a::idlink_va,
                a::idaction_event_action,
                a::custom_float,
                a::time_spent,
                a::custom_dimension_1,
            ),
            (
                a::idaction_content_name,
                a::idaction_content_piece,
                a::idaction_content_target,
                a::idaction_content_interaction,
            ),
            (
                a::idaction_product_sku,
                a::idaction_product_name,
                a::idaction_product_cat,
                a::idaction_product_cat2,
                a::idaction_product_cat3,
                a::idaction_product_cat4,
                a::idaction_product_cat5,
                a::product_price,
            ),
            sql::<CustomVarTypes>(CUSTOM_VARS),
        ));
    scan.rows[1] = drain(actions.load_iter::<ActionColumns, DefaultLoadingMode>(conn)?)?;
    scan.actions = t.elapsed();

    let t = Instant::now();
    let conversions = c::table
        .filter(c::idsite.eq(idsite))
        .filter(c::server_time.ge(start))
        .filter(c::server_time.lt(end))
        .select((
            (
                c::idvisit,
                c::idgoal,
                c::server_time,
                c::revenue,
                c::revenue_subtotal,
                c::revenue_tax,
                c::revenue_shipping,
                c::revenue_discount,
                c::items,
            ),
            (
                c::referer_type,
                c::referer_name,
                c::referer_keyword,
                c::visitor_count_visits,
                c::visitor_seconds_since_first,
            ),
            (
                c::config_browser_name,
                c::config_device_type,
                c::config_device_brand,
                c::config_device_model,
            ),
            (
                c::location_country,
                c::location_region,
                c::location_city,
                c::custom_dimension_1,
            ),
        ));
    scan.rows[2] = drain(conversions.load_iter::<ConversionColumns, DefaultLoadingMode>(conn)?)?;
    scan.conversions = t.elapsed();

    let t = Instant::now();
    let items = ci::table
        .filter(ci::idsite.eq(idsite))
        .filter(ci::server_time.ge(start))
        .filter(ci::server_time.lt(end))
        .select((
            ci::idvisit,
            ci::idorder,
            ci::idaction_sku,
            ci::idaction_name,
            ci::idaction_category,
            ci::idaction_category2,
            ci::idaction_category3,
            ci::idaction_category4,
            ci::idaction_category5,
            ci::price,
            ci::quantity,
            ci::deleted,
        ));
    scan.rows[3] = drain(items.load_iter::<ItemColumns, DefaultLoadingMode>(conn)?)?;
    scan.items = t.elapsed();
    Ok(scan)
}

// ---------------------------------------------------------------------------
// Where the time goes.

/// CPU seconds of this process and of the MariaDB server, and this
/// session's server counters, at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    ours: f64,
    server: Option<f64>,
    queries: i64,
    rows_read: i64,
    rows_sent: i64,
}

/// The pid of the local MariaDB server (`mariadbd` or `mysqld`), if it
/// runs on this machine.
pub(crate) fn server_pid() -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            matches!(comm.trim(), "mariadbd" | "mysqld").then_some(pid)
        })
}

/// utime + stime of a process (all its threads), in seconds; Linux
/// reports them in USER_HZ ticks, 100 per second.
pub(crate) fn cpu_secs(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesised command name, which may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    #[expect(clippy::cast_precision_loss, reason = "ticks are far below 2^53")]
    Some(ticks as f64 / 100.0)
}

impl Usage {
    fn now(conn: &mut MysqlConnection, server: Option<u32>) -> anyhow::Result<Self> {
        #[derive(QueryableByName)]
        struct Counters {
            #[diesel(sql_type = BigInt)]
            queries: i64,
            #[diesel(sql_type = BigInt)]
            rows_read: i64,
            #[diesel(sql_type = BigInt)]
            rows_sent: i64,
        }
        let counters: Counters = diesel::sql_query(
            "SELECT \
               CAST(SUM(IF(VARIABLE_NAME = 'QUESTIONS', VARIABLE_VALUE, 0)) AS SIGNED) AS queries, \
               CAST(SUM(IF(VARIABLE_NAME = 'ROWS_READ', VARIABLE_VALUE, 0)) AS SIGNED) AS rows_read, \
               CAST(SUM(IF(VARIABLE_NAME = 'ROWS_SENT', VARIABLE_VALUE, 0)) AS SIGNED) AS rows_sent \
             FROM information_schema.SESSION_STATUS \
             WHERE VARIABLE_NAME IN ('QUESTIONS', 'ROWS_READ', 'ROWS_SENT')",
        )
        .get_result(conn)
        .context("reading the session status")?;
        Ok(Self {
            ours: cpu_secs("/proc/self/stat").unwrap_or(f64::NAN),
            server: server.and_then(|pid| cpu_secs(&format!("/proc/{pid}/stat"))),
            queries: counters.queries,
            rows_read: counters.rows_read,
            rows_sent: counters.rows_sent,
        })
    }

    /// `later - self`, less the status query that read `later` itself.
    fn until(self, later: Self) -> Self {
        Self {
            ours: later.ours - self.ours,
            server: later.server.zip(self.server).map(|(b, a)| b - a),
            queries: later.queries - self.queries - 1,
            rows_read: later.rows_read - self.rows_read,
            rows_sent: later.rows_sent - self.rows_sent - 1,
        }
    }
}

// ---------------------------------------------------------------------------
// Checks of the records written.

/// What a family wrote for the day.
#[derive(Debug, Clone, Default)]
struct Written {
    declared: usize,
    /// Declared records present in the archive.
    present: Vec<String>,
    /// Present records with data: a non-zero number, or a table with a
    /// row holding a positive number.
    with_data: usize,
}

fn check_records(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
    records: &[Record],
) -> anyhow::Result<Written> {
    let numeric = storage::read_numeric_records(conn, archive)?;
    let mut written = Written {
        declared: records.len(),
        ..Written::default()
    };
    for record in records {
        let data = match record.kind {
            RecordKind::Numeric => numeric.get(&record.name).map(|value| *value != 0.0),
            RecordKind::Blob => storage::read_table(conn, archive, &record.name)
                .with_context(|| format!("reading {}", record.name))?
                .map(|table| {
                    table.all_rows().any(|row| {
                        row.columns
                            .iter()
                            .any(|(_, value)| value.as_f64().is_some_and(|x| x > 0.0))
                    })
                }),
        };
        if let Some(data) = data {
            written.present.push(record.name.clone());
            written.with_data += usize::from(data);
        }
    }
    Ok(written)
}

/// The names of every record of an archive (blob chunks and done flags
/// left out).
fn record_names(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = storage::read_numeric_records(conn, archive)?
        .into_keys()
        .collect();
    names.extend(
        storage::read_all_blobs(conn, archive)?
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !name.contains("_chunk_")),
    );
    Ok(names)
}

// ---------------------------------------------------------------------------
// The phase.

/// What the phase adds to the bench's report.
pub(crate) struct Report {
    /// A markdown section.
    pub(crate) section: String,
    /// (what, figure) rows for docs/PERFORMANCE.md.
    pub(crate) rows: Vec<(String, String)>,
    /// (check, archived, expected).
    pub(crate) checks: Vec<(String, f64, f64)>,
}

/// The figures the generator knows and the archive must show.
pub(crate) struct Expected {
    pub(crate) visits: u64,
    pub(crate) actions: u64,
    pub(crate) converted_visits: u64,
    pub(crate) goal_conversions: [u64; 2],
    pub(crate) orders: u64,
    pub(crate) carts: u64,
    pub(crate) timed_pageviews: u64,
}

/// One family's run.
struct FamilyRun {
    name: &'static str,
    builders: usize,
    elapsed: Duration,
    usage: Usage,
    written: Written,
    in_core: usize,
}

#[expect(clippy::too_many_lines, reason = "one phase, printed as it runs")]
pub(crate) fn run(
    conn: &mut MysqlConnection,
    site: &SiteInfo,
    expected: &Expected,
) -> anyhow::Result<Report> {
    let families = families();
    check_families_match_core(&families, site)?;
    let server = server_pid();
    let (start, end) = Period::day(DAY).utc_bounds(&site.timezone);
    let logs = LogAggregator::new(site.idsite, start, end)?;

    // (a) The bare scan.
    let mut scans = Vec::new();
    for i in 0..RUNS {
        let scan = bare_scan(conn, &logs)?;
        eprintln!(
            "all families, bare scan {}: {:.2} s (visits {:.2} s, actions {:.2} s, conversions {:.2} s, items {:.2} s)",
            i + 1,
            secs(scan.total()),
            secs(scan.visits),
            secs(scan.actions),
            secs(scan.conversions),
            secs(scan.items)
        );
        scans.push(scan);
    }
    let scan = scans
        .iter()
        .min_by_key(|s| s.total())
        .copied()
        .context("no bare scan")?;
    ensure!(
        scan.rows[0] == expected.visits && scan.rows[1] == expected.actions,
        "the bare scan read {} visits and {} actions",
        scan.rows[0],
        scan.rows[1]
    );
    let scan_secs = secs(scan.total());
    let scan_rows: u64 = scan.rows.iter().sum();

    // (b) Every family in one archive.
    let core = Registry::core();
    let archiver = Archiver::new(&core, ArchivingConfig::default());
    let mut core_runs = Vec::new();
    let mut core_usage = Vec::new();
    let mut core_archive = None;
    for i in 0..RUNS {
        let before = Usage::now(conn, server)?;
        let t = Instant::now();
        let outcome = archiver.archive(conn, site, Period::day(DAY), NOW, true)?;
        let elapsed = t.elapsed();
        let usage = before.until(Usage::now(conn, server)?);
        core_usage.push(usage);
        core_runs.push(elapsed);
        core_archive = Some(built(outcome, "all-families day")?);
        eprintln!(
            "all families, day archive {}: {:.2} s, {} queries, {} rows read by MariaDB, {} rows sent, CPU ours {:.2} s, MariaDB {:.2} s",
            i + 1,
            secs(elapsed),
            usage.queries,
            usage.rows_read,
            usage.rows_sent,
            usage.ours,
            usage.server.unwrap_or(f64::NAN)
        );
    }
    let core_archive = core_archive.context("no all-families run")?;
    let core_best = secs(best(&core_runs));
    let best_index = core_runs
        .iter()
        .enumerate()
        .min_by_key(|(_, d)| **d)
        .map_or(0, |(i, _)| i);
    let core_use = core_usage[best_index];
    let ratio = core_best / scan_secs;
    let core_names = record_names(conn, &core_archive)?;
    let (core_numeric, core_blobs, _, core_bytes) = crate::archive_rows(conn, &core_archive)?;
    let mut checks = Vec::new();
    let num = |conn: &mut MysqlConnection, name: &str| crate::num(conn, &core_archive, name);
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
    for (what, name, want) in [
        ("nb_visits", "nb_visits", expected.visits),
        (
            "nb_visits_converted (visits with a goal or an order)",
            "nb_visits_converted",
            expected.converted_visits,
        ),
        (
            "Goal_1_nb_conversions",
            "Goal_1_nb_conversions",
            expected.goal_conversions[0],
        ),
        (
            "Goal_2_nb_conversions",
            "Goal_2_nb_conversions",
            expected.goal_conversions[1],
        ),
        (
            "Goal_0_nb_conversions (orders)",
            "Goal_0_nb_conversions",
            expected.orders,
        ),
        (
            "Goal_-1_nb_conversions (abandoned carts)",
            "Goal_-1_nb_conversions",
            expected.carts,
        ),
        (
            "PagePerformance_pageload_hits (page views with timings)",
            "PagePerformance_pageload_hits",
            expected.timed_pageviews,
        ),
    ] {
        checks.push((
            format!("all-families day {what}"),
            num(conn, name)?,
            want as f64,
        ));
    }

    // (c) Each family alone.
    let mut runs = Vec::new();
    for family in &families {
        let builders = family.registry.builders_for(site);
        let records: Vec<Record> = builders.iter().flat_map(|b| b.records()).collect();
        let archiver = Archiver::new(&family.registry, ArchivingConfig::default());
        let before = Usage::now(conn, server)?;
        let t = Instant::now();
        let outcome = archiver.archive(conn, site, Period::day(DAY), NOW, true)?;
        let elapsed = t.elapsed();
        let usage = before.until(Usage::now(conn, server)?);
        let archive = built(outcome, family.name)?;
        let written = check_records(conn, &archive, &records)?;
        let in_core = records
            .iter()
            .filter(|r| core_names.contains(&r.name))
            .count();
        eprintln!(
            "family {}: {:.2} s, {} queries, {} rows read by MariaDB, {} rows sent; {} of {} declared records written, {} with data",
            family.name,
            secs(elapsed),
            usage.queries,
            usage.rows_read,
            usage.rows_sent,
            written.present.len(),
            written.declared,
            written.with_data
        );
        ensure!(
            written.with_data > 0,
            "family {} archived nothing but zeros or nothing at all",
            family.name
        );
        #[expect(clippy::cast_precision_loss, reason = "record counts are tiny")]
        checks.push((
            format!(
                "{}: records in the all-families archive = records of the family alone",
                family.name
            ),
            in_core as f64,
            written.present.len() as f64,
        ));
        runs.push(FamilyRun {
            name: family.name,
            builders: builders.len(),
            elapsed,
            usage,
            written,
            in_core,
        });
    }
    let families_sum: f64 = runs.iter().map(|r| secs(r.elapsed)).sum();
    let mut by_time: Vec<&FamilyRun> = runs.iter().collect();
    by_time.sort_by_key(|r| std::cmp::Reverse(r.elapsed));
    let top: Vec<String> = by_time
        .iter()
        .take(5)
        .map(|r| {
            format!(
                "{} {:.2} s ({:.0}%)",
                r.name,
                secs(r.elapsed),
                100.0 * secs(r.elapsed) / families_sum
            )
        })
        .collect();

    // The report.
    let cpu = |u: &Usage| {
        format!(
            "{:.2} / {}",
            u.ours,
            u.server.map_or("?".to_owned(), |s| format!("{s:.2}"))
        )
    };
    let met = if ratio <= 3.0 {
        "target met"
    } else {
        "**target not met**"
    };
    let mut s = String::new();
    let mut line = |text: String| {
        s.push_str(&text);
        s.push('\n');
    };
    line("### All core families, one day".into());
    line(String::new());
    line("| | |".into());
    line("|---|---|".into());
    line(format!(
        "| families | {} families, {} builders (`Registry::core()` for the site: 2 goals, ecommerce, 2 custom dimensions) |",
        families.len(),
        runs.iter().map(|r| r.builders).sum::<usize>()
    ));
    line(format!(
        "| **bare scan** of every column the families read (one typed SELECT per table, rows decoded and dropped; best of {RUNS}) | **{scan_secs:.2} s**, {scan_rows} rows: visits {:.2} s ({} rows), actions {:.2} s ({}), conversions {:.2} s ({}), items {:.2} s ({}); runs {} |",
        secs(scan.visits),
        scan.rows[0],
        secs(scan.actions),
        scan.rows[1],
        secs(scan.conversions),
        scan.rows[2],
        secs(scan.items),
        scan.rows[3],
        runs_text(&scans.iter().map(BareScan::total).collect::<Vec<_>>())
    ));
    line(format!(
        "| **day archive, all families** (best of {RUNS}, `force`) | **{core_best:.2} s**; runs {}; best run: {} queries, MariaDB read {} rows and sent {}; CPU ours / MariaDB {} s |",
        runs_text(&core_runs),
        core_use.queries,
        core_use.rows_read,
        core_use.rows_sent,
        cpu(&core_use)
    ));
    line(format!(
        "| **ratio all families / bare scan**; target ≤ 3 | **{ratio:.2}** ({met}) |"
    ));
    line(format!(
        "| archive | {core_numeric} numeric + {core_blobs} blob rows, blobs {:.1} MB |",
        core_bytes as f64 / 1e6
    ));
    line(format!(
        "| families alone: sum | {families_sum:.2} s (each run includes the family's own log reads, so the sum exceeds the shared total); largest: {} |",
        top.join(", ")
    ));
    line(String::new());
    line("Each family alone (its builder(s) in a one-builder registry, forced, one run; the time includes that family's own log scans and queries, which the families share in the archive above):".into());
    line(String::new());
    line("| family | seconds | queries | rows read by MariaDB | rows sent | CPU ours / MariaDB (s) | records written / declared (with data); in the all-families archive |".into());
    line("|---|---|---|---|---|---|---|".into());
    for r in &runs {
        line(format!(
            "| {}{} | {:.2} | {} | {} | {} | {} | {} / {} ({}); {} |",
            r.name,
            if r.builders > 1 {
                format!(" ({} builders)", r.builders)
            } else {
                String::new()
            },
            secs(r.elapsed),
            r.usage.queries,
            r.usage.rows_read,
            r.usage.rows_sent,
            cpu(&r.usage),
            r.written.present.len(),
            r.written.declared,
            r.written.with_data,
            r.in_core
        ));
    }
    line(format!(
        "| **sum** | **{families_sum:.2}** | {} | {} | {} | | |",
        runs.iter().map(|r| r.usage.queries).sum::<i64>(),
        runs.iter().map(|r| r.usage.rows_read).sum::<i64>(),
        runs.iter().map(|r| r.usage.rows_sent).sum::<i64>()
    ));

    let rows = vec![
        (
            "Bare scan of every log column the core families read, one day (visits, actions, conversions, items)".to_owned(),
            format!("{scan_secs:.2} s, {scan_rows} rows"),
        ),
        (
            "Day archive, all core families (`Registry::core()`), best of 3; target within 3x of the bare scan".to_owned(),
            format!(
                "**{core_best:.2} s**, ratio **{ratio:.2}** ({met}); {} queries",
                core_use.queries
            ),
        ),
        (
            "Families alone (sum of one-family runs, each with its own log reads)".to_owned(),
            format!("{families_sum:.2} s; largest: {}", top.join(", ")),
        ),
    ];
    Ok(Report {
        section: s,
        rows,
        checks,
    })
}
