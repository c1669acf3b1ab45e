//! Amazon SQS `SendMessageBatch`, to standard queues.
//!
//! Limits (SQS API reference, SendMessageBatch; SQS quotas, raised on
//! 2025-08-04): at most 10 entries per request; a message at most 1 MiB
//! (1,048,576 bytes) and all messages of a request together at most 1 MiB (a
//! queue's `MaximumMessageSize` may be lower: lower `max_record_bytes` to
//! match). Entry ids are 1-80 of `[A-Za-z0-9_-]`, unique in the request.
//! The body is text of the characters `#x9 #xA #xD #x20-#xD7FF
//! #xE000-#xFFFD #x10000-#x10FFFF`; `DelaySeconds` 0-900. Per-entry failures
//! come back in `Failed[]`, matched by `Id`; every sent id is in `Successful[]`
//! or `Failed[]`.
//!
//! FIFO queues (names ending in `.fifo`) take a `MessageGroupId` and a
//! `MessageDeduplicationId` per message ([`super::fifo`]) and keep order per
//! group, which the engine keeps too ([`crate::deliver::ordered`]); their
//! messages take no `DelaySeconds` (a FIFO queue delays at the queue level).

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
use crate::validation::{check_limit, check_range, problem, Problem};
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use bytes::Bytes;
use serde::Deserialize;

/// Most entries in one `SendMessageBatch` request.
pub const MAX_ENTRIES_PER_REQUEST: usize = 10;
/// Largest message body, in bytes (1 MiB).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Largest request, summing the bodies, in bytes (1 MiB).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Longest entry id.
pub const MAX_ENTRY_ID_LEN: usize = 80;
/// Longest `DelaySeconds`.
pub const MAX_DELAY_SECONDS: usize = 900;

/// `type: sqs` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    /// `QueueUrl`: `https://sqs.<region>.amazonaws.com/<account>/<name>`
    /// (or `queue_name` and `account_id`).
    pub queue_url: Option<String>,
    /// The queue's name, with `account_id` (and `region`, else the function's), instead of `queue_url`.
    pub queue_name: Option<String>,
    /// The account that owns `queue_name`.
    pub account_id: Option<String>,
    /// Message attributes: name to value source ([`crate::value`]), sent as `String`s.
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
    /// `DelaySeconds` for every message (0-900; default: the queue's; standard queues only).
    pub delay_seconds: Option<usize>,
    /// `MessageGroupId`: a value source ([`crate::value`]); FIFO default `$key`.
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
    /// Lower the 1 MiB message limit (to the queue's `MaximumMessageSize`).
    pub max_record_bytes: Option<usize>,
    /// Lower the 1 MiB request limit.
    pub max_request_bytes: Option<usize>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
    /// `per_key` is what a FIFO queue always does (order per message group);
    /// a standard queue keeps no order, and saying `per_key` there is an error.
    pub ordering: Option<super::ordering::Ordering>,
}

common_fields!(SqsConfig);

impl DestinationType for SqsConfig {
    type Api = Sqs;
    const SEND_ACTIONS: &'static [&'static str] = &["sqs:SendMessage"];

    fn sends_to(&self) -> String {
        self.name().to_owned()
    }

    fn data_fields(&self) -> DataFields {
        DataFields::all([self.fifo_ids().data_fields(), MessageAttributes::new(&self.attributes).data_fields()])
    }

    fn limits(&self) -> Limits {
        Limits {
            max_items: self.max_records.unwrap_or(MAX_ENTRIES_PER_REQUEST),
            max_item_bytes: self.max_record_bytes.unwrap_or(MAX_MESSAGE_BYTES),
            max_request_bytes: self.max_request_bytes.unwrap_or(MAX_REQUEST_BYTES),
        }
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        match (&self.queue_url, &self.queue_name, &self.account_id) {
            (Some(url), None, None) => {
                let path = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).and_then(|rest| rest.split_once('/')).map(|(_, p)| p);
                if !path.and_then(|p| p.rsplit_once('/')).is_some_and(|(_, n)| is_queue_name(n)) {
                    problems.push(problem(
                        &format!("{place}.queue_url"),
                        &format!("`{url}` is not a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>, the name 1-80 of [A-Za-z0-9_-])"),
                    ));
                }
            }
            (None, Some(name), Some(account)) => {
                if !is_queue_name(name) {
                    problems.push(problem(
                        &format!("{place}.queue_name"),
                        &format!("`{name}` is not a queue name (1-80 of [A-Za-z0-9_-], .fifo for a FIFO queue)"),
                    ));
                }
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    problems.push(problem(&format!("{place}.account_id"), &format!("`{account}` is not an account id (12 digits)")));
                }
            }
            (None, Some(_), None) => problems.push(problem(&format!("{place}.account_id"), "queue_name needs the account_id that owns the queue")),
            _ => problems.push(problem(place, "name the queue with queue_url, or with queue_name and account_id, not both")),
        }
        MessageAttributes::validate(&self.attributes, place, problems);
        if let Some(delay) = self.delay_seconds {
            if self.is_fifo() {
                problems.push(problem(&format!("{place}.delay_seconds"), "FIFO queues take no per-message delay (set DelaySeconds on the queue)"));
            } else {
                check_range(problems, &format!("{place}.delay_seconds"), delay, 0, MAX_DELAY_SECONDS);
            }
        }
        FifoIds::validate(self.is_fifo(), self.message_group_id.as_deref(), self.deduplication_id.as_deref(), place, problems);
        super::ordering::check_fifo_only(problems, place, self.ordering, self.is_fifo(), "queue");
        check_limit(problems, &format!("{place}.max_records"), self.max_records, MAX_ENTRIES_PER_REQUEST, "SendMessageBatch");
        check_limit(problems, &format!("{place}.max_record_bytes"), self.max_record_bytes, MAX_MESSAGE_BYTES, "SendMessageBatch");
        check_limit(problems, &format!("{place}.max_request_bytes"), self.max_request_bytes, MAX_REQUEST_BYTES, "SendMessageBatch");
    }

    fn byte_limit_overrides(&self) -> (Option<usize>, Option<usize>) {
        (self.max_record_bytes, self.max_request_bytes)
    }

    fn api(&self, clients: &Clients) -> Sqs {
        Sqs::new(clients.sqs_for(&self.overrides()), self)
    }
}

impl SqsConfig {
    /// Whether the queue is a FIFO queue (its name ends in `.fifo`).
    pub fn is_fifo(&self) -> bool {
        self.name().ends_with(".fifo")
    }

    /// The queue's name: `queue_name`, or the last segment of `queue_url`.
    pub fn name(&self) -> &str {
        match (&self.queue_name, &self.queue_url) {
            (Some(name), _) => name,
            (None, Some(url)) => url.rsplit('/').next().unwrap_or_default(),
            (None, None) => "",
        }
    }

    /// The queue URL: `queue_url`, or built from `queue_name`, `account_id`
    /// and the region (the destination's, else `default_region`).
    pub fn url(&self, default_region: &str) -> String {
        match (&self.queue_url, &self.queue_name, &self.account_id) {
            (Some(url), _, _) => url.clone(),
            (None, name, account) => {
                let region = self.region.as_deref().unwrap_or(default_region);
                format!("https://sqs.{region}.amazonaws.com/{}/{}", account.as_deref().unwrap_or_default(), name.as_deref().unwrap_or_default())
            }
        }
    }

    fn fifo_ids(&self) -> FifoIds {
        FifoIds::new(self.is_fifo(), self.message_group_id.as_deref(), self.deduplication_id.as_deref())
    }
}

/// A queue name: 1-80 of `[A-Za-z0-9_-]`, with `.fifo` at the end of a FIFO queue's.
fn is_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty() && name.len() <= 80 && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether every character may be in a message body.
fn is_message_text(text: &str) -> bool {
    text.chars().all(|c| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
}

/// One `SendMessageBatch` entry before it becomes an SDK type.
#[derive(Debug, Clone)]
pub struct SqsEntry {
    /// The entry id, derived from the record's identity (the same on every resend).
    pub id: String,
    /// The body: the payload, checked to be message text.
    pub body: Bytes,
    /// `MessageGroupId`, if the queue takes one.
    pub group: Option<String>,
    /// `MessageDeduplicationId`, if the queue takes one.
    pub dedup: Option<String>,
    /// Message attributes (name, value), sent as `String`s.
    pub attributes: AttributeValues,
}

/// An SQS queue.
#[derive(Debug, Clone)]
pub struct Sqs {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    delay_seconds: Option<i32>,
    limits: Limits,
    ids: FifoIds,
    fifo: bool,
    attributes: MessageAttributes,
}

impl Sqs {
    /// A destination sending to the config's queue through `client` (whose
    /// region completes a URL built from `queue_name`).
    pub fn new(client: aws_sdk_sqs::Client, config: &SqsConfig) -> Self {
        let region = client.config().region().map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
        Self {
            queue_url: config.url(&region),
            client,
            delay_seconds: config.delay_seconds.and_then(|d| i32::try_from(d).ok()),
            limits: DestinationType::limits(config),
            ids: config.fifo_ids(),
            fifo: config.is_fifo(),
            attributes: MessageAttributes::new(&config.attributes),
        }
    }

    /// The one entry a record becomes: its payload as the body (no copy), if it is message text.
    pub fn prepare_one(&self, record: &Record) -> Result<Prepared<SqsEntry>, ItemError> {
        let (attributes, attributes_size) = self.attributes.values(record)?;
        if let Some((name, _)) = attributes.iter().find(|(_, v)| !is_message_text(v)) {
            return Err(ItemError::permanent("InvalidAttributeValue", format!("attribute {name} holds characters SQS refuses (as in a body)")));
        }
        let size = record.data.len() + attributes_size;
        check_size(size, &self.limits, "SendMessageBatch", "the message with its attributes")?;
        let text = std::str::from_utf8(&record.data)
            .map_err(|e| ItemError::permanent("InvalidMessageContents", format!("the payload is not UTF-8 text ({e}): SQS bodies are text")))?;
        if text.is_empty() {
            return Err(ItemError::permanent("InvalidMessageContents", "the payload is empty: SQS bodies are at least 1 character"));
        }
        if !is_message_text(text) {
            return Err(ItemError::permanent(
                "InvalidMessageContents",
                "the payload holds characters SQS refuses (control characters other than tab, newline and carriage return, or U+FFFE/U+FFFF)",
            ));
        }
        let (group, dedup) = self.ids.ids(record)?;
        Ok(Prepared { entry: SqsEntry { id: message_id(&record.id, MAX_ENTRY_ID_LEN), body: record.data.clone(), group, dedup, attributes }, size })
    }
}

/// Classify `Failed[].Code`. SQS documents no per-entry codes: throttling,
/// internal errors and unavailability are transient; invalid parameters and
/// contents permanent; a code not known here is transient (retried within
/// the budget, then reported), as at every destination.
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "InvalidParameterValue"
        | "InvalidMessageContents"
        | "MissingParameter"
        | "InvalidAttributeName"
        | "InvalidAttributeValue"
        | "UnsupportedOperation"
        | "AccessDenied"
        | "KmsAccessDenied"
        | "KmsDisabled"
        | "KmsInvalidState"
        | "KmsInvalidKeyUsage"
        | "KmsNotFound" => ErrorClass::Permanent,
        "RequestThrottled" | "KmsThrottled" => ErrorClass::Transient,
        other => classify_code(other).unwrap_or(ErrorClass::Transient),
    }
}

/// Map a `SendMessageBatch` response to one result per sent entry, by `Id`.
/// An id the answer names in neither list is a transient failure: its fate
/// is unknown, so it is resent, never assumed delivered.
pub fn map_response(output: &SendMessageBatchOutput, sent: &[&SqsEntry]) -> Vec<ItemResult> {
    map_listed(
        "SendMessageBatch",
        sent.iter().map(|e| e.id.as_str()),
        output.successful().iter().map(|s| s.id()),
        output.failed().iter().map(|f| (f.id(), f.code(), f.message())),
        classify_item_code,
    )
}

/// One `String` attribute value as the SDK takes it.
fn sdk_attribute(value: &str) -> Result<MessageAttributeValue, ItemError> {
    MessageAttributeValue::builder().data_type(super::attributes::DATA_TYPE).string_value(value).build().map_err(ItemError::construction)
}

impl BatchApi for Sqs {
    type Entry = SqsEntry;
    type Request = Vec<SendMessageBatchRequestEntry>;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, _purpose: Purpose, out: &mut Vec<Prepared<SqsEntry>>) -> Result<(), ItemError> {
        out.push(self.prepare_one(record)?);
        Ok(())
    }

    fn order_key<'e>(&self, entry: &'e SqsEntry) -> Option<&'e str> {
        if self.fifo {
            entry.group.as_deref()
        } else {
            None
        }
    }

    /// The SDK takes the body as a `String`: this is where each payload is copied, once per send.
    fn encode(&self, batch: &[&SqsEntry]) -> Result<Vec<SendMessageBatchRequestEntry>, ItemError> {
        batch
            .iter()
            .map(|e| {
                let body = String::from_utf8(e.body.to_vec()).map_err(ItemError::construction)?;
                SendMessageBatchRequestEntry::builder()
                    .id(&e.id)
                    .message_body(body)
                    .set_delay_seconds(self.delay_seconds)
                    .set_message_group_id(e.group.clone())
                    .set_message_deduplication_id(e.dedup.clone())
                    .set_message_attributes(sdk_map(&e.attributes, sdk_attribute)?)
                    .build()
                    .map_err(ItemError::construction)
            })
            .collect()
    }

    async fn send(&self, batch: &[&SqsEntry]) -> Result<Vec<ItemResult>, ItemError> {
        let entries = self.encode(batch)?;
        let output = self.client.send_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await.map_err(from_sdk_error)?;
        Ok(map_response(&output, batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;
    use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};

    fn config(yaml: &str) -> SqsConfig {
        serde_saphyr::from_str(yaml).expect("sqs config")
    }

    fn dest(yaml: &str) -> Sqs {
        let client = aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::Config::builder().behavior_version_latest().build());
        Sqs::new(client, &config(yaml))
    }

    fn record(id: &str, data: &[u8]) -> Record {
        Record::new(RecordId::new(id), "kinesis", Bytes::copy_from_slice(data))
    }

    fn problems(yaml: &str) -> Vec<Problem> {
        let mut p = Vec::new();
        DestinationType::validate(&config(yaml), "destinations.q", &mut p);
        p
    }

    const URL: &str = "queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/orders\n";

    #[test]
    fn failed_entries_map_back_by_id_and_unanswered_ones_are_resent() {
        let ok = |id: &str| SendMessageBatchResultEntry::builder().id(id).message_id("m").md5_of_message_body("x").build().expect("entry");
        let failed =
            |id: &str, code: &str| BatchResultErrorEntry::builder().id(id).sender_fault(true).code(code).message("msg").build().expect("entry");
        let out = SendMessageBatchOutput::builder()
            .successful(ok("a"))
            .failed(failed("b", "InvalidMessageContents"))
            .failed(failed("c", "InternalError"))
            .build()
            .expect("output");
        let entries: Vec<SqsEntry> = ["a", "b", "c", "d"]
            .iter()
            .map(|id| SqsEntry { id: (*id).into(), body: Bytes::from_static(b"x"), group: None, dedup: None, attributes: Vec::new() })
            .collect();
        let sent: Vec<&SqsEntry> = entries.iter().collect();
        let results = map_response(&out, &sent);
        assert!(results[0].is_ok());
        assert_eq!(results[1].as_ref().unwrap_err().class, ErrorClass::Permanent);
        assert_eq!(results[2].as_ref().unwrap_err().class, ErrorClass::Transient);
        assert_eq!(results[3].as_ref().unwrap_err().code, "InvalidResponse", "no answer is not a success");
    }

    #[test]
    fn unknown_codes_are_retried_and_throttling_is_transient() {
        assert_eq!(classify_item_code("SomethingNew"), ErrorClass::Transient);
        assert_eq!(classify_item_code("RequestThrottled"), ErrorClass::Transient);
        assert_eq!(classify_item_code("InvalidParameterValue"), ErrorClass::Permanent);
    }

    #[test]
    fn only_message_text_within_the_limit_is_prepared() {
        let d = dest(&format!("{URL}max_record_bytes: 8\n"));
        let entry = d.prepare_one(&record("49-1", b"{\"a\":1}")).expect("text");
        assert_eq!((entry.entry.id.as_str(), entry.size), ("49-1", 7));
        for (payload, why) in [(&b"\xff\xfe"[..], "not UTF-8"), (b"", "empty"), (b"a\x01b", "characters SQS refuses"), (b"123456789", "above")] {
            let err = d.prepare_one(&record("1", payload)).unwrap_err();
            assert_eq!(err.class, ErrorClass::Permanent);
            assert!(err.message.contains(why), "{payload:?}: {err}");
        }
    }

    #[test]
    fn the_queue_url_delay_and_limits_are_checked() {
        assert!(problems(URL).is_empty());
        let places = |p: Vec<Problem>| p.into_iter().map(|p| p.place).collect::<Vec<_>>();
        assert_eq!(places(problems("queue_url: orders\n")), ["destinations.q.queue_url"]);
        assert!(problems("queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/a.fifo\n").is_empty());
        assert_eq!(
            places(problems("queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/a.fifo\ndelay_seconds: 5\n")),
            ["destinations.q.delay_seconds"],
            "FIFO queues delay at the queue level"
        );
        assert_eq!(places(problems(&format!("{URL}deduplication_id: $id\n"))), ["destinations.q.deduplication_id"]);
        assert_eq!(places(problems(&format!("{URL}ordering: per_key\n"))), ["destinations.q.ordering"], "a standard queue keeps no order");
        assert!(problems(&format!("{FIFO}ordering: per_key\n")).is_empty(), "a FIFO queue keeps it per group anyway");
        assert_eq!(
            places(problems(&format!("{URL}delay_seconds: 901\nmax_records: 11\nmax_record_bytes: 0\n"))),
            ["destinations.q.delay_seconds", "destinations.q.max_records", "destinations.q.max_record_bytes"]
        );
    }

    #[test]
    fn encoded_entries_carry_the_id_the_body_and_the_delay() {
        let d = dest(&format!("{URL}delay_seconds: 5\n"));
        let entries = [SqsEntry { id: "r-1".into(), body: Bytes::from_static(b"{\"a\":1}"), group: None, dedup: None, attributes: Vec::new() }];
        let sdk = d.encode(&[&entries[0]]).expect("encodes");
        assert_eq!((sdk[0].id(), sdk[0].message_body(), sdk[0].delay_seconds()), ("r-1", "{\"a\":1}", Some(5)));
    }

    const FIFO: &str = "queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo\n";

    #[test]
    fn fifo_entries_carry_their_group_and_deduplication_id_and_keep_order_by_group() {
        let d = dest(&format!("{FIFO}message_group_id: /device\n"));
        let r = record("4959-7", br#"{"device":"d-1"}"#);
        let prepared = d.prepare_one(&r).expect("prepared");
        assert_eq!(prepared.entry.group.as_deref(), Some("d-1"));
        assert_eq!(prepared.entry.dedup.as_deref(), Some("4959-7"), "the source identity by default");
        assert_eq!(d.order_key(&prepared.entry), Some("d-1"));
        let sdk = d.encode(&[&prepared.entry]).expect("encodes");
        assert_eq!((sdk[0].message_group_id(), sdk[0].message_deduplication_id()), (Some("d-1"), Some("4959-7")));
        let standard = dest(&format!("{URL}message_group_id: /device\n"));
        let p = standard.prepare_one(&r).expect("prepared");
        assert_eq!((p.entry.group.as_deref(), standard.order_key(&p.entry)), (Some("d-1"), None), "fair queues: a group, no order");
    }

    #[test]
    fn attributes_are_read_per_record_sent_as_strings_and_counted_in_the_size() {
        let d = dest(&format!("{URL}attributes: {{ device: /device, origin: fanout }}\n"));
        let p = d.prepare_one(&record("1", br#"{"device":"d-1"}"#)).expect("prepared");
        assert_eq!(p.size, 16 + ("device".len() + 6 + 3) + ("origin".len() + 6 + 6), "body and attributes, as SQS counts them");
        let sdk = d.encode(&[&p.entry]).expect("encodes");
        let attrs = sdk[0].message_attributes().expect("attributes");
        assert_eq!((attrs["device"].string_value(), attrs["device"].data_type()), (Some("d-1"), "String"));
        assert_eq!(attrs["origin"].string_value(), Some("fanout"));
        assert!(d.prepare_one(&record("2", br#"{"other":1}"#)).unwrap_err().message.contains("attribute device"));
    }

    #[test]
    fn a_queue_may_be_named_by_name_and_account_in_the_destinations_or_the_functions_region() {
        let by_name = config("queue_name: orders.fifo\naccount_id: '210987654321'\nregion: eu-west-1\n");
        assert!(problems("queue_name: orders.fifo\naccount_id: '210987654321'\n").is_empty());
        assert_eq!(by_name.url("us-east-1"), "https://sqs.eu-west-1.amazonaws.com/210987654321/orders.fifo");
        assert!(by_name.is_fifo());
        assert_eq!(config("queue_name: q\naccount_id: '210987654321'\n").url("us-east-2"), "https://sqs.us-east-2.amazonaws.com/210987654321/q");
        let places = |p: Vec<Problem>| p.into_iter().map(|p| p.place).collect::<Vec<_>>();
        assert_eq!(places(problems("queue_name: q\n")), ["destinations.q.account_id"]);
        assert_eq!(places(problems("queue_name: q\naccount_id: '12'\n")), ["destinations.q.account_id"]);
        assert_eq!(places(problems(&format!("{URL}queue_name: q\n"))), ["destinations.q"], "both ways at once");
        assert_eq!(places(problems("delay_seconds: 1\n")), ["destinations.q"], "neither");
    }
}
