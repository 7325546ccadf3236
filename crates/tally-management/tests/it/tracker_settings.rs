//! Every write of what the tracker's site snapshot holds moves the settings
//! version on in the same transaction, and reads leave it alone: that is
//! how a tracker in another process learns of admin changes
//! (`tally_tracking::site::settings_version`).

use diesel::prelude::*;
use tally_management::{
    AnonymizeIpChanges, DimensionChanges, DimensionParams, GoalParams, ManagementError,
    NewSiteParams, SiteChanges, add_goal, add_site, add_site_alias_urls, add_user,
    configure_existing_custom_dimension, configure_new_custom_dimension, create_app_specific_token,
    delete_app_specific_token, delete_goal, delete_site, delete_user, get_goals, get_site,
    set_anonymize_ip_settings, set_global_excluded_ips, set_superuser_access, set_user_access,
    update_goal, update_site,
};
use tally_tracking::site::settings_version;

use crate::support::{PASSWORD, World, now};

/// Runs `change` and checks that it moved the version on (a call that sets
/// several options moves it once per option).
fn moves(
    conn: &mut MysqlConnection,
    what: &str,
    change: impl FnOnce(&mut MysqlConnection) -> Result<(), ManagementError>,
) -> anyhow::Result<()> {
    let before = settings_version(conn)?;
    change(conn)?;
    let after = settings_version(conn)?;
    assert!(after > before, "{what} should move the settings version on");
    Ok(())
}

#[test]
fn admin_writes_move_the_tracker_settings_version_and_reads_do_not() -> anyhow::Result<()> {
    let mut world = World::new()?;
    let root = world.root.clone();
    let conn = &mut world.conn;
    // The seeded sites, users and tokens already moved it.
    assert!(settings_version(conn)? > 0);

    let mut site = 0;
    moves(conn, "addSite", |c| {
        site = add_site(
            c,
            &root,
            &NewSiteParams::new("News", ["https://news.example"]),
        )?;
        Ok(())
    })?;
    moves(conn, "updateSite", |c| {
        let changes = SiteChanges {
            name: Some("Daily news".into()),
            ..SiteChanges::default()
        };
        update_site(c, &root, site, &changes)
    })?;
    moves(conn, "addSiteAliasUrls", |c| {
        add_site_alias_urls(c, &root, site, &["https://www.news.example"]).map(drop)
    })?;
    moves(conn, "setGlobalExcludedIps", |c| {
        set_global_excluded_ips(c, &root, "10.0.0.1").map(drop)
    })?;
    moves(conn, "setAnonymizeIpSettings", |c| {
        let changes = AnonymizeIpChanges {
            enable: Some(true),
            mask_length: 2,
            ..AnonymizeIpChanges::default()
        };
        set_anonymize_ip_settings(c, &root, &changes)
    })?;
    let mut goal = 0;
    moves(conn, "addGoal", |c| {
        goal = add_goal(
            c,
            &root,
            site,
            &GoalParams::new("Signup", "url", "signup", "contains"),
        )?;
        Ok(())
    })?;
    moves(conn, "updateGoal", |c| {
        update_goal(
            c,
            &root,
            site,
            goal,
            &GoalParams::new("Signup", "url", "join", "contains"),
        )
    })?;
    moves(conn, "deleteGoal", |c| delete_goal(c, &root, site, goal))?;
    let params = DimensionParams {
        name: "Plan".into(),
        active: true,
        extractions: Vec::new(),
        case_sensitive: false,
    };
    let mut dimension = 0;
    moves(conn, "configureNewCustomDimension", |c| {
        dimension = configure_new_custom_dimension(c, &root, site, "visit", &params)?;
        Ok(())
    })?;
    moves(conn, "configureExistingCustomDimension", |c| {
        let changes = DimensionChanges {
            name: "Pricing plan".into(),
            active: false,
            extractions: Vec::new(),
            case_sensitive: None,
        };
        configure_existing_custom_dimension(c, &root, site, dimension, changes)
    })?;
    moves(conn, "addUser", |c| {
        add_user(
            c,
            &root,
            "editor",
            PASSWORD,
            "editor@example.org",
            None,
            now(),
        )
    })?;
    moves(conn, "setUserAccess", |c| {
        set_user_access(c, &root, "editor", "write", &[site])
    })?;
    moves(conn, "setSuperUserAccess", |c| {
        set_superuser_access(c, &root, "editor", true)
    })?;
    moves(conn, "createAppSpecificTokenAuth", |c| {
        create_app_specific_token(c, &root, "editor", PASSWORD, "tracking", None, now()).map(drop)
    })?;
    let idtoken: u64 = tally_schema::schema::user_token_auth::table
        .filter(tally_schema::schema::user_token_auth::login.eq("editor"))
        .select(tally_schema::schema::user_token_auth::idusertokenauth)
        .first(conn)?;
    moves(conn, "deleteAppSpecificToken", |c| {
        delete_app_specific_token(c, &root, "editor", idtoken).map(drop)
    })?;
    moves(conn, "deleteUser", |c| delete_user(c, &root, "editor"))?;

    // Reads, and a refused write, leave it alone.
    let before = settings_version(conn)?;
    get_site(conn, &root, site)?;
    get_goals(conn, &root, site)?;
    let refused = add_goal(
        conn,
        &root,
        site,
        &GoalParams::new("", "url", "x", "contains"),
    );
    assert!(refused.is_err());
    assert_eq!(settings_version(conn)?, before);

    moves(conn, "deleteSite", |c| delete_site(c, &root, site))?;
    Ok(())
}
