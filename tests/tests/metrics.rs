//! The EMF metrics and the summary line of real handler runs (the Kinesis
//! handler against the sandbox over HTTP, with faults), checked metric by
//! metric against what the scenario makes happen to each record.
//!
//! One test per process matters here: `ColdStart` is per process, so the
//! invocations that check it live in one test.

use base64::Engine as _;
use fanout::metrics::Telemetry;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::FaultSpec;
use fanout_sandbox::SandboxOptions;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// 10 records: 0-7 are readings (archived), 8-9 are not (unrouted); the odd
/// readings are hot (t > 50: also mirrored). Faults: d-2 is refused for good
/// by `archive` (dead-lettered), d-3 is throttled by `mirror` on every attempt
/// (failed after 3 attempts).
const CONFIG: &str = "destinations:
  archive: { type: firehose, delivery_stream: archive }
  mirror: { type: kinesis, stream: mirror, partition_key: /deviceId }
  dead: { type: firehose, delivery_stream: dead }
  idle: { type: firehose, delivery_stream: idle }
routes:
  - { name: readings, match: { data: { kind: [reading] } }, to: [archive] }
  - { name: hot, match: { data: { t: [ { numeric: ['>', 50] } ] } }, to: [mirror] }
dead_letter: dead
delivery: { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 5, deadline_margin_ms: 200 }
";
const FAULTS: &str = r#"firehose:match="d-2",code=InvalidArgumentException,target=archive;kinesis:match="d-3""#;
const AGE_MS: i64 = 5_000;

fn payload(i: usize) -> String {
    let kind = if i < 8 { "reading" } else { "other" };
    let t = match i {
        8.. => 0,
        _ if i % 2 == 1 => 60 + i,
        _ => i,
    };
    format!(r#"{{"deviceId":"d-{i}","kind":"{kind}","t":{t}}}"#)
}

fn event(arrival_ms: i64) -> fanout::sources::kinesis::KinesisBatch {
    let records: Vec<Value> = (0..10)
        .map(|i| {
            json!({
                "eventSource": "aws:kinesis", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/in",
                "kinesis": { "partitionKey": "pk", "sequenceNumber": format!("seq-{i}"),
                    "data": base64::engine::general_purpose::STANDARD.encode(payload(i)),
                    "approximateArrivalTimestamp": (arrival_ms - i as i64) as f64 / 1000.0 }
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("event")
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Check the EMF rules every document must keep: each metric a directive
/// names is a number at the top level, each dimension a string.
fn check_emf(doc: &Value) {
    let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap_or_else(|| panic!("no directives: {doc}"));
    assert!(doc["_aws"]["Timestamp"].as_i64().is_some_and(|t| (now_ms() - t).abs() < 60_000), "{doc}");
    for d in directives {
        for set in d["Dimensions"].as_array().into_iter().flatten() {
            for dim in set.as_array().into_iter().flatten() {
                let name = dim.as_str().unwrap_or_default();
                assert!(doc[name].is_string(), "dimension {name} has no value: {doc}");
            }
        }
        for m in d["Metrics"].as_array().into_iter().flatten() {
            let name = m["Name"].as_str().unwrap_or_default();
            assert!(doc[name].is_number(), "metric {name} has no value: {doc}");
        }
    }
}

fn metric_names(doc: &Value) -> Vec<String> {
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().into_iter().flatten().filter_map(|m| m["Name"].as_str().map(str::to_owned)).collect()
}

fn unit_of(doc: &Value, metric: &str) -> String {
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["Name"] == metric)
        .map(|m| m["Unit"].to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_of_a_real_invocation_matches_what_happened_to_its_records() {
    let faults = FaultSpec::parse(FAULTS).expect("spec");
    let (_sandbox, clients) = fanout_tests::sandbox(SandboxOptions { faults, ..SandboxOptions::default() }).await;
    let config = Config::parse(CONFIG, Path::new("metrics.yaml")).expect("valid");
    let (telemetry, captured) = Telemetry::capture("kinesis-fanout-test");
    let fanout = Fanout::new(config, &clients).with_telemetry(telemetry);

    let started = Instant::now();
    let response = fanout::metrics::with_request_id(
        "req-metrics-1".into(),
        fanout::sources::kinesis::handle_batch(&fanout, event(now_ms() - AGE_MS), SystemTime::now() + Duration::from_secs(30)),
    )
    .await
    .expect("a batch response");
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let reported: Vec<String> = response.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect();
    assert_eq!(reported, ["seq-3"], "only d-3 failed");

    let lines: Vec<Value> = captured.take().iter().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(lines.len(), 1 + 3, "the summary and archive, mirror, dead (idle saw nothing): {lines:?}");
    for l in &lines {
        check_emf(l);
    }

    // Totals: 10 records; 0,1,4,5,6,7 delivered; 2 dead-lettered; 3 failed; 8,9 unrouted.
    let s = &lines[0];
    assert_eq!(s["message"], "invocation summary");
    assert_eq!(s["requestId"], "req-metrics-1");
    assert_eq!(s["source"], "kinesis");
    assert_eq!(s["FunctionName"], "kinesis-fanout-test");
    assert_eq!(s["_aws"]["CloudWatchMetrics"][0]["Namespace"], "fanout");
    assert_eq!(s["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["FunctionName"]]));
    assert_eq!(metric_names(s), ["Records", "Delivered", "Failed", "DeadLettered", "Unrouted", "Duration", "BatchAge", "ColdStart"]);
    for (metric, field, expected) in [
        ("Records", "records", 10),
        ("Delivered", "delivered", 6),
        ("Failed", "failed", 1),
        ("DeadLettered", "dead_lettered", 1),
        ("Unrouted", "unrouted", 2),
    ] {
        assert_eq!(s[metric], expected, "{metric}");
        assert_eq!(s[field], expected, "{field}");
        assert_eq!(unit_of(s, metric), "\"Count\"");
    }
    let duration = s["Duration"].as_f64().unwrap_or(-1.0);
    assert!(duration > 0.0 && duration <= elapsed_ms, "Duration {duration} within the {elapsed_ms} ms the call took");
    assert_eq!(unit_of(s, "Duration"), "\"Milliseconds\"");
    let age = s["BatchAge"].as_i64().unwrap_or(-1);
    assert!((AGE_MS..AGE_MS + 60_000).contains(&age), "BatchAge {age}: now minus the oldest arrival (at least {AGE_MS} ms ago)");
    assert_eq!(s["ColdStart"], 1);

    // Per destination, in the scenario's terms.
    let by_name = |name: &str| lines.iter().find(|l| l["Destination"] == name).unwrap_or_else(|| panic!("no document for {name}"));
    let bytes = |records: &[usize], extra: usize| -> u64 { records.iter().map(|&i| payload(i).len() as u64).sum::<u64>() + extra as u64 };
    let archive = by_name("archive");
    let mirror = by_name("mirror");
    let dead = by_name("dead");
    for d in [archive, mirror, dead] {
        assert_eq!(d["FunctionName"], "kinesis-fanout-test");
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["FunctionName", "Destination"]]));
        assert_eq!(metric_names(d), ["Routed", "Delivered", "Failed", "DeadLettered", "Requests", "Resends", "Throttles", "Bytes"]);
        assert_eq!(unit_of(d, "Bytes"), "\"Bytes\"");
    }
    let counts = |d: &Value| -> Vec<u64> {
        ["Routed", "Delivered", "Failed", "DeadLettered", "Requests", "Resends", "Throttles"]
            .iter()
            .map(|m| d[*m].as_u64().unwrap_or(u64::MAX))
            .collect()
    };
    // archive: records 0-7 in one request; d-2 refused for good (not resent, not a throttle).
    assert_eq!(counts(archive), [8, 7, 0, 1, 1, 0, 0]);
    assert_eq!(archive["Bytes"], bytes(&[0, 1, 2, 3, 4, 5, 6, 7], 0));
    // mirror: 1,3,5,7 in one request; d-3 throttled on each of its 3 attempts (2 resends, 1 request each).
    assert_eq!(counts(mirror), [4, 3, 1, 0, 3, 2, 3]);
    let key = |i: usize| format!("d-{i}").len();
    assert_eq!(
        mirror["Bytes"],
        bytes(&[1, 3, 5, 7, 3, 3], key(1) + key(3) + key(5) + key(7) + 2 * key(3)),
        "data and partition key, resends included"
    );
    // dead: routed nothing, took the one envelope in one request.
    assert_eq!(counts(dead), [0, 0, 0, 0, 1, 0, 0]);
    assert!(dead["Bytes"].as_u64().is_some_and(|b| b > payload(2).len() as u64), "the envelope holds the payload and its reason");
    assert_eq!(s["destinations"]["dead"]["requests"], 1);
    assert_eq!(s["destinations"]["mirror"]["throttles"], 3);

    // A second invocation of the same process is not a cold start.
    let _ = fanout::sources::kinesis::handle_batch(&fanout, event(now_ms()), SystemTime::now() + Duration::from_secs(30)).await;
    let second: Vec<Value> = captured.take().iter().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert_eq!(second[0]["ColdStart"], 0);
    assert!(second[0].get("requestId").is_none(), "no request id outside with_request_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_section_sets_namespace_constant_dimensions_and_turns_documents_off() {
    let (_sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let run = |metrics: &'static str| {
        let clients = clients.clone();
        async move {
            let config = Config::parse(&format!("{CONFIG}{metrics}"), Path::new("metrics.yaml")).expect("valid");
            let (telemetry, captured) = Telemetry::capture("f");
            let fanout = Fanout::new(config, &clients).with_telemetry(telemetry);
            let _ = fanout::sources::kinesis::handle_batch(&fanout, event(now_ms()), SystemTime::now() + Duration::from_secs(30)).await;
            captured.take().iter().map(|l| serde_json::from_str::<Value>(l).expect("JSON")).collect::<Vec<Value>>()
        }
    };
    let lines = run("metrics: { namespace: plant/telemetry, dimensions: { stage: prod }, per_destination: false }\n").await;
    assert_eq!(lines.len(), 1, "per_destination: false writes the summary only");
    check_emf(&lines[0]);
    assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "plant/telemetry");
    assert_eq!(
        lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["FunctionName"], ["FunctionName", "stage"]]),
        "the plain set stays, for the template's alarms"
    );
    assert_eq!(lines[0]["stage"], "prod");

    // Off, and no subscriber taking INFO: nothing at all is written.
    assert_eq!(run("metrics: { enabled: false }\n").await, Vec::<Value>::new());
}
