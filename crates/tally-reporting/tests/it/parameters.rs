//! DataTable API parameters of MATOMO.md §8.4 compared with literal
//! expected outputs: `columns`, `filter_sort_column_secondary`,
//! `showRawMetrics`, `idSubtable=all`, `depth`, `disable_queued_filters`,
//! `fetch_archive_state`.
//! The numbers are those of `common::traffic` (see `reports.rs`).

use time::macros::datetime;

use crate::common::{Fixture, Visit};

const DAY: &str = "idSite=1&period=day&date=2026-11-10";

async fn text(f: &Fixture, query: &str) -> anyhow::Result<String> {
    Ok(f.get(query).await?.text())
}

#[tokio::test(flavor = "multi_thread")]
async fn columns_of_numeric_reports() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // `bounce_rate` fetches bounce_count and nb_visits: stored columns come
    // in that order, processed ones after them.
    assert_eq!(
        text(&f, &format!(
            "method=VisitsSummary.get&{DAY}&format=json&columns=bounce_rate,nb_actions,nb_visits"
        ))
        .await?,
        r#"{"nb_visits":2,"nb_actions":4,"bounce_rate":"50%"}"#
    );
    // One column is a bare value; unknown names are not returned.
    assert_eq!(
        text(
            &f,
            &format!("method=VisitsSummary.get&{DAY}&format=json&columns=avg_time_on_site,nb_hits")
        )
        .await?,
        r#"{"value":101}"#
    );
    let xml = f
        .get(&format!(
            "method=VisitsSummary.get&{DAY}&format=xml&columns=max_actions"
        ))
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>3</result>"
    );
    // Only unknown names: an empty table, not an error (Matomo fetches
    // nothing). Unique visitors do not exist for years.
    assert_eq!(
        text(
            &f,
            &format!("method=VisitsSummary.get&{DAY}&format=json&columns=nb_hits")
        )
        .await?,
        "[]"
    );
    let empty = f
        .get("method=VisitsSummary.get&idSite=1&period=year&date=2026-11-10&format=xml&columns=nb_uniq_visitors")
        .await?;
    assert_eq!(
        empty.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result />"
    );
    assert_eq!(
        text(&f, "method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10,2026-11-11&format=json&columns=nb_hits,nb_uniq_visitors")
            .await?,
        r#"{"2026-11-10":2,"2026-11-11":1}"#
    );
    // Actions.get: in the requested order.
    assert_eq!(
        text(
            &f,
            &format!("method=Actions.get&{DAY}&format=json&columns=nb_uniq_pageviews,nb_pageviews")
        )
        .await?,
        r#"{"nb_uniq_pageviews":4,"nb_pageviews":4}"#
    );
    // Goals: the processed conversion rate after the stored columns.
    assert_eq!(
        text(&f, &format!(
            "method=Goals.getMetrics&{DAY}&format=json&idGoal=1&columns=conversion_rate,nb_conversions"
        ))
        .await?,
        r#"{"nb_conversions":1,"conversion_rate":"50%"}"#
    );
    // VisitFrequency: each visitor type asks VisitsSummary for its own
    // columns (new visits first); a type no column names is skipped, and
    // names of neither type give an empty table.
    assert_eq!(
        text(&f, &format!(
            "method=VisitFrequency.get&{DAY}&format=json&columns=nb_actions_returning,bounce_rate_new,nb_visits_new"
        ))
        .await?,
        r#"{"nb_visits_new":2,"bounce_rate_new":"50%","nb_actions_returning":0}"#
    );
    assert_eq!(
        text(
            &f,
            &format!("method=VisitFrequency.get&{DAY}&format=json&columns=nb_visits")
        )
        .await?,
        "[]"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secondary_sort_column_is_not_a_request_parameter() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // Matomo's generic Sort filter always breaks ties (by the label after
    // `nb_visits`, by `nb_visits` otherwise); the parameter is not read.
    let query = "method=Actions.getPageTitles&idSite=1&period=week&date=2026-11-10&format=json&showColumns=nb_visits,nb_hits&filter_sort_column=nb_hits";
    let plain = f.get(query).await?.text();
    assert_eq!(
        plain,
        // Ties at one hit and one visit keep their stored order.
        concat!(
            r#"[{"label":" Home","nb_visits":3,"nb_hits":3,"segment":"pageTitle==Home"},"#,
            r#"{"label":" Shoes","nb_visits":1,"nb_hits":1,"segment":"pageTitle==Shoes"},"#,
            r#"{"label":" Thanks","nb_visits":1,"nb_hits":1,"segment":"pageTitle==Thanks"},"#,
            r#"{"label":" Hats","nb_visits":1,"nb_hits":1,"segment":"pageTitle==Hats"}]"#
        )
    );
    for secondary in ["label", "nb_hits", "unknown"] {
        let with = f
            .get(&format!("{query}&filter_sort_column_secondary={secondary}"))
            .await?;
        assert_eq!(with.text(), plain, "{secondary}");
    }
    Ok(())
}

/// A visit on 2026-11-12 whose two page views have page timings, and a
/// three-level URL.
async fn timed_visit(f: &Fixture) -> anyhow::Result<()> {
    f.track_with(
        &[Visit {
            idsite: 1,
            visitor: "eeeeeeeeeeeeeeee",
            start: datetime!(2026-11-12 10:00 UTC),
            referrer: "",
            hits: &[(0, "/blog/2024/post", "Post"), (60, "/blog/about", "About")],
        }],
        "&pf_net=100&pf_srv=300",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_metrics_are_the_temporary_page_timing_sums() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    timed_visit(&f).await?;
    let base = "method=Actions.getPageTitles&idSite=1&period=day&date=2026-11-12&format=json&filter_limit=1&filter_sort_column=label&filter_sort_order=asc";
    // 100 ms of network and 300 ms of server time: the averages use the
    // sums, which Matomo then removes (`getTemporaryMetrics`). A day's row
    // of one page keeps the timings as MySQL's DECIMAL strings.
    let plain = f.get(base).await?.text();
    assert_eq!(
        plain,
        concat!(
            r#"[{"label":" About","nb_visits":1,"nb_uniq_visitors":1,"nb_hits":1,"sum_time_spent":0,"#,
            r#""nb_hits_with_time_network":1,"min_time_network":"0.1000","max_time_network":"0.1000","#,
            r#""nb_hits_with_time_server":1,"min_time_server":"0.3000","max_time_server":"0.3000","#,
            r#""sum_bandwidth":0,"nb_hits_with_bandwidth":0,"min_bandwidth":null,"max_bandwidth":null,"#,
            r#""exit_nb_uniq_visitors":1,"exit_nb_visits":1,"avg_bandwidth":0,"avg_time_network":0.1,"avg_time_server":0.3,"avg_page_load_time":0.4,"#,
            r#""avg_time_on_page":0,"bounce_rate":"0%","exit_rate":"100%","segment":"pageTitle==About"}]"#
        )
    );
    let raw = f.get(&format!("{base}&showRawMetrics=1")).await?.text();
    assert_eq!(
        raw,
        concat!(
            r#"[{"label":" About","nb_visits":1,"nb_uniq_visitors":1,"nb_hits":1,"sum_time_spent":0,"#,
            r#""sum_time_network":"0.1000","nb_hits_with_time_network":1,"min_time_network":"0.1000","max_time_network":"0.1000","#,
            r#""sum_time_server":"0.3000","nb_hits_with_time_server":1,"min_time_server":"0.3000","max_time_server":"0.3000","#,
            r#""sum_bandwidth":0,"nb_hits_with_bandwidth":0,"min_bandwidth":null,"max_bandwidth":null,"#,
            r#""exit_nb_uniq_visitors":1,"exit_nb_visits":1,"avg_bandwidth":0,"avg_time_network":0.1,"avg_time_server":0.3,"avg_page_load_time":0.4,"#,
            r#""avg_time_on_page":0,"bounce_rate":"0%","exit_rate":"100%","segment":"pageTitle==About"}]"#
        )
    );
    // showColumns replaces the removal, so a sum can be asked for by name.
    let shown = f
        .get(&format!(
            "{base}&showColumns=sum_time_network,avg_time_network"
        ))
        .await?;
    assert_eq!(
        shown.text(),
        r#"[{"label":" About","sum_time_network":"0.1000","avg_time_network":0.1,"segment":"pageTitle==About"}]"#
    );
    // Only the integer 1 keeps them; anything else is Matomo's default 0.
    for value in ["2", "yes", "0"] {
        let other = f.get(&format!("{base}&showRawMetrics={value}")).await?;
        assert_eq!(other.text(), plain, "{value}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn all_subtables_and_depth() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    timed_visit(&f).await?;
    let base = "method=Actions.getPageUrls&idSite=1&period=day&date=2026-11-12&format=json&showColumns=nb_hits";
    let plain = f.get(base).await?.text();
    assert_eq!(
        plain,
        r#"[{"label":"blog","nb_hits":2,"segment":"pageUrl=^https%253A%252F%252Fshop.example%252Fblog","idsubdatatable":1}]"#
    );
    // `all` is the top-level table, as no idSubtable; with expanded=1
    // Matomo looks for a record `Actions_actions_url_all`: nothing.
    assert_eq!(
        f.get(&format!("{base}&idSubtable=all")).await?.text(),
        plain
    );
    let flat = f.get(&format!("{base}&flat=1")).await?.text();
    assert_eq!(
        f.get(&format!("{base}&flat=1&idSubtable=all"))
            .await?
            .text(),
        flat
    );
    let expanded_all = f.get(&format!("{base}&idSubtable=all&expanded=1")).await?;
    assert_eq!(expanded_all.text(), "[]");
    // depth=1: `2024` (level 1) loses its subtable and its id. showColumns
    // reaches the expanded subtables, with or without
    // hideColumnsRecursively (Matomo's ColumnDelete always recurses).
    assert_eq!(
        f.get(&format!("{base}&expanded=1&depth=1")).await?.text(),
        f.get(&format!(
            "{base}&expanded=1&depth=1&hideColumnsRecursively=1"
        ))
        .await?
        .text()
    );
    let depth = f
        .get(&format!(
            "{base}&expanded=1&depth=1&hideColumnsRecursively=1"
        ))
        .await?;
    assert_eq!(
        depth.text(),
        concat!(
            r#"[{"label":"blog","nb_hits":2,"segment":"pageUrl=^https%253A%252F%252Fshop.example%252Fblog","subtable":["#,
            r#"{"label":"\/about","nb_hits":1,"url":"https:\/\/shop.example\/blog\/about","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fblog%252Fabout"},"#,
            r#"{"label":"2024","nb_hits":1,"segment":"pageUrl=^https%253A%252F%252Fshop.example%252Fblog%252F2024"}]}]"#
        )
    );
    // flat=1 expands too, so depth stops the flattening.
    assert_eq!(
        f.get(&format!("{base}&flat=1&depth=1")).await?.text(),
        concat!(
            r#"[{"label":"\/blog\/2024","nb_hits":1,"segment":"pageUrl=^https%253A%252F%252Fshop.example%252Fblog%252F2024","Actions_PageUrl":"\/blog\/2024"},"#,
            r#"{"label":"\/blog\/about","nb_hits":1,"url":"https:\/\/shop.example\/blog\/about","Actions_PageUrl":"\/blog\/about","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fblog%252Fabout"}]"#
        )
    );
    // Levels count from the requested subtable.
    let sub = f
        .get(&format!(
            "{base}&idSubtable=1&expanded=1&depth=1&hideColumnsRecursively=1"
        ))
        .await?;
    assert_eq!(
        sub.text(),
        concat!(
            r#"[{"label":"\/about","nb_hits":1,"url":"https:\/\/shop.example\/blog\/about","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fblog%252Fabout"},"#,
            r#"{"label":"2024","nb_hits":1,"segment":"pageUrl=^https%253A%252F%252Fshop.example%252Fblog%252F2024","subtable":["#,
            r#"{"label":"\/post","nb_hits":1,"url":"https:\/\/shop.example\/blog\/2024\/post","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fblog%252F2024%252Fpost"}]}]"#
        )
    );
    // Without expansion depth changes nothing.
    assert_eq!(f.get(&format!("{base}&depth=1")).await?.text(), plain);
    let bad = f.get(&format!("{base}&idSubtable=undefined")).await?;
    assert_eq!(
        bad.text(),
        r#"{"result":"error","message":"idSubtable needs to be a number or 'all', 'undefined' given."}"#
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_state_is_table_metadata_no_format_shows() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    for query in [
        format!("method=VisitsSummary.get&{DAY}&format=json"),
        format!("method=Referrers.getReferrerType&{DAY}&format=xml"),
        format!("method=Actions.getPageUrls&{DAY}&format=csv&convertToUnicode=0"),
    ] {
        let plain = f.get(&query).await?.text();
        for value in ["1", "true", "yes"] {
            let with = f
                .get(&format!("{query}&fetch_archive_state={value}"))
                .await?;
            assert_eq!(with.text(), plain, "{query} {value}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_queued_filters_keep_stored_column_ids_and_the_summary_label() -> anyhow::Result<()>
{
    let f = Fixture::new().await?;
    for (visitor, hour, resolution) in [
        ("1111111111111111", 10, "1024x768"),
        ("2222222222222222", 14, "800x600"),
    ] {
        f.track_with(
            &[Visit {
                idsite: 1,
                visitor,
                start: datetime!(2026-11-12 00:00 UTC) + time::Duration::hours(hour),
                referrer: "",
                hits: &[(0, "/", "Home")],
            }],
            &format!("&res={resolution}"),
        )
        .await?;
    }
    // filter_truncate=0 folds both rows into the summary row.
    let base =
        "method=Resolution.getResolution&idSite=1&period=day&date=2026-11-12&filter_truncate=0";
    assert_eq!(
        f.get(&format!("{base}&format=json")).await?.text(),
        r#"[{"label":"Others","nb_uniq_visitors":2,"nb_visits":2,"nb_actions":2,"nb_users":0,"max_actions":1,"sum_visit_length":0,"bounce_count":2,"nb_visits_converted":0}]"#
    );
    // Without the queued ReplaceSummaryRowLabel and ReplaceColumnNames:
    // Matomo's raw summary label and metric ids.
    assert_eq!(
        f.get(&format!("{base}&format=json&disable_queued_filters=1"))
            .await?
            .text(),
        r#"[{"label":-1,"1":2,"2":2,"3":2,"39":0,"4":1,"5":0,"6":2,"7":0}]"#
    );
    assert_eq!(
        f.get(&format!(
            "{base}&format=csv&convertToUnicode=0&disable_queued_filters=1"
        ))
        .await?
        .text(),
        "label,1,2,3,39,4,5,6,7\n-1,2,2,2,0,1,0,2,0"
    );
    // Ids are not valid XML tag names: `<col name="…">`, as Matomo.
    let xml = f
        .get(&format!(
            "{base}&format=xml&disable_queued_filters=1&showColumns=2,nb_actions"
        ))
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\
         \t\t<col name=\"label\">-1</col>\n\t\t<col name=\"2\">2</col>\n\
         \t</row>\n</result>"
    );
    // Goals keep their goal ids and goal metric ids (1 conversions,
    // 2 revenue, 3 converted visits); showColumns names stored ids.
    assert_eq!(
        f.get("method=Referrers.getReferrerType&idSite=1&period=day&date=2026-11-10&format=json&disable_queued_filters=1&showColumns=2,10")
            .await?
            .text(),
        concat!(
            r#"[{"label":"Direct Entry","2":1,"segment":"referrerType==direct","referrer_type":1},"#,
            r#"{"label":"Search Engines","2":1,"10":{"1":{"1":1,"3":1,"2":5}},"segment":"referrerType==search","referrer_type":2,"idsubdatatable":2}]"#
        )
    );
    // `true` is not an integer for Matomo: the filters run.
    assert_eq!(
        f.get(&format!("{base}&format=json&disable_queued_filters=true"))
            .await?
            .text(),
        f.get(&format!("{base}&format=json")).await?.text()
    );
    Ok(())
}

/// Matomo's `ApiInvalidParameterTypeTest` (Actions): one page view of
/// `/a+b/index.html`; `Actions.getPageUrls` with `flat=1` refuses
/// `idSubtable=undefined` with "idSubtable needs to be a number…", and
/// gives one row for the folder's subtable (`idSubtable=1`) and for
/// `idSubtable=all`.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_id_subtable_types_as_matomo() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    f.track(&[Visit {
        idsite: 1,
        visitor: "eeeeeeeeeeeeeeee",
        start: datetime!(2026-11-12 03:24 UTC),
        referrer: "",
        hits: &[(0, "/a+b/index.html", "a page+view")],
    }])
    .await?;
    let base = "method=Actions.getPageUrls&idSite=1&period=day&date=2026-11-12&flat=1&format=json";
    let refused = f.get(&format!("{base}&idSubtable=undefined")).await?.text();
    let answer: serde_json::Value = serde_json::from_str(&refused)?;
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("idSubtable needs to be a number")),
        "{refused}"
    );
    for id in ["1", "all"] {
        let text = f.get(&format!("{base}&idSubtable={id}")).await?.text();
        let rows: serde_json::Value = serde_json::from_str(&text)?;
        assert_eq!(
            rows.as_array().map(Vec::len),
            Some(1),
            "idSubtable={id}: {text}"
        );
    }
    Ok(())
}
