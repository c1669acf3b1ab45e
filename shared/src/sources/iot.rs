//! IoT rule invocations: the rule's SQL SELECT result, any JSON value.
//!
//! An object is one record; an array is one record per element (any other
//! value is one record too). Records are named `<request id>-<index>`, which
//! Lambda keeps across its async retries, so message ids stay stable. The
//! topic (when the rule selects `topic()` into the field named by
//! `iot.topic_field`, default `topic`) and the client id (`iot.client_id_field`,
//! default `clientId`) are visible to patterns as `attributes.topic` and
//! `attributes.client_id`; the client id (else the topic) is the record's key.
//!
//! The invocation is asynchronous, so there is no partial answer: when a
//! record failed transiently the handler returns an error and Lambda's async
//! retries (and the on-failure destination) take over; records refused for
//! good go to `dead_letter`, or, without one, are logged with their id and
//! reason and the handler returns an error.

pub mod config;
pub use config::IotSourceConfig;

use super::Decoded;
use super::{into_diagnostic, ErrorType};
use crate::error::ErrorClass;
use crate::fanout::Fanout;
use crate::record::{Record, RecordId};
use crate::report::{DestinationOutcome, RecordStatus, Report};
use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::SystemTime;

/// The `source` field patterns see.
pub const SOURCE: &str = "iot";

/// What a successful invocation returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IotSummary {
    /// Records in the event.
    pub records: usize,
    /// Delivered everywhere they were routed.
    pub delivered: usize,
    /// Refused for good and dead-lettered.
    pub dead_lettered: usize,
    /// Taken by no route.
    pub unrouted: usize,
}

/// Why the invocation failed, so Lambda retries it (or sends it to the on-failure destination).
#[derive(Debug, thiserror::Error)]
pub enum IotHandlerError {
    /// The event is not JSON text (never from Lambda; from a hand-made file) (`errorType` `EventNotJson`).
    #[error("the event is not JSON: {0}")]
    NotJson(String),
    /// Some records failed transiently: a retry may deliver them (`errorType` `RecordsNotDelivered`).
    #[error("{} of {total} records not delivered yet (transient); retry: {}", failed.len(), failed.join(", "))]
    Transient {
        /// Ids of the failed records.
        failed: Vec<String>,
        /// Records in the event.
        total: usize,
    },
    /// Some records were refused for good and there is no dead_letter destination (`errorType` `RecordsRefused`).
    #[error("{} of {total} records refused for good and no dead_letter is configured: {}", failed.len(), failed.join("; "))]
    Permanent {
        /// `id: reason` of each refused record.
        failed: Vec<String>,
        /// Records in the event.
        total: usize,
    },
}

impl ErrorType for IotHandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            IotHandlerError::NotJson(_) => "EventNotJson",
            IotHandlerError::Transient { .. } => "RecordsNotDelivered",
            IotHandlerError::Permanent { .. } => "RecordsRefused",
        }
    }
}

into_diagnostic!(IotHandlerError);

/// Decode a rule's SELECT result, given as its JSON text. Each record's
/// payload is its element's text as written (a slice of `event`, not a
/// copy). An element that fanout does not read as JSON (nested
/// [`crate::projection::MAX_JSON_DEPTH`] levels or deeper, or holding a number beyond `f64`) is a
/// record like any other, whose payload no content pattern matches; it is
/// never a reason to fail the others. `Err` only when `event` is not JSON
/// text at all (Lambda never sends that).
pub fn decode(event: Bytes, request_id: &str, config: &IotSourceConfig) -> Result<Decoded, IotHandlerError> {
    let topic_field = config.topic_field.as_deref().unwrap_or("topic");
    let client_field = config.client_id_field.as_deref().unwrap_or("clientId");
    let mut fields = vec![topic_field.to_owned(), client_field.to_owned()];
    fields.sort();
    let text = std::str::from_utf8(&event).map_err(|e| IotHandlerError::NotJson(format!("not UTF-8: {e}")))?;
    let elements: Vec<&str> = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(text)
            .map_err(|e| IotHandlerError::NotJson(e.to_string()))?
            .into_iter()
            .map(RawValue::get)
            .collect(),
        _ => vec![serde_json::from_str::<&RawValue>(text).map_err(|e| IotHandlerError::NotJson(e.to_string()))?.get()],
    };
    let records = elements
        .into_iter()
        .enumerate()
        .map(|(i, element)| {
            let data = event.slice_ref(element.as_bytes());
            let view = crate::projection::parse_projected(&data, &fields);
            let text = |field: &str| view.as_ref().and_then(|v| v.get(field)).and_then(Value::as_str).map(str::to_owned);
            let (topic, client_id) = (text(topic_field), text(client_field));
            let mut attributes = Map::new();
            attributes.insert("topic".into(), topic.clone().map_or(Value::Null, Value::String));
            attributes.insert("client_id".into(), client_id.clone().map_or(Value::Null, Value::String));
            let mut record = Record::new(RecordId::new(format!("{request_id}-{i}")), SOURCE, data).with_attributes(Arc::new(attributes));
            record.key = client_id.or(topic);
            record
        })
        .collect();
    Ok(Decoded { records, rejects: Vec::new() })
}

/// The answer: a summary, or the error that makes Lambda retry.
pub fn respond(records: &[Record], report: &Report) -> Result<IotSummary, IotHandlerError> {
    let total = records.len();
    let mut transient = Vec::new();
    let mut permanent = Vec::new();
    for i in report.failed() {
        let id = records[i].id.to_string();
        let errors: Vec<_> = report
            .outcomes_of(i)
            .filter_map(|(dest, o)| match o {
                DestinationOutcome::Failed(e) => Some((dest.to_owned(), e.clone())),
                _ => None,
            })
            .collect();
        if errors.iter().any(|(_, e)| e.class == ErrorClass::Transient) {
            transient.push(id);
        } else {
            for (dest, e) in &errors {
                tracing::error!(record = %id, destination = %dest, code = %e.code, reason = %e.message, "record refused for good; no dead_letter destination");
            }
            let reasons: Vec<String> = errors.iter().map(|(d, e)| format!("{d}: {}: {}", e.code, e.message)).collect();
            permanent.push(format!("{id}: {}", reasons.join(", ")));
        }
    }
    if !transient.is_empty() {
        return Err(IotHandlerError::Transient { failed: transient, total });
    }
    if !permanent.is_empty() {
        return Err(IotHandlerError::Permanent { failed: permanent, total });
    }
    Ok(IotSummary {
        records: total,
        delivered: report.count(RecordStatus::Delivered),
        dead_lettered: report.count(RecordStatus::DeadLettered),
        unrouted: report.count(RecordStatus::Unrouted),
    })
}

/// One invocation with everything it did.
#[derive(Debug)]
pub struct Invocation {
    /// The decoded records.
    pub records: Vec<Record>,
    /// What happened to each.
    pub report: Report,
    /// What the Lambda function returns.
    pub response: Result<IotSummary, IotHandlerError>,
}

/// Decode, route and deliver, respond. `event` is the rule's SELECT result as JSON text.
pub async fn invoke(fanout: &Fanout, event: Bytes, request_id: &str, lambda_deadline: SystemTime) -> Invocation {
    let started = std::time::Instant::now();
    let records = match decode(event, request_id, &fanout.config().iot) {
        Ok(decoded) => decoded.records,
        Err(e) => return Invocation { records: Vec::new(), report: Report::empty(0), response: Err(e) },
    };
    let report = fanout.process(&records, fanout.stop_at(lambda_deadline)).await;
    let response = respond(&records, &report);
    crate::metrics::observe(fanout, "iot", &records, &report, started, crate::metrics::BatchAge::None);
    Invocation { records, report, response }
}

/// The IoT function's handler.
pub async fn handle(fanout: &Fanout, event: Bytes, request_id: &str, lambda_deadline: SystemTime) -> Result<IotSummary, IotHandlerError> {
    invoke(fanout, event, request_id, lambda_deadline).await.response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ItemError;
    use crate::report::DestinationReport;
    use serde_json::json;

    fn decode(event: Value, request_id: &str, config: &IotSourceConfig) -> Vec<Record> {
        super::decode(Bytes::from(event.to_string()), request_id, config).expect("JSON").records
    }

    #[test]
    fn an_object_is_one_record_and_an_array_one_per_element() {
        let one = decode(json!({"temperature": 1, "topic": "plant/a/t", "clientId": "sensor-1"}), "req-1", &IotSourceConfig::default());
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].id.to_string(), "req-1-0");
        assert_eq!(one[0].attributes.get("topic"), Some(&json!("plant/a/t")));
        assert_eq!(one[0].key.as_deref(), Some("sensor-1"));
        let many = decode(json!([{"a": 1}, {"a": 2}, 3]), "req-2", &IotSourceConfig::default());
        assert_eq!(many.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(), ["req-2-0", "req-2-1", "req-2-2"]);
        assert_eq!(&many[2].data[..], b"3");
        let custom = IotSourceConfig { topic_field: Some("t".into()), client_id_field: Some("c".into()) };
        let r = decode(json!({"t": "x/y", "c": "dev"}), "r", &custom);
        assert_eq!((r[0].attributes.get("topic"), r[0].key.as_deref()), (Some(&json!("x/y")), Some("dev")));
    }

    fn report_with(outcomes: Vec<(u32, DestinationOutcome)>, n: usize) -> Report {
        let mut report = Report::empty(n);
        for (i, o) in &outcomes {
            if matches!(o, DestinationOutcome::Failed(_)) {
                report.status[*i as usize] = RecordStatus::Failed;
            }
        }
        report.destinations.push(DestinationReport {
            name: "d".into(),
            kind: Some(crate::destinations::Kind::Firehose),
            outcomes,
            stats: Default::default(),
            dead_letter_stats: Default::default(),
            tally: None,
        });
        report
    }

    #[test]
    fn transient_failures_are_an_error_so_lambda_retries() {
        let records = decode(json!([{}, {}]), "r", &IotSourceConfig::default());
        let report =
            report_with(vec![(0, DestinationOutcome::Delivered), (1, DestinationOutcome::Failed(ItemError::transient("Throttling", "slow")))], 2);
        match respond(&records, &report) {
            Err(IotHandlerError::Transient { failed, total }) => assert_eq!((failed, total), (vec!["r-1".to_owned()], 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn permanent_failures_without_dead_letter_are_an_error_naming_record_and_reason() {
        let records = decode(json!({}), "r", &IotSourceConfig::default());
        let report = report_with(vec![(0, DestinationOutcome::Failed(ItemError::permanent("InvalidFieldName", "field `a-b`")))], 1);
        let err = respond(&records, &report).unwrap_err().to_string();
        assert!(err.contains("r-0") && err.contains("InvalidFieldName") && err.contains("field `a-b`"), "{err}");
    }

    #[test]
    fn success_summarises() {
        let records = decode(json!([{}, {}]), "r", &IotSourceConfig::default());
        let report = report_with(vec![(0, DestinationOutcome::Delivered), (1, DestinationOutcome::DeadLettered(ItemError::permanent("X", "y")))], 2);
        let mut report = report;
        report.status[1] = RecordStatus::DeadLettered;
        assert_eq!(respond(&records, &report).expect("ok"), IotSummary { records: 2, delivered: 1, dead_lettered: 1, unrouted: 0 });
    }
}
