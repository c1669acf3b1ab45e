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

use crate::error::ItemError;
use crate::fanout::{DestinationOutcome, DestinationReport, Fanout, RecordStatus, Report};
use crate::record::{Record, RecordId};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::SystemTime;

/// The `source` field patterns see.
pub const SOURCE: &str = "sqs";
/// The pseudo-destination under which FIFO messages held back by an earlier failure appear.
pub const FIFO_BLOCKED: &str = "(fifo order)";

/// `sqs:` in the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqsSourceConfig {
    /// Unwrap SNS-to-SQS envelopes.
    #[serde(default)]
    pub unwrap_sns: bool,
    /// Bodies are base64.
    #[serde(default)]
    pub base64_body: bool,
}

/// Why the handler could not answer with a partial batch response (Lambda retries the whole batch).
#[derive(Debug, thiserror::Error)]
pub enum SqsHandlerError {
    /// A failed message has no message id to report it by.
    #[error("message {index} failed but has no messageId to report; failing the whole batch so Lambda retries it")]
    Unreportable {
        /// Its position in the batch.
        index: usize,
    },
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

/// Decode an SQS event: the records, and the ones that could not be decoded.
pub fn decode(event: SqsEvent, config: &SqsSourceConfig) -> (Vec<Record>, Vec<(u32, ItemError)>) {
    let mut rejects = Vec::new();
    let records = event
        .records
        .into_iter()
        .enumerate()
        .map(|(index, m)| {
            let mut attributes: Map<String, Value> = m.attributes.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            let message_attributes: Map<String, Value> = m
                .message_attributes
                .iter()
                .map(|(k, a)| {
                    let v = a
                        .string_value
                        .clone()
                        .map(Value::String)
                        .or_else(|| a.binary_value.as_ref().map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(&b.0))));
                    (k.clone(), v.unwrap_or(Value::Null))
                })
                .collect();
            attributes.insert("message_attributes".into(), Value::Object(message_attributes));
            attributes.insert("event_source_arn".into(), m.event_source_arn.clone().map_or(Value::Null, Value::String));
            let mut body = m.body.unwrap_or_default();
            if config.unwrap_sns {
                if let Some(message) = unwrap_sns(&body, &mut attributes) {
                    body = message;
                }
            }
            let data = if config.base64_body {
                match base64::engine::general_purpose::STANDARD.decode(body.trim()) {
                    Ok(bytes) => Bytes::from(bytes),
                    Err(e) => {
                        rejects.push((
                            index as u32,
                            ItemError::permanent("InvalidBase64Body", format!("sqs.base64_body is set but the body is not base64: {e}")),
                        ));
                        Bytes::from(body.into_bytes())
                    }
                }
            } else {
                Bytes::from(body.into_bytes())
            };
            let mut record = Record::new(RecordId::new(m.message_id.unwrap_or_default()), SOURCE, data);
            record.key = m.attributes.get("MessageGroupId").cloned();
            record.arrival_ms = m.attributes.get("SentTimestamp").and_then(|t| t.parse().ok());
            record.with_attributes(Arc::new(attributes))
        })
        .collect();
    (records, rejects)
}

/// Whether the batch comes from a FIFO queue.
pub fn is_fifo(records: &[Record]) -> bool {
    records.first().and_then(|r| r.attributes.get("event_source_arn")).and_then(Value::as_str).is_some_and(|arn| arn.ends_with(".fifo"))
}

/// The partial batch response: every failed message id once, in batch order.
pub fn respond(records: &[Record], report: &Report) -> Result<SqsBatchResponse, SqsHandlerError> {
    let ids = super::failed_ids(records, report).map_err(|index| SqsHandlerError::Unreportable { index })?;
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
pub async fn invoke(fanout: &Fanout, event: SqsEvent, lambda_deadline: SystemTime) -> Invocation {
    let (records, rejects) = decode(event, &fanout.config().sqs);
    let stop_at = fanout.stop_at(lambda_deadline);
    let report = if is_fifo(&records) {
        let (records_back, report) = fifo(fanout, records, rejects, stop_at).await;
        let response = respond(&records_back, &report);
        return Invocation { records: records_back, report, response };
    } else {
        fanout.process_with_rejects(&records, rejects, stop_at).await
    };
    let response = respond(&records, &report);
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
        kind: "source",
        outcomes: Vec::new(),
        stats: Default::default(),
        dead_letter_stats: Default::default(),
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
pub async fn handle(fanout: &Fanout, event: SqsEvent, lambda_deadline: SystemTime) -> Result<SqsBatchResponse, SqsHandlerError> {
    invoke(fanout, event, lambda_deadline).await.response
}

#[cfg(test)]
mod tests;
