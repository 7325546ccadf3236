//! Matomo's `OneVisitorNoKeywordSpecifiedTest` (tests/PHPUnit/System in
//! matomo-org/matomo) on its fixture `TwoVisitsNoKeywordWithBot`: a
//! Googlebot (tracked because the requests say `bots=1`) comes twice from
//! Google, first with an empty `q` ("keyword not defined") and a manual
//! goal, then with a keyword full of HTML special characters, on a page
//! whose URL carries a script tag and JSON; `Referrers.getKeywords` and
//! `Live.getLastVisitsDetails` answered in French.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::GoalParams;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{FixtureApi, matomo_site, reporting_api, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// The fixture's `$dateTime`.
const DATE_TIME: PrimitiveDateTime = datetime!(2010-03-06 11:22:33);

async fn fixture() -> anyhow::Result<(TestDb, FixtureApi)> {
    let goal = GoalParams::new("triggered js", "manually", "", "");
    let (db, token) = matomo_site(DATE_TIME, |_| {}, &[goal])?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut t = PhpTracker::new(1, &token, "1a2b3c4d5e6f7a8b", DATE_TIME);
    t.user_agent =
        Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)".to_owned());
    // Our tracker anonymizes IPs (2 bytes) by default, which is what
    // `forceIpAnonymization` switches on in Matomo.
    t.debug_append = "&bots=1&forceIpAnonymization=1".to_owned();
    t.referrer = "http://www.google.com/url?sa=t&rct=j&q=&esrc=s&source=web&cd=1&ved=0CC&url=http%3A%2F%2Fpiwik.org%2F&ei=&usg=".to_owned();
    t.url = r#"http://example.org/this%20is%20cool!?filter=<script>alert(1);</script>{"place":{"place":"0c5b2444-70a0-4932-980c-b4dc0d3f02b5"}}"#.to_owned();
    let query = t.page_view("incredible title! (Page URL contains a HTML entity)");
    t.ok(&router, &query).await?;
    t.at = At::Datetime(DATE_TIME + Duration::seconds(1080));
    let query = t.goal(1, 42.0);
    t.ok(&router, &query).await?;
    t.at = At::Datetime(DATE_TIME + Duration::hours(2));
    t.referrer = "http://www.google.com.vn/url?sa=t&rct=j&q=%3C%3E%26%5C%22the%20pdo%20extension%20is%20required%20for%20this%20adapter%20but%20the%20extension%20is%20not%20loaded&source=web&cd=4&ved=0FjAD&url=http%3A%2F%2Fforum.piwik.org%2Fread.php%3F2%2C1011&ei=y-HHAQ&usg=AFQjCN2-nt5_GgDeg&cad=rja".to_owned();
    let query = t.page_view("");
    t.ok(&router, &query).await?;
    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2026-11-16 12:00 UTC),
    };
    Ok((db, api))
}

/// `(label, nb_visits, sum_visit_length, nb_conversions, revenue,
/// segment, engines)` of each keyword row.
type KeywordRow = (String, u64, u64, u64, f64, String, Vec<String>);

fn keyword_rows(report: &Value) -> Vec<KeywordRow> {
    report
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            (
                row["label"].as_str().unwrap_or("").to_owned(),
                row["nb_visits"].as_u64().unwrap_or(0),
                row["sum_visit_length"].as_u64().unwrap_or(0),
                row["nb_conversions"].as_u64().unwrap_or(0),
                row["revenue"].as_f64().unwrap_or(0.0),
                row["segment"].as_str().unwrap_or("").to_owned(),
                row["subtable"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|engine| engine["label"].as_str().unwrap_or("").to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// The test's `Referrers.getKeywords` (expanded, as Matomo's system tests
/// ask): the undefined keyword first among the rows with one visit (the
/// sort sees its stored empty label, Matomo names it afterwards), with
/// the goal's conversion; the other keyword as sent, HTML characters and
/// all. Matomo says `Mot clef indéfini` for `language=fr`; we answer in
/// English.
#[tokio::test(flavor = "multi_thread")]
async fn keywords_put_the_undefined_keyword_first() -> anyhow::Result<()> {
    let (_db, api) = fixture().await?;
    let report = api
        .json("method=Referrers.getKeywords&idSite=1&period=day&date=2010-03-06&expanded=1&language=fr")
        .await?;
    // Labels are stored HTML-escaped, as Matomo's tracker sanitizes them.
    let pdo =
        r#"<>&\"the pdo extension is required for this adapter but the extension is not loaded"#;
    assert_eq!(
        keyword_rows(&report),
        [
            (
                "Keyword not defined".to_owned(),
                1,
                1084,
                1,
                42.0,
                "referrerType==search;referrerKeyword==".to_owned(),
                vec!["Google".to_owned()],
            ),
            (
                pdo.to_owned(),
                1,
                0,
                0,
                0.0,
                "referrerType==search;referrerKeyword==%3C%3E%26%5C%22the+pdo+extension+is+required+for+this+adapter+but+the+extension+is+not+loaded".to_owned(),
                vec!["Google".to_owned()],
            ),
        ]
    );
    // The same table without the queued filters keeps the stored label.
    let raw = api
        .json("method=Referrers.getKeywords&idSite=1&period=day&date=2010-03-06&disable_queued_filters=1")
        .await?;
    assert_eq!(raw[0]["label"], "");
    Ok(())
}

/// The test's `Live.getLastVisitsDetails`: the bot's two visits, IPs
/// anonymized to two bytes, the referrer URLs without Google's tracking
/// parameters, the goal's 42 and the visit lengths Matomo's tracker
/// computes (1 + 1,080 s, plus 1 + 2 for the conversion of goal 1).
#[tokio::test(flavor = "multi_thread")]
async fn the_visitor_log_shows_both_bot_visits() -> anyhow::Result<()> {
    let (_db, api) = fixture().await?;
    let visits = api
        .json("method=Live.getLastVisitsDetails&idSite=1&period=day&date=2010-03-06&expanded=1&language=fr")
        .await?;
    let visits = visits.as_array().cloned().unwrap_or_default();
    assert_eq!(visits.len(), 2);
    let (second, first) = (&visits[0], &visits[1]);
    let fields = |visit: &Value, names: &[&str]| -> Vec<Value> {
        names.iter().map(|name| visit[*name].clone()).collect()
    };
    let names = [
        "idVisit",
        "visitIp",
        "visitorType",
        "visitCount",
        "visitDuration",
        "secondsSinceLastVisit",
        "goalConversions",
        "referrerKeyword",
        "referrerKeywordPosition",
        "referrerUrl",
        "operatingSystem",
        "operatingSystemCode",
        "browserCode",
        "countryCode",
    ];
    assert_eq!(
        fields(second, &names),
        [
            json!(2),
            json!("156.5.0.0"),
            json!("returning"),
            json!(2),
            json!(0),
            json!(7200),
            json!(0),
            json!(
                r#"<>&\"the pdo extension is required for this adapter but the extension is not loaded"#
            ),
            json!("4"),
            json!(
                "http://www.google.com.vn/url?rct=j&q=%3C%3E%26%5C%22the%20pdo%20extension%20is%20required%20for%20this%20adapter%20but%20the%20extension%20is%20not%20loaded&source=web&cd=4&url=http%3A%2F%2Fforum.piwik.org%2Fread.php%3F2%2C1011&cad=rja"
            ),
            json!("Bot"),
            json!("BOT"),
            json!("UNK"),
            json!("fr"),
        ]
    );
    assert_eq!(
        fields(first, &names),
        [
            json!(1),
            json!("156.5.0.0"),
            json!("new"),
            json!(1),
            json!(1084),
            json!(0),
            json!(1),
            json!("Keyword not defined"),
            json!("1"),
            json!(
                "http://www.google.com/url?rct=j&q=&esrc=s&source=web&cd=1&url=http%3A%2F%2Fpiwik.org%2F"
            ),
            json!("Bot"),
            json!("BOT"),
            json!("UNK"),
            json!("fr"),
        ]
    );
    let url = r#"http://example.org/this%20is%20cool!?filter=<script>alert(1);</script>{"place":{"place":"0c5b2444-70a0-4932-980c-b4dc0d3f02b5"}}"#;
    let page = &second["actionDetails"][0];
    assert_eq!(page["url"], url);
    // The empty title stays empty, the page keeps its action id.
    assert_eq!(page["pageTitle"], Value::Null);
    assert_eq!(page["pageIdAction"], 2);
    let goal = &first["actionDetails"][1];
    assert_eq!(
        fields(goal, &["type", "goalName", "revenue", "url", "subtitle"]),
        [
            json!("goal"),
            json!("triggered js"),
            json!(42),
            json!(url),
            json!("triggered js ($42 revenue)"),
        ]
    );
    assert_eq!(first["actionDetails"][0]["timeSpent"], 1084);
    Ok(())
}
