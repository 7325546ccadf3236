//! Archiving against MariaDB (issue "Archiving", what it must show):
//! VisitsSummary numbers for hand-built days, weeks and months, time zones,
//! invalidation and re-archiving, concurrent archivers, interrupted archives.

use std::collections::HashMap;

use anyhow::Context as _;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text, Unsigned};
use tally_archiving::scheduler::{self, RunPlan, Silent};
use tally_archiving::segment::Segment;
use tally_archiving::storage::{self, ArchiveKey, ArchiveWriter};
use tally_archiving::{Archiver, ArchivingConfig, Outcome, Period, Registry, SiteInfo};
use tally_db::test_support::TestDb;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

/// After every period the tests archive, so all archives are final.
const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

fn add_site(conn: &mut MysqlConnection, idsite: u32, timezone: &str) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (?, 'Site', 'https://example.org', '2020-01-01 00:00:00', 0, 1, '', '', ?, 'EUR', \
         '', '', '', '', '', 'website')",
    )
    .bind::<Unsigned<diesel::sql_types::Integer>, _>(idsite)
    .bind::<Text, _>(timezone)
    .execute(conn)?;
    Ok(())
}

/// One visit: visitor number, user id, actions, seconds, converted, last action time (UTC).
struct Visit<'a> {
    visitor: u8,
    user: Option<&'a str>,
    actions: u32,
    seconds: u32,
    converted: bool,
    last: &'a str,
}

fn add_visits(conn: &mut MysqlConnection, idsite: u32, visits: &[Visit<'_>]) -> anyhow::Result<()> {
    for v in visits {
        diesel::sql_query(
            "INSERT INTO log_visit (idsite, idvisitor, visit_last_action_time, config_id, location_ip, \
             user_id, visit_first_action_time, visit_goal_converted, visit_total_time, \
             visitor_count_visits, visit_total_actions) \
             VALUES (?, UNHEX(LPAD(HEX(?), 16, '0')), ?, X'0102030405060708', X'7f000001', ?, \
             DATE_SUB(?, INTERVAL ? SECOND), ?, ?, 1, ?)",
        )
        .bind::<Unsigned<diesel::sql_types::Integer>, _>(idsite)
        .bind::<Unsigned<diesel::sql_types::TinyInt>, _>(v.visitor)
        .bind::<Text, _>(v.last)
        .bind::<diesel::sql_types::Nullable<Text>, _>(v.user)
        .bind::<Text, _>(v.last)
        .bind::<Unsigned<diesel::sql_types::Integer>, _>(v.seconds)
        .bind::<diesel::sql_types::TinyInt, _>(i8::from(v.converted))
        .bind::<Unsigned<diesel::sql_types::Integer>, _>(v.seconds)
        .bind::<Unsigned<diesel::sql_types::Integer>, _>(v.actions)
        .execute(conn)?;
    }
    Ok(())
}

fn numeric(conn: &mut MysqlConnection, outcome: Outcome) -> anyhow::Result<HashMap<String, f64>> {
    let archive = outcome.archive().context("an archive")?;
    Ok(storage::read_numeric_records(conn, &archive)?)
}

fn archive(
    conn: &mut MysqlConnection,
    idsite: u32,
    period: Period,
) -> anyhow::Result<HashMap<String, f64>> {
    let registry = Registry::core();
    let site = SiteInfo::load(conn, idsite)?;
    let outcome = Archiver::new(&registry, ArchivingConfig::default())
        .archive(conn, &site, period, NOW, false)?;
    numeric(conn, outcome)
}

fn expect(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// Only the VisitsSummary records of an archive.
fn summary(records: &HashMap<String, f64>) -> HashMap<String, f64> {
    records
        .iter()
        .filter(|(k, _)| {
            !k.contains('_')
                || k.starts_with("nb_")
                || k.starts_with("max_")
                || k.starts_with("sum_")
                || k.starts_with("bounce")
        })
        .filter(|(k, _)| !k.starts_with("Actions"))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// 2026-01-05 (a Monday): visitors 1, 1, 2, 3; plus one visit on each
/// neighbouring day that must not count.
fn monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_visits(
        conn,
        1,
        &[
            Visit {
                visitor: 1,
                user: Some("alice"),
                actions: 3,
                seconds: 120,
                converted: true,
                last: "2026-01-05 10:00:00",
            },
            Visit {
                visitor: 1,
                user: Some("alice"),
                actions: 1,
                seconds: 0,
                converted: false,
                last: "2026-01-05 15:00:00",
            },
            Visit {
                visitor: 2,
                user: Some("bob"),
                actions: 1,
                seconds: 0,
                converted: false,
                last: "2026-01-05 00:00:00",
            },
            Visit {
                visitor: 3,
                user: None,
                actions: 5,
                seconds: 600,
                converted: false,
                last: "2026-01-05 23:59:59",
            },
            Visit {
                visitor: 9,
                user: None,
                actions: 2,
                seconds: 10,
                converted: false,
                last: "2026-01-04 23:59:59",
            },
        ],
    )
}

#[test]
fn a_day_gives_exact_visit_metrics() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    monday(&mut conn)?;
    let day = archive(&mut conn, 1, Period::day(date!(2026 - 01 - 05)))?;
    assert_eq!(
        summary(&day),
        expect(&[
            ("nb_uniq_visitors", 3.0),
            ("nb_visits", 4.0),
            ("nb_actions", 10.0),
            ("max_actions", 5.0),
            ("sum_visit_length", 720.0),
            ("bounce_count", 2.0),
            ("nb_visits_converted", 1.0),
            ("nb_users", 2.0),
        ])
    );
    // The day before holds only visitor 9.
    let sunday = archive(&mut conn, 1, Period::day(date!(2026 - 01 - 04)))?;
    assert_eq!(sunday.get("nb_visits"), Some(&1.0));
    Ok(())
}

#[test]
fn week_and_month_sum_days_and_recount_unique_visitors() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    monday(&mut conn)?;
    // Tuesday: visitor 1 again (with a new user id) and visitor 4.
    add_visits(
        &mut conn,
        1,
        &[
            Visit {
                visitor: 1,
                user: Some("alice2"),
                actions: 2,
                seconds: 30,
                converted: true,
                last: "2026-01-06 08:00:00",
            },
            Visit {
                visitor: 4,
                user: None,
                actions: 7,
                seconds: 70,
                converted: false,
                last: "2026-01-06 09:00:00",
            },
        ],
    )?;
    let tuesday = archive(&mut conn, 1, Period::day(date!(2026 - 01 - 06)))?;
    assert_eq!(tuesday.get("nb_uniq_visitors"), Some(&2.0));
    let week = archive(&mut conn, 1, Period::week(date!(2026 - 01 - 07)))?;
    // Sums of the days (3 + 2 unique visitors summed would be 5; the week
    // recounts 4: visitors 1, 2, 3 and 4; users alice, bob, alice2).
    assert_eq!(
        summary(&week),
        expect(&[
            ("nb_uniq_visitors", 4.0),
            ("nb_visits", 6.0),
            ("nb_actions", 19.0),
            ("max_actions", 7.0),
            ("sum_visit_length", 820.0),
            ("bounce_count", 2.0),
            ("nb_visits_converted", 2.0),
            ("nb_users", 3.0),
        ])
    );
    // January: the week plus Sunday the 4th (visitor 9).
    let month = archive(&mut conn, 1, Period::month(date!(2026 - 01 - 20)))?;
    assert_eq!(
        summary(&month),
        expect(&[
            ("nb_uniq_visitors", 5.0),
            ("nb_visits", 7.0),
            ("nb_actions", 21.0),
            ("max_actions", 7.0),
            ("sum_visit_length", 830.0),
            ("bounce_count", 2.0),
            ("nb_visits_converted", 2.0),
            ("nb_users", 3.0),
        ])
    );
    // A range: Sunday to Tuesday, built from its days; no unique counts.
    let range = archive(
        &mut conn,
        1,
        Period::range(date!(2026 - 01 - 04), date!(2026 - 01 - 06))?,
    )?;
    assert_eq!(range.get("nb_visits"), Some(&7.0));
    assert_eq!(range.get("nb_actions"), Some(&21.0));
    assert_eq!(range.get("nb_uniq_visitors"), None);
    // A year has no unique counts (Matomo does not process them by default).
    let year = archive(&mut conn, 1, Period::year(date!(2026 - 01 - 20)))?;
    assert_eq!(year.get("nb_visits"), Some(&7.0));
    assert_eq!(year.get("nb_uniq_visitors"), None);
    assert_eq!(year.get("nb_users"), None);
    Ok(())
}

#[test]
fn a_new_york_visit_at_0330_utc_belongs_to_the_previous_local_day() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "America/New_York")?;
    add_visits(
        &mut conn,
        1,
        &[Visit {
            visitor: 1,
            user: None,
            actions: 1,
            seconds: 0,
            converted: false,
            last: "2026-01-06 03:30:00",
        }],
    )?;
    let fifth = archive(&mut conn, 1, Period::day(date!(2026 - 01 - 05)))?;
    assert_eq!(fifth.get("nb_visits"), Some(&1.0));
    let sixth = archive(&mut conn, 1, Period::day(date!(2026 - 01 - 06)))?;
    assert_eq!(sixth.get("nb_visits"), None);
    Ok(())
}

#[test]
fn an_interrupted_archive_is_never_read() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    monday(&mut conn)?;
    let period = Period::day(date!(2026 - 01 - 05));
    let key = ArchiveKey::all(1, period);
    // Begun, a record written, never finished (the process died).
    let mut writer = ArchiveWriter::begin(&mut conn, key.clone(), datetime!(2026-02-01 00:00))?;
    writer.insert_numeric("nb_visits", 999.0);
    let stale = writer.idarchive();
    drop(writer);
    diesel::sql_query(
        "INSERT INTO archive_numeric_2026_01 (idarchive, name, idsite, date1, date2, period, ts_archived, value) \
         VALUES (?, 'nb_visits', 1, '2026-01-05', '2026-01-05', 1, '2026-02-01 00:00:00', 999)",
    )
    .bind::<Unsigned<diesel::sql_types::Integer>, _>(stale)
    .execute(&mut conn)?;
    assert_eq!(storage::find_archive(&mut conn, &key, None, true)?, None);
    // The archiver does not take it for a usable archive: it builds anew.
    let day = archive(&mut conn, 1, period)?;
    assert_eq!(day.get("nb_visits"), Some(&4.0));
    // Another crashed archive; purging removes it once it is older than the grace period.
    let crashed = ArchiveWriter::begin(&mut conn, key.clone(), datetime!(2026-02-01 00:00))?;
    let stale = crashed.idarchive();
    drop(crashed);
    let kept = storage::purge(
        &mut conn,
        datetime!(2026-02-01 00:30),
        time::Duration::hours(1),
    )?;
    assert_eq!(kept.errored, 0, "too young to be called dead");
    let purged = storage::purge(
        &mut conn,
        datetime!(2026-03-01 00:00),
        time::Duration::hours(1),
    )?;
    assert_eq!(purged.errored, 1);
    let left: i64 =
        diesel::sql_query("SELECT COUNT(*) AS n FROM archive_numeric_2026_01 WHERE idarchive = ?")
            .bind::<Unsigned<diesel::sql_types::Integer>, _>(stale)
            .get_result::<Count>(&mut conn)?
            .n;
    assert_eq!(left, 0);
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct DoneRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Done flags per archive key over every month table, and the number of
/// archive ids ever allocated.
fn archive_census(conn: &mut MysqlConnection) -> anyhow::Result<(HashMap<String, i64>, u64)> {
    let mut done = HashMap::new();
    for table in tally_db::list_archive_tables(conn)? {
        if table.kind() != tally_db::ArchiveKind::Numeric {
            continue;
        }
        let rows: Vec<DoneRow> = diesel::sql_query(format!(
            "SELECT CONCAT(idsite, ' ', period, ' ', date1, ' ', date2) AS `key`, COUNT(*) AS n \
             FROM {table} WHERE name = 'done' GROUP BY 1"
        ))
        .load(conn)?;
        for row in rows {
            *done.entry(row.key).or_insert(0) += row.n;
        }
    }
    #[derive(QueryableByName)]
    struct Allocated {
        #[diesel(sql_type = Double)]
        n: f64,
    }
    let allocated = diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(value), 0) AS DOUBLE) AS n FROM sequence WHERE name LIKE 'archive\\_numeric\\_%'",
    )
    .get_result::<Allocated>(conn)?
    .n;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a count"
    )]
    Ok((done, allocated as u64))
}

fn queue_day(conn: &mut MysqlConnection, idsite: u32, day: Date) -> anyhow::Result<()> {
    // What the tracker writes for a hit on a past day (recorder.rs).
    diesel::sql_query(
        "INSERT INTO archive_invalidations (name, idsite, date1, date2, period, ts_invalidated, status) \
         VALUES ('done', ?, ?, ?, 1, NOW(), 0)",
    )
    .bind::<Unsigned<diesel::sql_types::Integer>, _>(idsite)
    .bind::<diesel::sql_types::Date, _>(day)
    .bind::<diesel::sql_types::Date, _>(day)
    .execute(conn)?;
    Ok(())
}

fn queue_only() -> RunPlan {
    RunPlan {
        sites: vec![1],
        periods: Vec::new(),
        dates: None,
        concurrency: 1,
        invalidations: true,
        // Segment and VisitFrequency archives have their own tests.
        segments: false,
    }
}

#[test]
fn a_hit_for_an_old_day_rearchives_the_day_week_month_and_year() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let pool = db.pool()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    monday(&mut conn)?;
    let registry = Registry::core();
    let config = ArchivingConfig::default();
    let now = OffsetDateTime::now_utc();
    let site = SiteInfo::load(&mut conn, 1)?;
    let monday = date!(2026 - 01 - 05);
    let periods = [
        Period::day(monday),
        Period::week(monday),
        Period::month(monday),
        Period::year(monday),
    ];
    let archiver = Archiver::new(&registry, config.clone());
    for period in periods {
        archiver.archive(&mut conn, &site, period, now, false)?;
    }
    // A late hit: one more visit on the Monday, queued as the tracker does.
    add_visits(
        &mut conn,
        1,
        &[Visit {
            visitor: 7,
            user: None,
            actions: 2,
            seconds: 5,
            converted: false,
            last: "2026-01-05 12:00:00",
        }],
    )?;
    queue_day(&mut conn, 1, monday)?;
    let report = scheduler::run(&pool, &registry, &config, &queue_only(), &Silent)?;
    assert_eq!(report.failures().count(), 0, "{report:?}");
    let rebuilt: Vec<Period> = report
        .jobs
        .iter()
        .filter(|j| j.result == Ok(true))
        .map(|j| j.period)
        .collect();
    assert_eq!(rebuilt, periods.to_vec(), "day, then week, month, year");
    // Monday had 4 visits, January and 2026 also Sunday's visitor 9; one more each now.
    for (period, visits) in periods.into_iter().zip([5.0, 5.0, 6.0, 6.0]) {
        let found = archiver.archive(&mut conn, &site, period, now, false)?;
        assert!(
            matches!(found, Outcome::Reused(_)),
            "{period} reused after the run"
        );
        let records = numeric(&mut conn, found)?;
        assert_eq!(records.get("nb_visits"), Some(&visits), "{period}");
    }
    assert_eq!(tally_archiving::invalidation::queued_count(&mut conn)?, 0);
    // One archive per period remains (the superseded ones were deleted).
    let (done, _) = archive_census(&mut conn)?;
    assert!(done.values().all(|n| *n == 1), "{done:?}");
    Ok(())
}

#[test]
fn pre_processed_segments_are_archived_by_runs_and_by_the_queue() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let pool = db.pool()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    monday(&mut conn)?;
    diesel::sql_query(
        "INSERT INTO segment (name, definition, login, enable_only_idsite, auto_archive, deleted) VALUES \
         ('Alice', 'userId==alice', 'admin', 0, 1, 0), \
         ('Other site', 'userId==bob', 'admin', 2, 1, 0), \
         ('Not pre-processed', 'userId==carol', 'admin', 0, 0, 0), \
         ('Deleted', 'userId==dave', 'admin', 0, 1, 1), \
         ('Broken', 'nosuchsegment==1', 'admin', 1, 1, 0), \
         ('Gold', 'dimension7==gold', 'admin', 1, 1, 0)",
    )
    .execute(&mut conn)?;
    // A custom dimension of the site: its segment name exists for site 1.
    for sql in [
        "INSERT INTO custom_dimensions (idcustomdimension, idsite, name, `index`, scope, active, \
         extractions, case_sensitive) VALUES (7, 1, 'Tier', 1, 'visit', 1, '[]', 1)",
        "UPDATE log_visit SET custom_dimension_1 = 'gold' WHERE user_id = 'bob'",
    ] {
        diesel::sql_query(sql).execute(&mut conn)?;
    }
    let registry = Registry::core();
    let config = ArchivingConfig::default();
    let monday = date!(2026 - 01 - 05);
    let day = Period::day(monday);
    let plan = RunPlan {
        sites: vec![1],
        periods: vec![tally_schema::PeriodKind::Day],
        dates: Some((monday, monday)),
        concurrency: 1,
        invalidations: false,
        segments: true,
    };
    let report = scheduler::run(&pool, &registry, &config, &plan, &Silent)?;
    let mut described: Vec<(String, bool)> = report
        .jobs
        .iter()
        .map(|job| (job.describe(), job.result.is_ok()))
        .collect();
    described.sort();
    assert_eq!(
        described,
        vec![
            ("site 1 day 2026-01-05".to_owned(), true),
            (
                "site 1 day 2026-01-05 segment dimension7==gold".to_owned(),
                true
            ),
            (
                "site 1 day 2026-01-05 segment nosuchsegment==1".to_owned(),
                false
            ),
            (
                "site 1 day 2026-01-05 segment userId==alice".to_owned(),
                true
            ),
            (
                "site 1 day 2026-01-05 segment visitorType==new (VisitsSummary)".to_owned(),
                true
            ),
            (
                "site 1 day 2026-01-05 segment visitorType==returning,visitorType==returningCustomer (VisitsSummary)"
                    .to_owned(),
                true
            ),
        ]
    );
    let alice = Segment::parse("userId==alice")?;
    let key = ArchiveKey {
        idsite: 1,
        period: day,
        done_flag: alice.done_flag(),
    };
    let found = storage::find_archive(&mut conn, &key, None, false)?.context("segment archive")?;
    let records = storage::read_numeric_records(&mut conn, &found)?;
    assert_eq!(records.get("nb_visits"), Some(&2.0));
    let gold = ArchiveKey {
        idsite: 1,
        period: day,
        done_flag: Segment::parse_with(
            "dimension7==gold",
            &tally_archiving::segment::SegmentContext {
                custom_dimensions: SiteInfo::load(&mut conn, 1)?.custom_dimensions,
            },
        )?
        .done_flag(),
    };
    let found = storage::find_archive(&mut conn, &gold, None, false)?.context("gold archive")?;
    let records = storage::read_numeric_records(&mut conn, &found)?;
    assert_eq!(records.get("nb_visits"), Some(&1.0), "bob's visit");

    // A late visit of alice: the queue rebuilds the day and its segment.
    add_visits(
        &mut conn,
        1,
        &[Visit {
            visitor: 1,
            user: Some("alice"),
            actions: 1,
            seconds: 0,
            converted: false,
            last: "2026-01-05 18:00:00",
        }],
    )?;
    queue_day(&mut conn, 1, monday)?;
    let mut day_only = queue_only();
    day_only.segments = true;
    let report = scheduler::run(&pool, &registry, &config, &day_only, &Silent)?;
    assert!(
        report.jobs.iter().any(|job| job.period == day
            && job.segment.as_deref() == Some("userId==alice")
            && job.result == Ok(true)),
        "{report:?}"
    );
    let found = storage::find_archive(&mut conn, &key, None, false)?.context("segment archive")?;
    assert_eq!(
        storage::read_numeric_records(&mut conn, &found)?.get("nb_visits"),
        Some(&3.0)
    );
    Ok(())
}

#[test]
fn visit_frequency_archives_visits_summary_of_new_and_returning_visits() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    monday(&mut conn)?;
    // Visitor 1's visits are returning ones (the later one a returning
    // customer), visitors 2 and 3 are new.
    diesel::sql_query(
        "UPDATE log_visit SET visitor_returning = CASE \
         WHEN idvisitor = X'0000000000000001' AND user_id = 'alice' AND visit_total_actions = 1 THEN 2 \
         WHEN idvisitor = X'0000000000000001' THEN 1 ELSE 0 END",
    )
    .execute(&mut conn)?;
    let registry = Registry::core();
    let site = SiteInfo::load(&mut conn, 1)?;
    let archiver = Archiver::new(&registry, ArchivingConfig::default());
    let day = Period::day(date!(2026 - 01 - 05));
    let outcomes =
        tally_archiving::visit_frequency::archive(&archiver, &mut conn, &site, day, NOW, false)?;
    let mut by_segment = HashMap::new();
    for (segment, outcome) in outcomes {
        let archive = outcome?.archive().context("an archive")?;
        // Only VisitsSummary's records, under done<hash>.VisitsSummary.
        let key = ArchiveKey {
            idsite: 1,
            period: day,
            done_flag: format!("{}.VisitsSummary", segment.done_flag()),
        };
        assert_eq!(
            storage::find_archive(&mut conn, &key, None, false)?,
            Some(archive)
        );
        let records = storage::read_numeric_records(&mut conn, &archive)?;
        assert!(
            records.keys().all(|name| !name.starts_with("Actions")),
            "{records:?}"
        );
        by_segment.insert(segment.definition().to_owned(), summary(&records));
    }
    assert_eq!(
        by_segment.get(tally_archiving::visit_frequency::NEW),
        Some(&expect(&[
            ("nb_uniq_visitors", 2.0),
            ("nb_visits", 2.0),
            ("nb_actions", 6.0),
            ("max_actions", 5.0),
            ("sum_visit_length", 600.0),
            ("bounce_count", 1.0),
            // nb_visits_converted is 0, and zeros are not stored.
            ("nb_users", 1.0),
        ]))
    );
    assert_eq!(
        by_segment.get(tally_archiving::visit_frequency::RETURNING),
        Some(&expect(&[
            ("nb_uniq_visitors", 1.0),
            ("nb_visits", 2.0),
            ("nb_actions", 4.0),
            ("max_actions", 3.0),
            ("sum_visit_length", 120.0),
            ("bounce_count", 1.0),
            ("nb_visits_converted", 1.0),
            ("nb_users", 1.0),
        ]))
    );
    Ok(())
}

#[test]
fn two_archivers_share_100_invalidations_and_build_each_archive_once() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let pool = db.pool()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    let first = date!(2025 - 01 - 01);
    let mut day = first;
    for n in 0..100u8 {
        let last = format!("{day} 12:00:00");
        add_visits(
            &mut conn,
            1,
            &[Visit {
                visitor: n,
                user: None,
                actions: 1,
                seconds: 0,
                converted: false,
                last: &last,
            }],
        )?;
        queue_day(&mut conn, 1, day)?;
        day = day.next_day().context("a next day")?;
    }
    let registry = Registry::core();
    let config = ArchivingConfig::default();
    let reports = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| scheduler::run(&pool, &registry, &config, &queue_only(), &Silent))
            })
            .collect();
        runs.into_iter().map(|r| r.join()).collect::<Vec<_>>()
    });
    let mut claimed = 0;
    for report in reports {
        let report = report.map_err(|_| anyhow::anyhow!("archiver thread panicked"))??;
        assert_eq!(report.failures().count(), 0, "{report:?}");
        claimed += report.jobs.len();
    }
    assert_eq!(tally_archiving::invalidation::queued_count(&mut conn)?, 0);
    // 100 days + their weeks (2024-12-30 .. 2025-04-07: 15), 4 months, 1 year.
    assert_eq!(claimed, 120);
    let (done, allocated) = archive_census(&mut conn)?;
    assert!(
        done.values().all(|n| *n == 1),
        "duplicate done flags: {done:?}"
    );
    // No archive was built twice: every allocated id is a live archive.
    assert_eq!(allocated, done.len() as u64);
    // And the year holds every visit.
    let year = archive(&mut conn, 1, Period::year(first))?;
    assert_eq!(year.get("nb_visits"), Some(&100.0));
    Ok(())
}

#[test]
fn today_is_rebuilt_after_its_ttl_and_days_before_the_site_existed_are_empty() -> anyhow::Result<()>
{
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    diesel::sql_query("UPDATE site SET ts_created = '2026-01-05 08:00:00' WHERE idsite = 1")
        .execute(&mut conn)?;
    monday(&mut conn)?;
    let registry = Registry::core();
    let archiver = Archiver::new(&registry, ArchivingConfig::default());
    let site = SiteInfo::load(&mut conn, 1)?;
    // Visitor 9's Sunday is before the site was created: no archive at all.
    let sunday = archiver.archive(
        &mut conn,
        &site,
        Period::day(date!(2026 - 01 - 04)),
        NOW,
        false,
    )?;
    assert_eq!(sunday, Outcome::NoData);
    // Monday seen from Monday afternoon: "today", usable for 900 s.
    let afternoon = datetime!(2026-01-05 16:00 UTC);
    let monday = Period::day(date!(2026 - 01 - 05));
    let first = archiver.archive(&mut conn, &site, monday, afternoon, false)?;
    assert!(matches!(first, Outcome::Built(_)));
    let soon = archiver.archive(
        &mut conn,
        &site,
        monday,
        afternoon + time::Duration::seconds(600),
        false,
    )?;
    assert_eq!(soon, Outcome::Reused(first.archive().context("built")?));
    let later = archiver.archive(
        &mut conn,
        &site,
        monday,
        afternoon + time::Duration::seconds(901),
        false,
    )?;
    assert!(matches!(later, Outcome::Built(_)), "{later:?}");
    // Once the day is over, an archive built during it is outdated...
    let tuesday = datetime!(2026-01-06 09:00 UTC);
    let after = archiver.archive(&mut conn, &site, monday, tuesday, false)?;
    assert!(matches!(after, Outcome::Built(_)), "{after:?}");
    // ...and one built after it stays usable for good.
    let next_year = archiver.archive(&mut conn, &site, monday, NOW, false)?;
    assert!(matches!(next_year, Outcome::Reused(_)), "{next_year:?}");
    // A future day has nothing.
    let future = archiver.archive(
        &mut conn,
        &site,
        Period::day(date!(2026 - 01 - 07)),
        tuesday,
        false,
    )?;
    assert_eq!(future, Outcome::NoData);
    Ok(())
}

#[test]
fn log_aggregator_groups_visits_actions_conversions_and_items() -> anyhow::Result<()> {
    use tally_archiving::logs::EcommerceItemColumn;
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    monday(&mut conn)?;
    for sql in [
        "UPDATE log_visit SET visitor_returning = IF(idvisitor = X'0000000000000001', 1, 0)",
        "INSERT INTO log_action (idaction, name, hash, type) VALUES \
         (1, 'example.org/a', 1, 1), (2, 'example.org/b', 2, 1), (3, 'SKU-1', 3, 9), (4, 'Shoes', 4, 10)",
        "INSERT INTO log_link_visit_action (idsite, idvisitor, idvisit, server_time, idaction_url) VALUES \
         (1, X'0000000000000001', 1, '2026-01-05 09:59:00', 1), \
         (1, X'0000000000000001', 1, '2026-01-05 10:00:00', 2), \
         (1, X'0000000000000001', 2, '2026-01-05 15:00:00', 1), \
         (1, X'0000000000000002', 3, '2026-01-04 23:00:00', 1)",
        "INSERT INTO log_conversion (idvisit, idsite, idvisitor, server_time, idgoal, buster, idorder, items, url, \
         revenue, revenue_subtotal, revenue_tax, revenue_shipping, revenue_discount, visitor_returning) VALUES \
         (1, 1, X'0000000000000001', '2026-01-05 10:00:00', 0, 1, 'o-1', 3, 'u', 30.25, 25, 3, 2.25, 0, 1), \
         (1, 1, X'0000000000000001', '2026-01-05 10:00:00', 2, 2, NULL, NULL, 'u', 5, NULL, NULL, NULL, NULL, 1), \
         (2, 1, X'0000000000000001', '2026-01-05 15:00:00', 2, 3, NULL, NULL, 'u', 5, NULL, NULL, NULL, NULL, 1)",
        "INSERT INTO log_conversion_item (idsite, idvisitor, server_time, idvisit, idorder, idaction_sku, idaction_name, \
         idaction_category, idaction_category2, idaction_category3, idaction_category4, idaction_category5, price, quantity, deleted) VALUES \
         (1, X'0000000000000001', '2026-01-05 10:00:00', 1, 'o-1', 3, 3, 4, 0, 0, 0, 0, 10.5, 2, 0), \
         (1, X'0000000000000003', '2026-01-05 12:00:00', 4, '0', 3, 3, 4, 0, 0, 0, 0, 10.5, 1, 0), \
         (1, X'0000000000000003', '2026-01-05 12:00:00', 4, 'o-9', 3, 3, 4, 0, 0, 0, 0, 99, 1, 1)",
    ] {
        diesel::sql_query(sql).execute(&mut conn)?;
    }
    let (start, end) = Period::day(date!(2026 - 01 - 05))
        .utc_bounds(&tally_schema::tz::SiteTimeZone::parse("UTC"));
    let logs = tally_archiving::LogAggregator::new(1, start, end)?;
    assert!(logs.has_visits(&mut conn)?);

    let mut by_returning =
        logs.query_visits_by_dimension(&mut conn, &["log_visit.visitor_returning"])?;
    by_returning.sort_by(|a, b| a.labels.cmp(&b.labels));
    let summary: Vec<(Option<String>, u64, u64, u64, u64)> = by_returning
        .iter()
        .map(|g| {
            (
                g.labels[0].clone(),
                g.nb_visits,
                g.nb_uniq_visitors,
                g.nb_actions,
                g.bounce_count,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some("0".into()), 2, 2, 6, 1),
            (Some("1".into()), 2, 1, 4, 1)
        ]
    );

    let pages = logs.query_actions_by_dimension(
        &mut conn,
        &["log_action.name"],
        Some("log_link_visit_action.idaction_url"),
    )?;
    let mut pages: Vec<(Option<String>, u64, u64, u64)> = pages
        .into_iter()
        .map(|g| {
            (
                g.labels[0].clone(),
                g.nb_visits,
                g.nb_uniq_visitors,
                g.nb_hits,
            )
        })
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        vec![
            (Some("example.org/a".into()), 2, 1, 2),
            (Some("example.org/b".into()), 1, 1, 1)
        ]
    );

    let mut goals = logs.query_conversions_by_dimension(&mut conn, &[])?;
    goals.sort_by_key(|g| g.idgoal);
    let goals: Vec<(i32, u64, u64, f64, f64, u64)> = goals
        .iter()
        .map(|g| {
            (
                g.idgoal,
                g.nb_conversions,
                g.nb_visits_converted,
                g.revenue,
                g.revenue_shipping,
                g.items,
            )
        })
        .collect();
    assert_eq!(
        goals,
        vec![(0, 1, 1, 30.25, 2.25, 3), (2, 2, 2, 10.0, 0.0, 0)]
    );

    let mut items = logs.query_ecommerce_items(&mut conn, EcommerceItemColumn::Sku)?;
    items.sort_by_key(|i| i.idgoal);
    let items: Vec<(Option<String>, i32, f64, u64, f64, u64)> = items
        .into_iter()
        .map(|i| (i.label, i.idgoal, i.revenue, i.quantity, i.price, i.orders))
        .collect();
    // The deleted item is left out; the cart (order id '0') counts visits.
    assert_eq!(
        items,
        vec![
            (Some("SKU-1".into()), -1, 10.5, 1, 10.5, 1),
            (Some("SKU-1".into()), 0, 21.0, 2, 10.5, 1),
        ]
    );
    // More than six dimensions is a builder error, not SQL.
    let seven = ["log_visit.idsite"; 7];
    assert!(logs.query_visits_by_dimension(&mut conn, &seven).is_err());

    // The same queries for the visits of a segment: only visit 1 (alice,
    // 120 s), its two actions, its two conversions and its order's items.
    let segment = Segment::parse("userId==alice;visitDuration>=100")?;
    let alice = logs.clone().with_segment(&segment);
    assert!(alice.is_segmented() && alice.has_visits(&mut conn)?);
    let all = alice.query_visits_by_dimension(&mut conn, &[])?;
    let all: Vec<(u64, u64, u64, u64, u64)> = all
        .iter()
        .map(|g| {
            (
                g.nb_visits,
                g.nb_uniq_visitors,
                g.nb_actions,
                g.bounce_count,
                g.nb_users,
            )
        })
        .collect();
    assert_eq!(all, vec![(1, 1, 3, 0, 1)]);
    assert_eq!(alice.count_unique_visitors_and_users(&mut conn)?, (1, 1));
    assert_eq!(
        alice.count_visits_matching(&mut conn, &["log_visit.visit_total_actions >= 3"])?,
        vec![1]
    );
    let mut pages: Vec<(Option<String>, u64)> = alice
        .query_actions_by_dimension(
            &mut conn,
            &["log_action.name"],
            Some("log_link_visit_action.idaction_url"),
        )?
        .into_iter()
        .map(|g| (g.labels[0].clone(), g.nb_hits))
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        vec![
            (Some("example.org/a".into()), 1),
            (Some("example.org/b".into()), 1)
        ]
    );
    let mut goals: Vec<(i32, u64, f64)> = alice
        .query_conversions_by_dimension(&mut conn, &[])?
        .iter()
        .map(|g| (g.idgoal, g.nb_conversions, g.revenue))
        .collect();
    goals.sort_by_key(|g| g.0);
    assert_eq!(goals, vec![(0, 1, 30.25), (2, 1, 5.0)]);
    let items: Vec<(i32, u64)> = alice
        .query_ecommerce_items(&mut conn, EcommerceItemColumn::Sku)?
        .iter()
        .map(|i| (i.idgoal, i.quantity))
        .collect();
    assert_eq!(items, vec![(0, 2)]);
    let visits = tally_archiving::logs::scan_visits(&mut conn, &alice)?;
    assert_eq!(
        visits.iter().map(|v| v.idvisit).collect::<Vec<_>>(),
        vec![1]
    );
    let actions = tally_archiving::logs::scan_actions(&mut conn, &alice)?;
    assert_eq!(actions.len(), 2);
    // A segment no visit matches.
    let nobody = logs
        .clone()
        .with_segment(&Segment::parse("userId==nobody")?);
    assert!(!nobody.has_visits(&mut conn)?);
    assert!(
        nobody
            .query_visits_by_dimension(&mut conn, &[])?
            .iter()
            .all(|g| g.nb_visits == 0)
    );
    Ok(())
}

#[test]
fn a_segment_archive_counts_only_its_visits_and_is_stored_under_its_hash() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    monday(&mut conn)?;
    // Tuesday: alice again under a new user id, and bob.
    add_visits(
        &mut conn,
        1,
        &[
            Visit {
                visitor: 1,
                user: Some("alice2"),
                actions: 2,
                seconds: 30,
                converted: true,
                last: "2026-01-06 08:00:00",
            },
            Visit {
                visitor: 2,
                user: Some("bob"),
                actions: 4,
                seconds: 50,
                converted: false,
                last: "2026-01-06 09:00:00",
            },
        ],
    )?;
    let registry = Registry::core();
    let site = SiteInfo::load(&mut conn, 1)?;
    let archiver = Archiver::new(&registry, ArchivingConfig::default());
    let segment = Segment::parse("userId==alice,userId==bob")?;
    let monday_day = Period::day(date!(2026 - 01 - 05));
    let week = Period::week(date!(2026 - 01 - 05));

    let segmented = archiver.archive_segment(&mut conn, &site, monday_day, &segment, NOW, false)?;
    let plain = archiver.archive(&mut conn, &site, monday_day, NOW, false)?;
    let segmented_archive = segmented.archive().context("a segment archive")?;
    assert_ne!(Some(segmented_archive), plain.archive());
    // Monday: alice twice (3 + 1 actions, 120 s, one conversion) and bob
    // once (a bounce); visitor 3 is outside the segment.
    assert_eq!(
        summary(&numeric(&mut conn, segmented)?),
        expect(&[
            ("nb_uniq_visitors", 2.0),
            ("nb_visits", 3.0),
            ("nb_actions", 5.0),
            ("max_actions", 3.0),
            ("sum_visit_length", 120.0),
            ("bounce_count", 2.0),
            ("nb_visits_converted", 1.0),
            ("nb_users", 2.0),
        ])
    );
    assert_eq!(numeric(&mut conn, plain)?.get("nb_visits"), Some(&4.0));
    // Stored under done<md5 of the definition>, found again as such.
    let key = ArchiveKey {
        idsite: 1,
        period: monday_day,
        done_flag: segment.done_flag(),
    };
    // md5("userId==alice,userId==bob"), computed outside Rust.
    assert_eq!(segment.done_flag(), "done43a356fd3022f2aa29d796f2ed011b72");
    assert_eq!(
        storage::find_archive(&mut conn, &key, None, false)?,
        Some(segmented_archive)
    );
    // The week: its days archived with the segment, bob's Tuesday visit in,
    // alice2 out; unique visitors and users recounted over the segment.
    let week_outcome = archiver.archive_segment(&mut conn, &site, week, &segment, NOW, false)?;
    let week_records = numeric(&mut conn, week_outcome)?;
    assert_eq!(week_records.get("nb_visits"), Some(&4.0));
    assert_eq!(week_records.get("nb_actions"), Some(&9.0));
    assert_eq!(week_records.get("nb_uniq_visitors"), Some(&2.0));
    assert_eq!(week_records.get("nb_users"), Some(&2.0));
    let plain_week_outcome = archiver.archive(&mut conn, &site, week, NOW, false)?;
    let plain_week = numeric(&mut conn, plain_week_outcome)?;
    assert_eq!(plain_week.get("nb_visits"), Some(&6.0));
    // A value with SQL in it is bound, not run: no visit matches it.
    let hostile = Segment::parse("userId==%27%3B%20DROP%20TABLE%20log_visit%3B%20--")?;
    let outcome = archiver.archive_segment(&mut conn, &site, monday_day, &hostile, NOW, false)?;
    assert_eq!(numeric(&mut conn, outcome)?.get("nb_visits"), None);
    let rebuilt = archiver.archive(&mut conn, &site, monday_day, NOW, true)?;
    assert_eq!(numeric(&mut conn, rebuilt)?.get("nb_visits"), Some(&4.0));
    Ok(())
}

/// Every archive row of `idsite`, by archive key (`period date1 date2`):
/// its numeric records (done flags included) and its blobs, sorted by name.
type Contents = HashMap<String, (Vec<(String, f64)>, Vec<(String, Vec<u8>)>)>;

fn archive_contents(conn: &mut MysqlConnection, idsite: u32) -> anyhow::Result<Contents> {
    #[derive(QueryableByName)]
    struct NumericRow {
        #[diesel(sql_type = Text)]
        key: String,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Double)]
        value: f64,
    }
    #[derive(QueryableByName)]
    struct BlobRow {
        #[diesel(sql_type = Text)]
        key: String,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Blob)]
        value: Vec<u8>,
    }
    let mut out = Contents::new();
    for table in tally_db::list_archive_tables(conn)? {
        let sql = format!(
            "SELECT CONCAT(period, ' ', date1, ' ', date2) AS `key`, name, value FROM {table} \
             WHERE idsite = ? ORDER BY name"
        );
        match table.kind() {
            tally_db::ArchiveKind::Numeric => {
                let rows: Vec<NumericRow> = diesel::sql_query(sql)
                    .bind::<Unsigned<diesel::sql_types::Integer>, _>(idsite)
                    .load(conn)?;
                for row in rows {
                    out.entry(row.key)
                        .or_default()
                        .0
                        .push((row.name, row.value));
                }
            }
            tally_db::ArchiveKind::Blob => {
                let rows: Vec<BlobRow> = diesel::sql_query(sql)
                    .bind::<Unsigned<diesel::sql_types::Integer>, _>(idsite)
                    .load(conn)?;
                for row in rows {
                    out.entry(row.key)
                        .or_default()
                        .1
                        .push((row.name, row.value));
                }
            }
        }
    }
    Ok(out)
}

/// Issue 7 (a 365-day range answered in under 500 ms): the months of a
/// year built side by side on pooled connections, and the builders of each
/// period run side by side once its sub-periods are built (issue 5), give
/// the archives that one connection building them in turn gives.
#[test]
fn issue_7_a_range_built_on_parallel_connections_equals_one_built_in_turn() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let pool = db.pool()?;
    let mut conn = db.conn()?;
    for idsite in [1, 2] {
        add_site(&mut conn, idsite, "UTC")?;
        let mut day = date!(2025 - 01 - 01);
        // A visit every 9 days, so weeks, months and leftover days differ.
        for n in 0..41u8 {
            let last = format!("{day} {:02}:30:00", n % 24);
            add_visits(
                &mut conn,
                idsite,
                &[Visit {
                    visitor: n % 7,
                    user: (n % 3 == 0).then_some("alice"),
                    actions: u32::from(n % 5) + 1,
                    seconds: u32::from(n) * 11,
                    converted: n % 4 == 0,
                    last: &last,
                }],
            )?;
            day = day.checked_add(time::Duration::days(9)).context("a date")?;
        }
    }
    let registry = Registry::core();
    let range = Period::range(date!(2025 - 01 - 01), date!(2025 - 12 - 31))?;
    let site = SiteInfo::load(&mut conn, 1)?;
    let parallel = Archiver::new(&registry, ArchivingConfig::default()).with_workers(pool, 3);
    let outcome = parallel.archive(&mut conn, &site, range, NOW, false)?;
    assert_eq!(numeric(&mut conn, outcome)?.get("nb_visits"), Some(&41.0));
    let site = SiteInfo::load(&mut conn, 2)?;
    let in_turn = Archiver::new(&registry, ArchivingConfig::default());
    in_turn.archive(&mut conn, &site, range, NOW, false)?;

    let built = archive_contents(&mut conn, 1)?;
    // The range, the year, 12 months, their weeks and the leftover days.
    assert!(built.len() > 60, "{} archives", built.len());
    assert_eq!(built, archive_contents(&mut conn, 2)?);
    Ok(())
}

/// COUNT(DISTINCT idvisitor), COUNT(DISTINCT user_id) of site 1 between
/// two UTC times, as MariaDB counts them.
fn distinct_counts(conn: &mut MysqlConnection, from: &str, to: &str) -> anyhow::Result<(f64, f64)> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        visitors: i64,
        #[diesel(sql_type = BigInt)]
        users: i64,
    }
    let c: Counts = diesel::sql_query(
        "SELECT COUNT(DISTINCT idvisitor) AS visitors, COUNT(DISTINCT user_id) AS users \
         FROM log_visit WHERE idsite = 1 AND visit_last_action_time >= ? \
         AND visit_last_action_time < ?",
    )
    .bind::<Text, _>(from)
    .bind::<Text, _>(to)
    .get_result(conn)?;
    #[expect(clippy::cast_precision_loss, reason = "test counts")]
    Ok((c.visitors as f64, c.users as f64))
}

/// The weeks and the month recount unique visitors from the distinct
/// visitors the same archiver kept when it built their sub-periods (days
/// for a week, weeks for a month) and read the logs only of the others:
/// deleting the logs of the whole weeks after they are archived leaves the
/// month's count what the logs gave before, while a new archiver (nothing
/// kept) reads the logs and sees the deletion. Either way the counts are
/// MariaDB's COUNT(DISTINCT), user ids compared under their collation.
#[test]
fn weeks_and_months_recount_from_the_visitors_kept_for_their_sub_periods() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    // Visits over January 2026 (whole weeks 5-11, 12-18, 19-25; days 1-4
    // and 26-31 around them), visitors coming back on other days and
    // weeks, user ids in variants one collation makes equal.
    let users = [
        None,
        Some("Ann"),
        Some("ann"),
        Some("ANN "),
        Some("Bob"),
        Some("bób"),
    ];
    let mut visits = Vec::new();
    let mut times = Vec::new();
    for i in 0u32..120 {
        let day = 1 + (i * 7) % 31;
        let hour = (i * 5) % 24;
        times.push(format!("2026-01-{day:02} {hour:02}:15:00"));
    }
    for (i, last) in (0u32..).zip(&times) {
        visits.push(Visit {
            visitor: u8::try_from(1 + (i * 13) % 37)?,
            user: users[usize::try_from(i % 6)?],
            actions: 1 + i % 4,
            seconds: 10 * (i % 9),
            converted: i % 5 == 0,
            last,
        });
    }
    add_visits(&mut conn, 1, &visits)?;
    let before = distinct_counts(&mut conn, "2026-01-01", "2026-02-01")?;
    let week_12 = distinct_counts(&mut conn, "2026-01-12", "2026-01-19")?;
    // The collation makes Ann, ann and "ANN " one user.
    assert!(before.1 < 5.0, "{before:?}");

    let registry = Registry::core();
    let site = SiteInfo::load(&mut conn, 1)?;
    let archiver = Archiver::new(&registry, ArchivingConfig::default());
    let uniques = |records: &HashMap<String, f64>| {
        (
            records.get("nb_uniq_visitors").copied().unwrap_or(-1.0),
            records.get("nb_users").copied().unwrap_or(-1.0),
        )
    };
    // The weeks come from days this archiver builds and keeps.
    let built = archiver.archive(
        &mut conn,
        &site,
        Period::week(date!(2026 - 01 - 12)),
        NOW,
        false,
    )?;
    let week = numeric(&mut conn, built)?;
    assert_eq!(uniques(&week), week_12);
    for monday in [date!(2026 - 01 - 05), date!(2026 - 01 - 19)] {
        archiver.archive(&mut conn, &site, Period::week(monday), NOW, false)?;
    }
    // Without the logs of the whole weeks, only what was kept can give
    // the month its former count.
    diesel::sql_query(
        "DELETE FROM log_visit WHERE visit_last_action_time >= '2026-01-05' \
         AND visit_last_action_time < '2026-01-26'",
    )
    .execute(&mut conn)?;
    let after = distinct_counts(&mut conn, "2026-01-01", "2026-02-01")?;
    assert!(after.0 < before.0, "{after:?} vs {before:?}");
    let month = Period::month(date!(2026 - 01 - 15));
    let built = archiver.archive(&mut conn, &site, month, NOW, true)?;
    let kept = numeric(&mut conn, built)?;
    assert_eq!(uniques(&kept), before);
    let fresh = Archiver::new(&registry, ArchivingConfig::default());
    let built = fresh.archive(&mut conn, &site, month, NOW, true)?;
    let read = numeric(&mut conn, built)?;
    assert_eq!(uniques(&read), after);
    Ok(())
}

/// A builder of one big blob record, whose days the test writes itself.
struct BigRecord;

impl BigRecord {
    const NAME: &str = "Big_table";
}

impl tally_archiving::RecordBuilder for BigRecord {
    fn plugin(&self) -> &str {
        "Big"
    }

    fn records(&self) -> Vec<tally_archiving::Record> {
        vec![tally_archiving::Record::blob(Self::NAME)]
    }

    fn build_day(
        &self,
        _ctx: &mut tally_archiving::DayContext<'_>,
    ) -> Result<(), tally_archiving::ArchiveError> {
        Ok(())
    }
}

/// Day `n`'s table: 700 top-level rows (a few new each day, so that later
/// days add rows in between), each with a subtable of 30 rows, integer,
/// float and max columns, and a summary row.
fn big_day(n: u32) -> tally_datatable::DataTable {
    use tally_datatable::{DataTable, Row, metrics};
    let mut rows = Vec::new();
    for top in 0..700u32 {
        let label = if top % 50 == 7 {
            format!("/new-on-day-{n}/{top}")
        } else {
            format!("/section-{}/folder-{top}", top % 13)
        };
        let subtable = DataTable::from_rows((0..30u32).map(|leaf| {
            Row::new(format!("page-{}-{leaf}.html", (leaf * 7 + n) % 40))
                .with(metrics::NB_VISITS, i64::from(1 + (leaf * n + top) % 17))
                .with(metrics::NB_HITS, i64::from(2 + (leaf + n * top) % 23))
                .with(metrics::NB_UNIQ_VISITORS, i64::from(1 + leaf % 5))
                .with(200u16, f64::from(leaf * 3 + n) / 8.0)
                .with_metadata("url", format!("https://example.org/{top}/{leaf}/{n}"))
        }));
        rows.push(
            Row::new(label)
                .with(metrics::NB_VISITS, i64::from(10 + (top * n) % 97))
                .with(metrics::NB_HITS, i64::from(20 + (top + n) % 31))
                .with(metrics::MAX_ACTIONS, i64::from((top * 7 + n * 3) % 19))
                .with(201u16, f64::from(top + n) / 4.0)
                .with_subtable(subtable),
        );
    }
    let mut table = DataTable::from_rows(rows);
    table.set_summary_row(Row::new("-1").with(metrics::NB_VISITS, i64::from(n)));
    table
}

/// A record whose stored days add up to more than a megabyte is summed on
/// several threads, split by top-level label and joined (context.rs): the
/// week holds exactly the table that merging the seven decoded days in
/// order gives, rows in the same order.
#[test]
fn a_big_record_summed_on_several_threads_equals_the_days_merged_in_order() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, 1, "UTC")?;
    let now = time::PrimitiveDateTime::new(NOW.date(), NOW.time());
    let record = tally_archiving::Record::blob(BigRecord::NAME);
    let mut expected = tally_datatable::DataTable::new();
    expected.aggregation_ops = record.aggregation_ops.clone();
    let mut stored_bytes = 0;
    for n in 0..7u32 {
        let day = date!(2026 - 01 - 05) + time::Duration::days(i64::from(n));
        let table = big_day(n + 1);
        let encoded = tally_datatable::storage::encode_table(&table)?;
        stored_bytes +=
            encoded.root.len() + encoded.chunks.iter().map(|c| c.bytes.len()).sum::<usize>();
        let key = ArchiveKey {
            idsite: 1,
            period: Period::day(day),
            done_flag: "done".to_owned(),
        };
        let mut writer = ArchiveWriter::begin(&mut conn, key, now)?;
        writer.insert_numeric("nb_visits", 1.0);
        writer.insert_table(BigRecord::NAME, &table)?;
        writer.finish(&mut conn)?;
        let mut renamed = table.clone();
        renamed.rename_after_aggregation(false);
        expected.merge(&renamed)?;
    }
    assert!(
        stored_bytes > 1 << 20,
        "{stored_bytes} bytes: below the split threshold"
    );
    expected.truncate_recursive(
        record.max_rows,
        record.max_subtable_rows,
        &record.sort_column,
    )?;

    let mut registry = Registry::empty();
    registry.add(BigRecord);
    let site = SiteInfo::load(&mut conn, 1)?;
    let outcome = Archiver::new(&registry, ArchivingConfig::default()).archive(
        &mut conn,
        &site,
        Period::week(date!(2026 - 01 - 05)),
        NOW,
        false,
    )?;
    let Outcome::Built(week) = outcome else {
        anyhow::bail!("the week was not built: {outcome:?}");
    };
    let blobs = storage::read_table_blobs(&mut conn, &week, BigRecord::NAME)?
        .context("the week's table")?;
    let summed = tally_datatable::storage::decode_tree(&blobs.root, blobs.chunks())?;
    // Through storage as the week went, for the subtable ids.
    let expected = tally_datatable::storage::decode_encoded(
        &tally_datatable::storage::encode_table(&expected)?,
    )?;
    assert_eq!(summed.rows_count(), expected.rows_count());
    assert!(summed == expected, "the week differs from the merged days");
    Ok(())
}
