//! `API.getRowEvolution` over the traffic of Matomo's `RowEvolutionTest`
//! fixture (`TwoSitesManyVisitsOverSeveralDaysWithSearchEngineReferrers`,
//! its site 1, tracked by [`tracked_site`]): the values below are the ones
//! of Matomo's expected outputs `test_RowEvolution_*` for the same calls,
//! written out by hand.
//!
//! Every day d (30 down to 0 days before 2010-03-06) a visitor comes from
//! `www.referrer<d % 5>.com/theReferrerPage<d % 2>.html` to
//! `/my/dir/page<d % 4>?foo=bar&baz=bar` titled `incredible title <d % 3>`,
//! converts goal 1 once and goal 2 twice, and comes back from Google with
//! keyword `d % 3` of three holding `>`, `,`, quotes and punctuation.

use serde_json::{Value, json};
use tally_reporting::Api;
use time::Date;
use time::macros::date;

use crate::common::{NOW, api_json, encode, reporting_api};
use crate::matomo_referrers_fixture::tracked_site;

const KEYWORDS: [&str; 3] = [
    "free > proprietary",
    "peace \",\" not war",
    "justice )(&^#%$ NOT '\" corruption!",
];

/// The last day of the traffic.
const LAST: Date = date!(2010 - 03 - 06);

/// The day `d` days before [`LAST`].
fn day(days: i64) -> String {
    (LAST - time::Duration::days(days)).to_string()
}

/// PHP's `urlencode`, as Matomo's test encodes labels holding `>` or `,`.
fn php_urlencode(text: &str) -> String {
    encode(text).replace("%20", "+")
}

/// Any query with the token, in `format`: the status and the body.
async fn raw(api: &Api, token: &str, query: &str, format: &str) -> anyhow::Result<(u16, String)> {
    let request = tally_reporting::ApiRequest::from_parts(
        &format!("module=API&{query}&format={format}&token_auth={token}"),
        None,
    );
    let api = api.clone();
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
    // CSV is UTF-16LE behind a byte-order mark, as Matomo sends it.
    if let Some(utf16) = answer.body.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = utf16
            .chunks(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]))
            .collect();
        return Ok((answer.status, String::from_utf16(&units)?));
    }
    Ok((answer.status, String::from_utf8(answer.body)?))
}

/// The website rows of visits that came from referrer 2 (Matomo's
/// `_referrer1`): one visit of one action and 365 s.
fn visit_row() -> Value {
    json!({
        "nb_uniq_visitors": 1,
        "nb_visits": 1,
        "nb_actions": 1,
        "nb_users": 0,
        "nb_actions_per_visit": 1,
        "avg_time_on_site": 365,
        "bounce_rate": "100%"
    })
}

/// The metadata of a single website row seen on some days only.
fn visit_metrics() -> Value {
    json!({
        "nb_visits": {"name": "Visits", "min": 0, "max": 1},
        "nb_uniq_visitors": {"name": "Unique visitors", "min": 0, "max": 1},
        "nb_actions": {"name": "Actions", "min": 0, "max": 1},
        "nb_users": {"name": "Users"},
        "nb_actions_per_visit": {"name": "Actions per Visit", "min": 0, "max": 1},
        "avg_time_on_site": {"name": "Avg. Time on Website", "min": 0, "max": 365},
        "bounce_rate": {"name": "Bounce Rate", "min": 0, "max": 100}
    })
}

fn visit_columns() -> Value {
    json!({
        "nb_visits": "Visits",
        "nb_uniq_visitors": "Unique visitors",
        "nb_actions": "Actions",
        "nb_users": "Users",
        "nb_actions_per_visit": "Actions per Visit",
        "avg_time_on_site": "Avg. Time on Website",
        "bounce_rate": "Bounce Rate"
    })
}

/// The days of 2010-02-06..2010-03-06 mapped to `row` on the days `d`
/// (days before the last) where `on(d)`, `[]` elsewhere.
fn days_with(on: impl Fn(i64) -> bool, row: &Value) -> Value {
    let mut map = serde_json::Map::new();
    for days in (0..=28).rev() {
        let value = if on(days) { json!([row]) } else { json!([]) };
        map.insert(day(days), value);
    }
    Value::Object(map)
}

/// Multi-row data of 2010-02-06..2010-03-06: per day, `<column>_<i>` is 1
/// where `on[i](d)`, else 0.
fn multi_days(column: &str, on: &[&dyn Fn(i64) -> bool]) -> Value {
    let mut map = serde_json::Map::new();
    for days in (0..=28).rev() {
        let mut row = serde_json::Map::new();
        for (index, on) in on.iter().enumerate() {
            row.insert(format!("{column}_{index}"), json!(i32::from(on(days))));
        }
        map.insert(day(days), json!([row]));
    }
    Value::Object(map)
}

const WEBSITES: &str = "method=API.getRowEvolution&idSite=1&period=day\
     &date=2010-02-06,2010-03-06&apiModule=Referrers&apiAction=getWebsites&expanded=0";

#[tokio::test]
async fn row_evolution_follows_labels_as_matomo_does() -> anyhow::Result<()> {
    let (db, token) = tracked_site().await?;
    let api = reporting_api(&db)?;
    let t = token.as_str();

    // _referrer1: one website, a visit every fifth day.
    let answer = api_json(&api, t, &format!("{WEBSITES}&label=www.referrer2.com")).await?;
    assert_eq!(
        answer,
        json!({
            "label": "www.referrer2.com",
            "reportData": days_with(|d| d % 5 == 2, &visit_row()),
            "metadata": {"metrics": visit_metrics(), "dimension": "Website"}
        })
    );
    let (status, xml) = raw(
        &api,
        t,
        &format!("{WEBSITES}&label=www.referrer2.com"),
        "xml",
    )
    .await?;
    assert_eq!(status, 200);
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<label>www.referrer2.com</label>\n\
             \t<reportData>\n\t\t<result date=\"2010-02-06\" />\n\t\t<result date=\"2010-02-07\">\n\
             \t\t\t<row>\n\t\t\t\t<nb_uniq_visitors>1</nb_uniq_visitors>\n"
        ),
        "{xml}"
    );
    assert!(
        xml.ends_with(
            "\t\t\t<bounce_rate>\n\t\t\t\t<name>Bounce Rate</name>\n\t\t\t\t<min>0</min>\n\
             \t\t\t\t<max>100</max>\n\t\t\t</bounce_rate>\n\t\t</metrics>\n\
             \t\t<dimension>Website</dimension>\n\t</metadata>\n</result>"
        ),
        "{xml}"
    );

    // _referrer2: a page of a website, through its subtable, named by its
    // URL.
    let path = format!(
        "{}>{}",
        php_urlencode("www.referrer0.com"),
        php_urlencode("theReferrerPage1.html")
    );
    let answer = api_json(&api, t, &format!("{WEBSITES}&label={}", encode(&path))).await?;
    assert_eq!(
        answer,
        json!({
            "label": "referrer0.com/theReferrerPage1.html",
            "reportData": days_with(|d| d % 10 == 5, &visit_row()),
            "metadata": {"metrics": visit_metrics(), "dimension": "Website"}
        })
    );
    // The same row of the flattened report (labelled by host and path, as
    // Matomo's `test_FlattenReports` shows websites).
    let answer = api_json(
        &api,
        t,
        &format!(
            "{WEBSITES}&flat=1&label={}",
            encode("www.referrer0.com/theReferrerPage1.html")
        ),
    )
    .await?;
    assert_eq!(
        answer["label"],
        json!("referrer0.com/theReferrerPage1.html")
    );
    assert_eq!(
        answer["reportData"],
        days_with(|d| d % 10 == 5, &visit_row())
    );

    // _referrerMulti1: that page and a website.
    let labels = format!("{path},{}", php_urlencode("www.referrer2.com"));
    let answer = api_json(&api, t, &format!("{WEBSITES}&label={}", encode(&labels))).await?;
    assert_eq!(
        answer,
        json!({
            "column": "nb_visits",
            "reportData": multi_days("nb_visits", &[&|d: i64| d % 10 == 5, &|d: i64| d % 5 == 2]),
            "metadata": {
                "metrics": {
                    "nb_visits_0": {
                        "name": "referrer0.com/theReferrerPage1.html (Visits)",
                        "min": 0,
                        "max": 1
                    },
                    "nb_visits_1": {"name": "www.referrer2.com (Visits)", "min": 0, "max": 1}
                },
                "dimension": "Website",
                "columns": visit_columns()
            }
        })
    );
    // Another column, and the legend without it.
    let answer = api_json(
        &api,
        t,
        &format!(
            "{WEBSITES}&label={}&column=avg_time_on_site&legendAppendMetric=0",
            encode(&labels)
        ),
    )
    .await?;
    assert_eq!(answer["column"], json!("avg_time_on_site"));
    assert_eq!(
        answer["reportData"][day(27)],
        json!([{"avg_time_on_site_0": 0, "avg_time_on_site_1": 365}])
    );
    assert_eq!(
        answer["metadata"]["metrics"]["avg_time_on_site_1"],
        json!({"name": "www.referrer2.com", "min": 0, "max": 365})
    );

    // _multiWithFilterLimit: no label, the first three met.
    let answer = api_json(
        &api,
        t,
        "method=API.getRowEvolution&idSite=1&period=day&date=2010-03-01,2010-03-06\
         &apiModule=Referrers&apiAction=getWebsites&filter_limit=3",
    )
    .await?;
    assert_eq!(
        answer["reportData"],
        json!({
            "2010-03-01": [{"nb_visits_0": 1, "nb_visits_1": 0, "nb_visits_2": 0}],
            "2010-03-02": [{"nb_visits_0": 0, "nb_visits_1": 1, "nb_visits_2": 0}],
            "2010-03-03": [{"nb_visits_0": 0, "nb_visits_1": 0, "nb_visits_2": 1}],
            "2010-03-04": [{"nb_visits_0": 0, "nb_visits_1": 0, "nb_visits_2": 0}],
            "2010-03-05": [{"nb_visits_0": 0, "nb_visits_1": 0, "nb_visits_2": 0}],
            "2010-03-06": [{"nb_visits_0": 1, "nb_visits_1": 0, "nb_visits_2": 0}]
        })
    );
    assert_eq!(
        answer["metadata"]["metrics"],
        json!({
            "nb_visits_0": {"name": "www.referrer0.com (Visits)", "min": 0, "max": 1, "change": "+0%"},
            "nb_visits_1": {"name": "www.referrer4.com (Visits)", "min": 0, "max": 1},
            "nb_visits_2": {"name": "www.referrer3.com (Visits)", "min": 0, "max": 1}
        })
    );

    // CSV and TSV flatten the array into one row, keys joined by `_`, as
    // Matomo's CSV renderer does with arrays (periods without a row leave
    // no column).
    for (format, separator) in [("csv", ","), ("tsv", "\t")] {
        let (status, body) = raw(
            &api,
            t,
            &format!("{WEBSITES}&label=www.referrer2.com"),
            format,
        )
        .await?;
        assert_eq!(status, 200, "{body}");
        let (header, row) = body.split_once('\n').unwrap_or_default();
        let header: Vec<&str> = header.split(separator).collect();
        let row: Vec<&str> = row.split(separator).collect();
        assert_eq!(header.len(), 1 + 6 * 7 + 19 + 1, "{body}");
        assert_eq!(header.len(), row.len(), "{body}");
        assert_eq!(
            header[..3],
            [
                "label",
                "reportData_2010-02-07_0_nb_uniq_visitors",
                "reportData_2010-02-07_0_nb_visits"
            ]
        );
        assert_eq!(
            header[header.len() - 4..],
            [
                "metadata_metrics_bounce_rate_name",
                "metadata_metrics_bounce_rate_min",
                "metadata_metrics_bounce_rate_max",
                "metadata_dimension"
            ]
        );
        assert_eq!(
            row[..9],
            [
                "www.referrer2.com",
                "1",
                "1",
                "1",
                "0",
                "1",
                "365",
                "100%",
                "1"
            ]
        );
        assert_eq!(row[row.len() - 4..], ["Bounce Rate", "0", "100", "Website"]);
    }

    // _multiWithNoData: no label and no data.
    let answer = api_json(
        &api,
        t,
        "method=API.getRowEvolution&idSite=1&period=day&date=2010-04-01,2010-04-06\
         &apiModule=Referrers&apiAction=getWebsites",
    )
    .await?;
    assert_eq!(
        answer,
        json!({
            "column": "nb_visits",
            "reportData": {
                "2010-04-01": [], "2010-04-02": [], "2010-04-03": [],
                "2010-04-04": [], "2010-04-05": [], "2010-04-06": []
            },
            "metadata": {"metrics": [], "dimension": "Website", "columns": visit_columns()}
        })
    );
    Ok(())
}

#[tokio::test]
async fn row_evolution_finds_labels_with_reserved_characters() -> anyhow::Result<()> {
    let (db, token) = tracked_site().await?;
    let api = reporting_api(&db)?;
    let t = token.as_str();
    let keywords = "method=API.getRowEvolution&idSite=1&period=day\
         &date=2010-02-06,2010-03-06&apiModule=Referrers&expanded=0";

    // _LabelReservedCharacters: keywords holding `>` and `,`.
    let labels = format!(
        "{},{}",
        php_urlencode(KEYWORDS[0]),
        php_urlencode(KEYWORDS[1])
    );
    let query = format!("{keywords}&apiAction=getKeywords&label={}", encode(&labels));
    let answer = api_json(&api, t, &query).await?;
    assert_eq!(
        answer["reportData"],
        multi_days("nb_visits", &[&|d: i64| d % 3 == 0, &|d: i64| d % 3 == 1])
    );
    assert_eq!(
        answer["metadata"]["metrics"],
        json!({
            "nb_visits_0": {"name": "free > proprietary (Visits)", "min": 0, "max": 1},
            "nb_visits_1": {
                "name": "peace \",\" not war (Visits)",
                "min": 0,
                "max": 1,
                "change": "-100%"
            }
        })
    );
    assert_eq!(answer["metadata"]["dimension"], json!("Keyword"));
    let (_, xml) = raw(&api, t, &query, "xml").await?;
    assert!(
        xml.contains("<name>free &gt; proprietary (Visits)</name>"),
        "{xml}"
    );
    assert!(
        xml.contains("<name>peace &quot;,&quot; not war (Visits)</name>"),
        "{xml}"
    );

    // _LabelReservedCharactersHierarchical: keywords under Google (as
    // stored, lower case), and Google itself with its logo; filter_limit
    // does not limit asked labels.
    let mut labels: Vec<String> = KEYWORDS
        .iter()
        .map(|keyword| format!("Google>{}", php_urlencode(&keyword.to_lowercase())))
        .collect();
    labels.push("Google".to_owned());
    let query = format!(
        "{keywords}&apiAction=getSearchEngines&filter_limit=1&label={}",
        encode(&labels.join(","))
    );
    let answer = api_json(&api, t, &query).await?;
    assert_eq!(
        answer["reportData"],
        multi_days(
            "nb_visits",
            &[
                &|d: i64| d % 3 == 0,
                &|d: i64| d % 3 == 1,
                &|d: i64| d % 3 == 2,
                &|_: i64| true
            ]
        )
    );
    assert_eq!(
        answer["metadata"]["metrics"],
        json!({
            "nb_visits_0": {"name": "Google - free > proprietary (Visits)", "min": 0, "max": 1},
            "nb_visits_1": {
                "name": "Google - peace \",\" not war (Visits)",
                "min": 0,
                "max": 1,
                "change": "-100%"
            },
            "nb_visits_2": {
                "name": "Google - justice )(&^#%$ not '\" corruption! (Visits)",
                "min": 0,
                "max": 1
            },
            "nb_visits_3": {
                "name": "Google (Visits)",
                "logo": "plugins/Morpheus/icons/dist/searchEngines/google.com.png",
                "min": 1,
                "max": 1,
                "change": "+0%"
            }
        })
    );
    assert_eq!(answer["metadata"]["dimension"], json!("Search Engine"));
    let (_, xml) = raw(&api, t, &query, "xml").await?;
    assert!(
        xml.contains("<name>Google - justice )(&amp;^#%$ not '&quot; corruption! (Visits)</name>"),
        "{xml}"
    );

    // _multipleDates_lastNoData: months, no label, the last month empty.
    let answer = api_json(
        &api,
        t,
        "method=API.getRowEvolution&idSite=1&period=month&date=2010-02-01,2010-04-08\
         &apiModule=Referrers&apiAction=getKeywords",
    )
    .await?;
    let metrics = &answer["metadata"]["metrics"];
    let names: Vec<&str> = ["nb_visits_0", "nb_visits_1", "nb_visits_2"]
        .iter()
        .map(|key| metrics[key]["name"].as_str().unwrap_or(""))
        .collect();
    // February's order: by visits, the 8-visit tie in stored order.
    assert_eq!(
        names,
        [
            "free > proprietary (Visits)",
            "justice )(&^#%$ not '\" corruption! (Visits)",
            "peace \",\" not war (Visits)"
        ]
    );
    assert_eq!(
        answer["reportData"],
        json!({
            "2010-02": [{"nb_visits_0": 9, "nb_visits_1": 8, "nb_visits_2": 8}],
            "2010-03": [{"nb_visits_0": 2, "nb_visits_1": 2, "nb_visits_2": 2}],
            "2010-04": [{"nb_visits_0": 0, "nb_visits_1": 0, "nb_visits_2": 0}]
        })
    );
    assert_eq!(
        metrics["nb_visits_0"],
        json!({"name": names[0], "min": 0, "max": 9, "change": "-100%"})
    );
    assert_eq!(
        metrics["nb_visits_2"],
        json!({"name": names[2], "min": 0, "max": 8, "change": "-100%"})
    );
    assert_eq!(
        answer["metadata"]["columns"],
        json!({
            "nb_visits": "Visits",
            "nb_uniq_visitors": "Unique visitors",
            "nb_actions": "Actions",
            "nb_users": "Users",
            "nb_actions_per_visit": "Actions per Visit",
            "avg_time_on_site": "Avg. Time on Website",
            "bounce_rate": "Bounce Rate"
        })
    );
    Ok(())
}

#[tokio::test]
async fn row_evolution_of_pages_and_goals() -> anyhow::Result<()> {
    let (db, token) = tracked_site().await?;
    let api = reporting_api(&db)?;
    let t = token.as_str();
    let titles = "method=API.getRowEvolution&idSite=1&date=2010-02-06,2010-03-06\
         &apiModule=Actions&apiAction=getPageTitles&filter_limit=1";

    // _pageTitles (day): a title viewed every third day.
    let answer = api_json(
        &api,
        t,
        &format!("{titles}&period=day&label={}", encode("incredible title 0")),
    )
    .await?;
    assert_eq!(answer["label"], json!("incredible title 0"));
    let page = json!({
        "nb_visits": 1,
        "nb_hits": 1,
        "bounce_rate": "100%",
        "avg_time_on_page": 0,
        "exit_rate": "100%"
    });
    assert_eq!(answer["reportData"], days_with(|d| d % 3 == 0, &page));
    let metrics = &answer["metadata"]["metrics"];
    assert_eq!(
        metrics["nb_hits"],
        json!({"name": "Pageviews", "min": 0, "max": 1})
    );
    assert_eq!(
        metrics["avg_time_on_page"],
        json!({"name": "Avg. time on page"})
    );
    assert_eq!(
        metrics["exit_rate"],
        json!({"name": "Exit rate", "min": 0, "max": 100})
    );

    // _pageTitles (week).
    let answer = api_json(
        &api,
        t,
        &format!(
            "{titles}&period=week&label={}",
            encode("incredible title 0")
        ),
    )
    .await?;
    let week = |hits: i64| {
        json!([{
            "nb_visits": hits,
            "nb_hits": hits,
            "bounce_rate": "100%",
            "avg_time_on_page": 0,
            "exit_rate": "100%"
        }])
    };
    assert_eq!(
        answer["reportData"],
        json!({
            "2010-02-01,2010-02-07": week(2),
            "2010-02-08,2010-02-14": week(2),
            "2010-02-15,2010-02-21": week(2),
            "2010-02-22,2010-02-28": week(3),
            "2010-03-01,2010-03-07": week(2)
        })
    );
    assert_eq!(
        answer["metadata"]["metrics"]["nb_hits"],
        json!({"name": "Pageviews", "min": 2, "max": 3, "change": "+0%"})
    );
    assert_eq!(
        answer["metadata"]["metrics"]["bounce_rate"],
        json!({"name": "Bounce Rate", "min": 100, "max": 100, "change": "+0%"})
    );

    // _pageTitlesMulti (week).
    let labels = format!(
        "{},{}",
        php_urlencode("incredible title 0"),
        php_urlencode("incredible title 2")
    );
    let answer = api_json(
        &api,
        t,
        &format!("{titles}&period=week&label={}", encode(&labels)),
    )
    .await?;
    assert_eq!(answer["column"], json!("nb_hits"));
    assert_eq!(
        answer["metadata"]["metrics"],
        json!({
            "nb_hits_0": {
                "name": "incredible title 0 (Pageviews)",
                "min": 2,
                "max": 3,
                "change": "+0%"
            },
            "nb_hits_1": {
                "name": "incredible title 2 (Pageviews)",
                "min": 1,
                "max": 3,
                "change": "+100%"
            }
        })
    );

    // _entryPageTitles.
    let answer = api_json(
        &api,
        t,
        &format!(
            "method=API.getRowEvolution&idSite=1&period=day&date=2010-02-06,2010-03-06\
             &apiModule=Actions&apiAction=getEntryPageTitles&label={}",
            encode("incredible title 0")
        ),
    )
    .await?;
    assert_eq!(answer["label"], json!("incredible title 0"));
    assert_eq!(
        answer["reportData"],
        days_with(
            |d| d % 3 == 0,
            &json!({"entry_nb_visits": 1, "entry_bounce_count": 1, "bounce_rate": "100%"})
        )
    );
    assert_eq!(
        answer["metadata"]["metrics"]["entry_nb_visits"],
        json!({"name": "Entrances", "min": 0, "max": 1})
    );

    // _pageUrls: a range is evolved day by day; the page is named by its
    // URL.
    let path = format!("my>dir>{}", php_urlencode("/page3?foo=bar&baz=bar"));
    let answer = api_json(
        &api,
        t,
        &format!(
            "method=API.getRowEvolution&idSite=1&period=range&date=2010-03-01,2010-03-06\
             &apiModule=Actions&apiAction=getPageUrls&label={}",
            encode(&path)
        ),
    )
    .await?;
    assert_eq!(
        answer["label"],
        json!("example.org/my/dir/page3?foo=bar&baz=bar")
    );
    assert_eq!(
        answer["reportData"],
        json!({
            "2010-03-01": [],
            "2010-03-02": [],
            "2010-03-03": [{
                "nb_visits": 2,
                "nb_hits": 2,
                "bounce_rate": "100%",
                "avg_time_on_page": 0,
                "exit_rate": "100%"
            }],
            "2010-03-04": [],
            "2010-03-05": [],
            "2010-03-06": []
        })
    );
    assert_eq!(answer["metadata"]["dimension"], json!("Page URL"));
    // Without the URL the path is shown on the site's host.
    let answer = api_json(
        &api,
        t,
        &format!(
            "method=API.getRowEvolution&idSite=1&period=day&date=2010-03-01,2010-03-06\
             &apiModule=Actions&apiAction=getPageUrls&labelUseAbsoluteUrl=0&label={}",
            encode(&path)
        ),
    )
    .await?;
    assert_eq!(
        answer["label"],
        json!("piwik.net/my/dir//page3?foo=bar&baz=bar/")
    );

    // _processedRowLabel and _mobileDesktop (Matomo's site 2 mixes
    // Firefox and Opera; here both visits of a day are Firefox on a
    // desktop): presented labels, their logos, no data for the others.
    let devices = "method=API.getRowEvolution&idSite=1&period=day&date=2010-03-01,2010-03-06\
         &apiModule=DevicesDetection";
    let answer = api_json(
        &api,
        t,
        &format!("{devices}&apiAction=getBrowsers&label=Firefox,Chrome,Opera"),
    )
    .await?;
    assert_eq!(
        answer["reportData"]["2010-03-04"],
        json!([{"nb_visits_0": 2, "nb_visits_1": 0, "nb_visits_2": 0}])
    );
    assert_eq!(
        answer["metadata"]["metrics"],
        json!({
            "nb_visits_0": {
                "name": "Firefox (Visits)",
                "logo": "plugins/Morpheus/icons/dist/browsers/FF.png",
                "min": 2,
                "max": 2,
                "change": "+0%"
            },
            "nb_visits_1": {"name": "Chrome (Visits)"},
            "nb_visits_2": {"name": "Opera (Visits)"}
        })
    );
    assert_eq!(answer["metadata"]["dimension"], json!("Browser"));
    let answer = api_json(
        &api,
        t,
        &format!("{devices}&apiAction=getType&label=Desktop,Mobile"),
    )
    .await?;
    assert_eq!(
        answer["metadata"]["metrics"],
        json!({
            "nb_visits_0": {
                "name": "Desktop (Visits)",
                "logo": "plugins/Morpheus/icons/dist/devices/desktop.png",
                "min": 2,
                "max": 2,
                "change": "+0%"
            },
            "nb_visits_1": {"name": "Mobile (Visits)"}
        })
    );
    assert_eq!(answer["metadata"]["dimension"], json!("Device type"));

    // _goals_visitsUntilConversion: goal 2, converted twice on each first
    // visit.
    let goals = "method=API.getRowEvolution&idSite=1&period=day&date=2010-02-06,2010-03-06\
         &apiModule=Goals&apiAction=getVisitsUntilConversion&idGoal=2";
    let answer = api_json(
        &api,
        t,
        &format!("{goals}&label={}", encode("1 visit, 2 visits")),
    )
    .await?;
    let mut map = serde_json::Map::new();
    for days in (0..=28).rev() {
        map.insert(
            day(days),
            json!([{"nb_conversions_0": 2, "nb_conversions_1": 0}]),
        );
    }
    assert_eq!(
        answer,
        json!({
            "column": "nb_conversions",
            "reportData": Value::Object(map.clone()),
            "metadata": {
                "metrics": {
                    "nb_conversions_0": {
                        "name": "1 visit (Conversions)",
                        "min": 2,
                        "max": 2,
                        "change": "+0%"
                    },
                    "nb_conversions_1": {"name": " 2 visits (Conversions)"}
                },
                "dimension": "Visits to Conversion",
                "columns": {"nb_conversions": "Conversions"}
            }
        })
    );
    // _goals_visitsUntilConversion_WithoutLabels: the first two labels
    // by conversions.
    let answer = api_json(
        &api,
        t,
        &format!("{goals}&filter_limit=2&filter_sort_column=nb_conversions"),
    )
    .await?;
    assert_eq!(answer["reportData"], Value::Object(map));
    assert_eq!(
        answer["metadata"]["metrics"]["nb_conversions_1"],
        json!({"name": "2 visits (Conversions)"})
    );
    Ok(())
}

#[tokio::test]
async fn row_evolution_refuses_what_matomo_refuses() -> anyhow::Result<()> {
    let (db, token) = tracked_site().await?;
    let api = reporting_api(&db)?;
    let t = token.as_str();

    let (status, body) = raw(
        &api,
        t,
        "method=API.getRowEvolution&idSite=1&period=day&date=2010-02-06,2010-03-06",
        "json",
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body)?,
        json!({"result": "error", "message": "Please specify a value for 'apiModule'."})
    );

    let (status, body) = raw(
        &api,
        t,
        "method=API.getRowEvolution&idSite=1&period=day&date=2010-02-06,2010-03-06\
         &apiModule=Referrers&apiAction=getNothing&label=x",
        "json",
    )
    .await?;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body)?,
        json!({
            "result": "error",
            "message": "Requested report Referrers.getNothing for Website id=1 not found in the list of available reports."
        })
    );

    // test_apiGetReportMetadata__API.getRowEvolution_day: one day.
    let (_, xml) = raw(
        &api,
        t,
        "method=API.getRowEvolution&idSite=1&period=day&date=2010-02-06\
         &apiModule=Referrers&apiAction=getWebsites&label=x",
        "xml",
    )
    .await?;
    assert!(
        xml.contains(
            "Row evolutions can not be processed with this combination of \\'date\\' and \\'period\\' parameters."
        ),
        "{xml}"
    );

    let (_, body) = raw(
        &api,
        t,
        "method=API.getRowEvolution&idSite=1&period=day&date=2010-02-06,2010-03-06\
         &apiModule=VisitsSummary&apiAction=get",
        "json",
    )
    .await?;
    assert_eq!(
        serde_json::from_str::<Value>(&body)?["message"],
        json!(
            "Reports like VisitsSummary.get which do not have a dimension are not supported by row evolution"
        )
    );

    // Another site's data needs access to it.
    let (status, _) = raw(
        &api,
        "anonymous",
        "method=API.getRowEvolution&idSite=1&period=day&date=2010-02-06,2010-03-06\
         &apiModule=Referrers&apiAction=getWebsites",
        "json",
    )
    .await?;
    assert_eq!(status, 401);
    Ok(())
}
