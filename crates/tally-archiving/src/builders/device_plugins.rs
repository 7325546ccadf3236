//! DevicePlugins: visits by browser plugin (MATOMO.md section 7.5; Matomo's
//! `plugins/DevicePlugins/RecordBuilders/DevicePlugins.php`).

use tally_datatable::{DataTable, Row, metrics};

use crate::ArchiveError;
use crate::builders::{MAX_ROWS_STANDARD, int};
use crate::context::DayContext;
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

/// Each row label and the condition of the visits it counts.
const PLUGINS: [(&str, &str); 8] = [
    ("cookie", "log_visit.config_cookie = 1"),
    ("flash", "log_visit.config_flash = 1"),
    ("java", "log_visit.config_java = 1"),
    ("pdf", "log_visit.config_pdf = 1"),
    ("quicktime", "log_visit.config_quicktime = 1"),
    ("realplayer", "log_visit.config_realplayer = 1"),
    ("silverlight", "log_visit.config_silverlight = 1"),
    ("windowsmedia", "log_visit.config_windowsmedia = 1"),
];

impl RecordBuilder for DevicePlugins {
    fn plugin(&self) -> &str {
        "DevicePlugins"
    }

    fn records(&self) -> Vec<Record> {
        vec![Record::blob(Self::PLUGIN).max_rows(MAX_ROWS_STANDARD, 0)]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let conditions = PLUGINS.map(|(_, condition)| condition);
        let logs = ctx.logs();
        let counts = logs.count_visits_matching(ctx.conn(), &conditions)?;
        let mut table = DataTable::new();
        for ((label, _), visits) in PLUGINS.iter().zip(counts) {
            table.add_row(Row::new(*label).with(metrics::NB_VISITS, int(visits)))?;
        }
        ctx.insert_table(Self::PLUGIN, table);
        Ok(())
    }
}
