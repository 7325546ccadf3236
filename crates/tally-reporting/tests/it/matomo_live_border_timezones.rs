//! Matomo's `ApiBorderTimezonesTest` (plugins/Live/tests/System in
//! matomo-org/matomo) on its fixture `TwoSitesWithBorderTimezones`: two
//! sites at the ends of the time zone range, `UTC-12` (site 1) and
//! `UTC+14` (site 2), each with one visitor's three visits at 18:00 on
//! 2010-01-31 and 00:00 and 06:00 on 2010-02-01, site-local time (the
//! visitor's clock says the same), to `http://example.org/time/offset/<n>`
//! titled `incredible title <n>` (n = -1, 0, 1), sent in one bulk request
//! (so without the user agent and language headers). The visitor profile
//! must place the visits on the right local days and times.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, NewSiteParams, Principal};
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{FixtureApi, keep_full_ips, reporting_api, tracker_routes, user_with_token};
use crate::php_tracker::{At, PhpTracker};

/// The fixture's `$dateTime`.
const DATE_TIME: PrimitiveDateTime = datetime!(2010-02-01 11:22:33);

/// The sites, the visits, and the API (at a clock long after them, as
/// Matomo's run; the test leaves out what depends on it).
async fn fixture() -> anyhow::Result<(TestDb, FixtureApi)> {
    let db = TestDb::new()?;
    let zones = [("UTC-12", -12), ("UTC+14", 14)];
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for (zone, _) in zones {
            let params = NewSiteParams {
                timezone: Some(zone.to_owned()),
                start_date: Some(DATE_TIME - Duration::days(1)),
                ..NewSiteParams::new("Piwik test", ["http://piwik.net/"])
            };
            management::add_site(&mut conn, &root, &params)?;
        }
        keep_full_ips(&mut conn)?;
        user_with_token(&mut conn, "root", None)?
    };
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    for (idsite, (_, hours)) in (1..).zip(zones) {
        let mut t = PhpTracker::new(idsite, &token, &format!("b0{idsite:014}"), DATE_TIME);
        for offset in -1_i64..=1 {
            let local = datetime!(2010-02-01 00:00) + Duration::hours(offset * 6);
            t.force_new_visit();
            t.at = At::Datetime(local - Duration::hours(hours));
            let (h, m, s) = (local.hour(), local.minute(), local.second());
            t.set_local_time(h.into(), m.into(), s.into());
            t.url = format!("http://example.org/time/offset/{offset}");
            let query = t.page_view(&format!("incredible title {offset}"));
            t.ok(&router, &query).await?;
            // A bulk request's PHP tracker sends the user agent and the
            // language with its first request only.
            t.set_user_agent("");
            t.lang = String::new();
        }
    }
    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2026-11-16 12:00 UTC),
    };
    Ok((db, api))
}

/// What one visit of the profile must say: id, `serverDate` (UTC),
/// `visitServerHour` (UTC), `lastActionTimestamp`, `serverTimePretty` and
/// `serverDatePretty` (site-local), the action's `serverTimePretty` and
/// `timestamp` (Matomo's: the local wall-clock time read as UTC),
/// `visitCount`, `secondsSinceFirstVisit`, `secondsSinceLastVisit`, and
/// the device of the visit (the first request alone had the headers).
struct Expected {
    id: u32,
    server_date: &'static str,
    server_hour: u32,
    last_action: i64,
    time_pretty: &'static str,
    date_pretty: &'static str,
    action_pretty: &'static str,
    action_timestamp: i64,
    count: u32,
    since_first: u32,
    since_last: u32,
    browser: &'static str,
}

/// The visits of the site's visitor in the profile, newest first.
fn check_profile(profile: &Value, visits: &[Expected]) {
    assert_eq!(profile["totalVisits"], 3);
    assert_eq!(profile["totalActions"], 3);
    assert_eq!(profile["totalPageViews"], 3);
    let last = profile["lastVisits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(last.len(), visits.len());
    for (visit, want) in last.iter().zip(visits) {
        let what = format!("visit {}", want.id);
        assert_eq!(visit["idVisit"], want.id, "{what}");
        assert_eq!(visit["visitIp"], "156.5.3.2", "{what}");
        assert_eq!(visit["serverDate"], want.server_date, "{what}");
        assert_eq!(
            visit["visitServerHour"],
            want.server_hour.to_string(),
            "{what}"
        );
        assert_eq!(visit["lastActionTimestamp"], want.last_action, "{what}");
        assert_eq!(visit["firstActionTimestamp"], want.last_action, "{what}");
        assert_eq!(visit["serverTimePretty"], want.time_pretty, "{what}");
        assert_eq!(
            visit["serverTimePrettyFirstAction"], want.time_pretty,
            "{what}"
        );
        assert_eq!(visit["serverDatePretty"], want.date_pretty, "{what}");
        assert_eq!(visit["visitLocalTime"], want.time_pretty, "{what}");
        assert_eq!(visit["visitCount"], want.count, "{what}");
        assert_eq!(visit["secondsSinceFirstVisit"], want.since_first, "{what}");
        assert_eq!(visit["secondsSinceLastVisit"], want.since_last, "{what}");
        assert_eq!(visit["daysSinceFirstVisit"], 0, "{what}");
        assert_eq!(
            visit["visitorType"],
            if want.count == 1 { "new" } else { "returning" },
            "{what}"
        );
        assert_eq!(visit["browser"], want.browser, "{what}");
        let action = &visit["actionDetails"][0];
        assert_eq!(action["serverTimePretty"], want.action_pretty, "{what}");
        assert_eq!(action["timestamp"], want.action_timestamp, "{what}");
    }
}

/// The three visits, newest first, of a site `hours` from UTC: at local
/// 06:00 and 00:00 on 2010-02-01 and 18:00 on 01-31.
fn visits(first_id: u32, hours: i64, dates: [&'static str; 3]) -> Vec<Expected> {
    let local = [1_265_004_000, 1_264_982_400, 1_264_960_800];
    let pretty = ["06:00:00", "00:00:00", "18:00:00"];
    let action = [
        "Feb 1, 2010 06:00:00",
        "Feb 1, 2010 00:00:00",
        "Jan 31, 2010 18:00:00",
    ];
    let day = [
        "Monday, February 1, 2010",
        "Monday, February 1, 2010",
        "Sunday, January 31, 2010",
    ];
    (0..3)
        .map(|n| {
            let last_action = local[n] - hours * 3600;
            let count = 3 - u32::try_from(n).unwrap_or(0);
            Expected {
                id: first_id + 2 - u32::try_from(n).unwrap_or(0),
                server_date: dates[n],
                server_hour: u32::try_from(last_action % 86_400 / 3600).unwrap_or(0),
                last_action,
                time_pretty: pretty[n],
                date_pretty: day[n],
                action_pretty: action[n],
                action_timestamp: local[n],
                count,
                since_first: (count - 1) * 21_600,
                since_last: if count == 1 { 0 } else { 21_600 },
                browser: if count == 1 { "Firefox 3.6" } else { "Unknown" },
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn visitor_profiles_at_the_time_zone_borders_match_matomo() -> anyhow::Result<()> {
    let (_db, api) = fixture().await?;
    let profile = |site: u32| {
        let api = &api;
        async move {
            api.json(&format!(
                "method=Live.getVisitorProfile&idSite={site}&date=2010-02-01%2011:22:33&period=day"
            ))
            .await
        }
    };
    // UTC-12 (test_utcMinus__Live.getVisitorProfile): the visits are at
    // 06:00, 12:00 and 18:00 UTC on 02-01.
    let minus = profile(1).await?;
    check_profile(
        &minus,
        &visits(1, -12, ["2010-02-01", "2010-02-01", "2010-02-01"]),
    );
    assert_eq!(minus["firstVisit"]["date"], 1_265_004_000);
    assert_eq!(
        minus["firstVisit"]["prettyDate"],
        "Sunday, January 31, 2010"
    );
    assert_eq!(minus["lastVisit"]["date"], 1_265_047_200);
    assert_eq!(minus["lastVisit"]["prettyDate"], "Monday, February 1, 2010");
    // UTC+14 (test_utcPlus__...): at 04:00, 10:00 and 16:00 UTC on 01-31.
    let plus = profile(2).await?;
    check_profile(
        &plus,
        &visits(4, 14, ["2010-01-31", "2010-01-31", "2010-01-31"]),
    );
    assert_eq!(plus["firstVisit"]["date"], 1_264_910_400);
    assert_eq!(plus["firstVisit"]["prettyDate"], "Sunday, January 31, 2010");
    assert_eq!(plus["lastVisit"]["date"], 1_264_953_600);
    assert_eq!(plus["lastVisit"]["prettyDate"], "Monday, February 1, 2010");
    for profile in [&minus, &plus] {
        assert_eq!(profile["visitsAggregated"], 3);
        assert_eq!(
            profile["devices"],
            json!([
                {"type": "Unknown", "count": 2, "icon": "plugins/Morpheus/icons/dist/devices/unknown.png", "devices": [{"name": "Unknown", "count": 2}]},
                {"type": "Desktop", "count": 1, "icon": "plugins/Morpheus/icons/dist/devices/desktop.png", "devices": [{"name": "Generic Desktop", "count": 1}]},
            ])
        );
    }
    Ok(())
}
