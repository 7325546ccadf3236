//! Loading the visits a batch may continue into the visit cache.

use std::collections::HashMap;

use diesel::prelude::*;
use tally_db::test_support::TestDb;
use tally_tracking::visit::{VisitCache, prefetch};

#[path = "support/plans.rs"]
mod plans;
use plans::{freeze_statistics, rows_read};

/// 2026-03-02 00:00:00 UTC.
const T0: i64 = 1_772_409_600;

fn insert_visit(
    conn: &mut MysqlConnection,
    idvisit: u64,
    idsite: u32,
    visitor: [u8; 8],
    config: [u8; 8],
    last: i64,
) -> anyhow::Result<()> {
    use diesel::sql_types::{BigInt, Binary, Unsigned};
    diesel::sql_query(
        "INSERT INTO log_visit (idvisit, idsite, idvisitor, config_id, location_ip, \
         visit_first_action_time, visit_last_action_time, visit_total_time, visit_total_actions) \
         VALUES (?, ?, ?, ?, X'7f000000', FROM_UNIXTIME(?) , FROM_UNIXTIME(?), 0, 1)",
    )
    .bind::<Unsigned<BigInt>, _>(idvisit)
    .bind::<Unsigned<diesel::sql_types::Integer>, _>(idsite)
    .bind::<Binary, _>(visitor.to_vec())
    .bind::<Binary, _>(config.to_vec())
    .bind::<BigInt, _>(last)
    .bind::<BigInt, _>(last)
    .execute(conn)?;
    Ok(())
}

#[test]
fn the_ten_newest_visits_of_each_visitor_and_the_fingerprint_matches_are_loaded()
-> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    diesel::sql_query("SET time_zone = '+00:00'").execute(&mut conn)?;
    let returning = *b"returnin";
    let new = *b"newvisit";
    let by_config = *b"configvi";
    // Twelve visits an hour apart, inserted oldest last so that the pick
    // cannot follow insertion order.
    for k in (0..12u64).rev() {
        insert_visit(
            &mut conn,
            100 + k,
            1,
            returning,
            *b"cfg-ret.",
            T0 + k as i64 * 3600,
        )?;
    }
    // The same visitor id on another site is another visitor.
    insert_visit(&mut conn, 200, 2, returning, *b"cfg-ret.", T0 + 20 * 3600)?;
    // Two visits of one fingerprint: one inside the window, one before it.
    insert_visit(&mut conn, 300, 1, by_config, *b"cfg-only", T0 + 5_000)?;
    insert_visit(&mut conn, 301, 1, by_config, *b"cfg-only", T0 - 50_000)?;

    let mut cache = VisitCache::new(1_000);
    prefetch(
        &mut conn,
        &mut cache,
        &HashMap::from([(1, vec![returning, new])]),
        &HashMap::from([(1, (vec![*b"cfg-only"], T0 + 3_200, T0 + 6_800))]),
    )?;

    for k in 2..12 {
        let visit = cache.get(100 + k).expect("one of the ten newest visits");
        assert_eq!(visit.last, T0 + k as i64 * 3600);
        assert_eq!(visit.idvisitor, returning);
    }
    assert!(cache.get(100).is_none() && cache.get(101).is_none());
    assert!(cache.get(200).is_none(), "site 2 was not asked for");
    assert_eq!(
        cache
            .find_by_visitor(1, returning, T0 + 11 * 3600 + 60)
            .map(|v| v.idvisit),
        Some(111)
    );
    // Known to have no visit: no second query for it.
    assert!(cache.knows_visitor(1, new));
    assert!(cache.find_by_visitor(1, new, T0).is_none());
    assert_eq!(
        cache
            .find_by_config(1, *b"cfg-only", T0 + 5_000, None)
            .map(|v| v.idvisit),
        Some(300)
    );
    assert!(cache.get(301).is_none(), "outside the fingerprint's window");
    Ok(())
}

/// A visit the cache holds in a newer state than its row (a batch that
/// updated it may not have committed yet) keeps that state; a newer row
/// (written by another process) replaces it.
#[test]
fn a_row_older_than_the_cached_visit_does_not_replace_it() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    diesel::sql_query("SET time_zone = '+00:00'").execute(&mut conn)?;
    let config = *b"cfg-newr";
    insert_visit(&mut conn, 400, 1, *b"visitor4", config, T0 + 5_000)?;
    let keys = HashMap::from([(1, (vec![config], T0 + 3_200, T0 + 9_000))]);
    let mut cache = VisitCache::new(1_000);
    prefetch(&mut conn, &mut cache, &HashMap::new(), &keys)?;
    let mut ahead = cache.get(400).expect("loaded").clone();
    assert_eq!((ahead.last, ahead.total_actions), (T0 + 5_000, 1));

    // The recorder's own, not yet committed, next action.
    ahead.last = T0 + 5_600;
    ahead.total_actions = 2;
    cache.put(ahead);
    prefetch(&mut conn, &mut cache, &HashMap::new(), &keys)?;
    let kept = cache.get(400).expect("still cached");
    assert_eq!((kept.last, kept.total_actions), (T0 + 5_600, 2));

    // Another writer's later action.
    diesel::sql_query(
        "UPDATE log_visit SET visit_last_action_time = FROM_UNIXTIME(?), \
         visit_total_actions = 3 WHERE idvisit = 400",
    )
    .bind::<diesel::sql_types::BigInt, _>(T0 + 7_000)
    .execute(&mut conn)?;
    prefetch(&mut conn, &mut cache, &HashMap::new(), &keys)?;
    let replaced = cache.get(400).expect("still cached");
    assert_eq!((replaced.last, replaced.total_actions), (T0 + 7_000, 3));
    Ok(())
}

/// A batch with a few hundred new visitors on a site whose `log_visit`
/// statistics were taken while it was empty (a new site, a fresh import)
/// is still looked up key by key: the server reads about a row a key, not
/// the site's whole index.
#[test]
fn long_key_lists_are_looked_up_by_key_when_the_statistics_are_stale() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    diesel::sql_query("SET time_zone = '+00:00'").execute(&mut conn)?;
    freeze_statistics(&mut conn, "log_visit")?;
    let key = |kind: u8, n: u64| {
        let mut k = [kind; 8];
        k[2..].copy_from_slice(&n.to_be_bytes()[2..]);
        k
    };
    // 4,000 visits of site 1 within the hour, in multi-row inserts.
    const VISITS: u64 = 4_000;
    for chunk in (0..VISITS).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|&n| {
                format!(
                    "({}, 1, X'{}', X'{}', X'7f000000', FROM_UNIXTIME({t}), FROM_UNIXTIME({t}), 0, 1)",
                    n + 1,
                    hex(&key(b'v', n)),
                    hex(&key(b'c', n)),
                    t = T0 + (n % 3_600) as i64,
                )
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO log_visit (idvisit, idsite, idvisitor, config_id, location_ip, \
             visit_first_action_time, visit_last_action_time, visit_total_time, \
             visit_total_actions) VALUES {}",
            values.join(",")
        ))
        .execute(&mut conn)?;
    }
    // 300 visitors and fingerprints: every other one has a visit.
    let visitors: Vec<[u8; 8]> = (0..300)
        .map(|i| key(b'v', i * 2 * (VISITS / 600)))
        .collect();
    let visitors: Vec<[u8; 8]> = visitors
        .iter()
        .enumerate()
        .map(|(i, k)| if i % 2 == 0 { *k } else { key(b'x', i as u64) })
        .collect();
    let configs: Vec<[u8; 8]> = (0..300).map(|i| key(b'y', i)).collect();

    let before = rows_read(&mut conn)?;
    let mut cache = VisitCache::new(10_000);
    prefetch(
        &mut conn,
        &mut cache,
        &HashMap::from([(1, visitors.clone())]),
        &HashMap::from([(1, (configs, T0, T0 + 7_200))]),
    )?;
    let read = rows_read(&mut conn)? - before;

    for (i, v) in visitors.iter().enumerate() {
        if i % 2 == 0 {
            assert!(
                cache.find_by_visitor(1, *v, T0 + 3_600).is_some(),
                "visitor {i} has a visit"
            );
        } else {
            assert!(cache.knows_visitor(1, *v), "visitor {i} is known to be new");
        }
    }
    // 600 keys, 150 visits found (each read again by primary key) and the
    // status query's own rows: well under the site's 4,000 index entries.
    assert!(
        read < 1_500,
        "{read} rows read for 600 keys: the lookups scanned the site's visits"
    );
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
