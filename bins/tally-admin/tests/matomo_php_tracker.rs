//! Matomo's PHP SDK (`MatomoTracker.php`, matomo-org/matomo-php-tracker)
//! pointed at `tally-admin serve` unchanged: a visit with the super user's
//! token (`cip`, a `cdt` days back, the language), page views, an event, a
//! site search, an outlink and a download, a goal by URL, a cart update
//! turned into an order; a second visitor in one bulk request; and a request that
//! forces an old time without a token, which Matomo refuses.
//!
//! Opt-in: the SDK is Matomo's, not ours, so it is not in this repository,
//! and it needs PHP (Debian's `php-cli` and `php-curl`). Run with
//! `MATOMO_PHP_TRACKER=<path to MatomoTracker.php> cargo nextest run -p
//! tally-admin --run-ignored all -E 'binary(matomo_php_tracker)'`.

use std::process::Command;

use diesel::prelude::*;
use tally_db::test_support::TestDb;

mod support;
use support::{conversions, ecommerce_shop, ok, serve, superuser};

/// Our script for the SDK: each call's answer on a line of its own (the
/// length of a GIF, the text of anything else).
const SCRIPT: &str = r#"<?php
require getenv('MATOMO_PHP_TRACKER');
[$_, $url, $token] = $argv;
function answer($r) { echo (str_starts_with((string) $r, 'GIF') ? 'gif ' . strlen($r) : $r), "\n"; }

$t = new MatomoTracker(1, $url);
$t->setTokenAuth($token);
$t->setIp('203.0.113.9');
$t->setUserAgent('Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0');
$t->setBrowserLanguage('fr-FR');
$t->setForceVisitDateTime('2026-11-20 10:00:00');
$t->setUrlReferrer('https://www.google.com/search?q=red+boots');
$t->setUrl('https://shop.example/boots');
answer($t->doTrackPageView('Boots'));
$t->setForceVisitDateTime('2026-11-20 10:00:30');
answer($t->doTrackEvent('Video', 'Play', 'Intro', 3));
$t->setForceVisitDateTime('2026-11-20 10:01:00');
answer($t->doTrackSiteSearch('red boots', 'Shoes', 4));
$t->setForceVisitDateTime('2026-11-20 10:01:30');
answer($t->doTrackAction('https://partner.example/x', 'link'));
answer($t->doTrackAction('https://shop.example/files/sizes.pdf', 'download'));
$t->setForceVisitDateTime('2026-11-20 10:02:00');
$t->addEcommerceItem('SKU1', 'Boot', 'Shoes', 12.5, 2);
answer($t->doTrackEcommerceCartUpdate(25.0));
$t->setForceVisitDateTime('2026-11-20 10:03:00');
$t->setUrl('https://shop.example/welcome');
answer($t->doTrackPageView('Welcome'));
$t->addEcommerceItem('SKU1', 'Boot', 'Shoes', 12.5, 2);
answer($t->doTrackEcommerceOrder('ORDER-1', 25.0, 25.0));

$b = new MatomoTracker(1, $url);
$b->setTokenAuth($token);
$b->enableBulkTracking();
$b->setVisitorId('0123456789abcdef');
$b->setIp('198.51.100.20');
$b->setForceVisitDateTime('2026-11-21 09:00:00');
$b->setUrl('https://shop.example/');
$b->doTrackPageView('Home');
$b->setForceVisitDateTime('2026-11-21 09:00:40');
$b->setUrl('https://shop.example/about');
$b->doTrackPageView('About');
answer($b->doBulkTrack());

$n = new MatomoTracker(1, $url);
$n->setForceVisitDateTime('2026-11-19 08:00:00');
$n->setUrl('https://shop.example/old');
answer($n->doTrackPageView('Old'));
"#;

#[test]
#[ignore = "needs Matomo's MatomoTracker.php (MATOMO_PHP_TRACKER) and php with curl"]
fn matomos_php_sdk_tracks_through_serve() -> anyhow::Result<()> {
    std::env::var("MATOMO_PHP_TRACKER")
        .map_err(|_| anyhow::anyhow!("set MATOMO_PHP_TRACKER to Matomo's MatomoTracker.php"))?;
    let db = TestDb::new()?;
    ecommerce_shop(&db, "https://shop.example")?;
    ok(
        &db,
        &[
            "goal",
            "add",
            "--site",
            "1",
            "--name",
            "Welcome",
            "--pattern",
            "/welcome",
        ],
    )?;
    let token = superuser(&db, "secret-1")?;
    let (_served, addr) = serve(&db, &[])?;
    let script = std::env::temp_dir().join(format!("tally-php-sdk-{}.php", std::process::id()));
    std::fs::write(&script, SCRIPT)?;
    let output = Command::new("php")
        .arg(&script)
        .arg(format!("http://{addr}/matomo.php"))
        .arg(&token)
        .output()?;
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "php: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<&str> = stdout.trim_end().lines().collect();
    assert_eq!(
        answers,
        [
            "gif 43",
            "gif 43",
            "gif 43",
            "gif 43",
            "gif 43",
            "gif 43",
            "gif 43",
            "gif 43",
            "{\"status\":\"success\",\"tracked\":2,\"invalid\":0,\"invalid_indices\":[]}",
            "the parameter `cdt` requires a token_auth with write access to the site",
        ],
        "eight hits answered with the GIF, the bulk's JSON for a super user, the \
         old time without a token refused"
    );

    let mut conn = db.conn()?;
    let visits: Vec<VisitRow> = diesel::sql_query(
        "SELECT INET6_NTOA(location_ip) AS ip, CAST(visit_first_action_time AS CHAR) AS first, \
         CAST(visit_last_action_time AS CHAR) AS last, visit_total_actions, referer_type, \
         COALESCE(referer_name, '') AS referer_name, COALESCE(referer_keyword, '') AS keyword, \
         location_browser_lang, visit_goal_converted, visit_goal_buyer \
         FROM log_visit ORDER BY idvisit",
    )
    .load(&mut conn)?;
    let seen: Vec<_> = visits
        .iter()
        .map(|v| {
            (
                v.ip.as_str(),
                v.first.as_str(),
                v.last.as_str(),
                v.visit_total_actions,
                v.referer_type,
                v.referer_name.as_str(),
                v.keyword.as_str(),
                v.location_browser_lang.as_str(),
                v.visit_goal_converted,
                v.visit_goal_buyer,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            // `cip` with two bytes anonymized (the default); the forced
            // times; Google (a search engine, 2) with its keyword;
            // converted; an order after a cart is "ordered" (1: Matomo's
            // VisitGoalBuyer sets it on any order, whatever came before).
            (
                "203.0.0.0",
                "2026-11-20 10:00:00",
                "2026-11-20 10:03:00",
                6,
                2,
                "Google",
                "red boots",
                "fr-fr",
                1,
                1
            ),
            (
                "198.51.0.0",
                "2026-11-21 09:00:00",
                "2026-11-21 09:00:40",
                2,
                1,
                "",
                "",
                "",
                0,
                0
            ),
        ]
    );
    let seen = conversions(&mut conn)?;
    assert_eq!(
        seen,
        [(0, Some(25.0), Some(2)), (1, Some(0.0), None)],
        "the order turns the visit's cart row into the order (Matomo's updateConversion of \
         the cart); the URL goal once"
    );
    let items: Vec<Item> = diesel::sql_query(
        "SELECT idorder, quantity, deleted FROM log_conversion_item ORDER BY idorder",
    )
    .load(&mut conn)?;
    let seen: Vec<_> = items
        .iter()
        .map(|i| (i.idorder.as_str(), i.quantity, i.deleted))
        .collect();
    // Matomo syncs the cart's item rows (idorder 0) into the order's.
    assert_eq!(seen, [("ORDER-1", 2, 0)]);
    let old: i64 = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM log_link_visit_action WHERE server_time < '2026-11-20'",
    )
    .get_result::<Count>(&mut conn)?
    .n;
    assert_eq!(old, 0, "the refused request left nothing");
    Ok(())
}

#[derive(QueryableByName)]
struct VisitRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    ip: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    first: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    last: String,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    visit_total_actions: u32,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::TinyInt>)]
    referer_type: u8,
    #[diesel(sql_type = diesel::sql_types::Text)]
    referer_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    keyword: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    location_browser_lang: String,
    #[diesel(sql_type = diesel::sql_types::TinyInt)]
    visit_goal_converted: i8,
    #[diesel(sql_type = diesel::sql_types::TinyInt)]
    visit_goal_buyer: i8,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Item {
    #[diesel(sql_type = diesel::sql_types::Text)]
    idorder: String,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    quantity: u32,
    #[diesel(sql_type = diesel::sql_types::TinyInt)]
    deleted: i8,
}
