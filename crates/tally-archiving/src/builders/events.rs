//! Events: event categories, actions and names, each paired with another
//! of the three in a subtable (MATOMO.md section 7.5; Matomo's
//! `plugins/Events/RecordBuilders/EventReports.php`).

use tally_datatable::format::round_php;
use tally_datatable::{AggregationOps, ColumnKey, ColumnOp, Columns, DataTable, Value, metrics};

use crate::ArchiveError;
use crate::builders::{count, int, php_empty, sum_to_subtable};
use crate::context::{DayContext, SharedScan};
use crate::grouping::group_action_values;
use crate::logs::{ActionValuesGroup, SpecialAction};
use crate::record::{Record, RecordBuilder};

/// The six event reports: [`Events::CATEGORY_ACTION`],
/// [`Events::CATEGORY_NAME`], [`Events::ACTION_CATEGORY`],
/// [`Events::ACTION_NAME`], [`Events::NAME_ACTION`] and
/// [`Events::NAME_CATEGORY`]. Each is labelled with its first dimension and
/// has, per row, a subtable of its second.
///
/// One GROUP BY event category, action and name ids (the `log_action` ids,
/// as Matomo groups) over the event actions of the day
/// (`idaction_event_category IS NOT NULL`) gives every report; the ids are
/// then named from `log_action`. Each group adds to each report, in this
/// column order: 1 `nb_uniq_visitors`, 2 `nb_visits`, 34 `nb_events`
/// (hits), 38 `nb_events_with_value`, 35 `sum_event_value` (rounded to 2
/// decimals), 36 `min_event_value` and 37 `max_event_value` (rounded to 2
/// decimals, combined with min / max). Groups sharing a label are summed,
/// unique visitors included, as Matomo sums them. A missing or PHP-empty
/// (`""`, `"0"`) event name is labelled [`Events::EVENT_NAME_NOT_SET`]
/// where it is the first dimension; an empty second dimension adds no
/// subtable row. A missing category or action is the empty label. Longer
/// periods use the default aggregation with min / max ops on 36 / 37 and
/// the standard renames (1 → 11).
///
/// A group without any event value has NULL `min_event_value` /
/// `max_event_value` ([`Value::Null`]), as in Matomo 5.1.
///
/// Difference from Matomo:
/// - No ranking query: Matomo keeps the top 50,000 (category, action, name)
///   groups of the day in SQL and sums the rest into an "Others" group;
///   here every group is read (the 500 / 500 row limits still apply when
///   the tables are stored).
#[derive(Debug, Clone)]
pub struct Events {
    /// Top-level rows of each report
    /// (`datatable_archiving_maximum_rows_events`, default 500).
    pub max_rows: usize,
    /// Rows of each subtable
    /// (`datatable_archiving_maximum_rows_subtable_events`, default 500).
    pub max_subtable_rows: usize,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            max_rows: 500,
            max_subtable_rows: 500,
        }
    }
}

impl Events {
    /// Categories → actions.
    pub const CATEGORY_ACTION: &'static str = "Events_category_action";
    /// Categories → names.
    pub const CATEGORY_NAME: &'static str = "Events_category_name";
    /// Actions → categories.
    pub const ACTION_CATEGORY: &'static str = "Events_action_category";
    /// Actions → names.
    pub const ACTION_NAME: &'static str = "Events_action_name";
    /// Names → actions.
    pub const NAME_ACTION: &'static str = "Events_name_action";
    /// Names → categories.
    pub const NAME_CATEGORY: &'static str = "Events_name_category";
    /// The label of events without a name (translated by the API).
    pub const EVENT_NAME_NOT_SET: &'static str = "Piwik_EventNameNotSet";
}

/// One of the three event dimensions, as an index into the group labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Category = 0,
    Action = 1,
    Name = 2,
}

/// The dimensions in label order.
const ALL: [Dimension; 3] = [Dimension::Category, Dimension::Action, Dimension::Name];

/// Each record with its top-level and subtable dimensions.
const REPORTS: [(&str, Dimension, Dimension); 6] = [
    (
        Events::CATEGORY_ACTION,
        Dimension::Category,
        Dimension::Action,
    ),
    (Events::CATEGORY_NAME, Dimension::Category, Dimension::Name),
    (
        Events::ACTION_CATEGORY,
        Dimension::Action,
        Dimension::Category,
    ),
    (Events::ACTION_NAME, Dimension::Action, Dimension::Name),
    (Events::NAME_ACTION, Dimension::Name, Dimension::Action),
    (Events::NAME_CATEGORY, Dimension::Name, Dimension::Category),
];

/// The column ops of every event table and subtable.
fn ops() -> AggregationOps {
    let mut ops = AggregationOps::new();
    ops.set(ColumnKey::Id(metrics::MIN_EVENT_VALUE), ColumnOp::Min);
    ops.set(ColumnKey::Id(metrics::MAX_EVENT_VALUE), ColumnOp::Max);
    ops
}

/// The columns one group adds to every report it belongs to.
fn event_columns(group: &ActionValuesGroup) -> Columns {
    let value = |index: usize| group.values.get(index).copied().flatten();
    let mut columns = Columns::new();
    columns.set(
        ColumnKey::Id(metrics::NB_UNIQ_VISITORS),
        int(group.nb_uniq_visitors),
    );
    columns.set(ColumnKey::Id(metrics::NB_VISITS), int(group.nb_visits));
    columns.set(ColumnKey::Id(metrics::NB_EVENTS), int(group.nb_hits));
    columns.set(
        ColumnKey::Id(metrics::NB_EVENTS_WITH_VALUE),
        int(count(value(1))),
    );
    columns.set(
        ColumnKey::Id(metrics::SUM_EVENT_VALUE),
        Value::Float(round_php(value(0).unwrap_or(0.0), 2)),
    );
    // NULL bounds for a group without values, as Matomo 5.1 stores them:
    // the API shows them empty, and min / max aggregation skips them.
    for (index, id) in [(2, metrics::MIN_EVENT_VALUE), (3, metrics::MAX_EVENT_VALUE)] {
        let bound = value(index).map_or(Value::Null, |extreme| Value::Float(round_php(extreme, 2)));
        columns.set(ColumnKey::Id(id), bound);
    }
    columns
}

/// A `log_action` id as the query returns it (a decimal text).
fn action_id(labels: &[Option<String>], dimension: Dimension) -> Option<u32> {
    labels
        .get(dimension as usize)
        .and_then(Option::as_deref)
        .and_then(|text| text.parse().ok())
}

impl RecordBuilder for Events {
    fn plugin(&self) -> &str {
        "Events"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::SpecialActions]
    }

    fn records(&self) -> Vec<Record> {
        REPORTS
            .iter()
            .map(|(name, _, _)| {
                Record::blob(*name)
                    .max_rows(self.max_rows, self.max_subtable_rows)
                    .column_op(metrics::MIN_EVENT_VALUE, ColumnOp::Min)
                    .column_op(metrics::MAX_EVENT_VALUE, ColumnOp::Max)
            })
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        // The events (`idaction_event_category IS NOT NULL`) of the shared
        // scan of special actions, grouped in memory on the category,
        // action and name ids, with the value's sum, count, min and max.
        let actions = ctx.special_actions()?;
        let value = |action: &SpecialAction| action.custom_float;
        let groups = group_action_values(
            actions.iter(),
            |action| (action.idvisit, action.idvisitor),
            |action, key| {
                key.push_int(action.event_category.map(i64::from));
                key.push_int(action.event_action.map(i64::from));
                key.push_int(action.idaction_name.map(i64::from));
                action.event_category.is_some()
            },
            Some(&value),
        );
        if groups.is_empty() {
            return Ok(());
        }
        let ids: Vec<u32> = groups
            .iter()
            .flat_map(|group| ALL.map(|dimension| action_id(&group.labels, dimension)))
            .flatten()
            .collect();
        let names = ctx.action_names(ids)?;
        let name_of = |group: &ActionValuesGroup, dimension: Dimension| {
            action_id(&group.labels, dimension)
                .and_then(|id| names.get(&id))
                .map(|action| action.name.clone())
        };
        let mut named: Vec<([Option<String>; 3], &ActionValuesGroup)> = groups
            .iter()
            .map(|group| (ALL.map(|dimension| name_of(group, dimension)), group))
            .collect();
        // Matomo's ORDER BY: most visits first, then by event name. The
        // order decides which rows a full table sends to "Others".
        named.sort_by(|(a_labels, a), (b_labels, b)| {
            b.nb_visits.cmp(&a.nb_visits).then_with(|| {
                a_labels[Dimension::Name as usize].cmp(&b_labels[Dimension::Name as usize])
            })
        });
        let ops = ops();
        let mut tables: Vec<DataTable> = REPORTS
            .iter()
            .map(|_| {
                let mut table = DataTable::new();
                table.aggregation_ops = ops.clone();
                table
            })
            .collect();
        for (labels, group) in &named {
            let columns = event_columns(group);
            for ((_, main, sub), table) in REPORTS.iter().zip(tables.iter_mut()) {
                let main_label = labels[*main as usize].as_deref();
                let main_label = if *main == Dimension::Name && php_empty(main_label) {
                    Events::EVENT_NAME_NOT_SET
                } else {
                    main_label.unwrap_or("")
                };
                let row = table.sum_row_with_label(main_label, columns.clone())?;
                let sub_label = labels[*sub as usize].as_deref();
                if let Some(sub_label) = sub_label.filter(|label| !php_empty(Some(label))) {
                    sum_to_subtable(row, sub_label, columns.clone(), &ops)?;
                }
            }
        }
        for ((name, _, _), table) in REPORTS.iter().zip(tables) {
            ctx.insert_table(name, table);
        }
        Ok(())
    }
}
