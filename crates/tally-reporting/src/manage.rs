//! Management methods (SitesManager, UsersManager, the Goals admin
//! methods, CoreAdminHome.invalidateArchivedReports; SegmentEditor and
//! Annotations in notes.rs) over
//! `tally-management`: parameters in Matomo's names, results in Matomo's
//! shapes (a site object, a list of objects, a bare id, or success).

use diesel::MysqlConnection;
use tally_datatable::render::{Report, Tree};
use tally_datatable::{ColumnKey, Columns, Scalar, Value};
use tally_management::{
    self as management, Access, GoalParams, NewSiteParams, Principal, SiteChanges,
};
use time::OffsetDateTime;

use crate::ReportingError;
use crate::api::ManageHandler;
use crate::dimensions_admin;
use crate::notes;
use crate::output::Output;
use crate::request::ApiRequest;

type Answer = Result<Output, ReportingError>;

/// `Plugin.method` → management implementation.
pub(crate) fn find(module: &str, method: &str) -> Option<ManageHandler> {
    let handler: ManageHandler = match (module, method) {
        ("SitesManager", "addSite") => add_site,
        ("SitesManager", "updateSite") => update_site,
        ("SitesManager", "deleteSite") => delete_site,
        ("SitesManager", "getSiteFromId") => get_site,
        ("SitesManager", "getAllSites") => get_all_sites,
        ("SitesManager", "getAllSitesId") => get_all_sites_id,
        ("SitesManager", "getSitesWithAtLeastViewAccess") => sites_with_view_access,
        ("SitesManager", "getSitesIdWithAtLeastViewAccess") => site_ids_with_view_access,
        ("SitesManager", "getSitesIdFromSiteUrl") => site_ids_from_url,
        ("SitesManager", "addSiteAliasUrls") => add_site_alias_urls,
        ("SitesManager", "getSiteUrlsFromId") => site_urls,
        ("SitesManager", "setGlobalExcludedIps") => set_global_excluded_ips,
        ("SitesManager", "setGlobalExcludedQueryParameters") => set_global_excluded_parameters,
        ("SitesManager", "setGlobalExcludedUserAgents") => set_global_excluded_user_agents,
        ("SitesManager", "getExcludedIpsGlobal") => global_excluded_ips,
        ("SitesManager", "getExcludedQueryParametersGlobal") => global_excluded_parameters,
        ("SitesManager", "getExcludedUserAgentsGlobal") => global_excluded_user_agents,
        ("SitesManager", "setGlobalSearchParameters") => set_global_search_parameters,
        ("SitesManager", "getSearchKeywordParametersGlobal") => global_search_keywords,
        ("SitesManager", "getSearchCategoryParametersGlobal") => global_search_categories,
        ("UsersManager", "addUser") => add_user,
        ("UsersManager", "deleteUser") => delete_user,
        ("UsersManager", "getUser") => get_user,
        ("UsersManager", "getUsers") => get_users,
        ("UsersManager", "getUserPreference") => get_user_preference,
        ("UsersManager", "setUserPreference") => set_user_preference,
        ("UsersManager", "setUserAccess") => set_user_access,
        ("UsersManager", "getUsersAccessFromSite") => users_access_from_site,
        ("UsersManager", "createAppSpecificTokenAuth") => create_token,
        ("UsersManager", "deleteAppSpecificToken") => delete_token,
        ("Goals", "addGoal") => add_goal,
        ("Goals", "updateGoal") => update_goal,
        ("Goals", "deleteGoal") => delete_goal,
        ("Goals", "getGoals") => get_goals,
        ("Goals", "getGoal") => get_goal,
        ("SegmentEditor", "add") => notes::add_segment,
        ("SegmentEditor", "update") => notes::update_segment,
        ("SegmentEditor", "delete") => notes::delete_segment,
        ("SegmentEditor", "get") => notes::get_segment,
        ("SegmentEditor", "getAll") => notes::get_all_segments,
        ("SegmentEditor", "isUserCanAddNewSegment") => notes::can_add_segment,
        ("Annotations", "add") => notes::add_annotation,
        ("Annotations", "save") => notes::save_annotation,
        ("Annotations", "delete") => notes::delete_annotation,
        ("Annotations", "deleteAll") => notes::delete_all_annotations,
        ("Annotations", "get") => notes::get_annotation,
        ("Annotations", "getAll") => notes::get_all_annotations,
        ("Annotations", "getAnnotationCountForDates") => notes::annotation_counts,
        ("CustomDimensions", "configureNewCustomDimension") => dimensions_admin::configure_new,
        ("CustomDimensions", "configureExistingCustomDimension") => {
            dimensions_admin::configure_existing
        }
        ("CustomDimensions", "getConfiguredCustomDimensions") => dimensions_admin::configured,
        ("CustomDimensions", "getConfiguredCustomDimensionsHavingScope") => {
            dimensions_admin::configured_having_scope
        }
        ("CustomDimensions", "getAvailableScopes") => dimensions_admin::available_scopes,
        ("CustomDimensions", "getAvailableExtractionDimensions") => {
            dimensions_admin::extraction_dimensions
        }
        ("UserCountry", "getCountryCodeMapping") => country_code_mapping,
        ("CoreAdminHome", "invalidateArchivedReports") => invalidate,
        ("CoreAdminHome", "getTrackingFailures") => tracking_failures,
        ("CoreAdminHome", "deleteTrackingFailure") => delete_tracking_failure,
        ("CoreAdminHome", "deleteAllTrackingFailures") => delete_all_tracking_failures,
        _ => return None,
    };
    Some(handler)
}

pub(crate) fn required<'r>(request: &'r ApiRequest, name: &str) -> Result<&'r str, ReportingError> {
    request
        .non_empty(name)
        .ok_or_else(|| ReportingError::MissingParameter(name.to_owned()))
}

pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> ReportingError {
    ReportingError::InvalidParameter {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn id_param(request: &ApiRequest, name: &str) -> Result<u32, ReportingError> {
    let raw = required(request, name)?;
    raw.trim()
        .parse::<u32>()
        .map_err(|_| invalid(name, format!("'{raw}' is not an id")))
}

pub(crate) fn opt_bool(request: &ApiRequest, name: &str) -> Option<bool> {
    request
        .get(name)
        .map(|value| matches!(value.trim(), "1" | "true"))
}

fn opt_string(request: &ApiRequest, name: &str) -> Option<String> {
    request.get(name).map(str::to_owned)
}

/// A list parameter: `name[]=a&name[]=b`, `name[0]=a`, or `name=a,b`.
pub(crate) fn list_param(request: &ApiRequest, name: &str) -> Option<Vec<String>> {
    let array_prefix = format!("{name}[");
    let from_array: Vec<String> = request
        .pairs()
        .filter(|(key, _)| key.starts_with(&array_prefix))
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    if !from_array.is_empty() {
        return Some(from_array);
    }
    request.get(name).map(|value| {
        value
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn ids_param(request: &ApiRequest, name: &str) -> Result<Vec<u32>, ReportingError> {
    list_param(request, name)
        .ok_or_else(|| ReportingError::MissingParameter(name.to_owned()))?
        .iter()
        .map(|part| {
            part.parse::<u32>()
                .map_err(|_| invalid(name, format!("'{part}' is not an id")))
        })
        .collect()
}

fn date_param(
    request: &ApiRequest,
    name: &str,
) -> Result<Option<time::PrimitiveDateTime>, ReportingError> {
    let Some(raw) = request.non_empty(name) else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw.trim(), format)
        .map_err(|_| invalid(name, format!("'{raw}' is not a YYYY-MM-DD date")))?;
    Ok(Some(date.midnight()))
}

/// A serde value as report columns (objects become one row).
fn columns_of(value: serde_json::Value) -> Columns {
    let serde_json::Value::Object(object) = value else {
        return Columns::new();
    };
    object
        .into_iter()
        .map(|(key, value)| (ColumnKey::Name(key), cell(value)))
        .collect()
}

fn cell(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(int) => Value::Int(int),
            None => Value::Float(number.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(text) => Value::Str(text),
        serde_json::Value::Bool(flag) => Value::Int(i64::from(flag)),
        serde_json::Value::Null => Value::Str(String::new()),
        other => Value::Str(other.to_string()),
    }
}

pub(crate) fn object<T: serde::Serialize>(item: &T) -> Answer {
    let value = serde_json::to_value(item).map_err(|error| invalid("result", error.to_string()))?;
    Ok(Output::Report(Report::Simple(columns_of(value))))
}

fn list<T: serde::Serialize>(items: &[T]) -> Answer {
    let rows = items
        .iter()
        .map(|item| serde_json::to_value(item).map(columns_of))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid("result", error.to_string()))?;
    Ok(Output::Report(Report::Rows(rows)))
}

fn id_list(ids: &[u32]) -> Output {
    Output::Report(Report::Rows(
        ids.iter()
            .map(|id| {
                [(ColumnKey::from("value"), Value::Int(i64::from(*id)))]
                    .into_iter()
                    .collect()
            })
            .collect(),
    ))
}

fn value(scalar: impl Into<Scalar>) -> Output {
    Output::Value(scalar.into())
}

// --- SitesManager -----------------------------------------------------------

/// The site settings of `addSite` / `updateSite` (Matomo's parameter
/// names); absent parameters stay `None`.
fn site_changes(request: &ApiRequest) -> Result<SiteChanges, ReportingError> {
    Ok(SiteChanges {
        name: opt_string(request, "siteName"),
        urls: list_param(request, "urls"),
        ecommerce: opt_bool(request, "ecommerce"),
        sitesearch: opt_bool(request, "siteSearch"),
        search_keyword_parameters: opt_string(request, "searchKeywordParameters"),
        search_category_parameters: opt_string(request, "searchCategoryParameters"),
        excluded_ips: opt_string(request, "excludedIps"),
        excluded_parameters: opt_string(request, "excludedQueryParameters"),
        excluded_user_agents: opt_string(request, "excludedUserAgents"),
        excluded_referrers: opt_string(request, "excludedReferrers"),
        timezone: opt_string(request, "timezone"),
        currency: opt_string(request, "currency"),
        group: opt_string(request, "group"),
        start_date: date_param(request, "startDate")?,
        keep_url_fragment: request
            .non_empty("keepURLFragments")
            .map(|raw| {
                raw.trim()
                    .parse::<u8>()
                    .map_err(|_| invalid("keepURLFragments", "expected 0, 1 or 2"))
            })
            .transpose()?,
        site_type: opt_string(request, "type"),
        exclude_unknown_urls: opt_bool(request, "excludeUnknownUrls"),
    })
}

fn add_site(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let name = required(request, "siteName")?.to_owned();
    let c = site_changes(request)?;
    let params = NewSiteParams {
        name,
        urls: c.urls.unwrap_or_default(),
        ecommerce: c.ecommerce,
        sitesearch: c.sitesearch,
        search_keyword_parameters: c.search_keyword_parameters,
        search_category_parameters: c.search_category_parameters,
        excluded_ips: c.excluded_ips,
        excluded_parameters: c.excluded_parameters,
        excluded_user_agents: c.excluded_user_agents,
        excluded_referrers: c.excluded_referrers,
        timezone: c.timezone,
        currency: c.currency,
        group: c.group,
        start_date: c.start_date,
        keep_url_fragment: c.keep_url_fragment,
        site_type: c.site_type,
        exclude_unknown_urls: c.exclude_unknown_urls,
    };
    let idsite = management::add_site(conn, actor, &params)?;
    Ok(value(i64::from(idsite)))
}

fn update_site(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    management::update_site(conn, actor, idsite, &site_changes(request)?)?;
    Ok(Output::Success)
}

fn delete_site(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::delete_site(conn, actor, id_param(request, "idSite")?)?;
    Ok(Output::Success)
}

fn get_site(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    object(&management::get_site(
        conn,
        actor,
        id_param(request, "idSite")?,
    )?)
}

fn get_all_sites(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let sites = management::get_all_sites(conn, actor)?;
    // Matomo builds this answer keyed by idsite (`$return[$site['idsite']]`),
    // so its JSON is an object, not a list: `import_logs.py
    // --replay-tracking` looks a replayed `idsite` up among its keys.
    keyed_by(sites.iter().map(|site| (site.idsite.to_string(), site)))
}

fn get_all_sites_id(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    actor.check_superuser()?;
    Ok(id_list(&management::sites_with_access(
        conn,
        actor,
        Access::View,
    )?))
}

fn sites_with_view_access(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    list(&management::sites_with_at_least_view_access(conn, actor)?)
}

fn site_ids_with_view_access(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    Ok(id_list(&management::sites_with_access(
        conn,
        actor,
        Access::View,
    )?))
}

fn site_ids_from_url(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let url = required(request, "url")?;
    let ids = management::site_ids_from_url(conn, actor, url)?;
    let rows = ids
        .iter()
        .map(|id| {
            [(ColumnKey::from("idsite"), Value::Int(i64::from(*id)))]
                .into_iter()
                .collect()
        })
        .collect();
    Ok(Output::Report(Report::Rows(rows)))
}

fn add_site_alias_urls(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let urls = list_param(request, "urls")
        .ok_or_else(|| ReportingError::MissingParameter("urls".to_owned()))?;
    let added = management::add_site_alias_urls(conn, actor, idsite, &urls)?;
    Ok(value(i64::try_from(added).unwrap_or(i64::MAX)))
}

fn site_urls(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let urls = management::site_urls(conn, actor, id_param(request, "idSite")?)?;
    let rows = urls
        .into_iter()
        .map(|url| {
            [(ColumnKey::from("value"), Value::Str(url))]
                .into_iter()
                .collect()
        })
        .collect();
    Ok(Output::Report(Report::Rows(rows)))
}

fn set_global_excluded_ips(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::set_global_excluded_ips(conn, actor, request.get("excludedIps").unwrap_or(""))?;
    Ok(value(true_scalar()))
}

fn set_global_excluded_parameters(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::set_global_excluded_query_parameters(
        conn,
        actor,
        request.get("excludedQueryParameters").unwrap_or(""),
    )?;
    Ok(value(true_scalar()))
}

fn set_global_excluded_user_agents(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::set_global_excluded_user_agents(
        conn,
        actor,
        request.get("excludedUserAgents").unwrap_or(""),
    )?;
    Ok(value(true_scalar()))
}

/// Matomo's setters return `true`, which JSON shows as `{"value":true}`;
/// our scalars have no boolean, so it is 1.
pub(crate) fn true_scalar() -> Scalar {
    Scalar::Int(1)
}

fn global_excluded_ips(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    Ok(value(management::global_excluded_ips(conn, actor)?))
}

fn global_excluded_parameters(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    Ok(value(management::global_excluded_query_parameters(
        conn, actor,
    )?))
}

fn global_excluded_user_agents(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    Ok(value(management::global_excluded_user_agents(conn, actor)?))
}

fn set_global_search_parameters(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::set_global_search_parameters(
        conn,
        actor,
        request.get("searchKeywordParameters").unwrap_or(""),
        request.get("searchCategoryParameters").unwrap_or(""),
    )?;
    Ok(value(true_scalar()))
}

fn global_search_keywords(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    Ok(value(management::global_search_keyword_parameters(
        conn, actor,
    )?))
}

fn global_search_categories(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    Ok(value(management::global_search_category_parameters(
        conn, actor,
    )?))
}

// --- UsersManager -----------------------------------------------------------

fn add_user(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    let initial = match request.non_empty("initialIdSite") {
        Some(_) => Some(id_param(request, "initialIdSite")?),
        None => None,
    };
    management::add_user(
        conn,
        actor,
        required(request, "userLogin")?,
        required(request, "password")?,
        required(request, "email")?,
        initial,
        now,
    )?;
    Ok(Output::Success)
}

fn delete_user(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::delete_user(conn, actor, required(request, "userLogin")?)?;
    Ok(Output::Success)
}

fn get_user(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    object(&management::get_user(
        conn,
        actor,
        required(request, "userLogin")?,
    )?)
}

fn get_user_preference(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    // `userLogin=false`'s default: the caller.
    let login = request.non_empty("userLogin");
    Ok(
        match management::get_user_preference(
            conn,
            actor,
            required(request, "preferenceName")?,
            login,
        )? {
            management::PreferenceValue::Text(text) => value(text),
            management::PreferenceValue::Site(id) => value(i64::from(id)),
            management::PreferenceValue::None => Output::Bool(false),
        },
    )
}

fn set_user_preference(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::set_user_preference(
        conn,
        actor,
        required(request, "userLogin")?,
        required(request, "preferenceName")?,
        required(request, "preferenceValue")?,
    )?;
    Ok(Output::Success)
}

fn get_users(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    list(&management::get_users(conn, actor)?)
}

fn set_user_access(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let ids = ids_param(request, "idSites")?;
    management::set_user_access(
        conn,
        actor,
        required(request, "userLogin")?,
        required(request, "access")?,
        &ids,
    )?;
    Ok(Output::Success)
}

fn users_access_from_site(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let access = management::users_access_from_site(conn, actor, id_param(request, "idSite")?)?;
    // Matomo answers an array login => access, i.e. one object.
    let columns = access
        .into_iter()
        .map(|(login, access)| {
            (
                ColumnKey::Name(login),
                Value::Str(access.as_str().to_owned()),
            )
        })
        .collect();
    Ok(Output::Report(Report::Simple(columns)))
}

/// `UserCountry.getCountryCodeMapping`: every country code Matomo knows
/// and its English name, as one row, for anyone (Matomo checks no
/// access). Kosovo (`xk`), which our list has for GeoIP databases that
/// return it, is not in Matomo's list and not answered.
fn country_code_mapping(
    _: &mut MysqlConnection,
    _: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    // A PHP array, not a report: XML shows it as one `<row>`.
    let mapping = tally_schema::geo::COUNTRIES
        .iter()
        .filter(|(code, _, _)| *code != "xk")
        .map(|(code, _, name)| ((*code).to_owned(), Tree::Str((*name).to_owned())))
        .collect();
    Ok(Output::Report(Report::Tree(Tree::Assoc(mapping))))
}

fn create_token(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    let expire = match request.non_empty("expireHours") {
        Some(raw) => {
            let hours = raw
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|hours| *hours > 0)
                .ok_or_else(|| {
                    invalid("expireHours", format!("'{raw}' is not a number of hours"))
                })?;
            Some(now + time::Duration::hours(hours))
        }
        None => date_param(request, "expireDate")?.map(|date| date.assume_utc()),
    };
    let token = management::create_app_specific_token(
        conn,
        actor,
        required(request, "userLogin")?,
        request.get("passwordConfirmation").unwrap_or(""),
        required(request, "description")?,
        expire,
        now,
    )?;
    Ok(value(token))
}

fn delete_token(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let raw = required(request, "tokenId")?;
    let id = raw
        .trim()
        .parse::<u64>()
        .map_err(|_| invalid("tokenId", format!("'{raw}' is not a token id")))?;
    management::delete_app_specific_token(conn, actor, required(request, "userLogin")?, id)?;
    Ok(Output::Success)
}

// --- Goals --------------------------------------------------------------------

fn goal_params(request: &ApiRequest) -> Result<GoalParams, ReportingError> {
    // Matomo's default is `false`, meaning no revenue.
    let revenue = match request.non_empty("revenue") {
        Some(raw) if raw != "false" => raw
            .trim()
            .parse::<f64>()
            .map_err(|_| invalid("revenue", format!("'{raw}' is not a number")))?,
        _ => 0.0,
    };
    Ok(GoalParams {
        name: required(request, "name")?.to_owned(),
        match_attribute: required(request, "matchAttribute")?.to_owned(),
        pattern: request.get("pattern").unwrap_or("").to_owned(),
        pattern_type: request
            .non_empty("patternType")
            .unwrap_or("contains")
            .to_owned(),
        case_sensitive: opt_bool(request, "caseSensitive").unwrap_or(false),
        revenue,
        allow_multiple: opt_bool(request, "allowMultipleConversionsPerVisit").unwrap_or(false),
        description: request.get("description").unwrap_or("").to_owned(),
        event_value_as_revenue: opt_bool(request, "useEventValueAsRevenue").unwrap_or(false),
    })
}

fn add_goal(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let idgoal = management::add_goal(conn, actor, idsite, &goal_params(request)?)?;
    Ok(value(i64::from(idgoal)))
}

fn update_goal(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let idgoal = id_param(request, "idGoal")?;
    management::update_goal(conn, actor, idsite, idgoal, &goal_params(request)?)?;
    Ok(Output::Success)
}

fn delete_goal(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let idgoal = id_param(request, "idGoal")?;
    management::delete_goal(conn, actor, idsite, idgoal)?;
    Ok(Output::Success)
}

fn tracking_failures(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    list(&management::tracking_failures(conn, actor)?)
}

fn delete_tracking_failure(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let raw = required(request, "idFailure")?;
    let idfailure = raw
        .trim()
        .parse::<u16>()
        .map_err(|_| invalid("idFailure", format!("'{raw}' is not an id")))?;
    management::delete_tracking_failure(conn, actor, idsite, idfailure)?;
    Ok(Output::Success)
}

fn delete_all_tracking_failures(
    conn: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    management::delete_all_tracking_failures(conn, actor)?;
    Ok(Output::Success)
}

fn get_goals(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let goals = management::get_goals(conn, actor, id_param(request, "idSite")?)?;
    keyed_by(goals.iter().map(|goal| (goal.idgoal.to_string(), goal)))
}

/// A plain PHP array keyed by id (Matomo's `$return[$id] = $row`), not a
/// `DataTable\Map`: JSON shows an object of objects, XML `<result>` with
/// one `<row key="1">` per entry, CSV one row per entry.
fn keyed_by<'a, T: serde::Serialize + 'a>(
    entries: impl Iterator<Item = (String, &'a T)>,
) -> Answer {
    let entries = entries
        .map(|(key, item)| {
            let value =
                serde_json::to_value(item).map_err(|error| invalid("result", error.to_string()))?;
            Ok((key, columns_tree(&columns_of(value))))
        })
        .collect::<Result<Vec<_>, ReportingError>>()?;
    Ok(Output::Report(Report::Tree(Tree::Assoc(entries))))
}

/// A row of columns as a PHP associative array.
fn columns_tree(columns: &Columns) -> Tree {
    Tree::Assoc(
        columns
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::Int(number) => Tree::Int(*number),
                    Value::Float(number) => Tree::Float(*number),
                    Value::Str(text) => Tree::Str(text.clone()),
                    // `columns_of` makes none of the others.
                    _ => Tree::Null,
                };
                (key.name().into_owned(), value)
            })
            .collect(),
    )
}

fn get_goal(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    // Matomo reads the id with PHP's `(int)`: `idGoal=ecommerceOrder` is
    // goal 0, which no site has. A goal the site lacks is PHP's `null`,
    // answered `success` (AbandonedCartWithoutConversionsTest's getGoal).
    let idgoal = php_int_prefix(required(request, "idGoal")?);
    let Some(idgoal) = idgoal.and_then(|id| u32::try_from(id).ok()) else {
        actor.check(idsite, Access::View)?;
        return Ok(Output::Success);
    };
    match management::get_goal(conn, actor, idsite, idgoal) {
        Ok(goal) => object(&goal),
        Err(management::ManagementError::UnknownGoal { .. }) => Ok(Output::Success),
        Err(error) => Err(error.into()),
    }
}

/// PHP's `(int)` of a string: its leading (signed) digits after
/// whitespace, `None` where PHP gives 0 or the digits overflow.
fn php_int_prefix(raw: &str) -> Option<i64> {
    let text = raw.trim_start();
    let digits_from = usize::from(text.starts_with(['-', '+']));
    let end = text[digits_from..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(text.len(), |at| at + digits_from);
    text[..end].parse::<i64>().ok().filter(|id| *id != 0)
}

// --- CoreAdminHome --------------------------------------------------------------

/// `CoreAdminHome.invalidateArchivedReports(idSites, dates, period)`:
/// writes invalidations the archiver consumes (admin on every site).
fn invalidate(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Answer {
    // As Matomo's `Site::getIdSitesFromIdSitesString`: what is not a
    // positive id is left out, and repeats count once.
    let mut ids: Vec<u32> = Vec::new();
    for part in list_param(request, "idSites").unwrap_or_default() {
        if let Ok(id) = part.trim().parse::<u32>()
            && id > 0
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(invalid(
            "idSites",
            "Specify a value for &idSites= as a comma separated list of website IDs, \
             for which your token_auth has 'admin' permission"
                .to_owned(),
        ));
    }
    for id in &ids {
        actor.check(*id, Access::Admin)?;
    }
    let dates = list_param(request, "dates")
        .ok_or_else(|| ReportingError::MissingParameter("dates".to_owned()))?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    // Matomo ignores the dates it cannot read, with a warning.
    let mut days = Vec::with_capacity(dates.len());
    let mut unreadable = Vec::new();
    for raw in &dates {
        match time::Date::parse(raw, format) {
            Ok(day) => days.push((raw, day)),
            Err(_) => unreadable.push(raw.as_str()),
        }
    }
    let kind =
        tally_archiving::period::parse_period_kind(request.non_empty("period").unwrap_or("day"))?;
    let now = time::PrimitiveDateTime::new(now.date(), now.time());
    let mut queued = 0;
    for id in &ids {
        for (_, day) in &days {
            let period = tally_archiving::Period::containing(kind, *day);
            queued += tally_archiving::invalidation::invalidate(conn, *id, period, true, now)?;
        }
    }
    tracing::info!(queued, "invalidateArchivedReports");
    let done: Vec<&str> = days.iter().map(|(raw, _)| raw.as_str()).collect();
    let mut message = format!(
        "Success. The following dates were invalidated successfully: {}",
        done.join(", ")
    );
    if !unreadable.is_empty() {
        message.push_str(&format!(
            " Warning: some of the Dates to invalidate were invalid: '{}'. \
             Matomo simply ignored those and proceeded with the others.",
            unreadable.join("', '")
        ));
    }
    Ok(value(message))
}
