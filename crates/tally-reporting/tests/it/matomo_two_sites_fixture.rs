//! Matomo's system test traffic "two sites, two visitors, different days"
//! (`tests/PHPUnit/Fixtures/TwoSitesTwoVisitorsDifferentDays.php` in
//! matomo-org/matomo), sent as the PHP tracker sends it, and the reports
//! checked against the numbers of Matomo's expected outputs for
//! `TwoVisitorsTwoWebsitesDifferentDaysTest` and its `Conversions` variant.
//!
//! Site 1 ("Site 1", `http://piwik.net/`, URL fragments dropped): visitor A
//! views `index.htm` at 2010-01-03 23:55 and an empty URL six minutes
//! later, after midnight; visitor B views `/products` at 01-03 12:22:33,
//! then on each of 01-05 to 01-12 at 11:22:33 views `index.htm` (the goal
//! URL with campaign parameters on 01-05, 06, 07 and 12), `/thankyou`
//! (+6 min), clicks two `mailto:` links (+12 and +15 min) and views
//! "Checkout / Purchasing..." (+15 min), in one bulk request a day. Site 2
//! ("Site 2", `http://piwik.net`, `http://example2.com`,
//! `https://example2.com`, fragments kept): one visitor on 01-04 at
//! 11:22:33 views `http://example2.com/home#notIgnoredFragment#`, an
//! invalid URL and `http://example2alias.org/home#notIgnoredFragment#`.

use tally_db::test_support::TestDb;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{NOW, user_with_token};
use crate::php_tracker::{At, PhpTracker};

/// The fixture's `$dateTime`.
const DATE_TIME: PrimitiveDateTime = datetime!(2010-01-03 11:22:33);

/// The goal URL of the conversions variant, tracked on four of the days.
const GOAL_URL: &str = "http://example.org/index.htm?pk_campaign=goal-matching-url-parameter";

/// `Date::addHour($hours)`: whole seconds.
fn plus_hours(at: PrimitiveDateTime, hours: f64) -> PrimitiveDateTime {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    at + Duration::seconds(seconds)
}

type Reports = crate::common::FixtureApi;

/// The sites (created a day before `$dateTime`, as `Fixture::createWebsite`
/// backdates them), the goals of the conversions variant when
/// `conversions`, and the traffic.
async fn fixture(conversions: bool) -> anyhow::Result<(TestDb, Reports)> {
    let db = TestDb::new()?;
    let created = DATE_TIME - Duration::days(1);
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let site1 = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            start_date: Some(created),
            ecommerce: Some(conversions),
            keep_url_fragment: Some(2),
            ..NewSiteParams::new("Site 1", ["http://piwik.net/"])
        };
        management::add_site(&mut conn, &root, &site1)?;
        let site2 = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            start_date: Some(created),
            keep_url_fragment: Some(1),
            ..NewSiteParams::new(
                "Site 2",
                [
                    "http://piwik.net",
                    "http://example2.com",
                    "https://example2.com",
                ],
            )
        };
        management::add_site(&mut conn, &root, &site2)?;
        if conversions {
            let all = GoalParams {
                revenue: 5.0,
                ..GoalParams::new("all", "url", "http", "contains")
            };
            management::add_goal(&mut conn, &root, 1, &all)?;
            management::add_goal(
                &mut conn,
                &root,
                2,
                &GoalParams::new("all", "url", "http", "contains"),
            )?;
            management::add_goal(
                &mut conn,
                &root,
                1,
                &GoalParams::new(
                    "matching URL with campaign parameter",
                    "url",
                    GOAL_URL,
                    "contains",
                ),
            )?;
        }
        user_with_token(&mut conn, "root", None)?
    };
    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);

    // Site 1, visitor A: a visit over midnight.
    let span = datetime!(2010-01-03 23:55:00);
    let mut a = PhpTracker::new(1, &token, "a000000000000001", span);
    a.referrer = "http://referrer.com/page.htm?param=valuewith some spaces".to_owned();
    a.url = "http://example.org/index.htm#ignoredFragment".to_owned();
    a.set_first_visit(span);
    a.set_timings([36, 228, 335, 1015, 209, 301]);
    let query = a.page_view("first page view");
    a.ok(&router, &query).await?;
    a.at = At::Datetime(plus_hours(span, 0.1));
    a.url = "  ".to_owned();
    let query = a.page_view("  ");
    a.ok(&router, &query).await?;

    // Site 1, visitor B: one page view, then a visit a day for eight days
    // (each day's requests sent together, as bulk tracking does).
    let mut b = PhpTracker::new(1, &token, "b000000000000002", DATE_TIME);
    b.ip = "100.52.156.83".to_owned();
    b.resolution = Some("800x300".to_owned());
    b.at = At::Datetime(plus_hours(DATE_TIME, 1.0));
    b.user_agent = Some("Opera/9.63 (Windows NT 5.1; U; en) Presto/2.1.1".to_owned());
    b.url = "http://example.org/products".to_owned();
    b.set_first_visit(plus_hours(DATE_TIME, 1.0));
    b.set_timings([62, 305, 440, 1159, 356, 440]);
    let query = b.page_view("first page view");
    b.ok(&router, &query).await?;
    for days in 2..10_u32 {
        let day = plus_hours(DATE_TIME, f64::from(days * 24));
        b.at = At::Datetime(day);
        let protocol = if days % 2 == 0 { "http" } else { "https" };
        b.referrer = format!("{protocol}://referrer.com/Other_Page.htm");
        b.url = if [2, 3, 4, 9].contains(&days) {
            GOAL_URL.to_owned()
        } else {
            "http://example.org/index.htm".to_owned()
        };
        b.set_timings([27, 268, 356, 1025, 296, 335]);
        let query = b.page_view("second visitor/two days later/a new visit");
        b.ok(&router, &query).await?;
        b.at = At::Datetime(plus_hours(day, 0.1));
        b.url = "http://example.org/thankyou".to_owned();
        b.set_timings([0, 199, 289, 998, 198, 299]);
        let query = b.page_view("second visitor/two days later/second page view😀💩😀💩");
        b.ok(&router, &query).await?;
        b.at = At::Datetime(plus_hours(day, 0.2));
        let query = b.action("mailto:test@example.org", "link");
        b.ok(&router, &query).await?;
        b.at = At::Datetime(plus_hours(day, 0.25));
        let query = b.action("mailto:test@example.org/strangelink", "link");
        b.ok(&router, &query).await?;
        b.set_timings([33, 356, 452, 1499, 356, 269]);
        let query = b.page_view("Checkout / Purchasing...");
        b.ok(&router, &query).await?;
    }

    // Site 2: three page views at the same second.
    let start = plus_hours(DATE_TIME, 24.0);
    let mut c = PhpTracker::new(2, &token, "c000000000000003", start);
    c.user_agent =
        Some("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0;)".to_owned());
    c.referrer = "http://only-homepage-referrer.com/".to_owned();
    c.url = "http://example2.com/home#notIgnoredFragment#".to_owned();
    c.set_first_visit(start);
    c.set_timings([33, 144, 318, 289, 35, 50]);
    let query = c.page_view("Website 2 page view");
    c.ok(&router, &query).await?;
    c.url = "this is invalid url".to_owned();
    c.set_timings([0, 258, 444, 325, 999, 120]);
    let query = c.page_view("");
    c.ok(&router, &query).await?;
    c.url = "http://example2alias.org/home#notIgnoredFragment#".to_owned();
    c.set_timings([21, 344, 299, 245, 189, 350]);
    let query = c.page_view("");
    c.ok(&router, &query).await?;

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

/// The `date` of Matomo's `setDateLastN` requests: `$dateTime` and the
/// day six periods later.
fn last_n(period: &str) -> &'static str {
    match period {
        "day" => "2010-01-03 11:22:33,2010-01-09",
        "week" => "2010-01-03 11:22:33,2010-02-14",
        "month" => "2010-01-03 11:22:33,2010-07-03",
        _ => "2010-01-03 11:22:33,2016-01-03",
    }
}

/// The `<result>` elements of an XML answer whose attribute is `key`,
/// with what follows up to the next one: enough to find one period's
/// figures without parsing.
fn element<'x>(xml: &'x str, key: &str) -> &'x str {
    let start = xml.find(key).unwrap_or(xml.len());
    let rest = &xml[start..];
    let end = rest[1..].find("<result ").map_or(rest.len(), |at| at + 1);
    &rest[..end]
}

/// VisitsSummary and VisitFrequency for both sites over six days and six
/// weeks, as in Matomo's `TwoVisitors_twoWebsites_differentDays__*.xml`: a
/// day without visits is an empty `<result date=… />` inside a
/// multi-period answer, the visit over midnight counts on both days, and
/// VisitFrequency keys one site's periods `period`.
#[tokio::test]
async fn two_sites_give_matomos_visits_over_days() -> anyhow::Result<()> {
    let (_db, r) = fixture(false).await?;
    let xml = r
        .xml(&format!(
            "method=VisitsSummary.get&idSite=all&period=day&date={}",
            last_n("day")
        ))
        .await?;
    let (site1, site2) = xml.split_at(xml.find("<result idSite=\"2\">").unwrap_or(0));
    // Visitor A at 23:55 and visitor B at 12:22 on the 3rd; A's second
    // page view, after midnight, is a new visit on the 4th.
    let day = element(site1, "date=\"2010-01-03\"");
    assert!(
        day.contains("<nb_visits>2</nb_visits>") && day.contains("<bounce_count>2</bounce_count>"),
        "{day}"
    );
    let day = element(site1, "date=\"2010-01-04\"");
    assert!(
        day.contains("<nb_visits>1</nb_visits>\n\t\t\t<nb_actions>1</nb_actions>"),
        "{day}"
    );
    // From the 5th visitor B's visits: five actions (the two mailto clicks
    // included), 901 seconds.
    for date in ["2010-01-05", "2010-01-09"] {
        let day = element(site1, &format!("date=\"{date}\""));
        assert!(day.contains("<nb_actions>5</nb_actions>"), "{day}");
        assert!(
            day.contains("<avg_time_on_site>901</avg_time_on_site>"),
            "{day}"
        );
    }
    assert!(site2.contains("<result date=\"2010-01-03\" />"), "{site2}");
    assert!(site2.contains("<result date=\"2010-01-05\" />"), "{site2}");
    let day = element(site2, "date=\"2010-01-04\"");
    assert!(
        day.contains("<nb_actions>3</nb_actions>")
            && day.contains("<sum_visit_length>1</sum_visit_length>"),
        "{day}"
    );

    let xml = r
        .xml(&format!(
            "method=VisitFrequency.get&idSite=1&period=week&date={}",
            last_n("week")
        ))
        .await?;
    let week = element(&xml, "period=\"2009-12-28,2010-01-03\"");
    assert!(week.contains("<nb_visits_new>2</nb_visits_new>"), "{week}");
    assert!(!week.contains("_returning"), "{week}");
    let week = element(&xml, "period=\"2010-01-04,2010-01-10\"");
    assert!(!week.contains("_new>"), "{week}");
    assert!(
        week.contains("<nb_visits_returning>7</nb_visits_returning>"),
        "{week}"
    );
    assert!(
        week.contains("<nb_actions_returning>31</nb_actions_returning>"),
        "{week}"
    );
    assert!(
        week.contains("<sum_visit_length_returning>5406</sum_visit_length_returning>"),
        "{week}"
    );
    assert!(
        week.contains("<nb_actions_per_visit_returning>4.4</nb_actions_per_visit_returning>"),
        "{week}"
    );
    assert!(
        xml.contains("<result period=\"2010-01-18,2010-01-24\" />"),
        "{xml}"
    );

    // Several sites, one period: a site without visits is empty, one with
    // visits of one type only has no columns for the other.
    let xml = r
        .xml("method=VisitsSummary.get&idSite=all&period=day&date=2010-01-03 11:22:33")
        .await?;
    assert!(
        xml.ends_with("\t<result idSite=\"2\" />\n</results>"),
        "{xml}"
    );
    let xml = r
        .xml("method=VisitFrequency.get&idSite=1,2&period=month&date=2010-01-03 11:22:33")
        .await?;
    let site2 = element(&xml, "idSite=\"2\"");
    assert!(
        site2.contains("<nb_visits_new>1</nb_visits_new>") && !site2.contains("_returning"),
        "{site2}"
    );
    let xml = r
        .xml("method=Goals.get&idSite=all&period=day&date=2010-01-03 11:22:33")
        .await?;
    assert!(xml.contains("<conversion_rate_new_visit>0%</conversion_rate_new_visit>\n\t</result>\n\t<result idSite=\"2\" />"), "{xml}");
    Ok(())
}

/// The Actions reports: a `mailto:` link is no outlink but an action
/// without URL ("Page URL not defined"), as Matomo's
/// `Actions.getOutlinks` (empty) and `Actions.getPageUrls` answers show;
/// site 2 keeps URL fragments and merges its alias host's page.
#[tokio::test]
async fn two_sites_give_matomos_actions() -> anyhow::Result<()> {
    let (_db, r) = fixture(false).await?;
    let xml = r
        .xml(&format!(
            "method=Actions.getOutlinks&idSite=all&period=month&date={}&expanded=1",
            last_n("month")
        ))
        .await?;
    assert!(!xml.contains("<row>"), "{xml}");
    let xml = r
        .xml("method=Actions.getPageUrls&idSite=1&period=day&date=2010-01-05&expanded=1")
        .await?;
    let labels: Vec<(&str, &str)> = xml
        .split("<label>")
        .skip(1)
        .map(|row| {
            let label = row.split("</label>").next().unwrap_or("");
            let hits = row
                .split("<nb_hits>")
                .nth(1)
                .and_then(|rest| rest.split("</nb_hits>").next())
                .unwrap_or("");
            (label, hits)
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("/index.htm", "1"),
            ("/thankyou", "2"),
            ("Page URL not defined", "2")
        ]
    );
    let xml = r
        .xml("method=Actions.getPageUrls&idSite=2&period=day&date=2010-01-04&expanded=1")
        .await?;
    // `http://example2.com/…` and the alias `example2alias.org` are one
    // page, shown with the site's `https` URL; the invalid URL has none.
    let row = element(&xml, "<label>/home#notIgnoredFragment</label>");
    assert!(row.contains("<nb_hits>2</nb_hits>"), "{row}");
    assert!(
        row.contains("<url>https://example2.com/home#notIgnoredFragment</url>"),
        "{row}"
    );
    assert!(xml.contains("<label>Page URL not defined</label>"), "{xml}");
    Ok(())
}

/// The conversions variant: goal 1 ("all", revenue 5) converts each visit
/// of site 1, so the 3rd brings revenue 10 in `MultiSites.getAll`, and a
/// site without visits that day is empty in `Goals.get`.
#[tokio::test]
async fn two_sites_give_matomos_conversions() -> anyhow::Result<()> {
    let (_db, r) = fixture(true).await?;
    let xml = r
        .xml("method=Goals.get&idSite=all&period=day&date=2010-01-03 11:22:33")
        .await?;
    let site1 = element(&xml, "idSite=\"1\"");
    assert!(
        site1.contains("<nb_conversions>2</nb_conversions>")
            && site1.contains("<revenue>10</revenue>"),
        "{site1}"
    );
    assert!(
        site1.contains("<conversion_rate_new_visit>100%</conversion_rate_new_visit>"),
        "{site1}"
    );
    assert!(xml.contains("<result idSite=\"2\" />"), "{xml}");
    let xml = r
        .xml(&format!(
            "method=MultiSites.getAll&idSite=all&period=month&date={}",
            last_n("month")
        ))
        .await?;
    // Matomo's `testArchiveGetNumericReturnsMetricsFromDifferentPlugins…`:
    // over 2010-01-03 to 01-06, 5 visits and 6 conversions (goal 1 by every
    // visit but the one without URL, goal 2 on the 5th and the 6th).
    let visits = r
        .xml("method=VisitsSummary.get&idSite=1&period=range&date=2010-01-03,2010-01-06&columns=nb_visits")
        .await?;
    assert!(visits.ends_with("<result>5</result>"), "{visits}");
    let conversions = r
        .xml("method=Goals.get&idSite=1&period=range&date=2010-01-03,2010-01-06&columns=nb_conversions")
        .await?;
    assert!(
        conversions.contains("<nb_conversions>6</nb_conversions>"),
        "{conversions}"
    );
    // The mailto clicks count as page views, as in Matomo.
    let month = element(&xml, "date=\"2010-01\"");
    assert!(
        month.contains(
            "<label>Site 1</label>\n\t\t\t<nb_visits>11</nb_visits>\n\t\t\t<nb_actions>43</nb_actions>\n\t\t\t\
             <nb_pageviews>43</nb_pageviews>\n\t\t\t<revenue>50</revenue>"
        ),
        "{month}"
    );
    Ok(())
}

/// The non-empty buckets of a `Goals.getDaysToConversion` table:
/// `(label, nb_conversions)`.
fn converted_buckets(table: &serde_json::Value) -> Vec<(String, u64)> {
    table
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| {
            let conversions = row["nb_conversions"].as_u64().unwrap_or(0);
            (conversions > 0).then(|| (row["label"].as_str().unwrap_or("").to_owned(), conversions))
        })
        .collect()
}

/// `TwoVisitorsTwoWebsitesDifferentDaysConversionsTest`'s
/// `Goals.getDaysToConversion` for both sites over six weeks (as
/// `…_Conversions__Goals.getDaysToConversion_week.xml`, which we match
/// byte for byte with its day, month and year siblings): visitor B's
/// daily visits convert goal 1 ("all") and, on four days, goal 3, each
/// a day later than the last; site 2's single visit converts its goal at
/// once.
#[tokio::test]
async fn conversions_count_days_to_conversion_per_week() -> anyhow::Result<()> {
    let (_db, r) = fixture(true).await?;
    let report = r
        .json(&format!(
            "method=Goals.getDaysToConversion&idSite=all&period=week&date={}",
            last_n("week").replace(" 11:22:33", "")
        ))
        .await?;
    let weeks = |site: &str| -> Vec<(String, Vec<(String, u64)>)> {
        report[site]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(week, table)| (week.clone(), converted_buckets(table)))
            .collect()
    };
    let owned = |rows: &[(&str, &[(&str, u64)])]| -> Vec<(String, Vec<(String, u64)>)> {
        rows.iter()
            .map(|(week, buckets)| {
                (
                    (*week).to_owned(),
                    buckets.iter().map(|(l, n)| ((*l).to_owned(), *n)).collect(),
                )
            })
            .collect()
    };
    let empty: &[(&str, u64)] = &[];
    assert_eq!(
        weeks("1"),
        owned(&[
            ("2009-12-28,2010-01-03", &[("0 days", 2)]),
            (
                "2010-01-04,2010-01-10",
                &[
                    ("1 day", 2),
                    ("2 days", 2),
                    ("3 days", 2),
                    ("4 days", 1),
                    ("5 days", 1),
                    ("6 days", 1),
                ]
            ),
            ("2010-01-11,2010-01-17", &[("7 days", 1), ("8-14 days", 2)]),
            ("2010-01-18,2010-01-24", empty),
            ("2010-01-25,2010-01-31", empty),
            ("2010-02-01,2010-02-07", empty),
            ("2010-02-08,2010-02-14", empty),
        ])
    );
    assert_eq!(
        weeks("2"),
        owned(&[
            ("2009-12-28,2010-01-03", empty),
            ("2010-01-04,2010-01-10", &[("0 days", 1)]),
            ("2010-01-11,2010-01-17", empty),
            ("2010-01-18,2010-01-24", empty),
            ("2010-01-25,2010-01-31", empty),
            ("2010-02-01,2010-02-07", empty),
            ("2010-02-08,2010-02-14", empty),
        ])
    );
    Ok(())
}

/// The test's visitor log of site 1 for 2010 with its `showColumns`
/// (`…_Conversions__Live.getLastVisitsDetails_year.xml`, matched byte for
/// byte): ten visits, newest first; every visit converts but visitor A's
/// (its second page has no URL, so its first page converted alone... the
/// goal is "URL contains http"), and the campaign URL of the last day makes
/// a campaign visit.
#[tokio::test]
async fn conversions_visitor_log_shows_converted_visits() -> anyhow::Result<()> {
    let (_db, r) = fixture(true).await?;
    let visits = r
        .json("method=Live.getLastVisitsDetails&idSite=1&period=year&date=2010-01-03&showColumns=lastActionDateTime,referrerType,referrerName,actions,events,visitConverted")
        .await?;
    let rows: Vec<(String, u64, u64, String, String)> = visits
        .as_array()
        .into_iter()
        .flatten()
        .map(|visit| {
            (
                visit["lastActionDateTime"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                visit["visitConverted"].as_u64().unwrap_or(9),
                visit["actions"].as_u64().unwrap_or(0),
                visit["referrerType"].as_str().unwrap_or("").to_owned(),
                visit["referrerName"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, u64, String, String)> = [
        (
            "2010-01-12 11:37:33",
            1,
            5,
            "campaign",
            "goal-matching-url-parameter",
        ),
        ("2010-01-11 11:37:33", 1, 5, "website", "referrer.com"),
        ("2010-01-10 11:37:33", 1, 5, "website", "referrer.com"),
        ("2010-01-09 11:37:33", 1, 5, "website", "referrer.com"),
        ("2010-01-08 11:37:33", 1, 5, "website", "referrer.com"),
        (
            "2010-01-07 11:37:33",
            1,
            5,
            "campaign",
            "goal-matching-url-parameter",
        ),
        (
            "2010-01-06 11:37:33",
            1,
            5,
            "campaign",
            "goal-matching-url-parameter",
        ),
        (
            "2010-01-05 11:37:33",
            1,
            5,
            "campaign",
            "goal-matching-url-parameter",
        ),
        ("2010-01-04 00:01:00", 0, 1, "website", "referrer.com"),
        ("2010-01-03 23:55:00", 1, 1, "website", "referrer.com"),
    ]
    .iter()
    .map(|(at, converted, actions, kind, name)| {
        (
            (*at).to_owned(),
            *converted,
            *actions,
            (*kind).to_owned(),
            (*name).to_owned(),
        )
    })
    .collect();
    assert_eq!(rows, expected);
    Ok(())
}

/// `API.getProcessedReport` totals over `setDateLastN`'s seven days, as
/// `TwoVisitors_twoWebsites_differentDays_*_firstSite_lastN__API.getProcessedReport_day.xml`:
/// every stored column, `nb_actions_per_visit` summed over the days (12
/// where each day's is 2 or 4, none for VisitorInterest's rows of visits
/// only), and no totals for a report without rows.
#[tokio::test]
async fn processed_report_totals_match_matomo() -> anyhow::Result<()> {
    let total = crate::common::report_total_xml;
    let (_db, r) = fixture(false).await?;
    let (_conversions_db, conversions) = fixture(true).await?;
    for (reports, method, expected) in [
        (
            &r,
            "Referrers.getWebsites",
            "<nb_uniq_visitors>4</nb_uniq_visitors><nb_visits>4</nb_visits>\
             <nb_actions>12</nb_actions><nb_users>0</nb_users><max_actions>5</max_actions>\
             <sum_visit_length>1802</sum_visit_length><bounce_count>2</bounce_count>\
             <nb_visits_converted>0</nb_visits_converted>\
             <nb_actions_per_visit>12</nb_actions_per_visit>",
        ),
        (
            &r,
            "VisitorInterest.getNumberOfVisitsByDaysSinceLast",
            "<nb_visits>8</nb_visits>",
        ),
        (&r, "Actions.getOutlinks", ""),
        (
            &conversions,
            "Goals.getDaysToConversion",
            "<nb_conversions>10</nb_conversions>",
        ),
    ] {
        let (module, action) = method.split_once('.').unwrap_or_default();
        let xml = reports
            .xml(&format!(
                "method=API.getProcessedReport&idSite=1&period=day&date=2010-01-03,2010-01-09\
                 &apiModule={module}&apiAction={action}"
            ))
            .await?;
        assert_eq!(total(&xml), expected, "{method}");
    }
    // The page reports total their stored columns too, page timings
    // included, the bandwidth bounds of pages without sizes left out
    // (NULL).
    let xml = r
        .xml(
            "method=API.getProcessedReport&idSite=1&period=day&date=2010-01-03,2010-01-09\
             &apiModule=Actions&apiAction=getPageTitles",
        )
        .await?;
    assert_eq!(
        total(&xml),
        concat!(
            "<nb_visits>18</nb_visits><nb_uniq_visitors>18</nb_uniq_visitors><nb_hits>18</nb_hits>",
            "<sum_time_spent>4500</sum_time_spent><sum_time_network>0.398</sum_time_network>",
            "<nb_hits_with_time_network>17</nb_hits_with_time_network>",
            "<min_time_network>0.0000</min_time_network><max_time_network>0.0620</max_time_network>",
            "<sum_time_server>4.648</sum_time_server><nb_hits_with_time_server>17</nb_hits_with_time_server>",
            "<min_time_server>0.1990</min_time_server><max_time_server>0.3560</max_time_server>",
            "<sum_time_transfer>6.26</sum_time_transfer>",
            "<nb_hits_with_time_transfer>17</nb_hits_with_time_transfer>",
            "<min_time_transfer>0.2890</min_time_transfer><max_time_transfer>0.4520</max_time_transfer>",
            "<sum_time_dom_processing>19.784</sum_time_dom_processing>",
            "<nb_hits_with_time_dom_processing>17</nb_hits_with_time_dom_processing>",
            "<min_time_dom_processing>0.9980</min_time_dom_processing>",
            "<max_time_dom_processing>1.4990</max_time_dom_processing>",
            "<sum_time_dom_completion>4.815</sum_time_dom_completion>",
            "<nb_hits_with_time_dom_completion>17</nb_hits_with_time_dom_completion>",
            "<min_time_dom_completion>0.1980</min_time_dom_completion>",
            "<max_time_dom_completion>0.3560</max_time_dom_completion>",
            "<sum_time_on_load>5.256</sum_time_on_load>",
            "<nb_hits_with_time_on_load>17</nb_hits_with_time_on_load>",
            "<min_time_on_load>0.2690</min_time_on_load><max_time_on_load>0.4400</max_time_on_load>",
            "<sum_bandwidth>0</sum_bandwidth><nb_hits_with_bandwidth>0</nb_hits_with_bandwidth>",
            "<entry_nb_uniq_visitors>7</entry_nb_uniq_visitors><entry_nb_visits>7</entry_nb_visits>",
            "<entry_nb_actions>27</entry_nb_actions><entry_sum_visit_length>4505</entry_sum_visit_length>",
            "<entry_bounce_count>2</entry_bounce_count>",
            "<exit_nb_uniq_visitors>7</exit_nb_uniq_visitors><exit_nb_visits>7</exit_nb_visits>"
        )
    );
    Ok(())
}
