//! Matomo's `GoalReportForDevicesTest` (plugins/DevicesDetection/tests/
//! System in matomo-org/matomo) on its fixture
//! `MultiDeviceGoalConversions`: one ecommerce site with the goal
//! `Goal 1 - Thank you` (title contains `Thank you`, revenue 10, several
//! conversions per visit allowed), converted by hand (`doTrackGoal`) from
//! page views on 2009-01-04 by smartphones, tablets, a television, a
//! feature phone, an undetectable user agent, a desktop and a car browser
//! (the last two known only from their client hints), each a new PHP
//! tracker object (a new visitor id). A goal request more than 30 minutes
//! after the visitor's page view opens a visit of its own, and a visitor
//! with a new id but the same configuration within 30 minutes continues
//! the visit; the device reports carry the goal metrics of their visits.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::GoalParams;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{FixtureApi, encode, matomo_site, reporting_api, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// The fixture's `$dateTime`.
const DATE_TIME: PrimitiveDateTime = datetime!(2009-01-04 00:11:42);

const HTC: &str = "Mozilla/5.0 (Linux; Android 4.2.2; HTC Butterfly Build/JDQ39) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/31.0.1650.59 Mobile Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Mobile/11D167 iPhone6,1/N51AP Zite/2.6";
const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 6_0_1 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) CriOS/31.0.1650.18 Mobile/10A523 Safari/8536.25";
const GALAXY_TAB: &str = "Mozilla/5.0 (Linux; Android 4.2.2; SM-T310 Build/JDQ39) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/33.0.1750.136 Safari/537.36";
const VIEWPAD: &str = "Mozilla/5.0 (Linux; U; Android 2.3;en-us; ViewSonic-ViewPad7e build/ERE27) AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1";
const TV: &str =
    "WebKit/3.7.6, (CE-HTML/1.0 NETTV/3.3.0 NewB) PHILIPS-AVM-2013/2.19 (Philips, BDP5600, wired)";
const FEATURE_PHONE: &str = "Fly_DS123/Q03C_MAUI_Browser/MIDP2.0 Configuration/CLDC-1.1";
const IE_WIN7: &str =
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; Banca Caboto s.p.a.; rv:11.0) like Gecko";

/// `Date::factory($dateTime)->addHour($hours)`.
fn at(hours: f64) -> PrimitiveDateTime {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    DATE_TIME + Duration::seconds(seconds)
}

/// One visitor of the fixture: a new tracker at `start` hours with `ua`
/// and the client hints `uadata` (`setClientHints`, as the PHP tracker
/// encodes them), a page view of `url` titled `title`, and when `goal` is
/// `Some((hours, revenue))` a conversion of goal 1 then.
struct Visitor {
    start: f64,
    ua: &'static str,
    uadata: Option<Value>,
    url: &'static str,
    title: &'static str,
    goal: Option<(f64, f64)>,
}

fn visitors() -> Vec<Visitor> {
    let visitor = |start, ua, url, title, goal| Visitor {
        start,
        ua,
        uadata: None,
        url,
        title,
        goal,
    };
    let index = "http://example.org/index.htm";
    let any = "http://example.org/anypage.php";
    vec![
        // Smartphones.
        visitor(0.0, HTC, index, "0", Some((0.3, 42.256))),
        visitor(0.2, HTC, any, "mine", None),
        visitor(0.2, IPHONE, any, "mine", Some((1.0, 0.0))),
        // Tablets.
        visitor(1.0, IPAD, index, "0", Some((1.6, 42.256))),
        visitor(0.6, GALAXY_TAB, index, "0", None),
        visitor(1.6, VIEWPAD, any, "mine", Some((1.9, 0.0))),
        // Others.
        visitor(1.0, "not detectable", any, "mine", Some((4.0, 42.256))),
        visitor(3.0, TV, any, "mine", None),
        visitor(4.0, FEATURE_PHONE, index, "0", Some((4.2, 0.0))),
        Visitor {
            uadata: Some(json!({
                "platform": "Windows",
                "platformVersion": "14.0.0",
                "uaFullVersion": "95.5.2",
                "fullVersionList": [
                    {"brand": " Not A;Brand", "version": "99"},
                    {"brand": "Chromium", "version": "95"},
                    {"brand": "Microsoft Edge", "version": "95"},
                ],
            })),
            ..visitor(1.6, IE_WIN7, index, "0", Some((1.9, 0.0)))
        },
        Visitor {
            uadata: Some(json!({
                "model": "UltraOcta-T8",
                "platform": "Android",
                "platformVersion": "14.0.0",
                "uaFullVersion": "95.5.2",
                "fullVersionList": [
                    {"brand": " Not A;Brand", "version": "99"},
                    {"brand": "Chromium", "version": "95"},
                ],
                "formFactors": ["Tablet", "Automotive"],
            })),
            ..visitor(1.8, "Some Unknown UA", index, "0", None)
        },
    ]
}

async fn fixture() -> anyhow::Result<(TestDb, FixtureApi)> {
    let goal = GoalParams {
        revenue: 10.0,
        allow_multiple: true,
        ..GoalParams::new("Goal 1 - Thank you", "title", "Thank you", "contains")
    };
    let (db, token) = matomo_site(
        DATE_TIME - Duration::days(1),
        |site| site.ecommerce = Some(true),
        &[goal],
    )?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    for (n, visitor) in (1_u32..).zip(visitors()) {
        let mut t = PhpTracker::new(1, &token, &format!("d0{n:014}"), at(visitor.start));
        t.set_user_agent(visitor.ua);
        t.url = visitor.url.to_owned();
        let hints = visitor
            .uadata
            .as_ref()
            .map(|data| format!("&uadata={}", encode(&data.to_string())))
            .unwrap_or_default();
        let query = t.page_view(visitor.title) + &hints;
        t.ok(&router, &query).await?;
        if let Some((hours, revenue)) = visitor.goal {
            t.at = At::Datetime(at(hours));
            let query = t.goal(1, revenue) + &hints;
            t.ok(&router, &query).await?;
        }
    }
    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2026-11-16 12:00 UTC),
    };
    Ok((db, api))
}

/// A report's rows with visits as `label, nb_uniq_visitors, nb_visits,
/// nb_actions, sum_visit_length, nb_visits_converted, nb_conversions,
/// revenue` (the last two `null` without conversions).
fn rows(report: &Value) -> Vec<Value> {
    report
        .as_array()
        .into_iter()
        .flatten()
        .filter(|row| row["nb_visits"].as_u64().unwrap_or(0) > 0)
        .map(|row| {
            json!([
                row["label"],
                row["nb_uniq_visitors"],
                row["nb_visits"],
                row["nb_actions"],
                row["sum_visit_length"],
                row["nb_visits_converted"],
                row["nb_conversions"],
                row["revenue"],
            ])
        })
        .collect()
}

/// The row labelled `label`.
fn row<'a>(report: &'a Value, label: &str) -> &'a Value {
    report
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["label"] == label))
        .unwrap_or(&Value::Null)
}

// The HTC visit (a page view, the goal 18 minutes later, then the second
// HTC visitor's page view at 12 minutes) lasts 721 s, as in Matomo's
// files: the last request sets the length even when it is earlier.

#[tokio::test(flavor = "multi_thread")]
async fn device_types_carry_goal_metrics_as_matomo() -> anyhow::Result<()> {
    let (_db, api) = fixture().await?;
    let report = api
        .json("method=DevicesDetection.getType&idSite=1&date=2009-01-04&period=day")
        .await?;
    assert_eq!(
        rows(&report),
        [
            json!(["Tablet", 3, 4, 3, 1087, 2, 2, 52.26]),
            json!(["Smartphone", 2, 3, 3, 724, 2, 2, 52.26]),
            json!(["Unknown", 1, 2, 1, 3, 1, 1, 42.26]),
            json!(["Car browser", 1, 1, 1, 0, 0, null, null]),
            json!(["Desktop", 1, 1, 1, 1084, 1, 1, 10]),
            json!(["Feature phone", 1, 1, 1, 724, 1, 1, 10]),
            json!(["Tv", 1, 1, 1, 0, 0, null, null]),
        ]
    );
    let tablet = row(&report, "Tablet");
    assert_eq!(
        tablet["goals"],
        json!({"idgoal=1": {"nb_conversions": 2, "nb_visits_converted": 2, "revenue": 52.26}})
    );
    assert_eq!(tablet["segment"], "deviceType==tablet");
    let car = row(&report, "Car browser");
    assert_eq!(car["segment"], "deviceType==car+browser");
    assert_eq!(
        car["logo"],
        "plugins/Morpheus/icons/dist/devices/car_browser.png"
    );
    // The types without visits follow, in Matomo's order.
    let empty: Vec<&Value> = report
        .as_array()
        .into_iter()
        .flatten()
        .filter(|row| row["nb_visits"] == 0)
        .map(|row| &row["label"])
        .collect();
    assert_eq!(
        empty,
        [
            "Camera",
            "Console",
            "Peripheral",
            "Phablet",
            "Portable media player",
            "Smart display",
            "Smart speaker",
            "Wearable"
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn os_versions_brands_and_models_carry_goal_metrics_as_matomo() -> anyhow::Result<()> {
    let (_db, api) = fixture().await?;
    let report = |method: &'static str| {
        let api = &api;
        async move {
            api.json(&format!(
                "method=DevicesDetection.{method}&idSite=1&date=2009-01-04&period=day"
            ))
            .await
        }
    };
    // Operating systems have no goal metrics in Matomo.
    let os = report("getOsVersions").await?;
    assert_eq!(
        rows(&os),
        [
            json!(["Unknown", 2, 3, 2, 3, 1, null, null]),
            json!(["Android 4.2", 2, 2, 3, 721, 1, null, null]),
            json!(["iOS 6.0", 1, 2, 1, 3, 1, null, null]),
            json!(["iOS 7.1", 1, 2, 1, 3, 1, null, null]),
            json!(["Android 2.3", 1, 1, 1, 1084, 1, null, null]),
            json!(["Android 14.0", 1, 1, 1, 0, 0, null, null]),
            json!(["Java ME", 1, 1, 1, 724, 1, null, null]),
            json!(["Windows 11", 1, 1, 1, 1084, 1, null, null]),
        ]
    );
    // Java ME has no icon of its own in Matomo.
    let java = row(&os, "Java ME");
    assert_eq!(java["logo"], "plugins/Morpheus/icons/dist/os/UNK.png");
    assert_eq!(
        java["segment"],
        "operatingSystemCode==JME;operatingSystemVersion=="
    );
    let brands = report("getBrand").await?;
    assert_eq!(
        rows(&brands),
        [
            json!(["Apple", 2, 4, 2, 6, 2, 2, 52.26]),
            json!(["Unknown", 3, 4, 3, 1087, 2, 2, 52.26]),
            json!(["Fly", 1, 1, 1, 724, 1, 1, 10]),
            json!(["HTC", 1, 1, 2, 721, 1, 1, 42.26]),
            json!(["Philips", 1, 1, 1, 0, 0, null, null]),
            json!(["Samsung", 1, 1, 1, 0, 0, null, null]),
            json!(["ViewSonic", 1, 1, 1, 1084, 1, 1, 10]),
        ]
    );
    assert_eq!(row(&brands, "HTC")["bounce_count"], 0);
    // Models: the visits as Matomo's; the names are our detector's where
    // DeviceDetector has marketing names (MATOMO-DIFFERENCES.md, device
    // detection): Matomo says "iPhone 5S", "Blu-ray Player (BDP5600)",
    // "Galaxy Tab 3 8.0\" WiFi" and "ViewPad 7e".
    let models = report("getModel").await?;
    let labels: Vec<(&str, u64)> = models
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            (
                row["label"].as_str().unwrap_or(""),
                row["nb_visits"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("Apple - iPad", 2),
            ("Apple - iPhone", 2),
            ("Unknown", 2),
            ("Fly - DS123", 1),
            ("Generic Desktop", 1),
            ("HTC - Butterfly", 1),
            ("Philips - Generic Tv", 1),
            ("Samsung - SM-T310", 1),
            ("UltraOcta-T8", 1),
            ("ViewSonic - ViewPad7e", 1),
        ]
    );
    assert_eq!(
        row(&models, "UltraOcta-T8")["segment"],
        "deviceBrand==Unknown;deviceModel==UltraOcta-T8"
    );
    assert_eq!(
        rows(&models)[..3],
        [
            json!(["Apple - iPad", 1, 2, 1, 3, 1, 1, 42.26]),
            json!(["Apple - iPhone", 1, 2, 1, 3, 1, 1, 10]),
            json!(["Unknown", 1, 2, 1, 3, 1, 1, 42.26]),
        ]
    );
    Ok(())
}
