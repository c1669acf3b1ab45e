//! A DynamoDB Streams event read loosely: one record with a field of the
//! wrong type, a missing sequence number or an image that is not DynamoDB
//! JSON is that record's [`Problem`], never an error of the whole event.

use super::plain;
use crate::sources::loose::{epoch_seconds, read_object, Key, Loose, ObjectReader, Problem};
use aws_lambda_events::event::dynamodb::Event;
use serde::de::{IgnoredAny, MapAccess};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A DynamoDB Streams event as Lambda delivers it, reading only the fields
/// fanout uses (the same JSON as `aws_lambda_events`' [`Event`], which
/// converts into it). Images are converted from DynamoDB's typed JSON to
/// plain JSON while reading ([`plain`]).
///
/// Reading never fails because of one record: a field of the wrong type, a
/// missing `dynamodb.SequenceNumber`, `eventName` or `dynamodb.Keys`, or an
/// image that cannot be converted is kept as the record's [`Problem`] (the
/// first one found, with its path), and `decode_batch` makes it a permanent
/// failure of that record alone. Only text that is not JSON, or `Records`
/// that is not an array, fails the whole event; an event without `Records`
/// reads as `records: None`, which the handler refuses.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DynamoDbBatch {
    /// The records, in stream order; `None` when the event has no `Records`.
    #[serde(rename = "Records", default)]
    pub records: Option<Vec<DynamoDbBatchRecord>>,
}

/// One record of a [`DynamoDbBatch`].
#[derive(Debug, Default)]
pub struct DynamoDbBatchRecord {
    /// `eventID`.
    pub event_id: Option<String>,
    /// `eventName`: `INSERT`, `MODIFY` or `REMOVE` (empty when absent, which is a problem).
    pub event_name: String,
    /// `awsRegion`.
    pub aws_region: Option<String>,
    /// `eventSourceARN`: the table's stream (`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`).
    pub event_source_arn: Option<String>,
    /// `userIdentity` as written (`{"type": "Service", "principalId": "dynamodb.amazonaws.com"}`
    /// on a deletion by TTL), when present.
    pub user_identity: Option<Value>,
    /// The `dynamodb` part.
    pub change: StreamChange,
    /// The first thing wrong with this record, if any.
    pub problem: Problem,
}

/// The `dynamodb` part of a [`DynamoDbBatchRecord`]: the change itself.
#[derive(Debug, Default)]
pub struct StreamChange {
    /// `SequenceNumber` (empty when absent, which is a problem).
    pub sequence_number: String,
    /// `Keys` as plain JSON.
    pub keys: Option<Value>,
    /// `NewImage` as plain JSON, when the stream view holds it.
    pub new_image: Option<Value>,
    /// `OldImage` as plain JSON, when the stream view holds it.
    pub old_image: Option<Value>,
    /// `ApproximateCreationDateTime`, seconds since the epoch.
    pub approximate_creation_date_time: Option<f64>,
    /// `SizeBytes`.
    pub size_bytes: Option<u64>,
    /// `StreamViewType` (`NEW_AND_OLD_IMAGES`, `NEW_IMAGE`, `OLD_IMAGE`, `KEYS_ONLY`).
    pub stream_view_type: Option<String>,
}

impl<'de> serde::Deserialize<'de> for DynamoDbBatchRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_object(d, RecordReader)
    }
}

struct RecordReader;

impl<'de> ObjectReader<'de> for RecordReader {
    type Out = DynamoDbBatchRecord;

    fn fields<A: MapAccess<'de>>(self, mut map: A) -> Result<DynamoDbBatchRecord, A::Error> {
        let mut r = DynamoDbBatchRecord::default();
        let (mut has_name, mut has_part) = (false, false);
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let slot = match &*key {
                "eventID" => &mut r.event_id,
                "awsRegion" => &mut r.aws_region,
                "eventSourceARN" => &mut r.event_source_arn,
                "eventName" => {
                    has_name = true;
                    match map.next_value::<Loose<'de>>()?.string("a string") {
                        Ok(name) if name.is_empty() => r.problem.note("eventName", "must not be empty"),
                        Ok(name) => r.event_name = name.into_owned(),
                        Err(why) => r.problem.note("eventName", why),
                    }
                    continue;
                }
                "userIdentity" => {
                    match map.next_value::<Value>()? {
                        Value::Null => {}
                        v @ Value::Object(_) => r.user_identity = Some(v),
                        other => r.problem.note("userIdentity", format_args!("expected an object, found {}", kind(&other))),
                    }
                    continue;
                }
                "dynamodb" => {
                    has_part = true;
                    let ChangePart(change, problem) = map.next_value()?;
                    r.change = change;
                    r.problem.absorb("dynamodb", problem);
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            match map.next_value::<Loose<'de>>()?.optional_string("a string") {
                Ok(text) => *slot = text.map(Cow::into_owned),
                Err(why) => r.problem.note(&key, why),
            }
        }
        if !has_name {
            r.problem.note("eventName", "missing");
        }
        if !has_part {
            r.problem.note("dynamodb", "missing");
        }
        Ok(r)
    }

    fn not_object(self, kind: &'static str) -> DynamoDbBatchRecord {
        let mut r = DynamoDbBatchRecord::default();
        r.problem.note("(record)", format!("expected an object, found {kind}"));
        r
    }
}

/// The `dynamodb` part, with the first problem found in it.
struct ChangePart(StreamChange, Problem);

impl<'de> serde::Deserialize<'de> for ChangePart {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_object(d, ChangeReader)
    }
}

struct ChangeReader;

impl<'de> ObjectReader<'de> for ChangeReader {
    type Out = ChangePart;

    fn fields<A: MapAccess<'de>>(self, mut map: A) -> Result<ChangePart, A::Error> {
        let mut c = StreamChange::default();
        let mut problem = Problem::default();
        let (mut has_sequence, mut has_keys) = (false, false);
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match &*key {
                "SequenceNumber" => {
                    has_sequence = true;
                    match map.next_value::<Loose<'de>>()?.string("a string") {
                        Ok(text) if text.is_empty() => problem.note("SequenceNumber", "must not be empty"),
                        Ok(text) => c.sequence_number = text.into_owned(),
                        Err(why) => problem.note("SequenceNumber", why),
                    }
                }
                "Keys" | "NewImage" | "OldImage" => {
                    let written: Value = map.next_value()?;
                    if key == "Keys" {
                        has_keys = true;
                    }
                    let image = match written {
                        Value::Null if key != "Keys" => None,
                        written => Some(match typed_image(&written) {
                            Ok(plain) => Value::Object(plain),
                            Err(why) => {
                                problem.note(&key, why);
                                written // kept as written, for the dead letter
                            }
                        }),
                    };
                    match &*key {
                        "Keys" => c.keys = image,
                        "NewImage" => c.new_image = image,
                        _ => c.old_image = image,
                    }
                }
                "ApproximateCreationDateTime" => match epoch_seconds(map.next_value::<Loose<'de>>()?) {
                    Ok(seconds) => c.approximate_creation_date_time = Some(seconds),
                    Err(why) => problem.note("ApproximateCreationDateTime", why),
                },
                "SizeBytes" => match map.next_value::<Loose<'de>>()? {
                    Loose::Null => {}
                    Loose::Number(n) if n >= 0.0 && n.fract() == 0.0 && n <= u64::MAX as f64 => c.size_bytes = Some(n as u64),
                    Loose::Number(n) => problem.note("SizeBytes", format_args!("{n} is not a size in bytes")),
                    other => problem.note("SizeBytes", format_args!("expected a number, found {}", other.kind())),
                },
                "StreamViewType" => match map.next_value::<Loose<'de>>()?.optional_string("a string") {
                    Ok(text) => c.stream_view_type = text.map(Cow::into_owned),
                    Err(why) => problem.note("StreamViewType", why),
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !has_sequence {
            problem.note("SequenceNumber", "missing");
        }
        if !has_keys {
            problem.note("Keys", "missing");
        }
        Ok(ChangePart(c, problem))
    }

    fn not_object(self, kind: &'static str) -> ChangePart {
        let mut problem = Problem::default();
        problem.note("(part)", format!("expected an object, found {kind}"));
        ChangePart(StreamChange::default(), problem)
    }
}

/// An image written in DynamoDB JSON, read with `serde_dynamo` and converted
/// to plain JSON; the error names the attribute's place and the rule
/// (`status.N: \`abc\` is not a number`, `photo.B: ...`).
fn typed_image(written: &Value) -> Result<Map<String, Value>, String> {
    let item: serde_dynamo::Item = serde_path_to_error::deserialize(written).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("not DynamoDB JSON ({})", e.inner())
        } else {
            format!("{path}: not DynamoDB JSON ({})", e.inner())
        }
    })?;
    plain::item(&item).map_err(|e| e.to_string())
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl From<Event> for DynamoDbBatch {
    /// The typed event of `aws_lambda_events` (its images already read by
    /// `serde_dynamo`; an absent image reads as an empty one there, so an
    /// empty `NewImage` or `OldImage` is taken as absent).
    fn from(event: Event) -> Self {
        let records = event
            .records
            .into_iter()
            .map(|r| {
                let mut problem = Problem::default();
                let mut image = |name: &str, item: &serde_dynamo::Item, keep_empty: bool| {
                    if item.is_empty() && !keep_empty {
                        return None;
                    }
                    match plain::item(item) {
                        Ok(plain) => Some(Value::Object(plain)),
                        Err(e) => {
                            problem.note(&format!("dynamodb.{name}"), e);
                            None
                        }
                    }
                };
                let change = &r.change;
                let keys = image("Keys", &change.keys, true);
                let new_image = image("NewImage", &change.new_image, false);
                let old_image = image("OldImage", &change.old_image, false);
                let sequence_number = change.sequence_number.clone().unwrap_or_default();
                if sequence_number.is_empty() {
                    problem.note("dynamodb.SequenceNumber", "missing");
                }
                let user_identity = r.user_identity.as_ref().map(|u| {
                    let mut m = Map::new();
                    m.insert("type".into(), Value::String(u.type_.clone()));
                    m.insert("principalId".into(), Value::String(u.principal_id.clone()));
                    Value::Object(m)
                });
                let millis = change.approximate_creation_date_time.timestamp_millis();
                DynamoDbBatchRecord {
                    event_id: Some(r.event_id).filter(|id| !id.is_empty()),
                    event_name: r.event_name,
                    aws_region: Some(r.aws_region).filter(|region| !region.is_empty()),
                    event_source_arn: r.event_source_arn,
                    user_identity,
                    change: StreamChange {
                        sequence_number,
                        keys,
                        new_image,
                        old_image,
                        approximate_creation_date_time: (millis > 0).then_some(millis as f64 / 1000.0),
                        size_bytes: u64::try_from(change.size_bytes).ok(),
                        stream_view_type: change.stream_view_type.as_ref().map(ToString::to_string),
                    },
                    problem,
                }
            })
            .collect();
        DynamoDbBatch { records: Some(records) }
    }
}
