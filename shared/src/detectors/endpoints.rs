//! The HTTP function's detector endpoints: `GET /detectors/{model}`
//! (ListDetectors; `state`, `limit`, `next` become `stateName`, `maxResults`,
//! `nextToken`), `GET /detectors/{model}/{key}` (DescribeDetector) and
//! `POST /detectors` (`{"detectors": [<API item>]}`, BatchUpdateDetector,
//! answered per item). Unknown model or key: 404; throttling: 429 with
//! `Retry-After`.

use super::reads::{describe_detector, list_detectors_page, MAX_RESULTS};
use crate::destinations::iot_events_detector::{send_updates, update_from_item, DetectorUpdate};
use crate::error::{ErrorClass, ItemError};
use crate::fanout::Fanout;
use crate::sources::http::message::{answer, body_kind, problem, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// `BatchUpdateDetector` items per call from `POST /detectors`.
pub const DETECTORS_PER_CALL: usize = 10;

/// A failed SDK call to the status it maps to.
fn request_error(e: &ItemError) -> HttpResponse {
    let throttled = e.code.contains("Throttl") || e.code == "LimitExceededException";
    let status = match (e.code.as_str(), e.class) {
        ("ResourceNotFoundException", _) => 404,
        _ if throttled => 429,
        (_, ErrorClass::Transient) => 503,
        (_, ErrorClass::Permanent) => 400,
    };
    let mut r = problem(status, format!("{}: {}", e.code, e.message));
    if status == 429 || status == 503 {
        r.headers.push(("Retry-After", "1".into()));
    }
    r
}

/// `GET /detectors/{model}`: one page of a model's detectors.
pub async fn list(fanout: &Fanout, model: &str, query: &[(String, String)]) -> HttpResponse {
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit = match q("limit").map(|l| l.parse::<i32>()) {
        None => None,
        Some(Ok(l)) if (1..=MAX_RESULTS).contains(&l) => Some(l),
        Some(_) => return problem(400, format!("limit must be a whole number from 1 to {MAX_RESULTS}")),
    };
    match list_detectors_page(&fanout.clients().ioteventsdata, model, q("state").as_deref(), limit, q("next")).await {
        Ok((detectors, next)) => answer(200, json!({"detectors": detectors, "next": next})),
        Err(e) => request_error(&e),
    }
}

/// `GET /detectors/{model}/{key}`: one detector's state.
pub async fn describe(fanout: &Fanout, model: &str, key: &str) -> HttpResponse {
    match describe_detector(&fanout.clients().ioteventsdata, model, key).await {
        Ok(Some(d)) => answer(200, serde_json::to_value(d).unwrap_or_default()),
        Ok(None) => problem(404, format!("no detector `{key}` of model `{model}`")),
        Err(e) => request_error(&e),
    }
}

/// `POST /detectors`: apply API-shaped updates, answered per item.
pub async fn post(fanout: &Fanout, request: &HttpRequest) -> HttpResponse {
    if let Err(r) = body_kind(request, fanout.config().http.body_limit()) {
        return r;
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(v) => v,
        Err(e) => return problem(400, format!("malformed body: {e} (expected {{\"detectors\": [...]}})")),
    };
    let Some(items) = body.get("detectors").and_then(Value::as_array) else {
        return problem(400, "malformed body: expected {\"detectors\": [...]}");
    };
    let mut results: Vec<Value> = vec![Value::Null; items.len()];
    let mut valid: Vec<(usize, DetectorUpdate)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match update_from_item(item, "", format!("item-{i}")) {
            Ok(u) if !u.model.is_empty() => valid.push((i, u)),
            Ok(_) => {
                results[i] =
                    json!({"index": i, "status": "invalid", "error": {"code": "InvalidDetectorUpdate", "message": "detectorModelName is required"}})
            }
            Err(e) => results[i] = json!({"index": i, "status": "invalid", "error": {"code": e.code, "message": e.message}}),
        }
    }
    for chunk in valid.chunks(DETECTORS_PER_CALL) {
        let updates: Vec<&DetectorUpdate> = chunk.iter().map(|(_, u)| u).collect();
        match send_updates(&fanout.clients().ioteventsdata, &updates).await {
            Ok(outcomes) => {
                for ((i, _), outcome) in chunk.iter().zip(outcomes) {
                    results[*i] = match outcome {
                        Ok(()) => json!({"index": i, "status": "updated"}),
                        Err(e) => {
                            json!({"index": i, "status": "failed", "error": {"code": e.code, "message": e.message}, "retryable": e.is_transient()})
                        }
                    };
                }
            }
            Err(e) if chunk.len() == valid.len() && (e.code.contains("Throttl") || e.code == "ResourceNotFoundException") => {
                return request_error(&e)
            }
            Err(e) => {
                for (i, _) in chunk {
                    results[*i] = json!({"index": i, "status": "failed", "error": {"code": e.code, "message": e.message}, "retryable": e.class == ErrorClass::Transient});
                }
            }
        }
    }
    let all_ok = results.iter().all(|r| r["status"] == "updated");
    answer(if all_ok { 200 } else { 207 }, json!({"detectors": results}))
}
