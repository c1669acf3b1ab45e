//! Records aggregated by the Kinesis Producer Library (KPL).
//!
//! An aggregate is the magic `F3 89 9A C2`, a protobuf `AggregatedRecord`
//! (`partition_key_table = 1`, `explicit_hash_key_table = 2`, `records = 3`;
//! each `Record` has `partition_key_index = 1`, `explicit_hash_key_index = 2`,
//! `data = 3`, `tags = 4`), then the 16-byte MD5 of the protobuf bytes.
//! Anything that fails a check (length, magic, digest, protobuf, a table index
//! out of range, no records) is an ordinary record. Sub-record payloads are
//! slices of the parent's bytes, not copies.

use bytes::Bytes;
use md5::{Digest, Md5};
use prost::Message;

/// The four bytes every aggregate starts with.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
/// The MD5 digest at the end.
pub const DIGEST_LEN: usize = 16;

/// The protobuf `AggregatedRecord`.
#[derive(Clone, PartialEq, Message)]
pub struct AggregatedRecord {
    /// Partition keys, referenced by index.
    #[prost(string, repeated, tag = "1")]
    pub partition_key_table: Vec<String>,
    /// Explicit hash keys, referenced by index.
    #[prost(string, repeated, tag = "2")]
    pub explicit_hash_key_table: Vec<String>,
    /// The user records.
    #[prost(message, repeated, tag = "3")]
    pub records: Vec<KplRecord>,
}

/// One user record inside an aggregate.
#[derive(Clone, PartialEq, Message)]
pub struct KplRecord {
    /// Index into `partition_key_table`.
    #[prost(uint64, tag = "1")]
    pub partition_key_index: u64,
    /// Index into `explicit_hash_key_table`.
    #[prost(uint64, optional, tag = "2")]
    pub explicit_hash_key_index: Option<u64>,
    /// The payload.
    #[prost(bytes = "bytes", tag = "3")]
    pub data: Bytes,
    /// KPL tags.
    #[prost(message, repeated, tag = "4")]
    pub tags: Vec<Tag>,
}

/// A KPL tag.
#[derive(Clone, PartialEq, Message)]
pub struct Tag {
    /// Key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// A user record unpacked from an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct SubRecord {
    /// Its own partition key.
    pub partition_key: String,
    /// Its payload (a slice of the parent's bytes).
    pub data: Bytes,
}

/// The user records of an aggregate, or `None` when `data` is not a valid one.
pub fn deaggregate(data: &Bytes) -> Option<Vec<SubRecord>> {
    if data.len() <= MAGIC.len() + DIGEST_LEN || data[..MAGIC.len()] != MAGIC {
        return None;
    }
    let body = data.slice(MAGIC.len()..data.len() - DIGEST_LEN);
    if Md5::digest(&body)[..] != data[data.len() - DIGEST_LEN..] {
        return None;
    }
    let aggregate = AggregatedRecord::decode(body).ok()?;
    if aggregate.records.is_empty() {
        return None;
    }
    let keys = &aggregate.partition_key_table;
    let hash_keys = aggregate.explicit_hash_key_table.len() as u64;
    if aggregate.records.iter().any(|r| r.partition_key_index >= keys.len() as u64 || r.explicit_hash_key_index.is_some_and(|i| i >= hash_keys)) {
        return None;
    }
    Some(aggregate.records.into_iter().map(|r| SubRecord { partition_key: keys[r.partition_key_index as usize].clone(), data: r.data }).collect())
}

/// Build an aggregate (for tests and tools): magic, protobuf, MD5.
pub fn aggregate(records: &[(&str, &[u8])]) -> Bytes {
    let mut keys: Vec<String> = Vec::new();
    let records = records
        .iter()
        .map(|(key, data)| {
            let index = keys.iter().position(|k| k == key).unwrap_or_else(|| {
                keys.push((*key).to_owned());
                keys.len() - 1
            });
            KplRecord { partition_key_index: index as u64, explicit_hash_key_index: None, data: Bytes::copy_from_slice(data), tags: Vec::new() }
        })
        .collect();
    let body = AggregatedRecord { partition_key_table: keys, explicit_hash_key_table: Vec::new(), records }.encode_to_vec();
    let mut out = Vec::with_capacity(MAGIC.len() + body.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&body);
    out.extend_from_slice(&Md5::digest(&body));
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bytes {
        aggregate(&[("device-1", b"{\"a\":1}"), ("device-2", b"{\"a\":2}"), ("device-1", b"{\"a\":3}")])
    }

    #[test]
    fn an_aggregate_unpacks_into_its_records_with_their_own_keys() {
        let data = sample();
        let subs = deaggregate(&data).expect("an aggregate");
        let got: Vec<(&str, &[u8])> = subs.iter().map(|s| (s.partition_key.as_str(), &s.data[..])).collect();
        assert_eq!(got, vec![("device-1", &b"{\"a\":1}"[..]), ("device-2", b"{\"a\":2}"), ("device-1", b"{\"a\":3}")]);
        let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
        assert!(subs.iter().all(|s| range.contains(&(s.data.as_ptr() as usize))), "payloads are slices of the parent, not copies");
    }

    #[test]
    fn anything_that_fails_a_check_is_an_ordinary_record() {
        let good = sample().to_vec();
        let mut bad_digest = good.clone();
        let last = bad_digest.len() - 1;
        bad_digest[last] ^= 1;
        let mut bad_magic = good.clone();
        bad_magic[0] = 0;
        let mut bad_body = good.clone();
        bad_body[6] ^= 0xff;
        let truncated = good[..good.len() - 3].to_vec();
        for (name, data) in [
            ("digest", bad_digest),
            ("magic", bad_magic),
            ("body", bad_body),
            ("truncated", truncated),
            ("short", MAGIC.to_vec()),
            ("json", b"{\"a\":1}".to_vec()),
        ] {
            assert!(deaggregate(&Bytes::from(data)).is_none(), "{name}");
        }
    }

    #[test]
    fn an_index_out_of_range_or_no_records_is_not_an_aggregate() {
        let frame = |body: Vec<u8>| {
            let mut out = MAGIC.to_vec();
            out.extend_from_slice(&body);
            out.extend_from_slice(&Md5::digest(&body));
            Bytes::from(out)
        };
        let bad_index = AggregatedRecord {
            partition_key_table: vec!["k".into()],
            explicit_hash_key_table: vec![],
            records: vec![KplRecord { partition_key_index: 3, explicit_hash_key_index: None, data: Bytes::from_static(b"x"), tags: vec![] }],
        };
        assert!(deaggregate(&frame(bad_index.encode_to_vec())).is_none());
        let empty = AggregatedRecord { partition_key_table: vec!["k".into()], explicit_hash_key_table: vec![], records: vec![] };
        assert!(deaggregate(&frame(empty.encode_to_vec())).is_none());
    }
}
