//! `API.getSuggestedValuesForSegment` against Matomo's `AutoSuggestAPITest`
//! (`plugins/API/tests/System/`), whose traffic is
//! `ManyVisitsWithGeoIPAndEcommerce` from 2018-01-01 (the GeoIP fixture of
//! `matomo_many_visitors_fixture.rs` with product views and orders), and
//! against the CustomDimensions `AutoSuggestTest` (the fixture of
//! `matomo_custom_dimensions_fixture.rs`). The values are those of
//! Matomo's expected outputs, written here by hand.
//!
//! Matomo's test pins "now" for the segments with a date list to
//! 2018-02-02; the API's clock here is that day.

use serde_json::Value;
use time::macros::datetime;

use crate::common::{FixtureApi, reporting_api};

/// The API's clock: the day Matomo's test takes as today.
const NOW: time::OffsetDateTime = datetime!(2018-02-02 12:00 UTC);

/// The suggested values of `segment` joined with `|`, integers and
/// strings as JSON has them (`1` and `"1"` both print `1`).
async fn suggest(r: &FixtureApi, segment: &str) -> anyhow::Result<String> {
    let answer = r
        .json(&format!(
            "method=API.getSuggestedValuesForSegment&idSite=1&segmentName={segment}"
        ))
        .await?;
    let Value::Array(values) = answer else {
        anyhow::bail!("{segment}: not a list: {answer}");
    };
    Ok(values
        .iter()
        .map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("|"))
}

fn range(from: i64, to: i64) -> String {
    (from..=to)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("|")
}

async fn autosuggest_fixture() -> anyhow::Result<(tally_db::test_support::TestDb, FixtureApi)> {
    let (db, token) =
        crate::matomo_many_visitors_fixture::fixture_at(datetime!(2018-01-01 00:00:00), true)
            .await?;
    let api = reporting_api(&db)?;
    Ok((
        db,
        FixtureApi {
            api,
            token,
            now: NOW,
        },
    ))
}

/// The segments whose values are a list of their own (hours, minutes,
/// dates, enumerations, engines), whatever the traffic.
#[tokio::test]
async fn fixed_lists_match_matomo() -> anyhow::Result<()> {
    let (_db, r) = autosuggest_fixture().await?;
    let mut wrong = Vec::new();
    for (segment, expected) in [
        ("actionServerHour", range(0, 23)),
        ("visitStartServerHour", range(0, 23)),
        ("actionServerMinute", range(0, 30)),
        ("visitStartServerMinute", range(0, 30)),
        ("visitEndServerMinute", range(0, 30)),
        ("visitEndServerSecond", range(0, 30)),
        ("visitLocalMinute", range(0, 30)),
        ("visitEndServerDayOfMonth", range(0, 30)),
        ("visitEndServerDayOfWeek", range(1, 7)),
        ("visitEndServerDayOfYear", range(1, 30)),
        ("visitEndServerWeekOfYear", range(1, 30)),
        ("visitEndServerMonth", range(1, 12)),
        ("visitEndServerQuarter", range(1, 4)),
        ("visitEndServerYear", range(2016, 2046)),
        ("interactions", range(1, 30)),
        ("profilable", "0|1".to_owned()),
        (
            "actionType",
            "pageviews|contents|sitesearches|events|outlinks|downloads".to_owned(),
        ),
        (
            "visitEcommerceStatus",
            "none|ordered|abandonedCart|orderedThenAbandonedCart".to_owned(),
        ),
        ("visitorType", "returningCustomer|returning|new".to_owned()),
        (
            "referrerType",
            "direct|website|search|social|campaign".to_owned(),
        ),
        (
            "deviceType",
            "desktop|smartphone|tablet|feature phone|console|tv|car browser|smart display|\
             camera|portable media player|phablet|smart speaker|wearable|peripheral"
                .to_owned(),
        ),
        (
            "browserEngine",
            "WebKit|Blink|Trident|Text-based|Dillo|iCab|Elektra|Presto|Clecko|Gecko|KHTML|\
             NetFront|Edge|NetSurf|Servo|Goanna|EkiohFlow|Arachne|LibWeb"
                .to_owned(),
        ),
    ] {
        let found = suggest(&r, segment).await?;
        if found != expected {
            wrong.push(format!("{segment}: {found}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Today and the 30 days before it.
    let dates = suggest(&r, "visitEndServerDate").await?;
    let dates: Vec<&str> = dates.split('|').collect();
    assert_eq!(dates.len(), 31);
    assert_eq!(dates[0], "2018-02-02");
    assert_eq!(dates[1], "2018-02-01");
    assert_eq!(dates[30], "2018-01-03");
    Ok(())
}

/// The segments read from the visitor log: most frequent first, ties in
/// byte order.
#[tokio::test]
async fn visitor_log_values_match_matomo() -> anyhow::Result<()> {
    let (_db, r) = autosuggest_fixture().await?;
    let mut wrong = Vec::new();
    for (segment, expected) in [
        ("actions", "1|5|4"),
        // The union of page, download, outlink and event URLs.
        (
            "actionUrl",
            "http://piwik.net/space/quest/iv|http://piwik.net/grue/lair|\
             http://example-outlink.org/0.html|http://example-outlink.org/1.html|\
             http://example.org/path/file0.zip|http://example.org/path/file1.zip|\
             http://example-outlink.org/2.html|http://example-outlink.org/3.html|\
             http://example.org/path/file2.zip|http://example.org/path/file3.zip|\
             http://example-outlink.org/4.html|http://example-outlink.org/5.html|\
             http://example-outlink.org/6.html|http://example-outlink.org/7.html|\
             http://example-outlink.org/8.html|http://example.org/path/file4.zip|\
             http://example.org/path/file5.zip|http://example.org/path/file6.zip|\
             http://example.org/path/file7.zip|http://example.org/path/file8.zip",
        ),
        ("browserCode", "FF|CH|IE|AN|CM|QQ|SF"),
        ("browserVersion", "3.6|11|3|32|33|34|5|8"),
        (
            "city",
            "Stratford-upon-Avon|Vancouver|Besançon|Hluboká nad Vltavou|Lhasa|London|\
             Nuneaton and Bedworth|not a city",
        ),
        ("continentCode", "eur|amn|asi|unk"),
        ("countryCode", "gb|ca|ru|us|cn|fr|id|it|mk|xx"),
        ("deviceBrand", "Dell|Google|HTC|Samsung|Sony"),
        (
            "entryPageTitle",
            "It's <script> pitch black...|Space Quest XII|It's pitch black...",
        ),
        (
            "entryPageUrl",
            "http://piwik.net/grue/lair|http://piwik.net/space/quest/iv",
        ),
        (
            "exitPageUrl",
            "http://piwik.net/grue/lair|http://piwik.net/space/quest/iv",
        ),
        (
            "eventAction",
            "Action0|Action1|Action2|Action3|Action4|Action5|Action6|Action7|Action8",
        ),
        (
            "eventCategory",
            "Cat0|Cat1|Cat2|Cat3|Cat4|Cat5|Cat6|Cat7|Cat8",
        ),
        (
            "eventName",
            "Name0|Name1|Name2|Name3|Name4|Name5|Name6|Name7|Name8",
        ),
        ("eventUrl", "http://piwik.net/space/quest/iv"),
        (
            "eventValue",
            "345.678|346.678|347.678|348.678|349.678|350.678|351.678|352.678|353.678",
        ),
        ("events", "1"),
        ("languageCode", "fr"),
        ("latitude", "49.25|123.456|124.456|29.65|38|47.249|1"),
        ("longitude", "-123.133|-97|21.321|22.231|6.018|91.1|2"),
        ("operatingSystemCode", "WIN|AND|MLD|UBT"),
        (
            "operatingSystemVersion",
            "XP|4.1|4.3|4.4|7|8|8.1|9.04|Vista",
        ),
        ("orderId", "1001|1004|1007|2001|3001|3004|4001"),
        (
            "pageTitle",
            "It's <script> pitch black...|Space Quest XII|It's pitch black...",
        ),
        (
            "pageUrl",
            "http://piwik.net/grue/lair|http://piwik.net/space/quest/iv",
        ),
        (
            "productViewCategory",
            "Category1|Category2|Category3|Category4|Category7",
        ),
        ("productViewName", "MyName"),
        ("productViewPrice", "17.4"),
        ("productViewSku", "Custom SKU"),
        ("referrerKeyword", "wikileaks ftw"),
        ("referrerName", "Google"),
        ("referrerUrl", "http://google.com/?q=Wikileaks FTW"),
        ("regionCode", "BC|WAR|SPE|18|BFC|KEN|LND|XZ|CA"),
        ("resolution", "1024x768"),
        ("searches", "1"),
        ("siteSearchCategory", "CAT"),
        ("siteSearchCount", "12|24|36|48"),
        ("siteSearchKeyword", "Bring on the party"),
        ("userId", "userid.email@example.org"),
        ("visitConvertedGoalId", "1|2"),
        ("visitConvertedGoalName", "all|two"),
        ("visitConverted", "1"),
        ("visitCount", "1|2|3|4"),
        ("visitDuration", "1621|1|1623"),
        ("visitLocalHour", "12"),
        (
            "visitorId",
            "08f90c1a41715536|1bd69c7df3112fb9|908c9a564a864265|a9b7ba70783b617e|\
             aa68c75c4a77c87f|b8c37e33defde51c|e93028bdc1aacdfb|fba9d88164f3e2d9|\
             fed33392d3a48aa1|e64bc481700c5d69",
        ),
    ] {
        let found = suggest(&r, segment).await?;
        if found != expected {
            wrong.push(format!("{segment}: {found}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    Ok(())
}

/// `countryName`: the names of the countries the visits come from, by
/// number of visits, then the other countries in reverse byte order.
#[tokio::test]
async fn country_names_sorted_by_use_match_matomo() -> anyhow::Result<()> {
    let (_db, r) = autosuggest_fixture().await?;
    let countries = suggest(&r, "countryName").await?;
    assert_eq!(
        countries,
        "United Kingdom|Canada|Russia|United States|Unknown|North Macedonia|Italy|Indonesia|\
         France|China|Åland Islands|Zimbabwe|Zambia|Yemen|Western Sahara|Wallis & Futuna|\
         Vietnam|Venezuela|Vatican City|Vanuatu|Uzbekistan|Uruguay|United Arab Emirates|\
         Ukraine|Uganda|U.S. Virgin Islands|U.S. Outlying Islands|Türkiye|Tuvalu|\
         Turks & Caicos Islands"
    );
    Ok(())
}

/// `browserName` and `operatingSystemName` (names sorted by use, as
/// `countryName`) and `daysSinceFirstVisit`, then Matomo's second pass:
/// `VisitsSummary.get` over the range, segmented by the top suggestion.
/// Matomo's `daysSinceFirstVisit==1` selects the 8 visits exactly 86400
/// seconds after the visitor's first (`ROUND(seconds / 86400) = 1` would
/// also take the visits 90000 seconds after).
#[tokio::test]
async fn names_and_days_match_matomo() -> anyhow::Result<()> {
    let (_db, r) = autosuggest_fixture().await?;
    let browsers = suggest(&r, "browserName").await?;
    assert!(
        browsers.starts_with(
            "Firefox|Internet Explorer|Chrome|QQ Browser|Chrome Mobile|Android Browser|Safari|"
        ),
        "{browsers}"
    );
    let systems = suggest(&r, "operatingSystemName").await?;
    assert!(
        systems.starts_with("Windows|Android|Ubuntu|MildWild|webOS|"),
        "{systems}"
    );
    assert_eq!(suggest(&r, "daysSinceFirstVisit").await?, "1|0");
    let mut wrong = Vec::new();
    for (segment, visits, actions) in [
        ("secondsSinceFirstVisit==3600", 9, 45),
        // Matomo's test segments by the top suggestion except for a few
        // it names itself: `browserName==Chrome` (4 visits, 11 actions),
        // `operatingSystemName==Android` (6, 17), `countryName==France`
        // (2, 6); `browserCode==FF` is its top suggestion (20, 55).
        ("browserName==Chrome", 4, 11),
        ("browserCode==FF", 20, 55),
        ("operatingSystemName==Android", 6, 17),
        ("countryName==France", 2, 6),
        ("daysSinceFirstVisit==1", 8, 8),
        // `deviceBrand==Dell`: the top suggestion, a brand name (2, 6).
        ("deviceBrand==Dell", 2, 6),
        // Not in Matomo's outputs, but what its filters make of these:
        // the name becomes its code before the pattern is built, so a
        // contains match on a whole name selects the visits of `==`.
        ("deviceBrand=@Dell", 2, 6),
        ("countryName=@France", 2, 6),
        ("browserName==Firefox", 20, 55),
        ("operatingSystemCode==WIN", 25, 68),
        ("operatingSystemName==Windows", 25, 68),
    ] {
        let summary = r
            .json(&format!(
                "method=VisitsSummary.get&idSite=1&period=range&date=2018-01-01,2018-02-02\
                 &segment={segment}"
            ))
            .await?;
        if (
            summary["nb_visits"].as_i64(),
            summary["nb_actions"].as_i64(),
        ) != (Some(visits), Some(actions))
        {
            wrong.push(format!("{segment}: {summary}"));
        }
    }
    // `!@` on a name is `NOT LIKE` the code (NULLs included), so it
    // selects what `!=` on the code does.
    for (name_segment, code_segment) in [
        ("countryName!@France", "countryCode!=fr"),
        ("deviceBrand!@Dell", "deviceBrand!=Dell"),
    ] {
        let visits = |segment: String| {
            let r = &r;
            async move {
                let summary = r
                    .json(&format!(
                        "method=VisitsSummary.get&idSite=1&period=range&date=2018-01-01,2018-02-02\
                         &segment={segment}"
                    ))
                    .await?;
                anyhow::Ok(summary["nb_visits"].as_i64())
            }
        };
        let by_name = visits(name_segment.to_owned()).await?;
        let by_code = visits(code_segment.to_owned()).await?;
        if by_name != by_code || by_name.is_none_or(|n| n == 0) {
            wrong.push(format!(
                "{name_segment}: {by_name:?}, {code_segment}: {by_code:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    Ok(())
}

/// Matomo's answers without values, and its error for a segment it does
/// not list (the internal `productCategoryN` members).
#[tokio::test]
async fn empty_answers_and_unknown_segments_match_matomo() -> anyhow::Result<()> {
    let (_db, r) = autosuggest_fixture().await?;
    for segment in [
        "contentName",
        "contentPiece",
        "contentTarget",
        "contentInteraction",
        "daysSinceLastVisit",
        "revenueOrder",
        "revenueAbandonedCart",
        "visitId",
        "productName",
        "productSku",
        "productPrice",
        "productCategory",
    ] {
        assert_eq!(suggest(&r, segment).await?, "", "{segment}");
    }
    let (status, body) = r
        .raw("method=API.getSuggestedValuesForSegment&idSite=1&segmentName=productCategory1&format=xml")
        .await?;
    assert_eq!(status, 200);
    assert!(
        body.contains("<error message=\"Requested segment productCategory1 not found."),
        "{body}"
    );
    Ok(())
}

/// The CustomDimensions `AutoSuggestTest`: a visit dimension's values come
/// from the visits, an action dimension's from its report; the fixture's
/// visits are a month old.
#[tokio::test]
async fn custom_dimension_values_match_matomo() -> anyhow::Result<()> {
    let (_db, r) = crate::matomo_custom_dimensions_fixture::fixture().await?;
    let r = FixtureApi {
        now: datetime!(2013-02-24 12:00 UTC),
        ..r
    };
    assert_eq!(suggest(&r, "dimension1").await?, "value1|value5 1");
    assert_eq!(suggest(&r, "dimension3").await?, "en|value3|value5 3");
    let xml = r
        .xml("method=API.getSuggestedValuesForSegment&idSite=1&segmentName=dimension3")
        .await?;
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>en</row>\n\
         \t<row>value3</row>\n\t<row>value5 3</row>\n</result>"
    );
    // The site's active dimensions are segments of its metadata.
    let metadata = r
        .json("method=API.getSegmentsMetadata&idSites=1&_hideImplementationData=0")
        .await?
        .to_string();
    for listed in [
        r#"{"type":"dimension","category":"Visitors","name":"MyName1","segment":"dimension1","sqlSegment":"log_visit.custom_dimension_1","needsMostFrequentValues":true}"#,
        r#"{"type":"dimension","category":"Behaviour","name":"MyName3","segment":"dimension3","sqlSegment":"log_link_visit_action.custom_dimension_1","needsMostFrequentValues":true}"#,
        r#"{"type":"dimension","category":"Visitors","name":"MyName6","segment":"dimension6","sqlSegment":"log_visit.custom_dimension_4","needsMostFrequentValues":true}"#,
    ] {
        assert!(metadata.contains(listed), "{listed}: {metadata}");
    }
    // Sorted among the built-in ones by name, as in Matomo's
    // `CustomDimensions` system test: visit scope under Visitors, action
    // scope under Behaviour.
    let order: Vec<String> = serde_json::from_str::<Vec<Value>>(&metadata)?
        .iter()
        .map(|row| row["segment"].as_str().unwrap_or("").to_owned())
        .collect();
    let after = |name: &str, count: usize| -> Vec<&str> {
        let start = order.iter().position(|s| s == name).unwrap_or(order.len());
        order
            .iter()
            .skip(start)
            .take(count)
            .map(String::as_str)
            .collect()
    };
    assert_eq!(
        after("visitLocalHour", 5),
        [
            "visitLocalHour",
            "dimension1",
            "dimension2",
            "dimension6",
            "operatingSystemName"
        ]
    );
    assert_eq!(
        after("siteSearchCount", 4),
        ["siteSearchCount", "dimension3", "dimension5", "pageTitle"]
    );
    assert!(!metadata.contains("dimension4"), "{metadata}");
    // Values are for those who may view the site.
    let request = tally_reporting::ApiRequest::from_parts(
        "module=API&method=API.getSuggestedValuesForSegment&idSite=1&segmentName=dimension1\
         &format=json",
        None,
    );
    let answer = r.api.handle_at(&request, r.now);
    assert_eq!(answer.status, 401);
    let body = String::from_utf8(answer.body)?;
    assert!(body.contains("'view' access"), "{body}");
    // The inactive dimension 4 is not a segment.
    let (_, body) = r
        .raw("method=API.getSuggestedValuesForSegment&idSite=1&segmentName=dimension4&format=json")
        .await?;
    assert!(
        body.contains("Requested segment dimension4 not found."),
        "{body}"
    );
    Ok(())
}
