//! KPL aggregation for Kinesis destinations (`aggregate: kpl`): many user
//! records become one Kinesis record in the format the Kinesis Producer
//! Library writes and the KCL, the Lambda deaggregation libraries and
//! fanout's own Kinesis source read back ([`crate::sources::kpl`]): the
//! magic `F3 89 9A C2`, a protobuf `AggregatedRecord` (a table of partition
//! keys, then the records, each with its key's index and its data), and the
//! MD5 of the protobuf bytes.
//!
//! An aggregate must land on the shard each of its records would have
//! landed on, or it breaks per-shard order and hot-shard balancing. Which
//! records share a shard depends on the stream's shard map, which fanout
//! does not read, so it groups records one of two ways:
//!
//! - [`Grouping::PartitionKey`] (the default): the records of one partition
//!   key, sent under that key. Always the right shard, whatever the map;
//!   it saves as much as a batch has records per key.
//! - [`Grouping::EvenShards`] (`aggregate_shards: N`): the records whose
//!   partition keys hash into the same one of `N` equal hash-key ranges,
//!   sent under the first record's key with an explicit hash key in the
//!   middle of the range. Exactly the KPL's grouping when the stream has `N`
//!   open shards evenly split (what `CreateStream` and `UpdateShardCount`
//!   make); after an uneven split an aggregate still lands on one shard and
//!   keeps each key's order, but some of its records are on a neighbour of
//!   their own shard.
//!
//! Within a group, records are taken in source order, each aggregate filled
//! until the next record would take it over the limit (the fewest
//! aggregates for that order). A record that alone would not fit, and an
//! aggregate of one record, are sent as plain records.

use super::KinesisEntry;
use crate::deliver::api::{Combined, Prepared};
use crate::sources::kpl::{DIGEST_LEN, MAGIC};
use bytes::Bytes;
use md5::{Digest, Md5};
use std::collections::HashMap;

/// Which records may share an aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Records of one partition key.
    PartitionKey,
    /// Records of one of this many equal hash-key ranges.
    EvenShards(u32),
}

/// Bytes an aggregate adds besides the protobuf: the magic and the MD5.
pub const FRAME_BYTES: usize = MAGIC.len() + DIGEST_LEN;

/// Bytes of `v` as a protobuf varint.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes of a length-delimited field (one-byte tag) holding `len` bytes.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Bytes a `Record` with key index `index` and `data_len` bytes of data
/// adds to the protobuf (its field, tag and length included).
fn record_len(index: usize, data_len: usize) -> usize {
    field_len(1 + varint_len(index as u64) + field_len(data_len))
}

/// The 128-bit hash key Kinesis maps a partition key to (MD5, big-endian).
pub fn hash_key(partition_key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// `floor(i * 2^128 / n)` for `i <= n`, `n > 0`, without overflow.
fn range_point(i: u128, n: u128) -> u128 {
    let whole = u128::MAX / n + u128::from(u128::MAX % n == n - 1);
    let rest = (u128::MAX % n + 1) % n;
    // i * whole fits: i <= n and whole <= 2^128 / n.
    i.wrapping_mul(whole).wrapping_add(i * rest / n)
}

/// Which of `n` equal ranges `hash` falls in: the last `i` whose range
/// starts (at `floor(i * 2^128 / n)`, as Kinesis splits a stream evenly) at
/// or before it.
pub fn range_of(hash: u128, n: u32) -> u32 {
    let wide = u128::from(n.max(1));
    let (hi, lo) = (hash >> 64, hash & u128::from(u64::MAX));
    // floor(hash * n / 2^128), then one up when the next range starts at `hash`
    // (its start is rounded down).
    let i = (((hi * wide) + ((lo * wide) >> 64)) >> 64) as u32;
    if i + 1 < n.max(1) && range_point(u128::from(i) + 1, wide) <= hash {
        i + 1
    } else {
        i
    }
}

/// The explicit hash key aggregates of range `i` of `n` are sent with: the
/// range's middle, so that a boundary a little off still maps it to one shard.
pub fn range_middle(i: u32, n: u32) -> u128 {
    let n = u128::from(n.max(1));
    range_point(2 * u128::from(i) + 1, 2 * n)
}

/// An aggregate being filled.
struct Open<'a> {
    /// The partition keys, in table order, and where each is in the table.
    keys: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
    /// The items, with their key's index.
    members: Vec<(u32, usize)>,
    /// The protobuf's length so far.
    body: usize,
}

impl<'a> Open<'a> {
    fn new() -> Self {
        Self { keys: Vec::new(), index: HashMap::new(), members: Vec::new(), body: 0 }
    }

    /// The protobuf's length with `key`'s record of `data_len` bytes added.
    fn body_with(&self, key: &str, data_len: usize) -> usize {
        match self.index.get(key) {
            Some(&i) => self.body + record_len(i, data_len),
            None => self.body + field_len(key.len()) + record_len(self.keys.len(), data_len),
        }
    }

    fn add(&mut self, item: u32, key: &'a str, data_len: usize) {
        self.body = self.body_with(key, data_len);
        let next = self.keys.len();
        let i = *self.index.entry(key).or_insert(next);
        if i == next {
            self.keys.push(key);
        }
        self.members.push((item, i));
    }
}

/// Combine `items` into KPL aggregates of at most `max_bytes` each (data and
/// partition key, as `PutRecords` counts a record), grouped by `grouping`;
/// in the order of each aggregate's first record.
pub fn aggregate(items: &[Prepared<KinesisEntry>], grouping: Grouping, max_bytes: usize) -> Vec<Combined<KinesisEntry>> {
    let mut done: Vec<(Open<'_>, Option<u32>)> = Vec::new();
    let mut open: HashMap<u32, Open<'_>> = HashMap::new();
    // Group ids: a range, or the partition key's first item.
    let mut key_group: HashMap<&str, u32> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let key = item.entry.partition_key.as_str();
        let (group, range) = match grouping {
            Grouping::PartitionKey => {
                let next = i as u32;
                (*key_group.entry(key).or_insert(next), None)
            }
            Grouping::EvenShards(n) => {
                let r = range_of(hash_key(key), n);
                (r, Some(r))
            }
        };
        let data_len = item.entry.data.len();
        let aggregate = open.entry(group).or_insert_with(Open::new);
        let first_key_len = |a: &Open<'_>| a.keys.first().map_or(key.len(), |k| k.len());
        if !aggregate.members.is_empty() && FRAME_BYTES + aggregate.body_with(key, data_len) + first_key_len(aggregate) > max_bytes {
            done.push((std::mem::replace(aggregate, Open::new()), range));
        }
        let alone = FRAME_BYTES + Open::new().body_with(key, data_len) + key.len();
        if alone > max_bytes {
            // Too big to aggregate: plain, after what came before it in its
            // group (closed now, so that nothing after it joins them).
            if !aggregate.members.is_empty() {
                done.push((std::mem::replace(aggregate, Open::new()), range));
            }
            let mut plain = Open::new();
            plain.add(i as u32, key, data_len);
            done.push((plain, range));
            continue;
        }
        aggregate.add(i as u32, key, data_len);
    }
    let mut rest: Vec<(u32, Open<'_>)> = open.into_iter().collect();
    rest.sort_unstable_by_key(|(group, _)| *group);
    done.extend(
        rest.into_iter().filter(|(_, a)| !a.members.is_empty()).map(|(group, a)| (a, matches!(grouping, Grouping::EvenShards(_)).then_some(group))),
    );
    done.sort_by_key(|(a, _)| a.members.first().map_or(u32::MAX, |m| m.0));
    let n = match grouping {
        Grouping::EvenShards(n) => n,
        Grouping::PartitionKey => 1,
    };
    done.into_iter().map(|(a, range)| finish(items, a, range.map(|r| range_middle(r, n).to_string()))).collect()
}

/// One aggregate's entry: a plain record when it holds one record.
fn finish(items: &[Prepared<KinesisEntry>], a: Open<'_>, explicit_hash_key: Option<String>) -> Combined<KinesisEntry> {
    let members: Vec<u32> = a.members.iter().map(|(item, _)| *item).collect();
    if let [only] = members[..] {
        // A plain record; of a shard's group, sent to that shard like its aggregates.
        let mut item = items[only as usize].clone();
        if explicit_hash_key.is_some() {
            item.entry.explicit_hash_key = explicit_hash_key;
        }
        return Combined { item, members };
    }
    let mut out = Vec::with_capacity(FRAME_BYTES + a.body);
    out.extend_from_slice(&MAGIC);
    for key in &a.keys {
        out.push(0x0A); // partition_key_table = 1, length-delimited
        put_varint(&mut out, key.len() as u64);
        out.extend_from_slice(key.as_bytes());
    }
    for (item, index) in &a.members {
        let data = &items[*item as usize].entry.data;
        out.push(0x1A); // records = 3, length-delimited
        put_varint(&mut out, (1 + varint_len(*index as u64) + field_len(data.len())) as u64);
        out.push(0x08); // partition_key_index = 1, varint (always written: it is `required` in the KPL's proto2)
        put_varint(&mut out, *index as u64);
        out.push(0x1A); // data = 3, length-delimited
        put_varint(&mut out, data.len() as u64);
        out.extend_from_slice(data);
    }
    let digest = Md5::digest(&out[MAGIC.len()..]);
    out.extend_from_slice(&digest);
    let partition_key = a.keys.first().map_or_else(String::new, |k| (*k).to_owned());
    let size = out.len() + partition_key.len();
    Combined { item: Prepared { entry: KinesisEntry { data: Bytes::from(out), partition_key, explicit_hash_key }, size }, members }
}

#[cfg(test)]
mod tests;
