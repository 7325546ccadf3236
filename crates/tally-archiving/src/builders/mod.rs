//! The core record builders, one module per plugin.

mod actions;
mod device_plugins;
mod devices_detection;
mod resolution;
mod user_country;
mod user_language;
mod visit_time;
mod visitor_interest;
mod visits_summary;

pub use actions::Actions;
pub use device_plugins::DevicePlugins;
pub use devices_detection::DevicesDetection;
pub use resolution::Resolution;
pub use user_country::UserCountry;
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
