//! Matomo's `OverwriteUserIdTest` (plugins/UserId/tests/System in
//! matomo-org/matomo) on its fixture `OverwriteUserIdFixture`: with the
//! tracker's `enable_userid_overwrites_visitorid` off, users 1 to 3 each
//! send two page views a minute apart (user n `n - 1` seconds after user 1),
//! each with a new visitor id (`cid`, the first 16 hex digits of
//! `md5("<visit><user index><user id>")`) and IP `10.10.10.<n><visit>`, in
//! one bulk request from 2010-02-01 11:22:33. The visitor ids are kept, so
//! every page view is a visit of its own and every user two visitors.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::common::{
    FixtureApi, encode, keep_full_ips, matomo_site, reporting_api, send, tracker_routes,
};
use crate::php_tracker::{At, FIXTURE_UA, PhpTracker};

/// The fixture's `$dateTime`.
const DATE_TIME: PrimitiveDateTime = datetime!(2010-02-01 11:22:33);

/// `substr(md5($numVisits . $key . $userId), 0, 16)` by user, then visit.
const VISITOR_IDS: [[&str; 2]; 3] = [
    ["22df11a616c8e9ce", "923b9649ccc09831"],
    ["455978c3735d4f29", "1f134628c21adca1"],
    ["0adc07bae6ce1060", "ffaaf91eb80d9e79"],
];

async fn fixture() -> anyhow::Result<(TestDb, FixtureApi)> {
    let (db, token) = matomo_site(DATE_TIME - Duration::days(1), |_| {}, &[])?;
    keep_full_ips(&mut db.conn()?)?;
    let config = tally_tracking::http::TrackerConfig {
        enable_userid_overwrites_visitorid: false,
        ..tally_tracking::http::TrackerConfig::default()
    };
    let router = tracker_routes(&db, &config)?;
    let mut t = PhpTracker::new(1, &token, "0123456789abcdef", DATE_TIME);
    let mut requests = Vec::new();
    for (key, (user, ids)) in
        (0_i64..).zip(["user1", "user2", "user3"].into_iter().zip(VISITOR_IDS))
    {
        for (visit, id) in (0_i64..).zip(ids) {
            t.set_user_id(Some(user), "");
            t.ip = format!("10.10.10.{}{visit}", key + 1);
            t.set_visitor_id(id);
            t.url = format!("http://example.org/my/dir/page{visit}");
            t.at = At::Datetime(DATE_TIME + Duration::minutes(visit) + Duration::seconds(key));
            let mut query = t.page_view(&format!("incredible title {}", visit % 3));
            // A bulk request's PHP tracker sends the user agent and the
            // language with its first request only, as parameters.
            if requests.is_empty() {
                query.push_str(&format!("&ua={}&lang=fr", encode(FIXTURE_UA)));
            }
            requests.push(Value::String(query));
        }
    }
    // `doBulkTrack`: one POST, so one transaction (and consecutive ids).
    let body = json!({"requests": requests, "token_auth": token}).to_string();
    let answer = send(
        &router,
        Request::post("/matomo.php")
            .header("content-type", "application/json")
            .body(Body::from(body))?,
    )
    .await?;
    anyhow::ensure!(answer.status == StatusCode::OK, "{}", answer.text());
    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2026-11-16 12:00 UTC),
    };
    Ok((db, api))
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_visitor_ids_give_two_visitors_per_user_as_matomo() -> anyhow::Result<()> {
    let (_db, api) = fixture().await?;
    // test_overwriteUserId__UserId.getUsers_day: two visits, two visitors,
    // one user each (`idvisitor`, which Matomo's file leaves out, is one of
    // the user's visitor ids).
    let day = api
        .json("method=UserId.getUsers&idSite=1&date=2010-02-01&period=day")
        .await?;
    let users = day.as_array().cloned().unwrap_or_default();
    assert_eq!(users.len(), 3);
    for (row, (user, ids)) in users
        .iter()
        .zip(["user1", "user2", "user3"].into_iter().zip(VISITOR_IDS))
    {
        let mut row = row.clone();
        let idvisitor = row
            .as_object_mut()
            .and_then(|fields| fields.remove("idvisitor"))
            .unwrap_or(Value::Null);
        assert!(ids.iter().any(|id| idvisitor == *id), "{user}: {idvisitor}");
        assert_eq!(
            row,
            json!({
                "label": user, "nb_uniq_visitors": 2, "nb_visits": 2, "nb_actions": 2,
                "nb_users": 1, "max_actions": 1, "sum_visit_length": 0, "bounce_count": 2,
                "nb_visits_converted": 0, "segment": format!("userId=={user}"),
            })
        );
    }
    // _range: the year from 2010-02-01 sums the days' unique counts.
    let range = api
        .json("method=UserId.getUsers&idSite=1&date=2010-02-01,2011-02-01&period=range")
        .await?;
    let rows: Vec<Value> = range
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            json!([
                row["label"],
                row["nb_visits"],
                row["nb_actions"],
                row["sum_daily_nb_uniq_visitors"],
                row["sum_daily_nb_users"],
                row["bounce_count"],
            ])
        })
        .collect();
    assert_eq!(
        rows,
        [
            json!(["user1", 2, 2, 2, 1, 2]),
            json!(["user2", 2, 2, 2, 1, 2]),
            json!(["user3", 2, 2, 2, 1, 2]),
        ]
    );
    // Live: a visit per page view, newest first.
    let visits = api
        .json("method=Live.getLastVisitsDetails&idSite=1&date=2010-02-01,2011-02-01&period=range&doNotFetchActions=1&showColumns=idVisit,userId,visitIp,actions")
        .await?;
    let visit = |id: u32, user: &str, ip: &str| json!({"idVisit": id, "visitIp": ip, "userId": user, "actions": 1});
    assert_eq!(
        visits,
        json!([
            visit(6, "user3", "10.10.10.31"),
            visit(4, "user2", "10.10.10.21"),
            visit(2, "user1", "10.10.10.11"),
            visit(5, "user3", "10.10.10.30"),
            visit(3, "user2", "10.10.10.20"),
            visit(1, "user1", "10.10.10.10"),
        ])
    );
    Ok(())
}
