//! Compressed request bodies (`Content-Encoding: gzip` / `deflate`).
//!
//! Matomo's PHP never sees a compressed body: the web server in front of
//! it (Apache's `SetInputFilter DEFLATE`, an nginx module) decompresses it,
//! and Matomo's Android SDK documents that setup for its gzip option (the
//! OkHttp packet sender gzips its bulk JSON by default). Tally's tracker is
//! its own web server, so it does that step itself: a client configured to
//! compress works against it with no proxy in between.
//!
//! The decompressed body is held to the same limit as a plain one, so a
//! small compressed body cannot expand into gigabytes (a "zip bomb").

use std::io::Read;

use axum::body::Bytes;
use axum::http::{HeaderMap, header};

use crate::TrackingError;

/// Largest request body, compressed or once decompressed: axum's default
/// limit for a plain body, which the tracker keeps (a bulk request of a few
/// thousand hits fits).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// `body` as the client meant it: decoded through every coding its
/// `Content-Encoding` lists (`gzip`, `x-gzip`, `deflate`, `identity`;
/// applied in the order listed, so undone from the last).
///
/// # Errors
/// [`TrackingError::Body`] for a coding we do not decode or data that does
/// not decode; [`TrackingError::BodyTooLarge`] when the decoded body passes
/// [`BODY_LIMIT`].
pub fn decode_body(headers: &HeaderMap, body: Bytes) -> Result<Bytes, TrackingError> {
    // No body (a GET) has nothing to decode, whatever a client that sets
    // the header on every request says.
    if body.is_empty() {
        return Ok(body);
    }
    let mut codings: Vec<String> = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value.to_str().map_err(|_| TrackingError::Body {
            reason: "the Content-Encoding header is not ASCII".into(),
        })?;
        codings.extend(
            value
                .split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !c.is_empty() && c != "identity"),
        );
    }
    let mut body = body;
    for coding in codings.iter().rev() {
        body = match coding.as_str() {
            "gzip" | "x-gzip" => decompress(flate2::read::MultiGzDecoder::new(&body[..]), coding)?,
            // HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2), but
            // some clients send a bare deflate stream: a zlib header is
            // checked before anything is decoded, so try it first.
            "deflate" => match decompress(flate2::read::ZlibDecoder::new(&body[..]), coding) {
                Ok(b) => b,
                Err(TrackingError::Body { .. }) => {
                    decompress(flate2::read::DeflateDecoder::new(&body[..]), coding)?
                }
                Err(e) => return Err(e),
            },
            other => {
                return Err(TrackingError::Body {
                    reason: format!(
                        "Content-Encoding `{other}` is not supported (gzip, deflate and identity are)"
                    ),
                });
            }
        };
    }
    Ok(body)
}

/// Reads `decoder` to its end, refusing more than [`BODY_LIMIT`] bytes.
fn decompress(decoder: impl Read, coding: &str) -> Result<Bytes, TrackingError> {
    let mut out = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    let limit = u64::try_from(BODY_LIMIT).unwrap_or(u64::MAX) + 1;
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| TrackingError::Body {
            reason: format!("the body is not valid {coding} data: {e}"),
        })?;
    if out.len() > BODY_LIMIT {
        return Err(TrackingError::BodyTooLarge { limit: BODY_LIMIT });
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use axum::http::HeaderValue;

    use super::*;

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_str(encoding).expect("a header value"),
        );
        h
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    const BULK: &[u8] = br#"{"requests":["?idsite=1&rec=1&url=https%3A%2F%2Fa.example%2F"]}"#;

    #[test]
    fn plain_identity_and_empty_bodies_pass_unchanged() -> Result<(), TrackingError> {
        let body = Bytes::from_static(BULK);
        assert_eq!(decode_body(&HeaderMap::new(), body.clone())?, body);
        assert_eq!(decode_body(&headers("identity"), body.clone())?, body);
        assert!(decode_body(&headers("gzip"), Bytes::new())?.is_empty());
        Ok(())
    }

    #[test]
    fn gzip_zlib_and_bare_deflate_bodies_are_decoded() -> Result<(), TrackingError> {
        for (encoding, data) in [
            ("gzip", gzip(BULK)),
            ("x-gzip", gzip(BULK)),
            ("GZip", gzip(BULK)),
            ("deflate", zlib(BULK)),
            ("deflate", raw_deflate(BULK)),
        ] {
            let decoded = decode_body(&headers(encoding), Bytes::from(data))?;
            assert_eq!(&decoded[..], BULK, "{encoding}");
        }
        Ok(())
    }

    #[test]
    fn codings_are_undone_from_the_last_listed() -> Result<(), TrackingError> {
        let twice = gzip(&zlib(BULK));
        let decoded = decode_body(&headers("deflate, gzip"), Bytes::from(twice))?;
        assert_eq!(&decoded[..], BULK);
        Ok(())
    }

    #[test]
    fn unknown_codings_and_corrupt_data_are_refused_with_a_reason() {
        let e = decode_body(&headers("br"), Bytes::from_static(BULK)).unwrap_err();
        assert!(matches!(e, TrackingError::Body { .. }));
        assert!(e.to_string().contains("`br` is not supported"), "{e}");

        let e = decode_body(&headers("gzip"), Bytes::from_static(BULK)).unwrap_err();
        assert!(e.to_string().contains("not valid gzip data"), "{e}");

        let mut cut = gzip(BULK);
        cut.truncate(cut.len() / 2);
        let e = decode_body(&headers("gzip"), Bytes::from(cut)).unwrap_err();
        assert!(matches!(e, TrackingError::Body { .. }), "{e}");
    }

    #[test]
    fn a_body_that_expands_past_the_limit_is_refused() -> Result<(), TrackingError> {
        // A few KiB of gzip that would become 2 MiB and one byte.
        let bomb = gzip(&vec![b'a'; BODY_LIMIT + 1]);
        assert!(bomb.len() < 16 * 1024);
        let e = decode_body(&headers("gzip"), Bytes::from(bomb)).unwrap_err();
        assert!(matches!(e, TrackingError::BodyTooLarge { .. }), "{e}");
        // Exactly at the limit is fine.
        let full = gzip(&vec![b'a'; BODY_LIMIT]);
        assert_eq!(
            decode_body(&headers("gzip"), Bytes::from(full))?.len(),
            BODY_LIMIT
        );
        Ok(())
    }
}
