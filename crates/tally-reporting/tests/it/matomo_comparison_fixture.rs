//! `compare=1` against Matomo's `DataComparisonTest`, over its fixture
//! `ManySitesImportedLogs` (with `includeCloudfront`) imported with our log
//! importer as the fixture's `import_logs.py` runs do: site 1 ("Piwik
//! test", goal 1 "url contains http", revenue 5), sites 2 and 3; the
//! plain, enable-all, replayed (twice, the second time into site 3),
//! custom-regex, CloudFront and include/exclude-filter logs.
//!
//! The log files are Matomo's (`tests/resources/access-logs/`), read from
//! the directory `MATOMO_ACCESS_LOGS` names rather than copied here, so the
//! test is opt-in: `MATOMO_ACCESS_LOGS=<matomo>/tests/resources/access-logs
//! cargo nextest run -p tally-reporting --run-ignored all -E
//! 'test(/matomo_comparison_fixture/)'`. Without the variable it fails.

use serde_json::Value;

use crate::common::api_json;
use crate::imported_logs::{Includes, imported_logs};

/// A compared simple report in short: per series, its pretty name and
/// `nb_visits nb_actions nb_visits_converted bounce_count sum_visit_length`
/// (or `nb_visits_returning ...` for VisitFrequency), with the `_change`
/// of nb_visits where there is one.
fn series(answer: &Value, columns: &[&str]) -> Vec<String> {
    let Some(rows) = answer["comparisons"].as_array() else {
        return vec![format!("no comparisons: {answer}")];
    };
    rows.iter()
        .map(|row| {
            let values: Vec<String> = columns
                .iter()
                .map(|column| match &row[*column] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect();
            format!(
                "{} {}",
                row["compareSeriesPretty"].as_str().unwrap_or("?"),
                values.join(" ")
            )
        })
        .collect()
}

const MONTH: &str = "idSite=1&date=2012-08-09&period=month";
/// `urlencode('browserCode==ff')` sent as Matomo's test sends it: encoded
/// once more in the URL.
const FF_IE: &str =
    "compareSegments[]=browserCode%253D%253Dff&compareSegments[]=browserCode%253D%253Die";
const DAY_WEEK: &str = "compareDates[]=2012-08-10&comparePeriods[]=day\
                        &compareDates[]=2012-08-16&comparePeriods[]=week";

// test_DataComparisonTest_{segments,periods,segmentsAndPeriods,invertCompare}
// __VisitsSummary.get_month.xml and __VisitFrequency.get_month.xml: the
// same series, values, changes and metadata (the XML bodies are byte for
// byte Matomo's).
#[tokio::test]
#[ignore = "reads Matomo's access logs from MATOMO_ACCESS_LOGS"]
async fn compared_visits_summary_gives_matomos_series() -> anyhow::Result<()> {
    let fixture = imported_logs(Includes {
        cloudfront: true,
        ..Includes::default()
    })
    .await?;
    // Lines tracked per import, in the fixture's order.
    let imported: Vec<u64> = fixture.imported.iter().map(|(_, lines)| *lines).collect();
    assert_eq!(imported, [17, 12, 20, 0, 20, 0, 10, 1, 2, 3]);
    let (api, token) = (fixture.api, fixture.token);
    let visits = [
        "nb_visits",
        "nb_actions",
        "nb_visits_converted",
        "bounce_count",
        "sum_visit_length",
    ];
    let get = |extra: String| {
        let api = api.clone();
        let token = token.clone();
        async move {
            api_json(
                &api,
                &token,
                &format!("method=VisitsSummary.get&{MONTH}&{extra}&compare=1"),
            )
            .await
        }
    };
    let month = "(August 2012) (All visits) 34 37 32 32 305";
    assert_eq!(
        series(&get(FF_IE.to_owned()).await?, &visits),
        [
            month,
            "(August 2012) (browserCode==ff) 2 2 2 2 0",
            "(August 2012) (browserCode==ie) 7 7 7 7 0",
        ]
    );
    let answer = get(DAY_WEEK.to_owned()).await?;
    assert_eq!(
        series(&answer, &visits),
        [
            month,
            "(Friday, August 10, 2012) (All visits) 8 8 8 8 0",
            "(Week August 13\u{2009}–\u{2009}19, 2012) (All visits) 3 3 3 3 0",
        ]
    );
    assert_eq!(
        series(&answer, &["nb_visits_change", "nb_visits_change_from"])[1..],
        [
            "(Friday, August 10, 2012) (All visits) -76.5% +325%",
            "(Week August 13\u{2009}–\u{2009}19, 2012) (All visits) -91.2% +1,033.3%",
        ]
    );
    let answer = get(format!("{FF_IE}&{DAY_WEEK}")).await?;
    assert_eq!(series(&answer, &visits).len(), 9);
    assert_eq!(
        series(&answer, &["compareSegment", "comparePeriod", "compareDate"])[5],
        "(Friday, August 10, 2012) (browserCode==ie) browserCode%3D%3Die day 2012-08-10"
    );
    let answer = get(format!(
        "{FF_IE}&compareDates[]=2012-08-10&comparePeriods[]=day&invert_compare_change_compute=1"
    ))
    .await?;
    assert_eq!(
        series(
            &answer,
            &["nb_visits", "nb_visits_change", "nb_visits_change_from"]
        )[..3],
        [
            "(August 2012) (All visits) 34 +325% -76.5%",
            "(August 2012) (browserCode==ff) 2 +100% -100%",
            "(August 2012) (browserCode==ie) 7 +133.3% -57.1%",
        ]
    );
    let returning = api_json(
        &api,
        &token,
        &format!("method=VisitFrequency.get&{MONTH}&{FF_IE}&compare=1"),
    )
    .await?;
    assert_eq!(
        series(&returning, &["nb_visits_returning", "nb_visits_new"]),
        [
            "(August 2012) (All visits) 0 34",
            "(August 2012) (browserCode==ff) 0 2",
            "(August 2012) (browserCode==ie) 0 7",
        ]
    );
    Ok(())
}
