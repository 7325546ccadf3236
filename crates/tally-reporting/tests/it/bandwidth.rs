//! The Bandwidth plugin: `bw_bytes` tracked on some hits only, then the
//! Actions rows' `sum_bandwidth`, `nb_hits_with_bandwidth`,
//! `min_bandwidth`, `max_bandwidth` and `avg_bandwidth`, `Bandwidth.get`,
//! Live's `bandwidth` / `bandwidth_pretty`, a week, and `[reporting]
//! bandwidth = false`. The traffic is shaped after the plugin's own
//! fixture (`OneVisitWithBandwidth`): pages and downloads with and without
//! sizes, one of them larger than 4 GB.

use serde_json::{Value, json};
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;

use crate::common::{api_json, matomo_site, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// Monday 2010-01-04: five page views (two without a size) and two
/// downloads; Tuesday: one more page view and download, sized.
async fn tracked() -> anyhow::Result<(tally_db::test_support::TestDb, String)> {
    let (db, token) = matomo_site(datetime!(2010-01-01 00:00:00), |_| {}, &[])?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut t = PhpTracker::new(
        1,
        &token,
        "f000000000000001",
        datetime!(2010-01-04 10:00:00),
    );
    let hits: [(i64, &str, &str, Option<u64>); 7] = [
        (0, "page", "http://piwik.net/page/a", Some(550)),
        (60, "page", "http://piwik.net/page/b", Some(200_928)),
        (120, "page", "http://piwik.net/page/a", None),
        (
            180,
            "download",
            "http://piwik.net/app.apk",
            Some(194_948_483_939),
        ),
        (
            240,
            "download",
            "http://piwik.net/test/xyz.png",
            Some(23_929),
        ),
        (300, "page", "http://piwik.net/nobw", None),
        // Not a number: not tracked, as the plugin's `is_numeric` check.
        (360, "page", "http://piwik.net/nobw", None),
    ];
    for (seconds, kind, url, bytes) in hits {
        t.at = At::Datetime(datetime!(2010-01-04 10:00:00) + time::Duration::seconds(seconds));
        let mut query = if kind == "page" {
            t.url = url.to_owned();
            t.page_view("A page")
        } else {
            t.action(url, "download")
        };
        match bytes {
            Some(bytes) => query.push_str(&format!("&bw_bytes={bytes}")),
            None if seconds == 360 => query.push_str("&bw_bytes=many"),
            None => {}
        }
        t.ok(&router, &query).await?;
    }
    let mut t = PhpTracker::new(
        1,
        &token,
        "f000000000000002",
        datetime!(2010-01-05 08:00:00),
    );
    t.url = "http://piwik.net/page/a".to_owned();
    let query = t.page_view("A page") + "&bw_bytes=450";
    t.ok(&router, &query).await?;
    t.at = At::Datetime(datetime!(2010-01-05 08:01:00));
    let query = t.action("http://piwik.net/app.apk", "download") + "&bw_bytes=1000";
    t.ok(&router, &query).await?;
    Ok((db, token))
}

fn api(db: &tally_db::test_support::TestDb, bandwidth: bool) -> anyhow::Result<Api> {
    Ok(Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig {
            bandwidth,
            ..ReportingConfig::default()
        },
    ))
}

/// The row labelled `label` of a JSON table.
fn row<'a>(table: &'a Value, label: &str) -> &'a Value {
    table
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["label"] == label))
        .unwrap_or_else(|| panic!("no row {label} in {table}"))
}

/// The four stored columns and the average of a row.
fn bandwidth(row: &Value) -> [Value; 5] {
    [
        row["sum_bandwidth"].clone(),
        row["nb_hits_with_bandwidth"].clone(),
        row["min_bandwidth"].clone(),
        row["max_bandwidth"].clone(),
        row["avg_bandwidth"].clone(),
    ]
}

fn keys(row: &Value) -> Vec<&str> {
    row.as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn actions_rows_bandwidth_get_and_live_carry_the_sizes() -> anyhow::Result<()> {
    let (db, token) = tracked().await?;
    let api = api(&db, true)?;
    let day = "idSite=1&period=day&date=2010-01-04";

    let pages = api_json(&api, &token, &format!("method=Actions.getPageUrls&{day}")).await?;
    // The folder sums its two sized pages; its average rounds down.
    assert_eq!(
        bandwidth(row(&pages, "page")),
        [
            json!(201_478),
            json!(2),
            json!(550),
            json!(200_928),
            json!(100_739)
        ]
    );
    // A page without sizes: zeros and empty bounds, right after the time
    // spent, and an average of 0 among the processed metrics.
    let without_sizes = row(&pages, "/nobw");
    assert_eq!(
        bandwidth(without_sizes),
        [json!(0), json!(0), Value::Null, Value::Null, json!(0)]
    );
    let columns = keys(without_sizes);
    let at = columns
        .iter()
        .position(|key| *key == "sum_time_spent")
        .expect("sum_time_spent");
    assert_eq!(
        columns[at + 1..at + 5],
        [
            "sum_bandwidth",
            "nb_hits_with_bandwidth",
            "min_bandwidth",
            "max_bandwidth"
        ]
    );
    assert!(
        columns.iter().position(|key| *key == "avg_bandwidth")
            < columns.iter().position(|key| *key == "avg_page_load_time")
    );

    // Leaves: `page/a` had one sized hit of two.
    let flat = api_json(
        &api,
        &token,
        &format!("method=Actions.getPageUrls&{day}&flat=1"),
    )
    .await?;
    assert_eq!(
        bandwidth(row(&flat, "/page/a")),
        [json!(550), json!(1), json!(550), json!(550), json!(550)]
    );
    // An expanded subtable's rows keep the stored columns, without the
    // average (an extra processed metric of the answered table only).
    let expanded = api_json(
        &api,
        &token,
        &format!("method=Actions.getPageUrls&{day}&expanded=1"),
    )
    .await?;
    let leaf = row(&row(&expanded, "page")["subtable"], "/b");
    assert_eq!(leaf["sum_bandwidth"], json!(200_928));
    assert_eq!(leaf.get("avg_bandwidth"), None);

    // Sizes beyond 4 GB are summed exactly. Matomo builds the download
    // table without aggregation operations, so its host folder adds up
    // its downloads' bounds too (one sized hit each here: the sum).
    let downloads = api_json(&api, &token, &format!("method=Actions.getDownloads&{day}")).await?;
    assert_eq!(
        bandwidth(row(&downloads, "piwik.net")),
        [
            json!(194_948_507_868_u64),
            json!(2),
            json!(194_948_507_868_u64),
            json!(194_948_507_868_u64),
            json!(97_474_253_934_u64)
        ]
    );

    let totals = api_json(&api, &token, &format!("method=Bandwidth.get&{day}")).await?;
    assert_eq!(
        totals,
        json!({
            "nb_total_overall_bandwidth": 194_948_709_346_u64,
            "nb_total_pageview_bandwidth": 201_478,
            "nb_total_download_bandwidth": 194_948_507_868_u64,
        })
    );
    let some = api_json(
        &api,
        &token,
        &format!("method=Bandwidth.get&{day}&columns=nb_total_download_bandwidth"),
    )
    .await?;
    // One column left: Matomo's renderer answers it as a single value.
    assert_eq!(some, json!({"value": 194_948_507_868_u64}));

    // The week adds Tuesday's hits: sums add up, bounds are extremes.
    let week = "idSite=1&period=week&date=2010-01-04";
    let pages = api_json(&api, &token, &format!("method=Actions.getPageUrls&{week}")).await?;
    assert_eq!(
        bandwidth(row(&pages, "page")),
        [
            json!(201_928),
            json!(3),
            json!(450),
            json!(200_928),
            json!(67_309)
        ]
    );
    let flat = api_json(
        &api,
        &token,
        &format!("method=Actions.getPageUrls&{week}&flat=1"),
    )
    .await?;
    assert_eq!(
        bandwidth(row(&flat, "/page/a")),
        [json!(1000), json!(2), json!(450), json!(550), json!(500)]
    );
    assert_eq!(
        bandwidth(row(&flat, "/nobw")),
        [json!(0), json!(0), Value::Null, Value::Null, json!(0)]
    );
    // A download's bounds add up over the days too (no operations):
    // Monday's 194,948,483,939 bytes and Tuesday's 1,000.
    let downloads = api_json(
        &api,
        &token,
        &format!("method=Actions.getDownloads&{week}&flat=1"),
    )
    .await?;
    assert_eq!(
        bandwidth(row(&downloads, "piwik.net/app.apk")),
        [
            json!(194_948_484_939_u64),
            json!(2),
            json!(194_948_484_939_u64),
            json!(194_948_484_939_u64),
            json!(97_474_242_469_u64)
        ]
    );
    let totals = api_json(&api, &token, &format!("method=Bandwidth.get&{week}")).await?;
    assert_eq!(
        totals["nb_total_overall_bandwidth"],
        json!(194_948_710_796_u64)
    );
    assert_eq!(totals["nb_total_pageview_bandwidth"], json!(201_928));
    assert_eq!(
        totals["nb_total_download_bandwidth"],
        json!(194_948_508_868_u64)
    );

    // Live: each action's size, and Matomo's pretty size ("0 M" without).
    let visits = api_json(
        &api,
        &token,
        &format!("method=Live.getLastVisitsDetails&{day}"),
    )
    .await?;
    let actions = visits[0]["actionDetails"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            (
                action["bandwidth"].clone(),
                action["bandwidth_pretty"].clone(),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        actions,
        [
            (json!(550), json!("550 B")),
            (json!(200_928), json!("196.2 K")),
            (Value::Null, json!("0 M")),
            (json!(194_948_483_939_u64), json!("181.6 G")),
            (json!(23_929), json!("23.4 K")),
            (Value::Null, json!("0 M")),
            (Value::Null, json!("0 M")),
        ]
    );
    let first = &visits[0]["actionDetails"][0];
    let fields = keys(first);
    assert!(
        fields.iter().position(|key| *key == "bandwidth")
            < fields.iter().position(|key| *key == "timeSpent")
    );
    assert_eq!(fields.last(), Some(&"bandwidth_pretty"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn switched_off_the_answers_are_matomos_without_the_plugin() -> anyhow::Result<()> {
    let (db, token) = tracked().await?;
    let api = api(&db, false)?;
    let day = "idSite=1&period=day&date=2010-01-04";
    for method in ["Actions.getPageUrls", "Actions.getDownloads"] {
        let table = api_json(&api, &token, &format!("method={method}&{day}&flat=1")).await?;
        for row in table.as_array().expect("rows") {
            let columns = keys(row);
            assert!(
                !columns.iter().any(|key| key.contains("bandwidth")),
                "{method}: {columns:?}"
            );
        }
    }
    let visits = api_json(
        &api,
        &token,
        &format!("method=Live.getLastVisitsDetails&{day}"),
    )
    .await?;
    let action = &visits[0]["actionDetails"][0];
    assert_eq!(action.get("bandwidth"), None);
    assert_eq!(action.get("bandwidth_pretty"), None);
    let request = tally_reporting::ApiRequest::from_parts(
        &format!("module=API&method=Bandwidth.get&{day}&format=json&token_auth={token}"),
        None,
    );
    let answer =
        tokio::task::spawn_blocking(move || api.handle_at(&request, crate::common::NOW)).await?;
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    assert!(body.contains("Bandwidth not found"), "{body}");
    Ok(())
}
