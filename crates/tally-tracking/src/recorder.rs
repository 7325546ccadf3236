//! The batching recorder (DESIGN.md §3).
//!
//! HTTP handlers hand [`Hit`]s to the recorder thread and wait. The thread
//! takes everything queued (up to a batch limit), writes it in one
//! transaction and only then answers each request: an answered hit is on
//! disk. While a transaction commits, new requests queue up, so under load
//! batches grow by themselves and the per-request cost of a commit falls.
//!
//! One batch costs a fixed number of statements whatever its size: visit
//! lookups for unknown visitors (two per site), `log_action` resolution (one
//! `SELECT`, at most one `INSERT` and one re-`SELECT`), one multi-row
//! `INSERT` per log table, one `UPDATE ... JOIN` for all continuing visits.
//! Only ecommerce requests add per-request statements (order uniqueness,
//! cart rows, item sync), as in Matomo. The reads run first; all the writes
//! of a batch, with `START TRANSACTION` and `COMMIT`, then go to the server
//! as one multi-statement query (one round trip).

use crate::{FastMap as HashMap, FastSet as HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection as _, TransactionManager as _,
};
use diesel::prelude::*;
use tally_schema::ActionType;

use crate::actions::{ActionKey, resolve_actions};
use crate::hit::{ActionKind, ConversionRequest, Hit, Item, Lookup, Name};
use crate::load::Load;
use crate::referrer::{
    ReferrerContext, ReferrerDefinitions, ReferrerType, detect_referrer, stored_name_and_keyword,
};
use crate::site::{Globals, GoalDef};
use crate::sql::{
    CASE_UPDATE_MAX_ROWS, Statement, Val, case_update, insert_columns, multi_insert,
    present_columns, values_table,
};
use crate::visit::{
    ConfigKeys, MAX_ACTIONS_PER_VISIT, VISIT_STANDARD_LENGTH, VisitCache, VisitState, datetime,
    prefetch,
};
use crate::{TrackingError, php};
use tally_schema::GoalMatchAttribute;

/// The outcome of one hit.
pub type HitResult = Result<(), TrackingError>;

/// A unit of work: one request, or one bulk request (kept in one
/// transaction).
struct Job {
    hits: Vec<Hit>,
    globals: Arc<Globals>,
    reply: tokio::sync::oneshot::Sender<Vec<HitResult>>,
}

/// Counters exposed on `/metrics`.
#[derive(Debug, Default)]
pub struct RecorderStats {
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Hits committed.
    pub hits: AtomicU64,
    /// Transactions that failed.
    pub failures: AtomicU64,
    /// Total microseconds spent in committed transactions.
    pub busy_micros: AtomicU64,
}

/// Handle to the recorder thread.
#[derive(Debug, Clone)]
pub struct Recorder {
    shards: Arc<Vec<mpsc::SyncSender<Job>>>,
    stats: Arc<RecorderStats>,
}

/// Recorder settings.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Most hits written in one transaction.
    pub max_batch: usize,
    /// Requests waiting beyond this are refused with 503.
    pub queue: usize,
    /// Visits kept in the active-visit cache (per shard).
    pub cache_visits: usize,
    /// Recorder threads, each with its own connection and visit cache.
    /// A request goes to the shard of its visitor (site + visitor id, or
    /// fingerprint), so one visitor's requests stay in order; several
    /// shards write to the database at once.
    pub shards: usize,
    /// How long a batch waits for more requests after its first, unless
    /// it fills up first. Zero: a batch takes what is queued when the
    /// recorder is free, and nothing waits. A wait trades latency for
    /// fewer, bigger transactions: each costs the server a fixed number of
    /// statements and a log flush whatever its size.
    pub batch_wait: Duration,
    /// Tables with at least this many rows in a batch are loaded from a
    /// file (`LOAD DATA LOCAL INFILE`, [`crate::load`]) instead of
    /// inserted; `None`: always inserted. Used only where the client
    /// library and the server allow it (probed once per recorder thread).
    pub load_min_rows: Option<usize>,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            max_batch: 2_000,
            queue: 20_000,
            cache_visits: 500_000,
            shards: 2,
            batch_wait: Duration::ZERO,
            load_min_rows: Some(crate::load::LOAD_MIN_ROWS),
        }
    }
}

impl Recorder {
    /// Starts the recorder threads, each on its own connection from `pool`.
    pub fn start(
        pool: tally_db::DbPool,
        config: RecorderConfig,
        definitions: Arc<ReferrerDefinitions>,
    ) -> Self {
        let stats = Arc::new(RecorderStats::default());
        // New names are looked up and inserted under this lock, committed
        // before the batch transactions: a shard's transaction would hide
        // its new rows from the other shards, which would insert the same
        // name again.
        let resolver = Arc::new(Mutex::new(()));
        let owners = Arc::new(VisitWriters::default());
        let n = config.shards.max(1);
        let mut shards = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = mpsc::sync_channel::<Job>((config.queue / n).max(1));
            let (pool, config, definitions, stats, resolver) = (
                pool.clone(),
                config.clone(),
                definitions.clone(),
                stats.clone(),
                resolver.clone(),
            );
            let writers = Some((owners.clone(), i));
            let spawned = std::thread::Builder::new()
                .name(format!("tally-recorder-{i}"))
                .spawn(move || run(pool, config, definitions, resolver, writers, rx, stats));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a recorder thread");
            }
            shards.push(tx);
        }
        Self {
            shards: Arc::new(shards),
            stats,
        }
    }

    /// The recorder's counters.
    pub fn stats(&self) -> &RecorderStats {
        &self.stats
    }

    /// Records `hits` in one transaction and returns one result per hit,
    /// after the commit.
    ///
    /// # Errors
    /// [`TrackingError::Unavailable`] when the recorder queue is full or the
    /// recorder stopped.
    pub async fn record(
        &self,
        hits: Vec<Hit>,
        globals: Arc<Globals>,
    ) -> Result<Vec<HitResult>, TrackingError> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = tokio::sync::oneshot::channel();
        // A bulk request is one transaction, so it goes to one shard: the
        // one of its first hit.
        let shard = shard_of(&hits[0], self.shards.len());
        self.shards[shard]
            .try_send(Job {
                hits,
                globals,
                reply,
            })
            .map_err(|_| TrackingError::Unavailable)?;
        rx.await.map_err(|_| TrackingError::Unavailable)
    }
}

fn shard_of(hit: &Hit, shards: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    hit.site.idsite.hash(&mut h);
    hit.visitor_id.unwrap_or(hit.config_id).hash(&mut h);
    usize::try_from(h.finish() % (shards.max(1) as u64)).unwrap_or(0)
}

fn run(
    pool: tally_db::DbPool,
    config: RecorderConfig,
    definitions: Arc<ReferrerDefinitions>,
    resolver: Arc<Mutex<()>>,
    writers: Option<(Arc<VisitWriters>, usize)>,
    rx: mpsc::Receiver<Job>,
    stats: Arc<RecorderStats>,
) {
    let mut state = BatchWriter {
        cache: VisitCache::new(config.cache_visits),
        names: NameCache::default(),
        ids: IdBlocks::default(),
        definitions,
        resolver,
        load: LoadChoice::new(config.load_min_rows),
        writers,
    };
    let mut conn: Option<tally_db::PooledConn> = None;
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let mut count = jobs[0].hits.len();
        let deadline = Instant::now() + config.batch_wait;
        while count < config.max_batch {
            let next = match rx.try_recv() {
                Ok(j) => Some(j),
                Err(mpsc::TryRecvError::Disconnected) => None,
                Err(mpsc::TryRecvError::Empty) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        None
                    } else {
                        rx.recv_timeout(left).ok()
                    }
                }
            };
            let Some(j) = next else { break };
            count += j.hits.len();
            jobs.push(j);
        }
        let c = match conn.take() {
            Some(c) => Some(c),
            None => match pool.get() {
                Ok(mut c) => match c.batch_execute(READ_COMMITTED_SESSION) {
                    Ok(()) => Some(c),
                    Err(e) => {
                        tracing::error!(error = %e, "recorder cannot set up its connection");
                        None
                    }
                },
                Err(e) => {
                    tracing::error!(error = %e, "recorder cannot get a database connection");
                    None
                }
            },
        };
        let Some(mut c) = c else {
            for job in jobs {
                let n = job.hits.len();
                let _ = job
                    .reply
                    .send((0..n).map(|_| Err(TrackingError::Unavailable)).collect());
            }
            continue;
        };
        let started = Instant::now();
        let hits: usize = jobs.iter().map(|j| j.hits.len()).sum();
        match state.write(&mut c, &jobs) {
            Ok(results) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.hits.fetch_add(hits as u64, Ordering::Relaxed);
                stats.busy_micros.fetch_add(
                    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                for (job, res) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(res);
                }
                conn = Some(c);
            }
            Err(e) if jobs.len() > 1 => {
                // One job spoiled the batch: write each job on its own so
                // that only the faulty one fails.
                tracing::warn!(error = %e, jobs = jobs.len(), "batch failed, retrying job by job");
                stats.failures.fetch_add(1, Ordering::Relaxed);
                for job in jobs {
                    let res = match state.write(&mut c, std::slice::from_ref(&job)) {
                        Ok(mut r) => r.pop().unwrap_or_default(),
                        Err(e) => {
                            stats.failures.fetch_add(1, Ordering::Relaxed);
                            job.hits.iter().map(|_| Err(db_error(&e))).collect()
                        }
                    };
                    let _ = job.reply.send(res);
                }
                conn = Some(c);
            }
            Err(e) => {
                tracing::error!(error = %e, "recording failed");
                stats.failures.fetch_add(1, Ordering::Relaxed);
                for job in jobs {
                    let n = job.hits.len();
                    let _ = job.reply.send((0..n).map(|_| Err(db_error(&e))).collect());
                }
                // A broken connection is dropped; the next batch takes a
                // fresh one from the pool.
            }
        }
    }
}

fn db_error(e: &diesel::result::Error) -> TrackingError {
    TrackingError::Db(tally_db::DbError::Query(clone_error(e)))
}

fn clone_error(e: &diesel::result::Error) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(e.to_string().into())
}

/// Ids handed out ahead of the inserts (see [`IdBlocks::reserve`]).
#[derive(Debug, Default)]
struct IdBlocks {
    visit: (u64, u64),
    action: (u64, u64),
}

const VISIT_SEQ: &str = "log_visit.idvisit";
const ACTION_SEQ: &str = "log_link_visit_action.idlink_va";

impl IdBlocks {
    /// Makes sure `n` visit and action ids are available without a round
    /// trip. Ids come in blocks from the `sequence` table, reserved in
    /// autocommit so that no lock is held across a batch: several tracker
    /// processes can share the tables, and the rows of a multi-row insert
    /// know their ids before they are written (conversions reference
    /// `idlink_va`). Unused ids of a block are gaps, as AUTO_INCREMENT
    /// leaves after a rollback.
    fn reserve(&mut self, conn: &mut MysqlConnection, n: u64) -> QueryResult<()> {
        for (seq, table, col, block) in [
            (VISIT_SEQ, "log_visit", "idvisit", &mut self.visit),
            (
                ACTION_SEQ,
                "log_link_visit_action",
                "idlink_va",
                &mut self.action,
            ),
        ] {
            if block.1 - block.0 >= n {
                continue;
            }
            let size = n.max(10_000);
            let max = max_id(conn, table, col)?;
            // Seeding with MAX(id) keeps us above rows written by anyone
            // who used AUTO_INCREMENT before us.
            tally_db::sequence::create_sequence(conn, seq, max)?;
            diesel::sql_query(
                "UPDATE sequence SET value = LAST_INSERT_ID(GREATEST(value, ?) + ?) WHERE name = ?",
            )
            .bind::<diesel::sql_types::Unsigned<diesel::sql_types::BigInt>, _>(max)
            .bind::<diesel::sql_types::Unsigned<diesel::sql_types::BigInt>, _>(size)
            .bind::<diesel::sql_types::Text, _>(seq)
            .execute(conn)?;
            let end: u64 = diesel::select(tally_db::sequence::last_insert_id()).get_result(conn)?;
            *block = (end - size + 1, end + 1);
        }
        Ok(())
    }

    fn next_visit(&mut self) -> u64 {
        let id = self.visit.0;
        self.visit.0 += 1;
        id
    }

    fn next_action(&mut self) -> u64 {
        let id = self.action.0;
        self.action.0 += 1;
        id
    }
}

fn max_id(conn: &mut MysqlConnection, table: &str, col: &str) -> QueryResult<u64> {
    #[derive(QueryableByName)]
    struct M {
        #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
        m: u64,
    }
    let rows: Vec<M> =
        diesel::sql_query(format!("SELECT COALESCE(MAX({col}), 0) AS m FROM {table}"))
            .load(conn)?;
    Ok(rows.first().map_or(0, |r| r.m))
}

/// `log_action` ids by type, then name: looked up by `&str` without
/// allocating (the lookup runs for every name of every hit).
#[derive(Default)]
struct NameCache {
    by_type: HashMap<u8, HashMap<String, u32>>,
    len: usize,
}

impl NameCache {
    fn get(&self, ty: u8, name: &str) -> Option<u32> {
        self.by_type.get(&ty)?.get(name).copied()
    }

    fn insert(&mut self, ty: u8, name: &str, id: u32) {
        if self
            .by_type
            .entry(ty)
            .or_default()
            .insert(name.to_owned(), id)
            .is_none()
        {
            self.len += 1;
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn clear(&mut self) {
        self.by_type.clear();
        self.len = 0;
    }
}

struct BatchWriter {
    cache: VisitCache,
    /// `log_action` ids already resolved: (type, name) → id. Names never
    /// change id once written, so this needs no invalidation, only a bound.
    names: NameCache,
    ids: IdBlocks,
    definitions: Arc<ReferrerDefinitions>,
    resolver: Arc<Mutex<()>>,
    load: LoadChoice,
    /// The recorder threads' record of who wrote each visit last, and this
    /// thread's index in it; `None` for a writer that is alone (the log
    /// import's).
    writers: Option<(Arc<VisitWriters>, usize)>,
}

/// Which recorder thread last committed each visit.
///
/// A visit is normally written by the thread of its visitor id, but one
/// visit can be continued under several ids (a user id set at login and
/// reset at logout, an SDK sending a new random id per page: the visit is
/// then found by fingerprint), and each id has its thread. A thread whose
/// cached copy of a visit was last written by another thread reads the
/// visit again instead of continuing from its stale copy.
#[derive(Debug, Default)]
struct VisitWriters {
    last: Mutex<HashMap<u64, usize>>,
}

impl VisitWriters {
    /// Entries kept before the record starts again; a forgotten visit is
    /// trusted as cached, as before this record existed.
    const MAX: usize = 1_000_000;

    fn wrote(&self, thread: usize, visits: impl Iterator<Item = u64>) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for v in visits {
            last.insert(v, thread);
        }
        if last.len() > Self::MAX {
            last.clear();
        }
    }

    /// The visits of `visits` last written by a thread other than `thread`.
    fn stale(&self, thread: usize, visits: &[u64]) -> HashSet<u64> {
        let last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        visits
            .iter()
            .copied()
            .filter(|v| last.get(v).is_some_and(|t| *t != thread))
            .collect()
    }
}

/// When a writer loads rows from a file rather than inserting them.
#[derive(Debug, Clone, Copy)]
struct LoadChoice {
    plan: LoadPlan,
    /// Whether the probes ran; they turn off what the connection refuses.
    probed: bool,
}

/// What a batch loads from files.
#[derive(Debug, Clone, Copy, Default)]
struct LoadPlan {
    /// Tables with this many rows or more are loaded; see
    /// [`RecorderConfig::load_min_rows`].
    min_rows: Option<usize>,
    /// Whether next-action visit updates may go through
    /// [`NEXT_ACTION_TABLE`] (a temporary table, which needs the
    /// `CREATE TEMPORARY TABLES` privilege).
    update_table: bool,
}

impl LoadChoice {
    fn new(min_rows: Option<usize>) -> Self {
        Self {
            plan: LoadPlan {
                min_rows,
                update_table: min_rows.is_some(),
            },
            probed: false,
        }
    }

    /// The plan for this writer's batches, probing `conn` the first time.
    /// The writer's connections all come from one pool, so one probe
    /// answers for all of them.
    fn plan(&mut self, conn: &mut MysqlConnection) -> LoadPlan {
        if !self.probed && self.plan.min_rows.is_some() {
            self.probed = true;
            if !crate::load::probe(conn) {
                self.plan = LoadPlan::default();
            } else if let Err(e) = conn.transaction(|c| c.batch_execute(NEXT_ACTION_TABLE_DDL)) {
                // In a transaction, as in a batch: MySQL with
                // `enforce_gtid_consistency` refuses the DDL there only.
                tracing::info!(error = %e, "no temporary table for visit updates; they stay derived tables");
                self.plan.update_table = false;
            }
        }
        self.plan
    }
}

/// Everything one batch writes.
#[derive(Default)]
struct Pending {
    new_visits: Vec<Vec<Val>>,
    new_visit_ids: Vec<u64>,
    touched: HashMap<u64, VisitState>,
    /// Continuing visits as they were before this batch: the update writes
    /// the difference of counters.
    base: HashMap<u64, VisitState>,
    actions: Vec<Vec<Val>>,
    conversions: Vec<Vec<Val>>,
    statements: Vec<Statement>,
    invalidations: HashSet<(u32, time::Date)>,
    site_created: HashMap<u32, i64>,
    /// Touched visits by (site, visitor id) and (site, fingerprint), so that
    /// finding a visit costs the same in a batch of 10 or of 2,000.
    touched_by_visitor: HashMap<(u32, [u8; 8]), Vec<u64>>,
    touched_by_config: HashMap<(u32, [u8; 8]), Vec<u64>>,
    /// The orders known to exist once the batch is written: those found in
    /// the database or carried, and the batch's own.
    orders: HashSet<(u32, String)>,
    /// Where this batch's [`multiple_buster`] sequence starts: random, so
    /// that two batches converting the same goal of a visit in the same
    /// second do not both start at the same buster (Matomo's two random
    /// digits collide one time in 30; within a batch ours never do).
    buster_base: u32,
}

impl Pending {
    /// Room for the visits of `hits` hits: the log import's batches touch
    /// thousands, and growing these maps from empty rebuilt each a dozen
    /// times per batch.
    fn with_capacity(hits: usize) -> Self {
        Self {
            touched: HashMap::with_capacity_and_hasher(hits, Default::default()),
            touched_by_visitor: HashMap::with_capacity_and_hasher(hits, Default::default()),
            touched_by_config: HashMap::with_capacity_and_hasher(hits, Default::default()),
            actions: Vec::with_capacity(hits),
            buster_base: u32::from(random_visitor_id()[0]) % 30,
            ..Self::default()
        }
    }

    fn touch(&mut self, v: VisitState) {
        for (m, k) in [
            (&mut self.touched_by_visitor, (v.idsite, v.idvisitor)),
            (&mut self.touched_by_config, (v.idsite, v.config_id)),
        ] {
            let ids = m.entry(k).or_default();
            if !ids.contains(&v.idvisit) {
                ids.push(v.idvisit);
            }
        }
        self.touched.insert(v.idvisit, v);
    }

    fn touched_for<'a>(
        &'a self,
        index: &'a HashMap<(u32, [u8; 8]), Vec<u64>>,
        key: (u32, [u8; 8]),
    ) -> impl Iterator<Item = &'a VisitState> {
        index
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|id| self.touched.get(id))
    }
}

/// The columns of a new visit's row, in the order of its values.
pub const VISIT_COLUMNS: &[&str] = &[
    "idvisit",
    "idsite",
    "idvisitor",
    "visit_last_action_time",
    "config_id",
    "location_ip",
    "user_id",
    "visit_first_action_time",
    "visit_goal_buyer",
    "visit_goal_converted",
    "visit_total_time",
    "visitor_returning",
    "visitor_count_visits",
    "visitor_seconds_since_first",
    "visitor_seconds_since_order",
    "profilable",
    "visit_entry_idaction_name",
    "visit_entry_idaction_url",
    "visit_exit_idaction_name",
    "visit_exit_idaction_url",
    "visit_total_actions",
    "visit_total_interactions",
    "visit_total_searches",
    "visit_total_events",
    "referer_type",
    "referer_name",
    "referer_keyword",
    "referer_url",
    "config_os",
    "config_os_version",
    "config_browser_name",
    "config_browser_version",
    "config_browser_engine",
    "config_client_type",
    "config_device_type",
    "config_device_brand",
    "config_device_model",
    "config_resolution",
    "config_cookie",
    "config_flash",
    "config_java",
    "config_pdf",
    "config_quicktime",
    "config_realplayer",
    "config_silverlight",
    "config_windowsmedia",
    "location_browser_lang",
    "location_country",
    "location_region",
    "location_city",
    "location_latitude",
    "location_longitude",
    "visitor_localtime",
    "visitor_seconds_since_last",
    "last_idlink_va",
    "custom_dimension_1",
    "custom_dimension_2",
    "custom_dimension_3",
    "custom_dimension_4",
    "custom_dimension_5",
    "custom_var_k1",
    "custom_var_v1",
    "custom_var_k2",
    "custom_var_v2",
    "custom_var_k3",
    "custom_var_v3",
    "custom_var_k4",
    "custom_var_v4",
    "custom_var_k5",
    "custom_var_v5",
];

/// The columns of [`VISIT_COLUMNS`] whose default is not NULL (NOT NULL
/// columns, or a non-NULL `DEFAULT`): always written, even when NULL in
/// every row of an insert (see [`crate::sql::multi_insert_sparse`]). The test
/// `only_columns_with_a_null_default_are_left_out_of_inserts` checks this
/// against the migrated schema.
pub const VISIT_NOT_NULL_BY_DEFAULT: &[&str] = &[
    "idvisit",
    "idsite",
    "idvisitor",
    "visit_last_action_time",
    "config_id",
    "location_ip",
    "visit_first_action_time",
    "visit_total_time",
    "visitor_count_visits",
    "visit_exit_idaction_url",
    "visit_total_interactions",
];

/// [`VISIT_NOT_NULL_BY_DEFAULT`] for [`ACTION_COLUMNS`].
pub const ACTION_NOT_NULL_BY_DEFAULT: &[&str] = &[
    "idlink_va",
    "idsite",
    "idvisitor",
    "idvisit",
    "idaction_url_ref",
    "server_time",
];

/// The columns of an action's row, in the order of its values.
pub const ACTION_COLUMNS: &[&str] = &[
    "idlink_va",
    "idsite",
    "idvisitor",
    "idvisit",
    "idaction_url_ref",
    "idaction_name_ref",
    "custom_float",
    "pageview_position",
    "server_time",
    "idaction_url",
    "idaction_name",
    "idpageview",
    "time_spent_ref_action",
    "search_cat",
    "search_count",
    "idaction_event_category",
    "idaction_event_action",
    "idaction_content_name",
    "idaction_content_piece",
    "idaction_content_target",
    "idaction_content_interaction",
    "idaction_product_sku",
    "idaction_product_name",
    "idaction_product_cat",
    "idaction_product_cat2",
    "idaction_product_cat3",
    "idaction_product_cat4",
    "idaction_product_cat5",
    "product_price",
    "time_network",
    "time_server",
    "time_transfer",
    "time_dom_processing",
    "time_dom_completion",
    "time_on_load",
    "custom_dimension_1",
    "custom_dimension_2",
    "custom_dimension_3",
    "custom_dimension_4",
    "custom_dimension_5",
    "custom_var_k1",
    "custom_var_v1",
    "custom_var_k2",
    "custom_var_v2",
    "custom_var_k3",
    "custom_var_v3",
    "custom_var_k4",
    "custom_var_v4",
    "custom_var_k5",
    "custom_var_v5",
    "bandwidth",
];

const CONVERSION_COLUMNS: &[&str] = &[
    "idvisit",
    "idsite",
    "idvisitor",
    "server_time",
    "idaction_url",
    "idlink_va",
    "idgoal",
    "buster",
    "idorder",
    "items",
    "url",
    "revenue",
    "revenue_shipping",
    "revenue_subtotal",
    "revenue_tax",
    "revenue_discount",
    "pageviews_before",
    "referer_type",
    "referer_name",
    "referer_keyword",
    "visitor_returning",
    "visitor_count_visits",
    "visitor_seconds_since_first",
    "visitor_seconds_since_order",
    "config_browser_name",
    "config_client_type",
    "config_device_type",
    "config_device_brand",
    "config_device_model",
    "location_country",
    "location_region",
    "location_city",
    "location_latitude",
    "location_longitude",
    "custom_dimension_1",
    "custom_dimension_2",
    "custom_dimension_3",
    "custom_dimension_4",
    "custom_dimension_5",
    "custom_var_k1",
    "custom_var_v1",
    "custom_var_k2",
    "custom_var_v2",
    "custom_var_k3",
    "custom_var_v3",
    "custom_var_k4",
    "custom_var_v4",
    "custom_var_k5",
    "custom_var_v5",
];

/// The visit update: counters as increments and the last action time as
/// `GREATEST`, so that trackers sharing the database add up instead of
/// overwriting each other (DESIGN.md §3).
const UPDATE_COLUMNS: &[&str] = &[
    "idvisit",
    "last_time",
    "total_time",
    "d_actions",
    "d_interactions",
    "d_searches",
    "d_events",
    "exit_url",
    "exit_name",
    "entry_url",
    "converted",
    "buyer",
    "since_order",
    "idvisitor",
    "user_id",
    "ref_type",
    "ref_name",
    "ref_keyword",
    "ref_url",
    "resolution",
    "profilable",
    "country",
    "region",
    "city",
    "lat",
    "lon",
    "cd1",
    "cd2",
    "cd3",
    "cd4",
    "cd5",
    "cvk1",
    "cvv1",
    "cvk2",
    "cvv2",
    "cvk3",
    "cvv3",
    "cvk4",
    "cvv4",
    "cvk5",
    "cvv5",
    "last_idlink_va",
];

/// How many columns of [`UPDATE_COLUMNS`], from the first, every next
/// action may change: [`next_action_values`].
const NEXT_ACTION_COLUMNS: usize = 10;

/// The columns of a continuing visit's update when only those of a next
/// action changed ([`only_next_action_changed`]): the first
/// [`NEXT_ACTION_COLUMNS`] of [`UPDATE_COLUMNS`] and its last.
fn short_update_columns() -> Vec<&'static str> {
    UPDATE_COLUMNS[..NEXT_ACTION_COLUMNS]
        .iter()
        .chain(UPDATE_COLUMNS.last())
        .copied()
        .collect()
}

/// The assignments of the first [`NEXT_ACTION_COLUMNS`] (a
/// macro, so that both updates are compile-time strings).
macro_rules! next_action_set {
    () => {
        "v.visit_last_action_time = GREATEST(v.visit_last_action_time, u.last_time), \
    v.visit_total_time = u.total_time, \
    v.visit_total_actions = COALESCE(v.visit_total_actions, 0) + u.d_actions, \
    v.visit_total_interactions = COALESCE(v.visit_total_interactions, 0) + u.d_interactions, \
    v.visit_total_searches = COALESCE(v.visit_total_searches, 0) + u.d_searches, \
    v.visit_total_events = COALESCE(v.visit_total_events, 0) + u.d_events, \
    v.visit_exit_idaction_url = u.exit_url, v.visit_exit_idaction_name = u.exit_name, \
    v.visit_entry_idaction_url = COALESCE(v.visit_entry_idaction_url, u.entry_url), "
    };
}

/// The assignment of the last column of [`UPDATE_COLUMNS`].
macro_rules! last_idlink_set {
    () => {
        "v.last_idlink_va = COALESCE(u.last_idlink_va, v.last_idlink_va)"
    };
}

const SHORT_UPDATE_SET: &str = concat!(next_action_set!(), last_idlink_set!());

/// The temporary table a batch's next-action visit updates are loaded
/// into when there are many ([`LoadPlan::update_table`]), for one
/// `UPDATE ... JOIN`: the derived table of literals costs the server about
/// twice as much a row to parse (11.3-13.6 µs against 6.2-6.4 µs at 1,500
/// rows, docs/PERFORMANCE.md). Its columns are [`short_update_columns`];
/// MEMORY, as it only ever holds one batch's rows, emptied before each.
const NEXT_ACTION_TABLE: &str = "tally_next_action";

/// Creates [`NEXT_ACTION_TABLE`] in the session unless it exists. A
/// temporary table's DDL does not end the transaction it runs in.
const NEXT_ACTION_TABLE_DDL: &str = "CREATE TEMPORARY TABLE IF NOT EXISTS tally_next_action (\
    idvisit BIGINT UNSIGNED NOT NULL PRIMARY KEY, last_time DATETIME NOT NULL, \
    total_time INT UNSIGNED NOT NULL, d_actions INT UNSIGNED NOT NULL, \
    d_interactions INT UNSIGNED NOT NULL, d_searches INT UNSIGNED NOT NULL, \
    d_events INT UNSIGNED NOT NULL, exit_url INT UNSIGNED NULL, exit_name INT UNSIGNED NULL, \
    entry_url INT UNSIGNED NULL, last_idlink_va BIGINT UNSIGNED NULL) ENGINE=MEMORY";

const UPDATE_SET: &str = concat!(
    next_action_set!(),
    "v.visit_goal_converted = u.converted, v.visit_goal_buyer = u.buyer, \
    v.visitor_seconds_since_order = u.since_order, v.idvisitor = u.idvisitor, v.user_id = u.user_id, v.referer_type = u.ref_type, \
    v.referer_name = u.ref_name, v.referer_keyword = u.ref_keyword, v.referer_url = u.ref_url, \
    v.config_resolution = u.resolution, v.profilable = u.profilable, \
    v.location_country = u.country, v.location_region = u.region, v.location_city = u.city, \
    v.location_latitude = u.lat, v.location_longitude = u.lon, \
    v.custom_dimension_1 = u.cd1, v.custom_dimension_2 = u.cd2, v.custom_dimension_3 = u.cd3, \
    v.custom_dimension_4 = u.cd4, v.custom_dimension_5 = u.cd5, \
    v.custom_var_k1 = u.cvk1, v.custom_var_v1 = u.cvv1, v.custom_var_k2 = u.cvk2, \
    v.custom_var_v2 = u.cvv2, v.custom_var_k3 = u.cvk3, v.custom_var_v3 = u.cvv3, \
    v.custom_var_k4 = u.cvk4, v.custom_var_v4 = u.cvv4, v.custom_var_k5 = u.cvk5, \
    v.custom_var_v5 = u.cvv5, ",
    last_idlink_set!()
);

fn opt_id(id: Option<u32>) -> Val {
    id.map_or(Val::Null, Val::from)
}

fn random_visitor_id() -> [u8; 8] {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // Only on platforms without an OS RNG: a time-derived id is still
        // unique enough to tell visitors apart.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b.copy_from_slice(&t.to_le_bytes()[..8]);
    }
    b
}

/// Matomo's order buster: the first 8 hex digits of md5(order id) as a
/// number.
fn order_buster(idorder: &str) -> u32 {
    use md5::Digest as _;
    let d = md5::Md5::digest(idorder.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The isolation of the recorder's connections (set once when a recorder
/// takes a connection), and of each import batch (set for its
/// transaction). Under REPEATABLE READ, statements that find no row (the
/// cart item sync of an order, the replacement of an abandoned cart) lock
/// the gap where the row would be, and two batches that then insert into
/// each other's gap deadlock: seen on `log_conversion_item` with two
/// recorders under load, where the recorder retried the batch job by job.
/// A batch reads nothing it relies on inside its transaction (its reads run
/// before), so it needs no snapshot; READ COMMITTED locks only the rows a
/// statement changes. Once per connection rather than once per batch: a
/// small batch (17 hits at 64 connections) runs about 11 statements, and a
/// twelfth measured 5–7% fewer requests/s in one A/B (docs/PERFORMANCE.md).
pub const READ_COMMITTED_SESSION: &str = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

/// [`READ_COMMITTED_SESSION`] for the session's next transaction only.
const READ_COMMITTED_NEXT: &str = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";

/// A pseudo-random buster for goals allowing several conversions per visit
/// (§6.1): a digit 1–3, a digit 0–9 (the 30 pairs in turn from `seq`),
/// then the time without its first two digits; it fits INT UNSIGNED.
fn multiple_buster(time: i64, seq: u32) -> u32 {
    let t = time.rem_euclid(100_000_000);
    let a = i64::from(seq % 3) + 1;
    let b = i64::from((seq / 3) % 10);
    u32::try_from(a * 1_000_000_000 + b * 100_000_000 + t).unwrap_or(u32::MAX)
}

/// Writes batches of hits on the caller's connection, in a transaction that
/// the caller can add its own statements to.
///
/// The recorder's write path without its threads and queue: one visit
/// cache, one connection, the caller's order. The log import uses it to
/// commit a batch's rows together with the file's progress, so that a crash
/// can neither lose nor repeat a batch.
///
/// Like the recorder, [`DirectWriter::write`] reserves visit and action ids
/// and inserts new `log_action` names in autocommit *before* its
/// transaction: no `sequence` row lock is held while the batch is written,
/// and new names are visible at once to other writers (a tracker serving
/// live traffic, another import). A batch that then fails leaves unused
/// names and an id gap, as a failed recorder batch does. So call it outside
/// a transaction: inside one those statements would join it, keeping the
/// `sequence` row locked (stalling other writers' id reservations) and
/// hiding new names until the commit (another process would insert them
/// again; lookups then take the lowest id, see
/// [`resolve_actions`], so this is safe
/// but wasteful).
///
/// A `DirectWriter` assumes it is the only writer of its visitors' visits
/// while it runs, as a recorder shard does for its visitors.
pub struct DirectWriter {
    writer: BatchWriter,
    /// Shared with the batches this writer prepared: which commits next.
    order: Arc<Mutex<CommitOrder>>,
    /// The number of the next batch prepared.
    next_seq: u64,
    /// Batches prepared and perhaps not committed yet, oldest first.
    in_flight: std::collections::VecDeque<InFlight>,
}

/// What a batch that may still be uncommitted leaves for the next ones:
/// its visits, which must stay in the cache (another connection cannot
/// read them yet), and its orders, which count as existing.
struct InFlight {
    seq: u64,
    visits: Vec<u64>,
    orders: HashSet<(u32, String)>,
}

/// The commit order of one writer's batches.
#[derive(Debug, Default)]
struct CommitOrder {
    /// The batch that may commit next.
    next: u64,
    /// A batch failed, was refused or was dropped: no batch prepared
    /// before the writer's next `prepare` may commit.
    failed: bool,
}

fn lock_order(order: &Mutex<CommitOrder>) -> std::sync::MutexGuard<'_, CommitOrder> {
    // The guarded state is two plain fields, never left half-updated.
    order
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl std::fmt::Debug for DirectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectWriter")
            .field("next_seq", &self.next_seq)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl DirectWriter {
    /// A writer whose visit cache holds up to `cache_visits` visits.
    pub fn new(cache_visits: usize, definitions: Arc<ReferrerDefinitions>) -> Self {
        Self {
            writer: BatchWriter {
                cache: VisitCache::new(cache_visits),
                names: NameCache::default(),
                ids: IdBlocks::default(),
                definitions,
                resolver: Arc::new(Mutex::new(())),
                load: LoadChoice::new(Some(crate::load::LOAD_MIN_ROWS)),
                writers: None,
            },
            order: Arc::default(),
            next_seq: 0,
            in_flight: std::collections::VecDeque::new(),
        }
    }

    /// This writer with [`RecorderConfig::load_min_rows`] set to
    /// `min_rows` (by default [`crate::load::LOAD_MIN_ROWS`]).
    #[must_use]
    pub fn with_load_min_rows(mut self, min_rows: Option<usize>) -> Self {
        self.writer.load = LoadChoice::new(min_rows);
        self
    }

    /// Writes `hits` in one transaction, in order, then runs `then` in that
    /// same transaction with one result per hit, and commits:
    /// [`DirectWriter::prepare`] then [`PreparedBatch::commit`] on one
    /// connection.
    ///
    /// A hit refused on its own (a duplicate order, say) has an `Err`
    /// result and the others are still written; `then` decides what to
    /// record about them. Nothing of the batch is committed if `then`
    /// fails.
    ///
    /// # Errors
    /// The first database error of the id reservation, the name
    /// resolution, the batch or `then`; the transaction is rolled back.
    pub fn write<F>(
        &mut self,
        conn: &mut MysqlConnection,
        hits: Vec<Hit>,
        globals: Arc<Globals>,
        then: F,
    ) -> QueryResult<Vec<HitResult>>
    where
        F: FnOnce(&mut MysqlConnection, &[HitResult]) -> QueryResult<()>,
    {
        if hits.is_empty() {
            conn.transaction(|conn| then(conn, &[]))?;
            return Ok(Vec::new());
        }
        self.prepare(conn, hits, globals)?.commit(conn, then)
    }

    /// Everything of a batch but its transaction: reserves ids, resolves
    /// names, reads the visits and orders the hits need and computes the
    /// rows, on `conn`. The batch is then written by
    /// [`PreparedBatch::commit`], possibly on another thread and
    /// connection while this writer prepares the next batch: the log
    /// import overlaps the two, as the server executes one batch while
    /// this process computes the next.
    ///
    /// The writer counts on its batches committing in the order they were
    /// prepared: it keeps their visits in its cache as if they were
    /// committed, and their orders as existing. A batch committed out of
    /// order is refused. When a batch fails, is refused or is dropped
    /// uncommitted, every batch prepared before this writer's next
    /// `prepare` is refused, and that `prepare` starts again from what the
    /// database holds.
    ///
    /// # Errors
    /// The database error of the id reservation, the name resolution or
    /// the reads. The batches prepared before are then refused too, as
    /// the cache may have lost their visits.
    pub fn prepare(
        &mut self,
        conn: &mut MysqlConnection,
        hits: Vec<Hit>,
        globals: Arc<Globals>,
    ) -> QueryResult<PreparedBatch> {
        let seq = self.next_seq;
        {
            let mut order = lock_order(&self.order);
            if order.failed {
                self.writer.cache.clear();
                self.in_flight.clear();
                order.failed = false;
                order.next = seq;
            }
            let committed_below = order.next;
            self.in_flight.retain(|b| b.seq >= committed_below);
        }
        let carried: HashSet<(u32, String)> = self
            .in_flight
            .iter()
            .flat_map(|b| b.orders.iter().cloned())
            .collect();
        // The recorder answers through this channel; here nobody listens.
        let (reply, _) = tokio::sync::oneshot::channel();
        let jobs = [Job {
            hits,
            globals,
            reply,
        }];
        let plan = self.writer.load.plan(conn);
        let prepared = self
            .writer
            .prepare(conn, &jobs, &carried)
            .and_then(|(results, mut p)| Ok((results, flush_sql(&mut p, plan)?, p)));
        let (mut results, packets, mut p) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                lock_order(&self.order).failed = true;
                return Err(e);
            }
        };
        let visits: Vec<u64> = p.touched.keys().copied().collect();
        let orders = std::mem::take(&mut p.orders);
        let keep: HashSet<u64> = self
            .in_flight
            .iter()
            .flat_map(|b| b.visits.iter().copied())
            .chain(visits.iter().copied())
            .collect();
        self.writer.committed(&jobs, p, &keep);
        self.in_flight.push_back(InFlight {
            seq,
            visits,
            orders,
        });
        self.next_seq += 1;
        Ok(PreparedBatch {
            seq,
            packets,
            results: results.pop().unwrap_or_default(),
            order: Arc::clone(&self.order),
            committed: false,
        })
    }
}

/// A batch computed by [`DirectWriter::prepare`], waiting for its
/// transaction. Dropping it uncommitted makes the writer start again from
/// the database (see [`DirectWriter::prepare`]).
pub struct PreparedBatch {
    seq: u64,
    /// The batch's queries.
    packets: Vec<Packet>,
    results: Vec<HitResult>,
    order: Arc<Mutex<CommitOrder>>,
    /// Set once the transaction committed. Otherwise dropping the batch
    /// (refused, failed or never committed) marks its writer's order
    /// failed: what the writer assumed of this batch no longer holds.
    committed: bool,
}

impl std::fmt::Debug for PreparedBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedBatch")
            .field("seq", &self.seq)
            .field("hits", &self.results.len())
            .finish_non_exhaustive()
    }
}

impl PreparedBatch {
    /// One result per hit, as [`PreparedBatch::commit`] will return them.
    pub fn results(&self) -> &[HitResult] {
        &self.results
    }

    /// Writes the batch in one transaction on `conn`, runs `then` in it
    /// with one result per hit, and commits.
    ///
    /// # Errors
    /// The first database error of the batch or of `then` (the transaction
    /// is rolled back), or a refusal when a batch prepared before this one
    /// by the same writer has not committed or has failed.
    pub fn commit<F>(mut self, conn: &mut MysqlConnection, then: F) -> QueryResult<Vec<HitResult>>
    where
        F: FnOnce(&mut MysqlConnection, &[HitResult]) -> QueryResult<()>,
    {
        {
            let order = lock_order(&self.order);
            if order.failed || order.next != self.seq {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!(
                        "batch {} refused: an earlier batch of its writer failed or is not committed",
                        self.seq
                    )
                    .into(),
                ));
            }
        }
        let packets = std::mem::take(&mut self.packets);
        let results = std::mem::take(&mut self.results);
        // READ COMMITTED as the recorder's batches (READ_COMMITTED_SESSION);
        // inside a caller's transaction the level cannot change, and that
        // transaction's level applies.
        let outside = AnsiTransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()
            .is_ok_and(|depth| depth.is_none());
        if outside {
            conn.batch_execute(READ_COMMITTED_NEXT)?;
        }
        let written = conn.transaction(|conn| {
            for packet in &packets {
                packet.run(conn)?;
            }
            then(conn, &results)
        });
        written?;
        self.committed = true;
        lock_order(&self.order).next = self.seq + 1;
        Ok(results)
    }
}

impl Drop for PreparedBatch {
    fn drop(&mut self) {
        if !self.committed {
            lock_order(&self.order).failed = true;
        }
    }
}

impl BatchWriter {
    /// Writes `jobs` in one transaction sent as one multi-statement text
    /// query: `START TRANSACTION`, every write of the batch, `COMMIT`. The
    /// recorder answers nobody before that query returns, and a failing
    /// statement stops the rest (the `COMMIT` included), so an answered hit
    /// is still on disk. Every query costs round trips whatever its size
    /// (diesel's `batch_execute` adds two to switch multi-statements on
    /// and off), and a statement each for BEGIN, every table and COMMIT
    /// was most of a batch's time on a busy machine (docs/PERFORMANCE.md).
    fn write(
        &mut self,
        conn: &mut MysqlConnection,
        jobs: &[Job],
    ) -> QueryResult<Vec<Vec<HitResult>>> {
        let plan = self.load.plan(conn);
        let (results, mut p) = self.prepare(conn, jobs, &HashSet::default())?;
        let written = flush_sql(&mut p, plan).and_then(|mut packets| {
            if packets.is_empty() {
                return Ok(());
            }
            // BEGIN and COMMIT ride on the first and last text query; a
            // load is a query of its own.
            match packets.first_mut() {
                Some(Packet::Sql(sql)) => sql.insert_str(0, "START TRANSACTION;\n"),
                _ => packets.insert(0, Packet::Sql("START TRANSACTION".into())),
            }
            match packets.last_mut() {
                Some(Packet::Sql(sql)) => sql.push_str(";\nCOMMIT"),
                _ => packets.push(Packet::Sql("COMMIT".into())),
            }
            for packet in &packets {
                packet.run(conn)?;
            }
            Ok(())
        });
        if let Err(e) = written {
            // The transaction may be open after a failed statement; a
            // rollback that fails as well means a broken connection, which
            // the caller drops.
            let _ = conn.batch_execute("ROLLBACK");
            // Cache entries are only written after a commit, but a failure
            // can mean another writer changed rows we cached: start again
            // from the database.
            self.cache.clear();
            return Err(e);
        }
        self.committed(jobs, p, &HashSet::default());
        Ok(results)
    }

    /// Reserves ids, resolves names and reads what the batch needs (visits
    /// of unknown visitors, existing orders), then computes every row.
    ///
    /// The reads run before the write transaction: this writer is the only
    /// one writing its visitors' visits, and reading in the transaction
    /// would only make it longer (and cost a round trip for its `BEGIN`).
    /// `carried` are orders of earlier batches that may not be committed
    /// yet: they count as existing.
    fn prepare(
        &mut self,
        conn: &mut MysqlConnection,
        jobs: &[Job],
        carried: &HashSet<(u32, String)>,
    ) -> QueryResult<(Vec<Vec<HitResult>>, Pending)> {
        let n: usize = jobs.iter().map(|j| j.hits.len()).sum();
        self.ids.reserve(conn, n as u64)?;
        // Names first, committed on their own (see `Recorder::start`); a
        // name whose batch then fails stays, unused, as in Matomo.
        self.resolve(conn, &wanted_names(jobs))?;
        let mut p = Pending::with_capacity(n);
        match self.process(conn, jobs, carried, &mut p) {
            Ok(results) => Ok((results, p)),
            Err(e) => {
                // Prefetched visits may be half read: start again from the
                // database.
                self.cache.clear();
                Err(e)
            }
        }
    }

    /// Keeps the state of a committed batch (or of one about to be, see
    /// [`DirectWriter::prepare`]), never evicting the visits in `keep`.
    fn committed(&mut self, jobs: &[Job], p: Pending, keep: &HashSet<u64>) {
        if let Some((writers, me)) = &self.writers {
            writers.wrote(*me, p.touched.keys().copied());
        }
        for (_, v) in p.touched {
            self.cache.put(v);
        }
        if let Some(t) = jobs.first().and_then(|j| j.hits.first()).map(|h| h.time) {
            self.cache.evict(t, keep);
        }
        if self.names.len() > 1_000_000 {
            self.names.clear();
        }
    }

    /// The cached visit `hit` would continue, by the lookups of §2.3.
    fn cached_visit(&self, hit: &Hit) -> Option<u64> {
        let site = hit.site.idsite;
        let by_id = hit
            .visitor_id
            .and_then(|id| self.cache.find_by_visitor(site, id, hit.time));
        let found = match hit.lookup {
            Lookup::VisitorId => by_id,
            _ => by_id.or_else(|| {
                self.cache
                    .find_by_config(site, hit.config_id, hit.time, hit.req.user_id.as_deref())
            }),
        };
        found.map(|v| v.idvisit)
    }

    /// The visits the batch's hits would continue from the cache that
    /// another recorder thread wrote after this one cached them.
    fn stale_visits(&self, jobs: &[Job]) -> HashSet<u64> {
        let Some((writers, me)) = &self.writers else {
            return HashSet::default();
        };
        let cached: Vec<u64> = jobs
            .iter()
            .flat_map(|j| &j.hits)
            .filter_map(|h| self.cached_visit(h))
            .collect();
        if cached.is_empty() {
            return HashSet::default();
        }
        writers.stale(*me, &cached)
    }

    fn process(
        &mut self,
        conn: &mut MysqlConnection,
        jobs: &[Job],
        carried: &HashSet<(u32, String)>,
        p: &mut Pending,
    ) -> QueryResult<Vec<Vec<HitResult>>> {
        // 1. Visits of visitors the cache cannot answer for.
        let mut by_visitor: HashMap<u32, Vec<[u8; 8]>> = HashMap::default();
        let mut by_config: HashMap<u32, ConfigKeys> = HashMap::default();
        let stale = self.stale_visits(jobs);
        for hit in jobs.iter().flat_map(|j| &j.hits) {
            let site = hit.site.idsite;
            // A cached visit another thread wrote since is read again, by
            // both keys (its visitor id may have changed meanwhile).
            let refresh =
                !stale.is_empty() && self.cached_visit(hit).is_some_and(|id| stale.contains(&id));
            let new_here = refresh
                || hit
                    .visitor_id
                    .is_some_and(|id| !self.cache.knows_visitor(site, id));
            if new_here && let Some(id) = hit.visitor_id {
                by_visitor.entry(site).or_default().push(id);
            }
            // A visitor id new to this recorder that the fingerprint may
            // match is read from the database even when the cache holds a
            // visit with that fingerprint: requests go to the recorder of
            // their visitor id, so a visit continued under other ids
            // (Matomo's PHP tracker created per page without the visitor
            // cookie sends a new random id each time) may have been
            // updated by another recorder since this one cached it. The
            // prefetch keeps whichever state is newer.
            if hit.lookup != Lookup::VisitorId
                && (new_here
                    || self
                        .cache
                        .find_by_config(site, hit.config_id, hit.time, hit.req.user_id.as_deref())
                        .is_none())
            {
                let e = by_config
                    .entry(site)
                    .or_insert_with(|| (Vec::new(), i64::MAX, i64::MIN));
                e.0.push(hit.config_id);
                e.1 = e.1.min(hit.time - VISIT_STANDARD_LENGTH);
                e.2 = e.2.max(hit.time + VISIT_STANDARD_LENGTH);
            }
        }
        for v in by_visitor.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        for v in by_config.values_mut() {
            v.0.sort_unstable();
            v.0.dedup();
        }
        prefetch(conn, &mut self.cache, &by_visitor, &by_config)?;

        // 2. Existing orders (a duplicate order id is refused, §6.3).
        let mut existing_orders: HashSet<(u32, String)> = carried.clone();
        let mut orders: HashMap<u32, Vec<&str>> = HashMap::default();
        for hit in jobs.iter().flat_map(|j| &j.hits) {
            if let ConversionRequest::Order { idorder, .. } = &hit.conversion {
                orders.entry(hit.site.idsite).or_default().push(idorder);
            }
        }
        for (idsite, ids) in orders {
            #[derive(QueryableByName)]
            struct O {
                #[diesel(sql_type = diesel::sql_types::Text)]
                idorder: String,
            }
            for ids in ids.chunks(crate::sql::MAX_BINDS - 1) {
                // A few orders: a cached shape (`Statement::load_cached`).
                let (ids, cached) = crate::sql::read_list(ids);
                let mut st = Statement {
                    sql: format!(
                        "SELECT idorder FROM log_conversion WHERE idsite = ? AND idorder IN ({})",
                        vec!["?"; ids.len()].join(",")
                    ),
                    binds: vec![Val::from(idsite)],
                };
                st.binds.extend(ids.iter().map(|s| Val::from(*s)));
                for o in st.read::<O>(conn, cached)? {
                    existing_orders.insert((idsite, o.idorder));
                }
            }
        }

        // 3. Each hit in arrival order.
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let mut results = Vec::with_capacity(job.hits.len());
            for hit in &job.hits {
                results.push(self.apply(hit, &job.globals, &mut existing_orders, p));
            }
            out.push(results);
        }
        p.orders = existing_orders;
        Ok(out)
    }

    fn resolve(&mut self, conn: &mut MysqlConnection, wanted: &[Name]) -> QueryResult<()> {
        let mut seen = HashSet::default();
        let missing: Vec<ActionKey<'_>> = wanted
            .iter()
            .filter(|n| !n.name.is_empty())
            .filter(|n| self.names.get(n.action_type.code(), &n.name).is_none())
            .filter(|n| seen.insert((n.action_type.code(), n.name.as_str())))
            .map(Name::key)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let ids = {
            let _guard = self
                .resolver
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            resolve_actions(conn, &missing)?
        };
        for (k, id) in missing.iter().zip(ids) {
            self.names.insert(k.action_type.code(), k.name, id);
        }
        Ok(())
    }

    fn id_of(&self, n: Option<&Name>) -> Option<u32> {
        let n = n?;
        if n.name.is_empty() {
            return None;
        }
        self.names.get(n.action_type.code(), &n.name)
    }

    /// Finds the visit a hit continues, or the visitor's previous visit.
    fn find(&self, hit: &Hit, p: &Pending) -> Option<VisitState> {
        let site = hit.site.idsite;
        // Through the index, not a scan of every touched visit: a batch
        // of n hits would cost n² comparisons.
        let lookup = |id| {
            p.touched_for(&p.touched_by_visitor, (site, id))
                .filter(|v| {
                    v.idsite == site
                        && v.idvisitor == id
                        && v.last <= hit.time + VISIT_STANDARD_LENGTH
                })
                .max_by_key(|v| (v.last, v.idvisit))
                .cloned()
                .or_else(|| self.cache.find_by_visitor(site, id, hit.time).cloned())
        };
        // With a `uid`, the fingerprint lookup skips visits of another
        // user (§2.3: `user_id IS NULL OR user_id = ?`), in this batch's
        // visits as in the cache; a cached visit is judged by its state in
        // this batch, where a hit may have changed its user id.
        let user_ok =
            |v: &VisitState| crate::visit::user_may_continue(v, hit.req.user_id.as_deref());
        let by_config = || {
            p.touched_for(&p.touched_by_config, (site, hit.config_id))
                .filter(|v| {
                    v.config_id == hit.config_id
                        && (v.last - hit.time).abs() <= VISIT_STANDARD_LENGTH
                        && user_ok(v)
                })
                .max_by_key(|v| (v.last, v.idvisit))
                .cloned()
                .or_else(|| {
                    self.cache
                        .find_by_config(site, hit.config_id, hit.time, hit.req.user_id.as_deref())
                        .map(|v| p.touched.get(&v.idvisit).unwrap_or(v))
                        .filter(|v| user_ok(v))
                        .cloned()
                })
        };
        let found = match hit.lookup {
            Lookup::VisitorId => hit.visitor_id.and_then(lookup),
            Lookup::VisitorIdThenConfig => hit.visitor_id.and_then(lookup).or_else(by_config),
            Lookup::ConfigId => by_config(),
        };
        // A visit with too many actions is not continued (§2.3).
        found
            .map(|v| {
                let mut v = v;
                if let Some(t) = p.touched.get(&v.idvisit) {
                    v = t.clone();
                }
                v
            })
            .filter(|v| v.total_actions < MAX_ACTIONS_PER_VISIT)
    }

    #[allow(clippy::too_many_lines)]
    fn apply(
        &mut self,
        hit: &Hit,
        globals: &Globals,
        existing_orders: &mut HashSet<(u32, String)>,
        p: &mut Pending,
    ) -> HitResult {
        let site = &hit.site;
        if let ConversionRequest::Order { idorder, .. } = &hit.conversion
            && !existing_orders.insert((site.idsite, idorder.clone()))
        {
            return Err(TrackingError::DuplicateOrder {
                idorder: idorder.clone(),
            });
        }
        let time = hit.time;
        let known = self.find(hit, p);
        let action = hit.action.as_ref();
        let kind = action.map(|a| a.kind);
        let url_id = action.and_then(|a| self.id_of(a.url.as_ref()));
        let name_id = action.and_then(|a| self.id_of(a.name.as_ref()));

        // §2.4: same visit or a new one?
        let local = site.timezone.local_date(time);
        let mut continuing = known.clone().filter(|v| {
            !hit.req.new_visit
                && v.last > time - VISIT_STANDARD_LENGTH
                && site.timezone.local_date(v.last) == local
                && !(hit.user_id_must_match && user_ids_differ(v.user_id.as_deref(), hit))
        });
        // Campaign change forces a new visit (§5.4), unless the visit is
        // direct so far (then the campaign is late referrer information);
        // so does a website change when configured. Referrers of other
        // hits of a visit are not detected: they change nothing.
        let website_rule = globals.new_visit_when_website_referrer_changes
            && hit.req.urlref.as_deref().is_some_and(|u| !u.is_empty());
        let referrer = if continuing.as_ref().is_none_or(|v| v.referer_type == 1)
            || has_campaign(hit)
            || website_rule
        {
            let visit_campaign = continuing
                .as_ref()
                .filter(|v| v.referer_type == 6)
                .map(|v| (v.referer_name.as_str(), v.referer_keyword.as_str()));
            let ctx = ReferrerContext {
                request_campaign: Some(&hit.request_campaign),
                visit_campaign,
                ..referrer_context(site, globals)
            };
            Some(detect_referrer(
                &self.definitions,
                hit.req.urlref.as_deref(),
                hit.req.url.as_deref(),
                &ctx,
            ))
        } else {
            None
        };
        if let (Some(v), Some(r)) = (&continuing, &referrer) {
            let campaign = r.referer_type.code() == 6 && v.referer_type != 1;
            let website = website_rule && r.referer_type.code() == 3;
            // Matomo's `isReferrerInformationNew`: type, name or keyword
            // differ, compared lower-cased; only asked when a change would
            // matter (a direct visit's every hit gets here).
            if (campaign || website)
                && (v.referer_type != r.referer_type.code()
                    || v.referer_name.to_lowercase() != r.name.to_lowercase()
                    || v.referer_keyword.to_lowercase() != r.keyword.to_lowercase())
            {
                continuing = None;
            }
        }
        // A ping never starts a visit (§1.7).
        if hit.req.ping && continuing.is_none() {
            return Ok(());
        }

        let converts_order = matches!(
            &hit.conversion,
            ConversionRequest::Order { items: Some(_), .. }
        );
        // `ec_id` as PHP tests it (`?:`): a non-empty value other than "0",
        // whether or not the order is recorded.
        let names_order = hit
            .req
            .ec_id
            .as_deref()
            .map(php::trim)
            .is_some_and(|id| !id.is_empty() && id != "0");
        let is_new = continuing.is_none();
        let mut v = match continuing {
            Some(v) => v,
            None => {
                // A known visitor's new visit keeps the visitor id of the
                // visit it was recognised by, even when the request names
                // another (a `uid` first seen in this request, or an `_id`
                // matched by fingerprint): Matomo's
                // Visit::getVisitorIdcookie. A next action with the
                // request's id then replaces it, as in Matomo.
                let idvisitor = known
                    .as_ref()
                    .map(|k| k.idvisitor)
                    .or(hit.visitor_id)
                    .unwrap_or_else(random_visitor_id);
                let (returning, count, since_first, since_last, since_order) = match &known {
                    Some(k) => {
                        // Matomo's VisitorSecondsSinceFirst/Last: NULL for a
                        // visit tracked before the previous one (or after
                        // one whose own value is NULL); its seconds since
                        // an order add the gap even when it is negative,
                        // and the UNSIGNED column keeps 0 of a negative sum.
                        let gap = time - k.first;
                        let clamped =
                            |base: i64| u32::try_from((base + gap).max(0)).unwrap_or(u32::MAX);
                        let since = |base: i64| (base + gap >= 0).then(|| clamped(base));
                        // Matomo's VisitorReturning: PHP's `?:` over the
                        // last visit's seconds since an order, then the
                        // request's `ec_id`. Zero is falsy, so the visit
                        // right after an ordering visit (whose value is 0)
                        // is only "returning" (EcommerceOrderWithItemsTest's
                        // visitorType==returning week).
                        let customer = k.secs_since_order.is_some_and(|s| s != 0) || names_order;
                        (
                            if customer { 2 } else { 1 },
                            k.count_visits.saturating_add(1),
                            k.secs_since_first.and_then(|s| since(i64::from(s))),
                            since(0),
                            if converts_order {
                                Some(0)
                            } else {
                                k.secs_since_order.map(|s| clamped(i64::from(s)))
                            },
                        )
                    }
                    None => (
                        u8::from(names_order) * 2,
                        1,
                        Some(0),
                        Some(0),
                        converts_order.then_some(0),
                    ),
                };
                let r = referrer
                    .clone()
                    .unwrap_or_else(|| crate::referrer::Referrer {
                        referer_type: ReferrerType::Direct,
                        name: String::new(),
                        keyword: String::new(),
                        url: String::new(),
                    });
                // PrivacyManager's `onNewVisit`: after detection, which
                // needs the whole referrer.
                let r = globals.privacy.anonymize_referrer.apply(r);
                let mut dims: [Option<String>; 5] = Default::default();
                for (i, val) in &hit.visit_dimensions {
                    if let Some(slot) = dims.get_mut(usize::from(*i).wrapping_sub(1)) {
                        *slot = Some(val.clone());
                    }
                }
                let v = VisitState {
                    idvisit: self.ids.next_visit(),
                    idsite: site.idsite,
                    idvisitor,
                    config_id: hit.config_id,
                    user_id: hit.req.user_id.clone(),
                    first: time,
                    last: time,
                    total_time: 0,
                    total_actions: 0,
                    total_interactions: 0,
                    total_searches: 0,
                    total_events: 0,
                    entry_url: None,
                    entry_name: None,
                    exit_url: None,
                    exit_name: None,
                    goal_buyer: 0,
                    goal_converted: 0,
                    returning,
                    count_visits: count,
                    secs_since_first: since_first,
                    secs_since_order: since_order,
                    profilable: u8::from(hit.visitor_id.is_some()),
                    referer_type: r.referer_type.code(),
                    referer_name: r.name,
                    referer_keyword: r.keyword,
                    referer_url: r.url,
                    resolution: hit.req.resolution.clone(),
                    location: hit.location.clone(),
                    lat_long: [
                        hit.lat_long.0.map(|x| format!("{x:.6}")),
                        hit.lat_long.1.map(|x| format!("{x:.6}")),
                    ],
                    dimensions: dims,
                    custom_vars: crate::hit::custom_var_columns(&hit.req.custom_variables_visit),
                    last_idlink_va: None,
                    // `new_visit_extras` stores these.
                    device: crate::visit::VisitDevice {
                        browser_name: Some(hit.device.browser_name.clone()),
                        client_type: Some(hit.device.client_type),
                        device_type: hit.device.device_type,
                        device_brand: Some(hit.device.device_brand.clone()),
                        device_model: Some(hit.device.config_device_model()),
                    },
                };
                p.new_visit_ids.push(v.idvisit);
                p.touch(v.clone());
                // The insert row is built at the end from the final state;
                // remember what only a new visit stores.
                p.new_visits
                    .push(new_visit_extras(hit, &v.device, since_last));
                v
            }
        };
        let before = v.clone();
        if !is_new && !p.touched.contains_key(&v.idvisit) {
            p.base.insert(v.idvisit, v.clone());
        }

        // Per-action visit updates (§2.5, §2.6).
        // The visit length this request sets in Matomo (VisitTotalTime):
        // 1 + its time - the first action's.
        let mut request_total = None;
        if !is_new {
            if !hit.req.ping {
                v.last = v.last.max(time);
            }
            // Set, not raised: a request older than the visit's last action
            // shortens it, as in Matomo (the last action time alone is
            // kept from going back).
            let total = u32::try_from((1 + time - v.first).max(0)).unwrap_or(u32::MAX);
            request_total = Some(total);
            v.total_time = total;
            if let Some(id) = hit.visitor_id
                && id != v.idvisitor
            {
                v.idvisitor = id;
            }
            if hit.req.user_id.is_some() {
                v.user_id = hit.req.user_id.clone();
            }
            if hit.visitor_id.is_some() {
                v.profilable = 1;
            }
            if let Some(r) = &referrer
                && v.referer_type == 1
                && r.referer_type.code() != 1
            {
                let r = globals.privacy.anonymize_referrer.apply(r.clone());
                v.referer_type = r.referer_type.code();
                v.referer_name = r.name;
                v.referer_keyword = r.keyword;
                v.referer_url = r.url;
            }
            if (v.resolution.is_empty() || v.resolution == "unknown")
                && hit.req.resolution != "unknown"
            {
                v.resolution = hit.req.resolution.clone();
            }
            // An existing visit keeps the location of its first request;
            // only token-authenticated location parameters change it
            // (MATOMO.md section 2.6), not a later GeoIP or language guess.
            for (i, loc) in hit.location.iter().enumerate() {
                if loc.is_some() && hit.location_overridden[i] {
                    v.location[i] = loc.clone();
                }
            }
            if let Some(x) = hit.lat_long.0.filter(|_| hit.location_overridden[3]) {
                v.lat_long[0] = Some(format!("{x:.6}"));
            }
            if let Some(x) = hit.lat_long.1.filter(|_| hit.location_overridden[4]) {
                v.lat_long[1] = Some(format!("{x:.6}"));
            }
            for (i, val) in &hit.visit_dimensions {
                if let Some(slot) = v.dimensions.get_mut(usize::from(*i).wrapping_sub(1)) {
                    *slot = Some(val.clone());
                }
            }
            for (i, c) in crate::hit::custom_var_columns(&hit.req.custom_variables_visit)
                .into_iter()
                .enumerate()
            {
                if c.is_some() {
                    v.custom_vars[i] = c;
                }
            }
        }
        let (ref_url, ref_name) = if is_new {
            (Some(0), Some(0))
        } else {
            (v.exit_url, v.exit_name)
        };
        if let Some(k) = kind {
            if k.counts_as_action() {
                v.total_actions += 1;
            }
            if k.is_interaction() {
                v.total_interactions += 1;
            }
            if k == ActionKind::SiteSearch {
                v.total_searches += 1;
            }
            if k == ActionKind::Event {
                v.total_events += 1;
            }
            match k {
                ActionKind::Pageview => {
                    v.exit_url = Some(url_id.unwrap_or(0));
                    // An untitled page view leaves a continuing visit's
                    // exit title as it was (Matomo's ExitPageTitle has no
                    // value to set then), so the exit titles report counts
                    // the last titled page.
                    if is_new || name_id.is_some() {
                        v.exit_name = Some(name_id.unwrap_or(0));
                    }
                    if is_new {
                        v.entry_name = Some(name_id.unwrap_or(0));
                    }
                    // A new visit's entry is the page or 0; a visit started
                    // without a page takes the first page with a URL
                    // (EntryPageUrl::onExistingVisit skips an empty id).
                    if is_new {
                        v.entry_url = Some(url_id.unwrap_or(0));
                    } else if v.entry_url.is_none() && url_id.is_some_and(|id| id != 0) {
                        v.entry_url = url_id;
                    }
                }
                ActionKind::SiteSearch => {
                    v.exit_url = if is_new { Some(0) } else { None };
                    if is_new || name_id.is_some() {
                        v.exit_name = Some(name_id.unwrap_or(0));
                    }
                    if is_new {
                        v.entry_url = Some(0);
                        v.entry_name = Some(name_id.unwrap_or(0));
                    }
                }
                _ => {
                    // Matomo's EntryPageTitle casts "no title" to 0 (its
                    // EntryPageUrl keeps NULL, filled by a later page).
                    if is_new {
                        v.exit_url = Some(0);
                        v.exit_name = Some(0);
                        v.entry_name = Some(0);
                    }
                }
            }
        } else if is_new {
            v.exit_url = Some(0);
            v.exit_name = Some(0);
            v.entry_name = Some(0);
        }

        // The action row (§2.7).
        let mut idlink_va = None;
        let spent = if is_new {
            0
        } else {
            (time - before.last).clamp(0, VISIT_STANDARD_LENGTH)
        };
        // Matomo's CustomDimensions plugin, for a site with an action
        // dimension, writes the time spent on the previous action into its
        // `time_spent` (the action dimension reports sum it), on every
        // request of a continuing visit: a heartbeat, a manual goal or an
        // ecommerce request without an action lengthen it too. The previous
        // action may be in this batch: the update runs after the batch's
        // inserts.
        let new_id = action.map(|_| self.ids.next_action());
        let previous = match new_id {
            Some(id) => v.last_idlink_va.replace(id),
            None => v.last_idlink_va,
        };
        if spent > 0
            && let Some(previous) = previous
            && hit.site.dimensions.iter().any(|d| !d.visit_scope)
        {
            p.statements.push(Statement {
                sql: "UPDATE log_link_visit_action SET time_spent = ? WHERE idlink_va = ?".into(),
                binds: vec![Val::from(spent), Val::from(previous)],
            });
        }
        if let (Some(a), Some(id)) = (action, new_id) {
            idlink_va = Some(id);
            // Matomo's `PageViewPosition`: NULL for an action (outlink,
            // event...) before the visit's first page view or search.
            let position = Some(v.total_interactions).filter(|&n| n >= 1);
            // A product view parameter sent empty is stored as action id 0,
            // as Matomo's `Action::record` writes a dimension whose name
            // found no `log_action` row (`TableLogAction` skips empty
            // names); the archiver reports it as not defined.
            let product: Vec<Val> = a
                .product
                .iter()
                .map(|n| match n {
                    Some(n) if n.name.is_empty() => opt_id(Some(0)),
                    n => opt_id(self.id_of(n.as_ref())),
                })
                .collect();
            let perf = &hit.req.performance;
            let mut dims: [Option<String>; 5] = Default::default();
            for (i, val) in &hit.action_dimensions {
                if let Some(slot) = dims.get_mut(usize::from(*i).wrapping_sub(1)) {
                    *slot = Some(val.clone());
                }
            }
            let page_vars = crate::hit::custom_var_columns(&hit.req.custom_variables_page);
            let mut row: Vec<Val> = vec![
                id.into(),
                site.idsite.into(),
                v.idvisitor.into(),
                v.idvisit.into(),
                opt_id(ref_url),
                opt_id(ref_name),
                a.event_value.into(),
                position.into(),
                datetime(time).into(),
                // Matomo writes 0 for a missing URL ("Page URL not defined")
                // and, on pageviews and searches, for a missing name; a site
                // search has no URL at all (NULL), as in ActionSiteSearch.
                match a.kind {
                    ActionKind::SiteSearch => Val::Null,
                    _ => Val::from(url_id.unwrap_or(0)),
                },
                match a.kind {
                    ActionKind::Pageview | ActionKind::SiteSearch => {
                        Val::from(name_id.unwrap_or(0))
                    }
                    _ => opt_id(name_id),
                },
                hit.req
                    .pv_id
                    .as_deref()
                    .map(|s| php::truncate_chars(s, 6).to_owned())
                    .into(),
                u64::try_from(spent).unwrap_or(0).into(),
                a.search_cat.clone().into(),
                a.search_count.and_then(|c| u64::try_from(c).ok()).into(),
                opt_id(a.event.as_ref().and_then(|e| self.id_of(Some(&e.0)))),
                opt_id(a.event.as_ref().and_then(|e| self.id_of(Some(&e.1)))),
            ];
            row.extend(a.content.iter().map(|n| opt_id(self.id_of(n.as_ref()))));
            row.extend(product);
            row.push(a.product_price.into());
            // Page timings belong to page views only (Matomo's
            // PagePerformance columns skip any other `Action` class, a
            // site search sent with `pf_*` included).
            if matches!(a.kind, ActionKind::Pageview) {
                row.extend(perf.timings().map(Val::from));
            } else {
                row.extend([None::<u32>; 6].map(Val::from));
            }
            row.extend(dims.into_iter().map(Val::from));
            row.extend(page_vars.into_iter().map(Val::from));
            // Every action row may carry a response size, as the Bandwidth
            // plugin's `onNewAction` reads `bw_bytes` for any action.
            row.push(hit.req.bandwidth.into());
            p.actions.push(row);
        }
        // Page timings sent with a request that is not a page view (a
        // ping, an event, a download...) update the page view they name by
        // `pv_id`, as Matomo's PerformanceDataProcessor does for every
        // non-pageview request (LabelFilterTest's fixture sends an event
        // with new timings after its page view).
        if hit.req.performance.any()
            && !action.is_some_and(|a| matches!(a.kind, ActionKind::Pageview))
            && let Some(pv) = hit.req.pv_id.as_deref()
        {
            let perf = &hit.req.performance;
            // Only the page view's own row: Matomo looks up the row of that
            // `idpageview` whose URL is a page URL, else whose name is a
            // page title; the request's own action row carries the same
            // `idpageview` and is left alone.
            let mut st = Statement {
                sql: "UPDATE log_link_visit_action l SET \
                      time_network = COALESCE(?, time_network), time_server = COALESCE(?, time_server), \
                      time_transfer = COALESCE(?, time_transfer), time_dom_processing = COALESCE(?, time_dom_processing), \
                      time_dom_completion = COALESCE(?, time_dom_completion), time_on_load = COALESCE(?, time_on_load) \
                      WHERE l.idvisit = ? AND l.idpageview = ? AND EXISTS (SELECT 1 FROM log_action a \
                      WHERE (a.idaction = l.idaction_url AND a.type = 1) OR (a.idaction = l.idaction_name AND a.type = 4))"
                    .into(),
                binds: Vec::new(),
            };
            st.binds.extend(perf.timings().map(Val::from));
            st.binds.push(v.idvisit.into());
            st.binds.push(php::truncate_chars(pv, 6).into());
            p.statements.push(st);
        }

        // Conversions (§6).
        let converted =
            self.conversions(hit, globals, &mut v, &before, is_new, idlink_va, url_id, p);
        if converted && (!is_new || known.is_some()) {
            // Matomo's quirk (VisitTotalTime::onConvertedVisit, for a
            // visitor it recognised, also on a new visit): a converting
            // request adds the request's `idgoal` parameter + 2 seconds,
            // i.e. 1 for a goal matched by URL (no parameter: -1), 2 for an
            // order, idgoal + 2 for a manual conversion.
            // Matomo adds it to the length this request set, not to the
            // longest so far: several converting hits in one second, or
            // lines imported out of order, do not add up.
            let bump = u32::try_from(hit.req.idgoal.saturating_add(2).max(0)).unwrap_or(0);
            v.total_time = match request_total {
                Some(t) => t.saturating_add(bump),
                None => v.total_time.saturating_add(bump),
            };
        }

        // Old data: the day must be archived again (§1.7 step 8).
        let today = site.timezone.local_date(now_unix());
        if local < today {
            p.invalidations.insert((site.idsite, local));
        }
        if site.ts_created.is_some_and(|c| time < c) {
            let e = p.site_created.entry(site.idsite).or_insert(time);
            *e = (*e).min(time);
        }
        p.touch(v);
        Ok(())
    }

    /// Records goal and ecommerce conversions; returns whether the visit is
    /// converted by this request (Matomo's `visitIsConverted`: a goal, or
    /// an order; not a cart update).
    #[allow(clippy::too_many_arguments)]
    fn conversions(
        &mut self,
        hit: &Hit,
        globals: &Globals,
        v: &mut VisitState,
        before: &VisitState,
        is_new: bool,
        idlink_va: Option<u64>,
        url_id: Option<u32>,
        p: &mut Pending,
    ) -> bool {
        let site = &hit.site;
        let mut goals: Vec<(&GoalDef, f64)> = Vec::new();
        match &hit.conversion {
            ConversionRequest::Manual { idgoal } => {
                if let Some(g) = site.goals.iter().find(|g| g.idgoal == *idgoal) {
                    goals.push((g, hit.req.revenue.unwrap_or(g.revenue)));
                }
            }
            ConversionRequest::Order { idorder, items } => {
                let Some(items) = items else { return false };
                self.ecommerce(hit, globals, v, before, Some(idorder), items, p);
                return true;
            }
            ConversionRequest::Cart { items } => {
                let Some(items) = items else { return false };
                self.ecommerce(hit, globals, v, before, None, items, p);
                return false;
            }
            ConversionRequest::None => {
                if let Some(a) = &hit.action {
                    for g in &site.goals {
                        let value = match g.attribute {
                            GoalMatchAttribute::Url if a.kind == ActionKind::Pageview => {
                                a.raw_url.as_deref()
                            }
                            GoalMatchAttribute::Title if a.kind == ActionKind::Pageview => {
                                a.title.as_deref()
                            }
                            GoalMatchAttribute::File if a.kind == ActionKind::Download => {
                                a.raw_url.as_deref()
                            }
                            GoalMatchAttribute::ExternalWebsite
                                if a.kind == ActionKind::Outlink =>
                            {
                                a.raw_url.as_deref()
                            }
                            GoalMatchAttribute::EventCategory if a.kind == ActionKind::Event => {
                                a.event.as_ref().map(|e| e.0.name.as_str())
                            }
                            GoalMatchAttribute::EventAction if a.kind == ActionKind::Event => {
                                a.event.as_ref().map(|e| e.1.name.as_str())
                            }
                            GoalMatchAttribute::EventName if a.kind == ActionKind::Event => {
                                a.name.as_ref().map(|n| n.name.as_str())
                            }
                            _ => None,
                        };
                        let matched = match g.attribute {
                            GoalMatchAttribute::VisitDuration => g
                                .duration_minutes()
                                .is_some_and(|m| ((hit.time - v.first) as f64) / 60.0 > m),
                            // Titles and event names are stored
                            // HTML-escaped; `isUrlMatchingGoal` matches
                            // them unescaped (URLs already are).
                            _ => value.is_some_and(|x| g.matches(&php::unsanitize_input_value(x))),
                        };
                        if matched {
                            let revenue = if g.event_value_as_revenue && a.kind == ActionKind::Event
                            {
                                // Matomo replaces the revenue with `e_v`
                                // only when one is sent; else the
                                // request's `revenue` applies as for any
                                // goal.
                                a.event_value.or(hit.req.revenue).unwrap_or(g.revenue)
                            } else {
                                hit.req.revenue.unwrap_or(g.revenue)
                            };
                            goals.push((g, revenue));
                        }
                    }
                }
            }
        }
        if goals.is_empty() {
            // Most hits convert nothing: normalizing their URL again would
            // cost as much as the rest of this function.
            return false;
        }
        let mut converted = false;
        // `GoalManager::detectGoalMatch` files the conversion under the
        // converting action's URL: a download's or outlink's as stored
        // (HTML-escaped; empty when it did not look like a URL), not the
        // page's.
        let url = match &hit.action {
            Some(a) if matches!(a.kind, ActionKind::Download | ActionKind::Outlink) => {
                a.url.as_ref().map(|n| n.name.clone()).unwrap_or_default()
            }
            _ => conversion_url(hit),
        };
        let conv_url_id = if hit.action.is_some() {
            url_id
        } else {
            self.id_of(conversion_url_name(hit).as_ref())
        };
        for (seq, (g, revenue)) in goals.into_iter().enumerate() {
            let buster = if g.allow_multiple {
                multiple_buster(
                    hit.time,
                    p.buster_base
                        + u32::try_from(seq).unwrap_or(0)
                        + u32::try_from(p.conversions.len()).unwrap_or(0),
                )
            } else {
                0
            };
            let row = self.conversion_row(
                hit,
                globals,
                v,
                before,
                is_new,
                conv_url_id,
                idlink_va,
                g.idgoal.into(),
                buster,
                None,
                None,
                &url,
                crate::hit::round_revenue(revenue),
                [None; 4],
            );
            p.conversions.push(row);
            v.goal_converted = 1;
            converted = true;
        }
        converted
    }

    #[allow(clippy::too_many_arguments)]
    fn conversion_row(
        &self,
        hit: &Hit,
        globals: &Globals,
        v: &VisitState,
        before: &VisitState,
        is_new: bool,
        idaction_url: Option<u32>,
        idlink_va: Option<u64>,
        idgoal: i64,
        buster: u32,
        idorder: Option<&str>,
        items: Option<u32>,
        url: &str,
        revenue: f64,
        parts: [Option<f64>; 4],
    ) -> Vec<Val> {
        let pageviews_before = {
            let base = if is_new {
                0
            } else {
                before
                    .total_interactions
                    .saturating_sub(before.total_searches)
            };
            let this = u32::from(
                hit.action
                    .as_ref()
                    .is_some_and(|a| a.kind == ActionKind::Pageview),
            );
            // Goals/PageviewsBefore fills goals and orders only: an
            // abandoned cart's row keeps NULL.
            (idgoal != -1).then_some(base + this)
        };
        let (rt, rn, rk) = attribution(hit, v, &self.definitions, globals);
        let (stored_rn, stored_rk) = stored_name_and_keyword(rt, &rn, &rk);
        let mut row: Vec<Val> = vec![
            v.idvisit.into(),
            hit.site.idsite.into(),
            v.idvisitor.into(),
            datetime(hit.time).into(),
            opt_id(idaction_url),
            idlink_va.into(),
            idgoal.into(),
            buster.into(),
            idorder.into(),
            items.into(),
            url.into(),
            revenue.into(),
            parts[2].into(),
            parts[0].into(),
            parts[1].into(),
            parts[3].into(),
            pageviews_before.into(),
            rt.into(),
            stored_rn.into(),
            stored_rk.into(),
            v.returning.into(),
            v.count_visits.into(),
            v.secs_since_first.into(),
            v.secs_since_order.into(),
            v.device.browser_name.clone().into(),
            v.device.client_type.into(),
            v.device.device_type.into(),
            v.device.device_brand.clone().into(),
            v.device.device_model.clone().into(),
            Val::from(v.location[0].clone().unwrap_or_else(|| "xx".into())),
            v.location[1].clone().into(),
            v.location[2].clone().into(),
            v.lat_long[0].clone().into(),
            v.lat_long[1].clone().into(),
        ];
        row.extend(v.dimensions.iter().cloned().map(Val::from));
        // The visit's custom variables as they stand after this request
        // (Matomo's `GoalManager::recordGoals` copies the visit row's
        // non-empty ones over the request's `_cvar`): the CustomVariables
        // report gives each name and value the goals of its conversions.
        row.extend(v.custom_vars.iter().cloned().map(Val::from));
        row
    }

    #[allow(clippy::too_many_arguments)]
    fn ecommerce(
        &mut self,
        hit: &Hit,
        globals: &Globals,
        v: &mut VisitState,
        before: &VisitState,
        idorder: Option<&String>,
        items: &[Item],
        p: &mut Pending,
    ) {
        let quantity: u32 = items.iter().map(|i| i.quantity).sum();
        let revenue = crate::hit::round_revenue(hit.req.revenue.unwrap_or(0.0));
        let url = conversion_url(hit);
        let url_id = self.id_of(conversion_url_name(hit).as_ref());
        let open_cart = matches!(before.goal_buyer, 2 | 3);
        let idsite = hit.site.idsite;
        match idorder {
            Some(order) => {
                let parts = [
                    hit.req.ec_subtotal,
                    hit.req.ec_tax,
                    hit.req.ec_shipping,
                    hit.req.ec_discount,
                ]
                .map(|x| x.map(crate::hit::round_revenue));
                if open_cart {
                    // The open cart row becomes the order (§6.3).
                    p.statements.push(Statement {
                        sql: "DELETE FROM log_conversion WHERE idvisit = ? AND idgoal = -1 AND buster = 0".into(),
                        binds: vec![v.idvisit.into()],
                    });
                }
                v.goal_converted = 1;
                v.goal_buyer = 1;
                v.secs_since_order = Some(0);
                let row = self.conversion_row(
                    hit,
                    globals,
                    v,
                    before,
                    false,
                    url_id,
                    None,
                    0,
                    order_buster(order),
                    Some(order),
                    Some(quantity),
                    &url,
                    revenue,
                    parts,
                );
                p.conversions.push(row);
            }
            None => {
                v.goal_buyer = if matches!(before.goal_buyer, 1 | 3) {
                    3
                } else {
                    2
                };
                if open_cart {
                    // The cart row is replaced by this update's.
                    p.statements.push(Statement {
                        sql: "DELETE FROM log_conversion WHERE idvisit = ? AND idgoal = -1 AND buster = 0".into(),
                        binds: vec![v.idvisit.into()],
                    });
                }
                let row = self.conversion_row(
                    hit,
                    globals,
                    v,
                    before,
                    false,
                    url_id,
                    None,
                    -1,
                    0,
                    None,
                    Some(quantity),
                    &url,
                    revenue,
                    [None; 4],
                );
                p.conversions.push(row);
            }
        }
        // Item sync (§6.4): cart items of the visit missing from this list
        // end up `deleted = 1`; listed ones carry this list's values, and
        // on an order they move from the cart ('0') to the order id.
        // Only a visit with an open cart (`visit_goal_buyer` 2 or 3) has
        // cart items to update: for the others these statements would
        // change nothing.
        let order_key = idorder.map_or("0", String::as_str);
        if open_cart {
            p.statements.push(Statement {
                sql:
                    "UPDATE log_conversion_item SET deleted = 1 WHERE idvisit = ? AND idorder = '0'"
                        .into(),
                binds: vec![v.idvisit.into()],
            });
        }
        let skus: Vec<u32> = items
            .iter()
            .filter_map(|it| self.id_of(Some(&it.sku)))
            .collect();
        if open_cart && idorder.is_some() && !skus.is_empty() {
            let mut st = Statement {
                sql: format!(
                    "DELETE FROM log_conversion_item WHERE idvisit = ? AND idorder = '0' AND idaction_sku IN ({})",
                    vec!["?"; skus.len()].join(",")
                ),
                binds: vec![v.idvisit.into()],
            };
            st.binds.extend(skus.iter().map(|s| Val::from(*s)));
            p.statements.push(st);
        }
        let mut rows = Vec::new();
        for it in items {
            let cats: Vec<u32> = (0..5)
                .map(|i| self.id_of(it.categories.get(i)).unwrap_or(0))
                .collect();
            rows.push(vec![
                Val::from(idsite),
                v.idvisitor.into(),
                datetime(hit.time).into(),
                v.idvisit.into(),
                order_key.into(),
                self.id_of(Some(&it.sku)).unwrap_or(0).into(),
                self.id_of(it.name.as_ref()).unwrap_or(0).into(),
                cats[0].into(),
                cats[1].into(),
                cats[2].into(),
                cats[3].into(),
                cats[4].into(),
                it.price.into(),
                it.quantity.into(),
                0u8.into(),
            ]);
        }
        for mut st in multi_insert(
            "INSERT",
            "log_conversion_item",
            &[
                "idsite",
                "idvisitor",
                "server_time",
                "idvisit",
                "idorder",
                "idaction_sku",
                "idaction_name",
                "idaction_category",
                "idaction_category2",
                "idaction_category3",
                "idaction_category4",
                "idaction_category5",
                "price",
                "quantity",
                "deleted",
            ],
            rows,
        ) {
            st.sql.push_str(
                " ON DUPLICATE KEY UPDATE idaction_name = VALUES(idaction_name), \
                 idaction_category = VALUES(idaction_category), idaction_category2 = VALUES(idaction_category2), \
                 idaction_category3 = VALUES(idaction_category3), idaction_category4 = VALUES(idaction_category4), \
                 idaction_category5 = VALUES(idaction_category5), price = VALUES(price), \
                 quantity = VALUES(quantity), deleted = 0, server_time = VALUES(server_time)",
            );
            p.statements.push(st);
        }
    }
}

/// Every `log_action` name the jobs reference (actions, conversion URLs,
/// ecommerce items).
fn wanted_names(jobs: &[Job]) -> Vec<Name> {
    let mut wanted: Vec<Name> = Vec::new();
    for hit in jobs.iter().flat_map(|j| &j.hits) {
        if let Some(a) = &hit.action {
            wanted.extend(a.names().cloned());
        }
        if let Some(u) = conversion_url_name(hit) {
            wanted.push(u);
        }
        if let ConversionRequest::Order {
            items: Some(items), ..
        }
        | ConversionRequest::Cart { items: Some(items) } = &hit.conversion
        {
            for it in items {
                wanted.push(it.sku.clone());
                wanted.extend(it.name.iter().cloned());
                wanted.extend(it.categories.iter().cloned());
            }
        }
    }
    wanted
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// §2.4 rule 6 with `enable_userid_overwrites_visitorid = 0`: the visit's
/// and the request's user ids are both set (not empty as PHP's `empty`
/// sees it, so not "0") and differ.
fn user_ids_differ(visit_user_id: Option<&str>, hit: &Hit) -> bool {
    match (visit_user_id, hit.req.user_id.as_deref()) {
        (Some(stored), Some(sent)) => {
            !php::is_empty(stored) && !php::is_empty(sent) && stored != sent
        }
        _ => false,
    }
}

/// Whether the request carries campaign parameters (then the referrer is
/// re-detected even on a continuing visit, §5.4).
fn has_campaign(hit: &Hit) -> bool {
    let params = &hit.site.url_settings.campaign;
    hit.req
        .url
        .as_deref()
        .is_some_and(|u| crate::campaign::detect_in_url(u, params).is_some())
        || hit.request_campaign.0.is_some()
        || hit
            .req
            .urlref
            .as_deref()
            .is_some_and(crate::referrer::is_google_ads_referrer)
}

/// The conversion's `url`: the request URL after parameter exclusion.
fn conversion_url(hit: &Hit) -> String {
    hit.req
        .url
        .as_deref()
        .map(|u| {
            crate::urlnorm::normalize_url_with(
                u,
                &hit.site.url_settings,
                &hit.site.excluded_parameters,
            )
            .unwrap_or_else(|| crate::urlnorm::cleanup_url(u))
        })
        .unwrap_or_default()
}

fn conversion_url_name(hit: &Hit) -> Option<Name> {
    if matches!(hit.conversion, ConversionRequest::None) {
        return None;
    }
    let page = crate::urlnorm::normalize_page_url_with(
        hit.req.url.as_deref()?,
        &hit.site.url_settings,
        &hit.site.excluded_parameters,
    )?;
    Some(Name {
        action_type: ActionType::PageUrl,
        name: page.name,
        url_prefix: page.url_prefix,
    })
}

/// The referrer detection context of `site`, without campaigns.
fn referrer_context<'a>(
    site: &'a crate::site::SiteSettings,
    globals: &'a Globals,
) -> ReferrerContext<'a> {
    ReferrerContext {
        idsite: site.idsite,
        site_urls: &globals.site_urls,
        excluded_referrers: &globals.excluded_referrers,
        url_settings: &site.url_settings,
        excluded_parameters: &site.excluded_parameters,
        request_campaign: None,
        visit_campaign: None,
    }
}

/// §5.5: the referrer a conversion is attributed to.
fn attribution(
    hit: &Hit,
    v: &VisitState,
    definitions: &ReferrerDefinitions,
    globals: &Globals,
) -> (u8, String, String) {
    let visit = (
        v.referer_type,
        v.referer_name.clone(),
        v.referer_keyword.clone(),
    );
    let campaign = crate::referrer::attribution_campaign(
        hit.req.attribution_campaign_name.as_deref(),
        hit.req.attribution_campaign_keyword.as_deref(),
    );
    match campaign {
        None if v.referer_type == 6 && !v.referer_name.is_empty() => return visit,
        Some(r) => return (r.referer_type.code(), r.name, r.keyword),
        None => {}
    }
    // (2) The referrer URL of the attribution cookie, when it is a search
    // engine, a website or a social network (Matomo parses it with no
    // current URL).
    if let Some(url) = hit
        .req
        .attribution_referrer
        .as_deref()
        .filter(|url| !url.is_empty())
    {
        let ctx = referrer_context(&hit.site, globals);
        let r = detect_referrer(definitions, Some(url), None, &ctx);
        if matches!(
            r.referer_type,
            ReferrerType::SearchEngine | ReferrerType::Website | ReferrerType::SocialNetwork
        ) {
            return (r.referer_type.code(), r.name, r.keyword);
        }
    }
    visit
}

/// The fields a new visit stores once: device, plugins, language, IP,
/// local time, seconds since last visit. The device columns its
/// conversions also copy come from the visit state (`visit_device`).
fn new_visit_extras(
    hit: &Hit,
    visit_device: &crate::visit::VisitDevice,
    since_last: Option<u32>,
) -> Vec<Val> {
    let d = &hit.device;
    let pl = &hit.req.plugins;
    let flag = |x: i64| Val::from(u8::from(x != 0));
    vec![
        hit.stored_ip.clone().into(),
        Val::from(d.os.as_str()),
        Val::from(d.os_version.as_str()),
        visit_device.browser_name.clone().into(),
        Val::from(php::truncate_chars(&d.browser_version, 20)),
        Val::from(d.browser_engine.as_str()),
        visit_device.client_type.into(),
        visit_device.device_type.into(),
        visit_device.device_brand.clone().into(),
        visit_device.device_model.clone().into(),
        // As sent, for Internet Explorer too: Matomo leaves IE's cookie
        // flag out of the fingerprint only (config_id), not out of
        // `config_cookie` (DevicePlugins' PluginCookie).
        flag(pl.cookie),
        flag(pl.flash),
        flag(pl.java),
        flag(pl.pdf),
        flag(pl.quicktime),
        flag(pl.realplayer),
        flag(pl.silverlight),
        flag(pl.windowsmedia),
        Val::from(php::truncate_chars(&hit.lang, 20)),
        Val::from(hit.local_time.as_str()),
        since_last.into(),
    ]
}

/// Most bytes of SQL sent in one multi-statement query. Statements are
/// packed until the next would pass this; one bigger statement goes alone.
/// Well under MariaDB's default `max_allowed_packet` (16 MiB).
const PACKET_BYTES: usize = 4 << 20;

/// One query of a batch's transaction.
#[derive(Debug)]
enum Packet {
    /// Statements sent as one multi-statement text query.
    Sql(String),
    /// Rows loaded from a file: a query of its own.
    Load(Load),
}

impl Packet {
    fn run(&self, conn: &mut MysqlConnection) -> QueryResult<()> {
        match self {
            Self::Sql(sql) => conn.batch_execute(sql),
            Self::Load(load) => load.run(conn),
        }
    }
}

/// One write of a batch, in the order they run.
enum Step {
    Sql(Statement),
    Load(Load),
}

/// Every write of the batch, in the order it must run: each load a query
/// of its own, the statements between them rendered as text (see
/// [`Statement::render`]) and packed into as few multi-statement queries
/// as [`PACKET_BYTES`] allows. Empty when there is nothing to write.
fn flush_sql(p: &mut Pending, plan: LoadPlan) -> QueryResult<Vec<Packet>> {
    let mut packets: Vec<Packet> = Vec::new();
    for step in flush_statements(p, plan)? {
        let st = match step {
            Step::Load(load) => {
                packets.push(Packet::Load(load));
                continue;
            }
            Step::Sql(st) => st,
        };
        let sql = st.into_sql()?;
        match packets.last_mut() {
            Some(Packet::Sql(last)) if last.len() + sql.len() < PACKET_BYTES => {
                last.push_str(";\n");
                last.push_str(&sql);
            }
            _ => packets.push(Packet::Sql(sql)),
        }
    }
    Ok(packets)
}

/// The rows of a new-row table, as a load when there are `min_rows` or
/// more and the file could be written, else as `INSERT`s.
fn insert_or_load(
    table: &str,
    columns: &[&str],
    keep: &[&str],
    rows: Vec<Vec<Val>>,
    min_rows: Option<usize>,
    out: &mut Vec<Step>,
) {
    let present = present_columns(columns, keep, &rows);
    if min_rows.is_some_and(|min| rows.len() >= min) {
        match Load::new(table, columns, &present, &rows) {
            Ok(load) => {
                out.push(Step::Load(load));
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, table, "cannot write rows to load; inserting them");
            }
        }
    }
    out.extend(
        insert_columns("INSERT", table, columns, &present, rows)
            .into_iter()
            .map(Step::Sql),
    );
}

/// The batch's writes, in the order they run.
fn flush_statements(p: &mut Pending, plan: LoadPlan) -> QueryResult<Vec<Step>> {
    let mut out = Vec::new();
    // New visits: the final state of each, plus its one-time fields.
    let mut rows = Vec::with_capacity(p.new_visit_ids.len());
    for (id, extras) in p
        .new_visit_ids
        .iter()
        .zip(std::mem::take(&mut p.new_visits))
    {
        let Some(v) = p.touched.get(id) else { continue };
        let (stored_name, stored_keyword) =
            stored_name_and_keyword(v.referer_type, &v.referer_name, &v.referer_keyword);
        // The one-time fields in column order, moved rather than cloned.
        let mut e = extras.into_iter();
        let mut row: Vec<Val> = Vec::with_capacity(VISIT_COLUMNS.len());
        row.extend([
            v.idvisit.into(),
            v.idsite.into(),
            v.idvisitor.into(),
            datetime(v.last).into(),
            v.config_id.into(),
            e.next().unwrap_or(Val::Null),
            v.user_id.clone().into(),
            datetime(v.first).into(),
            v.goal_buyer.into(),
            v.goal_converted.into(),
            v.total_time.into(),
            v.returning.into(),
            v.count_visits.into(),
            v.secs_since_first.into(),
            v.secs_since_order.into(),
            v.profilable.into(),
            opt_id(v.entry_name),
            opt_id(v.entry_url),
            opt_id(v.exit_name),
            opt_id(v.exit_url),
            v.total_actions.into(),
            v.total_interactions.into(),
            v.total_searches.into(),
            v.total_events.into(),
            v.referer_type.into(),
            stored_name.into(),
            stored_keyword.into(),
            Val::from(v.referer_url.as_str()),
        ]);
        row.extend(e.by_ref().take(9));
        row.push(Val::from(php::truncate_chars(&v.resolution, 18)));
        row.extend(e.by_ref().take(9));
        row.push(Val::from(
            v.location[0].clone().unwrap_or_else(|| "xx".into()),
        ));
        row.push(v.location[1].clone().into());
        row.push(v.location[2].clone().into());
        row.push(v.lat_long[0].clone().into());
        row.push(v.lat_long[1].clone().into());
        row.extend(e.by_ref().take(2));
        row.push(v.last_idlink_va.into());
        row.extend(v.dimensions.iter().cloned().map(Val::from));
        row.extend(v.custom_vars.iter().cloned().map(Val::from));
        rows.push(row);
    }
    let new_ids: HashSet<u64> = p.new_visit_ids.iter().copied().collect();
    insert_or_load(
        "log_visit",
        VISIT_COLUMNS,
        VISIT_NOT_NULL_BY_DEFAULT,
        rows,
        plan.min_rows,
        &mut out,
    );
    insert_or_load(
        "log_link_visit_action",
        ACTION_COLUMNS,
        ACTION_NOT_NULL_BY_DEFAULT,
        std::mem::take(&mut p.actions),
        plan.min_rows,
        &mut out,
    );
    // Continuing visits: one UPDATE for all whose only changes are those
    // of a next action (times, counters, exit and first entry action), one
    // for the others. The short one costs the server about 40% less a row
    // than assigning every column (a micro-benchmark, docs/PERFORMANCE.md).
    let (mut short, mut full) = (Vec::new(), Vec::new());
    for v in p.touched.values().filter(|v| !new_ids.contains(&v.idvisit)) {
        let Some(base) = p.base.get(&v.idvisit) else {
            continue;
        };
        if only_next_action_changed(v, base) {
            short.push(short_update_row(v, base));
        } else {
            full.push(update_row(v, base));
        }
    }
    let short_columns = short_update_columns();
    let short = if plan.update_table && plan.min_rows.is_some_and(|min| short.len() >= min) {
        match Load::new(
            NEXT_ACTION_TABLE,
            &short_columns,
            &vec![true; short_columns.len()],
            &short,
        ) {
            Ok(load) => {
                out.push(Step::Sql(Statement {
                    sql: format!("{NEXT_ACTION_TABLE_DDL}; DELETE FROM {NEXT_ACTION_TABLE}"),
                    binds: Vec::new(),
                }));
                out.push(Step::Load(load));
                out.push(Step::Sql(Statement {
                    sql: format!(
                        "UPDATE log_visit v JOIN {NEXT_ACTION_TABLE} u ON v.idvisit = u.idvisit \
                         SET {SHORT_UPDATE_SET}"
                    ),
                    binds: Vec::new(),
                }));
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot write visit updates to load; updating from literals");
                short
            }
        }
    } else {
        short
    };
    for (columns, set, rows) in [
        (&short_columns[..], SHORT_UPDATE_SET, short),
        (UPDATE_COLUMNS, UPDATE_SET, full),
    ] {
        // A tracker batch's few updates as one single-table UPDATE; an
        // import batch's many joined to a derived table.
        if !rows.is_empty() && rows.len() <= CASE_UPDATE_MAX_ROWS {
            out.push(Step::Sql(case_update("log_visit", columns, set, &rows)?));
            continue;
        }
        for chunk in rows.chunks(1_500) {
            let derived = values_table(columns, chunk);
            out.push(Step::Sql(Statement {
                sql: format!(
                    "UPDATE log_visit v JOIN ({}) u ON v.idvisit = u.idvisit SET {set}",
                    derived.sql
                ),
                binds: derived.binds,
            }));
        }
    }
    out.extend(std::mem::take(&mut p.statements).into_iter().map(Step::Sql));
    out.extend(
        multi_insert(
            "INSERT IGNORE",
            "log_conversion",
            CONVERSION_COLUMNS,
            std::mem::take(&mut p.conversions),
        )
        .into_iter()
        .map(Step::Sql),
    );
    for (idsite, date) in &p.invalidations {
        let d = time::PrimitiveDateTime::new(*date, time::Time::MIDNIGHT);
        out.push(Step::Sql(Statement {
            sql: "INSERT INTO archive_invalidations (name, idsite, date1, date2, period, ts_invalidated, status) \
                  SELECT 'done', ?, DATE(?), DATE(?), 1, UTC_TIMESTAMP(), 0 FROM DUAL WHERE NOT EXISTS \
                  (SELECT 1 FROM archive_invalidations WHERE idsite = ? AND date1 = DATE(?) AND period = 1 \
                  AND name = 'done' AND status = 0)"
                .into(),
            binds: vec![(*idsite).into(), d.into(), d.into(), (*idsite).into(), d.into()],
        }));
    }
    for (idsite, t) in &p.site_created {
        // Matomo moves ts_created to the day before the tracked time.
        let day_before = datetime(*t - 86_400);
        let d = time::PrimitiveDateTime::new(day_before.date(), time::Time::MIDNIGHT);
        out.push(Step::Sql(Statement {
            sql: "UPDATE site SET ts_created = ? WHERE idsite = ? AND ts_created > ?".into(),
            binds: vec![d.into(), (*idsite).into(), d.into()],
        }));
    }
    Ok(out)
}

/// Whether `v` differs from `base` only where every next action changes a
/// visit: the columns of [`short_update_columns`].
fn only_next_action_changed(v: &VisitState, base: &VisitState) -> bool {
    v.goal_converted == base.goal_converted
        && v.goal_buyer == base.goal_buyer
        // An order in a continuing visit sets it to 0 (Matomo's
        // `VisitorSecondsSinceOrder::onExistingVisit`).
        && v.secs_since_order == base.secs_since_order
        && v.idvisitor == base.idvisitor
        && v.user_id == base.user_id
        && v.referer_type == base.referer_type
        && v.referer_name == base.referer_name
        && v.referer_keyword == base.referer_keyword
        && v.referer_url == base.referer_url
        && v.resolution == base.resolution
        && v.profilable == base.profilable
        && v.location == base.location
        && v.lat_long == base.lat_long
        && v.dimensions == base.dimensions
        && v.custom_vars == base.custom_vars
}

/// The values both updates start with, one per [`NEXT_ACTION_COLUMNS`]: id,
/// times, counter increments, exit and entry actions.
fn next_action_values(v: &VisitState, base: &VisitState) -> Vec<Val> {
    let d = |now: u32, was: u32| u64::from(now.saturating_sub(was));
    vec![
        v.idvisit.into(),
        datetime(v.last).into(),
        v.total_time.into(),
        d(v.total_actions, base.total_actions).into(),
        d(v.total_interactions, base.total_interactions).into(),
        d(v.total_searches, base.total_searches).into(),
        d(v.total_events, base.total_events).into(),
        opt_id(v.exit_url),
        opt_id(v.exit_name),
        opt_id(v.entry_url),
    ]
}

fn short_update_row(v: &VisitState, base: &VisitState) -> Vec<Val> {
    let mut row = next_action_values(v, base);
    row.push(v.last_idlink_va.into());
    row
}

fn update_row(v: &VisitState, base: &VisitState) -> Vec<Val> {
    let (stored_name, stored_keyword) =
        stored_name_and_keyword(v.referer_type, &v.referer_name, &v.referer_keyword);
    let mut row = next_action_values(v, base);
    row.extend([
        v.goal_converted.into(),
        v.goal_buyer.into(),
        v.secs_since_order.into(),
        v.idvisitor.into(),
        v.user_id.clone().into(),
        v.referer_type.into(),
        stored_name.into(),
        stored_keyword.into(),
        Val::from(v.referer_url.as_str()),
        Val::from(php::truncate_chars(&v.resolution, 18)),
        v.profilable.into(),
        v.location[0].clone().into(),
        v.location[1].clone().into(),
        v.location[2].clone().into(),
        v.lat_long[0].clone().into(),
        v.lat_long[1].clone().into(),
    ]);
    row.extend(v.dimensions.iter().cloned().map(Val::from));
    row.extend(v.custom_vars.iter().cloned().map(Val::from));
    row.push(v.last_idlink_va.into());
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit() -> VisitState {
        VisitState {
            idvisit: 7,
            idsite: 1,
            idvisitor: [1; 8],
            config_id: [2; 8],
            user_id: None,
            first: 1_700_000_000,
            last: 1_700_000_000,
            total_time: 0,
            total_actions: 1,
            total_interactions: 1,
            total_searches: 0,
            total_events: 0,
            entry_url: Some(3),
            entry_name: Some(4),
            exit_url: Some(3),
            exit_name: Some(4),
            goal_buyer: 0,
            goal_converted: 0,
            returning: 0,
            count_visits: 1,
            secs_since_first: Some(0),
            secs_since_order: None,
            profilable: 1,
            referer_type: 1,
            referer_name: String::new(),
            referer_keyword: String::new(),
            referer_url: String::new(),
            resolution: "1920x1080".into(),
            location: [Some("de".into()), None, None],
            lat_long: [None, None],
            dimensions: Default::default(),
            custom_vars: Default::default(),
            last_idlink_va: Some(10),
            device: crate::visit::VisitDevice::default(),
        }
    }

    #[test]
    fn a_next_page_view_takes_the_short_update_and_anything_else_the_full_one() {
        let base = visit();
        let mut next = base.clone();
        next.last += 60;
        next.total_time = 60;
        next.total_actions += 1;
        next.total_interactions += 1;
        next.exit_url = Some(5);
        next.exit_name = Some(6);
        next.last_idlink_va = Some(11);
        assert!(only_next_action_changed(&next, &base));
        let row = short_update_row(&next, &base);
        assert_eq!(row.len(), short_update_columns().len());
        assert_eq!(next_action_values(&next, &base).len(), NEXT_ACTION_COLUMNS);
        // Each update reads every column of its derived table but the id.
        for (columns, set) in [
            (&short_update_columns()[..], SHORT_UPDATE_SET),
            (UPDATE_COLUMNS, UPDATE_SET),
        ] {
            for c in &columns[1..] {
                assert!(set.contains(&format!("u.{c}")), "{c} in {set}");
            }
        }
        assert_eq!(row[3], Val::U64(1), "actions as an increment");
        assert_eq!(update_row(&next, &base).len(), UPDATE_COLUMNS.len());

        let changes: [fn(&mut VisitState); 8] = [
            |v| v.user_id = Some("u".into()),
            |v| v.goal_converted = 1,
            |v| v.referer_keyword = "k".into(),
            |v| v.location[2] = Some("Berlin".into()),
            |v| v.dimensions[4] = Some("d".into()),
            |v| v.idvisitor = [9; 8],
            |v| v.resolution = "800x600".into(),
            |v| v.custom_vars[1] = Some("v".into()),
        ];
        for change in changes {
            let mut v = next.clone();
            change(&mut v);
            assert!(!only_next_action_changed(&v, &base), "{v:?}");
        }
        // A visit's first page view after events sets its entry action.
        let mut no_entry = base.clone();
        no_entry.entry_url = None;
        assert!(only_next_action_changed(&next, &no_entry));
    }

    /// Every column either update writes, as one text per visit.
    fn updated_columns(conn: &mut MysqlConnection) -> QueryResult<Vec<String>> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            row: String,
        }
        let columns = [
            "visit_last_action_time",
            "visit_total_time",
            "visit_total_actions",
            "visit_total_interactions",
            "visit_total_searches",
            "visit_total_events",
            "visit_exit_idaction_url",
            "visit_exit_idaction_name",
            "visit_entry_idaction_url",
            "visit_goal_converted",
            "visit_goal_buyer",
            "HEX(idvisitor)",
            "user_id",
            "referer_type",
            "referer_name",
            "referer_keyword",
            "referer_url",
            "config_resolution",
            "profilable",
            "location_country",
            "location_region",
            "location_city",
            "location_latitude",
            "location_longitude",
            "custom_dimension_1",
            "custom_dimension_5",
            "custom_var_k1",
            "custom_var_v1",
            "custom_var_k5",
            "custom_var_v5",
            "last_idlink_va",
        ];
        let list: Vec<String> = columns
            .iter()
            .map(|c| format!("IFNULL({c}, 'null')"))
            .collect();
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT CONCAT_WS('|', idvisit, {}) AS row FROM log_visit ORDER BY idvisit",
            list.join(", ")
        ))
        .load(conn)?;
        Ok(rows.into_iter().map(|r| r.row).collect())
    }

    /// The single-table `CASE` update of a tracker batch leaves every visit
    /// as the `UPDATE ... JOIN` of a derived table does, for both column
    /// sets, with NULLs, increments and a first entry action among them.
    #[test]
    fn case_updates_store_what_joined_updates_store() -> anyhow::Result<()> {
        use diesel::connection::SimpleConnection as _;
        let db = tally_db::test_support::TestDb::new()?;
        let mut conn = db.conn()?;
        let bases: Vec<VisitState> = (1..=6u64)
            .map(|id| {
                let mut v = visit();
                v.idvisit = id;
                v.entry_url = (id % 2 == 0).then_some(3);
                v
            })
            .collect();
        let rows: Vec<Vec<Val>> = bases
            .iter()
            .map(|v| {
                vec![
                    v.idvisit.into(),
                    v.idsite.into(),
                    v.idvisitor.into(),
                    datetime(v.last).into(),
                    v.config_id.into(),
                    vec![127u8, 0, 0, 1].into(),
                    datetime(v.first).into(),
                    v.total_time.into(),
                    v.total_actions.into(),
                    opt_id(v.entry_url),
                ]
            })
            .collect();
        let columns = [
            "idvisit",
            "idsite",
            "idvisitor",
            "visit_last_action_time",
            "config_id",
            "location_ip",
            "visit_first_action_time",
            "visit_total_time",
            "visit_total_actions",
            "visit_entry_idaction_url",
        ];
        for st in multi_insert("INSERT", "log_visit", &columns, rows) {
            st.execute(&mut conn)?;
        }
        let before = updated_columns(&mut conn)?;

        let (mut short, mut full) = (Vec::new(), Vec::new());
        for (i, base) in bases.iter().enumerate() {
            let mut v = base.clone();
            v.last += 60 * (i as i64 + 1);
            v.total_time = 60;
            v.total_actions += 2;
            v.total_searches += u32::from(i == 1);
            v.exit_url = if i == 2 { None } else { Some(5 + i as u32) };
            v.entry_url = v.entry_url.or(Some(9));
            v.last_idlink_va = if i == 3 { None } else { Some(100 + i as u64) };
            if i % 2 == 0 {
                short.push(short_update_row(&v, base));
            } else {
                v.user_id = Some(format!("user {i}"));
                v.location[2] = Some("Köln".into());
                v.lat_long[0] = Some("50.9".into());
                v.dimensions[0] = Some("it's".into());
                full.push(update_row(&v, base));
            }
        }
        let short_columns = short_update_columns();
        let sets = [
            (&short_columns[..], SHORT_UPDATE_SET, &short),
            (UPDATE_COLUMNS, UPDATE_SET, &full),
        ];
        let mut outcomes = Vec::new();
        for joined in [true, false] {
            conn.batch_execute("START TRANSACTION")?;
            for (columns, set, rows) in sets {
                let st = if joined {
                    let derived = values_table(columns, rows);
                    Statement {
                        sql: format!(
                            "UPDATE log_visit v JOIN ({}) u ON v.idvisit = u.idvisit SET {set}",
                            derived.sql
                        ),
                        binds: derived.binds,
                    }
                } else {
                    case_update("log_visit", columns, set, rows)?
                };
                st.execute(&mut conn)?;
            }
            outcomes.push(updated_columns(&mut conn)?);
            conn.batch_execute("ROLLBACK")?;
        }
        assert_eq!(outcomes[0], outcomes[1]);
        assert_eq!(outcomes[0].len(), 6);
        for (was, now) in before.iter().zip(&outcomes[1]) {
            assert_ne!(was, now, "every visit was updated");
        }
        assert!(outcomes[1][1].contains("|user 1|"), "{}", outcomes[1][1]);
        assert!(outcomes[1][1].contains("|Köln|"), "{}", outcomes[1][1]);
        Ok(())
    }

    #[test]
    fn a_case_update_refuses_what_it_cannot_write() {
        let rows = vec![vec![Val::from(1u64), Val::from(2u64)]];
        assert!(case_update("t", &["id", "a"], "v.a = u.b", &rows).is_err());
        assert!(case_update("t", &["id", "a"], "v.a = u.a", &[]).is_err());
        assert!(case_update("t", &["id", "a", "b"], "v.a = u.a", &rows).is_err());
        let st = case_update("t", &["id", "a"], "v.menu.a = u.a + 1", &rows);
        assert_eq!(
            st.map(|s| s.sql).ok().as_deref(),
            Some("UPDATE t v SET v.menu.a = CASE v.id WHEN ? THEN ? END + 1 WHERE v.id IN (?)")
        );
    }
}
