//! `GROUP BY` in memory, answering as MariaDB answers the Matomo-style
//! queries of [`crate::logs`].
//!
//! Those queries group on `CAST(<dimension> AS CHAR)` under the
//! connection's collation, `utf8mb4_general_ci`, and MariaDB returns the
//! groups sorted by those texts. A builder that folds a shared scan
//! instead of sending its own query must give the same groups in the same
//! order, or the rows of its tables come out in another order (which the
//! tables keep when they are not truncated) and case variants of a value
//! ("Foo", "foo") become two rows where Matomo has one. So this module:
//! - compares texts by `utf8mb4_general_ci` weights ([`general_ci_cmp`]):
//!   one weight per character, letters case- and accent-folded, and
//!   `PAD SPACE` (trailing spaces do not count);
//! - groups rows whose keys are equal under those weights, labelling the
//!   group with the first row's text, as MariaDB keeps the first value it
//!   reads;
//! - sorts the groups as `GROUP BY` does: by each key part in turn, NULL
//!   first.
//!
//! Weights are exact for ASCII and Latin-1 letters (the codes, names and
//! values of the log tables are nearly always there); other characters
//! fold through Unicode's simple upper case, which matches the collation's
//! table for most scripts, and characters outside the Basic Multilingual
//! Plane all weigh U+FFFD as in MariaDB.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::logs::{ActionGroup, ActionValuesGroup, VisitDimensions, VisitGroup};

/// The `utf8mb4_general_ci` weight of one character.
pub fn general_ci_weight(c: char) -> u32 {
    let code = u32::from(c);
    if code < 0x80 {
        return u32::from(c.to_ascii_uppercase());
    }
    if code > 0xFFFF {
        return 0xFFFD;
    }
    if (0xC0..=0xFF).contains(&code) {
        return latin1_weight(code);
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(single), None) if u32::from(single) <= 0xFFFF => u32::from(single),
        _ => code,
    }
}

/// Latin-1 letters: accents dropped to the base capital, as the
/// collation's first page does; Æ, Ð, Ø, Þ and the signs keep their own
/// weight, ß weighs as S.
fn latin1_weight(code: u32) -> u32 {
    let base = match code {
        0xC0..=0xC5 | 0xE0..=0xE5 => 'A',
        0xC7 | 0xE7 => 'C',
        0xC8..=0xCB | 0xE8..=0xEB => 'E',
        0xCC..=0xCF | 0xEC..=0xEF => 'I',
        0xD1 | 0xF1 => 'N',
        0xD2..=0xD6 | 0xF2..=0xF6 => 'O',
        0xD9..=0xDC | 0xF9..=0xFC => 'U',
        0xDD | 0xFD | 0xFF => 'Y',
        0xDF => 'S',
        0xE6 => '\u{C6}',
        0xF0 => '\u{D0}',
        0xF8 => '\u{D8}',
        0xFE => '\u{DE}',
        _ => return code,
    };
    u32::from(base)
}

/// The weights of `text` without its trailing spaces: equal for texts the
/// collation calls equal.
fn weights(text: &str) -> Vec<u32> {
    let mut out: Vec<u32> = text.chars().map(general_ci_weight).collect();
    while out.last() == Some(&u32::from(b' ')) {
        out.pop();
    }
    out
}

/// Compares weight sequences as `PAD SPACE` does: the shorter one goes on
/// with spaces.
fn cmp_weights(a: &[u32], b: &[u32]) -> Ordering {
    let space = u32::from(b' ');
    for i in 0..a.len().max(b.len()) {
        let left = a.get(i).copied().unwrap_or(space);
        let right = b.get(i).copied().unwrap_or(space);
        match left.cmp(&right) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

/// Orders two texts as `utf8mb4_general_ci` does.
pub fn general_ci_cmp(a: &str, b: &str) -> Ordering {
    cmp_weights(&weights(a), &weights(b))
}

/// The text that stands for `text` in a set of distinct values under the
/// collation (`COUNT(DISTINCT ...)`): equal for equal texts.
pub fn general_ci_key(text: &str) -> String {
    weights(text)
        .into_iter()
        .map(|w| char::from_u32(w).unwrap_or('\u{FFFD}'))
        .collect()
}

/// The key of one row: its dimension values as `CAST(... AS CHAR)` gives
/// them, written into a reused buffer so that a row of a known group
/// costs one hash lookup and no allocation.
#[derive(Debug, Default)]
pub struct KeyBuf {
    bytes: Vec<u8>,
    parts: usize,
}

const NULL_PART: u8 = 0;
const TEXT_PART: u8 = 1;

impl KeyBuf {
    fn clear(&mut self) {
        self.bytes.clear();
        self.parts = 0;
    }

    /// Appends one dimension value (`None` for SQL NULL).
    pub fn push(&mut self, value: Option<&str>) {
        match value {
            None => self.push_null(),
            Some(text) => self.push_parts(&[text]),
        }
    }

    fn push_null(&mut self) {
        self.bytes.push(NULL_PART);
        self.parts += 1;
    }

    /// Appends the text made of `parts`, written straight into the key
    /// (keys are built once per row and report: no `String` on the way).
    fn push_parts(&mut self, parts: &[&str]) {
        let len: usize = parts.iter().map(|part| part.len()).sum();
        self.bytes.push(TEXT_PART);
        self.bytes.extend_from_slice(&(len as u64).to_le_bytes());
        for part in parts {
            self.bytes.extend_from_slice(part.as_bytes());
        }
        self.parts += 1;
    }

    /// Appends a number as `CAST(<number> AS CHAR)` writes it.
    pub fn push_int(&mut self, value: Option<i64>) {
        use std::io::Write as _;
        let Some(number) = value else {
            return self.push_null();
        };
        // The longest i64 ("-9223372036854775808") is 20 bytes.
        let mut digits = [0u8; 20];
        let mut cursor = std::io::Cursor::new(&mut digits[..]);
        let written = write!(cursor, "{number}").is_ok();
        let len = usize::try_from(cursor.position()).unwrap_or(0);
        let text = std::str::from_utf8(&digits[..len]).unwrap_or_default();
        debug_assert!(written, "an i64 fits in 20 bytes");
        self.push_parts(&[text]);
    }

    /// Appends `CONCAT(parts...)`: NULL when any part is NULL.
    pub fn push_concat(&mut self, parts: &[Option<&str>]) {
        let mut texts: [&str; 8] = [""; 8];
        if parts.len() > texts.len() {
            // Longer CONCATs are not used by the core reports; join them.
            let joined: Option<String> = parts.iter().copied().collect();
            return self.push(joined.as_deref());
        }
        for (slot, part) in texts.iter_mut().zip(parts) {
            match part {
                Some(text) => *slot = text,
                None => return self.push_null(),
            }
        }
        self.push_parts(&texts[..parts.len()]);
    }

    /// The values back, as the group's labels.
    fn decode(&self) -> Vec<Option<String>> {
        let mut out = Vec::with_capacity(self.parts);
        let mut rest = self.bytes.as_slice();
        while let Some((&tag, after)) = rest.split_first() {
            if tag == NULL_PART {
                out.push(None);
                rest = after;
                continue;
            }
            let (len, after) = after.split_at(8);
            let len =
                usize::try_from(u64::from_le_bytes(len.try_into().unwrap_or([0; 8]))).unwrap_or(0);
            let (text, after) = after.split_at(len);
            out.push(Some(String::from_utf8_lossy(text).into_owned()));
            rest = after;
        }
        out
    }
}

/// The collation weights of a key: one per part, `None` for NULL.
type Weights = Vec<Option<Vec<u32>>>;

/// Groups and their accumulators, keyed as MariaDB keys `GROUP BY` over
/// text columns.
#[derive(Debug)]
pub struct Groups<A> {
    key: KeyBuf,
    /// The exact bytes of keys seen so far.
    exact: HashMap<Vec<u8>, usize>,
    /// The collation weights of each group's key.
    folded: HashMap<Weights, usize>,
    labels: Vec<Vec<Option<String>>>,
    weights: Vec<Weights>,
    accumulators: Vec<A>,
}

impl<A: Default> Default for Groups<A> {
    fn default() -> Self {
        Self {
            key: KeyBuf::default(),
            exact: HashMap::new(),
            folded: HashMap::new(),
            labels: Vec::new(),
            weights: Vec::new(),
            accumulators: Vec::new(),
        }
    }
}

impl<A: Default> Groups<A> {
    /// The accumulator of the group of the key `fill` writes; `fill`
    /// returns `false` to leave the row out (a `WHERE` condition), and
    /// then nothing is returned.
    pub fn entry(&mut self, fill: impl FnOnce(&mut KeyBuf) -> bool) -> Option<&mut A> {
        self.key.clear();
        if !fill(&mut self.key) {
            return None;
        }
        let index = match self.exact.get(self.key.bytes.as_slice()) {
            Some(&index) => index,
            None => {
                let labels = self.key.decode();
                let folded: Weights = labels
                    .iter()
                    .map(|label| label.as_deref().map(weights))
                    .collect();
                let index = match self.folded.get(&folded) {
                    Some(&index) => index,
                    None => {
                        let index = self.labels.len();
                        self.folded.insert(folded.clone(), index);
                        self.labels.push(labels);
                        self.weights.push(folded);
                        self.accumulators.push(A::default());
                        index
                    }
                };
                self.exact.insert(self.key.bytes.clone(), index);
                index
            }
        };
        self.accumulators.get_mut(index)
    }

    /// The groups in `GROUP BY` order: each key part in turn, NULL first.
    pub fn into_sorted(self) -> Vec<(Vec<Option<String>>, A)> {
        let mut groups: Vec<(Weights, Vec<Option<String>>, A)> = self
            .weights
            .into_iter()
            .zip(self.labels)
            .zip(self.accumulators)
            .map(|((weights, labels), accumulator)| (weights, labels, accumulator))
            .collect();
        groups.sort_by(|(a, _, _), (b, _, _)| {
            for (left, right) in a.iter().zip(b) {
                let ordering = match (left, right) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(left), Some(right)) => cmp_weights(left, right),
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            Ordering::Equal
        });
        groups
            .into_iter()
            .map(|(_, labels, accumulator)| (labels, accumulator))
            .collect()
    }
}

/// What a visit adds to the 8 visit metrics of
/// [`crate::LogAggregator::query_visits_by_dimension`].
#[derive(Debug, Clone, Copy)]
pub struct VisitFacts<'a> {
    /// `idvisitor`.
    pub idvisitor: u64,
    /// `user_id`.
    pub user_id: Option<&'a str>,
    /// `visit_total_actions`.
    pub total_actions: Option<u32>,
    /// `visit_total_time`.
    pub total_time: u32,
    /// `visit_goal_converted = 1`.
    pub converted: bool,
}

/// The sums of one visit group.
#[derive(Debug, Default)]
pub struct VisitAccumulator {
    visitors: HashSet<u64>,
    users: HashSet<String>,
    visits: u64,
    actions: u64,
    max_actions: u64,
    length: u64,
    bounces: u64,
    converted: u64,
}

impl VisitAccumulator {
    /// Adds one visit.
    pub fn add(&mut self, visit: &VisitFacts<'_>) {
        self.visitors.insert(visit.idvisitor);
        if let Some(user) = visit.user_id {
            // COUNT(DISTINCT user_id) compares under the collation.
            if !self.users.contains(user) {
                self.users.insert(general_ci_key(user));
            }
        }
        self.visits += 1;
        if let Some(actions) = visit.total_actions {
            let actions = u64::from(actions);
            self.actions += actions;
            self.max_actions = self.max_actions.max(actions);
            if actions <= 1 {
                self.bounces += 1;
            }
        }
        self.length += u64::from(visit.total_time);
        if visit.converted {
            self.converted += 1;
        }
    }

    fn into_group(self, labels: Vec<Option<String>>) -> VisitGroup {
        VisitGroup {
            labels,
            nb_uniq_visitors: self.visitors.len() as u64,
            nb_visits: self.visits,
            nb_actions: self.actions,
            nb_users: self.users.len() as u64,
            max_actions: self.max_actions,
            sum_visit_length: self.length,
            bounce_count: self.bounces,
            nb_visits_converted: self.converted,
        }
    }
}

/// `query_visits_by_dimension_where` over rows already read: `key` writes
/// a row's dimension values (returning `false` to leave the row out) and
/// `facts` gives its metrics. Same groups, metrics and order as the query.
pub fn group_visits<'r, R: 'r>(
    rows: impl IntoIterator<Item = &'r R>,
    facts: impl Fn(&'r R) -> VisitFacts<'r>,
    mut key: impl FnMut(&'r R, &mut KeyBuf) -> bool,
) -> Vec<VisitGroup> {
    let mut groups: Groups<VisitAccumulator> = Groups::default();
    for row in rows {
        if let Some(accumulator) = groups.entry(|buf| key(row, buf)) {
            accumulator.add(&facts(row));
        }
    }
    groups
        .into_sorted()
        .into_iter()
        .map(|(labels, accumulator)| accumulator.into_group(labels))
        .collect()
}

/// [`group_visits`] over the shared visit dimension scan.
pub fn group_visit_dimensions(
    rows: &[VisitDimensions],
    key: impl FnMut(&VisitDimensions, &mut KeyBuf) -> bool,
) -> Vec<VisitGroup> {
    group_visits(rows, VisitDimensions::facts, key)
}

/// The sums of one action group: distinct visits and visitors, hits.
#[derive(Debug, Default)]
pub struct ActionAccumulator {
    visits: HashSet<u64>,
    visitors: HashSet<u64>,
    hits: u64,
}

impl ActionAccumulator {
    /// Adds one action of `idvisit` by `idvisitor`.
    pub fn add(&mut self, idvisit: u64, idvisitor: u64) {
        self.visits.insert(idvisit);
        self.visitors.insert(idvisitor);
        self.hits += 1;
    }

    /// The group with these labels and `values` (the aggregates of
    /// [`crate::LogAggregator::query_action_values`]).
    pub fn into_values_group(
        self,
        labels: Vec<Option<String>>,
        values: Vec<Option<f64>>,
    ) -> ActionValuesGroup {
        ActionValuesGroup {
            labels,
            nb_visits: self.visits.len() as u64,
            nb_uniq_visitors: self.visitors.len() as u64,
            nb_hits: self.hits,
            values,
        }
    }

    /// The group with these labels.
    pub fn into_group(self, labels: Vec<Option<String>>) -> ActionGroup {
        ActionGroup {
            labels,
            nb_visits: self.visits.len() as u64,
            nb_uniq_visitors: self.visitors.len() as u64,
            nb_hits: self.hits,
        }
    }
}

/// `query_actions_by_dimension_where` over rows already read: `ids` gives
/// a row's `(idvisit, idvisitor)`, `key` its dimension values (or `false`
/// to leave it out).
pub fn group_actions<'r, R: 'r>(
    rows: impl IntoIterator<Item = &'r R>,
    ids: impl Fn(&'r R) -> (u64, u64),
    mut key: impl FnMut(&'r R, &mut KeyBuf) -> bool,
) -> Vec<ActionGroup> {
    let mut groups: Groups<ActionAccumulator> = Groups::default();
    for row in rows {
        if let Some(accumulator) = groups.entry(|buf| key(row, buf)) {
            let (idvisit, idvisitor) = ids(row);
            accumulator.add(idvisit, idvisitor);
        }
    }
    groups
        .into_sorted()
        .into_iter()
        .map(|(labels, accumulator)| accumulator.into_group(labels))
        .collect()
}

/// The statistics of one value over a group's actions, as the SQL
/// `SUM(COALESCE(v, 0))`, `SUM(v IS NOT NULL)`, `MIN(v)`, `MAX(v)` give
/// them (Events' value columns).
#[derive(Debug, Default)]
struct ValueStats {
    sum: f64,
    count: u64,
    min: Option<f64>,
    max: Option<f64>,
}

impl ValueStats {
    fn add(&mut self, value: Option<f64>) {
        if let Some(value) = value {
            self.sum += value;
            self.count += 1;
            self.min = Some(self.min.map_or(value, |min| min.min(value)));
            self.max = Some(self.max.map_or(value, |max| max.max(value)));
        }
    }
}

/// `query_action_values` over rows already read: `ids` gives a row's
/// `(idvisit, idvisitor)`, `key` its dimension values (or `false` to leave
/// it out), and `value`, when given, the value whose sum, count, minimum
/// and maximum become the group's four values (in that order); without
/// it the groups have no values.
pub fn group_action_values<'r, R: 'r>(
    rows: impl IntoIterator<Item = &'r R>,
    ids: impl Fn(&'r R) -> (u64, u64),
    mut key: impl FnMut(&'r R, &mut KeyBuf) -> bool,
    value: Option<&dyn Fn(&'r R) -> Option<f64>>,
) -> Vec<ActionValuesGroup> {
    let mut groups: Groups<(ActionAccumulator, ValueStats)> = Groups::default();
    for row in rows {
        if let Some((accumulator, stats)) = groups.entry(|buf| key(row, buf)) {
            let (idvisit, idvisitor) = ids(row);
            accumulator.add(idvisit, idvisitor);
            if let Some(value) = value {
                stats.add(value(row));
            }
        }
    }
    groups
        .into_sorted()
        .into_iter()
        .map(|(labels, (accumulator, stats))| {
            let values = if value.is_some() {
                vec![
                    Some(stats.sum),
                    Some(stats.count as f64),
                    stats.min,
                    stats.max,
                ]
            } else {
                Vec::new()
            };
            accumulator.into_values_group(labels, values)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collation_folds_case_accents_and_trailing_spaces() {
        assert_eq!(general_ci_cmp("foo", "FOO"), Ordering::Equal);
        assert_eq!(general_ci_cmp("café", "CAFE"), Ordering::Equal);
        assert_eq!(general_ci_cmp("straße", "STRASSE"), Ordering::Less);
        assert_eq!(general_ci_cmp("strasse", "straße"), Ordering::Greater);
        assert_eq!(general_ci_cmp("a  ", "a"), Ordering::Equal);
        // PAD SPACE: "a" is "a " against "a\t", and a tab sorts first.
        assert_eq!(general_ci_cmp("a\t", "a"), Ordering::Less);
        // Text order, not number order: CAST(... AS CHAR) of an hour.
        assert_eq!(general_ci_cmp("10", "2"), Ordering::Less);
        assert_eq!(general_ci_cmp("_x", "ax"), Ordering::Greater);
        assert_eq!(general_ci_cmp("😀", "😎"), Ordering::Equal);
    }

    fn visit(
        idvisitor: u64,
        user: Option<&'static str>,
        actions: Option<u32>,
    ) -> VisitFacts<'static> {
        VisitFacts {
            idvisitor,
            user_id: user,
            total_actions: actions,
            total_time: 10,
            converted: idvisitor == 1,
        }
    }

    #[test]
    fn visits_group_as_mariadb_groups_them() {
        let rows: Vec<(Option<&str>, VisitFacts<'static>)> = vec![
            (Some("foo"), visit(1, Some("Bob"), Some(3))),
            (None, visit(2, None, None)),
            (Some("Foo"), visit(1, Some("bob"), Some(1))),
            (Some("bar"), visit(3, Some("ann"), Some(0))),
            (Some("éa"), visit(4, None, Some(2))),
        ];
        let groups = group_visits(
            &rows,
            |(_, facts)| *facts,
            |(label, _), key| {
                key.push(*label);
                true
            },
        );
        let labels: Vec<Option<&str>> = groups
            .iter()
            .map(|group| group.labels[0].as_deref())
            .collect();
        // NULL first, then BAR < EA < FOO; the first "foo" names its group.
        assert_eq!(labels, [None, Some("bar"), Some("éa"), Some("foo")]);
        let foo = &groups[3];
        assert_eq!(foo.nb_visits, 2);
        assert_eq!(foo.nb_uniq_visitors, 1);
        assert_eq!(
            foo.nb_users, 1,
            "Bob and bob are one user under the collation"
        );
        assert_eq!(foo.nb_actions, 4);
        assert_eq!(foo.max_actions, 3);
        assert_eq!(foo.bounce_count, 1);
        assert_eq!(foo.sum_visit_length, 20);
        assert_eq!(foo.nb_visits_converted, 2);
        let null = &groups[0];
        assert_eq!(
            (null.nb_actions, null.bounce_count, null.nb_users),
            (0, 0, 0)
        );
        assert_eq!(groups[1].bounce_count, 1, "0 actions is a bounce");
    }

    #[test]
    fn concat_is_null_when_a_part_is_and_rows_can_be_left_out() {
        let rows = [(Some("a"), Some("1")), (Some("a"), None), (None, Some("1"))];
        let groups = group_actions(
            &rows,
            |_| (1, 1),
            |(left, right), key| {
                if left.is_none() {
                    return false;
                }
                key.push_concat(&[*left, Some(";"), *right]);
                key.push_int(Some(7));
                true
            },
        );
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].labels, [None, Some("7".to_owned())]);
        assert_eq!(
            groups[1].labels,
            [Some("a;1".to_owned()), Some("7".to_owned())]
        );
        assert_eq!(groups[1].nb_hits, 1);
    }
}
