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

/// The brand codes our tracker emits (`tally_tracking::device`) with
/// DeviceDetector's names for them (`AbstractDeviceParser::$deviceBrands`):
/// `config_device_brand` stores the code, reports show the name and the
/// `deviceBrand` segment turns a name back into its code.
pub const BRANDS: &[(&str, &str)] = &[
    ("AC", "Acer"),
    ("AL", "Alcatel"),
    ("AP", "Apple"),
    ("AR", "Archos"),
    ("AU", "Asus"),
    ("CB", "CUBOT"),
    ("B2", "Blackview"),
    ("BV", "Bravis"),
    ("CO", "Coolpad"),
    ("CQ", "Compaq"),
    ("D2", "Digma"),
    ("DL", "Dell"),
    ("DO", "Doogee"),
    ("DX", "DEXP"),
    ("FA", "Fairphone"),
    ("FL", "Fly"),
    ("FU", "Fujitsu"),
    ("GA", "Gateway"),
    ("GI", "Gionee"),
    ("GO", "Google"),
    ("HI", "Hisense"),
    ("HNR", "Honor"),
    ("HP", "HP"),
    ("HT", "HTC"),
    ("HU", "Huawei"),
    ("HY", "Hyrican"),
    ("IF", "Infinix"),
    ("IZ", "iTel"),
    ("KN", "Amazon"),
    ("LE", "Lenovo"),
    ("LG", "LG"),
    ("LV", "Lava"),
    ("M1", "Meizu"),
    ("MD", "Medion"),
    ("MI", "MicroMax"),
    ("MR", "Motorola"),
    ("MS", "Microsoft"),
    ("MZ", "MSI"),
    ("NI", "Nintendo"),
    ("NK", "Nokia"),
    ("NOT", "Nothing"),
    ("OE", "Oukitel"),
    ("ON", "OnePlus"),
    ("OP", "OPPO"),
    ("PA", "Panasonic"),
    ("PH", "Philips"),
    ("PT", "Pantech"),
    ("QM", "QMobile"),
    ("RE", "Realme"),
    ("RK", "Roku"),
    ("SA", "Samsung"),
    ("SO", "Sony"),
    ("TA", "Tesla"),
    ("TB", "Tecno Mobile"),
    ("TC", "TCL"),
    ("TS", "Toshiba"),
    ("UL", "Ulefone"),
    ("UM", "UMIDIGI"),
    ("VS", "ViewSonic"),
    ("VV", "Vivo"),
    ("WI", "Wiko"),
    ("XI", "Xiaomi"),
    ("0P", "POCO"),
    ("77", "SONOS"),
    ("ZT", "ZTE"),
];

/// The display name of a brand code stored in `config_device_brand`
/// (`AP` gives `Apple`); `None` for codes our tracker never emits.
pub fn brand_name(code: &str) -> Option<&'static str> {
    BRANDS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The names of the brands our tracker emits, in no particular order.
pub fn brand_names() -> impl Iterator<Item = &'static str> {
    BRANDS.iter().map(|(_, name)| *name)
}

/// The brand code of a DeviceDetector brand name, compared exactly after
/// trimming (Matomo's `deviceBrand` filter is an `array_search`, case
/// included); `None` for a name we do not know.
pub fn brand_code(name: &str) -> Option<&'static str> {
    let name = name.trim();
    BRANDS.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_names_map_back_to_codes_exactly() {
        assert_eq!(brand_code("Apple"), Some("AP"));
        assert_eq!(brand_code(" Samsung "), Some("SA"));
        assert_eq!(brand_code("apple"), None);
        assert_eq!(brand_name("AP"), Some("Apple"));
    }

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
