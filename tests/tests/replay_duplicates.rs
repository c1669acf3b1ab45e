//! What Lambda's replays cost in duplicates without a delivery ledger: the
//! Kinesis handler routing 200 records to three destinations of the
//! sandbox, one of which (the Kinesis stream) fails 10% of its items for the
//! first four invocations and then recovers (one attempt per item, so each
//! failure is answered at once); each invocation answers its
//! failures, and the batch is replayed from the lowest reported sequence
//! number, as Lambda replays a stream batch, until nothing fails. Every
//! delivery is counted per destination: nothing may be lost, and what
//! arrives more than once is the at-least-once price (docs/delivery.md),
//! the baseline a ledger has to beat. Then the same with the delivery
//! ledger: in memory, in the sandbox's DynamoDB, in moto's, with DynamoDB
//! down, and with the relay's records KPL-aggregated and the archive's
//! packed (the ledger keeps each source record, whatever was sent).

use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::moto::Moto;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The ledger's table in moto, as `template.yaml` declares it (key `pk`, on demand).
fn create_ledger_table(moto: &Moto) {
    let body = json!({
        "TableName": "fanout-ledger",
        "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
        "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
        "BillingMode": "PAY_PER_REQUEST"
    });
    let (status, answer) = moto.aws_json("dynamodb", "DynamoDB_20120810.CreateTable", &body);
    assert_eq!(status, 200, "CreateTable: {answer}");
}

/// What the ledger left in moto's table once nothing failed: no partition
/// marker pending (the last clean invocation cleared it), the records of
/// the failing rounds with the destinations they settled, each item
/// expiring within the default day.
fn check_ledger_items(moto: &Moto) {
    let (status, answer) = moto.aws_json("dynamodb", "DynamoDB_20120810.Scan", &json!({ "TableName": "fanout-ledger" }));
    assert_eq!(status, 200, "Scan: {answer}");
    let items = answer["Items"].as_array().expect("Items");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let mut records = 0;
    for item in items {
        let pk = item["pk"]["S"].as_str().expect("pk");
        assert!(!pk.starts_with("p#"), "a marker left pending after a clean invocation: {item}");
        assert!(pk.starts_with("r#"), "{item}");
        let ttl: u64 = item["ttl"]["N"].as_str().and_then(|n| n.parse().ok()).expect("a numeric ttl");
        assert!(ttl > now && ttl <= now + 24 * 3600 + 60, "ttl {ttl} is not within a day of {now}");
        let settled: Vec<&str> = item["d"]["SS"].as_array().expect("a string set of destinations").iter().filter_map(|d| d.as_str()).collect();
        assert!(!settled.is_empty() && settled.iter().all(|d| ["archive", "relay", "queue"].contains(d)), "{item}");
        records += 1;
    }
    assert!(records > 0, "the failing rounds left records in the ledger");
}

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
    /// The config's `ledger:`, a table moto serves (another implementation
    /// of DynamoDB than the sandbox's), created as the SAM template creates it.
    Moto,
    /// In memory, with the relay's records KPL-aggregated and the archive's
    /// packed: the ledger still works per source record.
    MemoryAggregated,
}

/// Run the scenario with `ledger`. Returns the invocations, the counts per
/// destination, the duplicate deliveries and all deliveries.
async fn run(ledger: Ledger) -> (usize, HashMap<&'static str, Counts>, usize, usize) {
    let (sandbox, mut clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let moto = (ledger == Ledger::Moto).then(|| {
        let moto = Moto::start();
        create_ledger_table(&moto);
        moto
    });
    if let Some(moto) = &moto {
        clients.dynamodb = fanout::Clients::from_sdk_config(&moto.sdk_config()).dynamodb;
    }
    let text = "destinations:\n  archive: { type: firehose, delivery_stream: archive }\n  relay: { type: kinesis, stream: relay, partition_key: /device }\n  \
                queue: { type: sqs, queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/readings' }\n\
                routes:\n  - { name: all, to: [archive, relay, queue] }\n\
                delivery: { max_attempts: 1, deadline_margin_ms: 200 }\n";
    let with_table = format!("{text}ledger: {{ table: fanout-ledger }}\n");
    let aggregated = text
        .replace("partition_key: /device }", "partition_key: /device, aggregate: kpl }")
        .replace("delivery_stream: archive }", "delivery_stream: archive, delimiter: \"\\n\", pack: true }");
    let text = match ledger {
        Ledger::Sandbox | Ledger::SandboxDown | Ledger::Moto => with_table.as_str(),
        Ledger::MemoryAggregated => aggregated.as_str(),
        Ledger::Off | Ledger::Memory => text,
    };
    let mut fanout = Fanout::new(Config::parse(text, Path::new("replay.yaml")).expect("valid"), &clients);
    if matches!(ledger, Ledger::Memory | Ledger::MemoryAggregated) {
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
            // A KPL aggregate's records, or the lines of a packed record, or the record.
            let records: Vec<Vec<u8>> = match fanout::sources::kpl::deaggregate(&bytes::Bytes::from(data.clone())) {
                Some(subs) => subs.into_iter().map(|s| s.data.to_vec()).collect(),
                None => data.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect(),
            };
            for record in records {
                let payload: serde_json::Value = serde_json::from_slice(&record).expect("json");
                *seen.entry(payload["n"].as_i64().expect("n")).or_default() += 1;
            }
        }
        counts.insert(name, Counts { deliveries: seen.values().sum(), distinct: seen.len() });
    }
    drop(world);
    if let Some(moto) = &moto {
        check_ledger_items(moto);
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
    for ledger in [Ledger::Memory, Ledger::Sandbox, Ledger::Moto, Ledger::MemoryAggregated] {
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

/// What an operator sees: the summary line says what the ledger did
/// (`ledger`), each destination how many records it did not send again
/// (`already_settled`, also the `AlreadySettled` metric), and an invocation
/// that fell back to at-least-once counts 1 in `LedgerUnavailable`.
#[tokio::test]
async fn the_summary_and_the_metrics_say_what_the_ledger_did() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let text =
        "destinations:\n  archive: { type: firehose, delivery_stream: archive }\n  relay: { type: kinesis, stream: relay, partition_key: /n }\n\
                routes:\n  - { name: all, to: [archive, relay] }\ndelivery: { max_attempts: 1 }\nledger: { table: fanout-ledger }\n";
    let (telemetry, captured) = fanout::metrics::Telemetry::capture("kinesis-fanout");
    let fanout = Fanout::new(Config::parse(text, Path::new("seen.yaml")).expect("valid"), &clients).with_telemetry(telemetry);
    let payloads: Vec<(String, Vec<u8>)> = (0..10).map(|i| (format!("{:05}", 3000 + i), format!(r#"{{"n":{i}}}"#).into_bytes())).collect();
    let invoke = |faults: &str| {
        sandbox.state.faults().set(&FaultSpec::parse(faults).expect("spec"));
        let event = fanout_tests::kinesis_event(payloads.iter().map(|(seq, payload)| (seq.as_str(), "pk", payload.as_slice())));
        let fanout = &fanout;
        let captured = &captured;
        async move {
            let response = fanout::sources::kinesis::handle(fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
            let lines: Vec<serde_json::Value> = captured.take().iter().map(|l| serde_json::from_str(l).expect("JSON")).collect();
            (response.batch_item_failures.len(), lines)
        }
    };
    let per_destination = |lines: &[serde_json::Value], name: &str| lines.iter().find(|l| l["Destination"] == name).cloned().expect("a document");

    // Every relay item fails: the archive's deliveries go into the ledger.
    let (failed, lines) = invoke("kinesis:rate=1").await;
    assert_eq!(failed, 10);
    assert_eq!((lines[0]["ledger"].as_str(), lines[0]["LedgerUnavailable"].as_u64()), (Some("used"), Some(0)));
    assert_eq!(lines[0]["destinations"]["archive"]["already_settled"], 0);

    // Lambda replays the batch: the archive sends nothing again.
    let (failed, lines) = invoke("").await;
    assert_eq!(failed, 0);
    assert_eq!(lines[0]["ledger"], "used");
    assert_eq!(
        (lines[0]["destinations"]["archive"]["already_settled"].as_u64(), lines[0]["destinations"]["relay"]["already_settled"].as_u64()),
        (Some(10), Some(0))
    );
    assert_eq!(
        (per_destination(&lines, "archive")["AlreadySettled"].as_u64(), per_destination(&lines, "archive")["Requests"].as_u64()),
        (Some(10), Some(0))
    );
    assert_eq!(per_destination(&lines, "relay")["AlreadySettled"], 0);
    assert_eq!(sandbox.state.world().store.items(Api::Firehose, "archive").len(), 10, "the archive got each record once");

    // DynamoDB goes down. This instance saw the shard clear a moment ago, so
    // it does not ask; the relay fails again and the ledger cannot be written.
    let (failed, lines) = invoke("kinesis:rate=1;dynamodb:status=503,count=all").await;
    assert_eq!(failed, 10);
    assert_eq!((lines[0]["ledger"].as_str(), lines[0]["LedgerUnavailable"].as_u64()), (Some("not_updated"), Some(1)));
    // The replay finds the ledger unreadable: at least once, and it says so.
    let (failed, lines) = invoke("dynamodb:status=503,count=all").await;
    assert_eq!(failed, 0);
    assert_eq!((lines[0]["ledger"].as_str(), lines[0]["LedgerUnavailable"].as_u64()), (Some("unavailable"), Some(1)));
    assert_eq!(lines[0]["destinations"]["archive"]["already_settled"], 0);
    assert_eq!(sandbox.state.world().store.items(Api::Firehose, "archive").len(), 30, "sent again twice: duplicates, nothing lost");
}
