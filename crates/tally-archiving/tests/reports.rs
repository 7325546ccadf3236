//! The visit-dimension reports against MariaDB: UserCountry, UserLanguage,
//! DevicesDetection, Resolution, DevicePlugins, VisitTime and
//! VisitorInterest. Each test builds its own log fixture, archives Monday
//! 2026-01-05 and checks every row against hand-computed metrics, then adds
//! Tuesday and checks the week of both days.

use anyhow::Context as _;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{Double, Integer, Nullable, Text, TinyInt, Unsigned};
use tally_archiving::storage::{self, StoredArchive};
use tally_archiving::{Archiver, ArchivingConfig, Period, Registry, SiteInfo};
use tally_datatable::{DataTable, Scalar, Value};
use tally_db::test_support::TestDb;
use time::OffsetDateTime;
use time::macros::{date, datetime};

/// After the week of 2026-01-05, so every archive is final.
const NOW: OffsetDateTime = datetime!(2026-01-20 00:00 UTC);

const MONDAY: time::Date = date!(2026 - 01 - 05);

fn add_site(conn: &mut MysqlConnection, timezone: &str) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Site', 'https://example.org/', '2020-01-01 00:00:00', 0, 0, '', '', ?, \
         'EUR', '', '', '', '', '', 'website')",
    )
    .bind::<Text, _>(timezone)
    .execute(conn)?;
    Ok(())
}

/// One `log_visit` row; `None` is SQL NULL. Times are UTC.
#[derive(Clone)]
struct Visit {
    visitor: u8,
    user: Option<&'static str>,
    first: &'static str,
    last: &'static str,
    actions: Option<u32>,
    seconds: u32,
    converted: bool,
    count_visits: u32,
    returning: Option<i8>,
    since_last: Option<u32>,
    country: Option<&'static str>,
    region: Option<&'static str>,
    city: Option<&'static str>,
    lat: Option<f64>,
    long: Option<f64>,
    lang: Option<&'static str>,
    os: Option<&'static str>,
    os_version: Option<&'static str>,
    browser: Option<&'static str>,
    browser_version: Option<&'static str>,
    engine: Option<&'static str>,
    device_type: Option<i8>,
    brand: Option<&'static str>,
    model: Option<&'static str>,
    resolution: Option<&'static str>,
    /// cookie, flash, java, pdf, quicktime, realplayer, silverlight,
    /// windowsmedia.
    plugins: [Option<i8>; 8],
    localtime: Option<&'static str>,
}

impl Default for Visit {
    fn default() -> Self {
        Self {
            visitor: 1,
            user: None,
            first: "2026-01-05 10:00:00",
            last: "2026-01-05 10:00:00",
            actions: Some(1),
            seconds: 0,
            converted: false,
            count_visits: 1,
            returning: Some(0),
            since_last: None,
            country: None,
            region: None,
            city: None,
            lat: None,
            long: None,
            lang: None,
            os: None,
            os_version: None,
            browser: None,
            browser_version: None,
            engine: None,
            device_type: None,
            brand: None,
            model: None,
            resolution: None,
            plugins: [None; 8],
            localtime: None,
        }
    }
}

fn add_visits(conn: &mut MysqlConnection, visits: &[Visit]) -> anyhow::Result<()> {
    type Str = Nullable<Text>;
    type Flag = Nullable<TinyInt>;
    type Count = Nullable<Unsigned<Integer>>;
    for v in visits {
        // Boxed: 36 chained binds would nest as many generic types.
        let mut query = diesel::sql_query(
            "INSERT INTO log_visit (idsite, idvisitor, config_id, location_ip, user_id, \
             visit_first_action_time, visit_last_action_time, visit_total_actions, \
             visit_total_time, visit_goal_converted, visitor_count_visits, visitor_returning, \
             visitor_seconds_since_last, location_country, location_region, location_city, \
             location_latitude, location_longitude, location_browser_lang, config_os, \
             config_os_version, config_browser_name, config_browser_version, \
             config_browser_engine, config_device_type, config_device_brand, config_device_model, \
             config_resolution, config_cookie, config_flash, config_java, config_pdf, \
             config_quicktime, config_realplayer, config_silverlight, config_windowsmedia, \
             visitor_localtime) \
             VALUES (1, UNHEX(LPAD(HEX(?), 16, '0')), X'0102030405060708', X'7f000001', ?, ?, ?, \
             ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
             ?, ?)",
        )
        .into_boxed::<Mysql>()
        .bind::<Unsigned<TinyInt>, _>(v.visitor)
        .bind::<Str, _>(v.user)
        .bind::<Text, _>(v.first)
        .bind::<Text, _>(v.last)
        .bind::<Count, _>(v.actions)
        .bind::<Unsigned<Integer>, _>(v.seconds)
        .bind::<TinyInt, _>(i8::from(v.converted))
        .bind::<Unsigned<Integer>, _>(v.count_visits)
        .bind::<Flag, _>(v.returning)
        .bind::<Count, _>(v.since_last)
        .bind::<Str, _>(v.country)
        .bind::<Str, _>(v.region)
        .bind::<Str, _>(v.city)
        .bind::<Nullable<Double>, _>(v.lat)
        .bind::<Nullable<Double>, _>(v.long)
        .bind::<Str, _>(v.lang)
        .bind::<Str, _>(v.os)
        .bind::<Str, _>(v.os_version)
        .bind::<Str, _>(v.browser)
        .bind::<Str, _>(v.browser_version)
        .bind::<Str, _>(v.engine)
        .bind::<Flag, _>(v.device_type)
        .bind::<Str, _>(v.brand)
        .bind::<Str, _>(v.model)
        .bind::<Str, _>(v.resolution);
        for flag in v.plugins {
            query = query.bind::<Flag, _>(flag);
        }
        query.bind::<Str, _>(v.localtime).execute(conn)?;
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

/// The rows of a table (summary row included), in stored order.
fn lines(table: &DataTable) -> Vec<Line> {
    table
        .all_rows()
        .map(|row| {
            let columns = row
                .columns
                .iter()
                .map(|(key, value)| (key.name().into_owned(), value.clone()))
                .collect();
            (row.label.clone(), columns)
        })
        .collect()
}

/// [`lines`] ordered by label: the tests do not depend on the order in
/// which the database returns groups.
fn by_label(table: &DataTable) -> Vec<Line> {
    let mut lines = lines(table);
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines
}

fn sorted(mut expected: Vec<Line>) -> Vec<Line> {
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    expected
}

/// The 8 visit metrics: unique visitors, visits, actions, users, max
/// actions, visit length, bounces, converted visits.
type Metrics = [i64; 8];

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

/// A row of a day table.
fn day(label: &str, m: Metrics) -> Line {
    named(
        label,
        [
            "nb_uniq_visitors",
            "nb_visits",
            "nb_actions",
            "nb_users",
            "max_actions",
            "sum_visit_length",
            "bounce_count",
            "nb_visits_converted",
        ],
        m,
    )
}

/// A row of a week table: unique visitors and users are sums of days,
/// renamed after aggregation and therefore last (PHP's renameColumn).
fn week(label: &str, m: Metrics) -> Line {
    let (label, mut columns) = named(
        label,
        [
            "sum_daily_nb_uniq_visitors",
            "nb_visits",
            "nb_actions",
            "sum_daily_nb_users",
            "max_actions",
            "sum_visit_length",
            "bounce_count",
            "nb_visits_converted",
        ],
        m,
    );
    for renamed in ["sum_daily_nb_uniq_visitors", "sum_daily_nb_users"] {
        if let Some(position) = columns.iter().position(|(name, _)| name == renamed) {
            let column = columns.remove(position);
            columns.push(column);
        }
    }
    (label, columns)
}

/// A row holding only `nb_visits`.
fn visits(label: &str, count: i64) -> Line {
    (
        label.to_owned(),
        vec![("nb_visits".to_owned(), Value::Int(count))],
    )
}

fn meta(table: &DataTable, label: &str, name: &str) -> anyhow::Result<Option<Scalar>> {
    let row = table
        .row_by_label(label)
        .with_context(|| format!("row {label:?}"))?;
    Ok(row.metadata.get(name).cloned())
}

// ---------------------------------------------------------------- UserCountry

/// Monday: alice (visitor 1) and visitor 2 in Paris, alice again in Lyon
/// (no coordinates), visitor 3 in Berlin without region, visitor 4
/// nowhere, visitor 5 in "Mountain|View" in "C|A" (the `|` goes); visitor 9
/// on Sunday must not count.
fn countries_monday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    let paris = Visit {
        country: Some("fr"),
        region: Some("75"),
        city: Some("Paris"),
        ..Visit::default()
    };
    add_visits(
        conn,
        &[
            Visit {
                visitor: 1,
                user: Some("alice"),
                actions: Some(3),
                seconds: 120,
                converted: true,
                lat: Some(48.856_613),
                long: Some(2.352_222),
                ..paris.clone()
            },
            Visit {
                visitor: 2,
                lat: Some(48.8566),
                long: Some(2.3522),
                ..paris
            },
            Visit {
                visitor: 1,
                user: Some("alice"),
                actions: Some(2),
                seconds: 30,
                country: Some("fr"),
                region: Some("69"),
                city: Some("Lyon"),
                ..Visit::default()
            },
            Visit {
                visitor: 3,
                actions: Some(5),
                seconds: 300,
                country: Some("de"),
                city: Some("Berlin"),
                lat: Some(52.52),
                long: Some(13.405),
                ..Visit::default()
            },
            Visit {
                visitor: 4,
                ..Visit::default()
            },
            Visit {
                visitor: 5,
                actions: Some(2),
                seconds: 60,
                country: Some("us"),
                region: Some("C|A"),
                city: Some("Mountain|View"),
                ..Visit::default()
            },
            Visit {
                visitor: 9,
                first: "2026-01-04 23:59:59",
                last: "2026-01-04 23:59:59",
                country: Some("es"),
                ..Visit::default()
            },
        ],
    )
}

/// Tuesday: alice in Paris again (other coordinates), visitor 6 in Rome.
fn countries_tuesday(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    add_visits(
        conn,
        &[
            Visit {
                visitor: 1,
                user: Some("alice"),
                first: "2026-01-06 09:00:00",
                last: "2026-01-06 09:00:50",
                actions: Some(2),
                seconds: 50,
                country: Some("fr"),
                region: Some("75"),
                city: Some("Paris"),
                lat: Some(48.86),
                long: Some(2.35),
                ..Visit::default()
            },
            Visit {
                visitor: 6,
                first: "2026-01-06 12:00:00",
                last: "2026-01-06 12:00:00",
                country: Some("it"),
                region: Some("RM"),
                city: Some("Rome"),
                lat: Some(41.9),
                long: Some(12.5),
                ..Visit::default()
            },
        ],
    )
}

#[test]
fn user_country_reports_countries_regions_and_cities() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, "UTC")?;
    countries_monday(&mut conn)?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;

    let countries = table(&mut conn, &monday, "UserCountry_country")?;
    assert_eq!(
        by_label(&countries),
        sorted(vec![
            // Paris and Lyon are two groups: alice counts in both.
            day("fr", [3, 3, 6, 2, 3, 150, 1, 1]),
            day("de", [1, 1, 5, 0, 5, 300, 0, 0]),
            day("us", [1, 1, 2, 0, 2, 60, 0, 0]),
            day("", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    let regions = table(&mut conn, &monday, "UserCountry_region")?;
    assert_eq!(
        by_label(&regions),
        sorted(vec![
            day("75|fr", [2, 2, 4, 1, 3, 120, 1, 1]),
            day("69|fr", [1, 1, 2, 1, 2, 30, 0, 0]),
            day("CA|us", [1, 1, 2, 0, 2, 60, 0, 0]),
            // Berlin (no region) and the visit without location share the
            // empty label; their unique visitors are summed.
            day("", [2, 2, 6, 0, 5, 300, 1, 0]),
        ])
    );
    let cities = table(&mut conn, &monday, "UserCountry_city")?;
    assert_eq!(
        by_label(&cities),
        sorted(vec![
            day("Paris|75|fr", [2, 2, 4, 1, 3, 120, 1, 1]),
            day("Lyon|69|fr", [1, 1, 2, 1, 2, 30, 0, 0]),
            day("Berlin||de", [1, 1, 5, 0, 5, 300, 0, 0]),
            day("MountainView|CA|us", [1, 1, 2, 0, 2, 60, 0, 0]),
            day("", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    // The largest latitude and longitude of the city, to 3 decimals.
    assert_eq!(
        meta(&cities, "Paris|75|fr", "lat")?,
        Some(Scalar::Float(48.857))
    );
    assert_eq!(
        meta(&cities, "Paris|75|fr", "long")?,
        Some(Scalar::Float(2.352))
    );
    assert_eq!(
        meta(&cities, "Berlin||de", "lat")?,
        Some(Scalar::Float(52.52))
    );
    assert_eq!(
        meta(&cities, "Berlin||de", "long")?,
        Some(Scalar::Float(13.405))
    );
    assert_eq!(meta(&cities, "Lyon|69|fr", "lat")?, None);
    assert_eq!(meta(&cities, "", "lat")?, None);
    assert_eq!(
        storage::read_numeric(&mut conn, &monday, "UserCountry_distinctCountries")?,
        4.0
    );

    countries_tuesday(&mut conn)?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    let countries = table(&mut conn, &week_archive, "UserCountry_country")?;
    assert_eq!(
        by_label(&countries),
        sorted(vec![
            week("fr", [4, 4, 8, 3, 3, 200, 1, 1]),
            week("de", [1, 1, 5, 0, 5, 300, 0, 0]),
            week("us", [1, 1, 2, 0, 2, 60, 0, 0]),
            week("it", [1, 1, 1, 0, 1, 0, 1, 0]),
            week("", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    let regions = table(&mut conn, &week_archive, "UserCountry_region")?;
    assert_eq!(
        by_label(&regions),
        sorted(vec![
            week("75|fr", [3, 3, 6, 2, 3, 170, 1, 1]),
            week("69|fr", [1, 1, 2, 1, 2, 30, 0, 0]),
            week("CA|us", [1, 1, 2, 0, 2, 60, 0, 0]),
            week("RM|it", [1, 1, 1, 0, 1, 0, 1, 0]),
            week("", [2, 2, 6, 0, 5, 300, 1, 0]),
        ])
    );
    let cities = table(&mut conn, &week_archive, "UserCountry_city")?;
    assert_eq!(
        by_label(&cities),
        sorted(vec![
            week("Paris|75|fr", [3, 3, 6, 2, 3, 170, 1, 1]),
            week("Lyon|69|fr", [1, 1, 2, 1, 2, 30, 0, 0]),
            week("Berlin||de", [1, 1, 5, 0, 5, 300, 0, 0]),
            week("MountainView|CA|us", [1, 1, 2, 0, 2, 60, 0, 0]),
            week("Rome|RM|it", [1, 1, 1, 0, 1, 0, 1, 0]),
            week("", [1, 1, 1, 0, 1, 0, 1, 0]),
        ])
    );
    // Paris keeps the coordinates of its busier day (Monday, 2 visits).
    assert_eq!(
        meta(&cities, "Paris|75|fr", "lat")?,
        Some(Scalar::Float(48.857))
    );
    assert_eq!(
        meta(&cities, "Rome|RM|it", "long")?,
        Some(Scalar::Float(12.5))
    );
    assert_eq!(
        storage::read_numeric(&mut conn, &week_archive, "UserCountry_distinctCountries")?,
        5.0
    );
    Ok(())
}

// --------------------------------------------------------------- UserLanguage

#[test]
fn user_language_labels_language_and_country() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, "UTC")?;
    let lang = |visitor: u8, lang: Option<&'static str>, actions: u32, seconds: u32| Visit {
        visitor,
        lang,
        actions: Some(actions),
        seconds,
        ..Visit::default()
    };
    add_visits(
        &mut conn,
        &[
            Visit {
                user: Some("alice"),
                ..lang(1, Some("en-us"), 2, 20)
            },
            lang(2, Some("en-us"), 1, 0),
            Visit {
                converted: true,
                ..lang(3, Some("de-de"), 3, 100)
            },
            // Visitor 3 again: "de" and "de-de" both become "de", and
            // Matomo sums their unique visitors.
            lang(3, Some("de"), 1, 0),
            lang(4, Some("ja"), 1, 0),
            lang(5, None, 1, 0),
            lang(6, Some("xx"), 2, 10),
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let languages = table(&mut conn, &monday, "UserLanguage_language")?;
    assert_eq!(
        by_label(&languages),
        sorted(vec![
            day("en-us", [2, 2, 3, 1, 2, 20, 1, 0]),
            day("de", [2, 2, 4, 0, 3, 100, 1, 1]),
            day("ja-jp", [1, 1, 1, 0, 1, 0, 1, 0]),
            day("xx", [2, 2, 3, 0, 2, 10, 1, 0]),
        ])
    );

    let tuesday = |visitor: u8, lang: Option<&'static str>, actions: u32, seconds: u32| Visit {
        first: "2026-01-06 10:00:00",
        last: "2026-01-06 10:00:00",
        ..Visit {
            visitor,
            lang,
            actions: Some(actions),
            seconds,
            ..Visit::default()
        }
    };
    add_visits(
        &mut conn,
        &[
            tuesday(1, Some("en-gb"), 1, 0),
            Visit {
                user: Some("alice"),
                ..tuesday(2, Some("en-us"), 4, 40)
            },
        ],
    )?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    let languages = table(&mut conn, &week_archive, "UserLanguage_language")?;
    assert_eq!(
        by_label(&languages),
        sorted(vec![
            week("en-us", [3, 3, 7, 2, 4, 60, 1, 0]),
            week("en-gb", [1, 1, 1, 0, 1, 0, 1, 0]),
            week("de", [2, 2, 4, 0, 3, 100, 1, 1]),
            week("ja-jp", [1, 1, 1, 0, 1, 0, 1, 0]),
            week("xx", [2, 2, 3, 0, 2, 10, 1, 0]),
        ])
    );
    Ok(())
}

// ----------------------------------------------------------- DevicesDetection

fn mac_safari() -> Visit {
    Visit {
        device_type: Some(0),
        brand: Some("Apple"),
        model: Some("MacBook"),
        os: Some("MAC"),
        os_version: Some("10.15"),
        browser: Some("SF"),
        browser_version: Some("17.1"),
        engine: Some("WebKit"),
        ..Visit::default()
    }
}

#[test]
fn devices_detection_reports_devices_systems_and_browsers() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, "UTC")?;
    let chrome = Visit {
        browser: Some("CH"),
        browser_version: Some("120.0"),
        engine: Some("Blink"),
        ..Visit::default()
    };
    add_visits(
        &mut conn,
        &[
            Visit {
                visitor: 1,
                actions: Some(2),
                seconds: 30,
                ..mac_safari()
            },
            Visit {
                visitor: 2,
                device_type: Some(1),
                brand: Some("Samsung"),
                model: Some("Galaxy S23"),
                os: Some("AND"),
                os_version: Some("14"),
                ..chrome.clone()
            },
            // A Mac without OS version, on Chrome.
            Visit {
                visitor: 3,
                user: Some("carol"),
                actions: Some(4),
                seconds: 200,
                converted: true,
                device_type: Some(0),
                brand: Some("Apple"),
                model: Some("MacBook"),
                os: Some("MAC"),
                ..chrome
            },
            // Nothing known but the browser name.
            Visit {
                visitor: 4,
                browser: Some("FF"),
                ..Visit::default()
            },
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let mac = [2, 2, 6, 1, 4, 230, 0, 1];
    let phone = [1, 1, 1, 0, 1, 0, 1, 0];
    let unknown = [1, 1, 1, 0, 1, 0, 1, 0];
    let safari = [1, 1, 2, 0, 2, 30, 0, 0];
    let chrome = [2, 2, 5, 1, 4, 200, 1, 1];
    let expected: [(&str, Vec<Line>); 8] = [
        (
            "DevicesDetection_types",
            vec![day("0", mac), day("1", phone), day("", unknown)],
        ),
        (
            "DevicesDetection_brands",
            vec![day("Apple", mac), day("Samsung", phone), day("", unknown)],
        ),
        (
            "DevicesDetection_models",
            vec![
                day("Apple;MacBook", mac),
                day("Samsung;Galaxy S23", phone),
                day("", unknown),
            ],
        ),
        (
            "DevicesDetection_os",
            vec![day("MAC", mac), day("AND", phone), day("", unknown)],
        ),
        (
            "DevicesDetection_osVersions",
            vec![
                day("MAC;10.15", safari),
                day("MAC;", [1, 1, 4, 1, 4, 200, 0, 1]),
                day("AND;14", phone),
                day("", unknown),
            ],
        ),
        (
            "DevicesDetection_browsers",
            vec![day("SF", safari), day("CH", chrome), day("FF", unknown)],
        ),
        (
            "DevicesDetection_browserVersions",
            vec![
                day("SF;17.1", safari),
                day("CH;120.0", chrome),
                // CONCAT with a NULL version is NULL.
                day("", unknown),
            ],
        ),
        (
            "DevicesDetection_browserEngines",
            vec![
                day("WebKit", safari),
                day("Blink", chrome),
                day("", unknown),
            ],
        ),
    ];
    for (name, rows) in expected {
        assert_eq!(
            by_label(&table(&mut conn, &monday, name)?),
            sorted(rows),
            "{name}"
        );
    }

    add_visits(
        &mut conn,
        &[Visit {
            visitor: 1,
            first: "2026-01-06 10:00:00",
            last: "2026-01-06 10:01:00",
            actions: Some(3),
            seconds: 60,
            ..mac_safari()
        }],
    )?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    let safari = [2, 2, 5, 0, 3, 90, 0, 0];
    let expected: [(&str, Vec<Line>); 5] = [
        (
            "DevicesDetection_types",
            vec![
                week("0", [3, 3, 9, 1, 4, 290, 0, 1]),
                week("1", phone),
                week("", unknown),
            ],
        ),
        (
            "DevicesDetection_models",
            vec![
                week("Apple;MacBook", [3, 3, 9, 1, 4, 290, 0, 1]),
                week("Samsung;Galaxy S23", phone),
                week("", unknown),
            ],
        ),
        (
            "DevicesDetection_osVersions",
            vec![
                week("MAC;10.15", safari),
                week("MAC;", [1, 1, 4, 1, 4, 200, 0, 1]),
                week("AND;14", phone),
                week("", unknown),
            ],
        ),
        (
            "DevicesDetection_browsers",
            vec![week("SF", safari), week("CH", chrome), week("FF", unknown)],
        ),
        (
            "DevicesDetection_browserVersions",
            vec![
                week("SF;17.1", safari),
                week("CH;120.0", chrome),
                week("", unknown),
            ],
        ),
    ];
    for (name, rows) in expected {
        assert_eq!(
            by_label(&table(&mut conn, &week_archive, name)?),
            sorted(rows),
            "{name}"
        );
    }
    Ok(())
}

// ----------------------------------------------------------------- Resolution

#[test]
fn resolution_and_configuration() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, "UTC")?;
    let config = |visitor: u8, res: Option<&'static str>, os: &'static str, browser| Visit {
        visitor,
        resolution: res,
        os: Some(os),
        browser: Some(browser),
        ..Visit::default()
    };
    add_visits(
        &mut conn,
        &[
            Visit {
                actions: Some(2),
                seconds: 30,
                ..config(1, Some("1920x1080"), "WIN", "CH")
            },
            config(2, Some("1920x1080"), "WIN", "FF"),
            // `unknown` is longer than 5 bytes and stays.
            config(3, Some("unknown"), "MAC", "SF"),
            // 5 bytes: not a resolution, but part of a configuration.
            Visit {
                actions: Some(3),
                seconds: 90,
                converted: true,
                ..config(4, Some("80x60"), "AND", "CH")
            },
            config(5, None, "WIN", "CH"),
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let bounce = [1, 1, 1, 0, 1, 0, 1, 0];
    assert_eq!(
        by_label(&table(&mut conn, &monday, "Resolution_resolution")?),
        sorted(vec![
            day("1920x1080", [2, 2, 3, 0, 2, 30, 1, 0]),
            day("unknown", bounce),
        ])
    );
    assert_eq!(
        by_label(&table(&mut conn, &monday, "Resolution_configuration")?),
        sorted(vec![
            day("WIN;CH;1920x1080", [1, 1, 2, 0, 2, 30, 0, 0]),
            day("WIN;FF;1920x1080", bounce),
            day("MAC;SF;unknown", bounce),
            day("AND;CH;80x60", [1, 1, 3, 0, 3, 90, 0, 1]),
            day("", bounce),
        ])
    );

    let tuesday = |visitor, res| Visit {
        first: "2026-01-06 10:00:00",
        last: "2026-01-06 10:00:00",
        ..config(visitor, Some(res), "WIN", "CH")
    };
    add_visits(
        &mut conn,
        &[
            tuesday(1, "1920x1080"),
            Visit {
                actions: Some(2),
                seconds: 10,
                ..tuesday(6, "1366x768")
            },
        ],
    )?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    assert_eq!(
        by_label(&table(&mut conn, &week_archive, "Resolution_resolution")?),
        sorted(vec![
            week("1920x1080", [3, 3, 4, 0, 2, 30, 2, 0]),
            week("unknown", bounce),
            week("1366x768", [1, 1, 2, 0, 2, 10, 0, 0]),
        ])
    );
    assert_eq!(
        by_label(&table(
            &mut conn,
            &week_archive,
            "Resolution_configuration"
        )?),
        sorted(vec![
            week("WIN;CH;1920x1080", [2, 2, 3, 0, 2, 30, 1, 0]),
            week("WIN;CH;1366x768", [1, 1, 2, 0, 2, 10, 0, 0]),
            week("WIN;FF;1920x1080", bounce),
            week("MAC;SF;unknown", bounce),
            week("AND;CH;80x60", [1, 1, 3, 0, 3, 90, 0, 1]),
            week("", bounce),
        ])
    );
    Ok(())
}

// -------------------------------------------------------------- DevicePlugins

#[test]
fn device_plugins_count_visits_per_flag() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, "UTC")?;
    let (yes, no) = (Some(1), Some(0));
    add_visits(
        &mut conn,
        &[
            Visit {
                visitor: 1,
                plugins: [yes, no, yes, yes, no, no, no, no],
                ..Visit::default()
            },
            Visit {
                visitor: 2,
                plugins: [yes, no, no, yes, yes, no, None, yes],
                ..Visit::default()
            },
            Visit {
                visitor: 3,
                plugins: [no, None, None, None, None, None, None, None],
                ..Visit::default()
            },
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    // Every plugin has a row, in Matomo's order, zeros included.
    assert_eq!(
        lines(&table(&mut conn, &monday, "DevicePlugins_plugin")?),
        vec![
            visits("cookie", 2),
            visits("flash", 0),
            visits("java", 1),
            visits("pdf", 2),
            visits("quicktime", 1),
            visits("realplayer", 0),
            visits("silverlight", 0),
            visits("windowsmedia", 1),
        ]
    );

    add_visits(
        &mut conn,
        &[Visit {
            visitor: 4,
            first: "2026-01-06 10:00:00",
            last: "2026-01-06 10:00:00",
            plugins: [yes, yes, no, no, no, yes, no, no],
            ..Visit::default()
        }],
    )?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    assert_eq!(
        lines(&table(&mut conn, &week_archive, "DevicePlugins_plugin")?),
        vec![
            visits("cookie", 3),
            visits("flash", 1),
            visits("java", 1),
            visits("pdf", 2),
            visits("quicktime", 1),
            visits("realplayer", 1),
            visits("silverlight", 0),
            visits("windowsmedia", 1),
        ]
    );
    Ok(())
}

// ------------------------------------------------------------------ VisitTime

/// The expected hour table: `rows` for the hours that had visits, zeros for
/// the others, in hour order after an optional empty-label row.
fn hours(row: fn(&str, Metrics) -> Line, rows: &[(&str, Metrics)]) -> Vec<Line> {
    let mut out = Vec::new();
    if let Some((_, m)) = rows.iter().find(|(label, _)| label.is_empty()) {
        out.push(row("", *m));
    }
    for hour in 0..24 {
        let label = hour.to_string();
        let m = rows
            .iter()
            .find(|(l, _)| *l == label)
            .map_or([0; 8], |(_, m)| *m);
        out.push(row(&label, m));
    }
    out
}

#[test]
fn visit_time_by_local_and_site_hour() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    // Paris in January is UTC+1: Monday runs from 2026-01-04 23:00 UTC to
    // 2026-01-05 23:00 UTC.
    add_site(&mut conn, "Europe/Paris")?;
    add_visits(
        &mut conn,
        &[
            // 00:10 in Paris, 07:10 on the visitor's clock.
            Visit {
                visitor: 1,
                first: "2026-01-04 23:10:00",
                last: "2026-01-04 23:20:00",
                actions: Some(2),
                seconds: 600,
                localtime: Some("07:10:00"),
                ..Visit::default()
            },
            // 09:30 in Paris and for the visitor.
            Visit {
                visitor: 2,
                first: "2026-01-05 08:30:00",
                last: "2026-01-05 08:30:00",
                localtime: Some("09:30:00"),
                ..Visit::default()
            },
            // 09:05 in Paris, 03:05 for the visitor.
            Visit {
                visitor: 3,
                user: Some("dave"),
                first: "2026-01-05 08:05:00",
                last: "2026-01-05 08:07:00",
                actions: Some(3),
                seconds: 120,
                converted: true,
                localtime: Some("03:05:00"),
                ..Visit::default()
            },
            // 23:30 in Paris, no local time.
            Visit {
                visitor: 4,
                first: "2026-01-05 22:30:00",
                last: "2026-01-05 22:30:00",
                ..Visit::default()
            },
            // 00:30 on Tuesday in Paris: not Monday's.
            Visit {
                visitor: 5,
                first: "2026-01-05 23:30:00",
                last: "2026-01-05 23:30:00",
                localtime: Some("00:30:00"),
                ..Visit::default()
            },
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let bounce = [1, 1, 1, 0, 1, 0, 1, 0];
    assert_eq!(
        lines(&table(&mut conn, &monday, "VisitTime_serverTime")?),
        hours(
            day,
            &[
                ("0", [1, 1, 2, 0, 2, 600, 0, 0]),
                ("9", [2, 2, 4, 1, 3, 120, 1, 1]),
                ("23", bounce),
            ]
        )
    );
    assert_eq!(
        lines(&table(&mut conn, &monday, "VisitTime_localTime")?),
        hours(
            day,
            &[
                ("", bounce),
                ("3", [1, 1, 3, 1, 3, 120, 0, 1]),
                ("7", [1, 1, 2, 0, 2, 600, 0, 0]),
                ("9", bounce),
            ]
        )
    );

    // Tuesday 10:00 in Paris, 09:00 on the visitor's clock.
    add_visits(
        &mut conn,
        &[Visit {
            visitor: 1,
            first: "2026-01-06 09:00:00",
            last: "2026-01-06 09:05:00",
            actions: Some(4),
            seconds: 300,
            localtime: Some("09:00:00"),
            ..Visit::default()
        }],
    )?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    assert_eq!(
        lines(&table(&mut conn, &week_archive, "VisitTime_serverTime")?),
        hours(
            week,
            &[
                ("0", [2, 2, 3, 0, 2, 600, 1, 0]),
                ("9", [2, 2, 4, 1, 3, 120, 1, 1]),
                ("10", [1, 1, 4, 0, 4, 300, 0, 0]),
                ("23", bounce),
            ]
        )
    );
    assert_eq!(
        lines(&table(&mut conn, &week_archive, "VisitTime_localTime")?),
        hours(
            week,
            &[
                ("", bounce),
                ("0", bounce),
                ("3", [1, 1, 3, 1, 3, 120, 0, 1]),
                ("7", [1, 1, 2, 0, 2, 600, 0, 0]),
                ("9", [2, 2, 5, 0, 4, 300, 1, 0]),
            ]
        )
    );
    Ok(())
}

// ------------------------------------------------------------ VisitorInterest

#[test]
fn visitor_interest_counts_visits_per_range() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    add_site(&mut conn, "UTC")?;
    const DAY: u32 = 86_400;
    let visit = |seconds, actions, count_visits, returning, since_last| Visit {
        seconds,
        actions,
        count_visits,
        returning,
        since_last,
        ..Visit::default()
    };
    add_visits(
        &mut conn,
        &[
            visit(0, Some(1), 1, Some(0), None),
            // 60 s is in both "31-60" and "60-120".
            visit(60, Some(2), 2, Some(1), Some(3_600)),
            visit(1_801, Some(21), 9, Some(1), Some(8 * DAY + 5)),
            // 900 s is in both "600-900" and "900-1800".
            visit(900, Some(7), 201, Some(1), Some(365 * DAY)),
            // No action count; a returning customer is in no days row.
            visit(30, None, 3, Some(2), Some(2 * DAY)),
            visit(10, Some(1), 1, Some(0), None),
        ],
    )?;
    let monday = archive(&mut conn, Period::day(MONDAY))?;
    let expect = |pairs: &[(&str, i64)]| -> Vec<Line> {
        pairs
            .iter()
            .map(|(label, count)| visits(label, *count))
            .collect()
    };
    let time_gap = |short: i64| {
        expect(&[
            ("0-10", 2),
            ("11-30", 1),
            ("31-60", short),
            ("60-120", 1),
            ("120-240", 0),
            ("240-420", 0),
            ("420-600", 0),
            ("600-900", 1),
            ("900-1800", 1),
            ("1801%2B", 1),
        ])
    };
    let page_gap = |three: i64| {
        expect(&[
            ("1-1", 2),
            ("2-2", 1),
            ("3-3", three),
            ("4-4", 0),
            ("5-5", 0),
            ("6-7", 1),
            ("8-10", 0),
            ("11-14", 0),
            ("15-20", 0),
            ("21%2B", 1),
        ])
    };
    let visit_count = |four: i64| {
        expect(&[
            ("1-1", 2),
            ("2-2", 1),
            ("3-3", 1),
            ("4-4", four),
            ("5-5", 0),
            ("6-6", 0),
            ("7-7", 0),
            ("8-8", 0),
            ("9-14", 1),
            ("15-25", 0),
            ("26-50", 0),
            ("51-100", 0),
            ("101-200", 0),
            ("201%2B", 1),
        ])
    };
    let days_since = |one: i64| {
        expect(&[
            ("General_NewVisits", 2),
            ("0-0", 1),
            ("1-1", one),
            ("2-2", 0),
            ("3-3", 0),
            ("4-4", 0),
            ("5-5", 0),
            ("6-6", 0),
            ("7-7", 0),
            ("8-14", 1),
            ("15-30", 0),
            ("31-60", 0),
            ("61-120", 0),
            ("121-364", 0),
            ("365%2B", 1),
        ])
    };
    let check = |conn: &mut MysqlConnection,
                 archive: &StoredArchive,
                 tables: [(&str, Vec<Line>); 4]|
     -> anyhow::Result<()> {
        for (name, rows) in tables {
            assert_eq!(lines(&table(conn, archive, name)?), rows, "{name}");
        }
        Ok(())
    };
    check(
        &mut conn,
        &monday,
        [
            ("VisitorInterest_timeGap", time_gap(1)),
            ("VisitorInterest_pageGap", page_gap(0)),
            ("VisitorInterest_visitsByVisitCount", visit_count(0)),
            ("VisitorInterest_daysSinceLastVisit", days_since(0)),
        ],
    )?;

    add_visits(
        &mut conn,
        &[Visit {
            first: "2026-01-06 10:00:00",
            last: "2026-01-06 10:00:45",
            ..visit(45, Some(3), 4, Some(1), Some(DAY))
        }],
    )?;
    let week_archive = archive(&mut conn, Period::week(MONDAY))?;
    check(
        &mut conn,
        &week_archive,
        [
            ("VisitorInterest_timeGap", time_gap(2)),
            ("VisitorInterest_pageGap", page_gap(1)),
            ("VisitorInterest_visitsByVisitCount", visit_count(1)),
            ("VisitorInterest_daysSinceLastVisit", days_since(1)),
        ],
    )?;
    Ok(())
}
