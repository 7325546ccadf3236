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
