//! Matomo's system test traffic "one visitor, two visits" in its
//! `OneVisitorTwoVisitsWithCookieSupportTest` variant (site search on,
//! `forceUseThirdPartyCookie=1`), sent as the PHP tracker sends it, and
//! `Live.getLastVisitsDetails` checked field by field against Matomo's
//! expected output for it
//! (`test_OneVisitorTwoVisits_withCookieSupport__Live.getLastVisitsDetails_day.xml`),
//! the values written here by hand.
//!
//! Matomo's test framework removes the fields that change from run to run
//! (`visitorId`, `idpageview`, `serverDate`, `serverTimePretty`,
//! `serverDatePretty`, the timestamps...); this test checks those we can
//! know (the dates of the fixture, in UTC) and the order of every field.
//!
//! Where the fixture's configuration differs from our defaults: full IPs
//! (`PrivacyManager.ipAnonymizerEnabled` off, set here), and the test's
//! `action_title_category_delimiter = "/"` (set here: the tracker trims a
//! title's trailing " /" on it).
//!
//! `fingerprint` is our own config hash (MATOMO-DIFFERENCES.md), so only
//! its shape is checked. Actions carry the Bandwidth plugin's `bandwidth`
//! (none tracked: null) and `bandwidth_pretty` (`0 M`), as Matomo's.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use tally_reporting::Api;
use time::macros::{datetime, format_description};
use time::{Duration, PrimitiveDateTime};

use crate::common::{NOW, encode, reporting_api, send, user_with_token};

const START: PrimitiveDateTime = datetime!(2010-03-06 11:22:33);
const UA: &str = "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-GB; rv:1.9.2.6) Gecko/20100625 Firefox/3.6.6 (.NET CLR 3.5.30729)";
const REFERRER: &str = "http://referrer.com/page.htm?param=valuewith some spaces";

/// One request of the PHP tracker, `hours` after the start.
fn request(token: &str, hours: f64, lang: &str, params: &str) -> String {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let at = START + Duration::seconds((hours * 3600.0).round() as i64);
    let cdt = at
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!(
        "?idsite=1&rec=1&apiv=1&_id=5b3f2c1e9a7d4e60&cdt={}&token_auth={token}&cip=156.5.3.2\
         &ua={}&lang={lang}&h=12&m=34&s=6&res=1024x768&cookie=1&fla=1&java=1{params}\
         &forceUseThirdPartyCookie=1",
        encode(&cdt),
        encode(UA),
    )
}

fn page(url: &str, referrer: &str, title: &str, timings: [u32; 6]) -> String {
    format!(
        "&url={}&urlref={}&action_name={}&pf_net={}&pf_srv={}&pf_tfr={}&pf_dm1={}&pf_dm2={}&pf_onl={}",
        encode(url),
        encode(referrer),
        encode(title),
        timings[0],
        timings[1],
        timings[2],
        timings[3],
        timings[4],
        timings[5]
    )
}

/// The fixture's site, goals and traffic; the API and a super user token.
pub(crate) async fn replay() -> anyhow::Result<(TestDb, Api, String)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let params = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            excluded_parameters: Some("excluded_parameter,anotherParameter".to_owned()),
            sitesearch: Some(true),
            search_keyword_parameters: Some(String::new()),
            search_category_parameters: Some("notparam".to_owned()),
            start_date: Some(START),
            ..NewSiteParams::new("new name", ["http://site.com"])
        };
        management::add_site(&mut conn, &root, &params)?;
        management::add_goal(
            &mut conn,
            &root,
            1,
            &GoalParams::new("triggered js", "manually", "", ""),
        )?;
        let purchase = GoalParams {
            revenue: 1.0,
            ..GoalParams::new(
                "matching purchase.htm",
                "url",
                r"(.*)store\/purchase\.(.*)",
                "regex",
            )
        };
        management::add_goal(&mut conn, &root, 1, &purchase)?;
        // Matomo's system tests keep full IPs (its expected outputs show
        // 156.5.3.2); our tracker anonymizes by default.
        diesel::RunQueryDsl::execute(
            diesel::sql_query(
                "INSERT INTO `option` (option_name, option_value, autoload) \
                 VALUES ('PrivacyManager.ipAnonymizerEnabled', '0', 1)",
            ),
            &mut conn,
        )?;
        user_with_token(&mut conn, "root", None)?
    };
    let t = token.as_str();
    let link = |url: &str, kind: &str| {
        format!(
            "&url={}&urlref={}&{kind}={}",
            encode("http://example.org/"),
            encode(REFERRER),
            encode(url)
        )
    };
    let goal = |revenue: u32| {
        format!(
            "&url={}&urlref={}&idgoal=1&revenue={revenue}",
            encode("http://example.org/"),
            encode(REFERRER)
        )
    };
    let requests = [
        request(
            t,
            0.0,
            "fr",
            &page(
                "http://example.org/index.htm?excluded_Parameter=SHOULD_NOT_DISPLAY&parameter=Should display",
                REFERRER,
                "incredible title!",
                [33, 105, 205, 1325, 390, 222],
            ),
        ),
        request(
            t,
            0.05,
            "fr",
            &page(
                "http://example.org/",
                REFERRER,
                "Second page view - should be registered as URL /",
                [62, 198, 253, 1559, 222, 152],
            ),
        ),
        request(
            t,
            0.1,
            "fr",
            &link(
                "https://outlinks.org/#!outlink-with-fragment-<script>",
                "link",
            ),
        ),
        request(
            t,
            0.2,
            "fr",
            &link("http://piwik.org/path/again/latest.zip", "download"),
        ),
        request(
            t,
            0.22,
            "fr",
            &link(
                "http://outlinks.org/other_outlink#fragment&pk_campaign=Open%20partnership",
                "link",
            ),
        ),
        request(t, 0.25, "fr", &link("http://dev.piwik.org/svn", "link")),
        request(t, 0.3, "th", &goal(42)),
        request(t, 0.4, "th", &goal(42)),
        request(
            t,
            0.42,
            "fr",
            &page(
                "http://example.org/index.htm?q=Banks Own The World",
                REFERRER,
                "Site Search request",
                [17, 236, 385, 1025, 199, 266],
            ),
        ),
        request(
            t,
            0.45,
            "fr",
            &page(
                "http://example.org/index.htm",
                REFERRER,
                "Looking at homepage after site search...",
                [42, 96, 200, 955, 566, 200],
            ),
        ),
        request(
            t,
            1.0,
            "fr",
            &page(
                "http://example.org/store/purchase.htm",
                "http://search.yahoo.com/search?p=purchase",
                "Checkout/Purchasing...",
                [22, 157, 266, 2000, 1002, 666],
            ),
        ),
    ];
    // The test's `action_title_category_delimiter = "/"`: Matomo's tracker
    // trims the parts of each title around it.
    let tracking = tally_tracking::http::TrackerConfig {
        title_category_delimiter: "/".to_owned(),
        ..tally_tracking::http::TrackerConfig::default()
    };
    let router = crate::common::tracker_routes(&db, &tracking)?;
    for query in requests {
        let answer = send(
            &router,
            Request::get(format!("/matomo.php{query}")).body(Body::empty())?,
        )
        .await?;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text());
    }
    let api = reporting_api(&db)?;
    Ok((db, api, token))
}

/// The answer of `query` in `format`, at [`NOW`].
pub(crate) async fn answer(api: &Api, token: &str, query: &str) -> anyhow::Result<(u16, String)> {
    let request = tally_reporting::ApiRequest::from_parts(
        &format!("module=API&{query}&token_auth={token}"),
        None,
    );
    let api = api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
    Ok((answer.status, String::from_utf8(answer.body)?))
}

fn keys(object: &Value) -> Vec<&str> {
    object
        .as_object()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Checks `(field, value)` pairs of one object.
fn check(object: &Value, expected: &[(&str, Value)], what: &str) {
    for (field, value) in expected {
        assert_eq!(&object[*field], value, "{what}: {field}");
    }
}

/// A visit's fields in Matomo's order (with those its test framework
/// strips), after `actionDetails` and `goalConversions`.
const VISIT_FIELDS: &[&str] = &[
    "idSite",
    "idVisit",
    "visitIp",
    "visitorId",
    "fingerprint",
    "actionDetails",
    "goalConversions",
    "siteCurrency",
    "siteCurrencySymbol",
    "serverDate",
    "visitServerHour",
    "lastActionTimestamp",
    "lastActionDateTime",
    "siteName",
    "serverTimestamp",
    "firstActionTimestamp",
    "serverTimePretty",
    "serverDatePretty",
    "serverDatePrettyFirstAction",
    "serverTimePrettyFirstAction",
    "userId",
    "visitorType",
    "visitorTypeIcon",
    "visitConverted",
    "visitConvertedIcon",
    "visitCount",
    "visitEcommerceStatus",
    "visitEcommerceStatusIcon",
    "daysSinceFirstVisit",
    "secondsSinceFirstVisit",
    "daysSinceLastEcommerceOrder",
    "secondsSinceLastEcommerceOrder",
    "visitDuration",
    "visitDurationPretty",
    "searches",
    "actions",
    "interactions",
    "referrerType",
    "referrerTypeName",
    "referrerName",
    "referrerKeyword",
    "referrerKeywordPosition",
    "referrerUrl",
    "referrerSearchEngineUrl",
    "referrerSearchEngineIcon",
    "referrerSocialNetworkUrl",
    "referrerSocialNetworkIcon",
    "languageCode",
    "language",
    "deviceType",
    "deviceTypeIcon",
    "deviceBrand",
    "deviceModel",
    "operatingSystem",
    "operatingSystemName",
    "operatingSystemIcon",
    "operatingSystemCode",
    "operatingSystemVersion",
    "browserFamily",
    "browserFamilyDescription",
    "browser",
    "browserName",
    "browserIcon",
    "browserCode",
    "browserVersion",
    "events",
    "continent",
    "continentCode",
    "country",
    "countryCode",
    "countryFlag",
    "region",
    "regionCode",
    "city",
    "location",
    "latitude",
    "longitude",
    "visitLocalTime",
    "visitLocalHour",
    "daysSinceLastVisit",
    "secondsSinceLastVisit",
    "resolution",
    "plugins",
    "pluginsIcons",
    "customVariables",
];

/// A page view's fields in Matomo's order.
const PAGE_VIEW_FIELDS: &[&str] = &[
    "type",
    "url",
    "pageTitle",
    "pageIdAction",
    "idpageview",
    "serverTimePretty",
    "pageId",
    "pageLoadTime",
    "bandwidth",
    "timeSpent",
    "timeSpentPretty",
    "pageLoadTimeMilliseconds",
    "pageviewPosition",
    "title",
    "subtitle",
    "icon",
    "iconSVG",
    "timestamp",
    "bandwidth_pretty",
];

/// The common fields of both visits (the same visitor and device).
fn device_and_location() -> Vec<(&'static str, Value)> {
    vec![
        ("idSite", json!(1)),
        ("visitIp", json!("156.5.3.2")),
        ("siteCurrency", json!("USD")),
        ("siteCurrencySymbol", json!("$")),
        ("siteName", json!("new name")),
        ("userId", Value::Null),
        ("visitConverted", json!(1)),
        (
            "visitConvertedIcon",
            json!("plugins/Morpheus/images/goal.svg"),
        ),
        ("visitEcommerceStatus", json!("none")),
        ("visitEcommerceStatusIcon", Value::Null),
        ("daysSinceFirstVisit", json!(0)),
        ("daysSinceLastEcommerceOrder", json!(0)),
        ("secondsSinceLastEcommerceOrder", Value::Null),
        ("referrerKeywordPosition", Value::Null),
        ("referrerSocialNetworkUrl", Value::Null),
        ("referrerSocialNetworkIcon", Value::Null),
        ("languageCode", json!("fr")),
        ("language", json!("French")),
        ("deviceType", json!("Desktop")),
        (
            "deviceTypeIcon",
            json!("plugins/Morpheus/icons/dist/devices/desktop.png"),
        ),
        ("deviceBrand", json!("Unknown")),
        ("deviceModel", json!("Generic Desktop")),
        ("operatingSystem", json!("Windows XP")),
        ("operatingSystemName", json!("Windows")),
        (
            "operatingSystemIcon",
            json!("plugins/Morpheus/icons/dist/os/WIN.png"),
        ),
        ("operatingSystemCode", json!("WIN")),
        ("operatingSystemVersion", json!("XP")),
        ("browserFamily", json!("Gecko")),
        ("browserFamilyDescription", json!("Gecko (Firefox)")),
        ("browser", json!("Firefox 3.6")),
        ("browserName", json!("Firefox")),
        (
            "browserIcon",
            json!("plugins/Morpheus/icons/dist/browsers/FF.png"),
        ),
        ("browserCode", json!("FF")),
        ("browserVersion", json!("3.6")),
        ("events", json!(0)),
        ("continent", json!("Europe")),
        ("continentCode", json!("eur")),
        ("country", json!("France")),
        ("countryCode", json!("fr")),
        (
            "countryFlag",
            json!("plugins/Morpheus/icons/dist/flags/fr.png"),
        ),
        ("region", Value::Null),
        ("regionCode", Value::Null),
        ("city", Value::Null),
        ("location", json!("France")),
        ("latitude", Value::Null),
        ("longitude", Value::Null),
        ("visitLocalTime", json!("12:34:06")),
        ("visitLocalHour", json!("12")),
        ("daysSinceLastVisit", json!(0)),
        ("resolution", json!("1024x768")),
        ("plugins", json!("cookie, flash, java")),
        (
            "pluginsIcons",
            json!([
                {"pluginIcon": "plugins/Morpheus/icons/dist/plugins/cookie.png", "pluginName": "cookie"},
                {"pluginIcon": "plugins/Morpheus/icons/dist/plugins/flash.png", "pluginName": "flash"},
                {"pluginIcon": "plugins/Morpheus/icons/dist/plugins/java.png", "pluginName": "java"}
            ]),
        ),
        ("customVariables", json!([])),
    ]
}

fn page_view(
    url: &str,
    title: &str,
    load: (&str, i64),
    spent: (i64, &str),
    position: i64,
) -> Vec<(&'static str, Value)> {
    vec![
        ("type", json!("action")),
        ("url", json!(url)),
        ("pageTitle", json!(title)),
        ("pageLoadTime", json!(load.0)),
        ("timeSpent", json!(spent.0)),
        ("timeSpentPretty", json!(spent.1)),
        ("pageLoadTimeMilliseconds", json!(load.1)),
        ("pageviewPosition", json!(position)),
        ("title", json!(title)),
        ("subtitle", json!(url)),
        ("icon", json!("")),
        ("iconSVG", json!("plugins/Morpheus/images/action.svg")),
    ]
}

fn link(kind: &str, url: &str, title: &str, icon: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("type", json!(kind)),
        ("url", json!(url)),
        ("pageTitle", Value::Null),
        ("pageviewPosition", json!(2)),
        ("icon", json!(format!("plugins/Morpheus/images/{icon}.png"))),
        (
            "iconSVG",
            json!(format!("plugins/Morpheus/images/{icon}.svg")),
        ),
        ("title", json!(title)),
        ("subtitle", json!(url)),
    ]
}

#[tokio::test]
async fn one_visitor_two_visits_gives_matomos_visitor_log() -> anyhow::Result<()> {
    let (_db, api, token) = replay().await?;
    let (status, text) = answer(
        &api,
        &token,
        "method=Live.getLastVisitsDetails&idSite=1&period=day&date=2010-03-06&format=json",
    )
    .await?;
    assert_eq!(status, 200, "{text}");
    let visits: Value = serde_json::from_str(&text)?;
    let visits = visits.as_array().cloned().unwrap_or_default();
    assert_eq!(visits.len(), 2, "{text}");
    let (second, first) = (&visits[0], &visits[1]);
    for visit in [second, first] {
        assert_eq!(keys(visit), VISIT_FIELDS);
        check(visit, &device_and_location(), "visit");
        let fingerprint = visit["fingerprint"].as_str().unwrap_or("");
        assert!(
            fingerprint.len() == 16 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()),
            "{fingerprint}"
        );
        assert_eq!(visit["visitorId"], first["visitorId"]);
        assert_eq!(visit["fingerprint"], first["fingerprint"]);
    }

    // The returning visit, an hour after the first page view: a Yahoo
    // search for "purchase" lands on the page goal 2 matches.
    check(
        second,
        &[
            ("idVisit", json!(2)),
            ("goalConversions", json!(1)),
            ("serverDate", json!("2010-03-06")),
            ("visitServerHour", json!("12")),
            ("lastActionTimestamp", json!(1_267_878_153)),
            ("lastActionDateTime", json!("2010-03-06 12:22:33")),
            ("firstActionTimestamp", json!(1_267_878_153)),
            ("serverTimePretty", json!("12:22:33")),
            ("serverDatePretty", json!("Saturday, March 6, 2010")),
            ("visitorType", json!("returning")),
            (
                "visitorTypeIcon",
                json!("plugins/Live/images/returningVisitor.png"),
            ),
            ("visitCount", json!(2)),
            ("secondsSinceFirstVisit", json!(3600)),
            ("visitDuration", json!(1)),
            ("visitDurationPretty", json!("1s")),
            ("searches", json!(0)),
            ("actions", json!(1)),
            ("interactions", json!(1)),
            ("referrerType", json!("search")),
            ("referrerTypeName", json!("Search Engines")),
            ("referrerName", json!("Yahoo!")),
            ("referrerKeyword", json!("purchase")),
            (
                "referrerUrl",
                json!("http://search.yahoo.com/search?p=purchase"),
            ),
            ("referrerSearchEngineUrl", json!("http://search.yahoo.com")),
            (
                "referrerSearchEngineIcon",
                json!("plugins/Morpheus/icons/dist/searchEngines/search.yahoo.com.png"),
            ),
            ("secondsSinceLastVisit", json!(3600)),
        ],
        "visit 2",
    );
    let actions = second["actionDetails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(actions.len(), 2, "{}", second["actionDetails"]);
    assert_eq!(keys(&actions[0]), PAGE_VIEW_FIELDS);
    check(
        &actions[0],
        &page_view(
            "http://example.org/store/purchase.htm",
            "Checkout/Purchasing...",
            ("4.11s", 4113),
            (0, "0s"),
            1,
        ),
        "purchase page",
    );
    check(
        &actions[0],
        &[
            ("serverTimePretty", json!("Mar 6, 2010 12:22:33")),
            ("timestamp", json!(1_267_878_153)),
            ("bandwidth", Value::Null),
            ("bandwidth_pretty", json!("0 M")),
        ],
        "purchase page",
    );
    assert_eq!(
        keys(&actions[1]),
        [
            "type",
            "goalName",
            "goalId",
            "idpageview",
            "revenue",
            "goalPageId",
            "serverTimePretty",
            "url",
            "referrerType",
            "referrerName",
            "referrerKeyword",
            "icon",
            "iconSVG",
            "title",
            "subtitle",
            "timestamp"
        ]
    );
    check(
        &actions[1],
        &[
            ("type", json!("goal")),
            ("goalName", json!("matching purchase.htm")),
            ("goalId", json!(2)),
            ("revenue", json!(1)),
            ("goalPageId", actions[0]["pageId"].clone()),
            ("url", json!("http://example.org/store/purchase.htm")),
            ("referrerType", json!("search")),
            ("referrerName", json!("Yahoo!")),
            ("referrerKeyword", json!("purchase")),
            ("icon", json!("plugins/Morpheus/images/goal.png")),
            ("iconSVG", json!("plugins/Morpheus/images/goal.svg")),
            ("title", json!("Goal conversion")),
            ("subtitle", json!("matching purchase.htm ($1 revenue)")),
        ],
        "goal 2",
    );

    // The first visit, from referrer.com.
    check(
        first,
        &[
            ("idVisit", json!(1)),
            ("goalConversions", json!(1)),
            ("firstActionTimestamp", json!(1_267_874_553)),
            (
                "serverDatePrettyFirstAction",
                json!("Saturday, March 6, 2010"),
            ),
            ("serverTimePrettyFirstAction", json!("11:22:33")),
            ("visitorType", json!("new")),
            ("visitorTypeIcon", Value::Null),
            ("visitCount", json!(1)),
            ("secondsSinceFirstVisit", json!(0)),
            ("visitDuration", json!(1621)),
            ("visitDurationPretty", json!("27 min 1s")),
            ("searches", json!(1)),
            ("actions", json!(8)),
            ("interactions", json!(4)),
            ("referrerType", json!("website")),
            ("referrerTypeName", json!("Websites")),
            ("referrerName", json!("referrer.com")),
            ("referrerKeyword", json!("")),
            (
                "referrerUrl",
                json!("http://referrer.com/page.htm?param=valuewith some spaces"),
            ),
            ("referrerSearchEngineUrl", Value::Null),
            ("referrerSearchEngineIcon", Value::Null),
            ("secondsSinceLastVisit", json!(0)),
        ],
        "visit 1",
    );
    let actions = first["actionDetails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let types: Vec<&str> = actions
        .iter()
        .map(|action| action["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "action", "action", "outlink", "download", "outlink", "outlink", "goal", "search",
            "action"
        ]
    );
    check(
        &actions[0],
        &page_view(
            "http://example.org/index.htm?parameter=Should display",
            "incredible title!",
            ("2.28s", 2280),
            (180, "3 min 0s"),
            1,
        ),
        "first page",
    );
    // Sent as "... URL /": the delimiter's empty last part is dropped.
    check(
        &actions[1],
        &page_view(
            "http://example.org/",
            "Second page view - should be registered as URL",
            ("2.45s", 2446),
            (900, "15 min 0s"),
            2,
        ),
        "second page",
    );
    // Outlink and download URLs as Matomo's tracker stores them, escaped by
    // `getRequestVar` (`Actions\VisitorDetails` reconstructs only URLs
    // without a scheme, and unescapes only those): its JSON and its
    // `subtitle` carry `&lt;` and `&amp;`.
    check(
        &actions[2],
        &link(
            "outlink",
            "https://outlinks.org/#!outlink-with-fragment-<script>",
            "Outlink",
            "link",
        ),
        "outlink 1",
    );
    check(
        &actions[3],
        &link(
            "download",
            "http://piwik.org/path/again/latest.zip",
            "Download",
            "download",
        ),
        "download",
    );
    check(
        &actions[4],
        &link(
            "outlink",
            "http://outlinks.org/other_outlink#fragment&pk_campaign=Open%20partnership",
            "Outlink",
            "link",
        ),
        "outlink 2",
    );
    check(
        &actions[5],
        &link("outlink", "http://dev.piwik.org/svn", "Outlink", "link"),
        "outlink 3",
    );
    // Outlinks and downloads have no load time nor time spent. Their URLs
    // are rebuilt from the stored prefix and unescaped, as Matomo's
    // `Common::unsanitizeInputValue` does (XML escapes them again).
    assert_eq!(
        keys(&actions[2]),
        [
            "type",
            "url",
            "pageTitle",
            "pageIdAction",
            "idpageview",
            "serverTimePretty",
            "pageId",
            "bandwidth",
            "pageviewPosition",
            "icon",
            "iconSVG",
            "title",
            "subtitle",
            "timestamp",
            "bandwidth_pretty"
        ]
    );
    check(
        &actions[6],
        &[
            ("goalName", json!("triggered js")),
            ("goalId", json!(1)),
            ("revenue", json!(42)),
            ("goalPageId", Value::Null),
            ("url", json!("http://example.org/")),
            ("referrerType", json!("website")),
            ("referrerName", json!("referrer.com")),
            ("referrerKeyword", Value::Null),
            ("subtitle", json!("triggered js ($42 revenue)")),
            ("serverTimePretty", json!("Mar 6, 2010 11:40:33")),
        ],
        "goal 1",
    );
    assert_eq!(
        keys(&actions[7]),
        [
            "type",
            "url",
            "pageIdAction",
            "idpageview",
            "serverTimePretty",
            "pageId",
            "bandwidth",
            "siteSearchKeyword",
            "siteSearchCategory",
            "siteSearchCount",
            "pageviewPosition",
            "icon",
            "iconSVG",
            "title",
            "subtitle",
            "timestamp",
            "bandwidth_pretty"
        ]
    );
    check(
        &actions[7],
        &[
            ("url", Value::Null),
            ("pageIdAction", Value::Null),
            ("siteSearchKeyword", json!("Banks Own The World")),
            ("siteSearchCategory", Value::Null),
            ("siteSearchCount", Value::Null),
            ("pageviewPosition", json!(3)),
            ("icon", json!("plugins/Morpheus/images/search.png")),
            ("iconSVG", json!("plugins/Morpheus/images/search.svg")),
            ("title", json!("Site Search")),
            ("subtitle", json!("Banks Own The World")),
        ],
        "site search",
    );
    check(
        &actions[8],
        &page_view(
            "http://example.org/index.htm",
            "Looking at homepage after site search...",
            ("2.06s", 2059),
            (0, "0s"),
            4,
        ),
        "last page",
    );
    // Page ids are the actions' idlink_va, in tracking order.
    let ids: Vec<Value> = actions
        .iter()
        .filter(|action| action["type"] != "goal")
        .map(|action| action["pageId"].clone())
        .collect();
    assert_eq!(ids, (1..=8).map(|id| json!(id)).collect::<Vec<_>>());
    assert_eq!(second["actionDetails"][0]["pageId"], json!(9));
    Ok(())
}

#[tokio::test]
async fn the_visitor_log_renders_as_matomos_xml() -> anyhow::Result<()> {
    let (_db, api, token) = replay().await?;
    let (status, xml) = answer(
        &api,
        &token,
        "method=Live.getLastVisitsDetails&idSite=1&period=day&date=2010-03-06&format=xml",
    )
    .await?;
    assert_eq!(status, 200, "{xml}");
    for fragment in [
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<idSite>1</idSite>\n\t\t<idVisit>2</idVisit>\n",
        "\t\t<actionDetails>\n\t\t\t<row>\n\t\t\t\t<type>action</type>\n\t\t\t\t<url>http://example.org/store/purchase.htm</url>\n",
        "\t\t\t\t<pageLoadTime>4.11s</pageLoadTime>\n",
        "\t\t\t\t<icon />\n\t\t\t\t<iconSVG>plugins/Morpheus/images/action.svg</iconSVG>\n",
        "\t\t\t</row>\n\t\t\t<row>\n\t\t\t\t<type>goal</type>\n",
        "\t\t\t\t<subtitle>matching purchase.htm ($1 revenue)</subtitle>\n",
        "\t\t</actionDetails>\n\t\t<goalConversions>1</goalConversions>\n",
        "\t\t<userId />\n\t\t<visitorType>returning</visitorType>\n",
        "\t\t<daysSinceFirstVisit>0</daysSinceFirstVisit>\n",
        "\t\t<secondsSinceLastEcommerceOrder />\n",
        "\t\t<pluginsIcons>\n\t\t\t<row>\n\t\t\t\t<pluginIcon>plugins/Morpheus/icons/dist/plugins/cookie.png</pluginIcon>\n\t\t\t\t<pluginName>cookie</pluginName>\n\t\t\t</row>\n",
        "\t\t<customVariables>\n\t\t</customVariables>\n\t</row>\n",
        "<url>https://outlinks.org/#!outlink-with-fragment-&lt;script&gt;</url>",
        "<url>http://outlinks.org/other_outlink#fragment&amp;pk_campaign=Open%20partnership</url>",
        "\t\t\t\t<url />\n\t\t\t\t<pageIdAction />\n",
    ] {
        assert!(xml.contains(fragment), "{fragment}\n---\n{xml}");
    }
    assert!(xml.ends_with("\t</row>\n</result>"), "{xml}");
    Ok(())
}
