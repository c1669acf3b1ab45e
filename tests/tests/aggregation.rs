//! Output aggregation end to end: `aggregate: kpl` on a Kinesis destination
//! and `pack: true` on a Firehose one, through the Kinesis handler (what
//! `kinesis-fanout` runs), read back record for record:
//!
//! - at the sandbox, deaggregated by fanout's own Kinesis source and split
//!   at the delimiter, under per-item failures (an aggregate fails whole and
//!   its records are reported or dead-lettered one by one);
//! - at moto, the aggregates read back with GetRecords and deaggregated by
//!   the AWS library (`aws-kinesis-agg`, Python), the packed Firehose
//!   records read back from moto's S3.

use base64::Engine as _;
use fanout::sources::kinesis;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::moto::Moto;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

const DEVICES: usize = 20;
const RECORDS: usize = 1_000;

fn config(extra_kinesis: &str, dead_letter: bool) -> Config {
    let dead = if dead_letter { "  dead: { type: firehose, delivery_stream: dead }\ndead_letter: dead\n" } else { "" };
    let text = format!(
        "destinations:\n  relay: {{ type: kinesis, stream: relay, partition_key: /deviceId, aggregate: kpl{extra_kinesis} }}\n  \
         archive: {{ type: firehose, delivery_stream: archive, delimiter: \"\\n\", pack: true }}\n{dead}\
         routes:\n  - {{ name: all, to: [relay, archive] }}\ndelivery: {{ max_attempts: 2, base_delay_ms: 1 }}\n"
    );
    Config::parse(&text, Path::new("aggregation.yaml")).expect("valid")
}

/// (sequence number, device, payload) of the input, in order.
fn input() -> Vec<(String, String, Vec<u8>)> {
    (0..RECORDS)
        .map(|i| {
            let device = format!("d-{:02}", i % DEVICES);
            let payload = format!(r#"{{"deviceId":"{device}","n":{i},"temperature":{}.5}}"#, 20 + i % 30);
            (format!("{:05}", 10_000 + i), device, payload.into_bytes())
        })
        .collect()
}

async fn invoke(fanout: &Fanout, records: &[(String, String, Vec<u8>)]) -> Vec<String> {
    let event = fanout_tests::kinesis_event(records.iter().map(|(seq, key, payload)| (seq.as_str(), key.as_str(), payload.as_slice())));
    let response = kinesis::handle(fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
    response.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect()
}

/// What a consumer of the stream reads: the stored Kinesis records run
/// through fanout's own Kinesis source (which deaggregates), as (partition
/// key, payload).
fn consume(stored: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let records = stored.iter().enumerate().map(|(i, (key, data))| (format!("{:05}", i), key.clone(), data.clone())).collect::<Vec<_>>();
    let event = fanout_tests::kinesis_event(records.iter().map(|(seq, key, data)| (seq.as_str(), key.as_str(), data.as_slice())));
    kinesis::decode(event).records.into_iter().map(|r| (r.key.unwrap_or_default(), r.data.to_vec())).collect()
}

/// Per partition key, its payloads in the order read.
fn by_key(records: impl IntoIterator<Item = (String, Vec<u8>)>) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut out: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (key, data) in records {
        out.entry(key).or_default().push(data);
    }
    out
}

fn decoded(item: &Value, field: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(item[field].as_str().expect("base64 field")).expect("base64")
}

#[tokio::test]
async fn aggregates_and_packed_records_read_back_record_for_record_at_the_sandbox() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(config("", false), &clients);
    let records = input();
    assert!(invoke(&fanout, &records).await.is_empty());

    let world = sandbox.state.world();
    let stored: Vec<(String, Vec<u8>)> = world
        .store
        .items(Api::Kinesis, "relay")
        .iter()
        .map(|i| (i["partition_key"].as_str().unwrap_or_default().to_owned(), decoded(i, "data")))
        .collect();
    assert_eq!(stored.len(), DEVICES, "one aggregate per device: {} Kinesis records", stored.len());
    let want = by_key(records.iter().map(|(_, device, payload)| (device.clone(), payload.clone())));
    assert_eq!(by_key(consume(&stored)), want, "every record, under its own key, in order per key");

    let archive: Vec<Vec<u8>> = world.store.items(Api::Firehose, "archive").iter().map(|i| decoded(i, "data")).collect();
    assert_eq!(archive.len(), 1, "1,000 records of ~50 bytes fit one Firehose record");
    let lines: Vec<&[u8]> = archive[0].strip_suffix(b"\n").expect("ends with the delimiter").split(|b| *b == b'\n').collect();
    let payloads: Vec<&[u8]> = records.iter().map(|(_, _, p)| p.as_slice()).collect();
    assert_eq!(lines, payloads, "the archive holds every record, in order, one per line");
    let requests = |api| world.store.calls().iter().filter(|c| c.api == api).count();
    assert_eq!((requests(Api::Kinesis), requests(Api::Firehose)), (1, 1));
}

#[tokio::test]
async fn a_failed_aggregate_fails_its_records_and_only_them_and_a_refused_one_dead_letters_each_record() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(config("", true), &clients);
    let records = input();
    let of_device = |d: &str| -> Vec<String> { records.iter().filter(|(_, device, _)| device == d).map(|(seq, _, _)| seq.clone()).collect() };

    // Every aggregate holding d-07's records fails, every time: exactly d-07's records are reported.
    sandbox.state.faults().set(&FaultSpec::parse(r#"kinesis:match="d-07""#).expect("spec"));
    let failed = invoke(&fanout, &records).await;
    assert_eq!(failed, of_device("d-07"));
    let relay_calls: Vec<usize> = sandbox.state.world().store.calls().iter().filter(|c| c.api == Api::Kinesis).map(|c| c.items.len()).collect();
    assert_eq!(relay_calls, [DEVICES, 1], "the failed aggregate is resent alone, whole");

    // Refused for good: each of d-03's records is dead-lettered with its own payload, never the aggregate.
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(config("", true), &clients);
    sandbox.state.faults().set(&FaultSpec::parse(r#"kinesis:match="d-03",code=InvalidArgumentException"#).expect("spec"));
    assert!(invoke(&fanout, &records).await.is_empty(), "dead-lettered records count as handled");
    let world = sandbox.state.world();
    let envelopes: Vec<Value> =
        world.store.items(Api::Firehose, "dead").iter().map(|i| serde_json::from_slice(&decoded(i, "data")).expect("JSON")).collect();
    let payloads: Vec<Vec<u8>> = envelopes.iter().map(|e| decoded(e, "data_base64")).collect();
    let want: Vec<Vec<u8>> = records.iter().filter(|(_, device, _)| device == "d-03").map(|(_, _, p)| p.clone()).collect();
    assert_eq!(payloads, want, "one envelope per record, each with that record's own payload");
    assert!(envelopes.iter().all(|e| e["destination"] == "relay" && e["reason"]["code"] == "InvalidArgumentException"), "{envelopes:?}");
    let ids: Vec<&str> = envelopes.iter().filter_map(|e| e["record_id"].as_str()).collect();
    let seqs = of_device("d-03");
    assert!(ids.iter().zip(&seqs).all(|(id, seq)| id.ends_with(seq.as_str())), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_reads_back_what_the_aws_deaggregator_and_fanout_both_unpack_and_s3_gets_the_lines() {
    let moto = Moto::start();
    moto.create_stream("relay").await;
    moto.create_delivery_stream("archive", "archive-bucket").await;
    let clients = fanout::Clients::from_sdk_config(&moto.sdk_config());
    for extra in ["", ", aggregate_shards: 4, aggregate_max_bytes: 4096"] {
        let fanout = Fanout::new(config(extra, false), &clients);
        let records = input();
        assert!(invoke(&fanout, &records).await.is_empty(), "{extra}");
    }
    let stored = moto.stream_records("relay").await;
    let want = by_key(input().into_iter().map(|(_, device, payload)| (device, payload)));
    let mut twice = want.clone();
    for v in twice.values_mut() {
        let again = v.clone();
        v.extend(again);
    }
    assert_eq!(by_key(consume(&stored)), twice, "fanout's Kinesis source: both runs, each record under its key, in order per key");

    let python = aws_deaggregate(&stored);
    assert_eq!(python.len(), 2 * RECORDS, "the AWS library unpacks every user record");
    assert_eq!(by_key(python), twice, "the AWS library reads the same records, keys and order");

    let objects = moto.bucket_objects("archive-bucket");
    let text: Vec<u8> = objects.concat();
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2 * RECORDS, "S3 holds every record once per run, one per line");
    for (_, _, payload) in input() {
        assert_eq!(lines.iter().filter(|l| **l == payload.as_slice()).count(), 2);
    }
}

/// (partition key, data) of each user record, as `aws_kinesis_agg`'s
/// `deaggregate_records` unpacks the stored Kinesis records.
fn aws_deaggregate(stored: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let input: Vec<Value> =
        stored.iter().map(|(key, data)| json!({"partitionKey": key, "data": base64::engine::general_purpose::STANDARD.encode(data)})).collect();
    let script = fanout_tests::repo_root().join("tests/scripts/kpl_deaggregate.py");
    let mut child = std::process::Command::new("python3")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(serde_json::to_string(&input).expect("JSON").as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("the deaggregator ends");
    assert!(out.status.success(), "install it with `pip install aws-kinesis-agg` (scripts/test does): {}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    records.iter().map(|r| (r["partitionKey"].as_str().unwrap_or_default().to_owned(), decoded(r, "data"))).collect()
}

/// Grouped by shard, every Kinesis record carries the explicit hash key of
/// its range, and every user record in it hashes into that range.
#[tokio::test]
async fn grouped_by_shard_each_kinesis_record_goes_to_its_ranges_shard() {
    use fanout::destinations::kinesis::aggregate::{hash_key, range_of};
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(config(", aggregate_shards: 4", false), &clients);
    assert!(invoke(&fanout, &input()).await.is_empty());
    let world = sandbox.state.world();
    let items = world.store.items(Api::Kinesis, "relay");
    assert_eq!(items.len(), 4, "20 devices over 4 ranges: one aggregate each");
    let mut read = 0;
    for item in items {
        let ehk: u128 = item["explicit_hash_key"].as_str().and_then(|h| h.parse().ok()).expect("an explicit hash key");
        let subs = fanout::sources::kpl::deaggregate(&bytes::Bytes::from(decoded(item, "data"))).expect("an aggregate");
        assert!(subs.iter().all(|s| range_of(hash_key(&s.partition_key), 4) == range_of(ehk, 4)), "{item}");
        read += subs.len();
    }
    assert_eq!(read, RECORDS);
}
