//! Amazon Data Firehose `PutRecordBatch`.
//!
//! Limits (Firehose API reference, PutRecordBatch; Firehose quotas): at most
//! 500 records and 4 MiB per request ("cannot be changed"), each record's data
//! at most 1,000 KiB (1,024,000 bytes) before base64 encoding. Per-record
//! failures come back positionally in `RequestResponses`.
//!
//! With `pack: true` (and a `delimiter`), consecutive records are
//! concatenated, each followed by the delimiter, into Firehose records of up
//! to the record limit ([`pack_records`]): S3 gets the same delimited objects,
//! and Firehose bills each 5 KiB of a packed record once instead of every
//! small record as 5 KiB.

use super::entries::{check_size, map_positional};
use super::registry::{common_fields, CommonFields, DestinationType};
use super::request_body::{base64_len, replace_body, JsonBody};
use super::response_body::{EntryError, LeanAnswers};
use crate::clients::Clients;
use crate::deliver::api::{BatchApi, Combined, ItemResult, Prepared, Purpose};
use crate::error::{classify_code, from_sdk_error, ErrorClass, ItemError};
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::validation::{check_limit, check_name, check_not_empty, Problem};
use aws_sdk_firehose::types::PutRecordBatchResponseEntry;
use aws_smithy_runtime_api::client::interceptors::context::Output;
use bytes::Bytes;
use serde::Deserialize;

/// Most records in one `PutRecordBatch` request.
pub const MAX_RECORDS_PER_REQUEST: usize = 500;
/// Largest record's data, in bytes (1,000 KiB).
pub const MAX_RECORD_BYTES: usize = 1_024_000;
/// Longest `delimiter` fanout takes, in bytes.
pub const MAX_DELIMITER_BYTES: usize = 16;
/// Largest request, summing record data, in bytes (4 MiB).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Longest delivery stream name.
pub const MAX_STREAM_NAME_LEN: usize = 64;
/// What Direct PUT ingestion bills each record by: its size rounded up to 5 KiB.
pub const BILLING_INCREMENT_BYTES: usize = 5 * 1024;

/// `type: firehose` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirehoseConfig {
    /// `DeliveryStreamName`.
    pub delivery_stream: String,
    /// Bytes appended to every record sent (after the transform), such as
    /// `"\n"` for newline-delimited objects in S3; counted in the record's size.
    pub delimiter: Option<String>,
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
    /// Lower the 1,024,000-byte record limit.
    pub max_record_bytes: Option<usize>,
    /// Lower the 4 MiB request limit.
    pub max_request_bytes: Option<usize>,
    /// Requests in flight at once to this destination.
    pub max_in_flight: Option<usize>,
    /// Requests, records and bytes per second to this destination, per function instance.
    #[serde(default)]
    pub rate_limit: crate::pace::RateLimit,
    /// Concatenate consecutive records, each followed by the `delimiter`,
    /// into Firehose records of up to `max_record_bytes` ([`pack_records`]).
    #[serde(default)]
    pub pack: bool,
}

common_fields!(FirehoseConfig);

impl DestinationType for FirehoseConfig {
    type Api = Firehose;
    const SEND_ACTIONS: &'static [&'static str] = &["firehose:PutRecordBatch"];
    const TAKES_DEAD_LETTERS: bool = true;

    fn sends_to(&self) -> String {
        self.delivery_stream.clone()
    }

    fn data_fields(&self) -> DataFields {
        DataFields::Unused
    }

    fn limits(&self) -> Limits {
        Limits {
            max_items: self.max_records.unwrap_or(MAX_RECORDS_PER_REQUEST),
            max_item_bytes: self.max_record_bytes.unwrap_or(MAX_RECORD_BYTES),
            max_request_bytes: self.max_request_bytes.unwrap_or(MAX_REQUEST_BYTES),
        }
    }

    fn validate(&self, place: &str, problems: &mut Vec<Problem>) {
        if self.endpoint_url.is_none() {
            check_name(problems, &format!("{place}.delivery_stream"), &self.delivery_stream, MAX_STREAM_NAME_LEN, is_name_char, "[a-zA-Z0-9_.-]+");
        } else {
            check_not_empty(problems, &format!("{place}.delivery_stream"), &self.delivery_stream);
        }
        if self.delimiter.as_ref().is_some_and(|d| d.is_empty() || d.len() > MAX_DELIMITER_BYTES) {
            problems.push(crate::validation::problem(
                &format!("{place}.delimiter"),
                &format!("a delimiter is 1 to {MAX_DELIMITER_BYTES} bytes (write \"\\n\" in double quotes for a newline)"),
            ));
        }
        if self.pack && self.delimiter.is_none() {
            problems.push(crate::validation::problem(
                &format!("{place}.pack"),
                "packing needs a `delimiter` to keep the records apart (\"\\n\" for newline-delimited objects)",
            ));
        }
        check_limit(problems, &format!("{place}.max_records"), self.max_records, MAX_RECORDS_PER_REQUEST, "PutRecordBatch");
        check_limit(problems, &format!("{place}.max_record_bytes"), self.max_record_bytes, MAX_RECORD_BYTES, "PutRecordBatch");
        check_limit(problems, &format!("{place}.max_request_bytes"), self.max_request_bytes, MAX_REQUEST_BYTES, "PutRecordBatch");
    }

    fn byte_limit_overrides(&self) -> (Option<usize>, Option<usize>) {
        (self.max_record_bytes, self.max_request_bytes)
    }

    fn api(&self, clients: &Clients) -> Firehose {
        Firehose::new(clients.firehose_for(&self.overrides()), self)
    }

    fn combining(&self) -> Option<String> {
        let max = self.max_record_bytes.unwrap_or(MAX_RECORD_BYTES);
        (self.pack && self.delimiter.is_some()).then(|| format!("packed: delimited records concatenated, up to {max} B"))
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// A Firehose delivery stream.
#[derive(Debug, Clone)]
pub struct Firehose {
    client: aws_sdk_firehose::Client,
    stream: String,
    limits: Limits,
    delimiter: Bytes,
    /// Pack records into Firehose records ([`pack_records`]).
    pack: bool,
    /// Answers read for each entry's error only.
    answers: LeanAnswers,
}

impl Firehose {
    /// A destination sending to `config.delivery_stream` through `client`.
    pub fn new(client: aws_sdk_firehose::Client, config: &FirehoseConfig) -> Self {
        Self {
            client,
            stream: config.delivery_stream.clone(),
            limits: DestinationType::limits(config),
            delimiter: Bytes::from(config.delimiter.clone().unwrap_or_default()),
            pack: config.pack && config.delimiter.is_some(),
            answers: LeanAnswers::new(&aws_sdk_firehose::operation::put_record_batch::PutRecordBatch::new(), read_put_record_batch),
        }
    }

    /// The one entry a record becomes: its payload, unchanged (no copy); its
    /// size counts the delimiter, which `encode` appends.
    pub fn prepare_one(&self, record: &Record, _purpose: Purpose) -> Result<Prepared<Bytes>, ItemError> {
        let size = record.data.len() + self.delimiter.len();
        check_size(size, &self.limits, "PutRecordBatch", if self.delimiter.is_empty() { "the record" } else { "the record with its delimiter" })?;
        Ok(Prepared { entry: record.data.clone(), size })
    }
}

/// Consecutive items concatenated into records of at most `max_bytes`
/// (sizes count each item's delimiter): each packed entry is the items'
/// data joined by `delimiter`, to which `encode` appends the last one. In
/// source order, each record filled until the next item would not fit (the
/// fewest records for that order); an item alone is its own entry, unchanged.
pub fn pack_records(items: &[Prepared<Bytes>], delimiter: &[u8], max_bytes: usize) -> Vec<Combined<Bytes>> {
    let mut out: Vec<Combined<Bytes>> = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let mut end = start + 1;
        let mut size = items[start].size;
        while end < items.len() && size + items[end].size <= max_bytes {
            size += items[end].size;
            end += 1;
        }
        let members: Vec<u32> = (start as u32..end as u32).collect();
        let item = if end - start == 1 {
            items[start].clone()
        } else {
            let mut data = Vec::with_capacity(size);
            for (k, item) in items[start..end].iter().enumerate() {
                if k > 0 {
                    data.extend_from_slice(delimiter);
                }
                data.extend_from_slice(&item.entry);
            }
            Prepared { entry: Bytes::from(data), size }
        };
        out.push(Combined { item, members });
        start = end;
    }
    out
}

/// Classify a `RequestResponses[i].ErrorCode`. Firehose documents
/// `ServiceUnavailableException` and `InternalFailure`; an unknown code is
/// treated as transient, so it is retried within the attempt budget and then
/// reported rather than dead-lettered on a guess.
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "InvalidArgumentException" | "ResourceNotFoundException" | "InvalidKMSResourceException" | "AccessDeniedException" => ErrorClass::Permanent,
        other => classify_code(other).unwrap_or(ErrorClass::Transient),
    }
}

/// Map a `PutRecordBatch` response to one result per sent record.
pub fn map_response(output: &aws_sdk_firehose::operation::put_record_batch::PutRecordBatchOutput, sent: usize) -> Result<Vec<ItemResult>, ItemError> {
    let entries = output.request_responses().iter().map(|e| (e.error_code(), e.error_message()));
    map_positional("PutRecordBatch", sent, entries, classify_item_code)
}

impl BatchApi for Firehose {
    type Entry = Bytes;
    type Request = Bytes;

    fn limits(&self) -> Limits {
        self.limits
    }

    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<Bytes>>) -> Result<(), ItemError> {
        out.push(self.prepare_one(record, purpose)?);
        Ok(())
    }

    /// With `pack: true`, consecutive records packed into Firehose records.
    fn combine(&self, items: &[Prepared<Bytes>]) -> Option<Vec<Combined<Bytes>>> {
        self.pack.then(|| pack_records(items, &self.delimiter, self.limits.max_item_bytes))
    }

    fn billing_unit(&self) -> Option<usize> {
        Some(BILLING_INCREMENT_BYTES)
    }

    /// The `PutRecordBatch` body, written straight from the payloads
    /// ([`super::request_body`]): each payload base64-encoded once, with the
    /// delimiter appended as it is encoded (no copy of the payload).
    fn encode(&self, batch: &[&Bytes]) -> Result<Bytes, ItemError> {
        let records: usize = batch.iter().map(|data| base64_len(data.len() + self.delimiter.len()) + RECORD_JSON_BYTES).sum();
        let mut body = JsonBody::with_capacity(records + self.stream.len() + BODY_JSON_BYTES);
        body.raw("{\"DeliveryStreamName\":");
        body.string(&self.stream)?;
        body.raw(",\"Records\":[");
        for (i, data) in batch.iter().enumerate() {
            body.raw(if i == 0 { "{\"Data\":" } else { ",{\"Data\":" });
            body.base64(data, &self.delimiter)?;
            body.raw("}");
        }
        body.raw("]}");
        Ok(body.finish())
    }

    async fn send(&self, batch: &[&Bytes]) -> Result<Vec<ItemResult>, ItemError> {
        let body = self.encode(batch)?;
        let output = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.stream)
            .set_records(Some(Vec::new()))
            .customize()
            .mutate_request(replace_body(body))
            .interceptor(self.answers.clone())
            .send()
            .await
            .map_err(from_sdk_error)?;
        map_response(&output, batch.len())
    }
}

/// A `PutRecordBatch` answer read for what [`map_response`] uses: each
/// entry's error code and message, and nothing else of it (no record ids);
/// `None` when serde cannot read it ([`LeanAnswers`]).
fn read_put_record_batch(body: &[u8]) -> Option<Output> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "FailedPutCount")]
        failed: Option<i32>,
        #[serde(rename = "Encrypted")]
        encrypted: Option<bool>,
        #[serde(rename = "RequestResponses")]
        entries: Vec<EntryError>,
    }
    let answer: Answer = serde_json::from_slice(body).ok()?;
    let entries = answer
        .entries
        .into_iter()
        .map(|e| PutRecordBatchResponseEntry::builder().set_error_code(e.code).set_error_message(e.message).build())
        .collect();
    let output = aws_sdk_firehose::operation::put_record_batch::PutRecordBatchOutput::builder()
        // As the SDK's reading does (`correct_errors`): an absent count is 0.
        .failed_put_count(answer.failed.unwrap_or_default())
        .set_encrypted(answer.encrypted)
        .set_request_responses(Some(entries))
        .build()
        .ok()?;
    Some(Output::erase(output))
}

/// The JSON around one record's base64 (`,{"Data":""}`).
const RECORD_JSON_BYTES: usize = 12;
/// The JSON around the records (`{"DeliveryStreamName":"","Records":[]}`).
const BODY_JSON_BYTES: usize = 38;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destinations::request_body::sdk_written::{self, records_data};
    use crate::record::RecordId;
    use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchOutput;

    /// Every canned answer comes out of the lean reading as out of the
    /// SDK's: the same result per entry, failure count and encryption, or the same error.
    #[tokio::test]
    async fn answers_read_lean_come_out_as_the_sdk_reads_them() {
        use crate::destinations::response_body::canned;
        use aws_sdk_firehose::operation::put_record_batch::PutRecordBatch;
        let ok = r#"{"RecordId":"49590338271490256608559692538361571095921575989136588898"}"#;
        let mut read_lean = 0;
        for (status, body) in canned::answers("FailedPutCount", "RequestResponses", ok) {
            let client = aws_sdk_firehose::Client::new(&canned::config(status, &body));
            let request = || client.put_record_batch().delivery_stream_name("s").set_records(Some(Vec::new()));
            let sdk = request().send().await;
            let lean = request().customize().interceptor(LeanAnswers::new(&PutRecordBatch::new(), read_put_record_batch)).send().await;
            canned::agree(&format!("{status} {body}"), sdk, lean, |sdk, lean| {
                assert_eq!(map_response(&lean, 3), map_response(&sdk, 3), "{status} {body}");
                assert_eq!((lean.failed_put_count(), lean.encrypted()), (sdk.failed_put_count(), sdk.encrypted()), "{status} {body}");
                if sdk.request_responses().iter().any(|r| r.record_id().is_some()) {
                    assert!(lean.request_responses().iter().all(|r| r.record_id().is_none()), "read lean: {body}");
                    read_lean += 1;
                }
            });
        }
        assert!(read_lean >= 3, "the answers with ids were read lean ({read_lean})");
    }

    fn ok() -> PutRecordBatchResponseEntry {
        PutRecordBatchResponseEntry::builder().record_id("r").build()
    }

    fn failed(code: &str) -> PutRecordBatchResponseEntry {
        PutRecordBatchResponseEntry::builder().error_code(code).error_message("msg").build()
    }

    #[test]
    fn failed_entries_map_back_by_position_with_their_class() {
        let out = PutRecordBatchOutput::builder()
            .failed_put_count(2)
            .request_responses(ok())
            .request_responses(failed("ServiceUnavailableException"))
            .request_responses(failed("InvalidArgumentException"))
            .build()
            .expect("output builds");
        let results = map_response(&out, 3).expect("same length");
        assert!(results[0].is_ok());
        assert_eq!(results[1].as_ref().unwrap_err().class, ErrorClass::Transient);
        assert_eq!(results[2].as_ref().unwrap_err().class, ErrorClass::Permanent);
        assert_eq!(results[2].as_ref().unwrap_err().code, "InvalidArgumentException");
    }

    #[test]
    fn a_response_of_the_wrong_length_is_a_transient_request_error() {
        let out = PutRecordBatchOutput::builder().failed_put_count(0).request_responses(ok()).build().expect("output builds");
        let err = map_response(&out, 2).unwrap_err();
        assert_eq!(err.class, ErrorClass::Transient);
    }

    #[test]
    fn unknown_item_codes_are_retried_not_dead_lettered() {
        assert_eq!(classify_item_code("SomethingNew"), ErrorClass::Transient);
        assert_eq!(classify_item_code("InternalFailure"), ErrorClass::Transient);
    }

    #[test]
    fn oversize_records_are_rejected_before_sending_naming_the_limit() {
        let config = FirehoseConfig {
            delivery_stream: "s".into(),
            delimiter: None,
            endpoint_url: None,
            region: None,
            role_arn: None,
            external_id: None,
            transform: None,
            max_records: None,
            max_record_bytes: Some(10),
            max_request_bytes: None,
            max_in_flight: None,
            rate_limit: Default::default(),
            pack: false,
        };
        let client = aws_sdk_firehose::Client::from_conf(aws_sdk_firehose::Config::builder().behavior_version_latest().build());
        let dest = Firehose::new(client, &config);
        let big = Record::new(RecordId::new("7"), "kinesis", Bytes::from_static(b"0123456789A"));
        let err = dest.prepare_one(&big, Purpose::Route).unwrap_err();
        assert_eq!(err.code, "RecordTooLarge");
        assert!(err.message.contains("11 bytes") && err.message.contains("limit of 10"), "{err}");
        let fits = Record::new(RecordId::new("8"), "kinesis", Bytes::from_static(b"0123456789"));
        assert_eq!(dest.prepare_one(&fits, Purpose::Route).expect("fits").size, 10);
    }

    #[test]
    fn the_delimiter_is_appended_on_encode_and_counted_in_the_size() {
        let client = aws_sdk_firehose::Client::from_conf(aws_sdk_firehose::Config::builder().behavior_version_latest().build());
        let config: FirehoseConfig = serde_saphyr::from_str("delivery_stream: s\ndelimiter: \"\\n\"\nmax_record_bytes: 8\n").expect("config");
        let d = Firehose::new(client, &config);
        let p = d.prepare_one(&Record::new(RecordId::new("1"), "kinesis", Bytes::from_static(b"{\"a\":1}")), Purpose::Route).expect("fits");
        assert_eq!(p.size, 8, "7 bytes and the newline");
        let body = d.encode(&[&p.entry]).expect("encodes");
        assert_eq!(records_data(&body), [b"{\"a\":1}\n".to_vec()]);
        let err = d.prepare_one(&Record::new(RecordId::new("2"), "kinesis", Bytes::from_static(b"{\"a\":12}")), Purpose::Route).unwrap_err();
        assert!(err.message.contains("with its delimiter"), "{err}");
    }

    /// The body fanout writes is, as JSON, the one the SDK's serializer
    /// writes for the same records (each with the delimiter appended), for
    /// payloads of every length modulo 3, empty ones, and a stream name that
    /// needs escaping.
    #[tokio::test]
    async fn the_body_is_the_one_the_sdk_writes() {
        let payloads: Vec<Bytes> =
            ["", "a", "ab", "abc", "{\"deviceId\":\"é\"}", "\u{0}\u{1}\u{ff}"].iter().map(|p| Bytes::from(p.to_string())).collect();
        let refs: Vec<&Bytes> = payloads.iter().collect();
        for (stream, delimiter) in [("s", None), ("odd\"name\\", Some("\n")), ("s", Some("\r\n"))] {
            let mut config: FirehoseConfig = serde_saphyr::from_str("delivery_stream: s\n").expect("config");
            config.delivery_stream = stream.to_owned();
            config.delimiter = delimiter.map(str::to_owned);
            let client = aws_sdk_firehose::Client::new(&sdk_written::config());
            let ours: serde_json::Value =
                serde_json::from_slice(&Firehose::new(client.clone(), &config).encode(&refs).expect("encodes")).expect("JSON");
            let records: Vec<aws_sdk_firehose::types::Record> = payloads
                .iter()
                .map(|p| {
                    let data = [&p[..], delimiter.unwrap_or("").as_bytes()].concat();
                    aws_sdk_firehose::types::Record::builder().data(aws_smithy_types::Blob::new(data)).build().expect("data set")
                })
                .collect();
            let (hook, seen) = sdk_written::catcher();
            let sent =
                client.put_record_batch().delivery_stream_name(stream).set_records(Some(records)).customize().mutate_request(hook).send().await;
            assert!(sent.is_err(), "nothing listens on port 1");
            assert_eq!(ours, sdk_written::json(&seen), "stream {stream:?}, delimiter {delimiter:?}");
        }
    }

    fn packing(delimiter: &str, max: usize) -> Firehose {
        let client = aws_sdk_firehose::Client::from_conf(aws_sdk_firehose::Config::builder().behavior_version_latest().build());
        let config: FirehoseConfig =
            serde_saphyr::from_str(&format!("delivery_stream: s\ndelimiter: {delimiter:?}\npack: true\nmax_record_bytes: {max}\n")).expect("config");
        Firehose::new(client, &config)
    }

    #[test]
    fn packed_records_read_back_as_the_delimited_records_in_order() {
        let d = packing("\n", 20);
        let records: Vec<Record> = ["{\"a\":1}", "{\"a\":2}", "{\"a\":33}", "x"]
            .iter()
            .map(|p| Record::new(RecordId::new("1"), "kinesis", Bytes::from(p.to_string())))
            .collect();
        let items: Vec<Prepared<Bytes>> = records.iter().map(|r| d.prepare_one(r, Purpose::Route).expect("fits")).collect();
        let combined = d.combine(&items).expect("packing is on");
        // 8 + 8 = 16 fit in 20; 9 more would not; 9 + 2 = 11 do.
        let members: Vec<Vec<u32>> = combined.iter().map(|c| c.members.clone()).collect();
        assert_eq!(members, [vec![0, 1], vec![2, 3]]);
        let refs: Vec<&Bytes> = combined.iter().map(|c| &c.item.entry).collect();
        let sent = records_data(&d.encode(&refs).expect("encodes"));
        assert_eq!(sent, [b"{\"a\":1}\n{\"a\":2}\n".to_vec(), b"{\"a\":33}\nx\n".to_vec()]);
        assert!(combined.iter().zip(&sent).all(|(c, s)| c.item.size == s.len()), "the size is what is sent");
        assert_eq!(d.billing_unit(), Some(BILLING_INCREMENT_BYTES));
    }

    #[test]
    fn packing_needs_a_delimiter_and_is_off_by_default() {
        let config: FirehoseConfig = serde_saphyr::from_str("delivery_stream: s\npack: true\n").expect("config");
        let mut problems = Vec::new();
        config.validate("destinations.archive", &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].place, "destinations.archive.pack");
        let client = aws_sdk_firehose::Client::from_conf(aws_sdk_firehose::Config::builder().behavior_version_latest().build());
        let plain: FirehoseConfig = serde_saphyr::from_str("delivery_stream: s\ndelimiter: \"\\n\"\n").expect("config");
        assert!(Firehose::new(client, &plain).combine(&[]).is_none());
    }

    proptest::proptest! {
        /// Every item in exactly one record, in order; none over the limit
        /// unless alone; and no two neighbours that would fit together.
        #[test]
        fn every_item_once_in_order_none_over_and_none_mergeable(sizes in proptest::collection::vec(1usize..50, 1..80), max in 10usize..200) {
            let items: Vec<Prepared<Bytes>> = sizes.iter().map(|&n| Prepared { entry: Bytes::from(vec![b'a'; n - 1]), size: n }).collect();
            let packed = pack_records(&items, b"\n", max);
            let order: Vec<u32> = packed.iter().flat_map(|c| c.members.clone()).collect();
            proptest::prop_assert_eq!(order, (0..items.len() as u32).collect::<Vec<_>>());
            for c in &packed {
                proptest::prop_assert!(c.item.size <= max || c.members.len() == 1);
                proptest::prop_assert_eq!(c.item.size, c.item.entry.len() + 1);
            }
            for pair in packed.windows(2) {
                let first_of_next = items[pair[1].members[0] as usize].size;
                proptest::prop_assert!(pair[0].item.size + first_of_next > max, "greedy: the next item did not fit");
            }
        }
    }
}
