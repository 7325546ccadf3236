//! Small helpers shared by these tests.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
pub(crate) struct ColumnInfo {
    #[diesel(sql_type = Text)]
    pub(crate) table_name: String,
    #[diesel(sql_type = Text)]
    pub(crate) column_name: String,
    #[diesel(sql_type = Text)]
    pub(crate) data_type: String,
    #[diesel(sql_type = Text)]
    pub(crate) column_type: String,
    #[diesel(sql_type = Text)]
    pub(crate) is_nullable: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) column_default: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) character_maximum_length: Option<i64>,
}

/// Every column of the current database, in table then ordinal order.
pub(crate) fn columns(conn: &mut MysqlConnection) -> QueryResult<Vec<ColumnInfo>> {
    diesel::sql_query(
        "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, DATA_TYPE AS data_type,
                COLUMN_TYPE AS column_type, IS_NULLABLE AS is_nullable,
                COLUMN_DEFAULT AS column_default,
                CAST(CHARACTER_MAXIMUM_LENGTH AS SIGNED) AS character_maximum_length
         FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE '\\_\\_%'
         ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )
    .load(conn)
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
pub(crate) struct IndexColumn {
    #[diesel(sql_type = Text)]
    pub(crate) table_name: String,
    #[diesel(sql_type = Text)]
    pub(crate) index_name: String,
    #[diesel(sql_type = BigInt)]
    pub(crate) non_unique: i64,
    #[diesel(sql_type = Text)]
    pub(crate) column_name: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) sub_part: Option<i64>,
}

/// Every index column of the current database, in table, index, position order.
pub(crate) fn indexes(conn: &mut MysqlConnection) -> QueryResult<Vec<IndexColumn>> {
    diesel::sql_query(
        "SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name,
                CAST(NON_UNIQUE AS SIGNED) AS non_unique, COLUMN_NAME AS column_name,
                CAST(SUB_PART AS SIGNED) AS sub_part
         FROM information_schema.STATISTICS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE '\\_\\_%'
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    )
    .load(conn)
}
