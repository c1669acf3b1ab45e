use super::*;
use crate::report::DestinationReport;

fn sample_text(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))).expect("sample event")
}

/// A sample event read as `sqs-fanout` reads it.
fn sample(name: &str) -> SqsBatch {
    serde_json::from_str(&sample_text(name)).expect("an SQS event")
}

#[test]
fn the_lean_batch_decodes_exactly_like_the_aws_lambda_events_type() {
    for name in ["sqs.json", "sqs-fifo.json"] {
        let full: SqsEvent = serde_json::from_str(&sample_text(name)).expect("SqsEvent");
        let (a, a_rejects) = decode(full, &SqsSourceConfig::default()).into_parts();
        let (b, b_rejects) = decode(sample(name), &SqsSourceConfig::default()).into_parts();
        assert!(a_rejects.is_empty() && b_rejects.is_empty(), "{name}: {a_rejects:?} {b_rejects:?}");
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!((&x.id, &x.key, &x.data, x.arrival_ms), (&y.id, &y.key, &y.data, y.arrival_ms));
            assert_eq!(x.attributes, y.attributes, "{name}");
        }
    }
}

#[test]
fn one_malformed_message_is_rejected_alone_naming_its_field() {
    let mut event: Value = serde_json::from_str(&sample_text("sqs.json")).expect("json");
    event["Records"][1]["body"] = Value::from(5);
    event["Records"][2]["messageAttributes"]["origin"]["stringValue"] = Value::from(true);
    let (records, rejects) = decode(serde_json::from_str::<SqsBatch>(&event.to_string()).expect("reads"), &SqsSourceConfig::default()).into_parts();
    assert_eq!(records.len(), 3);
    let got: Vec<(u32, &str, &str)> = rejects.iter().map(|(i, e)| (*i, e.code.as_str(), e.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (1, "InvalidRecord", "Records[1].body: expected a string, found a number"),
            (2, "InvalidRecord", "Records[2].messageAttributes.origin.stringValue: expected a string, found a boolean")
        ]
    );
    assert_eq!(records[1].id.source_id, "6191cbfa-6cb9-5f42-b2a9-4d045d9c3c86", "the id is kept to report it by");
}

#[test]
fn decode_keeps_ids_bodies_group_and_attributes() {
    let (records, rejects) = decode(sample("sqs-fifo.json"), &SqsSourceConfig::default()).into_parts();
    assert!(rejects.is_empty());
    assert_eq!(records.len(), 5);
    let r = &records[2];
    assert_eq!(r.id.source_id.len(), 36, "a message id: {}", r.id);
    assert_eq!(r.key.as_deref(), Some("sensor-001"), "key = MessageGroupId");
    assert_eq!(r.arrival_ms, Some(1_795_323_602_000), "arrival = SentTimestamp");
    assert_eq!(r.attributes.get("ApproximateReceiveCount").and_then(Value::as_str), Some("1"));
    assert_eq!(r.json().and_then(|v| v.pointer("/temperature")).and_then(Value::as_f64), Some(20.4));
    assert!(is_fifo(&records));
    let (standard, standard_rejects) = decode(sample("sqs.json"), &SqsSourceConfig::default()).into_parts();
    assert!(standard_rejects.is_empty(), "list values and data types are not judged: {standard_rejects:?}");
    assert!(!is_fifo(&standard));
    assert_eq!(standard[0].attributes.get("message_attributes").and_then(|m| m.get("origin")).and_then(Value::as_str), Some("gateway-7"));
    assert_eq!(standard[0].key, None, "standard queues have no group");
}

fn event_with_body(body: &str) -> SqsEvent {
    serde_json::from_value(serde_json::json!({"Records": [{"messageId": "m1", "body": body, "attributes": {}, "messageAttributes": {}, "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q"}]})).expect("event")
}

#[test]
fn sns_envelopes_are_unwrapped_when_asked() {
    let envelope = serde_json::json!({"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:t", "Subject": "s", "Message": "{\"temperature\":60}"}).to_string();
    let config = SqsSourceConfig { unwrap_sns: true, base64_body: false };
    let (records, _) = decode(event_with_body(&envelope), &config).into_parts();
    assert_eq!(&records[0].data[..], br#"{"temperature":60}"#);
    assert_eq!(
        records[0].attributes.get("sns").and_then(|m| m.get("TopicArn")).and_then(Value::as_str),
        Some("arn:aws:sns:eu-west-1:123456789012:t")
    );
    let (plain, _) = decode(event_with_body("not an envelope"), &config).into_parts();
    assert_eq!(&plain[0].data[..], b"not an envelope", "other bodies are taken as they are");
    let (untouched, _) = decode(event_with_body(&envelope), &SqsSourceConfig::default()).into_parts();
    assert_eq!(untouched[0].data, envelope.as_bytes());
}

#[test]
fn base64_bodies_are_decoded_and_bad_ones_rejected_naming_the_rule() {
    let config = SqsSourceConfig { unwrap_sns: false, base64_body: true };
    let (records, rejects) = decode(event_with_body("eyJhIjoxfQ=="), &config).into_parts();
    assert!(rejects.is_empty());
    assert_eq!(&records[0].data[..], br#"{"a":1}"#);
    let (_, rejects) = decode(event_with_body("not base64!"), &config).into_parts();
    assert_eq!(rejects.len(), 1);
    assert_eq!((rejects[0].0, rejects[0].1.code.as_str()), (0, "InvalidBase64Body"));
    assert!(rejects[0].1.message.contains("base64_body"));
}

#[test]
fn respond_names_failed_message_ids_and_never_an_empty_one() {
    let (mut records, _) = decode(sample("sqs.json"), &SqsSourceConfig::default()).into_parts();
    let mut report = Report::empty(3);
    report.status[1] = RecordStatus::Failed;
    report.destinations.push(DestinationReport {
        name: "d".into(),
        kind: Some(crate::destinations::Kind::Firehose),
        outcomes: vec![],
        stats: Default::default(),
        dead_letter_stats: Default::default(),
        tally: None,
    });
    let response = respond(&records, &report).expect("reportable");
    let ids: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(ids, [records[1].id.source_id.as_str()]);
    assert_eq!(serde_json::to_value(respond(&records, &Report::empty(3)).expect("ok")).expect("json"), serde_json::json!({"batchItemFailures": []}));
    records[1].id.source_id.clear();
    assert!(matches!(respond(&records, &report), Err(SqsHandlerError::Unreportable(crate::sources::UnreportableRecord { index: 1, .. }))));
}
