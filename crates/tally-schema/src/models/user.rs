//! A user (`user`).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::schema::user;

/// A row of `user`: a user (`user`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = user, check_for_backend(diesel::mysql::Mysql))]
pub struct User {
    pub login: String,
    pub password: String,
    pub email: String,
    pub twofactor_secret: String,
    pub superuser_access: u8,
    pub date_registered: Option<PrimitiveDateTime>,
    pub ts_password_modified: Option<PrimitiveDateTime>,
    pub idchange_last_viewed: Option<u32>,
    pub invited_by: Option<String>,
    pub invite_token: Option<String>,
    pub invite_link_token: Option<String>,
    pub invite_expired_at: Option<PrimitiveDateTime>,
    pub invite_accept_at: Option<PrimitiveDateTime>,
    pub ts_changes_shown: Option<PrimitiveDateTime>,
}

/// A new row of `user`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = user, check_for_backend(diesel::mysql::Mysql))]
pub struct NewUser<'a> {
    pub login: &'a str,
    pub password: &'a str,
    pub email: &'a str,
    pub twofactor_secret: &'a str,
    pub superuser_access: u8,
    pub date_registered: Option<PrimitiveDateTime>,
    pub ts_password_modified: Option<PrimitiveDateTime>,
    pub idchange_last_viewed: Option<u32>,
    pub invited_by: Option<&'a str>,
    pub invite_token: Option<&'a str>,
    pub invite_link_token: Option<&'a str>,
    pub invite_expired_at: Option<PrimitiveDateTime>,
    pub invite_accept_at: Option<PrimitiveDateTime>,
    pub ts_changes_shown: Option<PrimitiveDateTime>,
}

/// Changes to a `user` row: `None` leaves a column alone, `Some(None)` sets NULL.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = user, check_for_backend(diesel::mysql::Mysql))]
pub struct UserChanges<'a> {
    pub password: Option<&'a str>,
    pub email: Option<&'a str>,
    pub twofactor_secret: Option<&'a str>,
    pub superuser_access: Option<u8>,
    pub date_registered: Option<Option<PrimitiveDateTime>>,
    pub ts_password_modified: Option<Option<PrimitiveDateTime>>,
    pub idchange_last_viewed: Option<Option<u32>>,
    pub invited_by: Option<Option<&'a str>>,
    pub invite_token: Option<Option<&'a str>>,
    pub invite_link_token: Option<Option<&'a str>>,
    pub invite_expired_at: Option<Option<PrimitiveDateTime>>,
    pub invite_accept_at: Option<Option<PrimitiveDateTime>>,
    pub ts_changes_shown: Option<Option<PrimitiveDateTime>>,
}
