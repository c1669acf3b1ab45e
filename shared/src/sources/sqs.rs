//! SQS batches (`SqsEvent`), standard and FIFO, and their partial batch response.
//!
//! - The body is the payload (moved, not copied). With `sqs: { unwrap_sns: true }`
//!   an SNS-to-SQS envelope is unwrapped: the payload is its `Message`, and the
//!   SNS topic, subject and message attributes join the record's attributes
//!   (a body that is not an envelope is taken as it is). With
//!   `sqs: { base64_body: true }` the body is base64-decoded first; a body that
//!   does not decode is a permanent failure (dead-lettered or reported).
//! - Patterns see the system attributes under their AWS names
//!   (`MessageGroupId`, `SentTimestamp`, `ApproximateReceiveCount`, ...),
//!   `message_attributes` (string values, binary ones in base64),
//!   `event_source_arn`, and `sns` when unwrapped. `key` is the message group id.
//! - The answer names failed messages by `messageId` (`SqsBatchResponse`).
//! - FIFO queues (ARN ending in `.fifo`): each group's messages are sent in
//!   order, one wave per position: a message is sent only after the one
//!   before it in its group succeeded. After the first failure in a group,
//!   that message and every later message of the group are reported failed
//!   and not sent; other groups carry on.

pub mod config;
pub use config::SqsSourceConfig;

use super::loose::{read_object, Key, Loose, ObjectReader, Problem};
use super::{into_diagnostic, ErrorType, UnreportableRecord};
use super::{Decoded, INVALID_RECORD};
use crate::error::ItemError;
use crate::fanout::Fanout;
use crate::record::{Record, RecordId};
use crate::report::{DestinationOutcome, DestinationReport, RecordStatus, Report};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine as _;
use bytes::Bytes;
use serde::de::{IgnoredAny, MapAccess};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

/// The `source` field patterns see.
pub const SOURCE: &str = "sqs";
/// The pseudo-destination under which FIFO messages held back by an earlier failure appear.
pub const FIFO_BLOCKED: &str = "(fifo order)";

/// Why the handler could not answer with a partial batch response (Lambda retries the whole batch).
#[derive(Debug, thiserror::Error)]
pub enum SqsHandlerError {
    /// A failed message has no message id to report it by (`errorType` `UnreportableRecord`).
    #[error(transparent)]
    Unreportable(#[from] UnreportableRecord),
    /// The event has no `Records`: it is not an SQS event (`errorType` `NotSqsEvent`).
    #[error("not an SQS event: it has no `Records` array")]
    NotSqs,
}

impl ErrorType for SqsHandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            SqsHandlerError::Unreportable(_) => "UnreportableRecord",
            SqsHandlerError::NotSqs => "NotSqsEvent",
        }
    }
}

into_diagnostic!(SqsHandlerError);

/// An SQS event as Lambda delivers it, reading only the fields fanout uses
/// (the same JSON as [`SqsEvent`]). Reading never fails because of one
/// message: a field of the wrong type (a `body` that is a number, an
/// attribute that is not a string) or a missing `messageId` is kept as the
/// message's [`Problem`], and [`decode`] makes it a permanent failure of that
/// message alone. An event without `Records` reads as `records: None`, which
/// the handler refuses.
#[derive(Debug, Default, Deserialize)]
pub struct SqsBatch {
    /// The messages, in batch order; `None` when the event has no `Records`.
    #[serde(rename = "Records", default)]
    pub records: Option<Vec<SqsBatchMessage>>,
}

/// One message of an [`SqsBatch`].
#[derive(Debug, Default)]
pub struct SqsBatchMessage {
    /// `messageId` (empty when absent, which is a problem).
    pub message_id: String,
    /// `body` (empty when absent or null).
    pub body: String,
    /// `attributes` (system attributes: `MessageGroupId`, `SentTimestamp`, ...).
    pub attributes: Map<String, Value>,
    /// `messageAttributes`: each one's `stringValue`, or its `binaryValue` (base64) as written.
    pub message_attributes: Map<String, Value>,
    /// `eventSourceARN`: the queue the message came from (patterns see it as `attributes.eventSourceARN`).
    pub event_source_arn: Option<String>,
    /// The first thing wrong with this message, if any.
    pub problem: Problem,
}

impl From<SqsEvent> for SqsBatch {
    fn from(event: SqsEvent) -> Self {
        let records = event
            .records
            .into_iter()
            .map(|m| {
                let message_attributes = m
                    .message_attributes
                    .into_iter()
                    .map(|(k, a)| {
                        let v = a
                            .string_value
                            .map(Value::String)
                            .or_else(|| a.binary_value.as_ref().map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(&b.0))));
                        (k, v.unwrap_or(Value::Null))
                    })
                    .collect();
                let mut problem = Problem::default();
                if m.message_id.as_deref().is_none_or(str::is_empty) {
                    problem.note("messageId", "missing");
                }
                SqsBatchMessage {
                    message_id: m.message_id.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    attributes: m.attributes.into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
                    message_attributes,
                    event_source_arn: m.event_source_arn,
                    problem,
                }
            })
            .collect();
        SqsBatch { records: Some(records) }
    }
}

impl<'de> Deserialize<'de> for SqsBatchMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_object(d, MessageReader)
    }
}

struct MessageReader;

impl<'de> ObjectReader<'de> for MessageReader {
    type Out = SqsBatchMessage;

    fn fields<A: MapAccess<'de>>(self, mut map: A) -> Result<SqsBatchMessage, A::Error> {
        let mut m = SqsBatchMessage::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match &*key {
                "messageId" => match map.next_value::<Loose<'de>>()?.string("a string") {
                    Ok(id) if id.is_empty() => m.problem.note("messageId", "must not be empty"),
                    Ok(id) => m.message_id = id.into_owned(),
                    Err(why) => m.problem.note("messageId", why),
                },
                "body" => match map.next_value::<Loose<'de>>()?.optional_string("a string") {
                    Ok(body) => m.body = body.map(Cow::into_owned).unwrap_or_default(),
                    Err(why) => m.problem.note("body", why),
                },
                "eventSourceARN" => match map.next_value::<Loose<'de>>()?.optional_string("a string") {
                    Ok(arn) => m.event_source_arn = arn.map(Cow::into_owned),
                    Err(why) => m.problem.note("eventSourceARN", why),
                },
                "attributes" => {
                    let StringMap(attributes, problem) = map.next_value()?;
                    m.attributes = attributes;
                    m.problem.absorb("attributes", problem);
                }
                "messageAttributes" => {
                    let MessageAttributes(attributes, problem) = map.next_value()?;
                    m.message_attributes = attributes;
                    m.problem.absorb("messageAttributes", problem);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if m.message_id.is_empty() {
            m.problem.note("messageId", "missing");
        }
        Ok(m)
    }

    fn not_object(self, kind: &'static str) -> SqsBatchMessage {
        let mut m = SqsBatchMessage::default();
        m.problem.note("(message)", format!("expected an object, found {kind}"));
        m
    }
}

/// An object of string values (null taken as absent).
struct StringMap(Map<String, Value>, Problem);

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Reader;
        impl<'de> ObjectReader<'de> for Reader {
            type Out = StringMap;
            fn fields<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                let (mut out, mut problem) = (Map::new(), Problem::default());
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    match map.next_value::<Loose<'de>>()?.optional_string("a string") {
                        Ok(Some(v)) => {
                            out.insert(key.into_owned(), Value::String(v.into_owned()));
                        }
                        Ok(None) => {}
                        Err(why) => problem.note(&key, why),
                    }
                }
                Ok(StringMap(out, problem))
            }
            fn not_object(self, kind: &'static str) -> StringMap {
                let mut problem = Problem::default();
                problem.note("(value)", format!("expected an object, found {kind}"));
                StringMap(Map::new(), problem)
            }
        }
        read_object(d, Reader)
    }
}

/// `messageAttributes`: name to `{stringValue | binaryValue, dataType, ...}`.
struct MessageAttributes(Map<String, Value>, Problem);

impl<'de> Deserialize<'de> for MessageAttributes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Reader;
        impl<'de> ObjectReader<'de> for Reader {
            type Out = MessageAttributes;
            fn fields<A: MapAccess<'de>>(self, mut map: A) -> Result<MessageAttributes, A::Error> {
                let (mut out, mut problem) = (Map::new(), Problem::default());
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    let Attribute(value, inner) = map.next_value()?;
                    problem.absorb(&key, inner);
                    out.insert(key.into_owned(), value);
                }
                Ok(MessageAttributes(out, problem))
            }
            fn not_object(self, kind: &'static str) -> MessageAttributes {
                let mut problem = Problem::default();
                problem.note("(value)", format!("expected an object, found {kind}"));
                MessageAttributes(Map::new(), problem)
            }
        }
        read_object(d, Reader)
    }
}

/// One message attribute: its `stringValue`, else its `binaryValue` (base64,
/// as written), else null; the other fields (`dataType`, the list values)
/// are not read.
struct Attribute(Value, Problem);

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Reader;
        impl<'de> ObjectReader<'de> for Reader {
            type Out = Attribute;
            fn fields<A: MapAccess<'de>>(self, mut map: A) -> Result<Attribute, A::Error> {
                let (mut string, mut binary, mut problem) = (None, None, Problem::default());
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    let slot = match &*key {
                        "stringValue" => &mut string,
                        "binaryValue" => &mut binary,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    match map.next_value::<Loose<'de>>()?.optional_string("a string") {
                        Ok(v) => *slot = v.map(|v| Value::String(v.into_owned())),
                        Err(why) => problem.note(&key, why),
                    }
                }
                Ok(Attribute(string.or(binary).unwrap_or(Value::Null), problem))
            }
            fn not_object(self, kind: &'static str) -> Attribute {
                let mut problem = Problem::default();
                problem.note("(value)", format!("expected an object, found {kind}"));
                Attribute(Value::Null, problem)
            }
        }
        read_object(d, Reader)
    }
}

fn unwrap_sns(body: &str, attributes: &mut Map<String, Value>) -> Option<String> {
    let envelope: Value = serde_json::from_str(body).ok()?;
    if envelope.get("Type").and_then(Value::as_str) != Some("Notification") {
        return None;
    }
    let message = envelope.get("Message").and_then(Value::as_str)?.to_owned();
    let mut sns = Map::new();
    for field in ["TopicArn", "Subject", "MessageId", "Timestamp", "MessageAttributes"] {
        if let Some(v) = envelope.get(field) {
            sns.insert(field.to_owned(), v.clone());
        }
    }
    attributes.insert("sns".into(), Value::Object(sns));
    Some(message)
}

/// Decode an SQS event: every message, and the ones that could not be
/// decoded (a [`Problem`] in the event: `InvalidRecord` naming the field;
/// `sqs.base64_body` set and a body that is not base64: `InvalidBase64Body`).
pub fn decode(event: impl Into<SqsBatch>, config: &SqsSourceConfig) -> Decoded {
    let batch = event.into().records.unwrap_or_default();
    let mut out = Decoded { records: Vec::with_capacity(batch.len()), rejects: Vec::new() };
    for (index, m) in batch.into_iter().enumerate() {
        let mut attributes = m.attributes;
        let key = attributes.get("MessageGroupId").and_then(Value::as_str).map(str::to_owned);
        let arrival_ms = attributes.get("SentTimestamp").and_then(Value::as_str).and_then(|t| t.parse().ok());
        attributes.insert("message_attributes".into(), Value::Object(m.message_attributes));
        attributes.insert("event_source_arn".into(), m.event_source_arn.map_or(Value::Null, Value::String));
        let mut body = m.body;
        let mut reject = m.problem.get().map(|p| ItemError::permanent(INVALID_RECORD, format!("Records[{index}].{p}")));
        if reject.is_none() && config.unwrap_sns {
            if let Some(message) = unwrap_sns(&body, &mut attributes) {
                body = message;
            }
        }
        let data = match config.base64_body && reject.is_none() {
            true => match base64::engine::general_purpose::STANDARD.decode(body.trim()) {
                Ok(bytes) => Bytes::from(bytes),
                Err(e) => {
                    reject = Some(ItemError::permanent("InvalidBase64Body", format!("sqs.base64_body is set but the body is not base64: {e}")));
                    Bytes::from(body.into_bytes())
                }
            },
            false => Bytes::from(body.into_bytes()),
        };
        let mut record = Record::new(RecordId::new(m.message_id), SOURCE, data).with_attributes(Arc::new(attributes));
        record.key = key;
        record.arrival_ms = arrival_ms;
        if let Some(e) = reject {
            tracing::warn!(record = %record.id, position = index, code = %e.code, problem = %e.message, "message cannot be decoded");
            out.rejects.push((index as u32, e));
        }
        out.records.push(record);
    }
    out
}

/// Whether the batch comes from a FIFO queue.
pub fn is_fifo(records: &[Record]) -> bool {
    records.first().and_then(|r| r.attributes.get("event_source_arn")).and_then(Value::as_str).is_some_and(|arn| arn.ends_with(".fifo"))
}

/// The partial batch response: every failed message id once, in batch order.
pub fn respond(records: &[Record], report: &Report) -> Result<SqsBatchResponse, SqsHandlerError> {
    let ids = super::failed_ids(records, report).map_err(|index| UnreportableRecord::new("message", index, "messageId", report))?;
    let mut response = SqsBatchResponse::default();
    for id in ids {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id.to_owned();
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// One invocation with everything it did.
#[derive(Debug)]
pub struct Invocation {
    /// The decoded records, in batch order.
    pub records: Vec<Record>,
    /// What happened to each.
    pub report: Report,
    /// Exactly what the Lambda function returns.
    pub response: Result<SqsBatchResponse, SqsHandlerError>,
}

/// Decode, route and deliver (FIFO: group by group, in order), respond.
///
/// An event without `Records` is refused ([`SqsHandlerError::NotSqs`]) without sending anything.
pub async fn invoke(fanout: &Fanout, event: impl Into<SqsBatch>, lambda_deadline: SystemTime) -> Invocation {
    let started = std::time::Instant::now();
    let event = event.into();
    if event.records.is_none() {
        return Invocation { records: Vec::new(), report: Report::empty(0), response: Err(SqsHandlerError::NotSqs) };
    }
    let Decoded { records, rejects } = decode(event, &fanout.config().sqs);
    let stop_at = fanout.stop_at(lambda_deadline);
    let report = if is_fifo(&records) {
        let (records_back, report) = fifo(fanout, records, rejects, stop_at).await;
        let response = respond(&records_back, &report);
        crate::metrics::observe(fanout, "sqs", &records_back, &report, started, crate::metrics::BatchAge::Oldest);
        return Invocation { records: records_back, report, response };
    } else {
        fanout.process_with_rejects(&records, rejects, stop_at).await
    };
    let response = respond(&records, &report);
    crate::metrics::observe(fanout, "sqs", &records, &report, started, crate::metrics::BatchAge::Oldest);
    Invocation { records, report, response }
}

/// FIFO: wave `w` sends the `w`-th message of every group whose earlier messages all succeeded.
async fn fifo(fanout: &Fanout, records: Vec<Record>, rejects: Vec<(u32, ItemError)>, stop_at: tokio::time::Instant) -> (Vec<Record>, Report) {
    let n = records.len();
    let groups: Vec<String> = records.iter().map(|r| r.key.clone().unwrap_or_default()).collect();
    let mut position = vec![0usize; n];
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        let p = seen.entry(g.as_str()).or_insert(0);
        position[i] = *p;
        *p += 1;
    }
    let waves = position.iter().max().map_or(0, |m| m + 1);
    let mut slots: Vec<Option<Record>> = records.into_iter().map(Some).collect();
    let mut report = Report::empty(n);
    let mut failed_groups: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut blocked = DestinationReport {
        name: FIFO_BLOCKED.into(),
        kind: None,
        outcomes: Vec::new(),
        stats: Default::default(),
        dead_letter_stats: Default::default(),
        tally: None,
    };
    for w in 0..waves {
        let (members, held): (Vec<usize>, Vec<usize>) = (0..n).filter(|&i| position[i] == w).partition(|&i| !failed_groups.contains(&groups[i]));
        for i in held {
            report.status[i] = RecordStatus::Failed;
            let why = format!("not sent: an earlier message of FIFO group `{}` failed", groups[i]);
            blocked.outcomes.push((i as u32, DestinationOutcome::Failed(ItemError::transient("FifoGroupBlocked", why))));
        }
        if members.is_empty() {
            continue;
        }
        let wave: Vec<Record> = members.iter().filter_map(|&i| slots[i].take()).collect();
        let wave_rejects: Vec<(u32, ItemError)> = members
            .iter()
            .enumerate()
            .filter_map(|(k, &i)| rejects.iter().find(|(r, _)| *r as usize == i).map(|(_, e)| (k as u32, e.clone())))
            .collect();
        let part = fanout.process_with_rejects(&wave, wave_rejects, stop_at).await;
        for (k, &i) in members.iter().enumerate() {
            if part.status[k] == RecordStatus::Failed {
                failed_groups.insert(groups[i].clone());
            }
        }
        report.merge(part, &members);
        for (record, &i) in wave.into_iter().zip(&members) {
            slots[i] = Some(record);
        }
    }
    if !blocked.outcomes.is_empty() {
        blocked.outcomes.sort_by_key(|(i, _)| *i);
        report.destinations.push(blocked);
    }
    (slots.into_iter().flatten().collect(), report)
}

/// The SQS function's handler.
pub async fn handle(fanout: &Fanout, event: impl Into<SqsBatch>, lambda_deadline: SystemTime) -> Result<SqsBatchResponse, SqsHandlerError> {
    invoke(fanout, event, lambda_deadline).await.response
}

#[cfg(test)]
mod tests;
