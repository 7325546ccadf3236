//! Bandwidth: the site's total response sizes (Matomo's Bandwidth plugin,
//! `RecordBuilders/TotalOverall.php`, `TotalPage.php`, `TotalDownload.php`).
//! The per-row columns (`sum_bandwidth`...) are stored by the Actions
//! reports.

use tally_schema::ActionType;

use crate::ArchiveError;
use crate::context::{DayContext, SharedScan};
use crate::logs::ActionRow;
use crate::record::{Record, RecordBuilder};

/// Three numeric records, in bytes: the sizes of every action that has one
/// (`bandwidth` not NULL, any type: events included), of those whose URL
/// is a page URL, and of those whose URL is a download. Longer periods sum
/// them. Folded from the shared action scan, which the Actions builder
/// reads anyway; the action types are looked up only for the actions with
/// a size.
///
/// Differences from Matomo: none known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bandwidth;

impl Bandwidth {
    /// All sized actions (`nb_total_overall_bandwidth`).
    pub const TOTAL_OVERALL: &'static str = "Bandwidth_nb_total_overall";
    /// Page views (`nb_total_pageview_bandwidth`).
    pub const TOTAL_PAGEVIEW: &'static str = "Bandwidth_nb_total_pageurl";
    /// Downloads (`nb_total_download_bandwidth`).
    pub const TOTAL_DOWNLOAD: &'static str = "Bandwidth_nb_total_download";
}

impl RecordBuilder for Bandwidth {
    fn plugin(&self) -> &str {
        "Bandwidth"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::Actions]
    }

    fn records(&self) -> Vec<Record> {
        [
            Self::TOTAL_OVERALL,
            Self::TOTAL_PAGEVIEW,
            Self::TOTAL_DOWNLOAD,
        ]
        .into_iter()
        .map(Record::numeric)
        .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let actions = ctx.actions()?;
        let sized: Vec<&ActionRow> = actions
            .iter()
            .filter(|action| action.bandwidth.is_some())
            .collect();
        let names = ctx.action_names(sized.iter().filter_map(|action| action.idaction_url))?;
        let (mut overall, mut pages, mut downloads) = (0u64, 0u64, 0u64);
        for action in sized {
            let bytes = action.bandwidth.unwrap_or(0);
            overall = overall.saturating_add(bytes);
            let kind = action
                .idaction_url
                .and_then(|id| names.get(&id))
                .and_then(|name| name.action_type);
            match kind {
                Some(ActionType::PageUrl) => pages = pages.saturating_add(bytes),
                Some(ActionType::Download) => downloads = downloads.saturating_add(bytes),
                _ => {}
            }
        }
        for (name, total) in [
            (Self::TOTAL_OVERALL, overall),
            (Self::TOTAL_PAGEVIEW, pages),
            (Self::TOTAL_DOWNLOAD, downloads),
        ] {
            // Exact below 2^53 bytes (8 PB a period).
            #[expect(clippy::cast_precision_loss, reason = "see above")]
            ctx.insert_numeric(name, total as f64);
        }
        Ok(())
    }
}
