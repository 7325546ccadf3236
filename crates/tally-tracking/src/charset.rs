//! Page and search engine charsets: decoding percent-encoded bytes that a
//! non-UTF-8 page or search engine produced.
//!
//! Matomo uses `cs` (MATOMO.md §1.4) in one place only: site search
//! detection (`ActionSiteSearch::detectSiteSearchFromUrl` →
//! `PageUrl::reencodeParameters`). When `cs` is not `utf-8`, every query
//! parameter value of the page URL is `urldecode`d, checked with
//! `mb_check_encoding` against `cs` and, if valid, converted to UTF-8 with
//! `mb_convert_encoding`. `url`, `action_name` and `urlref` themselves are
//! not converted: the JavaScript tracker encodes them with
//! `encodeURIComponent`, which always produces UTF-8; what a non-UTF-8 page
//! puts in the tracking request is its own URL whose *query* was
//! percent-encoded by the browser in the page's charset (`?q=caf%E9`).
//!
//! So the conversion happens on the bytes of that second percent-decoding
//! (the page URL's parameter values), never on the tracking request's
//! parameters: [`Charset::decode_percent`] turns `caf%E9` into `café`.
//!
//! The second use is search engine keywords (§5.3): an engine's definition
//! may list the charsets its result pages encode queries in (Baidu
//! `UTF-8, gb2312`, Yahoo! Japan `utf-8, euc-jp, ms932`), and Matomo's
//! `SearchEngine::convertCharset` picks the first in which the keyword's
//! bytes are valid and converts from it, dropping what does not convert
//! ([`convert_keyword`]).
//!
//! ISO-8859-1 and windows-1252 are decoded by our own tables, as PHP's
//! mbstring reads them (ISO-8859-1 bytes 0x80–0x9F are C1 controls, where
//! the WHATWG labels `encoding_rs` follows would read windows-1252; five
//! windows-1252 bytes are undefined). Every other charset is `encoding_rs`'s
//! decoder for the label (WHATWG labels plus the PHP names listed in
//! [`Charset::from_label`]); unknown labels mean UTF-8, as Matomo keeps the
//! value when `mb_check_encoding` throws on an unknown name.

use encoding_rs::Encoding;

use crate::php;

/// A page charset from `cs`, or one of a search engine's keyword charsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8, also used for charsets we do not know.
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value.
    Latin1,
    /// windows-1252: Latin-1 except 0x80–0x9F, five of which are undefined.
    Windows1252,
    /// Any other charset `encoding_rs` decodes (gb2312/GBK, Shift_JIS,
    /// EUC-JP, EUC-KR, windows-1251, ISO-8859-2, ...).
    Other(&'static Encoding),
}

/// windows-1252 bytes 0x80–0x9F; `None` where the code page defines no
/// character (0x81, 0x8D, 0x8F, 0x90, 0x9D).
const WINDOWS_1252_HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'), // 0x80 euro sign
    None,             // 0x81
    Some('\u{201A}'), // 0x82 single low-9 quotation mark
    Some('\u{0192}'), // 0x83 latin small letter f with hook
    Some('\u{201E}'), // 0x84 double low-9 quotation mark
    Some('\u{2026}'), // 0x85 horizontal ellipsis
    Some('\u{2020}'), // 0x86 dagger
    Some('\u{2021}'), // 0x87 double dagger
    Some('\u{02C6}'), // 0x88 modifier letter circumflex accent
    Some('\u{2030}'), // 0x89 per mille sign
    Some('\u{0160}'), // 0x8A latin capital letter s with caron
    Some('\u{2039}'), // 0x8B single left-pointing angle quotation mark
    Some('\u{0152}'), // 0x8C latin capital ligature oe
    None,             // 0x8D
    Some('\u{017D}'), // 0x8E latin capital letter z with caron
    None,             // 0x8F
    None,             // 0x90
    Some('\u{2018}'), // 0x91 left single quotation mark
    Some('\u{2019}'), // 0x92 right single quotation mark
    Some('\u{201C}'), // 0x93 left double quotation mark
    Some('\u{201D}'), // 0x94 right double quotation mark
    Some('\u{2022}'), // 0x95 bullet
    Some('\u{2013}'), // 0x96 en dash
    Some('\u{2014}'), // 0x97 em dash
    Some('\u{02DC}'), // 0x98 small tilde
    Some('\u{2122}'), // 0x99 trade mark sign
    Some('\u{0161}'), // 0x9A latin small letter s with caron
    Some('\u{203A}'), // 0x9B single right-pointing angle quotation mark
    Some('\u{0153}'), // 0x9C latin small ligature oe
    None,             // 0x9D
    Some('\u{017E}'), // 0x9E latin small letter z with caron
    Some('\u{0178}'), // 0x9F latin capital letter y with diaeresis
];

impl Charset {
    /// The charset named by a `cs` value or an engine definition
    /// (case-insensitive, with the usual aliases); `None` and unknown names
    /// are UTF-8.
    pub fn from_label(label: Option<&str>) -> Self {
        let Some(label) = label else {
            return Self::Utf8;
        };
        let label = label.trim().to_ascii_lowercase();
        match label.as_str() {
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" => Self::Latin1,
            "windows-1252" | "cp1252" | "win-1252" | "x-cp1252" => Self::Windows1252,
            other => {
                // PHP's mbstring names that are no WHATWG label.
                let label = match other {
                    "cp932" | "sjis-win" | "sjis" => "shift_jis",
                    "cp936" | "euc-cn" => "gbk",
                    "big-5" | "cp950" => "big5",
                    "cp949" | "uhc" => "euc-kr",
                    "cp1251" | "win-1251" => "windows-1251",
                    "cp1250" | "win-1250" => "windows-1250",
                    other => other,
                };
                match Encoding::for_label_no_replacement(label.as_bytes()) {
                    // UTF-16 would need a BOM or whole code units: a
                    // percent-encoded query never is; x-user-defined is no
                    // charset a page declares.
                    Some(e)
                        if e != encoding_rs::UTF_8
                            && e.is_ascii_compatible()
                            && e != encoding_rs::X_USER_DEFINED =>
                    {
                        Self::Other(e)
                    }
                    _ => Self::Utf8,
                }
            }
        }
    }

    /// Decodes `bytes`, or `None` when they are not valid in this charset
    /// (`mb_check_encoding` failing: invalid UTF-8, or an undefined
    /// windows-1252 byte).
    pub fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            Self::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_owned),
            Self::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            Self::Windows1252 => bytes
                .iter()
                .map(|&b| match b {
                    0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
                    _ => Some(char::from(b)),
                })
                .collect(),
            Self::Other(e) => e
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(std::borrow::Cow::into_owned),
        }
    }

    /// Decodes `bytes`, dropping what is not valid in this charset, as
    /// iconv's `//IGNORE` does.
    pub fn decode_ignoring_invalid(self, bytes: &[u8]) -> String {
        if let Some(s) = self.decode(bytes) {
            return s;
        }
        let lossy = match self {
            Self::Utf8 | Self::Latin1 => String::from_utf8_lossy(bytes),
            Self::Windows1252 => std::borrow::Cow::Owned(
                bytes
                    .iter()
                    .map(|&b| match b {
                        0x80..=0x9F => {
                            WINDOWS_1252_HIGH[usize::from(b - 0x80)].unwrap_or('\u{FFFD}')
                        }
                        _ => char::from(b),
                    })
                    .collect(),
            ),
            Self::Other(e) => e.decode_without_bom_handling(bytes).0,
        };
        // None of these charsets encodes U+FFFD itself: each one here
        // stands for bytes that did not decode.
        lossy.chars().filter(|&c| c != '\u{FFFD}').collect()
    }

    /// PHP `urldecode` of a page URL parameter value whose bytes are in this
    /// charset, as UTF-8. Bytes not valid in the charset leave the value as
    /// Matomo leaves it (decoded as UTF-8, invalid sequences becoming
    /// U+FFFD because every stored column is UTF-8).
    pub fn decode_percent(self, value: &str) -> String {
        let bytes = php::urldecode_bytes(value);
        match self.decode(&bytes) {
            Some(s) => s,
            None => String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// A search engine keyword's bytes (percent-decoded, trimmed) as UTF-8,
/// from the engine's `charsets` (Matomo's `SearchEngine::convertCharset`):
/// with several, the first in which the bytes are valid (`mb_detect_encoding`;
/// the first when none is), then converted dropping invalid sequences
/// (`iconv` with `//IGNORE`). When nothing converts, Matomo keeps the bytes
/// as they are; we store them read as UTF-8 (invalid sequences as U+FFFD),
/// as every column is UTF-8. No charsets: the bytes read as UTF-8.
pub fn convert_keyword(bytes: &[u8], charsets: &[Charset]) -> String {
    let Some(&first) = charsets.first() else {
        return String::from_utf8_lossy(bytes).into_owned();
    };
    let charset = if charsets.len() > 1 {
        charsets
            .iter()
            .copied()
            .find(|c| c.decode(bytes).is_some())
            .unwrap_or(first)
    } else {
        first
    };
    let converted = charset.decode_ignoring_invalid(bytes);
    if php::is_empty(&converted) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    converted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Charset::from_label(None), Charset::Utf8);
        assert_eq!(Charset::from_label(Some("UTF-8")), Charset::Utf8);
        assert_eq!(Charset::from_label(Some("ISO-8859-1")), Charset::Latin1);
        assert_eq!(Charset::from_label(Some("latin1")), Charset::Latin1);
        assert_eq!(
            Charset::from_label(Some("Windows-1252")),
            Charset::Windows1252
        );
        assert_eq!(Charset::from_label(Some("CP1252")), Charset::Windows1252);
        assert_eq!(Charset::from_label(Some("no-such-charset")), Charset::Utf8);
    }

    #[test]
    fn latin1_and_windows_1252_differ_in_0x80_to_0x9f() {
        assert_eq!(Charset::Latin1.decode_percent("caf%E9"), "café");
        assert_eq!(Charset::Windows1252.decode_percent("caf%E9"), "café");
        assert_eq!(Charset::Latin1.decode_percent("%80"), "\u{80}");
        assert_eq!(Charset::Windows1252.decode_percent("%80+5"), "€ 5");
        assert_eq!(
            Charset::Windows1252.decode_percent("%93hi%94%97%85%99"),
            "\u{201C}hi\u{201D}\u{2014}\u{2026}\u{2122}"
        );
        assert_eq!(Charset::Windows1252.decode_percent("%9F%8A%9E"), "ŸŠž");
    }

    #[test]
    fn invalid_bytes_keep_the_utf8_reading() {
        // 0x81 is undefined in windows-1252: mb_check_encoding fails and
        // Matomo keeps the value.
        assert_eq!(Charset::Windows1252.decode_percent("a%81"), "a\u{FFFD}");
        // UTF-8 is UTF-8, and a lying `cs` gives mojibake as in Matomo.
        assert_eq!(Charset::Utf8.decode_percent("caf%C3%A9"), "café");
        assert_eq!(Charset::Latin1.decode_percent("caf%C3%A9"), "cafÃ©");
    }

    #[test]
    fn other_charsets_by_their_names() {
        let gbk = Charset::from_label(Some("gb2312"));
        assert_eq!(gbk, Charset::Other(encoding_rs::GBK));
        assert_eq!(Charset::from_label(Some("CP936")), gbk);
        assert_eq!(
            Charset::from_label(Some("ms932")),
            Charset::Other(encoding_rs::SHIFT_JIS)
        );
        assert_eq!(
            Charset::from_label(Some("cp1251")),
            Charset::Other(encoding_rs::WINDOWS_1251)
        );
        // Not a page charset a percent-encoded query can be in.
        assert_eq!(Charset::from_label(Some("utf-16le")), Charset::Utf8);
        // A Shift_JIS page's site search: `cs` converts it.
        assert_eq!(
            Charset::from_label(Some("Shift_JIS")).decode_percent("%93%FA%96%7B"),
            "日本"
        );
    }

    #[test]
    fn keywords_from_an_engines_charsets() {
        let utf8_gb = [Charset::Utf8, Charset::from_label(Some("gb2312"))];
        // 百度 in gb2312 and in UTF-8.
        assert_eq!(convert_keyword(&[0xB0, 0xD9, 0xB6, 0xC8], &utf8_gb), "百度");
        assert_eq!(convert_keyword("百度".as_bytes(), &utf8_gb), "百度");
        // Valid in none: the first charset, invalid bytes dropped.
        assert_eq!(convert_keyword(b"ab\xFFc", &utf8_gb), "abc");
        // Nothing left: the bytes as they were (read as UTF-8).
        assert_eq!(convert_keyword(b"\xFF", &utf8_gb), "\u{FFFD}");
        // One charset: always that one.
        let cp1251 = [Charset::from_label(Some("windows-1251"))];
        assert_eq!(
            convert_keyword(&[0xEF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2], &cp1251),
            "привет"
        );
        // No charsets: UTF-8.
        assert_eq!(convert_keyword("été".as_bytes(), &[]), "été");
    }

    #[test]
    fn every_latin1_byte_round_trips() {
        for b in 0u8..=255 {
            let s = Charset::Latin1.decode(&[b]).unwrap_or_default();
            assert_eq!(s.chars().next().map(u32::from), Some(u32::from(b)));
        }
    }
}
