//! Goal definitions (MATOMO.md §6.1 and §10.3, Matomo's `Goals` API).

use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable};
use tally_schema::models::{Goal, GoalChanges, NewGoal};
use tally_schema::schema::goal;
use tally_schema::{GoalMatchAttribute, GoalPatternType};

use crate::access::{Access, Principal};
use crate::sites::find_site;
use crate::support::tracker_settings_changed;
use crate::{ManagementError, Result};

const NAME_MAX: usize = 50;
const DESCRIPTION_MAX: usize = 255;
const PATTERN_MAX: usize = 255;
/// Conversions are deleted in chunks, as Matomo's `Db::deleteAllRows`, so
/// that deleting a busy goal does not hold one huge transaction's locks.
const DELETE_CHUNK: i64 = 100_000;

/// The parameters of `Goals.addGoal`/`updateGoal`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoalParams {
    /// `name`: required, at most 50 characters.
    pub name: String,
    /// `description`: at most 255 characters.
    pub description: String,
    /// `matchAttribute`: `url`, `title`, `file`, `external_website`,
    /// `manually`, `event_category`, `event_action`, `event_name` or
    /// `visit_duration`.
    pub match_attribute: String,
    /// `pattern`: what to match (minutes for `visit_duration`; ignored for `manually`).
    pub pattern: String,
    /// `patternType`: `contains`, `exact` or `regex`; `greater_than` for
    /// `visit_duration`; may be empty for `manually`.
    pub pattern_type: String,
    /// `caseSensitive`.
    pub case_sensitive: bool,
    /// `revenue`: default revenue of a conversion, at least 0.
    pub revenue: f64,
    /// `allowMultipleConversionsPerVisit`.
    pub allow_multiple: bool,
    /// `useEventValueAsRevenue`: only for event goals.
    pub event_value_as_revenue: bool,
}

impl GoalParams {
    /// A goal with the given name and matching rule, other settings defaulted.
    pub fn new(
        name: impl Into<String>,
        match_attribute: impl Into<String>,
        pattern: impl Into<String>,
        pattern_type: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            match_attribute: match_attribute.into(),
            pattern: pattern.into(),
            pattern_type: pattern_type.into(),
            ..Self::default()
        }
    }
}

/// A goal as `Goals.getGoals` returns it, fields in Matomo's order.
///
/// Integers are JSON numbers (Matomo on PHP 8); `revenue` is a number
/// printed without a fraction when it has none (`5`, `2.5`), as Matomo's
/// XML/JSON show it. For `manually` goals `pattern`, `pattern_type` and
/// `case_sensitive` are left out, as Matomo's `formatGoal` unsets them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GoalView {
    /// `idsite`.
    pub idsite: u32,
    /// `idgoal`.
    pub idgoal: u32,
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// `match_attribute`.
    pub match_attribute: String,
    /// `pattern`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `pattern_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_type: Option<String>,
    /// `case_sensitive` (0/1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<i8>,
    /// `allow_multiple` (0/1).
    pub allow_multiple: i8,
    /// `revenue`.
    #[serde(serialize_with = "serialize_revenue")]
    pub revenue: f64,
    /// `deleted` (0/1; always 0 here).
    pub deleted: i8,
    /// `event_value_as_revenue` (0/1).
    pub event_value_as_revenue: i8,
}

fn serialize_revenue<S: serde::Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    // Revenues are validated to be finite and non-negative; whole ones below
    // 2^53 convert to i64 exactly.
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

impl GoalView {
    fn new(g: Goal) -> Self {
        let manual = g.match_attribute == "manually";
        Self {
            idsite: u32::try_from(g.idsite).unwrap_or(0),
            idgoal: u32::try_from(g.idgoal).unwrap_or(0),
            name: g.name,
            description: g.description,
            match_attribute: g.match_attribute,
            pattern: (!manual).then_some(g.pattern),
            pattern_type: (!manual).then_some(g.pattern_type),
            case_sensitive: (!manual).then_some(g.case_sensitive),
            allow_multiple: g.allow_multiple,
            revenue: g.revenue,
            deleted: g.deleted,
            event_value_as_revenue: g.event_value_as_revenue,
        }
    }
}

/// A goal's settings after validation, ready for the `goal` table.
struct Checked {
    name: String,
    description: String,
    match_attribute: &'static str,
    pattern: String,
    pattern_type: String,
}

/// Creates a goal (write access) and returns its id: one more than the
/// site's highest id, deleted goals included, so ids are never reused.
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::InvalidParameter`] (see [`GoalParams`]);
/// [`ManagementError::Db`].
pub fn add_goal(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    params: &GoalParams,
) -> Result<u32> {
    actor.check(idsite, Access::Write)?;
    find_site(conn, idsite)?;
    let site = goal_site(idsite)?;
    let checked = check(params)?;
    conn.transaction(|conn| {
        // FOR UPDATE locks the site's goal rows (and the gap after them), so
        // two concurrent adds cannot pick the same id.
        let next: NextId =
            diesel::sql_query("SELECT MAX(idgoal) AS v FROM goal WHERE idsite = ? FOR UPDATE")
                .bind::<Integer, _>(site)
                .get_result(conn)?;
        let idgoal = next.v.unwrap_or(0) + 1;
        diesel::insert_into(goal::table)
            .values(NewGoal {
                idsite: site,
                idgoal,
                name: &checked.name,
                description: &checked.description,
                match_attribute: checked.match_attribute,
                pattern: &checked.pattern,
                pattern_type: &checked.pattern_type,
                case_sensitive: i8::from(params.case_sensitive),
                allow_multiple: i8::from(params.allow_multiple),
                revenue: params.revenue,
                deleted: 0,
                event_value_as_revenue: i8::from(params.event_value_as_revenue),
            })
            .execute(conn)?;
        tracker_settings_changed(conn)?;
        // Positive by construction (max + 1 of ids that start at 1).
        Ok(u32::try_from(idgoal).unwrap_or(0))
    })
}

#[derive(QueryableByName)]
struct NextId {
    #[diesel(sql_type = Nullable<Integer>)]
    v: Option<i32>,
}

/// Replaces a goal's settings (write access). Conversions already recorded
/// are not reprocessed.
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownGoal`];
/// [`ManagementError::InvalidParameter`]; [`ManagementError::Db`].
pub fn update_goal(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    idgoal: u32,
    params: &GoalParams,
) -> Result<()> {
    actor.check(idsite, Access::Write)?;
    let checked = check(params)?;
    let found = find_goal(conn, idsite, idgoal)?;
    conn.transaction(|conn| {
        diesel::update(goal::table.find((found.idsite, found.idgoal)))
            .set(GoalChanges {
                name: Some(&checked.name),
                description: Some(&checked.description),
                match_attribute: Some(checked.match_attribute),
                pattern: Some(&checked.pattern),
                pattern_type: Some(&checked.pattern_type),
                case_sensitive: Some(i8::from(params.case_sensitive)),
                allow_multiple: Some(i8::from(params.allow_multiple)),
                revenue: Some(params.revenue),
                deleted: None,
                event_value_as_revenue: Some(i8::from(params.event_value_as_revenue)),
            })
            .execute(conn)?;
        tracker_settings_changed(conn)
    })?;
    Ok(())
}

/// Deletes a goal (write access): the definition is kept with `deleted = 1`
/// (its id is never reused) and its conversions are deleted. Archived
/// reports keep their numbers, as in Matomo.
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownGoal`];
/// [`ManagementError::Db`].
pub fn delete_goal(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    idgoal: u32,
) -> Result<()> {
    actor.check(idsite, Access::Write)?;
    let found = find_goal(conn, idsite, idgoal)?;
    conn.transaction(|conn| {
        diesel::update(goal::table.find((found.idsite, found.idgoal)))
            .set(goal::deleted.eq(1))
            .execute(conn)?;
        tracker_settings_changed(conn)
    })?;
    loop {
        let deleted =
            diesel::sql_query("DELETE FROM log_conversion WHERE idsite = ? AND idgoal = ? LIMIT ?")
                .bind::<diesel::sql_types::Unsigned<Integer>, _>(idsite)
                .bind::<Integer, _>(found.idgoal)
                .bind::<diesel::sql_types::BigInt, _>(DELETE_CHUNK)
                .execute(conn)?;
        if i64::try_from(deleted).unwrap_or(i64::MAX) < DELETE_CHUNK {
            break;
        }
    }
    Ok(())
}

/// The site's active goals by id (view access).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::Db`].
pub fn get_goals(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
) -> Result<Vec<GoalView>> {
    actor.check(idsite, Access::View)?;
    let goals: Vec<Goal> = goal::table
        .filter(goal::idsite.eq(goal_site(idsite)?))
        .filter(goal::deleted.eq(0))
        .select(Goal::as_select())
        .order(goal::idgoal)
        .load(conn)?;
    Ok(goals.into_iter().map(GoalView::new).collect())
}

/// One active goal (view access).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownGoal`];
/// [`ManagementError::Db`].
pub fn get_goal(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
    idgoal: u32,
) -> Result<GoalView> {
    actor.check(idsite, Access::View)?;
    Ok(GoalView::new(find_goal(conn, idsite, idgoal)?))
}

fn find_goal(conn: &mut MysqlConnection, idsite: u32, idgoal: u32) -> Result<Goal> {
    let unknown = ManagementError::UnknownGoal { idsite, idgoal };
    let Ok(signed) = i32::try_from(idgoal) else {
        return Err(unknown);
    };
    goal::table
        .find((goal_site(idsite)?, signed))
        .filter(goal::deleted.eq(0))
        .select(Goal::as_select())
        .first(conn)
        .optional()?
        .ok_or(unknown)
}

/// `goal.idsite` is a signed INT (as in Matomo).
fn goal_site(idsite: u32) -> Result<i32> {
    i32::try_from(idsite).map_err(|_| ManagementError::UnknownSite { idsite })
}

/// Matomo's goal validation (`Goals\API::checkPattern*`), plus the limits
/// Matomo leaves to the column widths, and regexes checked with the engine
/// and limits the tracker compiles them with (a pattern the tracker cannot
/// compile would silently never match).
fn check(params: &GoalParams) -> Result<Checked> {
    let name = params.name.trim();
    if name.is_empty() {
        return Err(ManagementError::invalid(
            "name",
            "The goal name can't be empty.",
        ));
    }
    if name.chars().count() > NAME_MAX {
        return Err(ManagementError::invalid(
            "name",
            format!("The goal name must be at most {NAME_MAX} characters long."),
        ));
    }
    let description = params.description.trim();
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(ManagementError::invalid(
            "description",
            format!("The goal description must be at most {DESCRIPTION_MAX} characters long."),
        ));
    }
    let attribute = GoalMatchAttribute::from_name(params.match_attribute.trim()).map_err(|_| {
        ManagementError::invalid(
            "matchAttribute",
            format!(
                "The value \"{}\" is not allowed, use one of: url, title, file, external_website, manually, event_category, event_action, event_name, visit_duration.",
                params.match_attribute
            ),
        )
    })?;
    let numeric = attribute == GoalMatchAttribute::VisitDuration;
    let is_event = matches!(
        attribute,
        GoalMatchAttribute::EventCategory
            | GoalMatchAttribute::EventAction
            | GoalMatchAttribute::EventName
    );
    let pattern_type = params.pattern_type.trim().to_lowercase();
    let allowed: &[GoalPatternType] = if numeric {
        &[GoalPatternType::GreaterThan]
    } else {
        &[
            GoalPatternType::Exact,
            GoalPatternType::Contains,
            GoalPatternType::Regex,
        ]
    };
    let manual = attribute == GoalMatchAttribute::Manually;
    let parsed_type = if pattern_type.is_empty() && manual {
        None
    } else {
        let t = GoalPatternType::from_name(&pattern_type)
            .ok()
            .filter(|t| allowed.contains(t));
        let Some(t) = t else {
            let names: Vec<&str> = allowed.iter().map(|t| t.name()).collect();
            return Err(ManagementError::invalid(
                "patternType",
                format!(
                    "The value \"{}\" is not allowed, use one of: {}.",
                    params.pattern_type,
                    names.join(", ")
                ),
            ));
        };
        Some(t)
    };
    let pattern = params.pattern.trim();
    if pattern.chars().count() > PATTERN_MAX {
        return Err(ManagementError::invalid(
            "pattern",
            format!("The goal pattern must be at most {PATTERN_MAX} characters long."),
        ));
    }
    if !manual && pattern.is_empty() {
        // An empty `contains` pattern would convert every action.
        return Err(ManagementError::invalid(
            "pattern",
            "The goal pattern can't be empty.",
        ));
    }
    if numeric && !pattern.parse::<f64>().is_ok_and(f64::is_finite) {
        return Err(ManagementError::invalid(
            "pattern",
            format!(
                "Invalid pattern for match attribute '{}'. (got '{pattern}', expected numeric value).",
                attribute.name()
            ),
        ));
    }
    if parsed_type == Some(GoalPatternType::Exact)
        && !pattern.starts_with("http")
        && !is_event
        && attribute != GoalMatchAttribute::Title
    {
        return Err(ManagementError::invalid(
            "pattern",
            "If you choose 'exact match', the matching string must be a URL starting with http:// or https://. For example, 'http://www.yourwebsite.com/newsletter/subscribed.html'.",
        ));
    }
    if parsed_type == Some(GoalPatternType::Regex)
        && regex::RegexBuilder::new(pattern)
            .case_insensitive(!params.case_sensitive)
            .size_limit(1 << 20)
            .build()
            .is_err()
    {
        return Err(ManagementError::invalid(
            "pattern",
            format!("The value \"{pattern}\" is not a valid regular expression."),
        ));
    }
    if !params.revenue.is_finite() || params.revenue < 0.0 {
        return Err(ManagementError::invalid(
            "revenue",
            format!(
                "The revenue \"{}\" is not valid: it must be a number of at least 0.",
                params.revenue
            ),
        ));
    }
    if params.event_value_as_revenue && !is_event {
        return Err(ManagementError::invalid(
            "useEventValueAsRevenue",
            "'useEventValueAsRevenue' can only be 1 if the goal matches an event attribute.",
        ));
    }
    Ok(Checked {
        name: name.to_owned(),
        description: description.to_owned(),
        match_attribute: attribute.name(),
        pattern: if manual {
            String::new()
        } else {
            pattern.to_owned()
        },
        pattern_type: parsed_type.map_or("", GoalPatternType::name).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(attr: &str, pattern: &str, ty: &str) -> GoalParams {
        GoalParams::new("Goal", attr, pattern, ty)
    }

    fn err(params: &GoalParams) -> String {
        match check(params) {
            Err(ManagementError::InvalidParameter { reason, .. }) => reason,
            Err(other) => panic!("unexpected {other}"),
            Ok(_) => panic!("accepted {params:?}"),
        }
    }

    #[test]
    fn valid_goals() {
        for params in [
            p("url", "thank-you", "contains"),
            p("url", "https://x.org/done", "exact"),
            p("title", "Thanks", "exact"),
            p("event_category", "video", "exact"),
            p("file", "^.*\\.pdf$", "regex"),
            p("visit_duration", "5", "greater_than"),
            p("manually", "", ""),
            p("url", "x", "CONTAINS"),
        ] {
            assert!(check(&params).is_ok(), "{params:?}");
        }
        let c = check(&p("manually", "ignored", "")).unwrap();
        assert_eq!((c.pattern.as_str(), c.pattern_type.as_str()), ("", ""));
        assert_eq!(
            check(&p("url", "x", "CONTAINS")).unwrap().pattern_type,
            "contains"
        );
    }

    #[test]
    fn invalid_goals() {
        let mut long = p("url", "x", "contains");
        long.name = "n".repeat(51);
        assert!(err(&long).contains("at most 50"));
        let mut empty = p("url", "x", "contains");
        empty.name = "  ".into();
        assert_eq!(err(&empty), "The goal name can't be empty.");
        let mut desc = p("url", "x", "contains");
        desc.description = "d".repeat(256);
        assert!(err(&desc).contains("255"));
        assert!(err(&p("referrer", "x", "contains")).contains("not allowed"));
        assert_eq!(
            err(&p("url", "x", "fuzzy")),
            "The value \"fuzzy\" is not allowed, use one of: exact, contains, regex."
        );
        assert!(err(&p("visit_duration", "5", "contains")).contains("greater_than"));
        assert_eq!(
            err(&p("visit_duration", "soon", "greater_than")),
            "Invalid pattern for match attribute 'visit_duration'. (got 'soon', expected numeric value)."
        );
        assert!(err(&p("url", "/done", "exact")).starts_with("If you choose 'exact match'"));
        assert_eq!(
            err(&p("url", "(unclosed", "regex")),
            "The value \"(unclosed\" is not a valid regular expression."
        );
        assert!(err(&p("url", "", "contains")).contains("empty"));
        let mut negative = p("url", "x", "contains");
        negative.revenue = -1.0;
        assert!(err(&negative).contains("revenue"));
        let mut nan = p("url", "x", "contains");
        nan.revenue = f64::NAN;
        assert!(err(&nan).contains("revenue"));
        let mut ev = p("url", "x", "contains");
        ev.event_value_as_revenue = true;
        assert!(err(&ev).contains("useEventValueAsRevenue"));
    }

    #[test]
    fn views_hide_manual_pattern_and_print_whole_revenue() {
        let g = |attr: &str, revenue: f64| Goal {
            idsite: 1,
            idgoal: 2,
            name: "n".into(),
            description: String::new(),
            match_attribute: attr.into(),
            pattern: "p".into(),
            pattern_type: "contains".into(),
            case_sensitive: 0,
            allow_multiple: 0,
            revenue,
            deleted: 0,
            event_value_as_revenue: 0,
        };
        let json = serde_json::to_string(&GoalView::new(g("manually", 5.0))).unwrap();
        assert_eq!(
            json,
            r#"{"idsite":1,"idgoal":2,"name":"n","description":"","match_attribute":"manually","allow_multiple":0,"revenue":5,"deleted":0,"event_value_as_revenue":0}"#
        );
        let json = serde_json::to_string(&GoalView::new(g("url", 2.5))).unwrap();
        assert_eq!(
            json,
            r#"{"idsite":1,"idgoal":2,"name":"n","description":"","match_attribute":"url","pattern":"p","pattern_type":"contains","case_sensitive":0,"allow_multiple":0,"revenue":2.5,"deleted":0,"event_value_as_revenue":0}"#
        );
    }
}
