//! Referrers: visits and conversions by referrer type, search engine and
//! keyword, website and URL, social network and URL, and campaign and
//! keyword (MATOMO.md sections 5 and 7.5; Matomo's
//! `plugins/Referrers/RecordBuilders/Referrers.php`).

use std::collections::HashSet;

use tally_datatable::{Columns, DataTable};
use tally_schema::ReferrerType;

use crate::ArchiveError;
use crate::builders::goals::{enrich_with_goal_sums, goal_metric_columns};
use crate::builders::{label_of, visit_columns};
use crate::context::{DayContext, PeriodContext, SharedScan};
use crate::grouping::group_visit_dimensions;
use crate::record::{Record, RecordBuilder, RecordKind};

/// The six Referrers reports and their six row counts.
///
/// Visits are grouped by `referer_type`, `referer_name`, `referer_keyword`
/// and `referer_url` of `log_visit`; each group adds its 8 visit metrics
/// (ids 1, 2, 3, 39, 4, 5, 6, 7) to the rows it belongs to, so groups
/// sharing a label are summed, unique visitors and users included, as
/// Matomo sums them:
/// - [`Referrers::TYPE`]: every visit under its type (`1` direct, `2`
///   search engine, `3` website, `6` campaign, `7` social network; a NULL
///   or 0 type counts as direct);
/// - search engines: [`Referrers::KEYWORD_BY_SEARCH_ENGINE`] (engine name
///   → keyword subtable) and [`Referrers::SEARCH_ENGINE_BY_KEYWORD`]
///   (keyword → engine subtable); an empty keyword (or `"0"`, PHP's
///   `empty()`) is Matomo's "keyword not defined" label, the empty string;
/// - [`Referrers::URL_BY_WEBSITE`] and [`Referrers::URL_BY_SOCIAL_NETWORK`]:
///   name → referrer URL subtable;
/// - [`Referrers::KEYWORD_BY_CAMPAIGN`]: campaign name → keyword subtable,
///   keywords only when not empty.
///
/// Conversions are grouped by the `referer_*` columns copied to
/// `log_conversion` (MATOMO.md section 5.5) and add column 10 (`goals`,
/// the goal metrics under their goal id) to the top-level rows of the same
/// reports and to the campaign keyword subtables; search engine, keyword,
/// website and social network subtables get no goal metrics, as in
/// Matomo. Conversions of an unknown type are left out of every report.
/// Then every row with goal metrics, subtables included, gets column 8
/// (`nb_conversions`) and 9 (`revenue`): the sums over goals and orders,
/// abandoned carts left out (and `nb_visits` = 0 when only conversions
/// made the row).
///
/// Numeric records count rows before truncation: top-level rows of the
/// search engine, social network, keyword, campaign and website reports,
/// and `Referrers_distinctWebsitesUrls`, the distinct referrer URLs of
/// website visits. Longer periods sum the tables by label and recount
/// rows of the summed tables (URLs: all website rows minus the top-level
/// ones). Tables keep [`Referrers::max_rows`] rows and
/// [`Referrers::max_subtable_rows`] per subtable, sorted by visits.
///
/// Differences from Matomo:
/// - A visit whose `referer_type` is none of the known types (4, 5, or a
///   newer type such as Matomo's later AI assistants) is counted in
///   [`Referrers::TYPE`] under its own label; Matomo throws and the day is
///   not archived.
/// - Goal counts (`nb_conversions`, `nb_visits_converted`, `items`, and
///   column 8) are integers and whole amounts of money too, where Matomo
///   stores floats; both render as the same numbers.
#[derive(Debug, Clone)]
pub struct Referrers {
    /// Top-level rows of each report
    /// (`datatable_archiving_maximum_rows_referrers`, default 1000).
    pub max_rows: usize,
    /// Rows of each subtable
    /// (`datatable_archiving_maximum_rows_subtable_referrers`, default 50).
    pub max_subtable_rows: usize,
}

impl Default for Referrers {
    fn default() -> Self {
        Self {
            max_rows: 1000,
            max_subtable_rows: 50,
        }
    }
}

impl Referrers {
    /// Visits by referrer type id.
    pub const TYPE: &'static str = "Referrers_type";
    /// Search engine → keywords.
    pub const KEYWORD_BY_SEARCH_ENGINE: &'static str = "Referrers_keywordBySearchEngine";
    /// Keyword → search engines.
    pub const SEARCH_ENGINE_BY_KEYWORD: &'static str = "Referrers_searchEngineByKeyword";
    /// Campaign name → campaign keywords.
    pub const KEYWORD_BY_CAMPAIGN: &'static str = "Referrers_keywordByCampaign";
    /// Website → referrer URLs.
    pub const URL_BY_WEBSITE: &'static str = "Referrers_urlByWebsite";
    /// Social network → referrer URLs.
    pub const URL_BY_SOCIAL_NETWORK: &'static str = "Referrers_urlBySocialNetwork";
    /// Top-level rows of [`Referrers::KEYWORD_BY_SEARCH_ENGINE`].
    pub const DISTINCT_SEARCH_ENGINES: &'static str = "Referrers_distinctSearchEngines";
    /// Top-level rows of [`Referrers::URL_BY_SOCIAL_NETWORK`].
    pub const DISTINCT_SOCIAL_NETWORKS: &'static str = "Referrers_distinctSocialNetworks";
    /// Top-level rows of [`Referrers::SEARCH_ENGINE_BY_KEYWORD`].
    pub const DISTINCT_KEYWORDS: &'static str = "Referrers_distinctKeywords";
    /// Top-level rows of [`Referrers::KEYWORD_BY_CAMPAIGN`].
    pub const DISTINCT_CAMPAIGNS: &'static str = "Referrers_distinctCampaigns";
    /// Top-level rows of [`Referrers::URL_BY_WEBSITE`].
    pub const DISTINCT_WEBSITES: &'static str = "Referrers_distinctWebsites";
    /// Distinct referrer URLs of website visits.
    pub const DISTINCT_WEBSITES_URLS: &'static str = "Referrers_distinctWebsitesUrls";
}

/// The blob records, in Matomo's order.
const BLOBS: [&str; 6] = [
    Referrers::KEYWORD_BY_SEARCH_ENGINE,
    Referrers::URL_BY_SOCIAL_NETWORK,
    Referrers::SEARCH_ENGINE_BY_KEYWORD,
    Referrers::KEYWORD_BY_CAMPAIGN,
    Referrers::URL_BY_WEBSITE,
    Referrers::TYPE,
];

/// Each top-level row count and the blob it counts.
const COUNTS: [(&str, &str); 5] = [
    (
        Referrers::DISTINCT_SEARCH_ENGINES,
        Referrers::KEYWORD_BY_SEARCH_ENGINE,
    ),
    (
        Referrers::DISTINCT_SOCIAL_NETWORKS,
        Referrers::URL_BY_SOCIAL_NETWORK,
    ),
    (
        Referrers::DISTINCT_KEYWORDS,
        Referrers::SEARCH_ENGINE_BY_KEYWORD,
    ),
    (
        Referrers::DISTINCT_CAMPAIGNS,
        Referrers::KEYWORD_BY_CAMPAIGN,
    ),
    (Referrers::DISTINCT_WEBSITES, Referrers::URL_BY_WEBSITE),
];

const CONVERSION_DIMENSIONS: [&str; 3] = [
    "log_conversion.referer_type",
    "log_conversion.referer_name",
    "log_conversion.referer_keyword",
];

/// `API::LABEL_KEYWORD_NOT_DEFINED`: shown as "Keyword not defined".
const KEYWORD_NOT_DEFINED: &str = "";

/// PHP's `empty()` on a string.
fn php_empty(text: &str) -> bool {
    text.is_empty() || text == "0"
}

/// The referrer of one group of visits or conversions.
#[derive(Debug)]
struct Referrer<'a> {
    /// The `Referrers_type` label.
    type_label: &'a str,
    /// The known type, `None` for an unknown one.
    kind: Option<ReferrerType>,
    name: &'a str,
    keyword: &'a str,
    url: &'a str,
}

impl<'a> Referrer<'a> {
    /// Reads type, name, keyword and (for visits) URL labels; NULL is the
    /// empty label, and an empty type is a direct entry
    /// (`makeReferrerTypeNonEmpty`).
    fn from_labels(labels: &'a [Option<String>]) -> Self {
        let raw_type = label_of(labels, 0);
        let type_label = if php_empty(raw_type) { "1" } else { raw_type };
        let kind = type_label
            .parse::<u8>()
            .ok()
            .and_then(|code| ReferrerType::from_code(code).ok());
        Self {
            type_label,
            kind,
            name: label_of(labels, 1),
            keyword: label_of(labels, 2),
            url: label_of(labels, 3),
        }
    }

    /// The keyword label of a search engine referrer.
    fn search_keyword(&self) -> &'a str {
        if php_empty(self.keyword) {
            KEYWORD_NOT_DEFINED
        } else {
            self.keyword
        }
    }
}

/// The report tables of one period.
#[derive(Debug, Default)]
struct Tables {
    types: DataTable,
    search_engines: DataTable,
    keywords: DataTable,
    campaigns: DataTable,
    websites: DataTable,
    social_networks: DataTable,
}

/// Sums `columns` into the row `label` of `table` and, with `sub_label`,
/// into that row's subtable (`sumRowWithLabelToSubtable`).
fn sum_into(
    table: &mut DataTable,
    label: &str,
    sub_label: Option<&str>,
    columns: &Columns,
) -> Result<(), ArchiveError> {
    let row = table.sum_row_with_label(label, columns.clone())?;
    if let Some(sub_label) = sub_label {
        row.subtable
            .get_or_insert_with(Box::default)
            .sum_row_with_label(sub_label, columns.clone())?;
    }
    Ok(())
}

impl Tables {
    fn add_visits(
        &mut self,
        referrer: &Referrer<'_>,
        columns: &Columns,
    ) -> Result<(), ArchiveError> {
        match referrer.kind {
            Some(ReferrerType::SearchEngine) => {
                let keyword = referrer.search_keyword();
                sum_into(
                    &mut self.search_engines,
                    referrer.name,
                    Some(keyword),
                    columns,
                )?;
                sum_into(&mut self.keywords, keyword, Some(referrer.name), columns)?;
            }
            Some(ReferrerType::Social) => {
                let url = Some(referrer.url);
                sum_into(&mut self.social_networks, referrer.name, url, columns)?;
            }
            Some(ReferrerType::Website) => {
                sum_into(
                    &mut self.websites,
                    referrer.name,
                    Some(referrer.url),
                    columns,
                )?;
            }
            Some(ReferrerType::Campaign) => {
                let keyword = (!php_empty(referrer.keyword)).then_some(referrer.keyword);
                sum_into(&mut self.campaigns, referrer.name, keyword, columns)?;
            }
            // Direct entries (and unknown types) are only counted by type.
            _ => {}
        }
        sum_into(&mut self.types, referrer.type_label, None, columns)
    }

    fn add_conversions(
        &mut self,
        referrer: &Referrer<'_>,
        columns: &Columns,
    ) -> Result<(), ArchiveError> {
        match referrer.kind {
            Some(ReferrerType::SearchEngine) => {
                sum_into(&mut self.search_engines, referrer.name, None, columns)?;
                sum_into(&mut self.keywords, referrer.search_keyword(), None, columns)?;
            }
            Some(ReferrerType::Social) => {
                sum_into(&mut self.social_networks, referrer.name, None, columns)?;
            }
            Some(ReferrerType::Website) => {
                sum_into(&mut self.websites, referrer.name, None, columns)?;
            }
            Some(ReferrerType::Campaign) => {
                let keyword = (!php_empty(referrer.keyword)).then_some(referrer.keyword);
                sum_into(&mut self.campaigns, referrer.name, keyword, columns)?;
            }
            Some(ReferrerType::Direct) => {}
            // The conversion's referrer comes from the request (`_ref`,
            // `_rcn`): Matomo ignores values it does not know.
            _ => return Ok(()),
        }
        sum_into(&mut self.types, referrer.type_label, None, columns)
    }

    fn into_records(self) -> [(&'static str, DataTable); 6] {
        [
            (Referrers::KEYWORD_BY_SEARCH_ENGINE, self.search_engines),
            (Referrers::URL_BY_SOCIAL_NETWORK, self.social_networks),
            (Referrers::SEARCH_ENGINE_BY_KEYWORD, self.keywords),
            (Referrers::KEYWORD_BY_CAMPAIGN, self.campaigns),
            (Referrers::URL_BY_WEBSITE, self.websites),
            (Referrers::TYPE, self.types),
        ]
    }
}

/// A count as a numeric record value.
#[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
fn count(value: usize) -> f64 {
    value as f64
}

impl RecordBuilder for Referrers {
    fn plugin(&self) -> &str {
        "Referrers"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn records(&self) -> Vec<Record> {
        // The counts are plain numeric records that this builder computes
        // itself, day and period: Matomo counts the rows before the tables
        // are truncated, and a count-of-rows record is counted after.
        BLOBS
            .iter()
            .map(|name| Record::blob(*name).max_rows(self.max_rows, self.max_subtable_rows))
            .chain(COUNTS.iter().map(|(name, _)| Record::numeric(*name)))
            .chain([Record::numeric(Self::DISTINCT_WEBSITES_URLS)])
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let logs = ctx.logs();
        let visits = ctx.visit_dimensions()?;
        let mut tables = Tables::default();
        let mut website_urls: HashSet<String> = HashSet::new();
        // Type, name, keyword and URL of each visit, grouped from the
        // shared visit scan.
        for group in group_visit_dimensions(&visits, |v, key| {
            key.push_int(v.referer_type.map(i64::from));
            key.push(v.referer_name.as_deref());
            key.push(v.referer_keyword.as_deref());
            key.push(v.referer_url.as_deref());
            true
        }) {
            let referrer = Referrer::from_labels(&group.labels);
            tables.add_visits(&referrer, &visit_columns(&group))?;
            if referrer.kind == Some(ReferrerType::Website) {
                website_urls.insert(referrer.url.to_owned());
            }
        }
        for group in logs.query_conversions_by_dimension(ctx.conn(), &CONVERSION_DIMENSIONS)? {
            let referrer = Referrer::from_labels(&group.labels);
            tables.add_conversions(&referrer, &goal_metric_columns(&group))?;
        }
        for (name, mut table) in tables.into_records() {
            enrich_with_goal_sums(&mut table);
            if let Some((count_name, _)) = COUNTS.iter().find(|(_, blob)| *blob == name) {
                ctx.insert_numeric(count_name, count(table.rows_count()));
            }
            if table.rows_count() > 0 {
                ctx.insert_table(name, table);
            }
        }
        ctx.insert_numeric(Self::DISTINCT_WEBSITES_URLS, count(website_urls.len()));
        Ok(())
    }

    fn build_period(&self, ctx: &mut PeriodContext<'_>) -> Result<(), ArchiveError> {
        let blobs: Vec<Record> = self
            .records()
            .into_iter()
            .filter(|record| record.kind == RecordKind::Blob)
            .collect();
        ctx.aggregate_records(&blobs)?;
        let rows = |ctx: &PeriodContext<'_>, blob: &str| {
            ctx.output()
                .table(blob)
                .map_or((0, 0), |t| (t.rows_count(), t.rows_count_recursive()))
        };
        for (name, blob) in COUNTS {
            let (top, _) = rows(ctx, blob);
            ctx.insert_numeric(name, count(top));
        }
        // The URL subtables of all websites: every row below the top level.
        let (top, recursive) = rows(ctx, Self::URL_BY_WEBSITE);
        ctx.insert_numeric(
            Self::DISTINCT_WEBSITES_URLS,
            count(recursive.saturating_sub(top)),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn referrer(labels: &[Option<&str>]) -> (String, Option<ReferrerType>, String) {
        let labels: Vec<Option<String>> = labels.iter().map(|l| l.map(str::to_owned)).collect();
        let referrer = Referrer::from_labels(&labels);
        (
            referrer.type_label.to_owned(),
            referrer.kind,
            referrer.search_keyword().to_owned(),
        )
    }

    #[test]
    fn empty_types_are_direct_and_empty_keywords_not_defined() {
        assert_eq!(
            referrer(&[None, None, None, None]),
            ("1".into(), Some(ReferrerType::Direct), String::new())
        );
        assert_eq!(
            referrer(&[Some("0"), Some("x"), Some("0"), None]),
            ("1".into(), Some(ReferrerType::Direct), String::new())
        );
        assert_eq!(
            referrer(&[Some("2"), Some("Google"), Some("rust"), None]),
            ("2".into(), Some(ReferrerType::SearchEngine), "rust".into())
        );
        assert_eq!(
            referrer(&[Some("4"), None, None, None]),
            ("4".into(), None, String::new())
        );
    }
}
