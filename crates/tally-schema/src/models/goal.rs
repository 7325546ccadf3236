//! A goal definition (`goal`).

use diesel::prelude::*;

use crate::schema::goal;

/// A row of `goal`: a goal definition (`goal`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = goal, check_for_backend(diesel::mysql::Mysql))]
pub struct Goal {
    pub idsite: i32,
    pub idgoal: i32,
    pub name: String,
    pub description: String,
    pub match_attribute: String,
    pub pattern: String,
    pub pattern_type: String,
    pub case_sensitive: i8,
    pub allow_multiple: i8,
    pub revenue: f64,
    pub deleted: i8,
    pub event_value_as_revenue: i8,
}

/// A new row of `goal`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = goal, check_for_backend(diesel::mysql::Mysql))]
pub struct NewGoal<'a> {
    pub idsite: i32,
    pub idgoal: i32,
    pub name: &'a str,
    pub description: &'a str,
    pub match_attribute: &'a str,
    pub pattern: &'a str,
    pub pattern_type: &'a str,
    pub case_sensitive: i8,
    pub allow_multiple: i8,
    pub revenue: f64,
    pub deleted: i8,
    pub event_value_as_revenue: i8,
}

/// Changes to a `goal` row: `None` leaves a column alone, `Some(None)` sets NULL.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = goal, check_for_backend(diesel::mysql::Mysql))]
pub struct GoalChanges<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub match_attribute: Option<&'a str>,
    pub pattern: Option<&'a str>,
    pub pattern_type: Option<&'a str>,
    pub case_sensitive: Option<i8>,
    pub allow_multiple: Option<i8>,
    pub revenue: Option<f64>,
    pub deleted: Option<i8>,
    pub event_value_as_revenue: Option<i8>,
}
