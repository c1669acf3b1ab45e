//! The DynamoDB Streams handler (`handle_batch`, what `dynamodb-fanout`
//! runs) against the sandbox: the sample event through the example config,
//! and failures at each destination with the invariant checker (every record
//! delivered to each of its destinations, dead-lettered, or reported by its
//! sequence number).

use fanout::sources::dynamodb::{self, DynamoDbBatch};
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::{Sandbox, SandboxOptions};
use fanout_tests::invariant::{accepted_payloads, check, Input};
use fanout_tests::repo_root;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The sample's sequence numbers, in order: INSERT sensor-101, MODIFY
/// sensor-101 (still ACTIVE), MODIFY sensor-102 (ACTIVE -> FAILED), MODIFY
/// sensor-103 (FAILED -> FAILED), REMOVE sensor-104 (TTL).
const SEQ: [&str; 5] =
    ["1405400000000002063282801", "1405400000000002063282802", "1405400000000002063282803", "1405400000000002063282804", "1405400000000002063282805"];

/// Every record archived; a status that changes to FAILED also goes to a
/// Kinesis stream keyed by the device.
const CONFIG: &str = "destinations:
  archive: { type: firehose, delivery_stream: archive }
  failures: { type: kinesis, stream: device-failures, partition_key: /keys/deviceId }
  dead: { type: firehose, delivery_stream: dead }
routes:
  - { name: all, to: [archive] }
  - name: status-failures
    match: { data: { eventName: [MODIFY], newImage: { status: [FAILED] }, oldImage: { status: [ { anything-but: [FAILED] } ] } } }
    to: [failures]
delivery: { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 2 }
";

fn sample_text() -> String {
    std::fs::read_to_string(repo_root().join("events/dynamodb.json")).expect("events/dynamodb.json")
}

/// The sample as `dynamodb-fanout` reads it.
fn sample() -> DynamoDbBatch {
    serde_json::from_str(&sample_text()).expect("the sample reads")
}

async fn run(config: &str, faults: &str, event: DynamoDbBatch) -> (Sandbox, Vec<String>) {
    let (sandbox, clients) =
        fanout_tests::sandbox(SandboxOptions { faults: FaultSpec::parse(faults).expect("spec"), ..SandboxOptions::default() }).await;
    let fanout = Fanout::new(Config::parse(config, Path::new("dynamodb.yaml")).expect("valid"), &clients);
    let response = dynamodb::handle_batch(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a batch response");
    let failed = response.batch_item_failures.into_iter().map(|f| f.item_identifier.expect("never null")).collect();
    (sandbox, failed)
}

fn json_of(payloads: Vec<Vec<u8>>) -> Vec<Value> {
    payloads.iter().map(|p| serde_json::from_slice(p).expect("a JSON payload")).collect()
}

/// The invariant's inputs: each record's payload (as decoded, to find its
/// copies) and where CONFIG routes it (record 2 also to `failures`).
fn inputs() -> Vec<Input> {
    dynamodb::decode_batch(sample())
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut routed_to = vec![(Api::Firehose, "archive".to_owned())];
            if i == 2 {
                routed_to.push((Api::Kinesis, "device-failures".to_owned()));
            }
            Input { id: r.id.source_id.clone(), payload: r.data.to_vec(), routed_to }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_goes_to_the_archive_and_only_the_change_to_failed_goes_further() {
    let (sandbox, failed) = run(CONFIG, "", sample()).await;
    assert!(failed.is_empty(), "{failed:?}");

    let archived = json_of(accepted_payloads(&sandbox, Api::Firehose, "archive"));
    let mut seqs: Vec<&str> = archived.iter().filter_map(|p| p["sequenceNumber"].as_str()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, SEQ);
    let insert = archived.iter().find(|p| p["eventName"] == "INSERT").expect("the INSERT");
    assert_eq!(insert["newImage"]["serialNumber"], "123456789012345678901234567890");
    assert_eq!(insert["newImage"]["calibration"], "AZr/EEI=");
    assert_eq!(insert["keys"], json!({"deviceId": "sensor-101"}));

    let stored = sandbox.state.world().store.items(Api::Kinesis, "device-failures").to_vec();
    assert_eq!(stored.len(), 1, "only sensor-102 changed to FAILED (sensor-103 was FAILED already): {stored:?}");
    assert_eq!(stored[0]["partition_key"], "sensor-102", "partition key read from /keys/deviceId");
    let sent = json_of(accepted_payloads(&sandbox, Api::Kinesis, "device-failures"));
    assert_eq!((sent[0]["sequenceNumber"].as_str(), sent[0]["oldImage"]["status"].as_str()), (Some(SEQ[2]), Some("ACTIVE")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_config_sends_the_status_failure_to_iot_events() {
    let text = std::fs::read_to_string(repo_root().join("fanout.yaml")).expect("fanout.yaml");
    let (sandbox, failed) = run(&text, "", sample()).await;
    assert!(failed.is_empty(), "{failed:?}");
    let world = sandbox.state.world();
    assert_eq!(world.store.items(Api::Firehose, "telemetry-archive").len(), 5, "archive-everything");
    let inputs = world.store.items(Api::IotEvents, "telemetry_input");
    assert_eq!(inputs.len(), 1, "status-failures only: {inputs:?}");
    use base64::Engine as _;
    let payload: Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(inputs[0]["payload"].as_str().expect("payload")).expect("base64"))
            .expect("json");
    assert_eq!(payload["keys"]["deviceId"], "sensor-102");
    for (api, target) in [(Api::Kinesis, "telemetry-hot"), (Api::IotAnalytics, "telemetry")] {
        assert!(world.store.items(api, target).is_empty(), "the Kinesis example's routes read top-level fields: {api}/{target}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_keeps_failing_is_reported_by_sequence_number_and_nothing_is_lost() {
    // Both sensor-101 records fail at the archive on every attempt (transient).
    let (sandbox, failed) = run(CONFIG, "firehose:match=sensor-101", sample()).await;
    assert_eq!(failed, [SEQ[0], SEQ[1]], "each failed record once, in batch order; Lambda replays from the lowest");
    let reported: HashSet<String> = failed.into_iter().collect();
    let summary = check(&sandbox, &inputs(), &reported, None).expect("the invariant holds");
    assert_eq!((summary.delivered, summary.reported, summary.dead_lettered), (3, 2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_the_second_destination_reports_the_record_though_the_archive_took_it() {
    let (sandbox, failed) = run(CONFIG, "kinesis:rate=1", sample()).await;
    assert_eq!(failed, [SEQ[2]]);
    let summary = check(&sandbox, &inputs(), &failed.into_iter().collect(), None).expect("the invariant holds");
    assert_eq!((summary.delivered, summary.reported), (4, 1));
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "archive").len(), 5, "the replay will archive it again: at least once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_is_dead_lettered_and_not_reported() {
    let config = format!("{CONFIG}dead_letter: dead\n");
    let (sandbox, failed) = run(&config, "firehose:target=archive,match=sensor-104,code=InvalidArgumentException", sample()).await;
    assert!(failed.is_empty(), "{failed:?}");
    let summary = check(&sandbox, &inputs(), &HashSet::new(), Some("dead")).expect("the invariant holds");
    assert_eq!((summary.delivered, summary.dead_lettered), (4, 1));
    assert_eq!(fanout_tests::invariant::dead_lettered_ids(&sandbox, "dead"), HashSet::from([SEQ[4].to_owned()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_cannot_be_decoded_is_dead_lettered_with_the_reason_or_reported() {
    let mut event: Value = serde_json::from_str(&sample_text()).expect("json");
    event["Records"][3]["dynamodb"]["NewImage"]["errorCount"] = json!({"N": "four"});
    let bad = || serde_json::from_value::<DynamoDbBatch>(event.clone()).expect("the batch still reads");

    let (sandbox, failed) = run(CONFIG, "", bad()).await;
    assert_eq!(failed, [SEQ[3]], "without dead_letter the bad record is reported");
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "archive").len(), 4, "the others are archived");

    let (sandbox, failed) = run(&format!("{CONFIG}dead_letter: dead\n"), "", bad()).await;
    assert!(failed.is_empty());
    let envelopes = json_of(accepted_payloads(&sandbox, Api::Firehose, "dead"));
    assert_eq!(envelopes.len(), 1);
    let e = &envelopes[0];
    assert_eq!((e["record_id"].as_str(), e["destination"].as_str(), e["source"].as_str()), (Some(SEQ[3]), Some("(source)"), Some("dynamodb")));
    assert_eq!(e["reason"]["code"], "InvalidRecord");
    assert_eq!(e["reason"]["message"], "Records[3].dynamodb.NewImage: errorCount.N: `four` is not a number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_is_not_from_dynamodb_is_refused_and_nothing_is_sent() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(Config::parse(CONFIG, Path::new("dynamodb.yaml")).expect("valid"), &clients);
    let event: DynamoDbBatch = serde_json::from_str(r#"{"Messages": [{"body": "x"}]}"#).expect("reads");
    let err = dynamodb::handle_batch(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect_err("refused");
    let diagnostic = lambda_runtime_diagnostic(&err);
    assert_eq!(diagnostic, ("NotDynamoDbEvent".to_owned(), "not a DynamoDB Streams event: it has no `Records` array".to_owned()));
    assert_eq!(sandbox.state.world().store.calls().len(), 0);
}

/// The `errorType` and `errorMessage` the function returns for a handler error.
fn lambda_runtime_diagnostic(error: &dynamodb::DynamoDbHandlerError) -> (String, String) {
    let d = fanout::sources::ErrorType::diagnostic(error);
    (d.error_type, d.error_message)
}
