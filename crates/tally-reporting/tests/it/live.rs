//! The Live API over the shared traffic (`common::traffic`): counters of
//! the last minutes at a pinned clock, the visitor log's paging, sorting,
//! dates and segments, the most recent visitor and visit time, access and
//! Matomo's errors for bad input.

use axum::http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::common::Fixture;

const NO_VIEW: &str = r#"{"result":"error","message":"You can't access this resource as it requires 'view' access for the website id = 1."}"#;

/// `query` as the super user, answered as if it were `now`.
async fn at(f: &Fixture, query: &str, now: OffsetDateTime) -> anyhow::Result<(u16, String)> {
    let request = tally_reporting::ApiRequest::from_parts(
        &format!("module=API&{query}&token_auth={}", f.tokens.superuser),
        None,
    );
    let api = f.api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, now)).await?;
    Ok((answer.status, String::from_utf8(answer.body)?))
}

async fn json_at(f: &Fixture, query: &str, now: OffsetDateTime) -> anyhow::Result<Value> {
    let (status, text) = at(f, &format!("{query}&format=json"), now).await?;
    anyhow::ensure!(status == 200, "{query}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

fn counters(visits: i64, actions: i64, visitors: i64, converted: i64) -> Value {
    json!([{
        "visits": visits,
        "actions": actions,
        "visitors": visitors,
        "visitsConverted": converted
    }])
}

#[tokio::test]
async fn counters_count_the_last_minutes_of_the_logs() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let q = |minutes: u32, extra: &str| {
        format!("method=Live.getCounters&idSite=1&lastMinutes={minutes}{extra}")
    };
    // Five minutes after visitor C's visit (09:00 and 09:00:30 on the
    // 11th), the last traffic of site 1. Nothing bounds the window above.
    let after_c = datetime!(2026-11-11 09:05 UTC);
    assert_eq!(
        json_at(&f, &q(10, ""), after_c).await?,
        counters(1, 2, 1, 0)
    );
    assert_eq!(json_at(&f, &q(5, ""), after_c).await?, counters(1, 2, 1, 0));
    // From 09:01 on: C's last action (09:00:30) is older; no visit, and
    // then every counter is 0.
    assert_eq!(json_at(&f, &q(4, ""), after_c).await?, counters(0, 0, 0, 0));
    // From 12:05 on the 10th: C only; from 11:55: B (noon) too.
    assert_eq!(
        json_at(&f, &q(1260, ""), after_c).await?,
        counters(1, 2, 1, 0)
    );
    assert_eq!(
        json_at(&f, &q(1270, ""), after_c).await?,
        counters(2, 3, 2, 0)
    );
    // A day back: A (three page views, the last converting), B and C.
    assert_eq!(
        json_at(&f, &q(1440, ""), after_c).await?,
        counters(3, 6, 3, 1)
    );
    // A segment keeps its visits' actions and conversions only.
    assert_eq!(
        json_at(&f, &q(1440, "&segment=referrerType==direct"), after_c).await?,
        counters(1, 1, 1, 0)
    );
    assert_eq!(
        json_at(&f, &q(1440, "&segment=referrerType==search"), after_c).await?,
        counters(1, 3, 1, 1)
    );
    // Two days back from the tests' clock: nothing.
    assert_eq!(
        json_at(&f, &q(2880, ""), crate::common::NOW).await?,
        counters(0, 0, 0, 0)
    );
    // Other sites' visits are not counted: site 2's only visit is D at
    // 08:00 on the 10th.
    let site2 = |minutes: u32| format!("method=Live.getCounters&idSite=2&lastMinutes={minutes}");
    assert_eq!(
        json_at(&f, &site2(1500), after_c).await?,
        counters(0, 0, 0, 0)
    );
    assert_eq!(
        json_at(&f, &site2(1510), after_c).await?,
        counters(1, 1, 1, 0)
    );
    // showColumns / hideColumns.
    assert_eq!(
        json_at(
            &f,
            &q(1440, "&hideColumns=visitors,visitsConverted"),
            after_c
        )
        .await?,
        json!([{"visits": 3, "actions": 6}])
    );
    assert_eq!(
        json_at(
            &f,
            &q(1440, "&showColumns=visits,actions&hideColumns=actions"),
            after_c
        )
        .await?,
        json!([{"visits": 3}])
    );
    // XML: one row, as Matomo's expected outputs show it.
    let (status, xml) = at(&f, &q(1440, "&format=xml"), after_c).await?;
    assert_eq!(status, 200);
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<visits>3</visits>\n\t\t<actions>6</actions>\n\t\t<visitors>3</visitors>\n\t\t<visitsConverted>1</visitsConverted>\n\t</row>\n</result>"
    );
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_matomos_errors_not_server_errors() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let now = crate::common::NOW;
    let error = |message: &str| format!(r#"{{"result":"error","message":"{message}"}}"#);
    for (query, message) in [
        (
            "method=Live.getCounters&idSite=1&lastMinutes=0",
            error("lastMinutes only accepts values between 1 and 2880"),
        ),
        (
            "method=Live.getCounters&idSite=1&lastMinutes=2881",
            error("lastMinutes only accepts values between 1 and 2880"),
        ),
        (
            "method=Live.getCounters&idSite=1&lastMinutes=ten",
            error("Please specify a value for 'lastMinutes'."),
        ),
        (
            "method=Live.getCounters&idSite=1",
            error("Please specify a value for 'lastMinutes'."),
        ),
        (
            "method=Live.getCounters&idSite=99&lastMinutes=5",
            error("An unexpected website was found in the request: website id was set to '99' ."),
        ),
        (
            "method=Live.getLastVisitsDetails&idSite=99&period=day&date=today",
            error("An unexpected website was found in the request: website id was set to '99' ."),
        ),
        (
            "method=Live.getMostRecentVisitorId&idSite=99",
            error("An unexpected website was found in the request: website id was set to '99' ."),
        ),
        (
            "method=Live.getLastVisits",
            error(
                r"The method 'getLastVisits' does not exist or is not available in the module '\\Piwik\\Plugins\\Live\\API'.",
            ),
        ),
    ] {
        let (status, text) = at(&f, &format!("{query}&format=json"), now).await?;
        assert_eq!(text, message, "{query}");
        assert!(status == 200 || status == 400, "{query}: {status}");
    }
    // Bad periods, dates and segments are errors too, never a 500.
    for query in [
        "method=Live.getLastVisitsDetails&idSite=1&period=fortnight&date=today",
        "method=Live.getLastVisitsDetails&idSite=1&period=day&date=yesteryear",
        "method=Live.getLastVisitsDetails&idSite=1&segment=nosuchthing==1",
        "method=Live.getMostRecentVisitsDateTime&idSite=1&period=day&date=2026-13-45",
    ] {
        let (status, text) = at(&f, &format!("{query}&format=json"), now).await?;
        assert_eq!(status, 200, "{query}: {text}");
        assert!(text.starts_with(r#"{"result":"error""#), "{query}: {text}");
    }
    Ok(())
}

#[tokio::test]
async fn live_methods_need_view_access_to_the_site() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    for method in [
        "Live.getCounters&lastMinutes=30",
        "Live.getLastVisitsDetails&period=day&date=2026-11-10",
        "Live.getMostRecentVisitorId",
        "Live.getMostRecentVisitsDateTime",
        "Live.getVisitorProfile",
    ] {
        let query = format!("method={method}&idSite=1&format=json");
        for (who, token, allowed) in [
            ("no token", None, false),
            ("view", Some(f.tokens.view.as_str()), true),
            ("other site", Some(f.tokens.other_site.as_str()), false),
        ] {
            let answer = match token {
                None => f.call(&query).await?,
                Some(token) => f.call(&format!("{query}&token_auth={token}")).await?,
            };
            if allowed {
                assert_eq!(answer.status, StatusCode::OK, "{method} as {who}");
                assert!(
                    !answer.text().starts_with(r#"{"result":"error""#),
                    "{method} as {who}: {}",
                    answer.text()
                );
            } else {
                assert_eq!(answer.text(), NO_VIEW, "{method} as {who}");
                assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} as {who}");
            }
        }
    }
    Ok(())
}

fn visit_ids(visits: &Value) -> Vec<i64> {
    visits
        .as_array()
        .map(|visits| {
            visits
                .iter()
                .filter_map(|visit| visit["idVisit"].as_i64())
                .collect()
        })
        .unwrap_or_default()
}

fn visitors(visits: &Value) -> Vec<String> {
    visits
        .as_array()
        .map(|visits| {
            visits
                .iter()
                .map(|visit| visit["visitorId"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_visitor_log_pages_sorts_and_filters_in_sql() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let now = crate::common::NOW;
    let month = "method=Live.getLastVisitsDetails&idSite=1&period=month&date=2026-11-10";
    let all = json_at(&f, month, now).await?;
    // Newest last action first: C (11th), B (10th, noon), A (10th, 10:03).
    assert_eq!(
        visitors(&all),
        ["cccccccccccccccc", "bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa"]
    );
    let ids = visit_ids(&all);
    let (c, b, a) = (ids[0], ids[1], ids[2]);
    let page = |extra: &str| format!("{month}{extra}");
    assert_eq!(
        visit_ids(&json_at(&f, &page("&filter_limit=1"), now).await?),
        [c]
    );
    assert_eq!(
        visit_ids(&json_at(&f, &page("&filter_limit=1&filter_offset=1"), now).await?),
        [b]
    );
    assert_eq!(
        visit_ids(&json_at(&f, &page("&filter_limit=2&filter_offset=2"), now).await?),
        [a]
    );
    assert_eq!(
        visit_ids(&json_at(&f, &page("&filter_sort_order=asc"), now).await?),
        [a, b, c]
    );
    assert_eq!(
        visit_ids(&json_at(&f, &page("&filter_limit=-1"), now).await?),
        [c, b, a]
    );
    // The deprecated countVisitorsToFetch replaces limit and offset.
    assert_eq!(
        visit_ids(&json_at(&f, &page("&countVisitorsToFetch=2&filter_offset=1"), now).await?),
        [c, b]
    );
    // Matomo does not sort this report by column (it warns and ignores).
    assert_eq!(
        visit_ids(
            &json_at(
                &f,
                &page("&filter_sort_column=idVisit&filter_sort_order=asc"),
                now
            )
            .await?
        ),
        [a, b, c]
    );
    let eleven = datetime!(2026-11-10 11:00 UTC).unix_timestamp();
    assert_eq!(
        visit_ids(&json_at(&f, &page(&format!("&minTimestamp={eleven}")), now).await?),
        [c, b]
    );
    // Days, ranges, segments (visit and action level).
    let day = "method=Live.getLastVisitsDetails&idSite=1&period=day&date=2026-11-10";
    assert_eq!(visit_ids(&json_at(&f, day, now).await?), [b, a]);
    assert_eq!(
        visit_ids(
            &json_at(
                &f,
                "method=Live.getLastVisitsDetails&idSite=1&period=range&date=2026-11-11,2026-11-12",
                now
            )
            .await?
        ),
        [c]
    );
    assert_eq!(
        visit_ids(&json_at(&f, &page("&segment=referrerType==search"), now).await?),
        [a]
    );
    assert_eq!(
        visit_ids(&json_at(&f, &page("&segment=pageUrl=@hats"), now).await?),
        [c]
    );
    assert_eq!(
        visit_ids(&json_at(&f, &format!("{day}&segment=visitConverted==1"), now).await?),
        [a]
    );
    // No visits: an empty list (`<result />` in XML).
    let none = "method=Live.getLastVisitsDetails&idSite=1&period=day&date=2026-11-12";
    assert_eq!(json_at(&f, none, now).await?, json!([]));
    let (_, xml) = at(&f, &format!("{none}&format=xml"), now).await?;
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result />"
    );

    // Visitor A: three page views and the goal of the last one.
    let visit_a = json_at(&f, &format!("{day}&segment=referrerType==search"), now).await?;
    let visit_a = &visit_a[0];
    let actions = visit_a["actionDetails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let summary: Vec<(Value, Value, Value)> = actions
        .iter()
        .map(|action| {
            (
                action["type"].clone(),
                action["url"].clone(),
                action["timeSpent"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("action"), json!("https://shop.example/"), json!(100)),
            (
                json!("action"),
                json!("https://shop.example/products/shoes"),
                json!(100)
            ),
            (
                json!("action"),
                json!("https://shop.example/thank-you"),
                json!(0)
            ),
            (
                json!("goal"),
                json!("https://shop.example/thank-you"),
                Value::Null
            ),
        ]
    );
    assert_eq!(actions[3]["subtitle"], json!("Thanks (€5 revenue)"));
    assert_eq!(actions[3]["goalPageId"], actions[2]["pageId"]);
    assert_eq!(visit_a["goalConversions"], json!(1));
    assert_eq!(visit_a["siteCurrency"], json!("EUR"));
    assert_eq!(visit_a["siteCurrencySymbol"], json!("€"));
    assert_eq!(visit_a["referrerName"], json!("Google"));
    assert_eq!(visit_a["referrerKeyword"], json!("shoes"));
    // The tracker's visit_total_time (MATOMO-DIFFERENCES.md, Tracker).
    assert_eq!(visit_a["visitDuration"], json!(202));
    assert_eq!(
        visit_a["serverDatePretty"],
        json!("Tuesday, November 10, 2026")
    );
    // doNotFetchActions: the visits without their actions.
    let bare = json_at(&f, &format!("{day}&doNotFetchActions=1"), now).await?;
    for visit in bare.as_array().cloned().unwrap_or_default() {
        assert_eq!(visit["actionDetails"], json!([]));
    }
    assert_eq!(bare[1]["goalConversions"], json!(1));
    Ok(())
}

#[tokio::test]
async fn the_most_recent_visitor_and_visit_time() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let now = crate::common::NOW;
    let recent = |extra: &str| format!("method=Live.getMostRecentVisitorId&idSite=1{extra}");
    assert_eq!(
        json_at(&f, &recent(""), now).await?,
        json!({"value": "cccccccccccccccc"})
    );
    assert_eq!(
        json_at(&f, &recent("&segment=referrerType==direct"), now).await?,
        json!({"value": "bbbbbbbbbbbbbbbb"})
    );
    assert_eq!(
        json_at(&f, &recent("&segment=referrerType==campaign"), now).await?,
        json!({"value": false})
    );
    let (_, xml) = at(&f, &recent("&format=xml"), now).await?;
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>cccccccccccccccc</result>"
    );
    let time = |extra: &str| format!("method=Live.getMostRecentVisitsDateTime{extra}");
    assert_eq!(
        json_at(&f, &time("&idSite=1"), now).await?,
        json!({"value": "2026-11-11 09:00:30"})
    );
    assert_eq!(
        json_at(&f, &time("&idSite=1&period=day&date=2026-11-10"), now).await?,
        json!({"value": "2026-11-10 12:00:00"})
    );
    assert_eq!(
        json_at(&f, &time("&idSite=2&period=day&date=2026-11-11"), now).await?,
        json!({"value": ""})
    );
    Ok(())
}

#[tokio::test]
async fn a_visitor_profile_sums_up_the_visitors_visits() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let now = crate::common::NOW;
    let profile = json_at(
        &f,
        "method=Live.getVisitorProfile&idSite=1&visitorId=aaaaaaaaaaaaaaaa",
        now,
    )
    .await?;
    for (field, value) in [
        ("visitorId", json!("aaaaaaaaaaaaaaaa")),
        ("hasMoreVisits", json!(false)),
        ("totalVisits", json!(1)),
        ("totalActions", json!(3)),
        ("totalOutlinks", json!(0)),
        ("totalPageViews", json!(3)),
        ("totalUniquePageViews", json!(3)),
        ("totalRevisitedPages", json!(0)),
        ("searches", json!([])),
        ("totalGoalConversions", json!(1)),
        ("totalConversionsByGoal", json!({"idgoal=1": 1})),
        ("totalEvents", json!(0)),
        ("hasLatLong", json!(false)),
        ("totalRevenueByGoal", json!({"idgoal=1": 5})),
        ("userId", json!(false)),
        ("visitsAggregated", json!(1)),
        (
            "visitedPages",
            json!([
                {"url": "https://shop.example/", "count": 1},
                {"url": "https://shop.example/products/shoes", "count": 1},
                {"url": "https://shop.example/thank-you", "count": 1}
            ]),
        ),
    ] {
        assert_eq!(profile[field], value, "{field}");
    }
    assert_eq!(
        profile["firstVisit"]["referralSummary"],
        json!("Google (shoes)")
    );
    assert_eq!(profile["lastVisit"]["referrerType"], json!("search"));
    assert_eq!(profile["lastVisits"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        profile["lastVisits"][0]["visitorId"],
        json!("aaaaaaaaaaaaaaaa")
    );
    // Visitor B's visit (noon) is the next one within a day of A's.
    assert_eq!(profile["nextVisitorId"], json!(false));
    assert_eq!(profile["previousVisitorId"], json!("bbbbbbbbbbbbbbbb"));
    // Without a visitor id: the most recent visitor; an unknown one: [].
    let latest = json_at(&f, "method=Live.getVisitorProfile&idSite=1", now).await?;
    assert_eq!(latest["visitorId"], json!("cccccccccccccccc"));
    assert_eq!(
        latest["firstVisit"]["referralSummary"],
        json!("blog.example")
    );
    let unknown = json_at(
        &f,
        "method=Live.getVisitorProfile&idSite=1&visitorId=0123456789abcdef",
        now,
    )
    .await?;
    assert_eq!(unknown, json!([]));
    Ok(())
}

/// A search engine visit without a keyword shows `Keyword not defined` in
/// the visitor log, as Matomo's `Referrers\VisitorDetails` cleans it
/// (`API::getCleanKeyword`); one with a keyword shows it, and other
/// referrer types keep an empty keyword.
#[tokio::test]
async fn a_search_visit_without_keyword_shows_keyword_not_defined() -> anyhow::Result<()> {
    use crate::common::Visit;
    let f = Fixture::new().await?;
    f.track(&[Visit {
        idsite: 1,
        visitor: "eeeeeeeeeeeeeeee",
        start: datetime!(2026-11-12 10:00 UTC),
        referrer: "https://www.google.com/",
        hits: &[(0, "/", "Home")],
    }])
    .await?;
    let visits = json_at(
        &f,
        "method=Live.getLastVisitsDetails&idSite=1&period=month&date=2026-11-12",
        crate::common::NOW,
    )
    .await?;
    let keywords: Vec<(String, String, String)> = visits
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|v| {
                    let text = |key: &str| v[key].as_str().unwrap_or("?").to_owned();
                    (
                        text("visitorId"),
                        text("referrerType"),
                        text("referrerKeyword"),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let of = |visitor: &str| {
        keywords
            .iter()
            .find(|(id, _, _)| id == visitor)
            .map(|(_, kind, keyword)| format!("{kind} {keyword}"))
    };
    assert_eq!(
        of("eeeeeeeeeeeeeeee").as_deref(),
        Some("search Keyword not defined")
    );
    assert_eq!(of("aaaaaaaaaaaaaaaa").as_deref(), Some("search shoes"));
    assert_eq!(of("cccccccccccccccc").as_deref(), Some("website "));
    Ok(())
}

/// The visitor log names a client stored by name (an app or library, as
/// Device Detector reports `Apache-HttpClient`) by that name, as Matomo's
/// `getBrowserName` does (`ImportLogsTest`'s enable-all visit).
#[tokio::test]
async fn a_library_client_is_named_in_the_visitor_log() -> anyhow::Result<()> {
    use crate::common::{Visit, encode};
    let f = Fixture::new().await?;
    f.track_with(
        &[Visit {
            idsite: 1,
            visitor: "ffffffffffffffff",
            start: datetime!(2026-11-12 11:00 UTC),
            referrer: "",
            hits: &[(0, "/", "Home")],
        }],
        &format!("&ua={}", encode("Apache-HttpClient/4.2.1 (java 1.5)")),
    )
    .await?;
    let visits = json_at(
        &f,
        "method=Live.getLastVisitsDetails&idSite=1&period=day&date=2026-11-12",
        crate::common::NOW,
    )
    .await?;
    let visit = &visits[0];
    assert_eq!(
        (
            visit["browserCode"].as_str(),
            visit["browserName"].as_str(),
            visit["browser"].as_str()
        ),
        (
            Some("Apache HTTP Client"),
            Some("Apache HTTP Client"),
            Some("Apache HTTP Client 4.2")
        )
    );
    Ok(())
}
