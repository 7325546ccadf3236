//! `tally-admin` as a newcomer runs it: sites, users, tokens and goals from
//! the command line, then the demo, against a fresh database.

use tally_db::test_support::TestDb;

mod support;
use support::{ok, run as admin};

#[test]
fn sites_users_tokens_and_goals_from_the_command_line() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let id = ok(
        &db,
        &[
            "site",
            "add",
            "--name",
            "Shop",
            "--url",
            "https://shop.example",
            "--timezone",
            "Europe/Paris",
        ],
    )?;
    assert_eq!(id.trim(), "1");
    let list = ok(&db, &["site", "list"])?;
    assert_eq!(list, "1\tShop\thttps://shop.example\tEurope/Paris\tUSD\n");
    ok(
        &db,
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.org",
            "--password",
            "correct-horse",
            "--site",
            "1",
        ],
    )?;
    ok(
        &db,
        &["user", "grant", "alice", "--access", "write", "--site", "1"],
    )?;
    let token = ok(&db, &["user", "token", "alice"])?;
    assert_eq!(token.trim().len(), 32, "{token}");
    assert!(token.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    let goal = ok(
        &db,
        &[
            "goal",
            "add",
            "--site",
            "1",
            "--name",
            "Signup",
            "--pattern",
            "/welcome",
        ],
    )?;
    assert_eq!(goal.trim(), "1");
    assert_eq!(
        ok(&db, &["goal", "list", "--site", "1"])?,
        "1\tSignup\turl contains /welcome\n"
    );

    // Bad input is an error naming what is wrong, never a panic.
    let bad = admin(
        &db,
        &[
            "site",
            "add",
            "--name",
            "X",
            "--url",
            "https://x.example",
            "--timezone",
            "Mars/Olympus",
        ],
    )?;
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(message.starts_with("tally-admin: "), "{message}");
    assert!(message.contains("Mars/Olympus"), "{message}");
    let unknown = admin(
        &db,
        &["user", "grant", "nobody", "--access", "view", "--site", "1"],
    )?;
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
    Ok(())
}

#[test]
fn the_demo_tracks_archives_and_prints_a_working_curl_line() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen = format!("127.0.0.1:{port}");
    let out = ok(
        &db,
        &[
            "demo",
            "--no-serve",
            "--listen",
            &listen,
            "--visits-per-day",
            "5",
        ],
    )?;
    let curl = out
        .lines()
        .find(|line| line.starts_with("curl '"))
        .ok_or_else(|| anyhow::anyhow!("no curl line in {out}"))?;
    assert!(curl.contains(&format!("http://{listen}/index.php?module=API&method=VisitsSummary.get&idSite=1&period=day&date=yesterday&format=json&token_auth=")));
    // The demo's traffic is in the log tables: 5 visits on each of 7 days.
    let mut conn = db.conn()?;
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let visits: Count =
        diesel::sql_query("SELECT COUNT(*) AS n FROM log_visit").get_result(&mut conn)?;
    assert_eq!(visits.n, 35);
    // A second run reuses the site and user and only prints a new token.
    let again = ok(
        &db,
        &[
            "demo",
            "--no-serve",
            "--listen",
            &listen,
            "--visits-per-day",
            "5",
        ],
    )?;
    assert!(!again.contains("super user:"), "{again}");
    assert!(again.contains("token_auth: "));
    let visits: Count =
        diesel::sql_query("SELECT COUNT(*) AS n FROM log_visit").get_result(&mut conn)?;
    assert_eq!(visits.n, 35, "the second run tracks nothing");
    Ok(())
}
