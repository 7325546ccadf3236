//! Data comparison (`compare=1` with `compareSegments[]`, `compareDates[]`
//! and `comparePeriods[]`), as Matomo's `DataComparisonFilter` and
//! `ComparisonRowGenerator` add it to a report.
//!
//! The report is asked again for every series: each compared date/period
//! (the request's own first) with each compared segment (the request's
//! own first), in that order. Every row of the answer gets a
//! `comparisons` table with one row per series: the numeric columns of the
//! row with the same label in that series' answer (zeros when it has
//! none), then the series' metadata. When periods are compared, each
//! series after the first period's gets `<column>_change` and
//! `<column>_change_from` against the first period's series of the same
//! segment (or the reverse with `invert_compare_change_compute=1`).

use tally_archiving::period::{DateSelection, parse_date_param, parse_period_kind};
use tally_datatable::format::round_php;
use tally_datatable::render::Report;
use tally_datatable::{ColumnKey, Columns, DataTable, Metadata, Row, Scalar, Value};

use crate::ReportingError;
use crate::formatting::{Mode, ReportMetrics, format_table, pretty_number};
use crate::output::Output;
use crate::present::ucfirst;
use crate::request::ApiRequest;

/// `[General] data_comparison_segment_limit` and
/// `data_comparison_period_limit`, at Matomo's defaults.
const SEGMENT_LIMIT: usize = 5;
const PERIOD_LIMIT: usize = 5;

/// The series a `compare=1` request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// The request's `segment` then `compareSegments[]`, as sent.
    segments: Vec<String>,
    /// The request's `period` then `comparePeriods[]`.
    periods: Vec<String>,
    /// The request's `date` then `compareDates[]`.
    dates: Vec<String>,
    /// `invert_compare_change_compute=1`: changes of the first period
    /// against the second instead of the others against the first.
    invert: bool,
}

/// One series' metadata (`getMetadataFromModifiedParams`).
#[derive(Debug, Clone)]
struct Series {
    segment: String,
    segment_pretty: String,
    period: String,
    date: String,
    period_pretty: String,
    /// `compareSeriesPretty`: named after the whole series even in the
    /// entries of a multi-period answer.
    series_pretty: String,
}

impl Series {
    /// The same series for one period of a multi-period answer
    /// (`addIndividualChildPrettifiedMetadata`).
    fn for_period(&self, period: &tally_archiving::Period) -> Self {
        Self {
            period: period.kind().name().to_owned(),
            date: period.start().to_string(),
            period_pretty: ucfirst(&crate::meta::long_string(period)),
            ..self.clone()
        }
    }

    fn metadata(&self) -> Metadata {
        let mut metadata = Metadata::new();
        for (name, value) in [
            ("compareSegment", self.segment.clone()),
            ("compareSegmentPretty", self.segment_pretty.clone()),
            ("comparePeriod", self.period.clone()),
            ("compareDate", self.date.clone()),
            ("comparePeriodPretty", self.period_pretty.clone()),
            ("compareSeriesPretty", self.series_pretty.clone()),
        ] {
            metadata.set(name.to_owned(), Scalar::Str(value));
        }
        metadata
    }
}

/// The values of an array parameter `name[]` (or `name[N]`), in order.
fn array_param<'r>(request: &'r ApiRequest, name: &str) -> Vec<&'r str> {
    request
        .pairs()
        .filter(|(key, _)| {
            key.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('['))
                .is_some_and(|rest| rest.ends_with(']'))
        })
        .map(|(_, value)| value)
        .collect()
}

/// Whether `date` with `period` names several periods
/// (`Period::isMultiplePeriod`): `lastN`, `previousN` or `d1,d2`, unless
/// the period is a range.
fn is_multiple_period(date: &str, period: &str) -> bool {
    if period == "range" {
        return false;
    }
    let last_n = ["last", "previous"].iter().any(|prefix| {
        date.strip_prefix(prefix)
            .is_some_and(|rest| rest.bytes().all(|byte| byte.is_ascii_digit()))
    });
    last_n || date.contains(',')
}

/// PHP's `urldecode`.
fn urldecode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `CalculateEvolutionFilter::calculate($current, $past, 1, true, true)`:
/// the change in percent to one decimal, `+` when not negative.
pub(crate) fn change_percent(current: f64, past: f64) -> String {
    let difference = current - past;
    let percent = if difference == 0.0 {
        0.0
    } else if past == 0.0 {
        100.0
    } else {
        round_php(difference / past * 100.0, 1)
    };
    let sign = if percent >= 0.0 { "+" } else { "" };
    format!("{sign}{}%", pretty_number(percent, 1))
}

impl Comparison {
    /// The comparison a request asks for: `None` without `compare=1` or
    /// when nothing is compared besides the request itself.
    ///
    /// # Errors
    /// Matomo's messages for too many segments or periods, for
    /// `compareDates[]` and `comparePeriods[]` of different lengths, for
    /// single periods compared with multiple ones (and the reverse), and
    /// for `invert_compare_change_compute=1` without exactly two periods.
    pub(crate) fn from_request(request: &ApiRequest) -> Result<Option<Self>, ReportingError> {
        let compare = request
            .get("compare")
            .map(|raw| Scalar::Str(raw.to_owned()).as_f64() == Some(1.0))
            .unwrap_or(false);
        if !compare {
            return Ok(None);
        }
        let own = |name: &str| request.get(name).unwrap_or("").to_owned();
        let mut segments = vec![own("segment")];
        segments.extend(
            array_param(request, "compareSegments")
                .into_iter()
                .map(str::to_owned),
        );
        if segments.len() > SEGMENT_LIMIT + 1 {
            return Err(ReportingError::NotSupported(format!(
                "The maximum number of segments that can be compared simultaneously is {SEGMENT_LIMIT}."
            )));
        }
        let mut dates = vec![own("date")];
        dates.extend(
            array_param(request, "compareDates")
                .into_iter()
                .map(str::to_owned),
        );
        let mut periods = vec![own("period")];
        periods.extend(
            array_param(request, "comparePeriods")
                .into_iter()
                .map(str::to_owned),
        );
        if dates.len() != periods.len() {
            return Err(ReportingError::NotSupported(
                "compareDates query parameter length must match comparePeriods query parameter length."
                    .to_owned(),
            ));
        }
        if dates.len() > PERIOD_LIMIT + 1 {
            return Err(ReportingError::NotSupported(format!(
                "The maximum number of periods that can be compared simultaneously is {PERIOD_LIMIT}."
            )));
        }
        if segments.len() == 1 && periods.len() == 1 {
            return Ok(None);
        }
        let multiple = is_multiple_period(&dates[0], &periods[0]);
        for (date, period) in dates.iter().zip(&periods).skip(1) {
            match (multiple, is_multiple_period(date, period)) {
                (true, false) => {
                    return Err(ReportingError::NotSupported(
                        "Cannot compare: original request is multiple period and cannot be compared with single periods."
                            .to_owned(),
                    ));
                }
                (false, true) => {
                    return Err(ReportingError::NotSupported(
                        "Cannot compare: original request is single period and cannot be compared with multiple periods."
                            .to_owned(),
                    ));
                }
                _ => {}
            }
        }
        let invert = request
            .get("invert_compare_change_compute")
            .and_then(|raw| Scalar::Str(raw.to_owned()).as_f64())
            == Some(1.0);
        if invert && periods.len() != 2 {
            return Err(ReportingError::NotSupported(
                "invert_compare_change_compute=1 can only be used when comparing two periods."
                    .to_owned(),
            ));
        }
        Ok(Some(Self {
            segments,
            periods,
            dates,
            invert,
        }))
    }

    /// The sub-request of series (`period_index`, `segment_index`)
    /// (`requestReport`): every row, unformatted, not compared again.
    fn series_request(
        &self,
        request: &ApiRequest,
        period_index: usize,
        segment_index: usize,
    ) -> Result<ApiRequest, ReportingError> {
        let mut sub = request
            .without("label")
            .without("label[]")
            .without("filter_sort_column");
        for (name, value) in [
            ("filter_limit", "-1"),
            ("filter_offset", "0"),
            ("filter_truncate", "-1"),
            ("compare", "0"),
            ("format_metrics", "0"),
            ("segment", self.segments[segment_index].as_str()),
            ("period", self.periods[period_index].as_str()),
            ("date", self.dates[period_index].as_str()),
        ] {
            sub.set(name, value);
        }
        let id_subtable = request
            .get("idSubtable")
            .and_then(|raw| raw.parse::<i64>().ok())
            .unwrap_or(0);
        if id_subtable > 0 {
            let ids: Vec<i64> = request
                .non_empty("comparisonIdSubtables")
                .and_then(|raw| serde_json::from_str(raw).ok())
                .unwrap_or_default();
            if ids.is_empty() {
                return Err(ReportingError::NotSupported(
                    "Comparing segments/periods with subtables only works when the comparison idSubtables are supplied as well."
                        .to_owned(),
                ));
            }
            let series = period_index * self.segments.len() + segment_index;
            let id = ids.get(series).ok_or_else(|| {
                ReportingError::NotSupported(format!(
                    "Invalid comparisonIdSubtables parameter: no idSubtable found for segment {segment_index} and period {period_index}"
                ))
            })?;
            sub.set("idSubtable", &id.to_string());
        }
        Ok(sub)
    }

    /// Adds the comparisons to `output`, the answer of `request`.
    /// `run` answers a sub-request with the same method; `segment_names`
    /// are the stored segments visible for the site (definition, name).
    ///
    /// # Errors
    /// Any error of a sub-request.
    pub(crate) fn apply(
        &self,
        request: &ApiRequest,
        output: Output,
        segment_names: &[(String, String)],
        today: time::Date,
        run: &mut dyn FnMut(&ApiRequest) -> Result<Output, ReportingError>,
    ) -> Result<Output, ReportingError> {
        let Output::Report(mut report) = output else {
            return Ok(output);
        };
        // Matomo's shortcut: an empty answer is not compared.
        if rows_count(&report) == 0 {
            return Ok(Output::Report(report));
        }
        // The request's own rows unformatted: a row missing from a series
        // gets the numeric columns of this one at zero.
        let mut raw_request = request.without("compare");
        raw_request.set("format_metrics", "0");
        let raw = match run(&raw_request)? {
            Output::Report(raw) => raw,
            _ => return Ok(Output::Report(report)),
        };
        let multiple = is_multiple_period(&self.dates[0], &self.periods[0]);
        for (period_index, (period, date)) in self.periods.iter().zip(&self.dates).enumerate() {
            for (segment_index, segment) in self.segments.iter().enumerate() {
                let segment_pretty = self.segment_pretty(segment, segment_names);
                let period_pretty = period_pretty(period, date, today);
                let series = Series {
                    segment: segment.clone(),
                    series_pretty: format!("({period_pretty}) ({segment_pretty})"),
                    segment_pretty,
                    period: period.clone(),
                    date: date.clone(),
                    period_pretty,
                };
                let sub = self.series_request(request, period_index, segment_index)?;
                let answer = match run(&sub)? {
                    Output::Report(answer) => Some(answer),
                    _ => None,
                };
                let periods = if multiple {
                    series_periods(period, date, today)
                } else {
                    Vec::new()
                };
                add_series(&mut report, &raw, answer.as_ref(), &series, &periods);
            }
        }
        if self.periods.len() > 1 {
            for_each_comparisons(&mut report, &mut |comparisons| {
                self.add_changes(comparisons);
            });
        }
        if Mode::from_request(request) != Mode::Off {
            // The percentages only: see docs/MATOMO-DIFFERENCES.md.
            for_each_comparisons(&mut report, &mut |comparisons| {
                format_table(comparisons, ReportMetrics::NONE, Mode::Percentages, "");
            });
        }
        Ok(Output::Report(report))
    }

    /// `getStoredSegmentName`: "All visits", a stored segment's name, or
    /// the definition URL-decoded.
    fn segment_pretty(&self, segment: &str, names: &[(String, String)]) -> String {
        if segment.is_empty() {
            return "All visits".to_owned();
        }
        let decoded = urldecode(segment);
        let encoded = crate::present::urlencode(segment);
        names
            .iter()
            .rev()
            .find(|(definition, _)| {
                *definition == segment || *definition == decoded || *definition == encoded
            })
            .map_or(decoded, |(_, name)| name.clone())
    }

    /// `compareChangePercents` on one row's comparisons.
    fn add_changes(&self, comparisons: &mut DataTable) {
        let segment_count = self.segments.len();
        let snapshot: Vec<Columns> = comparisons
            .rows()
            .iter()
            .map(|row| row.columns.clone())
            .collect();
        for (index, row) in comparisons.rows_mut().iter_mut().enumerate() {
            let period_index = index / segment_count;
            let segment_index = index % segment_count;
            let other_index = if self.invert {
                if period_index != 0 {
                    continue;
                }
                segment_count + segment_index
            } else {
                if index < segment_count {
                    continue;
                }
                segment_index
            };
            let Some(other) = snapshot.get(other_index) else {
                continue;
            };
            let own = snapshot[index].clone();
            for (key, value) in own.iter() {
                let name = key.name();
                let current = value.as_f64().unwrap_or(0.0);
                let past = column_value(other, &name);
                row.columns.set(
                    ColumnKey::Name(format!("{name}_change")),
                    Value::Str(change_percent(current, past)),
                );
                row.columns.set(
                    ColumnKey::Name(format!("{name}_change_from")),
                    Value::Str(change_percent(past, current)),
                );
            }
        }
    }
}

/// A column's number by name (`$value ?: 0`).
fn column_value(columns: &Columns, name: &str) -> f64 {
    columns
        .iter()
        .find(|(key, _)| key.name() == name)
        .and_then(|(_, value)| value.as_f64())
        .unwrap_or(0.0)
}

/// `Factory::build($period, $date)->getLocalizedLongString()`, first
/// letter upper-cased; a multi-period date names its whole span.
fn period_pretty(period: &str, date: &str, today: time::Date) -> String {
    let Ok(kind) = parse_period_kind(period) else {
        return date.to_owned();
    };
    match parse_date_param(kind, date, today) {
        Ok(DateSelection::One(one)) => ucfirst(&crate::meta::long_string(&one)),
        Ok(DateSelection::Many(many)) => match (many.first(), many.last()) {
            (Some(first), Some(last)) => tally_archiving::Period::range(first.start(), last.end())
                .map_or_else(
                    |_| date.to_owned(),
                    |range| ucfirst(&crate::meta::long_string(&range)),
                ),
            _ => date.to_owned(),
        },
        Err(_) => date.to_owned(),
    }
}

/// The periods of a multi-period series, in order.
fn series_periods(period: &str, date: &str, today: time::Date) -> Vec<tally_archiving::Period> {
    parse_period_kind(period)
        .ok()
        .and_then(|kind| parse_date_param(kind, date, today).ok())
        .map(|selection| selection.periods().to_vec())
        .unwrap_or_default()
}

/// `getRowsCount()` of a report, maps summed.
fn rows_count(report: &Report) -> usize {
    match report {
        Report::Table(table) => table.rows_count(),
        Report::Simple(_) | Report::SimpleCompared(..) => 1,
        Report::Map { entries, .. } => entries.iter().map(|(_, entry)| rows_count(entry)).sum(),
        Report::Rows(rows) => rows.len(),
        Report::Tree(_) => 1,
    }
}

/// Runs `f` on every comparisons table of `report`.
fn for_each_comparisons(report: &mut Report, f: &mut dyn FnMut(&mut DataTable)) {
    match report {
        Report::Table(table) => {
            for row in table.rows_mut() {
                if let Some(comparisons) = row.comparisons.as_deref_mut() {
                    f(comparisons);
                }
            }
            if let Some(row) = table.summary_row_mut()
                && let Some(comparisons) = row.comparisons.as_deref_mut()
            {
                f(comparisons);
            }
        }
        Report::SimpleCompared(_, comparisons) => f(comparisons),
        Report::Map { entries, .. } => {
            for (_, entry) in entries {
                for_each_comparisons(entry, f);
            }
        }
        _ => {}
    }
}

/// A simple report's own columns as first answered (empty when it was
/// something else) and the compared series' columns, `None` when that
/// series has no data.
fn simple_pair<'a>(raw: &Report, answer: Option<&'a Report>) -> (Columns, Option<&'a Columns>) {
    let raw_columns = match raw {
        Report::Simple(raw) | Report::SimpleCompared(raw, _) => raw.clone(),
        _ => Columns::new(),
    };
    let compared = match answer {
        Some(Report::Simple(found) | Report::SimpleCompared(found, _)) if !found.is_empty() => {
            Some(found)
        }
        _ => None,
    };
    (raw_columns, compared)
}

/// `ComparisonRowGenerator::compareTables`: maps entry by entry (by
/// position), tables row by row (by label).
fn add_series(
    report: &mut Report,
    raw: &Report,
    answer: Option<&Report>,
    series: &Series,
    periods: &[tally_archiving::Period],
) {
    match report {
        Report::Map { key_name, entries } => {
            let raw_entries = match raw {
                Report::Map { entries, .. } => entries.as_slice(),
                _ => &[],
            };
            let answer_entries = match answer {
                Some(Report::Map { entries, .. }) => entries.as_slice(),
                _ => &[],
            };
            let by_date = key_name == "date";
            for (index, (_, entry)) in entries.iter_mut().enumerate() {
                let raw_entry = raw_entries.get(index).map(|(_, raw)| raw);
                let answer_entry = answer_entries.get(index).map(|(_, answer)| answer);
                let child = match periods.get(index) {
                    Some(period) if by_date => series.for_period(period),
                    _ => series.clone(),
                };
                let child_periods = if by_date { &[][..] } else { periods };
                match raw_entry {
                    Some(raw_entry) => {
                        add_series(entry, raw_entry, answer_entry, &child, child_periods);
                    }
                    None => add_series(
                        entry,
                        &Report::Rows(Vec::new()),
                        answer_entry,
                        &child,
                        child_periods,
                    ),
                }
            }
        }
        Report::Simple(columns) => {
            let (raw_columns, compared) = simple_pair(raw, answer);
            let mut comparisons = DataTable::new();
            push_row(&mut comparisons, &raw_columns, compared, None, None, series);
            *report = Report::SimpleCompared(std::mem::take(columns), Box::new(comparisons));
        }
        Report::SimpleCompared(_, comparisons) => {
            let (raw_columns, compared) = simple_pair(raw, answer);
            push_row(comparisons, &raw_columns, compared, None, None, series);
        }
        Report::Table(table) => {
            let raw_table = match raw {
                Report::Table(raw) => Some(raw),
                _ => None,
            };
            let answer_table = match answer {
                Some(Report::Table(answer)) => Some(answer),
                _ => None,
            };
            for row in table.rows_mut() {
                compare_row(row, raw_table, answer_table, series);
            }
            if let Some(row) = table.summary_row_mut() {
                compare_row(row, raw_table, answer_table, series);
            }
        }
        _ => {}
    }
}

/// One table row's comparison row for `series`.
fn compare_row(
    row: &mut Row,
    raw: Option<&DataTable>,
    answer: Option<&DataTable>,
    series: &Series,
) {
    let raw_columns = raw
        .and_then(|raw| raw.row_by_label(&row.label))
        .map_or_else(|| row.columns.clone(), |raw| raw.columns.clone());
    let found = answer.and_then(|answer| answer.row_by_label(&row.label));
    let segment = match row.metadata.get("segment") {
        Some(Scalar::Str(segment)) if !segment.is_empty() => Some(segment.clone()),
        _ => None,
    };
    let comparisons = row.comparisons.get_or_insert_with(Box::default);
    push_row(
        comparisons,
        &raw_columns,
        found.map(|found| &found.columns),
        found.and_then(|found| found.subtable_id),
        segment,
        series,
    );
}

/// Appends a comparison row: `compared`'s numeric columns, or `own`'s at
/// zero, then the series metadata, the series' subtable id (-1 for none)
/// and the row's segment with the series' segment before it.
fn push_row(
    comparisons: &mut DataTable,
    own: &Columns,
    compared: Option<&Columns>,
    subtable_id: Option<u32>,
    segment: Option<String>,
    series: &Series,
) {
    let mut row = Row::new("");
    match compared {
        Some(columns) => {
            for (key, value) in columns.iter() {
                if value.as_f64().is_some() {
                    row.columns.set(key.clone(), value.clone());
                }
            }
        }
        None => {
            for (key, value) in own.iter() {
                if value.as_f64().is_some() {
                    row.columns.set(key.clone(), Value::Int(0));
                }
            }
        }
    }
    row.metadata = series.metadata();
    row.metadata.set(
        "idsubdatatable".to_owned(),
        Scalar::Int(subtable_id.map_or(-1, i64::from)),
    );
    if let Some(segment) = segment {
        let combined = if series.segment.is_empty() {
            segment
        } else {
            format!("{};{segment}", series.segment)
        };
        row.metadata
            .set("segment".to_owned(), Scalar::Str(combined));
    }
    // Comparison rows have no label (all empty): appended in order, never
    // looked up by label.
    let mut rows = comparisons.take_rows();
    rows.push(row);
    *comparisons = DataTable::from_rows(rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_have_one_decimal_and_a_sign() {
        assert_eq!(change_percent(8.0, 34.0), "-76.5%");
        assert_eq!(change_percent(34.0, 8.0), "+325%");
        assert_eq!(change_percent(34.0, 3.0), "+1,033.3%");
        assert_eq!(change_percent(0.0, 0.0), "+0%");
        assert_eq!(change_percent(8.0, 0.0), "+100%");
        assert_eq!(change_percent(0.0, 8.0), "-100%");
        assert_eq!(change_percent(1.0, 0.94), "+6.4%");
        assert_eq!(change_percent(0.94, 1.0), "-6%");
    }

    #[test]
    fn multiple_periods_are_date_lists_and_last_n_outside_ranges() {
        assert!(is_multiple_period("2012-08-09,2012-08-16", "day"));
        assert!(is_multiple_period("last7", "week"));
        assert!(!is_multiple_period("2012-08-09,2012-08-16", "range"));
        assert!(!is_multiple_period("2012-08-10", "day"));
    }

    #[test]
    fn urldecode_reads_percent_escapes_and_plus() {
        assert_eq!(urldecode("browserCode%3D%3Dff"), "browserCode==ff");
        assert_eq!(urldecode("a+b%2"), "a b%2");
    }
}
