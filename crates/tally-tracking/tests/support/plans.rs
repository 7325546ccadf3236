//! What a test needs to check that the server looks keys up one by one:
//! statistics that no longer describe a table, and the rows a session read.

use diesel::prelude::*;

/// Takes `table`'s index statistics now and keeps them while it fills, as
/// when a table grows faster than InnoDB recomputes them (a new site, an
/// import into a fresh database).
pub(crate) fn freeze_statistics(conn: &mut MysqlConnection, table: &str) -> anyhow::Result<()> {
    diesel::sql_query(format!("ANALYZE TABLE {table}")).execute(conn)?;
    diesel::sql_query(format!("ALTER TABLE {table} STATS_AUTO_RECALC = 0")).execute(conn)?;
    Ok(())
}

/// The session's `Handler_read_*` counters summed: index and table rows
/// the server read for this connection so far.
pub(crate) fn rows_read(conn: &mut MysqlConnection) -> anyhow::Result<u64> {
    #[derive(QueryableByName)]
    struct Status {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[diesel(column_name = Value)]
        value: String,
    }
    let rows: Vec<Status> =
        diesel::sql_query("SHOW SESSION STATUS LIKE 'Handler_read%'").load(conn)?;
    rows.iter()
        .map(|r| Ok(r.value.parse::<u64>()?))
        .sum::<anyhow::Result<u64>>()
}
