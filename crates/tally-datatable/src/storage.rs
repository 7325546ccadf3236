//! The stored form of a table: bincode + zlib behind a versioned,
//! checksummed header, with subtables in chunks of 100 so that one subtable
//! can be read without the others (Matomo's `<record>_chunk_<start>_<end>`
//! blobs, `core/Archive/Chunk.php`).
//!
//! Every blob starts with a 14-byte header:
//!
//! | bytes | content |
//! |---|---|
//! | 0..4 | magic `TLDT` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 5 | kind: 1 root table, 2 subtable chunk; plus 0x80 when the payload is stored uncompressed |
//! | 6..10 | decompressed payload length, u32 little endian |
//! | 10..14 | CRC32 of bytes 4..10 and of the stored payload, u32 LE |
//!
//! followed by the payload: raw deflate (RFC 1951) in versions 2 and 3, or
//! the bytes themselves when the kind byte says so. Version 1 blobs (a zlib
//! stream, always compressed) are still read. Version 2 dropped zlib's own
//! wrapper because its Adler-32 repeated what the header's CRC32 already
//! checks, and stores tiny payloads as they are because a range archive
//! writes and reads over a thousand tables of a few hundred bytes, for
//! which setting up a deflate state cost more than the bytes it saved
//! (docs/PERFORMANCE.md, issue 7). Version 3 payloads may hold a float
//! column value as a count of thousandths (`Value`'s stored variant 5, see
//! `value::as_millis`), which a version 2 reader would not know; the
//! decoder reads both. A table payload is the bincode
//! (standard config) form of the table; a chunk payload is an index
//! (`count`, then `count` × (`subtable id`, `offset`, `length`), all u32 LE)
//! followed by the tables' bincode forms. bincode stays behind this module
//! (it is unmaintained, RUSTSEC-2025-0141), so a later switch is one module
//! and a version bump.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;

use flate2::read::ZlibDecoder;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::DataTableError;
use crate::row::Row;
use crate::table::{AggregationOps, DataTable};
use crate::value::{Columns, Metadata};

/// The format version written in every header.
pub const FORMAT_VERSION: u8 = 3;

/// The raw deflate version before floats could be stored as thousandths;
/// still read (its payloads are a subset of version 3's).
const FORMAT_VERSION_RAW_DEFLATE: u8 = 2;

/// The version whose payload is a zlib stream; still read.
const FORMAT_VERSION_ZLIB: u8 = 1;

/// Subtables per chunk blob, as in Matomo (`Chunk::NUM_TABLES_IN_CHUNK`).
pub const SUBTABLES_PER_CHUNK: u32 = 100;

/// Largest decompressed payload we write or read (64 MiB): bounds what
/// corrupt or hostile bytes can make the decoder allocate.
pub const MAX_PAYLOAD_BYTES: usize = 64 << 20;

/// Deepest subtable nesting [`decode_tree`] accepts (Matomo's default
/// maximum depth is 15).
pub const MAX_DEPTH: usize = 64;

const MAGIC: [u8; 4] = *b"TLDT";
const HEADER_LEN: usize = 14;
pub(crate) const KIND_TABLE: u8 = 1;
pub(crate) const KIND_CHUNK: u8 = 2;
const INDEX_ENTRY_LEN: usize = 12;
const ZLIB_LEVEL: u32 = 2;
/// Kind-byte flag of a payload stored without compression.
const STORED_FLAG: u8 = 0x80;
/// Payloads up to this size are stored uncompressed: a few hundred bytes
/// shrink by a few hundred bytes at most, while each deflate or inflate
/// costs a state reset of tens of kilobytes.
const STORED_MAX_BYTES: usize = 512;

thread_local! {
    // One deflate and one inflate state per thread, reset between blobs:
    // a new zlib state allocates and clears its window and hash tables
    // (about 300 kB at level 3), which cost more than compressing a small
    // table.
    static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
    static INFLATE: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// Decodes with bincode under a byte limit of the smallest tier that covers
/// the payload. bincode checks every length prefix against the limit
/// (counting the in-memory size of the elements) before allocating, so a
/// garbage length fails instead of allocating, and a payload can make us
/// allocate at most 64× its size (4 MiB for small payloads, 256 MiB at
/// most). The limit is a
/// const generic, hence the tiers.
pub(crate) fn decode_limited<T: bincode::Decode<()>>(
    bytes: &[u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    fn with_limit<T: bincode::Decode<()>, const LIMIT: usize>(
        bytes: &[u8],
    ) -> Result<(T, usize), bincode::error::DecodeError> {
        bincode::decode_from_slice(bytes, bincode::config::standard().with_limit::<LIMIT>())
    }
    match bytes.len() {
        0..=0x1_0000 => with_limit::<T, 0x40_0000>(bytes),
        0x1_0001..=0x10_0000 => with_limit::<T, 0x400_0000>(bytes),
        _ => with_limit::<T, DECODE_LIMIT_BYTES>(bytes),
    }
}

/// The decode limit of the largest tier (payloads over 1 MiB): the text
/// read plus the largest list being decoded, in memory.
const DECODE_LIMIT_BYTES: usize = 256 << 20;

/// A table encoded for storage: the root blob and the subtable chunks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedTable {
    /// The root table (subtable 0), stored under the record name.
    pub root: Vec<u8>,
    /// Subtables 1..N in chunks of [`SUBTABLES_PER_CHUNK`].
    pub chunks: Vec<EncodedChunk>,
}

/// One chunk blob holding up to 100 subtables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedChunk {
    /// First subtable id the chunk covers (a multiple of 100).
    pub start: u32,
    /// Last subtable id the chunk covers (`start + 99`).
    pub end: u32,
    /// The blob.
    pub bytes: Vec<u8>,
}

impl EncodedChunk {
    /// The blob name Matomo uses: `<record>_chunk_<start>_<end>`.
    pub fn blob_name(&self, record: &str) -> String {
        format!("{record}_chunk_{}_{}", self.start, self.end)
    }
}

/// The name of the chunk blob that holds subtable `subtable_id` of `record`.
pub fn chunk_blob_name(record: &str, subtable_id: u32) -> String {
    let start = subtable_id / SUBTABLES_PER_CHUNK * SUBTABLES_PER_CHUNK;
    format!("{record}_chunk_{start}_{}", start + SUBTABLES_PER_CHUNK - 1)
}

#[derive(bincode::Encode)]
struct StoredTableRef<'a> {
    rows: Vec<StoredRowRef<'a>>,
    summary: Option<StoredRowRef<'a>>,
    metadata: &'a Metadata,
    aggregation_ops: &'a AggregationOps,
    max_rows: Option<u64>,
}

#[derive(bincode::Encode)]
struct StoredRowRef<'a> {
    label: &'a str,
    columns: &'a Columns,
    metadata: &'a Metadata,
    subtable_id: Option<u32>,
}

#[derive(bincode::Decode)]
struct StoredTable {
    rows: Vec<StoredRow>,
    summary: Option<StoredRow>,
    metadata: Metadata,
    aggregation_ops: AggregationOps,
    max_rows: Option<u64>,
}

#[derive(bincode::Decode)]
pub(crate) struct StoredRow {
    label: String,
    columns: Columns,
    metadata: Metadata,
    subtable_id: Option<u32>,
}

impl StoredRow {
    pub(crate) fn into_row(self) -> Row {
        let mut row = Row::new(self.label);
        row.columns = self.columns;
        row.metadata = self.metadata;
        row.subtable_id = self.subtable_id;
        row
    }
}

/// Encodes a table and all its loaded subtables.
///
/// Subtables are numbered 1..N depth-first as Matomo's `getSerialized`
/// does; the stored rows carry those ids. Subtable ids of rows whose
/// subtable is not loaded are not written (there is nothing to point to).
///
/// # Errors
///
/// [`DataTableError::Encode`] if bincode fails, [`DataTableError::TooLarge`]
/// if a payload exceeds [`MAX_PAYLOAD_BYTES`].
pub fn encode_table(table: &DataTable) -> Result<EncodedTable, DataTableError> {
    let mut subtables: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut next_id = 0;
    let root = encode_one(table, &mut next_id, &mut subtables)?;
    let root = write_blob(KIND_TABLE, &root)?;
    subtables.sort_by_key(|(id, _)| *id);
    let mut chunks = Vec::new();
    let mut position = 0;
    while position < subtables.len() {
        let start = subtables
            .get(position)
            .map_or(0, |(id, _)| id / SUBTABLES_PER_CHUNK * SUBTABLES_PER_CHUNK);
        let end = start + SUBTABLES_PER_CHUNK - 1;
        let members: Vec<&(u32, Vec<u8>)> = subtables[position..]
            .iter()
            .take_while(|(id, _)| *id <= end)
            .collect();
        position += members.len();
        let payload = chunk_payload(&members)?;
        chunks.push(EncodedChunk {
            start,
            end,
            bytes: write_blob(KIND_CHUNK, &payload)?,
        });
    }
    Ok(EncodedTable { root, chunks })
}

/// Encodes `table` (pre-order numbering of its subtables), pushing the
/// encoded subtables, and returns the table's own bincode bytes.
fn encode_one(
    table: &DataTable,
    next_id: &mut u32,
    subtables: &mut Vec<(u32, Vec<u8>)>,
) -> Result<Vec<u8>, DataTableError> {
    let mut rows = Vec::with_capacity(table.rows().len());
    let mut pending: Vec<(u32, &DataTable)> = Vec::new();
    for row in table.rows() {
        let subtable_id = match row.subtable.as_deref() {
            Some(subtable) => {
                *next_id += 1;
                // Pre-order: the subtable's own subtables are numbered right
                // after it, before the next sibling's.
                let id = *next_id;
                let bytes = encode_one(subtable, next_id, subtables)?;
                subtables.push((id, bytes));
                pending.push((id, subtable));
                Some(id)
            }
            None => None,
        };
        rows.push(row_ref(row, subtable_id));
    }
    let stored = StoredTableRef {
        rows,
        summary: table.summary_row().map(|row| row_ref(row, None)),
        metadata: &table.metadata,
        aggregation_ops: &table.aggregation_ops,
        max_rows: table.max_rows.and_then(|max| u64::try_from(max).ok()),
    };
    let bytes = bincode::encode_to_vec(&stored, bincode::config::standard())
        .map_err(DataTableError::Encode)?;
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(too_large(bytes.len()));
    }
    Ok(bytes)
}

fn row_ref(row: &Row, subtable_id: Option<u32>) -> StoredRowRef<'_> {
    StoredRowRef {
        label: &row.label,
        columns: &row.columns,
        metadata: &row.metadata,
        subtable_id,
    }
}

fn too_large(size: usize) -> DataTableError {
    DataTableError::TooLarge {
        size: u64::try_from(size).unwrap_or(u64::MAX),
        limit: MAX_PAYLOAD_BYTES as u64,
    }
}

fn u32_of(value: usize) -> Result<u32, DataTableError> {
    u32::try_from(value).map_err(|_| too_large(value))
}

fn chunk_payload(members: &[&(u32, Vec<u8>)]) -> Result<Vec<u8>, DataTableError> {
    let data_len: usize = members.iter().map(|(_, bytes)| bytes.len()).sum();
    let index_len = 4 + members.len() * INDEX_ENTRY_LEN;
    let mut payload = Vec::with_capacity(index_len + data_len);
    payload.extend_from_slice(&u32_of(members.len())?.to_le_bytes());
    let mut offset = 0;
    for (id, bytes) in members {
        payload.extend_from_slice(&id.to_le_bytes());
        payload.extend_from_slice(&u32_of(offset)?.to_le_bytes());
        payload.extend_from_slice(&u32_of(bytes.len())?.to_le_bytes());
        offset += bytes.len();
    }
    for (_, bytes) in members {
        payload.extend_from_slice(bytes);
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(too_large(payload.len()));
    }
    Ok(payload)
}

fn write_blob(kind: u8, payload: &[u8]) -> Result<Vec<u8>, DataTableError> {
    let raw_len = u32_of(payload.len())?;
    // The header is reserved in the output buffer, then filled in, so the
    // blob is built without a copy.
    let mut blob = Vec::with_capacity(HEADER_LEN + payload.len() / 3 + 64);
    blob.extend_from_slice(&[0; HEADER_LEN]);
    let mut stored = payload.len() <= STORED_MAX_BYTES;
    if !stored {
        deflate_into(payload, &mut blob)?;
        // Incompressible bytes are kept as they are.
        if blob.len() - HEADER_LEN >= payload.len() {
            blob.truncate(HEADER_LEN);
            stored = true;
        }
    }
    if stored {
        blob.extend_from_slice(payload);
    }
    blob[0..4].copy_from_slice(&MAGIC);
    blob[4] = FORMAT_VERSION;
    blob[5] = if stored { kind | STORED_FLAG } else { kind };
    blob[6..10].copy_from_slice(&raw_len.to_le_bytes());
    let crc = checksum(&blob[4..10], &blob[HEADER_LEN..]);
    blob[10..14].copy_from_slice(&crc.to_le_bytes());
    Ok(blob)
}

/// Appends the raw deflate form of `payload` to `out`, with this thread's
/// reused deflate state.
fn deflate_into(payload: &[u8], out: &mut Vec<u8>) -> Result<(), DataTableError> {
    let failed = |error: flate2::CompressError| {
        DataTableError::Compress(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
    };
    DEFLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        // Level 2, not zlib's default 6: a month built from days
        // compresses every merged table again. Level 3 deflated 2.7x
        // faster than 6 for blobs 12% larger; level 2 (zlib-rs's
        // `deflate_fast`, no lazy matching) takes a third less again for
        // blobs 4.5% larger than 3's, still smaller than the same rows as
        // gzip-compressed JSON (level 1 is not: docs/PERFORMANCE.md).
        // Inflating costs about the same at any level.
        let deflate =
            slot.get_or_insert_with(|| Compress::new(Compression::new(ZLIB_LEVEL), false));
        deflate.reset();
        let mut input = payload;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.len().max(1024));
            }
            let consumed_before = deflate.total_in();
            let produced_before = out.len();
            let status = deflate
                .compress_vec(input, out, FlushCompress::Finish)
                .map_err(failed)?;
            let consumed = consume(&mut input, consumed_before, deflate.total_in());
            match status {
                Status::StreamEnd => return Ok(()),
                Status::Ok | Status::BufError => {
                    if consumed == 0 && out.len() == produced_before && out.len() < out.capacity() {
                        return Err(DataTableError::Compress(std::io::Error::other(
                            "deflate made no progress",
                        )));
                    }
                }
            }
        }
    })
}

/// Drops from `input` what a (de)compressor consumed, given its
/// `total_in` before and after the call; returns how much that was.
fn consume(input: &mut &[u8], before: u64, after: u64) -> usize {
    let consumed = usize::try_from(after.saturating_sub(before))
        .unwrap_or(input.len())
        .min(input.len());
    *input = &input[consumed..];
    consumed
}

/// Inflates a raw deflate `payload` announced as `raw_len` bytes, with this
/// thread's reused inflate state. Never grows the output past `raw_len + 1`
/// bytes, whatever the payload claims.
fn inflate_raw(payload: &[u8], raw_len: usize) -> Result<Vec<u8>, DataTableError> {
    let failed = |error: flate2::DecompressError| {
        DataTableError::Decompress(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
    };
    // Never trust the announced size for more than what deflate can
    // plausibly expand the payload to; the vector grows if it was an
    // underestimate.
    let mut out =
        Vec::with_capacity(raw_len.min(payload.len().saturating_mul(8).saturating_add(1024)));
    INFLATE.with(|cell| -> Result<(), DataTableError> {
        let mut slot = cell.borrow_mut();
        let inflate = slot.get_or_insert_with(|| Decompress::new(false));
        inflate.reset(false);
        let mut input = payload;
        loop {
            if out.len() == out.capacity() {
                if out.len() > raw_len {
                    // More bytes than announced: the length check below
                    // reports it.
                    return Ok(());
                }
                let missing = raw_len + 1 - out.len();
                out.reserve_exact(missing.min(out.capacity().max(1024)));
            }
            let consumed_before = inflate.total_in();
            let produced_before = out.len();
            let status = inflate
                .decompress_vec(input, &mut out, FlushDecompress::Finish)
                .map_err(failed)?;
            let consumed = consume(&mut input, consumed_before, inflate.total_in());
            match status {
                Status::StreamEnd => return Ok(()),
                Status::Ok | Status::BufError => {
                    if consumed == 0 && out.len() == produced_before && out.len() < out.capacity() {
                        return Err(DataTableError::Decompress(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "deflate stream ends early",
                        )));
                    }
                }
            }
        }
    })?;
    Ok(out)
}

fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(payload);
    hasher.finalize()
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        KIND_TABLE => "root table",
        KIND_CHUNK => "subtable chunk",
        _ => "unknown blob kind",
    }
}

/// Checks the header and returns the decompressed payload.
pub(crate) fn read_blob(bytes: &[u8], expected_kind: u8) -> Result<Vec<u8>, DataTableError> {
    if bytes.len() < HEADER_LEN {
        if bytes.len() >= MAGIC.len() && bytes[..MAGIC.len()] != MAGIC {
            return Err(DataTableError::BadMagic);
        }
        return Err(DataTableError::Truncated {
            needed: HEADER_LEN,
            available: bytes.len(),
        });
    }
    let (header, payload) = bytes.split_at(HEADER_LEN);
    if header[0..4] != MAGIC {
        return Err(DataTableError::BadMagic);
    }
    let version = header[4];
    let raw_deflate = version == FORMAT_VERSION || version == FORMAT_VERSION_RAW_DEFLATE;
    if !raw_deflate && version != FORMAT_VERSION_ZLIB {
        return Err(DataTableError::UnknownFormat { found: version });
    }
    let stored = u32::from_le_bytes([header[10], header[11], header[12], header[13]]);
    let computed = checksum(&header[4..10], payload);
    if stored != computed {
        return Err(DataTableError::Checksum { stored, computed });
    }
    let uncompressed = raw_deflate && header[5] & STORED_FLAG != 0;
    let kind = if raw_deflate {
        header[5] & !STORED_FLAG
    } else {
        header[5]
    };
    if kind != expected_kind {
        return Err(DataTableError::WrongKind {
            expected: kind_name(expected_kind),
            found: kind_name(kind),
        });
    }
    let raw_len = u32::from_le_bytes([header[6], header[7], header[8], header[9]]);
    let raw_len = usize::try_from(raw_len).map_err(|_| too_large(usize::MAX))?;
    if raw_len > MAX_PAYLOAD_BYTES {
        return Err(too_large(raw_len));
    }
    let decompressed = if uncompressed {
        payload.to_vec()
    } else if raw_deflate {
        inflate_raw(payload, raw_len)?
    } else {
        inflate_zlib(payload, raw_len)?
    };
    if decompressed.len() != raw_len {
        return Err(DataTableError::LengthMismatch {
            expected: raw_len as u64,
            actual: decompressed.len() as u64,
        });
    }
    Ok(decompressed)
}

/// The payload of a version 1 blob (a zlib stream).
fn inflate_zlib(payload: &[u8], raw_len: usize) -> Result<Vec<u8>, DataTableError> {
    let capacity = raw_len.min(payload.len().saturating_mul(8).saturating_add(1024));
    let mut decompressed = Vec::with_capacity(capacity);
    let limit = u64::try_from(raw_len).unwrap_or(u64::MAX).saturating_add(1);
    ZlibDecoder::new(payload)
        .take(limit)
        .read_to_end(&mut decompressed)
        .map_err(DataTableError::Decompress)?;
    Ok(decompressed)
}

pub(crate) fn decode_payload(bytes: &[u8]) -> Result<DataTable, DataTableError> {
    let (stored, read) = decode_limited::<StoredTable>(bytes).map_err(DataTableError::Decode)?;
    if read != bytes.len() {
        return Err(DataTableError::CorruptChunk("trailing bytes after a table"));
    }
    let mut table = DataTable::from_rows(stored.rows.into_iter().map(StoredRow::into_row));
    if let Some(summary) = stored.summary {
        table.set_summary_row(summary.into_row());
    }
    table.metadata = stored.metadata;
    table.aggregation_ops = stored.aggregation_ops;
    table.max_rows = stored.max_rows.and_then(|max| usize::try_from(max).ok());
    Ok(table)
}

/// Decodes the root table alone; rows keep their `subtable_id`s but no
/// subtable is loaded.
///
/// # Errors
///
/// Any header, checksum, decompression or decoding error; never panics.
pub fn decode_root(bytes: &[u8]) -> Result<DataTable, DataTableError> {
    decode_payload(&read_blob(bytes, KIND_TABLE)?)
}

/// Parses a chunk's index into (id, byte range) entries.
pub(crate) fn chunk_index(
    payload: &[u8],
) -> Result<Vec<(u32, std::ops::Range<usize>)>, DataTableError> {
    let read_u32 = |at: usize| -> Result<u32, DataTableError> {
        payload
            .get(at..at + 4)
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
            .map(u32::from_le_bytes)
            .ok_or(DataTableError::CorruptChunk("index runs past the payload"))
    };
    let count = usize::try_from(read_u32(0)?).map_err(|_| DataTableError::CorruptChunk("count"))?;
    if count > (payload.len() - 4) / INDEX_ENTRY_LEN {
        return Err(DataTableError::CorruptChunk("count exceeds payload"));
    }
    let data_start = 4 + count * INDEX_ENTRY_LEN;
    let mut entries = Vec::with_capacity(count);
    for entry in 0..count {
        let at = 4 + entry * INDEX_ENTRY_LEN;
        let id = read_u32(at)?;
        let offset = usize::try_from(read_u32(at + 4)?)
            .map_err(|_| DataTableError::CorruptChunk("offset"))?;
        let len = usize::try_from(read_u32(at + 8)?)
            .map_err(|_| DataTableError::CorruptChunk("length"))?;
        let start = data_start
            .checked_add(offset)
            .ok_or(DataTableError::CorruptChunk("offset overflows"))?;
        let end = start
            .checked_add(len)
            .ok_or(DataTableError::CorruptChunk("length overflows"))?;
        if end > payload.len() {
            return Err(DataTableError::CorruptChunk("entry runs past the payload"));
        }
        entries.push((id, start..end));
    }
    Ok(entries)
}

/// Decodes one subtable from the chunk blob that holds it (see
/// [`chunk_blob_name`]); the other subtables of the chunk are not decoded.
///
/// # Errors
///
/// [`DataTableError::SubtableNotFound`] if the chunk lacks `subtable_id`,
/// or any header, checksum, decompression or decoding error.
pub fn decode_subtable(chunk: &[u8], subtable_id: u32) -> Result<DataTable, DataTableError> {
    let payload = read_blob(chunk, KIND_CHUNK)?;
    let (_, range) = chunk_index(&payload)?
        .into_iter()
        .find(|(id, _)| *id == subtable_id)
        .ok_or(DataTableError::SubtableNotFound { id: subtable_id })?;
    decode_payload(&payload[range])
}

/// Decodes every subtable of a chunk blob, in id order.
///
/// # Errors
///
/// Any header, checksum, decompression or decoding error.
pub fn decode_chunk(chunk: &[u8]) -> Result<Vec<(u32, DataTable)>, DataTableError> {
    let payload = read_blob(chunk, KIND_CHUNK)?;
    chunk_index(&payload)?
        .into_iter()
        .map(|(id, range)| Ok((id, decode_payload(&payload[range])?)))
        .collect()
}

/// Decodes the root table and attaches every subtable found in `chunks`,
/// recursively.
///
/// # Errors
///
/// [`DataTableError::SubtableNotFound`] when a row points to a subtable the
/// chunks lack (or that two rows share), [`DataTableError::TooDeep`] beyond
/// [`MAX_DEPTH`] levels, and any decoding error.
pub fn decode_tree<'a>(
    root: &[u8],
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<DataTable, DataTableError> {
    let mut table = decode_root(root)?;
    let mut subtables = HashMap::new();
    for chunk in chunks {
        subtables.extend(decode_chunk(chunk)?);
    }
    attach(&mut table, &mut subtables, 0)?;
    Ok(table)
}

/// [`decode_tree`] over an [`EncodedTable`].
///
/// # Errors
///
/// As [`decode_tree`].
pub fn decode_encoded(encoded: &EncodedTable) -> Result<DataTable, DataTableError> {
    decode_tree(
        &encoded.root,
        encoded.chunks.iter().map(|chunk| chunk.bytes.as_slice()),
    )
}

pub(crate) fn attach(
    table: &mut DataTable,
    subtables: &mut HashMap<u32, DataTable>,
    depth: usize,
) -> Result<(), DataTableError> {
    if depth >= MAX_DEPTH {
        return Err(DataTableError::TooDeep { limit: MAX_DEPTH });
    }
    for row in table.rows_mut() {
        if let Some(id) = row.subtable_id {
            // Taking the subtable out makes a cyclic or shared reference fail
            // instead of recursing forever.
            let mut subtable = subtables
                .remove(&id)
                .ok_or(DataTableError::SubtableNotFound { id })?;
            attach(&mut subtable, subtables, depth + 1)?;
            row.subtable = Some(Box::new(subtable));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::ColumnOp;
    use crate::value::{ColumnKey, Goals, Scalar, Value};

    fn tree_with_subtables(count: usize) -> DataTable {
        let mut table = DataTable::new();
        for index in 0..count {
            let leaf = DataTable::from_rows([Row::new(format!("leaf {index}")).with(2u16, 1)]);
            let sub = DataTable::from_rows([
                Row::new(format!("kw {index}"))
                    .with(2u16, i64::try_from(index).unwrap())
                    .with_subtable(leaf),
                Row::new("other").with(9u16, 1.25),
            ]);
            table
                .add_row(
                    Row::new(format!("engine {index}"))
                        .with(2u16, 10)
                        .with(
                            10u16,
                            Goals::new().with(
                                1,
                                [(ColumnKey::Id(1), Scalar::Int(2))].into_iter().collect(),
                            ),
                        )
                        .with_metadata("url", format!("https://e{index}.example/"))
                        .with_subtable(sub),
                )
                .unwrap();
        }
        table
            .add_row(Row::new("no subtable").with("custom", "x"))
            .unwrap();
        table.set_summary_row(Row::new("").with(2u16, 3));
        table.metadata.set("period".to_owned(), Scalar::from("day"));
        table
            .aggregation_ops
            .set(ColumnKey::from("custom"), ColumnOp::Skip);
        table.max_rows = Some(500);
        table
    }

    #[test]
    fn round_trip_of_a_tree_with_chunks() {
        // 60 top-level rows with a subtable each, each with one nested leaf:
        // 120 subtables → chunks 0_99 and 100_199.
        let mut table = tree_with_subtables(60);
        assert_eq!(table.number_subtables(), 120);
        let encoded = encode_table(&table).unwrap();
        let names: Vec<String> = encoded
            .chunks
            .iter()
            .map(|chunk| chunk.blob_name("Referrers_keywordBySearchEngine"))
            .collect();
        assert_eq!(
            names,
            vec![
                "Referrers_keywordBySearchEngine_chunk_0_99",
                "Referrers_keywordBySearchEngine_chunk_100_199"
            ]
        );
        assert_eq!(chunk_blob_name("r", 99), "r_chunk_0_99");
        assert_eq!(chunk_blob_name("r", 100), "r_chunk_100_199");
        let decoded = decode_encoded(&encoded).unwrap();
        assert_eq!(decoded, table);

        let root = decode_root(&encoded.root).unwrap();
        assert_eq!(root.rows().len(), 61);
        assert!(root.rows()[0].subtable.is_none());
        assert_eq!(root.rows()[0].subtable_id, Some(1));
        assert_eq!(root.rows()[1].subtable_id, Some(3));
        assert_eq!(root.rows()[59].subtable_id, Some(119));

        // Subtable 119 is engine 59's keywords; 120 its leaf; both in chunk 100_199.
        let keywords = decode_subtable(&encoded.chunks[1].bytes, 119).unwrap();
        assert_eq!(keywords.rows()[0].label, "kw 59");
        assert_eq!(keywords.rows()[0].subtable_id, Some(120));
        let leaf = decode_subtable(&encoded.chunks[1].bytes, 120).unwrap();
        assert_eq!(leaf.rows()[0].label, "leaf 59");
        assert!(matches!(
            decode_subtable(&encoded.chunks[0].bytes, 120),
            Err(DataTableError::SubtableNotFound { id: 120 })
        ));
        assert!(matches!(
            decode_tree(&encoded.root, [encoded.chunks[0].bytes.as_slice()]),
            Err(DataTableError::SubtableNotFound { id: 100 })
        ));
    }

    #[test]
    fn corrupt_truncated_and_foreign_bytes_are_errors() {
        let encoded = encode_table(&tree_with_subtables(2)).unwrap();
        let root = &encoded.root;
        assert!(matches!(
            decode_root(b""),
            Err(DataTableError::Truncated {
                needed: 14,
                available: 0
            })
        ));
        assert!(matches!(
            decode_root(b"<?xml version"),
            Err(DataTableError::BadMagic)
        ));
        assert!(matches!(
            decode_root(&root[..10]),
            Err(DataTableError::Truncated {
                needed: 14,
                available: 10
            })
        ));
        assert!(matches!(
            decode_root(&root[..root.len() - 1]),
            Err(DataTableError::Checksum { .. })
        ));
        let mut flipped = root.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        assert!(matches!(
            decode_root(&flipped),
            Err(DataTableError::Checksum { .. })
        ));
        let mut version = root.clone();
        version[4] = 9;
        let error = decode_root(&version).unwrap_err();
        assert_eq!(
            error.to_string(),
            "not a tally datatable blob (format version 9)"
        );
        assert!(matches!(
            decode_root(&encoded.chunks[0].bytes),
            Err(DataTableError::WrongKind {
                expected: "root table",
                found: "subtable chunk"
            })
        ));
        let php = b"a:1:{i:0;a:3:{i:0;a:1:{s:5:\"label\";s:3:\"foo\";}}}";
        assert!(matches!(decode_root(php), Err(DataTableError::BadMagic)));
    }

    /// Builds a blob with a valid header around any payload, to reach the
    /// decompressor and bincode with hostile bytes.
    fn blob_around(kind: u8, payload: &[u8], announced: u32) -> Vec<u8> {
        let mut compressed = Vec::new();
        deflate_into(payload, &mut compressed).unwrap();
        header_around(FORMAT_VERSION, kind, &compressed, announced)
    }

    fn header_around(version: u8, kind: u8, stored: &[u8], announced: u32) -> Vec<u8> {
        let mut blob = Vec::new();
        blob.extend_from_slice(&MAGIC);
        blob.push(version);
        blob.push(kind);
        blob.extend_from_slice(&announced.to_le_bytes());
        let crc = checksum(&blob[4..10], stored);
        blob.extend_from_slice(&crc.to_le_bytes());
        blob.extend_from_slice(stored);
        blob
    }

    #[test]
    fn small_payloads_are_stored_and_larger_ones_deflated() {
        let small = DataTable::from_rows([Row::new("/home").with(2u16, 3)]);
        let blob = encode_table(&small).unwrap().root;
        assert_eq!(blob[5], KIND_TABLE | STORED_FLAG);
        let raw_len = u32::from_le_bytes([blob[6], blob[7], blob[8], blob[9]]);
        assert_eq!(blob.len(), HEADER_LEN + raw_len as usize);
        assert_eq!(decode_root(&blob).unwrap(), small);

        let large = DataTable::from_rows(
            (0..500).map(|i| Row::new(format!("/section/page-{i}")).with(2u16, i)),
        );
        let first = encode_table(&large).unwrap().root;
        assert_eq!(first[4], FORMAT_VERSION);
        assert_eq!(first[5], KIND_TABLE);
        let raw_len = u32::from_le_bytes([first[6], first[7], first[8], first[9]]);
        assert!(first.len() < HEADER_LEN + raw_len as usize / 2);
        // The reused deflate state starts afresh for every blob: the same
        // table gives the same bytes, before and after other tables.
        let _ = encode_table(&tree_with_subtables(30)).unwrap();
        assert_eq!(encode_table(&large).unwrap().root, first);
        assert_eq!(decode_root(&first).unwrap(), large);
        // A stored payload whose length differs from the header's.
        let payload = read_blob(&blob, KIND_TABLE).unwrap();
        let wrong = header_around(FORMAT_VERSION, KIND_TABLE | STORED_FLAG, &payload, raw_len);
        assert!(matches!(
            decode_root(&wrong),
            Err(DataTableError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn version_2_blobs_still_decode() {
        // Version 2 differs only in not knowing thousandths, so a table
        // without floats is the same payload under either header.
        let mut table = DataTable::from_rows((0..300).map(|i| {
            let mut row = Row::new(format!("/section-{i}")).with(2u16, i);
            row.subtable = Some(Box::new(DataTable::from_rows([Row::new(format!(
                "/section-{i}/page"
            ))
            .with(2u16, 1)])));
            row
        }));
        table.number_subtables();
        let encoded = encode_table(&table).unwrap();
        let older = |blob: &[u8]| {
            let mut blob = blob.to_vec();
            blob[4] = FORMAT_VERSION_RAW_DEFLATE;
            let crc = checksum(&blob[4..10], &blob[HEADER_LEN..]);
            blob[10..14].copy_from_slice(&crc.to_le_bytes());
            blob
        };
        let root = older(&encoded.root);
        let chunks: Vec<Vec<u8>> = encoded.chunks.iter().map(|c| older(&c.bytes)).collect();
        assert_eq!(root[4], 2);
        let decoded = decode_tree(&root, chunks.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(decoded, table);
        // A version from the future is refused, not misread.
        let mut future = encoded.root.clone();
        future[4] = FORMAT_VERSION + 1;
        assert!(matches!(
            decode_root(&future),
            Err(DataTableError::UnknownFormat { found: 4 })
        ));
    }

    #[test]
    fn version_1_blobs_with_a_zlib_stream_still_decode() {
        use std::io::Write as _;
        let mut table = tree_with_subtables(3);
        table.number_subtables();
        let encoded = encode_table(&table).unwrap();
        let legacy = |blob: &[u8], kind: u8| {
            let payload = read_blob(blob, kind).unwrap();
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), Compression::new(ZLIB_LEVEL));
            encoder.write_all(&payload).unwrap();
            let compressed = encoder.finish().unwrap();
            let announced = u32::try_from(payload.len()).unwrap();
            header_around(FORMAT_VERSION_ZLIB, kind, &compressed, announced)
        };
        let root = legacy(&encoded.root, KIND_TABLE);
        let chunks: Vec<Vec<u8>> = encoded
            .chunks
            .iter()
            .map(|chunk| legacy(&chunk.bytes, KIND_CHUNK))
            .collect();
        let decoded = decode_tree(&root, chunks.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(decoded, table);
        // The stored flag means nothing in version 1.
        let mut flagged = root.clone();
        flagged[5] |= STORED_FLAG;
        let crc = checksum(&flagged[4..10], &flagged[HEADER_LEN..]);
        flagged[10..14].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            decode_root(&flagged),
            Err(DataTableError::WrongKind { .. })
        ));
    }

    #[test]
    fn hostile_payloads_behind_a_valid_header_are_errors() {
        // A row count of 2^63 must not allocate.
        let huge_vec = [0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
        let blob = blob_around(KIND_TABLE, &huge_vec, 9);
        assert!(matches!(decode_root(&blob), Err(DataTableError::Decode(_))));
        // A label claiming 60 MiB of text in a 10-byte payload.
        let huge_string = [1, 0xFC, 0x00, 0x00, 0xC0, 0x03, 0, 0, 0, 0];
        let blob = blob_around(KIND_TABLE, &huge_string, 10);
        assert!(matches!(decode_root(&blob), Err(DataTableError::Decode(_))));
        // Announced length differs from the real one.
        let blob = blob_around(KIND_TABLE, &[0, 0, 0, 0], 3);
        assert!(matches!(
            decode_root(&blob),
            Err(DataTableError::LengthMismatch {
                expected: 3,
                actual: 4
            })
        ));
        let blob = blob_around(KIND_TABLE, &[0; 4], u32::MAX);
        assert!(matches!(
            decode_root(&blob),
            Err(DataTableError::TooLarge { .. })
        ));
        // Chunk index pointing outside the payload.
        let mut index = Vec::new();
        index.extend_from_slice(&1u32.to_le_bytes());
        index.extend_from_slice(&7u32.to_le_bytes());
        index.extend_from_slice(&0u32.to_le_bytes());
        index.extend_from_slice(&1000u32.to_le_bytes());
        let blob = blob_around(KIND_CHUNK, &index, 16);
        assert!(matches!(
            decode_subtable(&blob, 7),
            Err(DataTableError::CorruptChunk(_))
        ));
        let count_only = u32::MAX.to_le_bytes();
        let blob = blob_around(KIND_CHUNK, &count_only, 4);
        assert!(matches!(
            decode_chunk(&blob),
            Err(DataTableError::CorruptChunk(_))
        ));
        // Two rows pointing to the same subtable (a cycle would look alike).
        let shared = DataTable::from_rows([Row::new("s")]);
        let mut table = DataTable::from_rows([Row::new("a").with_subtable(shared)]);
        let encoded = encode_table(&table).unwrap();
        table.rows_mut()[0].subtable = None;
        let mut root = decode_root(&encoded.root).unwrap();
        root.rows_mut()[0].subtable_id = Some(1);
        root.add_row(Row::new("b")).unwrap();
        root.rows_mut()[1].subtable_id = Some(1);
        let reencoded_root = {
            // Re-encode by hand: encode_table drops ids without subtables.
            let rows: Vec<StoredRowRef<'_>> = root
                .rows()
                .iter()
                .map(|row| row_ref(row, row.subtable_id))
                .collect();
            let stored = StoredTableRef {
                rows,
                summary: None,
                metadata: &root.metadata,
                aggregation_ops: &root.aggregation_ops,
                max_rows: None,
            };
            let bytes = bincode::encode_to_vec(&stored, bincode::config::standard()).unwrap();
            write_blob(KIND_TABLE, &bytes).unwrap()
        };
        assert!(matches!(
            decode_tree(&reencoded_root, [encoded.chunks[0].bytes.as_slice()]),
            Err(DataTableError::SubtableNotFound { id: 1 })
        ));
        assert_eq!(table.rows()[0].column("x"), None::<&Value>);
    }
}
