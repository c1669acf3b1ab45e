//! Firehose: `PutRecordBatch` and `DescribeDeliveryStream`.
//!
//! Limits (Firehose API reference): 1-500 records and 4 MiB of data per
//! request, 1,000 KiB per record, stream names 1-64 of `[a-zA-Z0-9_.-]`.

use super::{fault_text, unknown_operation};
use crate::faults::Api;
use crate::store::Call;
use crate::wire::{b64, blob_str, check_len, constraint, is_stream_name, now_secs, ApiError, Protocol, RecordInput};
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Value};
use std::borrow::Cow;

/// Most records per request.
pub const MAX_RECORDS: usize = 500;
/// Largest record, bytes.
pub const MAX_RECORD_BYTES: usize = 1_024_000;
/// Largest request (sum of data), bytes.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

pub(crate) async fn handle(state: &State, operation: &str, body: &Bytes) -> Response {
    match operation {
        "PutRecordBatch" => {
            state.serve_parsed(Api::Firehose, "PutRecordBatch", Protocol::AwsJson, body, serde_json::from_slice, put_record_batch).await
        }
        "DescribeDeliveryStream" => state.serve(Api::Firehose, "DescribeDeliveryStream", Protocol::AwsJson, body, describe).await,
        other => unknown_operation(other),
    }
}

/// `PutRecordBatch`'s input, read without building a JSON tree (the
/// base64 data stays borrowed from the body).
#[derive(serde::Deserialize)]
struct PutRecordBatchInput<'a> {
    #[serde(rename = "DeliveryStreamName", borrow, default)]
    stream: Option<Cow<'a, str>>,
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<RecordInput<'a>>>,
}

fn stream_name<'a>(body: &'a Value, world: &mut super::World) -> Result<&'a str, ApiError> {
    checked_stream_name(body.get("DeliveryStreamName").and_then(Value::as_str), world)
}

fn checked_stream_name<'a>(name: Option<&'a str>, world: &mut super::World) -> Result<&'a str, ApiError> {
    let name = name.ok_or_else(|| constraint("ValidationException", "DeliveryStreamName", "Member must not be null"))?;
    if !is_stream_name(name, 64) {
        return Err(constraint(
            "ValidationException",
            "deliveryStreamName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ (1-64)",
        ));
    }
    if !world.exists(Api::Firehose, name) {
        return Err(ApiError::bad("ResourceNotFoundException", format!("Firehose {name} under account 123456789012 not found.")));
    }
    Ok(name)
}

fn put_record_batch(input: PutRecordBatchInput<'_>, world: &mut super::World, faults: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let records = input.records.as_deref().ok_or_else(|| constraint("ValidationException", "Records", "Member must not be null"))?;
    check_len(records, "records", 1, MAX_RECORDS, "ValidationException")?;
    let name = checked_stream_name(input.stream.as_deref(), world)?;
    let mut data = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let bytes = blob_str(r.data.as_deref(), &format!("records.{}.member.data", i + 1), "ValidationException")?;
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(constraint(
                "ValidationException",
                &format!("records.{}.member.data", i + 1),
                "Member must have length less than or equal to 1024000",
            ));
        }
        data.push(bytes);
    }
    let total: usize = data.iter().map(Vec::len).sum();
    if total > MAX_REQUEST_BYTES {
        return Err(ApiError::bad("InvalidArgumentException", format!("Records size exceeds 4 MiB limit: {total} bytes")));
    }
    let mut responses = Vec::with_capacity(data.len());
    let mut logged = Vec::with_capacity(data.len());
    let mut failed = 0;
    let retains = world.store.retains();
    let call = world.store.calls_seen();
    for (i, bytes) in data.iter().enumerate() {
        let logged_text = || if retains { fault_text(bytes, "") } else { String::new() };
        match faults.item_error(Api::Firehose, name, || fault_text(bytes, "")) {
            Some(code) => {
                failed += 1;
                responses.push(json!({"ErrorCode": code, "ErrorMessage": "injected by the sandbox"}));
                logged.push((logged_text(), Some(code)));
            }
            None => {
                let id = format!("{call:020}{i:04}");
                world.store.accept(Api::Firehose, name, || json!({"record_id": id, "data": b64(bytes)}));
                responses.push(json!({"RecordId": id}));
                logged.push((logged_text(), None));
            }
        }
    }
    world.store.log(Call { api: Api::Firehose, operation: "PutRecordBatch", target: name.to_owned(), items: logged, status: 200 });
    Ok(json!({"FailedPutCount": failed, "Encrypted": false, "RequestResponses": responses}))
}

fn describe(body: &Value, world: &mut super::World, _: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let name = stream_name(body, world)?;
    Ok(json!({"DeliveryStreamDescription": {
        "DeliveryStreamName": name,
        "DeliveryStreamARN": format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"),
        "DeliveryStreamStatus": "ACTIVE",
        "DeliveryStreamType": "DirectPut",
        "VersionId": "1",
        "CreateTimestamp": now_secs(),
        "Destinations": [],
        "HasMoreDestinations": false
    }}))
}
