//! The tracker core: Matomo's Tracking HTTP API into the log tables.
//!
//! - [`action_hash`]: the CRC32 of an action name, as stored in
//!   `log_action.hash` (equal to MySQL's `CRC32()`).
//! - [`actions::resolve_actions`]: batched `log_action` lookup and insert.
//! - [`http::router`]: an axum `Router` serving `/matomo.php` and
//!   `/piwik.php`, for `tally-tracker serve` or for embedding in another
//!   service.
//! - [`geoip::GeoIp`]: visitor location from a MaxMind/DB-IP `.mmdb` file,
//!   with the browser language as fallback ([`geoip::locate`]).
//!
//! - [`params`], [`hit`], [`visit`] and [`recorder`]: request parsing,
//!   enrichment, visit recognition and the batching recorder that writes
//!   hits to the log tables.
#![deny(missing_docs)]

pub mod actions;
pub mod bots;
pub mod campaign;
pub mod charset;
pub mod client_hints;
pub mod content_encoding;
pub mod device;
pub mod dimensions;
pub mod exclude;
pub mod failures;
pub mod geoip;
pub mod hit;
pub mod http;
pub mod load;
mod memo;
pub mod params;
pub mod php;
pub mod recorder;
pub mod referrer;
pub mod server;
pub mod site;
pub mod sql;
/// Site time zones live in `tally-schema` (the archiver needs them too).
pub use tally_schema::tz;
pub mod urlnorm;
pub mod visit;

/// The hasher of the maps on the per-hit path (visit cache, a batch's
/// visits, names, memos): foldhash, seeded at random per map, in place of
/// std's SipHash, which was 11,000 instructions a log import line
/// (callgrind). The same choice as the request parameter map's
/// ([`params::RawParams`]), whose keys clients send as well.
type FastHasher = foldhash::fast::RandomState;
/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, FastHasher>;
/// A `HashSet` with [`FastHasher`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, FastHasher>;

/// Errors from tracking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackingError {
    /// A request parameter that cannot be used (answered with HTTP 400).
    #[error("invalid tracking parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A parameter that needs a `token_auth` with write access was sent
    /// without one (answered with HTTP 400, MATOMO.md §1.5).
    #[error("the parameter `{name}` requires a token_auth with write access to the site")]
    NotAuthenticated {
        /// The parameter.
        name: String,
    },
    /// `idsite` names no site.
    #[error("invalid idsite: site {idsite} does not exist")]
    UnknownSite {
        /// The id sent.
        idsite: u32,
    },
    /// A manual conversion of a goal the site does not have.
    #[error("idGoal {idgoal} does not exist")]
    UnknownGoal {
        /// The goal id sent.
        idgoal: i64,
    },
    /// A `ca=1` ("custom action") request that no action type claims: it was
    /// meant for a plugin we do not have (Matomo's `Action::factory` throws
    /// and answers 500; we answer 400, as for any request we cannot use;
    /// nothing is stored either way).
    #[error(
        "Request was meant for a plugin which is no longer activated. Request needs to be ignored."
    )]
    UnhandledCustomAction,
    /// An ecommerce order id already recorded for the site.
    #[error("Invalid non-unique idsite/idorder combination ({idorder})")]
    DuplicateOrder {
        /// The order id.
        idorder: String,
    },
    /// A request body that cannot be read: a `Content-Encoding` we do not
    /// decode, or data that does not decode (answered with HTTP 400).
    #[error("the request body cannot be read: {reason}")]
    Body {
        /// What is wrong.
        reason: String,
    },
    /// A compressed request body larger than the limit once decompressed
    /// (answered with HTTP 413, as a plain body over the limit is).
    #[error("the request body is larger than {limit} bytes once decompressed")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The recorder cannot take the request (queue full, database down).
    #[error("the tracker cannot record requests right now")]
    Unavailable,
    /// A configuration value that cannot be used.
    #[error("tracker configuration: {what}")]
    Config {
        /// What is wrong.
        what: String,
    },
    /// The GeoIP database cannot be read or is not a MaxMind DB file.
    #[error("cannot use the GeoIP database {path}")]
    GeoIp {
        /// The configured `geoip_database`.
        path: String,
        /// The reader's error (boxed: it is large, and every tracking
        /// result carries this enum).
        #[source]
        source: Box<maxminddb::MaxMindDbError>,
    },
    /// The listener could not be bound or failed.
    #[error("cannot serve on {addr}")]
    Serve {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A database error.
    #[error(transparent)]
    Db(#[from] tally_db::DbError),
}

/// The `log_action.hash` of an action name: CRC32 (IEEE) of its UTF-8 bytes,
/// the same value as MySQL's `CRC32(name)`.
///
/// ```
/// assert_eq!(tally_tracking::action_hash("123456789"), 0xCBF4_3926);
/// ```
pub fn action_hash(name: &str) -> u32 {
    crc32fast::hash(name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_values() {
        // Check values of the IEEE polynomial (also MySQL's CRC32('...')).
        assert_eq!(action_hash("123456789"), 0xCBF4_3926);
        assert_eq!(
            action_hash("The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
        assert_eq!(action_hash(""), 0);
    }
}
