//! `API.get`, every plugin's main figures in one answer, and
//! `PagePerformance.get`, one of them.
//!
//! Matomo's `API::get` asks each plugin's `get` report (those of
//! `API.getReportMetadata` without parameters) for the metrics its metadata
//! lists, plugins in reverse name order, and merges the answers column by
//! column. The first answer (VisitsSummary's) is the merge target, so its
//! processed metrics are computed last, after those the Referrers answer
//! brought as metric objects: that is where they appear. Bandwidth figures
//! are not served (`docs/MATOMO-DIFFERENCES.md`).

use tally_datatable::Columns;
use tally_datatable::render::Report;

use crate::ReportingError;
use crate::load;
use crate::methods::{self, Ctx};
use crate::output::Output;
use crate::processed::number;

/// One plugin's `get` report as `API.get` reads it.
struct Part {
    /// The method.
    handler: methods::Handler,
    /// The metrics its report metadata lists, stored then processed.
    columns: &'static [&'static str],
    /// The Bandwidth plugin's part, which `[reporting] bandwidth` turns off.
    bandwidth: bool,
}

/// The parts in Matomo's order (`krsort` of the plugin names).
const PARTS: [Part; 7] = [
    Part {
        handler: methods::visits_summary_get,
        columns: &[
            "nb_uniq_visitors",
            "nb_visits",
            "nb_users",
            "nb_actions",
            "max_actions",
            "bounce_count",
            "sum_visit_length",
            "bounce_rate",
            "nb_actions_per_visit",
            "avg_time_on_site",
        ],
        bandwidth: false,
    },
    Part {
        handler: methods::visit_frequency_get,
        columns: &[
            "nb_visits_new",
            "nb_actions_new",
            "nb_uniq_visitors_new",
            "nb_users_new",
            "max_actions_new",
            "bounce_rate_new",
            "nb_actions_per_visit_new",
            "avg_time_on_site_new",
            "nb_visits_returning",
            "nb_actions_returning",
            "nb_uniq_visitors_returning",
            "nb_users_returning",
            "max_actions_returning",
            "bounce_rate_returning",
            "nb_actions_per_visit_returning",
            "avg_time_on_site_returning",
        ],
        bandwidth: false,
    },
    Part {
        handler: methods::referrers_get,
        columns: &[
            "Referrers_visitorsFromSearchEngines",
            "Referrers_visitorsFromSocialNetworks",
            "Referrers_visitorsFromDirectEntry",
            "Referrers_visitorsFromWebsites",
            "Referrers_visitorsFromCampaigns",
            "Referrers_distinctSearchEngines",
            "Referrers_distinctSocialNetworks",
            "Referrers_distinctKeywords",
            "Referrers_distinctWebsites",
            "Referrers_distinctWebsitesUrls",
            "Referrers_distinctCampaigns",
            "Referrers_visitorsFromDirectEntry_percent",
            "Referrers_visitorsFromSearchEngines_percent",
            "Referrers_visitorsFromCampaigns_percent",
            "Referrers_visitorsFromSocialNetworks_percent",
            "Referrers_visitorsFromWebsites_percent",
        ],
        bandwidth: false,
    },
    Part {
        handler: page_performance_with_sums,
        columns: &[
            "avg_time_network",
            "avg_time_server",
            "avg_time_transfer",
            "avg_time_dom_processing",
            "avg_time_dom_completion",
            "avg_time_on_load",
            "avg_page_load_time",
        ],
        bandwidth: false,
    },
    Part {
        handler: methods::goals_get,
        columns: &[
            "nb_conversions",
            "nb_visits_converted",
            "revenue",
            "conversion_rate",
            "nb_conversions_new_visit",
            "nb_visits_converted_new_visit",
            "revenue_new_visit",
            "conversion_rate_new_visit",
            "nb_conversions_returning_visit",
            "nb_visits_converted_returning_visit",
            "revenue_returning_visit",
            "conversion_rate_returning_visit",
        ],
        bandwidth: false,
    },
    Part {
        handler: methods::bandwidth_get,
        columns: &[
            "nb_total_overall_bandwidth",
            "nb_total_pageview_bandwidth",
            "nb_total_download_bandwidth",
        ],
        bandwidth: true,
    },
    Part {
        handler: methods::actions_get,
        columns: &crate::meta::ACTIONS_SUMMARY,
        bandwidth: false,
    },
];

/// Metric objects computed on the merged answer, in that order: the
/// Referrers percentages, then VisitsSummary's processed metrics.
const LAST: [&str; 8] = [
    "Referrers_visitorsFromDirectEntry_percent",
    "Referrers_visitorsFromSearchEngines_percent",
    "Referrers_visitorsFromCampaigns_percent",
    "Referrers_visitorsFromSocialNetworks_percent",
    "Referrers_visitorsFromWebsites_percent",
    "bounce_rate",
    "nb_actions_per_visit",
    "avg_time_on_site",
];

/// `API.get`: the parts' answers merged; with `columns`, only the parts
/// that have one of them, and only those columns.
pub(crate) fn api_get(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let requested: Vec<String> = ctx
        .request
        .get("columns")
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut merged: Option<Report> = None;
    for part in &PARTS {
        if part.bandwidth && !ctx.loader.config.bandwidth {
            continue;
        }
        let columns: Vec<&str> = part
            .columns
            .iter()
            .copied()
            .filter(|c| requested.is_empty() || requested.iter().any(|r| r == c))
            .collect();
        if columns.is_empty() {
            continue;
        }
        let mut request = ctx.request.clone();
        request.set("columns", &columns.join(","));
        let mut sub = Ctx {
            conn: &mut *ctx.conn,
            principal: ctx.principal,
            loader: ctx.loader.clone(),
            request: &request,
        };
        let Output::Report(report) = (part.handler)(&mut sub)? else {
            continue;
        };
        merged = Some(match merged {
            None => report,
            Some(into) => merge(into, report),
        });
    }
    let mut report = merged.unwrap_or(Report::Simple(Columns::new()));
    finish(&mut report, &requested);
    Ok(Output::Report(report))
}

/// `MergeDataTables`: the columns of `from` added to `into`, map entries
/// merged by key.
fn merge(into: Report, from: Report) -> Report {
    match (into, from) {
        (Report::Simple(mut into), Report::Simple(from)) => {
            for (key, value) in from.iter() {
                if into.get(key).is_none() {
                    into.set(key.clone(), value.clone());
                }
            }
            Report::Simple(into)
        }
        (
            Report::Map { key_name, entries },
            Report::Map {
                entries: from_entries,
                ..
            },
        ) => {
            let mut from_entries = from_entries;
            let entries = entries
                .into_iter()
                .map(|(key, report)| {
                    match from_entries.iter().position(|(other, _)| *other == key) {
                        Some(at) => {
                            let (_, from) = from_entries.remove(at);
                            (key, merge(report, from))
                        }
                        None => (key, report),
                    }
                })
                .collect();
            Report::Map { key_name, entries }
        }
        (into, _) => into,
    }
}

/// Moves the late metric objects to the end and keeps only the requested
/// columns, in every simple report of `report`.
fn finish(report: &mut Report, requested: &[String]) {
    match report {
        Report::Simple(columns) => {
            for name in LAST {
                let key = tally_datatable::ColumnKey::from(name);
                if let Some(value) = columns.remove(&key) {
                    columns.set(key, value);
                }
            }
            if !requested.is_empty() {
                columns.retain(|key, _| requested.iter().any(|r| *r == key.name()));
            }
        }
        Report::Map { entries, .. } => {
            for (_, entry) in entries {
                finish(entry, requested);
            }
        }
        _ => {}
    }
}

/// The page timing records of `PagePerformance.get`, each time with its
/// hits.
const TIMINGS: [(&str, &str, &str); 7] = [
    (
        "PagePerformance_network_time",
        "PagePerformance_network_hits",
        "avg_time_network",
    ),
    (
        "PagePerformance_servery_time",
        "PagePerformance_server_hits",
        "avg_time_server",
    ),
    (
        "PagePerformance_transfer_time",
        "PagePerformance_transfer_hits",
        "avg_time_transfer",
    ),
    (
        "PagePerformance_domprocessing_time",
        "PagePerformance_domprocessing_hits",
        "avg_time_dom_processing",
    ),
    (
        "PagePerformance_domcompletion_time",
        "PagePerformance_domcompletion_hits",
        "avg_time_dom_completion",
    ),
    (
        "PagePerformance_onload_time",
        "PagePerformance_onload_hits",
        "avg_time_on_load",
    ),
    (
        "PagePerformance_pageload_time",
        "PagePerformance_pageload_hits",
        "avg_page_load_time",
    ),
];

/// `PagePerformance.get`: each timing's average (seconds, 2 decimals).
/// Matomo deletes the sums and hits it computes them from with a queued
/// filter, which `API.get` clears: there they stay
/// ([`page_performance_with_sums`]). It takes no `columns`, as Matomo's
/// method declares none.
pub(crate) fn page_performance_get(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    page_performance(ctx, false)
}

/// `PagePerformance.get` as `API.get` merges it: the timing sums in seconds
/// (stored in milliseconds) and hits, then the averages.
fn page_performance_with_sums(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    page_performance(ctx, true)
}

fn page_performance(ctx: &mut Ctx<'_>, sums: bool) -> Result<Output, ReportingError> {
    let report = ctx.each_site_period(&mut |ctx, slice| {
        let archive = ctx.archive(slice)?;
        let values = load::numerics(ctx.conn, archive.as_ref())?;
        let get = |name: &str| values.get(name).copied().unwrap_or(0.0);
        let mut columns = Columns::new();
        if sums {
            for (time, hits, _) in TIMINGS {
                columns.set(time.into(), number(get(time) / 1000.0));
                columns.set(hits.into(), number(get(hits)));
            }
        }
        for (time, hits, average) in TIMINGS {
            let hits = get(hits);
            let value = if hits == 0.0 {
                0.0
            } else {
                tally_datatable::format::round_php(get(time) / 1000.0 / hits, 2)
            };
            columns.set(average.into(), number(value));
        }
        Ok(Report::Simple(columns))
    })?;
    Ok(Output::Report(report))
}
