//! Goal metrics of the Actions page reports over two days and their week
//! (Matomo's `archiveDayActionsGoals`, the period sum of the nested
//! `goals` column, `CalculateConversionPageRate` and the `idGoal` page
//! modes `-3` / `-4` of the goal-column filters). Expected values are
//! worked out by hand from Matomo's rules:
//!
//! - Monday, visit 1: `/a`, `/b`, then goal 1 (revenue 10): two pages
//!   before it, so each page gets half a conversion and 5 of revenue.
//! - Tuesday, visit 2: `/a`, then goal 1 (10): `/a` gets all of it.
//! - Tuesday, visit 3: `/a`, `/c`, no conversion.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;

use crate::common::{api_json, encode, send, user_with_token};

/// One tracking request of visitor `visitor` at `at` (UTC).
fn hit(token: &str, visitor: &str, at: &str, params: &str) -> String {
    format!(
        "?idsite=1&rec=1&apiv=1&_id={visitor}&cdt={}&token_auth={token}&cip=10.0.0.1{params}",
        encode(at)
    )
}

fn page(path: &str) -> String {
    format!(
        "&url={}&action_name={}",
        encode(&format!("http://example.org{path}")),
        encode(&format!("Page {path}"))
    )
}

fn goal(path: &str) -> String {
    format!(
        "&url={}&idgoal=1&revenue=10",
        encode(&format!("http://example.org{path}"))
    )
}

/// The `goals` column of each row that has one.
fn goals(rows: &Value) -> Vec<(String, Value)> {
    rows.as_array()
        .into_iter()
        .flatten()
        .filter(|row| !row["goals"].is_null())
        .map(|row| {
            (
                row["label"].as_str().unwrap_or("").to_owned(),
                row["goals"].clone(),
            )
        })
        .collect()
}

/// A row's value of `column`, by label.
fn cell(rows: &Value, label: &str, column: &str) -> Value {
    rows.as_array()
        .into_iter()
        .flatten()
        .find(|row| row["label"] == label)
        .map_or(Value::Null, |row| row[column].clone())
}

/// Sends tracking requests through our tracker, each answered 200.
async fn track(db: &TestDb, requests: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);
    for query in requests {
        let answer = send(
            &router,
            Request::get(format!("/matomo.php{query}")).body(Body::empty())?,
        )
        .await?;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text());
    }
    Ok(())
}

/// A site with a manual goal and three visitors: one converts on Monday
/// after two pages, one on Tuesday on its entry page, one does not.
async fn tracked() -> anyhow::Result<(TestDb, String)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let params = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            start_date: Some(datetime!(2010-01-01 00:00)),
            ..NewSiteParams::new("pages", ["http://example.org"])
        };
        management::add_site(&mut conn, &root, &params)?;
        let manual = GoalParams {
            revenue: 10.0,
            ..GoalParams::new("manual", "manually", "", "")
        };
        management::add_goal(&mut conn, &root, 1, &manual)?;
        user_with_token(&mut conn, "root", None)?
    };
    let t = token.as_str();
    let requests = [
        hit(t, "1111111111111111", "2010-03-01 10:00:00", &page("/a")),
        hit(t, "1111111111111111", "2010-03-01 10:01:00", &page("/b")),
        hit(t, "1111111111111111", "2010-03-01 10:02:00", &goal("/b")),
        hit(t, "2222222222222222", "2010-03-02 10:00:00", &page("/a")),
        hit(t, "2222222222222222", "2010-03-02 10:01:00", &goal("/a")),
        hit(t, "3333333333333333", "2010-03-02 12:00:00", &page("/a")),
        hit(t, "3333333333333333", "2010-03-02 12:01:00", &page("/c")),
    ];
    track(&db, requests).await?;
    Ok((db, token))
}

#[tokio::test]
async fn disable_archive_actions_goals_leaves_page_rows_without_goals() -> anyhow::Result<()> {
    let (db, token) = tracked().await?;
    let config = tally_archiving::ArchivingConfig {
        disable_archive_actions_goals: true,
        ..tally_archiving::ArchivingConfig::default()
    };
    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core_with(&config),
        config,
        ReportingConfig::default(),
    );
    let monday = api_json(
        &api,
        &token,
        "method=Actions.getPageUrls&idSite=1&period=day&date=2010-03-01",
    )
    .await?;
    let rows = monday.as_array().map(Vec::len);
    assert_eq!(rows, Some(2), "{monday}");
    assert_eq!(goals(&monday), vec![], "{monday}");
    // The goal itself is still archived.
    let goal = api_json(
        &api,
        &token,
        "method=Goals.get&idSite=1&period=day&date=2010-03-01&idGoal=1",
    )
    .await?;
    assert_eq!(goal["nb_conversions"], json!(1), "{goal}");
    Ok(())
}

#[tokio::test]
async fn page_reports_attribute_conversions_to_the_pages_before_them() -> anyhow::Result<()> {
    let (db, token) = tracked().await?;
    let t = token.as_str();
    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    let report = |method: &str, period: &str, date: &str, extra: &str| {
        format!("method={method}&idSite=1&period={period}&date={date}{extra}")
    };

    // Monday: `/a` and `/b` share the conversion; `/a` was entered on.
    let monday = api_json(
        &api,
        t,
        &report("Actions.getPageUrls", "day", "2010-03-01", ""),
    )
    .await?;
    let half = json!({
        "nb_conversions": 1, "revenue": 10, "nb_conv_pages_before": 2,
        "nb_conversions_attrib": 0.5, "nb_conversions_page_rate": 1,
        "nb_conversions_page_uniq": 1, "revenue_attrib": 5,
    });
    let mut entered = half.clone();
    for (name, value) in [
        ("revenue_entry", json!(10)),
        ("nb_conversions_entry_rate", json!(1)),
        ("revenue_per_entry", json!(10)),
        ("nb_conversions_entry", json!(1)),
    ] {
        entered[name] = value;
    }
    let mut monday_goals = goals(&monday);
    monday_goals.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        monday_goals,
        vec![
            ("/a".to_owned(), json!({ "idgoal=1": entered })),
            ("/b".to_owned(), json!({ "idgoal=1": half })),
        ]
    );

    // Tuesday: `/a` has two entries and one conversion (rate 0.5, 10 / 2
    // per entry); `/c` none.
    let tuesday = api_json(
        &api,
        t,
        &report("Actions.getPageUrls", "day", "2010-03-02", ""),
    )
    .await?;
    assert_eq!(
        goals(&tuesday),
        vec![(
            "/a".to_owned(),
            json!({"idgoal=1": {
                "nb_conversions": 1, "revenue": 10, "nb_conv_pages_before": 1,
                "nb_conversions_attrib": 1, "nb_conversions_page_rate": 1,
                "nb_conversions_page_uniq": 1, "revenue_attrib": 10,
                "revenue_entry": 10, "nb_conversions_entry_rate": 0.5,
                "revenue_per_entry": 5, "nb_conversions_entry": 1,
            }})
        )]
    );

    // The week sums every goal metric, `nb_conv_pages_before` and the
    // entry rates included (Matomo sums the nested array as it is); only
    // the page rate is computed again, against the week's 2 conversions.
    let week = api_json(
        &api,
        t,
        &report("Actions.getPageUrls", "week", "2010-03-01", ""),
    )
    .await?;
    let mut week_goals = goals(&week);
    week_goals.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        week_goals,
        vec![
            (
                "/a".to_owned(),
                json!({"idgoal=1": {
                    "nb_conversions": 2, "revenue": 20, "nb_conv_pages_before": 3,
                    "nb_conversions_attrib": 1.5, "nb_conversions_page_rate": 1,
                    "nb_conversions_page_uniq": 2, "revenue_attrib": 15,
                    "revenue_entry": 20, "nb_conversions_entry_rate": 1.5,
                    "revenue_per_entry": 15, "nb_conversions_entry": 2,
                }})
            ),
            (
                "/b".to_owned(),
                json!({"idgoal=1": {
                    "nb_conversions": 1, "revenue": 10, "nb_conv_pages_before": 2,
                    "nb_conversions_attrib": 0.5, "nb_conversions_page_rate": 0.5,
                    "nb_conversions_page_uniq": 1, "revenue_attrib": 5,
                }})
            ),
        ]
    );

    // The Goals page views of the Actions reports: `idGoal=-3` adds the
    // attribution columns per goal, `-4` the entry ones (Matomo's
    // AddColumnsProcessedMetricsGoal and its GoalSpecific metrics).
    let pages = api_json(
        &api,
        t,
        &report(
            "Actions.getPageUrls",
            "week",
            "2010-03-01",
            "&filter_update_columns_when_show_all_goals=1&idGoal=-3",
        ),
    )
    .await?;
    for (column, a, b) in [
        ("goal_1_nb_conversions", json!(2), json!(1)),
        ("goal_1_revenue", json!(20), json!(10)),
        ("goal_1_nb_conversions_attrib", json!(1.5), json!(0.5)),
        ("goal_1_revenue_attrib", json!(15), json!(5)),
        // Not among the percentages `format_metrics=bc` formats.
        ("goal_1_nb_conversions_page_rate", json!(1), json!(0.5)),
    ] {
        assert_eq!(cell(&pages, "/a", column), a, "/a {column}: {pages}");
        assert_eq!(cell(&pages, "/b", column), b, "/b {column}: {pages}");
    }
    assert_eq!(cell(&pages, "/c", "goal_1_nb_conversions_attrib"), json!(0));
    assert!(cell(&pages, "/a", "goal_1_nb_conversions_entry").is_null());

    // Entry pages: `/a` was entered 3 times in the week, converting twice;
    // revenue per entry is the goal's whole revenue over the entries.
    let entries = api_json(
        &api,
        t,
        &report(
            "Actions.getEntryPageUrls",
            "week",
            "2010-03-01",
            "&filter_update_columns_when_show_all_goals=1&idGoal=-4",
        ),
    )
    .await?;
    assert_eq!(cell(&entries, "/a", "entry_nb_visits"), json!(3));
    for (column, value) in [
        ("goal_1_nb_conversions_entry", json!(2)),
        ("goal_1_revenue_per_entry", json!(6.67)),
        ("goal_1_revenue_entry", json!(20)),
        ("goal_1_nb_conversions_entry_rate", json!(0.667)),
    ] {
        assert_eq!(cell(&entries, "/a", column), value, "{column}: {entries}");
    }
    assert!(cell(&entries, "/a", "goal_1_nb_conversions_attrib").is_null());
    Ok(())
}

/// Matomo computes an entry page's `nb_conversions_entry_rate` and
/// `revenue_per_entry` per entry action against the entrances of the row
/// the action landed in, and sums them into the row. Three visits enter
/// `/x` on three hosts (three actions, one row, as the page URL report
/// drops the host) and convert once each (revenue 10): each action adds
/// round(1 / 3, 3) = 0.333 and round(10 / 3, 3) = 3.333, so the row holds
/// 0.999 and 9.999 (ImportLogsTest's 5.999 and 30.001 come from the same
/// rule), not 1 and 10. The processed `idGoal=-4` columns are computed
/// from the sums instead: 3 / 3 and 30 / 3.
#[tokio::test]
async fn entry_rates_of_url_variants_are_taken_against_the_rows_entrances() -> anyhow::Result<()> {
    let (db, token) = tracked().await?;
    let t = token.as_str();
    let on = |host: &str| {
        let url = encode(&format!("http://{host}/x"));
        (
            format!("&url={url}&action_name=X"),
            format!("&url={url}&idgoal=1&revenue=10"),
        )
    };
    let mut requests = Vec::new();
    // An hour apart: the same IP and browser would otherwise be one visit.
    for (visitor, host, hour) in [
        ("4444444444444444", "example.org", 10),
        ("5555555555555555", "shop.example.org", 11),
        ("6666666666666666", "blog.example.org", 12),
    ] {
        let (view, conversion) = on(host);
        let at = |minute: u8| format!("2010-03-03 {hour}:0{minute}:00");
        requests.push(hit(t, visitor, &at(0), &view));
        requests.push(hit(t, visitor, &at(1), &conversion));
    }
    track(&db, requests).await?;
    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    let day = "idSite=1&period=day&date=2010-03-03";
    let entries = api_json(&api, t, &format!("method=Actions.getEntryPageUrls&{day}")).await?;
    assert_eq!(
        cell(&entries, "/x", "entry_nb_visits"),
        json!(3),
        "{entries}"
    );
    assert_eq!(
        cell(&entries, "/x", "goals"),
        json!({"idgoal=1": {
            "nb_conversions": 3, "revenue": 30, "nb_conv_pages_before": 1,
            "nb_conversions_attrib": 3, "nb_conversions_page_rate": 1,
            "nb_conversions_page_uniq": 3, "revenue_attrib": 30,
            "revenue_entry": 30, "nb_conversions_entry_rate": 0.999,
            "revenue_per_entry": 9.999, "nb_conversions_entry": 3,
        }}),
        "{entries}"
    );
    let processed = api_json(
        &api,
        t,
        &format!(
            "method=Actions.getEntryPageUrls&{day}\
             &filter_update_columns_when_show_all_goals=1&idGoal=-4"
        ),
    )
    .await?;
    for (column, value) in [
        ("goal_1_nb_conversions_entry", json!(3)),
        ("goal_1_revenue_entry", json!(30)),
        ("goal_1_nb_conversions_entry_rate", json!(1)),
        ("goal_1_revenue_per_entry", json!(10)),
    ] {
        assert_eq!(
            cell(&processed, "/x", column),
            value,
            "{column}: {processed}"
        );
    }
    Ok(())
}
