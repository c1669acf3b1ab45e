//! IoT SiteWise: `BatchPutAssetPropertyValue` (`POST /properties`, host
//! prefix `data.`), `GetAssetPropertyValue` (`GET /properties/latest`) and
//! `GetAssetPropertyValueHistory` (`GET /properties/history`).
//!
//! Rules (SiteWise API reference and quotas): 1-10 entries per request,
//! 1-10 values per entry; `entryId` 1-64 of `[a-zA-Z0-9_-]`, unique in the
//! request; a property named by `propertyAlias` (1-2048, no control
//! characters) or `assetId` + `propertyId`; each value exactly one of
//! string/integer/double/boolean/nullValue; timestamps within
//! [now - 7 days, now + 10 minutes] (`TimestampOutOfRangeException`),
//! `offsetInNanos` 0-999,999,999; doubles within ±1e10 (NaN allowed);
//! strings at most 1,024 characters with no control characters; quality
//! GOOD, BAD or UNCERTAIN. Per-value errors come back in `errorEntries`,
//! grouped by code with the failed values' timestamps. With
//! `enablePartialEntryProcessing` false (the API's default) one bad value
//! fails its whole entry: nothing of the entry is stored and only the bad
//! values are listed (the API reference: "an invalid TQV fails ingestion of
//! the entire entry that contains it").

use super::{fault_text, World};
use crate::faults::{Api, Faults};
use crate::store::Call;
use crate::wire::{array, check_len, is_id, now_secs, ApiError, Protocol};
use crate::State;
use axum::body::Bytes;
use axum::extract::{Query, State as AxState};
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Most entries per request.
pub const MAX_ENTRIES: usize = 10;
/// Most values per entry.
pub const MAX_VALUES: usize = 10;
/// How far back a timestamp may be, seconds (7 days).
pub const MAX_PAST_SECS: f64 = 7.0 * 24.0 * 3600.0;
/// How far ahead a timestamp may be, seconds (10 minutes).
pub const MAX_FUTURE_SECS: f64 = 600.0;
/// Largest |double|.
pub const MAX_DOUBLE: f64 = 1e10;
/// Longest string value.
pub const MAX_STRING: usize = 1024;

pub(crate) async fn batch_put_asset_property_value(AxState(state): AxState<Arc<State>>, body: Bytes) -> Response {
    state.serve(Api::Sitewise, "BatchPutAssetPropertyValue", Protocol::RestJson, &body, put).await
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().enumerate().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// The property an entry names: its alias, or `assetId/propertyId`.
fn property_key(entry: &Value) -> Result<String, String> {
    if let Some(alias) = entry.get("propertyAlias").and_then(Value::as_str) {
        if alias.is_empty() || alias.chars().count() > 2048 || alias.chars().any(char::is_control) {
            return Err("propertyAlias must be 1-2048 characters with no control characters".into());
        }
        return Ok(alias.to_owned());
    }
    match (entry.get("assetId").and_then(Value::as_str), entry.get("propertyId").and_then(Value::as_str)) {
        (Some(a), Some(p)) if is_uuid(a) && is_uuid(p) => Ok(format!("{a}/{p}")),
        (Some(_), Some(_)) => Err("assetId and propertyId must be UUIDs".into()),
        _ => Err("an entry needs propertyAlias, or assetId and propertyId".into()),
    }
}

/// Check one value; `Err((code, message))`.
fn check_value(v: &Value, now: f64) -> Result<(), (&'static str, String)> {
    let invalid = |m: String| ("InvalidRequestException", m);
    let variant = v.get("value").and_then(Value::as_object).ok_or_else(|| invalid("value is required".into()))?;
    if variant.len() != 1 {
        return Err(invalid(format!(
            "value must hold exactly one of stringValue, integerValue, doubleValue, booleanValue, nullValue; it holds {}",
            variant.len()
        )));
    }
    match variant.iter().next() {
        Some((k, Value::String(s))) if k == "stringValue" => {
            if s.chars().count() > MAX_STRING || s.chars().any(|c| c.is_control()) {
                return Err(invalid(format!("stringValue must be at most {MAX_STRING} characters with no control characters")));
            }
        }
        Some((k, n)) if k == "integerValue" => {
            if n.as_i64().is_none_or(|i| i32::try_from(i).is_err()) {
                return Err(invalid("integerValue must be a 32-bit integer".into()));
            }
        }
        Some((k, d)) if k == "doubleValue" => {
            let ok = match d {
                Value::Number(n) => n.as_f64().is_some_and(|f| f.abs() <= MAX_DOUBLE),
                Value::String(s) => s == "NaN",
                _ => false,
            };
            if !ok {
                return Err(invalid(format!("doubleValue must be within ±{MAX_DOUBLE:e} or NaN")));
            }
        }
        Some((k, Value::Bool(_))) if k == "booleanValue" => {}
        Some((k, n)) if k == "nullValue" => {
            if !n.get("valueType").and_then(Value::as_str).is_some_and(|t| matches!(t, "D" | "B" | "S" | "I" | "U")) {
                return Err(invalid("nullValue.valueType must be one of D, B, S, I, U".into()));
            }
        }
        Some((k, _)) => return Err(invalid(format!("`{k}` is not a SiteWise value type (or has the wrong JSON type)"))),
        None => return Err(invalid("value is empty".into())),
    }
    let seconds = v
        .get("timestamp")
        .and_then(|t| t.get("timeInSeconds"))
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("timestamp.timeInSeconds is required".into()))?;
    let nanos = v.get("timestamp").and_then(|t| t.get("offsetInNanos")).and_then(Value::as_i64).unwrap_or(0);
    if !(0..=999_999_999).contains(&nanos) {
        return Err(invalid("offsetInNanos must be 0-999999999".into()));
    }
    let t = seconds as f64 + nanos as f64 / 1e9;
    if t < now - MAX_PAST_SECS || t > now + MAX_FUTURE_SECS {
        return Err(("TimestampOutOfRangeException", format!("timestamp {seconds} is outside [now - 7 days, now + 10 minutes]")));
    }
    if let Some(q) = v.get("quality") {
        if !q.as_str().is_some_and(|q| matches!(q, "GOOD" | "BAD" | "UNCERTAIN")) {
            return Err(invalid("quality must be GOOD, BAD or UNCERTAIN".into()));
        }
    }
    Ok(())
}

fn put(body: &Value, world: &mut World, faults: &mut Faults) -> Result<Value, ApiError> {
    let entries = array(body, "entries", "InvalidRequestException")?;
    check_len(entries, "entries", 1, MAX_ENTRIES, "InvalidRequestException")?;
    let partial = body.get("enablePartialEntryProcessing").and_then(Value::as_bool).unwrap_or(false);
    let mut ids = HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        let id = e.get("entryId").and_then(Value::as_str).unwrap_or_default();
        if !is_id(id, 64) {
            return Err(ApiError::bad("InvalidRequestException", format!("entries.{}.entryId `{id}` must match ^[a-zA-Z0-9_-]+$ (1-64)", i + 1)));
        }
        if !ids.insert(id) {
            return Err(ApiError::bad("InvalidRequestException", format!("entryId `{id}` appears more than once in the batch")));
        }
        check_len(
            e.get("propertyValues").and_then(Value::as_array).map_or(&[][..], Vec::as_slice),
            &format!("entries.{}.propertyValues", i + 1),
            1,
            MAX_VALUES,
            "InvalidRequestException",
        )?;
    }
    let now = now_secs();
    let mut error_entries = Vec::new();
    let mut logged = Vec::new();
    let mut target = String::new();
    for e in entries {
        let id = e.get("entryId").and_then(Value::as_str).unwrap_or_default();
        let values = e.get("propertyValues").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        // (code, message) per value; None = accepted.
        let results: Vec<Option<(String, String)>> = match property_key(e) {
            Err(m) => vec![Some(("InvalidRequestException".into(), m)); values.len()],
            Ok(key) if !world.exists(Api::Sitewise, &key) => {
                vec![Some(("ResourceNotFoundException".into(), format!("no property with alias or id {key}"))); values.len()]
            }
            Ok(key) => {
                target = key.clone();
                values
                    .iter()
                    .map(|v| match check_value(v, now) {
                        Err((code, m)) => Some((code.to_owned(), m)),
                        Ok(()) => faults
                            .item_error(Api::Sitewise, &key, || fault_text(v.to_string().as_bytes(), &key))
                            .map(|c| (c, "injected by the sandbox".to_owned())),
                    })
                    .collect()
            }
        };
        // With partial processing off, one bad value fails its whole entry: nothing
        // of it is stored, and (as AWS documents it) only the bad values are listed.
        let entry_failed = !partial && results.iter().any(Option::is_some);
        let key = property_key(e).unwrap_or_default();
        let mut grouped: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
        let retains = world.store.retains();
        for (v, r) in values.iter().zip(&results) {
            let ts = || v.get("timestamp").cloned().unwrap_or(Value::Null);
            // The call log names each value `entryId@timeInSeconds` (kept only with retention).
            let mut log = |code: Option<String>| {
                if retains {
                    logged.push((format!("{id}@{}", v.get("timestamp").and_then(|t| t.get("timeInSeconds")).unwrap_or(&Value::Null)), code));
                }
            };
            match r {
                Some((code, message)) => {
                    grouped.entry((code.clone(), message.clone())).or_default().push(ts());
                    log(Some(code.clone()));
                }
                None if entry_failed => log(Some("EntryNotIngested".into())),
                None => {
                    log(None);
                    let stored = || json!({"entryId": id, "property": key, "value": v["value"], "timestamp": ts(), "quality": v.get("quality").cloned().unwrap_or(json!("GOOD"))});
                    world.store.accept(Api::Sitewise, &key, stored);
                    if retains {
                        let stored = stored();
                        let history = world.properties.entry(key.clone()).or_default();
                        history.retain(|old| !(old["timestamp"] == stored["timestamp"] && old["quality"] == stored["quality"]));
                        history.push(stored);
                    }
                }
            }
        }
        if !grouped.is_empty() {
            let errors: Vec<Value> = grouped
                .into_iter()
                .map(|((code, message), timestamps)| json!({"errorCode": code, "errorMessage": message, "timestamps": timestamps}))
                .collect();
            error_entries.push(json!({"entryId": id, "errors": errors}));
        }
    }
    world.store.log(Call { api: Api::Sitewise, operation: "BatchPutAssetPropertyValue", target, items: logged, status: 200 });
    Ok(json!({"errorEntries": error_entries}))
}

fn query_key(q: &HashMap<String, String>) -> Result<String, ApiError> {
    match (q.get("propertyAlias"), q.get("assetId"), q.get("propertyId")) {
        (Some(alias), _, _) => Ok(alias.clone()),
        (None, Some(a), Some(p)) => Ok(format!("{a}/{p}")),
        _ => Err(ApiError::bad("InvalidRequestException", "give propertyAlias, or assetId and propertyId")),
    }
}

fn time_of(v: &Value) -> (i64, i64) {
    (
        v.get("timestamp").and_then(|t| t.get("timeInSeconds")).and_then(Value::as_i64).unwrap_or(0),
        v.get("timestamp").and_then(|t| t.get("offsetInNanos")).and_then(Value::as_i64).unwrap_or(0),
    )
}

fn wire_value(v: &Value) -> Value {
    json!({"value": v["value"], "timestamp": v["timestamp"], "quality": v["quality"]})
}

pub(crate) async fn get_asset_property_value(AxState(state): AxState<Arc<State>>, Query(q): Query<HashMap<String, String>>) -> Response {
    state
        .serve(Api::Sitewise, "GetAssetPropertyValue", Protocol::RestJson, &Bytes::new(), move |_, world, _| {
            let key = query_key(&q)?;
            let latest = world.properties.get(&key).and_then(|h| h.iter().max_by_key(|v| time_of(v)));
            latest.map(|v| json!({"propertyValue": wire_value(v)})).ok_or_else(|| ApiError::not_found(format!("no values for property {key}")))
        })
        .await
}

pub(crate) async fn get_asset_property_value_history(AxState(state): AxState<Arc<State>>, Query(q): Query<HashMap<String, String>>) -> Response {
    state
        .serve(Api::Sitewise, "GetAssetPropertyValueHistory", Protocol::RestJson, &Bytes::new(), move |_, world, _| {
            let key = query_key(&q)?;
            let max: usize = q.get("maxResults").and_then(|m| m.parse().ok()).filter(|m| (1..=20_000).contains(m)).unwrap_or(100);
            let start: usize = q.get("nextToken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let mut values: Vec<&Value> =
                world.properties.get(&key).map(|h| h.iter().collect()).ok_or_else(|| ApiError::not_found(format!("no values for property {key}")))?;
            values.sort_by_key(|v| time_of(v));
            if q.get("timeOrdering").is_some_and(|o| o == "DESCENDING") {
                values.reverse();
            }
            let page: Vec<Value> = values.iter().skip(start).take(max).map(|v| wire_value(v)).collect();
            let mut out = json!({"assetPropertyValueHistory": page});
            if start + max < values.len() {
                out["nextToken"] = json!((start + max).to_string());
            }
            Ok(out)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: Value, seconds: i64) -> Value {
        json!({"value": v, "timestamp": {"timeInSeconds": seconds, "offsetInNanos": 0}, "quality": "GOOD"})
    }

    #[test]
    fn value_rules() {
        let now = 1_800_000_000.0;
        let t = now as i64;
        assert!(check_value(&value(json!({"doubleValue": 1.5}), t), now).is_ok());
        assert!(check_value(&value(json!({"doubleValue": "NaN"}), t), now).is_ok());
        assert_eq!(check_value(&value(json!({"doubleValue": 2e10}), t), now).unwrap_err().0, "InvalidRequestException");
        assert!(check_value(&value(json!({"integerValue": 3_000_000_000i64}), t), now).is_err());
        assert!(check_value(&value(json!({"stringValue": "a\u{7}"}), t), now).is_err());
        assert!(check_value(&value(json!({"stringValue": "x".repeat(1025)}), t), now).is_err());
        assert!(check_value(&value(json!({"doubleValue": 1, "integerValue": 1}), t), now).is_err());
        assert_eq!(check_value(&value(json!({"booleanValue": true}), t - 8 * 86_400), now).unwrap_err().0, "TimestampOutOfRangeException");
        assert_eq!(check_value(&value(json!({"booleanValue": true}), t + 601), now).unwrap_err().0, "TimestampOutOfRangeException");
        assert!(check_value(&value(json!({"booleanValue": true}), t + 599), now).is_ok());
    }

    #[test]
    fn properties_by_alias_or_uuid_pair() {
        assert_eq!(property_key(&json!({"propertyAlias": "/p/t"})).unwrap(), "/p/t");
        let id = "12345678-1234-1234-1234-123456789012";
        assert_eq!(property_key(&json!({"assetId": id, "propertyId": id})).unwrap(), format!("{id}/{id}"));
        assert!(property_key(&json!({"assetId": "x", "propertyId": id})).is_err());
        assert!(property_key(&json!({})).is_err());
    }
}
