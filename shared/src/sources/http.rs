//! API Gateway requests (REST v1 and HTTP API v2 alike), framework-free:
//! [`apigw`] reads the proxy event into an [`HttpRequest`] and writes the
//! [`HttpResponse`] back ([`handle_event`] does both).
//!
//! - `POST /records`: `{"records": [{"id", "key", "data": <JSON>} | {"id", "key", "data_base64"}]}`
//!   (`application/json`) or one such item per line (`application/x-ndjson`).
//!   Ids are optional (fanout assigns `auto-<index>`) and unique in a request.
//!   200 when every record succeeded (delivered, dead-lettered or unrouted),
//!   207 Multi-Status otherwise, with a result per record (`id`, `status`,
//!   `error`, per-destination outcome); 400 for a malformed body or event, 413 above
//!   `http.max_body_bytes`, 415 for other content types. A JSON body may
//!   also be a bare array of items. A malformed item inside a well-formed
//!   body, or an NDJSON line that is not JSON, is answered `invalid` and
//!   does not stop the others.
//! - `GET /detectors/{model}` (ListDetectors; `state`, `limit`, `next` become
//!   `stateName`, `maxResults`, `nextToken`), `GET /detectors/{model}/{key}`
//!   (DescribeDetector), `POST /detectors` (`{"detectors": [<API item>]}`,
//!   BatchUpdateDetector, answered per item). Unknown model or key: 404;
//!   throttling: 429 with `Retry-After`.
//!
//! Authentication is API Gateway's (IAM by default in the template); nothing
//! here trusts a caller-supplied identity.

pub mod apigw;

pub mod config;
pub use config::{HttpSourceConfig, DEFAULT_MAX_BODY_BYTES};

use crate::destinations::iot_events_detector::{describe_detector, list_detectors_page, send_updates, update_from_item, DetectorUpdate};
use crate::error::{ErrorClass, ItemError};
use crate::fanout::Fanout;
use crate::record::{Record, RecordId};
use crate::report::{DestinationOutcome, RecordStatus, Report};
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::time::SystemTime;

/// The `source` field patterns see.
pub const SOURCE: &str = "http";
/// `BatchUpdateDetector` items per call from `POST /detectors`.
pub const DETECTORS_PER_CALL: usize = 10;

/// A request, as API Gateway handed it over.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the stage.
    pub path: String,
    /// Query parameters (first value of each).
    pub query: Vec<(String, String)>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// A response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers (`Content-Type: application/json` is implied).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Value,
}

fn answer(status: u16, body: Value) -> HttpResponse {
    HttpResponse { status, headers: Vec::new(), body }
}

fn problem(status: u16, message: impl Into<String>) -> HttpResponse {
    answer(status, json!({"error": message.into()}))
}

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

/// Route an API Gateway proxy event (REST v1 or HTTP API v2, as its JSON
/// text) and answer with the proxy response ([`apigw`]). An event fanout
/// cannot read is answered 400 naming the problem; nothing here panics.
pub async fn handle_event(fanout: &Fanout, event: &[u8], lambda_deadline: SystemTime) -> Value {
    apigw::response_to_event(&invoke_event(fanout, event, lambda_deadline).await.0)
}

/// [`handle_event`], also with the records and the report of `POST /records` (for the local runner).
pub async fn invoke_event(fanout: &Fanout, event: &[u8], lambda_deadline: SystemTime) -> (HttpResponse, Option<(Vec<Record>, Report)>) {
    match apigw::request_from_event(event) {
        Ok(request) => invoke(fanout, request, lambda_deadline).await,
        Err(answer) => (answer, None),
    }
}

/// Route a request.
pub async fn handle(fanout: &Fanout, request: HttpRequest, lambda_deadline: SystemTime) -> HttpResponse {
    invoke(fanout, request, lambda_deadline).await.0
}

/// Route a request; for `POST /records`, also the records and the report (for the local runner).
pub async fn invoke(fanout: &Fanout, request: HttpRequest, lambda_deadline: SystemTime) -> (HttpResponse, Option<(Vec<Record>, Report)>) {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let method = request.method.to_ascii_uppercase();
    let answer = match (method.as_str(), segments.as_slice()) {
        ("POST", [.., "records"]) => return post_records(fanout, &request, lambda_deadline).await,
        ("POST", [.., "detectors"]) => post_detectors(fanout, &request).await,
        ("GET", [.., "detectors", model]) => get_detectors(fanout, model, &request.query).await,
        ("GET", [.., "detectors", model, key]) => get_detector(fanout, model, key).await,
        (_, [.., "records"] | [.., "detectors"]) => problem(405, format!("{method} is not allowed here")),
        _ => problem(404, format!("no route for {method} {}", request.path)),
    };
    (answer, None)
}

fn check_body(fanout: &Fanout, request: &HttpRequest) -> Result<Kind, HttpResponse> {
    let limit = fanout.config().http.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if request.body.len() > limit {
        return Err(problem(413, format!("the body is {} bytes; the limit is {limit}", request.body.len())));
    }
    let ct = request.content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match ct.as_str() {
        "application/json" | "" => Ok(Kind::Json),
        "application/x-ndjson" => Ok(Kind::Ndjson),
        other => Err(problem(415, format!("content type `{other}` is not accepted; send application/json or application/x-ndjson"))),
    }
}

enum Kind {
    Json,
    Ndjson,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item<'a> {
    id: Option<String>,
    key: Option<String>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    data_base64: Option<String>,
}

/// The items of a body, each its JSON text or why it is not one: a JSON body
/// is `{"records": [...]}` or a bare array of items; NDJSON is one item per
/// non-blank line, and a line that is not JSON is that item's problem alone.
fn parse_items(body: &[u8], kind: Kind) -> Result<Vec<Result<&RawValue, String>>, HttpResponse> {
    match kind {
        Kind::Json => {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            let items = if first == Some(&b'[') {
                serde_json::from_slice::<Vec<&RawValue>>(body)
            } else {
                serde_json::from_slice::<Body>(body).map(|b| b.records)
            };
            items
                .map(|items| items.into_iter().map(Ok).collect())
                .map_err(|e| problem(400, format!("malformed body: {e} (expected {{\"records\": [...]}} or an array of records)")))
        }
        Kind::Ndjson => Ok(std::str::from_utf8(body)
            .map_err(|e| problem(400, format!("malformed body: not UTF-8: {e}")))?
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| serde_json::from_str::<&RawValue>(l).map_err(|e| format!("line {}: not JSON: {e}", n + 1)))
            .collect()),
    }
}

fn item_record(index: usize, raw: &RawValue, seen: &mut HashSet<String>) -> (String, Result<Record, String>) {
    let item: Item = match serde_json::from_str(raw.get()) {
        Ok(item) => item,
        Err(e) => return (format!("auto-{index}"), Err(format!("record {index}: {e} (expected {{\"id\", \"key\", \"data\" or \"data_base64\"}})"))),
    };
    let id = item.id.clone().unwrap_or_else(|| format!("auto-{index}"));
    if id.is_empty() {
        return (id, Err(format!("record {index}: id must not be empty")));
    }
    if !seen.insert(id.clone()) {
        return (id.clone(), Err(format!("record {index}: id `{id}` is used by an earlier record in this request")));
    }
    let data = match (item.data, item.data_base64) {
        (Some(d), None) => Bytes::copy_from_slice(d.get().as_bytes()),
        (None, Some(b)) => match base64::engine::general_purpose::STANDARD.decode(b.trim()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => return (id, Err(format!("record {index}: data_base64 is not base64: {e}"))),
        },
        _ => return (id, Err(format!("record {index}: give exactly one of `data` and `data_base64`"))),
    };
    let now = SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut record = Record::new(RecordId::new(id.clone()), SOURCE, data).with_arrival_ms(now);
    record.key = item.key;
    (id, Ok(record))
}

async fn post_records(fanout: &Fanout, request: &HttpRequest, lambda_deadline: SystemTime) -> (HttpResponse, Option<(Vec<Record>, Report)>) {
    let started = std::time::Instant::now();
    let kind = match check_body(fanout, request) {
        Ok(k) => k,
        Err(r) => return (r, None),
    };
    let raws = match parse_items(&request.body, kind) {
        Ok(r) => r,
        Err(r) => return (r, None),
    };
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(raws.len());
    let mut invalid: Vec<(usize, String)> = Vec::new();
    let mut records = Vec::with_capacity(raws.len());
    let mut positions = Vec::with_capacity(raws.len());
    for (i, raw) in raws.iter().enumerate() {
        let (id, parsed) = match raw {
            Ok(raw) => item_record(i, raw, &mut seen),
            Err(why) => (format!("auto-{i}"), Err(format!("record {i}: {why}"))),
        };
        ids.push(id);
        match parsed {
            Ok(r) => {
                positions.push(i);
                records.push(r);
            }
            Err(why) => invalid.push((i, why)),
        }
    }
    let report = fanout.process(&records, fanout.stop_at(lambda_deadline)).await;
    let mut results: Vec<Value> = vec![Value::Null; raws.len()];
    let mut all_ok = invalid.is_empty();
    let invalid_positions: Vec<usize> = invalid.iter().map(|(i, _)| *i).collect();
    for (i, why) in invalid {
        results[i] = json!({"id": ids[i], "status": "invalid", "error": {"code": "InvalidRecord", "message": why}});
    }
    for (k, &i) in positions.iter().enumerate() {
        let status = report.status[k];
        all_ok &= status != RecordStatus::Failed;
        let mut destinations = Map::new();
        let mut first_error: Option<&ItemError> = None;
        for (name, outcome) in report.outcomes_of(k) {
            let v = match outcome {
                DestinationOutcome::Delivered => json!("delivered"),
                DestinationOutcome::DeadLettered(e) => json!({"status": "dead_lettered", "code": e.code, "message": e.message}),
                DestinationOutcome::Failed(e) => {
                    first_error.get_or_insert(e);
                    json!({"status": "failed", "code": e.code, "message": e.message, "retryable": e.class == ErrorClass::Transient})
                }
            };
            destinations.insert(name.to_owned(), v);
        }
        let mut r = json!({"id": ids[i], "status": status, "destinations": destinations});
        if let (RecordStatus::Failed, Some(e)) = (status, first_error) {
            r["error"] = json!({"code": e.code, "message": e.message});
        }
        results[i] = r;
    }
    let response = answer(if all_ok { 200 } else { 207 }, json!({"records": results}));
    if invalid_positions.is_empty() {
        crate::metrics::observe(fanout, SOURCE, &records, &report, started, crate::metrics::BatchAge::None);
    } else {
        // Items that are not records are failed items of this request too.
        let mut whole = Report::empty(raws.len());
        whole.merge(report.clone(), &positions);
        for &i in &invalid_positions {
            whole.status[i] = RecordStatus::Failed;
        }
        crate::metrics::observe(fanout, SOURCE, &[], &whole, started, crate::metrics::BatchAge::None);
    }
    (response, Some((records, report)))
}

async fn get_detectors(fanout: &Fanout, model: &str, query: &[(String, String)]) -> HttpResponse {
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit = match q("limit").map(|l| l.parse::<i32>()) {
        None => None,
        Some(Ok(l)) if (1..=250).contains(&l) => Some(l),
        Some(_) => return problem(400, "limit must be a whole number from 1 to 250"),
    };
    match list_detectors_page(&fanout.clients().ioteventsdata, model, q("state").as_deref(), limit, q("next")).await {
        Ok((detectors, next)) => answer(200, json!({"detectors": detectors, "next": next})),
        Err(e) => request_error(&e),
    }
}

async fn get_detector(fanout: &Fanout, model: &str, key: &str) -> HttpResponse {
    match describe_detector(&fanout.clients().ioteventsdata, model, key).await {
        Ok(Some(d)) => answer(200, serde_json::to_value(d).unwrap_or_default()),
        Ok(None) => problem(404, format!("no detector `{key}` of model `{model}`")),
        Err(e) => request_error(&e),
    }
}

async fn post_detectors(fanout: &Fanout, request: &HttpRequest) -> HttpResponse {
    if let Err(r) = check_body(fanout, request) {
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

#[cfg(test)]
mod tests;
