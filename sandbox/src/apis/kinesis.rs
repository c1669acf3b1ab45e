//! Kinesis: `PutRecords`, plus `CreateStream`, `DescribeStreamSummary`,
//! `ListShards`, `GetShardIterator` and `GetRecords` so tools can read back.
//!
//! Limits (Kinesis API reference): 1-500 records per request; partition keys
//! 1-256 characters; data + partition key at most 1 MiB per record and 5 MiB
//! per request. Every stream has one shard in the sandbox.

use super::{fault_text, unknown_operation, World};
use crate::faults::{Api, Faults};
use crate::store::Call;
use crate::wire::{b64, blob_str, check_len, constraint, is_stream_name, now_secs, string, ApiError, Protocol, RecordInput};
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Value};
use std::borrow::Cow;

/// Most records per request.
pub const MAX_RECORDS: usize = 500;
/// Largest record (data + partition key), bytes.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Largest request (data + partition keys), bytes.
pub const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;
/// The one shard of every sandbox stream.
pub const SHARD_ID: &str = "shardId-000000000000";

/// One record in a stream.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// The sequence number the sandbox assigned, increasing per stream.
    pub sequence_number: String,
    /// The partition key it was put with.
    pub partition_key: String,
    /// The data, decoded from base64.
    pub data: Vec<u8>,
    /// Arrival, epoch seconds.
    pub arrival: f64,
}

/// A one-shard stream.
#[derive(Debug, Clone)]
pub struct Stream {
    /// The stream name.
    pub name: String,
    /// Records in arrival order.
    pub records: Vec<StoredRecord>,
    /// Records accepted so far (also those not kept, without retention).
    pub accepted: u64,
    created: f64,
}

impl Stream {
    /// An empty stream.
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned(), records: Vec::new(), accepted: 0, created: now_secs() }
    }
}

pub(crate) async fn handle(state: &State, operation: &str, body: &Bytes) -> Response {
    if operation == "PutRecords" {
        return state.serve_parsed(Api::Kinesis, "PutRecords", Protocol::AwsJson, body, serde_json::from_slice, put_records).await;
    }
    type Op = fn(&Value, &mut World, &mut Faults) -> Result<Value, ApiError>;
    let (name, op): (&'static str, Op) = match operation {
        "CreateStream" => ("CreateStream", create_stream),
        "DescribeStreamSummary" => ("DescribeStreamSummary", describe_stream_summary),
        "ListShards" => ("ListShards", list_shards),
        "GetShardIterator" => ("GetShardIterator", get_shard_iterator),
        "GetRecords" => ("GetRecords", get_records),
        other => return unknown_operation(other),
    };
    state.serve(Api::Kinesis, name, Protocol::AwsJson, body, op).await
}

/// `PutRecords`' input, read without building a JSON tree (the base64 data
/// and keys stay borrowed from the body).
#[derive(serde::Deserialize)]
struct PutRecordsInput<'a> {
    #[serde(rename = "StreamName", borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(rename = "StreamARN", borrow, default)]
    stream_arn: Option<Cow<'a, str>>,
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<RecordInput<'a>>>,
}

/// The stream a request names, by `StreamName` or `StreamARN`.
fn stream<'a>(body: &Value, world: &'a mut World) -> Result<&'a mut Stream, ApiError> {
    named_stream(body.get("StreamName").and_then(Value::as_str), body.get("StreamARN").and_then(Value::as_str), world)
}

fn named_stream<'a>(stream_name: Option<&str>, stream_arn: Option<&str>, world: &'a mut World) -> Result<&'a mut Stream, ApiError> {
    let name = match (stream_name, stream_arn) {
        (Some(n), _) => n.to_owned(),
        (None, Some(arn)) => arn
            .split_once(":stream/")
            .map(|(_, n)| n.to_owned())
            .ok_or_else(|| constraint("ValidationException", "streamARN", "Member must be a stream ARN"))?,
        (None, None) => return Err(ApiError::bad("InvalidArgumentException", "StreamName or StreamARN is required")),
    };
    if !is_stream_name(&name, 128) {
        return Err(constraint("ValidationException", "streamName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ (1-128)"));
    }
    if !world.exists(Api::Kinesis, &name) {
        return Err(ApiError::bad("ResourceNotFoundException", format!("Stream {name} under account 123456789012 not found.")));
    }
    world.streams.get_mut(&name).ok_or_else(|| ApiError::bad("ResourceNotFoundException", format!("Stream {name} not found.")))
}

fn put_records(input: PutRecordsInput<'_>, world: &mut World, faults: &mut Faults) -> Result<Value, ApiError> {
    let records = input.records.as_deref().ok_or_else(|| constraint("ValidationException", "Records", "Member must not be null"))?;
    check_len(records, "records", 1, MAX_RECORDS, "ValidationException")?;
    let mut parsed = Vec::with_capacity(records.len());
    let mut total = 0;
    for (i, r) in records.iter().enumerate() {
        let field = || format!("records.{}.member", i + 1);
        // The field name is only formatted for an error.
        let data = blob_str(r.data.as_deref(), "", "ValidationException")
            .or_else(|_| blob_str(r.data.as_deref(), &format!("{}.data", field()), "ValidationException"))?;
        let key = r
            .partition_key
            .as_deref()
            .ok_or_else(|| constraint("ValidationException", &format!("{}.partitionKey", field()), "Member must not be null"))?;
        let chars = key.chars().count();
        if chars == 0 || chars > 256 {
            return Err(constraint("ValidationException", &format!("{}.partitionKey", field()), "Member must have length between 1 and 256"));
        }
        let hash_key = r.explicit_hash_key.as_deref();
        if hash_key.is_some_and(|h| h.is_empty() || h.len() > 39 || !h.bytes().all(|b| b.is_ascii_digit()) || h.parse::<u128>().is_err()) {
            return Err(constraint(
                "ValidationException",
                &format!("{}.explicitHashKey", field()),
                "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
            ));
        }
        let size = data.len() + key.len();
        if size > MAX_RECORD_BYTES {
            return Err(ApiError::bad(
                "InvalidArgumentException",
                format!("Record {i} has size {size} bytes, above the 1 MiB limit including the partition key"),
            ));
        }
        total += size;
        parsed.push((key.to_owned(), hash_key.map(str::to_owned), data));
    }
    if total > MAX_REQUEST_BYTES {
        return Err(ApiError::bad("InvalidArgumentException", format!("Records size exceeds 5 MiB limit: {total} bytes")));
    }
    let world_retains = world.store.retains();
    let writes = world.store.writes();
    let mut accepted_count = 0;
    let stream = named_stream(input.stream_name.as_deref(), input.stream_arn.as_deref(), world)?;
    let name = stream.name.clone();
    let mut results = Vec::with_capacity(parsed.len());
    let mut accepted = Vec::new();
    let mut logged = Vec::with_capacity(parsed.len());
    let mut failed = 0;
    for (key, hash_key, data) in parsed {
        let logged_text = || if world_retains { fault_text(&data, "") } else { String::new() };
        if let Some(code) = faults.item_error(Api::Kinesis, &name, || fault_text(&data, "")) {
            failed += 1;
            results.push(json!({"ErrorCode": code, "ErrorMessage": "injected by the sandbox"}));
            logged.push((logged_text(), Some(code)));
            continue;
        }
        stream.accepted += 1;
        let sequence_number = format!("4959{:052}", stream.accepted);
        results.push(json!({"SequenceNumber": sequence_number, "ShardId": SHARD_ID}));
        logged.push((logged_text(), None));
        if world_retains || writes {
            let mut item = json!({"sequence_number": sequence_number, "partition_key": key, "data": b64(&data)});
            if let Some(h) = hash_key {
                item["explicit_hash_key"] = json!(h);
            }
            accepted.push(item);
        } else {
            accepted_count += 1;
        }
        if world_retains {
            stream.records.push(StoredRecord { sequence_number, partition_key: key, data, arrival: now_secs() });
        }
    }
    for item in accepted {
        world.store.accept(Api::Kinesis, &name, || item);
    }
    for _ in 0..accepted_count {
        world.store.accept(Api::Kinesis, &name, || Value::Null);
    }
    world.store.log(Call { api: Api::Kinesis, operation: "PutRecords", target: name, items: logged, status: 200 });
    Ok(json!({"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}))
}

fn create_stream(body: &Value, world: &mut World, _: &mut Faults) -> Result<Value, ApiError> {
    let name = string(body, "StreamName", "ValidationException")?;
    if !is_stream_name(name, 128) {
        return Err(constraint("ValidationException", "streamName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"));
    }
    if world.resources.contains(&(Api::Kinesis, name.to_owned())) {
        return Err(ApiError::bad("ResourceInUseException", format!("Stream {name} under account 123456789012 already exists.")));
    }
    world.create(Api::Kinesis, name);
    Ok(json!({}))
}

fn describe_stream_summary(body: &Value, world: &mut World, _: &mut Faults) -> Result<Value, ApiError> {
    let s = stream(body, world)?;
    Ok(json!({"StreamDescriptionSummary": {
        "StreamName": s.name,
        "StreamARN": format!("arn:aws:kinesis:us-east-1:123456789012:stream/{}", s.name),
        "StreamStatus": "ACTIVE",
        "StreamModeDetails": {"StreamMode": "PROVISIONED"},
        "RetentionPeriodHours": 24,
        "StreamCreationTimestamp": s.created,
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
        "EncryptionType": "NONE",
        "OpenShardCount": 1,
        "ConsumerCount": 0
    }}))
}

fn list_shards(body: &Value, world: &mut World, _: &mut Faults) -> Result<Value, ApiError> {
    stream(body, world)?;
    Ok(json!({"Shards": [{
        "ShardId": SHARD_ID,
        "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "340282366920938463463374607431768211455"},
        "SequenceNumberRange": {"StartingSequenceNumber": format!("4959{:052}", 0)}
    }]}))
}

fn get_shard_iterator(body: &Value, world: &mut World, _: &mut Faults) -> Result<Value, ApiError> {
    let shard = string(body, "ShardId", "ValidationException")?.to_owned();
    let kind = string(body, "ShardIteratorType", "ValidationException")?.to_owned();
    let at = body.get("StartingSequenceNumber").and_then(Value::as_str).map(str::to_owned);
    let s = stream(body, world)?;
    if shard != SHARD_ID {
        return Err(ApiError::bad("ResourceNotFoundException", format!("Shard {shard} in stream {} not found", s.name)));
    }
    let position = match (kind.as_str(), at) {
        ("TRIM_HORIZON", _) => 0,
        ("LATEST", _) => s.records.len(),
        ("AT_SEQUENCE_NUMBER", Some(n)) => s.records.iter().position(|r| r.sequence_number >= n).unwrap_or(s.records.len()),
        ("AFTER_SEQUENCE_NUMBER", Some(n)) => s.records.iter().position(|r| r.sequence_number > n).unwrap_or(s.records.len()),
        _ => {
            return Err(ApiError::bad(
                "InvalidArgumentException",
                format!("unsupported ShardIteratorType {kind} (or missing StartingSequenceNumber)"),
            ))
        }
    };
    Ok(json!({"ShardIterator": format!("{}|{position}", s.name)}))
}

fn get_records(body: &Value, world: &mut World, _: &mut Faults) -> Result<Value, ApiError> {
    let iterator = string(body, "ShardIterator", "ValidationException")?;
    let limit = body.get("Limit").and_then(Value::as_u64).unwrap_or(10_000).clamp(1, 10_000) as usize;
    let (name, position) = iterator.rsplit_once('|').ok_or_else(|| ApiError::bad("InvalidArgumentException", "malformed ShardIterator"))?;
    let position: usize = position.parse().map_err(|_| ApiError::bad("InvalidArgumentException", "malformed ShardIterator"))?;
    let s = world.streams.get(name).ok_or_else(|| ApiError::bad("ResourceNotFoundException", format!("Stream {name} not found")))?;
    let end = (position + limit).min(s.records.len());
    let records: Vec<Value> = s
        .records
        .get(position..end)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            json!({
                "SequenceNumber": r.sequence_number, "ApproximateArrivalTimestamp": r.arrival, "Data": b64(&r.data), "PartitionKey": r.partition_key
            })
        })
        .collect();
    Ok(json!({"Records": records, "NextShardIterator": format!("{name}|{end}"), "MillisBehindLatest": 0}))
}
