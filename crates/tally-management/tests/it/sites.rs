//! Sites: creation defaults, validation, updates, deletion, URL lookups and
//! global settings (MATOMO.md §10.1).

use diesel::prelude::*;
use tally_management::{
    ManagementError, NewSiteParams, SiteChanges, add_goal, add_site, add_site_alias_urls,
    delete_site, get_all_sites, get_site, global_excluded_ips, set_global_excluded_ips,
    set_global_excluded_query_parameters, set_global_excluded_user_agents, site_ids_from_url,
    site_urls, sites_with_at_least_view_access, update_site,
};
use tally_schema::schema::{
    access, archive_invalidations, custom_dimensions, goal, log_conversion, option, segment, site,
    site_url,
};

use crate::support::World;

fn invalid(err: ManagementError) -> (&'static str, String) {
    match err {
        ManagementError::InvalidParameter { name, reason } => (name, reason),
        other => panic!("expected an invalid parameter, got {other}"),
    }
}

#[test]
fn add_site_applies_matomo_defaults() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    let before = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    let id = add_site(
        &mut w.conn,
        &root,
        &NewSiteParams::new(
            " News ",
            [
                "news.example/",
                "https://www.news.example/",
                "news.example",
                "m.news.example",
            ],
        ),
    )?;
    assert_eq!(id, 3);
    let s = get_site(&mut w.conn, &root, id)?;
    assert_eq!(s.name, "News");
    assert_eq!(s.main_url, "http://news.example");
    assert_eq!(
        (
            s.timezone.as_str(),
            s.currency.as_str(),
            s.site_type.as_str()
        ),
        ("UTC", "USD", "website")
    );
    assert_eq!(
        (
            s.ecommerce,
            s.sitesearch,
            s.exclude_unknown_urls,
            s.keep_url_fragment
        ),
        (0, 1, 0, 0)
    );
    assert_eq!(s.creator_login, Some(Some("root".to_owned())));
    assert_eq!(
        (s.timezone_name.as_str(), s.currency_name.as_str()),
        ("UTC", "US Dollar")
    );
    let created = time::PrimitiveDateTime::parse(
        s.ts_created.as_deref().unwrap_or_default(),
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )?
    .assume_utc()
    .unix_timestamp();
    assert!(created >= before && created <= before + 60, "{created}");
    assert_eq!(
        site_urls(&mut w.conn, &root, id)?,
        [
            "http://news.example",
            "http://m.news.example",
            "https://www.news.example"
        ]
    );

    // Defaults from the options.
    for (name, value) in [
        ("SitesManager_DefaultTimezone", "Europe/Paris"),
        ("SitesManager_DefaultCurrency", "EUR"),
    ] {
        diesel::insert_into(option::table)
            .values((option::option_name.eq(name), option::option_value.eq(value)))
            .execute(&mut w.conn)?;
    }
    let mut params = NewSiteParams::new("Paris", ["https://paris.example"]);
    params.ecommerce = Some(true);
    params.start_date = Some(time::macros::datetime!(2020-02-03 00:00:00));
    let id = add_site(&mut w.conn, &root, &params)?;
    let s = get_site(&mut w.conn, &root, id)?;
    assert_eq!(
        (s.timezone.as_str(), s.currency.as_str(), s.ecommerce),
        ("Europe/Paris", "EUR", 1)
    );
    assert_eq!(s.ts_created.as_deref(), Some("2020-02-03 00:00:00"));
    assert_eq!(
        (s.timezone_name.as_str(), s.currency_name.as_str()),
        ("Paris", "Euro")
    );
    Ok(())
}

#[test]
fn site_view_has_matomos_shape() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    let text = serde_json::to_string(&get_site(&mut w.conn, &root, 1)?)?;
    // serde_json's Map sorts keys: read the order from the text itself.
    let mut keys: Vec<&str> = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("\":") {
        let key_start = rest[..at].rfind(['{', ','].as_slice()).map_or(0, |i| i + 2);
        keys.push(&rest[key_start..at]);
        rest = &rest[at + 2..];
    }
    let json: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(
        keys,
        [
            "idsite",
            "name",
            "main_url",
            "ts_created",
            "ecommerce",
            "sitesearch",
            "sitesearch_keyword_parameters",
            "sitesearch_category_parameters",
            "timezone",
            "currency",
            "exclude_unknown_urls",
            "excluded_ips",
            "excluded_parameters",
            "excluded_user_agents",
            "excluded_referrers",
            "group",
            "type",
            "keep_url_fragment",
            "creator_login",
            "timezone_name",
            "currency_name"
        ]
    );
    assert_eq!(json["idsite"], 1);
    assert_eq!(json["ecommerce"], 0);
    assert_eq!(json["type"], "website");
    // Other users do not see who created the site.
    let viewer = w.principal("viewer")?;
    let json = serde_json::to_value(get_site(&mut w.conn, &viewer, 1)?)?;
    assert!(json.get("creator_login").is_none());
    assert_eq!(
        get_site(&mut w.conn, &viewer, 2).unwrap_err().to_string(),
        "You can't access this resource as it requires 'view' access for the website id = 2."
    );
    Ok(())
}

#[test]
fn add_site_validation() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    let with = |f: &dyn Fn(&mut NewSiteParams)| {
        let mut p = NewSiteParams::new("Site", ["https://site.example"]);
        f(&mut p);
        p
    };
    let cases: Vec<(NewSiteParams, &str, &str)> = vec![
        (
            with(&|p| p.name = " ".into()),
            "siteName",
            "The website name can't be empty.",
        ),
        (
            with(&|p| p.urls = vec![]),
            "urls",
            "You must specify at least one URL for the website.",
        ),
        (
            with(&|p| p.urls = vec!["javascript:alert(1)".into()]),
            "urls",
            "The url 'javascript:alert(1)' is not a valid URL.",
        ),
        (
            with(&|p| p.timezone = Some("Mars/Olympus".into())),
            "timezone",
            "The timezone \"Mars/Olympus\" is not valid. Please enter a valid timezone.",
        ),
        (
            with(&|p| p.currency = Some("euro".into())),
            "currency",
            "The currency \"euro\" is not valid. Please enter a valid currency symbol (eg. USD, EUR, etc.)",
        ),
        (
            with(&|p| p.excluded_ips = Some("1.2.3.4,1.2.3".into())),
            "excludedIps",
            "The IP to exclude \"1.2.3\" does not have a valid IP format (eg. 1.2.3.4, 1.2.3.*, or 1.2.3.4/5).",
        ),
        (
            with(&|p| p.excluded_parameters = Some("/(/".into())),
            "excludedQueryParameters",
            "The value \"/(/\" is not a valid regular expression.",
        ),
        (
            with(&|p| p.keep_url_fragment = Some(3)),
            "keepURLFragments",
            "The value \"3\" is not allowed, use one of: 0, 1, 2.",
        ),
    ];
    for (params, name, message) in cases {
        let (n, m) = invalid(add_site(&mut w.conn, &root, &params).unwrap_err());
        assert_eq!((n, m.as_str()), (name, message));
    }
    let count: i64 = site::table.count().get_result(&mut w.conn)?;
    assert_eq!(count, 2, "no site was created");

    // Only super users add sites.
    let admin = w.principal("admin1")?;
    let err = add_site(&mut w.conn, &admin, &with(&|_| ())).unwrap_err();
    assert!(matches!(err, ManagementError::SuperUserRequired), "{err}");

    // Valid lists are stored cleaned.
    let mut p = with(&|_| ());
    p.excluded_ips = Some(" 10.0.0.0/8 , 192.168.1.*,10.0.0.0/8".into());
    p.excluded_parameters = Some("sid, /^utm_/i".into());
    p.timezone = Some("UTC+5.5".into());
    let id = add_site(&mut w.conn, &root, &p)?;
    let s = get_site(&mut w.conn, &root, id)?;
    assert_eq!(s.excluded_ips, "10.0.0.0/8,192.168.1.*");
    assert_eq!(s.excluded_parameters, "sid,/^utm_/i");
    assert_eq!(s.timezone_name, "UTC+5:30");
    Ok(())
}

#[test]
fn update_site_needs_admin_and_validates() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let admin = w.principal("admin1")?;
    let changes = SiteChanges {
        name: Some("Shop 2".into()),
        urls: Some(vec![
            "https://shop2.example".into(),
            "shop2.example/alt".into(),
        ]),
        ecommerce: Some(true),
        timezone: Some("America/New_York".into()),
        group: Some("ignored for admins".into()),
        excluded_user_agents: Some("bot, crawler".into()),
        ..SiteChanges::default()
    };
    update_site(&mut w.conn, &admin, 1, &changes)?;
    let s = get_site(&mut w.conn, &admin, 1)?;
    assert_eq!(
        (
            s.name.as_str(),
            s.main_url.as_str(),
            s.ecommerce,
            s.timezone.as_str()
        ),
        ("Shop 2", "https://shop2.example", 1, "America/New_York")
    );
    assert_eq!(s.group, "", "only super users set groups");
    assert_eq!(s.excluded_user_agents, "bot,crawler");
    assert_eq!(s.currency, "USD", "untouched settings stay");
    assert_eq!(
        site_urls(&mut w.conn, &admin, 1)?,
        ["https://shop2.example", "http://shop2.example/alt"]
    );

    let viewer = w.principal("viewer")?;
    let err = update_site(&mut w.conn, &viewer, 1, &changes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "You can't access this resource as it requires 'admin' access for the website id = 1."
    );
    let bad = SiteChanges {
        currency: Some("EURO".into()),
        ..SiteChanges::default()
    };
    assert_eq!(
        invalid(update_site(&mut w.conn, &admin, 1, &bad).unwrap_err()).0,
        "currency"
    );
    let root = w.root.clone();
    let err = update_site(&mut w.conn, &root, 99, &SiteChanges::default()).unwrap_err();
    assert!(
        matches!(err, ManagementError::UnknownSite { idsite: 99 }),
        "{err}"
    );
    assert_eq!(err.to_string(), "website id = 99 not found");
    Ok(())
}

#[test]
fn delete_site_cleans_up_but_keeps_logs() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    add_site_alias_urls(&mut w.conn, &root, 2, &["https://www.blog.example"])?;
    add_goal(
        &mut w.conn,
        &root,
        2,
        &tally_management::GoalParams::new("G", "url", "x", "contains"),
    )?;
    for sql in [
        "INSERT INTO segment (name, definition, login, enable_only_idsite) VALUES ('s2', 'browserCode==FF', 'root', 2), ('all', 'browserCode==CH', 'root', 0)",
        "INSERT INTO custom_dimensions (idcustomdimension, idsite, name, `index`, scope, active, extractions) VALUES (1, 2, 'Plan', 1, 'visit', 1, '[]'), (1, 1, 'Plan', 1, 'visit', 1, '[]')",
        "INSERT INTO archive_invalidations (name, idsite, date1, date2, period, status) VALUES ('done', 2, '2026-01-01', '2026-01-01', 1, 0), ('done', 1, '2026-01-01', '2026-01-01', 1, 0)",
        "INSERT INTO log_conversion (idvisit, idsite, idvisitor, server_time, idgoal, buster, url) VALUES (1, 2, x'0102030405060708', '2026-01-01 00:00:00', 1, 0, 'https://blog.example/')",
    ] {
        diesel::sql_query(sql).execute(&mut w.conn)?;
    }
    let admin2 = w.principal("admin2")?;
    let err = delete_site(&mut w.conn, &admin2, 2).unwrap_err();
    assert!(matches!(err, ManagementError::SuperUserRequired), "{err}");

    delete_site(&mut w.conn, &root, 2)?;
    let ids: Vec<u32> = site::table.select(site::idsite).load(&mut w.conn)?;
    assert_eq!(ids, [1]);
    let left = |w: &mut World, sql: &str| -> anyhow::Result<i64> {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        Ok(diesel::sql_query(sql).get_result::<N>(&mut w.conn)?.n)
    };
    assert_eq!(
        site_url::table
            .filter(site_url::idsite.eq(2))
            .count()
            .get_result::<i64>(&mut w.conn)?,
        0
    );
    assert_eq!(
        goal::table
            .filter(goal::idsite.eq(2))
            .count()
            .get_result::<i64>(&mut w.conn)?,
        0
    );
    assert_eq!(
        access::table
            .filter(access::idsite.eq(2))
            .count()
            .get_result::<i64>(&mut w.conn)?,
        0
    );
    assert_eq!(
        left(
            &mut w,
            "SELECT COUNT(*) AS n FROM segment WHERE deleted = 0"
        )?,
        1
    );
    assert_eq!(
        segment::table
            .filter(segment::deleted.eq(1))
            .count()
            .get_result::<i64>(&mut w.conn)?,
        1
    );
    assert_eq!(
        custom_dimensions::table
            .count()
            .get_result::<i64>(&mut w.conn)?,
        1
    );
    assert_eq!(
        archive_invalidations::table
            .count()
            .get_result::<i64>(&mut w.conn)?,
        1
    );
    assert_eq!(
        log_conversion::table
            .filter(log_conversion::idsite.eq(2))
            .count()
            .get_result::<i64>(&mut w.conn)?,
        1,
        "raw log rows are kept"
    );

    let err = delete_site(&mut w.conn, &root, 1).unwrap_err();
    assert!(matches!(err, ManagementError::LastSite), "{err}");
    assert_eq!(
        err.to_string(),
        "It is not possible to delete this website as it is the only registered website. Add a new website first, then delete this one."
    );
    let err = delete_site(&mut w.conn, &root, 7).unwrap_err();
    assert!(
        matches!(err, ManagementError::UnknownSite { idsite: 7 }),
        "{err}"
    );
    Ok(())
}

#[test]
fn urls_lookup_and_aliases() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    assert_eq!(
        add_site_alias_urls(
            &mut w.conn,
            &root,
            1,
            &[
                "https://www.shop.example/",
                "shop-cdn.example",
                "https://shop.example",
                "shop-cdn.example"
            ],
        )?,
        2
    );
    assert_eq!(
        add_site_alias_urls(&mut w.conn, &root, 1, &["shop-cdn.example"])?,
        0
    );
    assert_eq!(
        site_urls(&mut w.conn, &root, 1)?,
        [
            "https://shop.example",
            "http://shop-cdn.example",
            "https://www.shop.example"
        ]
    );
    for url in [
        "http://shop.example",
        "https://www.shop.example/",
        "shop.example",
        "HTTP://SHOP-CDN.EXAMPLE",
    ] {
        assert_eq!(site_ids_from_url(&mut w.conn, &root, url)?, [1], "{url}");
    }
    assert!(site_ids_from_url(&mut w.conn, &root, "https://shop.example/other")?.is_empty());
    let admin2 = w.principal("admin2")?;
    assert!(site_ids_from_url(&mut w.conn, &admin2, "shop.example")?.is_empty());
    assert_eq!(
        site_ids_from_url(&mut w.conn, &admin2, "blog.example")?,
        [2]
    );

    let viewer = w.principal("viewer")?;
    let err = add_site_alias_urls(&mut w.conn, &viewer, 1, &["x.example"]).unwrap_err();
    assert!(matches!(err, ManagementError::NoAccess { .. }), "{err}");
    let (name, _) =
        invalid(add_site_alias_urls(&mut w.conn, &root, 1, &["not a url"]).unwrap_err());
    assert_eq!(name, "urls");

    let views = sites_with_at_least_view_access(&mut w.conn, &viewer)?;
    assert_eq!(views.iter().map(|s| s.idsite).collect::<Vec<_>>(), [1]);
    let all = get_all_sites(&mut w.conn, &root)?;
    assert_eq!(all.iter().map(|s| s.idsite).collect::<Vec<_>>(), [1, 2]);
    assert!(matches!(
        get_all_sites(&mut w.conn, &viewer).unwrap_err(),
        ManagementError::SuperUserRequired
    ));
    Ok(())
}

#[test]
fn global_exclusions() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    assert_eq!(
        set_global_excluded_ips(&mut w.conn, &root, " 10.0.0.1, 172.16.0.0/12 ")?,
        "10.0.0.1,172.16.0.0/12"
    );
    assert_eq!(
        global_excluded_ips(&mut w.conn, &root)?,
        "10.0.0.1,172.16.0.0/12"
    );
    let admin = w.principal("admin1")?;
    assert_eq!(
        global_excluded_ips(&mut w.conn, &admin)?,
        "10.0.0.1,172.16.0.0/12"
    );
    let viewer = w.principal("viewer")?;
    assert_eq!(
        global_excluded_ips(&mut w.conn, &viewer)
            .unwrap_err()
            .to_string(),
        "You can't access this resource as it requires admin access for at least one website."
    );
    assert!(matches!(
        set_global_excluded_ips(&mut w.conn, &admin, "1.1.1.1").unwrap_err(),
        ManagementError::SuperUserRequired
    ));
    assert_eq!(
        invalid(set_global_excluded_ips(&mut w.conn, &root, "*.1.1.1").unwrap_err()).0,
        "excludedIps"
    );
    set_global_excluded_query_parameters(&mut w.conn, &root, "sessionid,/^ref_/")?;
    set_global_excluded_user_agents(&mut w.conn, &root, "HeadlessChrome")?;
    assert_eq!(
        tally_management::global_excluded_query_parameters(&mut w.conn, &viewer)?,
        "sessionid,/^ref_/"
    );
    assert_eq!(
        tally_management::global_excluded_user_agents(&mut w.conn, &root)?,
        "HeadlessChrome"
    );

    // The tracker reads what was stored.
    let snapshot = tally_tracking::site::load_snapshot(&mut w.conn)?;
    let site = &snapshot.sites[&1];
    let inside: std::net::IpAddr = "172.20.1.1".parse()?;
    assert!(site.excluded_ips.iter().any(|r| r.contains(inside)));
    assert!(
        site.excluded_user_agents
            .iter()
            .any(|r| r.matches("Mozilla HeadlessChrome/120"))
    );
    Ok(())
}
