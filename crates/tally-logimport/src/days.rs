//! The day pipeline past the import: status of files and days, the export
//! of a loaded day's raw hits, and the statuses downstream jobs set.

use std::io::Write;

use diesel::prelude::*;
use diesel::sql_types::{Datetime, Nullable, Text, Unsigned};
use tally_schema::models::{LogImportDayStatus, LogImportFile, LogImportFileSummary};
use tally_schema::schema::{logimport_day_status, logimport_file, logimport_file_summary, site};
use tally_schema::tz::SiteTimeZone;
use time::{Date, PrimitiveDateTime};

use crate::LogImportError;

/// A day's status (`logimport_day_status.status`), in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DayStatus {
    /// Files touching the day are registered, none imported any of it yet.
    Queue,
    /// Some of the day is imported; not all of its files are completed.
    Partial,
    /// Every file touching the day is completed.
    Loaded,
    /// Exported by [`export_day`].
    Pretable,
    /// Set downstream by [`mark_day`].
    Calculated,
    /// Set downstream by [`mark_day`].
    Done,
}

impl DayStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::Partial => "partial",
            Self::Loaded => "loaded",
            Self::Pretable => "pretable",
            Self::Calculated => "calculated",
            Self::Done => "done",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queue" => Self::Queue,
            "partial" => Self::Partial,
            "loaded" => Self::Loaded,
            "pretable" => Self::Pretable,
            "calculated" => Self::Calculated,
            "done" => Self::Done,
            _ => return None,
        })
    }
}

/// A file with the summaries of its import runs.
#[derive(Debug, Clone)]
pub struct FileStatus {
    /// The file's row.
    pub file: LogImportFile,
    /// One per run, oldest first.
    pub summaries: Vec<LogImportFileSummary>,
}

/// Everything `import status` shows.
#[derive(Debug, Clone)]
pub struct ImportStatus {
    /// Files, oldest first.
    pub files: Vec<FileStatus>,
    /// Days by site and date.
    pub days: Vec<LogImportDayStatus>,
}

/// Lists files (with their run summaries) and days.
///
/// # Errors
/// The query error.
pub fn status(conn: &mut MysqlConnection) -> QueryResult<ImportStatus> {
    let files: Vec<LogImportFile> = logimport_file::table
        .order(logimport_file::idfile)
        .select(LogImportFile::as_select())
        .load(conn)?;
    let summaries: Vec<LogImportFileSummary> = logimport_file_summary::table
        .order(logimport_file_summary::idsummary)
        .select(LogImportFileSummary::as_select())
        .load(conn)?;
    let days = logimport_day_status::table
        .order((logimport_day_status::idsite, logimport_day_status::date))
        .select(LogImportDayStatus::as_select())
        .load(conn)?;
    let files = files
        .into_iter()
        .map(|file| FileStatus {
            summaries: summaries
                .iter()
                .filter(|s| s.idfile == file.idfile)
                .cloned()
                .collect(),
            file,
        })
        .collect();
    Ok(ImportStatus { files, days })
}

fn day_row(
    conn: &mut MysqlConnection,
    idsite: u32,
    date: Date,
) -> QueryResult<Option<LogImportDayStatus>> {
    logimport_day_status::table
        .filter(logimport_day_status::idsite.eq(idsite))
        .filter(logimport_day_status::date.eq(date))
        .select(LogImportDayStatus::as_select())
        .first(conn)
        .optional()
}

fn now() -> PrimitiveDateTime {
    let t = time::OffsetDateTime::now_utc();
    PrimitiveDateTime::new(t.date(), t.time().replace_nanosecond(0).unwrap_or(t.time()))
}

fn set_status(
    conn: &mut MysqlConnection,
    idsite: u32,
    date: Date,
    status: DayStatus,
) -> QueryResult<()> {
    diesel::update(
        logimport_day_status::table
            .filter(logimport_day_status::idsite.eq(idsite))
            .filter(logimport_day_status::date.eq(date)),
    )
    .set((
        logimport_day_status::status.eq(status.as_str()),
        logimport_day_status::ts_updated.eq(now()),
    ))
    .execute(conn)?;
    Ok(())
}

/// Sets `calculated` or `done` on a day, for the jobs downstream of the
/// export: `calculated` after `pretable`, `done` after `pretable` or
/// `calculated`. Setting the current status again is allowed.
///
/// # Errors
/// [`LogImportError::DayTransition`] for any other change (including to an
/// import status), or a database error.
pub fn mark_day(
    conn: &mut MysqlConnection,
    idsite: u32,
    date: Date,
    to: DayStatus,
) -> Result<(), LogImportError> {
    let row = day_row(conn, idsite, date)?;
    let from = row.as_ref().and_then(|r| DayStatus::parse(&r.status));
    let allowed = matches!(
        (to, from),
        (
            DayStatus::Calculated,
            Some(DayStatus::Pretable | DayStatus::Calculated)
        ) | (
            DayStatus::Done,
            Some(DayStatus::Pretable | DayStatus::Calculated | DayStatus::Done)
        )
    );
    if !allowed {
        return Err(LogImportError::DayTransition {
            idsite,
            date,
            from: row.map_or_else(|| "none".to_owned(), |r| r.status),
            to: to.as_str().to_owned(),
        });
    }
    set_status(conn, idsite, date, to)?;
    Ok(())
}

/// How [`export_day`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Tab-separated; tabs, newlines and backslashes in values escaped as
    /// `\t`, `\n`, `\r`, `\\`.
    Tsv,
    /// RFC 4180 CSV.
    Csv,
}

/// The columns of an export, in order.
pub const EXPORT_COLUMNS: &[&str] = &[
    "idvisit",
    "idvisitor",
    "idlink_va",
    "server_time",
    "action_type",
    "url",
    "title",
    "client_ip",
    "browser",
    "os",
    "device_type",
    "referer_url",
    "http_status",
    "time_server_ms",
];

#[derive(QueryableByName)]
struct ExportRow {
    #[diesel(sql_type = Unsigned<diesel::sql_types::BigInt>)]
    idlink_va: u64,
    #[diesel(sql_type = Unsigned<diesel::sql_types::BigInt>)]
    idvisit: u64,
    #[diesel(sql_type = Text)]
    idvisitor: String,
    #[diesel(sql_type = Datetime)]
    server_time: PrimitiveDateTime,
    #[diesel(sql_type = Nullable<Unsigned<diesel::sql_types::TinyInt>>)]
    action_type: Option<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    url: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    client_ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    browser: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    os: Option<String>,
    #[diesel(sql_type = Nullable<Unsigned<diesel::sql_types::TinyInt>>)]
    device_type: Option<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    referer_url: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    http_status: Option<String>,
    #[diesel(sql_type = Nullable<Unsigned<diesel::sql_types::Integer>>)]
    time_server: Option<u32>,
}

/// Rows fetched per query: a day of a busy site has millions of actions,
/// which are streamed rather than loaded at once.
const EXPORT_PAGE: i64 = 10_000;

/// Writes the raw hits of a site's day (its local day, in the site's time
/// zone): one row per action with its visit, URL, time (UTC), client and
/// HTTP status, after a header row of [`EXPORT_COLUMNS`], in `idlink_va`
/// order. Then marks the day `pretable` (a day already further along keeps
/// its status). Returns the number of rows.
///
/// # Errors
/// [`LogImportError::DayNotLoaded`] unless every file of the day is
/// completed (status `loaded` or later); [`LogImportError::Export`] when
/// `out` fails; a database error.
pub fn export_day(
    conn: &mut MysqlConnection,
    idsite: u32,
    date: Date,
    mut out: impl Write,
    format: ExportFormat,
) -> Result<u64, LogImportError> {
    let row = day_row(conn, idsite, date)?;
    let status = row.as_ref().and_then(|r| DayStatus::parse(&r.status));
    if status.is_none_or(|s| s < DayStatus::Loaded) {
        return Err(LogImportError::DayNotLoaded {
            idsite,
            date,
            status: row.map_or_else(|| "none".to_owned(), |r| r.status),
        });
    }
    let tz_name: String = site::table
        .filter(site::idsite.eq(idsite))
        .select(site::timezone)
        .first(conn)?;
    let tz = SiteTimeZone::parse(&tz_name);
    let start = tz.start_of_day(date);
    let end = date
        .next_day()
        .map_or(start + 86_400, |d| tz.start_of_day(d));
    let at = |unix: i64| {
        time::OffsetDateTime::from_unix_timestamp(unix)
            .map(|t| PrimitiveDateTime::new(t.date(), t.time()))
            .unwrap_or(PrimitiveDateTime::MIN)
    };
    let io = |source| LogImportError::Export {
        idsite,
        date,
        source,
    };
    write_row(
        &mut out,
        format,
        EXPORT_COLUMNS.iter().map(|c| (*c).to_owned()),
    )
    .map_err(io)?;
    let mut after = 0u64;
    let mut count = 0u64;
    loop {
        let rows: Vec<ExportRow> = diesel::sql_query(
            "SELECT a.idlink_va, a.idvisit, LOWER(HEX(a.idvisitor)) AS idvisitor, a.server_time, \
             u.type AS action_type, \
             CONCAT(CASE u.url_prefix WHEN 0 THEN 'http://' WHEN 1 THEN 'http://www.' \
               WHEN 2 THEN 'https://' WHEN 3 THEN 'https://www.' ELSE '' END, u.name) AS url, \
             n.name AS title, INET6_NTOA(v.location_ip) AS client_ip, \
             v.config_browser_name AS browser, v.config_os AS os, v.config_device_type AS device_type, \
             v.referer_url, \
             IF(a.custom_var_k1 = 'HTTP-code', a.custom_var_v1, NULL) AS http_status, \
             a.time_server \
             FROM log_link_visit_action a \
             JOIN log_visit v ON v.idvisit = a.idvisit \
             LEFT JOIN log_action u ON u.idaction = a.idaction_url \
             LEFT JOIN log_action n ON n.idaction = a.idaction_name \
             WHERE a.idsite = ? AND a.server_time >= ? AND a.server_time < ? AND a.idlink_va > ? \
             ORDER BY a.idlink_va LIMIT ?",
        )
        .bind::<Unsigned<diesel::sql_types::Integer>, _>(idsite)
        .bind::<Datetime, _>(at(start))
        .bind::<Datetime, _>(at(end))
        .bind::<Unsigned<diesel::sql_types::BigInt>, _>(after)
        .bind::<diesel::sql_types::BigInt, _>(EXPORT_PAGE)
        .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.idlink_va;
        for r in &rows {
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            write_row(
                &mut out,
                format,
                [
                    r.idvisit.to_string(),
                    r.idvisitor.clone(),
                    r.idlink_va.to_string(),
                    format!(
                        "{} {:02}:{:02}:{:02}",
                        r.server_time.date(),
                        r.server_time.hour(),
                        r.server_time.minute(),
                        r.server_time.second()
                    ),
                    r.action_type.map(|t| t.to_string()).unwrap_or_default(),
                    opt(&r.url),
                    opt(&r.title),
                    opt(&r.client_ip),
                    opt(&r.browser),
                    opt(&r.os),
                    r.device_type.map(|t| t.to_string()).unwrap_or_default(),
                    opt(&r.referer_url),
                    opt(&r.http_status),
                    r.time_server.map(|t| t.to_string()).unwrap_or_default(),
                ]
                .into_iter(),
            )
            .map_err(io)?;
            count += 1;
        }
        if rows.len() < usize::try_from(EXPORT_PAGE).unwrap_or(usize::MAX) {
            break;
        }
    }
    out.flush().map_err(io)?;
    if status == Some(DayStatus::Loaded) {
        set_status(conn, idsite, date, DayStatus::Pretable)?;
    }
    Ok(count)
}

fn write_row(
    out: &mut impl Write,
    format: ExportFormat,
    values: impl Iterator<Item = String>,
) -> std::io::Result<()> {
    let mut line = String::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            line.push(if format == ExportFormat::Tsv {
                '\t'
            } else {
                ','
            });
        }
        match format {
            ExportFormat::Tsv => {
                for c in v.chars() {
                    match c {
                        '\t' => line.push_str("\\t"),
                        '\n' => line.push_str("\\n"),
                        '\r' => line.push_str("\\r"),
                        '\\' => line.push_str("\\\\"),
                        c => line.push(c),
                    }
                }
            }
            ExportFormat::Csv => {
                if v.contains([',', '"', '\n', '\r']) {
                    line.push('"');
                    line.push_str(&v.replace('"', "\"\""));
                    line.push('"');
                } else {
                    line.push_str(&v);
                }
            }
        }
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        let row = || ["a\tb".to_owned(), "c,\"d\"".to_owned()].into_iter();
        assert!(write_row(&mut out, ExportFormat::Tsv, row()).is_ok());
        assert!(write_row(&mut out, ExportFormat::Csv, row()).is_ok());
        let expected = "a\\tb\tc,\"d\"\n".to_owned() + "a\tb,\"c,\"\"d\"\"\"\n";
        assert_eq!(String::from_utf8_lossy(&out), expected);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            "queue",
            "partial",
            "loaded",
            "pretable",
            "calculated",
            "done",
        ] {
            assert_eq!(DayStatus::parse(s).map(DayStatus::as_str), Some(s));
        }
    }
}
