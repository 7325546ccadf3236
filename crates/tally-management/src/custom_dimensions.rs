//! Custom dimension configuration (Matomo's `CustomDimensions` API:
//! `configureNewCustomDimension`, `configureExistingCustomDimension`,
//! `getConfiguredCustomDimensions`, `getAvailableScopes`,
//! `getAvailableExtractionDimensions`), in the `custom_dimensions` table the
//! tracker and the archiver read.
//!
//! Ids are per site (the site's highest id + 1, from 1) and each dimension
//! takes the lowest free column of its scope, as in Matomo. The schema has
//! five `custom_dimension_N` columns per scope, Matomo's default install.

use diesel::prelude::*;
use tally_schema::schema::custom_dimensions;
use tally_tracking::dimensions::{Extraction, ExtractionSource};
/// One extraction as stored and as the API takes and shows it.
pub use tally_tracking::site::StoredExtraction;

use crate::access::{Access, Principal};
use crate::support::tracker_settings_changed;
use crate::{ManagementError, Result};

/// Columns per scope (`custom_dimension_1..5` in `log_visit`,
/// `log_link_visit_action` and `log_conversion`).
pub const SLOTS_PER_SCOPE: u16 = 5;

/// Longest name Matomo accepts (`Dimension\Name::check`).
const NAME_MAX: usize = 255;

/// Characters Matomo refuses in a name (`Name::getBlockedCharacters`).
const BLOCKED_NAME_CHARACTERS: [char; 6] = ['/', '\\', '&', '.', '<', '>'];

/// A dimension's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimensionScope {
    /// One value per visit (`log_visit`).
    Visit,
    /// One value per action (`log_link_visit_action`); may use extractions.
    Action,
}

impl DimensionScope {
    /// Both scopes, in Matomo's order (`getPublicScopes`).
    pub const ALL: [DimensionScope; 2] = [DimensionScope::Visit, DimensionScope::Action];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visit => "visit",
            Self::Action => "action",
        }
    }

    /// The scope named `name`.
    ///
    /// # Errors
    /// [`ManagementError::InvalidParameter`] with Matomo's message.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "visit" => Ok(Self::Visit),
            "action" => Ok(Self::Action),
            // Matomo lists its private `conversion` scope too.
            _ => Err(ManagementError::invalid(
                "scope",
                format!(
                    "Invalid value '{name}' for 'scope' specified. Available scopes are: visit, action, conversion"
                ),
            )),
        }
    }
}

/// The settings of a new or changed dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionParams {
    /// `name`: required, at most 255 bytes, none of `/ \ & . < >`.
    pub name: String,
    /// `active`.
    pub active: bool,
    /// `extractions`: action scope only.
    pub extractions: Vec<StoredExtraction>,
    /// `caseSensitive`: whether extraction patterns match case.
    pub case_sensitive: bool,
}

/// What `configureExistingCustomDimension` changes; `case_sensitive: None`
/// keeps the stored flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionChanges {
    /// `name`.
    pub name: String,
    /// `active`.
    pub active: bool,
    /// `extractions`.
    pub extractions: Vec<StoredExtraction>,
    /// `caseSensitive`, if given.
    pub case_sensitive: Option<bool>,
}

/// A dimension as `getConfiguredCustomDimensions` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionView {
    /// `idcustomdimension`: the `dimension<id>` tracking parameter.
    pub idcustomdimension: u32,
    /// `idsite`.
    pub idsite: u32,
    /// `name`.
    pub name: String,
    /// `index`: the column `custom_dimension_<index>`.
    pub index: u16,
    /// `scope`.
    pub scope: DimensionScope,
    /// `active`.
    pub active: bool,
    /// `extractions`, in order.
    pub extractions: Vec<StoredExtraction>,
    /// `case_sensitive`.
    pub case_sensitive: bool,
}

/// A scope's slots, as `getAvailableScopes` returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeView {
    /// The scope.
    pub scope: DimensionScope,
    /// Columns the schema has for it.
    pub slots_available: u16,
    /// Dimensions of the site configured in it (active or not).
    pub slots_used: u16,
}

/// Checks a dimension's settings as Matomo's validators do, in its order
/// (the scope's own checks come after these, as in Matomo).
fn check_params(params: &DimensionParams) -> Result<()> {
    if params.name.is_empty() {
        return Err(ManagementError::invalid("name", "A name is required."));
    }
    if params.name.len() > NAME_MAX {
        return Err(ManagementError::invalid(
            "name",
            format!("Name contains too many characters, use up to {NAME_MAX} characters."),
        ));
    }
    if params.name.contains(BLOCKED_NAME_CHARACTERS) {
        return Err(ManagementError::invalid(
            "name",
            "Allowed characters are any letters, numbers, whitespace, a dash and underline.",
        ));
    }
    for extraction in &params.extractions {
        // Matomo validates the pattern as it would use it, case-sensitive
        // or not; an empty pattern is allowed and later ignored.
        if extraction.pattern.is_empty() {
            if ExtractionSource::parse(&extraction.dimension).is_none() {
                return Err(ManagementError::invalid(
                    "extractions",
                    tally_tracking::dimensions::ExtractionError::UnknownDimension(
                        extraction.dimension.clone(),
                    )
                    .to_string(),
                ));
            }
            continue;
        }
        Extraction::compile(
            &extraction.dimension,
            &extraction.pattern,
            params.case_sensitive,
        )
        .map_err(|error| ManagementError::invalid("extractions", error.to_string()))?;
    }
    Ok(())
}

/// Only action dimensions extract (`checkExtractionsAreSupportedForScope`).
fn check_scope_supports(scope: DimensionScope, params: &DimensionParams) -> Result<()> {
    if scope != DimensionScope::Action && !params.extractions.is_empty() {
        return Err(ManagementError::invalid(
            "extractions",
            "Extractions can be used only in scope 'action'",
        ));
    }
    Ok(())
}

fn encode_extractions(extractions: &[StoredExtraction]) -> String {
    // A list of two-string objects always serializes.
    serde_json::to_string(extractions).unwrap_or_else(|_| "[]".to_owned())
}

#[derive(Queryable)]
struct Row {
    idcustomdimension: u64,
    idsite: u64,
    name: String,
    index: u16,
    scope: String,
    active: u8,
    extractions: String,
    case_sensitive: u8,
}

impl Row {
    fn view(self) -> DimensionView {
        DimensionView {
            idcustomdimension: u32::try_from(self.idcustomdimension).unwrap_or(u32::MAX),
            idsite: u32::try_from(self.idsite).unwrap_or(u32::MAX),
            name: self.name,
            index: self.index,
            scope: if self.scope == "visit" {
                DimensionScope::Visit
            } else {
                DimensionScope::Action
            },
            active: self.active != 0,
            extractions: serde_json::from_str(&self.extractions).unwrap_or_default(),
            case_sensitive: self.case_sensitive != 0,
        }
    }
}

fn load(conn: &mut MysqlConnection, idsite: u32) -> Result<Vec<DimensionView>> {
    let rows: Vec<Row> = custom_dimensions::table
        .filter(custom_dimensions::idsite.eq(u64::from(idsite)))
        .order(custom_dimensions::idcustomdimension)
        .select((
            custom_dimensions::idcustomdimension,
            custom_dimensions::idsite,
            custom_dimensions::name,
            custom_dimensions::index,
            custom_dimensions::scope,
            custom_dimensions::active,
            custom_dimensions::extractions,
            custom_dimensions::case_sensitive,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(Row::view).collect())
}

/// `CustomDimensions.configureNewCustomDimension`: the new dimension's id
/// (write access).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::InvalidParameter`]
/// for a bad name, scope or extraction, or when every column of the scope
/// is taken; [`ManagementError::Db`].
pub fn configure_new_custom_dimension(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    scope: &str,
    params: &DimensionParams,
) -> Result<u32> {
    actor.check(idsite, Access::Write)?;
    check_params(params)?;
    let scope = DimensionScope::parse(scope)?;
    check_scope_supports(scope, params)?;
    // The id and the column are both "first free": one transaction, so two
    // concurrent calls cannot take the same (the table's keys would refuse
    // the second, as a clear error instead of a lost dimension).
    conn.transaction(|conn| {
        let existing = load(conn, idsite)?;
        let used: Vec<u16> = existing
            .iter()
            .filter(|d| d.scope == scope)
            .map(|d| d.index)
            .collect();
        let index = (1..=SLOTS_PER_SCOPE)
            .find(|i| !used.contains(i))
            .ok_or_else(|| {
                ManagementError::invalid(
                    "scope",
                    format!(
                        "All Custom Dimensions for website {idsite} in scope '{}' are already used.",
                        scope.as_str()
                    ),
                )
            })?;
        let id = existing
            .iter()
            .map(|d| d.idcustomdimension)
            .max()
            .map_or(1, |max| max + 1);
        diesel::insert_into(custom_dimensions::table)
            .values((
                custom_dimensions::idcustomdimension.eq(u64::from(id)),
                custom_dimensions::idsite.eq(u64::from(idsite)),
                custom_dimensions::name.eq(&params.name),
                custom_dimensions::index.eq(index),
                custom_dimensions::scope.eq(scope.as_str()),
                custom_dimensions::active.eq(u8::from(params.active)),
                custom_dimensions::extractions.eq(encode_extractions(&params.extractions)),
                custom_dimensions::case_sensitive.eq(u8::from(params.case_sensitive)),
            ))
            .execute(conn)?;
        tracker_settings_changed(conn)?;
        Ok(id)
    })
}

/// `CustomDimensions.configureExistingCustomDimension` (write access):
/// name, active flag, extractions and case sensitivity; scope and column
/// never change.
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownDimension`];
/// [`ManagementError::InvalidParameter`]; [`ManagementError::Db`].
pub fn configure_existing_custom_dimension(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    iddimension: u32,
    changes: DimensionChanges,
) -> Result<()> {
    actor.check(idsite, Access::Write)?;
    let current = load(conn, idsite)?
        .into_iter()
        .find(|d| d.idcustomdimension == iddimension)
        .ok_or(ManagementError::UnknownDimension {
            idsite,
            iddimension,
        })?;
    let params = DimensionParams {
        name: changes.name,
        active: changes.active,
        extractions: changes.extractions,
        case_sensitive: changes.case_sensitive.unwrap_or(current.case_sensitive),
    };
    check_params(&params)?;
    check_scope_supports(current.scope, &params)?;
    conn.transaction(|conn| {
        diesel::update(
            custom_dimensions::table
                .filter(custom_dimensions::idsite.eq(u64::from(idsite)))
                .filter(custom_dimensions::idcustomdimension.eq(u64::from(iddimension))),
        )
        .set((
            custom_dimensions::name.eq(&params.name),
            custom_dimensions::active.eq(u8::from(params.active)),
            custom_dimensions::extractions.eq(encode_extractions(&params.extractions)),
            custom_dimensions::case_sensitive.eq(u8::from(params.case_sensitive)),
        ))
        .execute(conn)?;
        tracker_settings_changed(conn)
    })?;
    Ok(())
}

/// `CustomDimensions.getConfiguredCustomDimensions`: the site's dimensions,
/// active or not, by id (view access).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::Db`].
pub fn configured_custom_dimensions(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
) -> Result<Vec<DimensionView>> {
    actor.check(idsite, Access::View)?;
    load(conn, idsite)
}

/// The site's active dimensions, by id, for a caller that has checked the
/// principal's view access already (report metadata lists them).
///
/// # Errors
/// [`ManagementError::Db`].
pub fn active_custom_dimensions(
    conn: &mut MysqlConnection,
    idsite: u32,
) -> Result<Vec<DimensionView>> {
    let mut dimensions = load(conn, idsite)?;
    dimensions.retain(|d| d.active);
    Ok(dimensions)
}

/// `Dimension::checkActive`, what `CustomDimensions.getCustomDimension`
/// checks before reading the report: the dimension exists on the site and
/// is active (view access). Whether it is an action dimension.
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownDimension`];
/// [`ManagementError::InactiveDimension`]; [`ManagementError::Db`].
pub fn check_dimension_active(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    iddimension: u32,
) -> Result<bool> {
    actor.check(idsite, Access::View)?;
    let found: Option<(u8, String)> = custom_dimensions::table
        .filter(custom_dimensions::idsite.eq(u64::from(idsite)))
        .filter(custom_dimensions::idcustomdimension.eq(u64::from(iddimension)))
        .select((custom_dimensions::active, custom_dimensions::scope))
        .first(conn)
        .optional()?;
    match found {
        None => Err(ManagementError::UnknownDimension {
            idsite,
            iddimension,
        }),
        Some((0, _)) => Err(ManagementError::InactiveDimension {
            idsite,
            iddimension,
        }),
        Some((_, scope)) => Ok(scope == DimensionScope::Action.as_str()),
    }
}

/// `CustomDimensions.getAvailableScopes`: both scopes with their used and
/// free columns (view access).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::Db`].
pub fn available_scopes(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
) -> Result<Vec<ScopeView>> {
    let configured = configured_custom_dimensions(conn, actor, idsite)?;
    Ok(DimensionScope::ALL
        .iter()
        .map(|&scope| ScopeView {
            scope,
            slots_available: SLOTS_PER_SCOPE,
            slots_used: u16::try_from(configured.iter().filter(|d| d.scope == scope).count())
                .unwrap_or(u16::MAX),
        })
        .collect())
}

/// `CustomDimensions.getAvailableExtractionDimensions`: what an extraction
/// can read, as (value, English name) (write access to some site).
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`].
pub fn available_extraction_dimensions(
    actor: &Principal,
) -> Result<&'static [(&'static str, &'static str)]> {
    actor.check_somewhere(Access::Write)?;
    Ok(&ExtractionSource::ALL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(name: &str, extractions: &[(&str, &str)]) -> DimensionParams {
        DimensionParams {
            name: name.to_owned(),
            active: true,
            extractions: extractions
                .iter()
                .map(|(d, p)| StoredExtraction {
                    dimension: (*d).to_owned(),
                    pattern: (*p).to_owned(),
                })
                .collect(),
            case_sensitive: true,
        }
    }

    fn message(result: Result<()>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn names_and_extractions_are_checked_as_matomo_checks_them() {
        assert!(check_params(&params("Page type", &[("url", "/(\\w+)/")])).is_ok());
        assert_eq!(
            message(check_params(&params("", &[]))),
            "A name is required."
        );
        assert_eq!(
            message(check_params(&params(&"x".repeat(256), &[]))),
            "Name contains too many characters, use up to 255 characters."
        );
        assert_eq!(
            message(check_params(&params("a.b", &[]))),
            "Allowed characters are any letters, numbers, whitespace, a dash and underline."
        );
        assert_eq!(
            message(check_params(&params("n", &[("url", "no group")]))),
            "You need to group exactly one part of the regular expression inside round brackets, eg 'index_(.+).html'"
        );
        assert_eq!(
            message(check_params(&params("n", &[("host", "(x)")]))),
            "Invald dimension 'host' used in an extraction. Available dimensions are: url, urlparam, action_name"
        );
        assert_eq!(
            message(check_scope_supports(
                DimensionScope::Visit,
                &params("n", &[("urlparam", "x")])
            )),
            "Extractions can be used only in scope 'action'"
        );
        assert_eq!(
            DimensionScope::parse("page").unwrap_err().to_string(),
            "Invalid value 'page' for 'scope' specified. Available scopes are: visit, action, conversion"
        );
    }
}
