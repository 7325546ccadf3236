//! DevicesDetection: visits by device type, brand and model, operating
//! system and version, browser, browser version and engine (MATOMO.md
//! section 7.5; Matomo's `plugins/DevicesDetection/RecordBuilders/*.php`).

use tally_datatable::DataTable;

use crate::ArchiveError;
use crate::builders::goals::{enrich_with_goal_sums, goal_metric_columns};
use crate::builders::{MAX_ROWS_STANDARD, label_of, sum_visits};
use crate::context::DayContext;
use crate::record::{Record, RecordBuilder};

/// The eight DevicesDetection reports, one GROUP BY each.
///
/// Rows carry the 8 visit metrics keyed by id (1, 2, 3, 39, 4, 5, 6, 7).
/// Labels are the stored `config_*` values, NULL giving the empty label:
/// device type ids (`1` smartphone...), brand names, `brand;model`, OS
/// codes, `os;version` (a missing version leaves `os;`), browser codes,
/// `browser;version` and engine names; a `brand;model` or
/// `browser;version` with either part NULL is the empty label, as
/// MariaDB's `CONCAT` makes it NULL. Longer periods use the default
/// aggregation (tables merged by label, unique visitors and users renamed
/// to their `sum_daily_*` columns).
///
/// Type, brand, model and browser rows also carry goal metrics (column 10
/// per goal, then the `nb_conversions` / `revenue` sums), from the same
/// label over the `config_*` columns that `log_conversion` mirrors, as
/// Matomo's `enrichWithConversionMetrics`; a label with conversions but no
/// visit in the period gets `nb_visits` 0.
///
/// Differences from Matomo:
/// - No `DevicesDetection_clientTypes` record (added by later Matomo 5
///   releases; MATOMO.md does not list it).
#[derive(Debug, Clone)]
pub struct DevicesDetection {
    /// Top-level rows of each report
    /// (`datatable_archiving_maximum_rows_standard`, default 500).
    pub max_rows: usize,
}

impl Default for DevicesDetection {
    fn default() -> Self {
        Self {
            max_rows: MAX_ROWS_STANDARD,
        }
    }
}

impl DevicesDetection {
    /// Device types (`config_device_type`).
    pub const TYPES: &'static str = "DevicesDetection_types";
    /// Device brands (`config_device_brand`).
    pub const BRANDS: &'static str = "DevicesDetection_brands";
    /// Device models, labelled `brand;model`.
    pub const MODELS: &'static str = "DevicesDetection_models";
    /// Operating system codes (`config_os`).
    pub const OS: &'static str = "DevicesDetection_os";
    /// Operating system versions, labelled `os;version`.
    pub const OS_VERSIONS: &'static str = "DevicesDetection_osVersions";
    /// Browser codes (`config_browser_name`).
    pub const BROWSERS: &'static str = "DevicesDetection_browsers";
    /// Browser versions, labelled `browser;version`.
    pub const BROWSER_VERSIONS: &'static str = "DevicesDetection_browserVersions";
    /// Browser engines (`config_browser_engine`).
    pub const BROWSER_ENGINES: &'static str = "DevicesDetection_browserEngines";
}

/// Each record, the SQL expression of its label, and the same label over
/// `log_conversion` for the reports with goal metrics.
const REPORTS: [(&str, &str, Option<&str>); 8] = [
    (
        DevicesDetection::TYPES,
        "log_visit.config_device_type",
        Some("log_conversion.config_device_type"),
    ),
    (
        DevicesDetection::BRANDS,
        "log_visit.config_device_brand",
        Some("log_conversion.config_device_brand"),
    ),
    (
        DevicesDetection::MODELS,
        "CONCAT(log_visit.config_device_brand, ';', log_visit.config_device_model)",
        Some("CONCAT(log_conversion.config_device_brand, ';', log_conversion.config_device_model)"),
    ),
    (DevicesDetection::OS, "log_visit.config_os", None),
    (
        DevicesDetection::OS_VERSIONS,
        "CONCAT(log_visit.config_os, ';', COALESCE(log_visit.config_os_version, ''))",
        None,
    ),
    (
        DevicesDetection::BROWSERS,
        "log_visit.config_browser_name",
        Some("log_conversion.config_browser_name"),
    ),
    (
        DevicesDetection::BROWSER_VERSIONS,
        "CONCAT(log_visit.config_browser_name, ';', log_visit.config_browser_version)",
        None,
    ),
    (
        DevicesDetection::BROWSER_ENGINES,
        "log_visit.config_browser_engine",
        None,
    ),
];

impl RecordBuilder for DevicesDetection {
    fn plugin(&self) -> &str {
        "DevicesDetection"
    }

    fn records(&self) -> Vec<Record> {
        REPORTS
            .iter()
            .map(|(name, _, _)| Record::blob(*name).max_rows(self.max_rows, self.max_rows))
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let logs = ctx.logs();
        for (name, dimension, conversions) in REPORTS {
            let groups = logs.query_visits_by_dimension(ctx.conn(), &[dimension])?;
            let mut table = DataTable::new();
            for group in &groups {
                sum_visits(&mut table, label_of(&group.labels, 0), group)?;
            }
            if let Some(conversions) = conversions {
                for group in logs.query_conversions_by_dimension(ctx.conn(), &[conversions])? {
                    table.sum_row_with_label(
                        label_of(&group.labels, 0),
                        goal_metric_columns(&group),
                    )?;
                }
                enrich_with_goal_sums(&mut table);
            }
            if table.rows_count() > 0 {
                ctx.insert_table(name, table);
            }
        }
        Ok(())
    }
}
