//! Reading the log tables for one site and one period (`LogAggregator`).
//!
//! Two ways in, as DESIGN.md section 4 plans:
//! - Matomo-style GROUP BY helpers (`query_*_by_dimension`): one query per
//!   report, the database does the grouping. Dimensions are SQL
//!   expressions of type `&'static str`, so only expressions written in the
//!   code can be placed in the SQL; the site and the period bounds are
//!   always bound parameters.
//! - Shared scans ([`scan_visits`], [`scan_actions`]): each log table of the
//!   period is read once into compact rows that every builder of the
//!   archive folds in memory, so a day costs a few scans, not one query
//!   per report.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use diesel::connection::DefaultLoadingMode;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Binary, Datetime, Double, Integer, Nullable, Text, Unsigned};
use tally_schema::ActionType;
use tally_schema::schema::{log_action, log_link_visit_action, log_visit};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::ArchiveError;
use crate::grouping::general_ci_key;
use crate::segment::{Segment, SegmentSql};

/// The log rows of one site between two UTC instants `[start, end)`,
/// optionally restricted to the visits of a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct LogAggregator {
    idsite: u32,
    start: PrimitiveDateTime,
    end: PrimitiveDateTime,
    /// The segment's SQL, shared by the copies builders take.
    segment: Option<Arc<SegmentSql>>,
}

/// Whose rows a query reads: visits themselves, or rows of another log
/// table that belong to visits (through `<alias>.idvisit`).
#[derive(Debug, Clone, Copy)]
enum RowsOf {
    Visits,
    VisitRowsOf(&'static str),
}

/// The names and the values of the five custom variable slots, as
/// selected from `log_visit` or `log_link_visit_action` (`sql` is diesel's
/// SQL literal: the schema module leaves these columns out, a plugin's in
/// Matomo).
macro_rules! custom_var_columns {
    () => {
        (
            (
                sql::<Nullable<Text>>("custom_var_k1"),
                sql::<Nullable<Text>>("custom_var_k2"),
                sql::<Nullable<Text>>("custom_var_k3"),
                sql::<Nullable<Text>>("custom_var_k4"),
                sql::<Nullable<Text>>("custom_var_k5"),
            ),
            (
                sql::<Nullable<Text>>("custom_var_v1"),
                sql::<Nullable<Text>>("custom_var_v2"),
                sql::<Nullable<Text>>("custom_var_v3"),
                sql::<Nullable<Text>>("custom_var_v4"),
                sql::<Nullable<Text>>("custom_var_v5"),
            ),
        )
    };
}

/// Five nullable texts: one column per custom variable slot.
type Slots = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// What [`custom_var_columns`] reads: the names, then the values.
type SlotPair = (Slots, Slots);

/// Up to this many dimensions per GROUP BY helper (Referrers groups on
/// type, name, keyword and URL, and sums the groups that share a label).
pub const MAX_DIMENSIONS: usize = 6;

/// One group of [`LogAggregator::query_visits_by_dimension`]: the labels
/// (one per dimension, `None` for SQL NULL) and the 8 visit metrics of
/// MATOMO.md section 7.4.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitGroup {
    /// The dimension values.
    pub labels: Vec<Option<String>>,
    /// `nb_uniq_visitors` (COUNT DISTINCT idvisitor).
    pub nb_uniq_visitors: u64,
    /// `nb_visits`.
    pub nb_visits: u64,
    /// `nb_actions` (SUM visit_total_actions).
    pub nb_actions: u64,
    /// `nb_users` (COUNT DISTINCT user_id).
    pub nb_users: u64,
    /// `max_actions`.
    pub max_actions: u64,
    /// `sum_visit_length` (seconds).
    pub sum_visit_length: u64,
    /// `bounce_count` (visits with at most one action).
    pub bounce_count: u64,
    /// `nb_visits_converted`.
    pub nb_visits_converted: u64,
}

/// Up to this many values per [`LogAggregator::query_max_by_dimension`].
pub const MAX_VALUES: usize = 2;

/// One group of [`LogAggregator::query_max_by_dimension`]: the labels and
/// the largest value of each value expression (`None` when all are NULL).
#[derive(Debug, Clone, PartialEq)]
pub struct MaxGroup {
    /// The dimension values.
    pub labels: Vec<Option<String>>,
    /// MAX of each value expression, in the order they were asked for.
    pub maxima: Vec<Option<f64>>,
}

/// One group of [`LogAggregator::query_actions_by_dimension`].
#[derive(Debug, Clone, PartialEq)]
pub struct ActionGroup {
    /// The dimension values.
    pub labels: Vec<Option<String>>,
    /// `nb_visits` (COUNT DISTINCT idvisit).
    pub nb_visits: u64,
    /// `nb_uniq_visitors` (COUNT DISTINCT idvisitor).
    pub nb_uniq_visitors: u64,
    /// `nb_hits` (COUNT).
    pub nb_hits: u64,
}

/// One group of [`LogAggregator::query_conversions_by_dimension`]: the
/// conversion metrics of one goal for one label combination.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionGroup {
    /// The dimension values.
    pub labels: Vec<Option<String>>,
    /// The goal (0 = ecommerce order, -1 = abandoned cart).
    pub idgoal: i32,
    /// `nb_conversions`.
    pub nb_conversions: u64,
    /// `nb_visits_converted` (COUNT DISTINCT idvisit).
    pub nb_visits_converted: u64,
    /// `revenue`, rounded to 2 decimals.
    pub revenue: f64,
    /// `revenue_subtotal`.
    pub revenue_subtotal: f64,
    /// `revenue_tax`.
    pub revenue_tax: f64,
    /// `revenue_shipping`.
    pub revenue_shipping: f64,
    /// `revenue_discount`.
    pub revenue_discount: f64,
    /// `items`.
    pub items: u64,
}

/// One group of [`LogAggregator::query_conversions_by_page_view`]: the
/// conversions of one goal in one visit, and the page views of one action
/// that came before them (Matomo's `queryConversionsByPageView` row).
#[derive(Debug, Clone, PartialEq)]
pub struct PageConversionGroup {
    /// The goal (0 = ecommerce order, -1 = abandoned cart).
    pub idgoal: i32,
    /// The page URL (type 1) or page title (type 4) action.
    pub idaction: u32,
    /// Pairs of a conversion and a view of the page before it (Matomo's
    /// `nb_conversions` and `nb_conversions_page_uniq`, both `COUNT(*)`).
    pub count: u64,
    /// `ROUND(SUM(revenue), 2)` over those pairs.
    pub revenue: f64,
    /// The conversions' `pageviews_before` (the largest, where Matomo's
    /// bare column in a GROUP BY yields any of them); `None` when NULL.
    pub pages_before: Option<u64>,
    /// `SUM(ROUND(1 / pageviews_before, 4))`; `None` when every
    /// `pageviews_before` is NULL or 0.
    pub conversions_attrib: Option<f64>,
    /// `ROUND(SUM(1 / pageviews_before * revenue), 2)`.
    pub revenue_attrib: Option<f64>,
}

/// One group of [`LogAggregator::query_conversions_by_entry_page`]: the
/// conversions of one goal by visits that entered on one action.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryConversionGroup {
    /// The goal (0 or above: abandoned carts are left out).
    pub idgoal: i32,
    /// The visits' entry action (URL or title).
    pub idaction: u32,
    /// `log_action.type` of that action.
    pub action_type: i32,
    /// `COUNT(*)`: the conversions (`nb_conversions_entry`).
    pub conversions: u64,
    /// `ROUND(SUM(revenue), 2)` (`revenue_entry`).
    pub revenue: f64,
}

/// One group of [`LogAggregator::query_ecommerce_items`].
#[derive(Debug, Clone, PartialEq)]
pub struct ItemGroup {
    /// The label (the item column's action name).
    pub label: Option<String>,
    /// 0 for orders, -1 for abandoned carts.
    pub idgoal: i32,
    /// Item revenue: ROUND(SUM(quantity * price), 2).
    pub revenue: f64,
    /// SUM(quantity).
    pub quantity: u64,
    /// SUM(price).
    pub price: f64,
    /// Orders (COUNT DISTINCT idorder) or, for carts, visits.
    pub orders: u64,
}

#[derive(QueryableByName)]
struct Labels {
    #[diesel(sql_type = Nullable<Text>)]
    label_0: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    label_1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    label_2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    label_3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    label_4: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    label_5: Option<String>,
}

impl Labels {
    fn take(self, n: usize) -> Vec<Option<String>> {
        [
            self.label_0,
            self.label_1,
            self.label_2,
            self.label_3,
            self.label_4,
            self.label_5,
        ]
        .into_iter()
        .take(n)
        .collect()
    }
}

fn label_select(dimensions: &[&'static str]) -> Result<String, ArchiveError> {
    if dimensions.len() > MAX_DIMENSIONS {
        return Err(ArchiveError::Builder(format!(
            "at most {MAX_DIMENSIONS} dimensions per query, got {}",
            dimensions.len()
        )));
    }
    let mut parts = Vec::with_capacity(MAX_DIMENSIONS);
    for i in 0..MAX_DIMENSIONS {
        match dimensions.get(i) {
            Some(expression) => parts.push(format!("CAST(({expression}) AS CHAR) AS label_{i}")),
            None => parts.push(format!("CAST(NULL AS CHAR) AS label_{i}")),
        }
    }
    Ok(parts.join(", "))
}

/// GROUP BY the label columns (positions 1..=n of the select list) and one
/// more expression.
fn group_by_with(dimensions: &[&'static str], extra: &'static str) -> String {
    let mut parts: Vec<String> = (1..=dimensions.len()).map(|i| i.to_string()).collect();
    parts.push(extra.to_owned());
    format!(" GROUP BY {}", parts.join(", "))
}

fn group_by(dimensions: &[&'static str]) -> String {
    if dimensions.is_empty() {
        String::new()
    } else {
        let positions: Vec<String> = (1..=dimensions.len()).map(|i| i.to_string()).collect();
        format!(" GROUP BY {}", positions.join(", "))
    }
}

impl LogAggregator {
    /// The logs of `idsite` in `[start, end)` (unix seconds, UTC).
    ///
    /// # Errors
    /// [`ArchiveError::InvalidPeriod`] for bounds outside what DATETIME holds.
    pub fn new(idsite: u32, start: i64, end: i64) -> Result<Self, ArchiveError> {
        let to_datetime = |unix: i64| {
            OffsetDateTime::from_unix_timestamp(unix)
                .map(|t| PrimitiveDateTime::new(t.date(), t.time()))
                .map_err(|_| ArchiveError::InvalidPeriod(format!("unix time {unix} out of range")))
        };
        Ok(Self {
            idsite,
            start: to_datetime(start)?,
            end: to_datetime(end)?,
            segment: None,
        })
    }

    /// The same logs restricted to the visits of `segment` (no restriction
    /// for the empty segment). Every query and scan then reads only the
    /// segment's visits and the actions, conversions and items of those
    /// visits, action reports included: Matomo's archiving does the same
    /// (its default segment cache joins every report query to the ids of
    /// the segment's visits), see the `segment` module documentation.
    #[must_use]
    pub fn with_segment(mut self, segment: &Segment) -> Self {
        self.segment = (!segment.is_empty()).then(|| Arc::new(segment.to_sql()));
        self
    }

    /// Whether a segment restricts these logs.
    pub fn is_segmented(&self) -> bool {
        self.segment.is_some()
    }

    /// The condition to AND into a query's `WHERE` that keeps the
    /// segment's rows; empty without a segment. Its values are bound by
    /// [`LogAggregator::bind_segment`] after the query's own.
    fn segment_filter(&self, rows: RowsOf) -> String {
        match (&self.segment, rows) {
            (None, _) => String::new(),
            (Some(sql), RowsOf::Visits) => format!(" AND ({})", sql.where_sql),
            // A visit with an action in the period ended at or after the
            // period's start: the bound keeps the subquery on the index.
            (Some(sql), RowsOf::VisitRowsOf(alias)) => format!(
                " AND {alias}.idvisit IN (SELECT log_visit.idvisit FROM log_visit AS log_visit \
                 WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? AND ({}))",
                sql.where_sql
            ),
        }
    }

    /// Binds the values of [`LogAggregator::segment_filter`].
    fn bind_segment<'f>(
        &'f self,
        query: BoxedSqlQuery<'f, Mysql, SqlQuery>,
        rows: RowsOf,
    ) -> BoxedSqlQuery<'f, Mysql, SqlQuery> {
        let Some(sql) = &self.segment else {
            return query;
        };
        let query = match rows {
            RowsOf::Visits => query,
            RowsOf::VisitRowsOf(_) => query
                .bind::<Unsigned<Integer>, _>(self.idsite)
                .bind::<Datetime, _>(self.start),
        };
        sql.apply_binds(query)
    }

    /// `sql` with the site and the period bounds bound to its first three
    /// `?` (`idsite`, start, end, in that order), then the segment's
    /// values (the SQL holds [`LogAggregator::segment_filter`] of `rows`
    /// after those three).
    fn period_query(&self, sql: String, rows: RowsOf) -> BoxedSqlQuery<'_, Mysql, SqlQuery> {
        let query = diesel::sql_query(sql)
            .into_boxed()
            .bind::<Unsigned<Integer>, _>(self.idsite)
            .bind::<Datetime, _>(self.start)
            .bind::<Datetime, _>(self.end);
        self.bind_segment(query, rows)
    }

    /// The ids of the segment's visits that may have rows in the period
    /// (their last action at or after its start), for the scans; `None`
    /// without a segment.
    fn segment_visit_ids(
        &self,
        conn: &mut MysqlConnection,
    ) -> Result<Option<HashSet<u64>>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = Unsigned<BigInt>)]
            idvisit: u64,
        }
        if self.segment.is_none() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT log_visit.idvisit AS idvisit FROM log_visit AS log_visit \
             WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ?{}",
            self.segment_filter(RowsOf::Visits)
        );
        let query = diesel::sql_query(sql)
            .into_boxed()
            .bind::<Unsigned<Integer>, _>(self.idsite)
            .bind::<Datetime, _>(self.start);
        let ids: Vec<Id> = self.bind_segment(query, RowsOf::Visits).load(conn)?;
        Ok(Some(ids.into_iter().map(|id| id.idvisit).collect()))
    }

    /// The site.
    pub fn idsite(&self) -> u32 {
        self.idsite
    }

    /// The first instant (UTC).
    pub fn start(&self) -> PrimitiveDateTime {
        self.start
    }

    /// The instant after the last one (UTC).
    pub fn end(&self) -> PrimitiveDateTime {
        self.end
    }

    /// Whether the site has a visit in the period (Matomo builds no
    /// archive content without one). Visits belong to the period of their
    /// last action.
    ///
    /// # Errors
    /// The query error.
    pub fn has_visits(&self, conn: &mut MysqlConnection) -> Result<bool, ArchiveError> {
        #[derive(QueryableByName)]
        struct Found {
            #[diesel(sql_type = Integer)]
            found: i32,
        }
        let sql = format!(
            "SELECT 1 AS found FROM log_visit AS log_visit \
             WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? \
               AND log_visit.visit_last_action_time < ?{} LIMIT 1",
            self.segment_filter(RowsOf::Visits)
        );
        let found: Option<Found> = self
            .period_query(sql, RowsOf::Visits)
            .get_result(conn)
            .optional()?;
        Ok(found.is_some_and(|row| row.found == 1))
    }

    /// `queryVisitsByDimension`: the 8 visit metrics per combination of
    /// `dimensions` (SQL expressions over `log_visit`), over the visits
    /// whose last action lies in the period. No dimension gives one group.
    ///
    /// # Errors
    /// [`ArchiveError::Builder`] beyond [`MAX_DIMENSIONS`], or the query error.
    pub fn query_visits_by_dimension(
        &self,
        conn: &mut MysqlConnection,
        dimensions: &[&'static str],
    ) -> Result<Vec<VisitGroup>, ArchiveError> {
        self.query_visits_by_dimension_where(conn, dimensions, None)
    }

    /// [`LogAggregator::query_visits_by_dimension`] over the visits that
    /// also satisfy `condition`, a fixed SQL expression over `log_visit`
    /// (Matomo's `$where`). A builder that ignores the rows without a value
    /// should say so here: the server then skips them instead of grouping
    /// them (a `COUNT(DISTINCT ...)` over a group of nearly every row).
    ///
    /// # Errors
    /// As [`LogAggregator::query_visits_by_dimension`].
    pub fn query_visits_by_dimension_where(
        &self,
        conn: &mut MysqlConnection,
        dimensions: &[&'static str],
        condition: Option<&'static str>,
    ) -> Result<Vec<VisitGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Metrics {
            #[diesel(embed)]
            labels: Labels,
            #[diesel(sql_type = BigInt)]
            nb_uniq_visitors: i64,
            #[diesel(sql_type = BigInt)]
            nb_visits: i64,
            #[diesel(sql_type = BigInt)]
            nb_actions: i64,
            #[diesel(sql_type = BigInt)]
            nb_users: i64,
            #[diesel(sql_type = BigInt)]
            max_actions: i64,
            #[diesel(sql_type = BigInt)]
            sum_visit_length: i64,
            #[diesel(sql_type = BigInt)]
            bounce_count: i64,
            #[diesel(sql_type = BigInt)]
            nb_visits_converted: i64,
        }
        let sql = format!(
            "SELECT {labels}, \
               COUNT(DISTINCT log_visit.idvisitor) AS nb_uniq_visitors, \
               COUNT(*) AS nb_visits, \
               CAST(COALESCE(SUM(log_visit.visit_total_actions), 0) AS SIGNED) AS nb_actions, \
               COUNT(DISTINCT log_visit.user_id) AS nb_users, \
               CAST(COALESCE(MAX(log_visit.visit_total_actions), 0) AS SIGNED) AS max_actions, \
               CAST(COALESCE(SUM(log_visit.visit_total_time), 0) AS SIGNED) AS sum_visit_length, \
               CAST(COALESCE(SUM(CASE WHEN log_visit.visit_total_actions <= 1 THEN 1 ELSE 0 END), 0) AS SIGNED) AS bounce_count, \
               CAST(COALESCE(SUM(CASE WHEN log_visit.visit_goal_converted = 1 THEN 1 ELSE 0 END), 0) AS SIGNED) AS nb_visits_converted \
             FROM log_visit \
             WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? \
               AND log_visit.visit_last_action_time < ?{condition}{segment}{group}",
            condition = condition.map(|c| format!(" AND ({c})")).unwrap_or_default(),
            segment = self.segment_filter(RowsOf::Visits),
            labels = label_select(dimensions)?,
            group = group_by(dimensions),
        );
        let rows: Vec<Metrics> = self.period_query(sql, RowsOf::Visits).load(conn)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .into_iter()
            .filter(|row| row.nb_visits > 0)
            .map(|row| VisitGroup {
                labels: row.labels.take(dimensions.len()),
                nb_uniq_visitors: count(row.nb_uniq_visitors),
                nb_visits: count(row.nb_visits),
                nb_actions: count(row.nb_actions),
                nb_users: count(row.nb_users),
                max_actions: count(row.max_actions),
                sum_visit_length: count(row.sum_visit_length),
                bounce_count: count(row.bounce_count),
                nb_visits_converted: count(row.nb_visits_converted),
            })
            .collect())
    }

    /// `queryActionsByDimension`: visits, visitors and hits per combination
    /// of `dimensions` (SQL expressions over `log_link_visit_action`, which
    /// may name `log_action` joined on `join_on`, e.g.
    /// `log_link_visit_action.idaction_url`), over the actions whose
    /// `server_time` lies in the period.
    ///
    /// # Errors
    /// [`ArchiveError::Builder`] beyond [`MAX_DIMENSIONS`], or the query error.
    pub fn query_actions_by_dimension(
        &self,
        conn: &mut MysqlConnection,
        dimensions: &[&'static str],
        join_on: Option<&'static str>,
    ) -> Result<Vec<ActionGroup>, ArchiveError> {
        self.query_actions_by_dimension_where(conn, dimensions, join_on, None)
    }

    /// [`LogAggregator::query_actions_by_dimension`] over the actions that
    /// also satisfy `condition`, a fixed SQL expression over
    /// `log_link_visit_action` (Matomo's `$where`); see
    /// [`LogAggregator::query_visits_by_dimension_where`] for why.
    ///
    /// # Errors
    /// As [`LogAggregator::query_actions_by_dimension`].
    pub fn query_actions_by_dimension_where(
        &self,
        conn: &mut MysqlConnection,
        dimensions: &[&'static str],
        join_on: Option<&'static str>,
        condition: Option<&'static str>,
    ) -> Result<Vec<ActionGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Metrics {
            #[diesel(embed)]
            labels: Labels,
            #[diesel(sql_type = BigInt)]
            nb_visits: i64,
            #[diesel(sql_type = BigInt)]
            nb_uniq_visitors: i64,
            #[diesel(sql_type = BigInt)]
            nb_hits: i64,
        }
        let join = join_on
            .map(|column| format!(" JOIN log_action ON log_action.idaction = {column}"))
            .unwrap_or_default();
        let sql = format!(
            "SELECT {labels}, \
               COUNT(DISTINCT log_link_visit_action.idvisit) AS nb_visits, \
               COUNT(DISTINCT log_link_visit_action.idvisitor) AS nb_uniq_visitors, \
               COUNT(*) AS nb_hits \
             FROM log_link_visit_action{join} \
             WHERE log_link_visit_action.idsite = ? AND log_link_visit_action.server_time >= ? \
               AND log_link_visit_action.server_time < ?{condition}{segment}{group}",
            condition = condition.map(|c| format!(" AND ({c})")).unwrap_or_default(),
            segment = self.segment_filter(RowsOf::VisitRowsOf("log_link_visit_action")),
            labels = label_select(dimensions)?,
            group = group_by(dimensions),
        );
        let rows: Vec<Metrics> = self
            .period_query(sql, RowsOf::VisitRowsOf("log_link_visit_action"))
            .load(conn)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .into_iter()
            .filter(|row| row.nb_hits > 0)
            .map(|row| ActionGroup {
                labels: row.labels.take(dimensions.len()),
                nb_visits: count(row.nb_visits),
                nb_uniq_visitors: count(row.nb_uniq_visitors),
                nb_hits: count(row.nb_hits),
            })
            .collect())
    }

    /// `queryConversionsByDimension`: conversion metrics per goal and per
    /// combination of `dimensions` (SQL expressions over `log_conversion`),
    /// over the conversions whose `server_time` lies in the period.
    ///
    /// # Errors
    /// [`ArchiveError::Builder`] beyond [`MAX_DIMENSIONS`], or the query error.
    pub fn query_conversions_by_dimension(
        &self,
        conn: &mut MysqlConnection,
        dimensions: &[&'static str],
    ) -> Result<Vec<ConversionGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Metrics {
            #[diesel(embed)]
            labels: Labels,
            #[diesel(sql_type = Integer)]
            idgoal: i32,
            #[diesel(sql_type = BigInt)]
            nb_conversions: i64,
            #[diesel(sql_type = BigInt)]
            nb_visits_converted: i64,
            #[diesel(sql_type = Double)]
            revenue: f64,
            #[diesel(sql_type = Double)]
            revenue_subtotal: f64,
            #[diesel(sql_type = Double)]
            revenue_tax: f64,
            #[diesel(sql_type = Double)]
            revenue_shipping: f64,
            #[diesel(sql_type = Double)]
            revenue_discount: f64,
            #[diesel(sql_type = BigInt)]
            items: i64,
        }
        let sql = format!(
            "SELECT {labels}, log_conversion.idgoal AS idgoal, \
               COUNT(*) AS nb_conversions, \
               COUNT(DISTINCT log_conversion.idvisit) AS nb_visits_converted, \
               CAST(ROUND(COALESCE(SUM(log_conversion.revenue), 0), 2) AS DOUBLE) AS revenue, \
               CAST(ROUND(COALESCE(SUM(log_conversion.revenue_subtotal), 0), 2) AS DOUBLE) AS revenue_subtotal, \
               CAST(ROUND(COALESCE(SUM(log_conversion.revenue_tax), 0), 2) AS DOUBLE) AS revenue_tax, \
               CAST(ROUND(COALESCE(SUM(log_conversion.revenue_shipping), 0), 2) AS DOUBLE) AS revenue_shipping, \
               CAST(ROUND(COALESCE(SUM(log_conversion.revenue_discount), 0), 2) AS DOUBLE) AS revenue_discount, \
               CAST(COALESCE(SUM(log_conversion.items), 0) AS SIGNED) AS items \
             FROM log_conversion \
             WHERE log_conversion.idsite = ? AND log_conversion.server_time >= ? \
               AND log_conversion.server_time < ?{segment}{group}",
            segment = self.segment_filter(RowsOf::VisitRowsOf("log_conversion")),
            labels = label_select(dimensions)?,
            group = group_by_with(dimensions, "log_conversion.idgoal"),
        );
        let rows: Vec<Metrics> = self
            .period_query(sql, RowsOf::VisitRowsOf("log_conversion"))
            .load(conn)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .into_iter()
            .map(|row| ConversionGroup {
                labels: row.labels.take(dimensions.len()),
                idgoal: row.idgoal,
                nb_conversions: count(row.nb_conversions),
                nb_visits_converted: count(row.nb_visits_converted),
                revenue: row.revenue,
                revenue_subtotal: row.revenue_subtotal,
                revenue_tax: row.revenue_tax,
                revenue_shipping: row.revenue_shipping,
                revenue_discount: row.revenue_discount,
                items: count(row.items),
            })
            .collect())
    }

    /// `queryConversionsByPageView` for every goal of `goals` at once:
    /// per goal, converting visit and page URL (`by_title` false, action
    /// type 1) or page title (type 4), the pairs of a conversion of the
    /// period and a view of that page in the same visit at or before it
    /// (any earlier day included, as Matomo joins on the visit alone).
    /// Matomo runs one query per goal; grouping by the goal too gives the
    /// same groups in one.
    ///
    /// # Errors
    /// The query error.
    pub fn query_conversions_by_page_view(
        &self,
        conn: &mut MysqlConnection,
        by_title: bool,
        goals: &[i32],
    ) -> Result<Vec<PageConversionGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Metrics {
            #[diesel(sql_type = Integer)]
            idgoal: i32,
            #[diesel(sql_type = Unsigned<Integer>)]
            idaction: u32,
            #[diesel(sql_type = BigInt)]
            count: i64,
            #[diesel(sql_type = Double)]
            revenue: f64,
            #[diesel(sql_type = Nullable<BigInt>)]
            pages_before: Option<i64>,
            #[diesel(sql_type = Nullable<Double>)]
            conversions_attrib: Option<f64>,
            #[diesel(sql_type = Nullable<Double>)]
            revenue_attrib: Option<f64>,
        }
        if goals.is_empty() {
            return Ok(Vec::new());
        }
        let (field, action_type) = if by_title {
            ("idaction_name", ActionType::PageTitle)
        } else {
            ("idaction_url", ActionType::PageUrl)
        };
        // The goal ids are integers of the site's configuration, written
        // into the SQL as Matomo writes its one goal id.
        let goal_list = goals
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // `1 / pageviews_before` is a DECIMAL with 4 decimals in MySQL
        // (div_precision_increment), rounded before it multiplies the
        // revenue: the expressions are Matomo's, so are the roundings.
        let sql = format!(
            "SELECT log_conversion.idgoal AS idgoal, lac.idaction AS idaction, \
               COUNT(*) AS count, \
               CAST(ROUND(COALESCE(SUM(log_conversion.revenue), 0), 2) AS DOUBLE) AS revenue, \
               CAST(MAX(log_conversion.pageviews_before) AS SIGNED) AS pages_before, \
               CAST(SUM(ROUND(1 / log_conversion.pageviews_before, 4)) AS DOUBLE) AS conversions_attrib, \
               CAST(ROUND(SUM(1 / log_conversion.pageviews_before * log_conversion.revenue), 2) AS DOUBLE) AS revenue_attrib \
             FROM log_conversion \
             JOIN log_link_visit_action AS logva ON logva.idvisit = log_conversion.idvisit \
             JOIN log_action AS lac ON lac.idaction = logva.{field} \
             WHERE log_conversion.idsite = ? AND log_conversion.server_time >= ? \
               AND log_conversion.server_time < ?{segment} \
               AND log_conversion.idgoal IN ({goal_list}) \
               AND logva.server_time <= log_conversion.server_time \
               AND lac.type = {kind} \
             GROUP BY log_conversion.idgoal, log_conversion.idvisit, lac.idaction",
            segment = self.segment_filter(RowsOf::VisitRowsOf("log_conversion")),
            kind = action_type.code(),
        );
        let rows: Vec<Metrics> = self
            .period_query(sql, RowsOf::VisitRowsOf("log_conversion"))
            .load(conn)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .into_iter()
            .map(|row| PageConversionGroup {
                idgoal: row.idgoal,
                idaction: row.idaction,
                count: count(row.count),
                revenue: row.revenue,
                pages_before: row.pages_before.map(count),
                conversions_attrib: row.conversions_attrib,
                revenue_attrib: row.revenue_attrib,
            })
            .collect())
    }

    /// `queryConversionsByEntryPageView`: the conversions of the period
    /// (every goal id of 0 or more, configured or not, as Matomo) per goal
    /// and per entry URL (`by_title` false) or entry title of their
    /// visits.
    ///
    /// # Errors
    /// The query error.
    pub fn query_conversions_by_entry_page(
        &self,
        conn: &mut MysqlConnection,
        by_title: bool,
    ) -> Result<Vec<EntryConversionGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Metrics {
            #[diesel(sql_type = Integer)]
            idgoal: i32,
            #[diesel(sql_type = Unsigned<Integer>)]
            idaction: u32,
            #[diesel(sql_type = Integer)]
            action_type: i32,
            #[diesel(sql_type = BigInt)]
            conversions: i64,
            #[diesel(sql_type = Double)]
            revenue: f64,
        }
        let field = if by_title {
            "visit_entry_idaction_name"
        } else {
            "visit_entry_idaction_url"
        };
        let sql = format!(
            "SELECT log_conversion.idgoal AS idgoal, log_visit.{field} AS idaction, \
               CAST(log_action.type AS SIGNED) AS action_type, \
               COUNT(*) AS conversions, \
               CAST(ROUND(COALESCE(SUM(log_conversion.revenue), 0), 2) AS DOUBLE) AS revenue \
             FROM log_conversion \
             JOIN log_visit ON log_visit.idvisit = log_conversion.idvisit \
             JOIN log_action ON log_action.idaction = log_visit.{field} \
             WHERE log_conversion.idsite = ? AND log_conversion.server_time >= ? \
               AND log_conversion.server_time < ?{segment} \
               AND log_visit.{field} IS NOT NULL AND log_conversion.idgoal >= 0 \
             GROUP BY log_visit.{field}, log_conversion.idgoal",
            segment = self.segment_filter(RowsOf::VisitRowsOf("log_conversion")),
        );
        let rows: Vec<Metrics> = self
            .period_query(sql, RowsOf::VisitRowsOf("log_conversion"))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|row| EntryConversionGroup {
                idgoal: row.idgoal,
                idaction: row.idaction,
                action_type: row.action_type,
                conversions: u64::try_from(row.conversions).unwrap_or(0),
                revenue: row.revenue,
            })
            .collect())
    }

    /// `queryEcommerceItems`: item metrics per value of one item column
    /// (`idaction_sku`, `idaction_name`, `idaction_category`...) for orders
    /// (idgoal 0) and abandoned carts (idgoal -1), over the items whose
    /// `server_time` lies in the period; deleted items are left out.
    ///
    /// # Errors
    /// The query error.
    pub fn query_ecommerce_items(
        &self,
        conn: &mut MysqlConnection,
        item_column: EcommerceItemColumn,
    ) -> Result<Vec<ItemGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Metrics {
            #[diesel(sql_type = Nullable<Text>)]
            label: Option<String>,
            #[diesel(sql_type = Integer)]
            idgoal: i32,
            #[diesel(sql_type = Double)]
            revenue: f64,
            #[diesel(sql_type = BigInt)]
            quantity: i64,
            #[diesel(sql_type = Double)]
            price: f64,
            #[diesel(sql_type = BigInt)]
            orders: i64,
        }
        let column = item_column.column();
        // Orders count distinct order ids; carts have none and count visits.
        let sql = format!(
            "SELECT log_action.name AS label, \
               CAST(IF(i.idorder = '0', -1, 0) AS SIGNED) AS idgoal, \
               CAST(ROUND(COALESCE(SUM(i.quantity * i.price), 0), 2) AS DOUBLE) AS revenue, \
               CAST(COALESCE(SUM(i.quantity), 0) AS SIGNED) AS quantity, \
               CAST(ROUND(COALESCE(SUM(i.price), 0), 2) AS DOUBLE) AS price, \
               CAST(IF(i.idorder = '0', COUNT(DISTINCT i.idvisit), COUNT(DISTINCT i.idorder)) AS SIGNED) AS orders \
             FROM log_conversion_item i \
             LEFT JOIN log_action ON log_action.idaction = i.{column} \
             WHERE i.idsite = ? AND i.server_time >= ? AND i.server_time < ? AND i.deleted = 0{segment} \
             GROUP BY 1, 2",
            segment = self.segment_filter(RowsOf::VisitRowsOf("i")),
        );
        let rows: Vec<Metrics> = self
            .period_query(sql, RowsOf::VisitRowsOf("i"))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|row| ItemGroup {
                label: row.label,
                idgoal: row.idgoal,
                revenue: row.revenue,
                quantity: u64::try_from(row.quantity).unwrap_or(0),
                price: row.price,
                orders: u64::try_from(row.orders).unwrap_or(0),
            })
            .collect())
    }

    /// COUNT(DISTINCT idvisitor) and COUNT(DISTINCT user_id) over the
    /// visits of the period, for the unique counts of weeks and months.
    ///
    /// # Errors
    /// The query error.
    pub fn count_unique_visitors_and_users(
        &self,
        conn: &mut MysqlConnection,
    ) -> Result<(u64, u64), ArchiveError> {
        Ok(self.unique_visitors_and_users(conn)?.counts())
    }

    /// The distinct visitors and users of the period's visits (by last
    /// action time), whose counts are COUNT(DISTINCT idvisitor) and
    /// COUNT(DISTINCT user_id).
    ///
    /// The two columns are streamed and counted here rather than by
    /// MariaDB: its `COUNT(DISTINCT)` inserts every value into a tree and
    /// costs the server about twice what sending the values does (2.1 s
    /// against 0.95 s for 1,000,000 visits, docs/PERFORMANCE.md), and the
    /// server is the part of a month build that nothing else can share.
    /// `user_id` values are compared under the column's collation, as
    /// `COUNT(DISTINCT)` compares them; NULLs are not counted.
    ///
    /// # Errors
    /// The query error.
    pub fn unique_visitors_and_users(
        &self,
        conn: &mut MysqlConnection,
    ) -> Result<UniqueVisitors, ArchiveError> {
        #[derive(QueryableByName)]
        struct Visitor {
            #[diesel(sql_type = Binary)]
            idvisitor: Vec<u8>,
            #[diesel(sql_type = Nullable<Text>)]
            user_id: Option<String>,
        }
        // Only columns of `index_idsite_datetime` (widened for this, see
        // migrations/2026-11-30-000006_visit_uniques_index): the read stays
        // in the index, not the visit rows, which a month of logs does not
        // leave in the buffer pool.
        let sql = format!(
            "SELECT log_visit.idvisitor AS idvisitor, log_visit.user_id AS user_id \
             FROM log_visit \
             WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? \
               AND log_visit.visit_last_action_time < ?{}",
            self.segment_filter(RowsOf::Visits)
        );
        let mut visitors: Vec<u64> = Vec::new();
        let mut users: Vec<String> = Vec::new();
        for row in self
            .period_query(sql, RowsOf::Visits)
            .load_iter::<Visitor, DefaultLoadingMode>(conn)?
        {
            let row = row?;
            // BINARY(8): every value has 8 bytes, so equal numbers are equal
            // values.
            visitors.push(visitor_u64(&row.idvisitor));
            if let Some(user) = row.user_id {
                users.push(general_ci_key(&user));
            }
        }
        Ok(UniqueVisitors::new(visitors, users))
    }

    /// The same logs over other bounds (unix seconds, UTC): a part of the
    /// period, for counting only the sub-periods whose visitors are not
    /// known already.
    ///
    /// # Errors
    /// [`ArchiveError::InvalidPeriod`] for a time out of range.
    pub fn with_bounds(&self, start: i64, end: i64) -> Result<Self, ArchiveError> {
        let bounds = Self::new(self.idsite, start, end)?;
        Ok(Self {
            segment: self.segment.clone(),
            ..bounds
        })
    }

    /// MAX of each of `values` (SQL expressions over `log_visit`, read as
    /// numbers) per combination of `dimensions`, over the visits of the
    /// period: row metadata that `query_visits_by_dimension` does not
    /// carry, such as the coordinates of a city (Matomo's additional
    /// `MAX(...)` selects).
    ///
    /// # Errors
    /// [`ArchiveError::Builder`] beyond [`MAX_DIMENSIONS`] or
    /// [`MAX_VALUES`], or the query error.
    pub fn query_max_by_dimension(
        &self,
        conn: &mut MysqlConnection,
        dimensions: &[&'static str],
        values: &[&'static str],
    ) -> Result<Vec<MaxGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Maxima {
            #[diesel(embed)]
            labels: Labels,
            #[diesel(sql_type = Nullable<Double>)]
            max_0: Option<f64>,
            #[diesel(sql_type = Nullable<Double>)]
            max_1: Option<f64>,
        }
        if values.len() > MAX_VALUES {
            return Err(ArchiveError::Builder(format!(
                "at most {MAX_VALUES} values per query, got {}",
                values.len()
            )));
        }
        let maxima: Vec<String> = (0..MAX_VALUES)
            .map(|i| match values.get(i) {
                Some(expression) => format!("CAST(MAX({expression}) AS DOUBLE) AS max_{i}"),
                None => format!("CAST(NULL AS DOUBLE) AS max_{i}"),
            })
            .collect();
        let sql = format!(
            "SELECT {labels}, {maxima} \
             FROM log_visit \
             WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? \
               AND log_visit.visit_last_action_time < ?{segment}{group}",
            segment = self.segment_filter(RowsOf::Visits),
            labels = label_select(dimensions)?,
            maxima = maxima.join(", "),
            group = group_by(dimensions),
        );
        let rows: Vec<Maxima> = self.period_query(sql, RowsOf::Visits).load(conn)?;
        Ok(rows
            .into_iter()
            .map(|row| MaxGroup {
                labels: row.labels.take(dimensions.len()),
                maxima: [row.max_0, row.max_1]
                    .into_iter()
                    .take(values.len())
                    .collect(),
            })
            .collect())
    }

    /// For each of `conditions` (SQL boolean expressions over `log_visit`),
    /// the number of visits of the period for which it holds, all in one
    /// query of `SUM(CASE WHEN ... THEN 1 ELSE 0 END)` columns: Matomo's
    /// ranged-column selects (`getSelectsFromRangedColumn`) and plugin flag
    /// sums. The counts come in the order of `conditions`.
    ///
    /// # Errors
    /// The query error, or [`ArchiveError::Builder`] when the database
    /// answers with something other than one count per condition.
    pub fn count_visits_matching(
        &self,
        conn: &mut MysqlConnection,
        conditions: &[&'static str],
    ) -> Result<Vec<u64>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Counts {
            #[diesel(sql_type = Nullable<Text>)]
            counts: Option<String>,
        }
        if conditions.is_empty() {
            return Ok(Vec::new());
        }
        // The number of columns depends on the caller while a row type is
        // fixed: the counts come back as one comma-separated text column.
        let sums: Vec<String> = conditions
            .iter()
            .map(|condition| {
                format!("CAST(COALESCE(SUM(CASE WHEN ({condition}) THEN 1 ELSE 0 END), 0) AS CHAR)")
            })
            .collect();
        let sql = format!(
            "SELECT CONCAT_WS(',', {sums}) AS counts \
             FROM log_visit \
             WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? \
               AND log_visit.visit_last_action_time < ?{segment}",
            segment = self.segment_filter(RowsOf::Visits),
            sums = sums.join(", "),
        );
        let row: Counts = self.period_query(sql, RowsOf::Visits).get_result(conn)?;
        let text = row.counts.unwrap_or_default();
        let counts = text
            .split(',')
            .map(|count| count.trim().parse::<u64>())
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|_| ArchiveError::Builder(format!("unexpected visit counts {text:?}")))?;
        if counts.len() != conditions.len() {
            return Err(ArchiveError::Builder(format!(
                "{} visit counts for {} conditions",
                counts.len(),
                conditions.len()
            )));
        }
        Ok(counts)
    }
}

/// The item column [`LogAggregator::query_ecommerce_items`] groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcommerceItemColumn {
    /// `idaction_sku`.
    Sku,
    /// `idaction_name`.
    Name,
    /// `idaction_category` (the first category).
    Category,
    /// `idaction_category2`.
    Category2,
    /// `idaction_category3`.
    Category3,
    /// `idaction_category4`.
    Category4,
    /// `idaction_category5`.
    Category5,
}

impl EcommerceItemColumn {
    fn column(self) -> &'static str {
        match self {
            Self::Sku => "idaction_sku",
            Self::Name => "idaction_name",
            Self::Category => "idaction_category",
            Self::Category2 => "idaction_category2",
            Self::Category3 => "idaction_category3",
            Self::Category4 => "idaction_category4",
            Self::Category5 => "idaction_category5",
        }
    }

    /// The `log_link_visit_action` column holding the same dimension for
    /// product page views (`idaction_product_*`).
    fn view_column(self) -> &'static str {
        match self {
            Self::Sku => "idaction_product_sku",
            Self::Name => "idaction_product_name",
            Self::Category => "idaction_product_cat",
            Self::Category2 => "idaction_product_cat2",
            Self::Category3 => "idaction_product_cat3",
            Self::Category4 => "idaction_product_cat4",
            Self::Category5 => "idaction_product_cat5",
        }
    }
}

/// A visit of the shared visit scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRow {
    /// `idvisit`.
    pub idvisit: u64,
    /// `idvisitor` as a big-endian integer (cheap to hash and sort).
    pub idvisitor: u64,
    /// `user_id`.
    pub user_id: Option<String>,
    /// `visit_total_actions` (0 when NULL).
    pub total_actions: u32,
    /// A bounce as Matomo counts it: `visit_total_actions <= 1` (a NULL
    /// count is not a bounce).
    pub bounce: bool,
    /// `visit_total_time` (seconds).
    pub total_time: u32,
    /// `visit_goal_converted = 1`.
    pub converted: bool,
    /// `visit_entry_idaction_url`.
    pub entry_url: Option<u32>,
    /// `visit_entry_idaction_name`.
    pub entry_name: Option<u32>,
    /// `visit_exit_idaction_url`.
    pub exit_url: Option<u32>,
    /// `visit_exit_idaction_name`.
    pub exit_name: Option<u32>,
}

/// An action of the shared action scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRow {
    /// `idvisit`.
    pub idvisit: u64,
    /// `idvisitor` as a big-endian integer.
    pub idvisitor: u64,
    /// `idaction_url`.
    pub idaction_url: Option<u32>,
    /// `idaction_name`.
    pub idaction_name: Option<u32>,
    /// `idaction_url_ref`: the URL of the previous action.
    pub url_ref: Option<u32>,
    /// `idaction_name_ref`: the name of the previous action.
    pub name_ref: Option<u32>,
    /// `time_spent_ref_action`: seconds spent on the previous action.
    pub time_spent_ref: u32,
    /// `idaction_event_category` (set for events).
    pub event_category: Option<u32>,
    /// `search_cat`.
    pub search_cat: Option<String>,
    /// `search_count`.
    pub search_count: Option<u32>,
    /// Page performance in ms: network, server, transfer, DOM processing,
    /// DOM completion, on load.
    pub timings: [Option<u32>; 6],
    /// `bandwidth`: the response size in bytes, when tracked (`bw_bytes`).
    pub bandwidth: Option<u64>,
}

fn visitor_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(buf)
}

/// The distinct visitors (idvisitor as a number) and users (their
/// `utf8mb4_general_ci` keys) of some visits, each sorted and without
/// repeats, so that the visitors of a period are the union of those of
/// its parts.
///
/// Sorted vectors rather than hash sets: a hash set of a month's million
/// visitors costs a cache miss per insert (a tenth of a month build's CPU
/// when the recount used one); sorting the same ids takes a fraction of
/// that in half the memory, and a union of sorted parts is one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UniqueVisitors {
    visitors: Vec<u64>,
    users: Vec<String>,
}

impl UniqueVisitors {
    /// From ids and user keys in any order, with repeats.
    pub fn new(mut visitors: Vec<u64>, mut users: Vec<String>) -> Self {
        visitors.sort_unstable();
        visitors.dedup();
        users.sort_unstable();
        users.dedup();
        Self { visitors, users }
    }

    /// (distinct visitors, distinct users).
    pub fn counts(&self) -> (u64, u64) {
        (self.visitors.len() as u64, self.users.len() as u64)
    }

    /// What keeping this in memory costs, in bytes (about): 8 per
    /// visitor, and per user key its `String` and its characters.
    pub fn memory_bytes(&self) -> usize {
        let users: usize = self
            .users
            .iter()
            .map(|user| size_of::<String>() + user.len())
            .sum();
        self.visitors.len() * size_of::<u64>() + users
    }

    /// The union of `parts`.
    pub fn union<'a>(parts: impl IntoIterator<Item = &'a Self>) -> Self {
        let mut out = Self::default();
        for part in parts {
            out.visitors = union_sorted(&out.visitors, &part.visitors);
            out.users = union_sorted(&out.users, &part.users);
        }
        out
    }
}

/// The sorted union of two sorted lists without repeats.
fn union_sorted<T: Ord + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => {
                out.push(x.clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(y.clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(x.clone());
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(a.get(i..).unwrap_or_default());
    out.extend_from_slice(b.get(j..).unwrap_or_default());
    out
}

/// Reads the visits of the period (by last action time) into rows; with a
/// segment, those of its visits (the rows are read, then filtered by the
/// segment's visit ids: the scan's query stays the same typed SELECT).
///
/// # Errors
/// The query error.
pub fn scan_visits(
    conn: &mut MysqlConnection,
    logs: &LogAggregator,
) -> Result<Vec<VisitRow>, ArchiveError> {
    type Raw = (
        u64,
        Vec<u8>,
        Option<String>,
        Option<u32>,
        u32,
        Option<i8>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
    );
    let raw: Vec<Raw> = log_visit::table
        .filter(log_visit::idsite.eq(logs.idsite))
        .filter(log_visit::visit_last_action_time.ge(logs.start))
        .filter(log_visit::visit_last_action_time.lt(logs.end))
        .select((
            log_visit::idvisit,
            log_visit::idvisitor,
            log_visit::user_id,
            log_visit::visit_total_actions,
            log_visit::visit_total_time,
            log_visit::visit_goal_converted,
            log_visit::visit_entry_idaction_url,
            log_visit::visit_entry_idaction_name,
            log_visit::visit_exit_idaction_url,
            log_visit::visit_exit_idaction_name,
        ))
        .load(conn)?;
    let keep = logs.segment_visit_ids(conn)?;
    Ok(raw
        .into_iter()
        .filter(|r| keep.as_ref().is_none_or(|ids| ids.contains(&r.0)))
        .map(|r| VisitRow {
            idvisit: r.0,
            idvisitor: visitor_u64(&r.1),
            user_id: r.2,
            total_actions: r.3.unwrap_or(0),
            bounce: r.3.is_some_and(|n| n <= 1),
            total_time: r.4,
            converted: r.5 == Some(1),
            entry_url: r.6,
            entry_name: r.7,
            exit_url: r.8,
            exit_name: r.9,
        })
        .collect())
}

/// The select list of an [`ActionRow`] (with `a` the
/// `log_link_visit_action` table): its columns, the six page timings, then
/// the bandwidth.
/// Shared by [`scan_actions`] and [`scan_actions_with_special`].
macro_rules! action_row_columns {
    () => {
        (
            (
                a::idvisit,
                a::idvisitor,
                a::idaction_url,
                a::idaction_name,
                a::idaction_url_ref,
                a::idaction_name_ref,
                a::time_spent_ref_action,
                a::idaction_event_category,
                a::search_cat,
                a::search_count,
            ),
            timing_columns!(),
            a::bandwidth,
        )
    };
}

/// The select list of the six page timings (with `a` the
/// `log_link_visit_action` table), in [`ActionRow::timings`] order.
macro_rules! timing_columns {
    () => {
        (
            a::time_network,
            a::time_server,
            a::time_transfer,
            a::time_dom_processing,
            a::time_dom_completion,
            a::time_on_load,
        )
    };
}

/// Reads the actions of the period (by `server_time`) into rows; with a
/// segment, the actions of its visits.
///
/// # Errors
/// The query error.
pub fn scan_actions(
    conn: &mut MysqlConnection,
    logs: &LogAggregator,
) -> Result<Vec<ActionRow>, ArchiveError> {
    use log_link_visit_action as a;
    let raw: Vec<ActionColumns> = a::table
        .filter(a::idsite.eq(logs.idsite))
        .filter(a::server_time.ge(logs.start))
        .filter(a::server_time.lt(logs.end))
        .select(action_row_columns!())
        .load(conn)?;
    let keep = logs.segment_visit_ids(conn)?;
    Ok(raw
        .into_iter()
        .filter(|(r, _, _)| keep.as_ref().is_none_or(|ids| ids.contains(&r.0)))
        .map(|(r, t, bandwidth)| ActionRow {
            idvisit: r.0,
            idvisitor: visitor_u64(&r.1),
            idaction_url: r.2,
            idaction_name: r.3,
            url_ref: r.4,
            name_ref: r.5,
            time_spent_ref: r.6.unwrap_or(0),
            event_category: r.7,
            search_cat: r.8,
            search_count: r.9,
            timings: timings(t),
            bandwidth,
        })
        .collect())
}

/// A visit of the shared dimension scan: the visit metrics and every
/// `log_visit` column the visit-scope reports group on, read once per
/// archive so that those reports group in memory
/// ([`crate::grouping`]) instead of sending one `GROUP BY` each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitDimensions {
    /// `idvisit`.
    pub idvisit: u64,
    /// `idvisitor` as a big-endian integer.
    pub idvisitor: u64,
    /// `idvisitor` as stored (`LOWER(HEX(idvisitor))` labels).
    pub idvisitor_bytes: Vec<u8>,
    /// `user_id`.
    pub user_id: Option<String>,
    /// `visit_total_actions`.
    pub total_actions: Option<u32>,
    /// `visit_total_time`.
    pub total_time: u32,
    /// `visit_goal_converted = 1`.
    pub converted: bool,
    /// `visit_entry_idaction_url`, `visit_entry_idaction_name`,
    /// `visit_exit_idaction_url`, `visit_exit_idaction_name` (so that the
    /// visits of [`scan_visits`] can be taken from this scan).
    pub entry_exit: [Option<u32>; 4],
    /// `last_idlink_va`: the visit's last action (exits of action-scope
    /// custom dimensions).
    pub last_idlink_va: Option<u64>,
    /// `config_device_type`.
    pub device_type: Option<i8>,
    /// `config_device_brand`.
    pub device_brand: Option<String>,
    /// `config_device_model`.
    pub device_model: Option<String>,
    /// `config_os`.
    pub os: Option<String>,
    /// `config_os_version`.
    pub os_version: Option<String>,
    /// `config_browser_name`.
    pub browser_name: Option<String>,
    /// `config_browser_version`.
    pub browser_version: Option<String>,
    /// `config_browser_engine`.
    pub browser_engine: Option<String>,
    /// `config_resolution`.
    pub resolution: Option<String>,
    /// `location_browser_lang`.
    pub browser_lang: Option<String>,
    /// `location_country`.
    pub country: Option<String>,
    /// `location_region`.
    pub region: Option<String>,
    /// `location_city`.
    pub city: Option<String>,
    /// `location_latitude`.
    pub latitude: Option<f64>,
    /// `location_longitude`.
    pub longitude: Option<f64>,
    /// `referer_type`.
    pub referer_type: Option<u8>,
    /// `referer_name`.
    pub referer_name: Option<String>,
    /// `referer_keyword`.
    pub referer_keyword: Option<String>,
    /// `referer_url`.
    pub referer_url: Option<String>,
    /// `HOUR(visitor_localtime)`.
    pub local_hour: Option<i32>,
    /// `HOUR(visit_first_action_time)` (UTC).
    pub first_action_hour: i32,
    /// `custom_var_k1` .. `custom_var_k5`.
    pub custom_var_names: [Option<String>; 5],
    /// `custom_var_v1` .. `custom_var_v5`.
    pub custom_var_values: [Option<String>; 5],
    /// `custom_dimension_1` .. `custom_dimension_5`.
    pub custom_dimensions: [Option<String>; 5],
    /// `visitor_count_visits`.
    pub visitor_count_visits: u32,
    /// `visitor_returning`.
    pub visitor_returning: Option<i8>,
    /// `visitor_seconds_since_last`.
    pub seconds_since_last: Option<u32>,
    /// `config_cookie`, `_flash`, `_java`, `_pdf`, `_quicktime`,
    /// `_realplayer`, `_silverlight`, `_windowsmedia`.
    pub plugins: [Option<i8>; 8],
}

impl VisitDimensions {
    /// The visit as [`scan_visits`] reads it.
    pub fn visit_row(&self) -> VisitRow {
        let [entry_url, entry_name, exit_url, exit_name] = self.entry_exit;
        VisitRow {
            idvisit: self.idvisit,
            idvisitor: self.idvisitor,
            user_id: self.user_id.clone(),
            total_actions: self.total_actions.unwrap_or(0),
            bounce: self.total_actions.is_some_and(|n| n <= 1),
            total_time: self.total_time,
            converted: self.converted,
            entry_url,
            entry_name,
            exit_url,
            exit_name,
        }
    }

    /// What this visit adds to the visit metrics of its groups.
    pub fn facts(&self) -> crate::grouping::VisitFacts<'_> {
        crate::grouping::VisitFacts {
            idvisitor: self.idvisitor,
            user_id: self.user_id.as_deref(),
            total_actions: self.total_actions,
            total_time: self.total_time,
            converted: self.converted,
        }
    }
}

/// Reads the visits of the period (by last action time) with the columns
/// of [`VisitDimensions`]; with a segment, those of its visits.
///
/// # Errors
/// The query error.
pub fn scan_visit_dimensions(
    conn: &mut MysqlConnection,
    logs: &LogAggregator,
) -> Result<Vec<VisitDimensions>, ArchiveError> {
    use diesel::dsl::sql;
    use log_visit as v;
    type Metrics = (
        u64,
        Vec<u8>,
        Option<String>,
        Option<u32>,
        u32,
        Option<i8>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u64>,
    );
    type Device = (
        Option<i8>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    type Place = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<f64>,
        Option<u8>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i32>,
        i32,
    );
    type Interest = (
        u32,
        Option<i8>,
        Option<u32>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
        Option<i8>,
    );
    let raw: Vec<(Metrics, Device, Place, SlotPair, Slots, Interest)> = v::table
        .filter(v::idsite.eq(logs.idsite))
        .filter(v::visit_last_action_time.ge(logs.start))
        .filter(v::visit_last_action_time.lt(logs.end))
        .select((
            (
                v::idvisit,
                v::idvisitor,
                v::user_id,
                v::visit_total_actions,
                v::visit_total_time,
                v::visit_goal_converted,
                v::visit_entry_idaction_url,
                v::visit_entry_idaction_name,
                v::visit_exit_idaction_url,
                v::visit_exit_idaction_name,
                sql::<Nullable<Unsigned<BigInt>>>("last_idlink_va"),
            ),
            (
                v::config_device_type,
                v::config_device_brand,
                v::config_device_model,
                v::config_os,
                v::config_os_version,
                v::config_browser_name,
                v::config_browser_version,
                v::config_browser_engine,
                v::config_resolution,
            ),
            (
                v::location_browser_lang,
                v::location_country,
                v::location_region,
                v::location_city,
                sql::<Nullable<Double>>("CAST(location_latitude AS DOUBLE)"),
                sql::<Nullable<Double>>("CAST(location_longitude AS DOUBLE)"),
                v::referer_type,
                v::referer_name,
                v::referer_keyword,
                v::referer_url,
                sql::<Nullable<Integer>>("HOUR(visitor_localtime)"),
                sql::<Integer>("HOUR(visit_first_action_time)"),
            ),
            custom_var_columns!(),
            (
                v::custom_dimension_1,
                v::custom_dimension_2,
                v::custom_dimension_3,
                v::custom_dimension_4,
                v::custom_dimension_5,
            ),
            (
                v::visitor_count_visits,
                v::visitor_returning,
                v::visitor_seconds_since_last,
                v::config_cookie,
                v::config_flash,
                v::config_java,
                v::config_pdf,
                v::config_quicktime,
                v::config_realplayer,
                v::config_silverlight,
                v::config_windowsmedia,
            ),
        ))
        .load(conn)?;
    let keep = logs.segment_visit_ids(conn)?;
    Ok(raw
        .into_iter()
        .filter(|(m, ..)| keep.as_ref().is_none_or(|ids| ids.contains(&m.0)))
        .map(
            |(m, d, p, (names, values), dimensions, i)| VisitDimensions {
                idvisit: m.0,
                idvisitor: visitor_u64(&m.1),
                idvisitor_bytes: m.1,
                user_id: m.2,
                total_actions: m.3,
                total_time: m.4,
                converted: m.5 == Some(1),
                entry_exit: [m.6, m.7, m.8, m.9],
                last_idlink_va: m.10,
                device_type: d.0,
                device_brand: d.1,
                device_model: d.2,
                os: d.3,
                os_version: d.4,
                browser_name: d.5,
                browser_version: d.6,
                browser_engine: d.7,
                resolution: d.8,
                browser_lang: p.0,
                country: p.1,
                region: p.2,
                city: p.3,
                latitude: p.4,
                longitude: p.5,
                referer_type: p.6,
                referer_name: p.7,
                referer_keyword: p.8,
                referer_url: p.9,
                local_hour: p.10,
                first_action_hour: p.11,
                custom_var_names: [names.0, names.1, names.2, names.3, names.4],
                custom_var_values: [values.0, values.1, values.2, values.3, values.4],
                custom_dimensions: [
                    dimensions.0,
                    dimensions.1,
                    dimensions.2,
                    dimensions.3,
                    dimensions.4,
                ],
                visitor_count_visits: i.0,
                visitor_returning: i.1,
                seconds_since_last: i.2,
                plugins: [i.3, i.4, i.5, i.6, i.7, i.8, i.9, i.10],
            },
        )
        .collect())
}

/// An action that is more than a page view or a download: a product
/// page view, an action with a page-scope custom variable or a custom
/// dimension value, an event or a content impression or interaction. These are a few percent of the
/// actions; one scan reads them for Ecommerce, CustomVariables, Events and
/// Contents, which group them in memory ([`crate::grouping`]) instead of
/// reading the day's actions once per report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecialAction {
    /// `idvisit`.
    pub idvisit: u64,
    /// `idvisitor` as a big-endian integer.
    pub idvisitor: u64,
    /// `product_price`.
    pub price: Option<f64>,
    /// `idaction_product_sku`, `_name`, `_cat`, `_cat2` .. `_cat5`, in
    /// [`EcommerceItemColumn`] order.
    pub products: [Option<u32>; 7],
    /// `custom_var_k1` .. `custom_var_k5`.
    pub custom_var_names: [Option<String>; 5],
    /// `custom_var_v1` .. `custom_var_v5`.
    pub custom_var_values: [Option<String>; 5],
    /// `idaction_event_category`.
    pub event_category: Option<u32>,
    /// `idaction_event_action`.
    pub event_action: Option<u32>,
    /// `idaction_name` (an event's name).
    pub idaction_name: Option<u32>,
    /// `custom_float` (an event's value).
    pub custom_float: Option<f64>,
    /// `idaction_content_name`.
    pub content_name: Option<u32>,
    /// `idaction_content_piece`.
    pub content_piece: Option<u32>,
    /// `idaction_content_target`.
    pub content_target: Option<u32>,
    /// `idaction_content_interaction`.
    pub content_interaction: Option<u32>,
    /// `idlink_va`.
    pub idlink_va: u64,
    /// `idaction_url`.
    pub idaction_url: Option<u32>,
    /// `time_spent`.
    pub time_spent: Option<u32>,
    /// `custom_dimension_1` .. `custom_dimension_5`.
    pub custom_dimensions: [Option<String>; 5],
    /// Page performance in ms, as [`ActionRow::timings`]: action-scope
    /// custom dimension rows carry the PagePerformance columns.
    pub timings: [Option<u32>; 6],
}

impl SpecialAction {
    /// The view's action id in the product column of `column`.
    pub fn product(&self, column: EcommerceItemColumn) -> Option<u32> {
        let index = match column {
            EcommerceItemColumn::Sku => 0,
            EcommerceItemColumn::Name => 1,
            EcommerceItemColumn::Category => 2,
            EcommerceItemColumn::Category2 => 3,
            EcommerceItemColumn::Category3 => 4,
            EcommerceItemColumn::Category4 => 5,
            EcommerceItemColumn::Category5 => 6,
        };
        self.products[index]
    }
}

/// The select list of [`SpecialColumns`] (with `a` the
/// `log_link_visit_action` table and `sql` diesel's SQL literal), shared by
/// the two scans that read special actions.
macro_rules! special_columns {
    () => {
        (
            (
                a::product_price,
                a::idaction_product_sku,
                a::idaction_product_name,
                a::idaction_product_cat,
                a::idaction_product_cat2,
                a::idaction_product_cat3,
                a::idaction_product_cat4,
                a::idaction_product_cat5,
            ),
            custom_var_columns!(),
            (
                a::idaction_event_category,
                a::idaction_event_action,
                a::idaction_name,
                a::custom_float,
                a::idaction_content_name,
                a::idaction_content_piece,
                a::idaction_content_target,
                a::idaction_content_interaction,
            ),
            (
                a::idlink_va,
                a::idaction_url,
                a::time_spent,
                a::custom_dimension_1,
                a::custom_dimension_2,
                a::custom_dimension_3,
                a::custom_dimension_4,
                a::custom_dimension_5,
            ),
        )
    };
}

/// Reads the [`SpecialAction`]s of the period (by `server_time`): the
/// actions with a product column, a custom variable name
/// (`custom_var_k<i> <> ''`), an event category or a content name; with a
/// segment, those of its visits.
///
/// # Errors
/// The query error.
pub fn scan_special_actions(
    conn: &mut MysqlConnection,
    logs: &LogAggregator,
) -> Result<Vec<SpecialAction>, ArchiveError> {
    use diesel::dsl::sql;
    use log_link_visit_action as a;
    let raw: Vec<((u64, Vec<u8>), SpecialColumns, Timings)> = a::table
        .filter(a::idsite.eq(logs.idsite))
        .filter(a::server_time.ge(logs.start))
        .filter(a::server_time.lt(logs.end))
        // The schema module leaves out the custom variable columns (a
        // plugin's in Matomo), so the condition and those columns are
        // SQL text. Same rows as `SpecialAction::is_special`.
        .filter(sql::<diesel::sql_types::Bool>(
            "(idaction_product_sku IS NOT NULL OR idaction_product_name IS NOT NULL \
             OR idaction_product_cat IS NOT NULL OR idaction_product_cat2 IS NOT NULL \
             OR idaction_product_cat3 IS NOT NULL OR idaction_product_cat4 IS NOT NULL \
             OR idaction_product_cat5 IS NOT NULL \
             OR custom_var_k1 <> '' OR custom_var_k2 <> '' OR custom_var_k3 <> '' \
             OR custom_var_k4 <> '' OR custom_var_k5 <> '' \
             OR idaction_event_category IS NOT NULL OR idaction_content_name IS NOT NULL \
             OR custom_dimension_1 IS NOT NULL OR custom_dimension_2 IS NOT NULL \
             OR custom_dimension_3 IS NOT NULL OR custom_dimension_4 IS NOT NULL \
             OR custom_dimension_5 IS NOT NULL)",
        ))
        .select((
            (a::idvisit, a::idvisitor),
            special_columns!(),
            timing_columns!(),
        ))
        .load(conn)?;
    let keep = logs.segment_visit_ids(conn)?;
    Ok(raw
        .into_iter()
        .filter(|((idvisit, _), _, _)| keep.as_ref().is_none_or(|ids| ids.contains(idvisit)))
        .map(|((idvisit, idvisitor), columns, t)| {
            special_action(idvisit, visitor_u64(&idvisitor), columns, timings(t))
        })
        .collect())
}

impl SpecialAction {
    /// Whether the action is one [`scan_special_actions`] reads: a product
    /// column, a custom variable name (`custom_var_k<i> <> ''`), an event
    /// category, a content name or a custom dimension value.
    pub fn is_special(&self) -> bool {
        self.products.iter().any(Option::is_some)
            || self.custom_dimensions.iter().any(Option::is_some)
            || self
                .custom_var_names
                .iter()
                .any(|name| !crate::builders::sql_empty(name.as_deref()))
            || self.event_category.is_some()
            || self.content_name.is_some()
    }
}

/// The product, custom variable, event and content columns of an action,
/// as one scan reads them.
type SpecialColumns = (
    (
        Option<f64>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
    ),
    SlotPair,
    (
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<f64>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
    ),
    (
        u64,
        Option<u32>,
        Option<u32>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
);

/// The columns of `action_row_columns!` before the timings, as one scan
/// reads them.
type ActionBase = (
    u64,
    Vec<u8>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<String>,
    Option<u32>,
);

/// The columns of `action_row_columns!`: the base, the timings, the
/// bandwidth.
type ActionColumns = (ActionBase, Timings, Option<u64>);

/// The six page timings as one scan reads them (ms).
type Timings = (
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
);

fn timings(t: Timings) -> [Option<u32>; 6] {
    [t.0, t.1, t.2, t.3, t.4, t.5]
}

fn special_action(
    idvisit: u64,
    idvisitor: u64,
    columns: SpecialColumns,
    timings: [Option<u32>; 6],
) -> SpecialAction {
    let (p, (k, v), o, d) = columns;
    SpecialAction {
        idvisit,
        idvisitor,
        price: p.0,
        products: [p.1, p.2, p.3, p.4, p.5, p.6, p.7],
        custom_var_names: [k.0, k.1, k.2, k.3, k.4],
        custom_var_values: [v.0, v.1, v.2, v.3, v.4],
        event_category: o.0,
        event_action: o.1,
        idaction_name: o.2,
        custom_float: o.3,
        content_name: o.4,
        content_piece: o.5,
        content_target: o.6,
        content_interaction: o.7,
        idlink_va: d.0,
        idaction_url: d.1,
        time_spent: d.2,
        custom_dimensions: [d.3, d.4, d.5, d.6, d.7],
        timings,
    }
}

/// [`scan_actions`] and [`scan_special_actions`] in one read of the day's
/// actions, for an archive whose builders use both: the special actions
/// are the rows of the first list that [`SpecialAction::is_special`].
///
/// # Errors
/// The query error.
pub fn scan_actions_with_special(
    conn: &mut MysqlConnection,
    logs: &LogAggregator,
) -> Result<(Vec<ActionRow>, Vec<SpecialAction>), ArchiveError> {
    use diesel::dsl::sql;
    use log_link_visit_action as a;
    let raw: Vec<(ActionColumns, SpecialColumns)> = a::table
        .filter(a::idsite.eq(logs.idsite))
        .filter(a::server_time.ge(logs.start))
        .filter(a::server_time.lt(logs.end))
        .select((action_row_columns!(), special_columns!()))
        .load(conn)?;
    let keep = logs.segment_visit_ids(conn)?;
    let mut actions = Vec::with_capacity(raw.len());
    let mut special = Vec::new();
    for ((r, t, bandwidth), columns) in raw {
        if keep.as_ref().is_some_and(|ids| !ids.contains(&r.0)) {
            continue;
        }
        let idvisitor = visitor_u64(&r.1);
        let timings = timings(t);
        let extra = special_action(r.0, idvisitor, columns, timings);
        if extra.is_special() {
            special.push(extra);
        }
        actions.push(ActionRow {
            idvisit: r.0,
            idvisitor,
            idaction_url: r.2,
            idaction_name: r.3,
            url_ref: r.4,
            name_ref: r.5,
            time_spent_ref: r.6.unwrap_or(0),
            event_category: r.7,
            search_cat: r.8,
            search_count: r.9,
            timings,
            bandwidth,
        });
    }
    Ok((actions, special))
}

/// A visit's `visit_total_actions` and `last_idlink_va`.
pub type VisitEnd = (Option<u32>, Option<u64>);

/// `visit_total_actions` and `last_idlink_va` of the visits `ids` (the
/// visits of a day's actions whose last action lies after the day, which
/// the day's visit scan does not read); visits not found are left out.
///
/// # Errors
/// The query error.
pub fn load_visit_ends(
    conn: &mut MysqlConnection,
    ids: &[u64],
) -> Result<HashMap<u64, VisitEnd>, ArchiveError> {
    use diesel::dsl::sql;
    let mut out = HashMap::new();
    for chunk in ids.chunks(5_000) {
        let rows: Vec<(u64, Option<u32>, Option<u64>)> = log_visit::table
            .filter(log_visit::idvisit.eq_any(chunk))
            .select((
                log_visit::idvisit,
                log_visit::visit_total_actions,
                sql::<Nullable<Unsigned<BigInt>>>("last_idlink_va"),
            ))
            .load(conn)?;
        out.extend(
            rows.into_iter()
                .map(|(id, actions, last)| (id, (actions, last))),
        );
    }
    Ok(out)
}

/// A `log_action` row as reports need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionName {
    /// `name` (URLs without their scheme; see `url_prefix`).
    pub name: String,
    /// `type`.
    pub action_type: Option<ActionType>,
    /// `url_prefix`: 0 `http://`, 1 `http://www.`, 2 `https://`,
    /// 3 `https://www.`.
    pub url_prefix: Option<u8>,
}

/// Loads the `log_action` rows of `ids` (in chunks of 5,000 ids).
///
/// # Errors
/// The query error.
pub fn load_action_names(
    conn: &mut MysqlConnection,
    ids: &[u32],
) -> Result<HashMap<u32, ActionName>, ArchiveError> {
    /// `idaction`, `name`, `type`, `url_prefix`.
    type Raw = (u32, Option<String>, Option<u8>, Option<i8>);
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        let rows: Vec<Raw> = log_action::table
            .filter(log_action::idaction.eq_any(chunk))
            .select((
                log_action::idaction,
                log_action::name,
                log_action::type_,
                log_action::url_prefix,
            ))
            .load(conn)?;
        for (id, name, code, url_prefix) in rows {
            out.insert(
                id,
                ActionName {
                    name: name.unwrap_or_default(),
                    action_type: code.and_then(|code| ActionType::from_code(code).ok()),
                    url_prefix: url_prefix.and_then(|p| u8::try_from(p).ok()),
                },
            );
        }
    }
    Ok(out)
}

/// One group of [`LogAggregator::count_conversions_matching`]: how many
/// conversions of one goal satisfy each condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionCounts {
    /// The goal (0 = ecommerce order, -1 = abandoned cart).
    pub idgoal: i32,
    /// One count per condition, in the order they were asked for.
    pub counts: Vec<u64>,
}

/// One group of [`LogAggregator::query_product_views`]: the page views of
/// one product (SKU, name or category).
#[derive(Debug, Clone, PartialEq)]
pub struct ProductViewGroup {
    /// The product's action name (`None` when the action is missing).
    pub label: Option<String>,
    /// `nb_visits` (COUNT DISTINCT idvisit).
    pub nb_visits: u64,
    /// `nb_uniq_visitors` (COUNT DISTINCT idvisitor).
    pub nb_uniq_visitors: u64,
    /// `nb_actions` (COUNT of the views).
    pub nb_actions: u64,
    /// AVG(`product_price`), `None` when no view had a price.
    pub avg_price: Option<f64>,
}

impl LogAggregator {
    /// For each goal with a conversion in the period, how many of its
    /// conversions satisfy each of `conditions` (SQL boolean expressions
    /// over `log_conversion`): Matomo's ranged-column selects on
    /// conversions (visits and days until conversion), one query grouped
    /// by `idgoal`.
    ///
    /// # Errors
    /// The query error, or [`ArchiveError::Builder`] when the database
    /// answers with something other than one count per condition.
    pub fn count_conversions_matching(
        &self,
        conn: &mut MysqlConnection,
        conditions: &[&'static str],
    ) -> Result<Vec<ConversionCounts>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Counts {
            #[diesel(sql_type = Integer)]
            idgoal: i32,
            #[diesel(sql_type = Nullable<Text>)]
            counts: Option<String>,
        }
        if conditions.is_empty() {
            return Ok(Vec::new());
        }
        // As in `count_visits_matching`: a fixed row type, the counts as
        // one comma-separated text column.
        let sums: Vec<String> = conditions
            .iter()
            .map(|condition| {
                format!("CAST(COALESCE(SUM(CASE WHEN ({condition}) THEN 1 ELSE 0 END), 0) AS CHAR)")
            })
            .collect();
        let sql = format!(
            "SELECT log_conversion.idgoal AS idgoal, CONCAT_WS(',', {sums}) AS counts \
             FROM log_conversion \
             WHERE log_conversion.idsite = ? AND log_conversion.server_time >= ? \
               AND log_conversion.server_time < ?{segment} \
             GROUP BY log_conversion.idgoal",
            sums = sums.join(", "),
            segment = self.segment_filter(RowsOf::VisitRowsOf("log_conversion")),
        );
        let rows: Vec<Counts> = self
            .period_query(sql, RowsOf::VisitRowsOf("log_conversion"))
            .load(conn)?;
        rows.into_iter()
            .map(|row| {
                let text = row.counts.unwrap_or_default();
                let counts = text
                    .split(',')
                    .map(|count| count.trim().parse::<u64>())
                    .collect::<Result<Vec<u64>, _>>()
                    .map_err(|_| {
                        ArchiveError::Builder(format!("unexpected conversion counts {text:?}"))
                    })?;
                if counts.len() != conditions.len() {
                    return Err(ArchiveError::Builder(format!(
                        "{} conversion counts for {} conditions",
                        counts.len(),
                        conditions.len()
                    )));
                }
                Ok(ConversionCounts {
                    idgoal: row.idgoal,
                    counts,
                })
            })
            .collect()
    }

    /// Product page views (`queryActionsByDimension` on the
    /// `idaction_product_*` column matching `item_column`): visits,
    /// visitors, views and the average viewed price per product name,
    /// over the actions whose `server_time` lies in the period and that
    /// carry the product column.
    ///
    /// # Errors
    /// The query error.
    pub fn query_product_views(
        &self,
        conn: &mut MysqlConnection,
        item_column: EcommerceItemColumn,
    ) -> Result<Vec<ProductViewGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Metrics {
            #[diesel(sql_type = Nullable<Text>)]
            label: Option<String>,
            #[diesel(sql_type = BigInt)]
            nb_visits: i64,
            #[diesel(sql_type = BigInt)]
            nb_uniq_visitors: i64,
            #[diesel(sql_type = BigInt)]
            nb_actions: i64,
            #[diesel(sql_type = Nullable<Double>)]
            avg_price: Option<f64>,
        }
        let column = item_column.view_column();
        let sql = format!(
            "SELECT CAST(log_action.name AS CHAR) AS label, \
               COUNT(DISTINCT a.idvisit) AS nb_visits, \
               COUNT(DISTINCT a.idvisitor) AS nb_uniq_visitors, \
               COUNT(*) AS nb_actions, \
               CAST(AVG(a.product_price) AS DOUBLE) AS avg_price \
             FROM log_link_visit_action a \
             LEFT JOIN log_action ON log_action.idaction = a.{column} \
             WHERE a.idsite = ? AND a.server_time >= ? AND a.server_time < ? \
               AND a.{column} IS NOT NULL{segment} \
             GROUP BY 1",
            segment = self.segment_filter(RowsOf::VisitRowsOf("a")),
        );
        let rows: Vec<Metrics> = self
            .period_query(sql, RowsOf::VisitRowsOf("a"))
            .load(conn)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .into_iter()
            .map(|row| ProductViewGroup {
                label: row.label,
                nb_visits: count(row.nb_visits),
                nb_uniq_visitors: count(row.nb_uniq_visitors),
                nb_actions: count(row.nb_actions),
                avg_price: row.avg_price,
            })
            .collect())
    }
}

/// Up to this many value expressions per
/// [`LogAggregator::query_action_values`].
pub const MAX_ACTION_VALUES: usize = 4;

/// What [`LogAggregator::query_action_values`] groups by, joins, filters
/// and adds up. Every expression is a `&'static str` written in the code;
/// the site and the period bounds are bound parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActionValuesQuery<'a> {
    /// Label expressions (at most [`MAX_DIMENSIONS`]) over
    /// `log_link_visit_action` and the joined tables.
    pub dimensions: &'a [&'static str],
    /// A condition ANDed to the site and period bounds.
    pub condition: Option<&'static str>,
    /// `LEFT JOIN log_action ON log_action.idaction = <column>`, e.g.
    /// `log_link_visit_action.idaction_url`.
    pub join_action_on: Option<&'static str>,
    /// `LEFT JOIN log_visit` on the action's visit, for expressions over
    /// `log_visit` columns.
    pub join_visit: bool,
    /// Aggregate expressions (at most [`MAX_ACTION_VALUES`]), each read as
    /// a DOUBLE, e.g. `SUM(log_link_visit_action.time_spent)`.
    pub values: &'a [&'static str],
}

/// One group of [`LogAggregator::query_action_values`].
#[derive(Debug, Clone, PartialEq)]
pub struct ActionValuesGroup {
    /// The dimension values.
    pub labels: Vec<Option<String>>,
    /// `nb_visits` (COUNT DISTINCT idvisit).
    pub nb_visits: u64,
    /// `nb_uniq_visitors` (COUNT DISTINCT idvisitor).
    pub nb_uniq_visitors: u64,
    /// `nb_hits` (COUNT).
    pub nb_hits: u64,
    /// Each value expression, in the order they were asked for (`None`
    /// when SQL gives NULL, e.g. the MIN of no value).
    pub values: Vec<Option<f64>>,
}

impl LogAggregator {
    /// `queryActionsByDimension` with what the plain helper leaves out: a
    /// condition, a join to the action's visit, and aggregate value
    /// expressions next to visits, visitors and hits (Matomo's
    /// `$where`, `$from` joins and `$additionalSelects`), over the actions
    /// whose `server_time` lies in the period.
    ///
    /// # Errors
    /// [`ArchiveError::Builder`] beyond [`MAX_DIMENSIONS`] or
    /// [`MAX_ACTION_VALUES`], or the query error.
    pub fn query_action_values(
        &self,
        conn: &mut MysqlConnection,
        query: &ActionValuesQuery<'_>,
    ) -> Result<Vec<ActionValuesGroup>, ArchiveError> {
        #[derive(QueryableByName)]
        struct Metrics {
            #[diesel(embed)]
            labels: Labels,
            #[diesel(sql_type = BigInt)]
            nb_visits: i64,
            #[diesel(sql_type = BigInt)]
            nb_uniq_visitors: i64,
            #[diesel(sql_type = BigInt)]
            nb_hits: i64,
            #[diesel(sql_type = Nullable<Double>)]
            value_0: Option<f64>,
            #[diesel(sql_type = Nullable<Double>)]
            value_1: Option<f64>,
            #[diesel(sql_type = Nullable<Double>)]
            value_2: Option<f64>,
            #[diesel(sql_type = Nullable<Double>)]
            value_3: Option<f64>,
        }
        if query.values.len() > MAX_ACTION_VALUES {
            return Err(ArchiveError::Builder(format!(
                "at most {MAX_ACTION_VALUES} values per query, got {}",
                query.values.len()
            )));
        }
        let values: Vec<String> = (0..MAX_ACTION_VALUES)
            .map(|i| match query.values.get(i) {
                Some(expression) => format!("CAST(({expression}) AS DOUBLE) AS value_{i}"),
                None => format!("CAST(NULL AS DOUBLE) AS value_{i}"),
            })
            .collect();
        let mut joins = String::new();
        if let Some(column) = query.join_action_on {
            joins.push_str(&format!(
                " LEFT JOIN log_action ON log_action.idaction = {column}"
            ));
        }
        if query.join_visit {
            joins.push_str(
                " LEFT JOIN log_visit ON log_visit.idvisit = log_link_visit_action.idvisit",
            );
        }
        let condition = query
            .condition
            .map(|condition| format!(" AND ({condition})"))
            .unwrap_or_default();
        let sql = format!(
            "SELECT {labels}, \
               COUNT(DISTINCT log_link_visit_action.idvisit) AS nb_visits, \
               COUNT(DISTINCT log_link_visit_action.idvisitor) AS nb_uniq_visitors, \
               COUNT(*) AS nb_hits, {values} \
             FROM log_link_visit_action{joins} \
             WHERE log_link_visit_action.idsite = ? AND log_link_visit_action.server_time >= ? \
               AND log_link_visit_action.server_time < ?{condition}{segment}{group}",
            labels = label_select(query.dimensions)?,
            values = values.join(", "),
            segment = self.segment_filter(RowsOf::VisitRowsOf("log_link_visit_action")),
            group = group_by(query.dimensions),
        );
        let rows: Vec<Metrics> = self
            .period_query(sql, RowsOf::VisitRowsOf("log_link_visit_action"))
            .load(conn)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .into_iter()
            .filter(|row| row.nb_hits > 0)
            .map(|row| ActionValuesGroup {
                labels: row.labels.take(query.dimensions.len()),
                nb_visits: count(row.nb_visits),
                nb_uniq_visitors: count(row.nb_uniq_visitors),
                nb_hits: count(row.nb_hits),
                values: [row.value_0, row.value_1, row.value_2, row.value_3]
                    .into_iter()
                    .take(query.values.len())
                    .collect(),
            })
            .collect())
    }
}
