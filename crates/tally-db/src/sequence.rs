//! Named id sequences in the `sequence` table (Matomo's `Sequence`).
//!
//! Used for `idarchive`: archive rows have no AUTO_INCREMENT column because one
//! id spans the numeric and the blob table of a month.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Unsigned};

mod functions {
    #[allow(unused_imports)]
    use diesel::sql_types::{BigInt, Unsigned};
    diesel::define_sql_function! {
        /// MySQL's `LAST_INSERT_ID()`, per connection.
        fn last_insert_id() -> Unsigned<BigInt>;
    }
}
pub use functions::last_insert_id;

/// Creates the sequence `name` starting at `initial` unless it exists.
///
/// # Errors
/// The query error.
pub fn create_sequence(conn: &mut MysqlConnection, name: &str, initial: u64) -> QueryResult<()> {
    diesel::sql_query("INSERT IGNORE INTO sequence (name, value) VALUES (?, ?)")
        .bind::<Text, _>(name)
        .bind::<Unsigned<BigInt>, _>(initial)
        .execute(conn)?;
    Ok(())
}

/// Allocates the next id of sequence `name`.
///
/// One atomic `UPDATE ... SET value = LAST_INSERT_ID(value + 1)`: concurrent
/// callers on other connections never get the same id, and no lock is held
/// beyond the row update.
///
/// # Errors
/// [`diesel::result::Error::NotFound`] when the sequence does not exist.
pub fn next_id(conn: &mut MysqlConnection, name: &str) -> QueryResult<u64> {
    let updated =
        diesel::sql_query("UPDATE sequence SET value = LAST_INSERT_ID(value + 1) WHERE name = ?")
            .bind::<Text, _>(name)
            .execute(conn)?;
    if updated == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    diesel::select(last_insert_id()).get_result(conn)
}
