//! Passwords and tokens are stored so that they cannot be read back, and
//! Matomo's password hashes keep working.

use diesel::prelude::*;
use tally_management::{
    ManagementError, Principal, add_user, create_app_specific_token, verify_password,
};
use tally_schema::models::{User, UserTokenAuth};
use tally_schema::schema::{user, user_token_auth};

use crate::support::{PASSWORD, World, now};

fn md5_hex(s: &str) -> String {
    use md5::Digest;
    md5::Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every column of `user` and `user_token_auth`, as text.
fn all_columns(conn: &mut MysqlConnection) -> anyhow::Result<String> {
    let users: Vec<User> = user::table.select(User::as_select()).load(conn)?;
    let tokens: Vec<UserTokenAuth> = user_token_auth::table
        .select(UserTokenAuth::as_select())
        .load(conn)?;
    Ok(format!("{users:?}\n{tokens:?}"))
}

#[test]
fn passwords_and_tokens_are_not_recoverable() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let root = w.root.clone();
    let password = "Very-Secret-Password-42";
    add_user(
        &mut w.conn,
        &root,
        "carol",
        password,
        "carol@example.org",
        Some(1),
        now(),
    )?;
    let carol = Principal {
        login: "carol".into(),
        superuser: false,
        sites: [(1, tally_management::Access::View)].into(),
    };
    // The user creates her own token, confirming her password.
    let token = create_app_specific_token(
        &mut w.conn,
        &carol,
        "carol",
        password,
        "my app",
        None,
        now(),
    )?;
    assert_eq!(token.len(), 32);
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );

    let dump = all_columns(&mut w.conn)?;
    for secret in [password, &md5_hex(password), &token, &md5_hex(&token)] {
        assert!(!dump.contains(secret), "{secret} is stored");
    }
    for (_, other) in &w.tokens {
        assert!(!dump.contains(other.as_str()));
    }

    let (hash, algo): (String, String) = user_token_auth::table
        .filter(user_token_auth::login.eq("carol"))
        .select((user_token_auth::password, user_token_auth::hash_algo))
        .first(&mut w.conn)?;
    let salt = tally_tracking::site::instance_salt(&mut w.conn)?;
    assert_eq!(hash, tally_tracking::site::hash_token(&token, &salt));
    assert_eq!(algo, "sha512");
    let stored: String = user::table
        .filter(user::login.eq("carol"))
        .select(user::password)
        .first(&mut w.conn)?;
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(verify_password(&mut w.conn, "carol", password, now())?);
    assert!(!verify_password(
        &mut w.conn,
        "carol",
        "wrong password",
        now()
    )?);
    assert!(!verify_password(
        &mut w.conn,
        "nosuchuser",
        password,
        now()
    )?);
    Ok(())
}

#[test]
fn matomo_bcrypt_hash_is_accepted_and_rehashed() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let password = "matomo-era password";
    // What Matomo's password_hash(md5($password), PASSWORD_DEFAULT) stores.
    let matomo_hash =
        bcrypt::hash_with_result(md5_hex(password), 4)?.format_for_version(bcrypt::Version::TwoY);
    assert!(matomo_hash.starts_with("$2y$"));
    diesel::sql_query(
        "INSERT INTO user (login, password, email, superuser_access, ts_password_modified) \
         VALUES ('legacy', ?, 'legacy@example.org', 0, '2020-01-02 03:04:05')",
    )
    .bind::<diesel::sql_types::Text, _>(&matomo_hash)
    .execute(&mut w.conn)?;
    let stored = |w: &mut World| -> anyhow::Result<(String, Option<time::PrimitiveDateTime>)> {
        Ok(user::table
            .filter(user::login.eq("legacy"))
            .select((user::password, user::ts_password_modified))
            .first(&mut w.conn)?)
    };

    assert!(!verify_password(&mut w.conn, "legacy", "not it", now())?);
    assert_eq!(
        stored(&mut w)?.0,
        matomo_hash,
        "a failed check rehashes nothing"
    );

    assert!(verify_password(&mut w.conn, "legacy", password, now())?);
    let (rehashed, modified) = stored(&mut w)?;
    assert!(rehashed.starts_with("$argon2id$"), "{rehashed}");
    assert_eq!(modified, Some(time::macros::datetime!(2020-01-02 03:04:05)));
    assert!(verify_password(&mut w.conn, "legacy", password, now())?);
    assert!(!verify_password(&mut w.conn, "legacy", "not it", now())?);
    Ok(())
}

#[test]
fn token_creation_needs_the_users_password_or_a_super_user() -> anyhow::Result<()> {
    let mut w = World::new()?;
    let viewer = w.principal("viewer")?;
    let err = create_app_specific_token(&mut w.conn, &viewer, "viewer", "wrong", "x", None, now())
        .unwrap_err();
    assert!(matches!(err, ManagementError::WrongPassword), "{err}");
    assert_eq!(
        err.to_string(),
        "The current password you entered is not correct."
    );
    // The password is the whole check, as in Matomo: an anonymous caller
    // (import_logs.py --login/--password) gets a token for the user whose
    // password it gives, by login or by email; a wrong one or an unknown
    // user gets the same refusal.
    let anonymous = Principal::anonymous();
    for login in ["writer", "writer@example.org"] {
        let token =
            create_app_specific_token(&mut w.conn, &anonymous, login, PASSWORD, "x", None, now())?;
        let p = tally_management::authenticate(&mut w.conn, Some(&token), false, now())?;
        assert_eq!(p.login, "writer");
    }
    for (login, password) in [
        ("writer", "wrong"),
        ("ghost", PASSWORD),
        ("ghost@example.org", PASSWORD),
    ] {
        let err =
            create_app_specific_token(&mut w.conn, &anonymous, login, password, "x", None, now())
                .unwrap_err();
        assert!(
            matches!(err, ManagementError::WrongPassword),
            "{login}: {err}"
        );
    }
    let err = create_app_specific_token(&mut w.conn, &viewer, "viewer", PASSWORD, " ", None, now())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Description: A value needs to be provided."
    );
    let long = "d".repeat(101);
    let err =
        create_app_specific_token(&mut w.conn, &viewer, "viewer", PASSWORD, &long, None, now())
            .unwrap_err();
    assert!(err.to_string().contains("at most 100 characters"), "{err}");
    let token =
        create_app_specific_token(&mut w.conn, &viewer, "viewer", PASSWORD, "ok", None, now())?;
    let p = tally_management::authenticate(&mut w.conn, Some(&token), false, now())?;
    assert_eq!(p.login, "viewer");

    // Deleting: only the owner (or a super user), only their own token.
    let id: u64 = user_token_auth::table
        .filter(user_token_auth::description.eq("ok"))
        .select(user_token_auth::idusertokenauth)
        .first(&mut w.conn)?;
    let writer = w.principal("writer")?;
    assert!(
        tally_management::delete_app_specific_token(&mut w.conn, &writer, "viewer", id).is_err()
    );
    assert!(!tally_management::delete_app_specific_token(
        &mut w.conn,
        &writer,
        "writer",
        id
    )?);
    assert!(tally_management::delete_app_specific_token(
        &mut w.conn,
        &viewer,
        "viewer",
        id
    )?);
    let err = tally_management::authenticate(&mut w.conn, Some(&token), false, now()).unwrap_err();
    assert!(matches!(err, ManagementError::InvalidToken));
    Ok(())
}
