//! `pivotBy` against Matomo's `PivotByQueryParamTest` (fixture
//! `ManyVisitsWithMockLocationProvider` with its default
//! `trackVisitsForDaysInPast = 0`: the visits of 2010-01-03 and the orders
//! of 2010-01-04, replayed by `matomo_truncation_fixture.rs`), with the
//! test's `pivot_by_filter_enable_fetch_by_segment = 1`.
//!
//! Our answers equal Matomo's expected files but for two things: region
//! names (we ship none, so `Melbourne, Unknown, Australia` where Matomo has
//! `Melbourne, Victoria, Australia`; docs/MATOMO-DIFFERENCES.md), and the
//! debugging hint Matomo's test mode appends to error messages.

use serde_json::Value;
use tally_reporting::{Api, ReportingConfig};

use crate::common::api_body;
use crate::matomo_truncation_fixture::many_visits_days;

/// `PivotByQueryParamTest::setUpBeforeClass`: fetching by segment on.
fn pivot_api(db: &tally_db::test_support::TestDb, by_segment: bool) -> anyhow::Result<Api> {
    Ok(Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig {
            pivot_by_filter_enable_fetch_by_segment: by_segment,
            ..ReportingConfig::default()
        },
    ))
}

async fn text(api: &Api, token: &str, query: &str) -> anyhow::Result<String> {
    Ok(String::from_utf8(api_body(api, token, query).await?)?)
}

/// A pivot table as JSON in short: `cols: a | b` (the first row's column
/// names), then `label: va vb` per row, `false` as `-`.
fn shape(rows: &Value) -> String {
    let Some(rows) = rows.as_array() else {
        return format!("not rows: {rows}");
    };
    let value = |value: &Value| match value {
        Value::Bool(false) => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let mut lines = Vec::new();
    if let Some(Value::Object(first)) = rows.first() {
        let names: Vec<&str> = first
            .keys()
            .map(String::as_str)
            .filter(|name| *name != "label")
            .collect();
        lines.push(format!("cols: {}", names.join(" | ")));
    }
    for row in rows {
        let Value::Object(columns) = row else {
            continue;
        };
        let values: Vec<String> = columns
            .iter()
            .filter(|(name, _)| *name != "label")
            .map(|(_, cell)| value(cell))
            .collect();
        lines.push(format!("{}: {}", value(&row["label"]), values.join(" ")));
    }
    lines.join("\n")
}

async fn json_shape(api: &Api, token: &str, query: &str) -> anyhow::Result<String> {
    let body = text(api, token, &format!("{query}&format=json")).await?;
    Ok(shape(&serde_json::from_str(&body)?))
}

const WEEK: &str = "idSite=1&period=week&date=2010-01-03";
const RANGE: &str = "idSite=1&period=range&date=2009-12-29,2010-01-10";
const KEYWORDS: &str = "method=Referrers.getKeywords";

/// The engines of each keyword, by total visits then name.
const BY_ENGINE: &str = "search term 1: - - - 1 - -\n\
                         search term 2: - - - - 1 1\n\
                         search term 3: 1 - 1 - - -\n\
                         search term 4: - 1 - 1 - -\n\
                         that search term: 1 1 - - - -\n\
                         this search term: 1 1 1 - - -";

/// The cities of each keyword (Nice has none).
const BY_CITY: &str = "search term 1: - - 1\n\
                       search term 2: - - 2\n\
                       search term 3: - 2 -\n\
                       search term 4: - 2 -\n\
                       that search term: 2 - -\n\
                       this search term: 2 - 1";

// test_PivotByQueryParamTest_testPivotBySubtableDimension*: keywords
// pivoted by their search engines (the subtable), unnumbered under
// `disable_queued_filters=1`; by the first column (unique visitors) when
// `pivotByColumn` is empty, and over a range.
#[tokio::test]
async fn pivots_by_subtable_give_matomos_tables() -> anyhow::Result<()> {
    let (db, token) = many_visits_days(0).await?;
    let api = pivot_api(&db, true)?;
    let plain = format!("cols: Google | Yahoo! | Ask | Bing | Alexa | Babylon\n{BY_ENGINE}");
    let numbered = format!(
        "cols: 1.\u{a0}Google | 2.\u{a0}Yahoo! | 3.\u{a0}Ask | 4.\u{a0}Bing | 5.\u{a0}Alexa | \
         6.\u{a0}Babylon\n{BY_ENGINE}"
    );
    for (query, expected) in [
        (
            format!(
                "{KEYWORDS}&{WEEK}&pivotBy=Referrers.SearchEngine&pivotByColumn=nb_visits\
                 &pivotByColumnLimit=-1&disable_queued_filters=1"
            ),
            &plain,
        ),
        (
            format!(
                "{KEYWORDS}&{WEEK}&pivotBy=Referrers.SearchEngine&pivotByColumn=\
                 &pivotByColumnLimit=-1&expanded=0"
            ),
            &numbered,
        ),
        (
            format!("{KEYWORDS}&{RANGE}&pivotBy=Referrers.SearchEngine"),
            &numbered,
        ),
    ] {
        assert_eq!(
            json_shape(&api, &token, &query).await?,
            *expected,
            "{query}"
        );
    }
    // The XML writes `false` as 0, in the `<col name>` form the names need.
    let xml = text(
        &api,
        &token,
        &format!(
            "{KEYWORDS}&{WEEK}&pivotBy=Referrers.SearchEngine&pivotByColumn=nb_visits\
             &pivotByColumnLimit=-1&disable_queued_filters=1"
        ),
    )
    .await?;
    assert!(
        xml.contains(
            "\t<row>\n\t\t<col name=\"label\">search term 1</col>\n\t\t<col name=\"Google\">0</col>\n\
             \t\t<col name=\"Yahoo!\">0</col>\n\t\t<col name=\"Ask\">0</col>\n\
             \t\t<col name=\"Bing\">1</col>\n"
        ),
        "{xml}"
    );

    // testPivotByParamPlaysNiceWithOtherQueryParams: `flat=1` adds the
    // keyword dimension, `showColumns` keeps two engines, and without
    // generic filters the rows stay in their stored order.
    let flat = format!(
        "{KEYWORDS}&{WEEK}&pivotBy=Referrers.SearchEngine&pivotByColumn=nb_visits\
         &pivotByColumnLimit=-1&flat=1&totals=1&disable_queued_filters=1\
         &disable_generic_filters=1&showColumns=Google,Bing"
    );
    assert_eq!(
        json_shape(&api, &token, &flat).await?,
        "cols: Google | Bing | Referrers_Keyword\n\
         search term 2: - - search term 2\n\
         search term 3: 1 - search term 3\n\
         this search term: 1 - this search term\n\
         search term 1: - 1 search term 1\n\
         search term 4: - 1 search term 4\n\
         that search term: 1 - that search term"
    );
    let xml = text(&api, &token, &flat).await?;
    assert!(
        xml.contains(
            "\t<row>\n\t\t<label>search term 2</label>\n\t\t<Google>0</Google>\n\
             \t\t<Bing>0</Bing>\n\t\t<Referrers_Keyword>search term 2</Referrers_Keyword>\n\
             \t</row>\n"
        ),
        "{xml}"
    );

    // testPivotByParamWorksWithReportWhoseSubtableIsSelf: the page URL
    // folders by their pages' hits; /index is in every folder.
    let pages = json_shape(
        &api,
        &token,
        &format!(
            "method=Actions.getPageUrls&{WEEK}&pivotBy=Actions.PageUrl&pivotByColumn=nb_hits\
             &pivotByColumnLimit=-1"
        ),
    )
    .await?;
    let names: Vec<String> = [
        "index", "0", "1", "10", "11", "12", "13", "14", "15", "16", "17",
    ]
    .iter()
    .chain(&["18", "19", "2", "3", "4", "5", "6", "7", "8", "9"])
    .enumerate()
    .map(|(index, page)| format!("{}.\u{a0}/{page}", index + 1))
    .collect();
    assert_eq!(
        pages,
        format!(
            "cols: {}\n\
             0: 1 1 1 - - - - - - - - - - 1 1 - - - - - -\n\
             1: 1 - - - - - - - - - - - - - - 1 1 1 1 - -\n\
             2: 1 - - 1 1 - - - - - - - - - - - - - - 1 1\n\
             3: 1 - - - - 1 1 1 1 - - - - - - - - - - - -\n\
             4: 1 - - - - - - - - 1 1 1 1 - - - - - - - -",
            names.join(" | ")
        )
    );
    Ok(())
}

// test_PivotByQueryParamTest_testPivotBySegment*, *ColumnLimiting,
// *JsonOutput, *CsvOutput, *DataTableMaps: keywords pivoted by city, each
// row's cities asked of UserCountry.getCity with the row's segment (and
// the request's).
#[tokio::test]
async fn pivots_by_segment_give_matomos_tables() -> anyhow::Result<()> {
    let (db, token) = many_visits_days(0).await?;
    let api = pivot_api(&db, true)?;
    let cities = format!(
        "cols: 1.\u{a0}Melbourne, Unknown, Australia | 2.\u{a0}Toronto, Unknown, Canada | \
         3.\u{a0}Yokohama, Unknown, Japan\n{BY_CITY}"
    );
    let by_city = format!(
        "{KEYWORDS}&{WEEK}&pivotBy=UserCountry.City&pivotByColumn=nb_visits&pivotByColumnLimit=-1"
    );
    assert_eq!(json_shape(&api, &token, &by_city).await?, cities);
    assert_eq!(
        json_shape(
            &api,
            &token,
            &format!("{KEYWORDS}&{RANGE}&pivotBy=UserCountry.City")
        )
        .await?,
        cities
    );
    assert_eq!(
        text(
            &api,
            &token,
            &format!(
                "{KEYWORDS}&{WEEK}&segment=browserCode==FF&pivotBy=UserCountry.City\
                 &pivotByColumn=nb_visits&pivotByColumnLimit=-1"
            )
        )
        .await?,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\
         \t\t<col name=\"label\">that search term</col>\n\
         \t\t<col name=\"1.\u{a0}Melbourne, Unknown, Australia\">2</col>\n\t</row>\n\t<row>\n\
         \t\t<col name=\"label\">this search term</col>\n\
         \t\t<col name=\"1.\u{a0}Melbourne, Unknown, Australia\">2</col>\n\t</row>\n</result>"
    );
    assert_eq!(
        json_shape(
            &api,
            &token,
            &format!(
                "{KEYWORDS}&{WEEK}&pivotBy=UserCountry.City&pivotByColumn=nb_visits\
                 &pivotByColumnLimit=2"
            )
        )
        .await?,
        "cols: 1.\u{a0}Melbourne, Unknown, Australia | Others\n\
         search term 1: - 1\nsearch term 2: - 2\nsearch term 3: - 2\nsearch term 4: - 2\n\
         that search term: 2 -\nthis search term: 2 1"
    );
    let csv = api_body(&api, &token, &format!("{by_city}&format=csv")).await?;
    let units: Vec<u16> = csv
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    assert_eq!(
        String::from_utf16(&units)?,
        "\u{feff}label,\"1.\u{a0}Melbourne, Unknown, Australia\",\"2.\u{a0}Toronto, Unknown, \
         Canada\",\"3.\u{a0}Yokohama, Unknown, Japan\"\nsearch term 1,0,0,1\n\
         search term 2,0,0,2\nsearch term 3,0,2,0\nsearch term 4,0,2,0\n\
         that search term,2,0,0\nthis search term,2,0,1"
    );
    // Every site and day of a multi-period request: only 2010-01-03 has
    // search visits.
    let maps = text(
        &api,
        &token,
        "method=Referrers.getKeywords&idSite=all&period=day&date=2010-01-01,2010-01-07\
         &pivotBy=UserCountry.City&pivotByColumn=nb_visits&pivotByColumnLimit=-1&format=json",
    )
    .await?;
    let maps: Value = serde_json::from_str(&maps)?;
    let days = maps["1"].as_object().map(|days| {
        days.iter()
            .map(|(day, rows)| format!("{day}:{}", rows.as_array().map_or(0, Vec::len)))
            .collect::<Vec<_>>()
            .join(" ")
    });
    assert_eq!(
        days.as_deref(),
        Some(
            "2010-01-01:0 2010-01-02:0 2010-01-03:6 2010-01-04:0 2010-01-05:0 2010-01-06:0 2010-01-07:0"
        )
    );
    assert_eq!(shape(&maps["1"]["2010-01-03"]), cities);
    Ok(())
}

// test_PivotByQueryParamTest_testPivotByParamWorksWithCustomDimension*:
// countries by the visit dimension's values and the dimension's values by
// city, both by their first column (unique visitors) and through segments
// (`countryCode==au`, `dimension1==0`); *FailsWithCustomDimensionAndMultipleSites:
// a site's custom dimension is unknown to a request for all sites.
#[tokio::test]
async fn pivots_with_custom_dimensions_give_matomos_tables() -> anyhow::Result<()> {
    let (db, token) = many_visits_days(0).await?;
    let api = pivot_api(&db, true)?;
    assert_eq!(
        json_shape(
            &api,
            &token,
            &format!(
                "method=UserCountry.getCountry&{WEEK}&pivotBy=CustomDimension.CustomDimension1"
            )
        )
        .await?,
        "cols: 1.\u{a0}0 | 2.\u{a0}10 | 3.\u{a0}15 | 4.\u{a0}20 | 5.\u{a0}5 | code | logo\n\
         Australia: 1 2 1 1 1 au plugins/Morpheus/icons/dist/flags/au.png\n\
         Canada: 2 1 1 2 1 ca plugins/Morpheus/icons/dist/flags/ca.png\n\
         France: 1 1 1 1 2 fr plugins/Morpheus/icons/dist/flags/fr.png\n\
         Japan: 1 1 2 1 1 jp plugins/Morpheus/icons/dist/flags/jp.png"
    );
    assert_eq!(
        json_shape(
            &api,
            &token,
            &format!(
                "method=CustomDimensions.getCustomDimension&{WEEK}&idDimension=1\
                 &pivotBy=UserCountry.City"
            )
        )
        .await?,
        "cols: 1.\u{a0}Toronto, Unknown, Canada | 2.\u{a0}Melbourne, Unknown, Australia | \
         3.\u{a0}Nice, Unknown, France | 4.\u{a0}Yokohama, Unknown, Japan\n\
         0: 2 1 1 1\n5: 1 1 2 1\n10: 1 2 1 1\n15: 1 1 1 2\n20: 2 1 1 1"
    );
    assert_eq!(
        text(
            &api,
            &token,
            "method=UserCountry.getCountry&idSite=all&period=week&date=2010-01-03\
             &pivotBy=CustomDimension.CustomDimension1"
        )
        .await?,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"Invalid \
         dimension 'CustomDimension.CustomDimension1'.\" />\n</result>"
    );
    Ok(())
}

/// Without `pivot_by_filter_enable_fetch_by_segment` (the default) only the
/// subtable dimension pivots, with Matomo's messages.
#[tokio::test]
async fn pivots_by_segment_need_the_setting() -> anyhow::Result<()> {
    let (db, token) = many_visits_days(0).await?;
    let api = pivot_api(&db, false)?;
    let answer = text(
        &api,
        &token,
        &format!("{KEYWORDS}&{WEEK}&pivotBy=UserCountry.City&format=json"),
    )
    .await?;
    assert_eq!(
        answer,
        "{\"result\":\"error\",\"message\":\"Unsupported pivot: the subtable dimension for \
         'Referrers.getKeywords' does not match the requested pivotBy dimension. [subtable \
         dimension = Referrers.SearchEngine, pivot by dimension = UserCountry.City]\"}"
    );
    // With it, a dimension without a report, or a report without a segment
    // for its dimension, cannot be pivoted.
    let api = pivot_api(&db, true)?;
    let answer = text(
        &api,
        &token,
        &format!("{KEYWORDS}&{WEEK}&pivotBy=VisitTime.LocalMinute&format=json"),
    )
    .await?;
    assert_eq!(
        answer,
        "{\"result\":\"error\",\"message\":\"Unsupported pivot: No report for pivot dimension \
         'VisitTime.LocalMinute' (report required for fetching intersected tables by segment).\"}"
    );
    let answer = text(
        &api,
        &token,
        &format!("method=VisitTime.getVisitInformationPerServerTime&{WEEK}&pivotBy=UserCountry.City&format=json"),
    )
    .await?;
    assert_eq!(
        answer,
        "{\"result\":\"error\",\"message\":\"Unsupported pivot: No segment for dimension of \
         report 'VisitTime.getVisitInformationPerServerTime'. (segment required for fetching \
         intersected tables by segment).\"}"
    );
    Ok(())
}
