//! Visit state and the in-process active-visit cache (MATOMO.md §2.3–§2.6).
//!
//! The recorder keeps the visits it has seen: the columns that later
//! requests of the same visitor read (counters, exit actions, referrer,
//! returning-visitor data). A request of a known visitor then costs no
//! `SELECT`. The cache is authoritative for the keys it holds because one
//! recorder owns a visitor's requests (DESIGN.md §3); entries touched by a
//! failed transaction are dropped so that the database is consulted again.

use std::collections::HashMap;

use crate::FastMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Datetime, Nullable, Text, Unsigned};
use time::PrimitiveDateTime;

use crate::sql::{Statement, Val};

/// Matomo's `visit_standard_length` (seconds).
pub const VISIT_STANDARD_LENGTH: i64 = 1800;
/// `create_new_visit_after_x_actions`.
pub const MAX_ACTIONS_PER_VISIT: u32 = 10_000;

/// What later requests need of a visit.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitState {
    /// `idvisit`.
    pub idvisit: u64,
    /// `idsite`.
    pub idsite: u32,
    /// `idvisitor`.
    pub idvisitor: [u8; 8],
    /// `config_id`.
    pub config_id: [u8; 8],
    /// `user_id`.
    pub user_id: Option<String>,
    /// `visit_first_action_time` (unix).
    pub first: i64,
    /// `visit_last_action_time` (unix).
    pub last: i64,
    /// `visit_total_time`.
    pub total_time: u32,
    /// `visit_total_actions`.
    pub total_actions: u32,
    /// `visit_total_interactions`.
    pub total_interactions: u32,
    /// `visit_total_searches`.
    pub total_searches: u32,
    /// `visit_total_events`.
    pub total_events: u32,
    /// `visit_entry_idaction_url`.
    pub entry_url: Option<u32>,
    /// `visit_entry_idaction_name` (only known for visits created here).
    pub entry_name: Option<u32>,
    /// `visit_exit_idaction_url`.
    pub exit_url: Option<u32>,
    /// `visit_exit_idaction_name`.
    pub exit_name: Option<u32>,
    /// `visit_goal_buyer`.
    pub goal_buyer: u8,
    /// `visit_goal_converted`.
    pub goal_converted: u8,
    /// `visitor_returning`.
    pub returning: u8,
    /// `visitor_count_visits`.
    pub count_visits: u32,
    /// `visitor_seconds_since_first` (NULL when it could not be known:
    /// a visit tracked before the visitor's previous one).
    pub secs_since_first: Option<u32>,
    /// `visitor_seconds_since_order`.
    pub secs_since_order: Option<u32>,
    /// `profilable`.
    pub profilable: u8,
    /// `referer_type`.
    pub referer_type: u8,
    /// `referer_name`.
    pub referer_name: String,
    /// `referer_keyword`.
    pub referer_keyword: String,
    /// `referer_url`.
    pub referer_url: String,
    /// `config_resolution`.
    pub resolution: String,
    /// `location_country`, `location_region`, `location_city`.
    pub location: [Option<String>; 3],
    /// `location_latitude`, `location_longitude` (as decimal text).
    pub lat_long: [Option<String>; 2],
    /// `custom_dimension_1..5` (visit scope).
    pub dimensions: [Option<String>; 5],
    /// `custom_var_k1..v5` (visit scope).
    pub custom_vars: [Option<String>; 10],
    /// `last_idlink_va`.
    pub last_idlink_va: Option<u64>,
    /// The device columns, as the visit's first request set them.
    pub device: VisitDevice,
}

/// The device columns of a visit that its conversions copy: Matomo's
/// DevicesDetection dimensions answer `onAnyGoalConversion` with the visit
/// row's value, so a conversion sent with another user agent (a
/// server-side SDK's) still gets the visit's browser and device.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VisitDevice {
    /// `config_browser_name`.
    pub browser_name: Option<String>,
    /// `config_client_type`.
    pub client_type: Option<u8>,
    /// `config_device_type`.
    pub device_type: Option<u8>,
    /// `config_device_brand`.
    pub device_brand: Option<String>,
    /// `config_device_model`.
    pub device_model: Option<String>,
}

impl VisitState {
    /// The select list read back from `log_visit` into [`VisitRow`].
    pub const SELECT: &'static str = "SELECT idvisit, idsite, idvisitor, config_id, user_id, \
        visit_first_action_time, visit_last_action_time, visit_total_time, \
        COALESCE(visit_total_actions, 0) AS visit_total_actions, \
        COALESCE(visit_total_interactions, 0) AS visit_total_interactions, \
        CAST(COALESCE(visit_total_searches, 0) AS UNSIGNED) AS visit_total_searches, \
        COALESCE(visit_total_events, 0) AS visit_total_events, \
        visit_entry_idaction_url, visit_exit_idaction_url, visit_exit_idaction_name, \
        COALESCE(visit_goal_buyer, 0) AS visit_goal_buyer, COALESCE(visit_goal_converted, 0) AS visit_goal_converted, \
        COALESCE(visitor_returning, 0) AS visitor_returning, visitor_count_visits, \
        visitor_seconds_since_first, visitor_seconds_since_order, \
        COALESCE(profilable, 0) AS profilable, COALESCE(referer_type, 1) AS referer_type, \
        COALESCE(referer_name, '') AS referer_name, COALESCE(referer_keyword, '') AS referer_keyword, \
        COALESCE(referer_url, '') AS referer_url, COALESCE(config_resolution, '') AS config_resolution, \
        location_country, location_region, location_city, \
        CAST(location_latitude AS CHAR) AS location_latitude, CAST(location_longitude AS CHAR) AS location_longitude, \
        custom_dimension_1, custom_dimension_2, custom_dimension_3, custom_dimension_4, custom_dimension_5, \
        custom_var_k1, custom_var_v1, custom_var_k2, custom_var_v2, custom_var_k3, custom_var_v3, \
        custom_var_k4, custom_var_v4, custom_var_k5, custom_var_v5, last_idlink_va, \
        config_browser_name, config_client_type, config_device_type, config_device_brand, \
        config_device_model";
}

/// §2.3's fingerprint condition with a `uid` (`user_id IS NULL OR user_id =
/// ?`): a visit of another user is not the request's.
pub(crate) fn user_may_continue(v: &VisitState, request_user_id: Option<&str>) -> bool {
    request_user_id.is_none_or(|u| v.user_id.as_deref().is_none_or(|x| x == u))
}

pub(crate) fn unix(t: PrimitiveDateTime) -> i64 {
    t.assume_utc().unix_timestamp()
}

pub(crate) fn datetime(unix: i64) -> PrimitiveDateTime {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    PrimitiveDateTime::new(t.date(), t.time())
}

fn id8(v: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    let n = v.len().min(8);
    out[..n].copy_from_slice(&v[..n]);
    out
}

/// A `log_visit` row as read by [`VisitState::SELECT`].
#[derive(Debug, QueryableByName)]
pub struct VisitRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    idvisit: u64,
    #[diesel(sql_type = Unsigned<diesel::sql_types::Integer>)]
    idsite: u32,
    #[diesel(sql_type = Binary)]
    idvisitor: Vec<u8>,
    #[diesel(sql_type = Binary)]
    config_id: Vec<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = Datetime)]
    visit_first_action_time: PrimitiveDateTime,
    #[diesel(sql_type = Datetime)]
    visit_last_action_time: PrimitiveDateTime,
    #[diesel(sql_type = Unsigned<diesel::sql_types::Integer>)]
    visit_total_time: u32,
    #[diesel(sql_type = Unsigned<BigInt>)]
    visit_total_actions: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    visit_total_interactions: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    visit_total_searches: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    visit_total_events: u64,
    #[diesel(sql_type = Nullable<Unsigned<diesel::sql_types::Integer>>)]
    visit_entry_idaction_url: Option<u32>,
    #[diesel(sql_type = Nullable<Unsigned<diesel::sql_types::Integer>>)]
    visit_exit_idaction_url: Option<u32>,
    #[diesel(sql_type = Nullable<Unsigned<diesel::sql_types::Integer>>)]
    visit_exit_idaction_name: Option<u32>,
    #[diesel(sql_type = BigInt)]
    visit_goal_buyer: i64,
    #[diesel(sql_type = BigInt)]
    visit_goal_converted: i64,
    #[diesel(sql_type = BigInt)]
    visitor_returning: i64,
    #[diesel(sql_type = Unsigned<diesel::sql_types::Integer>)]
    visitor_count_visits: u32,
    #[diesel(sql_type = Nullable<Unsigned<BigInt>>)]
    visitor_seconds_since_first: Option<u64>,
    #[diesel(sql_type = Nullable<Unsigned<diesel::sql_types::Integer>>)]
    visitor_seconds_since_order: Option<u32>,
    #[diesel(sql_type = BigInt)]
    profilable: i64,
    #[diesel(sql_type = BigInt)]
    referer_type: i64,
    #[diesel(sql_type = Text)]
    referer_name: String,
    #[diesel(sql_type = Text)]
    referer_keyword: String,
    #[diesel(sql_type = Text)]
    referer_url: String,
    #[diesel(sql_type = Text)]
    config_resolution: String,
    #[diesel(sql_type = Nullable<Text>)]
    location_country: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    location_region: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    location_city: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    location_latitude: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    location_longitude: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_dimension_1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_dimension_2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_dimension_3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_dimension_4: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_dimension_5: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_k1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_v1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_k2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_v2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_k3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_v3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_k4: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_v4: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_k5: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    custom_var_v5: Option<String>,
    #[diesel(sql_type = Nullable<Unsigned<BigInt>>)]
    last_idlink_va: Option<u64>,
    #[diesel(sql_type = Nullable<Text>)]
    config_browser_name: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::TinyInt>)]
    config_client_type: Option<i8>,
    #[diesel(sql_type = Nullable<diesel::sql_types::TinyInt>)]
    config_device_type: Option<i8>,
    #[diesel(sql_type = Nullable<Text>)]
    config_device_brand: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    config_device_model: Option<String>,
}

fn small(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn tiny(v: i64) -> u8 {
    u8::try_from(v).unwrap_or(0)
}

impl From<VisitRow> for VisitState {
    fn from(r: VisitRow) -> Self {
        Self {
            idvisit: r.idvisit,
            idsite: r.idsite,
            idvisitor: id8(&r.idvisitor),
            config_id: id8(&r.config_id),
            user_id: r.user_id,
            first: unix(r.visit_first_action_time),
            last: unix(r.visit_last_action_time),
            total_time: r.visit_total_time,
            total_actions: small(r.visit_total_actions),
            total_interactions: small(r.visit_total_interactions),
            total_searches: small(r.visit_total_searches),
            total_events: small(r.visit_total_events),
            entry_url: r.visit_entry_idaction_url,
            entry_name: None,
            exit_url: r.visit_exit_idaction_url,
            exit_name: r.visit_exit_idaction_name,
            goal_buyer: tiny(r.visit_goal_buyer),
            goal_converted: tiny(r.visit_goal_converted),
            returning: tiny(r.visitor_returning),
            count_visits: r.visitor_count_visits,
            secs_since_first: r.visitor_seconds_since_first.map(small),
            secs_since_order: r.visitor_seconds_since_order,
            profilable: tiny(r.profilable),
            referer_type: tiny(r.referer_type),
            referer_name: r.referer_name,
            referer_keyword: r.referer_keyword,
            referer_url: r.referer_url,
            resolution: r.config_resolution,
            location: [r.location_country, r.location_region, r.location_city],
            lat_long: [r.location_latitude, r.location_longitude],
            dimensions: [
                r.custom_dimension_1,
                r.custom_dimension_2,
                r.custom_dimension_3,
                r.custom_dimension_4,
                r.custom_dimension_5,
            ],
            custom_vars: [
                r.custom_var_k1,
                r.custom_var_v1,
                r.custom_var_k2,
                r.custom_var_v2,
                r.custom_var_k3,
                r.custom_var_v3,
                r.custom_var_k4,
                r.custom_var_v4,
                r.custom_var_k5,
                r.custom_var_v5,
            ],
            last_idlink_va: r.last_idlink_va,
            device: VisitDevice {
                browser_name: r.config_browser_name,
                client_type: r.config_client_type.and_then(|v| u8::try_from(v).ok()),
                device_type: r.config_device_type.and_then(|v| u8::try_from(v).ok()),
                device_brand: r.config_device_brand,
                device_model: r.config_device_model,
            },
        }
    }
}

/// Known visits, indexed by visitor id and by fingerprint.
#[derive(Debug, Default)]
pub struct VisitCache {
    states: FastMap<u64, VisitState>,
    by_visitor: FastMap<(u32, [u8; 8]), Vec<u64>>,
    by_config: FastMap<(u32, [u8; 8]), Vec<u64>>,
    /// Visitor keys known to have no visit in the database.
    absent_visitors: crate::FastSet<(u32, [u8; 8])>,
    max_entries: usize,
}

impl VisitCache {
    /// An empty cache holding at most about `max_entries` visits.
    pub fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            ..Self::default()
        }
    }

    /// Number of cached visits.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Whether lookups by this visitor id can be answered from the cache.
    pub fn knows_visitor(&self, idsite: u32, id: [u8; 8]) -> bool {
        self.by_visitor.contains_key(&(idsite, id)) || self.absent_visitors.contains(&(idsite, id))
    }

    /// Remembers that the database has no visit for this visitor id.
    pub fn mark_absent(&mut self, idsite: u32, id: [u8; 8]) {
        self.absent_visitors.insert((idsite, id));
    }

    /// Adds or replaces a visit.
    pub fn put(&mut self, v: VisitState) {
        let id = v.idvisit;
        self.absent_visitors.remove(&(v.idsite, v.idvisitor));
        let push = |m: &mut FastMap<(u32, [u8; 8]), Vec<u64>>, k| {
            let ids: &mut Vec<u64> = m.entry(k).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        };
        push(&mut self.by_visitor, (v.idsite, v.idvisitor));
        push(&mut self.by_config, (v.idsite, v.config_id));
        self.states.insert(id, v);
    }

    /// A visit by id.
    pub fn get(&self, idvisit: u64) -> Option<&VisitState> {
        self.states.get(&idvisit)
    }

    /// Forgets a visit (after a failed transaction).
    pub fn remove(&mut self, idvisit: u64) {
        if let Some(v) = self.states.remove(&idvisit) {
            for (m, k) in [
                (&mut self.by_visitor, (v.idsite, v.idvisitor)),
                (&mut self.by_config, (v.idsite, v.config_id)),
            ] {
                if let Some(ids) = m.get_mut(&k) {
                    ids.retain(|i| *i != idvisit);
                    if ids.is_empty() {
                        m.remove(&k);
                    }
                }
            }
        }
    }

    /// Forgets everything (after a failure whose extent is unknown).
    pub fn clear(&mut self) {
        self.states.clear();
        self.by_visitor.clear();
        self.by_config.clear();
        self.absent_visitors.clear();
    }

    /// §2.3 by visitor id: the latest visit whose last action is not after
    /// `time + 30 min`.
    pub fn find_by_visitor(&self, idsite: u32, id: [u8; 8], time: i64) -> Option<&VisitState> {
        self.by_visitor
            .get(&(idsite, id))?
            .iter()
            .filter_map(|i| self.states.get(i))
            .filter(|v| v.idvisitor == id && v.last <= time + VISIT_STANDARD_LENGTH)
            .max_by_key(|v| (v.last, v.idvisit))
    }

    /// §2.3 by fingerprint: the latest visit active within 30 minutes of
    /// `time`, and (with a user id) without a different user id.
    pub fn find_by_config(
        &self,
        idsite: u32,
        config: [u8; 8],
        time: i64,
        user_id: Option<&str>,
    ) -> Option<&VisitState> {
        self.by_config
            .get(&(idsite, config))?
            .iter()
            .filter_map(|i| self.states.get(i))
            .filter(|v| {
                v.config_id == config
                    && v.last >= time - VISIT_STANDARD_LENGTH
                    && v.last <= time + VISIT_STANDARD_LENGTH
                    && user_may_continue(v, user_id)
            })
            .max_by_key(|v| (v.last, v.idvisit))
    }

    /// Drops visits idle for more than an hour of tracked time once the
    /// cache is over its size, oldest first. A dropped visitor costs one
    /// `SELECT` on its next request.
    ///
    /// Visits in `keep` stay: those of batches written but perhaps not yet
    /// committed, which a `SELECT` on another connection would not see.
    pub fn evict<S: std::hash::BuildHasher>(
        &mut self,
        now: i64,
        keep: &std::collections::HashSet<u64, S>,
    ) {
        if self.states.len() <= self.max_entries {
            return;
        }
        let cutoff = now - 2 * VISIT_STANDARD_LENGTH;
        let mut old: Vec<u64> = self
            .states
            .values()
            .filter(|v| v.last < cutoff && !keep.contains(&v.idvisit))
            .map(|v| v.idvisit)
            .collect();
        if self.states.len() - old.len() > self.max_entries {
            // Still too big: drop the least recent half as well.
            let mut all: Vec<(i64, u64)> = self
                .states
                .values()
                .filter(|v| !keep.contains(&v.idvisit))
                .map(|v| (v.last, v.idvisit))
                .collect();
            all.sort_unstable();
            let half = self.states.len() / 2;
            old = all.iter().take(half).map(|(_, i)| *i).collect();
        }
        for id in old {
            self.remove(id);
        }
        if self.absent_visitors.len() > self.max_entries {
            self.absent_visitors.clear();
        }
    }
}

/// The fingerprints of one site to look up, with the earliest and latest
/// time their visits may have (unix seconds).
pub type ConfigKeys = (Vec<[u8; 8]>, i64, i64);

/// Loads into `cache` the visits the given visitor ids and fingerprints
/// may continue (§2.3): one index-only query for a recorder batch (a part
/// per site and kind of key, joined with `UNION ALL`; each query is a
/// round trip, which costs more than the query itself while the machine is
/// busy), and one more for the full rows when it found any. Keys beyond
/// MySQL's placeholder limit (a big log import batch) take further
/// queries.
///
/// # Errors
/// The query error.
pub fn prefetch<S: std::hash::BuildHasher>(
    conn: &mut MysqlConnection,
    cache: &mut VisitCache,
    by_visitor: &HashMap<u32, Vec<[u8; 8]>, S>,
    by_config: &HashMap<u32, ConfigKeys, S>,
) -> QueryResult<()> {
    /// One candidate visit as the index lookups return it.
    #[derive(QueryableByName)]
    struct Candidate {
        #[diesel(sql_type = Unsigned<BigInt>)]
        idvisit: u64,
        #[diesel(sql_type = Unsigned<diesel::sql_types::Integer>)]
        idsite: u32,
        #[diesel(sql_type = Binary)]
        idvisitor: Vec<u8>,
        #[diesel(sql_type = Datetime)]
        visit_last_action_time: PrimitiveDateTime,
        /// 1 for a row of a visitor part, 0 for a row of a config part.
        #[diesel(sql_type = diesel::sql_types::Integer)]
        by_visitor: i32,
    }
    /// (`visit_last_action_time` as unix, `idvisit`): sorts by time, then id.
    type TimedVisit = (i64, u64);
    // Each part's keys in slices short enough to be looked up key by key
    // whatever the index statistics say (`sql::KEYS_PER_PART`), the parts
    // then joined into queries small enough for MySQL's 65,535
    // placeholders.
    use crate::sql::KEYS_PER_PART;
    // Only the newest visits are needed; ten per visitor covers imports of
    // past data whose newest visit lies after the tracked time.
    const VISITS_PER_VISITOR: usize = 10;
    // Two steps. First the candidates, read from the two secondary indexes
    // alone (both hold idsite, the key, visit_last_action_time and, as
    // every InnoDB index, idvisit): for a new visitor, the common case of a
    // tracker, that is all. Then the full rows of the chosen visits by
    // primary key. Picking the newest ten per visitor here, not with
    // `ROW_NUMBER()` in SQL, spares the server two temporary tables per
    // query (on disk, as the select list has TEXT columns): that one query
    // was a quarter of the server's time under the tracker benchmark
    // (docs/PERFORMANCE.md).
    // A recorder batch (one site, a few dozen keys) reads through cached
    // statements, its lists padded to a few shapes (`Statement::load_cached`):
    // at most one part of each kind, so the texts stay few.
    let cached = by_visitor.len() <= 1
        && by_config.len() <= 1
        && by_visitor
            .values()
            .all(|ids| ids.len() <= crate::sql::CACHED_LIST_MAX)
        && by_config
            .values()
            .all(|c| c.0.len() <= crate::sql::CACHED_LIST_MAX);
    let padded = |keys: &[[u8; 8]]| {
        if cached {
            crate::sql::read_list(keys).0
        } else {
            keys.to_vec()
        }
    };
    let mut parts: Vec<Statement> = Vec::new();
    for (idsite, ids) in by_visitor {
        for ids in ids.chunks(KEYS_PER_PART) {
            let ids = padded(ids);
            // No look-back limit (as Matomo): the visitor's latest visit
            // gives the returning-visitor columns even when it is months
            // old.
            let sql = format!(
                "SELECT idvisit, idsite, idvisitor, visit_last_action_time, 1 AS by_visitor \
                 FROM log_visit WHERE idsite = ? AND idvisitor IN ({})",
                vec!["?"; ids.len()].join(",")
            );
            let mut binds = vec![Val::from(*idsite)];
            binds.extend(ids.iter().map(|i| Val::from(*i)));
            parts.push(Statement { sql, binds });
        }
    }
    for (idsite, (configs, from, to)) in by_config {
        for configs in configs.chunks(KEYS_PER_PART) {
            let configs = padded(configs);
            let sql = format!(
                "SELECT idvisit, idsite, idvisitor, visit_last_action_time, 0 AS by_visitor \
                 FROM log_visit WHERE idsite = ? AND config_id IN ({}) \
                 AND visit_last_action_time >= ? AND visit_last_action_time <= ?",
                vec!["?"; configs.len()].join(",")
            );
            let mut binds = vec![Val::from(*idsite)];
            binds.extend(configs.iter().map(|c| Val::from(*c)));
            binds.push(Val::from(datetime(*from)));
            binds.push(Val::from(datetime(*to)));
            parts.push(Statement { sql, binds });
        }
    }
    let mut wanted: Vec<u64> = Vec::new();
    // The visitor parts' visits per visitor, newest first once sorted. A
    // visitor with any visit on a site has at least one row here, so these
    // are also the visitors found.
    let mut per_visitor: FastMap<(u32, [u8; 8]), Vec<TimedVisit>> = FastMap::default();
    for st in crate::sql::union_all(parts) {
        for c in st.read::<Candidate>(conn, cached)? {
            if c.by_visitor == 0 {
                wanted.push(c.idvisit);
            } else {
                per_visitor
                    .entry((c.idsite, id8(&c.idvisitor)))
                    .or_default()
                    .push((unix(c.visit_last_action_time), c.idvisit));
            }
        }
    }
    for visits in per_visitor.values_mut() {
        // Ties in time go to the newer visit, so the choice is stable.
        visits.sort_unstable_by(|a, b| b.cmp(a));
        wanted.extend(visits.iter().take(VISITS_PER_VISITOR).map(|(_, id)| *id));
    }
    wanted.sort_unstable();
    wanted.dedup();
    for ids in wanted.chunks(crate::sql::MAX_BINDS) {
        let (ids, cached) = crate::sql::read_list(ids);
        let st = Statement {
            sql: format!(
                "{} FROM log_visit WHERE idvisit IN ({})",
                VisitState::SELECT,
                vec!["?"; ids.len()].join(",")
            ),
            binds: ids.iter().map(|id| Val::from(*id)).collect(),
        };
        for r in st.read::<VisitRow>(conn, cached)? {
            let v = VisitState::from(r);
            // A visit only grows. The cache may hold a newer state than
            // the row read back: a batch of this recorder that updated the
            // visit may not have committed yet (the log import computes a
            // batch while the one before commits). Overwriting it with the
            // older row would lose those actions from the visit and could
            // split it, depending on the commit's timing; a newer row (from
            // another process) replaces the cached state.
            let cached_newer = cache
                .get(v.idvisit)
                .is_some_and(|c| (c.last, c.total_actions) >= (v.last, v.total_actions));
            if !cached_newer {
                cache.put(v);
            }
        }
    }
    for (idsite, ids) in by_visitor {
        for id in ids {
            if !per_visitor.contains_key(&(*idsite, *id)) {
                cache.mark_absent(*idsite, *id);
            }
        }
    }
    Ok(())
}
