//! Matomo's Transitions API (`plugins/Transitions/API.php`): what visitors
//! did right before and right after viewing one page URL or page title,
//! read straight from the log tables at request time (as Live does), never
//! from archives.
//!
//! - `Transitions.getTransitionsForPageUrl(idSite, period, date, pageUrl,
//!   segment, limitBeforeGrouping)`, `getTransitionsForPageTitle(...,
//!   pageTitle, ...)` and the general `getTransitionsForAction(...,
//!   actionName, actionType, ..., parts)`.
//! - `Transitions.isPeriodAllowed(idSite, period, date)`: whether
//!   [`ReportingConfig::transitions_max_period_allowed`] (and its per-site
//!   override) lets the period through.
//!
//! # How an answer is built
//!
//! Three queries, each Matomo's `LogAggregator` query followed by its
//! `RankingQuery` (which keeps the `limitBeforeGrouping` first rows of each
//! partition, 5 by default, and sums the rest into an `Others` row):
//!
//! - Internal referrers: the action rows *of* the page (`idaction_url`, or
//!   `idaction_name` for titles), grouped by the action before them
//!   (`idaction_url_ref`, or `idaction_name_ref` when the previous action
//!   was a site search, which has no URL). Previous pages and previous site
//!   searches are reported; rows whose previous action is the page itself
//!   are loops (reloads); every row counts as a pageview, entries included
//!   (no previous action).
//! - Following actions: the action rows whose previous action is the page,
//!   loops left out, grouped by action and split by type into following
//!   pages, site searches, outlinks and downloads.
//! - External referrers: the visits that entered on the page, by referrer
//!   type and referrer (search engine, social network, website URL,
//!   campaign name and keyword).
//!
//! Exits are derived: pageviews minus loops minus the transitions to
//! following pages and site searches (outlinks and downloads end a visit
//! too). A page with no pageview in the period is Matomo's
//! `NoDataForAction` error.
//!
//! Matomo's `RankingQuery` numbers rows with MySQL user variables; we run
//! the inner query (same grouping and order) and number its rows the same
//! way in Rust ([`rank`]), which keeps Matomo's corner cases: one row past
//! the limit is still labelled `Others`, `limitBeforeGrouping=-1` groups
//! everything into `Others` and lower values group nothing.
//!
//! # Differences from Matomo
//!
//! - A segment selects visits (as in our archives): every action of a
//!   matching visit is read. Matomo applies a segment's action conditions
//!   (`pageUrl==...`) to each action row of these queries.
//! - Rows with equal counts come in name order, then by action id (or
//!   referrer) where Matomo leaves the order to MySQL.
//! - `max_period_allowed` values other than `day`, `week`, `month`, `year`
//!   and `all` are refused when the configuration is read; Matomo then
//!   refuses every period.

use std::collections::BTreeMap;

use diesel::MysqlConnection;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Unsigned};
use tally_archiving::Period;
use tally_archiving::SiteInfo;
use tally_archiving::builders::reconstruct_url;
use tally_archiving::period::{DateSelection, parse_date_param, parse_period_kind};
use tally_archiving::segment::Segment;
use tally_datatable::render::{Report, Tree};
use tally_datatable::{DataTable, Row};
use tally_schema::codes::PeriodKind;
use time::OffsetDateTime;

use crate::ReportingError;
use crate::api::ReportingConfig;
use crate::formatting::period_short_string;
use crate::live::{load_site, utc_datetime};
use crate::methods::{Ctx, Handler};
use crate::output::Output;

/// `Transitions.<method>` → implementation.
pub(crate) fn find(method: &str) -> Option<Handler> {
    let handler: Handler = match method {
        "getTransitionsForPageUrl" => for_page_url,
        "getTransitionsForPageTitle" => for_page_title,
        "getTransitionsForAction" => for_action,
        "isPeriodAllowed" => is_period_allowed,
        _ => return None,
    };
    Some(handler)
}

/// The longest period the Transitions API answers for (Matomo's
/// `[Transitions] max_period_allowed`, and `[Transitions_<idSite>]` for one
/// site). Ranges are allowed up to the same number of days (1, 7, 31, 365).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxPeriodAllowed {
    /// Days only.
    Day,
    /// Days and weeks.
    Week,
    /// Days, weeks and months.
    Month,
    /// Days, weeks, months and years.
    Year,
    /// Every period (Matomo's default: no setting).
    #[default]
    All,
}

/// The `action_type` values of `log_action` these queries read
/// (`Piwik\Tracker\Action::TYPE_*`).
mod action_type {
    pub(super) const PAGE_URL: i64 = 1;
    pub(super) const OUTLINK: i64 = 2;
    pub(super) const DOWNLOAD: i64 = 3;
    pub(super) const PAGE_TITLE: i64 = 4;
    pub(super) const SITE_SEARCH: i64 = 8;
}

/// `Common::REFERRER_TYPE_*`, in the order Matomo lists the referrers.
const REFERRER_TYPES: [(i64, &str, &str); 5] = [
    (1, "direct", "Direct entries"),
    (2, "search", "From search engines"),
    (7, "social", "From social networks"),
    (3, "website", "From websites"),
    (6, "campaign", "From campaigns"),
];

/// `$limitBeforeGrouping` when the request gives none (or 0).
const DEFAULT_LIMIT: i64 = 5;

/// The label of the row summing what the limit left out.
const OTHERS: &str = "Others";

/// `ArchivingHelper::getUnknownActionName(Action::TYPE_PAGE_TITLE)`.
const PAGE_NAME_NOT_DEFINED: &str = "Page Name not defined";

fn no_data() -> ReportingError {
    ReportingError::NotSupported("NoDataForAction".to_owned())
}

/// Whether the action is a page URL or a page title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Url,
    Title,
}

impl Kind {
    /// The `log_link_visit_action` column suffix (`idaction_url`,
    /// `idaction_name`).
    fn column(self) -> &'static str {
        match self {
            Self::Url => "url",
            Self::Title => "name",
        }
    }

    /// The `log_action.type` of the page itself.
    fn page_type(self) -> i64 {
        match self {
            Self::Url => action_type::PAGE_URL,
            Self::Title => action_type::PAGE_TITLE,
        }
    }
}

fn for_page_url(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let name = ctx.required("pageUrl")?.to_owned();
    transitions(ctx, &name, Kind::Url)
}

fn for_page_title(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let name = ctx.required("pageTitle")?.to_owned();
    transitions(ctx, &name, Kind::Title)
}

fn for_action(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let name = ctx.required("actionName")?.to_owned();
    let kind = match ctx.required("actionType")? {
        "url" => Kind::Url,
        "title" => Kind::Title,
        _ => {
            // Matomo checks the type once the access and period checks
            // passed; so do we (in `transitions`).
            return transitions_unknown_type(ctx);
        }
    };
    transitions(ctx, &name, kind)
}

/// An `actionType` other than `url` and `title`: the same checks as a
/// valid request first, then Matomo's error.
fn transitions_unknown_type(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    let site = single_site(ctx)?;
    check_period(ctx, site)?;
    limit_before_grouping(ctx)?;
    Err(ReportingError::NotSupported(
        "Unknown action type".to_owned(),
    ))
}

/// `isPeriodAllowed`: `true` or `false`. Matomo checks no access here.
fn is_period_allowed(ctx: &mut Ctx<'_>) -> Result<Output, ReportingError> {
    // The setting's section is named after `idSite` as given.
    let idsite = ctx.required("idSite")?.trim();
    let period = ctx.required("period")?;
    let date = ctx.request.get("date").unwrap_or("");
    let allowed = period_allowed(ctx.loader.config, idsite, period, date, ctx.loader.now)?;
    Ok(Output::Bool(allowed))
}

/// The one site of the request, after the view access check.
fn single_site(ctx: &mut Ctx<'_>) -> Result<u32, ReportingError> {
    let (ids, multi) = ctx.sites()?;
    match ids[..] {
        [idsite] if !multi => Ok(idsite),
        [] => Err(ReportingError::MissingParameter("idSite".to_owned())),
        _ => Err(ReportingError::InvalidParameter {
            name: "idSite".to_owned(),
            reason: "this method takes one site id".to_owned(),
        }),
    }
}

fn check_period(ctx: &Ctx<'_>, idsite: u32) -> Result<(), ReportingError> {
    let period = ctx.required("period")?;
    let date = ctx.request.get("date").unwrap_or("");
    if period_allowed(
        ctx.loader.config,
        &idsite.to_string(),
        period,
        date,
        ctx.loader.now,
    )? {
        Ok(())
    } else {
        Err(ReportingError::NotSupported("PeriodNotAllowed".to_owned()))
    }
}

/// `Transitions::getPeriodAllowedConfig` and `API::isPeriodAllowed`: the
/// site's setting wins over the general one; a range may not have more
/// days than the longest allowed period (1, 7, 31, 365).
fn period_allowed(
    config: &ReportingConfig,
    idsite: &str,
    period: &str,
    date: &str,
    now: OffsetDateTime,
) -> Result<bool, ReportingError> {
    let max = config
        .transitions_max_period_allowed_by_site
        .get(idsite)
        .copied()
        .unwrap_or(config.transitions_max_period_allowed);
    if max == MaxPeriodAllowed::All {
        return Ok(true);
    }
    if period == "range" {
        // `new Period\Range('range', $date)`: no site, so today is UTC's.
        let today = now.date();
        let days = match parse_date_param(PeriodKind::Range, date, today)? {
            DateSelection::One(range) => range.days(),
            DateSelection::Many(ranges) => ranges.iter().map(Period::days).sum(),
        };
        return Ok(match max {
            MaxPeriodAllowed::Day => days == 1,
            MaxPeriodAllowed::Week => days <= 7,
            MaxPeriodAllowed::Month => days <= 31,
            MaxPeriodAllowed::Year => days <= 365,
            MaxPeriodAllowed::All => true,
        });
    }
    let allowed: &[&str] = match max {
        MaxPeriodAllowed::Day => &["day"],
        MaxPeriodAllowed::Week => &["day", "week"],
        MaxPeriodAllowed::Month => &["day", "week", "month"],
        MaxPeriodAllowed::Year | MaxPeriodAllowed::All => &["day", "week", "month", "year"],
    };
    Ok(allowed.contains(&period))
}

/// `limitBeforeGrouping`: PHP-empty is the default; anything else must be
/// numeric (`is_numeric`), read as PHP's `(int)`.
fn limit_before_grouping(ctx: &Ctx<'_>) -> Result<i64, ReportingError> {
    let raw = ctx.request.get("limitBeforeGrouping").unwrap_or("");
    if raw.is_empty() || raw == "0" {
        return Ok(DEFAULT_LIMIT);
    }
    // `is_numeric` allows leading (and, since PHP 8, trailing) whitespace.
    let number = raw
        .trim_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C'])
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
        .ok_or_else(|| {
            ReportingError::NotSupported("limitBeforeGrouping has to be an integer.".to_owned())
        })?;
    #[expect(clippy::cast_possible_truncation, reason = "PHP's (int) truncates too")]
    let limit = number.trunc() as i64;
    Ok(if limit == 0 { DEFAULT_LIMIT } else { limit })
}

/// `getTransitionsForAction`: the checks in Matomo's order (access, period,
/// limit, the action, then the date and segment), then the report parts.
fn transitions(ctx: &mut Ctx<'_>, name: &str, kind: Kind) -> Result<Output, ReportingError> {
    let idsite = single_site(ctx)?;
    check_period(ctx, idsite)?;
    let limit = limit_before_grouping(ctx)?;
    let idaction = derive_idaction(ctx.conn, name, kind)?;
    let site = load_site(ctx.conn, idsite)?.info;
    let kind_param = parse_period_kind(ctx.required("period")?)?;
    let date = ctx.required("date")?.to_owned();
    let today = site.timezone.local_date(ctx.loader.now.unix_timestamp());
    // Several periods (`date=last7`) make one range, as Matomo's
    // `Period\Factory::build` does.
    let period = match parse_date_param(kind_param, &date, today)? {
        DateSelection::One(period) => period,
        DateSelection::Many(periods) => match (periods.first(), periods.last()) {
            (Some(first), Some(last)) => Period::range(first.start(), last.end())?,
            _ => return Err(no_data()),
        },
    };
    let segment = crate::live::segment(ctx, &site)?;
    let parts = ctx.request.non_empty("parts").unwrap_or("all").to_owned();
    let query = Query {
        site: &site,
        period,
        segment: &segment,
        idaction,
        kind,
        limit,
    };
    let report = build(ctx.conn, &query, &parts)?;
    Ok(Output::Report(Report::Tree(report)))
}

/// The action id of a page URL or title, as `TableLogAction::
/// getIdActionFromSegment` finds it: a URL loses its `http(s)://(www.)`
/// (stored without it), a title is HTML-escaped (stored so). An unknown
/// action is id 0, whose queries find no pageview: `NoDataForAction`.
fn derive_idaction(
    conn: &mut MysqlConnection,
    name: &str,
    kind: Kind,
) -> Result<u64, ReportingError> {
    let (value, action_type) = match kind {
        Kind::Url => (strip_url_prefix(name).to_owned(), action_type::PAGE_URL),
        Kind::Title => (
            tally_tracking::php::sanitize_input_value(name),
            action_type::PAGE_TITLE,
        ),
    };
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Unsigned<diesel::sql_types::Integer>)]
        idaction: u32,
    }
    let found: Option<Id> = diesel::sql_query(
        "SELECT idaction FROM log_action \
         WHERE hash = CRC32(?) AND name = ? AND type = ? ORDER BY idaction LIMIT 1",
    )
    .bind::<Text, _>(&value)
    .bind::<Text, _>(&value)
    .bind::<BigInt, _>(action_type)
    .get_result(conn)
    .optional()?;
    Ok(found.map_or(0, |id| u64::from(id.idaction)))
}

/// `^https?://(www\.)?`, case-insensitively.
fn strip_url_prefix(url: &str) -> &str {
    let lower = |len: usize| url.get(..len).map(str::to_ascii_lowercase);
    let rest = if lower(8).as_deref() == Some("https://") {
        &url[8..]
    } else if lower(7).as_deref() == Some("http://") {
        &url[7..]
    } else {
        return url;
    };
    match rest.get(..4) {
        Some(www) if www.eq_ignore_ascii_case("www.") => &rest[4..],
        _ => rest,
    }
}

/// What the queries of one answer share.
struct Query<'q> {
    site: &'q SiteInfo,
    period: Period,
    segment: &'q Segment,
    idaction: u64,
    kind: Kind,
    limit: i64,
}

impl Query<'_> {
    /// `[first, last]` second of the period in UTC, as `Y-m-d H:i:s`
    /// (Matomo's `>= ? AND <= ?` bounds).
    fn bounds(&self) -> (String, String) {
        let (start, end) = self.period.utc_bounds(&self.site.timezone);
        (utc_datetime(start), utc_datetime(end - 1))
    }

    /// Runs `select ... FROM <from> WHERE <period, site> AND <where_sql>
    /// [AND the segment's visits] <tail>` with the binds in order.
    fn run<T: QueryableByName<Mysql> + 'static>(
        &self,
        conn: &mut MysqlConnection,
        table: &str,
        time_column: &str,
        head: &str,
        where_sql: &str,
        tail: &str,
    ) -> QueryResult<Vec<T>> {
        let (start, end) = self.bounds();
        let segment_sql = self.segment.to_sql();
        let segment_clause = if self.segment.is_empty() {
            String::new()
        } else if table == "log_visit" {
            format!(" AND ({})", segment_sql.where_sql)
        } else {
            // The segment's visits: those with an action in the period end
            // at or after its start.
            format!(
                " AND {table}.idvisit IN (SELECT log_visit.idvisit FROM log_visit AS log_visit \
                 WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? AND ({}))",
                segment_sql.where_sql
            )
        };
        let sql = format!(
            "{head} WHERE {table}.{time_column} >= ? AND {table}.{time_column} <= ? \
             AND {table}.idsite = ? AND {where_sql}{segment_clause} {tail}"
        );
        let mut query = diesel::sql_query(sql)
            .into_boxed::<Mysql>()
            .bind::<Text, _>(start.clone())
            .bind::<Text, _>(end)
            .bind::<Unsigned<diesel::sql_types::Integer>, _>(self.site.idsite);
        if !self.segment.is_empty() {
            if table != "log_visit" {
                query = query
                    .bind::<Unsigned<diesel::sql_types::Integer>, _>(self.site.idsite)
                    .bind::<Text, _>(start);
            }
            query = segment_sql.apply_binds(query);
        }
        query.load(conn)
    }
}

/// One row of an action query, before ranking.
#[derive(QueryableByName)]
struct ActionRow {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    url_prefix: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    partition: Option<i64>,
    #[diesel(sql_type = BigInt)]
    is_self: i64,
    #[diesel(sql_type = BigInt)]
    hits: i64,
}

/// One row of the external referrers query, before ranking.
#[derive(QueryableByName)]
struct ReferrerRow {
    #[diesel(sql_type = Nullable<Text>)]
    referrer_data: Option<String>,
    #[diesel(sql_type = BigInt)]
    referer_type: i64,
    #[diesel(sql_type = BigInt)]
    visits: i64,
}

/// A row to rank: its partition, whether it is excluded from the limit
/// (and its number then), its labels and its count.
struct Rankable {
    partition: Option<i64>,
    excluded: i64,
    name: Option<String>,
    url_prefix: Option<i64>,
    count: i64,
}

/// A row after ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ranked {
    partition: Option<i64>,
    excluded: bool,
    name: Option<String>,
    url_prefix: Option<i64>,
    count: i64,
    others: bool,
}

/// Matomo's `RankingQuery` over rows already in rank order: each listed
/// partition numbers its rows from 1; the row numbered `limit + 1` and all
/// after it share that number and are summed into one row labelled
/// `Others`. Excluded rows (numbered `-excluded`) and rows of unlisted
/// partitions (numbered 0) are summed by number too. The result is in
/// number order, ties in first-seen order.
fn rank(rows: Vec<Rankable>, limit: i64, partitions: &[i64]) -> Vec<Ranked> {
    let top = limit.saturating_add(1);
    let mut counters: BTreeMap<i64, i64> = partitions.iter().map(|p| (*p, 0)).collect();
    // (number, partition) → position in `out`.
    let mut groups: Vec<((i64, Option<i64>), Ranked)> = Vec::new();
    for row in rows {
        let number = if row.excluded != 0 {
            -row.excluded
        } else {
            match row.partition.and_then(|p| counters.get_mut(&p)) {
                Some(counter) if *counter == top => top,
                Some(counter) => {
                    *counter += 1;
                    *counter
                }
                None => 0,
            }
        };
        let key = (number, row.partition);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.count += row.count,
            None => {
                let others = number == top;
                groups.push((
                    key,
                    Ranked {
                        partition: row.partition,
                        excluded: row.excluded != 0,
                        name: if others {
                            Some(OTHERS.to_owned())
                        } else {
                            row.name
                        },
                        url_prefix: if others { None } else { row.url_prefix },
                        count: row.count,
                        others,
                    },
                ));
            }
        }
    }
    groups.sort_by_key(|((number, _), _)| *number);
    groups.into_iter().map(|(_, ranked)| ranked).collect()
}

/// A Transitions table: rows of `label` and `referrals`.
fn referrals_table(rows: &[(String, i64)]) -> Tree {
    let table = DataTable::from_rows(
        rows.iter()
            .map(|(label, count)| Row::new(label.clone()).with("referrals", *count)),
    );
    Tree::Report(Box::new(Report::Table(table)))
}

/// `getPageLabel`: a title (or "Page Name not defined"), an outlink or
/// download URL with its scheme put back, or the name as stored.
fn page_label(row: &Ranked, action_type: i64) -> String {
    let name = row.name.clone().unwrap_or_default();
    if row.others {
        return name;
    }
    match action_type {
        action_type::PAGE_TITLE if name.is_empty() => PAGE_NAME_NOT_DEFINED.to_owned(),
        action_type::OUTLINK | action_type::DOWNLOAD => reconstruct_url(
            &name,
            row.url_prefix.and_then(|prefix| u8::try_from(prefix).ok()),
        ),
        _ => name,
    }
}

/// The answer's parts, filled in Matomo's order.
#[derive(Default)]
struct Answer {
    entries: Vec<(String, Tree)>,
    metrics: Vec<(String, Tree)>,
}

impl Answer {
    fn metric(&mut self, name: &str, value: i64) {
        self.metrics.push((name.to_owned(), Tree::Int(value)));
    }

    /// Puts `pageMetrics` where Matomo's array first got it.
    fn ensure_metrics_slot(&mut self) {
        if !self.entries.iter().any(|(key, _)| key == "pageMetrics") {
            self.entries.push(("pageMetrics".to_owned(), Tree::Null));
        }
    }

    fn into_tree(mut self) -> Tree {
        let metrics = std::mem::take(&mut self.metrics);
        for (key, value) in &mut self.entries {
            if key == "pageMetrics" {
                *value = Tree::Assoc(metrics.clone());
            }
        }
        Tree::Assoc(self.entries)
    }
}

fn build(
    conn: &mut MysqlConnection,
    query: &Query<'_>,
    parts: &str,
) -> Result<Tree, ReportingError> {
    let all = parts == "all";
    let listed: Vec<&str> = parts.split(',').collect();
    let wants = |part: &str| all || listed.contains(&part);
    let mut answer = Answer::default();
    answer.entries.push((
        "date".to_owned(),
        Tree::Str(period_short_string(&query.period)),
    ));
    let mut pageviews = 0;
    let mut loops = 0;
    if wants("internalReferrers") {
        let internal = internal_referrers(conn, query)?;
        if internal.pageviews == 0 {
            return Err(no_data());
        }
        answer
            .entries
            .push(("previousPages".to_owned(), referrals_table(&internal.pages)));
        answer.entries.push((
            "previousSiteSearches".to_owned(),
            referrals_table(&internal.searches),
        ));
        answer.ensure_metrics_slot();
        answer.metric("loops", internal.loops);
        answer.metric("pageviews", internal.pageviews);
        pageviews = internal.pageviews;
        loops = internal.loops;
    }
    let mut to_following = 0;
    if wants("followingActions") {
        let include_loops = !all && !listed.contains(&"internalReferrers");
        let following = following_actions(conn, query, include_loops)?;
        to_following = following.to_following;
        for (name, table) in following.tables {
            answer
                .entries
                .push((name.to_owned(), referrals_table(&table)));
        }
    }
    if wants("externalReferrers") {
        let (entries, referrers) = external_referrers(conn, query)?;
        answer.ensure_metrics_slot();
        answer.metric("entries", entries);
        answer.entries.push(("referrers".to_owned(), referrers));
    }
    if all {
        answer.metric("exits", pageviews - to_following - loops);
    }
    Ok(answer.into_tree())
}

struct Internal {
    pages: Vec<(String, i64)>,
    searches: Vec<(String, i64)>,
    loops: i64,
    pageviews: i64,
}

/// `queryInternalReferrers`.
fn internal_referrers(
    conn: &mut MysqlConnection,
    query: &Query<'_>,
) -> Result<Internal, ReportingError> {
    const OTHER: i64 = 0;
    const PAGE: i64 = 1;
    const SEARCH: i64 = 2;
    let column = query.kind.column();
    let id = query.idaction;
    // The previous action: its URL, or its name when it was a site search
    // (stored without URL). Titles go by the previous title.
    let dimension = match query.kind {
        Kind::Url => "IF(log_link_visit_action.idaction_url_ref IS NULL, \
                      log_link_visit_action.idaction_name_ref, \
                      log_link_visit_action.idaction_url_ref)"
            .to_owned(),
        Kind::Title => "log_link_visit_action.idaction_name_ref".to_owned(),
    };
    // `id` is our own integer, not request text.
    let head = format!(
        "SELECT /* Transitions.internalReferrers */ MIN(log_action.name) AS name, \
         CAST(MIN(log_action.url_prefix) AS SIGNED) AS url_prefix, \
         CAST(MAX(CASE WHEN log_link_visit_action.idaction_{column}_ref = {id} THEN 1 ELSE 0 END) \
         AS SIGNED) AS is_self, \
         CAST(MIN(CASE WHEN log_action.type = {main} THEN {PAGE} \
         WHEN log_action.type = {search} THEN {SEARCH} ELSE {OTHER} END) AS SIGNED) AS `partition`, \
         COUNT(*) AS hits \
         FROM log_link_visit_action AS log_link_visit_action \
         LEFT JOIN log_action AS log_action ON log_action.idaction = {dimension}",
        main = query.kind.page_type(),
        search = action_type::SITE_SEARCH,
    );
    let rows: Vec<ActionRow> = query.run(
        conn,
        "log_link_visit_action",
        "server_time",
        &head,
        &format!("log_link_visit_action.idaction_{column} = {id}"),
        &format!("GROUP BY {dimension} ORDER BY hits DESC, name, {dimension}"),
    )?;
    let ranked = rank(
        rows.into_iter()
            .map(|row| Rankable {
                partition: row.partition,
                excluded: row.is_self,
                name: row.name,
                url_prefix: row.url_prefix,
                count: row.hits,
            })
            .collect(),
        query.limit,
        &[OTHER, PAGE, SEARCH],
    );
    let mut internal = Internal {
        pages: Vec::new(),
        searches: Vec::new(),
        loops: 0,
        pageviews: 0,
    };
    // Matomo reads the first excluded row only (there is one: the page).
    if let Some(row) = ranked.iter().find(|row| row.excluded) {
        internal.loops = row.count;
    }
    for row in ranked.iter().filter(|row| !row.excluded) {
        match row.partition {
            Some(PAGE) => internal
                .pages
                .push((page_label(row, action_type::PAGE_URL), row.count)),
            Some(SEARCH) => internal
                .searches
                .push((row.name.clone().unwrap_or_default(), row.count)),
            _ => {}
        }
        internal.pageviews += row.count;
    }
    internal.pageviews += internal.loops;
    Ok(internal)
}

struct Following {
    tables: Vec<(&'static str, Vec<(String, i64)>)>,
    /// Transitions to following pages and site searches (outlinks and
    /// downloads count as exits).
    to_following: i64,
}

/// `queryFollowingActions`.
fn following_actions(
    conn: &mut MysqlConnection,
    query: &Query<'_>,
    include_loops: bool,
) -> Result<Following, ReportingError> {
    let column = query.kind.column();
    let id = query.idaction;
    let page_type = query.kind.page_type();
    let (dimension, head) = match query.kind {
        Kind::Url => {
            // A following site search has no URL: its name is the action.
            let dimension = "IF(log_link_visit_action.idaction_url IS NULL, \
                             log_link_visit_action.idaction_name, \
                             log_link_visit_action.idaction_url)"
                .to_owned();
            let head = format!(
                "SELECT /* Transitions.followingActions */ MIN(log_action.name) AS name, \
                 CAST(MIN(log_action.url_prefix) AS SIGNED) AS url_prefix, \
                 CAST(MIN(log_action.type) AS SIGNED) AS `partition`, 0 AS is_self, \
                 COUNT(*) AS hits \
                 FROM log_link_visit_action AS log_link_visit_action \
                 LEFT JOIN log_action AS log_action ON log_action.idaction = {dimension}"
            );
            (dimension, head)
        }
        Kind::Title => {
            // A following page view goes by its title, a site search by its
            // keyword, an outlink or download by its URL.
            let pick = |field: &str| {
                format!(
                    "CASE WHEN log_link_visit_action.idaction_url IS NULL THEN log_action2.{field} \
                     WHEN log_action1.type = {url} THEN log_action2.{field} \
                     ELSE log_action1.{field} END",
                    url = action_type::PAGE_URL
                )
            };
            let dimension = pick("idaction");
            let head = format!(
                "SELECT /* Transitions.followingActions */ MIN({name}) AS name, \
                 CAST(NULL AS SIGNED) AS url_prefix, CAST(MIN({ty}) AS SIGNED) AS `partition`, \
                 0 AS is_self, COUNT(*) AS hits \
                 FROM log_link_visit_action AS log_link_visit_action \
                 LEFT JOIN log_action AS log_action1 \
                 ON log_action1.idaction = log_link_visit_action.idaction_url \
                 LEFT JOIN log_action AS log_action2 \
                 ON log_action2.idaction = log_link_visit_action.idaction_name",
                name = pick("name"),
                ty = pick("type"),
            );
            (dimension, head)
        }
    };
    let mut where_sql = format!("log_link_visit_action.idaction_{column}_ref = {id}");
    if !include_loops {
        where_sql.push_str(&format!(
            " AND (log_link_visit_action.idaction_{column} IS NULL \
             OR log_link_visit_action.idaction_{column} != {id})"
        ));
    }
    let rows: Vec<ActionRow> = query.run(
        conn,
        "log_link_visit_action",
        "server_time",
        &head,
        &where_sql,
        &format!("GROUP BY {dimension} ORDER BY hits DESC, name, {dimension}"),
    )?;
    let types = [
        (page_type, "followingPages"),
        (action_type::SITE_SEARCH, "followingSiteSearches"),
        (action_type::OUTLINK, "outlinks"),
        (action_type::DOWNLOAD, "downloads"),
    ];
    let partitions: Vec<i64> = types.iter().map(|(ty, _)| *ty).collect();
    let ranked = rank(
        rows.into_iter()
            .map(|row| Rankable {
                partition: row.partition,
                excluded: 0,
                name: row.name,
                url_prefix: row.url_prefix,
                count: row.hits,
            })
            .collect(),
        query.limit,
        &partitions,
    );
    let mut following = Following {
        tables: Vec::new(),
        to_following: 0,
    };
    for (ty, name) in types {
        let rows: Vec<(String, i64)> = ranked
            .iter()
            .filter(|row| row.partition == Some(ty))
            .map(|row| (page_label(row, ty), row.count))
            .collect();
        if ty == page_type || ty == action_type::SITE_SEARCH {
            following.to_following += rows.iter().map(|(_, count)| count).sum::<i64>();
        }
        following.tables.push((name, rows));
    }
    Ok(following)
}

/// `queryExternalReferrers` and `addExternalReferrers`: the entries and
/// the `referrers` list.
fn external_referrers(
    conn: &mut MysqlConnection,
    query: &Query<'_>,
) -> Result<(i64, Tree), ReportingError> {
    let column = query.kind.column();
    let id = query.idaction;
    // One column per referrer: the search engine, social network, website
    // URL, or campaign name and keyword.
    let data = "CASE log_visit.referer_type \
                WHEN 1 THEN '' \
                WHEN 2 THEN log_visit.referer_name \
                WHEN 7 THEN log_visit.referer_name \
                WHEN 3 THEN log_visit.referer_url \
                WHEN 6 THEN CONCAT(log_visit.referer_name, ' ', log_visit.referer_keyword) END";
    let head = format!(
        "SELECT /* Transitions.externalReferrers */ {data} AS referrer_data, \
         CAST(log_visit.referer_type AS SIGNED) AS referer_type, COUNT(*) AS visits \
         FROM log_visit AS log_visit"
    );
    let rows: Vec<ReferrerRow> = query.run(
        conn,
        "log_visit",
        "visit_last_action_time",
        &head,
        &format!("log_visit.visit_entry_idaction_{column} = {id}"),
        "GROUP BY referrer_data, log_visit.referer_type ORDER BY visits DESC, referrer_data",
    )?;
    let partitions: Vec<i64> = REFERRER_TYPES.iter().map(|(ty, _, _)| *ty).collect();
    let ranked = rank(
        rows.into_iter()
            .map(|row| Rankable {
                partition: Some(row.referer_type),
                excluded: 0,
                name: row.referrer_data,
                url_prefix: None,
                count: row.visits,
            })
            .collect(),
        query.limit,
        &partitions,
    );
    let mut entries = 0;
    let mut referrers = Vec::new();
    for (ty, short_name, label) in REFERRER_TYPES {
        let rows: Vec<&Ranked> = ranked
            .iter()
            .filter(|row| row.partition == Some(ty))
            .collect();
        let visits: i64 = rows.iter().map(|row| row.count).sum();
        if visits == 0 {
            continue;
        }
        // Details by label (a later row with the same label replaces an
        // earlier one's count, as Matomo's array does).
        let mut details: Vec<(String, i64)> = Vec::new();
        for row in rows {
            let mut text = row.name.clone().unwrap_or_default();
            if ty == 2 && php_empty(&text) {
                text = "Unknown".to_owned();
            }
            if php_empty(&text) {
                continue;
            }
            match details.iter_mut().find(|(known, _)| *known == text) {
                Some((_, count)) => *count = row.count,
                None => details.push((text, row.count)),
            }
        }
        referrers.push(Tree::Assoc(vec![
            ("label".to_owned(), Tree::Str(label.to_owned())),
            ("shortName".to_owned(), Tree::Str(short_name.to_owned())),
            ("visits".to_owned(), Tree::Int(visits)),
            (
                "details".to_owned(),
                Tree::List(
                    details
                        .into_iter()
                        .map(|(label, count)| {
                            Tree::Assoc(vec![
                                ("label".to_owned(), Tree::Str(label)),
                                ("referrals".to_owned(), Tree::Int(count)),
                            ])
                        })
                        .collect(),
                ),
            ),
        ]));
        entries += visits;
    }
    if referrers.is_empty() {
        // Matomo's placeholder, whose `shortName` is the translated type.
        referrers.push(Tree::Assoc(vec![
            ("label".to_owned(), Tree::Str("Direct entries".to_owned())),
            ("shortName".to_owned(), Tree::Str("Direct Entry".to_owned())),
            ("visits".to_owned(), Tree::Int(0)),
        ]));
    }
    Ok((entries, Tree::List(referrers)))
}

/// PHP's `empty()` of a string: `""` or `"0"`.
fn php_empty(text: &str) -> bool {
    text.is_empty() || text == "0"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(partition: i64, name: &str, count: i64) -> Rankable {
        Rankable {
            partition: Some(partition),
            excluded: 0,
            name: Some(name.to_owned()),
            url_prefix: None,
            count,
        }
    }

    fn labels(ranked: &[Ranked]) -> Vec<(Option<i64>, String, i64)> {
        ranked
            .iter()
            .map(|r| (r.partition, r.name.clone().unwrap_or_default(), r.count))
            .collect()
    }

    #[test]
    fn ranking_keeps_the_limit_per_partition_and_sums_the_rest() {
        let rows = vec![
            row(1, "a", 5),
            row(2, "x", 4),
            row(1, "b", 3),
            row(1, "c", 2),
            row(1, "d", 1),
            row(2, "y", 1),
        ];
        let ranked = rank(rows, 2, &[1, 2]);
        assert_eq!(
            labels(&ranked),
            [
                (Some(1), "a".to_owned(), 5),
                (Some(2), "x".to_owned(), 4),
                (Some(1), "b".to_owned(), 3),
                (Some(2), "y".to_owned(), 1),
                (Some(1), "Others".to_owned(), 3),
            ]
        );
    }

    #[test]
    fn one_row_past_the_limit_is_still_others() {
        let ranked = rank(vec![row(1, "a", 2), row(1, "b", 1)], 1, &[1]);
        assert_eq!(
            labels(&ranked),
            [
                (Some(1), "a".to_owned(), 2),
                (Some(1), "Others".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn minus_one_groups_everything_and_lower_limits_nothing() {
        let rows = || vec![row(1, "a", 2), row(1, "b", 1)];
        assert_eq!(
            labels(&rank(rows(), -1, &[1])),
            [(Some(1), "Others".to_owned(), 3)]
        );
        assert_eq!(
            labels(&rank(rows(), -2, &[1])),
            [(Some(1), "a".to_owned(), 2), (Some(1), "b".to_owned(), 1)]
        );
    }

    #[test]
    fn excluded_rows_and_unlisted_partitions_are_summed_apart() {
        let mut looped = row(1, "self", 4);
        looped.excluded = 1;
        let ranked = rank(
            vec![row(9, "z", 3), looped, row(1, "a", 2), row(9, "w", 1)],
            5,
            &[1],
        );
        assert_eq!(
            labels(&ranked),
            [
                (Some(1), "self".to_owned(), 4),
                (Some(9), "z".to_owned(), 4),
                (Some(1), "a".to_owned(), 2),
            ]
        );
        assert!(ranked[0].excluded);
    }

    #[test]
    fn urls_lose_scheme_and_www() {
        assert_eq!(
            strip_url_prefix("HTTPS://WWW.example.org/a"),
            "example.org/a"
        );
        assert_eq!(strip_url_prefix("http://example.org/"), "example.org/");
        assert_eq!(strip_url_prefix("example.org/www."), "example.org/www.");
        assert_eq!(strip_url_prefix("ftp://x"), "ftp://x");
    }

    #[test]
    fn max_period_allowed_follows_matomo() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let mut config = ReportingConfig::default();
        let allowed = |config: &ReportingConfig, period: &str, date: &str| {
            period_allowed(config, "1", period, date, now).expect("valid")
        };
        assert!(allowed(&config, "year", "2012-08-09"));
        config.transitions_max_period_allowed = MaxPeriodAllowed::Week;
        assert!(allowed(&config, "week", "2012-08-09"));
        assert!(!allowed(&config, "month", "2012-08-09"));
        assert!(allowed(&config, "range", "2012-08-09,2012-08-15"));
        assert!(!allowed(&config, "range", "2012-08-09,2012-08-16"));
        // The site's setting wins.
        config
            .transitions_max_period_allowed_by_site
            .insert("1".to_owned(), MaxPeriodAllowed::Day);
        assert!(!allowed(&config, "week", "2012-08-09"));
        assert!(allowed(&config, "range", "2012-08-09,2012-08-09"));
        assert!(!period_allowed(&config, "1", "range", "2012-08-09,2012-08-10", now).expect("ok"));
        assert!(period_allowed(&config, "2", "week", "2012-08-09", now).expect("ok"));
    }
}
