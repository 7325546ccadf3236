//! Periods (`core/Period/*`): day, week (Monday to Sunday), month, year and
//! range, their sub-periods, their bounds in a site's time zone, and the
//! Reporting API's `period` and `date` parameters.
//!
//! Checked against Matomo 5's `core/Period/{Day,Week,Month,Year,Range,Factory}.php`
//! and `tests/PHPUnit/Unit/Period/RangeTest.php`. Where we differ, on purpose:
//!
//! - **Whole days.** Matomo compares timestamps, and its "today" can carry a
//!   time of day (or, for a non-UTC site, an offset-shifted instant), which
//!   can tip its "does the range end before today" tests. We compare local
//!   calendar dates, which is what Matomo does for a UTC site.
//! - **Ranges starting mid-week in a week not over yet.** For a range that
//!   starts mid-week, in the current week or a later one, and ends after that
//!   week's Sunday, Matomo's `Range::processOptimalSubperiods` adds the whole
//!   week, so the report counts the days of that week before the range
//!   starts. We add the range's own days up to that Sunday instead.
//! - **"Today" is explicit.** [`Period::subperiods`] is the decomposition of
//!   a range that is over (today after its last day); it is what Matomo
//!   computes at any time after the range. [`Period::subperiods_as_of`] takes
//!   today, as Matomo's `Range` does, for ranges ending today or later.
//! - **Dates.** Matomo hands a single date to PHP's `strtotime`, which also
//!   takes `2024/01/05` or `next monday` and rolls `2024-02-30` over to
//!   March 1st; we accept `YYYY-M-D` (month and day of one or two digits, as
//!   Matomo's range syntax has it) and the keywords listed at
//!   [`parse_date_param`], and reject impossible dates. Keywords are
//!   case-insensitive and allowed on either side of `d1,d2` (Matomo allows
//!   only a date or `lastweek`/`lastmonth`/`lastyear` on the left).
//! - **`d1,d2` backwards.** For day/week/month/year Matomo silently answers
//!   the one period containing `d2`; we reject it, as Matomo does for ranges.
//! - **`period=range&date=lastN`.** Matomo does not cap N there (its caps
//!   only know day/week/month/year); neither do we, but we reject a range
//!   that would start before [`FIRST_DATE`], where Matomo only checks dates
//!   that were written out.
//! - **`period=range&date=d,d`** becomes the day `d` (Matomo's
//!   `Factory::convertRangeToDateIfNeeded`); Matomo compares the two strings,
//!   we compare the dates they name.

use std::fmt;

use tally_schema::PeriodKind;
use tally_schema::tz::SiteTimeZone;
use time::macros::date;
use time::{Date, Duration, Month};

use crate::ArchiveError;

/// The earliest date a `date` parameter may name: Matomo's
/// `Date::FIRST_WEBSITE_TIMESTAMP`, the day the first website went online.
pub const FIRST_DATE: Date = date!(1991 - 08 - 06);

/// A period: a kind and its first and last day (inclusive), as archive rows
/// store them in `date1` / `date2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    kind: PeriodKind,
    start: Date,
    end: Date,
}

impl Period {
    /// The day `date`.
    pub fn day(date: Date) -> Self {
        Self {
            kind: PeriodKind::Day,
            start: date,
            end: date,
        }
    }

    /// The Monday-to-Sunday week containing `date`.
    ///
    /// Never panics: a week running past [`Date::MIN`] or [`Date::MAX`] is
    /// cut there (parsing rejects such weeks, see [`parse_date_param`]).
    pub fn week(date: Date) -> Self {
        Self::checked_week(date).unwrap_or_else(|| {
            let back = i64::from(date.weekday().number_days_from_monday());
            let start = date.checked_sub(Duration::days(back)).unwrap_or(Date::MIN);
            Self {
                kind: PeriodKind::Week,
                start,
                end: start.checked_add(Duration::days(6)).unwrap_or(Date::MAX),
            }
        })
    }

    /// The calendar month containing `date`.
    pub fn month(date: Date) -> Self {
        let start = date.replace_day(1).unwrap_or(date);
        let end = start
            .replace_day(date.month().length(date.year()))
            .unwrap_or(start);
        Self {
            kind: PeriodKind::Month,
            start,
            end,
        }
    }

    /// The calendar year containing `date`.
    pub fn year(date: Date) -> Self {
        let start = Date::from_calendar_date(date.year(), Month::January, 1).unwrap_or(date);
        let end = Date::from_calendar_date(date.year(), Month::December, 31).unwrap_or(date);
        Self {
            kind: PeriodKind::Year,
            start,
            end,
        }
    }

    /// The range `start..=end`.
    ///
    /// # Errors
    /// [`ArchiveError::InvalidPeriod`] when `end` is before `start`.
    pub fn range(start: Date, end: Date) -> Result<Self, ArchiveError> {
        if end < start {
            return Err(ArchiveError::InvalidPeriod(format!(
                "range ends ({end}) before it starts ({start})"
            )));
        }
        Ok(Self {
            kind: PeriodKind::Range,
            start,
            end,
        })
    }

    /// The period of `kind` containing `date` (a one-day range for
    /// [`PeriodKind::Range`]).
    pub fn containing(kind: PeriodKind, date: Date) -> Self {
        match kind {
            PeriodKind::Day => Self::day(date),
            PeriodKind::Week => Self::week(date),
            PeriodKind::Month => Self::month(date),
            PeriodKind::Year => Self::year(date),
            // Range (PeriodKind is non-exhaustive).
            _ => Self {
                kind: PeriodKind::Range,
                start: date,
                end: date,
            },
        }
    }

    /// Rebuilds a stored period from its `period`, `date1` and `date2`.
    ///
    /// # Errors
    /// [`ArchiveError::InvalidPeriod`] when the dates do not delimit a
    /// period of that kind (a week not starting on Monday, ...).
    pub fn from_stored(kind: PeriodKind, date1: Date, date2: Date) -> Result<Self, ArchiveError> {
        let period = match kind {
            PeriodKind::Range => Some(Self::range(date1, date2)?),
            _ => Self::checked_containing(kind, date1),
        };
        match period {
            Some(period) if period.start == date1 && period.end == date2 => Ok(period),
            _ => Err(ArchiveError::InvalidPeriod(format!(
                "{date1},{date2} is not a {}",
                kind.name()
            ))),
        }
    }

    /// The kind of period.
    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    /// The first day.
    pub fn start(&self) -> Date {
        self.start
    }

    /// The last day (inclusive).
    pub fn end(&self) -> Date {
        self.end
    }

    /// Whether `date` lies in the period.
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date <= self.end
    }

    /// The number of days in the period.
    pub fn days(&self) -> i64 {
        (self.end - self.start).whole_days() + 1
    }

    /// The period's bounds as unix seconds `[start, end)`: local midnight of
    /// the first day to local midnight after the last day, in `tz`.
    ///
    /// Consecutive periods chain (one's end is the next one's start), and a
    /// day is 23 or 25 hours long when DST changes on it.
    pub fn utc_bounds(&self, tz: &SiteTimeZone) -> (i64, i64) {
        let end = match self.end.next_day() {
            Some(after) => tz.start_of_day(after),
            // Only Date::MAX has no next day; its length cannot be asked of
            // the zone, so take 24 hours.
            None => tz.start_of_day(self.end) + 86_400,
        };
        (tz.start_of_day(self.start), end)
    }

    /// The sub-periods an archive of this period is aggregated from
    /// (MATOMO.md section 7.6), in date order: none for a day; 7 days for a
    /// week; for a month, the Monday-to-Sunday weeks inside it and the days
    /// left at either end; 12 months for a year; for a range, Matomo's
    /// "optimal" mix of years, months, weeks and days, computed for a range
    /// that is over. They cover exactly the period's days.
    ///
    /// For a range that may end today or later, use
    /// [`subperiods_as_of`](Self::subperiods_as_of).
    pub fn subperiods(&self) -> Vec<Period> {
        self.subperiods_at(Today(None))
    }

    /// The sub-periods as Matomo computes them on the day `today` (in the
    /// site's time zone).
    ///
    /// Only ranges depend on today, and only when they end in or after the
    /// month (or year) containing today: Matomo then uses a whole year,
    /// month or week archive that runs past the range's last day, since the
    /// days after today hold no data yet. Such sub-periods may end after the
    /// range; every day they add is after today. For any `today` after the
    /// period's last day this equals [`subperiods`](Self::subperiods).
    pub fn subperiods_as_of(&self, today: Date) -> Vec<Period> {
        self.subperiods_at(Today(Some(today)))
    }

    fn subperiods_at(&self, today: Today) -> Vec<Period> {
        match self.kind {
            PeriodKind::Day => Vec::new(),
            PeriodKind::Week => each_day(self.start, self.end).map(Self::day).collect(),
            PeriodKind::Month => month_subperiods(self.start, self.end),
            // Matomo builds the 12 months of the start's year.
            PeriodKind::Year => time_months(self.start.year()).map(Self::month).collect(),
            // Range (PeriodKind is non-exhaustive).
            _ => range_subperiods(self.start, self.end, today),
        }
    }

    /// The periods of the longer kinds containing this period's first day:
    /// week, month and year for a day; month and year for a week; the year
    /// for a month; none for a year or a range.
    ///
    /// These are the archives Matomo invalidates along with this one
    /// (`ArchiveInvalidator::addParentPeriodsByYearMonth`, which also goes
    /// by the first day). Invalidations start from days, so a week spanning
    /// two months reaches both through its days.
    pub fn parents(&self) -> Vec<Period> {
        let kinds: &[PeriodKind] = match self.kind {
            PeriodKind::Day => &[PeriodKind::Week, PeriodKind::Month, PeriodKind::Year],
            PeriodKind::Week => &[PeriodKind::Month, PeriodKind::Year],
            PeriodKind::Month => &[PeriodKind::Year],
            _ => &[],
        };
        kinds
            .iter()
            .map(|&kind| Self::containing(kind, self.start))
            .collect()
    }

    /// The week containing `date`, or `None` when it runs past the dates
    /// `time` can represent.
    fn checked_week(date: Date) -> Option<Self> {
        let back = i64::from(date.weekday().number_days_from_monday());
        let start = date.checked_sub(Duration::days(back))?;
        Some(Self {
            kind: PeriodKind::Week,
            start,
            end: start.checked_add(Duration::days(6))?,
        })
    }

    /// [`containing`](Self::containing) without cutting weeks at the ends of
    /// time.
    fn checked_containing(kind: PeriodKind, date: Date) -> Option<Self> {
        match kind {
            PeriodKind::Week => Self::checked_week(date),
            _ => Some(Self::containing(kind, date)),
        }
    }

    /// The period of the same kind just before this one; for a range, the
    /// range of as many days ending the day before it starts (Matomo's
    /// `Range::getLastDate`, which evolution figures compare with).
    pub fn previous(&self) -> Option<Self> {
        let end = self.start.previous_day()?;
        if self.kind == PeriodKind::Range {
            let start = end.checked_sub(Duration::days(self.days() - 1))?;
            return Some(Self {
                kind: PeriodKind::Range,
                start,
                end,
            });
        }
        Self::checked_containing(self.kind, end)
    }

    /// The period of the same kind just after this one.
    fn next(&self) -> Option<Self> {
        Self::checked_containing(self.kind, self.end.next_day()?)
    }
}

impl fmt::Display for Period {
    /// `day 2024-09-30`, `week 2024-09-30,2024-10-06`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == PeriodKind::Day {
            write!(f, "day {}", self.start)
        } else {
            write!(f, "{} {},{}", self.kind.name(), self.start, self.end)
        }
    }
}

/// Every day of `start..=end`.
fn each_day(start: Date, end: Date) -> impl Iterator<Item = Date> {
    let mut next = Some(start);
    std::iter::from_fn(move || {
        let date = next.filter(|d| *d <= end)?;
        next = date.next_day();
        Some(date)
    })
}

/// The first days of the 12 months of `year`.
fn time_months(year: i32) -> impl Iterator<Item = Date> {
    (1..=12u8).filter_map(move |m| {
        let month = Month::try_from(m).ok()?;
        Date::from_calendar_date(year, month, 1).ok()
    })
}

/// The first day of the month `months` months after the one containing
/// `date`.
fn first_of_month_after(date: Date, months: i32) -> Option<Date> {
    let index = date
        .year()
        .checked_mul(12)?
        .checked_add(i32::from(u8::from(date.month())) - 1)?
        .checked_add(months)?;
    let month = u8::try_from(index.rem_euclid(12) + 1).ok()?;
    Date::from_calendar_date(index.div_euclid(12), Month::try_from(month).ok()?, 1).ok()
}

/// Matomo's `Month::processOptimalSubperiods`: the weeks inside
/// `start..=end`, and days where a week would cross either end.
fn month_subperiods(start: Date, end: Date) -> Vec<Period> {
    let mut out = Vec::new();
    let mut date = start;
    while date <= end {
        let Some(week) = Period::checked_week(date).filter(|w| w.end <= end) else {
            out.extend(each_day(date, end).map(Period::day));
            break;
        };
        if week.start == date {
            out.push(week);
        } else {
            out.extend(each_day(date, week.end).map(Period::day));
        }
        match week.end.next_day() {
            Some(next) => date = next,
            None => break,
        }
    }
    out
}

/// "Today" as the range decomposition sees it; `None` stands for a day after
/// the range's end in a later year, and gives the same answer as any day
/// after the end.
#[derive(Debug, Clone, Copy)]
struct Today(Option<Date>);

impl Today {
    /// Whether `date` is before today (Matomo's `$date->isEarlier($today)`).
    fn is_after(self, date: Date) -> bool {
        self.0.is_none_or(|today| date < today)
    }

    /// Whether `date` is after today (Matomo's `$date->isLater($today)`).
    fn is_before(self, date: Date) -> bool {
        self.0.is_some_and(|today| date > today)
    }

    fn same_year(self, date: Date) -> bool {
        self.0.is_some_and(|today| today.year() == date.year())
    }

    fn same_month(self, date: Date) -> bool {
        self.0
            .is_some_and(|today| today.year() == date.year() && today.month() == date.month())
    }
}

/// Matomo's `Range::processOptimalSubperiods`, on whole days.
///
/// At each date, in this order:
/// 1. the year starting there, if it ends inside the range, or after today
///    (so the current year's archive serves a range ending today), unless the
///    range ended before today within that year;
/// 2. the same test for the month starting there;
/// 3. days up to the end of the month, when the week would cross into the
///    next month and whole months can follow (the month after next starts
///    before the range's end);
/// 4. days up to the end, when the week runs past the range's end, and the
///    range is over, or starts mid-week, or the week has already ended;
/// 5. days up to Sunday when the week started before this date (Matomo adds
///    the whole week here when the week has not ended yet; see the module
///    docs);
/// 6. otherwise the week, which may end after the range when that is in
///    the future.
fn range_subperiods(start: Date, end: Date, today: Today) -> Vec<Period> {
    let mut out = Vec::new();
    let mut date = start;
    while date <= end {
        let year = Period::year(date);
        let month = Period::month(date);
        let last = if date == year.start
            && (year.end <= end || today.is_before(year.end))
            && !(today.is_after(end) && today.same_year(year.end))
        {
            out.push(year);
            year.end
        } else if date == month.start
            && (month.end <= end || today.is_before(month.end))
            && !(today.is_after(end) && today.same_month(month.end))
        {
            out.push(month);
            month.end
        } else {
            let Some(week) = Period::checked_week(date) else {
                out.extend(each_day(date, end).map(Period::day));
                break;
            };
            let months_next = first_of_month_after(date, 2).is_some_and(|d| d < end);
            let week_passes_end = week.end > end || (week.end == end && today.is_before(end));
            if months_next && week.end > month.end {
                out.extend(each_day(date, month.end).map(Period::day));
                month.end
            } else if week_passes_end
                && (today.is_after(week.end) || week.start != date || today.is_after(end))
            {
                out.extend(each_day(date, end).map(Period::day));
                break;
            } else if week.start < date {
                out.extend(each_day(date, week.end).map(Period::day));
                week.end
            } else {
                out.push(week);
                week.end
            }
        };
        match last.next_day() {
            Some(next) => date = next,
            None => break,
        }
    }
    out
}

/// What a `date` parameter selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateSelection {
    /// One period: a single date with day/week/month/year, or any valid
    /// `date` with `period=range`. The API answers it as a plain report.
    One(Period),
    /// Consecutive periods of one kind, in date order (`lastN`, `previousN`,
    /// `d1,d2` with day/week/month/year). The API answers a map keyed by
    /// period, even when it holds a single period.
    Many(Vec<Period>),
}

impl DateSelection {
    /// The selected periods, in date order.
    pub fn periods(&self) -> &[Period] {
        match self {
            Self::One(period) => std::slice::from_ref(period),
            Self::Many(periods) => periods,
        }
    }
}

/// Parses the `period` parameter: `day`, `week`, `month`, `year` or `range`
/// (lower case, as Matomo compares them).
///
/// # Errors
/// [`ArchiveError::InvalidPeriod`] naming the value for anything else.
pub fn parse_period_kind(name: &str) -> Result<PeriodKind, ArchiveError> {
    match PeriodKind::from_name(name) {
        Ok(kind) if PeriodKind::ALL.contains(&kind) => Ok(kind),
        // Matomo's words (`General_ExceptionInvalidPeriod`).
        _ => Err(ArchiveError::InvalidPeriod(format!(
            "The period '{name}' is not supported. Try any of the following instead: \
             day, week, month, year, range"
        ))),
    }
}

/// The most periods `lastN` / `previousN` may ask for (`Range::getMaxN`).
fn last_n_cap(kind: PeriodKind) -> u64 {
    match kind {
        PeriodKind::Day => 5 * 365,
        PeriodKind::Week => 10 * 52,
        PeriodKind::Month => 10 * 12,
        PeriodKind::Year => 10,
        // Matomo does not cap ranges (`getMaxN` only knows the four above).
        _ => u64::MAX,
    }
}

/// Parses the `date` parameter for `period=kind`, as the Reporting API and
/// the archiver accept it (MATOMO.md section 9.2). `today` is the current
/// date in the site's time zone.
///
/// - A day: `YYYY-MM-DD` (month and day may have one digit), `today`, `now`,
///   `yesterday`, `yesterdaySameTime`, `lastweek`, `lastmonth`, `lastyear`
///   (today minus a week, month or year, with PHP's `strtotime` rolling
///   March 31st back to "February 31st" = March 2nd or 3rd), or a day with
///   a time, `YYYY-MM-DD HH:MM[:SS]`, which names the day. With
///   day/week/month/year it selects [`DateSelection::One`] period of that
///   kind containing the day.
/// - `lastN`: the N periods ending with the one containing today;
///   `previousN`: the N periods ending with the one before. N is capped at
///   5×365 days, 520 weeks, 120 months, 10 years; `last`, `last0` mean
///   `last1`, as in Matomo. With `period=range` they select one range of N
///   days (ending today, or yesterday).
/// - `d1,d2`, either side a day as above: with `period=range`, one range
///   (or the day, when both sides name the same day); otherwise every period
///   of `kind` from the one containing `d1` to the one containing `d2`. As in
///   Matomo, `d2` is brought back to the end of the year ten years from now.
///
/// Days before [`FIRST_DATE`] are rejected, as in Matomo.
///
/// # Errors
/// [`ArchiveError::InvalidPeriod`], naming the value, for anything else:
/// malformed or impossible dates, `d1` after `d2`, a bare day with
/// `period=range`, or periods past the dates `time` can represent.
pub fn parse_date_param(
    kind: PeriodKind,
    date: &str,
    today: Date,
) -> Result<DateSelection, ArchiveError> {
    let invalid = |why: &str| ArchiveError::InvalidPeriod(format!("date `{date}` {why}"));
    let value = date.trim();
    let is_range = kind == PeriodKind::Range;

    if let Some((previous, n)) = parse_last_n(value) {
        return if is_range {
            let end = if previous {
                today.previous_day()
            } else {
                Some(today)
            };
            let start = end
                .zip(i64::try_from(n - 1).ok())
                .and_then(|(end, back)| Some((end.checked_sub(Duration::days(back))?, end)));
            match start {
                Some((start, end)) if start >= FIRST_DATE => {
                    Ok(DateSelection::One(Period::range(start, end)?))
                }
                _ => Err(invalid(&format!("starts before {FIRST_DATE}"))),
            }
        } else {
            last_n_periods(kind, previous, n.min(last_n_cap(kind)), today)
                .map(DateSelection::Many)
                .ok_or_else(|| invalid("reaches past the dates we can represent"))
        };
    }

    if let Some((first, second)) = value.split_once(',') {
        let side = |part: &str| {
            let part = part.trim();
            resolve_day(part, today).map_err(|why| invalid(&format!("has `{part}`, which {why}")))
        };
        let (start, end) = (side(first)?, side(second)?);
        // Range::getMaxAllowedEndTimestamp: the end of the year ten years on.
        let max_end = today
            .year()
            .checked_add(10)
            .and_then(|year| Date::from_calendar_date(year, Month::December, 31).ok())
            .unwrap_or(Date::MAX);
        if start > max_end {
            return Err(invalid(&format!(
                "starts after {max_end}, the latest end Matomo allows (the end of the year ten years on)"
            )));
        }
        let end = end.min(max_end);
        if end < start {
            return Err(invalid(&format!("ends ({end}) before it starts ({start})")));
        }
        return if is_range {
            Ok(DateSelection::One(if start == end {
                Period::day(start)
            } else {
                Period::range(start, end)?
            }))
        } else {
            periods_between(kind, start, end)
                .map(DateSelection::Many)
                .ok_or_else(|| invalid("reaches past the dates we can represent"))
        };
    }

    if is_range {
        return Err(invalid(
            "is not valid with period=range: expected lastN, previousN or YYYY-MM-DD,YYYY-MM-DD",
        ));
    }
    let day = resolve_day(value, today).map_err(|why| invalid(&why))?;
    Period::checked_containing(kind, day)
        .map(DateSelection::One)
        .ok_or_else(|| {
            invalid(&format!(
                "has no {} within the dates we can represent",
                kind.name()
            ))
        })
}

/// `lastN` → `(false, N)`, `previousN` → `(true, N)`, with N at least 1 and
/// saturating (PHP's `(int)` saturates too); `None` for anything else.
fn parse_last_n(value: &str) -> Option<(bool, u64)> {
    let (previous, digits) = match value.strip_prefix("last") {
        Some(digits) => (false, digits),
        None => (true, value.strip_prefix("previous")?),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = digits.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    });
    Some((previous, n.max(1)))
}

/// The `n` periods of `kind` ending with the one containing today, or with
/// the one before it.
fn last_n_periods(kind: PeriodKind, previous: bool, n: u64, today: Date) -> Option<Vec<Period>> {
    let mut period = Period::checked_containing(kind, today)?;
    if previous {
        period = period.previous()?;
    }
    let mut out = vec![period];
    for _ in 1..n {
        period = period.previous()?;
        out.push(period);
    }
    out.reverse();
    Some(out)
}

/// Every period of `kind` from the one containing `start` to the one
/// containing `end`.
fn periods_between(kind: PeriodKind, start: Date, end: Date) -> Option<Vec<Period>> {
    let mut period = Period::checked_containing(kind, start)?;
    let mut out = vec![period];
    while period.end < end {
        period = period.next()?;
        out.push(period);
    }
    Some(out)
}

/// Resolves one day of a `date` parameter: a keyword relative to `today` or
/// `YYYY-M-D`. The error says why, for the caller to name the whole value.
fn resolve_day(value: &str, today: Date) -> Result<Date, String> {
    let keyword = value.to_ascii_lowercase();
    let day = match keyword.as_str() {
        "today" | "now" => Some(today),
        "yesterday" | "yesterdaysametime" => today.previous_day(),
        "lastweek" | "last-week" | "last week" => today.checked_sub(Duration::weeks(1)),
        "lastmonth" | "last-month" | "last month" => php_back(today, 1, 0),
        "lastyear" | "last-year" | "last year" => php_back(today, 0, 1),
        _ => None,
    };
    let day = match day {
        Some(day) => day,
        None => parse_ymd_with_time(value).ok_or(
            "is not a valid date: expected YYYY-MM-DD, today, yesterday, now, \
             lastN, previousN, or two dates separated by a comma",
        )?,
    };
    if day < FIRST_DATE {
        return Err(format!(
            "is before {FIRST_DATE}, when the first website went online"
        ));
    }
    Ok(day)
}

/// PHP's `strtotime('-1 month')` / `('-1 year')`: move the month or year and
/// keep the day number, letting an overflowing day run into the next month.
fn php_back(date: Date, months: i32, years: i32) -> Option<Date> {
    let back = months.checked_add(years.checked_mul(12)?)?;
    let first = first_of_month_after(date, -back)?;
    first.checked_add(Duration::days(i64::from(date.day()) - 1))
}

/// `YYYY-M-D`, or `YYYY-M-D HH:MM[:SS]`: Matomo reads a date with
/// `strtotime`, so a datetime such as its system tests' `2010-01-03
/// 11:22:33` names the day it falls on (the time is checked, then dropped).
fn parse_ymd_with_time(value: &str) -> Option<Date> {
    let Some((day, clock)) = value.split_once(' ') else {
        return parse_ymd(value);
    };
    let mut parts = clock.split(':');
    let (hour, minute, second) = (parts.next()?, parts.next()?, parts.next().unwrap_or("0"));
    if parts.next().is_some() {
        return None;
    }
    let number = |s: &str, max: u8| {
        (1..=2).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_digit())
            && s.parse::<u8>().is_ok_and(|n| n <= max)
    };
    if !number(hour, 23) || !number(minute, 59) || !number(second, 59) {
        return None;
    }
    parse_ymd(day)
}

/// `YYYY-M-D` with a four-digit year and a one- or two-digit month and day,
/// as Matomo's range syntax has it; `None` for anything else or an
/// impossible date.
fn parse_ymd(value: &str) -> Option<Date> {
    let mut parts = value.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(year, 4..=4) || !digits(month, 1..=2) || !digits(day, 1..=2) {
        return None;
    }
    let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;

    fn d(s: &str) -> Date {
        parse_ymd(s).unwrap()
    }
    fn day(s: &str) -> Period {
        Period::day(d(s))
    }
    fn week(s: &str) -> Period {
        let w = Period::week(d(s));
        assert_eq!(w.start, d(s), "{s} is not a Monday");
        w
    }
    fn month(s: &str) -> Period {
        Period::month(d(&format!("{s}-01")))
    }
    fn year(y: i32) -> Period {
        Period::year(Date::from_calendar_date(y, Month::June, 1).unwrap())
    }
    fn days(from: &str, to: &str) -> Vec<Period> {
        each_day(d(from), d(to)).map(Period::day).collect()
    }
    fn range(a: &str, b: &str) -> Period {
        Period::range(d(a), d(b)).unwrap()
    }
    fn cat(parts: &[&[Period]]) -> Vec<Period> {
        parts.concat()
    }

    #[test]
    fn the_previous_period_is_of_the_same_kind_and_length() {
        assert_eq!(
            Period::month(d("2010-03-31")).previous(),
            Some(Period::month(d("2010-02-01")))
        );
        assert_eq!(
            Period::week(d("2011-01-01")).previous(),
            Some(Period::week(d("2010-12-20")))
        );
        // Matomo's Range::getLastDate: as many days, ending the day before.
        let range = Period::range(d("2010-12-15"), d("2011-01-15")).expect("range");
        assert_eq!(
            range.previous(),
            Some(Period::range(d("2010-11-13"), d("2010-12-14")).expect("range"))
        );
        assert_eq!(Period::day(Date::MIN).previous(), None);
    }

    #[test]
    fn week_bounds() {
        // 2024-12-31 is a Tuesday: its week straddles the new year.
        let w = Period::week(d("2024-12-31"));
        assert_eq!((w.start(), w.end()), (d("2024-12-30"), d("2025-01-05")));
        assert_eq!(Period::week(d("2025-01-05")), w);
        assert_eq!(Period::week(d("2024-12-30")), w);
        // 2021-01-01 is a Friday: its week began in 2020.
        let w = Period::week(d("2021-01-01"));
        assert_eq!((w.start(), w.end()), (d("2020-12-28"), d("2021-01-03")));
        assert_eq!(w.kind(), PeriodKind::Week);
        assert_eq!(w.days(), 7);
        assert_eq!(w.subperiods(), days("2020-12-28", "2021-01-03"));
        assert!(w.contains(d("2021-01-03")) && !w.contains(d("2021-01-04")));
        // At the end of time, the week is cut rather than panicking.
        assert_eq!(Period::week(Date::MAX).end(), Date::MAX);
        assert_eq!(Period::week(Date::MIN).start(), Date::MIN);
    }

    #[test]
    fn month_and_year_bounds() {
        let m = Period::month(d("2024-02-17"));
        assert_eq!((m.start(), m.end()), (d("2024-02-01"), d("2024-02-29")));
        assert_eq!(Period::month(d("2023-02-28")).end(), d("2023-02-28"));
        let y = Period::year(d("2024-07-04"));
        assert_eq!(
            (y.start(), y.end(), y.days()),
            (d("2024-01-01"), d("2024-12-31"), 366)
        );
    }

    #[test]
    fn month_subperiods_literal() {
        // September 2024 starts on a Sunday and ends on a Monday.
        assert_eq!(
            month("2024-09").subperiods(),
            vec![
                day("2024-09-01"),
                week("2024-09-02"),
                week("2024-09-09"),
                week("2024-09-16"),
                week("2024-09-23"),
                day("2024-09-30"),
            ]
        );
        // February 2024 (leap) starts on a Thursday.
        assert_eq!(
            month("2024-02").subperiods(),
            cat(&[
                &days("2024-02-01", "2024-02-04"),
                &[week("2024-02-05"), week("2024-02-12"), week("2024-02-19")],
                &days("2024-02-26", "2024-02-29"),
            ])
        );
        // February 2021 is exactly four weeks.
        assert_eq!(
            month("2021-02").subperiods(),
            vec![
                week("2021-02-01"),
                week("2021-02-08"),
                week("2021-02-15"),
                week("2021-02-22"),
            ]
        );
        // Matomo's MonthTest::testMonthDec.
        assert_eq!(
            month("2006-12").subperiods(),
            cat(&[
                &days("2006-12-01", "2006-12-03"),
                &[
                    week("2006-12-04"),
                    week("2006-12-11"),
                    week("2006-12-18"),
                    week("2006-12-25"),
                ],
            ])
        );
    }

    #[test]
    fn year_is_twelve_months() {
        let subs = year(2023).subperiods();
        let expected: Vec<Period> = (1..=12).map(|m| month(&format!("2023-{m:02}"))).collect();
        assert_eq!(subs, expected);
        assert!(subs.iter().all(|p| p.kind() == PeriodKind::Month));
    }

    #[test]
    fn day_has_no_subperiods() {
        assert!(day("2024-09-30").subperiods().is_empty());
    }

    // Matomo's RangeTest cases, with the expected lists written out.
    #[test]
    fn range_uses_years_and_the_current_year() {
        // testCustomRangeYearUsesYearIfPossible (today = the last day).
        assert_eq!(
            range("2005-12-17", "2008-01-03").subperiods_as_of(d("2008-01-03")),
            cat(&[
                &days("2005-12-17", "2005-12-18"),
                &[week("2005-12-19")],
                &days("2005-12-26", "2005-12-31"),
                &[year(2006), year(2007), year(2008)],
            ])
        );
        // The same range, once over: 2008 is only 3 days in.
        assert_eq!(
            range("2005-12-17", "2008-01-03").subperiods(),
            cat(&[
                &days("2005-12-17", "2005-12-18"),
                &[week("2005-12-19")],
                &days("2005-12-26", "2005-12-31"),
                &[year(2006), year(2007)],
                &days("2008-01-01", "2008-01-03"),
            ])
        );
        // testCustomRangeIsYearUsesFullYear.
        assert_eq!(
            range("2011-01-01", "2011-12-31").subperiods_as_of(d("2012-01-03")),
            vec![year(2011)]
        );
        // testCustomRangeYearUsesCurrentYear.
        assert_eq!(
            range("2013-01-01", "2013-11-01").subperiods_as_of(d("2013-11-01")),
            vec![year(2013)]
        );
        // testCustomRangeYearUsesCurrentYearOnLastDayOfYear.
        assert_eq!(
            range("2013-01-01", "2013-12-31").subperiods_as_of(d("2013-12-31")),
            vec![year(2013)]
        );
        let mut over: Vec<Period> = (1..=10).map(|m| month(&format!("2013-{m:02}"))).collect();
        over.push(day("2013-11-01"));
        assert_eq!(range("2013-01-01", "2013-11-01").subperiods(), over);
    }

    #[test]
    fn range_ending_today_uses_the_current_week() {
        // testCustomRangeWeekInsideEndingToday.
        assert_eq!(
            range("2007-12-22", "2008-01-03").subperiods_as_of(d("2008-01-03")),
            cat(&[
                &days("2007-12-22", "2007-12-23"),
                &[week("2007-12-24"), week("2007-12-31")],
            ])
        );
        // testCustomRangeWeekInsideEndingYesterday, for each of its todays.
        let over = cat(&[
            &days("2007-12-22", "2007-12-23"),
            &[week("2007-12-24")],
            &days("2007-12-31", "2008-01-03"),
        ]);
        for today in [
            "2008-01-04",
            "2008-01-05",
            "2008-01-14",
            "2008-02-14",
            "2009-02-14",
        ] {
            let r = range("2007-12-22", "2008-01-03");
            assert_eq!(r.subperiods_as_of(d(today)), over, "today = {today}");
        }
        assert_eq!(range("2007-12-22", "2008-01-03").subperiods(), over);
    }

    #[test]
    fn range_ending_in_the_future() {
        // testRangeEndDateIsTodayAndStartDateNotStartOfTheWeek,
        // testRangeEndDateIsInFuture,
        // testRangePreviousmonthEndDateIsInFutureAndEndOfTheWeek.
        let today = d("2013-10-30");
        assert_eq!(
            range("2013-10-29", "2013-10-30").subperiods_as_of(today),
            days("2013-10-29", "2013-10-30")
        );
        assert_eq!(
            range("2013-10-29", "2013-10-31").subperiods_as_of(today),
            days("2013-10-29", "2013-10-31")
        );
        assert_eq!(
            range("2013-10-29", "2013-11-03").subperiods_as_of(today),
            days("2013-10-29", "2013-11-03")
        );
        // Where Matomo adds the week 2024-10-21..27, counting the 21st and
        // 22nd, we add the range's own days up to Sunday.
        assert_eq!(
            range("2024-10-23", "2024-10-31").subperiods_as_of(d("2024-10-24")),
            cat(&[&days("2024-10-23", "2024-10-27"), &[week("2024-10-28")]])
        );
        // A range starting on the first of the current month uses the month.
        assert_eq!(
            range("2024-10-01", "2024-10-24").subperiods_as_of(d("2024-10-24")),
            vec![month("2024-10")]
        );
    }

    #[test]
    fn range_mixes_months_weeks_and_days() {
        // testCustomRangeContainsMonthAndWeek.
        assert_eq!(
            range("2011-09-18", "2011-11-02").subperiods_as_of(d("2012-01-01")),
            cat(&[
                &[day("2011-09-18"), week("2011-09-19")],
                &days("2011-09-26", "2011-09-30"),
                &[month("2011-10")],
                &days("2011-11-01", "2011-11-02"),
            ])
        );
        // testCustomRangeContainsSeveralMonthsAndWeeksStartingWithMonth.
        let expected = cat(&[
            &[month("2011-08"), month("2011-09")],
            &days("2011-10-01", "2011-10-02"),
            &[week("2011-10-03"), week("2011-10-10"), day("2011-10-17")],
        ]);
        for today in [
            "2011-10-18",
            "2011-10-19",
            "2011-10-24",
            "2011-11-01",
            "2011-11-30",
            "2011-12-31",
            "2021-10-18",
        ] {
            let r = range("2011-08-01", "2011-10-17");
            assert_eq!(r.subperiods_as_of(d(today)), expected, "today = {today}");
        }
        // testCustomRangeStartsWithWeekEndsWithMonth.
        assert_eq!(
            range("2011-07-25", "2011-08-31").subperiods(),
            vec![week("2011-07-25"), month("2011-08")]
        );
        // testCustomRangeOneMonthOnly, ...OneWeekOnly, ...StartsWithWeek,
        // ...EndsWithWeek, ...OnlyDaysLessThanOneWeek.
        assert_eq!(
            range("2011-09-01", "2011-09-30").subperiods(),
            vec![month("2011-09")]
        );
        assert_eq!(
            range("2007-12-31", "2008-01-06").subperiods(),
            vec![week("2007-12-31")]
        );
        assert_eq!(
            range("2007-12-31", "2008-01-08").subperiods(),
            cat(&[&[week("2007-12-31")], &days("2008-01-07", "2008-01-08")])
        );
        assert_eq!(
            range("2007-12-21", "2008-01-06").subperiods(),
            cat(&[
                &days("2007-12-21", "2007-12-23"),
                &[week("2007-12-24"), week("2007-12-31")],
            ])
        );
        assert_eq!(
            range("2007-12-30", "2008-01-01").subperiods(),
            days("2007-12-30", "2008-01-01")
        );
        // A week crossing into a month is cut to days when whole months
        // follow; a greedy "largest period starting here" would instead take
        // weeks all the way and never use October or November.
        assert_eq!(
            range("2024-09-30", "2024-12-15").subperiods(),
            vec![
                day("2024-09-30"),
                month("2024-10"),
                month("2024-11"),
                day("2024-12-01"),
                week("2024-12-02"),
                week("2024-12-09"),
            ]
        );
        assert_eq!(
            range("2024-09-09", "2024-09-09").subperiods(),
            vec![day("2024-09-09")]
        );
    }

    #[test]
    fn utc_bounds_new_york() {
        let ny = SiteTimeZone::parse("America/New_York");
        // Winter: EST, UTC-5.
        let (start, end) = day("2024-01-15").utc_bounds(&ny);
        assert_eq!(start, datetime!(2024-01-15 05:00 UTC).unix_timestamp());
        assert_eq!(end, datetime!(2024-01-16 05:00 UTC).unix_timestamp());
        // Spring forward on 2024-03-10: a 23-hour day.
        let (start, end) = day("2024-03-10").utc_bounds(&ny);
        assert_eq!(start, datetime!(2024-03-10 05:00 UTC).unix_timestamp());
        assert_eq!(end - start, 23 * 3600);
        // Fall back on 2024-11-03: a 25-hour day.
        let (start, end) = day("2024-11-03").utc_bounds(&ny);
        assert_eq!(start, datetime!(2024-11-03 04:00 UTC).unix_timestamp());
        assert_eq!(end - start, 25 * 3600);
        // A month spanning the spring change: 31 days less one hour.
        let (start, end) = month("2024-03").utc_bounds(&ny);
        assert_eq!(end - start, 31 * 86_400 - 3600);
    }

    #[test]
    fn utc_bounds_fixed_offset() {
        let india = SiteTimeZone::parse("UTC+5.5");
        let (start, end) = day("2024-01-15").utc_bounds(&india);
        assert_eq!(start, datetime!(2024-01-14 18:30 UTC).unix_timestamp());
        assert_eq!(end - start, 86_400);
        let (start, end) = week("2024-01-15").utc_bounds(&india);
        assert_eq!(start, datetime!(2024-01-14 18:30 UTC).unix_timestamp());
        assert_eq!(end, datetime!(2024-01-21 18:30 UTC).unix_timestamp());
        let utc = SiteTimeZone::parse("UTC");
        assert_eq!(
            year(2024).utc_bounds(&utc),
            (
                datetime!(2024-01-01 00:00 UTC).unix_timestamp(),
                datetime!(2025-01-01 00:00 UTC).unix_timestamp()
            )
        );
    }

    #[test]
    fn parents() {
        assert_eq!(
            day("2024-09-30").parents(),
            vec![week("2024-09-30"), month("2024-09"), year(2024)]
        );
        // A day whose week began in the previous year.
        assert_eq!(
            day("2025-01-02").parents(),
            vec![week("2024-12-30"), month("2025-01"), year(2025)]
        );
        // Longer periods go by their first day, as Matomo's invalidator does.
        assert_eq!(
            week("2024-12-30").parents(),
            vec![month("2024-12"), year(2024)]
        );
        assert_eq!(month("2024-12").parents(), vec![year(2024)]);
        assert!(year(2024).parents().is_empty());
        assert!(range("2024-01-01", "2024-01-05").parents().is_empty());
    }

    #[test]
    fn from_stored() {
        let ok = Period::from_stored(PeriodKind::Week, d("2024-09-30"), d("2024-10-06")).unwrap();
        assert_eq!(ok, week("2024-09-30"));
        // A week not starting on Monday.
        let err = Period::from_stored(PeriodKind::Week, d("2024-10-01"), d("2024-10-07"));
        assert!(
            matches!(&err, Err(ArchiveError::InvalidPeriod(m)) if m.contains("2024-10-01,2024-10-07 is not a week")),
            "{err:?}"
        );
        assert!(Period::from_stored(PeriodKind::Day, d("2024-10-01"), d("2024-10-02")).is_err());
        assert!(Period::from_stored(PeriodKind::Month, d("2024-10-01"), d("2024-10-30")).is_err());
        assert!(Period::from_stored(PeriodKind::Year, d("2024-01-01"), d("2024-12-31")).is_ok());
        assert!(Period::from_stored(PeriodKind::Range, d("2024-10-02"), d("2024-10-01")).is_err());
        assert_eq!(
            Period::from_stored(PeriodKind::Range, d("2024-10-01"), d("2024-10-01")).unwrap(),
            Period::containing(PeriodKind::Range, d("2024-10-01"))
        );
        // The week of 9999-12-31 would end in year 10000.
        assert!(Period::from_stored(PeriodKind::Week, d("9999-12-27"), Date::MAX).is_err());
    }

    #[test]
    fn display() {
        assert_eq!(day("2024-09-30").to_string(), "day 2024-09-30");
        assert_eq!(week("2024-09-30").to_string(), "week 2024-09-30,2024-10-06");
        assert_eq!(
            range("2024-01-01", "2024-01-05").to_string(),
            "range 2024-01-01,2024-01-05"
        );
    }

    #[test]
    fn period_kinds() {
        assert_eq!(parse_period_kind("day").unwrap(), PeriodKind::Day);
        assert_eq!(parse_period_kind("week").unwrap(), PeriodKind::Week);
        assert_eq!(parse_period_kind("month").unwrap(), PeriodKind::Month);
        assert_eq!(parse_period_kind("year").unwrap(), PeriodKind::Year);
        assert_eq!(parse_period_kind("range").unwrap(), PeriodKind::Range);
        for bad in ["", "Day", "days", "quarter", " day"] {
            let err = parse_period_kind(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }

    /// A Thursday.
    const TODAY: Date = date!(2024 - 10 - 24);

    fn one(kind: PeriodKind, value: &str) -> Period {
        match parse_date_param(kind, value, TODAY).unwrap() {
            DateSelection::One(p) => p,
            other => panic!("{value}: {other:?}"),
        }
    }
    fn many(kind: PeriodKind, value: &str) -> Vec<Period> {
        match parse_date_param(kind, value, TODAY).unwrap() {
            DateSelection::Many(p) => p,
            other => panic!("{value}: {other:?}"),
        }
    }

    #[test]
    fn parse_single_dates() {
        use PeriodKind::*;
        assert_eq!(one(Day, "today"), day("2024-10-24"));
        assert_eq!(one(Day, "now"), day("2024-10-24"));
        assert_eq!(one(Day, "Today"), day("2024-10-24"));
        assert_eq!(one(Day, "yesterday"), day("2024-10-23"));
        assert_eq!(one(Day, "yesterdaySameTime"), day("2024-10-23"));
        assert_eq!(one(Day, "2024-09-30"), day("2024-09-30"));
        assert_eq!(one(Day, "2024-9-3"), day("2024-09-03"));
        assert_eq!(one(Day, " 2024-09-30 "), day("2024-09-30"));
        assert_eq!(one(Day, "1991-08-06"), day("1991-08-06"));
        // A datetime, as Matomo's system tests pass it: its day.
        assert_eq!(one(Day, "2010-01-03 11:22:33"), day("2010-01-03"));
        assert_eq!(one(Week, "2010-01-03 23:59"), week("2009-12-28"));
        assert_eq!(
            many(Day, "2010-01-03 11:22:33,2010-01-05"),
            days("2010-01-03", "2010-01-05")
        );
        assert!(parse_date_param(Day, "2010-01-03 24:00:00", TODAY).is_err());
        assert!(parse_date_param(Day, "2010-01-03 11:22:33:1", TODAY).is_err());
        assert!(parse_date_param(Day, "2010-01-03 noon", TODAY).is_err());
        assert_eq!(one(Day, "9999-12-31"), day("9999-12-31"));
        // Future dates are fine, as in Matomo.
        assert_eq!(one(Day, "2030-01-01"), day("2030-01-01"));
        assert_eq!(one(Week, "today"), week("2024-10-21"));
        assert_eq!(one(Week, "2024-12-31"), week("2024-12-30"));
        assert_eq!(one(Month, "2024-09-15"), month("2024-09"));
        assert_eq!(one(Year, "yesterday"), year(2024));
        assert_eq!(one(Day, "lastweek"), day("2024-10-17"));
        assert_eq!(one(Day, "last-month"), day("2024-09-24"));
        assert_eq!(one(Month, "last year"), month("2023-10"));
        // PHP's "-1 month" from March 31st lands on "February 31st".
        let on = |today: &str, value: &str| parse_date_param(Day, value, d(today)).unwrap();
        assert_eq!(
            on("2024-03-31", "lastmonth"),
            DateSelection::One(day("2024-03-02"))
        );
        assert_eq!(
            on("2024-02-29", "lastyear"),
            DateSelection::One(day("2023-03-01"))
        );
    }

    #[test]
    fn parse_last_and_previous() {
        use PeriodKind::*;
        assert_eq!(many(Day, "last3"), days("2024-10-22", "2024-10-24"));
        assert_eq!(many(Day, "previous3"), days("2024-10-21", "2024-10-23"));
        assert_eq!(
            many(Week, "last2"),
            vec![week("2024-10-14"), week("2024-10-21")]
        );
        assert_eq!(
            many(Week, "previous2"),
            vec![week("2024-10-07"), week("2024-10-14")]
        );
        assert_eq!(
            many(Month, "last3"),
            vec![month("2024-08"), month("2024-09"), month("2024-10")]
        );
        assert_eq!(
            many(Month, "previous2"),
            vec![month("2024-08"), month("2024-09")]
        );
        assert_eq!(many(Year, "last2"), vec![year(2023), year(2024)]);
        assert_eq!(many(Year, "previous1"), vec![year(2023)]);
        // `last`, `last0`, `previous0` mean one period (Matomo's PR 7057).
        assert_eq!(many(Day, "last"), vec![day("2024-10-24")]);
        assert_eq!(many(Day, "last0"), vec![day("2024-10-24")]);
        assert_eq!(many(Day, "previous"), vec![day("2024-10-23")]);
        assert_eq!(many(Day, "previous0"), vec![day("2024-10-23")]);
        // Caps.
        assert_eq!(many(Day, "last5000").len(), 5 * 365);
        assert_eq!(many(Day, "last1826").len(), 5 * 365);
        assert_eq!(many(Week, "last1000").len(), 520);
        assert_eq!(many(Month, "last121").len(), 120);
        assert_eq!(many(Year, "last11").len(), 10);
        let years = many(Year, "previous99999999999999999999999999");
        assert_eq!(
            (years.len(), years[0], years[9]),
            (10, year(2014), year(2023))
        );
        // For ranges: one range of N days.
        use PeriodKind::Range as R;
        assert_eq!(one(R, "last7"), range("2024-10-18", "2024-10-24"));
        assert_eq!(one(R, "previous7"), range("2024-10-17", "2024-10-23"));
        assert_eq!(one(R, "last"), range("2024-10-24", "2024-10-24"));
        assert_eq!(one(R, "last10000").days(), 10_000);
    }

    #[test]
    fn parse_comma_ranges() {
        use PeriodKind::*;
        assert_eq!(
            many(Day, "2024-09-28,2024-10-02"),
            days("2024-09-28", "2024-10-02")
        );
        assert_eq!(
            many(Week, "2024-09-28,2024-10-02"),
            vec![week("2024-09-23"), week("2024-09-30")]
        );
        assert_eq!(
            many(Month, "2024-01-15,2024-03-01"),
            vec![month("2024-01"), month("2024-02"), month("2024-03")]
        );
        assert_eq!(
            many(Year, "2022-06-01,2024-01-01"),
            vec![year(2022), year(2023), year(2024)]
        );
        assert_eq!(
            many(Day, "2024-10-20,today"),
            days("2024-10-20", "2024-10-24")
        );
        assert_eq!(many(Day, "today,today"), vec![day("2024-10-24")]);
        // testRangeMonthcommaAfterMaxAllowedDate: the end is brought back to
        // the end of the year ten years on.
        let months = many(Month, "2024-01-01,2100-01-03");
        assert_eq!(months.len(), 11 * 12);
        assert_eq!(months.last(), Some(&month("2034-12")));

        use PeriodKind::Range as R;
        assert_eq!(
            one(R, "2024-09-01,2024-09-30"),
            range("2024-09-01", "2024-09-30")
        );
        assert_eq!(
            one(R, "2024-09-01,today"),
            range("2024-09-01", "2024-10-24")
        );
        assert_eq!(
            one(R, "2024-09-01 , NOW"),
            range("2024-09-01", "2024-10-24")
        );
        assert_eq!(
            one(R, "today,2024-11-01"),
            range("2024-10-24", "2024-11-01")
        );
        assert_eq!(one(R, "yesterday,today"), range("2024-10-23", "2024-10-24"));
        assert_eq!(
            one(R, "lastweek,yesterday"),
            range("2024-10-17", "2024-10-23")
        );
        assert_eq!(
            one(R, "2024-01-01,2100-01-03"),
            range("2024-01-01", "2034-12-31")
        );
        // The same day twice is that day (Factory::convertRangeToDateIfNeeded).
        assert_eq!(one(R, "2024-10-24,2024-10-24"), day("2024-10-24"));
        assert_eq!(one(R, "today,2024-10-24"), day("2024-10-24"));
    }

    #[test]
    fn parse_rejects_malformed_values() {
        use PeriodKind::*;
        let cases: &[(PeriodKind, &str)] = &[
            (Day, ""),
            (Day, "   "),
            (Day, "2024-13-01"),
            (Day, "2024-02-30"),
            (Day, "2023-02-29"),
            (Day, "24-01-01"),
            (Day, "02024-01-01"),
            (Day, "2024-1-001"),
            (Day, "2024/01/01"),
            (Day, "20240101"),
            (Day, "2024-01-01T00:00"),
            (Day, "+2024-01-01"),
            (Day, "2024-01-01-"),
            (Day, "1990-12-31"),
            (Day, "1991-08-05"),
            (Day, "0001-01-01"),
            (Day, "10000-01-01"),
            (Day, "２０２４-01-01"),
            (Day, "tomorrow"),
            (Day, "abc"),
            (Day, "lastx"),
            (Day, "last-3"),
            (Day, "last 3"),
            (Day, "last3.5"),
            (Day, "Last3"),
            (Day, "previous-1"),
            (Day, "2024-01-01,"),
            (Day, ",2024-01-01"),
            (Day, "2024-01-01,2024-01-02,2024-01-03"),
            (Day, "2024-10-02,2024-10-01"),
            (Day, "2024-01-01;2024-01-02"),
            (Month, "today,yesterday"),
            (Week, "9999-12-31"),
            (Week, "9999-12-01,9999-12-31"),
            (Range, "2024-10-01"),
            (Range, "today"),
            (Range, "1900-01-01,2021-01-01"),
            (Range, "0001-01-01,today"),
            (Range, "2024-01-01,2020-12-16"),
            (Range, "last20000"),
            (Range, "last99999999999999999999999"),
        ];
        for &(kind, value) in cases {
            match parse_date_param(kind, value, TODAY) {
                Err(err @ ArchiveError::InvalidPeriod(_)) => {
                    let message = err.to_string();
                    assert!(
                        message.contains(&format!("`{value}`")),
                        "{kind} {value:?}: {message}"
                    );
                }
                other => panic!("{kind} {value:?} was accepted: {other:?}"),
            }
        }
        assert!(cases.len() >= 15);
    }

    #[test]
    fn date_selection_periods() {
        let one = DateSelection::One(day("2024-10-24"));
        assert_eq!(one.periods(), &[day("2024-10-24")]);
        let many = DateSelection::Many(days("2024-10-23", "2024-10-24"));
        assert_eq!(many.periods().len(), 2);
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (0i64..40_000).prop_map(|n| date!(1991 - 01 - 01) + Duration::days(n))
    }

    /// Sub-periods cover exactly `period`'s days, in order, without overlap,
    /// and are well-formed periods of their kinds.
    fn assert_exact_cover(period: &Period, subs: &[Period]) -> Result<(), TestCaseError> {
        prop_assert!(!subs.is_empty());
        prop_assert_eq!(subs[0].start(), period.start());
        prop_assert_eq!(subs[subs.len() - 1].end(), period.end());
        for pair in subs.windows(2) {
            prop_assert_eq!(pair[0].end().next_day(), Some(pair[1].start()));
        }
        for sub in subs {
            prop_assert!(sub.kind() < period.kind() || period.kind() == PeriodKind::Range);
            let stored = Period::from_stored(sub.kind(), sub.start(), sub.end());
            prop_assert!(stored.is_ok(), "{} is malformed", sub);
        }
        let total: i64 = subs.iter().map(Period::days).sum();
        prop_assert_eq!(total, period.days());
        Ok(())
    }

    /// Sub-periods' UTC bounds chain and span the period's bounds.
    fn assert_bounds_chain(
        period: &Period,
        subs: &[Period],
        tz: &SiteTimeZone,
    ) -> Result<(), TestCaseError> {
        let bounds: Vec<(i64, i64)> = subs.iter().map(|p| p.utc_bounds(tz)).collect();
        for pair in bounds.windows(2) {
            prop_assert_eq!(pair[0].1, pair[1].0);
        }
        let (start, end) = period.utc_bounds(tz);
        prop_assert_eq!(bounds[0].0, start);
        prop_assert_eq!(bounds[bounds.len() - 1].1, end);
        Ok(())
    }

    proptest! {
        #[test]
        fn month_subperiods_cover(date in any_date()) {
            let tz = SiteTimeZone::parse("America/New_York");
            let m = Period::month(date);
            let subs = m.subperiods();
            assert_exact_cover(&m, &subs)?;
            assert_bounds_chain(&m, &subs, &tz)?;
            let w = Period::week(date);
            assert_exact_cover(&w, &w.subperiods())?;
        }

        #[test]
        fn year_subperiods_cover(date in any_date()) {
            let tz = SiteTimeZone::parse("Europe/London");
            let y = Period::year(date);
            let subs = y.subperiods();
            prop_assert_eq!(subs.len(), 12);
            assert_exact_cover(&y, &subs)?;
            assert_bounds_chain(&y, &subs, &tz)?;
        }

        #[test]
        fn range_subperiods_cover(start in any_date(), len in 0i64..1500, later in 1i64..2000) {
            let tz = SiteTimeZone::parse("America/New_York");
            let r = Period::range(start, start + Duration::days(len)).unwrap();
            let subs = r.subperiods();
            assert_exact_cover(&r, &subs)?;
            assert_bounds_chain(&r, &subs, &tz)?;
            // Any today after the end gives the same answer.
            prop_assert_eq!(r.subperiods_as_of(r.end() + Duration::days(later)), subs);
        }

        #[test]
        fn range_subperiods_as_of_any_today(
            start in any_date(),
            len in 0i64..800,
            shift in -900i64..900,
        ) {
            let r = Period::range(start, start + Duration::days(len)).unwrap();
            let today = r.end() + Duration::days(shift);
            let subs = r.subperiods_as_of(today);
            prop_assert!(!subs.is_empty());
            prop_assert_eq!(subs[0].start(), r.start());
            prop_assert!(subs[subs.len() - 1].end() >= r.end());
            for pair in subs.windows(2) {
                prop_assert_eq!(pair[0].end().next_day(), Some(pair[1].start()));
                prop_assert!(pair[0].end() < r.end());
            }
            // Days past the range are only ever ones without data yet.
            let last = subs[subs.len() - 1];
            if last.end() > r.end() {
                prop_assert!(r.end() >= today, "{} runs past {} with today {}", last, r, today);
            }
        }

        #[test]
        fn parse_never_panics(value in "\\PC{0,24}", kind in 0usize..5, shift in -20_000i64..3_000) {
            let kind = PeriodKind::ALL[kind];
            let today = TODAY + Duration::days(shift);
            if let Ok(selection) = parse_date_param(kind, &value, today) {
                prop_assert!(!selection.periods().is_empty());
            }
        }

        #[test]
        fn parse_structured_values(
            a in any_date(),
            b in any_date(),
            kind in 0usize..5,
            n in 0u64..3000,
        ) {
            let kind = PeriodKind::ALL[kind];
            for value in [format!("{a},{b}"), format!("{a}"), format!("last{n}"), format!("previous{n}")] {
                match parse_date_param(kind, &value, TODAY) {
                    Ok(selection) => {
                        let periods = selection.periods();
                        for pair in periods.windows(2) {
                            prop_assert_eq!(pair[0].end().next_day(), Some(pair[1].start()));
                        }
                    }
                    Err(err) => prop_assert!(err.to_string().contains(&value)),
                }
            }
        }
    }
}
