//! Matomo's Transitions system test traffic ("some visits, many pageviews,
//! with transitions": `tests/PHPUnit/Fixtures/
//! SomeVisitsManyPageviewsWithTransitions.php` in matomo-org/matomo), sent
//! as the PHP tracker sends it, and `Transitions.*` checked against the
//! numbers of Matomo's expected outputs for `TransitionsTest`
//! (`plugins/Transitions/tests/System/expected/test_Transitions*`): with no
//! limit, with `limitBeforeGrouping=2`, by URL and by title, day and month,
//! unknown pages. Our own cases add a segment that selects visits, the
//! period restriction, `parts`, and the XML shape.
//!
//! Eight visitors on 2010-03-06 (one of them on 2010-03-14) move between
//! `page/one.html`, `sub/dir/page2.html`, `the/third_page.html?foo=bar`,
//! `?foo=baz#anchor1|2` and `page3.html`, reload pages, search the site,
//! click outlinks and downloads, and arrive from Google, from websites, from
//! a campaign and directly. Each request rotates the URL prefix through
//! `http://`, `http://www.`, `https://`, `https://`.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, NewSiteParams, Principal};
use tally_reporting::{Api, MaxPeriodAllowed, ReportingConfig};
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{api_json, encode, tracker_routes, user_with_token};
use crate::matomo_live_fixture::answer;
use crate::php_tracker::{At, PhpTracker};

/// `$dateTime` of the fixture.
const START: PrimitiveDateTime = datetime!(2010-03-06 11:22:33);

/// What one fixture call tracks.
enum Hit {
    Page,
    Outlink,
    Download,
    /// A site search: keyword, category.
    Search(&'static str),
    /// An event named after the "keyword", category `Music`.
    Event,
}

/// The fixture's `trackPageView` state: the prefix counter.
struct Fixture {
    counter: u32,
}

impl Fixture {
    /// `trackPageView($tracker, $timeOffset, $path, $dateTime, $type, ...)`.
    async fn track(
        &mut self,
        router: &axum::Router,
        tracker: &mut PhpTracker,
        hours: f64,
        path: &str,
        day_offset: i64,
        hit: Hit,
    ) -> anyhow::Result<()> {
        let prefixes = ["http://", "http://www.", "https://", "https://"];
        let prefix = prefixes[(self.counter % 4) as usize];
        self.counter += 1;
        tracker.url = format!("{prefix}example.org/{path}");
        #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
        let seconds = (hours * 3600.0).round() as i64;
        tracker.at = At::Datetime(START + Duration::days(day_offset) + Duration::seconds(seconds));
        let query = match hit {
            Hit::Page => tracker.page_view(&format!("page title - {path}")),
            Hit::Outlink => tracker.action(&format!("{prefix}anothersite.com/{path}"), "link"),
            Hit::Download => tracker.action(
                &format!("{prefix}example.org/downloads/{}.tar.gz", self.counter),
                "download",
            ),
            Hit::Search(keyword) => {
                tracker.site_search(keyword, "mysearchcat", Some(i64::from(self.counter)))
            }
            Hit::Event => tracker.event(
                "Music",
                "event name",
                Some("Song name here"),
                Some(f64::from(self.counter)),
            ),
        };
        tracker.ok(router, &query).await
    }
}

async fn fixture(config: ReportingConfig) -> anyhow::Result<(TestDb, Api, String)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let params = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            start_date: Some(START),
            sitesearch: Some(true),
            ..NewSiteParams::new("Piwik test", ["http://piwik.net"])
        };
        management::add_site(&mut conn, &root, &params)?;
        user_with_token(&mut conn, "root", None)?
    };
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut f = Fixture { counter: 0 };
    let google = "http://www.google.com.vn/url?sa=t&rct=j&q=%3C%3E%26%5C%22the%20pdo%20extension%20is%20required%20for%20this%20adapter%20but%20the%20extension%20is%20not%20loaded&source=web&cd=4&ved=0FjAD&url=http%3A%2F%2Fforum.piwik.org%2Fread.php%3F2%2C1011&ei=y-HHAQ&usg=AFQjCN2-nt5_GgDeg&cad=rja";

    let mut t = PhpTracker::new(1, &token, "1000000000000001", START);
    t.ip = "156.5.3.1".to_owned();
    t.referrer = google.to_owned();
    for (hours, path) in [
        (0.0, "page/one.html"),
        (0.1, "sub/dir/page2.html"),
        (0.2, "page/one.html"),
        (0.3, "the/third_page.html?foo=bar"),
        (0.4, "page/one.html"),
        (0.5, "the/third_page.html?foo=bar"),
        (0.5, "the/third_page.html?foo=bar"),
        (0.6, "page/one.html"),
        (0.6, "page/one.html"),
        (0.7, "the/third_page.html?foo=baz#anchor1"),
        (0.7, "the/third_page.html?foo=baz#anchor1"),
        (0.8, "page/one.html"),
        (0.9, "page/one.html"),
        (1.0, "the/third_page.html?foo=baz#anchor2"),
        (1.1, "page/one.html"),
        (1.2, "page3.html"),
    ] {
        f.track(&router, &mut t, hours, path, 0, Hit::Page).await?;
    }

    let mut t = PhpTracker::new(1, &token, "1000000000000002", START);
    t.ip = "156.5.3.2".to_owned();
    t.referrer = "http://www.external.com.vn/referrerPage-notCounted.html".to_owned();
    for (hours, path) in [
        (0.0, "sub/dir/page2.html"),
        (0.1, "the/third_page.html?foo=bar"),
        (0.2, "page/one.html"),
        (0.3, "the/third_page.html?foo=baz#anchor1"),
    ] {
        f.track(&router, &mut t, hours, path, 0, Hit::Page).await?;
    }

    let mut t = PhpTracker::new(1, &token, "1000000000000003", START);
    t.ip = "156.5.3.3".to_owned();
    t.referrer = "http://www.external.com.vn/referrerPage-counted.html".to_owned();
    for (hours, path) in [
        (0.1, "page/one.html"),
        (0.2, "sub/dir/page2.html"),
        (0.3, "page/one.html"),
    ] {
        f.track(&router, &mut t, hours, path, 0, Hit::Page).await?;
    }

    let mut t = PhpTracker::new(1, &token, "1000000000000004", START);
    t.ip = "156.5.3.4".to_owned();
    let campaign = "page/one.html?pk_campaign=TestCampaign&pk_kwd=TestKeyword";
    f.track(&router, &mut t, 0.0, campaign, 0, Hit::Page)
        .await?;

    let mut t = PhpTracker::new(1, &token, "1000000000000005", START);
    t.ip = "156.5.3.5".to_owned();
    f.track(&router, &mut t, 0.0, "page/one.html", 0, Hit::Page)
        .await?;

    // Site searches before and after page/one.html, outlinks, downloads.
    let mut t = PhpTracker::new(1, &token, "1000000000000006", START);
    t.ip = "156.5.3.6".to_owned();
    for (hours, path, hit) in [
        (0.0, "page/search.html#q=mykwd", Hit::Search("mykwd")),
        (0.1, "page/one.html", Hit::Page),
        (
            0.2,
            "page/search.html#q=anotherkwd",
            Hit::Search("anotherkwd"),
        ),
        (0.25, "page/one.html", Hit::Page),
        (0.3, "to/outlink/page.html", Hit::Outlink),
        (0.35, "page/one.html", Hit::Page),
        (0.11, "page/search.html#q=thirdkwd", Hit::Event),
        (0.4, "", Hit::Download),
        (0.45, "page/one.html", Hit::Page),
        (0.5, "", Hit::Download),
        (0.55, "page/one.html", Hit::Page),
        (0.6, "to/outlink/page2.html", Hit::Outlink),
    ] {
        f.track(&router, &mut t, hours, path, 0, hit).await?;
    }

    // Eight days later, for the month.
    let mut t = PhpTracker::new(1, &token, "1000000000000007", START);
    t.ip = "156.5.3.7".to_owned();
    for (hours, path, hit) in [
        (0.0, "page/search.html#q=thirdkwd", Hit::Search("thirdkwd")),
        (0.1, "page/one.html", Hit::Page),
        (0.11, "page/search.html#q=thirdkwd", Hit::Event),
        (0.15, "to/another/outlink.html", Hit::Outlink),
        (0.2, "page/one.html", Hit::Page),
        (0.25, "", Hit::Download),
        (0.3, "page/one.html", Hit::Page),
        (
            0.35,
            "page/search.html#q=anotherkwd",
            Hit::Search("anotherkwd"),
        ),
    ] {
        f.track(&router, &mut t, hours, path, 8, hit).await?;
    }

    // A search engine visit without keyword.
    let mut t = PhpTracker::new(1, &token, "1000000000000008", START);
    t.ip = "156.5.3.8".to_owned();
    t.referrer = "http://www.google.com.vn/url?sa=t&rct=j&q=".to_owned();
    f.track(&router, &mut t, 0.0, "page/one.html", 0, Hit::Page)
        .await?;

    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        config,
    );
    Ok((db, api, token))
}

/// A Transitions table as JSON: `[{"label": …, "referrals": …}, …]`.
fn table(rows: &[(&str, i64)]) -> Value {
    Value::Array(
        rows.iter()
            .map(|(label, referrals)| json!({"label": label, "referrals": referrals}))
            .collect(),
    )
}

/// One `referrers` entry.
fn referrer(label: &str, short: &str, visits: i64, details: &[(&str, i64)]) -> Value {
    json!({"label": label, "shortName": short, "visits": visits, "details": table(details)})
}

const ONE: &str = "example.org/page/one.html";
const PAGE2: &str = "example.org/sub/dir/page2.html";
const BAR: &str = "example.org/the/third_page.html?foo=bar";
const BAZ: &str = "example.org/the/third_page.html?foo=baz";
const PAGE3: &str = "example.org/page3.html";
const OUTLINK: &str = "http://anothersite.com/to/outlink/page2.html";
const OUTLINK_WWW: &str = "http://www.anothersite.com/to/outlink/page.html";
const OUTLINK_LATER: &str = "http://anothersite.com/to/another/outlink.html";
const DOWNLOAD_33: &str = "http://example.org/downloads/33.tar.gz";
const DOWNLOAD_35: &str = "https://example.org/downloads/35.tar.gz";
const DOWNLOAD_43: &str = "https://example.org/downloads/43.tar.gz";
const TITLE_ONE: &str = "page title - page/one.html";

/// The referrers of the page URL (both periods): the two Google visits,
/// the counted website, the campaign, the direct visit.
fn url_referrers() -> Value {
    json!([
        referrer("Direct entries", "direct", 1, &[]),
        referrer("From search engines", "search", 2, &[("Google", 2)]),
        referrer(
            "From websites",
            "website",
            1,
            &[("http://www.external.com.vn/referrerPage-counted.html", 1)]
        ),
        referrer(
            "From campaigns",
            "campaign",
            1,
            &[("testcampaign testkeyword", 1)]
        ),
    ])
}

/// The title's entries lack the campaign visit (its page has its own
/// title, with the campaign parameters).
fn title_referrers() -> Value {
    json!([
        referrer("Direct entries", "direct", 1, &[]),
        referrer("From search engines", "search", 2, &[("Google", 2)]),
        referrer(
            "From websites",
            "website",
            1,
            &[("http://www.external.com.vn/referrerPage-counted.html", 1)]
        ),
    ])
}

fn url_query(period: &str, date: &str, extra: &str) -> String {
    format!(
        "method=Transitions.getTransitionsForPageUrl&idSite=1&period={period}&date={date}\
         &pageUrl={}{extra}",
        encode("http://example.org/page/one.html")
    )
}

fn title_query(period: &str, date: &str, extra: &str) -> String {
    format!(
        "method=Transitions.getTransitionsForPageTitle&idSite=1&period={period}&date={date}\
         &pageTitle={}{extra}",
        encode(TITLE_ONE)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn page_url_transitions_match_matomo() -> anyhow::Result<()> {
    let (_db, api, token) = fixture(ReportingConfig::default()).await?;

    // `_noLimit` day: page/one.html was viewed 19 times, 5 of them reloads;
    // 5 visits entered on it and 5 left from it.
    let day = api_json(&api, &token, &url_query("day", "2010-03-06", "")).await?;
    let expected_day = json!({
        "date": "Sat, Mar 6",
        "previousPages": table(&[(BAR, 3), (PAGE2, 2), (BAZ, 2)]),
        "previousSiteSearches": table(&[("anotherkwd", 1)]),
        "pageMetrics": {"loops": 5, "pageviews": 19, "entries": 5, "exits": 5},
        "followingPages": table(&[(BAZ, 3), (PAGE2, 2), (BAR, 2), (PAGE3, 1)]),
        "followingSiteSearches": table(&[("anotherkwd", 1)]),
        "outlinks": table(&[(OUTLINK, 1), (OUTLINK_WWW, 1)]),
        "downloads": table(&[(DOWNLOAD_33, 1), (DOWNLOAD_35, 1)]),
        "referrers": url_referrers(),
    });
    assert_eq!(day, expected_day);
    // Keys in Matomo's order.
    let keys: Vec<&str> = day
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "date",
            "previousPages",
            "previousSiteSearches",
            "pageMetrics",
            "followingPages",
            "followingSiteSearches",
            "outlinks",
            "downloads",
            "referrers"
        ]
    );
    let metric_keys: Vec<&str> = day["pageMetrics"]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(metric_keys, ["loops", "pageviews", "entries", "exits"]);

    // `_noLimit` month: the later visit adds 3 pageviews (2 reloads after
    // an event and a download), a search, an outlink and a download.
    let month = api_json(&api, &token, &url_query("month", "2010-03-06", "")).await?;
    let expected_month = json!({
        "date": "Mar 2010",
        "previousPages": table(&[(BAR, 3), (PAGE2, 2), (BAZ, 2)]),
        "previousSiteSearches": table(&[("anotherkwd", 1)]),
        "pageMetrics": {"loops": 7, "pageviews": 22, "entries": 5, "exits": 5},
        "followingPages": table(&[(BAZ, 3), (PAGE2, 2), (BAR, 2), (PAGE3, 1)]),
        "followingSiteSearches": table(&[("anotherkwd", 2)]),
        "outlinks": table(&[(OUTLINK_LATER, 1), (OUTLINK, 1), (OUTLINK_WWW, 1)]),
        "downloads": table(&[(DOWNLOAD_33, 1), (DOWNLOAD_35, 1), (DOWNLOAD_43, 1)]),
        "referrers": url_referrers(),
    });
    assert_eq!(month, expected_month);

    // `limitBeforeGrouping=2`: two rows per table, then "Others" (even for
    // a single row left over).
    let limited = api_json(
        &api,
        &token,
        &url_query("day", "2010-03-06", "&limitBeforeGrouping=2"),
    )
    .await?;
    assert_eq!(
        limited["previousPages"],
        table(&[(BAR, 3), (PAGE2, 2), ("Others", 2)])
    );
    assert_eq!(
        limited["followingPages"],
        table(&[(BAZ, 3), (PAGE2, 2), ("Others", 3)])
    );
    assert_eq!(limited["pageMetrics"], expected_day["pageMetrics"]);
    assert_eq!(limited["outlinks"], expected_day["outlinks"]);
    let limited_month = api_json(
        &api,
        &token,
        &url_query("month", "2010-03-06", "&limitBeforeGrouping=2"),
    )
    .await?;
    assert_eq!(
        limited_month["outlinks"],
        table(&[(OUTLINK_LATER, 1), (OUTLINK, 1), ("Others", 1)])
    );
    assert_eq!(
        limited_month["downloads"],
        table(&[(DOWNLOAD_33, 1), (DOWNLOAD_35, 1), ("Others", 1)])
    );
    assert_eq!(limited_month["pageMetrics"], expected_month["pageMetrics"]);

    // getTransitionsForAction is the same answer; the prefix of the URL
    // asked for does not matter.
    let action = api_json(
        &api,
        &token,
        &format!(
            "method=Transitions.getTransitionsForAction&idSite=1&period=day&date=2010-03-06\
             &actionName={}&actionType=url",
            encode("https://www.example.org/page/one.html")
        ),
    )
    .await?;
    assert_eq!(action, expected_day);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn page_title_transitions_match_matomo() -> anyhow::Result<()> {
    let (_db, api, token) = fixture(ReportingConfig::default()).await?;
    let anchor1 = "page title - the/third_page.html?foo=baz#anchor1";
    let anchor2 = "page title - the/third_page.html?foo=baz#anchor2";
    let bar = "page title - the/third_page.html?foo=bar";
    let page2 = "page title - sub/dir/page2.html";
    let page3 = "page title - page3.html";

    let day = api_json(&api, &token, &title_query("day", "2010-03-06", "")).await?;
    let expected_day = json!({
        "date": "Sat, Mar 6",
        "previousPages": table(&[(bar, 3), (page2, 2), (anchor1, 1), (anchor2, 1)]),
        "previousSiteSearches": table(&[("anotherkwd", 1), ("mykwd", 1)]),
        "pageMetrics": {"loops": 5, "pageviews": 18, "entries": 4, "exits": 4},
        "followingPages": table(&[(page2, 2), (bar, 2), (anchor1, 2), (page3, 1), (anchor2, 1)]),
        "followingSiteSearches": table(&[("anotherkwd", 1)]),
        "outlinks": table(&[(OUTLINK, 1), (OUTLINK_WWW, 1)]),
        "downloads": table(&[(DOWNLOAD_33, 1), (DOWNLOAD_35, 1)]),
        "referrers": title_referrers(),
    });
    assert_eq!(day, expected_day);

    let month = api_json(&api, &token, &title_query("month", "2010-03-06", "")).await?;
    let expected_month = json!({
        "date": "Mar 2010",
        "previousPages": table(&[(bar, 3), (page2, 2), (anchor1, 1), (anchor2, 1)]),
        "previousSiteSearches": table(&[("anotherkwd", 1), ("mykwd", 1), ("thirdkwd", 1)]),
        "pageMetrics": {"loops": 7, "pageviews": 21, "entries": 4, "exits": 4},
        "followingPages": table(&[(page2, 2), (bar, 2), (anchor1, 2), (page3, 1), (anchor2, 1)]),
        "followingSiteSearches": table(&[("anotherkwd", 2)]),
        "outlinks": table(&[(OUTLINK_LATER, 1), (OUTLINK, 1), (OUTLINK_WWW, 1)]),
        "downloads": table(&[(DOWNLOAD_33, 1), (DOWNLOAD_35, 1), (DOWNLOAD_43, 1)]),
        "referrers": title_referrers(),
    });
    assert_eq!(month, expected_month);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_pages_and_bad_requests_are_matomo_errors() -> anyhow::Result<()> {
    let mut config = ReportingConfig::default();
    config
        .transitions_max_period_allowed_by_site
        .insert("1".to_owned(), MaxPeriodAllowed::Week);
    let (_db, api, token) = fixture(config).await?;
    let error = |message: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"{message}\" />\n</result>"
        )
    };
    for query in [
        format!(
            "method=Transitions.getTransitionsForPageUrl&idSite=1&period=day&date=2010-03-06&pageUrl={}",
            encode("http://example.org/not/a/page.html")
        ),
        format!(
            "method=Transitions.getTransitionsForPageTitle&idSite=1&period=week&date=2010-03-06&pageTitle={}",
            encode("not a page title")
        ),
        // A known page with no view in the period.
        url_query("day", "2010-03-07", ""),
    ] {
        let (status, body) = answer(&api, &token, &format!("{query}&format=xml")).await?;
        assert_eq!((status, body), (200, error("NoDataForAction")), "{query}");
    }
    // Site 1 allows weeks at most: a month, a year and an 8-day range are
    // refused before the page is looked up.
    for (period, date) in [
        ("month", "2010-03-06"),
        ("year", "2010-03-06"),
        ("range", "2010-03-06,2010-03-13"),
    ] {
        let (status, body) = answer(
            &api,
            &token,
            &format!("{}&format=xml", url_query(period, date, "")),
        )
        .await?;
        assert_eq!((status, body), (200, error("PeriodNotAllowed")), "{period}");
    }
    let allowed = |period: &str, date: &str| {
        format!("method=Transitions.isPeriodAllowed&idSite=1&period={period}&date={date}")
    };
    assert_eq!(
        api_json(&api, &token, &allowed("week", "2010-03-06")).await?,
        json!({"value": true})
    );
    assert_eq!(
        api_json(&api, &token, &allowed("month", "2010-03-06")).await?,
        json!({"value": false})
    );
    assert_eq!(
        api_json(&api, &token, &allowed("range", "2010-03-06,2010-03-12")).await?,
        json!({"value": true})
    );
    let (_, xml) = answer(
        &api,
        &token,
        &format!("{}&format=xml", allowed("year", "2010-03-06")),
    )
    .await?;
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>0</result>"
    );
    // A week is allowed and answers.
    let week = api_json(&api, &token, &url_query("week", "2010-03-06", "")).await?;
    assert_eq!(week["date"], "Mar 1\u{2009}\u{2013}\u{2009}7, 2010");
    assert_eq!(week["pageMetrics"]["pageviews"], 19);

    let (_, body) = answer(
        &api,
        &token,
        &format!(
            "{}&format=xml",
            url_query("day", "2010-03-06", "&limitBeforeGrouping=all")
        ),
    )
    .await?;
    assert_eq!(body, error("limitBeforeGrouping has to be an integer."));
    let (_, body) = answer(
        &api,
        &token,
        "method=Transitions.getTransitionsForAction&idSite=1&period=day&date=2010-03-06\
         &actionName=x&actionType=event&format=xml",
    )
    .await?;
    assert_eq!(body, error("Unknown action type"));
    let (_, body) = answer(
        &api,
        &token,
        "method=Transitions.getTransitionsForPageUrl&idSite=1&period=day&date=2010-03-06&format=xml",
    )
    .await?;
    assert_eq!(body, error("Please specify a value for 'pageUrl'."));
    // Without view access, nothing about the page is told.
    let (status, body) = answer(
        &api,
        "anonymous",
        &format!("{}&format=xml", url_query("day", "2010-03-06", "")),
    )
    .await?;
    assert_eq!(
        (status, body),
        (
            401,
            error(
                "You can't access this resource as it requires 'view' access for the website id = 1."
            )
        )
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn segments_parts_and_xml() -> anyhow::Result<()> {
    let (_db, api, token) = fixture(ReportingConfig::default()).await?;
    // Only the two visits from websites: the second views page/one.html
    // after third_page?foo=bar; the third enters on it, goes to page2 and
    // comes back (then leaves).
    let segmented = api_json(
        &api,
        &token,
        &url_query("day", "2010-03-06", "&segment=referrerType%3D%3Dwebsite"),
    )
    .await?;
    assert_eq!(
        segmented,
        json!({
            "date": "Sat, Mar 6",
            "previousPages": table(&[(PAGE2, 1), (BAR, 1)]),
            "previousSiteSearches": [],
            "pageMetrics": {"loops": 0, "pageviews": 3, "entries": 1, "exits": 1},
            "followingPages": table(&[(PAGE2, 1), (BAZ, 1)]),
            "followingSiteSearches": [],
            "outlinks": [],
            "downloads": [],
            "referrers": [referrer(
                "From websites",
                "website",
                1,
                &[("http://www.external.com.vn/referrerPage-counted.html", 1)]
            )],
        })
    );

    // `parts=followingActions` alone counts reloads as following pages and
    // derives nothing.
    let following = api_json(
        &api,
        &token,
        &url_query("day", "2010-03-06", "&parts=followingActions"),
    )
    .await?;
    assert_eq!(
        following,
        json!({
            "date": "Sat, Mar 6",
            "followingPages": table(&[(ONE, 5), (BAZ, 3), (PAGE2, 2), (BAR, 2), (PAGE3, 1)]),
            "followingSiteSearches": table(&[("anotherkwd", 1)]),
            "outlinks": table(&[(OUTLINK, 1), (OUTLINK_WWW, 1)]),
            "downloads": table(&[(DOWNLOAD_33, 1), (DOWNLOAD_35, 1)]),
        })
    );
    let external = api_json(
        &api,
        &token,
        &url_query("day", "2010-03-06", "&parts=externalReferrers"),
    )
    .await?;
    assert_eq!(
        external,
        json!({"date": "Sat, Mar 6", "pageMetrics": {"entries": 5}, "referrers": url_referrers()})
    );

    // XML: tables as rows (an empty one as an empty element), the
    // referrers as rows with their details.
    let (status, xml) = answer(
        &api,
        &token,
        &format!(
            "{}&format=xml",
            url_query("day", "2010-03-06", "&segment=referrerType%3D%3Dwebsite")
        ),
    )
    .await?;
    assert_eq!(status, 200);
    let expected = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>
<result>
\t<date>Sat, Mar 6</date>
\t<previousPages>
\t\t<row>
\t\t\t<label>example.org/sub/dir/page2.html</label>
\t\t\t<referrals>1</referrals>
\t\t</row>
\t\t<row>
\t\t\t<label>example.org/the/third_page.html?foo=bar</label>
\t\t\t<referrals>1</referrals>
\t\t</row>
\t</previousPages>
\t<previousSiteSearches />
\t<pageMetrics>
\t\t<loops>0</loops>
\t\t<pageviews>3</pageviews>
\t\t<entries>1</entries>
\t\t<exits>1</exits>
\t</pageMetrics>
\t<followingPages>
\t\t<row>
\t\t\t<label>example.org/sub/dir/page2.html</label>
\t\t\t<referrals>1</referrals>
\t\t</row>
\t\t<row>
\t\t\t<label>example.org/the/third_page.html?foo=baz</label>
\t\t\t<referrals>1</referrals>
\t\t</row>
\t</followingPages>
\t<followingSiteSearches />
\t<outlinks />
\t<downloads />
\t<referrers>
\t\t<row>
\t\t\t<label>From websites</label>
\t\t\t<shortName>website</shortName>
\t\t\t<visits>1</visits>
\t\t\t<details>
\t\t\t\t<row>
\t\t\t\t\t<label>http://www.external.com.vn/referrerPage-counted.html</label>
\t\t\t\t\t<referrals>1</referrals>
\t\t\t\t</row>
\t\t\t</details>
\t\t</row>
\t</referrers>
</result>";
    assert_eq!(xml, expected);

    // A direct entry's empty details.
    let (_, xml) = answer(
        &api,
        &token,
        &format!(
            "{}&format=xml",
            url_query(
                "day",
                "2010-03-06",
                "&parts=externalReferrers&segment=referrerType%3D%3Ddirect"
            )
        ),
    )
    .await?;
    assert!(
        xml.contains("\t\t\t<visits>1</visits>\n\t\t\t<details>\n\t\t\t</details>\n\t\t</row>"),
        "{xml}"
    );
    Ok(())
}
