//! Matomo's `ApiCounterTest` (plugins/Live/tests/System in
//! matomo-org/matomo): `Live.getCounters` at Matomo's mocked clock,
//! 2018-02-03 04:45:40 UTC, on a site with two manually triggered goals.
//!
//! Twenty visitors (`cid` the first 16 hex digits of `md5(i * 1000)`), each
//! `i` seconds-apart step `t = now - i * 10` (`i * 30` from `i = 16`, so
//! that the first sixteen stay within five minutes): a page view and goal
//! 1 at `t - 600` (a new visit), a page view at `t - 1` (same visit), and
//! at `t` a page view and goal 2, in a new visit when `i % 6 == 0`.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::GoalParams;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{FixtureApi, matomo_site, reporting_api, tracker_routes, user_with_token};
use crate::php_tracker::PhpTracker;

/// `Tests.now` of the test.
const NOW: PrimitiveDateTime = datetime!(2018-02-03 04:45:40);

/// `substr(md5($i * 1000), 0, 16)` for `i` in 0..20.
const VISITOR_IDS: [&str; 20] = [
    "cfcd208495d565ef",
    "a9b7ba70783b617e",
    "08f90c1a41715536",
    "e93028bdc1aacdfb",
    "1bd69c7df3112fb9",
    "a35fe7f7fe8217b4",
    "a8c6dd982010fce8",
    "708be71b9ab6e0a8",
    "67ff32d40fb51f1a",
    "d5ab8dc7ef67ca92",
    "b7a782741f667201",
    "33d6548e48d4318c",
    "831bb3dd5d09fb05",
    "c7bc77c261dc5671",
    "5898493fbdf4a44a",
    "3f74a886c7f84169",
    "67510c8942bad17d",
    "b1d4b6452378d64c",
    "c92b26f68689c7af",
    "e9cf01c03f0979eb",
];

/// The site (created 2013-01-23 01:23:45) with goals `MyName` and
/// `MyGoal`, the API at the test's clock, and when `track` the visits.
async fn fixture(track: bool) -> anyhow::Result<(TestDb, FixtureApi)> {
    let goals = [
        GoalParams::new("MyName", "manually", "", "contains"),
        GoalParams::new("MyGoal", "manually", "", "contains"),
    ];
    let (db, token) = matomo_site(datetime!(2013-01-23 01:23:45), |_| {}, &goals)?;
    if track {
        let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
        let mut t = PhpTracker::new(1, &token, "0000000000000000", NOW);
        for (i, visitor) in (0_i64..).zip(VISITOR_IDS) {
            let factor = if i > 15 { 30 } else { 10 };
            let at = NOW - Duration::seconds(i * factor);
            t.force_new_visit();
            t.set_visitor_id(visitor);
            t.at = crate::php_tracker::At::Datetime(at - Duration::seconds(600));
            t.url = "http://piwik.net/space/quest/iv".to_owned();
            let query = t.page_view("Space Quest XV");
            t.ok(&router, &query).await?;
            let query = t.goal(1, 0.0);
            t.ok(&router, &query).await?;
            t.at = crate::php_tracker::At::Datetime(at - Duration::seconds(1));
            let query = t.page_view("Space Quest XII");
            t.ok(&router, &query).await?;
            if i % 6 == 0 {
                t.force_new_visit();
            }
            t.at = crate::php_tracker::At::Datetime(at);
            t.url = format!("http://piwik.net/grue/{i}");
            let query = t.page_view("It is pitch black...");
            t.ok(&router, &query).await?;
            let query = t.goal(2, 0.0);
            t.ok(&router, &query).await?;
        }
    }
    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: NOW.assume_utc(),
    };
    Ok((db, api))
}

/// `buildCounter`: Matomo's one-row answer.
fn counter(visits: u32, actions: u32, visitors: u32, converted: u32) -> Value {
    json!([{"visits": visits, "actions": actions, "visitors": visitors, "visitsConverted": converted}])
}

#[tokio::test(flavor = "multi_thread")]
async fn counters_without_visits_are_zero_and_need_view_access() -> anyhow::Result<()> {
    let (db, api) = fixture(false).await?;
    assert_eq!(
        api.json("method=Live.getCounters&idSite=1&lastMinutes=5")
            .await?,
        counter(0, 0, 0, 0)
    );
    // testGetCountersShouldFailIfUserHasNoPermission: a user without
    // access to the site (here: no access at all) gets an error.
    let stranger = {
        let mut conn = db.conn()?;
        tally_management::add_site(
            &mut conn,
            &tally_management::Principal::super_user("test"),
            &tally_management::NewSiteParams::new("Other", ["http://other.example/"]),
        )?;
        user_with_token(&mut conn, "stranger", Some(("view", 2)))?
    };
    let as_stranger = FixtureApi {
        api: api.api.clone(),
        token: stranger,
        now: api.now,
    };
    let (_, body) = as_stranger
        .raw("method=Live.getCounters&idSite=1&lastMinutes=5&format=json")
        .await?;
    assert_eq!(
        serde_json::from_str::<Value>(&body)?,
        json!({"result": "error", "message": "You can't access this resource as it requires 'view' access for the website id = 1."})
    );
    // Out of 1..=2880 minutes is an error.
    for minutes in ["-5", "0", "3000"] {
        let (_, body) = api
            .raw(&format!(
                "method=Live.getCounters&idSite=1&lastMinutes={minutes}&format=json"
            ))
            .await?;
        assert_eq!(
            serde_json::from_str::<Value>(&body)?,
            json!({"result": "error", "message": "lastMinutes only accepts values between 1 and 2880"}),
            "{minutes}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn counters_count_the_last_minutes_as_matomo() -> anyhow::Result<()> {
    let (_db, api) = fixture(true).await?;
    let counters = |extra: &'static str| {
        let api = &api;
        async move {
            api.json(&format!("method=Live.getCounters&idSite=1{extra}"))
                .await
        }
    };
    // Five minutes: the last two page views of visitors 0 to 15, in 16
    // visits plus the 3 split ones (i = 0, 6, 12); goal 2 of each.
    assert_eq!(counters("&lastMinutes=5").await?, counter(19, 32, 16, 16));
    // Twenty minutes: everything (visitsConverted counts conversions).
    assert_eq!(counters("&lastMinutes=20").await?, counter(24, 60, 20, 40));
    // showColumns / hideColumns.
    assert_eq!(
        counters("&lastMinutes=5&hideColumns=visits,actions,visitors,visitsConverted").await?,
        json!([[]])
    );
    assert_eq!(
        counters("&lastMinutes=20&hideColumns=visitsConverted,visitors").await?,
        json!([{"visits": 24, "actions": 60}])
    );
    assert_eq!(
        counters("&lastMinutes=20&showColumns=visits,actions,visitors,visitsConverted").await?,
        counter(24, 60, 20, 40)
    );
    assert_eq!(
        counters("&lastMinutes=20&showColumns=visits,actions").await?,
        json!([{"visits": 24, "actions": 60}])
    );
    assert_eq!(
        counters("&lastMinutes=20&showColumns=visits,actions&hideColumns=actions").await?,
        json!([{"visits": 24}])
    );
    Ok(())
}
