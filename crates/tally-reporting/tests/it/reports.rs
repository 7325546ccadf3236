//! Report answers compared with literal expected outputs (issue 7), the
//! numbers computed by hand from `common::traffic`:
//!
//! - 2026-11-10: A has 3 actions; its `visit_total_time` is 1 + 200 s plus
//!   Matomo's conversion quirk (a goal matched by URL: no idgoal parameter, -1 + 2 = 1) = 202; B bounces (0 s).
//! - 2026-11-11: C has 2 actions, 1 + 30 = 31 s.

use crate::common::{DAYS_TO_CONVERSION, Fixture, VISITS_UNTIL_CONVERSION};

const DAY: &str = "idSite=1&period=day&date=2026-11-10";

#[tokio::test(flavor = "multi_thread")]
async fn visits_summary_for_a_day_in_four_formats() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let json = f
        .get(&format!("method=VisitsSummary.get&{DAY}&format=json"))
        .await?;
    assert_eq!(
        json.text(),
        r#"{"nb_uniq_visitors":2,"nb_users":0,"nb_visits":2,"nb_actions":4,"nb_visits_converted":1,"bounce_count":1,"sum_visit_length":202,"max_actions":3,"bounce_rate":"50%","nb_actions_per_visit":2,"avg_time_on_site":101}"#
    );
    assert!(json.content_type.starts_with("application/json"));
    let xml = f
        .get(&format!("method=VisitsSummary.get&{DAY}&format=xml"))
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<nb_uniq_visitors>2</nb_uniq_visitors>\n\t<nb_users>0</nb_users>\n\
         \t<nb_visits>2</nb_visits>\n\t<nb_actions>4</nb_actions>\n\
         \t<nb_visits_converted>1</nb_visits_converted>\n\t<bounce_count>1</bounce_count>\n\
         \t<sum_visit_length>202</sum_visit_length>\n\t<max_actions>3</max_actions>\n\
         \t<bounce_rate>50%</bounce_rate>\n\t<nb_actions_per_visit>2</nb_actions_per_visit>\n\
         \t<avg_time_on_site>101</avg_time_on_site>\n</result>"
    );
    // XML is the default format, as in Matomo.
    let default = f.get(&format!("method=VisitsSummary.get&{DAY}")).await?;
    assert_eq!(default.text(), xml.text());
    let csv = f
        .get(&format!(
            "method=VisitsSummary.get&{DAY}&format=csv&convertToUnicode=0"
        ))
        .await?;
    assert_eq!(
        csv.text(),
        "nb_uniq_visitors,nb_users,nb_visits,nb_actions,nb_visits_converted,bounce_count,sum_visit_length,max_actions,bounce_rate,nb_actions_per_visit,avg_time_on_site\n\
         2,0,2,4,1,1,202,3,50%,2,101"
    );
    let tsv = f
        .get(&format!(
            "method=VisitsSummary.get&{DAY}&format=tsv&convertToUnicode=0"
        ))
        .await?;
    assert_eq!(
        tsv.text(),
        "nb_uniq_visitors\tnb_users\tnb_visits\tnb_actions\tnb_visits_converted\tbounce_count\tsum_visit_length\tmax_actions\tbounce_rate\tnb_actions_per_visit\tavg_time_on_site\n\
         2\t0\t2\t4\t1\t1\t202\t3\t50%\t2\t101"
    );
    // Matomo's default CSV is UTF-16LE with a byte order mark.
    let unicode = f
        .get(&format!("method=VisitsSummary.get&{DAY}&format=csv"))
        .await?;
    assert_eq!(&unicode.body[..4], &[0xFF, 0xFE, b'n', 0]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn visits_summary_for_a_week_recounts_uniques_and_a_range_has_none() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let week = f
        .get("method=VisitsSummary.get&idSite=1&period=week&date=2026-11-11&format=json")
        .await?;
    assert_eq!(
        week.text(),
        r#"{"nb_uniq_visitors":3,"nb_users":0,"nb_visits":3,"nb_actions":6,"nb_visits_converted":1,"bounce_count":1,"sum_visit_length":233,"max_actions":3,"bounce_rate":"33%","nb_actions_per_visit":2,"avg_time_on_site":78}"#
    );
    let range = f
        .get(
            "method=VisitsSummary.get&idSite=1&period=range&date=2026-11-10,2026-11-11&format=json",
        )
        .await?;
    assert_eq!(
        range.text(),
        r#"{"nb_visits":3,"nb_actions":6,"nb_visits_converted":1,"bounce_count":1,"sum_visit_length":233,"max_actions":3,"bounce_rate":"33%","nb_actions_per_visit":2,"avg_time_on_site":78}"#
    );
    let range_xml = f
        .get("method=VisitsSummary.get&idSite=1&period=range&date=2026-11-10,2026-11-11&format=xml&columns=nb_visits,bounce_rate")
        .await?;
    assert_eq!(
        range_xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<nb_visits>3</nb_visits>\n\t<bounce_rate>33%</bounce_rate>\n</result>"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn visits_summary_last7_is_a_map_of_days() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let answer = f
        .get("method=VisitsSummary.get&idSite=1&period=day&date=last7&format=json&columns=nb_visits,nb_actions")
        .await?;
    assert_eq!(
        answer.text(),
        concat!(
            r#"{"2026-11-10":{"nb_visits":2,"nb_actions":4},"2026-11-11":{"nb_visits":1,"nb_actions":2},"#,
            r#""2026-11-12":[],"2026-11-13":[],"2026-11-14":[],"2026-11-15":[],"2026-11-16":[]}"#
        )
    );
    let xml = f
        .get("method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10,2026-11-11&format=xml&columns=nb_visits")
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<results>\n\
         \t<result date=\"2026-11-10\">2</result>\n\t<result date=\"2026-11-11\">1</result>\n</results>"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn all_sites_are_a_map_keyed_by_site() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let answer = f
        .get("method=VisitsSummary.get&idSite=all&period=day&date=2026-11-10&format=json&columns=nb_visits,nb_actions,bounce_rate")
        .await?;
    assert_eq!(
        answer.text(),
        r#"{"1":{"nb_visits":2,"nb_actions":4,"bounce_rate":"50%"},"2":{"nb_visits":1,"nb_actions":1,"bounce_rate":"100%"}}"#
    );
    let xml = f
        .get("method=VisitsSummary.get&idSite=1,2&period=day&date=2026-11-10&format=xml&columns=nb_visits")
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<results>\n\
         \t<result idSite=\"1\">2</result>\n\t<result idSite=\"2\">1</result>\n</results>"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn page_urls_expanded_and_flat() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // `/` was seen by A (100 s until the next page) and B (a bounce);
    // `/products/shoes` by A for 100 s; A left on `/thank-you`, where it
    // converted goal 1 (5) after 3 pages: each page gets a third of it
    // (0.3333, revenue 1.67), `/` its entry metrics (1 of 2 entries), and
    // the folder the sum of its pages; the page rate is computed for the
    // top-level rows only.
    let expanded = f
        .get(&format!(
            "method=Actions.getPageUrls&{DAY}&format=json&expanded=1"
        ))
        .await?;
    assert_eq!(
        expanded.text(),
        concat!(
            r#"[{"label":"\/index","nb_visits":2,"nb_uniq_visitors":2,"nb_hits":2,"sum_time_spent":100,"#,
            r#""sum_bandwidth":0,"nb_hits_with_bandwidth":0,"min_bandwidth":null,"max_bandwidth":null,"#,
            r#""entry_nb_uniq_visitors":2,"entry_nb_visits":2,"entry_nb_actions":4,"entry_sum_visit_length":202,"entry_bounce_count":1,"#,
            r#""exit_nb_uniq_visitors":1,"exit_nb_visits":1,"#,
            r#""goals":{"idgoal=1":{"nb_conversions":1,"revenue":5,"nb_conv_pages_before":3,"nb_conversions_attrib":0.3333,"nb_conversions_page_rate":1,"nb_conversions_page_uniq":1,"revenue_attrib":1.67,"revenue_entry":5,"nb_conversions_entry_rate":0.5,"revenue_per_entry":2.5,"nb_conversions_entry":1}},"#,
            r#""avg_bandwidth":0,"avg_page_load_time":0,"avg_time_on_page":50,"bounce_rate":"50%","exit_rate":"50%","url":"https:\/\/shop.example\/","segment":"pageUrl==https%253A%252F%252Fshop.example%252F"},"#,
            // Ties at one visit: by label, natural order ("/" before "p").
            r#"{"label":"\/thank-you","nb_visits":1,"nb_uniq_visitors":1,"nb_hits":1,"sum_time_spent":0,"#,
            r#""sum_bandwidth":0,"nb_hits_with_bandwidth":0,"min_bandwidth":null,"max_bandwidth":null,"#,
            r#""exit_nb_uniq_visitors":1,"exit_nb_visits":1,"#,
            r#""goals":{"idgoal=1":{"nb_conversions":1,"revenue":5,"nb_conv_pages_before":3,"nb_conversions_attrib":0.3333,"nb_conversions_page_rate":1,"nb_conversions_page_uniq":1,"revenue_attrib":1.67}},"#,
            r#""avg_bandwidth":0,"avg_page_load_time":0,"avg_time_on_page":0,"bounce_rate":"0%","exit_rate":"100%","url":"https:\/\/shop.example\/thank-you","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fthank-you"},"#,
            r#"{"label":"products","nb_visits":1,"nb_hits":1,"sum_time_spent":100,"#,
            r#""sum_bandwidth":0,"nb_hits_with_bandwidth":0,"min_bandwidth":null,"max_bandwidth":null,"#,
            r#""goals":{"idgoal=1":{"nb_conversions":1,"revenue":5,"nb_conv_pages_before":3,"nb_conversions_attrib":0.3333,"nb_conversions_page_rate":1,"nb_conversions_page_uniq":1,"revenue_attrib":1.67}},"#,
            r#""avg_bandwidth":0,"avg_page_load_time":0,"avg_time_on_page":100,"bounce_rate":"0%","exit_rate":"0%","#,
            r#""segment":"pageUrl=^https%253A%252F%252Fshop.example%252Fproducts","#,
            r#""subtable":[{"label":"\/shoes","nb_visits":1,"nb_uniq_visitors":1,"nb_hits":1,"sum_time_spent":100,"#,
            r#""sum_bandwidth":0,"nb_hits_with_bandwidth":0,"min_bandwidth":null,"max_bandwidth":null,"#,
            r#""goals":{"idgoal=1":{"nb_conversions":1,"revenue":5,"nb_conv_pages_before":3,"nb_conversions_attrib":0.3333,"nb_conversions_page_rate":0,"nb_conversions_page_uniq":1,"revenue_attrib":1.67}},"#,
            r#""avg_time_on_page":100,"bounce_rate":"0%","exit_rate":"0%","url":"https:\/\/shop.example\/products\/shoes","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fproducts%252Fshoes"}]}]"#
        )
    );
    // Without expanded, the folder only names its subtable.
    let plain = f
        .get(&format!(
            "method=Actions.getPageUrls&{DAY}&format=json&filter_limit=3&showColumns=nb_visits"
        ))
        .await?;
    assert_eq!(
        plain.text(),
        concat!(
            r#"[{"label":"\/index","nb_visits":2,"url":"https:\/\/shop.example\/","segment":"pageUrl==https%253A%252F%252Fshop.example%252F"},"#,
            r#"{"label":"\/thank-you","nb_visits":1,"url":"https:\/\/shop.example\/thank-you","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fthank-you"},"#,
            r#"{"label":"products","nb_visits":1,"segment":"pageUrl=^https%253A%252F%252Fshop.example%252Fproducts","idsubdatatable":1}]"#
        )
    );
    // idSubtable answers the folder's pages.
    let sub = f
        .get(&format!(
            "method=Actions.getPageUrls&{DAY}&format=json&idSubtable=1&showColumns=nb_hits"
        ))
        .await?;
    assert_eq!(
        sub.text(),
        r#"[{"label":"\/shoes","nb_hits":1,"url":"https:\/\/shop.example\/products\/shoes","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fproducts%252Fshoes"}]"#
    );
    let flat_csv = f
        .get(&format!(
            "method=Actions.getPageUrls&{DAY}&format=csv&flat=1&convertToUnicode=0"
        ))
        .await?;
    // Flattened, the page under `products` keeps its stored page rate of
    // 0: Matomo computes the rates before it flattens.
    assert_eq!(
        flat_csv.text(),
        "label,nb_visits,nb_uniq_visitors,nb_hits,sum_time_spent,sum_bandwidth,nb_hits_with_bandwidth,min_bandwidth,max_bandwidth,entry_nb_uniq_visitors,entry_nb_visits,entry_nb_actions,entry_sum_visit_length,entry_bounce_count,exit_nb_uniq_visitors,exit_nb_visits,\
         goals_idgoal=1_nb_conversions,goals_idgoal=1_revenue,goals_idgoal=1_nb_conv_pages_before,goals_idgoal=1_nb_conversions_attrib,goals_idgoal=1_nb_conversions_page_rate,goals_idgoal=1_nb_conversions_page_uniq,goals_idgoal=1_revenue_attrib,\
         goals_idgoal=1_revenue_entry,goals_idgoal=1_nb_conversions_entry_rate,goals_idgoal=1_revenue_per_entry,goals_idgoal=1_nb_conversions_entry,\
         avg_bandwidth,avg_page_load_time,avg_time_on_page,bounce_rate,exit_rate,metadata_url,metadata_Actions_PageUrl,metadata_segment\n\
         /,2,2,2,100,0,0,,,2,2,4,202,1,1,1,1,5,3,0.3333,1,1,1.67,5,0.5,2.5,1,0,0,50,50%,50%,https://shop.example/,/,pageUrl==https%253A%252F%252Fshop.example%252F\n\
         /products/shoes,1,1,1,100,0,0,,,,,,,,,,1,5,3,0.3333,0,1,1.67,,,,,0,0,100,0%,0%,https://shop.example/products/shoes,/products/shoes,pageUrl==https%253A%252F%252Fshop.example%252Fproducts%252Fshoes\n\
         /thank-you,1,1,1,0,0,0,,,,,,,,1,1,1,5,3,0.3333,1,1,1.67,,,,,0,0,0,0%,100%,https://shop.example/thank-you,/thank-you,pageUrl==https%253A%252F%252Fshop.example%252Fthank-you"
    );
    let flat_xml = f
        .get(&format!("method=Actions.getPageUrls&{DAY}&format=xml&flat=1&filter_sort_column=label&filter_sort_order=asc&showColumns=nb_hits,exit_rate"))
        .await?;
    assert_eq!(
        flat_xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<row>\n\t\t<label>/</label>\n\t\t<nb_hits>2</nb_hits>\n\t\t<exit_rate>50%</exit_rate>\n\t\t<url>https://shop.example/</url>\n\t\t<Actions_PageUrl>/</Actions_PageUrl>\n\t\t<segment>pageUrl==https%253A%252F%252Fshop.example%252F</segment>\n\t</row>\n\
         \t<row>\n\t\t<label>/products/shoes</label>\n\t\t<nb_hits>1</nb_hits>\n\t\t<exit_rate>0%</exit_rate>\n\t\t<url>https://shop.example/products/shoes</url>\n\t\t<Actions_PageUrl>/products/shoes</Actions_PageUrl>\n\t\t<segment>pageUrl==https%253A%252F%252Fshop.example%252Fproducts%252Fshoes</segment>\n\t</row>\n\
         \t<row>\n\t\t<label>/thank-you</label>\n\t\t<nb_hits>1</nb_hits>\n\t\t<exit_rate>100%</exit_rate>\n\t\t<url>https://shop.example/thank-you</url>\n\t\t<Actions_PageUrl>/thank-you</Actions_PageUrl>\n\t\t<segment>pageUrl==https%253A%252F%252Fshop.example%252Fthank-you</segment>\n\t</row>\n\
         </result>"
    );
    let flat_tsv = f
        .get(&format!("method=Actions.getPageUrls&{DAY}&format=tsv&flat=1&convertToUnicode=0&showColumns=nb_visits&filter_limit=1"))
        .await?;
    assert_eq!(
        flat_tsv.text(),
        "label\tnb_visits\tmetadata_url\tmetadata_Actions_PageUrl\tmetadata_segment\n/\t2\thttps://shop.example/\t/\tpageUrl==https%253A%252F%252Fshop.example%252F"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn referrer_types_with_goal_metrics() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let json = f
        .get(&format!(
            "method=Referrers.getReferrerType&{DAY}&format=json"
        ))
        .await?;
    assert_eq!(
        json.text(),
        concat!(
            r#"[{"label":"Direct Entry","nb_uniq_visitors":1,"nb_visits":1,"nb_actions":1,"nb_users":0,"max_actions":1,"sum_visit_length":0,"bounce_count":1,"nb_visits_converted":0,"segment":"referrerType==direct","referrer_type":1},"#,
            r#"{"label":"Search Engines","nb_uniq_visitors":1,"nb_visits":1,"nb_actions":3,"nb_users":0,"max_actions":3,"sum_visit_length":202,"bounce_count":0,"nb_visits_converted":1,"#,
            r#""goals":{"idgoal=1":{"nb_conversions":1,"nb_visits_converted":1,"revenue":5}},"nb_conversions":1,"revenue":5,"segment":"referrerType==search","referrer_type":2,"idsubdatatable":2}]"#
        )
    );
    let xml = f
        .get("method=Referrers.getReferrerType&idSite=1&period=week&date=2026-11-10&format=xml&showColumns=nb_visits,nb_conversions,goals")
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<row>\n\t\t<label>Direct Entry</label>\n\t\t<nb_visits>1</nb_visits>\n\t\t<segment>referrerType==direct</segment>\n\t\t<referrer_type>1</referrer_type>\n\t</row>\n\
         \t<row>\n\t\t<label>Search Engines</label>\n\t\t<nb_visits>1</nb_visits>\n\t\t<goals>\n\t\t\t<row idgoal='1'>\n\t\t\t\t<nb_conversions>1</nb_conversions>\n\t\t\t\t<nb_visits_converted>1</nb_visits_converted>\n\t\t\t\t<revenue>5</revenue>\n\t\t\t</row>\n\t\t</goals>\n\t\t<nb_conversions>1</nb_conversions>\n\t\t<segment>referrerType==search</segment>\n\t\t<referrer_type>2</referrer_type>\n\t\t<idsubdatatable>2</idsubdatatable>\n\t</row>\n\
         \t<row>\n\t\t<label>Websites</label>\n\t\t<nb_visits>1</nb_visits>\n\t\t<segment>referrerType==website</segment>\n\t\t<referrer_type>3</referrer_type>\n\t\t<idsubdatatable>3</idsubdatatable>\n\t</row>\n\
         </result>"
    );
    let csv = f
        .get("method=Referrers.getReferrerType&idSite=1&period=week&date=2026-11-10&format=csv&convertToUnicode=0&showColumns=nb_visits,sum_daily_nb_uniq_visitors")
        .await?;
    assert_eq!(
        csv.text(),
        "label,nb_visits,sum_daily_nb_uniq_visitors,metadata_segment,metadata_referrer_type\n\
         Direct Entry,1,1,referrerType==direct,1\n\
         Search Engines,1,1,referrerType==search,2\n\
         Websites,1,1,referrerType==website,3"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn goal_metrics_for_one_goal() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let day = f
        .get(&format!("method=Goals.get&{DAY}&format=json&idGoal=1"))
        .await?;
    // Goals.get adds the same metrics of new and of returning visits (all
    // visits of the fixture are first visits).
    assert_eq!(
        day.text(),
        concat!(
            r#"{"nb_conversions":1,"nb_visits_converted":1,"revenue":5,"conversion_rate":"50%","#,
            r#""nb_conversions_new_visit":1,"nb_visits_converted_new_visit":1,"revenue_new_visit":5,"conversion_rate_new_visit":"50%","#,
            r#""nb_conversions_returning_visit":0,"nb_visits_converted_returning_visit":0,"revenue_returning_visit":0,"conversion_rate_returning_visit":"0%"}"#
        )
    );
    let metrics = f
        .get(&format!(
            "method=Goals.getMetrics&{DAY}&format=json&idGoal=1"
        ))
        .await?;
    assert_eq!(
        metrics.text(),
        r#"{"nb_conversions":1,"nb_visits_converted":1,"revenue":5,"conversion_rate":"50%"}"#
    );
    // The week: 1 of 3 visits converted.
    let week = f
        .get("method=Goals.get&idSite=1&period=week&date=2026-11-10&format=xml&idGoal=1&columns=nb_conversions,conversion_rate")
        .await?;
    assert_eq!(
        week.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<nb_conversions>1</nb_conversions>\n\t<conversion_rate>33.33%</conversion_rate>\n\
         \t<nb_conversions_new_visit>1</nb_conversions_new_visit>\n\t<conversion_rate_new_visit>33.33%</conversion_rate_new_visit>\n\
         \t<nb_conversions_returning_visit>0</nb_conversions_returning_visit>\n\t<conversion_rate_returning_visit>0%</conversion_rate_returning_visit>\n</result>"
    );
    let tsv = f
        .get(&format!(
            "method=Goals.getMetrics&{DAY}&format=tsv&idGoal=1&convertToUnicode=0"
        ))
        .await?;
    assert_eq!(
        tsv.text(),
        "nb_conversions\tnb_visits_converted\trevenue\tconversion_rate\n1\t1\t5\t50%"
    );
    // No conversion of a goal the site does not have: zeros, as Matomo.
    let none = f
        .get(&format!(
            "method=Goals.getMetrics&{DAY}&format=json&idGoal=7&format_metrics=0"
        ))
        .await?;
    assert_eq!(
        none.text(),
        r#"{"nb_conversions":0,"nb_visits_converted":0,"revenue":0,"conversion_rate":0}"#
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn visit_frequency_splits_new_and_returning_visits() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // A comes back on 2026-11-12 (directly, one page): a returning visit.
    f.track(&[crate::common::Visit {
        idsite: 1,
        visitor: "aaaaaaaaaaaaaaaa",
        start: time::macros::datetime!(2026-11-12 10:00 UTC),
        referrer: "",
        hits: &[(0, "/", "Home")],
    }])
    .await?;
    // Over several periods a visitor type without visits has no columns
    // (Matomo's `…_idSiteOne___VisitFrequency.get_day.xml`); one period
    // alone shows its zeros.
    let columns = "columns=nb_visits_new,nb_actions_new,nb_visits_returning,bounce_rate_returning,avg_time_on_site_returning";
    let day = f
        .get(&format!("method=VisitFrequency.get&idSite=1&period=day&date=2026-11-10,2026-11-12&format=json&{columns}"))
        .await?;
    assert_eq!(
        day.text(),
        concat!(
            r#"{"2026-11-10":{"nb_visits_new":2,"nb_actions_new":4},"#,
            r#""2026-11-11":{"nb_visits_new":1,"nb_actions_new":2},"#,
            r#""2026-11-12":{"nb_visits_returning":1,"bounce_rate_returning":"100%","avg_time_on_site_returning":0}}"#
        )
    );
    // Combined with a segment: only the search visit (A on the 10th).
    let segmented = f
        .get(&format!("method=VisitFrequency.get&idSite=1&period=week&date=2026-11-10&format=xml&{columns}&segment=referrerType%3D%3Dsearch"))
        .await?;
    assert_eq!(
        segmented.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<nb_visits_new>1</nb_visits_new>\n\t<nb_actions_new>3</nb_actions_new>\n\
         \t<nb_visits_returning>0</nb_visits_returning>\n\t<bounce_rate_returning>0%</bounce_rate_returning>\n\
         \t<avg_time_on_site_returning>0</avg_time_on_site_returning>\n</result>"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn all_referrers_in_one_table() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // The week: A searched "shoes" on Google, C came from blog.example, B
    // came directly (no row).
    let answer = f
        .get("method=Referrers.getAll&idSite=1&period=week&date=2026-11-10&format=json&showColumns=nb_visits")
        .await?;
    assert_eq!(
        answer.text(),
        concat!(
            r#"[{"label":"blog.example","nb_visits":1,"segment":"referrerName==blog.example","referer_type":3},"#,
            r#"{"label":"shoes","nb_visits":1,"segment":"referrerType==search;referrerKeyword==shoes","referer_type":2}]"#
        )
    );
    let many = f
        .get("method=Referrers.getAll&idSite=1&period=day&date=last2&format=json")
        .await?;
    assert_eq!(
        many.text(),
        r#"{"result":"error","message":"Referrers.getAll with multiple sites or dates is not supported (yet)."}"#
    );
    Ok(())
}

/// The entry pages report drops pages nobody entered on inside folders
/// too, as Matomo's recursive filter does on expanded and flat tables
/// (Matomo's ImportLogs test: a NetScaler visit entered on
/// `/Citrix/.../login.jsp`, and the folder's other page,
/// `silentDetection.jsp`, is not an entry page).
#[tokio::test(flavor = "multi_thread")]
async fn entry_pages_of_a_folder_are_only_the_entered_ones() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // In the week, C entered on /products/hats; A saw /products/shoes
    // after entering on /.
    let week = "method=Actions.getEntryPageUrls&idSite=1&period=week&date=2026-11-10";
    let expanded = f
        .get(&format!("{week}&format=json&expanded=1"))
        .await?
        .text();
    assert!(expanded.contains(r#""label":"\/hats","#), "{expanded}");
    assert!(!expanded.contains("shoes"), "{expanded}");
    let flat = f
        .get(&format!(
            "{week}&format=csv&flat=1&convertToUnicode=0&showColumns=entry_nb_visits"
        ))
        .await?;
    assert_eq!(
        flat.text(),
        "label,entry_nb_visits,metadata_url,metadata_Actions_EntryPageUrl,metadata_segment\n\
         /,2,https://shop.example/,/,entryPageUrl==https%253A%252F%252Fshop.example%252F\n\
         /products/hats,1,https://shop.example/products/hats,/products/hats,entryPageUrl==https%253A%252F%252Fshop.example%252Fproducts%252Fhats"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn visits_by_day_of_week_sum_the_days_of_the_period() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // The week of 2026-11-10 (Tuesday: A and B) and 11 (Wednesday: C); a
    // weekday without visits keeps only its nb_visits, as Matomo's rows.
    let week = f
        .get("method=VisitTime.getByDayOfWeek&idSite=1&period=week&date=2026-11-10&format=json")
        .await?;
    assert_eq!(
        week.text(),
        concat!(
            r#"[{"label":"Monday","nb_visits":0,"day_of_week":1},"#,
            r#"{"label":"Tuesday","nb_visits":2,"nb_uniq_visitors":2,"nb_actions":4,"nb_users":0,"#,
            r#""sum_visit_length":202,"bounce_count":1,"nb_visits_converted":1,"day_of_week":2},"#,
            r#"{"label":"Wednesday","nb_visits":1,"nb_uniq_visitors":1,"nb_actions":2,"nb_users":0,"#,
            r#""sum_visit_length":31,"bounce_count":0,"nb_visits_converted":0,"day_of_week":3},"#,
            r#"{"label":"Thursday","nb_visits":0,"day_of_week":4},"#,
            r#"{"label":"Friday","nb_visits":0,"day_of_week":5},"#,
            r#"{"label":"Saturday","nb_visits":0,"day_of_week":6},"#,
            r#"{"label":"Sunday","nb_visits":0,"day_of_week":7}]"#
        )
    );
    // One period only, as in Matomo (an error answer, status 200 as its
    // API errors are).
    let many = f
        .get("method=VisitTime.getByDayOfWeek&idSite=1&period=day&date=last3&format=json")
        .await?;
    assert!(
        many.text().contains("does not support multiple dates"),
        "{}",
        many.text()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn conversion_ranges_are_labelled_as_matomo() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // A converts goal 1 on its first visit, the day it arrived: every range
    // is listed, in order, labelled by BeautifyRangeLabels.
    let labels_and_counts = |text: &str| -> anyhow::Result<Vec<(String, i64)>> {
        let rows: serde_json::Value = serde_json::from_str(text)?;
        Ok(rows
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                (
                    row["label"].as_str().unwrap_or_default().to_owned(),
                    row["nb_conversions"].as_i64().unwrap_or(-1),
                )
            })
            .collect())
    };
    let days = f
        .get(&format!(
            "method=Goals.getDaysToConversion&{DAY}&format=json"
        ))
        .await?;
    let days = labels_and_counts(&days.text())?;
    assert_eq!(days.first(), Some(&("0 days".to_owned(), 1)), "{days:?}");
    let labels: Vec<&str> = days.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(labels, DAYS_TO_CONVERSION);
    let visits = f
        .get(&format!(
            "method=Goals.getVisitsUntilConversion&{DAY}&format=json&idGoal=1"
        ))
        .await?;
    let visits = labels_and_counts(&visits.text())?;
    assert_eq!(
        visits.first(),
        Some(&("1 visit".to_owned(), 1)),
        "{visits:?}"
    );
    assert_eq!(
        visits
            .iter()
            .map(|(label, _)| label.as_str())
            .collect::<Vec<_>>(),
        VISITS_UNTIL_CONVERSION
    );
    Ok(())
}

/// Matomo's Events reports have `Report`'s default sort column, nb_visits
/// (its UI sorts them by nb_events, the API does not): a category seen in
/// two visits comes before one with more events in a single visit.
#[tokio::test(flavor = "multi_thread")]
async fn event_reports_are_sorted_by_visits_not_events() -> anyhow::Result<()> {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};

    let f = Fixture::new().await?;
    let tracker = tally_tracking::http::Tracker::start(
        f.db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);
    // Visitor 1 sends three "Busy" events and one "Wide"; visitor 2 one
    // "Wide": Busy has 3 events in 1 visit, Wide 2 events in 2 visits.
    for (visitor, ip, minute, category) in [
        ("1111111111111111", "198.51.100.1", 0, "Busy"),
        ("1111111111111111", "198.51.100.1", 1, "Busy"),
        ("1111111111111111", "198.51.100.1", 2, "Busy"),
        ("1111111111111111", "198.51.100.1", 3, "Wide"),
        ("2222222222222222", "198.51.100.2", 0, "Wide"),
    ] {
        let query = format!(
            "/matomo.php?idsite=1&rec=1&_id={visitor}&cip={ip}&cdt=2026-11-10%2015:0{minute}:00\
             &url=https%3A%2F%2Fshop.example%2Fplay&e_c={category}&e_a=play&token_auth={}",
            f.tokens.superuser
        );
        let answer = crate::common::send(&router, Request::get(query).body(Body::empty())?).await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    }
    let answer = f
        .get(&format!(
            "method=Events.getCategory&{DAY}&format=csv&convertToUnicode=0&showColumns=nb_visits,nb_events"
        ))
        .await?;
    assert_eq!(
        answer.text(),
        "label,nb_visits,nb_events,metadata_segment\nWide,2,2,eventCategory==Wide\nBusy,1,3,eventCategory==Busy"
    );
    Ok(())
}

/// `Goals.get` / `getMetrics` with an ecommerce `idGoal` add Matomo's
/// ecommerce columns (`Goals::getGoalColumns`) and the average order
/// revenue (`AverageOrderRevenue`) before the conversion rate.
#[tokio::test(flavor = "multi_thread")]
async fn goals_get_for_ecommerce_goals_has_their_columns() -> anyhow::Result<()> {
    use crate::common::Visit;
    use time::macros::datetime;

    let f = Fixture::new().await?;
    f.change_site_1(&tally_management::SiteChanges {
        ecommerce: Some(true),
        ..tally_management::SiteChanges::default()
    })?;
    // Two orders by one visitor in two visits (revenue 100, then 51 when
    // returning; three items), and a cart left by another visitor.
    let order = |id: &str, revenue: &str, items: &str| {
        format!(
            "&idgoal=0&ec_id={id}&revenue={revenue}&ec_st=90&ec_tx=5&ec_sh=5.5&ec_dt=1&ec_items={}",
            crate::common::encode(items)
        )
    };
    let visit = |visitor, hour| Visit {
        idsite: 1,
        visitor,
        start: datetime!(2026-11-12 00:00 UTC) + time::Duration::hours(hour),
        referrer: "",
        hits: &[(0, "/checkout", "Checkout")],
    };
    f.track_with(
        &[visit("eeeeeeeeeeeeeeee", 10)],
        &order("O1", "100", r#"[["A","a","",45,2]]"#),
    )
    .await?;
    f.track_with(
        &[visit("eeeeeeeeeeeeeeee", 11)],
        &order("O2", "51", r#"[["B","b","",51,1]]"#),
    )
    .await?;
    f.track_with(
        &[visit("dddddddddddddddd", 12)],
        &format!(
            "&idgoal=0&revenue=20&ec_items={}",
            crate::common::encode(r#"[["C","c","",10,2]]"#)
        ),
    )
    .await?;
    let day = "idSite=1&period=day&date=2026-11-12&format=json";
    let order = f
        .get(&format!(
            "method=Goals.getMetrics&{day}&idGoal=ecommerceOrder"
        ))
        .await?;
    assert_eq!(
        order.text(),
        r#"{"nb_conversions":2,"nb_visits_converted":2,"revenue":151,"revenue_subtotal":180,"revenue_tax":10,"revenue_shipping":11,"revenue_discount":2,"items":3,"avg_order_revenue":75.5,"conversion_rate":"66.67%"}"#
    );
    let cart = f
        .get(&format!(
            "method=Goals.getMetrics&{day}&idGoal=ecommerceAbandonedCart"
        ))
        .await?;
    assert_eq!(
        cart.text(),
        r#"{"nb_conversions":1,"nb_visits_converted":1,"revenue":20,"items":2,"avg_order_revenue":20,"conversion_rate":"33.33%"}"#
    );
    // A processed metric alone: its dependencies are fetched, not shown.
    // Both order visits start with their order, which makes them
    // returning-customer visits (`VisitorReturning::onNewVisit`).
    let average = f
        .get(&format!(
            "method=Goals.get&{day}&idGoal=ecommerceOrder&columns=avg_order_revenue"
        ))
        .await?;
    assert_eq!(
        average.text(),
        r#"{"avg_order_revenue":75.5,"avg_order_revenue_new_visit":0,"avg_order_revenue_returning_visit":75.5}"#
    );
    // `AverageOrderRevenue` formats as money (the site's currency).
    let formatted = f
        .get(&format!(
            "method=Goals.get&{day}&idGoal=ecommerceOrder&columns=avg_order_revenue,conversion_rate&format_metrics=1"
        ))
        .await?;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&formatted.text())?,
        serde_json::json!({
            "avg_order_revenue": "€75.50",
            "conversion_rate": "66.67%",
            "avg_order_revenue_new_visit": "€0",
            "conversion_rate_new_visit": "0%",
            "avg_order_revenue_returning_visit": "€75.50",
            "conversion_rate_returning_visit": "100%"
        })
    );
    Ok(())
}

/// `Goals.getItems*` as Matomo's `Goals\API::getItems` presents them: the
/// item processed metrics (`AveragePrice`, `AverageQuantity`,
/// `ProductConversionRate`), the viewed price of a product only viewed,
/// `Product … not defined`, `abandoned_carts` for carts, the product
/// segment, and no `price` column.
#[tokio::test(flavor = "multi_thread")]
async fn item_reports_have_matomos_processed_metrics() -> anyhow::Result<()> {
    use crate::common::Visit;
    use time::macros::datetime;

    let f = Fixture::new().await?;
    f.change_site_1(&tally_management::SiteChanges {
        ecommerce: Some(true),
        ..tally_management::SiteChanges::default()
    })?;
    let visit = |visitor, hour| Visit {
        idsite: 1,
        visitor,
        start: datetime!(2026-11-12 00:00 UTC) + time::Duration::hours(hour),
        referrer: "",
        hits: &[(0, "/product", "Product")],
    };
    // A views product A at 30 and orders three of them (10 and 20, 1 and
    // 2 units) plus one B without a category; C views product V at 7.5
    // and 8.5, then leaves two A in a cart.
    f.track_with(
        &[visit("eeeeeeeeeeeeeeee", 9)],
        "&_pks=A&_pkn=Apple&_pkc=Fruit&_pkp=30",
    )
    .await?;
    f.track_with(
        &[visit("eeeeeeeeeeeeeeee", 10)],
        &format!(
            "&idgoal=0&ec_id=O1&revenue=55&ec_items={}",
            crate::common::encode(
                r#"[["A","Apple","Fruit",10,1],["A2","Apple","Fruit",20,2],["B","Box","",5,1]]"#
            )
        ),
    )
    .await?;
    for (hour, price) in [(12, 7.5), (13, 8.5)] {
        f.track_with(
            &[visit("dddddddddddddddd", hour)],
            &format!("&_pks=V&_pkn=Vase&_pkc=Home&_pkp={price}"),
        )
        .await?;
    }
    f.track_with(
        &[visit("dddddddddddddddd", 14)],
        &format!(
            "&idgoal=0&revenue=20&ec_items={}",
            crate::common::encode(r#"[["A","Apple","Fruit",10,2]]"#)
        ),
    )
    .await?;
    let day = "idSite=1&period=day&date=2026-11-12&format=csv&convertToUnicode=0";
    // Apple's average price is its summed item prices per order, 30, as
    // Matomo divides them.
    let names = f.get(&format!("method=Goals.getItemsName&{day}")).await?;
    assert_eq!(
        names.text(),
        "label,revenue,quantity,orders,nb_visits,nb_uniq_visitors,nb_actions,avg_price,avg_quantity,conversion_rate,metadata_segment\n\
         Apple,50,3,1,1,1,1,30,3,100%,productName==Apple\n\
         Box,5,1,1,,,,5,1,0%,productName==Box\n\
         Vase,,,,2,1,2,8,0,0%,productName==Vase"
    );
    let categories = f
        .get(&format!(
            "method=Goals.getItemsCategory&{day}&showColumns=revenue,orders"
        ))
        .await?;
    assert!(
        categories.text().contains(
            "Product Category not defined,5,1,productCategory==Product+Category+not+defined"
        ),
        "{}",
        categories.text()
    );
    let carts = f
        .get(&format!("method=Goals.getItemsSku&{day}&abandonedCarts=1"))
        .await?;
    assert_eq!(
        carts.text(),
        "label,revenue,quantity,nb_visits,nb_uniq_visitors,nb_actions,abandoned_carts,avg_price,avg_quantity,conversion_rate,metadata_segment\n\
         A,20,2,1,1,1,1,10,2,100%,productSku==A\n\
         V,,,2,1,2,,8,0,0%,productSku==V"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_referrer_types_subtable_is_its_own_report() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // idSubtable=2 (search engines) answers Referrers.getKeywords, without
    // subtable ids; an id no type has answers the whole report.
    let base = format!("{DAY}&format=json&showColumns=nb_visits");
    let keywords = f
        .get(&format!("method=Referrers.getKeywords&{base}"))
        .await?
        .text();
    assert!(keywords.contains(r#""idsubdatatable""#), "{keywords}");
    let without_ids: String = {
        let mut out = String::new();
        let mut rest = keywords.as_str();
        while let Some(at) = rest.find(r#","idsubdatatable":"#) {
            out.push_str(&rest[..at]);
            let tail = &rest[at + r#","idsubdatatable":"#.len()..];
            rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        out.push_str(rest);
        out
    };
    let search = f
        .get(&format!(
            "method=Referrers.getReferrerType&{base}&idSubtable=2"
        ))
        .await?;
    assert_eq!(search.text(), without_ids);
    let whole = f
        .get(&format!("method=Referrers.getReferrerType&{base}"))
        .await?;
    let unknown = f
        .get(&format!(
            "method=Referrers.getReferrerType&{base}&idSubtable=9"
        ))
        .await?;
    assert_eq!(unknown.text(), whole.text());
    assert!(
        whole
            .text()
            .contains(r#""referrer_type":2,"idsubdatatable":2}"#),
        "{}",
        whole.text()
    );
    Ok(())
}
