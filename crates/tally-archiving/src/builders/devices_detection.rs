//! DevicesDetection: visits by device type, brand and model, operating
//! system and version, browser, browser version and engine (MATOMO.md
//! section 7.5; Matomo's `plugins/DevicesDetection/RecordBuilders/*.php`).

use tally_datatable::DataTable;

use crate::ArchiveError;
use crate::builders::goals::{enrich_with_goal_sums, goal_metric_columns};
use crate::builders::{MAX_ROWS_STANDARD, label_of, sum_visits};
use crate::context::{DayContext, SharedScan};
use crate::grouping::{KeyBuf, group_visit_dimensions};
use crate::logs::VisitDimensions;
use crate::record::{Record, RecordBuilder};

/// The eight DevicesDetection reports, grouped from the shared visit
/// dimension scan (one read of the day's visits for all eight).
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

/// Each record, its label as the SQL `GROUP BY` of Matomo's query would
/// give it (`CONCAT` is NULL when a part is), and the same label over
/// `log_conversion` for the reports with goal metrics.
type Label = fn(&VisitDimensions, &mut KeyBuf);

const REPORTS: [(&str, Label, Option<&str>); 8] = [
    (
        DevicesDetection::TYPES,
        |v, key| key.push_int(v.device_type.map(i64::from)),
        Some("log_conversion.config_device_type"),
    ),
    (
        DevicesDetection::BRANDS,
        |v, key| key.push(v.device_brand.as_deref()),
        Some("log_conversion.config_device_brand"),
    ),
    (
        DevicesDetection::MODELS,
        |v, key| {
            key.push_concat(&[
                v.device_brand.as_deref(),
                Some(";"),
                v.device_model.as_deref(),
            ]);
        },
        Some("CONCAT(log_conversion.config_device_brand, ';', log_conversion.config_device_model)"),
    ),
    (
        DevicesDetection::OS,
        |v, key| key.push(v.os.as_deref()),
        None,
    ),
    (
        DevicesDetection::OS_VERSIONS,
        |v, key| {
            key.push_concat(&[
                v.os.as_deref(),
                Some(";"),
                Some(v.os_version.as_deref().unwrap_or("")),
            ]);
        },
        None,
    ),
    (
        DevicesDetection::BROWSERS,
        |v, key| key.push(v.browser_name.as_deref()),
        Some("log_conversion.config_browser_name"),
    ),
    (
        DevicesDetection::BROWSER_VERSIONS,
        |v, key| {
            key.push_concat(&[
                v.browser_name.as_deref(),
                Some(";"),
                v.browser_version.as_deref(),
            ]);
        },
        None,
    ),
    (
        DevicesDetection::BROWSER_ENGINES,
        |v, key| key.push(v.browser_engine.as_deref()),
        None,
    ),
];

impl RecordBuilder for DevicesDetection {
    fn plugin(&self) -> &str {
        "DevicesDetection"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn records(&self) -> Vec<Record> {
        REPORTS
            .iter()
            .map(|(name, _, _)| Record::blob(*name).max_rows(self.max_rows, self.max_rows))
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let logs = ctx.logs();
        let visits = ctx.visit_dimensions()?;
        for (name, label, conversions) in REPORTS {
            let groups = group_visit_dimensions(&visits, |v, key| {
                label(v, key);
                true
            });
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
