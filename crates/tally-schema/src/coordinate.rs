//! `DECIMAL(9,6)` latitude/longitude values without a bignum dependency.

use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::mysql::{Mysql, MysqlValue};
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::Numeric;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// A latitude or longitude as stored in `location_latitude`/`location_longitude`
/// (`DECIMAL(9,6)`: six decimals, about 11 cm).
///
/// MySQL sends DECIMAL as text; this type reads and writes that text, so the
/// schema needs neither diesel's `numeric` feature nor a bignum crate.
#[derive(
    Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[diesel(sql_type = Numeric)]
#[serde(transparent)]
pub struct Coordinate(pub f64);

impl ToSql<Numeric, Mysql> for Coordinate {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> diesel::serialize::Result {
        write!(out, "{:.6}", self.0)?;
        Ok(IsNull::No)
    }
}

impl FromSql<Numeric, Mysql> for Coordinate {
    fn from_sql(value: MysqlValue<'_>) -> diesel::deserialize::Result<Self> {
        let text = std::str::from_utf8(value.as_bytes())?;
        Ok(Self(text.trim().parse()?))
    }
}
