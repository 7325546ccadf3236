//! The action-dimension reports against MariaDB: Events, Contents,
//! PagePerformance, UserId, CustomVariables and CustomDimensions. Each test
//! builds its own log fixture, archives Monday 2026-01-05 and checks every
//! row against hand-computed metrics, then adds Tuesday and checks the week
//! of both days.

use anyhow::Context as _;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Double, Nullable, Text, TinyInt, Unsigned};
use tally_archiving::storage::{self, StoredArchive};
use tally_archiving::{Archiver, ArchivingConfig, Period, Registry, SiteInfo};
use tally_datatable::{DataTable, Scalar, Value};
use tally_db::test_support::TestDb;
use time::OffsetDateTime;
use time::macros::{date, datetime};

/// After the week of 2026-01-05, so every archive is final.
const NOW: OffsetDateTime = datetime!(2026-01-20 00:00 UTC);

const MONDAY: time::Date = date!(2026 - 01 - 05);

fn add_site(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Site', 'https://example.org/', '2020-01-01 00:00:00', 0, 0, '', '', 'UTC', \
         'EUR', '', '', '', '', '', 'website')",
    )
    .execute(conn)?;
    Ok(())
}

/// A column value of a fixture row.
#[derive(Clone, Copy)]
enum V {
    I(i64),
    F(f64),
    S(&'static str),
    B(&'static [u8]),
    /// A visitor id: the byte, left-padded to 8 bytes.
    Visitor(u8),
    Null,
}

/// Inserts one row of `columns` into `table` (test-only SQL: the column
/// names are literals of this file, the values are bound).
fn insert(
    conn: &mut MysqlConnection,
    table: &str,
    columns: &[(&'static str, V)],
) -> anyhow::Result<()> {
    let names: Vec<String> = columns
        .iter()
        .map(|(name, _)| format!("`{name}`"))
        .collect();
    let marks: Vec<&str> = columns
        .iter()
        .map(|(_, value)| match value {
            V::Visitor(_) => "UNHEX(LPAD(HEX(?), 16, '0'))",
            _ => "?",
        })
        .collect();
    let mut query = diesel::sql_query(format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    ))
    .into_boxed::<Mysql>();
    for (_, value) in columns {
        query = match *value {
            V::I(int) => query.bind::<BigInt, _>(int),
            V::F(float) => query.bind::<Double, _>(float),
            V::S(text) => query.bind::<Text, _>(text),
            V::B(bytes) => query.bind::<Binary, _>(bytes),
            V::Visitor(byte) => query.bind::<Unsigned<TinyInt>, _>(byte),
            V::Null => query.bind::<Nullable<Text>, _>(None::<&str>),
        };
    }
    query.execute(conn)?;
    Ok(())
}

/// `defaults` with the columns of `extra` replaced or added.
fn with(
    mut defaults: Vec<(&'static str, V)>,
    extra: &[(&'static str, V)],
) -> Vec<(&'static str, V)> {
    for (name, value) in extra {
        match defaults.iter_mut().find(|(own, _)| own == name) {
            Some(slot) => slot.1 = *value,
            None => defaults.push((*name, *value)),
        }
    }
    defaults
}

/// A `log_visit` row of site 1 with one action and no time, whose first and
/// last action are at `last` (UTC), plus `extra` columns.
fn visit(
    conn: &mut MysqlConnection,
    idvisit: i64,
    visitor: u8,
    last: &'static str,
    extra: &[(&'static str, V)],
) -> anyhow::Result<()> {
    let columns = with(
        vec![
            ("idvisit", V::I(idvisit)),
            ("idsite", V::I(1)),
            ("idvisitor", V::Visitor(visitor)),
            ("visit_last_action_time", V::S(last)),
            ("visit_first_action_time", V::S(last)),
            ("config_id", V::B(b"\x01\x02\x03\x04\x05\x06\x07\x08")),
            ("location_ip", V::B(b"\x7f\x00\x00\x01")),
            ("visit_total_time", V::I(0)),
            ("visit_total_actions", V::I(1)),
        ],
        extra,
    );
    insert(conn, "log_visit", &columns)
}

/// A `log_link_visit_action` row of site 1 at `time` (UTC), plus `extra`.
fn hit(
    conn: &mut MysqlConnection,
    idvisit: i64,
    visitor: u8,
    time: &'static str,
    extra: &[(&'static str, V)],
) -> anyhow::Result<()> {
    let columns = with(
        vec![
            ("idsite", V::I(1)),
            ("idvisitor", V::Visitor(visitor)),
            ("idvisit", V::I(idvisit)),
            ("server_time", V::S(time)),
        ],
        extra,
    );
    insert(conn, "log_link_visit_action", &columns)
}

/// `log_action` rows: (idaction, name, type).
fn add_actions(
    conn: &mut MysqlConnection,
    actions: &[(i64, &'static str, i64)],
) -> anyhow::Result<()> {
    for (id, name, action_type) in actions {
        diesel::sql_query(
            "INSERT INTO log_action (idaction, name, hash, type) VALUES (?, ?, CRC32(?), ?)",
        )
        .bind::<BigInt, _>(id)
        .bind::<Text, _>(name)
        .bind::<Text, _>(name)
        .bind::<BigInt, _>(action_type)
        .execute(conn)?;
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

/// The rows of a table (summary row included), ordered by label: the tests
/// do not depend on the order in which the database returns groups.
fn lines(table: &DataTable) -> Vec<Line> {
    let mut lines: Vec<Line> = table
        .all_rows()
        .map(|row| {
            let columns = row
                .columns
                .iter()
                .map(|(key, value)| (key.name().into_owned(), value.clone()))
                .collect();
            (row.label.clone(), columns)
        })
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines
}

/// The lines of the subtable of row `label`, or `None` without one.
fn sub_lines(table: &DataTable, label: &str) -> anyhow::Result<Option<Vec<Line>>> {
    let row = table
        .row_by_label(label)
        .with_context(|| format!("row {label:?}"))?;
    Ok(row.subtable.as_deref().map(lines))
}

fn sorted(mut expected: Vec<Line>) -> Vec<Line> {
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    expected
}

/// A row's expected columns; the `sum_daily_*` ones of periods move last,
/// in the order of the renames, as renaming after aggregation leaves them.
fn line(label: &str, columns: Vec<(&str, Value)>) -> Line {
    const RENAMED: [&str; 4] = [
        "sum_daily_nb_uniq_visitors",
        "sum_daily_nb_users",
        "sum_daily_entry_nb_uniq_visitors",
        "sum_daily_exit_nb_uniq_visitors",
    ];
    let mut columns: Vec<(String, Value)> = columns
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    columns.sort_by_key(|(name, _)| {
        RENAMED
            .iter()
            .position(|renamed| renamed == name)
            .map_or(0, |rank| rank + 1)
    });
    (label.to_owned(), columns)
}

fn meta(table: &DataTable, label: &str, name: &str) -> anyhow::Result<Option<Scalar>> {
    let row = table
        .row_by_label(label)
        .with_context(|| format!("row {label:?}"))?;
    Ok(row.metadata.get(name).cloned())
}

/// The unique-visitor and user column names of a day and of a week.
#[derive(Clone, Copy)]
enum Of {
    Day,
    Week,
}

impl Of {
    fn uniq(self) -> &'static str {
        match self {
            Self::Day => "nb_uniq_visitors",
            Self::Week => "sum_daily_nb_uniq_visitors",
        }
    }

    fn users(self) -> &'static str {
        match self {
            Self::Day => "nb_users",
            Self::Week => "sum_daily_nb_users",
        }
    }
}

/// A row with the 8 visit metrics: unique visitors, visits, actions,
/// users, max actions, visit length, bounces, converted visits.
fn visits_line(of: Of, label: &str, m: [i64; 8]) -> Line {
    let names = [
        of.uniq(),
        "nb_visits",
        "nb_actions",
        of.users(),
        "max_actions",
        "sum_visit_length",
        "bounce_count",
        "nb_visits_converted",
    ];
    line(label, names.into_iter().zip(m.map(Value::Int)).collect())
}

// --------------------------------------------------------------------- Events

/// An event row: unique visitors, visits, events, events with a value,
/// value sum, and the minimum and maximum (NULL when no event had a value).
#[expect(clippy::too_many_arguments, reason = "one argument per column")]
fn event(
    of: Of,
    label: &str,
    uniq: i64,
    visits: i64,
    events: i64,
    with_value: i64,
    sum: f64,
    extremes: Option<(f64, f64)>,
) -> Line {
    let mut columns = vec![
        (of.uniq(), Value::Int(uniq)),
        ("nb_visits", Value::Int(visits)),
        ("nb_events", Value::Int(events)),
        ("nb_events_with_value", Value::Int(with_value)),
        ("sum_event_value", Value::Float(sum)),
    ];
    let (min, max) = extremes.map_or((Value::Null, Value::Null), |(min, max)| {
        (Value::Float(min), Value::Float(max))
    });
    columns.push(("min_event_value", min));
    columns.push(("max_event_value", max));
    line(label, columns)
}

/// Monday: the groups (category, action, name) are
/// - G1 Videos/Play/Intro: visit 1 (values 10 and 2.5), visit 2 (-1);
/// - G2 Videos/Pause/Intro: visit 1, no value;
/// - G3 Videos/Play/no name: visit 2 (4.25);
/// - G4 Music/Play/"0" (an empty name to PHP): visit 3 (1.23456, stored
///   rounded to 1.23).
///
/// A page view and a Sunday event must not count.
fn events_monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_actions(
        conn,
        &[
            (1, "Videos", 10),
            (2, "Play", 11),
            (3, "Pause", 11),
            (4, "Intro", 12),
            (5, "Music", 10),
            (6, "0", 12),
            (7, "example.org/video", 1),
        ],
    )?;
    visit(conn, 1, 1, "2026-01-05 10:00:00", &[])?;
    visit(conn, 2, 2, "2026-01-05 11:00:00", &[])?;
    visit(conn, 3, 1, "2026-01-05 12:00:00", &[])?;
    visit(conn, 9, 9, "2026-01-04 23:00:00", &[])?;
    let event = |category: i64, action: i64, name: V, value: V| {
        [
            ("idaction_event_category", V::I(category)),
            ("idaction_event_action", V::I(action)),
            ("idaction_name", name),
            ("idaction_url", V::I(7)),
            ("custom_float", value),
        ]
    };
    let t = "2026-01-05 10:00:00";
    hit(conn, 1, 1, t, &event(1, 2, V::I(4), V::F(10.0)))?;
    hit(conn, 1, 1, t, &event(1, 2, V::I(4), V::F(2.5)))?;
    hit(conn, 1, 1, t, &event(1, 3, V::I(4), V::Null))?;
    hit(conn, 2, 2, t, &event(1, 2, V::I(4), V::F(-1.0)))?;
    hit(conn, 2, 2, t, &event(1, 2, V::Null, V::F(4.25)))?;
    hit(conn, 3, 1, t, &event(5, 2, V::I(6), V::F(1.234_56)))?;
    hit(conn, 3, 1, t, &[("idaction_url", V::I(7))])?;
    hit(
        conn,
        9,
        9,
        "2026-01-04 23:00:00",
        &event(1, 2, V::I(4), V::F(99.0)),
    )?;
    Ok(())
}

/// Tuesday: Videos/Play/Intro twice in visit 4 (values 20 and 0).
fn events_tuesday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    visit(conn, 4, 1, "2026-01-06 10:00:00", &[])?;
    for value in [20.0, 0.0] {
        hit(
            conn,
            4,
            1,
            "2026-01-06 10:00:00",
            &[
                ("idaction_event_category", V::I(1)),
                ("idaction_event_action", V::I(2)),
                ("idaction_name", V::I(4)),
                ("custom_float", V::F(value)),
            ],
        )?;
    }
    Ok(())
}

#[test]
fn events_pair_categories_actions_and_names() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    events_monday(&mut conn)?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let d = Of::Day;
    let rounded = 1.23;

    // G1 + G2 + G3: unique visitors are summed over the groups.
    let videos = event(d, "Videos", 4, 4, 5, 4, 15.75, Some((-1.0, 10.0)));
    let music = event(d, "Music", 1, 1, 1, 1, rounded, Some((rounded, rounded)));
    let by_category = table(&mut conn, &monday, "Events_category_action")?;
    assert_eq!(
        lines(&by_category),
        sorted(vec![videos.clone(), music.clone()])
    );
    assert_eq!(
        sub_lines(&by_category, "Videos")?,
        Some(sorted(vec![
            event(d, "Play", 3, 3, 4, 4, 15.75, Some((-1.0, 10.0))),
            event(d, "Pause", 1, 1, 1, 0, 0.0, None),
        ]))
    );
    assert_eq!(
        sub_lines(&by_category, "Music")?,
        Some(vec![event(
            d,
            "Play",
            1,
            1,
            1,
            1,
            rounded,
            Some((rounded, rounded))
        )])
    );

    // Events without a name (or named "0") add no subtable row.
    let category_name = table(&mut conn, &monday, "Events_category_name")?;
    assert_eq!(lines(&category_name), sorted(vec![videos, music]));
    assert_eq!(
        sub_lines(&category_name, "Videos")?,
        Some(vec![event(
            d,
            "Intro",
            3,
            3,
            4,
            3,
            11.5,
            Some((-1.0, 10.0))
        )])
    );
    assert_eq!(sub_lines(&category_name, "Music")?, None);

    let play = event(d, "Play", 4, 4, 5, 5, 15.75 + rounded, Some((-1.0, 10.0)));
    let pause = event(d, "Pause", 1, 1, 1, 0, 0.0, None);
    let action_category = table(&mut conn, &monday, "Events_action_category")?;
    assert_eq!(
        lines(&action_category),
        sorted(vec![play.clone(), pause.clone()])
    );
    assert_eq!(
        sub_lines(&action_category, "Play")?,
        Some(sorted(vec![
            event(d, "Videos", 3, 3, 4, 4, 15.75, Some((-1.0, 10.0))),
            event(d, "Music", 1, 1, 1, 1, rounded, Some((rounded, rounded))),
        ]))
    );
    assert_eq!(
        sub_lines(&action_category, "Pause")?,
        Some(vec![event(d, "Videos", 1, 1, 1, 0, 0.0, None)])
    );

    let action_name = table(&mut conn, &monday, "Events_action_name")?;
    assert_eq!(lines(&action_name), sorted(vec![play, pause]));
    assert_eq!(
        sub_lines(&action_name, "Play")?,
        Some(vec![event(
            d,
            "Intro",
            2,
            2,
            3,
            3,
            11.5,
            Some((-1.0, 10.0))
        )])
    );
    assert_eq!(
        sub_lines(&action_name, "Pause")?,
        Some(vec![event(d, "Intro", 1, 1, 1, 0, 0.0, None)])
    );

    // As a first dimension, a missing or "0" name is "not set".
    let intro = event(d, "Intro", 3, 3, 4, 3, 11.5, Some((-1.0, 10.0)));
    let not_set = event(
        d,
        "Piwik_EventNameNotSet",
        2,
        2,
        2,
        2,
        4.25 + rounded,
        Some((rounded, 4.25)),
    );
    let name_action = table(&mut conn, &monday, "Events_name_action")?;
    assert_eq!(
        lines(&name_action),
        sorted(vec![intro.clone(), not_set.clone()])
    );
    assert_eq!(
        sub_lines(&name_action, "Intro")?,
        Some(sorted(vec![
            event(d, "Play", 2, 2, 3, 3, 11.5, Some((-1.0, 10.0))),
            event(d, "Pause", 1, 1, 1, 0, 0.0, None),
        ]))
    );
    assert_eq!(
        sub_lines(&name_action, "Piwik_EventNameNotSet")?,
        Some(vec![event(
            d,
            "Play",
            2,
            2,
            2,
            2,
            4.25 + rounded,
            Some((rounded, 4.25))
        )])
    );

    let name_category = table(&mut conn, &monday, "Events_name_category")?;
    assert_eq!(lines(&name_category), sorted(vec![intro, not_set]));
    assert_eq!(
        sub_lines(&name_category, "Intro")?,
        Some(vec![event(
            d,
            "Videos",
            3,
            3,
            4,
            3,
            11.5,
            Some((-1.0, 10.0))
        )])
    );
    assert_eq!(
        sub_lines(&name_category, "Piwik_EventNameNotSet")?,
        Some(sorted(vec![
            event(d, "Videos", 1, 1, 1, 1, 4.25, Some((4.25, 4.25))),
            event(d, "Music", 1, 1, 1, 1, rounded, Some((rounded, rounded))),
        ]))
    );

    // The week: Tuesday's minimum of 0 does not replace Monday's -1 (min
    // skips a zero, as Matomo's), its maximum of 20 wins.
    events_tuesday(&mut conn)?;
    let week = archive(&mut conn, Period::week(MONDAY))?;
    let w = Of::Week;
    let by_category = table(&mut conn, &week, "Events_category_action")?;
    assert_eq!(
        lines(&by_category),
        sorted(vec![
            event(w, "Videos", 5, 5, 7, 6, 35.75, Some((-1.0, 20.0))),
            event(w, "Music", 1, 1, 1, 1, rounded, Some((rounded, rounded))),
        ])
    );
    assert_eq!(
        sub_lines(&by_category, "Videos")?,
        Some(sorted(vec![
            event(w, "Play", 4, 4, 6, 6, 35.75, Some((-1.0, 20.0))),
            event(w, "Pause", 1, 1, 1, 0, 0.0, None),
        ]))
    );
    let name_action = table(&mut conn, &week, "Events_name_action")?;
    assert_eq!(
        lines(&name_action),
        sorted(vec![
            event(w, "Intro", 4, 4, 6, 5, 31.5, Some((-1.0, 20.0))),
            event(
                w,
                "Piwik_EventNameNotSet",
                2,
                2,
                2,
                2,
                4.25 + rounded,
                Some((rounded, 4.25))
            ),
        ])
    );
    assert_eq!(
        sub_lines(&name_action, "Intro")?,
        Some(sorted(vec![
            event(w, "Play", 3, 3, 5, 5, 31.5, Some((-1.0, 20.0))),
            event(w, "Pause", 1, 1, 1, 0, 0.0, None),
        ]))
    );
    Ok(())
}

// ------------------------------------------------------------------- Contents

fn content(
    of: Of,
    label: &str,
    uniq: i64,
    visits: i64,
    impressions: i64,
    interactions: i64,
) -> Line {
    line(
        label,
        vec![
            (of.uniq(), Value::Int(uniq)),
            ("nb_visits", Value::Int(visits)),
            ("nb_impressions", Value::Int(impressions)),
            ("nb_interactions", Value::Int(interactions)),
        ],
    )
}

fn interactions_only(label: &str, interactions: i64) -> Line {
    line(label, vec![("nb_interactions", Value::Int(interactions))])
}

const BANNER: i64 = 20;
const IMG: i64 = 21;
const SHOP: i64 = 22;
const CLICK: i64 = 23;
const SIDEBAR: i64 = 24;
const ZERO_PIECE: i64 = 25;
const OTHER: i64 = 26;
const FOOTER: i64 = 27;

/// A content action: name, piece, target, interaction.
fn content_hit(name: i64, piece: V, target: V, interaction: V) -> [(&'static str, V); 4] {
    [
        ("idaction_content_name", V::I(name)),
        ("idaction_content_piece", piece),
        ("idaction_content_target", target),
        ("idaction_content_interaction", interaction),
    ]
}

/// Monday impressions (piece, target, name): I1 img/shop/Banner (visit 1
/// twice, visit 2), I2 img/other/Banner (visit 1), I3 none/shop/Sidebar
/// (visit 2), I4 "0"/none/Sidebar (visit 3, visitor 1). Interactions
/// (piece, name): img/Banner (visit 2), none/Sidebar (visit 2) and
/// img/Footer (visit 3; Footer has no impression).
fn contents_monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_actions(
        conn,
        &[
            (BANNER, "Banner", 13),
            (IMG, "img.png", 14),
            (SHOP, "https://shop.example.org/", 15),
            (CLICK, "click", 16),
            (SIDEBAR, "Sidebar", 13),
            (ZERO_PIECE, "0", 14),
            (OTHER, "https://other.example.org/", 15),
            (FOOTER, "Footer", 13),
        ],
    )?;
    visit(conn, 1, 1, "2026-01-05 10:00:00", &[])?;
    visit(conn, 2, 2, "2026-01-05 11:00:00", &[])?;
    visit(conn, 3, 1, "2026-01-05 12:00:00", &[])?;
    let t = "2026-01-05 10:00:00";
    let i1 = content_hit(BANNER, V::I(IMG), V::I(SHOP), V::Null);
    hit(conn, 1, 1, t, &i1)?;
    hit(conn, 1, 1, t, &i1)?;
    hit(conn, 2, 2, t, &i1)?;
    hit(
        conn,
        1,
        1,
        t,
        &content_hit(BANNER, V::I(IMG), V::I(OTHER), V::Null),
    )?;
    hit(
        conn,
        2,
        2,
        t,
        &content_hit(SIDEBAR, V::Null, V::I(SHOP), V::Null),
    )?;
    hit(
        conn,
        3,
        1,
        t,
        &content_hit(SIDEBAR, V::I(ZERO_PIECE), V::Null, V::Null),
    )?;
    hit(
        conn,
        2,
        2,
        t,
        &content_hit(BANNER, V::I(IMG), V::Null, V::I(CLICK)),
    )?;
    hit(
        conn,
        2,
        2,
        t,
        &content_hit(SIDEBAR, V::Null, V::Null, V::I(CLICK)),
    )?;
    hit(
        conn,
        3,
        1,
        t,
        &content_hit(FOOTER, V::I(IMG), V::Null, V::I(CLICK)),
    )?;
    Ok(())
}

/// Tuesday: visitor 3 sees and clicks the banner image.
fn contents_tuesday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    visit(conn, 4, 3, "2026-01-06 10:00:00", &[])?;
    let t = "2026-01-06 10:00:00";
    hit(
        conn,
        4,
        3,
        t,
        &content_hit(BANNER, V::I(IMG), V::I(SHOP), V::Null),
    )?;
    hit(
        conn,
        4,
        3,
        t,
        &content_hit(BANNER, V::I(IMG), V::Null, V::I(CLICK)),
    )?;
    Ok(())
}

#[test]
fn contents_count_impressions_and_interactions() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    contents_monday(&mut conn)?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let d = Of::Day;

    let name_piece = table(&mut conn, &monday, "Contents_name_piece")?;
    assert_eq!(
        lines(&name_piece),
        sorted(vec![
            // I1 + I2 (two targets: unique visitors summed) and one click;
            // Footer's click has no impression and is dropped.
            content(d, "Banner", 3, 3, 4, 1),
            content(d, "Sidebar", 2, 2, 2, 1),
        ])
    );
    assert_eq!(
        sub_lines(&name_piece, "Banner")?,
        Some(vec![content(d, "img.png", 3, 3, 4, 1)])
    );
    // Neither a missing piece nor "0" makes a subtable row.
    assert_eq!(sub_lines(&name_piece, "Sidebar")?, None);

    let piece_name = table(&mut conn, &monday, "Contents_piece_name")?;
    assert_eq!(
        lines(&piece_name),
        sorted(vec![
            content(d, "img.png", 3, 3, 4, 2),
            // The click without a piece keeps its raw (empty) label and
            // never reaches the "not set" row.
            content(d, "Piwik_ContentPieceNotSet", 2, 2, 2, 0),
        ])
    );
    assert_eq!(
        sub_lines(&piece_name, "img.png")?,
        Some(sorted(vec![
            content(d, "Banner", 3, 3, 4, 1),
            interactions_only("Footer", 1),
        ]))
    );
    assert_eq!(
        sub_lines(&piece_name, "Piwik_ContentPieceNotSet")?,
        Some(vec![content(d, "Sidebar", 2, 2, 2, 0)])
    );

    contents_tuesday(&mut conn)?;
    let week = archive(&mut conn, Period::week(MONDAY))?;
    let w = Of::Week;
    let name_piece = table(&mut conn, &week, "Contents_name_piece")?;
    assert_eq!(
        lines(&name_piece),
        sorted(vec![
            content(w, "Banner", 4, 4, 5, 2),
            content(w, "Sidebar", 2, 2, 2, 1),
        ])
    );
    assert_eq!(
        sub_lines(&name_piece, "Banner")?,
        Some(vec![content(w, "img.png", 4, 4, 5, 2)])
    );
    let piece_name = table(&mut conn, &week, "Contents_piece_name")?;
    assert_eq!(
        sub_lines(&piece_name, "img.png")?,
        Some(sorted(vec![
            content(w, "Banner", 4, 4, 5, 2),
            interactions_only("Footer", 1),
        ]))
    );
    Ok(())
}

// ------------------------------------------------------------ PagePerformance

const PERFORMANCE: [&str; 14] = [
    "PagePerformance_network_time",
    "PagePerformance_network_hits",
    "PagePerformance_servery_time",
    "PagePerformance_server_hits",
    "PagePerformance_transfer_time",
    "PagePerformance_transfer_hits",
    "PagePerformance_domprocessing_time",
    "PagePerformance_domprocessing_hits",
    "PagePerformance_domcompletion_time",
    "PagePerformance_domcompletion_hits",
    "PagePerformance_onload_time",
    "PagePerformance_onload_hits",
    "PagePerformance_pageload_time",
    "PagePerformance_pageload_hits",
];

fn performance(
    conn: &mut MysqlConnection,
    archive: &StoredArchive,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    PERFORMANCE
        .iter()
        .map(|name| Ok((*name, storage::read_numeric(conn, archive, name)?)))
        .collect()
}

#[test]
fn page_performance_totals_timings_in_milliseconds() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    add_actions(&mut conn, &[(1, "example.org/", 1), (2, "Click", 11)])?;
    visit(&mut conn, 1, 1, "2026-01-05 10:00:00", &[])?;
    let t = "2026-01-05 10:00:00";
    hit(
        &mut conn,
        1,
        1,
        t,
        &[
            ("idaction_url", V::I(1)),
            ("time_network", V::I(100)),
            ("time_server", V::I(50)),
            ("time_transfer", V::I(10)),
            ("time_dom_processing", V::I(200)),
            ("time_dom_completion", V::I(300)),
            ("time_on_load", V::I(20)),
        ],
    )?;
    hit(
        &mut conn,
        1,
        1,
        t,
        &[
            ("idaction_url", V::I(1)),
            ("time_network", V::I(80)),
            ("time_on_load", V::I(5)),
        ],
    )?;
    // No timing: not a page load.
    hit(&mut conn, 1, 1, t, &[("idaction_url", V::I(1))])?;
    // Any action with a timing counts, whatever its type.
    hit(
        &mut conn,
        1,
        1,
        t,
        &[
            ("idaction_event_category", V::I(2)),
            ("time_server", V::I(30)),
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    assert_eq!(
        performance(&mut conn, &monday)?,
        PERFORMANCE
            .into_iter()
            .zip([
                180.0, 2.0, 80.0, 2.0, 10.0, 1.0, 200.0, 1.0, 300.0, 1.0, 25.0, 2.0, 795.0, 3.0,
            ])
            .collect::<Vec<_>>()
    );

    visit(&mut conn, 2, 2, "2026-01-06 10:00:00", &[])?;
    hit(
        &mut conn,
        2,
        2,
        "2026-01-06 10:00:00",
        &[("idaction_url", V::I(1)), ("time_network", V::I(20))],
    )?;
    let week = archive(&mut conn, Period::week(MONDAY))?;
    assert_eq!(
        performance(&mut conn, &week)?,
        PERFORMANCE
            .into_iter()
            .zip([
                200.0, 3.0, 80.0, 2.0, 10.0, 1.0, 200.0, 1.0, 300.0, 1.0, 25.0, 2.0, 815.0, 4.0,
            ])
            .collect::<Vec<_>>()
    );
    Ok(())
}

// --------------------------------------------------------------------- UserId

#[test]
fn user_ids_with_their_visitor_id() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    let c = &mut conn;
    let m = "2026-01-05 10:00:00";
    // alice: visitor 1 twice (one converted visit, one bounce), visitor 2
    // once; bob once; a visit without user and one with an empty user id.
    visit(
        c,
        1,
        1,
        m,
        &[
            ("user_id", V::S("alice")),
            ("visit_total_actions", V::I(3)),
            ("visit_total_time", V::I(100)),
            ("visit_goal_converted", V::I(1)),
        ],
    )?;
    visit(c, 2, 1, m, &[("user_id", V::S("alice"))])?;
    visit(
        c,
        3,
        2,
        m,
        &[
            ("user_id", V::S("alice")),
            ("visit_total_actions", V::I(2)),
            ("visit_total_time", V::I(30)),
        ],
    )?;
    visit(c, 4, 3, m, &[("user_id", V::S("bob"))])?;
    visit(c, 5, 4, m, &[])?;
    visit(c, 6, 5, m, &[("user_id", V::S(""))])?;
    let monday = archive(c, Period::day(MONDAY))?;
    let users = table(c, &monday, "UserId_users")?;
    assert_eq!(
        lines(&users),
        sorted(vec![
            visits_line(Of::Day, "alice", [2, 3, 6, 1, 3, 130, 1, 1]),
            visits_line(Of::Day, "bob", [1, 1, 1, 1, 1, 0, 1, 0]),
        ])
    );
    // The visitor with the most visits of the user.
    assert_eq!(
        meta(&users, "alice", "idvisitor")?,
        Some(Scalar::from("0000000000000001"))
    );
    assert_eq!(
        meta(&users, "bob", "idvisitor")?,
        Some(Scalar::from("0000000000000003"))
    );

    let t = "2026-01-06 10:00:00";
    visit(
        c,
        7,
        2,
        t,
        &[
            ("user_id", V::S("alice")),
            ("visit_total_actions", V::I(2)),
            ("visit_total_time", V::I(40)),
        ],
    )?;
    visit(
        c,
        8,
        6,
        t,
        &[
            ("user_id", V::S("carol")),
            ("visit_total_actions", V::I(4)),
            ("visit_total_time", V::I(60)),
        ],
    )?;
    let week = archive(c, Period::week(MONDAY))?;
    let users = table(c, &week, "UserId_users")?;
    assert_eq!(
        lines(&users),
        sorted(vec![
            visits_line(Of::Week, "alice", [3, 4, 8, 2, 3, 170, 1, 1]),
            visits_line(Of::Week, "bob", [1, 1, 1, 1, 1, 0, 1, 0]),
            visits_line(Of::Week, "carol", [1, 1, 4, 1, 4, 60, 0, 0]),
        ])
    );
    // Metadata comes from the first day with visits (Monday's).
    assert_eq!(
        meta(&users, "alice", "idvisitor")?,
        Some(Scalar::from("0000000000000001"))
    );
    assert_eq!(
        meta(&users, "carol", "idvisitor")?,
        Some(Scalar::from("0000000000000006"))
    );
    Ok(())
}

// ------------------------------------------------------------ CustomVariables

/// Page-scope metrics: unique visitors, visits, actions.
fn page_line(of: Of, label: &str, uniq: i64, visits: i64, actions: i64) -> Line {
    line(
        label,
        vec![
            (of.uniq(), Value::Int(uniq)),
            ("nb_visits", Value::Int(visits)),
            ("nb_actions", Value::Int(actions)),
        ],
    )
}

/// Monday. Visit scope: visit 1 plan=pro (slot 1) and lang="" (slot 2),
/// visit 2 plan=free (slot 1), visit 3 plan=pro (slot 3), visit 4 with an
/// empty and an all-spaces name. Page scope: section=news twice and
/// section=sport (slot 1), plan=pro (slot 2), the reserved `_pkc`=Shoes
/// (slot 5).
fn variables_monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    let m = "2026-01-05 10:00:00";
    visit(
        conn,
        1,
        1,
        m,
        &[
            ("visit_total_actions", V::I(2)),
            ("visit_total_time", V::I(60)),
            ("custom_var_k1", V::S("plan")),
            ("custom_var_v1", V::S("pro")),
            ("custom_var_k2", V::S("lang")),
            ("custom_var_v2", V::S("")),
        ],
    )?;
    visit(
        conn,
        2,
        2,
        m,
        &[
            ("custom_var_k1", V::S("plan")),
            ("custom_var_v1", V::S("free")),
        ],
    )?;
    visit(
        conn,
        3,
        3,
        m,
        &[
            ("visit_total_actions", V::I(3)),
            ("visit_total_time", V::I(30)),
            ("visit_goal_converted", V::I(1)),
            ("custom_var_k3", V::S("plan")),
            ("custom_var_v3", V::S("pro")),
        ],
    )?;
    visit(
        conn,
        4,
        4,
        m,
        &[
            ("custom_var_k1", V::S("")),
            ("custom_var_v1", V::S("x")),
            ("custom_var_k2", V::S("  ")),
            ("custom_var_v2", V::S("y")),
        ],
    )?;
    let news = [
        ("custom_var_k1", V::S("section")),
        ("custom_var_v1", V::S("news")),
    ];
    hit(conn, 1, 1, m, &news)?;
    hit(conn, 1, 1, m, &news)?;
    hit(
        conn,
        2,
        2,
        m,
        &[
            ("custom_var_k1", V::S("section")),
            ("custom_var_v1", V::S("sport")),
        ],
    )?;
    hit(
        conn,
        2,
        2,
        m,
        &[
            ("custom_var_k2", V::S("plan")),
            ("custom_var_v2", V::S("pro")),
        ],
    )?;
    hit(
        conn,
        3,
        3,
        m,
        &[
            ("custom_var_k5", V::S("_pkc")),
            ("custom_var_v5", V::S("Shoes")),
        ],
    )?;
    hit(conn, 4, 4, m, &[])?;
    Ok(())
}

/// Tuesday: visit 5 (visitor 1) plan=pro in slot 1 and, page scope,
/// plan=pro in slot 4.
fn variables_tuesday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    let t = "2026-01-06 10:00:00";
    visit(
        conn,
        5,
        1,
        t,
        &[
            ("visit_total_time", V::I(10)),
            ("custom_var_k1", V::S("plan")),
            ("custom_var_v1", V::S("pro")),
        ],
    )?;
    hit(
        conn,
        5,
        1,
        t,
        &[
            ("custom_var_k4", V::S("plan")),
            ("custom_var_v4", V::S("pro")),
        ],
    )
}

#[test]
fn custom_variables_by_name_and_value() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    variables_monday(&mut conn)?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let d = Of::Day;
    let record = "CustomVariables_valueByName";
    let names = table(&mut conn, &monday, record)?;
    assert_eq!(
        lines(&names),
        sorted(vec![
            // Visits 1, 2, 3 plus the page-scope hit of visit 2.
            visits_line(d, "plan", [4, 4, 7, 0, 3, 90, 1, 1]),
            visits_line(d, "lang", [1, 1, 2, 0, 2, 60, 0, 0]),
            // Page scope only: the visit columns go.
            line("section", vec![("nb_actions", Value::Int(3))]),
            // ... except for a reserved name.
            page_line(d, "_pkc", 1, 1, 1),
        ])
    );
    assert_eq!(
        sub_lines(&names, "plan")?,
        Some(sorted(vec![
            visits_line(d, "pro", [3, 3, 6, 0, 3, 90, 0, 1]),
            visits_line(d, "free", [1, 1, 1, 0, 1, 0, 1, 0]),
        ]))
    );
    assert_eq!(
        sub_lines(&names, "lang")?,
        Some(vec![visits_line(
            d,
            "Value not defined",
            [1, 1, 2, 0, 2, 60, 0, 0]
        )])
    );
    assert_eq!(
        sub_lines(&names, "section")?,
        Some(sorted(vec![
            page_line(d, "news", 1, 1, 2),
            page_line(d, "sport", 1, 1, 1),
        ]))
    );
    assert_eq!(
        sub_lines(&names, "_pkc")?,
        Some(vec![page_line(d, "Shoes", 1, 1, 1)])
    );
    let slots = |table: &DataTable, label: &str| meta(table, label, "slots");
    assert_eq!(
        slots(&names, "plan")?,
        Some(Scalar::from(
            r#"[{"scope":"visit","index":1},{"scope":"page","index":2},{"scope":"visit","index":3}]"#
        ))
    );
    assert_eq!(
        slots(&names, "section")?,
        Some(Scalar::from(r#"[{"scope":"page","index":1}]"#))
    );
    assert_eq!(
        slots(&names, "_pkc")?,
        Some(Scalar::from(r#"[{"scope":"page","index":5}]"#))
    );

    variables_tuesday(&mut conn)?;
    let week = archive(&mut conn, Period::week(MONDAY))?;
    let w = Of::Week;
    let names = table(&mut conn, &week, record)?;
    assert_eq!(
        lines(&names),
        sorted(vec![
            visits_line(w, "plan", [6, 6, 9, 0, 3, 100, 2, 1]),
            visits_line(w, "lang", [1, 1, 2, 0, 2, 60, 0, 0]),
            line("section", vec![("nb_actions", Value::Int(3))]),
            page_line(w, "_pkc", 1, 1, 1),
        ])
    );
    assert_eq!(
        sub_lines(&names, "plan")?,
        Some(sorted(vec![
            visits_line(w, "pro", [5, 5, 8, 0, 3, 100, 1, 1]),
            visits_line(w, "free", [1, 1, 1, 0, 1, 0, 1, 0]),
        ]))
    );
    // The slot lists of the days are united.
    assert_eq!(
        slots(&names, "plan")?,
        Some(Scalar::from(
            r#"[{"scope":"visit","index":1},{"scope":"page","index":2},{"scope":"visit","index":3},{"scope":"page","index":4}]"#
        ))
    );
    Ok(())
}

// ----------------------------------------------------------- CustomDimensions

fn add_dimension(
    conn: &mut MysqlConnection,
    id: i64,
    idsite: i64,
    index: i64,
    scope: &'static str,
    active: i64,
) -> anyhow::Result<()> {
    insert(
        conn,
        "custom_dimensions",
        &[
            ("idcustomdimension", V::I(id)),
            ("idsite", V::I(idsite)),
            ("name", V::S("Dimension")),
            ("index", V::I(index)),
            ("scope", V::S(scope)),
            ("active", V::I(active)),
            ("extractions", V::S("[]")),
        ],
    )
}

/// An action-dimension row: visits, unique visitors, hits, time spent,
/// bounces, exits (floats, as Matomo casts them).
/// The PagePerformance columns of an action-scope row, between `nb_hits`
/// and `sum_time_spent`: per timing, sum, hits with it, min and max.
const TIMING_NAMES: [&str; 24] = [
    "sum_time_network",
    "nb_hits_with_time_network",
    "min_time_network",
    "max_time_network",
    "sum_time_server",
    "nb_hits_with_time_server",
    "min_time_server",
    "max_time_server",
    "sum_time_transfer",
    "nb_hits_with_time_transfer",
    "min_time_transfer",
    "max_time_transfer",
    "sum_time_dom_processing",
    "nb_hits_with_time_dom_processing",
    "min_time_dom_processing",
    "max_time_dom_processing",
    "sum_time_dom_completion",
    "nb_hits_with_time_dom_completion",
    "min_time_dom_completion",
    "max_time_dom_completion",
    "sum_time_on_load",
    "nb_hits_with_time_on_load",
    "min_time_on_load",
    "max_time_on_load",
];

/// An action-scope row without page timings: its 24 timing columns at 0.
fn action_line(of: Of, label: &str, m: [f64; 6]) -> Line {
    let [visits, uniq, hits, time, bounces, exits] = m.map(Value::Float);
    let mut columns = vec![("nb_visits", visits), (of.uniq(), uniq), ("nb_hits", hits)];
    columns.extend(TIMING_NAMES.map(|name| (name, Value::Float(0.0))));
    columns.extend([
        ("sum_time_spent", time),
        ("bounce_count", bounces),
        ("exit_nb_visits", exits),
    ]);
    line(label, columns)
}

/// Monday. Dimension 1 (visit scope, index 1): visits 1 and 4 of visitor
/// 1 "pro", visit 2 "", visit 3 none. Dimension 2 (action scope, index 2),
/// by value and URL: news on example.org/a (visit 1; visit 2, a bounce,
/// its last action), news on http://www.example.org/b (visit 1), "" without
/// URL (visit 3), sport on example.org/b (visit 3, its last action); one
/// action of visit 1 without a value. Dimension 3 is inactive; dimension 4
/// belongs to another site.
fn dimensions_monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_dimension(conn, 1, 1, 1, "visit", 1)?;
    add_dimension(conn, 2, 1, 2, "action", 1)?;
    add_dimension(conn, 3, 1, 3, "visit", 0)?;
    add_dimension(conn, 4, 2, 4, "visit", 1)?;
    add_actions(
        conn,
        &[
            (30, "example.org/a", 1),
            (31, "http://www.example.org/b", 3),
            (32, "example.org/b", 1),
        ],
    )?;
    let m = "2026-01-05 10:00:00";
    visit(
        conn,
        1,
        1,
        m,
        &[
            ("visit_total_actions", V::I(3)),
            ("visit_total_time", V::I(100)),
            ("last_idlink_va", V::I(3)),
            ("custom_dimension_1", V::S("pro")),
            ("custom_dimension_3", V::S("legacy")),
        ],
    )?;
    visit(
        conn,
        2,
        2,
        m,
        &[
            ("last_idlink_va", V::I(4)),
            ("custom_dimension_1", V::S("")),
        ],
    )?;
    visit(
        conn,
        3,
        3,
        m,
        &[
            ("visit_total_actions", V::I(2)),
            ("last_idlink_va", V::I(6)),
        ],
    )?;
    visit(conn, 4, 1, m, &[("custom_dimension_1", V::S("pro"))])?;
    let action = |idlink: i64, value: V, url: V, spent: V| {
        [
            ("idlink_va", V::I(idlink)),
            ("custom_dimension_2", value),
            ("idaction_url", url),
            ("time_spent", spent),
        ]
    };
    hit(conn, 1, 1, m, &action(1, V::S("news"), V::I(30), V::I(10)))?;
    hit(conn, 1, 1, m, &action(2, V::S("news"), V::I(31), V::I(20)))?;
    hit(conn, 1, 1, m, &action(3, V::Null, V::I(30), V::I(50)))?;
    hit(conn, 2, 2, m, &action(4, V::S("news"), V::I(30), V::Null))?;
    hit(conn, 3, 3, m, &action(5, V::S(""), V::Null, V::I(5)))?;
    hit(conn, 3, 3, m, &action(6, V::S("sport"), V::I(32), V::I(7)))?;
    Ok(())
}

/// Tuesday: visit 5 of visitor 2, "pro", its only action news on
/// example.org/a.
fn dimensions_tuesday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    let t = "2026-01-06 10:00:00";
    visit(
        conn,
        5,
        2,
        t,
        &[
            ("visit_total_actions", V::I(2)),
            ("visit_total_time", V::I(20)),
            ("last_idlink_va", V::I(7)),
            ("custom_dimension_1", V::S("pro")),
        ],
    )?;
    hit(
        conn,
        5,
        2,
        t,
        &[
            ("idlink_va", V::I(7)),
            ("custom_dimension_2", V::S("news")),
            ("idaction_url", V::I(30)),
            ("time_spent", V::I(4)),
        ],
    )
}

/// Matomo joins each action to its visit wherever the visit ends: an
/// action of Monday whose visit's last action is on Tuesday still counts
/// the visit's bounce and exit (here the visit's stored last action is
/// that Monday action: one counted action, its exit).
#[test]
fn action_scope_dimensions_join_visits_that_end_after_the_day() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    add_dimension(&mut conn, 2, 1, 2, "action", 1)?;
    add_actions(&mut conn, &[(30, "example.org/a", 1)])?;
    visit(
        &mut conn,
        10,
        1,
        "2026-01-06 00:10:00",
        &[
            ("visit_total_actions", V::I(1)),
            ("last_idlink_va", V::I(20)),
        ],
    )?;
    hit(
        &mut conn,
        10,
        1,
        "2026-01-05 23:50:00",
        &[
            ("idlink_va", V::I(20)),
            ("custom_dimension_2", V::S("late")),
            ("idaction_url", V::I(30)),
            ("time_spent", V::I(9)),
        ],
    )?;
    // A visit of the day so that Monday is archived.
    visit(&mut conn, 11, 2, "2026-01-05 10:00:00", &[])?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let actions = table(&mut conn, &monday, "CustomDimensions_Dimension2")?;
    assert_eq!(
        lines(&actions),
        vec![action_line(Of::Day, "late", [1.0, 1.0, 1.0, 9.0, 1.0, 1.0])]
    );
    Ok(())
}

#[test]
fn custom_dimensions_of_visits_and_actions() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    dimensions_monday(&mut conn)?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let d = Of::Day;

    let visits = table(&mut conn, &monday, "CustomDimensions_Dimension1")?;
    assert_eq!(
        lines(&visits),
        sorted(vec![
            visits_line(d, "pro", [1, 2, 4, 0, 3, 100, 1, 0]),
            visits_line(d, "Value not defined", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );

    let actions = table(&mut conn, &monday, "CustomDimensions_Dimension2")?;
    assert_eq!(
        lines(&actions),
        sorted(vec![
            action_line(d, "news", [3.0, 3.0, 3.0, 30.0, 1.0, 1.0]),
            action_line(d, "Value not defined", [1.0, 1.0, 1.0, 5.0, 0.0, 0.0]),
            action_line(d, "sport", [1.0, 1.0, 1.0, 7.0, 0.0, 1.0]),
        ])
    );
    assert_eq!(
        sub_lines(&actions, "news")?,
        Some(sorted(vec![
            action_line(d, "example.org/a", [2.0, 2.0, 2.0, 10.0, 1.0, 1.0]),
            // The stored `http://www.` is normalized away.
            action_line(d, "example.org/b", [1.0, 1.0, 1.0, 20.0, 0.0, 0.0]),
        ]))
    );
    assert_eq!(
        sub_lines(&actions, "sport")?,
        Some(vec![action_line(
            d,
            "example.org/b",
            [1.0, 1.0, 1.0, 7.0, 0.0, 1.0]
        )])
    );
    // No URL, no subtable row.
    assert_eq!(sub_lines(&actions, "Value not defined")?, None);
    for missing in ["CustomDimensions_Dimension3", "CustomDimensions_Dimension4"] {
        assert!(
            storage::read_table(&mut conn, &monday, missing)?.is_none(),
            "{missing}"
        );
    }

    dimensions_tuesday(&mut conn)?;
    let week = archive(&mut conn, Period::week(MONDAY))?;
    let w = Of::Week;
    let visits = table(&mut conn, &week, "CustomDimensions_Dimension1")?;
    assert_eq!(
        lines(&visits),
        sorted(vec![
            visits_line(w, "pro", [2, 3, 6, 0, 3, 120, 1, 0]),
            visits_line(w, "Value not defined", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    let actions = table(&mut conn, &week, "CustomDimensions_Dimension2")?;
    assert_eq!(
        lines(&actions),
        sorted(vec![
            action_line(w, "news", [4.0, 4.0, 4.0, 34.0, 1.0, 2.0]),
            action_line(w, "Value not defined", [1.0, 1.0, 1.0, 5.0, 0.0, 0.0]),
            action_line(w, "sport", [1.0, 1.0, 1.0, 7.0, 0.0, 1.0]),
        ])
    );
    assert_eq!(
        sub_lines(&actions, "news")?,
        Some(sorted(vec![
            action_line(w, "example.org/a", [3.0, 3.0, 3.0, 14.0, 1.0, 2.0]),
            action_line(w, "example.org/b", [1.0, 1.0, 1.0, 20.0, 0.0, 0.0]),
        ]))
    );
    Ok(())
}
