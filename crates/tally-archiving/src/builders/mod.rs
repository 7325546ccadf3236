//! The core record builders, one module per plugin.

mod actions;
mod bandwidth;
mod contents;
mod custom_dimensions;
mod custom_variables;
mod device_plugins;
mod devices_detection;
mod ecommerce;
mod events;
mod goals;
mod page_performance;
mod referrers;
mod resolution;
mod user_country;
mod user_id;
mod user_language;
mod visit_time;
mod visitor_interest;
mod visits_summary;

pub use actions::{Actions, reconstruct_url};
pub use bandwidth::Bandwidth;
pub use contents::Contents;
pub use custom_dimensions::{CustomDimensionReport, CustomDimensionsProvider};
pub use custom_variables::CustomVariables;
pub use device_plugins::DevicePlugins;
pub use devices_detection::DevicesDetection;
pub use ecommerce::Ecommerce;
pub use events::Events;
pub use goals::{Goals, GoalsProvider};
pub use page_performance::PagePerformance;
pub use referrers::Referrers;
pub use resolution::Resolution;
pub use user_country::UserCountry;
pub use user_id::UserId;
pub use user_language::UserLanguage;
pub use visit_time::VisitTime;
pub use visitor_interest::VisitorInterest;
pub use visits_summary::VisitsSummary;

use tally_datatable::{ColumnKey, Columns, DataTable, Value, metrics};

use crate::ArchiveError;
use crate::logs::VisitGroup;

/// `datatable_archiving_maximum_rows_standard` (500): the row limit of
/// devices, languages, resolutions, regions, cities and plugins.
pub(crate) const MAX_ROWS_STANDARD: usize = 500;

/// A count as an integer column (counts never come near `i64::MAX`).
pub(crate) fn int(value: u64) -> Value {
    Value::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

/// The 8 visit metrics of a visit-dimension row (MATOMO.md section 7.4),
/// keyed by metric id in the order Matomo writes them: 1, 2, 3, 39, 4, 5,
/// 6, 7.
pub(crate) fn visit_columns(group: &VisitGroup) -> Columns {
    let mut columns = Columns::new();
    for (id, value) in [
        (metrics::NB_UNIQ_VISITORS, group.nb_uniq_visitors),
        (metrics::NB_VISITS, group.nb_visits),
        (metrics::NB_ACTIONS, group.nb_actions),
        (metrics::NB_USERS, group.nb_users),
        (metrics::MAX_ACTIONS, group.max_actions),
        (metrics::SUM_VISIT_LENGTH, group.sum_visit_length),
        (metrics::BOUNCE_COUNT, group.bounce_count),
        (metrics::NB_VISITS_CONVERTED, group.nb_visits_converted),
    ] {
        columns.set(ColumnKey::Id(id), int(value));
    }
    columns
}

/// Adds the visit metrics of `group` to the row `label` of `table`
/// (`sumRowWithLabel`). Groups that end up with the same label are summed,
/// unique visitors and users included, as Matomo sums them; `max_actions`
/// keeps the maximum.
pub(crate) fn sum_visits(
    table: &mut DataTable,
    label: &str,
    group: &VisitGroup,
) -> Result<(), ArchiveError> {
    table.sum_row_with_label(label, visit_columns(group))?;
    Ok(())
}

/// The label of a SQL value: NULL becomes the empty label, as PHP turns a
/// NULL array key into `""`.
pub(crate) fn label_of(labels: &[Option<String>], index: usize) -> &str {
    labels.get(index).and_then(Option::as_deref).unwrap_or("")
}

/// PHP's `empty()` on a label: NULL, `""` and `"0"`.
pub(crate) fn php_empty(label: Option<&str>) -> bool {
    label.is_none_or(|text| text.is_empty() || text == "0")
}

/// Whether SQL's `value != ''` is not true: NULL, or a value that
/// MariaDB's PAD SPACE collations compare equal to `''` (only spaces).
pub(crate) fn sql_empty(value: Option<&str>) -> bool {
    value.is_none_or(|text| text.trim_end_matches(' ').is_empty())
}

/// Sums `columns` into the row `label` of `row`'s subtable
/// (`sumRowWithLabelToSubtable`), creating the subtable, with `ops`, on
/// first use.
pub(crate) fn sum_to_subtable(
    row: &mut tally_datatable::Row,
    label: &str,
    columns: Columns,
    ops: &tally_datatable::AggregationOps,
) -> Result<(), ArchiveError> {
    let subtable = row.subtable.get_or_insert_with(|| {
        let mut table = DataTable::new();
        table.aggregation_ops = ops.clone();
        Box::new(table)
    });
    subtable.sum_row_with_label(label, columns)?;
    Ok(())
}

/// A count that a query returns as a DOUBLE (a SUM of 0/1 flags, or of
/// milliseconds): exact below 2^53; NULL, negative or NaN reads as 0.
pub(crate) fn count(value: Option<f64>) -> u64 {
    // `as` saturates and maps NaN to 0, which is what a count wants.
    value.unwrap_or(0.0).round() as u64
}
