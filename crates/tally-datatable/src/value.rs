//! Column keys, column values and the small insertion-ordered map rows use.

use std::borrow::{Borrow, Cow};

use serde::{Deserialize, Serialize};

use crate::metrics;

/// The key of a metric column: a Matomo metric id (archives) or a name (API).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub enum ColumnKey {
    /// A metric id from [`crate::metrics`] (or a goal metric id inside `goals`).
    Id(u16),
    /// A column name such as `nb_visits` or a plugin-specific metric.
    Name(String),
}

impl ColumnKey {
    /// Parses an API column reference: digits become an id, anything else a name.
    pub fn parse(text: &str) -> Self {
        match text.parse::<u16>() {
            Ok(id) if !text.starts_with('+') => Self::Id(id),
            _ => Self::Name(text.to_owned()),
        }
    }

    /// The name the API shows for this key (`ReplaceColumnNames`).
    ///
    /// Ids without a name render as their number, as PHP does for unknown keys.
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Self::Id(id) => match metrics::metric_name(*id) {
                Some(name) => Cow::Borrowed(name),
                None => Cow::Owned(id.to_string()),
            },
            Self::Name(name) => Cow::Borrowed(name),
        }
    }

    /// The name the API shows for this key inside a `goals` entry.
    pub fn goal_name(&self) -> Cow<'_, str> {
        match self {
            Self::Id(id) => match metrics::goal_metric_name(*id) {
                Some(name) => Cow::Borrowed(name),
                None => Cow::Owned(id.to_string()),
            },
            Self::Name(name) => Cow::Borrowed(name),
        }
    }

    /// Whether this key names metric `id`, either by id or by its name.
    pub fn is_metric(&self, id: u16) -> bool {
        match self {
            Self::Id(own) => *own == id,
            // By id: one array index and one compare, not a search of
            // every metric name (this runs per column of every merged row).
            Self::Name(name) => metrics::metric_name(id) == Some(name.as_str()),
        }
    }
}

impl From<u16> for ColumnKey {
    fn from(id: u16) -> Self {
        Self::Id(id)
    }
}

impl From<&str> for ColumnKey {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<String> for ColumnKey {
    fn from(name: String) -> Self {
        Self::Name(name)
    }
}

/// A scalar value: what goal metrics and metadata hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub enum Scalar {
    /// An integer (PHP int).
    Int(i64),
    /// A float (PHP float).
    Float(f64),
    /// A string (PHP string).
    Str(String),
}

/// A column value. Matomo columns are mixed: ints, floats, strings, and the
/// nested `goals` array.
///
/// Stored as bincode would derive it (variant index, then the value), plus
/// one more stored variant, 5: a float that is a whole number of
/// thousandths (page timings in seconds) is written as that number, which
/// reads back as the same float bit for bit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// An integer (PHP int).
    Int(i64),
    /// A float (PHP float).
    Float(f64),
    /// A string (PHP string).
    Str(String),
    /// The nested per-goal metrics of column 10 (`goals`).
    Goals(Goals),
    /// PHP `false`: a pivot table's cell for a column the row's subtable
    /// has no row for (`PivotByDimension` fills its default row with
    /// `false`). JSON writes `false`, XML and CSV write `0`; sorting treats
    /// it as having no value, arithmetic as 0.
    False,
    /// PHP `null`: the event value bounds of rows whose events carry no
    /// value (Matomo 5.1 stores `min_event_value`/`max_event_value` as
    /// NULL there). JSON writes `null`, XML an empty element, CSV an empty
    /// cell; `min`/`max` aggregation takes the other side's value.
    Null,
    /// A MySQL `DECIMAL` with four decimals as PHP receives it: a numeric
    /// string such as `"0.0620"`. Matomo's page timing columns are
    /// `sum(ms) / 1000`, `min(ms) / 1000` and `max(ms) / 1000`, which it
    /// keeps as those strings until PHP arithmetic turns them into floats:
    /// a day's page rows show `0.0620`, a sum of two rows `0.082`, and
    /// `min`/`max` keep the winning string. Holds the thousandths (the
    /// milliseconds); renders as the string, computes as the float.
    Decimal4(i64),
}

/// The stored variant index of a float kept as thousandths. The page
/// timing columns are sums, minimums and maximums of milliseconds shown in
/// seconds (`ms / 1000`): as `f64` their 8 bytes barely compress; as a
/// varint count of milliseconds they take 1, 3 or 5, which made a page URL
/// report's stored bytes 19% smaller and leaves less to inflate and to
/// deflate for every week and month built from the table.
pub(crate) const MILLIS_VARIANT: u32 = 5;

/// The stored variant index of [`Value::Goals`] (bincode's, the fourth).
pub(crate) const GOALS_VARIANT: u32 = 3;

/// The stored variant index of [`Value::Null`], added after the others so
/// that archives written before it still decode.
pub(crate) const NULL_VARIANT: u32 = 6;

/// The stored variant index of [`Value::Decimal4`]: its thousandths as a
/// varint, as compact as [`MILLIS_VARIANT`].
pub(crate) const DECIMAL4_VARIANT: u32 = 7;

/// The text of a [`Value::Decimal4`]: `-1.2340`, `0.0620`.
pub(crate) fn decimal4_text(thousandths: i64) -> String {
    let sign = if thousandths < 0 { "-" } else { "" };
    let magnitude = thousandths.unsigned_abs();
    format!("{sign}{}.{:03}0", magnitude / 1000, magnitude % 1000)
}

/// `value` as a count of thousandths when that count, divided by 1000 as
/// `f64`, gives back exactly the same bits (so decoding is lossless); a
/// sum of such values usually is not, and stays an `f64`.
pub(crate) fn as_millis(value: f64) -> Option<i64> {
    let scaled = (value * 1000.0).round();
    // Counts from 2^31 on take at least 9 bytes as varints: no gain over
    // the float's 8 (this also keeps NaN and the infinities floats).
    if scaled.is_nan() || scaled.abs() >= 2_147_483_648.0 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "checked to be an integer below 2^31"
    )]
    let millis = scaled as i64;
    (from_millis(millis).to_bits() == value.to_bits()).then_some(millis)
}

/// The float a count of thousandths stands for ([`as_millis`]).
pub(crate) fn from_millis(millis: i64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "stored counts are below 2^31")]
    let millis = millis as f64;
    millis / 1000.0
}

impl bincode::Encode for Value {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        encoder: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        match self {
            Self::Int(value) => {
                0u32.encode(encoder)?;
                value.encode(encoder)
            }
            Self::Float(value) => match as_millis(*value) {
                Some(millis) => {
                    MILLIS_VARIANT.encode(encoder)?;
                    millis.encode(encoder)
                }
                None => {
                    1u32.encode(encoder)?;
                    value.encode(encoder)
                }
            },
            Self::Str(value) => {
                2u32.encode(encoder)?;
                value.encode(encoder)
            }
            Self::Goals(value) => {
                GOALS_VARIANT.encode(encoder)?;
                value.encode(encoder)
            }
            Self::False => 4u32.encode(encoder),
            Self::Null => NULL_VARIANT.encode(encoder),
            Self::Decimal4(thousandths) => {
                DECIMAL4_VARIANT.encode(encoder)?;
                thousandths.encode(encoder)
            }
        }
    }
}

impl<Context> bincode::Decode<Context> for Value {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        Ok(match u32::decode(decoder)? {
            0 => Self::Int(i64::decode(decoder)?),
            1 => Self::Float(f64::decode(decoder)?),
            2 => Self::Str(String::decode(decoder)?),
            GOALS_VARIANT => Self::Goals(Goals::decode(decoder)?),
            4 => Self::False,
            MILLIS_VARIANT => Self::Float(from_millis(i64::decode(decoder)?)),
            NULL_VARIANT => Self::Null,
            DECIMAL4_VARIANT => Self::Decimal4(i64::decode(decoder)?),
            found => {
                return Err(bincode::error::DecodeError::UnexpectedVariant {
                    type_name: "Value",
                    allowed: &bincode::error::AllowedEnumVariants::Range { min: 0, max: 7 },
                    found,
                });
            }
        })
    }
}

bincode::impl_borrow_decode!(Value);

/// A number as PHP arithmetic sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            // i64 → f64 loses precision only beyond 2^53, as in PHP.
            #[expect(clippy::cast_precision_loss, reason = "PHP int to float conversion")]
            Self::Int(value) => value as f64,
            Self::Float(value) => value,
        }
    }

    /// PHP `+`: ints stay ints until they overflow, then become floats.
    pub(crate) fn add(self, other: Self) -> Self {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => match a.checked_add(b) {
                Some(sum) => Self::Int(sum),
                None => Self::Float(self.as_f64() + other.as_f64()),
            },
            _ => Self::Float(self.as_f64() + other.as_f64()),
        }
    }

    pub(crate) fn cmp_value(self, other: Self) -> std::cmp::Ordering {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => a.cmp(&b),
            _ => self.as_f64().total_cmp(&other.as_f64()),
        }
    }
}

/// Parses a PHP numeric string (`is_numeric`): optional leading whitespace,
/// sign, digits with an optional fraction and exponent.
pub(crate) fn parse_numeric(text: &str) -> Option<Number> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let trimmed = trimmed.trim_end_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if trimmed.is_empty() {
        return None;
    }
    let body = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let mut seen_digit = false;
    let mut chars = body.chars().peekable();
    while chars.peek().is_some_and(char::is_ascii_digit) {
        chars.next();
        seen_digit = true;
    }
    let mut is_float = false;
    if chars.peek() == Some(&'.') {
        chars.next();
        is_float = true;
        while chars.peek().is_some_and(char::is_ascii_digit) {
            chars.next();
            seen_digit = true;
        }
    }
    if !seen_digit {
        return None;
    }
    if matches!(chars.peek(), Some('e' | 'E')) {
        chars.next();
        is_float = true;
        if matches!(chars.peek(), Some('+' | '-')) {
            chars.next();
        }
        let mut exponent_digit = false;
        while chars.peek().is_some_and(char::is_ascii_digit) {
            chars.next();
            exponent_digit = true;
        }
        if !exponent_digit {
            return None;
        }
    }
    if chars.next().is_some() {
        return None;
    }
    if !is_float && let Ok(value) = trimmed.parse::<i64>() {
        return Some(Number::Int(value));
    }
    trimmed.parse::<f64>().ok().map(Number::Float)
}

impl Scalar {
    /// The value as a float when it is a number or a numeric string.
    pub fn as_f64(&self) -> Option<f64> {
        self.number().map(Number::as_f64)
    }

    pub(crate) fn number(&self) -> Option<Number> {
        match self {
            Self::Int(value) => Some(Number::Int(*value)),
            Self::Float(value) => Some(Number::Float(*value)),
            Self::Str(text) => parse_numeric(text),
        }
    }
}

impl From<Number> for Scalar {
    fn from(number: Number) -> Self {
        match number {
            Number::Int(value) => Self::Int(value),
            Number::Float(value) => Self::Float(value),
        }
    }
}

impl From<Number> for Value {
    fn from(number: Number) -> Self {
        match number {
            Number::Int(value) => Self::Int(value),
            Number::Float(value) => Self::Float(value),
        }
    }
}

impl From<Scalar> for Value {
    fn from(scalar: Scalar) -> Self {
        match scalar {
            Scalar::Int(value) => Self::Int(value),
            Scalar::Float(value) => Self::Float(value),
            Scalar::Str(text) => Self::Str(text),
        }
    }
}

impl Value {
    /// The value as a float when it is a number or a numeric string.
    pub fn as_f64(&self) -> Option<f64> {
        self.number().map(Number::as_f64)
    }

    pub(crate) fn number(&self) -> Option<Number> {
        match self {
            Self::Int(value) => Some(Number::Int(*value)),
            Self::Float(value) => Some(Number::Float(*value)),
            Self::Str(text) => parse_numeric(text),
            Self::Decimal4(thousandths) => Some(Number::Float(from_millis(*thousandths))),
            Self::Goals(_) | Self::False | Self::Null => None,
        }
    }

    /// The scalar form of this value, `None` for `goals`.
    pub fn as_scalar(&self) -> Option<Scalar> {
        match self {
            Self::Int(value) => Some(Scalar::Int(*value)),
            Self::Float(value) => Some(Scalar::Float(*value)),
            Self::Str(text) => Some(Scalar::Str(text.clone())),
            Self::Decimal4(thousandths) => Some(Scalar::Str(decimal4_text(*thousandths))),
            Self::Goals(_) | Self::False | Self::Null => None,
        }
    }
}

macro_rules! scalar_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(
            impl From<$ty> for Scalar {
                fn from(value: $ty) -> Self {
                    Self::$variant(value.into())
                }
            }
            impl From<$ty> for Value {
                fn from(value: $ty) -> Self {
                    Self::$variant(value.into())
                }
            }
        )*
    };
}

scalar_from!(i64 => Int, i32 => Int, u32 => Int, f64 => Float, String => Str, &str => Str);

impl From<Goals> for Value {
    fn from(goals: Goals) -> Self {
        Self::Goals(goals)
    }
}

/// An insertion-ordered map with linear lookup.
///
/// Matomo renders columns in insertion order, and rows have about ten
/// columns, where a scan beats hashing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(transparent)]
pub struct OrderedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for OrderedMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: PartialEq, V> OrderedMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.entries
            .iter()
            .find(|(own, _)| own.borrow() == key)
            .map(|(_, value)| value)
    }

    /// The value under `key`, mutably.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.entries
            .iter_mut()
            .find(|(own, _)| own.borrow() == key)
            .map(|(_, value)| value)
    }

    /// Sets `key` to `value`, keeping the key's position when it exists.
    pub fn set(&mut self, key: K, value: V) {
        match self.entries.iter_mut().find(|(own, _)| *own == key) {
            Some((_, slot)) => *slot = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Inserts `key` at `index` (at the end when `index` is past it), or
    /// sets it where it is when present.
    pub fn insert_at(&mut self, index: usize, key: K, value: V) {
        match self.entries.iter_mut().find(|(own, _)| *own == key) {
            Some((_, slot)) => *slot = value,
            None => self
                .entries
                .insert(index.min(self.entries.len()), (key, value)),
        }
    }

    /// The position of `key`.
    pub fn position<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.entries.iter().position(|(own, _)| own.borrow() == key)
    }

    /// Removes `key` and returns its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        let position = self
            .entries
            .iter()
            .position(|(own, _)| own.borrow() == key)?;
        Some(self.entries.remove(position).1)
    }

    /// Renames `from` to `to` as PHP's `Row::renameColumn` does: the value
    /// moves to the end under its new key (`$c[$new] = $c[$old];
    /// unset($c[$old])`), replacing an existing `to` entry. Matomo's
    /// renamed columns (`sum_daily_nb_uniq_visitors`…) therefore come last.
    pub fn rename<Q>(&mut self, from: &Q, to: K)
    where
        K: Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        if let Some(position) = self
            .entries
            .iter()
            .position(|(own, _)| own.borrow() == from)
        {
            let (_, value) = self.entries.remove(position);
            self.entries.retain(|(own, _)| *own != to);
            self.entries.push((to, value));
        }
    }

    /// [`OrderedMap::rename`] for each pair of `renames`, in order.
    pub fn rename_all(&mut self, renames: &[(K, K)])
    where
        K: Clone,
    {
        for (from, to) in renames {
            self.rename(from, to.clone());
        }
    }

    /// The position of `key`, searched from `start` to the end and then
    /// from the beginning.
    pub(crate) fn position_from(&self, start: usize, key: &K) -> Option<usize> {
        let start = start.min(self.entries.len());
        let (before, after) = self.entries.split_at(start);
        after
            .iter()
            .position(|(own, _)| own == key)
            .map(|index| index + start)
            .or_else(|| before.iter().position(|(own, _)| own == key))
    }

    /// The entry at `index`, mutably: lets callers that walk two maps with
    /// the same key order skip the key search.
    pub(crate) fn entry_at_mut(&mut self, index: usize) -> Option<(&K, &mut V)> {
        self.entries
            .get_mut(index)
            .map(|(key, value)| (&*key, value))
    }

    /// Whether `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    /// Entries in insertion order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.entries.iter_mut().map(|(key, value)| (&*key, value))
    }

    /// Keys in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(key, _)| key)
    }

    /// Keeps the entries for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.entries.retain(|(key, value)| keep(key, value));
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes all entries.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl<K: PartialEq, V> FromIterator<(K, V)> for OrderedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Self::new();
        for (key, value) in iter {
            map.set(key, value);
        }
        map
    }
}

/// The metric columns of a row, in insertion order.
pub type Columns = OrderedMap<ColumnKey, Value>;

/// The metrics of one goal inside `goals`.
pub type GoalColumns = OrderedMap<ColumnKey, Scalar>;

/// Row or table metadata (`url`, `logo`, `segment`, …).
pub type Metadata = OrderedMap<String, Scalar>;

/// The `goals` column: per-goal metrics keyed by goal id, rendered `idgoal=N`.
///
/// Goal ids follow §6.5: 0 is ecommerce orders, −1 abandoned carts.
/// Entries hold scalars only, so stored bytes cannot nest without bound.
#[derive(
    Clone, Debug, Default, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
#[serde(transparent)]
pub struct Goals(pub OrderedMap<i64, GoalColumns>);

impl Goals {
    /// No goals.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the metrics of goal `idgoal`, returning `self` for chaining.
    pub fn with(mut self, idgoal: i64, columns: GoalColumns) -> Self {
        self.0.set(idgoal, columns);
        self
    }
}

impl Columns {
    /// Finds a column the way Matomo's sort and filters do: by the key as
    /// written, then through the metric name ↔ id mapping.
    pub fn find(&self, column: &str) -> Option<&Value> {
        // Hot in sorting: compare without building a `ColumnKey`.
        let id = match column.parse::<u16>() {
            Ok(id) if !column.starts_with('+') => Some(id),
            _ => None,
        };
        let matches_as_written = |key: &ColumnKey| match (key, id) {
            (ColumnKey::Id(own), Some(id)) => *own == id,
            (ColumnKey::Name(name), None) => name == column,
            _ => false,
        };
        if let Some((_, value)) = self.iter().find(|(key, _)| matches_as_written(key)) {
            return Some(value);
        }
        match id {
            None => metrics::metric_id(column)
                .and_then(|id| self.get(&ColumnKey::Id(id)))
                .or_else(|| {
                    // A name several ids share (`revenue` is 9, and 23 on
                    // ecommerce item rows): any id of that name.
                    self.iter()
                        .find(|(key, _)| {
                            matches!(key, ColumnKey::Id(own) if metrics::metric_name(*own) == Some(column))
                        })
                        .map(|(_, value)| value)
                }),
            Some(id) => metrics::metric_name(id).and_then(|name| {
                self.iter()
                    .find(|(key, _)| matches!(key, ColumnKey::Name(own) if own == name))
                    .map(|(_, value)| value)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(value: &Value) -> Vec<u8> {
        bincode::encode_to_vec(value, bincode::config::standard()).expect("encodes")
    }

    fn round_trip(value: &Value) -> Value {
        let bytes = stored(value);
        let (decoded, read): (Value, usize) =
            bincode::decode_from_slice(&bytes, bincode::config::standard()).expect("decodes");
        assert_eq!(read, bytes.len());
        decoded
    }

    #[test]
    fn floats_of_whole_thousandths_are_stored_as_counts_and_read_back_bit_for_bit() {
        for ms in [0u64, 1, 7, 999, 1_000, 1_234_567, 86_400_000, 2_147_483_647] {
            #[expect(clippy::cast_precision_loss, reason = "test values below 2^53")]
            let value = Value::Float(ms as f64 / 1000.0);
            let bytes = stored(&value);
            assert_eq!(
                bytes.first(),
                Some(&5),
                "{value:?} is stored as thousandths"
            );
            assert!(bytes.len() <= 6, "{value:?} takes {} bytes", bytes.len());
            let Value::Float(back) = round_trip(&value) else {
                panic!("{value:?} did not come back as a float");
            };
            let Value::Float(original) = value else {
                unreachable!()
            };
            assert_eq!(back.to_bits(), original.to_bits());
        }
        assert_eq!(round_trip(&Value::Float(-2.5)), Value::Float(-2.5));
    }

    #[test]
    fn other_floats_keep_their_eight_bytes() {
        // A sum of thousandths that is not itself ms / 1000 exactly, signed
        // zero, 2^31 thousandths and more, and the non-finite ones.
        let sum = 0.1 + 0.2;
        for value in [
            sum,
            -0.0,
            2_147_483.648,
            9e12,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            let bytes = stored(&Value::Float(value));
            assert_eq!(bytes.first(), Some(&1), "{value} keeps the float variant");
            let Value::Float(back) = round_trip(&Value::Float(value)) else {
                panic!("{value} did not come back as a float");
            };
            assert_eq!(back.to_bits(), value.to_bits());
        }
        // Ints are not touched.
        assert_eq!(stored(&Value::Int(3)), vec![0, 6]);
        assert_eq!(round_trip(&Value::Int(-3)), Value::Int(-3));
        assert_eq!(round_trip(&Value::Null), Value::Null);
        assert_eq!(round_trip(&Value::Decimal4(-1234)), Value::Decimal4(-1234));
        assert_eq!(stored(&Value::Decimal4(62)), vec![7, 124]);
        assert_eq!(round_trip(&Value::False), Value::False);
    }

    #[test]
    fn an_unknown_stored_variant_is_an_error() {
        let error = bincode::decode_from_slice::<Value, _>(&[8, 0], bincode::config::standard())
            .expect_err("variant 8 does not exist");
        assert!(error.to_string().contains("Value"), "{error}");
    }

    #[test]
    fn a_name_two_ids_share_finds_either() {
        let mut item = Columns::new();
        item.set(
            ColumnKey::Id(metrics::ECOMMERCE_ITEM_REVENUE),
            Value::Int(40),
        );
        item.set(ColumnKey::Id(metrics::NB_VISITS), Value::Int(2));
        assert_eq!(item.find("revenue"), Some(&Value::Int(40)));
        assert_eq!(item.find("nb_visits"), Some(&Value::Int(2)));
        assert_eq!(item.find("nb_conversions"), None);
        let mut goal_row = Columns::new();
        goal_row.set(ColumnKey::Id(metrics::REVENUE), Value::Int(7));
        assert_eq!(goal_row.find("revenue"), Some(&Value::Int(7)));
    }

    #[test]
    fn numeric_strings_follow_php_is_numeric() {
        assert_eq!(parse_numeric("42"), Some(Number::Int(42)));
        assert_eq!(parse_numeric(" -3.5"), Some(Number::Float(-3.5)));
        assert_eq!(parse_numeric("1e3"), Some(Number::Float(1000.0)));
        assert_eq!(parse_numeric(".5"), Some(Number::Float(0.5)));
        assert_eq!(parse_numeric("abc"), None);
        assert_eq!(parse_numeric("1e"), None);
        assert_eq!(parse_numeric(""), None);
        assert_eq!(parse_numeric("12px"), None);
    }

    #[test]
    fn ordered_map_keeps_insertion_order_and_renames_to_the_end() {
        let mut columns = Columns::new();
        columns.set(ColumnKey::Id(2), Value::Int(1));
        columns.set(ColumnKey::Id(1), Value::Int(2));
        columns.set(ColumnKey::Id(3), Value::Int(3));
        columns.set(ColumnKey::Id(2), Value::Int(4));
        columns.rename(&ColumnKey::Id(1), ColumnKey::Id(11));
        let keys: Vec<_> = columns.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![ColumnKey::Id(2), ColumnKey::Id(3), ColumnKey::Id(11)]
        );
        assert_eq!(columns.get(&ColumnKey::Id(2)), Some(&Value::Int(4)));
        assert_eq!(columns.find("nb_visits"), Some(&Value::Int(4)));
        assert_eq!(columns.find("11"), Some(&Value::Int(2)));
    }

    #[test]
    fn int_addition_overflows_to_float_like_php() {
        assert_eq!(Number::Int(2).add(Number::Int(3)), Number::Int(5));
        assert_eq!(
            Number::Int(i64::MAX).add(Number::Int(1)),
            Number::Float(9_223_372_036_854_775_808.0)
        );
        assert_eq!(Number::Int(1).add(Number::Float(0.5)), Number::Float(1.5));
    }
}
