//! Building tracking query strings in the tests.

/// `s` percent-encoded for a query string: every byte but the unreserved
/// ones (RFC 3986), so that any text arrives as written.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
