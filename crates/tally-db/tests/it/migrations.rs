//! Migrations apply, revert and re-apply (what `diesel migration redo` checks).

use diesel::MysqlConnection;
use diesel::migration::MigrationSource;
use diesel_migrations::MigrationHarness;
use tally_db::test_support::TestDb;

use crate::support::{columns, indexes};

#[test]
fn fresh_database_has_nothing_pending() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    assert!(tally_db::pending_migrations(&mut conn)?.is_empty());
    assert!(tally_db::run_migrations(&mut conn)?.is_empty());
    Ok(())
}

/// Every migration's down.sql undoes its up.sql exactly: revert each one
/// (newest first), check its tables are gone, then re-apply all and compare
/// the whole schema with the original.
#[test]
fn every_migration_redoes_cleanly() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let before = snapshot(&mut conn)?;
    assert!(!before.0.is_empty());

    let total = MigrationSource::<diesel::mysql::Mysql>::migrations(&tally_db::MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .len();
    for _ in 0..total {
        conn.revert_last_migration(tally_db::MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("revert failed: {e}"))?;
    }
    let empty = snapshot(&mut conn)?;
    assert!(
        empty.0.is_empty(),
        "tables left after reverting all: {:?}",
        empty.0
    );

    let applied = tally_db::run_migrations(&mut conn)?;
    assert_eq!(applied.len(), total);
    assert_eq!(snapshot(&mut conn)?, before);
    Ok(())
}

type Snapshot = (
    Vec<crate::support::ColumnInfo>,
    Vec<crate::support::IndexColumn>,
);

fn snapshot(conn: &mut MysqlConnection) -> anyhow::Result<Snapshot> {
    Ok((columns(conn)?, indexes(conn)?))
}

/// A plugin crate's migrations run beside ours, once.
#[test]
fn plugin_migrations_apply_once_beside_the_core_ones() -> anyhow::Result<()> {
    const PLUGIN: diesel_migrations::EmbeddedMigrations =
        diesel_migrations::embed_migrations!("tests/plugin_migrations");
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let applied = tally_db::run_plugin_migrations(&mut conn, PLUGIN)?;
    assert_eq!(applied, vec!["20990101000001".to_owned()]);
    let plugin_columns = columns(&mut conn)?
        .into_iter()
        .filter(|c| c.table_name == "example_plugin_notes")
        .count();
    assert_eq!(plugin_columns, 3);
    assert!(tally_db::run_plugin_migrations(&mut conn, PLUGIN)?.is_empty());
    // The core migrations still see nothing pending.
    assert!(tally_db::pending_migrations(&mut conn)?.is_empty());
    Ok(())
}
