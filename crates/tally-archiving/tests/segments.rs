//! Segments against MariaDB (MATOMO.md section 7.11): hand-built visits with
//! their actions and conversions, the visits each segment must select, every
//! catalogue name running with its bound values, and hostile definitions that
//! must either be refused with a clean error or run as harmless values.

use anyhow::Context as _;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Double, Integer, Nullable, Text, TinyInt, Unsigned};
use tally_archiving::segment::{
    self, CustomDimension, DimensionScope, Segment, SegmentContext, SegmentError,
};
use tally_db::test_support::TestDb;

/// `log_action` rows: (idaction, name, type). Titles and other names are
/// stored HTML-escaped, URLs as sent (page URLs without their scheme).
const ACTIONS: [(u32, &str, u8); 12] = [
    (1, "example.org/", 1),
    (2, "example.org/blog/post", 1),
    (3, "Home", 4),
    (4, "Blog &amp; News", 4),
    (5, "https://files.example.org/app.zip", 3),
    (6, "https://other.org/x", 2),
    (7, "rust", 8),
    (8, "Videos", 10),
    (9, "Play", 11),
    (10, "example.org/video", 10),
    (11, "intro", 12),
    (12, "example.org/50%_off", 1),
];

/// One visit of the fixture.
struct Visit {
    idvisit: u64,
    idsite: u32,
    user: Option<&'static str>,
    returning: Option<i8>,
    country: Option<&'static str>,
    device: Option<i8>,
    referrer: Option<(u8, &'static str)>,
    count: u32,
    actions: u32,
    last: &'static str,
    entry: Option<(u32, u32)>,
    ip: [u8; 4],
    converted: i8,
}

/// One action: (idvisit, idaction_url, idaction_name, event category, event
/// action, event value, search category, custom dimension 2).
type Action = (
    u64,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<f64>,
    Option<&'static str>,
    Option<&'static str>,
);

const VISITS: [Visit; 6] = [
    Visit {
        idvisit: 1,
        idsite: 1,
        user: Some("alice"),
        returning: Some(0),
        country: Some("fr"),
        device: Some(1),
        referrer: Some((2, "Google")),
        count: 1,
        actions: 2,
        last: "2024-01-01 10:05:00",
        entry: Some((1, 3)),
        ip: [192, 168, 0, 1],
        converted: 1,
    },
    Visit {
        idvisit: 2,
        idsite: 1,
        user: None,
        returning: Some(1),
        country: Some("de"),
        device: Some(0),
        referrer: Some((1, "")),
        count: 3,
        actions: 2,
        last: "2024-01-02 23:30:00",
        entry: Some((2, 4)),
        ip: [10, 0, 0, 2],
        converted: 0,
    },
    Visit {
        idvisit: 3,
        idsite: 1,
        user: Some(r"a\b"),
        returning: Some(2),
        country: Some("fr"),
        device: None,
        referrer: Some((3, "blog.example")),
        count: 5,
        actions: 3,
        last: "2024-01-03 12:00:00",
        entry: None,
        ip: [10, 0, 0, 3],
        converted: 1,
    },
    Visit {
        idvisit: 4,
        idsite: 1,
        user: Some("50%off"),
        returning: Some(0),
        country: None,
        device: None,
        referrer: None,
        count: 1,
        actions: 0,
        last: "2024-01-04 08:00:00",
        entry: None,
        ip: [172, 16, 0, 4],
        converted: 0,
    },
    Visit {
        idvisit: 5,
        idsite: 1,
        user: Some("a,b"),
        returning: Some(1),
        country: Some("us"),
        device: None,
        referrer: Some((1, "")),
        count: 2,
        actions: 1,
        last: "2024-01-05 09:00:00",
        entry: Some((12, 3)),
        ip: [172, 16, 0, 5],
        converted: 0,
    },
    // Another site: never counted for site 1.
    Visit {
        idvisit: 6,
        idsite: 2,
        user: Some("alice"),
        returning: Some(0),
        country: Some("fr"),
        device: Some(1),
        referrer: Some((2, "Google")),
        count: 1,
        actions: 1,
        last: "2024-01-01 11:00:00",
        entry: Some((1, 3)),
        ip: [192, 168, 0, 1],
        converted: 0,
    },
];

const ACTION_ROWS: [Action; 10] = [
    (1, Some(1), Some(3), None, None, None, None, Some("red")),
    (1, Some(2), Some(4), None, None, None, None, None),
    (2, Some(2), Some(4), None, None, None, None, None),
    (2, Some(5), None, None, None, None, None, None),
    // Site search, event, outlink.
    (3, None, Some(7), None, None, None, Some("docs"), None),
    (
        3,
        Some(10),
        Some(11),
        Some(8),
        Some(9),
        Some(4.5),
        None,
        None,
    ),
    (3, Some(6), None, None, None, None, None, None),
    (5, Some(12), Some(3), None, None, None, None, Some("blue")),
    (6, Some(1), Some(3), None, None, None, None, None),
    // An action of site 2 reusing a URL of site 1.
    (6, Some(2), Some(4), None, None, None, None, None),
];

/// Conversions: (idvisit, idsite, idgoal, idorder, revenue).
const CONVERSIONS: [(u64, u32, i32, Option<&str>, f64); 2] =
    [(1, 1, 1, None, 10.0), (3, 1, 0, Some("A1"), 99.5)];

fn visitor_bytes(idvisit: u64) -> Vec<u8> {
    idvisit.to_be_bytes().to_vec()
}

fn seed(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    for (id, name, action_type) in ACTIONS {
        diesel::sql_query(
            "INSERT INTO log_action (idaction, name, hash, type, url_prefix) \
             VALUES (?, ?, CRC32(?), ?, NULL)",
        )
        .bind::<Unsigned<Integer>, _>(id)
        .bind::<Text, _>(name)
        .bind::<Text, _>(name)
        .bind::<Unsigned<TinyInt>, _>(action_type)
        .execute(conn)
        .with_context(|| format!("action {id}"))?;
    }
    for v in &VISITS {
        diesel::sql_query(
            "INSERT INTO log_visit (idvisit, idsite, idvisitor, visit_last_action_time, config_id, \
             location_ip, user_id, visit_first_action_time, visit_goal_buyer, visit_goal_converted, \
             visit_total_time, visitor_returning, visitor_count_visits, visit_entry_idaction_url, \
             visit_entry_idaction_name, visit_total_actions, referer_type, referer_name, \
             config_device_type, location_country) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 60, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind::<Unsigned<BigInt>, _>(v.idvisit)
        .bind::<Unsigned<Integer>, _>(v.idsite)
        .bind::<Binary, _>(visitor_bytes(v.idvisit))
        .bind::<Text, _>(v.last)
        .bind::<Binary, _>(visitor_bytes(v.idvisit))
        .bind::<Binary, _>(v.ip.to_vec())
        .bind::<Nullable<Text>, _>(v.user)
        .bind::<Text, _>(v.last)
        .bind::<TinyInt, _>(v.converted)
        .bind::<Nullable<TinyInt>, _>(v.returning)
        .bind::<Unsigned<Integer>, _>(v.count)
        .bind::<Nullable<Unsigned<Integer>>, _>(v.entry.map(|e| e.0))
        .bind::<Nullable<Unsigned<Integer>>, _>(v.entry.map(|e| e.1))
        .bind::<Unsigned<Integer>, _>(v.actions)
        .bind::<Nullable<Unsigned<TinyInt>>, _>(v.referrer.map(|r| r.0))
        .bind::<Nullable<Text>, _>(v.referrer.map(|r| r.1).filter(|name| !name.is_empty()))
        .bind::<Nullable<TinyInt>, _>(v.device)
        .bind::<Nullable<Text>, _>(v.country)
        .execute(conn)
        .with_context(|| format!("visit {}", v.idvisit))?;
    }
    for (i, (idvisit, url, name, category, event_action, value, search_cat, dimension)) in
        ACTION_ROWS.into_iter().enumerate()
    {
        let idsite = VISITS
            .iter()
            .find(|v| v.idvisit == idvisit)
            .map_or(1, |v| v.idsite);
        diesel::sql_query(
            "INSERT INTO log_link_visit_action (idsite, idvisitor, idvisit, server_time, \
             idaction_url, idaction_name, idaction_event_category, idaction_event_action, \
             custom_float, search_cat, custom_dimension_2) \
             VALUES (?, ?, ?, '2024-01-01 10:00:00', ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind::<Unsigned<Integer>, _>(idsite)
        .bind::<Binary, _>(visitor_bytes(idvisit))
        .bind::<Unsigned<BigInt>, _>(idvisit)
        .bind::<Nullable<Unsigned<Integer>>, _>(url)
        .bind::<Nullable<Unsigned<Integer>>, _>(name)
        .bind::<Nullable<Unsigned<Integer>>, _>(category)
        .bind::<Nullable<Unsigned<Integer>>, _>(event_action)
        .bind::<Nullable<Double>, _>(value)
        .bind::<Nullable<Text>, _>(search_cat)
        .bind::<Nullable<Text>, _>(dimension)
        .execute(conn)
        .with_context(|| format!("action row {i}"))?;
    }
    for (buster, (idvisit, idsite, idgoal, idorder, revenue)) in CONVERSIONS.into_iter().enumerate()
    {
        diesel::sql_query(
            "INSERT INTO log_conversion (idvisit, idsite, idvisitor, server_time, idgoal, buster, \
             idorder, url, revenue) VALUES (?, ?, ?, '2024-01-01 10:00:00', ?, ?, ?, '', ?)",
        )
        .bind::<Unsigned<BigInt>, _>(idvisit)
        .bind::<Unsigned<Integer>, _>(idsite)
        .bind::<Binary, _>(visitor_bytes(idvisit))
        .bind::<Integer, _>(idgoal)
        .bind::<Unsigned<Integer>, _>(u32::try_from(buster)?)
        .bind::<Nullable<Text>, _>(idorder)
        .bind::<Double, _>(revenue)
        .execute(conn)
        .with_context(|| format!("conversion of visit {idvisit}"))?;
    }
    for (idsite, name) in [(1, "Signup"), (2, "Other")] {
        diesel::sql_query(
            "INSERT INTO goal (idsite, idgoal, name, match_attribute, pattern, pattern_type, \
             case_sensitive, allow_multiple, revenue) \
             VALUES (?, 1, ?, 'manually', '', 'contains', 0, 0, 0)",
        )
        .bind::<Integer, _>(idsite)
        .bind::<Text, _>(name)
        .execute(conn)?;
    }
    Ok(())
}

/// A fresh database with the fixture. The connection comes first so that it
/// closes before the database is dropped.
fn fixture() -> anyhow::Result<(MysqlConnection, TestDb)> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    seed(&mut conn)?;
    Ok((conn, db))
}

/// The visits of site 1 in the segment, by id.
fn visit_ids(conn: &mut MysqlConnection, segment: &Segment) -> QueryResult<Vec<u64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Unsigned<BigInt>)]
        idvisit: u64,
    }
    let sql = segment.to_sql();
    let query = diesel::sql_query(format!(
        "SELECT log_visit.idvisit FROM log_visit AS log_visit \
         WHERE log_visit.idsite = ? AND ({}) ORDER BY log_visit.idvisit",
        sql.where_sql
    ))
    .into_boxed()
    .bind::<Unsigned<Integer>, _>(1u32);
    let rows: Vec<Id> = sql.apply_binds(query).load(conn)?;
    Ok(rows.into_iter().map(|row| row.idvisit).collect())
}

#[test]
fn segments_select_exactly_the_expected_visits() -> anyhow::Result<()> {
    let (mut conn, _db) = fixture()?;
    let cases: &[(&str, &[u64])] = &[
        ("", &[1, 2, 3, 4, 5]),
        // Visit columns and value conversions.
        ("countryCode==FR", &[1, 3]),
        ("countryCode!=fr", &[2, 4, 5]),
        ("visitorType==new", &[1, 4]),
        (
            "visitorType==returning,visitorType==returningCustomer",
            &[2, 3, 5],
        ),
        // OR binds tighter: de AND (new OR returning).
        (
            "countryCode==de;visitorType==new,visitorType==returning",
            &[2],
        ),
        ("visitorId==0000000000000001", &[1]),
        ("visitIp==192.168.0.1", &[1]),
        ("visitIp>=10.0.0.0;visitIp<=10.0.0.255", &[2, 3]),
        ("deviceType==smartphone", &[1]),
        ("deviceType==desktop", &[2]),
        // `desktop` converts to 0, PHP-empty: Matomo's != then skips NULLs.
        ("deviceType!=desktop", &[1]),
        ("deviceType!=smartphone", &[2, 3, 4, 5]),
        ("referrerType==search", &[1]),
        ("referrerName==", &[2, 4, 5]),
        ("visitEndServerDate==2024-01-02", &[2]),
        ("visitServerHour==23", &[2]),
        ("actions>=2", &[1, 2, 3]),
        ("visitCount==3,visitCount==5", &[2, 3]),
        ("visitConverted==1", &[1, 3]),
        // Empty values, escapes, LIKE wildcards taken literally.
        ("userId==", &[2]),
        ("userId!=", &[1, 3, 4, 5]),
        // Only `\;` and `\,` are escapes (Matomo 5): a backslash is itself.
        (r"userId==a\b", &[3]),
        (r"userId==a\\b", &[]),
        (r"userId==a\,b", &[5]),
        ("userId==a%252Cb", &[5]),
        ("userId=@%25", &[4]),
        ("userId=@_", &[]),
        ("userId=^ali", &[1]),
        ("userId=$ce", &[1]),
        ("userId!@a", &[2, 4]),
        // Names stored in log_action.
        ("pageUrl==https://www.example.org/blog/post", &[1, 2]),
        ("pageUrl==example.org/blog/post", &[1, 2]),
        ("pageUrl!=example.org/blog/post", &[3, 4, 5]),
        ("pageUrl=@blog", &[1, 2]),
        ("pageUrl=@%_off", &[5]),
        ("pageUrl=@0_", &[]),
        ("pageUrl=^http://example.org/b", &[1, 2]),
        ("pageTitle==Blog & News", &[1, 2]),
        (r"pageTitle==Blog &amp\; News", &[1, 2]),
        ("pageTitle!@News", &[3, 4, 5]),
        ("entryPageUrl==example.org/", &[1]),
        ("entryPageUrl!=example.org/", &[2, 3, 4, 5]),
        ("entryPageTitle==Home", &[1, 5]),
        ("downloadUrl=@app.zip", &[2]),
        ("outlinkUrl==https://other.org/x", &[3]),
        ("actionUrl=@other.org", &[3]),
        ("actionUrl=$video", &[3]),
        ("siteSearchKeyword==rust", &[3]),
        ("siteSearchCategory==docs", &[3]),
        ("eventCategory==Videos;eventAction==Play", &[3]),
        ("eventName==intro", &[3]),
        ("eventUrl==https://example.org/video", &[3]),
        ("eventValue>4", &[3]),
        ("actionType==downloads", &[2]),
        ("actionType==events", &[3]),
        ("actionType!=pageviews", &[3, 4]),
        // All action conditions hold on one action row.
        ("pageTitle==Home;pageUrl==example.org/", &[1]),
        ("pageTitle==Home;pageUrl==example.org/blog/post", &[]),
        ("pageUrl==example.org/;pageUrl==example.org/blog/post", &[]),
        // A visit without actions never matches a positive action condition.
        ("visitorType==new,pageUrl==example.org/blog/post", &[1, 2]),
        (
            "pageUrl!=example.org/blog/post;visitorType==returning",
            &[5],
        ),
        // Conversions, LEFT JOINed to the visit.
        ("visitConvertedGoalId==1", &[1]),
        ("visitConvertedGoalId!=1", &[2, 3, 4, 5]),
        ("visitConvertedGoalId==", &[2, 3, 4, 5]),
        ("visitConvertedGoalName==Signup", &[1]),
        ("visitConvertedGoalName=@Oth", &[]),
        ("orderId==A1", &[3]),
        // Revenue segments read orders (or carts) only: visit 1's goal
        // revenue of 10 is not an order's.
        ("revenueOrder>50", &[3]),
        ("revenueOrder>5", &[3]),
        ("revenueOrder==99.5", &[3]),
        ("revenueOrder>5;pageTitle==Home", &[]),
        ("revenueAbandonedCart>5", &[]),
        ("revenueOrder>5;orderId==A1", &[3]),
        ("revenueOrder<100;visitConvertedGoalId==0", &[3]),
    ];
    let mut failures = Vec::new();
    for (definition, expected) in cases {
        let segment = Segment::parse(definition).with_context(|| definition.to_string())?;
        let ids = visit_ids(&mut conn, &segment).with_context(|| definition.to_string())?;
        if ids != *expected {
            failures.push(format!(
                "{definition:?}: got {ids:?}, expected {expected:?}"
            ));
        }
        let count = segment::count_visits(&mut conn, 1, &segment)?;
        if usize::try_from(count)? != expected.len() {
            failures.push(format!("{definition:?}: count_visits gave {count}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn custom_dimensions_through_the_context() -> anyhow::Result<()> {
    let (mut conn, _db) = fixture()?;
    let context = SegmentContext {
        custom_dimensions: vec![CustomDimension {
            id: 7,
            index: 2,
            scope: DimensionScope::Action,
        }],
    };
    let segment = Segment::parse_with("dimension7==red,dimension7==blue", &context)?;
    assert_eq!(visit_ids(&mut conn, &segment)?, [1, 5]);
    let segment = Segment::parse_with("dimension7!=red", &context)?;
    assert_eq!(visit_ids(&mut conn, &segment)?, [2, 3, 4, 5]);
    assert!(matches!(
        Segment::parse("dimension7==red"),
        Err(SegmentError::UnknownSegment { .. })
    ));
    Ok(())
}

/// Every name runs with each operator it accepts: the catalogue's columns
/// exist and every bound value has a type MariaDB takes.
#[test]
fn every_catalogue_segment_runs() -> anyhow::Result<()> {
    let (mut conn, _db) = fixture()?;
    let samples = [
        "1",
        "2024-01-01",
        "new",
        "none",
        "direct",
        "desktop",
        "browser",
        "pageviews",
        "0000000000000001",
        "10.0.0.1",
        "eur",
        "x",
        // `deviceBrand` takes a brand name only.
        "Apple",
    ];
    let operators = ["==", "!=", "<=", ">=", "<", ">", "=@", "!@", "=^", "=$"];
    let mut runs = 0;
    for name in segment::segment_names() {
        let mut definitions = vec![format!("{name}=="), format!("{name}!=")];
        for op in operators {
            if let Some(definition) = samples
                .iter()
                .map(|value| format!("{name}{op}{value}"))
                .find(|definition| Segment::parse(definition).is_ok())
            {
                definitions.push(definition);
            }
        }
        assert!(definitions.len() > 2, "{name} accepts no value");
        for definition in definitions {
            let Ok(segment) = Segment::parse(&definition) else {
                continue;
            };
            segment::count_visits(&mut conn, 1, &segment)
                .with_context(|| format!("{definition}: {}", segment.to_sql().where_sql))?;
            runs += 1;
        }
    }
    assert!(runs > 500, "only {runs} segments ran");
    Ok(())
}

/// What a hostile definition must do.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// Be refused with an error whose message contains this text.
    Refused(&'static str),
    /// Parse and select this many visits of site 1.
    Count(u64),
}

#[test]
fn hostile_definitions_fail_cleanly_or_run_safely() -> anyhow::Result<()> {
    use Want::{Count, Refused};
    let (mut conn, _db) = fixture()?;
    let overlong = format!("userId=={}", "a".repeat(9000));
    let quotes = format!("userId=={}", "'".repeat(5000));
    let many = vec!["visitCount>=0"; 300].join(";");
    let cases: Vec<(&str, Want)> = vec![
        // SQL in values: separators split it, or it is a bound value.
        (
            "userId=='; DROP TABLE log_visit; --",
            Refused("has no operator"),
        ),
        (
            "userId==%27%3B%20DROP%20TABLE%20log_visit%3B%20--",
            Count(0),
        ),
        ("userId==' OR '1'='1", Count(0)),
        ("userId==x' OR 1=1 -- ", Count(0)),
        ("userId==alice'--", Count(0)),
        ("userId==alice/*", Count(0)),
        ("userId==*/ OR 1=1 /*", Count(0)),
        ("userId==1 UNION SELECT idvisit FROM log_visit", Count(0)),
        ("referrerName==Google') UNION SELECT 1 --", Count(0)),
        ("userId!=' OR ''='", Count(5)),
        ("userId!@'", Count(5)),
        ("userId==a`b", Count(0)),
        ("countryCode==FR' OR 'a'='a", Count(0)),
        ("pageUrl==' OR 1=1 --", Count(0)),
        ("pageUrl=@%'", Count(0)),
        ("pageTitle==<script>alert(1)</script>", Count(0)),
        ("visitConvertedGoalName==' OR 1=1 --", Count(0)),
        (quotes.as_str(), Count(0)),
        // Backslashes and escapes.
        (r"userId==\", Count(0)),
        (r"userId==\'", Count(0)),
        (r"userId==alice\", Count(0)),
        (r"userId==a\\b", Count(0)),
        (r"userId==a\b", Count(1)),
        (r"userId==alice\,userId==bob", Count(0)),
        (r"\;;userId==alice", Refused("has no operator")),
        ("userId==alice;", Count(0)),
        // NUL, encodings, percent tricks.
        ("userId==a%00b", Refused("NUL character")),
        ("userId==a%2500b", Refused("NUL character")),
        ("userId==%C0%27", Refused("not valid UTF-8")),
        ("userId==%E2%80%AE%27", Count(0)),
        ("userId==%252527", Count(0)),
        ("userId==%", Count(0)),
        ("userId=@%25%25", Count(0)),
        ("userId==a%0Ab", Count(0)),
        ("%75serId==alice", Count(1)),
        ("userId%3D%3Dalice", Count(1)),
        // Names that are not segments.
        (
            "log_visit.idvisit==1",
            Refused("segment \"log_visit.idvisit\" is not a supported segment"),
        ),
        (
            "idvisit==1",
            Refused("\"idvisit\" is not a supported segment"),
        ),
        (
            "userId/**/==x",
            Refused("\"userId/**/\" is not a supported"),
        ),
        ("1=1==1", Refused("\"1=1\" is not a supported segment")),
        ("dimension1==x", Refused("is not a supported segment")),
        (
            "(userId==x)",
            Refused("\"(userId\" is not a supported segment"),
        ),
        // Operators without names, names without operators.
        ("==alice", Refused("no segment name before the operator")),
        ("!=", Refused("no segment name before the operator")),
        ("=@x", Refused("no segment name before the operator")),
        ("userId", Refused("has no operator")),
        ("userId alice", Refused("has no operator")),
        (";", Refused("has no operator")),
        (",,", Refused("empty condition")),
        // Matomo 5 drops empty AND parts; a separator at the very end is
        // text, so the last `;` is a condition of its own.
        (";userId==x", Count(0)),
        ("userId==x;;", Refused("has no operator")),
        // Values the segment cannot convert.
        ("visitCount==1 OR 1=1", Refused("invalid value")),
        ("visitCount>=0x10", Refused("expected a number")),
        ("visitorId==' OR 1=1 --", Refused("16 hexadecimal digits")),
        ("visitIp==1.2.3.4' --", Refused("an IPv4 or IPv6 address")),
        ("actionType==1 OR 1=1", Refused("invalid value")),
        (
            "visitEndServerDate==2024-01-01' OR '1'='1",
            Refused("a date YYYY-MM-DD"),
        ),
        (
            "visitorId=@0",
            Refused("does not support the operator `=@`"),
        ),
        ("userId>", Refused("has no value after `>`")),
        // Size limits.
        (
            overlong.as_str(),
            Refused("9008 bytes long, more than the 8192 allowed"),
        ),
        (
            many.as_str(),
            Refused("300 conditions, more than the 100 allowed"),
        ),
    ];
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for (definition, want) in &cases {
        let shown: String = definition.chars().take(60).collect();
        match (Segment::parse(definition), want) {
            (Err(err), Refused(text)) => {
                let message = err.to_string();
                if !message.contains(text) {
                    failures.push(format!("{shown:?}: message {message:?} lacks {text:?}"));
                }
            }
            (Ok(segment), Count(expected)) => match segment::count_visits(&mut conn, 1, &segment) {
                Ok(count) if count == *expected => {}
                Ok(count) => {
                    failures.push(format!("{shown:?}: {count} visits, expected {expected}"))
                }
                Err(err) => failures.push(format!("{shown:?}: query failed: {err}")),
            },
            (Err(err), Count(_)) => failures.push(format!("{shown:?}: refused: {err}")),
            (Ok(segment), Refused(_)) => {
                failures.push(format!("{shown:?}: accepted as {:?}", segment.groups()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Nothing was dropped or changed.
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    for table in [
        "log_visit",
        "log_link_visit_action",
        "log_action",
        "log_conversion",
        "goal",
    ] {
        let found: Total = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind::<Text, _>(table)
        .get_result(&mut conn)?;
        assert_eq!(found.n, 1, "table {table}");
    }
    let visits: Total =
        diesel::sql_query("SELECT COUNT(*) AS n FROM log_visit").get_result(&mut conn)?;
    assert_eq!(visits.n, 6);
    assert_eq!(
        segment::count_visits(&mut conn, 1, &Segment::parse("")?)?,
        5
    );
    Ok(())
}
