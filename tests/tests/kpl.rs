//! KPL-aggregated Kinesis records through the handler and the sandbox: each
//! sub-record routed on its own, a failed sub-record reported once through
//! its parent's sequence number, corrupted aggregates taken as ordinary records.

use base64::Engine as _;
use fanout::sources::kpl::aggregate;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::accepted_payloads;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, SystemTime};

const CONFIG: &str = "destinations:\n  archive: { type: firehose, delivery_stream: archive }\n  mirror: { type: kinesis, stream: mirror }\n\
                      routes: [ { name: all, to: [archive, mirror] } ]\ndelivery: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 2 }\n";

fn event(datas: &[bytes::Bytes]) -> aws_lambda_events::event::kinesis::KinesisEvent {
    let records: Vec<serde_json::Value> = datas
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({"eventID": format!("shardId-000000000000:seq-{i}"), "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/in", "awsRegion": "us-east-1",
                   "kinesis": {"partitionKey": "aggregate", "sequenceNumber": format!("seq-{i}"), "approximateArrivalTimestamp": 1.7e9,
                               "data": base64::engine::general_purpose::STANDARD.encode(d)}})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_records_are_routed_alone_and_a_failure_reports_the_parent_once() {
    let (sandbox, clients) =
        fanout_tests::sandbox(SandboxOptions { faults: FaultSpec::parse(r#"firehose:match="n":2"#).expect("spec"), ..SandboxOptions::default() })
            .await;
    let fanout = Fanout::new(Config::parse(CONFIG, Path::new("kpl.yaml")).expect("valid"), &clients);
    let first = aggregate(&[("k1", br#"{"n":1}"#), ("k2", br#"{"n":2}"#), ("k3", br#"{"n":3}"#)]);
    let second = aggregate(&[("k4", br#"{"n":4}"#)]);
    let mut corrupted = aggregate(&[("k5", br#"{"n":5}"#)]).to_vec();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 1;
    let corrupted = bytes::Bytes::from(corrupted);
    let response = fanout::sources::kinesis::handle(&fanout, event(&[first, second, corrupted.clone()]), SystemTime::now() + Duration::from_secs(30))
        .await
        .expect("response");
    let failed: Vec<String> = response.batch_item_failures.into_iter().filter_map(|f| f.item_identifier).collect();
    assert_eq!(failed, vec!["seq-0"], "sub-record n=2 failed: its parent is reported, once");
    let mirrored: Vec<(String, Vec<u8>)> = sandbox
        .state
        .world()
        .store
        .items(Api::Kinesis, "mirror")
        .iter()
        .map(|i| {
            (
                i["partition_key"].as_str().unwrap_or_default().to_owned(),
                base64::engine::general_purpose::STANDARD.decode(i["data"].as_str().unwrap_or_default()).unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(String, Vec<u8>)> = vec![
        ("k1".into(), br#"{"n":1}"#.to_vec()),
        ("k2".into(), br#"{"n":2}"#.to_vec()),
        ("k3".into(), br#"{"n":3}"#.to_vec()),
        ("k4".into(), br#"{"n":4}"#.to_vec()),
        ("aggregate".into(), corrupted.to_vec()),
    ];
    assert_eq!(mirrored, want, "each sub-record under its own key; the corrupted aggregate as one ordinary record");
    let archived = accepted_payloads(&sandbox, Api::Firehose, "archive");
    assert_eq!(archived.len(), 4, "n=2 never reached the archive: {archived:?}");
}
