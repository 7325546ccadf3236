//! The tracker end to end: real HTTP requests to an in-process server on a
//! random port, rows asserted in MariaDB (issue "Tracker", what it must show).
// Assertions read rows as tuples of the columns they check.
#![allow(clippy::type_complexity)]

#[path = "support/serve.rs"]
mod serve;

use std::net::SocketAddr;

use diesel::prelude::*;
use tally_db::test_support::TestDb;
use tally_schema::Coordinate;
use tally_schema::schema::{
    archive_invalidations, log_action, log_conversion, log_conversion_item, log_link_visit_action,
    log_visit,
};
use tally_tracking::http::{Tracker, TrackerConfig};
use tally_tracking::php::rawurlencode as enc;
use tally_tracking::site::{hash_token, instance_salt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

struct Server {
    addr: SocketAddr,
    db: TestDb,
    tracker: Tracker,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the response header `name`, if sent.
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sites: 1 (UTC, goals, ecommerce, excluded IP 10.9.9.0/24), 2 (plain).
fn seed(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    let salt = instance_salt(conn)?;
    for sql in [
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Shop', 'https://shop.example', '2020-01-01 00:00:00', 1, 1, '', 'cat', 'UTC', 'EUR', \
         '10.9.9.0/24', 'sessionkey', 'ExcludedAgent', '', '', 'website'), \
         (2, 'Blog', 'https://blog.example', '2020-01-01 00:00:00', 0, 1, '', '', 'Europe/Paris', 'EUR', \
         '', '', '', '', '', 'website')",
        "INSERT INTO goal (idsite, idgoal, name, description, match_attribute, pattern, pattern_type, \
         case_sensitive, allow_multiple, revenue, deleted, event_value_as_revenue) VALUES \
         (1, 1, 'Thanks', '', 'url', 'thank-?you', 'regex', 0, 0, 5, 0, 0), \
         (1, 2, 'Newsletter', '', 'manually', '', 'exact', 0, 1, 2.5, 0, 0), \
         (1, 3, 'Video', '', 'event_category', 'video', 'contains', 0, 0, 0, 0, 1)",
        "INSERT INTO user (login, password, email, superuser_access) VALUES ('root', 'x', 'root@example.org', 1)",
        "INSERT INTO custom_dimensions (idcustomdimension, idsite, name, `index`, scope, active, extractions) VALUES \
         (1, 1, 'Plan', 1, 'visit', 1, '[]'), (2, 1, 'Section', 1, 'action', 1, '[]')",
    ] {
        diesel::sql_query(sql).execute(conn)?;
    }
    diesel::sql_query(
        "INSERT INTO user_token_auth (login, description, password, hash_algo, date_created) \
         VALUES ('root', 'test', ?, 'sha512', NOW())",
    )
    .bind::<diesel::sql_types::Text, _>(hash_token(TOKEN, &salt))
    .execute(conn)?;
    Ok(())
}

async fn start() -> anyhow::Result<Server> {
    start_with(&TrackerConfig::default()).await
}

async fn start_with(config: &TrackerConfig) -> anyhow::Result<Server> {
    start_with_options(config, &[]).await
}

/// A tracker on the seeded database with `options` rows stored first.
async fn start_with_options(
    config: &TrackerConfig,
    options: &[(&str, &str)],
) -> anyhow::Result<Server> {
    let db = TestDb::new()?;
    seed(&mut db.conn()?)?;
    for (name, value) in options {
        diesel::sql_query(
            "INSERT INTO `option` (option_name, option_value, autoload) VALUES (?, ?, 1)",
        )
        .bind::<diesel::sql_types::Text, _>(*name)
        .bind::<diesel::sql_types::Text, _>(*value)
        .execute(&mut db.conn()?)?;
    }
    let tracker = Tracker::start(db.pool()?, config)?;
    let (addr, tx) = serve::serve(tracker.clone()).await?;
    Ok(Server {
        addr,
        db,
        tracker,
        _shutdown: tx,
    })
}

impl Server {
    /// A raw HTTP/1.1 exchange (no client library needed for this).
    async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        let mut s = tokio::net::TcpStream::connect(self.addr).await?;
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nHost: tracker\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        let has_ua = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"));
        if !has_ua {
            req.push_str(&format!("User-Agent: {UA}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await?;
        s.write_all(body).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        let head_end = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| anyhow::anyhow!("no header end"))?;
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("no status"))?
            .parse()?;
        let mut body = buf[head_end + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Ok(Answer { status, head, body })
    }

    async fn get(&self, query: &str) -> anyhow::Result<Answer> {
        self.send("GET", &format!("/matomo.php?{query}"), &[], b"")
            .await
    }

    fn conn(&self) -> anyhow::Result<MysqlConnection> {
        Ok(self.db.conn()?)
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..eol]).unwrap_or("0").trim();
        let n = usize::from_str_radix(size, 16).unwrap_or(0);
        if n == 0 || b.len() < eol + 4 + n {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
    out
}

/// A tracked time in the past (authenticated with the token).
const T0: i64 = 1_795_600_800; // 2026-11-24 09:20:00 UTC

fn at(offset: i64) -> String {
    format!("cdt={}&token_auth={TOKEN}", T0 + offset)
}

fn visitor(n: u8) -> String {
    format!("_id={:016x}", 0x1000_0000_0000_0000u64 + u64::from(n))
}

fn count_visits(conn: &mut MysqlConnection, site: u32) -> anyhow::Result<i64> {
    Ok(log_visit::table
        .filter(log_visit::idsite.eq(site))
        .count()
        .get_result(conn)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_visitor_gets_two_visits_split_after_30_minutes() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(1);
    for (offset, page, title) in [
        (0, "/", "Home"),
        (60, "/about", "About us"),
        (60 + 1801, "/", "Home"),
    ] {
        let a = s
            .get(&format!(
                "idsite=1&rec=1&{v}&{}&url={}&action_name={}&res=1280x800",
                at(offset),
                enc(&format!("https://shop.example{page}")),
                enc(title)
            ))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.body.len(), 43, "the 1x1 GIF");
    }
    let mut c = s.conn()?;
    let visits: Vec<(u64, Option<u32>, u32, u32, Option<i8>, Option<String>)> = log_visit::table
        .order(log_visit::idvisit)
        .select((
            log_visit::idvisit,
            log_visit::visit_total_actions,
            log_visit::visit_total_time,
            log_visit::visitor_count_visits,
            log_visit::visitor_returning,
            log_visit::config_resolution,
        ))
        .load(&mut c)?;
    assert_eq!(visits.len(), 2);
    assert_eq!(visits[0].1, Some(2));
    assert_eq!(visits[0].2, 61, "1 + last - first");
    assert_eq!((visits[0].3, visits[0].4), (1, Some(0)));
    assert_eq!(visits[1].1, Some(1));
    assert_eq!(
        (visits[1].3, visits[1].4),
        (2, Some(1)),
        "second visit of a known visitor"
    );
    assert_eq!(visits[0].5.as_deref(), Some("1280x800"));

    let actions: Vec<(u64, Option<u32>, Option<u32>, Option<u32>, Option<u32>)> =
        log_link_visit_action::table
            .order(log_link_visit_action::idlink_va)
            .select((
                log_link_visit_action::idvisit,
                log_link_visit_action::time_spent_ref_action,
                log_link_visit_action::idaction_url_ref,
                log_link_visit_action::idaction_url,
                log_link_visit_action::pageview_position,
            ))
            .load(&mut c)?;
    assert_eq!(actions.len(), 3);
    assert_eq!(actions[0].0, visits[0].0);
    assert_eq!(actions[1].0, visits[0].0);
    assert_eq!(actions[2].0, visits[1].0);
    assert_eq!(actions[1].1, Some(60), "time spent on the previous page");
    assert_eq!(
        actions[1].2, actions[0].3,
        "the previous page is the ref action"
    );
    assert_eq!(actions[0].2, Some(0));
    assert_eq!(
        (actions[0].4, actions[1].4, actions[2].4),
        (Some(1), Some(2), Some(1))
    );
    // URLs are stored without scheme, with the prefix id (https:// = 2).
    let names: Vec<(String, Option<i8>)> = log_action::table
        .filter(log_action::type_.eq(1))
        .order(log_action::idaction)
        .select((log_action::name.assume_not_null(), log_action::url_prefix))
        .load(&mut c)?;
    assert_eq!(
        names,
        vec![
            ("shop.example/".into(), Some(2)),
            ("shop.example/about".into(), Some(2))
        ]
    );
    let titles: i64 = log_action::table
        .filter(log_action::type_.eq(4))
        .count()
        .get_result(&mut c)?;
    assert_eq!(titles, 2, "'Home' is stored once");
    // The day is in the past: it is queued for archiving again.
    let inv: i64 = archive_invalidations::table
        .filter(archive_invalidations::idsite.eq(1))
        .count()
        .get_result(&mut c)?;
    assert_eq!(inv, 1);
    Ok(())
}

/// Matomo discards an outlink or download URL that does not look like one
/// (`PageUrl::getUrlIfLookValid`): a `mailto:` click is an action without
/// URL, which its reports show as "Page URL not defined"
/// (`TwoVisitors_twoWebsites_differentDays__Actions.getOutlinks_day.xml`
/// is empty).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailto_link_is_an_action_without_url() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(3);
    let url = enc("https://shop.example/contact");
    for q in [
        format!("idsite=1&rec=1&{v}&{}&url={url}&action_name=Contact", at(0)),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&link={}",
            at(10),
            enc("mailto:test@example.org")
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&download={}",
            at(20),
            enc("javascript:void(0)")
        ),
    ] {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    let mut c = s.conn()?;
    let urls: Vec<Option<u32>> = log_link_visit_action::table
        .order(log_link_visit_action::idlink_va)
        .select(log_link_visit_action::idaction_url)
        .load(&mut c)?;
    assert_eq!(urls.len(), 3);
    assert!(urls[0].is_some_and(|id| id > 0), "{urls:?}");
    assert!(urls[1..].iter().all(|id| id.unwrap_or(0) == 0), "{urls:?}");
    let links: i64 = log_action::table
        .filter(log_action::type_.eq_any([2, 3]))
        .count()
        .get_result(&mut c)?;
    assert_eq!(links, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outlinks_downloads_searches_and_events() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(2);
    let url = enc("https://shop.example/docs?sessionkey=abc&x=1#frag");
    for q in [
        format!("idsite=1&rec=1&{v}&{}&url={url}&action_name=Docs", at(0)),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&link={}",
            at(10),
            enc("https://other.example/page")
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&download={}",
            at(20),
            enc("https://shop.example/file.pdf")
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&url={}&search_count=4",
            at(30),
            enc("https://shop.example/find?q=Red+Shoes&cat=Men")
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&e_c=Video&e_a=Play&e_n=Intro&e_v=3.5",
            at(40)
        ),
    ] {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    let mut c = s.conn()?;
    let rows: Vec<(
        Option<u32>,
        Option<u32>,
        Option<String>,
        Option<u32>,
        Option<f64>,
        Option<u32>,
    )> = log_link_visit_action::table
        .order(log_link_visit_action::idlink_va)
        .select((
            log_link_visit_action::idaction_url,
            log_link_visit_action::idaction_name,
            log_link_visit_action::search_cat,
            log_link_visit_action::search_count,
            log_link_visit_action::custom_float,
            log_link_visit_action::idaction_event_action,
        ))
        .load(&mut c)?;
    assert_eq!(rows.len(), 5);
    let name_of =
        |c: &mut MysqlConnection, id: Option<u32>| -> anyhow::Result<(String, Option<u8>)> {
            let (n, t): (Option<String>, Option<u8>) = log_action::table
                .find(id.unwrap_or(0))
                .select((log_action::name, log_action::type_))
                .first(c)?;
            Ok((n.unwrap_or_default(), t))
        };
    // Excluded parameter and fragment removed from the page URL.
    assert_eq!(
        name_of(&mut c, rows[0].0)?,
        ("shop.example/docs?x=1".into(), Some(1))
    );
    assert_eq!(
        name_of(&mut c, rows[1].0)?,
        ("https://other.example/page".into(), Some(2))
    );
    assert_eq!(
        name_of(&mut c, rows[2].0)?,
        ("https://shop.example/file.pdf".into(), Some(3))
    );
    // Site search: keyword action, no URL, category and count.
    assert_eq!(rows[3].0, None);
    assert_eq!(name_of(&mut c, rows[3].1)?, ("Red Shoes".into(), Some(8)));
    assert_eq!(rows[3].2.as_deref(), Some("Men"));
    assert_eq!(rows[3].3, Some(4));
    // Event: name, action, value.
    assert_eq!(name_of(&mut c, rows[4].1)?, ("Intro".into(), Some(12)));
    assert_eq!(name_of(&mut c, rows[4].5)?, ("Play".into(), Some(11)));
    assert_eq!(rows[4].4, Some(3.5));
    let (actions, searches, events, interactions): (
        Option<u32>,
        Option<u16>,
        Option<u32>,
        Option<u32>,
    ) = log_visit::table
        .select((
            log_visit::visit_total_actions,
            log_visit::visit_total_searches,
            log_visit::visit_total_events,
            log_visit::visit_total_interactions,
        ))
        .first(&mut c)?;
    assert_eq!(
        (actions, searches, events, interactions),
        (Some(5), Some(1), Some(1), Some(2))
    );
    // The event goal "Video" (event value as revenue) converted once.
    let conv: Vec<(i32, Option<f64>)> = log_conversion::table
        .select((log_conversion::idgoal, log_conversion::revenue))
        .load(&mut c)?;
    assert_eq!(conv, vec![(3, Some(3.5))]);
    // A pageview without URL and title: both ids 0 ("Page URL/Name not
    // defined" in reports), as Matomo writes them.
    let w = visitor(3);
    let a = s.get(&format!("idsite=1&rec=1&{w}&{}", at(50))).await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let last: (Option<u32>, Option<u32>) = log_link_visit_action::table
        .order(log_link_visit_action::idlink_va.desc())
        .select((
            log_link_visit_action::idaction_url,
            log_link_visit_action::idaction_name,
        ))
        .first(&mut c)?;
    assert_eq!(last, (Some(0), Some(0)));
    Ok(())
}

/// Download and outlink URLs are stored as Matomo's `ActionDownloadUrl` and
/// `ActionClickUrl` store the parameter `getRequestVar` returned:
/// HTML-escaped once (`Common::sanitizeInputValue` decodes entities
/// first), cleaned by `PageUrl::getUrlIfLookValid` (trimmed), but neither
/// unescaped nor matrix-converted as page URLs are (`cleanupUrl`). Goals
/// match the URL unescaped (`GoalManager::isUrlMatchingGoal` runs
/// `Common::unsanitizeInputValue`) and the conversion is filed under the
/// stored URL (`detectGoalMatch` returns `getActionUrl()`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_urls_are_stored_escaped_once_and_match_goals_unescaped() -> anyhow::Result<()> {
    let s = start().await?;
    let mut c = s.conn()?;
    conn_exec(
        &mut c,
        "INSERT INTO goal (idsite, idgoal, name, description, match_attribute, pattern, \
         pattern_type, case_sensitive, allow_multiple, revenue, deleted, event_value_as_revenue) \
         VALUES (1, 10, 'Zip', '', 'file', 'get.zip?a=1&b=<2>', 'contains', 0, 0, 1, 0, 0)",
    )?;
    tally_tracking::site::settings_changed(&mut c)?;
    s.tracker.settings_changed();
    let v = visitor(5);
    let page = enc("https://shop.example/files");
    for (offset, kind, url) in [
        (
            0,
            "download",
            " https://files.example/get.zip?a=1&b=<2>&amp;c=\"3\" ",
        ),
        (10, "link", "https://other.example/p;x=1;y='2'"),
    ] {
        let q = format!(
            "idsite=1&rec=1&{v}&{}&url={page}&{kind}={}",
            at(offset),
            enc(url)
        );
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    let stored: Vec<(Option<String>, Option<u8>, Option<i8>)> = log_action::table
        .filter(log_action::type_.eq_any([2, 3]))
        .order(log_action::type_.desc())
        .select((log_action::name, log_action::type_, log_action::url_prefix))
        .load(&mut c)?;
    assert_eq!(
        stored,
        [
            (
                Some(
                    "https://files.example/get.zip?a=1&amp;b=&lt;2&gt;&amp;c=&quot;3&quot;".into()
                ),
                Some(3),
                None
            ),
            (
                Some("https://other.example/p;x=1;y=&#039;2&#039;".into()),
                Some(2),
                None
            ),
        ]
    );
    let conv: Vec<(i32, String)> = log_conversion::table
        .select((log_conversion::idgoal, log_conversion::url))
        .load(&mut c)?;
    assert_eq!(
        conv,
        [(
            10,
            "https://files.example/get.zip?a=1&amp;b=&lt;2&gt;&amp;c=&quot;3&quot;".into()
        )]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goals_url_regex_once_per_visit_and_manual() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(3);
    let thanks = enc("https://shop.example/Thank-You");
    for q in [
        format!("idsite=1&rec=1&{v}&{}&url={thanks}", at(0)),
        format!("idsite=1&rec=1&{v}&{}&url={thanks}", at(5)),
        format!("idsite=1&rec=1&{v}&{}&idgoal=2&revenue=7", at(6)),
        format!("idsite=1&rec=1&{v}&{}&idgoal=2", at(7)),
    ] {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    let a = s
        .get(&format!("idsite=1&rec=1&{v}&{}&idgoal=99", at(8)))
        .await?;
    assert_eq!(a.status, 400);
    assert!(
        a.text().contains("idGoal 99 does not exist"),
        "{}",
        a.text()
    );
    let mut c = s.conn()?;
    let conv: Vec<(i32, Option<f64>, String)> = log_conversion::table
        .order((log_conversion::idgoal, log_conversion::revenue))
        .select((
            log_conversion::idgoal,
            log_conversion::revenue,
            log_conversion::url,
        ))
        .load(&mut c)?;
    assert_eq!(conv.len(), 3, "{conv:?}");
    assert_eq!(
        conv[0],
        (1, Some(5.0), "https://shop.example/Thank-You".into())
    );
    assert_eq!((conv[1].0, conv[1].1), (2, Some(2.5)));
    assert_eq!((conv[2].0, conv[2].1), (2, Some(7.0)));
    let converted: Option<i8> = log_visit::table
        .select(log_visit::visit_goal_converted)
        .first(&mut c)?;
    assert_eq!(converted, Some(1));
    // Manual goal requests store no action.
    let actions: i64 = log_link_visit_action::table.count().get_result(&mut c)?;
    assert_eq!(actions, 2);
    Ok(())
}

/// Goal conversions of `idgoal` recorded so far.
fn conversions_of(conn: &mut MysqlConnection, idgoal: i32) -> anyhow::Result<i64> {
    Ok(log_conversion::table
        .filter(log_conversion::idgoal.eq(idgoal))
        .count()
        .get_result(conn)?)
}

/// What an admin API of another process does: a goal row and the settings
/// version moved on, in one transaction.
fn add_goal_elsewhere(
    conn: &mut MysqlConnection,
    idgoal: i32,
    pattern: &str,
) -> anyhow::Result<()> {
    conn.transaction(|c| {
        diesel::sql_query(
            "INSERT INTO goal (idsite, idgoal, name, description, match_attribute, pattern, \
             pattern_type, case_sensitive, allow_multiple, revenue, deleted, event_value_as_revenue) \
             VALUES (1, ?, 'Joined', '', 'url', ?, 'contains', 0, 0, 1, 0, 0)",
        )
        .bind::<diesel::sql_types::Integer, _>(idgoal)
        .bind::<diesel::sql_types::Text, _>(pattern)
        .execute(c)?;
        tally_tracking::site::settings_changed(c)
    })?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_apply_after_the_settings_check_or_a_notification() -> anyhow::Result<()> {
    // Checks an hour apart: only a notification or an unknown site reads
    // the settings version before a request.
    let s = start_with(&TrackerConfig {
        settings_check_ms: 3_600_000,
        ..TrackerConfig::default()
    })
    .await?;
    let mut c = s.conn()?;
    let joined = enc("https://shop.example/joined");
    let hit =
        |n: u8, offset: i64| format!("idsite=1&rec=1&{}&{}&url={joined}", visitor(n), at(offset));
    // A request first: the tracker has read the version once.
    assert_eq!(s.get(&hit(40, 0)).await?.status, 200);

    add_goal_elsewhere(&mut c, 10, "joined")?;
    assert_eq!(s.get(&hit(41, 10)).await?.status, 200);
    assert_eq!(
        conversions_of(&mut c, 10)?,
        0,
        "within the check interval the tracker keeps its settings"
    );
    // An API call of the same process (tally-admin serve) notifies.
    s.tracker.settings_changed();
    assert_eq!(s.get(&hit(42, 20)).await?.status, 200);
    assert_eq!(conversions_of(&mut c, 10)?, 1);

    // A site added elsewhere is tracked at once, even right after a reload
    // (an unknown site reads the version before the request is refused).
    conn_exec(
        &mut c,
        "INSERT INTO site (idsite, name, main_url, ts_created, timezone, currency, excluded_ips, \
         excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`, \
         sitesearch_keyword_parameters, sitesearch_category_parameters) VALUES \
         (3, 'Docs', 'https://docs.example', '2020-01-01 00:00:00', 'UTC', 'EUR', '', '', '', '', '', 'website', '', '')",
    )?;
    tally_tracking::site::settings_changed(&mut c)?;
    let a = s
        .get(&format!(
            "idsite=3&rec=1&{}&{}&url={}",
            visitor(43),
            at(30),
            enc("https://docs.example/")
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(count_visits(&mut c, 3)?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_checks_every_request_an_admin_change_applies_to_the_next_hit() -> anyhow::Result<()> {
    let s = start_with(&TrackerConfig {
        settings_check_ms: 0,
        ..TrackerConfig::default()
    })
    .await?;
    let mut c = s.conn()?;
    let page = enc("https://shop.example/welcome");
    assert_eq!(
        s.get(&format!(
            "idsite=1&rec=1&{}&{}&url={page}",
            visitor(44),
            at(0)
        ))
        .await?
        .status,
        200
    );
    add_goal_elsewhere(&mut c, 11, "welcome")?;
    assert_eq!(
        s.get(&format!(
            "idsite=1&rec=1&{}&{}&url={page}",
            visitor(45),
            at(10)
        ))
        .await?
        .status,
        200
    );
    assert_eq!(conversions_of(&mut c, 11)?, 1);
    Ok(())
}

fn conn_exec(conn: &mut MysqlConnection, sql: &str) -> anyhow::Result<()> {
    diesel::sql_query(sql).execute(conn)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_cart_then_order_and_duplicate_order() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(4);
    let cart1 = enc(r#"[["SKU1","Shirt",["Clothes","Shirts"],20,1]]"#);
    let cart2 =
        enc(r#"[["SKU1","Shirt",["Clothes","Shirts"],20,2],["SKU2","Mug","Kitchen",5.5,1]]"#);
    for q in [
        format!(
            "idsite=1&rec=1&{v}&{}&url={}",
            at(0),
            enc("https://shop.example/p")
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&idgoal=0&revenue=20&ec_items={cart1}",
            at(10)
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&idgoal=0&revenue=45.5&ec_items={cart2}",
            at(20)
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&idgoal=0&ec_id=A-1&revenue=50.5&ec_st=45.5&ec_tx=3&ec_sh=2&ec_items={cart2}",
            at(30)
        ),
    ] {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    let dup = s
        .get(&format!(
            "idsite=1&rec=1&{}&{}&idgoal=0&ec_id=A-1&revenue=1&ec_items={cart1}",
            visitor(5),
            at(40)
        ))
        .await?;
    assert_eq!(dup.status, 400);
    assert!(dup.text().contains("non-unique"), "{}", dup.text());
    let mut c = s.conn()?;
    let conv: Vec<(i32, Option<String>, Option<f64>, Option<u16>, Option<f64>)> =
        log_conversion::table
            .select((
                log_conversion::idgoal,
                log_conversion::idorder,
                log_conversion::revenue,
                log_conversion::items,
                log_conversion::revenue_tax,
            ))
            .load(&mut c)?;
    assert_eq!(
        conv,
        vec![(0, Some("A-1".into()), Some(50.5), Some(3), Some(3.0))],
        "the cart became the order"
    );
    let items: Vec<(String, u32, f64, u8)> = log_conversion_item::table
        .order(log_conversion_item::idaction_sku)
        .select((
            log_conversion_item::idorder,
            log_conversion_item::quantity,
            log_conversion_item::price,
            log_conversion_item::deleted,
        ))
        .load(&mut c)?;
    assert_eq!(
        items,
        vec![("A-1".into(), 2, 20.0, 0), ("A-1".into(), 1, 5.5, 0)]
    );
    let (buyer, returning): (Option<i8>, Option<i8>) = log_visit::table
        .filter(log_visit::idvisitor.eq(vec![0x10, 0, 0, 0, 0, 0, 0, 4]))
        .select((log_visit::visit_goal_buyer, log_visit::visitor_returning))
        .first(&mut c)?;
    assert_eq!(buyer, Some(1));
    assert_eq!(returning, Some(0));
    assert_eq!(
        count_visits(&mut c, 1)?,
        1,
        "the refused order created no visit"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrers_campaign_search_engine_website_and_direct() -> anyhow::Result<()> {
    let s = start().await?;
    for (n, url, urlref) in [
        (
            10,
            "https://shop.example/?mtm_campaign=Winter&mtm_kwd=Boots",
            "",
        ),
        (
            11,
            "https://shop.example/",
            "https://www.google.com/search?q=Red+Boots",
        ),
        (
            12,
            "https://shop.example/",
            "https://news.example.net/article",
        ),
        (13, "https://shop.example/", "https://shop.example/other"),
    ] {
        let a = s
            // Distinct IPs: with the same fingerprint, Matomo would continue
            // the first visit whatever the `_id` (§2.3).
            .get(&format!(
                "idsite=1&rec=1&{}&{}&cip=203.0.113.{n}&url={}&urlref={}",
                visitor(n),
                at(0),
                enc(url),
                enc(urlref)
            ))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let mut c = s.conn()?;
    let refs: Vec<(Option<u8>, Option<String>, Option<String>)> = log_visit::table
        .order(log_visit::idvisit)
        .select((
            log_visit::referer_type,
            log_visit::referer_name,
            log_visit::referer_keyword,
        ))
        .load(&mut c)?;
    assert_eq!(
        refs[0],
        (Some(6), Some("winter".into()), Some("boots".into()))
    );
    assert_eq!(
        refs[1],
        (Some(2), Some("Google".into()), Some("red boots".into()))
    );
    // NULL where Matomo's detection leaves a column unset: a website's
    // keyword, a direct entry's name and keyword.
    assert_eq!(refs[2], (Some(3), Some("news.example.net".into()), None));
    assert_eq!(
        refs[3],
        (Some(1), None, None),
        "a referrer on the site itself is direct"
    );
    // Campaign parameters are not part of the stored page URL.
    let urls: Vec<Option<String>> = log_action::table
        .filter(log_action::type_.eq(1))
        .select(log_action::name)
        .load(&mut c)?;
    assert!(
        urls.iter()
            .all(|u| !u.as_deref().unwrap_or("").contains("mtm_")),
        "{urls:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_variables_and_dimensions() -> anyhow::Result<()> {
    let s = start().await?;
    let cvar = enc(r#"{"1":["Gender","female"],"3":["Plan","pro"]}"#);
    let page = enc(r#"{"2":["Section","news"]}"#);
    let a = s
        .get(&format!(
            "idsite=1&rec=1&{}&{}&url={}&_cvar={cvar}&cvar={page}&dimension1=Gold&dimension2=Sports",
            visitor(20),
            at(0),
            enc("https://shop.example/")
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let mut c = s.conn()?;
    #[derive(QueryableByName, Debug, PartialEq)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        custom_var_k1: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        custom_var_v3: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        custom_dimension_1: Option<String>,
    }
    let v: Vec<V> =
        diesel::sql_query("SELECT custom_var_k1, custom_var_v3, custom_dimension_1 FROM log_visit")
            .load(&mut c)?;
    assert_eq!(
        v,
        vec![V {
            custom_var_k1: Some("Gender".into()),
            custom_var_v3: Some("pro".into()),
            custom_dimension_1: Some("Gold".into())
        }]
    );
    let a: Vec<V> = diesel::sql_query("SELECT custom_var_k2 AS custom_var_k1, custom_var_v2 AS custom_var_v3, custom_dimension_1 FROM log_link_visit_action").load(&mut c)?;
    assert_eq!(
        a,
        vec![V {
            custom_var_k1: Some("Section".into()),
            custom_var_v3: Some("news".into()),
            custom_dimension_1: Some("Sports".into())
        }]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_request_with_one_invalid_item() -> anyhow::Result<()> {
    let s = start().await?;
    let body = format!(
        r#"{{"requests":["?idsite=1&rec=1&_id=2000000000000001&url=https%3A%2F%2Fshop.example%2Fa","?idsite=999&rec=1&url=x",{{"idsite":"1","rec":"1","_id":"2000000000000001","url":"https://shop.example/b"}}],"token_auth":"{TOKEN}"}}"#
    );
    let a = s
        .send(
            "POST",
            "/piwik.php?queuedtracking=0",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":2,"invalid":1,"invalid_indices":[1]}"#
    );
    let mut c = s.conn()?;
    assert_eq!(count_visits(&mut c, 1)?, 1);
    let n: i64 = log_link_visit_action::table.count().get_result(&mut c)?;
    assert_eq!(n, 2);
    // Without a super user token the indices are not revealed.
    let body = r#"{"requests":["?idsite=0&rec=1"],"send_image":1}"#;
    let a = s.send("POST", "/matomo.php", &[], body.as_bytes()).await?;
    assert_eq!(a.text(), r#"{"status":"success","tracked":0,"invalid":1}"#);
    Ok(())
}

/// Bulk request objects as Matomo's `BulkTracking` reads them: `ec_items`
/// and `_cvar` given as JSON values rather than JSON text are used as they
/// are; each item without `url`/`urlref` takes the `Referer` header, as
/// each Matomo `Request` does; `"send_image": false` is no `send_image=0`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_objects_with_json_values_and_the_referer_fallback() -> anyhow::Result<()> {
    let s = start().await?;
    let body = format!(
        r#"{{"requests":[
            {{"idsite":1,"rec":1,"_id":"2000000000000011","cdt":{T0},"url":"https://shop.example/a",
              "_cvar":{{"1":["plan","gold"]}}}},
            {{"idsite":1,"rec":1,"_id":"2000000000000011","cdt":{t1},"idgoal":0,"ec_id":"J-1",
              "revenue":9,"ec_items":[["SKU-J","Jug","Kitchen",9,1]]}},
            {{"idsite":1,"rec":1,"_id":"2000000000000012","cdt":{T0},"action_name":"From header"}}
          ],"token_auth":"{TOKEN}","send_image":false}}"#,
        t1 = T0 + 10
    );
    let a = s
        .send(
            "POST",
            "/matomo.php",
            &[
                ("Content-Type", "application/json"),
                ("Referer", "https://shop.example/from-header"),
            ],
            body.as_bytes(),
        )
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        a.text(),
        r#"{"status":"success","tracked":3,"invalid":0,"invalid_indices":[]}"#
    );
    let mut c = s.conn()?;
    let items: Vec<(String, f64)> = log_conversion_item::table
        .select((log_conversion_item::idorder, log_conversion_item::price))
        .load(&mut c)?;
    assert_eq!(items, [("J-1".to_owned(), 9.0)]);
    use tally_schema::schema::log_visit_custom_var as cv;
    let cvar: Option<String> = cv::table
        .filter(cv::custom_var_k1.is_not_null())
        .select(cv::custom_var_v1)
        .first(&mut c)?;
    assert_eq!(cvar.as_deref(), Some("gold"));
    let urls: Vec<Option<String>> = log_action::table
        .filter(log_action::type_.eq(1))
        .select(log_action::name)
        .load(&mut c)?;
    assert!(
        urls.contains(&Some("shop.example/from-header".to_owned())),
        "{urls:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_parameters_need_a_write_token() -> anyhow::Result<()> {
    let s = start().await?;
    let old = T0;
    for q in [
        format!("idsite=1&rec=1&url=x&cdt={old}"),
        "idsite=1&rec=1&url=x&cip=1.2.3.4".to_owned(),
        "idsite=1&rec=1&url=x&cip=1.2.3.4&token_auth=wrong".to_owned(),
        "idsite=1&rec=1&url=x&country=de".to_owned(),
    ] {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 400, "{q}");
        assert!(a.text().contains("requires a token_auth"), "{}", a.text());
    }
    let a = s
        .get(&format!(
            "idsite=1&rec=1&url={}&cip=203.0.113.77&country=de&cdt={old}&token_auth={TOKEN}",
            enc("https://shop.example/")
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let mut c = s.conn()?;
    let (ip, country, first): (Vec<u8>, Option<String>, time::PrimitiveDateTime) = log_visit::table
        .select((
            log_visit::location_ip,
            log_visit::location_country,
            log_visit::visit_first_action_time,
        ))
        .first(&mut c)?;
    assert_eq!(ip, vec![203, 0, 0, 0], "cip stored, anonymized by 2 bytes");
    assert_eq!(country.as_deref(), Some("de"));
    assert_eq!(first.assume_utc().unix_timestamp(), old);
    // A `cip` that does not parse (import_logs.py sends log IPs as they
    // are; `00` is refused by inet_pton) is 0.0.0.0, as Matomo stores it,
    // not the sender's 127.0.0.1.
    let a = s
        .get(&format!(
            "idsite=2&rec=1&url={}&cip=79.125.00.21&cdt={old}&token_auth={TOKEN}",
            enc("https://blog.example/")
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let ip: Vec<u8> = log_visit::table
        .filter(log_visit::idsite.eq(2))
        .select(log_visit::location_ip)
        .first(&mut c)?;
    assert_eq!(ip, vec![0, 0, 0, 0]);
    // A recent cdt needs no token.
    let recent = time::OffsetDateTime::now_utc().unix_timestamp() - 600;
    let a = s
        .get(&format!(
            "idsite=2&rec=1&url={}&cdt={recent}",
            enc("https://blog.example/")
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusions_answer_success_and_store_nothing() -> anyhow::Result<()> {
    let s = start().await?;
    let url = enc("https://shop.example/");
    // Excluded IP (with the token so that cip is allowed).
    let a = s
        .get(&format!(
            "idsite=1&rec=1&url={url}&cip=10.9.9.3&token_auth={TOKEN}"
        ))
        .await?;
    assert_eq!(a.status, 200);
    // Excluded user agent, missing rec, bot.
    let a = s
        .send(
            "GET",
            &format!("/matomo.php?idsite=1&rec=1&url={url}"),
            &[("User-Agent", "Mozilla/5.0 ExcludedAgent/1.0")],
            b"",
        )
        .await?;
    assert_eq!(a.status, 200);
    let a = s.get(&format!("idsite=1&url={url}")).await?;
    assert_eq!(a.status, 200);
    let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let a = s
        .send(
            "GET",
            &format!("/matomo.php?idsite=1&rec=1&url={url}"),
            &[("User-Agent", bot)],
            b"",
        )
        .await?;
    assert_eq!(a.status, 200);
    let mut c = s.conn()?;
    assert_eq!(count_visits(&mut c, 1)?, 0);
    // bots=1 keeps the bot.
    let a = s
        .send(
            "GET",
            &format!("/matomo.php?idsite=1&rec=1&bots=1&url={url}"),
            &[("User-Agent", bot)],
            b"",
        )
        .await?;
    assert_eq!(a.status, 200);
    assert_eq!(count_visits(&mut c, 1)?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_answers() -> anyhow::Result<()> {
    let s = start().await?;
    let a = s.send("GET", "/matomo.php", &[], b"").await?;
    assert_eq!(a.status, 200);
    assert!(a.text().starts_with("This resource is part of Matomo"));
    let a = s.send("POST", "/piwik.php", &[], b"").await?;
    assert_eq!(a.status, 400);
    let a = s
        .send(
            "OPTIONS",
            "/matomo.php",
            &[("Access-Control-Request-Method", "POST")],
            b"",
        )
        .await?;
    assert_eq!(a.status, 204);
    // The JS tracker's sendBeacon: POST with parameters in the query, empty body.
    let a = s
        .send(
            "POST",
            &format!(
                "/matomo.php?idsite=2&rec=1&send_image=0&url={}",
                enc("https://blog.example/")
            ),
            &[],
            b"",
        )
        .await?;
    assert_eq!(a.status, 204);
    // A form body.
    let body = format!("idsite=2&rec=1&url={}", enc("https://blog.example/x"));
    let a = s
        .send(
            "POST",
            "/matomo.php",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
        .await?;
    assert_eq!(a.status, 200);
    assert_eq!(a.body.len(), 43);
    // Unknown site and invalid parameters are 400 with a message.
    let a = s.get("idsite=77&rec=1&url=x").await?;
    assert_eq!(a.status, 400);
    assert!(a.text().contains("site 77 does not exist"), "{}", a.text());
    let a = s.get("idsite=abc&rec=1").await?;
    assert_eq!(a.status, 400);
    assert!(a.text().contains("idsite"), "{}", a.text());
    let a = s.get("idsite=2&rec=1&cid=xyz").await?;
    assert_eq!(a.status, 400);
    let mut c = s.conn()?;
    assert_eq!(
        count_visits(&mut c, 2)?,
        1,
        "the two blog hits are one visit"
    );
    let m = s.send("GET", "/metrics", &[], b"").await?;
    assert!(
        m.text().contains("tally_tracker_hits_total 2"),
        "{}",
        m.text()
    );
    Ok(())
}

/// Matomo's JS tracker on a page of another origin, after
/// `setRequestMethod('POST')` and `setRequestContentType('application/json')`:
/// Chromium asks first with a preflight, then sends the form-encoded
/// parameters with `withCredentials`. A preflight answered with wildcards
/// (Matomo's answer) is refused for a credentialed request, and the
/// tracker falls back to a GET image; ours lets the POST through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credentialed_cross_origin_post_passes_its_preflight() -> anyhow::Result<()> {
    let s = start().await?;
    let page = "http://localhost:18090";
    let a = s
        .send(
            "OPTIONS",
            "/matomo.php",
            &[
                ("Origin", page),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            b"",
        )
        .await?;
    assert_eq!(a.status, 204);
    assert_eq!(a.header("access-control-allow-origin"), Some(page));
    assert_eq!(a.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(
        a.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(a.header("access-control-allow-methods"), Some("GET, POST"));
    assert!(
        a.header("vary").is_some_and(|v| v.contains("Origin")),
        "{}",
        a.head
    );
    // Without an Origin (not a browser), the wildcards as in Matomo.
    let a = s
        .send(
            "OPTIONS",
            "/piwik.php",
            &[("Access-Control-Request-Method", "POST")],
            b"",
        )
        .await?;
    assert_eq!(a.status, 204);
    assert_eq!(a.header("access-control-allow-origin"), Some("*"));
    assert_eq!(a.header("access-control-allow-headers"), Some("*"));
    assert_eq!(a.header("access-control-allow-credentials"), None);
    let mut c = s.conn()?;
    assert_eq!(count_visits(&mut c, 2)?, 0, "a preflight tracks nothing");

    // The POST the browser sends next: a form body under a JSON type.
    let body = format!(
        "action_name={}&idsite=2&rec=1&r=358434&url={}&_id=446054ef7b7691a7&_idn=1&send_image=0\
         &_refts=0&pv_id=DiVHvt&pdf=1&qt=0&realp=0&wma=0&fla=0&java=0&ag=0&cookie=1&res=1280x720",
        enc("Custom Title"),
        enc("http://localhost:18090/t.html?mode=json")
    );
    let a = s
        .send(
            "POST",
            "/matomo.php",
            &[("Origin", page), ("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await?;
    assert_eq!(a.status, 204, "{}", a.text());
    assert_eq!(a.header("access-control-allow-origin"), Some(page));
    assert_eq!(a.header("access-control-allow-credentials"), Some("true"));
    let stored: Vec<(Option<String>, Option<String>)> = log_link_visit_action::table
        .inner_join(
            log_action::table.on(log_action::idaction
                .nullable()
                .eq(log_link_visit_action::idaction_name)),
        )
        .filter(log_link_visit_action::idsite.eq(2))
        .select((log_action::name, log_link_visit_action::idpageview))
        .load(&mut c)?;
    assert_eq!(
        stored,
        vec![(Some("Custom Title".into()), Some("DiVHvt".into()))]
    );
    Ok(())
}

/// The JS tracker after `setRequestMethod('POST')` and
/// `setRequestContentType('text/plain')`: form-encoded parameters under a
/// type PHP would not decode. Matomo answers 400 and the tracker retries
/// as a GET image; we read the body (docs/MATOMO-DIFFERENCES.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_body_sent_as_text_plain_is_tracked() -> anyhow::Result<()> {
    let s = start().await?;
    let body = format!(
        "e_c=Video&e_a=Play&e_n=Intro&e_v=12.5&ca=1&idsite=2&rec=1&r=047762&url={}\
         &_id=c2287189537bbff8&_idn=0&send_image=0&pv_id=ZolZSg",
        enc("http://localhost:18090/t.html?mode=text")
    );
    let a = s
        .send(
            "POST",
            "/matomo.php",
            &[
                ("Origin", "http://localhost:18090"),
                ("Content-Type", "text/plain;charset=UTF-8"),
            ],
            body.as_bytes(),
        )
        .await?;
    assert_eq!(a.status, 204, "{}", a.text());
    let mut c = s.conn()?;
    let event: (Option<f64>, Option<String>) = log_link_visit_action::table
        .filter(log_link_visit_action::idsite.eq(2))
        .select((
            log_link_visit_action::custom_float,
            log_link_visit_action::idpageview,
        ))
        .first(&mut c)?;
    assert_eq!(event, (Some(12.5), Some("ZolZSg".into())));
    Ok(())
}

/// A server-side integration that creates Matomo's PHP tracker per page
/// request, without the visitor cookie, sends a new random `_id` with every
/// page: the visit is recognised by its fingerprint only, and its pages
/// reach the recorder threads of different visitor ids. Each page must
/// still continue the visit as the last one left it (position, previous
/// page, time spent), whichever thread saw the visit before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_under_new_visitor_ids_continue_the_visit_across_recorders() -> anyhow::Result<()> {
    let s = start_with(&TrackerConfig {
        recorders: 2,
        ..TrackerConfig::default()
    })
    .await?;
    let pages = 8u8;
    for n in 0..pages {
        let a = s
            .get(&format!(
                "idsite=2&rec=1&{}&_idn=1&{}&url={}&action_name=Page%20{n}",
                visitor(100 + n),
                at(i64::from(n) * 10),
                enc(&format!("https://blog.example/p{n}")),
            ))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let mut c = s.conn()?;
    assert_eq!(count_visits(&mut c, 2)?, 1, "one visit by fingerprint");
    let rows: Vec<(Option<u32>, Option<u32>, Option<u32>, Option<u32>)> =
        log_link_visit_action::table
            .filter(log_link_visit_action::idsite.eq(2))
            .order(log_link_visit_action::server_time)
            .select((
                log_link_visit_action::pageview_position,
                log_link_visit_action::idaction_url,
                log_link_visit_action::idaction_url_ref,
                log_link_visit_action::time_spent_ref_action,
            ))
            .load(&mut c)?;
    assert_eq!(rows.len(), usize::from(pages));
    for (i, row) in rows.iter().enumerate() {
        let position = u32::try_from(i + 1)?;
        assert_eq!(row.0, Some(position), "page {i}: {rows:?}");
        if i > 0 {
            assert_eq!(row.2, rows[i - 1].1, "page {i} follows page {}", i - 1);
            assert_eq!(row.3, Some(10), "page {i}: time on the page before");
        }
    }
    let visit: (Option<u32>, Option<u32>, u32) = log_visit::table
        .filter(log_visit::idsite.eq(2))
        .select((
            log_visit::visit_total_actions,
            log_visit::visit_exit_idaction_url,
            log_visit::visit_total_time,
        ))
        .first(&mut c)?;
    assert_eq!(visit, (Some(8), rows[7].1, 71));
    Ok(())
}

/// The JS tracker's `setUserId` at login and `resetUserId` at logout in
/// the middle of a visit: the visitor id is the user id's hash in between,
/// so those pages go to another recorder thread than the pages before and
/// after. The pages after logout must continue from the pages of the
/// logged-in user, not from what their own thread saw before the login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_continues_across_login_and_logout() -> anyhow::Result<()> {
    let s = start_with(&TrackerConfig {
        recorders: 2,
        ..TrackerConfig::default()
    })
    .await?;
    // Rounds with their own browser version (fingerprint), visitor id and
    // user: the hashes put some users' pages on the other thread.
    let users = ["kim", "lou", "max", "ned", "oda", "pia"];
    for (round, user) in users.iter().enumerate() {
        let n = u8::try_from(round)?;
        let ua =
            format!("Mozilla/5.0 (X11; Linux x86_64; rv:10{n}.0) Gecko/20100101 Firefox/10{n}.0");
        for (page, logged_in) in [false, false, true, true, false, false]
            .into_iter()
            .enumerate()
        {
            let offset = i64::from(n) * 100 + i64::try_from(page)? * 10;
            let uid = if logged_in {
                format!("&uid={user}")
            } else {
                String::new()
            };
            let target = format!(
                "/matomo.php?idsite=2&rec=1&{}{uid}&{}&url={}&action_name={user}%20{page}",
                visitor(40 + n),
                at(offset),
                enc(&format!("https://blog.example/{user}/{page}")),
            );
            let a = s
                .send("GET", &target, &[("User-Agent", ua.as_str())], b"")
                .await?;
            assert_eq!(a.status, 200, "{}", a.text());
        }
    }
    let mut c = s.conn()?;
    assert_eq!(
        count_visits(&mut c, 2)?,
        i64::try_from(users.len())?,
        "one visit per round"
    );
    let rows: Vec<(u64, Option<u32>, Option<u32>, Option<u32>, Option<u32>)> =
        log_link_visit_action::table
            .filter(log_link_visit_action::idsite.eq(2))
            .order(log_link_visit_action::server_time)
            .select((
                log_link_visit_action::idvisit,
                log_link_visit_action::pageview_position,
                log_link_visit_action::idaction_url,
                log_link_visit_action::idaction_url_ref,
                log_link_visit_action::time_spent_ref_action,
            ))
            .load(&mut c)?;
    for (round, visit) in rows.chunks(6).enumerate() {
        for (i, row) in visit.iter().enumerate() {
            assert_eq!(row.0, visit[0].0, "round {round}: one visit");
            assert_eq!(
                row.1,
                Some(u32::try_from(i + 1)?),
                "round {round} page {i}: {visit:?}"
            );
            if i > 0 {
                assert_eq!(row.3, visit[i - 1].2, "round {round} page {i}");
                assert_eq!(row.4, Some(10), "round {round} page {i}");
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_stored_byte_for_byte() -> anyhow::Result<()> {
    let s = start().await?;
    // Quotes, backslashes, a placeholder mark, SQL, a 4-byte character.
    let title = "O'Reilly \\ \"books\" ? '); DROP TABLE log_visit; -- 😀";
    let category = "a'b\\c?d";
    let a = s
        .get(&format!(
            "idsite=1&rec=1&{}&{}&url={}&action_name={}&e_c={}&e_a=x",
            visitor(30),
            at(0),
            enc("https://shop.example/q?x='1'"),
            enc(title),
            enc(category)
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let a = s
        .get(&format!(
            "idsite=1&rec=1&{}&{}&url={}&action_name={}",
            visitor(30),
            at(5),
            enc("https://shop.example/"),
            enc(title)
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let mut c = s.conn()?;
    let names: Vec<Option<String>> = log_action::table
        .filter(log_action::type_.eq_any([4u8, 10]))
        .order(log_action::idaction)
        .select(log_action::name)
        .load(&mut c)?;
    // Matomo stores page titles and event names HTML-escaped, as
    // `getRequestVar` gives them (Common::sanitizeInputValues).
    let stored_title = tally_tracking::php::htmlspecialchars(title);
    assert!(stored_title.contains("O&#039;Reilly"));
    assert!(names.contains(&Some(stored_title)), "{names:?}");
    assert!(
        names.contains(&Some("a&#039;b\\c?d".to_owned())),
        "{names:?}"
    );
    assert_eq!(count_visits(&mut c, 1)?, 1);
    Ok(())
}

fn count_actions(conn: &mut MysqlConnection) -> anyhow::Result<i64> {
    Ok(log_link_visit_action::table.count().get_result(conn)?)
}

/// `ca=1` (MATOMO.md §1.4): Matomo's `Action::factory` throws for a custom
/// action no action class claims (Matomo answers 500, we answer 400;
/// nothing stored, not even the
/// visit update); events, contents, outlinks, downloads and site searches
/// claim it; exclusions are checked first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_actions_need_a_handler() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(40);
    let url = enc("https://shop.example/media");
    // A plugin request (e.g. MediaAnalytics) for a new visitor.
    let a = s
        .get(&format!(
            "idsite=1&rec=1&{v}&{}&url={url}&ca=1&ma_id=abc",
            at(0)
        ))
        .await?;
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(a.text().contains("no longer activated"), "{}", a.text());
    let mut c = s.conn()?;
    assert_eq!(count_visits(&mut c, 1)?, 0);
    assert_eq!(count_actions(&mut c)?, 0);
    // Excluded first: no rec is a silent 200.
    let a = s
        .get(&format!("idsite=1&{v}&{}&url={url}&ca=1", at(1)))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    // A page view, then an unclaimed custom action: the visit is untouched.
    let a = s
        .get(&format!(
            "idsite=1&rec=1&{v}&{}&url={url}&action_name=Media",
            at(2)
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let before: (Option<u32>, time::PrimitiveDateTime) = log_visit::table
        .select((
            log_visit::visit_total_actions,
            log_visit::visit_last_action_time,
        ))
        .first(&mut c)?;
    let a = s
        .get(&format!("idsite=1&rec=1&{v}&{}&url={url}&ca=1", at(60)))
        .await?;
    assert_eq!(a.status, 400, "{}", a.text());
    let after: (Option<u32>, time::PrimitiveDateTime) = log_visit::table
        .select((
            log_visit::visit_total_actions,
            log_visit::visit_last_action_time,
        ))
        .first(&mut c)?;
    assert_eq!(before, after);
    assert_eq!(count_actions(&mut c)?, 1);
    // Events, contents and site searches sent with ca=1 (as the JS tracker
    // sends events and contents) are recorded.
    for q in [
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&ca=1&e_c=Video&e_a=Play",
            at(70)
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&ca=1&c_n=Banner&c_p=img",
            at(80)
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&ca=1&url={}",
            at(90),
            enc("https://shop.example/find?q=boots")
        ),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&ca=1&link={}",
            at(100),
            enc("https://other.example/")
        ),
    ] {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    assert_eq!(count_actions(&mut c)?, 5);
    assert_eq!(count_visits(&mut c, 1)?, 1);
    // In a bulk request the exception fails the whole bulk, as Matomo's
    // bulk handler rethrows it (and rolls back).
    let w = visitor(41);
    let body = format!(
        r#"{{"requests":["?idsite=1&rec=1&{w}&url={url}","?idsite=1&rec=1&{w}&url={url}&ca=1"],"token_auth":"{TOKEN}"}}"#
    );
    let a = s
        .send(
            "POST",
            "/matomo.php",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await?;
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(a.text().contains(r#""status":"error""#), "{}", a.text());
    assert_eq!(count_visits(&mut c, 1)?, 1);
    assert_eq!(count_actions(&mut c)?, 5);
    Ok(())
}

/// Referrer spam (MATOMO.md §1.6 step 8): the built-in list plus the
/// `referrer_spam_list` file; matched as Matomo's `stripos` on `urlref`,
/// so subdomains match; answered 200, nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrer_spam_is_excluded() -> anyhow::Result<()> {
    let list = std::env::temp_dir().join(format!(
        "tally-referrer-spam-{}-{}.txt",
        std::process::id(),
        T0
    ));
    std::fs::write(&list, "# ours\nspam-from-config.example\n")?;
    let config = TrackerConfig {
        referrer_spam_list: Some(list.display().to_string()),
        ..TrackerConfig::default()
    };
    let started = start_with(&config).await;
    std::fs::remove_file(&list)?;
    let s = started?;
    let url = enc("https://blog.example/post");
    for (n, referrer) in [
        "http://semalt.com/",
        "https://www.Semalt.com/crawler.php?u=blog.example",
        "http://sub.darodar.com/",
        "https://spam-from-config.example/",
        "https://x.spam-from-config.example/page",
    ]
    .into_iter()
    .enumerate()
    {
        let a = s
            .get(&format!(
                "idsite=2&rec=1&{}&url={url}&urlref={}",
                visitor(50 + u8::try_from(n)?),
                enc(referrer)
            ))
            .await?;
        assert_eq!(a.status, 200, "{referrer}: {}", a.text());
    }
    let mut c = s.conn()?;
    assert_eq!(count_visits(&mut c, 2)?, 0);
    assert_eq!(count_actions(&mut c)?, 0);
    let a = s
        .get(&format!(
            "idsite=2&rec=1&{}&url={url}&urlref={}",
            visitor(60),
            enc("https://friendly.example/links")
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(count_visits(&mut c, 2)?, 1);
    // A bad config file stops the tracker.
    let bad = std::env::temp_dir().join(format!(
        "tally-referrer-spam-bad-{}.txt",
        std::process::id()
    ));
    std::fs::write(&bad, "two hosts.example\n")?;
    let result = Tracker::start(
        s.db.pool()?,
        &TrackerConfig {
            referrer_spam_list: Some(bad.display().to_string()),
            ..TrackerConfig::default()
        },
    );
    std::fs::remove_file(&bad)?;
    let err = result.expect_err("invalid spam list");
    assert!(err.to_string().contains("line 1"), "{err}");
    Ok(())
}

/// `[tracker] exclude_requests` (MATOMO.md §1.6 step 4): a request whose
/// parameters match a rule is answered as usual and stores nothing; the
/// others of the same bulk are stored; an entry without operator is
/// skipped as Matomo skips it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_requests_store_nothing() -> anyhow::Result<()> {
    let config = TrackerConfig {
        exclude_requests: "e_c==Media,action_name=@privacy,url=$%2Fadmin,no-operator".to_owned(),
        ..TrackerConfig::default()
    };
    let s = start_with(&config).await?;
    let url = enc("https://blog.example/post");
    let admin = enc("https://blog.example/ADMIN");
    for query in [
        format!(
            "idsite=2&rec=1&{}&url={url}&e_c=MEDIA&e_a=play",
            visitor(70)
        ),
        format!(
            "idsite=2&rec=1&{}&url={url}&action_name=Our%20Privacy%20policy",
            visitor(71)
        ),
        format!("idsite=2&rec=1&{}&url={admin}", visitor(72)),
    ] {
        let a = s.get(&query).await?;
        assert_eq!(a.status, 200, "{query}: {}", a.text());
    }
    let mut c = s.conn()?;
    assert_eq!(count_visits(&mut c, 2)?, 0);
    assert_eq!(count_actions(&mut c)?, 0);
    for query in [
        format!(
            "idsite=2&rec=1&{}&url={url}&e_c=Music&e_a=play",
            visitor(73)
        ),
        format!("idsite=2&rec=1&{}&url={url}&action_name=Terms", visitor(74)),
    ] {
        let a = s.get(&query).await?;
        assert_eq!(a.status, 200, "{query}: {}", a.text());
    }
    // One visit: same IP and user agent, so the second request continues
    // the first's visit through its config id, as in Matomo.
    assert_eq!(count_visits(&mut c, 2)?, 1);
    assert_eq!(count_actions(&mut c)?, 2);
    Ok(())
}

/// Client hints (MATOMO.md §1.4 `uadata`, §2): a frozen Chrome UA says
/// Windows 10; the JS tracker's `uadata` (or, without it, the `Sec-CH-UA*`
/// headers) says Windows 11 / Brave, and that is what is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_hints_refine_os_and_browser() -> anyhow::Result<()> {
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Cols {
        #[diesel(sql_type = diesel::sql_types::Text)]
        config_os: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        config_os_version: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        config_browser_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        config_browser_version: String,
    }
    let s = start().await?;
    let ua = enc(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    );
    let uadata = enc(
        r#"{"fullVersionList":[{"brand":"Not_A Brand","version":"8.0.0.0"},{"brand":"Chromium","version":"120.0.6099.130"},{"brand":"Brave","version":"120.0.6099.130"}],"mobile":false,"model":"","platform":"Windows","platformVersion":"15.0.0"}"#,
    );
    let url = enc("https://blog.example/post");
    let a = s
        .get(&format!(
            "idsite=2&rec=1&{}&url={url}&ua={ua}&uadata={uadata}",
            visitor(80)
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let a = s
        .send(
            "GET",
            &format!(
                "/matomo.php?idsite=1&rec=1&{}&url={url}&ua={ua}",
                visitor(81)
            ),
            &[
                (
                    "Sec-CH-UA",
                    r#""Not_A Brand";v="8", "Chromium";v="120", "Microsoft Edge";v="120""#,
                ),
                ("Sec-CH-UA-Platform", r#""Windows""#),
                ("Sec-CH-UA-Platform-Version", r#""13.0.0""#),
            ],
            b"",
        )
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let mut c = s.conn()?;
    let rows: Vec<Cols> = diesel::sql_query(
        "SELECT config_os, config_os_version, config_browser_name, config_browser_version \
         FROM log_visit ORDER BY idsite",
    )
    .load(&mut c)?;
    let got: Vec<(&str, Option<&str>, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.config_os.as_str(),
                r.config_os_version.as_deref(),
                r.config_browser_name.as_str(),
                r.config_browser_version.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("WIN", Some("11"), "PS", "120.0"),
            ("WIN", Some("11"), "BR", "120.0"),
        ]
    );
    Ok(())
}

/// Tracking failures (MATOMO.md §1.4 `idsite`, §1.5): an unknown site and
/// a `cip` without a valid token are refused with 400 and recorded once per
/// site and kind in `tracking_failure`, the token replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_recorded_as_tracking_failures() -> anyhow::Result<()> {
    #[derive(QueryableByName, Debug, PartialEq)]
    struct F {
        #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
        idsite: u64,
        #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::SmallInt>)]
        idfailure: u16,
        #[diesel(sql_type = diesel::sql_types::Text)]
        request_url: String,
    }
    let s = start().await?;
    let url = enc("https://blog.example/post");
    let a = s.get(&format!("idsite=42&rec=1&url={url}")).await?;
    assert_eq!(a.status, 400, "{}", a.text());
    let bad_token = "fedcba9876543210fedcba9876543210";
    for _ in 0..2 {
        let a = s
            .get(&format!(
                "idsite=2&rec=1&url={url}&cip=10.1.1.1&token_auth={bad_token}"
            ))
            .await?;
        assert_eq!(a.status, 400, "{}", a.text());
    }
    // In a bulk too; the request of the bulk that is fine is stored.
    let body = format!(
        r#"{{"requests":["?idsite=43&rec=1","?idsite=2&rec=1&{}&url={url}"]}}"#,
        visitor(90)
    );
    let a = s.send("POST", "/matomo.php", &[], body.as_bytes()).await?;
    assert_eq!(a.status, 200, "{}", a.text());
    // Matomo stores the parameters in the order sent (`$_GET + $_POST`),
    // without the `url` the image tracker takes from the `Referer`.
    let form = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("referer", "https://blog.example/from-header"),
    ];
    let a = s
        .send(
            "POST",
            "/matomo.php?rec=1&idsite=44",
            &form,
            b"action_name=A%20b&idsite=45&_id=0123456789abcdef",
        )
        .await?;
    assert_eq!(a.status, 400, "{}", a.text());
    let mut c = s.conn()?;
    let rows: Vec<F> = diesel::sql_query(
        "SELECT idsite, idfailure, request_url FROM tracking_failure ORDER BY idsite",
    )
    .load(&mut c)?;
    assert_eq!(
        rows,
        [
            F {
                idsite: 2,
                idfailure: 2,
                request_url: "idsite=2&rec=1&url=https%3A%2F%2Fblog.example%2Fpost&cip=10.1.1.1&token_auth=__TOKEN_AUTH__".to_owned(),
            },
            F {
                idsite: 42,
                idfailure: 1,
                request_url: "idsite=42&rec=1&url=https%3A%2F%2Fblog.example%2Fpost".to_owned(),
            },
            F {
                idsite: 43,
                idfailure: 1,
                request_url: "idsite=43&rec=1".to_owned(),
            },
            F {
                idsite: 44,
                idfailure: 1,
                request_url: "rec=1&idsite=44&action_name=A+b&_id=0123456789abcdef".to_owned(),
            },
        ]
    );
    assert_eq!(count_visits(&mut c, 2)?, 1);
    Ok(())
}

/// `Failures::logFailure` asks `VisitExcluded::isExcluded` first: a
/// refused request that would have been excluded (no `rec`, a bot, an
/// excluded user agent, the site's or, for an unknown site, the global
/// list) is answered 400 but not recorded. A `cip` without a token makes
/// Matomo's check fail, which counts as "not excluded".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_requests_are_not_tracking_failures() -> anyhow::Result<()> {
    let s = start_with_options(
        &TrackerConfig::default(),
        &[(
            "SitesManager_ExcludedUserAgentsGlobal",
            "GlobalBlockedAgent",
        )],
    )
    .await?;
    let url = enc("https://blog.example/post");
    let bot = [(
        "user-agent",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    )];
    let blocked = [("user-agent", "Mozilla/5.0 GlobalBlockedAgent")];
    let site_blocked = [("user-agent", "Mozilla/5.0 ExcludedAgent")];
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 2 * 86_400;
    let cases: [(String, &[(&str, &str)]); 8] = [
        (format!("idsite=50&url={url}"), &[]),
        (format!("url={url}"), &[]),
        (format!("idsite=51&rec=1&url={url}"), &bot),
        (format!("idsite=52&rec=1&url={url}"), &blocked),
        (format!("idsite=53&rec=1&bots=1&url={url}"), &bot),
        (format!("idsite=1&rec=1&cdt={old}&url={url}"), &site_blocked),
        (
            format!("idsite=1&rec=1&cip=1.2.3.4&url={url}"),
            &site_blocked,
        ),
        (format!("idsite=2&rec=1&cdt={old}&url={url}"), &[]),
    ];
    for (query, headers) in &cases {
        let a = s
            .send("GET", &format!("/matomo.php?{query}"), headers, b"")
            .await?;
        assert_eq!(a.status, 400, "{query}: {}", a.text());
    }
    let mut c = s.conn()?;
    #[derive(QueryableByName)]
    struct F {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
    }
    let rows: Vec<F> = diesel::sql_query(
        "SELECT CONCAT(idsite, ' ', idfailure, ' ', request_url) AS s FROM tracking_failure ORDER BY idsite",
    )
    .load(&mut c)?;
    let rows: Vec<String> = rows.into_iter().map(|r| r.s).collect();
    assert_eq!(
        rows,
        [
            format!("1 2 idsite=1&rec=1&cip=1.2.3.4&url={url}"),
            format!("2 2 idsite=2&rec=1&cdt={old}&url={url}"),
            format!("53 1 idsite=53&rec=1&bots=1&url={url}"),
        ]
    );
    Ok(())
}

/// `cs` (MATOMO.md §1.4): site search keywords and categories read from
/// the page URL are decoded in the page's charset
/// (`PageUrl::reencodeParameters`); unknown charsets and `utf-8` read UTF-8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_search_parameters_in_the_page_charset() -> anyhow::Result<()> {
    let s = start().await?;
    let cases = [
        (
            "windows-1252",
            "q=caf%E9+%93cr%E8me%94&cat=%80uros",
            "café “crème”",
            Some("€uros"),
        ),
        (
            "ISO-8859-1",
            "q=caf%E9&cat=%80uros",
            "café",
            Some("\u{80}uros"),
        ),
        ("utf-8", "q=caf%C3%A9", "café", None),
        ("klingon-8", "q=caf%C3%A9", "café", None),
        ("", "q=caf%E9", "caf\u{FFFD}", None),
    ];
    for (n, (cs, query, _, _)) in cases.iter().enumerate() {
        let a = s
            .get(&format!(
                "idsite=1&rec=1&{}&{}&cs={cs}&url={}",
                visitor(70 + u8::try_from(n)?),
                at(i64::try_from(n)? * 10),
                enc(&format!("https://shop.example/find?{query}"))
            ))
            .await?;
        assert_eq!(a.status, 200, "{cs}: {}", a.text());
    }
    let mut c = s.conn()?;
    let rows: Vec<(Option<u32>, Option<String>)> = log_link_visit_action::table
        .order(log_link_visit_action::server_time)
        .select((
            log_link_visit_action::idaction_name,
            log_link_visit_action::search_cat,
        ))
        .load(&mut c)?;
    assert_eq!(rows.len(), cases.len());
    for ((id, cat), (cs, _, keyword, category)) in rows.into_iter().zip(cases) {
        let (name, ty): (Option<String>, Option<u8>) = log_action::table
            .find(id.unwrap_or(0))
            .select((log_action::name, log_action::type_))
            .first(&mut c)?;
        assert_eq!(ty, Some(8), "{cs}");
        assert_eq!(name.as_deref(), Some(keyword), "{cs}");
        assert_eq!(cat.as_deref(), category, "{cs}");
    }
    Ok(())
}

/// Requests of one visitor sent one after another with the same `cdt`
/// (a log import of hits in one second, or an SDK's queued requests) are
/// stored in the order they arrived: `idlink_va`, `pageview_position` and
/// the `_ref` columns follow the requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_second_hits_keep_request_order() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(7);
    let pages = ["/one", "/two", "/three", "/four", "/five"];
    for page in pages {
        let a = s
            .get(&format!(
                "idsite=1&rec=1&{v}&{}&url={}&action_name={}",
                at(0),
                enc(&format!("https://shop.example{page}")),
                enc(page)
            ))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let mut c = s.conn()?;
    let rows: Vec<(Option<u32>, Option<u32>, Option<u32>)> = log_link_visit_action::table
        .order(log_link_visit_action::idlink_va)
        .select((
            log_link_visit_action::idaction_url,
            log_link_visit_action::idaction_url_ref,
            log_link_visit_action::pageview_position,
        ))
        .load(&mut c)?;
    let urls: Vec<String> = rows
        .iter()
        .map(|(url, _, _)| {
            log_action::table
                .filter(log_action::idaction.nullable().eq(*url))
                .select(log_action::name.assume_not_null())
                .first::<String>(&mut c)
        })
        .collect::<Result<_, _>>()?;
    let expected: Vec<String> = pages.iter().map(|p| format!("shop.example{p}")).collect();
    assert_eq!(urls, expected);
    let positions: Vec<Option<u32>> = rows.iter().map(|r| r.2).collect();
    assert_eq!(positions, [1, 2, 3, 4, 5].map(Some));
    for pair in rows.windows(2) {
        assert_eq!(pair[1].1, pair[0].0, "the previous page is the ref action");
    }
    let visits: Vec<(Option<u32>, Option<u32>)> = log_visit::table
        .select((
            log_visit::visit_entry_idaction_url,
            log_visit::visit_exit_idaction_url,
        ))
        .load(&mut c)?;
    assert_eq!(visits, vec![(rows[0].0, rows[4].0)]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_waits_for_more_requests_only_when_configured() -> anyhow::Result<()> {
    // Two requests of two visitors on one recorder, the second sent 50 ms
    // after the first: with a wait of 2 s both are written in one
    // transaction, and neither is answered before that commit.
    for (wait_ms, transactions) in [(2_000, 1), (0, 2)] {
        let s = start_with(&TrackerConfig {
            recorders: 1,
            batch_wait_ms: wait_ms,
            ..TrackerConfig::default()
        })
        .await?;
        let page = |n: u8| {
            format!(
                "idsite=1&rec=1&{}&{}&url={}",
                visitor(n),
                at(0),
                enc("https://shop.example/wait")
            )
        };
        let (one, two) = (page(1), page(2));
        let started = std::time::Instant::now();
        let first = s.get(&one);
        let second = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            if wait_ms == 0 {
                // Without a wait the first request is written on its own;
                // sending the second after its answer makes that certain
                // however slow the machine.
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            s.get(&two).await
        };
        let (a, b) = tokio::join!(first, second);
        assert_eq!((a?.status, b?.status), (200, 200));
        if wait_ms > 0 {
            assert!(started.elapsed() >= std::time::Duration::from_millis(1_900));
        }
        let m = s.send("GET", "/metrics", &[], b"").await?.text();
        assert!(
            m.contains(&format!("tally_tracker_batches_total {transactions}\n")),
            "batch_wait_ms {wait_ms}: {m}"
        );
        assert_eq!(count_actions(&mut s.conn()?)?, 2);
    }
    Ok(())
}

/// A product view parameter sent empty (`_pkc=`, as the PHP tracker sends
/// it on a product page without a category) is stored as action id 0, as
/// Matomo's `Action::record` stores a dimension whose empty name has no
/// `log_action` row; an absent one stays NULL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_product_view_parameters_are_action_id_zero() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(6);
    let url = enc("https://shop.example/p");
    for (offset, product) in [(0, "&_pks=S1&_pkn=&_pkc="), (10, "")] {
        let q = format!("idsite=1&rec=1&{v}&{}&url={url}{product}", at(offset));
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    let mut c = s.conn()?;
    let products: Vec<(Option<u32>, Option<u32>, Option<u32>, Option<u32>)> =
        log_link_visit_action::table
            .order(log_link_visit_action::idlink_va)
            .select((
                log_link_visit_action::idaction_product_sku,
                log_link_visit_action::idaction_product_name,
                log_link_visit_action::idaction_product_cat,
                log_link_visit_action::idaction_product_cat2,
            ))
            .load(&mut c)?;
    assert_eq!(products.len(), 2);
    assert!(products[0].0.is_some_and(|id| id > 0), "{products:?}");
    assert_eq!(
        (products[0].1, products[0].2, products[0].3),
        (Some(0), Some(0), None),
        "{products:?}"
    );
    assert_eq!(products[1], (None, None, None, None));
    Ok(())
}

/// Visit custom variables sent by a later request of a visit (here a cart
/// update, as Matomo's PHP tracker sends `_cvar` with every request) are
/// stored on the visit; a request without them keeps the visit's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_visit_custom_variables_update_the_visit() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(7);
    let url = enc("https://shop.example/p");
    let first = enc(r#"{"5":["VisitorType","NewLoggedOut"]}"#);
    let both = enc(r#"{"3":["VisitorName","Great name!"],"5":["VisitorType","NewLoggedOut"]}"#);
    let cart = enc(r#"[["SKU1","Shirt","",20,1]]"#);
    for q in [
        format!("idsite=1&rec=1&{v}&{}&url={url}&_cvar={first}", at(0)),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&_cvar={both}&idgoal=0&revenue=20&ec_items={cart}",
            at(10)
        ),
        format!("idsite=1&rec=1&{v}&{}&url={url}", at(20)),
    ] {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    let mut c = s.conn()?;
    let vars: Vec<(Option<String>, Option<String>, Option<String>)> =
        tally_schema::schema::log_visit_custom_var::table
            .select((
                tally_schema::schema::log_visit_custom_var::custom_var_k3,
                tally_schema::schema::log_visit_custom_var::custom_var_v3,
                tally_schema::schema::log_visit_custom_var::custom_var_v5,
            ))
            .load(&mut c)?;
    assert_eq!(
        vars,
        vec![(
            Some("VisitorName".into()),
            Some("Great name!".into()),
            Some("NewLoggedOut".into())
        )]
    );
    Ok(())
}

/// A conversion carries the visit's custom variables as they stand after
/// its request (Matomo's `GoalManager::recordGoals`): slots set by earlier
/// requests of the visit and the ones this request sends, NULL elsewhere.
/// The CustomVariables report reads them for its goal columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversions_carry_the_visits_custom_variables() -> anyhow::Result<()> {
    let s = start().await?;
    let v = visitor(8);
    let url = enc("https://shop.example/p");
    let first = enc(r#"{"1":["VisitorType","LoggedOut"]}"#);
    let second = enc(r#"{"1":["VisitorType","LoggedIn"],"3":["Plan","Gold"]}"#);
    let cart = enc(r#"[["SKU1","Shirt","",20,1]]"#);
    for q in [
        format!("idsite=1&rec=1&{v}&{}&url={url}&_cvar={first}", at(0)),
        format!(
            "idsite=1&rec=1&{v}&{}&url={url}&_cvar={second}&idgoal=0&revenue=20&ec_id=A1&ec_items={cart}",
            at(10)
        ),
    ] {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    use tally_schema::schema::log_conversion_custom_var as cv;
    let mut c = s.conn()?;
    let vars: Vec<(
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    )> = cv::table
        .select((
            cv::custom_var_k1,
            cv::custom_var_v1,
            cv::custom_var_k2,
            cv::custom_var_k3,
            cv::custom_var_v3,
        ))
        .load(&mut c)?;
    assert_eq!(
        vars,
        vec![(
            Some("VisitorType".into()),
            Some("LoggedIn".into()),
            None,
            Some("Plan".into()),
            Some("Gold".into())
        )]
    );
    Ok(())
}

/// New names get their ids in Matomo's lookup order: a page view's title
/// before its URL, an event's URL before its category and action (Live's
/// `pageIdAction` shows them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_action_names_are_numbered_in_matomos_order() -> anyhow::Result<()> {
    let s = start().await?;
    for query in [
        format!(
            "idsite=1&rec=1&{}&{}&url={}&action_name=Home",
            visitor(40),
            at(0),
            enc("https://shop.example/home")
        ),
        format!(
            "idsite=1&rec=1&{}&{}&url={}&e_c=Video&e_a=Play",
            visitor(40),
            at(5),
            enc("https://shop.example/video")
        ),
    ] {
        let a = s.get(&query).await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let mut c = s.conn()?;
    let names: Vec<(Option<String>, Option<u8>)> = log_action::table
        .order(log_action::idaction)
        .select((log_action::name, log_action::type_))
        .load(&mut c)?;
    let name = |text: &str, kind: u8| (Some(text.to_owned()), Some(kind));
    assert_eq!(
        names[..3],
        [
            name("Home", 4),
            name("shop.example/home", 1),
            name("shop.example/video", 10),
        ],
        "{names:?}"
    );
    assert_eq!(names.len(), 5, "{names:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_options_anonymize_user_ids_order_ids_and_referrers() -> anyhow::Result<()> {
    let s = start_with_options(
        &TrackerConfig::default(),
        &[
            ("PrivacyManager.anonymizeUserId", "1"),
            ("PrivacyManager.anonymizeOrderId", "1"),
            ("PrivacyManager.anonymizeReferrer", "exclude_path"),
            ("useridsalt", "pepper"),
        ],
    )
    .await?;
    for (n, query) in [
        (
            20,
            "uid=alice&urlref=https%3A%2F%2Fnews.example.net%2Farticle%3Fid%3D7",
        ),
        (
            21,
            "urlref=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3DRed%2BBoots",
        ),
        (22, "idgoal=0&ec_id=A-1&revenue=10"),
        (23, "idgoal=0&ec_id=A-1&revenue=10"),
    ] {
        let a = s
            .get(&format!(
                "idsite=1&rec=1&{}&{}&cip=203.0.113.{n}&url=https%3A%2F%2Fshop.example%2F&{query}",
                visitor(n),
                at(0)
            ))
            .await?;
        assert_eq!(a.status, 200, "{query}: {}", a.text());
    }
    let mut c = s.conn()?;
    let visits: Vec<(
        Option<u8>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    )> = log_visit::table
        .select((
            log_visit::referer_type,
            log_visit::user_id,
            log_visit::referer_name,
            log_visit::referer_keyword,
            log_visit::referer_url,
        ))
        .load(&mut c)?;
    let of_type = |kind: u8| visits.iter().find(|v| v.0 == Some(kind));
    let website = of_type(3).ok_or_else(|| anyhow::anyhow!("no website visit: {visits:?}"))?;
    // sha1("alice" . "pepper"), as PHP's sha1().
    assert_eq!(
        website.1.as_deref(),
        Some("867f7c363f7a099570b3aa3882756a3891950fa6")
    );
    assert_eq!(website.2.as_deref(), Some("news.example.net"));
    assert_eq!(website.4.as_deref(), Some("https://news.example.net/"));
    // A search engine keeps its name, loses its keyword and path.
    let search = of_type(2).ok_or_else(|| anyhow::anyhow!("no search visit: {visits:?}"))?;
    assert_eq!(search.2.as_deref(), Some("Google"));
    assert_eq!(search.3.as_deref().unwrap_or(""), "");
    assert_eq!(search.4.as_deref(), Some("https://www.google.com/"));
    // The same order id twice: both orders stored, under different hashes.
    let orders: Vec<String> = log_conversion::table
        .filter(log_conversion::idgoal.eq(0))
        .select(log_conversion::idorder)
        .load::<Option<String>>(&mut c)?
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(orders.len(), 2, "{orders:?}");
    assert_ne!(orders[0], orders[1]);
    assert!(
        orders.iter().all(|id| id.len() == 40 && id != "A-1"),
        "{orders:?}"
    );
    Ok(())
}

/// `enable_userid_overwrites_visitorid`: on (the default), a user's page
/// views under two visitor ids are one visit of the visitor made from the
/// user id; off, each visitor id sent is kept, so the second page view is
/// a visit of another visitor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_id_replaces_the_visitor_id_unless_configured_not_to() -> anyhow::Result<()> {
    for overwrite in [true, false] {
        let s = start_with(&TrackerConfig {
            enable_userid_overwrites_visitorid: overwrite,
            ..TrackerConfig::default()
        })
        .await?;
        for n in 0..2u8 {
            let a = s
                .get(&format!(
                    "idsite=2&rec=1&uid=alice&cid={:016x}&cip=198.51.100.{n}&{}&url={}",
                    0x2000_0000_0000_0000u64 + u64::from(n),
                    at(i64::from(n) * 60),
                    enc(&format!("https://blog.example/p{n}")),
                ))
                .await?;
            assert_eq!(a.status, 200, "{}", a.text());
        }
        let mut c = s.conn()?;
        let mut visitors: Vec<Vec<u8>> = log_visit::table
            .filter(log_visit::idsite.eq(2))
            .select(log_visit::idvisitor)
            .load(&mut c)?;
        visitors.sort();
        if overwrite {
            // The first 8 bytes of sha1("alice").
            assert_eq!(
                visitors,
                [vec![0x52, 0x2b, 0x27, 0x6a, 0x35, 0x6b, 0xdf, 0x39]]
            );
        } else {
            assert_eq!(
                visitors,
                [
                    vec![0x20, 0, 0, 0, 0, 0, 0, 0],
                    vec![0x20, 0, 0, 0, 0, 0, 0, 1]
                ]
            );
        }
    }
    Ok(())
}

/// Sends each query string to `/matomo.php` as a GET; every one must be
/// answered 200.
async fn track_all(s: &Server, queries: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    for q in queries {
        let a = s.get(&q).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    Ok(())
}

/// (`user_id`, `visit_total_actions`) of a site's visits, sorted.
fn users_and_actions(
    c: &mut MysqlConnection,
    site: u32,
) -> anyhow::Result<Vec<(Option<String>, Option<u32>)>> {
    let mut visits: Vec<(Option<String>, Option<u32>)> = log_visit::table
        .filter(log_visit::idsite.eq(site))
        .select((log_visit::user_id, log_visit::visit_total_actions))
        .load(c)?;
    visits.sort();
    Ok(visits)
}

/// `enable_userid_overwrites_visitorid = 0` (§2.4 rule 6, §2.3): a visit
/// under the same visitor id ends when another user id is sent; a `uid`
/// with a forced `cid` still looks the fingerprint up, so the same user on
/// the same device continues the visit under a new `cid`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_user_ids_kept_apart_a_new_user_id_starts_a_visit() -> anyhow::Result<()> {
    let s = start_with(&TrackerConfig {
        enable_userid_overwrites_visitorid: false,
        ..TrackerConfig::default()
    })
    .await?;
    let hits = [
        // Same visitor id, same device, user changes: two visits.
        format!("uid=alice&{}&cip=198.51.100.1&{}", visitor(1), at(0)),
        format!("uid=bob&{}&cip=198.51.100.1&{}", visitor(1), at(60)),
        // Same user and device, another forced visitor id: one visit.
        format!("uid=carol&cid=3000000000000001&cip=198.51.100.2&{}", at(0)),
        format!("uid=carol&cid=3000000000000002&cip=198.51.100.2&{}", at(60)),
    ];
    for (i, hit) in hits.iter().enumerate() {
        let a = s
            .get(&format!(
                "idsite=2&rec=1&{hit}&url={}",
                enc(&format!("https://blog.example/p{i}"))
            ))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let mut c = s.conn()?;
    assert_eq!(
        users_and_actions(&mut c, 2)?,
        [
            (Some("alice".to_owned()), Some(1)),
            (Some("bob".to_owned()), Some(1)),
            (Some("carol".to_owned()), Some(2)),
        ]
    );
    Ok(())
}

/// The fingerprint lookup with a `uid` skips a visit of another user (§2.3
/// `user_id IS NULL OR user_id = ?`) also when that visit was made earlier
/// in the same batch (one bulk request, one recorder transaction).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_one_bulk_two_users_on_one_device_are_two_visits() -> anyhow::Result<()> {
    let s = start().await?;
    let hit = |user: &str, offset: i64, page: &str| {
        format!(
            r#""?idsite=2&rec=1&uid={user}&cip=198.51.100.9&cdt={}&url=https%3A%2F%2Fblog.example%2F{page}""#,
            T0 + offset
        )
    };
    let body = format!(
        r#"{{"requests":[{},{},{}],"token_auth":"{TOKEN}"}}"#,
        hit("alice", 0, "a"),
        hit("bob", 10, "b"),
        hit("alice", 20, "c"),
    );
    let a = s.send("POST", "/matomo.php", &[], body.as_bytes()).await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let mut c = s.conn()?;
    assert_eq!(
        users_and_actions(&mut c, 2)?,
        [
            (Some("alice".to_owned()), Some(2)),
            (Some("bob".to_owned()), Some(1)),
        ]
    );
    Ok(())
}

/// A heartbeat (`ping=1`) converts nothing, even naming a goal or an order
/// (Matomo's ping processor empties the conversions, §1.7 step 5), and
/// only lengthens the visit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_converts_nothing() -> anyhow::Result<()> {
    let s = start().await?;
    track_all(
        &s,
        [
            format!(
                "{}&{}&url={}",
                visitor(40),
                at(0),
                enc("https://shop.example/p")
            ),
            // Goal 2 is manual.
            format!("{}&{}&ping=1&idgoal=2", visitor(40), at(30)),
            format!(
                "{}&{}&ping=1&idgoal=0&ec_id=P-1&revenue=9&ec_items={}",
                visitor(40),
                at(40),
                enc(r#"[["SKU","Name","Cat",9,1]]"#)
            ),
        ]
        .map(|q| format!("idsite=1&rec=1&{q}")),
    )
    .await?;
    let mut c = s.conn()?;
    let conversions: i64 = log_conversion::table.count().get_result(&mut c)?;
    assert_eq!(conversions, 0);
    let items: i64 = log_conversion_item::table.count().get_result(&mut c)?;
    assert_eq!(items, 0);
    let v: (u32, Option<i8>, Option<i8>, Option<u32>) = log_visit::table
        .select((
            log_visit::visit_total_time,
            log_visit::visit_goal_converted,
            log_visit::visit_goal_buyer,
            log_visit::visit_total_actions,
        ))
        .first(&mut c)?;
    // 1 + 40 seconds since the first action, no conversion bonus.
    assert_eq!(v, (41, Some(0), Some(0), Some(1)));
    Ok(())
}

/// A visit whose first request is not a page view or a site search has
/// entry page title 0 (Matomo casts "none" to an integer) and no entry page
/// URL until a page view gives one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_started_by_an_event_has_entry_title_0() -> anyhow::Result<()> {
    let s = start().await?;
    track_all(
        &s,
        [
            format!(
                "{}&{}&e_c=video&e_a=play&url={}",
                visitor(41),
                at(0),
                enc("https://shop.example/v")
            ),
            // A page view without a URL does not become the entry.
            format!("{}&{}&action_name=Untitled", visitor(41), at(5)),
            format!(
                "{}&{}&url={}&action_name=Home",
                visitor(41),
                at(10),
                enc("https://shop.example/")
            ),
            format!(
                "{}&{}&cip=198.51.100.42&download={}&url={}",
                visitor(42),
                at(0),
                enc("https://shop.example/f.pdf"),
                enc("https://shop.example/")
            ),
        ]
        .map(|q| format!("idsite=1&rec=1&{q}")),
    )
    .await?;
    let mut c = s.conn()?;
    let mut rows: Vec<(Option<u32>, Option<u32>, Option<u32>)> = log_visit::table
        .order(log_visit::idvisit)
        .select((
            log_visit::visit_entry_idaction_name,
            log_visit::visit_entry_idaction_url,
            log_visit::visit_total_actions,
        ))
        .load(&mut c)?;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let downloaded = rows.pop();
    let (entry_name, entry_url, actions) = rows[0];
    assert_eq!(entry_name, Some(0));
    assert_eq!(actions, Some(3));
    let home: u32 = log_action::table
        .filter(log_action::name.eq("shop.example/"))
        .select(log_action::idaction)
        .first(&mut c)?;
    assert_eq!(entry_url, Some(home));
    assert_eq!(downloaded, Some((Some(0), None, Some(1))));
    Ok(())
}

/// A download or an outlink stores no name, even with `action_name`
/// (Matomo looks up only their URL: §4.2 "`idaction_name` absent"), and a
/// `download` or `link` of "0" is PHP-empty, so the request is a page view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_and_outlinks_have_no_name_and_zero_is_no_link() -> anyhow::Result<()> {
    let s = start().await?;
    let page = enc("https://shop.example/docs");
    for q in [
        format!(
            "download={}&action_name=Report&url={page}",
            enc("https://shop.example/r.pdf")
        ),
        format!(
            "link={}&action_name=Partner&url={page}",
            enc("https://partner.example/")
        ),
        format!("download=0&action_name=Docs&url={page}"),
        format!("link=0&action_name=Docs&url={page}"),
    ] {
        let a = s
            .get(&format!("idsite=1&rec=1&{}&{}&{q}", visitor(43), at(0)))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let mut c = s.conn()?;
    let rows: Vec<(Option<u32>, Option<u32>)> = log_link_visit_action::table
        .order(log_link_visit_action::idlink_va)
        .select((
            log_link_visit_action::idaction_url,
            log_link_visit_action::idaction_name,
        ))
        .load(&mut c)?;
    let type_of = |id: Option<u32>, c: &mut MysqlConnection| -> anyhow::Result<Option<u8>> {
        let Some(id) = id else { return Ok(None) };
        Ok(log_action::table
            .find(id)
            .select(log_action::type_)
            .first::<Option<u8>>(c)?)
    };
    let mut kinds = Vec::new();
    for (url, name) in &rows {
        kinds.push((type_of(*url, &mut c)?, type_of(*name, &mut c)?));
    }
    // Download (3), outlink (2), then two page views (URL 1, title 4).
    assert_eq!(
        kinds,
        [
            (Some(3), None),
            (Some(2), None),
            (Some(1), Some(4)),
            (Some(1), Some(4)),
        ]
    );
    let titles: Vec<Option<String>> = log_action::table
        .filter(log_action::type_.eq(4))
        .select(log_action::name)
        .load(&mut c)?;
    assert_eq!(titles, [Some("Docs".to_owned())]);
    Ok(())
}

/// Values as Matomo's GoalManager reads them: `ec_id=0` is PHP-empty (a
/// cart, not an order); an item's SKU of "0" skips it and a name or
/// category of "0" counts as none; revenues and prices go through PHP's
/// `round()` (1.005 → 1.01, 0.285 → 0.29); an event goal takes the
/// request's `revenue` when no `e_v` is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversion_values_as_matomo_reads_them() -> anyhow::Result<()> {
    let s = start().await?;
    let page = enc("https://shop.example/p");
    for q in [
        format!("{}&{}&url={page}", visitor(44), at(0)),
        format!(
            "{}&{}&idgoal=0&ec_id=0&revenue=5&ec_items={}",
            visitor(44),
            at(10),
            enc(r#"[["S1","N","C",5,1]]"#)
        ),
        format!(
            "{}&{}&cip=198.51.100.45&idgoal=0&ec_id=B-1&revenue=1.005&ec_items={}",
            visitor(45),
            at(0),
            enc(r#"[["0","x","c",1,1],["S2","0","0",0.285,1]]"#)
        ),
        // Goal 2: manual, several a visit.
        format!(
            "{}&{}&cip=198.51.100.46&idgoal=2&revenue=1.005",
            visitor(46),
            at(0)
        ),
        // Goal 3: event category "video", event value as revenue.
        format!(
            "{}&{}&cip=198.51.100.47&e_c=video&e_a=play&revenue=7&url={page}",
            visitor(47),
            at(0)
        ),
        format!(
            "{}&{}&cip=198.51.100.48&e_c=video&e_a=play&e_v=3&revenue=7&url={page}",
            visitor(48),
            at(0)
        ),
    ] {
        let a = s.get(&format!("idsite=1&rec=1&{q}")).await?;
        assert_eq!(a.status, 200, "{q}: {}", a.text());
    }
    let mut c = s.conn()?;
    let mut conv: Vec<(i32, Option<String>, Option<f64>)> = log_conversion::table
        .select((
            log_conversion::idgoal,
            log_conversion::idorder,
            log_conversion::revenue,
        ))
        .load(&mut c)?;
    conv.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    assert_eq!(
        conv,
        [
            (-1, None, Some(5.0)),
            (0, Some("B-1".into()), Some(1.01)),
            (2, None, Some(1.01)),
            (3, None, Some(3.0)),
            (3, None, Some(7.0)),
        ]
    );
    let items: Vec<(String, u32, u32, f64)> = log_conversion_item::table
        .filter(log_conversion_item::idorder.eq("B-1"))
        .select((
            log_conversion_item::idorder,
            log_conversion_item::idaction_name,
            log_conversion_item::idaction_category,
            log_conversion_item::price,
        ))
        .load(&mut c)?;
    assert_eq!(items, [("B-1".to_owned(), 0, 0, 0.29)]);
    Ok(())
}

/// A conversion copies the visit's device columns, not those of its own
/// request's user agent (Matomo's DevicesDetection dimensions read the
/// visit row on a conversion): a goal sent server-side with another user
/// agent keeps the visitor's browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_keeps_the_visits_browser() -> anyhow::Result<()> {
    let s = start().await?;
    let firefox =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
    for (q, ua) in [
        (
            format!(
                "{}&{}&url={}",
                visitor(49),
                at(0),
                enc("https://shop.example/p")
            ),
            firefox,
        ),
        (format!("{}&{}&idgoal=2", visitor(49), at(20)), UA),
    ] {
        let a = s
            .send(
                "GET",
                &format!("/matomo.php?idsite=1&rec=1&{q}"),
                &[("User-Agent", ua)],
                b"",
            )
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let mut c = s.conn()?;
    let visit: (Option<String>, Option<i8>) = log_visit::table
        .select((
            log_visit::config_browser_name,
            log_visit::config_device_type,
        ))
        .first(&mut c)?;
    let conversion: (Option<String>, Option<i8>) = log_conversion::table
        .select((
            log_conversion::config_browser_name,
            log_conversion::config_device_type,
        ))
        .first(&mut c)?;
    assert_eq!(visit.0.as_deref(), Some("FF"));
    assert_eq!(conversion, visit);
    Ok(())
}

/// A URL goal matches the request URL only when it looks like a URL
/// (Matomo's `getUrlIfLookValid`): a relative `url` converts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_url_converts_no_url_goal() -> anyhow::Result<()> {
    let s = start().await?;
    // Goal 1: URL matching the regex `thank-?you`.
    for (n, url) in [
        (50u8, "thank-you.html"),
        (51, "https://shop.example/thank-you.html"),
    ] {
        let a = s
            .get(&format!(
                "idsite=1&rec=1&{}&{}&cip=198.51.100.{n}&url={}",
                visitor(n),
                at(0),
                enc(url)
            ))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let mut c = s.conn()?;
    let converted: Vec<(i32, String)> = log_conversion::table
        .select((log_conversion::idgoal, log_conversion::url))
        .load(&mut c)?;
    assert_eq!(
        converted,
        [(1, "https://shop.example/thank-you.html".to_owned())]
    );
    Ok(())
}

/// `exclude_unknown_urls` matches the site's own URLs only (another site's
/// deeper path on the same host does not make a URL unknown) and excludes
/// a request without a URL (Matomo's `VisitExcluded::isUrlExcluded`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_urls_are_those_not_of_the_sites_own_urls() -> anyhow::Result<()> {
    let s = start().await?;
    let mut c = s.conn()?;
    conn_exec(
        &mut c,
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (3, 'Shop blog', 'https://shop.example/blog', '2020-01-01 00:00:00', 0, 1, '', '', \
         'UTC', 'EUR', '', '', '', '', '', 'website')",
    )?;
    conn_exec(
        &mut c,
        "UPDATE site SET exclude_unknown_urls = 1 WHERE idsite = 1",
    )?;
    tally_tracking::site::settings_changed(&mut c)?;
    s.tracker.settings_changed();
    for (n, rest) in [
        // Site 1's host; site 3's path there does not take it away.
        (
            60u8,
            format!("url={}", enc("https://shop.example/blog/post")),
        ),
        // Another host: unknown.
        (61, format!("url={}", enc("https://elsewhere.example/"))),
        // No URL at all: unknown.
        (62, "e_c=video&e_a=play".to_owned()),
    ] {
        let a = s
            .get(&format!(
                "idsite=1&rec=1&{}&{}&cip=198.51.100.{n}&{rest}",
                visitor(n),
                at(0)
            ))
            .await?;
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let visitors: Vec<Vec<u8>> = log_visit::table
        .filter(log_visit::idsite.eq(1))
        .select(log_visit::idvisitor)
        .load(&mut c)?;
    assert_eq!(visitors, [vec![0x10, 0, 0, 0, 0, 0, 0, 60]]);
    Ok(())
}

/// Request values as Matomo reads them: `lang` cleaned up as the header
/// would be (`en_US,en;q=0.9` is `en-us`, country guessed `us`); the
/// authenticated `region` and `city` cut to their columns; `bots` and `new_visit` on for any non-zero number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_values_as_matomo_reads_them() -> anyhow::Result<()> {
    let s = start().await?;
    let page = enc("https://blog.example/");
    let long_city = "C".repeat(300);
    track_all(
        &s,
        [
            format!(
                "{}&{}&cip=198.51.100.70&lang=en_US,en;q=0.9&url={page}",
                visitor(70),
                at(0)
            ),
            format!(
                "{}&{}&cip=198.51.100.71&country=FR&region=IDF1&city={long_city}&url={page}",
                visitor(71),
                at(0)
            ),
            format!("{}&{}&cip=198.51.100.72&url={page}", visitor(72), at(0)),
            format!(
                "{}&{}&cip=198.51.100.72&new_visit=2&url={page}",
                visitor(72),
                at(10)
            ),
        ]
        .map(|q| format!("idsite=2&rec=1&{q}")),
    )
    .await?;
    let bot = s
        .send(
            "GET",
            &format!(
                "/matomo.php?idsite=2&rec=1&bots=2&{}&{}&cip=198.51.100.73&url={page}",
                visitor(73),
                at(0)
            ),
            &[(
                "User-Agent",
                "Googlebot/2.1 (+http://www.google.com/bot.html)",
            )],
            b"",
        )
        .await?;
    assert_eq!(bot.status, 200, "{}", bot.text());
    let mut c = s.conn()?;
    let rows: Vec<(
        Vec<u8>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    )> = log_visit::table
        .filter(log_visit::idsite.eq(2))
        .order(log_visit::idvisit)
        .select((
            log_visit::idvisitor,
            log_visit::location_browser_lang,
            log_visit::location_country,
            log_visit::location_region,
            log_visit::location_city,
        ))
        .load(&mut c)?;
    let of = |n: u8| -> Vec<_> {
        rows.iter()
            .filter(|r| r.0 == vec![0x10, 0, 0, 0, 0, 0, 0, n])
            .cloned()
            .collect()
    };
    let lang = of(70);
    assert_eq!(lang[0].1.as_deref(), Some("en-us"));
    assert_eq!(lang[0].2.as_deref(), Some("us"));
    let located = of(71);
    assert_eq!(located[0].2.as_deref(), Some("fr"));
    assert_eq!(located[0].3.as_deref(), Some("IDF"));
    assert_eq!(located[0].4.as_deref().map(str::len), Some(255));
    assert_eq!(of(72).len(), 2, "new_visit=2 starts a visit");
    assert_eq!(of(73).len(), 1, "bots=2 keeps the bot");
    Ok(())
}

/// Float parameters as Matomo's `getRequestVar(..., 'float')` reads them (a
/// decimal comma is valid and PHP's cast stops at it; an invalid value is
/// the default, 0 for the parameters that have none) and the protected
/// overrides as `empty()` reads them (`"0"` is none and needs no token);
/// an out-of-range latitude is stored at the column's limit, as Matomo's
/// non-strict MySQL stores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn float_values_and_zero_overrides_as_matomo_reads_them() -> anyhow::Result<()> {
    let s = start().await?;
    let page = enc("https://shop.example/p");
    track_all(
        &s,
        [
            format!(
                "{}&{}&e_c=video&e_a=seek&e_v=abc&url={page}",
                visitor(80),
                at(0)
            ),
            format!(
                "{}&{}&e_c=video&e_a=seek&e_v=1,5&url={page}",
                visitor(81),
                at(0)
            ),
            format!(
                "{}&{}&idgoal=0&ec_id=F-1&revenue=12,5&ec_st=abc&ec_tx=%202&ec_items={}",
                visitor(82),
                at(0),
                enc(r#"[["S1","N","C",12,1]]"#)
            ),
            format!("{}&{}&_pks=S1&_pkp=abc&url={page}", visitor(83), at(0)),
            // Without a token: `cip=0` and `country=0` are not overrides.
            format!("{}&cip=0&country=0&url={page}", visitor(84)),
            format!(
                "{}&{}&country=fr&region=11&city=Paris&lat=1000&long=-2000.5&url={page}",
                visitor(85),
                at(0)
            ),
        ]
        .map(|q| format!("idsite=1&rec=1&{q}")),
    )
    .await?;
    let mut c = s.conn()?;
    let mut values: Vec<(Option<f64>, Option<f64>)> = log_link_visit_action::table
        .filter(log_link_visit_action::idsite.eq(1))
        .select((
            log_link_visit_action::custom_float,
            log_link_visit_action::product_price,
        ))
        .load(&mut c)?;
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    assert!(
        values.contains(&(Some(0.0), None)),
        "e_v=abc is 0: {values:?}"
    );
    assert!(
        values.contains(&(Some(1.0), None)),
        "e_v=1,5 is 1: {values:?}"
    );
    assert!(
        values.contains(&(None, Some(0.0))),
        "_pkp=abc is 0: {values:?}"
    );
    let order: (Option<f64>, Option<f64>, Option<f64>) = log_conversion::table
        .filter(log_conversion::idorder.eq("F-1"))
        .select((
            log_conversion::revenue,
            log_conversion::revenue_subtotal,
            log_conversion::revenue_tax,
        ))
        .first(&mut c)?;
    assert_eq!(order, (Some(12.0), Some(0.0), Some(0.0)));
    let located =
        |n: u8| -> anyhow::Result<(Option<String>, Option<Coordinate>, Option<Coordinate>)> {
            Ok(log_visit::table
                .filter(log_visit::idvisitor.eq(vec![0x10, 0, 0, 0, 0, 0, 0, n]))
                .select((
                    log_visit::location_country,
                    log_visit::location_latitude,
                    log_visit::location_longitude,
                ))
                .first(&mut s.conn()?)?)
        };
    let (country, ..) = located(84)?;
    assert_ne!(country.as_deref(), Some("0"));
    assert_eq!(
        located(85)?,
        (
            Some("fr".to_owned()),
            Some(Coordinate(999.999_999)),
            Some(Coordinate(-999.999_999))
        )
    );
    Ok(())
}

/// An abandoned cart's conversion row has no `pageviews_before` (Matomo's
/// PageviewsBefore fills goals and orders only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_cart_has_no_pageviews_before() -> anyhow::Result<()> {
    let s = start().await?;
    track_all(
        &s,
        [
            format!(
                "{}&{}&url={}",
                visitor(74),
                at(0),
                enc("https://shop.example/p")
            ),
            format!(
                "{}&{}&idgoal=0&revenue=5&ec_items={}",
                visitor(74),
                at(10),
                enc(r#"[["S1","N","C",5,1]]"#)
            ),
            format!("{}&{}&idgoal=2", visitor(74), at(20)),
        ]
        .map(|q| format!("idsite=1&rec=1&{q}")),
    )
    .await?;
    let mut c = s.conn()?;
    let mut rows: Vec<(i32, Option<u16>)> = log_conversion::table
        .select((log_conversion::idgoal, log_conversion::pageviews_before))
        .load(&mut c)?;
    rows.sort();
    assert_eq!(rows, [(-1, None), (2, Some(1))]);
    Ok(())
}

/// On a site with an action-scope custom dimension, a heartbeat writes the
/// time spent so far on the visit's last action (Matomo's CustomDimensions
/// `recordLogs` runs for every request of a continuing visit); the next
/// action writes the whole time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_records_the_time_spent_on_the_last_action() -> anyhow::Result<()> {
    let s = start().await?;
    let mut c = s.conn()?;
    let page = enc("https://shop.example/article");
    let time_spent = |c: &mut MysqlConnection| -> anyhow::Result<Vec<Option<u32>>> {
        Ok(log_link_visit_action::table
            .order(log_link_visit_action::idlink_va)
            .select(log_link_visit_action::time_spent)
            .load(c)?)
    };
    let a = s
        .get(&format!(
            "idsite=1&rec=1&{}&{}&url={page}",
            visitor(75),
            at(0)
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    let a = s
        .get(&format!("idsite=1&rec=1&{}&{}&ping=1", visitor(75), at(60)))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(time_spent(&mut c)?, [Some(60)]);
    let a = s
        .get(&format!(
            "idsite=1&rec=1&{}&{}&url={page}2",
            visitor(75),
            at(90)
        ))
        .await?;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(time_spent(&mut c)?, [Some(90), None]);
    Ok(())
}

/// Event, content and `search` names are stored as Matomo's
/// `getRequestVar` gives them: HTML-escaped and trimmed, with nothing else
/// cut (an event name keeps its line break and its length past 1024 bytes);
/// goals on titles and events match them unescaped, with a pattern stored
/// escaped or not; a content name of only spaces is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_stored_escaped_and_goals_match_them_unescaped() -> anyhow::Result<()> {
    // Settings read on each request: the goals are added after the start.
    let s = start_with(&TrackerConfig {
        settings_check_ms: 0,
        ..TrackerConfig::default()
    })
    .await?;
    diesel::sql_query(
        "INSERT INTO goal (idsite, idgoal, name, description, match_attribute, pattern, \
         pattern_type, case_sensitive, allow_multiple, revenue, deleted, event_value_as_revenue) \
         VALUES (2, 1, 'Cartoon', '', 'title', 'Tom & Jerry', 'contains', 0, 0, 0, 0, 0), \
         (2, 2, 'Play', '', 'event_action', 'play &lt;now&gt;', 'exact', 1, 0, 0, 0, 0)",
    )
    .execute(&mut s.conn()?)?;
    tally_tracking::site::settings_changed(&mut s.conn()?)?;
    let page = enc("https://blog.example/a");
    let long_name = "n".repeat(2000);
    track_all(
        &s,
        [
            format!(
                "{}&{}&url={page}&action_name={}",
                visitor(90),
                at(0),
                enc("Tom & Jerry's <show>")
            ),
            format!(
                "{}&{}&url={page}&e_c={}&e_a={}&e_n={}",
                visitor(91),
                at(0),
                enc(" Q&A "),
                enc("play <now>"),
                enc("line\nbreak")
            ),
            format!(
                "{}&{}&url={page}&e_c=c&e_a=a&e_n={long_name}",
                visitor(92),
                at(0)
            ),
            format!(
                "{}&{}&url={page}&c_n={}&c_p={}",
                visitor(93),
                at(0),
                enc("Ad \"1\""),
                enc("<img>")
            ),
            format!(
                "{}&{}&url={page}&search={}&search_cat={}",
                visitor(94),
                at(0),
                enc("fish & chips"),
                enc("food>uk")
            ),
        ]
        .map(|q| format!("idsite=2&rec=1&{q}")),
    )
    .await?;
    let spaces = s
        .get(&format!(
            "idsite=2&rec=1&{}&{}&url={page}&c_n=%20%20",
            visitor(95),
            at(0)
        ))
        .await?;
    assert_eq!(spaces.status, 400, "{}", spaces.text());
    assert!(spaces.text().contains("c_n"), "{}", spaces.text());
    let mut c = s.conn()?;
    let names: Vec<(Option<u8>, Option<String>)> = log_action::table
        .select((log_action::type_, log_action::name))
        .load(&mut c)?;
    for expected in [
        (4, "Tom &amp; Jerry&#039;s &lt;show&gt;".to_owned()),
        (10, "Q&amp;A".to_owned()),
        (11, "play &lt;now&gt;".to_owned()),
        (12, "line\nbreak".to_owned()),
        (12, long_name.clone()),
        (13, "Ad &quot;1&quot;".to_owned()),
        (14, "&lt;img&gt;".to_owned()),
        (8, "fish &amp; chips".to_owned()),
    ] {
        assert!(
            names.contains(&(Some(expected.0), Some(expected.1.clone()))),
            "{expected:?} in {names:?}"
        );
    }
    let category: Option<String> = log_link_visit_action::table
        .filter(log_link_visit_action::search_cat.is_not_null())
        .select(log_link_visit_action::search_cat)
        .first(&mut c)?;
    assert_eq!(category.as_deref(), Some("food&gt;uk"));
    let mut goals: Vec<i32> = log_conversion::table
        .filter(log_conversion::idsite.eq(2))
        .select(log_conversion::idgoal)
        .load(&mut c)?;
    goals.sort_unstable();
    assert_eq!(goals, [1, 2]);
    Ok(())
}

/// A custom dimension, a user id and an order id are stored as Matomo's
/// `getRequestVar` gives them, HTML-escaped; the user id's visitor id is
/// the hash of the whole escaped value, the stored one cut to its column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dimensions_user_ids_and_order_ids_are_stored_escaped() -> anyhow::Result<()> {
    let s = start().await?;
    let page = enc("https://shop.example/p");
    let long_uid = format!("{}&", "u".repeat(199));
    track_all(
        &s,
        [
            format!(
                "cip=198.51.100.96&{}&url={page}&dimension1={}&uid={}",
                at(0),
                enc(" Gold & <Plus> "),
                enc("o'brien")
            ),
            format!(
                "cip=198.51.100.97&{}&idgoal=0&ec_id={}&revenue=3&ec_items={}",
                at(0),
                enc("A&B-1"),
                enc(r#"[["S&1","N","C",3,1]]"#)
            ),
            format!(
                "cip=198.51.100.98&{}&url={page}&uid={}",
                at(0),
                enc(&long_uid)
            ),
        ]
        .map(|q| format!("idsite=1&rec=1&{q}")),
    )
    .await?;
    let mut c = s.conn()?;
    let mut visits: Vec<(Vec<u8>, Option<String>, Option<String>)> = log_visit::table
        .filter(log_visit::user_id.is_not_null())
        .select((
            log_visit::idvisitor,
            log_visit::user_id,
            log_visit::custom_dimension_1,
        ))
        .load(&mut c)?;
    visits.sort_by(|a, b| a.1.cmp(&b.1));
    let hashed = |uid: &str| tally_tracking::hit::user_id_visitor(uid).to_vec();
    let long_escaped = format!("{}&amp;", "u".repeat(199));
    assert_eq!(
        visits,
        [
            (
                hashed("o&#039;brien"),
                Some("o&#039;brien".to_owned()),
                Some("Gold &amp; &lt;Plus&gt;".to_owned())
            ),
            (
                hashed(&long_escaped),
                Some(long_escaped.chars().take(200).collect()),
                None
            ),
        ]
    );
    let order: (Option<String>, String) = log_conversion::table
        .inner_join(
            log_conversion_item::table.on(log_conversion_item::idvisit
                .eq(log_conversion::idvisit)
                .and(
                    log_conversion_item::idorder
                        .nullable()
                        .eq(log_conversion::idorder),
                )),
        )
        .select((log_conversion::idorder, log_conversion_item::idorder))
        .first(&mut c)?;
    assert_eq!(
        order,
        (Some("A&amp;B-1".to_owned()), "A&amp;B-1".to_owned())
    );
    let sku: Option<String> = log_action::table
        .filter(log_action::type_.eq(5))
        .select(log_action::name)
        .first(&mut c)?;
    assert_eq!(sku.as_deref(), Some("S&1"), "items are stored unescaped");
    Ok(())
}

/// With Do-Not-Track support on, a request carrying `DNT: 1` is answered
/// with success and `Tk: N`, and nothing is stored; other answers carry no
/// `Tk` header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_do_not_track_request_is_answered_tk_n() -> anyhow::Result<()> {
    let s = start_with_options(
        &TrackerConfig::default(),
        &[("PrivacyManager.doNotTrackEnabled", "1")],
    )
    .await?;
    let q = format!(
        "/matomo.php?idsite=1&rec=1&{}&{}&url={}",
        visitor(97),
        at(0),
        enc("https://shop.example/")
    );
    let dnt = s.send("GET", &q, &[("DNT", "1")], b"").await?;
    assert_eq!(dnt.status, 200, "{}", dnt.text());
    assert_eq!(dnt.header("tk"), Some("N"));
    let bulk = format!(r#"{{"requests":["{}"],"token_auth":"{TOKEN}"}}"#, &q[11..]);
    let dnt_bulk = s
        .send("POST", "/matomo.php", &[("DNT", "1")], bulk.as_bytes())
        .await?;
    assert_eq!(dnt_bulk.status, 200, "{}", dnt_bulk.text());
    assert_eq!(dnt_bulk.header("tk"), Some("N"));
    assert_eq!(count_visits(&mut s.conn()?, 1)?, 0);
    let tracked = s.send("GET", &q, &[], b"").await?;
    assert_eq!(tracked.status, 200, "{}", tracked.text());
    assert_eq!(tracked.header("tk"), None);
    assert_eq!(count_visits(&mut s.conn()?, 1)?, 1);
    Ok(())
}

/// `visitor_seconds_since_first` / `_last` of a returning visitor's new
/// visit: the seconds since the previous visit's start (added to its own
/// seconds since the first); NULL when the new visit is tracked before the
/// previous one started (Matomo's "visit in the past").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seconds_since_the_first_and_last_visit() -> anyhow::Result<()> {
    let s = start().await?;
    let page = enc("https://shop.example/");
    track_all(
        &s,
        [
            format!("{}&{}&cip=198.51.100.98&url={page}", visitor(98), at(0)),
            format!("{}&{}&cip=198.51.100.98&url={page}", visitor(98), at(7200)),
            format!("{}&{}&cip=198.51.100.99&url={page}", visitor(99), at(600)),
            format!(
                "{}&{}&cip=198.51.100.99&url={page}&new_visit=1",
                visitor(99),
                at(300)
            ),
        ]
        .map(|q| format!("idsite=1&rec=1&{q}")),
    )
    .await?;
    let mut c = s.conn()?;
    let rows: Vec<(Vec<u8>, u32, Option<u32>, Option<u32>)> = log_visit::table
        .order(log_visit::idvisit)
        .select((
            log_visit::idvisitor,
            log_visit::visitor_count_visits,
            log_visit::visitor_seconds_since_first,
            log_visit::visitor_seconds_since_last,
        ))
        .load(&mut c)?;
    let of = |n: u8| -> Vec<_> {
        rows.iter()
            .filter(|r| r.0 == vec![0x10, 0, 0, 0, 0, 0, 0, n])
            .map(|r| (r.1, r.2, r.3))
            .collect()
    };
    assert_eq!(of(98), [(1, Some(0), Some(0)), (2, Some(7200), Some(7200))]);
    assert_eq!(of(99), [(1, Some(0), Some(0)), (2, None, None)]);
    Ok(())
}

/// Matomo checks `cid`, blank event names and negative timings only for a
/// request it does not exclude: a bot's or an excluded IP's request with
/// them is answered with success (and stores nothing); the same request
/// tracked is a 400 naming the parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_requests_are_not_validated() -> anyhow::Result<()> {
    let s = start().await?;
    let page = enc("https://shop.example/");
    for bad in ["cid=xyz", "e_c=%20&e_a=play", "pf_net=-5"] {
        let base = format!("idsite=1&{}&url={page}&{bad}", at(0));
        let bot = s
            .send(
                "GET",
                &format!("/matomo.php?rec=1&{base}"),
                &[(
                    "User-Agent",
                    "Googlebot/2.1 (+http://www.google.com/bot.html)",
                )],
                b"",
            )
            .await?;
        assert_eq!(bot.status, 200, "{bad}: {}", bot.text());
        let excluded_ip = s.get(&format!("rec=1&cip=10.9.9.7&{base}")).await?;
        assert_eq!(excluded_ip.status, 200, "{bad}: {}", excluded_ip.text());
        let no_rec = s.get(&base).await?;
        assert_eq!(no_rec.status, 200, "{bad}: {}", no_rec.text());
        let tracked = s.get(&format!("rec=1&cip=198.51.100.5&{base}")).await?;
        assert_eq!(tracked.status, 400, "{bad}: {}", tracked.text());
        let name = bad.split(['=', '&']).next().unwrap_or_default();
        assert!(tracked.text().contains(name), "{bad}: {}", tracked.text());
    }
    assert_eq!(count_visits(&mut s.conn()?, 1)?, 0);
    Ok(())
}

/// A request from a crawler network (Google's 66.249.80.0/20 here) is
/// a bot whatever its user agent, unless `bots=1`, or unless Chrome's data
/// saver relayed it from Google's network (`Via: … chrome-compression-proxy`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawler_addresses_are_bots() -> anyhow::Result<()> {
    let s = start().await?;
    let q = |n: u8, extra: &str| {
        format!(
            "/matomo.php?idsite=1&rec=1&{}&{}&cip=66.249.80.{n}&url={}{extra}",
            visitor(n),
            at(0),
            enc("https://shop.example/")
        )
    };
    for (n, extra, via, stored) in [
        (1, "", None, 0),
        (2, "&bots=1", None, 1),
        (3, "", Some("1.1 Chrome-Compression-Proxy"), 2),
        (4, "", Some("1.1 varnish"), 2),
    ] {
        let headers: Vec<(&str, &str)> = via.map(|v| ("Via", v)).into_iter().collect();
        let a = s.send("GET", &q(n, extra), &headers, b"").await?;
        assert_eq!(a.status, 200, "{n}: {}", a.text());
        assert_eq!(count_visits(&mut s.conn()?, 1)?, stored, "{n}");
    }
    Ok(())
}

/// Extreme and malformed values in every stored parameter are answered
/// with success (stored, or ignored as Matomo ignores them) or with a 400
/// naming the parameter, never with a 5xx: a value that MariaDB's strict
/// mode rejects (too long, out of range, bad UTF-8) must be cut, clamped
/// or dropped before the insert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_values_never_fail_a_request() -> anyhow::Result<()> {
    let s = start().await?;
    let long = "x".repeat(70_000);
    let values = [
        "-1",
        "0",
        "4294967296",
        "9223372036854775807",
        "-99999999999999999999",
        "1e308",
        "-1e400",
        "NaN",
        "0.0000001",
        "%00",
        "%C3%28",
        "%F0%9F%98%80",
        "%5B%5D",
        long.as_str(),
    ];
    let page = format!("url={}&action_name=T", enc("https://shop.example/p"));
    let event = format!("e_c=c&e_a=a&url={}", enc("https://shop.example/p"));
    let order = format!("idgoal=0&ec_items={}", enc(r#"[["S1","N","C",12,1]]"#));
    let params: [(&str, &str); 50] = [
        ("h", &page),
        ("m", &page),
        ("s", &page),
        ("res", &page),
        ("pf_net", &page),
        ("pf_srv", &page),
        ("pf_onl", &page),
        ("bw_bytes", &page),
        ("gt_ms", &page),
        ("search_count", &page),
        ("search", &page),
        ("search_cat", &page),
        ("_refts", &page),
        ("_ref", &page),
        ("_rcn", &page),
        ("_rck", &page),
        ("urlref", &page),
        ("url", ""),
        ("action_name", &page),
        ("link", &page),
        ("download", &page),
        ("pv_id", &page),
        ("uid", &page),
        ("lang", &page),
        ("ua", &page),
        ("cs", &page),
        ("dimension1", &page),
        ("dimension2", &page),
        ("cvar", &page),
        ("_cvar", &page),
        ("_pkp", &page),
        ("_pks", &page),
        ("_pkn", &page),
        ("_pkc", &page),
        ("c_n", &page),
        ("c_p", &page),
        ("c_t", &page),
        ("lat", &page),
        ("long", &page),
        ("city", &page),
        ("e_v", &event),
        ("e_n", &event),
        ("e_a", &event),
        ("idgoal", &page),
        ("revenue", &order),
        ("ec_id", &order),
        ("ec_st", &order),
        ("ec_items", &order),
        ("_idvc", &page),
        ("_viewts", &page),
    ];
    let mut n: u64 = 0;
    let mut stored = 0;
    for (name, base) in params {
        for value in values {
            n += 1;
            // A fresh visitor (id and address) and order id each time, so
            // that no request depends on another's visit or order.
            let q = format!(
                "idsite=1&rec=1&_id={:016x}&cip=198.18.{}.{}&ec_id=O{n}&{}&{base}&{name}={value}",
                0x3000_0000_0000_0000u64 + n,
                n / 256,
                n % 256,
                at(0)
            );
            // In a form body: a long value in the URL would be refused
            // before it is read (414).
            let a = s
                .send(
                    "POST",
                    "/matomo.php",
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    q.as_bytes(),
                )
                .await?;
            let shown = &q[..q.len().min(300)];
            assert!(
                matches!(a.status, 200 | 204 | 400),
                "{name}={}: {} {}",
                &value[..value.len().min(40)],
                a.status,
                a.text()
            );
            if a.status == 400 {
                assert!(
                    a.text().to_lowercase().contains(name),
                    "{shown}: {}",
                    a.text()
                );
            } else {
                stored += 1;
            }
        }
    }
    // JSON parameters with extreme members.
    let text = "y".repeat(5_000);
    let json_cases = [
        (
            "ec_items",
            r#"[["S","N","C",1e308,1],["T","N","C",-5,-3]]"#.to_owned(),
        ),
        ("ec_items", format!(r#"[["{text}","{text}","{text}",1,1]]"#)),
        (
            "ec_items",
            r#"[["S","N",["a","b","c","d","e","f"],1,99999999999]]"#.to_owned(),
        ),
        ("ec_items", r#"[[1,2,3,4,5],[null],[],{"a":1}]"#.to_owned()),
        ("ec_items", r#"{"a":["S","N","C",1,1]}"#.to_owned()),
        (
            "cvar",
            format!(r#"{{"1":["{text}","{text}"],"99":["a","b"],"2":"x"}}"#),
        ),
        (
            "_cvar",
            format!(r#"{{"1":["{text}","{text}"],"-1":["a","b"],"3":[1,2]}}"#),
        ),
        ("_pkc", format!(r#"["{text}","b","c","d","e","f"]"#)),
    ];
    for (name, value) in json_cases {
        n += 1;
        let q = format!(
            "idsite=1&rec=1&_id={:016x}&cip=198.18.{}.{}&ec_id=O{n}&{}&{order}&url={}&{name}={}",
            0x3000_0000_0000_0000u64 + n,
            n / 256,
            n % 256,
            at(0),
            enc("https://shop.example/p"),
            enc(&value)
        );
        let a = s.get(&q).await?;
        assert_eq!(
            a.status,
            200,
            "{name}={}: {}",
            &value[..value.len().min(60)],
            a.text()
        );
        stored += 1;
    }
    let visits = count_visits(&mut s.conn()?, 1)?;
    assert!(
        stored > 600 && visits > 600,
        "{stored} answered, {visits} visits"
    );
    // Long item and category names are kept, cut to `log_action.name`.
    let long_names: Vec<(Option<u8>, i64)> = log_action::table
        .filter(log_action::name.like("yyy%"))
        .select((
            log_action::type_,
            diesel::dsl::sql::<diesel::sql_types::BigInt>("CHAR_LENGTH(name)"),
        ))
        .order(log_action::type_)
        .load(&mut s.conn()?)?;
    // Item SKU, name and category (types 5, 6, 7).
    assert_eq!(
        long_names,
        [(Some(5), 4096), (Some(6), 4096), (Some(7), 4096)]
    );
    Ok(())
}
