//! Monthly archive tables created on demand, and idarchive allocation.

use diesel::prelude::*;
use diesel::sql_types::{Date, Double, Integer, Text, Unsigned};
use tally_db::test_support::TestDb;
use tally_db::{
    ArchiveKind, ArchiveMonth, create_archive_tables, list_archive_tables, next_archive_id,
};

use crate::support::indexes;

#[test]
fn archive_tables_are_created_on_demand() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    assert!(list_archive_tables(&mut conn)?.is_empty());

    let sept = ArchiveMonth::new(2024, 9)?;
    let jan = ArchiveMonth::new(2024, 1)?;
    create_archive_tables(&mut conn, sept)?;
    create_archive_tables(&mut conn, jan)?;
    create_archive_tables(&mut conn, sept)?; // idempotent

    let names: Vec<String> = list_archive_tables(&mut conn)?
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        names,
        [
            "archive_numeric_2024_01",
            "archive_blob_2024_01",
            "archive_numeric_2024_09",
            "archive_blob_2024_09",
        ]
    );

    // A record written and read back with bound values.
    let idarchive = next_archive_id(&mut conn, sept)?;
    let table = sept.table(ArchiveKind::Numeric);
    diesel::sql_query(format!(
        "INSERT INTO {table} (idarchive, name, idsite, date1, date2, period, ts_archived, value)
         VALUES (?, ?, 1, ?, ?, 1, UTC_TIMESTAMP(), ?)"
    ))
    .bind::<Unsigned<Integer>, _>(idarchive)
    .bind::<Text, _>("nb_visits")
    .bind::<Date, _>(time::macros::date!(2024 - 09 - 30))
    .bind::<Date, _>(time::macros::date!(2024 - 09 - 30))
    .bind::<Double, _>(42.0)
    .execute(&mut conn)?;

    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = Double)]
        value: f64,
    }
    let read: Value = diesel::sql_query(format!(
        "SELECT value FROM {table} WHERE idarchive = ? AND name = ?"
    ))
    .bind::<Unsigned<Integer>, _>(idarchive)
    .bind::<Text, _>("nb_visits")
    .get_result(&mut conn)?;
    assert_eq!(read.value, 42.0);
    Ok(())
}

#[test]
fn every_archive_table_has_matomos_indexes() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    create_archive_tables(&mut conn, ArchiveMonth::new(2025, 12)?)?;
    let all = indexes(&mut conn)?;
    for table in list_archive_tables(&mut conn)? {
        let name = table.to_string();
        let index = |ix: &str| -> Vec<(String, Option<i64>)> {
            all.iter()
                .filter(|c| c.table_name == name && c.index_name == ix)
                .map(|c| (c.column_name.clone(), c.sub_part))
                .collect()
        };
        let cols =
            |v: Vec<(String, Option<i64>)>| v.into_iter().map(|(c, _)| c).collect::<Vec<_>>();
        assert_eq!(cols(index("PRIMARY")), ["idarchive", "name"], "{name}");
        assert_eq!(
            cols(index("index_period_archived")),
            ["period", "ts_archived"],
            "{name}"
        );
        if table.kind() == ArchiveKind::Numeric {
            assert_eq!(
                index("index_idsite_dates_period"),
                [
                    ("idsite".to_owned(), None),
                    ("date1".to_owned(), None),
                    ("date2".to_owned(), None),
                    ("period".to_owned(), None),
                    ("name".to_owned(), Some(6)),
                ],
                "{name}"
            );
        }
    }
    Ok(())
}

#[test]
fn archive_ids_are_unique_across_connections() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let month = ArchiveMonth::new(2024, 2)?;
    create_archive_tables(&mut db.conn()?, month)?;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().to_owned();
            std::thread::spawn(move || -> anyhow::Result<Vec<u32>> {
                let mut conn = tally_db::connect(&url)?;
                (0..25)
                    .map(|_| Ok(next_archive_id(&mut conn, month)?))
                    .collect()
            })
        })
        .collect();
    let mut ids: Vec<u32> = Vec::new();
    for h in handles {
        ids.extend(h.join().map_err(|_| anyhow::anyhow!("thread panicked"))??);
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=100).collect::<Vec<u32>>());
    Ok(())
}

#[test]
fn a_missing_sequence_is_an_error_not_an_id() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let err = next_archive_id(&mut conn, ArchiveMonth::new(2030, 5)?).unwrap_err();
    assert_eq!(err, diesel::result::Error::NotFound);
    Ok(())
}
