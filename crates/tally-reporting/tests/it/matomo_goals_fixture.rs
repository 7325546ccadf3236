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

    let reports = Reports {
        api: reporting_api(&db)?,
        token,
        now: NOW,
    };
    Ok((reports, db))
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
    let query = format!("method=Goals.get&{ONE_CONVERSION_DAY}");
    assert_eq!(
        r.xml(&query).await?,
        goals_get_xml([
            ["3", "2", "1000", "66.67%"],
            ["3", "2", "1000", "100%"],
            ["0", "0", "0", "0%"],
        ])
    );
    for segment in ["pageUrl%3D%40%2F", "visitCount%3E%3D1%3BpageUrl%3D%40%2F"] {
        assert_eq!(
            r.xml(&format!("{query}&segment={segment}")).await?,
            goals_get_xml([
                ["3", "2", "1000", "100%"],
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
/// conversion rate. Matomo writes `avg_time_on_site` as `00:04:02` and
/// revenues as `$1,000` here (docs/MATOMO-DIFFERENCES.md); the values are
/// the same.
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
        ("revenue", "1000"),
        ("conversion_rate", "66.67%"),
        ("nb_actions_per_visit", "1.7"),
        ("avg_time_on_site", "242"),
        ("bounce_rate", "67%"),
    ];
    let single: &[(&str, &str)] = &[
        ("goal_1_conversion_rate", "66.67%"),
        ("goal_1_nb_conversions", "2"),
        ("goal_1_revenue_per_visit", "333.33"),
        ("goal_1_revenue", "1000"),
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
