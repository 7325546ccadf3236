//! `idSubtable` and `depth` of the table reports, as Matomo's
//! `Archive::createDataTableFromArchive` reads them.
//!
//! - `idSubtable=N` answers subtable N (an id no row has: an empty table);
//!   `idSubtable=all` answers the top-level table, as an absent
//!   `idSubtable`, except with `expanded=1`, where Matomo looks for a
//!   record named `<record>_all` and finds nothing: an empty table. Any
//!   other non-numeric value is refused with Matomo's message.
//! - `depth` (`Actions.getPageUrls` only) limits how many levels of
//!   subtables an expanded table loads (`DataTableFactory::setSubtables`):
//!   rows at level `depth` (the top level is 0) lose their subtable and
//!   their `idsubdatatable`. It applies when the table is expanded, by
//!   `expanded=1` or by `flat=1` without `idSubtable`.

use tally_datatable::DataTable;

use crate::ReportingError;

/// The `idSubtable` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdSubtable {
    /// Absent or empty.
    None,
    /// `all`.
    All,
    /// A subtable id.
    Id(u32),
    /// A value Matomo accepts but that names no stored subtable (`1.5`,
    /// `-2`, `ALL`…): the answer is an empty table.
    Unknown,
}

impl IdSubtable {
    /// Reads `idSubtable`.
    ///
    /// # Errors
    ///
    /// [`ReportingError::NotSupported`] with Matomo's message for a value
    /// that is neither a number nor `all`.
    pub(crate) fn parse(raw: Option<&str>) -> Result<Self, ReportingError> {
        let Some(raw) = raw.filter(|raw| !raw.is_empty()) else {
            return Ok(Self::None);
        };
        if raw == "all" {
            return Ok(Self::All);
        }
        if let Ok(id) = raw.parse::<u32>() {
            return Ok(Self::Id(id));
        }
        if raw.eq_ignore_ascii_case("all") || php_numeric(raw).is_some() {
            return Ok(Self::Unknown);
        }
        Err(ReportingError::NotSupported(format!(
            "idSubtable needs to be a number or 'all', '{raw}' given."
        )))
    }

    /// Whether a subtable (not the top-level table) is answered.
    pub(crate) fn is_subtable(self) -> bool {
        matches!(self, Self::Id(_) | Self::Unknown)
    }
}

/// PHP's `is_numeric` (leading and trailing whitespace allowed), as a
/// number.
fn php_numeric(raw: &str) -> Option<f64> {
    let trimmed = raw.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if trimmed.is_empty()
        || !trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    trimmed
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
}

/// The `depth` parameter: `None` loads every level.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Depth {
    /// Absent, empty or `0` (PHP-falsy): every level.
    All,
    /// A number: rows at a level `>=` it lose their subtables.
    Number(f64),
    /// A non-numeric text: PHP 8 compares the level with it as strings.
    Text(String),
}

impl Depth {
    /// Reads `depth`.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        match raw {
            None | Some("" | "0") => Self::All,
            Some(raw) => match php_numeric(raw) {
                Some(number) => Self::Number(number),
                None => Self::Text(raw.to_owned()),
            },
        }
    }

    /// Whether the subtables of the rows at `level` are dropped.
    fn cuts(&self, level: usize) -> bool {
        match self {
            Self::All => false,
            #[expect(
                clippy::cast_precision_loss,
                reason = "tree levels are tiny; PHP compares them as numbers too"
            )]
            Self::Number(depth) => level as f64 >= *depth,
            Self::Text(text) => level.to_string().as_str() >= text.as_str(),
        }
    }

    /// Drops the subtables below the depth (`DataTableFactory::setSubtables`).
    pub(crate) fn apply(&self, table: &mut DataTable) {
        if *self != Self::All {
            cut(table, self, 0);
        }
    }
}

fn cut(table: &mut DataTable, depth: &Depth, level: usize) {
    let drop_here = depth.cuts(level);
    for row in table.rows_mut() {
        if drop_here {
            row.subtable = None;
            row.subtable_id = None;
        } else if let Some(subtable) = row.subtable.as_deref_mut() {
            cut(subtable, depth, level + 1);
        }
    }
    if drop_here && let Some(summary) = table.summary_row_mut() {
        summary.subtable = None;
        summary.subtable_id = None;
    }
}

#[cfg(test)]
mod tests {
    use tally_datatable::Row;

    use super::*;

    #[test]
    fn id_subtable_values() {
        assert_eq!(IdSubtable::parse(None).unwrap(), IdSubtable::None);
        assert_eq!(IdSubtable::parse(Some("")).unwrap(), IdSubtable::None);
        assert_eq!(IdSubtable::parse(Some("all")).unwrap(), IdSubtable::All);
        assert_eq!(IdSubtable::parse(Some("7")).unwrap(), IdSubtable::Id(7));
        for unknown in ["ALL", "1.5", "-2", " 3"] {
            assert_eq!(
                IdSubtable::parse(Some(unknown)).unwrap(),
                IdSubtable::Unknown,
                "{unknown}"
            );
        }
        assert_eq!(
            IdSubtable::parse(Some("undefined"))
                .unwrap_err()
                .to_string(),
            "idSubtable needs to be a number or 'all', 'undefined' given."
        );
    }

    fn tree() -> DataTable {
        let leaf = DataTable::from_rows([Row::new("/c").with(2u16, 1)]);
        let mut middle_row = Row::new("b").with(2u16, 1).with_subtable(leaf);
        middle_row.subtable_id = Some(2);
        let middle = DataTable::from_rows([middle_row]);
        let mut top_row = Row::new("a").with(2u16, 1).with_subtable(middle);
        top_row.subtable_id = Some(1);
        DataTable::from_rows([top_row])
    }

    fn levels(table: &DataTable) -> usize {
        table
            .all_rows()
            .filter_map(|row| row.subtable.as_deref())
            .map(|subtable| 1 + levels(subtable))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn depth_drops_subtables_from_that_level_on() {
        for (raw, expected) in [
            (None, 2),
            (Some("0"), 2),
            (Some("2"), 2),
            (Some("1"), 1),
            (Some("1.5"), 2),
            (Some("0.0"), 0),
            (Some("-1"), 0),
            // PHP 8: "0" >= "abc" is false as strings, at every level.
            (Some("abc"), 2),
        ] {
            let mut table = tree();
            Depth::parse(raw).apply(&mut table);
            assert_eq!(levels(&table), expected, "{raw:?}");
        }
        let mut table = tree();
        Depth::parse(Some("1")).apply(&mut table);
        let b = &table.rows()[0].subtable.as_deref().unwrap().rows()[0];
        assert_eq!((b.subtable_id, b.subtable.is_none()), (None, true));
        assert_eq!(table.rows()[0].subtable_id, Some(1));
    }
}
