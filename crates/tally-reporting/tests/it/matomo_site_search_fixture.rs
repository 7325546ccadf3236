//! Matomo's system test traffic "three sites with many visits with site
//! search" (`tests/PHPUnit/Fixtures/ThreeSitesWithManyVisitsWithSiteSearch.php`
//! in matomo-org/matomo), sent as the PHP tracker sends it, and the site
//! search reports checked against the numbers of Matomo's expected outputs
//! for `SiteSearchTest` (`test_SiteSearch_NotLastNPeriods__Actions.*`).
//!
//! Site 1 takes its own keyword parameters `q,mykwd,p` and category `cats`;
//! site 2 has none, so the global `gkwd` / `gcat` set by the fixture apply.
//! Searches come from URLs (query string and fragment, `search_count` in
//! either), from the site search tracking API, and in `iso-8859-15`.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, NewSiteParams, Principal};
use tally_reporting::Api;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{NOW, reporting_api, tracker_routes, user_with_token};
use crate::php_tracker::{At, PhpTracker};

/// `$dateTime` of the fixture.
const START: PrimitiveDateTime = datetime!(2010-01-03 11:22:33);

/// `Date::addHour`: whole seconds of the hours after the fixture's time.
fn at(hours: f64) -> At {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    At::Datetime(START + Duration::seconds(seconds))
}

async fn fixture() -> anyhow::Result<(TestDb, Api, String)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        management::set_global_search_parameters(&mut conn, &root, "gkwd", "gcat")?;
        for (name, hours_before, keywords, categories) in [
            ("Site 1 - Site search", 200, "q,mykwd,p", "cats"),
            ("Site 2 - Site search use default", 400, "", ""),
        ] {
            let params = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                start_date: Some(START - Duration::hours(hours_before)),
                sitesearch: Some(true),
                search_keyword_parameters: Some(keywords.to_owned()),
                search_category_parameters: Some(categories.to_owned()),
                ..NewSiteParams::new(name, ["http://piwik.net"])
            };
            management::add_site(&mut conn, &root, &params)?;
        }
        user_with_token(&mut conn, "root", None)?
    };
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;

    let mut a = PhpTracker::new(1, &token, "a000000000000001", START);
    for (hours, url, title) in [
        (
            0.2,
            "http://example.org/index.htm?q=Search 1  ",
            "Site Search results",
        ),
        (0.22, "http://example.org/index.htm", "Im just a page"),
        (
            0.23,
            "http://example.org/index.htm?random=PAGEVIEW, NOT SEARCH&mykwd=&IS_FOLLOWING_SEARCH ONCE",
            "This is a pageview, not a Search - IS_FOLLOWING_SEARCH ONCE",
        ),
    ] {
        a.at = at(hours);
        a.url = url.to_owned();
        let query = a.page_view(title);
        a.ok(&router, &query).await?;
    }
    a.at = at(0.24);
    let query = a.event("Event CAT", "Event ACTION", Some("Event NAME"), Some(3.33));
    a.ok(&router, &query).await?;
    for (hours, url, title) in [
        (
            0.25,
            "http://example.org/index.htm?standard=query&but=also#hash&q=Search+1",
            "Site Search results - URL Fragment",
        ),
        (
            0.26,
            "http://example.org/index.htm#q=Search 1&search_count=10",
            "Site Search results - URL Fragment",
        ),
        (
            0.27,
            "http://example.org/index.htm?hello=world#q=Search 1&search_count=0",
            "Site Search results - URL Fragment",
        ),
        (
            0.3,
            "http://example.org/index.htm?random=param&mykwd[]=Search 2&test&cats= Search Category &search_count=INCORRECT!",
            "Site Search results",
        ),
        (
            0.32,
            "http://example.org/index.htm?random=param&myKwd=Search 1&test&cats=+Search+Category+ &search_count=0",
            "Site Search results",
        ),
        (
            0.35,
            "http://example.org/index.htm?random=PAGEVIEW, NOT SEARCH&mykwd=&IS_FOLLOWING_SEARCH ONCE",
            "This is a pageview, not a Search - IS_FOLLOWING_SEARCH ONCE",
        ),
        (
            0.4,
            "http://example.org/index.htm?gkwd=SHOULD be a PageView, NOT a search",
            "Pageview, not search",
        ),
    ] {
        a.at = at(hours);
        a.url = url.to_owned();
        let query = a.page_view(title);
        a.ok(&router, &query).await?;
    }
    // The next day, through the site search tracking API.
    a.url = "http://example.org/hello?THIS IS A SITE SEARCH TRACKING API, NOT PAGEVIEW!".to_owned();
    for (hours, keyword, category, count) in [
        (24.41, "Keyword - Tracking API", "", None),
        (24.42, "Keyword - Tracking API", "Category", Some(5)),
    ] {
        a.at = at(hours);
        let query = a.site_search(keyword, category, count);
        a.ok(&router, &query).await?;
    }
    a.at = at(24.425);
    let query = a.event("Event CAT", "Event ACTION", Some("Event NAME"), Some(5.0));
    a.ok(&router, &query).await?;
    a.at = at(24.43);
    let query = a.site_search("No Result Keyword!", "Bad No Result Category :(", Some(0));
    a.ok(&router, &query).await?;
    a.at = at(24.5);
    a.charset = Some("iso-8859-15".to_owned());
    a.url = "http://example.org/index.htm?q=Final%20t%FCte%20Keyword%20Searched%20for%20now&search_count=10"
        .to_owned();
    let query = a.page_view("");
    a.ok(&router, &query).await?;

    let mut b = PhpTracker::new(1, &token, "b000000000000002", START);
    b.ip = "156.66.6.66".to_owned();
    for (hours, url, title) in [
        (
            2.26,
            "http://example.org/index.htm#q=No+Result+Keyword%21&search_count=0",
            "Site Search results - URL Fragment",
        ),
        (
            2.27,
            "http://example.org/index.htm?hello=world#q=Search 1&search_count=10",
            "Site Search results - URL Fragment",
        ),
        (
            2.3,
            "http://example.org/index.htm?random=param&mykwd=Search 2&test&cats= Search Category &search_count=10",
            "Site Search results",
        ),
    ] {
        b.at = at(hours);
        b.url = url.to_owned();
        let query = b.page_view(title);
        b.ok(&router, &query).await?;
    }

    let mut c = PhpTracker::new(2, &token, "c000000000000003", START);
    for (hours, url, title) in [
        (
            0.2,
            "http://example.org/index.htm?q=Search 1&IsPageView=1",
            "IsPageView",
        ),
        (
            0.35,
            "http://example.org/index.htm?random=PAGEVIEW, NOT SEARCH&gcat=Cat not but not keyword, so this is not search",
            "This is a pageview, not a Search",
        ),
        (
            0.4,
            "http://example.org/index.htm?gkwd=SHOULD be a Search with no result!&search_count=0",
            "This is a Search",
        ),
    ] {
        c.at = at(hours);
        c.url = url.to_owned();
        let query = c.page_view(title);
        c.ok(&router, &query).await?;
    }
    // A URL over Matomo's 1,024-byte page URL limit (our own long term in
    // place of the fixture's): cut before site search reads it, so the
    // keyword ends in the cut and the category after it is lost.
    c.at = at(0.45);
    let term = format!(
        "You%20searched%20for%20{}",
        "%C3%A9l%C3%A8ve%2C%20".repeat(60)
    );
    c.url = format!("http://example.org/index.htm?gkwd={term}&gcat={term}&search_count=1");
    let query = c.page_view("Site Search with 1 result");
    c.ok(&router, &query).await?;
    c.at = at(0.5);
    let query = c.site_search(
        "No Result Keyword!",
        "Bad No Result Category bis :(",
        Some(0),
    );
    c.ok(&router, &query).await?;

    let api = reporting_api(&db)?;
    Ok((db, api, token))
}

async fn report(
    api: &Api,
    token: &str,
    method: &str,
    site: u32,
    period: &str,
) -> anyhow::Result<Value> {
    let request = tally_reporting::ApiRequest::from_parts(
        &format!(
            "module=API&method=Actions.{method}&idSite={site}&period={period}&date=2010-01-03\
             &format=json&token_auth={token}"
        ),
        None,
    );
    let api = api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
    anyhow::ensure!(
        answer.status == 200,
        "{method}: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    Ok(serde_json::from_slice(&answer.body)?)
}

/// `(label, nb_visits, nb_hits, sum_time_spent, nb_pages_per_search,
/// exit_rate)` of each keyword row.
fn keywords(rows: &Value) -> Vec<(String, i64, i64, i64, f64, String)> {
    rows.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|row| {
            (
                row["label"].as_str().unwrap_or("").to_owned(),
                row["nb_visits"].as_i64().unwrap_or(-1),
                row["nb_hits"].as_i64().unwrap_or(-1),
                row["sum_time_spent"].as_i64().unwrap_or(-1),
                row["nb_pages_per_search"].as_f64().unwrap_or(-1.0),
                row["exit_rate"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn expected(
    rows: &[(&str, i64, i64, i64, f64, &str)],
) -> Vec<(String, i64, i64, i64, f64, String)> {
    rows.iter()
        .map(|(label, a, b, c, d, e)| ((*label).to_owned(), *a, *b, *c, *d, (*e).to_owned()))
        .collect()
}

#[tokio::test]
async fn site_search_reports_match_matomos_for_its_fixture() -> anyhow::Result<()> {
    let (_db, api, token) = fixture().await?;

    let day = report(&api, &token, "getSiteSearchKeywords", 1, "day").await?;
    assert_eq!(
        keywords(&day),
        expected(&[
            ("Search 1", 2, 6, 468, 3.0, "0%"),
            ("Search 2", 2, 2, 72, 1.0, "50%"),
            ("No Result Keyword!", 1, 1, 36, 1.0, "0%"),
        ]),
        "{day}"
    );
    let search_1 = json!({
        "label": "Search 1", "nb_visits": 2, "nb_hits": 6, "sum_time_spent": 468,
        "sum_bandwidth": 0, "nb_hits_with_bandwidth": 0, "min_bandwidth": null,
        "max_bandwidth": null, "nb_pages_per_search": 3, "avg_bandwidth": 0,
        "avg_time_on_page": 78, "bounce_rate": "0%", "exit_rate": "0%",
        "segment": "siteSearchKeyword==Search+1"
    });
    assert_eq!(day[0], search_1, "no internal no-result column");
    let keys = |row: &Value| -> Vec<String> {
        row.as_object()
            .map(|object| object.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys(&day[0]), keys(&search_1), "Matomo's order");
    assert_eq!(day[1]["exit_nb_visits"], json!(1));
    assert_eq!(
        day[2]["segment"],
        json!("siteSearchKeyword==No+Result+Keyword%21")
    );

    let month = report(&api, &token, "getSiteSearchKeywords", 1, "month").await?;
    assert_eq!(
        keywords(&month),
        expected(&[
            ("No Result Keyword!", 2, 2, 288, 1.0, "0%"),
            ("Search 1", 2, 6, 468, 3.0, "0%"),
            ("Search 2", 2, 2, 72, 1.0, "50%"),
            ("Final tüte Keyword Searched for now", 1, 1, 0, 1.0, "100%"),
            ("Keyword - Tracking API", 1, 2, 54, 2.0, "0%"),
        ]),
        "{month}"
    );

    let no_result = report(&api, &token, "getSiteSearchNoResultKeywords", 1, "month").await?;
    assert_eq!(
        keywords(&no_result),
        expected(&[("No Result Keyword!", 2, 2, 288, 1.0, "0%")]),
        "{no_result}"
    );
    let no_result = report(&api, &token, "getSiteSearchNoResultKeywords", 1, "day").await?;
    assert_eq!(
        keywords(&no_result),
        expected(&[("No Result Keyword!", 1, 1, 36, 1.0, "0%")]),
        "{no_result}"
    );

    let categories = report(&api, &token, "getSiteSearchCategories", 1, "day").await?;
    assert_eq!(
        categories,
        json!([{
            "label": "Search Category", "nb_visits": 2, "nb_actions": 3,
            "nb_pages_per_search": 1.5, "segment": "siteSearchCategory==Search+Category"
        }])
    );
    let categories = report(&api, &token, "getSiteSearchCategories", 1, "month").await?;
    let labels: Vec<(&str, &Value)> = categories
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    (
                        row["label"].as_str().unwrap_or(""),
                        &row["nb_pages_per_search"],
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        labels,
        [
            ("Search Category", &json!(1.5)),
            ("Bad No Result Category :(", &json!(1)),
            ("Category", &json!(1)),
        ]
    );

    let titles = report(&api, &token, "getPageTitlesFollowingSiteSearch", 1, "day").await?;
    let rows: Vec<(&str, &Value, &Value, &Value)> = titles
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    (
                        row["label"].as_str().unwrap_or(""),
                        &row["nb_hits"],
                        &row["sum_time_spent"],
                        &row["nb_hits_following_search"],
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        rows,
        [
            (" Im just a page", &json!(1), &json!(36), &json!(1)),
            (
                " This is a pageview, not a Search - IS_FOLLOWING_SEARCH ONCE",
                &json!(2),
                &json!(216),
                &json!(1)
            ),
        ],
        "{titles}"
    );
    let urls = report(&api, &token, "getPageUrlsFollowingSiteSearch", 1, "day").await?;
    let labels: Vec<&str> = urls
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| row["label"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        labels,
        [
            "/index.htm",
            // Labels keep the tracker's HTML escaping (as in Matomo's
            // JSON; its XML shows the same `&amp;` either way).
            "/index.htm?random=PAGEVIEW, NOT SEARCH&mykwd=&IS_FOLLOWING_SEARCH ONCE"
        ],
        "{urls}"
    );

    // Site 2 searches with the global parameters.
    let site2 = report(&api, &token, "getSiteSearchKeywords", 2, "day").await?;
    let long = format!("You searched for {}%", "élève, ".repeat(46));
    assert_eq!(
        keywords(&site2),
        expected(&[
            ("No Result Keyword!", 1, 1, 0, 1.0, "100%"),
            ("SHOULD be a Search with no result!", 1, 1, 180, 1.0, "0%"),
            (&long, 1, 1, 180, 1.0, "0%"),
        ]),
        "{site2}"
    );
    let categories = report(&api, &token, "getSiteSearchCategories", 2, "day").await?;
    assert_eq!(
        categories,
        json!([{
            "label": "Bad No Result Category bis :(", "nb_visits": 1, "nb_actions": 1,
            "nb_pages_per_search": 1,
            "segment": "siteSearchCategory==Bad+No+Result+Category+bis+%3A%28"
        }])
    );

    let summary = report(&api, &token, "get", 1, "day").await?;
    assert_eq!(
        (&summary["nb_pageviews"], &summary["nb_uniq_pageviews"]),
        (&json!(4), &json!(3))
    );
    assert_eq!(
        (&summary["nb_searches"], &summary["nb_keywords"]),
        (&json!(9), &json!(3))
    );
    let summary = report(&api, &token, "get", 1, "month").await?;
    assert_eq!(
        (&summary["nb_searches"], &summary["nb_keywords"]),
        (&json!(13), &json!(5))
    );
    Ok(())
}
