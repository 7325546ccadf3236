//! Matomo's Goals system tests (`plugins/Goals/tests/System/` in
//! matomo-org/matomo), their traffic sent as the PHP tracker sends it and
//! our answers checked against Matomo's expected outputs (written here by
//! hand, whole XML bodies where they are small):
//!
//! - `TrackGoalsAllowMultipleConversionsPerVisitTest` (fixture
//!   `SomeVisitsAllConversions`): a goal converting once per visit, one
//!   converting many times, the first switched to many mid-visit, and three
//!   event goals (one case-sensitive) triggered in a second visit.
//! - `TrackGoalsOneConversionPerVisitTest` (fixture
//!   `TwoVisitsWithCustomVariables`): `Goals.get` with and without goal
//!   specific metrics and under segments on actions, and the goal columns
//!   of `API.getProcessedReport`.
//! - `TrackGoalsPagesTest` and `TrackGoalsPagesSegmentTest` (fixture
//!   `SomePageGoalVisitsWithConversions`): the goal metrics of the Actions
//!   page and entry page reports (a week, a day, a country segment), the
//!   page views before each conversion, and `API.getProcessedReport` of
//!   those reports with the goal columns. The report bodies equal
//!   Matomo's apart from the Bandwidth plugin's columns, which we do not
//!   have (docs/MATOMO-DIFFERENCES.md); the tests pin their goal figures.

use serde_json::json;
use tally_management::{self as management, GoalParams, Principal};
use time::PrimitiveDateTime;
use time::macros::datetime;

use crate::common::{NOW, matomo_site, reporting_api, tracker_routes};
use crate::matomo_segments_dates_fixture::{
    Reports, at_datetime, two_visits_with_custom_variables,
};
use crate::php_tracker::PhpTracker;

/// An XML answer of one row of `(name, value)` columns, as Matomo's XML
/// renderer writes a simple table.
fn xml_result(columns: &[(String, String)]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n");
    for (name, value) in columns {
        xml.push_str(&format!("\t<{name}>{value}</{name}>\n"));
    }
    xml.push_str("</result>");
    xml
}

/// `Goals.get` without goal specific metrics: conversions, converted
/// visits, revenue and conversion rate, of all visits, then of new and of
/// returning visits.
fn goals_get_xml(values: [[&str; 4]; 3]) -> String {
    let mut columns = Vec::new();
    for (suffix, values) in ["", "_new_visit", "_returning_visit"].iter().zip(values) {
        for (name, value) in [
            "nb_conversions",
            "nb_visits_converted",
            "revenue",
            "conversion_rate",
        ]
        .iter()
        .zip(values)
        {
            columns.push((format!("{name}{suffix}"), value.to_owned()));
        }
    }
    xml_result(&columns)
}

/// The Reporting API on `db`, answering at [`NOW`].
fn reports(db: &tally_db::test_support::TestDb, token: String) -> anyhow::Result<Reports> {
    Ok(Reports {
        api: reporting_api(db)?,
        token,
        now: NOW,
    })
}

// ---------------------------------------------------------------------------
// TrackGoalsAllowMultipleConversionsPerVisitTest

const ALL_CONVERSIONS_START: PrimitiveDateTime = datetime!(2009-01-04 00:11:42);

/// `SomeVisitsAllConversions`: goal 1 (title contains "Thank you", 10,
/// once per visit), goal 2 (manual, 10, many per visit), and event goals
/// on the action "click", the category "The_Category" (case-sensitive)
/// and the name `<the_'"name>`.
async fn some_visits_all_conversions() -> anyhow::Result<(Reports, tally_db::test_support::TestDb)>
{
    let once = GoalParams {
        revenue: 10.0,
        ..GoalParams::new("triggered js ONCE", "title", "Thank you", "contains")
    };
    let goals = [
        once.clone(),
        GoalParams {
            revenue: 10.0,
            allow_multiple: true,
            ..GoalParams::new("triggered js MULTIPLE ALLOWED", "manually", "", "")
        },
        GoalParams::new("click event", "event_action", "click", "contains"),
        GoalParams {
            case_sensitive: true,
            description: "categorydesc".to_owned(),
            ..GoalParams::new("category event", "event_category", "The_Category", "exact")
        },
        GoalParams {
            description: "eventdesc".to_owned(),
            ..GoalParams::new("name event", "event_name", "<the_'\"name>", "exact")
        },
    ];
    let start = ALL_CONVERSIONS_START;
    let (db, token) = matomo_site(start, |_| {}, &goals)?;
    let config = tally_tracking::http::TrackerConfig::default();
    let router = tracker_routes(&db, &config)?;

    let mut t = PhpTracker::new(1, &token, "2b7e3c5d9f1a4860", start);
    // The page view converts goal 1; the manual conversion of goal 1 that
    // follows is the visit's second, so it is not recorded.
    t.url = "http://example.org/index.htm".to_owned();
    t.at = at_datetime(start, 0.3);
    let query = t.page_view("Thank you mate");
    t.ok(&router, &query).await?;
    t.at = at_datetime(start, 0.4);
    let query = t.goal(1, 10_000_000.0);
    t.ok(&router, &query).await?;
    t.at = at_datetime(start, 0.5);
    let query = t.goal(2, 300.0);
    t.ok(&router, &query).await?;
    t.at = at_datetime(start, 0.6);
    let query = t.goal(2, 366.0);
    t.ok(&router, &query).await?;

    // Goal 1 now allows many conversions per visit. Matomo's `updateGoal`
    // clears the tracker's cache of the site: a new tracker reads it afresh.
    {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let many = GoalParams {
            allow_multiple: true,
            ..once
        };
        management::update_goal(&mut conn, &root, 1, 1, &many)?;
    }
    let router = tracker_routes(&db, &config)?;
    t.at = at_datetime(start, 0.61);
    let query = t.goal(1, 656.0);
    t.ok(&router, &query).await?;

    // A second visit, whose events (sent with earlier times) convert goals
    // 3 and 4, nothing (the category goal is case-sensitive), then goal 5.
    t.at = at_datetime(start, 0.7);
    t.force_new_visit();
    let query = t.page_view("This is tracked in a new visit.");
    t.ok(&router, &query).await?;
    t.at = at_datetime(start, 0.3);
    let query = t.event("The_Category", "click_action", Some("name"), None);
    t.ok(&router, &query).await?;
    t.at = at_datetime(start, 0.4);
    let query = t.event("the_category", "click_action", Some("name"), None);
    t.ok(&router, &query).await?;
    let query = t.event(
        "other_category",
        "other_action",
        Some("<the_'\"name>"),
        None,
    );
    t.ok(&router, &query).await?;

    Ok((reports(&db, token)?, db))
}

/// `test_trackGoals_allowMultipleConversionsPerVisit{,_withLogLinkVisitActionSegment}__Goals.get_day.xml`
/// and `..._VisitsSummary.get_day.xml`: goal 1 converts twice (10 + 656),
/// goal 2 twice (300 + 366), the event goals once each in the returning
/// visit; every action's URL contains a slash, so `pageUrl=@/` keeps both
/// visits.
#[tokio::test]
async fn multiple_conversions_per_visit_give_matomos_goals() -> anyhow::Result<()> {
    let (r, _db) = some_visits_all_conversions().await?;
    let day = "idSite=1&period=day&date=2009-01-04";
    let expected = goals_get_xml([
        ["7", "2", "1332", "100%"],
        ["4", "1", "1332", "100%"],
        ["3", "1", "0", "100%"],
    ]);
    for segment in ["", "&segment=pageUrl%3D%40%2F"] {
        assert_eq!(
            r.xml(&format!("method=Goals.get&{day}{segment}")).await?,
            expected,
            "{segment}"
        );
    }
    let summary = [
        ("nb_uniq_visitors", "1"),
        ("nb_users", "0"),
        ("nb_visits", "2"),
        ("nb_actions", "5"),
        ("nb_visits_converted", "2"),
        ("bounce_count", "1"),
        ("sum_visit_length", "1121"),
        ("max_actions", "4"),
        ("bounce_rate", "50%"),
        ("nb_actions_per_visit", "2.5"),
        ("avg_time_on_site", "561"),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()));
    assert_eq!(
        r.xml(&format!("method=VisitsSummary.get&{day}")).await?,
        xml_result(&summary)
    );
    Ok(())
}

/// `test_trackGoals_allowMultipleConversionsPerVisit__VisitTime.getVisitInformationPerServerTime_day.xml`:
/// both visits start in hour 0, with every goal's conversions nested; the
/// other hours are empty rows.
#[tokio::test]
async fn multiple_conversions_per_visit_by_server_time() -> anyhow::Result<()> {
    let (r, _db) = some_visits_all_conversions().await?;
    let xml = r
        .xml(
            "method=VisitTime.getVisitInformationPerServerTime&idSite=1&period=day&date=2009-01-04",
        )
        .await?;
    let mut expected = String::from("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n");
    for hour in 0..24 {
        let counts: [u32; 8] = if hour == 0 {
            [1, 2, 5, 0, 4, 1121, 1, 2]
        } else {
            [0; 8]
        };
        expected.push_str(&format!("\t<row>\n\t\t<label>{hour:02}</label>\n"));
        for (name, value) in [
            "nb_uniq_visitors",
            "nb_visits",
            "nb_actions",
            "nb_users",
            "max_actions",
            "sum_visit_length",
            "bounce_count",
            "nb_visits_converted",
        ]
        .iter()
        .zip(counts)
        {
            expected.push_str(&format!("\t\t<{name}>{value}</{name}>\n"));
        }
        if hour == 0 {
            expected.push_str("\t\t<goals>\n");
            for (idgoal, conversions, revenue) in
                [(1, 2, 666), (2, 2, 666), (3, 1, 0), (4, 1, 0), (5, 1, 0)]
            {
                expected.push_str(&format!(
                    "\t\t\t<row idgoal='{idgoal}'>\n\
                     \t\t\t\t<nb_conversions>{conversions}</nb_conversions>\n\
                     \t\t\t\t<nb_visits_converted>1</nb_visits_converted>\n\
                     \t\t\t\t<revenue>{revenue}</revenue>\n\
                     \t\t\t</row>\n"
                ));
            }
            expected.push_str(
                "\t\t</goals>\n\t\t<nb_conversions>7</nb_conversions>\n\t\t<revenue>1332</revenue>\n",
            );
        }
        expected.push_str(&format!(
            "\t\t<segment>visitStartServerHour=={hour}</segment>\n\t</row>\n"
        ));
    }
    expected.push_str("</result>");
    assert_eq!(xml, expected);
    Ok(())
}

/// `TrackGoalsAllowMultipleConversionsPerVisitTest::testCheck`: five
/// goals, three once two are deleted.
#[tokio::test]
async fn deleting_goals_of_the_multiple_conversions_fixture() -> anyhow::Result<()> {
    let (r, _db) = some_visits_all_conversions().await?;
    let count = |goals: &serde_json::Value| goals.as_object().map_or(0, serde_json::Map::len);
    assert_eq!(count(&r.json("method=Goals.getGoals&idSite=1").await?), 5);
    for idgoal in [1, 2] {
        assert_eq!(
            r.json(&format!("method=Goals.deleteGoal&idSite=1&idGoal={idgoal}"))
                .await?,
            json!({"result": "success", "message": "ok"})
        );
    }
    assert_eq!(count(&r.json("method=Goals.getGoals&idSite=1").await?), 3);
    Ok(())
}

// ---------------------------------------------------------------------------
// TrackGoalsOneConversionPerVisitTest

/// `TwoVisitsWithCustomVariables`' own date.
const ONE_CONVERSION_START: PrimitiveDateTime = datetime!(2010-01-03 11:22:33);
const ONE_CONVERSION_DAY: &str = "idSite=1&period=day&date=2010-01-03";

/// `test_trackGoals_oneConversionPerVisit{,_withLogLinkVisitActionSegment,_withLogLinkVisitActionAndLogVisitSegment}__Goals.get_day.xml`:
/// three conversions of two new visits; the returning visit (an outlink
/// only) has no page URL, so the segments on actions leave it out and the
/// conversion rate becomes 100%.
#[tokio::test]
async fn one_conversion_per_visit_gives_matomos_goals() -> anyhow::Result<()> {
    let (r, _db) = two_visits_with_custom_variables(ONE_CONVERSION_START, NOW).await?;
    let segments = [
        ("", "66.67%"),
        ("&segment=pageUrl%3D%40%2F", "100%"),
        ("&segment=visitCount%3E%3D1%3BpageUrl%3D%40%2F", "100%"),
    ];
    for (segment, rate) in segments {
        assert_eq!(
            r.xml(&format!("method=Goals.get&{ONE_CONVERSION_DAY}{segment}"))
                .await?,
            goals_get_xml([
                ["3", "2", "1000", rate],
                ["3", "2", "1000", "100%"],
                ["0", "0", "0", "0%"],
            ]),
            "{segment}"
        );
    }
    Ok(())
}

/// `test_trackGoals_oneConversionPerVisitshowAllGoalSpecificMetrics{,_requestedColumns}__Goals.get_day.xml`:
/// with `showAllGoalSpecificMetrics=1`, the visits, then each goal's
/// conversions, converted visits and revenue, each goal's conversion rate
/// and the overall one, for all, new and returning visits; `columns=`
/// keeps the one asked for.
#[tokio::test]
async fn one_conversion_per_visit_goal_specific_metrics() -> anyhow::Result<()> {
    let (r, _db) = two_visits_with_custom_variables(ONE_CONVERSION_START, NOW).await?;
    let query = format!("method=Goals.get&{ONE_CONVERSION_DAY}&showAllGoalSpecificMetrics=1");
    // (visits, conversions, converted visits, revenue) overall, then of
    // goal 1 and of goal 2, per visitor type.
    let groups: [(&str, [[u32; 4]; 3]); 3] = [
        ("", [[3, 3, 2, 1000], [0, 2, 2, 1000], [0, 1, 1, 0]]),
        (
            "_new_visit",
            [[2, 3, 2, 1000], [0, 2, 2, 1000], [0, 1, 1, 0]],
        ),
        (
            "_returning_visit",
            [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        ),
    ];
    let rate = |converted: u32, visits: u32| {
        if visits == 0 {
            "0%".to_owned()
        } else {
            let percent = f64::from(converted) * 100.0 / f64::from(visits);
            format!("{}%", (percent * 100.0).round() / 100.0)
        }
    };
    let mut columns = Vec::new();
    for (suffix, [all, goal_1, goal_2]) in groups {
        let visits = all[0];
        let mut push =
            |name: String, value: String| columns.push((format!("{name}{suffix}"), value));
        push("nb_visits".to_owned(), visits.to_string());
        for (name, value) in ["nb_conversions", "nb_visits_converted", "revenue"]
            .iter()
            .zip(&all[1..])
        {
            push((*name).to_owned(), value.to_string());
        }
        for (idgoal, goal) in [(1, goal_1), (2, goal_2)] {
            for (name, value) in ["nb_conversions", "nb_visits_converted", "revenue"]
                .iter()
                .zip(&goal[1..])
            {
                push(format!("goal_{idgoal}_{name}"), value.to_string());
            }
        }
        push("goal_1_conversion_rate".to_owned(), rate(goal_1[2], visits));
        push("goal_2_conversion_rate".to_owned(), rate(goal_2[2], visits));
        push("conversion_rate".to_owned(), rate(all[2], visits));
    }
    assert_eq!(r.xml(&query).await?, xml_result(&columns));

    let only = columns
        .iter()
        .filter(|(name, _)| name.starts_with("goal_1_conversion_rate"))
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(
        r.xml(&format!("{query}&columns=goal_1_conversion_rate"))
            .await?,
        xml_result(&only)
    );
    Ok(())
}

/// `test_trackGoals_oneConversionPerVisitshowGoalsMetrics{SingleGoal,AllGoals}__API.getProcessedReport_day.xml`:
/// with `filter_update_columns_when_show_all_goals`, the goal metadata
/// keeps `conversion_rate`, the columns end with `revenue` and the browser
/// row keeps it; goal 1's four metrics when
/// `filter_show_goal_columns_process_goals=1`, else every goal's
/// conversion rate; times as clocks and revenues as money
/// (`getPrettyValue`). The `reportData` is Matomo's to the byte.
#[tokio::test]
async fn one_conversion_per_visit_processed_report_goal_columns() -> anyhow::Result<()> {
    let (r, _db) = two_visits_with_custom_variables(ONE_CONVERSION_START, NOW).await?;
    let elements = |values: &[(&str, &str)], indent: &str| -> String {
        values
            .iter()
            .map(|(name, value)| format!("{indent}<{name}>{value}</{name}>\n"))
            .collect()
    };
    let shared = [
        ("nb_uniq_visitors", "2"),
        ("nb_visits", "3"),
        ("nb_actions", "5"),
        ("nb_users", "0"),
        ("revenue", "$1,000"),
        ("conversion_rate", "66.67%"),
        ("nb_actions_per_visit", "1.7"),
        ("avg_time_on_site", "00:04:02"),
        ("bounce_rate", "67%"),
    ];
    let single: &[(&str, &str)] = &[
        ("goal_1_conversion_rate", "66.67%"),
        ("goal_1_nb_conversions", "2"),
        ("goal_1_revenue_per_visit", "$333.33"),
        ("goal_1_revenue", "$1,000"),
    ];
    let all: &[(&str, &str)] = &[
        ("goal_1_conversion_rate", "66.67%"),
        ("goal_2_conversion_rate", "33.33%"),
    ];
    for (extra, goal_columns) in [
        ("&filter_show_goal_columns_process_goals=1", single),
        ("", all),
    ] {
        let xml = r
            .xml(&format!(
                "method=API.getProcessedReport&{ONE_CONVERSION_DAY}\
                 &filter_update_columns_when_show_all_goals=1\
                 &apiModule=DevicesDetection&apiAction=getBrowsers{extra}"
            ))
            .await?;
        let metrics_goal = format!(
            "\t\t<metricsGoal>\n{}\t\t</metricsGoal>\n",
            elements(
                &[
                    ("nb_conversions", "Conversions"),
                    ("conversion_rate", "Conversion Rate"),
                    ("revenue", "Revenue"),
                ],
                "\t\t\t"
            )
        );
        assert!(xml.contains(&metrics_goal), "{extra}\n{xml}");
        let columns = format!(
            "\t<columns>\n{}\t</columns>\n",
            elements(
                &[
                    ("label", "Browser"),
                    ("nb_visits", "Visits"),
                    ("nb_uniq_visitors", "Unique visitors"),
                    ("nb_actions", "Actions"),
                    ("nb_users", "Users"),
                    ("nb_actions_per_visit", "Actions per Visit"),
                    ("avg_time_on_site", "Avg. Time on Website"),
                    ("bounce_rate", "Bounce Rate"),
                    ("conversion_rate", "Conversion Rate"),
                    ("revenue", "Revenue"),
                ],
                "\t\t"
            )
        );
        assert!(xml.contains(&columns), "{extra}\n{xml}");
        let row: Vec<(&str, &str)> = std::iter::once(("label", "Firefox"))
            .chain(shared)
            .chain(goal_columns.iter().copied())
            .collect();
        let data = format!(
            "\t<reportData>\n\t\t<row>\n{}\t\t</row>\n\t</reportData>\n",
            elements(&row, "\t\t\t")
        );
        assert!(xml.contains(&data), "{extra}\n{xml}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// TrackGoalsPagesTest and TrackGoalsPagesSegmentTest

const PAGES_START: PrimitiveDateTime = datetime!(2009-01-05 00:00:00);

/// `SomePageGoalVisitsWithConversions`' tracker: each request 0.1 h after
/// the last (`$ticks`, a float, as the fixture adds it), on the fixture's
/// current day.
struct PageVisits {
    router: axum::Router,
    t: PhpTracker,
    day: PrimitiveDateTime,
    ticks: f64,
}

impl PageVisits {
    fn tick(&mut self) {
        self.ticks += 0.1;
        self.t.at = at_datetime(self.day, self.ticks);
    }

    /// `doPageVisit`: `/page_<letter>[/<sub>]`, titled `Page <letter>[ - <sub>]`.
    async fn page(&mut self, letter: &str, sub: Option<&str>) -> anyhow::Result<()> {
        self.t.url = format!(
            "http://example.org/page_{letter}{}",
            sub.map(|sub| format!("/{sub}")).unwrap_or_default()
        );
        self.tick();
        let title = format!(
            "Page {letter}{}",
            sub.map(|sub| format!(" - {sub}")).unwrap_or_default()
        );
        let query = self.t.page_view(&title);
        self.t.ok(&self.router, &query).await
    }

    /// `doConversion`: an event whose action converts goal 1 (`click…`)
    /// or goal 2 (`press…`).
    async fn conversion(&mut self, idgoal: u32) -> anyhow::Result<()> {
        self.tick();
        let action = if idgoal == 1 {
            "click_action"
        } else {
            "press_action"
        };
        let query = self.t.event("category", action, Some("name"), None);
        self.t.ok(&self.router, &query).await
    }

    /// `doNewVisitor`: a forced visitor id and country, a new visit.
    fn new_visitor(&mut self, id: &str, country: &str) {
        self.t.set_visitor_id(id);
        self.t.set_country(country);
        self.ticks += 1.0;
        self.t.force_new_visit();
    }
}

/// `SomePageGoalVisitsWithConversions`: goals converted by event actions
/// containing "click" (goal 1) and "press" (goal 2), 10 each; seven visits
/// over three days from 2009-01-05, one of them (visit 6) from Japan.
async fn some_page_goal_visits_with_conversions()
-> anyhow::Result<(Reports, tally_db::test_support::TestDb)> {
    let goals = [
        GoalParams {
            revenue: 10.0,
            ..GoalParams::new("Goal 1", "event_action", "click", "contains")
        },
        GoalParams {
            revenue: 10.0,
            ..GoalParams::new("Goal \"<2~$%+\"", "event_action", "press", "contains")
        },
    ];
    let (db, token) = matomo_site(PAGES_START, |_| {}, &goals)?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut v = PageVisits {
        router,
        t: PhpTracker::new(1, &token, "46b3f2c0a9d81e57", PAGES_START),
        day: PAGES_START,
        ticks: 0.0,
    };
    // Each visit's steps: a page (`A/index.html` is page A's sub-page),
    // or `#n`, a conversion of goal n.
    let days: [&[(&str, &str, &str)]; 3] = [
        &[
            ("", "", "A/index.html B A/X C #1"),
            ("f66bc315f2a01a79", "fr", "A/index.html A/Z C #1"),
            ("a13b7c5a62f72dea", "fr", "A/index.html D"),
            (
                "39f72e3961e18b4e",
                "fr",
                "A/index.html C #1 A/index.html B C #2",
            ),
        ],
        &[
            (
                "5f3756ae8b4cceba",
                "fr",
                "A/index.html A/Z A/Y C #1 A/index.html B C #2",
            ),
            // The one visit of the segment, from Japan.
            ("132886427a57e7ba", "jp", "A/index.html #1"),
        ],
        &[("0335a0c08ac15bb8", "us", "A/index.html B A/Z #2")],
    ];
    for (day, visits) in days.into_iter().enumerate() {
        v.day = PAGES_START + time::Duration::days(i64::try_from(day)?);
        for (visitor, country, steps) in visits {
            if !visitor.is_empty() {
                v.new_visitor(visitor, country);
            }
            for step in steps.split(' ') {
                match step.strip_prefix('#') {
                    Some(idgoal) => v.conversion(idgoal.parse()?).await?,
                    None => {
                        let (letter, sub) = match step.split_once('/') {
                            Some((letter, sub)) => (letter, Some(sub)),
                            None => (step, None),
                        };
                        v.page(letter, sub).await?;
                    }
                }
            }
        }
    }
    Ok((reports(&db, token)?, db))
}

/// The goal figures of a page report's rows, one line a row (expanded
/// subtable rows indented): the row's visits, hits, entries and exits,
/// then per goal its conversions, pages before, attributed conversions,
/// viewed-before rate, unique conversions and attributed revenue, and its
/// entry conversions, revenue, rate and revenue per entry where the row
/// has them; then the `goal_<id>_…` columns of the goal-column filters.
fn page_goal_rows(rows: &serde_json::Value, indent: &str, out: &mut Vec<String>) {
    // Sums of rounded values (0.25 + 0.3333) at 4 decimals, as Matomo's
    // XML writes them.
    let text = |value: &serde_json::Value| match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::Number(number) if number.is_f64() => {
            let value = number.as_f64().unwrap_or_default();
            format!("{}", (value * 10_000.0).round() / 10_000.0)
        }
        other => other.to_string(),
    };
    for row in rows.as_array().into_iter().flatten() {
        let mut line = format!("{indent}{}:", text(&row["label"]));
        for name in ["nb_visits", "nb_hits", "entry_nb_visits", "exit_nb_visits"] {
            line.push_str(&format!(" {}", text(&row[name])));
        }
        for (idgoal, goal) in row["goals"].as_object().into_iter().flatten() {
            line.push_str(&format!(" | {idgoal}"));
            for name in [
                "nb_conversions",
                "nb_conv_pages_before",
                "nb_conversions_attrib",
                "nb_conversions_page_rate",
                "nb_conversions_page_uniq",
                "revenue_attrib",
                "nb_conversions_entry",
                "revenue_entry",
                "nb_conversions_entry_rate",
                "revenue_per_entry",
            ] {
                if !goal[name].is_null() {
                    line.push_str(&format!(" {}", text(&goal[name])));
                }
            }
        }
        for (name, value) in row.as_object().into_iter().flatten() {
            if name.starts_with("goal_") {
                line.push_str(&format!(" {name}={}", text(value)));
            }
        }
        out.push(line);
        page_goal_rows(&row["subtable"], &format!("{indent}  "), out);
    }
}

const PAGES_WEEK: &str = "idSite=1&period=week&date=2009-01-05&idGoal=1&expanded=1";
const JAPAN: &str = "&segment=countryCode%3D%3Djp";
const GOAL_COLUMNS: &str = "&filter_update_columns_when_show_all_goals=1";

/// The rows of a page report as [`page_goal_rows`] writes them.
async fn page_report(r: &Reports, method: &str, params: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let rows = r.json(&format!("method=Actions.{method}&{params}")).await?;
    page_goal_rows(&rows, "", &mut out);
    Ok(out)
}

/// `test_trackGoals_pages__Actions.getPageUrls_week.xml` and
/// `..._getPageTitles_week.xml` (whose bodies ours equal but for the
/// Bandwidth plugin's columns): each page's share of the conversions of
/// the visits that viewed it before converting.
#[tokio::test]
async fn page_goal_metrics_of_the_week() -> anyhow::Result<()> {
    let (r, _db) = some_page_goal_visits_with_conversions().await?;
    assert_eq!(
        page_report(&r, "getPageUrls", PAGES_WEEK).await?,
        [
            "page_A: 12 14 7 2 | idgoal=1 9 23 3.4166 1 9 34.16 5 50 1.75 17.5 | idgoal=2 8 32 1.6382 1 8 16.38 3 30 1.75 17.5",
            "  /index.html: 7 9 7 1 | idgoal=1 5 8 2.3333 0 5 23.33 5 50 1.75 17.5 | idgoal=2 5 15 1.0191 0 5 10.19 3 30 1.75 17.5",
            "  /Z: 3 3 - 1 | idgoal=1 2 7 0.5833 0 2 5.83 | idgoal=2 2 10 0.4762 0 2 4.76",
            "  /X: 1 1 - - | idgoal=1 1 4 0.25 0 1 2.5",
            "  /Y: 1 1 - - | idgoal=1 1 4 0.25 0 1 2.5 | idgoal=2 1 7 0.1429 0 1 1.43",
            "/page_B: 4 4 - - | idgoal=1 1 4 0.25 0.2 1 2.5 | idgoal=2 3 15 0.6762 1 3 6.76",
            "/page_C: 4 6 - 4 | idgoal=1 4 8 1.3333 0.8 4 13.33 | idgoal=2 4 12 0.6858 1 4 6.86",
            "/page_D: 1 1 - 1",
        ]
    );
    assert_eq!(
        page_report(&r, "getPageTitles", PAGES_WEEK).await?,
        [
            " Page A - index.html: 7 9 7 1 | idgoal=1 5 8 2.3333 1 5 23.33 5 50 1.75 17.5 | idgoal=2 5 15 1.0191 1 5 10.19 3 30 1.75 17.5",
            " Page B: 4 4 - - | idgoal=1 1 4 0.25 0.2 1 2.5 | idgoal=2 3 15 0.6762 1 3 6.76",
            " Page C: 4 6 - 4 | idgoal=1 4 8 1.3333 0.8 4 13.33 | idgoal=2 4 12 0.6858 1 4 6.86",
            " Page A - Z: 3 3 - 1 | idgoal=1 2 7 0.5833 0.4 2 5.83 | idgoal=2 2 10 0.4762 0.667 2 4.76",
            " Page A - X: 1 1 - - | idgoal=1 1 4 0.25 0.2 1 2.5",
            " Page A - Y: 1 1 - - | idgoal=1 1 4 0.25 0.2 1 2.5 | idgoal=2 1 7 0.1429 0.333 1 1.43",
            " Page D: 1 1 - 1",
        ]
    );
    Ok(())
}

/// `test_trackGoals_pages__Actions.getEntryPage{Urls,Titles}_day.xml`:
/// the first day's four visits all enter on page A; with the goal columns,
/// Bandwidth's `avg_bandwidth` and PagePerformance's `avg_page_load_time`
/// come before them, the stored Bandwidth columns after the time spent.
#[tokio::test]
async fn entry_page_goal_metrics_of_a_day() -> anyhow::Result<()> {
    let (r, _db) = some_page_goal_visits_with_conversions().await?;
    let day = format!("idSite=1&period=day&date=2009-01-05&idGoal=1&expanded=1{GOAL_COLUMNS}");
    assert_eq!(
        page_report(&r, "getEntryPageUrls", &day).await?,
        [
            "page_A: 6 7 4 - | idgoal=1 5 11 1.6666 1 5 16.66 3 30 0.75 7.5 | idgoal=2 2 5 0.4 1 2 4 1 10 0.25 2.5 goal_1_conversion_rate=83.33% goal_1_nb_conversions=5 goal_1_revenue_per_visit=8.33 goal_1_revenue=50",
            "  /index.html: 4 5 4 - | idgoal=1 3 4 1.0833 0 3 10.83 3 30 0.75 7.5 | idgoal=2 2 5 0.4 0 2 4 1 10 0.25 2.5",
        ]
    );
    assert_eq!(
        page_report(&r, "getEntryPageTitles", &day).await?,
        [
            " Page A - index.html: 4 5 4 - | idgoal=1 3 4 1.0833 1 3 10.83 3 30 0.75 7.5 | idgoal=2 2 5 0.4 1 2 4 1 10 0.25 2.5 goal_1_conversion_rate=75% goal_1_nb_conversions=3 goal_1_revenue_per_visit=7.5 goal_1_revenue=30",
        ]
    );
    let xml = r
        .xml(&format!("method=Actions.getEntryPageTitles&{day}"))
        .await?;
    assert!(
        xml.contains(
            "\t\t<sum_time_spent>1800</sum_time_spent>\n\
             \t\t<sum_bandwidth>0</sum_bandwidth>\n\
             \t\t<nb_hits_with_bandwidth>0</nb_hits_with_bandwidth>\n\
             \t\t<min_bandwidth />\n\
             \t\t<max_bandwidth />\n\
             \t\t<entry_nb_uniq_visitors>4</entry_nb_uniq_visitors>\n"
        ),
        "{xml}"
    );
    assert!(
        xml.contains(
            "\t\t</goals>\n\t\t<avg_bandwidth>0</avg_bandwidth>\n\
             \t\t<avg_page_load_time>0</avg_page_load_time>\n\
             \t\t<conversion_rate>0%</conversion_rate>\n"
        ),
        "{xml}"
    );
    Ok(())
}

/// `TrackGoalsPagesSegmentTest` (`test_trackGoals_pages_segment__*`, equal
/// to ours but for the Bandwidth columns): the week of the one visit from
/// Japan, a page view then a conversion of goal 1.
#[tokio::test]
async fn page_goal_metrics_of_a_segment() -> anyhow::Result<()> {
    let (r, _db) = some_page_goal_visits_with_conversions().await?;
    let week = format!("{PAGES_WEEK}{JAPAN}");
    let entry_week = format!("{week}{GOAL_COLUMNS}");
    let goal_columns = " goal_1_conversion_rate=100% goal_1_nb_conversions=1 \
                        goal_1_revenue_per_visit=10 goal_1_revenue=10";
    let page = "page_A: 1 1 1 1 | idgoal=1 1 1 1 1 1 10 1 10 1 10";
    let sub_page = "  /index.html: 1 1 1 1 | idgoal=1 1 1 1 0 1 10 1 10 1 10";
    let title = " Page A - index.html: 1 1 1 1 | idgoal=1 1 1 1 1 1 10 1 10 1 10";
    assert_eq!(
        page_report(&r, "getPageUrls", &week).await?,
        [page, sub_page]
    );
    assert_eq!(page_report(&r, "getPageTitles", &week).await?, [title]);
    assert_eq!(
        page_report(&r, "getEntryPageUrls", &entry_week).await?,
        [format!("{page}{goal_columns}"), sub_page.to_owned()]
    );
    assert_eq!(
        page_report(&r, "getEntryPageTitles", &entry_week).await?,
        [format!("{title}{goal_columns}")]
    );
    Ok(())
}

/// `TrackGoalsPagesTest::testConversionPagesBeforeValues`: the page views
/// before each conversion, in the order they were tracked (our action ids
/// are allocated differently, so the conversions are ordered by time).
#[tokio::test]
async fn pages_viewed_before_each_conversion() -> anyhow::Result<()> {
    #[derive(diesel::QueryableByName)]
    struct Before {
        #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
        pageviews_before: u32,
    }
    let (_r, db) = some_page_goal_visits_with_conversions().await?;
    let mut conn = db.conn()?;
    let rows: Vec<Before> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT pageviews_before FROM log_conversion ORDER BY server_time"),
        &mut conn,
    )?;
    let before: Vec<u32> = rows.iter().map(|row| row.pageviews_before).collect();
    assert_eq!(before, [4, 3, 2, 5, 4, 7, 1, 3]);
    Ok(())
}

/// `test_trackGoals_pagesshowGoalsMetrics{SingleGoal,AllGoals,PageReport}__API.getProcessedReport_day.xml`:
/// with `filter_show_goal_columns_process_goals`, the Actions page reports
/// show every goal's page metrics and the entry page reports every goal's
/// entry metrics; without it, `idGoal` is absent and each goal's
/// conversion rate is shown, money, times and rates written as
/// `getPrettyValue` writes them. (Matomo leaves the page metrics of a goal
/// a row lacks null, where we write 0: docs/MATOMO-DIFFERENCES.md.)
#[tokio::test]
async fn processed_page_reports_with_goal_columns() -> anyhow::Result<()> {
    let (r, _db) = some_page_goal_visits_with_conversions().await?;
    let report = |action: &str, extra: &str| {
        format!(
            "method=API.getProcessedReport&idSite=1&period=day&date=2009-01-05\
             &apiModule=Actions&apiAction={action}{GOAL_COLUMNS}{extra}"
        )
    };
    let goal_columns = |answer: &serde_json::Value| -> Vec<String> {
        answer["reportData"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                let mut line = row["label"].as_str().unwrap_or_default().to_owned();
                for (name, value) in row.as_object().into_iter().flatten() {
                    if name.starts_with("goal_") {
                        line.push_str(&format!(" {name}={value}"));
                    }
                }
                line
            })
            .collect()
    };
    let single = r
        .json(&report(
            "getEntryPageTitles",
            "&filter_show_goal_columns_process_goals=1",
        ))
        .await?;
    assert_eq!(
        goal_columns(&single),
        [concat!(
            " Page A - index.html",
            " goal_1_conversion_rate=\"75%\" goal_1_nb_conversions=3",
            " goal_1_revenue_per_visit=\"$7.50\" goal_1_revenue=\"$30\"",
            " goal_1_nb_conversions_entry=3 goal_1_revenue_per_entry=\"$7.50\"",
            " goal_1_revenue_entry=\"$30\" goal_1_nb_conversions_entry_rate=\"75%\"",
            " goal_2_conversion_rate=\"50%\" goal_2_nb_conversions=2",
            " goal_2_revenue_per_visit=\"$5\" goal_2_revenue=\"$20\"",
            " goal_2_nb_conversions_entry=1 goal_2_revenue_per_entry=\"$5\"",
            " goal_2_revenue_entry=\"$10\" goal_2_nb_conversions_entry_rate=\"25%\""
        )]
    );
    // Matomo's English name of the dimension (`Actions_ColumnEntryPageTitle`).
    assert_eq!(
        (
            &single["metadata"]["dimension"],
            &single["columns"]["label"]
        ),
        (&json!("Entry Page title"), &json!("Entry Page title"))
    );
    let all = r.json(&report("getEntryPageTitles", "")).await?;
    assert_eq!(
        goal_columns(&all),
        [" Page A - index.html goal_1_conversion_rate=\"75%\" goal_2_conversion_rate=\"50%\""]
    );
    let pages = r
        .json(&report(
            "getPageTitles",
            "&filter_show_goal_columns_process_goals=1",
        ))
        .await?;
    let pages = goal_columns(&pages);
    assert_eq!(
        pages.first().map(String::as_str),
        Some(concat!(
            " Page A - index.html",
            " goal_1_conversion_rate=\"75%\" goal_1_nb_conversions=3",
            " goal_1_revenue_per_visit=\"$7.50\" goal_1_revenue=\"$30\"",
            " goal_1_nb_conversions_attrib=1.0833 goal_1_revenue_attrib=\"$10.83\"",
            " goal_1_nb_conversions_page_rate=\"100%\"",
            " goal_2_conversion_rate=\"50%\" goal_2_nb_conversions=2",
            " goal_2_revenue_per_visit=\"$5\" goal_2_revenue=\"$20\"",
            " goal_2_nb_conversions_attrib=0.4 goal_2_revenue_attrib=\"$4\"",
            " goal_2_nb_conversions_page_rate=\"100%\""
        ))
    );
    assert_eq!(pages.len(), 6);
    Ok(())
}

/// The totals of `test_trackGoals_pagesshowGoalsMetrics{PageReport,SingleGoal,AllGoals}__API.getProcessedReport_day.xml`:
/// the page rows' stored columns and `goals`, whose processed page
/// metrics come as stored (the rates last, as PHP's array union leaves
/// them); the goal columns the request asks for are not totalled.
#[tokio::test]
async fn processed_page_report_totals_match_matomo() -> anyhow::Result<()> {
    let (r, _db) = some_page_goal_visits_with_conversions().await?;
    let total = crate::common::report_total_xml;
    let entry = concat!(
        "<nb_visits>4</nb_visits><nb_uniq_visitors>4</nb_uniq_visitors><nb_hits>5</nb_hits>",
        "<sum_time_spent>1800</sum_time_spent><sum_bandwidth>0</sum_bandwidth>",
        "<nb_hits_with_bandwidth>0</nb_hits_with_bandwidth>",
        "<entry_nb_uniq_visitors>4</entry_nb_uniq_visitors><entry_nb_visits>4</entry_nb_visits>",
        "<entry_nb_actions>18</entry_nb_actions><entry_sum_visit_length>5047</entry_sum_visit_length>",
        "<entry_bounce_count>0</entry_bounce_count>",
        "<goals><row idgoal=\"1\"><nb_conversions>3</nb_conversions><revenue>30</revenue>",
        "<nb_conv_pages_before>4</nb_conv_pages_before>",
        "<nb_conversions_attrib>1.0833</nb_conversions_attrib>",
        "<nb_conversions_page_uniq>3</nb_conversions_page_uniq>",
        "<revenue_attrib>10.83</revenue_attrib><revenue_entry>30</revenue_entry>",
        "<revenue_per_entry>7.5</revenue_per_entry><nb_conversions_entry>3</nb_conversions_entry>",
        "<nb_conversions_page_rate>1</nb_conversions_page_rate>",
        "<nb_conversions_entry_rate>0.75</nb_conversions_entry_rate></row>",
        "<row idgoal=\"2\"><nb_conversions>2</nb_conversions><revenue>20</revenue>",
        "<nb_conv_pages_before>5</nb_conv_pages_before>",
        "<nb_conversions_attrib>0.4</nb_conversions_attrib>",
        "<nb_conversions_page_uniq>2</nb_conversions_page_uniq>",
        "<revenue_attrib>4</revenue_attrib><revenue_entry>10</revenue_entry>",
        "<revenue_per_entry>2.5</revenue_per_entry><nb_conversions_entry>1</nb_conversions_entry>",
        "<nb_conversions_page_rate>1</nb_conversions_page_rate>",
        "<nb_conversions_entry_rate>0.25</nb_conversions_entry_rate></row></goals>"
    );
    let pages = concat!(
        "<nb_visits>12</nb_visits><nb_uniq_visitors>12</nb_uniq_visitors><nb_hits>14</nb_hits>",
        "<sum_time_spent>3600</sum_time_spent><sum_bandwidth>0</sum_bandwidth>",
        "<nb_hits_with_bandwidth>0</nb_hits_with_bandwidth>",
        "<entry_nb_uniq_visitors>4</entry_nb_uniq_visitors><entry_nb_visits>4</entry_nb_visits>",
        "<entry_nb_actions>18</entry_nb_actions><entry_sum_visit_length>5047</entry_sum_visit_length>",
        "<entry_bounce_count>0</entry_bounce_count>",
        "<goals><row idgoal=\"1\"><nb_conversions>9</nb_conversions><revenue>90</revenue>",
        "<nb_conv_pages_before>19</nb_conv_pages_before>",
        "<nb_conversions_attrib>2.9999</nb_conversions_attrib>",
        "<nb_conversions_page_uniq>9</nb_conversions_page_uniq>",
        "<revenue_attrib>29.99</revenue_attrib><revenue_entry>30</revenue_entry>",
        "<revenue_per_entry>7.5</revenue_per_entry><nb_conversions_entry>3</nb_conversions_entry>",
        "<nb_conversions_page_rate>2.999</nb_conversions_page_rate>",
        "<nb_conversions_entry_rate>0.75</nb_conversions_entry_rate></row>",
        "<row idgoal=\"2\"><nb_conversions>5</nb_conversions><revenue>50</revenue>",
        "<nb_conv_pages_before>15</nb_conv_pages_before>",
        "<nb_conversions_attrib>1</nb_conversions_attrib>",
        "<nb_conversions_page_uniq>5</nb_conversions_page_uniq>",
        "<revenue_attrib>10</revenue_attrib><revenue_entry>10</revenue_entry>",
        "<revenue_per_entry>2.5</revenue_per_entry><nb_conversions_entry>1</nb_conversions_entry>",
        "<nb_conversions_page_rate>3</nb_conversions_page_rate>",
        "<nb_conversions_entry_rate>0.25</nb_conversions_entry_rate></row></goals>",
        "<exit_nb_uniq_visitors>4</exit_nb_uniq_visitors><exit_nb_visits>4</exit_nb_visits>"
    );
    for (action, extra, expected) in [
        (
            "getPageTitles",
            "&filter_show_goal_columns_process_goals=1",
            pages,
        ),
        (
            "getEntryPageTitles",
            "&filter_show_goal_columns_process_goals=1",
            entry,
        ),
        ("getEntryPageTitles", "", entry),
    ] {
        let xml = r
            .xml(&format!(
                "method=API.getProcessedReport&idSite=1&period=day&date=2009-01-05\
                 &apiModule=Actions&apiAction={action}{GOAL_COLUMNS}{extra}"
            ))
            .await?;
        assert_eq!(total(&xml), expected, "{action}{extra}");
    }
    Ok(())
}
