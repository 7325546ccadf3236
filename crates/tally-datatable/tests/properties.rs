//! Property tests: storage round trip, decoder robustness, merge algebra,
//! truncation totals.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use proptest::prelude::*;
use tally_datatable::storage::{
    decode_chunk, decode_encoded, decode_root, decode_subtable, encode_table,
};
use tally_datatable::{
    AggregationOps, ColumnKey, ColumnOp, DataTable, GoalColumns, Goals, Row, Scalar, TableSum,
    Value,
};

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        any::<i64>().prop_map(Scalar::Int),
        (-1e12f64..1e12).prop_map(Scalar::Float),
        (-90_000i32..90_000).prop_map(|ms| Scalar::Float(f64::from(ms) / 1000.0)),
        "[a-z/é ]{0,8}".prop_map(Scalar::Str),
    ]
}

fn key() -> impl Strategy<Value = ColumnKey> {
    prop_oneof![
        (1u16..44).prop_map(ColumnKey::Id),
        "[a-z_]{1,6}".prop_map(ColumnKey::Name),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        scalar().prop_map(Value::from),
        prop::collection::vec(
            (
                -1i64..5,
                prop::collection::vec(((1u16..18).prop_map(ColumnKey::Id), scalar()), 0..3)
            ),
            0..3
        )
        .prop_map(|goals| {
            Value::Goals(Goals(
                goals
                    .into_iter()
                    .map(|(idgoal, columns)| (idgoal, columns.into_iter().collect::<GoalColumns>()))
                    .collect(),
            ))
        }),
    ]
}

fn row(depth: u32) -> BoxedStrategy<Row> {
    let base = (
        "[A-Za-z0-9 /.-]{0,12}",
        prop::collection::vec((key(), value()), 0..5),
        prop::collection::vec(("[a-z]{1,5}", scalar()), 0..2),
    )
        .prop_map(|(label, columns, metadata)| {
            let mut row = Row::new(label);
            for (key, value) in columns {
                row.columns.set(key, value);
            }
            for (name, value) in metadata {
                row.metadata.set(name, value);
            }
            row
        });
    if depth == 0 {
        base.boxed()
    } else {
        (base, prop::option::of(table(depth - 1)))
            .prop_map(|(mut row, subtable)| {
                row.subtable = subtable.map(Box::new);
                row
            })
            .boxed()
    }
}

fn table(depth: u32) -> BoxedStrategy<DataTable> {
    (
        prop::collection::vec(row(depth), 0..6),
        prop::option::of(row(0)),
        prop::collection::vec(("[a-z]{1,5}", scalar()), 0..2),
        prop::option::of(1usize..1000),
    )
        .prop_map(|(rows, summary, metadata, max_rows)| {
            let mut table = DataTable::from_rows(rows);
            if let Some(summary) = summary {
                table.set_summary_row(summary);
            }
            for (name, value) in metadata {
                table.metadata.set(name, value);
            }
            table
                .aggregation_ops
                .set(ColumnKey::from("m"), ColumnOp::Max);
            table.max_rows = max_rows;
            table
        })
        .boxed()
}

proptest! {
    #[test]
    fn encode_then_decode_is_the_identity(mut input in table(2)) {
        input.number_subtables();
        let encoded = encode_table(&input).unwrap();
        let decoded = decode_encoded(&encoded).unwrap();
        prop_assert_eq!(&decoded, &input);
        let root = decode_root(&encoded.root).unwrap();
        prop_assert_eq!(root.rows().len(), input.rows().len());
    }

    /// Fuzz target for the decoder: arbitrary bytes never panic.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_root(&bytes);
        let _ = decode_chunk(&bytes);
        let _ = decode_subtable(&bytes, 1);
        for header in [b"TLDT\x01\x01", b"TLDT\x02\x01", b"TLDT\x02\x81"] {
            let mut tagged = header.to_vec();
            tagged.extend_from_slice(&bytes);
            let _ = decode_root(&tagged);
        }
    }

    /// Mutations of real blobs, with the checksum fixed up so that the
    /// decompressor and bincode see the damage.
    #[test]
    fn decoding_damaged_blobs_never_panics(
        input in table(1),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let encoded = encode_table(&input).unwrap();
        let mut blob = encoded.root.clone();
        for (index, byte) in flips {
            let position = 14 + index.index(blob.len() - 14);
            blob[position] ^= byte | 1;
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&blob[4..10]);
        hasher.update(&blob[14..]);
        let crc = hasher.finalize().to_le_bytes();
        blob[10..14].copy_from_slice(&crc);
        let _ = decode_root(&blob);
        let _ = decode_root(&blob[..cut.index(blob.len())]);
    }

    #[test]
    fn merge_is_commutative_and_associative_on_sums(
        a in sum_table(), b in sum_table(), c in sum_table(),
    ) {
        let merged = |first: &DataTable, second: &DataTable| {
            let mut result = first.clone();
            result.merge(second).unwrap();
            result
        };
        prop_assert_eq!(sums(&merged(&a, &b)), sums(&merged(&b, &a)));
        prop_assert_eq!(sums(&merged(&merged(&a, &b), &c)), sums(&merged(&a, &merged(&b, &c))));
        let total = sums(&merged(&merged(&a, &b), &c));
        for (path, value) in sums(&a).into_iter().chain(sums(&b)).chain(sums(&c)) {
            prop_assert!(total.contains_key(&path), "{path:?} {value}");
        }
    }

    #[test]
    fn truncation_preserves_column_totals(input in sum_table(), max_rows in 1usize..8) {
        let before = (input.column_total("nb_visits"), input.column_total("nb_actions"));
        let mut truncated = input.clone();
        truncated.truncate(max_rows, "nb_visits").unwrap();
        let expected_rows = input.rows_count().min(max_rows);
        prop_assert_eq!(truncated.rows_count(), expected_rows);
        prop_assert_eq!((truncated.column_total("nb_visits"), truncated.column_total("nb_actions")), before);
    }
}

/// Tables with integer sum columns, goals and subtables (labels from a small
/// set so that merges meet).
fn sum_table() -> BoxedStrategy<DataTable> {
    let leaf = prop::collection::vec(("[ab]", 0i64..1000), 0..4).prop_map(|rows| {
        let mut table = DataTable::new();
        for (label, visits) in rows {
            let columns = [(ColumnKey::Id(2), Value::Int(visits))]
                .into_iter()
                .collect();
            table
                .sum_row_with_label(&label, columns)
                .expect("integer columns sum");
        }
        table
    });
    let row = (
        "[a-e]",
        0i64..1000,
        0i64..1000,
        prop::option::of((0i64..3, 0i64..50)),
        prop::option::of(leaf),
    );
    (
        prop::collection::vec(row, 0..8),
        prop::option::of(0i64..100),
    )
        .prop_map(|(rows, summary)| {
            let mut table = DataTable::new();
            for (label, visits, actions, goal, subtable) in rows {
                if table.row_by_label(&label).is_some() {
                    continue;
                }
                let mut row = Row::new(label).with(2u16, visits).with(3u16, actions);
                if let Some((idgoal, conversions)) = goal {
                    let columns: GoalColumns = [(ColumnKey::Id(1), Scalar::Int(conversions))]
                        .into_iter()
                        .collect();
                    row = row.with(10u16, Goals::new().with(idgoal, columns));
                }
                row.subtable = subtable.map(Box::new);
                table.add_row(row).expect("no row limit");
            }
            if let Some(visits) = summary {
                table.set_summary_row(Row::new("").with(2u16, visits));
            }
            table.aggregation_ops = AggregationOps::new();
            table
        })
        .boxed()
}

/// Every numeric value by (label path, column), goals flattened.
fn sums(table: &DataTable) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    collect(table, "", &mut out);
    out
}

fn collect(table: &DataTable, prefix: &str, out: &mut BTreeMap<(String, String), i64>) {
    for row in table.all_rows() {
        let path = format!("{prefix}>{}", row.label);
        for (key, value) in row.columns.iter() {
            match value {
                Value::Int(number) => {
                    out.insert((path.clone(), key.name().into_owned()), *number);
                }
                Value::Goals(goals) => {
                    for (idgoal, columns) in goals.0.iter() {
                        for (goal_key, goal_value) in columns.iter() {
                            if let Scalar::Int(number) = goal_value {
                                out.insert(
                                    (
                                        path.clone(),
                                        format!("goal{idgoal}.{}", goal_key.goal_name()),
                                    ),
                                    *number,
                                );
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(subtable) = row.subtable.as_deref() {
            collect(subtable, &path, out);
        }
    }
}

/// Rows of archived shape: few labels (so tables overlap), mostly numeric
/// columns under metric ids, now and then a named, string or goals column,
/// metadata, and subtables of the same shape.
fn archived_row(depth: u32) -> BoxedStrategy<Row> {
    let column = prop_oneof![
        8 => (
            prop::sample::select(vec![1u16, 2, 4, 11, 12, 14, 17, 39, 200]),
            prop_oneof![
                4 => (0i64..50).prop_map(Value::Int),
                1 => (0.0f64..9.0).prop_map(Value::Float),
                // Seconds from milliseconds, as page timings hold them
                // (stored as counts of thousandths).
                1 => (0u32..90_000).prop_map(|ms| Value::Float(f64::from(ms) / 1000.0)),
            ],
        )
            .prop_map(|(id, value)| (ColumnKey::Id(id), value)),
        1 => (key(), value()),
    ];
    let base = (
        prop::sample::select(vec!["a", "b", "c", "-1"]),
        prop::collection::vec(column, 0..6),
        prop::collection::vec((prop::sample::select(vec!["url", "logo"]), scalar()), 0..2),
    )
        .prop_map(|(label, columns, metadata)| {
            let mut row = Row::new(label);
            for (key, value) in columns {
                row.columns.set(key, value);
            }
            for (name, value) in metadata {
                row.metadata.set(name.to_owned(), value);
            }
            row
        });
    if depth == 0 {
        base.boxed()
    } else {
        (base, prop::option::of(archived_table(depth - 1)))
            .prop_map(|(mut row, subtable)| {
                row.subtable = subtable.map(Box::new);
                row
            })
            .boxed()
    }
}

fn archived_table(depth: u32) -> BoxedStrategy<DataTable> {
    (
        prop::collection::vec(archived_row(depth), 0..5),
        prop::option::of(archived_row(0)),
        prop::option::of(2usize..4),
    )
        .prop_map(|(rows, summary, max_rows)| {
            let mut table = DataTable::from_rows(rows);
            if let Some(summary) = summary {
                table.set_summary_row(summary);
            }
            table.max_rows = max_rows;
            table
        })
        .boxed()
}

proptest! {
    /// `TableSum` over stored bytes gives what decoding each table,
    /// renaming it and merging it gives (or fails where that fails).
    #[test]
    fn table_sum_equals_decode_and_merge(
        tables in prop::collection::vec(archived_table(2), 1..5),
        renames in 0u8..3,
        ops in prop::collection::vec(
            (
                prop::sample::select(vec![1u16, 2, 12, 17]),
                prop::sample::select(vec![ColumnOp::Max, ColumnOp::Min, ColumnOp::Skip, ColumnOp::Sum]),
            ),
            0..3,
        ),
    ) {
        let ops: AggregationOps = ops.into_iter().map(|(id, op)| (ColumnKey::Id(id), op)).collect();
        let id_pairs: &[(u16, u16)] = match renames {
            0 => &[],
            1 => &tally_datatable::metrics::RENAME_AFTER_AGGREGATION,
            _ => &tally_datatable::metrics::RENAME_AFTER_AGGREGATION_ACTIONS,
        };
        let mut merged = DataTable::new();
        merged.aggregation_ops = ops.clone();
        let mut sum = TableSum::new(ops.clone());
        let mut expected = Ok(());
        let mut actual = Ok(());
        for table in &tables {
            let encoded = encode_table(table).unwrap();
            if expected.is_ok() {
                let mut decoded = decode_encoded(&encoded).unwrap();
                if renames > 0 {
                    decoded.rename_after_aggregation(renames == 2);
                }
                expected = merged.merge(&decoded);
            }
            if actual.is_ok() {
                actual = sum.add_stored(
                    &encoded.root,
                    encoded.chunks.iter().map(|chunk| chunk.bytes.as_slice()),
                    id_pairs,
                );
            }
        }
        prop_assert_eq!(expected.is_ok(), actual.is_ok(), "{:?} vs {:?}", expected, actual);
        // Split two and three ways by label, each part given every table,
        // then joined: the same table, or an error where the sum fails.
        for count in [2usize, 3] {
            let mut parts: Vec<TableSum> =
                (0..count).map(|index| TableSum::part(ops.clone(), index, count)).collect();
            let mut failed = false;
            for table in &tables {
                let encoded = encode_table(table).unwrap();
                for part in &mut parts {
                    failed |= part
                        .add_stored(
                            &encoded.root,
                            encoded.chunks.iter().map(|chunk| chunk.bytes.as_slice()),
                            id_pairs,
                        )
                        .is_err();
                }
            }
            prop_assert_eq!(failed, expected.is_err());
            if !failed {
                prop_assert_eq!(&TableSum::join(parts).unwrap(), &merged);
            }
        }
        if expected.is_ok() {
            prop_assert_eq!(sum.finish(), merged);
        }
    }

    /// The byte walker of `TableSum` on damaged payloads (recompressed
    /// behind a valid header, so the walker sees the damage): errors, no
    /// panic. The intact table is added first so that damaged rows meet
    /// existing labels and take the in-place path.
    #[test]
    fn table_sum_of_damaged_payloads_never_panics(
        input in archived_table(2),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let encoded = encode_table(&input).unwrap();
        let chunks: Vec<&[u8]> = encoded.chunks.iter().map(|c| c.bytes.as_slice()).collect();
        let mut payload = Vec::new();
        if encoded.root[5] & 0x80 == 0 {
            flate2::read::DeflateDecoder::new(&encoded.root[14..]).read_to_end(&mut payload).unwrap();
        } else {
            payload.extend_from_slice(&encoded.root[14..]);
        }
        for (index, byte) in flips {
            let at = index.index(payload.len());
            payload[at] ^= byte | 1;
        }
        let cut_payload = payload[..cut.index(payload.len())].to_vec();
        for damaged in [payload, cut_payload] {
            let mut sum = TableSum::new(AggregationOps::new());
            let _ = sum.add_stored(&encoded.root, chunks.iter().copied(), &[]);
            let blob = blob_of(&damaged);
            prop_assert!(blob.is_some());
            if let Some(blob) = blob {
                let _ = sum.add_stored(&blob, chunks.iter().copied(), &[]);
            }
        }
    }
}

/// A root-table blob around `payload` with a correct header.
fn blob_of(payload: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(payload).ok()?;
    let compressed = encoder.finish().ok()?;
    let mut blob = b"TLDT\x02\x01".to_vec();
    blob.extend_from_slice(&u32::try_from(payload.len()).ok()?.to_le_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&blob[4..10]);
    hasher.update(&compressed);
    blob.extend_from_slice(&hasher.finalize().to_le_bytes());
    blob.extend_from_slice(&compressed);
    Some(blob)
}
