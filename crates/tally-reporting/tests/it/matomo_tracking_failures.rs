//! Matomo's `TrackingFailuresTest` (plugins/CoreAdminHome/tests/System in
//! matomo-org/matomo) on its fixture `TrackingFailures`: a valid page view,
//! two page views for a site that does not exist and one with a wrong
//! token and a `cip` that needs a good one, then
//! `CoreAdminHome.getTrackingFailures`. The expected rows are restated from
//! Matomo's expected output (which leaves out the dates and the stored
//! request); the stored request is checked for its replaced token.

use axum::http::StatusCode;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{FixtureApi, NOW, matomo_site, reporting_api, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// The fixture's `$dateTime`, older than a day: the token is needed.
const DATE_TIME: PrimitiveDateTime = datetime!(2013-01-02 03:04:05);
/// The URL of Matomo's test requests (`MatomoTracker`'s current URL there).
const URL: &str = "http://example.com/piwik/";

#[tokio::test(flavor = "multi_thread")]
async fn tracking_failures_as_matomo_lists_them() -> anyhow::Result<()> {
    let (db, token) = matomo_site(DATE_TIME - Duration::days(1), |_| {}, &[])?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;

    let mut valid = PhpTracker::new(1, &token, "1a2b3c4d5e6f7a8b", DATE_TIME);
    valid.url = URL.to_owned();
    let query = valid.page_view("Valid Site");
    valid.ok(&router, &query).await?;

    // Twice: recorded once.
    let now = time::OffsetDateTime::now_utc();
    let mut unknown = PhpTracker::new(
        99999,
        &token,
        "2a2b3c4d5e6f7a8b",
        PrimitiveDateTime::new(now.date(), now.time()),
    );
    unknown.at = At::Timestamp(PrimitiveDateTime::new(now.date(), now.time()));
    unknown.url = URL.to_owned();
    for _ in 0..2 {
        let query = unknown.page_view("Invalid Site");
        let answer = unknown.send(&router, &query).await?;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());
    }

    let mut wrong_token = PhpTracker::new(1, "foobar", "3a2b3c4d5e6f7a8b", DATE_TIME);
    wrong_token.url = URL.to_owned();
    wrong_token.ip = "10.11.12.13".to_owned();
    let query = wrong_token.page_view("Invalid Token");
    let answer = wrong_token.send(&router, &query).await?;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());

    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: NOW,
    };
    let failures = api.json("method=CoreAdminHome.getTrackingFailures").await?;
    let rows = failures.as_array().cloned().unwrap_or_default();
    // Matomo's `xmlFieldsToRemove`: the dates and the stored request.
    let compared: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut row = row.clone();
            if let Some(map) = row.as_object_mut() {
                for field in [
                    "date_first_occurred",
                    "pretty_date_first_occurred",
                    "request_url",
                ] {
                    map.remove(field);
                }
            }
            row
        })
        .collect();
    assert_eq!(
        compared,
        [
            json!({
                "idsite": 1, "idfailure": 2, "site_name": "Piwik test", "url": URL,
                "problem": "Request was not authenticated but authentication was required.",
                "solution": "Set or correct a \"token_auth\" in your tracking request.",
                "solution_url": "https://matomo.org/faq/how-to/faq_30835/",
            }),
            json!({
                "idsite": 99999, "idfailure": 1, "site_name": "Unknown", "url": URL,
                "problem": "The site does not exist.",
                "solution": "Update the configured idSite in the tracker.",
                "solution_url": "https://matomo.org/faq/how-to/faq_30838/",
            }),
        ]
    );
    // The wrong token is replaced; what identifies the request is kept.
    let request = rows[0]["request_url"].as_str().unwrap_or_default();
    assert!(
        request.contains("token_auth=__TOKEN_AUTH__")
            && !request.contains("foobar")
            && request.contains("cip=10.11.12.13")
            && request.contains("action_name=Invalid+Token"),
        "{request}"
    );
    assert!(
        rows[1]["request_url"]
            .as_str()
            .is_some_and(|r| r.contains("idsite=99999") && r.contains("token_auth=__TOKEN_AUTH__")),
        "{}",
        rows[1]
    );
    Ok(())
}
