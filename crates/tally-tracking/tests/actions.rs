//! `log_action` resolution against MariaDB.

use diesel::prelude::*;
use tally_db::test_support::TestDb;
use tally_schema::ActionType;
use tally_schema::schema::log_action;
use tally_tracking::actions::{ActionKey, resolve_actions};

fn key(action_type: ActionType, name: &str) -> ActionKey<'_> {
    ActionKey {
        action_type,
        name,
        url_prefix: None,
    }
}

#[test]
fn names_are_inserted_once_and_found_again() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let keys = [
        key(ActionType::PageUrl, "example.org/a"),
        key(ActionType::PageTitle, "A"),
        key(ActionType::PageUrl, "example.org/a"), // repeated in the batch
        key(ActionType::PageTitle, "example.org/a"), // same name, other type
    ];
    let ids = resolve_actions(&mut conn, &keys)?;
    assert_eq!(ids[0], ids[2]);
    assert_ne!(ids[0], ids[3]);
    let rows: i64 = log_action::table.count().get_result(&mut conn)?;
    assert_eq!(rows, 3);

    let again = resolve_actions(&mut conn, &keys)?;
    assert_eq!(again, ids);
    let rows: i64 = log_action::table.count().get_result(&mut conn)?;
    assert_eq!(rows, 3, "a second batch inserts nothing");
    Ok(())
}

#[test]
fn names_differing_only_in_case_are_different_actions() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let ids = resolve_actions(
        &mut conn,
        &[
            key(ActionType::PageUrl, "example.org/Page"),
            key(ActionType::PageUrl, "example.org/page"),
        ],
    )?;
    assert_ne!(ids[0], ids[1]);
    Ok(())
}

/// "plumless" and "buckeroo" have the same CRC32: the name decides.
#[test]
fn crc32_collisions_are_told_apart_by_name() -> anyhow::Result<()> {
    assert_eq!(
        tally_tracking::action_hash("plumless"),
        tally_tracking::action_hash("buckeroo")
    );
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let first = resolve_actions(&mut conn, &[key(ActionType::PageTitle, "plumless")])?;
    let second = resolve_actions(&mut conn, &[key(ActionType::PageTitle, "buckeroo")])?;
    assert_ne!(first, second);
    let names: Vec<Option<String>> = log_action::table
        .select(log_action::name)
        .order(log_action::idaction)
        .load(&mut conn)?;
    assert_eq!(
        names,
        [Some("plumless".to_owned()), Some("buckeroo".to_owned())]
    );
    Ok(())
}

/// Text statements carry strings as quoted literals: whatever a request
/// sends (quotes, backslashes, NUL, line ends, Ctrl-Z, a `?`, an attempt
/// to close the literal and add SQL, non-ASCII) is stored byte for byte,
/// with and without `NO_BACKSLASH_ESCAPES`.
#[test]
fn quoted_string_literals_store_exactly_what_was_sent() -> anyhow::Result<()> {
    use diesel::connection::SimpleConnection;
    use tally_tracking::sql::{Statement, Val};

    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        id: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }

    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    conn.batch_execute(
        "CREATE TABLE literal_check (id INT PRIMARY KEY, value TEXT NOT NULL) DEFAULT CHARSET=utf8mb4",
    )?;
    let values = [
        "plain",
        "it's",
        "back\\slash at the end\\",
        "\\'",
        "nul\0inside",
        "line\nfeed\rreturn",
        "ctrl-z \x1a",
        "double \"quotes\" and `ticks`",
        "question? marks ?",
        "', 0); DROP TABLE literal_check; -- ",
        "\\\\' OR 1=1 #",
        "é ü 中文 🎉",
        "%_ wildcards",
    ];
    for mode in [
        "STRICT_ALL_TABLES",
        "STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES",
    ] {
        conn.batch_execute(&format!(
            "SET sql_mode = '{mode}'; DELETE FROM literal_check"
        ))?;
        let mut st = Statement {
            sql: format!(
                "INSERT INTO literal_check (id, value) VALUES {}",
                vec!["(?,?)"; values.len()].join(",")
            ),
            binds: Vec::new(),
        };
        for (id, value) in values.iter().enumerate() {
            st.binds.push(Val::from(u64::try_from(id)?));
            st.binds.push(Val::from(*value));
        }
        st.execute(&mut conn)?;
        let stored: Vec<Stored> =
            diesel::sql_query("SELECT id, value FROM literal_check ORDER BY id").load(&mut conn)?;
        assert_eq!(
            stored.len(),
            values.len(),
            "{mode}: one row per value, nothing else ran"
        );
        for (row, value) in stored.iter().zip(values) {
            assert_eq!(row.value, value, "{mode}: row {}", row.id);
        }
    }
    Ok(())
}

/// A log import batch can hold more names and visitors than one statement
/// has placeholders for (65,535): the writers' reads and inserts are split.
#[test]
fn batches_beyond_the_placeholder_limit_are_split() -> anyhow::Result<()> {
    use std::collections::HashMap;
    use tally_tracking::visit::{VisitCache, prefetch};

    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    // 20,000 new names: 80,000 placeholders in one insert.
    let names: Vec<String> = (0..20_000).map(|i| format!("example.org/p/{i}")).collect();
    let keys: Vec<ActionKey<'_>> = names.iter().map(|n| key(ActionType::PageUrl, n)).collect();
    let ids = resolve_actions(&mut conn, &keys)?;
    assert_eq!(ids.len(), 20_000);
    let distinct: std::collections::HashSet<u32> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 20_000, "one id per name");
    let rows: i64 = log_action::table.count().get_result(&mut conn)?;
    assert_eq!(rows, 20_000);

    // 70,000 unknown visitors and 30,000 fingerprints: more keys than one
    // query may bind. None has a visit, so every visitor is marked absent.
    let visitors: Vec<[u8; 8]> = (0u64..70_000).map(u64::to_be_bytes).collect();
    let configs: Vec<[u8; 8]> = (0u64..30_000).map(|i| (i << 20).to_be_bytes()).collect();
    let mut cache = VisitCache::new(1_000);
    prefetch(
        &mut conn,
        &mut cache,
        &HashMap::from([(1, visitors.clone())]),
        &HashMap::from([(1, (configs, 0, 2_000_000_000))]),
    )?;
    assert!(visitors.iter().all(|v| cache.knows_visitor(1, *v)));
    Ok(())
}

#[test]
fn only_columns_with_a_null_default_are_left_out_of_inserts() -> anyhow::Result<()> {
    use tally_tracking::recorder::{
        ACTION_COLUMNS, ACTION_NOT_NULL_BY_DEFAULT, VISIT_COLUMNS, VISIT_NOT_NULL_BY_DEFAULT,
    };

    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        null_default: bool,
    }
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    for (table, columns, keep) in [
        ("log_visit", VISIT_COLUMNS, VISIT_NOT_NULL_BY_DEFAULT),
        (
            "log_link_visit_action",
            ACTION_COLUMNS,
            ACTION_NOT_NULL_BY_DEFAULT,
        ),
    ] {
        // MariaDB shows the default of a nullable column without one as
        // the text NULL.
        let schema: Vec<Column> = diesel::sql_query(
            "SELECT COLUMN_NAME AS name, (IS_NULLABLE = 'YES' AND \
             (COLUMN_DEFAULT IS NULL OR COLUMN_DEFAULT = 'NULL')) AS null_default \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind::<diesel::sql_types::Text, _>(table)
        .load(&mut conn)?;
        for column in columns {
            let found = schema
                .iter()
                .find(|c| c.name == *column)
                .ok_or_else(|| anyhow::anyhow!("{table}.{column} is not in the schema"))?;
            assert_eq!(
                found.null_default,
                !keep.contains(column),
                "{table}.{column}: a column may be left out of an insert exactly when its default is NULL"
            );
        }
    }
    Ok(())
}

#[test]
fn batch_transactions_take_no_gap_locks_that_two_recorders_could_deadlock_on() -> anyhow::Result<()>
{
    use diesel::connection::SimpleConnection as _;
    use tally_tracking::recorder::READ_COMMITTED_SESSION;

    let db = TestDb::new()?;
    let (mut a, mut b) = (db.conn()?, db.conn()?);
    let item = |idvisit: u32| {
        format!(
            "INSERT INTO log_conversion_item VALUES (1, X'0000000000000001', '2026-12-02 10:00:00', \
             {idvisit}, '0', 1, 1, 0, 0, 0, 0, 0, 1.5, 1, 0)"
        )
    };
    // Visits 10 and 20 have cart items; 12 and 14 have none, in the gap
    // between them.
    a.batch_execute(&format!("{}; {}", item(10), item(20)))?;
    a.batch_execute("SET SESSION innodb_lock_wait_timeout = 1")?;
    let sync = |idvisit: u32| {
        format!(
            "UPDATE log_conversion_item SET deleted = 1 WHERE idvisit = {idvisit} AND idorder = '0'"
        )
    };
    // Each batch syncs the cart of its own visit (no rows), then inserts
    // items: a's for visit 14, whose gap b's statement covered. Under
    // REPEATABLE READ (the server's default) a's insert waits for b's gap
    // lock, and b's insert into a's gap would close the deadlock; on the
    // recorder's sessions it goes through.
    for recorder_sessions in [false, true] {
        if recorder_sessions {
            a.batch_execute(READ_COMMITTED_SESSION)?;
            b.batch_execute(READ_COMMITTED_SESSION)?;
        }
        a.batch_execute(&format!("START TRANSACTION; {}", sync(12)))?;
        b.batch_execute(&format!("START TRANSACTION; {}", sync(14)))?;
        let inserted = a.batch_execute(&item(14));
        assert_eq!(
            inserted.is_ok(),
            recorder_sessions,
            "recorder sessions: {recorder_sessions}: {inserted:?}"
        );
        a.batch_execute("ROLLBACK")?;
        b.batch_execute("ROLLBACK")?;
    }
    Ok(())
}

#[path = "support/plans.rs"]
mod plans;

/// Thousands of names (a log import batch's) are looked up by key even
/// when `log_action`'s statistics were taken while it was empty: the server
/// reads about two rows a name, not the whole table.
#[test]
fn many_names_are_looked_up_by_key_when_the_statistics_are_stale() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    plans::freeze_statistics(&mut conn, "log_action")?;
    let names: Vec<String> = (0..12_000).map(|i| format!("shop.example/p/{i}")).collect();
    let keys: Vec<ActionKey<'_>> = names.iter().map(|n| key(ActionType::PageUrl, n)).collect();
    let ids = resolve_actions(&mut conn, &keys)?;

    // Every third name again: all known, so only looked up.
    let again: Vec<ActionKey<'_>> = keys.iter().step_by(3).cloned().collect();
    let before = plans::rows_read(&mut conn)?;
    let found = resolve_actions(&mut conn, &again)?;
    let read = plans::rows_read(&mut conn)? - before;

    let expected: Vec<u32> = ids.iter().step_by(3).copied().collect();
    assert_eq!(found, expected);
    let rows: i64 = log_action::table.count().get_result(&mut conn)?;
    assert_eq!(rows, 12_000, "nothing inserted the second time");
    assert!(
        read < 10_000,
        "{read} rows read for {} names: the lookup scanned log_action",
        again.len()
    );
    Ok(())
}
