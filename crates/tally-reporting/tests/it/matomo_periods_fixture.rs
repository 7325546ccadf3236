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

pub(crate) struct Reports {
    pub(crate) api: Api,
    pub(crate) token: String,
}

impl Reports {
    pub(crate) async fn get(
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

    /// Any query, with the token, answered in `format`: the status and
    /// the body.
    async fn raw(&self, query: &str, format: &str) -> anyhow::Result<(u16, String)> {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&{query}&format={format}&token_auth={}",
                self.token
            ),
            None,
        );
        let api = self.api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        Ok((answer.status, String::from_utf8(answer.body)?))
    }

    /// Any query answered in JSON (which must succeed).
    async fn json(&self, query: &str) -> anyhow::Result<Value> {
        let (status, body) = self.raw(query, "json").await?;
        anyhow::ensure!(status == 200, "{query}: {status} {body}");
        Ok(serde_json::from_str(&body)?)
    }
}

/// The two sites and the traffic (shared with the RSS test of
/// `matomo_timezones_rss_fixture.rs`).
pub(crate) async fn fixture() -> anyhow::Result<(TestDb, Reports)> {
    fixture_with(|site, n| format!("{:016x}", (if site == 1 { 0xa000 } else { 0xb000 }) + n)).await
}

/// [`fixture`] with the visitor id of each day's tracker object given by
/// `visitor(idsite, day index)` (`TrackerWindowLookBackTest` sends one id
/// for all).
pub(crate) async fn fixture_with(
    visitor: impl Fn(u32, usize) -> String,
) -> anyhow::Result<(TestDb, Reports)> {
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
        let mut t = PhpTracker::new(1, &token, &visitor(1, n), day);
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
            let mut t = PhpTracker::new(2, &token, &visitor(2, n), day);
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
    // TrackerWindowLookBack: matomo_past_visits_fixture.rs, with its
    // visitor id.

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
            ("http://fb.me/?q=sdlfjs&n=slfjsd", 1, 2, 361, 0),
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

/// A `MultiSites.getAll` row as Matomo's expected outputs show it: the
/// four figures, their evolutions from the previous period (as quotients
/// formatted in percent, with trends), and the metadata.
fn dashboard_row(
    site: Option<(&str, u32)>,
    figures: [i64; 4],
    previous: [i64; 4],
    previous_range: &str,
    period_name: &str,
) -> Value {
    let evolution = |now: i64, before: i64| {
        if now == before {
            ("0%".to_owned(), 0)
        } else if before == 0 {
            ("100%".to_owned(), 1)
        } else {
            (
                format!("{}%", (now - before) * 100 / before),
                (now - before).signum(),
            )
        }
    };
    let mut row = serde_json::Map::new();
    row.insert(
        "label".to_owned(),
        json!(site.map_or("Others", |(name, _)| name)),
    );
    for (name, value) in ["nb_visits", "nb_actions", "nb_pageviews", "revenue"]
        .into_iter()
        .zip(figures)
    {
        row.insert(name.to_owned(), json!(value));
    }
    for (i, name) in ["visits", "actions", "pageviews", "revenue"]
        .into_iter()
        .enumerate()
    {
        let (text, trend) = evolution(figures[i], previous[i]);
        row.insert(format!("{name}_evolution"), json!(text));
        row.insert(format!("{name}_evolution_trend"), json!(trend));
    }
    if let Some((_, idsite)) = site {
        row.insert("idsite".to_owned(), json!(idsite));
    }
    row.insert("ratio".to_owned(), json!(1));
    row.insert(
        "currencySymbol".to_owned(),
        json!(if site.is_some() { "$" } else { "USD" }),
    );
    row.insert("previous_nb_visits".to_owned(), json!(previous[0]));
    row.insert("periodName".to_owned(), json!(period_name));
    row.insert("previousRange".to_owned(), json!(previous_range));
    row.insert("previous_nb_actions".to_owned(), json!(previous[1]));
    row.insert(
        "previous_Actions_nb_pageviews".to_owned(),
        json!(previous[2]),
    );
    row.insert("previous_Goal_revenue".to_owned(), json!(previous[3]));
    if site.is_some() {
        row.insert("group".to_owned(), json!(""));
        row.insert("main_url".to_owned(), json!("http://piwik.net"));
    }
    Value::Object(row)
}

/// Keys in the order the answer gives them.
fn keys(row: &Value) -> Vec<String> {
    row.as_object()
        .map(|row| row.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn visits_over_several_days_give_matomos_all_websites_dashboard() -> anyhow::Result<()> {
    let (_db, r) = fixture().await?;
    let a = Some(("Site AAAAAA", 1));
    let b = Some(("SITE BBbbBB", 2));
    let range = "Nov 13\u{2009}\u{2013}\u{2009}Dec 14, 2010";

    // The range against the 32 days before it, every site.
    let all = r
        .json("method=MultiSites.getAll&period=range&date=2010-12-15,2011-01-15")
        .await?;
    let expected = json!([
        dashboard_row(a, [6, 9, 9, 0], [2, 3, 3, 0], range, "range"),
        dashboard_row(b, [2, 2, 2, 0], [1, 1, 1, 0], range, "range"),
    ]);
    assert_eq!(all, expected);
    assert_eq!(keys(&all[0]), keys(&expected[0]), "Matomo's column order");

    // filter_truncate=0: an Others row, compared with nothing and in the
    // default currency's code.
    let truncated = r
        .json("method=MultiSites.getAll&period=range&date=2010-12-15,2011-01-15&filter_truncate=0")
        .await?;
    assert_eq!(
        truncated,
        json!([dashboard_row(
            None,
            [8, 11, 11, 0],
            [0, 0, 0, 0],
            range,
            "range"
        )])
    );

    // A day, the sites matching a pattern (case ignored).
    assert_eq!(
        r.json("method=MultiSites.getAll&period=day&date=2010-12-15&pattern=aAa")
            .await?,
        json!([dashboard_row(
            a,
            [2, 3, 3, 0],
            [2, 3, 3, 0],
            "Tue, Dec 14",
            "day"
        )])
    );

    // One site: the figures only, renamed ones after the evolutions.
    let one = r
        .json("method=MultiSites.getOne&idSite=1&period=range&date=2010-12-15,2011-01-15")
        .await?;
    assert_eq!(
        keys(&one),
        [
            "nb_visits",
            "nb_actions",
            "visits_evolution",
            "visits_evolution_trend",
            "actions_evolution",
            "actions_evolution_trend",
            "pageviews_evolution",
            "pageviews_evolution_trend",
            "revenue_evolution",
            "revenue_evolution_trend",
            "nb_pageviews",
            "revenue"
        ]
    );
    assert_eq!(
        (
            &one["nb_visits"],
            &one["visits_evolution"],
            &one["nb_pageviews"]
        ),
        (&json!(6), &json!("200%"), &json!(9))
    );

    // Several days: each compared with the day before; days without
    // visits have no rows.
    let days = r
        .json("method=MultiSites.getAll&period=day&date=2010-12-15,2011-01-15")
        .await?;
    let days = days.as_object().cloned().unwrap_or_default();
    assert_eq!(days.len(), 32);
    assert_eq!(
        days["2010-12-15"],
        json!([
            dashboard_row(a, [2, 3, 3, 0], [2, 3, 3, 0], "Tue, Dec 14", "day"),
            dashboard_row(b, [1, 1, 1, 0], [1, 1, 1, 0], "Tue, Dec 14", "day"),
        ])
    );
    assert_eq!(days["2010-12-16"], json!([]));
    assert_eq!(
        days["2011-01-15"],
        json!([dashboard_row(
            a,
            [2, 3, 3, 0],
            [0, 0, 0, 0],
            "Fri, Jan 14",
            "day"
        )])
    );

    // showColumns restricts the figures, and the generic filter then
    // drops the trend.
    let shown = r
        .json("method=MultiSites.getAll&period=day&date=2010-12-15&showColumns=nb_visits,visits_evolution")
        .await?;
    assert_eq!(
        shown[1],
        json!({
            "label": "SITE BBbbBB", "nb_visits": 1, "visits_evolution": "0%", "idsite": 2,
            "ratio": 1, "currencySymbol": "$", "previous_nb_visits": 1, "periodName": "day",
            "previousRange": "Tue, Dec 14", "group": "", "main_url": "http://piwik.net"
        })
    );

    // enhanced=1: conversions too (orders only for ecommerce sites), and
    // sites without visits stay.
    let enhanced = r
        .json("method=MultiSites.getAll&period=day&date=2010-12-16&enhanced=1")
        .await?;
    assert_eq!(enhanced.as_array().map(Vec::len), Some(2), "{enhanced}");
    assert_eq!(
        (
            &enhanced[0]["nb_conversions"],
            &enhanced[0]["nb_conversions_evolution"]
        ),
        (&json!(0), &json!("0%"))
    );
    assert!(enhanced[0].get("orders").is_none(), "{enhanced}");
    assert!(
        enhanced[0].get("ecommerce_revenue_evolution").is_none(),
        "{enhanced}"
    );

    // lastN: no previous period, so no evolution.
    let last = r
        .json("method=MultiSites.getAll&period=month&date=last2")
        .await?;
    for (_, month) in last.as_object().cloned().unwrap_or_default() {
        assert_eq!(month, json!([]), "no visits in the months before NOW");
    }
    let (status, xml) = r
        .raw(
            "method=MultiSites.getAll&period=range&date=2010-12-15,2011-01-15",
            "xml",
        )
        .await?;
    assert_eq!(status, 200);
    assert!(
        xml.contains(&format!("<previousRange>{range}</previousRange>")),
        "{xml}"
    );
    Ok(())
}

#[tokio::test]
async fn all_websites_dashboard_refuses_what_matomo_refuses() -> anyhow::Result<()> {
    let (_db, r) = fixture().await?;
    for (query, message) in [
        (
            "method=MultiSites.getOne&idSite=9&period=day&date=2010-12-15",
            "idsite 9",
        ),
        (
            "method=MultiSites.getAll&period=decade&date=2010-12-15",
            "decade",
        ),
        (
            "method=MultiSites.getAll&period=day&date=2010-13-45",
            "2010-13-45",
        ),
        (
            "method=MultiSites.getOne&idSite=x&period=day&date=today",
            "idSite",
        ),
    ] {
        let (status, body) = r.raw(query, "json").await?;
        assert_eq!(status, 200, "Matomo answers errors with 200: {body}");
        assert!(body.contains("\"result\":\"error\""), "{query}: {body}");
        assert!(body.contains(message), "{query}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn all_websites_dashboard_shows_the_sites_a_user_can_view() -> anyhow::Result<()> {
    let (db, r) = fixture().await?;
    let token = user_with_token(&mut db.conn()?, "viewer", Some(("view", 2)))?;
    let viewer = Reports {
        api: r.api.clone(),
        token,
    };
    let rows = viewer
        .json("method=MultiSites.getAll&period=range&date=2010-12-15,2011-01-15")
        .await?;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["label"], json!("SITE BBbbBB"));
    let (_, body) = viewer
        .raw(
            "method=MultiSites.getOne&idSite=1&period=day&date=2010-12-15",
            "json",
        )
        .await?;
    assert!(
        body.contains("'view' access for the website id = 1"),
        "{body}"
    );
    let anonymous = Reports {
        api: r.api.clone(),
        token: "anonymous".to_owned(),
    };
    let (status, body) = anonymous
        .raw(
            "method=MultiSites.getAll&period=day&date=2010-12-15",
            "json",
        )
        .await?;
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("requires view access for at least one website"),
        "{body}"
    );
    Ok(())
}
