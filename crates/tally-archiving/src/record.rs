//! The `RecordBuilder` plugin interface (`core/ArchiveProcessor/RecordBuilder.php`,
//! `Record.php`) and the registry of builders.

use std::sync::Arc;

use tally_datatable::{AggregationOps, ColumnKey, ColumnOp};

use crate::ArchiveError;
use crate::context::{DayContext, PeriodContext, SharedScan};
use crate::site::SiteInfo;

/// Numeric (a DOUBLE in `archive_numeric_*`) or blob (a DataTable in
/// `archive_blob_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// One number.
    Numeric,
    /// A report table with its subtables.
    Blob,
}

/// Which columns are renamed when tables from day archives are aggregated
/// into a longer period (MATOMO.md section 7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameAfterAggregation {
    /// Keep every column.
    None,
    /// `nb_uniq_visitors` → `sum_daily_nb_uniq_visitors`, `nb_users` →
    /// `sum_daily_nb_users` (the default of every blob record).
    Standard,
    /// [`RenameAfterAggregation::Standard`] plus the entry and exit unique
    /// visitor columns of the Actions reports.
    Actions,
}

impl RenameAfterAggregation {
    /// The metric id pairs renamed in a day table before it is summed.
    pub fn id_pairs(self) -> &'static [(u16, u16)] {
        match self {
            Self::None => &[],
            Self::Standard => &tally_datatable::metrics::RENAME_AFTER_AGGREGATION,
            Self::Actions => &tally_datatable::metrics::RENAME_AFTER_AGGREGATION_ACTIONS,
        }
    }
}

/// A numeric record that counts the rows of a blob record
/// (`setIsCountOfBlobRecordRows`), recomputed after aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountOfRows {
    /// The blob record whose rows are counted.
    pub blob: String,
    /// Count subtable rows too.
    pub recursive: bool,
}

/// Metadata of one record a builder produces (`Record::make`).
#[derive(Debug, Clone)]
pub struct Record {
    /// The record name, e.g. `nb_visits` or `Actions_actions_url`.
    pub name: String,
    /// Numeric or blob.
    pub kind: RecordKind,
    /// Top-level row limit at serialization (0 = none).
    pub max_rows: usize,
    /// Row limit of every subtable (0 = none).
    pub max_subtable_rows: usize,
    /// Column sorted on (descending) before truncation.
    pub sort_column: String,
    /// Per-column aggregation ops of a blob record (default `sum`).
    pub aggregation_ops: AggregationOps,
    /// How a numeric record combines over sub-periods (default `sum`;
    /// `max_*` names default to `max`, `min_*` to `min`).
    pub numeric_op: ColumnOp,
    /// Columns renamed when day tables are aggregated.
    pub rename: RenameAfterAggregation,
    /// Set for numeric records recomputed from a blob's row count.
    pub count_of_rows: Option<CountOfRows>,
}

impl Record {
    /// A numeric record; `max_*` / `min_*` names aggregate with max / min.
    pub fn numeric(name: impl Into<String>) -> Self {
        let name = name.into();
        let numeric_op = if name.starts_with("max_") {
            ColumnOp::Max
        } else if name.starts_with("min_") {
            ColumnOp::Min
        } else {
            ColumnOp::Sum
        };
        Self {
            name,
            kind: RecordKind::Numeric,
            max_rows: 0,
            max_subtable_rows: 0,
            sort_column: String::new(),
            aggregation_ops: AggregationOps::new(),
            numeric_op,
            rename: RenameAfterAggregation::None,
            count_of_rows: None,
        }
    }

    /// A blob record, sorted by `nb_visits` before truncation, with the
    /// standard renames and no row limit until [`Record::max_rows`] sets one.
    pub fn blob(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: RecordKind::Blob,
            max_rows: 0,
            max_subtable_rows: 0,
            sort_column: "nb_visits".to_owned(),
            aggregation_ops: AggregationOps::new(),
            numeric_op: ColumnOp::Sum,
            rename: RenameAfterAggregation::Standard,
            count_of_rows: None,
        }
    }

    /// Sets the top-level and subtable row limits.
    #[must_use]
    pub fn max_rows(mut self, max_rows: usize, max_subtable_rows: usize) -> Self {
        self.max_rows = max_rows;
        self.max_subtable_rows = max_subtable_rows;
        self
    }

    /// Sets the column sorted on before truncation.
    #[must_use]
    pub fn sort_by(mut self, column: impl Into<String>) -> Self {
        self.sort_column = column.into();
        self
    }

    /// Sets the aggregation op of one blob column.
    #[must_use]
    pub fn column_op(mut self, column: impl Into<ColumnKey>, op: ColumnOp) -> Self {
        self.aggregation_ops.set(column.into(), op);
        self
    }

    /// Sets the aggregation op of a numeric record.
    #[must_use]
    pub fn op(mut self, op: ColumnOp) -> Self {
        self.numeric_op = op;
        self
    }

    /// Sets the renames applied to day tables when they are aggregated.
    #[must_use]
    pub fn rename(mut self, rename: RenameAfterAggregation) -> Self {
        self.rename = rename;
        self
    }

    /// Makes this numeric record the row count of blob record `blob`.
    #[must_use]
    pub fn count_of_rows(mut self, blob: impl Into<String>, recursive: bool) -> Self {
        self.count_of_rows = Some(CountOfRows {
            blob: blob.into(),
            recursive,
        });
        self
    }
}

/// One logical group of records: the unit a plugin adds to archiving.
///
/// A builder declares its [`Record`]s, builds them for a day from the logs
/// ([`RecordBuilder::build_day`]), and for longer periods from the archives
/// of the sub-periods ([`RecordBuilder::build_period`], whose default
/// aggregates the declared records). Builders are shared between archiver
/// threads, hence `Send + Sync`; they keep no state between calls.
pub trait RecordBuilder: Send + Sync {
    /// The plugin the records belong to, e.g. `VisitsSummary` or `Actions`.
    fn plugin(&self) -> &str;

    /// The records this builder writes. Only declared records are stored.
    fn records(&self) -> Vec<Record>;

    /// Whether the builder runs for a day without visits (Matomo skips
    /// plugins then unless they ask otherwise).
    fn runs_without_visits(&self) -> bool {
        false
    }

    /// The shared scans of [`DayContext`] this builder reads. The day
    /// reads each log table once for all the builders of an archive when
    /// they say which scans they use (e.g. the visits and the visit
    /// dimensions in one wide read); a scan used without being declared
    /// is still read, on its own. The default declares none.
    fn shared_scans(&self) -> &'static [SharedScan] {
        &[]
    }

    /// Builds the records of one day from the log tables.
    ///
    /// # Errors
    /// Any database or table error; the archive is then not finalised.
    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError>;

    /// Builds the records of a week, month, year or range from the archives
    /// of its sub-periods. The default aggregates every declared record:
    /// numeric records with their op, blob tables merged by label with the
    /// record's column ops, renamed and truncated again.
    ///
    /// # Errors
    /// Any database or table error.
    fn build_period(&self, ctx: &mut PeriodContext<'_>) -> Result<(), ArchiveError> {
        ctx.aggregate_records(&self.records())
    }
}

/// Makes the builders of one site: parameterized builders (one per goal,
/// one per custom dimension) read the site's configuration here.
pub trait BuilderProvider: Send + Sync {
    /// The builders for `site`.
    fn builders(&self, site: &SiteInfo) -> Vec<Arc<dyn RecordBuilder>>;
}

struct Fixed(Arc<dyn RecordBuilder>);

impl BuilderProvider for Fixed {
    fn builders(&self, _site: &SiteInfo) -> Vec<Arc<dyn RecordBuilder>> {
        vec![Arc::clone(&self.0)]
    }
}

impl<F> BuilderProvider for F
where
    F: Fn(&SiteInfo) -> Vec<Arc<dyn RecordBuilder>> + Send + Sync,
{
    fn builders(&self, site: &SiteInfo) -> Vec<Arc<dyn RecordBuilder>> {
        self(site)
    }
}

/// The builders archiving runs, core ones and any a plugin crate adds.
#[derive(Default)]
pub struct Registry {
    providers: Vec<Box<dyn BuilderProvider>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("providers", &self.providers.len())
            .finish()
    }
}

impl Registry {
    /// A registry without builders.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The core builders of this crate: VisitsSummary, Actions,
    /// UserCountry, UserLanguage, DevicesDetection, Resolution,
    /// DevicePlugins, VisitTime, VisitorInterest, Events, Contents,
    /// PagePerformance, Bandwidth, UserId, CustomVariables, Referrers, Ecommerce, and
    /// per site the custom dimensions and goals.
    pub fn core() -> Self {
        Self::core_with(&crate::ArchivingConfig::default())
    }

    /// [`Registry::core`] with the builders' switches and row limits of
    /// `config` (`disable_archive_actions_goals`,
    /// `datatable_archiving_maximum_rows_*`).
    pub fn core_with(config: &crate::ArchivingConfig) -> Self {
        use crate::builders as b;
        let standard = config.datatable_archiving_maximum_rows_standard;
        let actions = config.datatable_archiving_maximum_rows_actions;
        let subtable_actions = config.datatable_archiving_maximum_rows_subtable_actions;
        let mut registry = Self::empty();
        registry.add(b::VisitsSummary);
        registry.add(b::Actions {
            max_rows: actions,
            max_subtable_rows: subtable_actions,
            max_rows_site_search: config.datatable_archiving_maximum_rows_site_search,
            archive_goals: !config.disable_archive_actions_goals,
            title_delimiter: config.action_title_category_delimiter.clone(),
            ..b::Actions::default()
        });
        registry.add(b::UserCountry { max_rows: standard });
        registry.add(b::UserLanguage { max_rows: standard });
        registry.add(b::DevicesDetection { max_rows: standard });
        registry.add(b::Resolution { max_rows: standard });
        registry.add(b::DevicePlugins);
        registry.add(b::VisitTime);
        registry.add(b::VisitorInterest);
        registry.add(b::Events {
            max_rows: config.datatable_archiving_maximum_rows_events,
            max_subtable_rows: config.datatable_archiving_maximum_rows_subtable_events,
        });
        registry.add(b::Contents {
            max_rows: actions,
            max_subtable_rows: subtable_actions,
        });
        registry.add(b::PagePerformance);
        registry.add(b::Bandwidth);
        registry.add(b::UserId {
            max_rows: config.datatable_archiving_maximum_rows_userid_users,
        });
        registry.add(b::CustomVariables {
            max_rows: config.datatable_archiving_maximum_rows_custom_dimensions,
            max_subtable_rows: config.datatable_archiving_maximum_rows_subtable_custom_dimensions,
        });
        registry.add_provider(b::CustomDimensionsProvider {
            max_rows: config.datatable_archiving_maximum_rows_custom_dimensions,
            max_subtable_rows: config.datatable_archiving_maximum_rows_subtable_custom_dimensions,
        });
        registry.add(b::Referrers {
            max_rows: config.datatable_archiving_maximum_rows_referrers,
            max_subtable_rows: config.datatable_archiving_maximum_rows_subtable_referrers,
        });
        registry.add_provider(b::GoalsProvider);
        registry.add(b::Ecommerce {
            max_rows: config.datatable_archiving_maximum_rows_products,
        });
        registry
    }

    /// Adds one builder that runs for every site.
    pub fn add(&mut self, builder: impl RecordBuilder + 'static) -> &mut Self {
        self.providers.push(Box::new(Fixed(Arc::new(builder))));
        self
    }

    /// Adds a provider of per-site builders (a closure
    /// `Fn(&SiteInfo) -> Vec<Arc<dyn RecordBuilder>>` works).
    pub fn add_provider(&mut self, provider: impl BuilderProvider + 'static) -> &mut Self {
        self.providers.push(Box::new(provider));
        self
    }

    /// Every builder for `site`, in registration order.
    pub fn builders_for(&self, site: &SiteInfo) -> Vec<Arc<dyn RecordBuilder>> {
        self.providers
            .iter()
            .flat_map(|provider| provider.builders(site))
            .collect()
    }
}
