//! Keeps `crates/tally-schema/src/schema.rs` in step with the migrations.
//!
//! We generate `schema.rs` ourselves from `information_schema` of a freshly
//! migrated database instead of running `diesel print-schema`, because
//! Matomo's schema needs two things print-schema cannot express:
//! - `TINYINT(1)` holds small integers in Matomo (`visit_goal_buyer` is 0-3,
//!   `referer_type` 1-7), not booleans: it maps to `TinyInt`, never `Bool`;
//! - `log_visit` has 70 columns; each log table's optional custom-variable
//!   columns go to a second view (`<table>_custom_var`, same SQL table) so
//!   that every `table!` fits diesel's 64-column limit.
//!
//! The test fails when the file differs; `TALLY_BLESS=1` rewrites it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use tally_db::test_support::TestDb;

use crate::support::{ColumnInfo, columns, indexes};

/// Tables whose `custom_var_*` columns live in a separate view.
const SPLIT_CUSTOM_VARS: &[&str] = &["log_visit", "log_link_visit_action", "log_conversion"];

const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

#[test]
fn schema_rs_matches_the_migrations() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let generated = render(&columns(&mut conn)?, &primary_keys(&mut conn)?)?;

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tally-schema/src/schema.rs");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("TALLY_BLESS").is_some() {
        std::fs::write(&path, &generated)?;
        return Ok(());
    }
    assert!(
        current == generated,
        "{} is out of date with the migrations; regenerate it with\n  \
         TALLY_BLESS=1 cargo test -p tally-db --test integration schema_rs",
        path.display()
    );
    Ok(())
}

fn primary_keys(
    conn: &mut diesel::MysqlConnection,
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ix in indexes(conn)? {
        if ix.index_name == "PRIMARY" {
            keys.entry(ix.table_name).or_default().push(ix.column_name);
        }
    }
    Ok(keys)
}

fn render(
    columns: &[ColumnInfo],
    primary_keys: &BTreeMap<String, Vec<String>>,
) -> anyhow::Result<String> {
    let mut by_table: BTreeMap<&str, Vec<&ColumnInfo>> = BTreeMap::new();
    for c in columns {
        by_table.entry(&c.table_name).or_default().push(c);
    }
    let mut out = String::from(
        "// @generated from the migrations by crates/tally-db/tests/it/schema_rs.rs: do not edit.\n\
         // Regenerate: TALLY_BLESS=1 cargo test -p tally-db --test integration schema_rs\n",
    );
    let mut names = Vec::new();
    for (table, cols) in &by_table {
        let pk = primary_keys
            .get(*table)
            .ok_or_else(|| anyhow::anyhow!("table {table} has no primary key"))?;
        let is_split = SPLIT_CUSTOM_VARS.contains(table);
        let (custom, main): (Vec<&ColumnInfo>, Vec<&ColumnInfo>) = cols
            .iter()
            .partition(|c| is_split && c.column_name.starts_with("custom_var_"));
        render_table(&mut out, table, table, pk, &main)?;
        names.push((*table).to_owned());
        if !custom.is_empty() {
            let view = format!("{table}_custom_var");
            let keyed: Vec<&ColumnInfo> = cols
                .iter()
                .filter(|c| pk.contains(&c.column_name))
                .chain(custom.iter())
                .copied()
                .collect();
            render_table(&mut out, table, &view, pk, &keyed)?;
            names.push(view);
        }
    }
    out.push_str("\ndiesel::allow_tables_to_appear_in_same_query!(\n");
    for name in &names {
        let _ = writeln!(out, "    {name},");
    }
    out.push_str(");\n");
    Ok(out)
}

fn render_table(
    out: &mut String,
    sql_name: &str,
    rust_name: &str,
    pk: &[String],
    cols: &[&ColumnInfo],
) -> anyhow::Result<()> {
    anyhow::ensure!(
        cols.len() <= 64,
        "{rust_name} has {} columns (limit 64)",
        cols.len()
    );
    out.push_str("\ndiesel::table! {\n");
    if sql_name != rust_name {
        let _ = writeln!(
            out,
            "    /// The custom-variable columns of `{sql_name}` (optional CustomVariables plugin)."
        );
        let _ = writeln!(out, "    #[sql_name = \"{sql_name}\"]");
    }
    let pk_idents: Vec<String> = pk.iter().map(|c| ident(sql_name, c)).collect();
    let _ = writeln!(out, "    {rust_name} ({}) {{", pk_idents.join(", "));
    for c in cols {
        let ty = sql_type(c)?;
        let id = ident(sql_name, &c.column_name);
        if id != c.column_name {
            let _ = writeln!(out, "        #[sql_name = \"{}\"]", c.column_name);
        }
        let sized = matches!(
            c.data_type.as_str(),
            "varchar" | "char" | "binary" | "varbinary"
        );
        if let (true, Some(len)) = (sized, c.character_maximum_length) {
            let _ = writeln!(out, "        #[max_length = {len}]");
        }
        let _ = writeln!(out, "        {id} -> {ty},");
    }
    out.push_str("    }\n}\n");
    Ok(())
}

/// Rust identifier for a column: keywords and the table's own name get a `_`
/// suffix (a column named like its table would clash with the table in `dsl`).
fn ident(table: &str, column: &str) -> String {
    if RUST_KEYWORDS.contains(&column) || column == table {
        format!("{column}_")
    } else {
        column.to_owned()
    }
}

fn sql_type(c: &ColumnInfo) -> anyhow::Result<String> {
    let unsigned = c.column_type.contains("unsigned");
    let base = match c.data_type.as_str() {
        "tinyint" => "TinyInt",
        "smallint" => "SmallInt",
        // diesel has no MEDIUMINT type; MySQL sends it as INT24, which
        // diesel reads as Integer.
        "mediumint" | "int" => "Integer",
        "bigint" => "BigInt",
        "double" => "Double",
        "float" => "Float",
        "decimal" => "Numeric",
        "varchar" | "char" => "Varchar",
        "text" | "mediumtext" | "longtext" => "Text",
        "binary" | "varbinary" => "Binary",
        "blob" | "mediumblob" | "longblob" => "Blob",
        "datetime" => "Datetime",
        "timestamp" => "Timestamp",
        "date" => "Date",
        "time" => "Time",
        other => anyhow::bail!(
            "no diesel type for {}.{}: {other}",
            c.table_name,
            c.column_name
        ),
    };
    let ty = if unsigned {
        format!("Unsigned<{base}>")
    } else {
        base.to_owned()
    };
    Ok(if c.is_nullable == "YES" {
        format!("Nullable<{ty}>")
    } else {
        ty
    })
}
