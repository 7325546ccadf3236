//! UserId: visits per user id (MATOMO.md section 7.5; Matomo's
//! `plugins/UserId/RecordBuilders/Users.php`).

use std::collections::HashMap;

use tally_datatable::{DataTable, Scalar};

use crate::ArchiveError;
use crate::builders::{label_of, sql_empty, sum_visits};
use crate::context::{DayContext, SharedScan};
use crate::grouping::group_visit_dimensions;
use crate::record::{Record, RecordBuilder};

/// [`UserId::USERS`]: one row per user id (the label) with the 8 visit
/// metrics keyed by id (1, 2, 3, 39, 4, 5, 6, 7) and the metadata
/// `idvisitor`, a visitor id of the user as 16 lowercase hex digits.
/// Visits without a user id (NULL, or `''` as SQL compares it) are left
/// out. Longer periods use the default aggregation (standard renames; the
/// metadata of the first day with visits, as Matomo's `sumRowMetadata`).
///
/// Differences from Matomo: Matomo's query takes the `idvisitor` of an
/// arbitrary visit of the user (MySQL's choice for a column outside the
/// GROUP BY); here it is the visitor id with the most visits of the user
/// that day, the smallest hex text on a tie. With Matomo's default
/// `enable_userid_overwrites_visitorid = 1` all visits of a user share one
/// visitor id, and both agree. No ranking query (Matomo keeps the top
/// 50,000 users in SQL; [`UserId::max_rows`] is 50,000 too, so only the
/// content of "Others" can differ).
#[derive(Debug, Clone)]
pub struct UserId {
    /// Top-level rows (`datatable_archiving_maximum_rows_userid_users`,
    /// default 50,000).
    pub max_rows: usize,
}

impl Default for UserId {
    fn default() -> Self {
        Self { max_rows: 50_000 }
    }
}

impl UserId {
    /// Visits per user id.
    pub const USERS: &'static str = "UserId_users";
    /// The metadata holding the user's visitor id.
    pub const VISITOR_ID: &'static str = "idvisitor";
}

/// `LOWER(HEX(bytes))`: the visitor id label of Matomo's query.
fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl RecordBuilder for UserId {
    fn plugin(&self) -> &str {
        "UserId"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn records(&self) -> Vec<Record> {
        vec![Record::blob(Self::USERS).max_rows(self.max_rows, 0)]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let visits = ctx.visit_dimensions()?;
        // Visits with a user id (Matomo's `user_id != ''`), grouped from
        // the shared visit scan.
        let groups = group_visit_dimensions(&visits, |v, key| {
            key.push(v.user_id.as_deref());
            !sql_empty(v.user_id.as_deref())
        });
        let mut table = DataTable::new();
        for group in &groups {
            let user = group.labels.first().and_then(Option::as_deref);
            if sql_empty(user) {
                continue;
            }
            sum_visits(&mut table, label_of(&group.labels, 0), group)?;
        }
        if table.rows_count() == 0 {
            return Ok(());
        }
        // A second GROUP BY for the visitor ids: grouping the metrics by
        // user and visitor would count one user per visitor in nb_users.
        let pairs = group_visit_dimensions(&visits, |v, key| {
            key.push(v.user_id.as_deref());
            key.push(Some(&lower_hex(&v.idvisitor_bytes)));
            !sql_empty(v.user_id.as_deref())
        });
        let mut visitors: HashMap<&str, (u64, &str)> = HashMap::new();
        for pair in &pairs {
            let (user, visitor) = (label_of(&pair.labels, 0), label_of(&pair.labels, 1));
            if visitor.is_empty() {
                continue;
            }
            let best = visitors.entry(user).or_insert((pair.nb_visits, visitor));
            if (pair.nb_visits, std::cmp::Reverse(visitor)) > (best.0, std::cmp::Reverse(best.1)) {
                *best = (pair.nb_visits, visitor);
            }
        }
        for row in table.rows_mut() {
            if let Some((_, visitor)) = visitors.get(row.label.as_str()) {
                row.metadata
                    .set(Self::VISITOR_ID.to_owned(), Scalar::from(*visitor));
            }
        }
        ctx.insert_table(Self::USERS, table);
        Ok(())
    }
}
