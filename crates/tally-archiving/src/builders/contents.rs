//! Contents: content impressions and interactions by content name and
//! piece (MATOMO.md section 7.5; Matomo's
//! `plugins/Contents/RecordBuilders/ContentRecords.php`).

use std::collections::HashMap;
use std::sync::Arc;

use tally_datatable::{AggregationOps, ColumnKey, Columns, DataTable, metrics};

use crate::ArchiveError;
use crate::builders::{int, php_empty, sum_to_subtable};
use crate::context::{DayContext, SharedScan};
use crate::grouping::group_action_values;
use crate::logs::{ActionName, ActionValuesGroup, SpecialAction};
use crate::record::{Record, RecordBuilder};

/// [`Contents::NAME_PIECE`] (content names, each with a subtable of its
/// pieces) and [`Contents::PIECE_NAME`] (pieces → names).
///
/// Impressions are the content actions without an interaction, grouped as
/// Matomo groups them (by piece, target and name ids): each group adds
/// 1 `nb_uniq_visitors`, 2 `nb_visits`, 41 `nb_impressions` and
/// 42 `nb_interactions` = 0 to its row and subtable row, in that column
/// order; groups sharing a label (two targets of one piece) are summed,
/// unique visitors included. Interactions (grouped by piece, interaction
/// and name ids) add only 42 `nb_interactions`, and only to top-level
/// labels that already have impressions; their subtable rows are created
/// when missing. A PHP-empty (`""`, `"0"`, missing) piece is labelled
/// [`Contents::PIECE_NOT_SET`] at the top level of
/// [`Contents::PIECE_NAME`] for impressions (interactions keep the raw
/// label, so they never reach that row), and an empty second dimension adds
/// no subtable row. The interaction rate is a processed metric and is not
/// stored. Longer periods use the default aggregation (standard renames).
///
/// Differences from Matomo: no ranking query (Matomo keeps the top 50,000
/// groups of the day in SQL and sums the rest into "Others"; here every
/// group is read, and the 500 / 100 row limits apply when the tables are
/// stored).
#[derive(Debug, Clone)]
pub struct Contents {
    /// Top-level rows of both reports
    /// (`datatable_archiving_maximum_rows_actions`, default 500).
    pub max_rows: usize,
    /// Rows of each subtable
    /// (`datatable_archiving_maximum_rows_subtable_actions`, default 100).
    pub max_subtable_rows: usize,
}

impl Default for Contents {
    fn default() -> Self {
        Self {
            max_rows: 500,
            max_subtable_rows: 100,
        }
    }
}

impl Contents {
    /// Content names → pieces.
    pub const NAME_PIECE: &'static str = "Contents_name_piece";
    /// Content pieces → names.
    pub const PIECE_NAME: &'static str = "Contents_piece_name";
    /// The label of impressions without a piece (translated by the API).
    pub const PIECE_NOT_SET: &'static str = "Piwik_ContentPieceNotSet";
}

/// Positions of the piece and the name in both queries' labels.
const PIECE: usize = 0;
const NAME: usize = 2;

/// A `log_action` id as the query returns it (a decimal text).
fn action_id(group: &ActionValuesGroup, index: usize) -> Option<u32> {
    group
        .labels
        .get(index)
        .and_then(Option::as_deref)
        .and_then(|text| text.parse().ok())
}

/// A group with the names of its piece and its content name.
type Named<'g> = (Option<String>, Option<String>, &'g ActionValuesGroup);

fn named<'g>(
    groups: &'g [ActionValuesGroup],
    names: &HashMap<u32, Arc<ActionName>>,
) -> Vec<Named<'g>> {
    let name_of = |group: &ActionValuesGroup, index: usize| {
        action_id(group, index)
            .and_then(|id| names.get(&id))
            .map(|action| action.name.clone())
    };
    groups
        .iter()
        .map(|group| (name_of(group, PIECE), name_of(group, NAME), group))
        .collect()
}

/// Matomo's impression query (`interactions` false: piece, target and
/// name of the actions with a content name and no interaction) or its
/// interaction query (piece, interaction and name of those with one),
/// grouped in memory.
fn group_content_actions(actions: &[SpecialAction], interactions: bool) -> Vec<ActionValuesGroup> {
    group_action_values(
        actions,
        |action| (action.idvisit, action.idvisitor),
        |action, key| {
            let second = if interactions {
                action.content_interaction
            } else {
                action.content_target
            };
            key.push_int(action.content_piece.map(i64::from));
            key.push_int(second.map(i64::from));
            key.push_int(action.content_name.map(i64::from));
            action.content_name.is_some() && action.content_interaction.is_some() == interactions
        },
        None,
    )
}

impl RecordBuilder for Contents {
    fn plugin(&self) -> &str {
        "Contents"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::SpecialActions]
    }

    fn records(&self) -> Vec<Record> {
        [Self::NAME_PIECE, Self::PIECE_NAME]
            .into_iter()
            .map(|name| Record::blob(name).max_rows(self.max_rows, self.max_subtable_rows))
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        // Both from the shared scan of special actions, grouped in memory
        // on the ids Matomo's two queries group on.
        let actions = ctx.special_actions()?;
        let impression_groups = group_content_actions(&actions, false);
        if impression_groups.is_empty() {
            // Interactions only count where there are impressions.
            return Ok(());
        }
        let interaction_groups = group_content_actions(&actions, true);
        let ids: Vec<u32> = impression_groups
            .iter()
            .chain(&interaction_groups)
            .flat_map(|group| [action_id(group, PIECE), action_id(group, NAME)])
            .flatten()
            .collect();
        let names = ctx.action_names(ids)?;
        // Matomo's ORDER BY (most visits, then content name; most
        // interactions): the order decides which rows "Others" takes.
        let mut impressions = named(&impression_groups, &names);
        impressions.sort_by(|(_, a_name, a), (_, b_name, b)| {
            b.nb_visits
                .cmp(&a.nb_visits)
                .then_with(|| a_name.cmp(b_name))
        });
        let mut interactions = named(&interaction_groups, &names);
        interactions.sort_by_key(|(_, _, group)| std::cmp::Reverse(group.nb_hits));

        let ops = AggregationOps::new();
        let mut name_piece = DataTable::new();
        let mut piece_name = DataTable::new();
        for (piece, name, group) in &impressions {
            let mut columns = Columns::new();
            columns.set(
                ColumnKey::Id(metrics::NB_UNIQ_VISITORS),
                int(group.nb_uniq_visitors),
            );
            columns.set(ColumnKey::Id(metrics::NB_VISITS), int(group.nb_visits));
            columns.set(ColumnKey::Id(metrics::NB_IMPRESSIONS), int(group.nb_hits));
            columns.set(ColumnKey::Id(metrics::NB_INTERACTIONS), int(0));

            let row =
                name_piece.sum_row_with_label(name.as_deref().unwrap_or(""), columns.clone())?;
            if !php_empty(piece.as_deref()) {
                sum_to_subtable(row, piece.as_deref().unwrap_or(""), columns.clone(), &ops)?;
            }
            let piece_label = if php_empty(piece.as_deref()) {
                Self::PIECE_NOT_SET
            } else {
                piece.as_deref().unwrap_or("")
            };
            let row = piece_name.sum_row_with_label(piece_label, columns.clone())?;
            if !php_empty(name.as_deref()) {
                sum_to_subtable(row, name.as_deref().unwrap_or(""), columns, &ops)?;
            }
        }
        for (piece, name, group) in &interactions {
            let mut columns = Columns::new();
            columns.set(ColumnKey::Id(metrics::NB_INTERACTIONS), int(group.nb_hits));
            for (table, main, sub) in [
                (&mut name_piece, name, piece),
                (&mut piece_name, piece, name),
            ] {
                let main = main.as_deref().unwrap_or("");
                if table.row_by_label(main).is_none() {
                    continue;
                }
                let row = table.sum_row_with_label(main, columns.clone())?;
                if !php_empty(sub.as_deref()) {
                    sum_to_subtable(row, sub.as_deref().unwrap_or(""), columns.clone(), &ops)?;
                }
            }
        }
        ctx.insert_table(Self::NAME_PIECE, name_piece);
        ctx.insert_table(Self::PIECE_NAME, piece_name);
        Ok(())
    }
}
