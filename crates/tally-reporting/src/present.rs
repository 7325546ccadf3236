//! Presenting archived rows as Matomo's API shows them: stored codes become
//! display labels, and rows get the metadata (`segment`, `logo`, `code`…)
//! that each report's PHP filters add, in the order they add it.
//!
//! Archives keep raw values (`fr`, `FF`, `WIN;10`, `0-10`); Matomo turns
//! them into "France", "Firefox", "Windows 10", "0–10s" only at API time,
//! and so do we. [`Labels`] names one presenter per report family;
//! [`present`] runs it on a table before the generic filters (sort, limit,
//! `label=`), as Matomo's `filter()` calls run before its generic filters.

mod actions;
mod names;

pub(crate) use actions::ActionRows;
use tally_archiving::Period;
use tally_archiving::SiteInfo;
use tally_datatable::{AggregationOps, ColumnKey, DataTable, Row, Scalar, Value, metrics};

use names::{
    BROWSERS, CONTINENTS, COUNTRIES, DEVICE_TYPES, LANGUAGES, OPERATING_SYSTEMS, OS_FAMILY_LOGOS,
};

pub(crate) const UNKNOWN: &str = "Unknown";
pub(crate) const ICONS: &str = "plugins/Morpheus/icons/dist";

/// How a report's stored labels are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Labels {
    /// As stored.
    Stored,
    /// Referrer type ids → "Direct Entry", "Search Engines"…, with the
    /// `segment` and `referrer_type` metadata.
    ReferrerType,
    /// `UserCountry.getCountry`.
    Country,
    /// `UserCountry.getContinent`: countries grouped by continent.
    Continent,
    /// `UserCountry.getRegion` (`region|country`).
    Region,
    /// `UserCountry.getCity` (`city|region|country`).
    City,
    /// `DevicesDetection.getType`.
    DeviceType,
    /// `DevicesDetection.getBrand`.
    DeviceBrand,
    /// `DevicesDetection.getModel` (`brand;model`).
    DeviceModel,
    /// `DevicesDetection.getOsFamilies`: OS codes grouped by family.
    OsFamily,
    /// `DevicesDetection.getOsVersions` (`os;version`).
    OsVersion,
    /// `DevicesDetection.getBrowsers`.
    Browser,
    /// `DevicesDetection.getBrowserVersions` (`browser;version`).
    BrowserVersion,
    /// `DevicesDetection.getBrowserEngines`.
    BrowserEngine,
    /// `Resolution.getResolution`.
    Resolution,
    /// `Resolution.getConfiguration` (`os;browser;resolution`).
    Configuration,
    /// `DevicePlugins.getPlugin`; needs [`Extra::plugin_visits`].
    Plugin,
    /// `UserLanguage.getLanguage`: codes grouped by language.
    Language,
    /// `UserLanguage.getLanguageCode`.
    LanguageCode,
    /// `VisitTime.getVisitInformationPerLocalTime`.
    LocalHour,
    /// `VisitTime.getVisitInformationPerServerTime`.
    ServerHour,
    /// `VisitorInterest.getNumberOfVisitsPerVisitDuration`.
    VisitDuration,
    /// `VisitorInterest.getNumberOfVisitsPerPage`.
    PagesPerVisit,
    /// `VisitorInterest.getNumberOfVisitsByVisitCount`.
    VisitCount,
    /// `VisitorInterest.getNumberOfVisitsByDaysSinceLast`.
    DaysSinceLast,
    /// `Goals.getDaysToConversion`: ranges as "0 days", "1 day",
    /// "8-14 days", without segments (Matomo's `BeautifyRangeLabels` only).
    DaysToConversion,
    /// `Goals.getVisitsUntilConversion`: "1 visit", "2 visits", "101+ visits".
    VisitsUntilConversion,
    /// `Referrers.getSearchEngines` (subtables: keywords).
    SearchEngines,
    /// `Referrers.getKeywords` (subtables: search engines).
    Keywords,
    /// `Referrers.getWebsites`.
    Websites,
    /// `Referrers.getSocials`.
    Socials,
    /// `Referrers.getCampaigns`.
    Campaigns,
    /// Events reports; the segment names the first dimension.
    Events(&'static str),
    /// `Contents.getContentPieces` / `getContentNames`; the segment name.
    Contents(&'static str),
    /// `UserId.getUsers`.
    Users,
    /// `CustomVariables.getCustomVariables`: `AddSegmentByLabel
    /// customVariableName` on the names (not on a name's values).
    CustomVariables,
    /// `Actions.getSiteSearchCategories` (`AddSegmentValue`).
    SearchCategories,
    /// `CustomDimensions.getCustomDimension` of this dimension id.
    CustomDimension(u32),
    /// The Actions page, title, download, outlink and site search reports
    /// (`present/actions.rs`); `segment` is the report's segment name.
    Actions {
        rows: ActionRows,
        segment: &'static str,
    },
    /// `Goals.getItemsSku/Name/Category`: the row labelled `Value not
    /// defined` is renamed `not_defined`; `carts` with `abandonedCarts=1`;
    /// `segment` names the product dimension's segment.
    Items {
        not_defined: &'static str,
        carts: bool,
        segment: &'static str,
    },
}

/// What a presenter may need besides the table.
pub(crate) struct Extra<'a> {
    /// The site (time zone of server-hour segments).
    pub(crate) site: &'a SiteInfo,
    /// The period (its end date converts server hours to UTC).
    pub(crate) period: Period,
    /// Whether a subtable was asked for with `idSubtable` (top-level
    /// filters do not apply then).
    pub(crate) subtable: bool,
    /// The stored label of the row whose subtable was asked for (an
    /// engine, a keyword, a campaign), when the subtable was found.
    pub(crate) parent: Option<&'a str>,
    /// `DevicePlugins.getPlugin`: visits of browsers that report plugins
    /// (all visits minus Internet Explorer 6–10).
    pub(crate) plugin_visits: f64,
    /// Whether the answer is flattened (`flat=1`): Actions labels change.
    pub(crate) flat: bool,
    /// The site's main and alias URLs (Actions reports only, else empty).
    pub(crate) site_urls: &'a [String],
}

/// Presents `table` as the report family `labels`.
pub(crate) fn present(table: &mut DataTable, labels: Labels, extra: &Extra<'_>) {
    match labels {
        Labels::Stored => {}
        Labels::ReferrerType => referrer_types(table),
        Labels::Country => countries(table),
        Labels::Continent => continents(table),
        Labels::Region => regions(table),
        Labels::City => cities(table),
        Labels::DeviceType => device_types(table),
        Labels::DeviceBrand => brands(table),
        Labels::DeviceModel => models(table),
        Labels::OsFamily => os_families(table),
        Labels::OsVersion => os_versions(table),
        Labels::Browser => browsers(table),
        Labels::BrowserVersion => browser_versions(table),
        Labels::BrowserEngine => browser_engines(table),
        Labels::Resolution => add_segment_value(table, "resolution", |label| {
            (!label.is_empty()).then(|| label.to_owned())
        }),
        Labels::Configuration => relabel(table, configuration_label),
        Labels::Plugin => plugins(table, extra.plugin_visits),
        Labels::Language => languages(table),
        Labels::LanguageCode => {
            add_segment_value(table, "languageCode", |label| Some(label.to_owned()));
            relabel(table, language_with_code);
        }
        Labels::LocalHour => hours(table, |hour| format!("visitLocalHour=={hour}")),
        Labels::ServerHour => {
            let start = extra.site.timezone.start_of_day(extra.period.end());
            hours(table, |hour| {
                let local = start + i64::from(hour) * 3_600;
                let utc_hour = local.rem_euclid(86_400) / 3_600;
                format!("visitStartServerHour=={utc_hour}")
            });
        }
        Labels::VisitDuration => ranges(table, "visitDuration", duration_label),
        Labels::PagesPerVisit => ranges(table, "actions", |range| {
            count_label(range, "1 page", "pages")
        }),
        Labels::VisitCount => ranges(table, "visitCount", |range| {
            count_label(range, "1 visit", "visits")
        }),
        Labels::DaysSinceLast => ranges(table, "daysSinceLastVisit", |range| {
            count_label(range, "1 day", "days")
        }),
        Labels::DaysToConversion => beautify_ranges(table, "1 day", "days"),
        Labels::VisitsUntilConversion => beautify_ranges(table, "1 visit", "visits"),
        Labels::SearchEngines => search_engines(table, extra.subtable, extra.parent),
        Labels::Keywords => keywords(table, extra.subtable, extra.parent, extra.flat),
        Labels::Websites => {
            if extra.subtable {
                website_urls(table, true);
            } else if extra.flat {
                website_subtables(table);
            } else {
                add_segment_by_label(table, "referrerName");
            }
        }
        Labels::Socials => socials(table, extra.subtable),
        Labels::Campaigns => {
            let segment = if extra.subtable {
                "referrerKeyword"
            } else {
                "referrerName"
            };
            add_segment_by_label(table, segment);
            if !extra.subtable {
                prepend_segment(table, "referrerType==campaign;");
            } else {
                // `getKeywordsFromCampaignId`: the campaign's label as
                // stored, not encoded (Matomo's `PrependSegment`).
                let campaign = extra.parent.unwrap_or_default();
                prepend_segment(
                    table,
                    &format!("referrerName=={campaign};referrerType==campaign;"),
                );
            }
        }
        Labels::Events(segment) => {
            if !extra.subtable {
                // Matomo's stored event names are HTML-escaped (the
                // tracker's `getRequestVar`), ours are as sent: its segment
                // encodes the escaped form (`l&#039;eau` → `l%26%23039%3Beau`).
                add_segment_value(table, segment, |label| {
                    (label != "Piwik_EventNameNotSet")
                        .then(|| tally_tracking::php::sanitize_input_value(label))
                });
            }
            rename_label(table, "Piwik_EventNameNotSet", "Event Name not defined");
        }
        Labels::Items {
            not_defined,
            carts,
            segment,
        } => items(table, not_defined, carts, segment),
        Labels::Contents(segment) => {
            if !extra.subtable {
                add_segment_value(table, segment, |label| {
                    (label != "Piwik_ContentPieceNotSet").then(|| label.to_owned())
                });
            }
            rename_label(
                table,
                "Piwik_ContentPieceNotSet",
                "Content Piece not defined",
            );
        }
        Labels::Users => add_segment_value(table, "userId", |label| Some(label.to_owned())),
        Labels::CustomVariables => {
            // Flattened, Matomo names the values instead (not served).
            if !extra.subtable && !extra.flat {
                add_segment_by_label(table, "customVariableName");
            }
        }
        Labels::Actions { rows, segment } => {
            actions::present(table, rows, segment, extra.flat, extra.site_urls);
        }
        Labels::SearchCategories => {
            add_segment_value(table, "siteSearchCategory", |label| Some(label.to_owned()));
        }
        Labels::CustomDimension(id) => custom_dimension(table, id, extra),
    }
}

/// The label of a custom dimension's empty value.
const VALUE_NOT_DEFINED: &str = "Value not defined";

/// `CustomDimensions.getCustomDimension`'s `AddSegmentMetadata`: every
/// row's segment names its value (the empty value for `Value not
/// defined`; the summary row's is `-1`, as Matomo's label there); the page
/// URLs below an action dimension's values get `AddSubtableSegmentMetadata`.
fn custom_dimension(table: &mut DataTable, id: u32, extra: &Extra<'_>) {
    let name = format!("dimension{id}");
    let value_of = |label: &str| {
        if label == VALUE_NOT_DEFINED {
            String::new()
        } else {
            label.to_owned()
        }
    };
    if extra.subtable {
        if let Some(parent) = extra.parent {
            custom_dimension_urls(table, &name, &value_of(parent));
        }
        return;
    }
    for row in rows(table) {
        let value = value_of(&row.label);
        set_meta(row, "segment", format!("{name}=={}", urlencode(&value)));
        if let Some(subtable) = row.subtable.as_deref_mut() {
            custom_dimension_urls(subtable, &name, &value);
        }
    }
    summary_meta(table, "segment", format!("{name}==-1"));
}

/// `AddSubtableSegmentMetadata`: a page URL row's segment is its value's
/// and the URL's (`actionUrl=$`, the URL's end), and `url` its encoded
/// URL. Nothing below a PHP-empty value (`''`, `'0'`), as in Matomo.
fn custom_dimension_urls(table: &mut DataTable, name: &str, value: &str) {
    if value.is_empty() || value == "0" {
        return;
    }
    let prefix = format!("{name}=={};actionUrl=$", urlencode(value));
    for row in rows(table) {
        let url = urlencode(&row.label);
        set_meta(row, "segment", format!("{prefix}{url}"));
        set_meta(row, "url", url);
    }
}

/// Presents each row's subtable as its subtable method answers it (a
/// keyword of `getSearchEngines` gets its segment and results page), for a
/// `label` path that reaches into subtables: Matomo's LabelFilter reads
/// each subtable on the path with an API request of its own
/// (`DataTableManipulator::loadSubtable`). Called before the table itself
/// is presented, so that each subtable sees its parent's stored label.
pub(crate) fn present_subtables(table: &mut DataTable, labels: Labels, extra: &Extra<'_>) {
    for row in table.rows_mut() {
        let parent = row.label.clone();
        if let Some(subtable) = row.subtable.as_deref_mut() {
            let extra = Extra {
                site: extra.site,
                period: extra.period,
                subtable: true,
                parent: Some(&parent),
                plugin_visits: extra.plugin_visits,
                flat: false,
                site_urls: extra.site_urls,
            };
            present(subtable, labels, &extra);
        }
    }
}

/// What Matomo does to a presented table after the generic filters, before
/// its queued ones (`convertSegmentValueToSegment`): the Actions rows'
/// segment values become their `segment`.
pub(crate) fn after_generic_filters(table: &mut DataTable, labels: Labels) {
    if let Labels::Actions { segment, .. } = labels {
        actions::convert_segment_values(table, segment);
    }
}

/// The report methods' queued filters that must see the generic filters'
/// result, run after them (skipped with `disable_queued_filters=1`):
/// `getKeywords` names its empty keyword `Keyword not defined` only now,
/// so the default sort (visits, then label A to Z) put it first among
/// rows with as many visits, as in Matomo.
pub(crate) fn queued(table: &mut DataTable, labels: Labels, subtable: bool, flat: bool) {
    if labels == Labels::Keywords && !subtable && !flat {
        rename_label(table, "", KEYWORD_NOT_DEFINED);
    }
}

/// Presents a table that `pivotBy` will pivot: only what Matomo's report
/// methods do at once. The pivot filter clears the filters they queue:
/// the `Keyword not defined` label of `getKeywords` and the `url` / `logo`
/// of `getSearchEngines` never happen. Segments are added here as always
/// and deleted by the pivot, as Matomo deletes them.
pub(crate) fn present_for_pivot(table: &mut DataTable, labels: Labels, extra: &Extra<'_>) {
    match labels {
        Labels::Keywords | Labels::SearchEngines if !extra.subtable => {}
        Labels::Country => {
            present(table, labels, extra);
            // `getCountry` queues its `logoHeight`; the rest it does at once.
            for row in rows(table) {
                row.metadata.remove("logoHeight");
            }
        }
        _ => present(table, labels, extra),
    }
}

/// Presents a row's subtable as its subtable method answers the pivot
/// filter (`Report::fetchSubtable` with `disable_queued_filters=1`): only
/// labels matter, as they name the pivot columns. The event and content
/// "not defined" labels are replaced at once, and `getUrlsFromWebsiteId`
/// names its summary row at once (`UrlsFromWebsiteId` runs
/// `ReplaceSummaryRowLabel` as a filter); every other label stays as
/// stored, the summary row's `-1` included.
pub(crate) fn present_pivot_columns(table: &mut DataTable, labels: Labels, extra: &Extra<'_>) {
    match labels {
        Labels::Events(_) | Labels::Contents(_) => present(table, labels, extra),
        Labels::Websites => {
            if let Some(summary) = table.summary_row_mut() {
                "Others".clone_into(&mut summary.label);
            }
        }
        _ => {}
    }
}

/// What Matomo's `Goals\API::getItems` does to a stored item table before
/// the generic filters: a row without an item price (only viewed) shows
/// the average viewed price as `avg_price` (`avg_price_viewed` is dropped
/// from every row); the `Value not defined` row is named after the
/// dimension; with `abandonedCarts=1` the `orders` column is
/// `abandoned_carts` (renamed, so it moves to the end as in PHP). The
/// product segment (`AddSegmentByLabel`) follows the renamed label.
fn items(table: &mut DataTable, not_defined: &str, carts: bool, segment: &str) {
    let truthy = |row: &Row, name: &str| {
        row.columns
            .find(name)
            .and_then(Value::as_f64)
            .is_some_and(|value| value != 0.0)
    };
    for row in table.rows_mut() {
        let viewed = key_named(row, "avg_price_viewed");
        if let Some(viewed) = viewed {
            if truthy(row, "avg_price") || truthy(row, "price") {
                row.columns.remove(&viewed);
            } else {
                row.columns.rename(&viewed, ColumnKey::from("avg_price"));
            }
        }
    }
    rename_label(table, "Value not defined", not_defined);
    if carts {
        let abandoned = |row: &mut Row| {
            if let Some(orders) = key_named(row, "orders") {
                row.columns
                    .rename(&orders, ColumnKey::from("abandoned_carts"));
            }
        };
        table.rows_mut().iter_mut().for_each(abandoned);
        if let Some(summary) = table.summary_row_mut() {
            abandoned(summary);
        }
    }
    add_segment_value(table, segment, |label| Some(label.to_owned()));
}

/// The key of the column named `name` (stored by metric id or by name).
fn key_named(row: &Row, name: &str) -> Option<ColumnKey> {
    row.columns.keys().find(|key| key.name() == name).cloned()
}

// ---------------------------------------------------------------------------
// Helpers shared by the presenters (Matomo's generic DataTable filters)

/// PHP's `urlencode`: segment values are encoded this way.
pub(crate) fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// PHP's `ucfirst` on ASCII.
pub(crate) fn ucfirst(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn set_meta(row: &mut Row, name: &str, value: impl Into<Scalar>) {
    row.metadata.set(name.to_owned(), value.into());
}

/// What a `ColumnCallbackAddMetadata` (or `MetadataCallbackAddMetadata`)
/// of Matomo gives the summary row, which those filters reach by default:
/// the callback's answer for an unknown value (the row is labelled `-1`
/// then), e.g. the unknown flag or browser logo.
fn summary_meta(table: &mut DataTable, name: &str, value: impl Into<Scalar>) {
    if let Some(summary) = table.summary_row_mut() {
        set_meta(summary, name, value);
    }
}

fn meta_str(row: &Row, name: &str) -> Option<String> {
    match row.metadata.get(name)? {
        Scalar::Str(text) => Some(text.clone()),
        Scalar::Int(value) => Some(value.to_string()),
        Scalar::Float(value) => Some(value.to_string()),
    }
}

/// The rows a per-row filter touches: all but the summary row.
fn rows(table: &mut DataTable) -> impl Iterator<Item = &mut Row> {
    table.rows_mut().iter_mut()
}

/// `ColumnCallbackReplace` on the label.
fn relabel(table: &mut DataTable, label: impl Fn(&str) -> String) {
    for row in rows(table) {
        row.label = label(&row.label);
    }
}

/// One row relabelled (`getRowFromLabel(…)->setColumn('label', …)`).
fn rename_label(table: &mut DataTable, from: &str, to: &str) {
    if let Some(row) = table.row_by_label_mut(from) {
        to.clone_into(&mut row.label);
    }
}

/// `ColumnCallbackAddMetadata` from the label.
fn add_metadata(table: &mut DataTable, name: &str, value: impl Fn(&str) -> Option<String>) {
    for row in rows(table) {
        if let Some(value) = value(&row.label) {
            set_meta(row, name, value);
        }
    }
}

/// `AddSegmentValue` plus the report's segment: `name==urlencode(value)`.
fn add_segment_value(table: &mut DataTable, name: &str, value: impl Fn(&str) -> Option<String>) {
    add_metadata(table, "segment", |label| {
        value(label).map(|value| format!("{name}=={}", urlencode(&value)))
    });
}

/// `AddSegmentByLabel` with one segment: non-empty labels only.
fn add_segment_by_label(table: &mut DataTable, name: &str) {
    add_segment_value(table, name, |label| {
        (!label.is_empty()).then(|| label.to_owned())
    });
}

/// `AddSegmentByLabel` with several segments and a separator.
fn add_segment_by_parts(table: &mut DataTable, names: &[&str], separator: char) {
    add_metadata(table, "segment", |label| {
        if label.is_empty() {
            return None;
        }
        let parts: Vec<&str> = label.split(separator).collect();
        (parts.len() == names.len()).then(|| {
            names
                .iter()
                .zip(parts)
                .map(|(name, part)| format!("{name}=={}", urlencode(part)))
                .collect::<Vec<_>>()
                .join(";")
        })
    });
}

/// `PrependSegment`: on rows that have a segment.
fn prepend_segment(table: &mut DataTable, prefix: &str) {
    for row in rows(table) {
        if let Some(segment) = meta_str(row, "segment") {
            set_meta(row, "segment", format!("{prefix}{segment}"));
        }
    }
}

/// `GroupBy`: rows whose new label is the same are summed into the first
/// of them, which keeps its metadata and position.
fn group_by(table: &mut DataTable, label: impl Fn(&str) -> String) {
    let summary = table.take_summary_row();
    let mut grouped: Vec<Row> = Vec::new();
    let ops = AggregationOps::default();
    for mut row in table.take_rows() {
        row.label = label(&row.label);
        match grouped.iter_mut().find(|kept| kept.label == row.label) {
            // Matomo sums with `$enableCopyMetadata = false`; a failure
            // (a string column) leaves the first row as it was.
            Some(kept) => {
                let _ = kept.sum_row(&row, &ops, false);
            }
            None => grouped.push(row),
        }
    }
    let mut result = DataTable::from_rows(grouped);
    if let Some(summary) = summary {
        result.set_summary_row(summary);
    }
    *table = result;
}

// ---------------------------------------------------------------------------
// Referrers

pub(crate) fn referrer_type_label(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "1" => ("Direct Entry", "direct"),
        "2" => ("Search Engines", "search"),
        "3" => ("Websites", "website"),
        "6" => ("Campaigns", "campaign"),
        "7" => ("Social Networks", "social"),
        _ => return None,
    })
}

fn referrer_types(table: &mut DataTable) {
    for row in rows(table) {
        let code = row.label.clone();
        if let Some((label, segment)) = referrer_type_label(&code) {
            label.clone_into(&mut row.label);
            set_meta(row, "segment", format!("referrerType=={segment}"));
            if let Ok(id) = code.parse::<i64>() {
                set_meta(row, "referrer_type", Scalar::Int(id));
            }
        }
        // Each type's row names its report by the type id (Matomo's
        // `setNonLoadedSubtableId`), which `getReferrerType&idSubtable=`
        // answers; direct entries have none. The stored subtables belong
        // to the per-type reports.
        row.subtable = None;
        row.subtable_id = code.parse::<u32>().ok().filter(|&id| id != 1);
    }
}

/// Search engine and social network main URLs from the tracker's
/// definitions (`S|name|hosts|…`, `N|name|domains`): the first host, with
/// `{}` as `com`, as Matomo's `getUrlFromName` / `getMainUrlFromName`.
/// The tracker's own definitions: one source of truth for names.
const REFERRER_DEFINITIONS: &str = tally_tracking::referrer::BUILTIN;

pub(crate) fn main_host(kind: &str, name: &str) -> Option<String> {
    REFERRER_DEFINITIONS.lines().find_map(|line| {
        let mut fields = line.trim().split('|').map(str::trim);
        if fields.next() != Some(kind) || fields.next() != Some(name) {
            return None;
        }
        let host = fields.next()?.split(',').map(str::trim).next()?;
        Some(host.replace("{}", "com"))
    })
}

/// `SearchEngine::getBackLinkFromUrlAndKeyword`: the engine's results
/// page for `keyword` (stored form; `""` is the undefined keyword, which
/// links to Matomo's FAQ on it), from the backlink pattern of the engine's
/// first definition line (`{k}` for the keyword, `urlencode`d with `+`
/// for spaces and for a literal plus). `None` when the engine has none.
fn backlink(engine: &str, url: &str, keyword: &str) -> Option<String> {
    if keyword.is_empty() {
        return Some("https://matomo.org/faq/general/faq_144".to_owned());
    }
    let pattern = REFERRER_DEFINITIONS.lines().find_map(|line| {
        let fields: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        (fields.first() == Some(&"S") && fields.get(1) == Some(&engine))
            .then(|| fields.get(6).copied().unwrap_or_default())
    })?;
    if pattern.is_empty() {
        return None;
    }
    let keyword = urlencode(keyword).replace("%2B", "+");
    let separator = if url.ends_with('/') { "" } else { "/" };
    Some(format!(
        "{url}{separator}{}",
        pattern.replace("{k}", &keyword)
    ))
}

/// `getLogoFromUrl`: the icon named after the URL's host.
pub(crate) fn referrer_logo(folder: &str, url: &str) -> String {
    let host = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or("");
    format!("{ICONS}/{folder}/{host}.png")
}

const KEYWORD_NOT_DEFINED: &str = "Keyword not defined";

fn search_engines(table: &mut DataTable, subtable: bool, parent: Option<&str>) {
    if subtable {
        // `getKeywordsFromSearchEngineId`: keywords of one engine, each
        // with the engine's results page for it, segments naming the
        // engine (as stored, not encoded).
        add_segment_by_label(table, "referrerKeyword");
        if let Some(engine) = parent {
            if let Some(host) = main_host("S", engine) {
                let url = format!("http://{host}");
                for row in rows(table) {
                    if let Some(link) = backlink(engine, &url, &row.label) {
                        set_meta(row, "url", link);
                    }
                }
            }
            prepend_segment(
                table,
                &format!("referrerName=={engine};referrerType==search;"),
            );
        }
        rename_label(table, "", KEYWORD_NOT_DEFINED);
        return;
    }
    add_segment_by_label(table, "referrerName");
    prepend_segment(table, "referrerType==search;");
    // Expanded keyword subtables stay as stored: Matomo's filters here do
    // not reach into subtables.
    for row in rows(table) {
        if let Some(host) = main_host("S", &row.label) {
            let url = format!("http://{host}");
            let logo = referrer_logo("searchEngines", &url);
            set_meta(row, "url", url);
            set_meta(row, "logo", logo);
        }
    }
    // `getUrlFromName` knows no engine `-1`, and the logo of that URL is
    // the unknown one.
    summary_meta(table, "url", "URL unknown!");
    summary_meta(table, "logo", format!("{ICONS}/searchEngines/xx.png"));
}

fn keywords(table: &mut DataTable, subtable: bool, parent: Option<&str>, flat: bool) {
    if subtable {
        // `getSearchEnginesFromKeywordId`: the engines of one keyword,
        // each with its logo and its results page for the keyword.
        add_segment_by_label(table, "referrerName");
        if let Some(keyword) = parent {
            for row in rows(table) {
                let Some(host) = main_host("S", &row.label) else {
                    continue;
                };
                // The main URL, its logo, then the URL replaced by the
                // results page (Matomo's order of metadata).
                let url = format!("http://{host}");
                set_meta(row, "url", url.clone());
                set_meta(row, "logo", referrer_logo("searchEngines", &url));
                if let Some(link) = backlink(&row.label, &url, keyword) {
                    set_meta(row, "url", link);
                }
            }
            prepend_segment(
                table,
                &format!("referrerKeyword=={keyword};referrerType==search;"),
            );
        }
        return;
    }
    add_segment_value(table, "referrerKeyword", |label| Some(label.to_owned()));
    prepend_segment(table, "referrerType==search;");
    // `getKeywords` queues its `KeywordNotDefined`, see [`queued`]; a
    // flattened table is labelled here, before it is flattened.
    if flat {
        rename_label(table, "", KEYWORD_NOT_DEFINED);
    }
}

/// `UrlsFromWebsiteId` (`getUrlsFromWebsiteId`, and `getWebsites`'
/// subtables when flattened): the stored referrer URL goes into `url`, the
/// rows are grouped by its path and query (`getPathFromUrl`). Only
/// `getUrlsFromWebsiteId` adds a segment (from each row's `url`).
fn website_urls(table: &mut DataTable, segment: bool) {
    for row in rows(table) {
        let url = tally_tracking::php::html_entity_decode(&row.label);
        if segment {
            set_meta(row, "segment", format!("referrerUrl=={}", urlencode(&url)));
        }
        set_meta(row, "url", url);
    }
    group_by(table, path_from_url);
}

/// The subtables of a flattened `getWebsites`, presented as
/// `getUrlsFromWebsiteId` presents them (Matomo's `filterSubtables`).
fn website_subtables(table: &mut DataTable) {
    for row in rows(table) {
        if let Some(subtable) = row.subtable.as_deref_mut() {
            website_urls(subtable, false);
        }
    }
}

/// `getPathFromUrl`: a URL's path without its leading `/`, then `?` and
/// the query when there is one; `index` when both are empty.
fn path_from_url(url: &str) -> String {
    let Some(parsed) = tally_tracking::php::parse_url(url) else {
        return "index".to_owned();
    };
    let mut query = parsed.query.as_deref().map(str::to_owned);
    // `parse_url` leaves a query after an anchor in the fragment.
    if let Some(fragment) = parsed.fragment.as_deref()
        && let Some((_, after)) = fragment.split_once('?')
    {
        query = Some(after.to_owned());
    }
    let path = parsed.path.as_deref().unwrap_or_default();
    let mut result = path.strip_prefix('/').unwrap_or(path).to_owned();
    if let Some(query) = query {
        result.push('?');
        result.push_str(&query);
    }
    if result.is_empty() {
        "index".to_owned()
    } else {
        result
    }
}

fn socials(table: &mut DataTable, subtable: bool) {
    if subtable {
        add_segment_by_label(table, "referrerUrl");
        return;
    }
    for row in rows(table) {
        // `getMainUrlFromName`: the network's first domain as listed, with
        // no scheme (unlike the search engines' `http://` main URLs).
        if let Some(host) = main_host("N", &row.label) {
            let logo = referrer_logo("socials", &host);
            set_meta(row, "url", host);
            set_meta(row, "logo", logo);
        }
    }
    add_segment_by_label(table, "referrerName");
    prepend_segment(table, "referrerType==social;");
}

// ---------------------------------------------------------------------------
// UserCountry

/// `countryTranslate`.
pub(crate) fn country_name(code: &str) -> String {
    let code = if code.eq_ignore_ascii_case("ti") {
        "cn"
    } else {
        code
    };
    COUNTRIES
        .iter()
        .find(|(known, _, _)| known.eq_ignore_ascii_case(code))
        .map_or(UNKNOWN, |(_, _, name)| name)
        .to_owned()
}

pub(crate) fn flag(code: &str) -> String {
    format!("{ICONS}/flags/{}.png", code.to_ascii_lowercase())
}

fn countries(table: &mut DataTable) {
    group_by(table, |label| {
        if label == "ti" {
            "cn".to_owned()
        } else {
            label.to_owned()
        }
    });
    for row in rows(table) {
        let code = row.label.clone();
        set_meta(row, "code", code.clone());
        set_meta(row, "logo", flag(&code));
        set_meta(row, "segment", format!("countryCode=={}", urlencode(&code)));
        set_meta(row, "logoHeight", Scalar::Int(16));
        row.label = country_name(&code);
    }
}

/// `continentTranslate` of a continent code (`eur` → "Europe").
pub(crate) fn continent_name(code: &str) -> &'static str {
    CONTINENTS
        .iter()
        .find(|(known, _)| *known == code)
        .map_or(UNKNOWN, |(_, name)| name)
}

/// `Common::getContinent` and `continentTranslate` of a country code:
/// `("eur", "Europe")`, `("unk", "Unknown")` for codes we do not know.
pub(crate) fn continent(country: &str) -> (&'static str, &'static str) {
    let country = country.to_ascii_lowercase();
    let code = if country == "ti" {
        "cn"
    } else {
        country.as_str()
    };
    let continent = COUNTRIES
        .iter()
        .find(|(known, _, _)| *known == code)
        .map_or("unk", |(_, continent, _)| continent);
    let name = CONTINENTS
        .iter()
        .find(|(known, _)| *known == continent)
        .map_or(UNKNOWN, |(_, name)| name);
    (continent, name)
}

fn continents(table: &mut DataTable) {
    group_by(table, |code| {
        let code = if code == "ti" { "cn" } else { code };
        COUNTRIES
            .iter()
            .find(|(known, _, _)| *known == code)
            .map_or("unk", |(_, continent, _)| continent)
            .to_owned()
    });
    relabel(table, |code| {
        CONTINENTS
            .iter()
            .find(|(known, _)| *known == code)
            .map_or(UNKNOWN, |(_, name)| name)
            .to_owned()
    });
    add_metadata(table, "code", |label| Some(label.to_owned()));
}

/// The `index`th `|` part, or `empty` when missing or empty
/// (`getElementFromStringArray`).
fn part<'a>(label: &'a str, index: usize, empty: &'a str) -> &'a str {
    match label.split('|').nth(index) {
        Some(value) if !value.is_empty() && value != "0" => value,
        _ => empty,
    }
}

/// Region names need a GeoIP region database we do not ship: every region
/// is what Matomo shows for a code it cannot name, "Unknown".
fn region_name(_country: &str, _region: &str) -> String {
    UNKNOWN.to_owned()
}

fn regions(table: &mut DataTable) {
    add_segment_by_parts(table, &["regionCode", "countryCode"], '|');
    for row in rows(table) {
        let label = row.label.clone();
        let region = part(&label, 0, "xx").to_owned();
        let country = part(&label, 1, "xx").to_owned();
        set_meta(row, "region", region.clone());
        set_meta(row, "country", country.clone());
        set_meta(row, "country_name", country_name(&country));
        let name = region_name(&country, &region);
        set_meta(row, "region_name", name.clone());
        set_meta(row, "logo", flag(&country));
        row.label = if label.is_empty() {
            UNKNOWN.to_owned()
        } else if country != "xx" {
            format!("{name}, {}", country_name(&country))
        } else {
            name
        };
    }
    summary_meta(table, "logo", flag("xx"));
}

fn cities(table: &mut DataTable) {
    add_segment_by_parts(table, &["city", "regionCode", "countryCode"], '|');
    for row in rows(table) {
        let label = row.label.clone();
        let city = part(&label, 0, UNKNOWN).to_owned();
        set_meta(row, "city_name", city.clone());
        if city == UNKNOWN {
            set_meta(row, "city", "xx");
        }
        let region = part(&label, 1, "xx").to_owned();
        let country = part(&label, 2, "xx").to_owned();
        set_meta(row, "region", region.clone());
        set_meta(row, "country", country.clone());
        set_meta(row, "country_name", country_name(&country));
        set_meta(row, "region_name", region_name(&country, &region));
        set_meta(row, "logo", flag(&country));
        row.label = if label.is_empty() {
            UNKNOWN.to_owned()
        } else {
            let mut pretty = city;
            if country != "xx" {
                if region != "xx" {
                    pretty = format!("{pretty}, {}", region_name(&country, &region));
                }
                pretty = format!("{pretty}, {}", country_name(&country));
            }
            pretty
        };
    }
    summary_meta(table, "logo", flag("xx"));
}

// ---------------------------------------------------------------------------
// DevicesDetection, Resolution, DevicePlugins

pub(crate) fn device_type(label: &str) -> Option<&'static str> {
    let id = label.parse::<u8>().ok()?;
    DEVICE_TYPES
        .iter()
        .find(|(known, _)| *known == id)
        .map(|(_, name)| *name)
}

fn device_types(table: &mut DataTable) {
    // `ensureDefaultRowsInTable`: every type is listed once there is data.
    if table.rows_count() > 0 {
        for (id, _) in DEVICE_TYPES {
            let label = id.to_string();
            if table.row_by_label(&label).is_none() {
                let row = Row::new(label).with(ColumnKey::Id(metrics::NB_VISITS), Value::Int(0));
                let _ = table.add_row(row);
            }
        }
    }
    add_metadata(table, "segment", |label| {
        device_type(label).map(|name| format!("deviceType=={}", urlencode(name)))
    });
    add_metadata(table, "logo", |label| {
        let name = device_type(label).unwrap_or("unknown").replace(' ', "_");
        Some(format!("{ICONS}/devices/{name}.png"))
    });
    group_by(table, |label| {
        device_type(label).map_or(UNKNOWN.to_owned(), ucfirst)
    });
    // Matomo's default sort breaks ties by label (natural order, spaces
    // ignored); our sort is stable, so order the labels first.
    let mut sorted = table.take_rows();
    sorted.sort_by(|a, b| {
        tally_datatable::natural_cmp_ci(&a.label.replace(' ', ""), &b.label.replace(' ', ""))
    });
    let summary = table.take_summary_row();
    let mut result = DataTable::from_rows(sorted);
    if let Some(summary) = summary {
        result.set_summary_row(summary);
    }
    *table = result;
}

pub(crate) fn brand_label(code: &str) -> String {
    tally_tracking::device::brand_name(code).map_or(UNKNOWN.to_owned(), ucfirst)
}

fn brands(table: &mut DataTable) {
    group_by(table, brand_label);
    add_metadata(table, "logo", |label| {
        let file = if label == UNKNOWN {
            "unk".to_owned()
        } else {
            label
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        Some(format!("{ICONS}/brand/{file}.png"))
    });
    add_segment_by_label(table, "deviceBrand");
}

pub(crate) fn model_name(label: &str) -> String {
    let (brand, model) = match label.split_once(';') {
        Some((brand, model)) => (Some(brand_label(brand)), model),
        None => (None, label),
    };
    let brand = brand.filter(|brand| brand != UNKNOWN);
    let model = if model.is_empty() {
        UNKNOWN.to_owned()
    } else if let Some(generic) = model.strip_prefix("generic ") {
        if generic == "mobile" {
            "Generic Mobile device".to_owned()
        } else {
            let name = DEVICE_TYPES
                .iter()
                .find(|(_, name)| *name == generic)
                .map_or(UNKNOWN.to_owned(), |(_, name)| ucfirst(name));
            format!("Generic {name}")
        }
    } else {
        model.to_owned()
    };
    match brand {
        Some(brand) => format!("{brand} - {model}"),
        None => model,
    }
}

fn models(table: &mut DataTable) {
    add_metadata(table, "segment", |label| {
        let (brand, model) = match label.split_once(';') {
            Some((brand, model)) => (brand_label(brand), model),
            None => (String::new(), label),
        };
        Some(format!(
            "deviceBrand=={};deviceModel=={}",
            urlencode(&brand),
            urlencode(model)
        ))
    });
    group_by(table, model_name);
}

fn os(code: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    OPERATING_SYSTEMS
        .iter()
        .find(|(known, _, _)| *known == code)
}

/// `getOSFamilyFullName`.
fn os_family(code: &str) -> String {
    if code == "BOT" {
        return "Bot".to_owned();
    }
    match os(code) {
        Some((_, _, "Gaming Console")) => "Console".to_owned(),
        Some((_, _, family)) => (*family).to_owned(),
        None => UNKNOWN.to_owned(),
    }
}

pub(crate) fn os_logo(code: &str) -> String {
    // Matomo points at its unknown icon when the icon file is missing
    // (`getOsLogo` checks the file): Java ME has none (its expected
    // output for a feature phone shows `UNK.png`).
    const NO_ICON: [&str; 1] = ["JME"];
    let code = if os(code).is_some() && !NO_ICON.contains(&code) {
        code
    } else {
        "UNK"
    };
    format!("{ICONS}/os/{code}.png")
}

fn os_families(table: &mut DataTable) {
    group_by(table, os_family);
    add_metadata(table, "logo", |family| {
        let code = OS_FAMILY_LOGOS
            .iter()
            .find(|(known, _)| *known == family)
            .map_or("UNK", |(_, code)| code);
        Some(format!("{ICONS}/os/{code}.png"))
    });
}

/// `getOsFullName` of `os;version`.
pub(crate) fn os_full_name(label: &str) -> String {
    let (code, version) = label.split_once(';').unwrap_or((label, ""));
    if code == "BOT" {
        return "Bot".to_owned();
    }
    match os(code) {
        Some((_, name, _)) => format!("{name} {version}").trim().to_owned(),
        None => UNKNOWN.to_owned(),
    }
}

fn os_versions(table: &mut DataTable) {
    add_segment_by_parts(
        table,
        &["operatingSystemCode", "operatingSystemVersion"],
        ';',
    );
    add_metadata(table, "logo", |label| {
        Some(os_logo(label.split(';').next().unwrap_or("")))
    });
    group_by(table, os_full_name);
    summary_meta(table, "logo", os_logo("-1"));
}

pub(crate) fn browser(code: &str) -> Option<&'static str> {
    BROWSERS
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, name)| *name)
}

/// `getBrowserName`: a browser code's name, else (apps and libraries,
/// which Matomo stores by name) the label itself, else "Unknown".
pub(crate) fn browser_name(label: &str) -> String {
    let short: String = label.chars().take(2).collect();
    match browser(&short) {
        Some(name) => name.to_owned(),
        None if label.chars().count() > 2 && !label.contains("UNK") => label.to_owned(),
        None => UNKNOWN.to_owned(),
    }
}

pub(crate) fn browser_logo(code: &str) -> String {
    let code = if browser(code).is_some() { code } else { "UNK" };
    format!("{ICONS}/browsers/{code}.png")
}

fn browsers(table: &mut DataTable) {
    // The segment value is kept aside and rendered after the logo, as
    // Matomo's `AddSegmentValue` becomes `segment` in post-processing.
    let mut segments = Vec::new();
    for row in rows(table) {
        let code = row.label.clone();
        let segment = (browser(&code).is_some() || code == "UNK")
            .then(|| format!("browserCode=={}", urlencode(&code)));
        row.label = browser_name(&code);
        segments.push((row.label.clone(), code, segment));
    }
    group_by(table, str::to_owned);
    for row in rows(table) {
        let found = segments.iter().find(|(label, _, _)| *label == row.label);
        let code = found.map_or("UNK", |(_, code, _)| code.as_str());
        set_meta(row, "logo", browser_logo(code));
        if let Some((_, _, Some(segment))) = found {
            set_meta(row, "segment", segment.clone());
        }
    }
}

/// `getBrowserNameWithVersion`.
pub(crate) fn browser_with_version(label: &str) -> String {
    let (code, version) = label.rsplit_once(';').unwrap_or(("", label));
    match browser(code) {
        Some(name) => format!("{name} {version}").trim().to_owned(),
        None if code.len() > 2 && code != "UNK" => format!("{code} {version}").trim().to_owned(),
        None => UNKNOWN.to_owned(),
    }
}

fn browser_versions(table: &mut DataTable) {
    add_segment_by_parts(table, &["browserCode", "browserVersion"], ';');
    add_metadata(table, "logo", |label| {
        Some(browser_logo(label.split(';').next().unwrap_or("")))
    });
    relabel(table, browser_with_version);
    summary_meta(table, "logo", browser_logo("-1"));
}

/// `getBrowserEngineName`.
pub(crate) fn engine_name(engine: &str) -> String {
    match engine {
        "" => UNKNOWN.to_owned(),
        "Trident" => "Trident (IE)".to_owned(),
        "Gecko" => "Gecko (Firefox)".to_owned(),
        "KHTML" => "KHTML (Konqueror)".to_owned(),
        "Presto" => "Presto (Opera)".to_owned(),
        "WebKit" => "WebKit (Safari)".to_owned(),
        "Blink" => "Blink (Chrome, Opera)".to_owned(),
        other => other.to_owned(),
    }
}

/// `getBrowserEngines`: `AddSegmentValue` (every label, the empty one of
/// browsers without an engine too, whose segment is `browserEngine==`),
/// then the engines' names.
fn browser_engines(table: &mut DataTable) {
    add_segment_value(table, "browserEngine", |label| Some(label.to_owned()));
    group_by(table, engine_name);
}

/// `getConfigurationLabel` of `os;browser;resolution`.
fn configuration_label(label: &str) -> String {
    let parts: Vec<&str> = label.split(';').collect();
    match parts[..] {
        [os, browser_code, resolution] => {
            let browser = if browser_code.is_empty() {
                UNKNOWN.to_owned()
            } else {
                browser(browser_code).map_or_else(
                    || {
                        if browser_code.len() > 2 && !browser_code.contains("UNK") {
                            browser_code.to_owned()
                        } else {
                            UNKNOWN.to_owned()
                        }
                    },
                    str::to_owned,
                )
            };
            let os = if os.is_empty() {
                UNKNOWN.to_owned()
            } else {
                os_full_name(os)
            };
            format!("{os} / {browser} / {resolution}")
        }
        _ => label.to_owned(),
    }
}

fn plugins(table: &mut DataTable, visits: f64) {
    for row in rows(table) {
        let count = row
            .column("nb_visits")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        // `VisitsPercent`: a quotient of 2 decimals, clamped to 0..1
        // (`RangeCheck`).
        let share = if visits > 0.0 {
            tally_datatable::format::round_php(count / visits, 2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        row.columns.set(
            ColumnKey::from("nb_visits_percentage"),
            crate::processed::number(share),
        );
        set_meta(row, "logo", format!("{ICONS}/plugins/{}.png", row.label));
        row.label = ucfirst(&row.label);
    }
}

// ---------------------------------------------------------------------------
// UserLanguage

/// `languageTranslate`.
pub(crate) fn language_name(code: &str) -> String {
    if code.is_empty() || code == "xx" {
        return UNKNOWN.to_owned();
    }
    LANGUAGES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or_else(
            || format!("Language code {code}"),
            |(_, name)| (*name).to_owned(),
        )
}

/// `languageTranslateWithCode`.
fn language_with_code(label: &str) -> String {
    let parts: Vec<&str> = label.split('-').collect();
    let language = language_name(parts[0]);
    match parts[..] {
        [lang, country] if lang != country => {
            let name = country_name(country);
            if name == UNKNOWN {
                format!("{language} ({lang})")
            } else {
                format!("{language} - {name} ({label})")
            }
        }
        _ => format!("{language} ({})", parts[0]),
    }
}

fn languages(table: &mut DataTable) {
    group_by(table, |label| {
        label.split('-').next().unwrap_or("").to_owned()
    });
    add_metadata(table, "segment", |label| {
        Some(if label.is_empty() || label == "xx" {
            "languageCode==xx".to_owned()
        } else {
            format!("languageCode=={label},languageCode=@{label}-")
        })
    });
    relabel(table, language_name);
}

// ---------------------------------------------------------------------------
// VisitTime, VisitorInterest

fn hours(table: &mut DataTable, segment: impl Fn(u8) -> String) {
    for row in rows(table) {
        if let Ok(hour) = row.label.parse::<u8>() {
            set_meta(row, "segment", segment(hour));
            row.label = format!("{hour:02}");
        }
    }
}

/// A stored range label: `lo-hi`, or `lo+` (stored `lo%2B`) without an
/// upper bound.
#[derive(Debug, Clone, Copy)]
struct Range {
    lower: u32,
    upper: Option<u32>,
}

fn parse_range(label: &str) -> Option<Range> {
    let label = label.replace("%2B", "+");
    if let Some(lower) = label.strip_suffix('+') {
        return Some(Range {
            lower: lower.trim().parse().ok()?,
            upper: None,
        });
    }
    let (lower, upper) = label.split_once('-')?;
    Some(Range {
        lower: lower.trim().parse().ok()?,
        upper: Some(upper.trim().parse().ok()?),
    })
}

/// `AddSegmentByRangeLabel` and a `Beautify*RangeLabels` filter.
fn ranges(table: &mut DataTable, segment: &str, label: impl Fn(Range) -> String) {
    for row in rows(table) {
        if row.label == "General_NewVisits" {
            set_meta(row, "segment", "visitorType==new");
            "New visits".clone_into(&mut row.label);
            continue;
        }
        let Some(range) = parse_range(&row.label) else {
            continue;
        };
        let condition = match range.upper {
            Some(upper) if upper == range.lower => format!("{segment}=={upper}"),
            Some(upper) => format!("{segment}>={};{segment}<={upper}", range.lower),
            None => format!("{segment}>={}", range.lower),
        };
        set_meta(row, "segment", condition);
        row.label = label(range);
    }
}

/// `BeautifyRangeLabels` alone (no segment), on rows and summary row.
fn beautify_ranges(table: &mut DataTable, one: &str, plural: &str) {
    for row in rows(table) {
        if let Some(range) = parse_range(&row.label) {
            row.label = count_label(range, one, plural);
        }
    }
}

/// `BeautifyRangeLabels` with a singular for 1 and `N <plural>` otherwise.
fn count_label(range: Range, one: &str, plural: &str) -> String {
    match range.upper {
        Some(upper) if upper == range.lower && upper == 1 => one.to_owned(),
        Some(upper) if upper == range.lower => format!("{upper} {plural}"),
        Some(upper) => format!("{}-{upper} {plural}", range.lower),
        // `urlencode('+')` as Matomo writes it: SafeDecodeLabel, run on
        // every label afterwards, decodes it (a bare `+` would read as a
        // space).
        None => format!("{}%2B {plural}", range.lower),
    }
}

/// `BeautifyTimeRangeLabels`: seconds below a minute, else minutes
/// (rounded up; the open range rounds down so 1801 s+ is "30+ min").
fn duration_label(range: Range) -> String {
    let minutes_up = |seconds: u32| seconds.div_ceil(60);
    match range.upper {
        Some(upper) if range.lower < 60 => format!("{}–{upper}s", range.lower),
        Some(upper) if upper == range.lower && upper == 60 => "1 min".to_owned(),
        Some(upper) if upper == range.lower => format!("{} min", minutes_up(upper)),
        Some(upper) => format!("{}-{} min", minutes_up(range.lower), minutes_up(upper)),
        None if range.lower < 60 => format!("{}s", range.lower),
        None => format!("{}%2B min", range.lower / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_urls_are_grouped_by_path_and_query() {
        assert_eq!(
            path_from_url("http://www.referrer0.com/theReferrerPage1.html"),
            "theReferrerPage1.html"
        );
        assert_eq!(path_from_url("http://piwik.org/a/b?x=1#top"), "a/b?x=1");
        assert_eq!(path_from_url("http://piwik.org/a#frag?q=2"), "a?q=2");
        assert_eq!(path_from_url("http://piwik.org/"), "index");
        assert_eq!(path_from_url("http://piwik.org"), "index");
        let mut table = DataTable::from_rows([
            Row::new("http://x.org/p?a=1").with("nb_visits", 2),
            Row::new("https://y.org/p?a=1").with("nb_visits", 3),
            Row::new("http://x.org/").with("nb_visits", 1),
        ]);
        website_urls(&mut table, true);
        let rows: Vec<(&str, Option<f64>)> = table
            .rows()
            .iter()
            .map(|row| {
                (
                    row.label.as_str(),
                    row.column("nb_visits").and_then(Value::as_f64),
                )
            })
            .collect();
        assert_eq!(rows, [("p?a=1", Some(5.0)), ("index", Some(1.0))]);
        assert_eq!(
            table.rows()[0].metadata.get("url"),
            Some(&Scalar::Str("http://x.org/p?a=1".to_owned()))
        );
    }

    #[test]
    fn browser_labels_name_codes_apps_and_unknowns() {
        assert_eq!(browser_name("EP"), "GNOME Web");
        assert_eq!(browser_name("CH"), "Chrome");
        // Apps and libraries are stored by name (Matomo's BrowserName).
        assert_eq!(browser_name("Facebook"), "Facebook");
        assert_eq!(browser_name("UNK"), "Unknown");
        assert_eq!(browser_name(""), "Unknown");
    }

    #[test]
    fn browser_engines_without_engine_get_an_empty_segment() {
        let mut table = DataTable::from_rows([
            Row::new("Blink").with("nb_visits", 2),
            Row::new("").with("nb_visits", 1),
        ]);
        browser_engines(&mut table);
        let rows: Vec<(&str, Option<&Scalar>)> = table
            .rows()
            .iter()
            .map(|row| (row.label.as_str(), row.metadata.get("segment")))
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "Blink (Chrome, Opera)",
                    Some(&Scalar::Str("browserEngine==Blink".to_owned()))
                ),
                ("Unknown", Some(&Scalar::Str("browserEngine==".to_owned()))),
            ]
        );
    }

    #[test]
    fn php_urlencode() {
        assert_eq!(urlencode("Yahoo!"), "Yahoo%21");
        assert_eq!(urlencode("car browser"), "car+browser");
        assert_eq!(urlencode("a/b~c"), "a%2Fb%7Ec");
    }

    #[test]
    fn time_ranges_read_as_matomo() {
        let label = |text: &str| parse_range(text).map(duration_label);
        assert_eq!(label("0-10").as_deref(), Some("0–10s"));
        assert_eq!(label("60-120").as_deref(), Some("1-2 min"));
        assert_eq!(label("900-1800").as_deref(), Some("15-30 min"));
        assert_eq!(label("1801%2B").as_deref(), Some("30%2B min"));
    }

    #[test]
    fn page_and_day_ranges() {
        let pages = |text: &str| parse_range(text).map(|r| count_label(r, "1 page", "pages"));
        assert_eq!(pages("1-1").as_deref(), Some("1 page"));
        assert_eq!(pages("2-2").as_deref(), Some("2 pages"));
        assert_eq!(pages("6-7").as_deref(), Some("6-7 pages"));
        assert_eq!(pages("21%2B").as_deref(), Some("21%2B pages"));
        let days = |text: &str| parse_range(text).map(|r| count_label(r, "1 day", "days"));
        assert_eq!(days("0-0").as_deref(), Some("0 days"));
        assert_eq!(days("365%2B").as_deref(), Some("365%2B days"));
    }

    #[test]
    fn device_names() {
        assert_eq!(os_full_name("WIN;10"), "Windows 10");
        assert_eq!(os_full_name("LIN;"), "GNU/Linux");
        assert_eq!(os_full_name("UNK;"), "Unknown");
        assert_eq!(browser_with_version("FF;128.0"), "Firefox 128.0");
        assert_eq!(
            configuration_label("WIN;FF;1024x768"),
            "Windows / Firefox / 1024x768"
        );
        assert_eq!(model_name("AP;iPhone"), "Apple - iPhone");
        assert_eq!(model_name(";generic desktop"), "Generic Desktop");
    }

    #[test]
    fn language_labels() {
        assert_eq!(language_with_code("fr"), "French (fr)");
        assert_eq!(
            language_with_code("en-us"),
            "English - United States (en-us)"
        );
        assert_eq!(language_name("zz"), "Language code zz");
    }

    #[test]
    fn search_engine_urls_come_from_the_tracker_definitions() {
        assert_eq!(main_host("S", "Google").as_deref(), Some("google.com"));
        assert_eq!(
            referrer_logo("searchEngines", "http://google.com"),
            "plugins/Morpheus/icons/dist/searchEngines/google.com.png"
        );
    }
}
