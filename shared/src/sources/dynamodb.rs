//! DynamoDB Streams events and their partial batch response.
//!
//! Each stream record becomes one record whose payload is a plain JSON
//! object built from the change (DynamoDB's typed JSON converted by
//! [`plain`]):
//!
//! ```json
//! {"eventName": "MODIFY", "eventID": "...", "tableName": "devices",
//!  "keys": {"deviceId": "sensor-001"},
//!  "newImage": {"deviceId": "sensor-001", "status": "FAILED", ...},
//!  "oldImage": {"deviceId": "sensor-001", "status": "ACTIVE", ...},
//!  "sequenceNumber": "...", "approximateCreationDateTime": 1795323600,
//!  "sizeBytes": 145, "streamViewType": "NEW_AND_OLD_IMAGES",
//!  "eventSourceARN": "arn:aws:dynamodb:...:table/devices/stream/..."}
//! ```
//!
//! Images the stream view does not carry (and `oldImage` on INSERT,
//! `newImage` on REMOVE) are absent, not null; `userIdentity` appears on
//! deletions by TTL. The record's id is the sequence number, its key the
//! keys as compact JSON (`{"deviceId":"sensor-001"}`), its arrival time
//! `ApproximateCreationDateTime`; patterns also see `attributes`
//! `event_source_arn`, `aws_region` and `table_name`.
//!
//! With `FunctionResponseTypes: [ReportBatchItemFailures]` the function
//! answers like the Kinesis one (one helper, `sources::failed_sequence_numbers`, serves both):
//! every failed record's sequence number once, in batch order; Lambda
//! replays the shard from the lowest one.

mod batch;
pub mod plain;

pub use batch::{DynamoDbBatch, DynamoDbBatchRecord, StreamChange};

use super::{into_diagnostic, ErrorType, UnreportableRecord};
use super::{Decoded, INVALID_RECORD};
use crate::error::ItemError;
use crate::fanout::Fanout;
use crate::record::{Record, RecordId};
use crate::report::Report;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::SystemTime;

/// The `source` field patterns see.
pub const SOURCE: &str = "dynamodb";

/// Why the handler could not answer with a partial batch response. Lambda
/// then retries the whole batch, so nothing is lost.
#[derive(Debug, thiserror::Error)]
pub enum DynamoDbHandlerError {
    /// A failed record has no sequence number to report it by (`errorType` `UnreportableRecord`).
    #[error(transparent)]
    Unreportable(#[from] UnreportableRecord),
    /// The event has no `Records`: it is not a DynamoDB Streams event (`errorType` `NotDynamoDbEvent`).
    #[error("not a DynamoDB Streams event: it has no `Records` array")]
    NotDynamoDb,
}

impl ErrorType for DynamoDbHandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            DynamoDbHandlerError::Unreportable(_) => "UnreportableRecord",
            DynamoDbHandlerError::NotDynamoDb => "NotDynamoDbEvent",
        }
    }
}

into_diagnostic!(DynamoDbHandlerError);

/// Decode a DynamoDB Streams event of `aws_lambda_events` ([`decode_batch`] on its fields).
pub fn decode(event: Event) -> Decoded {
    decode_batch(DynamoDbBatch::from(event))
}

/// Decode a DynamoDB Streams event: one record per stream record, its
/// payload the plain JSON object described in the module doc.
///
/// A record with a [`super::Problem`] (a field of the wrong type, no
/// sequence number, an image that is not DynamoDB JSON) is still a record,
/// with what could be read of it (an image that could not be converted is
/// kept as written), and a permanent `InvalidRecord` error naming its place
/// (`Records[2].dynamodb.NewImage.status.N: \`abc\` is not a number`). An
/// event without `Records` decodes as no records.
pub fn decode_batch(event: DynamoDbBatch) -> Decoded {
    let batch = event.records.unwrap_or_default();
    let mut shared: Option<Arc<Map<String, Value>>> = None;
    let mut out = Decoded { records: Vec::with_capacity(batch.len()), rejects: Vec::new() };
    for (position, r) in batch.into_iter().enumerate() {
        let table = r.event_source_arn.as_deref().and_then(table_name);
        let attributes = match &shared {
            Some(a) if same_attributes(a, r.event_source_arn.as_deref(), r.aws_region.as_deref()) => Arc::clone(a),
            _ => {
                let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.to_owned()));
                let mut m = Map::new();
                m.insert("event_source_arn".into(), text(r.event_source_arn.as_deref()));
                m.insert("aws_region".into(), text(r.aws_region.as_deref()));
                m.insert("table_name".into(), text(table));
                let a = Arc::new(m);
                shared = Some(Arc::clone(&a));
                a
            }
        };
        let key = r.change.keys.as_ref().map(Value::to_string);
        let arrival_ms = r.change.approximate_creation_date_time.map(|s| (s * 1000.0).round() as i64);
        let table = table.map(str::to_owned);
        let problem = r.problem.get().map(|p| format!("Records[{position}].{p}"));
        let sequence_number = r.change.sequence_number.clone();
        let data = Bytes::from(Value::Object(payload(r, table)).to_string());
        let mut record = Record::new(RecordId::new(sequence_number), SOURCE, data).with_attributes(attributes);
        record.key = key;
        record.arrival_ms = arrival_ms;
        if let Some(why) = problem {
            tracing::warn!(record = %record.id, position, problem = %why, "record cannot be decoded");
            out.rejects.push((out.records.len() as u32, ItemError::permanent(INVALID_RECORD, why)));
        }
        out.records.push(record);
    }
    out
}

/// The payload patterns see as `data` (the module doc's shape; absent
/// fields are left out).
fn payload(r: DynamoDbBatchRecord, table: Option<String>) -> Map<String, Value> {
    let c = r.change;
    let mut m = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            m.insert(name.to_owned(), v);
        }
    };
    put("eventName", Some(Value::String(r.event_name)));
    put("eventID", r.event_id.map(Value::String));
    put("tableName", table.map(Value::String));
    put("keys", c.keys);
    put("newImage", c.new_image);
    put("oldImage", c.old_image);
    put("sequenceNumber", Some(Value::String(c.sequence_number)));
    put("approximateCreationDateTime", c.approximate_creation_date_time.map(seconds));
    put("sizeBytes", c.size_bytes.map(Value::from));
    put("streamViewType", c.stream_view_type.map(Value::String));
    put("eventSourceARN", r.event_source_arn.map(Value::String));
    put("userIdentity", r.user_identity);
    m
}

/// Seconds as written: a whole number stays an integer.
fn seconds(s: f64) -> Value {
    if s.fract() == 0.0 && s.abs() < 9.0e15 {
        Value::from(s as i64)
    } else {
        Value::from(s)
    }
}

/// The table of a stream ARN (`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`).
pub fn table_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let name = resource.strip_prefix("table/")?.split('/').next()?;
    (!name.is_empty()).then_some(name)
}

fn same_attributes(a: &Map<String, Value>, arn: Option<&str>, region: Option<&str>) -> bool {
    a.get("event_source_arn").and_then(Value::as_str) == arn && a.get("aws_region").and_then(Value::as_str) == region
}

/// The partial batch response: every failed record's sequence number, once,
/// in batch order; empty when all succeeded. Never a null or empty identifier.
pub fn respond(records: &[Record], report: &Report) -> Result<DynamoDbEventResponse, DynamoDbHandlerError> {
    let mut response = DynamoDbEventResponse::default();
    for id in super::failed_sequence_numbers(records, report)? {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(id.to_owned());
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// One invocation with everything it did, for the local runner and tests.
#[derive(Debug)]
pub struct Invocation {
    /// The decoded records.
    pub records: Vec<Record>,
    /// What happened to each record at each destination.
    pub report: Report,
    /// Exactly what the Lambda function returns.
    pub response: Result<DynamoDbEventResponse, DynamoDbHandlerError>,
}

/// Decode, route and deliver, respond; keep the records and the report.
pub async fn invoke(fanout: &Fanout, event: Event, lambda_deadline: SystemTime) -> Invocation {
    invoke_batch(fanout, event.into(), lambda_deadline).await
}

/// [`invoke`] on a [`DynamoDbBatch`]. An event without `Records` is refused
/// ([`DynamoDbHandlerError::NotDynamoDb`]) without sending anything.
pub async fn invoke_batch(fanout: &Fanout, event: DynamoDbBatch, lambda_deadline: SystemTime) -> Invocation {
    let started = std::time::Instant::now();
    if event.records.is_none() {
        return Invocation { records: Vec::new(), report: Report::empty(0), response: Err(DynamoDbHandlerError::NotDynamoDb) };
    }
    let Decoded { records, rejects } = decode_batch(event);
    let report = fanout.process_with_rejects(&records, rejects, fanout.stop_at(lambda_deadline)).await;
    let response = respond(&records, &report);
    // A batch comes from one shard in stream order: the first record is the oldest.
    crate::metrics::observe(fanout, SOURCE, &records, &report, started, crate::metrics::BatchAge::FirstRecord);
    Invocation { records, report, response }
}

/// The DynamoDB Streams function's handler: decode, route and deliver, respond.
pub async fn handle(fanout: &Fanout, event: Event, lambda_deadline: SystemTime) -> Result<DynamoDbEventResponse, DynamoDbHandlerError> {
    invoke(fanout, event, lambda_deadline).await.response
}

/// [`handle`] on a [`DynamoDbBatch`]: what `dynamodb-fanout` runs.
pub async fn handle_batch(fanout: &Fanout, event: DynamoDbBatch, lambda_deadline: SystemTime) -> Result<DynamoDbEventResponse, DynamoDbHandlerError> {
    invoke_batch(fanout, event, lambda_deadline).await.response
}

#[cfg(test)]
mod tests;
