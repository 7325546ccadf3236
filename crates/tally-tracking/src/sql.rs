//! Statements with a variable number of bound values.
//!
//! The recorder writes a whole batch in a few statements (one multi-row
//! `INSERT` per table, one `UPDATE ... JOIN` for all continuing visits).
//! Diesel's typed DSL needs the row count at compile time for that, so
//! these statements are built as text with `?` placeholders and every value
//! bound: nothing from a request is ever spliced into SQL.

use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Binary, Datetime, Double, Nullable, Text, Unsigned};
use time::PrimitiveDateTime;

/// A value to bind.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// SQL `NULL`.
    Null,
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A double.
    F64(f64),
    /// Text.
    Str(String),
    /// Bytes (`BINARY`/`VARBINARY`).
    Bytes(Vec<u8>),
    /// A `DATETIME` (UTC).
    DateTime(PrimitiveDateTime),
}

impl From<u64> for Val {
    fn from(v: u64) -> Self {
        Self::U64(v)
    }
}
impl From<u32> for Val {
    fn from(v: u32) -> Self {
        Self::U64(u64::from(v))
    }
}
impl From<u8> for Val {
    fn from(v: u8) -> Self {
        Self::U64(u64::from(v))
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::I64(v)
    }
}
impl From<i32> for Val {
    fn from(v: i32) -> Self {
        Self::I64(i64::from(v))
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Self::F64(v)
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Self::Str(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Self::Str(v.to_owned())
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}
impl From<[u8; 8]> for Val {
    fn from(v: [u8; 8]) -> Self {
        Self::Bytes(v.to_vec())
    }
}
impl From<PrimitiveDateTime> for Val {
    fn from(v: PrimitiveDateTime) -> Self {
        Self::DateTime(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// SQL text with its bound values.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    /// The SQL, with one `?` per value.
    pub sql: String,
    /// The values.
    pub binds: Vec<Val>,
}

impl Statement {
    /// Runs the statement, returning the affected row count.
    ///
    /// # Errors
    /// The query error.
    pub fn execute(self, conn: &mut MysqlConnection) -> QueryResult<usize> {
        self.boxed().execute(conn)
    }

    /// Runs a `SELECT` into rows of `T`.
    ///
    /// # Errors
    /// The query error.
    pub fn load<T>(self, conn: &mut MysqlConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Mysql> + 'static,
    {
        self.boxed().load(conn)
    }

    fn boxed(self) -> BoxedSqlQuery<'static, Mysql, diesel::query_builder::SqlQuery> {
        let mut q = diesel::sql_query(self.sql).into_boxed::<Mysql>();
        for v in self.binds {
            q = match v {
                Val::Null => q.bind::<Nullable<Text>, Option<String>>(None),
                Val::U64(x) => q.bind::<Unsigned<BigInt>, _>(x),
                Val::I64(x) => q.bind::<BigInt, _>(x),
                Val::F64(x) => q.bind::<Double, _>(x),
                Val::Str(x) => q.bind::<Text, _>(x),
                Val::Bytes(x) => q.bind::<Binary, _>(x),
                Val::DateTime(x) => q.bind::<Datetime, _>(x),
            };
        }
        q
    }
}

/// MySQL allows 65,535 placeholders per statement; stay below.
const MAX_BINDS: usize = 60_000;

/// Multi-row `INSERT` statements for `rows`, split so that each stays under
/// the placeholder limit.
pub fn multi_insert(
    verb: &str,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Val>>,
) -> Vec<Statement> {
    let per_row = columns.len().max(1);
    let rows_per_stmt = (MAX_BINDS / per_row).max(1);
    let tuple = format!("({})", vec!["?"; columns.len()].join(","));
    let head = format!("{verb} INTO {table} ({}) VALUES ", columns.join(","));
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut st = Statement {
            sql: head.clone(),
            binds: Vec::with_capacity(rows_per_stmt * per_row),
        };
        for (i, row) in rows.by_ref().take(rows_per_stmt).enumerate() {
            debug_assert_eq!(row.len(), columns.len());
            if i > 0 {
                st.sql.push(',');
            }
            st.sql.push_str(&tuple);
            st.binds.extend(row);
        }
        out.push(st);
    }
    out
}

/// A derived table of literal rows: `SELECT ? AS a, ? AS b UNION ALL SELECT
/// ?, ? ...`, for multi-row `UPDATE ... JOIN`.
pub fn values_table(columns: &[&str], rows: &[Vec<Val>]) -> Statement {
    let mut st = Statement::default();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            st.sql.push_str(" UNION ALL ");
        }
        st.sql.push_str("SELECT ");
        for (j, col) in columns.iter().enumerate() {
            if j > 0 {
                st.sql.push(',');
            }
            st.sql.push('?');
            if i == 0 {
                st.sql.push_str(" AS ");
                st.sql.push_str(col);
            }
        }
        st.binds.extend(row.iter().cloned());
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_are_split_under_the_placeholder_limit() {
        let rows: Vec<Vec<Val>> = (0..25_000u64)
            .map(|i| vec![i.into(), Val::Null, "x".into()])
            .collect();
        let st = multi_insert("INSERT", "t", &["a", "b", "c"], rows);
        assert_eq!(st.len(), 2);
        assert_eq!(st[0].binds.len(), 60_000);
        assert_eq!(st[1].binds.len(), 15_000);
        assert!(
            st[0]
                .sql
                .starts_with("INSERT INTO t (a,b,c) VALUES (?,?,?),(?,?,?)")
        );
    }

    #[test]
    fn derived_table_names_columns_once() {
        let st = values_table(
            &["id", "n"],
            &[
                vec![1u64.into(), 2u64.into()],
                vec![3u64.into(), 4u64.into()],
            ],
        );
        assert_eq!(st.sql, "SELECT ? AS id,? AS n UNION ALL SELECT ?,?");
        assert_eq!(st.binds.len(), 4);
    }
}
