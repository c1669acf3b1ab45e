//! Transforms and value expressions end to end: the Kinesis handler routing
//! to sandbox destinations whose `transform` reshapes, filters, multiplies or
//! fails records, with a jq partition key and a newline delimiter.

use fanout::{Config, Fanout};
use fanout_sandbox::faults::Api;
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::{accepted_payloads, dead_lettered_ids};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, SystemTime};

const CONFIG: &str = r#"
destinations:
  archive:
    type: firehose
    delivery_stream: archive
    transform: '{key, id, reading: .data}'
    delimiter: "\n"
  hot:
    type: sqs
    queue_url: https://sqs.us-east-1.amazonaws.com/123456789012/hot
    transform: 'select(.data.t > 50) | "\(.data.device) at \(.data.t)"'
  parts:
    type: kinesis
    stream: parts
    partition_key: '= .data.site + "/" + .data.device'
    transform: '.data as $d | $d.parts[]? | {part: ., site: $d.site, device: $d.device}'
  events:
    type: eventbridge
    source: com.example
    detail_type: '= "Reading " + (.data.t | tostring)'   # reads the transform's output
    transform: '.data | {device, t: (.t + 0)}'
  dead: { type: firehose, delivery_stream: dead }
routes:
  - { name: all, to: [archive, hot, parts, events] }
dead_letter: dead
"#;

fn payloads() -> Vec<Value> {
    vec![
        json!({"device": "d-1", "site": "a", "t": 20, "parts": ["x", "y"]}),
        json!({"device": "d-2", "site": "b", "t": 70, "parts": []}),
        json!({"device": "d-3", "site": "a", "t": "hot", "parts": ["z"]}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transforms_reshape_filter_multiply_and_fail_records_each_as_documented() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(Config::parse(CONFIG, Path::new("t.yaml")).expect("valid"), &clients);
    let texts: Vec<String> = payloads().iter().map(Value::to_string).collect();
    let ids = ["s-1", "s-2", "s-3"];
    let event = fanout_tests::kinesis_event(ids.iter().zip(&texts).map(|(id, t)| (*id, "pk", t.as_bytes())));
    let run = fanout::sources::kinesis::invoke(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await;
    assert!(run.response.expect("a response").batch_item_failures.is_empty(), "nothing reported: failures are dead-lettered");

    // An envelope per record, newline-delimited.
    let archive: Vec<Value> = accepted_payloads(&sandbox, Api::Firehose, "archive")
        .iter()
        .map(|p| {
            assert_eq!(p.last(), Some(&b'\n'));
            serde_json::from_slice(p).expect("json")
        })
        .collect();
    let want: Vec<Value> = ids.iter().zip(payloads()).map(|(id, p)| json!({"key": "pk", "id": id, "reading": p})).collect();
    assert_eq!(archive, want);

    // The hot readings, as text (in jq, a string sorts after every number, so "hot" > 50);
    // the cold one is filtered, not failed.
    assert_eq!(accepted_payloads(&sandbox, Api::Sqs, "hot"), [b"d-2 at 70".to_vec(), b"d-3 at hot".to_vec()]);
    let hot = run.report.destinations.iter().find(|d| d.name == "hot").expect("hot");
    assert_eq!((hot.counts().filtered, hot.counts().failed, hot.counts().dead_lettered), (1, 0, 0));

    // One record per part, keyed by the jq partition key (which reads the transform's output,
    // as every field of the destination does); a record with no parts sends nothing.
    let world = sandbox.state.world();
    let parts: Vec<(String, Value)> = world
        .store
        .items(Api::Kinesis, "parts")
        .iter()
        .map(|i| {
            let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, i["data"].as_str().unwrap_or_default()).unwrap_or_default();
            (i["partition_key"].as_str().unwrap_or_default().to_owned(), serde_json::from_slice(&data).unwrap_or_default())
        })
        .collect();
    let part = |p: &str, site: &str, device: &str| (format!("{site}/{device}"), json!({"part": p, "site": site, "device": device}));
    assert_eq!(parts, [part("x", "a", "d-1"), part("y", "a", "d-1"), part("z", "a", "d-3")]);

    // The transform's runtime error dead-letters the record with jq's message; the others become events.
    let events: Vec<(Value, Value)> = world
        .store
        .items(Api::EventBridge, "default")
        .iter()
        .map(|e| {
            let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, e["data"].as_str().unwrap_or_default()).unwrap_or_default();
            (e["detail_type"].clone(), serde_json::from_slice(&data).unwrap_or_default())
        })
        .collect();
    assert_eq!(events, [(json!("Reading 20"), json!({"device": "d-1", "t": 20})), (json!("Reading 70"), json!({"device": "d-2", "t": 70}))]);
    drop(world);
    assert_eq!(dead_lettered_ids(&sandbox, "dead").into_iter().collect::<Vec<_>>(), ["s-3"]);
    let envelope = String::from_utf8_lossy(&accepted_payloads(&sandbox, Api::Firehose, "dead")[0]).into_owned();
    assert!(envelope.contains("TransformFailed") && envelope.contains("events"), "{envelope}");
}

#[test]
fn a_transform_that_does_not_compile_is_a_config_error_at_its_place() {
    let text = "destinations:\n  a: { type: firehose, delivery_stream: s, transform: '.data |' }\nroutes: [ { name: r, to: [a] } ]\n";
    let err = Config::parse(text, Path::new("t.yaml")).unwrap_err().to_string();
    assert!(err.contains("destinations.a.transform") && err.contains("does not parse"), "{err}");
}
