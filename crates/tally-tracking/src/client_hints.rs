//! User-Agent Client Hints: the `uadata` parameter of the JavaScript
//! tracker (`navigator.userAgentData` high-entropy values as JSON) or, when
//! the request carries none, the `Sec-CH-UA*` headers.
//!
//! Browsers based on Chromium freeze their User-Agent string: Windows 11
//! says `Windows NT 10.0`, macOS says `10_15_7`, Android says `Android 10;
//! K` without a model, and Brave or Opera look like Chrome. Matomo hands the
//! hints to DeviceDetector, which prefers them; [`parse_with_hints`] applies
//! the same rules (read from DeviceDetector's `OperatingSystem::parse`,
//! `Browser::parse`, `AbstractParser::restoreUserAgentFromClientHints` and
//! `ClientHints::factory`; facts only) on top of our own user-agent detector,
//! for the operating systems and browsers that detector knows. A brand it
//! does not know (Opera GX, Avast Secure Browser, ...) is skipped, where
//! DeviceDetector would report it.

use std::sync::LazyLock;

use regex::Regex;
// DeviceDetector's browser names for the codes our detector produces,
// shared with the `browserName` segment.
use tally_schema::devices::BROWSERS;

use crate::device::{self, Device};

/// The hints DeviceDetector uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHints {
    /// Device model (`Pixel 8`).
    pub model: String,
    /// Platform (`Windows`, `macOS`, `Android`, `Linux`, `Chrome OS`).
    pub platform: String,
    /// Platform version (`15.0.0`).
    pub platform_version: String,
    /// Full browser version (the older `uaFullVersion` hint).
    pub ua_full_version: String,
    /// Brands and versions, in the order sent.
    pub brands: Vec<(String, String)>,
    /// Form factors (`Sec-CH-UA-Form-Factors`: `automotive`, `tablet`,
    /// ...), lower-cased.
    pub form_factors: Vec<String>,
}

impl ClientHints {
    /// The hints of a `uadata` JSON object. `None` when it is not a JSON
    /// object (Matomo then uses no hints at all, not even the headers).
    pub fn from_uadata(json: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        let object = value.as_object()?;
        let mut hints = Self::default();
        let text = |v: &serde_json::Value| v.as_str().map(|s| s.trim_matches('"').to_owned());
        for (name, v) in object {
            match name.to_ascii_lowercase().replace('_', "-").as_str() {
                "model" => hints.model = text(v).unwrap_or_default(),
                "platform" => hints.platform = text(v).unwrap_or_default(),
                "platformversion" => hints.platform_version = text(v).unwrap_or_default(),
                "uafullversion" => hints.ua_full_version = text(v).unwrap_or_default(),
                // `brands` only when no full list came first; the full list
                // always replaces it (DeviceDetector's `factory`).
                "brands" if hints.brands.is_empty() => hints.brands = brand_list(v),
                "fullversionlist" => {
                    let list = brand_list(v);
                    if !list.is_empty() {
                        hints.brands = list;
                    }
                }
                // Kept only when every item is a string (DeviceDetector).
                "formfactors" => {
                    if let Some(items) = v.as_array() {
                        let names: Vec<String> = items
                            .iter()
                            .filter_map(|item| item.as_str().map(str::to_lowercase))
                            .collect();
                        if names.len() == items.len() {
                            hints.form_factors = names;
                        }
                    }
                }
                _ => {}
            }
        }
        Some(hints)
    }

    /// The hints of `Sec-CH-UA*` request headers (names any case).
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut hints = Self::default();
        let mut short_list = Vec::new();
        let mut full_list = Vec::new();
        for (name, value) in headers {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let unquoted = value.trim_matches('"').to_owned();
            match name.to_ascii_lowercase().as_str() {
                "sec-ch-ua-model" => hints.model = unquoted,
                "sec-ch-ua-platform" => hints.platform = unquoted,
                "sec-ch-ua-platform-version" => hints.platform_version = unquoted,
                "sec-ch-ua-full-version" => hints.ua_full_version = unquoted,
                "sec-ch-ua" => short_list = header_brands(value),
                "sec-ch-ua-full-version-list" => full_list = header_brands(value),
                "sec-ch-ua-form-factors" => hints.form_factors = header_form_factors(value),
                _ => {}
            }
        }
        hints.brands = if full_list.is_empty() {
            short_list
        } else {
            full_list
        };
        hints
    }

    /// Whether no hint is present.
    pub fn is_empty(&self) -> bool {
        self.model.is_empty()
            && self.platform.is_empty()
            && self.platform_version.is_empty()
            && self.ua_full_version.is_empty()
            && self.brands.is_empty()
            && self.form_factors.is_empty()
    }

    /// The device type DeviceDetector takes from the form factors (the
    /// first of its list that is present), used when the hints name a
    /// model the user agent's device rules do not know.
    fn form_factor_type(&self) -> Option<u8> {
        const TYPES: [(&str, u8); 7] = [
            ("automotive", device::DEVICE_CAR_BROWSER),
            ("xr", device::DEVICE_WEARABLE),
            ("watch", device::DEVICE_WEARABLE),
            ("mobile", device::DEVICE_SMARTPHONE),
            ("tablet", device::DEVICE_TABLET),
            ("desktop", device::DEVICE_DESKTOP),
            ("eink", device::DEVICE_TABLET),
        ];
        TYPES
            .iter()
            .find(|(name, _)| self.form_factors.iter().any(|f| f == name))
            .map(|(_, kind)| *kind)
    }
}

/// `"Tablet", "Automotive"` (a header's quoted names), lower-cased.
fn header_form_factors(value: &str) -> Vec<String> {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""([a-z]+)""#).expect("constant regex"));
    let lower = value.to_lowercase();
    NAME.captures_iter(&lower)
        .map(|c| c[1].to_owned())
        .collect()
}

fn brand_list(v: &serde_json::Value) -> Vec<(String, String)> {
    let Some(items) = v.as_array() else {
        return Vec::new();
    };
    let pairs: Vec<(String, String)> = items
        .iter()
        .filter_map(|item| {
            let brand = item.get("brand")?.as_str()?;
            let version = item.get("version")?.as_str()?;
            Some((brand.to_owned(), version.to_owned()))
        })
        .collect();
    // DeviceDetector drops the list when brands and versions do not pair up.
    if pairs.len() == items.len() {
        pairs
    } else {
        Vec::new()
    }
}

/// `"Brand";v="1.2", "Other";v="3"` (structured header list).
fn header_brands(value: &str) -> Vec<(String, String)> {
    static ITEM: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^"([^"]+)"; ?v="([^"]+)"(?:, )?"#).expect("constant regex"));
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(c) = ITEM.captures(rest) {
        out.push((c[1].to_owned(), c[2].to_owned()));
        rest = &rest[c[0].len()..];
    }
    out
}

/// [`device::parse_user_agent`] corrected by client hints as DeviceDetector
/// corrects it.
pub fn parse_with_hints(ua: &str, hints: Option<&ClientHints>) -> Device {
    let Some(hints) = hints.filter(|h| !h.is_empty()) else {
        return device::parse_user_agent_memo(ua);
    };
    let restored = restore_user_agent(ua, hints);
    let mut d = device::parse_user_agent(&restored);
    if d.is_bot {
        return d;
    }
    // No device rule of the user agent matched: a hinted model brings
    // the form factors' device type (DeviceDetector's device parsers).
    let unmatched =
        d.device_type.is_none() && d.device_brand.is_empty() && d.device_model.is_empty();
    apply_os(&mut d, hints);
    apply_browser(&mut d, hints);
    if d.device_model.is_empty() && !hints.model.is_empty() {
        d.device_model = hints.model.clone();
        if unmatched {
            d.device_type = hints.form_factor_type();
        }
    }
    d
}

/// Android's reduced UA (`Android 10; K`) with the hinted version and model
/// put back, so that the device is detected from it.
fn restore_user_agent(ua: &str, hints: &ClientHints) -> String {
    static FRAGMENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)Android (?:1[0-7][.\d]*; K(?: Build/|[;)])|1[0-7]\)) AppleWebKit")
            .expect("constant regex")
    });
    static REDUCED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"Android (?:10[.\d]*; K|1[1-7])").expect("constant regex"));
    if hints.model.is_empty()
        || !FRAGMENT.is_match(ua)
        || ua.to_ascii_lowercase().contains("telegram-android/")
    {
        return ua.to_owned();
    }
    let version = if hints.platform_version.is_empty() {
        "10"
    } else {
        &hints.platform_version
    };
    let replacement = format!("Android {version}; {}", hints.model);
    REDUCED
        .replace_all(ua, regex::NoExpand(&replacement))
        .into_owned()
}

/// DeviceDetector's OS families for the codes our detector produces.
fn os_family(code: &str) -> &str {
    match code {
        "LIN" | "UBT" | "KBT" | "FED" | "DEB" | "MIN" | "ARL" | "CES" | "RHT" | "GNT" => "LIN",
        "AND" | "ADR" | "HAR" | "FIR" | "MLD" => "AND",
        "WIN" | "WRT" => "WIN",
        "IOS" | "IPA" | "ATV" => "IOS",
        other => other,
    }
}

/// The OS code of a `platform` hint (DeviceDetector's mapping and fuzzy
/// name match, for the systems that send hints).
fn platform_code(platform: &str) -> Option<&'static str> {
    let key: String = platform
        .chars()
        .filter(|c| *c != ' ')
        .collect::<String>()
        .to_lowercase();
    Some(match key.as_str() {
        "windows" | "win32" => "WIN",
        "mac" | "macos" | "macosx" | "macintel" => "MAC",
        "linux" | "gnu/linux" => "LIN",
        "android" => "AND",
        "chromeos" => "COS",
        "ios" => "IOS",
        "ipados" => "IPA",
        _ => return None,
    })
}

fn apply_os(d: &mut Device, hints: &ClientHints) {
    let Some(code) = platform_code(&hints.platform) else {
        return;
    };
    let mut version = hints.platform_version.clone();
    if code == "WIN" {
        let mut parts = version.split('.');
        let major = parts.next().map_or(0, leading_int);
        let minor = parts.next().map_or(0, leading_int);
        if major == 0 {
            match minor {
                1 => version = "7".to_owned(),
                2 => version = "8".to_owned(),
                3 => version = "8.1".to_owned(),
                _ => {}
            }
        } else if major < 11 {
            version = "10".to_owned();
        } else {
            version = "11".to_owned();
        }
    } else if version != "0.0.0" && leading_int(&version) == 0 {
        version.clear();
    }
    let mut version = truncate(&version);
    let ua_code = d.os.as_str();
    if version.is_empty() && os_family(code) == os_family(ua_code) {
        version = d.os_version.clone();
    }
    let mut name = code.to_owned();
    // The UA may name a more specific member of the hinted family (Ubuntu
    // for Linux); DeviceDetector keeps that name.
    if ua_code != code && os_family(ua_code) == code && ua_code != "UNK" {
        name = ua_code.to_owned();
    }
    if code == "LIN" && ua_code == "COS" && truncate(&hints.platform_version) == d.os_version {
        name = "COS".to_owned();
    }
    if code == "AND" && ua_code == "COS" {
        name = "COS".to_owned();
        version.clear();
    }
    d.os = name;
    d.os_version = version;
}

/// DeviceDetector's `$clientHintMapping` for browsers we know.
fn mapped_brand(brand: &str) -> &str {
    match brand.to_lowercase().as_str() {
        "google chrome" => "Chrome",
        "android webview" => "Chrome Webview",
        "duckduckgo" => "DuckDuckGo Privacy Browser",
        "edge" => "Microsoft Edge",
        "yasearchbrowser" => "Yandex Browser",
        _ => brand,
    }
}

fn fuzzy(a: &str, b: &str) -> bool {
    let squash = |s: &str| s.replace(' ', "").to_lowercase();
    squash(a) == squash(b)
}

fn brand_code(brand: &str) -> Option<(&'static str, &'static str)> {
    let brand = mapped_brand(brand);
    BROWSERS.iter().copied().find(|(_, name)| {
        fuzzy(brand, name)
            || fuzzy(&format!("{brand} Browser"), name)
            || fuzzy(brand, &format!("{name} Browser"))
    })
}

/// (code, name, version, engine) of the hinted browser, as
/// `parseBrowserFromClientHints`.
fn hinted_browser(
    hints: &ClientHints,
) -> Option<(&'static str, &'static str, String, &'static str)> {
    let engine = if hints
        .brands
        .iter()
        .any(|(b, _)| b == "Android WebView" || b == "Chromium")
    {
        "Blink"
    } else {
        ""
    };
    let mut found: Option<(&str, &str, &str)> = None;
    for (brand, version) in &hints.brands {
        if let Some((code, name)) = brand_code(brand) {
            // A Chromium entry after Chrome does not replace it.
            if !(found.is_some_and(|(_, n, _)| n == "Chrome") && name == "Chromium") {
                found = Some((code, name, version.as_str()));
            }
        }
        // Any brand but these generic ones is the answer.
        if found.is_some_and(|(_, n, _)| !matches!(n, "Chrome" | "Chromium" | "Microsoft Edge")) {
            break;
        }
    }
    let (code, name, version) = found?;
    let version = if hints.ua_full_version.is_empty() {
        version
    } else {
        hints.ua_full_version.as_str()
    };
    Some((code, name, truncate(version), engine))
}

fn apply_browser(d: &mut Device, hints: &ClientHints) {
    let Some((mut code, mut name, mut version, hinted_engine)) = hinted_browser(hints) else {
        return;
    };
    if version.is_empty() {
        return;
    }
    // Hints only correct browsers: an app or library found in the UA stays.
    let ua_is_browser = d.client_type == device::CLIENT_BROWSER;
    if !ua_is_browser && d.client_type != 0 {
        return;
    }
    let ua_code = if ua_is_browser {
        d.browser_name.clone()
    } else {
        String::new()
    };
    let ua_name = BROWSERS
        .iter()
        .find(|(c, _)| *c == ua_code)
        .map_or("", |(_, n)| *n);
    let ua_version = if ua_is_browser {
        d.browser_version.clone()
    } else {
        String::new()
    };
    // For these, the hinted version is not the browser's own.
    if !ua_version.is_empty() && matches!(code, "OM" | "OP") {
        version.clone_from(&ua_version);
    }
    // Chromium in the hints, a Chromium-based browser in the UA: the UA's.
    if matches!(code, "CR" | "CV")
        && !ua_name.is_empty()
        && !matches!(ua_code.as_str(), "CR" | "CV" | "AN" | "CM")
    {
        code = BROWSERS
            .iter()
            .find(|(c, _)| *c == ua_code)
            .map_or(code, |(c, _)| *c);
        name = ua_name;
        if leading_int(&ua_version) != leading_int(&version)
            || version_cmp(&version, &ua_version).is_le()
        {
            version.clone_from(&ua_version);
        }
    }
    // `Chrome` hinted, `Chrome Mobile` in the UA.
    if format!("{name} Mobile") == ua_name {
        code = BROWSERS
            .iter()
            .find(|(c, _)| *c == ua_code)
            .map_or(code, |(c, _)| *c);
        name = ua_name;
    }
    let engine = if name == ua_name || (is_blink_family(code) && is_blink_family(&ua_code)) {
        d.browser_engine.clone()
    } else {
        hinted_engine.to_owned()
    };
    if !ua_version.is_empty()
        && ua_version.starts_with(&version)
        && version_cmp(&version, &ua_version).is_lt()
    {
        version = ua_version;
    }
    if code == "DD" {
        version.clear();
    }
    d.browser_name = code.to_owned();
    d.browser_version = version;
    d.browser_engine = engine;
    d.client_type = device::CLIENT_BROWSER;
}

/// Browsers DeviceDetector puts in the Chrome family (same engine source).
fn is_blink_family(code: &str) -> bool {
    matches!(
        code,
        "CH" | "CM"
            | "CI"
            | "CV"
            | "CR"
            | "HC"
            | "PS"
            | "OP"
            | "OM"
            | "SB"
            | "YA"
            | "BR"
            | "VI"
            | "WH"
            | "CC"
    )
}

fn truncate(v: &str) -> String {
    let v = v.replace('_', ".");
    let mut parts = v.split('.');
    let joined = match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        (Some(a), None) => a.to_owned(),
        _ => String::new(),
    };
    joined.trim_matches(|c| c == '.' || c == ' ').to_owned()
}

fn leading_int(v: &str) -> u32 {
    v.trim()
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0u32, |acc, b| {
            acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
        })
}

/// PHP's `version_compare` for dotted numbers: part by part, a missing part
/// is lower than a present one (`120` < `120.0`).
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) => match leading_int(p).cmp(&leading_int(q)) {
                std::cmp::Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
    const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    fn uadata(json: &str) -> ClientHints {
        ClientHints::from_uadata(json).expect("valid uadata")
    }

    #[test]
    fn windows_11_comes_from_the_platform_version() {
        let h = uadata(
            r#"{"brands":[{"brand":"Not_A Brand","version":"8"},{"brand":"Chromium","version":"120"},{"brand":"Google Chrome","version":"120"}],
               "fullVersionList":[{"brand":"Not_A Brand","version":"8.0.0.0"},{"brand":"Chromium","version":"120.0.6099.130"},{"brand":"Google Chrome","version":"120.0.6099.130"}],
               "mobile":false,"model":"","platform":"Windows","platformVersion":"15.0.0"}"#,
        );
        let d = parse_with_hints(CHROME_WIN, Some(&h));
        assert_eq!((d.os.as_str(), d.os_version.as_str()), ("WIN", "11"));
        assert_eq!(
            (d.browser_name.as_str(), d.browser_version.as_str()),
            ("CH", "120.0")
        );
        assert_eq!(d.browser_engine, "Blink");
        let mut ten = h.clone();
        ten.platform_version = "10.0.0".into();
        assert_eq!(parse_with_hints(CHROME_WIN, Some(&ten)).os_version, "10");
        for (v, want) in [
            ("0.1.0", "7"),
            ("0.2.0", "8"),
            ("0.3.0", "8.1"),
            ("0.0.0", "0.0"),
        ] {
            let mut old = h.clone();
            old.platform_version = v.into();
            assert_eq!(
                parse_with_hints(CHROME_WIN, Some(&old)).os_version,
                want,
                "{v}"
            );
        }
    }

    #[test]
    fn form_factors_give_the_type_of_a_hinted_model() {
        let h = uadata(
            r#"{"model":"UltraOcta-T8","platform":"Android","platformVersion":"14.0.0",
               "formFactors":["Tablet","Automotive"]}"#,
        );
        assert_eq!(h.form_factors, ["tablet", "automotive"]);
        let d = parse_with_hints("Some Unknown UA", Some(&h));
        assert_eq!(d.device_type, Some(device::DEVICE_CAR_BROWSER));
        assert_eq!(d.device_model, "UltraOcta-T8");
        // Without a model the form factors say nothing.
        let mut no_model = h.clone();
        no_model.model.clear();
        assert_eq!(
            parse_with_hints("Some Unknown UA", Some(&no_model)).device_type,
            None
        );
        // A non-string item drops the list; headers are quoted names.
        assert!(
            uadata(r#"{"formFactors":["Tablet",1]}"#)
                .form_factors
                .is_empty()
        );
        let h = ClientHints::from_headers([
            ("Sec-CH-UA-Model", "\"X1\""),
            ("Sec-CH-UA-Form-Factors", "\"Desktop\", \"XR\""),
        ]);
        assert_eq!(h.form_factors, ["desktop", "xr"]);
        assert_eq!(
            parse_with_hints("Some Unknown UA", Some(&h)).device_type,
            Some(device::DEVICE_WEARABLE)
        );
    }

    #[test]
    fn no_hints_is_the_user_agent_alone() {
        assert_eq!(
            parse_with_hints(CHROME_WIN, None),
            device::parse_user_agent(CHROME_WIN)
        );
        let empty = ClientHints::default();
        assert_eq!(
            parse_with_hints(CHROME_WIN, Some(&empty)),
            device::parse_user_agent(CHROME_WIN)
        );
        assert!(ClientHints::from_uadata("not json").is_none());
        assert!(ClientHints::from_uadata("[1,2]").is_none());
    }

    #[test]
    fn macos_version_and_brave_brand() {
        let h = uadata(
            r#"{"fullVersionList":[{"brand":"Brave","version":"120.0.0.0"},{"brand":"Chromium","version":"120.0.0.0"},{"brand":"Not?A_Brand","version":"24.0.0.0"}],
               "platform":"macOS","platformVersion":"14.2.1"}"#,
        );
        let d = parse_with_hints(CHROME_MAC, Some(&h));
        assert_eq!((d.os.as_str(), d.os_version.as_str()), ("MAC", "14.2"));
        assert_eq!(
            (d.browser_name.as_str(), d.browser_version.as_str()),
            ("BR", "120.0")
        );
        assert_eq!(d.browser_engine, "Blink");
    }

    #[test]
    fn android_reduced_user_agent_gets_version_and_model_back() {
        let h = uadata(
            r#"{"fullVersionList":[{"brand":"Google Chrome","version":"120.0.6099.144"},{"brand":"Chromium","version":"120.0.6099.144"}],
               "mobile":true,"model":"SM-S918B","platform":"Android","platformVersion":"14.0.0"}"#,
        );
        let d = parse_with_hints(CHROME_ANDROID, Some(&h));
        assert_eq!((d.os.as_str(), d.os_version.as_str()), ("AND", "14.0"));
        // Chrome hinted, Chrome Mobile in the UA.
        assert_eq!(
            (d.browser_name.as_str(), d.browser_version.as_str()),
            ("CM", "120.0")
        );
        assert_eq!(d.device_model, "SM-S918B");
        let plain = device::parse_user_agent(CHROME_ANDROID);
        assert_eq!(plain.os_version, "10");
    }

    #[test]
    fn edge_and_chromium_only_lists() {
        let edge = uadata(
            r#"{"fullVersionList":[{"brand":"Not_A Brand","version":"8.0.0.0"},{"brand":"Chromium","version":"120.0.6099.130"},{"brand":"Microsoft Edge","version":"120.0.2210.91"}],"platform":"Windows","platformVersion":"15.0.0"}"#,
        );
        let d = parse_with_hints(CHROME_WIN, Some(&edge));
        assert_eq!(
            (d.browser_name.as_str(), d.browser_version.as_str()),
            ("PS", "120.0")
        );
        // Chromium hinted for a Chrome UA: the UA's Chrome stays.
        let chromium = uadata(
            r#"{"fullVersionList":[{"brand":"Chromium","version":"120.0.6099.130"}],"platform":"Linux","platformVersion":""}"#,
        );
        let d = parse_with_hints(CHROME_WIN, Some(&chromium));
        assert_eq!(d.browser_name, "CH");
    }

    #[test]
    fn headers_are_read_when_there_is_no_uadata() {
        let h = ClientHints::from_headers([
            (
                "Sec-CH-UA",
                r#""Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120""#,
            ),
            ("Sec-CH-UA-Platform", r#""Windows""#),
            ("Sec-CH-UA-Platform-Version", r#""15.0.0""#),
            ("Sec-CH-UA-Mobile", "?0"),
        ]);
        assert_eq!(h.platform, "Windows");
        assert_eq!(h.brands.len(), 3);
        assert_eq!(h.brands[2], ("Google Chrome".to_owned(), "120".to_owned()));
        let d = parse_with_hints(CHROME_WIN, Some(&h));
        assert_eq!(d.os_version, "11");
        // The hinted `120` is less detailed than the UA's `120.0`.
        assert_eq!(d.browser_version, "120.0");
    }

    #[test]
    fn version_comparison_is_phps() {
        assert!(version_cmp("120", "120.0").is_lt());
        assert!(version_cmp("120.1", "120.0").is_gt());
        assert!(version_cmp("9.0", "10.0").is_lt());
        assert!(version_cmp("1.2", "1.2").is_eq());
    }
}
