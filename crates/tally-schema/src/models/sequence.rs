//! A named id sequence (`sequence`).

use diesel::prelude::*;

use crate::schema::sequence;

/// A row of `sequence`: a named id sequence (`sequence`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = sequence, check_for_backend(diesel::mysql::Mysql))]
pub struct Sequence {
    pub name: String,
    pub value: u64,
}

/// A new row of `sequence`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = sequence, check_for_backend(diesel::mysql::Mysql))]
pub struct NewSequence<'a> {
    pub name: &'a str,
    pub value: u64,
}
