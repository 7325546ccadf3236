//! A seeded installation shared by the tests: a super user, two sites, a
//! user per role and a token for each.

use diesel::prelude::*;
use tally_db::test_support::TestDb;
use tally_management::{
    NewSiteParams, Principal, add_site, add_user, authenticate, create_app_specific_token,
    create_superuser, set_user_access,
};
use time::OffsetDateTime;

/// The fixed "now" of the tests.
pub(crate) fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-06-15 12:00:00 UTC)
}

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A database with:
/// - super user `root`;
/// - sites 1 (`https://shop.example`) and 2 (`https://blog.example`);
/// - `viewer` (view on 1), `writer` (write on 1), `admin1` (admin on 1),
///   `admin2` (admin on 2), `nobody` (no access);
/// - a token per user in `tokens`.
pub(crate) struct World {
    pub(crate) conn: MysqlConnection,
    pub(crate) root: Principal,
    pub(crate) tokens: Vec<(&'static str, String)>,
    /// Dropped last: drops the database once the connection is closed.
    _db: TestDb,
}

impl World {
    pub(crate) fn new() -> anyhow::Result<Self> {
        let db = TestDb::new()?;
        let mut conn = db.conn()?;
        create_superuser(&mut conn, "root", PASSWORD, "root@example.org", now())?;
        let root = Principal::super_user("root");
        let shop = add_site(
            &mut conn,
            &root,
            &NewSiteParams::new("Shop", ["https://shop.example"]),
        )?;
        let blog = add_site(
            &mut conn,
            &root,
            &NewSiteParams::new("Blog", ["https://blog.example"]),
        )?;
        assert_eq!((shop, blog), (1, 2));
        let users: [(&str, Option<(&str, u32)>); 5] = [
            ("viewer", Some(("view", 1))),
            ("writer", Some(("write", 1))),
            ("admin1", Some(("admin", 1))),
            ("admin2", Some(("admin", 2))),
            ("nobody", None),
        ];
        for (login, grant) in users {
            add_user(
                &mut conn,
                &root,
                login,
                PASSWORD,
                &format!("{login}@example.org"),
                None,
                now(),
            )?;
            if let Some((level, idsite)) = grant {
                set_user_access(&mut conn, &root, login, level, &[idsite])?;
            }
        }
        let mut tokens = Vec::new();
        for login in ["root", "viewer", "writer", "admin1", "admin2", "nobody"] {
            let token =
                create_app_specific_token(&mut conn, &root, login, "", "tests", None, now())?;
            tokens.push((login, token));
        }
        Ok(Self {
            _db: db,
            conn,
            root,
            tokens,
        })
    }

    /// The plain token of `login`.
    pub(crate) fn token(&self, login: &str) -> &str {
        self.tokens
            .iter()
            .find(|(l, _)| *l == login)
            .map(|(_, t)| t.as_str())
            .unwrap_or_default()
    }

    /// The principal of `login`, through its token.
    pub(crate) fn principal(&mut self, login: &str) -> anyhow::Result<Principal> {
        let token = self.token(login).to_owned();
        Ok(authenticate(&mut self.conn, Some(&token), false, now())?)
    }
}
