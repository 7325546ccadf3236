//! Matomo's Live API (`plugins/Live/API.php`, `Model.php`): visits and
//! their actions read straight from the log tables, never from archives.
//!
//! - `Live.getCounters`: visits, actions, visitors and conversions of the
//!   last N minutes.
//! - `Live.getMostRecentVisitorId`, `Live.getMostRecentVisitsDateTime`.
//! - `Live.getLastVisitsDetails`: each visit with the fields of Matomo's
//!   `VisitorDetails` classes and its `actionDetails` ([`visits`]).
//! - `Live.getVisitorProfile`: one visitor's last visits summed up
//!   ([`profile`]).
//!
//! Every method needs view access to the site, as Matomo's
//! `checkUserHasViewAccess`. None of them is listed in
//! `API.getReportMetadata` (Matomo lists none of them either).

mod profile;
mod suggest;
mod visits;

pub(crate) use suggest::suggested_values;

pub(crate) use visits::last_visits_details;

use diesel::MysqlConnection;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use tally_archiving::SiteInfo;
use tally_archiving::period::{DateSelection, parse_date_param, parse_period_kind};
use tally_archiving::segment::Segment;
use tally_datatable::render::Report;
use tally_datatable::{ColumnKey, Columns, Scalar, Value};
use tally_schema::codes::PeriodKind;
use time::{Date, Duration, OffsetDateTime};

use crate::ReportingError;
use crate::methods::{Ctx, Handler};
use crate::output::Output;

/// `Live.<method>` → implementation.
pub(crate) fn find(method: &str) -> Option<Handler> {
    let handler: Handler = match method {
        "getCounters" => counters,
        "getMostRecentVisitorId" => most_recent_visitor_id,
        "getMostRecentVisitsDateTime" => most_recent_visits_date_time,
        "getLastVisitsDetails" => last_visits_details,
        "getVisitorProfile" => profile::visitor_profile,
        _ => return None,
    };
    Some(handler)
}

/// Matomo's `lastMinutes` bounds (`API::getCounters`).
const MAX_LAST_MINUTES: i64 = 2880;

/// What the Live methods know of a site: its row and the archiving view
/// (time zone, goals, custom dimensions for segments).
pub(crate) struct LiveSite {
    pub(crate) info: SiteInfo,
    pub(crate) name: String,
    pub(crate) currency: String,
}

/// A site Matomo's `new Site($idSite)` does not find.
fn unexpected_site(idsite: u32) -> ReportingError {
    ReportingError::NotSupported(format!(
        "An unexpected website was found in the request: website id was set to '{idsite}' ."
    ))
}

/// Loads site `idsite` for a Live answer.
///
/// # Errors
/// Matomo's unexpected-website error when there is no such site;
/// database errors.
pub(crate) fn load_site(
    conn: &mut MysqlConnection,
    idsite: u32,
) -> Result<LiveSite, ReportingError> {
    use tally_schema::schema::site;
    let row: Option<(String, String)> = site::table
        .filter(site::idsite.eq(idsite))
        .select((site::name, site::currency))
        .first(conn)
        .optional()?;
    let (name, currency) = row.ok_or_else(|| unexpected_site(idsite))?;
    let info = SiteInfo::load(conn, idsite).map_err(|error| match error {
        tally_archiving::ArchiveError::UnknownSite(id) => unexpected_site(id),
        other => ReportingError::Archive(other),
    })?;
    Ok(LiveSite {
        info,
        name,
        currency,
    })
}

/// `idSite` of the Live methods: one site id, checked for view access
/// before the site is looked up (as Matomo checks access first).
pub(crate) fn site_ids(ctx: &mut Ctx<'_>) -> Result<Vec<u32>, ReportingError> {
    let (ids, _) = ctx.sites()?;
    if ids.is_empty() {
        return Err(ReportingError::MissingParameter("idSite".to_owned()));
    }
    Ok(ids)
}

/// The one site of a method that takes a single `idSite`.
fn single_site(ctx: &mut Ctx<'_>) -> Result<LiveSite, ReportingError> {
    let ids = site_ids(ctx)?;
    match ids[..] {
        [idsite] => load_site(ctx.conn, idsite),
        _ => Err(ReportingError::InvalidParameter {
            name: "idSite".to_owned(),
            reason: "this method takes one site id".to_owned(),
        }),
    }
}

/// The request's segment for `site`.
pub(crate) fn segment(ctx: &Ctx<'_>, site: &SiteInfo) -> Result<Segment, ReportingError> {
    let definition = ctx.request.get("segment").unwrap_or("");
    Ok(site
        .parse_segment(definition)
        .map_err(tally_archiving::ArchiveError::from)?)
}

/// `Y-m-d H:i:s` of a unix time in UTC, as `log_*` tables store times.
pub(crate) fn utc_datetime(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|at| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            )
        })
        .unwrap_or_default()
}

/// `Request::getIntegerParameter`: the value must be an integer written
/// as PHP writes it back (`(string)(int)$value === $value`).
fn php_integer(raw: &str) -> Option<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|value| value.to_string() == raw)
}

// ---------------------------------------------------------------------------
// Live.getCounters

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `SELECT COUNT(...)` of `table` rows of `idsite` at or after `since`
/// (`time_column`), limited to the visits of `segment`: a visit-level
/// query ANDs the segment's expression, the others keep the rows of the
/// segment's visits that were active since then.
fn count_since(
    conn: &mut MysqlConnection,
    select: &str,
    table: &str,
    time_column: &str,
    idsite: u32,
    since: &str,
    segment: &Segment,
) -> QueryResult<i64> {
    let sql = segment.to_sql();
    let query = if table == "log_visit" {
        let query = diesel::sql_query(format!(
            "SELECT /* Live.getCounters */ {select} AS n FROM log_visit AS log_visit \
             WHERE log_visit.idsite = ? AND log_visit.{time_column} >= ? AND ({})",
            sql.where_sql
        ))
        .into_boxed::<Mysql>()
        .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(idsite)
        .bind::<Text, _>(since.to_owned());
        sql.apply_binds(query)
    } else if segment.is_empty() {
        diesel::sql_query(format!(
            "SELECT /* Live.getCounters */ {select} AS n FROM {table} AS {table} \
             WHERE {table}.idsite = ? AND {table}.{time_column} >= ?"
        ))
        .into_boxed::<Mysql>()
        .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(idsite)
        .bind::<Text, _>(since.to_owned())
    } else {
        // A row at or after `since` belongs to a visit whose last action is
        // at or after `since` too: the subquery stays in the time window.
        let query = diesel::sql_query(format!(
            "SELECT /* Live.getCounters */ {select} AS n FROM {table} AS {table} \
             WHERE {table}.idsite = ? AND {table}.{time_column} >= ? \
             AND {table}.idvisit IN (SELECT log_visit.idvisit FROM log_visit AS log_visit \
             WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? AND ({}))",
            sql.where_sql
        ))
        .into_boxed::<Mysql>()
        .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(idsite)
        .bind::<Text, _>(since.to_owned())
        .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(idsite)
        .bind::<Text, _>(since.to_owned());
        sql.apply_binds(query)
    };
    Ok(query.get_result::<Count>(conn)?.n)
}

/// `showColumns` / `hideColumns` of `getCounters` (comma lists).
fn column_shown(ctx: &Ctx<'_>, column: &str) -> bool {
    let list = |name: &str| -> Vec<String> {
        ctx.request
            .non_empty(name)
            .map(|raw| raw.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let show = list("showColumns");
    let hide = list("hideColumns");
    (show.is_empty() || show.iter().any(|name| name == column))
        && !hide.iter().any(|name| name == column)
}

/// `Live.getCounters`: one row of `visits`, `actions`, `visitors` and
/// `visitsConverted` over the last `lastMinutes` minutes (1 to 2880).
/// As Matomo, `visitsConverted` counts conversions, and the other counts
/// are 0 without querying when there was no visit.
pub(crate) fn counters(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let raw = ctx.required("lastMinutes")?.to_owned();
    let minutes = php_integer(&raw)
        .ok_or_else(|| ReportingError::MissingParameter("lastMinutes".to_owned()))?;
    if !(1..=MAX_LAST_MINUTES).contains(&minutes) {
        return Err(ReportingError::NotSupported(
            "lastMinutes only accepts values between 1 and 2880".to_owned(),
        ));
    }
    let site = single_site(ctx)?;
    let segment = segment(ctx, &site.info)?;
    let idsite = site.info.idsite;
    let since = utc_datetime(ctx.loader.now.unix_timestamp() - minutes * 60);
    let mut columns = Columns::new();
    let mut has_visits = true;
    if column_shown(ctx, "visits") {
        let visits = count_since(
            ctx.conn,
            "COUNT(log_visit.visit_last_action_time)",
            "log_visit",
            "visit_last_action_time",
            idsite,
            &since,
            &segment,
        )?;
        has_visits = visits != 0;
        columns.set(ColumnKey::from("visits"), Value::Int(visits));
    }
    let counts: [(&str, &str, &str, &str); 3] = [
        (
            "actions",
            "COUNT(*)",
            "log_link_visit_action",
            "server_time",
        ),
        (
            "visitors",
            "COUNT(DISTINCT log_visit.idvisitor)",
            "log_visit",
            "visit_last_action_time",
        ),
        (
            "visitsConverted",
            "COUNT(*)",
            "log_conversion",
            "server_time",
        ),
    ];
    for (name, select, table, time_column) in counts {
        if !column_shown(ctx, name) {
            continue;
        }
        let count = if has_visits {
            count_since(
                ctx.conn,
                select,
                table,
                time_column,
                idsite,
                &since,
                &segment,
            )?
        } else {
            0
        };
        columns.set(ColumnKey::from(name), Value::Int(count));
    }
    Ok(Output::Report(Report::Rows(vec![columns])))
}

// ---------------------------------------------------------------------------
// Live.getMostRecentVisitorId, Live.getMostRecentVisitsDateTime

#[derive(QueryableByName)]
struct OneText {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
}

/// `Live.getMostRecentVisitorId`: the hex visitor id of the site's visit
/// with the latest last action (in the segment), or `false`.
///
/// Matomo looks in the last 7 days, then the last year, then all time,
/// for speed; the newest visit is the same visit either way.
pub(crate) fn most_recent_visitor_id(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let site = single_site(ctx)?;
    let segment = segment(ctx, &site.info)?;
    let value = match most_recent_visitor(ctx.conn, site.info.idsite, &segment)? {
        Some(hex) => Value::Str(hex),
        None => Value::False,
    };
    Ok(Output::Report(Report::Simple(
        [(ColumnKey::from("value"), value)].into_iter().collect(),
    )))
}

/// The hex visitor id of the site's newest visit in `segment`.
fn most_recent_visitor(
    conn: &mut MysqlConnection,
    idsite: u32,
    segment: &Segment,
) -> QueryResult<Option<String>> {
    let sql = segment.to_sql();
    let query = diesel::sql_query(format!(
        "SELECT LOWER(HEX(log_visit.idvisitor)) AS value FROM log_visit AS log_visit \
         WHERE log_visit.idsite = ? AND ({}) \
         ORDER BY log_visit.visit_last_action_time DESC, log_visit.idvisit DESC LIMIT 1",
        sql.where_sql
    ))
    .into_boxed::<Mysql>()
    .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(idsite);
    Ok(sql
        .apply_binds(query)
        .get_result::<OneText>(conn)
        .optional()?
        .and_then(|row| row.value))
}

/// The UTC bounds of a Live request's `period` and `date`, as Matomo's
/// `Model::getStartAndEndDate` computes them: none without both; for a
/// single date, the period containing it, except that today (in the site's
/// time zone) counts from the period containing yesterday; the start is
/// never after now; the end is the day after the period's last day, left
/// open for `today`, `now`, `lastN`, `previousN` or a period ending today,
/// and at most a second past now.
pub(crate) fn start_and_end(
    ctx: &Ctx<'_>,
    site: &SiteInfo,
) -> Result<(Option<i64>, Option<i64>), ReportingError> {
    let (Some(period), Some(date)) = (
        ctx.request.non_empty("period"),
        ctx.request.non_empty("date"),
    ) else {
        return Ok((None, None));
    };
    let now = ctx.loader.now.unix_timestamp();
    let today = site.timezone.local_date(now);
    let kind = parse_period_kind(period)?;
    let date = date.trim();
    let multiple = kind == PeriodKind::Range
        || date.contains(',')
        || date.starts_with("last")
        || date.starts_with("previous");
    let (start, end, end_day): (Date, Date, Option<Date>) = if multiple {
        let selection = parse_date_param(kind, date, today)?;
        let periods = selection.periods();
        let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
            return Ok((None, None));
        };
        // `Range::parseDateRange`: the second day of `d1,d2` decides whether
        // the end is open.
        let end_day = match date.split_once(',') {
            Some((_, second)) => match parse_date_param(PeriodKind::Day, second.trim(), today)? {
                DateSelection::One(day) => Some(day.start()),
                DateSelection::Many(_) => None,
            },
            None => Some(last.end()),
        };
        (first.start(), last.end(), end_day)
    } else {
        let day = match parse_date_param(PeriodKind::Day, date, today)? {
            DateSelection::One(day) => day.start(),
            DateSelection::Many(days) => days.last().map_or(today, |day| day.start()),
        };
        let day = if day == today {
            day.previous_day().unwrap_or(day)
        } else {
            day
        };
        let period = tally_archiving::Period::containing(kind, day);
        let resolved = parse_date_param(PeriodKind::Day, date, today)?
            .periods()
            .first()
            .map(tally_archiving::Period::start);
        (period.start(), period.end(), resolved)
    };
    let start = site.timezone.start_of_day(start).min(now);
    let open = matches!(date, "now" | "today" | "yesterdaySameTime")
        || date.contains("last")
        || date.contains("previous")
        || end_day == Some(today);
    let end = if open {
        None
    } else {
        let after = end
            .checked_add(Duration::days(1))
            .map_or(i64::MAX, |next| site.timezone.start_of_day(next));
        Some(if after > now { now + 1 } else { after })
    };
    Ok((Some(start), end))
}

/// `Live.getMostRecentVisitsDateTime`: the latest `visit_last_action_time`
/// (UTC) of the site, within `period`/`date` when given; `""` when none.
pub(crate) fn most_recent_visits_date_time(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let ids = site_ids(ctx)?;
    let mut sites = Vec::with_capacity(ids.len());
    for idsite in &ids {
        sites.push(load_site(ctx.conn, *idsite)?);
    }
    let (start, end) = start_and_end(ctx, &sites[0].info)?;
    let id_list = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let mut sql = format!(
        "SELECT CAST(visit_last_action_time AS CHAR) AS value FROM log_visit \
         WHERE idsite IN ({id_list})"
    );
    if start.is_some() {
        sql.push_str(" AND visit_last_action_time >= ?");
    }
    if end.is_some() {
        sql.push_str(" AND visit_last_action_time <= ?");
    }
    sql.push_str(" ORDER BY visit_last_action_time DESC LIMIT 1");
    let mut query = diesel::sql_query(sql).into_boxed::<Mysql>();
    for bound in [start, end].into_iter().flatten() {
        query = query.bind::<Text, _>(utc_datetime(bound));
    }
    let found = query
        .get_result::<OneText>(ctx.conn)
        .optional()?
        .and_then(|row| row.value)
        .unwrap_or_default();
    Ok(Output::Value(Scalar::Str(found)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_read_as_php_writes_them_back() {
        assert_eq!(php_integer("30"), Some(30));
        assert_eq!(php_integer("-1"), Some(-1));
        assert_eq!(php_integer("030"), None);
        assert_eq!(php_integer("3.0"), None);
        assert_eq!(php_integer("abc"), None);
        assert_eq!(php_integer(" 3"), None);
    }

    #[test]
    fn utc_datetimes_are_as_stored() {
        assert_eq!(utc_datetime(1_267_874_553), "2010-03-06 11:22:33");
    }
}
