//! Password hashing: argon2id for new hashes, and the hashes Matomo wrote.
//!
//! Matomo stores `password_hash(md5(password))`: bcrypt (`$2y$`) by default,
//! argon2i/argon2id when configured. Tally hashes the plain password with
//! argon2id (the md5 step adds nothing but a weaker input). A hash from
//! Matomo still verifies, and is replaced by Tally's form on success.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::support::{md5_hex, random_bytes};
use crate::{ManagementError, Result};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Wrong password, or no usable hash (e.g. an invited user's empty one).
    Mismatch,
    /// Right password, hash already in Tally's form.
    Match,
    /// Right password, but the stored hash is Matomo's: store this one instead.
    MatchRehashed(String),
}

/// An argon2id PHC string of `plain` with a fresh random salt and the
/// crate's default cost (OWASP's recommended m=19 MiB, t=2, p=1).
pub(crate) fn hash(login: &str, plain: &str) -> Result<String> {
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| hash_error(login, &e))?;
    Argon2::default()
        .hash_password(plain.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| hash_error(login, &e))
}

fn hash_error(login: &str, e: &dyn std::fmt::Display) -> ManagementError {
    ManagementError::PasswordHash {
        login: login.to_owned(),
        reason: e.to_string(),
    }
}

/// Checks `plain` against `stored`.
pub(crate) fn verify(login: &str, plain: &str, stored: &str) -> Result<Verdict> {
    if stored.starts_with("$argon2") {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Ok(Verdict::Mismatch);
        };
        let argon = Argon2::default();
        if argon.verify_password(plain.as_bytes(), &parsed).is_ok() {
            // Ours, unless Matomo happened to hash the plain password; either
            // way the input is the plain password and argon2: keep it.
            return Ok(Verdict::Match);
        }
        // Matomo configured with argon2 hashed md5(password).
        if argon
            .verify_password(md5_hex(plain).as_bytes(), &parsed)
            .is_ok()
        {
            return Ok(Verdict::MatchRehashed(hash(login, plain)?));
        }
        return Ok(Verdict::Mismatch);
    }
    if is_bcrypt(stored) {
        // The bcrypt crate reads `$2y$` (PHP's marker) like `$2b$`: the two
        // formats are the same algorithm.
        return match bcrypt::verify(md5_hex(plain), stored) {
            Ok(true) => Ok(Verdict::MatchRehashed(hash(login, plain)?)),
            Ok(false) | Err(_) => Ok(Verdict::Mismatch),
        };
    }
    Ok(Verdict::Mismatch)
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2y$", "$2b$", "$2a$", "$2x$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let h = hash("u", "secret pw").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert_eq!(verify("u", "secret pw", &h).unwrap(), Verdict::Match);
        assert_eq!(verify("u", "secret pX", &h).unwrap(), Verdict::Mismatch);
        // Two hashes of one password differ (random salt).
        assert_ne!(h, hash("u", "secret pw").unwrap());
    }

    #[test]
    fn matomo_bcrypt_is_verified_and_rehashed() {
        let stored = bcrypt::hash_with_result(md5_hex("hunter22"), 4)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoY);
        assert!(stored.starts_with("$2y$04$"));
        match verify("u", "hunter22", &stored).unwrap() {
            Verdict::MatchRehashed(new) => {
                assert!(new.starts_with("$argon2id$"));
                assert_eq!(verify("u", "hunter22", &new).unwrap(), Verdict::Match);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(verify("u", "hunter23", &stored).unwrap(), Verdict::Mismatch);
    }

    #[test]
    fn matomo_argon2_of_md5_is_rehashed() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let stored = Argon2::default()
            .hash_password(md5_hex("pw123456").as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(matches!(
            verify("u", "pw123456", &stored).unwrap(),
            Verdict::MatchRehashed(_)
        ));
    }

    #[test]
    fn unusable_hashes_never_match() {
        for stored in ["", "x", "$argon2id$garbage", "$2y$10$short"] {
            assert_eq!(verify("u", "", stored).unwrap(), Verdict::Mismatch);
        }
    }
}
