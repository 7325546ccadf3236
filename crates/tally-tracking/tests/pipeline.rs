//! `DirectWriter`'s two stages: batches prepared ahead of their commits.

use std::sync::Arc;

use diesel::prelude::*;
use tally_db::test_support::TestDb;
use tally_tracking::hit::{Hit, RequestMeta, build_hit};
use tally_tracking::params::{RawParams, TrackingRequest};
use tally_tracking::php::rawurlencode as enc;
use tally_tracking::recorder::DirectWriter;
use tally_tracking::referrer::ReferrerDefinitions;
use tally_tracking::site::{Snapshot, load_snapshot};

/// 2026-03-02 10:00:00 UTC.
const T0: i64 = 1_772_445_600;

fn seed(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Shop', 'https://shop.example', '2020-01-01 00:00:00', 1, 1, '', '', 'UTC', 'EUR', \
         '', '', '', '', '', 'website')",
    )
    .execute(conn)?;
    Ok(())
}

/// The hit of `query` (site 1) at `time`.
fn hit(snapshot: &Snapshot, query: &str, time: i64) -> anyhow::Result<Hit> {
    let raw = RawParams::from_query(&format!("idsite=1&rec=1&{query}"));
    let req = TrackingRequest::from_params(&raw)?;
    let meta = RequestMeta {
        ip: Some("192.0.2.7".parse()?),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Firefox/120.0".into()),
        ..RequestMeta::default()
    };
    let site = Arc::clone(&snapshot.sites[&1]);
    match build_hit(raw, req, &meta, site, &snapshot.globals, time)? {
        Ok(hit) => Ok(hit),
        Err(excluded) => anyhow::bail!("excluded: {excluded:?}"),
    }
}

fn count(conn: &mut MysqlConnection, sql: &str) -> anyhow::Result<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    Ok(diesel::sql_query(sql).get_result::<N>(conn)?.n)
}

/// (visits, the visits' `visit_total_actions`, action rows).
fn stored(conn: &mut MysqlConnection) -> anyhow::Result<(i64, i64, i64)> {
    Ok((
        count(conn, "SELECT COUNT(*) AS n FROM log_visit")?,
        count(
            conn,
            "SELECT CAST(COALESCE(SUM(visit_total_actions), 0) AS SIGNED) AS n FROM log_visit",
        )?,
        count(conn, "SELECT COUNT(*) AS n FROM log_link_visit_action")?,
    ))
}

/// A seeded database, a connection for each stage and a writer.
struct Setup {
    _db: TestDb,
    prepare_conn: MysqlConnection,
    commit_conn: MysqlConnection,
    snapshot: Snapshot,
    globals: Arc<tally_tracking::site::Globals>,
    writer: DirectWriter,
}

impl Setup {
    fn new() -> anyhow::Result<Self> {
        let db = TestDb::new()?;
        let (mut prepare_conn, commit_conn) = (db.conn()?, db.conn()?);
        seed(&mut prepare_conn)?;
        let snapshot = load_snapshot(&mut prepare_conn)?;
        Ok(Self {
            _db: db,
            prepare_conn,
            commit_conn,
            globals: Arc::clone(&snapshot.globals),
            snapshot,
            writer: DirectWriter::new(1_000, Arc::new(ReferrerDefinitions::builtin().clone())),
        })
    }
}

#[test]
fn a_batch_prepared_before_the_previous_one_commits_sees_its_visits_and_orders()
-> anyhow::Result<()> {
    let Setup {
        _db,
        mut prepare_conn,
        mut commit_conn,
        snapshot,
        globals,
        mut writer,
    } = Setup::new()?;
    let visitor = "_id=0123456789abcdef";

    let first = writer.prepare(
        &mut prepare_conn,
        vec![
            hit(
                &snapshot,
                &format!("{visitor}&url=https://shop.example/a"),
                T0,
            )?,
            hit(
                &snapshot,
                &format!("{visitor}&url=https://shop.example/buy&idgoal=0&ec_id=A1&revenue=10"),
                T0 + 60,
            )?,
        ],
        Arc::clone(&globals),
    )?;
    // Prepared while the first batch is not committed: a SELECT on another
    // connection could not see its visit or its order.
    let second = writer.prepare(
        &mut prepare_conn,
        vec![
            hit(
                &snapshot,
                &format!("{visitor}&url=https://shop.example/b"),
                T0 + 120,
            )?,
            hit(
                &snapshot,
                &format!("{visitor}&url=https://shop.example/buy&idgoal=0&ec_id=A1&revenue=10"),
                T0 + 180,
            )?,
        ],
        Arc::clone(&globals),
    )?;
    assert!(second.results()[0].is_ok());
    assert!(
        second.results()[1].is_err(),
        "the order of the uncommitted batch counts as existing"
    );
    // Out of order: refused, and nothing written.
    let early = writer.prepare(
        &mut prepare_conn,
        vec![hit(
            &snapshot,
            &format!("{visitor}&url=https://shop.example/c"),
            T0 + 240,
        )?],
        Arc::clone(&globals),
    )?;
    assert_eq!(first.results().len(), 2);
    first.commit(&mut commit_conn, |_, _| Ok(()))?;
    let refused = early.commit(&mut commit_conn, |_, _| Ok(()));
    assert!(refused.is_err(), "the second batch has not committed yet");
    // `early` was refused: the writer starts again from the database, and
    // `second`, prepared before that, can no longer commit either.
    assert!(second.commit(&mut commit_conn, |_, _| Ok(())).is_err());
    let again = writer.prepare(
        &mut prepare_conn,
        vec![
            hit(
                &snapshot,
                &format!("{visitor}&url=https://shop.example/b"),
                T0 + 120,
            )?,
            hit(
                &snapshot,
                &format!("{visitor}&url=https://shop.example/c"),
                T0 + 240,
            )?,
        ],
        Arc::clone(&globals),
    )?;
    again.commit(&mut commit_conn, |_, _| Ok(()))?;

    // One visit of three page views (the order records no action): the
    // last batch continued the visit of the first, read back from the
    // database.
    assert_eq!(stored(&mut commit_conn)?, (1, 3, 3));
    assert_eq!(
        count(
            &mut commit_conn,
            "SELECT COUNT(*) AS n FROM log_conversion WHERE idgoal = 0"
        )?,
        1
    );
    Ok(())
}

#[test]
fn a_failed_commit_refuses_the_batches_prepared_after_it() -> anyhow::Result<()> {
    let Setup {
        _db,
        mut prepare_conn,
        mut commit_conn,
        snapshot,
        globals,
        mut writer,
    } = Setup::new()?;
    let visitor = "_id=fedcba9876543210";

    let first = writer.prepare(
        &mut prepare_conn,
        vec![hit(
            &snapshot,
            &format!("{visitor}&url=https://shop.example/a"),
            T0,
        )?],
        Arc::clone(&globals),
    )?;
    let second = writer.prepare(
        &mut prepare_conn,
        vec![hit(
            &snapshot,
            &format!("{visitor}&url=https://shop.example/b"),
            T0 + 60,
        )?],
        Arc::clone(&globals),
    )?;
    // The caller's part of the transaction fails: the batch rolls back.
    let failed = first.commit(&mut commit_conn, |conn, _| {
        diesel::sql_query("SELECT * FROM no_such_table").execute(conn)?;
        Ok(())
    });
    assert!(failed.is_err());
    assert!(second.commit(&mut commit_conn, |_, _| Ok(())).is_err());
    assert_eq!(stored(&mut commit_conn)?, (0, 0, 0));

    // The next batch does not continue the visit that was never written.
    let retried = writer.prepare(
        &mut prepare_conn,
        vec![hit(
            &snapshot,
            &format!("{visitor}&url=https://shop.example/b"),
            T0 + 60,
        )?],
        Arc::clone(&globals),
    )?;
    retried.commit(&mut commit_conn, |_, _| Ok(()))?;
    assert_eq!(stored(&mut commit_conn)?, (1, 1, 1));
    Ok(())
}

/// Every row of `table`, every column but `skip` as hex (NULL as `-`), in
/// primary key order.
fn dump(conn: &mut MysqlConnection, table: &str, skip: &[&str]) -> anyhow::Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
    }
    let columns: Vec<S> = diesel::sql_query(format!(
        "SELECT column_name AS s FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"
    ))
    .load(conn)?;
    let exprs: Vec<String> = columns
        .iter()
        .filter(|c| !skip.contains(&c.s.as_str()))
        .map(|c| format!("'{0}=', COALESCE(HEX(`{0}`), '-')", c.s))
        .collect();
    let rows: Vec<S> = diesel::sql_query(format!(
        "SELECT CONCAT_WS(' ', {}) AS s FROM {table} ORDER BY 1",
        exprs.join(", ' ', ")
    ))
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.s).collect())
}

/// The session's `LOAD DATA` statements so far.
fn loads_run(conn: &mut MysqlConnection) -> anyhow::Result<i64> {
    count(
        conn,
        "SELECT CAST(VARIABLE_VALUE AS SIGNED) AS n FROM information_schema.session_status \
         WHERE VARIABLE_NAME = 'COM_LOAD'",
    )
}

/// Batches whose new visit and action rows and visit updates are loaded
/// from files store the same rows, column for column, as batches that
/// insert and update from literals: new visits, continuing ones, every
/// kind of action, text with the characters the file format escapes.
#[test]
fn loaded_batches_store_what_inserted_batches_store() -> anyhow::Result<()> {
    let cvar = enc(r#"{"1":["tab\there","new\nline \\ 'q' \\N 🎉"]}"#);
    let queries: Vec<String> = (0..150)
        .map(|i| {
            let visitor = format!("_id={:016x}", 0xabc0_0000_u64 + i % 40);
            let kind = match i % 6 {
                0 => format!(
                    "url=https://shop.example/p/{i}&action_name=Page%09{i}&urlref={}&_cvar={cvar}&cvar={cvar}",
                    enc("https://www.google.com/search?q=tab%09and\\back")
                ),
                1 => format!("url=https://shop.example/s&search=shoes%0A{i}&search_cat=a%5Cb&search_count=3"),
                2 => format!("url=https://shop.example/e&e_c=Video&e_a=Play&e_n=intro&e_v={i}.25"),
                3 => "url=https://shop.example/x&link=https://elsewhere.example/".to_owned(),
                4 => format!("url=https://shop.example/t&pf_net={i}&pf_srv=20&pf_tfr=3&pf_dm1=40&pf_dm2=5&pf_onl=2"),
                _ => format!("url=https://shop.example/item&_pks=SKU{i}&_pkn=Item%20{i}&_pkc=Cat&_pkp=9.5"),
            };
            // A user agent per visitor: one fingerprint would make one visit.
            let ua = enc(&format!("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Firefox/120.{}", i % 40));
            format!("{visitor}&{kind}&ua={ua}&res=1920x1080&lang=de")
        })
        .collect();
    let mut dumps = Vec::new();
    for min_rows in [Some(1), None] {
        let mut s = Setup::new()?;
        s.writer = s.writer.with_load_min_rows(min_rows);
        for (b, part) in queries.chunks(100).enumerate() {
            let hits = part
                .iter()
                .enumerate()
                .map(|(i, q)| hit(&s.snapshot, q, T0 + (b * 100 + i) as i64 * 7))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let batch = s
                .writer
                .prepare(&mut s.prepare_conn, hits, Arc::clone(&s.globals))?;
            assert!(batch.results().iter().all(Result::is_ok));
            batch.commit(&mut s.commit_conn, |_, _| Ok(()))?;
        }
        let commit_conn = &mut s.commit_conn;
        // Both tables of the first batch; the second's actions and the
        // updates of its visits, which all continue; or none.
        assert_eq!(
            loads_run(commit_conn)?,
            if min_rows.is_some() { 4 } else { 0 }
        );
        // The fingerprint is salted per database.
        let visits = dump(commit_conn, "log_visit", &["config_id"])?;
        let actions = dump(commit_conn, "log_link_visit_action", &[])?;
        assert_eq!(visits.len(), 40);
        assert_eq!(actions.len(), 150);
        dumps.push((visits, actions));
    }
    assert_eq!(dumps[0].0, dumps[1].0, "log_visit");
    assert_eq!(dumps[0].1, dumps[1].1, "log_link_visit_action");
    Ok(())
}
