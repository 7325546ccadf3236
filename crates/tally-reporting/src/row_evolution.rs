//! `API.getRowEvolution`: how one row of a report, or several, evolved
//! over the periods of a multi-period date (Matomo's `RowEvolution`).
//!
//! The report is run once for every period (`filter_limit=-1`), then each
//! period's table is reduced to the rows of the requested labels as
//! Matomo's `LabelFilter` finds them: `>` separates a path through
//! subtables, asked of the method answering them (`actionToLoadSubTables`)
//! for that period, and each part is URL-decoded and tried escaped first. One label answers the row's
//! metrics per period; several labels (or none: every label of the report)
//! answer one metric, `column`, per label as `<column>_<index>`. Both come
//! with metadata: each metric's name, its minimum and maximum from the
//! first period where it is not 0 on, and its change between the first and
//! the last period.

use tally_archiving::period::{DateSelection, parse_date_param, parse_period_kind};
use tally_archiving::{Period, SiteInfo};
use tally_datatable::format::safe_decode_label;
use tally_datatable::render::{Report, Tree};
use tally_datatable::{ColumnKey, Columns, DataTable, Row, Scalar, Value};
use tally_tracking::php::{sanitize_input_value, urldecode};

use crate::ReportingError;
use crate::formatting::pretty_number;
use crate::meta::{self, EvolutionMeta};
use crate::methods::{self, Ctx};
use crate::output::Output;
use crate::request::ApiRequest;

/// The Actions reports whose labels are URL paths: a label without a URL
/// is shown as one (`RowEvolution::$actionsUrlReports`).
const ACTIONS_URL_REPORTS: [&str; 5] = [
    "getPageUrls",
    "getPageUrlsFollowingSiteSearch",
    "getEntryPageUrls",
    "getExitPageUrls",
    "getPageUrl",
];

/// The reports whose labels may start with a blank `LabelFilter` also
/// tries (page titles).
const PAGE_TITLE_REPORTS: [&str; 3] = ["getPageTitles", "getEntryPageTitles", "getExitPageTitles"];

/// `LabelFilter::SEPARATOR_RECURSIVE_LABEL`.
const SEPARATOR: char = '>';

/// `LabelFilter::TERMINAL_OPERATOR`: a leading `@` asks for a leaf row.
const TERMINAL: char = '@';

/// The report a row evolution reads, and how its labels are found.
struct Target<'a> {
    module: &'a str,
    action: &'a str,
}

impl Target<'_> {
    fn page_titles(&self) -> bool {
        self.module == "Actions" && PAGE_TITLE_REPORTS.contains(&self.action)
    }

    fn url_labels(&self) -> bool {
        self.module == "Actions" && ACTIONS_URL_REPORTS.contains(&self.action)
    }

    /// `getRowUrlForEvolutionLabel`: an Actions row or a referrer website
    /// is named by its URL, without scheme and `www.`.
    fn url_label(&self, row: &Row, use_absolute_url: bool) -> Option<String> {
        if !use_absolute_url
            || !(self.module == "Actions"
                || (self.module == "Referrers" && self.action == "getWebsites"))
        {
            return None;
        }
        let url = match row.metadata.get("url")? {
            Scalar::Str(url) if !url.is_empty() => url.as_str(),
            _ => return None,
        };
        Some(strip_scheme(url).to_owned())
    }
}

/// `preg_replace(';^http(s)?://(www.)?;i', '', $url)` (the `.` matches any
/// character, as in Matomo's pattern).
fn strip_scheme(url: &str) -> &str {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return url;
    };
    // `(www.)?`: `www` and any one character.
    match rest.get(4..) {
        Some(after) if rest.as_bytes()[..3].eq_ignore_ascii_case(b"www") => after,
        _ => rest,
    }
}

/// `API.getRowEvolution(idSite, period, date, apiModule, apiAction, label,
/// segment, column, idGoal, legendAppendMetric, labelUseAbsoluteUrl,
/// idDimension)`.
pub(crate) fn row_evolution(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let request = ctx.request;
    // Matomo checks the required parameters in its signature's order.
    let raw_site = ctx.required("idSite")?.trim().to_owned();
    let period = ctx.required("period")?.to_owned();
    let date = ctx.required("date")?.to_owned();
    let module = ctx.required("apiModule")?.to_owned();
    let action = ctx.required("apiAction")?.to_owned();
    let idsite = raw_site
        .parse::<u32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ReportingError::InvalidParameter {
            name: "idSite".to_owned(),
            reason: format!("'{raw_site}' is not a site id (a row evolution reads one site)"),
        })?;
    // Also checks view access.
    let main_url = tally_management::get_site(ctx.conn, ctx.principal, idsite)?.main_url;
    let site = SiteInfo::load(ctx.conn, idsite)?;

    // A range is evolved day by day.
    let period = if period == "range" {
        "day".to_owned()
    } else {
        period
    };
    let kind = parse_period_kind(&period)?;
    let today = site.timezone.local_date(ctx.loader.now.unix_timestamp());
    let DateSelection::Many(period_list) = parse_date_param(kind, &date, today)? else {
        return Err(ReportingError::NotSupported(
            "Row evolutions can not be processed with this combination of \\'date\\' and \\'period\\' parameters."
                .to_owned(),
        ));
    };

    let labels = requested_labels(request.get("label").unwrap_or(""));
    let unknown = || ReportingError::UnknownReport {
        module: module.clone(),
        action: action.clone(),
        idsite,
    };
    let meta = meta::evolution_meta(&module, &action).ok_or_else(unknown)?;
    let handler = methods::find(&module, &action).ok_or_else(unknown)?;
    if meta.dimension.is_none() {
        return Err(ReportingError::NotSupported(format!(
            "Reports like {module}.{action} which do not have a dimension are not supported by row evolution"
        )));
    }

    // The report's own request: Matomo's sub-request inherits the outer
    // parameters (`filter_sort_column`, `flat`, `idGoal`, `segment`...)
    // and overrides these.
    let mut inner = request.without("label").without("label[]");
    inner.set("method", &format!("{module}.{action}"));
    inner.set("idSite", &idsite.to_string());
    inner.set("period", &period);
    // Row evolutions are never limited.
    inner.set("filter_limit", "-1");
    if meta.metrics.iter().any(|(name, _)| *name == "nb_visits") {
        // The visit reports' processed metrics, without deleting rows.
        inner.set("filter_add_columns_when_show_all_columns", "0");
    }
    let mut inner_ctx = Ctx {
        conn: &mut *ctx.conn,
        principal: ctx.principal,
        loader: ctx.loader.clone(),
        request: &inner,
    };
    let output = handler(&mut inner_ctx)?;
    let periods = period_tables(output, &module, &action)?;

    let target = Target {
        module: &module,
        action: &action,
    };
    let (labels, found) = if labels.is_empty() {
        // Every label of the report, in the order met, `filter_limit`
        // of them when given.
        let mut all: Vec<String> = Vec::new();
        for (_, table) in &periods {
            for row in table.all_rows() {
                if !all.contains(&row.label) {
                    all.push(row.label.clone());
                }
            }
        }
        if let Some(limit) = request
            .non_empty("filter_limit")
            .and_then(|limit| limit.trim().parse::<i64>().ok())
            .and_then(|limit| usize::try_from(limit).ok())
            .filter(|limit| *limit > 0)
        {
            all.truncate(limit);
        }
        let found = periods
            .iter()
            .map(|(_, table)| {
                all.iter()
                    .map(|label| table.all_rows().find(|row| row.label == *label).cloned())
                    .collect()
            })
            .collect();
        (all, found)
    } else {
        // A path's subtables are asked of the method answering them, with
        // the report's parameters (`LabelFilter::loadSubtable`).
        let subtable_method = format!(
            "{module}.{}",
            meta.subtable_action.unwrap_or(action.as_str())
        );
        let mut sub_request = inner
            .without("expanded")
            .without("flat")
            .without("filter_sort_column");
        sub_request.set("method", &subtable_method);
        let mut subtables = Subtables {
            ctx,
            handler: methods::find(&module, meta.subtable_action.unwrap_or(action.as_str())),
            request: sub_request,
            period: None,
        };
        let mut found = Vec::with_capacity(periods.len());
        for ((_, table), period) in periods.iter().zip(&period_list) {
            subtables.period = Some(*period);
            let mut rows = Vec::with_capacity(labels.len());
            for label in &labels {
                rows.push(find_row(table, label, &target, &mut subtables)?);
            }
            found.push(rows);
        }
        (labels, found)
    };
    let keys: Vec<String> = periods.into_iter().map(|(key, _)| key).collect();
    let answer = if labels.len() == 1 {
        single(request, &main_url, &target, meta, &labels[0], keys, found)
    } else {
        multi(request, &target, meta, &labels, keys, found)
    };
    Ok(Output::Report(Report::Tree(answer)))
}

/// The labels of `label=`: a comma list (`&gt;` read as `>`, since
/// Matomo's parameter sanitizing escapes it), each once.
fn requested_labels(raw: &str) -> Vec<String> {
    if raw.is_empty() {
        return Vec::new();
    }
    let raw = raw.replace("&gt;", ">");
    let mut labels: Vec<String> = Vec::new();
    for label in raw.split(',') {
        if !labels.iter().any(|known| known == label) {
            labels.push(label.to_owned());
        }
    }
    labels
}

/// Each period's key and table from the report's answer.
fn period_tables(
    output: Output,
    module: &str,
    action: &str,
) -> Result<Vec<(String, DataTable)>, ReportingError> {
    let not_a_table = || {
        ReportingError::NotSupported(format!(
            "Reports like {module}.{action} which do not have a dimension are not supported by row evolution"
        ))
    };
    let Output::Report(Report::Map { entries, .. }) = output else {
        return Err(not_a_table());
    };
    entries
        .into_iter()
        .map(|(key, report)| match report {
            Report::Table(table) => Ok((key, table)),
            _ => Err(not_a_table()),
        })
        .collect()
}

/// `LabelFilter::getLabelVariations`: the forms of a label tried, in
/// order: escaped (as labels are stored), with a leading blank for page
/// titles, then as given. Each is URL-decoded once.
fn variations(original: &str, target: &Target<'_>) -> Vec<String> {
    let original = original.trim();
    let (terminal, original) = match original.strip_prefix(TERMINAL) {
        Some(rest) => (true, rest),
        None => (false, original),
    };
    let label = urldecode(original).trim().to_owned();
    let sanitized = sanitize_input_value(&label);
    let mut out = vec![sanitized.clone()];
    if target.page_titles() {
        if terminal {
            out.insert(0, format!(" {sanitized}"));
            out.insert(0, format!(" {label}"));
        } else {
            out.push(format!(" {sanitized}"));
            out.push(format!(" {label}"));
        }
    }
    out.push(label);
    let mut unique: Vec<String> = Vec::with_capacity(out.len());
    for variation in out {
        if !unique.contains(&variation) {
            unique.push(variation);
        }
    }
    unique
}

/// Loads the subtables a label's path goes through, for one period.
struct Subtables<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    /// The method answering subtables (none: paths lead nowhere).
    handler: Option<methods::Handler>,
    /// Its request, without `date` and `idSubtable`.
    request: ApiRequest,
    period: Option<Period>,
}

impl Subtables<'_, '_> {
    /// The subtable of `row` for the current period, if it has one.
    fn load(&mut self, row: &Row) -> Result<Option<DataTable>, ReportingError> {
        let (Some(handler), Some(period), Some(id)) = (self.handler, self.period, row.subtable_id)
        else {
            return Ok(None);
        };
        let mut request = self.request.clone();
        request.set("date", &period.start().to_string());
        request.set("idSubtable", &id.to_string());
        let mut ctx = Ctx {
            conn: &mut *self.ctx.conn,
            principal: self.ctx.principal,
            loader: self.ctx.loader.clone(),
            request: &request,
        };
        Ok(match handler(&mut ctx)? {
            Output::Report(Report::Table(table)) => Some(table),
            _ => None,
        })
    }
}

/// `LabelFilter::manipulateDataTable` for one label: the row at the end
/// of the first form of the label whose path leads to one.
fn find_row(
    table: &DataTable,
    label: &str,
    target: &Target<'_>,
    subtables: &mut Subtables<'_, '_>,
) -> Result<Option<Row>, ReportingError> {
    // Matomo URL-decodes the label it was sent once more than the label
    // parameter is (its sub-request encodes it), so the whole label is
    // tried as given; its parts are decoded in `descend`.
    let trimmed = label.trim();
    let sanitized = sanitize_input_value(trimmed);
    let mut forms = vec![sanitized.as_str()];
    if trimmed != sanitized {
        forms.push(trimmed);
    }
    for form in forms {
        let parts: Vec<&str> = form.split(SEPARATOR).collect();
        if let Some(row) = descend(table, &parts, target, subtables)? {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// `doFilterRecursiveDescend`: the row at the end of `parts`.
fn descend(
    table: &DataTable,
    parts: &[&str],
    target: &Target<'_>,
    subtables: &mut Subtables<'_, '_>,
) -> Result<Option<Row>, ReportingError> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(None);
    };
    let Some(row) = variations(first, target).iter().find_map(|variation| {
        table
            .all_rows()
            .filter(|row| !row.label.is_empty() && row.label == *variation)
            .last()
    }) else {
        return Ok(None);
    };
    if rest.is_empty() {
        return Ok(Some(row.clone()));
    }
    match subtables.load(row)? {
        Some(subtable) => descend(&subtable, rest, target, subtables),
        None => Ok(None),
    }
}

/// PHP's `floatval` of a column: a leading number, 0 without one.
fn floatval(value: Option<&Value>) -> f64 {
    match value {
        Some(Value::Int(number)) => *number as f64,
        Some(Value::Float(number)) => *number,
        Some(Value::Str(text)) => leading_number(text),
        _ => 0.0,
    }
}

/// The longest prefix of `text` (after blanks) that reads as a decimal
/// number, as PHP's string to float conversion takes it.
fn leading_number(text: &str) -> f64 {
    let text = text.trim_start();
    let bytes = text.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let digits_from = end;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    if bytes.get(end) == Some(&b'.') {
        end += 1;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    if end == digits_from || text[digits_from..end] == *"." {
        return 0.0;
    }
    let mut number_end = end;
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut exponent = end + 1;
        if matches!(bytes.get(exponent), Some(b'+' | b'-')) {
            exponent += 1;
        }
        let exponent_digits = exponent;
        while bytes.get(exponent).is_some_and(u8::is_ascii_digit) {
            exponent += 1;
        }
        if exponent > exponent_digits {
            number_end = exponent;
        }
    }
    text[..number_end].parse::<f64>().unwrap_or(0.0)
}

/// A column of a row by its output name.
fn column<'r>(row: &'r Row, name: &str) -> Option<&'r Value> {
    row.columns
        .iter()
        .find(|(key, _)| key.name() == name)
        .map(|(_, value)| value)
}

/// Whether a boolean parameter defaulting to true is on.
fn flag(request: &ApiRequest, name: &str) -> bool {
    match request.get(name) {
        None => true,
        Some(value) => matches!(value.trim(), "1" | "true"),
    }
}

/// `RowEvolution::getSingleRowEvolution`: the row's metrics per period,
/// its display label and logo.
fn single(
    request: &ApiRequest,
    main_url: &str,
    target: &Target<'_>,
    meta: EvolutionMeta,
    label: &str,
    keys: Vec<String>,
    found: Vec<Vec<Option<Row>>>,
) -> Tree {
    let use_absolute_url = flag(request, "labelUseAbsoluteUrl");
    let mut logo = None;
    let mut actual: Option<String> = None;
    let mut url_found = false;
    let mut values: Vec<Option<Columns>> = Vec::with_capacity(found.len());
    for rows in found {
        let Some(row) = rows.into_iter().next().flatten() else {
            values.push(None);
            continue;
        };
        if actual.as_deref().is_none_or(str::is_empty) {
            logo = match row.metadata.get("logo") {
                Some(Scalar::Str(logo)) if !logo.is_empty() => Some(logo.clone()),
                _ => None,
            };
            let url = target.url_label(&row, use_absolute_url);
            url_found = url.is_some();
            actual = Some(
                url.filter(|url| !url.is_empty())
                    .unwrap_or(row.label.clone()),
            );
        }
        // Only the report's metrics, in the row's order; the label goes
        // too (it was asked for, and would name the graph's series).
        let columns: Columns = row
            .columns
            .iter()
            .filter(|(key, _)| meta.metrics.iter().any(|(name, _)| key.name() == *name))
            .map(|(key, value)| (ColumnKey::from(key.name().into_owned()), value.clone()))
            .collect();
        values.push(Some(columns));
    }
    let actual = if url_found {
        actual.unwrap_or_default()
    } else {
        // A path, or a label without a URL, is shown as asked.
        let label = request.non_empty("labelPretty").unwrap_or(label);
        display_label(main_url, target, label)
    };
    let firsts: Vec<Option<&Columns>> = values.iter().map(Option::as_ref).collect();
    let metrics = metrics_metadata(
        meta.metrics
            .iter()
            .map(|(name, title)| ((*name).to_owned(), (*title).to_owned(), None))
            .collect(),
        &firsts,
    );
    let report = Report::Map {
        key_name: "date".to_owned(),
        entries: keys
            .into_iter()
            .zip(values)
            .map(|(key, columns)| (key, Report::Rows(columns.into_iter().collect())))
            .collect(),
    };
    let mut fields = vec![
        ("label".to_owned(), Tree::Str(safe_decode_label(&actual))),
        ("reportData".to_owned(), Tree::Report(Box::new(report))),
        (
            "metadata".to_owned(),
            Tree::Assoc(vec![
                ("metrics".to_owned(), metrics),
                (
                    "dimension".to_owned(),
                    Tree::Str(meta.dimension.unwrap_or_default().to_owned()),
                ),
            ]),
        ),
    ];
    if let Some(logo) = logo {
        fields.push(("logo".to_owned(), Tree::Str(logo)));
    }
    Tree::Assoc(fields)
}

/// `formatQueryLabelForDisplay`: a path as a URL on the site's host for
/// the Actions URL reports, else its parts joined by ` - `; without `@`.
fn display_label(main_url: &str, target: &Target<'_>, label: &str) -> String {
    let shown = if target.url_labels() {
        let host = main_url
            .split_once("://")
            .map_or(main_url, |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned();
        let path = label
            .split(SEPARATOR)
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("/");
        format!("{host}/{path}/")
    } else {
        label.replace(SEPARATOR, " - ")
    };
    shown.replace(TERMINAL, "")
}

/// `getMultiRowEvolution`: one metric of every label per period.
fn multi(
    request: &ApiRequest,
    target: &Target<'_>,
    meta: EvolutionMeta,
    labels: &[String],
    keys: Vec<String>,
    found: Vec<Vec<Option<Row>>>,
) -> Tree {
    let use_absolute_url = flag(request, "labelUseAbsoluteUrl");
    let append_metric = flag(request, "legendAppendMetric");
    // An unknown column is the report's first metric.
    let column_name = request
        .get("column")
        .filter(|column| meta.metrics.iter().any(|(name, _)| name == column))
        .or_else(|| meta.metrics.first().map(|(name, _)| *name))
        .unwrap_or_default()
        .to_owned();
    let column_title = meta
        .metrics
        .iter()
        .find(|(name, _)| *name == column_name)
        .map(|(_, title)| *title)
        .unwrap_or_default();
    let pretty: Vec<&str> = request
        .non_empty("labelPretty")
        .map(|pretty| pretty.split(',').collect())
        .unwrap_or_default();

    let mut series = Vec::with_capacity(labels.len());
    for (index, label) in labels.iter().enumerate() {
        let pretty = pretty
            .get(index)
            .copied()
            .filter(|pretty| !pretty.is_empty());
        let mut actual: Option<String> = None;
        let mut logo = None;
        for rows in &found {
            match rows.get(index).and_then(Option::as_ref) {
                Some(row) => {
                    actual = target.url_label(row, use_absolute_url);
                    if let Some(pretty) = pretty {
                        actual = Some(pretty.to_owned());
                    }
                    logo = match row.metadata.get("logo") {
                        Some(Scalar::Str(logo)) if !logo.is_empty() => Some(logo.clone()),
                        _ => None,
                    };
                    if actual.as_deref().is_some_and(|actual| !actual.is_empty()) {
                        break;
                    }
                }
                None => {
                    if let Some(pretty) = pretty {
                        actual = Some(pretty.to_owned());
                    }
                }
            }
        }
        let mut name = match actual.filter(|actual| !actual.is_empty()) {
            Some(actual) => actual,
            // `cleanOriginalLabel`.
            None => safe_decode_label(&label.replace(SEPARATOR, " - ")),
        };
        if append_metric {
            name.push_str(&format!(" ({column_title})"));
        }
        series.push((format!("{column_name}_{index}"), name, logo));
    }

    let mut rows: Vec<Option<Columns>> = Vec::with_capacity(found.len());
    for period_rows in &found {
        if labels.is_empty() {
            // No labels, no data: each period is an empty table.
            rows.push(None);
            continue;
        }
        let mut columns = Columns::new();
        for (index, (series_name, _, _)) in series.iter().enumerate() {
            let value = match period_rows.get(index).and_then(Option::as_ref) {
                // `floatVal(str_replace(',', '.', $value))`.
                Some(row) => {
                    let value = column(row, &column_name).map(|value| match value {
                        Value::Str(text) => Value::Str(text.replace(',', ".")),
                        other => other.clone(),
                    });
                    Value::Float(floatval(value.as_ref()))
                }
                None => Value::Int(0),
            };
            columns.set(ColumnKey::from(series_name.clone()), value);
        }
        rows.push(Some(columns));
    }
    let firsts: Vec<Option<&Columns>> = rows.iter().map(Option::as_ref).collect();
    let metrics = metrics_metadata(series, &firsts);
    let report = Report::Map {
        key_name: "date".to_owned(),
        entries: keys
            .into_iter()
            .zip(rows)
            .map(|(key, columns)| (key, Report::Rows(columns.into_iter().collect())))
            .collect(),
    };
    let columns = Tree::Assoc(
        meta.metrics
            .iter()
            .map(|(name, title)| ((*name).to_owned(), Tree::Str((*title).to_owned())))
            .collect(),
    );
    Tree::Assoc(vec![
        ("column".to_owned(), Tree::Str(column_name)),
        ("reportData".to_owned(), Tree::Report(Box::new(report))),
        (
            "metadata".to_owned(),
            Tree::Assoc(vec![
                ("metrics".to_owned(), metrics),
                (
                    "dimension".to_owned(),
                    Tree::Str(meta.dimension.unwrap_or_default().to_owned()),
                ),
                ("columns".to_owned(), columns),
            ]),
        ),
    ])
}

/// `enhanceRowEvolutionMetaData`: for each metric `(name, title, logo)`,
/// its title and logo, the minimum and maximum over the periods from the
/// first where it is above 0 (a period without a row counts 0), and its
/// change from the first period to the last unless the first is 0.
fn metrics_metadata(
    metrics: Vec<(String, String, Option<String>)>,
    periods: &[Option<&Columns>],
) -> Tree {
    let value = |columns: Option<&Columns>, name: &str| -> f64 {
        columns.map_or(0.0, |columns| {
            floatval(
                columns
                    .iter()
                    .find(|(key, _)| key.name() == name)
                    .map(|(_, value)| value),
            )
        })
    };
    let mut out = Vec::with_capacity(metrics.len());
    for (name, title, logo) in metrics {
        let mut fields = vec![("name".to_owned(), Tree::Str(title))];
        if let Some(logo) = logo {
            fields.push(("logo".to_owned(), Tree::Str(logo)));
        }
        let mut range: Option<(f64, f64)> = None;
        for columns in periods {
            let value = value(*columns, &name);
            if range.is_none() && value <= 0.0 {
                continue;
            }
            range = Some(match range {
                None => (value, value),
                Some((min, max)) => (min.min(value), max.max(value)),
            });
        }
        if let Some((min, max)) = range {
            fields.push(("min".to_owned(), Tree::Float(min)));
            fields.push(("max".to_owned(), Tree::Float(max)));
        }
        let first = periods
            .first()
            .map_or(0.0, |columns| value(*columns, &name));
        let last = periods.last().map_or(0.0, |columns| value(*columns, &name));
        if first != 0.0 {
            fields.push(("change".to_owned(), Tree::Str(change(last, first))));
        }
        out.push((name, Tree::Assoc(fields)));
    }
    Tree::Assoc(out)
}

/// `CalculateEvolutionFilter::calculate($last, $first, 0, true, true)`:
/// the change in percent, rounded, with `+` when not negative: `+0%`,
/// `-100%`, `+1,150%`.
fn change(last: f64, first: f64) -> String {
    let difference = last - first;
    let percent = if difference == 0.0 {
        0.0
    } else {
        (difference / first * 100.0).round()
    };
    let sign = if percent >= 0.0 { "+" } else { "" };
    format!("{sign}{}%", pretty_number(percent, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_rounded_percentages_with_their_sign() {
        assert_eq!(change(3.0, 3.0), "+0%");
        assert_eq!(change(0.0, 1.0), "-100%");
        assert_eq!(change(2.0, 1.0), "+100%");
        assert_eq!(change(25.0, 2.0), "+1,150%");
        assert_eq!(change(1.0, 3.0), "-67%");
    }

    #[test]
    fn floatval_reads_leading_numbers() {
        let text = |text: &str| floatval(Some(&Value::Str(text.to_owned())));
        assert_eq!(text("100%"), 100.0);
        assert_eq!(text("33.5%"), 33.5);
        assert_eq!(text(" -2e2x"), -200.0);
        assert_eq!(text("abc"), 0.0);
        assert_eq!(text("."), 0.0);
        assert_eq!(floatval(Some(&Value::Int(7))), 7.0);
        assert_eq!(floatval(None), 0.0);
    }

    #[test]
    fn urls_lose_their_scheme_and_www() {
        assert_eq!(
            strip_scheme("http://www.referrer0.com/theReferrerPage1.html"),
            "referrer0.com/theReferrerPage1.html"
        );
        assert_eq!(strip_scheme("HTTPS://example.org/a"), "example.org/a");
        assert_eq!(strip_scheme("ftp://example.org/"), "ftp://example.org/");
    }

    #[test]
    fn labels_are_split_on_commas_once_each() {
        assert_eq!(
            requested_labels("a&gt;b,c,a&gt;b"),
            vec!["a>b".to_owned(), "c".to_owned()]
        );
        assert!(requested_labels("").is_empty());
    }
}
