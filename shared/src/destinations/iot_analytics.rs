//! AWS IoT Analytics `BatchPutMessage`.
//!
//! AWS ended support for IoT Analytics on 2025-12-15; fanout keeps this
//! destination for compatible endpoints and the sandbox.
//!
//! Limits and rules (IoT Analytics API reference, BatchPutMessage; quotas):
//! at most 100 messages per request; `messageId` 1-128 characters, unique in
//! the request; `channelName` 1-128 of `[a-zA-Z0-9_]`, not starting with
//! `__`; payload field names match
//! `^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$`, are at most 255
//! characters and unique ignoring case, at every depth. Message size: 128 KiB
//! (quota page; configurable). Per-message failures come back in
//! `batchPutMessageErrorEntries`, matched by `messageId`.

use super::entries::{check_size, map_by_id, message_id};
use super::registry::{common_fields, CommonFields, DestinationType};
use crate::clients::Clients;
use crate::deliver::api::{BatchApi, ItemResult, Prepared, Purpose};
use crate::error::{classify_code, from_sdk_error, ErrorClass, ItemError};
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{check_limit, Problem};
use aws_sdk_iotanalytics::types::Message;
use aws_smithy_types::Blob;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Most messages per request.
pub const MAX_MESSAGES_PER_REQUEST: usize = 100;
/// Largest message payload, bytes (128 KiB).
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// Longest message id.
pub const MAX_MESSAGE_ID_LEN: usize = 128;
/// Longest field name.
pub const MAX_FIELD_NAME_LEN: usize = 255;

/// `type: iot_analytics` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IotAnalyticsConfig {
    /// `channelName`.
    pub channel: String,
    /// Rewrite field names that break IoT Analytics' rules instead of refusing the record.
    #[serde(default)]
    pub sanitize_field_names: bool,
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
    /// Lower the 100-messages-per-request limit.
    pub max_messages: Option<usize>,
    /// Lower the 128 KiB message limit.
    pub max_message_bytes: Option<usize>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
}

common_fields!(IotAnalyticsConfig);

impl DestinationType for IotAnalyticsConfig {
    type Api = IotAnalytics;
    const SEND_ACTIONS: &'static [&'static str] = &["iotanalytics:BatchPutMessage"];

    fn sends_to(&self) -> String {
        self.channel.clone()
    }

    fn data_fields(&self) -> DataFields {
        DataFields::Whole
    }

    fn api(&self, clients: &Clients) -> IotAnalytics {
        IotAnalytics::new(clients.iotanalytics_for(&self.overrides()), self)
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        let c = &self.channel;
        if c.is_empty() || c.len() > 128 || c.starts_with("__") || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            problems.push(Problem {
                place: format!("{place}.channel"),
                message: format!("`{c}` does not match (^(?!_{{2}}))(^[a-zA-Z0-9_]+$) (1-128 characters)"),
            });
        }
        check_limit(problems, &format!("{place}.max_messages"), self.max_messages, MAX_MESSAGES_PER_REQUEST, "BatchPutMessage");
        check_limit(problems, &format!("{place}.max_message_bytes"), self.max_message_bytes, MAX_MESSAGE_BYTES, "IoT Analytics message");
    }

    fn limits(&self) -> Limits {
        let max_items = self.max_messages.unwrap_or(MAX_MESSAGES_PER_REQUEST);
        let max_item_bytes = self.max_message_bytes.unwrap_or(MAX_MESSAGE_BYTES);
        Limits { max_items, max_item_bytes, max_request_bytes: max_items * max_item_bytes }
    }
}

/// Whether a field name matches IoT Analytics' pattern and length.
pub fn is_field_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if bytes.len() > MAX_FIELD_NAME_LEN || !(first.is_ascii_alphabetic() || first == b'_') {
        return false;
    }
    match bytes.get(1) {
        None => true,
        Some(second) => second.is_ascii_alphanumeric() && bytes[1..].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_'),
    }
}

/// The first field-name problem in a payload, naming the field and the rule.
pub fn field_name_problem(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Object(map) => {
            let mut seen = HashSet::with_capacity(map.len());
            for (k, v) in map {
                let here = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                if !is_field_name(k) {
                    return Some(format!(
                        "field `{here}` breaks IoT Analytics' field-name rule ^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$ (at most {MAX_FIELD_NAME_LEN} characters); set sanitize_field_names: true to rewrite names"
                    ));
                }
                if !seen.insert(k.to_ascii_lowercase()) {
                    return Some(format!(
                        "field `{here}` duplicates another field name ignoring case (IoT Analytics field names are case-insensitive)"
                    ));
                }
                if let Some(p) = field_name_problem(v, &here) {
                    return Some(p);
                }
            }
            None
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| field_name_problem(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Rewrite one name so it matches the rule: other characters become `_`, a
/// leading digit gets a `_` before it, underscores right after the first
/// character are dropped (the rule forbids them there), and the result is cut
/// to 255 characters.
pub fn sanitize_name(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() {
        out.push('_');
    }
    if out.as_bytes()[0].is_ascii_digit() {
        out.insert(0, '_');
    }
    let first = out.remove(0);
    let rest = out.trim_start_matches('_');
    let mut fixed = String::with_capacity(rest.len() + 1);
    fixed.push(first);
    fixed.push_str(rest);
    fixed.truncate(MAX_FIELD_NAME_LEN);
    fixed
}

/// Rewrite every field name at every depth, deterministically. Names that
/// collide ignoring case get `2`, `3`, ... appended in key order.
pub fn sanitize_fields(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut seen = HashSet::with_capacity(map.len());
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                let base = sanitize_name(k);
                let mut name = base.clone();
                let mut n = 2;
                while !seen.insert(name.to_ascii_lowercase()) {
                    let suffix = n.to_string();
                    let mut b = base.clone();
                    b.truncate(MAX_FIELD_NAME_LEN - suffix.len());
                    name = format!("{b}{suffix}");
                    n += 1;
                }
                out.insert(name, sanitize_fields(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sanitize_fields).collect()),
        other => other.clone(),
    }
}

/// One message before it becomes an SDK type.
#[derive(Debug, Clone)]
pub struct AnalyticsMessage {
    /// Deterministic id.
    pub message_id: String,
    /// The JSON payload.
    pub payload: Bytes,
}

/// An IoT Analytics channel.
#[derive(Debug, Clone)]
pub struct IotAnalytics {
    client: aws_sdk_iotanalytics::Client,
    channel: String,
    sanitize: bool,
    limits: Limits,
}

impl IotAnalytics {
    /// A destination sending to `config.channel` through `client`.
    pub fn new(client: aws_sdk_iotanalytics::Client, config: &IotAnalyticsConfig) -> Self {
        Self { client, channel: config.channel.clone(), sanitize: config.sanitize_field_names, limits: DestinationType::limits(config) }
    }

    /// The one message a record becomes. The payload is sent unchanged (no
    /// copy) unless field names are sanitized.
    pub fn prepare_one(&self, record: &Record, _purpose: Purpose) -> Result<Prepared<AnalyticsMessage>, ItemError> {
        let json =
            record.json().ok_or_else(|| ItemError::permanent("InvalidPayload", "IoT Analytics takes JSON objects; the payload is not JSON"))?;
        if !json.is_object() {
            return Err(ItemError::permanent("InvalidPayload", "IoT Analytics takes JSON objects; the payload is JSON but not an object"));
        }
        let payload = match field_name_problem(json, "") {
            None => record.data.clone(),
            Some(_) if self.sanitize => {
                Bytes::from(serde_json::to_vec(&sanitize_fields(json)).map_err(|e| ItemError::permanent("InvalidPayload", e.to_string()))?)
            }
            Some(problem) => return Err(ItemError::permanent("InvalidFieldName", problem)),
        };
        check_size(payload.len(), &self.limits, "IoT Analytics", "the message")?;
        let size = payload.len();
        Ok(Prepared { entry: AnalyticsMessage { message_id: message_id(&record.id, MAX_MESSAGE_ID_LEN), payload }, size })
    }
}

/// Classify `batchPutMessageErrorEntries[].errorCode` (a free string in the
/// model): request and resource errors are permanent, the shared transient
/// codes transient, anything else transient (retried, then reported).
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "InvalidRequestException" | "ResourceNotFoundException" | "InvalidFieldName" | "AccessDeniedException" => ErrorClass::Permanent,
        other => classify_code(other).unwrap_or(ErrorClass::Transient),
    }
}

/// Map a `BatchPutMessage` response to one result per sent message.
pub fn map_response(
    output: &aws_sdk_iotanalytics::operation::batch_put_message::BatchPutMessageOutput,
    sent: &[&AnalyticsMessage],
) -> Vec<ItemResult> {
    let errors = output.batch_put_message_error_entries().iter().map(|e| (e.message_id(), e.error_code(), e.error_message()));
    map_by_id(sent.iter().map(|m| m.message_id.as_str()), errors, classify_item_code)
}

impl BatchApi for IotAnalytics {
    type Entry = AnalyticsMessage;
    type Request = Vec<Message>;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<AnalyticsMessage>>) -> Result<(), ItemError> {
        out.push(self.prepare_one(record, purpose)?);
        Ok(())
    }

    fn encode(&self, batch: &[&AnalyticsMessage]) -> Result<Vec<Message>, ItemError> {
        batch
            .iter()
            .map(|m| Message::builder().message_id(&m.message_id).payload(Blob::new(m.payload.to_vec())).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ItemError::construction)
    }

    async fn send(&self, batch: &[&AnalyticsMessage]) -> Result<Vec<ItemResult>, ItemError> {
        let messages = self.encode(batch)?;
        let output = self.client.batch_put_message().channel_name(&self.channel).set_messages(Some(messages)).send().await.map_err(from_sdk_error)?;
        Ok(map_response(&output, batch))
    }
}

#[cfg(test)]
mod tests;
