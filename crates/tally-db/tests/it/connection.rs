//! Session setup and configuration errors.

use diesel::prelude::*;
use diesel::sql_types::Text;
use tally_db::test_support::TestDb;
use tally_db::{DatabaseConfig, DbError};

#[derive(QueryableByName)]
struct Session {
    #[diesel(sql_type = Text)]
    tz: String,
    #[diesel(sql_type = Text)]
    mode: String,
    #[diesel(sql_type = Text)]
    charset: String,
}

#[test]
fn pooled_connections_run_in_utc_strict_utf8mb4() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let pool = db.pool()?;
    let mut conn = pool.get()?;
    let s: Session = diesel::sql_query(
        "SELECT @@session.time_zone AS tz, @@session.sql_mode AS mode,
                @@session.character_set_client AS charset",
    )
    .get_result(&mut conn)?;
    assert_eq!(s.tz, "+00:00");
    assert!(s.mode.contains("STRICT_TRANS_TABLES"), "{}", s.mode);
    assert_eq!(s.charset, "utf8mb4");
    Ok(())
}

#[test]
fn strict_mode_rejects_instead_of_truncating() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    // config_os is CHAR(3): a lax server would store "WIN" silently.
    let result = diesel::sql_query(
        "INSERT INTO log_visit (idsite, idvisitor, visit_last_action_time, config_id, location_ip,
            visit_first_action_time, visit_total_time, config_os)
         VALUES (1, x'0102030405060708', '2024-01-01 00:00:00', x'0102030405060708', x'7f000001',
            '2024-01-01 00:00:00', 0, 'WINDOWS')",
    )
    .execute(&mut conn);
    assert!(result.is_err(), "overlong value was accepted");
    Ok(())
}

#[test]
fn unreachable_database_is_a_one_line_error() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let config = DatabaseConfig {
        url: "mysql://root@127.0.0.1:1/tally".to_owned(),
        ..DatabaseConfig::default()
    };
    let err = tally_db::pool(&config).unwrap_err();
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    let chain = format!(
        "{}: {}",
        err,
        std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    assert!(
        chain.starts_with("cannot connect to the database at mysql://root@127.0.0.1:1/tally: "),
        "{chain}"
    );
    assert!(chain.contains("127.0.0.1"), "{chain}");
    assert!(!chain.trim_end().contains('\n'), "{chain}");
}

#[test]
fn wrong_password_is_named_and_redacted() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let url = db
        .url()
        .replacen("mysql://root@", "mysql://root:not-the-password@", 1);
    let err = tally_db::pool(&DatabaseConfig {
        url,
        ..DatabaseConfig::default()
    })
    .unwrap_err();
    let message = err.to_string();
    let cause = std::error::Error::source(&err)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(message.contains("root:***@"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    assert!(cause.contains("Access denied"), "{cause}");
    Ok(())
}

#[test]
fn create_database_if_missing_creates_once() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    // A sibling name that the TestDb's Drop does not know about: drop it here.
    let name = format!("{}_x", db.name());
    let url = db.url().replace(db.name(), &name);
    let first = tally_db::create_database_if_missing(&url);
    let second = tally_db::create_database_if_missing(&url);
    let mut conn = db.conn()?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS `{name}`")).execute(&mut conn)?;
    assert!(first?);
    assert!(!second?);
    Ok(())
}
