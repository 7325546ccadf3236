//! Summing stored tables straight from their bytes.
//!
//! A month is built by merging some thirty day or week tables of tens of
//! thousands of rows each. Decoding each of them into a [`DataTable`] first
//! allocates every label, column list and metadata list, only for nearly
//! all of them to be added to a row that is already in the sum and
//! dropped. [`TableSum`] walks the stored bytes instead: a row whose label
//! is already in the sum and whose columns are all numbers under metric ids
//! (what archived rows hold), plus at most one `goals` column, is added in
//! place, without allocating for anything but a goal new to the row. Any
//! other row (a new label, a named or string column, a summary row) is
//! decoded and merged exactly as [`DataTable::merge`] merges it.
//!
//! The result is the table that decoding every stored table, renaming its
//! columns and merging the tables in order would give; the property test
//! `table_sum_equals_decode_and_merge` checks that on random trees.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use crate::DataTableError;
use crate::metrics;
use crate::row::{ColumnOp, Row, sum_goal_column};
use crate::storage::{
    KIND_CHUNK, KIND_TABLE, MAX_DEPTH, StoredRow, chunk_index, decode_limited, decode_payload,
    read_blob,
};
use crate::table::{AggregationOps, DataTable, rename_pairs};
use crate::value::{
    ColumnKey, DECIMAL4_VARIANT, GOALS_VARIANT, GoalColumns, Goals, MILLIS_VARIANT, Metadata,
    NULL_VARIANT, Scalar, Value, from_millis,
};

/// A running sum of stored tables (`addDataTable` over blobs).
///
/// ```
/// use tally_datatable::{DataTable, Row, storage::encode_table, TableSum};
///
/// let day = DataTable::from_rows([Row::new("/home").with(2u16, 3)]);
/// let stored = encode_table(&day)?;
/// let mut sum = TableSum::new(Default::default());
/// for _ in 0..2 {
///     sum.add_stored(&stored.root, stored.chunks.iter().map(|c| c.bytes.as_slice()), &[])?;
/// }
/// let week = sum.finish();
/// assert_eq!(week.rows()[0].column("nb_visits").and_then(|v| v.as_f64()), Some(6.0));
/// # Ok::<(), tally_datatable::DataTableError>(())
/// ```
#[derive(Debug)]
pub struct TableSum {
    table: DataTable,
    ops: AggregationOps,
    /// The op of each metric id that `ops` names by id.
    ops_by_id: Vec<Option<ColumnOp>>,
    /// The columns of the row being read, reused from row to row.
    scratch: Vec<(u16, Value)>,
    /// The share of the top-level labels this sum takes, when it is one
    /// part of a sum split over threads ([`TableSum::part`]).
    part: Option<Part>,
    /// For a part: where each top-level row was first seen, (table, row),
    /// in the order of the rows: what [`TableSum::join`] orders the parts'
    /// rows by.
    first_seen: Vec<(u32, u32)>,
    /// Tables added so far.
    added: u32,
}

/// Part `index` of `count`: the top-level labels whose hash falls in it.
#[derive(Debug, Clone, Copy)]
struct Part {
    index: u32,
    count: u32,
}

impl Part {
    /// Whether this part takes the row labelled `label`. The summary row,
    /// and a row whose label does not read (which the sum reports), go to
    /// part 0.
    fn takes(self, label: Option<&str>) -> bool {
        match label {
            Some(label) => crc32fast::hash(label.as_bytes()) % self.count == self.index,
            None => self.index == 0,
        }
    }
}

/// The top level of one stored table as a part reads it.
struct Top<'a> {
    part: Part,
    first_seen: &'a mut Vec<(u32, u32)>,
    table: u32,
}

/// A stored table's blobs with their headers checked and their payloads
/// decompressed: the part of [`TableSum::add_stored`] that needs no sum.
#[derive(Debug, Clone, Default)]
pub struct InflatedTable {
    root: Vec<u8>,
    chunks: Vec<Vec<u8>>,
}

impl InflatedTable {
    /// Checks and decompresses a root blob and its chunk blobs.
    ///
    /// # Errors
    ///
    /// Any header, checksum or decompression error.
    pub fn new<'a>(
        root: &[u8],
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, DataTableError> {
        Ok(Self {
            root: read_blob(root, KIND_TABLE)?,
            chunks: chunks
                .into_iter()
                .map(|chunk| read_blob(chunk, KIND_CHUNK))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// What one [`TableSum::add_stored`] call reads with.
struct Pass<'a> {
    ops: &'a AggregationOps,
    ops_by_id: &'a [Option<ColumnOp>],
    renames: &'a [(u16, u16)],
    rename_pairs: Vec<(ColumnKey, ColumnKey)>,
    /// Subtable payloads not yet used, by id; taking one out makes a
    /// subtable that two rows share fail, as decoding does.
    subtables: HashMap<u32, &'a [u8]>,
}

impl TableSum {
    /// An empty sum whose columns combine with `ops` (the record's
    /// `column_aggregation_ops`; `max_actions` is always `max`).
    pub fn new(ops: AggregationOps) -> Self {
        let mut ops_by_id = Vec::new();
        for (key, op) in ops.iter() {
            if let ColumnKey::Id(id) = key {
                let index = usize::from(*id);
                if ops_by_id.len() <= index {
                    ops_by_id.resize(index + 1, None);
                }
                if let Some(slot) = ops_by_id.get_mut(index)
                    && slot.is_none()
                {
                    *slot = Some(*op);
                }
            }
        }
        Self {
            table: DataTable::new(),
            ops,
            ops_by_id,
            scratch: Vec::new(),
            part: None,
            first_seen: Vec::new(),
            added: 0,
        }
    }

    /// Part `index` of a sum split `count` ways: it sums only the
    /// top-level rows (with their subtables) whose label hashes into it,
    /// so that `count` threads can each add every stored table to their
    /// own part, and [`TableSum::join`] puts the parts together into the
    /// table one sum gives. A record of tens of thousands of rows has
    /// hundreds of top-level rows to share out; each part reads the other
    /// parts' top-level rows only to skip them.
    pub fn part(ops: AggregationOps, index: usize, count: usize) -> Self {
        let mut sum = Self::new(ops);
        let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let count = as_u32(count.max(1));
        sum.part = Some(Part {
            index: as_u32(index).min(count - 1),
            count,
        });
        sum
    }

    /// The parts of a split sum ([`TableSum::part`], all given the same
    /// tables) as one table: each label's row from the part that took it,
    /// in the order the rows were first seen, and part 0's summary row.
    ///
    /// # Errors
    ///
    /// [`DataTableError::Internal`] when the parts do not fit together
    /// (or a sum that is not a part is given).
    pub fn join(parts: Vec<Self>) -> Result<DataTable, DataTableError> {
        let mut keyed = Vec::new();
        let mut summary = None;
        let mut ops = None;
        for part in parts {
            let Self {
                mut table,
                ops: part_ops,
                first_seen,
                part,
                ..
            } = part;
            let Some(part) = part else {
                return Err(DataTableError::Internal(
                    "only the parts of a split sum are joined",
                ));
            };
            if part.index == 0 {
                summary = table.take_summary_row();
                ops = Some(part_ops);
            }
            let rows = table.take_rows();
            if rows.len() != first_seen.len() {
                return Err(DataTableError::Internal("a part lost track of its rows"));
            }
            keyed.extend(first_seen.into_iter().zip(rows));
        }
        keyed.sort_unstable_by_key(|(seen, _)| *seen);
        let mut table = DataTable::from_rows(keyed.into_iter().map(|(_, row)| row));
        if let Some(summary) = summary {
            table.set_summary_row(summary);
        }
        table.aggregation_ops = ops.unwrap_or_default();
        Ok(table)
    }

    /// Adds one stored table: its root blob and the chunk blobs of its
    /// subtables, as [`crate::storage::decode_tree`] takes them. `renames`
    /// (metric id pairs such as [`metrics::RENAME_AFTER_AGGREGATION`]) are
    /// applied to the stored table first, as
    /// [`DataTable::rename_after_aggregation`] does to a day table.
    ///
    /// # Errors
    ///
    /// Any error decoding the blobs would give, and
    /// [`DataTableError::UnsummableColumn`] where merging fails. After an
    /// error the sum is partly updated and should be discarded.
    pub fn add_stored<'a>(
        &mut self,
        root: &[u8],
        chunks: impl IntoIterator<Item = &'a [u8]>,
        renames: &[(u16, u16)],
    ) -> Result<(), DataTableError> {
        self.add_inflated(&InflatedTable::new(root, chunks)?, renames)
    }

    /// [`TableSum::add_stored`] for blobs already checked and decompressed
    /// (which can happen on another thread while this sum runs).
    ///
    /// # Errors
    ///
    /// As [`TableSum::add_stored`].
    pub fn add_inflated(
        &mut self,
        stored: &InflatedTable,
        renames: &[(u16, u16)],
    ) -> Result<(), DataTableError> {
        let mut subtables = HashMap::new();
        for payload in &stored.chunks {
            for (id, range) in chunk_index(payload)? {
                let bytes = payload
                    .get(range)
                    .ok_or(DataTableError::CorruptChunk("entry runs past the payload"))?;
                subtables.insert(id, bytes);
            }
        }
        let mut pass = Pass {
            ops: &self.ops,
            ops_by_id: &self.ops_by_id,
            renames,
            rename_pairs: rename_pairs(renames),
            subtables,
        };
        let mut top = self.part.map(|part| Top {
            part,
            first_seen: &mut self.first_seen,
            table: self.added,
        });
        self.added += 1;
        merge_payload(
            &mut self.table,
            &stored.root,
            &mut pass,
            &mut self.scratch,
            0,
            top.as_mut(),
        )
    }

    /// Adds a table already in memory ([`DataTable::merge`]).
    ///
    /// # Errors
    ///
    /// [`DataTableError::UnsummableColumn`] where merging fails;
    /// [`DataTableError::Internal`] for a part of a split sum.
    pub fn add_table(&mut self, table: &DataTable) -> Result<(), DataTableError> {
        if self.part.is_some() {
            return Err(DataTableError::Internal(
                "a part of a split sum takes stored tables only",
            ));
        }
        self.table.aggregation_ops = std::mem::take(&mut self.ops);
        let merged = self.table.merge(table);
        self.ops = std::mem::take(&mut self.table.aggregation_ops);
        merged
    }

    /// Whether nothing has been added yet (or only empty tables).
    pub fn is_empty(&self) -> bool {
        self.table.rows_count() == 0
    }

    /// The sum, carrying the ops it was built with.
    pub fn finish(self) -> DataTable {
        let mut table = self.table;
        table.aggregation_ops = self.ops;
        table
    }
}

/// Merges the stored table `bytes` (one table payload) into `table`;
/// `top` is given for the top-level table of a part only.
fn merge_payload(
    table: &mut DataTable,
    bytes: &[u8],
    pass: &mut Pass<'_>,
    scratch: &mut Vec<(u16, Value)>,
    depth: usize,
    mut top: Option<&mut Top<'_>>,
) -> Result<(), DataTableError> {
    if depth >= MAX_DEPTH {
        return Err(DataTableError::TooDeep { limit: MAX_DEPTH });
    }
    let part = top.as_ref().map(|top| top.part);
    let mut reader = Reader { bytes, at: 0 };
    let rows = reader.length().ok_or(truncated())?;
    for index in 0..rows {
        let row_start = reader.at;
        let label = reader.str();
        if let Some(part) = part
            && !part.takes(label)
        {
            reader.at = row_start;
            skip_row(&mut reader)?;
            continue;
        }
        let summed = match label {
            Some(label) => match table.position_of(label) {
                Some(position) => sum_in_place(table, position, &mut reader, pass, scratch, depth)?,
                None => false,
            },
            None => false,
        };
        if !summed {
            reader.at = row_start;
            let row = decode_row(&mut reader, pass, depth, true)?;
            let before = table.rows().len();
            table.merge_row(Cow::Owned(row), pass.ops)?;
            if let Some(top) = top.as_deref_mut()
                && table.rows().len() > before
            {
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                top.first_seen.push((top.table, index));
            }
        }
    }
    match reader.u8() {
        Some(0) => {}
        Some(1) if part.is_some_and(|part| part.index != 0) => skip_row(&mut reader)?,
        Some(1) => {
            // The summary row's subtable is never attached when decoding.
            let summary = decode_row(&mut reader, pass, depth, false)?;
            table.merge_summary(Cow::Owned(summary), pass.ops)?;
        }
        _ => return Err(truncated()),
    }
    // The stored table's own metadata, ops and row limit play no part in a
    // merge; they are decoded only to check the payload ends with them.
    let rest = bytes.get(reader.at..).ok_or(truncated())?;
    let (_tail, read) = decode_limited::<(Metadata, AggregationOps, Option<u64>)>(rest)
        .map_err(DataTableError::Decode)?;
    if read != rest.len() {
        return Err(DataTableError::CorruptChunk("trailing bytes after a table"));
    }
    Ok(())
}

/// Adds the row at the reader into the existing row at `position` when its
/// columns are all numbers under metric ids, returning whether it did.
/// When it returns false nothing was changed and the caller decodes the row.
fn sum_in_place(
    table: &mut DataTable,
    position: usize,
    reader: &mut Reader<'_>,
    pass: &mut Pass<'_>,
    scratch: &mut Vec<(u16, Value)>,
    depth: usize,
) -> Result<bool, DataTableError> {
    let mut goals_at = None;
    if !read_numeric_columns(reader, scratch, pass.renames, &mut goals_at) {
        return Ok(false);
    }
    let metadata_start = reader.at;
    let Some(metadata_entries) = reader.skip_metadata() else {
        return Ok(false);
    };
    let metadata_bytes = reader.bytes.get(metadata_start..reader.at).unwrap_or(&[]);
    let subtable_id = match reader.u8() {
        Some(0) => None,
        Some(1) => match reader.varint_u32() {
            Some(id) => Some(id),
            None => return Ok(false),
        },
        _ => return Ok(false),
    };
    let row = table
        .row_at_mut(position)
        .ok_or(DataTableError::Internal("label index out of range"))?;
    // Settled before the columns absorb the new ones, and only when the
    // incoming row has metadata that could replace the row's.
    let settled = (metadata_entries > 0).then(|| row.metadata_settled());
    let mut hint = 0;
    for (id, value) in scratch.iter() {
        let op = if *id == metrics::MAX_ACTIONS {
            ColumnOp::Max
        } else if pass.ops.is_empty() {
            ColumnOp::Sum
        } else {
            pass.ops_by_id
                .get(usize::from(*id))
                .copied()
                .flatten()
                .unwrap_or(ColumnOp::Sum)
        };
        let key = ColumnKey::Id(*id);
        hint = match (value, goals_at.clone()) {
            (Value::Goals(_), Some(range)) => {
                let bytes = reader.bytes.get(range).unwrap_or(&[]);
                sum_stored_goals(row, hint, &key, bytes, op)?
            }
            _ => row.sum_column(hint, &key, value, op)?,
        };
    }
    if let Some(settled) = settled {
        row.keep_first_metadata(settled, numeric_has_visits(scratch), || {
            decode_limited::<Metadata>(metadata_bytes)
                .map(|(metadata, _)| metadata)
                .map_err(DataTableError::Decode)
        })?;
    }
    if let Some(id) = subtable_id {
        match row.subtable.as_deref_mut() {
            Some(own) => {
                own.set_ops(pass.ops);
                let bytes = pass
                    .subtables
                    .remove(&id)
                    .ok_or(DataTableError::SubtableNotFound { id })?;
                merge_payload(own, bytes, pass, scratch, depth + 1, None)?;
            }
            None => {
                let mut subtable = decode_subtree(id, pass, depth + 1)?;
                subtable.aggregation_ops = pass.ops.clone();
                row.subtable = Some(Box::new(subtable));
            }
        }
    }
    Ok(true)
}

/// Adds a stored `goals` column (`bytes`, checked by [`skip_goals`]) into
/// column `key` of `row`. A month sums thousands of page rows with a few
/// goals each from every day: read in place, only a goal the row does not
/// have yet is decoded. When the row has no such column, or `op` is not a
/// sum, the goals are decoded and take the general path.
fn sum_stored_goals(
    row: &mut Row,
    hint: usize,
    key: &ColumnKey,
    bytes: &[u8],
    op: ColumnOp,
) -> Result<usize, DataTableError> {
    let position = row.columns.position_from(hint, key);
    let own = position.and_then(|position| row.columns.entry_at_mut(position));
    match (own, position) {
        (Some((_, Value::Goals(own))), Some(position)) if op == ColumnOp::Sum => {
            match add_goals(own, bytes) {
                Some(()) => Ok(position + 1),
                None => Err(DataTableError::UnsummableColumn {
                    column: key.name().into_owned(),
                    label: row.label.clone(),
                }),
            }
        }
        _ => {
            let (goals, _) = decode_limited::<Goals>(bytes).map_err(DataTableError::Decode)?;
            row.sum_column(hint, key, &Value::Goals(goals), op)
        }
    }
}

/// `sum_goals` (row.rs) with the other side read from its stored bytes:
/// per goal and metric in stored order, so the result is the same.
/// `None` when a metric cannot be summed (a string meets a number) or the
/// bytes do not read, which [`skip_goals`] ruled out beforehand.
fn add_goals(own: &mut Goals, bytes: &[u8]) -> Option<()> {
    let mut reader = Reader { bytes, at: 0 };
    for _ in 0..reader.length()? {
        let idgoal = reader.zigzag_i64()?;
        match own.0.get_mut(&idgoal) {
            Some(own_columns) => {
                let mut hint = 0;
                for _ in 0..reader.length()? {
                    let (key, value) = reader.goal_metric()?;
                    hint = sum_goal_column(own_columns, hint, &key, &value)?;
                }
            }
            None => {
                let rest = reader.bytes.get(reader.at..)?;
                let (columns, read) = decode_limited::<GoalColumns>(rest).ok()?;
                reader.at += read;
                own.0.set(idgoal, columns);
            }
        }
    }
    Some(())
}

/// Moves the reader past a stored `Goals` value, checking every tag.
fn skip_goals(reader: &mut Reader<'_>) -> Option<()> {
    for _ in 0..reader.length()? {
        reader.zigzag_i64()?;
        for _ in 0..reader.length()? {
            reader.goal_metric()?;
        }
    }
    Some(())
}

/// `Row::has_visits` over numeric columns: hits or visits.
fn numeric_has_visits(columns: &[(u16, Value)]) -> bool {
    let nonzero = |wanted: u16| {
        columns
            .iter()
            .find(|(id, _)| *id == wanted)
            .and_then(|(_, value)| value.as_f64())
            .is_some_and(|number| number != 0.0)
    };
    nonzero(metrics::NB_HITS) || nonzero(metrics::NB_VISITS)
}

/// Reads a row's columns into `scratch` (renamed) when every one is an
/// integer or float under a metric id and renaming them is a plain
/// relabelling; false otherwise (the reader is then somewhere inside the
/// row and the caller starts over).
fn read_numeric_columns(
    reader: &mut Reader<'_>,
    scratch: &mut Vec<(u16, Value)>,
    renames: &[(u16, u16)],
    goals_at: &mut Option<Range<usize>>,
) -> bool {
    scratch.clear();
    let Some(count) = reader.length() else {
        return false;
    };
    let mut renamed = false;
    let mut original_ids = IdSet::default();
    let mut renamed_to = IdSet::default();
    for _ in 0..count {
        // ColumnKey::Id is variant 0; a named column takes the general path.
        if reader.varint_u32() != Some(0) {
            return false;
        }
        let Some(id) = reader.varint_u16() else {
            return false;
        };
        let value = match reader.varint_u32() {
            Some(0) => match reader.zigzag_i64() {
                Some(value) => Value::Int(value),
                None => return false,
            },
            Some(1) => match reader.f64() {
                Some(value) => Value::Float(value),
                None => return false,
            },
            Some(MILLIS_VARIANT) => match reader.zigzag_i64() {
                Some(millis) => Value::Float(from_millis(millis)),
                None => return false,
            },
            Some(NULL_VARIANT) => Value::Null,
            Some(DECIMAL4_VARIANT) => match reader.zigzag_i64() {
                Some(thousandths) => Value::Decimal4(thousandths),
                None => return false,
            },
            // The per-goal metrics of a page row (column 10): checked and
            // located here, summed from the bytes by `sum_stored_goals`,
            // so neither the row nor its goals are decoded. The empty
            // `Goals` in `scratch` (which does not allocate) marks the
            // column's place. One such column per row; a second one takes
            // the general path.
            Some(GOALS_VARIANT) => {
                let start = reader.at;
                if goals_at.is_some() || skip_goals(reader).is_none() {
                    return false;
                }
                *goals_at = Some(start..reader.at);
                Value::Goals(Goals::new())
            }
            _ => return false,
        };
        if !original_ids.insert(id) {
            // A repeated id: summed twice, as `sum_row` would; only a
            // rename could treat it differently.
            renamed_to.overflow = true;
        }
        let id = match renames.iter().find(|(from, _)| *from == id) {
            Some((_, to)) => {
                renamed = true;
                renamed_to.insert(*to);
                *to
            }
            None => id,
        };
        scratch.push((id, value));
    }
    // `OrderedMap::rename_all` replaces a target that is already present
    // (or that another rename produced); such rows, never written by our
    // builders, take the general path.
    let plain = !renamed || (!renamed_to.overflow && !renamed_to.intersects(&original_ids));
    if renamed && plain {
        // Renamed columns move to the end in the order of the pairs, as
        // `rename_all` (PHP's renameColumn) leaves them. Stable: the other
        // columns keep their order.
        // (`plain` means no original id is also the target of a rename that
        // happened, so the entries under such an id are exactly the renamed
        // ones.) Moving
        // each pair's entry to the end in turn costs a few comparisons per
        // pair, where a sort by pair position was a tenth of a range build.
        for (_, to) in renames.iter().filter(|(_, to)| renamed_to.contains(*to)) {
            if let Some(index) = scratch.iter().position(|(id, _)| id == to) {
                let entry = scratch.remove(index);
                scratch.push(entry);
            }
        }
    }
    plain
}

/// A set of metric ids below 256 (every id we write); `overflow` records
/// that an id beyond was seen or that an insert repeated, so callers fall
/// back to the general path.
#[derive(Default)]
struct IdSet {
    bits: [u64; 4],
    overflow: bool,
}

impl IdSet {
    /// Adds `id`; false when it was present (or cannot be represented).
    fn insert(&mut self, id: u16) -> bool {
        let Some(word) = self.bits.get_mut(usize::from(id / 64)) else {
            self.overflow = true;
            return false;
        };
        let bit = 1u64 << (id % 64);
        let fresh = *word & bit == 0;
        *word |= bit;
        if !fresh {
            self.overflow = true;
        }
        fresh
    }

    fn contains(&self, id: u16) -> bool {
        self.bits
            .get(usize::from(id / 64))
            .is_some_and(|word| word & (1u64 << (id % 64)) != 0)
    }

    fn intersects(&self, other: &Self) -> bool {
        other.overflow || self.bits.iter().zip(&other.bits).any(|(a, b)| a & b != 0)
    }
}

/// Decodes the row at the reader as decoding a table would, with the
/// renames applied and (for table rows) its subtable attached.
fn decode_row(
    reader: &mut Reader<'_>,
    pass: &mut Pass<'_>,
    depth: usize,
    attach_subtable: bool,
) -> Result<Row, DataTableError> {
    let rest = reader.bytes.get(reader.at..).ok_or(truncated())?;
    let (stored, read) = decode_limited::<StoredRow>(rest).map_err(DataTableError::Decode)?;
    reader.at += read;
    let mut row = stored.into_row();
    if !pass.renames.is_empty() {
        row.columns.rename_all(&pass.rename_pairs);
    }
    if attach_subtable && let Some(id) = row.subtable_id {
        row.subtable = Some(Box::new(decode_subtree(id, pass, depth + 1)?));
    }
    Ok(row)
}

/// Moves the reader past the row at it (another part's row).
fn skip_row(reader: &mut Reader<'_>) -> Result<(), DataTableError> {
    let rest = reader.bytes.get(reader.at..).ok_or(truncated())?;
    let (_, read) = decode_limited::<StoredRow>(rest).map_err(DataTableError::Decode)?;
    reader.at += read;
    Ok(())
}

/// Decodes subtable `id` with its own subtables, renamed.
fn decode_subtree(id: u32, pass: &mut Pass<'_>, depth: usize) -> Result<DataTable, DataTableError> {
    let mut table = decode_subtree_raw(id, pass, depth)?;
    if !pass.renames.is_empty() {
        table.rename_columns(&pass.rename_pairs);
    }
    Ok(table)
}

fn decode_subtree_raw(
    id: u32,
    pass: &mut Pass<'_>,
    depth: usize,
) -> Result<DataTable, DataTableError> {
    if depth >= MAX_DEPTH {
        return Err(DataTableError::TooDeep { limit: MAX_DEPTH });
    }
    let bytes = pass
        .subtables
        .remove(&id)
        .ok_or(DataTableError::SubtableNotFound { id })?;
    let mut table = decode_payload(bytes)?;
    for row in table.rows_mut() {
        if let Some(child) = row.subtable_id {
            row.subtable = Some(Box::new(decode_subtree_raw(child, pass, depth + 1)?));
        }
    }
    Ok(table)
}

fn truncated() -> DataTableError {
    DataTableError::CorruptChunk("table payload ends early")
}

/// A cursor over bincode's standard encoding (little endian, variable
/// length integers: one byte up to 250, else a marker byte 251/252/253
/// followed by a u16/u32/u64). Every read returns `None` at the end of
/// the bytes or on a value out of range, never panics.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|bytes| bytes.first().copied())
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)
            .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
    }

    fn varint_u64(&mut self) -> Option<u64> {
        match self.u8()? {
            byte @ 0..=250 => Some(u64::from(byte)),
            251 => self.array().map(u16::from_le_bytes).map(u64::from),
            252 => self.array().map(u32::from_le_bytes).map(u64::from),
            253 => self.array().map(u64::from_le_bytes),
            _ => None,
        }
    }

    fn varint_u32(&mut self) -> Option<u32> {
        self.varint_u64()
            .and_then(|value| u32::try_from(value).ok())
    }

    fn varint_u16(&mut self) -> Option<u16> {
        self.varint_u64()
            .and_then(|value| u16::try_from(value).ok())
    }

    fn zigzag_i64(&mut self) -> Option<i64> {
        let raw = self.varint_u64()?;
        let magnitude = i64::try_from(raw >> 1).ok()?;
        Some(if raw & 1 == 0 { magnitude } else { !magnitude })
    }

    fn f64(&mut self) -> Option<f64> {
        self.array().map(f64::from_le_bytes)
    }

    /// A length prefix, bounded by the bytes left (every element takes at
    /// least one byte), so a corrupt length cannot make a loop run long.
    fn length(&mut self) -> Option<usize> {
        let length = usize::try_from(self.varint_u64()?).ok()?;
        (length <= self.bytes.len().saturating_sub(self.at)).then_some(length)
    }

    fn str(&mut self) -> Option<&'a str> {
        let length = self.length()?;
        std::str::from_utf8(self.take(length)?).ok()
    }

    /// One metric of a goal: its key and value, as `GoalColumns` stores
    /// them. Allocates only for a named key or a string value, which our
    /// builders do not write.
    fn goal_metric(&mut self) -> Option<(ColumnKey, Scalar)> {
        let key = match self.varint_u32()? {
            0 => ColumnKey::Id(self.varint_u16()?),
            1 => ColumnKey::Name(self.str()?.to_owned()),
            _ => return None,
        };
        let value = match self.varint_u32()? {
            0 => Scalar::Int(self.zigzag_i64()?),
            1 => Scalar::Float(self.f64()?),
            2 => Scalar::Str(self.str()?.to_owned()),
            _ => return None,
        };
        Some((key, value))
    }

    /// Skips a `Metadata` list, returning its number of entries.
    fn skip_metadata(&mut self) -> Option<usize> {
        let entries = self.length()?;
        for _ in 0..entries {
            self.str()?;
            match self.varint_u32()? {
                0 => {
                    self.zigzag_i64()?;
                }
                1 => {
                    self.f64()?;
                }
                2 => {
                    self.str()?;
                }
                _ => return None,
            }
        }
        Some(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{decode_encoded, encode_table};
    use crate::value::Scalar;

    fn day(visits: i64, label_suffix: &str) -> DataTable {
        let leaf = DataTable::from_rows([
            Row::new("index")
                .with(metrics::NB_HITS, visits)
                .with(1u16, 1),
            Row::new(format!("only {label_suffix}")).with(metrics::NB_HITS, 1),
        ]);
        // Goal 1 on every day, goal 2 only on days of more than 2 visits:
        // summed in place from the bytes, or taken whole when new.
        let goal = |conversions: i64, revenue: f64| -> GoalColumns {
            [
                (ColumnKey::Id(1), Scalar::Int(conversions)),
                (ColumnKey::Id(2), Scalar::Float(revenue)),
            ]
            .into_iter()
            .collect()
        };
        let mut goals = Goals::new().with(1, goal(1, 2.5));
        if visits > 2 {
            goals = goals.with(2, goal(visits, 0.25));
        }
        let mut table = DataTable::from_rows([
            Row::new("/blog")
                .with(metrics::NB_HITS, visits)
                .with(1u16, 2)
                .with(10u16, goals)
                .with(metrics::MAX_ACTIONS, visits)
                .with_metadata("url", format!("https://example.com/{label_suffix}"))
                .with_subtable(leaf),
            Row::new("named").with("custom", 1).with(2u16, 1),
            Row::new("text").with(2u16, "x"),
        ]);
        table.set_summary_row(Row::new("").with(2u16, 4));
        table
    }

    fn stored_sum(tables: &[DataTable], renames: &[(u16, u16)]) -> DataTable {
        let mut ops = AggregationOps::new();
        ops.set(ColumnKey::Id(1), ColumnOp::Max);
        let mut sum = TableSum::new(ops);
        for table in tables {
            let encoded = encode_table(table).unwrap();
            sum.add_stored(
                &encoded.root,
                encoded.chunks.iter().map(|chunk| chunk.bytes.as_slice()),
                renames,
            )
            .unwrap();
        }
        sum.finish()
    }

    fn decoded_merge(tables: &[DataTable], renames: &[(u16, u16)]) -> DataTable {
        let mut merged = DataTable::new();
        merged.aggregation_ops.set(ColumnKey::Id(1), ColumnOp::Max);
        for table in tables {
            let mut decoded = decode_encoded(&encode_table(table).unwrap()).unwrap();
            decoded.rename_columns(&rename_pairs(renames));
            merged.merge(&decoded).unwrap();
        }
        merged
    }

    #[test]
    fn same_as_decoding_and_merging_with_and_without_renames() {
        let tables = [day(3, "a"), day(5, "b"), day(2, "c")];
        for renames in [&[][..], &metrics::RENAME_AFTER_AGGREGATION_ACTIONS[..]] {
            let summed = stored_sum(&tables, renames);
            assert_eq!(summed, decoded_merge(&tables, renames));
            let blog = summed.row_by_label("/blog").unwrap();
            assert_eq!(
                blog.columns.get(&ColumnKey::Id(metrics::NB_HITS)),
                Some(&Value::Int(10))
            );
            assert_eq!(
                blog.columns.get(&ColumnKey::Id(metrics::MAX_ACTIONS)),
                Some(&Value::Int(5))
            );
            // The first contributor with hits gave the metadata, not the
            // one with the most (`b`): Matomo's `sumRowMetadata` weighs a
            // PHP boolean.
            assert_eq!(
                blog.metadata.get("url"),
                Some(&Scalar::from("https://example.com/a"))
            );
            assert_eq!(blog.subtable.as_deref().unwrap().rows_count(), 4);
            let Some(Value::Goals(goals)) = blog.columns.get(&ColumnKey::Id(10)) else {
                panic!("no goals on /blog");
            };
            let metric = |idgoal: i64, id: u16| goals.0.get(&idgoal)?.get(&ColumnKey::Id(id));
            assert_eq!(metric(1, 1), Some(&Scalar::Int(3)));
            assert_eq!(metric(1, 2), Some(&Scalar::Float(7.5)));
            assert_eq!(metric(2, 1), Some(&Scalar::Int(8)));
            assert_eq!(metric(2, 2), Some(&Scalar::Float(0.5)));
        }
        let renamed = stored_sum(&tables, &metrics::RENAME_AFTER_AGGREGATION);
        let blog = renamed.row_by_label("/blog").unwrap();
        assert_eq!(
            blog.columns.find("sum_daily_nb_uniq_visitors"),
            Some(&Value::Int(6))
        );
        assert_eq!(blog.columns.find("nb_uniq_visitors"), None);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        let encoded = encode_table(&day(1, "a")).unwrap();
        let mut sum = TableSum::new(AggregationOps::new());
        let mut root = encoded.root.clone();
        let last = root.len() - 1;
        root[last] ^= 0xff;
        assert!(matches!(
            sum.add_stored(&root, [], &[]),
            Err(DataTableError::Checksum { .. })
        ));
        // The root refers to a subtable whose chunk is missing.
        assert!(matches!(
            sum.add_stored(&encoded.root, [], &[]),
            Err(DataTableError::SubtableNotFound { id: 1 })
        ));
    }
}
