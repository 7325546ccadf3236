//! The conversion reports against MariaDB: Referrers (with goal metrics),
//! Goals and the ecommerce product reports. Each test builds its own log
//! fixture, archives Monday 2026-01-05 and checks every row against
//! hand-computed metrics, then adds Tuesday and checks the week of both
//! days.

use std::collections::HashMap;

use anyhow::Context as _;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, SmallInt, Text, TinyInt, Unsigned};
use tally_archiving::storage::{self, StoredArchive};
use tally_archiving::{Archiver, ArchivingConfig, Period, Registry, SiteInfo};
use tally_datatable::{ColumnKey, DataTable, GoalColumns, Goals, Scalar, Value};
use tally_db::test_support::TestDb;
use time::OffsetDateTime;
use time::macros::{date, datetime};

/// After the week of 2026-01-05, so every archive is final.
const NOW: OffsetDateTime = datetime!(2026-01-20 00:00 UTC);

const MONDAY: time::Date = date!(2026 - 01 - 05);

const DAY: u32 = 86_400;

fn add_site(conn: &mut MysqlConnection, ecommerce: bool) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Site', 'https://example.org/', '2020-01-01 00:00:00', ?, 0, '', '', 'UTC', \
         'EUR', '', '', '', '', '', 'website')",
    )
    .bind::<TinyInt, _>(i8::from(ecommerce))
    .execute(conn)?;
    Ok(())
}

fn add_goal(conn: &mut MysqlConnection, idgoal: i32, deleted: bool) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO goal (idsite, idgoal, name, match_attribute, pattern, pattern_type, \
         case_sensitive, allow_multiple, revenue, deleted) \
         VALUES (1, ?, 'Goal', 'manually', '', 'contains', 0, 1, 0, ?)",
    )
    .bind::<Integer, _>(idgoal)
    .bind::<TinyInt, _>(i8::from(deleted))
    .execute(conn)?;
    Ok(())
}

/// A referrer as stored: type, name, keyword, URL (`None` is NULL).
type Referrer = (
    Option<u8>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

const NO_REFERRER: Referrer = (None, None, None, None);

/// One `log_visit` row (first action = last action, UTC).
#[derive(Clone)]
struct Visit {
    idvisit: u64,
    visitor: u8,
    user: Option<&'static str>,
    at: &'static str,
    actions: u32,
    seconds: u32,
    converted: bool,
    referrer: Referrer,
}

impl Default for Visit {
    fn default() -> Self {
        Self {
            idvisit: 1,
            visitor: 1,
            user: None,
            at: "2026-01-05 10:00:00",
            actions: 1,
            seconds: 0,
            converted: false,
            referrer: NO_REFERRER,
        }
    }
}

fn add_visits(conn: &mut MysqlConnection, visits: &[Visit]) -> anyhow::Result<()> {
    for v in visits {
        let (kind, name, keyword, url) = v.referrer;
        diesel::sql_query(
            "INSERT INTO log_visit (idvisit, idsite, idvisitor, config_id, location_ip, user_id, \
             visit_first_action_time, visit_last_action_time, visit_total_actions, \
             visit_total_time, visit_goal_converted, visitor_count_visits, referer_type, \
             referer_name, referer_keyword, referer_url) \
             VALUES (?, 1, UNHEX(LPAD(HEX(?), 16, '0')), X'0102030405060708', X'7f000001', ?, \
             ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
        )
        .into_boxed::<Mysql>()
        .bind::<Unsigned<BigInt>, _>(v.idvisit)
        .bind::<Unsigned<TinyInt>, _>(v.visitor)
        .bind::<Nullable<Text>, _>(v.user)
        .bind::<Text, _>(v.at)
        .bind::<Text, _>(v.at)
        .bind::<Unsigned<Integer>, _>(v.actions)
        .bind::<Unsigned<Integer>, _>(v.seconds)
        .bind::<TinyInt, _>(i8::from(v.converted))
        .bind::<Nullable<Unsigned<TinyInt>>, _>(kind)
        .bind::<Nullable<Text>, _>(name)
        .bind::<Nullable<Text>, _>(keyword)
        .bind::<Nullable<Text>, _>(url)
        .execute(conn)?;
    }
    Ok(())
}

/// One `log_conversion` row.
#[derive(Clone)]
struct Conversion {
    idvisit: u64,
    at: &'static str,
    idgoal: i32,
    buster: u32,
    idorder: Option<&'static str>,
    revenue: Option<f64>,
    /// Subtotal, tax, shipping, discount.
    order: [Option<f64>; 4],
    items: Option<u16>,
    count_visits: u32,
    since_first: Option<u32>,
    /// Type, name, keyword.
    referrer: (Option<u8>, Option<&'static str>, Option<&'static str>),
}

impl Default for Conversion {
    fn default() -> Self {
        Self {
            idvisit: 1,
            at: "2026-01-05 10:00:00",
            idgoal: 1,
            buster: 0,
            idorder: None,
            revenue: None,
            order: [None; 4],
            items: None,
            count_visits: 1,
            since_first: None,
            referrer: (None, None, None),
        }
    }
}

fn add_conversions(conn: &mut MysqlConnection, conversions: &[Conversion]) -> anyhow::Result<()> {
    for c in conversions {
        let (kind, name, keyword) = c.referrer;
        let [subtotal, tax, shipping, discount] = c.order;
        diesel::sql_query(
            "INSERT INTO log_conversion (idvisit, idsite, idvisitor, server_time, idgoal, buster, \
             idorder, items, url, revenue, revenue_subtotal, revenue_tax, revenue_shipping, \
             revenue_discount, visitor_count_visits, visitor_seconds_since_first, referer_type, \
             referer_name, referer_keyword) \
             VALUES (?, 1, X'0000000000000001', ?, ?, ?, ?, ?, 'https://example.org/', ?, ?, ?, \
             ?, ?, ?, ?, ?, ?, ?)",
        )
        .into_boxed::<Mysql>()
        .bind::<Unsigned<BigInt>, _>(c.idvisit)
        .bind::<Text, _>(c.at)
        .bind::<Integer, _>(c.idgoal)
        .bind::<Unsigned<Integer>, _>(c.buster)
        .bind::<Nullable<Text>, _>(c.idorder)
        .bind::<Nullable<Unsigned<SmallInt>>, _>(c.items)
        .bind::<Nullable<Double>, _>(c.revenue)
        .bind::<Nullable<Double>, _>(subtotal)
        .bind::<Nullable<Double>, _>(tax)
        .bind::<Nullable<Double>, _>(shipping)
        .bind::<Nullable<Double>, _>(discount)
        .bind::<Unsigned<Integer>, _>(c.count_visits)
        .bind::<Nullable<Unsigned<Integer>>, _>(c.since_first)
        .bind::<Nullable<Unsigned<TinyInt>>, _>(kind)
        .bind::<Nullable<Text>, _>(name)
        .bind::<Nullable<Text>, _>(keyword)
        .execute(conn)?;
    }
    Ok(())
}

fn run(conn: &mut MysqlConnection, statements: &[&str]) -> anyhow::Result<()> {
    for sql in statements {
        diesel::sql_query(*sql).execute(conn)?;
    }
    Ok(())
}

fn archive(conn: &mut MysqlConnection, period: Period) -> anyhow::Result<StoredArchive> {
    let registry = Registry::core();
    let site = SiteInfo::load(conn, 1)?;
    Archiver::new(&registry, ArchivingConfig::default())
        .archive(conn, &site, period, NOW, false)?
        .archive()
        .context("an archive")
}

fn table(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
    name: &str,
) -> anyhow::Result<DataTable> {
    storage::read_table(conn, archive, name)?.with_context(|| format!("record {name}"))
}

/// A row as the tests compare it: label and columns by name, in stored
/// order.
type Line = (String, Vec<(String, Value)>);

/// The goals column with its goals in id order: the order in which the
/// database returns goal groups is not part of the contract.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Goals(goals) => {
            let mut entries: Vec<(i64, GoalColumns)> = goals
                .0
                .iter()
                .map(|(id, columns)| (*id, columns.clone()))
                .collect();
            entries.sort_by_key(|(id, _)| *id);
            Value::Goals(
                entries
                    .into_iter()
                    .fold(Goals::new(), |goals, (id, columns)| goals.with(id, columns)),
            )
        }
        other => other.clone(),
    }
}

/// The rows of a table (summary row included), ordered by label.
fn lines(table: &DataTable) -> Vec<Line> {
    let mut lines: Vec<Line> = table
        .all_rows()
        .map(|row| {
            let columns = row
                .columns
                .iter()
                .map(|(key, value)| (key.name().into_owned(), normalized(value)))
                .collect();
            (row.label.clone(), columns)
        })
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines
}

/// The rows of the subtable of row `label`.
fn sub_lines(table: &DataTable, label: &str) -> anyhow::Result<Vec<Line>> {
    let row = table
        .row_by_label(label)
        .with_context(|| format!("row {label:?}"))?;
    let subtable = row
        .subtable
        .as_deref()
        .with_context(|| format!("subtable of {label:?}"))?;
    Ok(lines(subtable))
}

/// Expected lines by label, each with its `sum_daily_*` columns last (in
/// the order of the renames), where renaming after aggregation puts them.
fn sorted(mut expected: Vec<Line>) -> Vec<Line> {
    const RENAMED: [&str; 2] = ["sum_daily_nb_uniq_visitors", "sum_daily_nb_users"];
    for (_, columns) in &mut expected {
        columns.sort_by_key(|(name, _)| {
            RENAMED
                .iter()
                .position(|renamed| renamed == name)
                .map_or(0, |rank| rank + 1)
        });
    }
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    expected
}

/// The 8 visit metrics: unique visitors, visits, actions, users, max
/// actions, visit length, bounces, converted visits.
type Metrics = [i64; 8];

const DAY_NAMES: [&str; 8] = [
    "nb_uniq_visitors",
    "nb_visits",
    "nb_actions",
    "nb_users",
    "max_actions",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
];

/// Week tables: unique visitors and users are sums of days.
const WEEK_NAMES: [&str; 8] = [
    "sum_daily_nb_uniq_visitors",
    "nb_visits",
    "nb_actions",
    "sum_daily_nb_users",
    "max_actions",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
];

fn named(label: &str, names: [&str; 8], m: Metrics) -> Line {
    (
        label.to_owned(),
        names
            .iter()
            .zip(m)
            .map(|(name, value)| ((*name).to_owned(), Value::Int(value)))
            .collect(),
    )
}

fn day(label: &str, m: Metrics) -> Line {
    named(label, DAY_NAMES, m)
}

fn week(label: &str, m: Metrics) -> Line {
    named(label, WEEK_NAMES, m)
}

fn goal_columns(values: &[(u16, Scalar)]) -> GoalColumns {
    values
        .iter()
        .map(|(id, value)| (ColumnKey::Id(*id), value.clone()))
        .collect()
}

/// A user goal's metrics: conversions, converted visits, revenue.
fn user_goal(conversions: i64, visits: i64, revenue: Scalar) -> GoalColumns {
    goal_columns(&[
        (1, Scalar::Int(conversions)),
        (3, Scalar::Int(visits)),
        (2, revenue),
    ])
}

/// An order's metrics: conversions, converted visits, revenue, subtotal,
/// tax, shipping, discount, items.
fn order_goal(counts: [i64; 2], money: [Scalar; 5], items: i64) -> GoalColumns {
    let [revenue, subtotal, tax, shipping, discount] = money;
    goal_columns(&[
        (1, Scalar::Int(counts[0])),
        (3, Scalar::Int(counts[1])),
        (2, revenue),
        (4, subtotal),
        (5, tax),
        (6, shipping),
        (7, discount),
        (8, Scalar::Int(items)),
    ])
}

/// An abandoned cart's metrics: conversions, converted visits, revenue,
/// items.
fn cart_goal(conversions: i64, visits: i64, revenue: Scalar, items: i64) -> GoalColumns {
    goal_columns(&[
        (1, Scalar::Int(conversions)),
        (3, Scalar::Int(visits)),
        (2, revenue),
        (8, Scalar::Int(items)),
    ])
}

/// Adds the `goals` column and the enriched `nb_conversions` / `revenue`.
fn with_goals(
    mut line: Line,
    goals: Vec<(i64, GoalColumns)>,
    conversions: i64,
    revenue: Value,
) -> Line {
    let goals = goals
        .into_iter()
        .fold(Goals::new(), |all, (id, columns)| all.with(id, columns));
    line.1
        .push(("goals".to_owned(), normalized(&Value::Goals(goals))));
    line.1
        .push(("nb_conversions".to_owned(), Value::Int(conversions)));
    line.1.push(("revenue".to_owned(), revenue));
    line
}

/// A row made by conversions only: goals, sums and `nb_visits` = 0.
fn conversions_only(label: &str, goals: Vec<(i64, GoalColumns)>, revenue: Value) -> Line {
    let conversions = goals
        .iter()
        .filter(|(id, _)| *id >= 0)
        .filter_map(|(_, columns)| match columns.get(&ColumnKey::Id(1)) {
            Some(Scalar::Int(n)) => Some(*n),
            _ => None,
        })
        .sum();
    let mut line = with_goals((label.to_owned(), Vec::new()), goals, conversions, revenue);
    line.1.push(("nb_visits".to_owned(), Value::Int(0)));
    line
}

fn numeric(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
) -> anyhow::Result<HashMap<String, f64>> {
    Ok(storage::read_numeric_records(conn, archive)?)
}

// ------------------------------------------------------------------ Referrers

const GOOGLE: Referrer = (
    Some(2),
    Some("Google"),
    Some("rust"),
    Some("https://www.google.com/search?q=rust"),
);

/// Monday: Google (alice twice from two URLs, visitor 3 without keyword),
/// Bing, two websites, Facebook, the `spring` campaign with and without a
/// keyword, a direct entry and a visit without referrer type; a Yahoo
/// visit on Sunday must not count. Conversions: alice's goal from Google,
/// blog.net's goal, the campaign's goal, order and cart, a DuckDuckGo
/// conversion on the direct visit (attributed from its `_ref`), one of an
/// unknown type and one without type.
fn referrers_monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    let website = |name, url| (Some(3), Some(name), None, Some(url));
    add_visits(
        conn,
        &[
            Visit {
                idvisit: 1,
                visitor: 1,
                user: Some("alice"),
                actions: 3,
                seconds: 120,
                converted: true,
                referrer: GOOGLE,
                ..Visit::default()
            },
            Visit {
                idvisit: 2,
                visitor: 1,
                user: Some("alice"),
                referrer: (
                    Some(2),
                    Some("Google"),
                    Some("rust"),
                    Some("https://www.google.fr/search?q=rust"),
                ),
                ..Visit::default()
            },
            Visit {
                idvisit: 3,
                visitor: 3,
                referrer: (
                    Some(2),
                    Some("Google"),
                    None,
                    Some("https://www.google.com/"),
                ),
                ..Visit::default()
            },
            Visit {
                idvisit: 4,
                visitor: 4,
                actions: 2,
                seconds: 30,
                referrer: (
                    Some(2),
                    Some("Bing"),
                    Some("rust"),
                    Some("https://www.bing.com/search?q=rust"),
                ),
                ..Visit::default()
            },
            Visit {
                idvisit: 5,
                visitor: 5,
                actions: 2,
                seconds: 60,
                referrer: website("example.com", "https://example.com/a"),
                ..Visit::default()
            },
            Visit {
                idvisit: 6,
                visitor: 6,
                referrer: website("example.com", "https://example.com/b"),
                ..Visit::default()
            },
            Visit {
                idvisit: 7,
                visitor: 7,
                actions: 4,
                seconds: 200,
                converted: true,
                referrer: website("blog.net", "https://blog.net/post"),
                ..Visit::default()
            },
            Visit {
                idvisit: 8,
                visitor: 8,
                referrer: (
                    Some(7),
                    Some("Facebook"),
                    None,
                    Some("https://facebook.com/x"),
                ),
                ..Visit::default()
            },
            Visit {
                idvisit: 9,
                visitor: 9,
                actions: 2,
                seconds: 10,
                converted: true,
                referrer: (Some(6), Some("spring"), Some("shoes"), None),
                ..Visit::default()
            },
            Visit {
                idvisit: 10,
                visitor: 10,
                referrer: (Some(6), Some("spring"), Some(""), None),
                ..Visit::default()
            },
            Visit {
                idvisit: 11,
                visitor: 11,
                referrer: (Some(1), None, None, None),
                ..Visit::default()
            },
            Visit {
                idvisit: 12,
                visitor: 12,
                actions: 2,
                seconds: 20,
                ..Visit::default()
            },
            Visit {
                idvisit: 13,
                visitor: 13,
                at: "2026-01-04 23:00:00",
                referrer: (
                    Some(2),
                    Some("Yahoo"),
                    Some("rust"),
                    Some("https://yahoo.com/"),
                ),
                ..Visit::default()
            },
        ],
    )?;
    let spring = (Some(6), Some("spring"), Some("shoes"));
    add_conversions(
        conn,
        &[
            Conversion {
                idvisit: 1,
                revenue: Some(10.0),
                referrer: (Some(2), Some("Google"), Some("rust")),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 7,
                revenue: Some(5.0),
                referrer: (Some(3), Some("blog.net"), None),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 9,
                idgoal: 2,
                referrer: spring,
                ..Conversion::default()
            },
            Conversion {
                idvisit: 9,
                idgoal: 0,
                buster: 7,
                idorder: Some("o-1"),
                revenue: Some(30.5),
                order: [Some(25.0), Some(3.0), Some(2.5), Some(0.0)],
                items: Some(2),
                referrer: spring,
                ..Conversion::default()
            },
            Conversion {
                idvisit: 9,
                idgoal: -1,
                revenue: Some(12.0),
                items: Some(1),
                referrer: spring,
                ..Conversion::default()
            },
            Conversion {
                idvisit: 11,
                revenue: Some(3.0),
                referrer: (Some(2), Some("DuckDuckGo"), Some("")),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 12,
                revenue: Some(100.0),
                referrer: (Some(5), Some("legacy"), None),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 12,
                idgoal: 2,
                ..Conversion::default()
            },
            Conversion {
                idvisit: 13,
                at: "2026-01-04 23:00:00",
                revenue: Some(99.0),
                referrer: (Some(2), Some("Yahoo"), Some("rust")),
                ..Conversion::default()
            },
        ],
    )
}

/// Tuesday: alice from Google again (converting), a third example.com
/// page, the `autumn` campaign.
fn referrers_tuesday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_visits(
        conn,
        &[
            Visit {
                idvisit: 21,
                visitor: 1,
                user: Some("alice"),
                at: "2026-01-06 09:00:00",
                actions: 2,
                seconds: 50,
                converted: true,
                referrer: GOOGLE,
            },
            Visit {
                idvisit: 22,
                visitor: 14,
                at: "2026-01-06 10:00:00",
                referrer: (
                    Some(3),
                    Some("example.com"),
                    None,
                    Some("https://example.com/c"),
                ),
                ..Visit::default()
            },
            Visit {
                idvisit: 23,
                visitor: 15,
                at: "2026-01-06 11:00:00",
                referrer: (Some(6), Some("autumn"), Some("boots"), None),
                ..Visit::default()
            },
        ],
    )?;
    add_conversions(
        conn,
        &[Conversion {
            idvisit: 21,
            at: "2026-01-06 09:00:00",
            revenue: Some(10.0),
            referrer: (Some(2), Some("Google"), Some("rust")),
            ..Conversion::default()
        }],
    )
}

/// The goals of the `spring` campaign on Monday: its goal (no revenue),
/// its order and its abandoned cart.
fn spring_goals() -> Vec<(i64, GoalColumns)> {
    vec![
        (2, user_goal(1, 1, Scalar::Int(0))),
        (
            0,
            order_goal(
                [1, 1],
                [
                    Scalar::Float(30.5),
                    Scalar::Int(25),
                    Scalar::Int(3),
                    Scalar::Float(2.5),
                    Scalar::Int(0),
                ],
                2,
            ),
        ),
        (-1, cart_goal(1, 1, Scalar::Int(12), 1)),
    ]
}

#[test]
fn referrers_reports_with_goal_metrics() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, true)?;
    add_goal(&mut conn, 1, false)?;
    add_goal(&mut conn, 2, false)?;
    referrers_monday(&mut conn)?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;

    let google_goal = || vec![(1, user_goal(1, 1, Scalar::Int(10)))];
    let engines = table(&mut conn, &monday, "Referrers_keywordBySearchEngine")?;
    assert_eq!(
        lines(&engines),
        sorted(vec![
            // Alice's two URLs are two groups: her unique visits and user
            // ids are summed, as Matomo sums them.
            with_goals(
                day("Google", [3, 3, 5, 2, 3, 120, 2, 1]),
                google_goal(),
                1,
                Value::Int(10)
            ),
            day("Bing", [1, 1, 2, 0, 2, 30, 0, 0]),
            // Only a conversion made this row.
            conversions_only(
                "DuckDuckGo",
                vec![(1, user_goal(1, 1, Scalar::Int(3)))],
                Value::Int(3)
            ),
        ])
    );
    // Subtables get no goal metrics; no keyword is the empty label.
    assert_eq!(
        sub_lines(&engines, "Google")?,
        sorted(vec![
            day("rust", [2, 2, 4, 2, 3, 120, 1, 1]),
            day("", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    assert_eq!(
        sub_lines(&engines, "Bing")?,
        vec![day("rust", [1, 1, 2, 0, 2, 30, 0, 0])]
    );

    let keywords = table(&mut conn, &monday, "Referrers_searchEngineByKeyword")?;
    assert_eq!(
        lines(&keywords),
        sorted(vec![
            with_goals(
                day("rust", [3, 3, 6, 2, 3, 150, 1, 1]),
                google_goal(),
                1,
                Value::Int(10)
            ),
            with_goals(
                day("", [1, 1, 1, 0, 1, 0, 1, 0]),
                vec![(1, user_goal(1, 1, Scalar::Int(3)))],
                1,
                Value::Int(3)
            ),
        ])
    );
    assert_eq!(
        sub_lines(&keywords, "rust")?,
        sorted(vec![
            day("Google", [2, 2, 4, 2, 3, 120, 1, 1]),
            day("Bing", [1, 1, 2, 0, 2, 30, 0, 0]),
        ])
    );
    assert_eq!(
        sub_lines(&keywords, "")?,
        vec![day("Google", [1, 1, 1, 0, 1, 0, 1, 0])]
    );

    let blog_goal = || vec![(1, user_goal(1, 1, Scalar::Int(5)))];
    let websites = table(&mut conn, &monday, "Referrers_urlByWebsite")?;
    assert_eq!(
        lines(&websites),
        sorted(vec![
            day("example.com", [2, 2, 3, 0, 2, 60, 1, 0]),
            with_goals(
                day("blog.net", [1, 1, 4, 0, 4, 200, 0, 1]),
                blog_goal(),
                1,
                Value::Int(5)
            ),
        ])
    );
    assert_eq!(
        sub_lines(&websites, "example.com")?,
        sorted(vec![
            day("https://example.com/a", [1, 1, 2, 0, 2, 60, 0, 0]),
            day("https://example.com/b", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    assert_eq!(
        sub_lines(&websites, "blog.net")?,
        vec![day("https://blog.net/post", [1, 1, 4, 0, 4, 200, 0, 1])]
    );

    let social = table(&mut conn, &monday, "Referrers_urlBySocialNetwork")?;
    assert_eq!(
        lines(&social),
        vec![day("Facebook", [1, 1, 1, 0, 1, 0, 1, 0])]
    );
    assert_eq!(
        sub_lines(&social, "Facebook")?,
        vec![day("https://facebook.com/x", [1, 1, 1, 0, 1, 0, 1, 0])]
    );

    // Campaign keywords get goal metrics too; the cart is left out of the
    // sums.
    let campaigns = table(&mut conn, &monday, "Referrers_keywordByCampaign")?;
    assert_eq!(
        lines(&campaigns),
        vec![with_goals(
            day("spring", [2, 2, 3, 0, 2, 10, 1, 1]),
            spring_goals(),
            2,
            Value::Float(30.5)
        )]
    );
    assert_eq!(
        sub_lines(&campaigns, "spring")?,
        vec![with_goals(
            day("shoes", [1, 1, 2, 0, 2, 10, 0, 1]),
            spring_goals(),
            2,
            Value::Float(30.5)
        )]
    );

    // The visit without type is direct; the conversion of unknown type 5
    // is in no report.
    let types = table(&mut conn, &monday, "Referrers_type")?;
    assert_eq!(
        lines(&types),
        sorted(vec![
            with_goals(
                day("1", [2, 2, 3, 0, 2, 20, 1, 0]),
                vec![(2, user_goal(1, 1, Scalar::Int(0)))],
                1,
                Value::Int(0)
            ),
            with_goals(
                day("2", [4, 4, 7, 2, 3, 150, 2, 1]),
                vec![(1, user_goal(2, 2, Scalar::Int(13)))],
                2,
                Value::Int(13)
            ),
            with_goals(
                day("3", [3, 3, 7, 0, 4, 260, 1, 1]),
                blog_goal(),
                1,
                Value::Int(5)
            ),
            with_goals(
                day("6", [2, 2, 3, 0, 2, 10, 1, 1]),
                spring_goals(),
                2,
                Value::Float(30.5)
            ),
            day("7", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );

    let counts = numeric(&mut conn, &monday)?;
    for (name, value) in [
        ("Referrers_distinctSearchEngines", 3.0),
        ("Referrers_distinctKeywords", 2.0),
        ("Referrers_distinctCampaigns", 1.0),
        ("Referrers_distinctWebsites", 2.0),
        ("Referrers_distinctSocialNetworks", 1.0),
        ("Referrers_distinctWebsitesUrls", 3.0),
    ] {
        assert_eq!(counts.get(name), Some(&value), "{name}");
    }

    referrers_tuesday(&mut conn)?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    let twice_google = || vec![(1, user_goal(2, 2, Scalar::Int(20)))];
    let engines = table(&mut conn, &week_archive, "Referrers_keywordBySearchEngine")?;
    assert_eq!(
        lines(&engines),
        sorted(vec![
            with_goals(
                week("Google", [4, 4, 7, 3, 3, 170, 2, 2]),
                twice_google(),
                2,
                Value::Int(20)
            ),
            week("Bing", [1, 1, 2, 0, 2, 30, 0, 0]),
            conversions_only(
                "DuckDuckGo",
                vec![(1, user_goal(1, 1, Scalar::Int(3)))],
                Value::Int(3)
            ),
        ])
    );
    assert_eq!(
        sub_lines(&engines, "Google")?,
        sorted(vec![
            week("rust", [3, 3, 6, 3, 3, 170, 1, 2]),
            week("", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    let keywords = table(&mut conn, &week_archive, "Referrers_searchEngineByKeyword")?;
    assert_eq!(
        lines(&keywords),
        sorted(vec![
            with_goals(
                week("rust", [4, 4, 8, 3, 3, 200, 1, 2]),
                twice_google(),
                2,
                Value::Int(20)
            ),
            with_goals(
                week("", [1, 1, 1, 0, 1, 0, 1, 0]),
                vec![(1, user_goal(1, 1, Scalar::Int(3)))],
                1,
                Value::Int(3)
            ),
        ])
    );
    assert_eq!(
        sub_lines(&keywords, "rust")?,
        sorted(vec![
            week("Google", [3, 3, 6, 3, 3, 170, 1, 2]),
            week("Bing", [1, 1, 2, 0, 2, 30, 0, 0]),
        ])
    );
    let websites = table(&mut conn, &week_archive, "Referrers_urlByWebsite")?;
    assert_eq!(
        lines(&websites),
        sorted(vec![
            week("example.com", [3, 3, 4, 0, 2, 60, 2, 0]),
            with_goals(
                week("blog.net", [1, 1, 4, 0, 4, 200, 0, 1]),
                blog_goal(),
                1,
                Value::Int(5)
            ),
        ])
    );
    assert_eq!(
        sub_lines(&websites, "example.com")?,
        sorted(vec![
            week("https://example.com/a", [1, 1, 2, 0, 2, 60, 0, 0]),
            week("https://example.com/b", [1, 1, 1, 0, 1, 0, 1, 0]),
            week("https://example.com/c", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    let social = table(&mut conn, &week_archive, "Referrers_urlBySocialNetwork")?;
    assert_eq!(
        lines(&social),
        sorted(vec![week("Facebook", [1, 1, 1, 0, 1, 0, 1, 0])])
    );
    let campaigns = table(&mut conn, &week_archive, "Referrers_keywordByCampaign")?;
    assert_eq!(
        lines(&campaigns),
        sorted(vec![
            with_goals(
                week("spring", [2, 2, 3, 0, 2, 10, 1, 1]),
                spring_goals(),
                2,
                Value::Float(30.5)
            ),
            week("autumn", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    assert_eq!(
        sub_lines(&campaigns, "autumn")?,
        sorted(vec![week("boots", [1, 1, 1, 0, 1, 0, 1, 0])])
    );
    let types = table(&mut conn, &week_archive, "Referrers_type")?;
    assert_eq!(
        lines(&types),
        sorted(vec![
            with_goals(
                week("1", [2, 2, 3, 0, 2, 20, 1, 0]),
                vec![(2, user_goal(1, 1, Scalar::Int(0)))],
                1,
                Value::Int(0)
            ),
            with_goals(
                week("2", [5, 5, 9, 3, 3, 200, 2, 2]),
                vec![(1, user_goal(3, 3, Scalar::Int(23)))],
                3,
                Value::Int(23)
            ),
            with_goals(
                week("3", [4, 4, 8, 0, 4, 260, 2, 1]),
                blog_goal(),
                1,
                Value::Int(5)
            ),
            with_goals(
                week("6", [3, 3, 4, 0, 2, 10, 2, 1]),
                spring_goals(),
                2,
                Value::Float(30.5)
            ),
            week("7", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    let counts = numeric(&mut conn, &week_archive)?;
    for (name, value) in [
        ("Referrers_distinctSearchEngines", 3.0),
        ("Referrers_distinctKeywords", 2.0),
        ("Referrers_distinctCampaigns", 2.0),
        ("Referrers_distinctWebsites", 2.0),
        ("Referrers_distinctSocialNetworks", 1.0),
        // example.com's three URLs and blog.net's one.
        ("Referrers_distinctWebsitesUrls", 4.0),
    ] {
        assert_eq!(counts.get(name), Some(&value), "{name}");
    }
    Ok(())
}

// ---------------------------------------------------------------------- Goals

/// One range table: `(label, nb_conversions)` for every range.
fn ranges(table: &DataTable) -> Vec<(String, Value)> {
    table
        .rows()
        .iter()
        .map(|row| {
            let count = row
                .column("nb_conversions")
                .cloned()
                .unwrap_or(Value::Int(-1));
            (row.label.clone(), count)
        })
        .collect()
}

const VISIT_RANGES: [&str; 13] = [
    "1-1", "2-2", "3-3", "4-4", "5-5", "6-6", "7-7", "8-8", "9-14", "15-25", "26-50", "51-100",
    "101%2B",
];

const DAY_RANGES: [&str; 14] = [
    "0-0", "1-1", "2-2", "3-3", "4-4", "5-5", "6-6", "7-7", "8-14", "15-30", "31-60", "61-120",
    "121-364", "365%2B",
];

/// Every range of `labels` with its count from `counts` (0 otherwise).
fn expected_ranges(labels: &[&str], counts: &[(&str, i64)]) -> Vec<(String, Value)> {
    labels
        .iter()
        .map(|label| {
            let count = counts
                .iter()
                .find(|(l, _)| l == label)
                .map_or(0, |(_, c)| *c);
            ((*label).to_owned(), Value::Int(count))
        })
        .collect()
}

/// Monday: goal 1 twice for alice's first visit and once (without
/// revenue) on visitor 5's hundredth visit 364 days after the first; goal
/// 2 on a third visit two days after the first; goal 3 (since deleted);
/// an order on a 150th visit; a cart without first-visit time. Sunday's
/// conversion must not count.
fn goals_monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_visits(
        conn,
        &[
            Visit {
                idvisit: 1,
                visitor: 1,
                converted: true,
                ..Visit::default()
            },
            Visit {
                idvisit: 2,
                visitor: 2,
                converted: true,
                ..Visit::default()
            },
            Visit {
                idvisit: 3,
                visitor: 3,
                converted: true,
                ..Visit::default()
            },
            Visit {
                idvisit: 4,
                visitor: 4,
                ..Visit::default()
            },
            Visit {
                idvisit: 5,
                visitor: 5,
                converted: true,
                ..Visit::default()
            },
        ],
    )?;
    add_conversions(
        conn,
        &[
            Conversion {
                idvisit: 1,
                buster: 1,
                revenue: Some(10.0),
                since_first: Some(0),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 1,
                buster: 2,
                revenue: Some(10.0),
                since_first: Some(0),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 5,
                count_visits: 100,
                since_first: Some(364 * DAY + 100),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 2,
                idgoal: 2,
                revenue: Some(5.5),
                count_visits: 3,
                since_first: Some(2 * DAY + 5),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 2,
                idgoal: 3,
                revenue: Some(1.0),
                count_visits: 12,
                since_first: Some(400 * DAY),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 3,
                idgoal: 0,
                buster: 9,
                idorder: Some("o-1"),
                revenue: Some(100.25),
                order: [Some(90.0), Some(8.0), Some(5.0), Some(2.75)],
                items: Some(3),
                count_visits: 150,
                since_first: Some(10 * DAY),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 4,
                idgoal: -1,
                revenue: Some(40.0),
                items: Some(2),
                count_visits: 2,
                ..Conversion::default()
            },
            Conversion {
                idvisit: 9,
                at: "2026-01-04 22:00:00",
                revenue: Some(1000.0),
                ..Conversion::default()
            },
        ],
    )
}

/// Tuesday: goal 2 on a first visit, an order on a second visit one day
/// after the first.
fn goals_tuesday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_visits(
        conn,
        &[
            Visit {
                idvisit: 6,
                visitor: 6,
                at: "2026-01-06 10:00:00",
                converted: true,
                ..Visit::default()
            },
            Visit {
                idvisit: 7,
                visitor: 7,
                at: "2026-01-06 11:00:00",
                converted: true,
                ..Visit::default()
            },
        ],
    )?;
    add_conversions(
        conn,
        &[
            Conversion {
                idvisit: 6,
                at: "2026-01-06 10:00:00",
                idgoal: 2,
                revenue: Some(4.5),
                since_first: Some(0),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 7,
                at: "2026-01-06 11:00:00",
                idgoal: 0,
                buster: 3,
                idorder: Some("o-2"),
                revenue: Some(50.0),
                order: [Some(50.0), Some(0.0), Some(0.0), Some(0.0)],
                items: Some(1),
                count_visits: 2,
                since_first: Some(DAY),
                ..Conversion::default()
            },
        ],
    )
}

#[test]
fn goals_overall_and_per_goal() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, true)?;
    add_goal(&mut conn, 1, false)?;
    add_goal(&mut conn, 2, false)?;
    add_goal(&mut conn, 3, true)?;
    goals_monday(&mut conn)?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;

    let values = numeric(&mut conn, &monday)?;
    let expected_numeric = [
        // All goals and the order, not the cart.
        ("Goal_nb_conversions", 6.0),
        ("Goal_nb_visits_converted", 4.0),
        ("Goal_revenue", 126.75),
        ("Goal_1_nb_conversions", 3.0),
        ("Goal_1_nb_visits_converted", 2.0),
        ("Goal_1_revenue", 20.0),
        ("Goal_2_nb_conversions", 1.0),
        ("Goal_2_nb_visits_converted", 1.0),
        ("Goal_2_revenue", 5.5),
        ("Goal_0_nb_conversions", 1.0),
        ("Goal_0_nb_visits_converted", 1.0),
        ("Goal_0_revenue", 100.25),
        ("Goal_0_revenue_subtotal", 90.0),
        ("Goal_0_revenue_tax", 8.0),
        ("Goal_0_revenue_shipping", 5.0),
        ("Goal_0_revenue_discount", 2.75),
        ("Goal_0_items", 3.0),
        ("Goal_-1_nb_conversions", 1.0),
        ("Goal_-1_nb_visits_converted", 1.0),
        ("Goal_-1_revenue", 40.0),
        ("Goal_-1_items", 2.0),
    ];
    for (name, value) in expected_numeric {
        assert_eq!(values.get(name), Some(&value), "{name}");
    }
    // The deleted goal has no records of its own.
    let goal_records: Vec<&String> = values.keys().filter(|n| n.starts_with("Goal_")).collect();
    assert_eq!(
        goal_records.len(),
        expected_numeric.len(),
        "{goal_records:?}"
    );
    assert!(storage::read_table(&mut conn, &monday, "Goal_3_visits_until_conv")?.is_none());

    let check = |conn: &mut MysqlConnection,
                 archive: &StoredArchive,
                 name: &str,
                 labels: &[&str],
                 counts: &[(&str, i64)]|
     -> anyhow::Result<()> {
        let found = ranges(&table(conn, archive, name)?);
        assert_eq!(found, expected_ranges(labels, counts), "{name}");
        Ok(())
    };
    check(
        &mut conn,
        &monday,
        "Goal_1_visits_until_conv",
        &VISIT_RANGES,
        &[("1-1", 2), ("51-100", 1)],
    )?;
    check(
        &mut conn,
        &monday,
        "Goal_1_days_until_conv",
        &DAY_RANGES,
        &[("0-0", 2), ("121-364", 1)],
    )?;
    check(
        &mut conn,
        &monday,
        "Goal_2_visits_until_conv",
        &VISIT_RANGES,
        &[("3-3", 1)],
    )?;
    check(
        &mut conn,
        &monday,
        "Goal_2_days_until_conv",
        &DAY_RANGES,
        &[("2-2", 1)],
    )?;
    check(
        &mut conn,
        &monday,
        "Goal_0_visits_until_conv",
        &VISIT_RANGES,
        &[("101%2B", 1)],
    )?;
    check(
        &mut conn,
        &monday,
        "Goal_0_days_until_conv",
        &DAY_RANGES,
        &[("8-14", 1)],
    )?;
    check(
        &mut conn,
        &monday,
        "Goal_-1_visits_until_conv",
        &VISIT_RANGES,
        &[("2-2", 1)],
    )?;
    // No first-visit time: in no range.
    check(
        &mut conn,
        &monday,
        "Goal_-1_days_until_conv",
        &DAY_RANGES,
        &[],
    )?;
    // The overview sums the user goals, the deleted one included.
    check(
        &mut conn,
        &monday,
        "Goal_visits_until_conv",
        &VISIT_RANGES,
        &[("1-1", 2), ("3-3", 1), ("9-14", 1), ("51-100", 1)],
    )?;
    check(
        &mut conn,
        &monday,
        "Goal_days_until_conv",
        &DAY_RANGES,
        &[("0-0", 2), ("2-2", 1), ("121-364", 1), ("365%2B", 1)],
    )?;

    goals_tuesday(&mut conn)?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    let values = numeric(&mut conn, &week_archive)?;
    for (name, value) in [
        ("Goal_nb_conversions", 8.0),
        ("Goal_nb_visits_converted", 6.0),
        ("Goal_revenue", 181.25),
        ("Goal_1_nb_conversions", 3.0),
        ("Goal_1_revenue", 20.0),
        ("Goal_2_nb_conversions", 2.0),
        ("Goal_2_nb_visits_converted", 2.0),
        ("Goal_2_revenue", 10.0),
        ("Goal_0_nb_conversions", 2.0),
        ("Goal_0_revenue", 150.25),
        ("Goal_0_revenue_subtotal", 140.0),
        ("Goal_0_revenue_tax", 8.0),
        ("Goal_0_revenue_shipping", 5.0),
        ("Goal_0_revenue_discount", 2.75),
        ("Goal_0_items", 4.0),
        ("Goal_-1_nb_conversions", 1.0),
        ("Goal_-1_revenue", 40.0),
        ("Goal_-1_items", 2.0),
    ] {
        assert_eq!(values.get(name), Some(&value), "week {name}");
    }
    check(
        &mut conn,
        &week_archive,
        "Goal_2_visits_until_conv",
        &VISIT_RANGES,
        &[("1-1", 1), ("3-3", 1)],
    )?;
    check(
        &mut conn,
        &week_archive,
        "Goal_2_days_until_conv",
        &DAY_RANGES,
        &[("0-0", 1), ("2-2", 1)],
    )?;
    check(
        &mut conn,
        &week_archive,
        "Goal_0_visits_until_conv",
        &VISIT_RANGES,
        &[("2-2", 1), ("101%2B", 1)],
    )?;
    check(
        &mut conn,
        &week_archive,
        "Goal_0_days_until_conv",
        &DAY_RANGES,
        &[("1-1", 1), ("8-14", 1)],
    )?;
    check(
        &mut conn,
        &week_archive,
        "Goal_1_days_until_conv",
        &DAY_RANGES,
        &[("0-0", 2), ("121-364", 1)],
    )?;
    check(
        &mut conn,
        &week_archive,
        "Goal_visits_until_conv",
        &VISIT_RANGES,
        &[("1-1", 3), ("3-3", 1), ("9-14", 1), ("51-100", 1)],
    )?;
    check(
        &mut conn,
        &week_archive,
        "Goal_days_until_conv",
        &DAY_RANGES,
        &[("0-0", 3), ("2-2", 1), ("121-364", 1), ("365%2B", 1)],
    )?;
    Ok(())
}

/// Matomo builds no Goals records for a period without converted visits on
/// a site without ecommerce, and no product records for such a site.
#[test]
fn goals_and_products_need_conversions_or_ecommerce() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, false)?;
    add_goal(&mut conn, 1, false)?;
    add_visits(&mut conn, &[Visit::default()])?;
    add_conversions(
        &mut conn,
        &[Conversion {
            revenue: Some(5.0),
            ..Conversion::default()
        }],
    )?;
    run(
        &mut conn,
        &[
            "INSERT INTO log_action (idaction, name, hash, type) VALUES (1, 'SKU-A', 1, 5)",
            "INSERT INTO log_conversion_item (idsite, idvisitor, server_time, idvisit, idorder, \
             idaction_sku, idaction_name, idaction_category, idaction_category2, \
             idaction_category3, idaction_category4, idaction_category5, price, quantity, deleted) \
             VALUES (1, X'0000000000000001', '2026-01-05 10:00:00', 1, 'o-1', 1, 0, 0, 0, 0, 0, \
             0, 5, 1, 0)",
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let values = numeric(&mut conn, &monday)?;
    assert!(
        !values.keys().any(|name| name.starts_with("Goal")),
        "{values:?}"
    );
    assert!(storage::read_table(&mut conn, &monday, "Goal_1_visits_until_conv")?.is_none());
    assert!(storage::read_table(&mut conn, &monday, "Goals_ItemsSku")?.is_none());
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    let values = numeric(&mut conn, &week_archive)?;
    assert!(!values.keys().any(|name| name.starts_with("Goal")));

    // The same day once the visit counts as converted.
    diesel::sql_query("UPDATE log_visit SET visit_goal_converted = 1").execute(&mut conn)?;
    let site = SiteInfo::load(&mut conn, 1)?;
    let rebuilt = Archiver::new(&Registry::core(), ArchivingConfig::default())
        .archive(&mut conn, &site, Period::day(MONDAY), NOW, true)?
        .archive()
        .context("an archive")?;
    let values = numeric(&mut conn, &rebuilt)?;
    assert_eq!(values.get("Goal_1_revenue"), Some(&5.0));
    assert_eq!(values.get("Goal_nb_visits_converted"), Some(&1.0));
    assert!(storage::read_table(&mut conn, &rebuilt, "Goals_ItemsSku")?.is_none());
    Ok(())
}

// ------------------------------------------------------------------ Ecommerce

/// `log_action` rows of the product fixture: SKUs (type 5), names (6),
/// categories (7).
const PRODUCT_ACTIONS: &str = "INSERT INTO log_action (idaction, name, hash, type) VALUES \
     (1, 'SKU-A', 1, 5), (2, 'SKU-B', 2, 5), (3, 'SKU-C', 3, 5), \
     (4, 'Shoe', 4, 6), (5, 'Boot', 5, 6), \
     (6, 'Shoes', 6, 7), (7, 'Men', 7, 7), (8, 'Sale', 8, 7), (9, 'Women', 9, 7), \
     (10, 'example.org/product', 10, 1)";

/// Monday's items: order o-1 (2 × SKU-A "Shoe" in Shoes/Men at 20, 1 ×
/// SKU-B without name in Shoes/Sale at 15.5), order o-2 (1 × SKU-A),
/// visit 3's cart (1 × SKU-A, and a deleted SKU-C), visit 4's cart (3 ×
/// SKU-B without name nor category). Product views: visit 1 views SKU-A
/// twice (20, 22), visit 2 once without price and without second
/// category, visit 5 views SKU-C "Boot" in Shoes/Women at 30; a page view
/// without product columns must not count.
const PRODUCTS_MONDAY: [&str; 2] = [
    "INSERT INTO log_conversion_item (idsite, idvisitor, server_time, idvisit, idorder, \
     idaction_sku, idaction_name, idaction_category, idaction_category2, idaction_category3, \
     idaction_category4, idaction_category5, price, quantity, deleted) VALUES \
     (1, X'0000000000000001', '2026-01-05 10:00:00', 1, 'o-1', 1, 4, 6, 7, 0, 0, 0, 20, 2, 0), \
     (1, X'0000000000000001', '2026-01-05 10:00:00', 1, 'o-1', 2, 0, 6, 8, 0, 0, 0, 15.5, 1, 0), \
     (1, X'0000000000000002', '2026-01-05 11:00:00', 2, 'o-2', 1, 4, 6, 7, 0, 0, 0, 20, 1, 0), \
     (1, X'0000000000000003', '2026-01-05 12:00:00', 3, '0', 1, 4, 6, 7, 0, 0, 0, 20, 1, 0), \
     (1, X'0000000000000003', '2026-01-05 12:00:00', 3, '0', 3, 5, 6, 9, 0, 0, 0, 30, 5, 1), \
     (1, X'0000000000000004', '2026-01-05 13:00:00', 4, '0', 2, 0, 0, 0, 0, 0, 0, 15.5, 3, 0), \
     (1, X'0000000000000004', '2026-01-04 13:00:00', 8, 'o-0', 1, 4, 6, 7, 0, 0, 0, 99, 9, 0)",
    "INSERT INTO log_link_visit_action (idsite, idvisitor, idvisit, server_time, idaction_url, \
     idaction_product_sku, idaction_product_name, idaction_product_cat, idaction_product_cat2, \
     product_price) VALUES \
     (1, X'0000000000000001', 1, '2026-01-05 09:50:00', 10, 1, 4, 6, 7, 20), \
     (1, X'0000000000000001', 1, '2026-01-05 09:55:00', 10, 1, 4, 6, 7, 22), \
     (1, X'0000000000000002', 2, '2026-01-05 10:50:00', 10, 1, 4, 6, NULL, NULL), \
     (1, X'0000000000000005', 5, '2026-01-05 14:00:00', 10, 3, 5, 6, 9, 30), \
     (1, X'0000000000000005', 5, '2026-01-05 14:01:00', 10, NULL, NULL, NULL, NULL, NULL), \
     (1, X'0000000000000005', 8, '2026-01-04 14:00:00', 10, 3, 5, 6, 9, 99)",
];

/// Tuesday: order o-4 (1 × SKU-A at 25) after a view of it at 25.
const PRODUCTS_TUESDAY: [&str; 2] = [
    "INSERT INTO log_conversion_item (idsite, idvisitor, server_time, idvisit, idorder, \
     idaction_sku, idaction_name, idaction_category, idaction_category2, idaction_category3, \
     idaction_category4, idaction_category5, price, quantity, deleted) VALUES \
     (1, X'0000000000000001', '2026-01-06 10:00:00', 6, 'o-4', 1, 4, 6, 7, 0, 0, 0, 25, 1, 0)",
    "INSERT INTO log_link_visit_action (idsite, idvisitor, idvisit, server_time, idaction_url, \
     idaction_product_sku, idaction_product_name, idaction_product_cat, idaction_product_cat2, \
     product_price) VALUES \
     (1, X'0000000000000001', 6, '2026-01-06 09:55:00', 10, 1, 4, 6, 7, 25)",
];

/// Item metrics: revenue, quantity, price, orders.
fn item(revenue: Value, quantity: i64, price: Value, orders: i64) -> Vec<(String, Value)> {
    vec![
        ("revenue".to_owned(), revenue),
        ("quantity".to_owned(), Value::Int(quantity)),
        ("price".to_owned(), price),
        ("orders".to_owned(), Value::Int(orders)),
    ]
}

/// View metrics: visits, unique visitors (or their daily sum on a week),
/// views, average viewed price.
fn views(uniques: &str, counts: [i64; 3], average: Value) -> Vec<(String, Value)> {
    vec![
        ("nb_visits".to_owned(), Value::Int(counts[0])),
        (uniques.to_owned(), Value::Int(counts[1])),
        ("nb_actions".to_owned(), Value::Int(counts[2])),
        ("avg_price_viewed".to_owned(), average),
    ]
}

fn product(label: &str, columns: Vec<Vec<(String, Value)>>) -> Line {
    (label.to_owned(), columns.into_iter().flatten().collect())
}

const UNIQ: &str = "nb_uniq_visitors";
const SUM_UNIQ: &str = "sum_daily_nb_uniq_visitors";

#[test]
fn ecommerce_items_by_sku_name_and_category() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, true)?;
    // Visits only make the day worth archiving; products come from items
    // and actions.
    add_visits(
        &mut conn,
        &[
            Visit {
                idvisit: 1,
                ..Visit::default()
            },
            Visit {
                idvisit: 6,
                at: "2026-01-06 10:00:00",
                ..Visit::default()
            },
        ],
    )?;
    run(&mut conn, &[PRODUCT_ACTIONS])?;
    run(&mut conn, &PRODUCTS_MONDAY)?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let i = Value::Int;
    let f = Value::Float;
    let not_defined = "Value not defined";

    let a_views = || views(UNIQ, [2, 2, 3], i(21));
    let c_views = || views(UNIQ, [1, 1, 1], i(30));
    assert_eq!(
        lines(&table(&mut conn, &monday, "Goals_ItemsSku")?),
        sorted(vec![
            product("SKU-A", vec![item(i(60), 3, i(40), 2), a_views()]),
            product("SKU-B", vec![item(f(15.5), 1, f(15.5), 1)]),
            // Viewed only.
            product("SKU-C", vec![c_views()]),
        ])
    );
    // Carts count visits as orders; views are in both tables.
    assert_eq!(
        lines(&table(&mut conn, &monday, "Goals_ItemsSku_Cart")?),
        sorted(vec![
            product("SKU-A", vec![item(i(20), 1, i(20), 1), a_views()]),
            product("SKU-B", vec![item(f(46.5), 3, f(15.5), 1)]),
            product("SKU-C", vec![c_views()]),
        ])
    );
    assert_eq!(
        lines(&table(&mut conn, &monday, "Goals_ItemsName")?),
        sorted(vec![
            product("Shoe", vec![item(i(60), 3, i(40), 2), a_views()]),
            product(not_defined, vec![item(f(15.5), 1, f(15.5), 1)]),
            product("Boot", vec![c_views()]),
        ])
    );
    assert_eq!(
        lines(&table(&mut conn, &monday, "Goals_ItemsName_Cart")?),
        sorted(vec![
            product("Shoe", vec![item(i(20), 1, i(20), 1), a_views()]),
            product(not_defined, vec![item(f(46.5), 3, f(15.5), 1)]),
            product("Boot", vec![c_views()]),
        ])
    );
    // Items count under each of their categories; an empty second
    // category is skipped, an empty first one is "Value not defined".
    let shoes_views = || views(UNIQ, [3, 3, 4], i(24));
    let men_views = || views(UNIQ, [1, 1, 2], i(21));
    assert_eq!(
        lines(&table(&mut conn, &monday, "Goals_ItemsCategory")?),
        sorted(vec![
            product("Shoes", vec![item(f(75.5), 4, f(55.5), 2), shoes_views()]),
            product("Men", vec![item(i(60), 3, i(40), 2), men_views()]),
            product("Sale", vec![item(f(15.5), 1, f(15.5), 1)]),
            product("Women", vec![c_views()]),
        ])
    );
    assert_eq!(
        lines(&table(&mut conn, &monday, "Goals_ItemsCategory_Cart")?),
        sorted(vec![
            product("Shoes", vec![item(i(20), 1, i(20), 1), shoes_views()]),
            product(not_defined, vec![item(f(46.5), 3, f(15.5), 1)]),
            product("Men", vec![item(i(20), 1, i(20), 1), men_views()]),
            product("Women", vec![c_views()]),
        ])
    );

    run(&mut conn, &PRODUCTS_TUESDAY)?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    // The viewed price averages of the days are summed, as Matomo sums
    // them.
    let a_views = || views(SUM_UNIQ, [3, 3, 4], i(46));
    let c_views = || views(SUM_UNIQ, [1, 1, 1], i(30));
    assert_eq!(
        lines(&table(&mut conn, &week_archive, "Goals_ItemsSku")?),
        sorted(vec![
            product("SKU-A", vec![item(i(85), 4, i(65), 3), a_views()]),
            product("SKU-B", vec![item(f(15.5), 1, f(15.5), 1)]),
            product("SKU-C", vec![c_views()]),
        ])
    );
    assert_eq!(
        lines(&table(&mut conn, &week_archive, "Goals_ItemsSku_Cart")?),
        sorted(vec![
            product("SKU-A", vec![item(i(20), 1, i(20), 1), a_views()]),
            product("SKU-B", vec![item(f(46.5), 3, f(15.5), 1)]),
            product("SKU-C", vec![c_views()]),
        ])
    );
    assert_eq!(
        lines(&table(&mut conn, &week_archive, "Goals_ItemsName")?),
        sorted(vec![
            product("Shoe", vec![item(i(85), 4, i(65), 3), a_views()]),
            product(not_defined, vec![item(f(15.5), 1, f(15.5), 1)]),
            product("Boot", vec![c_views()]),
        ])
    );
    assert_eq!(
        lines(&table(&mut conn, &week_archive, "Goals_ItemsName_Cart")?),
        sorted(vec![
            product("Shoe", vec![item(i(20), 1, i(20), 1), a_views()]),
            product(not_defined, vec![item(f(46.5), 3, f(15.5), 1)]),
            product("Boot", vec![c_views()]),
        ])
    );
    assert_eq!(
        lines(&table(&mut conn, &week_archive, "Goals_ItemsCategory")?),
        sorted(vec![
            product(
                "Shoes",
                vec![
                    item(f(100.5), 5, f(80.5), 3),
                    views(SUM_UNIQ, [4, 4, 5], i(49))
                ]
            ),
            product(
                "Men",
                vec![item(i(85), 4, i(65), 3), views(SUM_UNIQ, [2, 2, 3], i(46))]
            ),
            product("Sale", vec![item(f(15.5), 1, f(15.5), 1)]),
            product("Women", vec![c_views()]),
        ])
    );
    assert_eq!(
        lines(&table(
            &mut conn,
            &week_archive,
            "Goals_ItemsCategory_Cart"
        )?),
        sorted(vec![
            product(
                "Shoes",
                vec![item(i(20), 1, i(20), 1), views(SUM_UNIQ, [4, 4, 5], i(49))]
            ),
            product(not_defined, vec![item(f(46.5), 3, f(15.5), 1)]),
            product(
                "Men",
                vec![item(i(20), 1, i(20), 1), views(SUM_UNIQ, [2, 2, 3], i(46))]
            ),
            product("Women", vec![c_views()]),
        ])
    );
    Ok(())
}

/// Two visits on Monday; visit 1 converts goal 1 (revenue 10) and goal 2
/// (revenue 2.5).
fn two_visits_one_converted_twice(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_site(conn, false)?;
    add_goal(conn, 1, false)?;
    add_goal(conn, 2, false)?;
    add_visits(
        conn,
        &[
            Visit {
                idvisit: 1,
                visitor: 1,
                converted: true,
                ..Visit::default()
            },
            Visit {
                idvisit: 2,
                visitor: 2,
                ..Visit::default()
            },
        ],
    )?;
    add_conversions(
        conn,
        &[
            Conversion {
                idvisit: 1,
                revenue: Some(10.0),
                ..Conversion::default()
            },
            Conversion {
                idvisit: 1,
                idgoal: 2,
                revenue: Some(2.5),
                ..Conversion::default()
            },
        ],
    )?;
    Ok(())
}

/// CustomVariables (the plugin's `aggregateFromConversions`): the
/// conversions' own custom variables add goal metrics to the name row and
/// its value row; a conversion without a name adds nothing, and a name
/// that only conversions carry gets a row with `nb_visits` 0.
#[test]
fn custom_variables_carry_goal_metrics() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    two_visits_one_converted_twice(&mut conn)?;
    run(
        &mut conn,
        &[
            "UPDATE log_visit SET custom_var_k1 = 'plan', custom_var_v1 = 'pro'",
            "UPDATE log_conversion SET custom_var_k1 = 'plan', custom_var_v1 = 'pro'",
            // Slot 2 only on the goal 2 conversion: a name without visits.
            "UPDATE log_conversion SET custom_var_k2 = 'coupon', custom_var_v2 = '' \
             WHERE idgoal = 2",
            // A blank name is no name.
            "UPDATE log_conversion SET custom_var_k3 = ' ', custom_var_v3 = 'x'",
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let names = table(&mut conn, &monday, "CustomVariables_valueByName")?;
    let both = [2, 2, 2, 0, 1, 0, 2, 1];
    let goals = || {
        vec![
            (1, user_goal(1, 1, Scalar::Int(10))),
            (2, user_goal(1, 1, Scalar::Float(2.5))),
        ]
    };
    let coupon = |label: &str| {
        conversions_only(
            label,
            vec![(2, user_goal(1, 1, Scalar::Float(2.5)))],
            Value::Float(2.5),
        )
    };
    assert_eq!(
        lines(&names),
        vec![
            coupon("coupon"),
            with_goals(day("plan", both), goals(), 2, Value::Float(12.5)),
        ]
    );
    assert_eq!(
        sub_lines(&names, "plan")?,
        vec![with_goals(day("pro", both), goals(), 2, Value::Float(12.5))]
    );
    assert_eq!(
        sub_lines(&names, "coupon")?,
        vec![coupon("Value not defined")]
    );
    Ok(())
}

/// Matomo's `enrichWithConversionMetrics` for visit dimensions (issue 6):
/// device type, brand, model and browser rows and the three location
/// reports, visit-scope custom dimensions and VisitTime's server hours
/// carry goal metrics from the
/// `config_*` / `location_*` columns (and conversion times)
/// `log_conversion` mirrors; operating systems do not.
#[test]
fn devices_and_locations_carry_goal_metrics() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    two_visits_one_converted_twice(&mut conn)?;
    run(
        &mut conn,
        &[
            "UPDATE log_visit SET config_device_type = 0, config_device_brand = 'Apple', \
             config_device_model = 'MacBook', config_os = 'MAC', config_browser_name = 'FF', \
             location_country = 'fr', location_region = 'IDF', location_city = 'Paris'",
            "UPDATE log_conversion SET config_device_type = 0, config_device_brand = 'Apple', \
             config_device_model = 'MacBook', config_browser_name = 'FF', \
             location_country = 'fr', location_region = 'IDF', location_city = 'Paris'",
            // A visit-scope custom dimension, set on the visits and the
            // conversions.
            "INSERT INTO custom_dimensions (idcustomdimension, idsite, name, `index`, scope, \
             active, extractions) VALUES (1, 1, 'Plan', 1, 'visit', 1, '[]')",
            "UPDATE log_visit SET custom_dimension_1 = 'pro'",
            "UPDATE log_conversion SET custom_dimension_1 = 'pro'",
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    // Two visits (1 action, 0 s each), one converted, both bounces.
    let both = [2, 2, 2, 0, 1, 0, 2, 1];
    let goals = || {
        vec![
            (1, user_goal(1, 1, Scalar::Int(10))),
            (2, user_goal(1, 1, Scalar::Float(2.5))),
        ]
    };
    for (record, label) in [
        ("DevicesDetection_types", "0"),
        ("DevicesDetection_brands", "Apple"),
        ("DevicesDetection_models", "Apple;MacBook"),
        ("DevicesDetection_browsers", "FF"),
        ("UserCountry_country", "fr"),
        ("UserCountry_region", "IDF|fr"),
        ("UserCountry_city", "Paris|IDF|fr"),
        ("CustomDimensions_Dimension1", "pro"),
    ] {
        assert_eq!(
            lines(&table(&mut conn, &monday, record)?),
            vec![with_goals(day(label, both), goals(), 2, Value::Float(12.5))],
            "{record}"
        );
    }
    assert_eq!(
        lines(&table(&mut conn, &monday, "DevicesDetection_os")?),
        vec![day("MAC", both)]
    );
    // VisitTime's server hours carry them too (both visits and the
    // conversions at 10:00 UTC, a UTC site); the other 23 hours do not.
    let hours = lines(&table(&mut conn, &monday, "VisitTime_serverTime")?);
    assert_eq!(hours.len(), 24);
    let ten = hours.iter().find(|(label, _)| label == "10").cloned();
    assert_eq!(
        ten,
        Some(with_goals(day("10", both), goals(), 2, Value::Float(12.5)))
    );
    let nine = hours.iter().find(|(label, _)| label == "9").cloned();
    assert_eq!(nine, Some(day("9", [0; 8])));
    Ok(())
}
