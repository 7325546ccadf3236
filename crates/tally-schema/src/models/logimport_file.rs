//! An imported log file and its progress (`logimport_file`).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::schema::logimport_file;

/// A row of `logimport_file`: an imported log file and its progress (`logimport_file`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = logimport_file, check_for_backend(diesel::mysql::Mysql))]
pub struct LogImportFile {
    pub idfile: u64,
    pub path: String,
    pub content_hash: Vec<u8>,
    pub size_bytes: u64,
    pub idsite: Option<u32>,
    pub log_format: Option<String>,
    pub status: String,
    pub offset_bytes: u64,
    pub lines_done: u64,
    pub ts_created: PrimitiveDateTime,
    pub ts_updated: PrimitiveDateTime,
    pub ts_completed: Option<PrimitiveDateTime>,
}

/// A new row of `logimport_file` (the id comes from AUTO_INCREMENT).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = logimport_file, check_for_backend(diesel::mysql::Mysql))]
pub struct NewLogImportFile<'a> {
    pub path: &'a str,
    pub content_hash: &'a [u8],
    pub size_bytes: u64,
    pub idsite: Option<u32>,
    pub log_format: Option<&'a str>,
    pub status: &'a str,
    pub offset_bytes: u64,
    pub lines_done: u64,
    pub ts_created: PrimitiveDateTime,
    pub ts_updated: PrimitiveDateTime,
    pub ts_completed: Option<PrimitiveDateTime>,
}

/// Changes to a `logimport_file` row: `None` leaves a column alone, `Some(None)` sets NULL.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = logimport_file, check_for_backend(diesel::mysql::Mysql))]
pub struct LogImportFileChanges<'a> {
    pub path: Option<&'a str>,
    pub content_hash: Option<&'a [u8]>,
    pub size_bytes: Option<u64>,
    pub idsite: Option<Option<u32>>,
    pub log_format: Option<Option<&'a str>>,
    pub status: Option<&'a str>,
    pub offset_bytes: Option<u64>,
    pub lines_done: Option<u64>,
    pub ts_created: Option<PrimitiveDateTime>,
    pub ts_updated: Option<PrimitiveDateTime>,
    pub ts_completed: Option<Option<PrimitiveDateTime>>,
}
