//! AWS IoT Events Data `BatchPutMessage`: records become messages to an input.
//!
//! AWS ended support for IoT Events on 2026-05-20; fanout keeps this
//! destination for compatible endpoints and the sandbox.
//!
//! Limits and rules (IoT Events Data API reference, BatchPutMessage): at most
//! 10 messages and 1 KiB (1,024 bytes) of message payload per batch;
//! `messageId` 1-64 of `[a-zA-Z0-9_-]`, unique in the batch; `inputName`
//! 1-128 of `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`; an optional
//! `timestamp.timeInMillis`. Failures come back in
//! `BatchPutMessageErrorEntries` (capital B), matched by `messageId`.

use super::entries::{check_size, map_by_id, message_id};
use super::registry::{common_fields, CommonFields, DestinationType};
use crate::clients::Clients;
use crate::deliver::api::{BatchApi, ItemResult, Prepared, Purpose};
use crate::error::{classify_code, from_sdk_error, ErrorClass, ItemError};
use crate::json_source::JsonSource;
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{check_limit, Problem};
use aws_sdk_ioteventsdata::types::{Message, TimestampValue};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::{Blob, DateTime};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

/// Most messages per batch.
pub const MAX_MESSAGES_PER_REQUEST: usize = 10;
/// Most message payload bytes per batch.
pub const MAX_PAYLOAD_BYTES_PER_REQUEST: usize = 1024;
/// Longest message id.
pub const MAX_MESSAGE_ID_LEN: usize = 64;

/// `type: iot_events` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IotEventsConfig {
    /// `inputName`.
    pub input: String,
    /// JSON Pointer to the message time (epoch milliseconds or RFC 3339), or a
    /// jq expression ([`crate::json_source`]); default: the record's arrival.
    pub timestamp: Option<String>,
    /// JSON Pointer to the part of the payload to send, or a jq expression;
    /// default: the whole payload.
    pub payload: Option<String>,
    /// Per-destination endpoint.
    pub endpoint_url: Option<String>,
    /// Per-destination region.
    pub region: Option<String>,
    /// A role to assume for this destination (another account), with STS.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
    /// A jq program: what this destination sends for each record ([`crate::transform`]).
    pub transform: Option<String>,
    /// Lower the 10-messages-per-batch limit.
    pub max_messages: Option<usize>,
    /// Lower the 1 KiB payload-per-batch limit.
    pub max_request_bytes: Option<usize>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
}

/// `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`, 1-128 characters.
pub fn is_input_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

common_fields!(IotEventsConfig);

impl DestinationType for IotEventsConfig {
    type Api = IotEvents;
    const SEND_ACTIONS: &'static [&'static str] = &["iotevents:BatchPutMessage"];

    fn sends_to(&self) -> String {
        self.input.clone()
    }

    fn data_fields(&self) -> DataFields {
        DataFields::all(
            self.payload
                .iter()
                .chain(&self.timestamp)
                .map(|p| JsonSource::parse(p).map_or(DataFields::Whole, |s| s.data_fields()))
                .collect::<Vec<_>>(),
        )
    }

    fn api(&self, clients: &Clients) -> IotEvents {
        IotEvents::new(clients.ioteventsdata_for(&self.overrides()), self)
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        if !is_input_name(&self.input) {
            problems.push(Problem {
                place: format!("{place}.input"),
                message: format!("`{}` does not match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (1-128 characters)", self.input),
            });
        }
        for (field, source) in [("timestamp", &self.timestamp), ("payload", &self.payload)] {
            if let Some(s) = source {
                JsonSource::check(problems, &format!("{place}.{field}"), s);
            }
        }
        check_limit(problems, &format!("{place}.max_messages"), self.max_messages, MAX_MESSAGES_PER_REQUEST, "BatchPutMessage");
        check_limit(
            problems,
            &format!("{place}.max_request_bytes"),
            self.max_request_bytes,
            MAX_PAYLOAD_BYTES_PER_REQUEST,
            "BatchPutMessage payload-per-batch",
        );
    }

    fn limits(&self) -> Limits {
        let max_request_bytes = self.max_request_bytes.unwrap_or(MAX_PAYLOAD_BYTES_PER_REQUEST);
        Limits { max_items: self.max_messages.unwrap_or(MAX_MESSAGES_PER_REQUEST), max_item_bytes: max_request_bytes, max_request_bytes }
    }
}

/// Milliseconds since the epoch from a JSON value: a number (epoch
/// milliseconds) or an RFC 3339 string.
pub(crate) fn epoch_millis(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => DateTime::from_str(s, Format::DateTime).ok().and_then(|d| d.to_millis().ok()),
        _ => None,
    }
}

/// One message before it becomes an SDK type.
#[derive(Debug, Clone)]
pub struct EventsMessage {
    /// Deterministic id.
    pub message_id: String,
    /// The payload.
    pub payload: Bytes,
    /// `timestamp.timeInMillis`.
    pub time_in_millis: Option<i64>,
}

/// An IoT Events input.
#[derive(Debug, Clone)]
pub struct IotEvents {
    client: aws_sdk_ioteventsdata::Client,
    input: String,
    timestamp: Option<JsonSource>,
    payload: Option<JsonSource>,
    limits: Limits,
}

impl IotEvents {
    /// A destination sending to `config.input` through `client`.
    pub fn new(client: aws_sdk_ioteventsdata::Client, config: &IotEventsConfig) -> Self {
        Self {
            client,
            input: config.input.clone(),
            timestamp: config.timestamp.as_deref().and_then(|s| JsonSource::parse(s).ok()),
            payload: config.payload.as_deref().and_then(|s| JsonSource::parse(s).ok()),
            limits: DestinationType::limits(config),
        }
    }

    /// The one message a record becomes.
    pub fn prepare_one(&self, record: &Record, purpose: Purpose) -> Result<Prepared<EventsMessage>, ItemError> {
        let mapped = purpose == Purpose::Route;
        let payload = match (&self.payload, mapped) {
            (Some(source), true) => {
                let part = source
                    .get(record)
                    .map_err(|why| ItemError::permanent("PayloadMissing", format!("payload {why}")))?
                    .ok_or_else(|| ItemError::permanent("PayloadMissing", format!("payload {source} cannot be read from the record")))?;
                Bytes::from(serde_json::to_vec(&*part).map_err(|e| ItemError::permanent("InvalidPayload", e.to_string()))?)
            }
            _ => record.data.clone(),
        };
        let time_in_millis = match (&self.timestamp, mapped) {
            (Some(source), true) => {
                let v = source
                    .get(record)
                    .map_err(|why| ItemError::permanent("TimestampMissing", format!("timestamp {why}")))?
                    .ok_or_else(|| ItemError::permanent("TimestampMissing", format!("timestamp {source} cannot be read from the record")))?;
                Some(epoch_millis(&v).ok_or_else(|| {
                    ItemError::permanent("TimestampInvalid", format!("timestamp {source} is {v}, not epoch milliseconds or RFC 3339"))
                })?)
            }
            _ => record.arrival_ms,
        };
        check_size(payload.len(), &self.limits, "BatchPutMessage (payload per batch)", "the message payload")?;
        let size = payload.len();
        Ok(Prepared { entry: EventsMessage { message_id: message_id(&record.id, MAX_MESSAGE_ID_LEN), payload, time_in_millis }, size })
    }
}

/// Classify `BatchPutMessageErrorEntries[].errorCode`: `ResourceNotFoundException`
/// and `InvalidRequestException` are permanent; `InternalFailureException`,
/// `ServiceUnavailableException` and `ThrottlingException` transient.
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "ResourceNotFoundException" | "InvalidRequestException" | "AccessDeniedException" => ErrorClass::Permanent,
        other => classify_code(other).unwrap_or(ErrorClass::Transient),
    }
}

/// Map a `BatchPutMessage` response to one result per sent message.
pub fn map_response(output: &aws_sdk_ioteventsdata::operation::batch_put_message::BatchPutMessageOutput, sent: &[&EventsMessage]) -> Vec<ItemResult> {
    let errors = output.batch_put_message_error_entries().iter().map(|e| (e.message_id(), e.error_code().map(|c| c.as_str()), e.error_message()));
    map_by_id(sent.iter().map(|m| m.message_id.as_str()), errors, classify_item_code)
}

impl BatchApi for IotEvents {
    type Entry = EventsMessage;
    type Request = Vec<Message>;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<EventsMessage>>) -> Result<(), ItemError> {
        out.push(self.prepare_one(record, purpose)?);
        Ok(())
    }

    fn encode(&self, batch: &[&EventsMessage]) -> Result<Vec<Message>, ItemError> {
        batch
            .iter()
            .map(|m| {
                Message::builder()
                    .message_id(&m.message_id)
                    .input_name(&self.input)
                    .payload(Blob::new(m.payload.to_vec()))
                    .set_timestamp(m.time_in_millis.map(|t| TimestampValue::builder().time_in_millis(t).build()))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(ItemError::construction)
    }

    async fn send(&self, batch: &[&EventsMessage]) -> Result<Vec<ItemResult>, ItemError> {
        let messages = self.encode(batch)?;
        let output = self.client.batch_put_message().set_messages(Some(messages)).send().await.map_err(from_sdk_error)?;
        Ok(map_response(&output, batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;
    use aws_sdk_ioteventsdata::operation::batch_put_message::BatchPutMessageOutput;
    use aws_sdk_ioteventsdata::types::{BatchPutMessageErrorEntry, ErrorCode};

    fn dest(timestamp: Option<&str>, payload: Option<&str>) -> IotEvents {
        let config = IotEventsConfig {
            input: "telemetry".into(),
            timestamp: timestamp.map(str::to_owned),
            payload: payload.map(str::to_owned),
            endpoint_url: None,
            region: None,
            role_arn: None,
            external_id: None,
            transform: None,
            max_messages: None,
            max_request_bytes: None,
            max_in_flight: None,
            rate_limit: Default::default(),
        };
        let client = aws_sdk_ioteventsdata::Client::from_conf(aws_sdk_ioteventsdata::Config::builder().behavior_version_latest().build());
        IotEvents::new(client, &config)
    }

    fn record(data: &str) -> Record {
        Record::new(RecordId { source_id: "4959".into(), sub_sequence: Some(1) }, "kinesis", Bytes::from(data.to_owned()))
            .with_arrival_ms(1_700_000_000_000)
    }

    #[test]
    fn timestamps_come_from_millis_rfc3339_or_the_arrival() {
        let d = dest(Some("/ts"), None);
        assert_eq!(d.prepare_one(&record(r#"{"ts": 1700000000123}"#), Purpose::Route).unwrap().entry.time_in_millis, Some(1_700_000_000_123));
        assert_eq!(
            d.prepare_one(&record(r#"{"ts": "2023-11-14T22:13:20.5Z"}"#), Purpose::Route).unwrap().entry.time_in_millis,
            Some(1_700_000_000_500)
        );
        let err = d.prepare_one(&record(r#"{"ts": "yesterday"}"#), Purpose::Route).unwrap_err();
        assert_eq!(err.code, "TimestampInvalid");
        assert!(err.message.contains("/ts"), "{err}");
        assert_eq!(dest(None, None).prepare_one(&record("{}"), Purpose::Route).unwrap().entry.time_in_millis, Some(1_700_000_000_000));
    }

    #[test]
    fn the_payload_pointer_selects_what_is_sent() {
        let p = dest(None, Some("/reading")).prepare_one(&record(r#"{"meta": 1, "reading": {"t": 5}}"#), Purpose::Route).unwrap();
        assert_eq!(&p.entry.payload[..], br#"{"t":5}"#);
        let err = dest(None, Some("/reading")).prepare_one(&record("{}"), Purpose::Route).unwrap_err();
        assert_eq!((err.code.as_str(), err.class), ("PayloadMissing", ErrorClass::Permanent));
    }

    #[test]
    fn timestamp_and_payload_take_jq_expressions() {
        let d = dest(Some("= .data.seconds * 1000"), Some("= {t: .data.reading.t, key}"));
        let p = d.prepare_one(&record(r#"{"seconds": 1700000001, "reading": {"t": 5}}"#), Purpose::Route).unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&p.entry.payload).expect("JSON");
        assert_eq!((p.entry.time_in_millis, payload), (Some(1_700_000_001_000), serde_json::json!({"t": 5, "key": null})));
        let err = d.prepare_one(&record(r#"{"seconds": {"at": "soon"}}"#), Purpose::Route).unwrap_err();
        assert_eq!((err.code.as_str(), err.class), ("TimestampMissing", ErrorClass::Permanent));
        assert!(err.message.contains("= .data.seconds * 1000") && err.message.contains("failed"), "{err}");
        let mut problems = Vec::new();
        let config: IotEventsConfig = serde_saphyr::from_str("input: telemetry\ntimestamp: ts\npayload: '= .data |'\n").expect("parses");
        DestinationType::validate(&config, "d", &mut problems);
        assert_eq!(problems.iter().map(|p| p.place.as_str()).collect::<Vec<_>>(), ["d.timestamp", "d.payload"]);
    }

    #[test]
    fn ids_fit_the_pattern_and_payloads_the_batch_limit() {
        let p = dest(None, None).prepare_one(&record("{}"), Purpose::Route).unwrap();
        assert_eq!(p.entry.message_id, "4959-1");
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(1100));
        assert_eq!(dest(None, None).prepare_one(&record(&big), Purpose::Route).unwrap_err().code, "RecordTooLarge");
    }

    #[test]
    fn errors_map_back_by_message_id() {
        let sent = [
            EventsMessage { message_id: "a".into(), payload: Bytes::new(), time_in_millis: None },
            EventsMessage { message_id: "b".into(), payload: Bytes::new(), time_in_millis: None },
        ];
        let out = BatchPutMessageOutput::builder()
            .batch_put_message_error_entries(BatchPutMessageErrorEntry::builder().message_id("a").error_code(ErrorCode::ThrottlingException).build())
            .build();
        let r = map_response(&out, &sent.iter().collect::<Vec<_>>());
        assert_eq!(r[0].as_ref().unwrap_err().class, ErrorClass::Transient);
        assert!(r[1].is_ok());
        assert_eq!(classify_item_code("ResourceNotFoundException"), ErrorClass::Permanent);
    }

    #[test]
    fn input_names_follow_the_pattern() {
        assert!(is_input_name("telemetry.v2-a_b"));
        assert!(!is_input_name("_telemetry") && !is_input_name("") && !is_input_name("a b"));
    }
}
