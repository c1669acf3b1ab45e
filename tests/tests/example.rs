//! The example config and sample event, end to end against the sandbox: every
//! destination type receives the right contents, and records that break a
//! destination's rules are dead-lettered (or reported) with the rule named.

use base64::Engine as _;
use fanout::detectors::reads::describe_detector;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::Api;
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::accepted_payloads;
use fanout_tests::{event_payloads, repo_root};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn example_config() -> Config {
    Config::load(&repo_root().join("fanout.yaml")).expect("the example config is valid")
}

fn sample_event() -> Value {
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/kinesis.json")).expect("event")).expect("json");
    let now = SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    for record in event["Records"].as_array_mut().expect("Records") {
        record["kinesis"]["approximateArrivalTimestamp"] = json!(now);
    }
    event
}

fn event_of(payloads: &[Value]) -> Value {
    let now = SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let records: Vec<Value> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"eventID": format!("shardId-000000000000:seq-{i}"), "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/in", "awsRegion": "us-east-1",
                   "kinesis": {"partitionKey": "pk", "sequenceNumber": format!("seq-{i}"), "approximateArrivalTimestamp": now,
                               "data": base64::engine::general_purpose::STANDARD.encode(p.to_string())}})
        })
        .collect();
    json!({ "Records": records })
}

fn b64(item: &Value, field: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(item[field].as_str().unwrap_or_default()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_event_lands_in_every_destination_type_with_the_right_contents() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(example_config(), &clients);
    let event = sample_event();
    let run =
        fanout::sources::kinesis::invoke(&fanout, serde_json::from_value(event.clone()).expect("event"), SystemTime::now() + Duration::from_secs(30))
            .await;
    assert!(run.response.expect("response").batch_item_failures.is_empty());

    let payloads = event_payloads(&event);
    let readings: Vec<Value> =
        payloads.iter().filter_map(|p| serde_json::from_slice::<Value>(p).ok()).filter(|v| v["temperature"].is_number()).collect();
    assert_eq!(readings.len(), 5);

    // Firehose: every record, byte for byte, each followed by the newline delimiter.
    let lines: Vec<Vec<u8>> = payloads.iter().map(|p| [p.as_slice(), b"\n"].concat()).collect();
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "telemetry-archive"), lines);
    // Kinesis: the hot readings, keyed by device.
    {
        let world = sandbox.state.world();
        let hot: Vec<(String, Value)> = world
            .store
            .items(Api::Kinesis, "telemetry-hot")
            .iter()
            .map(|i| (i["partition_key"].as_str().unwrap_or_default().to_owned(), serde_json::from_slice(&b64(i, "data")).unwrap_or_default()))
            .collect();
        let want_hot: Vec<(String, Value)> = readings
            .iter()
            .filter(|r| r["temperature"].as_f64() > Some(50.0))
            .map(|r| (r["deviceId"].as_str().unwrap_or_default().to_owned(), r.clone()))
            .collect();
        assert_eq!(hot, want_hot);
        // IoT Analytics: the readings, unchanged (their field names are valid).
        let analytics: Vec<Value> = world
            .store
            .items(Api::IotAnalytics, "telemetry")
            .iter()
            .map(|i| serde_json::from_slice(&b64(i, "payload")).unwrap_or_default())
            .collect();
        assert_eq!(analytics, readings);
        // IoT Events: the readings as input messages, ids from the sequence numbers.
        let messages = world.store.items(Api::IotEvents, "telemetry_input");
        assert_eq!(messages.iter().map(|m| serde_json::from_slice::<Value>(&b64(m, "payload")).unwrap_or_default()).collect::<Vec<_>>(), readings);
        assert!(messages.iter().all(|m| m["messageId"].as_str().is_some_and(|id| id.starts_with("4965650928"))));
        // SiteWise: two values per reading, under the templated aliases.
        for r in &readings {
            for (prop, field) in [("temperature", "temperature"), ("pressure", "pressure")] {
                let alias = format!("/plant/{}/{}/{prop}", r["site"].as_str().unwrap_or_default(), r["deviceId"].as_str().unwrap_or_default());
                let values: Vec<f64> = world.store.items(Api::Sitewise, &alias).iter().filter_map(|v| v["value"]["doubleValue"].as_f64()).collect();
                assert!(values.contains(&r[field].as_f64().unwrap_or(f64::NAN)), "{alias}: {values:?}");
            }
        }
        let hot_readings: Vec<Value> = readings.iter().filter(|r| r["temperature"].as_f64() > Some(50.0)).cloned().collect();
        // SNS: the hot readings, each with the constant subject.
        let alerts = world.store.items(Api::Sns, "hot-readings");
        assert_eq!(alerts.iter().map(|a| serde_json::from_slice::<Value>(&b64(a, "data")).unwrap_or_default()).collect::<Vec<_>>(), hot_readings);
        assert!(alerts.iter().all(|a| a["subject"] == "Hot reading"));
        // EventBridge: the transform's pick of each reading as the event detail, with the configured source and detail type.
        let events = world.store.items(Api::EventBridge, "telemetry");
        let picked: Vec<Value> =
            readings.iter().map(|r| serde_json::json!({"deviceId": r["deviceId"], "site": r["site"], "temperature": r["temperature"]})).collect();
        assert_eq!(events.iter().map(|e| serde_json::from_slice::<Value>(&b64(e, "data")).unwrap_or_default()).collect::<Vec<_>>(), picked);
        assert!(events.iter().all(|e| e["source"] == "com.example.telemetry" && e["detail_type"] == "Reading"));
        // SQS FIFO: the alarm, grouped by its device.
        let alarms = world.store.items(Api::Sqs, "device-alarms.fifo");
        assert_eq!(alarms.len(), 1);
        assert_eq!(alarms[0]["group"], "sensor-004");
        assert_eq!(serde_json::from_slice::<Value>(&b64(&alarms[0], "data")).unwrap_or_default()["alarm"], true);
    }
    // IoT Events detector: the alarm set sensor-004's detector, read back through the routing crate.
    let detector = describe_detector(&clients.ioteventsdata, "overheating", "sensor-004").await.expect("described").expect("exists");
    assert_eq!(detector.state, "Alarm");
    assert_eq!(detector.variables.get("temperature").map(String::as_str), Some("73.0"));
    assert_eq!(describe_detector(&clients.ioteventsdata, "overheating", "sensor-001").await.expect("described"), None, "no alarm, no detector");
}

fn rule_breakers() -> Vec<Value> {
    vec![
        json!({"deviceId": "sensor-9", "site": "plant-c", "temperature": 2e10, "pressure": 1.0}),
        json!({"device-id": "sensor-10", "site": "plant-c", "temperature": 20.0, "pressure": 1.0}),
        json!({"deviceId": "sensor-11", "site": "plant-c", "temperature": 20.0, "pressure": 1.0}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_breaking_a_destination_rule_are_dead_lettered_with_the_rule_named() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(example_config(), &clients);
    let run = fanout::sources::kinesis::invoke(
        &fanout,
        serde_json::from_value(event_of(&rule_breakers())).expect("event"),
        SystemTime::now() + Duration::from_secs(30),
    )
    .await;
    assert!(run.response.expect("response").batch_item_failures.is_empty(), "dead-lettered records count as handled");
    let envelopes: Vec<Value> =
        accepted_payloads(&sandbox, Api::Firehose, "fanout-dead-letters").iter().map(|p| serde_json::from_slice(p).expect("json")).collect();
    let reasons: Vec<(String, String, String, String)> = envelopes
        .iter()
        .map(|e| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&e["record_id"]), s(&e["destination"]), s(&e["reason"]["code"]), s(&e["reason"]["message"]))
        })
        .collect();
    let has = |id: &str, dest: &str, code: &str, words: &str| reasons.iter().any(|r| r.0 == id && r.1 == dest && r.2 == code && r.3.contains(words));
    assert!(has("seq-0", "plant-metrics", "ValueOutOfRange", "outside ±1e10"), "{reasons:#?}");
    assert!(has("seq-1", "analytics", "InvalidFieldName", "field `device-id`"), "{reasons:#?}");
    assert!(has("seq-1", "plant-metrics", "PropertyUnresolved", "/deviceId"), "{reasons:#?}");
    assert_eq!(reasons.len(), 3, "{reasons:#?}");
    assert!(reasons.iter().all(|r| r.0 != "seq-2"), "the valid record was not dead-lettered");
    // The valid parts still went everywhere else: the archive has all three records.
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "telemetry-archive").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dead_letter_the_same_records_are_reported() {
    let text = std::fs::read_to_string(repo_root().join("fanout.yaml")).expect("config").replace("dead_letter: errors", "");
    let (_sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(Config::parse(&text, Path::new("no-dl.yaml")).expect("valid"), &clients);
    let run = fanout::sources::kinesis::invoke(
        &fanout,
        serde_json::from_value(event_of(&rule_breakers())).expect("event"),
        SystemTime::now() + Duration::from_secs(30),
    )
    .await;
    let reported: Vec<String> = run.response.expect("response").batch_item_failures.into_iter().filter_map(|f| f.item_identifier).collect();
    assert_eq!(reported, vec!["seq-0", "seq-1"]);
}
