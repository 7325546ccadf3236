//! Matomo's metric column ids (`core/Metrics.php`) and their names.
//!
//! Archived tables key their metric columns by these small integers to save
//! space; the API replaces them with names (`ReplaceColumnNames`).

/// `nb_uniq_visitors`.
pub const NB_UNIQ_VISITORS: u16 = 1;
/// `nb_visits`.
pub const NB_VISITS: u16 = 2;
/// `nb_actions`.
pub const NB_ACTIONS: u16 = 3;
/// `max_actions`: always aggregated with `max`.
pub const MAX_ACTIONS: u16 = 4;
/// `sum_visit_length`.
pub const SUM_VISIT_LENGTH: u16 = 5;
/// `bounce_count`.
pub const BOUNCE_COUNT: u16 = 6;
/// `nb_visits_converted`.
pub const NB_VISITS_CONVERTED: u16 = 7;
/// `nb_conversions`.
pub const NB_CONVERSIONS: u16 = 8;
/// `revenue`.
pub const REVENUE: u16 = 9;
/// `goals`: the nested per-goal metrics, keyed `idgoal=N` when rendered.
pub const GOALS: u16 = 10;
/// `sum_daily_nb_uniq_visitors`.
pub const SUM_DAILY_NB_UNIQ_VISITORS: u16 = 11;
/// `nb_hits`.
pub const NB_HITS: u16 = 12;
/// `exit_nb_uniq_visitors`.
pub const EXIT_NB_UNIQ_VISITORS: u16 = 14;
/// `sum_daily_exit_nb_uniq_visitors`.
pub const SUM_DAILY_EXIT_NB_UNIQ_VISITORS: u16 = 16;
/// `entry_nb_uniq_visitors`.
pub const ENTRY_NB_UNIQ_VISITORS: u16 = 17;
/// `sum_daily_entry_nb_uniq_visitors`.
pub const SUM_DAILY_ENTRY_NB_UNIQ_VISITORS: u16 = 18;
/// `nb_users`.
pub const NB_USERS: u16 = 39;
/// `sum_daily_nb_users`.
pub const SUM_DAILY_NB_USERS: u16 = 40;
/// `sum_time_spent`.
pub const SUM_TIME_SPENT: u16 = 13;
/// `exit_nb_visits`.
pub const EXIT_NB_VISITS: u16 = 15;
/// `nb_events`: event hits.
pub const NB_EVENTS: u16 = 34;
/// `sum_event_value`.
pub const SUM_EVENT_VALUE: u16 = 35;
/// `min_event_value`: aggregated with `min`.
pub const MIN_EVENT_VALUE: u16 = 36;
/// `max_event_value`: aggregated with `max`.
pub const MAX_EVENT_VALUE: u16 = 37;
/// `nb_events_with_value`.
pub const NB_EVENTS_WITH_VALUE: u16 = 38;
/// `nb_impressions` (content impressions).
pub const NB_IMPRESSIONS: u16 = 41;
/// `nb_interactions` (content interactions).
pub const NB_INTERACTIONS: u16 = 42;
/// `revenue` of an ecommerce item row (`INDEX_ECOMMERCE_ITEM_REVENUE`).
pub const ECOMMERCE_ITEM_REVENUE: u16 = 23;
/// `quantity` of an ecommerce item row.
pub const ECOMMERCE_ITEM_QUANTITY: u16 = 24;
/// `price` of an ecommerce item row (sum of item prices).
pub const ECOMMERCE_ITEM_PRICE: u16 = 25;
/// `orders` of an ecommerce item row (visits for abandoned carts).
pub const ECOMMERCE_ORDERS: u16 = 26;
/// `price_viewed` of an ecommerce item row.
pub const ECOMMERCE_ITEM_PRICE_VIEWED: u16 = 27;
/// Goal metric `nb_conversions`, inside `goals` (`INDEX_GOAL_NB_CONVERSIONS`).
pub const GOAL_NB_CONVERSIONS: u16 = 1;
/// Goal metric `revenue`, inside `goals`.
pub const GOAL_REVENUE: u16 = 2;
/// Goal metric `nb_visits_converted`, inside `goals`.
pub const GOAL_NB_VISITS_CONVERTED: u16 = 3;
/// Goal metric `revenue_subtotal` (orders), inside `goals`.
pub const GOAL_REVENUE_SUBTOTAL: u16 = 4;
/// Goal metric `revenue_tax` (orders), inside `goals`.
pub const GOAL_REVENUE_TAX: u16 = 5;
/// Goal metric `revenue_shipping` (orders), inside `goals`.
pub const GOAL_REVENUE_SHIPPING: u16 = 6;
/// Goal metric `revenue_discount` (orders), inside `goals`.
pub const GOAL_REVENUE_DISCOUNT: u16 = 7;
/// Goal metric `items` (orders and carts), inside `goals`.
pub const GOAL_ITEMS: u16 = 8;
/// Goal metric `nb_conv_pages_before` of page rows: the most pages a
/// converting visit viewed before converting.
pub const GOAL_NB_CONV_PAGES_BEFORE: u16 = 9;
/// Goal metric `nb_conversions_attrib` of page rows: conversions shared
/// among the pages viewed before them.
pub const GOAL_NB_CONVERSIONS_ATTRIB: u16 = 10;
/// Goal metric `nb_conversions_page_rate` of page rows (stored 0, computed
/// at API time).
pub const GOAL_NB_CONVERSIONS_PAGE_RATE: u16 = 11;
/// Goal metric `nb_conversions_page_uniq` of page rows.
pub const GOAL_NB_CONVERSIONS_PAGE_UNIQ: u16 = 12;
/// Goal metric `nb_conversions_entry_rate` of entry page rows.
pub const GOAL_NB_CONVERSIONS_ENTRY_RATE: u16 = 13;
/// Goal metric `revenue_per_entry` of entry page rows.
pub const GOAL_REVENUE_PER_ENTRY: u16 = 14;
/// Goal metric `revenue_attrib` of page rows.
pub const GOAL_REVENUE_ATTRIB: u16 = 15;
/// Goal metric `nb_conversions_entry` of entry page rows.
pub const GOAL_NB_CONVERSIONS_ENTRY: u16 = 16;
/// Goal metric `revenue_entry` of entry page rows.
pub const GOAL_REVENUE_ENTRY: u16 = 17;

/// Metric names indexed by id (`Metrics::$mappingFromIdToName`); index 0 is unused.
const METRIC_NAMES: [&str; 44] = [
    "",
    "nb_uniq_visitors",
    "nb_visits",
    "nb_actions",
    "max_actions",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
    "nb_conversions",
    "revenue",
    "goals",
    "sum_daily_nb_uniq_visitors",
    "nb_hits",
    "sum_time_spent",
    "exit_nb_uniq_visitors",
    "exit_nb_visits",
    "sum_daily_exit_nb_uniq_visitors",
    "entry_nb_uniq_visitors",
    "sum_daily_entry_nb_uniq_visitors",
    "entry_nb_visits",
    "entry_nb_actions",
    "entry_sum_visit_length",
    "entry_bounce_count",
    "revenue",
    "quantity",
    "price",
    "orders",
    "price_viewed",
    // Id 28 is the internal site-search "has no result" flag: Matomo gives it
    // no name and deletes it before output.
    "",
    "nb_hits_following_search",
    "sum_time_generation",
    "nb_hits_with_time_generation",
    "min_time_generation",
    "max_time_generation",
    "nb_events",
    "sum_event_value",
    "min_event_value",
    "max_event_value",
    "nb_events_with_value",
    "nb_users",
    "sum_daily_nb_users",
    "nb_impressions",
    "nb_interactions",
    "nb_uniq_fingerprints",
];

/// Goal metric names indexed by id (`Metrics::$mappingFromIdToNameGoal`); index 0 is unused.
const GOAL_METRIC_NAMES: [&str; 18] = [
    "",
    "nb_conversions",
    "revenue",
    "nb_visits_converted",
    "revenue_subtotal",
    "revenue_tax",
    "revenue_shipping",
    "revenue_discount",
    "items",
    "nb_conv_pages_before",
    "nb_conversions_attrib",
    "nb_conversions_page_rate",
    "nb_conversions_page_uniq",
    "nb_conversions_entry_rate",
    "revenue_per_entry",
    "revenue_attrib",
    "nb_conversions_entry",
    "revenue_entry",
];

/// Returns the name of metric `id` (Matomo's 1–43, and our page-timing ids
/// from [`PAGE_TIMING_FIRST_ID`]), or `None` for an unknown id and for the
/// unnamed internal id 28.
pub fn metric_name(id: u16) -> Option<&'static str> {
    if let Some(index) = id.checked_sub(BANDWIDTH_FIRST_ID) {
        return BANDWIDTH_NAMES.get(usize::from(index)).copied();
    }
    if let Some(index) = id.checked_sub(PAGE_TIMING_FIRST_ID) {
        return PAGE_TIMING_NAMES.get(usize::from(index)).copied();
    }
    METRIC_NAMES
        .get(usize::from(id))
        .copied()
        .filter(|name| !name.is_empty())
}

/// Returns the id of a metric name.
///
/// Returns `None` for names that have no id.
pub fn metric_id(name: &str) -> Option<u16> {
    let matomo = METRIC_NAMES
        .iter()
        .position(|candidate| !candidate.is_empty() && *candidate == name);
    let index = match matomo {
        Some(index) => index,
        None => match PAGE_TIMING_NAMES
            .iter()
            .position(|candidate| *candidate == name)
        {
            Some(index) => index + usize::from(PAGE_TIMING_FIRST_ID),
            None => {
                BANDWIDTH_NAMES
                    .iter()
                    .position(|candidate| *candidate == name)?
                    + usize::from(BANDWIDTH_FIRST_ID)
            }
        },
    };
    u16::try_from(index).ok()
}

/// The first of the ids under which archives store the 24 page-timing
/// columns of Actions rows (`sum_time_network`, `nb_hits_with_time_network`,
/// `min_time_network`, `max_time_network`, then server, transfer,
/// dom_processing, dom_completion, on_load). Matomo keys them by name
/// only; ids keep merges of day tables to integer compares, and the API
/// shows the names ([`metric_name`]). Far above Matomo's 1–43 so that a
/// future Matomo id cannot collide.
pub const PAGE_TIMING_FIRST_ID: u16 = 200;

const PAGE_TIMING_NAMES: [&str; 24] = [
    "sum_time_network",
    "nb_hits_with_time_network",
    "min_time_network",
    "max_time_network",
    "sum_time_server",
    "nb_hits_with_time_server",
    "min_time_server",
    "max_time_server",
    "sum_time_transfer",
    "nb_hits_with_time_transfer",
    "min_time_transfer",
    "max_time_transfer",
    "sum_time_dom_processing",
    "nb_hits_with_time_dom_processing",
    "min_time_dom_processing",
    "max_time_dom_processing",
    "sum_time_dom_completion",
    "nb_hits_with_time_dom_completion",
    "min_time_dom_completion",
    "max_time_dom_completion",
    "sum_time_on_load",
    "nb_hits_with_time_on_load",
    "min_time_on_load",
    "max_time_on_load",
];

/// The ids of the Bandwidth plugin's four columns of Actions rows
/// (`sum_bandwidth`, `nb_hits_with_bandwidth`, `min_bandwidth`,
/// `max_bandwidth`): Matomo's own (`Bandwidth\Metrics::METRICS_PAGE_*`,
/// 1090–1093), under which its archives store them too.
pub const BANDWIDTH_FIRST_ID: u16 = 1090;

/// `sum_bandwidth` (bytes of the hits with a size).
pub const SUM_BANDWIDTH: u16 = BANDWIDTH_FIRST_ID;
/// `nb_hits_with_bandwidth`.
pub const NB_HITS_WITH_BANDWIDTH: u16 = BANDWIDTH_FIRST_ID + 1;
/// `min_bandwidth`.
pub const MIN_BANDWIDTH: u16 = BANDWIDTH_FIRST_ID + 2;
/// `max_bandwidth`.
pub const MAX_BANDWIDTH: u16 = BANDWIDTH_FIRST_ID + 3;

const BANDWIDTH_NAMES: [&str; 4] = [
    "sum_bandwidth",
    "nb_hits_with_bandwidth",
    "min_bandwidth",
    "max_bandwidth",
];

/// Returns the name of goal metric `id` (1–17), or `None` for an unknown id.
pub fn goal_metric_name(id: u16) -> Option<&'static str> {
    GOAL_METRIC_NAMES
        .get(usize::from(id))
        .copied()
        .filter(|name| !name.is_empty())
}

/// Returns the id of a goal metric name.
pub fn goal_metric_id(name: &str) -> Option<u16> {
    GOAL_METRIC_NAMES
        .iter()
        .position(|candidate| !candidate.is_empty() && *candidate == name)
        .and_then(|index| u16::try_from(index).ok())
}

/// Renames applied to every blob record after aggregating day tables (§7.6).
pub const RENAME_AFTER_AGGREGATION: [(u16, u16); 2] = [
    (NB_UNIQ_VISITORS, SUM_DAILY_NB_UNIQ_VISITORS),
    (NB_USERS, SUM_DAILY_NB_USERS),
];

/// Renames applied to Actions records after aggregating day tables (§7.6).
pub const RENAME_AFTER_AGGREGATION_ACTIONS: [(u16, u16); 4] = [
    (NB_UNIQ_VISITORS, SUM_DAILY_NB_UNIQ_VISITORS),
    (NB_USERS, SUM_DAILY_NB_USERS),
    (ENTRY_NB_UNIQ_VISITORS, SUM_DAILY_ENTRY_NB_UNIQ_VISITORS),
    (EXIT_NB_UNIQ_VISITORS, SUM_DAILY_EXIT_NB_UNIQ_VISITORS),
];

#[cfg(test)]
mod tests {
    #[test]
    fn page_timing_ids_round_trip() {
        for offset in 0..24u16 {
            let id = PAGE_TIMING_FIRST_ID + offset;
            let name = metric_name(id).expect("named");
            assert_eq!(metric_id(name), Some(id));
        }
        assert_eq!(metric_name(PAGE_TIMING_FIRST_ID + 24), None);
        assert_eq!(metric_id("max_time_on_load"), Some(223));
    }

    #[test]
    fn bandwidth_ids_are_matomos() {
        assert_eq!(metric_name(1090), Some("sum_bandwidth"));
        assert_eq!(metric_name(MAX_BANDWIDTH), Some("max_bandwidth"));
        assert_eq!(metric_id("nb_hits_with_bandwidth"), Some(1091));
        assert_eq!(metric_id("min_bandwidth"), Some(MIN_BANDWIDTH));
        assert_eq!(metric_name(1094), None);
        // Between the page timings and the bandwidth: no names.
        assert_eq!(metric_name(500), None);
    }

    use super::*;

    #[test]
    fn ids_and_names_match_matomo_table() {
        assert_eq!(metric_name(1), Some("nb_uniq_visitors"));
        assert_eq!(metric_name(2), Some("nb_visits"));
        assert_eq!(metric_name(10), Some("goals"));
        assert_eq!(metric_name(23), Some("revenue"));
        assert_eq!(metric_name(43), Some("nb_uniq_fingerprints"));
        assert_eq!(metric_name(0), None);
        assert_eq!(metric_name(44), None);
        assert_eq!(metric_id("revenue"), Some(9));
        assert_eq!(metric_id("sum_daily_nb_users"), Some(40));
        assert_eq!(metric_id("label"), None);
        assert_eq!(goal_metric_name(8), Some("items"));
        assert_eq!(goal_metric_name(17), Some("revenue_entry"));
        assert_eq!(goal_metric_id("nb_visits_converted"), Some(3));
        assert_eq!(goal_metric_name(18), None);
    }
}
