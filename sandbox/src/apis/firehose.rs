//! Firehose: `PutRecordBatch` and `DescribeDeliveryStream`.
//!
//! Limits (Firehose API reference): 1-500 records and 4 MiB of data per
//! request, 1,000 KiB per record, stream names 1-64 of `[a-zA-Z0-9_.-]`.

use super::{fault_text, unknown_operation};
use crate::faults::Api;
use crate::store::Call;
use crate::wire::{array, b64, blob, check_len, constraint, is_stream_name, now_secs, string, ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Value};

/// Most records per request.
pub const MAX_RECORDS: usize = 500;
/// Largest record, bytes.
pub const MAX_RECORD_BYTES: usize = 1_024_000;
/// Largest request (sum of data), bytes.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

pub(crate) async fn handle(state: &State, operation: &str, body: &Bytes) -> Response {
    match operation {
        "PutRecordBatch" => state.serve(Api::Firehose, "PutRecordBatch", Protocol::AwsJson, body, put_record_batch).await,
        "DescribeDeliveryStream" => state.serve(Api::Firehose, "DescribeDeliveryStream", Protocol::AwsJson, body, describe).await,
        other => unknown_operation(other),
    }
}

fn stream_name<'a>(body: &'a Value, world: &mut super::World) -> Result<&'a str, ApiError> {
    let name = string(body, "DeliveryStreamName", "ValidationException")?;
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

fn put_record_batch(body: &Value, world: &mut super::World, faults: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let records = array(body, "Records", "ValidationException")?;
    check_len(records, "records", 1, MAX_RECORDS, "ValidationException")?;
    let name = stream_name(body, world)?;
    let mut data = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let bytes = blob(r.get("Data"), &format!("records.{}.member.data", i + 1), "ValidationException")?;
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
