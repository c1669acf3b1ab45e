//! The projected JSON view changes nothing but cost: for the same records and
//! config, every outcome and every request is the same with it as without.

use bytes::Bytes;
use fanout::projection::DataFields;
use fanout::record::{Record, RecordId};
use fanout::report::Report;
use fanout::workloads::Workload;
use fanout::{Clients, Config, Fanout};
use std::path::Path;

fn records(payloads: &[Vec<u8>], now_ms: i64) -> Vec<Record> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Record::new(RecordId::new(format!("seq-{i}")), "kinesis", Bytes::from(p.clone())).with_key(format!("k{i}")).with_arrival_ms(now_ms)
        })
        .collect()
}

/// Everything a report says, in a comparable form.
fn summary(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report.status.iter().map(|s| format!("{s:?}")).collect();
    for d in &report.destinations {
        out.push(format!("{} {:?}", d.name, d.stats));
        out.extend(d.outcomes.iter().map(|(i, o)| format!("{} {i} {o:?}", d.name)));
    }
    out
}

/// The projection in force and the (identical) summaries.
async fn same_with_and_without(config: &str, payloads: &[Vec<u8>], now_ms: i64) -> (Option<Vec<String>>, Vec<String>) {
    let config = Config::parse(config, Path::new("t.yaml")).expect("valid");
    let projected = Fanout::dry_run(config.clone(), &Clients::offline());
    let whole = Fanout::dry_run(config, &Clients::offline()).without_projection();
    let far = || tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    let a = summary(&projected.process(&records(payloads, now_ms), far()).await);
    let b = summary(&whole.process(&records(payloads, now_ms), far()).await);
    assert_eq!(a, b);
    (projected.projection().map(|p| p.to_vec()), a)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[tokio::test]
async fn workloads_route_and_plan_the_same_and_small_reads_five_fields() {
    let now = now_ms();
    let expected = [
        (Workload::Small, Some(vec!["deviceId", "pressure", "site", "temperature", "ts"])),
        (Workload::Large, Some(vec!["deviceId"])),
        (Workload::Fanout5, None), // IoT Analytics checks every field name: the whole document.
    ];
    for (w, fields) in expected {
        let payloads: Vec<Vec<u8>> = w.payloads(now).into_iter().take(600).collect();
        let (projection, _) = same_with_and_without(w.config_yaml(), &payloads, now).await;
        assert_eq!(projection, fields.map(|f| f.into_iter().map(String::from).collect::<Vec<_>>()), "{}", w.name());
    }
}

/// The one reader of the payload reads one field: records read it from
/// their text, with no view, and everything comes out as with the whole parse.
#[tokio::test]
async fn one_field_read_once_is_read_from_the_text_with_the_same_outcomes() {
    let config = r#"
destinations:
  k: { type: kinesis, stream: s, partition_key: /meta/device }
  f: { type: firehose, delivery_stream: d }
routes:
  - { name: all, to: [k, f] }
"#;
    let payloads: Vec<Vec<u8>> = [
        &br#"{"meta":{"device":"d-1"},"n":1}"#[..],
        br#"{"meta":{"device":7},"meta":{"device":"d-2"}}"#,
        br#"{"meta":{"device":true}}"#,
        br#"{"meta":{"device":{"x":1}}}"#,
        br#"{"meta":{}}"#,
        br#"{"meta":{"device":"d-1"},"bad":1e400}"#,
        br#"[{"meta":{"device":"d-3"}}]"#,
        b"not json",
        br#"{"meta":{"device":"d-1"}} trailing"#,
    ]
    .iter()
    .map(|p| p.to_vec())
    .collect();
    let parsed = Config::parse(config, Path::new("t.yaml")).expect("valid");
    assert!(Fanout::dry_run(parsed.clone(), &Clients::offline()).reads_pointers_from_text());
    let (projection, summary) = same_with_and_without(config, &payloads, now_ms()).await;
    assert_eq!(projection, Some(vec!["meta".to_owned()]));
    let failed = summary.iter().filter(|line| line.starts_with("k ") && line.contains("Failed")).count();
    assert_eq!(failed, 6, "a number, a string: sent; a boolean too; an object, a missing field, not JSON (3): refused\n{summary:#?}");
    let routed = Config::parse(
        &config.replace("- { name: all, to: [k, f] }", "- { name: all, match: { data: { n: [1] } }, to: [k, f] }"),
        Path::new("t.yaml"),
    )
    .expect("valid");
    assert!(!Fanout::dry_run(routed, &Clients::offline()).reads_pointers_from_text(), "a route reading the payload: a view");
}

const EDGES: &str = r#"
destinations:
  k: { type: kinesis, stream: s, partition_key: /meta/device }
  s:
    type: sitewise
    properties:
      - { alias: '/p/{/meta/site}/t', value: /readings/0, timestamp: /ts, quality: /q }
  d: { type: iot_events_detector, detector_model: m, key: /meta/device, state: /state, variables: { t: /readings/1 }, timers: { x: /timer } }
  e: { type: iot_events, input: i, payload: /readings }
routes:
  - name: a
    match: { data: { $or: [ { level: [ { numeric: [">", 3] } ] }, { meta: { device: [ { prefix: "d-1" } ] } } ] } }
    to: [k]
  - { name: b, match: { data: { missing: [ { exists: false } ] } }, to: [s, d] }
  - { name: c, match: { data: { level: [ { anything-but: [5] } ] } }, to: [e] }
"#;

#[tokio::test]
async fn patterns_and_mappings_that_reach_below_the_top_level_see_the_same_values() {
    let now = now_ms();
    let ts = now - 1_000;
    let mut payloads = Vec::new();
    for i in 0..60 {
        let noise = format!(r#""noise{i}":{{"deep":[{i},"x\"y"]}},"note":"{}""#, "z".repeat(i % 7));
        let payload = match i % 6 {
            0 => format!(
                r#"{{"level":{},"meta":{{"device":"d-{i}","site":"s{}"}},"readings":[{i}.5,{i}],"ts":{ts},"state":"S{i}","q":"GOOD","timer":{i},{noise}}}"#,
                i % 9,
                i % 3
            ),
            1 => format!(r#"{{"meta":{{"device":"d-1{i}"}},"missing":1,{noise},"level":5}}"#),
            2 => format!(r#"{{{noise},"readings":[1,2],"meta":{{"device":"x{i}","site":"a"}},"ts":{ts},"state":"On","q":"BAD","timer":3}}"#),
            3 => format!(r#"[{{"level":9}},{i}]"#),
            4 => format!("not json {i}"),
            _ => format!(r#"{{"level":{i},"meta":{{"device":"d-1"}},"readings":[],{noise},"note":tru}}"#),
        };
        payloads.push(payload.into_bytes());
    }
    let (projection, summary) = same_with_and_without(EDGES, &payloads, now).await;
    assert_eq!(projection.expect("a projection"), ["level", "meta", "missing", "q", "readings", "state", "timer", "ts"]);
    for d in ["k", "s", "d", "e"] {
        let delivered = summary.iter().filter(|l| l.starts_with(&format!("{d} ")) && l.ends_with("Delivered")).count();
        let refused = summary.iter().filter(|l| l.starts_with(&format!("{d} ")) && l.contains("Failed(")).count();
        assert!(delivered > 0 && refused > 0, "{d}: {delivered} delivered, {refused} refused: the comparison covers both");
    }
}

#[test]
fn a_pattern_on_data_itself_or_a_passthrough_mapping_needs_the_whole_document() {
    let whole = |yaml: &str| Config::parse(yaml, Path::new("t.yaml")).expect("valid").data_fields();
    assert_eq!(
        whole(
            "destinations:\n  f: { type: firehose, delivery_stream: f }\nroutes:\n  - { name: a, match: { data: [ { exists: true } ] }, to: [f] }\n"
        ),
        DataFields::Whole
    );
    assert_eq!(whole("destinations:\n  s: { type: sitewise, passthrough: true }\nroutes:\n  - { name: a, to: [s] }\n"), DataFields::Whole);
    assert_eq!(whole("destinations:\n  f: { type: firehose, delivery_stream: f }\nroutes:\n  - { name: a, to: [f] }\n"), DataFields::Unused);
    assert_eq!(
        whole("destinations:\n  f: { type: firehose, delivery_stream: f }\nroutes:\n  - { name: a, match: { key: [ { prefix: x } ] }, to: [f] }\n"),
        DataFields::Unused,
        "patterns on the key or attributes do not read the payload"
    );
    let example = Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fanout.yaml")).expect("the example config");
    assert_eq!(example.data_fields(), DataFields::Whole, "the example sends to IoT Analytics");
}

/// Transforms and `=` expressions read the payload with their own parser:
/// they add nothing to the projection, and the projected view changes none
/// of what they produce, on the fast path of picks and through jaq alike.
const TRANSFORMS: &str = r#"
destinations:
  picked: { type: kinesis, stream: p, partition_key: /deviceId, transform: '{deviceId: .data.meta.device, note: .data.note, key}' }
  jq: { type: firehose, delivery_stream: j, delimiter: "\n", transform: 'select((.data | type) == "object" and .data.level > 2) | {level: .data.level, n: (.data.readings | length)}' }
  expr: { type: kinesis, stream: e, partition_key: '= .data.meta.site // "none"' }
  s: { type: sitewise, properties: [ { alias: '= "/p/\(.data.meta.site)/t"', value: '= .data.readings[0]', timestamp: '= .data.ts' } ] }
  d: { type: iot_events_detector, detector_model: m, key: '= .data.meta.device', state: '= .data.state', variables: { t: '= .data.readings[1] | tostring' } }
routes:
  - { name: a, match: { data: { level: [ { numeric: [">", 1] } ] } }, to: [picked, jq, expr] }
  - { name: b, match: { data: { missing: [ { exists: false } ] } }, to: [s, d] }
"#;

#[tokio::test]
async fn transforms_and_expressions_see_the_same_payload_with_and_without_the_projection() {
    let now = now_ms();
    let ts = now - 1_000;
    let payloads: Vec<Vec<u8>> = (0..60)
        .map(|i| {
            let noise = format!(r#""noise{i}":{{"deep":[{i},"x\"y"]}},"note":"n{}\u00e9""#, i % 7);
            match i % 5 {
                0 => format!(
                    r#"{{"level":{},"meta":{{"device":"d-{i}","site":"s{}"}},"readings":[{i}.50,{i}],"ts":{ts},"state":"S{i}",{noise}}}"#,
                    i % 9,
                    i % 3
                ),
                1 => format!(r#"{{"meta":{{"device":"d-1{i}"}},"missing":1,{noise},"level":5}}"#),
                2 => format!(r#"[{{"level":9}},{i}]"#),
                3 => format!("not json {i}"),
                _ => format!(r#"{{"level":{i},"meta":{{"device":"d-1"}},"readings":[],{noise},"note":tru}}"#),
            }
            .into_bytes()
        })
        .collect();
    let (projection, summary) = same_with_and_without(TRANSFORMS, &payloads, now).await;
    assert_eq!(projection.expect("a projection"), ["level", "missing"], "only the patterns' fields");
    for d in ["picked", "jq", "expr", "s", "d"] {
        let delivered = summary.iter().filter(|l| l.starts_with(&format!("{d} ")) && l.ends_with("Delivered")).count();
        assert!(delivered > 0, "{d}: the comparison covers delivered records\n{summary:#?}");
    }
    let refused = summary.iter().filter(|l| l.contains("Failed(")).count();
    assert!(refused > 0, "and refused ones");
}
