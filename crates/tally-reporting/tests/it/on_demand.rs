//! Archiving during requests (issue 7): built once for concurrent identical
//! requests, and only read when browser archiving is off.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use tally_reporting::ReportingConfig;

use crate::common::Fixture;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Archives (done flags) of site 1 for a period code and dates.
fn archives(f: &Fixture, period: u8, date1: &str, date2: &str) -> anyhow::Result<i64> {
    let mut conn = f.db.conn()?;
    let table = format!("archive_numeric_{}", &date1[..7].replace('-', "_"));
    let exists: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind::<diesel::sql_types::Text, _>(&table)
    .get_result(&mut conn)?;
    if exists.n == 0 {
        return Ok(0);
    }
    let count: Count = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM archive_numeric_{} \
         WHERE idsite = 1 AND period = ? AND date1 = ? AND date2 = ? AND name LIKE 'done%'",
        &date1[..7].replace('-', "_")
    ))
    .bind::<diesel::sql_types::Unsigned<diesel::sql_types::TinyInt>, _>(period)
    .bind::<diesel::sql_types::Text, _>(date1)
    .bind::<diesel::sql_types::Text, _>(date2)
    .get_result(&mut conn)?;
    Ok(count.n)
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_identical_requests_archive_once() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let query = "method=VisitsSummary.get&idSite=1&period=range&date=2026-11-09,2026-11-12&format=json&columns=nb_visits";
    let answers = futures_join(&f, query, 6).await?;
    for answer in &answers {
        assert_eq!(answer, r#"{"value":3}"#);
    }
    // One column renders as a bare value, as in Matomo. One range
    // archive, and each of its days archived once.
    assert_eq!(archives(&f, 5, "2026-11-09", "2026-11-12")?, 1);
    assert_eq!(archives(&f, 1, "2026-11-10", "2026-11-10")?, 1);
    Ok(())
}

async fn futures_join(f: &Fixture, query: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let api = f.api.clone();
        let request = tally_reporting::ApiRequest::from_parts(
            &format!("module=API&{query}&token_auth={}", f.tokens.superuser),
            None,
        );
        tasks.push(tokio::task::spawn_blocking(move || {
            api.handle_at(&request, crate::common::NOW)
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(String::from_utf8_lossy(&task.await?.body).into_owned());
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn without_browser_archiving_only_stored_archives_are_read() -> anyhow::Result<()> {
    let f = Fixture::with_config(ReportingConfig {
        browser_archiving: false,
        ..ReportingConfig::default()
    })
    .await?;
    let day = "method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10&format=json&columns=nb_visits";
    // Nothing archived yet: the day reads as empty and nothing is built.
    assert_eq!(f.get(day).await?.text(), r#"{"value":0}"#);
    assert_eq!(archives(&f, 1, "2026-11-10", "2026-11-10")?, 0);
    // Ranges are always archived on demand (from their days).
    let range = f
        .get("method=VisitsSummary.get&idSite=1&period=range&date=2026-11-10,2026-11-11&format=json&columns=nb_visits")
        .await?;
    assert_eq!(range.text(), r#"{"value":3}"#);
    // The day archived for the range now answers the day.
    assert_eq!(f.get(day).await?.text(), r#"{"value":2}"#);
    // So do segments.
    let segment = f
        .get("method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10&format=json&columns=nb_visits&segment=visitorType%3D%3Dnew")
        .await?;
    assert_eq!(segment.text(), r#"{"value":2}"#);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn several_sites_and_periods_nest_site_outside() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let json = f
        .get("method=VisitsSummary.getVisits&idSite=1,2&period=day&date=2026-11-10,2026-11-11&format=json")
        .await?;
    assert_eq!(
        json.text(),
        r#"{"1":{"2026-11-10":2,"2026-11-11":1},"2":{"2026-11-10":1,"2026-11-11":0}}"#
    );
    let xml = f
        .get("method=VisitsSummary.getVisits&idSite=1,2&period=month&date=2026-11-10,2026-11-11&format=xml")
        .await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<results>\n\
         \t<result idSite=\"1\">\n\t\t<result date=\"2026-11\">3</result>\n\t</result>\n\
         \t<result idSite=\"2\">\n\t\t<result date=\"2026-11\">1</result>\n\t</result>\n</results>"
    );
    Ok(())
}

/// Matomo's `UnprocessedSegmentsTest` (SegmentEditor), with
/// `browser_archiving_disabled_enforce` on and browser archiving off: a
/// segment the archiver has not built answers Matomo's error while visits
/// match (one message for a definition that is not stored, another naming
/// the stored segment), zeros when none match, its data once built, and
/// no error for several sites.
#[tokio::test(flavor = "multi_thread")]
async fn unprocessed_segments_answer_matomos_errors() -> anyhow::Result<()> {
    let f = Fixture::with_config(ReportingConfig {
        browser_archiving: false,
        browser_archiving_disabled_enforce: true,
        ..ReportingConfig::default()
    })
    .await?;
    let week = |site: &str, segment: &str| {
        format!(
            "method=VisitsSummary.get&idSite={site}&period=week&date=2026-11-10&format=json\
             &columns=nb_visits&segment={segment}"
        )
    };
    let firefox = "browserCode%3D%3DFF";
    let message = |text: String| -> anyhow::Result<String> {
        let answer: serde_json::Value = serde_json::from_str(&text)?;
        Ok(answer["message"].as_str().unwrap_or(&text).to_owned())
    };
    let custom = message(f.get(&week("1", firefox)).await?.text())?;
    assert!(
        custom.starts_with(
            "The Segment you requested has not yet been created in the Segment Editor and so \
             the report data has not been pre-processed."
        ) && custom.ends_with(
            "When using this API method, you will see which users and actions were matched by \
             your &amp;segment= parameter. This can help you confirm your Segment matches the users \
             and actions you expect it to."
        ),
        "{custom}"
    );
    // No visit matches: no error, the empty report.
    assert_eq!(
        f.get(&week("1", "browserCode%3D%3DIE")).await?.text(),
        r#"{"value":0}"#
    );
    // Stored (pre-processed) but not archived yet.
    f.get("method=SegmentEditor.add&name=testsegment&definition=browserCode%3D%3DFF&idSite=1&autoArchive=1&format=json")
        .await?;
    let stored = message(f.get(&week("1", firefox)).await?.text())?;
    assert!(
        stored.starts_with(
            "These reports have no data, because the Segment you requested (testsegment) has \
             not yet been processed by the system. Data for this Segment should become \
             available in a few hours when processing completes. (If it does not, there may be \
             a problem.)"
        ),
        "{stored}"
    );
    // Several sites: no check, each site's report as read.
    let all = f.get(&week("all", firefox)).await?.text();
    assert!(!all.contains("error"), "{all}");
    // Once archived (here by an API that archives on request), read.
    let archiving = tally_reporting::Api::new(
        f.db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    let request = tally_reporting::ApiRequest::from_parts(
        &format!(
            "module=API&{}&token_auth={}",
            week("1", firefox),
            f.tokens.superuser
        ),
        None,
    );
    let built =
        tokio::task::spawn_blocking(move || archiving.handle_at(&request, crate::common::NOW))
            .await?;
    assert_eq!(String::from_utf8_lossy(&built.body), r#"{"value":3}"#);
    assert_eq!(f.get(&week("1", firefox)).await?.text(), r#"{"value":3}"#);
    // Ranges are still archived on request.
    let range = f
        .get("method=VisitsSummary.get&idSite=1&period=range&date=2026-11-10,2026-11-11&format=json&columns=nb_visits&segment=browserCode%3D%3DFF")
        .await?;
    assert_eq!(range.text(), r#"{"value":3}"#);
    Ok(())
}
