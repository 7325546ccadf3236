//! PrivacyManager's API over the shared traffic (`common::traffic`,
//! tracked through the tracker's routes): `findDataSubjects`,
//! `exportDataSubjects` and `deleteDataSubjects` as Matomo's
//! `plugins/PrivacyManager/tests/System/APITest.php` calls them (its
//! errors, the `exportDataSubject_noMatch.json` shape, the columns of
//! `test___PrivacyManager.findDataSubjects_*.xml`), and the reports after
//! a deletion.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde_json::{Value, json};

use crate::common::Fixture;

/// The idvisit of the visit whose visitor id is `visitor` (hex, ours).
fn idvisit_of(f: &Fixture, visitor: &str) -> anyhow::Result<i64> {
    anyhow::ensure!(visitor.bytes().all(|b| b.is_ascii_hexdigit()), "{visitor}");
    number(
        f,
        &format!(
            "SELECT CAST(idvisit AS SIGNED) AS n FROM log_visit WHERE idvisitor = UNHEX('{visitor}')"
        ),
    )
}

/// The number a query answers in its column `n`.
fn number(f: &Fixture, sql: &str) -> anyhow::Result<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = f.db.conn()?;
    Ok(diesel::sql_query(sql).get_result::<N>(&mut conn)?.n)
}

async fn as_user(f: &Fixture, token: &str, query: &str) -> anyhow::Result<(u16, String)> {
    let answer = f
        .call(&format!("{query}&format=json&token_auth={token}"))
        .await?;
    Ok((answer.status.as_u16(), answer.text()))
}

/// The text a query answers in its column `t`.
fn text(f: &Fixture, sql: &str) -> anyhow::Result<String> {
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let mut conn = f.db.conn()?;
    Ok(diesel::sql_query(sql).get_result::<T>(&mut conn)?.t)
}

/// `query` as the user of `token`, which Matomo refuses with 401 (missing
/// access); the error body.
async fn refused(f: &Fixture, token: &str, query: &str) -> anyhow::Result<String> {
    let (status, body) = as_user(f, token, query).await?;
    anyhow::ensure!(status == 401, "{query}: {status} {body}");
    Ok(body)
}

async fn json_ok(f: &Fixture, query: &str) -> anyhow::Result<Value> {
    let token = f.tokens.superuser.clone();
    let (status, text) = as_user(f, &token, query).await?;
    anyhow::ensure!(status == 200, "{query}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

fn visits_sum(report: &Value) -> i64 {
    report["nb_visits"].as_i64().unwrap_or(-1)
}

/// Deleting visitor A's visit (site 1, 2026-11-10: three page views and a
/// goal conversion) as the site's admin: Matomo's answer (rows per table,
/// names reverse-sorted), its rows gone from every log table, the other
/// visits kept, and the day's reports rebuilt without it.
#[tokio::test]
async fn delete_data_subjects_removes_the_visit_and_rebuilds_its_reports() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let day = "method=VisitsSummary.get&idSite=1&period=day&date=2026-11-10";
    let month = "method=VisitsSummary.get&idSite=1&period=month&date=2026-11-10";
    assert_eq!(visits_sum(&json_ok(&f, day).await?), 2);
    assert_eq!(visits_sum(&json_ok(&f, month).await?), 3);
    let a = idvisit_of(&f, "aaaaaaaaaaaaaaaa")?;
    // Deleted after the archives were built (the API's clock is pinned
    // before them): only archives older than a change are invalidated.
    let request = tally_reporting::ApiRequest::from_parts(
        &format!(
            "module=API&method=PrivacyManager.deleteDataSubjects&visits[0][idsite]=1\
             &visits[0][idvisit]={a}&format=json&token_auth={}",
            f.tokens.admin
        ),
        None,
    );
    let api = f.api.clone();
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let answer = tokio::task::spawn_blocking(move || api.handle_at(&request, later)).await?;
    let (status, body) = (answer.status, String::from_utf8(answer.body)?);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        r#"{"log_visit":1,"log_link_visit_action":3,"log_conversion_item":0,"log_conversion":1}"#
    );
    for table in ["log_visit", "log_link_visit_action", "log_conversion"] {
        assert_eq!(
            number(
                &f,
                &format!("SELECT COUNT(*) AS n FROM {table} WHERE idvisit = {a}")
            )?,
            0,
            "{table}"
        );
    }
    assert_eq!(number(&f, "SELECT COUNT(*) AS n FROM log_visit")?, 3);
    assert_eq!(
        number(
            &f,
            "SELECT COUNT(*) AS n FROM archive_invalidations WHERE idsite = 1 \
             AND date1 = '2026-11-10' AND period = 1"
        )?,
        1
    );
    // The invalidated archives are not served again: rebuilt on demand.
    let after = json_ok(&f, day).await?;
    assert_eq!(visits_sum(&after), 1);
    assert_eq!(after["nb_actions"], json!(1));
    assert_eq!(visits_sum(&json_ok(&f, month).await?), 2);
    let goals = json_ok(
        &f,
        "method=Goals.get&idSite=1&period=day&date=2026-11-10&idGoal=1",
    )
    .await?;
    assert_eq!(goals["nb_conversions"], json!(0));
    Ok(())
}

/// `APITest`'s failures: no visits, an entry without `idsite`; and
/// access: admin on every site named, some admin access at all.
#[tokio::test]
async fn gdpr_methods_refuse_bad_lists_and_missing_access() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let root = f.tokens.superuser.clone();
    let (status, body) = as_user(&f, &root, "method=PrivacyManager.exportDataSubjects").await?;
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            r#"{"result":"error","message":"No list of visits given"}"#
        )
    );
    let (_, body) = as_user(
        &f,
        &root,
        "method=PrivacyManager.exportDataSubjects&visits[0][idsite]=9999&visits[0][idvisit]=9999&visits[1][foo]=1",
    )
    .await?;
    assert_eq!(
        body,
        r#"{"result":"error","message":"No idsite key set for visit at index 1"}"#
    );
    let a = idvisit_of(&f, "aaaaaaaaaaaaaaaa")?;
    let other = f.tokens.other_site.clone();
    let body = refused(
        &f,
        &other,
        &format!(
            "method=PrivacyManager.deleteDataSubjects&visits[0][idsite]=1&visits[0][idvisit]={a}"
        ),
    )
    .await?;
    assert!(
        body.contains("requires 'admin' access for the website id = 1"),
        "{body}"
    );
    let view = f.tokens.view.clone();
    let body = refused(
        &f,
        &view,
        "method=PrivacyManager.findDataSubjects&idSite=1&segment=visitCount==1",
    )
    .await?;
    assert!(
        body.contains("requires admin access for at least one website"),
        "{body}"
    );
    assert_eq!(number(&f, "SELECT COUNT(*) AS n FROM log_visit")?, 4);
    Ok(())
}

/// `exportDataSubjects` of visitor A: the log tables first (`log_visit`
/// leading), then the action names per column; each row's columns sorted,
/// NULLs left out, ids in hex. A visit that does not exist gives the empty
/// tables of `exportDataSubject_noMatch.json`.
#[tokio::test]
async fn export_data_subjects_lists_the_visits_rows() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let a = idvisit_of(&f, "aaaaaaaaaaaaaaaa")?;
    let export = json_ok(
        &f,
        &format!(
            "method=PrivacyManager.exportDataSubjects&visits[0][idsite]=1&visits[0][idvisit]={a}"
        ),
    )
    .await?;
    let keys: Vec<&str> = export
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "log_visit",
            "log_link_visit_action",
            "log_conversion_item",
            "log_conversion",
            "log_action_log_visit_visit_exit_idaction_url",
            "log_action_log_visit_visit_exit_idaction_name",
            "log_action_log_visit_visit_entry_idaction_url",
            "log_action_log_visit_visit_entry_idaction_name",
            "log_action_log_link_visit_action_idaction_url",
            "log_action_log_link_visit_action_idaction_name",
        ]
    );
    let visit = &export["log_visit"][0];
    assert_eq!(visit["idvisitor"], json!("aaaaaaaaaaaaaaaa"));
    assert_eq!(visit["idvisit"], json!(a.to_string()));
    // The tracker stored the IP with two bytes masked (the default).
    assert_eq!(visit["location_ip"], json!("203.0.0.0"));
    assert_eq!(visit["visit_total_actions"], json!("3"));
    assert_eq!(
        visit["visit_first_action_time"],
        json!("2026-11-10 10:00:00")
    );
    assert_eq!(visit["referer_name"], json!("Google"));
    assert!(visit.get("user_id").is_none(), "NULL columns are left out");
    let visit_keys: Vec<&String> = visit
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let mut sorted = visit_keys.clone();
    sorted.sort();
    assert_eq!(visit_keys, sorted);
    let actions = export["log_link_visit_action"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let positions: Vec<&Value> = actions.iter().map(|r| &r["pageview_position"]).collect();
    assert_eq!(positions, [&json!("1"), &json!("2"), &json!("3")]);
    assert_eq!(export["log_conversion"][0]["idgoal"], json!("1"));
    assert_eq!(export["log_conversion_item"], json!([]));
    let urls: Vec<&Value> = export["log_action_log_link_visit_action_idaction_url"]
        .as_array()
        .map(|a| a.iter().map(|r| &r["name"]).collect())
        .unwrap_or_default();
    assert_eq!(
        urls,
        [
            &json!("https://shop.example/"),
            &json!("https://shop.example/products/shoes"),
            &json!("https://shop.example/thank-you"),
        ]
    );
    assert_eq!(
        export["log_action_log_visit_visit_exit_idaction_name"],
        json!([{"idaction": export["log_link_visit_action"][2]["idaction_name"], "name": "Thanks"}])
    );
    let none = json_ok(
        &f,
        "method=PrivacyManager.exportDataSubjects&visits[0][idsite]=9999&visits[0][idvisit]=9999",
    )
    .await?;
    assert_eq!(
        none,
        json!({"log_visit": [], "log_link_visit_action": [], "log_conversion_item": [], "log_conversion": []})
    );
    Ok(())
}

/// `findDataSubjects`: the visitor log over all time of the segment's
/// visits, cut to the columns Matomo keeps, in the visitor log's order
/// (`test___PrivacyManager.findDataSubjects_allSites.xml`).
#[tokio::test]
async fn find_data_subjects_is_the_visitor_log_cut_to_matomos_columns() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let found = json_ok(
        &f,
        "method=PrivacyManager.findDataSubjects&idSite=all&segment=referrerType==search",
    )
    .await?;
    let list = found.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{found}");
    let keys: Vec<&str> = list[0]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "idSite",
            "idVisit",
            "visitIp",
            "visitorId",
            "lastActionDateTime",
            "siteName",
            "userId",
            "deviceType",
            "deviceTypeIcon",
            "deviceModel",
            "operatingSystem",
            "operatingSystemIcon",
            "browserFamilyDescription",
            "browser",
            "browserIcon",
            "country",
            "countryFlag",
            "region",
        ]
    );
    assert_eq!(list[0]["visitorId"], json!("aaaaaaaaaaaaaaaa"));
    assert_eq!(list[0]["siteName"], json!("Shop"));
    assert_eq!(list[0]["lastActionDateTime"], json!("2026-11-10 10:03:20"));
    // Every visit of site 1, newest first.
    let all = json_ok(
        &f,
        "method=PrivacyManager.findDataSubjects&idSite=1&segment=visitCount>=1",
    )
    .await?;
    let visitors: Vec<&Value> = all
        .as_array()
        .map(|a| a.iter().map(|v| &v["visitorId"]).collect())
        .unwrap_or_default();
    assert_eq!(
        visitors,
        [
            &json!("cccccccccccccccc"),
            &json!("bbbbbbbbbbbbbbbb"),
            &json!("aaaaaaaaaaaaaaaa"),
        ]
    );
    Ok(())
}

/// `names` plus the five custom dimension and custom variable slots both
/// log tables have, sorted as PHP's `ksort` sorts column names (bytes).
fn with_numbered_columns(names: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    for slot in 1..=5 {
        for prefix in ["custom_dimension_", "custom_var_k", "custom_var_v"] {
            all.push(format!("{prefix}{slot}"));
        }
    }
    all.sort();
    all
}

/// The rows `getAvailable*ColumnsToAnonymize` should answer: `nulls`
/// (with the numbered slots) reset to NULL, `zeros` to `"0"`.
fn expected_columns(nulls: &[&str], zeros: &[&str]) -> Vec<(String, Value)> {
    let mut names = nulls.to_vec();
    names.extend_from_slice(zeros);
    with_numbered_columns(&names)
        .into_iter()
        .map(|name| {
            let default = if zeros.contains(&name.as_str()) {
                json!("0")
            } else {
                Value::Null
            };
            (name, default)
        })
        .collect()
}

/// `getAvailableVisitColumnsToAnonymize` /
/// `getAvailableLinkVisitActionColumnsToAnonymize`: Matomo's
/// `test___PrivacyManager.getAvailable*ColumnsToAnonymize.xml`, column by
/// column with the reset values (NULL unless the column has a default; the
/// Bandwidth plugin's `bandwidth` included).
#[tokio::test]
async fn available_columns_are_matomos() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let visit_expected = expected_columns(
        &[
            "config_browser_engine",
            "config_browser_name",
            "config_browser_version",
            "config_client_type",
            "config_cookie",
            "config_device_brand",
            "config_device_model",
            "config_device_type",
            "config_flash",
            "config_java",
            "config_os",
            "config_os_version",
            "config_pdf",
            "config_quicktime",
            "config_realplayer",
            "config_resolution",
            "config_silverlight",
            "config_windowsmedia",
            "last_idlink_va",
            "location_browser_lang",
            "location_city",
            "location_country",
            "location_latitude",
            "location_longitude",
            "location_region",
            "profilable",
            "referer_keyword",
            "referer_name",
            "referer_type",
            "referer_url",
            "user_id",
            "visit_entry_idaction_name",
            "visit_entry_idaction_url",
            "visit_exit_idaction_name",
            "visit_goal_buyer",
            "visit_goal_converted",
            "visit_total_actions",
            "visit_total_events",
            "visit_total_searches",
            "visitor_localtime",
            "visitor_returning",
            "visitor_seconds_since_first",
            "visitor_seconds_since_last",
            "visitor_seconds_since_order",
        ],
        &[
            "visit_exit_idaction_url",
            "visit_total_interactions",
            "visitor_count_visits",
        ],
    );
    let pairs = |answer: &Value| -> Vec<(String, Value)> {
        answer
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        (
                            r["column_name"].as_str().unwrap_or_default().to_owned(),
                            r["default_value"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let visit = json_ok(
        &f,
        "method=PrivacyManager.getAvailableVisitColumnsToAnonymize",
    )
    .await?;
    assert_eq!(pairs(&visit), visit_expected);
    let action = json_ok(
        &f,
        "method=PrivacyManager.getAvailableLinkVisitActionColumnsToAnonymize",
    )
    .await?;
    let action_expected = expected_columns(
        &[
            "bandwidth",
            "custom_float",
            "idaction_content_interaction",
            "idaction_content_name",
            "idaction_content_piece",
            "idaction_content_target",
            "idaction_event_action",
            "idaction_event_category",
            "idaction_name",
            "idaction_name_ref",
            "idaction_product_cat",
            "idaction_product_cat2",
            "idaction_product_cat3",
            "idaction_product_cat4",
            "idaction_product_cat5",
            "idaction_product_name",
            "idaction_product_sku",
            "idaction_url",
            "idpageview",
            "pageview_position",
            "product_price",
            "search_cat",
            "search_count",
            "time_dom_completion",
            "time_dom_processing",
            "time_network",
            "time_on_load",
            "time_server",
            "time_spent",
            "time_spent_ref_action",
            "time_transfer",
        ],
        &["idaction_url_ref"],
    );
    assert_eq!(pairs(&action), action_expected);
    let admin = f.tokens.admin.clone();
    refused(
        &f,
        &admin,
        "method=PrivacyManager.getAvailableVisitColumnsToAnonymize",
    )
    .await?;
    Ok(())
}

/// The full IPs and user ids `anonymizeSomeRawData` works on: every visit
/// gets IP 203.0.113.10 and user id `alice` (the tracker masked the IPs
/// already).
fn give_visits_full_ips(f: &Fixture) -> anyhow::Result<()> {
    let mut conn = f.db.conn()?;
    diesel::sql_query(
        "UPDATE log_visit SET location_ip = INET6_ATON('203.0.113.10'), user_id = 'alice', \
         location_city = 'Paris', location_latitude = 48.85",
    )
    .execute(&mut conn)?;
    Ok(())
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Anonymized {
    #[diesel(sql_type = diesel::sql_types::Text)]
    visitor: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    ip: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    city: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    referer_name: Option<String>,
}

fn anonymized(f: &Fixture) -> anyhow::Result<Vec<Anonymized>> {
    let mut conn = f.db.conn()?;
    Ok(diesel::sql_query(
        "SELECT LOWER(HEX(idvisitor)) AS visitor, INET6_NTOA(location_ip) AS ip, user_id, \
         location_city AS city, referer_name FROM log_visit ORDER BY idvisitor",
    )
    .load(&mut conn)?)
}

/// `anonymizeSomeRawData` on site 1's 2026-11-10 (visitors A and B): IPs
/// masked by two bytes, user ids replaced by sha1(id . salt), the city
/// forgotten, `referer_name` reset; visitor C (2026-11-11) and site 2's
/// visitor D untouched (Matomo's `AnonymizationTest`/`LogDataAnonymizerTest`
/// rules). The password is required, something must be chosen, and only
/// resettable columns are accepted.
#[tokio::test]
async fn anonymize_some_raw_data_rewrites_only_the_chosen_sites_and_days() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    give_visits_full_ips(&f)?;
    let root = f.tokens.superuser.clone();
    let base = "method=PrivacyManager.anonymizeSomeRawData&idSites=1&date=2026-11-10";
    for (params, message) in [
        (
            "&anonymizeIp=1",
            "Please enter your password to confirm this change.",
        ),
        (
            "&anonymizeIp=1&passwordConfirmation=nope",
            "The current password you entered is not correct.",
        ),
        (
            "&passwordConfirmation=secret-pw",
            "Nothing is selected to be anonymized",
        ),
    ] {
        let (_, body) = as_user(&f, &root, &format!("{base}{params}")).await?;
        assert_eq!(
            body,
            format!(r#"{{"result":"error","message":"{message}"}}"#)
        );
    }
    let (_, body) = as_user(
        &f,
        &root,
        &format!("{base}&unsetVisitColumns[]=idvisit&passwordConfirmation=secret-pw"),
    )
    .await?;
    assert!(
        body.contains(r#"The column &quot;idvisit&quot; seems to not exist in log_visit or cannot be unset. Use one of config_browser_engine, "#),
        "{body}"
    );
    let admin = f.tokens.admin.clone();
    refused(
        &f,
        &admin,
        &format!("{base}&anonymizeIp=1&passwordConfirmation=secret-pw"),
    )
    .await?;
    assert!(anonymized(&f)?.iter().all(|v| v.ip == "203.0.113.10"));

    let (status, body) = as_user(
        &f,
        &root,
        &format!(
            "{base}&anonymizeIp=1&anonymizeLocation=1&anonymizeUserId=1\
             &unsetVisitColumns[]=referer_name&passwordConfirmation=secret-pw"
        ),
    )
    .await?;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"result":"success","message":"ok"}"#)
    );
    let salt = text(
        &f,
        "SELECT option_value AS t FROM `option` WHERE option_name = 'useridsalt'",
    )?;
    assert_eq!(salt.len(), 40);
    // The salt's alphabet has no quote.
    let hashed = text(&f, &format!("SELECT SHA1(CONCAT('alice', '{salt}')) AS t"))?;
    let changed = |visitor: &str| Anonymized {
        visitor: visitor.to_owned(),
        ip: "203.0.0.0".to_owned(),
        user_id: Some(hashed.clone()),
        city: None,
        referer_name: None,
    };
    let kept = |visitor: &str, referer: Option<&str>| Anonymized {
        visitor: visitor.to_owned(),
        ip: "203.0.113.10".to_owned(),
        user_id: Some("alice".to_owned()),
        city: Some("Paris".to_owned()),
        referer_name: referer.map(str::to_owned),
    };
    assert_eq!(
        anonymized(&f)?,
        [
            changed("aaaaaaaaaaaaaaaa"),
            changed("bbbbbbbbbbbbbbbb"),
            kept("cccccccccccccccc", Some("blog.example")),
            kept("dddddddddddddddd", None),
        ]
    );
    Ok(())
}

/// A GET tracking request for site 1 at 2026-11-12 from `ip`, with a
/// `DNT: 1` header when `dnt`, sent to a tracker started now (so it reads
/// the stored options afresh).
async fn track_one(f: &Fixture, visitor: &str, ip: &str, dnt: bool) -> anyhow::Result<()> {
    let router =
        crate::common::tracker_routes(&f.db, &tally_tracking::http::TrackerConfig::default())?;
    let mut request = axum::http::Request::get(format!(
        "/matomo.php?idsite=1&rec=1&_id={visitor}&cip={ip}&cdt=1794477600&url=https%3A%2F%2Fshop.example%2F&token_auth={}",
        f.tokens.superuser
    ));
    if dnt {
        request = request.header("DNT", "1");
    }
    let answer = crate::common::send(&router, request.body(axum::body::Body::empty())?).await?;
    anyhow::ensure!(answer.status.is_success(), "tracking: {}", answer.text());
    Ok(())
}

fn stored_ip(f: &Fixture, visitor: &str) -> anyhow::Result<Option<String>> {
    #[derive(QueryableByName)]
    struct Ip {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ip: String,
    }
    let mut conn = f.db.conn()?;
    Ok(diesel::sql_query(
        "SELECT INET6_NTOA(location_ip) AS ip FROM log_visit WHERE idvisitor = UNHEX(?)",
    )
    .bind::<diesel::sql_types::Text, _>(visitor)
    .get_result::<Ip>(&mut conn)
    .optional()?
    .map(|row| row.ip))
}

/// The privacy options set through the API are what the tracker applies
/// once it reloads its site snapshot: IP masking off, then one byte; Do
/// Not Track on, then off. Unset, Matomo's defaults hold (two bytes masked,
/// DNT ignored).
#[tokio::test]
async fn privacy_settings_take_effect_in_the_tracker() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let settings = json_ok(&f, "method=PrivacyManager.getAnonymizeIpSettings").await?;
    assert_eq!(
        settings,
        json!({
            "enabled": 1, "maskLength": 2, "forceCookielessTracking": 0,
            "anonymizeOrderId": 0, "anonymizeUserId": 0,
            "useAnonymizedIpForVisitEnrichment": 0, "anonymizeReferrer": ""
        })
    );
    assert_eq!(
        json_ok(&f, "method=PrivacyManager.isDoNotTrackEnabled").await?,
        json!({"value": 0})
    );
    // Defaults: masked by two bytes, a DNT request is tracked.
    // A new IP per request: the same fingerprint would continue the visit.
    track_one(&f, "1000000000000001", "198.51.100.1", true).await?;
    assert_eq!(
        stored_ip(&f, "1000000000000001")?.as_deref(),
        Some("198.51.0.0")
    );

    let set = json_ok(
        &f,
        "method=PrivacyManager.setAnonymizeIpSettings&anonymizeIPEnable=0&maskLength=1\
         &useAnonymizedIpForVisitEnrichment=0&anonymizeReferrer=exclude_path",
    )
    .await?;
    assert_eq!(set, json!({"value": 1}));
    track_one(&f, "1000000000000002", "198.51.101.2", false).await?;
    assert_eq!(
        stored_ip(&f, "1000000000000002")?.as_deref(),
        Some("198.51.101.2")
    );

    json_ok(
        &f,
        "method=PrivacyManager.setAnonymizeIpSettings&anonymizeIPEnable=1&maskLength=1\
         &useAnonymizedIpForVisitEnrichment=0&anonymizeUserId=1&anonymizeReferrer=bogus",
    )
    .await?;
    track_one(&f, "1000000000000003", "198.51.102.3", false).await?;
    assert_eq!(
        stored_ip(&f, "1000000000000003")?.as_deref(),
        Some("198.51.102.0")
    );
    let settings = json_ok(&f, "method=PrivacyManager.getAnonymizeIpSettings").await?;
    assert_eq!(settings["maskLength"], json!(1));
    assert_eq!(settings["anonymizeUserId"], json!(1));
    assert_eq!(
        settings["anonymizeReferrer"],
        json!(""),
        "unknown modes are stored as none"
    );

    assert_eq!(
        json_ok(&f, "method=PrivacyManager.activateDoNotTrack").await?,
        json!({"value": 1})
    );
    assert_eq!(
        json_ok(&f, "method=PrivacyManager.isDoNotTrackEnabled").await?,
        json!({"value": 1})
    );
    track_one(&f, "1000000000000004", "198.51.103.4", true).await?;
    assert_eq!(stored_ip(&f, "1000000000000004")?, None, "dropped for DNT");
    track_one(&f, "1000000000000005", "198.51.104.5", false).await?;
    assert!(stored_ip(&f, "1000000000000005")?.is_some());
    json_ok(&f, "method=PrivacyManager.deactivateDoNotTrack").await?;
    track_one(&f, "1000000000000006", "198.51.105.6", true).await?;
    assert!(stored_ip(&f, "1000000000000006")?.is_some());

    let admin = f.tokens.admin.clone();
    refused(&f, &admin, "method=PrivacyManager.activateDoNotTrack").await?;
    Ok(())
}

/// The user agent `MultipleSitesMultipleVisitsFixture` sets.
const CHROME_17: &str = "Mozilla/5.0 (Windows NT 6.0; WOW64) AppleWebKit/535.11 (KHTML, like Gecko) Chrome/17.0.963.66 Safari/535.11";

/// Replays the first visit of Matomo's `MultipleSitesMultipleVisitsFixture`
/// (site 1, user 200: a page view from www.example.com with goal 1, two
/// more page views with timings, a site search, five content impressions
/// and two interactions; IP anonymization off as the fixture sets it) and
/// checks `exportDataSubjects` of it against `exportDataSubject_oneVisitGiven.json`,
/// field by field where Matomo prints the stored value (ids, times, URLs,
/// action ids and names, referrer, custom variable, counts). Matomo formats
/// the other fields by dimension (`Yes`, `Chrome`, `00:06:01`, `0.37s`,
/// `$0`...), which we do not (MATOMO-DIFFERENCES.md); its test-only
/// `log_foo*` tables do not exist here.
#[tokio::test]
async fn export_of_matomos_first_fixture_visit() -> anyhow::Result<()> {
    use crate::php_tracker::{At, PhpTracker};
    use time::macros::datetime;

    let (db, token) = crate::common::matomo_site(
        datetime!(2014-01-02 03:04:05),
        |site| {
            site.name = "Site 1".to_owned();
            site.ecommerce = Some(true);
        },
        &[
            tally_management::GoalParams::new("Goal 1", "url", "/path/1", "contains"),
            tally_management::GoalParams::new("Goal 2", "url", "/path/2", "contains"),
        ],
    )?;
    let api = crate::common::reporting_api(&db)?;
    let set = crate::common::api_json(
        &api,
        &token,
        "method=PrivacyManager.setAnonymizeIpSettings&anonymizeIPEnable=0&maskLength=0\
         &useAnonymizedIpForVisitEnrichment=0",
    )
    .await?;
    assert_eq!(set, json!({"value": 1}));
    let router =
        crate::common::tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;

    // initTracker(200): a forced new visit, IP, user id, visitor id, time,
    // visit custom variable, country; then trackVisit's requests.
    let at = datetime!(2017-01-02 03:04:04);
    let mut t = PhpTracker::new(1, &token, "0000000000000000", at);
    t.set_user_agent(CHROME_17);
    t.ip = "156.5.3.200".to_owned();
    t.set_user_id(Some("userId200"), "");
    t.set_visitor_id("08aa728aec13d68d");
    t.set_visit_cvar(1, "myCustomUserId", json!(200));
    t.referrer = "http://www.example.com/".to_owned();
    t.url = "http://www.helloworld.com/hello/world200".to_owned();
    let mut requests = vec![format!("{}&new_visit=1", t.page_view("Hello World "))];
    requests.push(t.goal(1, 0.0));
    t.at = At::Datetime(datetime!(2017-01-02 03:10:04));
    for (j, timings) in [[0, 365, 66, 256, 201, 105], [0, 406, 105, 405, 122, 23]]
        .into_iter()
        .enumerate()
    {
        t.url = format!("http://www.helloworld.com/hello/world200/{j}");
        t.set_timings(timings);
        requests.push(t.page_view(&format!("Hello World {j}")));
    }
    requests.push(t.site_search("mobile", "images", Some(200)));
    for (name, piece, target) in [
        (
            "Product 1",
            Some("/path/product1.jpg"),
            Some("http://product1.example.com"),
        ),
        (
            "Product 1",
            Some("Buy Product 1 Now!"),
            Some("http://product1.example.com"),
        ),
        (
            "Product 2",
            Some("/path/product2.jpg"),
            Some("http://product200.example.com"),
        ),
        (
            "Product 3",
            Some("Product 3 on sale"),
            Some("http://product3.example.com"),
        ),
        ("Product 4", None, None),
    ] {
        requests.push(t.content_impression(name, piece, target));
    }
    requests.push(t.content_interaction(
        "click",
        "Product 3",
        Some("Product 3 on sale"),
        Some("http://product3.example.com"),
    ));
    requests.push(t.content_interaction(
        "hover",
        "/path/product1.jpg",
        Some("http://product1.example.com"),
        None,
    ));
    for query in &requests {
        t.ok(&router, &format!("{query}&country=ie")).await?;
    }

    let export = crate::common::api_json(
        &api,
        &token,
        "method=PrivacyManager.exportDataSubjects&visits[0][idsite]=1&visits[0][idvisit]=1",
    )
    .await?;
    let visit = &export["log_visit"][0];
    for (field, value) in [
        ("custom_var_k1", "myCustomUserId"),
        ("custom_var_v1", "200"),
        ("idvisit", "1"),
        ("idvisitor", "5484eb1bcd82eefe"),
        ("location_ip", "156.5.3.200"),
        ("referer_name", "www.example.com"),
        ("referer_url", "http://www.example.com/"),
        ("user_id", "userId200"),
        ("visit_entry_idaction_name", "1"),
        ("visit_entry_idaction_url", "2"),
        ("visit_exit_idaction_name", "7"),
        ("visit_first_action_time", "2017-01-02 03:04:04"),
        ("visit_last_action_time", "2017-01-02 03:10:04"),
        ("visit_total_actions", "4"),
        ("visit_total_events", "0"),
        ("visit_total_interactions", "4"),
        ("visit_total_searches", "1"),
        ("visitor_count_visits", "1"),
        ("visitor_localtime", "12:34:06"),
        ("visitor_seconds_since_first", "0"),
        ("visitor_seconds_since_last", "0"),
        ("config_browser_version", "17.0"),
        ("config_device_model", "generic desktop"),
        ("config_os_version", "Vista"),
        ("config_resolution", "1024x768"),
    ] {
        assert_eq!(visit[field], json!(value), "log_visit.{field}: {visit}");
    }
    // Expected action rows: (idlink_va, idaction_name, idaction_name_ref,
    // idaction_url, idaction_url_ref, pageview_position, server_time,
    // content name/piece/target/interaction).
    type ActionRow<'a> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        &'a str,
        [Option<&'a str>; 4],
    );
    let t0 = "2017-01-02 03:04:04";
    let t1 = "2017-01-02 03:10:04";
    let expected: [ActionRow<'_>; 11] = [
        (
            "1",
            Some("1"),
            "0",
            Some("2"),
            Some("0"),
            "1",
            t0,
            [None; 4],
        ),
        (
            "2",
            Some("3"),
            "1",
            Some("4"),
            Some("2"),
            "2",
            t1,
            [None; 4],
        ),
        (
            "3",
            Some("5"),
            "3",
            Some("6"),
            Some("4"),
            "3",
            t1,
            [None; 4],
        ),
        ("4", Some("7"), "5", None, Some("6"), "4", t1, [None; 4]),
        (
            "5",
            None,
            "7",
            Some("8"),
            None,
            "4",
            t1,
            [Some("9"), Some("10"), Some("11"), None],
        ),
        (
            "6",
            None,
            "7",
            Some("8"),
            None,
            "4",
            t1,
            [Some("9"), Some("12"), Some("11"), None],
        ),
        (
            "7",
            None,
            "7",
            Some("8"),
            None,
            "4",
            t1,
            [Some("13"), Some("14"), Some("15"), None],
        ),
        (
            "8",
            None,
            "7",
            Some("8"),
            None,
            "4",
            t1,
            [Some("16"), Some("17"), Some("18"), None],
        ),
        (
            "9",
            None,
            "7",
            Some("8"),
            None,
            "4",
            t1,
            [Some("19"), Some("20"), None, None],
        ),
        (
            "10",
            None,
            "7",
            Some("8"),
            None,
            "4",
            t1,
            [Some("16"), Some("17"), Some("18"), Some("21")],
        ),
        (
            "11",
            None,
            "7",
            Some("8"),
            None,
            "4",
            t1,
            [Some("23"), Some("24"), None, Some("22")],
        ),
    ];
    let actions = export["log_link_visit_action"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(actions.len(), expected.len(), "{actions:?}");
    let opt = |v: Option<&str>| v.map_or(Value::Null, |v| json!(v));
    for (row, (id, name, name_ref, url, url_ref, position, time, content)) in
        actions.iter().zip(expected)
    {
        let field = |name: &str| row.get(name).cloned().unwrap_or(Value::Null);
        assert_eq!(field("idlink_va"), json!(id), "{row}");
        assert_eq!(field("idaction_name"), opt(name), "{row}");
        assert_eq!(field("idaction_name_ref"), json!(name_ref), "{row}");
        assert_eq!(field("idaction_url"), opt(url), "{row}");
        assert_eq!(field("idaction_url_ref"), opt(url_ref), "{row}");
        assert_eq!(field("pageview_position"), json!(position), "{row}");
        assert_eq!(field("server_time"), json!(time), "{row}");
        assert_eq!(field("idvisitor"), json!("5484eb1bcd82eefe"), "{row}");
        for (column, value) in [
            "idaction_content_name",
            "idaction_content_piece",
            "idaction_content_target",
            "idaction_content_interaction",
        ]
        .into_iter()
        .zip(content)
        {
            assert_eq!(field(column), opt(value), "{column}: {row}");
        }
    }
    assert_eq!(actions[3]["search_cat"], json!("images"));
    assert_eq!(actions[3]["search_count"], json!("200"));
    let conversion = &export["log_conversion"][0];
    for (field, value) in [
        ("buster", "0"),
        ("config_browser_name", "CH"),
        ("config_client_type", "1"),
        ("config_device_brand", ""),
        ("config_device_model", "generic desktop"),
        ("config_device_type", "0"),
        ("custom_var_k1", "myCustomUserId"),
        ("custom_var_v1", "200"),
        ("idgoal", "1"),
        ("idsite", "1"),
        ("idvisit", "1"),
        ("idvisitor", "5484eb1bcd82eefe"),
        ("location_country", "ie"),
        ("pageviews_before", "1"),
        ("referer_name", "www.example.com"),
        ("referer_type", "3"),
        ("server_time", "2017-01-02 03:04:04"),
        ("url", "http://www.helloworld.com/hello/world200"),
        ("visitor_count_visits", "1"),
        ("visitor_returning", "0"),
        ("visitor_seconds_since_first", "0"),
    ] {
        assert_eq!(
            conversion[field],
            json!(value),
            "log_conversion.{field}: {conversion}"
        );
    }
    assert_eq!(export["log_conversion_item"], json!([]));
    // The action names, section by section, as Matomo lists them.
    let names = |section: &str| -> Vec<(String, String)> {
        export[section]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        (
                            r["idaction"].as_str().unwrap_or_default().to_owned(),
                            r["name"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        names("log_action_log_visit_visit_exit_idaction_name"),
        pairs(&[("7", "mobile")])
    );
    assert_eq!(
        names("log_action_log_visit_visit_entry_idaction_url"),
        pairs(&[("2", "http://www.helloworld.com/hello/world200")])
    );
    assert_eq!(
        names("log_action_log_visit_visit_entry_idaction_name"),
        pairs(&[("1", "Hello World")])
    );
    assert_eq!(
        names("log_action_log_link_visit_action_idaction_url"),
        pairs(&[
            ("2", "http://www.helloworld.com/hello/world200"),
            ("4", "http://www.helloworld.com/hello/world200/0"),
            ("6", "http://www.helloworld.com/hello/world200/1"),
            ("8", "http://www.helloworld.com/hello/world200/1"),
        ])
    );
    assert_eq!(
        names("log_action_log_link_visit_action_idaction_name"),
        pairs(&[
            ("1", "Hello World"),
            ("3", "Hello World 0"),
            ("5", "Hello World 1"),
            ("7", "mobile")
        ])
    );
    assert_eq!(
        names("log_action_log_link_visit_action_idaction_content_target"),
        pairs(&[
            ("11", "http://product1.example.com"),
            ("15", "http://product200.example.com"),
            ("18", "http://product3.example.com"),
        ])
    );
    assert_eq!(
        names("log_action_log_link_visit_action_idaction_content_piece"),
        pairs(&[
            ("10", "/path/product1.jpg"),
            ("12", "Buy Product 1 Now!"),
            ("14", "/path/product2.jpg"),
            ("17", "Product 3 on sale"),
            ("20", "Unknown"),
            ("24", "http://product1.example.com"),
        ])
    );
    assert_eq!(
        names("log_action_log_link_visit_action_idaction_content_name"),
        pairs(&[
            ("9", "Product 1"),
            ("13", "Product 2"),
            ("16", "Product 3"),
            ("19", "Product 4"),
            ("23", "/path/product1.jpg"),
        ])
    );
    assert_eq!(
        names("log_action_log_link_visit_action_idaction_content_interaction"),
        pairs(&[("21", "click"), ("22", "hover")])
    );
    Ok(())
}
