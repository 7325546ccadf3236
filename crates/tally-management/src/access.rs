//! Access levels, the acting principal, and token authentication
//! (MATOMO.md §10.2 "Role semantics" and "Tokens").

use std::collections::BTreeMap;
use std::fmt;

use diesel::prelude::*;
use tally_schema::models::UserTokenAuth;
use tally_schema::schema::{access, site, user, user_token_auth};
use time::OffsetDateTime;

use crate::support::db_time;
use crate::{ManagementError, Result};

/// The login Matomo uses for requests without a token.
pub const ANONYMOUS: &str = "anonymous";

/// `last_used` is written at most this often per token, as Matomo does
/// (`Model::setTokenAuthWasUsed`): a busy API client would otherwise update
/// the same row on every request.
const LAST_USED_RESOLUTION: time::Duration = time::Duration::minutes(10);

/// A role on a site. The order is the order of privilege: `View < Write < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Read reports.
    View,
    /// View, plus manage goals and segments, and track with a token.
    Write,
    /// Write, plus site settings and granting access to the site.
    Admin,
}

impl Access {
    /// Every level, lowest first.
    pub const ALL: [Access; 3] = [Access::View, Access::Write, Access::Admin];

    /// The name stored in `access.access` and used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::View => "view",
            Access::Write => "write",
            Access::Admin => "admin",
        }
    }

    /// Parses `view`, `write` or `admin`; anything else (including Matomo's
    /// capability names such as `tagmanager_write`) is `None`.
    pub fn parse(s: &str) -> Option<Access> {
        match s {
            "view" => Some(Access::View),
            "write" => Some(Access::Write),
            "admin" => Some(Access::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is acting: a login, the super user flag and a level per site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's login (`anonymous` without a token).
    pub login: String,
    /// `user.superuser_access`: every level on every site.
    pub superuser: bool,
    /// The user's level per existing site. For a super user, every existing
    /// site at `Admin` as of authentication; [`Principal::access`] does not
    /// depend on it, so sites created later are covered too.
    pub sites: BTreeMap<u32, Access>,
}

impl Principal {
    /// The anonymous principal with no access anywhere.
    pub fn anonymous() -> Self {
        Self {
            login: ANONYMOUS.to_owned(),
            superuser: false,
            sites: BTreeMap::new(),
        }
    }

    /// A super user principal for trusted callers that act without a token,
    /// such as the admin command line.
    pub fn super_user(login: impl Into<String>) -> Self {
        Self {
            login: login.into(),
            superuser: true,
            sites: BTreeMap::new(),
        }
    }

    /// Whether this is the anonymous user.
    pub fn is_anonymous(&self) -> bool {
        self.login == ANONYMOUS
    }

    /// The level on `idsite`; a super user has `Admin` everywhere.
    pub fn access(&self, idsite: u32) -> Option<Access> {
        if self.superuser {
            return Some(Access::Admin);
        }
        self.sites.get(&idsite).copied()
    }

    /// Whether the level on `idsite` is at least `needed`.
    pub fn can(&self, idsite: u32, needed: Access) -> bool {
        self.access(idsite).is_some_and(|a| a >= needed)
    }

    /// Whether some site grants at least `needed`.
    pub fn can_somewhere(&self, needed: Access) -> bool {
        self.superuser || self.sites.values().any(|a| *a >= needed)
    }

    /// Requires at least `needed` on `idsite`.
    ///
    /// # Errors
    /// [`ManagementError::NoAccess`], with Matomo's message.
    pub fn check(&self, idsite: u32, needed: Access) -> Result<()> {
        if self.can(idsite, needed) {
            Ok(())
        } else {
            Err(ManagementError::NoAccess { needed, idsite })
        }
    }

    /// Requires at least `needed` on some site (Matomo's
    /// `checkUserHasSome{View,Write,Admin}Access`).
    ///
    /// # Errors
    /// [`ManagementError::NoAccessToAnySite`].
    pub fn check_somewhere(&self, needed: Access) -> Result<()> {
        if self.can_somewhere(needed) {
            Ok(())
        } else {
            Err(ManagementError::NoAccessToAnySite { needed })
        }
    }

    /// Requires super user access.
    ///
    /// # Errors
    /// [`ManagementError::SuperUserRequired`].
    pub fn check_superuser(&self) -> Result<()> {
        if self.superuser {
            Ok(())
        } else {
            Err(ManagementError::SuperUserRequired)
        }
    }

    /// Requires a super user or the user `login` themself.
    ///
    /// # Errors
    /// [`ManagementError::SuperUserOrSelfRequired`].
    pub fn check_superuser_or_self(&self, login: &str) -> Result<()> {
        if self.superuser || (!self.is_anonymous() && self.login == login) {
            Ok(())
        } else {
            Err(ManagementError::SuperUserOrSelfRequired {
                login: login.to_owned(),
            })
        }
    }
}

/// Authenticates a request by its `token_auth`.
///
/// No token, an empty one or the literal `anonymous` give the anonymous
/// principal, whose sites are the access rows of login `anonymous` (at most
/// `view`, whatever a row says). Any other token is hashed as the tracker
/// hashes it ([`tally_tracking::site::hash_token`] with the instance salt)
/// and looked up; it must belong to an existing user, must not be expired
/// (`date_expired` NULL or after `now`) and, when `from_post` is false,
/// must not be `secure_only`. A successful lookup records `last_used` (at
/// most every 10 minutes, as Matomo).
///
/// # Errors
/// [`ManagementError::InvalidToken`] for an unknown, expired or refused
/// token; [`ManagementError::Db`].
pub fn authenticate(
    conn: &mut MysqlConnection,
    token: Option<&str>,
    from_post: bool,
    now: OffsetDateTime,
) -> Result<Principal> {
    let token = match token {
        None | Some("") | Some(ANONYMOUS) => return anonymous_principal(conn),
        Some(t) => t,
    };
    let salt = crate::support::instance_salt(conn)?;
    let hash = tally_tracking::site::hash_token(token, &salt);
    let row: Option<UserTokenAuth> = user_token_auth::table
        .filter(user_token_auth::password.eq(&hash))
        .select(UserTokenAuth::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Err(ManagementError::InvalidToken);
    };
    let now = db_time(now);
    if row.date_expired.is_some_and(|expiry| expiry <= now) {
        return Err(ManagementError::InvalidToken);
    }
    if row.secure_only != 0 && !from_post {
        return Err(ManagementError::InvalidToken);
    }
    let found: Option<(String, u8)> = user::table
        .filter(user::login.eq(&row.login))
        .select((user::login, user::superuser_access))
        .first(conn)
        .optional()?;
    // A token left behind by a deleted user authenticates nobody.
    let Some((login, superuser_access)) = found else {
        return Err(ManagementError::InvalidToken);
    };
    if row
        .last_used
        .is_none_or(|used| used + LAST_USED_RESOLUTION <= now)
    {
        diesel::update(user_token_auth::table.find(row.idusertokenauth))
            .set(user_token_auth::last_used.eq(Some(now)))
            .execute(conn)?;
    }
    principal_for(conn, login, superuser_access > 0)
}

/// The anonymous principal with the sites the `anonymous` login may view.
fn anonymous_principal(conn: &mut MysqlConnection) -> Result<Principal> {
    let mut principal = principal_for(conn, ANONYMOUS.to_owned(), false)?;
    // Matomo never lets anonymous above view; a stray row must not either.
    for level in principal.sites.values_mut() {
        *level = Access::View;
    }
    Ok(principal)
}

/// Builds the principal of `login` from `access` (existing sites only; rows
/// of deleted sites are ignored, as Matomo joins with `site`).
pub(crate) fn principal_for(
    conn: &mut MysqlConnection,
    login: String,
    superuser: bool,
) -> Result<Principal> {
    let mut sites = BTreeMap::new();
    if superuser {
        let ids: Vec<u32> = site::table.select(site::idsite).load(conn)?;
        sites.extend(ids.into_iter().map(|id| (id, Access::Admin)));
    } else {
        let rows: Vec<(u32, Option<String>)> = access::table
            .inner_join(site::table.on(site::idsite.eq(access::idsite)))
            .filter(access::login.eq(&login))
            .select((access::idsite, access::access_))
            .load(conn)?;
        for (idsite, level) in rows {
            // Capability rows (`tagmanager_write`, ...) carry no role.
            let Some(level) = level.as_deref().and_then(Access::parse) else {
                continue;
            };
            let entry = sites.entry(idsite).or_insert(level);
            *entry = (*entry).max(level);
        }
    }
    Ok(Principal {
        login,
        superuser,
        sites,
    })
}

/// Ids (ascending) of existing sites on which `principal` has at least `needed`.
///
/// # Errors
/// [`ManagementError::Db`].
pub fn sites_with_access(
    conn: &mut MysqlConnection,
    principal: &Principal,
    needed: Access,
) -> Result<Vec<u32>> {
    if principal.superuser {
        return Ok(site::table
            .select(site::idsite)
            .order(site::idsite)
            .load(conn)?);
    }
    let wanted: Vec<u32> = principal
        .sites
        .iter()
        .filter(|(_, level)| **level >= needed)
        .map(|(id, _)| *id)
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    // The principal may predate a site's deletion.
    Ok(site::table
        .filter(site::idsite.eq_any(&wanted))
        .select(site::idsite)
        .order(site::idsite)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(sites: &[(u32, Access)]) -> Principal {
        Principal {
            login: "u".into(),
            superuser: false,
            sites: sites.iter().copied().collect(),
        }
    }

    #[test]
    fn levels_are_ordered_and_named() {
        assert!(Access::View < Access::Write && Access::Write < Access::Admin);
        for a in Access::ALL {
            assert_eq!(Access::parse(a.as_str()), Some(a));
        }
        assert_eq!(Access::parse("noaccess"), None);
        assert_eq!(Access::parse("superuser"), None);
    }

    #[test]
    fn checks_follow_levels() {
        let p = principal(&[(1, Access::View), (2, Access::Write)]);
        assert!(p.can(1, Access::View));
        assert!(!p.can(1, Access::Write));
        assert!(p.can(2, Access::View));
        assert!(!p.can(3, Access::View));
        assert!(p.can_somewhere(Access::Write));
        assert!(!p.can_somewhere(Access::Admin));
        assert_eq!(
            p.check(1, Access::Admin).unwrap_err().to_string(),
            "You can't access this resource as it requires 'admin' access for the website id = 1."
        );
        assert_eq!(
            p.check_somewhere(Access::Admin).unwrap_err().to_string(),
            "You can't access this resource as it requires admin access for at least one website."
        );
        assert_eq!(
            p.check_superuser().unwrap_err().to_string(),
            "You can't access this resource as it requires a 'superuser' access."
        );
        let su = Principal::super_user("root");
        assert_eq!(su.access(999), Some(Access::Admin));
        assert!(su.check_superuser().is_ok());
        assert!(p.check_superuser_or_self("u").is_ok());
        assert!(p.check_superuser_or_self("v").is_err());
        assert!(Principal::anonymous().is_anonymous());
        assert!(
            Principal::anonymous()
                .check_superuser_or_self(ANONYMOUS)
                .is_err()
        );
    }
}
