//! An API token, stored hashed (`user_token_auth`).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::schema::user_token_auth;

/// A row of `user_token_auth`: an API token, stored hashed (`user_token_auth`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = user_token_auth, check_for_backend(diesel::mysql::Mysql))]
pub struct UserTokenAuth {
    pub idusertokenauth: u64,
    pub login: String,
    pub description: String,
    pub password: String,
    pub hash_algo: String,
    pub system_token: i8,
    pub last_used: Option<PrimitiveDateTime>,
    pub date_created: PrimitiveDateTime,
    pub date_expired: Option<PrimitiveDateTime>,
    pub secure_only: u8,
}

/// A new row of `user_token_auth` (the id comes from AUTO_INCREMENT).
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = user_token_auth, check_for_backend(diesel::mysql::Mysql))]
pub struct NewUserTokenAuth<'a> {
    pub login: &'a str,
    pub description: &'a str,
    pub password: &'a str,
    pub hash_algo: &'a str,
    pub system_token: i8,
    pub last_used: Option<PrimitiveDateTime>,
    pub date_created: PrimitiveDateTime,
    pub date_expired: Option<PrimitiveDateTime>,
    pub secure_only: u8,
}

/// Changes to a `user_token_auth` row: `None` leaves a column alone, `Some(None)` sets NULL.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = user_token_auth, check_for_backend(diesel::mysql::Mysql))]
pub struct UserTokenAuthChanges<'a> {
    pub login: Option<&'a str>,
    pub description: Option<&'a str>,
    pub password: Option<&'a str>,
    pub hash_algo: Option<&'a str>,
    pub system_token: Option<i8>,
    pub last_used: Option<Option<PrimitiveDateTime>>,
    pub date_created: Option<PrimitiveDateTime>,
    pub date_expired: Option<Option<PrimitiveDateTime>>,
    pub secure_only: Option<u8>,
}
