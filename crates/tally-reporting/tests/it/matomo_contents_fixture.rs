//! Matomo's system test traffic "two visits with contents"
//! (`plugins/Contents/tests/Fixtures/TwoVisitsWithContents.php` in
//! matomo-org/matomo, used by `ContentsTest`), sent as the PHP tracker
//! sends it, and the Contents and Actions reports checked against the
//! numbers, labels and row order of Matomo's expected outputs for that test.
//!
//! Two visitors on site 1 (UTC), the second 30 minutes after the first from
//! another IP, each send the same requests: a page view of
//! `http://www.example.org/page` with page timings, then content
//! impressions and interactions (times set relative to the visitor's start:
//! 2, 3, 4 and 4.5 minutes), the last one from another URL. Two goals
//! (URL contains `webradio`, title contains `Music`) check that content
//! requests convert neither.

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

/// `moveTimeForward`: `minutes` after the visitor's start (not cumulative).
fn move_to(t: &mut PhpTracker, start: PrimitiveDateTime, minutes: f64) {
    #[expect(clippy::cast_possible_truncation, reason = "minutes of the fixture")]
    let seconds = (minutes * 60.0).round() as i64;
    t.at = At::Datetime(start + Duration::seconds(seconds));
}

/// A content request: minutes after the start (when the time moves), the
/// interaction (`None` for an impression), name, piece (`None`: the PHP
/// default) and target.
type Step<'a> = (
    Option<f64>,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
);

/// `trackContentImpressionsAndInteractions`.
async fn contents(
    router: &Router,
    t: &mut PhpTracker,
    start: PrimitiveDateTime,
) -> anyhow::Result<()> {
    t.url = "http://www.example.org/page".to_owned();
    t.set_timings([33, 325, 124, 356, 215, 99]);
    let query = t.page_view("Ads");
    t.ok(router, &query).await?;

    let download = Some("Click to download Piwik now");
    let example = Some("http://www.example.com");
    let steps: [Step<'_>; 12] = [
        (None, None, "ImageAd", None, None),
        (None, None, "ImageAd", Some(""), None),
        (Some(2.0), None, "ImageAd", Some("/path/ad.jpg"), example),
        (None, None, "ImageAd", Some("/path/ad2.jpg"), example),
        (
            None,
            Some("submit"),
            "ImageAd",
            Some("/path/ad.jpg"),
            example,
        ),
        (
            Some(3.0),
            None,
            "Text Ad",
            download,
            Some("http://piwik.org/download"),
        ),
        (
            None,
            None,
            "Text Ad",
            Some("Click NOW"),
            Some("http://piwik.org/"),
        ),
        (
            None,
            Some("click"),
            "Text Ad",
            download,
            Some("http://piwik.org/download"),
        ),
        (
            None,
            Some("click"),
            "Text Ad",
            Some("Click NOW"),
            Some("http://piwik.org/download"),
        ),
        (Some(4.0), None, "Text Ad", download, Some("")),
        (Some(4.5), None, "Video Ad", Some("movie.mov"), None),
        (Some(4.5), None, "Video Ad", Some("movie.mov"), None),
    ];
    for (index, (minutes, interaction, name, piece, target)) in steps.into_iter().enumerate() {
        if index == 11 {
            t.url = "http://www.example.com/de/suche?q=foo".to_owned();
        }
        if let Some(minutes) = minutes {
            move_to(t, start, minutes);
        }
        let query = match interaction {
            Some(interaction) => t.content_interaction(interaction, name, piece, target),
            None => t.content_impression(name, piece, target),
        };
        t.ok(router, &query).await?;
    }
    Ok(())
}

pub(crate) struct Reports {
    pub(crate) api: Api,
    pub(crate) token: String,
}

impl Reports {
    async fn json(&self, method: &str, period: &str, extra: &str) -> anyhow::Result<Value> {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&method={method}&idSite=1&period={period}&date=2010-01-03&format=json{extra}&token_auth={}",
                self.token
            ),
            None,
        );
        let api = self.api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        anyhow::ensure!(answer.status == 200, "{method}: {}", answer.status);
        Ok(serde_json::from_slice(&answer.body)?)
    }
}

/// The fixture's site and traffic (`CsvExportTest` replays it too).
pub(crate) async fn fixture() -> anyhow::Result<(TestDb, Reports)> {
    let (db, token) = matomo_site(
        START - Duration::days(1),
        |_| {},
        &[
            GoalParams::new("triggered js", "url", "webradio", "contains"),
            GoalParams::new("triggered js", "title", "Music", "contains"),
        ],
    )?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;

    let mut first = PhpTracker::new(1, &token, "a1b2c3d4e5f60718", START);
    contents(&router, &mut first, START).await?;
    let second_start = START + Duration::minutes(30);
    let mut second = PhpTracker::new(1, &token, "0f1e2d3c4b5a6978", second_start);
    second.ip = "111.1.1.1".to_owned();
    second.plugins = false;
    contents(&router, &mut second, second_start).await?;

    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    Ok((db, Reports { api, token }))
}

/// `(label, [uniq visitors, visits, impressions, interactions], rate,
/// segment)`; the unique visitors are `sum_daily_nb_uniq_visitors` for a
/// month.
type ContentRow = (String, [i64; 4], String, Option<String>);

fn content_rows(rows: &Value) -> Vec<ContentRow> {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let int = |name: &str| row[name].as_i64().unwrap_or(-1);
                    let uniq = row
                        .get("nb_uniq_visitors")
                        .or_else(|| row.get("sum_daily_nb_uniq_visitors"))
                        .and_then(Value::as_i64)
                        .unwrap_or(-1);
                    (
                        row["label"].as_str().unwrap_or("").to_owned(),
                        [
                            uniq,
                            int("nb_visits"),
                            int("nb_impressions"),
                            int("nb_interactions"),
                        ],
                        row["interaction_rate"].as_str().unwrap_or("").to_owned(),
                        row["segment"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn rows(expected: &[(&str, [i64; 4], &str, Option<&str>)]) -> Vec<ContentRow> {
    expected
        .iter()
        .map(|(label, counts, rate, segment)| {
            (
                (*label).to_owned(),
                *counts,
                (*rate).to_owned(),
                segment.map(str::to_owned),
            )
        })
        .collect()
}

fn names() -> Vec<ContentRow> {
    rows(&[
        ("ImageAd", [8, 8, 8, 2], "25%", Some("contentName==ImageAd")),
        (
            "Text Ad",
            [6, 6, 6, 4],
            "66.67%",
            Some("contentName==Text+Ad"),
        ),
        (
            "Video Ad",
            [2, 2, 4, 0],
            "0%",
            Some("contentName==Video+Ad"),
        ),
    ])
}

/// Sorted by visits (the report's default, not the impressions the UI
/// sorts by), ties by label.
fn pieces() -> Vec<ContentRow> {
    rows(&[
        (
            "Click to download Piwik now",
            [4, 4, 4, 2],
            "50%",
            Some("contentPiece==Click+to+download+Piwik+now"),
        ),
        (
            "/path/ad.jpg",
            [2, 2, 2, 2],
            "100%",
            Some("contentPiece==%2Fpath%2Fad.jpg"),
        ),
        (
            "/path/ad2.jpg",
            [2, 2, 2, 0],
            "0%",
            Some("contentPiece==%2Fpath%2Fad2.jpg"),
        ),
        (
            "Click NOW",
            [2, 2, 2, 2],
            "100%",
            Some("contentPiece==Click+NOW"),
        ),
        ("Content Piece not defined", [2, 2, 2, 0], "0%", None),
        (
            "movie.mov",
            [2, 2, 4, 0],
            "0%",
            Some("contentPiece==movie.mov"),
        ),
        ("Unknown", [2, 2, 2, 0], "0%", Some("contentPiece==Unknown")),
    ])
}

#[tokio::test]
async fn contents_fixture_gives_matomos_content_reports() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    // The segments of ContentsTest match every visit of the day, so the
    // reports are the same as without them.
    for segment in [
        "",
        "&segment=contentName%3D%3DImageAd%2CcontentPiece%3D%3DClick%2Bto%2Bdownload%2BPiwik%2Bnow",
        "&segment=contentTarget%3D%3Dhttp%253A%252F%252Fwww.example.com",
        "&segment=contentInteraction%3D%3Dclick",
    ] {
        let names_day = reports
            .json("Contents.getContentNames", "day", segment)
            .await?;
        assert_eq!(content_rows(&names_day), names(), "names {segment}");
        let pieces_day = reports
            .json("Contents.getContentPieces", "day", segment)
            .await?;
        assert_eq!(content_rows(&pieces_day), pieces(), "pieces {segment}");
    }

    // Subtables (not in Matomo's expected outputs, which are not expanded;
    // derived from ContentRecords: a name's pieces, a piece's names; the
    // impression without a piece adds no row under ImageAd, and is
    // "Content Piece not defined" → ImageAd in the other report).
    let names_day = reports.json("Contents.getContentNames", "day", "").await?;
    let sub = |row: &Value| row["idsubdatatable"].as_i64().unwrap_or(-1);
    let subtable = async |method: &str, id: i64| {
        reports
            .json(method, "day", &format!("&idSubtable={id}"))
            .await
            .map(|rows| content_rows(&rows))
    };
    let expected_name_pieces = [
        rows(&[
            ("/path/ad.jpg", [2, 2, 2, 2], "100%", None),
            ("/path/ad2.jpg", [2, 2, 2, 0], "0%", None),
            ("Unknown", [2, 2, 2, 0], "0%", None),
        ]),
        rows(&[
            ("Click to download Piwik now", [4, 4, 4, 2], "50%", None),
            ("Click NOW", [2, 2, 2, 2], "100%", None),
        ]),
        rows(&[("movie.mov", [2, 2, 4, 0], "0%", None)]),
    ];
    for (row, expected) in names_day
        .as_array()
        .into_iter()
        .flatten()
        .zip(expected_name_pieces)
    {
        let got = subtable("Contents.getContentNames", sub(row)).await?;
        assert_eq!(got, expected, "{}", row["label"]);
    }
    let pieces_day = reports.json("Contents.getContentPieces", "day", "").await?;
    let expected_piece_names = [
        ("Text Ad", [4, 4, 4, 2], "50%"),
        ("ImageAd", [2, 2, 2, 2], "100%"),
        ("ImageAd", [2, 2, 2, 0], "0%"),
        ("Text Ad", [2, 2, 2, 2], "100%"),
        ("ImageAd", [2, 2, 2, 0], "0%"),
        ("Video Ad", [2, 2, 4, 0], "0%"),
        ("ImageAd", [2, 2, 2, 0], "0%"),
    ];
    for (row, (label, counts, rate)) in pieces_day
        .as_array()
        .into_iter()
        .flatten()
        .zip(expected_piece_names)
    {
        let got = subtable("Contents.getContentPieces", sub(row)).await?;
        assert_eq!(
            got,
            rows(&[(label, counts, rate, None)]),
            "{}",
            row["label"]
        );
    }

    // test_Contents_Contents.getContentPieces_lastN__API.getProcessedReport:
    // the rows keep only the report's metrics.
    let processed = reports
        .json(
            "API.getProcessedReport",
            "day",
            "&apiModule=Contents&apiAction=getContentPieces",
        )
        .await?;
    assert_eq!(
        processed["columns"],
        json!({
            "label": "Content Piece",
            "nb_impressions": "Impressions",
            "nb_interactions": "Content Interactions",
            "interaction_rate": "Interaction Rate",
        })
    );
    assert_eq!(
        processed["reportData"][5],
        json!({
            "label": "movie.mov",
            "nb_impressions": 4,
            "nb_interactions": 0,
            "interaction_rate": "0%",
        })
    );
    assert_eq!(processed["reportData"].as_array().map(Vec::len), Some(7));

    let names_month = reports
        .json("Contents.getContentNames", "month", "")
        .await?;
    assert_eq!(content_rows(&names_month), names());
    assert!(names_month[0].get("nb_uniq_visitors").is_none());
    let pieces_month = reports
        .json("Contents.getContentPieces", "month", "")
        .await?;
    assert_eq!(content_rows(&pieces_month), pieces());
    Ok(())
}

#[tokio::test]
async fn contents_fixture_gives_matomos_actions_reports() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    for period in ["day", "month"] {
        let actions = reports.json("Actions.get", period, "").await?;
        for (name, value) in [
            ("nb_pageviews", 2),
            ("nb_uniq_pageviews", 2),
            ("nb_downloads", 0),
            ("nb_outlinks", 0),
            ("nb_searches", 0),
        ] {
            assert_eq!(actions[name], json!(value), "{period} {name}");
        }
    }
    // Content requests are neither page views nor visit actions: one page,
    // both visits bounced, the time spent on it up to the last content
    // request.
    let pages = reports.json("Actions.getPageUrls", "day", "").await?;
    let pages = pages.as_array().cloned().unwrap_or_default();
    assert_eq!(pages.len(), 1, "{pages:?}");
    let page = &pages[0];
    for (name, value) in [
        ("label", json!("/page")),
        ("nb_visits", json!(2)),
        ("nb_uniq_visitors", json!(2)),
        ("nb_hits", json!(2)),
        ("sum_time_spent", json!(540)),
        ("entry_nb_visits", json!(2)),
        ("entry_nb_actions", json!(2)),
        ("entry_sum_visit_length", json!(542)),
        ("entry_bounce_count", json!(2)),
        ("exit_nb_visits", json!(2)),
        ("avg_time_on_page", json!(270)),
        ("bounce_rate", json!("100%")),
        ("exit_rate", json!("100%")),
        ("avg_page_load_time", json!(1.152)),
        ("url", json!("http://www.example.org/page")),
    ] {
        assert_eq!(page[name], value, "{name}");
    }
    let month = reports.json("Actions.getPageUrls", "month", "").await?;
    let page = &month[0];
    for (name, value) in [
        ("label", json!("/page")),
        ("nb_hits", json!(2)),
        ("sum_time_spent", json!(540)),
        ("entry_sum_visit_length", json!(542)),
        ("sum_daily_nb_uniq_visitors", json!(2)),
        ("sum_daily_entry_nb_uniq_visitors", json!(2)),
        ("sum_daily_exit_nb_uniq_visitors", json!(2)),
        ("nb_uniq_visitors", Value::Null),
    ] {
        assert_eq!(page[name], value, "month {name}");
    }
    assert_eq!(month.as_array().map(Vec::len), Some(1));
    Ok(())
}
