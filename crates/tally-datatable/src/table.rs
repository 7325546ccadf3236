//! The report table and its operations (`core/DataTable.php`).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use crate::DataTableError;
use crate::metrics;
use crate::row::{ColumnOp, Row, SUMMARY_ROW_LABEL};
use crate::sort::natural_cmp_ci;
use crate::value::{ColumnKey, Columns, Metadata, OrderedMap, Value};

/// Per-column aggregation ops (`column_aggregation_ops` table metadata).
pub type AggregationOps = OrderedMap<ColumnKey, ColumnOp>;

/// The column renames of [`DataTable::rename_after_aggregation`] for the
/// metric id pairs `renames`: each pair by id and by name.
pub(crate) fn rename_pairs(renames: &[(u16, u16)]) -> Vec<(ColumnKey, ColumnKey)> {
    let mut pairs: Vec<(ColumnKey, ColumnKey)> = Vec::with_capacity(renames.len() * 2);
    for (from, to) in renames {
        pairs.push((ColumnKey::Id(*from), ColumnKey::Id(*to)));
        if let (Some(from), Some(to)) = (metrics::metric_name(*from), metrics::metric_name(*to)) {
            pairs.push((ColumnKey::from(from), ColumnKey::from(to)));
        }
    }
    pairs
}

/// Sort direction of [`DataTable::sort`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first (Matomo's default).
    Desc,
}

/// A report table: ordered rows, an optional summary row, table metadata.
#[derive(Clone, Debug, Default)]
pub struct DataTable {
    rows: Vec<Row>,
    summary: Option<Box<Row>>,
    /// Table metadata (`period`, `site`, `total_rows_before_limit`, …).
    pub metadata: Metadata,
    /// Aggregation op per column, used by [`DataTable::merge`] and truncation.
    pub aggregation_ops: AggregationOps,
    /// `setMaximumAllowedRows`: rows beyond `n − 1` go into the summary row
    /// as they are added.
    pub max_rows: Option<usize>,
    label_index: HashMap<String, usize>,
    /// Set when rows were handed out mutably, so labels may have changed.
    index_stale: bool,
}

impl PartialEq for DataTable {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
            && self.summary == other.summary
            && self.metadata == other.metadata
            && self.aggregation_ops == other.aggregation_ops
            && self.max_rows == other.max_rows
    }
}

impl DataTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a table from rows (no row limit applies).
    pub fn from_rows(rows: impl IntoIterator<Item = Row>) -> Self {
        // The label index is built on the first lookup: decoded tables that
        // are only rendered never pay for hashing their labels.
        Self {
            rows: rows.into_iter().collect(),
            index_stale: true,
            ..Self::default()
        }
    }

    /// The rows, without the summary row.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The rows, mutably. Labels may be changed; lookups re-index afterwards.
    pub fn rows_mut(&mut self) -> &mut [Row] {
        self.index_stale = true;
        &mut self.rows
    }

    /// The summary ("Others") row.
    pub fn summary_row(&self) -> Option<&Row> {
        self.summary.as_deref()
    }

    /// The summary row, mutably.
    pub fn summary_row_mut(&mut self) -> Option<&mut Row> {
        self.summary.as_deref_mut()
    }

    /// Sets the summary row; its label becomes `-1`.
    pub fn set_summary_row(&mut self, mut row: Row) {
        row.label = SUMMARY_ROW_LABEL.to_owned();
        self.summary = Some(Box::new(row));
    }

    /// Removes and returns the summary row.
    pub fn take_summary_row(&mut self) -> Option<Row> {
        self.summary.take().map(|row| *row)
    }

    /// Rows followed by the summary row, as Matomo's `getRows()` returns them.
    pub fn all_rows(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().chain(self.summary.as_deref())
    }

    /// Removes all rows and the summary row, returning the rows.
    pub fn take_rows(&mut self) -> Vec<Row> {
        self.label_index.clear();
        self.index_stale = false;
        std::mem::take(&mut self.rows)
    }

    /// Keeps the rows (not the summary row) for which `keep` returns true.
    pub fn retain_rows(&mut self, keep: impl FnMut(&Row) -> bool) {
        self.rows.retain(keep);
        self.mark_index_stale();
    }

    fn mark_index_stale(&mut self) {
        self.label_index.clear();
        self.index_stale = true;
    }

    /// An empty table with the same metadata, ops and row limit.
    pub fn empty_clone(&self) -> Self {
        Self {
            metadata: self.metadata.clone(),
            aggregation_ops: self.aggregation_ops.clone(),
            max_rows: self.max_rows,
            ..Self::default()
        }
    }

    /// Appends a row, ignoring [`DataTable::max_rows`].
    pub(crate) fn push_row_unchecked(&mut self, row: Row) {
        self.push_row(row);
    }

    fn push_row(&mut self, row: Row) {
        self.label_index
            .entry(row.label.clone())
            .or_insert(self.rows.len());
        self.rows.push(row);
    }

    fn rebuild_index(&mut self) {
        self.label_index.clear();
        for (position, row) in self.rows.iter().enumerate() {
            self.label_index
                .entry(row.label.clone())
                .or_insert(position);
        }
        self.index_stale = false;
    }

    /// Adds a row (`addRow`). With [`DataTable::max_rows`] set and the table
    /// full, the row is summed into the summary row instead.
    ///
    /// # Errors
    ///
    /// [`DataTableError::UnsummableColumn`] when summing into the summary row
    /// meets incompatible values.
    pub fn add_row(&mut self, row: Row) -> Result<(), DataTableError> {
        let ops = std::mem::take(&mut self.aggregation_ops);
        let added = self.add_row_with_ops(row, &ops);
        self.aggregation_ops = ops;
        added
    }

    pub(crate) fn add_row_with_ops(
        &mut self,
        row: Row,
        ops: &AggregationOps,
    ) -> Result<(), DataTableError> {
        if let Some(max_rows) = self.max_rows
            && max_rows > 0
            && self.rows_count() >= max_rows - 1
        {
            match self.summary.as_deref_mut() {
                Some(summary) => summary.sum_row(&row, ops, false)?,
                None => {
                    let mut summary = Row::new(SUMMARY_ROW_LABEL);
                    summary.columns = row.columns;
                    self.summary = Some(Box::new(summary));
                }
            }
            return Ok(());
        }
        self.push_row(row);
        Ok(())
    }

    pub(crate) fn position_of(&mut self, label: &str) -> Option<usize> {
        if self.index_stale {
            self.rebuild_index();
        }
        self.label_index.get(label).copied()
    }

    /// The row with `label` (`getRowFromLabel`); `-1` finds the summary row.
    pub fn row_by_label(&self, label: &str) -> Option<&Row> {
        let found = if self.index_stale {
            self.rows.iter().find(|row| row.label == label)
        } else {
            self.label_index
                .get(label)
                .and_then(|position| self.rows.get(*position))
        };
        match found {
            Some(row) => Some(row),
            None if label == SUMMARY_ROW_LABEL => self.summary.as_deref(),
            None => None,
        }
    }

    /// The row with `label`, mutably; `-1` finds the summary row.
    pub fn row_by_label_mut(&mut self, label: &str) -> Option<&mut Row> {
        match self.position_of(label) {
            Some(position) => self.rows.get_mut(position),
            None if label == SUMMARY_ROW_LABEL => self.summary.as_deref_mut(),
            None => None,
        }
    }

    /// Creates the row `label` with `columns`, or sums `columns` into the
    /// existing one (`sumRowWithLabel`), using the table's aggregation ops.
    ///
    /// # Errors
    ///
    /// [`DataTableError::UnsummableColumn`] on incompatible values.
    pub fn sum_row_with_label(
        &mut self,
        label: &str,
        columns: Columns,
    ) -> Result<&mut Row, DataTableError> {
        let mut incoming = Row::new(label);
        incoming.columns = columns;
        if let Some(position) = self.position_of(label) {
            let ops = &self.aggregation_ops;
            let row = self
                .rows
                .get_mut(position)
                .ok_or(DataTableError::Internal("label index out of range"))?;
            row.sum_row(&incoming, ops, false)?;
            return self
                .rows
                .get_mut(position)
                .ok_or(DataTableError::Internal("label index out of range"));
        }
        self.add_row(incoming)?;
        match self.position_of(label) {
            Some(position) => self
                .rows
                .get_mut(position)
                .ok_or(DataTableError::Internal("label index out of range")),
            None => self
                .summary
                .as_deref_mut()
                .ok_or(DataTableError::Internal("row neither added nor summarised")),
        }
    }

    /// Number of rows including the summary row (`getRowsCount`).
    pub fn rows_count(&self) -> usize {
        self.rows.len() + usize::from(self.summary.is_some())
    }

    /// Rows of this table and all loaded subtables (`getRowsCountRecursive`).
    pub fn rows_count_recursive(&self) -> usize {
        self.rows_count()
            + self
                .rows
                .iter()
                .filter_map(|row| row.subtable.as_deref())
                .map(DataTable::rows_count_recursive)
                .sum::<usize>()
    }

    /// Sums `other` into this table by label (`addDataTable`).
    ///
    /// Rows with the same label are summed with this table's aggregation
    /// ops (`max_actions` always `max`, `goals` key-wise), others are
    /// appended; subtables are merged recursively (a subtable inherits the
    /// parent's ops), and the summary rows are summed together.
    ///
    /// # Errors
    ///
    /// [`DataTableError::UnsummableColumn`] on incompatible values.
    pub fn merge(&mut self, other: &DataTable) -> Result<(), DataTableError> {
        // The ops are lent to the recursion instead of cloned per row:
        // merging a month touches every row of every day table.
        let ops = std::mem::take(&mut self.aggregation_ops);
        let merged = self.merge_with(other, &ops);
        self.aggregation_ops = ops;
        merged
    }

    fn merge_with(
        &mut self,
        other: &DataTable,
        ops: &AggregationOps,
    ) -> Result<(), DataTableError> {
        for other_row in &other.rows {
            // A row labelled -1 in `other` is a normal row; the summary row
            // is merged separately below.
            self.merge_row(Cow::Borrowed(other_row), ops)?;
        }
        if let Some(other_summary) = other.summary.as_deref() {
            self.merge_summary(Cow::Borrowed(other_summary), ops)?;
        }
        Ok(())
    }

    /// Merges one row of another table into this one, as [`DataTable::merge`]
    /// does for each row: summed into the row with the same label (with
    /// its subtable merged), else added. An owned row is moved, not copied.
    pub(crate) fn merge_row(
        &mut self,
        other_row: Cow<'_, Row>,
        ops: &AggregationOps,
    ) -> Result<(), DataTableError> {
        let Some(position) = self.position_of(&other_row.label) else {
            let mut copy = other_row.into_owned();
            copy.settle_sums(ops);
            if let Some(subtable) = copy.subtable.as_deref_mut() {
                subtable.aggregation_ops = ops.clone();
                subtable.settle_sums(ops);
            }
            return self.add_row_with_ops(copy, ops);
        };
        let row = self
            .rows
            .get_mut(position)
            .ok_or(DataTableError::Internal("label index out of range"))?;
        row.sum_row(&other_row, ops, true)?;
        let other_subtable = match other_row {
            Cow::Borrowed(other) => other.subtable.as_deref().map(Cow::Borrowed),
            Cow::Owned(other) => other.subtable.map(|subtable| Cow::Owned(*subtable)),
        };
        if let Some(other_subtable) = other_subtable {
            match row.subtable.as_deref_mut() {
                Some(own) => {
                    own.set_ops(ops);
                    own.merge_with(&other_subtable, ops)?;
                }
                None => {
                    let mut copy = other_subtable.into_owned();
                    copy.aggregation_ops = ops.clone();
                    copy.settle_sums(ops);
                    row.subtable = Some(Box::new(copy));
                }
            }
        }
        Ok(())
    }

    /// Sums another table's summary row into this one's (or takes it).
    pub(crate) fn merge_summary(
        &mut self,
        other_summary: Cow<'_, Row>,
        ops: &AggregationOps,
    ) -> Result<(), DataTableError> {
        match self.summary.as_deref_mut() {
            Some(summary) => summary.sum_row(&other_summary, ops, false),
            None => {
                let mut summary = other_summary.into_owned();
                summary.settle_sums(ops);
                self.summary = Some(Box::new(summary));
                Ok(())
            }
        }
    }

    /// [`Row::settle_sums`] for every row, summary row and subtable.
    pub(crate) fn settle_sums(&mut self, ops: &AggregationOps) {
        for row in &mut self.rows {
            row.settle_sums(ops);
            if let Some(subtable) = row.subtable.as_deref_mut() {
                subtable.settle_sums(ops);
            }
        }
        if let Some(summary) = self.summary.as_deref_mut() {
            summary.settle_sums(ops);
        }
    }

    /// Gives a subtable its parent's ops (subtables are merged with them).
    pub(crate) fn set_ops(&mut self, ops: &AggregationOps) {
        if self.aggregation_ops != *ops {
            self.aggregation_ops = ops.clone();
        }
    }

    /// The row at `position`, mutably, for the merge of stored bytes.
    pub(crate) fn row_at_mut(&mut self, position: usize) -> Option<&mut Row> {
        self.rows.get_mut(position)
    }

    /// Sorts rows by `column` (natural order, ties keep their order; rows
    /// without the column go last). The summary row stays last.
    ///
    /// `column` is `label` or a metric name/id; a name also finds the id
    /// column (`nb_visits` finds id 2) as Matomo's sort filter does.
    pub fn sort(&mut self, column: &str, order: SortOrder, recursive: bool) {
        sort_rows(&mut self.rows, column, order);
        self.mark_index_stale();
        if recursive {
            for row in &mut self.rows {
                if let Some(subtable) = row.subtable.as_deref_mut() {
                    subtable.sort(column, order, true);
                }
            }
        }
    }

    /// Sorts as the API's generic filter does (Matomo's `Sort` filter with
    /// its secondary column, in `sort.rs`): by `column` (or by
    /// `nb_visits` when the first row lacks it, as
    /// `Sorter::getPrimaryColumnToSort` falls back), ties of a numeric
    /// column broken by the label (after `nb_visits`) or by `nb_visits`
    /// (after another metric), remaining ties by the number of columns,
    /// then the label. The summary row stays last.
    ///
    /// The settings are chosen from this table and, with `recursive`,
    /// applied unchanged to every loaded subtable at any depth, as Matomo's
    /// recursive sort reuses one `Sorter\Config`.
    pub fn sort_for_api(&mut self, column: &str, order: SortOrder, recursive: bool) {
        let Some(sort) = crate::sort::ApiSort::for_rows(&self.rows, column, order) else {
            return;
        };
        self.sort_with(&sort, recursive);
    }

    fn sort_with(&mut self, sort: &crate::sort::ApiSort, recursive: bool) {
        sort.sort(&mut self.rows);
        self.mark_index_stale();
        if recursive {
            for row in &mut self.rows {
                if let Some(subtable) = row.subtable.as_deref_mut() {
                    subtable.sort_with(sort, true);
                }
            }
        }
    }

    /// Truncates to `max_rows` rows including the summary row, as archiving
    /// does (`Truncate` with `maxRows − 1`): when the table has more than
    /// `max_rows` rows, it is sorted by `sort_column` descending, the first
    /// `max_rows − 1` rows are kept and all others (with an existing summary
    /// row) are summed into a new summary row labelled `-1`.
    /// `max_rows = 0` means no limit.
    ///
    /// Rows with the same value are ordered as Matomo's sort without a
    /// secondary column orders them: `array_multisort` then compares the
    /// rows themselves, PHP `ArrayObject`s whose arrays compare by their
    /// number of columns first, then by their first column, the label (PHP
    /// 8's `<`: numerically when both labels are numeric). So a day's
    /// "Others" takes the same rows whatever order they were grouped in,
    /// and a month keeps the same rows whatever order its days come in.
    ///
    /// # Errors
    ///
    /// [`DataTableError::UnsummableColumn`] on incompatible values.
    pub fn truncate(&mut self, max_rows: usize, sort_column: &str) -> Result<(), DataTableError> {
        if max_rows == 0 || self.rows_count() <= max_rows {
            return Ok(());
        }
        // The tie order first; the sort below is stable. Each label's
        // numeric value is read once, not twice per comparison: a week or
        // month truncates page tables of tens of thousands of rows, some
        // sixteen comparisons a row.
        let numeric: Vec<Option<f64>> = self
            .rows
            .iter()
            .map(|row| php_numeric(&row.label))
            .collect();
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by(|&a, &b| {
            let (row_a, row_b) = (&self.rows[a], &self.rows[b]);
            row_a.columns.len().cmp(&row_b.columns.len()).then_with(|| {
                php_cmp_parsed((&row_a.label, numeric[a]), (&row_b.label, numeric[b]))
            })
        });
        let mut rows: Vec<Option<Row>> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(Some)
            .collect();
        self.rows = order
            .into_iter()
            .filter_map(|index| rows.get_mut(index).and_then(Option::take))
            .collect();
        self.sort(sort_column, SortOrder::Desc, false);
        self.fold_tail(max_rows)
    }

    /// Folds rows beyond `max_rows − 1` (in their current order) and the
    /// existing summary row into a new summary row.
    pub(crate) fn fold_tail(&mut self, max_rows: usize) -> Result<(), DataTableError> {
        if max_rows == 0 || self.rows_count() <= max_rows {
            return Ok(());
        }
        let keep = max_rows - 1;
        let folded: Vec<Row> = self.rows.drain(keep..).collect();
        let mut summary = Row::new(SUMMARY_ROW_LABEL);
        for row in &folded {
            summary.sum_row(row, &self.aggregation_ops, false)?;
        }
        if let Some(old) = self.summary.take() {
            summary.sum_row(&old, &self.aggregation_ops, false)?;
        }
        self.summary = Some(Box::new(summary));
        self.mark_index_stale();
        Ok(())
    }

    /// [`DataTable::truncate`] on this table with `max_rows` and on every
    /// loaded subtable (at any depth) with `max_subtable_rows`, as
    /// `getSerialized(maxRows, maxSubRows, sortColumn)` does.
    ///
    /// # Errors
    ///
    /// [`DataTableError::UnsummableColumn`] on incompatible values.
    pub fn truncate_recursive(
        &mut self,
        max_rows: usize,
        max_subtable_rows: usize,
        sort_column: &str,
    ) -> Result<(), DataTableError> {
        self.truncate(max_rows, sort_column)?;
        for row in &mut self.rows {
            if let Some(subtable) = row.subtable.as_deref_mut() {
                subtable.truncate_recursive(max_subtable_rows, max_subtable_rows, sort_column)?;
            }
        }
        Ok(())
    }

    /// Renames a column in every row, the summary row and all loaded
    /// subtables (`renameColumn`).
    pub fn rename_column(&mut self, from: &ColumnKey, to: &ColumnKey) {
        for row in self.rows.iter_mut().chain(self.summary.as_deref_mut()) {
            row.columns.rename(from, to.clone());
            if let Some(subtable) = row.subtable.as_deref_mut() {
                subtable.rename_column(from, to);
            }
        }
    }

    /// Applies the renames Matomo does after aggregating day tables (§7.6):
    /// `nb_uniq_visitors` → `sum_daily_nb_uniq_visitors` and `nb_users` →
    /// `sum_daily_nb_users`; for Actions records also the entry/exit unique
    /// visitor columns. Both id and name keys are renamed.
    pub fn rename_after_aggregation(&mut self, actions: bool) {
        let renames: &[(u16, u16)] = if actions {
            &metrics::RENAME_AFTER_AGGREGATION_ACTIONS
        } else {
            &metrics::RENAME_AFTER_AGGREGATION
        };
        // One pass over each row for all pairs (merging a month renames
        // every row of every day table).
        self.rename_columns(&rename_pairs(renames));
    }

    pub(crate) fn rename_columns(&mut self, pairs: &[(ColumnKey, ColumnKey)]) {
        for row in self.rows.iter_mut().chain(self.summary.as_deref_mut()) {
            row.columns.rename_all(pairs);
            if let Some(subtable) = row.subtable.as_deref_mut() {
                subtable.rename_columns(pairs);
            }
        }
    }

    /// Numbers loaded subtables 1..N depth-first (pre-order), the order in
    /// which Matomo's `getSerialized` assigns subtable ids; rows without a
    /// loaded subtable keep their id. Returns N.
    pub fn number_subtables(&mut self) -> u32 {
        let mut next = 0;
        self.number_subtables_from(&mut next);
        next
    }

    fn number_subtables_from(&mut self, next: &mut u32) {
        for row in &mut self.rows {
            if let Some(subtable) = row.subtable.as_deref_mut() {
                *next += 1;
                row.subtable_id = Some(*next);
                subtable.number_subtables_from(next);
            }
        }
    }

    /// Replaces metric ids by their names in all rows and subtables
    /// (`ReplaceColumnNames`), including the metrics inside `goals`.
    pub fn replace_column_names(&mut self) {
        for row in self.rows.iter_mut().chain(self.summary.as_deref_mut()) {
            let columns = std::mem::take(&mut row.columns);
            for (key, mut value) in columns_into_iter(columns) {
                if let Value::Goals(goals) = &mut value {
                    for (_, goal_columns) in goals.0.iter_mut() {
                        let old = std::mem::take(goal_columns);
                        *goal_columns = old
                            .iter()
                            .map(|(key, value)| {
                                (ColumnKey::Name(key.goal_name().into_owned()), value.clone())
                            })
                            .collect();
                    }
                }
                row.columns
                    .set(ColumnKey::Name(key.name().into_owned()), value);
            }
            if let Some(subtable) = row.subtable.as_deref_mut() {
                subtable.replace_column_names();
            }
        }
    }

    /// Sum of a numeric column over all rows including the summary row.
    pub fn column_total(&self, column: &str) -> f64 {
        self.all_rows()
            .filter_map(|row| row.column(column))
            .filter_map(Value::as_f64)
            .sum()
    }
}

fn columns_into_iter(columns: Columns) -> impl Iterator<Item = (ColumnKey, Value)> {
    let entries: Vec<(ColumnKey, Value)> = columns
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    entries.into_iter()
}

/// The sort key of a row for `column`.
enum SortKey {
    Number(crate::value::Number),
    Text(String),
}

fn sort_key(row: &Row, column: &str) -> Option<SortKey> {
    let text_or_number = |text: &str| match crate::value::parse_numeric(text) {
        Some(number) => SortKey::Number(number),
        None => SortKey::Text(text.to_owned()),
    };
    if column == "label" {
        return Some(text_or_number(&row.label));
    }
    match row.column(column)? {
        Value::Goals(_) => None,
        Value::Str(text) => Some(text_or_number(text)),
        value => value.number().map(SortKey::Number),
    }
}

/// The archiving sort (Matomo's `Sort` filter without a secondary
/// column): natural order, ties keep their order, rows without the column
/// go last.
pub(crate) fn sort_rows(rows: &mut Vec<Row>, column: &str, order: SortOrder) {
    // Keys are computed once per row, not once per comparison.
    let mut keyed: Vec<(SortKey, Row)> = Vec::with_capacity(rows.len());
    // Matomo's Sorter puts rows without a value after the sorted ones,
    // whatever the direction.
    let mut without = Vec::new();
    for row in rows.drain(..) {
        match sort_key(&row, column) {
            Some(key) => keyed.push((key, row)),
            None => without.push(row),
        }
    }
    let all_numeric = keyed
        .iter()
        .all(|(key, _)| matches!(key, SortKey::Number(_)));
    keyed.sort_by(|(a, _), (b, _)| {
        let ordering = match (a, b) {
            (SortKey::Number(x), SortKey::Number(y)) if all_numeric => x.cmp_value(*y),
            (x, y) => natural_cmp_ci(&key_text(x), &key_text(y)),
        };
        match order {
            SortOrder::Asc => ordering,
            SortOrder::Desc => ordering.reverse(),
        }
    });
    rows.extend(keyed.into_iter().map(|(_, row)| row));
    rows.extend(without);
}

/// [`php_cmp_parsed`] of two labels, for tests.
#[cfg(test)]
fn php_cmp_labels(a: &str, b: &str) -> Ordering {
    php_cmp_parsed((a, php_numeric(a)), (b, php_numeric(b)))
}

/// PHP 8's comparison of two strings given with their values as numeric
/// strings ([`php_numeric`], read beforehand so that a sort reads each
/// label once): as numbers when both are numeric (`"9" < "10"`), byte by
/// byte otherwise (`"user10" < "user2"`).
pub(crate) fn php_cmp_parsed(
    (a, a_value): (&str, Option<f64>),
    (b, b_value): (&str, Option<f64>),
) -> Ordering {
    match (a_value, b_value) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.as_bytes().cmp(b.as_bytes()),
    }
}

/// The value of a PHP numeric string: optional surrounding whitespace, a
/// sign, digits with an optional fraction, an optional exponent.
pub(crate) fn php_numeric(text: &str) -> Option<f64> {
    let trimmed = text.trim_matches([' ', '\t', '\n', '\r', '\u{b}', '\u{c}']);
    let body = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok =
        digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|exp| {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        !exp.is_empty() && digits(exp)
    });
    if mantissa_ok && exponent_ok {
        trimmed.parse().ok()
    } else {
        None
    }
}

fn key_text(key: &SortKey) -> Cow<'_, str> {
    match key {
        SortKey::Text(text) => Cow::Borrowed(text),
        SortKey::Number(number) => Cow::Owned(match number {
            crate::value::Number::Int(value) => value.to_string(),
            crate::value::Number::Float(value) => value.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{GoalColumns, Goals, Scalar};

    fn labels(table: &DataTable) -> Vec<&str> {
        table.all_rows().map(|row| row.label.as_str()).collect()
    }

    #[test]
    fn php_label_comparison_is_numeric_for_numeric_strings_only() {
        assert_eq!(php_cmp_labels("9", "10"), Ordering::Less);
        assert_eq!(php_cmp_labels(" 1.5", "1e1"), Ordering::Less);
        assert_eq!(php_cmp_labels("user10", "user2"), Ordering::Less);
        assert_eq!(php_cmp_labels("10", "9a"), Ordering::Less);
        assert_eq!(php_cmp_labels("-1", "0"), Ordering::Less);
        assert_eq!(php_numeric("."), None);
        assert_eq!(php_numeric("1e"), None);
    }

    #[test]
    fn truncation_breaks_ties_by_column_count_then_label() {
        let mut table = DataTable::new();
        for (label, visits) in [("b", 5), ("10", 5), ("9", 5), ("a", 7), ("c", 5)] {
            let mut row = Row::new(label);
            row.columns
                .set(ColumnKey::Name("nb_visits".into()), Value::Int(visits));
            table.push_row_unchecked(row);
        }
        let mut wide = Row::new("0");
        wide.columns
            .set(ColumnKey::Name("nb_visits".into()), Value::Int(5));
        wide.columns
            .set(ColumnKey::Name("nb_hits".into()), Value::Int(5));
        table.push_row_unchecked(wide);
        table.truncate(4, "nb_visits").unwrap();
        let labels: Vec<&str> = table.rows().iter().map(|row| row.label.as_str()).collect();
        assert_eq!(labels, ["a", "9", "10"]);
    }

    /// `Sorter::getPrimaryColumnToSort`: a first row without the sort
    /// column sorts the table by visits (label ascending on ties).
    #[test]
    fn api_sort_falls_back_to_visits_when_the_first_row_lacks_the_column() {
        let row = |label: &str, visits: i64| {
            Row::new(label).with(ColumnKey::Name("nb_visits".to_owned()), Value::Int(visits))
        };
        let mut table = DataTable::from_rows([row("b", 1), row("c", 3), row("a", 1)]);
        table.sort_for_api("revenue", SortOrder::Desc, false);
        assert_eq!(labels(&table), vec!["c", "a", "b"]);
        // With the column in the first row, rows without it go last.
        let mut table = DataTable::from_rows([
            row("b", 1).with(ColumnKey::Name("revenue".to_owned()), Value::Int(5)),
            row("c", 3),
            row("a", 1).with(ColumnKey::Name("revenue".to_owned()), Value::Int(7)),
        ]);
        table.sort_for_api("revenue", SortOrder::Desc, false);
        assert_eq!(labels(&table), vec!["a", "b", "c"]);
    }

    #[test]
    fn sum_row_with_label_creates_then_sums() {
        let mut table = DataTable::new();
        let columns: Columns = [(ColumnKey::Id(2), Value::Int(1))].into_iter().collect();
        table.sum_row_with_label("a", columns.clone()).unwrap();
        table.sum_row_with_label("b", columns.clone()).unwrap();
        table.sum_row_with_label("a", columns).unwrap();
        assert_eq!(labels(&table), vec!["a", "b"]);
        assert_eq!(
            table.row_by_label("a").unwrap().column("nb_visits"),
            Some(&Value::Int(2))
        );
    }

    #[test]
    fn maximum_allowed_rows_routes_extra_rows_into_summary() {
        let mut table = DataTable::new();
        table.max_rows = Some(3);
        for (label, visits) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
            table.add_row(Row::new(label).with(2u16, visits)).unwrap();
        }
        assert_eq!(labels(&table), vec!["a", "b", "-1"]);
        assert_eq!(
            table.summary_row().unwrap().column("2"),
            Some(&Value::Int(7))
        );
        assert_eq!(
            table.row_by_label("-1").unwrap().column("2"),
            Some(&Value::Int(7))
        );
        assert_eq!(table.rows_count(), 3);
    }

    #[test]
    fn sort_is_natural_stable_and_puts_missing_values_last() {
        let mut table = DataTable::from_rows([
            Row::new("x").with(2u16, 5),
            Row::new("y"),
            Row::new("z").with(2u16, 7),
            Row::new("w").with(2u16, 5),
        ]);
        table.set_summary_row(Row::new("").with(2u16, 1));
        table.sort("nb_visits", SortOrder::Desc, false);
        assert_eq!(labels(&table), vec!["z", "x", "w", "y", "-1"]);
        table.sort("nb_visits", SortOrder::Asc, false);
        assert_eq!(labels(&table), vec!["x", "w", "z", "y", "-1"]);
        table.sort("label", SortOrder::Asc, false);
        assert_eq!(labels(&table), vec!["w", "x", "y", "z", "-1"]);
        let mut pages =
            DataTable::from_rows([Row::new("page10"), Row::new("Page9"), Row::new("page100")]);
        pages.sort("label", SortOrder::Desc, false);
        assert_eq!(labels(&pages), vec!["page100", "page10", "Page9"]);
    }

    #[test]
    fn truncating_1000_rows_to_500_keeps_499_and_sums_the_rest_into_others() {
        let mut table = DataTable::new();
        for index in 1..=1000_i64 {
            table
                .add_row(
                    Row::new(format!("label{index}"))
                        .with(2u16, index)
                        .with(3u16, index * 2)
                        .with(4u16, index % 17),
                )
                .unwrap();
        }
        table.truncate(500, "nb_visits").unwrap();
        assert_eq!(table.rows().len(), 499);
        assert_eq!(table.rows_count(), 500);
        assert_eq!(table.rows()[0].label, "label1000");
        assert_eq!(table.rows()[498].label, "label502");
        let others = table.summary_row().unwrap();
        assert_eq!(others.label, "-1");
        // Rows 1..=501 were folded: sum 1..501 = 125751.
        assert_eq!(others.column("nb_visits"), Some(&Value::Int(125_751)));
        assert_eq!(others.column("nb_actions"), Some(&Value::Int(251_502)));
        assert_eq!(others.column("max_actions"), Some(&Value::Int(16)));
        assert_eq!(table.column_total("nb_visits"), 500_500.0);
        // A second truncation folds the old summary row into the new one.
        table.truncate(10, "nb_visits").unwrap();
        assert_eq!(table.rows_count(), 10);
        assert_eq!(
            table.summary_row().unwrap().column("nb_visits"),
            Some(&Value::Int(491_536))
        );
        assert_eq!(table.column_total("nb_visits"), 500_500.0);
    }

    #[test]
    fn truncate_recursive_uses_the_subtable_limit() {
        let sub = DataTable::from_rows(
            (0..5).map(|index| Row::new(format!("s{index}")).with(2u16, index)),
        );
        let mut table = DataTable::from_rows([Row::new("a").with(2u16, 1).with_subtable(sub)]);
        table.truncate_recursive(10, 3, "nb_visits").unwrap();
        let sub = table.rows()[0].subtable.as_deref().unwrap();
        assert_eq!(labels(sub), vec!["s4", "s3", "-1"]);
        assert_eq!(sub.summary_row().unwrap().column("2"), Some(&Value::Int(3)));
    }

    fn goal(conversions: i64, revenue: f64) -> GoalColumns {
        [
            (ColumnKey::Id(1), Scalar::Int(conversions)),
            (ColumnKey::Id(2), Scalar::Float(revenue)),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn merging_two_week_tables_sums_rows_goals_subtables_and_summaries() {
        let week1 = {
            let google = DataTable::from_rows([
                Row::new("keyword a").with(2u16, 3).with(4u16, 2),
                Row::new("keyword b").with(2u16, 1).with(4u16, 7),
            ]);
            let mut table = DataTable::from_rows([
                Row::new("Google")
                    .with(1u16, 4)
                    .with(2u16, 4)
                    .with(4u16, 7)
                    .with(10u16, Goals::new().with(1, goal(2, 10.0)))
                    .with_metadata("url", "https://google.com")
                    .with_subtable(google),
                Row::new("Bing").with(1u16, 1).with(2u16, 1).with(4u16, 1),
            ]);
            table.set_summary_row(Row::new("").with(2u16, 5));
            table
        };
        let week2 = {
            let google = DataTable::from_rows([
                Row::new("keyword b").with(2u16, 2).with(4u16, 3),
                Row::new("keyword c").with(2u16, 6).with(4u16, 1),
            ]);
            let duck = DataTable::from_rows([Row::new("keyword d").with(2u16, 2)]);
            let mut table = DataTable::from_rows([
                Row::new("DuckDuckGo")
                    .with(1u16, 2)
                    .with(2u16, 2)
                    .with_subtable(duck),
                Row::new("Google")
                    .with(1u16, 6)
                    .with(2u16, 8)
                    .with(4u16, 3)
                    .with(
                        10u16,
                        Goals::new().with(1, goal(1, 5.5)).with(0, goal(1, 99.0)),
                    )
                    .with_metadata("url", "https://www.google.com")
                    .with_subtable(google),
            ]);
            table.set_summary_row(Row::new("").with(2u16, 2).with(4u16, 9));
            table
        };
        let mut month = week1.clone();
        month.merge(&week2).unwrap();
        month.rename_after_aggregation(false);
        assert_eq!(labels(&month), vec!["Google", "Bing", "DuckDuckGo", "-1"]);
        let google = month.row_by_label("Google").unwrap();
        assert_eq!(
            google.columns.get(&ColumnKey::Id(11)),
            Some(&Value::Int(10))
        );
        assert_eq!(google.columns.get(&ColumnKey::Id(1)), None);
        assert_eq!(google.column("nb_visits"), Some(&Value::Int(12)));
        assert_eq!(google.column("max_actions"), Some(&Value::Int(7)));
        assert_eq!(
            google.column("goals"),
            Some(&Value::Goals(
                Goals::new().with(1, goal(3, 15.5)).with(0, goal(1, 99.0))
            ))
        );
        // week1's Google row came first with visits, so its metadata stays
        // although week2's had more (Matomo's `sumRowMetadata`).
        assert_eq!(
            google.metadata.get("url"),
            Some(&Scalar::from("https://google.com"))
        );
        let keywords = google.subtable.as_deref().unwrap();
        assert_eq!(
            labels(keywords),
            vec!["keyword a", "keyword b", "keyword c"]
        );
        let keyword_b = keywords.row_by_label("keyword b").unwrap();
        assert_eq!(keyword_b.column("nb_visits"), Some(&Value::Int(3)));
        assert_eq!(keyword_b.column("max_actions"), Some(&Value::Int(7)));
        let duck = month.row_by_label("DuckDuckGo").unwrap();
        assert_eq!(labels(duck.subtable.as_deref().unwrap()), vec!["keyword d"]);
        let others = month.summary_row().unwrap();
        assert_eq!(others.column("nb_visits"), Some(&Value::Int(7)));
        assert_eq!(others.column("max_actions"), Some(&Value::Int(9)));
        assert_eq!(month.rows_count(), 4);
        assert_eq!(month.rows_count_recursive(), 4 + 3 + 1);
    }

    #[test]
    fn rename_after_aggregation_for_actions_covers_entry_and_exit() {
        let mut table = DataTable::from_rows([Row::new("/a")
            .with(1u16, 1)
            .with(14u16, 2)
            .with(17u16, 3)
            .with("nb_users", 4)]);
        table.rename_after_aggregation(true);
        let keys: Vec<String> = table.rows()[0]
            .columns
            .keys()
            .map(|key| key.name().into_owned())
            .collect();
        assert_eq!(
            keys,
            vec![
                // Renamed columns move to the end, in the order of the
                // rename list (PHP's renameColumn).
                "sum_daily_nb_uniq_visitors",
                "sum_daily_nb_users",
                "sum_daily_entry_nb_uniq_visitors",
                "sum_daily_exit_nb_uniq_visitors"
            ]
        );
    }

    #[test]
    fn number_subtables_is_depth_first_preorder() {
        let leaf = DataTable::from_rows([Row::new("leaf")]);
        let mid = DataTable::from_rows([Row::new("m1").with_subtable(leaf), Row::new("m2")]);
        let other = DataTable::from_rows([Row::new("o1")]);
        let mut table = DataTable::from_rows([
            Row::new("a").with_subtable(mid),
            Row::new("b"),
            Row::new("c").with_subtable(other),
        ]);
        assert_eq!(table.number_subtables(), 3);
        assert_eq!(table.rows()[0].subtable_id, Some(1));
        assert_eq!(
            table.rows()[0].subtable.as_deref().unwrap().rows()[0].subtable_id,
            Some(2)
        );
        assert_eq!(table.rows()[1].subtable_id, None);
        assert_eq!(table.rows()[2].subtable_id, Some(3));
    }

    #[test]
    fn lookups_survive_label_changes_through_rows_mut() {
        let mut table = DataTable::from_rows([Row::new("a"), Row::new("b")]);
        table.rows_mut()[0].label = "c".to_owned();
        assert!(table.row_by_label("a").is_none());
        assert!(table.row_by_label("c").is_some());
        assert!(table.row_by_label_mut("c").is_some());
    }
}

#[cfg(test)]
mod api_sort_tests {
    use super::*;

    fn labels(table: &DataTable) -> Vec<&str> {
        table.rows().iter().map(|row| row.label.as_str()).collect()
    }

    fn subtable_labels(table: &DataTable, row: usize) -> Vec<&str> {
        table.rows()[row]
            .subtable
            .as_deref()
            .map(labels)
            .unwrap_or_default()
    }

    /// `CustomVariables.getCustomVariables&expanded=1` of Matomo's
    /// `ImportLogsTest`: sorted by actions, the `HTTP-code` subtable's
    /// codes of equal actions and visits come out as 301, 404 and 302,
    /// 307, 500, whatever order they were stored in.
    #[test]
    fn equal_rows_come_out_in_matomos_order_at_every_depth() {
        let code = |label: &str, visits: i64, actions: i64| {
            Row::new(label)
                .with("nb_visits", visits)
                .with("nb_actions", actions)
                .with("sum_daily_nb_uniq_visitors", visits)
        };
        let codes = DataTable::from_rows([
            code("500", 1, 1),
            code("404", 3, 3),
            code("307", 1, 1),
            code("200", 40, 42),
            code("302", 1, 1),
            code("301", 3, 3),
        ]);
        let agents = DataTable::from_rows([
            Row::new("Mozilla")
                .with("nb_visits", 1)
                .with("nb_actions", 1),
            Row::new("Apache")
                .with("nb_visits", 1)
                .with("nb_actions", 1),
            Row::new("Chrome")
                .with("nb_visits", 5)
                .with("nb_actions", 8),
        ]);
        let mut table = DataTable::from_rows([
            Row::new("Not-Bot")
                .with("nb_visits", 8)
                .with("nb_actions", 11)
                .with_subtable(agents),
            // Page-scope variables have actions but no visits.
            Row::new("HTTP-code")
                .with("nb_actions", 51)
                .with_subtable(codes),
            Row::new("Bot").with("nb_visits", 8).with("nb_actions", 11),
        ]);
        table.sort_for_api("nb_actions", SortOrder::Desc, true);
        // Top level: Bot and Not-Bot tie on actions and visits; the label
        // decides (PHP's `<`: "Bot" < "Not-Bot").
        assert_eq!(labels(&table), ["HTTP-code", "Bot", "Not-Bot"]);
        assert_eq!(
            subtable_labels(&table, 0),
            ["200", "301", "404", "302", "307", "500"]
        );
        assert_eq!(subtable_labels(&table, 2), ["Chrome", "Apache", "Mozilla"]);
    }

    /// Rows equal on both sort columns compare as PHP arrays: fewer
    /// columns first, then the label with `<` (numerically when both are
    /// numeric, byte by byte otherwise: "user10" before "user2"). Under
    /// the label as secondary column the order is natural instead.
    #[test]
    fn remaining_ties_go_by_column_count_then_php_label_order() {
        let rows = || {
            DataTable::from_rows([
                Row::new("user2").with("nb_visits", 1).with("nb_hits", 2),
                Row::new("10").with("nb_visits", 1).with("nb_hits", 2),
                Row::new("a")
                    .with("nb_visits", 1)
                    .with("nb_hits", 2)
                    .with("nb_conversions", 0),
                Row::new("9").with("nb_visits", 1).with("nb_hits", 2),
                Row::new("user10").with("nb_visits", 1).with("nb_hits", 2),
            ])
        };
        let mut by_hits = rows();
        by_hits.sort_for_api("nb_hits", SortOrder::Desc, false);
        assert_eq!(labels(&by_hits), ["9", "10", "user10", "user2", "a"]);
        // The same ties in ascending order: the rows' own comparison
        // stays ascending.
        let mut ascending = rows();
        ascending.sort_for_api("nb_hits", SortOrder::Asc, false);
        assert_eq!(labels(&ascending), ["9", "10", "user10", "user2", "a"]);
        // By visits the label is the secondary column, in natural order
        // (A to Z under a descending sort).
        let mut by_visits = rows();
        by_visits.sort_for_api("nb_visits", SortOrder::Desc, false);
        assert_eq!(labels(&by_visits), ["9", "10", "a", "user2", "user10"]);
    }

    /// Matomo picks the secondary column from the top-level table's first
    /// row and sorts each subtable with it: a top level without visits
    /// orders the subtables' ties by label, not by their visits.
    #[test]
    fn subtables_are_sorted_with_the_top_levels_settings() {
        let subtable = || {
            DataTable::from_rows([
                Row::new("a").with("nb_hits", 1).with("nb_visits", 1),
                Row::new("b").with("nb_hits", 1).with("nb_visits", 2),
            ])
        };
        let mut without_visits =
            DataTable::from_rows([Row::new("x").with("nb_hits", 5).with_subtable(subtable())]);
        without_visits.sort_for_api("nb_hits", SortOrder::Desc, true);
        assert_eq!(subtable_labels(&without_visits, 0), ["a", "b"]);
        let mut with_visits = DataTable::from_rows([Row::new("x")
            .with("nb_hits", 5)
            .with("nb_visits", 5)
            .with_subtable(subtable())]);
        with_visits.sort_for_api("nb_hits", SortOrder::Desc, true);
        assert_eq!(subtable_labels(&with_visits, 0), ["b", "a"]);
    }

    #[test]
    fn the_api_sort_breaks_ties_as_matomo_does() {
        let rows = || {
            DataTable::from_rows([
                Row::new("b").with("nb_visits", 1).with("nb_hits", 5),
                Row::new("c").with("nb_visits", 2).with("nb_hits", 5),
                Row::new("a").with("nb_visits", 1).with("nb_hits", 7),
            ])
        };
        // By visits, descending: ties by label A to Z.
        let mut by_visits = rows();
        by_visits.sort_for_api("nb_visits", SortOrder::Desc, false);
        assert_eq!(labels(&by_visits), ["c", "a", "b"]);
        // Ascending: ties by label Z to A.
        let mut ascending = rows();
        ascending.sort_for_api("nb_visits", SortOrder::Asc, false);
        assert_eq!(labels(&ascending), ["b", "a", "c"]);
        // By another metric: ties by visits in the same direction.
        let mut by_hits = rows();
        by_hits.sort_for_api("nb_hits", SortOrder::Desc, false);
        assert_eq!(labels(&by_hits), ["a", "c", "b"]);
        // The archiving sort keeps stored order for ties.
        let mut stored = rows();
        stored.sort("nb_visits", SortOrder::Desc, false);
        assert_eq!(labels(&stored), ["c", "b", "a"]);
    }

    #[test]
    fn the_secondary_column_is_chosen_from_the_first_row() {
        // `Sorter::getSecondaryColumnToSort` looks at the first row only:
        // without visits there, ties go by label (A to Z when descending),
        // even though later rows have visits.
        let mut table = DataTable::from_rows([
            Row::new("d").with("nb_hits", 5),
            Row::new("b").with("nb_visits", 1).with("nb_hits", 5),
            Row::new("c").with("nb_visits", 2).with("nb_hits", 5),
        ]);
        table.sort_for_api("nb_hits", SortOrder::Desc, false);
        assert_eq!(labels(&table), ["b", "c", "d"]);
        let mut with_visits_first = DataTable::from_rows([
            Row::new("b").with("nb_visits", 1).with("nb_hits", 5),
            Row::new("d").with("nb_hits", 5),
            Row::new("c").with("nb_visits", 2).with("nb_hits", 5),
        ]);
        with_visits_first.sort_for_api("nb_hits", SortOrder::Desc, false);
        // By visits, descending; a row without visits after those with.
        assert_eq!(labels(&with_visits_first), ["c", "b", "d"]);
    }
}
