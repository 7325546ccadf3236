//! `API.getSuggestedValuesForSegment(segmentName, idSite)`: the values the
//! segment editor offers for a segment, as Matomo's `API` plugin finds
//! them.
//!
//! Matomo reads most values from the visitor log: the site's last visits
//! of the past 60 days that have a value for the segment (`name!=`), 800
//! of them, or 400 with their actions when the segment needs the actions,
//! flattened as `Live.getLastVisitsDetails&flat=1` flattens them; the
//! field named as the segment (and its flattened `name_N` copies, or the
//! actions' field of that name) gives the values, most frequent first.
//! Some segments have their own list instead (hours, enumerations, the
//! country names sorted by use, goal names, viewed product categories), and unions (`actionUrl`, `productViewCategory`)
//! gather their members' values. At most 30 values are answered.

use std::cmp::Ordering;
use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use tally_archiving::SiteInfo;
use tally_archiving::builders::CustomDimensionReport;
use tally_archiving::segment::{DimensionScope, Segment};
use tally_datatable::render::{Report, Tree};
use time::{Date, Duration};

use super::visits::{Fields, Selection, read_visits, tree_string};
use super::{LiveSite, load_site, utc_datetime};
use crate::ReportingError;
use crate::methods::{self, Ctx};
use crate::output::Output;
use crate::request::ApiRequest;

/// `$maxSuggestionsToReturn`.
const MAX_SUGGESTIONS: usize = 30;

/// `API::$_autoSuggestLookBack`: days of visits read.
const LOOK_BACK_DAYS: i64 = 60;

/// Visits read when the actions are not needed, and when they are.
const VISITS_WITHOUT_ACTIONS: i64 = 800;
const VISITS_WITH_ACTIONS: i64 = 400;

/// How a segment's values are found.
#[derive(Clone, Copy)]
enum Source {
    /// `range(from, to)` of Matomo's callbacks that need no data (`to`
    /// already cut to the 30 values asked for, as `min(59, 30)`).
    Range(i64, i64),
    /// A fixed list of names (an enumeration), answered as is.
    Names(&'static [&'static str]),
    /// Today and the 30 days before (`visitEndServerDate`).
    Dates,
    /// The visitor log's field named as the segment.
    Log,
    /// `sortStaticListByUsage`: a known list of `(code, name)`, sorted by
    /// how many of the visits have the code in field `key`, the names
    /// answered as they come (not most frequent first).
    ByUsage {
        key: &'static str,
        list: fn() -> Vec<(String, String)>,
    },
    /// `GoalName::getGoalNameForSuggestedValues`: the names of the goals
    /// the visits converted.
    GoalNames,
    /// The viewed product categories of the visits' actions (the
    /// `productViewCategoryN` members of `productViewCategory`).
    ViewedCategories,
    /// The values of each member, later members first.
    Union(&'static [&'static str]),
    /// A custom dimension of visit scope: its column in `log_visit`.
    VisitDimension(u8),
    /// A custom dimension of action scope: the labels of its report.
    ActionDimension(u32),
}

/// Today (UTC) and the 30 days before it, newest first.
fn end_dates(today: Date) -> Vec<Tree> {
    (0..=30)
        .filter_map(|back| today.checked_sub(Duration::days(back)))
        .map(|day| Tree::Str(day.to_string()))
        .collect()
}

/// The enumerations Matomo's segments accept, in its order.
const ACTION_TYPES: &[&str] = &[
    "pageviews",
    "contents",
    "sitesearches",
    "events",
    "outlinks",
    "downloads",
];
const ECOMMERCE_STATUSES: &[&str] = &[
    "none",
    "ordered",
    "abandonedCart",
    "orderedThenAbandonedCart",
];
const VISITOR_TYPES: &[&str] = &["returningCustomer", "returning", "new"];
const REFERRER_TYPES: &[&str] = &["direct", "website", "search", "social", "campaign"];
const PROFILABLE: &[&str] = &["0", "1"];

/// DeviceDetector's browser engines.
const BROWSER_ENGINES: &[&str] = &[
    "WebKit",
    "Blink",
    "Trident",
    "Text-based",
    "Dillo",
    "iCab",
    "Elektra",
    "Presto",
    "Clecko",
    "Gecko",
    "KHTML",
    "NetFront",
    "Edge",
    "NetSurf",
    "Servo",
    "Goanna",
    "EkiohFlow",
    "Arachne",
    "LibWeb",
];

fn countries() -> Vec<(String, String)> {
    tally_schema::geo::COUNTRIES
        .iter()
        .map(|(code, _, name)| ((*code).to_owned(), (*name).to_owned()))
        .collect()
}

/// DeviceDetector's browsers we know, `(code, name)`.
fn browsers() -> Vec<(String, String)> {
    tally_schema::devices::BROWSERS
        .iter()
        .map(|(code, name)| ((*code).to_owned(), (*name).to_owned()))
        .collect()
}

/// DeviceDetector's operating systems we know, `(code, name)`.
fn operating_systems() -> Vec<(String, String)> {
    tally_schema::devices::OPERATING_SYSTEMS
        .iter()
        .map(|(code, name, _)| ((*code).to_owned(), (*name).to_owned()))
        .collect()
}

const ACTION_URL_MEMBERS: &[&str] = &["pageUrl", "downloadUrl", "outlinkUrl", "eventUrl"];
const VIEWED_CATEGORY_MEMBERS: &[&str] = &[
    "productViewCategory1",
    "productViewCategory2",
    "productViewCategory3",
    "productViewCategory4",
    "productViewCategory5",
];
const PRODUCT_CATEGORY_MEMBERS: &[&str] = &[
    "productCategory1",
    "productCategory2",
    "productCategory3",
    "productCategory4",
    "productCategory5",
];
const CUSTOM_VARIABLE_NAME_MEMBERS: &[&str] = &[
    "customVariableName1",
    "customVariableName2",
    "customVariableName3",
    "customVariableName4",
    "customVariableName5",
];
const CUSTOM_VARIABLE_VALUE_MEMBERS: &[&str] = &[
    "customVariableValue1",
    "customVariableValue2",
    "customVariableValue3",
    "customVariableValue4",
    "customVariableValue5",
];
const CUSTOM_VARIABLE_PAGE_NAME_MEMBERS: &[&str] = &[
    "customVariablePageName1",
    "customVariablePageName2",
    "customVariablePageName3",
    "customVariablePageName4",
    "customVariablePageName5",
];
const CUSTOM_VARIABLE_PAGE_VALUE_MEMBERS: &[&str] = &[
    "customVariablePageValue1",
    "customVariablePageValue2",
    "customVariablePageValue3",
    "customVariablePageValue4",
    "customVariablePageValue5",
];

/// The source of a built-in segment's values (every listed segment that
/// has no list of its own reads the visitor log).
fn source_of(name: &str) -> Source {
    match name {
        "actionServerHour" | "visitStartServerHour" => Source::Range(0, 23),
        "actionServerMinute"
        | "visitStartServerMinute"
        | "visitEndServerMinute"
        | "visitEndServerSecond"
        | "visitLocalMinute"
        | "visitEndServerDayOfMonth" => Source::Range(0, 30),
        "visitEndServerDate" => Source::Dates,
        "visitEndServerDayOfWeek" => Source::Range(1, 7),
        "visitEndServerDayOfYear" | "visitEndServerWeekOfYear" | "interactions" => {
            Source::Range(1, 30)
        }
        "visitEndServerMonth" => Source::Range(1, 12),
        "visitEndServerQuarter" => Source::Range(1, 4),
        "visitEndServerYear" => Source::Range(2016, 2046),
        "profilable" => Source::Names(PROFILABLE),
        "actionType" => Source::Names(ACTION_TYPES),
        "visitEcommerceStatus" => Source::Names(ECOMMERCE_STATUSES),
        "visitorType" => Source::Names(VISITOR_TYPES),
        "referrerType" => Source::Names(REFERRER_TYPES),
        "deviceType" => Source::Names(&tally_archiving::segment::DEVICE_TYPES),
        "browserEngine" => Source::Names(BROWSER_ENGINES),
        "countryName" => Source::ByUsage {
            key: "countryCode",
            list: countries,
        },
        "browserName" => Source::ByUsage {
            key: "browserCode",
            list: browsers,
        },
        "operatingSystemName" => Source::ByUsage {
            key: "operatingSystemCode",
            list: operating_systems,
        },
        "visitConvertedGoalName" => Source::GoalNames,
        "actionUrl" => Source::Union(ACTION_URL_MEMBERS),
        "productViewCategory" => Source::Union(VIEWED_CATEGORY_MEMBERS),
        "productCategory" => Source::Union(PRODUCT_CATEGORY_MEMBERS),
        "customVariableName" => Source::Union(CUSTOM_VARIABLE_NAME_MEMBERS),
        "customVariableValue" => Source::Union(CUSTOM_VARIABLE_VALUE_MEMBERS),
        "customVariablePageName" => Source::Union(CUSTOM_VARIABLE_PAGE_NAME_MEMBERS),
        "customVariablePageValue" => Source::Union(CUSTOM_VARIABLE_PAGE_VALUE_MEMBERS),
        _ if VIEWED_CATEGORY_MEMBERS.contains(&name) => Source::ViewedCategories,
        _ => Source::Log,
    }
}

/// `findSegment`: the segments `API.getSegmentsMetadata` lists for the
/// site (the built-in ones and the site's active custom dimensions).
fn find_segment(name: &str, site: &SiteInfo) -> Result<Source, ReportingError> {
    let not_found = || ReportingError::SegmentNotFound {
        name: name.to_owned(),
    };
    if let Some(id) = name
        .strip_prefix("dimension")
        .and_then(|id| id.parse::<u32>().ok())
    {
        let dimension = site
            .custom_dimensions
            .iter()
            .find(|dimension| dimension.id == id)
            .ok_or_else(not_found)?;
        return Ok(match dimension.scope {
            DimensionScope::Visit => Source::VisitDimension(dimension.index),
            DimensionScope::Action => Source::ActionDimension(dimension.id),
        });
    }
    if tally_archiving::segment::catalogue().any(|(listed, _)| listed == name) {
        Ok(source_of(name))
    } else {
        Err(not_found())
    }
}

/// `API.getSuggestedValuesForSegment`.
pub(crate) fn suggested_values(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let name = ctx.required("segmentName")?.to_owned();
    let ids = super::site_ids(ctx)?;
    let [idsite] = ids[..] else {
        return Err(ReportingError::InvalidParameter {
            name: "idSite".to_owned(),
            reason: "this method takes one site id".to_owned(),
        });
    };
    let site = load_site(ctx.conn, idsite)?;
    let source = find_segment(&name, &site.info)?;
    let today = ctx.loader.now.date();
    let values = match source {
        Source::Range(from, to) => return Ok(answer((from..=to).map(Tree::Int).collect())),
        Source::Names(names) => {
            return Ok(answer(
                names
                    .iter()
                    .take(MAX_SUGGESTIONS)
                    .map(|name| Tree::Str((*name).to_owned()))
                    .collect(),
            ));
        }
        Source::Dates => return Ok(answer(end_dates(today))),
        Source::ActionDimension(id) => action_dimension_labels(ctx, idsite, id)?,
        Source::Union(members) => {
            let mut values = Vec::new();
            for member in members {
                // A member without data adds nothing (Matomo ignores its
                // "no data" error).
                let mut found = member_values(ctx, &site, member, source_of(member))?;
                found.append(&mut values);
                values = found;
            }
            if values.is_empty() {
                return Err(ReportingError::NotSupported(format!(
                    "There was no data to suggest for {name}"
                )));
            }
            most_frequent(values)
        }
        Source::ByUsage { .. } => member_values(ctx, &site, &name, source)?,
        _ => most_frequent(member_values(ctx, &site, &name, source)?),
    };
    // `Common::unsanitizeInputValue`: the visitor log shows titles as
    // stored, HTML-escaped.
    Ok(answer(
        values
            .into_iter()
            .take(MAX_SUGGESTIONS)
            .map(|value| php_key(&tally_datatable::format::html_entity_decode(&value)))
            .collect(),
    ))
}

fn answer(values: Vec<Tree>) -> Output {
    Output::Report(Report::Tree(Tree::List(values)))
}

/// A value as PHP's array keys leave it: integer-like strings become
/// integers.
fn php_key(value: &str) -> Tree {
    let integer_like = value == "0"
        || (!value.starts_with('0')
            && !value.starts_with("-0")
            && !value.is_empty()
            && value != "-"
            && value
                .strip_prefix('-')
                .unwrap_or(value)
                .bytes()
                .all(|byte| byte.is_ascii_digit()));
    match value.parse::<i64>() {
        Ok(number) if integer_like => Tree::Int(number),
        _ => Tree::Str(value.to_owned()),
    }
}

/// `getSuggestedValuesForSegmentName` for one segment: the raw values
/// (not yet counted) its source finds in the recent visits.
fn member_values(
    ctx: &mut Ctx<'_>,
    site: &LiveSite,
    name: &str,
    source: Source,
) -> Result<Vec<String>, ReportingError> {
    if let Source::VisitDimension(index) = source {
        return visit_dimension_values(ctx, site, index);
    }
    let with_actions = needs_actions(name) || matches!(source, Source::ViewedCategories);
    let visits = recent_visits(ctx, site, name, with_actions)?;
    let flat: Vec<Vec<(String, Tree)>> = visits.iter().map(flatten).collect();
    Ok(match source {
        Source::ByUsage { key, list } => sort_by_usage(list(), &flat, key),
        Source::GoalNames => {
            // The goal names as the conversions show them.
            let goals: HashMap<String, String> = visits
                .iter()
                .flat_map(|visit| action_list(visit))
                .filter_map(|action| {
                    let id = non_empty(field(action, "goalId"))?;
                    let name = field(action, "goalName")?;
                    Some((tree_string(id), tree_string(name)))
                })
                .collect();
            columns_starting_with(&flat, "visitConvertedGoalId_")
                .iter()
                .filter_map(|id| goals.get(id.as_str()).cloned())
                .filter(|name| !name.is_empty() && name != "0")
                .collect()
        }
        Source::ViewedCategories => visits
            .iter()
            .flat_map(|visit| action_list(visit))
            .filter_map(|action| field(action, "productViewCategories"))
            .flat_map(|categories| match categories {
                Tree::List(items) => items.iter().map(tree_string).collect(),
                Tree::Assoc(items) => items.iter().map(|(_, item)| tree_string(item)).collect(),
                _ => Vec::new(),
            })
            .collect(),
        _ => log_values(name, &flat, &visits),
    })
}

/// `doesSegmentNeedActionsData`.
fn needs_actions(name: &str) -> bool {
    const NEED_ACTIONS: &[&str] = &[
        "visitConvertedGoalId",
        "visitConvertedGoalName",
        "pageUrl",
        "pageTitle",
        "siteSearchKeyword",
        "siteSearchCategory",
        "siteSearchCount",
        "entryPageTitle",
        "entryPageUrl",
        "exitPageTitle",
        "exitPageUrl",
        "outlinkUrl",
        "downloadUrl",
        "eventUrl",
        "orderId",
        "revenueOrder",
        "revenueAbandonedCart",
        "productViewName",
        "productViewSku",
        "productViewPrice",
        "productViewCategory1",
        "productViewCategory2",
        "productViewCategory3",
        "productViewCategory4",
        "productViewCategory5",
    ];
    let lower = name.to_ascii_lowercase();
    NEED_ACTIONS.contains(&name)
        || lower.contains("customvariablepage")
        || lower.contains("event")
        || lower.contains("content")
}

/// The start of Matomo's `date=<60 days ago>,today` range: that UTC day's
/// start in the site's time zone.
fn look_back_start(ctx: &Ctx<'_>, site: &LiveSite) -> i64 {
    let now = ctx.loader.now;
    let start_day = now.date() - Duration::days(LOOK_BACK_DAYS);
    site.info
        .timezone
        .start_of_day(start_day)
        .min(now.unix_timestamp())
}

/// The visitor log Matomo asks for: the site's visits of the last 60 days
/// (from the start of that UTC day in the site's time zone) having a value
/// for the segment, newest first.
fn recent_visits(
    ctx: &mut Ctx<'_>,
    site: &LiveSite,
    name: &str,
    with_actions: bool,
) -> Result<Vec<Fields>, ReportingError> {
    let start = look_back_start(ctx, site);
    // `name!=`; a segment that cannot test emptiness reads every visit
    // (the values are filtered afterwards all the same).
    let segment = site
        .info
        .parse_segment(&format!("{name}!="))
        .or_else(|_| Segment::parse(""))
        .map_err(tally_archiving::ArchiveError::from)?;
    let selection = Selection {
        visitor: None,
        start: Some(start),
        end: None,
        min_timestamp: None,
        ascending: false,
        offset: 0,
        limit: if with_actions {
            VISITS_WITH_ACTIONS
        } else {
            VISITS_WITHOUT_ACTIONS
        },
    };
    let mut sites = HashMap::new();
    let idsite = site.info.idsite;
    sites.insert(idsite, load_site(ctx.conn, idsite)?);
    read_visits(
        ctx.conn,
        &[idsite],
        &sites,
        &segment,
        &selection,
        super::visits::Fetch {
            actions: with_actions,
            bandwidth: ctx.loader.config.bandwidth,
        },
        ctx.principal.is_anonymous(),
    )
}

fn field<'t>(entries: &'t [(String, Tree)], key: &str) -> Option<&'t Tree> {
    entries
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value)
}

fn action_list(visit: &Fields) -> Vec<&[(String, Tree)]> {
    match visit.get("actionDetails") {
        Some(Tree::List(actions)) => actions
            .iter()
            .filter_map(|action| match action {
                Tree::Assoc(entries) => Some(entries.as_slice()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn non_empty(value: Option<&Tree>) -> Option<&Tree> {
    value.filter(|value| !super::visits::php_empty(value))
}

/// `Visitor::flattenVisitorDetailsArray`: the visit's fields, then its
/// custom variables, and per action the page-scope custom variables
/// (`name_N`), converted goals (`visitConvertedGoalId_N`), URLs by action
/// type, titles, keywords and event fields (`pageUrl_N`...), and the
/// entry and exit pages.
fn flatten(visit: &Fields) -> Vec<(String, Tree)> {
    let mut out: Vec<(String, Tree)> = visit.entries().to_vec();
    let set = |out: &mut Vec<(String, Tree)>, key: String, value: Tree| match out
        .iter_mut()
        .find(|(name, _)| *name == key)
    {
        Some((_, slot)) => *slot = value,
        None => out.push((key, value)),
    };
    if let Some(Tree::Assoc(variables)) = non_empty(visit.get("customVariables")).cloned() {
        for (_, variable) in variables {
            if let Tree::Assoc(entries) = variable {
                for (key, value) in entries {
                    set(&mut out, key, value);
                }
            }
        }
        out.retain(|(name, _)| name != "customVariables");
    }
    let actions = action_list(visit);
    let mut count = 1;
    for action in &actions {
        if let Some(Tree::Assoc(variables)) = non_empty(field(action, "customVariables")) {
            for (_, variable) in variables {
                if let Tree::Assoc(entries) = variable {
                    for (key, value) in entries {
                        set(&mut out, format!("{key}_{count}"), value.clone());
                        count += 1;
                    }
                }
            }
        }
    }
    let mut count = 1;
    for action in &actions {
        if let Some(goal) = non_empty(field(action, "goalId")) {
            set(
                &mut out,
                format!("visitConvertedGoalId_{count}"),
                goal.clone(),
            );
            count += 1;
        }
    }
    for (count, action) in actions.iter().enumerate() {
        let count = count + 1;
        let kind = field(action, "type").map(tree_string).unwrap_or_default();
        let prefix = match kind.as_str() {
            "outlink" => Some("outlinkUrl"),
            "download" => Some("downloadUrl"),
            "event" => Some("eventUrl"),
            "action" => Some("pageUrl"),
            _ => None,
        };
        if let (Some(prefix), Some(url)) = (prefix, non_empty(field(action, "url"))) {
            set(&mut out, format!("{prefix}_{count}"), url.clone());
        }
        for key in [
            "pageTitle",
            "siteSearchKeyword",
            "eventCategory",
            "eventAction",
            "eventName",
            "eventValue",
        ] {
            if let Some(value) = non_empty(field(action, key)) {
                set(&mut out, format!("{key}_{count}"), value.clone());
            }
        }
    }
    let pages: Vec<&&[(String, Tree)]> = actions
        .iter()
        .filter(|action| field(action, "type").map(tree_string).as_deref() == Some("action"))
        .collect();
    for (action, title, url) in [
        (pages.first(), "entryPageTitle", "entryPageUrl"),
        (pages.last(), "exitPageTitle", "exitPageUrl"),
    ] {
        let Some(action) = action else { continue };
        if let Some(value) = non_empty(field(action, "pageTitle")) {
            set(&mut out, title.to_owned(), value.clone());
        }
        if let Some(value) = non_empty(field(action, "url")) {
            set(&mut out, url.to_owned(), value.clone());
        }
    }
    out
}

/// `DataTable::getColumnsStartingWith`.
fn columns_starting_with(rows: &[Vec<(String, Tree)>], prefix: &str) -> Vec<String> {
    rows.iter()
        .flat_map(|row| {
            row.iter()
                .filter(|(name, _)| name.starts_with(prefix))
                .map(|(_, value)| tree_string(value))
        })
        .collect()
}

/// `getSegmentValuesFromVisitorLog`: the field of each visit, its
/// flattened copies, else (for segments that need them) the actions'
/// field of that name.
fn log_values(name: &str, flat: &[Vec<(String, Tree)>], visits: &[Fields]) -> Vec<String> {
    let mut values: Vec<String> = flat
        .iter()
        .map(|row| field(row, name).map(tree_string).unwrap_or_default())
        .collect();
    values.extend(columns_starting_with(flat, &format!("{name}_")));
    if values.iter().all(|value| value.is_empty() || value == "0") && needs_actions(name) {
        for visit in visits {
            for action in action_list(visit) {
                if let Some(value) = field(action, name)
                    && !matches!(value, Tree::Null)
                {
                    values.push(tree_string(value));
                }
            }
        }
    }
    values
}

/// `sortStaticListByUsage`: the list's names by the number of visits with
/// each code (codes not in the list count as `xx`, Unknown), most used
/// first, ties by name descending, cut to 30.
fn sort_by_usage(
    list: Vec<(String, String)>,
    visits: &[Vec<(String, Tree)>],
    key: &str,
) -> Vec<String> {
    let mut entries: Vec<(String, usize, String)> = Vec::new();
    for (code, name) in list {
        match entries.iter_mut().find(|(known, _, _)| *known == code) {
            Some(entry) => entry.2 = name,
            None => entries.push((code, 0, name)),
        }
    }
    match entries.iter_mut().find(|(code, _, _)| code == "xx") {
        Some(entry) => entry.2 = "Unknown".to_owned(),
        None => entries.push(("xx".to_owned(), 0, "Unknown".to_owned())),
    }
    for visit in visits {
        let Some(value) = field(visit, key).filter(|value| !matches!(value, Tree::Null)) else {
            continue;
        };
        let code = tree_string(value);
        let index = entries
            .iter()
            .position(|(known, _, _)| *known == code)
            .or_else(|| entries.iter().position(|(known, _, _)| known == "xx"));
        if let Some(index) = index {
            entries[index].1 += 1;
        }
    }
    entries.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| b.2.as_bytes().cmp(a.2.as_bytes()))
    });
    entries
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, name)| name)
        .collect()
}

/// PHP's `is_numeric` for a value of the visitor log.
fn php_numeric(value: &str) -> Option<f64> {
    let trimmed = value.trim_start();
    if trimmed.is_empty() || trimmed.ends_with(char::is_whitespace) {
        return None;
    }
    let body = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let mut digits = false;
    let mut chars = body.chars().peekable();
    while chars.next_if(char::is_ascii_digit).is_some() {
        digits = true;
    }
    if chars.next_if_eq(&'.').is_some() {
        while chars.next_if(char::is_ascii_digit).is_some() {
            digits = true;
        }
    }
    if !digits {
        return None;
    }
    if chars.next_if(|c| *c == 'e' || *c == 'E').is_some() {
        chars.next_if(|c| *c == '+' || *c == '-');
        let mut exponent = false;
        while chars.next_if(char::is_ascii_digit).is_some() {
            exponent = true;
        }
        if !exponent {
            return None;
        }
    }
    if chars.next().is_some() {
        return None;
    }
    trimmed.parse().ok()
}

/// `getMostFrequentValues`: empty values dropped, numbers rounded to three
/// decimals, then each distinct value once, most frequent first, ties in
/// byte order.
fn most_frequent(values: Vec<String>) -> Vec<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for value in values.into_iter().filter(|value| !value.is_empty()) {
        let value = match php_numeric(&value) {
            Some(number) => {
                tally_datatable::format::php_float_string((number * 1000.0).round() / 1000.0)
            }
            None => value,
        };
        match index.get(&value) {
            Some(&at) => counts[at].1 += 1,
            None => {
                index.insert(value.clone(), counts.len());
                counts.push((value, 1));
            }
        }
    }
    counts.sort_by(|a, b| match b.1.cmp(&a.1) {
        Ordering::Equal => a.0.as_bytes().cmp(b.0.as_bytes()),
        other => other,
    });
    counts.into_iter().map(|(value, _)| value).collect()
}

/// A visit dimension's values, as the visitor log with `dimensionN!=`
/// would give them: the column of the site's 800 latest visits of the
/// period that have one.
fn visit_dimension_values(
    ctx: &mut Ctx<'_>,
    site: &LiveSite,
    index: u8,
) -> Result<Vec<String>, ReportingError> {
    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = Nullable<Text>)]
        value: Option<String>,
    }
    if !(1..=99).contains(&index) {
        return Ok(Vec::new());
    }
    let start = look_back_start(ctx, site);
    let column = format!("log_visit.custom_dimension_{index}");
    let rows: Vec<Value> = diesel::sql_query(format!(
        "SELECT /* API.getSuggestedValuesForSegment */ {column} AS value FROM log_visit \
         WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? \
         AND {column} IS NOT NULL AND {column} <> '' \
         ORDER BY log_visit.visit_last_action_time DESC, log_visit.idvisit DESC LIMIT ?"
    ))
    .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(site.info.idsite)
    .bind::<Text, _>(utc_datetime(start))
    .bind::<BigInt, _>(VISITS_WITHOUT_ACTIONS)
    .load(ctx.conn)?;
    Ok(rows.into_iter().filter_map(|row| row.value).collect())
}

/// `AutoSuggest::getMostUsedActionDimensionValues`: the labels of the
/// dimension's report over the range from the first day of the month two
/// months back to today, in the report's order, 30 at most, without the
/// "Value not defined" row.
fn action_dimension_labels(
    ctx: &mut Ctx<'_>,
    idsite: u32,
    id: u32,
) -> Result<Vec<String>, ReportingError> {
    let today = ctx.loader.now.date();
    let two_months_back = today
        .replace_day(1)
        .ok()
        .and_then(|first| first.checked_sub(Duration::days(1)))
        .and_then(|day| day.replace_day(1).ok())
        .and_then(|first| first.checked_sub(Duration::days(1)))
        .and_then(|day| day.replace_day(1).ok())
        .unwrap_or(today);
    let idsite = idsite.to_string();
    let id = id.to_string();
    let date = format!("{two_months_back},today");
    let limit = MAX_SUGGESTIONS.to_string();
    let request = ApiRequest::from_pairs([
        ("idSite", idsite.as_str()),
        ("idDimension", id.as_str()),
        ("period", "range"),
        ("date", date.as_str()),
        ("filter_offset", "0"),
        ("filter_limit", limit.as_str()),
        ("format", "json"),
    ]);
    let handler = methods::find("CustomDimensions", "getCustomDimension").ok_or_else(|| {
        ReportingError::UnknownMethod {
            method: "getCustomDimension".to_owned(),
            module: "CustomDimensions".to_owned(),
        }
    })?;
    let mut sub = Ctx {
        conn: ctx.conn,
        principal: ctx.principal,
        loader: ctx.loader.clone(),
        request: &request,
    };
    let output = handler(&mut sub)?;
    let Output::Report(Report::Table(table)) = output else {
        return Ok(Vec::new());
    };
    Ok(table
        .rows()
        .iter()
        .filter(|row| !row.is_summary_row())
        .map(|row| row.label.clone())
        .filter(|label| label != CustomDimensionReport::VALUE_NOT_DEFINED)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn most_frequent_values_come_first_ties_in_byte_order() {
        let values = texts(&["b", "a", "", "b", "c", "a", "b", "0", "1.0", "1"]);
        assert_eq!(most_frequent(values), texts(&["b", "1", "a", "0", "c"]));
    }

    #[test]
    fn numbers_are_rounded_as_php_rounds_them() {
        let values = texts(&["49.250000", "-123.1330", "3.6", "9.04", "0.0004", "1.2.4.0"]);
        assert_eq!(
            most_frequent(values),
            texts(&["-123.133", "0", "1.2.4.0", "3.6", "49.25", "9.04"])
        );
    }

    #[test]
    fn integer_strings_become_php_integer_keys() {
        assert_eq!(php_key("12"), Tree::Int(12));
        assert_eq!(php_key("-3"), Tree::Int(-3));
        assert_eq!(php_key("0"), Tree::Int(0));
        assert_eq!(php_key("03"), Tree::Str("03".to_owned()));
        assert_eq!(php_key("1.5"), Tree::Str("1.5".to_owned()));
        assert_eq!(php_key("fr"), Tree::Str("fr".to_owned()));
    }

    #[test]
    fn usage_sorts_known_names_by_visits_then_name_descending() {
        let list = vec![
            ("a".to_owned(), "Alpha".to_owned()),
            ("b".to_owned(), "Beta".to_owned()),
            ("c".to_owned(), "Gamma".to_owned()),
        ];
        let visit = |code: &str| vec![("k".to_owned(), Tree::Str(code.to_owned()))];
        let visits = vec![visit("b"), visit("zz"), visit("b"), visit("a")];
        assert_eq!(
            sort_by_usage(list, &visits, "k"),
            texts(&["Beta", "Unknown", "Alpha", "Gamma"])
        );
    }
}
