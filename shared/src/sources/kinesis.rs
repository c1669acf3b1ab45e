//! Kinesis stream events (`KinesisEvent`) and their partial batch response.
//!
//! With `FunctionResponseTypes: [ReportBatchItemFailures]`, the function
//! answers `{"batchItemFailures":[{"itemIdentifier":"<sequenceNumber>"}]}`.
//! fanout names every failed record (each sequence number once, in batch
//! order). Lambda checkpoints before the lowest one and replays the batch from
//! there, so records after it that did succeed are delivered again: delivery
//! is at least once, and duplicates arise only from such replays.

use super::kpl;
use super::loose::{epoch_seconds, read_object, Key, Loose, ObjectReader, Problem};
use super::{into_diagnostic, ErrorType, UnreportableRecord};
use super::{Decoded, INVALID_RECORD};
use crate::error::ItemError;
use crate::fanout::Fanout;
use crate::record::{Record, RecordId};
use crate::report::Report;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use serde::de::{IgnoredAny, MapAccess};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

/// The `source` field patterns see.
pub const SOURCE: &str = "kinesis";

/// Why the handler could not answer with a partial batch response. Lambda
/// then retries the whole batch, so nothing is lost.
#[derive(Debug, thiserror::Error)]
pub enum KinesisHandlerError {
    /// A failed record has no sequence number to report it by (`errorType` `UnreportableRecord`).
    #[error(transparent)]
    Unreportable(#[from] UnreportableRecord),
    /// The event has no `Records`: it is not a Kinesis event (`errorType` `NotKinesisEvent`).
    #[error("not a Kinesis event: it has no `Records` array")]
    NotKinesis,
}

impl ErrorType for KinesisHandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            KinesisHandlerError::Unreportable(_) => "UnreportableRecord",
            KinesisHandlerError::NotKinesis => "NotKinesisEvent",
        }
    }
}

into_diagnostic!(KinesisHandlerError);

/// A Kinesis event as Lambda delivers it, reading only the fields fanout
/// uses: the same JSON as [`KinesisEvent`], but the fields no route or
/// response needs (`eventSource`, `eventName`, `invokeIdentityArn`, ...) are
/// skipped instead of allocated, `data` is base64-decoded straight from the
/// event text, and the arrival time stays a number. `kinesis-fanout` takes
/// this type; [`KinesisEvent`] converts into it without copying payloads.
///
/// Reading never fails because of one record: a record with a field of the
/// wrong type, `data` that is not base64 or a missing sequence number is
/// kept with its [`Problem`] (the first one found, with the field's path),
/// and [`decode_batch`] turns it into a permanent failure of that record.
/// Only text that is not JSON, or `Records` that is not an array, fails the
/// whole event; an event without `Records` reads as `records: None`, which
/// the handler refuses.
#[derive(Debug, Default, serde::Deserialize)]
pub struct KinesisBatch {
    /// The records, in shard order; `None` when the event has no `Records`.
    #[serde(rename = "Records", default)]
    pub records: Option<Vec<KinesisBatchRecord>>,
}

/// One record of a [`KinesisBatch`].
#[derive(Debug, Default)]
pub struct KinesisBatchRecord {
    /// The shard, from `eventID` (`shardId-...:sequenceNumber`). The three
    /// fields below are the same for a whole batch, so each distinct value is
    /// allocated once and shared (`interned`).
    pub shard_id: Option<Arc<str>>,
    /// `eventSourceARN`: the stream the record came from (patterns see it as `attributes.eventSourceARN`).
    pub event_source_arn: Option<Arc<str>>,
    /// `awsRegion`: the stream's region (patterns see it as `attributes.awsRegion`).
    pub aws_region: Option<Arc<str>>,
    /// The `kinesis` part.
    pub kinesis: KinesisBatchData,
    /// The first thing wrong with this record, if any.
    pub problem: Problem,
}

/// The `kinesis` part of a [`KinesisBatchRecord`].
#[derive(Debug, Default)]
pub struct KinesisBatchData {
    /// `partitionKey` (empty when absent).
    pub partition_key: String,
    /// `sequenceNumber` (empty when absent, which is a problem).
    pub sequence_number: String,
    /// `data`, decoded from base64; when it is not base64, the text as written.
    pub data: Bytes,
    /// `approximateArrivalTimestamp`, seconds since the epoch (a number, or a
    /// number in a string); `None` when absent.
    pub approximate_arrival_timestamp: Option<f64>,
}

/// The size of the chunks decoded payloads are written into, back to back.
const PAYLOAD_CHUNK_BYTES: usize = 512 * 1024;

thread_local! {
    /// The rest of the chunk this thread decodes payloads into.
    static PAYLOADS: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// `data` decoded: with the SIMD decoder the SDK uses (several times faster
/// on the bytes every invocation carries), and when that refuses the text,
/// with the `base64` crate, whose error says what and where.
///
/// Payloads are written back to back into chunks of [`PAYLOAD_CHUNK_BYTES`]
/// (or one payload's size, when larger), each payload a [`Bytes`] slice of
/// its chunk: decoding a record allocates nothing of its own, and neither
/// does each request entry that shares the payload (a `Bytes` of its own
/// would allocate its shared header on its first clone). A chunk is freed
/// when the last record in it is dropped; the thread keeps the rest of the
/// current one for the next invocation.
fn decode_base64(text: &str) -> Result<Bytes, base64::DecodeError> {
    let simd = base64_simd::STANDARD;
    let decoded = simd.decoded_length(text.as_bytes()).ok().and_then(|len| {
        PAYLOADS.with_borrow_mut(|chunk| {
            if chunk.capacity() < len {
                *chunk = BytesMut::with_capacity(len.max(PAYLOAD_CHUNK_BYTES));
            }
            chunk.resize(len, 0);
            match simd.decode(text.as_bytes(), base64_simd::Out::from_slice(&mut chunk[..])) {
                Ok(_) => Some(chunk.split().freeze()),
                Err(_) => {
                    chunk.clear();
                    None
                }
            }
        })
    });
    match decoded {
        Some(bytes) => Ok(bytes),
        None => base64::engine::general_purpose::STANDARD.decode(text).map(Bytes::from),
    }
}

impl<'de> serde::Deserialize<'de> for KinesisBatchRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_object(d, RecordReader)
    }
}

struct RecordReader;

impl<'de> ObjectReader<'de> for RecordReader {
    type Out = KinesisBatchRecord;

    fn fields<A: MapAccess<'de>>(self, mut map: A) -> Result<KinesisBatchRecord, A::Error> {
        let mut r = KinesisBatchRecord::default();
        let mut has_kinesis = false;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let (slot, shard) = match &*key {
                "eventID" => (0, true),
                "eventSourceARN" => (1, false),
                "awsRegion" => (2, false),
                "kinesis" => {
                    let (data, problem) = map.next_value::<DataPart>()?.0;
                    r.kinesis = data;
                    r.problem.absorb("kinesis", problem);
                    has_kinesis = true;
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            match map.next_value::<Loose<'de>>()?.optional_string("a string") {
                Ok(text) => {
                    let value = text.map(|t| interned(slot, if shard { t.split_once(':').map_or(&*t, |(s, _)| s) } else { &t }));
                    match slot {
                        0 => r.shard_id = value,
                        1 => r.event_source_arn = value,
                        _ => r.aws_region = value,
                    }
                }
                Err(why) => r.problem.note(&key, why),
            }
        }
        if !has_kinesis {
            r.problem.note("kinesis", "missing");
        }
        Ok(r)
    }

    fn not_object(self, kind: &'static str) -> KinesisBatchRecord {
        let mut r = KinesisBatchRecord::default();
        r.problem.note("(record)", format!("expected an object, found {kind}"));
        r
    }
}

/// The `kinesis` part, with the first problem found in it.
struct DataPart((KinesisBatchData, Problem));

impl<'de> serde::Deserialize<'de> for DataPart {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_object(d, DataReader).map(DataPart)
    }
}

struct DataReader;

impl<'de> ObjectReader<'de> for DataReader {
    type Out = (KinesisBatchData, Problem);

    fn fields<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut k = KinesisBatchData::default();
        let mut problem = Problem::default();
        let (mut has_sequence, mut has_data) = (false, false);
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match &*key {
                "partitionKey" => match map.next_value::<Loose<'de>>()?.optional_string("a string") {
                    Ok(text) => k.partition_key = text.map(Cow::into_owned).unwrap_or_default(),
                    Err(why) => problem.note("partitionKey", why),
                },
                "sequenceNumber" => {
                    has_sequence = true;
                    match map.next_value::<Loose<'de>>()?.string("a string") {
                        Ok(text) if text.is_empty() => problem.note("sequenceNumber", "must not be empty"),
                        Ok(text) => k.sequence_number = text.into_owned(),
                        Err(why) => problem.note("sequenceNumber", why),
                    }
                }
                "data" => {
                    has_data = true;
                    match map.next_value::<Loose<'de>>()?.string("base64 text") {
                        Ok(text) => match decode_base64(&text) {
                            Ok(bytes) => k.data = bytes,
                            Err(e) => {
                                problem.note("data", format_args!("not base64 ({e})"));
                                k.data = Bytes::from(text.into_owned().into_bytes());
                            }
                        },
                        Err(why) => problem.note("data", why),
                    }
                }
                "approximateArrivalTimestamp" => match epoch_seconds(map.next_value::<Loose<'de>>()?) {
                    Ok(seconds) => k.approximate_arrival_timestamp = Some(seconds),
                    Err(why) => problem.note("approximateArrivalTimestamp", why),
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !has_sequence {
            problem.note("sequenceNumber", "missing");
        }
        if !has_data {
            problem.note("data", "missing");
        }
        Ok((k, problem))
    }

    fn not_object(self, kind: &'static str) -> Self::Out {
        let mut problem = Problem::default();
        problem.note("(part)", format!("expected an object, found {kind}"));
        (KinesisBatchData::default(), problem)
    }
}

thread_local! {
    /// The last shard, ARN and region read on this thread.
    static LAST: std::cell::RefCell<[Option<Arc<str>>; 3]> = const { std::cell::RefCell::new([None, None, None]) };
}

/// A string that repeats across a batch (`slot` 0: shard, 1: ARN, 2:
/// region): the previous value on this thread is shared when the text is the
/// same (no allocation), else the new text is allocated once and remembered.
fn interned(slot: usize, text: &str) -> Arc<str> {
    LAST.with_borrow_mut(|last| match &last[slot] {
        Some(prev) if &**prev == text => Arc::clone(prev),
        _ => {
            let new: Arc<str> = Arc::from(text);
            last[slot] = Some(Arc::clone(&new));
            new
        }
    })
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
                    data: Bytes::from(r.kinesis.data.0),
                    approximate_arrival_timestamp: Some(r.kinesis.approximate_arrival_timestamp.0.timestamp_millis() as f64 / 1000.0),
                },
                problem: Problem::default(),
            })
            .collect();
        KinesisBatch { records: Some(records) }
    }
}

/// Decode a Kinesis event ([`decode_batch`] on its fields).
pub fn decode(event: KinesisEvent) -> Decoded {
    decode_batch(KinesisBatch::from(event))
}

/// Decode a Kinesis event. Payloads are moved, not copied. KPL aggregates
/// ([`super::kpl`]) become one record per user record, each with its own
/// partition key and the identity (sequence number, sub-sequence number);
/// their failures are reported through the parent's sequence number. Attributes visible
/// to patterns: `event_source_arn`, `aws_region`, `shard_id` (shared by the
/// records of one batch, so built once per distinct value).
///
/// A record with a [`Problem`] becomes one record with what could be read of
/// it (its payload as written when `data` is not base64) and a permanent
/// `InvalidRecord` error naming its place (`Records[17].kinesis.data: not
/// base64 (...)`). An event without `Records` decodes as no records.
pub fn decode_batch(event: KinesisBatch) -> Decoded {
    let batch = event.records.unwrap_or_default();
    let mut shared: Option<Arc<Map<String, Value>>> = None;
    let mut out = Decoded { records: Vec::with_capacity(batch.len()), rejects: Vec::new() };
    for (position, r) in batch.into_iter().enumerate() {
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
        let mut record = Record::new(RecordId::new(k.sequence_number), SOURCE, k.data).with_key(k.partition_key).with_attributes(attributes);
        record.arrival_ms = k.approximate_arrival_timestamp.map(|s| (s * 1000.0).round() as i64);
        if let Some(problem) = r.problem.get() {
            let why = format!("Records[{position}].{problem}");
            tracing::warn!(record = %record.id, position, problem = %why, "record cannot be decoded");
            out.rejects.push((out.records.len() as u32, ItemError::permanent(INVALID_RECORD, why)));
            out.records.push(record);
            continue;
        }
        match kpl::deaggregate(&record.data) {
            Some(subs) => {
                for (i, sub) in subs.into_iter().enumerate() {
                    let id = RecordId { source_id: record.id.source_id.clone(), sub_sequence: Some(i as u32) };
                    let mut sub_record =
                        Record::new(id, SOURCE, sub.data).with_key(sub.partition_key).with_attributes(Arc::clone(&record.attributes));
                    sub_record.arrival_ms = record.arrival_ms;
                    out.records.push(sub_record);
                }
            }
            None => out.records.push(record),
        }
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
    let mut response = KinesisEventResponse::default();
    for id in super::failed_sequence_numbers(records, report)? {
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

/// [`invoke`] on a [`KinesisBatch`]. An event without `Records` is refused
/// ([`KinesisHandlerError::NotKinesis`]) without sending anything.
pub async fn invoke_batch(fanout: &Fanout, event: KinesisBatch, lambda_deadline: SystemTime) -> Invocation {
    let started = std::time::Instant::now();
    if event.records.is_none() {
        return Invocation { records: Vec::new(), report: Report::empty(0), response: Err(KinesisHandlerError::NotKinesis) };
    }
    let Decoded { records, rejects } = decode_batch(event);
    let report = fanout.process_with_rejects(&records, rejects, fanout.stop_at(lambda_deadline)).await;
    let response = respond(&records, &report);
    crate::metrics::observe(fanout, "kinesis", &records, &report, started, crate::metrics::BatchAge::FirstRecord);
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
