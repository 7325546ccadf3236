//! Resolving action names and URLs to `log_action.idaction`, in batches.
//!
//! DESIGN.md section 2: `log_action` is indexed by `(type, hash)` where
//! `hash = CRC32(name)`. A batch costs one `SELECT` for all its names and at
//! most one multi-row `INSERT` for the missing ones. Names are compared in
//! Rust, byte for byte: CRC32 collides, and the column's case-insensitive
//! collation would make `name = ?` match `/Page` for `/page`.

use crate::{FastMap as HashMap, FastSet as HashSet};

use diesel::prelude::*;
use tally_schema::ActionType;

use crate::action_hash;

/// One name to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionKey<'a> {
    /// What the name is.
    pub action_type: ActionType,
    /// The stored name (normalized URL without prefix, title, keyword...).
    pub name: &'a str,
    /// For page URLs, the `url_prefix` id stored with a new row.
    pub url_prefix: Option<i8>,
}

/// Returns the `idaction` of every key, in order, inserting the missing ones.
///
/// Call it inside the caller's transaction so that the new rows commit with
/// the actions that reference them. Two processes may insert the same name
/// at once (as in Matomo); each uses the id it inserted, and later lookups
/// take the lowest.
///
/// # Errors
/// The query error.
pub fn resolve_actions(
    conn: &mut MysqlConnection,
    keys: &[ActionKey<'_>],
) -> QueryResult<Vec<u32>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = lookup(conn, keys)?;
    let mut missing_keys: Vec<ActionKey<'_>> = Vec::new();
    let mut seen = HashSet::default();
    for key in keys {
        let k = (key.action_type.code(), key.name);
        if !found.contains_key(&(k.0, key.name.to_owned())) && seen.insert(k) {
            missing_keys.push(*key);
        }
    }
    let mut rest = &missing_keys[..];
    while !rest.is_empty() {
        // Names are rendered into the statement: keep each well under the
        // server's default 16 MB packet limit.
        let mut bytes = 0;
        let n = rest
            .iter()
            .take_while(|k| {
                bytes += k.name.len() + 32;
                bytes < 4 << 20
            })
            .count()
            .max(1);
        let (chunk, tail) = rest.split_at(n);
        match insert_consecutive(conn, chunk)? {
            Some(ids) => found.extend(ids),
            None => found.extend(lookup(conn, chunk)?),
        }
        rest = tail;
    }
    keys.iter()
        .map(|key| {
            found
                .get(&(key.action_type.code(), key.name.to_owned()))
                .copied()
                .ok_or(diesel::result::Error::NotFound)
        })
        .collect()
}

/// Inserts `missing` and returns their ids when they are
/// known without reading them back: with InnoDB's "consecutive"
/// auto-increment locking (modes 0 and 1; 1 is MariaDB's default) a
/// multi-row `INSERT ... VALUES` takes consecutive ids, spaced by
/// `auto_increment_increment`, from `LAST_INSERT_ID()` on. `None` under
/// interleaved locking (mode 2, MySQL 8's default), where the caller reads
/// them back.
fn insert_consecutive(
    conn: &mut MysqlConnection,
    missing: &[ActionKey<'_>],
) -> QueryResult<Option<HashMap<(u8, String), u32>>> {
    const COLUMNS: [&str; 4] = ["name", "hash", "type", "url_prefix"];
    let mut out = HashMap::with_capacity_and_hasher(missing.len(), Default::default());
    let mut read_back = false;
    // As many rows as `multi_insert` puts in one statement, so that each
    // chunk is one statement whose ids start at its LAST_INSERT_ID().
    for chunk in missing.chunks(crate::sql::MAX_BINDS / COLUMNS.len()) {
        let rows: Vec<Vec<crate::sql::Val>> = chunk
            .iter()
            .map(|key| {
                vec![
                    key.name.into(),
                    action_hash(key.name).into(),
                    key.action_type.code().into(),
                    key.url_prefix.map(i32::from).into(),
                ]
            })
            .collect();
        let statements = crate::sql::multi_insert("INSERT", "log_action", &COLUMNS, rows);
        let [st] = <[_; 1]>::try_from(statements).map_err(|s| {
            diesel::result::Error::QueryBuilderError(
                format!(
                    "{} rows of log_action names became {} statements",
                    chunk.len(),
                    s.len()
                )
                .into(),
            )
        })?;
        let n = chunk.len();
        let inserted = diesel::sql_query(st.into_sql()?).execute(conn)?;
        let (first, step, mode) = insert_id_and_spacing(conn)?;
        if mode == 2 || inserted != n {
            // The later chunks are still inserted: the caller reads them
            // all back.
            read_back = true;
            continue;
        }
        for (i, key) in chunk.iter().enumerate() {
            let id = u32::try_from(first + i as u64 * step)
                .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
            out.insert((key.action_type.code(), key.name.to_owned()), id);
        }
    }
    Ok((!read_back).then_some(out))
}

/// `LAST_INSERT_ID()`, `@@auto_increment_increment` and
/// `@@innodb_autoinc_lock_mode`, read after every insert of names: the
/// spacing is a session setting (Galera changes it when nodes join or
/// leave), so it is never assumed.
fn insert_id_and_spacing(conn: &mut MysqlConnection) -> QueryResult<(u64, u64, i64)> {
    InsertIdAndSpacing.get_result(conn)
}

/// The fixed query of [`insert_id_and_spacing`] as a query type of its
/// own: diesel prepares a statement whose type has a static query id once
/// per connection and keeps it, so a batch with new names sends only an
/// execute. Through `sql_query` (or a `sql` literal) it was prepared anew
/// for every batch: a round trip and a parse on the server (the bench's
/// "protocol commands" line, docs/PERFORMANCE.md).
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
struct InsertIdAndSpacing;

impl diesel::query_builder::QueryFragment<diesel::mysql::Mysql> for InsertIdAndSpacing {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::mysql::Mysql>,
    ) -> QueryResult<()> {
        out.push_sql(
            "SELECT LAST_INSERT_ID(), @@auto_increment_increment, @@innodb_autoinc_lock_mode",
        );
        Ok(())
    }
}

impl diesel::query_builder::Query for InsertIdAndSpacing {
    type SqlType = (
        diesel::sql_types::Unsigned<diesel::sql_types::BigInt>,
        diesel::sql_types::Unsigned<diesel::sql_types::BigInt>,
        diesel::sql_types::BigInt,
    );
}

impl RunQueryDsl<MysqlConnection> for InsertIdAndSpacing {}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::Integer>)]
    idaction: u32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Unsigned<diesel::sql_types::TinyInt>>)]
    #[diesel(column_name = type_)]
    ty: Option<u8>,
}

fn lookup(
    conn: &mut MysqlConnection,
    keys: &[ActionKey<'_>],
) -> QueryResult<HashMap<(u8, String), u32>> {
    // `(type, hash) IN ((?, ?), ...)`: point lookups on `index_type_hash`
    // (from 1,000 values MariaDB would turn the list into a join with a
    // table of values, costed from the statistics: the parts below stay
    // shorter). A `type IN (..) AND hash IN (..)` form was read as a range over whole
    // types, and one `OR` per pair cost more to optimize than to run
    // (measured with the tracker benchmark, docs/PERFORMANCE.md).
    let mut pairs: Vec<(u8, u32)> = keys
        .iter()
        .map(|k| (k.action_type.code(), action_hash(k.name)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut rows: Vec<(u32, Option<String>, Option<u8>)> = Vec::new();
    if pairs.is_empty() {
        return Ok(HashMap::default());
    }
    // Parts short enough to be looked up pair by pair whatever the index
    // statistics say (`sql::KEYS_PER_PART`). A recorder batch's few pairs,
    // one part padded to a cached shape, are only executed; an import's
    // thousands are rendered, their parts joined by `UNION ALL` (see
    // `Statement::load_cached`).
    let single = pairs.len() <= crate::sql::KEYS_PER_PART;
    let part = |chunk: &[(u8, u32)]| {
        let mut st = crate::sql::Statement {
            sql: format!(
                "SELECT idaction, name, type AS type_ FROM log_action WHERE (type, hash) IN ({})",
                vec!["(?,?)"; chunk.len()].join(",")
            ),
            binds: Vec::with_capacity(chunk.len() * 2),
        };
        for (ty, hash) in chunk {
            st.binds.push((*ty).into());
            st.binds.push((*hash).into());
        }
        st
    };
    let statements = if single {
        let (chunk, _) = crate::sql::read_list(&pairs);
        vec![part(&chunk)]
    } else {
        crate::sql::union_all(pairs.chunks(crate::sql::KEYS_PER_PART).map(part).collect())
    };
    for st in statements {
        rows.extend(
            st.read::<Found>(conn, single)?
                .into_iter()
                .map(|f| (f.idaction, f.name, f.ty)),
        );
    }
    rows.sort_unstable_by_key(|r| r.0);
    let mut found = HashMap::default();
    for (id, name, ty) in rows {
        if let (Some(name), Some(ty)) = (name, ty) {
            // Ascending ids: keep the first (lowest) of any duplicates.
            found.entry((ty, name)).or_insert(id);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_db::test_support::TestDb;
    use tally_schema::schema::log_action;

    /// The id read after an insert of names is prepared once per
    /// connection, not once a batch.
    #[test]
    fn the_insert_id_query_is_prepared_once_per_connection() -> anyhow::Result<()> {
        use crate::sql::tests::session_prepares as prepares;
        let db = TestDb::new()?;
        let mut conn = db.conn()?;
        let key = |name| ActionKey {
            action_type: ActionType::PageTitle,
            name,
            url_prefix: None,
        };
        insert_consecutive(&mut conn, &[key("first")])?;
        let before = prepares(&mut conn)?;
        let ids = insert_consecutive(&mut conn, &[key("second"), key("third")])?;
        // The status query itself is one prepare, and the insert one more
        // (its values are in its text); the id query none.
        assert_eq!(prepares(&mut conn)? - before, 2);
        let (first, step, _) = insert_id_and_spacing(&mut conn)?;
        assert_eq!(step, 1);
        let ids = ids.ok_or_else(|| anyhow::anyhow!("consecutive locking expected"))?;
        assert_eq!(
            ids.get(&(ActionType::PageTitle.code(), "second".to_owned())),
            Some(&u32::try_from(first)?)
        );
        assert_eq!(
            ids.get(&(ActionType::PageTitle.code(), "third".to_owned())),
            Some(&u32::try_from(first + 1)?)
        );
        Ok(())
    }

    /// The ids computed from `LAST_INSERT_ID()` are those a lookup reads.
    #[test]
    fn new_names_get_the_ids_a_lookup_reads_back() -> anyhow::Result<()> {
        let db = TestDb::new()?;
        let mut conn = db.conn()?;
        let keys: Vec<ActionKey<'_>> = ["example.org/a", "example.org/A", "it's \\ odd\0"]
            .iter()
            .map(|name| ActionKey {
                action_type: ActionType::PageUrl,
                name,
                url_prefix: Some(1),
            })
            .collect();
        let first = insert_consecutive(&mut conn, &keys[..1])?;
        // Another writer's row between ours: ids need not follow on.
        diesel::sql_query("INSERT INTO log_action (name, hash, type) VALUES ('x', 1, 1)")
            .execute(&mut conn)?;
        let rest = insert_consecutive(&mut conn, &keys[1..])?;
        let (Some(first), Some(rest)) = (first, rest) else {
            anyhow::bail!("MariaDB's default auto-increment locking is consecutive");
        };
        assert_eq!(first.len() + rest.len(), 3);
        let all = lookup(&mut conn, &keys)?;
        assert_eq!(all.len(), 3);
        for (k, id) in first.iter().chain(&rest) {
            assert_eq!(all.get(k), Some(id), "{k:?}");
        }
        let prefixes: Vec<Option<i8>> = log_action::table
            .select(log_action::url_prefix)
            .load(&mut conn)?;
        assert_eq!(prefixes, [Some(1), None, Some(1), Some(1)]);
        Ok(())
    }
}
