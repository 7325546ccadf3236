//! Matomo's system test traffic "many visits with GeoIP"
//! (`tests/PHPUnit/Fixtures/ManyVisitsWithGeoIP.php` in matomo-org/matomo,
//! used by `ManyVisitorsOneWebsiteTest`), sent as the PHP tracker sends
//! it, and the UserCountry and Live answers checked against the numbers
//! of Matomo's expected outputs for it (`test_ManyVisitorsOneWebsiteTest*`).
//!
//! Site 1 ("Site 1", UTC) with goal 1 (`all`: URL contains `http`,
//! revenue 5) and goal 2 (`two`, revenue 5, converted manually). Eighteen
//! visitors of the fixture's `trackVisit` make two visits each, a day
//! apart per visitor from 2010-01-03 11:22:33 (plus one second per run of
//! `trackVisits`): a page view, then an hour later (a new visit) a page
//! view, a site search for every other visitor, goal 2, a download, an
//! outlink and an event. Two visitors in a row share a visitor id
//! (`md5(floor(i / 2) + run * 1000)`), so the second one's visits count
//! as its third and fourth. A last visitor with a user id comes on
//! 2010-01-23 from Google.
//!
//! Matomo locates these visits with a mock provider (the first nine
//! visitors) and with MaxMind's GeoIP test databases (the next eight), which
//! we do not copy: each visit's location is sent instead with the
//! tracker's token-protected `country`, `region`, `city`, `lat` and
//! `long` parameters, the values Matomo's outputs show for it (the mock's
//! unknown location as `country=xx`). Matomo's region names come from
//! its region list, which we do not ship (MATOMO-DIFFERENCES.md): our
//! labels and `region_name` say `Unknown` where Matomo's name the region.
//!
//! Two small fixtures follow: `SomeVisitsWithNonUnicodePageTitles`
//! (`NonUnicodeTest`) and `Utf8mb4` (`Utf8mb4Test`).

use axum::Router;
use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::GoalParams;
use tally_reporting::Api;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{api_text, encode, matomo_site, reporting_api, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// The fixture's `$dateTime`.
const DATE_TIME: PrimitiveDateTime = datetime!(2010-01-03 11:22:33);

/// The user agents of the GeoIP-located visitors (`$userAgents`), in order.
const USER_AGENTS: [&str; 8] = [
    "Mozilla/5.0 (Linux; Android 4.4.2; Nexus 4 Build/KOT49H) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/33.0.1750.136 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; U; Android 2.3.7; fr-fr; HTC Desire Build/GRI40; MildWild CM-8.0 JG Stable) AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
    "Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.76 Safari/537.36",
    "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.0; Trident/4.0; GTB6.3; Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1) ; SLCC1; .NET CLR 2.0.50727; Media Center PC 5.0; .NET CLR 3.5.30729; .NET CLR 3.0.30729; OfficeLiveConnector.1.4; OfficeLivePatch.1.3)",
    "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; MDDSJS; rv:11.0) like Gecko",
    "Mozilla/5.0 (Linux; Android 4.1.1; SGPT13 Build/TJDS0170) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/34.0.1847.114 Safari/537.36",
    "Mozilla/5.0 (Linux; U; Android 4.3; zh-cn; SM-N9006 Build/JSS15J) AppleWebKit/537.36 (KHTML, like Gecko)Version/4.0 MQQBrowser/5.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; U; Linux i686; ru; rv:1.9.0.14) Gecko/2009090216 Ubuntu/9.04 (jaunty) Firefox/3.0.14",
];

/// A visitor's location as the tracker's override parameters: country,
/// region, city, latitude, longitude (each sent when given).
type Place = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<f64>,
    Option<f64>,
);

/// The mock provider's locations, one per new IP in turn
/// (`setMockLocationProvider`). The second one passes its ISP where the
/// latitude goes, which Matomo drops: it has no coordinates.
const MOCK_PLACES: [Place; 9] = [
    (
        "gb",
        Some("WAR"),
        Some("Stratford-upon-Avon"),
        Some(123.456),
        Some(21.321),
    ),
    ("gb", Some("WAR"), Some("Nuneaton and Bedworth"), None, None),
    (
        "gb",
        Some("WAR"),
        Some("Stratford-upon-Avon"),
        Some(124.456),
        Some(22.231),
    ),
    ("gb", Some("LND"), Some("London"), None, None),
    ("gb", Some("KEN"), Some("Stratford-upon-Avon"), None, None),
    ("ru", Some("SPE"), Some("Stratford-upon-Avon"), None, None),
    ("ru", Some("SPE"), Some("Hluboká nad Vltavou"), None, None),
    ("mk", Some("18"), Some("Stratford-upon-Avon"), None, None),
    ("xx", None, None, None, None),
];

/// The GeoIP-located visitors' IPs (`$ips`) with the locations Matomo's
/// outputs show for them (its city database for the first six, its
/// country database for the last two).
const GEOIP_VISITORS: [(&str, Place); 8] = [
    (
        "194.57.91.215",
        (
            "fr",
            Some("BFC"),
            Some("Besançon"),
            Some(47.249),
            Some(6.018),
        ),
    ),
    ("::ffff:137.82.130.49", VANCOUVER),
    ("137.82.130.0", VANCOUVER),
    ("137.82.0.0", VANCOUVER),
    (
        "2003:f6:93bf:26f:9ec7:a6ff:fe29:27df",
        ("us", None, None, Some(38.0), Some(-97.0)),
    ),
    (
        "113.62.1.1",
        ("cn", Some("XZ"), Some("Lhasa"), Some(29.65), Some(91.1)),
    ),
    ("151.100.101.92", ("it", None, None, None, None)),
    ("103.29.196.229", ("id", None, None, None, None)),
];

const VANCOUVER: Place = (
    "ca",
    Some("BC"),
    Some("Vancouver"),
    Some(49.25),
    Some(-123.133),
);

/// `Date::addHour($hours)`: whole seconds.
fn plus_hours(at: PrimitiveDateTime, hours: f64) -> PrimitiveDateTime {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    at + Duration::seconds(seconds)
}

/// `substr(md5(n), 0, 16)` for the `n` the fixture hashes into visitor ids
/// (`floor($visitorCounter / 2) + $fixtureCounter * 1000`).
fn visitor_id(n: u32) -> &'static str {
    match n {
        1000 => "a9b7ba70783b617e",
        1001 => "b8c37e33defde51c",
        1002 => "fba9d88164f3e2d9",
        1003 => "aa68c75c4a77c87f",
        1004 => "fed33392d3a48aa1",
        2000 => "08f90c1a41715536",
        3000 => "e93028bdc1aacdfb",
        3001 => "908c9a564a864265",
        4000 => "1bd69c7df3112fb9",
        _ => "0000000000000000",
    }
}

/// The location parameters of `place`, appended to a request.
fn place_params(place: &Place) -> String {
    let (country, region, city, lat, long) = place;
    let mut out = format!("&country={country}");
    if let Some(region) = region {
        out.push_str(&format!("&region={}", encode(region)));
    }
    if let Some(city) = city {
        out.push_str(&format!("&city={}", encode(city)));
    }
    if let Some(lat) = lat {
        out.push_str(&format!("&lat={lat}"));
    }
    if let Some(long) = long {
        out.push_str(&format!("&long={long}"));
    }
    out
}

/// A `trackVisits` run's tracker: the PHP object, and whether it queues
/// its requests for one bulk request.
struct Run<'a> {
    router: &'a Router,
    t: PhpTracker,
    bulk: bool,
    /// The fixture's `$dateTime`.
    date_time: PrimitiveDateTime,
    /// `ManyVisitsWithGeoIPAndEcommerce`: product views and orders too.
    ecommerce: bool,
}

impl Run<'_> {
    /// Sends `query` with the visitor's location. A queued bulk request
    /// makes the PHP tracker forget its custom variables, user agent and
    /// browser language (`sendRequest` clears them so they do not leak to
    /// the next visitor of the batch): the batch's later requests have no
    /// language, and the second visits no visit custom variables.
    async fn send(&mut self, query: &str, place: &Place) -> anyhow::Result<()> {
        self.t
            .ok(self.router, &format!("{query}{}", place_params(place)))
            .await?;
        if self.bulk {
            self.t.lang.clear();
            self.t.take_visit_cvars();
            self.t.user_agent = None;
        }
        Ok(())
    }
}

/// `trackVisit`: visitor `i` of run `run` of `trackVisits`, from `place`.
async fn track_visit(
    r: &mut Run<'_>,
    run: u32,
    i: u32,
    place: &Place,
    user_agent: Option<&str>,
) -> anyhow::Result<()> {
    let date_time = r.date_time;
    let t = &mut r.t;
    if r.ecommerce && i % 3 == 1 {
        let categories = json!([
            "Category1",
            "Category2",
            "Category3",
            format!("Category{i}")
        ]);
        t.set_ecommerce_view("Custom SKU", "MyName", &categories, 17.4);
    }
    t.set_visitor_id(visitor_id(i / 2 + run * 1000));
    if let Some(user_agent) = user_agent {
        t.set_user_agent(user_agent);
    }
    let start = date_time + Duration::days(i64::from(i)) + Duration::seconds(i64::from(run));
    t.at = At::Datetime(start);
    t.url = "http://piwik.net/grue/lair".to_owned();
    let cvar = |text: &str| json!(format!("{text}{i}"));
    t.set_visit_cvar(1, "Cvar 1 name", cvar("Cvar1 value is "));
    t.set_visit_cvar(5, "Cvar 5 name", cvar("Cvar5 value is "));
    t.set_page_cvar(2, "Cvar 2 PAGE name", cvar("Cvar2 PAGE value is "));
    t.set_page_cvar(5, "Cvar 5 PAGE name", cvar("Cvar5 PAGE value is "));
    let query = t.page_view("It's <script> pitch black...");
    r.send(&query, place).await?;

    // An hour later: a second visit. The fixture sets the user agent again
    // before this request and the next.
    let t = &mut r.t;
    if let Some(user_agent) = user_agent {
        t.set_user_agent(user_agent);
    }
    let second = plus_hours(start, 1.0);
    t.at = At::Datetime(second);
    t.url = "http://piwik.net/space/quest/iv".to_owned();
    let query = t.page_view("Space Quest XII");
    r.send(&query, place).await?;
    let t = &mut r.t;
    if let Some(user_agent) = user_agent {
        t.set_user_agent(user_agent);
    }
    let mut at = plus_hours(second, 0.1);
    t.at = At::Datetime(at);
    if i.is_multiple_of(2) {
        let query = t.site_search("Bring on the party", "CAT", Some(i64::from(i) * 6));
        r.send(&query, place).await?;
    }
    at = plus_hours(at, 0.2);
    r.t.at = At::Datetime(at);
    let query = r.t.goal(2, 0.0);
    r.send(&query, place).await?;
    at = plus_hours(at, 0.05);
    r.t.at = At::Datetime(at);
    let query =
        r.t.action(&format!("http://example.org/path/file{i}.zip"), "download");
    r.send(&query, place).await?;
    at = plus_hours(at, 0.05);
    r.t.at = At::Datetime(at);
    let query =
        r.t.action(&format!("http://example-outlink.org/{i}.html"), "link");
    r.send(&query, place).await?;
    at = plus_hours(at, 0.05);
    r.t.at = At::Datetime(at);
    let query = r.t.event(
        &format!("Cat{i}"),
        &format!("Action{i}"),
        Some(&format!("Name{i}")),
        Some(345.678 + f64::from(i)),
    );
    r.send(&query, place).await?;
    if r.ecommerce && i.is_multiple_of(3) {
        let order = (run * 1000 + i + 1).to_string();
        r.t.add_item("ABCD1234", "My Product", json!("My Category"), 100.0, 1);
        let query = r.t.ecommerce(Some(&order), [111.11, 100.0, 11.0, 0.0, 0.0]);
        r.send(&query, place).await?;
    }
    Ok(())
}

/// Matomo's system tests keep full IPs; our tracker anonymizes them by
/// default.
fn full_ips(db: &TestDb) -> anyhow::Result<()> {
    let mut conn = db.conn()?;
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO `option` (option_name, option_value, autoload) \
             VALUES ('PrivacyManager.ipAnonymizerEnabled', '0', 1)",
        ),
        &mut conn,
    )?;
    Ok(())
}

/// The fixture's site, goals and traffic.
async fn fixture() -> anyhow::Result<(TestDb, String)> {
    fixture_at(DATE_TIME, false).await
}

/// The fixture from `date_time` (its `$dateTime`), with
/// `ManyVisitsWithGeoIPAndEcommerce`'s product views and orders when
/// `ecommerce`.
pub(crate) async fn fixture_at(
    date_time: PrimitiveDateTime,
    ecommerce: bool,
) -> anyhow::Result<(TestDb, String)> {
    let all = GoalParams {
        revenue: 5.0,
        ..GoalParams::new("all", "url", "http", "contains")
    };
    let two = GoalParams {
        revenue: 5.0,
        description: "twodesc".to_owned(),
        ..GoalParams::new("two", "url", "xxxxxxxxxxxxx", "contains")
    };
    let (db, token) = matomo_site(
        date_time - Duration::days(1),
        |site| "Site 1".clone_into(&mut site.name),
        &[all, two],
    )?;
    full_ips(&db)?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;

    // Run 1: nine visitors from 1.2.4.<i>, located by the mock provider.
    let mut r = Run {
        router: &router,
        t: PhpTracker::new(1, &token, "0000000000000001", date_time),
        bulk: false,
        date_time,
        ecommerce,
    };
    for (i, place) in (0..9).zip(MOCK_PLACES.iter()) {
        r.t.ip = format!("1.2.4.{i}");
        track_visit(&mut r, 1, i, place, None).await?;
    }
    // Runs 2 to 4: two, four (in bulk in Matomo) and two visitors, each
    // run with a tracker of its own, taking the IPs and user agents in turn.
    let mut geoip = GEOIP_VISITORS.iter().zip(USER_AGENTS);
    for (run, count) in [(2, 2), (3, 4), (4, 2)] {
        let mut r = Run {
            router: &router,
            t: PhpTracker::new(1, &token, "0000000000000002", date_time),
            bulk: run == 3,
            date_time,
            ecommerce,
        };
        for i in 0..count {
            let Some(((ip, place), user_agent)) = geoip.next() else {
                anyhow::bail!("the fixture has eight GeoIP visitors");
            };
            (*ip).clone_into(&mut r.t.ip);
            track_visit(&mut r, run, i, place, Some(user_agent)).await?;
        }
    }

    // `trackOtherVisits`: a user from Google, located by parameters in
    // Matomo too.
    let mut t = PhpTracker::new(1, &token, "fed33392d3a48ab2", date_time);
    t.set_visitor_id("fed33392d3a48ab2");
    t.at = At::Datetime(date_time + Duration::days(20));
    "194.57.91.215".clone_into(&mut t.ip);
    t.set_user_id(Some("userid.email@example.org"), "");
    t.url = "http://piwik.net/grue/lair".to_owned();
    t.referrer = "http://google.com/?q=Wikileaks FTW".to_owned();
    t.set_user_agent(
        "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-GB; rv:1.9.2.6) AppleWebKit/522+ \
         (KHTML, like Gecko) Safari/419.3 (.NET CLR 3.5.30729)",
    );
    let query = t.page_view("It's pitch black...");
    let place = ("us", Some("CA"), Some("not a city"), Some(1.0), Some(2.0));
    t.ok(&router, &format!("{query}{}", place_params(&place)))
        .await?;
    Ok((db, token))
}

/// `method` for January 2010 as JSON, with `extra` parameters.
async fn month(api: &Api, token: &str, method: &str, extra: &str) -> anyhow::Result<Value> {
    let body = api_text(
        api,
        token,
        &format!("method={method}&idSite=1&period=month&date=2010-01-03&format=json{extra}"),
    )
    .await?;
    Ok(serde_json::from_str(&body)?)
}

/// A JSON value as Matomo's XML shows it: strings bare, numbers as
/// written, `null` and missing fields empty.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A report's rows as `label:visits/actions/conversions/revenue`, joined
/// by ` | `; `key` names the field that stands for the row (`label`, or
/// `segment` where our labels lack Matomo's region names).
fn rows(report: &Value, key: &str) -> String {
    report
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    format!(
                        "{}:{}/{}/{}/{}",
                        plain(&row[key]),
                        plain(&row["nb_visits"]),
                        plain(&row["nb_actions"]),
                        plain(&row["nb_conversions"]),
                        plain(&row["revenue"])
                    )
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_else(|| report.to_string())
}

/// The countries, continents, regions and cities of January 2010, for all
/// visits and for the segments of `ManyVisitorsOneWebsiteTest`, with the
/// numbers of Matomo's expected outputs. Region and city rows are keyed by
/// their segment: Matomo's labels name the region (`Vancouver, British
/// Columbia, Canada`), ours say `Unknown` there, and with equal visits
/// Matomo orders rows by those labels, so the order of ties differs too.
#[tokio::test]
async fn locations_match_matomo() -> anyhow::Result<()> {
    let (db, token) = fixture().await?;
    let api = reporting_api(&db)?;
    let report = |method: &'static str, extra: String| {
        let api = api.clone();
        let token = token.clone();
        async move { month(&api, &token, &format!("UserCountry.{method}"), &extra).await }
    };
    let by_segment = |report: &Value| {
        let mut list: Vec<String> = rows(report, "segment")
            .split(" | ")
            .map(str::to_owned)
            .collect();
        // Visits first, then the segment: an order free of region names.
        list.sort_by_key(|row| {
            let visits: u32 = row
                .rsplit(':')
                .next()
                .and_then(|numbers| numbers.split('/').next())
                .and_then(|visits| visits.parse().ok())
                .unwrap_or(0);
            (std::cmp::Reverse(visits), row.clone())
        });
        list.join(" | ")
    };

    assert_eq!(
        rows(&report("getCountry", String::new()).await?, "label"),
        "United Kingdom:10/28/15/75 | Canada:6/16/9/45 | Russia:4/11/6/30 | \
         United States:3/7/4/20 | China:2/5/3/15 | France:2/6/3/15 | Indonesia:2/5/3/15 | \
         Italy:2/6/3/15 | North Macedonia:2/5/3/15 | Unknown:2/6/3/15"
    );
    assert_eq!(
        rows(&report("getContinent", String::new()).await?, "label"),
        "Europe:20/56/30/150 | North America:9/23/13/65 | Asia:4/10/6/30 | Unknown:2/6/3/15"
    );
    assert_eq!(
        report("getNumberOfDistinctCountries", String::new()).await?["value"],
        json!(10)
    );
    assert_eq!(
        by_segment(&report("getRegion", String::new()).await?),
        ":8/23/12/60 | regionCode==BC;countryCode==ca:6/16/9/45 | \
         regionCode==WAR;countryCode==gb:6/17/9/45 | regionCode==SPE;countryCode==ru:4/11/6/30 | \
         regionCode==18;countryCode==mk:2/5/3/15 | regionCode==BFC;countryCode==fr:2/6/3/15 | \
         regionCode==KEN;countryCode==gb:2/6/3/15 | regionCode==LND;countryCode==gb:2/5/3/15 | \
         regionCode==XZ;countryCode==cn:2/5/3/15 | regionCode==CA;countryCode==us:1/1/1/5"
    );
    let cities = report("getCity", String::new()).await?;
    assert_eq!(
        by_segment(&cities),
        ":8/23/12/60 | city==Vancouver;regionCode==BC;countryCode==ca:6/16/9/45 | \
         city==Stratford-upon-Avon;regionCode==WAR;countryCode==gb:4/12/6/30 | \
         city==Besan%C3%A7on;regionCode==BFC;countryCode==fr:2/6/3/15 | \
         city==Hlubok%C3%A1+nad+Vltavou;regionCode==SPE;countryCode==ru:2/6/3/15 | \
         city==Lhasa;regionCode==XZ;countryCode==cn:2/5/3/15 | \
         city==London;regionCode==LND;countryCode==gb:2/5/3/15 | \
         city==Nuneaton+and+Bedworth;regionCode==WAR;countryCode==gb:2/5/3/15 | \
         city==Stratford-upon-Avon;regionCode==18;countryCode==mk:2/5/3/15 | \
         city==Stratford-upon-Avon;regionCode==KEN;countryCode==gb:2/6/3/15 | \
         city==Stratford-upon-Avon;regionCode==SPE;countryCode==ru:2/5/3/15 | \
         city==not+a+city;regionCode==CA;countryCode==us:1/1/1/5"
    );
    // The unknown city first (most visits), then the coordinates of each
    // city where it has them, as Matomo's `lat` and `long`.
    let coordinates: Vec<String> = cities
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|row| row.get("lat").is_some())
                .map(|row| {
                    format!(
                        "{} {} {}",
                        plain(&row["city_name"]),
                        plain(&row["lat"]),
                        plain(&row["long"])
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        coordinates,
        [
            "Vancouver 49.25 -123.133",
            "Stratford-upon-Avon 123.456 21.321",
            "Besançon 47.249 6.018",
            "Lhasa 29.65 91.1",
            "not a city 1 2",
        ]
    );
    assert_eq!(plain(&cities[0]["label"]), "Unknown");
    assert_eq!(plain(&cities[0]["country"]), "xx");

    // `filter_excludelowpop`: countries with at least five visits.
    assert_eq!(
        rows(
            &report(
                "getCountry",
                "&filter_excludelowpop=nb_visits&filter_excludelowpop_value=5".to_owned()
            )
            .await?,
            "label"
        ),
        "United Kingdom:10/28/15/75 | Canada:6/16/9/45"
    );
    // `continentCode==eur`: the European countries only.
    assert_eq!(
        rows(
            &report(
                "getCountry",
                format!("&segment={}", encode("continentCode==eur"))
            )
            .await?,
            "label"
        ),
        "United Kingdom:10/28/15/75 | Russia:4/11/6/30 | France:2/6/3/15 | Italy:2/6/3/15 | \
         North Macedonia:2/5/3/15"
    );

    // The test's three segments, each through every UserCountry report.
    for (segment, country, continent, region, city) in [
        (
            "regionCode==WAR;countryCode==gb",
            "United Kingdom:6/17/9/45",
            "Europe:6/17/9/45",
            "regionCode==WAR;countryCode==gb:6/17/9/45",
            "city==Stratford-upon-Avon;regionCode==WAR;countryCode==gb:4/12/6/30 | \
             city==Nuneaton+and+Bedworth;regionCode==WAR;countryCode==gb:2/5/3/15",
        ),
        (
            "city==Stratford-upon-Avon;regionCode==WAR;countryCode==gb",
            "United Kingdom:4/12/6/30",
            "Europe:4/12/6/30",
            "regionCode==WAR;countryCode==gb:4/12/6/30",
            "city==Stratford-upon-Avon;regionCode==WAR;countryCode==gb:4/12/6/30",
        ),
        (
            "latitude>45;latitude<49.3;longitude>-125;longitude<-122",
            "Canada:6/16/9/45",
            "North America:6/16/9/45",
            "regionCode==BC;countryCode==ca:6/16/9/45",
            "city==Vancouver;regionCode==BC;countryCode==ca:6/16/9/45",
        ),
    ] {
        let extra = format!("&segment={}", encode(segment));
        assert_eq!(
            rows(&report("getCountry", extra.clone()).await?, "label"),
            country,
            "{segment}"
        );
        assert_eq!(
            rows(&report("getContinent", extra.clone()).await?, "label"),
            continent,
            "{segment}"
        );
        assert_eq!(
            rows(&report("getRegion", extra.clone()).await?, "segment"),
            region,
            "{segment}"
        );
        assert_eq!(
            rows(&report("getCity", extra.clone()).await?, "segment"),
            city,
            "{segment}"
        );
        assert_eq!(
            report("getNumberOfDistinctCountries", extra).await?["value"],
            json!(1),
            "{segment}"
        );
    }
    Ok(())
}

/// `Live.getLastVisitsDetails` for January 2010 with `extra` parameters:
/// each visit as `ip #visitCount country/region/city a<actions> language`.
async fn visits(api: &Api, token: &str, extra: &str) -> anyhow::Result<Vec<String>> {
    let list = month(api, token, "Live.getLastVisitsDetails", extra).await?;
    let Some(list) = list.as_array() else {
        anyhow::bail!("not a list of visits: {list}");
    };
    Ok(list
        .iter()
        .map(|visit| {
            format!(
                "{} #{} {}/{}/{} a{} {}",
                plain(&visit["visitIp"]),
                plain(&visit["visitCount"]),
                plain(&visit["countryCode"]),
                plain(&visit["regionCode"]),
                plain(&visit["city"]),
                plain(&visit["actions"]),
                plain(&visit["languageCode"]),
            )
            .trim_end()
            .to_owned()
        })
        .collect())
}

/// The visits of `ManyVisitorsOneWebsiteTest`'s Live calls, as Matomo's
/// expected outputs list them: newest first (ten by default), oldest first
/// with `filter_sort_order=asc`, `filter_sort_column=idVisit` ignored,
/// offsets, and the negated action segments that drop every visit with a
/// matching action. The visitors sharing a visitor id count on from the
/// first one's visits (`#3`, `#4`); the bulk-tracked visitors have no
/// language after their batch's first request.
#[tokio::test]
async fn live_visits_match_matomo() -> anyhow::Result<()> {
    let (db, token) = fixture().await?;
    let api = reporting_api(&db)?;
    let newest = [
        "194.57.91.215 #1 us/CA/not a city a1 fr",
        "1.2.4.8 #2 xx// a5 fr",
        "1.2.4.8 #1 xx// a1 fr",
        "1.2.4.7 #4 mk/18/Stratford-upon-Avon a4 fr",
        "1.2.4.7 #3 mk/18/Stratford-upon-Avon a1 fr",
        "1.2.4.6 #2 ru/SPE/Hluboká nad Vltavou a5 fr",
        "1.2.4.6 #1 ru/SPE/Hluboká nad Vltavou a1 fr",
        "1.2.4.5 #4 ru/SPE/Stratford-upon-Avon a4 fr",
        "1.2.4.5 #3 ru/SPE/Stratford-upon-Avon a1 fr",
        "1.2.4.4 #2 gb/KEN/Stratford-upon-Avon a5 fr",
    ];
    assert_eq!(visits(&api, &token, "").await?, newest);
    assert_eq!(
        visits(&api, &token, "&filter_sort_order=desc&filter_limit=7").await?,
        newest[..7]
    );
    assert_eq!(
        visits(
            &api,
            &token,
            "&filter_sort_order=desc&filter_sort_column=idVisit&filter_limit=7"
        )
        .await?,
        newest[..7]
    );
    assert_eq!(
        visits(&api, &token, "&filter_offset=1&filter_limit=3").await?,
        newest[1..4]
    );
    assert_eq!(
        visits(&api, &token, "&filter_offset=4&filter_limit=3").await?,
        newest[4..7]
    );
    assert_eq!(
        visits(&api, &token, "&filter_sort_order=asc&filter_limit=7").await?,
        [
            "1.2.4.0 #1 gb/WAR/Stratford-upon-Avon a1 fr",
            "194.57.91.215 #1 fr/BFC/Besançon a1 fr",
            "137.82.130.0 #1 ca/BC/Vancouver a1 fr",
            "151.100.101.92 #1 it// a1 fr",
            "1.2.4.0 #2 gb/WAR/Stratford-upon-Avon a5 fr",
            "194.57.91.215 #2 fr/BFC/Besançon a5 fr",
            "137.82.130.0 #2 ca/BC/Vancouver a5",
        ]
    );
    assert_eq!(
        visits(
            &api,
            &token,
            &format!("&segment={}", encode("pageUrl!@quest"))
        )
        .await?,
        [
            "194.57.91.215 #1 us/CA/not a city a1 fr",
            "1.2.4.8 #1 xx// a1 fr",
            "1.2.4.7 #3 mk/18/Stratford-upon-Avon a1 fr",
            "1.2.4.6 #1 ru/SPE/Hluboká nad Vltavou a1 fr",
            "1.2.4.5 #3 ru/SPE/Stratford-upon-Avon a1 fr",
            "1.2.4.4 #1 gb/KEN/Stratford-upon-Avon a1 fr",
            "113.62.1.1 #3 cn/XZ/Lhasa a1",
            "1.2.4.3 #3 gb/LND/London a1 fr",
            "2003:f6:93bf:26f:9ec7:a6ff:fe29:27df #1 us// a1",
            "1.2.4.2 #1 gb/WAR/Stratford-upon-Avon a1 fr",
        ]
    );
    assert_eq!(
        visits(
            &api,
            &token,
            &format!("&segment={}", encode("siteSearchCategory!=CAT"))
        )
        .await?,
        [
            "194.57.91.215 #1 us/CA/not a city a1 fr",
            "1.2.4.8 #1 xx// a1 fr",
            "1.2.4.7 #4 mk/18/Stratford-upon-Avon a4 fr",
            "1.2.4.7 #3 mk/18/Stratford-upon-Avon a1 fr",
            "1.2.4.6 #1 ru/SPE/Hluboká nad Vltavou a1 fr",
            "1.2.4.5 #4 ru/SPE/Stratford-upon-Avon a4 fr",
            "1.2.4.5 #3 ru/SPE/Stratford-upon-Avon a1 fr",
            "1.2.4.4 #1 gb/KEN/Stratford-upon-Avon a1 fr",
            "113.62.1.1 #4 cn/XZ/Lhasa a4",
            "1.2.4.3 #4 gb/LND/London a4 fr",
        ]
    );
    Ok(())
}

/// `SomeVisitsWithNonUnicodePageTitles` (`NonUnicodeTest`): site 1
/// "Site 1 - Site search" (keywords `q`, `mykwd`, `p`, category `cats`; the global
/// `gkwd` / `gcat`) and three trackers on 2010-01-03 from 11:22:33: pages
/// whose URLs and referrers carry ISO-8859-15 and Windows-1251 bytes,
/// declared with `cs`, and one page with an unknown charset.
async fn non_unicode() -> anyhow::Result<(TestDb, String)> {
    let (db, token) = matomo_site(
        DATE_TIME,
        |site| {
            "Site 1 - Site search".clone_into(&mut site.name);
            site.sitesearch = Some(true);
            site.search_keyword_parameters = Some("q,mykwd,p".to_owned());
            site.search_category_parameters = Some("cats".to_owned());
        },
        &[],
    )?;
    {
        let mut conn = db.conn()?;
        let root = tally_management::Principal::super_user("test");
        tally_management::set_global_search_parameters(&mut conn, &root, "gkwd", "gcat")?;
    }
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let at = |hours: f64| At::Datetime(plus_hours(DATE_TIME, hours));

    // ISO-8859-15, and a keyword parameter sent as an array.
    let mut t = PhpTracker::new(1, &token, "1000000000000001", DATE_TIME);
    t.at = at(0.3);
    t.referrer = "http://anothersite.com/whatever.html?whatever=Ato%FC".to_owned();
    t.url = "http://example.org/index.htm?random=param&mykwd[]=Search 2%FC&test\
             &cats= Search Kategory &search_count=INCORRECT!"
        .to_owned();
    t.charset = Some("iso-8859-15".to_owned());
    let query = t.page_view("Site Search results");
    t.ok(&router, &query).await?;

    // Windows-1251.
    let mut t = PhpTracker::new(1, &token, "1000000000000002", DATE_TIME);
    t.at = at(0.3);
    t.referrer = "http://anothersite.com/whatever.html?txt=%EC%E5%F8%EA%EE%E2%FB%E5".to_owned();
    t.url = "http://example.org/page/index.htm?whatever=%EC%E5%F8%EA%EE%E2%FB%E5".to_owned();
    t.charset = Some("windows-1251".to_owned());
    let query = t.page_view("Page title is always UTF-8");
    t.ok(&router, &query).await?;
    t.at = at(0.4);
    t.url = "http://example.org/page/index.htm?q=%EC%E5%F8%EA%EE%E2%FB%E5".to_owned();
    let query = t.page_view("Site Search");
    t.ok(&router, &query).await?;
    // Windows-1251 bytes in a page declared UTF-8.
    t.at = at(0.5);
    t.url = "http://example.org/page/index.htm?q=non unicode keyword %EC%E5%F8%EA%EE%E2%FB%E5"
        .to_owned();
    t.charset = Some("utf-8".to_owned());
    let query = t.page_view("Site Search");
    t.ok(&router, &query).await?;
    t.charset = None;
    t.url = "http://example.org/exit-page".to_owned();
    let query = t.page_view("Page title is always UTF-8");
    t.ok(&router, &query).await?;

    // A charset nobody knows.
    let mut t = PhpTracker::new(1, &token, "1000000000000003", DATE_TIME);
    t.at = at(1.0);
    t.referrer = "http://anothersite.com/whatever.html".to_owned();
    t.url = "http://example.org/index.htm?random=param&mykwd=a+keyword&test\
             &cats= Search Kategory &search_count=INCORRECT!"
        .to_owned();
    t.charset = Some("GTF-42".to_owned());
    let query = t.page_view("Site Search results");
    t.ok(&router, &query).await?;
    Ok((db, token))
}

/// `Utf8mb4` (`Utf8mb4Test`): one visit on 2010-01-04 at 01:11:42 with
/// four-byte characters in the referrer keyword, the URL, the title and
/// a cart item.
async fn utf8mb4() -> anyhow::Result<(TestDb, String)> {
    let start = datetime!(2010-01-04 00:11:42);
    let (db, token) = matomo_site(start, |_| {}, &[])?;
    full_ips(&db)?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut t = PhpTracker::new(1, &token, "2000000000000001", start);
    t.at = At::Datetime(plus_hours(start, 1.0));
    t.referrer = "http://www.google.com/search?q=😡".to_owned();
    t.url = "http://example.org/foo/🙙.html".to_owned();
    let query = t.page_view("incredible 🚜");
    t.ok(&router, &query).await?;
    t.add_item("sku 🛸", "name 🛩", json!("category 🛤"), 95.0, 1);
    let query = t.ecommerce(None, [100.0, 0.0, 0.0, 0.0, 0.0]);
    t.ok(&router, &query).await?;
    Ok((db, token))
}

/// A report's rows as `label:<visits>/<count>` where `count` is the
/// column given (`nb_hits`, `nb_actions`), each expanded subtable in
/// brackets after its row.
fn tree(rows: &Value, count: &str) -> String {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let mut text = format!(
                        "{}:{}/{}",
                        plain(&row["label"]),
                        plain(&row["nb_visits"]),
                        plain(&row[count])
                    );
                    if row.get("subtable").is_some() {
                        text.push_str(&format!("[{}]", tree(&row["subtable"], count)));
                    }
                    text
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_else(|| rows.to_string())
}

/// `NonUnicodeTest`'s four reports for 2010-01-03, with the values of
/// Matomo's expected outputs (`test_NonUnicode__*`): keywords and URLs in
/// ISO-8859-15 and Windows-1251 decoded by the declared charset, the
/// raw bytes kept in the page URL. Matomo's Actions rows also carry the
/// Bandwidth plugin's columns, which we do not have.
#[tokio::test]
async fn non_unicode_reports_match_matomo() -> anyhow::Result<()> {
    let (db, token) = non_unicode().await?;
    let api = reporting_api(&db)?;
    let day = |method: &'static str| {
        let api = api.clone();
        let token = token.clone();
        async move {
            let body = api_text(
                &api,
                &token,
                &format!(
                    "method={method}&idSite=1&period=day&date=2010-01-03&expanded=1&format=json"
                ),
            )
            .await?;
            anyhow::Ok(serde_json::from_str::<Value>(&body)?)
        }
    };
    let titles = day("Actions.getPageTitles").await?;
    assert_eq!(tree(&titles, "nb_hits"), " Page title is always UTF-8:1/2");
    assert_eq!(titles[0]["avg_time_on_page"], json!(180));
    let urls = day("Actions.getPageUrls").await?;
    assert_eq!(
        tree(&urls, "nb_hits"),
        "/exit-page:1/1 | page:1/1[/index.htm?whatever=:1/1]"
    );
    assert_eq!(
        plain(&urls[1]["subtable"][0]["url"]),
        "http://example.org/page/index.htm?whatever=%EC%E5%F8%EA%EE%E2%FB%E5"
    );
    // Windows-1251 bytes in a page declared UTF-8: we store U+FFFD for
    // each; Matomo's label drops them and its segment keeps the keyword
    // URL-encoded (MATOMO-DIFFERENCES.md, `cs`).
    assert_eq!(
        tree(&day("Actions.getSiteSearchKeywords").await?, "nb_hits"),
        format!(
            "a keyword:1/1 | non unicode keyword {}:1/1 | Search 2ü:1/1 | мешковые:1/1",
            "\u{fffd}".repeat(8)
        )
    );
    assert_eq!(
        tree(&day("Referrers.getWebsites").await?, "nb_actions"),
        "anothersite.com:2/6[http://anothersite.com/whatever.html:1/1 | \
         http://anothersite.com/whatever.html?whatever=Ato:1/5]"
    );
    Ok(())
}

/// `Utf8mb4Test`: the visit's four-byte characters come back whole from
/// `Live.getLastVisitsDetails` (`test_Utf8mb4__Live.getLastVisitsDetails_year.xml`).
#[tokio::test]
async fn four_byte_characters_survive_in_live() -> anyhow::Result<()> {
    let (db, token) = utf8mb4().await?;
    let api = reporting_api(&db)?;
    let body = api_text(
        &api,
        &token,
        "method=Live.getLastVisitsDetails&idSite=1&period=year&date=2010-01-04&format=json",
    )
    .await?;
    let visits: Value = serde_json::from_str(&body)?;
    let visit = &visits[0];
    assert_eq!(visits.as_array().map(Vec::len), Some(1));
    assert_eq!(plain(&visit["visitIp"]), "156.5.3.2");
    assert_eq!(plain(&visit["referrerKeyword"]), "😡");
    assert_eq!(
        plain(&visit["referrerUrl"]),
        "http://www.google.com/search?q=😡"
    );
    // The cart and the page view share their second; Matomo lists the
    // cart first too.
    let actions = &visit["actionDetails"];
    assert_eq!(plain(&actions[0]["type"]), "ecommerceAbandonedCart");
    assert_eq!(plain(&actions[0]["revenue"]), "100");
    assert_eq!(plain(&actions[1]["type"]), "action");
    assert_eq!(plain(&actions[1]["url"]), "http://example.org/foo/🙙.html");
    assert_eq!(plain(&actions[1]["pageTitle"]), "incredible 🚜");
    let item = &actions[0]["itemDetails"][0];
    assert_eq!(
        [
            plain(&item["itemSKU"]),
            plain(&item["itemName"]),
            plain(&item["itemCategory"]),
            plain(&item["price"]),
        ],
        ["sku 🛸", "name 🛩", "category 🛤", "95"]
    );
    Ok(())
}

/// `API.getProcessedReport` of the server-time report for 2010-01-03,
/// sorted by the processed `nb_actions_per_visit`: the two hours with
/// visits first (five actions a visit at 12h, one at 11h), and the
/// report's 22 empty hours kept after them in hour order, as in Matomo's
/// `_sortByProcessedMetric_constantRowsCountShouldKeepEmptyRows` output.
#[tokio::test]
async fn processed_report_sorted_by_a_processed_metric_keeps_empty_hours() -> anyhow::Result<()> {
    let (db, token) = fixture().await?;
    let api = reporting_api(&db)?;
    let body = api_text(
        &api,
        &token,
        "method=API.getProcessedReport&idSite=1&period=day&date=2010-01-03\
         &apiModule=VisitTime&apiAction=getVisitInformationPerServerTime\
         &filter_sort_column=nb_actions_per_visit&format=json",
    )
    .await?;
    let report: Value = serde_json::from_str(&body)?;
    let rows = report["reportData"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    format!(
                        "{}:{}/{}",
                        plain(&row["label"]),
                        plain(&row["nb_visits"]),
                        plain(&row["nb_actions_per_visit"])
                    )
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut expected = vec!["12:4/5".to_owned(), "11:4/1".to_owned()];
    expected.extend(
        (0..24)
            .filter(|hour| ![11, 12].contains(hour))
            .map(|hour| format!("{hour:02}:0/0")),
    );
    assert_eq!(rows, expected);
    Ok(())
}
