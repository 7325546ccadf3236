//! The API's meta methods: `API.getReportMetadata`, `API.getMetadata`,
//! `API.getSegmentsMetadata` and `API.getProcessedReport`.
//!
//! Report metadata keeps Matomo's keys and English names (category,
//! subcategory, name, module, action, dimension, metrics, processedMetrics,
//! metricTypes, order, uniqueId, parameters for per-goal and per-dimension
//! reports, actionToLoadSubTables, and the Goals plugin's metricsGoal,
//! processedMetricsGoal and metricTypesGoal). The long `documentation`
//! texts, `relatedReports` and the image-graph URLs are not served (Tally
//! has no ImageGraph plugin).

use diesel::MysqlConnection;
use tally_archiving::period::{DateSelection, parse_date_param, parse_period_kind};
use tally_archiving::{Period, SiteInfo};
use tally_datatable::render::{Report, Tree};
use tally_datatable::{ColumnKey, Columns, DataTable, Scalar, Value};
use tally_management::{Access, Principal};
use tally_schema::codes::PeriodKind;

use crate::ReportingError;
use crate::formatting::Mode;
use crate::methods::{self, Ctx};
use crate::output::Output;
use crate::request::ApiRequest;
use crate::segment_meta::{self, Category};

/// Which metrics a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metrics {
    /// Visit-dimension reports: visits, uniques, actions (+ users), with
    /// actions per visit, time on site, bounce rate, conversion rate.
    Visits,
    /// Page URL / title reports.
    Pages,
    /// Entry pages.
    EntryPages,
    /// Exit pages.
    ExitPages,
    /// Downloads and outlinks.
    Clicks,
    /// Site search keywords and categories.
    SiteSearch,
    /// Events.
    Events,
    /// Content impressions and interactions.
    Contents,
    /// Ecommerce products.
    Products,
    /// The numeric VisitsSummary report.
    Summary,
    /// The numeric Actions report.
    ActionsSummary,
    /// Goal conversions (Goals.get).
    Goals,
    /// Ranges of visits / days until conversion.
    Conversions,
    /// New vs returning visits.
    Frequency,
    /// A visit-scope custom dimension.
    CustomVisits,
    /// An action-scope custom dimension.
    CustomActions,
}

/// One report's metadata.
struct ReportMeta<'a> {
    category: &'static str,
    subcategory: &'a str,
    name: &'a str,
    module: &'static str,
    action: &'static str,
    dimension: Option<&'a str>,
    metrics: Metrics,
    /// The method answering a row's subtable.
    subtable_action: Option<&'static str>,
}

const fn report(
    category: &'static str,
    subcategory: &'static str,
    name: &'static str,
    module: &'static str,
    action: &'static str,
    dimension: Option<&'static str>,
    metrics: Metrics,
) -> ReportMeta<'static> {
    ReportMeta {
        category,
        subcategory,
        name,
        module,
        action,
        dimension,
        metrics,
        subtable_action: None,
    }
}

const fn with_subtable(meta: ReportMeta<'static>, action: &'static str) -> ReportMeta<'static> {
    ReportMeta {
        subtable_action: Some(action),
        ..meta
    }
}

use Metrics as M;

/// The core reports, in Matomo's menu order.
const REPORTS: &[ReportMeta<'static>] = &[
    report(
        "Visitors",
        "Overview",
        "Visits Summary",
        "VisitsSummary",
        "get",
        None,
        M::Summary,
    ),
    report(
        "Visitors",
        "Locations",
        "Country",
        "UserCountry",
        "getCountry",
        Some("Country"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Locations",
        "Continent",
        "UserCountry",
        "getContinent",
        Some("Continent"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Locations",
        "Region",
        "UserCountry",
        "getRegion",
        Some("Region"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Locations",
        "City",
        "UserCountry",
        "getCity",
        Some("City"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Locations",
        "Browser language",
        "UserLanguage",
        "getLanguage",
        Some("Language"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Locations",
        "Language code",
        "UserLanguage",
        "getLanguageCode",
        Some("Language code"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Devices",
        "Device type",
        "DevicesDetection",
        "getType",
        Some("Device type"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Devices",
        "Device brand",
        "DevicesDetection",
        "getBrand",
        Some("Device brand"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Devices",
        "Device model",
        "DevicesDetection",
        "getModel",
        Some("Device model"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Devices",
        "Screen Resolution",
        "Resolution",
        "getResolution",
        Some("Resolution"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Software",
        "Operating System families",
        "DevicesDetection",
        "getOsFamilies",
        Some("Operating System family"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Software",
        "Operating System versions",
        "DevicesDetection",
        "getOsVersions",
        Some("Operating System version"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Software",
        "Browsers",
        "DevicesDetection",
        "getBrowsers",
        Some("Browser"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Software",
        "Browser version",
        "DevicesDetection",
        "getBrowserVersions",
        Some("Browser version"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Software",
        "Browser engines",
        "DevicesDetection",
        "getBrowserEngines",
        Some("Browser engine"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Software",
        "Configurations",
        "Resolution",
        "getConfiguration",
        Some("Configuration"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Software",
        "Browser Plugins",
        "DevicePlugins",
        "getPlugin",
        Some("Plugin"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Times",
        "Visits per local time",
        "VisitTime",
        "getVisitInformationPerLocalTime",
        Some("Local time"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Times",
        "Visits per server time",
        "VisitTime",
        "getVisitInformationPerServerTime",
        Some("Server time"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Engagement",
        "Returning Visits",
        "VisitFrequency",
        "get",
        None,
        M::Frequency,
    ),
    report(
        "Visitors",
        "Engagement",
        "Visits per visit duration",
        "VisitorInterest",
        "getNumberOfVisitsPerVisitDuration",
        Some("Visit duration"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Engagement",
        "Visits per number of pages",
        "VisitorInterest",
        "getNumberOfVisitsPerPage",
        Some("Number of pages"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Engagement",
        "Visits by Visit Number",
        "VisitorInterest",
        "getNumberOfVisitsByVisitCount",
        Some("Visit number"),
        M::Visits,
    ),
    report(
        "Visitors",
        "Engagement",
        "Visits by days since last visit",
        "VisitorInterest",
        "getNumberOfVisitsByDaysSinceLast",
        Some("Days since last visit"),
        M::Visits,
    ),
    report(
        "Visitors",
        "User IDs",
        "User IDs",
        "UserId",
        "getUsers",
        Some("User ID"),
        M::Visits,
    ),
    with_subtable(
        report(
            "Visitors",
            "Custom Variables",
            "Custom Variables",
            "CustomVariables",
            "getCustomVariables",
            Some("Custom Variable name"),
            M::Visits,
        ),
        "getCustomVariablesValuesFromNameId",
    ),
    report(
        "Actions",
        "Overview",
        "Actions",
        "Actions",
        "get",
        None,
        M::ActionsSummary,
    ),
    with_subtable(
        report(
            "Actions",
            "Pages",
            "Page URLs",
            "Actions",
            "getPageUrls",
            Some("Page URL"),
            M::Pages,
        ),
        "getPageUrls",
    ),
    with_subtable(
        report(
            "Actions",
            "Entry pages",
            "Entry pages",
            "Actions",
            "getEntryPageUrls",
            Some("Entry Page URL"),
            M::EntryPages,
        ),
        "getEntryPageUrls",
    ),
    with_subtable(
        report(
            "Actions",
            "Exit pages",
            "Exit pages",
            "Actions",
            "getExitPageUrls",
            Some("Exit Page URL"),
            M::ExitPages,
        ),
        "getExitPageUrls",
    ),
    with_subtable(
        report(
            "Actions",
            "Page titles",
            "Page titles",
            "Actions",
            "getPageTitles",
            Some("Page Name"),
            M::Pages,
        ),
        "getPageTitles",
    ),
    with_subtable(
        report(
            "Actions",
            "Entry pages",
            "Entry page titles",
            "Actions",
            "getEntryPageTitles",
            Some("Entry Page title"),
            M::EntryPages,
        ),
        "getEntryPageTitles",
    ),
    with_subtable(
        report(
            "Actions",
            "Exit pages",
            "Exit page titles",
            "Actions",
            "getExitPageTitles",
            Some("Exit Page Title"),
            M::ExitPages,
        ),
        "getExitPageTitles",
    ),
    with_subtable(
        report(
            "Actions",
            "Downloads",
            "Downloads",
            "Actions",
            "getDownloads",
            Some("Download URL"),
            M::Clicks,
        ),
        "getDownloads",
    ),
    with_subtable(
        report(
            "Actions",
            "Outlinks",
            "Outlinks",
            "Actions",
            "getOutlinks",
            Some("Outlink URL"),
            M::Clicks,
        ),
        "getOutlinks",
    ),
    report(
        "Actions",
        "Site Search",
        "Site Search Keywords",
        "Actions",
        "getSiteSearchKeywords",
        Some("Keyword (Site Search)"),
        M::SiteSearch,
    ),
    report(
        "Actions",
        "Site Search",
        "Search Categories",
        "Actions",
        "getSiteSearchCategories",
        Some("Search Category"),
        M::SiteSearch,
    ),
    with_subtable(
        report(
            "Actions",
            "Events",
            "Event Categories",
            "Events",
            "getCategory",
            Some("Event Category"),
            M::Events,
        ),
        "getActionFromCategoryId",
    ),
    with_subtable(
        report(
            "Actions",
            "Events",
            "Event Actions",
            "Events",
            "getAction",
            Some("Event Action"),
            M::Events,
        ),
        "getNameFromActionId",
    ),
    with_subtable(
        report(
            "Actions",
            "Events",
            "Event Names",
            "Events",
            "getName",
            Some("Event Name"),
            M::Events,
        ),
        "getActionFromNameId",
    ),
    with_subtable(
        report(
            "Actions",
            "Contents",
            "Content Name",
            "Contents",
            "getContentNames",
            Some("Content Name"),
            M::Contents,
        ),
        "getContentNames",
    ),
    with_subtable(
        report(
            "Actions",
            "Contents",
            "Content Piece",
            "Contents",
            "getContentPieces",
            Some("Content Piece"),
            M::Contents,
        ),
        "getContentPieces",
    ),
    with_subtable(
        report(
            "Referrers",
            "All Channels",
            "Channel Type",
            "Referrers",
            "getReferrerType",
            Some("Channel Type"),
            M::Visits,
        ),
        "getReferrerType",
    ),
    with_subtable(
        report(
            "Referrers",
            "Search Engines & Keywords",
            "Keywords",
            "Referrers",
            "getKeywords",
            Some("Keyword"),
            M::Visits,
        ),
        "getSearchEnginesFromKeywordId",
    ),
    with_subtable(
        report(
            "Referrers",
            "Search Engines & Keywords",
            "Search Engines",
            "Referrers",
            "getSearchEngines",
            Some("Search Engine"),
            M::Visits,
        ),
        "getKeywordsFromSearchEngineId",
    ),
    with_subtable(
        report(
            "Referrers",
            "Websites",
            "Websites",
            "Referrers",
            "getWebsites",
            Some("Website"),
            M::Visits,
        ),
        "getUrlsFromWebsiteId",
    ),
    with_subtable(
        report(
            "Referrers",
            "Social Networks",
            "Social Networks",
            "Referrers",
            "getSocials",
            Some("Social Network"),
            M::Visits,
        ),
        "getUrlsForSocial",
    ),
    with_subtable(
        report(
            "Referrers",
            "Campaigns",
            "Campaigns",
            "Referrers",
            "getCampaigns",
            Some("Campaign"),
            M::Visits,
        ),
        "getKeywordsFromCampaignId",
    ),
    report("Goals", "Overview", "Goals", "Goals", "get", None, M::Goals),
    report(
        "Goals",
        "Overview",
        "Visits to Conversion",
        "Goals",
        "getVisitsUntilConversion",
        Some("Visits to Conversion"),
        M::Conversions,
    ),
    report(
        "Goals",
        "Overview",
        "Days to Conversion",
        "Goals",
        "getDaysToConversion",
        Some("Days to Conversion"),
        M::Conversions,
    ),
    report(
        "Goals_Ecommerce",
        "Products",
        "Product SKU",
        "Goals",
        "getItemsSku",
        Some("Product SKU"),
        M::Products,
    ),
    report(
        "Goals_Ecommerce",
        "Products",
        "Product Name",
        "Goals",
        "getItemsName",
        Some("Product Name"),
        M::Products,
    ),
    report(
        "Goals_Ecommerce",
        "Products",
        "Product Category",
        "Goals",
        "getItemsCategory",
        Some("Product Category"),
        M::Products,
    ),
];

/// English metric names, as Matomo's `language=en` shows them.
fn metric_label(metric: &str) -> &'static str {
    match metric {
        "nb_uniq_visitors" => "Unique visitors",
        "nb_visits" => "Visits",
        "nb_users" => "Users",
        "nb_actions" => "Actions",
        "max_actions" => "Maximum actions in one visit",
        "sum_visit_length" => "Total time spent by visitors (in seconds)",
        "bounce_count" => "Bounces",
        "nb_visits_converted" => "Visits with Conversions",
        "nb_actions_per_visit" => "Actions per Visit",
        "avg_time_on_site" => "Avg. Time on Website",
        "bounce_rate" => "Bounce Rate",
        "conversion_rate" => "Conversion Rate",
        "nb_hits" => "Pageviews",
        "avg_time_on_page" => "Avg. time on page",
        "exit_rate" => "Exit rate",
        "entry_nb_visits" => "Entrances",
        "entry_bounce_count" => "Bounces",
        "exit_nb_visits" => "Exits",
        "nb_pageviews" => "Pageviews",
        "nb_uniq_pageviews" => "Unique Pageviews",
        "nb_downloads" => "Downloads",
        "nb_uniq_downloads" => "Unique Downloads",
        "nb_outlinks" => "Outlinks",
        "nb_uniq_outlinks" => "Unique Outlinks",
        "nb_searches" => "Searches",
        "nb_keywords" => "Unique Keywords",
        "nb_pages_per_search" => "Search Results Pages",
        "nb_events" => "Events",
        "sum_event_value" => "Event Value",
        "min_event_value" => "Minimum Event Value",
        "max_event_value" => "Maximum Event Value",
        "avg_event_value" => "Average Event Value",
        "nb_events_with_value" => "Events with a Value",
        "nb_impressions" => "Impressions",
        "nb_interactions" => "Content Interactions",
        "interaction_rate" => "Interaction Rate",
        "nb_conversions" => "Conversions",
        "revenue" => "Revenue",
        "quantity" => "Quantity",
        "orders" => "Unique Purchases",
        "avg_price" => "Average Price",
        "avg_quantity" => "Average Quantity",
        "nb_visits_new" => "New Visits",
        "nb_visits_returning" => "Returning Visits",
        "nb_actions_returning" => "Actions by Returning Visits",
        "bounce_rate_returning" => "Bounce Rate for Returning Visits",
        "nb_actions_per_visit_returning" => "Avg. Actions per Returning Visit",
        "avg_time_on_site_returning" => "Avg. Visit Duration for Returning Visitors (in sec)",
        "avg_time_on_dimension" => "Avg. Time On Dimension",
        "avg_time_generation" => "Avg. generation time",
        _ => "",
    }
}

/// A metric's English name in a report of `metrics`: an action custom
/// dimension calls its hits "Actions" and its visits "Unique Actions".
fn metric_label_in(metrics: Metrics, metric: &str) -> &'static str {
    match (metrics, metric) {
        (M::CustomActions, "nb_hits") => "Actions",
        (M::CustomActions, "nb_visits") => "Unique Actions",
        _ => metric_label(metric),
    }
}

/// Matomo's metric types (`metricTypes`).
fn metric_type(metric: &str) -> &'static str {
    match metric {
        "avg_time_on_site"
        | "avg_time_on_page"
        | "sum_visit_length"
        | "avg_time_on_dimension"
        | "avg_time_generation" => "duration_s",
        "bounce_rate"
        | "conversion_rate"
        | "exit_rate"
        | "interaction_rate"
        | "bounce_rate_returning" => "percent",
        "revenue" | "avg_price" | "sum_event_value" | "min_event_value" | "max_event_value"
        | "avg_event_value" => "money",
        _ => "number",
    }
}

/// The metrics of `Actions.get` (its report's metadata; `API.get` asks
/// for these).
pub(crate) const ACTIONS_SUMMARY: [&str; 8] = [
    "nb_pageviews",
    "nb_uniq_pageviews",
    "nb_downloads",
    "nb_uniq_downloads",
    "nb_outlinks",
    "nb_uniq_outlinks",
    "nb_searches",
    "nb_keywords",
];

/// (stored metrics, processed metrics) of a metric set.
fn metric_names(metrics: Metrics) -> (&'static [&'static str], &'static [&'static str]) {
    match metrics {
        M::Visits => (
            &["nb_visits", "nb_uniq_visitors", "nb_actions", "nb_users"],
            &[
                "nb_actions_per_visit",
                "avg_time_on_site",
                "bounce_rate",
                "conversion_rate",
            ],
        ),
        M::Pages => (
            &["nb_hits", "nb_visits"],
            &["bounce_rate", "avg_time_on_page", "exit_rate"],
        ),
        M::EntryPages => (&["entry_nb_visits", "entry_bounce_count"], &["bounce_rate"]),
        M::ExitPages => (&["exit_nb_visits", "nb_visits"], &["exit_rate"]),
        M::Clicks => (&["nb_visits", "nb_hits"], &[]),
        M::SiteSearch => (&["nb_visits"], &["nb_pages_per_search", "exit_rate"]),
        M::Events => (
            &[
                "nb_events",
                "sum_event_value",
                "min_event_value",
                "max_event_value",
                "nb_events_with_value",
            ],
            &["avg_event_value"],
        ),
        M::Contents => (
            &["nb_impressions", "nb_interactions"],
            &["interaction_rate"],
        ),
        M::Products => (
            &["revenue", "quantity", "orders", "nb_visits"],
            &["avg_price", "avg_quantity", "conversion_rate"],
        ),
        M::Summary => (
            &[
                "nb_uniq_visitors",
                "nb_visits",
                "nb_users",
                "nb_actions",
                "max_actions",
            ],
            &["bounce_rate", "nb_actions_per_visit", "avg_time_on_site"],
        ),
        M::ActionsSummary => (&ACTIONS_SUMMARY, &[]),
        M::Goals => (
            &["nb_conversions", "nb_visits_converted", "revenue"],
            &["conversion_rate"],
        ),
        M::Conversions => (&["nb_conversions"], &[]),
        M::CustomVisits => (
            &["nb_visits", "nb_actions"],
            &["avg_time_on_site", "bounce_rate", "nb_actions_per_visit"],
        ),
        M::CustomActions => (
            &["nb_hits", "nb_visits"],
            &[
                "avg_time_on_dimension",
                "bounce_rate",
                "exit_rate",
                "avg_time_generation",
            ],
        ),
        M::Frequency => (
            &["nb_visits_returning", "nb_actions_returning"],
            &[
                "bounce_rate_returning",
                "nb_actions_per_visit_returning",
                "avg_time_on_site_returning",
            ],
        ),
    }
}

fn labels(metrics: Metrics, names: &[&str]) -> Tree {
    Tree::Assoc(
        names
            .iter()
            .map(|name| {
                (
                    (*name).to_owned(),
                    Tree::Str(metric_label_in(metrics, name).to_owned()),
                )
            })
            .collect(),
    )
}

fn str_tree(text: &str) -> Tree {
    Tree::Str(text.to_owned())
}

/// One `getReportMetadata` entry; `name` and `parameters` override the
/// static ones for per-goal and per-dimension reports.
fn entry(
    meta: &ReportMeta<'_>,
    name: &str,
    parameters: Option<(&str, i64)>,
    order: i64,
    goal_meta: GoalMeta,
) -> Tree {
    let (stored, processed) = metric_names(meta.metrics);
    let mut fields = vec![
        ("category".to_owned(), str_tree(meta.category)),
        ("subcategory".to_owned(), str_tree(meta.subcategory)),
        ("name".to_owned(), str_tree(name)),
        ("module".to_owned(), str_tree(meta.module)),
        ("action".to_owned(), str_tree(meta.action)),
    ];
    if let Some((key, value)) = parameters {
        fields.push((
            "parameters".to_owned(),
            Tree::Assoc(vec![(key.to_owned(), Tree::Int(value))]),
        ));
    }
    if let Some(dimension) = meta.dimension {
        fields.push(("dimension".to_owned(), str_tree(dimension)));
    }
    fields.push(("metrics".to_owned(), labels(meta.metrics, stored)));
    if !processed.is_empty() {
        fields.push((
            "processedMetrics".to_owned(),
            labels(meta.metrics, processed),
        ));
    }
    fields.push((
        "metricTypes".to_owned(),
        Tree::Assoc(
            stored
                .iter()
                .chain(processed)
                .map(|name| ((*name).to_owned(), str_tree(metric_type(name))))
                .collect(),
        ),
    ));
    if let Some(action) = meta.subtable_action {
        fields.push(("actionToLoadSubTables".to_owned(), str_tree(action)));
    }
    // Matomo adds them to the report without parameters only (not to a
    // per-goal or per-dimension entry).
    if parameters.is_none()
        && let Some(set) = goal_metric_set(meta.module, meta.action)
    {
        fields.extend(goal_metrics_metadata(set, goal_meta));
    }
    fields.push(("order".to_owned(), Tree::Int(order)));
    let unique = match parameters {
        Some((key, value)) => format!("{}_{}_{key}--{value}", meta.module, meta.action),
        None => format!("{}_{}", meta.module, meta.action),
    };
    fields.push(("uniqueId".to_owned(), Tree::Str(unique)));
    Tree::Assoc(fields)
}

/// Which goal metrics the Goals plugin gives a report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoalMetricSet {
    /// Conversions and revenue per row (visit dimensions, referrers).
    Visits,
    /// Page URLs and titles: conversions attributed to viewed pages.
    Pages,
    /// Entry page URLs and titles: conversions of visits entering there.
    EntryPages,
}

/// The reports with goal metrics (`Goals::getReportsWithGoalMetrics`)
/// among those Tally serves, as Matomo 5 lists them in
/// `API.getReportMetadata`.
fn goal_metric_set(module: &str, action: &str) -> Option<GoalMetricSet> {
    match (module, action) {
        ("Actions", "getPageUrls" | "getPageTitles") => Some(GoalMetricSet::Pages),
        ("Actions", "getEntryPageUrls" | "getEntryPageTitles") => Some(GoalMetricSet::EntryPages),
        ("UserCountry", "getCountry" | "getContinent" | "getRegion" | "getCity")
        | ("DevicesDetection", "getType" | "getModel" | "getBrand" | "getBrowsers")
        | ("VisitTime", "getVisitInformationPerServerTime")
        | ("CustomVariables", "getCustomVariables")
        | (
            "Referrers",
            "getReferrerType" | "getKeywords" | "getSearchEngines" | "getWebsites" | "getCampaigns",
        )
        | ("Goals", "getVisitsUntilConversion" | "getDaysToConversion") => {
            Some(GoalMetricSet::Visits)
        }
        _ => None,
    }
}

/// `metricsGoal`, `processedMetricsGoal` and `metricTypesGoal` of a report
/// (`Goals::getReportMetadataEnd`), with Matomo's names, order and
/// types. `conversion_rate` has a type but is listed in `metricsGoal`
/// only with `filter_update_columns_when_show_all_goals`, as in Matomo's
/// output. With `idGoal=ecommerceOrder` or
/// `ecommerceAbandonedCart`, page reports also list the average order
/// value and purchased products; the type of the latter is keyed `itmes`,
/// Matomo's spelling, which clients reading the types get.
fn goal_metrics_metadata(set: GoalMetricSet, goal_meta: GoalMeta) -> [(String, Tree); 3] {
    let mut metrics = vec![("nb_conversions", "Conversions")];
    if goal_meta.rates {
        metrics.push(("conversion_rate", "Conversion Rate"));
    }
    let mut processed = vec![("revenue_per_visit", "Revenue per Visit")];
    let mut types = vec![
        ("revenue_per_visit", "money"),
        ("nb_conversions", "number"),
        ("conversion_rate", "percent"),
    ];
    match set {
        GoalMetricSet::Visits => {
            metrics.push(("revenue", "Revenue"));
            types.push(("revenue", "money"));
        }
        GoalMetricSet::Pages => {
            metrics.extend([
                ("nb_conversions_attrib", "Conversions"),
                ("revenue_attrib", "Revenue"),
            ]);
            processed.push(("nb_conversions_page_rate", "Viewed before conversion rate"));
            types.extend([
                ("nb_conversions_attrib", "number"),
                ("revenue_attrib", "money"),
                ("nb_conversions_page_rate", "percent"),
            ]);
        }
        GoalMetricSet::EntryPages => {
            metrics.extend([
                ("nb_conversions_entry", "Conversions"),
                ("revenue_entry", "Revenue"),
            ]);
            processed.extend([
                ("revenue_per_entry", "Revenue per Entry"),
                ("nb_conversions_entry_rate", "Conversion Rate"),
            ]);
            types.extend([
                ("nb_conversions_entry", "number"),
                ("revenue_entry", "money"),
                ("revenue_per_entry", "number"),
                ("nb_conversions_entry_rate", "percent"),
            ]);
        }
    }
    if goal_meta.ecommerce && set != GoalMetricSet::Visits {
        processed.extend([
            ("avg_order_revenue", "Average Order Value"),
            ("items", "Purchased Products"),
        ]);
        types.extend([("avg_order_revenue", "money"), ("itmes", "number")]);
    }
    let assoc = |pairs: Vec<(&str, &str)>| {
        Tree::Assoc(
            pairs
                .into_iter()
                .map(|(key, text)| (key.to_owned(), str_tree(text)))
                .collect(),
        )
    };
    [
        ("metricsGoal".to_owned(), assoc(metrics)),
        ("processedMetricsGoal".to_owned(), assoc(processed)),
        ("metricTypesGoal".to_owned(), assoc(types)),
    ]
}

/// What the request changes of the goal metadata of the reports.
#[derive(Debug, Clone, Copy)]
struct GoalMeta {
    /// The request's `idGoal` names an ecommerce goal
    /// (`Piwik::LABEL_ID_GOAL_IS_ECOMMERCE_ORDER` / `_CART`).
    ecommerce: bool,
    /// `filter_update_columns_when_show_all_goals` is set (true as PHP
    /// reads it): `ProcessedReport::getReportMetadata` then keeps
    /// `conversion_rate` in `metricsGoal`, which it drops otherwise.
    rates: bool,
}

impl GoalMeta {
    fn from_request(request: &ApiRequest) -> Self {
        Self {
            ecommerce: matches!(
                request.get("idGoal"),
                Some("ecommerceOrder" | "ecommerceAbandonedCart")
            ),
            rates: request
                .get("filter_update_columns_when_show_all_goals")
                .is_some_and(|value| !value.is_empty() && value != "0"),
        }
    }
}

/// A site's active custom dimension as a report (Matomo's
/// `CustomDimensions\Reports\GetCustomDimension` configured for it).
struct CustomReport {
    id: u32,
    name: String,
    subcategory: String,
    action_scope: bool,
}

impl CustomReport {
    fn meta(&self) -> ReportMeta<'_> {
        ReportMeta {
            category: if self.action_scope {
                "Actions"
            } else {
                "Visitors"
            },
            subcategory: &self.subcategory,
            name: &self.name,
            module: "CustomDimensions",
            action: "getCustomDimension",
            dimension: Some(&self.name),
            metrics: if self.action_scope {
                M::CustomActions
            } else {
                M::CustomVisits
            },
            subtable_action: Some("getCustomDimension"),
        }
    }
}

/// The site's active custom dimensions as reports, visit dimensions
/// first, each scope by id (Matomo's report order).
fn custom_reports(
    conn: &mut MysqlConnection,
    idsite: u32,
) -> Result<Vec<CustomReport>, ReportingError> {
    let mut reports: Vec<CustomReport> = tally_management::active_custom_dimensions(conn, idsite)?
        .into_iter()
        .map(|d| CustomReport {
            id: d.idcustomdimension,
            subcategory: format!("customdimension{}", d.idcustomdimension),
            name: d.name,
            action_scope: d.scope == tally_management::DimensionScope::Action,
        })
        .collect();
    reports.sort_by_key(|report| report.action_scope);
    Ok(reports)
}

/// Every report entry for a site (its goals and custom dimensions
/// included), or the static reports when no site is given.
fn entries(
    conn: &mut MysqlConnection,
    idsite: Option<u32>,
    goal_meta: GoalMeta,
) -> Result<Vec<Tree>, ReportingError> {
    let site = match idsite {
        Some(idsite) => Some(SiteInfo::load(conn, idsite)?),
        None => None,
    };
    let mut out = Vec::new();
    let mut order = 0;
    for meta in REPORTS {
        order += 1;
        out.push(entry(meta, meta.name, None, order, goal_meta));
        if meta.module == "Goals"
            && meta.action == "get"
            && let Some(site) = &site
        {
            for idgoal in &site.goals {
                order += 1;
                out.push(entry(
                    meta,
                    &format!("Goal {idgoal}"),
                    Some(("idGoal", i64::from(*idgoal))),
                    order,
                    goal_meta,
                ));
            }
        }
    }
    if let Some(idsite) = idsite {
        for custom in custom_reports(conn, idsite)? {
            order += 1;
            out.push(entry(
                &custom.meta(),
                &custom.name,
                Some(("idDimension", i64::from(custom.id))),
                order,
                goal_meta,
            ));
        }
    }
    Ok(out)
}

/// The site of a meta request (`idSite`, the first of a list), checked
/// for view access; without one, the caller must view some site, as Matomo
/// needs to list reports.
fn site_param(principal: &Principal, request: &ApiRequest) -> Result<Option<u32>, ReportingError> {
    let Some(raw) = request
        .non_empty("idSite")
        .or_else(|| request.non_empty("idSites"))
    else {
        principal.check_somewhere(Access::View)?;
        return Ok(None);
    };
    let idsite = raw
        .split(',')
        .next()
        .and_then(|first| first.trim().parse::<u32>().ok())
        .ok_or_else(|| ReportingError::InvalidParameter {
            name: "idSite".to_owned(),
            reason: format!("'{raw}' is not a site id"),
        })?;
    principal.check(idsite, Access::View)?;
    Ok(Some(idsite))
}

/// `API.getReportMetadata(idSite)`: every report of the site.
pub(crate) fn report_metadata(
    conn: &mut MysqlConnection,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<Output, ReportingError> {
    let idsite = site_param(principal, request)?;
    Ok(Output::Report(Report::Tree(Tree::List(entries(
        conn,
        idsite,
        GoalMeta::from_request(request),
    )?))))
}

/// `API.getMetadata(idSite, apiModule, apiAction)`: one report's entry
/// (a list of one, as Matomo answers).
pub(crate) fn metadata(
    conn: &mut MysqlConnection,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<Output, ReportingError> {
    let idsite = site_param(principal, request)?;
    let module = request
        .non_empty("apiModule")
        .ok_or_else(|| ReportingError::MissingParameter("apiModule".to_owned()))?;
    let action = request
        .non_empty("apiAction")
        .ok_or_else(|| ReportingError::MissingParameter("apiAction".to_owned()))?;
    let found: Vec<Tree> = entries(conn, idsite, GoalMeta::from_request(request))?
        .into_iter()
        .filter(|tree| {
            field(tree, "module") == Some(module) && field(tree, "action") == Some(action)
        })
        .take(1)
        .collect();
    Ok(Output::Report(Report::Tree(Tree::List(found))))
}

fn field<'t>(tree: &'t Tree, key: &str) -> Option<&'t str> {
    let Tree::Assoc(fields) = tree else {
        return None;
    };
    fields
        .iter()
        .find(|(name, _)| name == key)
        .and_then(|(_, value)| match value {
            Tree::Str(text) => Some(text.as_str()),
            _ => None,
        })
}

/// `API.getSegmentsMetadata`: the segments we accept as Matomo lists them
/// (`type`, `category`, `name`, `segment`, `unionOfSegments`,
/// `acceptedValues`, `permission`), sorted as Matomo sorts them. With
/// `_hideImplementationData=0` each also carries its `sqlSegment` and
/// `needsMostFrequentValues`. With `idSites`, the site's active custom
/// dimensions are listed too, as `dimension<id>`.
pub(crate) fn segments_metadata(
    conn: &mut MysqlConnection,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<Output, ReportingError> {
    let show_sql = request
        .get("_hideImplementationData")
        .is_some_and(|value| matches!(value.trim(), "0" | "" | "false"));
    let idsite = if request.non_empty("idSites").is_some() {
        site_param(principal, request)?
    } else {
        principal.check_somewhere(Access::View).or_else(|error| {
            // Anonymous callers see the list when some site is public.
            if principal.is_anonymous() {
                Ok(())
            } else {
                Err(error)
            }
        })?;
        None
    };
    let registered = !principal.is_anonymous();
    let dimensions = match idsite {
        Some(idsite) => tally_management::active_custom_dimensions(conn, idsite)?,
        None => Vec::new(),
    };
    struct Row {
        category: Category,
        metric: bool,
        name: String,
        segment: String,
        sql: Option<String>,
        needs_most_frequent_values: bool,
        union: &'static [&'static str],
        accepted: Option<String>,
        permission: Option<bool>,
    }
    let built_in = tally_archiving::segment::catalogue().filter_map(|(segment, sql)| {
        let meta = segment_meta::find(segment)?;
        Some(Row {
            category: meta.category,
            metric: meta.metric,
            name: meta.name.to_owned(),
            segment: segment.to_owned(),
            sql,
            needs_most_frequent_values: meta.needs_most_frequent_values(),
            union: meta.union,
            accepted: meta.accepted.text(),
            permission: meta.registered_only.then_some(registered),
        })
    });
    // Matomo's `CustomDimension` dimension: a text dimension named by the
    // user, under Visitors or (action scope) Behaviour.
    let custom = dimensions.into_iter().map(|dimension| {
        let (category, table) = match dimension.scope {
            tally_management::DimensionScope::Visit => (Category::Visitors, "log_visit"),
            tally_management::DimensionScope::Action => {
                (Category::Behaviour, "log_link_visit_action")
            }
        };
        Row {
            category,
            metric: false,
            name: dimension.name,
            segment: format!("dimension{}", dimension.idcustomdimension),
            sql: Some(format!("{table}.custom_dimension_{}", dimension.index)),
            needs_most_frequent_values: true,
            union: &[],
            accepted: None,
            permission: None,
        }
    });
    let mut rows: Vec<Row> = built_in.chain(custom).collect();
    rows.sort_by(|a, b| {
        segment_meta::compare(
            (a.category, a.metric, &a.name, &a.segment),
            (b.category, b.metric, &b.name, &b.segment),
        )
    });
    let rows = rows
        .into_iter()
        .map(|row| {
            let mut fields = vec![
                (
                    "type".to_owned(),
                    str_tree(if row.metric { "metric" } else { "dimension" }),
                ),
                ("category".to_owned(), str_tree(row.category.name())),
                ("name".to_owned(), Tree::Str(row.name)),
                ("segment".to_owned(), Tree::Str(row.segment)),
            ];
            if show_sql {
                fields.push((
                    "sqlSegment".to_owned(),
                    row.sql.map_or(Tree::Null, Tree::Str),
                ));
                fields.push((
                    "needsMostFrequentValues".to_owned(),
                    Tree::Bool(row.needs_most_frequent_values),
                ));
            }
            if !row.union.is_empty() {
                fields.push((
                    "unionOfSegments".to_owned(),
                    Tree::List(row.union.iter().map(|name| str_tree(name)).collect()),
                ));
            }
            if let Some(accepted) = row.accepted {
                fields.push(("acceptedValues".to_owned(), Tree::Str(accepted)));
            }
            if let Some(permission) = row.permission {
                fields.push(("permission".to_owned(), Tree::Bool(permission)));
            }
            Tree::Assoc(fields)
        })
        .collect();
    Ok(Output::Report(Report::Tree(Tree::List(rows))))
}

fn scalar_tree(value: &Value) -> Tree {
    match value {
        Value::Int(number) => Tree::Int(*number),
        Value::Float(number) => Tree::Float(*number),
        Value::Str(text) => Tree::Str(text.clone()),
        // The string PHP holds (`0.0620`).
        Value::Decimal4(_) => match value.as_scalar() {
            Some(Scalar::Str(text)) => Tree::Str(text),
            _ => Tree::Null,
        },
        Value::Goals(_) => Tree::List(Vec::new()),
        // Only pivot tables hold `false`; a 0 renders as Matomo's `false`
        // does in XML and CSV. A null event value bound is formatted as a
        // number, which makes it 0 in Matomo's processed reports.
        Value::False | Value::Null => Tree::Int(0),
    }
}

/// What `API.getRowEvolution` reads of a report's metadata.
pub(crate) struct EvolutionMeta {
    /// The report's dimension (`None` for reports without one, which
    /// Matomo refuses to evolve).
    pub(crate) dimension: Option<&'static str>,
    /// The metrics then the processed metrics, with their English names.
    pub(crate) metrics: Vec<(&'static str, &'static str)>,
    /// The method answering a row's subtable (`actionToLoadSubTables`).
    pub(crate) subtable_action: Option<&'static str>,
}

/// The metadata of `module.action` as `API.getMetadata` hands it to
/// `RowEvolution`, or `None` for a report we do not list. Matomo's
/// `ProcessedReport` drops `conversion_rate` from the processed metrics of
/// every report that also has per-goal metrics (the visit reports), so
/// row evolutions never show it.
pub(crate) fn evolution_meta(module: &str, action: &str) -> Option<EvolutionMeta> {
    // Custom dimension reports are listed per site (`entries`), all alike.
    let custom = report(
        "Visitors",
        "Custom Dimensions",
        "",
        "CustomDimensions",
        "getCustomDimension",
        Some("Custom Dimension"),
        M::Visits,
    );
    let meta = REPORTS
        .iter()
        .chain(std::iter::once(&custom))
        .find(|meta| meta.module == module && meta.action == action)?;
    let (stored, processed) = metric_names(meta.metrics);
    let metrics = stored
        .iter()
        .chain(processed)
        .filter(|name| !(meta.metrics == M::Visits && **name == "conversion_rate"))
        .map(|name| (*name, metric_label(name)))
        .collect();
    Some(EvolutionMeta {
        dimension: meta.dimension,
        metrics,
        subtable_action: meta.subtable_action,
    })
}

/// `API.getProcessedReport(idSite, period, date, apiModule, apiAction)`:
/// the report with its metadata, column names, rows split into data and
/// metadata, and totals over the rows.
pub(crate) fn processed_report(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let request = ctx.request;
    let module = ctx.required("apiModule")?.to_owned();
    let action = ctx.required("apiAction")?.to_owned();
    let handler = methods::find(&module, &action).ok_or_else(|| ReportingError::UnknownMethod {
        method: action.clone(),
        module: module.clone(),
    })?;
    let idsite = ctx.required("idSite")?.trim().parse::<u32>().map_err(|_| {
        ReportingError::InvalidParameter {
            name: "idSite".to_owned(),
            reason: "getProcessedReport takes one site".to_owned(),
        }
    })?;
    // A custom dimension's metadata is the site's: its name and scope.
    let custom = if (module.as_str(), action.as_str()) == ("CustomDimensions", "getCustomDimension")
    {
        let raw = ctx.required("idDimension")?;
        let id = raw
            .trim()
            .parse::<u32>()
            .map_err(|_| ReportingError::InvalidParameter {
                name: "idDimension".to_owned(),
                reason: format!("'{raw}' is not a dimension id"),
            })?;
        tally_management::check_dimension_active(ctx.conn, ctx.principal, idsite, id)?;
        custom_reports(ctx.conn, idsite)?
            .into_iter()
            .find(|report| report.id == id)
    } else {
        None
    };
    let custom_meta = custom.as_ref().map(CustomReport::meta);
    let meta = match &custom_meta {
        Some(meta) => meta,
        None => REPORTS
            .iter()
            .find(|meta| meta.module == module && meta.action == action)
            .ok_or_else(|| ReportingError::UnknownMethod {
                method: action.clone(),
                module: module.clone(),
            })?,
    };
    let (stored, processed) = metric_names(meta.metrics);
    // `ProcessedReport::getReportMetadataByUniqueId` drops unique visitors
    // and users from the metrics, hence from the columns and the rows, for
    // any period but a day (VisitsSummary.get excepted).
    let period_name = ctx.required("period")?.to_owned();
    let without_uniques =
        period_name != "day" && (module.as_str(), action.as_str()) != ("VisitsSummary", "get");
    let stored: Vec<&str> = stored
        .iter()
        .copied()
        .filter(|name| !(without_uniques && matches!(*name, "nb_uniq_visitors" | "nb_users")))
        .collect();
    let stored = stored.as_slice();
    // Matomo asks a report with visits and processed metrics for its
    // processed columns (`filter_add_columns_when_show_all_columns`, which
    // also deletes rows without visits unless the report's row count is
    // constant), Ecommerce and MultiSites reports excepted.
    let mut request = request.clone();
    if !processed.is_empty()
        && stored.contains(&"nb_visits")
        && meta.category != "Goals_Ecommerce"
        && module != "MultiSites"
    {
        let delete_rows = if CONSTANT_ROWS.contains(&(module.as_str(), action.as_str())) {
            "0"
        } else {
            "1"
        };
        request.set("filter_add_columns_when_show_all_columns", delete_rows);
    }
    // The metadata follows the request as asked.
    let goal_meta = GoalMeta::from_request(ctx.request);
    // `getIdGoalToUseForActionsReports`: with
    // `filter_show_goal_columns_process_goals`, the Actions page reports
    // are asked for every goal's page metrics (`idGoal` -3, or -5 for an
    // ecommerce goal) and the entry page reports for the entry metrics
    // (-4, -6).
    if request
        .get("filter_show_goal_columns_process_goals")
        .is_some_and(|value| !value.is_empty() && value != "0")
    {
        let mode = match (module.as_str(), action.as_str()) {
            ("Actions", "getPageUrls" | "getPageTitles") => Some(("-3", "-5")),
            ("Actions", "getEntryPageUrls" | "getEntryPageTitles") => Some(("-4", "-6")),
            _ => None,
        };
        if let Some((any_goal, ecommerce)) = mode {
            request.set(
                "idGoal",
                if goal_meta.ecommerce {
                    ecommerce
                } else {
                    any_goal
                },
            );
        }
    }
    let request = &request;
    let mut report_ctx = Ctx {
        conn: &mut *ctx.conn,
        principal: ctx.principal,
        loader: ctx.loader.clone(),
        request,
    };
    let Output::Report(report) = handler(&mut report_ctx)? else {
        return Err(ReportingError::InvalidParameter {
            name: "apiAction".to_owned(),
            reason: "not a report".to_owned(),
        });
    };
    // Matomo totals the report (`ReportTotalsCalculator`) right after
    // reading it from the archive: before any generic filter (limit,
    // pattern, flattening, sort), before `hideColumns`/`showColumns`
    // delete columns, before rows without visits are dropped and before
    // formatting. The totals come from the report asked again that way.
    let has_tables = match &report {
        Report::Table(_) => true,
        Report::Map { entries, .. } => entries
            .iter()
            .any(|(_, entry)| matches!(entry, Report::Table(_))),
        _ => false,
    };
    let unformatted = if has_tables {
        let mut raw_request = request.clone();
        for name in [
            "filter_offset",
            "filter_pattern",
            "filter_pattern_recursive",
            "filter_column",
            "filter_column_recursive",
            "filter_excludelowpop",
            "filter_excludelowpop_value",
            "filter_sort_column",
            "filter_sort_order",
            "flat",
            "label",
            "hideColumns",
            "showColumns",
            "filter_add_columns_when_show_all_columns",
            // The goal columns are queued filters too (their
            // `revenue_per_visit`, `nb_actions_per_visit`).
            "filter_update_columns_when_show_all_goals",
            "filter_show_goal_columns_process_goals",
        ] {
            raw_request = raw_request.without(name);
        }
        raw_request.set("format_metrics", "0");
        raw_request.set("filter_limit", "-1");
        // The rows as archived keep the page timings' `sum_time_*`, which
        // the answer drops as temporary metrics.
        raw_request.set("showRawMetrics", "1");
        let mut raw_ctx = Ctx {
            conn: &mut *ctx.conn,
            principal: ctx.principal,
            loader: ctx.loader.clone(),
            request: &raw_request,
        };
        match handler(&mut raw_ctx)? {
            Output::Report(report) => Some(report),
            _ => None,
        }
    } else {
        None
    };
    let site = SiteInfo::load(ctx.conn, idsite)?;
    let site_settings = tally_management::get_site(ctx.conn, ctx.principal, idsite)?;
    let website = site_settings.name;
    // `handleSimpleDataTable` writes the rows' numbers its own way unless
    // `format_metrics` asks otherwise (absent or `bc`).
    let pretty = (Mode::from_request(ctx.request) == Mode::Percentages)
        .then(|| crate::formatting::currency_symbol(&site_settings.currency).to_owned());
    let mut columns = vec![(
        "label".to_owned(),
        str_tree(meta.dimension.unwrap_or(meta.name)),
    )];
    // Reports whose goal metrics include `revenue` list it after their
    // processed metrics, and their rows keep it (`handleTableReport`'s
    // `metricsGoalDisplay`).
    let goal_revenue: &[&str] =
        if goal_metric_set(meta.module, meta.action) == Some(GoalMetricSet::Visits) {
            &["revenue"]
        } else {
            &[]
        };
    // The totals leave out the report's own processed metrics only:
    // `revenue` is stored in the rows.
    let report_processed: &[&str] = processed;
    let processed: Vec<&str> = processed.iter().chain(goal_revenue).copied().collect();
    let processed = processed.as_slice();
    // `hideShowMetrics`: `hideColumns` and `showColumns` apply to the
    // listed columns too, hence to the metrics a row gets as 0.
    let split = |name: &str| {
        request
            .non_empty(name)
            .map(|list| list.split(',').map(str::to_owned).collect::<Vec<_>>())
    };
    let (hidden, kept) = (split("hideColumns"), split("showColumns"));
    let listed: Vec<&str> = stored
        .iter()
        .chain(processed)
        .copied()
        .filter(|name| {
            let named = |list: &Vec<String>| list.iter().any(|item| item == name);
            !hidden.as_ref().is_some_and(named) && kept.as_ref().is_none_or(named)
        })
        .collect();
    let listed = listed.as_slice();
    columns.extend(listed.iter().map(|name| {
        (
            (*name).to_owned(),
            str_tree(metric_label_in(meta.metrics, name)),
        )
    }));
    let today = site.timezone.local_date(ctx.loader.now.unix_timestamp());
    let kind = parse_period_kind(ctx.required("period")?)?;
    let selection = parse_date_param(kind, ctx.required("date")?, today)?;
    let (pretty_date, data, row_metadata, total) = match (&report, &selection) {
        (Report::Table(table), DateSelection::One(period)) => {
            let raw = match &unformatted {
                Some(Report::Table(raw)) => raw,
                _ => table,
            };
            let (data, row_metadata) = table_parts(table, stored, processed, listed);
            let total = totals(&[raw], report_processed, hidden.as_deref(), kept.as_deref());
            (long_string(period), data, row_metadata, total)
        }
        (Report::Simple(simple), DateSelection::One(period)) => (
            long_string(period),
            Report::Simple(simple.clone()),
            Report::Rows(Vec::new()),
            Tree::List(Vec::new()),
        ),
        // Several periods of one site: `reportData` and `reportMetadata`
        // are maps keyed by each period's long name (`prettyDate`), and
        // `reportTotal` sums the rows of every period
        // (`ProcessedReport::handleTableReport` on a `DataTable\Map`).
        (Report::Map { key_name, entries }, DateSelection::Many(periods))
            if key_name == "date" && entries.len() == periods.len() =>
        {
            let raw_entries = match &unformatted {
                Some(Report::Map { entries, .. }) => Some(entries),
                _ => None,
            };
            let mut data = Vec::with_capacity(entries.len());
            let mut row_metadata = Vec::with_capacity(entries.len());
            let mut raw_tables = Vec::new();
            for (index, ((_, entry), period)) in entries.iter().zip(periods).enumerate() {
                let key = long_string(period);
                let (entry_data, entry_metadata) = match entry {
                    Report::Table(table) => {
                        let raw = raw_entries.and_then(|raw| raw.get(index)).and_then(
                            |(_, raw)| match raw {
                                Report::Table(raw) => Some(raw),
                                _ => None,
                            },
                        );
                        raw_tables.push(raw.unwrap_or(table));
                        table_parts(table, stored, processed, listed)
                    }
                    Report::Simple(simple) => {
                        (Report::Simple(simple.clone()), Report::Rows(Vec::new()))
                    }
                    _ => (Report::Rows(Vec::new()), Report::Rows(Vec::new())),
                };
                data.push((key.clone(), entry_data));
                row_metadata.push((key, entry_metadata));
            }
            let first = periods.first().map(Period::start);
            let last = periods.last().map(Period::end);
            let pretty = match (first, last) {
                (Some(start), Some(end)) => range_long(start, end),
                _ => String::new(),
            };
            let total = if raw_tables.is_empty() {
                Tree::List(Vec::new())
            } else {
                totals(
                    &raw_tables,
                    report_processed,
                    hidden.as_deref(),
                    kept.as_deref(),
                )
            };
            let map = |entries| Report::Map {
                key_name: "prettyDate".to_owned(),
                entries,
            };
            (pretty, map(data), map(row_metadata), total)
        }
        _ => {
            return Err(ReportingError::InvalidParameter {
                name: "date".to_owned(),
                reason: "getProcessedReport answers one site".to_owned(),
            });
        }
    };
    let mut data = data;
    if let Some(symbol) = &pretty {
        prettify(&mut data, symbol);
    }
    let parameters = custom
        .as_ref()
        .map(|custom| ("idDimension", i64::from(custom.id)));
    let mut entry = entry(meta, meta.name, parameters, 0, goal_meta);
    if without_uniques
        && let Tree::Assoc(fields) = &mut entry
        && let Some((_, Tree::Assoc(metrics))) = fields.iter_mut().find(|(key, _)| key == "metrics")
    {
        metrics.retain(|(name, _)| !matches!(name.as_str(), "nb_uniq_visitors" | "nb_users"));
    }
    Ok(Output::Report(Report::Tree(Tree::Assoc(vec![
        ("website".to_owned(), Tree::Str(website)),
        ("prettyDate".to_owned(), Tree::Str(pretty_date)),
        ("metadata".to_owned(), entry),
        ("columns".to_owned(), Tree::Assoc(columns)),
        ("reportData".to_owned(), Tree::Report(Box::new(data))),
        (
            "reportMetadata".to_owned(),
            Tree::Report(Box::new(row_metadata)),
        ),
        ("reportTotal".to_owned(), total),
    ]))))
}

/// [`crate::formatting::processed_report_value`] on every value of
/// `getProcessedReport`'s `reportData` (each period's, with several).
fn prettify(data: &mut Report, symbol: &str) {
    let columns = |columns: &mut Columns| {
        for (key, value) in columns.iter_mut() {
            if let Some(text) =
                crate::formatting::processed_report_value(&key.name(), value, symbol)
            {
                *value = Value::Str(text);
            }
        }
    };
    match data {
        Report::Rows(rows) => rows.iter_mut().for_each(columns),
        Report::Simple(simple) => columns(simple),
        Report::Map { entries, .. } => {
            for (_, entry) in entries {
                prettify(entry, symbol);
            }
        }
        _ => {}
    }
}

/// The reports whose rows are the same whatever the data
/// (`$constantRowsCount`): `API.getProcessedReport` keeps their rows
/// without visits.
const CONSTANT_ROWS: [(&str, &str); 11] = [
    ("DevicePlugins", "getPlugin"),
    ("Goals", "getDaysToConversion"),
    ("Goals", "getVisitsUntilConversion"),
    ("Referrers", "getReferrerType"),
    ("VisitTime", "getByDayOfWeek"),
    ("VisitTime", "getVisitInformationPerLocalTime"),
    ("VisitTime", "getVisitInformationPerServerTime"),
    ("VisitorInterest", "getNumberOfVisitsByDaysSinceLast"),
    ("VisitorInterest", "getNumberOfVisitsByVisitCount"),
    ("VisitorInterest", "getNumberOfVisitsPerPage"),
    ("VisitorInterest", "getNumberOfVisitsPerVisitDuration"),
];

/// Matomo's English long name of a period (`getLocalizedLongString`):
/// `Friday, August 10, 2012`, `week August 6 – 12, 2012`, `August 2012`,
/// `2012`, and ranges as [`range_long`].
pub(crate) fn long_string(period: &Period) -> String {
    let start = period.start();
    match period.kind() {
        PeriodKind::Day => format!(
            "{}, {} {}, {}",
            start.weekday(),
            start.month(),
            start.day(),
            start.year()
        ),
        PeriodKind::Week => format!("week {}", range_long(start, period.end())),
        PeriodKind::Month => format!("{} {}", start.month(), start.year()),
        PeriodKind::Year => start.year().to_string(),
        _ => range_long(start, period.end()),
    }
}

/// English `Intl_Format_Interval_Long_*`, the dash between thin spaces
/// (U+2009): `August 6 – 12, 2012` within a month, `July 30 – August 5, 2012` within a year, `December 31, 2012 –
/// January 6, 2013` across years.
fn range_long(start: time::Date, end: time::Date) -> String {
    if start.year() != end.year() {
        format!(
            "{} {}, {}\u{2009}–\u{2009}{} {}, {}",
            start.month(),
            start.day(),
            start.year(),
            end.month(),
            end.day(),
            end.year()
        )
    } else if start.month() != end.month() {
        format!(
            "{} {}\u{2009}–\u{2009}{} {}, {}",
            start.month(),
            start.day(),
            end.month(),
            end.day(),
            end.year()
        )
    } else {
        format!(
            "{} {}\u{2009}–\u{2009}{}, {}",
            start.month(),
            start.day(),
            end.day(),
            end.year()
        )
    }
}

/// Rows (label and columns) and their metadata.
fn table_parts(
    table: &DataTable,
    stored: &[&str],
    processed: &[&str],
    listed: &[&str],
) -> (Report, Report) {
    // `handleSimpleDataTable` keeps only the report's metrics, processed
    // metrics and `goal_<id>_*` columns (Contents rows drop their
    // nb_visits and nb_uniq_visitors).
    let shown = |name: &str| {
        stored.contains(&name)
            || processed.contains(&name)
            || name.strip_prefix("goal_").is_some_and(|rest| {
                rest.split_once('_')
                    .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            })
    };
    let mut data = Vec::new();
    let mut metadata = Vec::new();
    for row in table.all_rows() {
        let label = if row.is_summary_row() {
            "Others".to_owned()
        } else {
            row.label.clone()
        };
        let mut fields = Columns::new();
        fields.set(ColumnKey::from("label"), Value::Str(label));
        for (key, value) in row.columns.iter() {
            if !matches!(value, Value::Goals(_)) && shown(&key.name()) {
                // Only pivot tables hold `false`; a 0 renders as Matomo's
                // `false` does in XML and CSV.
                let value = match value {
                    Value::False => Value::Int(0),
                    other => other.clone(),
                };
                fields.set(ColumnKey::from(key.name().into_owned()), value);
            }
        }
        // A listed metric the row lacks is added as 0, after the others
        // ("add missing metrics").
        for name in listed {
            if fields.find(name).is_none() {
                fields.set(ColumnKey::from(*name), Value::Int(0));
            }
        }
        data.push(fields);
        let mut meta: Columns = row
            .metadata
            .iter()
            .filter(|(name, _)| name.as_str() != "idsubdatatable_in_db")
            .map(|(name, value)| (ColumnKey::from(name.as_str()), Value::from(value.clone())))
            .collect();
        if let Some(id) = row.subtable_id {
            meta.set(ColumnKey::from("idsubdatatable"), Value::Int(i64::from(id)));
        }
        metadata.push(meta);
    }
    // A metadata row for every row, unless no row has any: then none
    // (`$hasNonEmptyRowData`).
    if metadata.iter().all(Columns::is_empty) {
        metadata.clear();
    }
    (Report::Rows(data), Report::Rows(metadata))
}

/// `reportTotal`: Matomo's `ReportTotalsCalculator` on each table, then
/// `ProcessedReport::calculateTotals` over the tables (one per period).
///
/// A table's total is the sum of its top-level rows (summary row
/// included) over every stored column, `goals` too, with the table's
/// `min`/`max` ops; of the report's processed metrics only
/// `nb_actions_per_visit` is left, since `calculateTotals` drops every
/// `avg_*`, `*_rate` and `*_evolution` metric. Over several periods the
/// tables' totals are summed, that quotient included (Matomo's sum of
/// 31 days of 1 action per visit is 31), `min_*`/`max_*` kept by the
/// smallest or largest. `hideColumns`/`showColumns` apply to each
/// table's total first.
fn totals(
    tables: &[&DataTable],
    processed: &[&str],
    hidden: Option<&[String]>,
    kept: Option<&[String]>,
) -> Tree {
    let mut grand = Columns::new();
    for table in tables {
        let Some(mut total) = table_total(table, processed) else {
            continue;
        };
        total.retain(|key, _| {
            let name = key.name();
            let named = |list: &[String]| list.iter().any(|item| *item == name);
            !hidden.is_some_and(named) && kept.is_none_or(named)
        });
        add_total(&mut grand, &total);
    }
    Tree::Assoc(
        grand
            .iter()
            .map(|(key, value)| (key.name().into_owned(), total_tree(value)))
            .collect(),
    )
}

/// One table's totals row (`ReportTotalsCalculator::manipulateDataTable`):
/// none for a table without rows.
fn table_total(table: &DataTable, processed: &[&str]) -> Option<Columns> {
    // The rows we are given carry their processed metrics already; the
    // archived rows Matomo sums do not.
    let stored_only = |row: &tally_datatable::Row| {
        let mut copy = tally_datatable::Row::new(String::new());
        for (key, value) in row.columns.iter() {
            let name = key.name();
            if !processed.contains(&name.as_ref()) && !is_goal_column(&name) {
                copy.columns.set(key.clone(), value.clone());
            }
        }
        copy
    };
    let mut rows = table.all_rows();
    let mut total = stored_only(rows.next()?);
    // The archived tables carry `min`/`max` ops for their `min_*`/`max_*`
    // columns (Bandwidth's too), so two NULL bounds stay NULL and are left
    // out below, where a sum would make them 0.
    let mut ops = table.aggregation_ops.clone();
    for row in table.all_rows() {
        for (key, _) in row.columns.iter() {
            let name = key.name();
            let op = if name.starts_with("min_") {
                tally_datatable::ColumnOp::Min
            } else if name.starts_with("max_") {
                tally_datatable::ColumnOp::Max
            } else {
                continue;
            };
            if ops.get(key).is_none() {
                ops.set(key.clone(), op);
            }
        }
    }
    for row in rows {
        // A column Matomo could not sum (text in a number) makes it give
        // up the totals for that row; we skip the row's columns alike.
        let _ = total.sum_row(&stored_only(row), &ops, false);
    }
    let mut columns = total.columns;
    // `ActionsPerVisit` of a report whose rows count actions (the visit
    // reports'; VisitorInterest's rows of visits only have none).
    if processed.contains(&"nb_actions_per_visit") && columns.find("nb_actions").is_some() {
        columns.set(
            ColumnKey::from("nb_actions_per_visit"),
            crate::processed::actions_per_visit(&columns),
        );
    }
    Some(columns)
}

/// `goal_<id>_<metric>`: the per-goal processed columns of goal views.
fn is_goal_column(name: &str) -> bool {
    name.strip_prefix("goal_").is_some_and(|rest| {
        rest.split_once('_')
            .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The metrics `calculateTotals` leaves out: averages, rates, evolutions.
fn skipped_in_totals(name: &str) -> bool {
    name.starts_with("avg_") || name.ends_with("_rate") || name.ends_with("_evolution")
}

/// `ProcessedReport::calculateTotals`: adds one table's totals to the
/// running ones.
fn add_total(grand: &mut Columns, total: &Columns) {
    for (key, value) in total.iter() {
        let name = key.name();
        if skipped_in_totals(&name) {
            continue;
        }
        match value {
            Value::Goals(goals) => {
                let merged = match grand.get(key) {
                    Some(Value::Goals(own)) => {
                        let mut own = own.clone();
                        add_goal_totals(&mut own, goals);
                        own
                    }
                    _ => {
                        let mut own = tally_datatable::Goals::new();
                        add_goal_totals(&mut own, goals);
                        own
                    }
                };
                grand.set(key.clone(), Value::Goals(merged));
            }
            // PHP's `is_numeric`: numeric strings count, null and false not.
            Value::Str(text) if text.trim().parse::<f64>().is_err() => {}
            Value::Null | Value::False => {}
            _ => {
                let merged = match grand.get(key) {
                    None => value.clone(),
                    Some(own) => combine_total(&name, own, value),
                };
                grand.set(key.clone(), merged);
            }
        }
    }
}

/// The nested half of `calculateTotals` for `goals`: a goal's metrics are
/// summed (rates and averages left as they are), then PHP's array union
/// (`+=`) adds the keys the sum skipped, so a goal's rates come last, as
/// first seen.
fn add_goal_totals(own: &mut tally_datatable::Goals, goals: &tally_datatable::Goals) {
    for (idgoal, columns) in goals.0.iter() {
        let mut merged = own.0.get(idgoal).cloned().unwrap_or_default();
        for (key, value) in columns.iter() {
            let name = key.goal_name();
            if skipped_in_totals(&name) {
                continue;
            }
            let sum = match merged.get(key) {
                None => value.clone(),
                Some(existing) => {
                    let combined = combine_total(
                        &name,
                        &Value::from(existing.clone()),
                        &Value::from(value.clone()),
                    );
                    combined.as_scalar().unwrap_or_else(|| existing.clone())
                }
            };
            merged.set(key.clone(), sum);
        }
        for (key, value) in columns.iter() {
            if merged.get(key).is_none() {
                merged.set(key.clone(), value.clone());
            }
        }
        own.0.set(*idgoal, merged);
    }
}

/// One metric of two tables' totals: the smaller `min_*`, the larger
/// `max_*`, else the sum (a 0 adds nothing and keeps the value as is).
fn combine_total(name: &str, own: &Value, other: &Value) -> Value {
    let (Some(a), Some(b)) = (own.as_f64(), other.as_f64()) else {
        return own.clone();
    };
    if name.starts_with("min_") {
        if b < a { other.clone() } else { own.clone() }
    } else if name.starts_with("max_") {
        if b > a { other.clone() } else { own.clone() }
    } else if b == 0.0 {
        own.clone()
    } else {
        crate::processed::number(a + b)
    }
}

/// A total as the answer shows it: `goals` as `idgoal=<id>` entries
/// sorted by id, as Matomo's `ReplaceColumnNames` leaves them.
fn total_tree(value: &Value) -> Tree {
    let Value::Goals(goals) = value else {
        return scalar_tree(value);
    };
    let mut sorted: Vec<_> = goals.0.iter().collect();
    sorted.sort_by_key(|(idgoal, _)| **idgoal);
    Tree::Assoc(
        sorted
            .into_iter()
            .map(|(idgoal, columns)| {
                let key = match *idgoal {
                    -1 => "idgoal=ecommerceAbandonedCart".to_owned(),
                    0 => "idgoal=ecommerceOrder".to_owned(),
                    id => format!("idgoal={id}"),
                };
                let fields = columns
                    .iter()
                    .map(|(key, value)| {
                        (
                            key.goal_name().into_owned(),
                            scalar_tree(&Value::from(value.clone())),
                        )
                    })
                    .collect();
                (key, Tree::Assoc(fields))
            })
            .collect(),
    )
}
