//! A minimal MaxMind DB (`.mmdb`) writer for tests: no database can be
//! downloaded in CI, so tests build their own.
//!
//! Follows the MaxMind DB File Format Specification 2.0: an IPv6 search
//! tree (IPv4 networks live under `::/96`), 16 zero bytes, the data
//! section, then `\xab\xcd\xefMaxMind.com` and the metadata map. Records
//! are 24 or 28 bits. Values are written in place (no pointers, no
//! deduplication). Used by the `geoip` unit tests (through `#[path]`) and
//! by `tests/geoip.rs`, each of which uses a part of it.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};

/// A value of the data section.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// UTF-8 string (type 2).
    Str(String),
    /// IEEE 754 double (type 3).
    Double(f64),
    /// Unsigned 16-bit integer (type 5).
    U16(u16),
    /// Unsigned 32-bit integer (type 6).
    U32(u32),
    /// Unsigned 64-bit integer (extended type 9).
    U64(u64),
    /// Map with string keys (type 7).
    Map(Vec<(String, Value)>),
    /// Array (extended type 11).
    Array(Vec<Value>),
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub(crate) fn map<const N: usize>(pairs: [(&str, Value); N]) -> Self {
        Self::Map(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Str(s) => {
                control(out, 2, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            Self::Double(d) => {
                control(out, 3, 8);
                out.extend_from_slice(&d.to_be_bytes());
            }
            Self::U16(n) => unsigned(out, 5, u64::from(*n)),
            Self::U32(n) => unsigned(out, 6, u64::from(*n)),
            Self::U64(n) => unsigned(out, 9, *n),
            Self::Map(pairs) => {
                control(out, 7, pairs.len());
                for (k, v) in pairs {
                    Self::Str(k.clone()).encode(out);
                    v.encode(out);
                }
            }
            Self::Array(items) => {
                control(out, 11, items.len());
                for v in items {
                    v.encode(out);
                }
            }
        }
    }
}

/// An unsigned integer in as few big-endian bytes as it needs.
fn unsigned(out: &mut Vec<u8>, type_number: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, type_number, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

/// The control byte (type in the top 3 bits, size in the low 5), the
/// extended type byte for types above 7, then the size's extra bytes.
fn control(out: &mut Vec<u8>, type_number: u8, size: usize) {
    let (size_bits, extra): (u8, Vec<u8>) = match size {
        0..29 => (size as u8, Vec::new()),
        29..285 => (29, vec![(size - 29) as u8]),
        285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if type_number <= 7 {
        out.push((type_number << 5) | size_bits);
    } else {
        out.push(size_bits);
        out.push(type_number - 7);
    }
    out.extend_from_slice(&extra);
}

/// A network and its record.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    /// The address as 128 bits (IPv4 under `::/96`).
    bits: u128,
    /// Prefix length in the IPv6 tree.
    prefix: u8,
    /// The record.
    value: Value,
}

impl Network {
    /// An IPv4 network, e.g. `v4([203, 0, 113, 0], 24, …)`.
    pub(crate) fn v4(addr: [u8; 4], prefix: u8, value: Value) -> Self {
        assert!(prefix <= 32);
        Self {
            bits: u128::from(u32::from(Ipv4Addr::from(addr))),
            prefix: 96 + prefix,
            value,
        }
    }

    /// An IPv6 network from its eight 16-bit groups.
    pub(crate) fn v6(groups: [u16; 8], prefix: u8, value: Value) -> Self {
        assert!(prefix <= 128);
        Self {
            bits: u128::from(Ipv6Addr::from(groups)),
            prefix,
            value,
        }
    }
}

/// A GeoIP2 City record: country, subdivisions (largest first), English
/// city name and coordinates, plus a few fields the tracker skips.
pub(crate) fn city_record(
    country: &str,
    subdivisions: &[&str],
    city: &str,
    latitude: f64,
    longitude: f64,
) -> Value {
    let names = |name: &str| {
        Value::map([
            ("de", Value::Str(format!("{name} (de)"))),
            ("en", Value::Str(name.to_owned())),
        ])
    };
    Value::map([
        (
            "city",
            Value::map([
                ("geoname_id", Value::U32(2_988_507)),
                ("names", names(city)),
            ]),
        ),
        (
            "continent",
            Value::map([
                ("code", Value::Str("EU".into())),
                ("names", names("Europe")),
            ]),
        ),
        (
            "country",
            Value::map([
                ("iso_code", Value::Str(country.to_owned())),
                ("names", names(country)),
            ]),
        ),
        (
            "location",
            Value::map([
                ("accuracy_radius", Value::U16(20)),
                ("latitude", Value::Double(latitude)),
                ("longitude", Value::Double(longitude)),
                ("time_zone", Value::Str("Europe/Paris".into())),
            ]),
        ),
        (
            "subdivisions",
            Value::Array(
                subdivisions
                    .iter()
                    .map(|code| {
                        Value::map([
                            ("iso_code", Value::Str((*code).to_owned())),
                            ("names", names(code)),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

/// A record slot of the tree while it is built.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Empty,
    Node(usize),
    Data(usize),
}

/// The bytes of a database holding `networks` (which must not overlap).
pub(crate) fn write_database(
    networks: &[Network],
    record_size: u16,
    database_type: &str,
) -> Vec<u8> {
    assert!(matches!(record_size, 24 | 28), "24 or 28 bits");
    let mut data = Vec::new();
    let mut nodes: Vec<[Slot; 2]> = vec![[Slot::Empty; 2]];
    for net in networks {
        assert!(net.prefix >= 1);
        let offset = data.len();
        net.value.encode(&mut data);
        let mut node = 0;
        for depth in 0..net.prefix {
            let bit = ((net.bits >> (127 - depth)) & 1) as usize;
            if depth + 1 == net.prefix {
                assert!(
                    matches!(nodes[node][bit], Slot::Empty),
                    "overlapping networks"
                );
                nodes[node][bit] = Slot::Data(offset);
            } else {
                node = match nodes[node][bit] {
                    Slot::Node(next) => next,
                    Slot::Empty => {
                        nodes.push([Slot::Empty; 2]);
                        let next = nodes.len() - 1;
                        nodes[node][bit] = Slot::Node(next);
                        next
                    }
                    Slot::Data(_) => panic!("overlapping networks"),
                };
            }
        }
    }
    let node_count = nodes.len();
    let record = |slot: Slot| -> u32 {
        let n = match slot {
            Slot::Empty => node_count,
            Slot::Node(i) => i,
            Slot::Data(offset) => node_count + 16 + offset,
        };
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        assert!(n < 1 << record_size, "record does not fit");
        n
    };
    let mut out = Vec::new();
    for [left, right] in nodes {
        let (l, r) = (record(left), record(right));
        match record_size {
            24 => {
                out.extend_from_slice(&l.to_be_bytes()[1..]);
                out.extend_from_slice(&r.to_be_bytes()[1..]);
            }
            _ => {
                // 28 bits: the middle byte holds the high nibble of each.
                out.extend_from_slice(&l.to_be_bytes()[1..]);
                out.push((((l >> 24) & 0x0f) << 4) as u8 | ((r >> 24) & 0x0f) as u8);
                out.extend_from_slice(&r.to_be_bytes()[1..]);
            }
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
    Value::map([
        ("binary_format_major_version", Value::U16(2)),
        ("binary_format_minor_version", Value::U16(0)),
        ("build_epoch", Value::U64(1_700_000_000)),
        ("database_type", Value::Str(database_type.to_owned())),
        (
            "description",
            Value::map([("en", Value::Str("Tally test database".into()))]),
        ),
        ("ip_version", Value::U16(6)),
        ("languages", Value::Array(vec![Value::Str("en".into())])),
        ("node_count", Value::U32(node_count as u32)),
        ("record_size", Value::U16(record_size)),
    ])
    .encode(&mut out);
    out
}
