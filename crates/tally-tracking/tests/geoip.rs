//! GeoIP end to end: a tracker started with a generated `.mmdb` file
//! (`[tracker] geoip_database`), real HTTP requests, and the `log_visit`
//! location columns asserted in MariaDB (issue 3, "Devices, language,
//! location"; MATOMO.md §1.4, §2.5, §10.4).

use std::net::SocketAddr;

use diesel::prelude::*;
use tally_db::test_support::TestDb;
use tally_schema::Coordinate;
use tally_schema::schema::log_visit;
use tally_tracking::TrackingError;
use tally_tracking::http::{Tracker, TrackerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "support/mmdb.rs"]
mod mmdb;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/serve.rs"]
mod serve;

use mmdb::{Network, Value, city_record, write_database};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

/// The test database:
/// - 203.0.113.0/24: Paris, Île-de-France (`IDF`), France;
/// - 203.0.0.0/24 (what 203.0.113.x becomes with 2 bytes anonymised):
///   Madrid, Spain;
/// - 198.51.100.0/24: Los Angeles, California (stored as `US-CA`);
/// - 2001:db8:42::/48: Tokyo, Japan;
/// - 192.0.2.128/25: listed without a country (continent only).
fn database_file(dir: &std::path::Path) -> anyhow::Result<String> {
    let bytes = write_database(
        &[
            Network::v4(
                [203, 0, 113, 0],
                24,
                city_record("FR", &["IDF"], "Paris", 48.8566, 2.3522),
            ),
            Network::v4(
                [203, 0, 0, 0],
                24,
                city_record("ES", &["MD"], "Madrid", 40.4168, -3.7038),
            ),
            Network::v4(
                [198, 51, 100, 0],
                24,
                city_record("US", &["US-CA"], "Los Angeles", 34.0522, -118.2437),
            ),
            Network::v6(
                [0x2001, 0xdb8, 0x42, 0, 0, 0, 0, 0],
                48,
                city_record("JP", &["13"], "Tokyo", 35.6895, 139.6917),
            ),
            Network::v4(
                [192, 0, 2, 128],
                25,
                Value::map([("continent", Value::map([("code", Value::Str("EU".into()))]))]),
            ),
        ],
        28,
        "GeoLite2-City",
    );
    let path = dir.join("test-city.mmdb");
    std::fs::write(&path, bytes)?;
    Ok(path.to_string_lossy().into_owned())
}

struct Server {
    addr: SocketAddr,
    db: TestDb,
    dir: std::path::PathBuf,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(db: &TestDb) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("tally-geoip-{}", db.name()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Site 1 with a write token; `useAnonymizedIpForVisitEnrichment` as given.
async fn start(anonymized_enrichment: bool) -> anyhow::Result<Server> {
    let db = TestDb::new()?;
    {
        let mut conn = db.conn()?;
        seed::site(
            &mut conn,
            "Shop",
            "https://shop.example",
            "2020-01-01 00:00:00",
            "EUR",
        )?;
        seed::super_user(&mut conn, "root", TOKEN)?;
        if anonymized_enrichment {
            diesel::sql_query(
                "INSERT INTO `option` (option_name, option_value, autoload) \
                 VALUES ('PrivacyManager.useAnonymizedIpForVisitEnrichment', '1', 1)",
            )
            .execute(&mut conn)?;
        }
    }
    let dir = temp_dir(&db)?;
    let config = TrackerConfig {
        proxy_client_headers: vec!["X-Forwarded-For".into()],
        geoip_database: Some(database_file(&dir)?),
        ..TrackerConfig::default()
    };
    let tracker = Tracker::start(db.pool()?, &config)?;
    let (addr, tx) = serve::serve(tracker).await?;
    Ok(Server {
        addr,
        db,
        dir,
        _shutdown: tx,
    })
}

/// The location columns of one visit.
type Row = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Coordinate>,
    Option<Coordinate>,
);

fn row(
    country: &str,
    region: Option<&str>,
    city: Option<&str>,
    lat_long: Option<(f64, f64)>,
) -> Row {
    (
        Some(country.to_owned()),
        region.map(str::to_owned),
        city.map(str::to_owned),
        lat_long.map(|l| Coordinate(l.0)),
        lat_long.map(|l| Coordinate(l.1)),
    )
}

impl Server {
    /// Tracks a page view of visitor `n` from `ip` (sent as the proxy
    /// header) with an optional `Accept-Language` and extra parameters.
    /// Visitors need distinct addresses: the same address and user agent
    /// is the same fingerprint, hence the same visit.
    async fn track(
        &self,
        n: u8,
        ip: &str,
        accept_language: Option<&str>,
        extra: &str,
    ) -> anyhow::Result<()> {
        let target = format!(
            "/matomo.php?idsite=1&rec=1&url=https%3A%2F%2Fshop.example%2F&_id={:016x}{extra}",
            0x2000_0000_0000_0000u64 + u64::from(n)
        );
        let mut req = format!(
            "GET {target} HTTP/1.1\r\nHost: tracker\r\nConnection: close\r\n\
             User-Agent: {UA}\r\nX-Forwarded-For: {ip}\r\n"
        );
        if let Some(lang) = accept_language {
            req.push_str(&format!("Accept-Language: {lang}\r\n"));
        }
        req.push_str("\r\n");
        let mut s = tokio::net::TcpStream::connect(self.addr).await?;
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        let head = String::from_utf8_lossy(&buf);
        anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "{target}: {head}");
        Ok(())
    }

    /// `location_ip` of visitor `n`'s visit.
    fn stored_ip(&self, n: u8) -> anyhow::Result<Vec<u8>> {
        let id = (0x2000_0000_0000_0000u64 + u64::from(n)).to_be_bytes();
        let mut conn = self.db.conn()?;
        Ok(log_visit::table
            .filter(log_visit::idvisitor.eq(&id[..]))
            .select(log_visit::location_ip)
            .first(&mut conn)?)
    }

    /// The location columns of visitor `n`'s visit.
    fn location(&self, n: u8) -> anyhow::Result<Row> {
        let id = (0x2000_0000_0000_0000u64 + u64::from(n)).to_be_bytes();
        let mut conn = self.db.conn()?;
        Ok(log_visit::table
            .filter(log_visit::idvisitor.eq(&id[..]))
            .select((
                log_visit::location_country,
                log_visit::location_region,
                log_visit::location_city,
                log_visit::location_latitude,
                log_visit::location_longitude,
            ))
            .first(&mut conn)?)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visits_are_located_from_the_full_ip() -> anyhow::Result<()> {
    let s = start(false).await?;
    s.track(1, "203.0.113.77", Some("de-de,de;q=0.9"), "")
        .await?;
    s.track(2, "198.51.100.20", None, "").await?;
    s.track(3, "2001:db8:42:7::1", Some("en-us"), "").await?;
    s.track(4, "::ffff:203.0.113.9", None, "").await?;
    // Not in the database: the country of the browser language.
    s.track(5, "192.0.2.33", Some("de-at,de;q=0.9"), "").await?;
    s.track(6, "192.0.2.34", Some("ja"), "").await?;
    s.track(7, "192.0.2.35", Some("en"), "").await?;
    s.track(8, "2001:db8:43::1", None, "").await?;
    // Listed without a country: unknown, the language is not consulted.
    s.track(9, "192.0.2.200", Some("fr"), "").await?;

    let paris = row("fr", Some("IDF"), Some("Paris"), Some((48.857, 2.352)));
    assert_eq!(s.location(1)?, paris, "Matomo rounds to 3 decimals");
    assert_eq!(
        s.location(2)?,
        row(
            "us",
            Some("CA"),
            Some("Los Angeles"),
            Some((34.052, -118.244))
        ),
        "the country prefix of the region is removed"
    );
    assert_eq!(
        s.location(3)?,
        row("jp", Some("13"), Some("Tokyo"), Some((35.69, 139.692)))
    );
    assert_eq!(s.location(4)?, paris, "IPv4-mapped IPv6");
    assert_eq!(s.location(5)?, row("at", None, None, None));
    assert_eq!(s.location(6)?, row("jp", None, None, None));
    assert_eq!(s.location(7)?, row("xx", None, None, None));
    assert_eq!(s.location(8)?, row("xx", None, None, None));
    assert_eq!(s.location(9)?, row("xx", None, None, None));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_parameters_override_the_database_field_by_field() -> anyhow::Result<()> {
    let s = start(false).await?;
    let token = format!("&token_auth={TOKEN}");
    // Country only: the rest still comes from the database.
    s.track(1, "203.0.113.77", None, &format!("&country=DE{token}"))
        .await?;
    // Everything: the database is not used.
    s.track(
        2,
        "203.0.113.78",
        None,
        &format!("&country=it&region=62&city=Roma&lat=41.9&long=12.5{token}"),
    )
    .await?;
    // `cip` is the address that is located.
    s.track(3, "192.0.2.1", None, &format!("&cip=198.51.100.7{token}"))
        .await?;
    // Overrides on an address that is not in the database.
    s.track(
        4,
        "192.0.2.2",
        Some("fr"),
        &format!("&city=Lyon&lat=45.76{token}"),
    )
    .await?;

    assert_eq!(
        s.location(1)?,
        row("de", Some("IDF"), Some("Paris"), Some((48.857, 2.352)))
    );
    assert_eq!(
        s.location(2)?,
        row("it", Some("62"), Some("Roma"), Some((41.9, 12.5)))
    );
    assert_eq!(s.location(3)?.2.as_deref(), Some("Los Angeles"));
    let lyon = s.location(4)?;
    assert_eq!(
        (lyon.0.as_deref(), lyon.2.as_deref(), lyon.3, lyon.4),
        (Some("fr"), Some("Lyon"), Some(Coordinate(45.76)), None)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymized_ip_is_located_when_the_privacy_option_is_on() -> anyhow::Result<()> {
    let s = start(true).await?;
    // 203.0.113.77 is stored (and now located) as 203.0.0.0: Madrid.
    s.track(1, "203.0.113.77", Some("fr"), "").await?;
    // 198.51.100.20 becomes 198.51.0.0, which is not listed: the language.
    s.track(2, "198.51.100.20", Some("fr-ch,fr"), "").await?;
    // IPv6 keeps 48 bits with 2 bytes of anonymisation: still Tokyo.
    s.track(3, "2001:db8:42:7::1", None, "").await?;
    assert_eq!(
        s.location(1)?,
        row("es", Some("MD"), Some("Madrid"), Some((40.417, -3.704)))
    );
    assert_eq!(s.location(2)?, row("ch", None, None, None));
    assert_eq!(s.location(3)?.2.as_deref(), Some("Tokyo"));
    Ok(())
}

/// Matomo keeps an IPv4-mapped IPv6 address in 16 bytes (`inet_pton`) and
/// masks its IPv4 tail (`IPv6::anonymize`, `AnonymizeIPTest`); located
/// through its IPv4 address, before or after masking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_mapped_addresses_are_stored_in_sixteen_bytes() -> anyhow::Result<()> {
    let mapped = |tail: [u8; 4]| {
        let mut v = vec![0u8; 10];
        v.extend([0xff, 0xff]);
        v.extend(tail);
        v
    };
    let s = start(true).await?;
    s.track(1, "::ffff:203.0.113.77", None, "").await?;
    s.track(2, "203.0.113.78", None, "").await?;
    let token = format!("&token_auth={TOKEN}");
    s.track(
        3,
        "192.0.2.1",
        None,
        &format!("&cip=%3A%3Affff%3A198.51.100.7{token}"),
    )
    .await?;
    assert_eq!(s.stored_ip(1)?, mapped([203, 0, 0, 0]));
    assert_eq!(s.stored_ip(2)?, vec![203, 0, 0, 0]);
    assert_eq!(s.stored_ip(3)?, mapped([198, 51, 0, 0]));
    // The masked mapped address is located as 203.0.0.0: Madrid.
    assert_eq!(
        s.location(1)?,
        row("es", Some("MD"), Some("Madrid"), Some((40.417, -3.704)))
    );
    Ok(())
}

#[test]
fn a_bad_database_path_stops_the_tracker_at_startup() -> anyhow::Result<()> {
    let db = TestDb::new()?;
    let dir = temp_dir(&db)?;
    let path = dir.join("not-there.mmdb").to_string_lossy().into_owned();
    let config = TrackerConfig {
        geoip_database: Some(path.clone()),
        ..TrackerConfig::default()
    };
    let err = Tracker::start(db.pool()?, &config).expect_err("missing database");
    assert!(matches!(&err, TrackingError::GeoIp { path: p, .. } if *p == path));
    assert!(err.to_string().contains(&path), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A visit keeps the location of its first request: a later hit of the
/// same visit from another address (or language) does not move it; only
/// token-authenticated parameters would (MATOMO.md §2.6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_keeps_the_location_of_its_first_request() -> anyhow::Result<()> {
    let s = start(false).await?;
    s.track(1, "203.0.113.77", None, "").await?;
    // Same visitor id, within 30 minutes: the same visit, now from Los
    // Angeles and with a German browser.
    s.track(1, "198.51.100.20", Some("de-de"), "&action_name=Second")
        .await?;
    let mut conn = s.db.conn()?;
    let visits: i64 = log_visit::table.count().get_result(&mut conn)?;
    assert_eq!(visits, 1, "one visit");
    assert_eq!(
        s.location(1)?,
        row("fr", Some("IDF"), Some("Paris"), Some((48.857, 2.352)))
    );
    Ok(())
}
