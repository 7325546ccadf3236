//! A goal conversion or ecommerce order/cart (`log_conversion`).

use crate::Coordinate;
use crate::VisitorId;
use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::schema::log_conversion;

/// A row of `log_conversion`: a goal conversion or ecommerce order/cart (`log_conversion`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = log_conversion, check_for_backend(diesel::mysql::Mysql))]
pub struct Conversion {
    pub idvisit: u64,
    pub idsite: u32,
    pub idvisitor: VisitorId,
    pub server_time: PrimitiveDateTime,
    pub idaction_url: Option<u32>,
    pub idlink_va: Option<u64>,
    pub idgoal: i32,
    pub buster: u32,
    pub idorder: Option<String>,
    pub items: Option<u16>,
    pub url: String,
    pub revenue: Option<f64>,
    pub revenue_shipping: Option<f64>,
    pub revenue_subtotal: Option<f64>,
    pub revenue_tax: Option<f64>,
    pub revenue_discount: Option<f64>,
    pub pageviews_before: Option<u16>,
    pub referer_type: Option<u8>,
    pub referer_name: Option<String>,
    pub referer_keyword: Option<String>,
    pub visitor_returning: Option<i8>,
    pub visitor_count_visits: u32,
    pub visitor_seconds_since_first: Option<u32>,
    pub visitor_seconds_since_order: Option<u32>,
    pub config_browser_name: Option<String>,
    pub config_client_type: Option<i8>,
    pub config_device_type: Option<i8>,
    pub config_device_brand: Option<String>,
    pub config_device_model: Option<String>,
    pub location_country: Option<String>,
    pub location_region: Option<String>,
    pub location_city: Option<String>,
    pub location_latitude: Option<Coordinate>,
    pub location_longitude: Option<Coordinate>,
    pub custom_dimension_1: Option<String>,
    pub custom_dimension_2: Option<String>,
    pub custom_dimension_3: Option<String>,
    pub custom_dimension_4: Option<String>,
    pub custom_dimension_5: Option<String>,
}

/// A new row of `log_conversion`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = log_conversion, check_for_backend(diesel::mysql::Mysql))]
pub struct NewConversion<'a> {
    pub idvisit: u64,
    pub idsite: u32,
    pub idvisitor: VisitorId,
    pub server_time: PrimitiveDateTime,
    pub idaction_url: Option<u32>,
    pub idlink_va: Option<u64>,
    pub idgoal: i32,
    pub buster: u32,
    pub idorder: Option<&'a str>,
    pub items: Option<u16>,
    pub url: &'a str,
    pub revenue: Option<f64>,
    pub revenue_shipping: Option<f64>,
    pub revenue_subtotal: Option<f64>,
    pub revenue_tax: Option<f64>,
    pub revenue_discount: Option<f64>,
    pub pageviews_before: Option<u16>,
    pub referer_type: Option<u8>,
    pub referer_name: Option<&'a str>,
    pub referer_keyword: Option<&'a str>,
    pub visitor_returning: Option<i8>,
    pub visitor_count_visits: u32,
    pub visitor_seconds_since_first: Option<u32>,
    pub visitor_seconds_since_order: Option<u32>,
    pub config_browser_name: Option<&'a str>,
    pub config_client_type: Option<i8>,
    pub config_device_type: Option<i8>,
    pub config_device_brand: Option<&'a str>,
    pub config_device_model: Option<&'a str>,
    pub location_country: Option<&'a str>,
    pub location_region: Option<&'a str>,
    pub location_city: Option<&'a str>,
    pub location_latitude: Option<Coordinate>,
    pub location_longitude: Option<Coordinate>,
    pub custom_dimension_1: Option<&'a str>,
    pub custom_dimension_2: Option<&'a str>,
    pub custom_dimension_3: Option<&'a str>,
    pub custom_dimension_4: Option<&'a str>,
    pub custom_dimension_5: Option<&'a str>,
}
