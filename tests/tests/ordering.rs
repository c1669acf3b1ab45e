//! `ordering: per_key` end to end: the Kinesis handler routing to a Kinesis
//! stream of the sandbox over real HTTP, under injected per-record failures
//! and bursts of whole-call 503s, with few attempts (so records give up and
//! hold their key back), replayed as Lambda replays a stream batch (from the
//! lowest reported sequence number) until nothing fails. The same scenario
//! without `ordering` shows what the check catches.

use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use std::collections::{HashMap, HashSet};
use std::path::Path;

const RECORDS: usize = 60;
const KEYS: usize = 5;

/// What the stream received, per key, judged against source order.
#[derive(Debug, Default)]
struct Seen {
    /// Records delivered for the first time while an earlier record of their
    /// key had not been delivered yet.
    out_of_order: usize,
    /// Deliveries of a record already delivered (Lambda's replays).
    duplicates: usize,
    /// Distinct records delivered.
    distinct: usize,
    /// PutRecords calls the function made (the sandbox's log).
    calls: usize,
    /// Invocations until nothing failed.
    invocations: usize,
}

async fn run(ordering: &str) -> Seen {
    let spec = FaultSpec::parse("kinesis:rate=0.3;kinesis:status=503,count=3;seed=5").expect("spec");
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions { faults: spec, ..SandboxOptions::default() }).await;
    let text = format!(
        "destinations:\n  out: {{ type: kinesis, stream: relay, partition_key: /device{ordering} }}\nroutes:\n  - {{ name: all, to: [out] }}\n\
         delivery: {{ max_attempts: 2, base_delay_ms: 1, max_delay_ms: 2, deadline_margin_ms: 200 }}\n"
    );
    let fanout = Fanout::new(Config::parse(&text, Path::new("ordering.yaml")).expect("valid"), &clients);
    let records: Vec<(String, Vec<u8>)> =
        (0..RECORDS).map(|i| (format!("{:05}", 1000 + i), format!(r#"{{"device":"d-{}","n":{i}}}"#, i % KEYS).into_bytes())).collect();

    let mut seen = Seen { invocations: fanout_tests::replay::until_clean(&fanout, &records, 60, |_| {}).await, ..Seen::default() };

    let world = sandbox.state.world();
    seen.calls = world.store.calls().iter().filter(|c| c.api == Api::Kinesis && c.operation == "PutRecords").count();
    let mut delivered: HashSet<i64> = HashSet::new();
    let mut next_per_key: HashMap<String, i64> = HashMap::new();
    // Each Kinesis record, or each user record of a KPL aggregate, as a consumer reads them.
    let mut read: Vec<(String, Vec<u8>)> = Vec::new();
    for item in world.store.items(Api::Kinesis, "relay") {
        let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, item["data"].as_str().expect("data")).expect("b64");
        let key = item["partition_key"].as_str().expect("a partition key").to_owned();
        match fanout::sources::kpl::deaggregate(&bytes::Bytes::from(data.clone())) {
            Some(subs) => read.extend(subs.into_iter().map(|s| (s.partition_key, s.data.to_vec()))),
            None => read.push((key, data)),
        }
    }
    for (key, data) in read {
        let payload: serde_json::Value = serde_json::from_slice(&data).expect("json");
        assert_eq!(payload["device"], key.as_str(), "the partition key is the device");
        let n = payload["n"].as_i64().expect("n");
        if !delivered.insert(n) {
            seen.duplicates += 1;
            continue;
        }
        // The key's records are n = k, k + KEYS, k + 2 KEYS, ...: the first
        // delivery of each must be the key's next one.
        let next = next_per_key.entry(key).or_insert(n % KEYS as i64);
        if n != *next {
            seen.out_of_order += 1;
        }
        *next = (*next).max(n) + KEYS as i64;
    }
    seen.distinct = delivered.len();
    seen
}

#[tokio::test]
async fn per_key_order_holds_under_failures_bursts_and_replays() {
    let ordered = run(", ordering: per_key").await;
    eprintln!("per_key: {ordered:?}");
    assert_eq!(ordered.distinct, RECORDS, "every record reached the stream: {ordered:?}");
    assert!(ordered.invocations > 1, "records gave up, so Lambda replayed: {ordered:?}");
    assert_eq!(ordered.out_of_order, 0, "no record of a key before an earlier one: {ordered:?}");
    // Ordering costs requests: one record per key per request, so at least
    // RECORDS / KEYS rounds in the first invocation alone.
    assert!(ordered.calls >= RECORDS / KEYS, "{ordered:?}");
}

/// With KPL aggregation (an aggregate fails and is resent whole), by
/// partition key and by shard (aggregates of several keys, ordered by their
/// shard's explicit hash key), order per key still holds.
#[tokio::test]
async fn per_key_order_holds_with_aggregation_by_key_and_by_shard() {
    for options in [", ordering: per_key, aggregate: kpl", ", ordering: per_key, aggregate: kpl, aggregate_shards: 2"] {
        let seen = run(options).await;
        eprintln!("{options}: {seen:?}");
        assert_eq!(seen.distinct, RECORDS, "every record reached the stream: {options} {seen:?}");
        assert_eq!(seen.out_of_order, 0, "{options} {seen:?}");
        assert!(seen.invocations > 1, "aggregates failed, so Lambda replayed: {options} {seen:?}");
    }
}

#[tokio::test]
async fn without_ordering_the_same_scenario_delivers_out_of_order() {
    let unordered = run("").await;
    eprintln!("unordered: {unordered:?}");
    assert_eq!(unordered.distinct, RECORDS, "nothing is lost either way: {unordered:?}");
    assert!(unordered.out_of_order > 0, "resends land after later records of their key: {unordered:?}");
}
