//! The Actions reports against MariaDB: a hand-computed day of traffic
//! (page URL folders, titles, a download, an outlink, site searches with a
//! category, a page after a search, an event and a content impression that
//! must not count), a week merged from two days, and segment archives
//! (every action of the visits a segment selects, as Matomo archives them).

use anyhow::Context as _;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, TinyInt, Unsigned};
use tally_archiving::segment::Segment;
use tally_archiving::storage::{self, StoredArchive};
use tally_archiving::{Archiver, ArchivingConfig, Period, Registry, SiteInfo};
use tally_datatable::{DataTable, Row, Scalar, Value};
use tally_db::test_support::TestDb;
use time::OffsetDateTime;
use time::macros::{date, datetime};

/// After the week of 2026-01-05, so every archive is final.
const NOW: OffsetDateTime = datetime!(2026-01-20 00:00 UTC);

fn add_site(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Site', 'https://example.org/', '2020-01-01 00:00:00', 0, 1, '', '', 'UTC', \
         'EUR', '', '', '', '', '', 'website')",
    )
    .execute(conn)?;
    Ok(())
}

/// `log_action` rows: (idaction, name, type, url_prefix).
const ACTIONS: [(u32, &str, u8, Option<i8>); 14] = [
    (1, "example.org/", 1, Some(2)),
    (2, "example.org/blog/", 1, Some(2)),
    (3, "example.org/blog/dev/first-post", 1, Some(3)),
    (4, "example.org/blog/dev/second-post", 1, Some(0)),
    (5, "Home", 4, None),
    (6, "Blog", 4, None),
    (7, "https://Files.example.org/app.zip", 3, None),
    (8, "https://other.org/page", 2, None),
    (9, "rust", 8, None),
    (10, "tally", 8, None),
    (11, "Videos", 10, None),
    (12, "example.org/video", 10, Some(2)),
    (13, "Play", 11, None),
    (14, "https://example.org/banner", 13, None),
];

fn add_actions(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    for (id, name, action_type, prefix) in ACTIONS {
        diesel::sql_query(
            "INSERT INTO log_action (idaction, name, hash, type, url_prefix) \
             VALUES (?, ?, CRC32(?), ?, ?)",
        )
        .bind::<Unsigned<Integer>, _>(id)
        .bind::<Text, _>(name)
        .bind::<Text, _>(name)
        .bind::<Unsigned<TinyInt>, _>(action_type)
        .bind::<Nullable<TinyInt>, _>(prefix)
        .execute(conn)?;
    }
    Ok(())
}

/// One visit and its entry and exit actions.
struct Visit {
    idvisit: u32,
    visitor: u8,
    first: &'static str,
    last: &'static str,
    actions: u32,
    seconds: u32,
    entry: (u32, u32),
    exit: (u32, u32),
}

fn add_visit(conn: &mut MysqlConnection, v: &Visit) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO log_visit (idvisit, idsite, idvisitor, visit_last_action_time, config_id, \
         location_ip, visit_first_action_time, visit_total_time, visit_total_actions, \
         visit_entry_idaction_url, visit_entry_idaction_name, visit_exit_idaction_url, \
         visit_exit_idaction_name) \
         VALUES (?, 1, UNHEX(LPAD(HEX(?), 16, '0')), ?, X'0102030405060708', X'7f000001', ?, ?, ?, \
         ?, ?, ?, ?)",
    )
    .bind::<Unsigned<Integer>, _>(v.idvisit)
    .bind::<Unsigned<TinyInt>, _>(v.visitor)
    .bind::<Text, _>(v.last)
    .bind::<Text, _>(v.first)
    .bind::<Unsigned<Integer>, _>(v.seconds)
    .bind::<Unsigned<Integer>, _>(v.actions)
    .bind::<Unsigned<Integer>, _>(v.entry.0)
    .bind::<Unsigned<Integer>, _>(v.entry.1)
    .bind::<Unsigned<Integer>, _>(v.exit.0)
    .bind::<Unsigned<Integer>, _>(v.exit.1)
    .execute(conn)?;
    Ok(())
}

/// One `log_link_visit_action` row; `None` is SQL NULL.
#[derive(Default)]
struct Hit {
    idvisit: u32,
    visitor: u8,
    time: &'static str,
    url: Option<u32>,
    name: Option<u32>,
    url_ref: Option<u32>,
    name_ref: Option<u32>,
    spent: Option<u32>,
    search_cat: Option<&'static str>,
    search_count: Option<u32>,
    event: Option<(u32, u32)>,
    content: Option<u32>,
    network: Option<u32>,
    on_load: Option<u32>,
}

fn add_hit(conn: &mut MysqlConnection, h: &Hit) -> anyhow::Result<()> {
    type Id = Nullable<Unsigned<Integer>>;
    diesel::sql_query(
        "INSERT INTO log_link_visit_action (idsite, idvisitor, idvisit, server_time, idaction_url, \
         idaction_name, idaction_url_ref, idaction_name_ref, time_spent_ref_action, search_cat, \
         search_count, idaction_event_category, idaction_event_action, idaction_content_name, \
         time_network, time_on_load) \
         VALUES (1, UNHEX(LPAD(HEX(?), 16, '0')), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind::<Unsigned<TinyInt>, _>(h.visitor)
    .bind::<Unsigned<Integer>, _>(h.idvisit)
    .bind::<Text, _>(h.time)
    .bind::<Id, _>(h.url)
    .bind::<Id, _>(h.name)
    .bind::<Id, _>(h.url_ref)
    .bind::<Id, _>(h.name_ref)
    .bind::<Id, _>(h.spent)
    .bind::<Nullable<Text>, _>(h.search_cat)
    .bind::<Id, _>(h.search_count)
    .bind::<Id, _>(h.event.map(|e| e.0))
    .bind::<Id, _>(h.event.map(|e| e.1))
    .bind::<Id, _>(h.content)
    .bind::<Id, _>(h.network)
    .bind::<Id, _>(h.on_load)
    .execute(conn)?;
    Ok(())
}

/// Monday 2026-01-05. Visitors A = 1, B = 2, C = 3.
/// - visit 1 (A): `/` "Home" → `/blog/dev/first-post` "Blog" (60 s on
///   `/`) → download (30 s on the post) → event (20 s, must not count);
/// - visit 2 (B): `/blog/` "Blog" → search "rust" in "docs" (40 s) →
///   `/blog/dev/second-post` "Blog" after the search (15 s) → outlink
///   (180 s on the post);
/// - visit 3 (A): `/` "Home" and a content impression; a bounce;
/// - visit 4 (C): a page without URL or title → search "tally" in "docs"
///   without result → again without category (10 s on "tally") →
///   `/blog/dev/first-post` "Blog" after the search (20 s on "tally").
fn monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_actions(conn)?;
    let visits = [
        Visit {
            idvisit: 1,
            visitor: 1,
            first: "2026-01-05 10:00:00",
            last: "2026-01-05 10:03:00",
            actions: 4,
            seconds: 200,
            entry: (1, 5),
            exit: (3, 6),
        },
        Visit {
            idvisit: 2,
            visitor: 2,
            first: "2026-01-05 11:00:00",
            last: "2026-01-05 11:05:00",
            actions: 4,
            seconds: 300,
            entry: (2, 6),
            exit: (4, 6),
        },
        Visit {
            idvisit: 3,
            visitor: 1,
            first: "2026-01-05 15:00:00",
            last: "2026-01-05 15:00:00",
            actions: 1,
            seconds: 0,
            entry: (1, 5),
            exit: (1, 5),
        },
        Visit {
            idvisit: 4,
            visitor: 3,
            first: "2026-01-05 18:00:00",
            last: "2026-01-05 18:03:00",
            actions: 4,
            seconds: 180,
            entry: (0, 0),
            exit: (3, 6),
        },
    ];
    for visit in &visits {
        add_visit(conn, visit)?;
    }
    let hits = [
        Hit {
            idvisit: 1,
            visitor: 1,
            time: "2026-01-05 10:00:00",
            url: Some(1),
            name: Some(5),
            url_ref: Some(0),
            name_ref: Some(0),
            spent: Some(0),
            network: Some(100),
            on_load: Some(300),
            ..Hit::default()
        },
        Hit {
            idvisit: 1,
            visitor: 1,
            time: "2026-01-05 10:01:00",
            url: Some(3),
            name: Some(6),
            url_ref: Some(1),
            name_ref: Some(5),
            spent: Some(60),
            network: Some(200),
            ..Hit::default()
        },
        Hit {
            idvisit: 1,
            visitor: 1,
            time: "2026-01-05 10:02:00",
            url: Some(7),
            url_ref: Some(3),
            name_ref: Some(6),
            spent: Some(30),
            ..Hit::default()
        },
        Hit {
            idvisit: 1,
            visitor: 1,
            time: "2026-01-05 10:03:00",
            url: Some(12),
            url_ref: Some(3),
            name_ref: Some(6),
            spent: Some(20),
            event: Some((11, 13)),
            ..Hit::default()
        },
        Hit {
            idvisit: 2,
            visitor: 2,
            time: "2026-01-05 11:00:00",
            url: Some(2),
            name: Some(6),
            url_ref: Some(0),
            name_ref: Some(0),
            spent: Some(0),
            ..Hit::default()
        },
        Hit {
            idvisit: 2,
            visitor: 2,
            time: "2026-01-05 11:01:00",
            name: Some(9),
            url_ref: Some(2),
            name_ref: Some(6),
            spent: Some(40),
            search_cat: Some("docs"),
            search_count: Some(3),
            ..Hit::default()
        },
        Hit {
            idvisit: 2,
            visitor: 2,
            time: "2026-01-05 11:02:00",
            url: Some(4),
            name: Some(6),
            url_ref: Some(2),
            name_ref: Some(9),
            spent: Some(15),
            ..Hit::default()
        },
        Hit {
            idvisit: 2,
            visitor: 2,
            time: "2026-01-05 11:05:00",
            url: Some(8),
            url_ref: Some(4),
            name_ref: Some(6),
            spent: Some(180),
            ..Hit::default()
        },
        Hit {
            idvisit: 3,
            visitor: 1,
            time: "2026-01-05 15:00:00",
            url: Some(1),
            name: Some(5),
            url_ref: Some(0),
            name_ref: Some(0),
            spent: Some(0),
            network: Some(50),
            ..Hit::default()
        },
        Hit {
            idvisit: 3,
            visitor: 1,
            time: "2026-01-05 15:00:00",
            url: Some(14),
            url_ref: Some(1),
            name_ref: Some(5),
            spent: Some(0),
            content: Some(14),
            ..Hit::default()
        },
        Hit {
            idvisit: 4,
            visitor: 3,
            time: "2026-01-05 18:00:00",
            url: Some(0),
            name: Some(0),
            url_ref: Some(0),
            name_ref: Some(0),
            spent: Some(0),
            ..Hit::default()
        },
        Hit {
            idvisit: 4,
            visitor: 3,
            time: "2026-01-05 18:01:00",
            name: Some(10),
            url_ref: Some(0),
            name_ref: Some(0),
            spent: Some(5),
            search_cat: Some("docs"),
            search_count: Some(0),
            ..Hit::default()
        },
        Hit {
            idvisit: 4,
            visitor: 3,
            time: "2026-01-05 18:02:00",
            name: Some(10),
            url_ref: Some(0),
            name_ref: Some(10),
            spent: Some(10),
            search_cat: Some(""),
            search_count: Some(0),
            ..Hit::default()
        },
        Hit {
            idvisit: 4,
            visitor: 3,
            time: "2026-01-05 18:03:00",
            url: Some(3),
            name: Some(6),
            url_ref: Some(0),
            name_ref: Some(10),
            spent: Some(20),
            ..Hit::default()
        },
    ];
    for hit in &hits {
        add_hit(conn, hit)?;
    }
    Ok(())
}

/// Tuesday 2026-01-06: visitor A views `/` "Home" then the first post
/// (10 s on `/`).
fn tuesday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_visit(
        conn,
        &Visit {
            idvisit: 5,
            visitor: 1,
            first: "2026-01-06 09:00:00",
            last: "2026-01-06 09:00:10",
            actions: 2,
            seconds: 10,
            entry: (1, 5),
            exit: (3, 6),
        },
    )?;
    add_hit(
        conn,
        &Hit {
            idvisit: 5,
            visitor: 1,
            time: "2026-01-06 09:00:00",
            url: Some(1),
            name: Some(5),
            url_ref: Some(0),
            name_ref: Some(0),
            spent: Some(0),
            ..Hit::default()
        },
    )?;
    add_hit(
        conn,
        &Hit {
            idvisit: 5,
            visitor: 1,
            time: "2026-01-06 09:00:10",
            url: Some(3),
            name: Some(6),
            url_ref: Some(1),
            name_ref: Some(5),
            spent: Some(10),
            ..Hit::default()
        },
    )
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

fn labels(table: &DataTable) -> Vec<&str> {
    table.all_rows().map(|row| row.label.as_str()).collect()
}

fn row<'t>(table: &'t DataTable, label: &str) -> anyhow::Result<&'t Row> {
    table
        .row_by_label(label)
        .with_context(|| format!("row {label:?} in {:?}", labels(table)))
}

fn sub<'t>(table: &'t DataTable, label: &str) -> anyhow::Result<&'t DataTable> {
    row(table, label)?
        .subtable
        .as_deref()
        .with_context(|| format!("subtable of {label:?}"))
}

/// The columns of a row by name, in stored order.
fn columns(row: &Row) -> Vec<(String, Value)> {
    row.columns
        .iter()
        .map(|(key, value)| (key.name().into_owned(), value.clone()))
        .collect()
}

fn i(name: &str, value: i64) -> (String, Value) {
    (name.to_owned(), Value::Int(value))
}

/// A page timing as Matomo's query gives it, `DECIMAL` thousandths.
fn d(name: &str, thousandths: i64) -> (String, Value) {
    (name.to_owned(), Value::Decimal4(thousandths))
}

fn f(name: &str, value: f64) -> (String, Value) {
    (name.to_owned(), Value::Float(value))
}

fn meta(row: &Row, name: &str) -> Option<String> {
    row.metadata.get(name).map(|value| match value {
        Scalar::Str(text) => text.clone(),
        other => format!("{other:?}"),
    })
}

#[test]
fn page_urls_are_folders_with_summed_metrics() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    monday(&mut conn)?;
    let day = archive(&mut conn, Period::day(date!(2026 - 01 - 05)))?;
    let urls = table(&mut conn, &day, "Actions_actions_url")?;
    // Most hits first, ties by name; the empty URL sorts first among ties.
    assert_eq!(labels(&urls), ["/index", "blog", "Page URL not defined"]);

    let index = row(&urls, "/index")?;
    assert_eq!(
        columns(index),
        [
            i("nb_visits", 2),
            i("nb_uniq_visitors", 1),
            i("nb_hits", 2),
            i("sum_time_spent", 60),
            d("sum_time_network", 150),
            i("nb_hits_with_time_network", 2),
            d("min_time_network", 50),
            d("max_time_network", 100),
            d("sum_time_on_load", 300),
            i("nb_hits_with_time_on_load", 1),
            d("min_time_on_load", 300),
            d("max_time_on_load", 300),
            i("entry_nb_uniq_visitors", 1),
            i("entry_nb_visits", 2),
            i("entry_nb_actions", 5),
            i("entry_sum_visit_length", 200),
            i("entry_bounce_count", 1),
            i("exit_nb_uniq_visitors", 1),
            i("exit_nb_visits", 1),
        ]
    );
    assert_eq!(meta(index, "url").as_deref(), Some("https://example.org/"));

    let blog = row(&urls, "blog")?;
    assert_eq!(
        columns(blog),
        [
            i("nb_visits", 4),
            i("nb_hits", 4),
            i("sum_time_spent", 265),
            i("nb_hits_following_search", 2),
            f("sum_time_network", 0.2),
            i("nb_hits_with_time_network", 1),
            d("min_time_network", 200),
            d("max_time_network", 200),
            // Summed from its rows in the order they were added, as Matomo
            // builds a folder: `dev` (the most hits) brings the exits, then
            // `/index` the entry columns.
            i("exit_nb_visits", 3),
            i("entry_nb_visits", 1),
            i("entry_nb_actions", 4),
            i("entry_sum_visit_length", 300),
            i("entry_bounce_count", 0),
        ]
    );
    assert_eq!(meta(blog, "url"), None);
    assert_eq!(
        meta(blog, "folder_url_start").as_deref(),
        Some("https://example.org/blog")
    );

    let blog_rows = sub(&urls, "blog")?;
    assert_eq!(labels(blog_rows), ["dev", "/index"]);
    let blog_index = row(blog_rows, "/index")?;
    assert_eq!(
        columns(blog_index),
        [
            i("nb_visits", 1),
            i("nb_uniq_visitors", 1),
            i("nb_hits", 1),
            i("sum_time_spent", 55),
            i("entry_nb_uniq_visitors", 1),
            i("entry_nb_visits", 1),
            i("entry_nb_actions", 4),
            i("entry_sum_visit_length", 300),
            i("entry_bounce_count", 0),
        ]
    );
    assert_eq!(
        meta(blog_index, "url").as_deref(),
        Some("https://example.org/blog/")
    );

    let dev = row(blog_rows, "dev")?;
    assert_eq!(
        columns(dev)[..4],
        [
            i("nb_visits", 3),
            i("nb_hits", 3),
            i("sum_time_spent", 210),
            i("nb_hits_following_search", 2),
        ]
    );
    assert_eq!(dev.column("exit_nb_visits"), Some(&Value::Int(3)));
    assert_eq!(dev.column("exit_nb_uniq_visitors"), None);
    assert_eq!(
        meta(dev, "folder_url_start").as_deref(),
        Some("https://example.org/blog/dev")
    );

    let posts = sub(blog_rows, "dev")?;
    assert_eq!(labels(posts), ["/first-post", "/second-post"]);
    let first = row(posts, "/first-post")?;
    assert_eq!(
        columns(first),
        [
            i("nb_visits", 2),
            i("nb_uniq_visitors", 2),
            i("nb_hits", 2),
            i("sum_time_spent", 30),
            i("nb_hits_following_search", 1),
            d("sum_time_network", 200),
            i("nb_hits_with_time_network", 1),
            d("min_time_network", 200),
            d("max_time_network", 200),
            i("exit_nb_uniq_visitors", 2),
            i("exit_nb_visits", 2),
        ]
    );
    assert_eq!(
        meta(first, "url").as_deref(),
        Some("https://www.example.org/blog/dev/first-post")
    );
    let second = row(posts, "/second-post")?;
    assert_eq!(
        columns(second),
        [
            i("nb_visits", 1),
            i("nb_uniq_visitors", 1),
            i("nb_hits", 1),
            i("sum_time_spent", 180),
            i("nb_hits_following_search", 1),
            i("exit_nb_uniq_visitors", 1),
            i("exit_nb_visits", 1),
        ]
    );
    assert_eq!(
        meta(second, "url").as_deref(),
        Some("http://example.org/blog/dev/second-post")
    );

    let undefined = row(&urls, "Page URL not defined")?;
    assert_eq!(
        columns(undefined),
        [
            i("nb_visits", 1),
            i("nb_uniq_visitors", 1),
            i("nb_hits", 1),
            i("sum_time_spent", 0)
        ]
    );
    assert_eq!(meta(undefined, "url").as_deref(), Some(""));

    assert_eq!(
        storage::read_numeric(&mut conn, &day, "Actions_nb_pageviews")?,
        7.0
    );
    assert_eq!(
        storage::read_numeric(&mut conn, &day, "Actions_nb_uniq_pageviews")?,
        7.0
    );
    Ok(())
}

#[test]
fn titles_links_and_site_search() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    monday(&mut conn)?;
    let day = archive(&mut conn, Period::day(date!(2026 - 01 - 05)))?;

    let titles = table(&mut conn, &day, "Actions_actions")?;
    assert_eq!(
        labels(&titles),
        [" Blog", " Home", " Page Name not defined"]
    );
    let blog = row(&titles, " Blog")?;
    assert_eq!(
        columns(blog),
        [
            i("nb_visits", 3),
            i("nb_uniq_visitors", 3),
            i("nb_hits", 4),
            i("sum_time_spent", 250),
            i("nb_hits_following_search", 2),
            d("sum_time_network", 200),
            i("nb_hits_with_time_network", 1),
            d("min_time_network", 200),
            d("max_time_network", 200),
            i("entry_nb_uniq_visitors", 1),
            i("entry_nb_visits", 1),
            i("entry_nb_actions", 4),
            i("entry_sum_visit_length", 300),
            i("entry_bounce_count", 0),
            i("exit_nb_uniq_visitors", 3),
            i("exit_nb_visits", 3),
        ]
    );
    assert_eq!(meta(blog, "page_title_path").as_deref(), Some("Blog"));
    let home = row(&titles, " Home")?;
    assert_eq!(
        columns(home)[..4],
        [
            i("nb_visits", 2),
            i("nb_uniq_visitors", 1),
            i("nb_hits", 2),
            i("sum_time_spent", 60)
        ]
    );
    assert_eq!(
        columns(row(&titles, " Page Name not defined")?),
        [
            i("nb_visits", 1),
            i("nb_uniq_visitors", 1),
            i("nb_hits", 1),
            i("sum_time_spent", 0)
        ]
    );

    let downloads = table(&mut conn, &day, "Actions_downloads")?;
    // The host label keeps its case; the `url` metadata is normalized.
    assert_eq!(labels(&downloads), ["Files.example.org"]);
    assert_eq!(
        columns(row(&downloads, "Files.example.org")?),
        [i("nb_visits", 1), i("nb_hits", 1), i("sum_time_spent", 0)]
    );
    let file = row(sub(&downloads, "Files.example.org")?, "/app.zip")?;
    assert_eq!(
        columns(file),
        [
            i("nb_visits", 1),
            i("nb_uniq_visitors", 1),
            i("nb_hits", 1),
            i("sum_time_spent", 0)
        ]
    );
    assert_eq!(
        meta(file, "url").as_deref(),
        Some("https://files.example.org/app.zip")
    );

    let outlinks = table(&mut conn, &day, "Actions_outlink")?;
    let page = row(sub(&outlinks, "other.org")?, "/page")?;
    assert_eq!(meta(page, "url").as_deref(), Some("https://other.org/page"));

    let keywords = table(&mut conn, &day, "Actions_sitesearch")?;
    assert_eq!(labels(&keywords), ["tally", "rust"]);
    assert_eq!(
        columns(row(&keywords, "tally")?),
        [
            i("nb_visits", 1),
            i("nb_hits", 2),
            i("sum_time_spent", 30),
            i("28", 1)
        ]
    );
    assert_eq!(
        columns(row(&keywords, "rust")?),
        [
            i("nb_visits", 1),
            i("nb_hits", 1),
            i("sum_time_spent", 15),
            i("28", 0)
        ]
    );
    assert_eq!(
        meta(row(&keywords, "rust")?, "page_title_path").as_deref(),
        Some("rust")
    );

    let categories = table(&mut conn, &day, "Actions_SiteSearchCategories")?;
    assert_eq!(labels(&categories), ["docs"]);
    assert_eq!(
        columns(row(&categories, "docs")?),
        [
            i("nb_visits", 2),
            i("nb_uniq_visitors", 2),
            i("nb_actions", 2)
        ]
    );

    for (name, value) in [
        ("Actions_nb_downloads", 1.0),
        ("Actions_nb_uniq_downloads", 1.0),
        ("Actions_nb_outlinks", 1.0),
        ("Actions_nb_uniq_outlinks", 1.0),
        ("Actions_nb_searches", 3.0),
        ("Actions_nb_keywords", 2.0),
    ] {
        assert_eq!(
            storage::read_numeric(&mut conn, &day, name)?,
            value,
            "{name}"
        );
    }
    Ok(())
}

#[test]
fn events_and_contents_never_count() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    monday(&mut conn)?;
    let day = archive(&mut conn, Period::day(date!(2026 - 01 - 05)))?;
    let urls = table(&mut conn, &day, "Actions_actions_url")?;
    let every_label = |table: &DataTable| -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![table];
        while let Some(t) = stack.pop() {
            for row in t.all_rows() {
                out.push(row.label.clone());
                stack.extend(row.subtable.as_deref());
            }
        }
        out
    };
    assert!(
        !every_label(&urls)
            .iter()
            .any(|l| l.contains("video") || l.contains("banner"))
    );
    // The event's 20 s after the first post are not time spent on it.
    let posts = sub(sub(&urls, "blog")?, "dev")?;
    assert_eq!(
        row(posts, "/first-post")?.column("sum_time_spent"),
        Some(&Value::Int(30))
    );
    Ok(())
}

#[test]
fn a_week_merges_its_days_with_daily_unique_columns() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    monday(&mut conn)?;
    tuesday(&mut conn)?;
    let week = archive(&mut conn, Period::week(date!(2026 - 01 - 05)))?;
    let urls = table(&mut conn, &week, "Actions_actions_url")?;
    assert_eq!(labels(&urls), ["/index", "blog", "Page URL not defined"]);
    assert_eq!(
        columns(row(&urls, "/index")?),
        [
            i("nb_visits", 3),
            i("nb_hits", 3),
            i("sum_time_spent", 70),
            f("sum_time_network", 0.15),
            i("nb_hits_with_time_network", 2),
            d("min_time_network", 50),
            d("max_time_network", 100),
            f("sum_time_on_load", 0.3),
            i("nb_hits_with_time_on_load", 1),
            d("min_time_on_load", 300),
            d("max_time_on_load", 300),
            i("entry_nb_visits", 3),
            i("entry_nb_actions", 7),
            i("entry_sum_visit_length", 210),
            i("entry_bounce_count", 1),
            i("exit_nb_visits", 1),
            // Renamed after aggregation: moved to the end, as PHP's
            // renameColumn does (Matomo's expected week outputs agree).
            i("sum_daily_nb_uniq_visitors", 2),
            i("sum_daily_entry_nb_uniq_visitors", 2),
            i("sum_daily_exit_nb_uniq_visitors", 1),
        ]
    );
    let posts = sub(sub(&urls, "blog")?, "dev")?;
    assert_eq!(
        columns(row(posts, "/first-post")?),
        [
            i("nb_visits", 3),
            i("nb_hits", 3),
            i("sum_time_spent", 30),
            i("nb_hits_following_search", 1),
            f("sum_time_network", 0.2),
            i("nb_hits_with_time_network", 1),
            d("min_time_network", 200),
            d("max_time_network", 200),
            i("exit_nb_visits", 3),
            i("sum_daily_nb_uniq_visitors", 3),
            i("sum_daily_exit_nb_uniq_visitors", 3),
        ]
    );
    // Folder rows never had unique-visitor columns to rename.
    assert_eq!(
        columns(row(&urls, "blog")?)[..2],
        [i("nb_visits", 5), i("nb_hits", 5)]
    );
    let titles = table(&mut conn, &week, "Actions_actions")?;
    assert_eq!(
        columns(row(&titles, " Home")?)[..3],
        [i("nb_visits", 3), i("nb_hits", 3), i("sum_time_spent", 70)]
    );
    assert!(columns(row(&titles, " Home")?).contains(&i("sum_daily_nb_uniq_visitors", 2)));
    for (name, value) in [
        ("Actions_nb_pageviews", 9.0),
        ("Actions_nb_uniq_pageviews", 9.0),
        ("Actions_nb_downloads", 1.0),
        ("Actions_nb_searches", 3.0),
        ("Actions_nb_keywords", 2.0),
    ] {
        assert_eq!(
            storage::read_numeric(&mut conn, &week, name)?,
            value,
            "{name}"
        );
    }
    Ok(())
}

fn archive_segment(
    conn: &mut MysqlConnection,
    period: Period,
    definition: &str,
) -> anyhow::Result<StoredArchive> {
    let registry = Registry::core();
    let site = SiteInfo::load(conn, 1)?;
    let segment = Segment::parse(definition)?;
    Archiver::new(&registry, ArchivingConfig::default())
        .archive_segment(conn, &site, period, &segment, NOW, false)?
        .archive()
        .with_context(|| format!("an archive of {definition}"))
}

/// Every record of an archive, by name: numeric values, then blobs.
type Records = (Vec<(String, f64)>, Vec<(String, Vec<u8>)>);

fn records(conn: &mut MysqlConnection, archive: &StoredArchive) -> anyhow::Result<Records> {
    let mut numeric: Vec<(String, f64)> = storage::read_numeric_records(conn, archive)?
        .into_iter()
        .collect();
    numeric.sort_by(|a, b| a.0.cmp(&b.0));
    let mut blobs = storage::read_all_blobs(conn, archive)?;
    blobs.sort();
    Ok((numeric, blobs))
}

/// Deletes the visits of the Monday fixture other than `keep`, and their
/// actions.
fn keep_only(conn: &mut MysqlConnection, keep: &[u32]) -> anyhow::Result<()> {
    for table in ["log_visit", "log_link_visit_action"] {
        let rows: Vec<u32> = (1..=4).filter(|id| !keep.contains(id)).collect();
        for idvisit in rows {
            diesel::sql_query(format!("DELETE FROM {table} WHERE idvisit = ?"))
                .bind::<Unsigned<Integer>, _>(idvisit)
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Matomo archives a segment from the set of visits it selects: with
/// `enable_segments_cache = 1` (its default), `LogAggregator::generateQuery`
/// fills a temporary table with the ids of the segment's visits and joins
/// every report query to it, segment removed. An action condition thus
/// selects visits, and the Actions, Events and Contents reports count every
/// action of those visits (Matomo's `UrlNormalizationTest`: with
/// `pageUrl==https://WWw.example.org/foo/bar2.html` the page URL report of
/// the one visit lists all its pages, exactly as without the segment). So
/// each segment archive must equal the plain archive of the logs cut down
/// to the visits the segment selects.
#[test]
fn a_segment_archive_counts_every_action_of_its_visits() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn)?;
    monday(&mut conn)?;
    let day = Period::day(date!(2026 - 01 - 05));
    let cases: [(&str, &[u32]); 5] = [
        // Visits 1 and 4 viewed the first post.
        ("pageUrl=@first-post", &[1, 4]),
        // Visits 1, 2 and 4 viewed a blog page; only visit 2 lasted 250 s.
        ("pageUrl=@blog;visitDuration>=250", &[2]),
        // Visit 2 viewed the second post; visits 1 and 3 are visitor A's.
        (
            "pageUrl=@second-post,visitorId==0000000000000001",
            &[1, 2, 3],
        ),
        // No page of visit 3 is a blog page (Matomo's `idvisit NOT IN`).
        ("pageUrl!@blog", &[3]),
        // A site search keyword selects visit 4 only.
        ("siteSearchKeyword==tally", &[4]),
    ];
    for (definition, visits) in cases {
        let segmented = archive_segment(&mut conn, day, definition)?;
        let only = TestDb::new()?;
        let mut only_conn = only.conn()?;
        add_site(&mut only_conn)?;
        monday(&mut only_conn)?;
        keep_only(&mut only_conn, visits)?;
        let plain = archive(&mut only_conn, day)?;
        let expected = records(&mut only_conn, &plain)?;
        assert!(
            expected
                .1
                .iter()
                .any(|(name, _)| name == "Actions_actions_url")
        );
        assert_eq!(
            records(&mut conn, &segmented)?,
            expected,
            "segment {definition}"
        );
    }

    // The first case by hand: visit 1 (`/`, the first post, a download, an
    // event) and visit 4 (a page without URL, two searches, the first post).
    // Matching pages only would give 2 page views, no download, no search
    // and no `/index` row.
    let first = archive_segment(&mut conn, day, "pageUrl=@first-post")?;
    for (name, value) in [
        ("nb_visits", 2.0),
        ("nb_actions", 8.0),
        ("Actions_nb_pageviews", 4.0),
        ("Actions_nb_downloads", 1.0),
        ("Actions_nb_outlinks", 0.0),
        ("Actions_nb_searches", 2.0),
        ("Actions_nb_keywords", 1.0),
    ] {
        assert_eq!(
            storage::read_numeric(&mut conn, &first, name)?,
            value,
            "{name}"
        );
    }
    let urls = table(&mut conn, &first, "Actions_actions_url")?;
    let mut url_labels = labels(&urls);
    url_labels.sort_unstable();
    assert_eq!(url_labels, ["/index", "Page URL not defined", "blog"]);
    // `/`: visit 1's entry page, 60 s before the first post.
    let index = row(&urls, "/index")?;
    assert_eq!(
        columns(index)[..4],
        [
            i("nb_visits", 1),
            i("nb_uniq_visitors", 1),
            i("nb_hits", 1),
            i("sum_time_spent", 60),
        ]
    );
    // The first post: 30 s before the download (the event's 20 s do not
    // count), once after visit 4's search, the exit page of both visits.
    let post = row(sub(sub(&urls, "blog")?, "dev")?, "/first-post")?;
    assert_eq!(
        columns(post)[..5],
        [
            i("nb_visits", 2),
            i("nb_uniq_visitors", 2),
            i("nb_hits", 2),
            i("sum_time_spent", 30),
            i("nb_hits_following_search", 1),
        ]
    );
    assert_eq!(post.column("exit_nb_visits"), Some(&Value::Int(2)));
    let downloads = table(&mut conn, &first, "Actions_downloads")?;
    assert_eq!(downloads.all_rows().count(), 1);
    Ok(())
}
