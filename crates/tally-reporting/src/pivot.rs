//! `pivotBy`, `pivotByColumn` and `pivotByColumnLimit`: Matomo's
//! `PivotByDimension` filter, run by `DataTablePostProcessor` before the
//! totals, `flat` and the generic filters.
//!
//! Each row of the report keeps its label and gets one column per row of
//! its subtable, named by that row's label and holding its `pivotByColumn`
//! value (by default the first column of the report's first row). Columns
//! are ordered by their total over all rows, descending (ties by name, as
//! `strcmp`), and limited to `pivotByColumnLimit` (default 10, Matomo's
//! `pivot_by_filter_default_column_limit`; negative is no limit), the last
//! kept place going to an `Others` column summing the columns cut off. A
//! row lacks nothing: a column its subtable has no row for holds PHP
//! `false`. The names are numbered (`1.\u{a0}Google`) by a queued filter,
//! so after sorting and before column deletion, and not at all under
//! `disable_queued_filters=1`. The filter also clears the queued filters
//! queued before it: the summary row keeps its raw label `-1`, and the
//! presentation Matomo's report methods queue (the `Keyword not defined`
//! label, the search engines' `url` and `logo`) never happens.
//!
//! A row's table of the pivot dimension is its subtable when the pivot
//! dimension is the report's subtable dimension (the dimension of the
//! report its `actionToLoadSubTables` names). Otherwise, only with
//! `pivot_by_filter_enable_fetch_by_segment` (off by default, as in
//! Matomo), it is the pivot dimension's report asked again with the row's
//! segment added to the request's ([`Source::Segment`]).

use tally_datatable::{ColumnKey, Columns, DataTable, Row, Scalar, Value};

use crate::ReportingError;
use crate::request::ApiRequest;

/// `pivot_by_filter_default_column_limit` in Matomo's `global.ini.php`.
const DEFAULT_COLUMN_LIMIT: i64 = 10;

/// The name of the column holding the columns cut off (`General_Others`).
const OTHERS: &str = "Others";

/// A validated pivot request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pivot {
    /// `pivotByColumn`; `None` takes the first column of the first row.
    column: Option<String>,
    /// Columns kept (the `Others` column included); `None` is no limit.
    limit: Option<usize>,
    /// Where each row's table of the pivot dimension comes from.
    pub(crate) source: Source,
}

/// Where a row's table of the pivot dimension comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The row's subtable.
    Subtable,
    /// The pivot dimension's report (`Report::getForDimension`), asked with
    /// the row's segment: `method` and its own parameters, and the segment
    /// name of the pivoted report's dimension for rows without a `segment`.
    Segment {
        method: String,
        params: Vec<(String, String)>,
        segment_name: String,
    },
}

/// The pivoted columns in their final order, for the numbering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PivotColumns {
    names: Vec<String>,
}

impl Pivot {
    /// The pivot the request asks of the report `method` (`Module.action`),
    /// `None` without `pivotBy`.
    ///
    /// # Errors
    ///
    /// [`ReportingError::NotSupported`] with Matomo's messages, checked in
    /// its order: an unknown dimension, a method without a report, a report
    /// without a subtable dimension, a subtable dimension that is not the
    /// requested one.
    ///
    /// `fetch_by_segment` is `pivot_by_filter_enable_fetch_by_segment`: a
    /// dimension other than the subtable's then needs a report of its own
    /// and a segment for the pivoted report's dimension.
    pub(crate) fn from_request(
        request: &ApiRequest,
        method: &str,
        fetch_by_segment: bool,
    ) -> Result<Option<Self>, ReportingError> {
        // `!empty($pivotBy)`: PHP's empty() is true for "0" too.
        let Some(dimension) = request.non_empty("pivotBy").filter(|value| *value != "0") else {
            return Ok(None);
        };
        if !is_known_dimension(dimension, request) {
            return Err(ReportingError::NotSupported(format!(
                "Invalid dimension '{dimension}'."
            )));
        }
        let subtable = match subtable_dimension(method, request) {
            Subtable::NoReport => {
                return Err(ReportingError::NotSupported(
                    "This report does not support pivot.".to_owned(),
                ));
            }
            Subtable::None => None,
            Subtable::Dimension(subtable) => Some(subtable),
        };
        let source = if subtable.as_deref() == Some(dimension) {
            Source::Subtable
        } else if fetch_by_segment {
            let Some((report, params)) = dimension_report(dimension) else {
                return Err(ReportingError::NotSupported(format!(
                    "Unsupported pivot: No report for pivot dimension '{dimension}' (report \
                     required for fetching intersected tables by segment)."
                )));
            };
            let Some(segment_name) = dimension_segment(method, request) else {
                return Err(ReportingError::NotSupported(format!(
                    "Unsupported pivot: No segment for dimension of report '{method}'. (segment \
                     required for fetching intersected tables by segment)."
                )));
            };
            Source::Segment {
                method: report.to_owned(),
                params,
                segment_name,
            }
        } else {
            return Err(ReportingError::NotSupported(match subtable {
                None => format!("Unsupported pivot: report '{method}' has no subtable dimension."),
                Some(subtable) => format!(
                    "Unsupported pivot: the subtable dimension for '{method}' does not match the \
                     requested pivotBy dimension. [subtable dimension = {subtable}, pivot by \
                     dimension = {dimension}]"
                ),
            }));
        };
        let column = request
            .non_empty("pivotByColumn")
            .filter(|value| *value != "0")
            .map(str::to_owned);
        // `getRequestVar(…, false, 'int')`, then `$limit ?: default`: absent,
        // non-numeric and 0 all give the default.
        let limit = match request.get("pivotByColumnLimit").and_then(php_int) {
            None | Some(0) => DEFAULT_COLUMN_LIMIT,
            Some(limit) => limit,
        };
        Ok(Some(Self {
            column,
            limit: usize::try_from(limit).ok(),
            source,
        }))
    }

    /// Pivots `table`: `intersected` gives a row's table of the pivot
    /// dimension as its API method would answer it (its labels name the
    /// columns), `None` for none.
    ///
    /// # Errors
    ///
    /// Those of `intersected`.
    /// `range`: the table is a range's (see [`first_column`]).
    pub(crate) fn apply(
        &self,
        table: &mut DataTable,
        range: bool,
        intersected: &mut dyn FnMut(&Row) -> Result<Option<DataTable>, ReportingError>,
    ) -> Result<PivotColumns, ReportingError> {
        let column = self.column.clone().or_else(|| first_column(table, range));
        // Column name → total over all rows, in order of first appearance.
        let mut totals: Vec<(String, f64)> = Vec::new();
        let mut pivot_row = |row: &mut Row| -> Result<(), ReportingError> {
            let mut columns = Columns::new();
            if let Some(subtable) = intersected(row)? {
                for sub_row in subtable.all_rows() {
                    let value = column
                        .as_deref()
                        .and_then(|name| sub_row.column(name))
                        .cloned()
                        .unwrap_or(Value::False);
                    let amount = value.as_f64().unwrap_or(0.0);
                    match totals.iter_mut().find(|(name, _)| *name == sub_row.label) {
                        Some((_, total)) => *total += amount,
                        None => totals.push((sub_row.label.clone(), amount)),
                    }
                    columns.set(ColumnKey::Name(sub_row.label.clone()), value);
                }
            }
            row.columns = columns;
            row.subtable = None;
            row.subtable_id = None;
            // `ColumnCallbackDeleteMetadata('segment')` after the filter.
            row.metadata.remove("segment");
            row.metadata.remove("segmentValue");
            Ok(())
        };
        for row in table.rows_mut() {
            pivot_row(row)?;
        }
        if let Some(summary) = table.summary_row_mut() {
            pivot_row(summary)?;
        }
        let names = self.ordered_columns(totals);
        for row in table.rows_mut() {
            order_columns(row, &names);
        }
        if let Some(summary) = table.summary_row_mut() {
            order_columns(summary, &names);
        }
        Ok(PivotColumns { names })
    }

    /// The segment a row's table is fetched with (`getIntersectedTable`):
    /// the row's `segment`, else the report dimension's segment equal to
    /// its `segmentValue` or label (PHP-urlencoded), after the request's
    /// own segment.
    pub(crate) fn row_segment(&self, row: &Row, request_segment: Option<&str>) -> Option<String> {
        let Source::Segment { segment_name, .. } = &self.source else {
            return None;
        };
        let metadata = |name: &str| match row.metadata.get(name) {
            Some(Scalar::Str(text)) if !text.is_empty() => Some(text.clone()),
            Some(Scalar::Int(number)) => Some(number.to_string()),
            _ => None,
        };
        let own = metadata("segment").unwrap_or_else(|| {
            let value = metadata("segmentValue").unwrap_or_else(|| row.label.clone());
            format!("{segment_name}=={}", crate::present::urlencode(&value))
        });
        Some(
            match request_segment.filter(|segment| !segment.is_empty()) {
                Some(original) => format!("{original};{own}"),
                None => own,
            },
        )
    }

    /// `getPivotTableDefaultRowFromColumnSummary`: by total descending, ties
    /// by `strcmp`, then cut to the limit with `Others` last.
    fn ordered_columns(&self, mut totals: Vec<(String, f64)>) -> Vec<String> {
        totals.sort_by(|(a_name, a_total), (b_name, b_total)| {
            b_total
                .partial_cmp(a_total)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a_name.as_bytes().cmp(b_name.as_bytes()))
        });
        let mut names: Vec<String> = totals.into_iter().map(|(name, _)| name).collect();
        if let Some(limit) = self.limit
            && limit > 0
            && names.len() > limit
        {
            names.truncate(limit - 1);
            // PHP's `$columnSet['Others'] = 0` moves nothing when a kept
            // column is already named so.
            if !names.iter().any(|name| name == OTHERS) {
                names.push(OTHERS.to_owned());
            }
        }
        names
    }
}

/// Gives a pivoted row every column of `names` in order (`false` where it
/// has none); columns cut off are summed into `Others`.
fn order_columns(row: &mut Row, names: &[String]) {
    let mut ordered: Columns = names
        .iter()
        .map(|name| (ColumnKey::Name(name.clone()), Value::False))
        .collect();
    for (key, value) in row.columns.iter() {
        let name = key.name();
        if names.iter().any(|kept| *kept == name) {
            ordered.set(ColumnKey::Name(name.into_owned()), value.clone());
        } else {
            let others = ColumnKey::Name(OTHERS.to_owned());
            let sum = php_add(ordered.get(&others).unwrap_or(&Value::False), value);
            ordered.set(others, sum);
        }
    }
    row.columns = ordered;
}

impl PivotColumns {
    /// The queued renaming: `1.\u{a0}name`, `2.\u{a0}name`… in column
    /// order; `Others` keeps its name.
    pub(crate) fn number(&self, table: &mut DataTable) {
        let mut index = 0;
        let renames: Vec<(&str, String)> = self
            .names
            .iter()
            .filter(|name| *name != OTHERS)
            .map(|name| {
                index += 1;
                (name.as_str(), format!("{index}.\u{a0}{name}"))
            })
            .collect();
        // `array_combine` in place: names change, positions do not.
        let number_row = |row: &mut Row| {
            row.columns = row
                .columns
                .iter()
                .map(|(key, value)| {
                    let name = key.name();
                    let renamed = renames
                        .iter()
                        .find(|(from, _)| *from == name)
                        .map_or_else(|| key.clone(), |(_, to)| ColumnKey::Name(to.clone()));
                    (renamed, value.clone())
                })
                .collect();
        };
        for row in table.rows_mut() {
            number_row(row);
        }
        if let Some(summary) = table.summary_row_mut() {
            number_row(summary);
        }
    }
}

/// PHP's `+` on two column values: integers (and `false`, which is 0)
/// stay integers, anything else becomes a float.
fn php_add(current: &Value, add: &Value) -> Value {
    let as_int = |value: &Value| match value {
        Value::Int(number) => Some(*number),
        Value::False => Some(0),
        _ => None,
    };
    match (as_int(current), as_int(add)) {
        (Some(a), Some(b)) => Value::Int(a.saturating_add(b)),
        _ => Value::Float(current.as_f64().unwrap_or(0.0) + add.as_f64().unwrap_or(0.0)),
    }
}

/// `getNameOfFirstNonLabelColumnInTable`: the first column as Matomo
/// holds the row. A visit-dimension row of a day, week, month or year
/// starts with its unique visitors (metric id 1; `sum_daily_nb_uniq_visitors`
/// after days are summed, which we place behind the other columns), as
/// `PivotByQueryParamTest`'s default-column pivots of a week show; its
/// range pivots show `nb_visits` first. Rows with users (only
/// visit-dimension rows have them) so answer their unique visitors
/// column outside ranges.
fn first_column(table: &DataTable, range: bool) -> Option<String> {
    let row = table.all_rows().find(|row| !row.columns.is_empty())?;
    let has = |name: &str| row.columns.keys().any(|key| key.name() == name);
    if !range {
        for (uniques, users) in [
            ("nb_uniq_visitors", "nb_users"),
            ("sum_daily_nb_uniq_visitors", "sum_daily_nb_users"),
        ] {
            if has(uniques) && has(users) {
                return Some(uniques.to_owned());
            }
        }
    }
    row.columns.keys().next().map(|key| key.name().into_owned())
}

/// `Common::getRequestVar($name, false, 'int')`: a numeric value truncated
/// to an integer, anything else absent.
fn php_int(value: &str) -> Option<i64> {
    let value = value.trim();
    value.parse::<i64>().ok().or_else(|| {
        value
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .map(|number| {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "PHP's (int) cast truncates too"
                )]
                let truncated = number.trunc() as i64;
                truncated
            })
    })
}

/// The metadata names `flat=1` writes each level's labels into, as
/// Matomo's Flattener takes them from the report: its dimension, then its
/// subtable report's (`Actions_PageUrl` at every level of the page URLs,
/// `Referrers_Website` then `Referrers_WebsitePage`). Only for the reports
/// with subtables, where flattening changes the rows; others get none.
pub(crate) fn flat_dimensions(method: &str, request: &ApiRequest) -> Vec<String> {
    let top = match method {
        "Referrers.getKeywords" => "Referrers.Keyword",
        "Referrers.getSearchEngines" => "Referrers.SearchEngine",
        "Referrers.getCampaigns" => "Referrers.Campaign",
        "Referrers.getWebsites" => "Referrers.Website",
        "Referrers.getSocials" => "Referrers.SocialNetwork",
        "Events.getCategory" => "Events.EventCategory",
        "Events.getAction" => "Events.EventAction",
        "Events.getName" => "Events.EventName",
        "CustomDimensions.getCustomDimension" => {
            let id = request
                .get("idDimension")
                .and_then(php_int)
                .unwrap_or_default();
            return vec![format!("CustomDimension_CustomDimension{id}")];
        }
        // The Actions and Contents reports' subtables are their own
        // dimension's.
        _ => match subtable_dimension(method, request) {
            Subtable::Dimension(own)
                if method.starts_with("Actions.") || method.starts_with("Contents.") =>
            {
                return vec![own.replace('.', "_")];
            }
            _ => return Vec::new(),
        },
    };
    let mut names = vec![top.replace('.', "_")];
    if let Subtable::Dimension(sub) = subtable_dimension(method, request) {
        names.push(sub.replace('.', "_"));
    }
    names
}

/// What Matomo's report for a method says about its subtables.
enum Subtable {
    /// No `Report` class serves the method (`ReportsProvider::factory`
    /// returns null).
    NoReport,
    /// The report has no `actionToLoadSubTables`.
    None,
    /// The dimension id of the subtable report.
    Dimension(String),
}

/// `Report::getSubtableDimension` of the report serving `method`.
fn subtable_dimension(method: &str, request: &ApiRequest) -> Subtable {
    let dimension = match method {
        "Referrers.getKeywords" => "Referrers.SearchEngine",
        "Referrers.getSearchEngines" | "Referrers.getCampaigns" => "Referrers.Keyword",
        "Referrers.getWebsites" | "Referrers.getSocials" => "Referrers.WebsitePage",
        // The Actions reports load their own method as subtables.
        "Actions.getPageUrls" => "Actions.PageUrl",
        "Actions.getEntryPageUrls" => "Actions.EntryPageUrl",
        "Actions.getExitPageUrls" => "Actions.ExitPageUrl",
        "Actions.getPageTitles" => "Actions.PageTitle",
        "Actions.getEntryPageTitles" => "Actions.EntryPageTitle",
        "Actions.getExitPageTitles" => "Actions.ExitPageTitle",
        "Actions.getDownloads" => "Actions.DownloadUrl",
        "Actions.getOutlinks" => "Actions.ClickedUrl",
        // The Events reports load the subtables of their
        // `secondaryDimension` (`actionToLoadSubTables` in their `init`):
        // category → action or name, action → name or category, name →
        // action or category.
        "Events.getCategory" if request.get("secondaryDimension") == Some("eventName") => {
            "Events.EventName"
        }
        "Events.getAction" | "Events.getName"
            if request.get("secondaryDimension") == Some("eventCategory") =>
        {
            "Events.EventCategory"
        }
        "Events.getCategory" | "Events.getName" => "Events.EventAction",
        "Events.getAction" => "Events.EventName",
        "Contents.getContentNames" => "Contents.ContentName",
        "Contents.getContentPieces" => "Contents.ContentPiece",
        "CustomDimensions.getCustomDimension" => {
            let id = request
                .get("idDimension")
                .and_then(php_int)
                .unwrap_or_default();
            return Subtable::Dimension(format!("CustomDimension.CustomDimension{id}"));
        }
        _ if NO_REPORT.contains(&method) => return Subtable::NoReport,
        _ => return Subtable::None,
    };
    Subtable::Dimension(dimension.to_owned())
}

/// `Report::getForDimension`: the method (and its parameters) of the
/// report whose dimension is `dimension`, among the reports we serve.
fn dimension_report(dimension: &str) -> Option<(&'static str, Vec<(String, String)>)> {
    if let Some(id) = dimension.strip_prefix("CustomDimension.CustomDimension") {
        return Some((
            "CustomDimensions.getCustomDimension",
            vec![("idDimension".to_owned(), id.to_owned())],
        ));
    }
    let method = match dimension {
        "UserCountry.Continent" => "UserCountry.getContinent",
        "UserCountry.Country" => "UserCountry.getCountry",
        "UserCountry.Region" => "UserCountry.getRegion",
        "UserCountry.City" => "UserCountry.getCity",
        "Referrers.ReferrerType" => "Referrers.getReferrerType",
        "Referrers.Keyword" => "Referrers.getKeywords",
        "Referrers.SearchEngine" => "Referrers.getSearchEngines",
        "Referrers.Campaign" => "Referrers.getCampaigns",
        "Referrers.Website" => "Referrers.getWebsites",
        "Referrers.SocialNetwork" => "Referrers.getSocials",
        "UserLanguage.Language" => "UserLanguage.getLanguage",
        "Resolution.Resolution" => "Resolution.getResolution",
        "Resolution.Configuration" => "Resolution.getConfiguration",
        "UserId.UserId" => "UserId.getUsers",
        _ => return None,
    };
    Some((method, Vec::new()))
}

/// The first segment of the dimension of the report serving `method`
/// (`thisReportDimensionSegment`), among the reports we serve.
fn dimension_segment(method: &str, request: &ApiRequest) -> Option<String> {
    if method == "CustomDimensions.getCustomDimension" {
        let id = request.get("idDimension").and_then(php_int)?;
        return Some(format!("dimension{id}"));
    }
    let name = match method {
        "UserCountry.getContinent" => "continentCode",
        "UserCountry.getCountry" => "countryCode",
        "UserCountry.getRegion" => "regionCode",
        "UserCountry.getCity" => "city",
        "Referrers.getReferrerType" => "referrerType",
        "Referrers.getKeywords" => "referrerKeyword",
        "Referrers.getSearchEngines"
        | "Referrers.getCampaigns"
        | "Referrers.getWebsites"
        | "Referrers.getSocials" => "referrerName",
        "UserLanguage.getLanguage" => "languageCode",
        "Resolution.getResolution" => "resolution",
        "Resolution.getConfiguration" => "configuration",
        "UserId.getUsers" => "userId",
        _ => return None,
    };
    Some(name.to_owned())
}

/// Methods we serve that no Matomo `Report` class describes: the
/// single-value methods, and CustomVariables (its plugin is not among
/// Matomo's bundled ones, whose reports we know).
const NO_REPORT: &[&str] = &[
    "VisitsSummary.getVisits",
    "VisitsSummary.getUniqueVisitors",
    "VisitsSummary.getUsers",
    "VisitsSummary.getActions",
    "VisitsSummary.getMaxActions",
    "VisitsSummary.getBounceCount",
    "VisitsSummary.getVisitsConverted",
    "VisitsSummary.getSumVisitsLength",
    "Referrers.getNumberOfDistinctSearchEngines",
    "Referrers.getNumberOfDistinctSocialNetworks",
    "Referrers.getNumberOfDistinctKeywords",
    "Referrers.getNumberOfDistinctCampaigns",
    "Referrers.getNumberOfDistinctWebsites",
    "Referrers.getNumberOfDistinctWebsitesUrls",
    "UserCountry.getNumberOfDistinctCountries",
    "CustomVariables.getCustomVariables",
    "CustomVariables.getCustomVariablesValuesFromNameId",
];

/// Whether Matomo's `DimensionsProvider::factory` knows `id`: the
/// dimensions (`Columns/*.php`, abstract classes aside) of the plugins
/// Matomo activates by default, and custom dimensions.
fn is_known_dimension(id: &str, request: &ApiRequest) -> bool {
    if let Some(number) = id.strip_prefix("CustomDimension.CustomDimension") {
        // The plugin lists the dimensions of the request's site only,
        // `Common::getRequestVar('idSite', 0, 'int')`: none for `all` or a
        // list of sites.
        let one_site = request
            .get("idSite")
            .and_then(|site| site.trim().parse::<u32>().ok())
            .is_some_and(|site| site > 0);
        return one_site && !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit());
    }
    DIMENSIONS.binary_search(&id).is_ok()
}

/// Matomo 5's dimension ids (`Plugin.ClassName`), sorted.
const DIMENSIONS: &[&str] = &[
    "Actions.ActionType",
    "Actions.ActionUrl",
    "Actions.ClickedUrl",
    "Actions.DestinationPage",
    "Actions.DownloadUrl",
    "Actions.EntryPageTitle",
    "Actions.EntryPageUrl",
    "Actions.ExitPageTitle",
    "Actions.ExitPageUrl",
    "Actions.IdPageview",
    "Actions.Keyword",
    "Actions.KeywordwithNoSearchResult",
    "Actions.PageGenerationTime",
    "Actions.PageTitle",
    "Actions.PageUrl",
    "Actions.PageViewPosition",
    "Actions.SearchCategory",
    "Actions.SearchCount",
    "Actions.SearchDestinationPage",
    "Actions.SearchKeyword",
    "Actions.SearchNoResultKeyword",
    "Actions.TimeSpentRefAction",
    "Actions.VisitTotalActions",
    "Actions.VisitTotalInteractions",
    "Actions.VisitTotalSearches",
    "Contents.ContentInteraction",
    "Contents.ContentName",
    "Contents.ContentPiece",
    "Contents.ContentTarget",
    "CoreHome.IdSite",
    "CoreHome.LinkVisitActionId",
    "CoreHome.LinkVisitActionIdPages",
    "CoreHome.Profilable",
    "CoreHome.ServerMinute",
    "CoreHome.ServerTime",
    "CoreHome.UserId",
    "CoreHome.VisitFirstActionMinute",
    "CoreHome.VisitFirstActionTime",
    "CoreHome.VisitGoalBuyer",
    "CoreHome.VisitGoalConverted",
    "CoreHome.VisitId",
    "CoreHome.VisitIp",
    "CoreHome.VisitLastActionDate",
    "CoreHome.VisitLastActionDayOfMonth",
    "CoreHome.VisitLastActionDayOfWeek",
    "CoreHome.VisitLastActionDayOfYear",
    "CoreHome.VisitLastActionMinute",
    "CoreHome.VisitLastActionMonth",
    "CoreHome.VisitLastActionQuarter",
    "CoreHome.VisitLastActionSecond",
    "CoreHome.VisitLastActionTime",
    "CoreHome.VisitLastActionWeekOfYear",
    "CoreHome.VisitLastActionYear",
    "CoreHome.VisitTotalTime",
    "CoreHome.VisitorDaysSinceFirst",
    "CoreHome.VisitorDaysSinceOrder",
    "CoreHome.VisitorFingerprint",
    "CoreHome.VisitorId",
    "CoreHome.VisitorReturning",
    "CoreHome.VisitorSecondsSinceFirst",
    "CoreHome.VisitorSecondsSinceOrder",
    "CoreHome.VisitsCount",
    "DevicePlugins.Plugin",
    "DevicePlugins.PluginCookie",
    "DevicePlugins.PluginFlash",
    "DevicePlugins.PluginJava",
    "DevicePlugins.PluginPdf",
    "DevicePlugins.PluginQuickTime",
    "DevicePlugins.PluginRealPlayer",
    "DevicePlugins.PluginSilverlight",
    "DevicePlugins.PluginWindowsMedia",
    "DevicesDetection.BrowserEngine",
    "DevicesDetection.BrowserName",
    "DevicesDetection.BrowserVersion",
    "DevicesDetection.ClientType",
    "DevicesDetection.DeviceBrand",
    "DevicesDetection.DeviceModel",
    "DevicesDetection.DeviceType",
    "DevicesDetection.Os",
    "DevicesDetection.OsVersion",
    "Ecommerce.Items",
    "Ecommerce.Order",
    "Ecommerce.ProductCategory",
    "Ecommerce.ProductName",
    "Ecommerce.ProductPrice",
    "Ecommerce.ProductQuantity",
    "Ecommerce.ProductSku",
    "Ecommerce.ProductViewCategory",
    "Ecommerce.ProductViewCategory2",
    "Ecommerce.ProductViewCategory3",
    "Ecommerce.ProductViewCategory4",
    "Ecommerce.ProductViewCategory5",
    "Ecommerce.ProductViewName",
    "Ecommerce.ProductViewPrice",
    "Ecommerce.ProductViewSku",
    "Ecommerce.Revenue",
    "Ecommerce.RevenueDiscount",
    "Ecommerce.RevenueShipping",
    "Ecommerce.RevenueSubtotal",
    "Ecommerce.RevenueTax",
    "Events.EventAction",
    "Events.EventCategory",
    "Events.EventName",
    "Events.EventUrl",
    "Events.EventValue",
    "Events.TotalEvents",
    "Goals.DaysToConversion",
    "Goals.GoalName",
    "Goals.IdGoal",
    "Goals.PageviewsBefore",
    "Goals.Revenue",
    "Goals.VisitsUntilConversion",
    "MultiSites.Website",
    "PagePerformance.TimeDomCompletion",
    "PagePerformance.TimeDomProcessing",
    "PagePerformance.TimeNetwork",
    "PagePerformance.TimeOnLoad",
    "PagePerformance.TimeServer",
    "PagePerformance.TimeTransfer",
    "Referrers.Campaign",
    "Referrers.Keyword",
    "Referrers.Referrer",
    "Referrers.ReferrerName",
    "Referrers.ReferrerType",
    "Referrers.ReferrerUrl",
    "Referrers.SearchEngine",
    "Referrers.SocialNetwork",
    "Referrers.Website",
    "Referrers.WebsitePage",
    "Resolution.Configuration",
    "Resolution.Resolution",
    "UserCountry.City",
    "UserCountry.Continent",
    "UserCountry.Country",
    "UserCountry.Latitude",
    "UserCountry.Longitude",
    "UserCountry.Region",
    "UserId.UserId",
    "UserLanguage.Language",
    "VisitTime.DayOfTheWeek",
    "VisitTime.LocalMinute",
    "VisitTime.LocalTime",
    "VisitorInterest.PagesPerVisit",
    "VisitorInterest.VisitDuration",
    "VisitorInterest.VisitorDaysSinceLast",
    "VisitorInterest.VisitorSecondsSinceLast",
    "VisitorInterest.VisitsbyVisitNumber",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dimension_list_is_sorted_for_binary_search() {
        assert!(DIMENSIONS.windows(2).all(|pair| pair[0] < pair[1]));
        let one_site = ApiRequest::from_parts("idSite=1", None);
        assert!(is_known_dimension("UserCountry.City", &one_site));
        assert!(is_known_dimension(
            "CustomDimension.CustomDimension3",
            &one_site
        ));
        assert!(!is_known_dimension("Referrers.Nope", &one_site));
        // Custom dimensions are a site's: unknown for several sites.
        let all = ApiRequest::from_parts("idSite=all", None);
        assert!(!is_known_dimension(
            "CustomDimension.CustomDimension3",
            &all
        ));
    }

    #[test]
    fn columns_are_ordered_by_total_then_name_and_cut_with_others() {
        let pivot = Pivot {
            column: None,
            limit: Some(3),
            source: Source::Subtable,
        };
        let totals = vec![
            ("b".to_owned(), 2.0),
            ("a".to_owned(), 2.0),
            ("c".to_owned(), 5.0),
            ("d".to_owned(), 1.0),
        ];
        assert_eq!(pivot.ordered_columns(totals), ["c", "a", "Others"]);
    }
}
