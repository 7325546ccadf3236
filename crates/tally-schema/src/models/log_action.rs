//! An action name or URL (`log_action`).

use diesel::prelude::*;

use crate::schema::log_action;

/// A row of `log_action`: an action name or URL (`log_action`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = log_action, check_for_backend(diesel::mysql::Mysql))]
pub struct LogAction {
    pub idaction: u32,
    pub name: Option<String>,
    pub hash: u32,
    pub type_: Option<u8>,
    pub url_prefix: Option<i8>,
}

/// A new row of `log_action` (the id comes from AUTO_INCREMENT).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = log_action, check_for_backend(diesel::mysql::Mysql))]
pub struct NewLogAction<'a> {
    pub name: Option<&'a str>,
    pub hash: u32,
    pub type_: Option<u8>,
    pub url_prefix: Option<i8>,
}
