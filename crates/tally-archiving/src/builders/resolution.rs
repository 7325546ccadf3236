//! Resolution: visits by screen resolution and by configuration (MATOMO.md
//! section 7.5; Matomo's `plugins/Resolution/RecordBuilders/*.php`).

use tally_datatable::DataTable;

use crate::ArchiveError;
use crate::builders::{MAX_ROWS_STANDARD, label_of, sum_visits};
use crate::context::{DayContext, SharedScan};
use crate::grouping::group_visit_dimensions;
use crate::record::{Record, RecordBuilder};

/// [`Resolution::RESOLUTION`] and [`Resolution::CONFIGURATION`].
///
/// Rows carry the 8 visit metrics keyed by id (1, 2, 3, 39, 4, 5, 6, 7).
/// Resolution labels are `config_resolution` as stored; labels of at most
/// 5 bytes (empty, NULL, `0x0`, `80x60`) are left out, as Matomo's
/// `strlen($value) <= 5` filter drops them. `unknown` has 7 bytes and is
/// kept, as in Matomo (MATOMO.md's "e.g. `unknown`" does not match
/// Matomo's code). Configuration labels are
/// `os;browser;resolution` (`CONCAT` of `config_os`, `config_browser_name`
/// and `config_resolution`; the empty label when any is NULL). Longer
/// periods use the default aggregation.
///
/// Differences from Matomo: none known (Matomo stores no goal metrics here).
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Top-level rows of each report
    /// (`datatable_archiving_maximum_rows_standard`, default 500).
    pub max_rows: usize,
}

impl Default for Resolution {
    fn default() -> Self {
        Self {
            max_rows: MAX_ROWS_STANDARD,
        }
    }
}

impl Resolution {
    /// Screen resolutions (`WxH`).
    pub const RESOLUTION: &'static str = "Resolution_resolution";
    /// `os;browser;resolution` combinations.
    pub const CONFIGURATION: &'static str = "Resolution_configuration";
}

/// Labels this short are not resolutions (Matomo's `strlen($value) <= 5`).
fn is_resolution(label: &str) -> bool {
    label.len() > 5
}

impl RecordBuilder for Resolution {
    fn plugin(&self) -> &str {
        "Resolution"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn records(&self) -> Vec<Record> {
        vec![
            Record::blob(Self::RESOLUTION).max_rows(self.max_rows, 0),
            Record::blob(Self::CONFIGURATION).max_rows(self.max_rows, 0),
        ]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        // Both from the shared visit scan, labelled as Matomo's SQL labels
        // them: `config_resolution`, and `CONCAT(config_os, ';',
        // config_browser_name, ';', config_resolution)` (NULL when a part is).
        let visits = ctx.visit_dimensions()?;
        let mut resolutions = DataTable::new();
        for group in &group_visit_dimensions(&visits, |v, key| {
            key.push(v.resolution.as_deref());
            true
        }) {
            let label = label_of(&group.labels, 0);
            if is_resolution(label) {
                sum_visits(&mut resolutions, label, group)?;
            }
        }
        let mut configurations = DataTable::new();
        for group in &group_visit_dimensions(&visits, |v, key| {
            key.push_concat(&[
                v.os.as_deref(),
                Some(";"),
                v.browser_name.as_deref(),
                Some(";"),
                v.resolution.as_deref(),
            ]);
            true
        }) {
            sum_visits(&mut configurations, label_of(&group.labels, 0), group)?;
        }
        for (name, table) in [
            (Self::RESOLUTION, resolutions),
            (Self::CONFIGURATION, configurations),
        ] {
            if table.rows_count() > 0 {
                ctx.insert_table(name, table);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_labels_are_not_resolutions() {
        assert!(is_resolution("1920x1080"));
        assert!(is_resolution("unknown"));
        assert!(is_resolution("800x60"));
        assert!(!is_resolution("80x60"));
        assert!(!is_resolution(""));
    }
}
