//! Tracking failures as an administrator sees them (Matomo's
//! `CoreAdminHome.getTrackingFailures`, `deleteTrackingFailure`,
//! `deleteAllTrackingFailures`). The tracker writes the rows
//! (`tally_tracking::failures`); here they are listed with Matomo's
//! explanations and deleted.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Datetime, SmallInt, Text, Unsigned};
use time::PrimitiveDateTime;

use crate::access::{Access, Principal};
use crate::support::format_db_time;
use crate::{ManagementError, Result};
use tally_tracking::php::urldecode;

/// One failure as `getTrackingFailures` returns it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrackingFailure {
    /// `idsite` the request named.
    pub idsite: u64,
    /// 1: the site does not exist; 2: not authenticated.
    pub idfailure: u16,
    /// `YYYY-MM-DD HH:MM:SS` (UTC).
    pub date_first_occurred: String,
    /// The request's parameters, tokens replaced.
    pub request_url: String,
    /// The site's name, `Unknown` when it does not exist.
    pub site_name: String,
    /// `Dec 1, 2026 5:50:12 AM` (English short date-time, UTC).
    pub pretty_date_first_occurred: String,
    /// The request's `url` parameter.
    pub url: String,
    /// What went wrong.
    pub problem: String,
    /// What to do about it.
    pub solution: String,
    /// Matomo's FAQ on it.
    pub solution_url: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Unsigned<BigInt>)]
    idsite: u64,
    #[diesel(sql_type = Unsigned<SmallInt>)]
    idfailure: u16,
    #[diesel(sql_type = Datetime)]
    date_first_occurred: PrimitiveDateTime,
    #[diesel(sql_type = Text)]
    request_url: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    site_name: Option<String>,
}

/// The failures the caller may see: all of them for a super user
/// (including sites that do not exist), else those of the sites it
/// administers.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`] without admin access anywhere;
/// [`ManagementError::Db`].
pub fn tracking_failures(
    conn: &mut MysqlConnection,
    actor: &Principal,
) -> Result<Vec<TrackingFailure>> {
    let sql = "SELECT f.idsite, f.idfailure, f.date_first_occurred, f.request_url, s.name AS site_name \
               FROM tracking_failure f LEFT JOIN site s ON s.idsite = f.idsite";
    let visible = if actor.superuser {
        None
    } else {
        Some(administered(actor)?)
    };
    // The table holds at most two rows per site and two days: filtering
    // here is simpler than a statement per access list.
    let rows: Vec<Row> =
        diesel::sql_query(format!("{sql} ORDER BY f.idsite, f.idfailure")).load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            visible
                .as_ref()
                .is_none_or(|ids| u32::try_from(r.idsite).is_ok_and(|id| ids.contains(&id)))
        })
        .map(enrich)
        .collect())
}

/// Deletes one failure (admin access to its site).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::Db`].
pub fn delete_tracking_failure(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    idfailure: u16,
) -> Result<()> {
    actor.check(idsite, Access::Admin)?;
    diesel::sql_query("DELETE FROM tracking_failure WHERE idsite = ? AND idfailure = ?")
        .bind::<Unsigned<BigInt>, _>(u64::from(idsite))
        .bind::<Unsigned<SmallInt>, _>(idfailure)
        .execute(conn)?;
    Ok(())
}

/// Deletes every failure the caller may see.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`]; [`ManagementError::Db`].
pub fn delete_all_tracking_failures(conn: &mut MysqlConnection, actor: &Principal) -> Result<()> {
    if actor.superuser {
        diesel::sql_query("DELETE FROM tracking_failure").execute(conn)?;
        return Ok(());
    }
    for idsite in administered(actor)? {
        diesel::sql_query("DELETE FROM tracking_failure WHERE idsite = ?")
            .bind::<Unsigned<BigInt>, _>(u64::from(idsite))
            .execute(conn)?;
    }
    Ok(())
}

fn administered(actor: &Principal) -> Result<Vec<u32>> {
    actor.check_somewhere(Access::Admin)?;
    let ids: Vec<u32> = actor
        .sites
        .iter()
        .filter(|(_, level)| **level >= Access::Admin)
        .map(|(id, _)| *id)
        .collect();
    if ids.is_empty() {
        return Err(ManagementError::NoAccessToAnySite {
            needed: Access::Admin,
        });
    }
    Ok(ids)
}

fn enrich(row: Row) -> TrackingFailure {
    let (problem, solution, solution_url) = match row.idfailure {
        1 => (
            "The site does not exist.",
            "Update the configured idSite in the tracker.",
            "https://matomo.org/faq/how-to/faq_30838/",
        ),
        2 => (
            "Request was not authenticated but authentication was required.",
            "Set or correct a \"token_auth\" in your tracking request.",
            "https://matomo.org/faq/how-to/faq_30835/",
        ),
        _ => ("", "", ""),
    };
    let params = query_params(&row.request_url);
    TrackingFailure {
        idsite: row.idsite,
        idfailure: row.idfailure,
        date_first_occurred: format_db_time(row.date_first_occurred),
        url: params
            .get("url")
            .map(|u| u.trim().to_owned())
            .unwrap_or_default(),
        request_url: row.request_url,
        site_name: row.site_name.unwrap_or_else(|| "Unknown".to_owned()),
        pretty_date_first_occurred: pretty(row.date_first_occurred),
        problem: problem.to_owned(),
        solution: solution.to_owned(),
        solution_url: solution_url.to_owned(),
    }
}

/// Matomo's English `DATETIME_FORMAT_SHORT`: `MMM d, y h:mm:ss a`.
fn pretty(t: PrimitiveDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[usize::from(u8::from(t.month())) - 1];
    let (hour, half) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{month} {}, {} {hour}:{:02}:{:02} {half}",
        t.day(),
        t.year(),
        t.minute(),
        t.second()
    )
}

/// `parse_str` of the stored query string, enough to read `url`.
fn query_params(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (urldecode(k), urldecode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_short_datetime() {
        let t = time::macros::datetime!(2026-12-01 05:50:12);
        assert_eq!(pretty(t), "Dec 1, 2026 5:50:12 AM");
        let t = time::macros::datetime!(2026-01-09 00:05:00);
        assert_eq!(pretty(t), "Jan 9, 2026 12:05:00 AM");
        let t = time::macros::datetime!(2026-07-19 13:00:59);
        assert_eq!(pretty(t), "Jul 19, 2026 1:00:59 PM");
    }

    #[test]
    fn the_url_is_read_back_from_the_stored_request() {
        let p = query_params("idsite=9&url=https%3A%2F%2Fa.example%2F%3Fq%3D1+2&x=%ZZ");
        assert_eq!(p["url"], "https://a.example/?q=1 2");
        assert_eq!(p["x"], "%ZZ");
    }
}
