//! PrivacyManager: the GDPR tools (export and delete a data subject's
//! visits), rewriting historical rows (`anonymizeSomeRawData`), the
//! privacy settings the tracker reads (options `PrivacyManager.*`) and raw
//! data retention ([`purge_logs_older_than`], `tally-archiver purge-logs`).
//!
//! A data subject is a list of visits, `(idsite, idvisit)`, as Matomo's
//! `PrivacyManager.exportDataSubjects` / `deleteDataSubjects` take them
//! (found with `findDataSubjects`, which is `Live.getLastVisitsDetails`
//! and lives in tally-reporting). Matomo's `Model/DataSubjects.php` walks
//! every log table a plugin declares; ours are the four core ones
//! (`log_visit`, `log_link_visit_action`, `log_conversion`,
//! `log_conversion_item`), each of which carries `idsite` and `idvisit`,
//! so no join is needed to find a visit's rows.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp, Unsigned};
use tally_archiving::{Period, invalidation};
use tally_schema::tz::SiteTimeZone;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::access::{Access, Principal};
use crate::support::db_time;
use crate::{ManagementError, Result};

/// One visit of a data subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataSubject {
    /// `idsite`.
    pub idsite: u32,
    /// `idvisit`.
    pub idvisit: u64,
}

/// A visit as the API received it: `visits[<index>][idsite]` and
/// `visits[<index>][idvisit]`, either possibly missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawDataSubject {
    /// The array key (`0`, `1`, ...), named in errors.
    pub index: String,
    /// `idsite` as sent.
    pub idsite: Option<String>,
    /// `idvisit` as sent.
    pub idvisit: Option<String>,
}

/// Matomo's `VisitsDataSubject` validator: a non-empty list whose every
/// entry has a non-empty `idsite` and `idvisit` (PHP's `empty`: missing,
/// `""` and `"0"` are empty). Values must be ids.
///
/// # Errors
/// [`ManagementError::NoVisitsGiven`], [`ManagementError::VisitKeyMissing`],
/// [`ManagementError::InvalidParameter`] for a value that is not an id.
pub fn parse_data_subjects(raw: &[RawDataSubject]) -> Result<Vec<DataSubject>> {
    if raw.is_empty() {
        return Err(ManagementError::NoVisitsGiven);
    }
    let php_empty =
        |value: &Option<String>| value.as_deref().is_none_or(|v| v.is_empty() || v == "0");
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        for (key, value) in [("idsite", &entry.idsite), ("idvisit", &entry.idvisit)] {
            if php_empty(value) {
                return Err(ManagementError::VisitKeyMissing {
                    key,
                    index: entry.index.clone(),
                });
            }
        }
        let id = |value: &Option<String>| {
            let text = value.as_deref().unwrap_or_default().trim();
            text.parse::<u64>()
                .map_err(|_| ManagementError::invalid("visits", format!("'{text}' is not an id")))
        };
        let idsite = u32::try_from(id(&entry.idsite)?)
            .map_err(|_| ManagementError::invalid("visits", "idsite is out of range"))?;
        out.push(DataSubject {
            idsite,
            idvisit: id(&entry.idvisit)?,
        });
    }
    Ok(out)
}

/// Matomo's `checkDataSubjectVisits` after `checkUserHasSomeAdminAccess`:
/// admin access to every site the visits name.
fn check_access(actor: &Principal, visits: &[DataSubject]) -> Result<()> {
    actor.check_somewhere(Access::Admin)?;
    for visit in visits {
        actor.check(visit.idsite, Access::Admin)?;
    }
    Ok(())
}

/// The log tables a visit has rows in, in the order Matomo deletes from
/// them (`sortLogTablesToEnsureDataErasureFromAllTablesIsPossible`:
/// `log_visit` last, `log_link_visit_action` before it), with the columns
/// that order a table's export (its primary key).
const LOG_TABLES: [(&str, &str); 4] = [
    ("log_conversion_item", "idvisit, idorder, idaction_sku"),
    ("log_conversion", "idvisit, idgoal, buster"),
    ("log_link_visit_action", "idlink_va"),
    ("log_visit", "idvisit"),
];

/// `(idsite = 1 AND idvisit IN (2,3)) OR ...`: the visits grouped by site.
/// The ids are numbers parsed by [`parse_data_subjects`], written as
/// literals (diesel's `sql_query` binds a fixed number of values).
fn visits_where(visits: &[DataSubject]) -> String {
    let mut by_site: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
    for visit in visits {
        by_site.entry(visit.idsite).or_default().push(visit.idvisit);
    }
    by_site
        .iter()
        .map(|(idsite, idvisits)| {
            let ids: Vec<String> = idvisits.iter().map(u64::to_string).collect();
            format!("(idsite = {idsite} AND idvisit IN ({}))", ids.join(","))
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Rows deleted per log table, in Matomo's answer order (table names
/// reverse-sorted, `krsort`).
pub type DeleteCounts = Vec<(&'static str, u64)>;

/// Deletes the visits' rows from every log table in one transaction and
/// queues the archives of the days they were on (site-local days of
/// `visit_last_action_time`, as Matomo's `getDatesToInvalidate`) for
/// rebuilding, with their weeks, months and years. `log_action` rows are
/// left: other visits may use them. Answers the rows deleted per table.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`] or [`ManagementError::NoAccess`]
/// without admin access to every site named; [`ManagementError::Db`];
/// [`ManagementError::Archiving`] when the invalidations fail (the
/// deletion is rolled back with them).
pub fn delete_data_subjects(
    conn: &mut MysqlConnection,
    actor: &Principal,
    visits: &[DataSubject],
    now: OffsetDateTime,
) -> Result<DeleteCounts> {
    check_access(actor, visits)?;
    if visits.is_empty() {
        return Ok(Vec::new());
    }
    let filter = visits_where(visits);
    let now = db_time(now);
    conn.transaction(|conn| {
        let days = visit_days(conn, &filter)?;
        let mut counts = Vec::with_capacity(LOG_TABLES.len());
        for (table, _) in LOG_TABLES {
            let deleted =
                diesel::sql_query(format!("DELETE FROM {table} WHERE {filter}")).execute(conn)?;
            counts.push((table, deleted as u64));
        }
        invalidate_days(conn, &days, now)?;
        counts.sort_by(|a, b| b.0.cmp(a.0));
        Ok(counts)
    })
}

/// The site-local days the visits ended on, per site.
fn visit_days(conn: &mut MysqlConnection, filter: &str) -> Result<Vec<(u32, time::Date)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Unsigned<Integer>)]
        idsite: u32,
        #[diesel(sql_type = Text)]
        timezone: String,
        #[diesel(sql_type = Timestamp)]
        last: PrimitiveDateTime,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT v.idsite, s.timezone, v.visit_last_action_time AS last \
         FROM log_visit v JOIN site s ON s.idsite = v.idsite WHERE {}",
        filter
            .replace("idsite", "v.idsite")
            .replace("idvisit", "v.idvisit")
    ))
    .load(conn)?;
    let mut days: Vec<(u32, time::Date)> = rows
        .iter()
        .map(|row| {
            let zone = SiteTimeZone::parse(&row.timezone);
            (
                row.idsite,
                zone.local_date(row.last.assume_utc().unix_timestamp()),
            )
        })
        .collect();
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

/// Queues each day (and its week, month and year) for re-archiving.
fn invalidate_days(
    conn: &mut MysqlConnection,
    days: &[(u32, time::Date)],
    now: PrimitiveDateTime,
) -> Result<()> {
    for (idsite, day) in days {
        invalidation::invalidate(conn, *idsite, Period::day(*day), true, now)
            .map_err(ManagementError::Archiving)?;
    }
    Ok(())
}

/// One part of an export: a log table's rows, or the `log_action` names a
/// column of one refers to (`log_action_<table>_<column>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSection {
    /// `log_visit`, ..., `log_action_log_visit_visit_entry_idaction_url`.
    pub name: String,
    /// Each row's non-NULL columns, sorted by name, as text.
    pub rows: Vec<Vec<(String, String)>>,
}

/// The columns that hold a `log_action` id Matomo's export resolves to
/// names (its dimensions joined with `ActionNameJoin`), per table.
const ACTION_COLUMNS: [(&str, &[&str]); 3] = [
    (
        "log_visit",
        &[
            "visit_entry_idaction_name",
            "visit_entry_idaction_url",
            "visit_exit_idaction_name",
            "visit_exit_idaction_url",
        ],
    ),
    (
        "log_link_visit_action",
        &[
            "idaction_content_interaction",
            "idaction_content_name",
            "idaction_content_piece",
            "idaction_content_target",
            "idaction_event_action",
            "idaction_event_category",
            "idaction_name",
            "idaction_url",
        ],
    ),
    ("log_conversion_item", &["idaction_name", "idaction_sku"]),
];

/// Every row of the visits in each log table, then the action names they
/// refer to, in Matomo's order (sections reverse-sorted by name: the log
/// tables first, `log_visit` leading). Values are the stored ones as text
/// (numbers as MySQL prints them, binary ids in lowercase hex, the IP as
/// an address); NULL columns are left out, as Matomo's export does.
/// Matomo also passes each value through its dimension's `formatValue`
/// (`Yes`/`No`, browser names, durations); we do not (see
/// MATOMO-DIFFERENCES.md).
///
/// # Errors
/// As [`delete_data_subjects`] for access; [`ManagementError::Db`].
pub fn export_data_subjects(
    conn: &mut MysqlConnection,
    actor: &Principal,
    visits: &[DataSubject],
) -> Result<Vec<ExportSection>> {
    check_access(actor, visits)?;
    if visits.is_empty() {
        return Ok(Vec::new());
    }
    let filter = visits_where(visits);
    let mut sections = Vec::new();
    for (table, order) in LOG_TABLES {
        let columns = table_columns(conn, table)?;
        let select = columns
            .iter()
            .map(|(name, kind)| {
                let value = if name == "location_ip" {
                    format!("INET6_NTOA(`{name}`)")
                } else if kind.contains("binary") {
                    format!("LOWER(HEX(`{name}`))")
                } else {
                    format!("CAST(`{name}` AS CHAR)")
                };
                format!("'{name}', {value}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT JSON_OBJECT({select}) AS json_row FROM {table} WHERE {filter} ORDER BY {order}"
        );
        sections.push(ExportSection {
            name: table.to_owned(),
            rows: json_rows(conn, &sql)?,
        });
    }
    for (table, columns) in ACTION_COLUMNS {
        for column in columns {
            let sql = format!(
                "SELECT DISTINCT JSON_OBJECT('idaction', CAST(a.idaction AS CHAR), 'name', \
                 CONCAT(CASE a.url_prefix WHEN 0 THEN 'http://' WHEN 1 THEN 'http://www.' \
                 WHEN 2 THEN 'https://' WHEN 3 THEN 'https://www.' ELSE '' END, a.name)) AS json_row, \
                 a.idaction FROM log_action a JOIN {table} t ON a.idaction = t.{column} \
                 WHERE {} ORDER BY a.idaction",
                filter
                    .replace("idsite", "t.idsite")
                    .replace("idvisit", "t.idvisit")
            );
            let rows = json_rows(conn, &sql)?;
            if !rows.is_empty() {
                sections.push(ExportSection {
                    name: format!("log_action_{table}_{column}"),
                    rows,
                });
            }
        }
    }
    sections.sort_by(|a, b| b.name.cmp(&a.name));
    Ok(sections)
}

/// A table's columns and their `DATA_TYPE`s.
fn table_columns(conn: &mut MysqlConnection, table: &str) -> Result<Vec<(String, String)>> {
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(DATA_TYPE AS CHAR) AS kind \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
         ORDER BY ORDINAL_POSITION",
    )
    .bind::<Text, _>(table)
    .load(conn)?;
    Ok(columns.into_iter().map(|c| (c.name, c.kind)).collect())
}

/// Runs a query whose column `json_row` is a JSON object of text values and
/// returns each row's non-null entries sorted by key, byte-wise, as PHP's
/// `ksort` orders column names (serde_json may keep the object's order:
/// another crate of the build can enable `preserve_order`).
fn json_rows(conn: &mut MysqlConnection, sql: &str) -> Result<Vec<Vec<(String, String)>>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        json_row: String,
    }
    let rows: Vec<Row> = diesel::sql_query(sql).load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for Row { json_row } in rows {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json_row)
            .map_err(|error| ManagementError::invalid("visits", error.to_string()))?;
        let mut row: Vec<(String, String)> = object
            .into_iter()
            .filter_map(|(key, value)| match value {
                serde_json::Value::String(text) => Some((key, text)),
                serde_json::Value::Null => None,
                other => Some((key, other.to_string())),
            })
            .collect();
        row.sort_by(|a, b| a.0.cmp(&b.0));
        out.push(row);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// anonymizeSomeRawData

/// Columns never offered for unsetting (Matomo's
/// `LogDataAnonymizer::$COLUMNS_BLACKLISTED`): ids, the times rows are
/// found by, and the values the other tools rewrite themselves.
const NOT_UNSETTABLE: [&str; 11] = [
    "idvisit",
    "idvisitor",
    "idsite",
    "visit_last_action_time",
    "config_id",
    "location_ip",
    "idlink_va",
    "server_time",
    "idgoal",
    "buster",
    "idorder",
];

/// The option holding the salt of anonymized user ids (Matomo's
/// `PrivacyManager::OPTION_USERID_SALT`).
pub const USERID_SALT_OPTION: &str = "useridsalt";

/// The columns of a log table that can be reset, each with the value it is
/// reset to (`None`: NULL), sorted by name (Matomo's
/// `getAvailableColumnsWithDefaultValue`, then `ksort`): a nullable column,
/// or one with a default, unless it identifies or dates the row.
#[expect(
    non_snake_case,
    reason = "the row struct's fields are SHOW COLUMNS' column names"
)]
fn resettable_columns(
    conn: &mut MysqlConnection,
    table: &str,
) -> Result<Vec<(String, Option<String>)>> {
    // `SHOW COLUMNS` prints defaults unquoted (information_schema quotes
    // MariaDB's string defaults), as Matomo's `DbHelper::getTableColumns`.
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        Field: String,
        #[diesel(sql_type = Text)]
        Null: String,
        #[diesel(sql_type = Nullable<Text>)]
        Default: Option<String>,
    }
    let columns: Vec<Column> =
        diesel::sql_query(format!("SHOW COLUMNS FROM {table}")).load(conn)?;
    let mut out: Vec<(String, Option<String>)> = columns
        .into_iter()
        .filter(|c| !NOT_UNSETTABLE.contains(&c.Field.as_str()))
        .filter(|c| c.Default.is_some() || c.Null.eq_ignore_ascii_case("YES"))
        .map(|c| (c.Field, c.Default))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// `getAvailableVisitColumnsToAnonymize` (super user): `log_visit`'s
/// resettable columns and their reset values.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::Db`].
pub fn visit_columns_to_anonymize(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<Vec<(String, Option<String>)>> {
    actor.check_superuser()?;
    resettable_columns(conn, "log_visit")
}

/// `getAvailableLinkVisitActionColumnsToAnonymize` (super user).
///
/// # Errors
/// As [`visit_columns_to_anonymize`].
pub fn link_visit_action_columns_to_anonymize(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<Vec<(String, Option<String>)>> {
    actor.check_superuser()?;
    resettable_columns(conn, "log_link_visit_action")
}

/// What `anonymizeSomeRawData` rewrites.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnonymizeParams {
    /// The sites; `None`: all.
    pub idsites: Option<Vec<u32>>,
    /// First instant included (UTC), `date`'s first day at 00:00:00.
    pub start: Option<PrimitiveDateTime>,
    /// Last instant included (UTC), `date`'s last day at 23:59:59.
    pub end: Option<PrimitiveDateTime>,
    /// Mask the stored IPs (by the configured mask length, at least 2 bytes).
    pub anonymize_ip: bool,
    /// Forget the precise location (city, region, coordinates).
    pub anonymize_location: bool,
    /// Replace user ids by their salted sha1.
    pub anonymize_user_id: bool,
    /// `log_visit` (and, where they exist, `log_conversion`) columns to reset.
    pub unset_visit_columns: Vec<String>,
    /// `log_link_visit_action` columns to reset.
    pub unset_link_visit_action_columns: Vec<String>,
}

/// What `anonymizeSomeRawData` changed (Matomo writes these counts to the
/// job's output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnonymizeOutcome {
    /// Visits whose IP, location or user id changed.
    pub visits_anonymized: u64,
    /// `log_visit` rows whose columns were reset.
    pub visit_rows_unset: u64,
    /// `log_conversion` rows whose columns were reset.
    pub conversion_rows_unset: u64,
    /// `log_link_visit_action` rows whose columns were reset.
    pub action_rows_unset: u64,
}

/// `date` of `anonymizeSomeRawData`: a day or a `start,end` range of
/// `YYYY-MM-DD` days, as UTC bounds (Matomo's `getStartAndEndDate`: the
/// period's start at 00:00:00 and end at 23:59:59).
///
/// # Errors
/// [`ManagementError::InvalidParameter`] naming `date`.
pub fn anonymize_date_bounds(date: &str) -> Result<(PrimitiveDateTime, PrimitiveDateTime)> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = |text: &str| {
        time::Date::parse(text.trim(), format).map_err(|_| {
            ManagementError::invalid(
                "date",
                format!("The date '{}' is not a valid date.", text.trim()),
            )
        })
    };
    let (first, last) = match date.split_once(',') {
        Some((a, b)) => (day(a)?, day(b)?),
        None if date.trim().is_empty() => {
            return Err(ManagementError::invalid(
                "date",
                "date: The value should not be empty.",
            ));
        }
        None => {
            let d = day(date)?;
            (d, d)
        }
    };
    if last < first {
        return Err(ManagementError::invalid(
            "date",
            format!("The date range '{date}' ends before it starts."),
        ));
    }
    Ok((
        first.midnight(),
        last.with_hms(23, 59, 59).unwrap_or(last.midnight()),
    ))
}

/// Rewrites the stored visits of the sites and time range now (Matomo
/// schedules the same work as a job that its scheduled tasks run within
/// the hour): IPs masked, locations and user ids anonymized, columns reset
/// to their defaults. Super user, with the current user's password
/// (`passwordConfirmation`).
///
/// # Errors
/// [`ManagementError::SuperUserRequired`];
/// [`ManagementError::PasswordConfirmationRequired`] /
/// [`ManagementError::WrongPassword`]; [`ManagementError::NothingToAnonymize`];
/// [`ManagementError::InvalidParameter`] for a column that cannot be reset
/// or a missing date; [`ManagementError::Db`].
pub fn anonymize_some_raw_data(
    conn: &mut MysqlConnection,
    actor: &Principal,
    password_confirmation: &str,
    params: &AnonymizeParams,
    now: OffsetDateTime,
) -> Result<AnonymizeOutcome> {
    actor.check_superuser()?;
    if password_confirmation.is_empty() {
        return Err(ManagementError::PasswordConfirmationRequired);
    }
    if !crate::users::verify_password(conn, &actor.login, password_confirmation, now)? {
        return Err(ManagementError::WrongPassword);
    }
    let (Some(start), Some(end)) = (params.start, params.end) else {
        return Err(ManagementError::invalid(
            "date",
            "date: The value should not be empty.",
        ));
    };
    let visit_columns = resettable_columns(conn, "log_visit")?;
    let action_columns = resettable_columns(conn, "log_link_visit_action")?;
    check_columns("log_visit", &params.unset_visit_columns, &visit_columns)?;
    check_columns(
        "log_link_visit_action",
        &params.unset_link_visit_action_columns,
        &action_columns,
    )?;
    if !params.anonymize_ip
        && !params.anonymize_location
        && !params.anonymize_user_id
        && params.unset_visit_columns.is_empty()
        && params.unset_link_visit_action_columns.is_empty()
    {
        return Err(ManagementError::NothingToAnonymize);
    }
    let sites = match &params.idsites {
        Some(ids) if !ids.is_empty() => {
            let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
            format!("idsite IN ({}) AND ", ids.join(","))
        }
        _ => String::new(),
    };
    let mut outcome = AnonymizeOutcome::default();
    conn.transaction(|conn| {
        if params.anonymize_ip || params.anonymize_location || params.anonymize_user_id {
            outcome.visits_anonymized = anonymize_visits(conn, &sites, start, end, params)?;
        }
        if !params.unset_visit_columns.is_empty() {
            outcome.visit_rows_unset = reset_columns(
                conn,
                "log_visit",
                "visit_last_action_time",
                &sites,
                (start, end),
                &params.unset_visit_columns,
                &visit_columns,
            )?;
            // The visit columns log_conversion copies (referrer, location,
            // device...) are reset there too; the others are skipped.
            let conversion_columns = resettable_columns(conn, "log_conversion")?;
            let shared: Vec<String> = params
                .unset_visit_columns
                .iter()
                .filter(|c| conversion_columns.iter().any(|(name, _)| name == *c))
                .cloned()
                .collect();
            outcome.conversion_rows_unset = reset_columns(
                conn,
                "log_conversion",
                "server_time",
                &sites,
                (start, end),
                &shared,
                &conversion_columns,
            )?;
        }
        if !params.unset_link_visit_action_columns.is_empty() {
            outcome.action_rows_unset = reset_columns(
                conn,
                "log_link_visit_action",
                "server_time",
                &sites,
                (start, end),
                &params.unset_link_visit_action_columns,
                &action_columns,
            )?;
        }
        Ok::<_, ManagementError>(())
    })?;
    Ok(outcome)
}

/// Matomo's `areAllColumnsValid` (its message, without a table prefix).
fn check_columns(
    table: &str,
    asked: &[String],
    available: &[(String, Option<String>)],
) -> Result<()> {
    for column in asked {
        if !available.iter().any(|(name, _)| name == column) {
            let names: Vec<&str> = available.iter().map(|(name, _)| name.as_str()).collect();
            return Err(ManagementError::invalid(
                "unsetVisitColumns",
                format!(
                    "The column \"{column}\" seems to not exist in {table} or cannot be unset. Use one of {}",
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `UPDATE table SET col = default, ... WHERE <sites> date_column BETWEEN
/// start AND end`; the columns were checked against `available`, so their
/// names are safe to write into the statement.
fn reset_columns(
    conn: &mut MysqlConnection,
    table: &str,
    date_column: &str,
    sites: &str,
    (start, end): (PrimitiveDateTime, PrimitiveDateTime),
    columns: &[String],
    available: &[(String, Option<String>)],
) -> Result<u64> {
    if columns.is_empty() {
        return Ok(0);
    }
    let assignments: Vec<String> = columns
        .iter()
        .map(|column| {
            let default = available
                .iter()
                .find(|(name, _)| name == column)
                .and_then(|(_, default)| default.as_deref());
            match default {
                Some(value) => format!("`{column}` = {}", sql_string(value)),
                None => format!("`{column}` = NULL"),
            }
        })
        .collect();
    let sql = format!(
        "UPDATE {table} SET {} WHERE {sites}{date_column} >= ? AND {date_column} <= ?",
        assignments.join(", ")
    );
    let changed = diesel::sql_query(sql)
        .bind::<Timestamp, _>(start)
        .bind::<Timestamp, _>(end)
        .execute(conn)?;
    Ok(changed as u64)
}

/// A SQL string literal (a column default as `SHOW COLUMNS` prints it).
fn sql_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// The visits of the range, in chunks of 10,000 by id (Matomo's
/// `NUM_ROWS_UPDATE_AT_ONCE`), each rewritten where a value changes.
fn anonymize_visits(
    conn: &mut MysqlConnection,
    sites: &str,
    start: PrimitiveDateTime,
    end: PrimitiveDateTime,
    params: &AnonymizeParams,
) -> Result<u64> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Unsigned<BigInt>)]
        idvisit: u64,
        #[diesel(sql_type = diesel::sql_types::Binary)]
        location_ip: Vec<u8>,
        #[diesel(sql_type = Nullable<Text>)]
        user_id: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        location_city: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        location_region: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        location_latitude: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        location_longitude: Option<String>,
    }
    const CHUNK: i64 = 10_000;
    // Matomo masks at least two bytes here, whatever the tracker's setting.
    let mask = crate::support::get_option(conn, "PrivacyManager.ipAddressMaskLength")?
        .and_then(|v| v.trim().parse::<u8>().ok())
        .unwrap_or(2)
        .max(2);
    let salt = if params.anonymize_user_id {
        user_id_salt(conn)?
    } else {
        String::new()
    };
    let mut changed = 0;
    let mut after = 0u64;
    loop {
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT idvisit, location_ip, user_id, location_city, location_region, \
             CAST(location_latitude AS CHAR) AS location_latitude, \
             CAST(location_longitude AS CHAR) AS location_longitude FROM log_visit \
             WHERE {sites}visit_last_action_time >= ? AND visit_last_action_time <= ? \
             AND idvisit > ? ORDER BY idvisit LIMIT ?"
        ))
        .bind::<Timestamp, _>(start)
        .bind::<Timestamp, _>(end)
        .bind::<Unsigned<BigInt>, _>(after)
        .bind::<BigInt, _>(CHUNK)
        .load(conn)?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.idvisit;
        for row in &rows {
            let mut sets: Vec<String> = Vec::new();
            let mut ip: Option<Vec<u8>> = None;
            if params.anonymize_ip
                && let Some(addr) = stored_ip(&row.location_ip)
            {
                let masked = tally_tracking::hit::anonymize_ip(addr, mask);
                if masked != row.location_ip {
                    sets.push("location_ip = ?".to_owned());
                    ip = Some(masked);
                }
            }
            let mut user_id: Option<String> = None;
            if params.anonymize_user_id
                && !salt.is_empty()
                && let Some(uid) = row.user_id.as_deref().filter(|u| !u.is_empty())
            {
                user_id = Some(sha1_hex(&format!("{uid}{salt}")));
                sets.push("user_id = ?".to_owned());
            }
            if params.anonymize_location
                && (row.location_city.is_some()
                    || row.location_region.is_some()
                    || row.location_latitude.is_some()
                    || row.location_longitude.is_some())
            {
                sets.push(
                    "location_city = NULL, location_region = NULL, location_latitude = NULL, \
                     location_longitude = NULL"
                        .to_owned(),
                );
            }
            if sets.is_empty() {
                continue;
            }
            // Bound in the order the placeholders appear: ip, then user id.
            let sql = format!("UPDATE log_visit SET {} WHERE idvisit = ?", sets.join(", "));
            let query = diesel::sql_query(sql).into_boxed::<diesel::mysql::Mysql>();
            let query = match ip {
                Some(ip) => query.bind::<diesel::sql_types::Binary, _>(ip),
                None => query,
            };
            let query = match user_id {
                Some(uid) => query.bind::<Text, _>(uid),
                None => query,
            };
            query
                .bind::<Unsigned<BigInt>, _>(row.idvisit)
                .execute(conn)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// `location_ip` bytes as an address (4 bytes IPv4, 16 bytes IPv6).
fn stored_ip(bytes: &[u8]) -> Option<std::net::IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(std::net::IpAddr::from(v4))
    } else {
        <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from)
    }
}

/// The salt of anonymized user ids, created on first use as Matomo's
/// `PrivacyManager::getUserIdSalt` does (40 characters of its alphabet).
fn user_id_salt(conn: &mut MysqlConnection) -> Result<String> {
    if let Some(salt) = crate::support::get_option(conn, USERID_SALT_OPTION)?
        && !salt.is_empty()
    {
        return Ok(salt);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnoprstuvwxyzABCDEFGHIJKLMNOPRSTUVWXYZ0123456789_-$";
    let bytes = crate::support::random_bytes::<40>()?;
    let salt: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    crate::support::set_option(conn, USERID_SALT_OPTION, &salt)?;
    Ok(salt)
}

/// Hex sha1, PHP's `sha1()`.
fn sha1_hex(text: &str) -> String {
    use sha1::Digest;
    crate::support::hex(&sha1::Sha1::digest(text.as_bytes()))
}

// ---------------------------------------------------------------------------
// Privacy settings

/// The prefix of the privacy options (Matomo's `PrivacyManager\Config`).
const OPTION_PREFIX: &str = "PrivacyManager.";

/// The referrer anonymization modes Matomo offers
/// (`ReferrerAnonymizer::getAvailableAnonymizationOptions`); anything else
/// is stored as `''` (none).
const REFERRER_MODES: [&str; 3] = ["exclude_query", "exclude_path", "exclude_all"];

/// The tracker's privacy settings as stored (Matomo's
/// `Controller::getAnonymizeIPInfo`), each option's default where unset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnonymizeIpSettings {
    /// `ipAnonymizerEnabled` (default true).
    pub enabled: bool,
    /// `ipAddressMaskLength` (default 2).
    pub mask_length: i64,
    /// `forceCookielessTracking` (default false).
    pub force_cookieless_tracking: bool,
    /// `anonymizeOrderId` (default false).
    pub anonymize_order_id: bool,
    /// `anonymizeUserId` (default false).
    pub anonymize_user_id: bool,
    /// `useAnonymizedIpForVisitEnrichment` (default false).
    pub use_anonymized_ip_for_visit_enrichment: bool,
    /// `anonymizeReferrer` (default `''`).
    pub anonymize_referrer: String,
}

/// The arguments of `setAnonymizeIpSettings`; `None` leaves a setting as
/// it is (Matomo's parameters that default to `false` and are only stored
/// when given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnonymizeIpChanges {
    /// `anonymizeIPEnable`: `Some(true)` for `'1'`, `Some(false)` for `'0'`.
    pub enable: Option<bool>,
    /// `maskLength`, stored as given (PHP's `(int)` of the parameter).
    pub mask_length: i64,
    /// `useAnonymizedIpForVisitEnrichment`, always stored.
    pub use_anonymized_ip_for_visit_enrichment: bool,
    /// `anonymizeUserId`.
    pub anonymize_user_id: Option<bool>,
    /// `anonymizeOrderId`.
    pub anonymize_order_id: Option<bool>,
    /// `anonymizeReferrer`, always stored (`''` unless a known mode).
    pub anonymize_referrer: String,
    /// `forceCookielessTracking`.
    pub force_cookieless_tracking: Option<bool>,
}

fn set_flag(conn: &mut MysqlConnection, name: &str, value: bool) -> QueryResult<()> {
    // Matomo stores booleans as '1' / '0' (`Config::set`).
    crate::support::set_option(
        conn,
        &format!("{OPTION_PREFIX}{name}"),
        if value { "1" } else { "0" },
    )
}

fn read_option(conn: &mut MysqlConnection, name: &str) -> QueryResult<Option<String>> {
    crate::support::get_option(conn, &format!("{OPTION_PREFIX}{name}"))
}

/// PHP's `settype($value, 'boolean')` of a stored option.
fn read_flag(conn: &mut MysqlConnection, name: &str, default: bool) -> QueryResult<bool> {
    Ok(read_option(conn, name)?.map_or(default, |v| !matches!(v.as_str(), "" | "0")))
}

/// `setAnonymizeIpSettings` (super user): stores the options the tracker
/// reads on its next snapshot reload.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::Db`].
pub fn set_anonymize_ip_settings(
    conn: &mut MysqlConnection,
    actor: &Principal,
    changes: &AnonymizeIpChanges,
) -> Result<()> {
    actor.check_superuser()?;
    conn.transaction(|conn| {
        if let Some(enable) = changes.enable {
            set_flag(conn, "ipAnonymizerEnabled", enable)?;
        }
        crate::support::set_option(
            conn,
            &format!("{OPTION_PREFIX}ipAddressMaskLength"),
            &changes.mask_length.to_string(),
        )?;
        set_flag(
            conn,
            "useAnonymizedIpForVisitEnrichment",
            changes.use_anonymized_ip_for_visit_enrichment,
        )?;
        let referrer = if REFERRER_MODES.contains(&changes.anonymize_referrer.as_str()) {
            changes.anonymize_referrer.as_str()
        } else {
            ""
        };
        crate::support::set_option(conn, &format!("{OPTION_PREFIX}anonymizeReferrer"), referrer)?;
        for (name, value) in [
            ("anonymizeUserId", changes.anonymize_user_id),
            ("anonymizeOrderId", changes.anonymize_order_id),
            ("forceCookielessTracking", changes.force_cookieless_tracking),
        ] {
            if let Some(value) = value {
                set_flag(conn, name, value)?;
            }
        }
        // The tracker hashes user ids with this salt; it only reads it.
        if changes.anonymize_user_id == Some(true) {
            user_id_salt(conn)?;
        }
        Ok(())
    })
}

/// The stored IP anonymization settings (super user; Matomo shows them on
/// its privacy settings page, not through the API).
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::Db`].
pub fn anonymize_ip_settings(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<AnonymizeIpSettings> {
    actor.check_superuser()?;
    Ok(AnonymizeIpSettings {
        enabled: read_flag(conn, "ipAnonymizerEnabled", true)?,
        mask_length: read_option(conn, "ipAddressMaskLength")?
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(2),
        force_cookieless_tracking: read_flag(conn, "forceCookielessTracking", false)?,
        anonymize_order_id: read_flag(conn, "anonymizeOrderId", false)?,
        anonymize_user_id: read_flag(conn, "anonymizeUserId", false)?,
        use_anonymized_ip_for_visit_enrichment: read_flag(
            conn,
            "useAnonymizedIpForVisitEnrichment",
            false,
        )?,
        anonymize_referrer: read_option(conn, "anonymizeReferrer")?.unwrap_or_default(),
    })
}

/// `activateDoNotTrack` / `deactivateDoNotTrack` (super user): whether the
/// tracker drops requests sent with `DNT: 1`.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::Db`].
pub fn set_do_not_track(
    conn: &mut MysqlConnection,
    actor: &Principal,
    enabled: bool,
) -> Result<()> {
    actor.check_superuser()?;
    set_flag(conn, "doNotTrackEnabled", enabled)?;
    Ok(())
}

/// Whether `DNT: 1` requests are dropped (option `doNotTrackEnabled`,
/// default false; super user).
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::Db`].
pub fn do_not_track_enabled(conn: &mut MysqlConnection, actor: &Principal) -> Result<bool> {
    actor.check_superuser()?;
    Ok(read_flag(conn, "doNotTrackEnabled", false)?)
}

// ---------------------------------------------------------------------------
// Raw data retention

/// Rows deleted by [`purge_logs_older_than`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// `log_visit` rows.
    pub visits: u64,
    /// `log_link_visit_action` rows.
    pub actions: u64,
    /// `log_conversion` rows.
    pub conversions: u64,
    /// `log_conversion_item` rows.
    pub conversion_items: u64,
}

/// Deletes the visits whose last action is before `cutoff` (UTC), with
/// their actions, conversions and items: Matomo's raw data retention
/// (`delete_logs_older_than`, `LogDataPurger::purgeData`), which deletes
/// visits last active before today minus N days, of the sites that exist.
/// Works in chunks of at most `chunk_visits` visits (Matomo's
/// `LogDeleter::deleteVisitsFor` takes 2,000 at a time), one transaction
/// per chunk, so a long purge holds no lock for long and a crash loses at
/// most one chunk's progress. Unused `log_action` rows are left (Matomo
/// removes them in a separate task under `LOCK TABLES`). Super user.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::InvalidParameter`]
/// for a chunk size of 0; [`ManagementError::Db`].
pub fn purge_logs_older_than(
    conn: &mut MysqlConnection,
    actor: &Principal,
    cutoff: PrimitiveDateTime,
    chunk_visits: u32,
) -> Result<PurgeCounts> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Unsigned<BigInt>)]
        idvisit: u64,
    }
    actor.check_superuser()?;
    if chunk_visits == 0 {
        return Err(ManagementError::invalid(
            "chunk_visits",
            "the chunk size must be at least 1",
        ));
    }
    let mut counts = PurgeCounts::default();
    loop {
        let ids: Vec<Id> = diesel::sql_query(
            "SELECT idvisit FROM log_visit WHERE idsite IN (SELECT idsite FROM site) \
             AND visit_last_action_time < ? ORDER BY idvisit LIMIT ?",
        )
        .bind::<Timestamp, _>(cutoff)
        .bind::<BigInt, _>(i64::from(chunk_visits))
        .load(conn)?;
        if ids.is_empty() {
            break;
        }
        // Ids read from the table, written as literals.
        let list = ids
            .iter()
            .map(|id| id.idvisit.to_string())
            .collect::<Vec<_>>()
            .join(",");
        conn.transaction(|conn| {
            let mut delete = |table: &str| -> QueryResult<u64> {
                diesel::sql_query(format!("DELETE FROM {table} WHERE idvisit IN ({list})"))
                    .execute(conn)
                    .map(|n| n as u64)
            };
            counts.conversion_items += delete("log_conversion_item")?;
            counts.conversions += delete("log_conversion")?;
            counts.actions += delete("log_link_visit_action")?;
            counts.visits += delete("log_visit")?;
            Ok::<_, ManagementError>(())
        })?;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(index: &str, idsite: Option<&str>, idvisit: Option<&str>) -> RawDataSubject {
        RawDataSubject {
            index: index.to_owned(),
            idsite: idsite.map(str::to_owned),
            idvisit: idvisit.map(str::to_owned),
        }
    }

    /// Matomo's `APITest::testExportDataSubjectsFailsWhen*` messages.
    #[test]
    fn visits_are_validated_as_matomo() {
        let err = parse_data_subjects(&[]).unwrap_err();
        assert_eq!(err.to_string(), "No list of visits given");
        let err =
            parse_data_subjects(&[raw("0", Some("9999"), Some("9999")), raw("1", None, None)])
                .unwrap_err();
        assert_eq!(err.to_string(), "No idsite key set for visit at index 1");
        let err = parse_data_subjects(&[raw("0", Some("1"), Some("0"))]).unwrap_err();
        assert_eq!(err.to_string(), "No idvisit key set for visit at index 0");
        assert_eq!(
            parse_data_subjects(&[raw("0", Some("1"), Some("42"))]).unwrap(),
            [DataSubject {
                idsite: 1,
                idvisit: 42
            }]
        );
        assert!(parse_data_subjects(&[raw("0", Some("x"), Some("1"))]).is_err());
    }

    #[test]
    fn visits_are_grouped_by_site() {
        let visits = [
            DataSubject {
                idsite: 2,
                idvisit: 7,
            },
            DataSubject {
                idsite: 1,
                idvisit: 3,
            },
            DataSubject {
                idsite: 1,
                idvisit: 4,
            },
        ];
        assert_eq!(
            visits_where(&visits),
            "(idsite = 1 AND idvisit IN (3,4)) OR (idsite = 2 AND idvisit IN (7))"
        );
    }
}
