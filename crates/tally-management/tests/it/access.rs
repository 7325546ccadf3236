//! Token authentication and the access matrix (MATOMO.md §10.2).

use diesel::prelude::*;
use tally_management::{Access, ManagementError, authenticate, sites_with_access};
use tally_schema::schema::user_token_auth;

use crate::support::{World, now};

/// Each token against each site: the level it grants, and the checks that
/// follow from it.
#[test]
fn access_matrix() -> anyhow::Result<()> {
    let mut w = World::new()?;
    // (login, level on site 1, level on site 2, super user)
    let expected = [
        ("root", Some(Access::Admin), Some(Access::Admin), true),
        ("viewer", Some(Access::View), None, false),
        ("writer", Some(Access::Write), None, false),
        ("admin1", Some(Access::Admin), None, false),
        ("admin2", None, Some(Access::Admin), false),
        ("nobody", None, None, false),
    ];
    for (login, site1, site2, superuser) in expected {
        let p = w.principal(login)?;
        assert_eq!(p.login, login, "a token authenticates as its own user");
        assert_eq!(p.superuser, superuser, "{login}");
        assert_eq!(p.access(1), site1, "{login} on site 1");
        assert_eq!(p.access(2), site2, "{login} on site 2");
        for needed in Access::ALL {
            for (idsite, level) in [(1, site1), (2, site2)] {
                let allowed = level.is_some_and(|l| l >= needed);
                assert_eq!(p.can(idsite, needed), allowed, "{login} {needed} {idsite}");
                match p.check(idsite, needed) {
                    Ok(()) => assert!(allowed),
                    Err(ManagementError::NoAccess {
                        needed: n,
                        idsite: s,
                    }) => {
                        assert!(!allowed);
                        assert_eq!((n, s), (needed, idsite));
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        assert_eq!(p.check_superuser().is_ok(), superuser, "{login}");
        let viewable = sites_with_access(&mut w.conn, &p, Access::View)?;
        let expected_sites: Vec<u32> = [(1, site1), (2, site2)]
            .into_iter()
            .filter(|(_, l)| l.is_some())
            .map(|(id, _)| id)
            .collect();
        assert_eq!(viewable, expected_sites, "{login}");
    }
    let writer = w.principal("writer")?;
    assert_eq!(
        writer.check(1, Access::Admin).unwrap_err().to_string(),
        "You can't access this resource as it requires 'admin' access for the website id = 1."
    );
    assert_eq!(sites_with_access(&mut w.conn, &writer, Access::Write)?, [1]);
    assert!(sites_with_access(&mut w.conn, &writer, Access::Admin)?.is_empty());
    Ok(())
}

#[test]
fn no_token_is_anonymous_with_anonymous_grants_only() -> anyhow::Result<()> {
    let mut w = World::new()?;
    for token in [None, Some(""), Some("anonymous")] {
        let p = authenticate(&mut w.conn, token, false, now())?;
        assert!(p.is_anonymous());
        assert!(!p.superuser);
        assert!(p.sites.is_empty());
        assert_eq!(p.access(1), None);
    }
    // Public statistics: anonymous gets view on site 2.
    let root = w.root.clone();
    tally_management::set_user_access(&mut w.conn, &root, "anonymous", "view", &[2])?;
    // A stray row granting more is capped at view.
    diesel::sql_query(
        "INSERT INTO access (login, idsite, access) VALUES ('anonymous', 1, 'admin')",
    )
    .execute(&mut w.conn)?;
    let p = authenticate(&mut w.conn, None, false, now())?;
    assert_eq!(p.access(2), Some(Access::View));
    assert_eq!(p.access(1), Some(Access::View));
    assert!(!p.can(2, Access::Write));
    Ok(())
}

#[test]
fn unknown_token_is_rejected() -> anyhow::Result<()> {
    let mut w = World::new()?;
    for token in ["0123456789abcdef0123456789abcdef", "x"] {
        let err = authenticate(&mut w.conn, Some(token), true, now()).unwrap_err();
        assert!(matches!(err, ManagementError::InvalidToken), "{err}");
    }
    assert_eq!(
        ManagementError::InvalidToken.to_string(),
        "Unable to authenticate with the provided token. It is either invalid, expired or is required to be sent as a POST parameter."
    );
    Ok(())
}

#[test]
fn expired_token_is_rejected() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    let expiry = now() + time::Duration::hours(1);
    let token = tally_management::create_app_specific_token(
        &mut w.conn,
        &root,
        "viewer",
        "",
        "short-lived",
        Some(expiry),
        now(),
    )?;
    assert_eq!(
        authenticate(&mut w.conn, Some(&token), false, now())?.login,
        "viewer"
    );
    for later in [expiry, expiry + time::Duration::seconds(1)] {
        let err = authenticate(&mut w.conn, Some(&token), false, later).unwrap_err();
        assert!(matches!(err, ManagementError::InvalidToken), "{err}");
    }
    Ok(())
}

#[test]
fn secure_only_token_needs_post() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let token = w.token("writer").to_owned();
    diesel::update(user_token_auth::table.filter(user_token_auth::login.eq("writer")))
        .set(user_token_auth::secure_only.eq(1u8))
        .execute(&mut w.conn)?;
    let err = authenticate(&mut w.conn, Some(&token), false, now()).unwrap_err();
    assert!(matches!(err, ManagementError::InvalidToken), "{err}");
    let p = authenticate(&mut w.conn, Some(&token), true, now())?;
    assert_eq!(
        (p.login.as_str(), p.access(1)),
        ("writer", Some(Access::Write))
    );
    Ok(())
}

#[test]
fn last_used_is_recorded_at_most_every_ten_minutes() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let token = w.token("viewer").to_owned();
    let last_used = |w: &mut World| -> anyhow::Result<Option<time::PrimitiveDateTime>> {
        Ok(user_token_auth::table
            .filter(user_token_auth::login.eq("viewer"))
            .select(user_token_auth::last_used)
            .first(&mut w.conn)?)
    };
    assert_eq!(last_used(&mut w)?, None);
    authenticate(&mut w.conn, Some(&token), false, now())?;
    let first = time::macros::datetime!(2026-06-15 12:00:00);
    assert_eq!(last_used(&mut w)?, Some(first));
    authenticate(
        &mut w.conn,
        Some(&token),
        false,
        now() + time::Duration::minutes(5),
    )?;
    assert_eq!(last_used(&mut w)?, Some(first));
    authenticate(
        &mut w.conn,
        Some(&token),
        false,
        now() + time::Duration::minutes(11),
    )?;
    assert_eq!(
        last_used(&mut w)?,
        Some(first + time::Duration::minutes(11))
    );
    Ok(())
}

#[test]
fn tokens_of_deleted_users_and_sites_grant_nothing() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    let token = w.token("admin2").to_owned();
    tally_management::delete_site(&mut w.conn, &root, 2)?;
    let p = authenticate(&mut w.conn, Some(&token), false, now())?;
    assert!(p.sites.is_empty(), "{p:?}");
    let nobody = w.token("nobody").to_owned();
    tally_management::delete_user(&mut w.conn, &root, "nobody")?;
    let err = authenticate(&mut w.conn, Some(&nobody), false, now()).unwrap_err();
    assert!(matches!(err, ManagementError::InvalidToken), "{err}");
    Ok(())
}

/// Tokens are stored the way the tracker verifies them: a write token may
/// use the tracker's protected parameters on its site, a view token not.
#[test]
fn tracker_accepts_management_tokens() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let snapshot = tally_tracking::site::load_snapshot(&mut w.conn)?;
    let salt = &snapshot.globals.salt;
    let site1 = &snapshot.sites[&1];
    let site2 = &snapshot.sites[&2];
    assert!(site1.token_can_write(w.token("writer"), salt));
    assert!(site1.token_can_write(w.token("admin1"), salt));
    assert!(site1.token_can_write(w.token("root"), salt));
    assert!(!site1.token_can_write(w.token("viewer"), salt));
    assert!(!site1.token_can_write(w.token("admin2"), salt));
    assert!(site2.token_can_write(w.token("admin2"), salt));
    let root_hash = tally_tracking::site::hash_token(w.token("root"), salt);
    assert!(snapshot.globals.super_user_tokens.contains(&root_hash));
    Ok(())
}
