//! Building one archive (`ArchiveProcessor`, `Loader`, `PluginsArchiver`):
//! reuse a usable archive, or build the day from the logs or the period
//! from its sub-periods (archiving those first), then write it.

use std::collections::HashMap;

use diesel::MysqlConnection;
use tally_schema::PeriodKind;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::ArchiveError;
use crate::context::{DayContext, Output, PeriodContext, Scans, SubArchive};
use crate::logs::LogAggregator;
use crate::period::Period;
use crate::record::{Record, RecordKind, Registry};
use crate::segment::Segment;
use crate::site::SiteInfo;
use crate::storage::{self, ArchiveKey, ArchiveWriter, StoredArchive};

/// Archiving settings (`[archiver]` in `tally.toml`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchivingConfig {
    /// Seconds an archive of a period containing today stays usable
    /// (`time_before_today_archive_considered_outdated`, 900).
    pub today_ttl_secs: i64,
}

impl Default for ArchivingConfig {
    fn default() -> Self {
        Self {
            today_ttl_secs: 900,
        }
    }
}

/// What [`Archiver::archive`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A usable archive existed.
    Reused(StoredArchive),
    /// A new archive was written (records and done flag).
    Built(StoredArchive),
    /// Nothing to archive: the period ends before the site was created or
    /// starts after today.
    NoData,
}

impl Outcome {
    /// The archive, if there is one.
    pub fn archive(&self) -> Option<StoredArchive> {
        match self {
            Self::Reused(a) | Self::Built(a) => Some(*a),
            Self::NoData => None,
        }
    }
}

/// Builds archives with a registry of builders.
#[derive(Debug)]
pub struct Archiver<'r> {
    registry: &'r Registry,
    config: ArchivingConfig,
}

fn to_primitive(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    PrimitiveDateTime::new(t.date(), t.time())
}

fn unix_to_primitive(unix: i64) -> PrimitiveDateTime {
    OffsetDateTime::from_unix_timestamp(unix).map_or(PrimitiveDateTime::MIN, to_primitive)
}

impl<'r> Archiver<'r> {
    /// An archiver running the builders of `registry`.
    pub fn new(registry: &'r Registry, config: ArchivingConfig) -> Self {
        Self { registry, config }
    }

    /// The oldest `ts_archived` a usable archive of `period` may have at
    /// `now` (MATOMO.md section 7.9): a finished period needs an archive
    /// written after it ended; a period containing now one younger than
    /// the TTL.
    pub fn min_ts_archived(
        &self,
        site: &SiteInfo,
        period: Period,
        now: OffsetDateTime,
    ) -> PrimitiveDateTime {
        let (_, end) = period.utc_bounds(&site.timezone);
        let now_unix = now.unix_timestamp();
        if end <= now_unix {
            unix_to_primitive(end)
        } else {
            to_primitive(now - Duration::seconds(self.config.today_ttl_secs))
        }
    }

    /// Returns a usable archive of `period` for `site`, building it (and
    /// the sub-period archives it needs) when there is none. With `force`,
    /// this period's archive is rebuilt even if a usable one exists (its
    /// sub-periods are still reused when usable).
    ///
    /// # Errors
    /// Any database, table or builder error; a failed archive is left with
    /// its done flag at 2 and is never read.
    pub fn archive(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<Outcome, ArchiveError> {
        self.archive_segment(conn, site, period, &Segment::default(), now, force)
    }

    /// [`Archiver::archive`] for the visits of `segment`: the archive is
    /// stored under `done<md5 of the definition>` (Matomo's name), its
    /// sub-periods are archived with the same segment, and every log query
    /// of the builders reads only the segment's visits. The empty segment
    /// is the plain archive.
    ///
    /// # Errors
    /// As [`Archiver::archive`].
    pub fn archive_segment(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        segment: &Segment,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<Outcome, ArchiveError> {
        self.archive_with(conn, site, period, segment, None, now, force)
    }

    /// [`Archiver::archive_segment`] with only the builders of `plugin`,
    /// stored under `done<hash>.<plugin>`: Matomo's single-plugin archives,
    /// which another report depends on (VisitFrequency reads VisitsSummary
    /// archives of two visitor-type segments, see [`crate::visit_frequency`]).
    ///
    /// # Errors
    /// As [`Archiver::archive`].
    #[expect(
        clippy::too_many_arguments,
        reason = "archive_segment's arguments plus the plugin; a struct would only rename them"
    )]
    pub fn archive_plugin_segment(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        segment: &Segment,
        plugin: &str,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<Outcome, ArchiveError> {
        self.archive_with(conn, site, period, segment, Some(plugin), now, force)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the public entry points above name the combinations"
    )]
    fn archive_with(
        &self,
        conn: &mut MysqlConnection,
        site: &SiteInfo,
        period: Period,
        segment: &Segment,
        plugin: Option<&str>,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<Outcome, ArchiveError> {
        let today = site.timezone.local_date(now.unix_timestamp());
        if period.start() > today || site.created.is_some_and(|created| period.end() < created) {
            return Ok(Outcome::NoData);
        }
        let key = ArchiveKey {
            idsite: site.idsite,
            period,
            done_flag: match plugin {
                None => segment.done_flag(),
                Some(plugin) => format!("{}.{plugin}", segment.done_flag()),
            },
        };
        if !force {
            let min = self.min_ts_archived(site, period, now);
            if let Some(found) = storage::find_archive(conn, &key, Some(min), false)? {
                return Ok(Outcome::Reused(found));
            }
        }
        let (start, end) = period.utc_bounds(&site.timezone);
        let logs = LogAggregator::new(site.idsite, start, end)?.with_segment(segment);
        let mut builders = self.registry.builders_for(site);
        if let Some(plugin) = plugin {
            builders.retain(|builder| builder.plugin() == plugin);
        }
        let output = if period.kind() == PeriodKind::Day {
            let has_visits = logs.has_visits(conn)?;
            let mut ctx = DayContext {
                conn: &mut *conn,
                site,
                period,
                logs,
                scans: Scans::default(),
                output: Output::default(),
            };
            for builder in &builders {
                if has_visits || builder.runs_without_visits() {
                    builder.build_day(&mut ctx)?;
                }
            }
            ctx.output
        } else {
            let mut subarchives = Vec::new();
            // A range that ends today or later is cut as Matomo cuts it
            // then (whole periods running past its end); others as usual.
            let subperiods = if period.kind() == PeriodKind::Range {
                period.subperiods_as_of(today)
            } else {
                period.subperiods()
            };
            for sub in subperiods {
                let outcome = self.archive_with(conn, site, sub, segment, plugin, now, false)?;
                subarchives.push(SubArchive {
                    period: sub,
                    archive: outcome.archive(),
                });
            }
            let mut ctx = PeriodContext {
                conn: &mut *conn,
                site,
                period,
                logs,
                subarchives,
                numeric_cache: HashMap::new(),
                blob_cache: HashMap::new(),
                output: Output::default(),
            };
            for builder in &builders {
                builder.build_period(&mut ctx)?;
            }
            ctx.output
        };
        let records: Vec<Record> = builders.iter().flat_map(|b| b.records()).collect();
        let stored = write_archive(conn, key, to_primitive(now), &records, output)?;
        tracing::debug!(idsite = site.idsite, %period, idarchive = stored.idarchive, "archived");
        Ok(Outcome::Built(stored))
    }
}

/// Writes the declared records of `output` (blob tables truncated to their
/// record's limits, count-of-rows records computed) and finalises the
/// archive. Undeclared records are an error: a builder that writes a name
/// it did not declare would not be aggregated for longer periods.
fn write_archive(
    conn: &mut MysqlConnection,
    key: ArchiveKey,
    now: PrimitiveDateTime,
    records: &[Record],
    output: Output,
) -> Result<StoredArchive, ArchiveError> {
    let declared: HashMap<&str, &Record> = records.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut writer = ArchiveWriter::begin(conn, key, now)?;
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    for (name, mut table) in output.tables {
        let record = declared
            .get(name.as_str())
            .filter(|r| r.kind == RecordKind::Blob)
            .ok_or_else(|| ArchiveError::Builder(format!("blob record {name} is not declared")))?;
        table.aggregation_ops = record.aggregation_ops.clone();
        table.truncate_recursive(
            record.max_rows,
            record.max_subtable_rows,
            &record.sort_column,
        )?;
        counts.insert(
            name.clone(),
            (table.rows_count(), table.rows_count_recursive()),
        );
        writer.insert_table(conn, &name, &table)?;
    }
    for (name, value) in output.numeric {
        let record = declared
            .get(name.as_str())
            .filter(|r| r.kind == RecordKind::Numeric)
            .ok_or_else(|| {
                ArchiveError::Builder(format!("numeric record {name} is not declared"))
            })?;
        if record.count_of_rows.is_none() {
            writer.insert_numeric(&name, value);
        }
    }
    for record in records {
        if let Some(count) = &record.count_of_rows {
            let (top, recursive) = counts.get(&count.blob).copied().unwrap_or((0, 0));
            let value = if count.recursive { recursive } else { top };
            #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
            writer.insert_numeric(&record.name, value as f64);
        }
    }
    writer.finish(conn)
}
