//! Site time zones: IANA names (with DST) through jiff's bundled tzdb, and
//! Matomo's fixed-offset `UTC+5.5` style zones, which are not IANA names.

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use time::Date;

/// A site's time zone.
#[derive(Debug, Clone)]
pub enum SiteTimeZone {
    /// An IANA zone such as `Europe/Paris`.
    Iana(TimeZone),
    /// `UTC`, `UTC+2`, `UTC-4.5`: a fixed offset in seconds.
    Fixed(i32),
}

impl SiteTimeZone {
    /// Parses `site.timezone`. Unknown names fall back to UTC (as Matomo's
    /// tracker does when the zone cannot be loaded) and are logged.
    pub fn parse(name: &str) -> Self {
        let name = name.trim();
        if let Some(rest) = name.strip_prefix("UTC") {
            if rest.is_empty() {
                return Self::Fixed(0);
            }
            if let Ok(hours) = rest.parse::<f64>()
                && hours.abs() <= 14.0
            {
                // Whole seconds of at most 14 h always fit an i32.
                #[allow(clippy::cast_possible_truncation)]
                return Self::Fixed((hours * 3600.0).round() as i32);
            }
        }
        match TimeZone::get(name) {
            Ok(tz) => Self::Iana(tz),
            Err(_) => {
                tracing::warn!(timezone = name, "unknown site time zone, using UTC");
                Self::Fixed(0)
            }
        }
    }

    /// The site-local calendar date of a unix time.
    pub fn local_date(&self, unix: i64) -> Date {
        let offset = match self {
            Self::Fixed(secs) => i64::from(*secs),
            Self::Iana(tz) => Timestamp::from_second(unix)
                .map(|ts| i64::from(tz.to_offset(ts).seconds()))
                .unwrap_or(0),
        };
        let local = unix.saturating_add(offset);
        time::OffsetDateTime::from_unix_timestamp(local)
            .map(|t| t.date())
            .unwrap_or(Date::MIN)
    }

    /// The unix time at which the local calendar day `date` begins.
    ///
    /// Where DST makes local midnight not exist (a zone that springs forward
    /// at 00:00), the day begins at the first local instant that exists, as
    /// PHP's `DateTime` resolves it; where midnight happens twice, the
    /// earlier one is the start.
    pub fn start_of_day(&self, date: Date) -> i64 {
        let midnight_as_utc = date.midnight().assume_utc().unix_timestamp();
        match self {
            Self::Fixed(secs) => midnight_as_utc - i64::from(*secs),
            Self::Iana(tz) => {
                let civil = jiff::civil::date(
                    // Dates come from validated archive periods (years 1991..9999).
                    i16::try_from(date.year()).unwrap_or(1970),
                    i8::try_from(u8::from(date.month())).unwrap_or(1),
                    i8::try_from(date.day()).unwrap_or(1),
                )
                .at(0, 0, 0, 0);
                match tz.to_ambiguous_zoned(civil).compatible() {
                    Ok(zoned) => zoned.timestamp().as_second(),
                    Err(_) => midnight_as_utc,
                }
            }
        }
    }

    /// The offset in effect at `unix`, for callers that need it.
    pub fn offset_at(&self, unix: i64) -> Offset {
        match self {
            Self::Fixed(secs) => Offset::from_seconds(*secs).unwrap_or(Offset::UTC),
            Self::Iana(tz) => Timestamp::from_second(unix)
                .map(|ts| tz.to_offset(ts))
                .unwrap_or(Offset::UTC),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn local_dates() {
        // 2026-03-29 00:30 UTC is 01:30 CET, and 2026-06-30 23:30 UTC is
        // 01:30 CEST the next day: DST is honoured.
        let paris = SiteTimeZone::parse("Europe/Paris");
        assert_eq!(paris.local_date(1_774_744_200), date!(2026 - 03 - 29));
        assert_eq!(paris.local_date(1_782_862_200), date!(2026 - 07 - 01));
        let la = SiteTimeZone::parse("America/Los_Angeles");
        assert_eq!(la.local_date(1_782_862_200), date!(2026 - 06 - 30));
        let india = SiteTimeZone::parse("UTC+5.5");
        // 2026-06-30 20:00 UTC = 01:30 on July 1st at UTC+5:30.
        assert_eq!(india.local_date(1_782_849_600), date!(2026 - 07 - 01));
        assert_eq!(
            SiteTimeZone::parse("UTC").local_date(0),
            date!(1970 - 01 - 01)
        );
        assert_eq!(
            SiteTimeZone::parse("Mars/Olympus").local_date(0),
            date!(1970 - 01 - 01)
        );
    }

    #[test]
    fn day_starts() {
        let ny = SiteTimeZone::parse("America/New_York");
        // Winter: UTC-5; summer: UTC-4.
        assert_eq!(ny.start_of_day(date!(2026 - 01 - 15)), 1_768_453_200);
        assert_eq!(ny.start_of_day(date!(2026 - 07 - 15)), 1_784_088_000);
        // 03:30 UTC on the 16th is still the 15th in New York.
        assert_eq!(
            ny.local_date(1_768_453_200 + 86_400 + 3_600 * 3 + 1_800 - 5 * 3_600 - 1),
            date!(2026 - 01 - 15)
        );
        let india = SiteTimeZone::parse("UTC+5.5");
        assert_eq!(india.start_of_day(date!(1970 - 01 - 02)), 86_400 - 19_800);
        // Santiago springs forward at 00:00 (2026-09-06): the day starts at 01:00 local = 04:00 UTC.
        let santiago = SiteTimeZone::parse("America/Santiago");
        assert_eq!(santiago.start_of_day(date!(2026 - 09 - 06)), 1_788_667_200);
    }
}
