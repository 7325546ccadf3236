//! Matomo's system test traffic "few visits with set visitor id"
//! (`tests/PHPUnit/Fixtures/FewVisitsWithSetVisitorId.php` in
//! matomo-org/matomo, used by `UserIdAndVisitorIdTest`), sent as the PHP
//! tracker sends it, and the VisitsSummary, Live, Goals and item answers
//! checked against Matomo's expected outputs for it
//! (`test_UserId_VisitorId_*`).
//!
//! Site 1 (ecommerce, goal 1 converted manually), from 2010-03-06
//! 11:22:33 UTC:
//! - two visitors forced with `cid` (one page, then two pages);
//! - a visitor forced with `cid` whose visit a user id (`uid`) continues
//!   six minutes later from the same device (found by fingerprint among
//!   visits without a user id): the visit takes the user id and the
//!   visitor id derived from it;
//! - another user id on that device starts a visit;
//! - that user again from another device: a page, a page without `uid`
//!   (same visitor id), a page from a third device without a user id (a
//!   visit of its own), then a goal and an abandoned cart with the user id
//!   again, which join the user's visit;
//! - eight days later, a known user id and a new one, each with a visit.

use axum::Router;
use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use tally_reporting::Api;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{reporting_api, tracker_routes, user_with_token};
use crate::matomo_live_fixture::answer;
use crate::php_tracker::{At, PhpTracker};

const START: PrimitiveDateTime = datetime!(2010-03-06 11:22:33);
const EMAIL: &str = "email@example.com";
const NEW_EMAIL: &str = "new-email@example.com";

fn at(hours: f64) -> At {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    At::Datetime(START + Duration::seconds(seconds))
}

async fn page(router: &Router, t: &mut PhpTracker, title: &str) -> anyhow::Result<()> {
    let query = t.page_view(title);
    t.ok(router, &query).await
}

/// `trackVisitsSetVisitorId`: two visitors forced with `cid`.
async fn set_visitor_id(router: &Router, token: &str) -> anyhow::Result<()> {
    let mut t = PhpTracker::new(1, token, "0000000000000001", START);
    t.url = "http://example.org/index.htm".to_owned();
    t.set_visitor_id("a13b7c5a62f72dea");
    page(router, &mut t, "incredible title!").await?;
    t.at = at(0.05);
    t.url = "http://example.org/index2.htm".to_owned();
    t.set_visitor_id("f66bc315f2a01a79");
    page(router, &mut t, "incredible title!").await?;
    t.at = at(0.1);
    t.url = "http://example.org/index3.htm".to_owned();
    page(router, &mut t, "incredible title!").await
}

/// `trackVisitsSetUserId`.
async fn set_user_id(router: &Router, token: &str) -> anyhow::Result<()> {
    let mut t = PhpTracker::new(1, token, "0000000000000002", START);
    t.at = at(1.9);
    t.set_visitor_id("6be121d126d93581");
    t.url = "http://example.org/no-user-id-set-but-should-appear-in-user-id-visit".to_owned();
    page(
        router,
        &mut t,
        &format!("no User Id set but it should appear in {EMAIL}!"),
    )
    .await?;

    // The user id wins over the visitor id set with it.
    t.at = at(2.0);
    t.url = "http://example.org/index.htm".to_owned();
    t.set_visitor_id("6ccebef4faef4969");
    t.set_user_id(Some(EMAIL), "");
    page(router, &mut t, "incredible title!").await?;
    t.at = at(2.1);
    page(router, &mut t, "second page").await?;

    // Another user id: a new visit.
    t.at = at(2.2);
    t.set_visitor_id("2f16b4d842cc294d");
    t.set_user_id(Some(NEW_EMAIL), "");
    page(router, &mut t, "a new user id was set -> new visit").await?;

    // The same user from another device.
    let mut t = PhpTracker::new(1, token, "0000000000000003", START);
    t.set_visitor_id("7dcebef4faef4969");
    t.at = at(5.0);
    "67.51.31.21".clone_into(&mut t.ip);
    t.user_agent = Some(
        "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-GB; rv:1.9.2.6) Gecko/20100625 \
         Firefox/3.6.6 (.NET CLR 3.5.30729)"
            .to_owned(),
    );
    t.set_user_id(Some(NEW_EMAIL), "");
    t.url = "http://example.org/home".to_owned();
    page(
        router,
        &mut t,
        "same user id was set -> this is the same unique user",
    )
    .await?;
    t.at = at(5.1);
    page(router, &mut t, "second pageview - by this user id").await?;

    // A third device, not logged in.
    t.set_user_id(None, "0000000000000004");
    t.set_visitor_id("5e15b4d842cc294d");
    "1.2.4.7".clone_into(&mut t.ip);
    t.user_agent = Some("New unique device".to_owned());
    page(
        router,
        &mut t,
        "pageview - should not be tracked by our user id but in a new visit",
    )
    .await?;

    // Logged in: the goal and the cart go to the user's visit.
    t.set_user_id(Some(NEW_EMAIL), "");
    t.at = at(5.2);
    let query = t.goal(1, 0.0);
    t.ok(router, &query).await?;
    t.at = at(5.3);
    t.url = "http://nsa.gov/buy/prism".to_owned();
    t.add_item(
        "sku-007-PRISM",
        "My secret spy tech",
        json!("Surveillance"),
        10_000_000_000.0,
        1,
    );
    let query = t.ecommerce(None, [10_000_000_500.0, 0.0, 0.0, 0.0, 0.0]);
    t.ok(router, &query).await
}

/// `trackVisitsOneWeekLaterSetUserId`.
async fn one_week_later(router: &Router, token: &str) -> anyhow::Result<()> {
    let mut t = PhpTracker::new(1, token, "0000000000000005", START);
    t.set_visitor_id("7dcebef4faef4325");
    t.at = at(8.0 * 24.0);
    t.url = "http://example.org/index.htm".to_owned();
    t.set_user_id(Some(EMAIL), "");
    page(router, &mut t, &format!("Page view by {EMAIL}")).await?;
    t.at = at(8.0 * 24.0 + 0.4);
    let user_id = "new-user-id@one-weeklater";
    t.set_user_id(Some(user_id), "");
    t.set_visitor_id("6ccebef4faef4969");
    page(router, &mut t, &format!("A page view by {user_id}")).await
}

/// Site 1 and its goal, the fixture's traffic, and the Reporting API.
async fn replay() -> anyhow::Result<(TestDb, Api, String)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let params = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            ecommerce: Some(true),
            start_date: Some(START),
            ..NewSiteParams::new("Piwik test", ["http://piwik.net/"])
        };
        management::add_site(&mut conn, &root, &params)?;
        management::add_goal(
            &mut conn,
            &root,
            1,
            &GoalParams::new("triggered js", "manually", "", ""),
        )?;
        user_with_token(&mut conn, "root", None)?
    };
    // One recorder thread: visit ids follow the order of the requests, as
    // Matomo's (several threads reserve blocks of ids each).
    let config = tally_tracking::http::TrackerConfig {
        recorders: 1,
        ..tally_tracking::http::TrackerConfig::default()
    };
    let router = tracker_routes(&db, &config)?;
    set_visitor_id(&router, &token).await?;
    set_user_id(&router, &token).await?;
    one_week_later(&router, &token).await?;
    let api = reporting_api(&db)?;
    Ok((db, api, token))
}

async fn call(api: &Api, token: &str, query: &str) -> anyhow::Result<Value> {
    let (status, body) = answer(api, token, &format!("{query}&format=json")).await?;
    anyhow::ensure!(status == 200, "{query}: {status} {body}");
    Ok(serde_json::from_str(&body)?)
}

const SUMMARY: [&str; 9] = [
    "nb_uniq_visitors",
    "nb_users",
    "nb_visits",
    "nb_actions",
    "nb_visits_converted",
    "bounce_count",
    "sum_visit_length",
    "max_actions",
    "avg_time_on_site",
];

/// The `SUMMARY` columns of a `VisitsSummary.get` answer, `-1` where absent.
fn summary(answer: &Value) -> [i64; 9] {
    SUMMARY.map(|name| answer[name].as_i64().unwrap_or(-1))
}

#[tokio::test]
async fn user_ids_and_visitor_ids_give_matomos_reports() -> anyhow::Result<()> {
    let (_db, api, token) = replay().await?;
    let t = token.as_str();
    let query = |method: &str, period: &str, extra: &str| {
        format!("method={method}&idSite=1&period={period}&date=2010-03-06{extra}")
    };

    // `test_UserId_VisitorId__VisitsSummary.get_*`: years have neither
    // unique visitors nor users.
    for (period, expected) in [
        ("day", [5, 2, 6, 10, 1, 3, 1983, 3, 331]),
        ("week", [5, 2, 6, 10, 1, 3, 1983, 3, 331]),
        ("month", [6, 3, 8, 12, 1, 5, 1983, 3, 248]),
        ("year", [-1, -1, 8, 12, 1, 5, 1983, 3, 248]),
    ] {
        let answer = call(&api, t, &query("VisitsSummary.get", period, "")).await?;
        assert_eq!(summary(&answer), expected, "{period}: {answer}");
    }
    for (period, users) in [("day", 2), ("week", 2), ("month", 3)] {
        let answer = call(&api, t, &query("VisitsSummary.getUsers", period, "")).await?;
        assert_eq!(answer, json!({ "value": users }), "{period}");
    }
    let year = call(&api, t, &query("VisitsSummary.getUsers", "year", "")).await?;
    assert_eq!(
        year,
        json!({
            "result": "error",
            "message": "The metric nb_users is not enabled for the requested period. \
                        Please see this FAQ: https://matomo.org/faq/how-to/faq_113/"
        })
    );

    // `_segmentUserId`: the user's two visits, with the conversion the
    // goal request added to the second.
    let user = "&segment=userId%3D%3Dnew-email%2540example.com";
    let answer = call(&api, t, &query("VisitsSummary.get", "day", user)).await?;
    assert_eq!(summary(&answer), [1, 1, 2, 3, 1, 1, 1081, 2, 541]);
    let goals = call(&api, t, &query("Goals.get", "day", user)).await?;
    for (name, value) in [
        ("nb_conversions", json!(1)),
        ("nb_visits_converted", json!(1)),
        ("revenue", json!(0)),
        ("conversion_rate", json!("50%")),
        ("nb_conversions_new_visit", json!(0)),
        ("nb_conversions_returning_visit", json!(1)),
        ("conversion_rate_returning_visit", json!("100%")),
    ] {
        assert_eq!(goals[name], value, "{name}: {goals}");
    }
    let items = call(
        &api,
        t,
        &query(
            "Goals.getItemsName",
            "day",
            "&segment=visitEcommerceStatus%3D%3DabandonedCart%3BuserId%3D%3Dnew-email%2540example.com\
             &abandonedCarts=1",
        ),
    )
    .await?;
    let item = &items[0];
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
    for (name, value) in [
        ("label", json!("My secret spy tech")),
        ("quantity", json!(1)),
        ("abandoned_carts", json!(1)),
        ("avg_quantity", json!(1)),
        ("conversion_rate", json!("0%")),
        ("segment", json!("productName==My+secret+spy+tech")),
    ] {
        assert_eq!(item[name], value, "{name}: {items}");
    }
    for name in ["revenue", "avg_price"] {
        assert_eq!(item[name].as_f64(), Some(1e10), "{name}: {items}");
    }

    // `_Live.getLastVisitsDetails_month`: the visitor id a user id gives
    // (the first 16 hex digits of its SHA-1) replaces the one of the
    // visit it continues; a visit without `uid` keeps its own.
    let visits = call(
        &api,
        t,
        &query(
            "Live.getLastVisitsDetails",
            "month",
            "&filter_sort_order=asc&filter_limit=-1",
        ),
    )
    .await?;
    let rows: Vec<(i64, &str, &str, &str, usize)> = visits
        .as_array()
        .map(|visits| {
            visits
                .iter()
                .map(|v| {
                    (
                        v["idVisit"].as_i64().unwrap_or(0),
                        v["visitorId"].as_str().unwrap_or_default(),
                        v["userId"].as_str().unwrap_or_default(),
                        v["lastActionDateTime"].as_str().unwrap_or_default(),
                        v["actionDetails"].as_array().map_or(0, Vec::len),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        rows,
        [
            (1, "a13b7c5a62f72dea", "", "2010-03-06 11:22:33", 1),
            (2, "f66bc315f2a01a79", "", "2010-03-06 11:28:33", 2),
            (3, "9395988394d4568d", EMAIL, "2010-03-06 13:28:33", 3),
            (4, "c9ade7a5a103b2ed", NEW_EMAIL, "2010-03-06 13:34:33", 1),
            (6, "5e15b4d842cc294d", "", "2010-03-06 16:28:33", 1),
            (5, "c9ade7a5a103b2ed", NEW_EMAIL, "2010-03-06 16:40:33", 4),
            (7, "9395988394d4568d", EMAIL, "2010-03-14 11:22:33", 1),
            (
                8,
                "72d4b5565daf5546",
                "new-user-id@one-weeklater",
                "2010-03-14 11:46:33",
                1
            ),
        ]
    );
    // The test's own request: `showColumns` keeps those fields of each
    // visit, in the visit's order.
    let shown = call(
        &api,
        t,
        &query(
            "Live.getLastVisitsDetails",
            "month",
            "&showColumns=idVisit,visitorId,userId,lastActionDateTime,actions,actionDetails\
             &filter_sort_order=asc",
        ),
    )
    .await?;
    let fields: Vec<&str> = shown[0]
        .as_object()
        .map(|visit| visit.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        [
            "idVisit",
            "visitorId",
            "actionDetails",
            "lastActionDateTime",
            "userId",
            "actions"
        ]
    );
    assert_eq!(shown[2]["actions"], json!(3), "{shown}");
    // Matomo numbers a page view's title before its URL: the first URL is
    // action 2, the second title's URL 3.
    let page_ids: Vec<&Value> = (0..3)
        .map(|i| &visits[i]["actionDetails"][0]["pageIdAction"])
        .collect();
    assert_eq!(page_ids, [&json!(2), &json!(3), &json!(6)]);
    // The abandoned cart: Matomo shows 10,000,000,000 (its revenue column
    // is a single-precision FLOAT); ours keeps the 500 of shipping.
    let cart = &visits[5]["actionDetails"][3];
    assert_eq!(cart["type"], json!("ecommerceAbandonedCart"), "{cart}");
    assert_eq!(cart["revenue"].as_f64(), Some(10_000_000_500.0), "{cart}");
    Ok(())
}

/// Matomo's `DuplicateActionsTest`: "one visitor, two visits" with a second
/// `log_action` row of the same name, type and hash for every action
/// (what a tracker that failed between two inserts would leave) answers as
/// without them: reports follow the ids the log rows point at.
#[tokio::test]
async fn duplicate_action_names_change_no_report() -> anyhow::Result<()> {
    let (_plain_db, plain, plain_token) = crate::matomo_live_fixture::replay().await?;
    let (db, doubled, token) = crate::matomo_live_fixture::replay().await?;
    {
        let mut conn = db.conn()?;
        let inserted = diesel::RunQueryDsl::execute(
            diesel::sql_query(
                "INSERT INTO log_action (name, type, hash, url_prefix) \
                 SELECT name, type, CRC32(name), url_prefix FROM log_action",
            ),
            &mut conn,
        )?;
        assert!(inserted > 10, "{inserted} actions");
    }
    for method in [
        "VisitsSummary.get",
        "Actions.get",
        "Actions.getPageUrls&expanded=1",
        "Actions.getPageTitles&expanded=1",
        "Actions.getEntryPageUrls&expanded=1",
        "Actions.getExitPageTitles&expanded=1",
        "Actions.getOutlinks&expanded=1",
        "Actions.getDownloads&expanded=1",
        "Actions.getSiteSearchKeywords",
        "Events.getCategory&expanded=1",
        "Contents.getContentNames&expanded=1",
        "Goals.get",
        "Live.getLastVisitsDetails",
    ] {
        let query = format!("method={method}&idSite=1&period=day&date=2010-03-06");
        assert_eq!(
            without_fingerprints(call(&doubled, &token, &query).await?),
            without_fingerprints(call(&plain, &plain_token, &query).await?),
            "{method}"
        );
    }

    // A page view tracked afterwards takes the lowest id of its URL.
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
        id: u32,
    }
    #[derive(diesel::QueryableByName)]
    struct Url {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = db.conn()?;
    let first: Url = diesel::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT name FROM log_action WHERE type = 1 AND url_prefix = 0 \
             ORDER BY idaction LIMIT 1",
        ),
        &mut conn,
    )?;
    let original: Id = diesel::RunQueryDsl::get_result(
        diesel::sql_query("SELECT MIN(idaction) AS id FROM log_action WHERE type = 1 AND name = ?")
            .bind::<diesel::sql_types::Text, _>(&first.name),
        &mut conn,
    )?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut t = PhpTracker::new(1, &token, "0123456789abcdef", START);
    t.url = format!("http://{}", first.name);
    page(&router, &mut t, "again").await?;
    let used: Id = diesel::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT idaction_url AS id FROM log_link_visit_action \
             ORDER BY idlink_va DESC LIMIT 1",
        ),
        &mut conn,
    )?;
    assert_eq!(used.id, original.id, "{}", first.name);
    Ok(())
}

/// A visitor log without its `fingerprint`s, which differ between two
/// databases (the salt of `config_id` is each instance's own).
fn without_fingerprints(mut answer: Value) -> Value {
    if let Some(visits) = answer.as_array_mut() {
        for visit in visits.iter_mut().filter_map(Value::as_object_mut) {
            visit.remove("fingerprint");
        }
    }
    answer
}
