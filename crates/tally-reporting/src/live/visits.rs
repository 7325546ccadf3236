//! `Live.getLastVisitsDetails`: the visits of a site read from `log_visit`
//! (newest first, paged in SQL), each shown with the fields Matomo's
//! `VisitorDetails` classes add, in their order (Live, CoreHome, Actions,
//! Referrers, UserLanguage, DevicesDetection, Ecommerce, Events,
//! UserCountry, VisitTime, VisitorInterest, Resolution, DevicePlugins,
//! CustomVariables; Goals fills `goalConversions`), and its
//! `actionDetails`: the actions of `log_link_visit_action`, the goal
//! conversions and the ecommerce orders and carts of `log_conversion`
//! (with their `log_conversion_item` items), sorted as Matomo's
//! `Visitor::sortActionDetails` sorts them and extended as its plugins
//! extend each one.
//!
//! Values keep PHP's types as Matomo's database layer returns them:
//! integer columns as integers, `floor()`s as floats, missing values as
//! `null`.

use std::cmp::Ordering;
use std::collections::HashMap;

use diesel::MysqlConnection;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, SmallInt, Text, TinyInt, Unsigned};
use tally_datatable::render::{Report, Tree};
use time::OffsetDateTime;

use super::{LiveSite, load_site, segment, site_ids, start_and_end, utc_datetime};
use crate::ReportingError;
use crate::formatting::{currency_symbol, pretty_money, pretty_time};
use crate::methods::Ctx;
use crate::output::Output;
use crate::present::{
    ICONS, UNKNOWN, brand_label, browser_logo, browser_with_version, continent, country_name,
    device_type, engine_name, flag, language_name, main_host, model_name, os_full_name, os_logo,
    referrer_logo, referrer_type_label, ucfirst,
};

/// Matomo's `filter_limit` default for this method (`API::getLastVisitsDetails`
/// reads it with a default of 10).
const DEFAULT_LIMIT: i64 = 10;
/// `[General] visitor_log_maximum_actions_per_visit`.
const MAX_ACTIONS_PER_VISIT: usize = 500;
/// `CustomVariables::getNumUsableCustomVariables` with the default schema.
const CUSTOM_VARIABLES: usize = 5;
/// The browser plugins of `DevicePlugins::getAllPluginColumns`, in order.
const PLUGINS: [&str; 8] = [
    "cookie",
    "flash",
    "java",
    "pdf",
    "quicktime",
    "realplayer",
    "silverlight",
    "windowsmedia",
];

/// An ordered PHP array under construction: Matomo's plugins set, replace
/// (in place) and unset keys, and the output keeps the resulting order.
#[derive(Debug, Clone, Default)]
pub(super) struct Fields(Vec<(String, Tree)>);

impl Fields {
    /// `$array[$key] = $value`: replaced in place, or appended.
    pub(super) fn set(&mut self, key: &str, value: Tree) {
        match self.0.iter_mut().find(|(name, _)| name == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// `unset($array[$key])`.
    pub(super) fn remove(&mut self, key: &str) -> Option<Tree> {
        let index = self.0.iter().position(|(name, _)| name == key)?;
        Some(self.0.remove(index).1)
    }

    pub(super) fn get(&self, key: &str) -> Option<&Tree> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// The fields in order.
    pub(super) fn entries(&self) -> &[(String, Tree)] {
        &self.0
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// PHP `empty()`.
    pub(super) fn is_empty_value(&self, key: &str) -> bool {
        self.get(key).is_none_or(php_empty)
    }

    pub(super) fn text(&self, key: &str) -> String {
        self.get(key).map(tree_string).unwrap_or_default()
    }

    pub(super) fn number(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Tree::Int(number) => Some(*number as f64),
            Tree::Float(number) => Some(*number),
            Tree::Str(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    pub(super) fn into_tree(self) -> Tree {
        Tree::Assoc(self.0)
    }
}

pub(super) fn php_empty(value: &Tree) -> bool {
    match value {
        Tree::Null => true,
        Tree::Bool(flag) => !flag,
        Tree::Int(number) => *number == 0,
        Tree::Float(number) => *number == 0.0,
        Tree::Str(text) => text.is_empty() || text == "0",
        Tree::Assoc(entries) => entries.is_empty(),
        Tree::List(items) => items.is_empty(),
        // A report inside an array (getProcessedReport's) is an object.
        Tree::Report(_) => false,
    }
}

pub(super) fn tree_string(value: &Tree) -> String {
    match value {
        Tree::Int(number) => number.to_string(),
        Tree::Float(number) => tally_datatable::format::php_float_string(*number),
        Tree::Str(text) => text.clone(),
        Tree::Bool(true) => "1".to_owned(),
        _ => String::new(),
    }
}

fn text_or_null(value: Option<String>) -> Tree {
    value.map_or(Tree::Null, Tree::Str)
}

fn int_or_null<T: Into<i64>>(value: Option<T>) -> Tree {
    value.map_or(Tree::Null, |number| Tree::Int(number.into()))
}

// ---------------------------------------------------------------------------
// Dates as Matomo's English locale shows them

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A unix time in the site's time zone.
pub(super) fn local(site: &LiveSite, unix: i64) -> OffsetDateTime {
    let offset = site.info.timezone.offset_at(unix).seconds();
    OffsetDateTime::from_unix_timestamp(unix.saturating_add(i64::from(offset)))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn utc(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `Date::TIME_FORMAT` (`HH:mm:ss`).
fn time_pretty(at: OffsetDateTime) -> String {
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

/// `Date::DATE_FORMAT_LONG` (`EEEE, MMMM d, y`): "Sunday, April 7, 2013".
pub(super) fn date_long(at: OffsetDateTime) -> String {
    format!(
        "{}, {} {}, {}",
        WEEKDAYS[usize::from(at.weekday().number_days_from_monday())],
        MONTHS[usize::from(u8::from(at.month())) - 1],
        at.day(),
        at.year()
    )
}

/// `Date::DATETIME_FORMAT_SHORT` (`MMM d, y HH:mm:ss`): "Apr 7, 2013
/// 10:00:00".
fn datetime_short(at: OffsetDateTime) -> String {
    let month = MONTHS[usize::from(u8::from(at.month())) - 1];
    format!(
        "{} {}, {} {}",
        &month[..3],
        at.day(),
        at.year(),
        time_pretty(at)
    )
}

// ---------------------------------------------------------------------------
// Reading visits

#[derive(QueryableByName)]
struct VisitRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    idvisit: u64,
    #[diesel(sql_type = Unsigned<Integer>)]
    idsite: u32,
    #[diesel(sql_type = Text)]
    visitor_hex: String,
    #[diesel(sql_type = Text)]
    config_hex: String,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    first_ts: i64,
    #[diesel(sql_type = BigInt)]
    last_ts: i64,
    #[diesel(sql_type = Nullable<TinyInt>)]
    visit_goal_buyer: Option<i8>,
    #[diesel(sql_type = Nullable<TinyInt>)]
    visit_goal_converted: Option<i8>,
    #[diesel(sql_type = Unsigned<Integer>)]
    visit_total_time: u32,
    #[diesel(sql_type = Nullable<TinyInt>)]
    visitor_returning: Option<i8>,
    #[diesel(sql_type = Unsigned<Integer>)]
    visitor_count_visits: u32,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    visitor_seconds_since_first: Option<u32>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    visitor_seconds_since_order: Option<u32>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    visitor_seconds_since_last: Option<u32>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    visit_total_actions: Option<u32>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    visit_total_interactions: Option<u32>,
    #[diesel(sql_type = Nullable<Unsigned<SmallInt>>)]
    visit_total_searches: Option<u16>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    visit_total_events: Option<u32>,
    #[diesel(sql_type = Nullable<Unsigned<TinyInt>>)]
    referer_type: Option<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    referer_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    referer_keyword: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    referer_url: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    config_os: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    config_os_version: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    config_browser_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    config_browser_version: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    config_browser_engine: Option<String>,
    #[diesel(sql_type = Nullable<TinyInt>)]
    config_device_type: Option<i8>,
    #[diesel(sql_type = Nullable<Text>)]
    config_device_brand: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    config_device_model: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    config_resolution: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    plugins: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    location_browser_lang: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    location_country: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    location_region: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    location_city: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    latitude: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    longitude: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    local_time: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_vars: Option<String>,
}

/// Columns packed into one string (unit separator between values): the
/// plugin flags and the custom variables, so that the row stays short.
const SEP: char = '\u{1f}';

const VISIT_COLUMNS: &str = "log_visit.idvisit, log_visit.idsite, \
    LOWER(HEX(log_visit.idvisitor)) AS visitor_hex, LOWER(HEX(log_visit.config_id)) AS config_hex, \
    INET6_NTOA(log_visit.location_ip) AS ip, log_visit.user_id, \
    CAST(UNIX_TIMESTAMP(log_visit.visit_first_action_time) AS SIGNED) AS first_ts, \
    CAST(UNIX_TIMESTAMP(log_visit.visit_last_action_time) AS SIGNED) AS last_ts, \
    log_visit.visit_goal_buyer, log_visit.visit_goal_converted, log_visit.visit_total_time, \
    log_visit.visitor_returning, log_visit.visitor_count_visits, \
    log_visit.visitor_seconds_since_first, log_visit.visitor_seconds_since_order, \
    log_visit.visitor_seconds_since_last, log_visit.visit_total_actions, \
    log_visit.visit_total_interactions, log_visit.visit_total_searches, \
    log_visit.visit_total_events, log_visit.referer_type, log_visit.referer_name, \
    log_visit.referer_keyword, log_visit.referer_url, log_visit.config_os, \
    log_visit.config_os_version, log_visit.config_browser_name, \
    log_visit.config_browser_version, log_visit.config_browser_engine, \
    log_visit.config_device_type, log_visit.config_device_brand, \
    log_visit.config_device_model, log_visit.config_resolution, \
    CONCAT_WS(CHAR(31), IFNULL(log_visit.config_cookie, ''), IFNULL(log_visit.config_flash, ''), \
      IFNULL(log_visit.config_java, ''), IFNULL(log_visit.config_pdf, ''), \
      IFNULL(log_visit.config_quicktime, ''), IFNULL(log_visit.config_realplayer, ''), \
      IFNULL(log_visit.config_silverlight, ''), IFNULL(log_visit.config_windowsmedia, '')) AS plugins, \
    log_visit.location_browser_lang, log_visit.location_country, log_visit.location_region, \
    log_visit.location_city, CAST(log_visit.location_latitude AS CHAR) AS latitude, \
    CAST(log_visit.location_longitude AS CHAR) AS longitude, \
    CAST(log_visit.visitor_localtime AS CHAR) AS local_time, \
    CONCAT_WS(CHAR(31), IFNULL(log_visit.custom_var_k1, ''), IFNULL(log_visit.custom_var_v1, ''), \
      IFNULL(log_visit.custom_var_k2, ''), IFNULL(log_visit.custom_var_v2, ''), \
      IFNULL(log_visit.custom_var_k3, ''), IFNULL(log_visit.custom_var_v3, ''), \
      IFNULL(log_visit.custom_var_k4, ''), IFNULL(log_visit.custom_var_v4, ''), \
      IFNULL(log_visit.custom_var_k5, ''), IFNULL(log_visit.custom_var_v5, '')) AS custom_vars";

/// Which visits `Model::queryLogVisits` reads.
pub(super) struct Selection {
    /// One visitor's visits only (hex `idvisitor`).
    pub(super) visitor: Option<String>,
    pub(super) start: Option<i64>,
    pub(super) end: Option<i64>,
    pub(super) min_timestamp: Option<i64>,
    pub(super) ascending: bool,
    pub(super) offset: i64,
    pub(super) limit: i64,
}

/// `Model::queryLogVisits` in one query (Matomo splits long periods into
/// several queries for speed; the rows are the same).
fn query_visits(
    conn: &mut MysqlConnection,
    ids: &[u32],
    segment: &tally_archiving::segment::Segment,
    selection: &Selection,
) -> QueryResult<Vec<VisitRow>> {
    let sql = segment.to_sql();
    let id_list = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let mut text = format!(
        "SELECT /* Live.getLastVisitsDetails */ {VISIT_COLUMNS} FROM log_visit AS log_visit \
         WHERE log_visit.idsite IN ({id_list})"
    );
    let mut times = Vec::new();
    if let Some(visitor) = &selection.visitor {
        // Hex digits only: an id that is not one matches nothing.
        let hex: String = visitor.chars().filter(char::is_ascii_hexdigit).collect();
        text.push_str(&format!(" AND log_visit.idvisitor = UNHEX('{hex}')"));
    }
    if let Some(min) = selection.min_timestamp {
        text.push_str(" AND log_visit.visit_last_action_time > ?");
        times.push(min);
    }
    if let Some(start) = selection.start {
        text.push_str(" AND log_visit.visit_last_action_time >= ?");
        times.push(start);
    }
    if let Some(end) = selection.end {
        text.push_str(" AND log_visit.visit_last_action_time <= ?");
        times.push(end);
    }
    text.push_str(&format!(" AND ({})", sql.where_sql));
    let order = if selection.ascending { "ASC" } else { "DESC" };
    text.push_str(" ORDER BY ");
    if ids.len() <= 1 {
        text.push_str(&format!("log_visit.idsite {order}, "));
    }
    text.push_str(&format!(
        "log_visit.visit_last_action_time {order}, log_visit.idvisit {order}"
    ));
    if selection.limit >= 1 {
        text.push_str(&format!(
            " LIMIT {}, {}",
            selection.offset.max(0),
            selection.limit
        ));
    }
    let mut query = diesel::sql_query(text).into_boxed::<Mysql>();
    for time in times {
        query = query.bind::<Text, _>(utc_datetime(time));
    }
    sql.apply_binds(query).load(conn)
}

/// `getLastVisitsDetails`' parameters, as Matomo reads them.
fn selection(ctx: &Ctx<'_>, site: &LiveSite) -> Result<Selection, ReportingError> {
    let int = |name: &str, default: i64| -> i64 {
        ctx.request
            .non_empty(name)
            .and_then(|raw| raw.trim().parse::<i64>().ok())
            .unwrap_or(default)
    };
    let (limit, offset) = match ctx.request.non_empty("countVisitorsToFetch") {
        Some(raw) => (raw.trim().parse::<i64>().unwrap_or(0), 0),
        None => (int("filter_limit", DEFAULT_LIMIT), int("filter_offset", 0)),
    };
    // `is_numeric($minTimestamp)`, then `!empty()`.
    let min_timestamp = ctx
        .request
        .non_empty("minTimestamp")
        .and_then(|raw| raw.trim().parse::<f64>().ok())
        .map(|value| value as i64)
        .filter(|value| *value != 0);
    let (start, end) = start_and_end(ctx, &site.info)?;
    Ok(Selection {
        visitor: None,
        start,
        end,
        min_timestamp,
        ascending: ctx
            .request
            .get("filter_sort_order")
            .is_some_and(|order| order.eq_ignore_ascii_case("asc")),
        offset,
        limit,
    })
}

/// `Live.getLastVisitsDetails`.
pub(crate) fn last_visits_details(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let ids = site_ids(ctx)?;
    let mut sites = HashMap::new();
    for idsite in &ids {
        sites.insert(*idsite, load_site(ctx.conn, *idsite)?);
    }
    let first = &sites[&ids[0]];
    let segment = segment(ctx, &first.info)?;
    let selection = selection(ctx, first)?;
    let fetch_actions = !ctx
        .request
        .get("doNotFetchActions")
        .is_some_and(|raw| matches!(raw.trim(), "1" | "true"));
    let anonymous = ctx.principal.is_anonymous();
    let visits = read_visits(
        ctx.conn,
        &ids,
        &sites,
        &segment,
        &selection,
        Fetch {
            actions: fetch_actions,
            bandwidth: ctx.loader.config.bandwidth,
        },
        anonymous,
    )?;
    // Matomo's generic ColumnDelete filter reaches the visitor log's rows
    // too: each visit keeps the fields `showColumns` names, in their own
    // order, less those of `hideColumns`.
    let filtered = ["showColumns", "hideColumns"]
        .iter()
        .any(|name| ctx.request.non_empty(name).is_some());
    Ok(Output::Report(Report::Tree(Tree::List(
        visits
            .into_iter()
            .map(|mut visit| {
                if filtered {
                    visit.0.retain(|(name, _)| super::column_shown(ctx, name));
                }
                visit.into_tree()
            })
            .collect(),
    ))))
}

/// What [`read_visits`] reads of each visit's actions.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fetch {
    /// The actions at all (`actionDetails` stays empty without).
    pub(super) actions: bool,
    /// Their Bandwidth plugin fields (`[reporting] bandwidth`).
    pub(super) bandwidth: bool,
}

/// The visits of `selection`, each as Matomo's visitor log shows it
/// (`actionDetails` empty unless `fetch.actions`; without the visitor id,
/// IP, fingerprint and user id for the `anonymous` user, as Matomo's
/// `Visitor::cleanVisitorDetails`).
pub(super) fn read_visits(
    conn: &mut MysqlConnection,
    ids: &[u32],
    sites: &HashMap<u32, LiveSite>,
    segment: &tally_archiving::segment::Segment,
    selection: &Selection,
    fetch: Fetch,
    anonymous: bool,
) -> Result<Vec<Fields>, ReportingError> {
    let rows = query_visits(conn, ids, segment, selection)?;
    let visit_ids: Vec<u64> = rows.iter().map(|row| row.idvisit).collect();
    let goals = load_goal_conversions(conn, &visit_ids)?;
    let mut actions = if fetch.actions {
        load_actions(conn, &visit_ids, fetch.bandwidth)?
    } else {
        HashMap::new()
    };
    if fetch.actions {
        // In the order of Matomo's plugins (Actions, Goals, Ecommerce):
        // what ties in the sort keeps it.
        for (idvisit, conversions) in &goals {
            actions
                .entry(*idvisit)
                .or_default()
                .extend(conversions.iter().cloned());
        }
        for (idvisit, orders) in load_ecommerce(conn, &visit_ids)? {
            actions.entry(idvisit).or_default().extend(orders);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(site) = sites.get(&row.idsite) else {
            continue;
        };
        let mut visit = visit_fields(conn, site, row)?;
        if anonymous {
            visit.set("visitIp", Tree::Null);
            visit.set("visitorId", Tree::Bool(false));
            visit.set("fingerprint", Tree::Bool(false));
            visit.set("userId", Tree::Null);
        }
        visit.set(
            "goalConversions",
            Tree::Int(goals.get(&row.idvisit).map_or(0, Vec::len) as i64),
        );
        let details = if fetch.actions {
            let list = actions.remove(&row.idvisit).unwrap_or_default();
            action_details(site, row, list, &mut visit)
        } else {
            Vec::new()
        };
        visit.set("actionDetails", Tree::List(details));
        out.push(visit);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Visit fields

/// `getReferrerTypeFromShortName` of a stored type id.
fn referrer_type_name(code: Option<u8>) -> String {
    code.and_then(|code| referrer_type_label(&code.to_string()))
        .map(|(_, short)| short.to_owned())
        .unwrap_or_default()
}

/// `API::getCleanKeyword` (for search engines) then `urldecode`: the
/// keyword as shown. A search engine visit without a keyword shows
/// `Keyword not defined`, as the Referrers reports label it.
fn clean_keyword(keyword: &str, kind: &str) -> String {
    if kind == "search" && keyword.is_empty() {
        return "Keyword not defined".to_owned();
    }
    let decoded = tally_datatable::format::php_urldecode(keyword.trim().as_bytes());
    String::from_utf8_lossy(&decoded).into_owned()
}

/// `UrlHelper::isLookLikeUrl`: an optional scheme, `//`, something after
/// it, and not a `javascript:`, `vbscript:` or `data:` URL.
fn looks_like_url(url: &str) -> bool {
    let Some(position) = url.find("//") else {
        return false;
    };
    let (prefix, rest) = (&url[..position], &url[position + 2..]);
    let scheme_ok = match prefix.strip_suffix(':') {
        None => prefix.is_empty(),
        Some(scheme) => {
            scheme.is_empty()
                || (scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
        }
    };
    let lower = prefix.to_ascii_lowercase();
    scheme_ok
        && !rest.is_empty()
        && !["javascript:", "vbscript:", "data:"]
            .iter()
            .any(|bad| lower.starts_with(bad))
}

/// The fields of Matomo's `extendVisitorDetails` calls for one visit.
fn visit_fields(
    conn: &mut MysqlConnection,
    site: &LiveSite,
    row: &VisitRow,
) -> Result<Fields, ReportingError> {
    let mut v = Fields::default();
    // Live: identity, placeholders, times.
    v.set("idSite", Tree::Int(i64::from(row.idsite)));
    v.set("idVisit", Tree::Int(row.idvisit as i64));
    v.set("visitIp", text_or_null(row.ip.clone()));
    v.set("visitorId", Tree::Str(row.visitor_hex.clone()));
    v.set("fingerprint", Tree::Str(row.config_hex.clone()));
    v.set("actionDetails", Tree::Null);
    v.set("goalConversions", Tree::Null);
    v.set("siteCurrency", Tree::Str(site.currency.clone()));
    v.set(
        "siteCurrencySymbol",
        Tree::Str(currency_symbol(&site.currency).to_owned()),
    );
    let last = utc(row.last_ts);
    v.set(
        "serverDate",
        Tree::Str(format!(
            "{:04}-{:02}-{:02}",
            last.year(),
            u8::from(last.month()),
            last.day()
        )),
    );
    v.set("visitServerHour", Tree::Str(last.hour().to_string()));
    v.set("lastActionTimestamp", Tree::Int(row.last_ts));
    v.set("lastActionDateTime", Tree::Str(utc_datetime(row.last_ts)));
    v.set("siteName", Tree::Str(site.name.clone()));
    v.set("serverTimestamp", Tree::Int(row.last_ts));
    v.set("firstActionTimestamp", Tree::Int(row.first_ts));
    let last_local = local(site, row.last_ts);
    let first_local = local(site, row.first_ts);
    v.set("serverTimePretty", Tree::Str(time_pretty(last_local)));
    v.set("serverDatePretty", Tree::Str(date_long(last_local)));
    v.set(
        "serverDatePrettyFirstAction",
        Tree::Str(date_long(first_local)),
    );
    v.set(
        "serverTimePrettyFirstAction",
        Tree::Str(time_pretty(first_local)),
    );

    // CoreHome.
    v.set(
        "userId",
        text_or_null(row.user_id.clone().filter(|id| !id.is_empty())),
    );
    let visitor_type = match row.visitor_returning {
        Some(2) => "returningCustomer",
        Some(1) => "returning",
        _ => "new",
    };
    v.set("visitorType", Tree::Str(visitor_type.to_owned()));
    v.set(
        "visitorTypeIcon",
        if visitor_type == "new" {
            Tree::Null
        } else {
            Tree::Str("plugins/Live/images/returningVisitor.png".to_owned())
        },
    );
    v.set("visitConverted", int_or_null(row.visit_goal_converted));
    v.set(
        "visitConvertedIcon",
        if row.visit_goal_converted.unwrap_or(0) != 0 {
            Tree::Str("plugins/Morpheus/images/goal.svg".to_owned())
        } else {
            Tree::Null
        },
    );
    v.set("visitCount", Tree::Int(i64::from(row.visitor_count_visits)));
    let status = match row.visit_goal_buyer {
        Some(1) => "ordered",
        Some(2) => "abandonedCart",
        Some(3) => "orderedThenAbandonedCart",
        _ => "none",
    };
    v.set("visitEcommerceStatus", Tree::Str(status.to_owned()));
    v.set(
        "visitEcommerceStatusIcon",
        match status {
            "ordered" | "orderedThenAbandonedCart" => {
                Tree::Str("plugins/Morpheus/images/ecommerceOrder.svg".to_owned())
            }
            "abandonedCart" => {
                Tree::Str("plugins/Morpheus/images/ecommerceAbandonedCart.svg".to_owned())
            }
            _ => Tree::Null,
        },
    );
    let days =
        |seconds: Option<u32>| Tree::Float((f64::from(seconds.unwrap_or(0)) / 86_400.0).floor());
    v.set("daysSinceFirstVisit", days(row.visitor_seconds_since_first));
    v.set(
        "secondsSinceFirstVisit",
        int_or_null(row.visitor_seconds_since_first),
    );
    v.set(
        "daysSinceLastEcommerceOrder",
        days(row.visitor_seconds_since_order),
    );
    v.set(
        "secondsSinceLastEcommerceOrder",
        int_or_null(row.visitor_seconds_since_order),
    );
    v.set("visitDuration", Tree::Int(i64::from(row.visit_total_time)));
    v.set(
        "visitDurationPretty",
        Tree::Str(pretty_time(f64::from(row.visit_total_time), true)),
    );

    // Actions.
    v.set("searches", int_or_null(row.visit_total_searches));
    v.set("actions", int_or_null(row.visit_total_actions));
    v.set("interactions", int_or_null(row.visit_total_interactions));

    // Referrers.
    let kind = referrer_type_name(row.referer_type);
    v.set("referrerType", Tree::Str(kind.clone()));
    v.set(
        "referrerTypeName",
        Tree::Str(
            row.referer_type
                .and_then(|code| referrer_type_label(&code.to_string()))
                .map_or(UNKNOWN, |(label, _)| label)
                .to_owned(),
        ),
    );
    let name =
        tally_datatable::format::html_entity_decode(row.referer_name.as_deref().unwrap_or(""))
            .into_owned();
    v.set("referrerName", Tree::Str(name.clone()));
    v.set(
        "referrerKeyword",
        Tree::Str(clean_keyword(
            row.referer_keyword.as_deref().unwrap_or(""),
            &kind,
        )),
    );
    let url = row.referer_url.clone().unwrap_or_default();
    let position = (kind == "search" && name.contains("Google"))
        .then(|| query_parameter(&url, "cd"))
        .flatten()
        .filter(|value| !value.is_empty() && value != "0");
    v.set("referrerKeywordPosition", text_or_null(position));
    v.set(
        "referrerUrl",
        if looks_like_url(&url) {
            Tree::Str(url.clone())
        } else {
            Tree::Null
        },
    );
    let engine_url = (kind == "search" && !name.is_empty())
        .then(|| main_host("S", &name).map(|host| format!("http://{host}")))
        .flatten();
    v.set("referrerSearchEngineUrl", text_or_null(engine_url.clone()));
    v.set(
        "referrerSearchEngineIcon",
        text_or_null(
            engine_url
                .as_deref()
                .map(|url| referrer_logo("searchEngines", url)),
        ),
    );
    let social_url = (kind == "social" && !name.is_empty())
        .then(|| main_host("N", &name))
        .flatten();
    v.set("referrerSocialNetworkUrl", text_or_null(social_url.clone()));
    v.set(
        "referrerSocialNetworkIcon",
        text_or_null(
            social_url
                .as_deref()
                .map(|url| referrer_logo("socials", url)),
        ),
    );

    // UserLanguage.
    let lang = row.location_browser_lang.clone();
    v.set("languageCode", text_or_null(lang.clone()));
    v.set(
        "language",
        Tree::Str(language_name(lang.as_deref().unwrap_or(""))),
    );

    // DevicesDetection.
    let device = row
        .config_device_type
        .and_then(|id| device_type(&id.to_string()));
    v.set(
        "deviceType",
        Tree::Str(device.map_or_else(|| UNKNOWN.to_owned(), ucfirst)),
    );
    v.set(
        "deviceTypeIcon",
        Tree::Str(format!(
            "{ICONS}/devices/{}.png",
            device.unwrap_or("unknown").replace(' ', "_")
        )),
    );
    v.set(
        "deviceBrand",
        Tree::Str(brand_label(
            row.config_device_brand.as_deref().unwrap_or(""),
        )),
    );
    v.set(
        "deviceModel",
        Tree::Str(model_name(row.config_device_model.as_deref().unwrap_or(""))),
    );
    let os = row.config_os.clone().unwrap_or_default();
    let os_version = row.config_os_version.clone().unwrap_or_default();
    v.set(
        "operatingSystem",
        Tree::Str(os_full_name(&format!("{os};{os_version}"))),
    );
    v.set("operatingSystemName", Tree::Str(os_full_name(&os)));
    v.set("operatingSystemIcon", Tree::Str(os_logo(&os)));
    v.set("operatingSystemCode", text_or_null(row.config_os.clone()));
    v.set(
        "operatingSystemVersion",
        text_or_null(row.config_os_version.clone()),
    );
    let engine = row.config_browser_engine.clone().unwrap_or_default();
    v.set(
        "browserFamily",
        text_or_null(row.config_browser_engine.clone()),
    );
    v.set("browserFamilyDescription", Tree::Str(engine_name(&engine)));
    let browser_code = row.config_browser_name.clone().unwrap_or_default();
    let browser_version = row.config_browser_version.clone().unwrap_or_default();
    v.set(
        "browser",
        Tree::Str(browser_with_version(&format!(
            "{browser_code};{browser_version}"
        ))),
    );
    v.set(
        "browserName",
        // `getBrowserName`: apps and libraries are stored by name.
        Tree::Str(crate::present::browser_name(&browser_code)),
    );
    v.set("browserIcon", Tree::Str(browser_logo(&browser_code)));
    v.set("browserCode", text_or_null(row.config_browser_name.clone()));
    v.set(
        "browserVersion",
        text_or_null(row.config_browser_version.clone()),
    );

    // Ecommerce: the visitor's lifetime orders and carts.
    if site.info.ecommerce {
        let totals = ecommerce_totals(conn, row.idsite, &row.visitor_hex)?;
        for (name, value) in totals {
            v.set(name, value);
        }
    }

    // Events.
    v.set("events", int_or_null(row.visit_total_events));

    // UserCountry.
    let country = row.location_country.clone().unwrap_or_default();
    let (continent_code, continent_name) = continent(&country);
    v.set("continent", Tree::Str(continent_name.to_owned()));
    v.set("continentCode", Tree::Str(continent_code.to_owned()));
    v.set("country", Tree::Str(country_name(&country)));
    v.set("countryCode", text_or_null(row.location_country.clone()));
    v.set("countryFlag", Tree::Str(flag(&country)));
    // Region names need a region database we do not ship
    // (MATOMO-DIFFERENCES.md): the region is null, its code is shown.
    v.set("region", Tree::Null);
    v.set("regionCode", text_or_null(row.location_region.clone()));
    let city = row.location_city.clone().filter(|city| !city.is_empty());
    v.set("city", text_or_null(city.clone()));
    let mut location = Vec::new();
    if let Some(city) = &city {
        location.push(city.clone());
    }
    location.push(country_name(&country));
    v.set("location", Tree::Str(location.join(", ")));
    let coordinate = |value: &Option<String>| {
        text_or_null(value.clone().filter(|text| !text.is_empty() && text != "0"))
    };
    v.set("latitude", coordinate(&row.latitude));
    v.set("longitude", coordinate(&row.longitude));

    // VisitTime.
    v.set("visitLocalTime", text_or_null(row.local_time.clone()));
    let hour = row
        .local_time
        .as_deref()
        .and_then(|time| time.split(':').next())
        .and_then(|hour| hour.parse::<u32>().ok())
        .unwrap_or(0);
    v.set("visitLocalHour", Tree::Str(hour.to_string()));

    // VisitorInterest.
    v.set("daysSinceLastVisit", days(row.visitor_seconds_since_last));
    v.set(
        "secondsSinceLastVisit",
        int_or_null(row.visitor_seconds_since_last),
    );

    // Resolution.
    v.set("resolution", text_or_null(row.config_resolution.clone()));

    // DevicePlugins.
    let flags: Vec<&str> = row.plugins.as_deref().unwrap_or("").split(SEP).collect();
    let used: Vec<&str> = PLUGINS
        .iter()
        .zip(flags.iter().chain(std::iter::repeat(&"")))
        .filter(|(_, flag)| **flag == "1")
        .map(|(name, _)| *name)
        .collect();
    v.set("plugins", Tree::Str(used.join(", ")));
    v.set(
        "pluginsIcons",
        if used.is_empty() {
            Tree::Null
        } else {
            Tree::List(
                used.iter()
                    .map(|name| {
                        Tree::Assoc(vec![
                            (
                                "pluginIcon".to_owned(),
                                Tree::Str(format!("{ICONS}/plugins/{name}.png")),
                            ),
                            ("pluginName".to_owned(), Tree::Str((*name).to_owned())),
                        ])
                    })
                    .collect(),
            )
        },
    );

    // CustomVariables (visit scope): keyed by slot.
    let values: Vec<&str> = row
        .custom_vars
        .as_deref()
        .unwrap_or("")
        .split(SEP)
        .collect();
    let mut variables = Vec::new();
    for slot in 1..=CUSTOM_VARIABLES {
        let key = values.get(2 * slot - 2).copied().unwrap_or("");
        let value = values.get(2 * slot - 1).copied().unwrap_or("");
        if !key.is_empty() && key != "0" {
            variables.push((
                slot.to_string(),
                Tree::Assoc(vec![
                    (
                        format!("customVariableName{slot}"),
                        Tree::Str(key.to_owned()),
                    ),
                    (
                        format!("customVariableValue{slot}"),
                        Tree::Str(value.to_owned()),
                    ),
                ]),
            ));
        }
    }
    v.set("customVariables", Tree::Assoc(variables));
    Ok(v)
}

/// `UrlHelper::getParameterFromQueryString` of the URL's query.
fn query_parameter(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| value.to_owned())
    })
}

#[derive(QueryableByName)]
struct TotalsRow {
    #[diesel(sql_type = Integer)]
    idgoal: i32,
    #[diesel(sql_type = Double)]
    revenue: f64,
    #[diesel(sql_type = BigInt)]
    conversions: i64,
    #[diesel(sql_type = Double)]
    items: f64,
}

/// `queryEcommerceConversionsVisitorLifeTimeMetricsForVisitor`.
fn ecommerce_totals(
    conn: &mut MysqlConnection,
    idsite: u32,
    visitor_hex: &str,
) -> QueryResult<Vec<(&'static str, Tree)>> {
    let rows: Vec<TotalsRow> = diesel::sql_query(
        "SELECT log_conversion.idgoal AS idgoal, \
         CAST(COALESCE(SUM(ROUND(log_conversion.revenue, 2)), 0) AS DOUBLE) AS revenue, \
         COUNT(*) AS conversions, \
         CAST(COALESCE(SUM(log_conversion.items), 0) AS DOUBLE) AS items \
         FROM log_visit AS log_visit STRAIGHT_JOIN log_conversion AS log_conversion \
         ON log_visit.idvisit = log_conversion.idvisit \
         WHERE log_visit.idsite = ? AND log_visit.idvisitor = UNHEX(?) \
         AND log_conversion.idgoal IN (-1, 0) GROUP BY log_conversion.idgoal",
    )
    .bind::<Unsigned<Integer>, _>(idsite)
    .bind::<Text, _>(visitor_hex)
    .load(conn)?;
    let of = |idgoal: i32| rows.iter().find(|row| row.idgoal == idgoal);
    let number = |value: f64| {
        if value == value.round() {
            Tree::Int(value as i64)
        } else {
            Tree::Float(value)
        }
    };
    let stats = |idgoal: i32| {
        of(idgoal).map_or((Tree::Int(0), Tree::Int(0), Tree::Int(0)), |row| {
            (
                number(row.revenue),
                Tree::Int(row.conversions),
                number(row.items),
            )
        })
    };
    let (order_revenue, orders, order_items) = stats(0);
    let (cart_revenue, carts, cart_items) = stats(-1);
    Ok(vec![
        ("totalEcommerceRevenue", order_revenue),
        ("totalEcommerceConversions", orders),
        ("totalEcommerceItems", order_items),
        ("totalAbandonedCartsRevenue", cart_revenue),
        ("totalAbandonedCarts", carts),
        ("totalAbandonedCartsItems", cart_items),
    ])
}

// ---------------------------------------------------------------------------
// Actions

/// One entry of a visit's action list before Matomo's extensions: the
/// fields in the order of its queries, plus what sorting needs.
#[derive(Debug, Clone)]
struct RawAction {
    fields: Fields,
    /// `serverTimePretty` before it is localized: the UTC unix time.
    time: i64,
    idlink_va: Option<u64>,
    /// The `type` as first selected (an action type id, or `goal`,
    /// `ecommerceOrder`, `ecommerceAbandonedCart`).
    kind: String,
    url: Option<String>,
    page_idaction: Option<u64>,
    goal_id: Option<i64>,
}

#[derive(QueryableByName)]
struct ActionRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    idvisit: u64,
    #[diesel(sql_type = Nullable<BigInt>)]
    kind: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    url: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    url_prefix: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    page_title: Option<String>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    page_idaction: Option<u32>,
    #[diesel(sql_type = Nullable<Text>)]
    idpageview: Option<String>,
    #[diesel(sql_type = Unsigned<BigInt>)]
    idlink_va: u64,
    #[diesel(sql_type = BigInt)]
    server_ts: i64,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    time_spent_ref: Option<u32>,
    #[diesel(sql_type = Nullable<Double>)]
    custom_float: Option<f64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    page_load_time: Option<i64>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    pageview_position: Option<u32>,
    #[diesel(sql_type = Nullable<Text>)]
    search_cat: Option<String>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    search_count: Option<u32>,
    #[diesel(sql_type = Nullable<Text>)]
    content_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    content_piece: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    content_target: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    content_interaction: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    product_price: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    product_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    product_sku: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    product_categories: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    event_type: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    event_category: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    event_action: Option<String>,
    #[diesel(sql_type = Nullable<Unsigned<BigInt>>)]
    bandwidth: Option<u64>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_vars: Option<String>,
}

fn id_list(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// `Actions\VisitorDetails::queryActionsForVisits` (with the fields the
/// Contents, Ecommerce, Events and CustomVariables plugins add, and with
/// `bandwidth` the Bandwidth plugin's `bandwidth`).
fn load_actions(
    conn: &mut MysqlConnection,
    visits: &[u64],
    bandwidth: bool,
) -> QueryResult<HashMap<u64, Vec<RawAction>>> {
    let mut out: HashMap<u64, Vec<RawAction>> = HashMap::new();
    if visits.is_empty() {
        return Ok(out);
    }
    let join = |alias: &str, column: &str| {
        format!(
            " LEFT JOIN log_action AS {alias} ON log_link_visit_action.{column} = {alias}.idaction"
        )
    };
    let mut sql = String::from(
        "SELECT log_link_visit_action.idvisit, \
         CAST(COALESCE(log_action.type, log_action_title.type) AS SIGNED) AS kind, \
         log_action.name AS url, CAST(log_action.url_prefix AS SIGNED) AS url_prefix, \
         log_action_title.name AS page_title, log_action.idaction AS page_idaction, \
         log_link_visit_action.idpageview, log_link_visit_action.idlink_va, \
         CAST(UNIX_TIMESTAMP(log_link_visit_action.server_time) AS SIGNED) AS server_ts, \
         log_link_visit_action.time_spent_ref_action AS time_spent_ref, \
         log_link_visit_action.custom_float, \
         CAST(log_link_visit_action.time_network + log_link_visit_action.time_server \
           + log_link_visit_action.time_transfer + log_link_visit_action.time_dom_completion \
           + log_link_visit_action.time_dom_processing + log_link_visit_action.time_on_load \
           AS SIGNED) AS page_load_time, \
         log_link_visit_action.pageview_position, log_link_visit_action.search_cat, \
         log_link_visit_action.search_count, \
         log_action_content_name.name AS content_name, \
         log_action_content_piece.name AS content_piece, \
         log_action_content_target.name AS content_target, \
         log_action_content_interaction.name AS content_interaction, \
         log_link_visit_action.product_price, \
         log_action_productview_name.name AS product_name, \
         log_action_productview_sku.name AS product_sku, \
         CONCAT_WS(CHAR(31), IFNULL(log_action_productview_category1.name, ''), \
           IFNULL(log_action_productview_category2.name, ''), \
           IFNULL(log_action_productview_category3.name, ''), \
           IFNULL(log_action_productview_category4.name, ''), \
           IFNULL(log_action_productview_category5.name, '')) AS product_categories, \
         CAST(log_action_event_category.type AS SIGNED) AS event_type, \
         log_action_event_category.name AS event_category, \
         log_action_event_action.name AS event_action, \
         log_link_visit_action.bandwidth, \
         CONCAT_WS(CHAR(31), IFNULL(log_link_visit_action.custom_var_k1, ''), \
           IFNULL(log_link_visit_action.custom_var_v1, ''), \
           IFNULL(log_link_visit_action.custom_var_k2, ''), \
           IFNULL(log_link_visit_action.custom_var_v2, ''), \
           IFNULL(log_link_visit_action.custom_var_k3, ''), \
           IFNULL(log_link_visit_action.custom_var_v3, ''), \
           IFNULL(log_link_visit_action.custom_var_k4, ''), \
           IFNULL(log_link_visit_action.custom_var_v4, ''), \
           IFNULL(log_link_visit_action.custom_var_k5, ''), \
           IFNULL(log_link_visit_action.custom_var_v5, '')) AS custom_vars \
         FROM log_link_visit_action AS log_link_visit_action",
    );
    sql.push_str(&join("log_action", "idaction_url"));
    sql.push_str(&join("log_action_title", "idaction_name"));
    sql.push_str(&join("log_action_content_name", "idaction_content_name"));
    sql.push_str(&join("log_action_content_piece", "idaction_content_piece"));
    sql.push_str(&join(
        "log_action_content_target",
        "idaction_content_target",
    ));
    sql.push_str(&join(
        "log_action_content_interaction",
        "idaction_content_interaction",
    ));
    sql.push_str(&join(
        "log_action_productview_name",
        "idaction_product_name",
    ));
    sql.push_str(&join("log_action_productview_sku", "idaction_product_sku"));
    for (index, column) in [
        "idaction_product_cat",
        "idaction_product_cat2",
        "idaction_product_cat3",
        "idaction_product_cat4",
        "idaction_product_cat5",
    ]
    .iter()
    .enumerate()
    {
        sql.push_str(&join(
            &format!("log_action_productview_category{}", index + 1),
            column,
        ));
    }
    sql.push_str(&join("log_action_event_action", "idaction_event_action"));
    sql.push_str(&join(
        "log_action_event_category",
        "idaction_event_category",
    ));
    sql.push_str(&format!(
        " WHERE log_link_visit_action.idvisit IN ({}) \
         ORDER BY log_link_visit_action.idvisit, log_link_visit_action.server_time ASC, \
         log_link_visit_action.idlink_va ASC",
        id_list(visits)
    ));
    let rows: Vec<ActionRow> = diesel::sql_query(sql).load(conn)?;
    for row in rows {
        let mut f = Fields::default();
        f.set("type", int_or_null(row.kind));
        f.set("url", text_or_null(row.url.clone()));
        f.set("url_prefix", int_or_null(row.url_prefix));
        f.set("pageTitle", text_or_null(row.page_title));
        f.set("pageIdAction", int_or_null(row.page_idaction));
        f.set("idpageview", text_or_null(row.idpageview));
        f.set("idlink_va", Tree::Int(row.idlink_va as i64));
        f.set("serverTimePretty", Tree::Str(utc_datetime(row.server_ts)));
        f.set("timeSpentRef", int_or_null(row.time_spent_ref));
        f.set("pageId", Tree::Int(row.idlink_va as i64));
        f.set(
            "custom_float",
            row.custom_float.map_or(Tree::Null, Tree::Float),
        );
        f.set("pageLoadTime", int_or_null(row.page_load_time));
        f.set("pageview_position", int_or_null(row.pageview_position));
        f.set("search_cat", text_or_null(row.search_cat));
        f.set("search_count", int_or_null(row.search_count));
        f.set("contentName", text_or_null(row.content_name));
        f.set("contentPiece", text_or_null(row.content_piece));
        f.set("contentTarget", text_or_null(row.content_target));
        f.set("contentInteraction", text_or_null(row.content_interaction));
        f.set(
            "productViewPrice",
            row.product_price.map_or(Tree::Null, Tree::Float),
        );
        f.set("productViewName", text_or_null(row.product_name));
        f.set("productViewSku", text_or_null(row.product_sku));
        let categories: Vec<String> = row
            .product_categories
            .unwrap_or_default()
            .split(SEP)
            .map(str::to_owned)
            .collect();
        for index in 1..=5 {
            f.set(
                &format!("productViewCategory{index}"),
                Tree::Str(categories.get(index - 1).cloned().unwrap_or_default()),
            );
        }
        f.set("eventType", int_or_null(row.event_type));
        f.set("eventCategory", text_or_null(row.event_category));
        f.set("eventAction", text_or_null(row.event_action));
        if bandwidth {
            f.set(
                "bandwidth",
                row.bandwidth
                    .and_then(|bytes| i64::try_from(bytes).ok())
                    .map_or(Tree::Null, Tree::Int),
            );
        }
        f.set("custom_vars", text_or_null(row.custom_vars));
        out.entry(row.idvisit).or_default().push(RawAction {
            fields: f,
            time: row.server_ts,
            idlink_va: Some(row.idlink_va),
            kind: row.kind.map(|kind| kind.to_string()).unwrap_or_default(),
            url: row.url,
            page_idaction: row.page_idaction.map(u64::from),
            goal_id: None,
        });
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct GoalRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    idvisit: u64,
    #[diesel(sql_type = Nullable<Text>)]
    goal_name: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    goal_id: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    idpageview: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    revenue: Option<f64>,
    #[diesel(sql_type = Nullable<Unsigned<BigInt>>)]
    idlink_va: Option<u64>,
    #[diesel(sql_type = BigInt)]
    server_ts: i64,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Nullable<Unsigned<TinyInt>>)]
    referer_type: Option<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    referer_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    referer_keyword: Option<String>,
}

/// `Goals\VisitorDetails::queryGoalConversionsForVisits`: the goal
/// conversions (not ecommerce) of the visits, oldest first.
fn load_goal_conversions(
    conn: &mut MysqlConnection,
    visits: &[u64],
) -> QueryResult<HashMap<u64, Vec<RawAction>>> {
    let mut out: HashMap<u64, Vec<RawAction>> = HashMap::new();
    if visits.is_empty() {
        return Ok(out);
    }
    let rows: Vec<GoalRow> = diesel::sql_query(format!(
        "SELECT log_conversion.idvisit, goal.name AS goal_name, goal.idgoal AS goal_id, \
         log_link_visit_action.idpageview, log_conversion.revenue, log_conversion.idlink_va, \
         CAST(UNIX_TIMESTAMP(log_conversion.server_time) AS SIGNED) AS server_ts, \
         log_conversion.url, log_conversion.referer_type, log_conversion.referer_name, \
         log_conversion.referer_keyword \
         FROM log_conversion AS log_conversion \
         LEFT JOIN log_link_visit_action AS log_link_visit_action \
           ON log_link_visit_action.idlink_va = log_conversion.idlink_va \
         LEFT JOIN goal AS goal ON (goal.idsite = log_conversion.idsite \
           AND goal.idgoal = log_conversion.idgoal) AND goal.deleted = 0 \
         WHERE log_conversion.idvisit IN ({}) AND log_conversion.idgoal > 0 \
         ORDER BY log_conversion.idvisit, log_conversion.server_time ASC",
        id_list(visits)
    ))
    .load(conn)?;
    for row in rows {
        let mut f = Fields::default();
        f.set("type", Tree::Str("goal".to_owned()));
        f.set(
            "goalName",
            text_or_null(
                row.goal_name
                    .map(|name| tally_datatable::format::html_entity_decode(&name).into_owned()),
            ),
        );
        f.set("goalId", int_or_null(row.goal_id));
        f.set("idpageview", text_or_null(row.idpageview));
        f.set("revenue", row.revenue.map_or(Tree::Null, Tree::Float));
        f.set("idlink_va", int_or_null(row.idlink_va.map(|id| id as i64)));
        f.set("goalPageId", int_or_null(row.idlink_va.map(|id| id as i64)));
        f.set("serverTimePretty", Tree::Str(utc_datetime(row.server_ts)));
        f.set("url", Tree::Str(row.url.clone()));
        f.set(
            "referrerType",
            Tree::Str(referrer_type_name(row.referer_type)),
        );
        f.set("referrerName", text_or_null(row.referer_name));
        f.set("referrerKeyword", text_or_null(row.referer_keyword));
        out.entry(row.idvisit).or_default().push(RawAction {
            fields: f,
            time: row.server_ts,
            idlink_va: row.idlink_va,
            kind: "goal".to_owned(),
            url: Some(row.url),
            page_idaction: None,
            goal_id: row.goal_id.map(i64::from),
        });
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct OrderRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    idvisit: u64,
    #[diesel(sql_type = Integer)]
    idgoal: i32,
    #[diesel(sql_type = Nullable<Text>)]
    idorder: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    revenue: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    revenue_subtotal: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    revenue_tax: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    revenue_shipping: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    revenue_discount: Option<f64>,
    #[diesel(sql_type = Nullable<Unsigned<SmallInt>>)]
    items: Option<u16>,
    #[diesel(sql_type = BigInt)]
    server_ts: i64,
    #[diesel(sql_type = Nullable<Unsigned<BigInt>>)]
    idlink_va: Option<u64>,
    #[diesel(sql_type = Nullable<Text>)]
    idpageview: Option<String>,
    #[diesel(sql_type = Nullable<Unsigned<TinyInt>>)]
    referer_type: Option<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    referer_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    referer_keyword: Option<String>,
}

#[derive(QueryableByName)]
struct ItemRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    idvisit: u64,
    #[diesel(sql_type = Text)]
    idorder: String,
    #[diesel(sql_type = Nullable<Text>)]
    sku: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    categories: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    price: Option<f64>,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    quantity: Option<u32>,
}

/// `25.00 => 25`: a whole revenue shown without decimals, a missing one
/// as 0 (`Ecommerce\VisitorDetails::provideActionsForVisitIds`).
fn revenue(value: Option<f64>) -> Tree {
    match value {
        None => Tree::Int(0),
        Some(value) => Tree::Float(tally_datatable::format::round_php(value, 2)),
    }
}

/// `Ecommerce\VisitorDetails`: orders and abandoned carts of the visits,
/// each with its items (`itemDetails`).
fn load_ecommerce(
    conn: &mut MysqlConnection,
    visits: &[u64],
) -> QueryResult<HashMap<u64, Vec<RawAction>>> {
    let mut out: HashMap<u64, Vec<RawAction>> = HashMap::new();
    if visits.is_empty() {
        return Ok(out);
    }
    let list = id_list(visits);
    let orders: Vec<OrderRow> = diesel::sql_query(format!(
        "SELECT log_conversion.idvisit, log_conversion.idgoal, log_conversion.idorder, \
         log_conversion.revenue, log_conversion.revenue_subtotal, log_conversion.revenue_tax, \
         log_conversion.revenue_shipping, log_conversion.revenue_discount, log_conversion.items, \
         CAST(UNIX_TIMESTAMP(log_conversion.server_time) AS SIGNED) AS server_ts, \
         log_conversion.idlink_va, log_link_visit_action.idpageview, \
         log_conversion.referer_type, log_conversion.referer_name, log_conversion.referer_keyword \
         FROM log_conversion AS log_conversion \
         LEFT JOIN log_link_visit_action AS log_link_visit_action \
           ON log_link_visit_action.idlink_va = log_conversion.idlink_va \
         WHERE log_conversion.idvisit IN ({list}) AND log_conversion.idgoal <= 0 \
         ORDER BY log_conversion.idvisit, log_conversion.server_time ASC"
    ))
    .load(conn)?;
    if orders.is_empty() {
        return Ok(out);
    }
    let items: Vec<ItemRow> = diesel::sql_query(format!(
        "SELECT item.idvisit, item.idorder, sku.name AS sku, name.name AS name, \
         CONCAT_WS(CHAR(31), IFNULL(c1.name, ''), IFNULL(c2.name, ''), IFNULL(c3.name, ''), \
           IFNULL(c4.name, ''), IFNULL(c5.name, '')) AS categories, \
         item.price, item.quantity \
         FROM log_conversion_item AS item \
         INNER JOIN log_action AS sku ON item.idaction_sku = sku.idaction \
         LEFT JOIN log_action AS name ON item.idaction_name = name.idaction \
         LEFT JOIN log_action AS c1 ON item.idaction_category = c1.idaction \
         LEFT JOIN log_action AS c2 ON item.idaction_category2 = c2.idaction \
         LEFT JOIN log_action AS c3 ON item.idaction_category3 = c3.idaction \
         LEFT JOIN log_action AS c4 ON item.idaction_category4 = c4.idaction \
         LEFT JOIN log_action AS c5 ON item.idaction_category5 = c5.idaction \
         WHERE item.idvisit IN ({list}) AND item.deleted = 0"
    ))
    .load(conn)?;
    for row in orders {
        let cart = row.idgoal == -1;
        let kind = if cart {
            "ecommerceAbandonedCart"
        } else {
            "ecommerceOrder"
        };
        let mut f = Fields::default();
        f.set("type", Tree::Str(kind.to_owned()));
        if !cart {
            f.set("orderId", text_or_null(row.idorder.clone()));
        }
        f.set("revenue", revenue(row.revenue));
        if !cart {
            f.set("revenueSubTotal", revenue(row.revenue_subtotal));
            f.set("revenueTax", revenue(row.revenue_tax));
            f.set("revenueShipping", revenue(row.revenue_shipping));
            f.set("revenueDiscount", revenue(row.revenue_discount));
        }
        f.set("items", int_or_null(row.items));
        f.set("serverTimePretty", Tree::Str(utc_datetime(row.server_ts)));
        f.set("idlink_va", int_or_null(row.idlink_va.map(|id| id as i64)));
        f.set("idpageview", text_or_null(row.idpageview));
        f.set(
            "referrerType",
            Tree::Str(referrer_type_name(row.referer_type)),
        );
        f.set("referrerName", text_or_null(row.referer_name));
        f.set("referrerKeyword", text_or_null(row.referer_keyword));
        // Carts' items are stored under Matomo's `ITEM_IDORDER_ABANDONED_CART`.
        let idorder = if cart {
            "0".to_owned()
        } else {
            row.idorder.clone().unwrap_or_default()
        };
        let details: Vec<Tree> = items
            .iter()
            .filter(|item| item.idvisit == row.idvisit && item.idorder == idorder)
            .map(|item| {
                let categories: Vec<String> = item
                    .categories
                    .as_deref()
                    .unwrap_or("")
                    .split(SEP)
                    .map(|name| name.trim().to_owned())
                    .collect();
                Tree::Assoc(vec![
                    ("itemSKU".to_owned(), text_or_null(item.sku.clone())),
                    ("itemName".to_owned(), text_or_null(item.name.clone())),
                    (
                        "itemCategory".to_owned(),
                        categories
                            .first()
                            .filter(|name| !name.is_empty())
                            .map_or(Tree::Null, |name| Tree::Str(name.clone())),
                    ),
                    (
                        "price".to_owned(),
                        item.price.map_or(Tree::Null, |price| {
                            Tree::Float(tally_datatable::format::round_php(price, 2))
                        }),
                    ),
                    ("quantity".to_owned(), int_or_null(item.quantity)),
                    (
                        "categories".to_owned(),
                        Tree::List(
                            categories
                                .into_iter()
                                .filter(|name| !name.is_empty() && name != "0")
                                .map(Tree::Str)
                                .collect(),
                        ),
                    ),
                ])
            })
            .collect();
        f.set("itemDetails", Tree::List(details));
        out.entry(row.idvisit).or_default().push(RawAction {
            fields: f,
            time: row.server_ts,
            idlink_va: row.idlink_va,
            kind: kind.to_owned(),
            url: None,
            page_idaction: None,
            goal_id: None,
        });
    }
    Ok(out)
}

/// PHP 8's `<`/`==` of two strings: numerically when both are numeric.
fn php_string_cmp(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// `VisitorLog::sortByActionsOnPageColumn` over Matomo's fields: a
/// missing value first.
fn by<T>(a: Option<T>, b: Option<T>, cmp: impl Fn(&T, &T) -> Ordering) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => cmp(&a, &b),
    }
}

/// `Visitor::sortActionDetails` (ties keep their order).
fn sort_actions(actions: &mut [RawAction]) {
    actions.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| by(a.idlink_va, b.idlink_va, Ord::cmp))
            .then_with(|| php_string_cmp(&a.kind, &b.kind))
            .then_with(|| {
                by(a.url.as_deref(), b.url.as_deref(), |x, y| {
                    php_string_cmp(x, y)
                })
            })
            .then_with(|| by(a.page_idaction, b.page_idaction, Ord::cmp))
            .then_with(|| by(a.goal_id, b.goal_id, Ord::cmp))
    });
}

/// Page view types (`Action::TYPE_PAGE_URL`, `TYPE_PAGE_TITLE`).
fn is_page_view(action: &RawAction) -> bool {
    matches!(action.kind.as_str(), "1" | "4")
}

/// `Actions\VisitorDetails::provideActionsForVisit`: the time spent on
/// each page view, from the `time_spent_ref_action` of the actions up to
/// the next page view; for the last page view, the rest of the visit when
/// above 10 seconds. Runs before the actions are sorted, as in Matomo.
fn add_time_spent(actions: &mut [RawAction], visit_duration: i64, first_action: i64) {
    let mut next_id = 0;
    for index in 0..actions.len() {
        if index < next_id || !is_page_view(&actions[index]) {
            continue;
        }
        let mut spent: i64 = 0;
        next_id = index;
        loop {
            next_id += 1;
            let Some(next) = actions.get(next_id) else {
                let on_page = visit_duration - (actions[index].time - first_action);
                if on_page > 10 {
                    spent = on_page;
                }
                break;
            };
            if !next.fields.has("timeSpentRef") {
                continue;
            }
            spent += next
                .fields
                .number("timeSpentRef")
                .map_or(0, |value| value as i64);
            if is_page_view(next) {
                break;
            }
        }
        let action = &mut actions[index].fields;
        action.set("timeSpent", Tree::Int(spent));
        action.set(
            "timeSpentPretty",
            Tree::Str(pretty_time(spent as f64, true)),
        );
    }
    for action in actions.iter_mut() {
        action.fields.remove("timeSpentRef");
    }
}

/// `PageUrl::reconstructNormalizedUrl`.
fn reconstruct_url(url: &str, prefix: Option<f64>) -> String {
    let scheme = match prefix.map(|prefix| prefix as i64) {
        Some(0) => "http://",
        Some(1) => "http://www.",
        Some(2) => "https://",
        Some(3) => "https://www.",
        _ => "",
    };
    format!("{scheme}{url}")
}

/// The extensions of each action, plugin by plugin (`extendActionDetails`
/// of Actions, Contents, Ecommerce, Events and CustomVariables).
fn extend_action(site: &LiveSite, f: &mut Fields, unix: i64) {
    let symbol = currency_symbol(&site.currency).to_owned();
    let kind = f.text("type");
    // Actions: site search.
    if kind == "8" {
        let keyword = f.remove("pageTitle").unwrap_or(Tree::Null);
        f.set("siteSearchKeyword", keyword);
        let category = f.get("search_cat").cloned().unwrap_or(Tree::Null);
        f.set("siteSearchCategory", category);
        let count = f.get("search_count").cloned().unwrap_or(Tree::Null);
        f.set("siteSearchCount", count);
    }
    f.remove("search_cat");
    f.remove("search_count");
    // Generation time (the page's custom_float, not an event's value).
    let handled = matches!(kind.as_str(), "1" | "2" | "3" | "4" | "8" | "10")
        || !f.is_empty_value("eventType");
    if handled
        && f.is_empty_value("eventType")
        && f.number("custom_float").is_some_and(|value| value > 0.0)
    {
        let milliseconds = f.get("custom_float").cloned().unwrap_or(Tree::Null);
        let seconds = f.number("custom_float").unwrap_or(0.0) / 1000.0;
        f.set("generationTimeMilliseconds", milliseconds);
        f.set("generationTime", Tree::Str(pretty_time(seconds, true)));
        f.remove("custom_float");
    }
    if matches!(f.get("custom_float"), Some(Tree::Null)) {
        f.remove("custom_float");
    }
    match f.number("pageLoadTime") {
        Some(milliseconds) if milliseconds > 0.0 => {
            let raw = f.get("pageLoadTime").cloned().unwrap_or(Tree::Null);
            f.set("pageLoadTimeMilliseconds", raw);
            f.set(
                "pageLoadTime",
                Tree::Str(pretty_time(milliseconds / 1000.0, true)),
            );
        }
        _ => {
            f.remove("pageLoadTime");
        }
    }
    if let Some(position) = f.remove("pageview_position") {
        f.set("pageviewPosition", position);
    }
    if f.has("url") && f.has("url_prefix") {
        let url = f.text("url");
        let lower = url.to_ascii_lowercase();
        if !url.is_empty() && !lower.starts_with("http://") && !lower.starts_with("https://") {
            let rebuilt = reconstruct_url(&url, f.number("url_prefix"));
            f.set(
                "url",
                Tree::Str(tally_datatable::format::html_entity_decode(&rebuilt).into_owned()),
            );
        }
        f.remove("url_prefix");
    }
    let set_str = |f: &mut Fields, key: &str, value: &str| f.set(key, Tree::Str(value.to_owned()));
    match kind.as_str() {
        "goal" => {
            set_str(f, "icon", "plugins/Morpheus/images/goal.png");
            set_str(f, "iconSVG", "plugins/Morpheus/images/goal.svg");
            set_str(f, "title", "Goal conversion");
            let mut subtitle = f.text("goalName");
            if !f.is_empty_value("revenue") {
                let amount = pretty_money(f.number("revenue").unwrap_or(0.0), &symbol);
                subtitle.push_str(&format!(" ({amount} revenue)"));
            }
            set_str(f, "subtitle", &subtitle);
        }
        "ecommerceOrder" | "ecommerceAbandonedCart" => {
            set_str(f, "icon", &format!("plugins/Morpheus/images/{kind}.png"));
            set_str(f, "iconSVG", &format!("plugins/Morpheus/images/{kind}.svg"));
            let title = if kind == "ecommerceOrder" {
                format!("Ordered ({})", f.text("orderId"))
            } else {
                "Abandoned Cart".to_owned()
            };
            set_str(f, "title", &title);
            let names: Vec<String> = match f.get("itemDetails") {
                Some(Tree::List(items)) => items
                    .iter()
                    .filter_map(|item| match item {
                        Tree::Assoc(entries) => entries
                            .iter()
                            .find(|(name, _)| name == "itemName")
                            .map(|(_, value)| tree_string(value)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let amount = pretty_money(f.number("revenue").unwrap_or(0.0), &symbol);
            let subtitle = format!(
                "{amount} revenue - {} items: {})",
                f.text("items"),
                names.join(", ")
            );
            set_str(f, "subtitle", &subtitle);
        }
        "13" => {
            let interaction = f.text("contentInteraction");
            if f.is_empty_value("contentInteraction") {
                set_str(f, "icon", "plugins/Morpheus/images/contentimpression.png");
                set_str(
                    f,
                    "iconSVG",
                    "plugins/Morpheus/images/contentimpression.svg",
                );
                set_str(f, "title", "Content Impression");
            } else {
                set_str(f, "icon", "plugins/Morpheus/images/contentinteraction.png");
                set_str(
                    f,
                    "iconSVG",
                    "plugins/Morpheus/images/contentinteraction.svg",
                );
                set_str(f, "title", &format!("Content Interaction ({interaction})"));
            }
            let mut subtitle = f.text("contentName");
            if !f.is_empty_value("contentPiece") {
                subtitle.push_str(&format!(" - {}", f.text("contentPiece")));
            }
            set_str(f, "subtitle", &subtitle);
        }
        "3" => {
            set_str(f, "type", "download");
            set_str(f, "icon", "plugins/Morpheus/images/download.png");
            set_str(f, "iconSVG", "plugins/Morpheus/images/download.svg");
            set_str(f, "title", "Download");
            let url = f.text("url");
            set_str(f, "subtitle", &url);
        }
        "2" => {
            set_str(f, "type", "outlink");
            set_str(f, "icon", "plugins/Morpheus/images/link.png");
            set_str(f, "iconSVG", "plugins/Morpheus/images/link.svg");
            set_str(f, "title", "Outlink");
            let url = f.text("url");
            set_str(f, "subtitle", &url);
        }
        "8" => {
            set_str(f, "type", "search");
            set_str(f, "icon", "plugins/Morpheus/images/search.png");
            set_str(f, "iconSVG", "plugins/Morpheus/images/search.svg");
            set_str(f, "title", "Site Search");
            let mut subtitle = f.text("siteSearchKeyword");
            if !f.is_empty_value("siteSearchCategory") {
                subtitle.push_str(&format!(
                    " - Search Category: {}",
                    f.text("siteSearchCategory")
                ));
            }
            if !f.is_empty_value("siteSearchCount") {
                subtitle.push_str(&format!(
                    " - Search Results Count: {}",
                    f.text("siteSearchCount")
                ));
            }
            set_str(f, "subtitle", &subtitle);
        }
        // Page views, and actions whose type is unknown (PHP's `case ''`
        // matches null).
        "1" | "4" | "" => {
            if !f.has("title") {
                let title = f.get("pageTitle").cloned().unwrap_or(Tree::Null);
                f.set("title", title);
                let url = f.get("url").cloned().unwrap_or(Tree::Null);
                f.set("subtitle", url);
            }
            set_str(f, "type", "action");
            set_str(f, "icon", "");
            set_str(f, "iconSVG", "plugins/Morpheus/images/action.svg");
        }
        _ => {}
    }
    // The site's local time of the action, and its `timestamp`: as in
    // Matomo (`Date::factory($serverTime, $timezone)->getTimestamp()`),
    // the local wall-clock time read as UTC, not the instant (the same as
    // the instant only for sites in UTC).
    let wall = local(site, unix);
    f.set("serverTimePretty", Tree::Str(datetime_short(wall)));
    f.set("timestamp", Tree::Int(wall.unix_timestamp()));
    f.remove("idlink_va");

    // Contents.
    if f.text("type") != "13" {
        for key in [
            "contentName",
            "contentPiece",
            "contentTarget",
            "contentInteraction",
        ] {
            f.remove(key);
        }
    }

    // Ecommerce: product views.
    for key in ["productViewName", "productViewSku", "productViewPrice"] {
        if f.is_empty_value(key) {
            f.remove(key);
        }
    }
    let mut categories = Vec::new();
    for index in 1..=5 {
        let key = format!("productViewCategory{index}");
        if !f.is_empty_value(&key) {
            categories.push(f.get(&key).cloned().unwrap_or(Tree::Null));
        }
        f.remove(&key);
    }
    if !categories.is_empty() {
        f.set("productViewCategories", Tree::List(categories));
    }

    // Events.
    if f.is_empty_value("eventType") {
        f.remove("eventCategory");
        f.remove("eventAction");
    } else {
        set_str(f, "type", "event");
        set_str(f, "icon", "plugins/Morpheus/images/event.png");
        set_str(f, "iconSVG", "plugins/Morpheus/images/event.svg");
        set_str(f, "title", "Event");
        let mut subtitle = format!("Category: \"{}'", f.text("eventCategory"));
        if !f.is_empty_value("eventName") {
            subtitle.push_str(&format!(", Name: \"{}\"", f.text("eventName")));
        }
        if !f.is_empty_value("eventAction") {
            subtitle.push_str(&format!(", Action: \"{}\"", f.text("eventAction")));
        }
        if !f.is_empty_value("eventValue") {
            subtitle.push_str(&format!(", Value: \"{}\"", f.text("eventValue")));
        }
        set_str(f, "subtitle", &subtitle);
        let name = f.text("pageTitle");
        if !name.is_empty() {
            set_str(f, "eventName", &name);
        }
        if let Some(value) = f.number("custom_float") {
            f.set(
                "eventValue",
                Tree::Float(tally_datatable::format::round_php(value, 3)),
            );
        }
        f.remove("pageTitle");
        f.remove("custom_float");
    }
    f.remove("eventType");

    // Bandwidth: any action row with the field (not goals or orders).
    if let Some(bytes) = f.get("bandwidth") {
        let bytes = match bytes {
            Tree::Int(bytes) => *bytes,
            _ => 0,
        };
        set_str(f, "bandwidth_pretty", &pretty_size(bytes));
    }

    // CustomVariables (page scope).
    if let Some(packed) = f.remove("custom_vars") {
        let packed = tree_string(&packed);
        let values: Vec<&str> = packed.split(SEP).collect();
        let mut variables = Vec::new();
        for slot in 1..=CUSTOM_VARIABLES {
            let key = values.get(2 * slot - 2).copied().unwrap_or("");
            let value = values.get(2 * slot - 1).copied().unwrap_or("");
            if key.is_empty() || key == "0" || key == "_pk_scat" || key == "_pk_scount" {
                continue;
            }
            variables.push((
                slot.to_string(),
                Tree::Assoc(vec![
                    (
                        format!("customVariablePageName{slot}"),
                        Tree::Str(key.to_owned()),
                    ),
                    (
                        format!("customVariablePageValue{slot}"),
                        Tree::Str(value.to_owned()),
                    ),
                ]),
            ));
        }
        if !variables.is_empty() {
            f.set("customVariables", Tree::Assoc(variables));
        }
    }
}

/// `MetricsFormatter::getPrettySizeFromBytes` with its default precision
/// of 1: `0 M` for nothing (its quirk, also for a NULL size), else the
/// size in the largest of B, K, M, G, T that keeps it at least 1, rounded
/// to one decimal as PHP's `round` (trailing `.0` dropped).
pub(crate) fn pretty_size(bytes: i64) -> String {
    if bytes == 0 {
        return "0 M".to_owned();
    }
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    #[expect(clippy::cast_precision_loss, reason = "a display value")]
    let mut size = bytes as f64;
    let mut unit = UNITS[0];
    for (index, current) in UNITS.iter().enumerate() {
        unit = current;
        if size >= 1024.0 && index != UNITS.len() - 1 {
            size /= 1024.0;
        } else {
            break;
        }
    }
    let rounded = tally_datatable::format::round_php(size, 1);
    format!(
        "{} {unit}",
        tally_datatable::format::php_float_string(rounded)
    )
}

/// `Visitor::enrichVisitorArrayWithActions`: time spent, sort, the
/// `visitor_log_maximum_actions_per_visit` cut (`truncatedActionsCount`),
/// then each action extended.
fn action_details(
    site: &LiveSite,
    row: &VisitRow,
    mut actions: Vec<RawAction>,
    visit: &mut Fields,
) -> Vec<Tree> {
    add_time_spent(&mut actions, i64::from(row.visit_total_time), row.first_ts);
    sort_actions(&mut actions);
    if actions.len() > MAX_ACTIONS_PER_VISIT {
        visit.set(
            "truncatedActionsCount",
            Tree::Int((actions.len() - MAX_ACTIONS_PER_VISIT) as i64),
        );
        actions.truncate(MAX_ACTIONS_PER_VISIT);
    }
    actions
        .into_iter()
        .map(|action| {
            let mut fields = action.fields;
            extend_action(site, &mut fields, action.time);
            fields.into_tree()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_shown_in_english() {
        let at = utc(1_365_328_800);
        assert_eq!(date_long(at), "Sunday, April 7, 2013");
        assert_eq!(datetime_short(at), "Apr 7, 2013 10:00:00");
        assert_eq!(time_pretty(at), "10:00:00");
    }

    #[test]
    fn fields_replace_in_place_and_append_new_keys() {
        let mut fields = Fields::default();
        fields.set("a", Tree::Int(1));
        fields.set("b", Tree::Int(2));
        fields.set("a", Tree::Int(3));
        fields.remove("b");
        fields.set("b", Tree::Null);
        let Tree::Assoc(entries) = fields.into_tree() else {
            panic!("an array");
        };
        assert_eq!(
            entries,
            vec![("a".to_owned(), Tree::Int(3)), ("b".to_owned(), Tree::Null)]
        );
    }

    #[test]
    fn php_compares_numeric_strings_as_numbers() {
        assert_eq!(php_string_cmp("10", "9"), Ordering::Greater);
        assert_eq!(php_string_cmp("1", "goal"), Ordering::Less);
        assert_eq!(php_string_cmp("ecommerceOrder", "goal"), Ordering::Less);
    }
}
