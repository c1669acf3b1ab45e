//! Every API of the sandbox through the real SDK clients over real HTTP:
//! what it accepts, what it rejects, and with which AWS error code.

use aws_sdk_iotsitewise::types::{AssetPropertyValue, PutAssetPropertyValueEntry, Quality, TimeInNanos, Variant};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::Blob;
use fanout_sandbox::faults::Api;
use fanout_sandbox::SandboxOptions;
use fanout_tests::{http_async, sandbox};
use std::time::{SystemTime, UNIX_EPOCH};

fn strict() -> SandboxOptions {
    SandboxOptions { auto_create: false, ..SandboxOptions::default() }
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("(no code)").to_owned()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[tokio::test]
async fn firehose_accepts_batches_and_rejects_what_aws_rejects() {
    let (sandbox, clients) = sandbox(SandboxOptions::default()).await;
    let records: Vec<_> = (0..3).map(|i| aws_sdk_firehose::types::Record::builder().data(Blob::new(format!("r{i}"))).build().unwrap()).collect();
    let out = clients.firehose.put_record_batch().delivery_stream_name("s1").set_records(Some(records)).send().await.expect("accepted");
    assert_eq!(out.failed_put_count(), 0);
    assert_eq!(out.request_responses().len(), 3);
    let stored = fanout_tests::invariant::accepted_payloads(&sandbox, Api::Firehose, "s1");
    assert_eq!(stored, vec![b"r0".to_vec(), b"r1".to_vec(), b"r2".to_vec()]);
    let described = clients.firehose.describe_delivery_stream().delivery_stream_name("s1").send().await.expect("described");
    assert_eq!(described.delivery_stream_description().map(|d| d.delivery_stream_name()), Some("s1"));

    let too_many: Vec<_> = (0..501).map(|_| aws_sdk_firehose::types::Record::builder().data(Blob::new("x")).build().unwrap()).collect();
    let err = clients.firehose.put_record_batch().delivery_stream_name("s1").set_records(Some(too_many)).send().await.unwrap_err();
    assert_eq!(code(&err), "ValidationException");
    let big = aws_sdk_firehose::types::Record::builder().data(Blob::new(vec![b'x'; 1_024_001])).build().unwrap();
    let err = clients.firehose.put_record_batch().delivery_stream_name("s1").records(big).send().await.unwrap_err();
    assert_eq!(code(&err), "ValidationException");

    let (_strict, strict_clients) = fanout_tests::sandbox(strict()).await;
    let one = aws_sdk_firehose::types::Record::builder().data(Blob::new("x")).build().unwrap();
    let err = strict_clients.firehose.put_record_batch().delivery_stream_name("missing").records(one).send().await.unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

#[tokio::test]
async fn kinesis_round_trips_records_and_rejects_what_aws_rejects() {
    let (_sandbox, clients) = fanout_tests::sandbox(strict()).await;
    let k = &clients.kinesis;
    k.create_stream().stream_name("s").shard_count(1).send().await.expect("created");
    assert_eq!(code(&k.create_stream().stream_name("s").shard_count(1).send().await.unwrap_err()), "ResourceInUseException");
    let entries: Vec<_> = (0..3)
        .map(|i| {
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder().data(Blob::new(format!("d{i}"))).partition_key(format!("k{i}")).build().unwrap()
        })
        .collect();
    let out = k.put_records().stream_name("s").set_records(Some(entries)).send().await.expect("accepted");
    assert_eq!(out.failed_record_count(), Some(0));
    let summary = k.describe_stream_summary().stream_name("s").send().await.expect("summary");
    assert_eq!(summary.stream_description_summary().map(|s| s.open_shard_count()), Some(1));
    let shards = k.list_shards().stream_name("s").send().await.expect("shards");
    let shard = shards.shards()[0].shard_id().to_owned();
    let it = k
        .get_shard_iterator()
        .stream_name("s")
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator");
    let got = k.get_records().set_shard_iterator(it.shard_iterator).send().await.expect("records");
    let read: Vec<(String, Vec<u8>)> =
        got.records().iter().map(|r| (r.partition_key().unwrap_or_default().to_owned(), r.data().as_ref().to_vec())).collect();
    assert_eq!(read, vec![("k0".into(), b"d0".to_vec()), ("k1".into(), b"d1".to_vec()), ("k2".into(), b"d2".to_vec())]);

    let long_key = aws_sdk_kinesis::types::PutRecordsRequestEntry::builder().data(Blob::new("x")).partition_key("k".repeat(257)).build().unwrap();
    assert_eq!(code(&k.put_records().stream_name("s").records(long_key).send().await.unwrap_err()), "ValidationException");
    let big = aws_sdk_kinesis::types::PutRecordsRequestEntry::builder().data(Blob::new(vec![0; 1024 * 1024])).partition_key("k").build().unwrap();
    assert_eq!(code(&k.put_records().stream_name("s").records(big).send().await.unwrap_err()), "InvalidArgumentException", "data + key above 1 MiB");
    let one = aws_sdk_kinesis::types::PutRecordsRequestEntry::builder().data(Blob::new("x")).partition_key("k").build().unwrap();
    assert_eq!(code(&k.put_records().stream_name("nope").records(one).send().await.unwrap_err()), "ResourceNotFoundException");
    // An explicit hash key is a decimal below 2^128.
    let hashed = |h: &str| {
        aws_sdk_kinesis::types::PutRecordsRequestEntry::builder().data(Blob::new("x")).partition_key("k").explicit_hash_key(h).build().unwrap()
    };
    for bad in ["-1", "0x10", "340282366920938463463374607431768211456", ""] {
        assert_eq!(code(&k.put_records().stream_name("s").records(hashed(bad)).send().await.unwrap_err()), "ValidationException", "{bad:?}");
    }
    let top = "340282366920938463463374607431768211455";
    assert_eq!(k.put_records().stream_name("s").records(hashed(top)).send().await.expect("accepted").failed_record_count(), Some(0));
}

fn analytics_message(id: &str, payload: &str) -> aws_sdk_iotanalytics::types::Message {
    aws_sdk_iotanalytics::types::Message::builder().message_id(id).payload(Blob::new(payload)).build().unwrap()
}

#[tokio::test]
async fn iot_analytics_checks_field_names_per_message() {
    let (sandbox, clients) = sandbox(SandboxOptions::default()).await;
    let a = &clients.iotanalytics;
    let out = a
        .batch_put_message()
        .channel_name("telemetry")
        .messages(analytics_message("m1", r#"{"temp_c": 21.5, "site": {"name": "a"}}"#))
        .messages(analytics_message("m2", r#"{"temp-01": 3}"#))
        .messages(analytics_message("m3", r#"{"Temp": 1, "temp": 2}"#))
        .send()
        .await
        .expect("answered");
    let errors: Vec<(&str, &str, &str)> = out
        .batch_put_message_error_entries()
        .iter()
        .map(|e| (e.message_id().unwrap_or_default(), e.error_code().unwrap_or_default(), e.error_message().unwrap_or_default()))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!((errors[0].0, errors[0].1), ("m2", "InvalidRequestException"));
    assert!(errors[0].2.contains("`temp-01`"), "{errors:?}");
    assert!(errors[1].2.contains("ignoring case"), "{errors:?}");
    assert_eq!(sandbox.state.world().store.items(Api::IotAnalytics, "telemetry").len(), 1);

    let hundred_one: Vec<_> = (0..101).map(|i| analytics_message(&format!("m{i}"), "{}")).collect();
    assert_eq!(
        code(&a.batch_put_message().channel_name("telemetry").set_messages(Some(hundred_one)).send().await.unwrap_err()),
        "InvalidRequestException"
    );
    let dup =
        a.batch_put_message().channel_name("telemetry").messages(analytics_message("x", "{}")).messages(analytics_message("x", "{}")).send().await;
    assert_eq!(code(&dup.unwrap_err()), "InvalidRequestException");
    assert_eq!(
        code(&a.batch_put_message().channel_name("__bad").messages(analytics_message("x", "{}")).send().await.unwrap_err()),
        "InvalidRequestException"
    );

    let (_s, strict_clients) = fanout_tests::sandbox(strict()).await;
    let err =
        strict_clients.iotanalytics.batch_put_message().channel_name("missing").messages(analytics_message("x", "{}")).send().await.unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

fn events_message(id: &str, payload: &str) -> aws_sdk_ioteventsdata::types::Message {
    aws_sdk_ioteventsdata::types::Message::builder()
        .message_id(id)
        .input_name("telemetry")
        .payload(Blob::new(payload))
        .timestamp(aws_sdk_ioteventsdata::types::TimestampValue::builder().time_in_millis(now() * 1000).build())
        .build()
        .unwrap()
}

#[tokio::test]
async fn iot_events_messages_update_detectors_that_list_in_pages() {
    let (_sandbox, clients) = sandbox(SandboxOptions::default()).await;
    let e = &clients.ioteventsdata;
    let mut put = e.batch_put_message();
    for i in 0..5 {
        let state = if i == 4 { r#","stateName":"Alarm""# } else { "" };
        put = put.messages(events_message(&format!("m{i}"), &format!(r#"{{"deviceId":"d-{i}","temperature":{}{state}}}"#, 20 + i)));
    }
    let out = put.send().await.expect("accepted");
    assert!(out.batch_put_message_error_entries().is_empty(), "{out:?}");

    let d = e.describe_detector().detector_model_name("telemetry").key_value("d-2").send().await.expect("described");
    let vars: Vec<(&str, &str)> =
        d.detector().and_then(|d| d.state()).map(|s| s.variables().iter().map(|v| (v.name(), v.value())).collect()).unwrap_or_default();
    assert!(vars.contains(&("temperature", "22")), "{vars:?}");

    let mut keys = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = e.list_detectors().detector_model_name("telemetry").max_results(2).set_next_token(token).send().await.expect("page");
        pages += 1;
        keys.extend(page.detector_summaries().iter().filter_map(|s| s.key_value().map(str::to_owned)));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!((pages, keys), (3, vec!["d-0".to_owned(), "d-1".into(), "d-2".into(), "d-3".into(), "d-4".into()]));
    let alarms = e.list_detectors().detector_model_name("telemetry").state_name("Alarm").send().await.expect("filtered");
    assert_eq!(alarms.detector_summaries().iter().filter_map(|s| s.key_value()).collect::<Vec<_>>(), vec!["d-4"]);

    assert_eq!(code(&e.batch_put_message().messages(events_message("bad id", "{}")).send().await.unwrap_err()), "InvalidRequestException");
    let eleven: Vec<_> = (0..11).map(|i| events_message(&format!("m{i}"), "{}")).collect();
    assert_eq!(code(&e.batch_put_message().set_messages(Some(eleven)).send().await.unwrap_err()), "InvalidRequestException");
    let big = events_message("big", &format!(r#"{{"x":"{}"}}"#, "a".repeat(1020)));
    assert_eq!(code(&e.batch_put_message().messages(big).send().await.unwrap_err()), "InvalidRequestException", "above 1 KiB of payload per batch");
    assert_eq!(
        code(&e.describe_detector().detector_model_name("telemetry").key_value("nobody").send().await.unwrap_err()),
        "ResourceNotFoundException"
    );
    assert_eq!(code(&e.list_detectors().detector_model_name("telemetry").max_results(251).send().await.unwrap_err()), "InvalidRequestException");
}

#[tokio::test]
async fn iot_events_batch_update_detector_sets_state_and_answers_per_item() {
    use aws_sdk_ioteventsdata::types::{DetectorStateDefinition, TimerDefinition, UpdateDetectorRequest, VariableDefinition};
    let (_sandbox, clients) = sandbox(SandboxOptions::default()).await;
    let update = |id: &str, variable: &str| {
        UpdateDetectorRequest::builder()
            .message_id(id)
            .detector_model_name("pump")
            .key_value("p-1")
            .state(
                DetectorStateDefinition::builder()
                    .state_name("Overheating")
                    .variables(VariableDefinition::builder().name(variable).value("97.5").build().unwrap())
                    .timers(TimerDefinition::builder().name("cooldown").seconds(60).build().unwrap())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let out = clients
        .ioteventsdata
        .batch_update_detector()
        .detectors(update("u1", "temperature"))
        .detectors(update("u2", "1bad"))
        .send()
        .await
        .expect("answered");
    let errors: Vec<(&str, &str)> = out
        .batch_update_detector_error_entries()
        .iter()
        .map(|e| (e.message_id().unwrap_or_default(), e.error_code().map(|c| c.as_str()).unwrap_or_default()))
        .collect();
    assert_eq!(errors, vec![("u2", "InvalidRequestException")]);
    let d = clients.ioteventsdata.describe_detector().detector_model_name("pump").key_value("p-1").send().await.expect("described");
    let state = d.detector().and_then(|d| d.state()).expect("state");
    assert_eq!(state.state_name(), "Overheating");
    assert_eq!(state.timers().iter().map(|t| t.name()).collect::<Vec<_>>(), vec!["cooldown"]);
}

fn value(v: Variant, seconds: i64) -> AssetPropertyValue {
    AssetPropertyValue::builder()
        .value(v)
        .timestamp(TimeInNanos::builder().time_in_seconds(seconds).offset_in_nanos(0).build().unwrap())
        .quality(Quality::Good)
        .build()
}

fn entry(id: &str, alias: &str, values: Vec<AssetPropertyValue>) -> PutAssetPropertyValueEntry {
    PutAssetPropertyValueEntry::builder().entry_id(id).property_alias(alias).set_property_values(Some(values)).build().unwrap()
}

#[tokio::test]
async fn sitewise_works_through_the_custom_endpoint_fix_and_checks_values() {
    let (_sandbox, clients) = sandbox(SandboxOptions::default()).await;
    let s = &clients.iotsitewise;
    let t = now();
    let out = s
        .batch_put_asset_property_value()
        .entries(entry(
            "e1",
            "/plant/a/temp",
            vec![value(Variant::builder().double_value(21.5).build(), t - 10), value(Variant::builder().double_value(22.5).build(), t - 5)],
        ))
        .send()
        .await
        .expect("accepted through the sandbox despite the data. host prefix");
    assert!(out.error_entries().is_empty(), "{out:?}");
    let latest = s.get_asset_property_value().property_alias("/plant/a/temp").send().await.expect("latest");
    assert_eq!(latest.property_value().and_then(|v| v.value()).and_then(|v| v.double_value()), Some(22.5));
    let history = s.get_asset_property_value_history().property_alias("/plant/a/temp").send().await.expect("history");
    assert_eq!(history.asset_property_value_history().len(), 2);

    // One value out of range: with partial processing off (the API default), the whole entry fails.
    let old = t - 8 * 24 * 3600;
    let mixed = || {
        entry(
            "e2",
            "/plant/a/pressure",
            vec![value(Variant::builder().double_value(1.0).build(), old), value(Variant::builder().double_value(2.0).build(), t)],
        )
    };
    let out = s.batch_put_asset_property_value().entries(mixed()).send().await.expect("answered");
    let errors = out.error_entries()[0].errors();
    let by_code: Vec<(&str, Vec<i64>)> =
        errors.iter().map(|e| (e.error_code().as_str(), e.timestamps().iter().map(|ts| ts.time_in_seconds()).collect())).collect();
    assert_eq!(by_code, vec![("TimestampOutOfRangeException", vec![old])], "only the bad value is listed");
    let stored = s.get_asset_property_value().property_alias("/plant/a/pressure").send().await;
    assert_eq!(code(&stored.unwrap_err()), "ResourceNotFoundException", "nothing of the failed entry was stored");
    let out = s.batch_put_asset_property_value().entries(mixed()).enable_partial_entry_processing(true).send().await.expect("answered");
    let failed: Vec<i64> = out.error_entries()[0].errors().iter().flat_map(|e| e.timestamps().iter().map(|ts| ts.time_in_seconds())).collect();
    assert_eq!(failed, vec![old], "with partial processing only the bad value fails");

    let eleven: Vec<_> = (0..11).map(|i| entry(&format!("e{i}"), "/a", vec![value(Variant::builder().integer_value(1).build(), t)])).collect();
    assert_eq!(code(&s.batch_put_asset_property_value().set_entries(Some(eleven)).send().await.unwrap_err()), "InvalidRequestException");
    assert_eq!(code(&s.get_asset_property_value().property_alias("/nothing").send().await.unwrap_err()), "ResourceNotFoundException");
}

#[tokio::test]
async fn a_plain_sitewise_client_cannot_reach_a_custom_endpoint() {
    // Why the routing crate's interceptor exists: without it the SDK sends to data.127.0.0.1.
    let (sandbox, _clients) = sandbox(SandboxOptions::default()).await;
    let plain = aws_sdk_iotsitewise::Client::new(&fanout_local::sdk::endpoint_sdk_config(&sandbox.endpoint));
    let err = plain
        .batch_put_asset_property_value()
        .entries(entry("e", "/a", vec![value(Variant::builder().integer_value(1).build(), now())]))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, aws_sdk_iotsitewise::error::SdkError::DispatchFailure(_)), "{err:?}");
}

#[tokio::test]
async fn the_control_api_reads_back_and_injects_faults_at_run_time() {
    let (sandbox, clients) = sandbox(SandboxOptions::default()).await;
    let port = sandbox.address.port();
    let (status, _) = http_async(port, "PUT", "/_sandbox/faults", b"kinesis:status=503,count=1").await;
    assert_eq!(status, 204);
    let entry = || aws_sdk_kinesis::types::PutRecordsRequestEntry::builder().data(Blob::new("x")).partition_key("k").build().unwrap();
    let err = clients.kinesis.put_records().stream_name("s").records(entry()).send().await.unwrap_err();
    assert_eq!((code(&err), err.raw_response().map(|r| r.status().as_u16())), ("ServiceUnavailableException".into(), Some(503)));
    clients.kinesis.put_records().stream_name("s").records(entry()).send().await.expect("the burst is over");
    let (_, items) = http_async(port, "GET", "/_sandbox/items/kinesis/s", b"").await;
    let items: serde_json::Value = serde_json::from_slice(&items).expect("json");
    assert_eq!(items.as_array().map(Vec::len), Some(1));
    let (status, body) = http_async(port, "PUT", "/_sandbox/faults", b"kinesis:colour=red").await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("unknown key `colour`"));
    let (_, calls) = http_async(port, "GET", "/_sandbox/calls", b"").await;
    let calls: serde_json::Value = serde_json::from_slice(&calls).expect("json");
    assert_eq!(calls.as_array().map(|c| c.iter().map(|c| c["status"].as_u64().unwrap_or(0)).collect::<Vec<_>>()), Some(vec![503, 200]));
}

/// A raw awsJson1_1 call (the SDK cannot send malformed bodies).
async fn aws_json(port: u16, target: &'static str, body: &'static str) -> (u16, String) {
    let (status, body) = tokio::task::spawn_blocking(move || {
        fanout_tests::http(port, "POST", "/", &[("X-Amz-Target", target), ("Content-Type", "application/x-amz-json-1.1")], body.as_bytes())
    })
    .await
    .expect("http task");
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_batch_bodies_are_rejected_with_aws_error_codes_and_nothing_is_kept() {
    let (sandbox, _) = sandbox(SandboxOptions::default()).await;
    let port = sandbox.address.port();
    let cases = [
        ("Firehose_20150804.PutRecordBatch", r#"{"DeliveryStreamName":"s","Records":"not a list"}"#, "SerializationException"),
        ("Firehose_20150804.PutRecordBatch", r#"{"DeliveryStreamName":"s"}"#, "ValidationException"),
        ("Firehose_20150804.PutRecordBatch", r#"{"DeliveryStreamName":"s","Records":[{"Data":"!!"}]}"#, "SerializationException"),
        ("Kinesis_20131202.PutRecords", r#"{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":7}]}"#, "SerializationException"),
        ("Kinesis_20131202.PutRecords", r#"{"StreamName":"s","Records":[{"Data":"eA=="}]}"#, "ValidationException"),
        ("Kinesis_20131202.PutRecords", r#"{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":"k"}"#, "SerializationException"),
    ];
    for (target, body, expected) in cases {
        let (status, answer) = aws_json(port, target, body).await;
        assert_eq!(status, 400, "{target} {body}: {answer}");
        assert!(answer.contains(expected), "{target} {body}: {answer}");
    }
    assert!(sandbox.state.world().store.targets().is_empty(), "nothing was accepted");
}
