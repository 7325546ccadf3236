//! Matomo's system tests of the `label` and `flat` parameters, their
//! fixtures' traffic sent as the PHP tracker sends it and our answers
//! checked against the values of Matomo's expected outputs (written here
//! by hand):
//!
//! - `LabelFilterTest` (fixture `OneVisitSeveralPageViews`): one visit of
//!   nine actions, rows picked by `label` paths (`dir>/file.php…`), the
//!   `@` terminal operator, page titles' leading blank, keywords with HTML
//!   characters, and page timings sent again with an event (which update
//!   the page view they name).
//! - `FlattenReportsTest` (fixture `ManyVisitsWithSubDirReferrersAndCustomVars`):
//!   `flat=1` with and without `include_aggregate_rows`, each row's
//!   dimension metadata (`Actions_PageUrl`, `Referrers_WebsitePage`).
//!
//! Matomo's system tests pass `hideIdSubDatable=1`; so do these. Where
//! Matomo's outputs differ for reasons listed in docs/MATOMO-DIFFERENCES.md
//! (the Bandwidth plugin's columns, `visit_total_time` never decreasing,
//! its dimension-less `Referrers.getWebsites`), the tests check the rest.
//! The test's `action_title_category_delimiter = "/"` (an `[archiver]` key
//! here) is set only where its page title outputs are checked.

use axum::Router;
use serde_json::{Value, json};
use tally_reporting::Api;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{NOW, encode, matomo_site, reporting_api, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// The Reporting API of one fixture.
struct Reports {
    api: Api,
    token: String,
}

impl Reports {
    /// `module=API&<query>&hideIdSubDatable=1` with the token, which must
    /// answer 200.
    async fn get(&self, query: &str) -> anyhow::Result<String> {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&{query}&hideIdSubDatable=1&token_auth={}",
                self.token
            ),
            None,
        );
        let api = self.api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        let body = String::from_utf8(answer.body)?;
        anyhow::ensure!(answer.status == 200, "{query}: {} {body}", answer.status);
        Ok(body)
    }

    async fn json(&self, query: &str) -> anyhow::Result<Value> {
        Ok(serde_json::from_str(
            &self.get(&format!("{query}&format=json")).await?,
        )?)
    }
}

/// `setForceVisitDateTime` `hours` after `start`, as a date string.
fn at_hours(start: PrimitiveDateTime, hours: f64) -> At {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    At::Datetime(start + Duration::seconds(seconds))
}

/// The rows of a JSON table answer.
fn rows(answer: &Value) -> &[Value] {
    answer.as_array().map_or(&[], Vec::as_slice)
}

// ---------------------------------------------------------------------------
// LabelFilterTest

const LABELS_START: PrimitiveDateTime = datetime!(2010-03-06 11:22:33);
const LABELS_DAY: &str = "idSite=1&period=day&date=2010-03-06&expanded=0";

/// One request of the fixture: hours after the start, URL, page timings,
/// and the page title (`None`: the event).
type Hit<'a> = (f64, &'a str, Option<[u32; 6]>, Option<&'a str>);

async fn one_visit_several_page_views() -> anyhow::Result<(Reports, tally_db::test_support::TestDb)>
{
    let (db, token) = matomo_site(LABELS_START, |_| {}, &[])?;
    // The test's `action_title_category_delimiter = "/"` also makes
    // Matomo's tracker trim the parts of each title around it.
    let tracking = tally_tracking::http::TrackerConfig {
        title_category_delimiter: "/".to_owned(),
        ..tally_tracking::http::TrackerConfig::default()
    };
    let router: Router = tracker_routes(&db, &tracking)?;
    let start = LABELS_START;
    let mut t = PhpTracker::new(1, &token, "5e1f0a2b3c4d5e6f", start);
    t.referrer = "http://www.google.com.vn/url?sa=t&rct=j&q=%3C%3E%26%5C%22the%20pdo%20extension%20is%20required%20for%20this%20adapter%20but%20the%20extension%20is%20not%20loaded&source=web&cd=4&ved=0FjAD&url=http%3A%2F%2Fforum.piwik.org%2Fread.php%3F2%2C1011&ei=y-HHAQ&usg=AFQjCN2-nt5_GgDeg&cad=rja".to_owned();
    let hits: [Hit<'_>; 9] = [
        (
            0.0,
            "http://example.org/%C3%A9%C3%A9%C3%A9%22%27...%20%3Cthis%20is%20cool%3E!",
            Some([43, 210, 350, 390, 211, 99]),
            Some("incredible title! <>,;"),
        ),
        (
            0.2,
            "http://example.org/dir/file.php?foo=bar&foo2=bar",
            Some([0, 196, 299, 344, 165, 120]),
            Some("incredible title! <>,;"),
        ),
        (
            0.3,
            "http://example.org/dir/file.php?foo=bar&foo2=bar2",
            Some([25, 599, 299, 566, 105, 0]),
            Some("incredible parent title! <>,; / subtitle <>,;"),
        ),
        // An event with the same page view id and new timings.
        (
            0.31,
            "http://example.org/dir/file.php?foo=bar&foo2=bar2",
            Some([89, 785, 254, 385, 188, 60]),
            None,
        ),
        (
            0.4,
            "http://example.org/dir2/file.php?foo=bar&foo2=bar",
            Some([112, 221, 335, 448, 226, 11]),
            Some("incredible title! <>,;"),
        ),
        (
            0.4,
            "http://example.org/dir2/sub/0/file.php",
            None,
            Some("incredible title! <>,;"),
        ),
        (
            0.41,
            "http://example.org/dir/subdir/",
            Some([250, 212, 699, 245, 196, 120]),
            Some("check <> / @one@ / two"),
        ),
        (
            0.42,
            "http://example.org/dir/subdir",
            Some([23, 63, 56, 288, 166, 55]),
            Some("check <> / @one@"),
        ),
        (
            0.4,
            "http://example.org/0",
            Some([0, 163, 255, 157, 275, 212]),
            Some("I am URL zero!"),
        ),
    ];
    for (hours, url, timings, title) in hits {
        if hours > 0.0 {
            t.at = at_hours(start, hours);
        }
        url.clone_into(&mut t.url);
        if let Some(timings) = timings {
            t.set_timings(timings);
        }
        let query = match title {
            Some(title) => t.page_view(title),
            None => t.event("Category", "Action", Some("Name"), Some(11111.0)),
        };
        t.ok(&router, &query).await?;
    }
    let reports = Reports {
        api: reporting_api(&db)?,
        token,
    };
    Ok((reports, db))
}

/// `test_LabelFilter_dir__…` and `_dir_range__…`: the folder row alone
/// (no `idsubdatatable` under `hideIdSubDatable=1`), its timings those of
/// its four page views, the third's replaced by the timings its event sent
/// (`max_time_server` 0.785, `min_time_on_load` 0.055).
#[tokio::test]
async fn label_picks_a_folder_with_timings_updated_by_an_event() -> anyhow::Result<()> {
    let (r, _db) = one_visit_several_page_views().await?;
    let folder = json!({
        "label": "dir", "nb_visits": 4, "nb_hits": 4, "sum_time_spent": 720,
        "max_time_server": "0.7850", "min_time_dom_completion": "0.1650",
        "min_time_on_load": "0.0550", "avg_time_network": 0.091,
        "avg_time_server": 0.314, "avg_time_transfer": 0.327,
        "avg_time_dom_processing": 0.316, "avg_time_dom_completion": 0.179,
        "avg_time_on_load": 0.089, "avg_page_load_time": 1.316,
        "avg_time_on_page": 180,
        "segment": "pageUrl=^http%253A%252F%252Fpiwik.net%252Fdir",
    });
    let check = |row: &Value| {
        for (name, value) in folder.as_object().into_iter().flatten() {
            assert_eq!(&row[name], value, "{name} of {row}");
        }
        assert!(row.get("idsubdatatable").is_none(), "{row}");
        assert!(row.get("subtable").is_none(), "{row}");
    };
    let day = r
        .json(&format!(
            "method=Actions.getPageUrls&{LABELS_DAY}&label={}",
            encode("  dir   ")
        ))
        .await?;
    assert_eq!(rows(&day).len(), 1, "{day}");
    check(&rows(&day)[0]);
    // Over three days: the same row on the first, nothing on the others.
    let days = r
        .json("method=Actions.getPageUrls&idSite=1&period=day&date=2010-03-06,2010-03-08&label=dir&expanded=0")
        .await?;
    check(&rows(&days["2010-03-06"])[0]);
    assert_eq!(
        (&days["2010-03-07"], &days["2010-03-08"]),
        (&json!([]), &json!([]))
    );
    // Unknown labels, at the top and below a folder, answer nothing.
    for label in ["nonExistent", "dir%3EnonExistent"] {
        let none = r
            .json(&format!(
                "method=Actions.getPageUrls&{LABELS_DAY}&label={label}"
            ))
            .await?;
        assert_eq!(none, json!([]), "{label}");
    }
    Ok(())
}

/// `test_LabelFilter_dirfilephpfoobarfoo2bar__…`, `_dir2sub0filephp__…`,
/// `_0__…`, `_terminalOperator_selectTerminal__Actions.getPageUrls_day`:
/// rows found in subtables get PagePerformance's averages (Matomo reads each
/// subtable with a request of its own), and `@` asks for the page rather
/// than the folder of the same name.
#[tokio::test]
async fn label_paths_reach_pages_in_folders() -> anyhow::Result<()> {
    let (r, _db) = one_visit_several_page_views().await?;
    let label = |path: &str| encode(path);
    let page = r
        .json(&format!(
            "method=Actions.getPageUrls&{LABELS_DAY}&label={}",
            label(&format!("dir>{}", encode("/file.php?foo=bar&foo2=bar")))
        ))
        .await?;
    let page = &rows(&page)[0];
    assert_eq!(page["label"], "/file.php?foo=bar&foo2=bar");
    assert_eq!(
        (
            &page["avg_time_network"],
            &page["avg_time_server"],
            &page["avg_time_on_load"],
            &page["avg_page_load_time"],
            &page["avg_time_on_page"],
        ),
        (
            &json!(0),
            &json!(0.196),
            &json!(0.12),
            &json!(1.124),
            &json!(360)
        )
    );
    assert_eq!(
        page["url"],
        "http://example.org/dir/file.php?foo=bar&foo2=bar"
    );
    assert!(page.get("sum_time_server").is_none(), "{page}");

    // Four levels down, a page without timings: a load time of 0 and no
    // per-timing average.
    let deep = r
        .json(&format!(
            "method=Actions.getPageUrls&{LABELS_DAY}&label={}",
            label(&format!("dir2>sub>0>{}", encode("/file.php")))
        ))
        .await?;
    let deep = &rows(&deep)[0];
    assert_eq!(
        (
            &deep["label"],
            &deep["nb_hits"],
            &deep["sum_time_spent"],
            &deep["avg_page_load_time"]
        ),
        (&json!("/file.php"), &json!(1), &json!(36), &json!(0))
    );
    assert!(deep.get("avg_time_network").is_none(), "{deep}");

    let zero = r
        .json(&format!(
            "method=Actions.getPageUrls&{LABELS_DAY}&label={}",
            label("/0")
        ))
        .await?;
    assert_eq!(rows(&zero)[0]["url"], "http://example.org/0");

    // `/dir/subdir/` is the folder `subdir`, `/dir/subdir` the page
    // `/subdir`; `@` picks the page.
    let terminal = r
        .json(&format!(
            "method=Actions.getPageUrls&{LABELS_DAY}&label={}",
            label("dir> @ /subdir")
        ))
        .await?;
    let terminal = &rows(&terminal)[0];
    assert_eq!(
        (
            &terminal["label"],
            &terminal["url"],
            &terminal["max_time_server"]
        ),
        (
            &json!("/subdir"),
            &json!("http://example.org/dir/subdir"),
            &json!("0.0630")
        )
    );
    Ok(())
}

/// `test_LabelFilter_thisiscool__Actions.getPageUrls_day.xml`: the entry
/// page's visit lasts 1441 s. The fixture's last request is tracked at an
/// earlier time than the one before it, and Matomo's visit length is what
/// each request sets (1 + its time - the first action's), not the longest.
#[tokio::test]
async fn the_last_request_sets_the_visit_length() -> anyhow::Result<()> {
    let (r, _db) = one_visit_several_page_views().await?;
    let pages = r
        .json(&format!("method=Actions.getPageUrls&{LABELS_DAY}&flat=1"))
        .await?;
    let entry = rows(&pages)
        .iter()
        .find(|row| row["entry_nb_visits"] == json!(1))
        .ok_or_else(|| anyhow::anyhow!("no entry page in {pages}"))?;
    assert_eq!(
        (
            &entry["label"],
            &entry["entry_nb_actions"],
            &entry["entry_sum_visit_length"]
        ),
        (
            // Escaped as the tracker stored it, as in Matomo's JSON.
            &json!("/ééé\"'... <this is cool>!"),
            &json!(9),
            &json!(1441)
        )
    );
    Ok(())
}

/// `test_LabelFilter_titles__Actions.getPageTitles_day.xml`: titles are
/// stored with a leading blank, which the label need not give; the label
/// filter ignores `filter_limit` and `filter_truncate`.
#[tokio::test]
async fn label_finds_titles_without_their_blank() -> anyhow::Result<()> {
    let (r, _db) = one_visit_several_page_views().await?;
    for extra in ["", "&filter_limit=1&filter_truncate=1"] {
        let titles = r
            .get(&format!(
                "method=Actions.getPageTitles&{LABELS_DAY}&label={}{extra}&format=xml&showColumns=nb_visits,nb_hits",
                encode("incredible title! <>,;")
            ))
            .await?;
        assert_eq!(
            titles,
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\
             \t\t<label> incredible title! &lt;&gt;,;</label>\n\
             \t\t<nb_visits>1</nb_visits>\n\t\t<nb_hits>4</nb_hits>\n\
             \t\t<segment>pageTitle==incredible%2Btitle%2521%2B%2526lt%253B%2526gt%253B%252C%253B</segment>\n\
             \t</row>\n</result>",
            "{extra}"
        );
    }
    Ok(())
}

/// `LabelFilterTest` sets `action_title_category_delimiter = "/"`: titles
/// are split into title folders, as its three page title outputs expect
/// (`_titlesRecursive`, `_terminalOperator_selectBranch` and
/// `_selectTerminal`), and `Actions.getPageTitle` follows the split.
#[tokio::test]
async fn titles_split_on_the_category_delimiter() -> anyhow::Result<()> {
    let (unsplit, db) = one_visit_several_page_views().await?;
    let config = tally_archiving::ArchivingConfig {
        action_title_category_delimiter: "/".to_owned(),
        ..tally_archiving::ArchivingConfig::default()
    };
    let r = Reports {
        api: Api::new(
            db.pool()?,
            tally_archiving::Registry::core_with(&config),
            config,
            tally_reporting::ReportingConfig::default(),
        ),
        token: unsplit.token,
    };
    let picked = |answer: &Value| -> Vec<String> {
        rows(answer)
            .iter()
            .map(|row| format!("{} {} {}", row["label"], row["nb_visits"], row["nb_hits"]))
            .collect()
    };
    let titles = |label: String| {
        format!(
            "method=Actions.getPageTitles&{LABELS_DAY}&label={}",
            encode(&label)
        )
    };
    // Blanks before the first label are trimmed; the page is ` subtitle`.
    let recursive = titles(format!(
        "   {}>{}",
        encode("incredible parent title! <>,;"),
        encode("subtitle <>,;")
    ));
    let subtitle = r.json(&recursive).await?;
    assert_eq!(picked(&subtitle), ["\" subtitle <>,;\" 1 1"]);
    // A page's segment holds the title as Matomo's tracker stored it: the
    // parts trimmed around the delimiter (`_titlesRecursive`).
    assert_eq!(
        rows(&subtitle)[0]["segment"],
        "pageTitle==incredible%2Bparent%2Btitle%2521%2B%2526lt%253B%2526gt%253B%252C%253B\
         %252Fsubtitle%2B%2526lt%253B%2526gt%253B%252C%253B"
    );
    // `check <> / @one@ / two` and `check <> / @one@`: the folder `@one@`
    // and, with `@`, the page ` @one@`.
    let branch = titles(format!("{}>  {}", encode("check <>"), encode("@one@")));
    let folder = r.json(&branch).await?;
    assert_eq!(picked(&folder), ["\"@one@\" 1 1"]);
    // The folder's segment names its path (`setFolderPathMetadata`).
    assert_eq!(
        rows(&folder)[0]["segment"],
        "pageTitle=^check%2B%2526lt%253B%2526gt%253B%252F%2540one%2540"
    );
    let terminal = titles(format!("{}> @  {}", encode("check <>"), encode("@one@")));
    let terminal = r.json(&terminal).await?;
    assert_eq!(picked(&terminal), ["\" @one@\" 1 1"]);
    // `_terminalOperator_selectTerminal`: sent as `check <> / @one@`.
    assert_eq!(
        rows(&terminal)[0]["segment"],
        "pageTitle==check%2B%2526lt%253B%2526gt%253B%252F%2540one%2540"
    );
    // A title without the delimiter stays one top-level page.
    let whole = titles("incredible title! <>,;".to_owned());
    assert_eq!(
        picked(&r.json(&whole).await?),
        ["\" incredible title! <>,;\" 1 4"]
    );
    let folders = r
        .json(&format!("method=Actions.getPageTitles&{LABELS_DAY}"))
        .await?;
    let mut top: Vec<String> = rows(&folders)
        .iter()
        .map(|row| row["label"].to_string())
        .collect();
    top.sort();
    assert_eq!(
        top,
        [
            "\" I am URL zero!\"",
            "\" incredible title! <>,;\"",
            "\"check <>\"",
            "\"incredible parent title! <>,;\"",
        ]
    );
    let page = r
        .json(&format!(
            "method=Actions.getPageTitle&{LABELS_DAY}&pageName={}",
            encode("check <> / @one@ / two")
        ))
        .await?;
    assert_eq!(picked(&page), ["\" two\" 1 1"]);
    Ok(())
}

/// `test_LabelFilter_keywords_html__Referrers.getSearchEngines_day.xml`: a
/// keyword with HTML characters, asked escaped or not, found under its
/// engine with the segment and results page that
/// `getKeywordsFromSearchEngineId` gives it.
#[tokio::test]
async fn label_finds_a_keyword_under_its_engine() -> anyhow::Result<()> {
    let (r, _db) = one_visit_several_page_views().await?;
    let keyword = "the pdo extension is required for this adapter but the extension is not loaded";
    for asked in [
        format!("&lt;&gt;&amp;\\&quot;{keyword}"),
        format!("<>&\\\"{keyword}"),
    ] {
        let label = encode(&format!("Google>{}", encode(&asked)));
        let answer = r
            .json(&format!(
                "method=Referrers.getSearchEngines&{LABELS_DAY}&label={label}"
            ))
            .await?;
        let row = &rows(&answer)[0];
        // Labels are escaped (SafeDecodeLabel), and JSON decodes them.
        assert_eq!(row["label"], format!("<>&\\\"{keyword}"), "{asked}");
        assert_eq!(
            (&row["nb_visits"], &row["nb_actions"]),
            (&json!(1), &json!(9))
        );
        let encoded = "%3C%3E%26%5C%22the+pdo+extension+is+required+for+this+adapter+but+the+extension+is+not+loaded";
        assert_eq!(
            row["segment"],
            format!("referrerName==Google;referrerType==search;referrerKeyword=={encoded}")
        );
        assert_eq!(row["url"], format!("http://google.com/search?q={encoded}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// FlattenReportsTest

const FLATTEN_START: PrimitiveDateTime = datetime!(2010-03-05 11:22:33);
const FLATTEN_WEEK: &str = "idSite=1&period=week&date=2010-03-05";

async fn many_visits_with_sub_dir_referrers()
-> anyhow::Result<(Reports, tally_db::test_support::TestDb)> {
    let (db, token) = matomo_site(FLATTEN_START, |_| {}, &[])?;
    let router: Router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut visitor = 0;
    for site in 1..4 {
        for page in 1..3 {
            visitor += 1;
            let at = FLATTEN_START + Duration::hours(i64::from(site * 3 + page));
            let mut t = PhpTracker::new(1, &token, &format!("a1b2c3d4e5f6{visitor:04}"), at);
            t.referrer = format!("http://www.referrer{site}.com/sub/dir/page{page}.html");
            t.set_visit_cvar(1, "CustomVarVisit", json!(format!("CustomVarValue{page}")));
            for p in 0..3 {
                t.url = format!("http://example.org/dir{site}/sub/dir/page{p}.html");
                t.set_page_cvar(1, "CustomVarPage", json!(format!("CustomVarValue{p}")));
                let query = t.page_view("title");
                t.ok(&router, &query).await?;
            }
        }
    }
    let next_day = FLATTEN_START + Duration::hours(24);
    let mut t = PhpTracker::new(1, &token, "a1b2c3d4e5f60007", next_day);
    t.set_visit_cvar(1, "CustomVarVisit", json!("CustomVarValue1"));
    t.url = "http://example.org/sub/dir/dir1/page1.html".to_owned();
    t.set_page_cvar(1, "CustomVarPage", json!("CustomVarValue1"));
    let query = t.page_view("title");
    t.ok(&router, &query).await?;
    let mut t = PhpTracker::new(1, &token, "a1b2c3d4e5f60008", next_day);
    t.url = "http://example.org/page1.html".to_owned();
    let query = t.page_view("title");
    t.ok(&router, &query).await?;
    let reports = Reports {
        api: reporting_api(&db)?,
        token,
    };
    Ok((reports, db))
}

/// `test_FlattenReports__Actions.getPageUrls_week.xml`, `_withAggregate_`
/// and `_flatFilterPatternRecursive_`: every flattened row carries its path
/// as `Actions_PageUrl` (the dimension of every level), between its `url`
/// and its `segment`.
#[tokio::test]
async fn flattened_page_urls_carry_their_dimension() -> anyhow::Result<()> {
    let (r, _db) = many_visits_with_sub_dir_referrers().await?;
    let flat = r
        .json(&format!(
            "method=Actions.getPageUrls&{FLATTEN_WEEK}&flat=1&expanded=0"
        ))
        .await?;
    let labels: Vec<&str> = rows(&flat)
        .iter()
        .filter_map(|row| row["label"].as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "/dir1/sub/dir/page0.html",
            "/dir1/sub/dir/page1.html",
            "/dir1/sub/dir/page2.html",
            "/dir2/sub/dir/page0.html",
            "/dir2/sub/dir/page1.html",
            "/dir2/sub/dir/page2.html",
            "/dir3/sub/dir/page0.html",
            "/dir3/sub/dir/page1.html",
            "/dir3/sub/dir/page2.html",
            "/page1.html",
            "/sub/dir/dir1/page1.html",
        ]
    );
    for row in rows(&flat) {
        assert_eq!(row["Actions_PageUrl"], row["label"], "{row}");
    }
    let xml = r
        .get(&format!(
            "method=Actions.getPageUrls&{FLATTEN_WEEK}&flat=1&expanded=0&format=xml&filter_limit=1&showColumns=nb_hits"
        ))
        .await?;
    assert!(
        xml.contains(
            "\t\t<url>http://example.org/dir1/sub/dir/page0.html</url>\n\
             \t\t<Actions_PageUrl>/dir1/sub/dir/page0.html</Actions_PageUrl>\n\
             \t\t<segment>pageUrl==http%253A%252F%252Fexample.org%252Fdir1%252Fsub%252Fdir%252Fpage0.html</segment>\n"
        ),
        "{xml}"
    );

    let aggregate = r
        .json(&format!(
            "method=Actions.getPageUrls&{FLATTEN_WEEK}&flat=1&include_aggregate_rows=1&expanded=0"
        ))
        .await?;
    assert_eq!(rows(&aggregate).len(), 23);
    let folder = rows(&aggregate)
        .iter()
        .find(|row| row["label"] == "/dir1/sub")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (
            &folder["Actions_PageUrl"],
            &folder["is_aggregate"],
            &folder["nb_hits"],
            &folder["exit_rate"]
        ),
        (&json!("/dir1/sub"), &json!(1), &json!(6), &json!("33%"))
    );

    let filtered = r
        .json(&format!(
            "method=Actions.getPageUrls&{FLATTEN_WEEK}&flat=1&expanded=0&filter_pattern_recursive=dir2/"
        ))
        .await?;
    let dimensions: Vec<&str> = rows(&filtered)
        .iter()
        .filter_map(|row| row["Actions_PageUrl"].as_str())
        .collect();
    assert_eq!(
        dimensions,
        [
            "/dir2/sub/dir/page0.html",
            "/dir2/sub/dir/page1.html",
            "/dir2/sub/dir/page2.html"
        ]
    );
    Ok(())
}

/// `test_FlattenReports__Referrers.getWebsites_day.xml`: each flattened
/// URL names its website and its page. Matomo's test swaps the report for
/// one without a dimension, so its output names the website `label1`;
/// the report's own dimension is `Referrers.Website`.
#[tokio::test]
async fn flattened_websites_name_both_dimensions() -> anyhow::Result<()> {
    let (r, _db) = many_visits_with_sub_dir_referrers().await?;
    let xml = r
        .get("method=Referrers.getWebsites&idSite=1&period=day&date=2010-03-05&flat=1&expanded=0&format=xml")
        .await?;
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\
             \t\t<label>www.referrer1.com/sub/dir/page1.html</label>\n\
             \t\t<nb_uniq_visitors>1</nb_uniq_visitors>\n\t\t<nb_visits>1</nb_visits>\n\
             \t\t<nb_actions>3</nb_actions>\n\t\t<nb_users>0</nb_users>\n\
             \t\t<max_actions>3</max_actions>\n\t\t<sum_visit_length>1</sum_visit_length>\n\
             \t\t<bounce_count>0</bounce_count>\n\t\t<nb_visits_converted>0</nb_visits_converted>\n\
             \t\t<url>http://www.referrer1.com/sub/dir/page1.html</url>\n\
             \t\t<Referrers_Website>www.referrer1.com</Referrers_Website>\n\
             \t\t<Referrers_WebsitePage>sub/dir/page1.html</Referrers_WebsitePage>\n\t</row>\n"
        ),
        "{xml}"
    );
    assert_eq!(xml.matches("<row>").count(), 6);
    Ok(())
}

/// `test_FlattenReports_expandedWithDepth__…` and `_expandedSubtable__…`:
/// without `flat`, expanded tables keep their folders and no dimension
/// metadata; `depth=1` stops below the first level of folders.
#[tokio::test]
async fn expanded_page_urls_stay_unflattened() -> anyhow::Result<()> {
    let (r, _db) = many_visits_with_sub_dir_referrers().await?;
    let expanded = r
        .json(&format!(
            "method=Actions.getPageUrls&{FLATTEN_WEEK}&expanded=1&depth=1"
        ))
        .await?;
    let top: Vec<&str> = rows(&expanded)
        .iter()
        .filter_map(|row| row["label"].as_str())
        .collect();
    assert_eq!(top, ["dir1", "dir2", "dir3", "/page1.html", "sub"]);
    let dir1 = &rows(&expanded)[0];
    assert!(dir1.get("Actions_PageUrl").is_none(), "{dir1}");
    let sub = &rows(&dir1["subtable"])[0];
    assert_eq!((&sub["label"], &sub["nb_hits"]), (&json!("sub"), &json!(6)));
    assert!(sub.get("subtable").is_none(), "{sub}");
    Ok(())
}
