use super::*;
use crate::deliver::{deliver, ItemOutcome, RetryPolicy};
use crate::error::ErrorClass;
use crate::record::RecordId;
use aws_sdk_iotsitewise::operation::batch_put_asset_property_value::{BatchPutAssetPropertyValueInput, BatchPutAssetPropertyValueOutput};
use aws_sdk_iotsitewise::types::TimeInNanos;
use aws_sdk_iotsitewise::types::{BatchPutAssetPropertyError, BatchPutAssetPropertyErrorEntry, BatchPutAssetPropertyValueErrorCode};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use bytes::Bytes;
use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn client() -> aws_sdk_iotsitewise::Client {
    aws_sdk_iotsitewise::Client::from_conf(aws_sdk_iotsitewise::Config::builder().behavior_version_latest().build())
}

fn dest(yaml: &str) -> Sitewise {
    Sitewise::new(client(), &serde_saphyr::from_str(yaml).expect("sitewise config"))
}

const NOW: i64 = 1_800_000_000;

fn record(data: &str) -> Record {
    Record::new(RecordId::new("4959"), "kinesis", Bytes::from(data.to_owned())).with_arrival_ms(NOW * 1000 - 5_000)
}

const TWO: &str = "properties:\n  - { alias: '/plant/{/site}/{/deviceId}/temperature', value: /temperature }\n  - { alias: '/plant/{/site}/{/deviceId}/pressure', value: /pressure, type: integer, quality: /q }\n";

#[test]
fn a_record_yields_one_value_per_property() {
    let values =
        dest(TWO).values(&record(r#"{"site":"a","deviceId":"d-1","temperature":57.5,"pressure":1012,"q":"UNCERTAIN"}"#), NOW).expect("valid");
    assert_eq!(
        values,
        vec![
            SitewiseValue {
                property: PropertyRef::Alias("/plant/a/d-1/temperature".into()),
                value: SitewiseVariant::Double(57.5),
                seconds: NOW - 5,
                nanos: 0,
                quality: "GOOD"
            },
            SitewiseValue {
                property: PropertyRef::Alias("/plant/a/d-1/pressure".into()),
                value: SitewiseVariant::Integer(1012),
                seconds: NOW - 5,
                nanos: 0,
                quality: "UNCERTAIN"
            },
        ]
    );
}

#[test]
fn timestamps_by_magnitude_or_rfc3339() {
    assert_eq!(parse_timestamp(&serde_json::json!(1_800_000_000)), Some((1_800_000_000, 0)));
    assert_eq!(parse_timestamp(&serde_json::json!(1_800_000_000_123i64)), Some((1_800_000_000, 123_000_000)));
    assert_eq!(parse_timestamp(&serde_json::json!(1_800_000_000_123_456i64)), Some((1_800_000_000, 123_456_000)));
    assert_eq!(parse_timestamp(&serde_json::json!(1_800_000_000_123_456_789i64)), Some((1_800_000_000, 123_456_789)));
    assert_eq!(parse_timestamp(&serde_json::json!(1_800_000_000.25)), Some((1_800_000_000, 250_000_000)));
    assert_eq!(parse_timestamp(&serde_json::json!("2027-01-15T08:00:00.5Z")), Some((1_800_000_000, 500_000_000)));
    assert_eq!(parse_timestamp(&serde_json::json!("soon")), None);
}

fn one(yaml_value: &str, payload: &str) -> Result<Vec<SitewiseValue>, ItemError> {
    dest(&format!("properties:\n  - {{ alias: /p/x, value: /v{yaml_value} }}\n")).values(&record(payload), NOW)
}

#[test]
fn every_value_rule_is_a_permanent_error_naming_the_property_and_rule() {
    let cases = [
        ("", r#"{}"#, "MissingValue", "value /v is missing"),
        ("", r#"{"v": 2e10}"#, "ValueOutOfRange", "outside ±1e10"),
        (", type: integer", r#"{"v": 3000000000}"#, "ValueOutOfRange", "outside 32 bits"),
        (", type: integer", r#"{"v": 1.5}"#, "InvalidValue", "not an integer"),
        ("", r#"{"v": "bell\u0007"}"#, "InvalidValue", "no control characters"),
        ("", &format!(r#"{{"v": "{}"}}"#, "x".repeat(1025)), "InvalidValue", "at most 1024"),
        (", timestamp: /t", &format!(r#"{{"v": 1, "t": {}}}"#, NOW - 8 * 86_400), "TimestampOutOfRange", "now - 7 days"),
        (", timestamp: /t", &format!(r#"{{"v": 1, "t": {}}}"#, NOW + 601), "TimestampOutOfRange", "now + 10 minutes"),
        (", quality: /q", r#"{"v": 1, "q": "OK"}"#, "InvalidQuality", "not GOOD, BAD or UNCERTAIN"),
    ];
    for (mapping, payload, code, rule) in cases {
        let err = one(mapping, payload).unwrap_err();
        assert_eq!((err.code.as_str(), err.class), (code, ErrorClass::Permanent), "{payload}: {err}");
        assert!(err.message.contains("property `/p/x`") && err.message.contains(rule), "{payload}: {err}");
    }
    assert!(one(", timestamp: /t", &format!(r#"{{"v": 1, "t": {}}}"#, NOW + 599)).is_ok());
    let err = dest(TWO).values(&record(r#"{"temperature": 1, "pressure": 2}"#), NOW).unwrap_err();
    assert_eq!(err.code, "PropertyUnresolved");
}

#[test]
fn passthrough_takes_the_api_entries_shape() {
    let d = dest("passthrough: true\n");
    let payload = format!(
        r#"{{"entries":[{{"propertyAlias":"/a","propertyValues":[{{"value":{{"doubleValue":1.5}},"timestamp":{{"timeInSeconds":{NOW}}},"quality":"GOOD"}},{{"value":{{"booleanValue":true}},"timestamp":{{"timeInSeconds":{NOW},"offsetInNanos":5}}}}]}}]}}"#
    );
    let values = d.values(&record(&payload), NOW).expect("valid");
    assert_eq!(values.len(), 2);
    assert_eq!(values[1].value, SitewiseVariant::Boolean(true));
    assert!(d.values(&record(r#"[{"propertyValues":[]}]"#), NOW).unwrap_err().message.contains("no propertyAlias"));
}

fn value(property: &str, seconds: i64) -> SitewiseValue {
    SitewiseValue { property: PropertyRef::Alias(property.into()), value: SitewiseVariant::Double(1.0), seconds, nanos: 0, quality: "GOOD" }
}

proptest! {
    #[test]
    fn entries_group_one_property_with_distinct_stamps_and_requests_are_minimal(
        spec in prop::collection::vec((0usize..5, 0i64..40), 0..300)
    ) {
        let values: Vec<SitewiseValue> = spec.iter().map(|(p, t)| value(&format!("/p{p}"), NOW - t)).collect();
        let entries = group_entries(values.iter());
        let mut seen = vec![0; values.len()];
        for e in &entries {
            prop_assert!(!e.is_empty() && e.len() <= MAX_VALUES_PER_ENTRY);
            prop_assert!(e.iter().all(|&i| values[i].property == values[e[0]].property), "one property per entry");
            let mut stamps: Vec<i64> = e.iter().map(|&i| values[i].seconds).collect();
            stamps.sort();
            stamps.dedup();
            prop_assert_eq!(stamps.len(), e.len(), "distinct timestamps within an entry");
            for &i in e {
                seen[i] += 1;
            }
        }
        prop_assert!(seen.iter().all(|&n| n == 1), "every value in exactly one entry");
        let d = Sitewise::new(client(), &serde_saphyr::from_str("passthrough: true\n").unwrap());
        let prepared: Vec<Prepared<SitewiseValue>> = values.iter().cloned().map(|entry| Prepared { entry, size: 1 }).collect();
        let refs: Vec<&Prepared<SitewiseValue>> = prepared.iter().collect();
        let requests = d.pack(&refs);
        prop_assert_eq!(requests.len(), entries.len().div_ceil(MAX_ENTRIES_PER_REQUEST));
        prop_assert!(entries_lower_bound(values.iter()) <= entries.len(), "the bound is a bound");
        prop_assert!(d.lower_bound(&refs) <= requests.len());
        for r in &requests {
            let batch: Vec<&SitewiseValue> = r.iter().map(|&i| &values[i]).collect();
            prop_assert!(group_entries(batch.into_iter()).len() <= MAX_ENTRIES_PER_REQUEST, "send rebuilds at most 10 entries");
        }
    }

    #[test]
    fn with_distinct_stamps_entries_are_the_fewest_possible(counts in prop::collection::vec(0usize..35, 1..6)) {
        let values: Vec<SitewiseValue> = counts.iter().enumerate().flat_map(|(p, &n)| (0..n).map(move |t| value(&format!("/p{p}"), NOW - t as i64))).collect();
        let minimal: usize = counts.iter().map(|n| n.div_ceil(MAX_VALUES_PER_ENTRY)).sum();
        prop_assert_eq!(group_entries(values.iter()).len(), minimal);
        prop_assert_eq!(entries_lower_bound(values.iter()), minimal);
    }
}

fn error_output(entry: &str, code: BatchPutAssetPropertyValueErrorCode, stamps: &[i64]) -> BatchPutAssetPropertyValueOutput {
    let mut error = BatchPutAssetPropertyError::builder().error_code(code).error_message("mocked");
    for s in stamps {
        error = error.timestamps(TimeInNanos::builder().time_in_seconds(*s).offset_in_nanos(0).build().unwrap());
    }
    BatchPutAssetPropertyValueOutput::builder()
        .error_entries(BatchPutAssetPropertyErrorEntry::builder().entry_id(entry).errors(error.build().unwrap()).build().unwrap())
        .build()
        .unwrap()
}

#[test]
fn errors_map_back_through_entry_ids_and_timestamps() {
    let values = [value("/a", NOW), value("/a", NOW - 1), value("/b", NOW), value("/b", NOW - 1)];
    let batch: Vec<&SitewiseValue> = values.iter().collect();
    let entries = group_entries(batch.iter().copied());
    assert_eq!(entries, vec![vec![0, 1], vec![2, 3]]);
    let out = error_output("e1", BatchPutAssetPropertyValueErrorCode::TimestampOutOfRangeException, &[NOW - 1]);
    let partial = map_response(&out, &batch, &entries, true).expect("mapped");
    assert!(partial[0].is_ok() && partial[1].is_ok() && partial[2].is_ok());
    assert_eq!(partial[3].as_ref().unwrap_err().code, "TimestampOutOfRangeException");
    assert_eq!(partial[3].as_ref().unwrap_err().class, ErrorClass::Permanent);
    let whole = map_response(&out, &batch, &entries, false).expect("mapped");
    assert!(whole[0].is_ok() && whole[1].is_ok());
    assert_eq!(whole[2].as_ref().unwrap_err().code, "EntryNotIngested");
    assert_eq!(whole[2].as_ref().unwrap_err().class, ErrorClass::Transient, "resent without the bad value, it succeeds");
    assert!(
        map_response(&error_output("e7", BatchPutAssetPropertyValueErrorCode::ThrottlingException, &[NOW]), &batch, &entries, true).is_err(),
        "an unknown entry id is a bad response"
    );
    assert_eq!(classify_item_code("ConflictingOperationException"), ErrorClass::Transient);
    assert_eq!(classify_item_code("ResourceNotFoundException"), ErrorClass::Permanent);
    assert_eq!(classify_item_code("TimestampOutOfRangeException"), ErrorClass::Permanent);
}

/// As at every other destination, a code the API model does not list is
/// retried within the attempt budget and then reported, not dead-lettered.
#[test]
fn unknown_codes_are_retried_not_dead_lettered() {
    assert_eq!(classify_item_code("SomethingNewException"), ErrorClass::Transient);
}

/// Found by the `sitewise_response` fuzz target: an entry named by two error
/// entries lost the first one's error (the second's pass marked every value
/// it did not name as not ingested).
#[test]
fn an_entry_named_by_two_error_entries_keeps_each_values_own_error() {
    let values = [value("/a", NOW), value("/a", NOW - 1), value("/a", NOW - 2)];
    let batch: Vec<&SitewiseValue> = values.iter().collect();
    let entries = group_entries(batch.iter().copied());
    assert_eq!(entries, vec![vec![0, 1, 2]]);
    let first = error_output("e0", BatchPutAssetPropertyValueErrorCode::TimestampOutOfRangeException, &[NOW]);
    let second = error_output("e0", BatchPutAssetPropertyValueErrorCode::InvalidRequestException, &[NOW - 1]);
    let out = BatchPutAssetPropertyValueOutput::builder()
        .set_error_entries(Some([first.error_entries(), second.error_entries()].concat()))
        .build()
        .unwrap();
    let whole = map_response(&out, &batch, &entries, false).expect("mapped");
    let codes: Vec<&str> = whole.iter().map(|r| r.as_ref().map_or_else(|e| e.code.as_str(), |_| "ok")).collect();
    assert_eq!(codes, ["TimestampOutOfRangeException", "InvalidRequestException", "EntryNotIngested"]);
}

#[tokio::test]
async fn only_the_throttled_values_are_resent() {
    let sent: Arc<Mutex<Vec<Vec<i64>>>> = Arc::default();
    let log = Arc::clone(&sent);
    let rule =
        mock!(aws_sdk_iotsitewise::Client::batch_put_asset_property_value).then_compute_output(move |input: &BatchPutAssetPropertyValueInput| {
            let stamps: Vec<i64> =
                input.entries().iter().flat_map(|e| e.property_values().iter().filter_map(|v| v.timestamp().map(|t| t.time_in_seconds()))).collect();
            let mut log = log.lock().unwrap();
            log.push(stamps);
            if log.len() == 1 {
                error_output("e0", BatchPutAssetPropertyValueErrorCode::ThrottlingException, &[NOW - 2])
            } else {
                BatchPutAssetPropertyValueOutput::builder().set_error_entries(Some(Vec::new())).build().unwrap()
            }
        });
    let client = mock_client!(aws_sdk_iotsitewise, RuleMode::MatchAny, &[&rule]);
    let d = Sitewise::new(client, &serde_saphyr::from_str("passthrough: true\n").unwrap());
    let items: Vec<Prepared<SitewiseValue>> = (0..4).map(|t| Prepared { entry: value("/a", NOW - t), size: 1 }).collect();
    let policy = RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2), max_in_flight: 2 };
    let (outcomes, stats) = deliver(&d, &items, &policy, None, tokio::time::Instant::now() + Duration::from_secs(10)).await;
    assert!(outcomes.iter().all(|o| *o == ItemOutcome::Delivered), "{outcomes:?}");
    assert_eq!(*sent.lock().unwrap(), vec![vec![NOW, NOW - 1, NOW - 2, NOW - 3], vec![NOW - 2]]);
    assert_eq!(stats.requests, 2);
}

#[test]
fn every_field_takes_a_jq_expression() {
    let yaml = r#"properties:
  - alias: '= "/plant/\(.data.site)/\(.data.deviceId | ascii_downcase)/temperature"'
    value: '= (.data.tempF - 32) / 1.8'
    timestamp: '= .data.ts * 1000'
    quality: '= if .data.ok then "GOOD" else "BAD" end'
  - asset_id: '= .data.asset'
    property_id: '= "p-" + (.data.n | tostring)'
    value: '= .data.n'
    type: integer
"#;
    let values = dest(yaml)
        .values(&record(r#"{"site":"a","deviceId":"D-1","tempF":212,"ts":1799999990,"ok":false,"asset":"as-1","n":7}"#), NOW)
        .expect("valid");
    assert_eq!(values[0].property, PropertyRef::Alias("/plant/a/d-1/temperature".into()));
    assert_eq!((values[0].value.clone(), values[0].seconds, values[0].quality), (SitewiseVariant::Double(100.0), 1_799_999_990, "BAD"));
    assert_eq!(values[1].property, PropertyRef::Ids { asset: "as-1".into(), property: "p-7".into() });
    assert_eq!(values[1].value, SitewiseVariant::Integer(7));
}

#[test]
fn a_failing_or_empty_expression_is_a_permanent_error_naming_the_property() {
    let d = dest("properties:\n  - { alias: /p/x, value: '= .data.v + 1' }\n  - { alias: '= .data.missing.deeper', value: /v }\n");
    let err = d.values(&record(r#"{"v":"text"}"#), NOW).unwrap_err();
    assert_eq!((err.code.as_str(), err.is_transient()), ("MissingValue", false));
    assert!(err.message.contains("property `/p/x`") && err.message.contains("failed"), "{err}");
    let d = dest("properties:\n  - { alias: '= .data.name', value: /v }\n");
    let err = d.values(&record(r#"{"v":1}"#), NOW).unwrap_err();
    assert_eq!(err.code, "PropertyUnresolved");
    assert!(err.message.contains("alias: `= .data.name` produced null"), "{err}");
    let d = dest("properties:\n  - { alias: /p/x, value: '= empty' }\n");
    assert!(d.values(&record(r#"{"v":1}"#), NOW).unwrap_err().message.contains("is missing"));
}

#[test]
fn expressions_that_do_not_compile_are_config_problems_by_place() {
    let config: SitewiseConfig = serde_saphyr::from_str(
        "properties:\n  - { alias: '= .data |', value: '= nosuch(1)', timestamp: 'ts', quality: '= .q |' }\n  - { alias: /p, value: temperature }\n",
    )
    .expect("parses");
    let mut problems = Vec::new();
    DestinationType::validate(&config, "destinations.sw", &mut problems);
    let places: Vec<&str> = problems.iter().map(|p| p.place.as_str()).collect();
    assert_eq!(
        places,
        [
            "destinations.sw.properties[0].alias",
            "destinations.sw.properties[0].value",
            "destinations.sw.properties[0].quality",
            "destinations.sw.properties[1].value",
            "destinations.sw.properties[0].timestamp",
        ]
    );
}
