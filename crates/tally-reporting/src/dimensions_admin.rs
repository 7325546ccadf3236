//! The configuration methods of Matomo's `CustomDimensions` API over
//! `tally-management` (the report, `getCustomDimension`, is in methods.rs).
//!
//! Extractions arrive as PHP arrays, `extractions[0][dimension]=url&
//! extractions[0][pattern]=...`, and answers are the PHP arrays Matomo
//! returns: ids and indexes as strings, flags as booleans, extractions as
//! a nested list.

use std::collections::BTreeMap;

use diesel::MysqlConnection;
use tally_datatable::render::{Report, Tree};
use tally_management::{
    self as management, DimensionChanges, DimensionParams, DimensionView, ManagementError,
    Principal, StoredExtraction,
};
use time::OffsetDateTime;

use crate::ReportingError;
use crate::manage::{id_param, required};
use crate::output::Output;
use crate::request::ApiRequest;

type Answer = Result<Output, ReportingError>;

/// A refused parameter with Matomo's message, shown as is.
fn refused(name: &'static str, message: impl Into<String>) -> ReportingError {
    ManagementError::InvalidParameter {
        name,
        reason: message.into(),
    }
    .into()
}

/// A `0`/`1` flag (Matomo's `Active` and `CaseSensitive` validators accept
/// nothing else from HTTP); `true`/`false` are taken too, as Matomo's API
/// proxy turns them into booleans for parameters with a boolean default.
fn flag(request: &ApiRequest, name: &'static str) -> Result<Option<bool>, ReportingError> {
    match request.get(name).map(str::trim) {
        None => Ok(None),
        Some("1" | "true") => Ok(Some(true)),
        Some("0" | "false") => Ok(Some(false)),
        Some(other) => Err(refused(
            name,
            format!("Invalid value '{other}' for '{name}' specified. Allowed values: '0' or '1'"),
        )),
    }
}

/// `extractions[i][dimension]` and `extractions[i][pattern]`, by `i`. An
/// extraction with another key, or without one of the two, is refused
/// with Matomo's message; a scalar `extractions` that is not empty too.
fn extractions(request: &ApiRequest) -> Result<Vec<StoredExtraction>, ReportingError> {
    const NAME: &str = "extractions";
    let only_two = || {
        refused(
            NAME,
            "Each extraction within extractions must have a key \"dimension\" and \"pattern\" only",
        )
    };
    let mut by_index: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for (key, value) in request.pairs() {
        let Some(rest) = key.strip_prefix("extractions[") else {
            continue;
        };
        let (index, field) = rest.split_once("][").ok_or_else(|| {
            refused(
                NAME,
                "Each extraction within extractions has to be an array",
            )
        })?;
        let index: u32 = index.parse().map_err(|_| only_two())?;
        let entry = by_index.entry(index).or_default();
        match field {
            "dimension]" => entry.0 = Some(value.to_owned()),
            "pattern]" => entry.1 = Some(value.to_owned()),
            _ => return Err(only_two()),
        }
    }
    if by_index.is_empty() && request.non_empty(NAME).is_some() {
        return Err(refused(NAME, "extractions has to be an array"));
    }
    by_index
        .into_values()
        .map(|entry| match entry {
            (Some(dimension), Some(pattern)) => Ok(StoredExtraction { dimension, pattern }),
            _ => Err(only_two()),
        })
        .collect()
}

fn name_param(request: &ApiRequest) -> String {
    // Matomo's validator words the missing name itself.
    request.get("name").unwrap_or("").trim().to_owned()
}

fn active_param(request: &ApiRequest) -> Result<bool, ReportingError> {
    flag(request, "active")?.ok_or_else(|| ReportingError::MissingParameter("active".to_owned()))
}

/// `CustomDimensions.configureNewCustomDimension`: the new id.
pub(crate) fn configure_new(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let params = DimensionParams {
        name: name_param(request),
        active: active_param(request)?,
        extractions: extractions(request)?,
        case_sensitive: flag(request, "caseSensitive")?.unwrap_or(true),
    };
    let scope = required(request, "scope")?;
    let id = management::configure_new_custom_dimension(conn, actor, idsite, scope, &params)?;
    Ok(Output::Value(i64::from(id).into()))
}

/// `CustomDimensions.configureExistingCustomDimension`.
pub(crate) fn configure_existing(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let iddimension = id_param(request, "idDimension")?;
    let changes = DimensionChanges {
        name: name_param(request),
        active: active_param(request)?,
        extractions: extractions(request)?,
        case_sensitive: flag(request, "caseSensitive")?,
    };
    management::configure_existing_custom_dimension(conn, actor, idsite, iddimension, changes)?;
    Ok(Output::Success)
}

/// A dimension as Matomo's `Dao\Configuration::enrichDimension` shapes it.
fn dimension_tree(d: &DimensionView) -> Tree {
    let extractions = d
        .extractions
        .iter()
        .map(|e| {
            Tree::Assoc(vec![
                ("dimension".into(), Tree::Str(e.dimension.clone())),
                ("pattern".into(), Tree::Str(e.pattern.clone())),
            ])
        })
        .collect();
    Tree::Assoc(vec![
        (
            "idcustomdimension".into(),
            Tree::Str(d.idcustomdimension.to_string()),
        ),
        ("idsite".into(), Tree::Str(d.idsite.to_string())),
        ("name".into(), Tree::Str(d.name.clone())),
        ("index".into(), Tree::Str(d.index.to_string())),
        ("scope".into(), Tree::Str(d.scope.as_str().to_owned())),
        ("active".into(), Tree::Bool(d.active)),
        ("extractions".into(), Tree::List(extractions)),
        ("case_sensitive".into(), Tree::Bool(d.case_sensitive)),
    ])
}

fn dimension_list<'d>(dimensions: impl Iterator<Item = &'d DimensionView>) -> Output {
    Output::Report(Report::Tree(Tree::List(
        dimensions.map(dimension_tree).collect(),
    )))
}

/// `CustomDimensions.getConfiguredCustomDimensions`.
pub(crate) fn configured(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let dimensions = management::configured_custom_dimensions(conn, actor, idsite)?;
    Ok(dimension_list(dimensions.iter()))
}

/// `CustomDimensions.getConfiguredCustomDimensionsHavingScope`: an unknown
/// scope simply matches nothing, as in Matomo.
pub(crate) fn configured_having_scope(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let scope = required(request, "scope")?;
    let dimensions = management::configured_custom_dimensions(conn, actor, idsite)?;
    Ok(dimension_list(
        dimensions.iter().filter(|d| d.scope.as_str() == scope),
    ))
}

/// `CustomDimensions.getAvailableScopes`.
pub(crate) fn available_scopes(
    conn: &mut MysqlConnection,
    actor: &Principal,
    request: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let idsite = id_param(request, "idSite")?;
    let scopes = management::available_scopes(conn, actor, idsite)?;
    let rows = scopes
        .iter()
        .map(|s| {
            let (value, name) = match s.scope {
                management::DimensionScope::Visit => ("visit", "Visit"),
                management::DimensionScope::Action => ("action", "Action"),
            };
            Tree::Assoc(vec![
                ("value".into(), Tree::Str(value.to_owned())),
                ("name".into(), Tree::Str(name.to_owned())),
                (
                    "numSlotsAvailable".into(),
                    Tree::Int(i64::from(s.slots_available)),
                ),
                ("numSlotsUsed".into(), Tree::Int(i64::from(s.slots_used))),
                (
                    "numSlotsLeft".into(),
                    Tree::Int(i64::from(s.slots_available) - i64::from(s.slots_used)),
                ),
                (
                    "supportsExtractions".into(),
                    Tree::Bool(s.scope == management::DimensionScope::Action),
                ),
            ])
        })
        .collect();
    Ok(Output::Report(Report::Tree(Tree::List(rows))))
}

/// `CustomDimensions.getAvailableExtractionDimensions`.
pub(crate) fn extraction_dimensions(
    _: &mut MysqlConnection,
    actor: &Principal,
    _: &ApiRequest,
    _: OffsetDateTime,
) -> Answer {
    let rows = management::available_extraction_dimensions(actor)?
        .iter()
        .map(|(value, name)| {
            Tree::Assoc(vec![
                ("value".into(), Tree::Str((*value).to_owned())),
                ("name".into(), Tree::Str((*name).to_owned())),
            ])
        })
        .collect();
    Ok(Output::Report(Report::Tree(Tree::List(rows))))
}
