//! The HTTP face of the tracker: `/matomo.php` and `/piwik.php`
//! (MATOMO.md §1.1–§1.3), plus `/metrics`.
//!
//! A request is parsed and enriched on the HTTP worker, handed to the
//! [`Recorder`] and answered only after the transaction holding it
//! committed. Bad input is a 400 with a message naming the parameter; a
//! full queue or an unreachable database is a 503; neither is ever
//! answered with success.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::{Deserialize, Serialize};

use crate::TrackingError;
use crate::exclude::RequestExclusions;
use crate::failures::{self, Failure};
use crate::geoip::GeoIp;
use crate::hit::{
    Exclusion, Hit, RequestMeta, build_hit_with_geoip, refused_request_is_excluded, request_token,
};
use crate::params::{RawParams, TrackingRequest, is_bulk_body, parse_bulk};
use crate::recorder::{Recorder, RecorderConfig};
use crate::referrer::{ReferrerDefinitions, ReferrerSpamList};
use crate::site::{ConfiguredLists, SiteCache, Snapshot, load_snapshot, settings_version};

/// Matomo's answer to a request without parameters (and, with 400, to a
/// request where nothing could be processed).
pub const EMPTY_REQUEST_TEXT: &str = "This resource is part of Matomo. Keep full control of your data with the leading free and open source <a href='https://matomo.org' target='_blank' rel='noopener noreferrer nofollow'>web analytics & conversion optimisation platform</a>.<br>\nThis file is the endpoint for the Matomo tracking API. If you want to access the Matomo UI or use the Reporting API, please use <a href='index.php'>index.php</a> instead.\n";

/// The 1x1 transparent GIF Matomo answers with (43 bytes).
pub const GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The `[tracker]` section of the tracker's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerConfig {
    /// Address to listen on. Default: `127.0.0.1:8080`. Env: `TALLY_TRACKER_LISTEN`.
    pub listen: String,
    /// Headers holding the client IP when the tracker runs behind a proxy,
    /// first match wins (Matomo's `proxy_client_headers`), e.g.
    /// `["X-Forwarded-For"]`. Empty: the socket peer address.
    pub proxy_client_headers: Vec<String>,
    /// Recorder threads writing at once, each with its own connection; a
    /// visitor's requests always go to the same one (Matomo's importer calls
    /// its writers "recorders").
    pub recorders: usize,
    /// Most requests written in one transaction.
    pub max_batch: usize,
    /// Milliseconds a batch waits for more requests after its first
    /// (unless it fills up first). 0, the default: a batch takes what is
    /// queued when a recorder is free, so under load batches grow by
    /// themselves and a lone request is written at once. A few ms make
    /// transactions bigger and fewer when many clients send at once, at the
    /// cost of that much latency per request (docs/PERFORMANCE.md).
    pub batch_wait_ms: u64,
    /// Requests waiting for the recorder beyond this are refused with 503.
    pub queue: usize,
    /// A table with at least this many rows in one transaction gets them
    /// through `LOAD DATA LOCAL INFILE` (a temporary file) instead of an
    /// `INSERT`: about 40% less server time per visit row. Used only where
    /// the client library and the server allow local files (MariaDB's do
    /// by default, MySQL 8's do not); 0: never. Default 100.
    pub load_data_min_rows: usize,
    /// Seconds between full reloads of site settings, whatever changed:
    /// the bound for changes made by hand in SQL.
    pub site_cache_ttl_secs: u64,
    /// Seconds a keep-alive connection may stay idle after an answer before
    /// the server closes it (Apache's `KeepAliveTimeout`). Default 5,
    /// Apache's default. `tally-admin serve` uses it too.
    pub keep_alive_timeout_secs: u64,
    /// Seconds a request head may take to arrive in full, counted from when
    /// the connection starts waiting for it (Apache's `RequestReadTimeout
    /// header=20`): a slow network's head is served even when it takes
    /// longer than the idle time, and a connection that sends nothing is
    /// closed after this. Default 20; never less than the idle time in
    /// effect.
    pub request_head_timeout_secs: u64,
    /// Milliseconds between reads of the settings version, which every
    /// admin change through Tally (API, CLI, another process) moves on; a
    /// new version reloads the site settings. Requests for an unknown
    /// site, and the first request after an API call served by the same
    /// process (`tally-admin serve`), check at once. Default 1000.
    pub settings_check_ms: u64,
    /// A file of extra search engines and social networks, in the format of
    /// the built-in list (`crates/tally-tracking/src/data/referrers.txt`).
    pub referrer_definitions: Option<String>,
    /// A file of extra referrer spam hosts, one a line (`#` comments),
    /// added to the built-in list
    /// (`crates/tally-tracking/src/data/referrer-spam.txt`). A request
    /// whose `urlref` contains a listed host is excluded. Default: none.
    pub referrer_spam_list: Option<String>,
    /// A MaxMind GeoIP2/GeoLite2 City or Country database, or a DB-IP lite
    /// one (`.mmdb`), read into memory at startup to locate visitors.
    /// Default: none (the country is guessed from the browser language).
    pub geoip_database: Option<String>,
    /// Requests excluded by their parameters, Matomo's `[Tracker]
    /// exclude_requests`: comma-separated `<param><op><value>` with `==`,
    /// `!=`, `=@`, `!@`, `=^`, `=$`, case-insensitive, the value URL-encoded
    /// (e.g. `"e_c==Media,action_name=@privacy"`). Default: none.
    pub exclude_requests: String,
    /// Matomo's `[Tracker] create_new_visit_when_website_referrer_changes`:
    /// a hit from another website than the visit's (type, name or keyword
    /// differ) starts a new visit. Default: false, as Matomo's.
    pub create_new_visit_when_website_referrer_changes: bool,
    /// Matomo's `[Tracker] record_statistics`: false turns tracking off
    /// (maintenance): every tracking request is answered 503 and nothing
    /// is stored. Default: true.
    pub record_statistics: bool,
    /// Matomo's `[Tracker] bulk_requests_require_authentication`: a bulk
    /// request is refused as a whole (400, nothing stored) unless its
    /// `token_auth` may write to the site of every request in it.
    /// Default: false.
    pub bulk_requests_require_authentication: bool,
    /// Matomo's `[General] action_title_category_delimiter`, which Tally
    /// keeps under `[archiver]` (the reports split titles on it): with a
    /// delimiter the tracker trims every part of a page title and drops
    /// the empty ones, as Matomo's `ActionPageview` does. Not a `[tracker]`
    /// key: the binaries copy the `[archiver]` value here, so the one key
    /// serves both. Default: empty (titles kept as sent).
    #[serde(skip)]
    pub title_category_delimiter: String,
    /// Matomo's `[Tracker] enable_userid_overwrites_visitorid`: a request
    /// with a user id (`uid`) gets a visitor id derived from it, so that
    /// all the user's visits are one visitor. Off: the visitor id is the
    /// one sent (`cid`, `_id`), the user id is only recorded. Default: true,
    /// as Matomo's.
    pub enable_userid_overwrites_visitorid: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        let r = RecorderConfig::default();
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            proxy_client_headers: Vec::new(),
            recorders: r.shards,
            max_batch: r.max_batch,
            batch_wait_ms: u64::try_from(r.batch_wait.as_millis()).unwrap_or(u64::MAX),
            queue: r.queue,
            load_data_min_rows: r.load_min_rows.unwrap_or(0),
            site_cache_ttl_secs: 300,
            keep_alive_timeout_secs: 5,
            request_head_timeout_secs: 20,
            settings_check_ms: 1000,
            referrer_definitions: None,
            referrer_spam_list: None,
            geoip_database: None,
            exclude_requests: String::new(),
            create_new_visit_when_website_referrer_changes: false,
            record_statistics: true,
            bulk_requests_require_authentication: false,
            title_category_delimiter: String::new(),
            enable_userid_overwrites_visitorid: true,
        }
    }
}

impl TrackerConfig {
    /// [`Self::keep_alive_timeout_secs`] and
    /// [`Self::request_head_timeout_secs`], each at least one second (a
    /// zero timeout would close every connection at once), the head's at
    /// least the idle one.
    pub fn connection_timeouts(&self) -> crate::server::ConnectionTimeouts {
        let idle = self.keep_alive_timeout_secs.max(1);
        crate::server::ConnectionTimeouts {
            idle: Duration::from_secs(idle),
            head: Duration::from_secs(self.request_head_timeout_secs.max(idle)),
        }
    }
}

impl ConfiguredLists {
    /// The lists `config` names: the built-in referrer spam list plus the
    /// `referrer_spam_list` file, and the `exclude_requests` rules. The
    /// tracker and the log importer read them the same way.
    ///
    /// # Errors
    /// [`TrackingError::Config`] when the spam list file cannot be read or
    /// holds an invalid entry.
    pub fn from_config(config: &TrackerConfig) -> Result<Self, TrackingError> {
        let spam = Arc::new(match &config.referrer_spam_list {
            None => ReferrerSpamList::builtin().clone(),
            Some(path) => {
                extend_from_file(path, "referrer spam list", ReferrerSpamList::with_extra)?
            }
        });
        let (exclude_requests, skipped) = RequestExclusions::parse(&config.exclude_requests);
        for entry in skipped {
            // Matomo skips such an entry silently; at least say so.
            tracing::warn!(
                entry,
                "exclude_requests entry without operator (==, !=, =@, !@, =^, =$) ignored"
            );
        }
        Ok(ConfiguredLists {
            referrer_spam: spam,
            exclude_requests: Arc::new(exclude_requests),
            new_visit_when_website_referrer_changes: config
                .create_new_visit_when_website_referrer_changes,
            title_category_delimiter: config.title_category_delimiter.clone(),
        })
    }
}

/// A built-in list extended with the entries of the file at `path` (a
/// config key), by `extend`; both failures name the file.
fn extend_from_file<T, E: std::fmt::Display>(
    path: &str,
    what: &str,
    extend: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, TrackingError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrackingError::Config {
        what: format!("cannot read {what} {path}: {source}"),
    })?;
    extend(&text).map_err(|e| TrackingError::Config {
        what: format!("{path}: {e}"),
    })
}

/// Shared state of the tracking routes.
#[derive(Debug, Clone)]
pub struct Tracker {
    pool: tally_db::DbPool,
    sites: Arc<SiteCache>,
    recorder: Recorder,
    proxy_headers: Arc<Vec<String>>,
    geoip: Option<Arc<GeoIp>>,
    lists: ConfiguredLists,
    record_statistics: bool,
    bulk_requires_auth: bool,
    /// `!enable_userid_overwrites_visitorid`, given to each request.
    user_id_keeps_visitor_id: bool,
    settings: Arc<SettingsGate>,
}

/// When the tracker last read the settings version, and whether it must
/// read it again before the next request.
///
/// Reads are serialised by `checking`, and a request whose arrival an
/// earlier read already covers (started after it arrived, or within the
/// interval) takes that read's answer: a burst of requests after an admin
/// change costs one read, not one each.
#[derive(Debug)]
struct SettingsGate {
    /// Microseconds since `epoch` at which the last read started.
    last_us: AtomicU64,
    epoch: Instant,
    interval: Duration,
    /// Set by [`Tracker::settings_changed`]: the next request reads.
    forced: AtomicBool,
    checking: tokio::sync::Mutex<()>,
}

impl SettingsGate {
    fn new(interval: Duration) -> Self {
        Self {
            last_us: AtomicU64::new(0),
            epoch: Instant::now(),
            interval,
            forced: AtomicBool::new(false),
            checking: tokio::sync::Mutex::new(()),
        }
    }

    fn us(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether a request that arrived at `arrived` needs a read that
    /// started at `arrived` or later (`strict`), or one within the interval.
    fn covered(&self, arrived: Instant, strict: bool) -> bool {
        let last = self.last_us.load(Ordering::Acquire);
        // 0 is "never read" (the epoch is the gate's creation).
        if last == 0 {
            return false;
        }
        let slack = if strict { 0 } else { self.interval_us() };
        last.saturating_add(slack) >= self.us(arrived).max(1)
    }

    fn interval_us(&self) -> u64 {
        u64::try_from(self.interval.as_micros()).unwrap_or(u64::MAX)
    }
}

impl Tracker {
    /// Loads the site settings and starts the recorder.
    ///
    /// # Errors
    /// A database error while loading sites, an invalid referrer
    /// definitions or referrer spam list file, or a GeoIP database that cannot be read
    /// ([`TrackingError::GeoIp`]).
    pub fn start(pool: tally_db::DbPool, config: &TrackerConfig) -> Result<Self, TrackingError> {
        // Checked first: a bad path is a configuration error, whatever the
        // state of the database.
        let geoip = match &config.geoip_database {
            None => None,
            Some(path) => {
                let db = GeoIp::open(path)?;
                tracing::info!(
                    path,
                    database_type = db.database_type(),
                    "geoip database loaded"
                );
                Some(Arc::new(db))
            }
        };
        let lists = ConfiguredLists::from_config(config)?;
        let mut conn = pool.get().map_err(|source| {
            TrackingError::Db(tally_db::DbError::Pool {
                url: "(pool)".into(),
                source,
            })
        })?;
        let snapshot = load_snapshot(&mut conn)
            .map_err(tally_db::DbError::from)?
            .with_lists(&lists);
        drop(conn);
        let definitions = match &config.referrer_definitions {
            None => ReferrerDefinitions::builtin().clone(),
            Some(path) => extend_from_file(
                path,
                "referrer definitions",
                ReferrerDefinitions::with_extra,
            )?,
        };
        let recorder = Recorder::start(
            pool.clone(),
            RecorderConfig {
                max_batch: config.max_batch.max(1),
                queue: config.queue.max(1),
                shards: config.recorders.max(1),
                batch_wait: Duration::from_millis(config.batch_wait_ms),
                load_min_rows: (config.load_data_min_rows > 0).then_some(config.load_data_min_rows),
                ..RecorderConfig::default()
            },
            Arc::new(definitions),
        );
        Ok(Self {
            pool,
            sites: Arc::new(SiteCache::new(
                snapshot,
                Duration::from_secs(config.site_cache_ttl_secs),
            )),
            recorder,
            proxy_headers: Arc::new(config.proxy_client_headers.clone()),
            geoip,
            lists,
            record_statistics: config.record_statistics,
            bulk_requires_auth: config.bulk_requests_require_authentication,
            settings: Arc::new(SettingsGate::new(Duration::from_millis(
                config.settings_check_ms,
            ))),
            user_id_keeps_visitor_id: !config.enable_userid_overwrites_visitorid,
        })
    }

    /// Tells the tracker that settings may have changed in the database
    /// (an API call of the same process has committed): the next request
    /// reads the settings version first. Cheap; call it freely.
    pub fn settings_changed(&self) {
        self.settings.forced.store(true, Ordering::Release);
    }

    /// The current site snapshot, reloaded first when it is stale, when the
    /// settings version moved on, or when it does not know `idsite`.
    async fn snapshot_for(&self, idsites: &[u32]) -> Arc<Snapshot> {
        let arrived = Instant::now();
        let current = self.sites.current();
        let missing = idsites.iter().any(|i| !current.sites.contains_key(i));
        if self.sites.wants_reload(false) {
            return self.reload(current, None).await;
        }
        let gate = &self.settings;
        // A request for an unknown site may follow the API call that added
        // it from another process: it reads the version now.
        let strict = missing || gate.forced.load(Ordering::Acquire);
        let mut current = current;
        if !gate.covered(arrived, strict) {
            let _reading = gate.checking.lock().await;
            // Another request's read may have covered this one meanwhile.
            if !gate.covered(arrived, strict) {
                let started = Instant::now();
                // Cleared before the read: a change notified during it sets
                // the flag again for the next request.
                gate.forced.store(false, Ordering::Release);
                current = self.reload(self.sites.current(), Some(started)).await;
            }
        }
        if missing
            && idsites.iter().any(|i| !current.sites.contains_key(i))
            && self.sites.wants_reload(true)
        {
            // Sites inserted by hand, which do not move the version.
            return self.reload(current, None).await;
        }
        current
    }

    /// Reloads the snapshot in a blocking task, or with `check` only when
    /// the settings version differs from `current`'s (recording the read
    /// as started at `check`). Keeps `current` when the database is
    /// unreachable: tracking goes on with the old settings.
    async fn reload(&self, current: Arc<Snapshot>, check: Option<Instant>) -> Arc<Snapshot> {
        let pool = self.pool.clone();
        let lists = self.lists.clone();
        let known = current.version;
        let loaded = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().ok()?;
            if check.is_some() && settings_version(&mut conn).ok()? == known {
                return Some(None);
            }
            load_snapshot(&mut conn)
                .ok()
                .map(|s| Some(s.with_lists(&lists)))
        })
        .await
        .ok()
        .flatten();
        if let Some(started) = check {
            // A failed read counts too: retried at the next interval, not
            // by every request while the database is away.
            self.settings
                .last_us
                .store(self.settings.us(started).max(1), Ordering::Release);
        }
        match loaded {
            Some(Some(s)) => {
                self.sites.replace(s);
                self.sites.current()
            }
            _ => current,
        }
    }
}

/// The tracking routes, ready to be served or merged into another router.
pub fn router(tracker: Tracker) -> Router {
    Router::new()
        .route("/matomo.php", any(track))
        .route("/piwik.php", any(track))
        .route("/metrics", get(metrics))
        .with_state(tracker)
}

/// Serves [`router`] on `config.listen` until `shutdown` resolves.
///
/// # Errors
/// [`TrackingError::Serve`] if the address cannot be bound.
pub async fn serve(
    tracker: Tracker,
    config: &TrackerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TrackingError> {
    let serve_err = |source| TrackingError::Serve {
        addr: config.listen.clone(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(serve_err)?;
    let addr: SocketAddr = listener.local_addr().map_err(serve_err)?;
    tracing::info!(%addr, "tracker listening");
    crate::server::serve_router(
        listener,
        router(tracker),
        config.connection_timeouts(),
        shutdown,
    )
    .await;
    Ok(())
}

async fn metrics(State(t): State<Tracker>) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    let s = t.recorder.stats();
    let body = format!(
        "# HELP tally_tracker_batches_total Transactions committed by the recorder.\n\
         # TYPE tally_tracker_batches_total counter\n\
         tally_tracker_batches_total {}\n\
         # HELP tally_tracker_hits_total Tracking requests committed.\n\
         # TYPE tally_tracker_hits_total counter\n\
         tally_tracker_hits_total {}\n\
         # HELP tally_tracker_failures_total Recorder transactions that failed.\n\
         # TYPE tally_tracker_failures_total counter\n\
         tally_tracker_failures_total {}\n\
         # HELP tally_tracker_busy_seconds_total Time spent in committed transactions.\n\
         # TYPE tally_tracker_busy_seconds_total counter\n\
         tally_tracker_busy_seconds_total {:.6}\n",
        s.batches.load(Relaxed),
        s.hits.load(Relaxed),
        s.failures.load(Relaxed),
        s.busy_micros.load(Relaxed) as f64 / 1e6,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn client_ip(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    proxy_headers: &[String],
) -> Option<IpAddr> {
    for name in proxy_headers {
        if let Some(v) = headers.get(name.as_str()).and_then(|v| v.to_str().ok()) {
            // The left-most address is the client; proxies append theirs.
            if let Some(ip) = v.split(',').next().and_then(|s| s.trim().parse().ok()) {
                return Some(ip);
            }
        }
    }
    peer
}

fn meta_from(headers: &HeaderMap, ip: Option<IpAddr>) -> RequestMeta {
    let text = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    RequestMeta {
        ip,
        user_agent: text("user-agent"),
        accept_language: text("accept-language"),
        // DoNotTrackHeaderChecker: `X-Do-Not-Track: 1`, or a `DNT` value
        // starting with 1.
        do_not_track: text("x-do-not-track").as_deref() == Some("1")
            || text("dnt").is_some_and(|v| v.starts_with('1')),
        prefetch: matches!(text("x-purpose").as_deref(), Some("preview" | "instant"))
            || text("x-moz").as_deref() == Some("prefetch"),
        ignore_cookie: text("cookie").is_some_and(|c| {
            c.split(';')
                .any(|kv| kv.trim().split('=').next() == Some("matomo_ignore"))
        }),
        bulk_token: None,
        client_hints: headers
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("sec-ch-ua"))
            .filter_map(|(name, v)| Some((name.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        via_data_saver: text("via")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chrome-compression-proxy")),
        user_id_keeps_visitor_id: false,
    }
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// One request's way to a hit: parsed, validated, site known, enriched.
///
/// A request refused for an unknown site or a missing token adds its
/// [`Failure`] to `failures` (Matomo's `tracking_failure`).
fn prepare(
    raw: RawParams,
    meta: &RequestMeta,
    snapshot: &Snapshot,
    geoip: Option<&GeoIp>,
    failures: &mut Vec<Failure>,
) -> Result<Result<(Hit, bool), Exclusion>, TrackingError> {
    let req = match TrackingRequest::from_params(&raw) {
        Ok(req) => req,
        Err(e) => {
            // Matomo checks the site before any other parameter
            // (`Visit::checkSiteExists`) and records a request naming no
            // site (`idsite` missing, 0 or not a number: site 0, "a common
            // issue") or an unknown one, whatever else is wrong with it;
            // negative ids are not recorded.
            let idsite = raw.idsite_unverified();
            let unknown = u32::try_from(idsite).is_ok_and(|id| !snapshot.sites.contains_key(&id));
            if unknown && !refused_request_is_excluded(&raw, meta, &snapshot.globals, None) {
                failures.extend(Failure::new(
                    &raw,
                    failure_token(&raw, meta),
                    u32::try_from(idsite).unwrap_or(0),
                    failures::INVALID_SITE,
                ));
            }
            return Err(e);
        }
    };
    let send_image = req.send_image;
    let Some(site) = snapshot.sites.get(&req.idsite).cloned() else {
        if refused_request_is_excluded(&raw, meta, &snapshot.globals, None) {
            return Err(TrackingError::UnknownSite { idsite: req.idsite });
        }
        failures.extend(Failure::new(
            &raw,
            failure_token(&raw, meta),
            req.idsite,
            failures::INVALID_SITE,
        ));
        return Err(TrackingError::UnknownSite { idsite: req.idsite });
    };
    // Only requests with token-protected parameters, or an old `cdt`
    // without a valid token, can fail for want of a token; only they pay
    // for a copy of their parameters.
    let now = now_unix();
    let old_cdt_without_token = || {
        req.custom_timestamp(now, crate::params::CUSTOM_TIMESTAMP_AUTH_WINDOW_SECS)
            .is_some_and(|t| t.requires_auth)
            && !site.token_can_write(request_token(&req, meta), &snapshot.globals.salt)
    };
    let kept = (!req.auth_required_params().is_empty() || old_cdt_without_token())
        .then(|| (raw.clone(), req.idsite, site.clone()));
    match build_hit_with_geoip(raw, req, meta, site, &snapshot.globals, now, geoip) {
        Ok(hit) => Ok(hit.map(|h| (h, send_image))),
        Err(e @ TrackingError::NotAuthenticated { .. }) => {
            // Matomo checks the token before the exclusions, then asks
            // them before recording the failure.
            if let Some((raw, idsite, site)) = kept
                && !refused_request_is_excluded(&raw, meta, &snapshot.globals, Some(&site))
            {
                failures.extend(Failure::new(
                    &raw,
                    failure_token(&raw, meta),
                    idsite,
                    failures::NOT_AUTHENTICATED,
                ));
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// The token a failing request authenticates with (Matomo's
/// `Request::getTokenAuth`): a bulk's own, else the request's.
fn failure_token<'a>(raw: &'a RawParams, meta: &'a RequestMeta) -> Option<&'a str> {
    meta.bulk_token.as_deref().or(raw.get("token_auth"))
}

impl Tracker {
    /// Writes the failures of a request before it is answered, as Matomo
    /// does; a database problem here is logged, not added to the answer.
    async fn record_failures(&self, failures: Vec<Failure>) {
        if failures.is_empty() {
            return;
        }
        let pool = self.pool.clone();
        let written = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            failures::record(&mut conn, &failures).map_err(|e| e.to_string())
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not record a tracking failure"),
            Err(e) => tracing::warn!(error = %e, "tracking failure writer stopped"),
        }
    }
}

fn status_of(e: &TrackingError) -> StatusCode {
    match e {
        TrackingError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        TrackingError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        TrackingError::Db(_) => StatusCode::SERVICE_UNAVAILABLE,
        TrackingError::Serve { .. }
        | TrackingError::Config { .. }
        | TrackingError::GeoIp { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn idsite_hint(raw: &RawParams) -> Option<u32> {
    raw.get("idsite").and_then(|s| s.trim().parse().ok())
}

async fn track(
    State(t): State<Tracker>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    request_extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    if method == Method::OPTIONS
        && (headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
            || headers.contains_key(header::ACCESS_CONTROL_REQUEST_HEADERS))
    {
        return preflight(&headers);
    }
    let peer = request_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(&headers, peer, &t.proxy_headers);
    let mut meta = meta_from(&headers, ip);
    meta.user_id_keeps_visitor_id = t.user_id_keeps_visitor_id;
    let body = match crate::content_encoding::decode_body(&headers, body) {
        Ok(body) => body,
        Err(e) => return with_cache_and_cors(&method, origin, error_response(&e)),
    };
    let response = if !t.record_statistics {
        disabled(&query, &body)
    } else if method == Method::POST && is_bulk_body(&body) {
        let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok());
        bulk(&t, &mut meta, &body, referer).await
    } else {
        let mut raw =
            RawParams::from_get_post(query.as_deref(), (!body.is_empty()).then_some(&body[..]));
        if raw.is_empty() {
            let status = if method == Method::GET {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                EMPTY_REQUEST_TEXT,
            )
                .into_response()
        } else {
            let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok());
            raw.apply_referer_header_fallback(referer);
            let sent = || {
                crate::params::get_post_sent_names(
                    query.as_deref(),
                    (!body.is_empty()).then_some(&body[..]),
                )
            };
            single(&t, &meta, raw, sent).await
        }
    };
    with_cache_and_cors(&method, origin, response)
}

/// A tracking answer's last headers, whatever the answer: GET answers
/// marked not to be cached, the others the CORS headers a browser's POST
/// from the page's origin needs.
fn with_cache_and_cors(method: &Method, origin: HeaderValue, mut response: Response) -> Response {
    let out = response.headers_mut();
    if method == Method::GET {
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// The answer to every tracking request while `record_statistics` is off:
/// 503, so that clients keep what they could not send (Matomo: 503 with its
/// GIF, 204 when asked `send_image=0`, and `{"status":"success"}` with
/// nothing tracked for a bulk).
fn disabled(query: &Option<String>, body: &[u8]) -> Response {
    const MESSAGE: &str = "tracking is disabled ([tracker] record_statistics = false)";
    if is_bulk_body(body) {
        return bulk_error(StatusCode::SERVICE_UNAVAILABLE, MESSAGE.to_owned());
    }
    let raw = RawParams::from_get_post(query.as_deref(), (!body.is_empty()).then_some(body));
    if raw.get("send_image") == Some("0") {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "image/gif")],
        GIF,
    )
        .into_response()
}

/// The answer to a CORS preflight: nothing is tracked.
///
/// Matomo answers `Access-Control-Allow-Origin: *` and
/// `Access-Control-Allow-Headers: *`, which browsers refuse for the JS
/// tracker's XHR: it sets `withCredentials`, and for a credentialed request
/// neither wildcard counts. A preflight happens when the page's origin is
/// not the tracker's and `setRequestContentType` names a type a form could
/// not send (`application/json`); the POST then fails with a CORS error
/// and the tracker falls back to a GET image. Allowing the asking origin
/// with credentials, and the headers it asks for, lets that POST through,
/// as the answer to the POST itself already does.
fn preflight(headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    let asked = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            // The answer depends on who asks: a cache must not hand one
            // origin's answer to another.
            out.insert(
                header::VARY,
                HeaderValue::from_static("Origin, Access-Control-Request-Headers"),
            );
        }
        None => {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
    response
}

fn error_response(e: &TrackingError) -> Response {
    (
        status_of(e),
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{e}\n"),
    )
        .into_response()
}

fn success(send_image: bool) -> Response {
    if send_image {
        ([(header::CONTENT_TYPE, "image/gif")], GIF).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// Tracks one request. `sent` gives its parameter names in the order
/// sent, asked only when it fails ([`Failure::keep_sent_order`]).
async fn single(
    t: &Tracker,
    meta: &RequestMeta,
    raw: RawParams,
    sent: impl FnOnce() -> Vec<String>,
) -> Response {
    // Matomo compares the raw value: only `send_image=0` asks for a 204.
    let send_image = raw.get("send_image") != Some("0");
    let snapshot = t
        .snapshot_for(&idsite_hint(&raw).into_iter().collect::<Vec<_>>())
        .await;
    let mut failures = Vec::new();
    let prepared = prepare(raw, meta, &snapshot, t.geoip.as_deref(), &mut failures);
    if !failures.is_empty() {
        let sent = sent();
        for failure in &mut failures {
            failure.keep_sent_order(&sent);
        }
    }
    t.record_failures(failures).await;
    match prepared {
        Err(e) => error_response(&e),
        // Excluded requests are "successfully logged" for Matomo.
        Ok(Err(exclusion)) => {
            with_dnt_answer(success(send_image), exclusion == Exclusion::DoNotTrack)
        }
        Ok(Ok((hit, send_image))) => {
            match t.recorder.record(vec![hit], snapshot.globals.clone()).await {
                Ok(mut results) => match results.pop() {
                    Some(Ok(())) => success(send_image),
                    Some(Err(e)) => error_response(&e),
                    None => error_response(&TrackingError::Unavailable),
                },
                Err(e) => error_response(&e),
            }
        }
    }
}

#[derive(Serialize)]
struct BulkAnswer {
    status: &'static str,
    tracked: usize,
    invalid: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid_indices: Option<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// A bulk's error answer when nothing of it was looked at or stored.
fn bulk_error(status: StatusCode, message: String) -> Response {
    json(
        status,
        &BulkAnswer {
            status: "error",
            tracked: 0,
            invalid: 0,
            invalid_indices: None,
            message: Some(message),
        },
    )
}

fn json(status: StatusCode, answer: &BulkAnswer) -> Response {
    let body = serde_json::to_string(answer).unwrap_or_else(|_| "{}".into());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn bulk(t: &Tracker, meta: &mut RequestMeta, body: &[u8], referer: Option<&str>) -> Response {
    let parsed = match parse_bulk(body) {
        Ok(b) => b,
        Err(e) => {
            return bulk_error(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    meta.bulk_token = parsed.token_auth.clone();
    let ids: Vec<u32> = parsed.requests.iter().filter_map(idsite_hint).collect();
    let snapshot = t.snapshot_for(&ids).await;
    if t.bulk_requires_auth
        && let Some(message) = bulk_refusal(&parsed, &snapshot)
    {
        return bulk_error(StatusCode::BAD_REQUEST, message);
    }
    let mut hits = Vec::new();
    let mut invalid = Vec::new();
    let mut excluded = 0usize;
    let mut failures = Vec::new();
    // Which request each failure is of (request index, failure index).
    let mut failed: Vec<(usize, usize)> = Vec::new();
    let mut prepared = Vec::with_capacity(parsed.requests.len());
    for (i, mut raw) in parsed.requests.into_iter().enumerate() {
        let before = failures.len();
        // Matomo's "empty request" (`{}`, a number...) is counted as
        // tracked and stores nothing. Each item is a `Request`, whose
        // constructor applies the image tracker's `Referer` fallback
        // (after deciding that it is empty).
        prepared.push((!raw.is_empty()).then(|| {
            raw.apply_referer_header_fallback(referer);
            prepare(raw, meta, &snapshot, t.geoip.as_deref(), &mut failures)
        }));
        failed.extend((before..failures.len()).map(|f| (i, f)));
    }
    if !failed.is_empty() {
        // The body is decoded again for the order of the parameters: only
        // a bulk with a failing request pays for it.
        let sent = crate::params::bulk_sent_names(body);
        for (i, f) in failed {
            if let (Some(names), Some(failure)) = (sent.get(i), failures.get_mut(f)) {
                failure.keep_sent_order(names);
            }
        }
    }
    t.record_failures(failures).await;
    let mut do_not_track = false;
    for (i, p) in prepared.into_iter().enumerate() {
        match p {
            Some(Ok(Ok((hit, _)))) => hits.push((i, hit)),
            Some(Ok(Err(exclusion))) => {
                do_not_track |= exclusion == Exclusion::DoNotTrack;
                excluded += 1;
            }
            None => excluded += 1,
            // Not an invalid request for Matomo's bulk handler but an
            // exception that fails (and rolls back) the whole bulk.
            Some(Err(e @ TrackingError::UnhandledCustomAction)) => {
                return bulk_error(status_of(&e), e.to_string());
            }
            Some(Err(_)) => invalid.push(i),
        }
    }
    let is_super = parsed.token_auth.as_deref().is_some_and(|tok| {
        snapshot
            .globals
            .super_user_tokens
            .contains(&crate::site::hash_token(tok, &snapshot.globals.salt))
    });
    let (indices, hits): (Vec<usize>, Vec<Hit>) = hits.into_iter().unzip();
    let mut tracked = excluded;
    let mut failure = None;
    if !hits.is_empty() {
        match t.recorder.record(hits, snapshot.globals.clone()).await {
            Ok(results) => {
                for (i, r) in indices.into_iter().zip(results) {
                    match r {
                        Ok(()) => tracked += 1,
                        Err(TrackingError::Db(e)) => failure = Some(TrackingError::Db(e)),
                        Err(TrackingError::Unavailable) => {
                            failure = Some(TrackingError::Unavailable)
                        }
                        Err(_) => invalid.push(i),
                    }
                }
            }
            Err(e) => failure = Some(e),
        }
    }
    invalid.sort_unstable();
    if let Some(e) = failure {
        // The bulk is one transaction: nothing of it was stored.
        return json(
            status_of(&e),
            &BulkAnswer {
                status: "error",
                tracked: 0,
                invalid: invalid.len(),
                invalid_indices: is_super.then(|| invalid.clone()),
                message: Some(e.to_string()),
            },
        );
    }
    if !parsed.send_image {
        return with_dnt_answer(StatusCode::NO_CONTENT.into_response(), do_not_track);
    }
    let answer = json(
        StatusCode::OK,
        &BulkAnswer {
            status: "success",
            tracked,
            invalid: invalid.len(),
            invalid_indices: is_super.then_some(invalid),
            message: None,
        },
    );
    with_dnt_answer(answer, do_not_track)
}

/// `Tk: N` (Tracking Preference Expression: "not tracking") on the answer
/// to a request a Do-Not-Track header excluded, as Matomo's
/// `DoNotTrackHeaderChecker` sends it.
fn with_dnt_answer(mut response: Response, excluded_by_dnt: bool) -> Response {
    if excluded_by_dnt {
        response
            .headers_mut()
            .insert("tk", HeaderValue::from_static("N"));
    }
    response
}

/// Why a bulk is refused under `bulk_requests_require_authentication`
/// (Matomo's messages), or `None` when its token may write to the site of
/// every request (a request naming no known site is refused, as in Matomo).
fn bulk_refusal(parsed: &crate::params::BulkRequest, snapshot: &Snapshot) -> Option<String> {
    let Some(token) = parsed.token_auth.as_deref().filter(|t| !t.is_empty()) else {
        return Some(
            "token_auth must be specified when using Bulk Tracking Import. \
             See <a href='https://developer.piwik.org/api-reference/tracking-api'>Tracking Doc</a>"
                .to_owned(),
        );
    };
    // One hash for the whole bulk.
    let hashed = crate::site::hash_token(token, &snapshot.globals.salt);
    parsed.requests.iter().find_map(|raw| {
        let idsite = idsite_hint(raw).unwrap_or(0);
        let allowed = snapshot
            .sites
            .get(&idsite)
            .is_some_and(|site| site.write_tokens.contains(&hashed));
        (!allowed).then(|| {
            format!("token_auth specified does not have Admin permission for idsite={idsite}")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gif_is_matomos_43_bytes() {
        assert_eq!(GIF.len(), 43);
        assert_eq!(&GIF[..6], b"GIF89a");
    }

    #[test]
    fn client_ip_prefers_configured_proxy_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.0.0.1"),
        );
        let peer = Some("10.0.0.1".parse().unwrap());
        assert_eq!(client_ip(&h, peer, &[]), peer);
        assert_eq!(
            client_ip(&h, peer, &["X-Forwarded-For".into()]),
            Some("203.0.113.9".parse().unwrap())
        );
        h.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(&h, peer, &["X-Forwarded-For".into()]), peer);
    }

    #[test]
    fn meta_reads_headers() {
        let mut h = HeaderMap::new();
        h.insert("dnt", HeaderValue::from_static("1"));
        h.insert("x-purpose", HeaderValue::from_static("preview"));
        h.insert("cookie", HeaderValue::from_static("a=b; matomo_ignore=1"));
        let m = meta_from(&h, None);
        assert!(m.do_not_track && m.prefetch && m.ignore_cookie);
        let m = meta_from(&HeaderMap::new(), None);
        assert!(!m.do_not_track && !m.prefetch && !m.ignore_cookie);
        for (name, value, dnt) in [
            ("x-do-not-track", "1", true),
            ("dnt", "1, 0", true),
            ("dnt", "0", false),
            ("x-do-not-track", "yes", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(meta_from(&h, None).do_not_track, dnt, "{name}: {value}");
        }
    }

    fn snapshot() -> Snapshot {
        use crate::site::{Globals, SiteSettings};
        use crate::urlnorm::UrlSettings;
        let url_settings = UrlSettings::default();
        let site = SiteSettings {
            idsite: 1,
            timezone: crate::tz::SiteTimeZone::parse("UTC"),
            ts_created: None,
            ecommerce: true,
            excluded_parameters: url_settings.excluded_parameters(),
            url_settings,
            exclude_unknown_urls: false,
            excluded_ips: Vec::new(),
            excluded_user_agents: Vec::new(),
            goals: Vec::new(),
            dimensions: Vec::new(),
            write_tokens: Default::default(),
        };
        Snapshot {
            version: 0,
            sites: [(1, Arc::new(site))].into_iter().collect(),
            globals: Arc::new(Globals::default()),
        }
    }

    proptest::proptest! {
        /// Whatever the parameters, preparing a request never panics, and a
        /// rejection is a 400 with a message (never a 500).
        #[test]
        fn arbitrary_requests_are_hits_exclusions_or_400s(
            pairs in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "idsite", "rec", "url", "urlref", "action_name", "_id", "cid", "uid",
                        "cdt", "cip", "e_c", "e_a", "e_v", "idgoal", "ec_id", "ec_items",
                        "revenue", "search", "link", "download", "pf_net", "cvar", "_cvar",
                        "dimension1", "country", "lat", "h", "res", "ping", "new_visit", "c_n",
                        "_pkc", "bots", "token_auth",
                    ]),
                    "\\PC{0,40}",
                ),
                0..12,
            ),
            force_site in proptest::bool::ANY,
        ) {
            let mut raw = RawParams::new();
            for (k, v) in &pairs {
                raw.insert(*k, v.clone());
            }
            if force_site {
                raw.insert("idsite", "1");
                raw.insert("rec", "1");
            }
            let snap = snapshot();
            match prepare(raw, &RequestMeta::default(), &snap, None, &mut Vec::new()) {
                Ok(_) => {}
                Err(e) => {
                    proptest::prop_assert_eq!(status_of(&e), StatusCode::BAD_REQUEST);
                    proptest::prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }
}
