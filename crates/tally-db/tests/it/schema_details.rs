//! The log tables have Matomo 5's columns and types (MATOMO.md section 4),
//! read back from information_schema. The expected lists are written here
//! from Matomo's schema, independently of our migrations.
//!
//! Integer display widths are ignored (MySQL 8 no longer reports them);
//! everything else of `COLUMN_TYPE` and the nullability must match.

use std::collections::BTreeMap;

use tally_db::test_support::TestDb;

use crate::support::{ColumnInfo, columns, indexes};

fn custom(prefix: &str, range: std::ops::RangeInclusive<u8>, ty: &str) -> Vec<String> {
    range.map(|i| format!("{prefix}{i} {ty} null")).collect()
}

fn custom_vars() -> Vec<String> {
    (1..=5)
        .flat_map(|i| {
            [
                format!("custom_var_k{i} varchar(200) null"),
                format!("custom_var_v{i} varchar(200) null"),
            ]
        })
        .collect()
}

fn expected() -> BTreeMap<&'static str, Vec<String>> {
    let s = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut tables = BTreeMap::new();

    let mut visit = s(&[
        "idvisit bigint unsigned not null",
        "idsite int unsigned not null",
        "idvisitor binary(8) not null",
        "visit_last_action_time datetime not null",
        "config_id binary(8) not null",
        "location_ip varbinary(16) not null",
        "user_id varchar(200) null",
        "visit_first_action_time datetime not null",
        "visit_goal_buyer tinyint null",
        "visit_goal_converted tinyint null",
        "visit_total_time int unsigned not null",
        "visitor_returning tinyint null",
        "visitor_count_visits int unsigned not null",
        "visitor_seconds_since_first int unsigned null",
        "visitor_seconds_since_order int unsigned null",
        "profilable tinyint null",
        "visit_entry_idaction_name int unsigned null",
        "visit_entry_idaction_url int unsigned null",
        "visit_exit_idaction_name int unsigned null",
        "visit_exit_idaction_url int unsigned null",
        "visit_total_actions int unsigned null",
        "visit_total_interactions mediumint unsigned null",
        "visit_total_searches smallint unsigned null",
        "visit_total_events int unsigned null",
        "referer_type tinyint unsigned null",
        "referer_name varchar(255) null",
        "referer_keyword varchar(255) null",
        "referer_url varchar(1500) null",
        "config_os char(3) null",
        "config_os_version varchar(100) null",
        "config_browser_name varchar(40) null",
        "config_browser_version varchar(20) null",
        "config_browser_engine varchar(10) null",
        "config_client_type tinyint null",
        "config_device_type tinyint null",
        "config_device_brand varchar(100) null",
        "config_device_model varchar(100) null",
        "config_resolution varchar(18) null",
        "config_cookie tinyint null",
        "config_flash tinyint null",
        "config_java tinyint null",
        "config_pdf tinyint null",
        "config_quicktime tinyint null",
        "config_realplayer tinyint null",
        "config_silverlight tinyint null",
        "config_windowsmedia tinyint null",
        "location_browser_lang varchar(20) null",
        "location_country char(3) null",
        "location_region char(3) null",
        "location_city varchar(255) null",
        "location_latitude decimal(9,6) null",
        "location_longitude decimal(9,6) null",
        "visitor_localtime time null",
        "visitor_seconds_since_last int unsigned null",
        "last_idlink_va bigint unsigned null",
    ]);
    visit.extend(custom("custom_dimension_", 1..=5, "varchar(255)"));
    visit.extend(custom_vars());
    tables.insert("log_visit", visit);

    let mut lva = s(&[
        "idlink_va bigint unsigned not null",
        "idsite int unsigned not null",
        "idvisitor binary(8) not null",
        "idvisit bigint unsigned not null",
        "idaction_url_ref int unsigned null",
        "idaction_name_ref int unsigned null",
        "custom_float double null",
        "pageview_position mediumint unsigned null",
        "server_time datetime not null",
        "idaction_url int unsigned null",
        "idaction_name int unsigned null",
        "idpageview char(6) null",
        "time_spent_ref_action int unsigned null",
        "search_cat varchar(200) null",
        "search_count int unsigned null",
        "idaction_event_category int unsigned null",
        "idaction_event_action int unsigned null",
        "idaction_content_name int unsigned null",
        "idaction_content_piece int unsigned null",
        "idaction_content_target int unsigned null",
        "idaction_content_interaction int unsigned null",
        "idaction_product_sku int unsigned null",
        "idaction_product_name int unsigned null",
        "idaction_product_cat int unsigned null",
        "idaction_product_cat2 int unsigned null",
        "idaction_product_cat3 int unsigned null",
        "idaction_product_cat4 int unsigned null",
        "idaction_product_cat5 int unsigned null",
        "product_price double null",
        "time_network mediumint unsigned null",
        "time_server mediumint unsigned null",
        "time_transfer mediumint unsigned null",
        "time_dom_processing mediumint unsigned null",
        "time_dom_completion mediumint unsigned null",
        "time_on_load mediumint unsigned null",
        "time_spent int unsigned null",
    ]);
    lva.extend(custom("custom_dimension_", 1..=5, "varchar(255)"));
    lva.extend(custom_vars());
    // The Bandwidth plugin's column, added at the end as Matomo adds it.
    lva.push("bandwidth bigint unsigned null".to_owned());
    tables.insert("log_link_visit_action", lva);

    tables.insert(
        "log_action",
        s(&[
            "idaction int unsigned not null",
            "name varchar(4096) null",
            "hash int unsigned not null",
            "type tinyint unsigned null",
            "url_prefix tinyint null",
        ]),
    );

    let mut conversion = s(&[
        "idvisit bigint unsigned not null",
        "idsite int unsigned not null",
        "idvisitor binary(8) not null",
        "server_time datetime not null",
        "idaction_url int unsigned null",
        "idlink_va bigint unsigned null",
        "idgoal int not null",
        "buster int unsigned not null",
        "idorder varchar(100) null",
        "items smallint unsigned null",
        "url varchar(4096) not null",
        "revenue double null",
        "revenue_shipping double null",
        "revenue_subtotal double null",
        "revenue_tax double null",
        "revenue_discount double null",
        "pageviews_before smallint unsigned null",
        "referer_type tinyint unsigned null",
        "referer_name varchar(255) null",
        "referer_keyword varchar(255) null",
        "visitor_returning tinyint null",
        "visitor_count_visits int unsigned not null",
        "visitor_seconds_since_first int unsigned null",
        "visitor_seconds_since_order int unsigned null",
        "config_browser_name varchar(40) null",
        "config_client_type tinyint null",
        "config_device_type tinyint null",
        "config_device_brand varchar(100) null",
        "config_device_model varchar(100) null",
        "location_country char(3) null",
        "location_region char(3) null",
        "location_city varchar(255) null",
        "location_latitude decimal(9,6) null",
        "location_longitude decimal(9,6) null",
    ]);
    conversion.extend(custom("custom_dimension_", 1..=5, "varchar(255)"));
    conversion.extend(custom_vars());
    tables.insert("log_conversion", conversion);

    tables.insert(
        "log_conversion_item",
        s(&[
            "idsite int unsigned not null",
            "idvisitor binary(8) not null",
            "server_time datetime not null",
            "idvisit bigint unsigned not null",
            "idorder varchar(100) not null",
            "idaction_sku int unsigned not null",
            "idaction_name int unsigned not null",
            "idaction_category int unsigned not null",
            "idaction_category2 int unsigned not null",
            "idaction_category3 int unsigned not null",
            "idaction_category4 int unsigned not null",
            "idaction_category5 int unsigned not null",
            "price double not null",
            "quantity int unsigned not null",
            "deleted tinyint unsigned not null",
        ]),
    );
    tables
}

/// `int(10) unsigned` -> `int unsigned`: display widths mean nothing.
fn normalize(c: &ColumnInfo) -> String {
    let ty = if c.data_type.ends_with("int") {
        c.column_type
            .split_once('(')
            .map_or(c.column_type.clone(), |(base, rest)| {
                format!(
                    "{base}{}",
                    rest.split_once(')').map_or("", |(_, after)| after)
                )
            })
    } else {
        c.column_type.clone()
    };
    let null = if c.is_nullable == "YES" {
        "null"
    } else {
        "not null"
    };
    format!("{} {} {}", c.column_name, ty, null)
}

#[test]
fn log_tables_have_matomos_columns_and_types() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let all = columns(&mut conn)?;
    for (table, expected) in expected() {
        let actual: Vec<String> = all
            .iter()
            .filter(|c| c.table_name == table)
            .map(normalize)
            .collect();
        assert_eq!(actual, expected, "columns of {table}");
    }
    Ok(())
}

#[test]
fn log_tables_have_matomos_indexes() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let mut found: BTreeMap<(String, String), (bool, Vec<String>)> = BTreeMap::new();
    for ix in indexes(&mut conn)? {
        let entry = found
            .entry((ix.table_name.clone(), ix.index_name.clone()))
            .or_insert((ix.non_unique == 0, Vec::new()));
        entry.1.push(ix.column_name);
    }
    let expect = [
        (
            "log_action",
            "index_type_hash",
            false,
            &["type", "hash"][..],
        ),
        ("log_action", "PRIMARY", true, &["idaction"]),
        ("log_visit", "PRIMARY", true, &["idvisit"]),
        (
            "log_visit",
            "index_idsite_config_datetime",
            false,
            &["idsite", "config_id", "visit_last_action_time"],
        ),
        (
            "log_visit",
            "index_idsite_datetime",
            false,
            &["idsite", "visit_last_action_time", "idvisitor", "user_id"],
        ),
        (
            "log_visit",
            "index_idsite_idvisitor_time",
            false,
            &["idsite", "idvisitor", "visit_last_action_time"],
        ),
        ("log_link_visit_action", "PRIMARY", true, &["idlink_va"]),
        (
            "log_link_visit_action",
            "index_idvisit",
            false,
            &["idvisit"],
        ),
        (
            "log_link_visit_action",
            "index_idsite_servertime",
            false,
            &["idsite", "server_time"],
        ),
        (
            "log_conversion",
            "PRIMARY",
            true,
            &["idvisit", "idgoal", "buster"],
        ),
        (
            "log_conversion",
            "unique_idsite_idorder",
            true,
            &["idsite", "idorder"],
        ),
        (
            "log_conversion",
            "index_idsite_datetime",
            false,
            &["idsite", "server_time"],
        ),
        (
            "log_conversion_item",
            "PRIMARY",
            true,
            &["idvisit", "idorder", "idaction_sku"],
        ),
        (
            "log_conversion_item",
            "index_idsite_servertime",
            false,
            &["idsite", "server_time"],
        ),
    ];
    for (table, index, unique, cols) in expect {
        let got = found
            .get(&(table.to_owned(), index.to_owned()))
            .unwrap_or_else(|| panic!("{table} has no index {index}"));
        assert_eq!(got.0, unique, "{table}.{index} uniqueness");
        assert_eq!(got.1, cols, "{table}.{index} columns");
    }
    Ok(())
}

#[test]
fn every_table_is_innodb_utf8mb4() -> anyhow::Result<()> {
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        engine: String,
        #[diesel(sql_type = Text)]
        collation: String,
    }
    let db = TestDb::new()?;
    let mut conn = db.conn()?;
    let tables: Vec<T> = diesel::sql_query(
        "SELECT TABLE_NAME AS name, ENGINE AS engine, TABLE_COLLATION AS collation
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    .load(&mut conn)?;
    assert!(tables.len() >= 18);
    for t in tables {
        assert_eq!(t.engine, "InnoDB", "{}", t.name);
        assert!(
            t.collation.starts_with("utf8mb4"),
            "{}: {}",
            t.name,
            t.collation
        );
    }
    Ok(())
}
