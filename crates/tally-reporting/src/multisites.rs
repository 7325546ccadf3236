//! `MultiSites.getAll` and `MultiSites.getOne`: the All Websites
//! dashboard's figures, a row per site (visits, actions, page views, goal
//! revenue; with `enhanced=1` also conversions, and ecommerce orders and
//! revenue for ecommerce sites), each with its evolution from the previous
//! period, as Matomo's `plugins/MultiSites/API.php` answers them.
//!
//! The order of work follows Matomo's, because it shows in the answer: the
//! generic filters (sort by `nb_visits`, limits, `filter_truncate`) run on
//! rows labelled by site id; the evolution columns and their metadata are
//! computed after them (so an "Others" row compares with nothing and has
//! the default currency); site names, `group` and `main_url` come last.

use std::collections::HashMap;

use tally_archiving::period::{DateSelection, parse_date_param, parse_period_kind};
use tally_archiving::{Period, SiteInfo};
use tally_datatable::render::Report;
use tally_datatable::{ColumnKey, Columns, DataTable, ReportSettings, Row, Scalar, SortOrder};
use tally_management::{Access, SiteView};
use tally_schema::codes::PeriodKind;
use time::{Date, OffsetDateTime, Time};

use crate::ReportingError;
use crate::formatting::{Formatter, Mode, ReportMetrics, currency_symbol, period_short_string};
use crate::load;
use crate::methods::{Ctx, Slice};
use crate::output::{self, Output};
use crate::processed::number;

/// One figure of the dashboard.
struct Metric {
    /// The column in the answer.
    name: &'static str,
    /// The archive record it reads (`previous_<record>` in the metadata).
    record: &'static str,
    /// Its evolution column (plus `<evolution>_trend`).
    evolution: &'static str,
    /// Shown for ecommerce sites only (`EcommerceOnlyEvolutionMetric`).
    ecommerce_only: bool,
}

const fn metric(
    name: &'static str,
    record: &'static str,
    evolution: &'static str,
    ecommerce_only: bool,
) -> Metric {
    Metric {
        name,
        record,
        evolution,
        ecommerce_only,
    }
}

/// `API::getApiMetrics`, in its order: the first four always, the rest
/// with `enhanced=1`.
const METRICS: [Metric; 7] = [
    metric("nb_visits", "nb_visits", "visits_evolution", false),
    metric("nb_actions", "nb_actions", "actions_evolution", false),
    metric(
        "nb_pageviews",
        "Actions_nb_pageviews",
        "pageviews_evolution",
        false,
    ),
    metric("revenue", "Goal_revenue", "revenue_evolution", false),
    metric(
        "nb_conversions",
        "Goal_nb_conversions",
        "nb_conversions_evolution",
        false,
    ),
    metric("orders", "Goal_0_nb_conversions", "orders_evolution", true),
    metric(
        "ecommerce_revenue",
        "Goal_0_revenue",
        "ecommerce_revenue_evolution",
        true,
    ),
];

/// The evolution columns are percentages (`EvolutionMetric::format`).
const FORMATS: ReportMetrics = ReportMetrics::MULTI_SITES;

/// `SettingsPiwik::getWebsitesCountToDisplay` with the default config
/// (`site_selector_max_sites`): the most sites a `pattern` selects.
const PATTERN_SITES: i64 = 15;

/// A site's facts the answer shows.
struct Site {
    info: SiteInfo,
    view: SiteView,
}

/// What one request asks for.
struct Query<'m> {
    metrics: Vec<&'m Metric>,
    /// `getAll` (rows labelled by site name) rather than `getOne`.
    all: bool,
    enhanced: bool,
    /// `showColumns` restricted the metrics without naming `nb_visits`.
    visits_hidden: bool,
}

/// `MultiSites.getAll`: every site the caller can view, or those matching
/// `pattern`.
pub(crate) fn get_all(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    ctx.principal.check_somewhere(Access::View)?;
    let pattern = ctx.request.get("pattern").unwrap_or("").to_owned();
    let ids = if pattern.is_empty() {
        tally_management::sites_with_access(ctx.conn, ctx.principal, Access::View)?
    } else {
        tally_management::pattern_match_site_ids(ctx.conn, ctx.principal, &pattern, PATTERN_SITES)?
    };
    if ids.is_empty() {
        return Ok(Output::Report(Report::Table(DataTable::new())));
    }
    let query = Query::new(ctx, true);
    answer(ctx, &ids, &query)
}

/// `MultiSites.getOne`: one site's figures, without label or metadata.
pub(crate) fn get_one(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let raw = ctx.required("idSite")?;
    let idsite = raw
        .trim()
        .parse::<u32>()
        .map_err(|_| ReportingError::InvalidParameter {
            name: "idSite".to_owned(),
            reason: format!("'{raw}' is not a site id"),
        })?;
    ctx.principal.check(idsite, Access::View)?;
    let query = Query::new(ctx, false);
    answer(ctx, &[idsite], &query)
}

impl Query<'static> {
    fn new(ctx: &Ctx<'_>, all: bool) -> Self {
        let enhanced = ctx
            .request
            .get("enhanced")
            .is_some_and(|v| !matches!(v.trim(), "" | "0"));
        let shown: Vec<&str> = if all {
            ctx.request
                .get("showColumns")
                .map(|list| list.split(',').map(str::trim).collect())
                .unwrap_or_default()
        } else {
            // getOne passes no columns to the shared code.
            Vec::new()
        };
        let count = if enhanced { METRICS.len() } else { 4 };
        let metrics: Vec<&Metric> = METRICS[..count]
            .iter()
            .filter(|m| shown.is_empty() || shown.contains(&m.name))
            .collect();
        Self {
            metrics,
            all,
            enhanced,
            visits_hidden: !shown.is_empty() && !shown.contains(&"nb_visits"),
        }
    }
}

/// The answer for `ids` over the request's periods: one table (or simple
/// report) a period, a map by date for several.
fn answer(ctx: &mut Ctx<'_>, ids: &[u32], query: &Query<'_>) -> Result<Output, ReportingError> {
    let kind = parse_period_kind(ctx.required("period")?)?;
    let date = ctx.required("date")?.to_owned();
    let definition = ctx.request.get("segment").unwrap_or("").to_owned();
    let mut sites = Vec::with_capacity(ids.len());
    for &idsite in ids {
        sites.push(Site {
            info: SiteInfo::load(ctx.conn, idsite)?,
            view: tally_management::get_site(ctx.conn, ctx.principal, idsite)?,
        });
    }
    // Archive::build reads "today" in the site's time zone for one site,
    // in UTC for several.
    let now = ctx.loader.now;
    let today = match sites.as_slice() {
        [one] => one.info.timezone.local_date(now.unix_timestamp()),
        _ => now.date(),
    };
    let selection = parse_date_param(kind, &date, today)?;
    // Range::getLastDate: no previous period for `lastN`/`previousN`
    // dates, except with period=range.
    let lower = date.to_ascii_lowercase();
    let compare =
        kind == PeriodKind::Range || !(lower.contains("last") || lower.contains("previous"));
    let default_currency = tally_management::default_currency(ctx.conn)?;

    let mut segments = Vec::with_capacity(sites.len());
    for site in &sites {
        segments.push(
            site.info
                .parse_segment(&definition)
                .map_err(tally_archiving::ArchiveError::from)?,
        );
    }
    let values = |ctx: &mut Ctx<'_>, period: Period| {
        let mut out = HashMap::with_capacity(sites.len());
        for (site, segment) in sites.iter().zip(&segments) {
            let slice = Slice {
                site: &site.info,
                period,
                segment,
                in_map: true,
            };
            let archive = ctx.archive(&slice)?;
            out.insert(
                site.info.idsite,
                load::numerics(ctx.conn, archive.as_ref())?,
            );
        }
        Ok::<_, ReportingError>(out)
    };

    let filters = output::filters(ctx.request)?;
    let settings = ReportSettings {
        default_sort_column: Some("nb_visits".to_owned()),
        default_sort_order: SortOrder::Desc,
        flat_separator: "/".to_owned(),
        ..ReportSettings::default()
    };
    let mut formatter = Formatter::new(Mode::from_request(ctx.request));
    let mut entries = Vec::new();
    for period in selection.periods() {
        let current = values(ctx, *period)?;
        let previous = match period.previous().filter(|_| compare) {
            Some(before) => Some((before, values(ctx, before)?)),
            None => None,
        };
        let mut table = DataTable::from_rows(sites.iter().filter_map(|site| {
            let row = site_row(site, &current, query);
            let remove = query.all
                && !query.enhanced
                && !query.visits_hidden
                && row
                    .columns
                    .get(&ColumnKey::from("nb_visits"))
                    .and_then(tally_datatable::Value::as_f64)
                    .unwrap_or(0.0)
                    == 0.0;
            (!remove).then_some(row)
        }));
        let compared = previous.as_ref().map(|(before, past)| Compared {
            period: *period,
            before: *before,
            past,
            now,
            default_currency: &default_currency,
        });
        table = filters.apply_with(table, &settings, &mut |table| {
            for row in table.rows_mut() {
                let site = row_site(&sites, row);
                if let Some(compared) = &compared {
                    compared.evolve(row, site, query);
                }
                if query.all
                    && let Some(site) = site
                {
                    row.label.clone_from(&site.view.name);
                    row.metadata
                        .set("group".to_owned(), Scalar::Str(site.view.group.clone()));
                    row.metadata.set(
                        "main_url".to_owned(),
                        Scalar::Str(site.view.main_url.clone()),
                    );
                }
            }
            if let (Some(compared), Some(summary)) = (&compared, table.summary_row_mut()) {
                compared.evolve(summary, None, query);
            }
        })?;
        let first_site = sites[0].info.idsite;
        let report = if query.all {
            formatter.table(ctx.conn, ctx.principal, first_site, FORMATS, &mut table)?;
            Report::Table(table)
        } else {
            let row = table.take_rows().into_iter().next().unwrap_or_default();
            let columns = formatter.columns(
                ctx.conn,
                ctx.principal,
                first_site,
                FORMATS,
                one_site_order(row.columns),
            )?;
            Report::Simple(columns)
        };
        entries.push((crate::methods::period_key(period), report));
    }
    Ok(Output::Report(match selection {
        DateSelection::One(_) => entries
            .pop()
            .map(|(_, report)| report)
            .unwrap_or(Report::Table(DataTable::new())),
        DateSelection::Many(_) => Report::Map {
            key_name: "date".to_owned(),
            entries,
        },
    }))
}

/// A site's row before the generic filters: labelled by its id (as
/// Matomo's rows are until its queued filters name them), the metrics,
/// and `idsite`.
fn site_row(site: &Site, values: &HashMap<u32, HashMap<String, f64>>, query: &Query<'_>) -> Row {
    let idsite = site.info.idsite;
    let values = values.get(&idsite);
    let mut row = Row::new(idsite.to_string());
    for m in &query.metrics {
        let value = values.and_then(|v| v.get(m.record)).copied().unwrap_or(0.0);
        row.columns.set(ColumnKey::from(m.name), number(value));
    }
    row.metadata
        .set("idsite".to_owned(), Scalar::Int(i64::from(idsite)));
    row
}

/// The site of a row, by its `idsite` metadata (none for "Others").
fn row_site<'s>(sites: &'s [Site], row: &Row) -> Option<&'s Site> {
    let id = match row.metadata.get("idsite")? {
        Scalar::Int(id) => u32::try_from(*id).ok()?,
        _ => return None,
    };
    sites.iter().find(|site| site.info.idsite == id)
}

/// `getOne`'s column order: Matomo renames the record columns after the
/// evolution columns were added, which moves the renamed ones (all but
/// `nb_visits` and `nb_actions`) to the end.
fn one_site_order(columns: Columns) -> Columns {
    let (mut kept, mut renamed) = (Columns::new(), Columns::new());
    for (key, value) in columns.iter() {
        let name = key.name();
        let is_renamed = METRICS
            .iter()
            .any(|m| m.name == name.as_ref() && m.name != m.record);
        let target = if is_renamed { &mut renamed } else { &mut kept };
        target.set(key.clone(), value.clone());
    }
    for (key, value) in renamed.iter() {
        kept.set(key.clone(), value.clone());
    }
    kept
}

/// The previous period's figures, for evolution columns.
struct Compared<'a> {
    period: Period,
    before: Period,
    past: &'a HashMap<u32, HashMap<String, f64>>,
    now: OffsetDateTime,
    default_currency: &'a str,
}

impl Compared<'_> {
    /// `EvolutionMetric::compute` for each metric of `row`: the evolution
    /// and its trend, and the metadata Matomo sets alongside.
    fn evolve(&self, row: &mut Row, site: Option<&Site>, query: &Query<'_>) {
        let ratio = self.ratio();
        let symbol = match site {
            Some(site) => currency_symbol(&site.view.currency).to_owned(),
            // The summary row has the default currency's code, not a symbol.
            None => self.default_currency.to_owned(),
        };
        let past = site.and_then(|site| self.past.get(&site.info.idsite));
        for m in &query.metrics {
            if m.ecommerce_only && !site.is_some_and(|site| site.info.ecommerce) {
                // `EcommerceOnlyEvolutionMetric`: no such figure here.
                row.columns.remove(&ColumnKey::from(m.name));
                continue;
            }
            let current = row
                .columns
                .get(&ColumnKey::from(m.name))
                .and_then(tally_datatable::Value::as_f64)
                .unwrap_or(0.0);
            let previous = past
                .and_then(|values| values.get(m.record))
                .copied()
                .unwrap_or(0.0);
            let metadata = &mut row.metadata;
            metadata.set("ratio".to_owned(), scalar(ratio));
            metadata.set("currencySymbol".to_owned(), Scalar::Str(symbol.clone()));
            metadata.set(format!("previous_{}", m.record), scalar(previous));
            metadata.set(
                "periodName".to_owned(),
                Scalar::Str(self.before.kind().name().to_owned()),
            );
            metadata.set(
                "previousRange".to_owned(),
                Scalar::Str(period_short_string(&self.before)),
            );
            let scaled = previous * ratio;
            let dividend = current - scaled;
            let evolution = if dividend == 0.0 {
                0.0
            } else if scaled == 0.0 {
                1.0
            } else {
                // getQuotientSafe with the metric's precision 1 + 2.
                tally_datatable::format::round_php(dividend / scaled, 3)
            };
            let trend: i64 = if evolution > 0.0 {
                1
            } else if evolution < 0.0 {
                -1
            } else {
                0
            };
            row.columns
                .set(ColumnKey::from(m.evolution), number(evolution));
            row.columns.set(
                ColumnKey::from(format!("{}_trend", m.evolution)),
                number(trend as f64),
            );
        }
    }

    /// `EvolutionMetric::getRatio`: while the current period is under way,
    /// the share of it elapsed, against the previous period's length (both
    /// in UTC, rounded to 3 decimals); 1 otherwise.
    fn ratio(&self) -> f64 {
        let start = |date: Date| date.midnight().assume_utc().unix_timestamp();
        let end = |date: Date| {
            date.with_time(Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT))
                .assume_utc()
                .unix_timestamp()
        };
        let now = self.now.unix_timestamp();
        let (current_start, current_end) = (start(self.period.start()), end(self.period.end()));
        if !(current_start <= now && now <= current_end) {
            return 1.0;
        }
        let past_seconds = end(self.before.end()) - start(self.before.start());
        if past_seconds <= 0 {
            return 1.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "seconds within centuries")]
        let ratio = (now - current_start) as f64 / past_seconds as f64;
        tally_datatable::format::round_php(ratio, 3)
    }
}

/// A figure as PHP holds it: whole numbers as ints.
fn scalar(value: f64) -> Scalar {
    match number(value) {
        tally_datatable::Value::Int(i) => Scalar::Int(i),
        _ => Scalar::Float(value),
    }
}
