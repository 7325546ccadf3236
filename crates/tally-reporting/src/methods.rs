//! The report methods: `Plugin.method` → archive records → a report.
//!
//! Each method is a function of a [`Ctx`]. Reports over sites and periods
//! go through [`Ctx::each_site_period`], which resolves `idSite`, `period`,
//! `date` and `segment`, checks view access and shapes multi-site and
//! multi-period answers as Matomo's maps (site outer, period inner).

use diesel::MysqlConnection;
use tally_archiving::Period;
use tally_archiving::period::{DateSelection, parse_date_param, parse_period_kind};
use tally_archiving::segment::Segment;
use tally_archiving::storage::StoredArchive;
use tally_archiving::{SiteInfo, visit_frequency};
use tally_datatable::render::Report;
use tally_datatable::{ColumnKey, Columns, DataTable, ReportSettings, SortOrder, Value};
use tally_management::{Access, Principal};
use tally_schema::codes::PeriodKind;

use crate::ReportingError;
use crate::columns;
use crate::formatting::{Formatter, Mode, ReportMetrics};
use crate::load::{self, Loader};
use crate::output::{self, Output};
use crate::pivot::{Pivot, Source};
use crate::present::{self, ActionRows, Extra, Labels};
use crate::processed::{self, GoalFilters, TableMetrics, number};
use crate::request::ApiRequest;
use crate::subtables::{Depth, IdSubtable};

/// What a method runs with.
pub(crate) struct Ctx<'a> {
    pub(crate) conn: &'a mut MysqlConnection,
    pub(crate) principal: &'a Principal,
    pub(crate) loader: Loader<'a>,
    pub(crate) request: &'a ApiRequest,
}

/// A method implementation.
pub(crate) type Handler = fn(&mut Ctx<'_>) -> Result<Output, ReportingError>;

/// One site, one period, the request's segment: what a report reads.
pub(crate) struct Slice<'s> {
    pub(crate) site: &'s SiteInfo,
    pub(crate) period: Period,
    pub(crate) segment: &'s Segment,
    /// One of several sites or periods of the answer. Matomo's
    /// `DataTableFactory::make` gives a lone site and period without data
    /// its metrics as zeros, but leaves a site or period without data
    /// empty inside a multi-site or multi-period answer.
    pub(crate) in_map: bool,
}

/// The key Matomo gives a period in multi-period answers.
pub(crate) fn period_key(period: &Period) -> String {
    let start = period.start();
    match period.kind() {
        PeriodKind::Day => start.to_string(),
        PeriodKind::Month => format!("{:04}-{:02}", start.year(), u8::from(start.month())),
        PeriodKind::Year => format!("{:04}", start.year()),
        _ => format!("{},{}", start, period.end()),
    }
}

impl Ctx<'_> {
    /// A required parameter.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ReportingError> {
        self.request
            .non_empty(name)
            .ok_or_else(|| ReportingError::MissingParameter(name.to_owned()))
    }

    /// The sites of `idSite`: one id, a comma list, or `all` (every site
    /// the caller can view). `None` for the list forms is a single site.
    pub(crate) fn sites(&mut self) -> Result<(Vec<u32>, bool), ReportingError> {
        let raw = self.required("idSite")?.trim().to_owned();
        if raw.eq_ignore_ascii_case("all") {
            let ids = tally_management::sites_with_access(self.conn, self.principal, Access::View)?;
            return Ok((ids, true));
        }
        let mut ids = Vec::new();
        for part in raw
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let id = part
                .parse::<u32>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ReportingError::InvalidParameter {
                    name: "idSite".to_owned(),
                    reason: format!("'{part}' is not a site id"),
                })?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let multi = ids.len() > 1;
        for id in &ids {
            self.principal.check(*id, Access::View)?;
        }
        Ok((ids, multi))
    }

    /// Runs `one` for every site and period of the request and shapes the
    /// answers: a plain report for one site and one period, maps keyed by
    /// `idSite` and `date` otherwise (also for `lastN` with one period).
    pub(crate) fn each_site_period(
        &mut self,
        one: &mut dyn FnMut(&mut Ctx<'_>, &Slice<'_>) -> Result<Report, ReportingError>,
    ) -> Result<Report, ReportingError> {
        let (ids, multi_site) = self.sites()?;
        let kind = parse_period_kind(self.required("period")?)?;
        let date = self.required("date")?.to_owned();
        let definition = self.request.get("segment").unwrap_or("").to_owned();
        let mut per_site = Vec::with_capacity(ids.len());
        for idsite in ids {
            let site = SiteInfo::load(self.conn, idsite)?;
            let segment = site
                .parse_segment(&definition)
                .map_err(tally_archiving::ArchiveError::from)?;
            let today = site.timezone.local_date(self.loader.now.unix_timestamp());
            let selection = parse_date_param(kind, &date, today)?;
            let report = match &selection {
                DateSelection::One(period) => one(
                    self,
                    &Slice {
                        site: &site,
                        period: *period,
                        segment: &segment,
                        in_map: multi_site,
                    },
                )?,
                DateSelection::Many(periods) => {
                    let mut entries = Vec::with_capacity(periods.len());
                    for period in periods {
                        let slice = Slice {
                            site: &site,
                            period: *period,
                            segment: &segment,
                            in_map: true,
                        };
                        entries.push((period_key(period), one(self, &slice)?));
                    }
                    Report::Map {
                        key_name: "date".to_owned(),
                        entries,
                    }
                }
            };
            per_site.push((idsite.to_string(), report));
        }
        if multi_site {
            return Ok(Report::Map {
                key_name: "idSite".to_owned(),
                entries: per_site,
            });
        }
        per_site
            .pop()
            .map(|(_, report)| report)
            .ok_or_else(|| ReportingError::MissingParameter("idSite".to_owned()))
    }

    /// The archive of a slice (built on demand when allowed).
    pub(crate) fn archive(
        &mut self,
        slice: &Slice<'_>,
    ) -> Result<Option<StoredArchive>, ReportingError> {
        self.loader
            .archive(self.conn, slice.site, slice.period, slice.segment)
    }
}

// ---------------------------------------------------------------------------
// Numeric reports

/// Builds a simple report of `(record, output name)` pairs, missing
/// records read as 0 (as Matomo's `getDataTableFromNumeric`).
fn numeric_columns(
    values: &std::collections::HashMap<String, f64>,
    names: &[(&str, &str)],
) -> Columns {
    names
        .iter()
        .map(|(record, output)| {
            (
                ColumnKey::from(*output),
                number(values.get(*record).copied().unwrap_or(0.0)),
            )
        })
        .collect()
}

/// `columns=`: only these, in Matomo's order ([`columns::select`]).
fn keep_requested(columns: &mut Columns, request: &ApiRequest, processed: &[(&str, &[&str])]) {
    if let Some(requested) = columns::requested(request) {
        *columns = columns::select(columns, processed, &requested);
    }
}

/// A simple report's columns, formatted as `format_metrics` asks.
fn format_simple(
    ctx: &mut Ctx<'_>,
    formatter: &mut Formatter,
    slice: &Slice<'_>,
    metrics: ReportMetrics,
    columns: Columns,
) -> Result<Report, ReportingError> {
    let columns =
        formatter.columns(ctx.conn, ctx.principal, slice.site.idsite, metrics, columns)?;
    Ok(Report::Simple(columns))
}

/// Unique visitors and users exist for day, week and month only
/// (`SettingsPiwik::isUniqueVisitorsEnabled` with the default config).
fn uniques_enabled(kind: PeriodKind) -> bool {
    matches!(kind, PeriodKind::Day | PeriodKind::Week | PeriodKind::Month)
}

const VISITS_SUMMARY: [(&str, &str); 8] = [
    ("nb_uniq_visitors", "nb_uniq_visitors"),
    ("nb_users", "nb_users"),
    ("nb_visits", "nb_visits"),
    ("nb_actions", "nb_actions"),
    ("nb_visits_converted", "nb_visits_converted"),
    ("bounce_count", "bounce_count"),
    ("sum_visit_length", "sum_visit_length"),
    ("max_actions", "max_actions"),
];

fn visits_summary_columns(
    values: &std::collections::HashMap<String, f64>,
    kind: PeriodKind,
) -> Columns {
    let names: Vec<(&str, &str)> = VISITS_SUMMARY
        .iter()
        .copied()
        .filter(|(record, _)| {
            uniques_enabled(kind) || !matches!(*record, "nb_uniq_visitors" | "nb_users")
        })
        .collect();
    let mut columns = numeric_columns(values, &names);
    processed::visits_summary(&mut columns);
    columns
}

/// Whether a slice's archive counts no visit where Matomo answers an
/// empty table for it ([`Slice::in_map`]).
fn no_data(slice: &Slice<'_>, values: &std::collections::HashMap<String, f64>) -> bool {
    slice.in_map && values.get("nb_visits").copied().unwrap_or(0.0) == 0.0
}

/// `VisitsSummary.get`.
pub(crate) fn visits_summary_get(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let request = ctx.request;
    let mut formatter = Formatter::new(Mode::from_request(request));
    let report = ctx.each_site_period(&mut |ctx, slice| {
        let archive = ctx.archive(slice)?;
        let values = load::numerics(ctx.conn, archive.as_ref())?;
        if no_data(slice, &values) {
            return Ok(Report::Simple(Columns::new()));
        }
        let mut columns = visits_summary_columns(&values, slice.period.kind());
        keep_requested(&mut columns, request, columns::VISITS_SUMMARY);
        format_simple(
            ctx,
            &mut formatter,
            slice,
            ReportMetrics::VISITS_SUMMARY,
            columns,
        )
    })?;
    Ok(Output::Report(report))
}

/// A method answering one numeric record as a bare value.
fn single_value(ctx: &mut Ctx<'_>, record: &str) -> Result<Output, ReportingError> {
    let report = ctx.each_site_period(&mut |ctx, slice| record_value(ctx, slice, record))?;
    Ok(Output::Report(report))
}

/// Numeric record `record` of one site and period, as a bare value.
fn record_value(
    ctx: &mut Ctx<'_>,
    slice: &Slice<'_>,
    record: &str,
) -> Result<Report, ReportingError> {
    let archive = ctx.archive(slice)?;
    let values = load::numerics(ctx.conn, archive.as_ref())?;
    Ok(Report::Simple(numeric_columns(
        &values,
        &[(record, record)],
    )))
}

/// `VisitsSummary.getUniqueVisitors`.
pub(crate) fn visits_summary_uniques(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    unique_value(ctx, "nb_uniq_visitors")
}

/// `VisitsSummary.getUsers`.
pub(crate) fn visits_summary_users(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    unique_value(ctx, "nb_users")
}

/// A unique count as a bare value: refused with Matomo's error where the
/// period has none (`checkUniqueIsEnabledOrFail`; without it a year would
/// answer 0, which reads as "nobody").
fn unique_value(ctx: &mut Ctx<'_>, record: &str) -> Result<Output, ReportingError> {
    let report = ctx.each_site_period(&mut |ctx, slice| {
        if !uniques_enabled(slice.period.kind()) {
            return Err(ReportingError::NotSupported(format!(
                "The metric {record} is not enabled for the requested period. \
                 Please see this FAQ: https://matomo.org/faq/how-to/faq_113/"
            )));
        }
        record_value(ctx, slice, record)
    })?;
    Ok(Output::Report(report))
}

/// `VisitsSummary.getSumVisitsLengthPretty`: the total visit length as a
/// sentence ("9 min 11s", Matomo's `getPrettyTimeFromSeconds($s, true)`).
pub(crate) fn visits_summary_sum_visit_length_pretty(
    ctx: &mut Ctx<'_>,
) -> Result<Output, ReportingError> {
    let report = ctx.each_site_period(&mut |ctx, slice| {
        let archive = ctx.archive(slice)?;
        let values = load::numerics(ctx.conn, archive.as_ref())?;
        let seconds = values.get("sum_visit_length").copied().unwrap_or(0.0);
        let mut columns = Columns::new();
        columns.set(
            ColumnKey::from("sum_visit_length"),
            Value::Str(crate::formatting::pretty_time(seconds, true)),
        );
        Ok(Report::Simple(columns))
    })?;
    Ok(Output::Report(report))
}

macro_rules! value_methods {
    ($($name:ident => $record:expr;)*) => {
        $(
            pub(crate) fn $name(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
                single_value(ctx, $record)
            }
        )*
    };
}

value_methods! {
    visits_summary_visits => "nb_visits";
    visits_summary_actions => "nb_actions";
    visits_summary_max_actions => "max_actions";
    visits_summary_bounce_count => "bounce_count";
    visits_summary_visits_converted => "nb_visits_converted";
    visits_summary_sum_visit_length => "sum_visit_length";
    referrers_distinct_search_engines => "Referrers_distinctSearchEngines";
    referrers_distinct_social_networks => "Referrers_distinctSocialNetworks";
    referrers_distinct_keywords => "Referrers_distinctKeywords";
    referrers_distinct_campaigns => "Referrers_distinctCampaigns";
    referrers_distinct_websites => "Referrers_distinctWebsites";
    referrers_distinct_websites_urls => "Referrers_distinctWebsitesUrls";
    user_country_distinct_countries => "UserCountry_distinctCountries";
}

/// A `*.get` method: the archive's numerics `names` (record name, API
/// column), for each site and period, with `columns` applied.
fn numeric_get(ctx: &mut Ctx<'_>, names: &[(&str, &str)]) -> Result<Output, ReportingError> {
    let request = ctx.request;
    let report = ctx.each_site_period(&mut |ctx, slice| {
        let archive = ctx.archive(slice)?;
        let values = load::numerics(ctx.conn, archive.as_ref())?;
        let mut columns = numeric_columns(&values, names);
        keep_requested(&mut columns, request, &[]);
        Ok(Report::Simple(columns))
    })?;
    Ok(Output::Report(report))
}

/// `Actions.get`: the Actions numerics without their prefix.
pub(crate) fn actions_get(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    const NAMES: [(&str, &str); 8] = [
        ("Actions_nb_pageviews", "nb_pageviews"),
        ("Actions_nb_uniq_pageviews", "nb_uniq_pageviews"),
        ("Actions_nb_downloads", "nb_downloads"),
        ("Actions_nb_uniq_downloads", "nb_uniq_downloads"),
        ("Actions_nb_outlinks", "nb_outlinks"),
        ("Actions_nb_uniq_outlinks", "nb_uniq_outlinks"),
        ("Actions_nb_searches", "nb_searches"),
        ("Actions_nb_keywords", "nb_keywords"),
    ];
    numeric_get(ctx, &NAMES)
}

/// `Bandwidth.get`: the bytes of all sized actions, of page views and of
/// downloads (0 when none was sized), with `columns` as Matomo's
/// `ColumnDelete` keeps them. Served only with `[reporting] bandwidth`.
pub(crate) fn bandwidth_get(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    const NAMES: [(&str, &str); 3] = [
        ("Bandwidth_nb_total_overall", "nb_total_overall_bandwidth"),
        ("Bandwidth_nb_total_pageurl", "nb_total_pageview_bandwidth"),
        ("Bandwidth_nb_total_download", "nb_total_download_bandwidth"),
    ];
    numeric_get(ctx, &NAMES)
}

/// `idGoal` of the Goals methods: a goal id, `ecommerceOrder` (0) or
/// `ecommerceAbandonedCart` (-1); absent means all goals.
fn goal_id(request: &ApiRequest) -> Result<Option<i64>, ReportingError> {
    match request.non_empty("idGoal") {
        None => Ok(None),
        Some("ecommerceOrder") => Ok(Some(0)),
        Some("ecommerceAbandonedCart") => Ok(Some(-1)),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| *id >= -1)
            .map(Some)
            .ok_or_else(|| ReportingError::InvalidParameter {
                name: "idGoal".to_owned(),
                reason: format!("'{raw}' is not a goal id"),
            }),
    }
}

/// The request's segment combined with a visitor-type segment, as
/// Matomo's `Segment::combine(segment, ';', visitorType…)` for Goals.get
/// and VisitFrequency.get: AND binds looser than OR, so
/// `s;visitorType==returning,visitorType==returningCustomer` is s AND
/// (returning OR returning customer).
fn visitor_type_segment(
    site: &SiteInfo,
    user_segment: Option<&str>,
    visitor_type: &str,
) -> Result<Segment, ReportingError> {
    let definition = match user_segment {
        Some(segment) => format!("{segment};{visitor_type}"),
        None => visitor_type.to_owned(),
    };
    Ok(site
        .parse_segment(&definition)
        .map_err(tally_archiving::ArchiveError::from)?)
}

/// The goal metrics of `idgoal` (all goals when `None`) from the numeric
/// records of a Goals archive and the visits of a VisitsSummary archive, in
/// the order of Matomo's `Goals.getMetrics`: conversions, converted visits
/// and revenue (`Goals::getGoalColumns`), for orders also the sub total,
/// tax, shipping, discount and items, for abandoned carts the items; then
/// the processed metrics: the average order revenue of the two ecommerce
/// goals (`AverageOrderRevenue`, revenue per conversion rounded to 2
/// decimals) and the conversion rate.
fn goal_metrics(
    goals: &std::collections::HashMap<String, f64>,
    visits: &std::collections::HashMap<String, f64>,
    idgoal: Option<i64>,
) -> Columns {
    let record = |metric: &str| match idgoal {
        Some(id) => format!("Goal_{id}_{metric}"),
        None => format!("Goal_{metric}"),
    };
    let value = |metric: &str| goals.get(&record(metric)).copied().unwrap_or(0.0);
    let rate = conversion_rate(value("nb_visits_converted"), visits);
    let stored: &[&str] = match idgoal {
        Some(0) => &[
            "nb_conversions",
            "nb_visits_converted",
            "revenue",
            "revenue_subtotal",
            "revenue_tax",
            "revenue_shipping",
            "revenue_discount",
            "items",
        ],
        Some(-1) => &["nb_conversions", "nb_visits_converted", "revenue", "items"],
        _ => &["nb_conversions", "nb_visits_converted", "revenue"],
    };
    let mut columns: Columns = stored
        .iter()
        .map(|name| (ColumnKey::from(*name), number(value(name))))
        .collect();
    if matches!(idgoal, Some(0 | -1)) {
        let conversions = value("nb_conversions");
        let average = if conversions == 0.0 {
            0.0
        } else {
            tally_datatable::format::round_php(value("revenue") / conversions, 2)
        };
        columns.set(ColumnKey::from("avg_order_revenue"), number(average));
    }
    columns.set(ColumnKey::from("conversion_rate"), number(rate));
    columns
}

/// Converted visits per visit (`Piwik::getQuotientSafe` with the revenue
/// precision + 2: 4 decimals), 0 without visits.
fn conversion_rate(converted: f64, visits: &std::collections::HashMap<String, f64>) -> f64 {
    let nb_visits = visits.get("nb_visits").copied().unwrap_or(0.0);
    if nb_visits == 0.0 {
        0.0
    } else {
        tally_datatable::format::round_php(converted / nb_visits, 4)
    }
}

/// The processed metrics of [`goal_metrics`] for `idgoal`, for `columns=`.
fn goal_processed(idgoal: Option<i64>) -> &'static [columns::Processed] {
    if matches!(idgoal, Some(0 | -1)) {
        columns::GOALS_ECOMMERCE
    } else {
        columns::GOALS
    }
}

/// `showAllGoalSpecificMetrics` of `Goals.get` / `getMetrics`: the goals
/// of the site (`getGoals`, by id) whose metrics are added, when the
/// parameter is true as PHP reads it and no `idGoal` is given.
fn goals_shown(
    ctx: &mut Ctx<'_>,
    idgoal: Option<i64>,
    idsite: u32,
) -> Result<Option<Vec<u32>>, ReportingError> {
    let asked = ctx
        .request
        .get("showAllGoalSpecificMetrics")
        .is_some_and(|value| !value.is_empty() && value != "0");
    if !asked || idgoal.is_some() {
        return Ok(None);
    }
    let goals = tally_management::get_goals(ctx.conn, ctx.principal, idsite)?;
    Ok(Some(goals.iter().map(|goal| goal.idgoal).collect()))
}

/// The metrics of `Goals.getMetrics` with `showAllGoalSpecificMetrics`, in
/// the order of Matomo's answer: the visits, the overall conversions,
/// converted visits and revenue, those of each goal of `shown`
/// (`goal_<id>_nb_conversions`…), each goal's conversion rate
/// (`GoalConversionRate`: its converted visits per visit), then the
/// overall conversion rate.
fn goal_specific_metrics(
    goals: &std::collections::HashMap<String, f64>,
    visits: &std::collections::HashMap<String, f64>,
    shown: &[u32],
) -> Columns {
    const STORED: [&str; 3] = ["nb_conversions", "nb_visits_converted", "revenue"];
    let value = |record: &str| goals.get(record).copied().unwrap_or(0.0);
    let mut columns = Columns::new();
    columns.set(
        ColumnKey::from("nb_visits"),
        number(visits.get("nb_visits").copied().unwrap_or(0.0)),
    );
    for metric in STORED {
        columns.set(
            ColumnKey::from(metric),
            number(value(&format!("Goal_{metric}"))),
        );
    }
    for idgoal in shown {
        for metric in STORED {
            columns.set(
                ColumnKey::from(format!("goal_{idgoal}_{metric}")),
                number(value(&format!("Goal_{idgoal}_{metric}"))),
            );
        }
    }
    for idgoal in shown {
        let converted = value(&format!("Goal_{idgoal}_nb_visits_converted"));
        columns.set(
            ColumnKey::from(format!("goal_{idgoal}_conversion_rate")),
            number(conversion_rate(converted, visits)),
        );
    }
    columns.set(
        ColumnKey::from("conversion_rate"),
        number(conversion_rate(value("Goal_nb_visits_converted"), visits)),
    );
    columns
}

/// `columns=` of [`goal_specific_metrics`]: each goal's conversion rate
/// brings the visits and that goal's conversions and converted visits
/// (`GoalConversionRate::getDependentMetrics`), then the overall rate.
fn keep_requested_goal_specific(columns: &mut Columns, request: &ApiRequest, shown: &[u32]) {
    let names: Vec<(String, [String; 3])> = shown
        .iter()
        .map(|idgoal| {
            (
                format!("goal_{idgoal}_conversion_rate"),
                [
                    "nb_visits".to_owned(),
                    format!("goal_{idgoal}_nb_conversions"),
                    format!("goal_{idgoal}_nb_visits_converted"),
                ],
            )
        })
        .collect();
    let dependencies: Vec<[&str; 3]> = names
        .iter()
        .map(|(_, [a, b, c])| [a.as_str(), b.as_str(), c.as_str()])
        .collect();
    let mut processed: Vec<(&str, &[&str])> = names
        .iter()
        .zip(&dependencies)
        .map(|((name, _), dependencies)| (name.as_str(), &dependencies[..]))
        .collect();
    processed.extend_from_slice(columns::GOALS);
    keep_requested(columns, request, &processed);
}

/// `Goals.getMetrics`: conversions, converted visits, revenue and
/// conversion rate, overall or for `idGoal`.
pub(crate) fn goals_get_metrics(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goals_report(ctx, false)
}

/// `Goals.get`: [`goals_get_metrics`], then the same metrics of new
/// visits (`_new_visit`) and of returning visits (`_returning_visit`), from
/// the Goals and VisitsSummary archives of the request's segment combined
/// with each visitor type, as Matomo's `Goals.get` does.
pub(crate) fn goals_get(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goals_report(ctx, true)
}

/// One goal metric as a bare value (`Goals::getNumeric`): of `idGoal`, or
/// of all goals.
fn goal_value(ctx: &mut Ctx<'_>, metric: &str) -> Result<Output, ReportingError> {
    let record = match goal_id(ctx.request)? {
        Some(idgoal) => format!("Goal_{idgoal}_{metric}"),
        None => format!("Goal_{metric}"),
    };
    single_value(ctx, &record)
}

/// `Goals.getConversions`.
pub(crate) fn goals_conversions(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goal_value(ctx, "nb_conversions")
}

/// `Goals.getNbVisitsConverted`.
pub(crate) fn goals_visits_converted(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goal_value(ctx, "nb_visits_converted")
}

/// `Goals.getRevenue`.
pub(crate) fn goals_revenue(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goal_value(ctx, "revenue")
}

/// `Goals.getConversionRate`: `Goals.get` with `columns=conversion_rate`.
pub(crate) fn goals_conversion_rate(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let mut request = ctx.request.clone();
    request.set("columns", "conversion_rate");
    let mut sub = Ctx {
        conn: &mut *ctx.conn,
        principal: ctx.principal,
        loader: ctx.loader.clone(),
        request: &request,
    };
    goals_report(&mut sub, true)
}

fn goals_report(ctx: &mut Ctx<'_>, by_visitor_type: bool) -> Result<Output, ReportingError> {
    let request = ctx.request;
    let idgoal = goal_id(request)?;
    let user_segment = request.non_empty("segment").map(str::to_owned);
    // Goals.get is formatted by the Goals.getMetrics requests it makes.
    let (mode, metrics) = if by_visitor_type {
        (
            Mode::from_request_for_goals(request),
            ReportMetrics::GOALS_BY_VISITOR_TYPE,
        )
    } else {
        (Mode::from_request(request), ReportMetrics::GOALS)
    };
    let mut formatter = Formatter::new(mode);
    let report = ctx.each_site_period(&mut |ctx, slice| {
        let shown = goals_shown(ctx, idgoal, slice.site.idsite)?;
        // `columns=` names the metrics without their suffix, as Matomo
        // passes it to each visitor type's `getMetrics`.
        let compute = |goals: &_, visits: &_| {
            let mut columns = match &shown {
                Some(shown) => goal_specific_metrics(goals, visits, shown),
                None => goal_metrics(goals, visits, idgoal),
            };
            match &shown {
                Some(shown) => keep_requested_goal_specific(&mut columns, request, shown),
                None => keep_requested(&mut columns, request, goal_processed(idgoal)),
            }
            columns
        };
        let archive = ctx.archive(slice)?;
        let values = load::numerics(ctx.conn, archive.as_ref())?;
        let mut columns = if no_data(slice, &values) {
            Columns::new()
        } else {
            compute(&values, &values)
        };
        if by_visitor_type {
            for (suffix, visitor_type) in [
                ("_new_visit", visit_frequency::NEW),
                ("_returning_visit", visit_frequency::RETURNING),
            ] {
                let segment =
                    visitor_type_segment(slice.site, user_segment.as_deref(), visitor_type)?;
                let mut read = |plugin: &str| -> Result<_, ReportingError> {
                    let archive = ctx.loader.plugin_archive(
                        ctx.conn,
                        slice.site,
                        slice.period,
                        &segment,
                        plugin,
                    )?;
                    load::numerics(ctx.conn, archive.as_ref())
                };
                let goals = read("Goals")?;
                let visits = read(visit_frequency::PLUGIN)?;
                if no_data(slice, &visits) {
                    continue;
                }
                let typed = compute(&goals, &visits);
                for (key, value) in typed.iter() {
                    columns.set(
                        ColumnKey::from(format!("{}{suffix}", key.name())),
                        value.clone(),
                    );
                }
            }
        }
        format_simple(ctx, &mut formatter, slice, metrics, columns)
    })?;
    Ok(Output::Report(report))
}

/// `VisitFrequency.get`: VisitsSummary metrics of new and of returning
/// visits, suffixed `_new` and `_returning`, from the VisitsSummary-only
/// archives of the two visitor-type segments.
pub(crate) fn visit_frequency_get(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let request = ctx.request;
    // With a segment, each visitor type is combined with it
    // (`visitor_type_segment`).
    let user_segment = request.non_empty("segment").map(str::to_owned);
    let requested = columns::requested(request);
    let mut formatter = Formatter::new(Mode::from_request(request));
    // Its VisitsSummary.get sub-requests inherit the request's parameters,
    // so `hideColumns` / `showColumns` apply to their columns too, before
    // the suffix (`hideColumns=nb_users` hides `nb_users_new`).
    let filters = output::filters(request)?;
    let report = ctx.each_site_period(&mut |ctx, slice| {
        let mut all = Columns::new();
        for (suffix, visitor_type) in [
            ("new", visit_frequency::NEW),
            ("returning", visit_frequency::RETURNING),
        ] {
            // Matomo skips a visitor type none of the columns names.
            let wanted = requested
                .as_deref()
                .map(|names| columns::without_suffix(names, &format!("_{suffix}")));
            if wanted.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            let segment = visitor_type_segment(slice.site, user_segment.as_deref(), visitor_type)?;
            let archive = ctx.loader.plugin_archive(
                ctx.conn,
                slice.site,
                slice.period,
                &segment,
                visit_frequency::PLUGIN,
            )?;
            let values = load::numerics(ctx.conn, archive.as_ref())?;
            if no_data(slice, &values) {
                continue;
            }
            let mut columns = visits_summary_columns(&values, slice.period.kind());
            if let Some(wanted) = &wanted {
                columns = columns::select(&columns, columns::VISITS_SUMMARY, wanted);
            }
            filters.delete_simple_columns(&mut columns);
            for (key, value) in columns.iter() {
                all.set(
                    ColumnKey::from(format!("{}_{suffix}", key.name())),
                    value.clone(),
                );
            }
        }
        format_simple(
            ctx,
            &mut formatter,
            slice,
            ReportMetrics::VISIT_FREQUENCY,
            all,
        )
    })?;
    // Matomo's VisitFrequency builds its answer from two `VisitsSummary.get`
    // answers, and the periods of one site come out keyed `period`, not
    // `date` (its expected outputs show `<result period="2010-01">`).
    let report = match report {
        Report::Map { key_name, entries } if key_name == "date" => Report::Map {
            key_name: "period".to_owned(),
            entries,
        },
        other => other,
    };
    Ok(Output::Report(report))
}

// ---------------------------------------------------------------------------
// Table reports

/// Rows a report keeps from its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowFilter {
    /// Every row.
    All,
    /// Rows with a non-zero value in this column (entry / exit pages).
    NonZero(&'static str),
    /// Site search keywords: every row (`false`) or, for
    /// `getSiteSearchNoResultKeywords`, those searched without results at
    /// least once and no summary row (`true`); either way without the
    /// internal "has no result" column and the `page_title_path`
    /// metadata, which Matomo deletes.
    SiteSearch(bool),
    /// Every row, without this column (`getSiteSearchCategories` deletes
    /// `nb_uniq_visitors`; a period's `sum_daily_nb_uniq_visitors` stays).
    WithoutColumn(&'static str),
}

/// `Metrics::INDEX_SITE_SEARCH_HAS_NO_RESULT`: unnamed, never output.
const SITE_SEARCH_HAS_NO_RESULT: u16 = 28;

/// A table report's definition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableSpec {
    /// The blob record; `{}` is replaced by the `idDimension` / goal id
    /// where the method takes one.
    pub(crate) record: &'static str,
    /// Default sort column; `None` keeps the stored order.
    pub(crate) sort: Option<&'static str>,
    /// The separator of `flat=1` labels.
    pub(crate) flat_separator: &'static str,
    pub(crate) metrics: TableMetrics,
    /// The metric objects Matomo's report declares (what
    /// `format_metrics=1|all` formats).
    pub(crate) formats: ReportMetrics,
    pub(crate) rows: RowFilter,
    pub(crate) labels: Labels,
    /// Whether the method reads `depth` (`Actions.getPageUrls` only).
    pub(crate) depth: bool,
    /// The parameter naming the one row to answer (`Actions.getPageUrl`'s
    /// `pageUrl`...), see [`search_path`].
    pub(crate) search: Option<&'static str>,
}

impl TableSpec {
    const fn new(record: &'static str) -> Self {
        Self {
            record,
            sort: Some("nb_visits"),
            flat_separator: " - ",
            metrics: TableMetrics::None,
            formats: ReportMetrics::NONE,
            rows: RowFilter::All,
            labels: Labels::Stored,
            depth: false,
            search: None,
        }
    }

    const fn pages(record: &'static str, separator: &'static str) -> Self {
        Self {
            flat_separator: separator,
            metrics: TableMetrics::Pages,
            formats: ReportMetrics::PAGES,
            ..Self::new(record)
        }
    }

    const fn sorted_by(self, column: &'static str) -> Self {
        Self {
            sort: Some(column),
            ..self
        }
    }

    const fn searching(self, parameter: &'static str) -> Self {
        Self {
            search: Some(parameter),
            ..self
        }
    }

    const fn with_depth(self) -> Self {
        Self {
            depth: true,
            ..self
        }
    }

    const fn unsorted(self) -> Self {
        Self { sort: None, ..self }
    }

    const fn rows(self, rows: RowFilter) -> Self {
        Self { rows, ..self }
    }

    const fn labels(self, labels: Labels) -> Self {
        Self { labels, ..self }
    }

    const fn metrics(self, metrics: TableMetrics) -> Self {
        Self { metrics, ..self }
    }

    const fn formats(self, formats: ReportMetrics) -> Self {
        Self { formats, ..self }
    }

    const fn flat_separator(self, separator: &'static str) -> Self {
        Self {
            flat_separator: separator,
            ..self
        }
    }
}

/// The subtable whose id is `id`, searched through the whole tree, with
/// the stored label of the row it belongs to (some subtable methods name
/// their rows' segments and links after it).
fn take_subtable(table: DataTable, id: u32) -> Option<(String, DataTable)> {
    let mut stack = vec![table];
    while let Some(mut current) = stack.pop() {
        for row in current.take_rows() {
            let Some(subtable) = row.subtable else {
                continue;
            };
            if row.subtable_id == Some(id) {
                return Some((row.label, *subtable));
            }
            stack.push(*subtable);
        }
    }
    None
}

/// `getFilterPageDatatableSearch`'s search tree: the labels, top level
/// first, that file the URL or title of request parameter `parameter`
/// ([`row_along`] follows them). URLs lose the site's excluded query
/// parameters first, as Matomo's `PageUrl::excludeQueryParametersFromUrl`
/// strips them; then the name is escaped as the tracker stored it.
fn search_path(
    conn: &mut MysqlConnection,
    idsite: u32,
    record: &str,
    request: &ApiRequest,
    parameter: &str,
    title_delimiter: &str,
) -> Result<Option<Vec<String>>, ReportingError> {
    let raw = request
        .get(parameter)
        .ok_or_else(|| ReportingError::MissingParameter(parameter.to_owned()))?;
    let name = if record == "Actions_actions" {
        raw.to_owned()
    } else {
        let cleaned = tally_tracking::urlnorm::cleanup_url(raw);
        let snapshot = tally_tracking::site::load_snapshot(conn)?;
        snapshot
            .sites
            .get(&idsite)
            .and_then(|site| {
                tally_tracking::urlnorm::exclude_query_parameters(
                    &cleaned,
                    &site.url_settings,
                    &site.excluded_parameters,
                )
            })
            .unwrap_or(cleaned)
    };
    let name = tally_tracking::php::sanitize_input_value(&name);
    // Titles are filed as the archiver splits them.
    let actions = tally_archiving::builders::Actions {
        title_delimiter: title_delimiter.to_owned(),
        ..tally_archiving::builders::Actions::default()
    };
    Ok(actions.label_path(record, &name))
}

/// The row of `table` at the end of `path`, alone in a table (empty when a
/// level has no such label).
fn row_along(table: DataTable, path: &[String]) -> DataTable {
    let mut current = table;
    for (depth, label) in path.iter().enumerate() {
        let Some(row) = current
            .take_rows()
            .into_iter()
            .find(|row| row.label == *label)
        else {
            break;
        };
        if depth + 1 == path.len() {
            return DataTable::from_rows([row]);
        }
        match row.subtable {
            Some(subtable) => current = *subtable,
            None => break,
        }
    }
    DataTable::default()
}

fn keep_rows(table: &mut DataTable, rows: RowFilter) {
    if let RowFilter::SiteSearch(no_result_only) = rows {
        let no_result = ColumnKey::from(SITE_SEARCH_HAS_NO_RESULT);
        if no_result_only {
            table.retain_rows(|row| {
                row.columns
                    .get(&no_result)
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0)
                    >= 1.0
            });
            table.take_summary_row();
        }
        // Matomo's Actions filter also drops the stored title path.
        for row in table.rows_mut() {
            row.columns.remove(&no_result);
            row.metadata.remove("page_title_path");
        }
        if let Some(summary) = table.summary_row_mut() {
            summary.columns.remove(&no_result);
        }
    }
    if let RowFilter::WithoutColumn(column) = rows {
        // Down the loaded subtables too: an expanded table's queued
        // ColumnDelete runs recursively.
        for row in table.rows_mut() {
            row.columns.retain(|key, _| key.name() != column);
            if let Some(subtable) = row.subtable.as_deref_mut() {
                keep_rows(subtable, rows);
            }
        }
        if let Some(summary) = table.summary_row_mut() {
            summary.columns.retain(|key, _| key.name() != column);
        }
    }
    if let RowFilter::NonZero(column) = rows {
        table.retain_rows(|row| row.column(column).and_then(Value::as_f64).unwrap_or(0.0) != 0.0);
        if table
            .summary_row()
            .is_some_and(|row| row.column(column).and_then(Value::as_f64).unwrap_or(0.0) == 0.0)
        {
            table.take_summary_row();
        }
        // Down the loaded subtables too (expanded and flat answers): an
        // entry folder can hold pages nobody entered on, and Matomo's
        // filters run recursively on expanded tables
        // (DataTable::enableRecursiveFilters).
        for row in table.rows_mut() {
            if let Some(subtable) = row.subtable.as_deref_mut() {
                keep_rows(subtable, rows);
            }
        }
    }
}

/// `DevicePlugins.getPlugin` relates plugin counts to the visits of
/// browsers that detect plugins: all visits minus Internet Explorer 6–10,
/// whose plugin detection does not work (Matomo's `getPlugin`).
fn plugin_visits(
    conn: &mut MysqlConnection,
    archive: Option<&StoredArchive>,
) -> Result<f64, ReportingError> {
    let visits = load::numerics(conn, archive)?
        .get("nb_visits")
        .copied()
        .unwrap_or(0.0);
    let versions = load::table(conn, archive, "DevicesDetection_browserVersions")?;
    let ie: f64 = ["IE;10.0", "IE;9.0", "IE;8.0", "IE;7.0", "IE;6.0"]
        .iter()
        .filter_map(|label| versions.row_by_label(label))
        .filter_map(|row| row.column("nb_visits").and_then(Value::as_f64))
        .sum();
    Ok(visits - ie)
}

/// The Actions methods' `CalculateConversionPageRate` step, reading the
/// goals' conversion totals of the same archive only when the table has
/// goal metrics.
fn page_rates(
    conn: &mut MysqlConnection,
    archive: Option<&StoredArchive>,
    table: &mut DataTable,
) -> Result<(), ReportingError> {
    let ids = processed::page_goal_ids(table);
    if ids.is_empty() {
        return Ok(());
    }
    let values = load::numerics(conn, archive)?;
    let totals: Vec<(i64, f64)> = ids
        .iter()
        .filter_map(|id| {
            values
                .get(&tally_archiving::builders::Goals::record_name(
                    "nb_conversions",
                    i32::try_from(*id).ok(),
                ))
                .map(|total| (*id, *total))
        })
        .collect();
    processed::conversion_page_rates(table, &totals);
    Ok(())
}

/// The request Matomo's pivot filter makes of the pivot dimension's report
/// for one row (`fetchIntersectedWithThisBySegment`): the request's
/// parameters with the report's own, the row's `segment`, the slice's site
/// and period, and `getRequestParamOverride`'s (no pivot, filters or
/// column selection).
fn segment_request(
    request: &ApiRequest,
    method: &str,
    params: &[(String, String)],
    slice: &Slice<'_>,
    segment: &str,
) -> ApiRequest {
    let mut sub = request.clone();
    sub.set("method", method);
    for (name, value) in params {
        sub.set(name, value);
    }
    sub.set("segment", segment);
    for (name, value) in [
        ("pivotBy", ""),
        ("column", ""),
        ("flat", "0"),
        ("totals", "0"),
        ("disable_queued_filters", "1"),
        ("disable_generic_filters", "1"),
        ("showColumns", ""),
        ("hideColumns", ""),
    ] {
        sub.set(name, value);
    }
    sub.set("idSite", &slice.site.idsite.to_string());
    let period = &slice.period;
    sub.set("period", period.kind().name());
    let date = if period.kind() == PeriodKind::Range {
        format!("{},{}", period.start(), period.end())
    } else {
        period.start().to_string()
    };
    sub.set("date", &date);
    sub
}

/// The one table `sub` answers with `method`'s handler.
fn fetch_table(
    ctx: &mut Ctx<'_>,
    method: &str,
    sub: &ApiRequest,
) -> Result<Option<DataTable>, ReportingError> {
    let handler = method
        .split_once('.')
        .and_then(|(module, action)| find(module, action))
        .ok_or_else(|| {
            ReportingError::NotSupported(format!("Unable to find report '{method}'."))
        })?;
    let mut sub_ctx = Ctx {
        conn: &mut *ctx.conn,
        principal: ctx.principal,
        loader: ctx.loader.clone(),
        request: sub,
    };
    Ok(match handler(&mut sub_ctx)? {
        Output::Report(Report::Table(table)) => Some(table),
        _ => None,
    })
}

/// Runs a table report with `record` (already parameterized).
fn table_report(
    ctx: &mut Ctx<'_>,
    spec: TableSpec,
    record: &str,
) -> Result<Output, ReportingError> {
    let request = ctx.request;
    let filters = output::filters(request)?;
    let settings = ReportSettings {
        default_sort_column: spec.sort.map(str::to_owned),
        default_sort_order: SortOrder::Desc,
        flat_separator: spec.flat_separator.to_owned(),
        temporary_columns: columns::temporary(spec.metrics),
        label_blank_prefix: matches!(
            request.get("method").unwrap_or_default(),
            "Actions.getPageTitles" | "Actions.getEntryPageTitles" | "Actions.getExitPageTitles"
        ),
        flat_dimensions: crate::pivot::flat_dimensions(
            request.get("method").unwrap_or_default(),
            request,
        ),
    };
    let id_subtable = IdSubtable::parse(request.get("idSubtable"))?;
    // `depth` only where the method takes it, on expanded tables.
    let expanded = filters.expanded || (filters.flat && id_subtable == IdSubtable::None);
    let depth = Depth::parse(request.get("depth").filter(|_| spec.depth && expanded));
    let goal_filters = GoalFilters::from_request(request, &filters);
    let mut formatter = Formatter::new(Mode::from_request(request));
    let method = request.get("method").unwrap_or_default();
    let bandwidth = ctx.loader.config.bandwidth;
    // The report's own method also when `API.getProcessedReport` runs it.
    let report_method = if method == "API.getProcessedReport" {
        format!(
            "{}.{}",
            request.get("apiModule").unwrap_or_default(),
            request.get("apiAction").unwrap_or_default()
        )
    } else {
        method.to_owned()
    };
    // Whether a site tracked user ids in a checked period, asked once per
    // site and period however many periods of the answer share it (a
    // month's days all check that month).
    let mut users_seen: std::collections::HashMap<(u32, i64, i64), bool> =
        std::collections::HashMap::new();
    let mut paths: std::collections::HashMap<u32, Option<Vec<String>>> =
        std::collections::HashMap::new();
    let report = ctx.each_site_period(&mut |ctx, slice| {
        // Matomo checks the pivot when post-processing the method's
        // answer: after the method's own checks (access…).
        let pivot = Pivot::from_request(
            request,
            method,
            ctx.loader.config.pivot_by_filter_enable_fetch_by_segment,
        )?;
        let archive = ctx.archive(slice)?;
        let mut table = load::table(ctx.conn, archive.as_ref(), record)?;
        if let Some(parameter) = spec.search {
            // The searched path depends on the site only: one settings
            // read a site, not one a period.
            let path = match paths.entry(slice.site.idsite) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => slot.insert(search_path(
                    ctx.conn,
                    slice.site.idsite,
                    record,
                    request,
                    parameter,
                    &ctx.loader.archiver_config.action_title_category_delimiter,
                )?),
            };
            table = match path {
                Some(path) => row_along(table, path),
                None => DataTable::default(),
            };
        }
        let mut parent = None;
        match id_subtable {
            IdSubtable::Id(id) => {
                if let Some((label, subtable)) = take_subtable(table, id) {
                    parent = Some(label);
                    table = subtable;
                } else {
                    table = DataTable::default();
                }
            }
            IdSubtable::All if filters.expanded => table = DataTable::default(),
            IdSubtable::Unknown => table = DataTable::default(),
            IdSubtable::None | IdSubtable::All => {}
        }
        depth.apply(&mut table);
        keep_rows(&mut table, spec.rows);
        if spec.metrics == TableMetrics::CustomVisits {
            remove_users_if_unused(ctx.conn, slice, &mut table, &mut users_seen)?;
        }
        let plugin_visits = if spec.labels == Labels::Plugin {
            plugin_visits(ctx.conn, archive.as_ref())?
        } else {
            0.0
        };
        // The Actions filter shows an `http://` URL as `https://` when
        // the site has an `https://` URL on its host.
        let site_urls = if matches!(spec.labels, Labels::Actions { .. }) {
            tally_management::site_urls(ctx.conn, ctx.principal, slice.site.idsite)?
        } else {
            Vec::new()
        };
        let extra = Extra {
            site: slice.site,
            period: slice.period,
            subtable: id_subtable.is_subtable(),
            parent: parent.as_deref(),
            plugin_visits,
            flat: filters.flat,
            site_urls: &site_urls,
        };
        if let Some(pivot) = &pivot {
            // Matomo computes the processed metrics before pivoting (the
            // pivot column may be one); its goal filters are generic
            // filters, after the pivot, and find no goals left.
            present::present_for_pivot(&mut table, spec.labels, &extra);
            if matches!(spec.labels, Labels::Actions { .. }) {
                page_rates(ctx.conn, archive.as_ref(), &mut table)?;
            }
            processed::page_timing_columns(&mut table, spec.metrics);
            processed::bandwidth(
                &mut table,
                &report_method,
                bandwidth,
                spec.metrics,
                filters.flat,
            );
            processed::page_timings(&mut table, spec.metrics, filters.flat);
            processed::apply(
                &mut table,
                spec.metrics,
                filters.flat,
                filters.show_raw_metrics,
            );
            let columns_extra = Extra {
                subtable: true,
                ..extra
            };
            let range = slice.period.kind() == PeriodKind::Range;
            let columns = match &pivot.source {
                Source::Subtable => pivot.apply(&mut table, range, &mut |row| {
                    Ok(row.subtable.as_deref().map(|subtable| {
                        let mut subtable = subtable.clone();
                        present::present_pivot_columns(&mut subtable, spec.labels, &columns_extra);
                        subtable
                    }))
                })?,
                Source::Segment { method, params, .. } => {
                    pivot.apply(&mut table, range, &mut |row| {
                        let Some(segment) = pivot.row_segment(row, request.get("segment")) else {
                            return Ok(None);
                        };
                        let sub = segment_request(request, method, params, slice, &segment);
                        fetch_table(ctx, method, &sub)
                    })?
                }
            };
            let mut table = filters.apply_with(table, &settings, &mut |table| {
                if !filters.disable_queued_filters {
                    columns.number(table);
                }
            })?;
            formatter.table(
                ctx.conn,
                ctx.principal,
                slice.site.idsite,
                spec.formats,
                &mut table,
            )?;
            return Ok(Report::Table(table));
        }
        // The Actions presenter walks every level itself.
        if !filters.flat
            && filters.labels.iter().any(|label| label.contains('>'))
            && !matches!(spec.labels, Labels::Actions { .. })
            && !extra.subtable
        {
            present::present_subtables(&mut table, spec.labels, &extra);
        }
        present::present(&mut table, spec.labels, &extra);
        if matches!(spec.labels, Labels::Actions { .. }) {
            page_rates(ctx.conn, archive.as_ref(), &mut table)?;
        }
        // PagePerformance's timings, then the goal columns, then the
        // report's own processed metrics, in Matomo's order (the last
        // replace a value of the same name).
        let every_row = filters.flat || !filters.labels.is_empty();
        processed::page_timing_columns(&mut table, spec.metrics);
        processed::bandwidth(
            &mut table,
            &report_method,
            bandwidth,
            spec.metrics,
            every_row,
        );
        processed::page_timings(&mut table, spec.metrics, every_row);
        goal_filters.apply(&mut table);
        processed::apply(
            &mut table,
            spec.metrics,
            every_row,
            filters.show_raw_metrics,
        );
        let mut table = filters.apply_with(table, &settings, &mut |table| {
            if spec.search.is_some() {
                // Methods that are not reports (getPageUrl...): Matomo's
                // Actions filter leaves a segment value that no report
                // post-processing turns into a `segment`.
                for row in table.rows_mut() {
                    row.metadata.remove("segment");
                    row.metadata.remove("segmentValue");
                }
            } else {
                present::after_generic_filters(table, spec.labels);
                if !filters.disable_queued_filters {
                    present::queued(table, spec.labels, extra.subtable, filters.flat);
                }
            }
        })?;
        processed::drop_unused_page_timings(&mut table, spec.metrics);
        formatter.table(
            ctx.conn,
            ctx.principal,
            slice.site.idsite,
            goal_filters.report_metrics(spec.formats),
            &mut table,
        )?;
        Ok(Report::Table(table))
    })?;
    Ok(Output::Report(report))
}

/// `Referrers.getAll`: the rows of every referrer type's report in one
/// table (Matomo's `getReferrerType` expanded, then `mergeSubtables`):
/// keywords of search visits, websites, campaigns and social networks, each
/// row with its `referer_type`; direct entries have no rows. One site and
/// one period only, as in Matomo.
pub(crate) fn referrers_get_all(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let request = ctx.request;
    // Matomo's `checkSingleSite` refuses several sites before reading
    // anything; several dates only once the report is a map.
    if !single_site_id(ctx)? {
        return Err(ReportingError::NotSupported(
            "Referrers.getAll with multiple sites is not supported (yet).".to_owned(),
        ));
    }
    let filters = output::filters(request)?;
    let settings = ReportSettings::default();
    let mut formatter = Formatter::new(Mode::from_request(request));
    let report = ctx.each_site_period(&mut |ctx, slice| {
        let archive = ctx.archive(slice)?;
        let extra = Extra {
            site: slice.site,
            period: slice.period,
            subtable: false,
            parent: None,
            plugin_visits: 0.0,
            flat: false,
            site_urls: &[],
        };
        let mut all = DataTable::new();
        let mut others: Option<tally_datatable::Row> = None;
        for (kind, record, labels) in [
            (2, "Referrers_searchEngineByKeyword", Labels::Keywords),
            (3, "Referrers_urlByWebsite", Labels::Websites),
            (6, "Referrers_keywordByCampaign", Labels::Campaigns),
            (7, "Referrers_urlBySocialNetwork", Labels::Socials),
        ] {
            let mut table = load::table(ctx.conn, archive.as_ref(), record)?;
            present::present(&mut table, labels, &extra);
            present::queued(&mut table, labels, false, false);
            // `mergeSubtables` sums the reports' "Others" rows into one
            // summary row, without a `referer_type`.
            if let Some(summary) = table.take_summary_row() {
                match others.as_mut() {
                    None => others = Some(summary),
                    Some(sum) => sum_summary_rows(sum, &summary)?,
                }
            }
            for mut row in table.take_rows() {
                row.subtable = None;
                row.subtable_id = None;
                row.metadata.set(
                    "referer_type".to_owned(),
                    tally_datatable::Scalar::Int(kind),
                );
                all.add_row(row)?;
            }
        }
        if let Some(mut summary) = others {
            summary.subtable = None;
            summary.subtable_id = None;
            all.set_summary_row(summary);
        }
        let mut all = filters.apply(all, &settings)?;
        formatter.table(
            ctx.conn,
            ctx.principal,
            slice.site.idsite,
            ReportMetrics::NONE,
            &mut all,
        )?;
        Ok(Report::Table(all))
    })?;
    if matches!(report, Report::Map { .. }) {
        return Err(ReportingError::NotSupported(
            "Referrers.getAll with multiple sites or dates is not supported (yet).".to_owned(),
        ));
    }
    Ok(Output::Report(report))
}

/// Adds `other` to `sum` as `mergeSubtables` adds the summary rows of
/// `getAll`'s reports: every column summed, `max_actions` too (the rows'
/// columns have their names by then, and `Row::sumRow` keeps the maximum
/// only of the column with the metric's id).
fn sum_summary_rows(
    sum: &mut tally_datatable::Row,
    other: &tally_datatable::Row,
) -> Result<(), ReportingError> {
    let max_actions = |row: &tally_datatable::Row| {
        row.columns
            .iter()
            .find(|(key, _)| key.is_metric(tally_datatable::metrics::MAX_ACTIONS))
            .map(|(key, value)| (key.clone(), value.clone()))
    };
    let summed = match (max_actions(sum), max_actions(other)) {
        (Some((key, Value::Int(a))), Some((_, Value::Int(b)))) => Some((key, Value::Int(a + b))),
        _ => None,
    };
    sum.sum_row(other, &tally_datatable::AggregationOps::default(), true)?;
    if let Some((key, value)) = summed {
        sum.columns.set(key, value);
    }
    Ok(())
}

/// `Referrers.get`: visits by referrer type as five columns, the distinct
/// referrer counts, and each type's share of the visits (Matomo's
/// `Referrers\API::get`: `createReferrerTypeTable`, `mergeNumericArchives`,
/// `VisitorsFromReferrerPercent`). One site only: Matomo reads the types
/// through `getReferrerType`, whose single-site check answers for it.
pub(crate) fn referrers_get(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    /// Types in Matomo's column order.
    const TYPES: [(&str, &str); 5] = [
        ("2", "Referrers_visitorsFromSearchEngines"),
        ("7", "Referrers_visitorsFromSocialNetworks"),
        ("1", "Referrers_visitorsFromDirectEntry"),
        ("3", "Referrers_visitorsFromWebsites"),
        ("6", "Referrers_visitorsFromCampaigns"),
    ];
    const DISTINCT: [(&str, &str); 6] = [
        (
            "Referrers_distinctSearchEngines",
            "Referrers_distinctSearchEngines",
        ),
        (
            "Referrers_distinctSocialNetworks",
            "Referrers_distinctSocialNetworks",
        ),
        ("Referrers_distinctKeywords", "Referrers_distinctKeywords"),
        ("Referrers_distinctWebsites", "Referrers_distinctWebsites"),
        (
            "Referrers_distinctWebsitesUrls",
            "Referrers_distinctWebsitesUrls",
        ),
        ("Referrers_distinctCampaigns", "Referrers_distinctCampaigns"),
    ];
    /// The shares, in Matomo's order.
    const SHARES: [&str; 5] = [
        "Referrers_visitorsFromDirectEntry",
        "Referrers_visitorsFromSearchEngines",
        "Referrers_visitorsFromCampaigns",
        "Referrers_visitorsFromSocialNetworks",
        "Referrers_visitorsFromWebsites",
    ];
    if !single_site_id(ctx)? {
        return Err(ReportingError::NotSupported(
            "Referrers.getReferrerType with multiple sites is not supported (yet).".to_owned(),
        ));
    }
    let mut report = ctx.each_site_period(&mut |ctx, slice| {
        let archive = ctx.archive(slice)?;
        let types = load::table(ctx.conn, archive.as_ref(), "Referrers_type")?;
        // A period of a multi-period answer without any visit stays empty
        // in Matomo (its referrer type table has no rows, and no numeric
        // record is archived for it); a single period always has every
        // column (filled in below).
        if types.rows().is_empty() {
            return Ok(Report::Simple(Columns::new()));
        }
        let mut columns: Columns = TYPES
            .iter()
            .map(|(code, name)| {
                let visits = types
                    .row_by_label(code)
                    .and_then(|row| row.column("nb_visits"))
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                (ColumnKey::from(*name), number(visits))
            })
            .collect();
        let values = load::numerics(ctx.conn, archive.as_ref())?;
        for (key, value) in numeric_columns(&values, &DISTINCT).iter() {
            columns.set(key.clone(), value.clone());
        }
        Ok(Report::Simple(columns))
    })?;
    if let Report::Simple(columns) = &mut report
        && columns.is_empty()
    {
        *columns = TYPES
            .iter()
            .map(|(_, name)| *name)
            .chain(DISTINCT.iter().map(|(name, _)| *name))
            .map(|name| (ColumnKey::from(name), Value::Int(0)))
            .collect();
    }
    // Matomo divides by the visits of the whole answer: with several
    // periods, every period's share is of all periods' visits together
    // (`$dataTableReferrersType->getColumn()` on the map).
    let mut total = 0.0;
    for_each_simple(&mut report, &mut |columns| {
        total += TYPES
            .iter()
            .filter_map(|(_, name)| columns.get(&ColumnKey::from(*name)))
            .filter_map(Value::as_f64)
            .sum::<f64>();
    });
    let mut formatter = Formatter::new(Mode::from_request(ctx.request));
    let idsite = ctx.required("idSite")?.trim().parse::<u32>().unwrap_or(0);
    let mut result = Ok(());
    for_each_simple(&mut report, &mut |columns| {
        if columns.is_empty() || result.is_err() {
            return;
        }
        for name in SHARES {
            let visits = columns
                .get(&ColumnKey::from(name))
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            // `Piwik::getQuotientSafe($visits, $total, 2)`.
            let share = if total == 0.0 {
                0.0
            } else {
                tally_datatable::format::round_php(visits / total, 2)
            };
            columns.set(ColumnKey::from(format!("{name}_percent")), number(share));
        }
        match formatter.columns(
            ctx.conn,
            ctx.principal,
            idsite,
            ReportMetrics::REFERRERS_OVERVIEW,
            std::mem::take(columns),
        ) {
            Ok(formatted) => *columns = formatted,
            Err(e) => result = Err(e),
        }
    });
    result?;
    Ok(Output::Report(report))
}

/// `VisitTime.getByDayOfWeek`: the visits metrics of every day of the
/// period summed by weekday, Monday to Sunday (Matomo's `getByDayOfWeek`:
/// day archives' numerics merged, `GroupBy` the date's weekday over seven
/// rows of `nb_visits` 0, labels translated, `day_of_week` metadata). A
/// weekday without any visit keeps only its `nb_visits` of 0; unique
/// visitors and users are the days' sums. One site and one period only.
pub(crate) fn visit_time_by_day_of_week(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    /// Summed in Matomo's column order (`getVisitsMetricNames` without
    /// `max_actions`; `nb_visits` comes first from the empty rows).
    const METRICS: [&str; 7] = [
        "nb_visits",
        "nb_uniq_visitors",
        "nb_actions",
        "nb_users",
        "sum_visit_length",
        "bounce_count",
        "nb_visits_converted",
    ];
    const NAMES: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    if !single_site_id(ctx)? {
        return Err(ReportingError::NotSupported(
            "VisitTime.getByDayOfWeek does not support multiple sites.".to_owned(),
        ));
    }
    let request = ctx.request;
    let filters = output::filters(request)?;
    // Matomo's rows stay Monday to Sunday: no default sort.
    let settings = ReportSettings {
        default_sort_column: None,
        ..ReportSettings::default()
    };
    let report = ctx.each_site_period(&mut |ctx, slice| {
        let today = slice
            .site
            .timezone
            .local_date(ctx.loader.now.unix_timestamp());
        let mut sums: [Option<[f64; 7]>; 7] = [None; 7];
        let mut day = slice.period.start();
        while day <= slice.period.end() && day <= today {
            let day_slice = Slice {
                site: slice.site,
                period: Period::day(day),
                segment: slice.segment,
                in_map: slice.in_map,
            };
            let archive = ctx.archive(&day_slice)?;
            let values = load::numerics(ctx.conn, archive.as_ref())?;
            // Days without visits have no numerics to merge.
            if values.get("nb_visits").copied().unwrap_or(0.0) > 0.0 {
                let weekday = usize::from(day.weekday().number_days_from_monday());
                let sum = sums[weekday].get_or_insert([0.0; 7]);
                for (total, name) in sum.iter_mut().zip(METRICS) {
                    *total += values.get(name).copied().unwrap_or(0.0);
                }
            }
            let Some(next) = day.next_day() else { break };
            day = next;
        }
        let mut table = DataTable::new();
        // "If there's no data for this report, don't bother": no day had
        // visits, no rows.
        if sums.iter().all(Option::is_none) {
            return Ok(Report::Table(table));
        }
        for (weekday, (name, sum)) in NAMES.iter().zip(sums).enumerate() {
            let mut row = tally_datatable::Row::new(*name);
            match sum {
                Some(sum) => {
                    for (value, metric) in sum.into_iter().zip(METRICS) {
                        row.columns.set(ColumnKey::from(metric), number(value));
                    }
                }
                None => row.columns.set(ColumnKey::from("nb_visits"), Value::Int(0)),
            }
            #[expect(clippy::cast_possible_wrap, reason = "1 to 7")]
            row.metadata.set(
                "day_of_week".to_owned(),
                tally_datatable::Scalar::Int(weekday as i64 + 1),
            );
            table.add_row(row)?;
        }
        Ok(Report::Table(filters.apply(table, &settings)?))
    })?;
    if matches!(report, Report::Map { .. }) {
        return Err(ReportingError::NotSupported(
            "VisitTime.getByDayOfWeek does not support multiple dates.".to_owned(),
        ));
    }
    Ok(Output::Report(report))
}

const REFERRER_TYPES: TableSpec = TableSpec::new("Referrers_type").labels(Labels::ReferrerType);

/// `Referrers.getReferrerType`: visits by referrer type, each type's row
/// naming its own report as `idsubdatatable` (the type id, Matomo's
/// `SetGetReferrerTypeSubtables`); `idSubtable=<type>` answers that report
/// (getKeywords, getWebsites, getCampaigns, getSocials) without subtable
/// ids, any other `idSubtable` the whole report. With `expanded=1` and one
/// period, each type's row carries that report as its subtable (Matomo's
/// `SetGetReferrerTypeSubtables`); over several periods the rows then have
/// neither subtables nor ids, as in Matomo. One site only.
pub(crate) fn referrers_referrer_type(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    if !single_site_id(ctx)? {
        return Err(ReportingError::NotSupported(
            "Referrers.getReferrerType with multiple sites is not supported (yet).".to_owned(),
        ));
    }
    let kind = ctx
        .request
        .get("idSubtable")
        .and_then(|raw| raw.trim().parse::<u8>().ok());
    let per_type = match kind {
        Some(2) => Some(TableSpec::new("Referrers_searchEngineByKeyword").labels(Labels::Keywords)),
        Some(3) => Some(
            TableSpec::new("Referrers_urlByWebsite")
                .flat_separator("/")
                .labels(Labels::Websites),
        ),
        Some(6) => Some(TableSpec::new("Referrers_keywordByCampaign").labels(Labels::Campaigns)),
        Some(7) => Some(TableSpec::new("Referrers_urlBySocialNetwork").labels(Labels::Socials)),
        _ => None,
    };
    let request = ctx.request.without("idSubtable");
    let mut sub = Ctx {
        conn: &mut *ctx.conn,
        principal: ctx.principal,
        loader: ctx.loader.clone(),
        request: &request,
    };
    let Some(spec) = per_type else {
        let mut output = table_report(&mut sub, REFERRER_TYPES, REFERRER_TYPES.record)?;
        if output::filters(&request)?.expanded
            && let Output::Report(report) = &mut output
        {
            expand_referrer_types(&mut sub, report)?;
        }
        return Ok(output);
    };
    let mut output = table_report(&mut sub, spec, spec.record)?;
    if let Output::Report(report) = &mut output {
        // `removeSubtableIds`: this answer does not lead further down.
        for_each_table(report, &mut |table| {
            for row in table.rows_mut() {
                row.subtable_id = None;
                row.subtable = None;
            }
        });
    }
    Ok(output)
}

/// `getReferrerType&expanded=1`: each type's report, as Matomo's
/// `Request::processRequest` answers `idSubtable=<type>` with only the site,
/// period, date and segment (no generic filters, none of this request's
/// other parameters but `format_metrics`: Matomo formats the subtables
/// with the answer), becomes the subtable of the type's row.
fn expand_referrer_types(ctx: &mut Ctx<'_>, report: &mut Report) -> Result<(), ReportingError> {
    let Report::Table(table) = report else {
        // Several periods: Matomo attaches nothing and sets no ids.
        for_each_table(report, &mut |table| {
            for row in table.rows_mut() {
                row.subtable_id = None;
            }
        });
        return Ok(());
    };
    let parent = ctx.request;
    let filters = output::filters(parent)?;
    for row in table.rows_mut() {
        let Some(kind) = row.subtable_id else {
            continue;
        };
        let kind = kind.to_string();
        let mut pairs = vec![
            ("idSubtable", kind.as_str()),
            ("disable_generic_filters", "1"),
        ];
        for name in ["idSite", "period", "date", "segment", "format_metrics"] {
            if let Some(value) = parent.get(name) {
                pairs.push((name, value));
            }
        }
        let request = ApiRequest::from_pairs(pairs);
        let mut sub = Ctx {
            conn: &mut *ctx.conn,
            principal: ctx.principal,
            loader: ctx.loader.clone(),
            request: &request,
        };
        if let Output::Report(Report::Table(mut subtable)) = referrers_referrer_type(&mut sub)? {
            // The answer's hideColumns / showColumns reach the attached
            // subtables (Matomo's ColumnDelete runs recursively on an
            // expanded table).
            for row in subtable.rows_mut() {
                filters.delete_simple_columns(&mut row.columns);
            }
            if let Some(summary) = subtable.summary_row_mut() {
                filters.delete_simple_columns(&mut summary.columns);
            }
            // Matomo's answers list these rows by label (A to Z), not by
            // visits: the answer's recursive sort finds no value to sort
            // the attached tables by and falls back to its secondary
            // column (BlobReportLimitingTest's `getReferrerType` outputs).
            subtable.sort("label", SortOrder::Asc, false);
            row.subtable = Some(Box::new(subtable));
        }
    }
    Ok(())
}

/// Calls `f` on every table report in `report`, maps included.
fn for_each_table(report: &mut Report, f: &mut dyn FnMut(&mut DataTable)) {
    match report {
        Report::Table(table) => f(table),
        Report::Map { entries, .. } => {
            for (_, entry) in entries {
                for_each_table(entry, f);
            }
        }
        _ => {}
    }
}

/// Whether `idSite` names one site (not a list, not `all`), as Matomo's
/// `Referrers\API::checkSingleSite` reads it.
fn single_site_id(ctx: &Ctx<'_>) -> Result<bool, ReportingError> {
    let raw = ctx.required("idSite")?.trim();
    Ok(raw.parse::<u32>().is_ok())
}

/// Calls `f` on every simple report in `report`, maps included.
fn for_each_simple(report: &mut Report, f: &mut dyn FnMut(&mut Columns)) {
    match report {
        Report::Simple(columns) => f(columns),
        Report::Map { entries, .. } => {
            for (_, entry) in entries {
                for_each_simple(entry, f);
            }
        }
        _ => {}
    }
}

macro_rules! table_methods {
    ($($name:ident => $spec:expr;)*) => {
        $(
            pub(crate) fn $name(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
                let spec: TableSpec = $spec;
                table_report(ctx, spec, spec.record)
            }
        )*
    };
}

// Every Actions report flattens with `/` (`Actions\Reports\Base`).
const URLS: TableSpec = TableSpec::pages("Actions_actions_url", "/");
const TITLES: TableSpec = TableSpec::pages("Actions_actions", "/");
const SITE_SEARCH_KEYWORDS: TableSpec = TableSpec::new("Actions_sitesearch")
    .rows(RowFilter::SiteSearch(false))
    .metrics(TableMetrics::SiteSearch)
    .labels(actions(ActionRows::SiteSearch, "siteSearchKeyword"))
    .formats(ReportMetrics::SITE_SEARCH);

/// An Actions report's presentation; `segment` names its dimension's segment.
const fn actions(rows: ActionRows, segment: &'static str) -> Labels {
    Labels::Actions { rows, segment }
}

table_methods! {
    actions_page_urls => URLS.with_depth().labels(actions(ActionRows::PageUrls, "pageUrl"));
    actions_entry_page_urls => URLS.rows(RowFilter::NonZero("entry_nb_visits")).labels(actions(ActionRows::PageUrls, "entryPageUrl"));
    actions_exit_page_urls => URLS.rows(RowFilter::NonZero("exit_nb_visits")).labels(actions(ActionRows::PageUrls, "exitPageUrl"));
    actions_page_titles => TITLES.labels(actions(ActionRows::PageTitles, "pageTitle"));
    actions_entry_page_titles => TITLES.rows(RowFilter::NonZero("entry_nb_visits")).labels(actions(ActionRows::PageTitles, "entryPageTitle"));
    actions_exit_page_titles => TITLES.rows(RowFilter::NonZero("exit_nb_visits")).labels(actions(ActionRows::PageTitles, "exitPageTitle"));
    actions_downloads => TableSpec::new("Actions_downloads").flat_separator("/").labels(actions(ActionRows::Links, "downloadUrl"));
    actions_outlinks => TableSpec::new("Actions_outlink").flat_separator("/").labels(actions(ActionRows::Links, "outlinkUrl"));
    actions_site_search_keywords => SITE_SEARCH_KEYWORDS;
    actions_site_search_no_result_keywords => SITE_SEARCH_KEYWORDS.rows(RowFilter::SiteSearch(true));
    actions_site_search_categories => TableSpec::new("Actions_SiteSearchCategories").rows(RowFilter::WithoutColumn("nb_uniq_visitors")).metrics(TableMetrics::SiteSearchCategories).labels(Labels::SearchCategories);
    actions_page_url => URLS.searching("pageUrl").metrics(TableMetrics::SinglePage).labels(actions(ActionRows::PageUrls, "pageUrl"));
    actions_page_title => TITLES.searching("pageName").metrics(TableMetrics::SinglePage).labels(actions(ActionRows::PageTitles, "pageTitle"));
    actions_download => TableSpec::new("Actions_downloads").flat_separator("/").searching("downloadUrl").labels(actions(ActionRows::Links, "downloadUrl"));
    actions_outlink => TableSpec::new("Actions_outlink").flat_separator("/").searching("outlinkUrl").labels(actions(ActionRows::Links, "outlinkUrl"));
    actions_page_urls_following_site_search => URLS.rows(RowFilter::NonZero("nb_hits_following_search")).labels(actions(ActionRows::PageUrls, "pageUrl"));
    actions_page_titles_following_site_search => TITLES.rows(RowFilter::NonZero("nb_hits_following_search")).labels(actions(ActionRows::PageTitles, "pageTitle"));
    referrers_search_engines => TableSpec::new("Referrers_keywordBySearchEngine").labels(Labels::SearchEngines);
    referrers_keywords => TableSpec::new("Referrers_searchEngineByKeyword").labels(Labels::Keywords);
    referrers_campaigns => TableSpec::new("Referrers_keywordByCampaign").labels(Labels::Campaigns);
    referrers_websites => TableSpec::new("Referrers_urlByWebsite").flat_separator("/").labels(Labels::Websites);
    referrers_socials => TableSpec::new("Referrers_urlBySocialNetwork").labels(Labels::Socials);
    user_country_country => TableSpec::new("UserCountry_country").labels(Labels::Country);
    user_country_continent => TableSpec::new("UserCountry_country").labels(Labels::Continent);
    user_country_region => TableSpec::new("UserCountry_region").labels(Labels::Region);
    user_country_city => TableSpec::new("UserCountry_city").labels(Labels::City);
    user_language_language => TableSpec::new("UserLanguage_language").labels(Labels::Language);
    user_language_code => TableSpec::new("UserLanguage_language").labels(Labels::LanguageCode);
    devices_type => TableSpec::new("DevicesDetection_types").labels(Labels::DeviceType);
    devices_brand => TableSpec::new("DevicesDetection_brands").labels(Labels::DeviceBrand);
    devices_model => TableSpec::new("DevicesDetection_models").labels(Labels::DeviceModel);
    devices_os_families => TableSpec::new("DevicesDetection_os").labels(Labels::OsFamily);
    devices_os_versions => TableSpec::new("DevicesDetection_osVersions").labels(Labels::OsVersion);
    devices_browsers => TableSpec::new("DevicesDetection_browsers").labels(Labels::Browser);
    devices_browser_versions => TableSpec::new("DevicesDetection_browserVersions").labels(Labels::BrowserVersion);
    devices_browser_engines => TableSpec::new("DevicesDetection_browserEngines").labels(Labels::BrowserEngine);
    resolution_resolution => TableSpec::new("Resolution_resolution").labels(Labels::Resolution);
    resolution_configuration => TableSpec::new("Resolution_configuration").labels(Labels::Configuration);
    device_plugins_plugin => TableSpec::new("DevicePlugins_plugin").labels(Labels::Plugin).formats(ReportMetrics::VISITS_PERCENT);
    visit_time_local => TableSpec::new("VisitTime_localTime").unsorted().labels(Labels::LocalHour);
    visit_time_server => TableSpec::new("VisitTime_serverTime").unsorted().labels(Labels::ServerHour);
    interest_time_gap => TableSpec::new("VisitorInterest_timeGap").unsorted().labels(Labels::VisitDuration);
    interest_page_gap => TableSpec::new("VisitorInterest_pageGap").unsorted().labels(Labels::PagesPerVisit);
    interest_visit_count => TableSpec::new("VisitorInterest_visitsByVisitCount").unsorted().labels(Labels::VisitCount).metrics(TableMetrics::VisitsPercent).formats(ReportMetrics::VISITS_PERCENT);
    interest_days_since_last => TableSpec::new("VisitorInterest_daysSinceLastVisit").unsorted().labels(Labels::DaysSinceLast);
    contents_names => TableSpec::new("Contents_name_piece").metrics(TableMetrics::Contents).labels(Labels::Contents("contentName")).formats(ReportMetrics::CONTENTS);
    contents_pieces => TableSpec::new("Contents_piece_name").metrics(TableMetrics::Contents).labels(Labels::Contents("contentPiece")).formats(ReportMetrics::CONTENTS);
    user_id_users => TableSpec::new("UserId_users").labels(Labels::Users);
    custom_variables => TableSpec::new("CustomVariables_valueByName").rows(RowFilter::WithoutColumn("nb_uniq_visitors")).sorted_by("nb_actions").labels(Labels::CustomVariables);
}

/// The Events reports: Matomo's `Events\API::getDataTable`. They keep
/// `Report`'s default sort column, nb_visits (only Matomo's UI views sort
/// them by nb_events), and `Labels::Events` names the segment of their
/// first dimension.
fn events_report(
    ctx: &mut Ctx<'_>,
    record: &str,
    segment: &'static str,
) -> Result<Output, ReportingError> {
    table_report(
        ctx,
        TableSpec::new("")
            .metrics(TableMetrics::Events)
            .formats(ReportMetrics::EVENTS)
            .labels(Labels::Events(segment)),
        record,
    )
}

/// `Events.getCategory/getAction/getName`: the record of the requested
/// `secondaryDimension` (`getRecordNameForAction`), the default one (first
/// of `records`) when it is empty; another value is refused with Matomo's
/// `checkSecondaryDimension` message.
fn events_top(
    ctx: &mut Ctx<'_>,
    method: &str,
    segment: &'static str,
    records: [(&str, &str); 2],
) -> Result<Output, ReportingError> {
    let record = match ctx.request.non_empty("secondaryDimension") {
        None => records[0].1,
        Some(wanted) => records
            .iter()
            .find(|(dimension, _)| *dimension == wanted)
            .map(|(_, record)| *record)
            .ok_or_else(|| {
                ReportingError::NotSupported(format!(
                    "Secondary dimension '{wanted}' is not valid for the API {method}. Use one of: {}, {}",
                    records[0].0, records[1].0
                ))
            })?,
    };
    events_report(ctx, record, segment)
}

pub(crate) fn events_category(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    events_top(
        ctx,
        "getCategory",
        "eventCategory",
        [
            ("eventAction", "Events_category_action"),
            ("eventName", "Events_category_name"),
        ],
    )
}

pub(crate) fn events_action(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    events_top(
        ctx,
        "getAction",
        "eventAction",
        [
            ("eventName", "Events_action_name"),
            ("eventCategory", "Events_action_category"),
        ],
    )
}

pub(crate) fn events_name(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    events_top(
        ctx,
        "getName",
        "eventName",
        [
            ("eventAction", "Events_name_action"),
            ("eventCategory", "Events_name_category"),
        ],
    )
}

/// The subtable methods (`getNameFromCategoryId`…): each reads its own
/// record, `idSubtable` choosing the row.
macro_rules! events_subtable_methods {
    ($($name:ident => $record:literal, $segment:literal;)*) => {
        $(
            pub(crate) fn $name(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
                events_report(ctx, $record, $segment)
            }
        )*
    };
}

events_subtable_methods! {
    events_action_from_category => "Events_category_action", "eventCategory";
    events_name_from_category => "Events_category_name", "eventCategory";
    events_category_from_action => "Events_action_category", "eventAction";
    events_name_from_action => "Events_action_name", "eventAction";
    events_action_from_name => "Events_name_action", "eventName";
    events_category_from_name => "Events_name_category", "eventName";
}

/// `Goals.getItemsSku/Name/Category`: orders, or abandoned carts with
/// `abandonedCarts=1` (the `_Cart` records); sorted by revenue
/// (`BaseItem`'s default sort column), presented as `Goals\API::getItems`
/// does, with the item processed metrics.
fn goal_items(
    ctx: &mut Ctx<'_>,
    record: &'static str,
    not_defined: &'static str,
    segment: &'static str,
) -> Result<Output, ReportingError> {
    let carts = ctx.request.get("abandonedCarts") == Some("1");
    let record = if carts {
        format!("{record}_Cart")
    } else {
        record.to_owned()
    };
    table_report(
        ctx,
        TableSpec::new("")
            .sorted_by("revenue")
            .metrics(TableMetrics::Items)
            .formats(ReportMetrics::ITEMS)
            .labels(Labels::Items {
                not_defined,
                carts,
                segment,
            }),
        &record,
    )
}

pub(crate) fn goals_items_sku(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goal_items(
        ctx,
        "Goals_ItemsSku",
        "Product SKU not defined",
        "productSku",
    )
}

pub(crate) fn goals_items_name(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goal_items(
        ctx,
        "Goals_ItemsName",
        "Product Name not defined",
        "productName",
    )
}

pub(crate) fn goals_items_category(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goal_items(
        ctx,
        "Goals_ItemsCategory",
        "Product Category not defined",
        "productCategory",
    )
}

/// `Goals.getDaysToConversion` / `getVisitsUntilConversion`, overall or
/// for `idGoal`; ranges stay in their stored order.
fn goal_ranges(ctx: &mut Ctx<'_>, suffix: &str, labels: Labels) -> Result<Output, ReportingError> {
    let record = match goal_id(ctx.request)? {
        Some(id) => format!("Goal_{id}_{suffix}"),
        None => format!("Goal_{suffix}"),
    };
    table_report(ctx, TableSpec::new("").unsorted().labels(labels), &record)
}

pub(crate) fn goals_days_to_conversion(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goal_ranges(ctx, "days_until_conv", Labels::DaysToConversion)
}

pub(crate) fn goals_visits_until_conversion(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    goal_ranges(ctx, "visits_until_conv", Labels::VisitsUntilConversion)
}

/// `CustomDimensions.getCustomDimension(idDimension)`.
pub(crate) fn custom_dimension(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let raw = ctx.required("idDimension")?;
    let id = raw
        .trim()
        .parse::<u32>()
        .map_err(|_| ReportingError::InvalidParameter {
            name: "idDimension".to_owned(),
            reason: format!("'{raw}' is not a dimension id"),
        })?;
    // Matomo refuses an unknown or inactive dimension before reading.
    let (sites, _) = ctx.sites()?;
    let mut action_scope = false;
    for idsite in sites {
        action_scope |=
            tally_management::check_dimension_active(ctx.conn, ctx.principal, idsite, id)?;
    }
    let metrics = if action_scope {
        TableMetrics::CustomActions
    } else {
        TableMetrics::CustomVisits
    };
    table_report(
        ctx,
        TableSpec::new("")
            .formats(ReportMetrics::CUSTOM_DIMENSION)
            .labels(Labels::CustomDimension(id))
            .metrics(metrics),
        &format!("CustomDimensions_Dimension{id}"),
    )
}

/// Matomo's `RemoveUserIfNeeded` filter of `getCustomDimension`: a visit
/// dimension's table loses `nb_users` unless a row counts a user or the
/// site tracked a user id in the period Matomo checks (the month around a
/// day or week, else the period itself). Most sites never send `uid`, and
/// their dimension reports then carry no users column.
///
/// Matomo asks `VisitsSummary.get` for that period; the raw visits answer
/// the same question (a visit with a user id), without archiving a month
/// for it. Where logs were purged but archives kept, Matomo would still
/// see the users; then the column goes here.
fn remove_users_if_unused(
    conn: &mut MysqlConnection,
    slice: &Slice<'_>,
    table: &mut DataTable,
    seen: &mut std::collections::HashMap<(u32, i64, i64), bool>,
) -> Result<(), ReportingError> {
    let users = |row: &tally_datatable::Row| {
        row.columns
            .find("nb_users")
            .and_then(Value::as_f64)
            .is_some_and(|n| n > 0.0)
    };
    if table.rows().iter().any(users) || table.summary_row().is_some_and(users) {
        return Ok(());
    }
    let checked = match slice.period.kind() {
        PeriodKind::Day | PeriodKind::Week => {
            Period::containing(PeriodKind::Month, slice.period.start())
        }
        _ => slice.period,
    };
    let (start, end) = checked.utc_bounds(&slice.site.timezone);
    let key = (slice.site.idsite, start, end);
    let tracked = match seen.get(&key) {
        Some(known) => *known,
        None => {
            let tracked = user_id_tracked(conn, slice.site.idsite, start, end)?;
            seen.insert(key, tracked);
            tracked
        }
    };
    if tracked {
        return Ok(());
    }
    let drop_users = |row: &mut tally_datatable::Row| {
        row.columns
            .remove(&ColumnKey::Id(tally_datatable::metrics::NB_USERS));
        row.columns.remove(&ColumnKey::from("nb_users"));
    };
    table.rows_mut().iter_mut().for_each(drop_users);
    if let Some(row) = table.summary_row_mut() {
        drop_users(row);
    }
    Ok(())
}

/// Whether a visit of `idsite` in `[start, end)` (unix seconds) has a user id.
fn user_id_tracked(
    conn: &mut MysqlConnection,
    idsite: u32,
    start: i64,
    end: i64,
) -> Result<bool, ReportingError> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        found: i32,
    }
    // `visit_last_action_time` as Matomo's archiving query selects a
    // period's visits; the (idsite, visit_last_action_time) index serves it.
    let rows: Vec<Found> = diesel::sql_query(
        "SELECT 1 AS found FROM log_visit WHERE idsite = ? \
         AND visit_last_action_time >= FROM_UNIXTIME(?) AND visit_last_action_time < FROM_UNIXTIME(?) \
         AND user_id IS NOT NULL LIMIT 1",
    )
    .bind::<diesel::sql_types::Unsigned<diesel::sql_types::Integer>, _>(idsite)
    .bind::<diesel::sql_types::BigInt, _>(start)
    .bind::<diesel::sql_types::BigInt, _>(end)
    .load(conn)?;
    Ok(rows.first().is_some_and(|row| row.found == 1))
}

/// Every report method: `(module, method, implementation)`.
pub(crate) const REPORT_METHODS: &[(&str, &str, Handler)] = &[
    ("VisitsSummary", "get", visits_summary_get),
    ("VisitsSummary", "getVisits", visits_summary_visits),
    ("VisitsSummary", "getUniqueVisitors", visits_summary_uniques),
    ("VisitsSummary", "getUsers", visits_summary_users),
    ("VisitsSummary", "getActions", visits_summary_actions),
    ("VisitsSummary", "getMaxActions", visits_summary_max_actions),
    (
        "VisitsSummary",
        "getBounceCount",
        visits_summary_bounce_count,
    ),
    (
        "VisitsSummary",
        "getVisitsConverted",
        visits_summary_visits_converted,
    ),
    (
        "VisitsSummary",
        "getSumVisitsLength",
        visits_summary_sum_visit_length,
    ),
    (
        "VisitsSummary",
        "getSumVisitsLengthPretty",
        visits_summary_sum_visit_length_pretty,
    ),
    ("Actions", "get", actions_get),
    ("Actions", "getPageUrls", actions_page_urls),
    ("Actions", "getEntryPageUrls", actions_entry_page_urls),
    ("Actions", "getExitPageUrls", actions_exit_page_urls),
    ("Actions", "getPageTitles", actions_page_titles),
    ("Actions", "getEntryPageTitles", actions_entry_page_titles),
    ("Actions", "getExitPageTitles", actions_exit_page_titles),
    ("Actions", "getDownloads", actions_downloads),
    ("Actions", "getOutlinks", actions_outlinks),
    (
        "Actions",
        "getSiteSearchKeywords",
        actions_site_search_keywords,
    ),
    (
        "Actions",
        "getSiteSearchCategories",
        actions_site_search_categories,
    ),
    ("Actions", "getPageUrl", actions_page_url),
    ("Actions", "getPageTitle", actions_page_title),
    ("Actions", "getDownload", actions_download),
    ("Actions", "getOutlink", actions_outlink),
    (
        "Actions",
        "getSiteSearchNoResultKeywords",
        actions_site_search_no_result_keywords,
    ),
    (
        "Actions",
        "getPageUrlsFollowingSiteSearch",
        actions_page_urls_following_site_search,
    ),
    (
        "Actions",
        "getPageTitlesFollowingSiteSearch",
        actions_page_titles_following_site_search,
    ),
    ("Referrers", "getReferrerType", referrers_referrer_type),
    ("Referrers", "getAll", referrers_get_all),
    ("Referrers", "get", referrers_get),
    ("Referrers", "getSearchEngines", referrers_search_engines),
    (
        "Referrers",
        "getKeywordsFromSearchEngineId",
        referrers_search_engines,
    ),
    ("Referrers", "getKeywords", referrers_keywords),
    (
        "Referrers",
        "getSearchEnginesFromKeywordId",
        referrers_keywords,
    ),
    ("Referrers", "getCampaigns", referrers_campaigns),
    (
        "Referrers",
        "getKeywordsFromCampaignId",
        referrers_campaigns,
    ),
    ("Referrers", "getWebsites", referrers_websites),
    ("Referrers", "getUrlsFromWebsiteId", referrers_websites),
    ("Referrers", "getSocials", referrers_socials),
    ("Referrers", "getUrlsForSocial", referrers_socials),
    (
        "Referrers",
        "getNumberOfDistinctSearchEngines",
        referrers_distinct_search_engines,
    ),
    (
        "Referrers",
        "getNumberOfDistinctSocialNetworks",
        referrers_distinct_social_networks,
    ),
    (
        "Referrers",
        "getNumberOfDistinctKeywords",
        referrers_distinct_keywords,
    ),
    (
        "Referrers",
        "getNumberOfDistinctCampaigns",
        referrers_distinct_campaigns,
    ),
    (
        "Referrers",
        "getNumberOfDistinctWebsites",
        referrers_distinct_websites,
    ),
    (
        "Referrers",
        "getNumberOfDistinctWebsitesUrls",
        referrers_distinct_websites_urls,
    ),
    ("UserCountry", "getCountry", user_country_country),
    ("UserCountry", "getContinent", user_country_continent),
    ("UserCountry", "getRegion", user_country_region),
    ("UserCountry", "getCity", user_country_city),
    (
        "UserCountry",
        "getNumberOfDistinctCountries",
        user_country_distinct_countries,
    ),
    ("UserLanguage", "getLanguage", user_language_language),
    ("UserLanguage", "getLanguageCode", user_language_code),
    ("DevicesDetection", "getType", devices_type),
    ("DevicesDetection", "getBrand", devices_brand),
    ("DevicesDetection", "getModel", devices_model),
    ("DevicesDetection", "getOsFamilies", devices_os_families),
    ("DevicesDetection", "getOsVersions", devices_os_versions),
    ("DevicesDetection", "getBrowsers", devices_browsers),
    (
        "DevicesDetection",
        "getBrowserVersions",
        devices_browser_versions,
    ),
    (
        "DevicesDetection",
        "getBrowserEngines",
        devices_browser_engines,
    ),
    ("Resolution", "getResolution", resolution_resolution),
    ("Resolution", "getConfiguration", resolution_configuration),
    ("DevicePlugins", "getPlugin", device_plugins_plugin),
    (
        "VisitTime",
        "getVisitInformationPerLocalTime",
        visit_time_local,
    ),
    (
        "VisitTime",
        "getVisitInformationPerServerTime",
        visit_time_server,
    ),
    ("VisitTime", "getByDayOfWeek", visit_time_by_day_of_week),
    (
        "VisitorInterest",
        "getNumberOfVisitsPerVisitDuration",
        interest_time_gap,
    ),
    (
        "VisitorInterest",
        "getNumberOfVisitsPerPage",
        interest_page_gap,
    ),
    (
        "VisitorInterest",
        "getNumberOfVisitsByVisitCount",
        interest_visit_count,
    ),
    (
        "VisitorInterest",
        "getNumberOfVisitsByDaysSinceLast",
        interest_days_since_last,
    ),
    ("VisitFrequency", "get", visit_frequency_get),
    ("Goals", "get", goals_get),
    ("Goals", "getMetrics", goals_get_metrics),
    ("Goals", "getConversions", goals_conversions),
    ("Goals", "getNbVisitsConverted", goals_visits_converted),
    ("Goals", "getRevenue", goals_revenue),
    ("Goals", "getConversionRate", goals_conversion_rate),
    ("Goals", "getItemsSku", goals_items_sku),
    ("Goals", "getItemsName", goals_items_name),
    ("Goals", "getItemsCategory", goals_items_category),
    ("Goals", "getDaysToConversion", goals_days_to_conversion),
    (
        "Goals",
        "getVisitsUntilConversion",
        goals_visits_until_conversion,
    ),
    ("Events", "getCategory", events_category),
    (
        "Events",
        "getActionFromCategoryId",
        events_action_from_category,
    ),
    ("Events", "getNameFromCategoryId", events_name_from_category),
    ("Events", "getAction", events_action),
    ("Events", "getNameFromActionId", events_name_from_action),
    (
        "Events",
        "getCategoryFromActionId",
        events_category_from_action,
    ),
    ("Events", "getName", events_name),
    ("Events", "getActionFromNameId", events_action_from_name),
    ("Events", "getCategoryFromNameId", events_category_from_name),
    ("Contents", "getContentNames", contents_names),
    ("Contents", "getContentPieces", contents_pieces),
    ("UserId", "getUsers", user_id_users),
    ("CustomVariables", "getCustomVariables", custom_variables),
    (
        "CustomVariables",
        "getCustomVariablesValuesFromNameId",
        custom_variables,
    ),
    ("CustomDimensions", "getCustomDimension", custom_dimension),
    ("API", "get", crate::overview::api_get),
    ("Bandwidth", "get", bandwidth_get),
    (
        "PagePerformance",
        "get",
        crate::overview::page_performance_get,
    ),
    ("MultiSites", "getAll", crate::multisites::get_all),
    ("MultiSites", "getOne", crate::multisites::get_one),
];

/// `Plugin.method` → implementation.
pub(crate) fn find(module: &str, method: &str) -> Option<Handler> {
    REPORT_METHODS
        .iter()
        .find(|(m, a, _)| *m == module && *a == method)
        .map(|(_, _, handler)| *handler)
}

/// The modules whose methods we serve (an unknown method of one of these
/// is "method not found"; any other module is "module not found").
pub(crate) const MODULES: [&str; 27] = [
    "API",
    "Bandwidth",
    "VisitsSummary",
    "Actions",
    "Referrers",
    "UserCountry",
    "UserLanguage",
    "DevicesDetection",
    "Resolution",
    "DevicePlugins",
    "VisitTime",
    "VisitorInterest",
    "VisitFrequency",
    "Goals",
    "Events",
    "Contents",
    "UserId",
    "CustomVariables",
    "CustomDimensions",
    "MultiSites",
    "PagePerformance",
    "SitesManager",
    "UsersManager",
    "CoreAdminHome",
    "Live",
    "Transitions",
    "PrivacyManager",
];
