//! `format=rss`: Matomo's RSS feed of a report over several periods
//! (`DataTable\Renderer\Rss` behind `API\Renderer\Rss`).
//!
//! A feed is made of a date-keyed map only (one site, several periods):
//! one `<item>` per period, most recent first, whose description is the
//! period's table as escaped HTML ([`tally_datatable::render::rss_table`]).
//! Anything else is refused with Matomo's message. What Matomo's renderer
//! does and we keep:
//! - `pubDate` is the start of the period at midnight UTC in `date('r')`'s
//!   form (at the site's time of day of "now" for `lastN` / `previousN`
//!   dates, as Matomo counts those periods from "now"), the channel's
//!   dates are "now";
//! - the link is the Matomo URL (the `piwikUrl` option, as
//!   `SettingsPiwik::getPiwikUrl` reads it) with `module=CoreHome`, the
//!   request's `idSite` and `period`, and the period's start date "in the
//!   site's time zone" as Matomo's `Date::setTimezone()->toString()`
//!   computes it: the start minus the zone's UTC offset, so a site east of
//!   UTC links to the day before;
//! - the title is the site name, ` on `, and the map key;
//! - link and description go through `Common::sanitizeInputValue` (line
//!   breaks removed, entities decoded, then `htmlspecialchars` with both
//!   quotes).

use diesel::prelude::*;
use tally_datatable::format::{Quotes, html_entity_decode, htmlspecialchars};
use tally_datatable::render::{RenderOptions, Report, rss_table};
use tally_schema::tz::SiteTimeZone;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime};

use crate::ReportingError;
use crate::request::ApiRequest;

/// A rendered feed: the body (sent as `text/xml`).
pub(crate) type Feed = String;

/// `date('r', $timestamp)` with PHP's time zone at UTC.
fn rfc2822(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    ))
    .unwrap_or_default()
}

/// `Common::sanitizeInputValue`: line breaks removed, entities decoded,
/// then `htmlspecialchars(ENT_QUOTES)`.
fn sanitize(text: &str) -> String {
    let flat: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    htmlspecialchars(&html_entity_decode(&flat), Quotes::Both)
}

/// The first day of the period a map key names: `2010-12-14`,
/// `2010-12-20,2010-12-26` (week, range), `2010-12` (month) or `2010`.
fn period_start(key: &str) -> Option<Date> {
    let first = key.split(',').next()?;
    let mut parts = first.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next().map_or(Ok(1), str::parse).ok()?;
    let day: u8 = parts.next().map_or(Ok(1), str::parse).ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// The site's name and time zone; Matomo's unexpected-website error when
/// there is no such site.
fn site(conn: &mut MysqlConnection, idsite: u32) -> Result<(String, String), ReportingError> {
    use tally_schema::schema::site;
    site::table
        .filter(site::idsite.eq(idsite))
        .select((site::name, site::timezone))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            ReportingError::NotSupported(format!(
                "An unexpected website was found in the request: website id was set to '{idsite}' ."
            ))
        })
}

/// The `piwikUrl` option (Matomo records it from its first requests; an
/// empty link base when unset).
fn matomo_url(conn: &mut MysqlConnection) -> QueryResult<String> {
    use tally_schema::schema::option;
    Ok(option::table
        .filter(option::option_name.eq("piwikUrl"))
        .select(option::option_value)
        .first::<String>(conn)
        .optional()?
        .unwrap_or_default())
}

/// The feed of `report`, or Matomo's refusal when it is not a map of
/// periods of one site.
///
/// # Errors
/// [`ReportingError::RssNeedsPeriods`] for other answers; the site and
/// option lookups' errors.
pub(crate) fn feed(
    conn: &mut MysqlConnection,
    report: &Report,
    options: &RenderOptions,
    request: &ApiRequest,
    now: OffsetDateTime,
) -> Result<Feed, ReportingError> {
    let Report::Map { key_name, entries } = report else {
        return Err(ReportingError::RssNeedsPeriods);
    };
    if key_name != "date" {
        return Err(ReportingError::RssNeedsPeriods);
    }
    // `Common::getRequestVar('idSite', 1, 'int')`.
    let idsite: u32 = request
        .get("idSite")
        .and_then(|id| id.trim().parse().ok())
        .unwrap_or(1);
    let (name, timezone) = site(conn, idsite)?;
    let zone = SiteTimeZone::parse(&timezone);
    let base = format!(
        "{}?module=CoreHome&action=index&idSite={idsite}&period={}",
        matomo_url(conn)?,
        request.get("period").unwrap_or_default()
    );
    let generated = rfc2822(now);
    // `lastN` / `previousN` periods are counted back from
    // `Date::factory('now', $timezone)`, which keeps the time of day (the
    // site's wall clock, read as UTC): their starts, and so the items'
    // dates, carry it.
    let relative = request.get("date").is_some_and(|date| {
        let date = date.trim().to_ascii_lowercase();
        date.starts_with("last") || date.starts_with("previous")
    });
    let time_of_day = if relative {
        let local = now.to_offset(
            time::UtcOffset::from_whole_seconds(zone.offset_at(now.unix_timestamp()).seconds())
                .unwrap_or(time::UtcOffset::UTC),
        );
        local.time() - time::Time::MIDNIGHT
    } else {
        time::Duration::ZERO
    };
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n  <channel>\n    \
         <title>matomo statistics - RSS</title>\n    <link>https://matomo.org</link>\n    \
         <description>Matomo RSS feed</description>\n    <pubDate>{generated}</pubDate>\n    \
         <generator>matomo</generator>\n    <language>en</language>\n    \
         <lastBuildDate>{generated}</lastBuildDate>\n"
    );
    for (key, table) in entries.iter().rev() {
        let start = period_start(key).ok_or_else(|| ReportingError::InvalidParameter {
            name: "date".to_owned(),
            reason: format!("'{key}' is not a period"),
        })?;
        let start = start.midnight().assume_utc() + time_of_day;
        let offset = i64::from(zone.offset_at(start.unix_timestamp()).seconds());
        let link_date = (start - time::Duration::seconds(offset)).date();
        let link = sanitize(&format!("{base}&date={link_date}"));
        let description = rss_table(table, options).ok_or(ReportingError::RssNeedsPeriods)?;
        out.push_str(&format!(
            "\t<item>\n\t\t<pubDate>{}</pubDate>\n\t\t<guid>{link}</guid>\n\t\t<link>{link}</link>\n\t\t\
             <title>{} on {key}</title>\n\t\t<author>https://matomo.org</author>\n\t\t\
             <description>{}</description>\n\t</item>\n",
            rfc2822(start),
            htmlspecialchars(&name, Quotes::Double),
            sanitize(&description)
        ));
    }
    out.push_str("\t</channel>\n</rss>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn period_starts_from_map_keys() {
        assert_eq!(period_start("2010-12-14"), Some(date!(2010 - 12 - 14)));
        assert_eq!(
            period_start("2010-12-20,2010-12-26"),
            Some(date!(2010 - 12 - 20))
        );
        assert_eq!(period_start("2010-12"), Some(date!(2010 - 12 - 01)));
        assert_eq!(period_start("2011"), Some(date!(2011 - 01 - 01)));
        assert_eq!(period_start("last7"), None);
    }

    #[test]
    fn dates_as_php_date_r() {
        assert_eq!(
            rfc2822(datetime!(2020-10-20 20:10:20 UTC)),
            "Tue, 20 Oct 2020 20:10:20 +0000"
        );
        assert_eq!(
            rfc2822(datetime!(2010-12-05 00:00 UTC)),
            "Sun, 05 Dec 2010 00:00:00 +0000"
        );
    }

    #[test]
    fn sanitize_drops_line_breaks_and_escapes_once() {
        assert_eq!(
            sanitize("<td>a&amp;b</td>\n\t<td>'x'</td>"),
            "&lt;td&gt;a&amp;b&lt;/td&gt;\t&lt;td&gt;&#039;x&#039;&lt;/td&gt;"
        );
    }
}
