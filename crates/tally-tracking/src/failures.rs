//! Tracking failures (Matomo's `tracking_failure` table): the first request
//! of each kind a site's tracker got wrong, kept for two days so that an
//! administrator can see why nothing arrives (`CoreAdminHome.getTrackingFailures`).
//!
//! Two kinds are recorded, as in Matomo: an `idsite` that names no site, and
//! a parameter that needs a token (`cip`, `cdt` older than a day, `country`,
//! ...) sent without a valid one. The request is stored as a query string
//! with anything that looks like a token replaced, so the table never leaks
//! credentials.

use diesel::prelude::*;
use diesel::sql_types::{Text, Unsigned};

use crate::params::{ParamValue, RawParams};

/// `Failures::FAILURE_ID_INVALID_SITE`.
pub const INVALID_SITE: u16 = 1;
/// `Failures::FAILURE_ID_NOT_AUTHENTICATED`.
pub const NOT_AUTHENTICATED: u16 = 2;
/// Matomo ignores larger ids rather than filling the table with junk.
const MAX_IDSITE: u32 = 9_999_999;
/// What replaces a token in the stored request.
const TOKEN_PLACEHOLDER: &str = "__TOKEN_AUTH__";

/// One failure to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The `idsite` the request named (it may not exist).
    pub idsite: u32,
    /// [`INVALID_SITE`] or [`NOT_AUTHENTICATED`].
    pub idfailure: u16,
    /// The request's parameters as a query string, tokens replaced: by
    /// name until [`Failure::keep_sent_order`] puts them in the order sent.
    pub request_url: String,
}

impl Failure {
    /// The failure of a request with these parameters, or `None` for an
    /// id Matomo would not record. `token` is the one the request
    /// authenticates with (a bulk's own wins, as in Matomo's
    /// `Request::getTokenAuth`): any parameter equal to it is hidden too.
    pub fn new(raw: &RawParams, token: Option<&str>, idsite: u32, idfailure: u16) -> Option<Self> {
        if idsite > MAX_IDSITE {
            return None;
        }
        Some(Self {
            idsite,
            idfailure,
            request_url: anonymized_query(raw, token),
        })
    }

    /// Puts the stored parameters in the order the request sent them
    /// (`sent`: [`crate::params::sent_names`]), as Matomo's
    /// `http_build_query` of `Request::getRawParams` does. A parameter the
    /// request did not send is dropped: the `url` the image tracker takes
    /// from the `Referer` header is not one of Matomo's raw parameters.
    ///
    /// Only failing requests pay for this: the parameters are a hash map.
    pub fn keep_sent_order(&mut self, sent: &[String]) {
        let pieces: Vec<(String, &str)> = self
            .request_url
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let name = piece.split_once('=').map_or(piece, |(name, _)| name);
                (name.to_owned(), piece)
            })
            .collect();
        let mut out = String::with_capacity(self.request_url.len());
        for name in sent {
            let encoded = form_encode(name);
            if let Some((_, piece)) = pieces.iter().find(|(n, _)| *n == encoded) {
                if !out.is_empty() {
                    out.push('&');
                }
                out.push_str(piece);
            }
        }
        self.request_url = out;
    }
}

/// `http_build_query` of the parameters with the token and anything shaped
/// like one (29–36 hex digits, or equal to the token) replaced.
fn anonymized_query(raw: &RawParams, token: Option<&str>) -> String {
    let token = token.filter(|t| !t.is_empty());
    let mut out = String::new();
    for (name, value) in raw.iter() {
        let ParamValue::Text(value) = value else {
            continue;
        };
        let looks_like_token = {
            let n = value.chars().count();
            (29..=36).contains(&n) && value.bytes().all(|b| b.is_ascii_hexdigit())
        };
        let shown = if matches!(name, "token_auth" | "token" | "tokenauth" | "token__auth")
            || token.is_some_and(|t| t == value)
            || looks_like_token
        {
            TOKEN_PLACEHOLDER
        } else {
            value.as_str()
        };
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&form_encode(name));
        out.push('=');
        out.push_str(&form_encode(shown));
    }
    out
}

/// PHP's `urlencode` (what `http_build_query` uses): unreserved bytes kept,
/// space as `+`, everything else `%XX`.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Records `failures` (the first of each site and kind wins) and forgets
/// failures older than two days, in the caller's transaction.
///
/// # Errors
/// The database error.
pub fn record(conn: &mut MysqlConnection, failures: &[Failure]) -> QueryResult<()> {
    for f in failures {
        diesel::sql_query(
            "INSERT INTO tracking_failure (idsite, idfailure, date_first_occurred, request_url) \
             VALUES (?, ?, UTC_TIMESTAMP(), ?) ON DUPLICATE KEY UPDATE idsite = idsite",
        )
        .bind::<Unsigned<diesel::sql_types::BigInt>, _>(u64::from(f.idsite))
        .bind::<Unsigned<diesel::sql_types::SmallInt>, _>(f.idfailure)
        .bind::<Text, _>(&f.request_url)
        .execute(conn)?;
    }
    if !failures.is_empty() {
        diesel::sql_query(
            "DELETE FROM tracking_failure WHERE date_first_occurred < UTC_TIMESTAMP() - INTERVAL 2 DAY",
        )
        .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_token_shaped_values_are_replaced() {
        let raw = RawParams::from_query(
            "idsite=7&rec=1&url=https%3A%2F%2Fa.example%2F%3Fq%3D1&token_auth=0123456789abcdef0123456789abcdef&cip=1.2.3.4&_id=0123456789abcdef&x=0123456789abcdef0123456789abcdef&action_name=Hello%20world",
        );
        let f = Failure::new(&raw, raw.get("token_auth"), 7, NOT_AUTHENTICATED).expect("recorded");
        assert_eq!(
            f.request_url,
            "_id=0123456789abcdef&action_name=Hello+world&cip=1.2.3.4&idsite=7&rec=1&token_auth=__TOKEN_AUTH__&url=https%3A%2F%2Fa.example%2F%3Fq%3D1&x=__TOKEN_AUTH__"
        );
        assert!(!f.request_url.contains("0123456789abcdef0123"));
    }

    /// Matomo stores `http_build_query($request->getRawParams())`: the
    /// parameters in the order sent (a repeated one in its first place,
    /// with its last value), without the `Referer` fallback `url`.
    #[test]
    fn parameters_are_stored_in_the_order_sent() {
        let query = "rec=1&idsite=7&action_name=A+b&cip=1.2.3.4&rec=2&_id=0123456789abcdef";
        let mut raw = RawParams::from_query(query);
        raw.apply_referer_header_fallback(Some("https://from.example/header"));
        let mut f = Failure::new(&raw, None, 7, NOT_AUTHENTICATED).expect("recorded");
        f.keep_sent_order(&crate::params::sent_names(query));
        assert_eq!(
            f.request_url,
            "rec=2&idsite=7&action_name=A+b&cip=1.2.3.4&_id=0123456789abcdef"
        );
    }

    /// A bulk's `token_auth` is the request's token (`getTokenAuth`): a
    /// parameter repeating it is hidden, whatever its shape.
    #[test]
    fn a_parameter_equal_to_the_bulk_token_is_hidden() {
        let raw = RawParams::from_query("idsite=7&rec=1&uid=not-hex-secret");
        let f = Failure::new(&raw, Some("not-hex-secret"), 7, NOT_AUTHENTICATED).expect("recorded");
        assert_eq!(f.request_url, "idsite=7&rec=1&uid=__TOKEN_AUTH__");
    }

    #[test]
    fn huge_site_ids_are_not_recorded() {
        let raw = RawParams::from_query("idsite=10000000");
        assert!(Failure::new(&raw, None, 10_000_000, INVALID_SITE).is_none());
        assert!(Failure::new(&raw, None, 9_999_999, INVALID_SITE).is_some());
    }
}
