//! Matomo's `StaticApiTest` (plugins/UserCountry/tests/System in
//! matomo-org/matomo): `UserCountry.getCountryCodeMapping`, every country
//! code Matomo knows with its English name, as one row.

use serde_json::Value;
use time::macros::datetime;

use crate::common::{FixtureApi, matomo_site, reporting_api};

#[tokio::test]
async fn country_code_mapping_lists_matomos_countries() -> anyhow::Result<()> {
    let (db, token) = matomo_site(datetime!(2012-01-01 00:00:00), |_| {}, &[])?;
    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2026-11-16 12:00 UTC),
    };
    let mapping = api
        .json("method=UserCountry.getCountryCodeMapping&language=en")
        .await?;
    let Value::Object(codes) = &mapping else {
        anyhow::bail!("not one row: {mapping}");
    };
    // Matomo's 249 codes, in its (alphabetical) order; no Kosovo.
    assert_eq!(codes.len(), 249);
    let keys: Vec<&str> = codes.keys().map(String::as_str).collect();
    assert_eq!(keys[..3], ["ad", "ae", "af"]);
    assert_eq!(keys[246..], ["za", "zm", "zw"]);
    assert!(!codes.contains_key("xk"));
    for (code, name) in [
        ("ag", "Antigua & Barbuda"),
        ("fr", "France"),
        ("ci", "Côte d’Ivoire"),
        ("us", "United States"),
        ("zw", "Zimbabwe"),
    ] {
        assert_eq!(codes[code], name, "{code}");
    }
    // As XML: one `<row>` of elements named by code.
    let xml = api
        .xml("method=UserCountry.getCountryCodeMapping&language=en")
        .await?;
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<ad>Andorra</ad>\n"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("\t\t<ag>Antigua &amp; Barbuda</ag>\n"),
        "{xml}"
    );
    assert!(
        xml.ends_with("\t\t<zw>Zimbabwe</zw>\n\t</row>\n</result>"),
        "{xml}"
    );
    Ok(())
}
