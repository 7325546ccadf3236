//! The summary of one import run of a file (`logimport_file_summary`).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::schema::logimport_file_summary;

/// A row of `logimport_file_summary`: the summary of one import run of a file (`logimport_file_summary`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = logimport_file_summary, check_for_backend(diesel::mysql::Mysql))]
pub struct LogImportFileSummary {
    pub idsummary: u64,
    pub idfile: u64,
    pub ts_started: PrimitiveDateTime,
    pub ts_finished: Option<PrimitiveDateTime>,
    pub lines_parsed: u64,
    pub lines_imported: u64,
    pub ignored_static: u64,
    pub ignored_bots: u64,
    pub ignored_http_errors: u64,
    pub ignored_redirects: u64,
    pub ignored_excluded: u64,
    pub ignored_invalid: u64,
    pub errors: u64,
}

/// A new row of `logimport_file_summary` (the id comes from AUTO_INCREMENT).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = logimport_file_summary, check_for_backend(diesel::mysql::Mysql))]
pub struct NewLogImportFileSummary {
    pub idfile: u64,
    pub ts_started: PrimitiveDateTime,
    pub ts_finished: Option<PrimitiveDateTime>,
    pub lines_parsed: u64,
    pub lines_imported: u64,
    pub ignored_static: u64,
    pub ignored_bots: u64,
    pub ignored_http_errors: u64,
    pub ignored_redirects: u64,
    pub ignored_excluded: u64,
    pub ignored_invalid: u64,
    pub errors: u64,
}
