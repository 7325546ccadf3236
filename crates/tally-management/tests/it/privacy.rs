//! PrivacyManager's GDPR tools on log rows written directly: what
//! `deleteDataSubjects` removes and leaves, the days it queues for
//! re-archiving, what `exportDataSubjects` returns, and who may call them
//! (Matomo's `Model/DataSubjects.php`, `API.php`).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Unsigned};
use tally_management::{DataSubject, ManagementError, delete_data_subjects, export_data_subjects};

use crate::support::{World, now};

/// Three visits: 101 (site 1: two page views, a goal conversion and an
/// ecommerce item, ending 2026-06-10 23:30 UTC, which is 2026-06-11 in the
/// site's Europe/Paris zone), 102 (site 1, 2026-06-12) and 201 (site 2).
fn seed(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    for sql in [
        "UPDATE site SET timezone = 'Europe/Paris' WHERE idsite = 1",
        "INSERT INTO log_action (idaction, name, hash, type, url_prefix) VALUES \
         (1, 'shop.example/', 1, 1, 2), (2, 'Home', 2, 4, NULL), (3, 'shop.example/cart', 3, 1, 3)",
        "INSERT INTO log_visit (idvisit, idsite, idvisitor, visit_last_action_time, config_id, \
         location_ip, visit_first_action_time, visit_total_time, visit_total_actions, user_id, \
         visit_entry_idaction_url, visit_entry_idaction_name, visit_exit_idaction_url) VALUES \
         (101, 1, UNHEX('0123456789abcdef'), '2026-06-10 23:30:00', UNHEX('fedcba9876543210'), \
          UNHEX('9c0503c8'), '2026-06-10 23:00:00', 1800, 2, 'alice', 1, 2, 3), \
         (102, 1, UNHEX('1111111111111111'), '2026-06-12 10:00:00', UNHEX('2222222222222222'), \
          UNHEX('0a000001'), '2026-06-12 10:00:00', 0, 1, NULL, 1, 2, 1), \
         (201, 2, UNHEX('3333333333333333'), '2026-06-10 08:00:00', UNHEX('4444444444444444'), \
          UNHEX('0a000002'), '2026-06-10 08:00:00', 0, 1, NULL, NULL, NULL, NULL)",
        "INSERT INTO log_link_visit_action (idlink_va, idsite, idvisitor, idvisit, idaction_url, \
         idaction_name, server_time) VALUES \
         (1002, 1, UNHEX('0123456789abcdef'), 101, 3, NULL, '2026-06-10 23:30:00'), \
         (1001, 1, UNHEX('0123456789abcdef'), 101, 1, 2, '2026-06-10 23:00:00'), \
         (1003, 1, UNHEX('1111111111111111'), 102, 1, 2, '2026-06-12 10:00:00'), \
         (2001, 2, UNHEX('3333333333333333'), 201, NULL, NULL, '2026-06-10 08:00:00')",
        "INSERT INTO log_conversion (idvisit, idsite, idvisitor, server_time, idgoal, buster, url, \
         revenue) VALUES (101, 1, UNHEX('0123456789abcdef'), '2026-06-10 23:30:00', 1, 0, \
         'https://shop.example/cart', 5)",
        "INSERT INTO log_conversion_item (idsite, idvisitor, server_time, idvisit, idorder, \
         idaction_sku, idaction_name, idaction_category, idaction_category2, idaction_category3, \
         idaction_category4, idaction_category5, price, quantity, deleted) VALUES \
         (1, UNHEX('0123456789abcdef'), '2026-06-10 23:30:00', 101, '0', 3, 2, 0, 0, 0, 0, 0, \
          12.5, 1, 0)",
    ] {
        diesel::sql_query(sql).execute(conn)?;
    }
    Ok(())
}

fn count(conn: &mut MysqlConnection, table: &str, idvisit: u64) -> anyhow::Result<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE idvisit = ?"
    ))
    .bind::<Unsigned<BigInt>, _>(idvisit)
    .get_result(conn)?;
    Ok(n.n)
}

const VISIT_101: DataSubject = DataSubject {
    idsite: 1,
    idvisit: 101,
};

#[test]
fn delete_removes_the_visits_rows_from_every_log_table_and_queues_their_days() -> anyhow::Result<()>
{
    let mut world = World::new()?;
    seed(&mut world.conn)?;
    let admin = world.principal("admin1")?;
    let counts = delete_data_subjects(&mut world.conn, &admin, &[VISIT_101], now())?;
    // Matomo's answer: rows deleted per table, table names reverse-sorted.
    assert_eq!(
        counts,
        [
            ("log_visit", 1),
            ("log_link_visit_action", 2),
            ("log_conversion_item", 1),
            ("log_conversion", 1),
        ]
    );
    for table in [
        "log_visit",
        "log_link_visit_action",
        "log_conversion",
        "log_conversion_item",
    ] {
        assert_eq!(count(&mut world.conn, table, 101)?, 0, "{table}");
    }
    // The other visits and the shared action names stay.
    assert_eq!(count(&mut world.conn, "log_visit", 102)?, 1);
    assert_eq!(count(&mut world.conn, "log_link_visit_action", 102)?, 1);
    assert_eq!(count(&mut world.conn, "log_visit", 201)?, 1);
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Queued {
        #[diesel(sql_type = Unsigned<Integer>)]
        idsite: u32,
        #[diesel(sql_type = Date)]
        date1: time::Date,
        #[diesel(sql_type = BigInt)]
        period: i64,
    }
    let queued: Vec<Queued> = diesel::sql_query(
        "SELECT idsite, date1, CAST(period AS SIGNED) AS period FROM archive_invalidations \
         ORDER BY period, date1",
    )
    .load(&mut world.conn)?;
    // The visit's site-local day (Paris: 2026-06-11), and its week, month
    // and year, so that every report containing it is rebuilt.
    assert_eq!(
        queued,
        [
            Queued {
                idsite: 1,
                date1: time::macros::date!(2026 - 06 - 11),
                period: 1
            },
            Queued {
                idsite: 1,
                date1: time::macros::date!(2026 - 06 - 08),
                period: 2
            },
            Queued {
                idsite: 1,
                date1: time::macros::date!(2026 - 06 - 01),
                period: 3
            },
            Queued {
                idsite: 1,
                date1: time::macros::date!(2026 - 01 - 01),
                period: 4
            },
        ]
    );
    // Deleting it again deletes nothing and queues nothing new.
    let again = delete_data_subjects(&mut world.conn, &admin, &[VISIT_101], now())?;
    assert!(again.iter().all(|(_, n)| *n == 0), "{again:?}");
    Ok(())
}

#[test]
fn gdpr_tools_need_admin_access_to_every_site_named() -> anyhow::Result<()> {
    let mut world = World::new()?;
    seed(&mut world.conn)?;
    let site2_admin = world.principal("admin2")?;
    let err = delete_data_subjects(&mut world.conn, &site2_admin, &[VISIT_101], now()).unwrap_err();
    assert!(
        matches!(err, ManagementError::NoAccess { idsite: 1, .. }),
        "{err}"
    );
    let viewer = world.principal("viewer")?;
    let err = export_data_subjects(&mut world.conn, &viewer, &[VISIT_101]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "You can't access this resource as it requires admin access for at least one website."
    );
    assert_eq!(count(&mut world.conn, "log_visit", 101)?, 1);
    Ok(())
}

#[test]
fn export_lists_every_log_row_and_the_action_names() -> anyhow::Result<()> {
    let mut world = World::new()?;
    seed(&mut world.conn)?;
    let root = world.root.clone();
    let sections = export_data_subjects(&mut world.conn, &root, &[VISIT_101])?;
    let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "log_visit",
            "log_link_visit_action",
            "log_conversion_item",
            "log_conversion",
            "log_action_log_visit_visit_exit_idaction_url",
            "log_action_log_visit_visit_entry_idaction_url",
            "log_action_log_visit_visit_entry_idaction_name",
            "log_action_log_link_visit_action_idaction_url",
            "log_action_log_link_visit_action_idaction_name",
            "log_action_log_conversion_item_idaction_sku",
            "log_action_log_conversion_item_idaction_name",
        ]
    );
    let visit = &sections[0].rows;
    assert_eq!(visit.len(), 1);
    let get = |row: &[(String, String)], key: &str| {
        row.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    // Columns sorted by name, NULL columns left out, binary ids in hex,
    // the IP as an address.
    let keys: Vec<&str> = visit[0].iter().map(|(k, _)| k.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert!(!keys.contains(&"referer_url"));
    assert_eq!(
        get(&visit[0], "idvisitor").as_deref(),
        Some("0123456789abcdef")
    );
    assert_eq!(
        get(&visit[0], "config_id").as_deref(),
        Some("fedcba9876543210")
    );
    assert_eq!(
        get(&visit[0], "location_ip").as_deref(),
        Some("156.5.3.200")
    );
    assert_eq!(get(&visit[0], "user_id").as_deref(), Some("alice"));
    assert_eq!(
        get(&visit[0], "visit_last_action_time").as_deref(),
        Some("2026-06-10 23:30:00")
    );
    // Actions by id.
    let actions = &sections[1].rows;
    let ids: Vec<Option<String>> = actions.iter().map(|r| get(r, "idlink_va")).collect();
    assert_eq!(ids, [Some("1001".into()), Some("1002".into())]);
    assert_eq!(get(&sections[3].rows[0], "revenue").as_deref(), Some("5"));
    assert_eq!(get(&sections[2].rows[0], "price").as_deref(), Some("12.5"));
    // Action names with their URL prefix put back, each id once.
    let urls: Vec<(String, String)> = sections[7]
        .rows
        .iter()
        .map(|r| {
            (
                get(r, "idaction").unwrap_or_default(),
                get(r, "name").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        urls,
        [
            ("1".to_owned(), "https://shop.example/".to_owned()),
            ("3".to_owned(), "https://www.shop.example/cart".to_owned()),
        ]
    );
    // A visit that does not exist: the log tables, empty (Matomo's
    // exportDataSubject_noMatch.json without its test-only tables).
    let none = export_data_subjects(
        &mut world.conn,
        &root,
        &[DataSubject {
            idsite: 9999,
            idvisit: 9999,
        }],
    )?;
    let shape: Vec<(&str, usize)> = none
        .iter()
        .map(|s| (s.name.as_str(), s.rows.len()))
        .collect();
    assert_eq!(
        shape,
        [
            ("log_visit", 0),
            ("log_link_visit_action", 0),
            ("log_conversion_item", 0),
            ("log_conversion", 0),
        ]
    );
    Ok(())
}

#[derive(QueryableByName, Debug, PartialEq)]
struct VisitRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    idvisit: u64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    ip: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    user_id: Option<String>,
}

fn visits(conn: &mut MysqlConnection) -> anyhow::Result<Vec<VisitRow>> {
    Ok(diesel::sql_query(
        "SELECT idvisit, INET6_NTOA(location_ip) AS ip, user_id FROM log_visit ORDER BY idvisit",
    )
    .load(conn)?)
}

/// `anonymizeSomeRawData` over site 1 on 2026-06-10 (UTC, as Matomo's
/// period bounds): visit 101's IP masked by two bytes, its user id salted
/// and hashed, its actions' `idaction_name` reset; visit 102 (06-12) and
/// site 2 untouched.
#[test]
fn anonymize_rewrites_the_range_of_the_sites() -> anyhow::Result<()> {
    let mut world = World::new()?;
    seed(&mut world.conn)?;
    diesel::sql_query("UPDATE log_visit SET user_id = 'bob' WHERE idvisit = 201")
        .execute(&mut world.conn)?;
    let root = world.root.clone();
    let (start, end) = tally_management::anonymize_date_bounds("2026-06-10")?;
    let params = tally_management::AnonymizeParams {
        idsites: Some(vec![1]),
        start: Some(start),
        end: Some(end),
        anonymize_ip: true,
        anonymize_user_id: true,
        unset_link_visit_action_columns: vec!["idaction_name".to_owned()],
        ..Default::default()
    };
    let err = tally_management::anonymize_some_raw_data(&mut world.conn, &root, "", &params, now())
        .unwrap_err();
    assert!(matches!(err, ManagementError::PasswordConfirmationRequired));
    let outcome = tally_management::anonymize_some_raw_data(
        &mut world.conn,
        &root,
        crate::support::PASSWORD,
        &params,
        now(),
    )?;
    assert_eq!(outcome.visits_anonymized, 1);
    assert_eq!(outcome.action_rows_unset, 2);
    let salt = {
        #[derive(QueryableByName)]
        struct Salt {
            #[diesel(sql_type = diesel::sql_types::Text)]
            option_value: String,
        }
        diesel::sql_query("SELECT option_value FROM `option` WHERE option_name = 'useridsalt'")
            .get_result::<Salt>(&mut world.conn)?
            .option_value
    };
    let expected_uid = {
        use sha1::Digest as _;
        let digest = sha1::Sha1::digest(format!("alice{salt}").as_bytes());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(
        visits(&mut world.conn)?,
        [
            VisitRow {
                idvisit: 101,
                ip: "156.5.0.0".into(),
                user_id: Some(expected_uid)
            },
            VisitRow {
                idvisit: 102,
                ip: "10.0.0.1".into(),
                user_id: None
            },
            VisitRow {
                idvisit: 201,
                ip: "10.0.0.2".into(),
                user_id: Some("bob".into())
            },
        ]
    );
    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let named: Named = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM log_link_visit_action WHERE idaction_name IS NOT NULL",
    )
    .get_result(&mut world.conn)?;
    assert_eq!(named.n, 1, "only visit 102's action keeps its name");
    // The date range must be a day or two days.
    assert!(tally_management::anonymize_date_bounds("yesterday-ish").is_err());
    assert!(tally_management::anonymize_date_bounds("2026-06-10,2026-06-01").is_err());
    let (s, e) = tally_management::anonymize_date_bounds("2026-06-01,2026-06-10")?;
    assert_eq!(
        (s, e),
        (
            time::macros::datetime!(2026-06-01 00:00:00),
            time::macros::datetime!(2026-06-10 23:59:59)
        )
    );
    Ok(())
}

/// The settings are Matomo's options (`PrivacyManager.<name>`, booleans
/// as '1'/'0'), read back with Matomo's defaults, super user only.
#[test]
fn privacy_settings_are_stored_as_matomos_options() -> anyhow::Result<()> {
    let mut world = World::new()?;
    let root = world.root.clone();
    let defaults = tally_management::anonymize_ip_settings(&mut world.conn, &root)?;
    assert!(defaults.enabled);
    assert_eq!(defaults.mask_length, 2);
    tally_management::set_anonymize_ip_settings(
        &mut world.conn,
        &root,
        &tally_management::AnonymizeIpChanges {
            enable: Some(false),
            mask_length: 3,
            anonymize_referrer: "exclude_all".to_owned(),
            force_cookieless_tracking: Some(true),
            ..Default::default()
        },
    )?;
    tally_management::set_do_not_track(&mut world.conn, &root, true)?;
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Opt {
        #[diesel(sql_type = diesel::sql_types::Text)]
        option_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        option_value: String,
    }
    let stored: Vec<Opt> = diesel::sql_query(
        "SELECT option_name, option_value FROM `option` \
         WHERE option_name LIKE 'PrivacyManager.%' ORDER BY option_name",
    )
    .load(&mut world.conn)?;
    let stored: Vec<(&str, &str)> = stored
        .iter()
        .map(|o| (o.option_name.as_str(), o.option_value.as_str()))
        .collect();
    assert_eq!(
        stored,
        [
            ("PrivacyManager.anonymizeReferrer", "exclude_all"),
            ("PrivacyManager.doNotTrackEnabled", "1"),
            ("PrivacyManager.forceCookielessTracking", "1"),
            ("PrivacyManager.ipAddressMaskLength", "3"),
            ("PrivacyManager.ipAnonymizerEnabled", "0"),
            ("PrivacyManager.useAnonymizedIpForVisitEnrichment", "0"),
        ]
    );
    assert!(tally_management::do_not_track_enabled(
        &mut world.conn,
        &root
    )?);
    let admin = world.principal("admin1")?;
    assert!(matches!(
        tally_management::set_do_not_track(&mut world.conn, &admin, false),
        Err(ManagementError::SuperUserRequired)
    ));
    // The tracker's snapshot reads the same options.
    let snapshot = tally_tracking::site::load_snapshot(&mut world.conn)?;
    assert!(!snapshot.globals.privacy.anonymize_ip);
    assert_eq!(snapshot.globals.privacy.ip_mask_bytes, 3);
    assert!(snapshot.globals.privacy.do_not_track);
    assert!(snapshot.globals.privacy.force_cookieless);
    assert_eq!(
        snapshot.globals.privacy.anonymize_referrer,
        tally_tracking::referrer::ReferrerAnonymization::ExcludeAll
    );
    assert!(!snapshot.globals.privacy.anonymize_user_id);
    assert_eq!(snapshot.globals.user_id_salt, None);
    // Turning user id anonymization on gives the tracker its salt.
    tally_management::set_anonymize_ip_settings(
        &mut world.conn,
        &root,
        &tally_management::AnonymizeIpChanges {
            enable: Some(true),
            mask_length: 2,
            anonymize_user_id: Some(true),
            ..Default::default()
        },
    )?;
    let snapshot = tally_tracking::site::load_snapshot(&mut world.conn)?;
    assert!(snapshot.globals.privacy.anonymize_user_id);
    assert_eq!(
        snapshot.globals.user_id_salt.as_deref().map(str::len),
        Some(40)
    );
    Ok(())
}

/// Raw data retention: visits last active before the cutoff go with their
/// rows, chunk by chunk (one visit per chunk here); later ones stay.
#[test]
fn purge_deletes_visits_older_than_the_cutoff_in_chunks() -> anyhow::Result<()> {
    let mut world = World::new()?;
    seed(&mut world.conn)?;
    let root = world.root.clone();
    let counts = tally_management::purge_logs_older_than(
        &mut world.conn,
        &root,
        time::macros::datetime!(2026-06-11 00:00),
        1,
    )?;
    assert_eq!(
        counts,
        tally_management::PurgeCounts {
            visits: 2,
            actions: 3,
            conversions: 1,
            conversion_items: 1,
        }
    );
    for id in [101, 201] {
        assert_eq!(count(&mut world.conn, "log_visit", id)?, 0);
        assert_eq!(count(&mut world.conn, "log_link_visit_action", id)?, 0);
    }
    assert_eq!(count(&mut world.conn, "log_visit", 102)?, 1);
    assert_eq!(count(&mut world.conn, "log_link_visit_action", 102)?, 1);
    let admin = world.principal("admin1")?;
    assert!(matches!(
        tally_management::purge_logs_older_than(
            &mut world.conn,
            &admin,
            time::macros::datetime!(2027-01-01 00:00),
            10
        ),
        Err(ManagementError::SuperUserRequired)
    ));
    assert_eq!(count(&mut world.conn, "log_visit", 102)?, 1);
    Ok(())
}
