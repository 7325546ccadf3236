//! Reading log files: plain, gzip or bzip2 (told by their first bytes, not
//! their name), or standard input; split into lines with their numbers and
//! byte offsets, without copying a line that fits the buffer.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::Digest as _;

use crate::LogImportError;

/// Lines longer than this (1 MiB) are skipped and counted as invalid: no
/// real request line is that long, and a log without newlines must not be
/// read into memory whole.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How much of a file [`content_hash`] reads (1 MiB): enough to tell log
/// files apart, little enough to hash a rotated 10 GB log at once. A file
/// that only grew since it was imported keeps its identity.
pub const HASH_PREFIX_BYTES: u64 = 1 << 20;

/// The sha256 of the first [`HASH_PREFIX_BYTES`] of a file as stored (a
/// compressed file is hashed compressed).
///
/// # Errors
/// [`LogImportError::Read`] when the file cannot be read.
pub fn content_hash(path: &Path) -> Result<[u8; 32], LogImportError> {
    let read_err = |source| LogImportError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let mut hasher = sha2::Sha256::new();
    io::copy(&mut file.take(HASH_PREFIX_BYTES), &mut hasher).map_err(read_err)?;
    Ok(hasher.finalize().into())
}

/// Opens a log file, decompressing gzip (several members too, as
/// `logrotate` may append) and bzip2.
///
/// # Errors
/// [`LogImportError::Read`] when the file cannot be opened.
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>, LogImportError> {
    let read_err = |source| LogImportError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_err)?;
    let mut magic = [0u8; 3];
    let mut n = 0;
    while n < magic.len() {
        match file.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_err(e)),
        }
    }
    let head = io::Cursor::new(magic[..n].to_vec()).chain(file);
    Ok(if magic[..n].starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(head))
    } else if magic[..n] == *b"BZh" {
        Box::new(bzip2::read::MultiBzDecoder::new(head))
    } else {
        Box::new(head)
    })
}

/// The charset of `--encoding`: UTF-8 (also `ascii`), or any charset the
/// tracker's [`Charset`](tally_tracking::charset::Charset) decodes
/// (ISO-8859-1 `latin1`, windows-1252 `cp1252`, Shift_JIS, GBK,
/// windows-1251, ... by their usual names), as import_logs.py takes any
/// codec Python knows. Lines are decoded whole, which is safe for these
/// charsets: none uses the newline byte inside a character.
///
/// # Errors
/// [`LogImportError::Format`] for an unknown name: guessing would turn
/// every accented character into garbage silently.
pub fn charset(name: &str) -> Result<tally_tracking::charset::Charset, LogImportError> {
    use tally_tracking::charset::Charset;
    let lower = name.trim().to_ascii_lowercase();
    match Charset::from_label(Some(&lower)) {
        Charset::Utf8 if !matches!(lower.as_str(), "utf8" | "utf-8" | "ascii" | "us-ascii") => {
            Err(LogImportError::Format {
                reason: format!(
                    "--encoding: unknown encoding `{name}` (e.g. utf-8, latin1, \
                     cp1252, shift_jis, gbk, windows-1251)"
                ),
            })
        }
        cs => Ok(cs),
    }
}

/// A line's bytes as UTF-8: as read for UTF-8, else decoded into `buf`;
/// `None` when they are not valid in `charset`.
pub(crate) fn decoded<'b>(
    charset: tally_tracking::charset::Charset,
    bytes: &'b [u8],
    buf: &'b mut String,
) -> Option<&'b [u8]> {
    if charset == tally_tracking::charset::Charset::Utf8 {
        return Some(bytes);
    }
    *buf = charset.decode(bytes)?;
    Some(buf.as_bytes())
}

/// Standard input copied to a temporary file, so that it can be hashed,
/// scanned for its days and then imported like any file; removed on drop.
#[derive(Debug)]
pub struct Spooled {
    path: PathBuf,
}

impl Spooled {
    /// Copies standard input to a file in the temporary directory.
    ///
    /// # Errors
    /// [`LogImportError::Read`] when standard input or the file fails.
    pub fn stdin() -> Result<Self, LogImportError> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "tally-logimport-stdin-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let spooled = Self { path };
        let err = |source| LogImportError::Read {
            path: PathBuf::from("-"),
            source,
        };
        let mut out = File::create(&spooled.path).map_err(err)?;
        io::copy(&mut io::stdin().lock(), &mut out).map_err(err)?;
        Ok(spooled)
    }

    /// The temporary file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        // Best effort: the temporary directory is cleaned up eventually anyway.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One line read.
#[derive(Debug)]
pub struct RawLine<'a> {
    /// 1-based line number.
    pub number: u64,
    /// The line with its ending, or `None` when it was longer than the
    /// limit (its bytes were skipped).
    pub bytes: Option<&'a [u8]>,
}

/// Splits a byte stream into lines.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Stream bytes before `buf[start]`.
    offset: u64,
    line_no: u64,
    max_line: usize,
}

impl<R: Read> LineReader<R> {
    /// A reader with the default line limit ([`MAX_LINE_BYTES`]).
    pub fn new(inner: R) -> Self {
        Self::with_limit(inner, MAX_LINE_BYTES)
    }

    /// A reader skipping lines longer than `max_line` bytes.
    pub fn with_limit(inner: R, max_line: usize) -> Self {
        Self {
            inner,
            buf: vec![0; (256 * 1024).min(max_line + 1).max(64)],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            line_no: 0,
            max_line,
        }
    }

    /// Bytes of the stream consumed so far (the end of the last line).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Lines returned so far.
    pub fn line_number(&self) -> u64 {
        self.line_no
    }

    fn fill(&mut self) -> io::Result<()> {
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next line, `None` at the end.
    ///
    /// # Errors
    /// The stream's error (a truncated gzip file is `UnexpectedEof`); lines
    /// before it were all returned.
    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        let mut scanned = self.start;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[scanned..self.end]) {
                let nl = scanned + i;
                let s = self.start;
                self.start = nl + 1;
                self.offset += (nl + 1 - s) as u64;
                self.line_no += 1;
                return Ok(Some(RawLine {
                    number: self.line_no,
                    bytes: Some(&self.buf[s..=nl]),
                }));
            }
            scanned = self.end;
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let s = self.start;
                self.start = self.end;
                self.offset += (self.end - s) as u64;
                self.line_no += 1;
                return Ok(Some(RawLine {
                    number: self.line_no,
                    bytes: Some(&self.buf[s..self.end]),
                }));
            }
            if self.end - self.start > self.max_line {
                return self.skip_long_line().map(Some);
            }
            if self.end == self.buf.len() {
                if self.start > 0 {
                    self.buf.copy_within(self.start..self.end, 0);
                    scanned -= self.start;
                    self.end -= self.start;
                    self.start = 0;
                } else {
                    let len = (self.buf.len() * 2).min(self.max_line + 2);
                    self.buf.resize(len.max(self.buf.len() + 1), 0);
                }
            }
            self.fill()?;
        }
    }

    fn skip_long_line(&mut self) -> io::Result<RawLine<'static>> {
        let mut skipped = (self.end - self.start) as u64;
        self.start = 0;
        self.end = 0;
        loop {
            self.fill()?;
            if let Some(i) = memchr::memchr(b'\n', &self.buf[..self.end]) {
                skipped += (i + 1) as u64;
                self.start = i + 1;
                break;
            }
            skipped += self.end as u64;
            self.end = 0;
            if self.eof {
                break;
            }
        }
        self.offset += skipped;
        self.line_no += 1;
        Ok(RawLine {
            number: self.line_no,
            bytes: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8], limit: usize) -> Vec<(u64, Option<Vec<u8>>, u64)> {
        let mut r = LineReader::with_limit(data, limit);
        let mut out = Vec::new();
        while let Ok(Some(l)) = r.next_line() {
            let (n, b) = (l.number, l.bytes.map(<[u8]>::to_vec));
            out.push((n, b, r.offset()));
        }
        out
    }

    #[test]
    fn splits_lines_and_counts_offsets() {
        let got = lines(b"a\nbb\n\nccc", 100);
        assert_eq!(
            got,
            vec![
                (1, Some(b"a\n".to_vec()), 2),
                (2, Some(b"bb\n".to_vec()), 5),
                (3, Some(b"\n".to_vec()), 6),
                (4, Some(b"ccc".to_vec()), 9),
            ]
        );
    }

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let mut data = b"ok\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 1000));
        data.extend(b"\nafter\n");
        let got = lines(&data, 100);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, None);
        assert_eq!(got[2].1.as_deref(), Some(&b"after\n"[..]));
        assert_eq!(got[2].2, data.len() as u64);
    }
}
