//! Matomo's system tests of segments and `date` parameters, their traffic
//! sent as the PHP tracker sends it and our answers checked against the
//! numbers of Matomo's expected outputs (written here by hand):
//!
//! - `ComplicatedSegmentTest`: a segment of twenty-odd conditions mixing
//!   `;` and `,`, escaped commas, literal backslashes, values encoded twice
//!   and conditions on visits, actions, contents, events, product views and
//!   ordered items, which selects one of two visits.
//! - `SpecialDateParamsTest` (fixture `VisitsInCurrentYear`): `date=last
//!   week`, `last month`, `lastyear` and `last-year,lastWeek`, relative to
//!   an injected "now".
//! - `PeriodIsRangeDateIsLastNMetadataAndNormalAPITest` (fixture
//!   `TwoVisitsWithCustomVariables`): `period=range` with `last7`,
//!   `<date>,today` and `<date>,now`, under five segments that all keep
//!   every visit, for the reports, `API.getProcessedReport` and Live.
//!
//! Where Matomo's outputs differ from ours for reasons listed in
//! docs/MATOMO-DIFFERENCES.md (our
//! `fingerprint` and visit ids, `getProcessedReport`'s goal metadata,
//! custom variables' goal columns), the tests check the rest.

use axum::Router;
use serde_json::{Value, json};
use tally_reporting::Api;
use time::macros::datetime;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::common::{NOW, encode, matomo_site, reporting_api, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// The Reporting API of one fixture, answering at a fixed "now" (shared
/// with `matomo_goals_fixture.rs`).
pub(crate) struct Reports {
    pub(crate) api: Api,
    pub(crate) token: String,
    pub(crate) now: OffsetDateTime,
}

impl Reports {
    /// `module=API&<query>&format=<format>` with the token: the status and
    /// the body.
    pub(crate) async fn raw(&self, query: &str, format: &str) -> anyhow::Result<(u16, String)> {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&{query}&format={format}&token_auth={}",
                self.token
            ),
            None,
        );
        let api = self.api.clone();
        let now = self.now;
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, now)).await?;
        Ok((answer.status, String::from_utf8(answer.body)?))
    }

    /// A query answered in JSON, which must succeed.
    pub(crate) async fn json(&self, query: &str) -> anyhow::Result<Value> {
        let (status, body) = self.raw(query, "json").await?;
        anyhow::ensure!(status == 200, "{query}: {status} {body}");
        Ok(serde_json::from_str(&body)?)
    }

    /// A query answered in XML, which must succeed.
    pub(crate) async fn xml(&self, query: &str) -> anyhow::Result<String> {
        let (status, body) = self.raw(query, "xml").await?;
        anyhow::ensure!(status == 200, "{query}: {status} {body}");
        Ok(body)
    }
}

/// Sets the PHP tracker's forced time: `setForceVisitDateTime` with a
/// timestamp, `hours` after `start`.
fn at_timestamp(start: PrimitiveDateTime, hours: f64) -> At {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    At::Timestamp(start + Duration::seconds(seconds))
}

/// Keeps full IPs, as Matomo's system tests do (our tracker anonymizes by
/// default).
pub(crate) fn keep_full_ips(db: &tally_db::test_support::TestDb) -> anyhow::Result<()> {
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

// ---------------------------------------------------------------------------
// ComplicatedSegmentTest

const COMPLICATED_START: PrimitiveDateTime = datetime!(2020-10-01 06:03:45);

/// The test's segment, as its PHP builds it: some values `urlencode`d twice
/// (as Matomo's segment editor does), some not; `\,` escapes a comma and
/// the backslash of `product\category` is literal.
fn complicated_segment() -> String {
    let twice = |text: &str| encode(&encode(text));
    [
        format!("contentTarget=@{}", twice("place.com")),
        r",contentName==my\,video".to_owned(),
        ";contentInteraction!@maximise".to_owned(),
        format!(";contentPiece=@{}", twice("/to/")),
        ",entryPageTitle!@exit".to_owned(),
        format!(";entryPageTitle=={}", twice("entry page")),
        ";pageTitle=@page".to_owned(),
        ",pageUrl!@=home".to_owned(),
        format!(
            ";entryPageUrl!={}",
            twice("https://piwik.net/some/other/page")
        ),
        format!(";exitPageUrl=={}", twice("https://piwik.net/outro")),
        format!(",downloadUrl=={}", twice("http://piwik.net/fileout.zip")),
        ";actionUrl!@absent".to_owned(),
        ";productViewSku!@DEF".to_owned(),
        r";productCategory==product\category".to_owned(),
        ";productSku=@ABC".to_owned(),
        ",productName=@plugin".to_owned(),
        ";productViewCategory!@thing".to_owned(),
        ";productViewName!@thing".to_owned(),
        ",eventAction==action3".to_owned(),
        ";eventAction!@blah".to_owned(),
        ",eventName!=blah2".to_owned(),
    ]
    .concat()
}

async fn complicated_fixture() -> anyhow::Result<(Reports, tally_db::test_support::TestDb)> {
    let (db, token) = matomo_site(COMPLICATED_START, |_| {}, &[])?;
    keep_full_ips(&db)?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    track_visit_that_matches(&router, &token).await?;
    // trackVisitThatDoesNotMatch
    let mut t = PhpTracker::new(1, &token, "3c7d0f1e2b4a5968", COMPLICATED_START);
    t.ip = "203.45.66.90".to_owned();
    t.url = "https://piwik.net/some/other/page".to_owned();
    let query = t.page_view("other page");
    t.ok(&router, &query).await?;
    let reports = Reports {
        api: reporting_api(&db)?,
        token,
        now: NOW,
    };
    Ok((reports, db))
}

async fn track_visit_that_matches(router: &Router, token: &str) -> anyhow::Result<()> {
    let start = COMPLICATED_START;
    let mut t = PhpTracker::new(1, token, "1f2e3d4c5b6a7988", start);
    t.ip = "203.46.67.91".to_owned();
    t.url = "https://piwik.net/home/page".to_owned();
    let query = t.page_view("entry page");
    t.ok(router, &query).await?;

    let query = t.content_impression(
        "test content name",
        Some("/path/to/image.png"),
        Some("http://place.com/landingpage"),
    );
    t.ok(router, &query).await?;
    let query = t.content_interaction("expand", "my,video", Some("/path/to/myvideo.mp3"), None);
    t.ok(router, &query).await?;

    // The fixture passes a `Date` object here, which the PHP tracker sends
    // as its string form, `2020-10-01`: midnight, so the download, the site
    // search and (below) the outlink land in another visit at midnight.
    let midnight = At::Datetime(datetime!(2020-10-01 00:00:00));
    t.at = midnight;
    let query = t.action("http://piwik.net/fileout.zip", "download");
    t.ok(router, &query).await?;
    let query = t.site_search("site search keyword", "internal", Some(40));
    t.ok(router, &query).await?;

    t.at = at_timestamp(start, 0.2);
    t.set_ecommerce_view(
        "ABCSKU123",
        "special plugin",
        &json!(r"product\category"),
        888.0,
    );
    t.url = "http://piwik.net/product".to_owned();
    let query = t.page_view("product page");
    t.ok(router, &query).await?;

    t.at = at_timestamp(start, 0.22);
    t.add_item(
        "ABCSKU123",
        "special plugin",
        json!(r"product\category"),
        888.0,
        2,
    );
    t.url = "http://piwik.net/order".to_owned();
    let query = t.page_view("order page");
    t.ok(router, &query).await?;
    let query = t.ecommerce(
        Some("937nsjusu 3894"),
        [
            888.0 * 2.0 - 50.0 + 35.0 + 100.0,
            888.0 * 2.0,
            100.0,
            35.0,
            50.0,
        ],
    );
    t.ok(router, &query).await?;

    t.at = at_timestamp(start, 0.3);
    t.url = "http://piwik.net/page/with/events".to_owned();
    let query = t.event("event cat1", "action3", Some("somemovie"), Some(1.0));
    t.ok(router, &query).await?;
    let query = t.event("event cat2", "action4", Some("someimage"), Some(2.0));
    t.ok(router, &query).await?;

    t.at = midnight;
    let query = t.action("https://www.anothersite.com/somewhere/else", "link");
    t.ok(router, &query).await?;

    t.at = at_timestamp(start, 0.5);
    t.url = "https://piwik.net/outro".to_owned();
    let query = t.page_view("exit page");
    t.ok(router, &query).await?;
    Ok(())
}

/// `test_ComplicatedSegment_SegmentWithManyActions__VisitsSummary.get_day.xml`
/// and `..._Live.getLastVisitsDetails_day.xml`: the segment selects the
/// first visit only (the midnight visit has no content, the other visit's
/// entry page is excluded), archived and live alike.
#[tokio::test]
async fn complicated_segment_selects_matomos_visit() -> anyhow::Result<()> {
    let (r, _db) = complicated_fixture().await?;
    let day = "idSite=1&period=day&date=2020-10-01";
    let all = r.json(&format!("method=VisitsSummary.get&{day}")).await?;
    assert_eq!(
        (&all["nb_visits"], &all["nb_actions"]),
        (&json!(3), &json!(10))
    );

    let segment = encode(&complicated_segment());
    let summary = r
        .json(&format!("method=VisitsSummary.get&{day}&segment={segment}"))
        .await?;
    assert_eq!(
        summary,
        json!({
            "nb_uniq_visitors": 1, "nb_users": 0, "nb_visits": 1, "nb_actions": 6,
            "nb_visits_converted": 1, "bounce_count": 0, "sum_visit_length": 1801,
            "max_actions": 6, "bounce_rate": "0%", "nb_actions_per_visit": 6,
            "avg_time_on_site": 1801
        })
    );

    let visits = r
        .json(&format!(
            "method=Live.getLastVisitsDetails&{day}&segment={segment}"
        ))
        .await?;
    let visits = visits.as_array().cloned().unwrap_or_default();
    assert_eq!(visits.len(), 1, "{visits:?}");
    let visit = &visits[0];
    assert_eq!(visit["idVisit"], json!(1));
    assert_eq!(visit["visitIp"], json!("203.46.67.91"));
    assert_eq!(visit["actions"], json!(6));
    assert_eq!(visit["interactions"], json!(4));
    assert_eq!(visit["visitDuration"], json!(1801));
    assert_eq!(visit["visitEcommerceStatus"], json!("ordered"));
    // The order set the visit's seconds since the last order to 0.
    assert_eq!(visit["daysSinceLastEcommerceOrder"], json!(0));
    assert_eq!(visit["secondsSinceLastEcommerceOrder"], json!(0));
    let details = visit["actionDetails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let shape: Vec<(String, Value)> = details
        .iter()
        .map(|action| {
            let kind = match &action["type"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (kind, action["pageIdAction"].clone())
        })
        .collect();
    let expected: Vec<(String, Value)> = [
        ("action", json!(2)),
        ("13", json!(3)),
        ("13", json!(3)),
        ("action", json!(13)),
        ("ecommerceOrder", Value::Null),
        ("action", json!(18)),
        ("event", json!(19)),
        ("event", json!(19)),
        ("action", json!(28)),
    ]
    .into_iter()
    .map(|(kind, id)| (kind.to_owned(), id))
    .collect();
    assert_eq!(shape, expected);
    assert_eq!(details[2]["contentName"], json!("my,video"));
    assert_eq!(
        details[4]["itemDetails"][0]["itemCategory"],
        json!(r"product\category")
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// SpecialDateParamsTest

/// `test_specialDateParams_{lastweek,lastmonth,lastyear}__*_day.xml` and
/// `test_specialDateParams_range__*_range.xml`: the visits are tracked relative to our "now" as the fixture
/// tracks them relative to the real clock.
#[tokio::test]
async fn special_date_params_resolve_as_matomo() -> anyhow::Result<()> {
    let now = PrimitiveDateTime::new(NOW.date(), NOW.time());
    let (db, token) = matomo_site(datetime!(2018-01-01 15:00:00), |_| {}, &[])?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let referrer = "http://referrer.com/page.htm?param=valuewith some spaces";
    let visits = [
        (
            now,
            "http://example.org/index.htm?excluded_Parameter=SHOULD_NOT_DISPLAY&parameter=Should display",
            referrer,
            "incredible title!",
        ),
        (
            now - Duration::days(7),
            "http://example.org/index.htm?excluded_Parameter=SHOULD_NOT_DISPLAY&parameter=Should display",
            "http://referrer.com/page.htm",
            "incredible!",
        ),
        (
            datetime!(2026-10-16 12:00:00),
            "http://example.org/store/purchase.htm",
            "http://search.yahoo.com/search?p=purchase",
            "Checkout/Purchasing...",
        ),
        (
            datetime!(2025-11-16 12:00:00),
            "http://example.org/shop/product.htm",
            "",
            "Visit product",
        ),
    ];
    for (n, (at, url, referrer, title)) in visits.into_iter().enumerate() {
        let mut t = PhpTracker::new(1, &token, &format!("{:016x}", 0xd000 + n), at);
        t.url = url.to_owned();
        t.referrer = referrer.to_owned();
        let query = t.page_view(title);
        t.ok(&router, &query).await?;
    }
    let r = Reports {
        api: reporting_api(&db)?,
        token,
        now: NOW,
    };
    // Matomo's `Date::factory`: `last week` / `lastWeek` is a week before
    // today, `last month` and `lastyear` a month and a year before.
    let one_page = |title: &str, segment: &str| {
        json!([{
            "label": format!(" {title}"), "nb_visits": 1, "nb_uniq_visitors": 1, "nb_hits": 1,
            "sum_time_spent": 0, "sum_bandwidth": 0, "nb_hits_with_bandwidth": 0,
            "min_bandwidth": null, "max_bandwidth": null, "entry_nb_uniq_visitors": 1,
            "entry_nb_visits": 1, "entry_nb_actions": 1, "entry_sum_visit_length": 0,
            "entry_bounce_count": 1, "exit_nb_uniq_visitors": 1, "exit_nb_visits": 1,
            "avg_bandwidth": 0, "avg_page_load_time": 0,
            "avg_time_on_page": 0, "bounce_rate": "100%", "exit_rate": "100%",
            "segment": segment
        }])
    };
    for (date, title, segment) in [
        ("last+week", "incredible!", "pageTitle==incredible%2521"),
        (
            "last+month",
            "Checkout/Purchasing...",
            "pageTitle==Checkout%252FPurchasing...",
        ),
        ("lastyear", "Visit product", "pageTitle==Visit%2Bproduct"),
    ] {
        let query = format!("idSite=1&period=day&date={date}");
        assert_eq!(
            r.json(&format!("method=VisitsSummary.getVisits&{query}"))
                .await?,
            json!({"value": 1}),
            "{date}"
        );
        assert_eq!(
            r.json(&format!("method=Actions.getPageTitles&{query}"))
                .await?,
            one_page(title, segment),
            "{date}"
        );
    }
    let range = "idSite=1&period=range&date=last-year%2ClastWeek";
    assert_eq!(
        r.xml(&format!("method=VisitsSummary.getVisits&{range}"))
            .await?,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>3</result>"
    );
    let titles = r
        .json(&format!("method=Actions.getPageTitles&{range}"))
        .await?;
    let rows: Vec<(Value, Value, Value)> = titles
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|row| {
            (
                row["label"].clone(),
                row["nb_visits"].clone(),
                row["sum_daily_nb_uniq_visitors"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [" Checkout/Purchasing...", " incredible!", " Visit product"].map(|label| (
            json!(label),
            json!(1),
            json!(1)
        ))
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// PeriodIsRangeDateIsLastNMetadataAndNormalAPITest

/// The test's "now" (`Date::$now` is today at 20:00); its fixture
/// (`TwoVisitsWithCustomVariables`) tracks yesterday from midnight.
const RANGE_NOW: OffsetDateTime = datetime!(2026-11-16 20:00 UTC);
const RANGE_START: PrimitiveDateTime = datetime!(2026-11-15 00:00:00);
const RANGE_VISITOR_B: &str = "61e8cc2d51fea26d";

pub(crate) fn at_datetime(start: PrimitiveDateTime, hours: f64) -> At {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    At::Datetime(start + Duration::seconds(seconds))
}

/// `TwoVisitsWithCustomVariables` with `doExtraQuoteTests = false`, from
/// `start`, its reports answered at `now` (also replayed by
/// `matomo_goals_fixture.rs` at the fixture's own date).
pub(crate) async fn two_visits_with_custom_variables(
    start: PrimitiveDateTime,
    now: OffsetDateTime,
) -> anyhow::Result<(Reports, tally_db::test_support::TestDb)> {
    let goals = [
        tally_management::GoalParams::new("triggered js", "manually", "", ""),
        tally_management::GoalParams::new("second goal", "manually", "", ""),
    ];
    let (db, token) = matomo_site(start, |_| {}, &goals)?;
    keep_full_ips(&db)?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;

    let mut a = PhpTracker::new(1, &token, "5e1b0a9c8d7f6e24", start);
    a.referrer = "http://www.google.com/url?sa=t&source=web&cd=1&ved=0CB4QFjAA\
                  &url=http://piwik.org/&rct=j&q=this keyword should be ranked\
                  &ei=V8WfTePkKKLfiALrpZWGAw&usg=AFQjCNF_MGJRqKPvaKuUokHtZ3VvNG9ALw\
                  &sig2=BvKAdCtNixsmfNWXjsNyMw"
        .to_owned();
    a.set_attribution_info(
        "",
        "",
        1_302_306_504,
        "http://www.google.com/search?q=piwik&ie=utf-8&oe=utf-8&aq=t\
         &rls=org.mozilla:en-GB:official&client=firefox-a",
    );
    a.set_resolution(1111, 222);
    a.at = at_datetime(start, 0.1);
    a.url = "http://example.org/homepage".to_owned();
    a.set_visit_cvar(2, "VisitorType", json!("LoggedOut"));
    let query = a.page_view("Homepage");
    a.ok(&router, &query).await?;
    let query = a.goal(2, 0.0);
    a.ok(&router, &query).await?;

    a.at = at_datetime(start, 0.2);
    a.url = "http://example.org/user/profile".to_owned();
    a.set_visit_cvar(1, "VisitorType", json!("LoggedIn"));
    a.set_page_cvar(4, "Status user", json!("Loggedin"));
    a.set_page_cvar(5, "Status user", json!("looking at \"profile page\""));
    let query = a.page_view("Profile page");
    a.ok(&router, &query).await?;

    a.set_visit_cvar(2, "SET WITH EMPTY VALUE", json!(""));
    a.set_page_cvar(1, "Language", json!("FR"));
    a.set_page_cvar(2, "SET WITH EMPTY VALUE PAGE SCOPE", json!(""));
    a.set_page_cvar(4, "Status user", json!("looking at \"profile page\""));
    a.set_visit_cvar(
        3,
        "Value will be VERY long and truncated",
        json!("abcdefghijklmnopqrstuvwxyz----".repeat(18)),
    );
    let query = a.page_view("Profile page for user *_)%");
    a.ok(&router, &query).await?;
    let query = a.goal(1, 0.0);
    a.ok(&router, &query).await?;

    let mut b = PhpTracker::new(1, &token, "0a1b2c3d4e5f6071", start);
    b.set_visitor_id(RANGE_VISITOR_B);
    b.set_attribution_info(
        " CAMPAIGN NAME -%20YEAH! ",
        " CAMPAIGN%20KEYWORD - RIGHT... ",
        1_302_306_504,
        "http://www.example.org/test/really?q=yes",
    );
    b.set_resolution(1111, 222);
    b.set_user_agent(
        "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-GB; rv:1.9.0.6) Gecko/2009011913 Firefox/3.0.6",
    );
    b.at = at_datetime(start, 1.0);
    b.set_visit_cvar(1, "VisitorType", json!("LoggedOut"));
    b.set_visit_cvar(
        2,
        "Othercustom value which should be truncated abcdefghijklmnopqrstuvwxyz",
        json!("abcdefghijklmnopqrstuvwxyz".repeat(4)),
    );
    // Slots Matomo ignores (the fixture also sets slot -2, and slot 6 once
    // more with an array as the name; our PHP tracker model keeps slots as
    // positive numbers and names as text).
    b.set_visit_cvar(6, "not tracked", json!("not tracked"));
    b.url = "http://example.org/homepage".to_owned();
    let query = b.goal(1, 1000.0);
    b.ok(&router, &query).await?;
    b.at = at_datetime(start, 1.1);
    let query = b.page_view("Homepage");
    b.ok(&router, &query).await?;
    b.at = at_datetime(start, 2.0);
    let query = b.action("http://test.com", "link");
    b.ok(&router, &query).await?;

    let reports = Reports {
        api: reporting_api(&db)?,
        token,
        now,
    };
    Ok((reports, db))
}

/// `test_periodIsRange_dateIsLastN_MetadataAndNormalAPI(_pagesegment)__*`:
/// every segment and every spelling of the last seven days give the same
/// answers (Matomo's expected files are shared by all of them).
#[tokio::test]
async fn range_of_last_n_days_gives_matomos_reports() -> anyhow::Result<()> {
    let (r, _db) = two_visits_with_custom_variables(RANGE_START, RANGE_NOW).await?;
    let segments = [
        "",
        "daysSinceFirstVisit!=50",
        "visitorId!=33c31e01394bdc63",
        "visitorId!=33c31e01394bdc63;daysSinceFirstVisit!=50",
        "pageUrl!=http://unknown/not/viewed",
    ];
    let dates = ["last7", "2026-11-10,today", "2026-11-10,now"];
    for segment in segments {
        for date in dates {
            let query = |method: &str| {
                format!(
                    "method={method}&idSite=1&period=range&date={}&segment={}",
                    encode(date),
                    encode(segment)
                )
            };
            let context = format!("{date} {segment}");
            assert_eq!(
                r.json(&query("VisitsSummary.get")).await?,
                json!({
                    "nb_visits": 3, "nb_actions": 5, "nb_visits_converted": 2,
                    "bounce_count": 2, "sum_visit_length": 725, "max_actions": 3,
                    "bounce_rate": "67%", "nb_actions_per_visit": 1.7, "avg_time_on_site": 242
                }),
                "{context}"
            );
            let goals = r.json(&query("Goals.get")).await?;
            assert_eq!(
                (
                    &goals["nb_conversions"],
                    &goals["nb_visits_converted"],
                    &goals["revenue"],
                    &goals["conversion_rate"],
                ),
                (&json!(3), &json!(2), &json!(1000), &json!("66.67%")),
                "{context}"
            );
            // The conversion of `_rcn` (decoded once more by Matomo) has no
            // visit; visitor A's goals go to the search engine of `_ref`.
            let campaigns = r.json(&query("Referrers.getCampaigns")).await?;
            assert_eq!(
                campaigns[0]["label"],
                json!("campaign name - yeah!"),
                "{context}"
            );
            assert_eq!(
                campaigns[0]["segment"],
                json!("referrerType==campaign;referrerName==campaign+name+-+yeah%21"),
                "{context}"
            );
            assert_eq!(campaigns[0]["nb_visits"], json!(0), "{context}");
            let keywords = r.json(&query("Referrers.getKeywords")).await?;
            let keywords: Vec<(Value, Value, Value)> = keywords
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|row| {
                    (
                        row["label"].clone(),
                        row["nb_visits"].clone(),
                        row["nb_conversions"].clone(),
                    )
                })
                .collect();
            assert_eq!(
                keywords,
                [
                    (
                        json!("this keyword should be ranked"),
                        json!(1),
                        Value::Null
                    ),
                    (json!("piwik"), json!(0), json!(2)),
                ],
                "{context}"
            );
            // Both spellings of the quoted page custom variable are one value.
            let variables = r
                .json(&format!(
                    "{}&expanded=1",
                    query("CustomVariables.getCustomVariables")
                ))
                .await?;
            let status = variables
                .as_array()
                .and_then(|rows| rows.iter().find(|row| row["label"] == json!("Status user")))
                .cloned()
                .unwrap_or_default();
            let values: Vec<(Value, Value)> = status["subtable"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|row| (row["label"].clone(), row["nb_visits"].clone()))
                .collect();
            assert_eq!(
                values,
                [
                    (json!("looking at \"profile page\""), json!(2)),
                    (json!("Loggedin"), json!(1)),
                ],
                "{context}"
            );
            // Matomo's order (its report's default sort: nb_actions, then
            // nb_visits), each name's slots as an array, and the goals of
            // the conversions, which carry the visit's custom variables.
            let names: Vec<&Value> = variables
                .as_array()
                .map(|rows| rows.iter().map(|row| &row["label"]).collect())
                .unwrap_or_default();
            assert_eq!(
                names,
                [
                    "VisitorType",
                    "SET WITH EMPTY VALUE",
                    "Value will be VERY long and truncated",
                    "Status user",
                    "Othercustom value which should be truncated abcdefghijklmnopqrstuvwxyz",
                    "Language",
                    "SET WITH EMPTY VALUE PAGE SCOPE",
                ]
                .map(|label| json!(label))
                .iter()
                .collect::<Vec<_>>(),
                "{context}"
            );
            let visitor_type = &variables[0];
            assert_eq!(
                (
                    &visitor_type["goals"],
                    &visitor_type["nb_conversions"],
                    &visitor_type["revenue"],
                    &visitor_type["slots"],
                ),
                (
                    &json!({
                        "idgoal=1": {"nb_conversions": 2, "nb_visits_converted": 2, "revenue": 1000},
                        "idgoal=2": {"nb_conversions": 1, "nb_visits_converted": 1, "revenue": 0},
                    }),
                    &json!(3),
                    &json!(1000),
                    &json!([{"scope": "visit", "index": 1}]),
                ),
                "{context}"
            );
            let values: Vec<(Value, Value, Value)> = visitor_type["subtable"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|row| {
                    (
                        row["label"].clone(),
                        row["nb_actions"].clone(),
                        row["revenue"].clone(),
                    )
                })
                .collect();
            assert_eq!(
                values,
                [
                    (json!("LoggedIn"), json!(3), json!(0)),
                    (json!("LoggedOut"), json!(2), json!(1000)),
                ],
                "{context}"
            );
            assert_eq!(
                status["slots"],
                json!([{"scope": "page", "index": 4}, {"scope": "page", "index": 5}]),
                "{context}"
            );
            // Unique visitors and users leave the metadata of a range.
            let processed = r
                .json(&query(
                    "API.getProcessedReport&apiModule=UserCountry&apiAction=getCountry",
                ))
                .await?;
            assert_eq!(
                processed["metadata"]["metrics"],
                json!({"nb_visits": "Visits", "nb_actions": "Actions"}),
                "{context}"
            );
            assert_eq!(
                processed["reportData"][0]["nb_visits"],
                json!(3),
                "{context}"
            );
        }
    }
    // `..._Live.getLastVisitsDetails_range.xml`: B's second visit starts
    // with an outlink, before any page view (no position); each visit's
    // goal comes first (same second as its page view); full IPs.
    let visits = r
        .json("method=Live.getLastVisitsDetails&idSite=1&period=range&date=last7")
        .await?;
    let first_actions: Vec<(Value, Value, Value)> = visits
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|visit| {
            let action = &visit["actionDetails"][0];
            (
                visit["visitIp"].clone(),
                action["type"].clone(),
                action["pageviewPosition"].clone(),
            )
        })
        .collect();
    assert_eq!(
        first_actions,
        [
            (json!("156.5.3.2"), json!("outlink"), Value::Null),
            (json!("156.5.3.2"), json!("goal"), Value::Null),
            (json!("156.5.3.2"), json!("goal"), Value::Null),
        ]
    );
    // `..._Live.getVisitorProfile.xml`: the visits are a table, whose
    // custom variable slots render as bare rows.
    let profile = r
        .xml(&format!(
            "method=Live.getVisitorProfile&idSite=1&visitorId={RANGE_VISITOR_B}"
        ))
        .await?;
    assert!(
        profile.contains(
            "\t\t\t<customVariables>\n\t\t\t\t<row>\n\
             \t\t\t\t\t<customVariableName1>VisitorType</customVariableName1>\n"
        ),
        "{profile}"
    );
    let counters = r
        .json("method=Live.getCounters&idSite=1&lastMinutes=2880")
        .await?;
    assert_eq!(
        counters,
        json!([{"visits": 3, "actions": 5, "visitors": 2, "visitsConverted": 3}])
    );
    assert_eq!(
        r.json("method=Live.getMostRecentVisitorId&idSite=1")
            .await?,
        json!({"value": RANGE_VISITOR_B})
    );
    Ok(())
}
