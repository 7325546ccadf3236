//! A stored segment (`segment`).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::schema::segment;

/// A row of `segment`: a stored segment (`segment`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = segment, check_for_backend(diesel::mysql::Mysql))]
pub struct Segment {
    pub idsegment: i32,
    pub name: String,
    pub definition: String,
    pub hash: Option<String>,
    pub login: String,
    pub enable_all_users: i8,
    pub enable_only_idsite: Option<i32>,
    pub auto_archive: i8,
    pub ts_created: Option<PrimitiveDateTime>,
    pub ts_last_edit: Option<PrimitiveDateTime>,
    pub deleted: i8,
}

/// A new row of `segment` (the id comes from AUTO_INCREMENT).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = segment, check_for_backend(diesel::mysql::Mysql))]
pub struct NewSegment<'a> {
    pub name: &'a str,
    pub definition: &'a str,
    pub hash: Option<&'a str>,
    pub login: &'a str,
    pub enable_all_users: i8,
    pub enable_only_idsite: Option<i32>,
    pub auto_archive: i8,
    pub ts_created: Option<PrimitiveDateTime>,
    pub ts_last_edit: Option<PrimitiveDateTime>,
    pub deleted: i8,
}

/// Changes to a `segment` row: `None` leaves a column alone, `Some(None)` sets NULL.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = segment, check_for_backend(diesel::mysql::Mysql))]
pub struct SegmentChanges<'a> {
    pub name: Option<&'a str>,
    pub definition: Option<&'a str>,
    pub hash: Option<Option<&'a str>>,
    pub login: Option<&'a str>,
    pub enable_all_users: Option<i8>,
    pub enable_only_idsite: Option<Option<i32>>,
    pub auto_archive: Option<i8>,
    pub ts_created: Option<Option<PrimitiveDateTime>>,
    pub ts_last_edit: Option<Option<PrimitiveDateTime>>,
    pub deleted: Option<i8>,
}
