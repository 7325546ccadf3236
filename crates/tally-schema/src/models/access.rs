//! A user's access to a site (`access`).

use diesel::prelude::*;

use crate::schema::access;

/// A row of `access`: a user's access to a site (`access`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = access, check_for_backend(diesel::mysql::Mysql))]
pub struct SiteAccess {
    pub idaccess: u32,
    pub login: String,
    pub idsite: u32,
    pub access_: Option<String>,
}

/// A new row of `access` (the id comes from AUTO_INCREMENT).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = access, check_for_backend(diesel::mysql::Mysql))]
pub struct NewSiteAccess<'a> {
    pub login: &'a str,
    pub idsite: u32,
    pub access_: Option<&'a str>,
}
