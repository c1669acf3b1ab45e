//! What Lambda's replays cost in duplicates without a delivery ledger: the
//! Kinesis handler routing 200 records to three destinations of the
//! sandbox, one of which (the Kinesis stream) fails 10% of its items for the
//! first four invocations and then recovers (one attempt per item, so each
//! failure is answered at once); each invocation answers its
//! failures, and the batch is replayed from the lowest reported sequence
//! number, as Lambda replays a stream batch, until nothing fails. Every
//! delivery is counted per destination: nothing may be lost, and what
//! arrives more than once is the at-least-once price (docs/delivery.md),
//! the baseline a ledger has to beat.

use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

const RECORDS: usize = 200;
const FAILING_INVOCATIONS: usize = 4;

/// Deliveries and distinct records per destination, after the replays.
#[derive(Debug)]
struct Counts {
    deliveries: usize,
    distinct: usize,
}

/// Which ledger the scenario runs with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ledger {
    /// None: at-least-once.
    Off,
    /// In memory.
    Memory,
    /// The config's `ledger:`, a DynamoDB table of the sandbox.
    Sandbox,
    /// The same, with DynamoDB answering 503 to every call.
    SandboxDown,
}

/// Run the scenario with `ledger`. Returns the invocations, the counts per
/// destination, the duplicate deliveries and all deliveries.
async fn run(ledger: Ledger) -> (usize, HashMap<&'static str, Counts>, usize, usize) {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let text = "destinations:\n  archive: { type: firehose, delivery_stream: archive }\n  relay: { type: kinesis, stream: relay, partition_key: /device }\n  \
                queue: { type: sqs, queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/readings' }\n\
                routes:\n  - { name: all, to: [archive, relay, queue] }\n\
                delivery: { max_attempts: 1, deadline_margin_ms: 200 }\n";
    let with_table = format!("{text}ledger: {{ table: fanout-ledger }}\n");
    let text = if matches!(ledger, Ledger::Sandbox | Ledger::SandboxDown) { with_table.as_str() } else { text };
    let mut fanout = Fanout::new(Config::parse(text, Path::new("replay.yaml")).expect("valid"), &clients);
    if ledger == Ledger::Memory {
        let store = std::sync::Arc::new(fanout::ledger::memory::MemoryStore::default());
        fanout = fanout.with_ledger(std::sync::Arc::new(fanout::ledger::Ledger::new(store)));
    }
    let records: Vec<(String, Vec<u8>)> =
        (0..RECORDS).map(|i| (format!("{:05}", 1000 + i), format!(r#"{{"device":"d-{}","n":{i}}}"#, i % 7).into_bytes())).collect();

    let invocations = fanout_tests::replay::until_clean(&fanout, &records, 40, |n| {
        let mut faults = if n <= FAILING_INVOCATIONS { format!("kinesis:rate=0.1;seed={n}") } else { String::new() };
        if ledger == Ledger::SandboxDown {
            faults.push_str(";dynamodb:status=503,count=all");
        }
        sandbox.state.faults().set(&FaultSpec::parse(&faults).expect("spec"));
    })
    .await;

    let world = sandbox.state.world();
    let mut counts: HashMap<&'static str, Counts> = HashMap::new();
    for (name, api, target) in [("archive", Api::Firehose, "archive"), ("relay", Api::Kinesis, "relay"), ("queue", Api::Sqs, "readings")] {
        let mut seen: HashMap<i64, usize> = HashMap::new();
        for item in world.store.items(api, target) {
            let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, item["data"].as_str().expect("data")).expect("b64");
            let payload: serde_json::Value = serde_json::from_slice(&data).expect("json");
            *seen.entry(payload["n"].as_i64().expect("n")).or_default() += 1;
        }
        counts.insert(name, Counts { deliveries: seen.values().sum(), distinct: seen.len() });
    }
    let deliveries: usize = counts.values().map(|c| c.deliveries).sum();
    let duplicates = deliveries - 3 * RECORDS;
    eprintln!(
        "ledger {ledger:?}: {invocations} invocations; per destination {counts:?}; {duplicates} of {deliveries} deliveries are duplicates ({:.1}%)",
        100.0 * duplicates as f64 / deliveries as f64
    );
    (invocations, counts, duplicates, deliveries)
}

#[tokio::test]
async fn replays_without_a_ledger_deliver_every_record_and_many_twice() {
    let (invocations, counts, duplicates, deliveries) = run(Ledger::Off).await;
    assert!(invocations > FAILING_INVOCATIONS, "the failing rounds made Lambda replay");
    for (name, c) in &counts {
        assert_eq!(c.distinct, RECORDS, "{name}: every record arrived");
    }
    assert!(duplicates > deliveries / 2, "without a ledger, replays resend what had been accepted: {counts:?}");
}

#[tokio::test]
async fn with_the_ledger_replays_send_each_record_only_where_it_is_missing() {
    for ledger in [Ledger::Memory, Ledger::Sandbox] {
        let (invocations, counts, duplicates, deliveries) = run(ledger).await;
        // Replays send only what is missing, so they meet fewer failures and end sooner.
        assert!(invocations > 1, "{ledger:?}: a failing round made Lambda replay");
        for (name, c) in &counts {
            assert_eq!(c.distinct, RECORDS, "{ledger:?}: {name}: every record arrived");
        }
        assert!(duplicates * 100 <= deliveries, "{ledger:?}: at most 1% duplicates: {duplicates} of {deliveries}, {counts:?}");
    }
}

#[tokio::test]
async fn with_the_ledger_down_nothing_is_lost_and_delivery_is_at_least_once() {
    let (invocations, counts, duplicates, _) = run(Ledger::SandboxDown).await;
    assert!(invocations > FAILING_INVOCATIONS);
    for (name, c) in &counts {
        assert_eq!(c.distinct, RECORDS, "{name}: every record arrived");
    }
    assert!(duplicates > 0, "without a working ledger, replays resend: {counts:?}");
}

#[tokio::test]
async fn a_clean_invocation_costs_one_small_read_and_then_none() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let text = "destinations:\n  archive: { type: firehose, delivery_stream: archive }\nroutes:\n  - { name: all, to: [archive] }\nledger: { table: fanout-ledger }\n";
    let fanout = Fanout::new(Config::parse(text, Path::new("clean.yaml")).expect("valid"), &clients);
    let payloads: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("{:05}", 2000 + i), format!(r#"{{"n":{i}}}"#).into_bytes())).collect();
    let dynamodb_calls = || sandbox.state.world().store.calls().iter().filter(|c| c.api == Api::DynamoDb).map(|c| c.operation).collect::<Vec<_>>();
    for (round, expected) in [(0, vec!["BatchGetItem"]), (1, vec!["BatchGetItem"])] {
        let batch = &payloads[round * 25..(round + 1) * 25];
        let event = fanout_tests::kinesis_event(batch.iter().map(|(seq, payload)| (seq.as_str(), "pk", payload.as_slice())));
        let response = fanout::sources::kinesis::handle(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(dynamodb_calls(), expected, "round {round}: one marker read, then none while this instance knows the shard clear");
    }
}
