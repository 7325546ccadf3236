//! Sites, their URLs and the global exclusion settings (MATOMO.md §10.1,
//! Matomo's `SitesManager` API).

use std::net::IpAddr;

use diesel::prelude::*;
use tally_schema::models::{NewSite, NewSiteUrl, Site};
use tally_schema::schema::{
    access, archive_invalidations, custom_dimensions, goal, segment, site, site_url,
};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::access::{Access, Principal};
use crate::support::{
    clean_list, db_time, format_db_time, get_option, set_option, tracker_settings_changed,
};
use crate::{ManagementError, Result};

/// Option holding the time zone of new sites when none is given.
pub const OPTION_DEFAULT_TIMEZONE: &str = "SitesManager_DefaultTimezone";
/// Option holding the currency of new sites when none is given.
pub const OPTION_DEFAULT_CURRENCY: &str = "SitesManager_DefaultCurrency";
/// Option holding the IPs excluded on every site.
pub const OPTION_EXCLUDED_IPS_GLOBAL: &str = "SitesManager_ExcludedIpsGlobal";
/// Option holding the query parameters removed on every site.
pub const OPTION_EXCLUDED_QUERY_PARAMETERS_GLOBAL: &str = "SitesManager_ExcludedQueryParameters";
/// Option holding the user agents excluded on every site.
pub const OPTION_EXCLUDED_USER_AGENTS_GLOBAL: &str = "SitesManager_ExcludedUserAgentsGlobal";
/// Option holding the site search keyword parameters of sites without
/// their own (the tracker reads it).
pub const OPTION_SEARCH_KEYWORD_PARAMETERS_GLOBAL: &str = "SitesManager_SearchKeywordParameters";
/// Option holding the site search category parameters of sites without
/// their own.
pub const OPTION_SEARCH_CATEGORY_PARAMETERS_GLOBAL: &str = "SitesManager_SearchCategoryParameters";

/// Column widths that strict `sql_mode` would otherwise turn into SQL errors.
const MAX_NAME: usize = 90;
const MAX_MAIN_URL: usize = 255;
const MAX_ALIAS_URL: usize = 190;
const MAX_GROUP: usize = 250;
const MAX_TYPE: usize = 255;
const MAX_TIMEZONE: usize = 50;

/// Matomo's fixed-offset zones (`SitesManager\API::getTimezonesListUTCOffsets`),
/// as stored: `UTC` followed by the signed offset in hours.
const UTC_OFFSETS: [&str; 54] = [
    "-12", "-11.5", "-11", "-10.5", "-10", "-9.5", "-9", "-8.5", "-8", "-7.5", "-7", "-6.5", "-6",
    "-5.5", "-5", "-4.5", "-4", "-3.5", "-3", "-2.5", "-2", "-1.5", "-1", "-0.5", "+0.5", "+1",
    "+1.5", "+2", "+2.5", "+3", "+3.5", "+4", "+4.5", "+5", "+5.5", "+5.75", "+6", "+6.5", "+7",
    "+7.5", "+8", "+8.5", "+8.75", "+9", "+9.5", "+10", "+10.5", "+11", "+11.5", "+12", "+12.75",
    "+13", "+13.75", "+14",
];

/// English names of common currencies (Matomo's `Intl_Currency_*`); other
/// codes are shown as the code, as Matomo does for an untranslated one.
const CURRENCY_NAMES: [(&str, &str); 40] = [
    ("AED", "UAE Dirham"),
    ("ARS", "Argentine Peso"),
    ("AUD", "Australian Dollar"),
    ("BGN", "Bulgarian Lev"),
    ("BRL", "Brazilian Real"),
    ("CAD", "Canadian Dollar"),
    ("CHF", "Swiss Franc"),
    ("CLP", "Chilean Peso"),
    ("CNY", "Chinese Yuan"),
    ("COP", "Colombian Peso"),
    ("CZK", "Czech Koruna"),
    ("DKK", "Danish Krone"),
    ("EGP", "Egyptian Pound"),
    ("EUR", "Euro"),
    ("GBP", "British Pound"),
    ("HKD", "Hong Kong Dollar"),
    ("HUF", "Hungarian Forint"),
    ("IDR", "Indonesian Rupiah"),
    ("ILS", "Israeli New Shekel"),
    ("INR", "Indian Rupee"),
    ("ISK", "Icelandic Króna"),
    ("JPY", "Japanese Yen"),
    ("KRW", "South Korean Won"),
    ("MXN", "Mexican Peso"),
    ("MYR", "Malaysian Ringgit"),
    ("NOK", "Norwegian Krone"),
    ("NZD", "New Zealand Dollar"),
    ("PHP", "Philippine Peso"),
    ("PLN", "Polish Zloty"),
    ("RON", "Romanian Leu"),
    ("RUB", "Russian Ruble"),
    ("SAR", "Saudi Riyal"),
    ("SEK", "Swedish Krona"),
    ("SGD", "Singapore Dollar"),
    ("THB", "Thai Baht"),
    ("TRY", "Turkish Lira"),
    ("TWD", "New Taiwan Dollar"),
    ("UAH", "Ukrainian Hryvnia"),
    ("USD", "US Dollar"),
    ("ZAR", "South African Rand"),
];

/// The parameters of `SitesManager.addSite`.
///
/// List fields are comma-separated strings, as the HTTP API receives them;
/// `None` means "not given" (Matomo's default applies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSiteParams {
    /// `siteName`: required, at most 90 characters.
    pub name: String,
    /// `urls`: the first is the main URL, the others become alias URLs. At
    /// least one; each `http(s)://host[/path]`, a bare host (`http://` is
    /// added) or a wildcard subdomain (`*.example.org`).
    pub urls: Vec<String>,
    /// `ecommerce` (default off).
    pub ecommerce: Option<bool>,
    /// `siteSearch` (default on).
    pub sitesearch: Option<bool>,
    /// `searchKeywordParameters` (default empty: the global list applies).
    pub search_keyword_parameters: Option<String>,
    /// `searchCategoryParameters` (default empty).
    pub search_category_parameters: Option<String>,
    /// `excludedIps`: IPs, CIDR ranges and `1.2.3.*` wildcards.
    pub excluded_ips: Option<String>,
    /// `excludedQueryParameters`: names or `/regex/` entries.
    pub excluded_parameters: Option<String>,
    /// `excludedUserAgents`: substrings or `/regex/` entries.
    pub excluded_user_agents: Option<String>,
    /// `excludedReferrers`: hosts or URLs.
    pub excluded_referrers: Option<String>,
    /// `timezone`: an IANA name or `UTC+5.5` style offset (default: option
    /// `SitesManager_DefaultTimezone`, else `UTC`).
    pub timezone: Option<String>,
    /// `currency`: three upper-case letters (default: option
    /// `SitesManager_DefaultCurrency`, else `USD`).
    pub currency: Option<String>,
    /// `group` (default empty).
    pub group: Option<String>,
    /// `startDate`: `ts_created` (default: now).
    pub start_date: Option<PrimitiveDateTime>,
    /// `keepURLFragments`: 0 = global setting, 1 = keep, 2 = drop (default 0).
    pub keep_url_fragment: Option<u8>,
    /// `type` (default `website`).
    pub site_type: Option<String>,
    /// `excludeUnknownUrls` (default off).
    pub exclude_unknown_urls: Option<bool>,
}

impl NewSiteParams {
    /// A site with a name and URLs, everything else defaulted.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        urls: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            urls: urls.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

/// The parameters of `SitesManager.updateSite`: `None` leaves a setting
/// alone. (Matomo's `updateSite` clears list settings that are not passed;
/// here an omitted list is kept, which is what callers expect.)
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteChanges {
    /// New name.
    pub name: Option<String>,
    /// New URLs: the first becomes the main URL, the rest replace the alias URLs.
    pub urls: Option<Vec<String>>,
    /// Ecommerce on/off.
    pub ecommerce: Option<bool>,
    /// Site search on/off.
    pub sitesearch: Option<bool>,
    /// Site search keyword parameters (comma-separated).
    pub search_keyword_parameters: Option<String>,
    /// Site search category parameters (comma-separated).
    pub search_category_parameters: Option<String>,
    /// Excluded IPs (comma-separated).
    pub excluded_ips: Option<String>,
    /// Excluded query parameters (comma-separated).
    pub excluded_parameters: Option<String>,
    /// Excluded user agents (comma-separated).
    pub excluded_user_agents: Option<String>,
    /// Excluded referrers (comma-separated).
    pub excluded_referrers: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Group; only a super user can change it (others' value is ignored, as in Matomo).
    pub group: Option<String>,
    /// `ts_created`.
    pub start_date: Option<PrimitiveDateTime>,
    /// 0, 1 or 2 (see [`NewSiteParams::keep_url_fragment`]).
    pub keep_url_fragment: Option<u8>,
    /// Site type.
    pub site_type: Option<String>,
    /// Track only URLs of the site.
    pub exclude_unknown_urls: Option<bool>,
}

/// A site as `SitesManager.getSiteFromId` returns it, fields in Matomo's order.
///
/// Types follow Matomo on PHP 8 (whose PDO returns integer columns as
/// integers): `idsite`, `ecommerce`, `sitesearch`, `exclude_unknown_urls` and
/// `keep_url_fragment` are JSON numbers, everything else strings.
/// `creator_login` is only shown to super users (outer `None`: left out);
/// `timezone_name` is `UTC+5:30` for offsets and the IANA name's last part
/// (`New York`) otherwise, since Tally carries no country names.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SiteView {
    /// `idsite`.
    pub idsite: u32,
    /// `name`.
    pub name: String,
    /// `main_url`.
    pub main_url: String,
    /// `ts_created`, `YYYY-MM-DD HH:MM:SS` UTC.
    pub ts_created: Option<String>,
    /// `ecommerce` (0/1).
    pub ecommerce: i8,
    /// `sitesearch` (0/1).
    pub sitesearch: i8,
    /// `sitesearch_keyword_parameters` (comma-separated).
    pub sitesearch_keyword_parameters: String,
    /// `sitesearch_category_parameters` (comma-separated).
    pub sitesearch_category_parameters: String,
    /// `timezone`.
    pub timezone: String,
    /// `currency`.
    pub currency: String,
    /// `exclude_unknown_urls` (0/1).
    pub exclude_unknown_urls: i8,
    /// `excluded_ips` (comma-separated).
    pub excluded_ips: String,
    /// `excluded_parameters` (comma-separated).
    pub excluded_parameters: String,
    /// `excluded_user_agents` (comma-separated).
    pub excluded_user_agents: String,
    /// `excluded_referrers` (comma-separated).
    pub excluded_referrers: String,
    /// `group`.
    pub group: String,
    /// `type`.
    #[serde(rename = "type")]
    pub site_type: String,
    /// `keep_url_fragment` (0 global, 1 keep, 2 drop).
    pub keep_url_fragment: i8,
    /// `creator_login`, for super users only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator_login: Option<Option<String>>,
    /// A readable name of the time zone.
    pub timezone_name: String,
    /// The currency's English name, or its code.
    pub currency_name: String,
}

impl SiteView {
    fn new(s: Site, viewer: &Principal) -> Self {
        Self {
            timezone_name: timezone_name(&s.timezone),
            currency_name: currency_name(&s.currency).to_owned(),
            idsite: s.idsite,
            name: s.name,
            main_url: s.main_url,
            ts_created: s.ts_created.map(format_db_time),
            ecommerce: s.ecommerce.unwrap_or(0),
            sitesearch: s.sitesearch.unwrap_or(1),
            sitesearch_keyword_parameters: s.sitesearch_keyword_parameters,
            sitesearch_category_parameters: s.sitesearch_category_parameters,
            timezone: s.timezone,
            currency: s.currency,
            exclude_unknown_urls: s.exclude_unknown_urls.unwrap_or(0),
            excluded_ips: s.excluded_ips,
            excluded_parameters: s.excluded_parameters,
            excluded_user_agents: s.excluded_user_agents,
            excluded_referrers: s.excluded_referrers,
            group: s.group,
            site_type: s.type_,
            keep_url_fragment: s.keep_url_fragment,
            creator_login: viewer.superuser.then_some(s.creator_login),
        }
    }
}

/// Creates a site (super user only) and returns its id.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::InvalidParameter`]
/// for an empty or too long name, no or invalid URLs, an unknown time zone or
/// currency, an invalid IP or regex in the exclusion lists;
/// [`ManagementError::Db`].
pub fn add_site(
    conn: &mut MysqlConnection,
    actor: &Principal,
    params: &NewSiteParams,
) -> Result<u32> {
    actor.check_superuser()?;
    let name = check_name(&params.name)?;
    let urls = clean_urls(&params.urls, true)?;
    let timezone = match non_empty(params.timezone.as_deref()) {
        Some(tz) => tz.to_owned(),
        None => get_option(conn, OPTION_DEFAULT_TIMEZONE)?
            .filter(|tz| !tz.trim().is_empty())
            .unwrap_or_else(|| "UTC".to_owned()),
    };
    let timezone = check_timezone(&timezone)?;
    let currency = match non_empty(params.currency.as_deref()) {
        Some(c) => c.to_owned(),
        None => default_currency(conn)?,
    };
    let currency = check_currency(&currency)?;
    let keyword = clean_plain_list(params.search_keyword_parameters.as_deref());
    let category = clean_plain_list(params.search_category_parameters.as_deref());
    let ips = check_ips(params.excluded_ips.as_deref().unwrap_or(""))?;
    let parameters = check_regex_list(
        "excludedQueryParameters",
        params.excluded_parameters.as_deref().unwrap_or(""),
    )?;
    let user_agents = check_regex_list(
        "excludedUserAgents",
        params.excluded_user_agents.as_deref().unwrap_or(""),
    )?;
    let referrers = check_referrers(params.excluded_referrers.as_deref().unwrap_or(""))?;
    let group = check_group(params.group.as_deref().unwrap_or(""))?;
    let site_type = check_type(params.site_type.as_deref())?;
    let keep_url_fragment = check_keep_url_fragment(params.keep_url_fragment.unwrap_or(0))?;
    let ts_created = params
        .start_date
        .unwrap_or_else(|| db_time(OffsetDateTime::now_utc()));

    conn.transaction(|conn| {
        diesel::insert_into(site::table)
            .values(NewSite {
                name: &name,
                main_url: &urls[0],
                ts_created: Some(ts_created),
                ecommerce: Some(i8::from(params.ecommerce.unwrap_or(false))),
                sitesearch: Some(i8::from(params.sitesearch.unwrap_or(true))),
                sitesearch_keyword_parameters: &keyword,
                sitesearch_category_parameters: &category,
                timezone: &timezone,
                currency: &currency,
                exclude_unknown_urls: Some(i8::from(params.exclude_unknown_urls.unwrap_or(false))),
                excluded_ips: &ips,
                excluded_parameters: &parameters,
                excluded_user_agents: &user_agents,
                excluded_referrers: &referrers,
                group: &group,
                type_: &site_type,
                keep_url_fragment,
                creator_login: Some(&actor.login),
            })
            .execute(conn)?;
        let id: u64 = diesel::select(tally_db::sequence::last_insert_id()).get_result(conn)?;
        let idsite = u32::try_from(id).map_err(|_| {
            ManagementError::Db(diesel::result::Error::DeserializationError(
                format!("site id {id} does not fit INT UNSIGNED").into(),
            ))
        })?;
        insert_aliases(conn, idsite, &urls[1..])?;
        tracker_settings_changed(conn)?;
        Ok(idsite)
    })
}

/// Changes a site's settings (admin access on the site).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::InvalidParameter`] as for [`add_site`];
/// [`ManagementError::Db`].
pub fn update_site(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    changes: &SiteChanges,
) -> Result<()> {
    actor.check(idsite, Access::Admin)?;
    find_site(conn, idsite)?;

    let name = changes.name.as_deref().map(check_name).transpose()?;
    let urls = changes
        .urls
        .as_deref()
        .map(|u| clean_urls(u, true))
        .transpose()?;
    let timezone = changes
        .timezone
        .as_deref()
        .map(check_timezone)
        .transpose()?;
    let currency = changes
        .currency
        .as_deref()
        .map(check_currency)
        .transpose()?;
    let keyword = changes
        .search_keyword_parameters
        .as_deref()
        .map(|s| clean_plain_list(Some(s)));
    let category = changes
        .search_category_parameters
        .as_deref()
        .map(|s| clean_plain_list(Some(s)));
    let ips = changes.excluded_ips.as_deref().map(check_ips).transpose()?;
    let parameters = changes
        .excluded_parameters
        .as_deref()
        .map(|s| check_regex_list("excludedQueryParameters", s))
        .transpose()?;
    let user_agents = changes
        .excluded_user_agents
        .as_deref()
        .map(|s| check_regex_list("excludedUserAgents", s))
        .transpose()?;
    let referrers = changes
        .excluded_referrers
        .as_deref()
        .map(check_referrers)
        .transpose()?;
    let group = match changes.group.as_deref() {
        Some(g) if actor.superuser => Some(check_group(g)?),
        _ => None,
    };
    let site_type = changes
        .site_type
        .as_deref()
        .map(|t| check_type(Some(t)))
        .transpose()?;
    let keep_url_fragment = changes
        .keep_url_fragment
        .map(check_keep_url_fragment)
        .transpose()?;

    let row = tally_schema::models::SiteChanges {
        name: name.as_deref(),
        main_url: urls.as_ref().map(|u| u[0].as_str()),
        ts_created: changes.start_date.map(Some),
        ecommerce: changes.ecommerce.map(|b| Some(i8::from(b))),
        sitesearch: changes.sitesearch.map(|b| Some(i8::from(b))),
        sitesearch_keyword_parameters: keyword.as_deref(),
        sitesearch_category_parameters: category.as_deref(),
        timezone: timezone.as_deref(),
        currency: currency.as_deref(),
        exclude_unknown_urls: changes.exclude_unknown_urls.map(|b| Some(i8::from(b))),
        excluded_ips: ips.as_deref(),
        excluded_parameters: parameters.as_deref(),
        excluded_user_agents: user_agents.as_deref(),
        excluded_referrers: referrers.as_deref(),
        group: group.as_deref(),
        type_: site_type.as_deref(),
        keep_url_fragment,
        creator_login: None,
    };
    conn.transaction(|conn| {
        if row != tally_schema::models::SiteChanges::default() {
            diesel::update(site::table.find(idsite))
                .set(&row)
                .execute(conn)?;
        }
        if let Some(urls) = &urls {
            diesel::delete(site_url::table.filter(site_url::idsite.eq(idsite))).execute(conn)?;
            insert_aliases(conn, idsite, &urls[1..])?;
        }
        tracker_settings_changed(conn)?;
        Ok(())
    })
}

/// Deletes a site (super user only) with its alias URLs, goals, access
/// rows, site-specific segments (soft-deleted, as Matomo's SegmentEditor
/// does), custom dimension definitions and pending archive invalidations.
/// Raw log rows and archives are kept, as in Matomo.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::LastSite`] for the only site; [`ManagementError::Db`].
pub fn delete_site(conn: &mut MysqlConnection, actor: &Principal, idsite: u32) -> Result<()> {
    actor.check_superuser()?;
    conn.transaction(|conn| {
        find_site(conn, idsite)?;
        let count: i64 = site::table.count().get_result(conn)?;
        if count <= 1 {
            return Err(ManagementError::LastSite);
        }
        diesel::delete(site::table.find(idsite)).execute(conn)?;
        diesel::delete(site_url::table.filter(site_url::idsite.eq(idsite))).execute(conn)?;
        diesel::delete(access::table.filter(access::idsite.eq(idsite))).execute(conn)?;
        if let Ok(signed) = i32::try_from(idsite) {
            diesel::delete(goal::table.filter(goal::idsite.eq(signed))).execute(conn)?;
            diesel::update(
                segment::table
                    .filter(segment::enable_only_idsite.eq(signed))
                    .filter(segment::deleted.eq(0)),
            )
            .set((
                segment::deleted.eq(1),
                segment::ts_last_edit.eq(Some(db_time(OffsetDateTime::now_utc()))),
            ))
            .execute(conn)?;
        }
        diesel::delete(
            custom_dimensions::table.filter(custom_dimensions::idsite.eq(u64::from(idsite))),
        )
        .execute(conn)?;
        diesel::delete(
            archive_invalidations::table.filter(archive_invalidations::idsite.eq(idsite)),
        )
        .execute(conn)?;
        tracker_settings_changed(conn)?;
        Ok(())
    })
}

/// One site (view access).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::Db`].
pub fn get_site(conn: &mut MysqlConnection, actor: &Principal, idsite: u32) -> Result<SiteView> {
    actor.check(idsite, Access::View)?;
    Ok(SiteView::new(find_site(conn, idsite)?, actor))
}

/// Every site, by id (super user only).
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::Db`].
pub fn get_all_sites(conn: &mut MysqlConnection, actor: &Principal) -> Result<Vec<SiteView>> {
    actor.check_superuser()?;
    let sites: Vec<Site> = site::table
        .select(Site::as_select())
        .order(site::idsite)
        .load(conn)?;
    Ok(sites.into_iter().map(|s| SiteView::new(s, actor)).collect())
}

/// The sites the actor can view, by id (`getSitesWithAtLeastViewAccess`).
///
/// # Errors
/// [`ManagementError::Db`].
pub fn sites_with_at_least_view_access(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<Vec<SiteView>> {
    let ids = crate::access::sites_with_access(conn, actor, Access::View)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sites: Vec<Site> = site::table
        .filter(site::idsite.eq_any(&ids))
        .select(Site::as_select())
        .order(site::idsite)
        .load(conn)?;
    Ok(sites.into_iter().map(|s| SiteView::new(s, actor)).collect())
}

/// The currency new sites get (`SitesManager.getDefaultCurrency`): the
/// stored option, else `USD`.
///
/// # Errors
/// [`ManagementError::Db`].
pub fn default_currency(conn: &mut MysqlConnection) -> Result<String> {
    Ok(get_option(conn, OPTION_DEFAULT_CURRENCY)?
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "USD".to_owned()))
}

/// Ids of the sites among those the actor can view whose name or group
/// contains `pattern`, whose main URL matches `http%<pattern>%`, or whose
/// id is `pattern`, at most `limit` of them in id order
/// (`SitesManager.getPatternMatchSites`; as Matomo, `%` and `_` in the
/// pattern keep their `LIKE` meaning, and case is ignored by the column
/// collation).
///
/// # Errors
/// [`ManagementError::Db`].
pub fn pattern_match_site_ids(
    conn: &mut MysqlConnection,
    actor: &Principal,
    pattern: &str,
    limit: i64,
) -> Result<Vec<u32>> {
    let ids = crate::access::sites_with_access(conn, actor, Access::View)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let anywhere = format!("%{pattern}%");
    let url = format!("http%{pattern}%");
    let matching = site::name
        .like(anywhere.clone())
        .or(site::main_url.like(url))
        .or(site::group.like(anywhere));
    let query = site::table
        .filter(site::idsite.eq_any(&ids))
        .select(site::idsite)
        .order(site::idsite)
        .limit(limit);
    Ok(match pattern.trim().parse::<u32>() {
        Ok(id) => query.filter(matching.or(site::idsite.eq(id))).load(conn)?,
        Err(_) => query.filter(matching).load(conn)?,
    })
}

/// Ids of the sites (among those the actor can view) whose main or alias
/// URL is `url`, ignoring `http://`/`https://`, a leading `www.`, a trailing
/// slash and case (`getSitesIdFromSiteUrl`).
///
/// # Errors
/// [`ManagementError::Db`].
pub fn site_ids_from_url(
    conn: &mut MysqlConnection,
    actor: &Principal,
    url: &str,
) -> Result<Vec<u32>> {
    let wanted = url_key(url);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut candidates: Vec<(u32, String)> = site::table
        .select((site::idsite, site::main_url))
        .load(conn)?;
    candidates.extend(
        site_url::table
            .select((site_url::idsite, site_url::url))
            .load::<(u32, String)>(conn)?,
    );
    let mut ids: Vec<u32> = candidates
        .into_iter()
        .filter(|(id, u)| actor.can(*id, Access::View) && url_key(u) == wanted)
        .map(|(id, _)| id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Adds alias URLs to a site (admin access); URLs it already has are
/// skipped. Returns how many were added.
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::InvalidParameter`] for an invalid URL;
/// [`ManagementError::Db`].
pub fn add_site_alias_urls<S: AsRef<str>>(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    urls: &[S],
) -> Result<usize> {
    actor.check(idsite, Access::Admin)?;
    let site = find_site(conn, idsite)?;
    if urls.iter().all(|u| u.as_ref().trim().is_empty()) {
        return Ok(0);
    }
    let new = clean_urls(urls, false)?;
    conn.transaction(|conn| {
        let existing: Vec<String> = site_url::table
            .filter(site_url::idsite.eq(idsite))
            .select(site_url::url)
            .load(conn)?;
        let fresh: Vec<String> = new
            .into_iter()
            .filter(|u| *u != site.main_url && !existing.contains(u))
            .collect();
        insert_aliases(conn, idsite, &fresh)?;
        tracker_settings_changed(conn)?;
        Ok(fresh.len())
    })
}

/// The main URL followed by the alias URLs (view access; `getSiteUrlsFromId`).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::Db`].
pub fn site_urls(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
) -> Result<Vec<String>> {
    actor.check(idsite, Access::View)?;
    let site = find_site(conn, idsite)?;
    let mut urls = vec![site.main_url];
    urls.extend(
        site_url::table
            .filter(site_url::idsite.eq(idsite))
            .select(site_url::url)
            .order(site_url::url)
            .load::<String>(conn)?,
    );
    Ok(urls)
}

/// Sets the IPs excluded on every site (super user only); returns the list
/// as stored (trimmed, deduplicated).
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::InvalidParameter`]
/// naming the first invalid entry; [`ManagementError::Db`].
pub fn set_global_excluded_ips(
    conn: &mut MysqlConnection,
    actor: &Principal,
    ips: &str,
) -> Result<String> {
    actor.check_superuser()?;
    let value = check_ips(ips)?;
    set_option(conn, OPTION_EXCLUDED_IPS_GLOBAL, &value)?;
    Ok(value)
}

/// Sets the query parameters removed from URLs on every site (super user
/// only); returns the list as stored.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::InvalidParameter`]
/// for a `/regex/` entry that does not compile; [`ManagementError::Db`].
pub fn set_global_excluded_query_parameters(
    conn: &mut MysqlConnection,
    actor: &Principal,
    parameters: &str,
) -> Result<String> {
    actor.check_superuser()?;
    let value = check_regex_list("excludedQueryParameters", parameters)?;
    set_option(conn, OPTION_EXCLUDED_QUERY_PARAMETERS_GLOBAL, &value)?;
    Ok(value)
}

/// Sets the user agents excluded on every site (super user only); returns
/// the list as stored.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::InvalidParameter`]
/// for a `/regex/` entry that does not compile; [`ManagementError::Db`].
pub fn set_global_excluded_user_agents(
    conn: &mut MysqlConnection,
    actor: &Principal,
    user_agents: &str,
) -> Result<String> {
    actor.check_superuser()?;
    let value = check_regex_list("excludedUserAgents", user_agents)?;
    set_option(conn, OPTION_EXCLUDED_USER_AGENTS_GLOBAL, &value)?;
    Ok(value)
}

/// Sets the site search keyword and category parameters used by sites
/// without their own (super user only; `setGlobalSearchParameters`, which
/// stores them as given).
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::Db`].
pub fn set_global_search_parameters(
    conn: &mut MysqlConnection,
    actor: &Principal,
    keywords: &str,
    categories: &str,
) -> Result<()> {
    actor.check_superuser()?;
    set_option(conn, OPTION_SEARCH_KEYWORD_PARAMETERS_GLOBAL, keywords)?;
    set_option(conn, OPTION_SEARCH_CATEGORY_PARAMETERS_GLOBAL, categories)?;
    Ok(())
}

/// The global site search keyword parameters, Matomo's default list when
/// none were set (`getSearchKeywordParametersGlobal`, view access
/// somewhere).
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`]; [`ManagementError::Db`].
pub fn global_search_keyword_parameters(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<String> {
    actor.check_somewhere(Access::View)?;
    Ok(get_option(conn, OPTION_SEARCH_KEYWORD_PARAMETERS_GLOBAL)?
        .unwrap_or_else(|| tally_tracking::urlnorm::DEFAULT_SEARCH_KEYWORD_PARAMETERS.join(",")))
}

/// The global site search category parameters (empty unless set;
/// `getSearchCategoryParametersGlobal`, view access somewhere).
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`]; [`ManagementError::Db`].
pub fn global_search_category_parameters(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<String> {
    actor.check_somewhere(Access::View)?;
    Ok(get_option(conn, OPTION_SEARCH_CATEGORY_PARAMETERS_GLOBAL)?.unwrap_or_default())
}

/// The IPs excluded on every site. As Matomo's `getExcludedIpsGlobal`, this
/// needs admin access to some site, not super user access.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`]; [`ManagementError::Db`].
pub fn global_excluded_ips(conn: &mut MysqlConnection, actor: &Principal) -> Result<String> {
    actor.check_somewhere(Access::Admin)?;
    Ok(get_option(conn, OPTION_EXCLUDED_IPS_GLOBAL)?.unwrap_or_default())
}

/// The query parameters removed on every site. As Matomo's
/// `getExcludedQueryParametersGlobal`, this needs view access to some site.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`]; [`ManagementError::Db`].
pub fn global_excluded_query_parameters(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<String> {
    actor.check_somewhere(Access::View)?;
    Ok(get_option(conn, OPTION_EXCLUDED_QUERY_PARAMETERS_GLOBAL)?.unwrap_or_default())
}

/// The user agents excluded on every site. As Matomo's
/// `getExcludedUserAgentsGlobal`, this needs admin access to some site.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`]; [`ManagementError::Db`].
pub fn global_excluded_user_agents(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<String> {
    actor.check_somewhere(Access::Admin)?;
    Ok(get_option(conn, OPTION_EXCLUDED_USER_AGENTS_GLOBAL)?.unwrap_or_default())
}

pub(crate) fn find_site(conn: &mut MysqlConnection, idsite: u32) -> Result<Site> {
    site::table
        .find(idsite)
        .select(Site::as_select())
        .first(conn)
        .optional()?
        .ok_or(ManagementError::UnknownSite { idsite })
}

fn insert_aliases(conn: &mut MysqlConnection, idsite: u32, urls: &[String]) -> Result<()> {
    if urls.is_empty() {
        return Ok(());
    }
    let rows: Vec<NewSiteUrl<'_>> = urls.iter().map(|url| NewSiteUrl { idsite, url }).collect();
    // The primary key compares case-insensitively; an alias differing from
    // another only in case is the same alias.
    diesel::insert_or_ignore_into(site_url::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ManagementError::invalid(
            "siteName",
            "The website name can't be empty.",
        ));
    }
    if name.chars().count() > MAX_NAME {
        return Err(ManagementError::invalid(
            "siteName",
            format!("The website name must be at most {MAX_NAME} characters long."),
        ));
    }
    Ok(name.to_owned())
}

/// Cleans URLs as Matomo's `Urls::cleanParameterUrls` (trim, drop a trailing
/// slash, add `http://` to a bare host, deduplicate) and validates them.
/// Unlike Matomo, which accepts any scheme (for app types), only `http` and
/// `https` are accepted: the tracker and referrer detection know no other.
fn clean_urls<S: AsRef<str>>(urls: &[S], first_is_main: bool) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in urls {
        let url = raw.as_ref().trim();
        if url.is_empty() {
            continue;
        }
        let invalid =
            || ManagementError::invalid("urls", format!("The url '{url}' is not a valid URL."));
        let cleaned = with_scheme(strip_trailing_slash(url)).ok_or_else(invalid)?;
        if !valid_site_url(&cleaned) {
            return Err(invalid());
        }
        // The main URL lives in `site.main_url`, aliases in the narrower
        // `site_url.url` (its primary key).
        let max = if first_is_main && out.is_empty() {
            MAX_MAIN_URL
        } else {
            MAX_ALIAS_URL
        };
        if cleaned.chars().count() > max {
            return Err(ManagementError::invalid(
                "urls",
                format!("The url '{url}' is too long (at most {max} characters)."),
            ));
        }
        if !out.contains(&cleaned) {
            out.push(cleaned);
        }
    }
    if out.is_empty() {
        return Err(ManagementError::invalid(
            "urls",
            "You must specify at least one URL for the website.",
        ));
    }
    Ok(out)
}

fn strip_trailing_slash(url: &str) -> &str {
    // Matomo's removeTrailingSlash keeps very short strings intact.
    if url.len() > 5 {
        url.strip_suffix('/').unwrap_or(url)
    } else {
        url
    }
}

/// Adds `http://` to a URL without a scheme (or `http:` to `//host`);
/// `None` for a URL with a scheme other than http(s), such as `javascript:`.
fn with_scheme(url: &str) -> Option<String> {
    if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        return matches!(scheme.as_str(), "http" | "https").then(|| format!("{scheme}://{rest}"));
    }
    if let Some(rest) = url.strip_prefix("//") {
        return Some(format!("http://{rest}"));
    }
    if let Some((head, rest)) = url.split_once(':') {
        let looks_like_scheme = head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
        let port_digits = rest.split(['/', '?', '#']).next().unwrap_or("");
        let is_port = !port_digits.is_empty() && port_digits.chars().all(|c| c.is_ascii_digit());
        // `mailto:x`, `javascript:...`: a scheme, not `host:port`.
        if looks_like_scheme && !is_port {
            return None;
        }
    }
    Some(format!("http://{url}"))
}

/// `http(s)://host[:port][/path][?query][#fragment]` where host is a domain
/// name (optionally starting with `*.` or `.` for subdomains), an IPv4
/// address or a bracketed IPv6 address.
fn valid_site_url(url: &str) -> bool {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    valid_authority(authority)
}

fn valid_authority(authority: &str) -> bool {
    if authority.contains('@') {
        return false;
    }
    if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        return addr.parse::<std::net::Ipv6Addr>().is_ok()
            && (after.is_empty() || after.strip_prefix(':').is_some_and(valid_port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if port.is_some_and(|p| !valid_port(p)) {
        return false;
    }
    let host = host
        .strip_prefix("*.")
        .or_else(|| host.strip_prefix('.'))
        .unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
        })
}

fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok()
}

/// The part of a URL that `getSitesIdFromSiteUrl` compares.
fn url_key(url: &str) -> String {
    let url = url.trim().to_lowercase();
    let url = url.trim_end_matches('/');
    let url = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    url.strip_prefix("www.").unwrap_or(url).to_owned()
}

/// Validates a site time zone: `UTC`, one of Matomo's `UTC+N` offsets, or an
/// IANA name known to jiff's bundled tzdb (stored with its canonical case).
fn check_timezone(tz: &str) -> Result<String> {
    let tz = tz.trim();
    let invalid = || {
        ManagementError::invalid(
            "timezone",
            format!("The timezone \"{tz}\" is not valid. Please enter a valid timezone."),
        )
    };
    if tz == "UTC" {
        return Ok(tz.to_owned());
    }
    if let Some(offset) = tz.strip_prefix("UTC") {
        return if UTC_OFFSETS.contains(&offset) {
            Ok(tz.to_owned())
        } else {
            Err(invalid())
        };
    }
    if tz.is_empty() || tz.len() > MAX_TIMEZONE {
        return Err(invalid());
    }
    let zone = jiff::tz::TimeZone::get(tz).map_err(|_| invalid())?;
    Ok(zone.iana_name().unwrap_or(tz).to_owned())
}

/// Validates an ISO 4217-shaped currency code (three upper-case letters).
fn check_currency(currency: &str) -> Result<String> {
    let currency = currency.trim();
    if currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(currency.to_owned())
    } else {
        Err(ManagementError::invalid(
            "currency",
            format!(
                "The currency \"{currency}\" is not valid. Please enter a valid currency symbol (eg. USD, EUR, etc.)"
            ),
        ))
    }
}

fn check_group(group: &str) -> Result<String> {
    let group = group.trim();
    if group.chars().count() > MAX_GROUP {
        return Err(ManagementError::invalid(
            "group",
            format!("The group must be at most {MAX_GROUP} characters long."),
        ));
    }
    Ok(group.to_owned())
}

fn check_type(site_type: Option<&str>) -> Result<String> {
    let site_type = non_empty(site_type).unwrap_or("website");
    if site_type.chars().count() > MAX_TYPE {
        return Err(ManagementError::invalid(
            "type",
            format!("Invalid website type {site_type}"),
        ));
    }
    Ok(site_type.to_owned())
}

fn check_keep_url_fragment(value: u8) -> Result<i8> {
    match i8::try_from(value) {
        Ok(v @ 0..=2) => Ok(v),
        _ => Err(ManagementError::invalid(
            "keepURLFragments",
            format!("The value \"{value}\" is not allowed, use one of: 0, 1, 2."),
        )),
    }
}

fn clean_plain_list(s: Option<&str>) -> String {
    clean_list(s.unwrap_or("")).join(",")
}

/// Validates excluded IPs: single addresses, CIDR ranges, and IPv4
/// wildcards from the right (`1.2.3.*`, `1.2.*.*`, never in the first octet).
fn check_ips(ips: &str) -> Result<String> {
    let list = clean_list(ips);
    for ip in &list {
        if !valid_ip_entry(ip) {
            return Err(ManagementError::invalid(
                "excludedIps",
                format!(
                    "The IP to exclude \"{ip}\" does not have a valid IP format (eg. 1.2.3.4, 1.2.3.*, or 1.2.3.4/5)."
                ),
            ));
        }
    }
    Ok(list.join(","))
}

fn valid_ip_entry(entry: &str) -> bool {
    let syntax_ok = if entry.contains('*') {
        let parts: Vec<&str> = entry.split('.').collect();
        let mut wildcard_seen = false;
        parts.len() == 4
            && parts[0] != "*"
            && parts.iter().all(|p| {
                if *p == "*" {
                    wildcard_seen = true;
                    true
                } else {
                    !wildcard_seen && p.parse::<u8>().is_ok()
                }
            })
    } else if let Some((addr, bits)) = entry.split_once('/') {
        match (addr.parse::<IpAddr>(), bits.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(b)) => b <= 32,
            (Ok(IpAddr::V6(_)), Ok(b)) => b <= 128,
            _ => false,
        }
    } else {
        entry.parse::<IpAddr>().is_ok()
    };
    // The tracker must read the entry as we validated it.
    syntax_ok && tally_tracking::site::IpRange::parse(entry).is_some()
}

/// A comma list of names or substrings where `/pattern/flags` entries are
/// regular expressions (as the tracker reads them); those must compile.
fn check_regex_list(name: &'static str, s: &str) -> Result<String> {
    let list = clean_list(s);
    for entry in &list {
        if let Some((pattern, flags)) = php_regex_parts(entry) {
            let mut prefix = String::new();
            for f in flags.chars().filter(|f| matches!(f, 'i' | 's' | 'm' | 'x')) {
                prefix.push_str(&format!("(?{f})"));
            }
            if regex::Regex::new(&format!("{prefix}{pattern}")).is_err() {
                return Err(ManagementError::invalid(
                    name,
                    format!("The value \"{entry}\" is not a valid regular expression."),
                ));
            }
        }
    }
    Ok(list.join(","))
}

/// `/pattern/flags` split as the tracker's `php_regex` does; `None` when the
/// entry is a plain string there (no closing slash, or unknown flags).
fn php_regex_parts(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('/')?;
    let end = body.rfind('/')?;
    let (pattern, flags) = (&body[..end], &body[end + 1..]);
    flags
        .chars()
        .all(|c| matches!(c, 'i' | 'u' | 'D' | 's' | 'm' | 'x'))
        .then_some((pattern, flags))
}

/// Excluded referrers: hosts or URLs, optionally with a scheme or a leading
/// dot (Matomo validates `https://` + the entry without scheme and dots).
fn check_referrers(s: &str) -> Result<String> {
    let list = clean_list(s);
    for entry in &list {
        let bare = entry
            .strip_prefix("http://")
            .or_else(|| entry.strip_prefix("https://"))
            .unwrap_or(entry)
            .trim_start_matches('.');
        if !valid_site_url(&format!("https://{bare}")) {
            return Err(ManagementError::invalid(
                "excludedReferrers",
                format!("The url '{entry}' is not a valid URL."),
            ));
        }
    }
    Ok(list.join(","))
}

fn timezone_name(tz: &str) -> String {
    if let Some(offset) = tz.strip_prefix("UTC") {
        // Matomo's SitesManager_Format_Utc: `UTC+5:30`.
        let offset = offset
            .replace(".25", ":15")
            .replace(".5", ":30")
            .replace(".75", ":45");
        return format!("UTC{offset}");
    }
    tz.rsplit('/').next().unwrap_or(tz).replace('_', " ")
}

fn currency_name(code: &str) -> &str {
    CURRENCY_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Result<Vec<String>> {
        clean_urls(list, true)
    }

    #[test]
    fn urls_are_cleaned_like_matomo() {
        assert_eq!(
            urls(&[
                "http://piwik.net/",
                "http://piwik.com",
                "https://piwik.net/test/",
                "piwik.net/another/test",
                "http://piwik.com",
            ])
            .unwrap(),
            [
                "http://piwik.net",
                "http://piwik.com",
                "https://piwik.net/test",
                "http://piwik.net/another/test"
            ]
        );
        assert_eq!(
            urls(&["//cdn.example.org"]).unwrap(),
            ["http://cdn.example.org"]
        );
        assert_eq!(urls(&["*.example.org"]).unwrap(), ["http://*.example.org"]);
        assert_eq!(
            urls(&["localhost:8080"]).unwrap(),
            ["http://localhost:8080"]
        );
        assert_eq!(
            urls(&["HTTPS://Example.org"]).unwrap(),
            ["https://Example.org"]
        );
        assert_eq!(
            urls(&["http://[::1]:8080/x"]).unwrap(),
            ["http://[::1]:8080/x"]
        );
        assert_eq!(
            urls(&["https://bücher.example"]).unwrap(),
            ["https://bücher.example"]
        );
    }

    #[test]
    fn garbage_urls_are_rejected() {
        for bad in [
            "javascript:alert(1)",
            "ftp://example.org",
            "mailto:me@example.org",
            "not a url",
            "http://",
            "http://exa mple.org",
            "http://user@example.org",
            "http://example..org",
            "http://example.org:99999",
            "<script>",
        ] {
            let err = urls(&[bad]).unwrap_err();
            assert!(
                matches!(err, ManagementError::InvalidParameter { name: "urls", .. }),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            urls(&["", " "]).unwrap_err().to_string(),
            "You must specify at least one URL for the website."
        );
    }

    #[test]
    fn time_zones() {
        for ok in [
            "UTC",
            "UTC+5.5",
            "UTC-12",
            "UTC+14",
            "UTC+5.75",
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
        ] {
            assert_eq!(check_timezone(ok).unwrap(), ok);
        }
        assert_eq!(check_timezone("europe/paris").unwrap(), "Europe/Paris");
        for bad in [
            "UTC+5.4",
            "UTC+15",
            "UTC+0",
            "UTC+05:30",
            "Mars/Olympus",
            "",
            "GMT+2x",
        ] {
            assert!(check_timezone(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_timezone("Nowhere").unwrap_err().to_string(),
            "The timezone \"Nowhere\" is not valid. Please enter a valid timezone."
        );
        assert_eq!(timezone_name("UTC+5.5"), "UTC+5:30");
        assert_eq!(timezone_name("UTC"), "UTC");
        assert_eq!(timezone_name("America/New_York"), "New York");
    }

    #[test]
    fn currencies() {
        assert_eq!(check_currency(" EUR ").unwrap(), "EUR");
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(check_currency(bad).is_err(), "{bad}");
        }
        assert_eq!(currency_name("USD"), "US Dollar");
        assert_eq!(currency_name("XTS"), "XTS");
    }

    #[test]
    fn excluded_ips() {
        assert_eq!(
            check_ips(" 1.2.3.4, 10.0.0.0/8,192.168.*.*, ::1, 2001:db8::/32,1.2.3.4").unwrap(),
            "1.2.3.4,10.0.0.0/8,192.168.*.*,::1,2001:db8::/32"
        );
        // Matomo's own list of invalid entries (SitesManager ApiTest).
        for bad in [
            "35817587341",
            "ieagieha",
            "1.2.3",
            "*.1.1.1",
            "*.*.1.1",
            "*.*.*.1",
            "1.1.1.1.1",
            "1.2.*.4",
            "1.2.3.4/33",
            "::1/129",
        ] {
            let err = check_ips(bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "The IP to exclude \"{bad}\" does not have a valid IP format (eg. 1.2.3.4, 1.2.3.*, or 1.2.3.4/5)."
                )
            );
        }
    }

    #[test]
    fn regex_entries_must_compile() {
        assert_eq!(
            check_regex_list("x", "sid, /^utm_.*/i ,/usr/bin/curl").unwrap(),
            "sid,/^utm_.*/i,/usr/bin/curl"
        );
        assert!(check_regex_list("x", "/(unclosed/").is_err());
    }

    #[test]
    fn referrers() {
        assert_eq!(
            check_referrers("example.org, .sub.example.com ,https://x.org/path").unwrap(),
            "example.org,.sub.example.com,https://x.org/path"
        );
        assert!(check_referrers("not valid").is_err());
    }

    #[test]
    fn url_keys_ignore_scheme_www_and_slash() {
        assert_eq!(url_key("https://www.Example.org/"), "example.org");
        assert_eq!(url_key("http://example.org"), "example.org");
        assert_eq!(url_key("example.org/shop"), "example.org/shop");
    }
}
