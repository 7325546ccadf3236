//! CustomVariables: custom variable names with a subtable of their values
//! (MATOMO.md section 7.5; the optional plugin-CustomVariables'
//! `RecordBuilders/CustomVariables.php`).

use std::collections::HashMap;

use tally_datatable::{AggregationOps, ColumnKey, Columns, DataTable, Row, Scalar, metrics};

use crate::ArchiveError;
use crate::builders::goals::{enrich_with_goal_sums, goal_metric_columns};
use crate::builders::{int, label_of, sql_empty, sum_to_subtable, visit_columns};
use crate::context::{DayContext, PeriodContext, SharedScan};
use crate::grouping::{group_actions, group_visit_dimensions};
use crate::record::{Record, RecordBuilder};

/// [`CustomVariables::VALUE_BY_NAME`]: one row per custom variable name,
/// with a subtable of its values, over the five slots of both scopes.
///
/// For each slot 1 to 5 in turn, as Matomo: visit-scope variables
/// (`log_visit.custom_var_k<slot>` / `_v<slot>`) add the 8 visit metrics
/// (1, 2, 3, 39, 4, 5, 6, 7) to the name row and to the value row of its
/// subtable; page-scope variables (the same columns of
/// `log_link_visit_action`) add 1 `nb_uniq_visitors`, 2 `nb_visits` and
/// 3 `nb_actions` (hits); conversions (the same columns of
/// `log_conversion`) add their goal metrics (column 10), and the rows get
/// Matomo's `nb_conversions` / `revenue` sums. Names that SQL compares
/// equal to `''` are left
/// out; an empty or missing value is labelled
/// [`CustomVariables::VALUE_NOT_DEFINED`]. A name row that only page-scope
/// variables reached loses its visit and visitor columns (they cannot be
/// summed over actions), unless the name is one of Matomo's reserved
/// ecommerce and site-search keys; its value rows keep them. Every name row
/// gets the metadata [`CustomVariables::SLOTS`]: the scopes and slot
/// indexes it was seen in. Longer periods merge the days by label (standard
/// renames) and unite the slot lists, as Matomo's `uniquearraymerge`.
///
/// Differences from Matomo:
/// - `slots` is stored as the JSON text of Matomo's list, e.g.
///   `[{"scope":"visit","index":1},{"scope":"page","index":2}]`, because
///   our row metadata holds scalars only; the renderers show it as
///   Matomo's nested array (`tally_datatable::render::ARRAY_METADATA`).
/// - The pre-Matomo-4 ecommerce custom variables are not special-cased:
///   no product price viewed on `_pks` / `_pkn` / `_pkc` values and no
///   splitting of `_pkc` JSON category lists (Matomo only does either for
///   installs older than 4.0).
#[derive(Debug, Clone)]
pub struct CustomVariables {
    /// Top-level rows (`datatable_archiving_maximum_rows_custom_dimensions`,
    /// which Matomo 4 made the plugin's key, default 1000).
    pub max_rows: usize,
    /// Rows of each value subtable
    /// (`datatable_archiving_maximum_rows_subtable_custom_dimensions`,
    /// default 1000).
    pub max_subtable_rows: usize,
}

impl Default for CustomVariables {
    fn default() -> Self {
        Self {
            max_rows: 1000,
            max_subtable_rows: 1000,
        }
    }
}

impl CustomVariables {
    /// Names → values.
    pub const VALUE_BY_NAME: &'static str = "CustomVariables_valueByName";
    /// The label of an empty value.
    pub const VALUE_NOT_DEFINED: &'static str = "Value not defined";
    /// The metadata listing the scopes and slots of a name.
    pub const SLOTS: &'static str = "slots";

    fn record(&self) -> Record {
        Record::blob(Self::VALUE_BY_NAME).max_rows(self.max_rows, self.max_subtable_rows)
    }
}

/// Keys whose name rows keep their visit columns even when only page-scope
/// variables reached them (`API::getReservedCustomVariableKeys`).
const RESERVED_KEYS: [&str; 6] = ["_pks", "_pkn", "_pkc", "_pkp", "_pk_scat", "_pk_scount"];

/// The name and value columns of each slot on `log_conversion`.
const CONVERSION_SLOTS: [[&str; 2]; 5] = [
    [
        "log_conversion.custom_var_k1",
        "log_conversion.custom_var_v1",
    ],
    [
        "log_conversion.custom_var_k2",
        "log_conversion.custom_var_v2",
    ],
    [
        "log_conversion.custom_var_k3",
        "log_conversion.custom_var_v3",
    ],
    [
        "log_conversion.custom_var_k4",
        "log_conversion.custom_var_v4",
    ],
    [
        "log_conversion.custom_var_k5",
        "log_conversion.custom_var_v5",
    ],
];

/// Where a name was seen: a scope and a slot index.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    scope: String,
    index: u8,
}

/// Matomo's `Model::SCOPE_VISIT` and `SCOPE_PAGE`.
const SCOPE_VISIT: &str = "visit";
const SCOPE_PAGE: &str = "page";

/// The JSON text of a slot list.
fn encode_slots(slots: &[Slot]) -> String {
    let items: Vec<String> = slots
        .iter()
        .map(|slot| format!(r#"{{"scope":"{}","index":{}}}"#, slot.scope, slot.index))
        .collect();
    format!("[{}]", items.join(","))
}

/// Reads back what [`encode_slots`] wrote; anything else gives the slots it
/// can recognise.
fn decode_slots(text: &str) -> Vec<Slot> {
    let mut slots = Vec::new();
    let mut rest = text;
    while let Some((_, after)) = rest.split_once(r#""scope":""#) {
        let Some((scope, after)) = after.split_once('"') else {
            break;
        };
        let Some((_, after)) = after.split_once(r#""index":"#) else {
            break;
        };
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(index) = digits.parse() {
            slots.push(Slot {
                scope: scope.to_owned(),
                index,
            });
        }
        rest = after;
    }
    slots
}

/// Appends `slot` to the slot list of `name` unless it is there already.
fn add_slot(slots: &mut HashMap<String, Vec<Slot>>, name: &str, slot: Slot) {
    let list = slots.entry(name.to_owned()).or_default();
    if !list.contains(&slot) {
        list.push(slot);
    }
}

/// The label of a value: NULL and `""` are "Value not defined".
fn value_label(labels: &[Option<String>]) -> &str {
    match label_of(labels, 1) {
        "" => CustomVariables::VALUE_NOT_DEFINED,
        value => value,
    }
}

/// Whether only page-scope variables reached this name row: its columns
/// are exactly unique visitors, visits and actions
/// (`DataArray::isRowActions`).
fn is_actions_row(row: &Row) -> bool {
    row.columns.len() == 3
        && row
            .columns
            .contains_key(&ColumnKey::Id(metrics::NB_ACTIONS))
}

impl RecordBuilder for CustomVariables {
    fn plugin(&self) -> &str {
        "CustomVariables"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions, SharedScan::SpecialActions]
    }

    fn records(&self) -> Vec<Record> {
        vec![self.record()]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        // Both scopes grouped in memory: the visits from the shared visit
        // scan, the page-scope actions from the shared scan of special
        // actions (instead of two GROUP BYs per slot).
        let logs = ctx.logs();
        let visits = ctx.visit_dimensions()?;
        let actions = ctx.special_actions()?;
        let ops = AggregationOps::new();
        let mut table = DataTable::new();
        let mut slots: HashMap<String, Vec<Slot>> = HashMap::new();
        for (slot, index) in (1..=5u8).enumerate() {
            // Only rows with a name (Matomo's `custom_var_k<slot> != ''`).
            for group in group_visit_dimensions(&visits, |v, key| {
                let name = v.custom_var_names[slot].as_deref();
                key.push(name);
                key.push(v.custom_var_values[slot].as_deref());
                !sql_empty(name)
            }) {
                let name = label_of(&group.labels, 0);
                let scope = SCOPE_VISIT.to_owned();
                add_slot(&mut slots, name, Slot { scope, index });
                let columns = visit_columns(&group);
                let row = table.sum_row_with_label(name, columns.clone())?;
                sum_to_subtable(row, value_label(&group.labels), columns, &ops)?;
            }
            for group in group_actions(
                actions.iter(),
                |action| (action.idvisit, action.idvisitor),
                |action, key| {
                    let name = action.custom_var_names[slot].as_deref();
                    key.push(name);
                    key.push(action.custom_var_values[slot].as_deref());
                    !sql_empty(name)
                },
            ) {
                let name = label_of(&group.labels, 0);
                let scope = SCOPE_PAGE.to_owned();
                add_slot(&mut slots, name, Slot { scope, index });
                let mut columns = Columns::new();
                columns.set(
                    ColumnKey::Id(metrics::NB_UNIQ_VISITORS),
                    int(group.nb_uniq_visitors),
                );
                columns.set(ColumnKey::Id(metrics::NB_VISITS), int(group.nb_visits));
                columns.set(ColumnKey::Id(metrics::NB_ACTIONS), int(group.nb_hits));
                let row = table.sum_row_with_label(name, columns.clone())?;
                sum_to_subtable(row, value_label(&group.labels), columns, &ops)?;
            }
            // Goal metrics of the conversions with a name in this slot
            // (log_conversion copies the visit's custom variables), added
            // to the name row and its value row.
            for group in logs.query_conversions_by_dimension(ctx.conn(), &CONVERSION_SLOTS[slot])? {
                let name = group.labels.first().and_then(Option::as_deref);
                if sql_empty(name) {
                    continue;
                }
                let columns = goal_metric_columns(&group);
                let row = table.sum_row_with_label(label_of(&group.labels, 0), columns.clone())?;
                sum_to_subtable(row, value_label(&group.labels), columns, &ops)?;
            }
        }
        if table.rows_count() == 0 {
            return Ok(());
        }
        for row in table.rows_mut() {
            // A visit that sets a page-scope variable on several actions
            // counts once per action group: its visits cannot be summed.
            if !RESERVED_KEYS.contains(&row.label.as_str()) && is_actions_row(row) {
                for id in [
                    metrics::NB_UNIQ_VISITORS,
                    metrics::NB_VISITS,
                    metrics::NB_USERS,
                ] {
                    row.columns.remove(&ColumnKey::Id(id));
                }
            }
        }
        // After the visit columns are dropped, as Matomo's order: a row
        // with conversions and no visits gets `nb_visits` 0.
        enrich_with_goal_sums(&mut table);
        for row in table.rows_mut() {
            if let Some(list) = slots.get(&row.label) {
                row.metadata
                    .set(Self::SLOTS.to_owned(), Scalar::Str(encode_slots(list)));
            }
        }
        ctx.insert_table(Self::VALUE_BY_NAME, table);
        Ok(())
    }

    fn build_period(&self, ctx: &mut PeriodContext<'_>) -> Result<(), ArchiveError> {
        let record = self.record();
        let tables = ctx.subperiod_tables(&record)?;
        if tables.is_empty() {
            return Ok(());
        }
        // The default merge keeps the metadata of the first day; the
        // slot lists are united instead (Matomo's `uniquearraymerge`), in
        // the order the sub-periods first name them.
        let mut merged = DataTable::new();
        merged.aggregation_ops = record.aggregation_ops.clone();
        let mut slots: HashMap<String, Vec<Slot>> = HashMap::new();
        for table in &tables {
            merged.merge(table)?;
            for row in table.rows() {
                if let Some(Scalar::Str(text)) = row.metadata.get(Self::SLOTS) {
                    for slot in decode_slots(text) {
                        add_slot(&mut slots, &row.label, slot);
                    }
                }
            }
        }
        for row in merged.rows_mut() {
            if let Some(list) = slots.get(&row.label) {
                row.metadata
                    .set(Self::SLOTS.to_owned(), Scalar::Str(encode_slots(list)));
            }
        }
        ctx.insert_table(Self::VALUE_BY_NAME, merged);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_through_their_json_text() {
        let slots = vec![
            Slot {
                scope: SCOPE_VISIT.to_owned(),
                index: 1,
            },
            Slot {
                scope: SCOPE_PAGE.to_owned(),
                index: 5,
            },
        ];
        let text = encode_slots(&slots);
        assert_eq!(
            text,
            r#"[{"scope":"visit","index":1},{"scope":"page","index":5}]"#
        );
        assert_eq!(decode_slots(&text), slots);
        assert_eq!(decode_slots("[]"), []);
        assert_eq!(decode_slots("garbage"), []);
    }

    #[test]
    fn empty_values_are_not_defined() {
        assert_eq!(value_label(&[Some("k".into()), None]), "Value not defined");
        assert_eq!(
            value_label(&[Some("k".into()), Some(String::new())]),
            "Value not defined"
        );
        assert_eq!(value_label(&[Some("k".into()), Some("0".into())]), "0");
    }
}
