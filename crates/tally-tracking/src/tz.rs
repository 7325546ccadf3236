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
}
