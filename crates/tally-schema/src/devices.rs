//! DeviceDetector's names for the browser and operating system codes our
//! tracker stores (`config_browser_name`, `config_os`): reports show them,
//! and the `browserName` / `operatingSystemName` segments turn a name back
//! into its code. Written for Tally from general knowledge of
//! DeviceDetector's code lists (as described in `tally_tracking::device`);
//! not copied from Matomo's data files.

/// `(OS code, DeviceDetector name, OS family)` for the codes our tracker
/// stores (`tally_tracking::device`), plus Matomo's `BOT`.
pub const OPERATING_SYSTEMS: &[(&str, &str, &str)] = &[
    ("WIN", "Windows", "Windows"),
    ("MAC", "Mac", "Mac"),
    ("IOS", "iOS", "iOS"),
    ("IPA", "iPadOS", "iOS"),
    ("ATV", "tvOS", "iOS"),
    ("AND", "Android", "Android"),
    ("ADR", "Android TV", "Android"),
    ("HAR", "HarmonyOS", "Android"),
    ("LIN", "GNU/Linux", "GNU/Linux"),
    ("UBT", "Ubuntu", "GNU/Linux"),
    ("KBT", "Kubuntu", "GNU/Linux"),
    ("FED", "Fedora", "GNU/Linux"),
    ("DEB", "Debian", "GNU/Linux"),
    ("MIN", "Mint", "GNU/Linux"),
    ("ARL", "Arch Linux", "GNU/Linux"),
    ("CES", "CentOS", "GNU/Linux"),
    ("RHT", "Red Hat", "GNU/Linux"),
    ("GNT", "Gentoo", "GNU/Linux"),
    ("COS", "Chrome OS", "Chrome OS"),
    ("BSD", "FreeBSD", "Unix"),
    ("OBS", "OpenBSD", "Unix"),
    ("NBS", "NetBSD", "Unix"),
    ("SOS", "Solaris", "Unix"),
    ("WPH", "Windows Phone", "Windows Mobile"),
    ("KOS", "KaiOS", "Firefox OS"),
    ("TIZ", "Tizen", "Other Mobile"),
    ("WOS", "webOS", "Other Mobile"),
    ("PS3", "PlayStation", "Gaming Console"),
    ("WII", "Nintendo", "Gaming Console"),
    ("FIR", "Fire OS", "Android"),
    ("MLD", "MildWild", "Android"),
    ("FOS", "Firefox OS", "Firefox OS"),
    ("WCE", "Windows CE", "Windows Mobile"),
    ("WRT", "Windows RT", "Windows Mobile"),
    ("BLB", "BlackBerry OS", "BlackBerry"),
    ("PSP", "PlayStation Portable", "Mobile Gaming Console"),
    ("NDS", "Nintendo Mobile", "Mobile Gaming Console"),
    ("JME", "Java ME", "Real-time OS"),
];

/// Browser codes our tracker stores and DeviceDetector's names for them.
pub const BROWSERS: &[(&str, &str)] = &[
    ("CH", "Chrome"),
    ("CM", "Chrome Mobile"),
    ("CI", "Chrome Mobile iOS"),
    ("CV", "Chrome Webview"),
    ("CR", "Chromium"),
    ("HC", "Headless Chrome"),
    ("FF", "Firefox"),
    ("FM", "Firefox Mobile"),
    ("F1", "Firefox Mobile iOS"),
    ("SF", "Safari"),
    ("MF", "Mobile Safari"),
    ("PS", "Microsoft Edge"),
    ("OP", "Opera"),
    ("OM", "Opera Mobile"),
    ("OI", "Opera Mini"),
    ("IE", "Internet Explorer"),
    ("IM", "IE Mobile"),
    ("SB", "Samsung Browser"),
    ("YA", "Yandex Browser"),
    ("UC", "UC Browser"),
    ("BR", "Brave"),
    ("VI", "Vivaldi"),
    ("WH", "Whale Browser"),
    ("CC", "Coc Coc"),
    ("DD", "DuckDuckGo Privacy Browser"),
    ("AN", "Android Browser"),
    ("HU", "Huawei Browser Mobile"),
    ("EP", "GNOME Web"),
    ("RM", "RockMelt"),
    ("FE", "Fennec"),
    ("QQ", "QQ Browser"),
    ("MS", "Mobile Silk"),
    ("36", "360 Phone Browser"),
    ("YL", "Yandex Browser Lite"),
    ("MU", "Mi Browser"),
    ("VV", "vivo Browser"),
    ("OH", "Opera Devices"),
    ("OX", "Opera GX"),
    ("O1", "Opera Mini iOS"),
    ("UM", "UC Browser Mini"),
    ("NF", "NetFront"),
    ("3N", "Nintendo Browser"),
];

/// The browser code DeviceDetector gives `name`, compared case-insensitively
/// (Matomo's `browserName` segment lower-cases both sides); `None` for a
/// name we do not know.
pub fn browser_code(name: &str) -> Option<&'static str> {
    let name = name.to_lowercase();
    BROWSERS
        .iter()
        .find(|(_, known)| known.to_lowercase() == name)
        .map(|(code, _)| *code)
}

/// The operating system code DeviceDetector gives `name`, compared
/// case-insensitively (Matomo's `operatingSystemName` segment); `None` for
/// a name we do not know.
pub fn os_code(name: &str) -> Option<&'static str> {
    let name = name.to_lowercase();
    OPERATING_SYSTEMS
        .iter()
        .find(|(_, known, _)| known.to_lowercase() == name)
        .map(|(code, _, _)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_back_to_codes_whatever_their_case() {
        assert_eq!(browser_code("Chrome"), Some("CH"));
        assert_eq!(browser_code("internet EXPLORER"), Some("IE"));
        assert_eq!(browser_code("Chrom"), None);
        assert_eq!(os_code("gnu/linux"), Some("LIN"));
        assert_eq!(os_code("Windows"), Some("WIN"));
        assert_eq!(os_code("Linux"), None);
    }
}
