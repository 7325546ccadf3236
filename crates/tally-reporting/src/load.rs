//! Reading archives for a report, building them on demand (§7.9).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use diesel::MysqlConnection;
use tally_archiving::segment::Segment;
use tally_archiving::storage::{self, ArchiveKey, StoredArchive};
use tally_archiving::{Archiver, Period, Registry, SiteInfo};
use tally_datatable::DataTable;
use tally_db::DbPool;
use tally_schema::codes::PeriodKind;
use time::OffsetDateTime;

use crate::ReportingError;

/// One lock per archive being built in this process, so that concurrent
/// identical requests archive once: the second waits, then finds the
/// first one's archive usable.
#[derive(Debug, Default)]
pub(crate) struct ArchiveLocks {
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl ArchiveLocks {
    fn lock_for(&self, key: String) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget locks nobody holds so the map does not grow forever.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        Arc::clone(locks.entry(key).or_default())
    }
}

/// How archives are found for a request.
#[derive(Clone)]
pub(crate) struct Loader<'a> {
    /// Spare connections to build sub-periods side by side.
    pub(crate) pool: &'a DbPool,
    pub(crate) registry: &'a Registry,
    pub(crate) archiver_config: tally_archiving::ArchivingConfig,
    pub(crate) browser_archiving: bool,
    /// The reporting settings (methods that read the logs need them too).
    pub(crate) config: &'a crate::ReportingConfig,
    pub(crate) locks: &'a ArchiveLocks,
    pub(crate) now: OffsetDateTime,
    /// Whether a segment archive that is missing while segments may not be
    /// archived on request is an error (the root request of one site).
    pub(crate) unprocessed_segment_check: bool,
}

/// SegmentEditor's `getSegmentIfIsUnprocessed`: a segment without its
/// archive is an error when visits of the period match it (without any,
/// the report is empty anyway), naming the stored segment of that
/// definition if there is one.
fn check_processed(
    conn: &mut MysqlConnection,
    site: &SiteInfo,
    period: Period,
    segment: &Segment,
) -> Result<(), ReportingError> {
    let (start, end) = period.utc_bounds(&site.timezone);
    if !tally_archiving::segment::has_visits_between(conn, site.idsite, segment, start, end)? {
        return Ok(());
    }
    let definition = segment.definition();
    let mut stored_name = tally_management::find_segment_name_by_definition(conn, definition)?;
    if stored_name.is_none() {
        // Matomo also tries the definition URL-decoded once.
        let decoded = tally_datatable::format::php_urldecode(definition.as_bytes());
        let decoded = String::from_utf8_lossy(&decoded);
        if decoded != definition {
            stored_name = tally_management::find_segment_name_by_definition(conn, &decoded)?;
        }
    }
    Err(ReportingError::UnprocessedSegment { stored_name })
}

impl Loader<'_> {
    /// The archive of `period` for `site` and `segment`, or `None` when the
    /// period has no data (before the site existed, in the future, or not
    /// archived while browser archiving is off).
    ///
    /// Matomo archives during the request when browser-triggered archiving
    /// is on, and always for ranges and segments; otherwise only existing
    /// archives are read, invalidated ones included.
    pub(crate) fn archive(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        segment: &Segment,
    ) -> Result<Option<StoredArchive>, ReportingError> {
        let segments_on_request = !self.config.browser_archiving_disabled_enforce;
        let build = self.browser_archiving
            || period.kind() == PeriodKind::Range
            || (!segment.is_empty() && segments_on_request);
        if !build {
            let key = ArchiveKey {
                idsite: site.idsite,
                period,
                done_flag: segment.done_flag(),
            };
            let found = storage::find_archive(conn, &key, None, true)?;
            if found.is_none() && !segment.is_empty() && self.unprocessed_segment_check {
                check_processed(conn, site, period, segment)?;
            }
            return Ok(found);
        }
        self.build(conn, site, period, segment, None)
    }

    /// [`Loader::archive`] of a plugin-only segment archive (VisitFrequency,
    /// Goals.get's visitor types): always built on demand, as Matomo
    /// archives these dependent segments.
    pub(crate) fn plugin_archive(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        segment: &Segment,
        plugin: &str,
    ) -> Result<Option<StoredArchive>, ReportingError> {
        self.build(conn, site, period, segment, Some(plugin))
    }

    /// Builds (or reuses) an archive under the lock of its done flag.
    fn build(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        segment: &Segment,
        plugin: Option<&str>,
    ) -> Result<Option<StoredArchive>, ReportingError> {
        let done_flag = match plugin {
            None => segment.done_flag(),
            Some(plugin) => format!("{}.{plugin}", segment.done_flag()),
        };
        let lock = self
            .locks
            .lock_for(format!("{}|{period}|{done_flag}", site.idsite));
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        // A first range call builds dozens of archives (the months of a
        // year, their weeks); independent ones are built on as many threads
        // as there are cores, with idle pooled connections.
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let archiver = Archiver::new(self.registry, self.archiver_config.clone())
            .with_workers(self.pool.clone(), threads);
        let outcome = match plugin {
            None => archiver.archive_segment(conn, site, period, segment, self.now, false)?,
            Some(plugin) => archiver
                .archive_plugin_segment(conn, site, period, segment, plugin, self.now, false)?,
        };
        Ok(outcome.archive())
    }
}

/// Numeric records of an archive by name (missing ones absent).
pub(crate) fn numerics(
    conn: &mut MysqlConnection,
    archive: Option<&StoredArchive>,
) -> Result<HashMap<String, f64>, ReportingError> {
    match archive {
        Some(archive) => Ok(storage::read_numeric_records(conn, archive)?),
        None => Ok(HashMap::new()),
    }
}

/// A blob record of an archive, or an empty table.
pub(crate) fn table(
    conn: &mut MysqlConnection,
    archive: Option<&StoredArchive>,
    record: &str,
) -> Result<DataTable, ReportingError> {
    match archive {
        Some(archive) => Ok(storage::read_table(conn, archive, record)?.unwrap_or_default()),
        None => Ok(DataTable::default()),
    }
}
