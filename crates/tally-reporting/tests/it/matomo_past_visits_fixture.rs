//! Hits tracked in the past and out of order, as Matomo's system tests
//! `VisitsInPastInvalidateOldReportsTest` (fixture `TwoSitesVisitsInPast`)
//! and `OneVisitorSeveralDaysImportedInRandomOrderTest` (fixture
//! `VisitOverSeveralDaysImportedLogs`) send them, checked against the
//! figures of their expected outputs in matomo-org/matomo. Here the
//! reports are archived once before the old hits arrive, so the numbers
//! also show that those hits invalidated the archives and moved the site's
//! creation date back.

use serde_json::{Value, json};
use tally_logimport::{ImportOptions, SiteSelection};
use tally_management::{NewSiteParams, Principal};
use time::PrimitiveDateTime;
use time::macros::datetime;

use crate::common::{FixtureApi, matomo_site, reporting_api, tracker_routes, user_with_token};
use crate::php_tracker::{At, PhpTracker};

const SITE1_CREATED: PrimitiveDateTime = datetime!(2010-03-06 01:22:33);
const SITE1_PAST: PrimitiveDateTime = datetime!(2010-01-06 01:22:33);
const SITE2_CREATED: PrimitiveDateTime = datetime!(2010-01-03 20:22:33);
const SITE2_PAST: PrimitiveDateTime = datetime!(2009-10-30 01:22:33);

/// `(nb_visits, nb_actions, sum_visit_length)` of a month, `None` when it
/// has no visit.
type Month = (String, Option<(i64, i64, i64)>);

/// Each month of a `VisitsSummary.get` answer for several months.
fn summaries(answer: &Value) -> Vec<Month> {
    answer
        .as_object()
        .map(|months| {
            months
                .iter()
                .map(|(month, m)| {
                    let figures = m.get("nb_visits").map(|_| {
                        (
                            m["nb_visits"].as_i64().unwrap_or(-1),
                            m["nb_actions"].as_i64().unwrap_or(-1),
                            m["sum_visit_length"].as_i64().unwrap_or(-1),
                        )
                    });
                    (month.clone(), figures)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `label nb_visits nb_hits sum_time_spent entry exit` of each row of an
/// expanded `Actions.getPageUrls` month, subtable rows indented.
fn page_rows(rows: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows.as_array().into_iter().flatten() {
        let n = |k: &str| row[k].as_i64().unwrap_or(0);
        out.push(format!(
            "{} {} {} {} {} {}",
            row["label"].as_str().unwrap_or("?"),
            n("nb_visits"),
            n("nb_hits"),
            n("sum_time_spent"),
            n("entry_nb_visits"),
            n("exit_nb_visits"),
        ));
        if let Some(sub) = row.get("subtable") {
            out.extend(page_rows(sub).into_iter().map(|line| format!("  {line}")));
        }
    }
    out
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|line| (*line).to_owned()).collect()
}

/// Six page views of one visitor in the same second at `at` on `idsite`
/// (the fixture's "normal" visits), or the four (site 1) and five (site 2)
/// of its visits in the past.
async fn track(
    router: &axum::Router,
    token: &str,
    idsite: u32,
    at: PrimitiveDateTime,
    ip: Option<&str>,
    pages: &[(&str, &str)],
) -> anyhow::Result<PhpTracker> {
    let mut t = PhpTracker::new(idsite, token, &format!("{:016x}", 0xc0de + idsite), at);
    if let Some(ip) = ip {
        t.ip = ip.to_owned();
    }
    for (path, title) in pages {
        t.url = format!("http://example.org/{path}");
        let query = t.page_view(title);
        t.ok(router, &query).await?;
    }
    Ok(t)
}

/// The months the fixture's tests ask for: from the visits in the past,
/// four more.
fn months(idsite: u32) -> &'static str {
    match idsite {
        1 => "idSite=1&period=month&date=2010-01-06,2010-05-06",
        _ => "idSite=2&period=month&date=2009-10-30,2010-03-30",
    }
}

async fn summary(api: &FixtureApi, idsite: u32) -> anyhow::Result<Vec<Month>> {
    let answer = api
        .json(&format!("method=VisitsSummary.get&{}", months(idsite)))
        .await?;
    Ok(summaries(&answer))
}

async fn pages(api: &FixtureApi, idsite: u32) -> anyhow::Result<Value> {
    api.json(&format!(
        "method=Actions.getPageUrls&expanded=1&{}",
        months(idsite)
    ))
    .await
}

const NORMAL: [(&str, &str); 6] = [
    ("category/Page1", "Hello"),
    ("category/Page2", "Hello"),
    ("category/Page3", "Hello"),
    ("Home", "Hello"),
    ("Contact", "Hello"),
    ("Contact/ThankYou", "Hello"),
];

#[tokio::test]
async fn visits_in_the_past_invalidate_old_reports() -> anyhow::Result<()> {
    let (db, token) = matomo_site(SITE1_CREATED, |_| {}, &[])?;
    {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for _ in 2..=6 {
            let params = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                start_date: Some(SITE2_CREATED),
                ..NewSiteParams::new("Piwik test", ["http://piwik.net/"])
            };
            tally_management::add_site(&mut conn, &root, &params)?;
        }
    }
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;
    track(&router, &token, 1, SITE1_CREATED, None, &NORMAL).await?;
    track(
        &router,
        &token,
        2,
        SITE2_CREATED,
        Some("156.15.13.12"),
        &NORMAL,
    )
    .await?;

    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2010-06-01 00:00 UTC),
    };
    let month = |m: &str, figures: Option<(i64, i64, i64)>| (m.to_owned(), figures);
    // Before the old hits: only the months of the normal visits.
    assert_eq!(
        summary(&api, 1).await?,
        vec![
            month("2010-01", None),
            month("2010-02", None),
            month("2010-03", Some((1, 6, 1))),
            month("2010-04", None),
            month("2010-05", None),
        ]
    );
    assert_eq!(
        summary(&api, 2).await?[3],
        month("2010-01", Some((1, 6, 1)))
    );
    assert_eq!(summary(&api, 2).await?[0], month("2009-10", None));

    // The visits before the sites' creation.
    track(
        &router,
        &api.token,
        1,
        SITE1_PAST,
        Some("156.5.55.2"),
        &[
            ("category/Page1", "Hello"),
            ("category/Page1", "Hello"),
            ("category/Page2", "Hello"),
            ("category/Pagexx", "Blabla"),
        ],
    )
    .await?;
    let mut t = track(
        &router,
        &api.token,
        2,
        SITE2_PAST,
        Some("156.52.3.22"),
        &[
            ("category/Page1", "Hello"),
            ("category/Page1", "Hello"),
            ("category/Page2", "Hello"),
            ("category/Pageyy", "Blabla"),
        ],
    )
    .await?;
    t.at = At::Datetime(SITE2_PAST + time::Duration::seconds(360));
    let query = t.page_view("Blabla");
    t.ok(&router, &query).await?;

    // CoreAdminHome.invalidateArchivedReports as the test calls it: what
    // is not a site id is left out; one date or several, before the
    // sites' creation or not.
    for query in [
        "idSites=4,5,6,-1,s',1&dates=2010-01-03",
        "idSites=1,2&dates=2010-01-06,2009-10-30",
        "idSites=2&dates=2009-06-29",
        "idSites=2&dates=2010-03-03",
        "idSites=1&dates=2010-01-06,yesterday-ish",
    ] {
        let answer = api
            .json(&format!(
                "method=CoreAdminHome.invalidateArchivedReports&{query}"
            ))
            .await?;
        let text = answer["value"].as_str().unwrap_or("");
        assert!(text.starts_with("Success"), "{query}: {answer}");
        assert_eq!(text.contains("'yesterday-ish'"), query.ends_with("-ish"));
    }
    // A site the token cannot administer, a list of periods: refused.
    let viewer = FixtureApi {
        api: api.api.clone(),
        token: user_with_token(&mut db.conn()?, "viewer", Some(("view", 1)))?,
        now: api.now,
    };
    let (status, _) = viewer
        .raw("method=CoreAdminHome.invalidateArchivedReports&idSites=777&dates=2010-03-03")
        .await?;
    assert_eq!(status, 401);
    let (_, body) = api
        .raw(
            "method=CoreAdminHome.invalidateArchivedReports&period=day,month&idSites=1\
             &dates=2010-03-03&format=json",
        )
        .await?;
    assert!(
        body.contains("The period 'day,month' is not supported"),
        "{body}"
    );

    // The expected outputs "OldReportsShouldAppear" (identical to
    // "...ShouldNotAppear": the tracker moved the creation dates back).
    assert_eq!(
        summary(&api, 1).await?,
        vec![
            month("2010-01", Some((1, 4, 1))),
            month("2010-02", None),
            month("2010-03", Some((1, 6, 1))),
            month("2010-04", None),
            month("2010-05", None),
        ]
    );
    assert_eq!(
        summary(&api, 2).await?,
        vec![
            month("2009-10", Some((1, 5, 361))),
            month("2009-11", None),
            month("2009-12", None),
            month("2010-01", Some((1, 6, 1))),
            month("2010-02", None),
            month("2010-03", None),
        ]
    );
    let site1 = pages(&api, 1).await?;
    assert_eq!(
        page_rows(&site1["2010-01"]),
        lines(&[
            "category 3 4 0 1 1",
            "  /Page1 1 2 0 1 0",
            "  /Page2 1 1 0 0 0",
            "  /Pagexx 1 1 0 0 1",
        ])
    );
    let normal_month = lines(&[
        "category 3 3 0 1 0",
        "  /Page1 1 1 0 1 0",
        "  /Page2 1 1 0 0 0",
        "  /Page3 1 1 0 0 0",
        "/Contact 1 1 0 0 0",
        "/Home 1 1 0 0 0",
        "Contact 1 1 0 0 1",
        "  /ThankYou 1 1 0 0 1",
    ]);
    assert_eq!(page_rows(&site1["2010-03"]), normal_month);
    assert_eq!(site1["2010-02"], json!([]));
    let site2 = pages(&api, 2).await?;
    assert_eq!(
        page_rows(&site2["2009-10"]),
        lines(&[
            "category 3 5 360 1 1",
            "  /Page1 1 2 0 1 0",
            "  /Page2 1 1 0 0 0",
            "  /Pageyy 1 2 360 0 1",
        ])
    );
    assert_eq!(site2["2009-10"][0]["avg_time_on_page"], json!(72));
    assert_eq!(page_rows(&site2["2010-01"]), normal_month);
    Ok(())
}

/// Three access log lines of one client, a day apart, newest first.
const REVERSE_LOG: &str = "\
24.125.31.147 - - [07/Apr/2013:19:00:00 +0900] \"GET / HTTP/1.1\" 200 9625 \"-\" \"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)\"\n\
\n\
24.125.31.147 - - [06/Apr/2013:20:00:00 +0900] \"GET / HTTP/1.1\" 200 9625 \"-\" \"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)\"\n\
\n\
24.125.31.147 - - [05/Apr/2013:21:00:00 +0900] \"GET / HTTP/1.1\" 200 9625 \"-\" \"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)\"\n";

#[tokio::test]
async fn a_log_imported_newest_first_gives_one_visit_a_day() -> anyhow::Result<()> {
    let (db, token) = matomo_site(datetime!(2013-04-07 19:00:00), |_| {}, &[])?;
    let dir = std::env::temp_dir().join(format!("tally-reverse-{}", db.name()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("reverse.log");
    std::fs::write(&path, REVERSE_LOG)?;
    let options = ImportOptions {
        site: SiteSelection::Id(1),
        ..ImportOptions::default()
    };
    let report = tally_logimport::import_files(&db.pool()?, &[path], &options, &mut |_| {});
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(report?.files[0].counts.imported, 3);

    let api = FixtureApi {
        api: reporting_api(&db)?,
        token,
        now: datetime!(2013-04-08 00:00 UTC),
    };
    let visits = api
        .json("method=Live.getLastVisitsDetails&idSite=1&period=month&date=2013-04-07")
        .await?;
    let visits = visits.as_array().cloned().unwrap_or_default();
    let summary: Vec<Value> = visits
        .iter()
        .map(|v| {
            json!([
                v["idVisit"],
                v["serverDate"],
                v["firstActionTimestamp"],
                v["visitorType"],
                v["visitCount"],
                v["daysSinceLastVisit"],
                v["actions"],
                v["visitDuration"],
                v["actionDetails"][0]["pageIdAction"],
                v["actionDetails"][0]["bandwidth"],
                v["actionDetails"][0]["bandwidth_pretty"],
                v["actionDetails"][0]["customVariables"]["1"]
            ])
        })
        .collect();
    // Each visit new, of one action (the home page, action 1) with the
    // logged response length as its size and the HTTP status as page
    // custom variable, as Matomo's output. Matomo's also shows the full
    // IP, which our default anonymizes.
    let visit = |idvisit: u32, date: &str, first: i64| {
        json!([
            idvisit,
            date,
            first,
            "new",
            1,
            0,
            1,
            0,
            1,
            9625,
            "9.4 K",
            {"customVariablePageName1": "HTTP-code", "customVariablePageValue1": "200"}
        ])
    };
    assert_eq!(
        summary,
        vec![
            visit(1, "2013-04-07", 1_365_328_800),
            visit(2, "2013-04-06", 1_365_246_000),
            visit(3, "2013-04-05", 1_365_163_200),
        ]
    );
    // (Matomo shows one fingerprint for the three; ours change daily by
    // design, see "Fingerprint salt" in docs/MATOMO-DIFFERENCES.md.)
    Ok(())
}

/// `TrackerWindowLookBackTest`: the traffic of `VisitsOverSeveralDays` with
/// one visitor id for every tracker object (Matomo also makes its tracker
/// look back far for that visitor): still ten visits on site 1, the
/// visitor's visits of other days being too old to continue.
#[tokio::test]
async fn one_visitor_id_over_several_days_is_ten_visits() -> anyhow::Result<()> {
    let (_db, reports) =
        crate::matomo_periods_fixture::fixture_with(|_, _| "2f4f673d4732e11d".to_owned()).await?;
    assert_eq!(
        reports
            .get(
                "VisitsSummary.getVisits",
                "1",
                "range",
                "2010-12-01,2011-01-31"
            )
            .await?,
        json!({"value": 10})
    );
    Ok(())
}
