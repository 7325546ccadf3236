//! Matomo segment definitions (MATOMO.md section 7.11): parsing, the
//! catalogue of segment names, and their translation into SQL.
//!
//! A segment is an AND (`;`) of OR-groups (`,`) of conditions
//! `<name><operator><value>`, with no parentheses: `a;b,c` is
//! `a AND (b OR c)`. [`Segment::parse`] checks every name against the
//! catalogue and converts every value (visitor types, device types, country
//! codes, hex visitor ids, IPs, dates...) up front, so that a segment that
//! parses always renders. [`Segment::to_sql`] gives a boolean SQL fragment
//! over a query whose `FROM` names `log_visit` (as `logs.rs` does), with `?`
//! placeholders and the values to bind, in order. No value is ever written
//! into the SQL text; expressions come from the catalogue as `&'static str`.
//!
//! ```
//! use tally_archiving::segment::{BindValue, Segment};
//!
//! let segment = Segment::parse("countryCode==FR;visitorType==new,visitorType==returning")?;
//! let sql = segment.to_sql();
//! assert_eq!(
//!     sql.where_sql,
//!     "(log_visit.location_country = ?) AND \
//!      (log_visit.visitor_returning = ? OR log_visit.visitor_returning = ?)"
//! );
//! assert_eq!(
//!     sql.binds,
//!     [BindValue::Text("fr".into()), BindValue::Integer(0), BindValue::Integer(1)]
//! );
//! // Archives of this segment carry the done flag `done<md5>`.
//! assert_eq!(segment.done_flag().len(), "done".len() + 32);
//! # Ok::<(), tally_archiving::segment::SegmentError>(())
//! ```
//!
//! # Reading a definition
//!
//! As Matomo 5 does (`core/Segment.php`, `core/Segment/SegmentExpression.php`):
//! - Surrounding whitespace is trimmed. A definition longer than
//!   [`MAX_DEFINITION_BYTES`] is refused (Matomo silently truncates it, which
//!   can change its meaning).
//! - The definition is URL-decoded once. Because a value may carry an encoded
//!   separator (`referrerName==a%2Cb`), which that decoding would turn into a
//!   real one, the raw text is parsed too and wins when it yields more
//!   conditions (Matomo's rule; ties go to the decoded text).
//! - `\;` and `\,` are literal separators; any other backslash is literal
//!   text (`productCategory==a\b` has the value `a\b`).
//! - A separator at the end of its part is literal text (Matomo's split
//!   rule): `a==1;` has the value `1;`. Empty AND parts are dropped
//!   (`a==1;;b==2` is two conditions, as is `;a==1;b==2`); an empty OR part
//!   is an error.
//! - Each condition is URL-decoded, split at the first operator after a
//!   non-empty name (two-character operators are tried before `<` and `>`),
//!   and the value is URL-decoded again. `+` decodes to a space (PHP
//!   `urldecode`).
//! - An empty value is only allowed with `==` (the column IS NULL, `''` or
//!   `'0'`) and `!=` (IS NOT NULL and neither `''` nor `'0'`).
//! - Matomo's `!=` also matches NULL unless the (converted) value is PHP-empty
//!   (`'0'`, or a name converted to `0` such as `visitorType!=new`); `!@`
//!   always matches NULL.
//!
//! # Which visits match
//!
//! Matomo runs a segmented visit query from `log_link_visit_action` (LEFT
//! JOINed to `log_visit` and `log_conversion`) whenever a condition reads
//! an action column, and groups by visit. We express the same thing as one
//! correlated `EXISTS` over the visit's rows, so the caller's query keeps a
//! single `log_visit` row per visit:
//! - Conditions on `log_visit` columns apply directly.
//! - If any condition reads actions, the **whole** expression must hold for
//!   one action row of the visit: a visit matches when *any one* of its
//!   actions satisfies all action conditions together (so
//!   `pageUrl==a;pageUrl==b` matches nothing, as in Matomo, and a visit with
//!   no action never matches, even through an OR with a visit condition).
//! - Conditions on `log_conversion` see the visit's conversions, or one row of
//!   NULLs when it has none (Matomo's LEFT JOIN): `visitConvertedGoalId==`
//!   selects visits without conversions. Conditions on ordered and cart
//!   items (`productSku`, `productName`, `productCategory`, `productPrice`)
//!   see the visit's `log_conversion_item` rows not marked deleted, LEFT
//!   JOINed the same way.
//! - `!=` and `!@` on action or conversion segments mean "no row of the visit
//!   matches": `NOT EXISTS` with the operator inverted (Matomo's
//!   `idvisit NOT IN (...)` subquery). Several of them in one OR-group share
//!   one `NOT EXISTS` whose row must match all of them, as Matomo merges them.
//! - Names stored in `log_action` (URLs, titles, keywords, event and content
//!   names, product SKUs and names) are matched through
//!   `IN (SELECT idaction FROM log_action WHERE type = T AND ...)`: `==` by
//!   `hash = CRC32(?) AND name = ?` (the table's index), the others by
//!   `LIKE`. Page and event URLs lose a leading `http://`, `https://` and
//!   `www.` first, as stored (section 3.3). Values of names Matomo stores
//!   HTML-escaped (titles, keywords, events, content pieces, products) are
//!   escaped the same way, and `==` also tries the value as typed.
//!
//! # What a segment archive reads
//!
//! Matomo archives a segment from the set of visits it selects: with
//! `enable_segments_cache = 1` (its default), `LogAggregator::generateQuery`
//! fills a temporary table with the ids of the segment's visits (the query
//! above over `log_visit`, last action in the period) and joins every report
//! query to that table instead of applying the segment again. So the
//! reports built from action rows (page URLs and titles, downloads,
//! outlinks, site search, events, contents, action-scope custom dimensions,
//! page performance) count *every* action of the selected visits, as the
//! visit reports count the visits: `pageUrl=@/blog` gives the visits that
//! viewed a blog page, with all their pages (Matomo's `UrlNormalizationTest`
//! expects the page URL report of `pageUrl==.../bar2.html` to list every page
//! of its one visit). `logs.rs` does the same
//! (`LogAggregator::with_segment`). Only with `enable_segments_cache = 0`
//! does Matomo test action conditions on each row of an action query; we do
//! not offer that mode.
//!
//! # Differences from Matomo
//!
//! - Matomo's temporary table also removes the period condition of each
//!   report query, so a segment archive counts every action and conversion
//!   of the visits whose last action is in the period (even those before
//!   its start) and none of a visit that ends after it. We keep each row's
//!   own period, as for all visits: actions and conversions by server time,
//!   of the segment's visits that end at or after the period's start.
//! - `LIKE` values escape `%`, `_` and the escape character itself in every
//!   case; Matomo leaves wildcards unescaped in `log_action` lookups and does
//!   not escape backslashes.
//! - Values are checked: a number segment refuses `abc` (MySQL would compare
//!   it as 0), `visitorType` refuses names other than `new`, `returning` and
//!   `returningCustomer` (Matomo maps any other text to 2), operators that
//!   make no sense for a value (`visitorId=@..`, `pageUrl<..`) are refused.
//! - At most [`MAX_CONDITIONS`] conditions.
//! - HTML escaping of action names covers `& " ' < >` only: a value typed
//!   with other entities (`&eacute;`) is matched as typed.
//! - `visitConvertedGoalName` compares the names of the site's goals
//!   (`goal.idsite = log_conversion.idsite`).
//! - `actionType` reads the type of `idaction_url`, as Matomo's join does, so
//!   `actionType==sitesearches` matches nothing (site searches have no URL);
//!   it accepts `==` and `!=` only.
//! - `deviceBrand` takes a brand name and compares its stored code, as
//!   Matomo's filter does, but knows only the brands our tracker emits
//!   (`tally_schema::devices::BRANDS`): another DeviceDetector brand is
//!   refused as an unknown one is in Matomo.
//! - `continentCode!=eur` selects the visits outside Europe (and those
//!   without a country); Matomo's filter turns every operator into "is in
//!   the continent", so its `!=` selects the same visits as `==`. Other
//!   operators are refused, and so is a value that is not a continent code.
//! - `browserName` and `operatingSystemName` know the DeviceDetector names
//!   of the codes our tracker emits (`tally_schema::devices`); any other
//!   name becomes `UNK`, as an unknown name does in Matomo, so a browser
//!   Matomo knows and we do not matches no visit.
//! - `daysSinceFirstVisit` refuses a value that is not a number (Matomo's
//!   `(int)` cast makes `abc` 0 days).
//! - Not supported: `bandwidth` (we store no bandwidth), and the segments
//!   of plugins we do not ship.
//!   `dimension<id>` needs the site's custom dimensions
//!   ([`Segment::parse_with`]).

use std::collections::BTreeSet;
use std::fmt;

use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Binary, Double, Integer, Text, Unsigned};
use tally_schema::{ActionType, ReferrerType};

/// Longest definition accepted, in bytes (Matomo's `SEGMENT_TRUNCATE_LIMIT`;
/// Matomo truncates, we refuse).
pub const MAX_DEFINITION_BYTES: usize = 8192;

/// Most conditions in one segment. Each condition may become a correlated
/// subquery; segments built in Matomo's editor have a handful.
pub const MAX_CONDITIONS: usize = 100;

/// User text shown in error messages is cut to this many characters.
const SHOWN_CHARS: usize = 80;

/// Why a segment definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// Longer than [`MAX_DEFINITION_BYTES`].
    #[error("segment definition is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// [`MAX_DEFINITION_BYTES`].
        max: usize,
    },
    /// More than [`MAX_CONDITIONS`] conditions.
    #[error("segment has {count} conditions, more than the {max} allowed")]
    TooManyConditions {
        /// How many it has.
        count: usize,
        /// [`MAX_CONDITIONS`].
        max: usize,
    },
    /// Nothing between two separators, or a leading separator.
    #[error("segment has an empty condition (nothing before or between `;` and `,`)")]
    EmptyCondition,
    /// A condition without an operator.
    #[error(
        "segment condition {condition:?} is not valid: it has no operator \
         (==, !=, <=, >=, <, >, =@, !@, =^, =$)"
    )]
    MissingOperator {
        /// The condition (shortened).
        condition: String,
    },
    /// A condition that starts with its operator.
    #[error("segment condition {condition:?} is not valid: no segment name before the operator")]
    MissingName {
        /// The condition (shortened).
        condition: String,
    },
    /// A name that is not in the catalogue.
    #[error("segment {name:?} is not a supported segment")]
    UnknownSegment {
        /// The name (shortened).
        name: String,
    },
    /// An empty value with an operator other than `==` and `!=`.
    #[error(
        "segment {name:?} has no value after `{operator}`: only == (is empty) and != \
         (is not empty) accept an empty value"
    )]
    EmptyValue {
        /// The segment name.
        name: String,
        /// The operator.
        operator: &'static str,
    },
    /// An operator the segment cannot evaluate.
    #[error("segment {name:?} does not support the operator `{operator}`")]
    UnsupportedOperator {
        /// The segment name.
        name: String,
        /// The operator.
        operator: &'static str,
    },
    /// `==` or `!=` with an empty value on a segment that cannot test that.
    #[error("segment {name:?} does not accept an empty value")]
    EmptyValueNotSupported {
        /// The segment name.
        name: String,
    },
    /// A value the segment cannot convert.
    #[error("segment {name:?}: invalid value {value:?}, expected {expected}")]
    InvalidValue {
        /// The segment name.
        name: String,
        /// The value (shortened).
        value: String,
        /// What the segment accepts.
        expected: &'static str,
    },
    /// Bytes that are not UTF-8 once URL-decoded.
    #[error("segment definition is not valid UTF-8 once URL-decoded")]
    InvalidUtf8,
    /// A NUL character in a name or value.
    #[error("segment definition contains a NUL character")]
    NulCharacter,
}

/// A comparison operator of the definition syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `==`
    Equals,
    /// `!=`
    NotEquals,
    /// `<=`
    LessOrEqual,
    /// `>=`
    GreaterOrEqual,
    /// `<`
    Less,
    /// `>`
    Greater,
    /// `=@` (contains)
    Contains,
    /// `!@` (does not contain)
    DoesNotContain,
    /// `=^` (starts with)
    StartsWith,
    /// `=$` (ends with)
    EndsWith,
}

impl Operator {
    /// Longest first: at one position `<=` must win over `<`.
    const BY_LENGTH: [Self; 10] = [
        Self::Equals,
        Self::NotEquals,
        Self::LessOrEqual,
        Self::GreaterOrEqual,
        Self::Contains,
        Self::DoesNotContain,
        Self::StartsWith,
        Self::EndsWith,
        Self::Less,
        Self::Greater,
    ];

    /// The operator as written in a definition.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Equals => "==",
            Self::NotEquals => "!=",
            Self::LessOrEqual => "<=",
            Self::GreaterOrEqual => ">=",
            Self::Less => "<",
            Self::Greater => ">",
            Self::Contains => "=@",
            Self::DoesNotContain => "!@",
            Self::StartsWith => "=^",
            Self::EndsWith => "=$",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// One condition as written, after URL-decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The segment name.
    pub name: String,
    /// The operator.
    pub operator: Operator,
    /// The value, decoded (empty for the "is empty" / "is not empty" tests).
    pub value: String,
}

/// A log table a segment reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogTable {
    /// `log_visit`.
    Visit,
    /// `log_link_visit_action`.
    Action,
    /// `log_conversion`.
    Conversion,
    /// `log_conversion_item` (rows not marked deleted).
    ConversionItem,
}

impl LogTable {
    /// The table name, also the alias the SQL uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Visit => "log_visit",
            Self::Action => "log_link_visit_action",
            Self::Conversion => "log_conversion",
            Self::ConversionItem => "log_conversion_item",
        }
    }
}

/// A value bound to a `?` of [`SegmentSql::where_sql`].
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    /// Text (`VARCHAR` comparisons, `LIKE` patterns, dates).
    Text(String),
    /// An integer (counts, codes).
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// Bytes (`idvisitor`, `config_id`, `location_ip`).
    Binary(Vec<u8>),
}

/// The SQL of a segment for a visit-level query.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSql {
    /// A boolean expression to AND into the `WHERE` of a query over
    /// `log_visit AS log_visit`; other tables are reached through correlated
    /// subqueries inside it, so the query needs no join. `1 = 1` for the
    /// empty segment.
    pub where_sql: String,
    /// The values of the `?` placeholders, in order.
    pub binds: Vec<BindValue>,
    /// The log tables the expression reads (for information: deciding on a
    /// cache, explaining a plan).
    pub tables: Vec<LogTable>,
}

impl SegmentSql {
    /// Binds [`Self::binds`] to `query`, whose SQL holds
    /// [`Self::where_sql`] after the placeholders bound so far and before any
    /// bound later (binds are positional).
    pub fn apply_binds<'f, Q>(
        &'f self,
        mut query: BoxedSqlQuery<'f, Mysql, Q>,
    ) -> BoxedSqlQuery<'f, Mysql, Q> {
        for value in &self.binds {
            query = match value {
                BindValue::Text(text) => query.bind::<Text, _>(text.as_str()),
                BindValue::Integer(number) => query.bind::<BigInt, _>(*number),
                BindValue::Float(number) => query.bind::<Double, _>(*number),
                BindValue::Binary(bytes) => query.bind::<Binary, _>(bytes.as_slice()),
            };
        }
        query
    }
}

/// Whether a custom dimension belongs to visits or to actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimensionScope {
    /// `log_visit.custom_dimension_<index>`.
    Visit,
    /// `log_link_visit_action.custom_dimension_<index>`.
    Action,
}

/// An active custom dimension of the site: segment `dimension<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomDimension {
    /// `idcustomdimension`.
    pub id: u32,
    /// The column index (`custom_dimension_<index>`, 1 to 5 are stored).
    pub index: u8,
    /// Visit or action.
    pub scope: DimensionScope,
}

/// Site-specific segment names, for [`Segment::parse_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentContext {
    /// The site's active custom dimensions.
    pub custom_dimensions: Vec<CustomDimension>,
}

/// A parsed segment: an AND of OR-groups of checked conditions. The
/// default is the empty segment (all visits).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segment {
    definition: String,
    groups: Vec<Vec<Leaf>>,
}

impl Segment {
    /// Parses a definition with the built-in segment names.
    ///
    /// # Errors
    /// [`SegmentError`] for a definition that is too long, badly formed,
    /// names an unknown segment or has a value the segment cannot use.
    pub fn parse(definition: &str) -> Result<Self, SegmentError> {
        Self::parse_with(definition, &SegmentContext::default())
    }

    /// Parses a definition, also accepting the site's `dimension<id>` names.
    ///
    /// # Errors
    /// As [`Segment::parse`].
    pub fn parse_with(definition: &str, context: &SegmentContext) -> Result<Self, SegmentError> {
        if definition.len() > MAX_DEFINITION_BYTES {
            return Err(SegmentError::TooLong {
                len: definition.len(),
                max: MAX_DEFINITION_BYTES,
            });
        }
        let raw = php_trim(definition);
        let decoded = url_decode(raw.as_bytes());
        let groups = if decoded == raw.as_bytes() {
            parse_candidate(&decoded, context)?
        } else {
            // Matomo's choice between the decoded and the raw text: the raw
            // one only when it parses into more conditions.
            let from_decoded = parse_candidate(&decoded, context);
            let from_raw = parse_candidate(raw.as_bytes(), context);
            let decoded_count = from_decoded.as_ref().map_or(0, |g| count_conditions(g));
            match (from_decoded, from_raw) {
                (_, Ok(groups)) if count_conditions(&groups) > decoded_count => groups,
                (decoded, _) => decoded?,
            }
        };
        Ok(Self {
            definition: raw.to_owned(),
            groups,
        })
    }

    /// The definition as given (trimmed).
    pub fn definition(&self) -> &str {
        &self.definition
    }

    /// True for the segment of all visits (an empty definition).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The conditions: an AND of OR-groups.
    pub fn groups(&self) -> Vec<Vec<&Condition>> {
        self.groups
            .iter()
            .map(|group| group.iter().map(|leaf| &leaf.condition).collect())
            .collect()
    }

    /// The hash in archive done-flag names (`done<hash>`, MATOMO.md section
    /// 4.8): `md5(urldecode(definition))` in lowercase hex, empty for the
    /// empty segment.
    pub fn hash(&self) -> String {
        if self.is_empty() {
            String::new()
        } else {
            md5_hex(&url_decode(self.definition.as_bytes()))
        }
    }

    /// The done flag of an all-plugins archive of this segment: `done` for
    /// all visits, `done<hash>` otherwise.
    pub fn done_flag(&self) -> String {
        format!("done{}", self.hash())
    }

    /// The WHERE fragment for a query over `log_visit AS log_visit`, its
    /// bound values, and the tables it reads.
    pub fn to_sql(&self) -> SegmentSql {
        let mut out = SqlOut::default();
        if self.groups.is_empty() {
            out.sql.push_str("1 = 1");
        } else {
            let rows = RowScopes::of(
                self.groups
                    .iter()
                    .flatten()
                    .filter(|leaf| !leaf.is_negated_row_test()),
            );
            if rows.any() {
                // One row of the visit's actions (and/or conversions) must
                // satisfy the whole expression: Matomo's joined query.
                out.sql.push_str("EXISTS (");
                rows.push_source(&mut out);
                self.push_expression(&mut out);
                out.sql.push_str("))");
            } else {
                self.push_expression(&mut out);
            }
        }
        let mut tables = BTreeSet::from([LogTable::Visit]);
        tables.extend(self.groups.iter().flatten().map(|leaf| leaf.table));
        SegmentSql {
            where_sql: out.sql,
            binds: out.binds,
            tables: tables.into_iter().collect(),
        }
    }

    fn push_expression(&self, out: &mut SqlOut) {
        let several = self.groups.len() > 1;
        for (i, group) in self.groups.iter().enumerate() {
            if i > 0 {
                out.sql.push_str(" AND ");
            }
            let (negated, direct): (Vec<&Leaf>, Vec<&Leaf>) =
                group.iter().partition(|leaf| leaf.is_negated_row_test());
            let parts = direct.len() + usize::from(!negated.is_empty());
            let wrap = several || parts > 1;
            if wrap {
                out.sql.push('(');
            }
            for (j, leaf) in direct.iter().enumerate() {
                if j > 0 {
                    out.sql.push_str(" OR ");
                }
                leaf.push(out, leaf.test);
            }
            if !negated.is_empty() {
                if !direct.is_empty() {
                    out.sql.push_str(" OR ");
                }
                push_not_exists(out, &negated);
            }
            if wrap {
                out.sql.push(')');
            }
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.definition)
    }
}

/// Every segment name [`Segment::parse`] accepts, in catalogue order.
pub fn segment_names() -> impl Iterator<Item = &'static str> {
    CATALOGUE.iter().map(|def| def.name)
}

/// `SELECT COUNT(*)` of the visits of `idsite` in the segment (all time):
/// the segment's SQL and binds run as they would in a report query.
///
/// # Errors
/// The query error.
pub fn count_visits(
    conn: &mut MysqlConnection,
    idsite: u32,
    segment: &Segment,
) -> QueryResult<u64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql = segment.to_sql();
    let query = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM log_visit AS log_visit \
         WHERE log_visit.idsite = ? AND ({})",
        sql.where_sql
    ))
    .into_boxed::<Mysql>()
    .bind::<Unsigned<Integer>, _>(idsite);
    let row: Count = sql.apply_binds(query).get_result(conn)?;
    Ok(u64::try_from(row.n).unwrap_or(0))
}

/// Whether `idsite` has a visit in the segment whose last action is in
/// `[start, end)` (unix seconds): Matomo's check, before it reports a
/// segment as unprocessed, that the segment would show data at all (Live's
/// `queryLogVisits` with limit 1 over the period).
///
/// # Errors
/// The query error.
pub fn has_visits_between(
    conn: &mut MysqlConnection,
    idsite: u32,
    segment: &Segment,
    start: i64,
    end: i64,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let text = |seconds: i64| {
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .and_then(|at| at.format(format).ok())
            .unwrap_or_default()
    };
    let sql = segment.to_sql();
    let query = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM log_visit AS log_visit \
         WHERE log_visit.idsite = ? AND log_visit.visit_last_action_time >= ? \
         AND log_visit.visit_last_action_time < ? AND ({}) LIMIT 1) AS found",
        sql.where_sql
    ))
    .into_boxed::<Mysql>()
    .bind::<Unsigned<Integer>, _>(idsite)
    .bind::<Text, _>(text(start))
    .bind::<Text, _>(text(end));
    let row: Found = sql.apply_binds(query).get_result(conn)?;
    Ok(row.n > 0)
}

// ---------------------------------------------------------------------------
// Parsing

fn count_conditions(groups: &[Vec<Leaf>]) -> usize {
    groups.iter().map(Vec::len).sum()
}

/// PHP `trim`: spaces, tabs, line breaks, NUL and vertical tabs.
fn php_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0B'])
}

/// PHP `urldecode` (one implementation, in tally-datatable's PHP string
/// conversions).
fn url_decode(input: &[u8]) -> Vec<u8> {
    tally_datatable::format::php_urldecode(input)
}

/// Splits on `separator` where it is neither the last byte of `input` nor
/// preceded by a backslash (Matomo 5's `SegmentExpression::parseTree`; such
/// separators stay literal).
fn split_separator(input: &[u8], separator: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, &byte) in input.iter().enumerate() {
        let escaped = i > 0 && input.get(i - 1) == Some(&b'\\');
        if byte == separator && i + 1 < input.len() && !escaped {
            parts.push(input.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    parts.push(input.get(start..).unwrap_or_default());
    parts
}

/// The AND parts of a definition: Matomo drops the PHP-empty ones (`""` and
/// `"0"`, its `array_filter`), so `a==1;;b==2` is two conditions.
fn and_parts(input: &[u8]) -> Vec<&[u8]> {
    split_separator(input, b';')
        .into_iter()
        .filter(|part| !part.is_empty() && *part != b"0")
        .collect()
}

/// `\;` → `;` and `\,` → `,`; any other backslash is literal (Matomo 5).
fn unescape_separators(operand: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(operand.len());
    let mut bytes = operand.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        match (byte, bytes.peek().copied()) {
            (b'\\', Some(next @ (b';' | b','))) => {
                bytes.next();
                out.push(next);
            }
            _ => out.push(byte),
        }
    }
    out
}

fn parse_candidate(input: &[u8], context: &SegmentContext) -> Result<Vec<Vec<Leaf>>, SegmentError> {
    let trimmed = php_trim_bytes(input);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let mut groups = Vec::new();
    let mut count = 0;
    for and_part in and_parts(trimmed) {
        let mut group = Vec::new();
        for operand in split_separator(and_part, b',') {
            count += 1;
            if count > MAX_CONDITIONS {
                return Err(SegmentError::TooManyConditions {
                    count: count_all(trimmed),
                    max: MAX_CONDITIONS,
                });
            }
            let condition = parse_condition(&unescape_separators(operand))?;
            group.push(resolve(condition, context)?);
        }
        groups.push(group);
    }
    Ok(groups)
}

/// The number of conditions of an over-long segment, for the message.
fn count_all(input: &[u8]) -> usize {
    and_parts(input)
        .into_iter()
        .map(|part| split_separator(part, b',').len())
        .sum()
}

fn php_trim_bytes(input: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0 | 0x0B);
    let start = input
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    input.get(start..end).unwrap_or_default()
}

fn decode_text(bytes: &[u8]) -> Result<String, SegmentError> {
    let text = String::from_utf8(url_decode(bytes)).map_err(|_| SegmentError::InvalidUtf8)?;
    if text.contains('\0') {
        return Err(SegmentError::NulCharacter);
    }
    Ok(text)
}

fn parse_condition(operand: &[u8]) -> Result<Condition, SegmentError> {
    if operand.is_empty() {
        return Err(SegmentError::EmptyCondition);
    }
    let text = decode_text(operand)?;
    let bytes = text.as_bytes();
    let operator_at = |i: usize| {
        Operator::BY_LENGTH.into_iter().find(|op| {
            bytes
                .get(i..)
                .is_some_and(|rest| rest.starts_with(op.symbol().as_bytes()))
        })
    };
    // The name is at least one character, the first operator after it wins
    // (Matomo's `^(.+?)(op)(.*)`). Operators are ASCII, so a match is always
    // at a character boundary.
    let found = (1..bytes.len()).find_map(|i| operator_at(i).map(|op| (i, op)));
    let Some((at, operator)) = found else {
        return Err(if operator_at(0).is_some() {
            SegmentError::MissingName {
                condition: shown(&text),
            }
        } else {
            SegmentError::MissingOperator {
                condition: shown(&text),
            }
        });
    };
    let name = text.get(..at).unwrap_or_default().to_owned();
    let raw_value = bytes
        .get(at + operator.symbol().len()..)
        .unwrap_or_default();
    Ok(Condition {
        name,
        operator,
        value: decode_text(raw_value)?,
    })
}

/// User text for an error message: at most [`SHOWN_CHARS`] characters.
fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

// ---------------------------------------------------------------------------
// The catalogue

/// How a condition tests its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    /// `==` with an empty value.
    NullOrEmpty,
    /// `!=` with an empty value.
    NotNullNorEmpty,
}

impl Test {
    fn of(operator: Operator, empty_value: bool) -> Self {
        match (operator, empty_value) {
            (Operator::Equals, true) => Self::NullOrEmpty,
            (Operator::NotEquals, true) => Self::NotNullNorEmpty,
            (Operator::Equals, false) => Self::Eq,
            (Operator::NotEquals, false) => Self::Ne,
            (Operator::Less, _) => Self::Lt,
            (Operator::LessOrEqual, _) => Self::Le,
            (Operator::Greater, _) => Self::Gt,
            (Operator::GreaterOrEqual, _) => Self::Ge,
            (Operator::Contains, _) => Self::Contains,
            (Operator::DoesNotContain, _) => Self::NotContains,
            (Operator::StartsWith, _) => Self::StartsWith,
            (Operator::EndsWith, _) => Self::EndsWith,
        }
    }

    /// The positive test inside a `NOT EXISTS` (Matomo's inverted operator).
    fn inverted(self) -> Self {
        match self {
            Self::Ne => Self::Eq,
            Self::NotContains => Self::Contains,
            other => other,
        }
    }

    fn is_like(self) -> bool {
        matches!(
            self,
            Self::Contains | Self::NotContains | Self::StartsWith | Self::EndsWith
        )
    }

    fn is_ordering(self) -> bool {
        matches!(self, Self::Lt | Self::Le | Self::Gt | Self::Ge)
    }

    fn sql_comparison(self) -> &'static str {
        match self {
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            _ => "=",
        }
    }

    fn like_pattern(self, value: &str) -> String {
        let escaped = escape_like(value);
        match self {
            Self::StartsWith => format!("{escaped}%"),
            Self::EndsWith => format!("%{escaped}"),
            _ => format!("%{escaped}%"),
        }
    }
}

/// `LIKE ... ESCAPE '!'`: a character that needs no escaping in SQL string
/// literals under any `sql_mode` (a backslash would depend on
/// `NO_BACKSLASH_ESCAPES`).
fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '!' | '%' | '_') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// What a value converts to before it is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Text,
    /// Compared lower-cased (`countryCode`, `languageCode`).
    LowerText,
    /// An integer or decimal number.
    Number,
    /// 16 hex digits → 8 bytes (`visitorId`, `fingerprint`).
    VisitorId,
    /// An IPv4 or IPv6 address → 4 or 16 bytes.
    Ip,
    /// `YYYY-MM-DD`.
    Date,
    /// A name mapped to a stored code.
    Named(Names),
    /// A country's English name → its code (`countryName`; a name Matomo
    /// does not know becomes `UNK`, which matches no visit).
    CountryName,
    /// A browser's DeviceDetector name → its code, any case (`browserName`;
    /// an unknown name becomes `UNK`, for every operator, as Matomo's
    /// `sqlFilterValue` does).
    BrowserName,
    /// An operating system's DeviceDetector name → its code, any case
    /// (`operatingSystemName`; unknown becomes `UNK`).
    OsName,
    /// A device brand's DeviceDetector name → its stored code, exactly
    /// (`deviceBrand`: Matomo's `sqlFilter`); `Unknown` is the empty
    /// brand, any other name is refused, as Matomo throws for it.
    BrandName,
    /// A number of days compared as seconds: Matomo's `daysSinceFirstVisit`
    /// turns the value into `(int) value * 86400` and compares the stored
    /// seconds with it.
    Days,
}

/// The name tables of [`ValueKind::Named`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    VisitorType,
    EcommerceStatus,
    ReferrerType,
    DeviceType,
    ClientType,
    ActionType,
}

impl Names {
    fn expected(self) -> &'static str {
        match self {
            Self::VisitorType => "new, returning or returningCustomer",
            Self::EcommerceStatus => "none, ordered, abandonedCart or orderedThenAbandonedCart",
            Self::ReferrerType => "direct, search, website, campaign or social",
            Self::DeviceType => "a device type such as desktop, smartphone, tablet",
            Self::ClientType => "browser, library, feed reader, mediaplayer, mobile app or pim",
            Self::ActionType => "pageviews, contents, sitesearches, events, outlinks or downloads",
        }
    }

    fn code(self, value: &str) -> Option<i64> {
        match self {
            // Case-sensitive, as Matomo compares them.
            Self::VisitorType => match value {
                "new" => Some(0),
                "returning" => Some(1),
                "returningCustomer" => Some(2),
                _ => None,
            },
            Self::EcommerceStatus => match value {
                "none" => Some(0),
                "ordered" => Some(1),
                "abandonedCart" => Some(2),
                "orderedThenAbandonedCart" => Some(3),
                _ => None,
            },
            Self::ReferrerType => ReferrerType::from_name(value)
                .ok()
                .map(|t| i64::from(t.code())),
            // Matomo trims and lower-cases these.
            Self::DeviceType => {
                let value = value.trim().to_lowercase();
                DEVICE_TYPES
                    .iter()
                    .position(|name| *name == value)
                    .and_then(|i| i64::try_from(i).ok())
            }
            Self::ClientType => {
                let value = value.trim().to_lowercase();
                CLIENT_TYPES
                    .iter()
                    .position(|name| *name == value)
                    .and_then(|i| i64::try_from(i + 1).ok())
            }
            Self::ActionType => {
                let value = value.trim().to_lowercase();
                ACTION_TYPES
                    .iter()
                    .find(|(name, code)| *name == value || code.to_string() == value)
                    .map(|(_, code)| i64::from(code.code()))
            }
        }
    }
}

/// DeviceDetector's device type names; the position is the stored code.
pub const DEVICE_TYPES: [&str; 14] = [
    "desktop",
    "smartphone",
    "tablet",
    "feature phone",
    "console",
    "tv",
    "car browser",
    "smart display",
    "camera",
    "portable media player",
    "phablet",
    "smart speaker",
    "wearable",
    "peripheral",
];

/// DeviceDetector's client types; the position plus one is the stored code.
const CLIENT_TYPES: [&str; 6] = [
    "browser",
    "library",
    "feed reader",
    "mediaplayer",
    "mobile app",
    "pim",
];

/// `actionType` names (Matomo's `ActionType` dimension).
const ACTION_TYPES: [(&str, ActionCode); 6] = [
    ("pageviews", ActionCode(ActionType::PageUrl)),
    ("contents", ActionCode(ActionType::ContentName)),
    ("sitesearches", ActionCode(ActionType::SiteSearch)),
    ("events", ActionCode(ActionType::EventCategory)),
    ("outlinks", ActionCode(ActionType::Outlink)),
    ("downloads", ActionCode(ActionType::Download)),
];

/// An action type whose code prints as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ActionCode(ActionType);

impl ActionCode {
    fn code(self) -> u8 {
        self.0.code()
    }
}

impl fmt::Display for ActionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// Where a segment's value is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A column or expression of one log table.
    Column {
        table: LogTable,
        expr: &'static str,
        kind: ValueKind,
    },
    /// An `idaction` column whose `log_action` name is compared.
    ActionName {
        table: LogTable,
        column: &'static str,
        action_type: ActionType,
        /// Page and event URLs are stored without `http(s)://` and `www.`.
        strip_scheme: bool,
        /// Stored HTML-escaped (`Common::sanitizeInputValue`).
        sanitized: bool,
    },
    /// `actionType`: the type of the action's URL.
    ActionTypeOfUrl,
    /// `visitConvertedGoalName`: the name of the converted goal.
    GoalName,
    /// `continentCode`: the visit's country is one of the continent's
    /// (Matomo's `UserCountry::getCountriesForContinent`).
    Continent,
    /// `revenueOrder` / `revenueAbandonedCart`: the visit has a conversion
    /// of this goal id (0 order, -1 cart) whose revenue compares (Matomo's
    /// `Ecommerce\Columns\Revenue::getRevenueQuery`).
    EcommerceRevenue(i32),
    /// Any of several segments (Matomo's `unionOfSegments`).
    Union(&'static [Def]),
}

impl Target {
    fn table(self) -> LogTable {
        match self {
            Self::Column { table, .. } | Self::ActionName { table, .. } => table,
            Self::ActionTypeOfUrl => LogTable::Action,
            Self::GoalName | Self::EcommerceRevenue(_) => LogTable::Conversion,
            Self::Continent => LogTable::Visit,
            Self::Union(members) => members
                .first()
                .map_or(LogTable::Visit, |member| member.target.table()),
        }
    }
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Def {
    name: &'static str,
    target: Target,
}

const fn visit(name: &'static str, expr: &'static str, kind: ValueKind) -> Def {
    Def {
        name,
        target: Target::Column {
            table: LogTable::Visit,
            expr,
            kind,
        },
    }
}

const fn action(name: &'static str, expr: &'static str, kind: ValueKind) -> Def {
    Def {
        name,
        target: Target::Column {
            table: LogTable::Action,
            expr,
            kind,
        },
    }
}

const fn conversion(name: &'static str, expr: &'static str, kind: ValueKind) -> Def {
    Def {
        name,
        target: Target::Column {
            table: LogTable::Conversion,
            expr,
            kind,
        },
    }
}

const fn named(
    name: &'static str,
    table: LogTable,
    column: &'static str,
    action_type: ActionType,
    strip_scheme: bool,
    sanitized: bool,
) -> Def {
    Def {
        name,
        target: Target::ActionName {
            table,
            column,
            action_type,
            strip_scheme,
            sanitized,
        },
    }
}

const PAGE_URL: Def = named(
    "pageUrl",
    LogTable::Action,
    "log_link_visit_action.idaction_url",
    ActionType::PageUrl,
    true,
    false,
);
/// Download and outlink URLs are stored HTML-escaped, yet Matomo lists
/// them among the names stored unescaped (`isActionTypeStoredUnsanitized`):
/// `==` finds one by the escaped value reports give their rows (the second,
/// as-typed lookup), while a value holding `&`, `<`, `>` or quotes finds
/// nothing unescaped with `==`, nor at all with `=@` (the pattern is
/// unescaped), in Matomo as here.
const DOWNLOAD_URL: Def = named(
    "downloadUrl",
    LogTable::Action,
    "log_link_visit_action.idaction_url",
    ActionType::Download,
    false,
    false,
);
const OUTLINK_URL: Def = named(
    "outlinkUrl",
    LogTable::Action,
    "log_link_visit_action.idaction_url",
    ActionType::Outlink,
    false,
    false,
);
/// Event URLs share the event category type (MATOMO.md section 3.1) and are
/// not in Matomo's list of names stored unescaped.
const EVENT_URL: Def = named(
    "eventUrl",
    LogTable::Action,
    "log_link_visit_action.idaction_url",
    ActionType::EventCategory,
    true,
    true,
);

const ACTION_URLS: [Def; 4] = [PAGE_URL, DOWNLOAD_URL, OUTLINK_URL, EVENT_URL];

const fn product_category(column: &'static str) -> Def {
    named(
        "productViewCategory",
        LogTable::Action,
        column,
        ActionType::EcommerceItemCategory,
        false,
        true,
    )
}

const PRODUCT_VIEW_CATEGORIES: [Def; 5] = [
    product_category("log_link_visit_action.idaction_product_cat"),
    product_category("log_link_visit_action.idaction_product_cat2"),
    product_category("log_link_visit_action.idaction_product_cat3"),
    product_category("log_link_visit_action.idaction_product_cat4"),
    product_category("log_link_visit_action.idaction_product_cat5"),
];

const fn item_category(column: &'static str) -> Def {
    named(
        "productCategory",
        LogTable::ConversionItem,
        column,
        ActionType::EcommerceItemCategory,
        false,
        true,
    )
}

/// `productCategory`: any of the five categories of an ordered or cart item.
const ITEM_CATEGORIES: [Def; 5] = [
    item_category("log_conversion_item.idaction_category"),
    item_category("log_conversion_item.idaction_category2"),
    item_category("log_conversion_item.idaction_category3"),
    item_category("log_conversion_item.idaction_category4"),
    item_category("log_conversion_item.idaction_category5"),
];

const CUSTOM_VARIABLE_NAMES: [Def; 5] = [
    visit(
        "customVariableName1",
        "log_visit.custom_var_k1",
        ValueKind::Text,
    ),
    visit(
        "customVariableName2",
        "log_visit.custom_var_k2",
        ValueKind::Text,
    ),
    visit(
        "customVariableName3",
        "log_visit.custom_var_k3",
        ValueKind::Text,
    ),
    visit(
        "customVariableName4",
        "log_visit.custom_var_k4",
        ValueKind::Text,
    ),
    visit(
        "customVariableName5",
        "log_visit.custom_var_k5",
        ValueKind::Text,
    ),
];
const CUSTOM_VARIABLE_VALUES: [Def; 5] = [
    visit(
        "customVariableValue1",
        "log_visit.custom_var_v1",
        ValueKind::Text,
    ),
    visit(
        "customVariableValue2",
        "log_visit.custom_var_v2",
        ValueKind::Text,
    ),
    visit(
        "customVariableValue3",
        "log_visit.custom_var_v3",
        ValueKind::Text,
    ),
    visit(
        "customVariableValue4",
        "log_visit.custom_var_v4",
        ValueKind::Text,
    ),
    visit(
        "customVariableValue5",
        "log_visit.custom_var_v5",
        ValueKind::Text,
    ),
];
const CUSTOM_VARIABLE_PAGE_NAMES: [Def; 5] = [
    action(
        "customVariablePageName1",
        "log_link_visit_action.custom_var_k1",
        ValueKind::Text,
    ),
    action(
        "customVariablePageName2",
        "log_link_visit_action.custom_var_k2",
        ValueKind::Text,
    ),
    action(
        "customVariablePageName3",
        "log_link_visit_action.custom_var_k3",
        ValueKind::Text,
    ),
    action(
        "customVariablePageName4",
        "log_link_visit_action.custom_var_k4",
        ValueKind::Text,
    ),
    action(
        "customVariablePageName5",
        "log_link_visit_action.custom_var_k5",
        ValueKind::Text,
    ),
];
const CUSTOM_VARIABLE_PAGE_VALUES: [Def; 5] = [
    action(
        "customVariablePageValue1",
        "log_link_visit_action.custom_var_v1",
        ValueKind::Text,
    ),
    action(
        "customVariablePageValue2",
        "log_link_visit_action.custom_var_v2",
        ValueKind::Text,
    ),
    action(
        "customVariablePageValue3",
        "log_link_visit_action.custom_var_v3",
        ValueKind::Text,
    ),
    action(
        "customVariablePageValue4",
        "log_link_visit_action.custom_var_v4",
        ValueKind::Text,
    ),
    action(
        "customVariablePageValue5",
        "log_link_visit_action.custom_var_v5",
        ValueKind::Text,
    ),
];

/// `custom_dimension_1..5` of each scope (the columns we create).
const VISIT_DIMENSIONS: [&str; 5] = [
    "log_visit.custom_dimension_1",
    "log_visit.custom_dimension_2",
    "log_visit.custom_dimension_3",
    "log_visit.custom_dimension_4",
    "log_visit.custom_dimension_5",
];
const ACTION_DIMENSIONS: [&str; 5] = [
    "log_link_visit_action.custom_dimension_1",
    "log_link_visit_action.custom_dimension_2",
    "log_link_visit_action.custom_dimension_3",
    "log_link_visit_action.custom_dimension_4",
    "log_link_visit_action.custom_dimension_5",
];

/// Segment names and where they read (Matomo's dimension classes,
/// `plugins/*/Columns`, as summarised in MATOMO.md section 7.11).
static CATALOGUE: &[Def] = &[
    // Visit identity and counters.
    visit("visitId", "log_visit.idvisit", ValueKind::Number),
    visit("visitorId", "log_visit.idvisitor", ValueKind::VisitorId),
    visit("fingerprint", "log_visit.config_id", ValueKind::VisitorId),
    visit("userId", "log_visit.user_id", ValueKind::Text),
    visit("visitIp", "log_visit.location_ip", ValueKind::Ip),
    visit(
        "visitorType",
        "log_visit.visitor_returning",
        ValueKind::Named(Names::VisitorType),
    ),
    visit(
        "visitCount",
        "log_visit.visitor_count_visits",
        ValueKind::Number,
    ),
    visit(
        "visitDuration",
        "log_visit.visit_total_time",
        ValueKind::Number,
    ),
    visit(
        "actions",
        "log_visit.visit_total_actions",
        ValueKind::Number,
    ),
    visit(
        "interactions",
        "log_visit.visit_total_interactions",
        ValueKind::Number,
    ),
    visit(
        "searches",
        "log_visit.visit_total_searches",
        ValueKind::Number,
    ),
    visit("events", "log_visit.visit_total_events", ValueKind::Number),
    visit(
        "visitConverted",
        "log_visit.visit_goal_converted",
        ValueKind::Number,
    ),
    visit(
        "visitEcommerceStatus",
        "log_visit.visit_goal_buyer",
        ValueKind::Named(Names::EcommerceStatus),
    ),
    visit("profilable", "log_visit.profilable", ValueKind::Number),
    // Visitor history (seconds columns; days are derived).
    // Matomo lists `ROUND(seconds / 86400)` on the dimension but the
    // segment compares the seconds with the value times 86400: `==1`
    // matches exactly 86400 seconds, `<1` anything under a day.
    visit(
        "daysSinceFirstVisit",
        "log_visit.visitor_seconds_since_first",
        ValueKind::Days,
    ),
    visit(
        "secondsSinceFirstVisit",
        "log_visit.visitor_seconds_since_first",
        ValueKind::Number,
    ),
    visit(
        "daysSinceLastVisit",
        "FLOOR(log_visit.visitor_seconds_since_last / 86400)",
        ValueKind::Number,
    ),
    visit(
        "secondsSinceLastVisit",
        "log_visit.visitor_seconds_since_last",
        ValueKind::Number,
    ),
    visit(
        "daysSinceLastEcommerceOrder",
        "FLOOR(log_visit.visitor_seconds_since_order / 86400)",
        ValueKind::Number,
    ),
    visit(
        "secondsSinceLastEcommerceOrder",
        "log_visit.visitor_seconds_since_order",
        ValueKind::Number,
    ),
    // Visit times (UTC, as stored).
    visit(
        "visitServerHour",
        "HOUR(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitStartServerHour",
        "HOUR(log_visit.visit_first_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitStartServerMinute",
        "MINUTE(log_visit.visit_first_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerDate",
        "DATE(log_visit.visit_last_action_time)",
        ValueKind::Date,
    ),
    visit(
        "visitEndServerYear",
        "YEAR(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerMonth",
        "MONTH(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerQuarter",
        "QUARTER(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerWeekOfYear",
        "WEEKOFYEAR(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerDayOfYear",
        "DAYOFYEAR(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerDayOfMonth",
        "DAYOFMONTH(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerDayOfWeek",
        "DAYOFWEEK(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerMinute",
        "MINUTE(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitEndServerSecond",
        "SECOND(log_visit.visit_last_action_time)",
        ValueKind::Number,
    ),
    visit(
        "visitLocalHour",
        "HOUR(log_visit.visitor_localtime)",
        ValueKind::Number,
    ),
    visit(
        "visitLocalMinute",
        "MINUTE(log_visit.visitor_localtime)",
        ValueKind::Number,
    ),
    // Referrers.
    visit(
        "referrerType",
        "log_visit.referer_type",
        ValueKind::Named(Names::ReferrerType),
    ),
    visit("referrerName", "log_visit.referer_name", ValueKind::Text),
    visit(
        "referrerKeyword",
        "log_visit.referer_keyword",
        ValueKind::Text,
    ),
    visit("referrerUrl", "log_visit.referer_url", ValueKind::Text),
    // Location.
    visit(
        "countryCode",
        "log_visit.location_country",
        ValueKind::LowerText,
    ),
    visit(
        "countryName",
        "log_visit.location_country",
        ValueKind::CountryName,
    ),
    Def {
        name: "continentCode",
        target: Target::Continent,
    },
    visit("regionCode", "log_visit.location_region", ValueKind::Text),
    visit("city", "log_visit.location_city", ValueKind::Text),
    visit("latitude", "log_visit.location_latitude", ValueKind::Number),
    visit(
        "longitude",
        "log_visit.location_longitude",
        ValueKind::Number,
    ),
    visit(
        "languageCode",
        "log_visit.location_browser_lang",
        ValueKind::LowerText,
    ),
    // Devices.
    visit(
        "browserCode",
        "log_visit.config_browser_name",
        ValueKind::Text,
    ),
    visit(
        "browserName",
        "log_visit.config_browser_name",
        ValueKind::BrowserName,
    ),
    visit(
        "browserVersion",
        "log_visit.config_browser_version",
        ValueKind::Text,
    ),
    visit(
        "browserEngine",
        "log_visit.config_browser_engine",
        ValueKind::Text,
    ),
    visit(
        "operatingSystemCode",
        "log_visit.config_os",
        ValueKind::Text,
    ),
    visit(
        "operatingSystemName",
        "log_visit.config_os",
        ValueKind::OsName,
    ),
    visit(
        "operatingSystemVersion",
        "log_visit.config_os_version",
        ValueKind::Text,
    ),
    visit(
        "deviceType",
        "log_visit.config_device_type",
        ValueKind::Named(Names::DeviceType),
    ),
    visit(
        "deviceBrand",
        "log_visit.config_device_brand",
        ValueKind::BrandName,
    ),
    visit(
        "deviceModel",
        "log_visit.config_device_model",
        ValueKind::Text,
    ),
    visit(
        "clientType",
        "log_visit.config_client_type",
        ValueKind::Named(Names::ClientType),
    ),
    visit("resolution", "log_visit.config_resolution", ValueKind::Text),
    // Entry and exit pages (visit columns holding idactions).
    named(
        "entryPageUrl",
        LogTable::Visit,
        "log_visit.visit_entry_idaction_url",
        ActionType::PageUrl,
        true,
        false,
    ),
    named(
        "entryPageTitle",
        LogTable::Visit,
        "log_visit.visit_entry_idaction_name",
        ActionType::PageTitle,
        false,
        true,
    ),
    named(
        "exitPageUrl",
        LogTable::Visit,
        "log_visit.visit_exit_idaction_url",
        ActionType::PageUrl,
        true,
        false,
    ),
    named(
        "exitPageTitle",
        LogTable::Visit,
        "log_visit.visit_exit_idaction_name",
        ActionType::PageTitle,
        false,
        true,
    ),
    // Actions.
    PAGE_URL,
    named(
        "pageTitle",
        LogTable::Action,
        "log_link_visit_action.idaction_name",
        ActionType::PageTitle,
        false,
        true,
    ),
    DOWNLOAD_URL,
    OUTLINK_URL,
    Def {
        name: "actionUrl",
        target: Target::Union(&ACTION_URLS),
    },
    Def {
        name: "actionType",
        target: Target::ActionTypeOfUrl,
    },
    action(
        "actionServerHour",
        "HOUR(log_link_visit_action.server_time)",
        ValueKind::Number,
    ),
    action(
        "actionServerMinute",
        "MINUTE(log_link_visit_action.server_time)",
        ValueKind::Number,
    ),
    named(
        "siteSearchKeyword",
        LogTable::Action,
        "log_link_visit_action.idaction_name",
        ActionType::SiteSearch,
        false,
        true,
    ),
    action(
        "siteSearchCategory",
        "log_link_visit_action.search_cat",
        ValueKind::Text,
    ),
    action(
        "siteSearchCount",
        "log_link_visit_action.search_count",
        ValueKind::Number,
    ),
    // Events.
    named(
        "eventCategory",
        LogTable::Action,
        "log_link_visit_action.idaction_event_category",
        ActionType::EventCategory,
        false,
        true,
    ),
    named(
        "eventAction",
        LogTable::Action,
        "log_link_visit_action.idaction_event_action",
        ActionType::EventAction,
        false,
        true,
    ),
    named(
        "eventName",
        LogTable::Action,
        "log_link_visit_action.idaction_name",
        ActionType::EventName,
        false,
        true,
    ),
    action(
        "eventValue",
        "log_link_visit_action.custom_float",
        ValueKind::Number,
    ),
    EVENT_URL,
    // Contents (the content name is stored unescaped, like URLs).
    named(
        "contentName",
        LogTable::Action,
        "log_link_visit_action.idaction_content_name",
        ActionType::ContentName,
        false,
        false,
    ),
    named(
        "contentPiece",
        LogTable::Action,
        "log_link_visit_action.idaction_content_piece",
        ActionType::ContentPiece,
        false,
        true,
    ),
    named(
        "contentTarget",
        LogTable::Action,
        "log_link_visit_action.idaction_content_target",
        ActionType::ContentTarget,
        false,
        true,
    ),
    named(
        "contentInteraction",
        LogTable::Action,
        "log_link_visit_action.idaction_content_interaction",
        ActionType::ContentInteraction,
        false,
        true,
    ),
    // Product page views.
    named(
        "productViewSku",
        LogTable::Action,
        "log_link_visit_action.idaction_product_sku",
        ActionType::EcommerceItemSku,
        false,
        true,
    ),
    named(
        "productViewName",
        LogTable::Action,
        "log_link_visit_action.idaction_product_name",
        ActionType::EcommerceItemName,
        false,
        true,
    ),
    Def {
        name: "productViewCategory",
        target: Target::Union(&PRODUCT_VIEW_CATEGORIES),
    },
    action(
        "productViewPrice",
        "log_link_visit_action.product_price",
        ValueKind::Number,
    ),
    // Items of orders and carts (`log_conversion_item`).
    named(
        "productSku",
        LogTable::ConversionItem,
        "log_conversion_item.idaction_sku",
        ActionType::EcommerceItemSku,
        false,
        true,
    ),
    named(
        "productName",
        LogTable::ConversionItem,
        "log_conversion_item.idaction_name",
        ActionType::EcommerceItemName,
        false,
        true,
    ),
    Def {
        name: "productCategory",
        target: Target::Union(&ITEM_CATEGORIES),
    },
    Def {
        name: "productPrice",
        target: Target::Column {
            table: LogTable::ConversionItem,
            expr: "log_conversion_item.price",
            kind: ValueKind::Number,
        },
    },
    // Conversions.
    conversion(
        "visitConvertedGoalId",
        "log_conversion.idgoal",
        ValueKind::Number,
    ),
    Def {
        name: "visitConvertedGoalName",
        target: Target::GoalName,
    },
    conversion("orderId", "log_conversion.idorder", ValueKind::Text),
    Def {
        name: "revenueOrder",
        target: Target::EcommerceRevenue(tally_schema::IDGOAL_ECOMMERCE_ORDER),
    },
    Def {
        name: "revenueAbandonedCart",
        target: Target::EcommerceRevenue(tally_schema::IDGOAL_ECOMMERCE_CART),
    },
    // Custom variables (plugin CustomVariables): one slot, or any slot.
    CUSTOM_VARIABLE_NAMES[0],
    CUSTOM_VARIABLE_NAMES[1],
    CUSTOM_VARIABLE_NAMES[2],
    CUSTOM_VARIABLE_NAMES[3],
    CUSTOM_VARIABLE_NAMES[4],
    CUSTOM_VARIABLE_VALUES[0],
    CUSTOM_VARIABLE_VALUES[1],
    CUSTOM_VARIABLE_VALUES[2],
    CUSTOM_VARIABLE_VALUES[3],
    CUSTOM_VARIABLE_VALUES[4],
    CUSTOM_VARIABLE_PAGE_NAMES[0],
    CUSTOM_VARIABLE_PAGE_NAMES[1],
    CUSTOM_VARIABLE_PAGE_NAMES[2],
    CUSTOM_VARIABLE_PAGE_NAMES[3],
    CUSTOM_VARIABLE_PAGE_NAMES[4],
    CUSTOM_VARIABLE_PAGE_VALUES[0],
    CUSTOM_VARIABLE_PAGE_VALUES[1],
    CUSTOM_VARIABLE_PAGE_VALUES[2],
    CUSTOM_VARIABLE_PAGE_VALUES[3],
    CUSTOM_VARIABLE_PAGE_VALUES[4],
    Def {
        name: "customVariableName",
        target: Target::Union(&CUSTOM_VARIABLE_NAMES),
    },
    Def {
        name: "customVariableValue",
        target: Target::Union(&CUSTOM_VARIABLE_VALUES),
    },
    Def {
        name: "customVariablePageName",
        target: Target::Union(&CUSTOM_VARIABLE_PAGE_NAMES),
    },
    Def {
        name: "customVariablePageValue",
        target: Target::Union(&CUSTOM_VARIABLE_PAGE_VALUES),
    },
];

/// The built-in segment names, for `API.getSegmentsMetadata`: each name
/// with the `sqlSegment` Matomo lists for it (a column or expression, the
/// `idaction` column behind an action name; `None` for a union of
/// segments, which has none). Site-specific `dimension<id>` names are not
/// listed.
pub fn catalogue() -> impl Iterator<Item = (&'static str, Option<String>)> {
    CATALOGUE.iter().map(|def| {
        let sql = match def.target {
            Target::Column { table, expr, .. } => Some(if expr.contains('.') {
                expr.to_owned()
            } else {
                format!("{}.{expr}", table.name())
            }),
            Target::ActionName { column, .. } => Some(column.to_owned()),
            Target::ActionTypeOfUrl => Some("log_action.type".to_owned()),
            // Matomo's `GoalName` dimension reads `idgoal`, joined to the
            // goal's name.
            Target::GoalName => Some("log_conversion.idgoal".to_owned()),
            Target::EcommerceRevenue(_) => Some("log_conversion.idvisit".to_owned()),
            Target::Continent => Some("log_visit.location_country".to_owned()),
            Target::Union(_) => None,
        };
        (def.name, sql)
    })
}

fn lookup(name: &str, context: &SegmentContext) -> Option<Def> {
    if let Some(def) = CATALOGUE.iter().find(|def| def.name == name) {
        return Some(*def);
    }
    // `dimension<id>` of the site's custom dimensions.
    let id: u32 = name.strip_prefix("dimension")?.parse().ok()?;
    let dimension = context.custom_dimensions.iter().find(|d| d.id == id)?;
    let slot = usize::from(dimension.index).checked_sub(1)?;
    let (table, columns) = match dimension.scope {
        DimensionScope::Visit => (LogTable::Visit, &VISIT_DIMENSIONS),
        DimensionScope::Action => (LogTable::Action, &ACTION_DIMENSIONS),
    };
    Some(Def {
        name: "dimension",
        target: Target::Column {
            table,
            expr: columns.get(slot)?,
            kind: ValueKind::Text,
        },
    })
}

// ---------------------------------------------------------------------------
// Resolving conditions

/// A condition checked against the catalogue, with its values converted.
#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    condition: Condition,
    table: LogTable,
    test: Test,
    /// One member, or one per segment of a union.
    members: Vec<Member>,
}

impl Leaf {
    /// `!=` / `!@` on an action or conversion segment: "no row of the visit
    /// matches" (Matomo's `idvisit NOT IN` subquery).
    fn is_negated_row_test(&self) -> bool {
        self.table != LogTable::Visit && matches!(self.test, Test::Ne | Test::NotContains)
    }

    fn push(&self, out: &mut SqlOut, test: Test) {
        match self.members.as_slice() {
            [member] => member.push(out, test),
            members => {
                out.sql.push('(');
                for (i, member) in members.iter().enumerate() {
                    if i > 0 {
                        out.sql.push_str(" OR ");
                    }
                    member.push(out, test);
                }
                out.sql.push(')');
            }
        }
    }
}

/// One catalogue target with the value prepared for it.
#[derive(Debug, Clone, PartialEq)]
struct Member {
    target: Target,
    value: Prepared,
    /// `!=` also matches NULL (the value is not PHP-empty).
    ne_matches_null: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Prepared {
    /// Empty-value tests.
    Nothing,
    /// A converted value for a comparison.
    Value(BindValue),
    /// A `LIKE` pattern, escaped for `ESCAPE '!'`.
    Pattern(String),
    /// Action names to look up exactly (the normalised form first).
    ActionNames(Vec<String>),
    /// The country codes of a continent.
    Countries(Vec<&'static str>),
}

fn resolve(condition: Condition, context: &SegmentContext) -> Result<Leaf, SegmentError> {
    let def = lookup(&condition.name, context).ok_or_else(|| SegmentError::UnknownSegment {
        name: shown(&condition.name),
    })?;
    let empty = condition.value.is_empty();
    if empty && !matches!(condition.operator, Operator::Equals | Operator::NotEquals) {
        return Err(SegmentError::EmptyValue {
            name: shown(&condition.name),
            operator: condition.operator.symbol(),
        });
    }
    let test = Test::of(condition.operator, empty);
    let members = match def.target {
        Target::Union(defs) => defs
            .iter()
            .map(|member| prepare(member.target, test, &condition))
            .collect::<Result<Vec<_>, _>>()?,
        target => vec![prepare(target, test, &condition)?],
    };
    Ok(Leaf {
        table: def.target.table(),
        condition,
        test,
        members,
    })
}

fn prepare(target: Target, test: Test, condition: &Condition) -> Result<Member, SegmentError> {
    let unsupported = || SegmentError::UnsupportedOperator {
        name: shown(&condition.name),
        operator: condition.operator.symbol(),
    };
    let value = condition.value.as_str();
    let member = |value: Prepared, ne_matches_null: bool| Member {
        target,
        value,
        ne_matches_null,
    };
    if matches!(test, Test::NullOrEmpty | Test::NotNullNorEmpty) {
        return match target {
            Target::ActionTypeOfUrl | Target::GoalName | Target::EcommerceRevenue(_) => {
                Err(SegmentError::EmptyValueNotSupported {
                    name: shown(&condition.name),
                })
            }
            _ => Ok(member(Prepared::Nothing, false)),
        };
    }
    match target {
        Target::Column { kind, .. } => {
            if test.is_like() {
                let text = match kind {
                    ValueKind::VisitorId | ValueKind::Ip | ValueKind::Named(_) => {
                        return Err(unsupported());
                    }
                    ValueKind::LowerText => value.to_lowercase(),
                    // Matomo converts the value before it builds the
                    // pattern: `browserName=@Chrome` looks for `%CH%`,
                    // `countryName=@Germany` for `%de%` (and a name it
                    // does not know for `%UNK%`, which no code contains),
                    // `deviceBrand=@Apple` for `%AP%`.
                    ValueKind::BrowserName
                    | ValueKind::OsName
                    | ValueKind::CountryName
                    | ValueKind::BrandName
                    | ValueKind::Days => match convert(kind, condition)?.0 {
                        BindValue::Text(text) => text,
                        BindValue::Integer(number) => number.to_string(),
                        _ => return Err(unsupported()),
                    },
                    _ => value.to_owned(),
                };
                return Ok(member(Prepared::Pattern(test.like_pattern(&text)), true));
            }
            let (bind, php_empty) = convert(kind, condition)?;
            Ok(member(Prepared::Value(bind), !php_empty))
        }
        Target::ActionName {
            strip_scheme,
            sanitized,
            ..
        } => {
            if test.is_ordering() {
                return Err(unsupported());
            }
            let typed = if strip_scheme {
                strip_url_scheme(value)
            } else {
                value
            };
            let unescaped = html_unescape(typed);
            let normalised = if sanitized {
                html_escape(&unescaped)
            } else {
                unescaped
            };
            if test.is_like() {
                return Ok(member(
                    Prepared::Pattern(test.like_pattern(&normalised)),
                    true,
                ));
            }
            // Matomo tries the value as typed when the normalised one is
            // not found (e.g. an outlink stored with `&amp;`).
            let mut names = vec![normalised];
            if names.iter().all(|name| name != typed) {
                names.push(typed.to_owned());
            }
            Ok(member(Prepared::ActionNames(names), true))
        }
        Target::ActionTypeOfUrl => {
            if !matches!(test, Test::Eq | Test::Ne) {
                return Err(unsupported());
            }
            let code = Names::ActionType
                .code(value)
                .ok_or_else(|| invalid(condition, Names::ActionType.expected()))?;
            Ok(member(Prepared::Value(BindValue::Integer(code)), true))
        }
        Target::GoalName => {
            if test.is_ordering() {
                return Err(unsupported());
            }
            if test.is_like() {
                return Ok(member(Prepared::Pattern(test.like_pattern(value)), true));
            }
            Ok(member(
                Prepared::Value(BindValue::Text(value.to_owned())),
                true,
            ))
        }
        Target::EcommerceRevenue(_) => {
            // Matomo's filter takes these operators only, and binds the
            // value as a float.
            if !matches!(test, Test::Eq | Test::Lt | Test::Le | Test::Gt | Test::Ge) {
                return Err(unsupported());
            }
            let (bind, _) = convert(ValueKind::Number, condition)?;
            Ok(member(Prepared::Value(bind), true))
        }
        Target::Continent => {
            if !matches!(test, Test::Eq | Test::Ne) {
                return Err(unsupported());
            }
            if !tally_schema::geo::is_continent(value) {
                return Err(invalid(
                    condition,
                    "eur, asi, amc, amn, ams, afr, ant or oce",
                ));
            }
            let countries = tally_schema::geo::continent_countries(value).collect();
            Ok(member(Prepared::Countries(countries), true))
        }
        // Unions are expanded by `resolve`; a union inside a union does not
        // exist in the catalogue.
        Target::Union(_) => Err(unsupported()),
    }
}

fn invalid(condition: &Condition, expected: &'static str) -> SegmentError {
    SegmentError::InvalidValue {
        name: shown(&condition.name),
        value: shown(&condition.value),
        expected,
    }
}

/// The value to bind for a comparison, and whether PHP's `empty()` holds
/// for it (then Matomo's `!=` does not also match NULL).
fn convert(kind: ValueKind, condition: &Condition) -> Result<(BindValue, bool), SegmentError> {
    let value = condition.value.as_str();
    Ok(match kind {
        ValueKind::Text => (BindValue::Text(value.to_owned()), value == "0"),
        ValueKind::LowerText => (BindValue::Text(value.to_lowercase()), value == "0"),
        ValueKind::Number => {
            let trimmed = value.trim();
            let number = if let Ok(integer) = trimmed.parse::<i64>() {
                BindValue::Integer(integer)
            } else {
                match trimmed.parse::<f64>() {
                    Ok(float) if float.is_finite() && !trimmed.is_empty() => {
                        BindValue::Float(float)
                    }
                    _ => return Err(invalid(condition, "a number")),
                }
            };
            (number, value == "0")
        }
        ValueKind::VisitorId => {
            // Checked here: `from_str_radix` would also take a `+` sign.
            let hex_digits = value.len() == 16 && value.bytes().all(|b| b.is_ascii_hexdigit());
            let id = tally_schema::VisitorId::from_hex(value)
                .filter(|_| hex_digits)
                .ok_or_else(|| invalid(condition, "16 hexadecimal digits"))?;
            (BindValue::Binary(id.0.to_vec()), false)
        }
        ValueKind::Ip => {
            let address: std::net::IpAddr = value
                .trim()
                .parse()
                .map_err(|_| invalid(condition, "an IPv4 or IPv6 address"))?;
            let bytes = match address {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            (BindValue::Binary(bytes), false)
        }
        ValueKind::Date => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = time::Date::parse(value.trim(), format)
                .map_err(|_| invalid(condition, "a date YYYY-MM-DD"))?;
            let text = date
                .format(format)
                .map_err(|_| invalid(condition, "a date YYYY-MM-DD"))?;
            (BindValue::Text(text), false)
        }
        ValueKind::CountryName => {
            // `array_search` in Matomo's English country list: exact.
            let code = tally_schema::geo::COUNTRIES
                .iter()
                .find(|(_, _, name)| *name == value)
                .map_or("UNK", |(code, _, _)| *code);
            (BindValue::Text(code.to_owned()), false)
        }
        ValueKind::BrowserName => {
            let code = tally_schema::devices::browser_code(value).unwrap_or("UNK");
            (BindValue::Text(code.to_owned()), false)
        }
        ValueKind::OsName => {
            let code = tally_schema::devices::os_code(value).unwrap_or("UNK");
            (BindValue::Text(code.to_owned()), false)
        }
        ValueKind::BrandName => {
            // Matomo's filter maps `General_Unknown` to the empty brand
            // (`== ''`, and a `!=` that does not add NULLs), and throws
            // for a name that is not one of DeviceDetector's brands.
            let code = if value == "Unknown" {
                ""
            } else {
                tally_schema::devices::brand_code(value).ok_or_else(|| {
                    invalid(condition, "a device brand name (Apple, Samsung, ...)")
                })?
            };
            (BindValue::Text(code.to_owned()), code.is_empty())
        }
        ValueKind::Days => {
            // PHP's `(int)` truncates toward zero; a value that is not a
            // number is refused, as for the other numeric segments.
            let days = match convert(ValueKind::Number, condition)?.0 {
                BindValue::Integer(days) => days,
                BindValue::Float(days) => days.trunc() as i64,
                _ => return Err(invalid(condition, "a number")),
            };
            let seconds = days.saturating_mul(86_400);
            (BindValue::Integer(seconds), seconds == 0)
        }
        ValueKind::Named(names) => {
            let code = names
                .code(value)
                .ok_or_else(|| invalid(condition, names.expected()))?;
            (BindValue::Integer(code), code == 0)
        }
    })
}

/// Page and event URLs are stored without `http://`, `https://` and a
/// following `www.` (MATOMO.md section 3.3; Matomo's
/// `removeProtocolIfSegmentStoredWithoutIt`, case-insensitive).
fn strip_url_scheme(url: &str) -> &str {
    let strip = |s: &'static str, text: &str| -> Option<usize> {
        text.get(..s.len())
            .filter(|head| head.eq_ignore_ascii_case(s))
            .map(|_| s.len())
    };
    let after_scheme = strip("https://", url)
        .or_else(|| strip("http://", url))
        .unwrap_or(0);
    let Some(rest) = url.get(after_scheme..) else {
        return url;
    };
    if after_scheme == 0 {
        return url;
    }
    let after_www = strip("www.", rest).unwrap_or(0);
    rest.get(after_www..).unwrap_or(rest)
}

/// PHP `htmlspecialchars_decode($s, ENT_QUOTES)`, in one pass.
fn html_unescape(text: &str) -> String {
    const ENTITIES: [(&str, char); 7] = [
        ("&amp;", '&'),
        ("&quot;", '"'),
        ("&#039;", '\''),
        ("&#39;", '\''),
        ("&#x27;", '\''),
        ("&lt;", '<'),
        ("&gt;", '>'),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let tail = rest.get(at..).unwrap_or_default();
        match ENTITIES.iter().find(|(entity, _)| tail.starts_with(entity)) {
            Some((entity, c)) => {
                out.push(*c);
                rest = tail.get(entity.len()..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// PHP `htmlspecialchars($s, ENT_QUOTES)`: the form in which the tracker
/// stores titles, keywords, event and product names.
fn html_escape(text: &str) -> String {
    tally_datatable::format::htmlspecialchars(text, tally_datatable::format::Quotes::Both)
}

// ---------------------------------------------------------------------------
// SQL

#[derive(Debug, Default)]
struct SqlOut {
    sql: String,
    binds: Vec<BindValue>,
}

/// The non-visit tables whose rows an `EXISTS` must range over.
#[derive(Debug, Clone, Copy, Default)]
struct RowScopes {
    actions: bool,
    conversions: bool,
    items: bool,
}

impl RowScopes {
    fn of<'a>(leaves: impl Iterator<Item = &'a Leaf>) -> Self {
        leaves.fold(Self::default(), |scopes, leaf| Self {
            actions: scopes.actions || leaf.table == LogTable::Action,
            conversions: scopes.conversions || leaf.table == LogTable::Conversion,
            items: scopes.items || leaf.table == LogTable::ConversionItem,
        })
    }

    fn any(self) -> bool {
        self.actions || self.conversions || self.items
    }

    /// `SELECT 1 FROM <rows of the outer visit> WHERE <correlation> AND (`;
    /// the caller closes both parentheses. Aliases are the table names, so
    /// the catalogue's expressions read the inner rows; the outer visit is
    /// `log_visit` (never re-aliased inside).
    fn push_source(self, out: &mut SqlOut) {
        // Matomo starts from the actions when it reads any and LEFT JOINs
        // conversions and ordered items on the visit id; without actions,
        // they are LEFT JOINed to the visit, so a visit without one still
        // has a row, of NULLs.
        let visit_id = if self.actions {
            out.sql
                .push_str("SELECT 1 FROM log_link_visit_action AS log_link_visit_action");
            "log_link_visit_action.idvisit"
        } else {
            out.sql.push_str("SELECT 1 FROM log_visit AS segment_visit");
            "segment_visit.idvisit"
        };
        if self.conversions {
            out.sql.push_str(
                " LEFT JOIN log_conversion AS log_conversion ON log_conversion.idvisit = ",
            );
            out.sql.push_str(visit_id);
        }
        if self.items {
            // JoinGenerator: deleted items (an order's earlier versions,
            // abandoned carts' replaced items) are not considered.
            out.sql.push_str(
                " LEFT JOIN log_conversion_item AS log_conversion_item \
                 ON log_conversion_item.idvisit = ",
            );
            out.sql.push_str(visit_id);
            out.sql.push_str(" AND log_conversion_item.deleted = 0");
        }
        out.sql.push_str(" WHERE ");
        out.sql.push_str(visit_id);
        out.sql.push_str(" = log_visit.idvisit AND (");
    }
}

/// `NOT EXISTS` over the rows of the visit where all `leaves` hold with their
/// operators inverted.
fn push_not_exists(out: &mut SqlOut, leaves: &[&Leaf]) {
    out.sql.push_str("NOT EXISTS (");
    RowScopes::of(leaves.iter().copied()).push_source(out);
    for (i, leaf) in leaves.iter().enumerate() {
        if i > 0 {
            out.sql.push_str(" AND ");
        }
        leaf.push(out, leaf.test.inverted());
    }
    out.sql.push_str("))");
}

impl Member {
    fn push(&self, out: &mut SqlOut, test: Test) {
        match self.target {
            Target::Column { expr, .. } => self.push_column(out, expr, test),
            Target::ActionName {
                column,
                action_type,
                ..
            } => self.push_action_name(out, column, action_type, test),
            Target::ActionTypeOfUrl => {
                out.sql.push_str(
                    "log_link_visit_action.idaction_url IN \
                     (SELECT idaction FROM log_action WHERE type = ?)",
                );
                self.push_value(out);
            }
            Target::GoalName => {
                out.sql.push_str(
                    "log_conversion.idgoal IN (SELECT goal.idgoal FROM goal \
                     WHERE goal.idsite = log_conversion.idsite AND goal.name ",
                );
                out.sql.push_str(if test.is_like() {
                    "LIKE ? ESCAPE '!')"
                } else {
                    "= ?)"
                });
                self.push_value(out);
            }
            Target::EcommerceRevenue(idgoal) => {
                // A visit-level test, as Matomo's `idvisit IN` subquery:
                // with other conversion conditions it needs no common row.
                // The goal id comes from the catalogue, never from the
                // definition.
                out.sql.push_str(&format!(
                    "log_conversion.idvisit IN (SELECT revenue_conversion.idvisit \
                     FROM log_conversion AS revenue_conversion \
                     WHERE revenue_conversion.idgoal = {idgoal} \
                     AND revenue_conversion.revenue {} ?)",
                    test.sql_comparison()
                ));
                self.push_value(out);
            }
            Target::Continent => match &self.value {
                Prepared::Countries(countries) => {
                    let column = "log_visit.location_country";
                    let list = vec!["?"; countries.len()].join(", ");
                    out.sql.push_str(&if test == Test::Ne {
                        format!("({column} IS NULL OR {column} NOT IN ({list}))")
                    } else {
                        format!("{column} IN ({list})")
                    });
                    self.push_value(out);
                }
                // Empty-value tests read the country column.
                _ => self.push_column(out, "log_visit.location_country", test),
            },
            // Expanded into members by `resolve`.
            Target::Union(_) => out.sql.push_str("1 = 0"),
        }
    }

    fn push_value(&self, out: &mut SqlOut) {
        match &self.value {
            Prepared::Value(value) => out.binds.push(value.clone()),
            Prepared::Pattern(pattern) => out.binds.push(BindValue::Text(pattern.clone())),
            Prepared::ActionNames(names) => {
                out.binds
                    .extend(names.iter().map(|name| BindValue::Text(name.clone())));
            }
            Prepared::Countries(countries) => {
                out.binds.extend(
                    countries
                        .iter()
                        .map(|code| BindValue::Text((*code).to_owned())),
                );
            }
            Prepared::Nothing => {}
        }
    }

    fn push_column(&self, out: &mut SqlOut, expr: &str, test: Test) {
        let sql = &mut out.sql;
        match test {
            Test::NullOrEmpty => {
                sql.push_str(&format!("({expr} IS NULL OR {expr} = '' OR {expr} = '0')"));
            }
            Test::NotNullNorEmpty => {
                sql.push_str(&format!(
                    "({expr} IS NOT NULL AND {expr} <> '' AND {expr} <> '0')"
                ));
            }
            Test::Contains | Test::StartsWith | Test::EndsWith => {
                sql.push_str(&format!("{expr} LIKE ? ESCAPE '!'"));
            }
            Test::NotContains => {
                sql.push_str(&format!("({expr} IS NULL OR {expr} NOT LIKE ? ESCAPE '!')"));
            }
            Test::Ne if self.ne_matches_null => {
                sql.push_str(&format!("({expr} IS NULL OR {expr} <> ?)"));
            }
            Test::Eq | Test::Ne | Test::Lt | Test::Le | Test::Gt | Test::Ge => {
                sql.push_str(&format!("{expr} {} ?", test.sql_comparison()));
            }
        }
        self.push_value(out);
    }

    fn push_action_name(
        &self,
        out: &mut SqlOut,
        column: &str,
        action_type: ActionType,
        test: Test,
    ) {
        // The type code comes from the catalogue, never from the definition.
        let lookup = format!(
            "SELECT idaction FROM log_action WHERE type = {}",
            action_type.code()
        );
        let names = match &self.value {
            Prepared::ActionNames(names) => names.len(),
            _ => 0,
        };
        let exact = || {
            let one = "(hash = CRC32(?) AND name = ?)";
            vec![one; names].join(" OR ")
        };
        let sql = &mut out.sql;
        match test {
            Test::Eq => sql.push_str(&format!("{column} IN ({lookup} AND ({}))", exact())),
            Test::Ne => sql.push_str(&format!(
                "({column} IS NULL OR {column} NOT IN ({lookup} AND ({})))",
                exact()
            )),
            Test::Contains | Test::StartsWith | Test::EndsWith => {
                sql.push_str(&format!(
                    "{column} IN ({lookup} AND name LIKE ? ESCAPE '!')"
                ));
            }
            Test::NotContains => sql.push_str(&format!(
                "{column} IN ({lookup} AND (name IS NULL OR name NOT LIKE ? ESCAPE '!'))"
            )),
            Test::NullOrEmpty => sql.push_str(&format!(
                "{column} IN ({lookup} AND (name IS NULL OR name = '' OR name = '0'))"
            )),
            Test::NotNullNorEmpty => sql.push_str(&format!(
                "{column} IN ({lookup} AND name IS NOT NULL AND name <> '' AND name <> '0')"
            )),
            // Refused by `prepare`: `<`, `>`... have no meaning on names.
            Test::Lt | Test::Le | Test::Gt | Test::Ge => {
                sql.push_str("1 = 0");
                return;
            }
        }
        match &self.value {
            // Each name binds twice: its CRC32 and itself.
            Prepared::ActionNames(names) => {
                for name in names {
                    out.binds.push(BindValue::Text(name.clone()));
                    out.binds.push(BindValue::Text(name.clone()));
                }
            }
            _ => self.push_value(out),
        }
    }
}

// ---------------------------------------------------------------------------
// MD5 (RFC 1321), for the archive hash: the crate has no md5 dependency and
// one short function is cheaper than adding one.

/// The lowercase hex md5 of `input` (Matomo's `md5()`).
fn md5_hex(input: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(input)
        .iter()
        .fold(String::with_capacity(32), |mut hex, byte| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(definition: &str) -> Segment {
        match Segment::parse(definition) {
            Ok(segment) => segment,
            Err(err) => panic!("{definition:?} should parse: {err}"),
        }
    }

    fn error(definition: &str) -> SegmentError {
        match Segment::parse(definition) {
            Ok(segment) => panic!("{definition:?} should fail, got {segment:?}"),
            Err(err) => err,
        }
    }

    /// (name, operator symbol, value) per OR-group.
    fn shape(definition: &str) -> Vec<Vec<(String, &'static str, String)>> {
        parse(definition)
            .groups()
            .into_iter()
            .map(|group| {
                group
                    .into_iter()
                    .map(|c| (c.name.clone(), c.operator.symbol(), c.value.clone()))
                    .collect()
            })
            .collect()
    }

    fn one(name: &str, op: &'static str, value: &str) -> (String, &'static str, String) {
        (name.to_owned(), op, value.to_owned())
    }

    #[test]
    fn or_binds_tighter_than_and() {
        assert_eq!(
            shape("countryCode==de;visitorType==new,visitorType==returning"),
            vec![
                vec![one("countryCode", "==", "de")],
                vec![
                    one("visitorType", "==", "new"),
                    one("visitorType", "==", "returning")
                ],
            ]
        );
        assert_eq!(
            shape("userId==a,userId==b;userId==c"),
            vec![
                vec![one("userId", "==", "a"), one("userId", "==", "b")],
                vec![one("userId", "==", "c")],
            ]
        );
    }

    #[test]
    fn every_operator_and_longest_first() {
        let cases = [
            ("visitCount==3", "==", "3"),
            ("visitCount!=3", "!=", "3"),
            ("visitCount<=3", "<=", "3"),
            ("visitCount>=3", ">=", "3"),
            ("visitCount<3", "<", "3"),
            ("visitCount>3", ">", "3"),
            ("userId=@ab", "=@", "ab"),
            ("userId!@ab", "!@", "ab"),
            ("userId=^ab", "=^", "ab"),
            ("userId=$ab", "=$", "ab"),
            // The first operator wins; the rest is value.
            ("userId===x", "==", "=x"),
            ("userId==<=x", "==", "<=x"),
            ("userId<=<x", "<=", "<x"),
        ];
        for (definition, op, value) in cases {
            let name = if definition.starts_with("visitCount") {
                "visitCount"
            } else {
                "userId"
            };
            assert_eq!(
                shape(definition),
                vec![vec![one(name, op, value)]],
                "{definition}"
            );
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(
            shape(r"referrerName==a\;b\,c"),
            vec![vec![one("referrerName", "==", "a;b,c")]]
        );
        // Only separators are escaped (Matomo 5): other backslashes are
        // literal, as ComplicatedSegmentTest's `product\category` needs.
        assert_eq!(
            shape(r"userId==a\\b"),
            vec![vec![one("userId", "==", r"a\\b")]]
        );
        assert_eq!(shape(r"userId==\a"), vec![vec![one("userId", "==", r"\a")]]);
        assert_eq!(
            shape(r"productCategory==product\category"),
            vec![vec![one("productCategory", "==", r"product\category")]]
        );
        assert_eq!(shape(r"userId==a\"), vec![vec![one("userId", "==", r"a\")]]);
        // An escaped separator does not split.
        assert_eq!(
            shape(r"userId==a\;userId==b"),
            vec![vec![one("userId", "==", "a;userId==b")]]
        );
        assert_eq!(
            shape(r"contentName==my\,video,userId==b"),
            vec![vec![
                one("contentName", "==", "my,video"),
                one("userId", "==", "b")
            ]]
        );
    }

    #[test]
    fn separators_at_the_end_are_literal_and_empty_and_parts_dropped() {
        assert_eq!(shape("userId==a;"), vec![vec![one("userId", "==", "a;")]]);
        assert_eq!(
            shape("userId==a;;userId==b"),
            vec![
                vec![one("userId", "==", "a")],
                vec![one("userId", "==", "b")]
            ]
        );
        assert_eq!(
            shape("userId==a,;userId==b"),
            vec![
                vec![one("userId", "==", "a,")],
                vec![one("userId", "==", "b")]
            ]
        );
        assert_eq!(shape(";userId==a"), vec![vec![one("userId", "==", "a")]]);
        assert_eq!(error(",userId==a"), SegmentError::EmptyCondition);
    }

    #[test]
    fn url_decoding() {
        // The whole definition once...
        assert_eq!(
            shape("pageUrl%3D%3Dhttps%253A%252F%252Fexample.org"),
            vec![vec![one("pageUrl", "==", "https://example.org")]]
        );
        // ...and each value again.
        assert_eq!(
            shape("userId==a%2520b"),
            vec![vec![one("userId", "==", "a b")]]
        );
        assert_eq!(shape("userId==a+b"), vec![vec![one("userId", "==", "a b")]]);
        // An encoded separator inside a value stays in the value: the raw
        // text yields more conditions than the decoded one.
        assert_eq!(
            shape("referrerName==a%2Cb;countryCode==fr"),
            vec![
                vec![one("referrerName", "==", "a,b")],
                vec![one("countryCode", "==", "fr")]
            ]
        );
        // An encoded separator between conditions splits.
        assert_eq!(
            shape("countryCode%3D%3Dfr%3BvisitorType%3D%3Dnew"),
            vec![
                vec![one("countryCode", "==", "fr")],
                vec![one("visitorType", "==", "new")]
            ]
        );
        // Broken percent sequences are literal.
        assert_eq!(
            shape("userId==%ZZ%4"),
            vec![vec![one("userId", "==", "%ZZ%4")]]
        );
        assert_eq!(error("userId==%C0%AF"), SegmentError::InvalidUtf8);
        assert_eq!(error("userId==a%00b"), SegmentError::NulCharacter);
        // A trailing NUL is trimmed with the whitespace, as PHP's trim does.
        assert_eq!(shape("userId==a%00"), vec![vec![one("userId", "==", "a")]]);
        assert_eq!(error("userId==a%2500"), SegmentError::NulCharacter);
    }

    #[test]
    fn empty_values() {
        let sql = parse("userId==").to_sql();
        assert_eq!(
            sql.where_sql,
            "(log_visit.user_id IS NULL OR log_visit.user_id = '' OR log_visit.user_id = '0')"
        );
        assert!(sql.binds.is_empty());
        let sql = parse("userId!=").to_sql();
        assert_eq!(
            sql.where_sql,
            "(log_visit.user_id IS NOT NULL AND log_visit.user_id <> '' AND log_visit.user_id <> '0')"
        );
        for op in ["<", "<=", ">", ">=", "=@", "!@", "=^", "=$"] {
            let definition = format!("userId{op}");
            assert!(
                matches!(error(&definition), SegmentError::EmptyValue { .. }),
                "{definition}"
            );
        }
        assert_eq!(
            error("userId=@").to_string(),
            "segment \"userId\" has no value after `=@`: only == (is empty) and != \
             (is not empty) accept an empty value"
        );
        // An action name: its `log_action` name is tested.
        let sql = parse("pageUrl!=").to_sql();
        assert!(
            sql.where_sql.contains(
                "log_link_visit_action.idaction_url IN (SELECT idaction FROM log_action \
                 WHERE type = 1 AND name IS NOT NULL AND name <> '' AND name <> '0')"
            ),
            "{}",
            sql.where_sql
        );
    }

    #[test]
    fn continent_code_is_the_continent_countries() {
        let sql = parse("continentCode==EUR").to_sql();
        let europe = tally_schema::geo::continent_countries("eur").count();
        assert!(europe > 40, "{europe}");
        assert!(
            sql.where_sql
                .starts_with("log_visit.location_country IN (?, ?, "),
            "{}",
            sql.where_sql
        );
        assert_eq!(sql.binds.len(), europe);
        assert!(sql.binds.contains(&BindValue::Text("gb".to_owned())));
        assert!(!sql.binds.contains(&BindValue::Text("us".to_owned())));
        let sql = parse("continentCode!=eur").to_sql();
        assert!(
            sql.where_sql.starts_with(
                "(log_visit.location_country IS NULL OR log_visit.location_country NOT IN (?, "
            ),
            "{}",
            sql.where_sql
        );
        assert!(matches!(
            error("continentCode=@eu"),
            SegmentError::UnsupportedOperator { .. }
        ));
        assert_eq!(
            error("continentCode==europe").to_string(),
            SegmentError::InvalidValue {
                name: "continentCode".to_owned(),
                value: "europe".to_owned(),
                expected: "eur, asi, amc, amn, ams, afr, ant or oce",
            }
            .to_string()
        );
    }

    #[test]
    fn empty_definition_is_all_visits() {
        for definition in ["", "  ", "%20"] {
            let segment = parse(definition);
            assert!(segment.is_empty());
            assert_eq!(segment.hash(), "");
            assert_eq!(segment.done_flag(), "done");
            assert_eq!(segment.to_sql().where_sql, "1 = 1");
        }
    }

    #[test]
    fn malformed_conditions() {
        assert_eq!(
            error("browserCode"),
            SegmentError::MissingOperator {
                condition: "browserCode".into()
            }
        );
        assert_eq!(
            error("==ff"),
            SegmentError::MissingName {
                condition: "==ff".into()
            }
        );
        assert_eq!(
            error("nope==1").to_string(),
            "segment \"nope\" is not a supported segment"
        );
        let long = format!("userId=={}", "a".repeat(MAX_DEFINITION_BYTES));
        assert_eq!(
            error(&long),
            SegmentError::TooLong {
                len: MAX_DEFINITION_BYTES + 8,
                max: MAX_DEFINITION_BYTES
            }
        );
        let many = vec!["visitCount>=1"; MAX_CONDITIONS + 1].join(";");
        assert!(matches!(
            error(&many),
            SegmentError::TooManyConditions {
                count: 101,
                max: 100
            }
        ));
        // Long names are cut in messages.
        let name = "x".repeat(200);
        match error(&format!("{name}==1")) {
            SegmentError::UnknownSegment { name } => assert_eq!(name.chars().count(), 83),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn value_conversions() {
        let binds = |definition: &str| parse(definition).to_sql().binds;
        assert_eq!(binds("countryCode==FR"), [BindValue::Text("fr".into())]);
        assert_eq!(
            binds("visitorType==returningCustomer"),
            [BindValue::Integer(2)]
        );
        assert_eq!(
            binds("visitEcommerceStatus==abandonedCart"),
            [BindValue::Integer(2)]
        );
        assert_eq!(binds("referrerType==campaign"), [BindValue::Integer(6)]);
        assert_eq!(
            binds("deviceType==Smart%2520Display"),
            [BindValue::Integer(7)]
        );
        assert_eq!(binds("deviceType==desktop"), [BindValue::Integer(0)]);
        assert_eq!(binds("clientType==mobile app"), [BindValue::Integer(5)]);
        assert_eq!(binds("actionType==downloads"), [BindValue::Integer(3)]);
        assert_eq!(binds("actionType==10"), [BindValue::Integer(10)]);
        assert_eq!(
            binds("visitorId==00FF10a0b0c0d0e1"),
            [BindValue::Binary(vec![
                0, 0xff, 0x10, 0xa0, 0xb0, 0xc0, 0xd0, 0xe1
            ])]
        );
        assert_eq!(
            binds("visitIp>=10.0.0.1"),
            [BindValue::Binary(vec![10, 0, 0, 1])]
        );
        assert_eq!(binds("visitIp==::1").len(), 1);
        assert_eq!(
            binds("visitEndServerDate==2024-02-29"),
            [BindValue::Text("2024-02-29".into())]
        );
        assert_eq!(binds("visitDuration>=10.5"), [BindValue::Float(10.5)]);
        assert_eq!(binds("visitCount==-3"), [BindValue::Integer(-3)]);
        assert_eq!(
            binds("userId=@50%25_x"),
            [BindValue::Text("%50!%!_x%".into())]
        );
        assert_eq!(binds("userId=^a!"), [BindValue::Text("a!!%".into())]);
        assert_eq!(binds("userId=$a"), [BindValue::Text("%a".into())]);
        assert_eq!(binds("visitCount=@1"), [BindValue::Text("%1%".into())]);

        for bad in [
            "visitorType==visitor",
            "visitorType==1",
            "visitEcommerceStatus==paid",
            "referrerType==ai",
            "deviceType==fridge",
            "actionType==clicks",
            "visitorId==00ff",
            "visitorId==+f+f+f+f+f+f+f+f",
            "fingerprint==zzzzzzzzzzzzzzzz",
            "visitIp==1.2.3",
            "visitEndServerDate==2024-02-30",
            "visitCount==ten",
            "visitCount==1e999",
            "visitCount==NaN",
            "revenueOrder>abc",
        ] {
            assert!(
                matches!(error(bad), SegmentError::InvalidValue { .. }),
                "{bad}"
            );
        }
        for bad in [
            "visitorId=@ab",
            "visitIp=^10.",
            "deviceType=@phone",
            "pageUrl<a",
            "pageTitle>=b",
            "actionType=@page",
            "actionType>1",
            "revenueOrder!=5",
            "revenueAbandonedCart=@5",
            "visitConvertedGoalName<a",
        ] {
            assert!(
                matches!(error(bad), SegmentError::UnsupportedOperator { .. }),
                "{bad}"
            );
        }
        for bad in ["actionType==", "revenueOrder=="] {
            assert!(
                matches!(error(bad), SegmentError::EmptyValueNotSupported { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn not_equal_matches_null_unless_php_empty() {
        assert_eq!(
            parse("referrerName!=x").to_sql().where_sql,
            "(log_visit.referer_name IS NULL OR log_visit.referer_name <> ?)"
        );
        assert_eq!(
            parse("referrerName!=0").to_sql().where_sql,
            "log_visit.referer_name <> ?"
        );
        assert_eq!(
            parse("visitorType!=new").to_sql().where_sql,
            "log_visit.visitor_returning <> ?"
        );
        assert_eq!(
            parse("visitorType!=returning").to_sql().where_sql,
            "(log_visit.visitor_returning IS NULL OR log_visit.visitor_returning <> ?)"
        );
        assert_eq!(
            parse("userId!@x").to_sql().where_sql,
            "(log_visit.user_id IS NULL OR log_visit.user_id NOT LIKE ? ESCAPE '!')"
        );
    }

    #[test]
    fn action_conditions_share_one_row() {
        let sql = parse("pageUrl==https://www.Example.org/a;visitCount>1").to_sql();
        assert_eq!(
            sql.where_sql,
            "EXISTS (SELECT 1 FROM log_link_visit_action AS log_link_visit_action \
             WHERE log_link_visit_action.idvisit = log_visit.idvisit AND (\
             (log_link_visit_action.idaction_url IN (SELECT idaction FROM log_action \
             WHERE type = 1 AND ((hash = CRC32(?) AND name = ?)))) \
             AND (log_visit.visitor_count_visits > ?)))"
        );
        // The scheme and `www.` are gone; the host keeps its case, as a
        // lookup in Matomo does.
        assert_eq!(
            sql.binds,
            [
                BindValue::Text("Example.org/a".into()),
                BindValue::Text("Example.org/a".into()),
                BindValue::Integer(1),
            ]
        );
        assert_eq!(sql.tables, [LogTable::Visit, LogTable::Action]);
    }

    #[test]
    fn negated_action_conditions_become_not_exists() {
        let sql = parse("pageTitle!=A & B").to_sql();
        assert_eq!(
            sql.where_sql,
            "NOT EXISTS (SELECT 1 FROM log_link_visit_action AS log_link_visit_action \
             WHERE log_link_visit_action.idvisit = log_visit.idvisit AND (\
             log_link_visit_action.idaction_name IN (SELECT idaction FROM log_action \
             WHERE type = 4 AND ((hash = CRC32(?) AND name = ?) OR (hash = CRC32(?) AND name = ?)))))"
        );
        assert_eq!(
            sql.binds,
            [
                BindValue::Text("A &amp; B".into()),
                BindValue::Text("A &amp; B".into()),
                BindValue::Text("A & B".into()),
                BindValue::Text("A & B".into()),
            ]
        );
        // Two in one OR-group share one NOT EXISTS; the visit condition stays.
        let sql = parse("pageUrl!@a,visitCount==1,downloadUrl!=b").to_sql();
        assert_eq!(
            sql.where_sql,
            "(log_visit.visitor_count_visits = ? OR NOT EXISTS (SELECT 1 FROM \
             log_link_visit_action AS log_link_visit_action \
             WHERE log_link_visit_action.idvisit = log_visit.idvisit AND (\
             log_link_visit_action.idaction_url IN (SELECT idaction FROM log_action \
             WHERE type = 1 AND name LIKE ? ESCAPE '!') AND \
             log_link_visit_action.idaction_url IN (SELECT idaction FROM log_action \
             WHERE type = 3 AND ((hash = CRC32(?) AND name = ?))))))"
        );
        // On a visit column holding an idaction, != is direct.
        assert_eq!(
            parse("entryPageUrl!=example.org/").to_sql().where_sql,
            "(log_visit.visit_entry_idaction_url IS NULL OR log_visit.visit_entry_idaction_url \
             NOT IN (SELECT idaction FROM log_action WHERE type = 1 AND \
             ((hash = CRC32(?) AND name = ?))))"
        );
    }

    #[test]
    fn conversions_are_left_joined() {
        let sql = parse("visitConvertedGoalId==").to_sql();
        assert_eq!(
            sql.where_sql,
            "EXISTS (SELECT 1 FROM log_visit AS segment_visit \
             LEFT JOIN log_conversion AS log_conversion \
             ON log_conversion.idvisit = segment_visit.idvisit \
             WHERE segment_visit.idvisit = log_visit.idvisit AND (\
             (log_conversion.idgoal IS NULL OR log_conversion.idgoal = '' \
             OR log_conversion.idgoal = '0')))"
        );
        let sql = parse("pageUrl=@x;orderId==A1").to_sql();
        assert!(sql.where_sql.starts_with(
            "EXISTS (SELECT 1 FROM log_link_visit_action AS log_link_visit_action \
             LEFT JOIN log_conversion AS log_conversion \
             ON log_conversion.idvisit = log_link_visit_action.idvisit"
        ));
        assert_eq!(
            sql.tables,
            [LogTable::Visit, LogTable::Action, LogTable::Conversion]
        );
    }

    #[test]
    fn ordered_items_are_left_joined_without_deleted_rows() {
        let sql = parse("productSku=@ABC").to_sql();
        assert!(
            sql.where_sql.starts_with(
                "EXISTS (SELECT 1 FROM log_visit AS segment_visit \
                 LEFT JOIN log_conversion_item AS log_conversion_item \
                 ON log_conversion_item.idvisit = segment_visit.idvisit \
                 AND log_conversion_item.deleted = 0 \
                 WHERE segment_visit.idvisit = log_visit.idvisit AND (\
                 log_conversion_item.idaction_sku IN (SELECT idaction FROM log_action"
            ),
            "{}",
            sql.where_sql
        );
        assert_eq!(sql.tables, [LogTable::Visit, LogTable::ConversionItem]);
        // Any of the five categories.
        let sql = parse(r"productCategory==product\category").to_sql();
        for column in [
            "idaction_category ",
            "idaction_category2",
            "idaction_category5",
        ] {
            assert!(
                sql.where_sql
                    .contains(&format!("log_conversion_item.{column}")),
                "{column}"
            );
        }
        // With actions and conversions: one row of each, joined on the visit.
        let sql = parse("pageUrl=@x;orderId==A1;productName!@plugin;productPrice>10").to_sql();
        assert!(sql.where_sql.starts_with(
            "EXISTS (SELECT 1 FROM log_link_visit_action AS log_link_visit_action \
             LEFT JOIN log_conversion AS log_conversion \
             ON log_conversion.idvisit = log_link_visit_action.idvisit \
             LEFT JOIN log_conversion_item AS log_conversion_item \
             ON log_conversion_item.idvisit = log_link_visit_action.idvisit \
             AND log_conversion_item.deleted = 0 WHERE"
        ));
        assert!(sql.where_sql.contains(
            "NOT EXISTS (SELECT 1 FROM log_visit AS segment_visit \
             LEFT JOIN log_conversion_item"
        ));
    }

    #[test]
    fn unions_and_custom_dimensions() {
        let sql = parse("actionUrl=^https://example.org").to_sql();
        assert_eq!(
            sql.binds,
            [
                BindValue::Text("example.org%".into()),
                BindValue::Text("https://example.org%".into()),
                BindValue::Text("https://example.org%".into()),
                BindValue::Text("example.org%".into()),
            ]
        );
        assert_eq!(sql.where_sql.matches(" OR ").count(), 3);
        let sql = parse("customVariableName==k").to_sql();
        assert_eq!(sql.where_sql.matches("log_visit.custom_var_k").count(), 5);

        assert!(matches!(
            error("dimension3==x"),
            SegmentError::UnknownSegment { .. }
        ));
        let context = SegmentContext {
            custom_dimensions: vec![
                CustomDimension {
                    id: 3,
                    index: 2,
                    scope: DimensionScope::Action,
                },
                CustomDimension {
                    id: 4,
                    index: 9,
                    scope: DimensionScope::Visit,
                },
            ],
        };
        let segment = Segment::parse_with("dimension3==x", &context).map_err(|e| e.to_string());
        assert!(
            segment
                .map(|s| s.to_sql().where_sql)
                .is_ok_and(|sql| sql.contains("log_link_visit_action.custom_dimension_2 = ?"))
        );
        // Index 9 has no column.
        assert!(Segment::parse_with("dimension4==x", &context).is_err());
    }

    #[test]
    fn browser_and_system_names_become_codes() {
        let sql = |definition: &str| {
            let sql = parse(definition).to_sql();
            (sql.where_sql, sql.binds)
        };
        let text = |value: &str| vec![BindValue::Text(value.to_owned())];
        let (where_sql, binds) = sql("browserName==chrome");
        assert!(
            where_sql.contains("log_visit.config_browser_name = ?"),
            "{where_sql}"
        );
        assert_eq!(binds, text("CH"));
        assert_eq!(sql("browserName==Netscape").1, text("UNK"));
        // Matomo converts before it builds the pattern.
        let (where_sql, binds) = sql("browserName=@Internet Explorer");
        assert!(where_sql.contains("LIKE ?"), "{where_sql}");
        assert_eq!(binds, text("%IE%"));
        let (where_sql, binds) = sql("operatingSystemName!=gnu/linux");
        assert!(where_sql.contains("log_visit.config_os"), "{where_sql}");
        assert_eq!(binds, text("LIN"));
        assert_eq!(sql("operatingSystemName==Linux").1, text("UNK"));
    }

    /// Matomo's `DeviceBrand` filter: a brand name (exact) becomes its
    /// stored code for every operator, `Unknown` the empty brand, and any
    /// other name is an error.
    #[test]
    fn device_brand_names_become_codes() {
        let sql = |definition: &str| {
            let sql = parse(definition).to_sql();
            (sql.where_sql, sql.binds)
        };
        let text = |value: &str| vec![BindValue::Text(value.to_owned())];
        let (where_sql, binds) = sql("deviceBrand==Apple");
        assert!(
            where_sql.contains("log_visit.config_device_brand = ?"),
            "{where_sql}"
        );
        assert_eq!(binds, text("AP"));
        let (where_sql, binds) = sql("deviceBrand!=Samsung");
        assert!(where_sql.contains("IS NULL OR"), "{where_sql}");
        assert_eq!(binds, text("SA"));
        let (where_sql, binds) = sql("deviceBrand=@Apple");
        assert!(where_sql.contains("LIKE ?"), "{where_sql}");
        assert_eq!(binds, text("%AP%"));
        // `Unknown` is the empty brand; its `!=` adds no NULLs, as PHP's
        // `empty('')` holds.
        assert_eq!(sql("deviceBrand==Unknown").1, text(""));
        let (where_sql, _) = sql("deviceBrand!=Unknown");
        assert!(!where_sql.contains("IS NULL"), "{where_sql}");
        for refused in ["deviceBrand==apple", "deviceBrand==AP", "deviceBrand=@App"] {
            assert!(
                matches!(
                    Segment::parse(refused),
                    Err(SegmentError::InvalidValue { .. })
                ),
                "{refused}"
            );
        }
    }

    /// Matomo's `countryName` filter turns the name into its code for
    /// every operator: `=@Germany` looks for `%de%`, a name it does not
    /// know for `%UNK%`.
    #[test]
    fn country_names_become_codes_for_every_operator() {
        let sql = |definition: &str| {
            let sql = parse(definition).to_sql();
            (sql.where_sql, sql.binds)
        };
        let text = |value: &str| vec![BindValue::Text(value.to_owned())];
        assert_eq!(sql("countryName==Germany").1, text("de"));
        let (where_sql, binds) = sql("countryName=@Germany");
        assert!(
            where_sql.contains("log_visit.location_country LIKE ?"),
            "{where_sql}"
        );
        assert_eq!(binds, text("%de%"));
        let (where_sql, binds) = sql("countryName!@France");
        assert!(where_sql.contains("IS NULL OR"), "{where_sql}");
        assert!(where_sql.contains("NOT LIKE ?"), "{where_sql}");
        assert_eq!(binds, text("%fr%"));
        assert_eq!(sql("countryName=@Germ").1, text("%UNK%"));
    }

    #[test]
    fn days_since_first_visit_compares_seconds() {
        let sql = |definition: &str| {
            let sql = parse(definition).to_sql();
            (sql.where_sql, sql.binds)
        };
        let (where_sql, binds) = sql("daysSinceFirstVisit==1");
        assert!(
            where_sql.contains("log_visit.visitor_seconds_since_first = ?"),
            "{where_sql}"
        );
        assert!(!where_sql.contains("ROUND"), "{where_sql}");
        assert_eq!(binds, vec![BindValue::Integer(86_400)]);
        // PHP's `(int)` truncates.
        assert_eq!(
            sql("daysSinceFirstVisit<2.9").1,
            vec![BindValue::Integer(172_800)]
        );
        assert_eq!(
            sql("daysSinceFirstVisit>-1.5").1,
            vec![BindValue::Integer(-86_400)]
        );
        assert_eq!(
            sql("daysSinceFirstVisit=@3").1,
            vec![BindValue::Text("%259200%".to_owned())]
        );
        // 0 days is PHP-empty: `!=0` does not also match NULL.
        assert!(!sql("daysSinceFirstVisit!=0").0.contains("IS NULL"));
        assert!(sql("daysSinceFirstVisit!=1").0.contains("IS NULL"));
        assert!(matches!(
            error("daysSinceFirstVisit==abc"),
            SegmentError::InvalidValue { .. }
        ));
        // The siblings floor the stored seconds, as Matomo's do.
        assert!(
            sql("daysSinceLastVisit==1")
                .0
                .contains("FLOOR(log_visit.visitor_seconds_since_last / 86400) = ?")
        );
    }

    #[test]
    fn catalogue_names_are_unique_and_all_render() {
        let names: Vec<&str> = segment_names().collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(names.len(), unique.len());
        for name in names {
            match Segment::parse(&format!("{name}!=")) {
                Ok(segment) => assert!(!segment.to_sql().where_sql.is_empty(), "{name}"),
                Err(SegmentError::EmptyValueNotSupported { .. }) => {}
                Err(err) => panic!("{name}: {err}"),
            }
        }
    }

    #[test]
    fn hash_is_md5_of_the_decoded_definition() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
        assert_eq!(md5_hex(&[b'a'; 1000]), "cabe45dcc9ae5b66ba86600cca6b8ba8");
        let segment = parse("browserCode%3D%3Dff");
        assert_eq!(segment.hash(), md5_hex(b"browserCode==ff"));
        assert_eq!(segment.hash(), parse("browserCode==ff").hash());
        assert_eq!(
            segment.done_flag(),
            format!("done{}", md5_hex(b"browserCode==ff"))
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(strip_url_scheme("HTTPS://WWW.a.org/x"), "a.org/x");
        assert_eq!(strip_url_scheme("http://a.org"), "a.org");
        assert_eq!(strip_url_scheme("www.a.org"), "www.a.org");
        assert_eq!(strip_url_scheme("ftp://a"), "ftp://a");
        assert_eq!(html_unescape("a &amp;lt; &#039;b&#39; &x"), "a &lt; 'b' &x");
        assert_eq!(
            html_escape("<a href='x'>&\""),
            "&lt;a href=&#039;x&#039;&gt;&amp;&quot;"
        );
        assert_eq!(url_decode(b"%41%2b+%zz%"), b"A+ %zz%");
    }
}
