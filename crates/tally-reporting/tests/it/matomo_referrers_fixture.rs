//! Matomo's system test traffic "two sites, many visits over several days
//! with search engine referrers" (`TwoSitesManyVisitsOverSeveralDays
//! WithSearchEngineReferrers` in matomo-org/matomo, the part on site 1),
//! sent as the PHP tracker's bulk request, and the referrer reports checked
//! against the numbers of Matomo's expected outputs for it
//! (`plugins/Referrers/tests/System/expected/`).
//!
//! Every day from 2010-02-04 to 2010-03-06 at 11:22:33 UTC a new visitor
//! (Firefox 6 on Windows 7, French) arrives on
//! `http://example.org/my/dir/page<d % 4>?foo=bar&baz=bar` from
//! `http://www.referrer<d % 5>.com/theReferrerPage<d % 2>.html` (d: days
//! before the last day), converts the manual goal 1 once and the manual
//! goal 2 (several conversions a visit allowed) twice, the second time six
//! minutes later, and comes back three hours later from a Google search for
//! one of three keywords with `>`, `,`, quotes and other punctuation.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::GoalParams;
use tally_reporting::Api;
use time::macros::{datetime, format_description};
use time::{Duration, PrimitiveDateTime};

use crate::common::{api_json, encode, matomo_site, reporting_api, send, tracker_routes};

/// The last day's first visit; the traffic runs 30 days before it.
const LAST: PrimitiveDateTime = datetime!(2010-03-06 11:22:33);
const UA: &str =
    "Mozilla/5.0 (Windows; U; Windows NT 6.1; fr; rv:1.9.1.6) Gecko/20100101 Firefox/6.0";
const KEYWORDS: [&str; 3] = [
    "free > proprietary",
    "peace \",\" not war",
    "justice )(&^#%$ NOT '\" corruption!",
];

/// PHP's `urlencode`, which the fixture uses for the search keyword.
fn php_urlencode(text: &str) -> String {
    encode(text).replace("%20", "+")
}

/// One queued request of the PHP tracker at `at`, with its defaults.
fn request(visitor: usize, at: PrimitiveDateTime, url: &str, urlref: &str, extra: &str) -> String {
    let cdt = at
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!(
        "?idsite=1&rec=1&apiv=1&_id={visitor:016x}&cdt={}&cip=156.5.3.2&ua={}&lang=fr\
         &h=12&m=34&s=6&res=1024x768&cookie=1&fla=1&java=1&url={}&urlref={}{extra}",
        encode(&cdt),
        encode(UA),
        encode(url),
        encode(urlref),
    )
}

async fn report(
    api: &Api,
    token: &str,
    method: &str,
    period: &str,
    date: &str,
    extra: &str,
) -> anyhow::Result<Value> {
    api_json(
        api,
        token,
        &format!("method={method}&idSite=1&period={period}&date={date}{extra}"),
    )
    .await
}

/// The fixture's site 1 with its goals and its 155 tracked requests (the
/// row evolution tests read it too); a super user's token.
pub(crate) async fn tracked_site() -> anyhow::Result<(TestDb, String)> {
    let multiple = GoalParams {
        allow_multiple: true,
        ..GoalParams::new("another triggered php", "manually", "", "")
    };
    let (db, token) = matomo_site(
        datetime!(2010-02-01 00:00),
        |site| site.excluded_referrers = Some("https://excludedreferrer123.com".to_owned()),
        &[
            GoalParams::new("triggered php", "manually", "", ""),
            multiple,
        ],
    )?;

    let mut requests = Vec::new();
    for days in (0..=30_usize).rev() {
        #[expect(clippy::cast_possible_wrap, reason = "at most 30 days")]
        let at = LAST - Duration::days(days as i64);
        let url = format!("http://example.org/my/dir/page{}?foo=bar&baz=bar", days % 4);
        let website = format!(
            "http://www.referrer{}.com/theReferrerPage{}.html",
            days % 5,
            days % 2
        );
        let title = format!(
            "&action_name={}",
            encode(&format!("incredible title {}", days % 3))
        );
        requests.push(request(days, at, &url, &website, &title));
        requests.push(request(days, at, &url, &website, "&idgoal=1"));
        requests.push(request(days, at, &url, &website, "&idgoal=2"));
        let later = at + Duration::minutes(6);
        requests.push(request(days, later, &url, &website, "&idgoal=2"));
        let google = format!(
            "http://google.com/search?q={}",
            php_urlencode(KEYWORDS[days % 3])
        );
        let title = format!("&action_name={}", encode("not an incredible title "));
        requests.push(request(
            days,
            at + Duration::hours(3),
            &url,
            &google,
            &title,
        ));
    }
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let bulk = json!({ "requests": requests, "token_auth": token });
    let answer = send(
        &router,
        Request::post("/matomo.php").body(Body::from(bulk.to_string()))?,
    )
    .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        serde_json::from_slice::<Value>(&answer.body)?["tracked"],
        json!(155)
    );

    Ok((db, token))
}

#[tokio::test]
async fn search_engine_and_website_referrers_give_matomos_reports() -> anyhow::Result<()> {
    let (db, token) = tracked_site().await?;
    let api = reporting_api(&db)?;
    let t = token.as_str();

    // test_unformattedMetrics__Referrers.get_year.xml
    let summary = report(
        &api,
        t,
        "Referrers.get",
        "year",
        "2010-01-01",
        "&format_metrics=0",
    )
    .await?;
    assert_eq!(
        summary,
        json!({
            "Referrers_visitorsFromSearchEngines": 31,
            "Referrers_visitorsFromSocialNetworks": 0,
            "Referrers_visitorsFromDirectEntry": 0,
            "Referrers_visitorsFromWebsites": 31,
            "Referrers_visitorsFromCampaigns": 0,
            "Referrers_distinctSearchEngines": 1,
            "Referrers_distinctSocialNetworks": 0,
            "Referrers_distinctKeywords": 3,
            "Referrers_distinctWebsites": 5,
            "Referrers_distinctWebsitesUrls": 10,
            "Referrers_distinctCampaigns": 0,
            "Referrers_visitorsFromDirectEntry_percent": 0,
            "Referrers_visitorsFromSearchEngines_percent": 0.5,
            "Referrers_visitorsFromCampaigns_percent": 0,
            "Referrers_visitorsFromSocialNetworks_percent": 0,
            "Referrers_visitorsFromWebsites_percent": 0.5
        })
    );

    // test_subtableid_valid__Referrers.getKeywordsFromSearchEngineId_year.xml:
    // the keywords of Google, lower-cased, labels HTML-escaped.
    let engines = report(
        &api,
        t,
        "Referrers.getSearchEngines",
        "year",
        "2010-01-01",
        "",
    )
    .await?;
    assert_eq!(engines[0]["label"], json!("Google"), "{engines}");
    let google = engines[0]["idsubdatatable"].clone();
    let keywords = report(
        &api,
        t,
        "Referrers.getKeywordsFromSearchEngineId",
        "year",
        "2010-01-01",
        &format!("&idSubtable={google}"),
    )
    .await?;
    let expected = [
        (
            "free > proprietary",
            11,
            "referrerName==Google;referrerType==search;referrerKeyword==free+%3E+proprietary",
            "http://google.com/search?q=free+%3E+proprietary",
        ),
        (
            "justice )(&^#%$ not '\" corruption!",
            10,
            "referrerName==Google;referrerType==search;\
             referrerKeyword==justice+%29%28%26%5E%23%25%24+not+%27%22+corruption%21",
            "http://google.com/search?q=justice+%29%28%26%5E%23%25%24+not+%27%22+corruption%21",
        ),
        (
            "peace \",\" not war",
            10,
            "referrerName==Google;referrerType==search;referrerKeyword==peace+%22%2C%22+not+war",
            "http://google.com/search?q=peace+%22%2C%22+not+war",
        ),
    ];
    let rows = keywords.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), expected.len(), "{keywords}");
    for (row, (label, visits, segment, url)) in rows.iter().zip(expected) {
        assert_eq!(row["label"], json!(label), "{row}");
        for (column, value) in [
            ("nb_visits", visits),
            ("nb_actions", visits),
            ("max_actions", 1),
            ("sum_visit_length", 0),
            ("bounce_count", visits),
            ("nb_visits_converted", 0),
            ("sum_daily_nb_uniq_visitors", visits),
        ] {
            assert_eq!(row[column], json!(value), "{label} {column}");
        }
        assert_eq!(row["segment"], json!(segment), "{label}");
        assert_eq!(row["url"], json!(url), "{label}");
    }

    // test_Referrers_getReferrerType__API.getProcessedReport_day.xml, the
    // last day: the website visit lasts 6 min 5 s (its conversions count).
    let types = report(
        &api,
        t,
        "Referrers.getReferrerType",
        "day",
        "2010-03-06",
        "",
    )
    .await?;
    let row = |label: &str| {
        types
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["label"] == json!(label)))
            .cloned()
            .unwrap_or(Value::Null)
    };
    for (label, time) in [("Search Engines", 0), ("Websites", 365)] {
        let r = row(label);
        assert_eq!(
            (
                &r["nb_visits"],
                &r["nb_actions"],
                &r["sum_visit_length"],
                &r["bounce_count"],
                &r["segment"],
            ),
            (
                &json!(1),
                &json!(1),
                &json!(time),
                &json!(1),
                &json!(if time == 0 {
                    "referrerType==search"
                } else {
                    "referrerType==website"
                }),
            ),
            "{label}: {types}"
        );
    }

    // The same test's shape over 2010-01-01 to 2010-03-10 by day: each
    // day's rows and row metadata under its long name, empty days empty,
    // and totals over every day (62 visits of one action, 11,315 s).
    let processed = report(
        &api,
        t,
        "API.getProcessedReport",
        "day",
        "2010-01-01,2010-03-10",
        "&apiModule=Referrers&apiAction=getReferrerType&expanded=0",
    )
    .await?;
    assert_eq!(
        processed["prettyDate"],
        json!("January 1\u{2009}–\u{2009}March 10, 2010")
    );
    let data = processed["reportData"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(data.len(), 69);
    assert_eq!(
        data.keys().next().map(String::as_str),
        Some("Friday, January 1, 2010")
    );
    assert_eq!(data["Friday, January 1, 2010"], json!([]));
    let day = &data["Friday, February 5, 2010"];
    assert_eq!(
        (
            &day[0]["label"],
            &day[0]["nb_visits"],
            &day[0]["nb_actions"]
        ),
        (&json!("Search Engines"), &json!(1), &json!(1)),
        "{day}"
    );
    // The processed columns Matomo's getProcessedReport asks for
    // (`filter_add_columns_when_show_all_columns`).
    assert_eq!(
        (
            &day[1]["label"],
            &day[1]["nb_uniq_visitors"],
            &day[1]["nb_actions_per_visit"],
            &day[1]["bounce_rate"]
        ),
        (&json!("Websites"), &json!(1), &json!(1), &json!("100%")),
        "{day}"
    );
    assert_eq!(
        processed["reportMetadata"]["Friday, February 5, 2010"],
        json!([
            {"segment": "referrerType==search", "referrer_type": 2, "idsubdatatable": 2},
            {"segment": "referrerType==website", "referrer_type": 3, "idsubdatatable": 3},
        ])
    );
    assert_eq!(
        processed["reportMetadata"]["Friday, January 1, 2010"],
        json!([])
    );
    // In XML each day is a `<result prettyDate="…">`, empty ones closed.
    let request = tally_reporting::ApiRequest::from_parts(
        &format!(
            "module=API&method=API.getProcessedReport&idSite=1&period=day&date=2010-01-01,2010-03-10&apiModule=Referrers&apiAction=getReferrerType&expanded=0&format=xml&token_auth={t}"
        ),
        None,
    );
    let xml_api = api.clone();
    let answer =
        tokio::task::spawn_blocking(move || xml_api.handle_at(&request, crate::common::NOW))
            .await?;
    let xml = String::from_utf8(answer.body)?;
    for part in [
        "\t<prettyDate>January 1\u{2009}–\u{2009}March 10, 2010</prettyDate>\n",
        "\t<reportData>\n\t\t<result prettyDate=\"Friday, January 1, 2010\" />\n",
        "\t\t<result prettyDate=\"Friday, February 5, 2010\">\n\t\t\t<row>\n\t\t\t\t<label>Search Engines</label>\n",
        "\t<reportMetadata>\n\t\t<result prettyDate=\"Friday, January 1, 2010\" />\n",
        "\t\t<result prettyDate=\"Friday, February 5, 2010\">\n\t\t\t<row>\n\t\t\t\t<segment>referrerType==search</segment>\n\t\t\t\t<referrer_type>2</referrer_type>\n\t\t\t\t<idsubdatatable>2</idsubdatatable>\n\t\t\t</row>\n",
    ] {
        assert!(xml.contains(part), "{part}\n{xml}");
    }
    // Matomo's `test_Referrers_getReferrerType__API.getProcessedReport_day`:
    // every stored column summed over the days, goals included, and the
    // days' `nb_actions_per_visit` summed too (31 days of 1); the rates
    // and averages left out.
    assert_eq!(
        processed["reportTotal"],
        json!({
            "nb_uniq_visitors": 62, "nb_visits": 62, "nb_actions": 62, "nb_users": 0,
            "max_actions": 1, "sum_visit_length": 11315, "bounce_count": 62,
            "nb_visits_converted": 31,
            "goals": {
                "idgoal=1": {"nb_conversions": 31, "nb_visits_converted": 31, "revenue": 0},
                "idgoal=2": {"nb_conversions": 62, "nb_visits_converted": 31, "revenue": 0}
            },
            "nb_conversions": 93, "revenue": 0, "nb_actions_per_visit": 31
        })
    );
    let keys: Vec<&String> = processed["reportTotal"]
        .as_object()
        .map(|total| total.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "nb_uniq_visitors",
            "nb_visits",
            "nb_actions",
            "nb_users",
            "max_actions",
            "sum_visit_length",
            "bounce_count",
            "nb_visits_converted",
            "goals",
            "nb_conversions",
            "revenue",
            "nb_actions_per_visit"
        ]
    );
    Ok(())
}
