//! A key/value option (`option`).

use diesel::prelude::*;

use crate::schema::option;

/// A row of `option`: a key/value option (`option`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = option, check_for_backend(diesel::mysql::Mysql))]
pub struct OptionEntry {
    pub option_name: String,
    pub option_value: String,
    pub autoload: i8,
}

/// A new row of `option`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = option, check_for_backend(diesel::mysql::Mysql))]
pub struct NewOptionEntry<'a> {
    pub option_name: &'a str,
    pub option_value: &'a str,
    pub autoload: i8,
}
