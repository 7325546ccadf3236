use diesel::ConnectionError;

/// Errors from the database layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The server could not be reached, or refused the credentials.
    #[error("cannot connect to the database at {url}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// What the client library reported.
        #[source]
        source: ConnectionError,
    },
    /// The connection pool could not be built or gave no connection in time.
    #[error("no database connection from the pool for {url}")]
    Pool {
        /// The URL, password redacted.
        url: String,
        /// What r2d2 reported.
        #[source]
        source: diesel::r2d2::PoolError,
    },
    /// A database URL we cannot use.
    #[error("invalid database url `{url}`: {reason}")]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Applying or listing migrations failed.
    #[error("migration failed: {message}")]
    Migration {
        /// The migration harness's message (its error type is not `Send + Sync` friendly).
        message: String,
    },
    /// A year/month outside what archive tables can be named for.
    #[error("no archive table for {year:04}-{month:02} (years {min}..={max}, months 1..=12)", min = crate::ArchiveMonth::MIN_YEAR, max = crate::ArchiveMonth::MAX_YEAR)]
    InvalidArchiveMonth {
        /// The year asked for.
        year: i32,
        /// The month asked for.
        month: u8,
    },
    /// A query failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}
