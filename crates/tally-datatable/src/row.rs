//! One row of a report: label, metric columns, metadata, optional subtable.

use serde::{Deserialize, Serialize};

use crate::DataTableError;
use crate::metrics;
use crate::table::{AggregationOps, DataTable};
use crate::value::{ColumnKey, Columns, GoalColumns, Goals, Metadata, Number, Scalar, Value};

/// The label of the summary ("Others") row (`DataTable::LABEL_SUMMARY_ROW`).
pub const SUMMARY_ROW_LABEL: &str = "-1";

/// How a column is combined when two rows with the same label are summed
/// (`column_aggregation_ops`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub enum ColumnOp {
    /// Add the values; `goals` are added goal by goal and metric by metric.
    Sum,
    /// Keep the larger value.
    Max,
    /// Keep the smaller value, ignoring zero/absent values as Matomo does.
    Min,
    /// Do not aggregate: the row keeps the value it already has.
    Skip,
}

/// A report row.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// The row label (`label` column); `-1` for the summary row.
    pub label: String,
    /// Metric columns in insertion order.
    pub columns: Columns,
    /// Row metadata (`url`, `logo`, `segment`, …).
    pub metadata: Metadata,
    /// The subtable id as stored (`idsubdatatable`), set by decoding or
    /// [`DataTable::number_subtables`].
    pub subtable_id: Option<u32>,
    /// The subtable, when loaded.
    pub subtable: Option<Box<DataTable>>,
    /// The rows of the compared series (`compare=1`: Matomo's
    /// `Row::getComparisons`), rendered as `comparisons` after the
    /// metadata; never stored.
    pub comparisons: Option<Box<DataTable>>,
    /// Whether the row's metadata came from a contributor with hits or
    /// visits (Matomo's `maxVisitsSummed`, a boolean in practice); unset
    /// until a sum, when the row's own hits or visits say it; transient.
    metadata_settled: Option<bool>,
}

impl PartialEq for Row {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label
            && self.columns == other.columns
            && self.metadata == other.metadata
            && self.subtable_id == other.subtable_id
            && self.subtable == other.subtable
            && self.comparisons == other.comparisons
    }
}

impl Row {
    /// A row with `label` and no columns.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            ..Self::default()
        }
    }

    /// Adds a column, returning `self` for chaining.
    pub fn with(mut self, key: impl Into<ColumnKey>, value: impl Into<Value>) -> Self {
        self.columns.set(key.into(), value.into());
        self
    }

    /// Adds a metadata entry, returning `self` for chaining.
    pub fn with_metadata(mut self, name: impl Into<String>, value: impl Into<Scalar>) -> Self {
        self.metadata.set(name.into(), value.into());
        self
    }

    /// Attaches a subtable, returning `self` for chaining.
    pub fn with_subtable(mut self, subtable: DataTable) -> Self {
        self.subtable = Some(Box::new(subtable));
        self
    }

    /// Whether this is the summary ("Others") row.
    pub fn is_summary_row(&self) -> bool {
        self.label == SUMMARY_ROW_LABEL
    }

    /// A column looked up as Matomo's filters do (name or id).
    pub fn column(&self, column: &str) -> Option<&Value> {
        self.columns.find(column)
    }

    /// Whether the row has hits or visits: what Matomo's
    /// `Row::sumRowMetadata` weighs a contributor by. Its
    /// `getColumn(nb_hits) || getColumn(nb_visits)` is a PHP boolean, so
    /// the first contributor with any keeps its metadata, not the one with
    /// the most.
    pub(crate) fn has_visits(&self) -> bool {
        let nonzero = |id: u16| {
            self.columns
                .iter()
                .find(|(key, _)| key.is_metric(id))
                .and_then(|(_, value)| value.as_f64())
                .is_some_and(|number| number != 0.0)
        };
        nonzero(metrics::NB_HITS) || nonzero(metrics::NB_VISITS)
    }

    /// Sums `other` into this row (`Row::sumRow`).
    ///
    /// Each column uses its op from `ops` (default `sum`); `max_actions` is
    /// always `max`; `label`-like columns are skipped. With `copy_metadata`,
    /// the row keeps the metadata of the first contributor with hits or
    /// visits (`Row::keep_first_metadata`). Subtables are not touched
    /// here (see [`DataTable::merge`]).
    ///
    /// # Errors
    ///
    /// [`DataTableError::UnsummableColumn`] when a number is added to a
    /// non-numeric string or to `goals`, where Matomo throws.
    pub fn sum_row(
        &mut self,
        other: &Row,
        ops: &AggregationOps,
        copy_metadata: bool,
    ) -> Result<(), DataTableError> {
        // Settled before the columns absorb `other`.
        let settled = self.metadata_settled();
        let mut hint = 0;
        for (key, other_value) in other.columns.iter() {
            if matches!(key, ColumnKey::Name(name) if name == "label" || name == "full_url") {
                continue;
            }
            hint = self.sum_column(hint, key, other_value, column_op(key, ops))?;
        }
        if copy_metadata && !other.metadata.is_empty() {
            self.keep_first_metadata(settled, other.has_visits(), || {
                Ok::<_, DataTableError>(other.metadata.clone())
            })?;
        }
        Ok(())
    }

    /// Gives a row new to a merge the values a sum into an empty row gives
    /// (Matomo's `aggregateRow` adds an empty row and sums into it): a
    /// [`Value::Decimal4`] under a `sum` column becomes its float, as PHP's
    /// `0 + "0.0620"` does; `min`/`max` columns keep the string.
    pub(crate) fn settle_sums(&mut self, ops: &AggregationOps) {
        for (key, value) in self.columns.iter_mut() {
            let Value::Decimal4(thousandths) = *value else {
                continue;
            };
            if column_op(key, ops) == ColumnOp::Sum {
                *value = Value::Float(crate::value::from_millis(thousandths));
            }
        }
    }

    /// Whether [`Row::sum_row`] keeps this row's metadata whatever comes
    /// next: set by an earlier sum, else whether the row (the first
    /// contributor) has hits or visits.
    pub(crate) fn metadata_settled(&self) -> bool {
        self.metadata_settled.unwrap_or_else(|| self.has_visits())
    }

    /// Matomo's `Row::sumRowMetadata`: a contributor's metadata (`other`'s
    /// is built only when taken) replaces the row's when the row has none,
    /// or when the contributor has hits or visits and no earlier one with
    /// them gave the row its metadata. Over sub-periods in date order, the
    /// earliest with the row gives it (a range's `/index` keeps the `url`
    /// of its first day). The summary row keeps none.
    pub(crate) fn keep_first_metadata<E>(
        &mut self,
        settled: bool,
        other_has_visits: bool,
        other_metadata: impl FnOnce() -> Result<Metadata, E>,
    ) -> Result<(), E> {
        if self.is_summary_row() {
            return Ok(());
        }
        if self.metadata.is_empty() || (other_has_visits && !settled) {
            self.metadata = other_metadata()?;
            self.metadata_settled = Some(other_has_visits);
        } else {
            self.metadata_settled = Some(settled);
        }
        Ok(())
    }

    /// Combines `other_value` into column `key` with `op` and returns the
    /// position just after the column, the hint for the next one. Rows of
    /// one report hold their columns in nearly the same order (a row may
    /// lack an optional column another has), so the column at `hint` is
    /// tried first and then the columns after it, before the whole row.
    pub(crate) fn sum_column(
        &mut self,
        hint: usize,
        key: &ColumnKey,
        other_value: &Value,
        op: ColumnOp,
    ) -> Result<usize, DataTableError> {
        let unsummable = |row: &Row| DataTableError::UnsummableColumn {
            column: key.name().into_owned(),
            label: row.label.clone(),
        };
        let Some(position) = self.columns.position_from(hint, key) else {
            let merged = merge_values(op, None, other_value).ok_or_else(|| unsummable(self))?;
            if let Some(value) = merged {
                self.columns.set(key.clone(), value);
            }
            return Ok(self.columns.len());
        };
        let Some((_, own_value)) = self.columns.entry_at_mut(position) else {
            return Err(DataTableError::Internal("column position out of range"));
        };
        // Two numbers (every archived column but `goals`): combined in
        // place, without the clones of the general path.
        if combine_numbers(op, own_value, other_value) {
            return Ok(position + 1);
        }
        // Page rows' per-goal metrics: summed in place, not cloned first.
        if op == ColumnOp::Sum
            && let (Value::Goals(own), Value::Goals(theirs)) = (&mut *own_value, other_value)
        {
            let summed = sum_goals(own, theirs);
            return match summed {
                Some(()) => Ok(position + 1),
                None => Err(unsummable(self)),
            };
        }
        match merge_values(op, Some(own_value), other_value) {
            Some(Some(value)) => *own_value = value,
            Some(None) => {}
            None => return Err(unsummable(self)),
        }
        Ok(position + 1)
    }
}

/// The op a column is summed with: its op in `ops` (default `sum`), and
/// always `max` for `max_actions`, as `Row::sumRow` does.
fn column_op(key: &ColumnKey, ops: &AggregationOps) -> ColumnOp {
    if key.is_metric(metrics::MAX_ACTIONS) {
        ColumnOp::Max
    } else if ops.is_empty() {
        ColumnOp::Sum
    } else {
        ops.get(key).copied().unwrap_or(ColumnOp::Sum)
    }
}

/// [`merge_values`] for two numbers, in place; false (nothing changed)
/// when either value is not an integer or a float.
fn combine_numbers(op: ColumnOp, own: &mut Value, other: &Value) -> bool {
    let number = |value: &Value| match value {
        Value::Int(a) => Some(Number::Int(*a)),
        Value::Float(a) => Some(Number::Float(*a)),
        // A DECIMAL string computes as its float; min / max below keep
        // the winning value itself, string included.
        Value::Decimal4(thousandths) => {
            Some(Number::Float(crate::value::from_millis(*thousandths)))
        }
        _ => None,
    };
    let (Some(mine), Some(theirs)) = (number(own), number(other)) else {
        return false;
    };
    let replace = match op {
        ColumnOp::Skip => false,
        ColumnOp::Sum => {
            *own = Value::from(mine.add(theirs));
            return true;
        }
        ColumnOp::Max => theirs.cmp_value(mine).is_gt(),
        // Zero is a value like any other (Matomo 5.1 on; before, its min
        // skipped zeros).
        ColumnOp::Min => theirs.cmp_value(mine).is_lt(),
    };
    if replace {
        *own = other.clone();
    }
    true
}

/// Combines two column values. `Ok(None)` means "leave the column as is";
/// the outer `None` means Matomo would throw.
fn merge_values(op: ColumnOp, current: Option<&Value>, other: &Value) -> Option<Option<Value>> {
    match op {
        ColumnOp::Skip => Some(None),
        // `Row::getColumnValuesMerged`: an empty side (null, false, "")
        // gives way to the other, whatever the op.
        ColumnOp::Max | ColumnOp::Min => Some(Some(match current {
            None => other.clone(),
            Some(current) if considered_empty(current) => other.clone(),
            Some(current) if considered_empty(other) => current.clone(),
            Some(current) => match (current.number(), other.number()) {
                (Some(a), Some(b)) => {
                    let order = b.cmp_value(a);
                    let wins = if op == ColumnOp::Max {
                        order.is_gt()
                    } else {
                        order.is_lt()
                    };
                    if wins { other.clone() } else { current.clone() }
                }
                (None, Some(_)) => other.clone(),
                _ => current.clone(),
            },
        })),
        ColumnOp::Sum => sum_values(current, other).map(Some),
    }
}

/// `Row::isValueConsideredEmpty`: null, false and the empty string.
fn considered_empty(value: &Value) -> bool {
    match value {
        Value::Null | Value::False => true,
        Value::Str(text) => text.is_empty(),
        Value::Int(_) | Value::Float(_) | Value::Decimal4(_) | Value::Goals(_) => false,
    }
}

/// `Row::sumRowArray`: numbers add, arrays add key-wise, two strings give 0.
fn sum_values(current: Option<&Value>, other: &Value) -> Option<Value> {
    // PHP's `false + x` is `x`.
    if *other == Value::False {
        return Some(current.cloned().unwrap_or(Value::False));
    }
    if let Some(number) = other.number() {
        return match current {
            None | Some(Value::False) => Some(Value::from(number)),
            Some(current) => current.number().map(|own| Value::from(own.add(number))),
        };
    }
    match (current, other) {
        (None, _) => Some(other.clone()),
        (Some(Value::Goals(own)), Value::Goals(theirs)) => {
            let mut summed = own.clone();
            sum_goals(&mut summed, theirs)?;
            Some(Value::Goals(summed))
        }
        (Some(_), Value::Goals(_)) => None,
        // Matomo warns and stores 0 when two non-numeric strings meet.
        (Some(_), _) => Some(Value::Int(0)),
    }
}

fn sum_goals(own: &mut Goals, theirs: &Goals) -> Option<()> {
    for (idgoal, their_columns) in theirs.0.iter() {
        match own.0.get_mut(idgoal) {
            None => own.0.set(*idgoal, their_columns.clone()),
            Some(own_columns) => sum_goal_columns(own_columns, their_columns)?,
        }
    }
    Some(())
}

fn sum_goal_columns(own: &mut GoalColumns, theirs: &GoalColumns) -> Option<()> {
    let mut hint = 0;
    for (key, their_value) in theirs.iter() {
        hint = sum_goal_column(own, hint, key, their_value)?;
    }
    Some(())
}

/// Adds one metric of a goal into `own` as `Row::sumRow` adds a column:
/// numbers add, a missing metric is taken, a string meeting a number is 0.
/// The search starts at `hint`: a goal's metrics come in the same order
/// from every day, so the next one is usually where the last one ended,
/// which the returned position says. `None` when the metric in `own` is
/// a string and theirs a number.
pub(crate) fn sum_goal_column(
    own: &mut GoalColumns,
    hint: usize,
    key: &ColumnKey,
    their_value: &Scalar,
) -> Option<usize> {
    let Some(position) = own.position_from(hint, key) else {
        own.set(key.clone(), their_value.clone());
        return Some(own.len());
    };
    let (_, current) = own.entry_at_mut(position)?;
    *current = match their_value.number() {
        Some(number) => Scalar::from(current.number()?.add(number)),
        None => Scalar::Int(0),
    };
    Some(position + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::OrderedMap;

    #[test]
    fn number_fast_path_equals_the_general_merge() {
        let values = [
            Value::Int(0),
            Value::Int(3),
            Value::Int(-2),
            Value::Int(i64::MAX),
            Value::Float(0.0),
            Value::Float(1.5),
            Value::Float(3.0),
            Value::Float(-0.25),
        ];
        for op in [ColumnOp::Sum, ColumnOp::Max, ColumnOp::Min, ColumnOp::Skip] {
            for own in &values {
                for other in &values {
                    let expected = match merge_values(op, Some(own), other) {
                        Some(Some(value)) => value,
                        Some(None) => own.clone(),
                        None => panic!("numbers always merge"),
                    };
                    let mut fast = own.clone();
                    assert!(combine_numbers(op, &mut fast, other));
                    assert_eq!(fast, expected, "{op:?} {own:?} {other:?}");
                }
            }
        }
        let mut text = Value::Str("a".into());
        assert!(!combine_numbers(ColumnOp::Sum, &mut text, &Value::Int(1)));
        assert!(!combine_numbers(
            ColumnOp::Sum,
            &mut Value::Int(1),
            &Value::False
        ));
    }

    #[test]
    fn columns_in_another_order_or_missing_are_found_by_key() {
        let mut row = Row::new("a").with(1u16, 1).with(2u16, 2).with(3u16, 3);
        let other = Row::new("a").with(3u16, 30).with(4u16, 40).with(1u16, 10);
        row.sum_row(&other, &AggregationOps::new(), false).unwrap();
        let column = |id: u16| row.columns.get(&ColumnKey::Id(id)).cloned();
        assert_eq!(column(1), Some(Value::Int(11)));
        assert_eq!(column(2), Some(Value::Int(2)));
        assert_eq!(column(3), Some(Value::Int(33)));
        assert_eq!(column(4), Some(Value::Int(40)));
        let order: Vec<_> = row.columns.keys().cloned().collect();
        assert_eq!(order, [1u16, 2, 3, 4].map(ColumnKey::Id));
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
    fn sum_row_adds_numbers_maxes_max_actions_and_sums_goals_keywise() {
        let mut row = Row::new("a")
            .with(2u16, 3)
            .with(4u16, 5)
            .with(9u16, 1.5)
            .with(10u16, Goals::new().with(1, goal(1, 2.5)));
        let other = Row::new("a")
            .with(2u16, 4)
            .with(4u16, 2)
            .with(9u16, 2)
            .with(
                10u16,
                Goals::new().with(1, goal(2, 1.0)).with(2, goal(1, 0.5)),
            )
            .with(3u16, 7);
        row.sum_row(&other, &OrderedMap::new(), true).unwrap();
        assert_eq!(row.columns.get(&ColumnKey::Id(2)), Some(&Value::Int(7)));
        assert_eq!(row.columns.get(&ColumnKey::Id(4)), Some(&Value::Int(5)));
        assert_eq!(row.columns.get(&ColumnKey::Id(9)), Some(&Value::Float(3.5)));
        assert_eq!(row.columns.get(&ColumnKey::Id(3)), Some(&Value::Int(7)));
        let expected_goals = Goals::new().with(1, goal(3, 3.5)).with(2, goal(1, 0.5));
        assert_eq!(
            row.columns.get(&ColumnKey::Id(10)),
            Some(&Value::Goals(expected_goals))
        );
    }

    #[test]
    fn min_and_max_skip_only_empty_values_and_skip_keeps_value() {
        let mut ops = AggregationOps::new();
        ops.set(ColumnKey::from("min_time"), ColumnOp::Min);
        ops.set(ColumnKey::from("first"), ColumnOp::Skip);
        ops.set(ColumnKey::from("peak"), ColumnOp::Max);
        let mut row = Row::new("a")
            .with("min_time", 3)
            .with("first", 1)
            .with("peak", Value::Null);
        let other = Row::new("a")
            .with("min_time", 4)
            .with("first", 9)
            .with("peak", 8);
        row.sum_row(&other, &ops, false).unwrap();
        assert_eq!(row.columns.find("min_time"), Some(&Value::Int(3)));
        assert_eq!(row.columns.find("first"), Some(&Value::Int(1)));
        // A null side gives way to the other (Matomo's isValueConsideredEmpty).
        assert_eq!(row.columns.find("peak"), Some(&Value::Int(8)));
        // Zero is a value: it is the minimum (Matomo 5.1 on).
        let zero = Row::new("a").with("min_time", 0).with("peak", Value::Null);
        row.sum_row(&zero, &ops, false).unwrap();
        assert_eq!(row.columns.find("min_time"), Some(&Value::Int(0)));
        assert_eq!(row.columns.find("peak"), Some(&Value::Int(8)));
        // Both null stays null; false and "" count as empty too.
        let mut empty = Row::new("b").with("min_time", Value::Null).with("peak", "");
        empty
            .sum_row(
                &Row::new("b").with("min_time", Value::Null).with("peak", 2),
                &ops,
                false,
            )
            .unwrap();
        assert_eq!(empty.columns.find("min_time"), Some(&Value::Null));
        assert_eq!(empty.columns.find("peak"), Some(&Value::Int(2)));
        empty
            .sum_row(&Row::new("b").with("min_time", 5.5), &ops, false)
            .unwrap();
        assert_eq!(empty.columns.find("min_time"), Some(&Value::Float(5.5)));
    }

    #[test]
    fn decimal_strings_sum_to_floats_and_min_max_keep_them() {
        let mut ops = AggregationOps::new();
        ops.set(ColumnKey::from("min_t"), ColumnOp::Min);
        ops.set(ColumnKey::from("max_t"), ColumnOp::Max);
        let day = |sum: i64, min: i64, max: i64| {
            Row::new("/index")
                .with("sum_t", Value::Decimal4(sum))
                .with("min_t", Value::Decimal4(min))
                .with("max_t", Value::Decimal4(max))
        };
        let mut row = day(62, 62, 62);
        row.sum_row(&day(33, 33, 33), &ops, false).unwrap();
        assert_eq!(row.columns.find("sum_t"), Some(&Value::Float(0.095)));
        assert_eq!(row.columns.find("min_t"), Some(&Value::Decimal4(33)));
        assert_eq!(row.columns.find("max_t"), Some(&Value::Decimal4(62)));
        // A row new to a merge is an empty row summed into: its sums become
        // floats (PHP's `0 + "0.0620"`), its bounds stay strings.
        let mut table = DataTable::new();
        table.aggregation_ops = ops.clone();
        let mut other = DataTable::new();
        other.add_row(day(62, 0, 62)).unwrap();
        table.merge(&other).unwrap();
        let merged = &table.rows()[0];
        assert_eq!(merged.columns.find("sum_t"), Some(&Value::Float(0.062)));
        assert_eq!(merged.columns.find("min_t"), Some(&Value::Decimal4(0)));
        assert_eq!(merged.columns.find("max_t"), Some(&Value::Decimal4(62)));
    }

    #[test]
    fn strings_sum_to_zero_and_number_plus_string_is_an_error() {
        let mut row = Row::new("a").with("name", "x");
        row.sum_row(&Row::new("a").with("name", "y"), &OrderedMap::new(), false)
            .unwrap();
        assert_eq!(row.columns.find("name"), Some(&Value::Int(0)));
        let mut row = Row::new("a").with("name", "x");
        let err = row
            .sum_row(&Row::new("a").with("name", 2), &OrderedMap::new(), false)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot sum column `name` of row `a`: a number and a non-numeric value"
        );
    }

    #[test]
    fn metadata_comes_from_the_first_contributor_with_visits() {
        let mut row = Row::new("a")
            .with(2u16, 5)
            .with_metadata("url", "http://one/");
        let fewer = Row::new("a")
            .with(2u16, 3)
            .with_metadata("url", "http://two/");
        let more = Row::new("a")
            .with(2u16, 9)
            .with_metadata("url", "http://three/");
        row.sum_row(&fewer, &OrderedMap::new(), true).unwrap();
        assert_eq!(row.metadata.get("url"), Some(&Scalar::from("http://one/")));
        // More visits do not win: Matomo compares booleans.
        row.sum_row(&more, &OrderedMap::new(), true).unwrap();
        assert_eq!(row.metadata.get("url"), Some(&Scalar::from("http://one/")));
        assert_eq!(row.columns.get(&ColumnKey::Id(2)), Some(&Value::Int(17)));

        // A first contributor without visits gives way to the first with.
        let mut row = Row::new("a")
            .with(2u16, 0)
            .with_metadata("url", "http://zero/");
        row.sum_row(&fewer, &OrderedMap::new(), true).unwrap();
        assert_eq!(row.metadata.get("url"), Some(&Scalar::from("http://two/")));
        row.sum_row(&more, &OrderedMap::new(), true).unwrap();
        assert_eq!(row.metadata.get("url"), Some(&Scalar::from("http://two/")));
    }
}
