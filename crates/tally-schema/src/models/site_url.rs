//! An alias URL of a site (`site_url`).

use diesel::prelude::*;

use crate::schema::site_url;

/// A row of `site_url`: an alias URL of a site (`site_url`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = site_url, check_for_backend(diesel::mysql::Mysql))]
pub struct SiteUrl {
    pub idsite: u32,
    pub url: String,
}

/// A new row of `site_url`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = site_url, check_for_backend(diesel::mysql::Mysql))]
pub struct NewSiteUrl<'a> {
    pub idsite: u32,
    pub url: &'a str,
}
