//! Amazon Kinesis Data Streams `PutRecords`, and Kinesis-compatible services
//! (Yandex Data Streams) through `endpoint_url`.
//!
//! Limits (Kinesis API reference, PutRecords): at most 500 records per
//! request; each record's data plus partition key at most 1 MiB, the request
//! at most 5 MiB including partition keys. Streams opted in to large records
//! (2025) accept up to 10 MiB per record and request: raise
//! `max_record_bytes` / `max_request_bytes` for those. Partition keys are
//! 1-256 Unicode characters. Per-record failures come back positionally in
//! `Records`.
//!
//! With `aggregate: kpl`, records are combined into KPL aggregates before
//! they are packed ([`aggregate`]); each aggregate is one Kinesis record
//! that succeeds or fails whole.

pub mod aggregate;

use super::entries::{check_size, map_positional};
use super::ordering::Ordering;
use super::registry::{common_fields, CommonFields, DestinationType};
use super::request_body::{base64_len, replace_body, JsonBody};
use super::response_body::{EntryError, LeanAnswers};
use crate::clients::Clients;
use crate::deliver::api::Combined;
use crate::deliver::api::{BatchApi, ItemResult, Prepared, Purpose};
use crate::error::{classify_code, from_sdk_error, ErrorClass, ItemError};
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{check_limit, check_name, Problem};
use crate::value::ValueSource;
use aws_sdk_kinesis::types::PutRecordsResultEntry;
use aws_smithy_runtime_api::client::interceptors::context::Output;
use bytes::Bytes;
use serde::Deserialize;

/// Most records in one `PutRecords` request.
pub const MAX_RECORDS_PER_REQUEST: usize = 500;
/// Default largest record (data + partition key), in bytes: 1 MiB.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Default largest request (data + partition keys), in bytes: 5 MiB.
pub const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;
/// Largest record and request for streams opted in to large records: 10 MiB.
pub const LARGE_RECORD_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Longest partition key, in Unicode characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;
/// Longest stream name.
pub const MAX_STREAM_NAME_LEN: usize = 128;
/// A PUT payload unit, what provisioned streams bill each record by (25 KiB or part of it).
pub const PUT_PAYLOAD_UNIT_BYTES: usize = 25 * 1024;
/// The smallest `aggregate_max_bytes` (room for a few small records).
pub const MIN_AGGREGATE_BYTES: usize = 1024;
/// The most `aggregate_shards`.
pub const MAX_AGGREGATE_SHARDS: u32 = 100_000;

/// How records are combined into Kinesis records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateFormat {
    /// The Kinesis Producer Library's aggregated record format.
    Kpl,
}

/// `type: kinesis` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinesisConfig {
    /// `StreamName` (or a Yandex Data Streams path with `endpoint_url`).
    pub stream: Option<String>,
    /// `StreamARN`, instead of `stream`.
    pub stream_arn: Option<String>,
    /// The partition key: a value source ([`crate::value`]: a JSON Pointer
    /// into the payload, `$key`, `$id`, `= <jq>` or a constant); default: the
    /// source record's key, else its identity.
    pub partition_key: Option<String>,
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
    /// Lower the 500-records-per-request limit.
    pub max_records: Option<usize>,
    /// Lower the 1 MiB record limit (or raise it up to 10 MiB for opted-in streams).
    pub max_record_bytes: Option<usize>,
    /// Lower the 5 MiB request limit (or raise it up to 10 MiB for opted-in streams).
    pub max_request_bytes: Option<usize>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
    /// `per_key`: records of one partition key reach the stream in source
    /// order ([`super::ordering`]).
    pub ordering: Option<Ordering>,
    /// `kpl`: many records per Kinesis record, in the KPL's aggregated
    /// format ([`aggregate`]); consumers must deaggregate.
    pub aggregate: Option<AggregateFormat>,
    /// The largest aggregate (data and partition key, as `PutRecords`
    /// counts a record); default: the record limit.
    pub aggregate_max_bytes: Option<usize>,
    /// The stream's open shards, when their hash-key ranges are evenly split:
    /// aggregate the records of one shard together instead of the records of
    /// one partition key ([`aggregate::Grouping`]).
    pub aggregate_shards: Option<u32>,
}

common_fields!(KinesisConfig);

impl DestinationType for KinesisConfig {
    type Api = Kinesis;
    const SEND_ACTIONS: &'static [&'static str] = &["kinesis:PutRecords"];
    const TAKES_DEAD_LETTERS: bool = true;

    fn sends_to(&self) -> String {
        self.stream.clone().or_else(|| self.stream_arn.clone()).unwrap_or_default()
    }

    fn data_fields(&self) -> DataFields {
        DataFields::all(self.partition_key.iter().filter_map(|p| ValueSource::parse(p).ok()).map(|s| s.data_fields()).collect::<Vec<_>>())
    }

    fn byte_limit_overrides(&self) -> (Option<usize>, Option<usize>) {
        (self.max_record_bytes, self.max_request_bytes)
    }

    fn api(&self, clients: &Clients) -> Kinesis {
        Kinesis::new(clients.kinesis_for(&self.overrides()), self)
    }

    fn combining(&self) -> Option<String> {
        let (grouping, max) = self.aggregation()?;
        let by = match grouping {
            aggregate::Grouping::PartitionKey => "one partition key".to_owned(),
            aggregate::Grouping::EvenShards(n) => format!("one of {n} even shards"),
        };
        Some(format!("KPL aggregates of {by}, up to {max} B"))
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        match (&self.stream, &self.stream_arn) {
            (Some(name), None) => {
                // Compatible services name streams their own way (Yandex: /ru-central1/<folder>/<db>/<stream>).
                if self.endpoint_url.is_none() {
                    check_name(problems, &format!("{place}.stream"), name, MAX_STREAM_NAME_LEN, is_name_char, "[a-zA-Z0-9_.-]+");
                } else if name.is_empty() {
                    problems.push(Problem { place: format!("{place}.stream"), message: "cannot be empty".into() });
                }
            }
            (None, Some(arn)) => {
                if !is_stream_arn(arn) {
                    problems.push(Problem {
                        place: format!("{place}.stream_arn"),
                        message: format!("`{arn}` is not a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)"),
                    });
                }
            }
            _ => problems.push(Problem { place: place.to_owned(), message: "set exactly one of `stream` and `stream_arn`".into() }),
        }
        if let Some(source) = &self.partition_key {
            ValueSource::check(problems, &format!("{place}.partition_key"), source);
        }
        check_limit(problems, &format!("{place}.max_records"), self.max_records, MAX_RECORDS_PER_REQUEST, "PutRecords");
        check_limit(
            problems,
            &format!("{place}.max_record_bytes"),
            self.max_record_bytes,
            LARGE_RECORD_MAX_BYTES,
            "PutRecords (large-record opt-in)",
        );
        self.validate_aggregation(place, problems);
        check_limit(
            problems,
            &format!("{place}.max_request_bytes"),
            self.max_request_bytes,
            LARGE_RECORD_MAX_BYTES,
            "PutRecords (large-record opt-in)",
        );
    }

    fn limits(&self) -> Limits {
        Limits {
            max_items: self.max_records.unwrap_or(MAX_RECORDS_PER_REQUEST),
            max_item_bytes: self.max_record_bytes.unwrap_or(MAX_RECORD_BYTES),
            max_request_bytes: self.max_request_bytes.unwrap_or(MAX_REQUEST_BYTES),
        }
    }
}

impl KinesisConfig {
    /// `aggregate_max_bytes` and `aggregate_shards` need `aggregate` and
    /// fit the record limit; ordering goes by partition key, so a shard's
    /// aggregates must not mix keys it orders apart.
    fn validate_aggregation(&self, place: &str, problems: &mut Vec<Problem>) {
        let record_limit = self.max_record_bytes.unwrap_or(MAX_RECORD_BYTES);
        if self.aggregate.is_none() {
            for (field, set) in [("aggregate_max_bytes", self.aggregate_max_bytes.is_some()), ("aggregate_shards", self.aggregate_shards.is_some())] {
                if set {
                    problems.push(Problem { place: format!("{place}.{field}"), message: "applies only with `aggregate: kpl`".into() });
                }
            }
        }
        if let Some(max) = self.aggregate_max_bytes {
            if !(MIN_AGGREGATE_BYTES..=record_limit).contains(&max) {
                problems.push(Problem {
                    place: format!("{place}.aggregate_max_bytes"),
                    message: format!("{max} is outside {MIN_AGGREGATE_BYTES}-{record_limit} (an aggregate is one Kinesis record)"),
                });
            }
        }
        if let Some(n) = self.aggregate_shards {
            if !(1..=MAX_AGGREGATE_SHARDS).contains(&n) {
                problems.push(Problem { place: format!("{place}.aggregate_shards"), message: format!("{n} is outside 1-{MAX_AGGREGATE_SHARDS}") });
            }
        }
    }

    /// How this destination aggregates, if it does: the grouping and the largest aggregate.
    fn aggregation(&self) -> Option<(aggregate::Grouping, usize)> {
        self.aggregate?;
        let grouping = self.aggregate_shards.map_or(aggregate::Grouping::PartitionKey, aggregate::Grouping::EvenShards);
        let record_limit = self.max_record_bytes.unwrap_or(MAX_RECORD_BYTES);
        Some((grouping, self.aggregate_max_bytes.unwrap_or(record_limit).min(record_limit)))
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_stream_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "kinesis"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("stream/").is_some_and(|n| !n.is_empty() && !n.contains(char::is_whitespace))
        && arn.len() <= 2048
}

/// Which stream requests name.
#[derive(Debug, Clone)]
enum StreamRef {
    Name(String),
    Arn(String),
}

/// One `PutRecords` entry before it becomes an SDK type.
#[derive(Debug, Clone)]
pub struct KinesisEntry {
    /// The payload.
    pub data: Bytes,
    /// The partition key.
    pub partition_key: String,
    /// The explicit hash key (an aggregate of records grouped by shard).
    pub explicit_hash_key: Option<String>,
}

/// A Kinesis stream.
#[derive(Debug, Clone)]
pub struct Kinesis {
    client: aws_sdk_kinesis::Client,
    stream: StreamRef,
    partition_key: Option<ValueSource>,
    /// Keep order per partition key.
    ordered: bool,
    limits: Limits,
    /// KPL aggregation: how records are grouped, and the largest aggregate.
    aggregation: Option<(aggregate::Grouping, usize)>,
    /// Answers read for each entry's error only.
    answers: LeanAnswers,
}

impl Kinesis {
    /// A destination sending to the configured stream through `client`.
    pub fn new(client: aws_sdk_kinesis::Client, config: &KinesisConfig) -> Self {
        let stream = match (&config.stream_arn, &config.stream) {
            (Some(arn), _) => StreamRef::Arn(arn.clone()),
            (None, name) => StreamRef::Name(name.clone().unwrap_or_default()),
        };
        Self {
            client,
            stream,
            partition_key: config.partition_key.as_deref().and_then(|p| ValueSource::parse(p).ok()),
            ordered: super::ordering::per_key(config.ordering),
            limits: DestinationType::limits(config),
            aggregation: config.aggregation(),
            answers: LeanAnswers::new(&aws_sdk_kinesis::operation::put_records::PutRecords::new(), read_put_records),
        }
    }

    /// The one entry a record becomes: its payload (no copy) and partition key.
    pub fn prepare_one(&self, record: &Record, purpose: Purpose) -> Result<Prepared<KinesisEntry>, ItemError> {
        let partition_key = self.partition_key(record, purpose)?;
        let size = record.data.len() + partition_key.len();
        check_size(size, &self.limits, "PutRecords", "the record with its partition key")?;
        Ok(Prepared { entry: KinesisEntry { data: record.data.clone(), partition_key, explicit_hash_key: None }, size })
    }

    fn partition_key(&self, record: &Record, purpose: Purpose) -> Result<String, ItemError> {
        let key = match (&self.partition_key, purpose) {
            (Some(ValueSource::Pointer(pointer)), Purpose::Route) => {
                let value = crate::value::pointer_value(record, pointer, "partition_key", "PartitionKeyMissing")?;
                crate::value::scalar_text(value)
                    .map_err(|kind| {
                        ItemError::permanent("PartitionKeyInvalid", format!("partition_key {pointer} is {kind}, not a string or number"))
                    })?
                    .into_owned()
            }
            (Some(source), Purpose::Route) => source.value(record, "partition_key", "PartitionKeyInvalid")?.into_owned(),
            // The source's own key, else the record's identity (which spreads records over shards).
            _ => record.key.clone().unwrap_or_else(|| record.id.to_string()),
        };
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
            return Err(ItemError::permanent(
                "PartitionKeyInvalid",
                format!("the partition key has {chars} characters; PutRecords takes 1 to {MAX_PARTITION_KEY_CHARS}"),
            ));
        }
        Ok(key)
    }
}

/// Classify a `Records[i].ErrorCode`. Kinesis documents
/// `ProvisionedThroughputExceededException` and `InternalFailure` (transient);
/// KMS errors other than throttling mean the stream's key is unusable
/// (permanent). An unknown code is treated as transient.
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "KMSThrottlingException" => ErrorClass::Transient,
        c if c.starts_with("KMS") => ErrorClass::Permanent,
        "InvalidArgumentException" | "ResourceNotFoundException" | "AccessDeniedException" | "ValidationException" => ErrorClass::Permanent,
        other => classify_code(other).unwrap_or(ErrorClass::Transient),
    }
}

/// Map a `PutRecords` response to one result per sent record.
pub fn map_response(output: &aws_sdk_kinesis::operation::put_records::PutRecordsOutput, sent: usize) -> Result<Vec<ItemResult>, ItemError> {
    let entries = output.records().iter().map(|e| (e.error_code(), e.error_message()));
    map_positional("PutRecords", sent, entries, classify_item_code)
}

impl BatchApi for Kinesis {
    type Entry = KinesisEntry;
    type Request = Bytes;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<KinesisEntry>>) -> Result<(), ItemError> {
        out.push(self.prepare_one(record, purpose)?);
        Ok(())
    }

    /// With `aggregate: kpl`, the records' KPL aggregates.
    fn combine(&self, items: &[Prepared<KinesisEntry>]) -> Option<Vec<Combined<KinesisEntry>>> {
        self.aggregation.map(|(grouping, max_bytes)| aggregate::aggregate(items, grouping, max_bytes))
    }

    fn billing_unit(&self) -> Option<usize> {
        Some(PUT_PAYLOAD_UNIT_BYTES)
    }

    /// With `ordering: per_key`, the partition key (for an aggregate of a
    /// shard's records, its explicit hash key: every aggregate of that shard
    /// has the same): PutRecords keeps no order inside a request, so entries
    /// of one key go one per request.
    fn order_key<'e>(&self, entry: &'e KinesisEntry) -> Option<&'e str> {
        self.ordered.then(|| entry.explicit_hash_key.as_deref().unwrap_or(entry.partition_key.as_str()))
    }

    /// The `PutRecords` body, written straight from the entries
    /// ([`super::request_body`]): each payload base64-encoded once, no copy of it.
    fn encode(&self, batch: &[&KinesisEntry]) -> Result<Bytes, ItemError> {
        let records: usize = batch
            .iter()
            .map(|e| {
                base64_len(e.data.len())
                    + e.partition_key.len()
                    + e.explicit_hash_key.as_ref().map_or(0, |k| k.len() + HASH_KEY_JSON_BYTES)
                    + RECORD_JSON_BYTES
            })
            .sum();
        let (field, stream) = match &self.stream {
            StreamRef::Name(name) => ("],\"StreamName\":", name),
            StreamRef::Arn(arn) => ("],\"StreamARN\":", arn),
        };
        let mut body = JsonBody::with_capacity(records + stream.len() + BODY_JSON_BYTES);
        body.raw("{\"Records\":[");
        for (i, entry) in batch.iter().enumerate() {
            body.raw(if i == 0 { "{\"Data\":" } else { ",{\"Data\":" });
            body.base64(&entry.data, b"")?;
            body.raw(",\"PartitionKey\":");
            body.string(&entry.partition_key)?;
            if let Some(hash_key) = &entry.explicit_hash_key {
                body.raw(",\"ExplicitHashKey\":");
                body.string(hash_key)?;
            }
            body.raw("}");
        }
        body.raw(field);
        body.string(stream)?;
        body.raw("}");
        Ok(body.finish())
    }

    async fn send(&self, batch: &[&KinesisEntry]) -> Result<Vec<ItemResult>, ItemError> {
        let body = self.encode(batch)?;
        let request = self.client.put_records().set_records(Some(Vec::new()));
        let request = match &self.stream {
            StreamRef::Name(name) => request.stream_name(name),
            StreamRef::Arn(arn) => request.stream_arn(arn),
        };
        let output = request.customize().mutate_request(replace_body(body)).interceptor(self.answers.clone()).send().await.map_err(from_sdk_error)?;
        map_response(&output, batch.len())
    }
}

/// A `PutRecords` answer read for what [`map_response`] uses: each entry's
/// error code and message, and nothing else of it (no sequence numbers or
/// shard ids); `None` when serde cannot read it ([`LeanAnswers`]).
fn read_put_records(body: &[u8]) -> Option<Output> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "FailedRecordCount")]
        failed: Option<i32>,
        #[serde(rename = "Records")]
        records: Vec<EntryError>,
    }
    let answer: Answer = serde_json::from_slice(body).ok()?;
    let records =
        answer.records.into_iter().map(|e| PutRecordsResultEntry::builder().set_error_code(e.code).set_error_message(e.message).build()).collect();
    let output = aws_sdk_kinesis::operation::put_records::PutRecordsOutput::builder()
        .set_failed_record_count(answer.failed)
        .set_records(Some(records))
        .build()
        .ok()?;
    Some(Output::erase(output))
}

/// The JSON around one record's base64 and partition key (`,{"Data":"","PartitionKey":""}`).
const RECORD_JSON_BYTES: usize = 30;
/// The JSON around an explicit hash key (`,"ExplicitHashKey":""`).
const HASH_KEY_JSON_BYTES: usize = 21;
/// The JSON around the records (`{"Records":[],"StreamName":""}`).
const BODY_JSON_BYTES: usize = 30;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destinations::request_body::sdk_written;
    use crate::record::RecordId;
    use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
    use serde_json::Value;

    /// Every canned answer comes out of the lean reading as out of the
    /// SDK's: the same result per entry and failure count, or the same error.
    #[tokio::test]
    async fn answers_read_lean_come_out_as_the_sdk_reads_them() {
        use crate::destinations::response_body::canned;
        use aws_sdk_kinesis::operation::put_records::PutRecords;
        let ok = r#"{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ShardId":"shardId-000000000000"}"#;
        let mut read_lean = 0;
        for (status, body) in canned::answers("FailedRecordCount", "Records", ok) {
            let client = aws_sdk_kinesis::Client::new(&canned::config(status, &body));
            let request = || client.put_records().stream_name("s").set_records(Some(Vec::new()));
            let sdk = request().send().await;
            let lean = request().customize().interceptor(LeanAnswers::new(&PutRecords::new(), read_put_records)).send().await;
            canned::agree(&format!("{status} {body}"), sdk, lean, |sdk, lean| {
                assert_eq!(map_response(&lean, 3), map_response(&sdk, 3), "{status} {body}");
                assert_eq!(lean.failed_record_count(), sdk.failed_record_count(), "{status} {body}");
                if sdk.records().iter().any(|r| r.shard_id().is_some()) {
                    assert!(lean.records().iter().all(|r| r.sequence_number().is_none() && r.shard_id().is_none()), "read lean: {body}");
                    read_lean += 1;
                }
            });
        }
        assert!(read_lean >= 3, "the answers with ids were read lean ({read_lean})");
    }

    fn dest(partition_key: Option<&str>, max_record_bytes: Option<usize>) -> Kinesis {
        let config = KinesisConfig {
            stream: Some("s".into()),
            stream_arn: None,
            partition_key: partition_key.map(str::to_owned),
            endpoint_url: None,
            region: None,
            role_arn: None,
            external_id: None,
            transform: None,
            max_records: None,
            max_record_bytes,
            max_request_bytes: None,
            max_in_flight: None,
            rate_limit: Default::default(),
            ordering: None,
            aggregate: None,
            aggregate_max_bytes: None,
            aggregate_shards: None,
        };
        let client = aws_sdk_kinesis::Client::from_conf(aws_sdk_kinesis::Config::builder().behavior_version_latest().build());
        Kinesis::new(client, &config)
    }

    /// The body fanout writes is, as JSON, the one the SDK's serializer
    /// writes for the same entries: payloads of every length modulo 3,
    /// partition keys that need escaping, with and without an explicit hash
    /// key, to a stream by name and by ARN.
    #[tokio::test]
    async fn the_body_is_the_one_the_sdk_writes() {
        let entries: Vec<KinesisEntry> =
            [("", "k", None), ("a", "ключ\"\\\n", None), ("ab", "k", Some("170141183460469231731687303715884105728")), ("{\"x\":1}", "k", None)]
                .iter()
                .map(|(data, key, hash)| KinesisEntry {
                    data: Bytes::from(data.to_string()),
                    partition_key: key.to_string(),
                    explicit_hash_key: hash.map(str::to_owned),
                })
                .collect();
        let refs: Vec<&KinesisEntry> = entries.iter().collect();
        let client = aws_sdk_kinesis::Client::new(&sdk_written::config());
        for yaml in ["stream: s\n", "stream_arn: arn:aws:kinesis:us-east-1:123456789012:stream/s\n"] {
            let config: KinesisConfig = serde_saphyr::from_str(yaml).expect("config");
            let ours: Value = serde_json::from_slice(&Kinesis::new(client.clone(), &config).encode(&refs).expect("encodes")).expect("JSON");
            let records: Vec<aws_sdk_kinesis::types::PutRecordsRequestEntry> = entries
                .iter()
                .map(|e| {
                    aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                        .data(aws_smithy_types::Blob::new(e.data.to_vec()))
                        .partition_key(&e.partition_key)
                        .set_explicit_hash_key(e.explicit_hash_key.clone())
                        .build()
                        .expect("fields set")
                })
                .collect();
            let (hook, seen) = sdk_written::catcher();
            let request =
                client.put_records().set_records(Some(records)).set_stream_name(config.stream.clone()).set_stream_arn(config.stream_arn.clone());
            assert!(request.customize().mutate_request(hook).send().await.is_err(), "nothing listens on port 1");
            assert_eq!(ours, sdk_written::json(&seen), "{yaml}");
        }
    }

    fn record(data: &'static str) -> Record {
        Record::new(RecordId::new("49590"), "kinesis", Bytes::from_static(data.as_bytes())).with_key("source-key")
    }

    #[test]
    fn ordering_per_key_orders_by_partition_key() {
        let config = |extra: &str| -> KinesisConfig { serde_saphyr::from_str(&format!("stream: s\npartition_key: /d\n{extra}")).expect("config") };
        let client = aws_sdk_kinesis::Client::from_conf(aws_sdk_kinesis::Config::builder().behavior_version_latest().build());
        let ordered = Kinesis::new(client.clone(), &config("ordering: per_key\n"));
        let unordered = Kinesis::new(client, &config(""));
        let p = ordered.prepare_one(&record(r#"{"d":"dev-1"}"#), Purpose::Route).expect("prepared");
        assert_eq!((ordered.order_key(&p.entry), unordered.order_key(&p.entry)), (Some("dev-1"), None));
        let bad: Result<KinesisConfig, _> = serde_saphyr::from_str("stream: s\nordering: by_shard\n");
        assert!(bad.is_err(), "only per_key is an ordering");
    }

    #[test]
    fn partition_key_comes_from_the_pointer_or_the_source_key() {
        let by_pointer = dest(Some("/deviceId"), None).prepare_one(&record(r#"{"deviceId":"d-1"}"#), Purpose::Route).expect("prepared");
        assert_eq!(by_pointer.entry.partition_key, "d-1");
        assert_eq!(by_pointer.size, 18 + 3, "size counts the partition key");
        let numeric = dest(Some("/n"), None).prepare_one(&record(r#"{"n":42}"#), Purpose::Route).expect("prepared");
        assert_eq!(numeric.entry.partition_key, "42");
        let default = dest(None, None).prepare_one(&record("text"), Purpose::Route).expect("prepared");
        assert_eq!(default.entry.partition_key, "source-key");
        let built = dest(Some(r#"= .data.site + "/" + .data.deviceId"#), None);
        assert_eq!(built.prepare_one(&record(r#"{"site":"a","deviceId":"d-1"}"#), Purpose::Route).expect("prepared").entry.partition_key, "a/d-1");
        let constant = dest(Some("all-in-one"), None).prepare_one(&record("text"), Purpose::Route).expect("prepared");
        assert_eq!(constant.entry.partition_key, "all-in-one");
    }

    #[test]
    fn dead_letter_envelopes_use_the_source_key_not_the_pointer() {
        let p = dest(Some("/deviceId"), None).prepare_one(&record(r#"{"reason":"x"}"#), Purpose::DeadLetter).expect("prepared");
        assert_eq!(p.entry.partition_key, "source-key");
    }

    #[test]
    fn unreadable_partition_keys_are_permanent_errors_naming_the_pointer() {
        let err = dest(Some("/deviceId"), None).prepare_one(&record(r#"{"other":1}"#), Purpose::Route).unwrap_err();
        assert_eq!((err.code.as_str(), err.class), ("PartitionKeyMissing", ErrorClass::Permanent));
        assert!(err.message.contains("/deviceId") && err.message.contains("missing"), "{err}");
        let err = dest(Some("/deviceId"), None).prepare_one(&record("not json"), Purpose::Route).unwrap_err();
        assert!(err.message.contains("not JSON"), "{err}");
        let err = dest(Some("/d"), None).prepare_one(&record(r#"{"d":{"x":1}}"#), Purpose::Route).unwrap_err();
        assert_eq!(err.code, "PartitionKeyInvalid");
        let long = Box::leak(format!(r#"{{"d":"{}"}}"#, "k".repeat(257)).into_boxed_str());
        let err = dest(Some("/d"), None).prepare_one(&record(long), Purpose::Route).unwrap_err();
        assert!(err.message.contains("257 characters"), "{err}");
    }

    #[test]
    fn the_record_limit_counts_the_partition_key() {
        // 10 bytes of data + 10 bytes of key ("source-key") = 20 > 19.
        let err = dest(None, Some(19)).prepare_one(&record("0123456789"), Purpose::Route).unwrap_err();
        assert_eq!(err.code, "RecordTooLarge");
        assert!(dest(None, Some(20)).prepare_one(&record("0123456789"), Purpose::Route).is_ok());
    }

    #[test]
    fn failed_records_map_back_by_position() {
        let out = PutRecordsOutput::builder()
            .failed_record_count(1)
            .records(PutRecordsResultEntry::builder().sequence_number("1").shard_id("s").build())
            .records(PutRecordsResultEntry::builder().error_code("ProvisionedThroughputExceededException").error_message("slow").build())
            .records(PutRecordsResultEntry::builder().error_code("KMSAccessDeniedException").error_message("no").build())
            .build()
            .expect("output builds");
        let r = map_response(&out, 3).expect("same length");
        assert!(r[0].is_ok());
        assert_eq!(r[1].as_ref().unwrap_err().class, ErrorClass::Transient);
        assert_eq!(r[2].as_ref().unwrap_err().class, ErrorClass::Permanent);
    }

    #[test]
    fn aggregation_options_need_aggregate_and_fit_the_record_limit() {
        let problems = |extra: &str| -> Vec<(String, String)> {
            let config: KinesisConfig = serde_saphyr::from_str(&format!("stream: s\n{extra}")).expect("config");
            let mut problems = Vec::new();
            config.validate("destinations.relay", &mut problems);
            problems.into_iter().map(|p| (p.place, p.message)).collect()
        };
        assert!(problems("aggregate: kpl\naggregate_shards: 8\naggregate_max_bytes: 51200\n").is_empty());
        let places: Vec<String> = problems("aggregate_shards: 8\naggregate_max_bytes: 51200\n").into_iter().map(|(p, _)| p).collect();
        assert_eq!(places, ["destinations.relay.aggregate_max_bytes", "destinations.relay.aggregate_shards"]);
        let too_big = problems("aggregate: kpl\nmax_record_bytes: 100000\naggregate_max_bytes: 200000\n");
        assert_eq!(too_big.len(), 1);
        assert!(too_big[0].1.contains("outside 1024-100000"), "{too_big:?}");
        assert_eq!(problems("aggregate: kpl\naggregate_shards: 0\n").len(), 1);
        let bad: Result<KinesisConfig, _> = serde_saphyr::from_str("stream: s\naggregate: zip\n");
        assert!(bad.is_err(), "only kpl is a format");
        let config: KinesisConfig = serde_saphyr::from_str("stream: s\naggregate: kpl\naggregate_shards: 8\n").expect("config");
        assert_eq!(config.aggregation(), Some((aggregate::Grouping::EvenShards(8), MAX_RECORD_BYTES)));
    }

    #[test]
    fn stream_arns_are_checked() {
        assert!(is_stream_arn("arn:aws:kinesis:eu-west-1:123456789012:stream/telemetry"));
        assert!(is_stream_arn("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/t"));
        assert!(!is_stream_arn("arn:aws:kinesis:eu-west-1:1234:stream/t"));
        assert!(!is_stream_arn("arn:aws:firehose:eu-west-1:123456789012:deliverystream/t"));
    }
}
