//! Matomo's system test traffic "visits in different time zones"
//! (`tests/PHPUnit/Fixtures/VisitsInDifferentTimezones.php` in
//! matomo-org/matomo), sent as the PHP tracker sends it, and the answers
//! checked against the numbers of Matomo's expected outputs for
//! `TimezonesTest`.
//!
//! Two sites, "site in AST" (`America/Barbados`, UTC-4 all year) and
//! "site in UTC"; every hour from yesterday 03:00 to today 12:00 UTC
//! (yesterday and today of the mocked clock, today 12:00 UTC) a new
//! visitor views `http://example.org/index.htm` on each site. In UTC that
//! is 21 visits yesterday and 13 today; in the AST site's own days 24 and
//! 9 (its first visit falls on the day before yesterday).
//!
//! The same file checks `format=rss` against Matomo's `RssExportTest`
//! (the "visits over several days" traffic of `matomo_periods_fixture.rs`,
//! the clock at 2020-10-20 20:10:20 UTC): the feed's frame, one item per
//! period newest first, and each period's table as escaped HTML.
//!
//! And `AllWebsitesTest` over "three sites with shared visitors": the
//! all-sites CSV for a super user and for a user who views two sites.

use tally_db::test_support::TestDb;
use tally_management::{self as management, NewSiteParams, Principal};
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::common::user_with_token;
use crate::matomo_periods_fixture;
use crate::php_tracker::{At, PhpTracker};

/// The mocked clock of the test: noon UTC "today".
const NOW: OffsetDateTime = datetime!(2026-11-16 12:00 UTC);

/// "yesterday" of the mocked clock, midnight UTC.
const YESTERDAY: PrimitiveDateTime = datetime!(2026-11-15 00:00);

type Reports = crate::common::FixtureApi;

/// The two sites (created on the fixture's `$dateTime`, 2010-03-06) and
/// the hourly visits.
async fn timezones_fixture() -> anyhow::Result<(TestDb, Reports)> {
    let db = TestDb::new()?;
    let created = datetime!(2010-03-06 00:00);
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for (name, zone) in [("site in AST", "America/Barbados"), ("site in UTC", "UTC")] {
            let site = NewSiteParams {
                timezone: Some(zone.to_owned()),
                start_date: Some(created),
                sitesearch: Some(true),
                ..NewSiteParams::new(name, ["http://piwik.net/"])
            };
            management::add_site(&mut conn, &root, &site)?;
        }
        // Matomo's system tests keep full IPs; our tracker anonymizes by
        // default.
        diesel::RunQueryDsl::execute(
            diesel::sql_query(
                "INSERT INTO `option` (option_name, option_value, autoload) \
                 VALUES ('PrivacyManager.ipAnonymizerEnabled', '0', 1)",
            ),
            &mut conn,
        )?;
        user_with_token(&mut conn, "root", None)?
    };
    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);
    // A new tracker object (a new random visitor id) per site and hour.
    for hour in 3..=36_i64 {
        let at = YESTERDAY + Duration::hours(hour);
        for idsite in [1_u32, 2] {
            let visitor = format!("{idsite:02x}{hour:014x}");
            let mut t = PhpTracker::new(idsite, &token, &visitor, at);
            t.at = At::Datetime(at);
            t.url = "http://example.org/index.htm".to_owned();
            let query = t.page_view("incredible title!");
            t.ok(&router, &query).await?;
        }
    }
    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    Ok((
        db,
        Reports {
            api,
            token,
            now: NOW,
        },
    ))
}

/// The test's two segments: `pageUrl=@example.org;pageUrl=@index` matches
/// every visit, `pageUrl=@example.org;pageUrl!@index` none.
const MATCH_ALL: &str = "pageUrl%3D%40example.org%3BpageUrl%3D%40index";
const MATCH_NONE: &str = "pageUrl%3D%40example.org%3BpageUrl!%40index";

/// `VisitsSummary.get`'s figures of `visits` one-action visits (every
/// visit of the fixture bounces).
fn bounced_visits(visits: u32) -> String {
    format!(
        "<nb_uniq_visitors>{visits}</nb_uniq_visitors>\n\t<nb_users>0</nb_users>\n\t\
         <nb_visits>{visits}</nb_visits>\n\t<nb_actions>{visits}</nb_actions>\n\t\
         <nb_visits_converted>0</nb_visits_converted>\n\t<bounce_count>{visits}</bounce_count>\n\t\
         <sum_visit_length>0</sum_visit_length>\n\t<max_actions>1</max_actions>\n\t\
         <bounce_rate>100%</bounce_rate>\n\t<nb_actions_per_visit>1</nb_actions_per_visit>\n\t\
         <avg_time_on_site>0</avg_time_on_site>"
    )
}

/// `VisitsSummary.get` for `date=yesterday` and `today`, as in
/// `test_TimezonesTest_{yesterday,today}{,_ast,_utc}__VisitsSummary.get_day.xml`:
/// each site's days are its own (the AST site's yesterday holds the UTC
/// evening's visits), with the matching segment the same figures, with
/// the matching-nothing one a day of zeros (`_nomatch`).
#[tokio::test]
async fn visits_summary_counts_days_in_each_sites_time_zone() -> anyhow::Result<()> {
    let (_db, r) = timezones_fixture().await?;
    for (idsite, yesterday, today) in [(1, 24, 9), (2, 21, 13)] {
        for (date, visits) in [("yesterday", yesterday), ("today", today)] {
            let query = format!("method=VisitsSummary.get&idSite={idsite}&period=day&date={date}");
            let expected = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t{}\n</result>",
                bounced_visits(visits)
            );
            assert_eq!(r.xml(&query).await?, expected, "{query}");
            let segmented = r.xml(&format!("{query}&segment={MATCH_ALL}")).await?;
            assert_eq!(segmented, expected, "{query} segmented");
            let none = r.xml(&format!("{query}&segment={MATCH_NONE}")).await?;
            assert!(none.contains("<nb_visits>0</nb_visits>"), "{none}");
            assert!(none.contains("<bounce_rate>0%</bounce_rate>"), "{none}");
        }
    }
    // Both sites at once: each in its own time zone.
    let all = r
        .xml("method=VisitsSummary.get&idSite=all&period=day&date=yesterday")
        .await?;
    assert!(
        all.contains(&format!(
            "<result idSite=\"1\">\n\t\t{}",
            bounced_visits(24).replace("\n\t", "\n\t\t")
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "<result idSite=\"2\">\n\t\t{}",
            bounced_visits(21).replace("\n\t", "\n\t\t")
        )),
        "{all}"
    );
    let none = r
        .xml(&format!(
            "method=VisitsSummary.get&idSite=all&period=day&date=today&segment={MATCH_NONE}"
        ))
        .await?;
    assert_eq!(
        none,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<results>\n\t<result idSite=\"1\" />\n\t\
         <result idSite=\"2\" />\n</results>"
    );
    Ok(())
}

/// `Live.getLastVisitsDetails` (`filter_limit=100&doNotFetchActions=1`) and
/// `Transitions.getTransitionsForAction` of the index page, as in the
/// `TimezonesTest` outputs: Matomo's visitor log for `date=yesterday` in
/// the AST site lists 25 visits and for `today` 33 (UTC: 22 and 34); the
/// range of both days lists every visit of the two days (33 and 34), the
/// matching-nothing segment none; Transitions counts today's 9 (13) page
/// views, entries, exits and direct entries, and with that segment
/// answers `NoDataForAction`.
#[tokio::test]
async fn visitor_log_and_transitions_use_each_sites_days() -> anyhow::Result<()> {
    let (_db, r) = timezones_fixture().await?;
    let live = "method=Live.getLastVisitsDetails&filter_limit=100&doNotFetchActions=1";
    let range = "2026-11-15,2026-11-16";
    for (idsite, name, yesterday, today, both) in [
        (1, "site in AST", 25, 33, 33),
        (2, "site in UTC", 22, 34, 34),
    ] {
        for (date, period, count, segment) in [
            ("yesterday", "day", yesterday, ""),
            ("today", "day", today, ""),
            (range, "range", both, ""),
            (range, "range", both, MATCH_ALL),
            (range, "range", 0, MATCH_NONE),
        ] {
            let query =
                format!("{live}&idSite={idsite}&period={period}&date={date}&segment={segment}");
            let visits = r.json(&query).await?;
            let visits = visits.as_array().cloned().unwrap_or_default();
            assert_eq!(visits.len(), count, "{query}");
            for visit in &visits {
                assert_eq!(visit["siteName"], name, "{query}");
                assert_eq!(visit["visitLocalTime"], "12:34:06", "{query}");
                assert_eq!(visit["visitorType"], "new", "{query}");
                assert_eq!(visit["actions"], 1, "{query}");
                assert_eq!(visit["referrerType"], "direct", "{query}");
            }
        }
        let transitions = format!(
            "method=Transitions.getTransitionsForAction&idSite={idsite}&period=day&date=today\
             &actionName=http%3A%2F%2Fexample.org%2Findex.htm&actionType=url"
        );
        let xml = r.xml(&transitions).await?;
        let views = if idsite == 1 { 9 } else { 13 };
        assert!(
            xml.contains(&format!(
                "<pageMetrics>\n\t\t<loops>0</loops>\n\t\t<pageviews>{views}</pageviews>\n\t\t\
                 <entries>{views}</entries>\n\t\t<exits>{views}</exits>\n\t</pageMetrics>"
            )),
            "{xml}"
        );
        assert!(
            xml.contains(&format!(
                "<label>Direct entries</label>\n\t\t\t<shortName>direct</shortName>\n\t\t\t\
                 <visits>{views}</visits>"
            )),
            "{xml}"
        );
        let (status, none) = r
            .raw(&format!("{transitions}&segment={MATCH_NONE}&format=xml"))
            .await?;
        assert_eq!(status, 200);
        assert!(
            none.contains("<error message=\"NoDataForAction\" />"),
            "{none}"
        );
    }
    Ok(())
}

/// The feed's clock in `RssExportTest`.
const RSS_NOW: OffsetDateTime = datetime!(2020-10-20 20:10:20 UTC);

/// The Matomo URL of Matomo's test runs, as its `piwikUrl` option.
const MATOMO_URL: &str = "http://example.com/piwik/tests/PHPUnit/proxy/";

/// A `format=rss` answer: status, content type and body.
async fn rss(
    r: &matomo_periods_fixture::Reports,
    query: &str,
) -> anyhow::Result<(u16, &'static str, String)> {
    let request = tally_reporting::ApiRequest::from_parts(
        &format!("module=API&{query}&format=rss&token_auth={}", r.token),
        None,
    );
    let api = r.api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, RSS_NOW)).await?;
    Ok((
        answer.status,
        answer.content_type,
        String::from_utf8(answer.body)?,
    ))
}

/// One `<item>` of a feed: its period and what it says.
fn rss_item(period: &str, day: &str, start: &str, title: &str, description: &str) -> String {
    let link = format!(
        "{MATOMO_URL}?module=CoreHome&amp;action=index&amp;idSite=1&amp;period={period}&amp;date={day}"
    );
    format!(
        "\t<item>\n\t\t<pubDate>{start}</pubDate>\n\t\t<guid>{link}</guid>\n\t\t<link>{link}</link>\n\t\t\
         <title>Site AAAAAA on {title}</title>\n\t\t<author>https://matomo.org</author>\n\t\t\
         <description>{description}</description>\n\t</item>\n"
    )
}

/// "Empty table", escaped.
const EMPTY: &str = "&lt;strong&gt;&lt;em&gt;Empty table&lt;/em&gt;&lt;/strong&gt;&lt;br /&gt;";

/// A one-row table of the feed: headers and cells, escaped as Matomo
/// escapes them (line breaks removed).
fn rss_table(columns: &[&str], cells: &[&str]) -> String {
    let mut html = String::from("&lt;table border=1 width=70%&gt;&lt;tr&gt;");
    for column in columns {
        html.push_str(&format!(
            "\t&lt;td&gt;&lt;strong&gt;{column}&lt;/strong&gt;&lt;/td&gt;"
        ));
    }
    html.push_str("&lt;/tr&gt;&lt;tr&gt;");
    for cell in cells {
        html.push_str(&format!("\t&lt;td&gt;{cell}&lt;/td&gt;"));
    }
    html.push_str("&lt;/tr&gt;&lt;/table&gt;");
    html
}

/// `RssExportTest`: `VisitsSummary.get` and `Actions.getPageUrl(s)` over
/// days and weeks as RSS (`test_rssExport*.rss`): the frame dated by the
/// clock, the periods newest first, each dated at its first midnight
/// (UTC), linked to Matomo's dashboard for that day, and described by its
/// table (Matomo's `Empty table` for a period without data), with the
/// values of Matomo's (the Bandwidth plugin's included: `-` for an empty
/// bound).
#[tokio::test]
async fn rss_feeds_give_matomos_items() -> anyhow::Result<()> {
    let (db, r) = matomo_periods_fixture::fixture().await?;
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO `option` (option_name, option_value, autoload) \
             VALUES ('piwikUrl', '{MATOMO_URL}', 1)"
        )),
        &mut db.conn()?,
    )?;
    let header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n  <channel>\n    \
         <title>matomo statistics - RSS</title>\n    <link>https://matomo.org</link>\n    \
         <description>Matomo RSS feed</description>\n    \
         <pubDate>Tue, 20 Oct 2020 20:10:20 +0000</pubDate>\n    <generator>matomo</generator>\n    \
         <language>en</language>\n    <lastBuildDate>Tue, 20 Oct 2020 20:10:20 +0000</lastBuildDate>\n";
    let footer = "\t</channel>\n</rss>";

    let (status, content_type, feed) = rss(
        &r,
        "method=VisitsSummary.get&idSite=1&period=day&date=2010-12-14,2010-12-16",
    )
    .await?;
    assert_eq!((status, content_type), (200, "text/xml; charset=utf-8"));
    let visits = rss_table(
        &[
            "nb_uniq_visitors",
            "nb_users",
            "nb_visits",
            "nb_actions",
            "nb_visits_converted",
            "bounce_count",
            "sum_visit_length",
            "max_actions",
            "bounce_rate",
            "nb_actions_per_visit",
            "avg_time_on_site",
        ],
        &[
            "1", "0", "2", "3", "0", "1", "361", "2", "50%", "1.5", "181",
        ],
    );
    let day = |date: &str, weekday: &str, description: &str| {
        let start = format!("{weekday}, {} Dec 2010 00:00:00 +0000", &date[8..]);
        rss_item("day", date, &start, date, description)
    };
    let expected = [
        header.to_owned(),
        day("2010-12-16", "Thu", EMPTY),
        day("2010-12-15", "Wed", &visits),
        day("2010-12-14", "Tue", &visits),
        footer.to_owned(),
    ]
    .concat();
    assert_eq!(feed, expected);

    // A page over eight days: one view of /homepage on the 14th and 15th.
    let page_columns = [
        "label",
        "nb_visits",
        "nb_uniq_visitors",
        "nb_hits",
        "sum_time_spent",
        "sum_bandwidth",
        "nb_hits_with_bandwidth",
        "min_bandwidth",
        "max_bandwidth",
        "entry_nb_uniq_visitors",
        "entry_nb_visits",
        "entry_nb_actions",
        "entry_sum_visit_length",
        "entry_bounce_count",
        "avg_time_on_page",
        "bounce_rate",
        "exit_rate",
        "avg_bandwidth",
    ];
    let homepage = rss_table(
        &page_columns,
        &[
            "/homepage",
            "1",
            "1",
            "1",
            "360",
            "0",
            "0",
            "-",
            "-",
            "1",
            "1",
            "2",
            "361",
            "0",
            "360",
            "0%",
            "0%",
            "0",
        ],
    );
    let (_, _, feed) = rss(
        &r,
        "method=Actions.getPageUrl&idSite=1&period=day&date=2010-12-14,2010-12-21&pageUrl=%2Fhomepage",
    )
    .await?;
    let days = [
        ("2010-12-21", "Tue"),
        ("2010-12-20", "Mon"),
        ("2010-12-19", "Sun"),
        ("2010-12-18", "Sat"),
        ("2010-12-17", "Fri"),
        ("2010-12-16", "Thu"),
    ];
    let mut expected = header.to_owned();
    for (date, weekday) in days {
        expected.push_str(&day(date, weekday, EMPTY));
    }
    expected.push_str(&day("2010-12-15", "Wed", &homepage));
    expected.push_str(&day("2010-12-14", "Tue", &homepage));
    expected.push_str(footer);
    assert_eq!(feed, expected);

    // Weeks: a week's rows sum the days' unique visitors.
    let (_, _, feed) = rss(
        &r,
        "method=Actions.getPageUrl&idSite=1&period=week&date=2010-12-14,2010-12-21&pageUrl=%2Fhomepage",
    )
    .await?;
    let week_columns = [
        "label",
        "nb_visits",
        "nb_hits",
        "sum_time_spent",
        "sum_bandwidth",
        "nb_hits_with_bandwidth",
        "min_bandwidth",
        "max_bandwidth",
        "entry_nb_visits",
        "entry_nb_actions",
        "entry_sum_visit_length",
        "entry_bounce_count",
        "sum_daily_nb_uniq_visitors",
        "sum_daily_entry_nb_uniq_visitors",
        "avg_time_on_page",
        "bounce_rate",
        "exit_rate",
        "avg_bandwidth",
    ];
    let week = |cells: &[&str]| rss_table(&week_columns, cells);
    let expected = [
        header.to_owned(),
        rss_item(
            "week",
            "2010-12-20",
            "Mon, 20 Dec 2010 00:00:00 +0000",
            "2010-12-20,2010-12-26",
            &week(&[
                "/homepage",
                "1",
                "1",
                "360",
                "0",
                "0",
                "-",
                "-",
                "1",
                "2",
                "361",
                "0",
                "1",
                "1",
                "360",
                "0%",
                "0%",
                "0",
            ]),
        ),
        rss_item(
            "week",
            "2010-12-13",
            "Mon, 13 Dec 2010 00:00:00 +0000",
            "2010-12-13,2010-12-19",
            &week(&[
                "/homepage",
                "2",
                "2",
                "720",
                "0",
                "0",
                "-",
                "-",
                "2",
                "4",
                "722",
                "0",
                "2",
                "2",
                "360",
                "0%",
                "0%",
                "0",
            ]),
        ),
        footer.to_owned(),
    ]
    .concat();
    assert_eq!(feed, expected);

    // A page nobody viewed: every day empty (`_subdir`).
    let (_, _, feed) = rss(
        &r,
        "method=Actions.getPageUrl&idSite=1&period=day&date=2010-12-14,2010-12-21\
         &pageUrl=%2Fsub1%2Fsub2%2Fsub3%2Findex",
    )
    .await?;
    assert_eq!(feed.matches(EMPTY).count(), 8, "{feed}");
    assert!(
        feed.contains("<title>Site AAAAAA on 2010-12-21</title>"),
        "{feed}"
    );

    // `last3` weeks up to the clock's (`_empty`): periods counted back
    // from "now" keep its time of day. (Matomo's test framework empties
    // `date=` in the links of relative dates.)
    let (_, _, feed) = rss(
        &r,
        "method=Actions.getPageUrl&idSite=1&period=week&date=last3&pageUrl=%2Fpage",
    )
    .await?;
    let titles: Vec<&str> = feed
        .split("<title>Site AAAAAA on ")
        .skip(1)
        .filter_map(|item| item.split('<').next())
        .collect();
    assert_eq!(
        titles,
        [
            "2020-10-19,2020-10-25",
            "2020-10-12,2020-10-18",
            "2020-10-05,2020-10-11"
        ]
    );
    assert_eq!(feed.matches(EMPTY).count(), 3, "{feed}");
    let dates: Vec<&str> = feed
        .split("<pubDate>")
        .skip(2)
        .filter_map(|item| item.split('<').next())
        .collect();
    assert_eq!(
        dates,
        [
            "Mon, 19 Oct 2020 20:10:20 +0000",
            "Mon, 12 Oct 2020 20:10:20 +0000",
            "Mon, 05 Oct 2020 20:10:20 +0000"
        ]
    );
    assert!(
        feed.contains(&format!(
            "<link>{MATOMO_URL}?module=CoreHome&amp;action=index&amp;idSite=1&amp;period=week&amp;date=2020-10-19</link>"
        )),
        "{feed}"
    );
    Ok(())
}

/// What a feed cannot show is refused as Matomo's RSS renderer refuses it
/// (`Error: ` and the message, as plain text); a site east of UTC links
/// each period to the day before, as Matomo's `Date::setTimezone()`
/// computes "the date in the site's time zone" of a UTC midnight.
#[tokio::test]
async fn rss_refuses_single_periods_and_links_by_site_zone() -> anyhow::Result<()> {
    let (db, r) = matomo_periods_fixture::fixture().await?;
    // The message as `formatValueXml` leaves it (`&` escaped), its line
    // break kept (only JSON folds it).
    let refusal = "Error: RSS feeds can be generated for one specific website &amp;idSite=X.\n\
                   Please specify only one idSite or consider using &amp;format=XML instead.";
    for query in [
        "method=VisitsSummary.get&idSite=1&period=day&date=2010-12-14",
        "method=VisitsSummary.get&idSite=all&period=day&date=2010-12-14,2010-12-15",
        "method=API.getMatomoVersion",
    ] {
        let (status, content_type, body) = rss(&r, query).await?;
        assert_eq!(
            (status, content_type, body.as_str()),
            (200, "text/plain; charset=utf-8", refusal),
            "{query}"
        );
    }
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE site SET timezone = 'Asia/Tokyo' WHERE idsite = 1"),
        &mut db.conn()?,
    )?;
    let (_, _, feed) = rss(
        &r,
        "method=VisitsSummary.get&idSite=1&period=day&date=2010-12-14,2010-12-15",
    )
    .await?;
    // No piwikUrl option: links start at the query string.
    assert!(
        feed.contains(
            "<guid>?module=CoreHome&amp;action=index&amp;idSite=1&amp;period=day&amp;date=2010-12-14</guid>"
        ),
        "{feed}"
    );
    assert!(
        feed.contains("<pubDate>Wed, 15 Dec 2010 00:00:00 +0000</pubDate>"),
        "{feed}"
    );
    assert!(
        feed.contains("<title>Site AAAAAA on 2010-12-15</title>"),
        "{feed}"
    );
    Ok(())
}

/// Matomo's "three sites with shared visitors"
/// (`tests/PHPUnit/Fixtures/ThreeSitesWithSharedVisitors.php`): on
/// 2010-03-06 from 11:22:33, hourly, visitor 1 views site 1 then site 3,
/// visitor 2 site 1, visitor 3 site 2 then site 3. A super user and
/// `limitedUser` (view access to sites 2 and 3), with their tokens.
async fn shared_visitors_fixture() -> anyhow::Result<(TestDb, Api, String, String)> {
    let db = TestDb::new()?;
    let start = datetime!(2010-03-06 11:22:33);
    let (root_token, limited_token) = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for _ in 0..3 {
            let site = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                start_date: Some(start),
                ..NewSiteParams::new("Piwik test", ["http://piwik.net/"])
            };
            management::add_site(&mut conn, &root, &site)?;
        }
        let root_token = user_with_token(&mut conn, "root", None)?;
        let limited = user_with_token(&mut conn, "limitedUser", Some(("view", 2)))?;
        management::set_user_access(&mut conn, &root, "limitedUser", "view", &[3])?;
        (root_token, limited)
    };
    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);
    // (site, visitor, hours after the start, URL, title); the PHP tracker
    // object keeps its visitor id when `setIdSite` moves it to another site.
    let views = [
        (
            1,
            "1000000000000001",
            0,
            "http://helios.org/alpha",
            "page title",
        ),
        (3, "1000000000000001", 1, "http://taura.org/", "page title"),
        (
            1,
            "2000000000000002",
            2,
            "http://helios.org/beta",
            "page title 2",
        ),
        (
            2,
            "3000000000000003",
            3,
            "http://virgon.org/",
            "page title 2",
        ),
        (3, "3000000000000003", 4, "http://taura.org/", "page title"),
    ];
    for (idsite, visitor, hours, url, title) in views {
        let at = start + Duration::hours(hours);
        let mut t = PhpTracker::new(idsite, &root_token, visitor, at);
        t.url = url.to_owned();
        let query = t.page_view(title);
        t.ok(&router, &query).await?;
    }
    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    Ok((db, api, root_token, limited_token))
}

/// `AllWebsitesTest`: `VisitsSummary.get` of `idSite=all` as CSV
/// (UTF-16LE with a BOM) lists every site for the super user and only
/// sites 2 and 3 for `limitedUser`, with Matomo's figures.
#[tokio::test]
async fn all_websites_csv_lists_the_sites_a_user_views() -> anyhow::Result<()> {
    let (_db, api, root, limited) = shared_visitors_fixture().await?;
    let header = "idSite,nb_uniq_visitors,nb_users,nb_visits,nb_actions,nb_visits_converted,\
                  bounce_count,sum_visit_length,max_actions,bounce_rate,nb_actions_per_visit,\
                  avg_time_on_site";
    let site = |idsite: u32, visits: u32| {
        format!("{idsite},{visits},0,{visits},{visits},0,{visits},0,1,100%,1,0")
    };
    for (token, expected) in [
        (
            &root,
            [header.to_owned(), site(1, 2), site(2, 1), site(3, 2)].join("\n"),
        ),
        (
            &limited,
            [header.to_owned(), site(2, 1), site(3, 2)].join("\n"),
        ),
    ] {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&method=VisitsSummary.get&idSite=all&period=day&date=2010-03-06\
                 &format=csv&token_auth={token}"
            ),
            None,
        );
        let api = api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        assert_eq!(answer.status, 200);
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(expected.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(
            answer.body,
            bytes,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok(())
}
