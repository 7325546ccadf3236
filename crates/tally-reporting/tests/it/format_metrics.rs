//! `format_metrics=1|all` compared with literal expected outputs, the
//! values worked out by hand from `common::traffic` (see `reports.rs`) and
//! Matomo's English formats: on 2026-11-10, 2 visits, 1 bounce, 202 s in
//! all (101 s each: `"1 min 41s"`), goal 1 converted once for 5 (sites
//! are in EUR: `"€5"`, JSON-escaped as `"\u20ac5"`).

use time::macros::datetime;

use crate::common::{Fixture, Visit};

const DAY: &str = "idSite=1&period=day&date=2026-11-10";

#[tokio::test(flavor = "multi_thread")]
async fn visits_summary_formats_its_metric_objects_with_1() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let json = f
        .get(&format!(
            "method=VisitsSummary.get&{DAY}&format=json&format_metrics=1"
        ))
        .await?;
    // Stored metrics stay numbers; nb_actions_per_visit has no format of
    // its own.
    assert_eq!(
        json.text(),
        r#"{"nb_uniq_visitors":2,"nb_users":0,"nb_visits":2,"nb_actions":4,"nb_visits_converted":1,"bounce_count":1,"sum_visit_length":202,"max_actions":3,"bounce_rate":"50%","nb_actions_per_visit":2,"avg_time_on_site":"1 min 41s"}"#
    );
    let csv = f
        .get(&format!(
            "method=VisitsSummary.get&{DAY}&format=csv&convertToUnicode=0&format_metrics=1"
        ))
        .await?;
    assert_eq!(
        csv.text(),
        "nb_uniq_visitors,nb_users,nb_visits,nb_actions,nb_visits_converted,bounce_count,sum_visit_length,max_actions,bounce_rate,nb_actions_per_visit,avg_time_on_site\n\
         2,0,2,4,1,1,202,3,50%,2,1 min 41s"
    );
    // The week: 3 visits, 233 s (78 s each), 1 bounce of 3.
    let week = f
        .get("method=VisitsSummary.get&idSite=1&period=week&date=2026-11-11&format=json&format_metrics=1&columns=bounce_rate,avg_time_on_site")
        .await?;
    assert_eq!(
        week.text(),
        r#"{"bounce_rate":"33%","avg_time_on_site":"1 min 18s"}"#
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn visits_summary_with_all_matches_1_having_no_revenue() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let xml = f
        .get(&format!(
            "method=VisitsSummary.get&{DAY}&format=xml&format_metrics=all"
        ))
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<nb_uniq_visitors>2</nb_uniq_visitors>\n\t<nb_users>0</nb_users>\n\
         \t<nb_visits>2</nb_visits>\n\t<nb_actions>4</nb_actions>\n\
         \t<nb_visits_converted>1</nb_visits_converted>\n\t<bounce_count>1</bounce_count>\n\
         \t<sum_visit_length>202</sum_visit_length>\n\t<max_actions>3</max_actions>\n\
         \t<bounce_rate>50%</bounce_rate>\n\t<nb_actions_per_visit>2</nb_actions_per_visit>\n\
         \t<avg_time_on_site>1 min 41s</avg_time_on_site>\n</result>"
    );
    // Multi-period maps are formatted per day (columns in the report's
    // order); a day without visits is an empty table there, as in Matomo's
    // outputs (`test_noVisit_PeriodIsLast__VisitsSummary.get_day.xml`).
    let days = f
        .get("method=VisitsSummary.get&idSite=1&period=day&date=2026-11-11,2026-11-12&format=json&format_metrics=all&columns=nb_visits,avg_time_on_site,bounce_rate")
        .await?;
    assert_eq!(
        days.text(),
        concat!(
            r#"{"2026-11-11":{"nb_visits":1,"bounce_rate":"0%","avg_time_on_site":"31s"},"#,
            r#""2026-11-12":[]}"#
        )
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn revenue_is_money_in_the_site_currency_with_all_only() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let all = f
        .get(&format!(
            "method=Goals.getMetrics&{DAY}&format=json&idGoal=1&format_metrics=all"
        ))
        .await?;
    assert_eq!(
        all.text(),
        r#"{"nb_conversions":1,"nb_visits_converted":1,"revenue":"\u20ac5","conversion_rate":"50%"}"#
    );
    let one = f
        .get(&format!(
            "method=Goals.getMetrics&{DAY}&format=json&idGoal=1&format_metrics=1"
        ))
        .await?;
    assert_eq!(
        one.text(),
        r#"{"nb_conversions":1,"nb_visits_converted":1,"revenue":5,"conversion_rate":"50%"}"#
    );
    // Goals.get: each visitor type's revenue too.
    let xml = f
        .get(&format!(
            "method=Goals.get&{DAY}&format=xml&idGoal=1&format_metrics=all&columns=revenue,conversion_rate"
        ))
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\
         \t<revenue>€5</revenue>\n\t<conversion_rate>50%</conversion_rate>\n\
         \t<revenue_new_visit>€5</revenue_new_visit>\n\t<conversion_rate_new_visit>50%</conversion_rate_new_visit>\n\
         \t<revenue_returning_visit>€0</revenue_returning_visit>\n\t<conversion_rate_returning_visit>0%</conversion_rate_returning_visit>\n</result>"
    );
    // A report without metric objects is not formatted at all, as in
    // Matomo: the referrer types keep their revenue as a number. (The
    // first row has no revenue, so Matomo's Sorter sorts by visits, then
    // label, instead.)
    let types = f
        .get(&format!(
            "method=Referrers.getReferrerType&{DAY}&format=json&format_metrics=all&showColumns=nb_visits,revenue&filter_sort_column=revenue"
        ))
        .await?;
    assert_eq!(
        types.text(),
        r#"[{"label":"Direct Entry","nb_visits":1,"segment":"referrerType==direct","referrer_type":1},{"label":"Search Engines","nb_visits":1,"revenue":5,"segment":"referrerType==search","referrer_type":2,"idsubdatatable":2}]"#
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn money_with_cents_and_thousands() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    {
        let mut conn = f.db.conn()?;
        let goal = tally_management::GoalParams {
            revenue: 1234.5,
            ..tally_management::GoalParams::new("Big", "url", "big-order", "contains")
        };
        tally_management::add_goal(
            &mut conn,
            &tally_management::Principal::super_user("test"),
            1,
            &goal,
        )?;
    }
    f.track(&[Visit {
        idsite: 1,
        visitor: "eeeeeeeeeeeeeeee",
        start: datetime!(2026-11-12 10:00 UTC),
        referrer: "",
        hits: &[(0, "/", "Home"), (20, "/big-order", "Order")],
    }])
    .await?;
    let day = "idSite=1&period=day&date=2026-11-12&idGoal=2&format_metrics=all";
    let json = f
        .get(&format!("method=Goals.getMetrics&{day}&format=json"))
        .await?;
    assert_eq!(
        json.text(),
        r#"{"nb_conversions":1,"nb_visits_converted":1,"revenue":"\u20ac1,234.50","conversion_rate":"100%"}"#
    );
    // The grouping comma makes CSV quote the value.
    let csv = f
        .get(&format!(
            "method=Goals.getMetrics&{day}&format=csv&convertToUnicode=0"
        ))
        .await?;
    assert_eq!(
        csv.text(),
        "nb_conversions,nb_visits_converted,revenue,conversion_rate\n1,1,\"€1,234.50\",100%"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn page_times_are_clocks_and_visit_times_sentences() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let pages = f
        .get(&format!(
            "method=Actions.getPageUrls&{DAY}&format=json&flat=1&format_metrics=1&showColumns=nb_hits,avg_time_on_page,bounce_rate,exit_rate"
        ))
        .await?;
    assert_eq!(
        pages.text(),
        concat!(
            r#"[{"label":"\/","nb_hits":2,"avg_time_on_page":"00:00:50","bounce_rate":"50%","exit_rate":"50%","url":"https:\/\/shop.example\/","Actions_PageUrl":"\/","segment":"pageUrl==https%253A%252F%252Fshop.example%252F"},"#,
            r#"{"label":"\/products\/shoes","nb_hits":1,"avg_time_on_page":"00:01:40","bounce_rate":"0%","exit_rate":"0%","url":"https:\/\/shop.example\/products\/shoes","Actions_PageUrl":"\/products\/shoes","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fproducts%252Fshoes"},"#,
            r#"{"label":"\/thank-you","nb_hits":1,"avg_time_on_page":"00:00:00","bounce_rate":"0%","exit_rate":"100%","url":"https:\/\/shop.example\/thank-you","Actions_PageUrl":"\/thank-you","segment":"pageUrl==https%253A%252F%252Fshop.example%252Fthank-you"}]"#
        )
    );
    let frequency = f
        .get(&format!(
            "method=VisitFrequency.get&{DAY}&format=json&format_metrics=1&columns=avg_time_on_site_new,nb_actions_per_visit_new,bounce_rate_new,avg_time_on_site_returning"
        ))
        .await?;
    assert_eq!(
        frequency.text(),
        r#"{"bounce_rate_new":"50%","nb_actions_per_visit_new":2,"avg_time_on_site_new":"1 min 41s","avg_time_on_site_returning":"0s"}"#
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_and_unknown_values_as_matomo_reads_them() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let columns = "columns=bounce_rate,avg_time_on_site";
    let run = |value: &'static str| {
        let f = &f;
        async move {
            f.get(&format!(
                "method=VisitsSummary.get&{DAY}&format=json&{columns}&format_metrics={value}"
            ))
            .await
            .map(|answer| answer.text())
        }
    };
    // Empty is Matomo's fallback 0, not the default bc.
    assert_eq!(
        run("").await?,
        r#"{"bounce_rate":0.5,"avg_time_on_site":101}"#
    );
    assert_eq!(
        run("00").await?,
        r#"{"bounce_rate":0.5,"avg_time_on_site":101}"#
    );
    assert_eq!(
        run("bc").await?,
        r#"{"bounce_rate":"50%","avg_time_on_site":101}"#
    );
    // Any other value formats like 1, without an error.
    assert_eq!(
        run("yes").await?,
        r#"{"bounce_rate":"50%","avg_time_on_site":"1 min 41s"}"#
    );
    // Goals.get forwards an empty value to its sub-requests as bc.
    let goals = f
        .get(&format!(
            "method=Goals.get&{DAY}&format=json&idGoal=1&format_metrics=&columns=conversion_rate"
        ))
        .await?;
    assert_eq!(
        goals.text(),
        r#"{"conversion_rate":"50%","conversion_rate_new_visit":"50%","conversion_rate_returning_visit":"0%"}"#
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ecommerce_items_in_dollars_and_processed_report_totals() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    f.change_site_1(&tally_management::SiteChanges {
        ecommerce: Some(true),
        currency: Some("USD".to_owned()),
        ..tally_management::SiteChanges::default()
    })?;
    // One order of two shoes at 520.25: item revenue 1,040.50.
    f.track_with(
        &[Visit {
            idsite: 1,
            visitor: "ffffffffffffffff",
            start: datetime!(2026-11-12 10:00 UTC),
            referrer: "",
            hits: &[(0, "/checkout", "Checkout")],
        }],
        &format!(
            "&idgoal=0&ec_id=A1&revenue=1040.5&ec_items={}",
            crate::common::encode(r#"[["SKU1","Shoe",["Shoes"],520.25,2]]"#)
        ),
    )
    .await?;
    let day = "idSite=1&period=day&date=2026-11-12&format=json&format_metrics=all";
    let items = f
        .get(&format!(
            "method=Goals.getItemsSku&{day}&showColumns=revenue,quantity,orders"
        ))
        .await?;
    assert_eq!(
        items.text(),
        r#"[{"label":"SKU1","revenue":"$1,040.50","quantity":2,"orders":1,"segment":"productSku==SKU1"}]"#
    );
    let processed = f
        .get(&format!(
            "method=API.getProcessedReport&{day}&apiModule=Goals&apiAction=getItemsSku&showColumns=revenue,quantity,orders"
        ))
        .await?;
    // The rows are formatted, the totals are over the values before
    // formatting (Matomo totals first).
    let text = processed.text();
    assert!(
        text.contains(concat!(
            r#""reportData":[{"label":"SKU1","revenue":"$1,040.50","quantity":2,"orders":1}],"#,
            r#""reportMetadata":[{"segment":"productSku==SKU1"}],"reportTotal":{"revenue":1040.5,"quantity":2,"orders":1}}"#
        )),
        "{text}"
    );
    Ok(())
}

/// Matomo's `reportTotal` of an items report sums the rows' `price`
/// (`Goals\API::getItems` deletes it with a queued filter, after the
/// totals): Ecommerce's `test_ecommerceOrderWithItems` has a `price` of
/// 2111.22 in its `ItemsSku` totals, between `quantity` and `orders`,
/// where no row shows one.
#[tokio::test(flavor = "multi_thread")]
async fn processed_item_report_totals_keep_the_price() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    f.change_site_1(&tally_management::SiteChanges {
        ecommerce: Some(true),
        ..tally_management::SiteChanges::default()
    })?;
    // Two shoes at 520.25 and a sock at 10. `price` is the unit prices
    // summed over the orders (Matomo's `avg_price` is `price / orders`),
    // so 520.25 + 10, where the revenue is 1,040.50 + 10.
    f.track_order(
        "dddddddddddddddd",
        datetime!(2026-11-12 10:00 UTC),
        (
            "C3",
            "1050.5",
            r#"[["SKU1","Shoe",["Shoes"],520.25,2],["SKU2","Sock",["Socks"],10,1]]"#,
        ),
    )
    .await?;
    let processed = f
        .get("method=API.getProcessedReport&idSite=1&period=day&date=2026-11-12&format=json&format_metrics=0&apiModule=Goals&apiAction=getItemsSku")
        .await?;
    let answer: serde_json::Value = serde_json::from_str(&processed.text())?;
    let total = &answer["reportTotal"];
    assert_eq!(total["revenue"], serde_json::json!(1050.5), "{total}");
    assert_eq!(total["quantity"], serde_json::json!(3), "{total}");
    assert_eq!(total["price"], serde_json::json!(530.25), "{total}");
    assert_eq!(total["orders"], serde_json::json!(2), "{total}");
    let names: Vec<&str> = total
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let at = |name: &str| names.iter().position(|n| *n == name);
    assert!(
        at("quantity") < at("price") && at("price") < at("orders"),
        "{names:?}"
    );
    let rows = answer["reportData"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|row| row.get("price").is_none()),
        "{rows:?}"
    );
    // The report itself never shows it.
    let items = f
        .get("method=Goals.getItemsSku&idSite=1&period=day&date=2026-11-12&format=json&format_metrics=0&hideColumns=nb_visits")
        .await?;
    assert!(!items.text().contains("\"price\""), "{}", items.text());
    Ok(())
}

/// Item rows keep their revenue under the item metric id (23), not the
/// goal revenue id (9): the default sort by `revenue` must still find it.
#[tokio::test(flavor = "multi_thread")]
async fn ecommerce_items_are_sorted_by_their_revenue() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    f.change_site_1(&tally_management::SiteChanges {
        ecommerce: Some(true),
        ..tally_management::SiteChanges::default()
    })?;
    // SKU-A sorts first by label, SKU-B earns more.
    f.track_order(
        "eeeeeeeeeeeeeeee",
        datetime!(2026-11-12 10:00 UTC),
        (
            "B2",
            "110",
            r#"[["SKU-A","Sock",["Socks"],10,1],["SKU-B","Boot",["Boots"],100,1]]"#,
        ),
    )
    .await?;
    let items = f
        .get("method=Goals.getItemsSku&idSite=1&period=day&date=2026-11-12&format=json&format_metrics=0&showColumns=revenue")
        .await?;
    assert_eq!(
        items.text(),
        r#"[{"label":"SKU-B","revenue":100,"segment":"productSku==SKU-B"},{"label":"SKU-A","revenue":10,"segment":"productSku==SKU-A"}]"#
    );
    Ok(())
}
