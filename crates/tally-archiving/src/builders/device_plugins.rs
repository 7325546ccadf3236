//! DevicePlugins: visits by browser plugin (MATOMO.md section 7.5; Matomo's
//! `plugins/DevicePlugins/RecordBuilders/DevicePlugins.php`).

use tally_datatable::{DataTable, Row, metrics};

use crate::ArchiveError;
use crate::builders::{MAX_ROWS_STANDARD, int};
use crate::context::{DayContext, SharedScan};
use crate::record::{Record, RecordBuilder};

/// [`DevicePlugins::PLUGIN`]: one row per plugin flag (`cookie`, `flash`,
/// `java`, `pdf`, `quicktime`, `realplayer`, `silverlight`,
/// `windowsmedia`), always all eight, holding only column 2 (`nb_visits`):
/// the visits whose `config_<plugin>` is 1. The API relates them to the
/// visits of browsers that report plugins at query time. Longer periods use
/// the default aggregation.
///
/// Differences from Matomo: none known (Matomo stores no other metric
/// here).
#[derive(Debug, Clone, Copy, Default)]
pub struct DevicePlugins;

impl DevicePlugins {
    /// Visits per plugin.
    pub const PLUGIN: &'static str = "DevicePlugins_plugin";
}

/// The row labels, in the order of
/// [`crate::logs::VisitDimensions::plugins`]: a row counts the visits
/// whose `config_<label>` is 1.
const PLUGINS: [&str; 8] = [
    "cookie",
    "flash",
    "java",
    "pdf",
    "quicktime",
    "realplayer",
    "silverlight",
    "windowsmedia",
];

impl RecordBuilder for DevicePlugins {
    fn plugin(&self) -> &str {
        "DevicePlugins"
    }

    fn records(&self) -> Vec<Record> {
        vec![Record::blob(Self::PLUGIN).max_rows(MAX_ROWS_STANDARD, 0)]
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        // Counted from the shared visit scan (Matomo: one SUM(CASE ...) per
        // plugin over the day's visits).
        let visits = ctx.visit_dimensions()?;
        let mut counts = [0u64; 8];
        for visit in visits.iter() {
            for (count, flag) in counts.iter_mut().zip(visit.plugins) {
                *count += u64::from(flag == Some(1));
            }
        }
        let mut table = DataTable::new();
        for (label, visits) in PLUGINS.iter().zip(counts) {
            table.add_row(Row::new(*label).with(metrics::NB_VISITS, int(visits)))?;
        }
        ctx.insert_table(Self::PLUGIN, table);
        Ok(())
    }
}
