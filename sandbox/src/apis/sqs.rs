//! SQS: `SendMessageBatch`, plus `CreateQueue` and `GetQueueUrl` (awsJson1_0,
//! `X-Amz-Target: AmazonSQS.<operation>`).
//!
//! Limits (SQS API reference, raised on 2025-08-04): 1-10 entries and 1 MiB
//! of bodies per request, 1 MiB per body, at least 1 character; entry ids
//! 1-80 of `[A-Za-z0-9_-]`, unique in the request; bodies of the characters
//! `#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF`; `DelaySeconds`
//! 0-900. A queue is named by the last segment of its URL.
//!
//! FIFO queues (`.fifo`): every message needs a `MessageGroupId` and a
//! `MessageDeduplicationId` (1-128 of ASCII `!`-`~`; the sandbox's FIFO
//! queues have no content-based deduplication) and takes no `DelaySeconds`;
//! a message whose deduplication id the queue has seen is answered as sent
//! and not stored again. Stored items carry their `group` and their
//! `attributes` (name to string value); attributes count toward the size,
//! at most 10 per message.

use super::{fault_text, unknown_operation};
use crate::faults::Api;
use crate::store::Call;
use crate::wire::{b64, ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashSet;

/// Most entries per request.
pub const MAX_ENTRIES: usize = 10;
/// Largest body, and largest sum of bodies in a request, bytes.
pub const MAX_BYTES: usize = 1024 * 1024;

pub(crate) async fn handle(state: &State, operation: &str, body: &Bytes) -> Response {
    match operation {
        "SendMessageBatch" => state.serve(Api::Sqs, "SendMessageBatch", Protocol::AwsJson, body, send_message_batch).await,
        "CreateQueue" => state.serve(Api::Sqs, "CreateQueue", Protocol::AwsJson, body, create_queue).await,
        "GetQueueUrl" => state.serve(Api::Sqs, "GetQueueUrl", Protocol::AwsJson, body, get_queue_url).await,
        other => unknown_operation(other),
    }
}

fn queue_url(name: &str) -> String {
    format!("https://sqs.us-east-1.amazonaws.com/123456789012/{name}")
}

fn is_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty() && name.len() <= 80 && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn not_found() -> ApiError {
    ApiError::bad("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

/// The queue a `QueueUrl` names, if it exists (or the sandbox creates queues on first use).
fn queue<'a>(body: &'a Value, world: &mut super::World) -> Result<&'a str, ApiError> {
    let url = body
        .get("QueueUrl")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad("MissingParameter", "The request must contain the parameter QueueUrl."))?;
    let name = url.rsplit('/').next().unwrap_or_default();
    if !is_queue_name(name) || !world.exists(Api::Sqs, name) {
        return Err(not_found());
    }
    Ok(name)
}

fn create_queue(body: &Value, world: &mut super::World, _: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let name = body.get("QueueName").and_then(Value::as_str).unwrap_or_default();
    if !is_queue_name(name) {
        return Err(ApiError::bad("InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"));
    }
    world.create(Api::Sqs, name);
    Ok(json!({"QueueUrl": queue_url(name)}))
}

fn get_queue_url(body: &Value, world: &mut super::World, _: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let name = body.get("QueueName").and_then(Value::as_str).unwrap_or_default();
    if !is_queue_name(name) || !world.exists(Api::Sqs, name) {
        return Err(not_found());
    }
    Ok(json!({"QueueUrl": queue_url(name)}))
}

/// The MD5 of a body in hex, as `MD5OfMessageBody` carries it.
fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn is_message_text(text: &str) -> bool {
    text.chars().all(|c| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
}

/// The bytes an entry's attributes add to its size: name, data type and value.
fn attributes_size(e: &Value) -> usize {
    e.get("MessageAttributes").and_then(Value::as_object).map_or(0, |attrs| {
        attrs
            .iter()
            .map(|(name, v)| {
                let text = |f: &str| v.get(f).and_then(Value::as_str).map_or(0, str::len);
                name.len() + text("DataType") + text("StringValue")
            })
            .sum()
    })
}

/// An entry's `String` attributes, name to value (what the store keeps).
fn string_attributes(e: &Value) -> Value {
    let attrs = e.get("MessageAttributes").and_then(Value::as_object);
    Value::Object(attrs.map(|a| a.iter().filter_map(|(n, v)| Some((n.clone(), v.get("StringValue")?.clone()))).collect()).unwrap_or_default())
}

/// A FIFO id: 1-128 of ASCII `!` to `~`.
pub(crate) fn is_fifo_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

/// What a FIFO queue refuses in one entry, as SQS words it.
fn fifo_problem(group: Option<&str>, dedup: Option<&str>, delay: Option<i64>) -> Option<(&'static str, &'static str)> {
    match (group, dedup) {
        (None, _) => Some(("MissingParameter", "The request must contain the parameter MessageGroupId.")),
        (_, None) => Some((
            "InvalidParameterValue",
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
        )),
        (Some(g), _) if !is_fifo_id(g) => Some(("InvalidParameterValue", "Value for parameter MessageGroupId is invalid.")),
        (_, Some(d)) if !is_fifo_id(d) => Some(("InvalidParameterValue", "Value for parameter MessageDeduplicationId is invalid.")),
        _ if delay.is_some() => Some((
            "InvalidParameterValue",
            "Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.",
        )),
        _ => None,
    }
}

fn send_message_batch(body: &Value, world: &mut super::World, faults: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let name = queue(body, world)?;
    let entries = body.get("Entries").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if entries.is_empty() {
        return Err(ApiError::bad(
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        ));
    }
    if entries.len() > MAX_ENTRIES {
        return Err(ApiError::bad(
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are {MAX_ENTRIES}. You have sent {}.", entries.len()),
        ));
    }
    let mut ids = HashSet::new();
    let mut total = 0;
    for e in entries {
        let id = e.get("Id").and_then(Value::as_str).unwrap_or_default();
        if id.is_empty() || id.len() > 80 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(ApiError::bad(
                "AWS.SimpleQueueService.InvalidBatchEntryId",
                format!(
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. (`{id}`)"
                ),
            ));
        }
        if !ids.insert(id) {
            return Err(ApiError::bad("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", format!("Id {id} repeated.")));
        }
        total += e.get("MessageBody").and_then(Value::as_str).map_or(0, str::len) + attributes_size(e);
    }
    if total > MAX_BYTES {
        return Err(ApiError::bad(
            "AWS.SimpleQueueService.BatchRequestTooLong",
            format!("Batch requests cannot be longer than {MAX_BYTES} bytes. You have sent {total} bytes."),
        ));
    }
    let fifo = name.ends_with(".fifo");
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    let mut logged = Vec::with_capacity(entries.len());
    let retains = world.store.retains();
    let call = world.store.calls_seen();
    for (i, e) in entries.iter().enumerate() {
        let id = e.get("Id").and_then(Value::as_str).unwrap_or_default();
        let text = e.get("MessageBody").and_then(Value::as_str).unwrap_or_default();
        let delay = e.get("DelaySeconds").and_then(Value::as_i64);
        let group = e.get("MessageGroupId").and_then(Value::as_str);
        let dedup = e.get("MessageDeduplicationId").and_then(Value::as_str);
        let logged_text = || if retains { fault_text(text.as_bytes(), id) } else { String::new() };
        // Per-entry validation, as SQS answers it: in `Failed`, the sender's fault.
        let invalid = if text.is_empty() {
            Some(("InvalidParameterValue", "The message body must be at least 1 character long."))
        } else if text.len() > MAX_BYTES {
            Some(("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."))
        } else if !is_message_text(text) {
            Some((
                "InvalidMessageContents",
                "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
            ))
        } else if delay.is_some_and(|d| !(0..=900).contains(&d)) {
            Some(("InvalidParameterValue", "Value for parameter DelaySeconds is invalid. Reason: Must be >= 0 and <= 900."))
        } else if e.get("MessageAttributes").and_then(Value::as_object).is_some_and(|a| a.len() > 10) {
            Some(("InvalidParameterValue", "The number of message attributes exceeds the allowed maximum [10]."))
        } else if fifo {
            fifo_problem(group, dedup, delay)
        } else {
            None
        };
        if let Some((code, message)) = invalid {
            failed.push(json!({"Id": id, "SenderFault": true, "Code": code, "Message": message}));
            logged.push((logged_text(), Some(code.to_owned())));
            continue;
        }
        match faults.item_error(Api::Sqs, name, || fault_text(text.as_bytes(), id)) {
            Some(code) => {
                failed.push(json!({"Id": id, "SenderFault": false, "Code": code, "Message": "injected by the sandbox"}));
                logged.push((logged_text(), Some(code)));
            }
            None => {
                let message_id = format!("{call:020}-{i:04}");
                let duplicate = fifo && !world.dedup_ids.insert((Api::Sqs, name.to_owned(), dedup.unwrap_or_default().to_owned()));
                if !duplicate {
                    let attributes = string_attributes(e);
                    world.store.accept(
                        Api::Sqs,
                        name,
                        || json!({"message_id": message_id, "id": id, "group": group, "attributes": attributes, "data": b64(text.as_bytes())}),
                    );
                }
                successful.push(json!({"Id": id, "MessageId": message_id, "MD5OfMessageBody": md5_hex(text.as_bytes())}));
                logged.push((logged_text(), None));
            }
        }
    }
    world.store.log(Call { api: Api::Sqs, operation: "SendMessageBatch", target: name.to_owned(), items: logged, status: 200 });
    Ok(json!({"Successful": successful, "Failed": failed}))
}
