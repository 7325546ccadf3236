//! Answering one API call: format, method, authentication, dispatch,
//! rendering (errors included).

use std::collections::BTreeMap;
use std::sync::Arc;

use tally_archiving::{ArchivingConfig, Registry};
use tally_datatable::Scalar;
use tally_datatable::render::Report;
use tally_db::DbPool;
use tally_management::Principal;
use time::OffsetDateTime;

use crate::ReportingError;
use crate::compare::Comparison;
use crate::live;
use crate::load::{ArchiveLocks, Loader};
use crate::manage;
use crate::meta;
use crate::methods::{self, Ctx};
use crate::output::{self, Format, Output, PhpShape, Rendered};
use crate::pivot::Pivot;
use crate::privacy;
use crate::request::ApiRequest;
use crate::row_evolution;
use crate::rss;
use crate::transitions::{self, MaxPeriodAllowed};

/// The Matomo version we answer `API.getMatomoVersion` with: the API
/// generation whose wire formats we follow.
pub const MATOMO_VERSION: &str = "5.2.0";

/// Reporting settings (`[reporting]` in `tally.toml`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportingConfig {
    /// Archive during API requests when no usable archive exists
    /// (`enable_browser_archiving_triggering`, on by default as in
    /// Matomo). Ranges and segments are always archived on demand.
    pub browser_archiving: bool,
    /// The longest period `Transitions.*` answers for (Matomo's
    /// `[Transitions] max_period_allowed`): `day`, `week`, `month`, `year`
    /// or `all` (the default).
    pub transitions_max_period_allowed: MaxPeriodAllowed,
    /// Per-site overrides of `transitions_max_period_allowed`, keyed by
    /// site id (Matomo's `[Transitions_<idSite>]` sections). None by
    /// default.
    pub transitions_max_period_allowed_by_site: BTreeMap<String, MaxPeriodAllowed>,
    /// Lets `pivotBy` name a dimension that is not the report's subtable
    /// dimension: each row's table of that dimension is then the
    /// dimension's report asked with the row's segment (Matomo's
    /// `[General] pivot_by_filter_enable_fetch_by_segment`; off by
    /// default, as there, since it costs one report per row).
    pub pivot_by_filter_enable_fetch_by_segment: bool,
    /// Serves Matomo's Bandwidth plugin (on by default, as in the installs
    /// Matomo's expected outputs come from): the `sum_bandwidth`,
    /// `nb_hits_with_bandwidth`, `min_bandwidth`, `max_bandwidth` and
    /// `avg_bandwidth` columns of the Actions reports, `Bandwidth.get`, and
    /// the `bandwidth` / `bandwidth_pretty` of Live's actions. Off: answers
    /// as Matomo's without the plugin. Sizes are stored either way.
    pub bandwidth: bool,
    /// With `browser_archiving` off, also keeps segments from being
    /// archived on request (Matomo's `[General]
    /// browser_archiving_disabled_enforce`; off by default, as there):
    /// only the archives `tally-archiver run` built are read, and a
    /// segment without one over visits that match answers Matomo's
    /// unprocessed-segment error. Ranges are still archived on request.
    pub browser_archiving_disabled_enforce: bool,
}

impl Default for ReportingConfig {
    fn default() -> Self {
        Self {
            browser_archiving: true,
            transitions_max_period_allowed: MaxPeriodAllowed::All,
            transitions_max_period_allowed_by_site: BTreeMap::new(),
            pivot_by_filter_enable_fetch_by_segment: false,
            bandwidth: true,
            browser_archiving_disabled_enforce: false,
        }
    }
}

/// A rendered API answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    /// The HTTP status (200 for most errors, as in Matomo).
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl From<Rendered> for ApiResponse {
    fn from(rendered: Rendered) -> Self {
        Self {
            status: rendered.status,
            content_type: rendered.content_type,
            body: rendered.body,
        }
    }
}

/// Called after every answered request: see [`Api::notify_settings_changes`].
type SettingsListener = Arc<dyn Fn() + Send + Sync>;

struct Inner {
    pool: DbPool,
    registry: Registry,
    archiving: ArchivingConfig,
    config: ReportingConfig,
    locks: ArchiveLocks,
    settings_listener: std::sync::OnceLock<SettingsListener>,
}

/// The Reporting and management API. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// An API over the archives of `pool`, archiving with `registry`.
    pub fn new(
        pool: DbPool,
        registry: Registry,
        archiving: ArchivingConfig,
        config: ReportingConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                registry,
                archiving,
                config,
                locks: ArchiveLocks::default(),
                settings_listener: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Calls `listener` after every request this API answers, once its
    /// writes are committed: a tracker in the same process
    /// (`tally_tracking::http::Tracker::settings_changed`) then reads the
    /// settings version before its next request, so a goal or site added
    /// through the API applies to the very next hit, as in Matomo. Any
    /// method may write (management methods, `API.getBulkRequest`), and the
    /// tracker's check is one primary-key read, so every request notifies.
    /// Only the first listener set is kept.
    pub fn notify_settings_changes(&self, listener: impl Fn() + Send + Sync + 'static) {
        let _ = self.inner.settings_listener.set(Arc::new(listener));
    }

    /// Answers a request now.
    pub fn handle(&self, request: &ApiRequest) -> ApiResponse {
        self.handle_at(request, OffsetDateTime::now_utc())
    }

    /// Answers a request as if it were `now` (tests pin the clock).
    pub fn handle_at(&self, request: &ApiRequest, now: OffsetDateTime) -> ApiResponse {
        let response = self.respond(request, now);
        if let Some(listener) = self.inner.settings_listener.get() {
            listener();
        }
        response
    }

    fn respond(&self, request: &ApiRequest, now: OffsetDateTime) -> ApiResponse {
        let format = match Format::from_request(request) {
            Ok(format) => format,
            Err(error) => return output::render_error(&error, Format::Xml, request).into(),
        };
        match self.answer(request, now) {
            Ok(answer) => {
                let mut options = output::filters(request)
                    .map(|filters| filters.render_options())
                    .unwrap_or_default();
                // The pivot filter clears the queued filters queued before
                // it, `ReplaceSummaryRowLabel` among them.
                if request
                    .non_empty("pivotBy")
                    .is_some_and(|pivot| pivot != "0")
                {
                    options.summary_label = None;
                }
                if format == Format::Rss
                    && let Output::Report(report @ Report::Map { .. }) = &answer
                {
                    return self.rss(report, &options, request, now);
                }
                output::render(&answer, format, php_shape(request), &options, request).into()
            }
            Err(error) => {
                if matches!(error, ReportingError::Db(_) | ReportingError::Pool(_)) {
                    tracing::error!(%error, "api request failed");
                }
                output::render_error(&error, format, request).into()
            }
        }
    }

    /// `format=rss` of a map: the feed, which needs the site and the
    /// Matomo URL from the database.
    fn rss(
        &self,
        report: &Report,
        options: &tally_datatable::render::RenderOptions,
        request: &ApiRequest,
        now: OffsetDateTime,
    ) -> ApiResponse {
        let feed = self
            .inner
            .pool
            .get()
            .map_err(ReportingError::from)
            .and_then(|mut conn| rss::feed(&mut conn, report, options, request, now));
        match feed {
            Ok(body) => ApiResponse {
                status: 200,
                content_type: "text/xml; charset=utf-8",
                body: body.into_bytes(),
            },
            Err(error) => output::render_error(&error, Format::Rss, request).into(),
        }
    }

    fn answer(&self, request: &ApiRequest, now: OffsetDateTime) -> Result<Output, ReportingError> {
        if let Some(module) = request.non_empty("module")
            && module != "API"
        {
            return Err(ReportingError::NotApi {
                module: module.to_owned(),
            });
        }
        let method = request
            .non_empty("method")
            .ok_or_else(|| ReportingError::MissingParameter("method".to_owned()))?;
        let (module, action) =
            method
                .split_once('.')
                .ok_or_else(|| ReportingError::UnknownMethod {
                    method: method.to_owned(),
                    module: String::new(),
                })?;
        let mut conn = self.inner.pool.get()?;
        let (token, from_body) = match request.token() {
            Some((token, from_body)) => (Some(token), from_body),
            None => (None, false),
        };
        let principal = tally_management::authenticate(&mut conn, token, from_body, now)?;
        if module == "API" {
            match action {
                "getMatomoVersion" | "getPiwikVersion" => {
                    return Ok(Output::Value(Scalar::from(MATOMO_VERSION)));
                }
                "getBulkRequest" => {
                    drop(conn);
                    return Ok(self.bulk(request, now));
                }
                "getReportMetadata" => {
                    return meta::report_metadata(&mut conn, &principal, request);
                }
                "getMetadata" => return meta::metadata(&mut conn, &principal, request),
                "getSegmentsMetadata" => {
                    return meta::segments_metadata(&mut conn, &principal, request);
                }
                "getRowEvolution" => {
                    let mut ctx = Ctx {
                        conn: &mut conn,
                        principal: &principal,
                        loader: self.loader(now),
                        request,
                    };
                    return row_evolution::row_evolution(&mut ctx);
                }
                "getSuggestedValuesForSegment" => {
                    let mut ctx = Ctx {
                        conn: &mut conn,
                        principal: &principal,
                        loader: self.loader(now),
                        request,
                    };
                    return live::suggested_values(&mut ctx);
                }
                "getProcessedReport" => {
                    let mut ctx = Ctx {
                        conn: &mut conn,
                        principal: &principal,
                        loader: self.loader(now),
                        request,
                    };
                    return meta::processed_report(&mut ctx);
                }
                _ => {}
            }
        }
        if let Some(handler) = manage::find(module, action) {
            return handler(&mut conn, &principal, request, now);
        }
        // Live reads the log tables, not archives (live.rs).
        // So does Transitions.
        let handler = if module == "Live" {
            live::find(action)
        } else if module == "Transitions" {
            transitions::find(action)
        } else if module == "PrivacyManager" {
            privacy::find(action)
        } else {
            methods::find(module, action)
        };
        // Without the Bandwidth plugin its module does not exist.
        let served = module != "Bandwidth" || self.inner.config.bandwidth;
        let Some(handler) = handler.filter(|_| served) else {
            return Err(if methods::MODULES.contains(&module) && served {
                ReportingError::UnknownMethod {
                    method: action.to_owned(),
                    module: module.to_owned(),
                }
            } else {
                ReportingError::UnknownModule {
                    module: module.to_owned(),
                }
            });
        };
        let mut loader = self.loader(now);
        // SegmentEditor's unprocessed-segment check runs for the root
        // request of one site only (`getSegmentIfIsUnprocessed` returns
        // early unless `idSite` is numeric).
        loader.unprocessed_segment_check = request
            .get("idSite")
            .is_some_and(|raw| raw.trim().parse::<u32>().is_ok());
        let mut ctx = Ctx {
            conn: &mut conn,
            principal: &principal,
            loader,
            request,
        };
        let mut output = handler(&mut ctx)?;
        // Table reports deleted their columns with the generic filters;
        // simple ones (one row in Matomo) lose them here.
        if let Output::Report(report) = &mut output {
            let filters = output::filters(request)?;
            delete_simple_columns(report, &filters);
        }
        // Comparisons are of archived reports; Live and Transitions read
        // the logs and are answered as they are.
        if !matches!(module, "Live" | "Transitions" | "PrivacyManager")
            && let Some(comparison) = Comparison::from_request(request)?
        {
            output = self.compare(
                &comparison,
                handler,
                output,
                &mut conn,
                &principal,
                request,
                now,
            )?;
        }
        // Reports that are not pivoted still refuse `pivotBy` with
        // Matomo's message (the table reports checked it already).
        Pivot::from_request(
            request,
            method,
            self.inner.config.pivot_by_filter_enable_fetch_by_segment,
        )?;
        Ok(output)
    }

    /// `compare=1`: the report of every compared series added to
    /// `output` (compare.rs), each asked of `handler` like the request.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site, the answer's parts"
    )]
    fn compare(
        &self,
        comparison: &Comparison,
        handler: methods::Handler,
        output: Output,
        conn: &mut diesel::MysqlConnection,
        principal: &Principal,
        request: &ApiRequest,
        now: OffsetDateTime,
    ) -> Result<Output, ReportingError> {
        // Stored segments show their names (`getStoredSegmentName`).
        let idsite = request
            .get("idSite")
            .and_then(|raw| raw.trim().parse::<u32>().ok());
        let segment_names: Vec<(String, String)> =
            tally_management::get_all_segments(conn, principal, idsite)?
                .into_iter()
                .map(|segment| (segment.definition, segment.name))
                .collect();
        let mut run = |sub: &ApiRequest| {
            let mut ctx = Ctx {
                conn: &mut *conn,
                principal,
                loader: self.loader(now),
                request: sub,
            };
            let mut answer = handler(&mut ctx)?;
            if let Output::Report(report) = &mut answer {
                delete_simple_columns(report, &output::filters(sub)?);
            }
            Ok(answer)
        };
        comparison.apply(request, output, &segment_names, now.date(), &mut run)
    }

    fn loader(&self, now: OffsetDateTime) -> Loader<'_> {
        Loader {
            pool: &self.inner.pool,
            registry: &self.inner.registry,
            archiver_config: self.inner.archiving.clone(),
            browser_archiving: self.inner.config.browser_archiving,
            config: &self.inner.config,
            locks: &self.inner.locks,
            now,
            unprocessed_segment_check: false,
        }
    }

    /// `API.getBulkRequest&urls[0]=…`: each sub-request (a URL-encoded
    /// query string) is answered as JSON, with every outer parameter it
    /// does not set itself (`$params += $queryParameters`: the token, and
    /// also `idSite`, `period`, filters…); a sub-request left naming
    /// `API.getBulkRequest` is skipped. The answers are decoded
    /// (`json_decode`; one that is not JSON, e.g. under a JSONP `callback`,
    /// is `null`) and the list rendered in the outer format, as Matomo's
    /// `renderArray` does (JSON decodes entities a second time).
    fn bulk(&self, request: &ApiRequest, now: OffsetDateTime) -> Output {
        let mut answers = Vec::new();
        for (name, value) in request.pairs() {
            if !name.starts_with("urls[") {
                continue;
            }
            let mut sub = ApiRequest::from_parts(value, None);
            sub.set("format", "json");
            sub.set("module", "API");
            if let Some((token, from_body)) = request.token() {
                sub.inherit("token_auth", token, from_body);
            }
            for (outer, outer_value) in request.pairs() {
                if outer != "urls" && !outer.starts_with("urls[") {
                    sub.inherit(outer, outer_value, false);
                }
            }
            if sub.get("method") == Some("API.getBulkRequest") {
                continue;
            }
            let answer = self.handle_at(&sub, now);
            answers.push(
                serde_json::from_slice::<serde_json::Value>(&answer.body)
                    .map_or(tally_datatable::render::Tree::Null, |value| {
                        output::json_tree(&value)
                    }),
            );
        }
        Output::Report(Report::Tree(tally_datatable::render::Tree::List(answers)))
    }
}

/// `hideColumns` / `showColumns` on every simple report of `report`.
fn delete_simple_columns(report: &mut Report, filters: &tally_datatable::Filters) {
    match report {
        Report::Simple(columns) => filters.delete_simple_columns(columns),
        Report::Map { entries, .. } => {
            for (_, entry) in entries {
                delete_simple_columns(entry, filters);
            }
        }
        _ => {}
    }
}

/// The PHP type Matomo's method returns (`format=original` and
/// `format=html` show arrays and `DataTable`s differently).
fn php_shape(request: &ApiRequest) -> PhpShape {
    let Some((module, action)) = request
        .non_empty("method")
        .and_then(|method| method.split_once('.'))
    else {
        return PhpShape::DataTable;
    };
    match (module, action) {
        ("API", "getProcessedReport" | "getRowEvolution") => PhpShape::ArrayWithTable,
        (
            "API",
            "getBulkRequest"
            | "getReportMetadata"
            | "getMetadata"
            | "getSegmentsMetadata"
            | "getSuggestedValuesForSegment",
        ) => PhpShape::Array,
        ("Live", "getCounters") => PhpShape::Array,
        ("Transitions", _) => PhpShape::Array,
        ("PrivacyManager", action) if action != "findDataSubjects" => PhpShape::Array,
        _ if manage::find(module, action).is_some() => PhpShape::Array,
        _ => PhpShape::DataTable,
    }
}

/// What management methods receive.
pub(crate) type ManageHandler = fn(
    &mut diesel::MysqlConnection,
    &Principal,
    &ApiRequest,
    OffsetDateTime,
) -> Result<Output, ReportingError>;
