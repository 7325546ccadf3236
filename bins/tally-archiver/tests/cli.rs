//! The archiver binary end to end: `run`, `invalidate`, `purge` and their
//! errors, against a fresh database.

use std::process::{Command, Output};

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use tally_db::test_support::TestDb;

fn archiver(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally-archiver"))
        .args(args)
        .env("TALLY_DATABASE_URL", db.url())
        .env_remove("TALLY_CONFIG")
        // No ./tally.toml there: defaults plus the URL above.
        .current_dir(std::env::temp_dir())
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut MysqlConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .expect(sql)
        .n
}

#[test]
fn run_invalidate_and_purge() {
    let db = TestDb::new().expect("test database");
    let mut conn = db.conn().expect("connection");
    for sql in [
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Site', 'https://example.org', '2020-01-01 00:00:00', 0, 1, '', '', 'UTC', 'EUR', \
         '', '', '', '', '', 'website')",
        "INSERT INTO log_visit (idsite, idvisitor, visit_last_action_time, config_id, location_ip, \
         visit_first_action_time, visit_total_time, visitor_count_visits, visit_total_actions) VALUES \
         (1, X'0000000000000001', '2025-06-10 10:00:00', X'01', X'7f000001', '2025-06-10 09:59:00', 60, 1, 2), \
         (1, X'0000000000000002', '2025-06-11 10:00:00', X'01', X'7f000001', '2025-06-11 10:00:00', 0, 1, 1)",
    ] {
        diesel::sql_query(sql).execute(&mut conn).expect(sql);
    }
    let out = archiver(
        &db,
        &[
            "run",
            "--date-range",
            "2025-06-10,2025-06-11",
            "--periods",
            "day,week",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The week (2025-06-09..15) and its seven days.
    let done =
        "SELECT COUNT(*) AS n FROM archive_numeric_2025_06 WHERE name = 'done' AND value = 1";
    assert_eq!(count(&mut conn, done), 8);
    let visits = "SELECT CAST(value AS SIGNED) AS n FROM archive_numeric_2025_06 \
                  WHERE name = 'nb_visits' AND period = 2";
    assert_eq!(count(&mut conn, visits), 2);

    let out = archiver(
        &db,
        &["invalidate", "--sites", "1", "--dates", "2025-06-10"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("queued 4 archive(s)"));
    let out = archiver(
        &db,
        &[
            "run",
            "--sites",
            "1",
            "--periods",
            "day",
            "--date-range",
            "2025-06-10,2025-06-10",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM archive_invalidations"),
        0
    );
    let out = archiver(&db, &["purge"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("purged "));
}

#[test]
fn bad_arguments_are_named() {
    let db = TestDb::new().expect("test database");
    let out = archiver(&db, &["run", "--date-range", "2025-02-30,2025-03-01"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid date \"2025-02-30\""), "{stderr}");
    let out = archiver(&db, &["run", "--periods", "fortnight"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fortnight"));
    let out = archiver(
        &db,
        &["invalidate", "--sites", "42", "--dates", "2025-01-01"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no site with idsite 42"));
}
