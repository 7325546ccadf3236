//! DataTable storage and aggregation (issue 4).
//!
//! * encode (bincode + zlib) and decode of a 10,000-row table with 100
//!   subtables of 50 rows, decode of its root alone and of one subtable;
//! * merge of 31 day tables of 5,000 rows into a month: decoded tables
//!   merged with `DataTable::merge`, and the stored tables summed from
//!   their bytes with `TableSum` (what the archiver does);
//! * the same sum over 31 page report days whose labels come back every
//!   day and whose rows carry Matomo 5's per-goal metrics (`goals`).
//!
//! Sizes (bytes/row, gzip-compressed JSON of the same rows) are printed to
//! stderr before the timings.

use std::hint::black_box;
use std::io::Write;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use flate2::Compression;
use flate2::write::GzEncoder;
use tally_datatable::render::{self, RenderOptions, Report};
use tally_datatable::storage::{decode_encoded, decode_root, decode_subtable, encode_table};
use tally_datatable::{
    AggregationOps, ColumnKey, DataTable, Goals, Row, Scalar, TableSum, metrics,
};

/// A deterministic pseudo-random sequence (xorshift), so runs compare.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self, below: u64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        i64::try_from(self.0 % below).unwrap_or(0)
    }
}

/// A row with the 8 visit metrics of a standard visit-dimension record.
fn visit_row(label: String, sequence: &mut Sequence) -> Row {
    let visits = 1 + sequence.next(500);
    Row::new(label)
        .with(
            1u16,
            visits - sequence.next(u64::try_from(visits).unwrap_or(1)),
        )
        .with(2u16, visits)
        .with(3u16, visits + sequence.next(2000))
        .with(39u16, sequence.next(3))
        .with(4u16, 1 + sequence.next(40))
        .with(5u16, visits * (30 + sequence.next(600)))
        .with(6u16, sequence.next(u64::try_from(visits).unwrap_or(1)))
        .with(7u16, sequence.next(5))
}

fn big_table() -> DataTable {
    let mut sequence = Sequence(0x9E37_79B9_7F4A_7C15);
    let mut rows = Vec::with_capacity(10_000);
    for index in 0..10_000 {
        let mut row = visit_row(
            format!("/section-{}/page-{index}.html", index % 37),
            &mut sequence,
        );
        if index % 10 == 0 {
            row = row.with_metadata(
                "url",
                format!(
                    "https://shop.example.org/section-{}/page-{index}.html",
                    index % 37
                ),
            );
        }
        if index % 25 == 0 {
            let goal = [(ColumnKey::Id(1), Scalar::Int(sequence.next(9)))]
                .into_iter()
                .collect();
            row = row.with(10u16, Goals::new().with(1, goal));
        }
        if index < 100 {
            let subtable =
                DataTable::from_rows((0..50).map(|sub| {
                    visit_row(format!("keyword {sub} for page {index}"), &mut sequence)
                }));
            row = row.with_subtable(subtable);
        }
        rows.push(row);
    }
    DataTable::from_rows(rows)
}

fn day_tables() -> Vec<DataTable> {
    let mut sequence = Sequence(0x2545_F491_4F6C_DD1D);
    (0..31)
        .map(|_| {
            // Labels drawn from a pool of 8,000 so days overlap as real
            // pages do; 5,000 distinct labels per day.
            let mut table = DataTable::new();
            let start = sequence.next(3000);
            for offset in 0..5000 {
                let label = format!("/section-{}/page-{}.html", offset % 37, start + offset);
                table
                    .add_row(visit_row(label, &mut sequence))
                    .unwrap_or_default();
            }
            table
        })
        .collect()
}

/// A month of page report days: 5,000 of the same 6,000 pages every day
/// (pages come back, unlike `day_tables`' labels), with what the Actions
/// builder adds to page rows: the goal metrics of Matomo 5 (seven per
/// goal) on two rows in three, for one to three of four goals.
fn page_day_tables() -> Vec<DataTable> {
    let mut sequence = Sequence(0x5DEE_CE66_D1CE_4E5B);
    (0..31)
        .map(|_| {
            let mut table = DataTable::new();
            let start = sequence.next(1000);
            for page in start..start + 5000 {
                let label = format!("/section-{}/page-{page}.html", page % 37);
                let mut row = visit_row(label, &mut sequence);
                if sequence.next(3) != 0 {
                    row = row.with(10u16, page_goals(&mut sequence));
                }
                table.add_row(row).unwrap_or_default();
            }
            table
        })
        .collect()
}

/// One to three goals of seven metrics each, as a page row carries them.
fn page_goals(sequence: &mut Sequence) -> Goals {
    let mut goals = Goals::new();
    for idgoal in 0..4 {
        if goals.0.len() == 3 || (idgoal > 0 && sequence.next(2) == 0) {
            continue;
        }
        let conversions = 1 + sequence.next(20);
        #[expect(clippy::cast_precision_loss, reason = "small test values")]
        let revenue = conversions as f64 * 12.5;
        let goal = [
            (1u16, Scalar::Int(conversions)),
            (2, Scalar::Float(revenue)),
            (3, Scalar::Int(sequence.next(9))),
            (4, Scalar::Float(0.3333)),
            (5, Scalar::Int(conversions)),
            (6, Scalar::Float(revenue / 3.0)),
            (7, Scalar::Int(1)),
        ]
        .into_iter()
        .map(|(id, value)| (ColumnKey::Id(id), value))
        .collect();
        goals = goals.with(idgoal, goal);
    }
    goals
}

fn sizes(table: &DataTable) {
    let encoded = encode_table(table).unwrap_or_default();
    let stored = encoded.root.len()
        + encoded
            .chunks
            .iter()
            .map(|chunk| chunk.bytes.len())
            .sum::<usize>();
    let rows = table.rows_count_recursive();
    let options = RenderOptions {
        expanded: true,
        ..RenderOptions::default()
    };
    let json = render::json(&Report::Table(table.clone()), &options);
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(json.as_bytes()).unwrap_or_default();
    let gzip_len = gzip.finish().map(|bytes| bytes.len()).unwrap_or_default();
    #[expect(clippy::cast_precision_loss, reason = "byte counts for a report")]
    let per_row = |bytes: usize| bytes as f64 / rows as f64;
    eprintln!(
        "datatable sizes: rows={rows} root_bytes={} chunks={} stored_bytes={stored} ({:.2} B/row) \
         json_bytes={} gzip_json_bytes={gzip_len} ({:.2} B/row)",
        encoded.root.len(),
        encoded.chunks.len(),
        per_row(stored),
        json.len(),
        per_row(gzip_len),
    );
}

fn storage(criterion: &mut Criterion) {
    let table = big_table();
    sizes(&table);
    let encoded = encode_table(&table).unwrap_or_default();
    let rows = u64::try_from(table.rows_count_recursive()).unwrap_or(0);
    let mut group = criterion.benchmark_group("datatable_storage");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("encode_10k_rows_100_subtables", |bencher| {
        bencher.iter(|| encode_table(black_box(&table)));
    });
    group.bench_function("decode_10k_rows_100_subtables", |bencher| {
        bencher.iter(|| decode_encoded(black_box(&encoded)));
    });
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("decode_root_10k_rows", |bencher| {
        bencher.iter(|| decode_root(black_box(&encoded.root)));
    });
    group.throughput(Throughput::Elements(50));
    group.bench_function("decode_one_subtable", |bencher| {
        let chunk = encoded
            .chunks
            .first()
            .map(|chunk| chunk.bytes.clone())
            .unwrap_or_default();
        bencher.iter(|| decode_subtable(black_box(&chunk), 57));
    });
    group.finish();
}

fn merge(criterion: &mut Criterion) {
    let days = day_tables();
    let mut group = criterion.benchmark_group("datatable_merge");
    group.sample_size(20);
    group.throughput(Throughput::Elements(31 * 5000));
    group.bench_function("merge_31_days_of_5000_rows", |bencher| {
        bencher.iter_batched(
            DataTable::new,
            |mut month| {
                for day in &days {
                    month.merge(black_box(day)).unwrap_or_default();
                }
                month.rename_after_aggregation(false);
                month.truncate(500, "nb_visits").unwrap_or_default();
                month
            },
            BatchSize::LargeInput,
        );
    });
    // What the archiver does: the day tables as stored (compressed
    // blobs), summed from their bytes with the day renames, then
    // truncated. Includes decompressing every day.
    let stored: Vec<_> = days
        .iter()
        .map(|day| encode_table(day).unwrap_or_default())
        .collect();
    group.bench_function("table_sum_31_stored_days_of_5000_rows", |bencher| {
        bencher.iter(|| {
            let mut sum = TableSum::new(AggregationOps::new());
            for day in &stored {
                sum.add_stored(
                    black_box(&day.root),
                    day.chunks.iter().map(|chunk| chunk.bytes.as_slice()),
                    &metrics::RENAME_AFTER_AGGREGATION,
                )
                .unwrap_or_default();
            }
            let mut month = sum.finish();
            month.truncate(500, "nb_visits").unwrap_or_default();
            month
        });
    });
    // The same with page goal metrics on the rows (the Actions page
    // reports' nested `goals` column).
    let stored_pages: Vec<_> = page_day_tables()
        .iter()
        .map(|day| encode_table(day).unwrap_or_default())
        .collect();
    group.bench_function("table_sum_31_stored_page_days_with_goals", |bencher| {
        bencher.iter(|| {
            let mut sum = TableSum::new(AggregationOps::new());
            for day in &stored_pages {
                sum.add_stored(
                    black_box(&day.root),
                    day.chunks.iter().map(|chunk| chunk.bytes.as_slice()),
                    &metrics::RENAME_AFTER_AGGREGATION_ACTIONS,
                )
                .unwrap_or_default();
            }
            sum.finish()
        });
    });
    group.finish();
}

criterion_group!(benches, storage, merge);
criterion_main!(benches);
