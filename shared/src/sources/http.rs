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
pub mod message;
pub use config::{HttpSourceConfig, DEFAULT_MAX_BODY_BYTES};
pub use message::{HttpRequest, HttpResponse};

use crate::detectors::endpoints as detectors;
use crate::error::{ErrorClass, ItemError};
use crate::fanout::Fanout;
use crate::record::{Record, RecordId, ASSIGNED_ID_PREFIX};
use crate::report::{DestinationOutcome, RecordStatus, Report};
use base64::Engine as _;
use bytes::Bytes;
use message::{answer, body_kind, problem, BodyKind};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::time::SystemTime;

/// The `source` field patterns see.
pub const SOURCE: &str = "http";

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
        ("POST", [.., "detectors"]) => detectors::post(fanout, &request).await,
        ("GET", [.., "detectors", model]) => detectors::list(fanout, model, &request.query).await,
        ("GET", [.., "detectors", model, key]) => detectors::describe(fanout, model, key).await,
        (_, [.., "records"] | [.., "detectors"]) => problem(405, format!("{method} is not allowed here")),
        _ => problem(404, format!("no route for {method} {}", request.path)),
    };
    (answer, None)
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
fn parse_items(body: &[u8], kind: BodyKind) -> Result<Vec<Result<&RawValue, String>>, HttpResponse> {
    match kind {
        BodyKind::Json => {
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
        BodyKind::Ndjson => Ok(std::str::from_utf8(body)
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
        Err(e) => {
            return (
                format!("{ASSIGNED_ID_PREFIX}{index}"),
                Err(format!("record {index}: {e} (expected {{\"id\", \"key\", \"data\" or \"data_base64\"}})")),
            )
        }
    };
    let id = item.id.clone().unwrap_or_else(|| format!("{ASSIGNED_ID_PREFIX}{index}"));
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
    let kind = match body_kind(request, fanout.config().http.body_limit()) {
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
            Err(why) => (format!("{ASSIGNED_ID_PREFIX}{i}"), Err(format!("record {i}: {why}"))),
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
