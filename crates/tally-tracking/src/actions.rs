//! Resolving action names and URLs to `log_action.idaction`, in batches.
//!
//! DESIGN.md section 2: `log_action` is indexed by `(type, hash)` where
//! `hash = CRC32(name)`. A batch costs one `SELECT` for all its names and at
//! most one multi-row `INSERT` for the missing ones. Names are compared in
//! Rust, byte for byte: CRC32 collides, and the column's case-insensitive
//! collation would make `name = ?` match `/Page` for `/page`.

use std::collections::HashMap;

use diesel::prelude::*;
use tally_schema::ActionType;
use tally_schema::models::NewLogAction;
use tally_schema::schema::log_action;

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
/// at once (as in Matomo); the lowest id wins for later lookups.
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
    let mut missing: Vec<NewLogAction<'_>> = Vec::new();
    let mut missing_keys: Vec<ActionKey<'_>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        let k = (key.action_type.code(), key.name);
        if !found.contains_key(&(k.0, key.name.to_owned())) && seen.insert(k) {
            missing_keys.push(*key);
            missing.push(NewLogAction {
                name: Some(key.name),
                hash: action_hash(key.name),
                type_: Some(key.action_type.code()),
                url_prefix: key.url_prefix,
            });
        }
    }
    if !missing.is_empty() {
        // Four placeholders a row: a log import batch of tens of thousands
        // of new URLs would pass MySQL's limit of 65,535 in one statement.
        for chunk in missing.chunks(crate::sql::MAX_BINDS / 4) {
            diesel::insert_into(log_action::table)
                .values(chunk)
                .execute(conn)?;
        }
        // Read the ids back rather than trusting LAST_INSERT_ID() + n: with
        // interleaved auto-increment locking a multi-row insert need not get
        // consecutive ids. Only the inserted names: the others were found
        // above, and a log import batch mostly holds names seen before.
        found.extend(lookup(conn, &missing_keys)?);
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

fn lookup(
    conn: &mut MysqlConnection,
    keys: &[ActionKey<'_>],
) -> QueryResult<HashMap<(u8, String), u32>> {
    // `(type, hash) IN ((?, ?), ...)`: point lookups on `index_type_hash`
    // (MariaDB turns long IN lists into a join with a table of values). A
    // `type IN (..) AND hash IN (..)` form was read as a range over whole
    // types, and one `OR` per pair cost more to optimize than to run
    // (measured with the tracker benchmark, docs/PERFORMANCE.md).
    let mut pairs: Vec<(u8, u32)> = keys
        .iter()
        .map(|k| (k.action_type.code(), action_hash(k.name)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
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
    let mut rows: Vec<(u32, Option<String>, Option<u8>)> = Vec::new();
    // Two placeholders per pair; stay far below MySQL's 65,535.
    for chunk in pairs.chunks(5_000) {
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
        rows.extend(
            st.load::<Found>(conn)?
                .into_iter()
                .map(|f| (f.idaction, f.name, f.ty)),
        );
    }
    rows.sort_unstable_by_key(|r| r.0);
    let mut found = HashMap::new();
    for (id, name, ty) in rows {
        if let (Some(name), Some(ty)) = (name, ty) {
            // Ascending ids: keep the first (lowest) of any duplicates.
            found.entry((ty, name)).or_insert(id);
        }
    }
    Ok(found)
}
