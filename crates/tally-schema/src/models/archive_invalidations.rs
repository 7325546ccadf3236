//! A queued archive (re)computation (`archive_invalidations`).

use diesel::prelude::*;
use time::Date;
use time::PrimitiveDateTime;

use crate::schema::archive_invalidations;

/// A row of `archive_invalidations`: a queued archive (re)computation (`archive_invalidations`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = archive_invalidations, check_for_backend(diesel::mysql::Mysql))]
pub struct ArchiveInvalidation {
    pub idinvalidation: u64,
    pub idarchive: Option<u32>,
    pub name: String,
    pub idsite: u32,
    pub date1: Date,
    pub date2: Date,
    pub period: u8,
    pub ts_invalidated: Option<PrimitiveDateTime>,
    pub ts_started: Option<PrimitiveDateTime>,
    pub status: u8,
    pub report: Option<String>,
    pub processing_host: Option<String>,
    pub process_id: Option<String>,
}

/// A new row of `archive_invalidations` (the id comes from AUTO_INCREMENT).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = archive_invalidations, check_for_backend(diesel::mysql::Mysql))]
pub struct NewArchiveInvalidation<'a> {
    pub idarchive: Option<u32>,
    pub name: &'a str,
    pub idsite: u32,
    pub date1: Date,
    pub date2: Date,
    pub period: u8,
    pub ts_invalidated: Option<PrimitiveDateTime>,
    pub ts_started: Option<PrimitiveDateTime>,
    pub status: u8,
    pub report: Option<&'a str>,
    pub processing_host: Option<&'a str>,
    pub process_id: Option<&'a str>,
}

/// Changes to a `archive_invalidations` row: `None` leaves a column alone, `Some(None)` sets NULL.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = archive_invalidations, check_for_backend(diesel::mysql::Mysql))]
pub struct ArchiveInvalidationChanges<'a> {
    pub idarchive: Option<Option<u32>>,
    pub name: Option<&'a str>,
    pub idsite: Option<u32>,
    pub date1: Option<Date>,
    pub date2: Option<Date>,
    pub period: Option<u8>,
    pub ts_invalidated: Option<Option<PrimitiveDateTime>>,
    pub ts_started: Option<Option<PrimitiveDateTime>>,
    pub status: Option<u8>,
    pub report: Option<Option<&'a str>>,
    pub processing_host: Option<Option<&'a str>>,
    pub process_id: Option<Option<&'a str>>,
}
