//! PrivacyManager methods (Matomo's `plugins/PrivacyManager/API.php`):
//! the GDPR tools over tally-management's `privacy` module, answered in
//! Matomo's shapes.
//!
//! - `findDataSubjects(idSite, segment)`: `Live.getLastVisitsDetails` over
//!   all time (`period=range&date=1998-01-01,today`, at most 401 visits,
//!   no actions) cut to the columns Matomo keeps, in the visitor log's
//!   order.
//! - `exportDataSubjects(visits)`: every log row of the visits, by table.
//! - `deleteDataSubjects(visits)`: rows deleted per table.
//!
//! `visits` is a PHP array parameter: `visits[0][idsite]=1&visits[0][idvisit]=2`.

use tally_datatable::render::{Report, Tree};
use tally_datatable::{ColumnKey, Columns, Value};
use tally_management::{self as management, AnonymizeParams, RawDataSubject};

use crate::ReportingError;
use crate::live;
use crate::manage::{list_param, object, opt_bool, required, true_scalar};
use crate::methods::{Ctx, Handler};
use crate::output::Output;
use crate::request::ApiRequest;

/// `PrivacyManager.<method>` → implementation.
pub(crate) fn find(method: &str) -> Option<Handler> {
    let handler: Handler = match method {
        "findDataSubjects" => find_data_subjects,
        "exportDataSubjects" => export_data_subjects,
        "deleteDataSubjects" => delete_data_subjects,
        "anonymizeSomeRawData" => anonymize_some_raw_data,
        "getAvailableVisitColumnsToAnonymize" => visit_columns,
        "getAvailableLinkVisitActionColumnsToAnonymize" => link_visit_action_columns,
        "setAnonymizeIpSettings" => set_anonymize_ip_settings,
        "getAnonymizeIpSettings" => anonymize_ip_settings,
        "activateDoNotTrack" => activate_do_not_track,
        "deactivateDoNotTrack" => deactivate_do_not_track,
        "isDoNotTrackEnabled" => do_not_track_enabled,
        _ => return None,
    };
    Some(handler)
}

/// The visitor log fields `findDataSubjects` keeps (Matomo's
/// `$columnsToKeep`).
const SUBJECT_COLUMNS: &str = "lastActionDateTime,idVisit,idSite,siteName,visitorId,visitIp,userId,\
deviceType,deviceModel,deviceTypeIcon,operatingSystem,operatingSystemIcon,browser,\
browserFamilyDescription,browserIcon,country,region,countryFlag";

fn find_data_subjects(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    ctx.principal.check_somewhere(management::Access::Admin)?;
    let segment = ctx
        .request
        .get("segment")
        .ok_or_else(|| ReportingError::MissingParameter("segment".to_owned()))?;
    let idsite = ctx
        .request
        .get("idSite")
        .ok_or_else(|| ReportingError::MissingParameter("idSite".to_owned()))?;
    let mut sub = ApiRequest::from_pairs([
        ("idSite", idsite),
        ("segment", segment),
        ("period", "range"),
        ("date", "1998-01-01,today"),
        ("filter_limit", "401"),
        ("doNotFetchActions", "1"),
        ("showColumns", SUBJECT_COLUMNS),
    ]);
    if let Some(format) = ctx.request.get("format") {
        sub.set("format", format);
    }
    let mut sub_ctx = Ctx {
        conn: &mut *ctx.conn,
        principal: ctx.principal,
        loader: ctx.loader.clone(),
        request: &sub,
    };
    live::last_visits_details(&mut sub_ctx)
}

/// `visits[<index>][idsite|idvisit]` in the order the indexes first
/// appear (PHP keeps an array's insertion order).
fn raw_visits(request: &ApiRequest) -> Vec<RawDataSubject> {
    let mut out: Vec<RawDataSubject> = Vec::new();
    for (name, value) in request.pairs() {
        let Some(rest) = name.strip_prefix("visits[") else {
            continue;
        };
        let Some((index, rest)) = rest.split_once(']') else {
            continue;
        };
        let key = rest.strip_prefix('[').and_then(|k| k.strip_suffix(']'));
        let position = match out.iter().position(|v| v.index == index) {
            Some(position) => position,
            None => {
                out.push(RawDataSubject {
                    index: index.to_owned(),
                    ..RawDataSubject::default()
                });
                out.len() - 1
            }
        };
        match key {
            Some("idsite") => out[position].idsite = Some(value.to_owned()),
            Some("idvisit") => out[position].idvisit = Some(value.to_owned()),
            _ => {}
        }
    }
    out
}

fn export_data_subjects(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    ctx.principal.check_somewhere(management::Access::Admin)?;
    let visits = management::parse_data_subjects(&raw_visits(ctx.request))?;
    let sections = management::export_data_subjects(ctx.conn, ctx.principal, &visits)?;
    let tree = sections
        .into_iter()
        .map(|section| {
            let rows = section
                .rows
                .into_iter()
                .map(|row| {
                    Tree::Assoc(
                        row.into_iter()
                            .map(|(column, value)| (column, Tree::Str(value)))
                            .collect(),
                    )
                })
                .collect();
            (section.name, Tree::List(rows))
        })
        .collect();
    Ok(Output::Report(Report::Tree(Tree::Assoc(tree))))
}

fn delete_data_subjects(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    ctx.principal.check_somewhere(management::Access::Admin)?;
    let visits = management::parse_data_subjects(&raw_visits(ctx.request))?;
    let counts =
        management::delete_data_subjects(ctx.conn, ctx.principal, &visits, ctx.loader.now)?;
    let tree = counts
        .into_iter()
        .map(|(table, count)| {
            (
                table.to_owned(),
                Tree::Int(i64::try_from(count).unwrap_or(i64::MAX)),
            )
        })
        .collect();
    Ok(Output::Report(Report::Tree(Tree::Assoc(tree))))
}

/// `anonymizeSomeRawData(idSites, date, anonymizeIp, anonymizeLocation,
/// anonymizeUserId, unsetVisitColumns, unsetLinkVisitActionColumns,
/// passwordConfirmation)`: done at once, answered with success (Matomo
/// schedules it and answers nothing, which it renders as success too).
fn anonymize_some_raw_data(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    ctx.principal.check_superuser()?;
    let request = ctx.request;
    let idsites = match request.non_empty("idSites").map(str::trim) {
        None | Some("all") => None,
        Some(_) => Some(
            list_param(request, "idSites")
                .unwrap_or_default()
                .iter()
                .map(|raw| {
                    raw.parse::<u32>().map_err(|_| {
                        crate::manage::invalid("idSites", format!("'{raw}' is not an id"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let (start, end) = match request.non_empty("date") {
        Some(date) => {
            let (start, end) = management::anonymize_date_bounds(date)?;
            (Some(start), Some(end))
        }
        None => (None, None),
    };
    let params = AnonymizeParams {
        idsites,
        start,
        end,
        anonymize_ip: opt_bool(request, "anonymizeIp").unwrap_or(false),
        anonymize_location: opt_bool(request, "anonymizeLocation").unwrap_or(false),
        anonymize_user_id: opt_bool(request, "anonymizeUserId").unwrap_or(false),
        unset_visit_columns: list_param(request, "unsetVisitColumns").unwrap_or_default(),
        unset_link_visit_action_columns: list_param(request, "unsetLinkVisitActionColumns")
            .unwrap_or_default(),
    };
    let outcome = management::anonymize_some_raw_data(
        ctx.conn,
        ctx.principal,
        request.get("passwordConfirmation").unwrap_or(""),
        &params,
        ctx.loader.now,
    )?;
    tracing::info!(
        visits = outcome.visits_anonymized,
        visit_rows = outcome.visit_rows_unset,
        conversion_rows = outcome.conversion_rows_unset,
        action_rows = outcome.action_rows_unset,
        "anonymizeSomeRawData"
    );
    Ok(Output::Success)
}

/// Rows of `column_name` and `default_value` (NULL: PHP null).
fn columns_answer(columns: Vec<(String, Option<String>)>) -> Output {
    let rows = columns
        .into_iter()
        .map(|(name, default)| -> Columns {
            [
                (ColumnKey::from("column_name"), Value::Str(name)),
                (
                    ColumnKey::from("default_value"),
                    default.map_or(Value::Null, Value::Str),
                ),
            ]
            .into_iter()
            .collect()
        })
        .collect();
    Output::Report(Report::Rows(rows))
}

fn visit_columns(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    Ok(columns_answer(management::visit_columns_to_anonymize(
        ctx.conn,
        ctx.principal,
    )?))
}

fn link_visit_action_columns(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    Ok(columns_answer(
        management::link_visit_action_columns_to_anonymize(ctx.conn, ctx.principal)?,
    ))
}

/// `setAnonymizeIpSettings(anonymizeIPEnable, maskLength,
/// useAnonymizedIpForVisitEnrichment, anonymizeUserId, anonymizeOrderId,
/// anonymizeReferrer, forceCookielessTracking)`; answers `true`.
fn set_anonymize_ip_settings(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let request = ctx.request;
    let enable = match required(request, "anonymizeIPEnable")?.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    let raw_mask = required(request, "maskLength")?;
    let mask_length = raw_mask.trim().parse::<i64>().map_err(|_| {
        crate::manage::invalid(
            "maskLength",
            format!("'{raw_mask}' is not a number of bytes"),
        )
    })?;
    let use_anonymized =
        opt_bool(request, "useAnonymizedIpForVisitEnrichment").ok_or_else(|| {
            ReportingError::MissingParameter("useAnonymizedIpForVisitEnrichment".to_owned())
        })?;
    let changes = management::AnonymizeIpChanges {
        enable,
        mask_length,
        use_anonymized_ip_for_visit_enrichment: use_anonymized,
        anonymize_user_id: opt_bool(request, "anonymizeUserId"),
        anonymize_order_id: opt_bool(request, "anonymizeOrderId"),
        anonymize_referrer: request.get("anonymizeReferrer").unwrap_or("").to_owned(),
        force_cookieless_tracking: opt_bool(request, "forceCookielessTracking"),
    };
    management::set_anonymize_ip_settings(ctx.conn, ctx.principal, &changes)?;
    Ok(Output::Value(true_scalar()))
}

/// The stored settings (ours: Matomo shows them on its settings page).
fn anonymize_ip_settings(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    object(&management::anonymize_ip_settings(ctx.conn, ctx.principal)?)
}

fn activate_do_not_track(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    management::set_do_not_track(ctx.conn, ctx.principal, true)?;
    Ok(Output::Value(true_scalar()))
}

fn deactivate_do_not_track(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    management::set_do_not_track(ctx.conn, ctx.principal, false)?;
    Ok(Output::Value(true_scalar()))
}

/// Ours, 1 or 0 (Matomo's settings page reads `DoNotTrackHeaderChecker::isActive`).
fn do_not_track_enabled(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let enabled = management::do_not_track_enabled(ctx.conn, ctx.principal)?;
    Ok(Output::Value(tally_datatable::Scalar::Int(i64::from(
        enabled,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_are_read_from_php_array_parameters() {
        let request = ApiRequest::from_parts(
            "visits[0][idsite]=1&visits[0][idvisit]=5&visits[1][idvisit]=6&visits[1][idsite]=2&visits[2][idsite]=3",
            None,
        );
        let visits = raw_visits(&request);
        assert_eq!(visits.len(), 3);
        assert_eq!(visits[0].idsite.as_deref(), Some("1"));
        assert_eq!(visits[0].idvisit.as_deref(), Some("5"));
        assert_eq!(visits[1].idsite.as_deref(), Some("2"));
        assert_eq!(visits[1].idvisit.as_deref(), Some("6"));
        assert_eq!(visits[2].index, "2");
        assert_eq!(visits[2].idvisit, None);
    }
}
