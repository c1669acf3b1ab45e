//! EventBridge: `PutEvents`, plus `CreateEventBus` (awsJson1_1,
//! `X-Amz-Target: AWSEvents.<operation>`).
//!
//! Limits (EventBridge API reference, PutEvents; User Guide, "Calculating
//! PutEvents event entry size"): 1-10 entries; the entries' total size (the
//! UTF-8 bytes of `Source`, `DetailType`, `Detail` and each of `Resources`,
//! plus 14 with a `Time`) under 1,000,000 bytes; every entry needs `Source`,
//! `DetailType` and `Detail`, `Detail` a JSON object, `DetailType` at most
//! 128 characters; a `Source` starting with `aws.` is not authorized. Each
//! answer entry matches the request entry at its position. The bus is
//! `EventBusName` (its last `/` segment for an ARN), `default` when absent;
//! the default bus always exists. Stored items: `{"event_id", "source",
//! "detail_type", "resources", "data"}` (`data`: the detail, base64).

use super::{fault_text, unknown_operation};
use crate::faults::Api;
use crate::store::Call;
use crate::wire::{b64, ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Value};

/// Most entries per request.
pub const MAX_ENTRIES: usize = 10;
/// The total entry size a request must stay under, bytes.
pub const MAX_BYTES: usize = 1_000_000;

pub(crate) async fn handle(state: &State, operation: &str, body: &Bytes) -> Response {
    match operation {
        "PutEvents" => state.serve(Api::EventBridge, "PutEvents", Protocol::AwsJson, body, put_events).await,
        "CreateEventBus" => state.serve(Api::EventBridge, "CreateEventBus", Protocol::AwsJson, body, create_event_bus).await,
        other => unknown_operation(other),
    }
}

fn create_event_bus(body: &Value, world: &mut super::World, _: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let name = body.get("Name").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() || name.len() > 256 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_')) {
        return Err(ApiError::bad("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint"));
    }
    world.create(Api::EventBridge, name);
    Ok(json!({"EventBusArn": format!("arn:aws:events:us-east-1:123456789012:event-bus/{name}")}))
}

fn bus_name(entry: &Value) -> &str {
    let bus = entry.get("EventBusName").and_then(Value::as_str).unwrap_or("default");
    if bus.starts_with("arn:") {
        bus.rsplit('/').next().unwrap_or(bus)
    } else {
        bus
    }
}

fn entry_size(e: &Value) -> usize {
    let text = |f: &str| e.get(f).and_then(Value::as_str).map_or(0, str::len);
    let resources: usize = e.get("Resources").and_then(Value::as_array).map_or(0, |r| r.iter().filter_map(Value::as_str).map(str::len).sum());
    text("Source") + text("DetailType") + text("Detail") + resources + if e.get("Time").is_some() { 14 } else { 0 }
}

/// What EventBridge refuses in one entry: (ErrorCode, ErrorMessage).
fn entry_problem(e: &Value) -> Option<(&'static str, &'static str)> {
    let (source, detail_type, detail) =
        (e.get("Source").and_then(Value::as_str), e.get("DetailType").and_then(Value::as_str), e.get("Detail").and_then(Value::as_str));
    let (Some(source), Some(detail_type), Some(detail)) = (source, detail_type, detail) else {
        return Some(("InvalidArgument", "Parameters Source, DetailType and Detail are required."));
    };
    if detail_type.chars().count() > 128 {
        return Some(("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is longer than 128 characters."));
    }
    if !serde_json::from_str::<Value>(detail).is_ok_and(|d| d.is_object()) {
        return Some(("MalformedDetail", "Detail is malformed."));
    }
    if source.starts_with("aws.") {
        return Some(("NotAuthorizedForSourceException", "Not authorized for the source."));
    }
    None
}

fn put_events(body: &Value, world: &mut super::World, faults: &mut crate::faults::Faults) -> Result<Value, ApiError> {
    let entries = crate::wire::array(body, "Entries", "ValidationException")?;
    crate::wire::check_len(entries, "entries", 1, MAX_ENTRIES, "ValidationException")?;
    let total: usize = entries.iter().map(entry_size).sum();
    if total >= MAX_BYTES {
        return Err(ApiError::bad("ValidationException", format!("Total size of the entries in the request is over the limit ({total} bytes).")));
    }
    for e in entries {
        let bus = bus_name(e);
        if bus != "default" && !world.exists(Api::EventBridge, bus) {
            return Err(ApiError { status: 400, code: "ResourceNotFoundException".into(), message: format!("Event bus {bus} does not exist.") });
        }
    }
    let retains = world.store.retains();
    let call = world.store.calls_seen();
    let mut answers = Vec::with_capacity(entries.len());
    let mut logged = Vec::with_capacity(entries.len());
    let mut failed_count = 0;
    let mut target = String::new();
    for (i, e) in entries.iter().enumerate() {
        let bus = bus_name(e).to_owned();
        let detail = e.get("Detail").and_then(Value::as_str).unwrap_or_default();
        let logged_text = || if retains { fault_text(detail.as_bytes(), "") } else { String::new() };
        let fault = match entry_problem(e) {
            Some((code, message)) => Some((code.to_owned(), message)),
            None => faults.item_error(Api::EventBridge, &bus, || fault_text(detail.as_bytes(), "")).map(|code| (code, "injected by the sandbox")),
        };
        match fault {
            Some((code, message)) => {
                failed_count += 1;
                answers.push(json!({"ErrorCode": code, "ErrorMessage": message}));
                logged.push((logged_text(), Some(code)));
            }
            None => {
                let event_id = format!("{call:020}-{i:04}");
                world.store.accept(Api::EventBridge, &bus, || {
                    json!({"event_id": event_id, "source": e.get("Source"), "detail_type": e.get("DetailType"), "resources": e.get("Resources"), "data": b64(detail.as_bytes())})
                });
                answers.push(json!({"EventId": event_id}));
                logged.push((logged_text(), None));
            }
        }
        target = bus;
    }
    world.store.log(Call { api: Api::EventBridge, operation: "PutEvents", target, items: logged, status: 200 });
    Ok(json!({"FailedEntryCount": failed_count, "Entries": answers}))
}
