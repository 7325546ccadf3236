//! Rows go in and come back unchanged: BINARY(8) ids, VARBINARY IPs,
//! DATETIMEs in UTC, DECIMAL coordinates and utf8mb4 URLs.

use diesel::prelude::*;
use tally_db::test_support::TestDb;
use tally_schema::models::{LogAction, NewLogAction, NewVisit, Visit};
use tally_schema::schema::{log_action, log_visit};
use tally_schema::{ActionType, Coordinate, VisitorId};
use time::macros::{datetime, time};

#[test]
fn a_visit_round_trips() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let visitor = VisitorId::from_hex("5f3a9c0e12ab34cd").expect("hex");
    let config = VisitorId([0, 0, 0, 0, 0, 0, 0, 1]); // leading zero bytes must survive
    let ipv6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let first = datetime!(2024-09-30 23:59:58);
    let new = NewVisit {
        visit_last_action_time: datetime!(2024-10-01 00:00:07),
        visit_total_time: 9,
        visit_total_actions: Some(2),
        visit_goal_buyer: Some(3), // TINYINT(1) holds 0-3 here, not a bool
        referer_type: Some(3),
        referer_url: Some("https://例え.jp/パス?q=ü&emoji=🦀"),
        location_latitude: Some(Coordinate(48.856613)),
        location_longitude: Some(Coordinate(-2.352222)),
        visitor_localtime: Some(time!(01:59:58)),
        config_device_type: Some(0),
        ..NewVisit::new(1, visitor, config, &ipv6, first)
    };
    diesel::insert_into(log_visit::table)
        .values(&new)
        .execute(&mut conn)?;

    let back: Visit = log_visit::table
        .select(Visit::as_select())
        .first(&mut conn)?;
    assert_eq!(back.idvisit, 1);
    assert_eq!(back.idvisitor, visitor);
    assert_eq!(back.config_id, config);
    assert_eq!(back.location_ip, ipv6);
    assert_eq!(back.visit_first_action_time, first);
    assert_eq!(back.visit_last_action_time, datetime!(2024-10-01 00:00:07));
    assert_eq!(back.visit_goal_buyer, Some(3));
    assert_eq!(back.referer_url.as_deref(), new.referer_url);
    assert_eq!(back.location_latitude, Some(Coordinate(48.856613)));
    assert_eq!(back.location_longitude, Some(Coordinate(-2.352222)));
    assert_eq!(back.visitor_localtime, Some(time!(01:59:58)));
    assert_eq!(back.user_id, None);

    // The stored DATETIME is the UTC value we wrote, whatever the server zone.
    let by_day: i64 = log_visit::table
        .filter(log_visit::visit_last_action_time.ge(datetime!(2024-10-01 00:00:00)))
        .count()
        .get_result(&mut conn)?;
    assert_eq!(by_day, 1);
    Ok(())
}

#[test]
fn an_ipv4_address_is_four_bytes() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let id = VisitorId([1; 8]);
    let ip = [192, 0, 2, 0];
    let t = datetime!(2024-01-01 12:00:00);
    diesel::insert_into(log_visit::table)
        .values(&NewVisit::new(7, id, id, &ip, t))
        .execute(&mut conn)?;
    let stored: Vec<u8> = log_visit::table
        .select(log_visit::location_ip)
        .first(&mut conn)?;
    assert_eq!(stored, ip);
    Ok(())
}

/// MySQL pads a short value in BINARY(8) with zero bytes; reading it back as
/// a VisitorId must give the padded id, never an error or a short id.
#[test]
fn short_binary_ids_come_back_zero_padded() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    diesel::sql_query(
        "INSERT INTO log_visit (idsite, idvisitor, visit_last_action_time, config_id, location_ip,
            visit_first_action_time, visit_total_time)
         VALUES (1, x'abcd', '2024-01-01 00:00:00', x'01', x'7f000001', '2024-01-01 00:00:00', 0)",
    )
    .execute(&mut conn)?;
    let (visitor, config): (VisitorId, VisitorId) = log_visit::table
        .select((log_visit::idvisitor, log_visit::config_id))
        .first(&mut conn)?;
    assert_eq!(visitor.0, [0xab, 0xcd, 0, 0, 0, 0, 0, 0]);
    assert_eq!(config.to_hex(), "0100000000000000");
    Ok(())
}

#[test]
fn action_names_keep_unicode_and_crc32_matches_mysql() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let url = "example.org/straße/документ?id=🦀";
    let hash = crc32fast::hash(url.as_bytes());
    diesel::insert_into(log_action::table)
        .values(&NewLogAction {
            name: Some(url),
            hash,
            type_: Some(ActionType::PageUrl.code()),
            url_prefix: Some(1),
        })
        .execute(&mut conn)?;
    let back: LogAction = log_action::table
        .filter(log_action::hash.eq(hash))
        .filter(log_action::type_.eq(ActionType::PageUrl.code()))
        .select(LogAction::as_select())
        .first(&mut conn)?;
    assert_eq!(back.name.as_deref(), Some(url));

    // The hash we compute in Rust is MySQL's CRC32() of the stored name.
    let mysql_hash: u64 = log_action::table
        .select(diesel::dsl::sql::<
            diesel::sql_types::Unsigned<diesel::sql_types::BigInt>,
        >("CAST(CRC32(name) AS UNSIGNED)"))
        .first(&mut conn)?;
    assert_eq!(mysql_hash, u64::from(hash));
    Ok(())
}
