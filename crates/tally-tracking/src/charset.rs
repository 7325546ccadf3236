//! Page charsets sent with `cs` (MATOMO.md §1.4): decoding the bytes of
//! percent-encoded page URL parameters that a non-UTF-8 page produced.
//!
//! Matomo uses `cs` in one place only: site search detection
//! (`ActionSiteSearch::detectSiteSearchFromUrl` →
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
//! Supported: ISO-8859-1 (Latin-1) and windows-1252; any other label
//! (including `utf-8` and unknown names, for which PHP's
//! `mb_check_encoding` throws and Matomo keeps the value) means UTF-8.

use crate::php;

/// A page charset from `cs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8, also used for charsets we do not know.
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value.
    Latin1,
    /// windows-1252: Latin-1 except 0x80–0x9F, five of which are undefined.
    Windows1252,
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
    /// The charset named by a `cs` value (case-insensitive, with the usual
    /// aliases); `None` and unknown names are UTF-8.
    pub fn from_label(label: Option<&str>) -> Self {
        let Some(label) = label else {
            return Self::Utf8;
        };
        match label.trim().to_ascii_lowercase().as_str() {
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" => Self::Latin1,
            "windows-1252" | "cp1252" | "win-1252" | "x-cp1252" => Self::Windows1252,
            _ => Self::Utf8,
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
        }
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
    fn every_latin1_byte_round_trips() {
        for b in 0u8..=255 {
            let s = Charset::Latin1.decode(&[b]).unwrap_or_default();
            assert_eq!(s.chars().next().map(u32::from), Some(u32::from(b)));
        }
    }
}
