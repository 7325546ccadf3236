//! Small shared pieces: time conversion, options, randomness, list cleaning.

use diesel::prelude::*;
use tally_schema::schema::option;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::{ManagementError, Result};

/// `now` as stored in DATETIME/TIMESTAMP columns: UTC (the session's time
/// zone, see `tally_db::setup_session`), whole seconds.
pub(crate) fn db_time(t: OffsetDateTime) -> PrimitiveDateTime {
    let utc = t.to_offset(UtcOffset::UTC);
    let time = utc.time().replace_nanosecond(0).unwrap_or(utc.time());
    PrimitiveDateTime::new(utc.date(), time)
}

/// `YYYY-MM-DD HH:MM:SS`, as Matomo's API prints stored date times.
pub(crate) fn format_db_time(t: PrimitiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Reads an option; `None` when unset.
pub(crate) fn get_option(conn: &mut MysqlConnection, name: &str) -> QueryResult<Option<String>> {
    option::table
        .filter(option::option_name.eq(name))
        .select(option::option_value)
        .first(conn)
        .optional()
}

/// Sets an option. `autoload = 0` as Matomo's `Option::set` defaults to: the
/// tracker reads the options it needs by name anyway. The options set here
/// are settings (global exclusions, privacy), so the tracker's settings
/// version moves on with them.
pub(crate) fn set_option(conn: &mut MysqlConnection, name: &str, value: &str) -> QueryResult<()> {
    diesel::replace_into(option::table)
        .values((
            option::option_name.eq(name),
            option::option_value.eq(value),
            option::autoload.eq(0i8),
        ))
        .execute(conn)?;
    tracker_settings_changed(conn)
}

/// Tells trackers, through the settings version, that what their site
/// snapshot holds changed: called in the transaction of every write of
/// sites, aliases, goals, custom dimensions, users, tokens, access and
/// settings options, so the version commits with the change.
pub(crate) fn tracker_settings_changed(conn: &mut MysqlConnection) -> QueryResult<()> {
    tally_tracking::site::settings_changed(conn)
}

/// The instance salt that token hashes include. Read first and created
/// (by the tracker's [`tally_tracking::site::instance_salt`], so both agree)
/// only when missing: that function writes on every call, too much for
/// every authenticated API request.
pub(crate) fn instance_salt(conn: &mut MysqlConnection) -> QueryResult<String> {
    match get_option(conn, tally_tracking::site::SALT_OPTION)? {
        Some(salt) => Ok(salt),
        None => tally_tracking::site::instance_salt(conn),
    }
}

/// `N` random bytes from the OS.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ManagementError::Random {
        reason: e.to_string(),
    })?;
    Ok(bytes)
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Hex md5, the form in which Matomo hashes passwords before bcrypt.
pub(crate) fn md5_hex(s: &str) -> String {
    use md5::Digest;
    hex(&md5::Md5::digest(s.as_bytes()))
}

/// A comma-separated list: entries trimmed, empty ones dropped, duplicates
/// dropped (first one kept), as Matomo's `checkAndReturnCommaSeparatedStringList`.
pub(crate) fn clean_list(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if !out.iter().any(|o| o == entry) {
            out.push(entry.to_owned());
        }
    }
    out
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_trimmed_and_deduplicated() {
        assert_eq!(clean_list(" a, ,b,a ,, c"), ["a", "b", "c"]);
        assert!(clean_list(" , ").is_empty());
    }

    #[test]
    fn db_time_is_utc_whole_seconds() {
        let t = time::macros::datetime!(2026-03-01 01:30:15.75 +02:00);
        assert_eq!(db_time(t), time::macros::datetime!(2026-02-28 23:30:15));
        assert_eq!(format_db_time(db_time(t)), "2026-02-28 23:30:15");
    }

    #[test]
    fn md5_matches_php() {
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(like_escape("a_b%c"), "a\\_b\\%c");
    }
}
