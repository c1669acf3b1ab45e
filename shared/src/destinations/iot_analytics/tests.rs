use super::*;
use crate::record::RecordId;
use aws_sdk_iotanalytics::operation::batch_put_message::BatchPutMessageOutput;
use aws_sdk_iotanalytics::types::BatchPutMessageErrorEntry;
use serde_json::json;

fn dest(sanitize: bool) -> IotAnalytics {
    let config = IotAnalyticsConfig {
        channel: "telemetry".into(),
        sanitize_field_names: sanitize,
        endpoint_url: None,
        region: None,
        role_arn: None,
        external_id: None,
        transform: None,
        max_messages: None,
        max_message_bytes: None,
        max_in_flight: None,
        rate_limit: Default::default(),
    };
    let client = aws_sdk_iotanalytics::Client::from_conf(aws_sdk_iotanalytics::Config::builder().behavior_version_latest().build());
    IotAnalytics::new(client, &config)
}

fn record(id: &str, data: &str) -> Record {
    Record::new(RecordId::new(id), "kinesis", Bytes::from(data.to_owned()))
}

#[test]
fn the_field_name_rule_is_the_documented_regex() {
    for ok in ["temp_01", "_temp_01", "a", "_", "T1_x"] {
        assert!(is_field_name(ok), "{ok}");
    }
    // The documented invalid examples, plus the rule's less obvious cases.
    for bad in ["temp-01", "01_temp", "__temp_01", "a_b", "", "é"] {
        assert!(!is_field_name(bad), "{bad}");
    }
    assert!(!is_field_name(&"a".repeat(256)));
}

#[test]
fn bad_names_are_permanent_failures_naming_the_field_and_rule() {
    let err = dest(false).prepare_one(&record("1", r#"{"ok": {"temp-01": 1}}"#), Purpose::Route).unwrap_err();
    assert_eq!((err.code.as_str(), err.class), ("InvalidFieldName", ErrorClass::Permanent));
    assert!(err.message.contains("`ok.temp-01`") && err.message.contains("^[A-Za-z_]"), "{err}");
    let err = dest(false).prepare_one(&record("1", r#"{"Temp": 1, "temp": 2}"#), Purpose::Route).unwrap_err();
    assert!(err.message.contains("ignoring case"), "{err}");
    let err = dest(false).prepare_one(&record("1", "[1,2]"), Purpose::Route).unwrap_err();
    assert!(err.message.contains("not an object"), "{err}");
    let err = dest(false).prepare_one(&record("1", "csv,line"), Purpose::Route).unwrap_err();
    assert!(err.message.contains("not JSON"), "{err}");
}

#[test]
fn valid_payloads_are_sent_unchanged_without_a_copy() {
    let r = record("49590", r#"{"temp_c": 21.5}"#);
    let p = dest(false).prepare_one(&r, Purpose::Route).expect("valid");
    assert_eq!(p.entry.payload.as_ptr(), r.data.as_ptr(), "the same bytes, not a copy");
    assert_eq!(p.entry.message_id, "49590");
}

#[test]
fn sanitizing_rewrites_every_bad_name_deterministically() {
    let input = json!({"temp-01": 1, "01_temp": 2, "__x": 3, "a_b": 4, "nested": {"x y": [{"k-1": 5}]}, "Dup": 6, "dup": 7});
    let out = sanitize_fields(&input);
    assert!(field_name_problem(&out, "").is_none(), "{out}");
    assert_eq!(out["temp_01"], 1);
    assert_eq!(out["_01_temp"], 2);
    assert_eq!(out["_x"], 3);
    assert_eq!(out["ab"], 4);
    assert_eq!(out["nested"]["xy"][0]["k1"], 5, "an underscore may not stand second, so it is dropped there");
    assert_eq!((out["Dup"].clone(), out["dup2"].clone()), (json!(6), json!(7)), "case duplicates get a number, in key order");
    assert_eq!(sanitize_fields(&input), out, "same input, same output");
    let p = dest(true).prepare_one(&record("1", &input.to_string()), Purpose::Route).expect("sanitized");
    let sent: Value = serde_json::from_slice(&p.entry.payload).expect("json");
    assert_eq!(sent, out);
}

#[test]
fn message_ids_are_deterministic_and_within_the_pattern() {
    let kpl = Record::new(RecordId { source_id: "4959".into(), sub_sequence: Some(3) }, "kinesis", Bytes::from_static(b"{}"));
    assert_eq!(dest(false).prepare_one(&kpl, Purpose::Route).unwrap().entry.message_id, "4959-3");
    let odd = record(&"ü".repeat(100), "{}");
    let a = dest(false).prepare_one(&odd, Purpose::Route).unwrap().entry.message_id;
    let b = dest(false).prepare_one(&odd, Purpose::Route).unwrap().entry.message_id;
    assert_eq!(a, b);
    assert!(a.len() <= 128 && a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
}

#[test]
fn errors_map_back_by_message_id() {
    let sent =
        [AnalyticsMessage { message_id: "a".into(), payload: Bytes::new() }, AnalyticsMessage { message_id: "b".into(), payload: Bytes::new() }];
    let out = BatchPutMessageOutput::builder()
        .batch_put_message_error_entries(
            BatchPutMessageErrorEntry::builder().message_id("b").error_code("InvalidRequestException").error_message("bad").build(),
        )
        .build();
    let results = map_response(&out, &sent.iter().collect::<Vec<_>>());
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().class, ErrorClass::Permanent);
    assert_eq!(classify_item_code("ThrottlingException"), ErrorClass::Transient);
    assert_eq!(classify_item_code("InternalFailureException"), ErrorClass::Transient);
}
