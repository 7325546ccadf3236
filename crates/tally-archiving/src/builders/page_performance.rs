//! PagePerformance: the site-wide page load timing totals (MATOMO.md
//! section 7.5; Matomo's
//! `plugins/PagePerformance/RecordBuilders/PerformanceTotals.php`).

use crate::ArchiveError;
use crate::context::{DayContext, SharedScan};
use crate::record::{Record, RecordBuilder};

/// Fourteen numeric records: for each timing (network, server, transfer,
/// DOM processing, DOM completion, on load) the total in milliseconds and
/// the number of actions that have it, plus the page load total (the sum
/// of all six, a missing one counting 0) and the number of actions with at
/// least one timing. Only actions with at least one timing count, whatever
/// their type, as Matomo's query does. The averages (`avg_time_network`,
/// `avg_page_load_time`...) are processed metrics of the API and not
/// stored; per-page timings are stored by the Actions reports. Longer
/// periods sum the totals.
///
/// The day is folded from the shared action scan (which the Actions
/// builder reads anyway), not from a query of its own.
///
/// Differences from Matomo: none known.
#[derive(Debug, Clone, Copy, Default)]
pub struct PagePerformance;

impl PagePerformance {
    /// Network time total (ms).
    pub const NETWORK_TIME: &'static str = "PagePerformance_network_time";
    /// Actions with a network time.
    pub const NETWORK_HITS: &'static str = "PagePerformance_network_hits";
    /// Server time total (ms); the record name is Matomo's, typo included.
    pub const SERVER_TIME: &'static str = "PagePerformance_servery_time";
    /// Actions with a server time.
    pub const SERVER_HITS: &'static str = "PagePerformance_server_hits";
    /// Transfer time total (ms).
    pub const TRANSFER_TIME: &'static str = "PagePerformance_transfer_time";
    /// Actions with a transfer time.
    pub const TRANSFER_HITS: &'static str = "PagePerformance_transfer_hits";
    /// DOM processing time total (ms).
    pub const DOM_PROCESSING_TIME: &'static str = "PagePerformance_domprocessing_time";
    /// Actions with a DOM processing time.
    pub const DOM_PROCESSING_HITS: &'static str = "PagePerformance_domprocessing_hits";
    /// DOM completion time total (ms).
    pub const DOM_COMPLETION_TIME: &'static str = "PagePerformance_domcompletion_time";
    /// Actions with a DOM completion time.
    pub const DOM_COMPLETION_HITS: &'static str = "PagePerformance_domcompletion_hits";
    /// On load time total (ms).
    pub const ON_LOAD_TIME: &'static str = "PagePerformance_onload_time";
    /// Actions with an on load time.
    pub const ON_LOAD_HITS: &'static str = "PagePerformance_onload_hits";
    /// Page load time total (ms): all six timings.
    pub const PAGE_LOAD_TIME: &'static str = "PagePerformance_pageload_time";
    /// Actions with at least one timing.
    pub const PAGE_LOAD_HITS: &'static str = "PagePerformance_pageload_hits";
}

/// (total, hits) record names, in `ActionRow::timings` order, then the
/// page load pair.
const RECORDS: [(&str, &str); 7] = [
    (PagePerformance::NETWORK_TIME, PagePerformance::NETWORK_HITS),
    (PagePerformance::SERVER_TIME, PagePerformance::SERVER_HITS),
    (
        PagePerformance::TRANSFER_TIME,
        PagePerformance::TRANSFER_HITS,
    ),
    (
        PagePerformance::DOM_PROCESSING_TIME,
        PagePerformance::DOM_PROCESSING_HITS,
    ),
    (
        PagePerformance::DOM_COMPLETION_TIME,
        PagePerformance::DOM_COMPLETION_HITS,
    ),
    (PagePerformance::ON_LOAD_TIME, PagePerformance::ON_LOAD_HITS),
    (
        PagePerformance::PAGE_LOAD_TIME,
        PagePerformance::PAGE_LOAD_HITS,
    ),
];

impl RecordBuilder for PagePerformance {
    fn plugin(&self) -> &str {
        "PagePerformance"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::Actions]
    }

    fn records(&self) -> Vec<Record> {
        RECORDS
            .iter()
            .flat_map(|(time, hits)| [Record::numeric(*time), Record::numeric(*hits)])
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let actions = ctx.actions()?;
        // Index 6 is the page load total.
        let mut totals = [0u64; 7];
        let mut hits = [0u64; 7];
        for action in actions.iter() {
            if action.timings.iter().all(Option::is_none) {
                continue;
            }
            for (index, timing) in action.timings.iter().enumerate() {
                if let Some(ms) = timing {
                    totals[index] += u64::from(*ms);
                    hits[index] += 1;
                    totals[6] += u64::from(*ms);
                }
            }
            hits[6] += 1;
        }
        for (((time, hit_name), total), count) in RECORDS.iter().zip(totals).zip(hits) {
            #[expect(clippy::cast_precision_loss, reason = "totals are far below 2^53")]
            let (total, count) = (total as f64, count as f64);
            ctx.insert_numeric(time, total);
            ctx.insert_numeric(hit_name, count);
        }
        Ok(())
    }
}
