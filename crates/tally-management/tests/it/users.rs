//! Users and access: creation rules, `setUserAccess`, super users, deletion
//! (MATOMO.md §10.2).

use diesel::prelude::*;
use tally_management::{
    Access, ManagementError, Principal, add_user, authenticate, delete_user, get_user, get_users,
    set_superuser_access, set_user_access, users_access_from_site,
};
use tally_schema::schema::{access, user_token_auth};

use crate::support::{PASSWORD, World, now};

fn invalid(err: ManagementError) -> (&'static str, String) {
    match err {
        ManagementError::InvalidParameter { name, reason } => (name, reason),
        other => panic!("expected an invalid parameter, got {other}"),
    }
}

#[test]
fn add_user_validation_and_uniqueness() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    let add = |w: &mut World, login: &str, pw: &str, email: &str| {
        add_user(&mut w.conn, &root, login, pw, email, None, now())
    };
    assert_eq!(
        invalid(add(&mut w, "x", PASSWORD, "x@example.org").unwrap_err()),
        (
            "userLogin",
            "Username: The username must be between 2 and 100 characters long and contain only letters, numbers, or the characters '_' or '-' or '.' or '@' or '+'".to_owned()
        )
    );
    assert_eq!(
        invalid(add(&mut w, "dave", "short", "d@example.org").unwrap_err()),
        (
            "password",
            "The password length must be greater than 6 characters.".to_owned()
        )
    );
    assert_eq!(
        invalid(add(&mut w, "dave", PASSWORD, "not-an-email").unwrap_err()),
        (
            "email",
            "Email: The value \"not-an-email\" does not look like a valid email.".to_owned()
        )
    );
    let err = add(&mut w, "Viewer", PASSWORD, "v2@example.org").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Username: Username 'Viewer' already exists."
    );
    let err = add(&mut w, "anonymous", PASSWORD, "anon@example.org").unwrap_err();
    assert!(matches!(err, ManagementError::LoginExists { .. }), "{err}");
    let err = add(&mut w, "dave", PASSWORD, "viewer@example.org").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Email: User with email 'viewer@example.org' already exists."
    );
    assert_eq!(
        invalid(add(&mut w, "viewer@example.org", PASSWORD, "z@example.org").unwrap_err()).0,
        "userLogin"
    );

    // An admin creates users for a site they administer; they get view there.
    let admin = w.principal("admin1")?;
    let err = add_user(
        &mut w.conn,
        &admin,
        "dave",
        PASSWORD,
        "dave@example.org",
        None,
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, ManagementError::InitialSiteRequired), "{err}");
    let err = add_user(
        &mut w.conn,
        &admin,
        "dave",
        PASSWORD,
        "dave@example.org",
        Some(2),
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ManagementError::NoAccess {
                needed: Access::Admin,
                idsite: 2
            }
        ),
        "{err}"
    );
    add_user(
        &mut w.conn,
        &admin,
        "dave",
        PASSWORD,
        "dave@example.org",
        Some(1),
        now(),
    )?;
    assert!(
        users_access_from_site(&mut w.conn, &admin, 1)?
            .contains(&("dave".to_owned(), Access::View))
    );
    let viewer = w.principal("viewer")?;
    let err = add_user(
        &mut w.conn,
        &viewer,
        "erin",
        PASSWORD,
        "erin@example.org",
        Some(1),
        now(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "You can't access this resource as it requires admin access for at least one website."
    );
    Ok(())
}

#[test]
fn set_user_access_rules() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let admin = w.principal("admin1")?;
    // Admins grant on their own sites only.
    set_user_access(&mut w.conn, &admin, "nobody", "write", &[1])?;
    assert_eq!(w.principal("nobody")?.access(1), Some(Access::Write));
    let err = set_user_access(&mut w.conn, &admin, "nobody", "view", &[1, 2]).unwrap_err();
    assert!(
        matches!(
            err,
            ManagementError::NoAccess {
                needed: Access::Admin,
                idsite: 2
            }
        ),
        "{err}"
    );
    assert_eq!(
        w.principal("nobody")?.access(1),
        Some(Access::Write),
        "nothing changed"
    );
    // Replacing and removing.
    set_user_access(&mut w.conn, &admin, "nobody", "view", &[1])?;
    assert_eq!(w.principal("nobody")?.access(1), Some(Access::View));
    let rows: i64 = access::table
        .filter(access::login.eq("nobody"))
        .count()
        .get_result(&mut w.conn)?;
    assert_eq!(rows, 1, "one row per site");
    set_user_access(&mut w.conn, &admin, "nobody", "noaccess", &[1])?;
    assert_eq!(w.principal("nobody")?.access(1), None);

    assert_eq!(
        invalid(set_user_access(&mut w.conn, &admin, "nobody", "superuser", &[1]).unwrap_err()),
        (
            "access",
            "The parameter access must have one of the following values: [ view, write, admin ], 'superuser' given.".to_owned()
        )
    );
    assert_eq!(
        invalid(set_user_access(&mut w.conn, &admin, "nobody", "view", &[]).unwrap_err()).0,
        "idSites"
    );
    // anonymous: view or noaccess only.
    let err = set_user_access(&mut w.conn, &admin, "anonymous", "write", &[1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "You can only set access noaccess or view access to the 'anonymous' user."
    );
    set_user_access(&mut w.conn, &admin, "anonymous", "view", &[1])?;
    assert_eq!(
        authenticate(&mut w.conn, None, false, now())?.access(1),
        Some(Access::View)
    );
    set_user_access(&mut w.conn, &admin, "anonymous", "noaccess", &[1])?;
    assert_eq!(
        authenticate(&mut w.conn, None, false, now())?.access(1),
        None
    );
    // Super users' access is not per site.
    let err = set_user_access(&mut w.conn, &admin, "root", "view", &[1]).unwrap_err();
    assert!(
        matches!(err, ManagementError::UserIsSuperUser { .. }),
        "{err}"
    );
    let err = set_user_access(&mut w.conn, &admin, "ghost", "view", &[1]).unwrap_err();
    assert_eq!(err.to_string(), "User 'ghost' doesn't exist.");
    let root = w.root.clone();
    let err = set_user_access(&mut w.conn, &root, "nobody", "view", &[5]).unwrap_err();
    assert!(
        matches!(err, ManagementError::UnknownSite { idsite: 5 }),
        "{err}"
    );
    // A viewer cannot grant anything, not even on their own site.
    let viewer = w.principal("viewer")?;
    assert!(set_user_access(&mut w.conn, &viewer, "nobody", "view", &[1]).is_err());

    assert_eq!(
        users_access_from_site(&mut w.conn, &admin, 1)?,
        [
            ("admin1".to_owned(), Access::Admin),
            ("viewer".to_owned(), Access::View),
            ("writer".to_owned(), Access::Write)
        ]
    );
    assert!(users_access_from_site(&mut w.conn, &viewer, 1).is_err());
    Ok(())
}

#[test]
fn super_users_and_deletion() -> anyhow::Result<()> {
    let mut w = World::new()?;
    // A CLI principal that is not a row: root is the only super user.
    let cli = Principal::super_user("tally-admin");
    let err = delete_user(&mut w.conn, &cli, "root").unwrap_err();
    assert!(
        matches!(err, ManagementError::DeleteLastSuperUser { .. }),
        "{err}"
    );
    let err = set_superuser_access(&mut w.conn, &cli, "root", false).unwrap_err();
    assert!(
        matches!(err, ManagementError::RemoveLastSuperUser { .. }),
        "{err}"
    );
    let root = w.root.clone();
    let err = delete_user(&mut w.conn, &root, "root").unwrap_err();
    assert!(matches!(err, ManagementError::DeleteSelf { .. }), "{err}");
    assert!(matches!(
        delete_user(&mut w.conn, &root, "anonymous").unwrap_err(),
        ManagementError::EditAnonymous
    ));
    assert!(matches!(
        delete_user(&mut w.conn, &root, "ghost").unwrap_err(),
        ManagementError::UnknownUser { .. }
    ));
    let admin = w.principal("admin1")?;
    assert!(matches!(
        delete_user(&mut w.conn, &admin, "viewer").unwrap_err(),
        ManagementError::SuperUserRequired
    ));

    // Promotion drops site rows; the new super user sees every site.
    set_superuser_access(&mut w.conn, &root, "admin2", true)?;
    let p = w.principal("admin2")?;
    assert!(p.superuser && p.can(1, Access::Admin));
    assert_eq!(
        access::table
            .filter(access::login.eq("admin2"))
            .count()
            .get_result::<i64>(&mut w.conn)?,
        0
    );
    set_superuser_access(&mut w.conn, &cli, "root", false)?;
    assert!(!w.principal("root")?.superuser);

    // Deleting a user removes their access and tokens.
    delete_user(&mut w.conn, &cli, "viewer")?;
    assert_eq!(
        access::table
            .filter(access::login.eq("viewer"))
            .count()
            .get_result::<i64>(&mut w.conn)?,
        0
    );
    assert_eq!(
        user_token_auth::table
            .filter(user_token_auth::login.eq("viewer"))
            .count()
            .get_result::<i64>(&mut w.conn)?,
        0
    );
    assert!(matches!(
        get_user(&mut w.conn, &cli, "viewer").unwrap_err(),
        ManagementError::UnknownUser { .. }
    ));
    Ok(())
}

#[test]
fn user_listings_hide_secrets_and_other_sites() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    let all = get_users(&mut w.conn, &root)?;
    assert_eq!(
        all.iter().map(|u| u.login.as_str()).collect::<Vec<_>>(),
        ["admin1", "admin2", "nobody", "root", "viewer", "writer"]
    );
    let json = serde_json::to_string(&all)?;
    assert!(
        !json.contains("argon2") && !json.contains("password"),
        "{json}"
    );
    let v = serde_json::to_value(&all[3])?;
    assert_eq!(v["login"], "root");
    assert_eq!(v["superuser_access"], 1);
    assert_eq!(v["email"], "root@example.org");
    assert_eq!(v["invite_status"], "active");
    assert_eq!(v["uses_2fa"], false);

    // An admin sees themself and the users of their sites, with emails hidden.
    let admin = w.principal("admin1")?;
    let mine = get_users(&mut w.conn, &admin)?;
    assert_eq!(
        mine.iter().map(|u| u.login.as_str()).collect::<Vec<_>>(),
        ["admin1", "viewer", "writer"]
    );
    assert_eq!(mine[0].email.as_deref(), Some("admin1@example.org"));
    assert_eq!(mine[1].email, None);
    let viewer = w.principal("viewer")?;
    assert!(matches!(
        get_users(&mut w.conn, &viewer).unwrap_err(),
        ManagementError::NoAccessToAnySite {
            needed: Access::Admin
        }
    ));

    // getUser: the user themself or a super user.
    assert_eq!(
        get_user(&mut w.conn, &viewer, "viewer")?.email.as_deref(),
        Some("viewer@example.org")
    );
    assert_eq!(
        get_user(&mut w.conn, &viewer, "writer")
            .unwrap_err()
            .to_string(),
        "The user has to be either a Super User or the user 'writer' itself."
    );
    Ok(())
}
