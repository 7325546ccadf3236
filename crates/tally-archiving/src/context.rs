//! What a [`crate::RecordBuilder`] sees while it builds: the site, the
//! period, the logs (day) or the sub-period archives (other periods), and
//! where its records go.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use diesel::MysqlConnection;
use tally_datatable::storage::decode_tree;
use tally_datatable::{ColumnOp, DataTable, InflatedTable, TableSum};

use crate::ArchiveError;
use crate::logs::{
    self, ActionName, ActionRow, LogAggregator, SpecialAction, UniqueVisitors, VisitDimensions,
    VisitRow,
};
use crate::period::Period;
use crate::record::{Record, RecordKind, RenameAfterAggregation};
use crate::site::SiteInfo;
use crate::storage::{self, StoredArchive};

/// Records produced by builders, written when every builder is done.
#[derive(Debug, Default)]
pub struct Output {
    pub(crate) numeric: Vec<(String, f64)>,
    pub(crate) tables: Vec<(String, DataTable)>,
    /// The distinct visitors and users of the period, when a builder
    /// counted them: kept in memory by the archiver for the recount of a
    /// parent period ([`PeriodContext::unique_visitors_and_users`]), not
    /// stored.
    pub(crate) uniques: Option<Arc<UniqueVisitors>>,
}

impl Output {
    /// A numeric record produced so far.
    pub fn numeric(&self, name: &str) -> Option<f64> {
        self.numeric
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// A blob record produced so far.
    pub fn table(&self, name: &str) -> Option<&DataTable> {
        self.tables
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }

    /// Adds the records of `other` after these.
    pub(crate) fn append(&mut self, other: Self) {
        self.numeric.extend(other.numeric);
        self.tables.extend(other.tables);
        if other.uniques.is_some() {
            self.uniques = other.uniques;
        }
    }

    /// Records the distinct visitors and users counted for the period.
    pub(crate) fn set_uniques(&mut self, uniques: Arc<UniqueVisitors>) {
        self.uniques = Some(uniques);
    }
}

/// The distinct visitors and users of archives this archiver built
/// recently, by archive id, so that the unique recount of a week or month
/// reads the logs only of the sub-periods not in here (a month built after
/// its weeks reads none of its weeks' visits again).
///
/// Keyed by archive, not by period: a set is used only with the very
/// archive whose sums it was counted with, so an archive rebuilt since
/// (after an invalidation) is never paired with an older count. Bounded by
/// [`KnownVisitors::MAX_BYTES`]; the oldest sets go first.
#[derive(Debug)]
pub(crate) struct KnownVisitors {
    sets: Mutex<VecDeque<(storage::ArchiveId, Arc<UniqueVisitors>)>>,
    limit: usize,
}

impl Default for KnownVisitors {
    fn default() -> Self {
        Self::with_limit(Self::MAX_BYTES)
    }
}

impl KnownVisitors {
    /// Keeping at most `limit` bytes of sets.
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self {
            sets: Mutex::default(),
            limit,
        }
    }

    /// Bytes kept at most ([`UniqueVisitors::memory_bytes`]): 16 million
    /// visitor ids, the days and weeks of a month of a site with half a
    /// million visitors a day.
    pub(crate) const MAX_BYTES: usize = 128 << 20;

    pub(crate) fn get(&self, archive: &StoredArchive) -> Option<Arc<UniqueVisitors>> {
        let id = (archive.month, archive.idarchive);
        locked(&self.sets)
            .iter()
            .find(|(key, _)| *key == id)
            .map(|(_, set)| Arc::clone(set))
    }

    pub(crate) fn insert(&self, archive: &StoredArchive, set: Arc<UniqueVisitors>) {
        if set.memory_bytes() > self.limit {
            return;
        }
        let mut sets = locked(&self.sets);
        sets.push_back(((archive.month, archive.idarchive), set));
        let mut held: usize = sets.iter().map(|(_, set)| set.memory_bytes()).sum();
        while held > self.limit {
            match sets.pop_front() {
                Some((_, oldest)) => held = held.saturating_sub(oldest.memory_bytes()),
                None => break,
            }
        }
    }
}

/// The actions and the special actions of one read.
type ActionScans = (Arc<Vec<ActionRow>>, Arc<Vec<SpecialAction>>);

/// A shared scan of [`DayContext`], as builders declare them
/// ([`crate::RecordBuilder::shared_scans`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SharedScan {
    /// [`DayContext::visits`].
    Visits,
    /// [`DayContext::visit_dimensions`].
    VisitDimensions,
    /// [`DayContext::actions`].
    Actions,
    /// [`DayContext::special_actions`].
    SpecialActions,
}

/// Rows of the shared scans, read at most once per archive and shared by
/// every builder that asks. When the archive's builders declare both
/// scans of a table, one wide read serves both: the visits are taken from
/// the visit dimensions, and the special actions are picked out of the
/// actions as they are read.
#[derive(Debug, Default)]
pub(crate) struct Scans {
    /// Some builder reads the visit dimensions: read the visits with them.
    pub(crate) wide_visits: bool,
    /// Some builders read the actions and the special actions: one read.
    pub(crate) wide_actions: bool,
    visits: Option<Arc<Vec<VisitRow>>>,
    actions: Option<Arc<Vec<ActionRow>>>,
    visit_dimensions: Option<Arc<Vec<VisitDimensions>>>,
    special_actions: Option<Arc<Vec<SpecialAction>>>,
    names: HashMap<u32, Arc<ActionName>>,
}

/// The context of [`crate::RecordBuilder::build_day`].
pub struct DayContext<'a> {
    pub(crate) conn: &'a mut MysqlConnection,
    pub(crate) site: &'a SiteInfo,
    pub(crate) period: Period,
    pub(crate) logs: LogAggregator,
    pub(crate) scans: Scans,
    pub(crate) output: Output,
}

impl std::fmt::Debug for DayContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DayContext")
            .field("idsite", &self.site.idsite)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Scans {
    /// The scans for builders that declare `declared` (each builder's
    /// [`crate::RecordBuilder::shared_scans`]).
    pub(crate) fn planned(declared: impl IntoIterator<Item = SharedScan>) -> Self {
        let declared: std::collections::HashSet<SharedScan> = declared.into_iter().collect();
        Self {
            wide_visits: declared.contains(&SharedScan::VisitDimensions),
            wide_actions: declared.contains(&SharedScan::Actions)
                && declared.contains(&SharedScan::SpecialActions),
            ..Self::default()
        }
    }
}

impl<'a> DayContext<'a> {
    /// The site.
    pub fn site(&self) -> &SiteInfo {
        self.site
    }

    /// The day.
    pub fn period(&self) -> Period {
        self.period
    }

    /// The logs of the day (UTC bounds of the site's local day) for the
    /// Matomo-style `query_*` helpers.
    pub fn logs(&self) -> LogAggregator {
        self.logs.clone()
    }

    /// The connection, for the `query_*` helpers and a plugin's own queries.
    pub fn conn(&mut self) -> &mut MysqlConnection {
        self.conn
    }

    /// The visits of the day (by last action), read once per archive.
    ///
    /// # Errors
    /// The query error.
    pub fn visits(&mut self) -> Result<Arc<Vec<VisitRow>>, ArchiveError> {
        if let Some(rows) = &self.scans.visits {
            return Ok(Arc::clone(rows));
        }
        let rows = if self.scans.wide_visits {
            let dimensions = self.visit_dimensions()?;
            Arc::new(dimensions.iter().map(VisitDimensions::visit_row).collect())
        } else {
            Arc::new(logs::scan_visits(self.conn, &self.logs)?)
        };
        self.scans.visits = Some(Arc::clone(&rows));
        Ok(rows)
    }

    /// The actions of the day (by server time), read once per archive.
    ///
    /// # Errors
    /// The query error.
    pub fn actions(&mut self) -> Result<Arc<Vec<ActionRow>>, ArchiveError> {
        if let Some(rows) = &self.scans.actions {
            return Ok(Arc::clone(rows));
        }
        if self.scans.wide_actions {
            return Ok(self.read_actions_with_special()?.0);
        }
        let rows = Arc::new(logs::scan_actions(self.conn, &self.logs)?);
        self.scans.actions = Some(Arc::clone(&rows));
        Ok(rows)
    }

    /// The visits of the day with the columns visit-scope reports group
    /// on, read once per archive (see [`crate::grouping`]).
    ///
    /// # Errors
    /// The query error.
    pub fn visit_dimensions(&mut self) -> Result<Arc<Vec<VisitDimensions>>, ArchiveError> {
        if let Some(rows) = &self.scans.visit_dimensions {
            return Ok(Arc::clone(rows));
        }
        let rows = Arc::new(logs::scan_visit_dimensions(self.conn, &self.logs)?);
        self.scans.visit_dimensions = Some(Arc::clone(&rows));
        Ok(rows)
    }

    /// The day's product views and actions with page custom variables,
    /// events, contents or custom dimension values ([`SpecialAction`]),
    /// read once per archive.
    ///
    /// # Errors
    /// The query error.
    pub fn special_actions(&mut self) -> Result<Arc<Vec<SpecialAction>>, ArchiveError> {
        if let Some(rows) = &self.scans.special_actions {
            return Ok(Arc::clone(rows));
        }
        if self.scans.wide_actions {
            return Ok(self.read_actions_with_special()?.1);
        }
        let rows = Arc::new(logs::scan_special_actions(self.conn, &self.logs)?);
        self.scans.special_actions = Some(Arc::clone(&rows));
        Ok(rows)
    }

    /// Both action scans in one read, kept for the builders that follow.
    fn read_actions_with_special(&mut self) -> Result<ActionScans, ArchiveError> {
        let (actions, special) = logs::scan_actions_with_special(self.conn, &self.logs)?;
        let (actions, special) = (Arc::new(actions), Arc::new(special));
        self.scans.actions = Some(Arc::clone(&actions));
        self.scans.special_actions = Some(Arc::clone(&special));
        Ok((actions, special))
    }

    /// The `log_action` rows of `ids`; names already loaded for this
    /// archive are not read again.
    ///
    /// # Errors
    /// The query error.
    pub fn action_names(
        &mut self,
        ids: impl IntoIterator<Item = u32>,
    ) -> Result<HashMap<u32, Arc<ActionName>>, ArchiveError> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            match self.scans.names.get(&id) {
                Some(name) => {
                    out.insert(id, Arc::clone(name));
                }
                None => missing.push(id),
            }
        }
        missing.sort_unstable();
        missing.dedup();
        for (id, name) in logs::load_action_names(self.conn, &missing)? {
            let name = Arc::new(name);
            self.scans.names.insert(id, Arc::clone(&name));
            out.insert(id, name);
        }
        Ok(out)
    }

    /// Stores a numeric record.
    pub fn insert_numeric(&mut self, name: &str, value: f64) {
        self.output.numeric.push((name.to_owned(), value));
    }

    /// Stores a blob record (truncated to the record's limits when written).
    pub fn insert_table(&mut self, name: &str, table: DataTable) {
        self.output.tables.push((name.to_owned(), table));
    }

    /// The records produced so far by this and earlier builders.
    pub fn output(&self) -> &Output {
        &self.output
    }

    /// Keeps the day's distinct visitors and users for the recount of its
    /// week (see [`PeriodContext::unique_visitors_and_users`]).
    pub(crate) fn keep_uniques(&mut self, uniques: UniqueVisitors) {
        self.output.set_uniques(Arc::new(uniques));
    }
}

/// A sub-period archive an aggregation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubArchive {
    /// The sub-period.
    pub period: Period,
    /// Its archive; `None` when the sub-period has no data (before the
    /// site existed, in the future, or without visits).
    pub archive: Option<StoredArchive>,
}

/// The context of [`crate::RecordBuilder::build_period`]. Each builder
/// gets its own (and sees only its own records in [`PeriodContext::output`]):
/// builders of one period may run side by side on two connections.
pub struct PeriodContext<'a> {
    pub(crate) conn: &'a mut MysqlConnection,
    pub(crate) site: &'a SiteInfo,
    pub(crate) period: Period,
    pub(crate) logs: LogAggregator,
    pub(crate) subarchives: &'a [SubArchive],
    pub(crate) cache: &'a SubarchiveCache,
    pub(crate) known_visitors: &'a KnownVisitors,
    /// The build's "now": only finished sub-periods use known visitors.
    pub(crate) now: i64,
    pub(crate) output: Output,
}

/// The sub-archives' records as read for the builders of one period,
/// shared by the builders (and the threads they run on): each is read
/// once, by whichever builder asks first, on its connection.
#[derive(Debug, Default)]
pub(crate) struct SubarchiveCache {
    /// Numeric records per sub-archive, keyed by (table month, idarchive):
    /// ids are only unique within one month's tables.
    numeric: Mutex<HashMap<storage::ArchiveId, HashMap<String, f64>>>,
    /// Blob rows per sub-archive, all read in one query on first use and
    /// handed out once (`None` once taken; a second request reads again).
    blobs: Mutex<HashMap<storage::ArchiveId, BlobRows>>,
}

/// A lock whose holder panicked still guards a usable map: entries are
/// only ever added or taken whole.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Below this many stored bytes (all sub-periods of one record), tables
/// are decompressed on the summing thread: a second thread and its
/// hand-offs cost more than they save on small tables, and most records
/// of most archives are small. A month of busy days is well above it.
const PIPELINE_MIN_BYTES: usize = 1 << 20;

/// Threads a big record's sum is split over at most.
const MAX_SUM_PARTS: usize = 4;

/// Threads decompressing a split sum's tables at most.
const MAX_INFLATERS: usize = 2;

/// The blob rows of one archive by name; `None` once handed out.
pub(crate) type BlobRows = HashMap<String, Option<Vec<u8>>>;

impl std::fmt::Debug for PeriodContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeriodContext")
            .field("idsite", &self.site.idsite)
            .field("period", &self.period)
            .field("subperiods", &self.subarchives.len())
            .finish_non_exhaustive()
    }
}

impl<'a> PeriodContext<'a> {
    /// The site.
    pub fn site(&self) -> &SiteInfo {
        self.site
    }

    /// The period being built.
    pub fn period(&self) -> Period {
        self.period
    }

    /// The logs of the whole period (for counts that cannot be summed,
    /// such as unique visitors).
    pub fn logs(&self) -> LogAggregator {
        self.logs.clone()
    }

    /// The connection.
    pub fn conn(&mut self) -> &mut MysqlConnection {
        self.conn
    }

    /// The sub-period archives, in period order.
    pub fn subarchives(&self) -> &[SubArchive] {
        self.subarchives
    }

    /// The value of numeric record `name` in each sub-period that has an
    /// archive (a missing record reads as 0).
    ///
    /// # Errors
    /// The query error.
    pub fn subperiod_numeric(&mut self, name: &str) -> Result<Vec<f64>, ArchiveError> {
        let archives: Vec<StoredArchive> =
            self.subarchives.iter().filter_map(|s| s.archive).collect();
        // Every builder asks: the records of all sub-archives are read on
        // the first request, one query per month table.
        let mut cache = locked(&self.cache.numeric);
        let missing: Vec<StoredArchive> = archives
            .iter()
            .filter(|a| !cache.contains_key(&(a.month, a.idarchive)))
            .copied()
            .collect();
        if !missing.is_empty() {
            let read = storage::read_numeric_records_of(self.conn, &missing)?;
            cache.extend(read);
        }
        Ok(archives
            .iter()
            .map(|archive| {
                cache
                    .get(&(archive.month, archive.idarchive))
                    .and_then(|records| records.get(name))
                    .copied()
                    .unwrap_or(0.0)
            })
            .collect())
    }

    /// The distinct visitors and users of the period's visits (the unique
    /// recount of weeks and months, MATOMO.md section 7.2): the union of
    /// those of the finished sub-periods whose archives this archiver built
    /// recently (kept in memory, see `KnownVisitors`) and of one log read
    /// over each run of the other sub-periods. Without known sub-periods
    /// that is one read over the whole period, as before; the result is the
    /// same either way, since the sub-periods tile the period. The set is
    /// also kept with the output, for the period's own parent.
    ///
    /// # Errors
    /// The query error.
    pub fn unique_visitors_and_users(&mut self) -> Result<Arc<UniqueVisitors>, ArchiveError> {
        let mut parts = Vec::new();
        let mut unknown: Vec<(i64, i64)> = Vec::new();
        for sub in self.subarchives {
            let (start, end) = sub.period.utc_bounds(&self.site.timezone);
            // A sub-period still running (its archive reused within the
            // TTL) is read again, as Matomo recounts it from the logs.
            let known = sub
                .archive
                .filter(|_| end <= self.now)
                .and_then(|archive| self.known_visitors.get(&archive));
            match known {
                Some(set) => parts.push(set),
                None => match unknown.last_mut() {
                    Some(run) if run.1 == start => run.1 = end,
                    _ => unknown.push((start, end)),
                },
            }
        }
        for (start, end) in unknown {
            let logs = self.logs.with_bounds(start, end)?;
            parts.push(Arc::new(logs.unique_visitors_and_users(self.conn)?));
        }
        let all = match <[Arc<UniqueVisitors>; 1]>::try_from(parts) {
            Ok([one]) => one,
            Err(parts) => Arc::new(UniqueVisitors::union(parts.iter().map(AsRef::as_ref))),
        };
        self.output.set_uniques(Arc::clone(&all));
        Ok(all)
    }

    /// Blob record `record` of each sub-period that has it, with the
    /// record's renames applied to tables coming from day archives.
    ///
    /// # Errors
    /// The query error, or a table that does not decode.
    pub fn subperiod_tables(&mut self, record: &Record) -> Result<Vec<DataTable>, ArchiveError> {
        let mut out = Vec::new();
        for (period, archive) in self.archived_subperiods() {
            if let Some(blobs) = self.take_table_blobs(&archive, &record.name)? {
                let mut table = decode_tree(&blobs.root, blobs.chunks())?;
                if period.kind() == tally_schema::PeriodKind::Day {
                    match record.rename {
                        RenameAfterAggregation::None => {}
                        RenameAfterAggregation::Standard => table.rename_after_aggregation(false),
                        RenameAfterAggregation::Actions => table.rename_after_aggregation(true),
                    }
                }
                out.push(table);
            }
        }
        Ok(out)
    }

    /// Blob record `record` summed over the sub-periods (renamed where
    /// they are days, merged with the record's ops), or `None` when no
    /// sub-period has a row. The same table as merging
    /// [`PeriodContext::subperiod_tables`], summed from the stored bytes
    /// without decoding every row (see [`TableSum`]).
    ///
    /// # Errors
    /// The query error, a blob that does not decode, or tables that cannot
    /// be merged.
    pub fn sum_subperiod_tables(
        &mut self,
        record: &Record,
    ) -> Result<Option<DataTable>, ArchiveError> {
        let mut stored = Vec::new();
        for (period, archive) in self.archived_subperiods() {
            if let Some(blobs) = self.take_table_blobs(&archive, &record.name)? {
                let renames = if period.kind() == tally_schema::PeriodKind::Day {
                    record.rename.id_pairs()
                } else {
                    &[]
                };
                stored.push((renames, blobs));
            }
        }
        let bytes: usize = stored
            .iter()
            .map(|(_, blobs)| {
                blobs.root.len() + blobs.chunk_blobs.iter().map(Vec::len).sum::<usize>()
            })
            .sum();
        if bytes < PIPELINE_MIN_BYTES {
            let mut sum = TableSum::new(record.aggregation_ops.clone());
            for (renames, blobs) in &stored {
                sum.add_stored(&blobs.root, blobs.chunks(), renames)?;
            }
            return Ok((!sum.is_empty()).then(|| sum.finish()));
        }
        // A big record (a month of a busy site's page URLs) is summed split
        // by top-level label over one thread per core, while up to two more
        // threads decompress the tables (a third of the work), each table
        // once for all parts, taking turns; the parts are joined into the
        // table a single sum gives.
        let parts = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_SUM_PARTS);
        let inflaters = parts.min(MAX_INFLATERS);
        let sums = std::thread::scope(|scope| -> Result<Vec<TableSum>, ArchiveError> {
            let stored = &stored;
            // receivers[part][inflater]
            let mut receivers: Vec<Vec<_>> = (0..parts).map(|_| Vec::new()).collect();
            for inflater in 0..inflaters {
                let mut senders = Vec::with_capacity(parts);
                for own in &mut receivers {
                    let (sender, receiver) =
                        std::sync::mpsc::sync_channel::<Result<Arc<InflatedTable>, _>>(2);
                    senders.push(sender);
                    own.push(receiver);
                }
                scope.spawn(move || {
                    for (_, blobs) in stored.iter().skip(inflater).step_by(inflaters) {
                        match InflatedTable::new(&blobs.root, blobs.chunks()) {
                            Ok(inflated) => {
                                let inflated = Arc::new(inflated);
                                // A closed channel means that part stopped
                                // on an error, which fails the whole sum.
                                if senders
                                    .iter()
                                    .any(|sender| sender.send(Ok(Arc::clone(&inflated))).is_err())
                                {
                                    break;
                                }
                            }
                            Err(error) => {
                                if let Some(first) = senders.first() {
                                    let _ = first.send(Err(error));
                                }
                                break;
                            }
                        }
                    }
                });
            }
            let ops = &record.aggregation_ops;
            let sum_part = move |index: usize, receivers: Vec<std::sync::mpsc::Receiver<_>>| {
                let mut sum = TableSum::part(ops.clone(), index, parts);
                for (table, (renames, _)) in stored.iter().enumerate() {
                    // Table k comes from inflater k mod n; a channel closes
                    // early only when another thread failed, whose error
                    // the join below reports.
                    let Some(Ok(inflated)) = receivers
                        .get(table % inflaters)
                        .map(std::sync::mpsc::Receiver::recv)
                    else {
                        break;
                    };
                    let inflated: Arc<InflatedTable> = inflated?;
                    sum.add_inflated(&inflated, renames)?;
                }
                Ok::<_, ArchiveError>(sum)
            };
            let mut receivers = receivers.into_iter().enumerate();
            let first = receivers.next();
            let handles: Vec<_> = receivers
                .map(|(index, receiver)| scope.spawn(move || sum_part(index, receiver)))
                .collect();
            let mut sums = Vec::with_capacity(parts);
            if let Some((index, receiver)) = first {
                sums.push(sum_part(index, receiver));
            }
            for handle in handles {
                sums.push(
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                );
            }
            sums.into_iter().collect()
        })?;
        let table = TableSum::join(sums)?;
        Ok((table.rows_count() > 0).then_some(table))
    }

    /// The blobs of record `name` of a sub-archive. The first request
    /// reads the blob rows of all sub-archives, one query per month table:
    /// every builder aggregates its records in turn, and one sequential
    /// read beats one query per record and sub-archive.
    fn take_table_blobs(
        &mut self,
        archive: &StoredArchive,
        name: &str,
    ) -> Result<Option<storage::TableBlobs>, ArchiveError> {
        let key = (archive.month, archive.idarchive);
        let mut cache = locked(&self.cache.blobs);
        if !cache.contains_key(&key) {
            let missing: Vec<StoredArchive> = self
                .subarchives
                .iter()
                .filter_map(|s| s.archive)
                .filter(|a| !cache.contains_key(&(a.month, a.idarchive)))
                .chain(std::iter::once(*archive))
                .collect();
            for (key, rows) in storage::read_all_blobs_of(self.conn, &missing)? {
                let rows = rows
                    .into_iter()
                    .map(|(name, value)| (name, Some(value)))
                    .collect();
                cache.insert(key, rows);
            }
        }
        let Some(rows) = cache.get_mut(&key) else {
            return Ok(None);
        };
        let root = match rows.get_mut(name) {
            None => return Ok(None),
            Some(slot) => slot.take(),
        };
        let Some(root) = root else {
            // Handed out before: read it again.
            drop(cache);
            return storage::read_table_blobs(self.conn, archive, name);
        };
        let prefix = format!("{name}_chunk_");
        let chunk_blobs = rows
            .iter_mut()
            .filter(|(row_name, _)| row_name.starts_with(&prefix))
            .filter_map(|(_, slot)| slot.take())
            .collect();
        Ok(Some(storage::TableBlobs { root, chunk_blobs }))
    }

    fn archived_subperiods(&self) -> Vec<(Period, StoredArchive)> {
        self.subarchives
            .iter()
            .filter_map(|s| s.archive.map(|a| (s.period, a)))
            .collect()
    }

    /// Aggregates `records` from the sub-periods (the default of
    /// [`crate::RecordBuilder::build_period`]): numeric records with their
    /// op, blob records merged by label with the record's column ops.
    /// Count-of-rows records are recomputed from their blob when written.
    ///
    /// # Errors
    /// The query error, or tables that cannot be merged.
    pub fn aggregate_records(&mut self, records: &[Record]) -> Result<(), ArchiveError> {
        for record in records {
            if record.count_of_rows.is_some() {
                continue;
            }
            match record.kind {
                RecordKind::Numeric => {
                    let values = self.subperiod_numeric(&record.name)?;
                    if let Some(value) = combine(&values, record.numeric_op) {
                        self.insert_numeric(&record.name, value);
                    }
                }
                RecordKind::Blob => {
                    if let Some(merged) = self.sum_subperiod_tables(record)? {
                        self.insert_table(&record.name, merged);
                    }
                }
            }
        }
        Ok(())
    }

    /// Stores a numeric record.
    pub fn insert_numeric(&mut self, name: &str, value: f64) {
        self.output.numeric.push((name.to_owned(), value));
    }

    /// Stores a blob record (truncated to the record's limits when written).
    pub fn insert_table(&mut self, name: &str, table: DataTable) {
        self.output.tables.push((name.to_owned(), table));
    }

    /// The records produced so far.
    pub fn output(&self) -> &Output {
        &self.output
    }
}

/// Combines sub-period values with `op`; `None` when there is none.
fn combine(values: &[f64], op: ColumnOp) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match op {
        ColumnOp::Max => values.iter().copied().fold(f64::MIN, f64::max),
        // A missing record reads as 0, which is "no value", not a minimum.
        ColumnOp::Min => values
            .iter()
            .copied()
            .filter(|v| *v != 0.0)
            .reduce(f64::min)
            .unwrap_or(0.0),
        ColumnOp::Skip => values.first().copied().unwrap_or(0.0),
        _ => values.iter().sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_visitors_drop_the_oldest_sets_beyond_their_limit() {
        let archive = |idarchive: u32| StoredArchive {
            idarchive,
            month: tally_db::ArchiveMonth::new(2026, 1).unwrap(),
            ts_archived: time::macros::datetime!(2026-02-01 00:00),
            status: tally_schema::ArchiveStatus::Ok,
        };
        // Five visitors: 40 bytes; a user key "ann": a String and 3 bytes.
        let set = |first: u64| Arc::new(UniqueVisitors::new((first..first + 5).collect(), vec![]));
        assert_eq!(set(0).memory_bytes(), 40);
        let with_user = UniqueVisitors::new(vec![1, 1], vec!["ann".into(), "ann".into()]);
        assert_eq!(with_user.counts(), (1, 1));
        assert_eq!(with_user.memory_bytes(), 8 + size_of::<String>() + 3);

        let known = KnownVisitors::with_limit(100);
        known.insert(&archive(1), set(0));
        known.insert(&archive(2), set(10));
        assert_eq!(known.get(&archive(1)).map(|s| s.counts()), Some((5, 0)));
        // A third set passes the limit: the first goes.
        known.insert(&archive(3), set(20));
        assert!(known.get(&archive(1)).is_none());
        assert!(known.get(&archive(2)).is_some() && known.get(&archive(3)).is_some());
        // A set larger than the limit is not kept at all.
        known.insert(
            &archive(4),
            Arc::new(UniqueVisitors::new((0..20).collect(), vec![])),
        );
        assert!(known.get(&archive(4)).is_none());
        assert!(known.get(&archive(3)).is_some());
        // The union of overlapping sets counts each visitor once.
        let union = UniqueVisitors::union([set(0).as_ref(), set(3).as_ref()]);
        assert_eq!(union.counts(), (8, 0));
    }

    #[test]
    fn numeric_ops() {
        assert_eq!(combine(&[], ColumnOp::Sum), None);
        assert_eq!(combine(&[1.0, 2.5], ColumnOp::Sum), Some(3.5));
        assert_eq!(combine(&[1.0, 7.0, 2.0], ColumnOp::Max), Some(7.0));
        assert_eq!(combine(&[0.0, 7.0, 2.0], ColumnOp::Min), Some(2.0));
        assert_eq!(combine(&[0.0, 0.0], ColumnOp::Min), Some(0.0));
        assert_eq!(combine(&[4.0, 7.0], ColumnOp::Skip), Some(4.0));
    }
}
