//! Statements with a variable number of bound values.
//!
//! The recorder writes a whole batch in a few statements (one multi-row
//! `INSERT` per table, one `UPDATE` per kind of continuing visit).
//! Diesel's typed DSL needs the row count at compile time for that, so
//! these statements are built as text with `?` placeholders and a list of
//! values; multi-row inserts ([`multi_insert`]) write their values into the
//! text directly.
//!
//! The values are rendered as literals but in small reads. A prepared
//! statement costs three round trips (prepare, execute, close) and the
//! server answers a prepare with one packet per placeholder, which
//! dominated the recorder's time with thousands of placeholders per batch
//! (docs/PERFORMANCE.md). So writes ([`Statement::execute`]) are sent as
//! one text query, and big reads ([`Statement::load`]), which diesel runs
//! only as prepared statements, are prepared without placeholders. Small
//! reads ([`Statement::load_cached`], a recorder batch's few keys) keep
//! their placeholders, their lists padded to a few lengths, so that diesel
//! prepares each text once per connection and afterwards only executes it
//! with the values bound. The rendering
//! is injection-proof whatever the `sql_mode` (`NO_BACKSLASH_ESCAPES` or
//! not): numbers are formatted by Rust; a string is quoted with its quotes
//! doubled, the one escape both modes read alike, unless it holds a
//! backslash or a NUL, which then make it a hex literal (`_utf8mb4 X'..'`),
//! as bytes always are (`X'..'`). Strings were all hex literals before;
//! quoted, the server's time for a batch's visit and action inserts fell
//! from about 2.5x that of a server-side copy of the same rows to 1.7-1.8x
//! (docs/PERFORMANCE.md, issue 8).

use diesel::connection::SimpleConnection as _;
use diesel::mysql::Mysql;
use diesel::prelude::*;
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
    /// Runs the statement as one text query (see the module docs).
    ///
    /// # Errors
    /// The query error, or [`diesel::result::Error::QueryBuilderError`]
    /// when the number of values does not match the placeholders.
    pub fn execute(self, conn: &mut MysqlConnection) -> QueryResult<()> {
        let sql = self.into_sql()?;
        conn.batch_execute(&sql)
    }

    /// [`Statement::render`], without copying a statement that has no
    /// values.
    ///
    /// # Errors
    /// As [`Statement::render`].
    pub fn into_sql(self) -> QueryResult<String> {
        if self.binds.is_empty() {
            return Ok(self.sql);
        }
        self.render()
    }

    /// The SQL with every `?` replaced by its value as a literal. A
    /// statement without values is its text as written: its literals are
    /// already in it ([`multi_insert`]) and may hold a `?`.
    ///
    /// # Errors
    /// [`diesel::result::Error::QueryBuilderError`] when the number of
    /// values does not match the placeholders.
    pub fn render(&self) -> QueryResult<String> {
        if self.binds.is_empty() {
            return Ok(self.sql.clone());
        }
        let mut out = String::with_capacity(self.sql.len() + self.binds.len() * 24);
        let mut values = self.binds.iter();
        let mut from = 0;
        // `?` is ASCII, so its byte positions are char boundaries.
        for at in memchr::memchr_iter(b'?', self.sql.as_bytes()) {
            out.push_str(&self.sql[from..at]);
            let v = values.next().ok_or_else(|| mismatch(self.binds.len()))?;
            push_literal(&mut out, v);
            from = at + 1;
        }
        out.push_str(&self.sql[from..]);
        if values.next().is_some() {
            return Err(mismatch(self.binds.len()));
        }
        Ok(out)
    }

    /// Runs a `SELECT` into rows of `T` through a statement diesel prepares
    /// once per connection and keeps, sending only an execute with the
    /// values afterwards.
    ///
    /// Diesel keys its cache by the SQL text, so the caller keeps the number
    /// of distinct texts small: `IN` lists padded to [`cached_list_len`]
    /// (a few shapes a query), anything longer through [`Statement::load`].
    /// A recorder batch's reads take this path; each was a prepare, an
    /// execute and a parse on the server every time (docs/PERFORMANCE.md,
    /// session 30).
    ///
    /// # Errors
    /// The query error, or [`diesel::result::Error::QueryBuilderError`]
    /// when the number of values does not match the placeholders.
    pub fn load_cached<T>(&self, conn: &mut MysqlConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Mysql> + 'static,
    {
        CachedRead(self).load(conn)
    }

    /// [`Statement::load_cached`] when `cached` (the statement's lists came
    /// padded from [`read_list`]), else [`Statement::load`].
    ///
    /// # Errors
    /// As those two.
    pub fn read<T>(self, conn: &mut MysqlConnection, cached: bool) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Mysql> + 'static,
    {
        if cached {
            self.load_cached(conn)
        } else {
            self.load(conn)
        }
    }

    /// Runs a `SELECT` into rows of `T`.
    ///
    /// The values are rendered as literals here too. Diesel reads rows only
    /// through a prepared statement, and the server answers a prepare with
    /// one packet per placeholder: a batch's name lookup with 10,000 of them
    /// cost more in packets than in the lookup itself. Without placeholders
    /// the prepare's answer is the result's column list alone.
    ///
    /// # Errors
    /// The query error, or [`diesel::result::Error::QueryBuilderError`]
    /// when the number of values does not match the placeholders.
    pub fn load<T>(self, conn: &mut MysqlConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Mysql> + 'static,
    {
        diesel::sql_query(self.render()?).load(conn)
    }
}

fn mismatch(n: usize) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(
        format!("statement has a different number of placeholders than its {n} values").into(),
    )
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2 + 3);
    out.push_str("X'");
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out.push('\'');
}

/// A string literal that reads the same under any `sql_mode`: quotes are
/// doubled (`''` is a quote with and without `NO_BACKSLASH_ESCAPES`), and
/// a string holding a backslash or a NUL, whose meaning would depend on
/// the mode, is written as a hex literal instead.
pub(crate) fn push_quoted(out: &mut String, s: &str) {
    if s.contains(['\\', '\0']) {
        out.push_str("_utf8mb4 ");
        push_hex(out, s.as_bytes());
        return;
    }
    out.reserve(s.len() + 2);
    out.push('\'');
    for part in s.split_inclusive('\'') {
        out.push_str(part);
        if part.ends_with('\'') {
            out.push('\'');
        }
    }
    out.push('\'');
}

/// Pushes `n` as exactly `width` decimal digits (zero-padded; higher
/// digits dropped, which no date field here has).
fn push_padded(out: &mut String, n: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (n / 10u32.pow(place)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

// Integers and datetimes are written without `core::fmt`: a batch renders
// tens of thousands of them, and formatting machinery was a fifth of the
// recorder's instructions (callgrind, docs/PERFORMANCE.md).
fn push_literal(out: &mut String, v: &Val) {
    use std::fmt::Write as _;
    match v {
        Val::Null => out.push_str("NULL"),
        Val::U64(x) => out.push_str(itoa::Buffer::new().format(*x)),
        Val::I64(x) => out.push_str(itoa::Buffer::new().format(*x)),
        // Rust prints finite doubles without exponent, which MySQL parses
        // as an exact decimal; NaN and infinities have no SQL literal.
        Val::F64(x) if x.is_finite() => {
            let _ = write!(out, "{x:?}");
        }
        Val::F64(_) => out.push_str("NULL"),
        // An empty hex literal is an empty string either way.
        Val::Str(s) if s.is_empty() => out.push_str("''"),
        Val::Str(s) => push_quoted(out, s),
        Val::Bytes(b) if b.is_empty() => out.push_str("''"),
        Val::Bytes(b) => push_hex(out, b),
        Val::DateTime(t) => {
            out.push('\'');
            push_datetime(out, t);
            out.push('\'');
        }
    }
}

/// `t` as `YYYY-MM-DD hh:mm:ss`, unquoted.
pub(crate) fn push_datetime(out: &mut String, t: &PrimitiveDateTime) {
    use std::fmt::Write as _;
    // MySQL reads a year of 0000–9999 only; `time` allows more.
    let year = t.year();
    if (0..=9999).contains(&year) {
        push_padded(out, year.unsigned_abs(), 4);
    } else {
        let _ = write!(out, "{year:04}");
    }
    for (sep, n) in [
        ('-', u8::from(t.month())),
        ('-', t.day()),
        (' ', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        out.push(sep);
        push_padded(out, u32::from(n), 2);
    }
}

/// MySQL allows 65,535 placeholders per statement; stay below.
pub const MAX_BINDS: usize = 60_000;

/// Multi-row `INSERT` statements for `rows`, [`MAX_BINDS`] values at most
/// in each, with the values written into the text as literals (no
/// `binds`): building placeholders and scanning for them again cost the
/// recorder as much as writing the literals (callgrind,
/// docs/PERFORMANCE.md).
pub fn multi_insert(
    verb: &str,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Val>>,
) -> Vec<Statement> {
    insert_columns(verb, table, columns, &vec![true; columns.len()], rows)
}

/// The statements of [`multi_insert`] for the columns whose `present` is
/// true; the values of the other columns are skipped.
pub(crate) fn insert_columns(
    verb: &str,
    table: &str,
    columns: &[&str],
    present: &[bool],
    rows: Vec<Vec<Val>>,
) -> Vec<Statement> {
    let kept: Vec<&str> = columns
        .iter()
        .zip(present)
        .filter(|(_, p)| **p)
        .map(|(c, _)| *c)
        .collect();
    let rows_per_stmt = (MAX_BINDS / kept.len().max(1)).max(1);
    let head = format!("{verb} INTO {table} ({}) VALUES ", kept.join(","));
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = head.clone();
        for (i, row) in rows.by_ref().take(rows_per_stmt).enumerate() {
            debug_assert_eq!(row.len(), columns.len());
            sql.push_str(if i > 0 { ",(" } else { "(" });
            let mut first = true;
            for (v, _) in row.iter().zip(present).filter(|(_, p)| **p) {
                if !first {
                    sql.push(',');
                }
                first = false;
                push_literal(&mut sql, v);
            }
            sql.push(')');
        }
        out.push(Statement {
            sql,
            binds: Vec::new(),
        });
    }
    out
}

/// [`multi_insert`] without the columns that are NULL in every row, except
/// those in `keep`: columns whose default is not NULL, for which leaving
/// them out would store the default instead. Any other column left out
/// stores the NULL it would have been given. A log row has many columns
/// that most hits leave empty (custom variables, dimensions, page timings,
/// product and content ids: 38 of an action row's 51), and the server
/// parses every value it is sent: in the log import, where the server
/// parsing our inserts is the critical path, this is a large share of its
/// work.
pub fn multi_insert_sparse(
    verb: &str,
    table: &str,
    columns: &[&str],
    keep: &[&str],
    rows: Vec<Vec<Val>>,
) -> Vec<Statement> {
    let present = present_columns(columns, keep, &rows);
    insert_columns(verb, table, columns, &present, rows)
}

/// Which `columns` [`multi_insert_sparse`] writes for `rows`: those in
/// `keep` and those not NULL in some row.
pub fn present_columns(columns: &[&str], keep: &[&str], rows: &[Vec<Val>]) -> Vec<bool> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            keep.contains(column)
                || rows
                    .iter()
                    .any(|row| !matches!(row.get(i), Some(Val::Null)))
        })
        .collect()
}

/// `parts` (each a `SELECT` with its values) joined with `UNION ALL` into
/// as few statements as the placeholder limit allows, in order; each part
/// must fit in one statement on its own.
pub fn union_all(parts: Vec<Statement>) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut parts = parts.into_iter().peekable();
    while parts.peek().is_some() {
        let mut st = Statement::default();
        while let Some(part) = parts
            .next_if(|part| st.binds.is_empty() || st.binds.len() + part.binds.len() <= MAX_BINDS)
        {
            if !st.sql.is_empty() {
                st.sql.push_str(" UNION ALL ");
            }
            st.sql.push('(');
            st.sql.push_str(&part.sql);
            st.sql.push(')');
            st.binds.extend(part.binds);
        }
        out.push(st);
    }
    out
}

/// The most keys a read sends in one `IN` list (a part of a query, for
/// the visit and name lookups). Below 200, the default
/// `eq_range_index_dive_limit` of MariaDB and MySQL: from 200 values on the
/// server costs the list from the index statistics instead of looking each
/// key up, and the statistics of a table that grows fast (a new site, an
/// import into a fresh database) lag behind it. With statistics taken when
/// the table was nearly empty, a 280-key visit lookup read the site's whole
/// `index_idsite_datetime`, and a 5,000-name lookup the whole of
/// `log_action` (docs/PERFORMANCE.md, session 31).
pub const KEYS_PER_PART: usize = 128;

/// The longest `IN` list a cached read ([`Statement::load_cached`]) takes:
/// one part. Its texts are then at most eight a list (1, 2, 4 ... 128
/// values), and a recorder batch under load has a few dozen keys; the log
/// import's thousands go through literal statements, whose prepare costs
/// little next to their rows.
pub const CACHED_LIST_MAX: usize = KEYS_PER_PART;

/// The length a list of `n` values is padded to for a cached read (the
/// next power of two), or `None` when it is too long for one.
#[must_use]
pub fn cached_list_len(n: usize) -> Option<usize> {
    (n <= CACHED_LIST_MAX).then(|| n.next_power_of_two())
}

/// `values` padded to `len` by repeating the last one: an `IN` list that
/// matches the same rows with the text of a cached shape.
pub fn pad_list<T: Clone>(values: &mut Vec<T>, len: usize) {
    if let Some(last) = values.last().cloned() {
        values.resize(len.max(values.len()), last);
    }
}

/// `values` as the `IN` list of a read: padded to a cached shape when it
/// is short enough ([`cached_list_len`]), and whether it was (then read it
/// with [`Statement::read`]'s `cached`).
pub fn read_list<T: Clone>(values: &[T]) -> (Vec<T>, bool) {
    let mut list = values.to_vec();
    match cached_list_len(list.len()) {
        Some(len) => {
            pad_list(&mut list, len);
            (list, true)
        }
        None => (list, false),
    }
}

/// A [`Statement`] as a query diesel may cache: its values bound to its
/// placeholders rather than rendered, and its query id left dynamic so
/// that the cache key is the text (a static id would give every text the
/// same entry).
struct CachedRead<'a>(&'a Statement);

impl diesel::query_builder::QueryId for CachedRead<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for CachedRead<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<MysqlConnection> for CachedRead<'_> {}

impl diesel::query_builder::QueryFragment<Mysql> for CachedRead<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Mysql>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Binary, Datetime, Double, Nullable, Text, Unsigned};
        static NULL: Option<i64> = None;
        let st = self.0;
        let mut values = st.binds.iter();
        let mut from = 0;
        // `?` is ASCII, so its byte positions are char boundaries.
        for at in memchr::memchr_iter(b'?', st.sql.as_bytes()) {
            out.push_sql(&st.sql[from..at]);
            match values.next().ok_or_else(|| mismatch(st.binds.len()))? {
                Val::Null => out.push_bind_param::<Nullable<BigInt>, _>(&NULL)?,
                Val::U64(v) => out.push_bind_param::<Unsigned<BigInt>, _>(v)?,
                Val::I64(v) => out.push_bind_param::<BigInt, _>(v)?,
                Val::F64(v) => out.push_bind_param::<Double, _>(v)?,
                Val::Str(v) => out.push_bind_param::<Text, _>(v)?,
                Val::Bytes(v) => out.push_bind_param::<Binary, _>(v)?,
                Val::DateTime(v) => out.push_bind_param::<Datetime, _>(v)?,
            }
            from = at + 1;
        }
        out.push_sql(&st.sql[from..]);
        if values.next().is_some() {
            return Err(mismatch(st.binds.len()));
        }
        Ok(())
    }
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

/// Most rows for [`case_update`]: each of its `CASE`s lists every row, so
/// the server's work for it grows with the square of the rows; past about
/// this many the derived table of [`values_table`] costs less.
pub const CASE_UPDATE_MAX_ROWS: usize = 32;

/// A single-table `UPDATE table v SET {set} WHERE v.key IN (...)` of a few
/// rows by key (`columns[0]`), where each `u.<column>` of `set` stands for
/// the row's value of that column, chosen by a `CASE v.key WHEN ? THEN ?
/// ... END`.
///
/// For the few continuing visits of a tracker batch this costs the server
/// a fifth to a third less than `UPDATE ... JOIN` of a derived table of the
/// same rows ([`values_table`]), which builds, fills and joins a temporary
/// table (a micro-benchmark, docs/PERFORMANCE.md). Keep it to
/// [`CASE_UPDATE_MAX_ROWS`] rows.
///
/// # Errors
/// [`diesel::result::Error::QueryBuilderError`] when `set` names a column
/// that is not in `columns`, or a row has a value count other than
/// `columns`'.
pub fn case_update(
    table: &str,
    columns: &[&str],
    set: &str,
    rows: &[Vec<Val>],
) -> QueryResult<Statement> {
    let builder_error = |m: String| diesel::result::Error::QueryBuilderError(m.into());
    let Some(key) = columns.first() else {
        return Err(builder_error("an update needs a key column".into()));
    };
    if rows.is_empty() {
        // `IN ()` is not SQL.
        return Err(builder_error("an update of no rows".into()));
    }
    if let Some(row) = rows.iter().find(|r| r.len() != columns.len()) {
        return Err(builder_error(format!(
            "an update row has {} values for {} columns",
            row.len(),
            columns.len()
        )));
    }
    let mut st = Statement {
        sql: format!("UPDATE {table} v SET "),
        binds: Vec::new(),
    };
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = set.as_bytes();
    let mut from = 0;
    let mut at = 0;
    while let Some(found) = set[at..].find("u.") {
        let start = at + found;
        at = start + 2;
        // `u.` inside a longer name (`menu.x`) is not the alias.
        if start > 0 && is_ident(bytes[start - 1]) {
            continue;
        }
        let end = at + bytes[at..].iter().take_while(|b| is_ident(**b)).count();
        let name = &set[at..end];
        let j = columns
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| builder_error(format!("the update sets from u.{name}, not a column")))?;
        st.sql.push_str(&set[from..start]);
        st.sql.push_str("CASE v.");
        st.sql.push_str(key);
        for row in rows {
            st.sql.push_str(" WHEN ? THEN ?");
            st.binds.push(row[0].clone());
            st.binds.push(row[j].clone());
        }
        st.sql.push_str(" END");
        from = end;
        at = end;
    }
    st.sql.push_str(&set[from..]);
    st.sql.push_str(" WHERE v.");
    st.sql.push_str(key);
    st.sql.push_str(" IN (");
    for (i, row) in rows.iter().enumerate() {
        st.sql.push_str(if i == 0 { "?" } else { ",?" });
        st.binds.push(row[0].clone());
    }
    st.sql.push(')');
    Ok(st)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The statements this connection has prepared so far (the status
    /// query included): what a cached statement must not add to.
    pub(crate) fn session_prepares(conn: &mut MysqlConnection) -> anyhow::Result<u64> {
        #[derive(QueryableByName)]
        struct Status {
            #[diesel(sql_type = diesel::sql_types::Text)]
            #[diesel(column_name = Value)]
            value: String,
        }
        let s: Status =
            diesel::sql_query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'").get_result(conn)?;
        Ok(s.value.parse()?)
    }

    #[test]
    fn sparse_inserts_leave_out_only_columns_null_in_every_row() -> QueryResult<()> {
        let rows = vec![
            vec![Val::from(1u64), Val::Null, Val::Null, Val::Null],
            vec![Val::from(2u64), Val::Null, Val::from("x"), Val::Null],
        ];
        let st = multi_insert_sparse("INSERT", "t", &["a", "b", "c", "d"], &["d"], rows);
        assert_eq!(st.len(), 1);
        assert_eq!(
            st[0].render()?,
            "INSERT INTO t (a,c,d) VALUES (1,NULL,NULL),(2,'x',NULL)"
        );
        Ok(())
    }

    #[test]
    fn inserts_are_split_under_the_placeholder_limit() {
        let rows: Vec<Vec<Val>> = (0..25_000u64)
            .map(|i| vec![i.into(), Val::Null, "x".into()])
            .collect();
        let st = multi_insert("INSERT", "t", &["a", "b", "c"], rows);
        assert_eq!(st.len(), 2);
        // 20,000 rows of three values, then the other 5,000.
        assert_eq!(st[0].sql.matches(",NULL,'x')").count(), 20_000);
        assert_eq!(st[1].sql.matches(",NULL,'x')").count(), 5_000);
        assert!(
            st[0]
                .sql
                .starts_with("INSERT INTO t (a,b,c) VALUES (0,NULL,'x'),(1,NULL,'x')")
        );
        assert!(
            st[1]
                .sql
                .starts_with("INSERT INTO t (a,b,c) VALUES (20000,NULL,'x')")
        );
        assert!(st.iter().all(|s| s.binds.is_empty()));
    }

    #[test]
    fn written_inserts_keep_question_marks_in_values() -> QueryResult<()> {
        let st = multi_insert("INSERT", "t", &["u"], vec![vec!["/?q=1".into()]]);
        assert_eq!(st[0].render()?, "INSERT INTO t (u) VALUES ('/?q=1')");
        let st = multi_insert("INSERT", "t", &["u"], vec![vec!["?".into()]]);
        assert_eq!(
            st.into_iter().next().map(Statement::into_sql).transpose()?,
            Some("INSERT INTO t (u) VALUES ('?')".to_owned())
        );
        Ok(())
    }

    #[test]
    fn cached_lists_take_few_shapes() {
        assert_eq!(cached_list_len(1), Some(1));
        assert_eq!(cached_list_len(3), Some(4));
        assert_eq!(cached_list_len(17), Some(32));
        assert_eq!(cached_list_len(CACHED_LIST_MAX), Some(CACHED_LIST_MAX));
        assert_eq!(cached_list_len(CACHED_LIST_MAX + 1), None);
        let mut v = vec![1, 2, 3];
        pad_list(&mut v, 4);
        assert_eq!(v, [1, 2, 3, 3]);
        pad_list(&mut v, 2);
        assert_eq!(v, [1, 2, 3, 3], "never shortened");
        let mut empty: Vec<u8> = Vec::new();
        pad_list(&mut empty, 4);
        assert!(empty.is_empty());
        assert_eq!(read_list(&[7, 8, 9]), (vec![7, 8, 9, 9], true));
        let long: Vec<u32> = (0..300).collect();
        assert_eq!(read_list(&long), (long.clone(), false));
    }

    /// A cached read binds every kind of value as the literal read renders
    /// it, and is prepared once for its text.
    #[test]
    fn cached_reads_match_literal_reads_and_prepare_once() -> anyhow::Result<()> {
        #[derive(QueryableByName, Debug, PartialEq)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
            idaction: u32,
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        use session_prepares as prepares;
        let db = tally_db::test_support::TestDb::new()?;
        let mut conn = db.conn()?;
        let names = ["a'b\\c", "plain", "é?", "other"];
        for st in multi_insert(
            "INSERT",
            "log_action",
            &["name", "hash", "type"],
            names
                .iter()
                .map(|n| vec![Val::from(*n), Val::from(1u64), Val::from(1u64)])
                .collect(),
        ) {
            st.execute(&mut conn)?;
        }
        let read = |wanted: &[&str]| {
            let mut list: Vec<&str> = wanted.to_vec();
            let len = cached_list_len(list.len()).unwrap_or(list.len());
            pad_list(&mut list, len);
            let mut binds: Vec<Val> = list.iter().map(|n| Val::from(*n)).collect();
            binds.extend([
                Val::from(1u64),
                Val::from(-1i64),
                Val::Null,
                Val::from(2.5f64),
                Val::from(time::macros::datetime!(2000-01-01 00:00:00)),
                Val::from(vec![0u8, 255]),
            ]);
            Statement {
                sql: format!(
                    "SELECT idaction, name FROM log_action WHERE name IN ({}) AND type = ? \
                     AND CAST(idaction AS SIGNED) > ? AND ? IS NULL AND ? > 0.5 \
                     AND ? < NOW() AND ? = X'00FF' ORDER BY idaction",
                    vec!["?"; list.len()].join(",")
                ),
                binds,
            }
        };
        let st = read(&["a'b\\c", "é?", "missing"]);
        let cached: Vec<Row> = st.load_cached(&mut conn)?;
        let literal: Vec<Row> = st.clone().load(&mut conn)?;
        assert_eq!(cached, literal);
        let got: Vec<&str> = cached.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(got, ["a'b\\c", "é?"]);
        // Other values, same text: executed, not prepared again (the
        // status query is the one prepare).
        let before = prepares(&mut conn)?;
        let again: Vec<Row> = read(&["plain", "other", "missing"]).load_cached(&mut conn)?;
        assert_eq!(prepares(&mut conn)? - before, 1);
        let got: Vec<&str> = again.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(got, ["plain", "other"]);
        let short = Statement {
            sql: "SELECT ?, ?".into(),
            binds: vec![1u64.into()],
        };
        assert!(short.load_cached::<Row>(&mut conn).is_err());
        Ok(())
    }

    #[test]
    fn literals_read_the_same_under_any_sql_mode() {
        let t = time::macros::datetime!(2026-11-24 09:20:05);
        let st = Statement {
            sql: "INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?)".into(),
            binds: vec![
                Val::Null,
                7u64.into(),
                (-3i64).into(),
                2.5f64.into(),
                f64::NAN.into(),
                "a'b\\c".into(),
                vec![0u8, 255].into(),
                t.into(),
                "".into(),
            ],
        };
        assert_eq!(
            st.render().unwrap(),
            "INSERT INTO t VALUES (NULL,7,-3,2.5,NULL,_utf8mb4 X'6127625C63',X'00FF','2026-11-24 09:20:05','')"
        );
        // Quotes are doubled; a `?` inside a value is not a placeholder;
        // a backslash or a NUL makes the string a hex literal.
        let quoted = Statement {
            sql: "SELECT ?, ?, ?, ?".into(),
            binds: vec![
                "it's ''x'' \"y\"\n\r\x1a?é".into(),
                "'".into(),
                "nul\0".into(),
                1u64.into(),
            ],
        };
        assert_eq!(
            quoted.render().unwrap(),
            "SELECT 'it''s ''''x'''' \"y\"\n\r\x1a?é', '''', _utf8mb4 X'6E756C00', 1"
        );
        let short = Statement {
            sql: "SELECT ?, ?".into(),
            binds: vec![1u64.into()],
        };
        assert!(short.render().is_err());
        // Integer extremes and a date whose fields need zero padding.
        let padded = Statement {
            sql: "SELECT ?, ?, ?".into(),
            binds: vec![
                u64::MAX.into(),
                i64::MIN.into(),
                time::macros::datetime!(0987-01-02 03:04:05).into(),
            ],
        };
        assert_eq!(
            padded.render().unwrap(),
            "SELECT 18446744073709551615, -9223372036854775808, '0987-01-02 03:04:05'"
        );
        let long = Statement {
            sql: "SELECT ?".into(),
            binds: vec![1u64.into(), 2u64.into()],
        };
        assert!(long.render().is_err());
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
