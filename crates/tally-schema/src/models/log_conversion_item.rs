//! An ecommerce item of an order or cart (`log_conversion_item`).

use crate::VisitorId;
use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::schema::log_conversion_item;

/// A row of `log_conversion_item`: an ecommerce item of an order or cart (`log_conversion_item`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = log_conversion_item, check_for_backend(diesel::mysql::Mysql))]
pub struct ConversionItem {
    pub idsite: u32,
    pub idvisitor: VisitorId,
    pub server_time: PrimitiveDateTime,
    pub idvisit: u64,
    pub idorder: String,
    pub idaction_sku: u32,
    pub idaction_name: u32,
    pub idaction_category: u32,
    pub idaction_category2: u32,
    pub idaction_category3: u32,
    pub idaction_category4: u32,
    pub idaction_category5: u32,
    pub price: f64,
    pub quantity: u32,
    pub deleted: u8,
}

/// A new row of `log_conversion_item`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = log_conversion_item, check_for_backend(diesel::mysql::Mysql))]
pub struct NewConversionItem<'a> {
    pub idsite: u32,
    pub idvisitor: VisitorId,
    pub server_time: PrimitiveDateTime,
    pub idvisit: u64,
    pub idorder: &'a str,
    pub idaction_sku: u32,
    pub idaction_name: u32,
    pub idaction_category: u32,
    pub idaction_category2: u32,
    pub idaction_category3: u32,
    pub idaction_category4: u32,
    pub idaction_category5: u32,
    pub price: f64,
    pub quantity: u32,
    pub deleted: u8,
}
