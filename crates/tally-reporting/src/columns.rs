//! `columns=` of the numeric reports (`VisitsSummary.get`, `Actions.get`,
//! `Goals.get` / `getMetrics`, `VisitFrequency.get`).
//!
//! Matomo's `Report::getMetricsRequiredForReport` turns the requested names
//! into the stored metrics to fetch: a processed metric brings its
//! dependencies, a stored metric of the report itself, any other name
//! nothing. The numeric table holds the fetched metrics in that order, the
//! report's processed metrics are appended in the report's order, and
//! `ColumnDelete` keeps the requested names (and names starting with
//! `<requested>__`). When nothing is fetched the answer is an empty table,
//! not an error: an unknown column name is simply not returned.

use tally_datatable::{ColumnKey, Columns};

use crate::processed::TableMetrics;
use crate::request::ApiRequest;

/// A processed metric of a numeric report and the stored metrics it is
/// computed from (`ProcessedMetric::getDependentMetrics`).
pub(crate) type Processed = (&'static str, &'static [&'static str]);

/// `VisitsSummary.get`'s processed metrics, in the report's order.
pub(crate) const VISITS_SUMMARY: &[Processed] = &[
    ("bounce_rate", &["bounce_count", "nb_visits"]),
    ("nb_actions_per_visit", &["nb_actions", "nb_visits"]),
    ("avg_time_on_site", &["sum_visit_length", "nb_visits"]),
];

/// `Goals.getMetrics`' processed metric.
pub(crate) const GOALS: &[Processed] =
    &[("conversion_rate", &["nb_visits_converted", "nb_visits"])];

/// `Goals.getMetrics`' processed metrics with `idGoal=ecommerceOrder` or
/// `ecommerceAbandonedCart`: Matomo adds `AverageOrderRevenue` first.
pub(crate) const GOALS_ECOMMERCE: &[Processed] = &[
    ("avg_order_revenue", &["revenue", "nb_conversions"]),
    ("conversion_rate", &["nb_visits_converted", "nb_visits"]),
];

/// The temporary metrics of a table report's processed metrics
/// (`ProcessedMetric::getTemporaryMetrics`), which Matomo removes from the
/// answer unless `showRawMetrics=1`: the page reports' PagePerformance
/// averages (`avg_time_network`…) use `sum_time_*` only for themselves. (The
/// legacy `sum_time_generation` of `avg_time_generation` is never served.)
pub(crate) fn temporary(metrics: TableMetrics) -> Vec<String> {
    match metrics {
        TableMetrics::Pages => crate::processed::PAGE_TIMINGS
            .iter()
            .map(|timing| format!("sum_time_{timing}"))
            .collect(),
        _ => Vec::new(),
    }
}

/// `columns=` as `Piwik::getArrayFromApiParameter` reads it: the
/// comma-separated names, without duplicates and untrimmed; `None` when
/// absent or empty.
pub(crate) fn requested(request: &ApiRequest) -> Option<Vec<String>> {
    let raw = request.non_empty("columns")?;
    let mut names: Vec<String> = Vec::new();
    for name in raw.split(',') {
        if !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
    }
    Some(names)
}

/// `VisitFrequency::unprefixColumns`: the requested names containing
/// `suffix`, with every occurrence of it removed.
pub(crate) fn without_suffix(requested: &[String], suffix: &str) -> Vec<String> {
    requested
        .iter()
        .filter(|name| name.contains(suffix))
        .map(|name| name.replace(suffix, ""))
        .collect()
}

/// The requested columns of a numeric report whose complete columns
/// (stored metrics, then `processed` ones) are `all`, in Matomo's order.
/// The processed metrics may be named at run time (`Goals.get`'s
/// `goal_<id>_conversion_rate`), hence the borrowed names.
pub(crate) fn select(
    all: &Columns,
    processed: &[(&str, &[&str])],
    requested: &[String],
) -> Columns {
    let processed_named = |name: &str| processed.iter().find(|(metric, _)| *metric == name);
    let mut fetched: Vec<&str> = Vec::new();
    for name in requested {
        let names: Vec<&str> = match processed_named(name) {
            Some((_, dependencies)) => dependencies.to_vec(),
            None if all.find(name).is_some() => vec![name.as_str()],
            None => Vec::new(),
        };
        for name in names {
            if !fetched.contains(&name) {
                fetched.push(name);
            }
        }
    }
    if fetched.is_empty() {
        return Columns::new();
    }
    let kept = |name: &str| {
        requested.iter().any(|wanted| {
            name == wanted
                || name
                    .strip_prefix(wanted.as_str())
                    .is_some_and(|rest| rest.starts_with("__"))
        })
    };
    fetched
        .into_iter()
        .chain(processed.iter().map(|(metric, _)| *metric))
        .filter(|name| kept(name))
        .filter_map(|name| {
            all.find(name)
                .map(|value| (ColumnKey::from(name), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use tally_datatable::Value;

    use super::*;

    fn visits_summary() -> Columns {
        [
            ("nb_visits", 2),
            ("nb_actions", 4),
            ("bounce_count", 1),
            ("sum_visit_length", 204),
            ("max_actions", 3),
            ("bounce_rate", 50),
            ("nb_actions_per_visit", 2),
            ("avg_time_on_site", 102),
        ]
        .into_iter()
        .map(|(name, value)| (ColumnKey::from(name), Value::Int(value)))
        .collect()
    }

    fn names(columns: &Columns) -> Vec<String> {
        columns.keys().map(|key| key.name().into_owned()).collect()
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn stored_columns_come_in_fetch_order_and_processed_ones_after() {
        let all = visits_summary();
        let pick = |names: &[&str]| select(&all, VISITS_SUMMARY, &strings(names));
        assert_eq!(
            names(&pick(&["nb_actions", "nb_visits"])),
            ["nb_actions", "nb_visits"]
        );
        // bounce_rate fetches bounce_count and nb_visits first; the
        // processed metric is appended after them.
        assert_eq!(
            names(&pick(&["bounce_rate", "nb_visits"])),
            ["nb_visits", "bounce_rate"]
        );
        assert_eq!(
            names(&pick(&["avg_time_on_site", "max_actions", "bounce_rate"])),
            ["max_actions", "bounce_rate", "avg_time_on_site"]
        );
        // Unknown names are not returned; only unknown names: nothing.
        assert_eq!(names(&pick(&["nb_visits", "nb_hits"])), ["nb_visits"]);
        assert!(pick(&["nb_hits", " nb_visits"]).is_empty());
    }

    #[test]
    fn visit_frequency_suffixes_are_removed_everywhere() {
        let requested = strings(&["nb_visits_new", "bounce_rate_returning", "nb_visits"]);
        assert_eq!(without_suffix(&requested, "_new"), ["nb_visits"]);
        assert_eq!(without_suffix(&requested, "_returning"), ["bounce_rate"]);
    }

    #[test]
    fn requested_drops_duplicates_and_keeps_spaces() {
        let request =
            ApiRequest::from_pairs([("columns", "nb_visits,bounce_rate,nb_visits, max_actions")]);
        assert_eq!(
            requested(&request),
            Some(strings(&["nb_visits", "bounce_rate", " max_actions"]))
        );
        assert_eq!(requested(&ApiRequest::from_pairs([("columns", "")])), None);
    }
}
