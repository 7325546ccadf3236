//! Just enough parsing of `mysql://user:pass@host:port/db?opts` URLs to name
//! the database, swap it, and print the URL without its password.

use crate::DbError;

/// A MySQL connection URL split around its database name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbUrl {
    /// Everything before the database name, ending in `/`.
    server: String,
    database: String,
    /// `?opts` or empty.
    query: String,
}

impl DbUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, DbError> {
        let invalid = |reason| DbError::InvalidUrl {
            url: redact(url),
            reason,
        };
        let rest = url
            .strip_prefix("mysql://")
            .ok_or_else(|| invalid("it must start with mysql://"))?;
        let (before_query, query) = match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (authority, database) = before_query
            .split_once('/')
            .ok_or_else(|| invalid("it names no database (mysql://user@host:port/DATABASE)"))?;
        if authority.is_empty() {
            return Err(invalid("it names no host"));
        }
        if !is_plain_identifier(database) {
            return Err(invalid(
                "the database name must be 1-64 characters of A-Z, a-z, 0-9 and _",
            ));
        }
        Ok(Self {
            server: format!("mysql://{authority}/"),
            database: database.to_owned(),
            query: query.to_owned(),
        })
    }

    pub(crate) fn database(&self) -> &str {
        &self.database
    }

    /// The same server and options with another database.
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn with_database(&self, database: &str) -> String {
        format!("{}{}{}", self.server, database, self.query)
    }

    /// The server URL without a database, for CREATE/DROP DATABASE.
    pub(crate) fn server_only(&self) -> String {
        format!("{}{}", self.server, self.query)
    }
}

/// Database names we create or drop are interpolated into DDL (identifiers
/// cannot be bound), so only plain identifiers are accepted.
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let after = &url[scheme_end + 3..];
    let authority_end = after.find('/').unwrap_or(after.len());
    let authority = &after[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &after[at..]
                ),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_swaps_the_database() {
        let url = DbUrl::parse("mysql://root:pw@127.0.0.1:3306/tally?ssl_mode=disabled").unwrap();
        assert_eq!(url.database(), "tally");
        assert_eq!(
            url.with_database("other"),
            "mysql://root:pw@127.0.0.1:3306/other?ssl_mode=disabled"
        );
        assert_eq!(
            url.server_only(),
            "mysql://root:pw@127.0.0.1:3306/?ssl_mode=disabled"
        );
    }

    #[test]
    fn rejects_unusable_urls() {
        for bad in [
            "postgres://x@h/db",
            "mysql://root@127.0.0.1:3306",
            "mysql://root@127.0.0.1:3306/",
            "mysql://root@h/db;drop",
            "mysql:///db",
        ] {
            assert!(DbUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("mysql://root:secret@h:1/db"),
            "mysql://root:***@h:1/db"
        );
        assert_eq!(redact("mysql://root@h:1/db"), "mysql://root@h:1/db");
        assert_eq!(redact("mysql://u:p:q@h/db"), "mysql://u:***@h/db");
    }
}
