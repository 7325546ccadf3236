//! Actions: page URLs, page titles, downloads, outlinks and site search
//! (MATOMO.md sections 3.7 and 7.5; Matomo's
//! `plugins/Actions/RecordBuilders/ActionReports.php` and
//! `SearchCategories.php`).
//!
//! A day is folded from the shared scans in a few linear passes:
//! 1. every `log_action` id the day's actions use gets a dense *slot*, and
//!    each action row its four slots (URL, name, previous URL, previous
//!    name);
//! 2. one pass over the actions counts hits, time spent, searches and page
//!    timings per slot and lists one `(slot, visit, visitor)` triple per hit;
//! 3. distinct visits and visitors per slot are counted by grouping the
//!    triples by visit (resp. visitor) with a counting sort and counting
//!    each slot once per group: no set per action;
//! 4. one pass over the visits adds the entry and exit metrics;
//! 5. each slot's name is split into its report path once (not per hit) and
//!    walked into the report tree, in Matomo's order so that the same rows
//!    end up in "Others" when a table is full.
//!
//! With many URLs hit at random the per-slot counters do not fit in the CPU
//! caches and every hit costs a few cache misses; that is what the action
//! pass spends its time on (docs/PERFORMANCE.md has the benchmark).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use diesel::prelude::*;
use tally_datatable::format::round_php;
use tally_datatable::{
    ColumnKey, ColumnOp, Columns, DataTable, GoalColumns, Goals, Row, Scalar, Value, metrics,
};
use tally_schema::ActionType;
use tally_schema::schema::site;

use crate::ArchiveError;
use crate::context::{DayContext, SharedScan};
use crate::logs::{ActionName, ActionRow, EntryConversionGroup, PageConversionGroup, VisitRow};
use crate::record::{Record, RecordBuilder, RenameAfterAggregation};

/// The Actions reports (`ActionReports` and `SearchCategories`).
///
/// Blob records: [`Actions::PAGE_URLS`], [`Actions::PAGE_TITLES`],
/// [`Actions::DOWNLOADS`], [`Actions::OUTLINKS`], [`Actions::SITE_SEARCH`],
/// [`Actions::SITE_SEARCH_CATEGORIES`]; numeric records
/// `Actions_nb_pageviews`, `Actions_nb_uniq_pageviews`,
/// `Actions_nb_downloads`, `Actions_nb_uniq_downloads`,
/// `Actions_nb_outlinks`, `Actions_nb_uniq_outlinks`, `Actions_nb_searches`
/// and `Actions_nb_keywords` (the row count of the keyword table). Longer
/// periods use the default aggregation: tables merged by label with the
/// entry/exit unique-visitor renames, numbers summed.
///
/// Where this differs from Matomo 5:
/// - No legacy generation-time metrics (ids 30–33 and the
///   `Actions_sum_time_generation` / `Actions_nb_hits_with_time_generation`
///   records).
/// - Goal metrics per page (`archiveDayActionsGoals`, column 10): Matomo
///   runs two queries per goal (URLs and titles); here one query per kind
///   groups by the goal too, so a day costs four queries (page URLs, page
///   titles, entry URLs, entry titles) whatever the number of goals. Where
///   several conversions of one goal in one visit differ in
///   `pageviews_before`, MariaDB returns any of them for Matomo's bare
///   column; we take the largest. A goal's entry rate and revenue per
///   entry are computed per action against its own entries, where Matomo
///   uses the entries of the row the action lands in (the same unless two
///   actions share a row, as `http://` and `https://` variants do).
/// - PagePerformance columns (`sum_time_network`, `nb_hits_with_time_network`,
///   `min_time_network`, `max_time_network`, ... for network, server,
///   transfer, dom_processing, dom_completion, on_load; seconds) are stored
///   on page URL and title rows only, and only for a timing that at least
///   one hit of the row has. Matomo stores all 24 on every row of every
///   Actions report (zeros and NULLs where there is no timing) and deletes
///   them at API time outside the page reports (the Reporting API adds the
///   zeros its page answers show). In archives they are keyed
///   by ids 200–223 (`metrics::PAGE_TIMING_FIRST_ID`), not by name; the API
///   renders the names.
/// - No ranking query: Matomo keeps the top 50,000 actions of each type per
///   SQL query and folds the rest into "Others". The build-time row limits
///   (500 rows, 100 per subtable) already send every action beyond the first
///   499 labels of a level into "Others", so the tables only differ for a
///   type with more than 50,000 distinct actions in a day; entry, exit and
///   time-spent metrics then follow their action into "Others" here.
/// - Ties in hits are inserted in byte order of the action name (Matomo
///   orders by the database collation); search categories are grouped by
///   exact value and ordered by bytes (MariaDB groups them case-insensitively).
/// - An action id that is both the URL and the name of one action row
///   counts one visit there, where Matomo's two queries count two.
/// - The "not defined" labels are the English ones Matomo writes with its
///   default language.
#[derive(Debug, Clone)]
pub struct Actions {
    /// Top-level rows of the page, title, download and outlink tables
    /// (`datatable_archiving_maximum_rows_actions`, default 500).
    pub max_rows: usize,
    /// Rows of each of their subtables
    /// (`datatable_archiving_maximum_rows_subtable_actions`, default 100).
    pub max_subtable_rows: usize,
    /// Rows of the site search keyword and category tables
    /// (`datatable_archiving_maximum_rows_site_search`, default 500).
    pub max_rows_site_search: usize,
    /// Levels a page URL is split into (`action_category_level_limit`,
    /// default 10).
    pub category_level_limit: usize,
    /// The leaf of a URL with an empty path or a trailing `/`
    /// (`action_default_name`, default `index`).
    pub default_action_name: String,
    /// Whether page URL and title rows get their goal metrics (the
    /// `goals` column; default true, Matomo's `disable_archive_actions_goals
    /// = 0`). They cost four conversion queries a day.
    pub archive_goals: bool,
    /// What page titles are split on into title "folders"
    /// (`action_title_category_delimiter`, default empty: never split).
    pub title_delimiter: String,
}

impl Default for Actions {
    fn default() -> Self {
        Self {
            max_rows: 500,
            max_subtable_rows: 100,
            max_rows_site_search: 500,
            category_level_limit: 10,
            default_action_name: "index".to_owned(),
            archive_goals: true,
            title_delimiter: String::new(),
        }
    }
}

impl Actions {
    /// Page URLs (`log_action` type 1), split into folders.
    pub const PAGE_URLS: &'static str = "Actions_actions_url";
    /// Page titles (type 4).
    pub const PAGE_TITLES: &'static str = "Actions_actions";
    /// Downloads (type 3): host, then `/path`.
    pub const DOWNLOADS: &'static str = "Actions_downloads";
    /// Outlinks (type 2): host, then `/path`.
    pub const OUTLINKS: &'static str = "Actions_outlink";
    /// Site search keywords (type 8).
    pub const SITE_SEARCH: &'static str = "Actions_sitesearch";
    /// Site search categories (`search_cat`).
    pub const SITE_SEARCH_CATEGORIES: &'static str = "Actions_SiteSearchCategories";
    /// The label of page URL rows without a URL (`idaction_url = 0`).
    pub const PAGE_URL_NOT_DEFINED: &'static str = "Page URL not defined";
    /// The label of page title rows without a title, after the leading
    /// space every title label has.
    pub const PAGE_NAME_NOT_DEFINED: &'static str = "Page Name not defined";
}

/// Metric ids of `core/Metrics.php` that `tally_datatable::metrics` does not name.
const ENTRY_NB_VISITS: u16 = 19;
const ENTRY_NB_ACTIONS: u16 = 20;
const ENTRY_SUM_VISIT_LENGTH: u16 = 21;
const ENTRY_BOUNCE_COUNT: u16 = 22;
const SITE_SEARCH_HAS_NO_RESULT: u16 = 28;
const NB_HITS_FOLLOWING_SEARCH: u16 = 29;

/// PagePerformance columns, in `ActionRow::timings` order: sum (s), hits
/// with the timing, min (s), max (s). Stored under the ids of
/// `metrics::PAGE_TIMING_FIRST_ID` (the API shows the names), so that
/// merging day tables compares integers, not strings.
const PERF_COLUMNS: [[u16; 4]; 6] = {
    let first = metrics::PAGE_TIMING_FIRST_ID;
    let mut columns = [[0u16; 4]; 6];
    let mut timing = 0;
    while timing < 6 {
        let mut part = 0;
        while part < 4 {
            columns[timing][part] = first + (timing * 4 + part) as u16;
            part += 1;
        }
        timing += 1;
    }
    columns
};

/// The Bandwidth plugin's `min_bandwidth` / `max_bandwidth` keep their
/// extremes over periods in the page URL and title tables: Matomo's
/// `ActionReports` gives only those two records (and their tables, whose
/// folders' subtables inherit it in `DataTable::walkPath`) the operations
/// of `Actions\Metrics::getColumnsAggregationOperation`, where the plugin's
/// `Actions.Archiving.addActionMetrics` listener put `min` and `max`. The
/// download, outlink and site search records get none, so `Row::sumRow`
/// adds their bounds up like any column: over periods and into folders
/// ([`Report::sums_bandwidth_bounds`]).
fn with_bandwidth_ops(record: Record) -> Record {
    record
        .column_op(metrics::MIN_BANDWIDTH, ColumnOp::Min)
        .column_op(metrics::MAX_BANDWIDTH, ColumnOp::Max)
}

/// Numeric records: (name, report, sum of hits (else of visits)).
const NUMERIC: [(&str, Report, bool); 7] = [
    ("Actions_nb_pageviews", Report::PageUrl, true),
    ("Actions_nb_uniq_pageviews", Report::PageUrl, false),
    ("Actions_nb_downloads", Report::Download, true),
    ("Actions_nb_uniq_downloads", Report::Download, false),
    ("Actions_nb_outlinks", Report::Outlink, true),
    ("Actions_nb_uniq_outlinks", Report::Outlink, false),
    ("Actions_nb_searches", Report::SiteSearch, true),
];

impl RecordBuilder for Actions {
    fn plugin(&self) -> &str {
        "Actions"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::Visits, SharedScan::Actions]
    }

    fn records(&self) -> Vec<Record> {
        let pages = |name: &str| {
            let mut record = Record::blob(name)
                .max_rows(self.max_rows, self.max_subtable_rows)
                .rename(RenameAfterAggregation::Actions);
            for [_, _, min, max] in PERF_COLUMNS {
                record = record
                    .column_op(min, ColumnOp::Min)
                    .column_op(max, ColumnOp::Max);
            }
            with_bandwidth_ops(record)
        };
        // No operations: their bandwidth bounds are summed (see
        // `with_bandwidth_ops`).
        let links = |name: &str| {
            Record::blob(name)
                .max_rows(self.max_rows, self.max_subtable_rows)
                .rename(RenameAfterAggregation::Actions)
        };
        let mut records = vec![
            Record::blob(Self::SITE_SEARCH)
                .max_rows(self.max_rows_site_search, self.max_subtable_rows)
                .rename(RenameAfterAggregation::Actions),
            pages(Self::PAGE_URLS),
            pages(Self::PAGE_TITLES),
            links(Self::DOWNLOADS),
            links(Self::OUTLINKS),
            // SearchCategories is a builder of its own in Matomo, with the
            // standard renames.
            Record::blob(Self::SITE_SEARCH_CATEGORIES).max_rows(self.max_rows_site_search, 0),
            Record::numeric("Actions_nb_keywords").count_of_rows(Self::SITE_SEARCH, false),
        ];
        records.extend(NUMERIC.iter().map(|(name, _, _)| Record::numeric(*name)));
        records
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let settings = SiteSettings::load(ctx)?;
        let actions = ctx.actions()?;
        let visits = ctx.visits()?;
        let slots = Slots::collect(&actions);
        let names = ctx.action_names(slots.ids.iter().copied().filter(|id| *id > 0))?;
        let goals = if self.archive_goals {
            PageGoals::load(ctx)?
        } else {
            PageGoals::default()
        };
        let day = self.compute(&settings, &actions, &visits, &slots, &names, &goals);
        for (name, table) in day.tables {
            if table.rows_count() > 0 {
                ctx.insert_table(name, table);
            }
        }
        for (name, value) in day.numeric {
            ctx.insert_numeric(name, value);
        }
        Ok(())
    }
}

/// What the reports need from the `site` row.
#[derive(Debug, Clone)]
struct SiteSettings {
    /// `site.sitesearch`: without it Matomo builds no keyword or category
    /// report and no `nb_hits_following_search` column.
    site_search: bool,
    /// `site.main_url`, the base of the `folder_url_start` metadata.
    main_url: String,
}

impl SiteSettings {
    fn load(ctx: &mut DayContext<'_>) -> Result<Self, ArchiveError> {
        let idsite = ctx.site().idsite;
        let row: Option<(String, Option<i8>)> = site::table
            .filter(site::idsite.eq(idsite))
            .select((site::main_url, site::sitesearch))
            .first(ctx.conn())
            .optional()?;
        // A site built by hand without a row: Matomo's defaults.
        let (main_url, sitesearch) = row.unwrap_or((String::new(), Some(1)));
        Ok(Self {
            site_search: sitesearch.unwrap_or(1) != 0,
            main_url,
        })
    }
}

/// The report a `log_action` row lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    PageUrl,
    Outlink,
    Download,
    PageTitle,
    SiteSearch,
}

impl Report {
    /// In Matomo's `Metrics::$actionTypes` order.
    const ALL: [Self; 5] = [
        Self::PageUrl,
        Self::Outlink,
        Self::Download,
        Self::PageTitle,
        Self::SiteSearch,
    ];

    fn of(action_type: ActionType, site_search: bool) -> Option<Self> {
        match action_type {
            ActionType::PageUrl => Some(Self::PageUrl),
            ActionType::Outlink => Some(Self::Outlink),
            ActionType::Download => Some(Self::Download),
            ActionType::PageTitle => Some(Self::PageTitle),
            ActionType::SiteSearch if site_search => Some(Self::SiteSearch),
            // Events, contents and ecommerce items have reports of their own.
            _ => None,
        }
    }

    fn record(self) -> &'static str {
        match self {
            Self::PageUrl => Actions::PAGE_URLS,
            Self::Outlink => Actions::OUTLINKS,
            Self::Download => Actions::DOWNLOADS,
            Self::PageTitle => Actions::PAGE_TITLES,
            Self::SiteSearch => Actions::SITE_SEARCH,
        }
    }

    /// Whether rows carry the page performance columns.
    fn is_page(self) -> bool {
        matches!(self, Self::PageUrl | Self::PageTitle)
    }

    /// Whether a folder row adds up its rows' `min_bandwidth` and
    /// `max_bandwidth` rather than keeping the extremes: the tables
    /// Matomo builds without column aggregation operations (downloads,
    /// outlinks, site search; see `with_bandwidth_ops`). Its
    /// `DataTableSummaryRow::recalculate` sums a folder's subtable with the
    /// operations of that table, none there. Rows that two actions share
    /// (URL variants, "Others") keep the extremes in every table, as
    /// `ArchivingHelper::getColumnValuesMerged` merges them with the
    /// metrics' own `min` / `max`.
    fn sums_bandwidth_bounds(self) -> bool {
        !self.is_page()
    }
}

/// "No slot / no group".
const NONE: u32 = u32::MAX;
/// The slot of `idaction_url = 0` ("Page URL not defined").
const UNDEFINED_URL: u32 = 0;
/// The slot of `idaction_name = 0` ("Page Name not defined").
const UNDEFINED_NAME: u32 = 1;
/// Id maps up to this size are plain vectors (16 MiB of `u32`).
const DENSE_LIMIT: usize = 1 << 22;

/// A multiplicative hasher for integer keys: ids are not attacker-chosen
/// hash-flooding material here, and SipHash would dominate the passes.
#[derive(Debug, Default, Clone, Copy)]
struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        // Fold the high half in: visitor ids are random in all 64 bits but
        // the table index uses the low bits of the product.
        self.0 = (self.0.rotate_left(5) ^ n ^ (n >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IntMap<K> = HashMap<K, u32, BuildHasherDefault<IntHasher>>;

/// `idaction` → slot: a vector while the ids are small (they are
/// auto-increment values), a hash map beyond [`DENSE_LIMIT`].
#[derive(Debug)]
enum IdMap {
    Dense(Vec<u32>),
    Hashed(IntMap<u32>),
}

impl IdMap {
    fn get(&self, id: u32) -> Option<u32> {
        match self {
            Self::Dense(slots) => slots
                .get(usize::try_from(id).ok()?)
                .copied()
                .filter(|s| *s != NONE),
            Self::Hashed(map) => map.get(&id).copied(),
        }
    }

    /// The slot of `id`, `next` when it has none yet (the caller then
    /// records the new slot).
    fn get_or_insert(&mut self, id: u32, next: u32) -> u32 {
        let index = usize::try_from(id).unwrap_or(usize::MAX);
        if let Self::Dense(slots) = self
            && index >= slots.len()
        {
            if index < DENSE_LIMIT {
                slots.resize((index + 1).next_power_of_two().min(DENSE_LIMIT), NONE);
            } else {
                let map = slots
                    .iter()
                    .enumerate()
                    .filter(|(_, slot)| **slot != NONE)
                    .filter_map(|(id, slot)| Some((u32::try_from(id).ok()?, *slot)))
                    .collect();
                *self = Self::Hashed(map);
            }
        }
        match self {
            Self::Dense(slots) => match slots.get_mut(index) {
                Some(slot) => {
                    if *slot == NONE {
                        *slot = next;
                    }
                    *slot
                }
                // The vector was just grown to hold `index`.
                None => next,
            },
            Self::Hashed(map) => *map.entry(id).or_insert(next),
        }
    }
}

/// The dense slots of the `log_action` ids the day's actions use.
#[derive(Debug)]
struct Slots {
    map: IdMap,
    /// `idaction` of each slot; 0 for the two "not defined" slots.
    ids: Vec<u32>,
    /// The smallest and largest `idvisit` of a non-event action.
    visits: (u64, u64),
    /// Per action row: the slots of its URL, name, previous URL and
    /// previous name ([`NONE`] for NULL, 0 and events), so that the
    /// action pass reads them in order instead of looking ids up.
    rows: Vec<[u32; 4]>,
}

/// Whether an action row is an event (which never counts in these reports).
fn is_event(row: &ActionRow) -> bool {
    row.event_category.is_some()
}

/// A non-zero id.
fn real_id(id: Option<u32>) -> Option<u32> {
    id.filter(|id| *id > 0)
}

impl Slots {
    /// Slots for every URL and name of a non-event action and for the URL
    /// and name it follows (time spent, pages after a search).
    fn collect(actions: &[ActionRow]) -> Self {
        let mut slots = Self {
            map: IdMap::Dense(Vec::new()),
            ids: vec![0, 0],
            visits: (u64::MAX, 0),
            rows: Vec::with_capacity(actions.len()),
        };
        for row in actions {
            if is_event(row) {
                slots.rows.push([NONE; 4]);
                continue;
            }
            slots.visits.0 = slots.visits.0.min(row.idvisit);
            slots.visits.1 = slots.visits.1.max(row.idvisit);
            let field = |slots: &mut Self, id: Option<u32>, undefined: u32| match id {
                None => NONE,
                Some(0) => undefined,
                Some(id) => slots.slot(id),
            };
            let url = field(&mut slots, row.idaction_url, UNDEFINED_URL);
            let name = field(&mut slots, row.idaction_name, UNDEFINED_NAME);
            let url_ref = field(&mut slots, row.url_ref, NONE);
            let name_ref = field(&mut slots, row.name_ref, NONE);
            slots.rows.push([url, name, url_ref, name_ref]);
        }
        slots
    }

    /// The slot of `id`, a new one on first sight.
    fn slot(&mut self, id: u32) -> u32 {
        let next = u32::try_from(self.ids.len()).unwrap_or(NONE);
        let slot = self.map.get_or_insert(id, next);
        if slot == next {
            self.ids.push(id);
        }
        slot
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// Dense indexes for 64-bit ids (visits, visitors).
#[derive(Debug)]
enum Groups {
    /// `idvisit` values of a day are a narrow range of an auto-increment.
    Offset {
        min: u64,
        len: usize,
    },
    Hashed(IntMap<u64>),
}

impl Groups {
    fn for_range(min: u64, max: u64, rows: usize) -> Self {
        let span = usize::try_from(max.saturating_sub(min))
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        if min <= max && span <= DENSE_LIMIT.max(rows.saturating_mul(2)) {
            Self::Offset { min, len: span }
        } else {
            Self::Hashed(IntMap::default())
        }
    }

    fn hashed() -> Self {
        Self::Hashed(IntMap::default())
    }

    fn index(&mut self, id: u64) -> u32 {
        match self {
            Self::Offset { min, .. } => u32::try_from(id.wrapping_sub(*min)).unwrap_or(NONE),
            Self::Hashed(map) => {
                let next = u32::try_from(map.len()).unwrap_or(NONE);
                *map.entry(id).or_insert(next)
            }
        }
    }

    /// The index of an id seen before (or inside the offset range).
    fn get(&self, id: u64) -> Option<u32> {
        match self {
            Self::Offset { min, len } => {
                let index = usize::try_from(id.checked_sub(*min)?).ok()?;
                (index < *len).then(|| u32::try_from(index).ok()).flatten()
            }
            Self::Hashed(map) => map.get(&id).copied(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Offset { len, .. } => *len,
            Self::Hashed(map) => map.len(),
        }
    }
}

/// Dense visitor indexes, remembered per visit so that the visitor map is
/// hashed about once per visit rather than once per action.
#[derive(Debug)]
struct VisitorIds {
    ids: Groups,
    /// `(idvisitor, index)` of each visit index seen.
    by_visit: Vec<(u64, u32)>,
}

impl VisitorIds {
    fn new(visits: usize) -> Self {
        Self {
            ids: Groups::hashed(),
            by_visit: vec![(0, NONE); visits],
        }
    }

    /// The index of `idvisitor`, seen in visit index `visit`.
    fn of(&mut self, visit: Option<u32>, idvisitor: u64) -> u32 {
        let Some(index) = visit.map(|v| v as usize) else {
            return self.ids.index(idvisitor);
        };
        match self.by_visit.get(index) {
            Some((cached, visitor)) if *visitor != NONE && *cached == idvisitor => *visitor,
            _ => {
                let visitor = self.ids.index(idvisitor);
                if index >= self.by_visit.len() {
                    self.by_visit.resize(index + 1, (0, NONE));
                }
                self.by_visit[index] = (idvisitor, visitor);
                visitor
            }
        }
    }
}

/// Counts, per slot, the distinct groups among `(slot, group)` pairs:
/// a counting sort by group, then each slot is counted once per group.
fn distinct_per_slot<T>(
    items: &[T],
    pair: impl Fn(&T) -> (u32, u32),
    slots: usize,
    groups: usize,
) -> Vec<u64> {
    let mut start = vec![0usize; groups + 1];
    for item in items {
        let (_, group) = pair(item);
        if let Some(count) = start.get_mut(group as usize + 1) {
            *count += 1;
        }
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut next = start.clone();
    let mut grouped = vec![NONE; items.len()];
    for item in items {
        let (slot, group) = pair(item);
        if let Some(position) = next.get_mut(group as usize) {
            grouped[*position] = slot;
            *position += 1;
        }
    }
    let mut marker = vec![NONE; slots];
    let mut counts = vec![0u64; slots];
    for group in 0..groups {
        let mark = u32::try_from(group).unwrap_or(NONE);
        for slot in &grouped[start[group]..start[group + 1]] {
            if let Some(seen) = marker.get_mut(*slot as usize)
                && *seen != mark
            {
                *seen = mark;
                counts[*slot as usize] += 1;
            }
        }
    }
    counts
}

/// One timing of a row: Matomo's `sum`, `nb_hits_with`, `min`, `max`.
#[derive(Debug, Clone, Copy, Default)]
struct Perf {
    sum_ms: u64,
    hits: u64,
    min_ms: Option<u32>,
    max_ms: Option<u32>,
}

impl Perf {
    /// Two rows summed: a missing (NULL) bound gives way to the other;
    /// zero is a value (Matomo's `"0.0000"` is not PHP-empty).
    fn merge(&mut self, other: &Self) {
        self.sum_ms += other.sum_ms;
        self.hits += other.hits;
        self.min_ms = match (self.min_ms, other.min_ms) {
            (Some(mine), Some(theirs)) => Some(mine.min(theirs)),
            (mine, theirs) => mine.or(theirs),
        };
        self.max_ms = self.max_ms.max(other.max_ms);
    }
}

/// The Bandwidth plugin's columns of a row (bytes): `sum_bandwidth`,
/// `nb_hits_with_bandwidth`, `min_bandwidth`, `max_bandwidth`, over the
/// hits that have a size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bandwidth {
    sum: u64,
    hits: u64,
    min: Option<u64>,
    max: Option<u64>,
}

impl Bandwidth {
    /// One hit of `bytes`.
    fn add(&mut self, bytes: u64) {
        self.merge(&Self {
            sum: bytes,
            hits: 1,
            min: Some(bytes),
            max: Some(bytes),
        });
    }

    /// Two rows summed, the bounds kept as SQL `MIN` / `MAX` would.
    fn merge(&mut self, other: &Self) {
        self.sum = self.sum.saturating_add(other.sum);
        self.hits += other.hits;
        self.min = match (self.min, other.min) {
            (Some(mine), Some(theirs)) => Some(mine.min(theirs)),
            (mine, theirs) => mine.or(theirs),
        };
        self.max = self.max.max(other.max);
    }

    /// Two rows summed without aggregation operations (`Row::sumRow`'s
    /// default `sum` for every column): the bounds add up too. A missing
    /// bound (Matomo's NULL, which `Row::getColumn` reads as absent) gives
    /// way to the other.
    fn merge_summing_bounds(&mut self, other: &Self) {
        self.sum = self.sum.saturating_add(other.sum);
        self.hits += other.hits;
        let add = |mine: Option<u64>, theirs: Option<u64>| match (mine, theirs) {
            (Some(mine), Some(theirs)) => Some(mine.saturating_add(theirs)),
            (mine, theirs) => mine.or(theirs),
        };
        self.min = add(self.min, other.min);
        self.max = add(self.max, other.max);
    }

    /// The four columns, only for a row with sized hits: rows without
    /// them get their zeros and empty bounds when the API answers
    /// (`tally_reporting`), so archives do not grow for sites that track
    /// no sizes.
    fn set_columns(&self, columns: &mut Columns) {
        if self.hits == 0 {
            return;
        }
        let mut set = |id: u16, value: u64| columns.set(ColumnKey::Id(id), int(value));
        set(metrics::SUM_BANDWIDTH, self.sum);
        set(metrics::NB_HITS_WITH_BANDWIDTH, self.hits);
        if let Some(min) = self.min {
            set(metrics::MIN_BANDWIDTH, min);
        }
        if let Some(max) = self.max {
            set(metrics::MAX_BANDWIDTH, max);
        }
    }
}

/// Entry metrics (ids 17, 19–22).
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    uniq: u64,
    visits: u64,
    actions: u64,
    length: u64,
    bounces: u64,
}

/// The columns a row has only when it has their metrics, after those of
/// the page query that every row has. A page row gets them in this order,
/// the order of Matomo's queries (entries, exits, then the goals); a folder
/// row in the order it first meets them over its rows (see [`GroupOrder`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// `entry_nb_visits`, `entry_nb_actions`, ... (with
    /// `entry_nb_uniq_visitors` on page rows).
    Entry,
    /// `exit_nb_visits` (with `exit_nb_uniq_visitors` on page rows).
    Exit,
    /// The `goals` column.
    Goals,
}

impl Group {
    /// In the order of a page row's columns.
    const ALL: [Self; 3] = [Self::Entry, Self::Exit, Self::Goals];
}

/// The order of a row's optional column [`Group`]s.
///
/// Matomo builds a folder row by summing its subtable's rows into a row
/// that starts with the default columns (`DataTableSummaryRow::recalculate`
/// over the rows in insertion order, the summary row last; deeper folders
/// first), and `Row::sumRow` appends a column the folder does not have
/// yet. So a folder lists its groups in the order it first meets them over
/// its rows: `exit_nb_visits` after `goals` when its first page has goals
/// but no exit and a later one has exits. The bandwidth and timing columns
/// sit on every Matomo row, so they keep their place after the page
/// query's columns.
///
/// An array, not a `Vec`: one allocation per row of every table would
/// show on big days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct GroupOrder([Option<Group>; 3]);

impl GroupOrder {
    /// The groups in order.
    fn iter(self) -> impl Iterator<Item = Group> {
        self.0.into_iter().flatten()
    }

    /// Appends `group` unless it is in already.
    fn push(&mut self, group: Group) {
        if self.iter().any(|known| known == group) {
            return;
        }
        if let Some(free) = self.0.iter_mut().find(|slot| slot.is_none()) {
            *free = Some(group);
        }
    }

    /// Appends the groups of `other` this one has not met yet.
    fn extend(&mut self, other: Self) {
        for group in other.iter() {
            self.push(group);
        }
    }
}

/// The metrics of one report row (or of one slot).
#[derive(Debug, Clone, Default)]
struct Acc {
    visits: u64,
    uniq: u64,
    hits: u64,
    time_spent: u64,
    following_search: u64,
    no_result: u64,
    perf: [Perf; 6],
    bandwidth: Bandwidth,
    entry: Entry,
    exit_uniq: u64,
    exit_visits: u64,
    /// How many actions' page query rows were summed into this one. A row
    /// of one keeps the timings as the query gave them, `DECIMAL` strings
    /// to PHP ([`Value::Decimal4`]); adding a second makes sums floats.
    parts: u32,
    goals: RowGoals,
}

impl Acc {
    /// Another row summed into this one: a folder's rows, a table's total
    /// (`DataTable\Row::sumRow`, which sums every goal metric, and the
    /// bandwidth bounds too in `report`s without aggregation operations).
    fn merge(&mut self, other: &Self, report: Report) {
        self.merge_counts(other);
        if report.sums_bandwidth_bounds() {
            self.bandwidth.merge_summing_bounds(&other.bandwidth);
        } else {
            self.bandwidth.merge(&other.bandwidth);
        }
        self.goals.merge(&other.goals, false);
    }

    /// Another action landing in this very row (a second URL variant, or
    /// "Others"): Matomo's `updateActionsTableRowWithGoals` keeps the
    /// largest `nb_conv_pages_before` there instead of summing.
    fn merge_same_row(&mut self, other: &Self) {
        self.merge_counts(other);
        self.bandwidth.merge(&other.bandwidth);
        self.goals.merge(&other.goals, true);
    }

    fn merge_counts(&mut self, other: &Self) {
        self.parts += other.parts;
        self.visits += other.visits;
        self.uniq += other.uniq;
        self.hits += other.hits;
        self.time_spent += other.time_spent;
        self.following_search += other.following_search;
        self.no_result += other.no_result;
        for (mine, theirs) in self.perf.iter_mut().zip(&other.perf) {
            mine.merge(theirs);
        }
        self.entry.uniq += other.entry.uniq;
        self.entry.visits += other.entry.visits;
        self.entry.actions += other.entry.actions;
        self.entry.length += other.entry.length;
        self.entry.bounces += other.entry.bounces;
        self.exit_uniq += other.exit_uniq;
        self.exit_visits += other.exit_visits;
    }

    /// Whether the row has the columns of `group`.
    fn has(&self, group: Group, report: Report) -> bool {
        match group {
            // Keyword rows lose every entry column.
            Group::Entry => self.entry.visits > 0 && report != Report::SiteSearch,
            Group::Exit => self.exit_visits > 0,
            Group::Goals => !self.goals.0.is_empty(),
        }
    }

    /// The groups the row has, in a page row's order.
    fn groups(&self, report: Report) -> GroupOrder {
        let mut order = GroupOrder::default();
        for group in Group::ALL {
            if self.has(group, report) {
                order.push(group);
            }
        }
        order
    }

    /// The stored columns, in Matomo's order (its default row columns, the
    /// page query's, then the optional [`Group`]s in `order`, any it
    /// misses in a page row's order). `leaf` rows keep the unique visitor
    /// columns, which cannot be summed into folders or "Others".
    /// Timings stay as the query gave them (`sum(ms) / 1000` is a DECIMAL
    /// string, `0.0620`) in a row of one action; the sums of folders and
    /// of rows of several actions are PHP floats, their min / max still
    /// the winning strings.
    fn columns(&self, report: Report, leaf: bool, order: GroupOrder) -> Columns {
        let mut columns = Columns::new();
        let mut set = |id: u16, value: Value| columns.set(ColumnKey::Id(id), value);
        let search = report == Report::SiteSearch;
        set(metrics::NB_VISITS, int(self.visits));
        // Matomo deletes nb_uniq_visitors from every keyword row.
        if leaf && !search {
            set(metrics::NB_UNIQ_VISITORS, int(self.uniq));
        }
        set(metrics::NB_HITS, int(self.hits));
        set(metrics::SUM_TIME_SPENT, int(self.time_spent));
        if search {
            set(SITE_SEARCH_HAS_NO_RESULT, int(self.no_result));
        } else if self.following_search > 0 {
            // Deleted where zero (`ArchivingHelper::removeEmptyColumns`).
            set(NB_HITS_FOLLOWING_SEARCH, int(self.following_search));
        }
        if report.is_page() {
            for (perf, [sum, hits, min, max]) in self.perf.iter().zip(PERF_COLUMNS) {
                if perf.hits == 0 {
                    continue;
                }
                let sum_value = if self.parts == 1 && leaf {
                    decimal(perf.sum_ms)
                } else {
                    seconds(perf.sum_ms)
                };
                columns.set(ColumnKey::from(sum), sum_value);
                columns.set(ColumnKey::from(hits), int(perf.hits));
                if let Some(ms) = perf.min_ms {
                    columns.set(ColumnKey::from(min), decimal(u64::from(ms)));
                }
                if let Some(ms) = perf.max_ms {
                    columns.set(ColumnKey::from(max), decimal(u64::from(ms)));
                }
            }
        }
        // After the timings, as Matomo's action metrics list them (the
        // Bandwidth plugin's listener runs after PagePerformance's).
        self.bandwidth.set_columns(&mut columns);
        let mut set = |id: u16, value: Value| columns.set(ColumnKey::Id(id), value);
        let mut all = order;
        for group in Group::ALL {
            all.push(group);
        }
        for group in all.iter() {
            if !self.has(group, report) {
                continue;
            }
            match group {
                Group::Entry => {
                    if leaf {
                        set(metrics::ENTRY_NB_UNIQ_VISITORS, int(self.entry.uniq));
                    }
                    set(ENTRY_NB_VISITS, int(self.entry.visits));
                    set(ENTRY_NB_ACTIONS, int(self.entry.actions));
                    set(ENTRY_SUM_VISIT_LENGTH, int(self.entry.length));
                    set(ENTRY_BOUNCE_COUNT, int(self.entry.bounces));
                }
                Group::Exit => {
                    // Keyword rows lose the exit unique visitors.
                    if leaf && !search {
                        set(metrics::EXIT_NB_UNIQ_VISITORS, int(self.exit_uniq));
                    }
                    set(metrics::EXIT_NB_VISITS, int(self.exit_visits));
                }
                Group::Goals => set(metrics::GOALS, Value::Goals(self.goals.columns())),
            }
        }
        columns
    }
}

/// The goal metrics of one page on its own row (`queryConversionsByPageView`
/// groups summed).
#[derive(Debug, Clone, Copy, Default)]
struct PageGoal {
    /// `nb_conversions`, which is also `nb_conversions_page_uniq`.
    conversions: u64,
    revenue: f64,
    pages_before: Option<u64>,
    attrib: Option<f64>,
    revenue_attrib: Option<f64>,
}

/// The goal metrics of one entry page (`queryConversionsByEntryPageView`).
#[derive(Debug, Clone, Copy, Default)]
struct EntryGoal {
    conversions: u64,
    revenue: f64,
    /// `nb_conversions_entry_rate` and `revenue_per_entry`, set where the
    /// row has entries.
    rates: Option<(f64, f64)>,
}

/// One goal of a row's `goals` column.
#[derive(Debug, Clone, Copy, Default)]
struct GoalAcc {
    page: Option<PageGoal>,
    entry: Option<EntryGoal>,
}

fn add_option<T: std::ops::Add<Output = T>>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

impl GoalAcc {
    fn merge(&mut self, other: &Self, same_row: bool) {
        if let Some(theirs) = other.page {
            let mine = self.page.get_or_insert_with(PageGoal::default);
            mine.conversions += theirs.conversions;
            mine.revenue += theirs.revenue;
            mine.pages_before = if same_row {
                mine.pages_before.max(theirs.pages_before)
            } else {
                add_option(mine.pages_before, theirs.pages_before)
            };
            mine.attrib = add_option(mine.attrib, theirs.attrib);
            mine.revenue_attrib = add_option(mine.revenue_attrib, theirs.revenue_attrib);
        }
        if let Some(theirs) = other.entry {
            let mine = self.entry.get_or_insert_with(EntryGoal::default);
            mine.conversions += theirs.conversions;
            mine.revenue += theirs.revenue;
            mine.rates = match (mine.rates, theirs.rates) {
                (Some((rate, per)), Some((their_rate, their_per))) => {
                    Some((rate + their_rate, per + their_per))
                }
                (mine, theirs) => mine.or(theirs),
            };
        }
    }

    /// The metrics in Matomo's order: the page ones, then the entry ones.
    fn columns(&self) -> GoalColumns {
        use crate::builders::goals::money;
        let mut columns = GoalColumns::new();
        let count = |value: u64| Scalar::Int(i64::try_from(value).unwrap_or(i64::MAX));
        let mut set = |id: u16, value: Scalar| columns.set(ColumnKey::Id(id), value);
        if let Some(page) = &self.page {
            set(metrics::GOAL_NB_CONVERSIONS, count(page.conversions));
            set(metrics::GOAL_REVENUE, money(page.revenue));
            if let Some(before) = page.pages_before {
                set(metrics::GOAL_NB_CONV_PAGES_BEFORE, count(before));
            }
            if let Some(attrib) = page.attrib {
                set(metrics::GOAL_NB_CONVERSIONS_ATTRIB, money(attrib));
            }
            // Computed at API time (CalculateConversionPageRate).
            if page.attrib.is_some() && page.pages_before.is_some() {
                set(metrics::GOAL_NB_CONVERSIONS_PAGE_RATE, Scalar::Int(0));
            }
            set(
                metrics::GOAL_NB_CONVERSIONS_PAGE_UNIQ,
                count(page.conversions),
            );
            if let Some(revenue) = page.revenue_attrib {
                set(metrics::GOAL_REVENUE_ATTRIB, money(revenue));
            }
        }
        if let Some(entry) = &self.entry {
            set(metrics::GOAL_REVENUE_ENTRY, money(entry.revenue));
            if let Some((rate, per_entry)) = entry.rates {
                set(metrics::GOAL_NB_CONVERSIONS_ENTRY_RATE, money(rate));
                set(metrics::GOAL_REVENUE_PER_ENTRY, money(per_entry));
            }
            set(metrics::GOAL_NB_CONVERSIONS_ENTRY, count(entry.conversions));
        }
        columns
    }
}

/// A row's `goals` column being built: goal ids in the order met.
#[derive(Debug, Clone, Default)]
struct RowGoals(Vec<(i32, GoalAcc)>);

impl RowGoals {
    fn goal(&mut self, idgoal: i32) -> &mut GoalAcc {
        let index = match self.0.iter().position(|(id, _)| *id == idgoal) {
            Some(index) => index,
            None => {
                self.0.push((idgoal, GoalAcc::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[index].1
    }

    fn merge(&mut self, other: &Self, same_row: bool) {
        for (idgoal, theirs) in &other.0 {
            self.goal(*idgoal).merge(theirs, same_row);
        }
    }

    fn columns(&self) -> Goals {
        let mut goals = Goals::new();
        for (idgoal, goal) in &self.0 {
            goals = goals.with(i64::from(*idgoal), goal.columns());
        }
        goals
    }
}

/// The day's conversion groups by page and by entry page, URLs and titles
/// alike (ids of both kinds find their slot).
#[derive(Debug, Default)]
struct PageGoals {
    pages: Vec<PageConversionGroup>,
    entries: Vec<EntryConversionGroup>,
}

impl PageGoals {
    /// Matomo's goals for the page queries: the site's goals, then
    /// abandoned carts and orders on an ecommerce site; entry pages take
    /// every goal id of 0 or more.
    fn load(ctx: &mut DayContext<'_>) -> Result<Self, ArchiveError> {
        let site = ctx.site();
        let mut goals: Vec<i32> = site
            .goals
            .iter()
            .filter_map(|id| i32::try_from(*id).ok())
            .collect();
        if site.ecommerce {
            goals.extend([-1, 0]);
        }
        let logs = ctx.logs();
        let conn = ctx.conn();
        let mut pages = logs.query_conversions_by_page_view(conn, false, &goals)?;
        pages.extend(logs.query_conversions_by_page_view(conn, true, &goals)?);
        let mut entries = logs.query_conversions_by_entry_page(conn, false)?;
        entries.extend(logs.query_conversions_by_entry_page(conn, true)?);
        Ok(Self { pages, entries })
    }
}

fn int(value: u64) -> Value {
    Value::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

/// Milliseconds as seconds (Matomo's `sum(...) / 1000`).
fn seconds(ms: u64) -> Value {
    #[expect(clippy::cast_precision_loss, reason = "sums of ms stay far below 2^53")]
    Value::Float(ms as f64 / 1000.0)
}

/// Milliseconds as MySQL's `DECIMAL` quotient by 1000 (`0.0620`).
fn decimal(ms: u64) -> Value {
    Value::Decimal4(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// One node of a report tree: a row, its subtable, or a summary row.
#[derive(Debug, Default)]
struct Node {
    label: String,
    acc: Acc,
    children: Option<usize>,
    url: Option<String>,
    url_hits: u64,
    title_path: Option<String>,
    /// The summary row of its table: it never gets metadata.
    is_summary: bool,
}

/// One table of a report tree, with the build-time row limit of
/// `DataTable::setMaximumAllowedRows`.
#[derive(Debug, Default)]
struct Level {
    rows: Vec<usize>,
    index: HashMap<String, usize>,
    summary: Option<usize>,
    max_rows: usize,
}

/// A report being built: levels and nodes in arenas.
#[derive(Debug)]
struct Tree {
    nodes: Vec<Node>,
    levels: Vec<Level>,
    max_subtable_rows: usize,
}

impl Tree {
    fn new(max_rows: usize, max_subtable_rows: usize) -> Self {
        Self {
            nodes: Vec::new(),
            levels: vec![Level {
                max_rows,
                ..Level::default()
            }],
            max_subtable_rows,
        }
    }

    /// The summary ("Others") node of `level`, created on first use.
    fn summary(&mut self, level: usize) -> usize {
        if let Some(node) = self.levels[level].summary {
            return node;
        }
        let node = self.nodes.len();
        self.nodes.push(Node {
            label: tally_datatable::SUMMARY_ROW_LABEL.to_owned(),
            is_summary: true,
            ..Node::default()
        });
        self.levels[level].summary = Some(node);
        node
    }

    /// `DataTable::walkPath`: the node at `path`, creating missing rows
    /// and subtables; a full table sends the rest of the path to its
    /// summary row.
    fn walk(&mut self, path: Vec<String>) -> usize {
        let last = path.len().saturating_sub(1);
        let mut level = 0;
        let mut node = None;
        for (depth, segment) in path.into_iter().enumerate() {
            let current = match self.levels[level].index.get(&segment) {
                Some(found) => *found,
                None => {
                    let table = &self.levels[level];
                    let count = table.rows.len() + usize::from(table.summary.is_some());
                    if table.max_rows > 0 && count + 1 >= table.max_rows {
                        return self.summary(level);
                    }
                    let created = self.nodes.len();
                    self.nodes.push(Node {
                        label: segment.clone(),
                        ..Node::default()
                    });
                    let table = &mut self.levels[level];
                    table.rows.push(created);
                    table.index.insert(segment, created);
                    created
                }
            };
            if depth < last {
                level = match self.nodes[current].children {
                    Some(child) => child,
                    None => {
                        let child = self.levels.len();
                        self.levels.push(Level {
                            max_rows: self.max_subtable_rows,
                            ..Level::default()
                        });
                        let folder = &mut self.nodes[current];
                        folder.children = Some(child);
                        // A folder has no metadata of its own.
                        folder.url = None;
                        folder.title_path = None;
                        child
                    }
                };
            }
            node = Some(current);
        }
        match node {
            Some(node) => node,
            None => self.summary(0),
        }
    }

    /// `nb_conversions_entry_rate` and `revenue_per_entry` of the rows
    /// that actions landed in (`members`: node and slot). Matomo computes
    /// them per entry action, once the row holds the entrances of every
    /// action that shares it (URL variants of several hosts, "Others"),
    /// and sums them into the row: three variants with one entrance and
    /// one conversion each give 3 × round(1 / 3, 3) = 0.999, not 1.
    fn entry_rates(&mut self, members: &[(usize, usize)], stats: &SlotStats) {
        for &(node_index, slot) in members {
            let Some(slot_goals) = stats.goals.get(&slot) else {
                continue;
            };
            let node = &mut self.nodes[node_index];
            #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^53")]
            let entrances = node.acc.entry.visits as f64;
            if entrances <= 0.0 {
                continue;
            }
            for (idgoal, goal) in &slot_goals.0 {
                let Some(entry) = goal.entry else {
                    continue;
                };
                #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^53")]
                let rate = round_php(entry.conversions as f64 / entrances, 3);
                let per_entry = round_php(entry.revenue / entrances, 3);
                if let Some(mine) = node.acc.goals.goal(*idgoal).entry.as_mut() {
                    mine.rates = Some(match mine.rates {
                        Some((sum, per)) => (sum + rate, per + per_entry),
                        None => (rate, per_entry),
                    });
                }
            }
        }
    }

    /// The table of `level`, the sum of its rows and the order their
    /// optional column groups first come in (rows, then the summary row).
    /// Folder rows hold the sums of their subtables
    /// (`DataTableSummaryRow::recalculate`), their groups in that order.
    /// `folder` is the path of this level and the separator of the next
    /// (`ArchivingHelper::setFolderPathMetadata`): folder rows of page URLs
    /// get `folder_url_start`, those of split page titles `page_title_path`.
    fn table(
        &self,
        level: usize,
        report: Report,
        folder: Option<(&str, &str)>,
    ) -> (DataTable, Acc, GroupOrder) {
        let table = &self.levels[level];
        let mut total = Acc::default();
        let mut table_order = GroupOrder::default();
        let mut rows = Vec::with_capacity(table.rows.len());
        for &index in &table.rows {
            let node = &self.nodes[index];
            let mut row = Row::new(node.label.clone());
            let folder_path = match (folder, node.children) {
                (Some((prefix, _)), Some(_)) => Some(format!("{prefix}{}", node.label)),
                _ => None,
            };
            let merged;
            let mut order = node.acc.groups(report);
            let acc = match node.children {
                Some(child) => {
                    let prefix = folder
                        .zip(folder_path.as_ref())
                        .map(|((_, separator), path)| (format!("{path}{separator}"), separator));
                    let (subtable, sum, sub_order) = self.table(
                        child,
                        report,
                        prefix
                            .as_ref()
                            .map(|(path, separator)| (path.as_str(), *separator)),
                    );
                    let mut acc = node.acc.clone();
                    acc.merge(&sum, report);
                    order.extend(sub_order);
                    row.subtable = Some(Box::new(subtable));
                    merged = acc;
                    &merged
                }
                None => &node.acc,
            };
            row.columns = acc.columns(report, node.children.is_none(), order);
            if let Some(url) = &node.url {
                row = row.with_metadata("url", url.as_str());
            }
            if let Some(path) = &node.title_path {
                row = row.with_metadata("page_title_path", path.as_str());
            }
            if let Some(path) = folder_path {
                let name = if report == Report::PageTitle {
                    "page_title_path"
                } else {
                    "folder_url_start"
                };
                row = row.with_metadata(name, path);
            }
            total.merge(acc, report);
            table_order.extend(order);
            rows.push(row);
        }
        let mut out = DataTable::from_rows(rows);
        if let Some(index) = table.summary {
            let acc = &self.nodes[index].acc;
            let mut summary = Row::new(tally_datatable::SUMMARY_ROW_LABEL);
            let order = acc.groups(report);
            summary.columns = acc.columns(report, false, order);
            out.set_summary_row(summary);
            total.merge(acc, report);
            table_order.extend(order);
        }
        (out, total, table_order)
    }
}

/// PHP `trim()`'s default characters.
const PHP_TRIM: &[char] = &[' ', '\t', '\n', '\r', '\0', '\x0B'];

/// PHP `empty()` of a string.
fn php_empty(text: &str) -> bool {
    text.is_empty() || text == "0"
}

/// `name` without a leading `http://` or `https://` (any case).
fn strip_http_scheme(name: &str) -> Option<&str> {
    ["https://", "http://"].into_iter().find_map(|scheme| {
        name.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .and_then(|_| name.get(scheme.len()..))
    })
}

/// Matomo's `([^/]+)[/]?([^#]*)[#]?(.*)` (after `http[s]?://` when
/// `with_scheme`): host, path without its leading `/`, fragment.
fn split_url(name: &str, with_scheme: bool) -> Option<(&str, &str, &str)> {
    let rest = if with_scheme {
        strip_http_scheme(name)?
    } else {
        name
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    if host_end == 0 {
        return None;
    }
    let (host, after) = rest.split_at(host_end);
    let after = after.strip_prefix('/').unwrap_or(after);
    Some(match after.split_once('#') {
        Some((path, fragment)) => (host, path, fragment),
        None => (host, after, ""),
    })
}

/// How names are split (`ArchivingHelper::getActionExplodedNames`).
#[derive(Debug, Clone, Copy)]
struct Explode<'a> {
    level_limit: usize,
    default_name: &'a str,
    title_delimiter: &'a str,
}

impl Explode<'_> {
    /// The labels from the top-level row to the leaf for an action of
    /// `report` (MATOMO.md section 3.7). `url_prefix` is the
    /// `log_action.url_prefix` (page URLs stored without their scheme).
    fn path(&self, name: &str, report: Report, url_prefix: Option<u8>) -> Vec<String> {
        if report == Report::SiteSearch {
            return vec![name.to_owned()];
        }
        let name = name.replace('\n', "");
        let title = report == Report::PageTitle;
        if title && self.title_delimiter.is_empty() {
            let title = name.trim_matches(PHP_TRIM);
            let title = if title.is_empty() {
                Actions::PAGE_NAME_NOT_DEFINED
            } else {
                title
            };
            return vec![format!(" {title}")];
        }
        // A title that looks like a URL is cut as a page URL's path is
        // (`parseNameFromPageUrl` runs on titles too).
        let path = match split_url(&name, url_prefix.is_none()) {
            Some((host, path, fragment))
                if matches!(report, Report::Download | Report::Outlink) =>
            {
                let mut leaf = format!("/{}", path.trim_matches(PHP_TRIM));
                if !php_empty(fragment) {
                    leaf.push('#');
                    leaf.push_str(fragment);
                }
                return vec![host.trim_matches(PHP_TRIM).to_owned(), leaf];
            }
            Some((_, path, fragment)) => {
                let mut path = path.to_owned();
                if path.is_empty() || path.ends_with('/') {
                    path.push_str(self.default_name);
                }
                let fragment = fragment.strip_suffix('#').unwrap_or(fragment);
                if !php_empty(fragment) {
                    path.push('#');
                    path.push_str(fragment);
                }
                path
            }
            None => name,
        };
        let delimiter = if title { self.title_delimiter } else { "/" };
        let mut parts: Vec<String> = path
            .splitn(self.level_limit.max(1), delimiter)
            .map(|part| part.trim_matches(PHP_TRIM))
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect();
        match parts.last_mut() {
            Some(leaf) => {
                // Keeps a page apart from a folder of the same name.
                leaf.insert(0, if title { ' ' } else { '/' });
                parts
            }
            // Without the leading space of an unsplit title, as Matomo.
            None if title => vec![Actions::PAGE_NAME_NOT_DEFINED.to_owned()],
            None => vec![Actions::PAGE_URL_NOT_DEFINED.to_owned()],
        }
    }
}

/// `PageUrl::reconstructNormalizedUrl`: the scheme of `url_prefix` put
/// back (0 `http://`, 1 `http://www.`, 2 `https://`, 3 `https://www.`),
/// the host lower-cased, an empty query or fragment and a trailing `#`
/// dropped. Also used by the Transitions API for outlink and download
/// labels.
pub fn reconstruct_url(name: &str, url_prefix: Option<u8>) -> String {
    let prefix = match url_prefix {
        Some(0) => "http://",
        Some(1) => "http://www.",
        Some(2) => "https://",
        Some(3) => "https://www.",
        _ => "",
    };
    let full = format!("{prefix}{name}");
    let (before_fragment, fragment) = match full.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (full.as_str(), None),
    };
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (before_fragment, None),
    };
    let mut url = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let (user, host) = authority.split_at(authority.rfind('@').map_or(0, |at| at + 1));
            format!("{scheme}://{user}{}{path}", host.to_lowercase())
        }
        None => before_query.to_owned(),
    };
    if let Some(query) = query.filter(|query| !php_empty(query)) {
        url.push('?');
        url.push_str(query);
    }
    if let Some(fragment) = fragment {
        let fragment = fragment.strip_suffix('#').unwrap_or(fragment);
        if !php_empty(fragment) {
            url.push('#');
            url.push_str(fragment);
        }
    }
    url
}

/// One hit of a slot: the groups its distinct counts need.
#[derive(Debug, Clone, Copy)]
struct Hit {
    slot: u32,
    visit: u32,
    visitor: u32,
}

/// Page timings of one slot as the action pass counts them: compact,
/// as every hit of a page touches them.
#[derive(Debug, Clone, Copy)]
struct SlotPerf {
    sum_ms: u64,
    hits: u32,
    /// `u32::MAX` while there is no hit.
    min_ms: u32,
    max_ms: u32,
}

impl SlotPerf {
    /// One hit (SQL `MIN`/`MAX`: a zero is a real minimum).
    fn add(&mut self, ms: u32) {
        self.sum_ms += u64::from(ms);
        self.hits += 1;
        self.min_ms = self.min_ms.min(ms);
        self.max_ms = self.max_ms.max(ms);
    }
}

impl Default for SlotPerf {
    fn default() -> Self {
        Self {
            sum_ms: 0,
            hits: 0,
            min_ms: u32::MAX,
            max_ms: 0,
        }
    }
}

/// What the action pass updates for every hit of a slot, packed so
/// that a hit costs one cache line: with tens of thousands of URLs the
/// per-slot arrays do not fit in the CPU caches, and each separate array
/// would be one more miss per hit.
#[derive(Debug, Clone, Copy, Default)]
struct Hot {
    time_spent: u64,
    hits: u32,
    following_search: u32,
    report: Option<Report>,
    is_search: bool,
    /// Right after the counters: the adjacent cache lines come with them.
    perf: [SlotPerf; 6],
}

/// Per-slot metrics of the day.
#[derive(Debug)]
struct SlotStats {
    hot: Vec<Hot>,
    /// `MAX(search_count)` of keyword slots.
    max_search_count: Vec<Option<u32>>,
    visits: Vec<u64>,
    uniq: Vec<u64>,
    entry: Vec<Entry>,
    exit_visits: Vec<u64>,
    exit_uniq: Vec<u64>,
    /// The goal metrics of the few slots with conversions.
    goals: HashMap<usize, RowGoals>,
    /// Per slot, the sizes of its hits (`log_link_visit_action.bandwidth`);
    /// empty for a day without any, so that sites that track no sizes
    /// spend nothing on them.
    bandwidth: Vec<Bandwidth>,
}

impl SlotStats {
    fn new(hot: Vec<Hot>) -> Self {
        let count = hot.len();
        Self {
            hot,
            max_search_count: vec![None; count],
            visits: Vec::new(),
            uniq: Vec::new(),
            entry: vec![Entry::default(); count],
            exit_visits: vec![0; count],
            exit_uniq: Vec::new(),
            goals: HashMap::new(),
            bandwidth: Vec::new(),
        }
    }

    /// `updateActionsTableWithGoals`: each conversion group goes to the
    /// row of its action, if the day has one (Matomo's action-row cache;
    /// a page seen only on an earlier day gets nothing).
    fn add_goals(&mut self, slots: &Slots, goals: &PageGoals) {
        let slot_of = |stats: &Self, id: u32| {
            slots
                .map
                .get(id)
                .map(|slot| slot as usize)
                .filter(|slot| id > 0 && stats.has_row(*slot))
        };
        for group in &goals.pages {
            let Some(slot) = slot_of(self, group.idaction) else {
                continue;
            };
            let theirs = GoalAcc {
                page: Some(PageGoal {
                    conversions: group.count,
                    revenue: group.revenue,
                    pages_before: group.pages_before,
                    attrib: group.conversions_attrib,
                    revenue_attrib: group.revenue_attrib,
                }),
                entry: None,
            };
            self.goals
                .entry(slot)
                .or_default()
                .goal(group.idgoal)
                .merge(&theirs, true);
        }
        for group in &goals.entries {
            let Some(slot) = slot_of(self, group.idaction) else {
                continue;
            };
            // The row's kind must be the action's: Matomo looks rows up
            // by id and type.
            let kind = u8::try_from(group.action_type)
                .ok()
                .and_then(|code| ActionType::from_code(code).ok());
            if kind.and_then(|kind| Report::of(kind, true)) != self.hot[slot].report {
                continue;
            }
            // The rates wait for the row's entrances ([`Tree::entry_rates`]).
            let theirs = GoalAcc {
                page: None,
                entry: Some(EntryGoal {
                    conversions: group.conversions,
                    revenue: group.revenue,
                    rates: None,
                }),
            };
            self.goals
                .entry(slot)
                .or_default()
                .goal(group.idgoal)
                .merge(&theirs, true);
        }
    }

    /// Whether the slot has a row: an action of a report seen today.
    fn has_row(&self, slot: usize) -> bool {
        self.hot.get(slot).is_some_and(|hot| hot.hits > 0)
    }

    /// The metrics of one slot as a report row holds them.
    fn acc(&self, slot: usize) -> Acc {
        let value = |v: &Vec<u64>| v.get(slot).copied().unwrap_or(0);
        let mut perf = [Perf::default(); 6];
        let hot = self.hot[slot];
        for (out, counted) in perf.iter_mut().zip(&hot.perf) {
            if counted.hits > 0 {
                *out = Perf {
                    sum_ms: counted.sum_ms,
                    hits: u64::from(counted.hits),
                    min_ms: Some(counted.min_ms),
                    max_ms: Some(counted.max_ms),
                };
            }
        }
        Acc {
            visits: value(&self.visits),
            uniq: value(&self.uniq),
            hits: u64::from(hot.hits),
            time_spent: hot.time_spent,
            following_search: u64::from(hot.following_search),
            no_result: u64::from(self.max_search_count[slot] == Some(0)),
            perf,
            bandwidth: self.bandwidth.get(slot).copied().unwrap_or_default(),
            entry: self.entry[slot],
            exit_uniq: value(&self.exit_uniq),
            exit_visits: self.exit_visits[slot],
            // Only actions with hits have a row in Matomo's page query.
            parts: u32::from(hot.hits > 0),
            goals: self.goals.get(&slot).cloned().unwrap_or_default(),
        }
    }
}

/// `search_cat` values of the day with their `(category, visit, visitor)`
/// triples, for `Actions_SiteSearchCategories`.
#[derive(Debug, Default)]
struct Categories<'a> {
    index: HashMap<&'a str, u32>,
    labels: Vec<&'a str>,
    actions: Vec<u64>,
    hits: Vec<(u32, u64, u64)>,
}

impl<'a> Categories<'a> {
    fn add(&mut self, row: &'a ActionRow) {
        // `search_cat != ''` in MariaDB ignores trailing spaces.
        let Some(category) = row
            .search_cat
            .as_deref()
            .filter(|cat| !cat.trim_end_matches(' ').is_empty())
        else {
            return;
        };
        let next = u32::try_from(self.labels.len()).unwrap_or(NONE);
        let id = *self.index.entry(category).or_insert(next);
        if id == next {
            self.labels.push(category);
            self.actions.push(0);
        }
        if let Some(count) = self.actions.get_mut(id as usize) {
            *count += 1;
        }
        self.hits.push((id, row.idvisit, row.idvisitor));
    }

    /// Per category: distinct visits (2), distinct visitors (1), actions
    /// (3), in label order.
    fn table(mut self) -> DataTable {
        let mut visits = vec![0u64; self.labels.len()];
        let mut visitors = vec![0u64; self.labels.len()];
        self.hits
            .sort_unstable_by_key(|(id, visit, _)| (*id, *visit));
        self.hits.dedup_by_key(|(id, visit, _)| (*id, *visit));
        for (id, _, _) in &self.hits {
            visits[*id as usize] += 1;
        }
        let mut by_visitor: Vec<(u32, u64)> = self
            .hits
            .iter()
            .map(|(id, _, visitor)| (*id, *visitor))
            .collect();
        by_visitor.sort_unstable();
        by_visitor.dedup();
        for (id, _) in &by_visitor {
            visitors[*id as usize] += 1;
        }
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        order.sort_by(|a, b| self.labels[*a].cmp(self.labels[*b]));
        DataTable::from_rows(order.into_iter().map(|i| {
            Row::new(self.labels[i])
                .with(metrics::NB_VISITS, int(visits[i]))
                .with(metrics::NB_UNIQ_VISITORS, int(visitors[i]))
                .with(metrics::NB_ACTIONS, int(self.actions[i]))
        }))
    }
}

/// The records of one day.
#[derive(Debug, Default)]
struct DayRecords {
    tables: Vec<(&'static str, DataTable)>,
    numeric: Vec<(&'static str, f64)>,
}

impl Actions {
    /// The labels from the top-level row of `record` (`Actions_actions_url`,
    /// `Actions_actions`, `Actions_downloads` or `Actions_outlink`) down to
    /// the row of `name`, a full URL (scheme included) or a page title, as
    /// this builder files it: what `Actions.getPageUrl` and its siblings
    /// follow through a stored report (`getFilterPageDatatableSearch`).
    /// `None` for any other record.
    pub fn label_path(&self, record: &str, name: &str) -> Option<Vec<String>> {
        let report = match record {
            "Actions_actions_url" => Report::PageUrl,
            "Actions_actions" => Report::PageTitle,
            "Actions_downloads" => Report::Download,
            "Actions_outlink" => Report::Outlink,
            _ => return None,
        };
        Some(self.explode().path(name, report, None))
    }

    fn explode(&self) -> Explode<'_> {
        Explode {
            level_limit: self.category_level_limit,
            default_name: &self.default_action_name,
            title_delimiter: &self.title_delimiter,
        }
    }

    /// Builds the day's records from the scans.
    fn compute(
        &self,
        settings: &SiteSettings,
        actions: &[ActionRow],
        visits: &[VisitRow],
        slots: &Slots,
        names: &HashMap<u32, Arc<ActionName>>,
        goals: &PageGoals,
    ) -> DayRecords {
        let (mut stats, categories) = slot_stats(settings, actions, visits, slots, names);
        stats.add_goals(slots, goals);
        let mut day = DayRecords::default();
        let url_root = format!("{}/", settings.main_url.trim_end_matches('/'));
        for report in Report::ALL {
            if report == Report::SiteSearch && !settings.site_search {
                continue;
            }
            let tree = self.tree(report, slots, names, &stats);
            let folder = match report {
                Report::PageUrl => Some((url_root.as_str(), "/")),
                Report::PageTitle if !self.title_delimiter.is_empty() => {
                    Some(("", self.title_delimiter.as_str()))
                }
                _ => None,
            };
            let (table, total, _) = tree.table(0, report, folder);
            for (name, _, hits) in NUMERIC.iter().filter(|(_, r, _)| *r == report) {
                let value = if *hits { total.hits } else { total.visits };
                #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^53")]
                day.numeric.push((*name, value as f64));
            }
            day.tables.push((report.record(), table));
        }
        if settings.site_search {
            day.tables
                .push((Actions::SITE_SEARCH_CATEGORIES, categories.table()));
        }
        day
    }

    /// Pass 5: the slots of `report` walked into its tree, most hits
    /// first as Matomo's queries return them (which decides the rows that
    /// go to "Others" when a table is full).
    fn tree(
        &self,
        report: Report,
        slots: &Slots,
        names: &HashMap<u32, Arc<ActionName>>,
        stats: &SlotStats,
    ) -> Tree {
        let mut members: Vec<(u32, &str, Option<u8>, usize)> = (0..slots.len())
            .filter(|slot| stats.hot[*slot].report == Some(report) && stats.has_row(*slot))
            .map(|slot| {
                let id = slots.ids[slot];
                let hits = stats.hot[slot].hits;
                match names.get(&id).filter(|_| id > 0) {
                    Some(name) => (hits, name.name.as_str(), name.url_prefix, slot),
                    None => (hits, "", None, slot),
                }
            })
            .collect();
        members.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let (max_rows, max_subtable_rows) = match report {
            Report::SiteSearch => (self.max_rows_site_search, self.max_subtable_rows),
            _ => (self.max_rows, self.max_subtable_rows),
        };
        let mut tree = Tree::new(max_rows, max_subtable_rows);
        let explode = self.explode();
        let mut members_of = Vec::with_capacity(members.len());
        for (hits, name, url_prefix, slot) in members {
            let node_index = tree.walk(explode.path(name, report, url_prefix));
            let node = &mut tree.nodes[node_index];
            if !node.is_summary {
                match report {
                    Report::PageUrl | Report::Download | Report::Outlink => {
                        // The URL of the variant with the most hits.
                        if node.url.is_none() || u64::from(hits) > node.url_hits {
                            node.url = Some(if php_empty(name) {
                                String::new()
                            } else {
                                reconstruct_url(name, url_prefix)
                            });
                            node.url_hits = u64::from(hits);
                        }
                    }
                    Report::PageTitle | Report::SiteSearch => {
                        if !php_empty(name) {
                            node.title_path = Some(name.to_owned());
                        }
                    }
                }
            }
            node.acc.merge_same_row(&stats.acc(slot));
            members_of.push((node_index, slot));
        }
        tree.entry_rates(&members_of, stats);
        tree
    }
}

/// Passes 2 to 4: everything per slot, and the search categories.
fn slot_stats<'a>(
    settings: &SiteSettings,
    actions: &'a [ActionRow],
    visits: &[VisitRow],
    slots: &Slots,
    names: &HashMap<u32, Arc<ActionName>>,
) -> (SlotStats, Categories<'a>) {
    let count = slots.len();
    let action_type = |id: &u32| names.get(id).and_then(|name| name.action_type);
    let mut hot: Vec<Hot> = slots
        .ids
        .iter()
        .map(|id| Hot {
            report: action_type(id).and_then(|t| Report::of(t, settings.site_search)),
            is_search: *id > 0 && action_type(id) == Some(ActionType::SiteSearch),
            ..Hot::default()
        })
        .collect();
    hot[UNDEFINED_URL as usize].report = Some(Report::PageUrl);
    hot[UNDEFINED_NAME as usize].report = Some(Report::PageTitle);
    let mut stats = SlotStats::new(hot);
    let mut categories = Categories::default();

    let mut visit_ids = Groups::for_range(slots.visits.0, slots.visits.1, actions.len());
    let mut visitor_ids = VisitorIds::new(visit_ids.len());
    let mut hits: Vec<Hit> = Vec::with_capacity(actions.len() * 2);
    for (row, [url, name, url_ref, name_ref]) in actions.iter().zip(&slots.rows) {
        if settings.site_search && row.search_cat.is_some() {
            categories.add(row);
        }
        if is_event(row) {
            continue;
        }
        let slot = |slot: u32| (slot != NONE).then_some(slot as usize);
        if row.time_spent_ref > 0 {
            for index in [slot(*url_ref), slot(*name_ref)].into_iter().flatten() {
                stats.hot[index].time_spent += u64::from(row.time_spent_ref);
            }
        }
        let with_row = |index: &usize| stats.hot[*index].report.is_some();
        let url = slot(*url).filter(with_row);
        let name = slot(*name).filter(with_row);
        if url.is_none() && name.is_none() {
            continue;
        }
        let after_search =
            settings.site_search && slot(*name_ref).is_some_and(|index| stats.hot[index].is_search);
        let visit = visit_ids.index(row.idvisit);
        let visitor = visitor_ids.of(Some(visit), row.idvisitor);
        let timed = row.timings.iter().any(Option::is_some);
        if let Some(bytes) = row.bandwidth {
            if stats.bandwidth.is_empty() {
                stats.bandwidth = vec![Bandwidth::default(); count];
            }
            for index in [url, name].into_iter().flatten() {
                stats.bandwidth[index].add(bytes);
            }
        }
        for index in [url, name].into_iter().flatten() {
            let hot = &mut stats.hot[index];
            hot.hits += 1;
            if after_search {
                hot.following_search += 1;
            }
            match hot.report {
                Some(Report::SiteSearch) => {
                    if let Some(count) = row.search_count {
                        let max = &mut stats.max_search_count[index];
                        *max = Some(max.map_or(count, |max| max.max(count)));
                    }
                }
                Some(report) if timed && report.is_page() => {
                    for (perf, timing) in hot.perf.iter_mut().zip(row.timings) {
                        if let Some(ms) = timing {
                            perf.add(ms);
                        }
                    }
                }
                _ => {}
            }
            hits.push(Hit {
                slot: u32::try_from(index).unwrap_or(NONE),
                visit,
                visitor,
            });
        }
    }
    stats.visits = distinct_per_slot(&hits, |hit| (hit.slot, hit.visit), count, visit_ids.len());
    stats.uniq = distinct_per_slot(
        &hits,
        |hit| (hit.slot, hit.visitor),
        count,
        visitor_ids.ids.len(),
    );
    drop(hits);
    // Only actions seen today have a row; time spent on a page seen
    // yesterday is dropped, as Matomo's cache lookup drops it.
    for hot in &mut stats.hot {
        if hot.hits == 0 {
            hot.time_spent = 0;
        }
    }

    // Entry and exit pages of the day's visits; unique visitors per slot
    // are counted like above, entry slots in 0..count and exit slots in
    // count..2*count.
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(visits.len() * 2);
    let count32 = u32::try_from(count).unwrap_or(NONE);
    for visit in visits {
        let visitor = visitor_ids.of(visit_ids.get(visit.idvisit), visit.idvisitor);
        let fields = [
            (visit.entry_url, true),
            (visit.entry_name, true),
            (visit.exit_url, false),
            (visit.exit_name, false),
        ];
        for (id, entry) in fields {
            let Some(slot) = real_id(id)
                .and_then(|id| slots.map.get(id))
                .filter(|slot| stats.has_row(*slot as usize))
            else {
                continue;
            };
            let index = slot as usize;
            if entry {
                let counts = &mut stats.entry[index];
                counts.visits += 1;
                counts.actions += u64::from(visit.total_actions);
                counts.length += u64::from(visit.total_time);
                counts.bounces += u64::from(visit.bounce);
                pairs.push((slot, visitor));
            } else {
                stats.exit_visits[index] += 1;
                pairs.push((slot.saturating_add(count32), visitor));
            }
        }
    }
    let uniq = distinct_per_slot(&pairs, |pair| *pair, count * 2, visitor_ids.ids.len());
    for (counts, entry) in stats.entry.iter_mut().zip(&uniq) {
        counts.uniq = *entry;
    }
    stats.exit_uniq = uniq.get(count..).map(<[u64]>::to_vec).unwrap_or_default();
    (stats, categories)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explode() -> Explode<'static> {
        Explode {
            level_limit: 10,
            default_name: "index",
            title_delimiter: "",
        }
    }

    fn path(name: &str, report: Report, prefix: Option<u8>) -> Vec<String> {
        explode().path(name, report, prefix)
    }

    #[test]
    fn label_paths_of_full_urls_and_titles() {
        let actions = Actions::default();
        let path = |record, name| actions.label_path(record, name);
        assert_eq!(
            path("Actions_actions_url", "https://www.example.com/blog/dev/"),
            Some(vec![
                "blog".to_owned(),
                "dev".to_owned(),
                "/index".to_owned()
            ])
        );
        assert_eq!(
            path("Actions_downloads", "http://piwik.org/path/latest.zip"),
            Some(vec!["piwik.org".to_owned(), "/path/latest.zip".to_owned()])
        );
        assert_eq!(
            path("Actions_actions", " Checkout/Purchasing... "),
            Some(vec![" Checkout/Purchasing...".to_owned()])
        );
        assert_eq!(path("Actions_sitesearch", "anything"), None);
    }

    #[test]
    fn page_urls_drop_the_host_and_split_on_slashes() {
        assert_eq!(
            path("example.com/blog/dev/first-post", Report::PageUrl, Some(0)),
            ["blog", "dev", "/first-post"]
        );
        assert_eq!(path("example.com/", Report::PageUrl, Some(2)), ["/index"]);
        assert_eq!(path("example.com", Report::PageUrl, Some(1)), ["/index"]);
        assert_eq!(
            path("example.com/docs/", Report::PageUrl, Some(3)),
            ["docs", "/index"]
        );
        assert_eq!(
            path("example.com/a//b/ c /page?x=1", Report::PageUrl, Some(0)),
            ["a", "b", "c", "/page?x=1"]
        );
        // A query without a path stays on the host: Matomo's regex does it.
        assert_eq!(
            path("example.com?q=1", Report::PageUrl, Some(0)),
            ["/index"]
        );
    }

    #[test]
    fn page_url_fragments_are_kept_without_a_trailing_hash() {
        // The fragment is split too: Matomo appends it before splitting.
        assert_eq!(
            path("example.com/app#/settings#", Report::PageUrl, Some(0)),
            ["app#", "/settings"]
        );
        assert_eq!(
            path("example.com/app#section#", Report::PageUrl, Some(0)),
            ["/app#section"]
        );
        assert_eq!(
            path("example.com/#top", Report::PageUrl, Some(0)),
            ["/index#top"]
        );
        // PHP's empty("0"): a fragment "0" is dropped.
        assert_eq!(path("example.com/a#0", Report::PageUrl, Some(0)), ["/a"]);
    }

    #[test]
    fn urls_split_into_at_most_the_level_limit() {
        let deep = "example.com/1/2/3/4/5/6/7/8/9/10/11/12";
        let parts = path(deep, Report::PageUrl, Some(0));
        assert_eq!(parts.len(), 10);
        assert_eq!(parts[8], "9");
        assert_eq!(parts[9], "/10/11/12");
    }

    #[test]
    fn page_urls_without_a_known_prefix_keep_their_host_unless_http() {
        assert_eq!(
            path("example.com/page", Report::PageUrl, None),
            ["example.com", "/page"]
        );
        assert_eq!(
            path("HTTP://Example.com/a/b", Report::PageUrl, None),
            ["a", "/b"]
        );
    }

    #[test]
    fn downloads_and_outlinks_are_host_then_path() {
        assert_eq!(
            path(
                "https://Files.example.com/dl/app.zip",
                Report::Download,
                None
            ),
            ["Files.example.com", "/dl/app.zip"]
        );
        assert_eq!(
            path("http://other.org", Report::Outlink, None),
            ["other.org", "/"]
        );
        assert_eq!(
            path("http://other.org/a/b#frag#", Report::Outlink, None),
            ["other.org", "/a/b#frag#"]
        );
        // Not http(s): split like a path.
        assert_eq!(
            path("mailto:me@example.org", Report::Outlink, None),
            ["/mailto:me@example.org"]
        );
        assert_eq!(
            path("", Report::Download, None),
            [Actions::PAGE_URL_NOT_DEFINED]
        );
    }

    #[test]
    fn titles_are_one_level_with_a_leading_space() {
        assert_eq!(path("  Contact \n", Report::PageTitle, None), [" Contact"]);
        assert_eq!(path("Blog / Dev", Report::PageTitle, None), [" Blog / Dev"]);
        assert_eq!(
            path(" \t", Report::PageTitle, None),
            [" Page Name not defined"]
        );
        assert_eq!(path("", Report::PageUrl, None), ["Page URL not defined"]);
    }

    #[test]
    fn titles_split_on_the_category_delimiter() {
        let split = |title: &str, delimiter: &str, limit: usize| {
            Explode {
                level_limit: limit,
                default_name: "index",
                title_delimiter: delimiter,
            }
            .path(title, Report::PageTitle, None)
        };
        assert_eq!(
            split("check <> / @one@ / two", "/", 10),
            ["check <>", "@one@", " two"]
        );
        assert_eq!(split("Blog :: Dev ::", "::", 10), ["Blog", " Dev"]);
        // The level limit keeps the rest whole in the last level.
        assert_eq!(split("a/b/c/d", "/", 2), ["a", " b/c/d"]);
        // Nothing left: Matomo's label without the page blank.
        assert_eq!(split(" / ", "/", 10), ["Page Name not defined"]);
        // A title that is a URL is cut as a page URL's path.
        assert_eq!(
            split("https://example.com/docs/", "/", 10),
            ["docs", " index"]
        );
        // An empty delimiter (the default) never splits.
        assert_eq!(split("a / b", "", 10), [" a / b"]);
    }

    #[test]
    fn keywords_are_kept_verbatim() {
        assert_eq!(
            path(" Rust  / Go ", Report::SiteSearch, None),
            [" Rust  / Go "]
        );
    }

    #[test]
    fn urls_get_their_scheme_back() {
        assert_eq!(
            reconstruct_url("example.com/a?b=1", Some(0)),
            "http://example.com/a?b=1"
        );
        assert_eq!(
            reconstruct_url("example.com/", Some(1)),
            "http://www.example.com/"
        );
        assert_eq!(
            reconstruct_url("Example.COM/Path#x#", Some(2)),
            "https://example.com/Path#x"
        );
        assert_eq!(
            reconstruct_url("example.com/a?#", Some(3)),
            "https://www.example.com/a"
        );
        assert_eq!(
            reconstruct_url("https://User@Files.Example.com/F.zip", None),
            "https://User@files.example.com/F.zip"
        );
        assert_eq!(reconstruct_url("example.com/x", None), "example.com/x");
    }

    #[test]
    fn full_tables_send_new_rows_to_others() {
        let mut tree = Tree::new(3, 2);
        let a = tree.walk(vec!["/a".to_owned()]);
        let b = tree.walk(vec!["d".to_owned(), "/x".to_owned()]);
        let y = tree.walk(vec!["d".to_owned(), "/y".to_owned()]);
        let z = tree.walk(vec!["d".to_owned(), "/z".to_owned()]);
        let c = tree.walk(vec!["/c".to_owned()]);
        assert_ne!(a, b);
        // The subtable of `d` holds one row and its summary row.
        assert_eq!(y, z);
        assert_eq!(tree.nodes[y].label, "-1");
        // The root holds `/a`, `d` and its summary row.
        assert_eq!(tree.nodes[c].label, "-1");
        assert_eq!(tree.walk(vec!["/a".to_owned()]), a);
    }

    #[test]
    fn distinct_counts_per_slot() {
        // (slot, group): slot 0 in groups 1, 1, 2; slot 1 in group 2.
        let pairs = [(0, 1), (1, 2), (0, 2), (0, 1)];
        assert_eq!(distinct_per_slot(&pairs, |p| *p, 3, 3), [2, 1, 0]);
    }

    #[test]
    fn perf_min_keeps_zero_and_skips_only_missing_bounds() {
        let mut slot = SlotPerf::default();
        slot.add(0);
        slot.add(40);
        assert_eq!(
            (slot.min_ms, slot.max_ms, slot.sum_ms, slot.hits),
            (0, 40, 40, 2)
        );
        let mut one = Perf {
            sum_ms: 40,
            hits: 2,
            min_ms: Some(0),
            max_ms: Some(40),
        };
        one.merge(&Perf {
            sum_ms: 25,
            hits: 1,
            min_ms: Some(25),
            max_ms: Some(25),
        });
        // "0.0000" is a value to Matomo, not PHP-empty.
        assert_eq!((one.min_ms, one.max_ms, one.hits), (Some(0), Some(40), 3));
        let mut none = Perf::default();
        none.merge(&Perf {
            sum_ms: 25,
            hits: 1,
            min_ms: Some(25),
            max_ms: Some(25),
        });
        assert_eq!((none.min_ms, none.max_ms), (Some(25), Some(25)));
    }

    fn page_goal(conversions: u64, pages_before: u64, attrib: f64, revenue: f64) -> RowGoals {
        let mut goals = RowGoals::default();
        *goals.goal(1) = GoalAcc {
            page: Some(PageGoal {
                conversions,
                revenue,
                pages_before: Some(pages_before),
                attrib: Some(attrib),
                revenue_attrib: Some(revenue * attrib),
            }),
            entry: None,
        };
        goals
    }

    #[test]
    fn pages_before_is_the_largest_in_a_row_and_summed_into_folders() {
        let mut row = page_goal(1, 2, 0.5, 10.0);
        row.merge(&page_goal(1, 3, 0.25, 30.0), true);
        let mut folder = row.clone();
        folder.merge(&page_goal(1, 1, 1.0, 4.0), false);
        let value = |goals: &RowGoals, id: u16| {
            goals
                .columns()
                .0
                .get(&1)
                .and_then(|goal| goal.get(&ColumnKey::Id(id)).and_then(Scalar::as_f64))
        };
        assert_eq!(value(&row, metrics::GOAL_NB_CONV_PAGES_BEFORE), Some(3.0));
        assert_eq!(value(&row, metrics::GOAL_NB_CONVERSIONS), Some(2.0));
        assert_eq!(
            value(&row, metrics::GOAL_NB_CONVERSIONS_PAGE_RATE),
            Some(0.0)
        );
        assert_eq!(
            value(&folder, metrics::GOAL_NB_CONV_PAGES_BEFORE),
            Some(4.0)
        );
        assert_eq!(
            value(&folder, metrics::GOAL_NB_CONVERSIONS_ATTRIB),
            Some(1.75)
        );
        // No entry metrics without entry conversions.
        assert_eq!(value(&folder, metrics::GOAL_NB_CONVERSIONS_ENTRY), None);
    }

    /// The column names of row `index` of `table`.
    fn column_names(table: &DataTable, index: usize) -> Vec<String> {
        table.rows()[index]
            .columns
            .keys()
            .map(|key| key.name().into_owned())
            .collect()
    }

    /// `folder/` with `/first` (an entrance that converted, no exit) and
    /// `/second` (an exit) in `report`, built as a day builds it.
    fn folder_of_two(report: Report, first: Acc, second: Acc) -> (DataTable, Acc) {
        let mut tree = Tree::new(10, 10);
        let a = tree.walk(vec!["folder".to_owned(), "/first".to_owned()]);
        tree.nodes[a].acc = first;
        let b = tree.walk(vec!["folder".to_owned(), "/second".to_owned()]);
        tree.nodes[b].acc = second;
        let (table, total, _) = tree.table(0, report, None);
        (table, total)
    }

    fn page(visits: u64, bytes: &[u64]) -> Acc {
        let mut acc = Acc {
            visits,
            uniq: visits,
            hits: visits,
            parts: 1,
            ..Acc::default()
        };
        for size in bytes {
            acc.bandwidth.add(*size);
        }
        acc
    }

    #[test]
    fn folders_list_optional_columns_in_the_order_their_rows_bring_them() {
        let mut converted_entrance = page(1, &[]);
        converted_entrance.entry = Entry {
            uniq: 1,
            visits: 1,
            actions: 2,
            length: 242,
            bounces: 0,
        };
        converted_entrance.goals = page_goal(1, 1, 1.0, 5.0);
        let mut exit = page(1, &[]);
        exit.exit_uniq = 1;
        exit.exit_visits = 1;
        let (table, _) = folder_of_two(Report::PageUrl, converted_entrance.clone(), exit.clone());
        let folder = column_names(&table, 0);
        let tail = &folder[folder.len() - 6..];
        // The first page's entry columns and goals, then the second's exit.
        assert_eq!(
            tail,
            [
                "entry_nb_visits",
                "entry_nb_actions",
                "entry_sum_visit_length",
                "entry_bounce_count",
                "goals",
                "exit_nb_visits"
            ]
        );
        // The pages themselves keep the query order, and the other order of
        // the two pages gives the folder the exit first.
        let subtable = table.rows()[0].subtable.as_deref().expect("subtable");
        assert_eq!(
            column_names(subtable, 0).last().map(String::as_str),
            Some("goals")
        );
        let (table, _) = folder_of_two(Report::PageUrl, exit, converted_entrance.clone());
        let folder = column_names(&table, 0);
        assert_eq!(
            folder[folder.len() - 6..],
            [
                "exit_nb_visits",
                "entry_nb_visits",
                "entry_nb_actions",
                "entry_sum_visit_length",
                "entry_bounce_count",
                "goals"
            ]
        );
        // A page with all three groups has them in the query order.
        let mut all = converted_entrance;
        all.exit_uniq = 1;
        all.exit_visits = 1;
        let order = all.groups(Report::PageUrl);
        assert_eq!(
            order.iter().collect::<Vec<_>>(),
            [Group::Entry, Group::Exit, Group::Goals]
        );
        let names = all
            .columns(Report::PageUrl, true, order)
            .keys()
            .map(|key| key.name().into_owned())
            .collect::<Vec<_>>();
        let at = |name: &str| names.iter().position(|n| n == name);
        assert!(at("entry_nb_visits") < at("exit_nb_visits"), "{names:?}");
        assert!(at("exit_nb_visits") < at("goals"), "{names:?}");
    }

    #[test]
    fn nested_folders_pass_their_order_up() {
        let mut tree = Tree::new(10, 10);
        let mut goal = page(1, &[]);
        goal.goals = page_goal(1, 1, 1.0, 5.0);
        let mut exit = page(1, &[]);
        exit.exit_visits = 1;
        let a = tree.walk(vec!["a".to_owned(), "b".to_owned(), "/goal".to_owned()]);
        tree.nodes[a].acc = goal;
        let b = tree.walk(vec!["a".to_owned(), "/exit".to_owned()]);
        tree.nodes[b].acc = exit;
        let (table, _, order) = tree.table(0, Report::PageUrl, None);
        assert_eq!(
            order.iter().collect::<Vec<_>>(),
            [Group::Goals, Group::Exit]
        );
        let names = column_names(&table, 0);
        assert_eq!(names[names.len() - 2..], ["goals", "exit_nb_visits"]);
    }

    #[test]
    fn download_folders_add_up_their_bandwidth_bounds() {
        let value = |table: &DataTable, index: usize, id: u16| {
            table.rows()[index]
                .columns
                .get(&ColumnKey::Id(id))
                .and_then(Value::as_f64)
        };
        // Two sized downloads and one without a size, as a day builds them.
        let mut tree = Tree::new(10, 10);
        for (path, bytes) in [
            ("/19.pdf", &[4_324_023][..]),
            ("/a.png", &[3574]),
            ("/b", &[]),
        ] {
            let node = tree.walk(vec!["piwik.net".to_owned(), path.to_owned()]);
            tree.nodes[node].acc = page(1, bytes);
        }
        let (downloads, _, _) = tree.table(0, Report::Download, None);
        let bounds = |table: &DataTable| {
            [
                metrics::SUM_BANDWIDTH,
                metrics::NB_HITS_WITH_BANDWIDTH,
                metrics::MIN_BANDWIDTH,
                metrics::MAX_BANDWIDTH,
            ]
            .map(|id| value(table, 0, id))
        };
        let sum = Some(4_327_597.0);
        assert_eq!(bounds(&downloads), [sum, Some(2.0), sum, sum]);
        // Outlinks likewise; page URL folders keep the extremes.
        let (outlinks, _, _) = tree.table(0, Report::Outlink, None);
        assert_eq!(bounds(&outlinks), [sum, Some(2.0), sum, sum]);
        let (pages, _, _) = tree.table(0, Report::PageUrl, None);
        assert_eq!(
            bounds(&pages),
            [sum, Some(2.0), Some(3574.0), Some(4_324_023.0)]
        );
        // A row two actions share keeps the extremes in every table.
        let mut shared = page(1, &[3574]);
        shared.merge_same_row(&page(1, &[4_324_023]));
        assert_eq!(
            (shared.bandwidth.min, shared.bandwidth.max),
            (Some(3574), Some(4_324_023))
        );
    }

    #[test]
    fn only_page_tables_keep_bandwidth_extremes_over_periods() {
        let records = Actions::default().records();
        let op = |name: &str, id: u16| {
            records
                .iter()
                .find(|record| record.name == name)
                .and_then(|record| record.aggregation_ops.get(&ColumnKey::Id(id)).copied())
        };
        for name in [Actions::PAGE_URLS, Actions::PAGE_TITLES] {
            assert_eq!(op(name, metrics::MIN_BANDWIDTH), Some(ColumnOp::Min));
            assert_eq!(op(name, metrics::MAX_BANDWIDTH), Some(ColumnOp::Max));
        }
        for name in [Actions::DOWNLOADS, Actions::OUTLINKS, Actions::SITE_SEARCH] {
            // No operation: summed, as any column.
            assert_eq!(op(name, metrics::MIN_BANDWIDTH), None, "{name}");
            assert_eq!(op(name, metrics::MAX_BANDWIDTH), None, "{name}");
        }
    }
}
