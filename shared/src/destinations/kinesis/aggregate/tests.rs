use super::*;
use crate::sources::kpl::deaggregate;
use proptest::prelude::*;

fn item(key: &str, data: &[u8]) -> Prepared<KinesisEntry> {
    Prepared {
        entry: KinesisEntry { data: Bytes::copy_from_slice(data), partition_key: key.to_owned(), explicit_hash_key: None },
        size: data.len() + key.len(),
    }
}

/// What a consumer reads back from `combined`: (partition key, data) per
/// user record, in the order of the entries and within each.
fn read_back(combined: &[Combined<KinesisEntry>]) -> Vec<(String, Vec<u8>)> {
    combined
        .iter()
        .flat_map(|c| match deaggregate(&c.item.entry.data) {
            Some(subs) => subs.into_iter().map(|s| (s.partition_key, s.data.to_vec())).collect::<Vec<_>>(),
            None => vec![(c.item.entry.partition_key.clone(), c.item.entry.data.to_vec())],
        })
        .collect()
}

#[test]
fn records_of_one_key_share_an_aggregate_that_reads_back_as_they_were() {
    let items = vec![item("d-1", b"{\"n\":1}"), item("d-2", b"{\"n\":2}"), item("d-1", b"{\"n\":3}"), item("d-3", b"lone"), item("d-1", b"")];
    let combined = aggregate(&items, Grouping::PartitionKey, 1 << 20);
    let members: Vec<Vec<u32>> = combined.iter().map(|c| c.members.clone()).collect();
    assert_eq!(members, [vec![0, 2, 4], vec![1], vec![3]]);
    let aggregate = &combined[0].item;
    assert_eq!(&aggregate.entry.data[..4], &MAGIC, "an aggregate");
    assert_eq!((aggregate.entry.partition_key.as_str(), aggregate.entry.explicit_hash_key.as_deref()), ("d-1", None), "sent under its records' key");
    assert_eq!(aggregate.size, aggregate.entry.data.len() + 3, "its size is what PutRecords counts");
    let subs = deaggregate(&aggregate.entry.data).expect("fanout's own source reads it");
    let got: Vec<(&str, &[u8])> = subs.iter().map(|s| (s.partition_key.as_str(), &s.data[..])).collect();
    assert_eq!(got, [("d-1", &b"{\"n\":1}"[..]), ("d-1", b"{\"n\":3}"), ("d-1", b"")]);
    // A group of one is the plain record, unchanged.
    assert_eq!(combined[1].item.entry.data, items[1].entry.data);
    assert_eq!((combined[1].item.size, combined[1].item.entry.partition_key.as_str()), (items[1].size, "d-2"));
}

#[test]
fn the_partition_key_index_is_written_even_when_zero_as_the_kpls_proto2_requires() {
    let combined = aggregate(&[item("k", b"a"), item("k", b"b")], Grouping::PartitionKey, 1 << 20);
    let data = &combined[0].item.entry.data;
    let body = &data[4..data.len() - 16];
    // table: 0A 01 'k'; record: 1A 05 [08 00] [1A 01 'a'].
    assert_eq!(body, [0x0A, 1, b'k', 0x1A, 5, 0x08, 0, 0x1A, 1, b'a', 0x1A, 5, 0x08, 0, 0x1A, 1, b'b']);
    assert_eq!(&data[data.len() - 16..], &Md5::digest(body)[..]);
}

#[test]
fn an_aggregate_is_closed_before_the_record_that_would_take_it_over_the_limit() {
    let data = [b'x'; 100];
    let items: Vec<_> = (0..10).map(|_| item("k", &data)).collect();
    // Each record adds 1 + 1 + (2 + 2 + 100) = 106 bytes; the table 3; the frame 20; the key 1.
    let max = FRAME_BYTES + 3 + 3 * 106 + 1;
    let combined = aggregate(&items, Grouping::PartitionKey, max);
    let counts: Vec<usize> = combined.iter().map(|c| c.members.len()).collect();
    assert_eq!(counts, [3, 3, 3, 1]);
    assert!(combined.iter().all(|c| c.item.size <= max));
    assert_eq!(combined[0].item.size, max, "filled exactly");
}

#[test]
fn a_record_too_big_to_aggregate_goes_plain_without_breaking_its_keys_order() {
    let big = vec![b'b'; 2000];
    let items = vec![item("k", b"1"), item("k", &big), item("k", b"3"), item("k", b"4")];
    let combined = aggregate(&items, Grouping::PartitionKey, 1024);
    let members: Vec<Vec<u32>> = combined.iter().map(|c| c.members.clone()).collect();
    assert_eq!(members, [vec![0], vec![1], vec![2, 3]]);
    let order: Vec<Vec<u8>> = read_back(&combined).into_iter().map(|(_, d)| d).collect();
    assert_eq!(order, [b"1".to_vec(), big, b"3".to_vec(), b"4".to_vec()]);
}

#[test]
fn hash_ranges_match_the_shards_kinesis_makes_for_an_even_split() {
    // CreateStream with 3 shards: shard 1 starts at 113427455640312821154458202477256070485,
    // shard 2 at 226854911280625642308916404954512140970.
    let (one, two) = (113_427_455_640_312_821_154_458_202_477_256_070_485u128, 226_854_911_280_625_642_308_916_404_954_512_140_970u128);
    assert_eq!(
        (range_of(0, 3), range_of(one - 1, 3), range_of(one, 3), range_of(two - 1, 3), range_of(two, 3), range_of(u128::MAX, 3)),
        (0, 0, 1, 1, 2, 2)
    );
    assert_eq!((range_of(u128::MAX, 1), range_of(1 << 127, 2), range_of((1 << 127) - 1, 2)), (0, 1, 0));
    for n in [1, 2, 3, 7, 4096, MAX_AGGREGATE_SHARDS_FOR_TESTS] {
        for i in [0, n / 2, n - 1] {
            assert_eq!(range_of(range_middle(i, n), n), i, "range {i} of {n}");
        }
    }
    // The hash is MD5 of the key, big-endian.
    assert_eq!(hash_key(""), 0xd41d8cd98f00b204e9800998ecf8427e);
}

const MAX_AGGREGATE_SHARDS_FOR_TESTS: u32 = super::super::MAX_AGGREGATE_SHARDS;

#[test]
fn grouped_by_shard_an_aggregate_carries_its_ranges_records_and_lands_in_that_range() {
    let items: Vec<_> = (0..200).map(|i| item(&format!("device-{i}"), format!("{{\"n\":{i}}}").as_bytes())).collect();
    let combined = aggregate(&items, Grouping::EvenShards(4), 1 << 20);
    assert_eq!(combined.len(), 4, "one aggregate per shard");
    for c in &combined {
        let ehk: u128 = c.item.entry.explicit_hash_key.as_deref().and_then(|h| h.parse().ok()).expect("an explicit hash key");
        let range = range_of(ehk, 4);
        assert!(c.members.iter().all(|&m| range_of(hash_key(&items[m as usize].entry.partition_key), 4) == range));
        assert_eq!(c.item.entry.partition_key, items[c.members[0] as usize].entry.partition_key);
    }
    let mut all: Vec<(String, Vec<u8>)> = read_back(&combined);
    all.sort();
    let mut want: Vec<(String, Vec<u8>)> = items.iter().map(|i| (i.entry.partition_key.clone(), i.entry.data.to_vec())).collect();
    want.sort();
    assert_eq!(all, want, "every record, with its own partition key");
}

/// The fewest contiguous runs of `sizes` (bytes each record adds) that fit
/// `room` each: what any aggregator that keeps source order can do best.
fn fewest_runs(sizes: &[usize], room: usize) -> usize {
    let mut best = vec![usize::MAX; sizes.len() + 1];
    best[0] = 0;
    for end in 1..=sizes.len() {
        let mut used = 0;
        for start in (0..end).rev() {
            used += sizes[start];
            if used > room {
                break;
            }
            if best[start] != usize::MAX {
                best[end] = best[end].min(best[start] + 1);
            }
        }
    }
    best[sizes.len()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every record in exactly one entry; no entry over the limit; records
    /// read back with their keys, each key's in source order; and per key,
    /// the fewest aggregates any order-keeping aggregator could make.
    #[test]
    fn every_record_once_none_over_the_limit_and_the_fewest_aggregates(
        records in prop::collection::vec((0u8..4, prop::collection::vec(any::<u8>(), 0..300)), 1..60),
        max in 400usize..2000,
    ) {
        let items: Vec<_> = records.iter().map(|(k, d)| item(&format!("key-{k}"), d)).collect();
        let combined = aggregate(&items, Grouping::PartitionKey, max);
        let mut seen = vec![0; items.len()];
        for c in &combined {
            prop_assert!(c.item.size <= max || c.members.len() == 1, "an aggregate over the limit");
            prop_assert_eq!(c.item.size, c.item.entry.data.len() + c.item.entry.partition_key.len());
            for &m in &c.members {
                seen[m as usize] += 1;
                prop_assert_eq!(&items[m as usize].entry.partition_key, &c.item.entry.partition_key);
            }
        }
        prop_assert!(seen.iter().all(|&n| n == 1));
        for k in 0..4u8 {
            let key = format!("key-{k}");
            let want: Vec<Vec<u8>> = records.iter().filter(|(rk, _)| *rk == k).map(|(_, d)| d.clone()).collect();
            let got: Vec<Vec<u8>> = read_back(&combined).into_iter().filter(|(rk, _)| *rk == key).map(|(_, d)| d).collect();
            prop_assert_eq!(&got, &want, "key {}'s records in order", k);
            // Bytes each record adds to an aggregate of its key (index 0), and the room after the frame, table and key.
            let sizes: Vec<usize> = want.iter().map(|d| record_len(0, d.len())).collect();
            let room = max.saturating_sub(FRAME_BYTES + field_len(key.len()) + key.len());
            if !sizes.is_empty() && sizes.iter().all(|&s| s <= room) {
                let made = combined.iter().filter(|c| c.item.entry.partition_key == key).count();
                prop_assert_eq!(made, fewest_runs(&sizes, room), "key {}", k);
            }
        }
    }
}
