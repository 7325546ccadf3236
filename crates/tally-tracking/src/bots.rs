//! Addresses counted as bots whatever their user agent (MATOMO.md §1.6
//! step 1): crawler networks of Google, Microsoft's Bing and Yahoo, and
//! one address known for hammering sites, as Matomo's tracker lists them
//! (`VisitExcluded::getBotIpRanges`). The check runs on the request's full
//! address, before anonymization. A request relayed by Chrome's data saver
//! (`Via: … chrome-compression-proxy`) comes from Google's networks on a
//! person's behalf, so Google's ranges do not count for it.

use std::net::IpAddr;
use std::sync::OnceLock;

use crate::site::IpRange;

/// Google's crawler and proxy networks.
const GOOGLE: [&str; 10] = [
    "216.239.32.0/19",
    "64.233.160.0/19",
    "66.249.80.0/20",
    "72.14.192.0/18",
    "209.85.128.0/17",
    "66.102.0.0/20",
    "74.125.0.0/16",
    "64.18.0.0/20",
    "207.126.144.0/20",
    "173.194.0.0/16",
];

/// Bing/MSN, Yahoo, and the single address.
const OTHERS: [&str; 14] = [
    "64.4.0.0/18",
    "65.52.0.0/14",
    "157.54.0.0/15",
    "157.56.0.0/14",
    "157.60.0.0/16",
    "207.46.0.0/16",
    "207.68.128.0/18",
    "207.68.192.0/20",
    "131.253.26.0/20",
    "131.253.24.0/20",
    "72.30.198.0/20",
    "72.30.196.0/20",
    "98.137.207.0/20",
    "1.202.218.8",
];

fn ranges(list: &[&str]) -> Vec<IpRange> {
    list.iter().filter_map(|r| IpRange::parse(r)).collect()
}

/// Whether `ip` is a bot's address; `via_data_saver` when the request came
/// through Chrome's compression proxy.
pub fn is_bot_address(ip: IpAddr, via_data_saver: bool) -> bool {
    static GOOGLE_RANGES: OnceLock<Vec<IpRange>> = OnceLock::new();
    static OTHER_RANGES: OnceLock<Vec<IpRange>> = OnceLock::new();
    let google = GOOGLE_RANGES.get_or_init(|| ranges(&GOOGLE));
    let in_google = google.iter().any(|r| r.contains(ip));
    if via_data_saver && in_google {
        return false;
    }
    in_google
        || OTHER_RANGES
            .get_or_init(|| ranges(&OTHERS))
            .iter()
            .any(|r| r.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawler_networks_are_bots_unless_relayed_by_the_data_saver() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        assert!(is_bot_address(ip("66.249.80.1"), false));
        assert!(is_bot_address(ip("157.55.39.1"), false));
        assert!(is_bot_address(ip("72.30.200.9"), false));
        assert!(is_bot_address(ip("1.202.218.8"), false));
        assert!(is_bot_address(ip("::ffff:66.249.80.1"), false));
        assert!(!is_bot_address(ip("1.202.218.9"), false));
        assert!(!is_bot_address(ip("198.51.100.7"), false));
        assert!(!is_bot_address(ip("2001:db8::1"), false));
        // Chrome's data saver relays people from Google's networks.
        assert!(!is_bot_address(ip("66.249.80.1"), true));
        assert!(is_bot_address(ip("157.55.39.1"), true));
        // Every listed range parses.
        assert_eq!(ranges(&GOOGLE).len(), GOOGLE.len());
        assert_eq!(ranges(&OTHERS).len(), OTHERS.len());
    }
}
