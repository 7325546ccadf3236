//! Segments that map a value before comparing it, as Matomo's
//! `sqlFilterValue` does: `browserName` / `operatingSystemName` (a name
//! becomes its DeviceDetector code) and `daysSinceFirstVisit` (days become
//! seconds), run through a segmented `VisitsSummary.get`.

use diesel::RunQueryDsl as _;

use crate::common::{Fixture, encode};

/// The visits of the week of 2026-11-10 on site 1 that `segment` selects.
async fn visits(fixture: &Fixture, segment: &str) -> anyhow::Result<i64> {
    let query = format!(
        "method=VisitsSummary.get&idSite=1&period=week&date=2026-11-10&segment={}",
        encode(segment)
    );
    let value = crate::common::api_json(&fixture.api, &fixture.tokens.superuser, &query).await?;
    value["nb_visits"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("{segment}: {value}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_and_system_names_select_their_visits() -> anyhow::Result<()> {
    let f = Fixture::with_chrome_visitor().await?;
    let cases = [
        ("browserCode==CH", 1),
        ("browserName==Chrome", 1),
        // Matomo lower-cases both sides.
        ("browserName==firefox", 3),
        ("browserName!=Chrome", 3),
        // An unknown name becomes `UNK`: no visit.
        ("browserName==Netscape", 0),
        // Converted before the pattern is built: `%CH%`.
        ("browserName=@Chrome", 1),
        ("operatingSystemName==Windows", 1),
        ("operatingSystemName==GNU/Linux", 3),
        // DeviceDetector's name is `GNU/Linux`, not `Linux`.
        ("operatingSystemName==Linux", 0),
        ("operatingSystemName!=windows;browserName==Firefox", 3),
    ];
    for (segment, expected) in cases {
        assert_eq!(visits(&f, segment).await?, expected, "{segment}");
    }
    Ok(())
}

/// Matomo compares `visitor_seconds_since_first` with the value times
/// 86400; we used to compare `ROUND(seconds / 86400)`, which put half a
/// day and 86399 seconds at 1 day.
#[tokio::test(flavor = "multi_thread")]
async fn days_since_first_visit_compares_seconds_either_side_of_a_day() -> anyhow::Result<()> {
    let f = Fixture::with_chrome_visitor().await?;
    let mut conn = f.db.conn()?;
    diesel::sql_query(
        "UPDATE log_visit SET visitor_seconds_since_first = CASE HEX(idvisitor) \
         WHEN 'AAAAAAAAAAAAAAAA' THEN 43200 WHEN 'BBBBBBBBBBBBBBBB' THEN 86399 \
         WHEN 'CCCCCCCCCCCCCCCC' THEN 86400 WHEN 'EEEEEEEEEEEEEEEE' THEN 86401 END \
         WHERE idsite = 1",
    )
    .execute(&mut conn)?;
    let cases = [
        ("daysSinceFirstVisit==1", 1),
        ("daysSinceFirstVisit<1", 2),
        ("daysSinceFirstVisit<=1", 3),
        ("daysSinceFirstVisit>1", 1),
        ("daysSinceFirstVisit>=1", 2),
        ("daysSinceFirstVisit!=1", 3),
        ("daysSinceFirstVisit==0", 0),
        // `(int) 1.9` is 1.
        ("daysSinceFirstVisit==1.9", 1),
        // `LIKE '%86400%'`.
        ("daysSinceFirstVisit=@1", 1),
        (
            "secondsSinceFirstVisit>=86399;secondsSinceFirstVisit<=86400",
            2,
        ),
    ];
    for (segment, expected) in cases {
        assert_eq!(visits(&f, segment).await?, expected, "{segment}");
    }
    Ok(())
}
