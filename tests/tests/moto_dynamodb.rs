//! The DynamoDB Streams decoder against what another implementation of the
//! service emits: a table with a stream in moto, items written, changed and
//! deleted over HTTP, the stream read back with `GetRecords`, and the records
//! run through `handle_batch` (what `dynamodb-fanout` runs) against the
//! sandbox.
//!
//! `GetRecords` returns the records without the `eventSourceARN` Lambda adds
//! to each one (as the real service does), so the test adds it, as Lambda
//! would; everything else (`eventID`, `eventName`, `awsRegion`, the
//! `dynamodb` part with its typed images) is read as moto wrote it.

use fanout::sources::dynamodb::{self, DynamoDbBatch};
use fanout::{Config, Fanout};
use fanout_sandbox::faults::Api;
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::accepted_payloads;
use fanout_tests::moto::Moto;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, SystemTime};

const CONFIG: &str = "destinations:
  archive: { type: firehose, delivery_stream: archive }
  failures: { type: kinesis, stream: device-failures, partition_key: /keys/deviceId }
routes:
  - { name: all, to: [archive] }
  - name: status-failures
    match: { data: { eventName: [MODIFY], newImage: { status: [FAILED] }, oldImage: { status: [ { anything-but: [FAILED] } ] } } }
    to: [failures]
";

/// One DynamoDB call; panics with moto's answer when it is not a 200.
fn dynamodb(moto: &Moto, operation: &str, body: Value) -> Value {
    let (status, answer) = moto.aws_json("dynamodb", &format!("DynamoDB_20120810.{operation}"), &body);
    assert_eq!(status, 200, "{operation}: {answer}");
    answer
}

/// One DynamoDB Streams call (signed for `dynamodb`, as the SDK signs it).
fn streams(moto: &Moto, operation: &str, body: Value) -> Value {
    let (status, answer) = moto.aws_json("dynamodb", &format!("DynamoDBStreams_20120810.{operation}"), &body);
    assert_eq!(status, 200, "{operation}: {answer}");
    answer
}

/// A device item in DynamoDB JSON.
fn device(id: &str, status: &str) -> Value {
    json!({
        "deviceId": {"S": id}, "status": {"S": status}, "temperature": {"N": "21.5"},
        "serialNumber": {"N": "123456789012345678901234567890"}, "counter": {"N": "9007199254740993"},
        "calibration": {"B": "AZr/EEI="}, "tags": {"SS": ["north"]}, "retired": {"BOOL": false}, "note": {"NULL": true},
        "config": {"M": {"limits": {"L": [{"N": "50"}, {"S": "high"}]}}}
    })
}

/// The table's stream read from the start, as Lambda would hand it over.
fn stream_event(moto: &Moto) -> Value {
    let table = dynamodb(
        moto,
        "CreateTable",
        json!({"TableName": "devices", "KeySchema": [{"AttributeName": "deviceId", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "deviceId", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST",
               "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    );
    let arn = table["TableDescription"]["LatestStreamArn"].as_str().expect("the table has a stream").to_owned();
    dynamodb(moto, "PutItem", json!({"TableName": "devices", "Item": device("sensor-1", "ACTIVE")}));
    dynamodb(moto, "PutItem", json!({"TableName": "devices", "Item": device("sensor-1", "FAILED")}));
    dynamodb(moto, "PutItem", json!({"TableName": "devices", "Item": device("sensor-2", "ACTIVE")}));
    dynamodb(moto, "DeleteItem", json!({"TableName": "devices", "Key": {"deviceId": {"S": "sensor-2"}}}));

    let description = streams(moto, "DescribeStream", json!({"StreamArn": arn}));
    let shard = description["StreamDescription"]["Shards"][0]["ShardId"].as_str().expect("a shard").to_owned();
    let iterator = streams(moto, "GetShardIterator", json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}));
    let got = streams(moto, "GetRecords", json!({"ShardIterator": iterator["ShardIterator"]}));
    let mut records = got["Records"].as_array().cloned().unwrap_or_default();
    for r in &mut records {
        assert!(r.get("eventSourceARN").is_none(), "GetRecords does not name the stream; Lambda adds it: {r}");
        r["eventSourceARN"] = Value::String(arn.clone());
    }
    json!({ "Records": records })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_moto_streams_are_decoded_routed_and_delivered() {
    let moto = Moto::start();
    let event = tokio::task::spawn_blocking(move || {
        let event = stream_event(&moto);
        drop(moto);
        event
    })
    .await
    .expect("moto calls");
    let names: Vec<&str> = event["Records"].as_array().expect("records").iter().filter_map(|r| r["eventName"].as_str()).collect();
    assert_eq!(names, ["INSERT", "MODIFY", "INSERT", "REMOVE"], "{event}");
    let sequence_numbers: Vec<String> = event["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().expect("a sequence number").to_owned())
        .collect();

    let batch: DynamoDbBatch = serde_json::from_value(event.clone()).expect("the batch reads");
    let decoded = dynamodb::decode_batch(batch);
    assert!(decoded.rejects.is_empty(), "every record moto emits decodes: {:?}", decoded.rejects);
    let ids: Vec<&str> = decoded.records.iter().map(|r| r.id.source_id.as_str()).collect();
    assert_eq!(ids, sequence_numbers);

    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let fanout = Fanout::new(Config::parse(CONFIG, Path::new("moto-dynamodb.yaml")).expect("valid"), &clients);
    let batch: DynamoDbBatch = serde_json::from_value(event).expect("the batch reads");
    let response = dynamodb::handle_batch(&fanout, batch, SystemTime::now() + Duration::from_secs(30)).await.expect("a batch response");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let archived: Vec<Value> =
        accepted_payloads(&sandbox, Api::Firehose, "archive").iter().map(|p| serde_json::from_slice(p).expect("json")).collect();
    assert_eq!(archived.len(), 4);
    let modify = archived.iter().find(|p| p["eventName"] == "MODIFY").expect("the MODIFY");
    assert_eq!(modify["keys"], json!({"deviceId": "sensor-1"}));
    assert_eq!(modify["tableName"], "devices", "from the stream ARN");
    assert_eq!(modify["streamViewType"], "NEW_AND_OLD_IMAGES");
    assert_eq!((modify["oldImage"]["status"].as_str(), modify["newImage"]["status"].as_str()), (Some("ACTIVE"), Some("FAILED")));
    let image = &modify["newImage"];
    assert_eq!(image["temperature"], json!(21.5));
    assert_eq!(image["serialNumber"], "123456789012345678901234567890", "38-digit numbers beyond f64 stay strings");
    assert_eq!(image["counter"].as_u64(), Some(9_007_199_254_740_993), "integers past 2^53 stay exact");
    assert_eq!(image["calibration"], "AZr/EEI=", "binary as moto returns it: base64");
    assert_eq!((&image["tags"], &image["retired"], &image["note"]), (&json!(["north"]), &json!(false), &Value::Null));
    assert_eq!(image["config"], json!({"limits": [50, "high"]}));
    assert!(
        modify["approximateCreationDateTime"].as_f64().is_some_and(|t| t > 1.7e9),
        "a time in seconds: {}",
        modify["approximateCreationDateTime"]
    );
    let remove = archived.iter().find(|p| p["eventName"] == "REMOVE").expect("the REMOVE");
    assert!(remove.get("newImage").is_none() && remove["oldImage"]["deviceId"] == "sensor-2", "{remove}");

    let failures = sandbox.state.world().store.items(Api::Kinesis, "device-failures").to_vec();
    assert_eq!(failures.len(), 1, "only the change to FAILED: {failures:?}");
    assert_eq!(failures[0]["partition_key"], "sensor-1");
}
