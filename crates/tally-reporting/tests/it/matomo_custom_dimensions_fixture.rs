//! Matomo's CustomDimensions system test traffic
//! (`plugins/CustomDimensions/tests/Fixtures/TrackVisitsWithCustomDimensionsFixture.php`
//! in matomo-org/matomo), configured through our `CustomDimensions` admin
//! methods and sent as the PHP tracker sends it, and the answers checked
//! against the numbers of Matomo's expected outputs for its `ApiTest`
//! (`plugins/CustomDimensions/tests/System/expected/`).
//!
//! Site 1 has visit dimensions 1, 2 and 6, action dimensions 3 (extracted
//! from the URL with `/sub_(.{2})/page`), 4 (inactive) and 5 (extracted
//! from the `test`, else the `param` query parameter); site 2 one visit
//! dimension. The PHP tracker forgets its dimensions after each request,
//! so most action values come from the extractions. Matomo's fixture
//! moves four requests with `Date::addDay(0.4)`, `addDay(2)` and
//! `addDay(3)`; PHP's `strtotime("+0.4 day")` reads `+0` and `.4 day` as
//! four days, so those requests fall on 01-27, 01-25 and 01-26.

use serde_json::Value;
use tally_db::test_support::TestDb;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::common::user_with_token;
use crate::php_tracker::{At, PhpTracker};

/// The fixture's `$dateTime`.
const START: PrimitiveDateTime = datetime!(2013-01-23 01:23:45);

/// The clock of the reports: long after the tracked year.
const NOW: OffsetDateTime = datetime!(2026-11-16 12:00 UTC);

type Reports = crate::common::FixtureApi;

/// `CustomDimensions.getCustomDimension` rows as `label visits count
/// [time] segment` lines: the count is `nb_actions` for visit
/// dimensions and `nb_hits` (with `sum_time_spent`) for action ones.
async fn dimension(
    r: &Reports,
    idsite: u32,
    id: u32,
    period: &str,
    extra: &str,
) -> anyhow::Result<Vec<String>> {
    let date = if period == "year" {
        "2013-01-01"
    } else {
        "2013-01-23"
    };
    let query = format!(
        "method=CustomDimensions.getCustomDimension&idSite={idsite}&idDimension={id}\
         &period={period}&date={date}{extra}"
    );
    let rows = r.json(&query).await?;
    let rows = rows.as_array().cloned().unwrap_or_default();
    Ok(rows.iter().map(summary).collect())
}

/// One report row in a line: label, `nb_visits`, then `nb_actions` or
/// `nb_hits` and `sum_time_spent`, then `segment`.
fn summary(row: &Value) -> String {
    let text = |name: &str| match &row[name] {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let counts = if row.get("nb_hits").is_some() {
        format!("hits={} time={}", text("nb_hits"), text("sum_time_spent"))
    } else {
        format!("actions={}", text("nb_actions"))
    };
    format!(
        "{} | visits={} {counts} | {}",
        text("label"),
        text("nb_visits"),
        text("segment")
    )
}

/// Configures a dimension through the API and checks the id it got.
async fn configure(r: &Reports, idsite: u32, query: &str, expected_id: u32) -> anyhow::Result<()> {
    let body = r
        .xml(&format!(
            "method=CustomDimensions.configureNewCustomDimension&idSite={idsite}&{query}"
        ))
        .await?;
    assert_eq!(
        body,
        format!("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>{expected_id}</result>"),
        "{query}"
    );
    Ok(())
}

/// The fixture: two sites, the goal, the dimensions, three visits.
pub(crate) async fn fixture() -> anyhow::Result<(TestDb, Reports)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for _ in 0..2 {
            let site = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                start_date: Some(START),
                ..NewSiteParams::new("Piwik test", ["http://piwik.net/"])
            };
            management::add_site(&mut conn, &root, &site)?;
        }
        management::add_goal(
            &mut conn,
            &root,
            1,
            &GoalParams::new("Has sub_en", "url", "sub_en", "contains"),
        )?;
        // Matomo's system tests keep full IPs.
        diesel::RunQueryDsl::execute(
            diesel::sql_query(
                "INSERT INTO `option` (option_name, option_value, autoload) \
                 VALUES ('PrivacyManager.ipAnonymizerEnabled', '0', 1)",
            ),
            &mut conn,
        )?;
        user_with_token(&mut conn, "root", None)?
    };
    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    let r = Reports {
        api,
        token,
        now: NOW,
    };
    configure(&r, 1, "name=MyName1&scope=visit&active=1", 1).await?;
    configure(&r, 1, "name=MyName2&scope=visit&active=1", 2).await?;
    configure(&r, 2, "name=MyName1&scope=visit&active=1", 1).await?;
    configure(
        &r,
        1,
        "name=MyName3&scope=action&active=1&extractions[0][dimension]=url\
         &extractions[0][pattern]=%2Fsub_(.%7B2%7D)%2Fpage",
        3,
    )
    .await?;
    configure(&r, 1, "name=MyName4&scope=action&active=0", 4).await?;
    configure(
        &r,
        1,
        "name=MyName5&scope=action&active=1&extractions[0][dimension]=urlparam\
         &extractions[0][pattern]=test&extractions[1][dimension]=urlparam\
         &extractions[1][pattern]=param",
        5,
    )
    .await?;
    // The fixture writes its sixth dimension straight into the table, in
    // column 4 of the visit scope (the API would take the free column 3).
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO custom_dimensions \
             (idcustomdimension, idsite, name, `index`, scope, active, extractions, case_sensitive) \
             VALUES (6, 1, 'MyName6', 4, 'visit', 1, '[]', 1)",
        ),
        &mut db.conn()?,
    )?;

    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);
    let hours = |h: f64| START + Duration::seconds_f64(h * 3600.0);

    // First visitor, site 1.
    let mut t = PhpTracker::new(1, &r.token, "1a2b3c4d5e6f7a8b", START);
    for (id, value) in (1..=6).map(|i| (i, format!("value{i}"))) {
        t.set_custom_dimension(id, &value);
    }
    t.at = At::Datetime(hours(0.1));
    t.url = "http://example.com/".to_owned();
    let q = t.page_view("Viewing homepage");
    t.ok(&router, &q).await?;
    t.set_custom_dimension(1, "value5 1");
    t.set_custom_dimension(2, "dim 2");
    t.at = At::Datetime(hours(0.2));
    t.url = "http://example.com/sub_en/page?test=343&param=23".to_owned();
    let q = t.page_view("Second page view");
    t.ok(&router, &q).await?;
    t.set_custom_dimension(2, "en_US");
    t.set_custom_dimension(3, "value5 3");
    t.at = At::Datetime(hours(0.3));
    t.url = "http://example.com/sub_en/page?param=en_US".to_owned();
    let q = t.page_view("Third page view");
    t.ok(&router, &q).await?;
    for (days, title) in [(4, "Fourth page view"), (2, "Fifth page view")] {
        t.at = At::Datetime(START + Duration::days(days));
        let q = t.page_view(title);
        t.ok(&router, &q).await?;
    }
    t.set_custom_dimension(1, "value1");
    t.set_custom_dimension(2, "value2");
    t.set_custom_dimension(5, "value5 5");
    t.at = At::Datetime(START + Duration::days(3));
    let q = t.page_view("Sixth page view");
    t.ok(&router, &q).await?;

    // Second visitor, site 2: a page, a site search, a cart.
    let mut t = PhpTracker::new(2, &r.token, "2b3c4d5e6f7a8b9c", START);
    t.ip = "56.11.55.73".to_owned();
    for (id, value) in (1..=6).map(|i| (i, format!("site2 value{i}"))) {
        t.set_custom_dimension(id, &value);
    }
    t.at = At::Datetime(hours(0.1));
    t.url = "http://example.com/sub_en/page".to_owned();
    let q = t.page_view("Viewing homepage");
    t.ok(&router, &q).await?;
    t.at = At::Datetime(hours(0.2));
    t.url = "http://example.com/?search=this is a site search query".to_owned();
    let q = t.page_view("Site search query");
    t.ok(&router, &q).await?;
    t.at = At::Datetime(hours(0.3));
    t.add_item(
        "SKU_ID2",
        "A durable item",
        serde_json::json!("Best seller"),
        321.0,
        1,
    );
    let q = t.ecommerce(None, [f64::from(33 * 77), 0.0, 0.0, 0.0, 0.0]);
    t.ok(&router, &q).await?;

    // Third visitor, site 1: dimensions sent empty.
    let mut t = PhpTracker::new(1, &r.token, "3c4d5e6f7a8b9c0d", START);
    t.ip = "56.11.55.79".to_owned();
    t.set_custom_dimension(1, "");
    t.set_custom_dimension(3, "");
    t.at = At::Datetime(hours(0.1));
    t.url = "http://example.com/sub_en/page".to_owned();
    let q = t.page_view("Viewing homepage");
    t.ok(&router, &q).await?;
    Ok((db, r))
}

/// `test_day_site_*` and `test_year_site_*` of `ApiTest`: every dimension's
/// rows by day and by year, the inactive and the unknown dimension's
/// errors, and the year of dimension 1 under `dimension1=@value5`.
#[tokio::test]
async fn custom_dimension_reports_match_matomos() -> anyhow::Result<()> {
    let (_db, r) = fixture().await?;
    let day = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        dimension(&r, 1, 1, "day", "").await?,
        day(&[
            "value5 1 | visits=1 actions=3 | dimension1==value5+1",
            "Value not defined | visits=1 actions=1 | dimension1==",
        ])
    );
    assert_eq!(
        dimension(&r, 1, 2, "day", "").await?,
        day(&[
            "en_US | visits=1 actions=3 | dimension2==en_US",
            "dim 2 | visits=0 actions=- | dimension2==dim+2",
        ])
    );
    assert_eq!(
        dimension(&r, 1, 3, "day", "").await?,
        day(&[
            "en | visits=1 hits=1 time=360 | dimension3==en",
            "value3 | visits=1 hits=1 time=360 | dimension3==value3",
            "value5 3 | visits=1 hits=1 time=0 | dimension3==value5+3",
            "Value not defined | visits=1 hits=1 time=0 | dimension3==",
        ])
    );
    assert_eq!(
        dimension(&r, 1, 5, "day", "").await?,
        day(&[
            "343 | visits=1 hits=1 time=360 | dimension5==343",
            "en_US | visits=1 hits=1 time=0 | dimension5==en_US",
            "value5 | visits=1 hits=1 time=360 | dimension5==value5",
        ])
    );
    assert_eq!(
        dimension(&r, 1, 6, "day", "").await?,
        day(&["value6 | visits=1 actions=3 | dimension6==value6"])
    );
    assert_eq!(
        dimension(&r, 2, 1, "day", "").await?,
        day(&["site2 value1 | visits=1 actions=2 | dimension1==site2+value1"])
    );

    assert_eq!(
        dimension(&r, 1, 1, "year", "").await?,
        day(&[
            "value1 | visits=1 actions=1 | dimension1==value1",
            "value5 1 | visits=1 actions=3 | dimension1==value5+1",
            "Value not defined | visits=1 actions=1 | dimension1==",
        ])
    );
    assert_eq!(
        dimension(&r, 1, 2, "year", "").await?,
        day(&[
            "en_US | visits=1 actions=3 | dimension2==en_US",
            "value2 | visits=1 actions=1 | dimension2==value2",
            "dim 2 | visits=0 actions=- | dimension2==dim+2",
        ])
    );
    assert_eq!(
        dimension(&r, 1, 3, "year", "").await?,
        day(&[
            "en | visits=4 hits=4 time=360 | dimension3==en",
            "value3 | visits=1 hits=1 time=360 | dimension3==value3",
            "value5 3 | visits=1 hits=1 time=0 | dimension3==value5+3",
            "Value not defined | visits=1 hits=1 time=0 | dimension3==",
        ])
    );
    assert_eq!(
        dimension(&r, 1, 5, "year", "").await?,
        day(&[
            "en_US | visits=3 hits=3 time=0 | dimension5==en_US",
            "343 | visits=1 hits=1 time=360 | dimension5==343",
            "value5 | visits=1 hits=1 time=360 | dimension5==value5",
            "value5 5 | visits=1 hits=1 time=0 | dimension5==value5+5",
        ])
    );
    assert_eq!(
        dimension(&r, 1, 6, "year", "").await?,
        day(&["value6 | visits=1 actions=3 | dimension6==value6"])
    );
    assert_eq!(
        dimension(&r, 2, 1, "year", "").await?,
        day(&["site2 value1 | visits=1 actions=2 | dimension1==site2+value1"])
    );
    assert_eq!(
        dimension(&r, 1, 1, "year", "&segment=dimension1%3D%40value5").await?,
        day(&["value5 1 | visits=1 actions=3 | dimension1==value5+1"])
    );

    for (id, message) in [
        (4, "Dimension 4 for website 1 is not active."),
        (999, "Dimension 999 for website 1 does not exist."),
    ] {
        for period in ["day", "year"] {
            let (_, body) = r
                .raw(&format!(
                    "method=CustomDimensions.getCustomDimension&idSite=1&idDimension={id}\
                     &period={period}&date=2013-01-23&format=json"
                ))
                .await?;
            let answer: Value = serde_json::from_str(&body)?;
            assert_eq!(answer["result"], "error", "{body}");
            assert_eq!(answer["message"], message, "{body}");
        }
    }
    Ok(())
}

/// The text of each `<name>` element of each top-level `<row>` of an XML
/// answer, `-` where the row has none.
fn xml_rows(xml: &str, names: &[&str]) -> Vec<Vec<String>> {
    xml.split("\n\t<row>")
        .skip(1)
        .map(|row| {
            let row = row.split("\n\t</row>").next().unwrap_or(row);
            names
                .iter()
                .map(|name| {
                    let open = format!("\n\t\t<{name}>");
                    row.split_once(&open)
                        .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
                        .map_or("-".to_owned(), |(text, _)| text.to_owned())
                })
                .collect()
        })
        .collect()
}

/// The 24 PagePerformance columns of an action dimension's row, in
/// Matomo's order (network, server, transfer, DOM processing, DOM
/// completion, on load; sum, hits with the timing, min, max).
fn timing_names() -> Vec<String> {
    let mut names = Vec::new();
    for timing in [
        "network",
        "server",
        "transfer",
        "dom_processing",
        "dom_completion",
        "on_load",
    ] {
        names.push(format!("sum_time_{timing}"));
        names.push(format!("nb_hits_with_time_{timing}"));
        names.push(format!("min_time_{timing}"));
        names.push(format!("max_time_{timing}"));
    }
    names
}

/// How many rows of `xml` at `indent` carry the 24 timing columns at 0
/// right after `nb_hits` and before `sum_time_spent`, as every row of
/// Matomo's expected action dimension files does (the fixture sends no
/// timings).
fn rows_with_zero_timings(xml: &str, indent: &str) -> usize {
    let block: String = timing_names()
        .iter()
        .map(|name| format!("{indent}<{name}>0</{name}>\n"))
        .collect();
    xml.matches(&format!("</nb_hits>\n{block}{indent}<sum_time_spent>"))
        .count()
}

/// `test_day_site_1_dimension_3_flat` and `_expanded`: the action
/// dimension's page URLs below each value, with the segment and `url` of
/// `AddSubtableSegmentMetadata` (none below `Value not defined`).
#[tokio::test]
async fn action_dimension_subtables_match_matomos() -> anyhow::Result<()> {
    let (_db, r) = fixture().await?;
    let base = "method=CustomDimensions.getCustomDimension&idSite=1&idDimension=3\
                &period=day&date=2013-01-23";
    let flat = r.xml(&format!("{base}&flat=1")).await?;
    let names = [
        "label",
        "nb_hits",
        "sum_time_spent",
        "exit_nb_visits",
        "segment",
        "url",
    ];
    let expected = [
        [
            "en - example.com/sub_en/page?test=343&amp;param=23",
            "1",
            "360",
            "0",
            "dimension3==en;actionUrl=$example.com%2Fsub_en%2Fpage%3Ftest%3D343%26param%3D23",
            "example.com%2Fsub_en%2Fpage%3Ftest%3D343%26param%3D23",
        ],
        [
            "value3 - example.com/",
            "1",
            "360",
            "0",
            "dimension3==value3;actionUrl=$example.com%2F",
            "example.com%2F",
        ],
        [
            "value5 3 - example.com/sub_en/page?param=en_US",
            "1",
            "0",
            "1",
            "dimension3==value5+3;actionUrl=$example.com%2Fsub_en%2Fpage%3Fparam%3Den_US",
            "example.com%2Fsub_en%2Fpage%3Fparam%3Den_US",
        ],
        [
            "Value not defined - example.com/sub_en/page",
            "1",
            "0",
            "1",
            "dimension3==",
            "-",
        ],
    ];
    assert_eq!(
        xml_rows(&flat, &names),
        expected.map(|row| row.map(str::to_owned))
    );
    assert!(
        flat.contains(
            "<CustomDimension_CustomDimension3>en - example.com/sub_en/page?test=343&amp;param=23</CustomDimension_CustomDimension3>"
        ),
        "{flat}"
    );

    assert_eq!(rows_with_zero_timings(&flat, "\t\t"), 4, "{flat}");
    // The page below `Value not defined` has no segment of its own: it
    // inherits its value's, before the dimension, in Matomo's order.
    assert!(
        flat.contains(
            "<segment>dimension3==</segment>\n\t\t<CustomDimension_CustomDimension3>Value not defined - example.com/sub_en/page</CustomDimension_CustomDimension3>"
        ),
        "{flat}"
    );

    let expanded = r.xml(&format!("{base}&expanded=1")).await?;
    // The four values and the URL below each.
    assert_eq!(rows_with_zero_timings(&expanded, "\t\t"), 4, "{expanded}");
    assert_eq!(
        rows_with_zero_timings(&expanded, "\t\t\t\t"),
        4,
        "{expanded}"
    );
    for (id, period, date, rows) in [
        (3, "day", "2013-01-23", 4),
        (3, "year", "2013-01-01", 4),
        (5, "day", "2013-01-23", 3),
        (5, "year", "2013-01-01", 4),
    ] {
        let xml = r
            .xml(&format!(
                "method=CustomDimensions.getCustomDimension&idSite=1&idDimension={id}\
                 &period={period}&date={date}"
            ))
            .await?;
        assert_eq!(
            rows_with_zero_timings(&xml, "\t\t"),
            rows,
            "{id} {period}: {xml}"
        );
    }
    assert!(
        expanded.contains("<label>example.com/sub_en/page?test=343&amp;param=23</label>"),
        "{expanded}"
    );
    assert!(
        expanded.contains(
            "<segment>dimension3==en;actionUrl=$example.com%2Fsub_en%2Fpage%3Ftest%3D343%26param%3D23</segment>"
        ),
        "{expanded}"
    );
    let top: Vec<Vec<String>> = xml_rows(&expanded, &["label", "segment"]);
    assert_eq!(
        top,
        [
            ["en", "dimension3==en"],
            ["value3", "dimension3==value3"],
            ["value5 3", "dimension3==value5+3"],
            ["Value not defined", "dimension3=="],
        ]
        .map(|row| row.map(str::to_owned))
    );
    Ok(())
}

/// The configuration methods, body for body as in
/// `test__{1,2,99}__CustomDimensions.*.xml` and
/// `test___CustomDimensions.getAvailableExtractionDimensions.xml`.
#[tokio::test]
async fn configuration_methods_answer_as_matomo() -> anyhow::Result<()> {
    let (_db, r) = fixture().await?;
    let head = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n";
    let dimension = |id: u32,
                     site: u32,
                     name: &str,
                     index: u32,
                     scope: &str,
                     active: u8,
                     extractions: &str| {
        format!(
            "\t<row>\n\t\t<idcustomdimension>{id}</idcustomdimension>\n\t\t<idsite>{site}</idsite>\n\t\t\
             <name>{name}</name>\n\t\t<index>{index}</index>\n\t\t<scope>{scope}</scope>\n\t\t\
             <active>{active}</active>\n\t\t<extractions>\n{extractions}\t\t</extractions>\n\t\t\
             <case_sensitive>1</case_sensitive>\n\t</row>\n"
        )
    };
    let extraction = |dimension: &str, pattern: &str| {
        format!(
            "\t\t\t<row>\n\t\t\t\t<dimension>{dimension}</dimension>\n\t\t\t\t\
             <pattern>{pattern}</pattern>\n\t\t\t</row>\n"
        )
    };
    let site_1 = [
        dimension(1, 1, "MyName1", 1, "visit", 1, ""),
        dimension(2, 1, "MyName2", 2, "visit", 1, ""),
        dimension(
            3,
            1,
            "MyName3",
            1,
            "action",
            1,
            &extraction("url", "/sub_(.{2})/page"),
        ),
        dimension(4, 1, "MyName4", 2, "action", 0, ""),
        dimension(
            5,
            1,
            "MyName5",
            3,
            "action",
            1,
            &(extraction("urlparam", "test") + &extraction("urlparam", "param")),
        ),
        dimension(6, 1, "MyName6", 4, "visit", 1, ""),
    ];
    assert_eq!(
        r.xml("method=CustomDimensions.getConfiguredCustomDimensions&idSite=1")
            .await?,
        format!("{head}<result>\n{}</result>", site_1.concat())
    );
    assert_eq!(
        r.xml(
            "method=CustomDimensions.getConfiguredCustomDimensionsHavingScope&idSite=2&scope=visit"
        )
        .await?,
        format!(
            "{head}<result>\n{}</result>",
            dimension(1, 2, "MyName1", 1, "visit", 1, "")
        )
    );
    assert_eq!(
        r.xml("method=CustomDimensions.getConfiguredCustomDimensions&idSite=99")
            .await?,
        format!("{head}<result />")
    );
    let scopes = |visit_used: u32, action_used: u32| {
        let scope = |value: &str, name: &str, used: u32, extractions: u8| {
            format!(
                "\t<row>\n\t\t<value>{value}</value>\n\t\t<name>{name}</name>\n\t\t\
                 <numSlotsAvailable>5</numSlotsAvailable>\n\t\t<numSlotsUsed>{used}</numSlotsUsed>\n\t\t\
                 <numSlotsLeft>{}</numSlotsLeft>\n\t\t<supportsExtractions>{extractions}</supportsExtractions>\n\t</row>\n",
                5 - used
            )
        };
        format!(
            "{head}<result>\n{}{}</result>",
            scope("visit", "Visit", visit_used, 0),
            scope("action", "Action", action_used, 1)
        )
    };
    for (idsite, visit, action) in [(1, 3, 3), (2, 1, 0), (99, 0, 0)] {
        assert_eq!(
            r.xml(&format!(
                "method=CustomDimensions.getAvailableScopes&idSite={idsite}"
            ))
            .await?,
            scopes(visit, action),
            "site {idsite}"
        );
    }
    let source = |value: &str, name: &str| {
        format!("\t<row>\n\t\t<value>{value}</value>\n\t\t<name>{name}</name>\n\t</row>\n")
    };
    assert_eq!(
        r.xml("method=CustomDimensions.getAvailableExtractionDimensions")
            .await?,
        format!(
            "{head}<result>\n{}{}{}</result>",
            source("url", "Page URL"),
            source("urlparam", "Page URL Parameter"),
            source("action_name", "Page Title")
        )
    );
    // JSON: ids as strings, flags as booleans, extractions as a list.
    let json = r
        .json("method=CustomDimensions.getConfiguredCustomDimensions&idSite=1")
        .await?;
    assert_eq!(
        json[2],
        serde_json::json!({
            "idcustomdimension": "3", "idsite": "1", "name": "MyName3", "index": "1",
            "scope": "action", "active": true,
            "extractions": [{"dimension": "url", "pattern": "/sub_(.{2})/page"}],
            "case_sensitive": true
        })
    );
    Ok(())
}

/// Changing a dimension, and what the admin methods refuse, with Matomo's
/// messages.
#[tokio::test]
async fn configuration_is_validated_and_changes_apply() -> anyhow::Result<()> {
    let (_db, r) = fixture().await?;
    let error = |body: &str| -> String {
        let answer: Value = serde_json::from_str(body).unwrap_or_default();
        answer["message"].as_str().unwrap_or(body).to_owned()
    };
    let cases = [
        ("name=&scope=visit&active=1", "A name is required."),
        (
            "name=a%2Fb&scope=visit&active=1",
            "Allowed characters are any letters, numbers, whitespace, a dash and underline.",
        ),
        (
            "name=n&scope=page&active=1",
            "Invalid value 'page' for 'scope' specified. Available scopes are: visit, action, conversion",
        ),
        (
            "name=n&scope=visit&active=2",
            "Invalid value '2' for 'active' specified. Allowed values: '0' or '1'",
        ),
        (
            "name=n&scope=visit&active=1&extractions[0][dimension]=url&extractions[0][pattern]=x(y)",
            "Extractions can be used only in scope 'action'",
        ),
        (
            "name=n&scope=action&active=1&extractions[0][dimension]=url&extractions[0][pattern]=nogroup",
            "You need to group exactly one part of the regular expression inside round brackets, eg 'index_(.+).html'",
        ),
        (
            "name=n&scope=action&active=1&extractions[0][dimension]=url&extractions[0][regex]=(x)",
            "Each extraction within extractions must have a key &quot;dimension&quot; and &quot;pattern&quot; only",
        ),
        (
            "name=n&scope=action&active=1&extractions[0][dimension]=referrer&extractions[0][pattern]=(x)",
            "Invald dimension 'referrer' used in an extraction. Available dimensions are: url, urlparam, action_name",
        ),
    ];
    for (query, message) in cases {
        let (status, body) = r
            .raw(&format!(
                "method=CustomDimensions.configureNewCustomDimension&idSite=1&{query}&format=json"
            ))
            .await?;
        assert_eq!(error(&body), message, "{query}: {status}");
    }
    // Two visit columns are left on site 1 (3 and 5); a third is refused.
    configure(&r, 1, "name=Seven&scope=visit&active=1", 7).await?;
    configure(&r, 1, "name=Eight&scope=visit&active=1", 8).await?;
    let (_, body) = r
        .raw("method=CustomDimensions.configureNewCustomDimension&idSite=1&name=Nine&scope=visit&active=1&format=json")
        .await?;
    assert_eq!(
        error(&body),
        "All Custom Dimensions for website 1 in scope 'visit' are already used."
    );
    let indexes = r
        .json(
            "method=CustomDimensions.getConfiguredCustomDimensionsHavingScope&idSite=1&scope=visit",
        )
        .await?;
    let indexes: Vec<&str> = indexes
        .as_array()
        .map(|rows| rows.iter().filter_map(|d| d["index"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(indexes, ["1", "2", "4", "3", "5"]);

    // Activating dimension 4 with a title extraction, case-insensitive.
    let (status, body) = r
        .raw(
            "method=CustomDimensions.configureExistingCustomDimension&idSite=1&idDimension=4\
             &name=Renamed&active=1&caseSensitive=0&extractions[0][dimension]=action_name\
             &extractions[0][pattern]=^(\\w%2B)%20page&format=json",
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let (_, body) = r
        .raw("method=CustomDimensions.configureExistingCustomDimension&idSite=1&idDimension=77&name=x&active=1&format=json")
        .await?;
    assert_eq!(error(&body), "Dimension 77 for website 1 does not exist.");
    let json = r
        .json("method=CustomDimensions.getConfiguredCustomDimensions&idSite=1")
        .await?;
    assert_eq!(json[3]["name"], "Renamed");
    assert_eq!(json[3]["active"], true);
    assert_eq!(json[3]["case_sensitive"], false);
    assert_eq!(json[3]["extractions"][0]["pattern"], "^(\\w+) page");
    Ok(())
}

/// The processed metrics Matomo's report objects always add (expected
/// `test_day_site_1_dimension_{1,3}` and `test_year_site_1_dimension_{2,3}`):
/// time on site, bounce rate and actions per visit for a visit dimension
/// (0s on a row of conversions only), time on dimension, bounce and exit
/// rate for an action dimension; then `API.getProcessedReport` and
/// `API.getReportMetadata` naming the site's dimensions.
#[tokio::test]
async fn processed_metrics_and_metadata_match_matomos() -> anyhow::Result<()> {
    let (db, r) = fixture().await?;
    let report = |id: u32, period: &str| {
        let date = if period == "year" {
            "2013-01-01"
        } else {
            "2013-01-23"
        };
        format!(
            "method=CustomDimensions.getCustomDimension&idSite=1&idDimension={id}\
             &period={period}&date={date}"
        )
    };
    let pick = |rows: &Value, names: &[&str]| -> Vec<Vec<String>> {
        rows.as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| names.iter().map(|n| row[*n].to_string()).collect())
                    .collect()
            })
            .unwrap_or_default()
    };
    let visit = [
        "label",
        "avg_time_on_site",
        "bounce_rate",
        "nb_actions_per_visit",
    ];
    assert_eq!(
        pick(&r.json(&report(1, "day")).await?, &visit),
        [
            ["\"value5 1\"", "722", "\"0%\"", "3"],
            ["\"Value not defined\"", "0", "\"100%\"", "1"],
        ]
    );
    assert_eq!(
        pick(&r.json(&report(2, "year")).await?, &visit)[2],
        ["\"dim 2\"", "0", "\"0%\"", "0"]
    );
    // RemoveUserIfNeeded: the fixture sends no user id, and Matomo's rows
    // have no `nb_users` (the unique visitors stay).
    let has = |rows: &Value, column: &str| -> Vec<bool> {
        rows.as_array()
            .map(|rows| rows.iter().map(|row| row.get(column).is_some()).collect())
            .unwrap_or_default()
    };
    let day = r.json(&report(1, "day")).await?;
    assert_eq!(has(&day, "nb_users"), [false, false]);
    assert_eq!(has(&day, "nb_uniq_visitors"), [true, true]);
    // A visit with a user id later in January brings the column back on
    // every day of the month, as Matomo checks the month's VisitsSummary.
    let router = tally_tracking::http::router(tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?);
    let later = START + Duration::days(5);
    let mut t = PhpTracker::new(1, &r.token, "4d5e6f7a8b9c0d1e", later);
    t.set_user_id(Some("alice"), "");
    t.set_custom_dimension(1, "signed in");
    t.at = At::Datetime(later);
    let q = t.page_view("Account");
    t.ok(&router, &q).await?;
    let day = r.json(&report(1, "day")).await?;
    assert_eq!(has(&day, "nb_users"), [true, true]);
    let rows = day.as_array().map_or(0, Vec::len);
    assert_eq!(rows, 2, "{day}");
    let action = ["label", "avg_time_on_dimension", "bounce_rate", "exit_rate"];
    assert_eq!(
        pick(&r.json(&report(3, "day")).await?, &action),
        [
            ["\"en\"", "360", "\"0%\"", "\"0%\""],
            ["\"value3\"", "360", "\"0%\"", "\"0%\""],
            ["\"value5 3\"", "0", "\"0%\"", "\"100%\""],
            ["\"Value not defined\"", "0", "\"100%\"", "\"100%\""],
        ]
    );
    assert_eq!(
        pick(&r.json(&report(3, "year")).await?, &action)[0],
        ["\"en\"", "90", "\"75%\"", "\"75%\""]
    );
    // test_year_site_1_dimension_3: the timing columns, 0 on every row.
    let names = timing_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let timings = pick(&r.json(&report(3, "year")).await?, &names);
    assert_eq!(timings.len(), 4);
    for row in timings {
        assert_eq!(row, vec!["0"; 24]);
    }

    let processed = r
        .json(
            "method=API.getProcessedReport&idSite=1&period=year&date=2013-01-23\
             &apiModule=CustomDimensions&apiAction=getCustomDimension&idDimension=3",
        )
        .await?;
    let meta = &processed["metadata"];
    assert_eq!(meta["category"], "Actions");
    assert_eq!(meta["subcategory"], "customdimension3");
    assert_eq!(meta["name"], "MyName3");
    assert_eq!(meta["dimension"], "MyName3");
    assert_eq!(meta["parameters"]["idDimension"], 3);
    assert_eq!(
        meta["uniqueId"],
        "CustomDimensions_getCustomDimension_idDimension--3"
    );
    assert_eq!(meta["metrics"]["nb_hits"], "Actions");
    assert_eq!(meta["metrics"]["nb_visits"], "Unique Actions");
    assert_eq!(processed["columns"]["label"], "MyName3");
    assert_eq!(
        pick(
            &processed["reportData"],
            &["label", "nb_visits", "nb_hits", "bounce_rate"]
        ),
        [
            ["\"en\"", "4", "4", "\"75%\""],
            ["\"value3\"", "1", "1", "\"0%\""],
            ["\"value5 3\"", "1", "1", "\"0%\""],
            ["\"Value not defined\"", "1", "1", "\"100%\""],
        ]
    );
    assert_eq!(processed["reportTotal"]["nb_hits"], 7);
    let visits = r
        .json(
            "method=API.getProcessedReport&idSite=1&period=year&date=2013-01-23\
             &apiModule=CustomDimensions&apiAction=getCustomDimension&idDimension=1",
        )
        .await?;
    assert_eq!(visits["metadata"]["category"], "Visitors");
    assert_eq!(visits["metadata"]["name"], "MyName1");
    assert_eq!(visits["columns"]["label"], "MyName1");
    assert_eq!(visits["columns"]["nb_actions"], "Actions");

    let all = r
        .json("method=API.getReportMetadata&idSite=1&period=day&date=2013-01-23")
        .await?;
    let custom: Vec<(String, String, String)> = all
        .as_array()
        .map(|reports| {
            reports
                .iter()
                .filter(|report| report["module"] == "CustomDimensions")
                .map(|report| {
                    (
                        report["uniqueId"].as_str().unwrap_or("").to_owned(),
                        report["name"].as_str().unwrap_or("").to_owned(),
                        report["category"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let expected = [
        (1, "MyName1", "Visitors"),
        (2, "MyName2", "Visitors"),
        (6, "MyName6", "Visitors"),
        (3, "MyName3", "Actions"),
        (5, "MyName5", "Actions"),
    ]
    .map(|(id, name, category)| {
        (
            format!("CustomDimensions_getCustomDimension_idDimension--{id}"),
            name.to_owned(),
            category.to_owned(),
        )
    });
    assert_eq!(custom, expected);
    Ok(())
}

/// Page timings on action dimension rows, figures worked out by hand from
/// Matomo's query (`sum(ifnull(t, 0)) / 1000`, the hits with a timing,
/// `min(t) / 1000`, `max(t) / 1000` per value and URL, NULL read as 0) and
/// its `sumRowWithLabel` without aggregation operations, which sums every
/// column of a value's URLs, min and max included. Multiples of 125 ms
/// keep the seconds exact.
#[tokio::test]
async fn action_dimension_rows_carry_page_timings() -> anyhow::Result<()> {
    let (db, r) = fixture().await?;
    let router = tally_tracking::http::router(tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?);
    let day = START + Duration::days(7);
    let mut t = PhpTracker::new(1, &r.token, "5e6f7a8b9c0d1e2f", day);
    for (minutes, query, timings) in [
        (1, "x=1", Some([125, 250, 375, 500, 625, 750])),
        (2, "x=1", Some([375, 125, 125, 250, 125, 125])),
        (3, "x=1", None),
        (4, "x=2", Some([250, 500, 750, 1000, 125, 250])),
    ] {
        t.at = At::Datetime(day + Duration::minutes(minutes));
        t.url = format!("http://example.com/sub_fr/page?{query}");
        if let Some(timings) = timings {
            t.set_timings(timings);
        }
        let q = t.page_view("French page");
        t.ok(&router, &q).await?;
    }
    let names = timing_names();
    let columns = |row: &Value| -> Vec<String> {
        std::iter::once("nb_hits")
            .chain(names.iter().map(String::as_str))
            .map(|name| row[name].to_string())
            .collect()
    };
    let expected = |figures: &[&str]| figures.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>();
    let base = "method=CustomDimensions.getCustomDimension&idSite=1&idDimension=3";
    let rows = r
        .json(&format!("{base}&period=day&date=2013-01-30&expanded=1"))
        .await?;
    assert_eq!(rows[0]["label"], "fr", "{rows}");
    #[rustfmt::skip]
    let value = expected(&[
        "4",
        "0.75", "3", "0.375", "0.625",
        "0.875", "3", "0.625", "0.75",
        "1.25", "3", "0.875", "1.125",
        "1.75", "3", "1.25", "1.5",
        "0.875", "3", "0.25", "0.75",
        "1.125", "3", "0.375", "1",
    ]);
    assert_eq!(columns(&rows[0]), value, "{rows}");
    let urls = &rows[0]["subtable"];
    assert_eq!(urls[0]["label"], "example.com/sub_fr/page?x=1", "{urls}");
    #[rustfmt::skip]
    let first = expected(&[
        "3",
        "0.5", "2", "0.125", "0.375",
        "0.375", "2", "0.125", "0.25",
        "0.5", "2", "0.125", "0.375",
        "0.75", "2", "0.25", "0.5",
        "0.75", "2", "0.125", "0.625",
        "0.875", "2", "0.125", "0.75",
    ]);
    assert_eq!(columns(&urls[0]), first, "{urls}");
    #[rustfmt::skip]
    let second = expected(&[
        "1",
        "0.25", "1", "0.25", "0.25",
        "0.5", "1", "0.5", "0.5",
        "0.75", "1", "0.75", "0.75",
        "1", "1", "1", "1",
        "0.125", "1", "0.125", "0.125",
        "0.25", "1", "0.25", "0.25",
    ]);
    assert_eq!(columns(&urls[1]), second, "{urls}");
    // The month sums the one day's row as it is.
    let month = r
        .json(&format!("{base}&period=month&date=2013-01-30"))
        .await?;
    let fr = month
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["label"] == "fr"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(columns(&fr), value, "{month}");
    Ok(())
}
