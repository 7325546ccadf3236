//! Id newtypes, so that a site id is never passed where a visit id is expected.
//!
//! Row structs keep the plain integer types of their columns (diesel maps
//! those directly); APIs above the schema take and return these newtypes.

use diesel::deserialize::FromSqlRow;
use diesel::expression::AsExpression;
use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident($inner:ty)) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$inner> for $name {
            fn from(id: $inner) -> Self {
                Self(id)
            }
        }
    };
}

id_newtype!(
    /// `site.idsite`.
    SiteId(u32)
);
id_newtype!(
    /// `log_visit.idvisit`.
    VisitId(u64)
);
id_newtype!(
    /// `log_action.idaction`.
    ActionId(u32)
);
id_newtype!(
    /// `log_link_visit_action.idlink_va`.
    LinkVisitActionId(u64)
);
id_newtype!(
    /// `goal.idgoal` (0 ecommerce order, -1 abandoned cart in `log_conversion`).
    GoalId(i32)
);
id_newtype!(
    /// `idarchive` of a monthly archive table.
    ArchiveId(u32)
);

/// An 8-byte visitor id or config id (`BINARY(8)`), shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Binary)]
pub struct VisitorId(pub [u8; 8]);

impl VisitorId {
    /// Parses 16 hex digits (the `_id` / `cid` tracking parameters).
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 16 {
            return None;
        }
        let mut bytes = [0u8; 8];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// 16 lowercase hex digits.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl diesel::serialize::ToSql<diesel::sql_types::Binary, diesel::mysql::Mysql> for VisitorId {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::mysql::Mysql>,
    ) -> diesel::serialize::Result {
        <[u8] as diesel::serialize::ToSql<diesel::sql_types::Binary, diesel::mysql::Mysql>>::to_sql(
            &self.0, out,
        )
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Binary, diesel::mysql::Mysql> for VisitorId {
    fn from_sql(value: diesel::mysql::MysqlValue<'_>) -> diesel::deserialize::Result<Self> {
        let bytes = value.as_bytes();
        // BINARY(8) pads short values with zero bytes; anything else is not ours.
        let array: [u8; 8] = bytes
            .try_into()
            .map_err(|_| format!("expected 8 bytes for a visitor id, got {}", bytes.len()))?;
        Ok(Self(array))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_id_hex() {
        let id = VisitorId::from_hex("00ff10a0b0c0d0e1").unwrap();
        assert_eq!(id.0, [0, 0xff, 0x10, 0xa0, 0xb0, 0xc0, 0xd0, 0xe1]);
        assert_eq!(id.to_hex(), "00ff10a0b0c0d0e1");
        assert!(VisitorId::from_hex("00ff").is_none());
        assert!(VisitorId::from_hex("zzff10a0b0c0d0e1").is_none());
        assert!(VisitorId::from_hex("é0ff10a0b0c0d0e").is_none());
    }
}
