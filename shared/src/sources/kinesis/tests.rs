use super::*;
use crate::error::ItemError;
use crate::report::{DestinationOutcome, DestinationReport, RecordStatus};

fn sample() -> KinesisEvent {
    serde_json::from_str(include_str!("../../../../events/kinesis.json")).expect("the sample event parses")
}

#[test]
fn decode_keeps_identity_key_arrival_and_payload() {
    let raw: Value = serde_json::from_str(include_str!("../../../../events/kinesis.json")).expect("json");
    let records = decode(sample()).records;
    assert_eq!(records.len(), 6);
    let r = &records[1];
    assert_eq!(Some(r.id.source_id.as_str()), raw.pointer("/Records/1/kinesis/sequenceNumber").and_then(Value::as_str));
    assert_eq!(r.key.as_deref(), Some("sensor-002"));
    assert_eq!(r.arrival_ms, Some(1_795_323_601_123));
    assert_eq!(r.json().and_then(|v| v.pointer("/temperature")).and_then(Value::as_f64), Some(57.2));
    assert_eq!(r.attributes.get("shard_id").and_then(Value::as_str), Some("shardId-000000000000"));
    assert!(Arc::ptr_eq(&records[0].attributes, &records[5].attributes), "batch attributes are shared, not rebuilt");
    assert!(records[5].json().is_none(), "the CSV record has no JSON view");
    assert_eq!(&records[5].data[..], b"legacy,gw-9,temp=19.0");
}

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
fn respond_names_each_failed_record_once_and_nothing_else() {
    let mut records = decode(sample()).records;
    // Two sub-records of one aggregate share the parent's sequence number.
    records[3].id.source_id = records[2].id.source_id.clone();
    use RecordStatus::*;
    let response = respond(&records, &report(vec![Delivered, Failed, Failed, Failed, DeadLettered, Unrouted])).expect("reportable");
    let ids: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_deref().expect("never null")).collect();
    assert_eq!(ids, [records[1].id.source_id.as_str(), records[2].id.source_id.as_str()]);
}

#[test]
fn respond_is_empty_when_all_succeeded_and_serialises_without_nulls() {
    let records = decode(sample()).records;
    let response = respond(&records, &report(vec![RecordStatus::Delivered; 6])).expect("reportable");
    assert_eq!(serde_json::to_value(&response).expect("json"), serde_json::json!({"batchItemFailures": []}));
}

#[test]
fn a_failed_record_without_a_sequence_number_fails_the_whole_batch() {
    let mut records = decode(sample()).records;
    records[0].id.source_id.clear();
    let mut status = vec![RecordStatus::Delivered; 6];
    status[0] = RecordStatus::Failed;
    assert!(matches!(
        respond(&records, &report(status)),
        Err(KinesisHandlerError::Unreportable(crate::sources::UnreportableRecord { index: 0, .. }))
    ));
}

#[test]
fn kpl_aggregates_in_the_sample_unpack_into_sub_records() {
    let event: KinesisEvent = serde_json::from_str(include_str!("../../../../events/kinesis-kpl.json")).expect("the KPL sample parses");
    let raw: Value = serde_json::from_str(include_str!("../../../../events/kinesis-kpl.json")).expect("json");
    let records = decode(event).records;
    assert_eq!(records.len(), 3 + 2 + 1, "two aggregates of 3 and 2 user records, and one ordinary record");
    let parent = raw.pointer("/Records/0/kinesis/sequenceNumber").and_then(Value::as_str).expect("seq");
    let first: Vec<(Option<u32>, Option<&str>)> = records[..3].iter().map(|r| (r.id.sub_sequence, r.key.as_deref())).collect();
    assert_eq!(first, vec![(Some(0), Some("sensor-201")), (Some(1), Some("sensor-202")), (Some(2), Some("sensor-201"))]);
    assert!(records[..3].iter().all(|r| r.id.source_id == parent));
    assert_eq!(records[1].json().and_then(|v| v.pointer("/temperature")).and_then(Value::as_f64), Some(58.9));
    assert_eq!((records[5].id.sub_sequence, records[5].key.as_deref()), (None, Some("sensor-205")), "an ordinary record stays whole");
}

#[test]
fn the_lean_batch_decodes_exactly_like_the_aws_lambda_events_type() {
    for text in [include_str!("../../../../events/kinesis.json"), include_str!("../../../../events/kinesis-kpl.json")] {
        let full: KinesisEvent = serde_json::from_str(text).expect("KinesisEvent");
        let lean: KinesisBatch = serde_json::from_str(text).expect("KinesisBatch");
        let raw: Value = serde_json::from_str(text).expect("json");
        let (a, b) = (decode(full).records, decode_batch(lean).records);
        assert!(!a.is_empty());
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!((&x.id, &x.key, &x.data), (&y.id, &y.key, &y.data));
            assert_eq!(x.attributes, y.attributes);
        }
        // Arrival times as written, to the millisecond (aws_lambda_events 1.2
        // reads `...606.5` as 5 ms past the second, so it is not the reference).
        let stamps: Vec<Option<i64>> = raw["Records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["kinesis"]["approximateArrivalTimestamp"].as_f64().map(|s| (s * 1000.0).round() as i64))
            .collect();
        for y in &b {
            let parent = raw["Records"].as_array().expect("records").iter().position(|r| r["kinesis"]["sequenceNumber"] == y.id.source_id.as_str());
            assert_eq!(y.arrival_ms, parent.and_then(|p| stamps[p]), "{}", y.id);
        }
    }
}

#[test]
fn strings_a_batch_repeats_are_allocated_once() {
    let lean: KinesisBatch = serde_json::from_str(include_str!("../../../../events/kinesis.json")).expect("KinesisBatch");
    let records = lean.records.as_ref().expect("Records");
    let (a, b) = (&records[0], &records[4]);
    for (x, y) in [(&a.event_source_arn, &b.event_source_arn), (&a.aws_region, &b.aws_region), (&a.shard_id, &b.shard_id)] {
        assert!(Arc::ptr_eq(x.as_ref().expect("set"), y.as_ref().expect("set")), "{x:?} is shared");
    }
    assert_eq!(a.shard_id.as_deref(), Some("shardId-000000000000"));
}

#[test]
fn arrival_times_may_be_numbers_or_numeric_strings_and_batch_fields_may_be_null() {
    let record = |ts: &str| {
        format!(
            r#"{{"Records":[{{"eventID":null,"awsRegion":null,"kinesis":{{"partitionKey":"k","sequenceNumber":"1","data":"eA==","approximateArrivalTimestamp":{ts}}}}}]}}"#
        )
    };
    for (ts, ms) in [("1795323606", 1_795_323_606_000), ("1795323606.5", 1_795_323_606_500), (r#""1795323606.25""#, 1_795_323_606_250)] {
        let batch: KinesisBatch = serde_json::from_str(&record(ts)).unwrap_or_else(|e| panic!("{ts}: {e}"));
        let first = &batch.records.as_ref().expect("Records")[0];
        assert_eq!((first.shard_id.as_deref(), first.aws_region.as_deref()), (None, None));
        assert_eq!(decode_batch(batch).records[0].arrival_ms, Some(ms), "{ts}");
    }
    for (ts, why) in [
        (r#""soon""#, "kinesis.approximateArrivalTimestamp: expected seconds since the epoch, found the string `soon`"),
        ("null", "kinesis.approximateArrivalTimestamp: expected seconds since the epoch (a number), found null"),
        ("-5", "kinesis.approximateArrivalTimestamp: -5 is not a time"),
    ] {
        let batch: KinesisBatch = serde_json::from_str(&record(ts)).unwrap_or_else(|e| panic!("{ts}: {e}"));
        let decoded = decode_batch(batch);
        assert_eq!(decoded.records.len(), 1);
        assert_eq!(decoded.rejects.len(), 1, "{ts}");
        assert!(decoded.rejects[0].1.message.starts_with(&format!("Records[0].{why}")), "{ts}: {}", decoded.rejects[0].1.message);
    }
}

/// The sample event with one record's `kinesis` fields changed by `edit`.
fn sample_with(index: usize, edit: impl Fn(&mut serde_json::Map<String, Value>)) -> String {
    let mut v: Value = serde_json::from_str(include_str!("../../../../events/kinesis.json")).expect("json");
    edit(v["Records"][index]["kinesis"].as_object_mut().expect("kinesis part"));
    v.to_string()
}

#[test]
fn one_malformed_record_is_rejected_alone_naming_its_field_and_rule() {
    let cases: [(&str, Value, &str); 5] = [
        ("data", Value::from("!!not base64"), "Records[2].kinesis.data: not base64"),
        ("data", Value::Null, "Records[2].kinesis.data: expected base64 text, found null"),
        ("sequenceNumber", Value::from(17), "Records[2].kinesis.sequenceNumber: expected a string, found a number"),
        ("partitionKey", serde_json::json!({"a": 1}), "Records[2].kinesis.partitionKey: expected a string, found an object"),
        (
            "approximateArrivalTimestamp",
            Value::from(true),
            "Records[2].kinesis.approximateArrivalTimestamp: expected seconds since the epoch (a number), found a boolean",
        ),
    ];
    for (field, value, why) in cases {
        let text = sample_with(2, |k| {
            k.insert(field.to_owned(), value.clone());
        });
        let decoded = decode_batch(serde_json::from_str(&text).expect("the batch reads"));
        assert_eq!(decoded.records.len(), 6, "{field}: every record is kept");
        assert_eq!(decoded.rejects.len(), 1, "{field}");
        let (index, error) = &decoded.rejects[0];
        assert_eq!((*index, error.code.as_str(), error.class), (2, "InvalidRecord", crate::error::ErrorClass::Permanent));
        assert!(error.message.starts_with(why), "{field}: {}", error.message);
    }
    let text = sample_with(2, |k| {
        k.insert("data".into(), Value::from("!!not base64"));
    });
    let decoded = decode_batch(serde_json::from_str(&text).expect("reads"));
    assert_eq!(&decoded.records[2].data[..], b"!!not base64", "the text as written is kept for the dead letter");
}

#[test]
fn a_record_without_sequence_number_or_not_an_object_is_rejected_with_an_empty_id() {
    let text = sample_with(1, |k| {
        k.remove("sequenceNumber");
    });
    let decoded = decode_batch(serde_json::from_str(&text).expect("reads"));
    assert_eq!(decoded.rejects.len(), 1);
    assert_eq!(decoded.records[1].id.source_id, "");
    assert!(decoded.rejects[0].1.message.starts_with("Records[1].kinesis.sequenceNumber: missing"), "{}", decoded.rejects[0].1.message);
    let decoded = decode_batch(serde_json::from_str(r#"{"Records": [7, {"kinesis": "x"}, {}]}"#).expect("reads"));
    let messages: Vec<&str> = decoded.rejects.iter().map(|(_, e)| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Records[0].(record): expected an object, found a number",
            "Records[1].kinesis.(part): expected an object, found a string",
            "Records[2].kinesis: missing"
        ]
    );
}

#[test]
fn an_event_without_records_reads_as_none() {
    let batch: KinesisBatch = serde_json::from_str(r#"{"Messages": []}"#).expect("reads");
    assert!(batch.records.is_none());
    assert!(serde_json::from_str::<KinesisBatch>(r#"{"Records": {}}"#).is_err(), "Records that is not an array fails the event");
}

#[test]
fn payloads_are_decoded_back_to_back_into_shared_chunks_and_stay_intact() {
    let payloads: Vec<Vec<u8>> = (0..2_000_u32)
        .map(|i| (0..700 + i % 7).map(|j| (i.wrapping_mul(31) ^ j) as u8).collect())
        .chain(std::iter::once(vec![7_u8; PAYLOAD_CHUNK_BYTES + 1]))
        .chain((0..3_u8).map(|i| vec![i; 10]))
        .collect();
    let mut decoded = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        if i == 5 {
            assert!(decode_base64("!!not base64").is_err(), "a refused text in between leaves the chunk as it was");
        }
        decoded.push(decode_base64(&base64::engine::general_purpose::STANDARD.encode(payload)).expect("decodes"));
    }
    for (payload, bytes) in payloads.iter().zip(&decoded) {
        assert_eq!(&bytes[..], &payload[..]);
    }
    let adjacent = decoded.windows(2).filter(|w| w[0].as_ptr() as usize + w[0].len() == w[1].as_ptr() as usize).count();
    assert!(adjacent > 1_900, "payloads share chunks ({adjacent} of {} written right after the one before)", decoded.len() - 1);
}

proptest::proptest! {
    /// The fast decoder reads every payload the `base64` crate writes; text
    /// the `base64` crate reads decodes to the same bytes, and text it refuses
    /// is refused with its error (which names the bad symbol), unless the
    /// fast decoder is the more lenient one.
    #[test]
    fn data_decodes_as_the_base64_crate_decodes_it(payload in proptest::collection::vec(proptest::num::u8::ANY, 0..200), text in "[A-Za-z0-9+/=!]{0,12}") {
        let written = base64::engine::general_purpose::STANDARD.encode(&payload);
        proptest::prop_assert_eq!(decode_base64(&written).ok().map(|b| b.to_vec()), Some(payload));
        match base64::engine::general_purpose::STANDARD.decode(&text) {
            Ok(bytes) => proptest::prop_assert_eq!(decode_base64(&text).ok().map(|b| b.to_vec()), Some(bytes)),
            Err(expected) => {
                if let Err(e) = decode_base64(&text) {
                    proptest::prop_assert_eq!(e, expected);
                }
            }
        }
    }
}
