//! Who may call what (issue 7): every report method and the management
//! methods against no token, view, write, admin and super user tokens and
//! a token of another site; plus Matomo's error answers.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{Answer, Fixture};

const NO_VIEW: &str = r#"{"result":"error","message":"You can't access this resource as it requires 'view' access for the website id = 1."}"#;

fn is_error(answer: &Answer) -> bool {
    answer.text().starts_with(r#"{"result":"error""#)
}

/// Parameters a report method needs beyond site, period and date.
fn extra(method: &str) -> &'static str {
    match method {
        "CustomDimensions.getCustomDimension" => "&idDimension=1",
        "Actions.getPageUrl" => "&pageUrl=http%3A%2F%2Fexample.org%2F",
        "Actions.getPageTitle" => "&pageName=Home",
        "Actions.getDownload" => "&downloadUrl=http%3A%2F%2Fexample.org%2Fa.zip",
        "Actions.getOutlink" => "&outlinkUrl=http%3A%2F%2Fexample.org%2F",
        _ => "",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_report_method_needs_view_access_to_the_site() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let t = &f.tokens;
    // `getCustomDimension` refuses a dimension the site does not have.
    tally_management::configure_new_custom_dimension(
        &mut f.db.conn()?,
        &tally_management::Principal::super_user("test"),
        1,
        "visit",
        &tally_management::DimensionParams {
            name: "Plan".to_owned(),
            active: true,
            extractions: Vec::new(),
            case_sensitive: true,
        },
    )?;
    let methods: Vec<String> = tally_reporting::report_methods().collect();
    assert!(methods.len() > 70, "{} methods", methods.len());
    // MultiSites.getAll takes no idSite: it answers the caller's sites
    // (matomo_periods_fixture::all_websites_dashboard_*).
    for method in methods.iter().filter(|m| *m != "MultiSites.getAll") {
        let query = format!(
            "method={method}&idSite=1&period=day&date=2026-11-10&format=json{}",
            extra(method)
        );
        for (who, token, allowed) in [
            ("no token", None, false),
            ("anonymous", Some("anonymous"), false),
            ("view", Some(t.view.as_str()), true),
            ("write", Some(t.write.as_str()), true),
            ("admin", Some(t.admin.as_str()), true),
            ("super user", Some(t.superuser.as_str()), true),
            ("other site", Some(t.other_site.as_str()), false),
        ] {
            let answer = match token {
                None => f.call(&query).await?,
                Some(token) => f.call(&format!("{query}&token_auth={token}")).await?,
            };
            if allowed {
                assert!(!is_error(&answer), "{method} as {who}: {}", answer.text());
                assert_eq!(answer.status, StatusCode::OK, "{method} as {who}");
            } else {
                assert_eq!(answer.text(), NO_VIEW, "{method} as {who}");
                assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} as {who}");
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn management_methods_check_their_access_level() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let t = &f.tokens;
    // (query, the levels that may call it: view, write, admin, super user,
    // other-site admin). A query that succeeds changes state, so each
    // caller gets its own names where that matters.
    let cases: [(&str, [bool; 5]); 10] = [
        (
            "method=SitesManager.getSiteFromId&idSite=1",
            [true, true, true, true, false],
        ),
        (
            "method=SitesManager.getSiteUrlsFromId&idSite=1",
            [true, true, true, true, false],
        ),
        (
            "method=Goals.getGoals&idSite=1",
            [true, true, true, true, false],
        ),
        (
            "method=Goals.addGoal&idSite=1&name=G{n}&matchAttribute=url&pattern=x{n}&patternType=contains",
            [false, true, true, true, false],
        ),
        (
            "method=SitesManager.updateSite&idSite=1&siteName=Shop{n}",
            [false, false, true, true, false],
        ),
        (
            "method=UsersManager.getUsersAccessFromSite&idSite=1",
            [false, false, true, true, false],
        ),
        (
            "method=CoreAdminHome.invalidateArchivedReports&idSites=1&dates=2026-11-10",
            [false, false, true, true, false],
        ),
        (
            // Admin of any site: each sees the failures of the sites it administers.
            "method=CoreAdminHome.getTrackingFailures",
            [false, false, true, true, true],
        ),
        (
            "method=SitesManager.addSite&siteName=New{n}&urls=https://new{n}.example",
            [false, false, false, true, false],
        ),
        (
            "method=UsersManager.getUser&userLogin=root",
            [false, false, false, true, false],
        ),
    ];
    let tokens = [
        ("view", &t.view),
        ("write", &t.write),
        ("admin", &t.admin),
        ("super user", &t.superuser),
        ("other site", &t.other_site),
    ];
    for (n, (template, allowed)) in cases.iter().enumerate() {
        for (index, (who, token)) in tokens.iter().enumerate() {
            let query = template.replace("{n}", &format!("{n}{index}"));
            let answer = f
                .call(&format!("{query}&format=json&token_auth={token}"))
                .await?;
            if allowed[index] {
                assert!(!is_error(&answer), "{query} as {who}: {}", answer.text());
            } else {
                assert!(is_error(&answer), "{query} as {who}: {}", answer.text());
                assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{query} as {who}");
            }
        }
        // Anonymous callers are refused too.
        let query = template.replace("{n}", &format!("{n}anon"));
        let anonymous = f.call(&format!("{query}&format=json")).await?;
        assert!(is_error(&anonymous), "{query} anonymously");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_may_grant_view_to_anonymous() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let grant = f
        .get("method=UsersManager.setUserAccess&userLogin=anonymous&access=view&idSites=2&format=json")
        .await?;
    assert_eq!(grant.text(), r#"{"result":"success","message":"ok"}"#);
    let answer = f
        .call("method=VisitsSummary.getVisits&idSite=2&period=day&date=2026-11-10&format=json")
        .await?;
    assert_eq!(answer.text(), r#"{"value":1}"#);
    let site_one = f
        .call("method=VisitsSummary.getVisits&idSite=1&period=day&date=2026-11-10&format=json")
        .await?;
    assert_eq!(site_one.text(), NO_VIEW);
    // idSite=all means the sites the caller can view.
    let all = f
        .call("method=VisitsSummary.getVisits&idSite=all&period=day&date=2026-11-10&format=json")
        .await?;
    assert_eq!(all.text(), r#"{"2":1}"#);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_rendered_as_matomo_renders_them() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let unknown = f
        .get("method=VisitsSummary.getFoo&idSite=1&format=json")
        .await?;
    assert_eq!(
        unknown.text(),
        r#"{"result":"error","message":"The method 'getFoo' does not exist or is not available in the module '\\Piwik\\Plugins\\VisitsSummary\\API'."}"#
    );
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let xml = f.get("method=VisitsSummary.getFoo&idSite=1").await?;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"The method 'getFoo' does not exist or is not available in the module '\\Piwik\\Plugins\\VisitsSummary\\API'.\" />\n</result>"
    );
    let module = f.get("method=Nope.get&format=csv").await?;
    assert_eq!(module.text(), "Error: API module Nope not found.");
    let no_access = f
        .call("method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10&format=xml")
        .await?;
    assert_eq!(
        no_access.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"You can't access this resource as it requires 'view' access for the website id = 1.\" />\n</result>"
    );
    let missing = f
        .get("method=VisitsSummary.get&idSite=1&date=today&format=json")
        .await?;
    assert_eq!(
        missing.text(),
        r#"{"result":"error","message":"Please specify a value for 'period'."}"#
    );
    let bad_token = f
        .call("method=VisitsSummary.get&idSite=1&period=day&date=today&format=json&token_auth=0123456789abcdef0123456789abcdef")
        .await?;
    assert!(is_error(&bad_token), "{}", bad_token.text());
    assert_eq!(bad_token.status, StatusCode::UNAUTHORIZED);
    let bad_format = f.get("method=VisitsSummary.get&format=yaml").await?;
    assert!(
        bad_format
            .text()
            .contains("Renderer format 'yaml' not valid")
    );
    let bad_period = f
        .get("method=VisitsSummary.get&idSite=1&period=decade&date=today&format=json")
        .await?;
    assert!(is_error(&bad_period), "{}", bad_period.text());
    let hostile_segment = f
        .get("method=VisitsSummary.get&idSite=1&period=day&date=today&format=json&segment=visitCount%3D%3D1%27%20OR%201%3D1")
        .await?;
    assert!(is_error(&hostile_segment) || hostile_segment.text().contains("nb_visits"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_travel_in_post_bodies_and_bulk_requests() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let token = &f.tokens.view;
    // `POST /index.php` with a form body, as import_logs.py and SDKs send.
    let post = f
        .http(
            "module=API&method=VisitsSummary.getVisits&idSite=1&period=day&date=2026-11-10&format=json",
            Some(&format!("token_auth={token}")),
        )
        .await?;
    assert_eq!(post.text(), r#"{"value":2}"#);
    assert!(post.content_type.starts_with("application/json"));
    let bulk = f
        .http(
            "module=API&method=API.getBulkRequest&format=json",
            Some(&format!(
                "token_auth={token}&urls%5B0%5D=method%3DVisitsSummary.getVisits%26idSite%3D1%26period%3Dday%26date%3D2026-11-10&urls%5B1%5D=method%3DVisitsSummary.getVisits%26idSite%3D2%26period%3Dday%26date%3D2026-11-10"
            )),
        )
        .await?;
    assert_eq!(
        bulk.text(),
        r#"[{"value":2},{"result":"error","message":"You can't access this resource as it requires 'view' access for the website id = 2."}]"#
    );
    let version = f
        .http("module=API&method=API.getMatomoVersion&format=json", None)
        .await?;
    assert_eq!(version.text(), r#"{"value":"5.2.0"}"#);
    Ok(())
}

/// Tracking failures (Matomo's `tracking_failure`, written by the tracker):
/// a super user sees every one, including sites that do not exist, with
/// Matomo's explanations; a site admin sees its own sites' and may delete
/// them; `deleteAllTrackingFailures` clears what the caller may see.
#[tokio::test(flavor = "multi_thread")]
async fn tracking_failures_are_listed_and_deleted_by_admins() -> anyhow::Result<()> {
    use diesel::RunQueryDsl as _;
    let f = Fixture::new().await?;
    let t = &f.tokens;
    let mut conn = f.db.conn()?;
    diesel::sql_query(
        "INSERT INTO tracking_failure (idsite, idfailure, date_first_occurred, request_url) VALUES \
         (1, 2, '2026-11-30 17:04:05', 'cip=1.2.3.4&idsite=1&rec=1&token_auth=__TOKEN_AUTH__&url=https%3A%2F%2Fshop.example%2F'), \
         (2, 2, '2026-11-30 08:00:00', 'cdt=1&idsite=2&url=https%3A%2F%2Fblog.example%2F'), \
         (99, 1, '2026-11-30 00:30:00', 'idsite=99&rec=1')",
    )
    .execute(&mut conn)?;
    let all = f
        .call(&format!(
            "method=CoreAdminHome.getTrackingFailures&format=json&token_auth={}",
            t.superuser
        ))
        .await?;
    assert_eq!(
        all.text(),
        concat!(
            r#"[{"idsite":1,"idfailure":2,"date_first_occurred":"2026-11-30 17:04:05","#,
            r#""request_url":"cip=1.2.3.4&idsite=1&rec=1&token_auth=__TOKEN_AUTH__&url=https%3A%2F%2Fshop.example%2F","#,
            r#""site_name":"Shop","pretty_date_first_occurred":"Nov 30, 2026 5:04:05 PM","url":"https:\/\/shop.example\/","#,
            r#""problem":"Request was not authenticated but authentication was required.","#,
            r#""solution":"Set or correct a \"token_auth\" in your tracking request.","#,
            r#""solution_url":"https:\/\/matomo.org\/faq\/how-to\/faq_30835\/"},"#,
            r#"{"idsite":2,"idfailure":2,"date_first_occurred":"2026-11-30 08:00:00","#,
            r#""request_url":"cdt=1&idsite=2&url=https%3A%2F%2Fblog.example%2F","#,
            r#""site_name":"Blog","pretty_date_first_occurred":"Nov 30, 2026 8:00:00 AM","url":"https:\/\/blog.example\/","#,
            r#""problem":"Request was not authenticated but authentication was required.","#,
            r#""solution":"Set or correct a \"token_auth\" in your tracking request.","#,
            r#""solution_url":"https:\/\/matomo.org\/faq\/how-to\/faq_30835\/"},"#,
            r#"{"idsite":99,"idfailure":1,"date_first_occurred":"2026-11-30 00:30:00","#,
            r#""request_url":"idsite=99&rec=1","site_name":"Unknown","#,
            r#""pretty_date_first_occurred":"Nov 30, 2026 12:30:00 AM","url":"","#,
            r#""problem":"The site does not exist.","solution":"Update the configured idSite in the tracker.","#,
            r#""solution_url":"https:\/\/matomo.org\/faq\/how-to\/faq_30838\/"}]"#,
        )
    );
    let mine = f
        .call(&format!(
            "method=CoreAdminHome.getTrackingFailures&format=json&token_auth={}",
            t.admin
        ))
        .await?;
    assert!(
        mine.text().starts_with(r#"[{"idsite":1,"#),
        "{}",
        mine.text()
    );
    assert_eq!(mine.text().matches(r#""idsite":"#).count(), 1);
    // The admin of site 1 may not delete site 2's failure.
    let refused = f
        .call(&format!(
            "method=CoreAdminHome.deleteTrackingFailure&idSite=2&idFailure=2&format=json&token_auth={}",
            t.admin
        ))
        .await?;
    assert!(is_error(&refused), "{}", refused.text());
    let deleted = f
        .call(&format!(
            "method=CoreAdminHome.deleteTrackingFailure&idSite=1&idFailure=2&format=json&token_auth={}",
            t.admin
        ))
        .await?;
    assert_eq!(deleted.text(), r#"{"result":"success","message":"ok"}"#);
    let cleared = f
        .call(&format!(
            "method=CoreAdminHome.deleteAllTrackingFailures&format=json&token_auth={}",
            t.other_site
        ))
        .await?;
    assert!(!is_error(&cleared), "{}", cleared.text());
    let left = f
        .call(&format!(
            "method=CoreAdminHome.getTrackingFailures&format=json&token_auth={}",
            t.superuser
        ))
        .await?;
    assert!(
        left.text().starts_with(r#"[{"idsite":99,"#),
        "{}",
        left.text()
    );
    assert_eq!(left.text().matches(r#""idsite":"#).count(), 1);
    Ok(())
}

/// `UsersManager.getUserPreference` / `setUserPreference`: a user reads and
/// sets their own supported preferences (defaults: the first site they may
/// view, `yesterday`); a super user reads anyone's; unsupported names get
/// Matomo's messages.
#[tokio::test]
async fn user_preferences_default_and_round_trip() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let view = &f.tokens.view;
    let ask = |query: String| {
        let f = &f;
        async move {
            let answer = f.call(&format!("module=API&format=json&{query}")).await?;
            anyhow::Ok(serde_json::from_slice::<Value>(&answer.body)?)
        }
    };
    let get = |name: &str, extra: &str, token: &str| {
        format!(
            "method=UsersManager.getUserPreference&preferenceName={name}{extra}&token_auth={token}"
        )
    };
    assert_eq!(
        ask(get("defaultReportDate", "", view)).await?,
        json!({"value": "yesterday"})
    );
    assert_eq!(
        ask(get("defaultReport", "", view)).await?,
        json!({"value": 1})
    );
    assert_eq!(
        ask(format!(
            "method=UsersManager.setUserPreference&userLogin=viewer&preferenceName=defaultReportDate&preferenceValue=today&token_auth={view}"
        ))
        .await?,
        json!({"result": "success", "message": "ok"})
    );
    assert_eq!(
        ask(get("defaultReportDate", "", view)).await?,
        json!({"value": "today"})
    );
    let root = &f.tokens.superuser;
    assert_eq!(
        ask(get("defaultReportDate", "&userLogin=viewer", root)).await?,
        json!({"value": "today"})
    );
    assert_eq!(
        ask(get("defaultReportDate", "&userLogin=root", view)).await?["message"],
        json!("The user has to be either a Super User or the user 'root' itself.")
    );
    assert_eq!(
        ask(get("colour", "", view)).await?["message"],
        json!("Not supported preference name: colour")
    );
    assert_eq!(
        ask(get("default_report", "", view)).await?["message"],
        json!("Preference name cannot contain underscores.")
    );
    Ok(())
}
