//! Amazon SNS `PublishBatch`, to standard and FIFO topics.
//!
//! Limits (SNS API reference, PublishBatch): at most 10 entries per request;
//! by default a message and all messages of a request together at most
//! 256 KiB (262,144 bytes), raised up to 1 MiB (1,048,576 bytes) by the
//! topic's `MaximumMessageSize` attribute (raise `max_record_bytes` and
//! `max_request_bytes` to match). Entry ids are 1-80 of `[A-Za-z0-9_-]`,
//! unique in the request. A subject is text without line breaks or control
//! characters, under 100 characters. FIFO topics (names ending in `.fifo`) take a
//! `MessageGroupId` and a `MessageDeduplicationId` ([`super::fifo`]),
//! publish a batch in request order per group and deduplicate for 5
//! minutes; the engine keeps order per group ([`crate::deliver::ordered`]).
//! Per-entry failures come back in `Failed[]`, matched by `Id`.

use super::attributes::{sdk_map, AttributeValues, MessageAttributes};
use super::entries::{check_size, map_listed, message_id};
use super::fifo::FifoIds;
use super::registry::{common_fields, CommonFields, DestinationType};
use crate::clients::Clients;
use crate::deliver::api::{BatchApi, ItemResult, Prepared, Purpose};
use crate::error::{classify_code, from_sdk_error, ErrorClass, ItemError};
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{check_limit, problem, Problem};
use crate::value::ValueSource;
use aws_sdk_sns::operation::publish_batch::PublishBatchOutput;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use bytes::Bytes;
use serde::Deserialize;

/// Most entries in one `PublishBatch` request.
pub const MAX_ENTRIES_PER_REQUEST: usize = 10;
/// Largest message and request by default, in bytes (256 KiB).
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024;
/// Largest message and request a topic's `MaximumMessageSize` allows, in bytes (1 MiB).
pub const MAX_BYTES: usize = 1024 * 1024;
/// Longest entry id.
pub const MAX_ENTRY_ID_LEN: usize = 80;
/// A subject has fewer characters than this.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// `type: sns` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    /// `TopicArn`: `arn:aws:sns:<region>:<account>:<name>`.
    pub topic_arn: String,
    /// `Subject`: a value source ([`crate::value`]), for email subscriptions.
    pub subject: Option<String>,
    /// Message attributes: name to value source, sent as `String`s (subscription filter policies read them).
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
    /// `MessageGroupId`: a value source; FIFO default `$key`.
    pub message_group_id: Option<String>,
    /// `MessageDeduplicationId`: a value source, or `content`; FIFO default `$id`.
    pub deduplication_id: Option<String>,
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
    /// The message limit: 256 KiB unless the topic's `MaximumMessageSize` is raised (up to 1 MiB).
    pub max_record_bytes: Option<usize>,
    /// The request limit: 256 KiB unless the topic's `MaximumMessageSize` is raised (up to 1 MiB).
    pub max_request_bytes: Option<usize>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
    /// `per_key` is what a FIFO topic always does (order per message group);
    /// a standard topic keeps no order, and saying `per_key` there is an error.
    pub ordering: Option<super::ordering::Ordering>,
}

common_fields!(SnsConfig);

impl SnsConfig {
    /// Whether the topic is a FIFO topic (its name ends in `.fifo`).
    pub fn is_fifo(&self) -> bool {
        self.topic_arn.ends_with(".fifo")
    }

    fn fifo_ids(&self) -> FifoIds {
        FifoIds::new(self.is_fifo(), self.message_group_id.as_deref(), self.deduplication_id.as_deref())
    }

    fn subject_source(&self) -> Option<ValueSource> {
        self.subject.as_deref().and_then(|s| ValueSource::parse(s).ok())
    }
}

impl DestinationType for SnsConfig {
    type Api = Sns;
    const SEND_ACTIONS: &'static [&'static str] = &["sns:Publish"];

    fn sends_to(&self) -> String {
        self.topic_arn.rsplit(':').next().unwrap_or_default().to_owned()
    }

    fn data_fields(&self) -> DataFields {
        let subject = self.subject_source().map(|s| s.data_fields()).unwrap_or_default();
        DataFields::all([self.fifo_ids().data_fields(), subject, MessageAttributes::new(&self.attributes).data_fields()])
    }

    fn limits(&self) -> Limits {
        Limits {
            max_items: self.max_records.unwrap_or(MAX_ENTRIES_PER_REQUEST),
            max_item_bytes: self.max_record_bytes.unwrap_or(DEFAULT_MAX_BYTES),
            max_request_bytes: self.max_request_bytes.unwrap_or(DEFAULT_MAX_BYTES),
        }
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        if !is_topic_arn(&self.topic_arn) {
            problems.push(problem(
                &format!("{place}.topic_arn"),
                &format!(
                    "`{}` is not a topic ARN (arn:aws:sns:<region>:<account>:<name>, the name 1-256 of [A-Za-z0-9_-], ending in .fifo for a FIFO topic)",
                    self.topic_arn
                ),
            ));
        }
        if let Some(subject) = &self.subject {
            ValueSource::check(problems, &format!("{place}.subject"), subject);
            if let Ok(ValueSource::Constant(text)) = ValueSource::parse(subject) {
                if let Err(why) = check_subject(&text) {
                    problems.push(problem(&format!("{place}.subject"), &why));
                }
            }
        }
        FifoIds::validate(self.is_fifo(), self.message_group_id.as_deref(), self.deduplication_id.as_deref(), place, problems);
        super::ordering::check_fifo_only(problems, place, self.ordering, self.is_fifo(), "topic");
        MessageAttributes::validate(&self.attributes, place, problems);
        check_limit(problems, &format!("{place}.max_records"), self.max_records, MAX_ENTRIES_PER_REQUEST, "PublishBatch");
        check_limit(problems, &format!("{place}.max_record_bytes"), self.max_record_bytes, MAX_BYTES, "PublishBatch");
        check_limit(problems, &format!("{place}.max_request_bytes"), self.max_request_bytes, MAX_BYTES, "PublishBatch");
    }

    fn byte_limit_overrides(&self) -> (Option<usize>, Option<usize>) {
        (self.max_record_bytes, self.max_request_bytes)
    }

    fn api(&self, clients: &Clients) -> Sns {
        Sns::new(clients.sns_for(&self.overrides()), self)
    }
}

/// `arn:<partition>:sns:<region>:<account>:<name>`.
fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_word, partition, service, region, account, name] = parts.as_slice() else { return false };
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    *arn_word == "arn"
        && partition.starts_with("aws")
        && *service == "sns"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !base.is_empty()
        && name.len() <= 256
        && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A subject (SNS API reference, Publish): UTF-8 text with no line breaks or
/// control characters, less than 100 characters.
fn check_subject(text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars == 0 || chars >= MAX_SUBJECT_CHARS || text.chars().any(char::is_control) {
        return Err(format!(
            "the subject `{}` is not 1 to {} characters without line breaks or control characters",
            text.chars().take(120).collect::<String>(),
            MAX_SUBJECT_CHARS - 1
        ));
    }
    Ok(())
}

/// One `PublishBatch` entry before it becomes an SDK type.
#[derive(Debug, Clone)]
pub struct SnsEntry {
    /// The entry id, derived from the record's identity (the same on every resend).
    pub id: String,
    /// The message: the payload, checked to be text.
    pub body: Bytes,
    /// `Subject`, if configured.
    pub subject: Option<String>,
    /// `MessageGroupId`, if the topic takes one.
    pub group: Option<String>,
    /// `MessageDeduplicationId`, if the topic takes one.
    pub dedup: Option<String>,
    /// Message attributes (name, value), sent as `String`s.
    pub attributes: AttributeValues,
}

/// An SNS topic.
#[derive(Debug, Clone)]
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    subject: Option<ValueSource>,
    limits: Limits,
    ids: FifoIds,
    fifo: bool,
    attributes: MessageAttributes,
}

impl Sns {
    /// A destination publishing to `config.topic_arn` through `client`.
    pub fn new(client: aws_sdk_sns::Client, config: &SnsConfig) -> Self {
        Self {
            client,
            topic_arn: config.topic_arn.clone(),
            subject: config.subject_source(),
            limits: DestinationType::limits(config),
            ids: config.fifo_ids(),
            fifo: config.is_fifo(),
            attributes: MessageAttributes::new(&config.attributes),
        }
    }

    /// The one entry a record becomes: its payload as the message (no copy), if it is text.
    pub fn prepare_one(&self, record: &Record) -> Result<Prepared<SnsEntry>, ItemError> {
        let (attributes, attributes_size) = self.attributes.values(record)?;
        let size = record.data.len() + attributes_size;
        check_size(size, &self.limits, "PublishBatch", "the message with its attributes")?;
        let text = std::str::from_utf8(&record.data)
            .map_err(|e| ItemError::permanent("InvalidParameter", format!("the payload is not UTF-8 text ({e}): SNS messages are text")))?;
        if text.is_empty() {
            return Err(ItemError::permanent("InvalidParameter", "the payload is empty: SNS messages are at least 1 character"));
        }
        let subject = match &self.subject {
            None => None,
            Some(source) => {
                let s = source.value(record, "subject", "InvalidParameter")?;
                check_subject(&s).map_err(|why| ItemError::permanent("InvalidParameter", why))?;
                Some(s.into_owned())
            }
        };
        let (group, dedup) = self.ids.ids(record)?;
        Ok(Prepared {
            entry: SnsEntry { id: message_id(&record.id, MAX_ENTRY_ID_LEN), body: record.data.clone(), subject, group, dedup, attributes },
            size,
        })
    }
}

/// Classify `Failed[].Code`: throttling, internal and KMS-throttling errors
/// are transient; invalid parameters, authorization and KMS key states
/// permanent; a code not known here is transient (retried within the
/// budget, then reported), as at every destination.
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "InvalidParameter"
        | "InvalidParameterValue"
        | "ParameterValueInvalid"
        | "AuthorizationError"
        | "NotFound"
        | "EndpointDisabled"
        | "PlatformApplicationDisabled"
        | "InvalidSecurity"
        | "ValidationException"
        | "KMSDisabled"
        | "KMSInvalidState"
        | "KMSNotFound"
        | "KMSOptInRequired"
        | "KMSAccessDenied" => ErrorClass::Permanent,
        "Throttled" | "KMSThrottling" | "InternalError" => ErrorClass::Transient,
        other => classify_code(other).unwrap_or(ErrorClass::Transient),
    }
}

/// Map a `PublishBatch` response to one result per sent entry, by `Id`
/// (an id the answer names in neither list is resent, never assumed published).
pub fn map_response(output: &PublishBatchOutput, sent: &[&SnsEntry]) -> Vec<ItemResult> {
    map_listed(
        "PublishBatch",
        sent.iter().map(|e| e.id.as_str()),
        output.successful().iter().filter_map(|s| s.id()),
        output.failed().iter().map(|f| (f.id(), f.code(), f.message())),
        classify_item_code,
    )
}

/// One `String` attribute value as the SDK takes it.
fn sdk_attribute(value: &str) -> Result<MessageAttributeValue, ItemError> {
    MessageAttributeValue::builder().data_type(super::attributes::DATA_TYPE).string_value(value).build().map_err(ItemError::construction)
}

impl BatchApi for Sns {
    type Entry = SnsEntry;
    type Request = Vec<PublishBatchRequestEntry>;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, _purpose: Purpose, out: &mut Vec<Prepared<SnsEntry>>) -> Result<(), ItemError> {
        out.push(self.prepare_one(record)?);
        Ok(())
    }

    fn order_key<'e>(&self, entry: &'e SnsEntry) -> Option<&'e str> {
        if self.fifo {
            entry.group.as_deref()
        } else {
            None
        }
    }

    /// The SDK takes the message as a `String`: this is where each payload is copied, once per send.
    fn encode(&self, batch: &[&SnsEntry]) -> Result<Vec<PublishBatchRequestEntry>, ItemError> {
        batch
            .iter()
            .map(|e| {
                let message = String::from_utf8(e.body.to_vec()).map_err(ItemError::construction)?;
                PublishBatchRequestEntry::builder()
                    .id(&e.id)
                    .message(message)
                    .set_subject(e.subject.clone())
                    .set_message_group_id(e.group.clone())
                    .set_message_deduplication_id(e.dedup.clone())
                    .set_message_attributes(sdk_map(&e.attributes, sdk_attribute)?)
                    .build()
                    .map_err(ItemError::construction)
            })
            .collect()
    }

    async fn send(&self, batch: &[&SnsEntry]) -> Result<Vec<ItemResult>, ItemError> {
        let entries = self.encode(batch)?;
        let output = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(from_sdk_error)?;
        Ok(map_response(&output, batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;
    use aws_sdk_sns::types::{BatchResultErrorEntry, PublishBatchResultEntry};

    fn config(yaml: &str) -> SnsConfig {
        serde_saphyr::from_str(yaml).expect("sns config")
    }

    fn dest(yaml: &str) -> Sns {
        let client = aws_sdk_sns::Client::from_conf(aws_sdk_sns::Config::builder().behavior_version_latest().build());
        Sns::new(client, &config(yaml))
    }

    fn record(id: &str, data: &[u8]) -> Record {
        Record::new(RecordId::new(id), "kinesis", Bytes::copy_from_slice(data)).with_key("dev-1")
    }

    fn problems(yaml: &str) -> Vec<String> {
        let mut p = Vec::new();
        DestinationType::validate(&config(yaml), "destinations.t", &mut p);
        p.into_iter().map(|p| p.place).collect()
    }

    const ARN: &str = "topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts\n";
    const FIFO: &str = "topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts.fifo\n";

    #[test]
    fn the_topic_subject_ids_and_limits_are_checked() {
        assert!(problems(ARN).is_empty());
        assert!(problems(FIFO).is_empty());
        assert_eq!(problems("topic_arn: alerts\n"), ["destinations.t.topic_arn"]);
        assert_eq!(problems("topic_arn: arn:aws:sqs:eu-west-1:123456789012:alerts\n"), ["destinations.t.topic_arn"]);
        assert_eq!(
            problems(&format!("{ARN}subject: \"line\\nbreak\"\ndeduplication_id: $id\nmax_records: 11\nmax_record_bytes: 2000000\n")),
            ["destinations.t.subject", "destinations.t.deduplication_id", "destinations.t.max_records", "destinations.t.max_record_bytes"]
        );
        assert!(problems(&format!("{ARN}max_record_bytes: 1048576\nmax_request_bytes: 1048576\n")).is_empty(), "a raised topic limit");
    }

    #[test]
    fn the_default_limit_is_the_topics_default_256_kib() {
        let limits = DestinationType::limits(&config(ARN));
        assert_eq!((limits.max_items, limits.max_item_bytes, limits.max_request_bytes), (10, 262_144, 262_144));
    }

    #[test]
    fn entries_carry_the_message_subject_and_fifo_ids() {
        let d = dest(&format!("{FIFO}subject: /title\n"));
        let p = d.prepare_one(&record("4959-1", br#"{"title":"Overheating","t":99}"#)).expect("prepared");
        assert_eq!(
            (p.entry.subject.as_deref(), p.entry.group.as_deref(), p.entry.dedup.as_deref()),
            (Some("Overheating"), Some("dev-1"), Some("4959-1"))
        );
        assert_eq!(d.order_key(&p.entry), Some("dev-1"));
        let sdk = d.encode(&[&p.entry]).expect("encodes");
        assert_eq!((sdk[0].id(), sdk[0].subject(), sdk[0].message_group_id()), ("4959-1", Some("Overheating"), Some("dev-1")));
        assert_eq!(sdk[0].message(), r#"{"title":"Overheating","t":99}"#);
        let standard = dest(ARN);
        let p = standard.prepare_one(&record("1", b"x")).expect("prepared");
        assert_eq!((p.entry.group.as_deref(), p.entry.dedup.as_deref()), (None, None));
        let grouped = SnsEntry { group: Some("g".into()), ..p.entry };
        assert_eq!(standard.order_key(&grouped), None, "standard topics keep no order");
    }

    #[test]
    fn payloads_sns_cannot_take_are_refused_before_sending() {
        let d = dest(&format!("{ARN}max_record_bytes: 16\nsubject: /s\n"));
        for (payload, why) in [(&b"\xff"[..], "not UTF-8"), (b"", "empty"), (b"12345678901234567", "above"), (br#"{"s":"a\nb"}"#, "line breaks")] {
            let err = d.prepare_one(&record("1", payload)).unwrap_err();
            assert!(!err.is_transient() && err.message.contains(why), "{payload:?}: {err}");
        }
    }

    #[test]
    fn failed_entries_map_back_by_id_and_unanswered_ones_are_resent() {
        let out = PublishBatchOutput::builder()
            .successful(PublishBatchResultEntry::builder().id("a").message_id("m").build())
            .failed(BatchResultErrorEntry::builder().id("b").code("InvalidParameter").sender_fault(true).build().expect("entry"))
            .failed(BatchResultErrorEntry::builder().id("c").code("Throttled").sender_fault(false).build().expect("entry"))
            .build();
        let entries: Vec<SnsEntry> = ["a", "b", "c", "d"]
            .iter()
            .map(|id| SnsEntry { id: (*id).into(), body: Bytes::from_static(b"x"), subject: None, group: None, dedup: None, attributes: Vec::new() })
            .collect();
        let sent: Vec<&SnsEntry> = entries.iter().collect();
        let results = map_response(&out, &sent);
        assert!(results[0].is_ok());
        assert!(!results[1].as_ref().unwrap_err().is_transient());
        assert!(results[2].as_ref().unwrap_err().is_transient());
        assert_eq!(results[3].as_ref().unwrap_err().code, "InvalidResponse");
        assert_eq!(classify_item_code("BrandNew"), ErrorClass::Transient);
    }

    #[test]
    fn attributes_are_sent_as_strings_and_counted_in_the_size() {
        let d = dest(&format!("{ARN}attributes: {{ severity: /level }}\n"));
        let p = d.prepare_one(&record("1", br#"{"level":"high"}"#)).expect("prepared");
        assert_eq!(p.size, 16 + "severity".len() + 6 + 4);
        let sdk = d.encode(&[&p.entry]).expect("encodes");
        assert_eq!(sdk[0].message_attributes().and_then(|a| a["severity"].string_value()), Some("high"));
    }
}
