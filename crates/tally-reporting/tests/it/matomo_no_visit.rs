//! A site without visits (Matomo's `NoVisitTest`, whose fixture tracks
//! only requests that must not be recorded): every table report answers an
//! empty `<result />`, as Matomo's expected outputs for that test show.

use tally_management::{self as management, NewSiteParams, Principal};
use time::macros::datetime;

use crate::common::{NOW, encode, reporting_api, user_with_token};

/// The methods whose expected output for an empty site is `<result />`.
const EMPTY: &[&str] = &[
    "Actions.getDownload",
    "Actions.getDownloads",
    "Actions.getEntryPageTitles",
    "Actions.getEntryPageUrls",
    "Actions.getExitPageTitles",
    "Actions.getExitPageUrls",
    "Actions.getOutlink",
    "Actions.getOutlinks",
    "Actions.getPageTitle",
    "Actions.getPageTitles",
    "Actions.getPageTitlesFollowingSiteSearch",
    "Actions.getPageUrl",
    "Actions.getPageUrls",
    "Actions.getPageUrlsFollowingSiteSearch",
    "Actions.getSiteSearchCategories",
    "Actions.getSiteSearchKeywords",
    "Actions.getSiteSearchNoResultKeywords",
    "Contents.getContentNames",
    "Contents.getContentPieces",
    "CustomVariables.getCustomVariables",
    "DevicePlugins.getPlugin",
    "DevicesDetection.getBrand",
    "DevicesDetection.getBrowserEngines",
    "DevicesDetection.getBrowserVersions",
    "DevicesDetection.getBrowsers",
    "DevicesDetection.getModel",
    "DevicesDetection.getOsFamilies",
    "DevicesDetection.getOsVersions",
    "DevicesDetection.getType",
    "Events.getAction",
    "Events.getCategory",
    "Events.getName",
    "Goals.getDaysToConversion",
    "Goals.getItemsCategory",
    "Goals.getItemsName",
    "Goals.getItemsSku",
    "Goals.getVisitsUntilConversion",
    "MultiSites.getAll",
    "Referrers.getAll",
    "Referrers.getCampaigns",
    "Referrers.getKeywords",
    "Referrers.getReferrerType",
    "Referrers.getSearchEngines",
    "Referrers.getSocials",
    "Referrers.getUrlsForSocial",
    "Referrers.getWebsites",
    "Resolution.getConfiguration",
    "Resolution.getResolution",
    "UserCountry.getCity",
    "UserCountry.getContinent",
    "UserCountry.getCountry",
    "UserCountry.getRegion",
    "UserId.getUsers",
    "UserLanguage.getLanguage",
    "UserLanguage.getLanguageCode",
    "VisitTime.getByDayOfWeek",
    "VisitTime.getVisitInformationPerLocalTime",
    "VisitTime.getVisitInformationPerServerTime",
    "VisitorInterest.getNumberOfVisitsByDaysSinceLast",
    "VisitorInterest.getNumberOfVisitsByVisitCount",
    "VisitorInterest.getNumberOfVisitsPerPage",
    "VisitorInterest.getNumberOfVisitsPerVisitDuration",
];

#[tokio::test]
async fn a_site_without_visits_answers_empty_tables() -> anyhow::Result<()> {
    let db = tally_db::test_support::TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        let params = NewSiteParams {
            timezone: Some("UTC".to_owned()),
            start_date: Some(datetime!(2009-01-04 00:11:42)),
            ..NewSiteParams::new("new site name", ["http://site.com"])
        };
        management::add_site(&mut conn, &root, &params)?;
        user_with_token(&mut conn, "root", None)?
    };
    let api = reporting_api(&db)?;
    // The parameters Matomo's system tests send with every request.
    let extra = format!(
        "&format=xml&expanded=1&downloadUrl={}&outlinkUrl={}&pageUrl={}&pageName={}",
        encode("http://piwik.org/path/again/latest.zip"),
        encode("http://dev.piwik.org/svn"),
        encode("http://example.org/index.htm"),
        encode(" Checkout / Purchasing... "),
    );
    for method in EMPTY {
        let request = tally_reporting::ApiRequest::from_parts(
            &format!(
                "module=API&method={method}&idSite=1&period=day&date=2009-01-04{extra}&token_auth={token}"
            ),
            None,
        );
        let api = api.clone();
        let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, NOW)).await?;
        let body = String::from_utf8(answer.body)?;
        assert_eq!(answer.status, 200, "{method}: {body}");
        assert!(body.ends_with("<result />"), "{method}: {body}");
    }
    Ok(())
}
