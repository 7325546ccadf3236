//! A dated note on a site (`annotation`, Matomo's Annotations plugin).

use diesel::prelude::*;
use time::{Date, PrimitiveDateTime};

use crate::schema::annotation;

/// A row of `annotation`: one note of a site.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = annotation, check_for_backend(diesel::mysql::Mysql))]
pub struct Annotation {
    pub idsite: u32,
    pub idnote: u32,
    pub date: Date,
    pub note: String,
    pub starred: u8,
    pub login: String,
    pub ts_created: PrimitiveDateTime,
}

/// A new row of `annotation`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = annotation, check_for_backend(diesel::mysql::Mysql))]
pub struct NewAnnotation<'a> {
    pub idsite: u32,
    pub idnote: u32,
    pub date: Date,
    pub note: &'a str,
    pub starred: u8,
    pub login: &'a str,
    pub ts_created: PrimitiveDateTime,
}

/// Changes to an `annotation` row: `None` leaves a column alone.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = annotation, check_for_backend(diesel::mysql::Mysql))]
pub struct AnnotationChanges<'a> {
    pub date: Option<Date>,
    pub note: Option<&'a str>,
    pub starred: Option<u8>,
}
