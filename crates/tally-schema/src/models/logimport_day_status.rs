//! The import status of a site's day (`logimport_day_status`).

use diesel::prelude::*;
use time::Date;
use time::PrimitiveDateTime;

use crate::schema::logimport_day_status;

/// A row of `logimport_day_status`: the import status of a site's day (`logimport_day_status`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = logimport_day_status, check_for_backend(diesel::mysql::Mysql))]
pub struct LogImportDayStatus {
    pub idsite: u32,
    pub date: Date,
    pub status: String,
    pub files_total: u32,
    pub files_completed: u32,
    pub ts_updated: PrimitiveDateTime,
}

/// A new row of `logimport_day_status`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = logimport_day_status, check_for_backend(diesel::mysql::Mysql))]
pub struct NewLogImportDayStatus<'a> {
    pub idsite: u32,
    pub date: Date,
    pub status: &'a str,
    pub files_total: u32,
    pub files_completed: u32,
    pub ts_updated: PrimitiveDateTime,
}

/// Changes to a `logimport_day_status` row: `None` leaves a column alone, `Some(None)` sets NULL.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = logimport_day_status, check_for_backend(diesel::mysql::Mysql))]
pub struct LogImportDayStatusChanges<'a> {
    pub status: Option<&'a str>,
    pub files_total: Option<u32>,
    pub files_completed: Option<u32>,
    pub ts_updated: Option<PrimitiveDateTime>,
}
