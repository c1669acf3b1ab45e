//! Kinesis stream events (`KinesisEvent`) and their partial batch response.
//!
//! With `FunctionResponseTypes: [ReportBatchItemFailures]`, the function
//! answers `{"batchItemFailures":[{"itemIdentifier":"<sequenceNumber>"}]}`.
//! fanout names every failed record (each sequence number once, in batch
//! order). Lambda checkpoints before the lowest one and replays the batch from
//! there, so records after it that did succeed are delivered again: delivery
//! is at least once, and duplicates arise only from such replays.

use super::kpl;
use crate::fanout::{Fanout, Report};
use crate::record::{Record, RecordId};
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::SystemTime;

/// The `source` field patterns see.
pub const SOURCE: &str = "kinesis";

/// Why the handler could not answer with a partial batch response. Lambda
/// then retries the whole batch, so nothing is lost.
#[derive(Debug, thiserror::Error)]
pub enum KinesisHandlerError {
    /// A failed record has no sequence number to report it by.
    #[error("record {index} failed but has no sequence number to report; failing the whole batch so Lambda retries it")]
    Unreportable {
        /// Its position in the batch.
        index: usize,
    },
}

/// A Kinesis event as Lambda delivers it, reading only the fields fanout
/// uses: the same JSON as [`KinesisEvent`], but the fields no route or
/// response needs (`eventSource`, `eventName`, `invokeIdentityArn`, ...) are
/// skipped instead of allocated, `data` is base64-decoded straight from the
/// event text, and the arrival time stays a number. `kinesis-fanout` takes
/// this type; [`KinesisEvent`] converts into it without copying payloads.
#[derive(Debug, Default, serde::Deserialize)]
pub struct KinesisBatch {
    /// The records, in shard order.
    #[serde(rename = "Records", default)]
    pub records: Vec<KinesisBatchRecord>,
}

/// One record of a [`KinesisBatch`].
#[derive(Debug, serde::Deserialize)]
pub struct KinesisBatchRecord {
    /// The shard, from `eventID` (`shardId-...:sequenceNumber`). The three
    /// fields below are the same for a whole batch, so each distinct value is
    /// allocated once and shared ([`interned`]).
    #[serde(rename = "eventID", default, deserialize_with = "interned_shard")]
    pub shard_id: Option<Arc<str>>,
    /// `eventSourceARN`.
    #[serde(rename = "eventSourceARN", default, deserialize_with = "interned_arn")]
    pub event_source_arn: Option<Arc<str>>,
    /// `awsRegion`.
    #[serde(rename = "awsRegion", default, deserialize_with = "interned_region")]
    pub aws_region: Option<Arc<str>>,
    /// The `kinesis` part.
    pub kinesis: KinesisBatchData,
}

/// The `kinesis` part of a [`KinesisBatchRecord`].
#[derive(Debug, serde::Deserialize)]
pub struct KinesisBatchData {
    /// `partitionKey`.
    #[serde(rename = "partitionKey", default)]
    pub partition_key: String,
    /// `sequenceNumber`.
    #[serde(rename = "sequenceNumber")]
    pub sequence_number: String,
    /// `data`, decoded from base64.
    #[serde(deserialize_with = "base64_data")]
    pub data: Vec<u8>,
    /// `approximateArrivalTimestamp`, seconds since the epoch (a number, or a
    /// number in a string).
    #[serde(rename = "approximateArrivalTimestamp", default, deserialize_with = "epoch_seconds")]
    pub approximate_arrival_timestamp: f64,
}

/// Base64 text to bytes, without an intermediate `String` when the text is borrowed.
fn base64_data<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("base64 text")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<u8>, E> {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(s).map_err(E::custom)
        }
    }
    d.deserialize_str(Visitor)
}

thread_local! {
    /// The last shard, ARN and region read on this thread.
    static LAST: std::cell::RefCell<[Option<Arc<str>>; 3]> = const { std::cell::RefCell::new([None, None, None]) };
}

/// A string field that repeats across a batch: the previous value on this
/// thread is shared when the text is the same (no allocation), else the new
/// text is allocated once and remembered. `shard` keeps only what comes
/// before `:` (an `eventID`'s shard).
fn interned<'de, D: serde::Deserializer<'de>>(d: D, slot: usize, shard: bool) -> Result<Option<Arc<str>>, D::Error> {
    struct Visitor(usize, bool);
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<Arc<str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            let text = if self.1 { s.split_once(':').map(|(shard, _)| shard) } else { Some(s) };
            Ok(text.map(|text| {
                LAST.with_borrow_mut(|last| match &last[self.0] {
                    Some(prev) if &**prev == text => Arc::clone(prev),
                    _ => {
                        let new: Arc<str> = Arc::from(text);
                        last[self.0] = Some(Arc::clone(&new));
                        new
                    }
                })
            }))
        }
    }
    d.deserialize_any(Visitor(slot, shard))
}

fn interned_shard<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
    interned(d, 0, true)
}

fn interned_arn<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
    interned(d, 1, false)
}

fn interned_region<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
    interned(d, 2, false)
}

/// Seconds since the epoch as a number or a numeric string, read as one
/// `f64` (aws_lambda_events 1.2 reads `1795323606.5` as 5 ms past the second,
/// not 500; this reads it as written).
fn epoch_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("seconds since the epoch")
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<f64, E> {
            s.trim().parse().map_err(E::custom)
        }
    }
    d.deserialize_any(Visitor)
}

impl From<KinesisEvent> for KinesisBatch {
    fn from(event: KinesisEvent) -> Self {
        let records = event
            .records
            .into_iter()
            .map(|r| KinesisBatchRecord {
                shard_id: r.event_id.as_deref().and_then(|id| id.split_once(':')).map(|(shard, _)| Arc::from(shard)),
                event_source_arn: r.event_source_arn.map(Arc::from),
                aws_region: r.aws_region.map(Arc::from),
                kinesis: KinesisBatchData {
                    partition_key: r.kinesis.partition_key,
                    sequence_number: r.kinesis.sequence_number,
                    data: r.kinesis.data.0,
                    approximate_arrival_timestamp: r.kinesis.approximate_arrival_timestamp.0.timestamp_millis() as f64 / 1000.0,
                },
            })
            .collect();
        KinesisBatch { records }
    }
}

/// Decode a Kinesis event ([`decode_batch`] on its fields).
pub fn decode(event: KinesisEvent) -> Vec<Record> {
    decode_batch(KinesisBatch::from(event))
}

/// Decode a Kinesis event. Payloads are moved, not copied. KPL aggregates
/// ([`super::kpl`]) become one record per user record, each with its own
/// partition key and the identity (sequence number, sub-sequence number);
/// their failures are reported through the parent's sequence number. Attributes visible
/// to patterns: `event_source_arn`, `aws_region`, `shard_id` (shared by the
/// records of one batch, so built once per distinct value).
pub fn decode_batch(event: KinesisBatch) -> Vec<Record> {
    let mut shared: Option<Arc<Map<String, Value>>> = None;
    let mut out = Vec::with_capacity(event.records.len());
    for r in event.records {
        let record = {
            let shard_id = r.shard_id.as_deref();
            let attributes = match &shared {
                Some(a) if same_attributes(a, r.event_source_arn.as_deref(), r.aws_region.as_deref(), shard_id) => Arc::clone(a),
                _ => {
                    let mut m = Map::new();
                    m.insert("event_source_arn".into(), r.event_source_arn.as_deref().map_or(Value::Null, |s| Value::String(s.to_owned())));
                    m.insert("aws_region".into(), r.aws_region.as_deref().map_or(Value::Null, |s| Value::String(s.to_owned())));
                    m.insert("shard_id".into(), shard_id.map_or(Value::Null, |s| Value::String(s.to_owned())));
                    let a = Arc::new(m);
                    shared = Some(Arc::clone(&a));
                    a
                }
            };
            let k = r.kinesis;
            let data = Bytes::from(k.data);
            let arrival = (k.approximate_arrival_timestamp * 1000.0).round() as i64;
            if let Some(subs) = kpl::deaggregate(&data) {
                for (i, sub) in subs.into_iter().enumerate() {
                    let id = RecordId { source_id: k.sequence_number.clone(), sub_sequence: Some(i as u32) };
                    out.push(
                        Record::new(id, SOURCE, sub.data)
                            .with_key(sub.partition_key)
                            .with_arrival_ms(arrival)
                            .with_attributes(Arc::clone(&attributes)),
                    );
                }
                continue;
            }
            Record::new(RecordId::new(k.sequence_number), SOURCE, data).with_key(k.partition_key).with_arrival_ms(arrival).with_attributes(attributes)
        };
        out.push(record);
    }
    out
}

fn same_attributes(a: &Map<String, Value>, arn: Option<&str>, region: Option<&str>, shard: Option<&str>) -> bool {
    a.get("event_source_arn").and_then(Value::as_str) == arn
        && a.get("aws_region").and_then(Value::as_str) == region
        && a.get("shard_id").and_then(Value::as_str) == shard
}

/// The partial batch response: every failed record's sequence number, once,
/// in batch order; empty when all succeeded. Never a null or empty identifier.
pub fn respond(records: &[Record], report: &Report) -> Result<KinesisEventResponse, KinesisHandlerError> {
    let ids = super::failed_ids(records, report).map_err(|index| KinesisHandlerError::Unreportable { index })?;
    let mut response = KinesisEventResponse::default();
    for id in ids {
        let mut failure = KinesisBatchItemFailure::default();
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
    pub response: Result<KinesisEventResponse, KinesisHandlerError>,
}

/// Decode, route and deliver, respond; keep the records and the report.
pub async fn invoke(fanout: &Fanout, event: KinesisEvent, lambda_deadline: SystemTime) -> Invocation {
    invoke_batch(fanout, event.into(), lambda_deadline).await
}

/// [`invoke`] on a [`KinesisBatch`].
pub async fn invoke_batch(fanout: &Fanout, event: KinesisBatch, lambda_deadline: SystemTime) -> Invocation {
    let records = decode_batch(event);
    let report = fanout.process(&records, fanout.stop_at(lambda_deadline)).await;
    let response = respond(&records, &report);
    Invocation { records, report, response }
}

/// The Kinesis function's handler: decode, route and deliver, respond.
pub async fn handle(fanout: &Fanout, event: KinesisEvent, lambda_deadline: SystemTime) -> Result<KinesisEventResponse, KinesisHandlerError> {
    invoke(fanout, event, lambda_deadline).await.response
}

/// [`handle`] on a [`KinesisBatch`]: what `kinesis-fanout` runs.
pub async fn handle_batch(fanout: &Fanout, event: KinesisBatch, lambda_deadline: SystemTime) -> Result<KinesisEventResponse, KinesisHandlerError> {
    invoke_batch(fanout, event, lambda_deadline).await.response
}

#[cfg(test)]
mod tests;
