//! Download and outlink URLs are stored as Matomo's tracker stores them,
//! HTML-escaped once, and every reader shows what Matomo shows for them.

use serde_json::{Value, json};
use time::macros::datetime;

use crate::common::{Fixture, Visit, encode};

/// As sent: `&`, `"`, `<`, `>`, `'` and an `&amp;` already escaped.
const SENT: &str = "http://files.example/get.zip?a=1&b=\"x\"<y>&amp;c='z'";

/// As stored: `getRequestVar` runs `Common::sanitizeInputValue` on the
/// `download` parameter (entities decoded first, so the `&amp;` sent is not
/// escaped twice, then `htmlspecialchars` with `ENT_QUOTES`), and
/// `ActionDownloadUrl` keeps it so (`setActionUrlWithoutExcludingParameters`;
/// Matomo's integration `TrackerTest` asserts a download stored with
/// `&amp;`).
const STORED: &str =
    "http://files.example/get.zip?a=1&amp;b=&quot;x&quot;&lt;y&gt;&amp;c=&#039;z&#039;";

/// The segment Matomo gives the download's row: `segmentValue` is the
/// stored URL (the row's `url` metadata) URL-encoded once, and the segment
/// encodes it once more, as its `outlinkUrl` rows do in
/// `test_OneVisitorTwoVisits__Actions.getOutlinks_day.xml`
/// (`other_outlink%2523fragment%2526amp%253Bpk_campaign`).
const SEGMENT: &str = "downloadUrl==http%253A%252F%252Ffiles.example%252Fget.zip%253Fa%253D1\
                       %2526amp%253Bb%253D%2526quot%253Bx%2526quot%253B%2526lt%253By%2526gt%253B\
                       %2526amp%253Bc%253D%2526%2523039%253Bz%2526%2523039%253B";

#[derive(diesel::QueryableByName)]
struct StoredAction {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    /// 1 when `hash` is the CRC32 of `name`.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    hash_of_name: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::TinyInt>)]
    url_prefix: Option<i8>,
}

#[tokio::test]
async fn download_url_is_stored_escaped_once_and_read_as_matomo_reads_it() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    // A page view of `/files`, then the download from it.
    let visit = |hits| Visit {
        idsite: 1,
        visitor: "ffffffffffffffff",
        start: datetime!(2026-11-10 14:00 UTC),
        referrer: "",
        hits,
    };
    f.track(&[visit(&[(0, "/files", "Files")])]).await?;
    f.track_with(
        &[visit(&[(10, "/files", "")])],
        &format!("&download={}", encode(SENT)),
    )
    .await?;

    // One action, escaped once, hashed as stored, without a URL prefix
    // (`ActionDownloadUrl::getActionsToLookup` gives no prefix).
    let stored: Vec<StoredAction> = diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT name, hash = CRC32(name) AS hash_of_name, url_prefix \
             FROM log_action WHERE type = 3",
        ),
        &mut f.db.conn()?,
    )?;
    let stored: Vec<(&str, i64, Option<i8>)> = stored
        .iter()
        .map(|row| (row.name.as_str(), row.hash_of_name, row.url_prefix))
        .collect();
    assert_eq!(stored, [(STORED, 1, None)]);

    // The report: a host row, then the path of the stored name
    // (`ArchivingHelper::parseNameFromPageUrl`) through `SafeDecodeLabel`,
    // which leaves an escaped label as it is; `url` is the stored name
    // (`reconstructNormalizedUrl` without a prefix) and the segment encodes
    // it. JSON shows both strings decoded (`Renderer\Json`).
    let report = f
        .get("method=Actions.getDownloads&idSite=1&period=day&date=2026-11-10&expanded=1&format=json")
        .await?;
    let report: Value = serde_json::from_slice(&report.body)?;
    assert_eq!(report[0]["label"], json!("files.example"), "{report}");
    let row = &report[0]["subtable"][0];
    assert_eq!(
        (&row["label"], &row["url"], &row["segment"]),
        (
            &json!("/get.zip?a=1&b=\"x\"<y>&c='z'"),
            &json!(SENT.replace("&amp;", "&")),
            &json!(SEGMENT)
        ),
        "{report}"
    );
    // XML writes it escaped once (`formatValueXml`: entities decoded, then
    // `htmlspecialchars` with `ENT_COMPAT`, which leaves `'`).
    let xml = f
        .get("method=Actions.getDownloads&idSite=1&period=day&date=2026-11-10&flat=1&format=xml")
        .await?
        .text();
    assert!(
        xml.contains(
            "<label>files.example/get.zip?a=1&amp;b=&quot;x&quot;&lt;y&gt;&amp;c='z'</label>"
        ),
        "{xml}"
    );

    // The row's segment selects the visit: `TableLogAction::
    // getIdActionFromSegment` looks the unescaped value up first, then the
    // value as given, which is the stored name. Typed unescaped, the URL
    // is found by neither lookup, in Matomo as here.
    let visits = |segment: String| {
        let f = &f;
        async move {
            let answer = f
                .get(&format!(
                    "method=Live.getLastVisitsDetails&idSite=1&period=day&date=2026-11-10\
                     &format=json&segment={}",
                    encode(&segment)
                ))
                .await?;
            anyhow::Ok(serde_json::from_slice::<Value>(&answer.body)?)
        }
    };
    let live = visits(SEGMENT.to_owned()).await?;
    assert_eq!(live.as_array().map(Vec::len), Some(1), "{live}");
    let unescaped = "http://files.example/get.zip?a=1&b=\"x\"<y>&c='z'";
    let none = visits(format!("downloadUrl=={}", encode(unescaped))).await?;
    assert_eq!(none, json!([]));

    // Live gives the stored URL (`Actions\VisitorDetails` unescapes only
    // URLs it rebuilds from a prefix) as `url` and `subtitle`, which JSON
    // shows decoded.
    let action = &live[0]["actionDetails"][1];
    assert_eq!(
        (&action["type"], &action["url"], &action["subtitle"]),
        (&json!("download"), &json!(unescaped), &json!(unescaped)),
        "{live}"
    );
    // Transitions name a download by its stored URL (`getPageLabel`:
    // `reconstructNormalizedUrl` without a prefix), decoded in JSON.
    let transitions = f
        .get(&format!(
            "method=Transitions.getTransitionsForPageUrl&idSite=1&period=day&date=2026-11-10\
             &format=json&pageUrl={}",
            encode("https://shop.example/files")
        ))
        .await?;
    let transitions: Value = serde_json::from_slice(&transitions.body)?;
    assert_eq!(
        transitions["downloads"],
        json!([{"label": unescaped, "referrals": 1}]),
        "{transitions}"
    );
    // Segment suggestions are unescaped (`API::getSuggestedValuesForSegment`
    // maps `Common::unsanitizeInputValue` over them).
    let suggested = f
        .get("method=API.getSuggestedValuesForSegment&idSite=1&segmentName=downloadUrl&format=json")
        .await?;
    let suggested: Value = serde_json::from_slice(&suggested.body)?;
    assert_eq!(suggested, json!([unescaped]));
    Ok(())
}
