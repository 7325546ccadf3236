//! `compare=1` (Matomo's `DataComparisonTest`): comparison rows per
//! compared segment and period, changes, metadata, errors.

use serde_json::Value;

use crate::common::Fixture;

/// The JSON answer of `query` (with the super user's token).
async fn json(fixture: &Fixture, query: &str) -> anyhow::Result<Value> {
    crate::common::api_json(&fixture.api, &fixture.tokens.superuser, query).await
}

/// The error message of an XML answer.
async fn error(fixture: &Fixture, query: &str) -> anyhow::Result<String> {
    let text = fixture.get(&format!("{query}&format=json")).await?.text();
    let value: Value = serde_json::from_str(&text)?;
    anyhow::ensure!(value["result"] == "error", "{query}: no error: {text}");
    Ok(value["message"].as_str().unwrap_or("").to_owned())
}

/// `compareSegments[]` as Matomo's system test sends them: the
/// definition URL-encoded once more than the request decodes.
const SEGMENTS: &str =
    "compareSegments[]=browserCode%253D%253DFF&compareSegments[]=browserCode%253D%253DCH";

/// Metadata of comparison row `row`: segment, pretty segment, period,
/// date, pretty period, pretty series, subtable id.
fn series(row: &Value) -> [String; 7] {
    [
        "compareSegment",
        "compareSegmentPretty",
        "comparePeriod",
        "compareDate",
        "comparePeriodPretty",
        "compareSeriesPretty",
        "idsubdatatable",
    ]
    .map(|name| match &row[name] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

/// `segmentsAndPeriods` for `VisitsSummary.get`: the week of 2026-11-10
/// (visits A, B and C in Firefox, E in Chrome) against Firefox and
/// Chrome, and against the day 2026-11-10 (A and B only).
#[tokio::test]
async fn visits_summary_segments_and_periods() -> anyhow::Result<()> {
    let fixture = Fixture::with_chrome_visitor().await?;
    let answer = json(
        &fixture,
        &format!(
            "method=VisitsSummary.get&idSite=1&period=week&date=2026-11-10&compare=1&{SEGMENTS}&compareDates[]=2026-11-10&comparePeriods[]=day"
        ),
    )
    .await?;
    // The report itself is unchanged.
    assert_eq!(answer["nb_visits"], 4);
    assert_eq!(answer["nb_actions"], 7);
    assert_eq!(answer["bounce_rate"], "50%");
    let rows = answer["comparisons"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no comparisons: {answer}"))?;
    assert_eq!(rows.len(), 6, "2 periods × 3 segments");
    // Visits, actions, bounces per series: week all/FF/CH, day all/FF/CH.
    let counts: Vec<(i64, i64, i64)> = rows
        .iter()
        .map(|row| {
            (
                row["nb_visits"].as_i64().unwrap_or(-1),
                row["nb_actions"].as_i64().unwrap_or(-1),
                row["bounce_count"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            (4, 7, 2),
            (3, 6, 1),
            (1, 1, 1),
            (2, 4, 1),
            (2, 4, 1),
            (0, 0, 0)
        ]
    );
    // Percentages formatted as in the report (bc); 1 of 3 bounced.
    assert_eq!(rows[1]["bounce_rate"], "33%");
    assert_eq!(rows[5]["bounce_rate"], "0%");
    assert_eq!(
        series(&rows[0]),
        [
            "",
            "All visits",
            "week",
            "2026-11-10",
            "Week November 9\u{2009}–\u{2009}15, 2026",
            "(Week November 9\u{2009}–\u{2009}15, 2026) (All visits)",
            "-1"
        ]
    );
    assert_eq!(
        series(&rows[5]),
        [
            "browserCode%3D%3DCH",
            "browserCode==CH",
            "day",
            "2026-11-10",
            "Tuesday, November 10, 2026",
            "(Tuesday, November 10, 2026) (browserCode==CH)",
            "-1"
        ]
    );
    // No changes between segments of the first period.
    for row in &rows[..3] {
        assert!(row.get("nb_visits_change").is_none(), "{row}");
    }
    // The day against the week of the same segment: 2 of 4 visits, 4 of
    // 7 actions; 2 of 3 in Firefox; 0 of 1 in Chrome.
    assert_eq!(rows[3]["nb_visits_change"], "-50%");
    assert_eq!(rows[3]["nb_visits_change_from"], "+100%");
    assert_eq!(rows[3]["nb_actions_change"], "-42.9%");
    assert_eq!(rows[3]["nb_actions_change_from"], "+75%");
    assert_eq!(rows[4]["nb_visits_change"], "-33.3%");
    assert_eq!(rows[4]["nb_visits_change_from"], "+50%");
    assert_eq!(rows[5]["nb_visits_change"], "-100%");
    assert_eq!(rows[5]["nb_visits_change_from"], "+100%");
    assert_eq!(rows[5]["nb_users_change"], "+0%");
    // bounce_rate 0.5 (day) against 0.5 (week): no change.
    assert_eq!(rows[3]["bounce_rate_change"], "+0%");
    Ok(())
}

/// `invertCompare`: the first period's rows get the changes, against the
/// second period's row of the same segment.
#[tokio::test]
async fn inverted_changes_go_to_the_first_period() -> anyhow::Result<()> {
    let fixture = Fixture::with_chrome_visitor().await?;
    let answer = json(
        &fixture,
        "method=VisitsSummary.get&idSite=1&period=week&date=2026-11-10&compare=1&compareDates[]=2026-11-10&comparePeriods[]=day&invert_compare_change_compute=1",
    )
    .await?;
    let rows = answer["comparisons"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rows.len(), 2);
    // The week (4 visits) against the day (2).
    assert_eq!(rows[0]["nb_visits_change"], "+100%");
    assert_eq!(rows[0]["nb_visits_change_from"], "-50%");
    assert!(rows[1].get("nb_visits_change").is_none());
    Ok(())
}

/// `segments` and `periods` for `Referrers.getAll`: rows matched by
/// label, zeros where a series has no such row, and the row's segment
/// after the compared one.
#[tokio::test]
async fn referrers_get_all_compares_rows_by_label() -> anyhow::Result<()> {
    let fixture = Fixture::with_chrome_visitor().await?;
    let answer = json(
        &fixture,
        "method=Referrers.getAll&idSite=1&period=week&date=2026-11-10&compare=1&compareSegments[]=browserCode%253D%253DCH&compareDates[]=2026-11-11&comparePeriods[]=day",
    )
    .await?;
    let rows = answer
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("not a table: {answer}"))?;
    let blog = rows
        .iter()
        .find(|row| row["label"] == "blog.example")
        .ok_or_else(|| anyhow::anyhow!("no blog.example row: {answer}"))?;
    let compared = blog["comparisons"].as_array().cloned().unwrap_or_default();
    assert_eq!(compared.len(), 4);
    // Week all, week Chrome (no such row: zeros), day all, day Chrome.
    let visits: Vec<i64> = compared
        .iter()
        .map(|row| row["nb_visits"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(visits, [1, 0, 1, 0]);
    assert_eq!(compared[0]["nb_actions"], 2);
    assert!(compared[0].get("label").is_none());
    assert!(compared[0].get("goals").is_none(), "arrays are left out");
    assert_eq!(compared[0]["segment"], "referrerName==blog.example");
    assert_eq!(
        compared[1]["segment"],
        "browserCode%3D%3DCH;referrerName==blog.example"
    );
    assert_eq!(compared[2]["nb_visits_change"], "+0%");
    // The Google keyword: visitor A (Firefox) on the 10th only, so the
    // 11th has no such row for either segment.
    let shoes = rows
        .iter()
        .find(|row| row["label"] == "shoes")
        .ok_or_else(|| anyhow::anyhow!("no shoes row: {answer}"))?;
    let compared = shoes["comparisons"].as_array().cloned().unwrap_or_default();
    let visits: Vec<i64> = compared
        .iter()
        .map(|row| row["nb_visits"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(visits, [1, 0, 0, 0]);
    assert_eq!(compared[0]["revenue"], 5);
    assert_eq!(compared[2]["nb_visits_change"], "-100%");
    assert_eq!(compared[2]["revenue_change"], "-100%");
    assert_eq!(compared[3]["nb_visits_change"], "+0%");
    Ok(())
}

/// `multipleMultiPeriods`: each period of the answer is compared with the
/// period at the same position of the compared dates; the row names its
/// own period but the whole series.
#[tokio::test]
async fn multiple_periods_compare_position_by_position() -> anyhow::Result<()> {
    let fixture = Fixture::with_chrome_visitor().await?;
    let answer = json(
        &fixture,
        "method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10,2026-11-11&compare=1&compareDates[]=2026-11-11,2026-11-12&comparePeriods[]=day",
    )
    .await?;
    let second = answer["2026-11-10"]["comparisons"][1].clone();
    assert_eq!(second["nb_visits"], 2, "the 11th: C and E");
    assert_eq!(
        series(&second)[2..6],
        [
            "day",
            "2026-11-11",
            "Wednesday, November 11, 2026",
            "(November 11\u{2009}–\u{2009}12, 2026) (All visits)"
        ]
    );
    let empty = answer["2026-11-11"]["comparisons"][1].clone();
    assert_eq!(empty["nb_visits"], 0, "nothing on the 12th");
    assert_eq!(empty["compareDate"], "2026-11-12");
    assert_eq!(empty["nb_visits_change"], "-100%");
    Ok(())
}

/// The comparisons of a simple report in XML: after its columns, one
/// `<row>` per series.
#[tokio::test]
async fn xml_nests_comparison_rows() -> anyhow::Result<()> {
    let fixture = Fixture::with_chrome_visitor().await?;
    let xml = fixture
        .get("method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10&compare=1&compareSegments[]=browserCode%253D%253DCH&format=xml")
        .await?
        .text();
    assert!(
        xml.contains(
            "\t<avg_time_on_site>101</avg_time_on_site>\n\t<comparisons>\n\t\t<row>\n\t\t\t<nb_uniq_visitors>2</nb_uniq_visitors>\n"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("\t\t\t<compareSegment />\n\t\t\t<compareSegmentPretty>All visits</compareSegmentPretty>\n"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "\t\t\t<idsubdatatable>-1</idsubdatatable>\n\t\t</row>\n\t</comparisons>\n</result>"
        ),
        "{xml}"
    );
    Ok(())
}

/// Matomo's refusals of comparisons it cannot make.
#[tokio::test]
async fn bad_comparisons_are_refused_with_matomos_messages() -> anyhow::Result<()> {
    let fixture = Fixture::with_chrome_visitor().await?;
    let base = "method=VisitsSummary.get&idSite=1&compare=1";
    assert_eq!(
        error(&fixture, &format!("{base}&period=day&date=2026-11-10,2026-11-11&compareDates[]=2026-11-10&comparePeriods[]=day")).await?,
        "Cannot compare: original request is multiple period and cannot be compared with single periods."
    );
    assert_eq!(
        error(&fixture, &format!("{base}&period=range&date=2026-11-10,2026-11-11&compareDates[]=2026-11-10,2026-11-11&comparePeriods[]=day")).await?,
        "Cannot compare: original request is single period and cannot be compared with multiple periods."
    );
    assert_eq!(
        error(
            &fixture,
            &format!("{base}&period=day&date=2026-11-10&compareDates[]=2026-11-10")
        )
        .await?,
        "compareDates query parameter length must match comparePeriods query parameter length."
    );
    let six = "&compareSegments[]=a".repeat(6);
    assert_eq!(
        error(&fixture, &format!("{base}&period=day&date=2026-11-10{six}")).await?,
        "The maximum number of segments that can be compared simultaneously is 5."
    );
    assert_eq!(
        error(&fixture, &format!("{base}&period=day&date=2026-11-10&compareSegments[]=browserCode%3D%3DCH&invert_compare_change_compute=1")).await?,
        "invert_compare_change_compute=1 can only be used when comparing two periods."
    );
    assert_eq!(
        error(&fixture, "method=Referrers.getUrlsFromWebsiteId&idSite=1&period=day&date=2026-11-11&idSubtable=1&compare=1&compareDates[]=2026-11-10&comparePeriods[]=day").await?,
        "Comparing segments/periods with subtables only works when the comparison idSubtables are supplied as well."
    );
    // `multipleSites_multipleCompare` for Referrers.getAll: refused
    // before anything is compared.
    assert_eq!(
        error(&fixture, "method=Referrers.getAll&idSite=all&period=week&date=2026-11-10&compare=1&compareDates[]=2026-11-10&comparePeriods[]=day").await?,
        "Referrers.getAll with multiple sites is not supported (yet)."
    );
    // Without compare=1 the parameters change nothing.
    let plain = json(&fixture, "method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10&compareDates[]=2026-11-11&comparePeriods[]=day").await?;
    assert!(plain.get("comparisons").is_none());
    assert_eq!(plain["nb_visits"], 2);
    Ok(())
}

/// `multipleSites_multipleCompare` for `VisitsSummary.get`: each site's
/// report is compared with the same site's series.
#[tokio::test]
async fn several_sites_are_compared_site_by_site() -> anyhow::Result<()> {
    let fixture = Fixture::with_chrome_visitor().await?;
    let answer = json(
        &fixture,
        "method=VisitsSummary.get&idSite=all&period=day&date=2026-11-10&compare=1&compareSegments[]=browserCode%253D%253DFF",
    )
    .await?;
    // Site 1: A and B, both in Firefox; site 2: D, in Firefox.
    let visits = |site: &str, index: usize| answer[site]["comparisons"][index]["nb_visits"].clone();
    assert_eq!(visits("1", 0), 2);
    assert_eq!(visits("1", 1), 2);
    assert_eq!(visits("2", 0), 1);
    assert_eq!(visits("2", 1), 1);
    assert_eq!(
        answer["2"]["comparisons"][1]["compareSeriesPretty"],
        "(Tuesday, November 10, 2026) (browserCode==FF)"
    );
    Ok(())
}

/// `DataComparisonTest`'s `noData_againsNoData`: a day without visits
/// compared with the same day segmented by a browser name nobody uses
/// (`browserName==icedragon`, which becomes `UNK`): zeros in both series,
/// no error.
#[tokio::test(flavor = "multi_thread")]
async fn no_data_against_an_unused_browser_name() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let answer: Value = serde_json::from_str(
        &f.get(
            "method=VisitsSummary.get&idSite=1&period=day&date=2026-05-06&format=json&compare=1\
             &compareSegments[]=browserName%253D%253Dicedragon",
        )
        .await?
        .text(),
    )?;
    let series: Vec<(String, i64)> = answer["comparisons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            (
                row["compareSeriesPretty"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned(),
                row["nb_visits"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        series,
        [
            ("(Wednesday, May 6, 2026) (All visits)".to_owned(), 0),
            (
                "(Wednesday, May 6, 2026) (browserName==icedragon)".to_owned(),
                0
            ),
        ],
        "{answer}"
    );
    Ok(())
}
