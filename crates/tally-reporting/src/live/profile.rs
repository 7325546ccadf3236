//! `Live.getVisitorProfile` (`VisitorProfile::makeVisitorProfile`): a
//! visitor's last visits (at most `live_visitor_profile_max_visits_to_aggregate`,
//! 100) summed up by each plugin's `initProfile`, `handleProfileVisit`,
//! `handleProfileAction` and `finalizeProfile`, in Matomo's plugin order,
//! with the `limitVisits` newest visits as `lastVisits`.

use std::collections::HashMap;

use diesel::MysqlConnection;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Unsigned};
use tally_datatable::render::{Report, Tree};

use super::visits::{Fields, Selection, date_long, local, php_empty, read_visits, tree_string};
use super::{LiveSite, most_recent_visitor, segment, single_site, utc_datetime};
use crate::ReportingError;
use crate::formatting::pretty_time;
use crate::methods::Ctx;
use crate::output::Output;
use crate::present::{country_name, flag};

/// `[General] live_visitor_profile_max_visits_to_aggregate`.
const MAX_VISITS_TO_AGGREGATE: i64 = 100;
/// `VisitorProfile::VISITOR_PROFILE_MAX_VISITS_TO_SHOW`.
const VISITS_TO_SHOW: usize = 10;

/// `Live.getVisitorProfile`: `[]` when the visitor has no visit.
pub(crate) fn visitor_profile(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let site = single_site(ctx)?;
    let segment = segment(ctx, &site.info)?;
    let limit_visits = ctx
        .request
        .non_empty("limitVisits")
        .and_then(|raw| raw.trim().parse::<f64>().ok())
        .filter(|limit| *limit > 0.0)
        .map_or(VISITS_TO_SHOW, |limit| limit as usize);
    let visitor = match ctx.request.non_empty("visitorId") {
        Some(id) => Some(id.to_owned()),
        None => most_recent_visitor(ctx.conn, site.info.idsite, &segment)?,
    };
    let Some(visitor) = visitor else {
        return Ok(Output::Report(Report::Tree(Tree::List(Vec::new()))));
    };
    let selection = Selection {
        visitor: Some(visitor.clone()),
        start: None,
        end: None,
        min_timestamp: None,
        ascending: false,
        offset: 0,
        // One more than aggregated tells whether there are more.
        limit: MAX_VISITS_TO_AGGREGATE + 1,
    };
    let idsite = site.info.idsite;
    let sites = HashMap::from([(idsite, site)]);
    let anonymous = ctx.principal.is_anonymous();
    let mut visits = read_visits(
        ctx.conn,
        &[idsite],
        &sites,
        &segment,
        &selection,
        super::visits::Fetch {
            actions: true,
            bandwidth: ctx.loader.config.bandwidth,
        },
        anonymous,
    )?;
    if visits.is_empty() {
        return Ok(Output::Report(Report::Tree(Tree::List(Vec::new()))));
    }
    let has_more = i64::try_from(visits.len()).unwrap_or(i64::MAX) > MAX_VISITS_TO_AGGREGATE;
    visits.truncate(MAX_VISITS_TO_AGGREGATE as usize);
    let site = &sites[&idsite];
    let profile = make_profile(
        ctx.conn,
        site,
        &visitor,
        has_more,
        visits,
        limit_visits,
        &segment,
        ctx.loader.now.unix_timestamp(),
    )?;
    Ok(Output::Report(Report::Tree(profile.into_tree())))
}

/// Names with their counts, in first-seen order.
type Counts = Vec<(String, i64)>;

/// DevicesDetection's tally of one device type: the type, its visits, its
/// icon and its device names' visits.
type DeviceType = (String, i64, Tree, Counts);

/// A custom variable's values: scope (`page`, `visit`), name, values.
type Variable = (&'static str, String, Counts);

/// What the plugins gather while walking the visits.
#[derive(Default)]
struct Tally {
    /// Actions: page URL → views, in first-seen order.
    pages: Vec<(String, i64)>,
    /// Actions: site search keyword → searches, in first-seen order.
    keywords: Vec<(String, i64)>,
    generation_ms: f64,
    load_ms: f64,
    /// DevicesDetection: type → (count, icon, device name → count).
    devices: Vec<DeviceType>,
    /// UserCountry.
    countries: Vec<(String, i64)>,
    continents: Vec<(String, i64)>,
    cities: Vec<(String, Vec<String>)>,
    /// CustomVariables: (scope, name) → value → count.
    variables: Vec<Variable>,
}

fn bump(list: &mut Vec<(String, i64)>, key: &str) -> i64 {
    match list.iter_mut().find(|(known, _)| known == key) {
        Some((_, count)) => {
            *count += 1;
            *count
        }
        None => {
            list.push((key.to_owned(), 1));
            1
        }
    }
}

fn int(fields: &Fields, key: &str) -> i64 {
    fields.number(key).map_or(0, |value| value as i64)
}

fn add(profile: &mut Fields, key: &str, by: i64) {
    let now = int(profile, key);
    profile.set(key, Tree::Int(now + by));
}

fn fields_of(tree: &Tree) -> Fields {
    let mut fields = Fields::default();
    if let Tree::Assoc(entries) = tree {
        for (key, value) in entries {
            fields.set(key, value.clone());
        }
    }
    fields
}

/// `getColumn()` of a row: a missing or null column reads `false`.
fn column_or_false(fields: &Fields, key: &str) -> Tree {
    match fields.get(key) {
        None | Some(Tree::Null) => Tree::Bool(false),
        Some(value) => value.clone(),
    }
}

#[expect(clippy::too_many_arguments, reason = "one call site, Matomo's inputs")]
fn make_profile(
    conn: &mut MysqlConnection,
    site: &LiveSite,
    visitor: &str,
    has_more: bool,
    visits: Vec<Fields>,
    limit_visits: usize,
    segment: &tally_archiving::segment::Segment,
    now: i64,
) -> Result<Fields, ReportingError> {
    let mut profile = Fields::default();
    profile.set("visitorId", Tree::Str(visitor.to_owned()));
    profile.set("hasMoreVisits", Tree::Bool(has_more));
    // initProfile: Live, Actions, Goals, Ecommerce, Events, UserCountry.
    for key in ["totalVisits", "totalVisitDuration"] {
        profile.set(key, Tree::Int(0));
    }
    for key in [
        "totalActions",
        "totalOutlinks",
        "totalDownloads",
        "totalSearches",
        "totalPageViews",
        "totalUniquePageViews",
        "totalRevisitedPages",
        "totalPageViewsWithTiming",
        "totalPageViewsWithLoadTime",
    ] {
        profile.set(key, Tree::Int(0));
    }
    profile.set("searches", Tree::List(Vec::new()));
    profile.set("totalGoalConversions", Tree::Int(0));
    profile.set("totalConversionsByGoal", Tree::Assoc(Vec::new()));
    if site.info.ecommerce {
        for key in [
            "totalEcommerceRevenue",
            "totalEcommerceConversions",
            "totalEcommerceItems",
            "totalAbandonedCarts",
            "totalAbandonedCartsRevenue",
            "totalAbandonedCartsItems",
        ] {
            profile.set(key, Tree::Int(0));
        }
    }
    profile.set("totalEvents", Tree::Int(0));
    profile.set("hasLatLong", Tree::Bool(false));

    let mut tally = Tally::default();
    for visit in &visits {
        handle_visit(&mut profile, &mut tally, visit);
        if let Some(Tree::List(actions)) = visit.get("actionDetails") {
            for action in actions {
                handle_action(&mut profile, &mut tally, &fields_of(action));
            }
        }
    }
    let first_visit = visits.last().cloned().unwrap_or_default();
    let last_visit = visits.first().cloned().unwrap_or_default();
    let mut kept = visits;
    kept.truncate(limit_visits);
    let latest = kept
        .first()
        .map(|visit| int(visit, "lastActionTimestamp"))
        .unwrap_or(0);
    let kept_count = kept.len();
    let oldest_kept = kept.last().cloned().unwrap_or_default();
    // A `DataTable` in Matomo's profile: rendered as report rows (in XML,
    // a custom variable slot is a bare `<row>`, not `<row key="1">`).
    profile.set(
        "lastVisits",
        Tree::Report(Box::new(Report::Tree(Tree::List(
            kept.into_iter().map(Fields::into_tree).collect(),
        )))),
    );
    let next = adjacent_visitor(conn, site.info.idsite, visitor, latest, segment, true)?;
    profile.set("nextVisitorId", next.map_or(Tree::Bool(false), Tree::Str));
    let previous = adjacent_visitor(conn, site.info.idsite, visitor, latest, segment, false)?;
    profile.set(
        "previousVisitorId",
        previous.map_or(Tree::Bool(false), Tree::Str),
    );

    // finalizeProfile: Live.
    let duration = int(&profile, "totalVisitDuration");
    profile.set(
        "totalVisitDurationPretty",
        Tree::Str(pretty_time(duration as f64, true)),
    );
    profile.set("userId", column_or_false(&oldest_kept, "userId"));
    profile.set("firstVisit", visit_summary(site, &first_visit, now));
    profile.set("lastVisit", visit_summary(site, &last_visit, now));
    profile.set("visitsAggregated", Tree::Int(kept_count as i64));
    // Actions.
    let mut pages = tally.pages.clone();
    pages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    profile.set(
        "visitedPages",
        Tree::List(
            pages
                .into_iter()
                .map(|(url, count)| {
                    Tree::Assoc(vec![
                        ("url".to_owned(), Tree::Str(url)),
                        ("count".to_owned(), Tree::Int(count)),
                    ])
                })
                .collect(),
        ),
    );
    let mut keywords = tally.keywords.clone();
    // `arsort`: by count, highest first.
    keywords.sort_by_key(|keyword| std::cmp::Reverse(keyword.1));
    profile.set(
        "searches",
        Tree::List(
            keywords
                .into_iter()
                .map(|(keyword, count)| {
                    Tree::Assoc(vec![
                        ("keyword".to_owned(), Tree::Str(keyword)),
                        ("searches".to_owned(), Tree::Int(count)),
                    ])
                })
                .collect(),
        ),
    );
    let timed = int(&profile, "totalPageViewsWithTiming");
    if timed > 0 {
        profile.set(
            "averagePageGenerationTime",
            Tree::Float(tally_datatable::format::round_php(
                tally.generation_ms / (1000.0 * timed as f64),
                3,
            )),
        );
    }
    let loaded = int(&profile, "totalPageViewsWithLoadTime");
    if loaded > 0 {
        profile.set(
            "averagePageLoadTime",
            Tree::Float(tally_datatable::format::round_php(
                tally.load_ms / (1000.0 * loaded as f64),
                3,
            )),
        );
    }
    // DevicesDetection: by count (compared as strings, as Matomo's
    // `strcmp` does), then by type.
    let mut devices = tally.devices;
    devices.sort_by(|a, b| {
        b.1.to_string()
            .cmp(&a.1.to_string())
            .then_with(|| a.0.cmp(&b.0))
    });
    profile.set(
        "devices",
        Tree::List(
            devices
                .into_iter()
                .map(|(kind, count, icon, names)| {
                    Tree::Assoc(vec![
                        ("type".to_owned(), Tree::Str(kind)),
                        ("count".to_owned(), Tree::Int(count)),
                        ("icon".to_owned(), icon),
                        (
                            "devices".to_owned(),
                            Tree::List(
                                names
                                    .into_iter()
                                    .map(|(name, count)| {
                                        Tree::Assoc(vec![
                                            ("name".to_owned(), Tree::Str(name)),
                                            ("count".to_owned(), Tree::Int(count)),
                                        ])
                                    })
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect(),
        ),
    );
    // UserCountry: `asort` (fewest visits first).
    let mut continents = tally.continents;
    continents.sort_by_key(|continent| continent.1);
    profile.set(
        "continents",
        Tree::List(
            continents
                .into_iter()
                .map(|(code, visits)| {
                    let name = crate::present::continent_name(&code);
                    Tree::Assoc(vec![
                        ("continent".to_owned(), Tree::Str(code)),
                        ("nb_visits".to_owned(), Tree::Int(visits)),
                        ("prettyName".to_owned(), Tree::Str(name.to_owned())),
                    ])
                })
                .collect(),
        ),
    );
    let mut countries = tally.countries;
    countries.sort_by_key(|country| country.1);
    profile.set(
        "countries",
        Tree::List(
            countries
                .into_iter()
                .map(|(code, visits)| {
                    let mut entry = vec![
                        ("country".to_owned(), Tree::Str(code.clone())),
                        ("nb_visits".to_owned(), Tree::Int(visits)),
                        ("flag".to_owned(), Tree::Str(flag(&code))),
                        ("prettyName".to_owned(), Tree::Str(country_name(&code))),
                    ];
                    if let Some((_, cities)) = tally
                        .cities
                        .iter()
                        .find(|(country, cities)| *country == code && !cities.is_empty())
                    {
                        let mut unique: Vec<Tree> = Vec::new();
                        for city in cities {
                            let city = Tree::Str(city.clone());
                            if !unique.contains(&city) {
                                unique.push(city);
                            }
                        }
                        entry.push(("cities".to_owned(), Tree::List(unique)));
                    }
                    Tree::Assoc(entry)
                })
                .collect(),
        ),
    );
    // Ecommerce: the lifetime totals of the oldest kept visit.
    if site.info.ecommerce {
        for key in [
            "totalEcommerceRevenue",
            "totalEcommerceConversions",
            "totalEcommerceItems",
            "totalAbandonedCartsRevenue",
            "totalAbandonedCarts",
            "totalAbandonedCartsItems",
        ] {
            profile.set(key, column_or_false(&oldest_kept, key));
        }
    }
    // CustomVariables.
    if !tally.variables.is_empty() {
        let mut scopes: Vec<(String, Tree)> = Vec::new();
        for scope in ["page", "visit"] {
            let mut list = Vec::new();
            for (_, name, values) in tally.variables.iter().filter(|(s, _, _)| *s == scope) {
                let mut values = values.clone();
                values.sort_by_key(|value| std::cmp::Reverse(value.1));
                list.push(Tree::Assoc(vec![
                    ("name".to_owned(), Tree::Str(name.clone())),
                    (
                        "values".to_owned(),
                        Tree::List(
                            values
                                .into_iter()
                                .map(|(value, count)| {
                                    Tree::Assoc(vec![
                                        ("value".to_owned(), Tree::Str(value)),
                                        ("count".to_owned(), Tree::Int(count)),
                                    ])
                                })
                                .collect(),
                        ),
                    ),
                ]));
            }
            if !list.is_empty() {
                scopes.push((scope.to_owned(), Tree::List(list)));
            }
        }
        profile.set("customVariables", Tree::Assoc(scopes));
    }
    Ok(profile)
}

/// `handleProfileVisit` of Live, Actions, DevicesDetection, Goals,
/// UserCountry and CustomVariables.
fn handle_visit(profile: &mut Fields, tally: &mut Tally, visit: &Fields) {
    add(profile, "totalVisits", 1);
    add(profile, "totalVisitDuration", int(visit, "visitDuration"));
    add(profile, "totalActions", int(visit, "actions"));
    // DevicesDetection.
    let kind = visit.text("deviceType");
    let brand = visit.text("deviceBrand");
    let model = visit.text("deviceModel");
    let name = if brand == crate::present::UNKNOWN {
        model
    } else {
        format!("{brand} {model}").trim().to_owned()
    };
    match tally.devices.iter_mut().find(|(known, ..)| *known == kind) {
        Some((_, count, _, names)) => {
            *count += 1;
            bump(names, &name);
        }
        None => {
            let icon = visit.get("deviceTypeIcon").cloned().unwrap_or(Tree::Null);
            tally.devices.push((kind, 1, icon, vec![(name, 1)]));
        }
    }
    add(
        profile,
        "totalGoalConversions",
        int(visit, "goalConversions"),
    );
    // UserCountry.
    if !matches!(visit.get("latitude"), None | Some(Tree::Null)) {
        profile.set("hasLatLong", Tree::Bool(true));
    }
    let country = visit.text("countryCode");
    bump(&mut tally.countries, &country);
    let code = visit.text("continentCode");
    bump(&mut tally.continents, &code);
    if !country.is_empty() && !tally.cities.iter().any(|(known, _)| *known == country) {
        tally.cities.push((country.clone(), Vec::new()));
    }
    let city = visit.text("city");
    if !city.is_empty()
        && let Some((_, cities)) = tally.cities.iter_mut().find(|(known, _)| *known == country)
    {
        cities.push(city);
    }
    // CustomVariables (visit scope).
    if let Some(Tree::Assoc(slots)) = visit.get("customVariables") {
        for (index, variable) in slots {
            let variable = fields_of(variable);
            let name = variable.text(&format!("customVariableName{index}"));
            let value = variable
                .get(&format!("customVariableValue{index}"))
                .cloned()
                .unwrap_or(Tree::Null);
            count_variable(tally, "visit", name, &value);
        }
    }
}

fn count_variable(tally: &mut Tally, scope: &'static str, name: String, value: &Tree) {
    if php_empty(value) {
        return;
    }
    let value = tree_string(value);
    match tally
        .variables
        .iter_mut()
        .find(|(known_scope, known, _)| *known_scope == scope && *known == name)
    {
        Some((_, _, values)) => {
            bump(values, &value);
        }
        None => tally.variables.push((scope, name, vec![(value, 1)])),
    }
}

/// `handleProfileAction` of Actions, Goals, Events and CustomVariables.
fn handle_action(profile: &mut Fields, tally: &mut Tally, action: &Fields) {
    let kind = action.text("type");
    match kind.as_str() {
        "download" => add(profile, "totalDownloads", 1),
        "outlink" => add(profile, "totalOutlinks", 1),
        _ => {}
    }
    if let Some(keyword) = action.get("siteSearchKeyword") {
        let keyword = tree_string(keyword);
        if bump(&mut tally.keywords, &keyword) == 1 {
            add(profile, "totalSearches", 1);
        }
    }
    if kind == "action" {
        add(profile, "totalPageViews", 1);
        let url = action.text("url");
        if !url.is_empty() {
            let count = bump(&mut tally.pages, &url);
            if count == 1 {
                add(profile, "totalUniquePageViews", 1);
            }
            if count == 2 {
                add(profile, "totalRevisitedPages", 1);
            }
        }
    }
    if let Some(milliseconds) = action.number("generationTimeMilliseconds") {
        tally.generation_ms += milliseconds;
        add(profile, "totalPageViewsWithTiming", 1);
    }
    if let Some(milliseconds) = action.number("pageLoadTimeMilliseconds") {
        tally.load_ms += milliseconds;
        add(profile, "totalPageViewsWithLoadTime", 1);
    }
    // Goals.
    if kind == "goal" && !action.is_empty_value("goalId") {
        let key = format!("idgoal={}", action.text("goalId"));
        let mut by_goal = fields_of(
            &profile
                .get("totalConversionsByGoal")
                .cloned()
                .unwrap_or(Tree::Null),
        );
        add(&mut by_goal, &key, 1);
        profile.set("totalConversionsByGoal", by_goal.into_tree());
        if !action.is_empty_value("revenue") {
            let mut revenue = fields_of(
                &profile
                    .get("totalRevenueByGoal")
                    .cloned()
                    .unwrap_or(Tree::Null),
            );
            let sum = revenue.number(&key).unwrap_or(0.0) + action.number("revenue").unwrap_or(0.0);
            revenue.set(&key, Tree::Float(sum));
            profile.set("totalRevenueByGoal", revenue.into_tree());
        }
    }
    // Events.
    if kind == "event" {
        add(profile, "totalEvents", 1);
    }
    // CustomVariables (page scope).
    if let Some(Tree::Assoc(slots)) = action.get("customVariables") {
        for (index, variable) in slots {
            let variable = fields_of(variable);
            let name = variable.text(&format!("customVariablePageName{index}"));
            let value = variable
                .get(&format!("customVariablePageValue{index}"))
                .cloned()
                .unwrap_or(Tree::Null);
            count_variable(tally, "page", name, &value);
        }
    }
}

/// `getVisitorProfileVisitSummary`: when a visit started and where it came
/// from.
fn visit_summary(site: &LiveSite, visit: &Fields, now: i64) -> Tree {
    let first = int(visit, "firstActionTimestamp");
    let today = site
        .info
        .timezone
        .start_of_day(site.info.timezone.local_date(now));
    let first_day = site
        .info
        .timezone
        .start_of_day(site.info.timezone.local_date(first));
    let referrer_url = match visit.get("referrerUrl") {
        None | Some(Tree::Null) => Tree::Str(String::new()),
        Some(url) if php_empty(url) => Tree::Str(String::new()),
        Some(url) => url.clone(),
    };
    Tree::Assoc(vec![
        ("date".to_owned(), Tree::Int(first)),
        (
            "prettyDate".to_owned(),
            Tree::Str(date_long(local(site, first))),
        ),
        (
            "daysAgo".to_owned(),
            Tree::Int((today - first_day) / 86_400),
        ),
        (
            "referrerType".to_owned(),
            visit.get("referrerType").cloned().unwrap_or(Tree::Null),
        ),
        ("referrerUrl".to_owned(), referrer_url),
        (
            "referralSummary".to_owned(),
            Tree::Str(referral_summary(visit)),
        ),
    ])
}

/// `VisitorDetails::getReferrerSummaryForVisit`.
fn referral_summary(visit: &Fields) -> String {
    let kind = visit.text("referrerType");
    let name = visit.text("referrerName");
    let keyword = visit.text("referrerKeyword");
    match kind.as_str() {
        "" | "direct" => "Direct Entry".to_owned(),
        "search" if !keyword.is_empty() && keyword != "Keyword not defined" => {
            format!("{name} ({keyword})")
        }
        "search" => name,
        "campaign" if !keyword.is_empty() && keyword != "0" => {
            format!("Campaign: {name} - {keyword}")
        }
        "campaign" => format!("Campaign: {name}"),
        _ => name,
    }
}

#[derive(QueryableByName)]
struct Adjacent {
    #[diesel(sql_type = Nullable<Text>)]
    visitor: Option<String>,
}

/// `Model::queryAdjacentVisitorId`: among the other visitors whose last
/// visit ended within a day of `latest`, the next one (latest visit at or
/// before `latest`, newest first) or the previous one (at or after it,
/// oldest first).
fn adjacent_visitor(
    conn: &mut MysqlConnection,
    idsite: u32,
    visitor: &str,
    latest: i64,
    segment: &tally_archiving::segment::Segment,
    next: bool,
) -> QueryResult<Option<String>> {
    let (condition, order) = if next {
        ("sub.visit_last_action_time <= ?", "DESC")
    } else {
        ("sub.visit_last_action_time >= ?", "ASC")
    };
    let sql = segment.to_sql();
    let hex: String = visitor.chars().filter(char::is_ascii_hexdigit).collect();
    let query = diesel::sql_query(format!(
        "SELECT LOWER(HEX(sub.idvisitor)) AS visitor FROM (\
         SELECT log_visit.idvisitor, MAX(log_visit.visit_last_action_time) AS visit_last_action_time \
         FROM log_visit AS log_visit WHERE log_visit.idsite = ? AND log_visit.idvisitor <> UNHEX('{hex}') \
         AND log_visit.visit_last_action_time >= ? AND log_visit.visit_last_action_time <= ? AND ({}) \
         GROUP BY log_visit.idvisitor ORDER BY MAX(log_visit.visit_last_action_time) {order}) AS sub \
         WHERE {condition} LIMIT 1",
        sql.where_sql
    ))
    .into_boxed::<diesel::mysql::Mysql>()
    .bind::<Unsigned<diesel::sql_types::Integer>, _>(idsite)
    .bind::<Text, _>(utc_datetime(latest - 86_400))
    .bind::<Text, _>(utc_datetime(latest + 86_400));
    let query = sql.apply_binds(query).bind::<Text, _>(utc_datetime(latest));
    Ok(query
        .get_result::<Adjacent>(conn)
        .optional()?
        .and_then(|row| row.visitor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referral_summaries_are_matomos() {
        let visit = |kind: &str, name: &str, keyword: &str| {
            let mut fields = Fields::default();
            fields.set("referrerType", Tree::Str(kind.to_owned()));
            fields.set("referrerName", Tree::Str(name.to_owned()));
            fields.set("referrerKeyword", Tree::Str(keyword.to_owned()));
            fields
        };
        assert_eq!(referral_summary(&visit("direct", "", "")), "Direct Entry");
        assert_eq!(
            referral_summary(&visit("search", "Google", "shoes")),
            "Google (shoes)"
        );
        assert_eq!(
            referral_summary(&visit("campaign", "spring", "mail")),
            "Campaign: spring - mail"
        );
        assert_eq!(
            referral_summary(&visit("website", "blog.example", "")),
            "blog.example"
        );
    }
}
