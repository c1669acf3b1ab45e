//! IoT Analytics: `BatchPutMessage` (`POST /messages/batch`).
//!
//! Rules (IoT Analytics API reference and quotas): 1-100 messages per
//! request; `channelName` 1-128 of `[a-zA-Z0-9_]` not starting with `__`;
//! `messageId` 1-128 characters, unique in the request; the payload a JSON
//! object whose field names match `^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$`,
//! are at most 255 characters, and are unique ignoring case, at every depth.
//! Payload problems are answered per message in `batchPutMessageErrorEntries`.

use super::{fault_text, World};
use crate::faults::{Api, Faults};
use crate::store::Call;
use crate::wire::{array, b64, blob, check_len, constraint, string, ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// Most messages per request.
pub const MAX_MESSAGES: usize = 100;
/// Longest field name.
pub const MAX_FIELD_NAME: usize = 255;

pub(crate) async fn batch_put_message(AxState(state): AxState<Arc<State>>, body: Bytes) -> Response {
    state.serve(Api::IotAnalytics, "BatchPutMessage", Protocol::RestJson, &body, put).await
}

fn is_channel_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && !s.starts_with("__") && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a field name matches IoT Analytics' pattern.
pub fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_') || name.len() > MAX_FIELD_NAME {
        return false;
    }
    let rest = chars.as_str();
    match rest.chars().next() {
        None => true,
        Some(second) => second.is_ascii_alphanumeric() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
    }
}

/// The first field-name problem in a payload, as `path: problem`.
pub fn field_name_problem(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Object(map) => {
            let mut seen = HashSet::new();
            for (k, v) in map {
                let here = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                if !is_field_name(k) {
                    return Some(format!(
                        "field `{here}` does not match ^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$ (at most {MAX_FIELD_NAME} characters)"
                    ));
                }
                if !seen.insert(k.to_lowercase()) {
                    return Some(format!("field `{here}` duplicates another field name ignoring case"));
                }
                if let Some(p) = field_name_problem(v, &here) {
                    return Some(p);
                }
            }
            None
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| field_name_problem(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

fn put(body: &Value, world: &mut World, faults: &mut Faults) -> Result<Value, ApiError> {
    let channel = string(body, "channelName", "InvalidRequestException")?;
    if !is_channel_name(channel) {
        return Err(constraint(
            "InvalidRequestException",
            "channelName",
            "Member must satisfy regular expression pattern: (^(?!_{2}))(^[a-zA-Z0-9_]+$)",
        ));
    }
    let messages = array(body, "messages", "InvalidRequestException")?;
    check_len(messages, "messages", 1, MAX_MESSAGES, "InvalidRequestException")?;
    let mut ids = HashSet::new();
    let mut parsed = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let id = m.get("messageId").and_then(Value::as_str).unwrap_or_default();
        if id.is_empty() || id.len() > 128 || !id.is_ascii() {
            return Err(constraint(
                "InvalidRequestException",
                &format!("messages.{}.member.messageId", i + 1),
                "Member must have length between 1 and 128",
            ));
        }
        if !ids.insert(id) {
            return Err(ApiError::bad("InvalidRequestException", format!("messageId `{id}` appears more than once in the batch")));
        }
        parsed.push((id, blob(m.get("payload"), &format!("messages.{}.member.payload", i + 1), "InvalidRequestException")?));
    }
    if !world.exists(Api::IotAnalytics, channel) {
        return Err(ApiError::not_found(format!("A resource with the name {channel} cannot be found.")));
    }
    let mut errors = Vec::new();
    let mut logged = Vec::with_capacity(parsed.len());
    for (id, payload) in parsed {
        let problem = match serde_json::from_slice::<Value>(&payload) {
            Ok(v @ Value::Object(_)) => field_name_problem(&v, "").map(|p| ("InvalidRequestException".to_owned(), p)),
            Ok(_) => Some(("InvalidRequestException".to_owned(), "the payload must be a JSON object".to_owned())),
            Err(e) => Some(("InvalidRequestException".to_owned(), format!("the payload is not JSON: {e}"))),
        };
        let problem = problem.or_else(|| {
            faults.item_error(Api::IotAnalytics, channel, || fault_text(&payload, id)).map(|c| (c, "injected by the sandbox".to_owned()))
        });
        match problem {
            Some((code, message)) => {
                errors.push(json!({"messageId": id, "errorCode": code, "errorMessage": message}));
                logged.push((id.to_owned(), Some(code)));
            }
            None => {
                world.store.accept(Api::IotAnalytics, channel, || json!({"messageId": id, "payload": b64(&payload)}));
                logged.push((id.to_owned(), None));
            }
        }
    }
    world.store.log(Call { api: Api::IotAnalytics, operation: "BatchPutMessage", target: channel.to_owned(), items: logged, status: 200 });
    Ok(json!({"batchPutMessageErrorEntries": errors}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_name_pattern_matches_the_documented_regex() {
        for ok in ["a", "_", "temp", "temp_01", "_a_b", "A1", "t1_", "x9__"] {
            assert!(is_field_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a_b", "a-b", "temp-01", "a b", "é", &"a".repeat(256)] {
            assert!(!is_field_name(bad), "{bad}");
        }
    }

    #[test]
    fn problems_are_found_at_every_depth_and_ignoring_case() {
        assert_eq!(field_name_problem(&json!({"ok": {"fine": [{"x-y": 1}]}}), "").map(|p| p.starts_with("field `ok.fine[0].x-y`")), Some(true));
        assert!(field_name_problem(&json!({"Temp": 1, "temp": 2}), "").is_some_and(|p| p.contains("ignoring case")));
        assert!(field_name_problem(&json!({"temp": 1, "pressure": {"value": 2}}), "").is_none());
    }
}
