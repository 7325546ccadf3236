//! The in-memory `GROUP BY` of `tally_archiving::grouping` against
//! MariaDB's own: the same visits grouped both ways must give the same
//! groups, metrics and order, on values chosen to trip a naive grouping
//! (case and accent variants, trailing spaces, NULL and empty texts,
//! numbers compared as text).

use diesel::prelude::*;
use std::sync::Arc;

use tally_archiving::grouping::{
    KeyBuf, general_ci_key, group_action_values, group_actions, group_visit_dimensions,
};
use tally_archiving::logs::{
    self, ActionGroup, ActionValuesGroup, ActionValuesQuery, LogAggregator, SpecialAction,
    VisitDimensions, VisitGroup,
};
use tally_archiving::{
    ArchiveError, Archiver, ArchivingConfig, DayContext, Period, Record, RecordBuilder, Registry,
    SiteInfo,
};
use tally_db::test_support::TestDb;
use time::macros::{date, datetime};

/// Texts that sort or group differently under `utf8mb4_general_ci` than
/// byte-wise.
const TEXTS: [Option<&str>; 22] = [
    None,
    Some("foo"),
    Some("Foo"),
    Some("FOO "),
    Some("bar"),
    Some(""),
    Some(" "),
    Some("café"),
    Some("CAFE"),
    Some("é"),
    Some("10"),
    Some("2"),
    Some("_x"),
    Some("a\t"),
    Some("a"),
    Some("Ärger"),
    Some("ärger"),
    Some("zebra"),
    Some("Zebra"),
    Some("ß"),
    Some("ss"),
    Some("0"),
];

/// A small deterministic generator, so that a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((self.0 >> 33) as usize) % below
    }

    fn text(&mut self) -> Option<&'static str> {
        TEXTS[self.next(TEXTS.len())]
    }
}

fn sql_text(value: Option<&str>) -> String {
    match value {
        None => "NULL".to_owned(),
        Some(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''")),
    }
}

fn fill(conn: &mut MysqlConnection) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, 'Site', 'https://example.org', '2020-01-01 00:00:00', 1, 1, '', '', 'UTC', 'EUR', \
         '', '', '', '', '', 'website')",
    )
    .execute(conn)?;
    // Names for every id the actions below point at.
    let names: Vec<String> = [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 20, 30, 31, 32, 70, 80, 100]
        .iter()
        .map(|id| format!("({id}, 'name {id}', {id}, 10)"))
        .chain([
            "(40, 'example.org/a', 40, 1)".to_owned(),
            "(41, 'example.org/b', 41, 1)".to_owned(),
        ])
        .collect();
    diesel::sql_query(format!(
        "INSERT INTO log_action (idaction, name, hash, type) VALUES {}",
        names.join(", ")
    ))
    .execute(conn)?;
    let mut rng = Lcg(7);
    let mut visits = Vec::new();
    let mut actions = Vec::new();
    for i in 0..400 {
        let actions_count = ["NULL", "0", "1", "2", "5"][rng.next(5)];
        let hour = rng.next(24);
        let local = ["NULL", "'03:10:00'", "'10:00:00'", "'21:59:59'"][rng.next(4)];
        visits.push(format!(
            "(1, X'{visitor:016x}', '2026-01-05 {hour:02}:30:00', X'0102030405060708', X'7f000001', \
             {user}, '2026-01-05 {hour:02}:00:00', {converted}, {time}, {actions_count}, \
             {device_type}, {brand}, {model}, {referer_type}, {name}, {keyword}, {url}, {local}, {k1}, {v1})",
            visitor = 1 + rng.next(25),
            user = sql_text(rng.text()),
            converted = rng.next(2),
            time = rng.next(300),
            device_type = ["NULL", "0", "1", "10", "2"][rng.next(5)],
            brand = sql_text(rng.text()),
            model = sql_text(rng.text()),
            referer_type = ["NULL", "1", "2", "3", "6"][rng.next(5)],
            name = sql_text(rng.text()),
            keyword = sql_text(rng.text()),
            url = sql_text(rng.text()),
            k1 = sql_text(rng.text()),
            v1 = sql_text(rng.text()),
        ));
        let id = |rng: &mut Lcg, ids: &[&str]| ids[rng.next(ids.len())].to_owned();
        actions.push(format!(
            "(1, X'{visitor:016x}', {idvisit}, '2026-01-05 {hour:02}:20:00', {k}, {v}, \
             {category}, {action}, {name}, {value}, {content}, {piece}, {target}, {interaction}, \
             {url}, {sku}, {product_cat}, {price})",
            visitor = 1 + rng.next(25),
            idvisit = 1 + i / 2,
            k = sql_text(rng.text()),
            v = sql_text(rng.text()),
            category = id(&mut rng, &["NULL", "NULL", "1", "2", "10"]),
            action = id(&mut rng, &["NULL", "3", "20"]),
            name = id(&mut rng, &["NULL", "5", "6", "100"]),
            value = id(&mut rng, &["NULL", "1.5", "-2", "10", "0"]),
            content = id(&mut rng, &["NULL", "NULL", "7", "70"]),
            piece = id(&mut rng, &["NULL", "8", "80"]),
            target = id(&mut rng, &["NULL", "9"]),
            interaction = id(&mut rng, &["NULL", "NULL", "11"]),
            url = id(&mut rng, &["NULL", "40", "41"]),
            sku = id(&mut rng, &["NULL", "NULL", "30", "31"]),
            product_cat = id(&mut rng, &["NULL", "32"]),
            price = id(&mut rng, &["NULL", "9.99", "20"]),
        ));
    }
    diesel::sql_query(format!(
        "INSERT INTO log_visit (idsite, idvisitor, visit_last_action_time, config_id, location_ip, \
         user_id, visit_first_action_time, visit_goal_converted, visit_total_time, visit_total_actions, \
         config_device_type, config_device_brand, config_device_model, referer_type, referer_name, \
         referer_keyword, referer_url, visitor_localtime, custom_var_k1, custom_var_v1) VALUES {}",
        visits.join(", ")
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "INSERT INTO log_link_visit_action (idsite, idvisitor, idvisit, server_time, \
         custom_var_k1, custom_var_v1, idaction_event_category, idaction_event_action, \
         idaction_name, custom_float, idaction_content_name, idaction_content_piece, \
         idaction_content_target, idaction_content_interaction, idaction_url, \
         idaction_product_sku, idaction_product_cat, product_price) VALUES {}",
        actions.join(", ")
    ))
    .execute(conn)?;
    Ok(())
}

/// Labels compared as the collation compares them: a group of case
/// variants may be named by any of them.
fn folded(labels: &[Option<String>]) -> Vec<Option<String>> {
    labels
        .iter()
        .map(|label| label.as_deref().map(general_ci_key))
        .collect()
}

fn assert_same_visit_groups(sql: &[VisitGroup], memory: &[VisitGroup], what: &str) {
    assert_eq!(sql.len(), memory.len(), "{what}: number of groups");
    assert!(sql.len() > 3, "{what}: the data should make several groups");
    for (left, right) in sql.iter().zip(memory) {
        assert_eq!(
            folded(&left.labels),
            folded(&right.labels),
            "{what}: group order"
        );
        let metrics = |g: &VisitGroup| {
            (
                g.nb_uniq_visitors,
                g.nb_visits,
                g.nb_actions,
                g.nb_users,
                g.max_actions,
                g.sum_visit_length,
                g.bounce_count,
                g.nb_visits_converted,
            )
        };
        assert_eq!(
            metrics(left),
            metrics(right),
            "{what}: metrics of {:?}",
            left.labels
        );
    }
}

fn assert_same_action_groups(sql: &[ActionGroup], memory: &[ActionGroup], what: &str) {
    assert_eq!(sql.len(), memory.len(), "{what}: number of groups");
    assert!(sql.len() > 3, "{what}: the data should make several groups");
    for (left, right) in sql.iter().zip(memory) {
        assert_eq!(
            folded(&left.labels),
            folded(&right.labels),
            "{what}: group order"
        );
        assert_eq!(
            (left.nb_visits, left.nb_uniq_visitors, left.nb_hits),
            (right.nb_visits, right.nb_uniq_visitors, right.nb_hits),
            "{what}: metrics of {:?}",
            left.labels
        );
    }
}

fn assert_same_value_groups(sql: &[ActionValuesGroup], memory: &[ActionValuesGroup], what: &str) {
    assert_eq!(sql.len(), memory.len(), "{what}: number of groups");
    assert!(sql.len() > 3, "{what}: the data should make several groups");
    for (left, right) in sql.iter().zip(memory) {
        assert_eq!(left.labels, right.labels, "{what}: group order");
        assert_eq!(
            (left.nb_visits, left.nb_uniq_visitors, left.nb_hits),
            (right.nb_visits, right.nb_uniq_visitors, right.nb_hits),
            "{what}: metrics of {:?}",
            left.labels
        );
        assert_eq!(
            left.values, right.values,
            "{what}: values of {:?}",
            left.labels
        );
    }
}

type Key = fn(&VisitDimensions, &mut KeyBuf) -> bool;

#[test]
fn grouping_in_memory_equals_mariadbs_group_by() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    fill(&mut conn)?;
    let (start, end) = Period::day(date!(2026 - 01 - 05))
        .utc_bounds(&tally_schema::tz::SiteTimeZone::parse("UTC"));
    let logs = LogAggregator::new(1, start, end)?;
    let visits = logs::scan_visit_dimensions(&mut conn, &logs)?;
    assert_eq!(visits.len(), 400);

    let cases: [(&[&'static str], Option<&'static str>, Key); 7] = [
        (&["log_visit.config_device_brand"], None, |v, key| {
            key.push(v.device_brand.as_deref());
            true
        }),
        (
            &["CONCAT(log_visit.config_device_brand, ';', log_visit.config_device_model)"],
            None,
            |v, key| {
                key.push_concat(&[
                    v.device_brand.as_deref(),
                    Some(";"),
                    v.device_model.as_deref(),
                ]);
                true
            },
        ),
        (
            &[
                "log_visit.referer_type",
                "log_visit.referer_name",
                "log_visit.referer_keyword",
                "log_visit.referer_url",
            ],
            None,
            |v, key| {
                key.push_int(v.referer_type.map(i64::from));
                key.push(v.referer_name.as_deref());
                key.push(v.referer_keyword.as_deref());
                key.push(v.referer_url.as_deref());
                true
            },
        ),
        (&["HOUR(log_visit.visitor_localtime)"], None, |v, key| {
            key.push_int(v.local_hour.map(i64::from));
            true
        }),
        (
            &["HOUR(log_visit.visit_first_action_time)"],
            None,
            |v, key| {
                key.push_int(Some(i64::from(v.first_action_hour)));
                true
            },
        ),
        (&["log_visit.config_device_type"], None, |v, key| {
            key.push_int(v.device_type.map(i64::from));
            true
        }),
        (
            &["log_visit.custom_var_k1", "log_visit.custom_var_v1"],
            Some("log_visit.custom_var_k1 <> ''"),
            |v, key| {
                let name = v.custom_var_names[0].as_deref();
                key.push(name);
                key.push(v.custom_var_values[0].as_deref());
                name.is_some_and(|n| !n.trim_end_matches(' ').is_empty())
            },
        ),
    ];
    for (dimensions, condition, key) in cases {
        let sql = logs.query_visits_by_dimension_where(&mut conn, dimensions, condition)?;
        let memory = group_visit_dimensions(&visits, key);
        assert_same_visit_groups(&sql, &memory, &dimensions.join(", "));
    }

    // Users: COUNT(DISTINCT user_id) under the collation, per brand.
    let by_brand = group_visit_dimensions(&visits, |v, key| {
        key.push(v.device_brand.as_deref());
        true
    });
    assert!(by_brand.iter().any(|g| g.nb_users > 1));

    let actions = logs::scan_special_actions(&mut conn, &logs)?;
    let sql = logs.query_actions_by_dimension_where(
        &mut conn,
        &[
            "log_link_visit_action.custom_var_k1",
            "log_link_visit_action.custom_var_v1",
        ],
        None,
        Some("log_link_visit_action.custom_var_k1 <> ''"),
    )?;
    let memory = group_actions(
        actions.iter(),
        |a| (a.idvisit, a.idvisitor),
        |a, key| {
            let name = a.custom_var_names[0].as_deref();
            key.push(name);
            key.push(a.custom_var_values[0].as_deref());
            name.is_some_and(|n| !n.trim_end_matches(' ').is_empty())
        },
    );
    assert_same_action_groups(&sql, &memory, "page custom variable 1");

    // Events: ids as text, and the value's sum, count, min and max.
    let sql = logs.query_action_values(
        &mut conn,
        &ActionValuesQuery {
            dimensions: &[
                "log_link_visit_action.idaction_event_category",
                "log_link_visit_action.idaction_event_action",
                "log_link_visit_action.idaction_name",
            ],
            condition: Some("log_link_visit_action.idaction_event_category IS NOT NULL"),
            values: &[
                "SUM(COALESCE(log_link_visit_action.custom_float, 0))",
                "SUM(CASE WHEN log_link_visit_action.custom_float IS NULL THEN 0 ELSE 1 END)",
                "MIN(log_link_visit_action.custom_float)",
                "MAX(log_link_visit_action.custom_float)",
            ],
            ..ActionValuesQuery::default()
        },
    )?;
    let value = |a: &SpecialAction| a.custom_float;
    let memory = group_action_values(
        actions.iter(),
        |a| (a.idvisit, a.idvisitor),
        |a, key| {
            key.push_int(a.event_category.map(i64::from));
            key.push_int(a.event_action.map(i64::from));
            key.push_int(a.idaction_name.map(i64::from));
            a.event_category.is_some()
        },
        Some(&value),
    );
    assert_same_value_groups(&sql, &memory, "events");

    // Content impressions: no values.
    let sql = logs.query_action_values(
        &mut conn,
        &ActionValuesQuery {
            dimensions: &[
                "log_link_visit_action.idaction_content_piece",
                "log_link_visit_action.idaction_content_target",
                "log_link_visit_action.idaction_content_name",
            ],
            condition: Some(
                "log_link_visit_action.idaction_content_name IS NOT NULL \
                 AND log_link_visit_action.idaction_content_interaction IS NULL",
            ),
            ..ActionValuesQuery::default()
        },
    )?;
    let memory = group_action_values(
        actions.iter(),
        |a| (a.idvisit, a.idvisitor),
        |a, key| {
            key.push_int(a.content_piece.map(i64::from));
            key.push_int(a.content_target.map(i64::from));
            key.push_int(a.content_name.map(i64::from));
            a.content_name.is_some() && a.content_interaction.is_none()
        },
        None,
    );
    assert_same_value_groups(&sql, &memory, "content impressions");
    Ok(())
}

/// A core builder that declares no shared scan, so that the day reads
/// each scan on its own.
struct Undeclared(Arc<dyn RecordBuilder>);

impl RecordBuilder for Undeclared {
    fn plugin(&self) -> &str {
        self.0.plugin()
    }

    fn records(&self) -> Vec<Record> {
        self.0.records()
    }

    fn runs_without_visits(&self) -> bool {
        self.0.runs_without_visits()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        self.0.build_day(ctx)
    }
}

/// The unique recount of weeks and months (the period's visitor ids and
/// user ids streamed and counted here) against MariaDB's own
/// `COUNT(DISTINCT)` of the same visits, with and without a segment: user
/// ids differing in case, accents or trailing spaces are one user, NULL is
/// none.
#[test]
fn unique_recount_equals_mariadbs_count_distinct() -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        visitors: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        users: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bytewise_users: i64,
    }
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    fill(&mut conn)?;
    let (start, end) = Period::week(date!(2026 - 01 - 05))
        .utc_bounds(&tally_schema::tz::SiteTimeZone::parse("UTC"));
    let count = |conn: &mut MysqlConnection, filter: &str| -> anyhow::Result<(u64, u64, u64)> {
        let c: Counts = diesel::sql_query(format!(
            "SELECT COUNT(DISTINCT idvisitor) AS visitors, COUNT(DISTINCT user_id) AS users, \
             COUNT(DISTINCT CAST(user_id AS BINARY)) AS bytewise_users \
             FROM log_visit WHERE idsite = 1{filter}"
        ))
        .get_result(conn)?;
        Ok((
            u64::try_from(c.visitors)?,
            u64::try_from(c.users)?,
            u64::try_from(c.bytewise_users)?,
        ))
    };

    let (visitors, users, bytewise) = count(&mut conn, "")?;
    // The fixture has the variants a byte-wise count would tell apart.
    assert!(bytewise > users, "{bytewise} byte-wise vs {users} user ids");
    let logs = LogAggregator::new(1, start, end)?;
    assert_eq!(
        logs.count_unique_visitors_and_users(&mut conn)?,
        (visitors, users)
    );

    let segment = tally_archiving::segment::Segment::parse("userId=@o,actions>=2")?;
    let (visitors, users, _) = count(
        &mut conn,
        " AND (user_id LIKE '%o%' OR visit_total_actions >= 2)",
    )?;
    assert!(visitors > 0 && users > 0);
    assert_eq!(
        logs.with_segment(&segment)
            .count_unique_visitors_and_users(&mut conn)?,
        (visitors, users)
    );
    Ok(())
}

/// Every archive row of site 1: (table kind, name, value bytes).
fn archive_rows(conn: &mut MysqlConnection) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Blob)]
        value: Vec<u8>,
    }
    let mut out = Vec::new();
    for table in tally_db::list_archive_tables(conn)? {
        let sql = format!(
            "SELECT name, CAST(value AS BINARY) AS value FROM {table} WHERE idsite = 1 ORDER BY name"
        );
        let rows: Vec<Row> = diesel::sql_query(sql).load(conn)?;
        out.extend(rows.into_iter().map(|row| (row.name, row.value)));
    }
    out.sort();
    Ok(out)
}

#[test]
fn one_wide_read_per_table_builds_the_same_archive_as_separate_reads() -> anyhow::Result<()> {
    let now = datetime!(2026-03-01 12:00 UTC);
    let day = Period::day(date!(2026 - 01 - 05));
    let mut archives = Vec::new();
    for wide in [true, false] {
        let db = TestDb::new()?;
        let mut conn = db.conn()?;
        fill(&mut conn)?;
        let site = SiteInfo::load(&mut conn, 1)?;
        let core = Registry::core();
        let registry = if wide {
            core
        } else {
            let mut registry = Registry::empty();
            for builder in core.builders_for(&site) {
                registry.add(Undeclared(builder));
            }
            registry
        };
        Archiver::new(&registry, ArchivingConfig::default())
            .archive(&mut conn, &site, day, now, true)?;
        archives.push(archive_rows(&mut conn)?);
    }
    let names: Vec<&str> = archives[0].iter().map(|(name, _)| name.as_str()).collect();
    // Every family with data in the fixture wrote its records.
    for name in [
        "DevicesDetection_brands",
        "CustomVariables_valueByName",
        "Events_name_action",
        "Contents_name_piece",
        "Goals_ItemsSku",
        "Actions_actions_url",
        "Referrers_type",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(archives[0], archives[1]);
    Ok(())
}
