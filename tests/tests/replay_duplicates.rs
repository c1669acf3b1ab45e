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

#[tokio::test]
async fn replays_without_a_ledger_deliver_every_record_and_many_twice() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let text = "destinations:\n  archive: { type: firehose, delivery_stream: archive }\n  relay: { type: kinesis, stream: relay, partition_key: /device }\n  \
                queue: { type: sqs, queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/readings' }\n\
                routes:\n  - { name: all, to: [archive, relay, queue] }\n\
                delivery: { max_attempts: 1, deadline_margin_ms: 200 }\n";
    let fanout = Fanout::new(Config::parse(text, Path::new("replay.yaml")).expect("valid"), &clients);
    let records: Vec<(String, Vec<u8>)> =
        (0..RECORDS).map(|i| (format!("{:05}", 1000 + i), format!(r#"{{"device":"d-{}","n":{i}}}"#, i % 7).into_bytes())).collect();

    let mut from = 0;
    let mut invocations = 0;
    while from < records.len() {
        invocations += 1;
        assert!(invocations <= 40, "the replays never ended");
        let faults = if invocations <= FAILING_INVOCATIONS { format!("kinesis:rate=0.1;seed={invocations}") } else { String::new() };
        sandbox.state.faults().set(&FaultSpec::parse(&faults).expect("spec"));
        let event = fanout_tests::kinesis_event(records[from..].iter().map(|(seq, payload)| (seq.as_str(), "pk", payload.as_slice())));
        let response = fanout::sources::kinesis::handle(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
        from = match response.batch_item_failures.first().and_then(|f| f.item_identifier.clone()) {
            None => records.len(),
            Some(seq) => records.iter().position(|(s, _)| *s == seq).expect("a sequence number of the batch"),
        };
    }

    let world = sandbox.state.world();
    let mut counts: HashMap<&str, Counts> = HashMap::new();
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
        "{invocations} invocations; per destination {counts:?}; {duplicates} of {deliveries} deliveries are duplicates ({:.0}%)",
        100.0 * duplicates as f64 / deliveries as f64
    );
    assert!(invocations > FAILING_INVOCATIONS, "the failing rounds made Lambda replay");
    for (name, c) in &counts {
        assert_eq!(c.distinct, RECORDS, "{name}: every record arrived");
    }
    assert!(duplicates > deliveries / 2, "without a ledger, replays resend what had been accepted: {counts:?}");
}
