//! A website or app (`site`).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::schema::site;

/// A row of `site`: a website or app (`site`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = site, check_for_backend(diesel::mysql::Mysql))]
pub struct Site {
    pub idsite: u32,
    pub name: String,
    pub main_url: String,
    pub ts_created: Option<PrimitiveDateTime>,
    pub ecommerce: Option<i8>,
    pub sitesearch: Option<i8>,
    pub sitesearch_keyword_parameters: String,
    pub sitesearch_category_parameters: String,
    pub timezone: String,
    pub currency: String,
    pub exclude_unknown_urls: Option<i8>,
    pub excluded_ips: String,
    pub excluded_parameters: String,
    pub excluded_user_agents: String,
    pub excluded_referrers: String,
    pub group: String,
    pub type_: String,
    pub keep_url_fragment: i8,
    pub creator_login: Option<String>,
}

/// A new row of `site` (the id comes from AUTO_INCREMENT).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = site, check_for_backend(diesel::mysql::Mysql))]
pub struct NewSite<'a> {
    pub name: &'a str,
    pub main_url: &'a str,
    pub ts_created: Option<PrimitiveDateTime>,
    pub ecommerce: Option<i8>,
    pub sitesearch: Option<i8>,
    pub sitesearch_keyword_parameters: &'a str,
    pub sitesearch_category_parameters: &'a str,
    pub timezone: &'a str,
    pub currency: &'a str,
    pub exclude_unknown_urls: Option<i8>,
    pub excluded_ips: &'a str,
    pub excluded_parameters: &'a str,
    pub excluded_user_agents: &'a str,
    pub excluded_referrers: &'a str,
    pub group: &'a str,
    pub type_: &'a str,
    pub keep_url_fragment: i8,
    pub creator_login: Option<&'a str>,
}

/// Changes to a `site` row: `None` leaves a column alone, `Some(None)` sets NULL.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = site, check_for_backend(diesel::mysql::Mysql))]
pub struct SiteChanges<'a> {
    pub name: Option<&'a str>,
    pub main_url: Option<&'a str>,
    pub ts_created: Option<Option<PrimitiveDateTime>>,
    pub ecommerce: Option<Option<i8>>,
    pub sitesearch: Option<Option<i8>>,
    pub sitesearch_keyword_parameters: Option<&'a str>,
    pub sitesearch_category_parameters: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub currency: Option<&'a str>,
    pub exclude_unknown_urls: Option<Option<i8>>,
    pub excluded_ips: Option<&'a str>,
    pub excluded_parameters: Option<&'a str>,
    pub excluded_user_agents: Option<&'a str>,
    pub excluded_referrers: Option<&'a str>,
    pub group: Option<&'a str>,
    pub type_: Option<&'a str>,
    pub keep_url_fragment: Option<i8>,
    pub creator_login: Option<Option<&'a str>>,
}
