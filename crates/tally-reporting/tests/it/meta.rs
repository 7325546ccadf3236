//! The meta methods: report and segment metadata, processed reports.

use crate::common::Fixture;

#[tokio::test(flavor = "multi_thread")]
async fn report_metadata_lists_the_reports_and_the_sites_goals() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let all = f
        .get("method=API.getReportMetadata&idSite=1&format=json")
        .await?;
    let text = all.text();
    assert!(
        text.starts_with(concat!(
            r#"[{"category":"Visitors","subcategory":"Overview","name":"Visits Summary","module":"VisitsSummary","action":"get","#,
            r#""metrics":{"nb_uniq_visitors":"Unique visitors","nb_visits":"Visits","nb_users":"Users","nb_actions":"Actions","max_actions":"Maximum actions in one visit"},"#,
            r#""processedMetrics":{"bounce_rate":"Bounce Rate","nb_actions_per_visit":"Actions per Visit","avg_time_on_site":"Avg. Time on Website"},"#,
            r#""metricTypes":{"nb_uniq_visitors":"number","nb_visits":"number","nb_users":"number","nb_actions":"number","max_actions":"number","#,
            r#""bounce_rate":"percent","nb_actions_per_visit":"number","avg_time_on_site":"duration_s"},"order":1,"uniqueId":"VisitsSummary_get"}"#
        )),
        "{text}"
    );
    // The site's goal 1 has its own Goals.get entry.
    assert!(
        text.contains(
            r#""name":"Goal 1","module":"Goals","action":"get","parameters":{"idGoal":1}"#
        ),
        "{text}"
    );
    assert!(text.contains(r#""uniqueId":"Goals_get_idGoal--1""#));
    let one = f
        .get("method=API.getMetadata&idSite=1&apiModule=Actions&apiAction=getPageUrls&format=xml")
        .await?;
    assert_eq!(
        one.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\
         \t\t<category>Actions</category>\n\t\t<subcategory>Pages</subcategory>\n\t\t<name>Page URLs</name>\n\
         \t\t<module>Actions</module>\n\t\t<action>getPageUrls</action>\n\t\t<dimension>Page URL</dimension>\n\
         \t\t<metrics>\n\t\t\t<nb_hits>Pageviews</nb_hits>\n\t\t\t<nb_visits>Visits</nb_visits>\n\t\t</metrics>\n\
         \t\t<processedMetrics>\n\t\t\t<bounce_rate>Bounce Rate</bounce_rate>\n\t\t\t<avg_time_on_page>Avg. time on page</avg_time_on_page>\n\t\t\t<exit_rate>Exit rate</exit_rate>\n\t\t</processedMetrics>\n\
         \t\t<metricTypes>\n\t\t\t<nb_hits>number</nb_hits>\n\t\t\t<nb_visits>number</nb_visits>\n\t\t\t<bounce_rate>percent</bounce_rate>\n\t\t\t<avg_time_on_page>duration_s</avg_time_on_page>\n\t\t\t<exit_rate>percent</exit_rate>\n\t\t</metricTypes>\n\
         \t\t<actionToLoadSubTables>getPageUrls</actionToLoadSubTables>\n\
         \t\t<metricsGoal>\n\t\t\t<nb_conversions>Conversions</nb_conversions>\n\t\t\t<nb_conversions_attrib>Conversions</nb_conversions_attrib>\n\t\t\t<revenue_attrib>Revenue</revenue_attrib>\n\t\t</metricsGoal>\n\
         \t\t<processedMetricsGoal>\n\t\t\t<revenue_per_visit>Revenue per Visit</revenue_per_visit>\n\t\t\t<nb_conversions_page_rate>Viewed before conversion rate</nb_conversions_page_rate>\n\t\t</processedMetricsGoal>\n\
         \t\t<metricTypesGoal>\n\t\t\t<revenue_per_visit>money</revenue_per_visit>\n\t\t\t<nb_conversions>number</nb_conversions>\n\t\t\t<conversion_rate>percent</conversion_rate>\n\
         \t\t\t<nb_conversions_attrib>number</nb_conversions_attrib>\n\t\t\t<revenue_attrib>money</revenue_attrib>\n\t\t\t<nb_conversions_page_rate>percent</nb_conversions_page_rate>\n\t\t</metricTypesGoal>\n\
         \t\t<order>29</order>\n\t\t<uniqueId>Actions_getPageUrls</uniqueId>\n\
         \t</row>\n</result>"
    );
    // Another site's reports need view access to it.
    let denied = f
        .call(&format!(
            "method=API.getReportMetadata&idSite=1&format=json&token_auth={}",
            f.tokens.other_site
        ))
        .await?;
    assert!(
        denied
            .text()
            .contains("requires 'view' access for the website id = 1")
    );
    Ok(())
}

/// The goal metrics the Goals plugin adds to reports (Matomo 5's
/// `test_apiGetReportMetadata__API.getReportMetadata_day.xml`): visit
/// dimension reports, entry pages, ecommerce extras, none on reports
/// without goal metrics or with parameters.
#[tokio::test(flavor = "multi_thread")]
async fn report_metadata_lists_goal_metrics_as_matomo() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let metadata = |module: &str, action: &str, extra: &str| {
        format!(
            "method=API.getMetadata&idSite=1&apiModule={module}&apiAction={action}&format=json{extra}"
        )
    };
    let country = f.get(&metadata("UserCountry", "getCountry", "")).await?;
    assert!(
        country.text().contains(concat!(
            r#""metricsGoal":{"nb_conversions":"Conversions","revenue":"Revenue"},"#,
            r#""processedMetricsGoal":{"revenue_per_visit":"Revenue per Visit"},"#,
            r#""metricTypesGoal":{"revenue_per_visit":"money","nb_conversions":"number","conversion_rate":"percent","revenue":"money"},"#,
        )),
        "{}",
        country.text()
    );
    let entry = f
        .get(&metadata("Actions", "getEntryPageTitles", ""))
        .await?;
    assert!(
        entry.text().contains(concat!(
            r#""metricsGoal":{"nb_conversions":"Conversions","nb_conversions_entry":"Conversions","revenue_entry":"Revenue"},"#,
            r#""processedMetricsGoal":{"revenue_per_visit":"Revenue per Visit","revenue_per_entry":"Revenue per Entry","nb_conversions_entry_rate":"Conversion Rate"},"#,
            r#""metricTypesGoal":{"revenue_per_visit":"money","nb_conversions":"number","conversion_rate":"percent","nb_conversions_entry":"number","revenue_entry":"money","revenue_per_entry":"number","nb_conversions_entry_rate":"percent"},"#,
        )),
        "{}",
        entry.text()
    );
    // An ecommerce idGoal adds the order metrics to page reports, with
    // the type keyed as Matomo spells it.
    let ecommerce = f
        .get(&metadata(
            "Actions",
            "getPageTitles",
            "&idGoal=ecommerceOrder",
        ))
        .await?;
    assert!(
        ecommerce.text().contains(concat!(
            r#""processedMetricsGoal":{"revenue_per_visit":"Revenue per Visit","nb_conversions_page_rate":"Viewed before conversion rate","avg_order_revenue":"Average Order Value","items":"Purchased Products"},"#,
            r#""metricTypesGoal":{"revenue_per_visit":"money","nb_conversions":"number","conversion_rate":"percent","nb_conversions_attrib":"number","revenue_attrib":"money","nb_conversions_page_rate":"percent","avg_order_revenue":"money","itmes":"number"},"#,
        )),
        "{}",
        ecommerce.text()
    );
    let country_ecommerce = f
        .get(&metadata(
            "UserCountry",
            "getCountry",
            "&idGoal=ecommerceOrder",
        ))
        .await?;
    assert_eq!(country_ecommerce.text(), country.text());
    // Reports without goal metrics, and per-goal entries, have none.
    for (module, action) in [("Actions", "getExitPageUrls"), ("Events", "getCategory")] {
        let other = f.get(&metadata(module, action, "")).await?;
        assert!(other.text().contains(r#""uniqueId""#), "{}", other.text());
        assert!(!other.text().contains("metricsGoal"), "{}", other.text());
    }
    let all = f
        .get("method=API.getReportMetadata&idSite=1&format=json")
        .await?;
    let text = all.text();
    let goal_entry = text
        .split(r#"{"category""#)
        .find(|entry| entry.contains(r#""uniqueId":"Goals_get_idGoal--1""#))
        .expect("the goal's entry");
    assert!(!goal_entry.contains("metricsGoal"), "{goal_entry}");
    assert_eq!(text.matches(r#""metricsGoal""#).count(), 21, "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn segments_metadata_lists_the_catalogue() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let list = |text: &str| -> anyhow::Result<Vec<serde_json::Value>> {
        Ok(serde_json::from_str::<Vec<serde_json::Value>>(text)?)
    };
    let entry = |rows: &[serde_json::Value], segment: &str| {
        rows.iter()
            .find(|row| row["segment"] == segment)
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    // Matomo hides the SQL unless asked with `_hideImplementationData=0`.
    let text = f
        .get("method=API.getSegmentsMetadata&format=json")
        .await?
        .text();
    assert!(!text.contains("sqlSegment"), "{text}");
    assert!(
        text.starts_with(concat!(
            r#"[{"type":"metric","category":"Visitors","name":"Actions In Visit","segment":"actions"},"#,
            r#"{"type":"metric","category":"Visitors","name":"Days since first visit","segment":"daysSinceFirstVisit"},"#,
        )),
        "{text}"
    );
    let rows = list(&text)?;
    // Matomo's 121 less `bandwidth`; our `clientType` is not Matomo's.
    assert_eq!(rows.len(), 120);
    let order: Vec<&str> = rows
        .iter()
        .map(|row| row["segment"].as_str().unwrap_or(""))
        .collect();
    // Metrics first, then by name: "Browser" < "Browser code" < ...
    let at = |name: &str| order.iter().position(|s| *s == name);
    assert_eq!(at("visitIp"), Some(13));
    assert_eq!(
        order[14..18],
        [
            "browserName",
            "browserCode",
            "browserEngine",
            "browserVersion"
        ]
    );
    assert_eq!(
        order[23..26],
        [
            "operatingSystemName",
            "operatingSystemCode",
            "operatingSystemVersion"
        ]
    );
    // Custom variables by segment name; then Behaviour, Events,
    // Acquisition and Ecommerce.
    assert_eq!(
        order[57..60],
        [
            "customVariableName",
            "customVariableName1",
            "customVariableName2"
        ]
    );
    assert_eq!(at("actionType"), Some(81));
    assert_eq!(order.last().copied(), Some("productViewSku"));
    assert_eq!(at("clientType"), None);
    assert_eq!(
        entry(&rows, "visitIp"),
        concat!(
            r#"{"type":"metric","category":"Visitors","name":"Visitor IP","segment":"visitIp","#,
            r#""acceptedValues":"13.54.122.1. </code>Select IP ranges with notation: <code>visitIp>13.54.122.0;visitIp<13.54.122.255","#,
            r#""permission":true}"#
        )
    );
    assert_eq!(
        entry(&rows, "browserName"),
        r#"{"type":"dimension","category":"Visitors","name":"Browser","segment":"browserName","acceptedValues":"FireFox, Internet Explorer, Chrome, Safari, Opera etc."}"#
    );
    assert_eq!(
        entry(&rows, "actionUrl"),
        r#"{"type":"dimension","category":"Behaviour","name":"Action URL","segment":"actionUrl","unionOfSegments":["pageUrl","downloadUrl","outlinkUrl","eventUrl"]}"#
    );
    assert_eq!(
        entry(&rows, "countryCode"),
        r#"{"type":"dimension","category":"Visitor location","name":"Country code","segment":"countryCode","acceptedValues":"ISO 3166-1 alpha-2 country codes (de, us, fr, in, es, etc.)"}"#
    );
    assert!(
        entry(&rows, "deviceBrand").contains(r#""acceptedValues":"Acer, Alcatel, Amazon, Apple, "#),
        "{}",
        entry(&rows, "deviceBrand")
    );

    let text = f
        .get("method=API.getSegmentsMetadata&_hideImplementationData=0&format=json")
        .await?
        .text();
    let rows = list(&text)?;
    assert_eq!(
        entry(&rows, "daysSinceFirstVisit"),
        r#"{"type":"metric","category":"Visitors","name":"Days since first visit","segment":"daysSinceFirstVisit","sqlSegment":"log_visit.visitor_seconds_since_first","needsMostFrequentValues":true}"#
    );
    assert_eq!(
        entry(&rows, "operatingSystemName"),
        r#"{"type":"dimension","category":"Visitors","name":"Operating system","segment":"operatingSystemName","sqlSegment":"log_visit.config_os","needsMostFrequentValues":false,"acceptedValues":"Windows, Linux, Mac, Android, iOS etc."}"#
    );
    assert_eq!(
        entry(&rows, "productCategory"),
        r#"{"type":"dimension","category":"Ecommerce","name":"Product Category","segment":"productCategory","sqlSegment":null,"needsMostFrequentValues":true,"unionOfSegments":["productCategory1","productCategory2","productCategory3","productCategory4","productCategory5"]}"#
    );
    assert_eq!(
        entry(&rows, "visitConvertedGoalName"),
        r#"{"type":"dimension","category":"Visitors","name":"Visit converted a specific Goal Name","segment":"visitConvertedGoalName","sqlSegment":"log_conversion.idgoal","needsMostFrequentValues":true,"acceptedValues":"myGoal, myOtherGoal, etc."}"#
    );
    // `GetSegmentsMetadataAPITest`: the visitor id is a segment.
    assert!(text.contains(r#""segment":"visitorId""#), "{text}");

    // The anonymous user may list them once it views a site, and is told
    // it may not use the registered users' segments.
    f.get(
        "method=UsersManager.setUserAccess&userLogin=anonymous&access=view&idSites=2&format=json",
    )
    .await?;
    let text = f
        .call("method=API.getSegmentsMetadata&format=json")
        .await?
        .text();
    let rows = list(&text)?;
    assert!(
        entry(&rows, "userId").ends_with(r#","permission":false}"#),
        "{text}"
    );
    assert_eq!(
        rows.iter().filter(|row| row["permission"] == false).count(),
        5
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn processed_report_splits_rows_and_metadata() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let answer = f
        .get("method=API.getProcessedReport&idSite=1&period=day&date=2026-11-10&apiModule=Referrers&apiAction=getReferrerType&format=json&showColumns=nb_visits,nb_actions")
        .await?;
    let text = answer.text();
    assert!(
        text.starts_with(r#"{"website":"Shop","prettyDate":"Tuesday, November 10, 2026","metadata":{"category":"Referrers","subcategory":"All Channels","name":"Channel Type""#),
        "{text}"
    );
    assert!(
        text.contains(concat!(
            r#""reportData":[{"label":"Direct Entry","nb_visits":1,"nb_actions":1},{"label":"Search Engines","nb_visits":1,"nb_actions":3}],"#,
            // Each type but direct entries names its report by the type
            // id, as Matomo's expected processed reports show it.
            r#""reportMetadata":[{"segment":"referrerType==direct","referrer_type":1},{"segment":"referrerType==search","referrer_type":2,"idsubdatatable":2}],"#,
            r#""reportTotal":{"nb_visits":2,"nb_actions":4}}"#
        )),
        "{text}"
    );
    // XML as Matomo's `renderArray`: nested arrays as elements, the row
    // tables as `<row>`s.
    let xml = f
        .get("method=API.getProcessedReport&idSite=1&period=day&date=2026-11-10&apiModule=Referrers&apiAction=getReferrerType&format=xml&showColumns=nb_visits,nb_actions")
        .await?
        .text();
    for part in [
        "<result>\n\t<website>Shop</website>\n\t<prettyDate>Tuesday, November 10, 2026</prettyDate>\n\t<metadata>\n\t\t<category>Referrers</category>",
        "\t\t<metrics>\n\t\t\t<nb_visits>Visits</nb_visits>",
        "\t<reportData>\n\t\t<row>\n\t\t\t<label>Direct Entry</label>\n\t\t\t<nb_visits>1</nb_visits>\n\t\t\t<nb_actions>1</nb_actions>\n\t\t</row>",
        "\t<reportMetadata>\n\t\t<row>\n\t\t\t<segment>referrerType==direct</segment>",
        "\t<reportTotal>\n\t\t<nb_visits>2</nb_visits>\n\t\t<nb_actions>4</nb_actions>\n\t</reportTotal>\n</result>",
    ] {
        assert!(xml.contains(part), "{part}\n{xml}");
    }
    // A simple report of one column renders as `<value>`, with empty
    // metadata and totals (the shape of Matomo's
    // test_OneVisitorTwoVisits_showColumns_onlyOne__API.getProcessedReport_day.xml).
    let one = f
        .get("method=API.getProcessedReport&idSite=1&period=day&date=2026-11-10&apiModule=VisitsSummary&apiAction=get&format=xml&columns=nb_visits")
        .await?
        .text();
    assert!(
        one.ends_with("\t<reportData>\n\t\t<value>2</value>\n\t</reportData>\n\t<reportMetadata />\n\t<reportTotal>\n\t</reportTotal>\n</result>"),
        "{one}"
    );
    Ok(())
}

/// Matomo's `ReportTotalsCalculator` totals every stored column of the
/// archived rows before the generic filters (so `filter_limit` does not
/// shorten them) and `calculateTotals` keeps `nb_actions_per_visit` but
/// no rate or average; `hideColumns` applies to the totals too (the shape
/// of `test_apiGetReportMetadata__API.getProcessedReport_day.xml`).
#[tokio::test(flavor = "multi_thread")]
async fn processed_report_totals_every_stored_column() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let text = f
        .get("method=API.getProcessedReport&idSite=1&period=day&date=2026-11-10&apiModule=Referrers&apiAction=getReferrerType&format=json&filter_limit=1&hideColumns=max_actions")
        .await?
        .text();
    let answer: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(
        answer["reportData"].as_array().map(Vec::len),
        Some(1),
        "{text}"
    );
    assert_eq!(
        answer["reportTotal"].to_string(),
        concat!(
            r#"{"nb_uniq_visitors":2,"nb_visits":2,"nb_actions":4,"nb_users":0,"sum_visit_length":202,"#,
            r#""bounce_count":1,"nb_visits_converted":1,"#,
            r#""goals":{"idgoal=1":{"nb_conversions":1,"nb_visits_converted":1,"revenue":5}},"#,
            r#""nb_conversions":1,"revenue":5,"nb_actions_per_visit":2}"#
        ),
        "{text}"
    );
    Ok(())
}
