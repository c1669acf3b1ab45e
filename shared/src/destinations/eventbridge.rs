//! Amazon EventBridge `PutEvents`, to an event bus.
//!
//! Limits (EventBridge API reference, PutEvents; User Guide, "Calculating
//! PutEvents event entry size"): at most 10 entries per request, and the
//! entries' total size "less than 1MB" (raised from 256 KB in 2026; fanout
//! reads it as under 1,000,000 bytes, the reading that never overfills a
//! request). The detail is checked to be a JSON object nested at most 128
//! levels deep (serde_json's limit; EventBridge takes more). An entry's size is the UTF-8 bytes of its `Source`,
//! `DetailType`, `Detail` and each of its `Resources` (plus 14 when `Time`
//! is set; fanout leaves `Time` to the service). `Detail` must be a JSON
//! object; `DetailType` at most 128 characters; a `Source` starting with
//! `aws.` is refused. Results come back positionally (`Entries[i]` answers
//! request entry `i`, with an `EventId` or an `ErrorCode`).

use super::entries::map_positional;
use super::registry::{common_fields, CommonFields, DestinationType};
use crate::clients::Clients;
use crate::deliver::api::{BatchApi, ItemResult, Prepared, Purpose};
use crate::error::{classify_code, from_sdk_error, ErrorClass, ItemError};
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{check_limit, problem, Problem};
use crate::value::ValueSource;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use bytes::Bytes;
use serde::Deserialize;

/// Most entries in one `PutEvents` request.
pub const MAX_ENTRIES_PER_REQUEST: usize = 10;
/// Largest total entry size of a request, and so of one entry, in bytes:
/// "less than 1MB", read as under 1,000,000 bytes.
pub const MAX_REQUEST_BYTES: usize = 999_999;
/// Longest `DetailType`, in characters.
pub const MAX_DETAIL_TYPE_CHARS: usize = 128;
/// Longest `Source`, in characters.
pub const MAX_SOURCE_CHARS: usize = 256;

/// `type: eventbridge` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBridgeConfig {
    /// `EventBusName`: a bus name or ARN (default: the account's default bus).
    pub event_bus: Option<String>,
    /// `Source`: a value source ([`crate::value`]).
    pub source: String,
    /// `DetailType`: a value source.
    pub detail_type: String,
    /// `Resources`: value sources (ARNs the event concerns).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Per-destination endpoint (a compatible service or an emulator).
    pub endpoint_url: Option<String>,
    /// Per-destination region.
    pub region: Option<String>,
    /// A role to assume for this destination (another account), with STS.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
    /// A jq program: what this destination sends for each record ([`crate::transform`]).
    pub transform: Option<String>,
    /// Lower the 10-entries-per-request limit.
    pub max_records: Option<usize>,
    /// Lower the entry size limit.
    pub max_record_bytes: Option<usize>,
    /// Lower the request size limit.
    pub max_request_bytes: Option<usize>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
}

common_fields!(EventBridgeConfig);

impl EventBridgeConfig {
    fn sources(&self) -> Vec<ValueSource> {
        [&self.source, &self.detail_type].into_iter().chain(&self.resources).filter_map(|s| ValueSource::parse(s).ok()).collect()
    }
}

impl DestinationType for EventBridgeConfig {
    type Api = EventBridge;
    const SEND_ACTIONS: &'static [&'static str] = &["events:PutEvents"];

    fn sends_to(&self) -> String {
        self.event_bus.as_deref().map_or("default", |b| b.rsplit('/').next().unwrap_or(b)).to_owned()
    }

    /// The fields its value sources read, and in any case a parse of the
    /// payload (no field kept), which tells whether it is a JSON object.
    fn data_fields(&self) -> DataFields {
        let object_check = DataFields::Fields(std::collections::BTreeSet::new());
        DataFields::all(self.sources().iter().map(ValueSource::data_fields).chain([object_check]))
    }

    fn limits(&self) -> Limits {
        Limits {
            max_items: self.max_records.unwrap_or(MAX_ENTRIES_PER_REQUEST),
            max_item_bytes: self.max_record_bytes.unwrap_or(MAX_REQUEST_BYTES),
            max_request_bytes: self.max_request_bytes.unwrap_or(MAX_REQUEST_BYTES),
        }
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        if let Some(bus) = &self.event_bus {
            if !is_event_bus(bus) {
                problems.push(problem(
                    &format!("{place}.event_bus"),
                    &format!(
                        "`{bus}` is not an event bus name (1-256 of [A-Za-z0-9._/-]) or ARN (arn:aws:events:<region>:<account>:event-bus/<name>)"
                    ),
                ));
            }
        }
        let fields = [("source", &self.source), ("detail_type", &self.detail_type)];
        for (field, text) in fields.into_iter().chain(self.resources.iter().map(|r| ("resources", r))) {
            let place = format!("{place}.{field}");
            match ValueSource::parse(text) {
                Err(message) => problems.push(problem(&place, &message)),
                Ok(ValueSource::Constant(c)) if field == "source" => {
                    if let Err(why) = check_source(&c) {
                        problems.push(problem(&place, &why));
                    }
                }
                Ok(ValueSource::Constant(c)) if field == "detail_type" => {
                    if let Err(why) = check_detail_type(&c) {
                        problems.push(problem(&place, &why));
                    }
                }
                Ok(_) => {}
            }
        }
        check_limit(problems, &format!("{place}.max_records"), self.max_records, MAX_ENTRIES_PER_REQUEST, "PutEvents");
        check_limit(problems, &format!("{place}.max_record_bytes"), self.max_record_bytes, MAX_REQUEST_BYTES, "PutEvents");
        check_limit(problems, &format!("{place}.max_request_bytes"), self.max_request_bytes, MAX_REQUEST_BYTES, "PutEvents");
    }

    fn byte_limit_overrides(&self) -> (Option<usize>, Option<usize>) {
        (self.max_record_bytes, self.max_request_bytes)
    }

    fn api(&self, clients: &Clients) -> EventBridge {
        EventBridge::new(clients.eventbridge_for(&self.overrides()), self)
    }
}

/// A bus name (`[/.\-_A-Za-z0-9]{1,256}`) or an event bus ARN.
fn is_event_bus(bus: &str) -> bool {
    if let Some(rest) = bus.strip_prefix("arn:") {
        return rest.split(':').nth(1) == Some("events") && rest.contains(":event-bus/");
    }
    !bus.is_empty() && bus.len() <= 256 && bus.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_'))
}

fn check_source(source: &str) -> Result<(), String> {
    if source.is_empty() || source.chars().count() > MAX_SOURCE_CHARS {
        return Err(format!("the source `{source}` is not 1 to {MAX_SOURCE_CHARS} characters"));
    }
    if source.starts_with("aws.") {
        return Err(format!("the source `{source}` starts with `aws.`, which only AWS services may send"));
    }
    Ok(())
}

fn check_detail_type(detail_type: &str) -> Result<(), String> {
    if detail_type.is_empty() || detail_type.chars().count() > MAX_DETAIL_TYPE_CHARS {
        return Err(format!("the detail type `{detail_type}` is not 1 to {MAX_DETAIL_TYPE_CHARS} characters"));
    }
    Ok(())
}

/// One `PutEvents` entry before it becomes an SDK type.
#[derive(Debug, Clone)]
pub struct EventEntry {
    /// `Source`.
    pub source: String,
    /// `DetailType`.
    pub detail_type: String,
    /// `Detail`: the payload, checked to be a JSON object.
    pub detail: Bytes,
    /// `Resources`.
    pub resources: Vec<String>,
}

/// An EventBridge event bus.
#[derive(Debug, Clone)]
pub struct EventBridge {
    client: aws_sdk_eventbridge::Client,
    event_bus: Option<String>,
    source: ValueSource,
    detail_type: ValueSource,
    resources: Vec<ValueSource>,
    limits: Limits,
}

impl EventBridge {
    /// A destination putting events on `config.event_bus` through `client`.
    pub fn new(client: aws_sdk_eventbridge::Client, config: &EventBridgeConfig) -> Self {
        let parse = |t: &str| ValueSource::parse(t).unwrap_or_else(|_| ValueSource::Constant(t.to_owned()));
        Self {
            client,
            event_bus: config.event_bus.clone(),
            source: parse(&config.source),
            detail_type: parse(&config.detail_type),
            resources: config.resources.iter().map(|r| parse(r)).collect(),
            limits: DestinationType::limits(config),
        }
    }

    /// The one event a record becomes: its payload as the detail (no copy),
    /// if it is a JSON object, with its source, detail type and resources.
    /// Whether it is an object comes from the record's JSON view, parsed at
    /// most once per record whoever asks (routes, pointers, this check).
    pub fn prepare_one(&self, record: &Record) -> Result<Prepared<EventEntry>, ItemError> {
        if !record.json().is_some_and(serde_json::Value::is_object) {
            return Err(ItemError::permanent(
                "MalformedDetail",
                "the payload is not a JSON object: an EventBridge event's detail must be one (wrap other payloads with a transform)",
            ));
        }
        let source = self.source.value(record, "source", "InvalidArgument")?;
        check_source(&source).map_err(|why| ItemError::permanent("InvalidArgument", why))?;
        let detail_type = self.detail_type.value(record, "detail_type", "InvalidArgument")?;
        check_detail_type(&detail_type).map_err(|why| ItemError::permanent("InvalidArgument", why))?;
        let resources = self
            .resources
            .iter()
            .map(|r| r.value(record, "resources", "InvalidArgument").map(std::borrow::Cow::into_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let size = source.len() + detail_type.len() + record.data.len() + resources.iter().map(String::len).sum::<usize>();
        if size > self.limits.max_item_bytes {
            return Err(ItemError::permanent(
                "RecordTooLarge",
                format!(
                    "the event is {size} bytes (source, detail type, detail and resources), above the PutEvents limit of {} bytes",
                    self.limits.max_item_bytes
                ),
            ));
        }
        Ok(Prepared {
            entry: EventEntry { source: source.into_owned(), detail_type: detail_type.into_owned(), detail: record.data.clone(), resources },
            size,
        })
    }
}

/// Classify `Entries[i].ErrorCode`: internal failures and throttling are
/// transient; invalid arguments, malformed details and authorization
/// errors permanent; a code not known here is transient (retried within the
/// budget, then reported), as at every destination.
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "InvalidArgument"
        | "MalformedDetail"
        | "AccessDeniedException"
        | "NotAuthorizedForSourceException"
        | "NotAuthorizedForDetailTypeException"
        | "ValidationException"
        | "KmsAccessDenied" => ErrorClass::Permanent,
        "InternalFailure" | "ThrottlingException" => ErrorClass::Transient,
        other => classify_code(other).unwrap_or(ErrorClass::Transient),
    }
}

impl BatchApi for EventBridge {
    type Entry = EventEntry;
    type Request = Vec<PutEventsRequestEntry>;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, _purpose: Purpose, out: &mut Vec<Prepared<EventEntry>>) -> Result<(), ItemError> {
        out.push(self.prepare_one(record)?);
        Ok(())
    }

    /// The SDK takes the detail as a `String`: this is where each payload is copied, once per send.
    fn encode(&self, batch: &[&EventEntry]) -> Result<Vec<PutEventsRequestEntry>, ItemError> {
        batch
            .iter()
            .map(|e| {
                let detail = String::from_utf8(e.detail.to_vec()).map_err(ItemError::construction)?;
                Ok(PutEventsRequestEntry::builder()
                    .source(&e.source)
                    .detail_type(&e.detail_type)
                    .detail(detail)
                    .set_resources((!e.resources.is_empty()).then(|| e.resources.clone()))
                    .set_event_bus_name(self.event_bus.clone())
                    .build())
            })
            .collect()
    }

    async fn send(&self, batch: &[&EventEntry]) -> Result<Vec<ItemResult>, ItemError> {
        let entries = self.encode(batch)?;
        let output = self.client.put_events().set_entries(Some(entries)).send().await.map_err(from_sdk_error)?;
        map_positional("PutEvents", batch.len(), output.entries().iter().map(|e| (e.error_code(), e.error_message())), classify_item_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;

    fn config(yaml: &str) -> EventBridgeConfig {
        serde_saphyr::from_str(yaml).expect("eventbridge config")
    }

    fn dest(yaml: &str) -> EventBridge {
        let client = aws_sdk_eventbridge::Client::from_conf(aws_sdk_eventbridge::Config::builder().behavior_version_latest().build());
        EventBridge::new(client, &config(yaml))
    }

    fn record(data: &str) -> Record {
        Record::new(RecordId::new("4959-1"), "kinesis", Bytes::copy_from_slice(data.as_bytes()))
    }

    fn problems(yaml: &str) -> Vec<String> {
        let mut p = Vec::new();
        DestinationType::validate(&config(yaml), "destinations.e", &mut p);
        p.into_iter().map(|p| p.place).collect()
    }

    const BASE: &str = "source: com.example.telemetry\ndetail_type: /kind\n";

    #[test]
    fn the_bus_source_detail_type_and_limits_are_checked() {
        assert!(problems(BASE).is_empty());
        assert!(problems(&format!("{BASE}event_bus: arn:aws:events:eu-west-1:123456789012:event-bus/ops\n")).is_empty());
        assert_eq!(
            problems(&format!("event_bus: 'has space'\nsource: aws.ec2\ndetail_type: '{}'\nresources: [$nope]\nmax_records: 11\n", "x".repeat(129))),
            [
                "destinations.e.event_bus",
                "destinations.e.source",
                "destinations.e.detail_type",
                "destinations.e.resources",
                "destinations.e.max_records"
            ]
        );
    }

    #[test]
    fn an_event_is_the_payload_as_detail_with_its_size_counted_as_eventbridge_does() {
        let d = dest(&format!("{BASE}resources: [/arn]\nevent_bus: ops\n"));
        let payload = r#"{"kind":"Reading","arn":"arn:aws:iot:eu-west-1:1:thing/t1"}"#;
        let p = d.prepare_one(&record(payload)).expect("prepared");
        assert_eq!((p.entry.source.as_str(), p.entry.detail_type.as_str()), ("com.example.telemetry", "Reading"));
        assert_eq!(p.entry.resources, ["arn:aws:iot:eu-west-1:1:thing/t1"]);
        assert_eq!(p.size, "com.example.telemetry".len() + "Reading".len() + payload.len() + "arn:aws:iot:eu-west-1:1:thing/t1".len());
        let sdk = d.encode(&[&p.entry]).expect("encodes");
        assert_eq!((sdk[0].detail(), sdk[0].event_bus_name()), (Some(payload), Some("ops")));
    }

    #[test]
    fn a_payload_that_is_not_a_json_object_is_refused_with_a_clear_reason() {
        let d = dest(BASE);
        for payload in ["[1,2]", "\"text\"", "not json", "{\"kind\":", ""] {
            let err = d.prepare_one(&record(payload)).unwrap_err();
            assert_eq!((err.code.as_str(), err.is_transient()), ("MalformedDetail", false), "{payload}");
            assert!(err.message.contains("not a JSON object"));
        }
        let err = d.prepare_one(&record(r#"{"other":1}"#)).unwrap_err();
        assert!(err.message.contains("detail_type /kind"), "{err}");
    }

    #[test]
    fn the_object_check_reads_the_records_shared_json_view_projected_or_not() {
        assert_eq!(DestinationType::data_fields(&config(BASE)), DataFields::Fields(["kind".to_owned()].into()));
        assert_eq!(
            DestinationType::data_fields(&config("source: s\ndetail_type: t\n")),
            DataFields::Fields(Default::default()),
            "a parse, no field kept"
        );
        let d = dest("source: s\ndetail_type: t\n");
        for (payload, object) in [(r#"{"a":[1,{"b":2}]}"#, true), ("[1]", false), (r#"{"a":1e400}"#, false)] {
            let r = record(payload);
            r.project_json(&std::sync::Arc::from(Vec::<String>::new()));
            assert_eq!(d.prepare_one(&r).is_ok(), object, "{payload}");
        }
    }

    #[test]
    fn results_map_back_by_position_with_codes_classified() {
        assert_eq!(classify_item_code("ThrottlingException"), ErrorClass::Transient);
        assert_eq!(classify_item_code("MalformedDetail"), ErrorClass::Permanent);
        assert_eq!(classify_item_code("NotAuthorizedForSourceException"), ErrorClass::Permanent);
        assert_eq!(classify_item_code("SomethingNew"), ErrorClass::Transient);
    }
}
