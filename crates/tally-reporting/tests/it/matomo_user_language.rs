//! Matomo's `GetLanguageSystemTest` (plugins/UserLanguage/tests/System in
//! matomo-org/matomo) on its fixture `LanguageFixture`: one PHP tracker
//! object (no default settings but the token) sends a page view every hour
//! from 2014-09-04 01:00, each with another `Accept-Language`, and
//! `UserLanguage.getLanguage` / `getLanguageCode` group the visits by the
//! first language of each.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{FixtureApi, matomo_site, reporting_api, tracker_routes};
use crate::php_tracker::{At, PhpTracker};

/// The fixture's `$dateTime`.
const DATE_TIME: PrimitiveDateTime = datetime!(2014-09-04 00:00:00);

/// The browser languages, one a visit, in order.
const LANGUAGES: [&str; 18] = [
    "fr-be",
    "ar_QA",
    "fr-ch",
    "pl",
    "pl",
    "th_TH",
    "zh_SG",
    "eu_ES",
    "sr_RS",
    "el,fi",
    "fr,en-us,en;q=",
    "fr-be",
    "en,en-us,en;q=",
    "de,en-us,en;q=",
    "cs_CZ",
    "pl,en-us,en;q=",
    "kpe_LR",
    "en,en-us,en;q=",
];

async fn fixture() -> anyhow::Result<(TestDb, FixtureApi)> {
    let (db, token) = matomo_site(DATE_TIME - Duration::days(1), |_| {}, &[])?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    let mut t = PhpTracker::new(1, &token, "1a2b3c4d5e6f7a8b", DATE_TIME);
    for (hour, lang) in (1..).zip(LANGUAGES) {
        t.at = At::Datetime(DATE_TIME + Duration::hours(hour));
        lang.clone_into(&mut t.lang);
        let query = t.page_view("Viewing homepage");
        t.ok(&router, &query).await?;
    }
    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2026-11-16 12:00 UTC),
    };
    Ok((db, api))
}

/// `(label, nb_uniq_visitors, nb_visits, segment)` of each row.
fn rows(report: &Value) -> Vec<(String, u64, u64, String)> {
    report
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            (
                row["label"].as_str().unwrap_or("").to_owned(),
                row["nb_uniq_visitors"].as_u64().unwrap_or(0),
                row["nb_visits"].as_u64().unwrap_or(0),
                row["segment"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, u64, u64, &str)]) -> Vec<(String, u64, u64, String)> {
    rows.iter()
        .map(|(label, uniq, visits, segment)| {
            ((*label).to_owned(), *uniq, *visits, (*segment).to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn languages_and_language_codes_match_matomo() -> anyhow::Result<()> {
    let (_db, api) = fixture().await?;
    // Each visit is a one-page bounce (an hour apart); the unique visitors
    // per language are Matomo's.
    let language = api
        .json("method=UserLanguage.getLanguage&idSite=1&date=2014-09-04&period=day")
        .await?;
    assert_eq!(
        rows(&language),
        owned(&[
            ("French", 3, 4, "languageCode==fr,languageCode=@fr-"),
            ("Polish", 1, 3, "languageCode==pl,languageCode=@pl-"),
            ("English", 1, 2, "languageCode==en,languageCode=@en-"),
            ("Arabic", 1, 1, "languageCode==ar,languageCode=@ar-"),
            ("Basque", 1, 1, "languageCode==eu,languageCode=@eu-"),
            ("Chinese", 1, 1, "languageCode==zh,languageCode=@zh-"),
            ("Czech", 1, 1, "languageCode==cs,languageCode=@cs-"),
            ("German", 1, 1, "languageCode==de,languageCode=@de-"),
            ("Greek", 1, 1, "languageCode==el,languageCode=@el-"),
            ("Serbian", 1, 1, "languageCode==sr,languageCode=@sr-"),
            ("Thai", 1, 1, "languageCode==th,languageCode=@th-"),
            ("Unknown", 1, 1, "languageCode==xx"),
        ])
    );
    assert_eq!(
        language[0],
        json!({
            "label": "French", "nb_uniq_visitors": 3, "nb_visits": 4, "nb_actions": 4,
            "nb_users": 0, "max_actions": 1, "sum_visit_length": 0, "bounce_count": 4,
            "nb_visits_converted": 0, "segment": "languageCode==fr,languageCode=@fr-",
        })
    );
    let codes = api
        .json("method=UserLanguage.getLanguageCode&idSite=1&date=2014-09-04&period=day")
        .await?;
    assert_eq!(
        rows(&codes),
        owned(&[
            ("Polish (pl)", 1, 3, "languageCode==pl"),
            ("English (en)", 1, 2, "languageCode==en"),
            ("French - Belgium (fr-be)", 1, 2, "languageCode==fr-be"),
            ("Arabic - Qatar (ar-qa)", 1, 1, "languageCode==ar-qa"),
            ("Basque - Spain (eu-es)", 1, 1, "languageCode==eu-es"),
            ("Chinese - Singapore (zh-sg)", 1, 1, "languageCode==zh-sg"),
            ("Czech - Czechia (cs-cz)", 1, 1, "languageCode==cs-cz"),
            ("French (fr)", 1, 1, "languageCode==fr"),
            ("French - Switzerland (fr-ch)", 1, 1, "languageCode==fr-ch"),
            ("German (de)", 1, 1, "languageCode==de"),
            ("Greek - Greece (el-gr)", 1, 1, "languageCode==el-gr"),
            ("Serbian - Serbia (sr-rs)", 1, 1, "languageCode==sr-rs"),
            ("Thai (th)", 1, 1, "languageCode==th"),
            ("Unknown (xx)", 1, 1, "languageCode==xx"),
        ])
    );
    Ok(())
}
