//! Users, their site access, passwords and app-specific tokens (MATOMO.md
//! §10.2, Matomo's `UsersManager` API).

use std::collections::BTreeSet;

use diesel::prelude::*;
use tally_schema::models::{NewSiteAccess, NewUser, NewUserTokenAuth, User};
use tally_schema::schema::{access, option, user, user_token_auth};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::access::{ANONYMOUS, Access, Principal};
use crate::password::{self, Verdict};
use crate::sites::find_site;
use crate::support::{
    db_time, format_db_time, hex, like_escape, random_bytes, tracker_settings_changed,
};
use crate::{ManagementError, Result};

const LOGIN_MIN: usize = 2;
const LOGIN_MAX: usize = 100;
const PASSWORD_MIN: usize = 6;
const PASSWORD_MAX: usize = 200;
const EMAIL_MAX: usize = 100;
const TOKEN_DESCRIPTION_MAX: usize = 100;

/// A user as `UsersManager.getUser`/`getUsers` return it. The password hash,
/// two-factor secret and invite tokens are never part of it.
///
/// Super users see every field; other users see `login`, `email` (their
/// own, and super users'), `superuser_access`, `invite_status` and
/// `invited_by`, as Matomo's `UserRepository::enrichUser`. Fields Matomo
/// would show as `null` are left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserView {
    /// `login`.
    pub login: String,
    /// `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `superuser_access` (0/1).
    pub superuser_access: u8,
    /// `date_registered`, `YYYY-MM-DD HH:MM:SS` UTC (super users only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_registered: Option<String>,
    /// Who invited the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    /// When a pending invitation expires (super users only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_expired_at: Option<String>,
    /// When the invitation was accepted (super users only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_accept_at: Option<String>,
    /// `active`, `expired`, or the days left on a pending invitation.
    pub invite_status: InviteStatus,
    /// Whether a two-factor secret is set (super users only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uses_2fa: Option<bool>,
}

/// A user's invitation state, as Matomo prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteStatus {
    /// A normal account (`"active"`).
    Active,
    /// An invitation that ran out (`"expired"`).
    Expired,
    /// A pending invitation with this many whole days left (a JSON number).
    DaysLeft(i64),
}

impl serde::Serialize for InviteStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            InviteStatus::Active => s.serialize_str("active"),
            InviteStatus::Expired => s.serialize_str("expired"),
            InviteStatus::DaysLeft(days) => s.serialize_i64(*days),
        }
    }
}

impl UserView {
    fn new(u: User, viewer: &Principal, now: PrimitiveDateTime) -> Self {
        let invite_status = match u.invite_expired_at {
            Some(at) if at <= now => InviteStatus::Expired,
            Some(at) => InviteStatus::DaysLeft((at - now).whole_days()),
            None => InviteStatus::Active,
        };
        if viewer.superuser {
            return Self {
                login: u.login,
                email: Some(u.email),
                superuser_access: u.superuser_access,
                date_registered: u.date_registered.map(format_db_time),
                invited_by: u.invited_by,
                invite_expired_at: u.invite_expired_at.map(format_db_time),
                invite_accept_at: u.invite_accept_at.map(format_db_time),
                invite_status,
                uses_2fa: Some(!u.twofactor_secret.is_empty()),
            };
        }
        let show_email = u.login == viewer.login || u.superuser_access > 0;
        Self {
            email: show_email.then_some(u.email),
            login: u.login,
            superuser_access: u.superuser_access,
            date_registered: None,
            invited_by: u.invited_by,
            invite_expired_at: None,
            invite_accept_at: None,
            invite_status,
            uses_2fa: None,
        }
    }
}

/// Creates a user with a password and email (`UsersManager.addUser`).
///
/// Super users may create any user; admins of a site may create users too,
/// but must pass `initial_idsite` (a site they administer). The new user gets
/// `view` access on `initial_idsite` when given. The password is stored as
/// an argon2id hash.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`] for non-admins;
/// [`ManagementError::InitialSiteRequired`]; [`ManagementError::NoAccess`] on
/// the initial site; [`ManagementError::InvalidParameter`] for an invalid
/// login, password or email; [`ManagementError::LoginExists`];
/// [`ManagementError::EmailExists`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::Db`].
pub fn add_user(
    conn: &mut MysqlConnection,
    actor: &Principal,
    login: &str,
    password: &str,
    email: &str,
    initial_idsite: Option<u32>,
    now: OffsetDateTime,
) -> Result<()> {
    actor.check_somewhere(Access::Admin)?;
    check_password(password)?;
    if !actor.superuser {
        let idsite = initial_idsite.ok_or(ManagementError::InitialSiteRequired)?;
        actor.check(idsite, Access::Admin)?;
    }
    insert_user(conn, login, password, email, false, initial_idsite, now)
}

/// Creates a super user without an acting principal: the bootstrap of a new
/// installation (`tally-admin user add --superuser`). Validation is that of
/// [`add_user`].
///
/// # Errors
/// As [`add_user`]'s validation errors.
pub fn create_superuser(
    conn: &mut MysqlConnection,
    login: &str,
    password: &str,
    email: &str,
    now: OffsetDateTime,
) -> Result<()> {
    check_password(password)?;
    insert_user(conn, login, password, email, true, None, now)
}

fn insert_user(
    conn: &mut MysqlConnection,
    login: &str,
    password: &str,
    email: &str,
    superuser: bool,
    initial_idsite: Option<u32>,
    now: OffsetDateTime,
) -> Result<()> {
    check_new_login(conn, login)?;
    let email = email.trim();
    check_new_email(conn, email, login)?;
    if let Some(idsite) = initial_idsite {
        find_site(conn, idsite)?;
    }
    let hash = password::hash(login, password)?;
    let now = db_time(now);
    conn.transaction(|conn| {
        diesel::insert_into(user::table)
            .values(NewUser {
                login,
                password: &hash,
                email,
                twofactor_secret: "",
                superuser_access: u8::from(superuser),
                date_registered: Some(now),
                ts_password_modified: Some(now),
                idchange_last_viewed: None,
                invited_by: None,
                invite_token: None,
                invite_link_token: None,
                invite_expired_at: None,
                invite_accept_at: None,
                ts_changes_shown: None,
            })
            .execute(conn)?;
        if let Some(idsite) = initial_idsite {
            diesel::insert_into(access::table)
                .values(NewSiteAccess {
                    login,
                    idsite,
                    access_: Some(Access::View.as_str()),
                })
                .execute(conn)?;
        }
        tracker_settings_changed(conn)?;
        Ok(())
    })
}

/// One user (`UsersManager.getUser`): super users may read anyone, other
/// users themselves.
///
/// # Errors
/// [`ManagementError::SuperUserOrSelfRequired`]; [`ManagementError::UnknownUser`];
/// [`ManagementError::Db`].
pub fn get_user(conn: &mut MysqlConnection, actor: &Principal, login: &str) -> Result<UserView> {
    actor.check_superuser_or_self(login)?;
    let found = find_user(conn, login)?;
    Ok(UserView::new(
        found,
        actor,
        db_time(OffsetDateTime::now_utc()),
    ))
}

/// Users by login (`UsersManager.getUsers`): a super user sees everyone; an
/// admin sees themself and the users with access to a site they administer.
///
/// # Errors
/// [`ManagementError::NoAccessToAnySite`] for non-admins; [`ManagementError::Db`].
pub fn get_users(conn: &mut MysqlConnection, actor: &Principal) -> Result<Vec<UserView>> {
    actor.check_somewhere(Access::Admin)?;
    let users: Vec<User> = user::table
        .select(User::as_select())
        .order(user::login)
        .load(conn)?;
    let visible: Option<BTreeSet<String>> = if actor.superuser {
        None
    } else {
        let admin_sites = crate::access::sites_with_access(conn, actor, Access::Admin)?;
        let logins: Vec<String> = access::table
            .filter(access::idsite.eq_any(&admin_sites))
            .select(access::login)
            .distinct()
            .load(conn)?;
        // Logins compare case-insensitively in SQL; do the same here.
        let mut set: BTreeSet<String> = logins.iter().map(|l| l.to_lowercase()).collect();
        set.insert(actor.login.to_lowercase());
        Some(set)
    };
    let now = db_time(OffsetDateTime::now_utc());
    Ok(users
        .into_iter()
        .filter(|u| {
            visible
                .as_ref()
                .is_none_or(|set| set.contains(&u.login.to_lowercase()))
        })
        .map(|u| UserView::new(u, actor, now))
        .collect())
}

/// Deletes a user with their access rows, tokens and per-user options (super
/// user only).
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::EditAnonymous`];
/// [`ManagementError::DeleteSelf`]; [`ManagementError::UnknownUser`];
/// [`ManagementError::DeleteLastSuperUser`]; [`ManagementError::Db`].
pub fn delete_user(conn: &mut MysqlConnection, actor: &Principal, login: &str) -> Result<()> {
    actor.check_superuser()?;
    if login == ANONYMOUS {
        return Err(ManagementError::EditAnonymous);
    }
    if login.eq_ignore_ascii_case(&actor.login) {
        return Err(ManagementError::DeleteSelf {
            login: login.to_owned(),
        });
    }
    conn.transaction(|conn| {
        let found = find_user(conn, login)?;
        if found.superuser_access > 0 && other_superusers(conn, &found.login)? == 0 {
            return Err(ManagementError::DeleteLastSuperUser { login: found.login });
        }
        diesel::delete(user::table.filter(user::login.eq(&found.login))).execute(conn)?;
        diesel::delete(user_token_auth::table.filter(user_token_auth::login.eq(&found.login)))
            .execute(conn)?;
        diesel::delete(access::table.filter(access::login.eq(&found.login))).execute(conn)?;
        // Per-user options such as `UsersManager.lastSeen.<login>`.
        diesel::delete(option::table.filter(
            option::option_name.like(format!("UsersManager.%.{}", like_escape(&found.login))),
        ))
        .execute(conn)?;
        tracker_settings_changed(conn)?;
        Ok(())
    })
}

/// Sets a user's role on sites (`UsersManager.setUserAccess`): `access` is
/// `view`, `write`, `admin` or `noaccess` (removes access). The actor needs
/// admin access on every site; `anonymous` can only get `view` or
/// `noaccess`; super users' access cannot be changed this way. Existing rows
/// of the user on those sites (roles and capabilities) are replaced.
///
/// # Errors
/// [`ManagementError::InvalidParameter`] for another `access` value or no
/// sites; [`ManagementError::NoAccess`]; [`ManagementError::AnonymousAccessNotPossible`];
/// [`ManagementError::UnknownUser`]; [`ManagementError::UserIsSuperUser`];
/// [`ManagementError::UnknownSite`]; [`ManagementError::Db`].
pub fn set_user_access(
    conn: &mut MysqlConnection,
    actor: &Principal,
    login: &str,
    access: &str,
    idsites: &[u32],
) -> Result<()> {
    let level = if access == "noaccess" {
        None
    } else {
        Some(Access::parse(access).ok_or_else(|| {
            ManagementError::invalid(
                "access",
                format!(
                    "The parameter access must have one of the following values: [ view, write, admin ], '{access}' given."
                ),
            )
        })?)
    };
    let idsites: BTreeSet<u32> = idsites.iter().copied().collect();
    if idsites.is_empty() {
        return Err(ManagementError::invalid(
            "idSites",
            "Specify at least one website ID in &idSites=",
        ));
    }
    for idsite in &idsites {
        actor.check(*idsite, Access::Admin)?;
    }
    let login = if login == ANONYMOUS {
        if level.is_some_and(|l| l != Access::View) {
            return Err(ManagementError::AnonymousAccessNotPossible);
        }
        ANONYMOUS.to_owned()
    } else {
        let found = find_user(conn, login)?;
        if found.superuser_access > 0 {
            return Err(ManagementError::UserIsSuperUser { login: found.login });
        }
        found.login
    };
    for idsite in &idsites {
        find_site(conn, *idsite)?;
    }
    conn.transaction(|conn| {
        diesel::delete(
            access::table
                .filter(access::login.eq(&login))
                .filter(access::idsite.eq_any(&idsites)),
        )
        .execute(conn)?;
        if let Some(level) = level {
            let rows: Vec<NewSiteAccess<'_>> = idsites
                .iter()
                .map(|idsite| NewSiteAccess {
                    login: &login,
                    idsite: *idsite,
                    access_: Some(level.as_str()),
                })
                .collect();
            diesel::insert_into(access::table)
                .values(&rows)
                .execute(conn)?;
        }
        tracker_settings_changed(conn)?;
        Ok(())
    })
}

/// Grants or removes super user access (super user only). The user's site
/// access rows are dropped either way, as in Matomo.
///
/// # Errors
/// [`ManagementError::SuperUserRequired`]; [`ManagementError::EditAnonymous`];
/// [`ManagementError::UnknownUser`]; [`ManagementError::RemoveLastSuperUser`];
/// [`ManagementError::Db`].
pub fn set_superuser_access(
    conn: &mut MysqlConnection,
    actor: &Principal,
    login: &str,
    superuser: bool,
) -> Result<()> {
    actor.check_superuser()?;
    if login == ANONYMOUS {
        return Err(ManagementError::EditAnonymous);
    }
    conn.transaction(|conn| {
        let found = find_user(conn, login)?;
        if !superuser && found.superuser_access > 0 && other_superusers(conn, &found.login)? == 0 {
            return Err(ManagementError::RemoveLastSuperUser { login: found.login });
        }
        diesel::delete(access::table.filter(access::login.eq(&found.login))).execute(conn)?;
        diesel::update(user::table.filter(user::login.eq(&found.login)))
            .set(user::superuser_access.eq(u8::from(superuser)))
            .execute(conn)?;
        tracker_settings_changed(conn)?;
        Ok(())
    })
}

/// The users with a role on a site, by login (admin access;
/// `UsersManager.getUsersAccessFromSite`).
///
/// # Errors
/// [`ManagementError::NoAccess`]; [`ManagementError::UnknownSite`];
/// [`ManagementError::Db`].
pub fn users_access_from_site(
    conn: &mut MysqlConnection,
    actor: &Principal,
    idsite: u32,
) -> Result<Vec<(String, Access)>> {
    actor.check(idsite, Access::Admin)?;
    find_site(conn, idsite)?;
    let rows: Vec<(String, Option<String>)> = access::table
        .filter(access::idsite.eq(idsite))
        .select((access::login, access::access_))
        .order(access::login)
        .load(conn)?;
    let mut out: Vec<(String, Access)> = Vec::new();
    for (login, level) in rows {
        let Some(level) = level.as_deref().and_then(Access::parse) else {
            continue;
        };
        match out.last_mut() {
            Some((last, best)) if *last == login => *best = (*best).max(level),
            _ => out.push((login, level)),
        }
    }
    Ok(out)
}

/// Creates an app-specific token for `login` and returns it (32 lowercase
/// hex characters); only its hash is stored, as the tracker expects
/// (`tally_tracking::site::hash_token` with the instance salt, `hash_algo`
/// `sha512`), and it is usable in GET and POST requests (`secure_only = 0`).
///
/// Anyone who gives the user's password gets a token for that user, as in
/// Matomo (it is the API's login: `import_logs.py --login --password` calls
/// it without a token); `login` may be the user's email. A super user may
/// create tokens for anyone without the password (they can set any user's
/// access anyway, so a confirmation would protect nothing; Matomo asks them
/// for the user's password too).
/// `description` is required, at most 100 characters; `expire` is the
/// optional `date_expired`.
///
/// # Errors
/// [`ManagementError::EditAnonymous`]; [`ManagementError::WrongPassword`]
/// (also for an unknown user, as Matomo); [`ManagementError::UnknownUser`];
/// [`ManagementError::InvalidParameter`] for the description;
/// [`ManagementError::Random`]; [`ManagementError::Db`].
pub fn create_app_specific_token(
    conn: &mut MysqlConnection,
    actor: &Principal,
    login: &str,
    password_confirmation: &str,
    description: &str,
    expire: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<String> {
    if login == ANONYMOUS {
        return Err(ManagementError::EditAnonymous);
    }
    // As Matomo, the user's own password is the whole check (no session is
    // needed): `import_logs.py --login --password` asks for its token this
    // way, anonymously. The login may be given as the user's email. Super
    // users (the CLI's root principal) need no password.
    let login = match user_by_email(conn, login)? {
        Some(found) if find_user(conn, login).is_err() => found,
        _ => login.to_owned(),
    };
    if !actor.superuser && !verify_password(conn, &login, password_confirmation, now)? {
        return Err(ManagementError::WrongPassword);
    }
    let found = find_user(conn, &login)?;
    let description = description.trim();
    if description.is_empty() {
        return Err(ManagementError::invalid(
            "description",
            "Description: A value needs to be provided.",
        ));
    }
    let length = description.chars().count();
    if length > TOKEN_DESCRIPTION_MAX {
        return Err(ManagementError::invalid(
            "description",
            format!(
                "Description: The value contains \"{length}\" characters but should contain at most {TOKEN_DESCRIPTION_MAX} characters."
            ),
        ));
    }
    let token = hex(&random_bytes::<16>()?);
    let salt = crate::support::instance_salt(conn)?;
    let hash = tally_tracking::site::hash_token(&token, &salt);
    conn.transaction(|conn| {
        diesel::insert_into(user_token_auth::table)
            .values(NewUserTokenAuth {
                login: &found.login,
                description,
                password: &hash,
                hash_algo: "sha512",
                system_token: 0,
                last_used: None,
                date_created: db_time(now),
                date_expired: expire.map(db_time),
                secure_only: 0,
            })
            .execute(conn)?;
        tracker_settings_changed(conn)
    })?;
    Ok(token)
}

/// Deletes one of a user's tokens by id (the user themself or a super
/// user). Returns whether a token was deleted.
///
/// # Errors
/// [`ManagementError::SuperUserOrSelfRequired`]; [`ManagementError::Db`].
pub fn delete_app_specific_token(
    conn: &mut MysqlConnection,
    actor: &Principal,
    login: &str,
    idtoken: u64,
) -> Result<bool> {
    actor.check_superuser_or_self(login)?;
    let deleted = conn.transaction(|conn| {
        let deleted = diesel::delete(
            user_token_auth::table
                .filter(user_token_auth::idusertokenauth.eq(idtoken))
                .filter(user_token_auth::login.eq(login)),
        )
        .execute(conn)?;
        tracker_settings_changed(conn)?;
        Ok::<_, diesel::result::Error>(deleted)
    })?;
    Ok(deleted > 0)
}

/// Checks a user's password. Unknown users and users without a usable hash
/// (e.g. pending invitations) get `false`.
///
/// Tally's hashes are argon2id of the password. Hashes imported from Matomo
/// (bcrypt `$2y$` of md5(password), or argon2 of md5(password)) verify too
/// and, on success, are replaced by Tally's form; `ts_password_modified`
/// is left alone since the password did not change. `now` is not used yet.
///
/// # Errors
/// [`ManagementError::PasswordHash`] when rehashing fails; [`ManagementError::Db`].
pub fn verify_password(
    conn: &mut MysqlConnection,
    login: &str,
    password: &str,
    _now: OffsetDateTime,
) -> Result<bool> {
    let stored: Option<(String, String)> = user::table
        .filter(user::login.eq(login))
        .select((user::login, user::password))
        .first(conn)
        .optional()?;
    let Some((login, stored)) = stored else {
        return Ok(false);
    };
    match password::verify(&login, password, &stored)? {
        Verdict::Mismatch => Ok(false),
        Verdict::Match => Ok(true),
        Verdict::MatchRehashed(new) => {
            // Only replace what we verified: a concurrent password change wins.
            diesel::update(
                user::table
                    .filter(user::login.eq(&login))
                    .filter(user::password.eq(&stored)),
            )
            .set(user::password.eq(&new))
            .execute(conn)?;
            Ok(true)
        }
    }
}

/// The login of the user with this email, if `text` looks like one.
fn user_by_email(conn: &mut MysqlConnection, text: &str) -> Result<Option<String>> {
    if !text.contains('@') {
        return Ok(None);
    }
    Ok(user::table
        .filter(user::email.eq(text))
        .select(user::login)
        .first(conn)
        .optional()?)
}

/// The preference names `UsersManager.set/getUserPreference` accept
/// (Matomo's list, without plugins' additions).
const PREFERENCE_NAMES: [&str; 4] = [
    "defaultReport",
    "defaultReportDate",
    "isLDAPUser",
    "hideSegmentDefinitionChangeMessage",
];

/// A user preference's value: the stored text, a default site id, or PHP
/// `false` for none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreferenceValue {
    /// The value stored with `setUserPreference`, or `default_day`.
    Text(String),
    /// `defaultReport`'s default: the first site the user may view.
    Site(u32),
    /// No value and no default.
    None,
}

/// The option a preference is stored in: `<login>_<name>`, for a name
/// Matomo supports (`getPreferenceId`'s checks and messages).
fn preference_option(login: &str, name: &str) -> Result<String> {
    if name.contains('_') {
        return Err(ManagementError::InvalidParameter {
            name: "preferenceName",
            reason: "Preference name cannot contain underscores.".to_owned(),
        });
    }
    if !PREFERENCE_NAMES.contains(&name) {
        return Err(ManagementError::InvalidParameter {
            name: "preferenceName",
            reason: format!("Not supported preference name: {name}"),
        });
    }
    Ok(format!("{login}_{name}"))
}

/// `UsersManager.setUserPreference`: a super user, or the user themself,
/// stores one of the supported preferences (anonymous's only a super user).
///
/// # Errors
/// [`ManagementError::SuperUserOrSelfRequired`]; an unknown user or an
/// unsupported name as [`ManagementError::InvalidParameter`] with Matomo's
/// message; [`ManagementError::Db`].
pub fn set_user_preference(
    conn: &mut MysqlConnection,
    actor: &Principal,
    login: &str,
    name: &str,
    value: &str,
) -> Result<()> {
    actor.check_superuser_or_self(login)?;
    let exists: i64 = user::table
        .filter(user::login.eq(login))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(ManagementError::InvalidParameter {
            name: "userLogin",
            reason: format!("User does not exist: {login}"),
        });
    }
    if login == ANONYMOUS {
        actor.check_superuser()?;
    }
    let option_name = preference_option(login, name)?;
    // Not a tracker setting: the settings version stays.
    diesel::replace_into(option::table)
        .values((
            option::option_name.eq(&option_name),
            option::option_value.eq(value),
            option::autoload.eq(0i8),
        ))
        .execute(conn)?;
    Ok(())
}

/// `UsersManager.getUserPreference`: the stored value, else the default
/// (`defaultReport`: the first site `login` may view; `defaultReportDate`:
/// `default_day`, `yesterday`), else none. `login` defaults to the actor.
///
/// # Errors
/// [`ManagementError::SuperUserOrSelfRequired`]; an unsupported name as
/// [`ManagementError::InvalidParameter`]; [`ManagementError::Db`].
pub fn get_user_preference(
    conn: &mut MysqlConnection,
    actor: &Principal,
    name: &str,
    login: Option<&str>,
) -> Result<PreferenceValue> {
    let login = login.unwrap_or(&actor.login);
    actor.check_superuser_or_self(login)?;
    let option_name = preference_option(login, name)?;
    if let Some(value) = crate::support::get_option(conn, &option_name)? {
        return Ok(PreferenceValue::Text(value));
    }
    Ok(match name {
        "defaultReport" => {
            let superuser = user::table
                .filter(user::login.eq(login))
                .select(user::superuser_access)
                .first::<u8>(conn)
                .optional()?
                .is_some_and(|s| s > 0);
            let principal = crate::access::principal_for(conn, login.to_owned(), superuser)?;
            crate::access::sites_with_access(conn, &principal, Access::View)?
                .first()
                .map_or(PreferenceValue::None, |id| PreferenceValue::Site(*id))
        }
        "defaultReportDate" => PreferenceValue::Text("yesterday".to_owned()),
        _ => PreferenceValue::None,
    })
}

fn find_user(conn: &mut MysqlConnection, login: &str) -> Result<User> {
    user::table
        .filter(user::login.eq(login))
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ManagementError::UnknownUser {
            login: login.to_owned(),
        })
}

fn other_superusers(conn: &mut MysqlConnection, login: &str) -> Result<i64> {
    Ok(user::table
        .filter(user::superuser_access.gt(0))
        .filter(user::login.ne(login))
        .count()
        .get_result(conn)?)
}

/// Matomo's `Login` validator: 2–100 bytes of letters, digits, `_.@+-` and
/// the German umlauts.
fn check_login_format(login: &str) -> Result<()> {
    let ok = (LOGIN_MIN..=LOGIN_MAX).contains(&login.len())
        && login.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.' | '@' | '+' | '-')
                || "ÄäÖöÜüß".contains(c)
        });
    if ok {
        Ok(())
    } else {
        Err(ManagementError::invalid(
            "userLogin",
            format!(
                "Username: The username must be between {LOGIN_MIN} and {LOGIN_MAX} characters long and contain only letters, numbers, or the characters '_' or '-' or '.' or '@' or '+'"
            ),
        ))
    }
}

fn check_new_login(conn: &mut MysqlConnection, login: &str) -> Result<()> {
    check_login_format(login)?;
    // Matomo's userExists() is true for `anonymous`, which has no row here.
    let taken = login.eq_ignore_ascii_case(ANONYMOUS)
        || user::table
            .filter(user::login.eq(login))
            .count()
            .get_result::<i64>(conn)?
            > 0;
    if taken {
        return Err(ManagementError::LoginExists {
            login: login.to_owned(),
        });
    }
    let is_email = user::table
        .filter(user::email.eq(login))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if is_email {
        return Err(ManagementError::invalid(
            "userLogin",
            format!("Username: Username '{login}' already used as an email."),
        ));
    }
    Ok(())
}

fn check_new_email(conn: &mut MysqlConnection, email: &str, login: &str) -> Result<()> {
    if !valid_email(email) {
        return Err(ManagementError::invalid(
            "email",
            format!("Email: The value \"{email}\" does not look like a valid email."),
        ));
    }
    let taken = user::table
        .filter(user::email.eq(email))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if taken {
        return Err(ManagementError::EmailExists {
            email: email.to_owned(),
        });
    }
    let is_login = !email.eq_ignore_ascii_case(login)
        && user::table
            .filter(user::login.eq(email))
            .count()
            .get_result::<i64>(conn)?
            > 0;
    if is_login {
        return Err(ManagementError::invalid(
            "email",
            format!("Email: Email '{email}' already used as a username."),
        ));
    }
    Ok(())
}

/// Password length rules of `UsersManager::checkPassword` (minimum in
/// bytes, maximum in characters, as PHP's `strlen`/`mb_strlen`).
fn check_password(password: &str) -> Result<()> {
    if password.len() < PASSWORD_MIN {
        return Err(ManagementError::invalid(
            "password",
            format!("The password length must be greater than {PASSWORD_MIN} characters."),
        ));
    }
    if password.chars().count() > PASSWORD_MAX {
        return Err(ManagementError::invalid(
            "password",
            format!("The password length must be less than {PASSWORD_MAX} characters."),
        ));
    }
    Ok(())
}

/// An ASCII address `local@domain.tld` in the spirit of PHP's
/// `FILTER_VALIDATE_EMAIL`: dot-atom local part, a domain of at least two
/// labels.
fn valid_email(email: &str) -> bool {
    if email.len() > EMAIL_MAX || !email.is_ascii() {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c))
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_rules() {
        for ok in ["ab", "john.doe", "a_b-c+d@e", "Jürgen", &"x".repeat(100)] {
            assert!(check_login_format(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "",
            "has space",
            "semi;colon",
            "émile",
            &"x".repeat(101),
        ] {
            let err = check_login_format(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("Username: The username must be between 2 and 100")
            );
        }
    }

    #[test]
    fn password_rules() {
        assert!(check_password("123456").is_ok());
        assert_eq!(
            check_password("12345").unwrap_err().to_string(),
            "The password length must be greater than 6 characters."
        );
        assert!(check_password(&"é".repeat(200)).is_ok());
        assert!(check_password(&"x".repeat(201)).is_err());
    }

    #[test]
    fn email_shapes() {
        for ok in [
            "a@b.co",
            "first.last+tag@example.org",
            "x@sub.example.co.uk",
        ] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a@.co",
            "a..b@c.de",
            "a b@c.de",
            "a@b.co.",
            "ä@b.de",
            "a@-b.de",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn invite_status_serializes_like_matomo() {
        let json = |s: InviteStatus| serde_json::to_string(&s).unwrap();
        assert_eq!(json(InviteStatus::Active), "\"active\"");
        assert_eq!(json(InviteStatus::Expired), "\"expired\"");
        assert_eq!(json(InviteStatus::DaysLeft(6)), "6");
    }
}
