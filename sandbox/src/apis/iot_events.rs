//! IoT Events Data: `BatchPutMessage` (`POST /inputs/messages`),
//! `BatchUpdateDetector` (`POST /detectors`), `DescribeDetector`
//! (`GET /detectors/{model}/keyValues?keyValue=`) and `ListDetectors`
//! (`GET /detectors/{model}?stateName=&nextToken=&maxResults=`).
//!
//! Rules (IoT Events Data API reference and quotas): `messageId` 1-64 of
//! `[a-zA-Z0-9_-]`, unique in the request; `inputName` 1-128 of
//! `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`; at most 10 messages and 1 KiB of payload
//! per BatchPutMessage (API reference); `detectorModelName` 1-128 of `[a-zA-Z0-9_-]`;
//! `keyValue` 1-128 of `[a-zA-Z0-9_:-]`; `stateName` 1-128; variable and
//! timer names `^[a-zA-Z][a-zA-Z0-9_]*$` (1-128), variable values 1-1024;
//! `maxResults` 1-250.
//!
//! A message sent to an input updates the detector of the model named like
//! the input, keyed by the payload field at the sandbox's `detector_key`
//! pointer: its variables become the payload's top-level scalars, its state
//! `stateName` from the payload or `Active`. So the read side shows something
//! true about what was sent.

use super::{fault_text, World};
use crate::faults::{Api, Faults};
use crate::store::Call;
use crate::wire::{array, b64, blob, check_len, constraint, is_id, now_secs, ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Most messages per BatchPutMessage (API reference).
pub const MAX_MESSAGES: usize = 10;
/// Most message payload bytes per BatchPutMessage (API reference: 1 KiB per batch).
pub const MAX_PAYLOAD_BYTES: usize = 1024;
/// Longest variable value.
pub const MAX_VARIABLE_VALUE: usize = 1024;
/// `maxResults` range of ListDetectors.
pub const MAX_RESULTS: u64 = 250;

/// A detector instance.
#[derive(Debug, Clone)]
pub struct Detector {
    /// Current state.
    pub state_name: String,
    /// Variable name to value, as last set.
    pub variables: BTreeMap<String, String>,
    /// Timers: name to expiry, epoch seconds.
    pub timers: BTreeMap<String, f64>,
    /// Created, epoch seconds.
    pub created: f64,
    /// Last updated, epoch seconds.
    pub updated: f64,
}

fn is_input_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn is_key_value(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'))
}

fn is_variable_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 128 && chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn unique_message_ids(items: &[Value], field: &str) -> Result<Vec<String>, ApiError> {
    let mut seen = HashSet::new();
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let id = m.get("messageId").and_then(Value::as_str).unwrap_or_default();
            if !is_id(id, 64) {
                return Err(constraint(
                    "InvalidRequestException",
                    &format!("{field}.{}.member.messageId", i + 1),
                    "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_-]+$ (1-64)",
                ));
            }
            if !seen.insert(id) {
                return Err(ApiError::bad("InvalidRequestException", format!("messageId `{id}` appears more than once in the batch")));
            }
            Ok(id.to_owned())
        })
        .collect()
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) async fn batch_put_message(AxState(state): AxState<Arc<State>>, body: Bytes) -> Response {
    state.serve(Api::IotEvents, "BatchPutMessage", Protocol::RestJson, &body, put_messages).await
}

fn put_messages(body: &Value, world: &mut World, faults: &mut Faults) -> Result<Value, ApiError> {
    let messages = array(body, "messages", "InvalidRequestException")?;
    check_len(messages, "messages", 1, MAX_MESSAGES, "InvalidRequestException")?;
    let ids = unique_message_ids(messages, "messages")?;
    let total = messages
        .iter()
        .enumerate()
        .map(|(i, m)| blob(m.get("payload"), &format!("messages.{}.member.payload", i + 1), "InvalidRequestException").map(|b| b.len()))
        .sum::<Result<usize, _>>()?;
    if total > MAX_PAYLOAD_BYTES {
        return Err(ApiError::bad(
            "InvalidRequestException",
            format!("message payloads total {total} bytes; a batch takes at most {MAX_PAYLOAD_BYTES}"),
        ));
    }
    let mut errors = Vec::new();
    let mut logged = Vec::with_capacity(ids.len());
    let mut target = String::new();
    for (i, (m, id)) in messages.iter().zip(ids).enumerate() {
        let input = m.get("inputName").and_then(Value::as_str).unwrap_or_default();
        if !is_input_name(input) {
            return Err(constraint(
                "InvalidRequestException",
                &format!("messages.{}.member.inputName", i + 1),
                "Member must satisfy regular expression pattern: ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (1-128)",
            ));
        }
        let payload = blob(m.get("payload"), &format!("messages.{}.member.payload", i + 1), "InvalidRequestException")?;
        target = input.to_owned();
        let problem = if !world.exists(Api::IotEvents, input) {
            Some(("ResourceNotFoundException".to_owned(), format!("Input {input} does not exist")))
        } else {
            faults.item_error(Api::IotEvents, input, || fault_text(&payload, &id)).map(|c| (c, "injected by the sandbox".to_owned()))
        };
        if let Some((code, message)) = problem {
            errors.push(json!({"messageId": id, "errorCode": code, "errorMessage": message}));
            logged.push((id, Some(code)));
            continue;
        }
        let timestamp = m.get("timestamp").and_then(|t| t.get("timeInMillis")).and_then(Value::as_i64);
        world.store.accept(
            Api::IotEvents,
            input,
            || json!({"messageId": id, "inputName": input, "payload": b64(&payload), "timeInMillis": timestamp}),
        );
        logged.push((id, None));
        update_detector_from_message(world, input, &payload);
    }
    world.store.log(Call { api: Api::IotEvents, operation: "BatchPutMessage", target, items: logged, status: 200 });
    Ok(json!({"BatchPutMessageErrorEntries": errors}))
}

fn update_detector_from_message(world: &mut World, input: &str, payload: &[u8]) {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    let Some(key) = Value::Object(fields.clone()).pointer(&world.detector_key).and_then(scalar_text).filter(|k| is_key_value(k)) else {
        return;
    };
    let now = now_secs();
    let detector = world.detectors.entry((input.to_owned(), key)).or_insert_with(|| Detector {
        state_name: "Active".into(),
        variables: BTreeMap::new(),
        timers: BTreeMap::new(),
        created: now,
        updated: now,
    });
    for (name, value) in &fields {
        if let (true, Some(text)) = (is_variable_name(name), scalar_text(value)) {
            detector.variables.insert(name.clone(), text);
        }
    }
    if let Some(state) = fields.get("stateName").and_then(Value::as_str) {
        detector.state_name = state.to_owned();
    }
    detector.updated = now;
    world.resources.insert((Api::IotEvents, input.to_owned()));
}

pub(crate) async fn batch_update_detector(AxState(state): AxState<Arc<State>>, body: Bytes) -> Response {
    state.serve(Api::IotEvents, "BatchUpdateDetector", Protocol::RestJson, &body, update_detectors).await
}

/// Check one `detectors[]` item; `Err` is a per-detector InvalidRequestException message.
fn check_update(d: &Value) -> Result<(String, String, Detector), String> {
    let model = d.get("detectorModelName").and_then(Value::as_str).unwrap_or_default();
    if !is_id(model, 128) {
        return Err(format!("detectorModelName `{model}` must match ^[a-zA-Z0-9_-]+$ (1-128)"));
    }
    let key = d.get("keyValue").and_then(Value::as_str).unwrap_or_default();
    if !is_key_value(key) {
        return Err(format!("keyValue `{key}` must match ^[a-zA-Z0-9\\-_:]+$ (1-128)"));
    }
    let state = d.get("state").ok_or("state is required")?;
    let state_name = state.get("stateName").and_then(Value::as_str).unwrap_or_default();
    if state_name.is_empty() || state_name.len() > 128 {
        return Err("stateName must be 1-128 characters".into());
    }
    let mut variables = BTreeMap::new();
    for v in state.get("variables").and_then(Value::as_array).ok_or("state.variables is required")? {
        let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
        let value = v.get("value").and_then(Value::as_str).unwrap_or_default();
        if !is_variable_name(name) {
            return Err(format!("variable name `{name}` must match ^[a-zA-Z][a-zA-Z0-9_]*$ (1-128)"));
        }
        if value.is_empty() || value.chars().count() > MAX_VARIABLE_VALUE {
            return Err(format!("variable `{name}` value must be 1-{MAX_VARIABLE_VALUE} characters"));
        }
        variables.insert(name.to_owned(), value.to_owned());
    }
    let now = now_secs();
    let mut timers = BTreeMap::new();
    for t in state.get("timers").and_then(Value::as_array).ok_or("state.timers is required")? {
        let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
        if !is_variable_name(name) {
            return Err(format!("timer name `{name}` must match ^[a-zA-Z][a-zA-Z0-9_]*$ (1-128)"));
        }
        let seconds = t.get("seconds").and_then(Value::as_i64).ok_or_else(|| format!("timer `{name}` needs whole seconds"))?;
        timers.insert(name.to_owned(), now + seconds as f64);
    }
    Ok((model.to_owned(), key.to_owned(), Detector { state_name: state_name.to_owned(), variables, timers, created: now, updated: now }))
}

fn update_detectors(body: &Value, world: &mut World, faults: &mut Faults) -> Result<Value, ApiError> {
    let detectors = array(body, "detectors", "InvalidRequestException")?;
    check_len(detectors, "detectors", 1, usize::MAX, "InvalidRequestException")?;
    let ids = unique_message_ids(detectors, "detectors")?;
    let mut errors = Vec::new();
    let mut logged = Vec::with_capacity(ids.len());
    let mut target = String::new();
    for (d, id) in detectors.iter().zip(ids) {
        let problem = match check_update(d) {
            Err(message) => Some(("InvalidRequestException".to_owned(), message)),
            Ok((model, key, update)) => {
                target = model.clone();
                if !world.exists(Api::IotEvents, &model) {
                    Some(("ResourceNotFoundException".to_owned(), format!("Detector model {model} does not exist")))
                } else if let Some(code) = faults.item_error(Api::IotEvents, &model, || fault_text(d.to_string().as_bytes(), &id)) {
                    Some((code, "injected by the sandbox".to_owned()))
                } else {
                    let created = world.detectors.get(&(model.clone(), key.clone())).map_or(update.created, |old| old.created);
                    world.store.accept(
                        Api::IotEvents,
                        &format!("detectors/{model}"),
                        || json!({"messageId": id, "keyValue": key, "state": d.get("state")}),
                    );
                    world.detectors.insert((model, key), Detector { created, ..update });
                    None
                }
            }
        };
        if let Some((code, message)) = problem {
            errors.push(json!({"messageId": id, "errorCode": code, "errorMessage": message}));
            logged.push((id, Some(code)));
        } else {
            logged.push((id, None));
        }
    }
    world.store.log(Call { api: Api::IotEvents, operation: "BatchUpdateDetector", target, items: logged, status: 200 });
    Ok(json!({"batchUpdateDetectorErrorEntries": errors}))
}

fn detector_json(model: &str, key: &str, d: &Detector) -> Value {
    json!({
        "detectorModelName": model, "keyValue": key, "detectorModelVersion": "1",
        "state": {
            "stateName": d.state_name,
            "variables": d.variables.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
            "timers": d.timers.iter().map(|(n, t)| json!({"name": n, "timestamp": t})).collect::<Vec<_>>(),
        },
        "creationTime": d.created, "lastUpdateTime": d.updated
    })
}

/// Read-only calls still go through faults and latency.
async fn serve_get(state: &State, operation: &'static str, f: impl FnOnce(&mut World) -> Result<Value, ApiError>) -> Response {
    state.serve(Api::IotEvents, operation, Protocol::RestJson, &Bytes::new(), |_, world, _| f(world)).await
}

pub(crate) async fn describe_detector(
    AxState(state): AxState<Arc<State>>,
    Path(model): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(key) = q.get("keyValue").cloned() else {
        return ApiError::bad("InvalidRequestException", "keyValue is required").into_response(Protocol::RestJson);
    };
    serve_get(&state, "DescribeDetector", move |world| {
        world
            .detectors
            .get(&(model.clone(), key.clone()))
            .map(|d| json!({"detector": detector_json(&model, &key, d)}))
            .ok_or_else(|| ApiError::not_found(format!("Detector {model} with key {key} does not exist")))
    })
    .await
}

pub(crate) async fn list_detectors(
    AxState(state): AxState<Arc<State>>,
    Path(model): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    serve_get(&state, "ListDetectors", move |world| {
        let max = match q.get("maxResults") {
            None => 100,
            Some(m) => m.parse::<u64>().ok().filter(|m| (1..=MAX_RESULTS).contains(m)).ok_or_else(|| constraint("InvalidRequestException", "maxResults", "Member must be between 1 and 250"))?,
        } as usize;
        let start: usize = match q.get("nextToken") {
            None => 0,
            Some(t) => t.strip_prefix("page-").and_then(|n| n.parse().ok()).ok_or_else(|| ApiError::bad("InvalidRequestException", "invalid nextToken"))?,
        };
        if !world.resources.contains(&(Api::IotEvents, model.clone())) && !world.detectors.keys().any(|(m, _)| *m == model) {
            return Err(ApiError::not_found(format!("Detector model {model} does not exist")));
        }
        let matching: Vec<(&(String, String), &Detector)> =
            world.detectors.iter().filter(|((m, _), d)| *m == model && q.get("stateName").is_none_or(|s| *s == d.state_name)).collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(max)
            .map(|((m, k), d)| {
                json!({"detectorModelName": m, "keyValue": k, "detectorModelVersion": "1", "state": {"stateName": d.state_name}, "creationTime": d.created, "lastUpdateTime": d.updated})
            })
            .collect();
        let mut out = Map::new();
        out.insert("detectorSummaries".into(), Value::Array(page));
        if start + max < matching.len() {
            out.insert("nextToken".into(), Value::String(format!("page-{}", start + max)));
        }
        Ok(Value::Object(out))
    })
    .await
}
