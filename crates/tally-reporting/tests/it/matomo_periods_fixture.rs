//! Matomo's system test traffic "visits over several days"
//! (`tests/PHPUnit/Fixtures/VisitsOverSeveralDays.php` in matomo-org/matomo),
//! sent as the PHP tracker sends it, and range and multi-day reports checked
//! against the numbers of Matomo's expected outputs for the tests using it
//! (`OneVisitorOneWebsiteSeveralDaysDateRange*`).
//!
//! On five days (2010-12-14, 12-15, 12-25, 2011-01-15, 01-16) a new visitor
//! (one tracker object a day) comes to site 1 at 01:06 from a social
//! network, views `/homepage` and six minutes later, from another IP,
//! `/sub1/sub2/sub3/news`, then comes back at 02:00 from another social
//! network to view `/news`. On the first three days a visitor comes to
//! site 2 at 01:06 from the second visit's network and views `/homepage`.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, NewSiteParams, Principal};
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{NOW, user_with_token};
use crate::php_tracker::{At, PhpTracker};

const DAYS: [PrimitiveDateTime; 5] = [
    datetime!(2010-12-14 01:00:00),
    datetime!(2010-12-15 01:00:00),
    datetime!(2010-12-25 01:00:00),
    datetime!(2011-01-15 01:00:00),
    datetime!(2011-01-16 01:00:00),
];

const REFERRERS: [&str; 10] = [
    "http://facebook.com/whatever",
    "http://www.facebook.com/another/path",
    "http://fb.me/?q=sdlfjs&n=slfjsd",
    "http://twitter.com/whatever2",
    "http://www.twitter.com/index?a=2334",
    "http://t.co/id/?y=dsfs",
    "http://www.flickr.com",
    "http://xanga.com",
    "http://skyrock.com",
    "http://mixi.jp",
];

fn at(day: PrimitiveDateTime, hours: f64) -> At {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    At::Datetime(day + Duration::seconds(seconds))
}

struct Reports {
    api: Api,
    token: String,
}

impl Reports {
    async fn get(
        &self,
        method: &str,
        site: &str,
        period: &str,
        date: &str,
    ) -> anyhow::Result<Value> {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&method={method}&idSite={site}&period={period}&date={date}\
                 &format=json&token_auth={}",
                self.token
            ),
            None,
        );
        let api = self.api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        anyhow::ensure!(
            answer.status == 200,
            "{method}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        Ok(serde_json::from_slice(&answer.body)?)
    }
}

async fn fixture() -> anyhow::Result<(TestDb, Reports)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for name in ["Site AAAAAA", "SITE BBbbBB"] {
            let params = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                start_date: Some(DAYS[0]),
                ..NewSiteParams::new(name, ["http://piwik.net"])
            };
            management::add_site(&mut conn, &root, &params)?;
        }
        user_with_token(&mut conn, "root", None)?
    };
    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);

    let mut referrers = REFERRERS.iter();
    for (n, day) in DAYS.into_iter().enumerate() {
        let mut t = PhpTracker::new(1, &token, &format!("{:016x}", 0xa000 + n), day);
        t.at = at(day, 0.1);
        t.url = "http://example.org/homepage".to_owned();
        t.referrer = (*referrers.next().unwrap_or(&"")).to_owned();
        let query = t.page_view("ou pas");
        t.ok(&router, &query).await?;
        t.ip = "200.1.15.22".to_owned();
        t.at = at(day, 0.2);
        t.url = "http://example.org/sub1/sub2/sub3/news".to_owned();
        let query = t.page_view("ou pas");
        t.ok(&router, &query).await?;
        t.at = at(day, 1.0);
        t.url = "http://example.org/news".to_owned();
        t.referrer = (*referrers.next().unwrap_or(&"")).to_owned();
        let query = t.page_view("ou pas");
        t.ok(&router, &query).await?;
        if n < 3 {
            let referrer = t.referrer.clone();
            let mut t = PhpTracker::new(2, &token, &format!("{:016x}", 0xb000 + n), day);
            t.at = at(day, 0.1);
            t.url = "http://example.org/homepage".to_owned();
            t.referrer = referrer;
            let query = t.page_view("Second website");
            t.ok(&router, &query).await?;
        }
    }
    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    Ok((db, Reports { api, token }))
}

/// `(label, nb_visits, nb_actions, sum_visit_length, bounce_count)` of
/// each row, and whether every row has the range's columns (the sums of
/// daily unique visitors and users, no `nb_uniq_visitors`).
fn range_rows(rows: &Value) -> Vec<(String, i64, i64, i64, i64)> {
    let rows = rows.as_array().cloned().unwrap_or_default();
    for row in &rows {
        assert!(row.get("nb_uniq_visitors").is_none(), "{row}");
        assert!(row.get("nb_users").is_none(), "{row}");
        assert!(row.get("sum_daily_nb_uniq_visitors").is_some(), "{row}");
        assert_eq!(row["sum_daily_nb_users"], json!(0), "{row}");
    }
    rows.iter()
        .map(|row| {
            (
                row["label"].as_str().unwrap_or("").to_owned(),
                row["nb_visits"].as_i64().unwrap_or(-1),
                row["nb_actions"].as_i64().unwrap_or(-1),
                row["sum_visit_length"].as_i64().unwrap_or(-1),
                row["bounce_count"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn expected(rows: &[(&str, i64, i64, i64, i64)]) -> Vec<(String, i64, i64, i64, i64)> {
    rows.iter()
        .map(|(label, a, b, c, d)| ((*label).to_owned(), *a, *b, *c, *d))
        .collect()
}

#[tokio::test]
async fn visits_over_several_days_give_matomos_range_reports() -> anyhow::Result<()> {
    let (_db, r) = fixture().await?;
    let range = "2010-12-15,2011-01-15";
    assert_eq!(
        r.get("VisitsSummary.get", "1", "range", range).await?,
        json!({
            "nb_visits": 6, "nb_actions": 9, "nb_visits_converted": 0, "bounce_count": 3,
            "sum_visit_length": 1083, "max_actions": 2, "bounce_rate": "50%",
            "nb_actions_per_visit": 1.5, "avg_time_on_site": 181
        })
    );
    assert_eq!(
        r.get("VisitFrequency.get", "1", "range", range).await?,
        json!({
            "nb_visits_new": 3, "nb_actions_new": 6, "nb_visits_converted_new": 0,
            "bounce_count_new": 0, "sum_visit_length_new": 1083, "max_actions_new": 2,
            "bounce_rate_new": "0%", "nb_actions_per_visit_new": 2, "avg_time_on_site_new": 361,
            "nb_visits_returning": 3, "nb_actions_returning": 3,
            "nb_visits_converted_returning": 0, "bounce_count_returning": 3,
            "sum_visit_length_returning": 0, "max_actions_returning": 1,
            "bounce_rate_returning": "100%", "nb_actions_per_visit_returning": 1,
            "avg_time_on_site_returning": 0
        })
    );
    let resolutions = r
        .get("Resolution.getResolution", "1", "range", range)
        .await?;
    assert_eq!(
        range_rows(&resolutions),
        expected(&[("1024x768", 6, 9, 1083, 3)])
    );
    assert_eq!(resolutions[0]["sum_daily_nb_uniq_visitors"], json!(3));
    let countries = r
        .get(
            "UserCountry.getCountry",
            "1",
            "range",
            "2010-12-01,2011-01-15",
        )
        .await?;
    assert_eq!(
        range_rows(&countries),
        expected(&[("France", 8, 12, 1444, 4)])
    );
    assert_eq!(countries[0]["sum_daily_nb_uniq_visitors"], json!(4));
    assert_eq!(countries[0]["code"], json!("fr"));
    // TrackerWindowLookBack: ten visits on site 1 in December and January.
    assert_eq!(
        r.get(
            "VisitsSummary.getVisits",
            "1",
            "range",
            "2010-12-01,2011-01-31"
        )
        .await?,
        json!({"value": 10})
    );

    let pages = r.get("Actions.getPageUrls", "1", "range", range).await?;
    let summary: Vec<_> = pages
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|row| {
            (
                row["label"].as_str().unwrap_or("").to_owned(),
                [
                    row["nb_visits"].clone(),
                    row["nb_hits"].clone(),
                    row["sum_time_spent"].clone(),
                    row["entry_nb_visits"].clone(),
                    row["entry_sum_visit_length"].clone(),
                    row["exit_nb_visits"].clone(),
                    row["sum_daily_nb_uniq_visitors"].clone(),
                    row["avg_time_on_page"].clone(),
                    row["bounce_rate"].clone(),
                    row["exit_rate"].clone(),
                ],
            )
        })
        .collect();
    let null = Value::Null;
    assert_eq!(
        summary,
        vec![
            (
                "/homepage".to_owned(),
                [
                    json!(3),
                    json!(3),
                    json!(1080),
                    json!(3),
                    json!(1083),
                    null.clone(),
                    json!(3),
                    json!(360),
                    json!("0%"),
                    json!("0%")
                ]
            ),
            (
                "/news".to_owned(),
                [
                    json!(3),
                    json!(3),
                    json!(0),
                    json!(3),
                    json!(0),
                    json!(3),
                    json!(3),
                    json!(0),
                    json!("100%"),
                    json!("100%")
                ]
            ),
            (
                "sub1".to_owned(),
                [
                    json!(3),
                    json!(3),
                    json!(0),
                    null.clone(),
                    null.clone(),
                    json!(3),
                    null,
                    json!(0),
                    json!("0%"),
                    json!("100%")
                ]
            ),
        ]
    );
    for row in pages.as_array().cloned().unwrap_or_default() {
        assert!(row.get("nb_uniq_visitors").is_none(), "{row}");
        // PagePerformance's average, 0 without timings, on every row.
        assert_eq!(row["avg_page_load_time"], json!(0), "{row}");
    }
    // The folder's segment names it by the site's main URL (piwik.net),
    // not by the pages' host (`_periodIsRange_expanded_`).
    let sub1 = pages
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["label"] == json!("sub1")))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        sub1["segment"],
        json!("pageUrl=^http%253A%252F%252Fpiwik.net%252Fsub1")
    );
    // January only, flattened (`_periodIsRange_flattened_`): labels start
    // with `/` (getPageUrls prepends one, and the Flattener drops a part's
    // own `/` only after a `/`), and each row's segment is its URL.
    let flat = r
        .get(
            "Actions.getPageUrls",
            "1",
            "range",
            "2011-01-01,2011-02-01&flat=1",
        )
        .await?;
    let rows = flat.as_array().cloned().unwrap_or_default();
    let flat_rows: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                row["label"].as_str().unwrap_or("").to_owned(),
                row["nb_visits"].clone(),
                row["exit_nb_visits"].clone(),
                row["avg_page_load_time"].clone(),
                row["segment"].clone(),
            )
        })
        .collect();
    let segment = |path: &str| {
        json!(format!(
            "pageUrl==http%253A%252F%252Fexample.org%252F{path}"
        ))
    };
    assert_eq!(
        flat_rows,
        vec![
            (
                "/homepage".to_owned(),
                json!(2),
                Value::Null,
                json!(0),
                segment("homepage")
            ),
            (
                "/news".to_owned(),
                json!(2),
                json!(2),
                json!(0),
                segment("news")
            ),
            (
                "/sub1/sub2/sub3/news".to_owned(),
                json!(2),
                json!(2),
                json!(0),
                segment("sub1%252Fsub2%252Fsub3%252Fnews")
            ),
        ]
    );
    Ok(())
}

/// `Referrers.getSocials` over a range for every site: site 1's six
/// networks (ties at one visit by label), the subtables' referrer URLs
/// (ties by label), and each network's domain as `url`.
#[tokio::test]
async fn socials_over_a_range_and_several_days_match_matomo() -> anyhow::Result<()> {
    let (_db, r) = fixture().await?;
    let socials = r
        .get(
            "Referrers.getSocials",
            "all",
            "range",
            "2010-12-13,2011-01-18&expanded=1",
        )
        .await?;
    assert_eq!(
        range_rows(&socials["1"]),
        expected(&[
            ("Facebook", 3, 5, 722, 1),
            ("Twitter", 3, 4, 361, 2),
            ("Flickr", 1, 2, 361, 0),
            ("Mixi", 1, 1, 0, 1),
            ("Skyrock", 1, 2, 361, 0),
            ("Xanga", 1, 1, 0, 1),
        ])
    );
    assert_eq!(
        range_rows(&socials["2"]),
        expected(&[("Twitter", 2, 2, 0, 2), ("Facebook", 1, 1, 0, 1)])
    );
    let facebook = &socials["1"][0];
    assert_eq!(facebook["url"], json!("facebook.com"));
    assert_eq!(
        facebook["logo"],
        json!("plugins/Morpheus/icons/dist/socials/facebook.com.png")
    );
    assert_eq!(
        facebook["segment"],
        json!("referrerType==social;referrerName==Facebook")
    );
    assert_eq!(socials["1"][3]["url"], json!("mixi.jp"));
    assert_eq!(
        range_rows(&facebook["subtable"]),
        expected(&[
            ("http://facebook.com/whatever", 1, 2, 361, 0),
            // Stored as the tracker's sanitised input; Matomo's XML shows
            // `&amp;` for it as for a bare `&`.
            ("http://fb.me/?q=sdlfjs&amp;n=slfjsd", 1, 2, 361, 0),
            ("http://www.facebook.com/another/path", 1, 1, 0, 1),
        ])
    );
    assert_eq!(
        range_rows(&socials["1"][1]["subtable"]),
        expected(&[
            ("http://t.co/id/?y=dsfs", 1, 1, 0, 1),
            ("http://twitter.com/whatever2", 1, 1, 0, 1),
            ("http://www.twitter.com/index?a=2334", 1, 2, 361, 0),
        ])
    );

    // Seven days for every site, the days without traffic empty; a day's
    // network has the unique visitors its URLs sum to.
    let days = r
        .get(
            "Referrers.getSocials",
            "all",
            "day",
            "2010-12-10,2010-12-16",
        )
        .await?;
    let shape = |site: &str| -> Vec<(String, Vec<String>)> {
        days[site]
            .as_object()
            .map(|dates| {
                dates
                    .iter()
                    .map(|(date, rows)| {
                        let labels = rows
                            .as_array()
                            .map(|rows| {
                                rows.iter()
                                    .map(|row| row["label"].as_str().unwrap_or("").to_owned())
                                    .collect()
                            })
                            .unwrap_or_else(|| vec![format!("not a list: {rows}")]);
                        (date.clone(), labels)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let dates = |labels: [&[&str]; 7]| -> Vec<(String, Vec<String>)> {
        (10..=16)
            .zip(labels)
            .map(|(day, labels)| {
                (
                    format!("2010-12-{day}"),
                    labels.iter().map(|label| (*label).to_owned()).collect(),
                )
            })
            .collect()
    };
    assert_eq!(
        shape("1"),
        dates([
            &[],
            &[],
            &[],
            &[],
            &["Facebook"],
            &["Facebook", "Twitter"],
            &[]
        ])
    );
    assert_eq!(
        shape("2"),
        dates([&[], &[], &[], &[], &["Facebook"], &["Twitter"], &[]])
    );
    let first = &days["1"]["2010-12-14"][0];
    assert_eq!(
        [
            &first["nb_uniq_visitors"],
            &first["nb_visits"],
            &first["nb_actions"],
            &first["nb_users"]
        ],
        [&json!(2), &json!(2), &json!(3), &json!(0)]
    );
    Ok(())
}
