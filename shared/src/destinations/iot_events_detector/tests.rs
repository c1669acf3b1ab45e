use super::*;
use crate::record::RecordId;
use bytes::Bytes;

fn config(yaml: &str) -> DetectorConfig {
    serde_saphyr::from_str(yaml).expect("detector config")
}

fn dest(yaml: &str) -> IotEventsDetector {
    let client = aws_sdk_ioteventsdata::Client::from_conf(aws_sdk_ioteventsdata::Config::builder().behavior_version_latest().build());
    IotEventsDetector::new(client, &config(yaml))
}

fn record(data: &str) -> Record {
    Record::new(RecordId::new("4959"), "kinesis", Bytes::from(data.to_owned()))
}

const MAPPED: &str = "detector_model: pump\nkey: /deviceId\nstate: /status\nvariables: { temperature: /t, site: /meta/site }\ntimers: { cooldown: 60, recheck: /recheck }\n";

#[test]
fn a_record_becomes_a_detector_update_by_the_mapping() {
    let p = dest(MAPPED).prepare_one(&record(r#"{"deviceId":"p-1","status":"Hot","t":97.5,"meta":{"site":"a"},"recheck":30}"#)).expect("mapped");
    assert_eq!(
        p.entry,
        DetectorUpdate {
            message_id: "4959".into(),
            model: "pump".into(),
            key: "p-1".into(),
            state: "Hot".into(),
            variables: vec![("site".into(), "a".into()), ("temperature".into(), "97.5".into())],
            timers: vec![("cooldown".into(), 60), ("recheck".into(), 30)],
        }
    );
    let constant = dest("detector_model: pump\nkey: /deviceId\nstate: Normal\n").prepare_one(&record(r#"{"deviceId":"p-2"}"#)).expect("mapped");
    assert_eq!(constant.entry.state, "Normal");
}

#[test]
fn broken_rules_are_permanent_failures_naming_the_field() {
    let d = dest(MAPPED);
    let err = d.prepare_one(&record(r#"{"deviceId":"p 1","status":"Hot","t":1,"meta":{"site":"a"},"recheck":1}"#)).unwrap_err();
    assert!(err.message.contains("keyValue `p 1`"), "{err}");
    let err = d.prepare_one(&record(r#"{"deviceId":"p1","status":"Hot","meta":{"site":"a"},"recheck":1}"#)).unwrap_err();
    assert_eq!(err.code, "FieldMissing");
    assert!(err.message.contains("variable `temperature` /t"), "{err}");
    let long = format!(r#"{{"deviceId":"p1","status":"Hot","t":"{}","meta":{{"site":"a"}},"recheck":1}}"#, "x".repeat(1025));
    assert!(d.prepare_one(&record(&long)).unwrap_err().message.contains("1025 characters"));
    let err = d.prepare_one(&record(r#"{"deviceId":"p1","status":"Hot","t":1,"meta":{"site":"a"},"recheck":-5}"#)).unwrap_err();
    assert!(err.message.contains("timer `recheck`"), "{err}");
}

#[test]
fn passthrough_takes_the_api_item_shape() {
    let d = dest("detector_model: pump\npassthrough: true\n");
    let item = r#"{"keyValue":"p-9","state":{"stateName":"Idle","variables":[{"name":"rpm","value":"0"}],"timers":[{"name":"t1","seconds":5}]}}"#;
    let u = d.prepare_one(&record(item)).expect("passthrough").entry;
    assert_eq!((u.model.as_str(), u.key.as_str(), u.state.as_str()), ("pump", "p-9", "Idle"));
    assert_eq!((u.variables, u.timers), (vec![("rpm".into(), "0".into())], vec![("t1".into(), 5)]));
    assert!(d.prepare_one(&record(r#"{"state":{"stateName":"x"}}"#)).unwrap_err().message.contains("no keyValue"));
}

#[test]
fn config_validation_names_bad_names_and_missing_fields() {
    let mut problems = Vec::new();
    config("detector_model: 'pump model'\nvariables: { 1x: /a }\ntimers: { t: -1 }\n").validate("destinations.d", &mut problems);
    let places: Vec<&str> = problems.iter().map(|p| p.place.as_str()).collect();
    assert_eq!(
        places,
        ["destinations.d.detector_model", "destinations.d.key", "destinations.d.state", "destinations.d.variables.1x", "destinations.d.timers.t"]
    );
}

#[test]
fn key_state_variables_and_timers_take_jq_expressions() {
    let yaml = r#"detector_model: pump
key: '= .data.site + ":" + .data.deviceId'
state: '= if .data.t > 90 then "Hot" else "Normal" end'
variables: { fahrenheit: '= .data.t * 1.8 + 32', source: '= .source' }
timers: { recheck: '= .data.every * 60' }
"#;
    let u = dest(yaml).prepare_one(&record(r#"{"site":"a","deviceId":"p-1","t":100,"every":2}"#)).expect("mapped").entry;
    assert_eq!((u.key.as_str(), u.state.as_str()), ("a:p-1", "Hot"));
    assert_eq!(u.variables, vec![("fahrenheit".into(), "212.0".into()), ("source".into(), "kinesis".into())]);
    assert_eq!(u.timers, vec![("recheck".into(), 120)]);
    let err = dest(yaml).prepare_one(&record(r#"{"site":"a","deviceId":"p-1","t":"hot","every":2}"#)).unwrap_err();
    assert_eq!((err.code.as_str(), err.is_transient()), ("FieldMissing", false));
    assert!(err.message.contains("variable `fahrenheit` `= .data.t * 1.8 + 32` failed"), "{err}");
    let mut problems = Vec::new();
    config("detector_model: pump\nkey: '= .data |'\nstate: '= nosuch'\nvariables: { v: 'plain' }\n").validate("d", &mut problems);
    let places: Vec<&str> = problems.iter().map(|p| p.place.as_str()).collect();
    assert_eq!(places, ["d.key", "d.state", "d.variables.v"]);
}

#[test]
fn ordering_per_key_orders_by_detector_key() {
    let unordered = dest("detector_model: pump\nkey: /deviceId\nstate: On\n");
    let ordered = dest("detector_model: pump\nkey: /deviceId\nstate: On\nordering: per_key\n");
    let p = ordered.prepare_one(&record(r#"{"deviceId":"p-1"}"#)).expect("mapped");
    assert_eq!((ordered.order_key(&p.entry), unordered.order_key(&p.entry)), (Some("p-1"), None));
}
