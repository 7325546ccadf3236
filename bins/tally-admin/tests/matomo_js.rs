//! Matomo's JavaScript tracker (`matomo.js`), run by a real browser against
//! `tally-admin serve`: page view, event, site search, manual goal,
//! ecommerce order with an item, outlink, download, content impression and
//! interaction, a user id and a heartbeat ping, each sent the way
//! the tracker sends them (GET images, `sendBeacon` POSTs with the query in
//! the URL).
//!
//! Opt-in: `matomo.js` is Matomo's file and the browser is Debian's
//! `chromium`, neither of which is in this repository or on CI. Run with
//! `MATOMO_JS=<path to matomo.js> cargo nextest run -p tally-admin
//! --run-ignored all -E 'binary(matomo_js)'`.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;

use diesel::prelude::*;
use tally_db::test_support::TestDb;

mod support;
use support::{conversions, ecommerce_shop, get, serve, superuser};

/// Serves `page.html` and `matomo.js` to the browser, from a thread, until
/// the test ends.
fn page_server(page: String, script: Vec<u8>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Headers up to the blank line; the browser sends no body here.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let (status, kind, body): (&str, &str, &[u8]) =
                match request_line.split_whitespace().nth(1) {
                    Some("/page.html") => ("200 OK", "text/html", page.as_bytes()),
                    Some("/matomo.js") => ("200 OK", "application/javascript", &script),
                    _ => ("404 Not Found", "text/plain", b"not found"),
                };
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    Ok(addr)
}

#[test]
#[ignore = "needs Matomo's matomo.js (MATOMO_JS) and Debian's chromium"]
fn matomos_javascript_tracker_records_through_a_browser() -> anyhow::Result<()> {
    let script = std::fs::read(
        std::env::var("MATOMO_JS")
            .map_err(|_| anyhow::anyhow!("set MATOMO_JS to Matomo's matomo.js"))?,
    )?;
    let db = TestDb::new()?;
    let (_served, tracker) = serve(&db, &[])?;
    let page_template = |tracker: SocketAddr| {
        format!(
            "<!doctype html><html><head><title>Shoes on sale</title></head><body><script>\n\
             var _paq = window._paq = window._paq || [];\n\
             _paq.push(['setTrackerUrl', 'http://{tracker}/matomo.php']);\n\
             _paq.push(['setSiteId', '1']);\n\
             _paq.push(['setUserId', 'alice@example.org']);\n\
             _paq.push(['setCustomVariable', 1, 'kind', 'js', 'page']);\n\
             _paq.push(['trackPageView']);\n\
             _paq.push(['trackEvent', 'Video', 'Play', 'Intro', 3]);\n\
             _paq.push(['trackSiteSearch', 'red shoes', 'Shoes', 4]);\n\
             _paq.push(['trackGoal', 1, 9.5]);\n\
             _paq.push(['addEcommerceItem', 'SKU1', 'Boot', 'Shoes', 12.5, 2]);\n\
             _paq.push(['trackEcommerceOrder', 'ORDER-1', 25, 25, 0, 0, 0]);\n\
             _paq.push(['trackLink', 'https://partner.example/x', 'link']);\n\
             _paq.push(['trackLink', 'https://shop.example/files/size-guide.pdf', 'download']);\n\
             _paq.push(['trackContentImpression', 'Banner', 'sale.png', 'https://shop.example/sale']);\n\
             _paq.push(['trackContentInteraction', 'click', 'Banner', 'sale.png', 'https://shop.example/sale']);\n\
             _paq.push(['ping']);\n\
             </script><script src=\"/matomo.js\"></script></body></html>"
        )
    };
    let pages = page_server(page_template(tracker), script)?;
    ecommerce_shop(&db, &format!("http://{pages}"))?;
    let token = superuser(&db, "secret-1")?;
    let (status, body) = get(
        tracker,
        &format!(
            "/index.php?module=API&method=Goals.addGoal&idSite=1&name=Manual&matchAttribute=manually\
             &pattern=&patternType=contains&format=json&token_auth={token}"
        ),
    )?;
    assert_eq!((status, body.trim()), (200, "{\"value\":1}"));

    let browser = Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=8000",
            "--dump-dom",
        ])
        .arg(format!("http://{pages}/page.html"))
        .output()?;
    assert!(browser.status.success(), "{browser:?}");

    let mut conn = db.conn()?;
    let visit: Visit = diesel::sql_query(
        "SELECT visit_total_actions, visit_total_events, visit_total_searches, \
         visit_total_interactions, visit_goal_converted, visit_goal_buyer, user_id FROM log_visit",
    )
    .get_result(&mut conn)?;
    assert_eq!(
        (
            visit.visit_total_actions,
            visit.visit_total_events,
            visit.visit_total_searches,
            visit.visit_total_interactions,
            visit.visit_goal_converted,
            visit.visit_goal_buyer,
            visit.user_id.as_deref(),
        ),
        (5, 1, 1, 2, 1, 1, Some("alice@example.org")),
        "actions: page view, event, search, outlink, download (contents and the ping are \
         none); interactions: the page view and the search (Matomo's \
         VisitTotalInteractions); converted, ordered"
    );
    let actions: Vec<Action> = diesel::sql_query(
        "SELECT u.type AS url_type, COALESCE(u.name, '') AS url, COALESCE(n.name, '') AS name, \
         COALESCE(l.search_cat, '') AS search_cat, l.custom_var_v1, \
         CONCAT_WS('|', cn.name, cp.name, ct.name, ci.name) AS content \
         FROM log_link_visit_action l \
         LEFT JOIN log_action u ON u.idaction = l.idaction_url \
         LEFT JOIN log_action n ON n.idaction = l.idaction_name \
         LEFT JOIN log_action cn ON cn.idaction = l.idaction_content_name \
         LEFT JOIN log_action cp ON cp.idaction = l.idaction_content_piece \
         LEFT JOIN log_action ct ON ct.idaction = l.idaction_content_target \
         LEFT JOIN log_action ci ON ci.idaction = l.idaction_content_interaction \
         ORDER BY l.idlink_va",
    )
    .load(&mut conn)?;
    let seen: Vec<_> = actions
        .iter()
        .map(|a| {
            (
                a.url_type,
                a.url.as_str(),
                a.name.as_str(),
                a.search_cat.as_str(),
                a.custom_var_v1.as_deref(),
                a.content.as_str(),
            )
        })
        .collect();
    // Page and event URLs lose their scheme to the URL prefix id; a content
    // row keeps the page URL whole (Matomo's ActionContent looks it up
    // as sent).
    let page = format!("{pages}/page.html");
    let full_page = format!("http://{pages}/page.html");
    let banner = "Banner|sale.png|https://shop.example/sale";
    assert_eq!(
        seen,
        [
            (Some(1), page.as_str(), "Shoes on sale", "", Some("js"), ""),
            (Some(10), page.as_str(), "Intro", "", Some("js"), ""),
            (None, "", "red shoes", "Shoes", Some("js"), ""),
            (Some(2), "https://partner.example/x", "", "", Some("js"), ""),
            (
                Some(3),
                "https://shop.example/files/size-guide.pdf",
                "",
                "",
                Some("js"),
                ""
            ),
            (Some(13), full_page.as_str(), "", "", Some("js"), banner),
            (
                Some(13),
                full_page.as_str(),
                "",
                "",
                Some("js"),
                &format!("{banner}|click")
            ),
        ]
    );
    let views: Vec<PageView> = diesel::sql_query(
        "SELECT COALESCE(idpageview, '') AS idpageview, pageview_position, \
         time_network IS NOT NULL AS timed FROM log_link_visit_action ORDER BY idlink_va",
    )
    .load(&mut conn)?;
    // One page view id (the tracker's random six characters) on every row
    // after the page view; positions as Matomo's PageViewPosition (the
    // search is an interaction of its own, the rest reuse the last one);
    // the browser's performance timings on the page view alone.
    let pv_id = views[0].idpageview.as_str();
    assert_eq!(pv_id.len(), 6, "{pv_id}");
    let seen: Vec<_> = views
        .iter()
        .map(|v| (v.idpageview.as_str(), v.pageview_position, v.timed))
        .collect();
    let later = (pv_id, Some(2), false);
    assert_eq!(
        seen,
        [
            (pv_id, Some(1), true),
            (pv_id, Some(1), false),
            later,
            later,
            later,
            later,
            later
        ]
    );
    let seen = conversions(&mut conn)?;
    assert_eq!(seen, [(0, Some(25.0), Some(2)), (1, Some(9.5), None)]);
    Ok(())
}

#[derive(QueryableByName)]
struct Visit {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    visit_total_actions: u32,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    visit_total_events: u32,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    visit_total_searches: u32,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    visit_total_interactions: u32,
    #[diesel(sql_type = diesel::sql_types::TinyInt)]
    visit_goal_converted: i8,
    #[diesel(sql_type = diesel::sql_types::TinyInt)]
    visit_goal_buyer: i8,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    user_id: Option<String>,
}

#[derive(QueryableByName)]
struct Action {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Unsigned<diesel::sql_types::TinyInt>>)]
    url_type: Option<u8>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    url: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    search_cat: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    custom_var_v1: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    content: String,
}

#[derive(QueryableByName)]
struct PageView {
    #[diesel(sql_type = diesel::sql_types::Text)]
    idpageview: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Unsigned<diesel::sql_types::Integer>>)]
    pageview_position: Option<u32>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    timed: bool,
}
