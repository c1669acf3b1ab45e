use super::*;
use crate::report::{DestinationOutcome, DestinationReport, RecordStatus};
use serde_dynamo::AttributeValue as A;
use serde_json::json;
use std::collections::HashMap;

const SAMPLE: &str = include_str!("../../../../events/dynamodb.json");

fn sample() -> DynamoDbBatch {
    serde_json::from_str(SAMPLE).expect("the sample event reads")
}

fn map(pairs: Vec<(&str, A)>) -> HashMap<String, A> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

// ---------- typed JSON to plain JSON ----------

#[test]
fn every_attribute_type_converts_to_plain_json() {
    let item = map(vec![
        ("s", A::S("text".into())),
        ("n", A::N("42".into())),
        ("f", A::N("-1.25".into())),
        ("b", A::B(vec![0x00, 0xff, 0x10])),
        ("yes", A::Bool(true)),
        ("none", A::Null(true)),
        ("m", A::M(map(vec![("inner", A::M(map(vec![("deep", A::L(vec![A::S("x".into()), A::N("1".into())]))])))]))),
        ("l", A::L(vec![A::Bool(false), A::Null(true), A::M(map(vec![("k", A::S("v".into()))]))])),
        ("ss", A::Ss(vec!["b".into(), "a".into()])),
        ("ns", A::Ns(vec!["1".into(), "2.5".into(), "123456789012345678901234567890".into()])),
        ("bs", A::Bs(vec![b"hi".to_vec(), vec![0xfb, 0xff]])),
    ]);
    let plain = plain::item(&item).expect("converts");
    assert_eq!(
        Value::Object(plain.clone()),
        json!({
            "s": "text", "n": 42, "f": -1.25, "b": "AP8Q", "yes": true, "none": null,
            "m": {"inner": {"deep": ["x", 1]}},
            "l": [false, null, {"k": "v"}],
            "ss": ["b", "a"], "ns": [1, 2.5, "123456789012345678901234567890"], "bs": ["aGk=", "+/8="]
        })
    );
    let names: Vec<&str> = plain.keys().map(String::as_str).collect();
    assert_eq!(names, ["b", "bs", "f", "l", "m", "n", "none", "ns", "s", "ss", "yes"], "names in sorted order, whatever the map's order");
}

#[test]
fn numbers_become_json_numbers_only_when_exact() {
    let cases: [(&str, Value); 14] = [
        ("0", json!(0)),
        ("-0", json!(0)),
        ("9007199254740993", json!(9_007_199_254_740_993_i64)), // 2^53 + 1: f64 would round it
        ("-9223372036854775808", json!(i64::MIN)),
        ("18446744073709551615", json!(u64::MAX)),
        ("18446744073709551616", json!("18446744073709551616")), // u64::MAX + 1
        ("12345678901234567890123456789012345678", json!("12345678901234567890123456789012345678")), // 38 digits
        ("0.1", json!(0.1)),
        ("1.50", json!(1.5)),
        ("1E+2", json!(100.0)),
        ("1E-130", json!(1e-130)),
        ("0.30000000000000004", json!(0.30000000000000004)),
        ("0.3000000000000000444", json!("0.3000000000000000444")), // the nearest f64 reads 0.30000000000000004
        ("9.9999999999999999999999999999999999999E+125", json!("9.9999999999999999999999999999999999999E+125")),
    ];
    for (text, want) in cases {
        assert_eq!(plain::number(text), Some(want.clone()), "{text}");
    }
    for text in ["", "abc", "1.2.3", "--1", "1e", ".", "+", "0x10", "1_000", "NaN", "inf", " 1"] {
        assert_eq!(plain::number(text), None, "{text:?} is not a number");
    }
}

#[test]
fn exact_numbers_survive_the_payload_text_and_the_json_view() {
    let text = r#"{"Records":[{"eventName":"INSERT","dynamodb":{"SequenceNumber":"1","Keys":{"id":{"N":"9007199254740993"}},
        "NewImage":{"id":{"N":"9007199254740993"},"big":{"N":"100000000000000000000000000000000000001"},"x":{"N":"0.1"}}}}]}"#;
    let records = decode_batch(serde_json::from_str(text).expect("reads")).records;
    let data = std::str::from_utf8(&records[0].data).expect("utf-8");
    assert!(data.contains(r#""id":9007199254740993"#), "{data}");
    assert!(data.contains(r#""big":"100000000000000000000000000000000000001""#), "{data}");
    let view = records[0].json().expect("the payload is JSON");
    assert_eq!(view.pointer("/newImage/id").and_then(Value::as_u64), Some(9_007_199_254_740_993));
    assert_eq!(view.pointer("/newImage/x").and_then(Value::as_f64), Some(0.1));
    assert_eq!(records[0].key.as_deref(), Some(r#"{"id":9007199254740993}"#));
}

#[test]
fn a_number_that_is_not_a_number_is_named_with_its_place() {
    let item = map(vec![("outer", A::M(map(vec![("list", A::L(vec![A::N("1".into()), A::N("one".into())]))])))]);
    let err = plain::item(&item).expect_err("refused");
    assert_eq!(err.to_string(), "outer.M.list.L[1].N: `one` is not a number");
    let err = plain::item(&map(vec![("set", A::Ns(vec!["2".into(), "two".into()]))])).expect_err("refused");
    assert_eq!(err.to_string(), "set.NS[1]: `two` is not a number");
}

// ---------- decoding ----------

#[test]
fn the_sample_decodes_into_plain_records_with_identity_key_and_arrival() {
    let decoded = decode_batch(sample());
    assert!(decoded.rejects.is_empty(), "{:?}", decoded.rejects);
    let records = decoded.records;
    let ids: Vec<&str> = records.iter().map(|r| r.id.source_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "1405400000000002063282801",
            "1405400000000002063282802",
            "1405400000000002063282803",
            "1405400000000002063282804",
            "1405400000000002063282805"
        ]
    );
    assert!(records.iter().all(|r| r.source == "dynamodb"));
    assert_eq!(records[2].key.as_deref(), Some(r#"{"deviceId":"sensor-102"}"#));
    assert_eq!(records[2].arrival_ms, Some(1_795_323_602_000));
    assert_eq!(records[0].attributes.get("table_name").and_then(Value::as_str), Some("devices"));
    assert_eq!(records[0].attributes.get("aws_region").and_then(Value::as_str), Some("eu-west-1"));
    assert!(Arc::ptr_eq(&records[0].attributes, &records[4].attributes), "batch attributes are shared, not rebuilt");

    let insert = records[0].json().expect("JSON");
    assert_eq!(insert["eventName"], "INSERT");
    assert_eq!(insert["tableName"], "devices");
    assert_eq!(insert["keys"], json!({"deviceId": "sensor-101"}));
    assert_eq!(insert["newImage"]["temperature"], json!(21.5));
    assert_eq!(insert["newImage"]["config"], json!({"alerts": true, "sampleRateHz": 10, "thresholds": [50, 75.5]}));
    assert_eq!(insert["newImage"]["calibration"], "AZr/EEI=", "binary stays base64");
    assert_eq!(insert["newImage"]["serialNumber"], "123456789012345678901234567890", "30 digits do not fit: kept as written");
    assert_eq!(insert["newImage"]["decommissionedAt"], Value::Null);
    assert_eq!(insert["newImage"]["tags"], json!(["line-3", "north"]));
    assert!(insert.get("oldImage").is_none(), "an INSERT has no old image");
    assert_eq!((insert["approximateCreationDateTime"].as_i64(), insert["sizeBytes"].as_u64()), (Some(1_795_323_600), Some(241)));
    assert_eq!(insert["streamViewType"], "NEW_AND_OLD_IMAGES");
    assert_eq!(insert["eventSourceARN"], "arn:aws:dynamodb:eu-west-1:123456789012:table/devices/stream/2026-11-01T00:00:00.000");
    assert_eq!(insert["sequenceNumber"], "1405400000000002063282801");
    assert_eq!(insert["eventID"], "7de3041dd9bd5d6b3a07a2b9a96d0f5e");

    let failed = records[2].json().expect("JSON");
    assert_eq!((failed["oldImage"]["status"].as_str(), failed["newImage"]["status"].as_str()), (Some("ACTIVE"), Some("FAILED")));

    let remove = records[4].json().expect("JSON");
    assert!(remove.get("newImage").is_none(), "a REMOVE has no new image");
    assert_eq!(remove["oldImage"]["status"], "RETIRED");
    assert_eq!(remove["userIdentity"], json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}), "a deletion by TTL");
}

#[test]
fn the_lean_batch_decodes_exactly_like_the_aws_lambda_events_type() {
    let full: Event = serde_json::from_str(SAMPLE).expect("aws_lambda_events reads the sample");
    let (a, b) = (decode(full), decode_batch(sample()));
    assert!(a.rejects.is_empty() && b.rejects.is_empty());
    assert_eq!(a.records.len(), 5);
    for (x, y) in a.records.iter().zip(&b.records) {
        assert_eq!((&x.id, &x.key, x.arrival_ms), (&y.id, &y.key, y.arrival_ms));
        assert_eq!(x.json(), y.json(), "{}", x.id);
        assert_eq!(x.attributes, y.attributes);
    }
}

#[test]
fn table_names_come_from_the_stream_arn() {
    assert_eq!(table_name("arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000"), Some("Orders"));
    assert_eq!(table_name("arn:aws-cn:dynamodb:cn-north-1:123456789012:table/a.b-c_d/stream/x"), Some("a.b-c_d"));
    assert_eq!(table_name("arn:aws:kinesis:us-east-1:123456789012:stream/telemetry"), None);
    assert_eq!(table_name("not an arn"), None);
}

/// The sample with record `index` changed by `edit`.
fn sample_with(index: usize, edit: impl Fn(&mut Value)) -> DynamoDbBatch {
    let mut v: Value = serde_json::from_str(SAMPLE).expect("json");
    edit(&mut v["Records"][index]);
    serde_json::from_str(&v.to_string()).expect("the batch still reads")
}

/// A change to one record of the sample.
type Edit = dyn Fn(&mut Value);

#[test]
fn one_bad_record_is_rejected_alone_naming_its_field_and_rule() {
    let cases: Vec<(&str, Box<Edit>, &str)> = vec![
        (
            "a number that is not a number",
            Box::new(|r| r["dynamodb"]["NewImage"]["temperature"] = json!({"N": "hot"})),
            "Records[2].dynamodb.NewImage: temperature.N: `hot` is not a number",
        ),
        (
            "binary that is not base64",
            Box::new(|r| r["dynamodb"]["NewImage"]["site"] = json!({"B": "!!not base64"})),
            "Records[2].dynamodb.NewImage: site: not DynamoDB JSON",
        ),
        (
            "an unknown type",
            Box::new(|r| r["dynamodb"]["OldImage"]["site"] = json!({"X": 1})),
            "Records[2].dynamodb.OldImage: site: not DynamoDB JSON",
        ),
        ("an image that is a string", Box::new(|r| r["dynamodb"]["NewImage"] = json!("x")), "Records[2].dynamodb.NewImage: not DynamoDB JSON"),
        ("no keys", Box::new(|r| drop(r["dynamodb"].as_object_mut().map(|d| d.remove("Keys")))), "Records[2].dynamodb.Keys: missing"),
        ("no event name", Box::new(|r| drop(r.as_object_mut().map(|o| o.remove("eventName")))), "Records[2].eventName: missing"),
        ("an event name that is a number", Box::new(|r| r["eventName"] = json!(3)), "Records[2].eventName: expected a string, found a number"),
        (
            "a creation time that is not a time",
            Box::new(|r| r["dynamodb"]["ApproximateCreationDateTime"] = json!("soon")),
            "Records[2].dynamodb.ApproximateCreationDateTime: expected seconds since the epoch, found the string `soon`",
        ),
        (
            "a size that is text",
            Box::new(|r| r["dynamodb"]["SizeBytes"] = json!("big")),
            "Records[2].dynamodb.SizeBytes: expected a number, found a string",
        ),
        ("a region that is an object", Box::new(|r| r["awsRegion"] = json!({})), "Records[2].awsRegion: expected a string, found an object"),
        ("user identity that is a list", Box::new(|r| r["userIdentity"] = json!([])), "Records[2].userIdentity: expected an object, found an array"),
    ];
    for (what, edit, why) in cases {
        let decoded = decode_batch(sample_with(2, edit));
        assert_eq!(decoded.records.len(), 5, "{what}: every record is kept");
        assert_eq!(decoded.rejects.len(), 1, "{what}: {:?}", decoded.rejects);
        let (index, error) = &decoded.rejects[0];
        assert_eq!((*index, error.code.as_str(), error.class), (2, "InvalidRecord", crate::error::ErrorClass::Permanent), "{what}");
        assert!(error.message.starts_with(why), "{what}: {}", error.message);
        assert_eq!(decoded.records[2].id.source_id, "1405400000000002063282803", "{what}: still named by its sequence number");
        assert!(decoded.records[1].json().is_some_and(|v| v["eventName"] == "MODIFY"), "{what}: its neighbours decode");
    }
}

#[test]
fn an_image_that_cannot_be_converted_is_kept_as_written_for_the_dead_letter() {
    let decoded = decode_batch(sample_with(2, |r| r["dynamodb"]["NewImage"]["temperature"] = json!({"N": "hot"})));
    let view = decoded.records[2].json().expect("JSON");
    assert_eq!(view["newImage"]["temperature"], json!({"N": "hot"}), "typed, as it came");
    assert_eq!(view["oldImage"]["temperature"], json!(61.4), "the other image converted");
}

#[test]
fn a_record_without_a_sequence_number_or_not_an_object_is_rejected_with_an_empty_id() {
    let decoded = decode_batch(sample_with(1, |r| drop(r["dynamodb"].as_object_mut().map(|d| d.remove("SequenceNumber")))));
    assert_eq!(decoded.rejects.len(), 1);
    assert_eq!(decoded.records[1].id.source_id, "");
    assert!(decoded.rejects[0].1.message.starts_with("Records[1].dynamodb.SequenceNumber: missing"), "{}", decoded.rejects[0].1.message);

    let batch: DynamoDbBatch =
        serde_json::from_str(r#"{"Records": [7, {"eventName": "INSERT", "dynamodb": "x"}, {"eventName": "INSERT"}, {"eventName": "INSERT", "dynamodb": {"SequenceNumber": 5, "Keys": {}}}]}"#)
            .expect("reads");
    let decoded = decode_batch(batch);
    let messages: Vec<&str> = decoded.rejects.iter().map(|(_, e)| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Records[0].(record): expected an object, found a number",
            "Records[1].dynamodb.(part): expected an object, found a string",
            "Records[2].dynamodb: missing",
            "Records[3].dynamodb.SequenceNumber: expected a string, found a number"
        ]
    );
    assert!(decoded.records.iter().all(|r| r.id.source_id.is_empty()));
}

#[test]
fn an_event_without_records_reads_as_none() {
    let batch: DynamoDbBatch = serde_json::from_str(r#"{"Messages": []}"#).expect("reads");
    assert!(batch.records.is_none());
    assert!(serde_json::from_str::<DynamoDbBatch>(r#"{"Records": {}}"#).is_err(), "Records that is not an array fails the event");
}

// ---------- the answer ----------

fn report(status: Vec<RecordStatus>) -> Report {
    let failed: Vec<(u32, DestinationOutcome)> = status
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == RecordStatus::Failed)
        .map(|(i, _)| (i as u32, DestinationOutcome::Failed(ItemError::transient("InternalFailure", "x"))))
        .collect();
    Report {
        status,
        destinations: vec![DestinationReport {
            name: "d".into(),
            kind: Some(crate::destinations::Kind::Firehose),
            outcomes: failed,
            stats: Default::default(),
            dead_letter_stats: Default::default(),
            tally: None,
        }],
        ledger: Default::default(),
    }
}

#[test]
fn respond_names_every_failed_record_once_by_sequence_number_in_batch_order() {
    let records = decode_batch(sample()).records;
    use RecordStatus::*;
    let response = respond(&records, &report(vec![Delivered, Failed, DeadLettered, Failed, Unrouted])).expect("reportable");
    let ids: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_deref().expect("never null")).collect();
    // Lambda replays from the lowest (...802): ...803 (dead-lettered) and ...804 come again too.
    assert_eq!(ids, ["1405400000000002063282802", "1405400000000002063282804"]);
    assert_eq!(
        serde_json::to_value(&response).expect("json"),
        json!({"batchItemFailures": [{"itemIdentifier": "1405400000000002063282802"}, {"itemIdentifier": "1405400000000002063282804"}]})
    );
}

#[test]
fn respond_is_empty_when_all_succeeded() {
    let records = decode_batch(sample()).records;
    let response = respond(&records, &report(vec![RecordStatus::Delivered; 5])).expect("reportable");
    assert_eq!(serde_json::to_value(&response).expect("json"), json!({"batchItemFailures": []}));
}

#[test]
fn a_failed_record_without_a_sequence_number_fails_the_whole_batch() {
    let mut records = decode_batch(sample()).records;
    records[3].id.source_id.clear();
    let mut status = vec![RecordStatus::Delivered; 5];
    status[3] = RecordStatus::Failed;
    let err = respond(&records, &report(status)).expect_err("cannot be named");
    assert!(matches!(err, DynamoDbHandlerError::Unreportable(UnreportableRecord { index: 3, .. })), "{err:?}");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "UnreportableRecord");
    assert!(
        diagnostic.error_message.starts_with("record 3 failed (d: InternalFailure: x) but has no sequence number to report"),
        "{}",
        diagnostic.error_message
    );
}

#[test]
fn an_event_that_is_not_from_dynamodb_gets_its_own_error_type() {
    let diagnostic = lambda_runtime::Diagnostic::from(DynamoDbHandlerError::NotDynamoDb);
    assert_eq!(diagnostic.error_type, "NotDynamoDbEvent");
    assert_eq!(diagnostic.error_message, "not a DynamoDB Streams event: it has no `Records` array");
}
