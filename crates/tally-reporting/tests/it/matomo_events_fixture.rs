//! Matomo's system test traffic "three visits with custom events"
//! (`tests/PHPUnit/Fixtures/ThreeVisitsWithCustomEvents.php` in
//! matomo-org/matomo, used by `CustomEventsTest`), sent as the PHP tracker
//! sends it, and the day's Events, Actions and Goals reports checked
//! against the numbers of Matomo's expected outputs for that fixture.
//!
//! Three tracker objects (three visitor ids) on site 1 (`http://piwik.net`,
//! UTC): the first starts on 2010-01-03 11:22:33 with a page view of
//! `/webradio`, plays music (events with event and page custom variables),
//! rates it, sends three events without a URL in the category that goal 3
//! matches, and watches movies (`/movies`, then events up to 453 minutes
//! in, with gaps over 30 minutes that start new visits); the second
//! (another IP, 30 minutes later) does the same without the webradio page
//! and the URL-less events; the third the same a day later.

use axum::Router;
use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::GoalParams;
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{NOW, matomo_site, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

const START: PrimitiveDateTime = datetime!(2010-01-03 11:22:33);
const MUSIC: &str = "La fiancée de l'eau";
const SPIRITED: &str = "Spirited Away (千と千尋の神隠し)";
const LONG: &str = "Extremely long Extremely long Extremely long Extremely long Extremely long Extremely long Extremely long Extremely long Extremely long Extremely long ---> SHOULD APPEAR IN TEST OUTPUT NOT TRUNCATED <---         ";

/// `moveTimeForward`: `minutes` after the tracker's start.
fn move_to(t: &mut PhpTracker, start: PrimitiveDateTime, minutes: f64) {
    #[expect(clippy::cast_possible_truncation, reason = "minutes of the fixture")]
    let seconds = (minutes * 60.0).round() as i64;
    t.at = At::Datetime(start + Duration::seconds(seconds));
}

fn music_cvars(t: &mut PhpTracker) {
    t.set_page_cvar(
        1,
        "Page Scope Custom var",
        json!("should not appear in events report"),
    );
    t.set_event_cvar(1, "album", json!("En attendant les caravanes..."));
    t.set_event_cvar(1, "genre", json!("World music"));
}

fn movie_cvars(t: &mut PhpTracker) {
    t.set_event_cvar(1, "country", json!("日本"));
    t.set_event_cvar(2, "genre", json!("Greatest animated films"));
    t.set_event_cvar(4, "genre", json!("Adventure"));
    t.set_event_cvar(5, "genre", json!("Family"));
    t.set_event_cvar(5, "movieid", json!(15763));
    t.set_visit_cvar(
        1,
        "Visit Scope Custom var",
        json!("should not appear in events report Bis"),
    );
}

async fn music_playing(
    router: &Router,
    t: &mut PhpTracker,
    start: PrimitiveDateTime,
) -> anyhow::Result<()> {
    for (minutes, action) in [
        (1.0, "play"),
        (2.0, "play25%"),
        (3.0, "play50%"),
        (4.0, "play75%"),
        (4.5, "playEnd"),
    ] {
        move_to(t, start, minutes);
        music_cvars(t);
        let query = t.event("Music", action, Some(MUSIC), None);
        t.ok(router, &query).await?;
    }
    for (minutes, value) in [(5.0, 9.0), (5.02, 10.0)] {
        move_to(t, start, minutes);
        music_cvars(t);
        let query = t.event("Music", "rating", Some(MUSIC), Some(value));
        t.ok(router, &query).await?;
    }
    Ok(())
}

async fn events_without_url(
    router: &Router,
    t: &mut PhpTracker,
    start: PrimitiveDateTime,
) -> anyhow::Result<()> {
    let url = std::mem::take(&mut t.url);
    for (minutes, value) in [(1.0, None), (2.0, Some(23.0)), (3.0, Some(0.0))] {
        move_to(t, start, minutes);
        let query = t.event(
            "CategoryTriggersGoal here",
            "This is an event without a URL",
            None,
            value,
        );
        t.ok(router, &query).await?;
    }
    t.url = url;
    Ok(())
}

/// A movie event: minutes after the start, action, name, value, and
/// whether the movie's event custom variables are set first.
type MovieEvent = (f64, &'static str, Option<String>, Option<f64>, bool);

async fn movie_watching(
    router: &Router,
    t: &mut PhpTracker,
    start: PrimitiveDateTime,
) -> anyhow::Result<()> {
    move_to(t, start, 30.0);
    t.url = "http://example.org/movies".to_owned();
    t.set_timings([0, 455, 169, 20, 99, 160]);
    let query = t.page_view("Movie Theater");
    t.ok(router, &query).await?;
    let long = |what: &str| format!("{what} {LONG}");
    let events: [MovieEvent; 15] = [
        (
            31.0,
            "playTrailer",
            Some("Princess Mononoke (もののけ姫)".to_owned()),
            None,
            true,
        ),
        (
            33.0,
            "playTrailer",
            Some("Ponyo (崖の上のポニョ)".to_owned()),
            None,
            true,
        ),
        (35.0, "playTrailer", Some(SPIRITED.to_owned()), None, true),
        (36.0, "clickBuyNow", Some(SPIRITED.to_owned()), None, true),
        (38.0, "playStart", Some(SPIRITED.to_owned()), None, true),
        (60.0, "play25%", Some(SPIRITED.to_owned()), None, true),
        (150.0, "Search", None, None, false),
        (222.0, "play50%", Some(SPIRITED.to_owned()), None, true),
        (244.0, "play75%", Some(SPIRITED.to_owned()), None, true),
        (
            251.0,
            "Search",
            Some("Search query here".to_owned()),
            None,
            false,
        ),
        (266.0, "playEnd", Some(SPIRITED.to_owned()), None, true),
        // Without a URL.
        (268.0, "rating", Some(SPIRITED.to_owned()), Some(9.66), true),
        // With long names, on another URL.
        (280.0, "", None, Some(9.66), true),
        (352.0, "Search", None, None, false),
        (453.0, "Purchase", None, None, false),
    ];
    for (minutes, action, name, value, cvars) in events {
        move_to(t, start, minutes);
        if minutes == 268.0 {
            t.url = String::new();
        }
        if minutes == 280.0 {
            t.url = "http://example.org/finishedMovie".to_owned();
        }
        if cvars {
            movie_cvars(t);
        }
        let query = if action.is_empty() {
            t.event(
                &long("event category"),
                &long("event action"),
                Some(&long("event name")),
                value,
            )
        } else {
            t.event("Movie", action, name.as_deref(), value)
        };
        t.ok(router, &query).await?;
    }
    Ok(())
}

struct Reports {
    api: Api,
    token: String,
}

impl Reports {
    async fn json(&self, method: &str, extra: &str) -> anyhow::Result<Value> {
        self.period_json(method, "day", extra).await
    }

    async fn period_json(&self, method: &str, period: &str, extra: &str) -> anyhow::Result<Value> {
        let body = self
            .text(method, period, &format!("&format=json{extra}"))
            .await?;
        Ok(serde_json::from_str(&body)?)
    }

    async fn text(&self, method: &str, period: &str, extra: &str) -> anyhow::Result<String> {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&method={method}&idSite=1&period={period}&date=2010-01-03{extra}&token_auth={}",
                self.token
            ),
            None,
        );
        let api = self.api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        anyhow::ensure!(answer.status == 200, "{method}: {}", answer.status);
        Ok(String::from_utf8(answer.body)?)
    }
}

/// `(label, [nb_uniq_visitors, nb_visits, nb_events, nb_events_with_value])`
/// and `sum_event_value` of each row.
fn event_rows(rows: &Value) -> Vec<(String, [i64; 4], f64)> {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let int = |name: &str| row[name].as_i64().unwrap_or(-1);
                    (
                        row["label"].as_str().unwrap_or("").to_owned(),
                        [
                            int("nb_uniq_visitors"),
                            int("nb_visits"),
                            int("nb_events"),
                            int("nb_events_with_value"),
                        ],
                        row["sum_event_value"].as_f64().unwrap_or(-1.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn rows(expected: &[(&str, [i64; 4], f64)]) -> Vec<(String, [i64; 4], f64)> {
    expected
        .iter()
        .map(|(label, counts, sum)| ((*label).to_owned(), *counts, *sum))
        .collect()
}

/// The long labels as the JSON API gives them: trailing spaces trimmed by
/// the tracker (escaped by SafeDecodeLabel, then decoded by the renderer).
fn long_label(what: &str) -> String {
    format!("{what} {}", LONG.trim_end())
}

async fn fixture() -> anyhow::Result<(TestDb, Reports)> {
    // Goals 1 and 2 check that events match neither URL nor title goals.
    let event_goal = GoalParams {
        revenue: 8.0,
        allow_multiple: true,
        event_value_as_revenue: true,
        ..GoalParams::new(
            "event matching",
            "event_category",
            "CategoryTriggersGoal",
            "contains",
        )
    };
    let (db, token) = matomo_site(
        START - Duration::days(1),
        |site| site.sitesearch = Some(true),
        &[
            GoalParams::new("triggered js", "url", "webradio", "contains"),
            GoalParams::new("triggered js", "title", "Music", "contains"),
            event_goal,
        ],
    )?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;

    let mut first = PhpTracker::new(1, &token, "a1b2c3d4e5f60718", START);
    first.url = "http://example.org/webradio".to_owned();
    first.set_timings([5, 111, 245, 145, 66, 0]);
    let query = first.page_view("Welcome!");
    first.ok(&router, &query).await?;
    music_playing(&router, &mut first, START).await?;
    events_without_url(&router, &mut first, START).await?;
    movie_watching(&router, &mut first, START).await?;

    for (start, ip, visitor) in [
        (
            START + Duration::minutes(30),
            "111.1.1.1",
            "0f1e2d3c4b5a6978",
        ),
        (
            START + Duration::minutes(30) + Duration::days(1),
            "111.1.1.2",
            "99aa88bb77cc66dd",
        ),
    ] {
        let mut t = PhpTracker::new(1, &token, visitor, start);
        t.url = "http://example.com/piwik/".to_owned();
        t.ip = ip.to_owned();
        t.plugins = false;
        music_playing(&router, &mut t, start).await?;
        movie_watching(&router, &mut t, start).await?;
    }

    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    Ok((db, Reports { api, token }))
}

#[tokio::test]
async fn custom_events_give_matomos_event_reports() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let long_category = long_label("event category");
    let long_action = long_label("event action");
    let long_name = long_label("event name");

    // Each row sums its subtable's rows, unique visitors included, as
    // Matomo's Events archiver does; events without a name count in the
    // row but have no subtable row.
    let categories = reports.json("Events.getCategory", "&expanded=1").await?;
    assert_eq!(
        event_rows(&categories),
        rows(&[
            ("Movie", [26, 28, 28, 2], 19.32),
            ("Music", [12, 12, 14, 4], 38.0),
            (&long_category, [2, 2, 2, 2], 19.32),
            ("CategoryTriggersGoal here", [1, 1, 3, 2], 23.0),
        ])
    );
    assert_eq!(
        event_rows(&categories[0]["subtable"]),
        rows(&[
            ("playTrailer", [6, 6, 6, 0], 0.0),
            ("Search", [4, 6, 6, 0], 0.0),
            ("clickBuyNow", [2, 2, 2, 0], 0.0),
            ("play25%", [2, 2, 2, 0], 0.0),
            ("play50%", [2, 2, 2, 0], 0.0),
            ("play75%", [2, 2, 2, 0], 0.0),
            ("playEnd", [2, 2, 2, 0], 0.0),
            ("playStart", [2, 2, 2, 0], 0.0),
            ("Purchase", [2, 2, 2, 0], 0.0),
            ("rating", [2, 2, 2, 2], 19.32),
        ])
    );
    assert_eq!(
        event_rows(&categories[3]["subtable"]),
        rows(&[("This is an event without a URL", [1, 1, 3, 2], 23.0)])
    );
    let music = &categories[1];
    for (name, value) in [
        ("min_event_value", json!(9)),
        ("max_event_value", json!(10)),
        ("avg_event_value", json!(9.5)),
        ("segment", json!("eventCategory==Music")),
    ] {
        assert_eq!(music[name], value, "Music {name}");
    }
    assert_eq!(categories[3]["min_event_value"], json!(0));
    assert_eq!(categories[3]["avg_event_value"], json!(11.5));
    // Rows whose events carry no value have NULL bounds (Matomo 5.1):
    // `null` in JSON, empty elements in XML.
    let trailer = &categories[0]["subtable"][0];
    assert_eq!(
        (&trailer["min_event_value"], &trailer["max_event_value"]),
        (&Value::Null, &Value::Null),
        "{trailer}"
    );
    let xml = reports
        .text("Events.getCategory", "day", "&format=xml&expanded=1")
        .await?;
    assert!(
        xml.contains(
            "<sum_event_value>0</sum_event_value>\n\t\t\t\t<min_event_value />\n\t\t\t\t<max_event_value />\n"
        ),
        "{xml}"
    );

    let actions = reports.json("Events.getAction", "&expanded=1").await?;
    assert_eq!(
        event_rows(&actions),
        rows(&[
            ("playTrailer", [6, 6, 6, 0], 0.0),
            ("Search", [4, 6, 6, 0], 0.0),
            ("play25%", [4, 4, 4, 0], 0.0),
            ("play50%", [4, 4, 4, 0], 0.0),
            ("play75%", [4, 4, 4, 0], 0.0),
            ("playEnd", [4, 4, 4, 0], 0.0),
            ("rating", [4, 4, 6, 6], 57.32),
            ("clickBuyNow", [2, 2, 2, 0], 0.0),
            (&long_action, [2, 2, 2, 2], 19.32),
            ("play", [2, 2, 2, 0], 0.0),
            ("playStart", [2, 2, 2, 0], 0.0),
            ("Purchase", [2, 2, 2, 0], 0.0),
            ("This is an event without a URL", [1, 1, 3, 2], 23.0),
        ])
    );
    assert_eq!(
        event_rows(&actions[1]["subtable"]),
        rows(&[("Search query here", [2, 2, 2, 0], 0.0)])
    );
    assert_eq!(
        event_rows(&actions[6]["subtable"]),
        rows(&[
            ("La fiancée de l'eau", [2, 2, 4, 4], 38.0),
            (SPIRITED, [2, 2, 2, 2], 19.32),
        ])
    );
    assert_eq!(actions[6]["avg_event_value"], json!(9.55));
    assert_eq!(actions[2]["segment"], json!("eventAction==play25%25"));

    let names = reports.json("Events.getName", "&expanded=1").await?;
    assert_eq!(
        event_rows(&names),
        rows(&[
            (SPIRITED, [16, 16, 16, 2], 19.32),
            ("La fiancée de l'eau", [12, 12, 14, 4], 38.0),
            ("Event Name not defined", [5, 7, 9, 2], 23.0),
            (&long_name, [2, 2, 2, 2], 19.32),
            ("Ponyo (崖の上のポニョ)", [2, 2, 2, 0], 0.0),
            ("Princess Mononoke (もののけ姫)", [2, 2, 2, 0], 0.0),
            ("Search query here", [2, 2, 2, 0], 0.0),
        ])
    );
    assert_eq!(
        event_rows(&names[2]["subtable"]),
        rows(&[
            ("Search", [2, 4, 4, 0], 0.0),
            ("Purchase", [2, 2, 2, 0], 0.0),
            ("This is an event without a URL", [1, 1, 3, 2], 23.0),
        ])
    );
    // Segments encode the name as Matomo stores it, HTML-escaped.
    assert_eq!(
        names[1]["segment"],
        json!("eventName==La+fianc%C3%A9e+de+l%26%23039%3Beau")
    );
    assert!(
        names[3]["segment"]
            .as_str()
            .is_some_and(|s| s
                .ends_with("---%26gt%3B+SHOULD+APPEAR+IN+TEST+OUTPUT+NOT+TRUNCATED+%26lt%3B---")),
        "{}",
        names[3]
    );
    Ok(())
}

#[tokio::test]
async fn custom_events_give_matomos_actions_and_goals() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let actions = reports.json("Actions.get", "").await?;
    for (name, value) in [
        ("nb_pageviews", 3),
        ("nb_uniq_pageviews", 3),
        ("nb_downloads", 0),
        ("nb_outlinks", 0),
        ("nb_searches", 0),
    ] {
        assert_eq!(actions[name], json!(value), "Actions.get {name}");
    }

    // Only page views carry time on page: `/webradio` gets the 1,499 s
    // from the last music event (5.02 min) to the `/movies` view (30 min).
    let pages = reports.json("Actions.getPageUrls", "").await?;
    let column = |name: &str| -> Vec<(String, Value)> {
        pages
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        (
                            row["label"].as_str().unwrap_or("").to_owned(),
                            row[name].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let pair = |a: Value, b: Value| vec![("/movies".to_owned(), a), ("/webradio".to_owned(), b)];
    for (name, movies, webradio) in [
        ("nb_visits", json!(2), json!(1)),
        ("nb_uniq_visitors", json!(2), json!(1)),
        ("nb_hits", json!(2), json!(1)),
        ("sum_time_spent", json!(0), json!(1499)),
        ("entry_nb_visits", json!(1), json!(1)),
        ("entry_nb_actions", json!(14), json!(18)),
        ("entry_sum_visit_length", json!(3541), json!(3601)),
        ("entry_bounce_count", json!(0), json!(0)),
        ("exit_nb_visits", json!(2), json!(Value::Null)),
        ("avg_time_server", json!(0.455), json!(0.111)),
        ("avg_page_load_time", json!(0.903), json!(0.572)),
        ("exit_rate", json!("100%"), json!("0%")),
    ] {
        assert_eq!(column(name), pair(movies, webradio), "getPageUrls {name}");
    }
    // Goal metrics per page: goal 1 converted on `/webradio`, goal 3 three
    // times (revenue 31), all after that one page, which the visit entered
    // on (test_CustomEvents__Actions.getPageUrls_day.xml); none on
    // `/movies`.
    let goal = |conversions: i64, revenue: i64| {
        json!({
            "nb_conversions": conversions, "revenue": revenue, "nb_conv_pages_before": 1,
            "nb_conversions_attrib": conversions, "nb_conversions_page_rate": 1,
            "nb_conversions_page_uniq": conversions, "revenue_attrib": revenue,
            "revenue_entry": revenue, "nb_conversions_entry_rate": conversions,
            "revenue_per_entry": revenue, "nb_conversions_entry": conversions,
        })
    };
    assert_eq!(
        pages[1]["goals"],
        json!({"idgoal=1": goal(1, 0), "idgoal=3": goal(3, 31)}),
        "{}",
        pages[1]
    );
    assert!(pages[0].get("goals").is_none(), "{}", pages[0]);

    // Goal 3: the default revenue (8) for the event without a value, the
    // event value otherwise (23, then 0).
    let goal = reports.json("Goals.get", "&idGoal=3").await?;
    assert_eq!(
        goal,
        json!({
            "nb_conversions": 3,
            "nb_visits_converted": 1,
            "revenue": 31,
            "conversion_rate": "10%",
            "nb_conversions_new_visit": 3,
            "nb_visits_converted_new_visit": 1,
            "revenue_new_visit": 31,
            "conversion_rate_new_visit": "50%",
            "nb_conversions_returning_visit": 0,
            "nb_visits_converted_returning_visit": 0,
            "revenue_returning_visit": 0,
            "conversion_rate_returning_visit": "0%"
        })
    );
    let summary = reports.json("VisitsSummary.get", "").await?;
    assert_eq!(summary["nb_visits"], json!(10), "{summary}");
    assert_eq!(summary["nb_uniq_visitors"], json!(2), "{summary}");
    Ok(())
}

/// January 2010: the third visitor's day joins; rows of a month carry
/// `sum_daily_nb_uniq_visitors`.
#[tokio::test]
async fn custom_events_give_matomos_month() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let categories = reports
        .period_json("Events.getCategory", "month", "")
        .await?;
    let rows: Vec<(String, [i64; 4], f64)> = categories
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let int = |name: &str| row[name].as_i64().unwrap_or(-1);
                    (
                        row["label"].as_str().unwrap_or("").to_owned(),
                        [
                            int("nb_visits"),
                            int("nb_events"),
                            int("nb_events_with_value"),
                            int("sum_daily_nb_uniq_visitors"),
                        ],
                        row["sum_event_value"].as_f64().unwrap_or(-1.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        rows,
        vec![
            ("Movie".to_owned(), [42, 42, 3, 39], 28.98),
            ("Music".to_owned(), [18, 21, 6, 18], 57.0),
            (long_label("event category"), [3, 3, 3, 3], 28.98),
            ("CategoryTriggersGoal here".to_owned(), [1, 3, 2, 1], 23.0),
        ]
    );
    // Min / max over the days skip the NULL bounds of days without values
    // (test_CustomEvents__Events.getCategory_month.xml).
    let expanded = reports
        .period_json("Events.getCategory", "month", "&expanded=1")
        .await?;
    let movie = &expanded[0];
    assert_eq!(
        (&movie["min_event_value"], &movie["max_event_value"]),
        (&json!(9.66), &json!(9.66))
    );
    let trailer = &movie["subtable"][0];
    assert_eq!(trailer["label"], json!("playTrailer"));
    assert_eq!(
        (&trailer["min_event_value"], &trailer["max_event_value"]),
        (&Value::Null, &Value::Null)
    );
    let actions = reports.period_json("Actions.get", "month", "").await?;
    assert_eq!(actions["nb_pageviews"], json!(4));
    assert_eq!(actions["nb_uniq_pageviews"], json!(4));
    let pages = reports
        .period_json("Actions.getPageUrls", "month", "")
        .await?;
    let columns = [
        "nb_visits",
        "nb_hits",
        "sum_time_spent",
        "entry_nb_visits",
        "entry_nb_actions",
        "entry_sum_visit_length",
        "exit_nb_visits",
        "sum_daily_nb_uniq_visitors",
        "avg_time_server",
    ];
    let picked: Vec<Value> = pages
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let mut out = serde_json::Map::new();
                    out.insert("label".to_owned(), row["label"].clone());
                    for column in columns {
                        if let Some(value) = row.get(column) {
                            out.insert(column.to_owned(), value.clone());
                        }
                    }
                    Value::Object(out)
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        picked,
        vec![
            json!({"label": "/movies", "nb_visits": 3, "nb_hits": 3, "sum_time_spent": 0,
                "entry_nb_visits": 2, "entry_nb_actions": 28, "entry_sum_visit_length": 7082,
                "exit_nb_visits": 3, "sum_daily_nb_uniq_visitors": 3, "avg_time_server": 0.455}),
            json!({"label": "/webradio", "nb_visits": 1, "nb_hits": 1, "sum_time_spent": 1499,
                "entry_nb_visits": 1, "entry_nb_actions": 18, "entry_sum_visit_length": 3601,
                "sum_daily_nb_uniq_visitors": 1, "avg_time_server": 0.111}),
        ]
    );
    Ok(())
}

/// `secondaryDimension` picks the subtable dimension as Matomo's
/// `Events\API::getRecordNameForAction` does; the subtable methods read
/// their own records.
#[tokio::test]
async fn custom_events_by_secondary_dimension() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let by_name = reports
        .json(
            "Events.getCategory",
            "&expanded=1&secondaryDimension=eventName",
        )
        .await?;
    // Music's names: one, with every Music event (its rows sum the
    // (category, action, name) groups, as the top-level rows do).
    assert_eq!(by_name[1]["label"], json!("Music"));
    assert_eq!(
        event_rows(&by_name[1]["subtable"]),
        rows(&[("La fiancée de l'eau", [12, 12, 14, 4], 38.0)])
    );
    // Movie by name: the events without a name have no subtable row.
    assert_eq!(
        event_rows(&by_name[0]["subtable"])
            .into_iter()
            .map(|(label, counts, _)| (label, counts))
            .collect::<Vec<_>>(),
        vec![
            (SPIRITED.to_owned(), [16, 16, 16, 2]),
            ("Ponyo (崖の上のポニョ)".to_owned(), [2, 2, 2, 0]),
            ("Princess Mononoke (もののけ姫)".to_owned(), [2, 2, 2, 0]),
            ("Search query here".to_owned(), [2, 2, 2, 0]),
        ]
    );
    // An expanded answer shows subtables in place of their ids.
    assert!(by_name[1].get("idsubdatatable").is_none(), "{by_name}");
    let collapsed = reports
        .json("Events.getCategory", "&secondaryDimension=eventName")
        .await?;
    let id = collapsed[1]["idsubdatatable"].as_i64().unwrap_or_default();
    let subtable = reports
        .json("Events.getNameFromCategoryId", &format!("&idSubtable={id}"))
        .await?;
    assert_eq!(event_rows(&subtable), event_rows(&by_name[1]["subtable"]));

    let by_category = reports
        .json(
            "Events.getName",
            "&expanded=1&secondaryDimension=eventCategory",
        )
        .await?;
    assert_eq!(by_category[2]["label"], json!("Event Name not defined"));
    assert_eq!(
        event_rows(&by_category[2]["subtable"]),
        rows(&[
            ("Movie", [4, 6, 6, 0], 0.0),
            ("CategoryTriggersGoal here", [1, 1, 3, 2], 23.0),
        ])
    );
    // The pivot follows the subtable dimension (columns numbered with a
    // no-break space, as PivotByDimension names them). The names are the
    // subtable's labels as archived: HTML-escaped as Matomo stores event
    // names, and not decoded (SafeDecodeLabel runs on `label` only).
    let pivot = reports
        .json(
            "Events.getCategory",
            "&secondaryDimension=eventName&pivotBy=Events.EventName&pivotByColumn=nb_events",
        )
        .await?;
    let music = pivot
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["label"] == json!("Music")))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        music["2.\u{a0}La fiancée de l&#039;eau"],
        json!(14),
        "{pivot}"
    );

    let request = tally_reporting::ApiRequest::from_parts(
        &format!(
            "module=API&method=Events.getAction&idSite=1&period=day&date=2010-01-03&format=json&secondaryDimension=eventAction&token_auth={}",
            reports.token
        ),
        None,
    );
    let api = reports.api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    assert!(
        text.contains(
            "Secondary dimension 'eventAction' is not valid for the API getAction. Use one of: eventName, eventCategory"
        ),
        "{text}"
    );
    Ok(())
}

/// Segments select visits, every event of a selected visit counting (as
/// Matomo archives with its segment cache): a rating above 9 keeps the
/// first and third visits of each visitor, `eventAction=@play` the same
/// ones, and Movie loses the visits of its unnamed searches and purchases.
#[tokio::test]
async fn custom_events_by_segment() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    for segment in [
        "eventAction%3D%3Drating%3BeventValue%3E9",
        "eventAction%3D%40play",
    ] {
        let categories = reports
            .json("Events.getCategory", &format!("&segment={segment}"))
            .await?;
        assert_eq!(
            event_rows(&categories),
            rows(&[
                ("Movie", [22, 22, 22, 2], 19.32),
                ("Music", [12, 12, 14, 4], 38.0),
                (&long_label("event category"), [2, 2, 2, 2], 19.32),
                ("CategoryTriggersGoal here", [1, 1, 3, 2], 23.0),
            ]),
            "{segment}"
        );
    }
    Ok(())
}

/// `API.getProcessedReport` of the Events reports over the seven days from
/// 2010-01-03 (`CustomEventsTest`'s `_lastN` and `_flat` outputs): every
/// report and both shapes total the same (the first-level rows, before
/// flattening), each day's totals summed, the smallest `min_event_value`
/// and largest `max_event_value` kept, `avg_event_value` left out.
#[tokio::test]
async fn custom_events_processed_report_totals_match_matomo() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    for action in ["getCategory", "getAction", "getName"] {
        for extra in ["", "&flat=1"] {
            let request = tally_reporting::ApiRequest::from_parts(
                &format!(
                    "module=API&method=API.getProcessedReport&idSite=1&period=day\
                     &date=2010-01-03,2010-01-09&apiModule=Events&apiAction={action}\
                     &format=xml{extra}&token_auth={}",
                    reports.token
                ),
                None,
            );
            let api = reports.api.clone();
            let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
            let xml = String::from_utf8(answer.body)?;
            // As Matomo's XML writes them (floats with PHP's 14 digits).
            let total = concat!(
                "\t<reportTotal>\n\t\t<nb_uniq_visitors>61</nb_uniq_visitors>\n",
                "\t\t<nb_visits>64</nb_visits>\n\t\t<nb_events>69</nb_events>\n",
                "\t\t<nb_events_with_value>14</nb_events_with_value>\n",
                "\t\t<sum_event_value>137.96</sum_event_value>\n",
                "\t\t<min_event_value>0</min_event_value>\n",
                "\t\t<max_event_value>23</max_event_value>\n\t</reportTotal>\n"
            );
            assert!(xml.contains(total), "{action}{extra}: {xml}");
        }
    }
    Ok(())
}

/// `test_CustomEvents__Live.getLastVisitsDetails_day.xml`: the second
/// visitor's first visit (music, then movies) as the visitor log shows
/// it: events with their category, action, name, value and page custom
/// variables, the movie page with its time spent and load time.
#[tokio::test]
async fn custom_events_give_matomos_visitor_log() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let visits = reports
        .json("Live.getLastVisitsDetails", "&filter_limit=-1")
        .await?;
    let visits = visits.as_array().cloned().unwrap_or_default();
    assert_eq!(visits.len(), 10);
    let visit = visits
        .iter()
        .find(|visit| {
            visit["actionDetails"][0]["url"] == json!("http://example.com/piwik/")
                && visit["actionDetails"][0]["eventAction"] == json!("play")
        })
        .cloned()
        .unwrap_or_default();
    for (field, value) in [
        ("visitorType", json!("new")),
        ("visitCount", json!(1)),
        ("visitDuration", json!(3541)),
        ("visitDurationPretty", json!("59 min 1s")),
        ("actions", json!(14)),
        ("events", json!(13)),
        ("plugins", json!("cookie")),
        (
            "customVariables",
            json!({"1": {
                "customVariableName1": "Visit Scope Custom var",
                "customVariableValue1": "should not appear in events report Bis"
            }}),
        ),
    ] {
        assert_eq!(visit[field], value, "{field}");
    }
    let actions = visit["actionDetails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let play = &actions[0];
    let keys: Vec<&str> = play
        .as_object()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "type",
            "url",
            "pageIdAction",
            "idpageview",
            "serverTimePretty",
            "pageId",
            "eventCategory",
            "eventAction",
            "bandwidth",
            "pageviewPosition",
            "timestamp",
            "icon",
            "iconSVG",
            "title",
            "subtitle",
            "eventName",
            "bandwidth_pretty",
            "customVariables"
        ]
    );
    for (field, value) in [
        ("type", json!("event")),
        ("url", json!("http://example.com/piwik/")),
        ("eventCategory", json!("Music")),
        ("eventAction", json!("play")),
        // NULL for an action before the visit's first page view, as Matomo.
        ("pageviewPosition", Value::Null),
        ("icon", json!("plugins/Morpheus/images/event.png")),
        ("iconSVG", json!("plugins/Morpheus/images/event.svg")),
        ("title", json!("Event")),
        ("subtitle", json!("Category: \"Music', Action: \"play\"")),
        ("eventName", json!(MUSIC)),
        (
            "customVariables",
            json!({"1": {
                "customVariablePageName1": "Page Scope Custom var",
                "customVariablePageValue1": "should not appear in events report"
            }}),
        ),
    ] {
        assert_eq!(play[field], value, "play: {field}");
    }
    let ratings: Vec<Value> = actions
        .iter()
        .filter(|action| action["eventAction"] == json!("rating"))
        .map(|action| action["eventValue"].clone())
        .collect();
    assert_eq!(ratings, [json!(9), json!(10)]);
    let movies = actions
        .iter()
        .position(|action| action["type"] == json!("action"))
        .unwrap_or_default();
    for (field, value) in [
        ("url", json!("http://example.org/movies")),
        ("pageTitle", json!("Movie Theater")),
        ("pageLoadTime", json!("0.9s")),
        ("timeSpent", json!(1801)),
        ("timeSpentPretty", json!("30 min 1s")),
        ("pageLoadTimeMilliseconds", json!(903)),
        ("pageviewPosition", json!(1)),
    ] {
        assert_eq!(actions[movies][field], value, "movie page: {field}");
    }
    assert_eq!(
        actions[movies + 1]["eventName"],
        json!("Princess Mononoke (もののけ姫)")
    );
    assert_eq!(actions[movies + 1]["pageviewPosition"], json!(1));
    Ok(())
}
