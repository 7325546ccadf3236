//! Matomo's `ImportLogsTest` (tests/PHPUnit/System/ImportLogsTest.php):
//! the API calls of its `getApiForTesting` over the fixture
//! `ManySitesImportedLogs` with every optional log (IIS with mapped
//! fields, NetScaler, CloudFront web and RTMP, nginx JSON, IIS fields as
//! custom variables), imported with our log importer
//! ([`crate::imported_logs`]). The figures and labels below were checked
//! by hand in its expected files (`test_ImportLogs*`); where we differ on
//! purpose, docs/MATOMO-DIFFERENCES.md says so.
//!
//! Opt-in, as it reads Matomo's logs:
//! `MATOMO_ACCESS_LOGS=<matomo>/tests/resources/access-logs cargo nextest
//! run -p tally-reporting --run-ignored all -E
//! 'test(/matomo_import_logs_fixture/)'`.

use serde_json::Value;

use crate::common::api_json;
use crate::imported_logs::{ImportedLogs, Includes, imported_logs};

/// A row's label and `columns`, space separated (`?` for a missing one).
fn row(row: &Value, columns: &[&str]) -> String {
    let mut out = vec![row["label"].as_str().unwrap_or("?").to_owned()];
    for column in columns {
        out.push(match &row[*column] {
            Value::String(text) => text.clone(),
            Value::Null => "?".to_owned(),
            other => other.to_string(),
        });
    }
    out.join(" ")
}

/// The rows of a report (or of a row's `subtable` when expanded).
fn rows(table: &Value, columns: &[&str]) -> Vec<String> {
    table
        .as_array()
        .map(|rows| rows.iter().map(|r| row(r, columns)).collect())
        .unwrap_or_else(|| vec![format!("not a table: {table}")])
}

/// `columns` of a simple report, space separated.
fn values(answer: &Value, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|column| answer[*column].to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `VisitsSummary.get` in short: visits, actions, converted visits,
/// bounces, total visit length, unique visitors, users, most actions.
fn summary(answer: &Value) -> String {
    values(
        answer,
        &[
            "nb_visits",
            "nb_actions",
            "nb_visits_converted",
            "bounce_count",
            "sum_visit_length",
            "nb_uniq_visitors",
            "nb_users",
            "max_actions",
        ],
    )
}

async fn get(fixture: &ImportedLogs, query: &str) -> anyhow::Result<Value> {
    api_json(&fixture.api, &fixture.token, query).await
}

const MONTH: &str = "idSite=1&date=2012-08-09&period=month";
const RANGE: &str = "date=2012-08-09,2014-04-01&period=range&filter_limit=1000";

// The lines each import tracked, then site 1's month
// (`test_ImportLogs__*_month.xml`), the day of the custom-format log
// (`Actions.getPageUrls_day`), the distinct websites of 7 days
// (`Referrers.getNumberOfDistinctWebsites_day`), site 2's month
// (`_siteIdTwo_TrackedUsingLogReplay`), the complex action segment
// (`_complexActionSegment`) and MultiSites' 7 months
// (`_withEnhancedAndLast7`).
#[tokio::test]
#[ignore = "reads Matomo's access logs from MATOMO_ACCESS_LOGS"]
async fn imported_logs_give_matomos_month_reports() -> anyhow::Result<()> {
    let f = imported_logs(Includes::all()).await?;
    let imported: Vec<String> = f
        .imported
        .iter()
        .map(|(file, lines)| format!("{file} {lines}"))
        .collect();
    assert_eq!(
        imported,
        [
            "fake_logs.log 17",
            "fake_logs_enable_all.log 12",
            "fake_logs_replay.log 20",
            "fake_logs_replay_host.log 0",
            "fake_logs_replay.log 20",
            "fake_logs_replay_host.log 0",
            "fake_logs_custom.log 10",
            "fake_logs_custom_iis.log 4",
            "fake_logs_netscaler.log 2",
            "fake_logs_cloudfront.log 1",
            "fake_logs_cloudfront_rtmp.log 2",
            "fake_logs_nginx_json.log 2",
            "fake_logs_custom_iis.log 4",
            "filter_include_logs.log 2",
            "filter_exclude_logs.log 3",
        ]
    );

    let visits = get(&f, &format!("method=VisitsSummary.get&{MONTH}")).await?;
    assert_eq!(summary(&visits), "43 51 39 38 551 42 3 3");
    let site2 = get(
        &f,
        "method=VisitsSummary.get&idSite=2&date=2012-08-09&period=month",
    )
    .await?;
    assert_eq!(summary(&site2), "1 1 0 1 0 1 0 1");
    // `pageUrl=@/docs/,pageUrl=@/blog;pageUrl!@/docs/manage`, URL-encoded.
    let segment =
        "segment=pageUrl%3D%40%2Fdocs%2F%2CpageUrl%3D%40%2Fblog%3BpageUrl!%40%2Fdocs%2Fmanage";
    let segmented = get(&f, &format!("method=VisitsSummary.get&{MONTH}&{segment}")).await?;
    assert_eq!(summary(&segmented), "12 12 12 12 0 12 0 1");
    let last = get(
        &f,
        &format!("method=Live.getLastVisitsDetails&{MONTH}&{segment}&filter_limit=5"),
    )
    .await?;
    assert_eq!(last.as_array().map(Vec::len), Some(5));

    let pages = get(&f, &format!("method=Actions.getPageUrls&{MONTH}")).await?;
    assert_eq!(
        rows(&pages, &["nb_visits", "nb_hits"]),
        [
            "blog 11 11",
            "docs 4 4",
            "faq 4 4",
            "/index 3 3",
            "hello 3 4",
            "Citrix 2 2",
            "Topic 2 2",
            "/index.htm 1 1",
            "/moved-permanently 1 1",
            "/register.php?0,approve=9a94a02145599 1 1",
            "/temp-redirect 1 1",
            "/to-an-error 1 1",
            "api 1 1",
            "download 1 1",
            "hosting 1 1",
            "intranet-analytics 1 1",
            "newsletter 1 1",
            "Products 1 2",
            "this 1 1",
            "translations 1 1",
            "view 1 1",
        ]
    );
    // `--enable-static` made the script, style sheet and image downloads.
    let downloads = get(
        &f,
        &format!("method=Actions.getDownloads&{MONTH}&expanded=1"),
    )
    .await?;
    assert_eq!(
        rows(&downloads, &["nb_visits", "nb_hits"]),
        ["piwik.net 4 4"]
    );
    assert_eq!(
        rows(&downloads[0]["subtable"], &["nb_visits", "nb_hits"]),
        [
            "/19.pdf 1 1",
            "/other.png 1 1",
            "/thing.css 1 1",
            "/thing.js 1 1"
        ]
    );
    // Their logged sizes; the host folder adds up the downloads' bounds as
    // well as their sizes (Matomo sums download tables without the
    // Bandwidth plugin's min / max): 4,324,023 + 3 × 3,574 for all three.
    let sizes = ["sum_bandwidth", "min_bandwidth", "max_bandwidth"];
    assert_eq!(
        rows(&downloads[0]["subtable"], &sizes),
        [
            "/19.pdf 4324023 4324023 4324023",
            "/other.png 3574 3574 3574",
            "/thing.css 3574 3574 3574",
            "/thing.js 3574 3574 3574"
        ]
    );
    assert_eq!(
        row(&downloads[0], &sizes),
        "piwik.net 4334745 4334745 4334745"
    );
    // The `Citrix` folder (`getPageUrls_month`, and its folders down to
    // `auth`): its first page, an entrance that converted, brings the
    // entry columns and `goals`; the next, an exit, brings
    // `exit_nb_visits` after them, as Matomo sums a folder from its pages.
    let expanded = get(
        &f,
        &format!("method=Actions.getPageUrls&{MONTH}&expanded=1"),
    )
    .await?;
    let folder_columns = [
        "entry_nb_visits",
        "entry_nb_actions",
        "entry_sum_visit_length",
        "entry_bounce_count",
        "goals",
        "exit_nb_visits",
    ];
    let optional = |row: &Value| -> Vec<String> {
        row.as_object()
            .map(|columns| {
                columns
                    .keys()
                    .filter(|name| folder_columns.contains(&name.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut citrix = expanded
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["label"] == "Citrix"))
        .cloned()
        .unwrap_or_default();
    for folder in ["Citrix", "XenApp", "Wan", "auth"] {
        assert_eq!(citrix["label"], folder);
        assert_eq!(optional(&citrix), folder_columns, "{folder}");
        citrix = citrix["subtable"][0].clone();
    }
    assert_eq!(citrix["label"], "/login.jsp");
    let types = get(&f, &format!("method=Referrers.getReferrerType&{MONTH}")).await?;
    assert_eq!(
        rows(&types, &["nb_visits", "nb_actions"]),
        ["Direct Entry 39 45", "Websites 4 6"]
    );
    let websites = get(&f, &format!("method=Referrers.getWebsites&{MONTH}")).await?;
    assert_eq!(
        rows(&websites, &["nb_visits", "nb_actions"]),
        [
            "example.com 1 3",
            "piwik.org 1 1",
            "sn110w.snt110.mail.live.com 1 1",
            "www.test.nl 1 1",
        ]
    );
    let users = get(&f, &format!("method=UserId.getUsers&{MONTH}")).await?;
    assert_eq!(
        rows(&users, &["nb_visits", "nb_actions"]),
        ["commonuser 1 1", "user1 1 3", "user2 1 3"]
    );
    // The importer's variables (HTTP-code on every page view, replayed
    // ones included; Bot/Not-Bot with --enable-bots; the IIS fields
    // mapped to variables) and the replayed requests' own.
    let cvars = get(
        &f,
        &format!("method=CustomVariables.getCustomVariables&{MONTH}&expanded=1"),
    )
    .await?;
    assert_eq!(
        rows(&cvars, &["nb_actions"])
            .iter()
            .map(|r| r.split(' ').next().unwrap_or("").to_owned())
            .collect::<Vec<_>>(),
        [
            "HTTP-code",
            "Not-Bot",
            "User",
            "Generation",
            "Windows",
            "Bot",
            "Forum",
            "VisitorType"
        ]
    );
    assert_eq!(cvars[0]["nb_actions"], 51);
    // Codes of equal actions and visits in Matomo's order: the rows
    // compared, by label (`Sorter`'s `array_multisort`).
    assert_eq!(
        rows(&cvars[0]["subtable"], &["nb_visits", "nb_actions"]),
        [
            "200 40 42",
            "301 3 3",
            "404 3 3",
            "302 1 1",
            "307 1 1",
            "500 1 1"
        ]
    );
    assert_eq!(
        rows(&cvars[2]["subtable"], &["nb_visits", "nb_actions"]),
        ["user1 2 4", "user2 1 3"]
    );
    assert_eq!(row(&cvars[1], &["nb_visits", "nb_actions"]), "Not-Bot 8 11");

    // The custom-format log's day, with its generation times.
    let day = get(
        &f,
        "method=Actions.getPageUrls&idSite=1&date=2012-09-30&period=day",
    )
    .await?;
    assert_eq!(
        rows(&day, &["nb_visits", "nb_hits"]),
        ["blog 2 5", "docs 1 2", "faq 1 3"]
    );
    let distinct = get(
        &f,
        "method=Referrers.getNumberOfDistinctWebsites&idSite=1&date=2012-08-09,2012-08-15&period=day",
    )
    .await?;
    let per_day: Vec<String> = [
        "2012-08-09",
        "2012-08-10",
        "2012-08-11",
        "2012-08-12",
        "2012-08-13",
        "2012-08-14",
        "2012-08-15",
    ]
    .iter()
    .map(|date| format!("{date} {}", distinct[*date]))
    .collect();
    assert_eq!(
        per_day,
        [
            "2012-08-09 0",
            "2012-08-10 0",
            "2012-08-11 0",
            "2012-08-12 0",
            "2012-08-13 1",
            "2012-08-14 0",
            "2012-08-15 3",
        ]
    );
    let sites = get(
        &f,
        "method=MultiSites.getAll&idSite=1&date=2012-08-09,2013-02-09&period=month&enhanced=1",
    )
    .await?;
    assert_eq!(
        rows(
            &sites["2012-08"],
            &[
                "nb_visits",
                "nb_actions",
                "nb_pageviews",
                "revenue",
                "nb_conversions"
            ]
        ),
        [
            "Piwik test 43 51 45 195 39",
            "Piwik test three 3 5 5 0 0",
            "Piwik test two 1 1 1 0 0",
        ]
    );
    assert_eq!(
        rows(&sites["2012-09"], &["nb_visits", "nb_actions", "revenue"])[0],
        "Piwik test 1 10 5"
    );
    Ok(())
}

// The range of the replayed logs, for site 1 (`test_ImportLogs__*_range`)
// and for site 3, where `--replay-tracking --idsite=3` put every replayed
// request whatever its own idsite
// (`_siteIdThree_TrackedUsingLogReplayWithFixedSiteId`).
#[tokio::test]
#[ignore = "reads Matomo's access logs from MATOMO_ACCESS_LOGS"]
async fn imported_logs_give_matomos_range_reports() -> anyhow::Result<()> {
    let f = imported_logs(Includes::all()).await?;
    let actions = |site: u32| format!("method=Actions.get&idSite={site}&{RANGE}");
    let short = |answer: &Value| {
        values(
            answer,
            &[
                "nb_pageviews",
                "nb_uniq_pageviews",
                "nb_downloads",
                "nb_outlinks",
            ],
        )
    };
    assert_eq!(short(&get(&f, &actions(1)).await?), "69 61 5 1");
    assert_eq!(short(&get(&f, &actions(3)).await?), "19 17 1 1");
    let pages = get(&f, &format!("method=Actions.getPageUrls&idSite=1&{RANGE}")).await?;
    assert_eq!(
        rows(&pages, &["nb_visits", "nb_hits"])[..9],
        [
            "blog 15 18",
            "/index 7 7",
            "docs 6 7",
            "faq 5 7",
            "hello 3 4",
            "Citrix 2 2",
            "download 2 2",
            "log-analytics 2 2",
            "Topic 2 2",
        ]
    );
    assert_eq!(pages.as_array().map(Vec::len), Some(26));
    // The range adds up its periods' download bounds too, as Matomo's
    // tables without aggregation operations do (`getDownloads_range`):
    // `piwik.net` as in the month, `builds.piwik.org` its one download.
    let downloads = get(&f, &format!("method=Actions.getDownloads&idSite=1&{RANGE}")).await?;
    assert_eq!(
        rows(
            &downloads,
            &["sum_bandwidth", "min_bandwidth", "max_bandwidth"]
        ),
        [
            "piwik.net 4334745 4334745 4334745",
            "builds.piwik.org 43 43 43"
        ]
    );
    // The page timings (`getPageUrls_range`): every row has the columns of
    // each timing some row has, in PagePerformance's order after the time
    // spent, zeros and empty bounds where it has no hit, though the range
    // summed a month with only server times before the days with all six.
    let timing_columns = |row: &Value| -> Vec<String> {
        row.as_object()
            .map(|columns| {
                columns
                    .iter()
                    .skip_while(|(name, _)| *name != "sum_time_spent")
                    .take_while(|(name, _)| *name != "sum_bandwidth")
                    .skip(1)
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let timings = |parts: [&str; 18]| parts.map(str::to_owned).to_vec();
    assert_eq!(
        timing_columns(&pages[0]),
        timings([
            "nb_hits_with_time_network=1",
            "min_time_network=\"0.0100\"",
            "max_time_network=\"0.0100\"",
            "nb_hits_with_time_server=6",
            "min_time_server=\"0.0230\"",
            "max_time_server=\"1.3240\"",
            "nb_hits_with_time_transfer=1",
            "min_time_transfer=\"0.2320\"",
            "max_time_transfer=\"0.2320\"",
            "nb_hits_with_time_dom_processing=1",
            "min_time_dom_processing=\"0.3120\"",
            "max_time_dom_processing=\"0.3120\"",
            "nb_hits_with_time_dom_completion=1",
            "min_time_dom_completion=\"0.2550\"",
            "max_time_dom_completion=\"0.2550\"",
            "nb_hits_with_time_on_load=1",
            "min_time_on_load=\"0.0000\"",
            "max_time_on_load=\"0.0000\"",
        ])
    );
    let find = |label: &str| {
        pages
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["label"] == label))
            .cloned()
            .unwrap_or_default()
    };
    let hello = find("hello");
    assert_eq!(
        timing_columns(&hello),
        timings([
            "nb_hits_with_time_network=0",
            "min_time_network=null",
            "max_time_network=null",
            "nb_hits_with_time_server=4",
            "min_time_server=\"0.3590\"",
            "max_time_server=\"0.3590\"",
            "nb_hits_with_time_transfer=0",
            "min_time_transfer=null",
            "max_time_transfer=null",
            "nb_hits_with_time_dom_processing=0",
            "min_time_dom_processing=null",
            "max_time_dom_processing=null",
            "nb_hits_with_time_dom_completion=0",
            "min_time_dom_completion=null",
            "max_time_dom_completion=null",
            "nb_hits_with_time_on_load=0",
            "min_time_on_load=null",
            "max_time_on_load=null",
        ])
    );
    assert_eq!(
        values(
            &hello,
            &["avg_time_network", "avg_time_server", "avg_page_load_time"]
        ),
        "0 0.359 0.359"
    );
    let index = find("/index");
    // Its `url` is the one of the range's first period with the row (the
    // 2012-08-09 visit to piwik.net), not of the period with the most hits.
    assert_eq!(index["url"], "http://piwik.net/");
    assert_eq!(
        index["segment"],
        "pageUrl==http%253A%252F%252Fpiwik.net%252F"
    );
    let site3 = get(&f, &format!("method=Actions.getPageUrls&idSite=3&{RANGE}")).await?;
    assert_eq!(
        rows(&site3, &["nb_visits", "nb_hits"]),
        [
            "/index 4 4",
            "/index.htm 2 4",
            "blog 2 2",
            "log-analytics 2 2",
            // Labels are HTML-escaped (SafeDecodeLabel), and JSON decodes
            // them, as in Matomo.
            "/index.php?module=CoreHome&action=index&date=yesterday&period=day&idSite=7 1 1",
            "/register.php?0,approve=9a94a02145599 1 1",
            "changelog 1 1",
            "contact 1 1",
            "docs 1 1",
            "download 1 1",
            "what-is-piwisk 1 1",
        ]
    );
    let per_page = get(
        &f,
        &format!("method=VisitorInterest.getNumberOfVisitsPerPage&idSite=1&{RANGE}"),
    )
    .await?;
    assert_eq!(
        rows(&per_page, &["nb_visits"])
            .into_iter()
            .filter(|r| !r.ends_with(" 0"))
            .collect::<Vec<_>>(),
        ["1 page 47", "2 pages 4", "3 pages 4", "8-10 pages 1"]
    );
    // The visit lengths (`VisitFrequency.get_range`,
    // `getNumberOfVisitsPerVisitDuration_range`): the custom-format visit
    // of 10:10:38-10:12:04 whose last line (10:11:30) comes after the
    // 10:12:04 one lasts 54 s, as its last request set it in Matomo.
    let frequency = get(&f, &format!("method=VisitFrequency.get&idSite=1&{RANGE}")).await?;
    assert_eq!(
        values(
            &frequency,
            &[
                "nb_visits_new",
                "sum_visit_length_new",
                "sum_visit_length_returning"
            ]
        ),
        "54 728 2"
    );
    let durations = get(
        &f,
        &format!("method=VisitorInterest.getNumberOfVisitsPerVisitDuration&idSite=1&{RANGE}"),
    )
    .await?;
    assert_eq!(
        rows(&durations, &["nb_visits"])[..6],
        [
            "0–10s 50",
            "11–30s 0",
            "31–60s 2",
            "1-2 min 1",
            "2-4 min 2",
            "4-7 min 1"
        ]
    );
    for (site, visits) in [(1, 56), (3, 15)] {
        let log = get(
            &f,
            &format!("method=Live.getLastVisitsDetails&idSite={site}&{RANGE}"),
        )
        .await?;
        assert_eq!(log.as_array().map(Vec::len), Some(visits), "site {site}");
    }
    Ok(())
}

/// `Actions.getEntryPageUrls_month`: the entry goal rates of the blog
/// rows. Its URLs come from several hosts (one action each, one row), so
/// each action's rate is taken against the row's entrances and the
/// month sums the days' (`blog`: 11 converting entrances, 5.999 and
/// 30.001).
#[tokio::test]
#[ignore = "reads Matomo's access logs from MATOMO_ACCESS_LOGS"]
async fn imported_logs_give_matomos_entry_goal_rates() -> anyhow::Result<()> {
    let f = imported_logs(Includes::all()).await?;
    let entries = get(
        &f,
        &format!("method=Actions.getEntryPageUrls&{MONTH}&flat=1"),
    )
    .await?;
    let rates = |label: &str| {
        entries
            .as_array()
            .into_iter()
            .flatten()
            .find(|row| row["label"] == label)
            .map(|row| {
                let goal = &row["goals"]["idgoal=1"];
                format!(
                    "{} {} {} {}",
                    row["entry_nb_visits"],
                    goal["nb_conversions_entry"],
                    goal["nb_conversions_entry_rate"],
                    goal["revenue_per_entry"]
                )
            })
            .unwrap_or_else(|| format!("no {label}: {entries}"))
    };
    assert_eq!(rates("/blog/category/meta/"), "9 9 3.999 20.001");
    assert_eq!(rates("/blog/category/community/"), "1 1 1 5");
    // The first row, `blog`, in XML: its float sum 5.9990000000000006
    // (which JSON keeps, as json_encode does) prints as PHP's 5.999.
    let xml = crate::common::api_text(
        &f.api,
        &f.token,
        &format!("method=Actions.getEntryPageUrls&{MONTH}&format=xml"),
    )
    .await?;
    let blog = xml.split("</goals>").next().unwrap_or_default();
    assert!(blog.contains("<label>blog</label>"), "{xml}");
    assert!(
        blog.contains(
            "<nb_conversions_entry_rate>5.999</nb_conversions_entry_rate>\n\
             \t\t\t\t<revenue_per_entry>30.001</revenue_per_entry>"
        ),
        "{blog}"
    );
    // Matomo's entry (and exit) page reports keep the API's default sort,
    // visits (`Report::$defaultSortColumn`; `entry_nb_visits` is only the
    // HTML view's), so ties go by label in natural, case-insensitive
    // order (`newsletter` before `Products`), in subtables too (`/index`
    // before `manage-users`).
    let expanded = get(
        &f,
        &format!("method=Actions.getEntryPageUrls&{MONTH}&expanded=1"),
    )
    .await?;
    let labels = |table: &Value| -> Vec<String> {
        rows(table, &[])
            .into_iter()
            .map(|row| row.trim_end().to_owned())
            .collect()
    };
    assert_eq!(
        labels(&expanded),
        [
            "blog",
            "docs",
            "faq",
            "/index",
            "hello",
            "Citrix",
            "Topic",
            "/index.htm",
            "/moved-permanently",
            "/register.php?0,approve=9a94a02145599",
            "/to-an-error",
            "api",
            "download",
            "hosting",
            "intranet-analytics",
            "newsletter",
            "Products",
            "this",
            "translations",
            "view",
        ]
    );
    assert_eq!(
        labels(&expanded[1]["subtable"]),
        ["manage-websites", "/index", "manage-users"]
    );
    Ok(())
}
