//! Visitor location: the `location_country`, `location_region`,
//! `location_city`, `location_latitude` and `location_longitude` of a new
//! visit (MATOMO.md §2.5).
//!
//! Matomo asks its configured location provider and falls back to the
//! default provider, which guesses the country from the browser language
//! (`UserCountry`'s `VisitorGeolocator`, `DefaultProvider`). Here the
//! provider is an optional [`GeoIp`] database: a MaxMind GeoIP2/GeoLite2
//! City or Country file, or a DB-IP "lite" file (same format), opened once
//! when the tracker starts and shared by every request. [`locate`] gives
//! the database's answer when the address is in it, else the country of
//! the browser language ([`language_country`]). Authenticated `country`,
//! `region`, `city`, `lat` and `long` parameters override it field by
//! field; that is done by the caller ([`crate::hit::build_hit`]).

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::TrackingError;
use crate::php;

/// A MaxMind DB (`.mmdb`) file held in memory, looked up without copying.
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.reader.metadata();
        f.debug_struct("GeoIp")
            .field("database_type", &m.database_type)
            .field("ip_version", &m.ip_version)
            .field("node_count", &m.node_count)
            .finish_non_exhaustive()
    }
}

impl GeoIp {
    /// Reads the database at `path` into memory.
    ///
    /// # Errors
    /// [`TrackingError::GeoIp`] naming `path` when the file cannot be read
    /// or is not a MaxMind DB file (no metadata, bad search tree, or a
    /// record that cannot be decoded).
    pub fn open(path: &str) -> Result<Self, TrackingError> {
        let err = |source| TrackingError::GeoIp {
            path: path.to_owned(),
            source: Box::new(source),
        };
        let reader = maxminddb::Reader::open_readfile(path).map_err(err)?;
        let db = Self { reader };
        db.probe().map_err(err)?;
        Ok(db)
    }

    /// A database from the bytes of an `.mmdb` file (tests, embedding).
    ///
    /// # Errors
    /// The reader's error when the bytes are not a MaxMind DB.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, maxminddb::MaxMindDbError> {
        let db = Self {
            reader: maxminddb::Reader::from_source(bytes)?,
        };
        db.probe()?;
        Ok(db)
    }

    /// The `database_type` of the metadata, e.g. `GeoLite2-City` or
    /// `DBIP-City-Lite`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Walks the tree and decodes the records of a few addresses, so that a
    /// damaged file fails at startup rather than on every request.
    fn probe(&self) -> Result<(), maxminddb::MaxMindDbError> {
        let mut probes = vec![IpAddr::from([1, 1, 1, 1]), IpAddr::from([81, 0, 0, 1])];
        if self.reader.metadata().ip_version == 6 {
            probes.push(IpAddr::from([0x2a00, 0x1450, 0, 0, 0, 0, 0, 1]));
        }
        for ip in probes {
            self.reader.lookup(ip)?.decode::<Record<'_>>()?;
        }
        Ok(())
    }

    /// What the database holds for `ip`; `None` when the address is not in
    /// it (or its record is not a GeoIP2 City/Country record).
    ///
    /// Borrows the strings from the database: nothing is allocated.
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoRecord<'_>> {
        // IPv4-mapped IPv6 addresses are IPv4 visitors; GeoIP2 databases
        // alias ::ffff:0:0/96 to the IPv4 tree, but not every file does.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let found = self
            .reader
            .lookup(ip)
            .and_then(|r| r.decode::<Record<'_>>());
        let record = match found {
            Ok(record) => record?,
            Err(error) => {
                // An IPv6 address in an IPv4 database, or a damaged record:
                // the visit is located as if the address were not listed.
                tracing::debug!(%ip, %error, "geoip lookup failed");
                return None;
            }
        };
        let country = record.country.and_then(|c| c.iso_code);
        // Matomo (`GeoIp2\Php::determinSubdivision`) takes the largest
        // subdivision, except in Great Britain where the smallest one is
        // meaningful (England, then Oxfordshire).
        let subdivision = if country.is_some_and(|c| c.eq_ignore_ascii_case("GB")) {
            record.subdivisions.last
        } else {
            record.subdivisions.first
        };
        Some(GeoRecord {
            country,
            region: subdivision.and_then(|s| s.iso_code),
            city: record.city.and_then(|c| c.names.en),
            latitude: record.location.and_then(|l| l.latitude),
            longitude: record.location.and_then(|l| l.longitude),
        })
    }
}

/// What a database says about one address, as stored in the database
/// (borrowed from it).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GeoRecord<'a> {
    /// `country.iso_code`: ISO 3166-1 alpha-2, upper case (`FR`).
    pub country: Option<&'a str>,
    /// `iso_code` of the subdivision Matomo uses: ISO 3166-2 without the
    /// country (`IDF` for FR-IDF); some files include the prefix.
    pub region: Option<&'a str>,
    /// `city.names.en`.
    pub city: Option<&'a str>,
    /// `location.latitude`.
    pub latitude: Option<f64>,
    /// `location.longitude`.
    pub longitude: Option<f64>,
}

/// A visit's location as the `log_visit` columns store it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    /// `location_country`: lower-case ISO code; `None` is stored as `xx`.
    pub country: Option<String>,
    /// `location_region`: the subdivision code without the country prefix,
    /// upper case, at most 3 characters.
    pub region: Option<String>,
    /// `location_city`: the English name, at most 255 characters.
    pub city: Option<String>,
    /// `location_latitude`, rounded to 3 decimals as Matomo does.
    pub latitude: Option<f64>,
    /// `location_longitude`, rounded to 3 decimals.
    pub longitude: Option<f64>,
}

impl From<GeoRecord<'_>> for Location {
    fn from(r: GeoRecord<'_>) -> Self {
        let country = r
            .country
            .map(php::trim)
            .filter(|c| !c.is_empty())
            .map(|c| php::truncate_chars(c, 3).to_ascii_lowercase());
        // Some files store the full ISO 3166-2 code ("AE-DU"); Matomo strips
        // the country (matomo-org/matomo#19323).
        let region = r
            .region
            .map(php::trim)
            .map(|code| {
                let country = r.country.map(php::trim).unwrap_or_default();
                let prefixed = !country.is_empty()
                    && code.as_bytes().get(country.len()) == Some(&b'-')
                    && code
                        .get(..country.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(country));
                match code.get(country.len() + 1..) {
                    Some(rest) if prefixed => rest,
                    _ => code,
                }
            })
            .filter(|code| !code.is_empty())
            .map(|code| php::truncate_chars(code, 3).to_ascii_uppercase());
        let city = r
            .city
            .filter(|c| !c.is_empty())
            .map(|c| php::truncate_chars(c, 255).to_owned());
        Self {
            country,
            region,
            city,
            latitude: r.latitude.and_then(coordinate),
            longitude: r.longitude.and_then(coordinate),
        }
    }
}

/// Matomo rounds provider coordinates to 3 decimals
/// (`LocationProvider::GEOGRAPHIC_COORD_PRECISION`).
fn coordinate(v: f64) -> Option<f64> {
    v.is_finite().then(|| (v * 1000.0).round() / 1000.0)
}

/// The location of a new visit from `ip` (the full or anonymised address,
/// see [`crate::site::Privacy`]) and `browser_lang` (the `lang` parameter
/// as sent, or the normalised `Accept-Language`).
///
/// An address found in the database gives the database's location; its
/// country may be missing (stored as `xx`), as in Matomo, where a found
/// address never falls back to the language. An address the database does
/// not list, or no database, gives only the country of the language.
pub fn locate(geoip: Option<&GeoIp>, ip: Option<IpAddr>, browser_lang: &str) -> Location {
    if let (Some(db), Some(ip)) = (geoip, ip.filter(|ip| !ip.is_unspecified()))
        && let Some(record) = db.lookup(ip)
    {
        return record.into();
    }
    Location {
        country: language_country(browser_lang).map(str::to_owned),
        ..Location::default()
    }
}

/// The country Matomo's default provider guesses from a browser language
/// (`Common::getCountry` with `enable_language_to_country_guess = 1`):
/// the country of a bare first language that is safe to guess (`fr` or
/// `fr,en` is France; `en` and `zh` are not guessed), else the first
/// `-xx` region that is a country (`en-gb` is Great Britain). `None`
/// (stored as `xx`) when there is neither.
pub fn language_country(browser_lang: &str) -> Option<&'static str> {
    if browser_lang.len() < 2 || browser_lang == "xx" {
        return None;
    }
    let bytes = browser_lang.as_bytes();
    let letters = bytes.iter().take_while(|b| b.is_ascii_lowercase()).count();
    if (2..=3).contains(&letters) && matches!(bytes.get(letters), None | Some(b',' | b';')) {
        let language = &browser_lang[..letters];
        if let Some(country) = tally_schema::lang::guessed_country(language) {
            return Some(country);
        }
    }
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'-')
        .filter_map(|(at, _)| bytes.get(at + 1..at + 3))
        .filter(|pair| pair.iter().all(u8::is_ascii_lowercase))
        .find_map(country_code)
}

/// The 249 ISO 3166-1 alpha-2 country codes, sorted, two letters each
/// (Matomo's list of valid countries: `xk` and its other internal codes
/// are not in it).
const COUNTRY_CODES: &str = "\
adaeafagaialamaoaqarasatauawaxazbabbbdbebfbgbhbibjblbmbnbobqbrbsbtbvbwbybz\
cacccdcfcgchcickclcmcncocrcucvcwcxcyczdedjdkdmdodzeceeegeheresetfifjfkfmfo\
frgagbgdgegfggghgiglgmgngpgqgrgsgtgugwgyhkhmhnhrhthuidieiliminioiqirisitje\
jmjojpkekgkhkikmknkpkrkwkykzlalblclilklrlsltlulvlymamcmdmemfmgmhmkmlmmmnmo\
mpmqmrmsmtmumvmwmxmymznancnenfngninlnonpnrnunzompapepfpgphpkplpmpnprpsptpw\
pyqarerorsrurwsasbscsdsesgshsisjskslsmsnsosrssstsvsxsysztctdtftgthtjtktltm\
tntotrtttvtwtzuaugumusuyuzvavcvevgvivnvuwfwsyeytzazmzw";

/// The code as a `&'static str` when `pair` is a country.
fn country_code(pair: &[u8]) -> Option<&'static str> {
    let codes = COUNTRY_CODES.as_bytes();
    let count = codes.len() / 2;
    let (mut lo, mut hi) = (0, count);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match codes[mid * 2..mid * 2 + 2].cmp(pair) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return COUNTRY_CODES.get(mid * 2..mid * 2 + 2),
        }
    }
    None
}

/// The part of a GeoIP2 City/Country record the tracker stores; every
/// other field is skipped without being decoded.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow, default)]
    subdivisions: Subdivisions<'a>,
    #[serde(borrow)]
    city: Option<Named<'a>>,
    location: Option<Coordinates>,
}

#[derive(Deserialize, Clone, Copy)]
struct IsoCode<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    names: Names<'a>,
}

#[derive(Deserialize, Default)]
struct Names<'a> {
    #[serde(borrow)]
    en: Option<&'a str>,
}

#[derive(Deserialize, Clone, Copy)]
struct Coordinates {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// The first and last entries of `subdivisions` (largest to smallest),
/// kept without collecting the list.
#[derive(Default)]
struct Subdivisions<'a> {
    first: Option<IsoCode<'a>>,
    last: Option<IsoCode<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Subdivisions<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ends<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Ends<'a> {
            type Value = Subdivisions<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of subdivisions")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Subdivisions::default();
                // GeoIP2 lists at most a few levels; a longer list is
                // skipped rather than walked.
                for _ in 0..16 {
                    let Some(s) = seq.next_element::<IsoCode<'a>>()? else {
                        return Ok(out);
                    };
                    out.first.get_or_insert(s);
                    out.last = Some(s);
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(out)
            }
        }
        deserializer.deserialize_seq(Ends(std::marker::PhantomData))
    }
}

#[cfg(test)]
#[path = "../tests/support/mmdb.rs"]
mod mmdb;

#[cfg(test)]
mod tests {
    use super::mmdb::{Network, Value, city_record, write_database};
    use super::*;

    fn database(record_size: u16) -> GeoIp {
        let networks = vec![
            Network::v4(
                [203, 0, 113, 0],
                24,
                city_record("FR", &["IDF"], "Paris", 48.8566, 2.3522),
            ),
            Network::v4(
                [198, 51, 100, 0],
                24,
                city_record("US", &["US-CA"], "Los Angeles", 34.0522, -118.2437),
            ),
            Network::v4(
                [192, 0, 2, 0],
                25,
                city_record("GB", &["ENG", "OXF"], "Oxford", 51.75, -1.25),
            ),
            Network::v4(
                [192, 0, 2, 128],
                25,
                Value::map([("continent", Value::map([("code", Value::Str("EU".into()))]))]),
            ),
            Network::v6(
                [0x2001, 0xdb8, 0x42, 0, 0, 0, 0, 0],
                48,
                Value::map([
                    (
                        "country",
                        Value::map([
                            ("geoname_id", Value::U32(2_921_044)),
                            ("iso_code", Value::Str("DE".into())),
                        ]),
                    ),
                    (
                        "registered_country",
                        Value::map([("iso_code", Value::Str("DE".into()))]),
                    ),
                ]),
            ),
        ];
        let bytes = write_database(&networks, record_size, "GeoLite2-City");
        GeoIp::from_bytes(bytes).expect("the test database opens")
    }

    fn located(db: &GeoIp, ip: &str) -> Location {
        locate(Some(db), Some(ip.parse().unwrap()), "")
    }

    #[test]
    fn city_records_become_columns() {
        for size in [24, 28] {
            let db = database(size);
            // The writer follows the format: the reader's full check passes.
            db.reader.verify().unwrap();
            assert_eq!(db.database_type(), "GeoLite2-City");
            assert_eq!(
                located(&db, "203.0.113.77"),
                Location {
                    country: Some("fr".into()),
                    region: Some("IDF".into()),
                    city: Some("Paris".into()),
                    latitude: Some(48.857),
                    longitude: Some(2.352),
                },
                "record size {size}"
            );
            // The "US-" prefix is stripped.
            let la = located(&db, "198.51.100.1");
            assert_eq!(la.country.as_deref(), Some("us"));
            assert_eq!(la.region.as_deref(), Some("CA"));
            assert_eq!(la.longitude, Some(-118.244));
            // IPv4-mapped IPv6 is the IPv4 visitor.
            assert_eq!(located(&db, "::ffff:198.51.100.1"), la);
            // Great Britain: the smallest subdivision.
            assert_eq!(
                located(&db, "192.0.2.5").region.as_deref(),
                Some("OXF"),
                "record size {size}"
            );
            let de = located(&db, "2001:db8:42:1::9");
            assert_eq!(de.country.as_deref(), Some("de"));
            assert_eq!((de.region, de.city, de.latitude), (None, None, None));
        }
    }

    #[test]
    fn found_without_country_is_unknown_not_the_language() {
        let db = database(24);
        // Listed (continent only): Matomo keeps `xx` and does not guess.
        assert_eq!(
            locate(Some(&db), Some("192.0.2.200".parse().unwrap()), "fr"),
            Location::default()
        );
        // Not listed: the language decides.
        assert_eq!(
            locate(Some(&db), Some("100.64.0.1".parse().unwrap()), "fr").country,
            Some("fr".into())
        );
        assert_eq!(
            locate(
                Some(&db),
                Some("2001:db8:43::1".parse().unwrap()),
                "de-at,de"
            )
            .country,
            Some("at".into())
        );
        assert_eq!(locate(None, None, "ja").country, Some("jp".into()));
        assert!(db.lookup("0.0.0.0".parse().unwrap()).is_none());
    }

    #[test]
    fn records_are_cleaned_up_for_the_columns() {
        let loc = |country, region| {
            Location::from(GeoRecord {
                country,
                region,
                ..GeoRecord::default()
            })
        };
        assert_eq!(
            loc(Some("FR"), Some("fr-idf")).region.as_deref(),
            Some("IDF")
        );
        assert_eq!(loc(Some("AE"), Some("AE-DU")).region.as_deref(), Some("DU"));
        // Only the record's own country is a prefix.
        assert_eq!(
            loc(Some("FR"), Some("US-CA")).region.as_deref(),
            Some("US-")
        );
        assert_eq!(loc(None, Some("13")).region.as_deref(), Some("13"));
        assert_eq!(loc(Some("FR"), Some("FR-")).region, None);
        assert_eq!(loc(Some(""), Some("")), Location::default());
        let rounded = Location::from(GeoRecord {
            latitude: Some(-33.86785),
            longitude: Some(f64::NAN),
            ..GeoRecord::default()
        });
        assert_eq!((rounded.latitude, rounded.longitude), (Some(-33.868), None));
    }

    #[test]
    fn language_guesses_like_matomo() {
        for (lang, country) in [
            ("fr", Some("fr")),
            ("fr,en", Some("fr")),
            ("fr;q=0.8", Some("fr")),
            ("fr-ca", Some("ca")),
            ("en", None),
            ("en-us,en", Some("us")),
            ("en-gb", Some("gb")),
            ("zh-hant-tw", Some("tw")),
            ("en-xk", None),
            ("es-419", None),
            ("ja", Some("jp")),
            ("sl", Some("si")),
            ("EN-US", None),
            ("xx", None),
            ("", None),
            ("e", None),
        ] {
            assert_eq!(language_country(lang), country, "for {lang:?}");
        }
    }

    #[test]
    fn country_list_is_sorted_and_complete() {
        let codes = COUNTRY_CODES.as_bytes();
        assert_eq!(codes.len(), 249 * 2);
        assert!(
            codes
                .chunks(2)
                .all(|c| c.iter().all(u8::is_ascii_lowercase))
        );
        assert!(
            codes
                .chunks(2)
                .zip(codes.chunks(2).skip(1))
                .all(|(a, b)| a < b)
        );
        for cc in ["ad", "fr", "us", "zw", "gb", "tw"] {
            assert_eq!(country_code(cc.as_bytes()), Some(cc));
        }
        assert_eq!(country_code(b"xk"), None);
        assert_eq!(country_code(b"uk"), None);
    }

    #[test]
    fn missing_or_corrupt_files_are_errors_naming_the_path() {
        let dir = std::env::temp_dir().join(format!("tally-geoip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.mmdb");
        let corrupt = dir.join("corrupt.mmdb");
        std::fs::write(&corrupt, b"this is not a MaxMind database").unwrap();
        // Valid metadata, but the search tree points past the data.
        let mut truncated = write_database(
            &[Network::v4(
                [203, 0, 113, 0],
                24,
                city_record("FR", &[], "Paris", 1.0, 2.0),
            )],
            24,
            "GeoLite2-City",
        );
        let damaged = dir.join("damaged.mmdb");
        for b in truncated.iter_mut().take(6 * 97) {
            *b = 0xff;
        }
        std::fs::write(&damaged, &truncated).unwrap();
        for path in [&missing, &corrupt, &damaged] {
            let path = path.to_str().unwrap();
            let err = GeoIp::open(path).expect_err(path);
            let text = err.to_string();
            assert!(text.contains(path), "{text}");
            let source = std::error::Error::source(&err).expect("the reader's error");
            assert!(!source.to_string().is_empty());
        }
        let err = GeoIp::open(corrupt.to_str().unwrap()).unwrap_err();
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("metadata"),
            "{err:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
