//! The fuzz targets' entry points: one function per target in `fuzz/`, each
//! taking arbitrary bytes, running real crate code on them and asserting what
//! must hold for any input (a panic is a finding). The stable test
//! `shared/tests/fuzz_replay.rs` runs the committed corpora through the same
//! functions, so CI needs no nightly. See `docs/fuzzing.md`.
//!
//! Nothing here sends a request: the end-to-end targets use fanouts whose
//! configs have no routes (every record is unrouted, so no destination is
//! ever called) or dry runs ([`Fanout::dry_run`]), all over
//! [`Clients::offline`]. Not an API: hidden from the docs, free to change.
#![doc(hidden)]
// The fuzz targets report a broken invariant by panicking: that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::config::{Config, ConfigError};
use crate::deliver::api::{BatchApi, ItemResult};
use crate::destinations::iot_analytics::{self, AnalyticsMessage};
use crate::destinations::iot_events::{self, EventsMessage};
use crate::destinations::iot_events_detector::{self, DetectorUpdate};
use crate::destinations::sitewise::{self, PropertyRef, SitewiseValue, SitewiseVariant};
use crate::destinations::{firehose, kinesis as kinesis_destination, DestinationConfig, DestinationType};
use crate::error::{ErrorClass, ItemError};
use crate::fanout::Fanout;
use crate::pattern::Pattern;
use crate::projection::{parse_projected, DataFields};
use crate::record::{Record, RecordId};
use crate::report::{DestinationOutcome, RecordStatus, Report};
use crate::sources::http::{self, apigw};
use crate::sources::kinesis::{self, KinesisBatch};
use crate::sources::sqs::{self, SqsBatch};
use crate::sources::{iot, kpl, INVALID_RECORD};
use crate::Clients;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

/// Separates the parts of an input that has several (a pattern and a
/// payload, a pointer and a document, ...). Never valid in UTF-8, so never
/// inside a JSON or YAML part.
pub const SEP: u8 = 0xFF;

// ---------------------------------------------------------------------------
// Shared machinery
// ---------------------------------------------------------------------------

/// Reads structure out of fuzz bytes; past the end every read is zero.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    /// A number below `n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n.min(self.0.len()));
        self.0 = tail;
        head
    }

    /// Mostly a word of `vocabulary`; sometimes (a byte of 0xC0 or more)
    /// up to 23 raw bytes as text.
    fn text(&mut self, vocabulary: &[&str]) -> String {
        let b = self.byte();
        if b < 0xC0 {
            vocabulary[b as usize % vocabulary.len()].to_owned()
        } else {
            let n = self.below(24);
            String::from_utf8_lossy(self.bytes(n)).into_owned()
        }
    }

    /// `Some(text)` or `None`, one byte deciding.
    fn maybe_text(&mut self, vocabulary: &[&str]) -> Option<String> {
        if self.byte() & 1 == 1 {
            Some(self.text(vocabulary))
        } else {
            None
        }
    }
}

/// Item error codes the services send, classified every way, and odd ones.
const CODES: &[&str] = &[
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalFailureException",
    "ProvisionedThroughputExceededException",
    "KMSThrottlingException",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "InvalidArgumentException",
    "InvalidRequestException",
    "ResourceNotFoundException",
    "AccessDeniedException",
    "ThrottlingException",
    "LimitExceededException",
    "ConflictingOperationException",
    "TimestampOutOfRangeException",
    "InvalidFieldName",
    "ValidationException",
    "SomethingNew",
    "",
];

const MESSAGES: &[&str] = &["msg", "", "slow down", "a\u{0}b", "ünïcödé"];

/// Message ids as destinations make them, and odd ones.
const IDS: &[&str] = &["a", "b", "c", "m-1", "m-2", "49590-0", "h0123456789abcdef", "", "A", "a "];

thread_local! {
    /// One current-thread runtime per thread (the replay test runs targets on several threads).
    static RUNTIME: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime");
}

fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

fn clients() -> &'static Clients {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    CLIENTS.get_or_init(Clients::offline)
}

/// Destinations of the fanouts without routes: never called (no route sends
/// to them); the detector and SiteWise ones lend their `encode`.
const NO_ROUTES: &str = "destinations:
  archive: { type: firehose, delivery_stream: fuzz-archive }
  detectors: { type: iot_events_detector, detector_model: fuzz, passthrough: true }
  plant: { type: sitewise, passthrough: true }
";

fn fanout_from(text: &str) -> Fanout {
    Fanout::new(fuzz_config(text), clients())
}

/// A fixed config of the fuzz targets, which must be valid.
fn fuzz_config(text: &str) -> Config {
    Config::parse(text, Path::new("fuzz.yaml")).unwrap_or_else(|e| panic!("the fuzz config is valid: {e}"))
}

/// The no-routes config's detector destination (second), built once, to call its `encode`.
fn detector_sender() -> &'static iot_events_detector::IotEventsDetector {
    static SENDER: OnceLock<iot_events_detector::IotEventsDetector> = OnceLock::new();
    SENDER.get_or_init(|| match &sqs_fanout(0).config().destinations[1].1 {
        DestinationConfig::IotEventsDetector(c) => c.api(clients()),
        other => panic!("the no-routes config has the detector second, not {:?}", other.kind()),
    })
}

/// The no-routes config's SiteWise destination (third), built once, to call its `encode`.
fn sitewise_sender() -> &'static sitewise::Sitewise {
    static SENDER: OnceLock<sitewise::Sitewise> = OnceLock::new();
    SENDER.get_or_init(|| match &sqs_fanout(0).config().destinations[2].1 {
        DestinationConfig::Sitewise(c) => c.api(clients()),
        other => panic!("the no-routes config has SiteWise third, not {:?}", other.kind()),
    })
}

/// A fanout without routes, with `extra` config text (`sqs:`, `iot:`, `http:`).
fn no_routes(extra: &str) -> Fanout {
    fanout_from(&format!("{NO_ROUTES}{extra}"))
}

/// The no-routes fanouts: SQS with each pair of flags (`0..4`), IoT with
/// custom field names (4), HTTP with a 256-byte body limit (5).
fn fanouts() -> &'static [Fanout] {
    static FANOUTS: OnceLock<Vec<Fanout>> = OnceLock::new();
    FANOUTS.get_or_init(|| {
        let mut all: Vec<Fanout> =
            (0..4u8).map(|f| no_routes(&format!("sqs: {{ unwrap_sns: {}, base64_body: {} }}\n", f & 1 == 1, f & 2 == 2))).collect();
        all.push(no_routes("iot: { topic_field: t, client_id_field: c }\n"));
        all.push(no_routes("http: { max_body_bytes: 256 }\n"));
        all
    })
}

fn sqs_fanout(flags: u8) -> &'static Fanout {
    &fanouts()[flags as usize & 3]
}

/// A stop time no dry run reaches.
fn no_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(3600)
}

fn deadline() -> SystemTime {
    SystemTime::now() + Duration::from_secs(60)
}

/// What `respond` must answer: the ids of the failed records in batch order,
/// a run of one id once, or the position of the first failed record with no id.
fn expected_failures(ids: &[&str], failed: &[bool]) -> Result<Vec<String>, usize> {
    let mut out: Vec<String> = Vec::new();
    for (i, (id, failed)) in ids.iter().zip(failed).enumerate() {
        if !failed {
            continue;
        }
        if id.is_empty() {
            return Err(i);
        }
        if out.last().map(String::as_str) != Some(*id) {
            out.push((*id).to_owned());
        }
    }
    Ok(out)
}

/// A source reject: `InvalidRecord` naming the record's place in the event.
fn check_reject(code: &str, message: &str, position: usize) {
    assert_eq!(code, INVALID_RECORD, "{message}");
    let place = format!("Records[{position}].");
    assert!(message.starts_with(&place), "a reject names its place `{place}`: {message}");
}

/// `Records` an object event may hold for the whole event to read: absent, null or an array.
fn records_readable(data: &[u8]) -> bool {
    matches!(serde_json::from_slice::<Value>(data), Ok(Value::Object(m)) if matches!(m.get("Records"), None | Some(Value::Null | Value::Array(_))))
}

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------

/// One input record's expected records after decoding.
struct ExpectedKinesis {
    rejected: bool,
    sequence: String,
    /// `(key, payload)` per output record; `None` sub-sequence unless from an aggregate.
    records: Vec<(String, Bytes)>,
    aggregate: bool,
    arrival_ms: Option<i64>,
    attributes: [Option<String>; 3],
}

/// Kinesis: [`KinesisBatch`] from the event text, [`kinesis::decode_batch`],
/// and the whole invocation ([`kinesis::invoke_batch`], nothing routed).
///
/// - An object event whose `Records` is absent, null or an array always
///   reads (one bad record is a problem of that record only).
/// - Decoding keeps every input record: one record (rejected `InvalidRecord`
///   naming `Records[i].`, or plain) or, for a KPL aggregate, one per user
///   record with sub-sequences `0..n`, in event order; ids, keys, payloads,
///   arrival times and attributes as written.
/// - When [`aws_lambda_events`]' `KinesisEvent` reads the event too and no
///   record is rejected, both decode to the same ids, keys and payloads.
/// - The answer names exactly the rejected records' sequence numbers, or is
///   `Unreportable` at the first one without; an event without `Records` is `NotKinesis`.
pub fn kinesis_decode(data: &[u8]) {
    let parsed = serde_json::from_slice::<KinesisBatch>(data);
    if let Err(e) = &parsed {
        let duplicate = e.to_string().contains("duplicate field `Records`");
        assert!(!records_readable(data) || duplicate, "an event with a Records array reads whatever its records hold: {e}");
        return;
    }
    let Ok(batch) = parsed else { return };
    let has_records = batch.records.is_some();
    let expected: Vec<ExpectedKinesis> = batch
        .records
        .iter()
        .flatten()
        .map(|r| {
            let k = &r.kinesis;
            let data = Bytes::copy_from_slice(&k.data);
            let rejected = r.problem.get().is_some();
            let subs = if rejected { None } else { kpl::deaggregate(&data) };
            let aggregate = subs.is_some();
            let records = match subs {
                Some(subs) => subs.into_iter().map(|s| (s.partition_key, s.data)).collect(),
                None => vec![(k.partition_key.clone(), data)],
            };
            ExpectedKinesis {
                rejected,
                sequence: k.sequence_number.clone(),
                records,
                aggregate,
                arrival_ms: k.approximate_arrival_timestamp.map(|s| (s * 1000.0).round() as i64),
                attributes: [r.event_source_arn.as_deref(), r.aws_region.as_deref(), r.shard_id.as_deref()].map(|a| a.map(str::to_owned)),
            }
        })
        .collect();
    let decoded = kinesis::decode_batch(batch);
    assert_eq!(decoded.records.len(), expected.iter().map(|e| e.records.len()).sum::<usize>(), "one record per input record or user record");
    let mut at = 0usize;
    let mut rejects = decoded.rejects.iter().peekable();
    let mut failed = Vec::new();
    for (position, e) in expected.iter().enumerate() {
        for (sub, (key, payload)) in e.records.iter().enumerate() {
            let r = &decoded.records[at];
            assert_eq!(r.source, kinesis::SOURCE);
            assert_eq!(r.id.source_id, e.sequence, "Records[{position}]: the id is the sequence number");
            assert_eq!(r.id.sub_sequence, e.aggregate.then_some(sub as u32), "Records[{position}]");
            assert_eq!(r.key.as_deref(), Some(key.as_str()), "Records[{position}]");
            assert_eq!(&r.data, payload, "Records[{position}]");
            assert_eq!(r.arrival_ms, e.arrival_ms, "Records[{position}]");
            for (name, want) in ["event_source_arn", "aws_region", "shard_id"].iter().zip(&e.attributes) {
                assert_eq!(r.attributes.get(*name).and_then(Value::as_str), want.as_deref(), "Records[{position}].{name}");
            }
            match rejects.next_if(|(i, _)| *i as usize == at) {
                Some((_, err)) => {
                    assert!(e.rejected, "Records[{position}] is rejected only with a problem: {err:?}");
                    check_reject(&err.code, &err.message, position);
                }
                None => assert!(!e.rejected, "Records[{position}] has a problem but no reject"),
            }
            failed.push(e.rejected);
            at += 1;
        }
    }
    assert!(rejects.next().is_none(), "rejects are in record order and name decoded records: {:?}", decoded.rejects);

    if decoded.rejects.is_empty() {
        if let Ok(event) = serde_json::from_slice::<aws_lambda_events::event::kinesis::KinesisEvent>(data) {
            let other = kinesis::decode(event);
            let view = |records: &[Record]| records.iter().map(|r| (r.id.clone(), r.key.clone(), r.data.clone())).collect::<Vec<_>>();
            if other.rejects.is_empty() && has_records {
                assert_eq!(view(&other.records), view(&decoded.records), "KinesisEvent and KinesisBatch decode alike");
            }
        }
    }

    let batch = serde_json::from_slice::<KinesisBatch>(data).expect("it read once");
    let invocation = block_on(kinesis::invoke_batch(sqs_fanout(0), batch, deadline()));
    if !has_records {
        assert!(matches!(invocation.response, Err(kinesis::KinesisHandlerError::NotKinesis)), "{:?}", invocation.response);
        return;
    }
    check_statuses(&invocation.report, &failed);
    let ids: Vec<&str> = invocation.records.iter().map(|r| r.id.source_id.as_str()).collect();
    match (expected_failures(&ids, &failed), &invocation.response) {
        (Ok(want), Ok(response)) => {
            let got: Vec<String> =
                response.batch_item_failures.iter().map(|f| f.item_identifier.clone().expect("an identifier, never null")).collect();
            assert_eq!(got, want, "the answer names the rejected records");
        }
        (Err(index), Err(kinesis::KinesisHandlerError::Unreportable(crate::sources::UnreportableRecord { index: got, .. }))) => {
            assert_eq!(*got, index)
        }
        (want, got) => panic!("expected {want:?}, answered {got:?}"),
    }
}

/// Nothing is routed: each record is failed exactly when rejected, else unrouted.
fn check_statuses(report: &Report, failed: &[bool]) {
    assert_eq!(report.status.len(), failed.len());
    for (i, (status, failed)) in report.status.iter().zip(failed).enumerate() {
        let want = if *failed { RecordStatus::Failed } else { RecordStatus::Unrouted };
        assert_eq!(*status, want, "record {i}");
    }
}

/// SQS: the first byte sets `sqs.unwrap_sns` (bit 0) and `sqs.base64_body`
/// (bit 1); the rest is the event. [`SqsBatch`], [`sqs::decode`], and the
/// whole invocation ([`sqs::invoke`], nothing routed, FIFO waves included).
///
/// - An object event whose `Records` is absent, null or an array always reads.
/// - One record per message, in order, id = `messageId`, key =
///   `MessageGroupId`; rejects are `InvalidRecord` naming `Records[i].`, or
///   `InvalidBase64Body` only with `base64_body`; without either flag the
///   payload is the body as written.
/// - When `SqsEvent` reads the event too and nothing is rejected, both decode
///   to the same ids, keys, payloads and arrival times.
/// - The answer names the failed messages: the rejected ones, and on a FIFO
///   queue every later message of a rejected one's group.
pub fn sqs_decode(data: &[u8]) {
    let Some((&flags, event)) = data.split_first() else { return };
    let config = sqs_fanout(flags).config().sqs.clone();
    let parsed = serde_json::from_slice::<SqsBatch>(event);
    if let Err(e) = &parsed {
        let duplicate = e.to_string().contains("duplicate field `Records`");
        assert!(!records_readable(event) || duplicate, "an event with a Records array reads whatever its messages hold: {e}");
        return;
    }
    let Ok(batch) = parsed else { return };
    let has_records = batch.records.is_some();
    let messages: Vec<(String, String, bool)> =
        batch.records.iter().flatten().map(|m| (m.message_id.clone(), m.body.clone(), m.problem.get().is_some())).collect();
    let decoded = sqs::decode(batch, &config);
    assert_eq!(decoded.records.len(), messages.len(), "one record per message");
    let mut rejected = vec![false; messages.len()];
    let mut last = None;
    for (index, err) in &decoded.rejects {
        let index = *index as usize;
        assert!(last < Some(index) && index < messages.len(), "rejects are in order and name messages: {:?}", decoded.rejects);
        last = Some(index);
        rejected[index] = true;
        if messages[index].2 {
            check_reject(&err.code, &err.message, index);
        } else {
            assert!(config.base64_body && err.code == "InvalidBase64Body", "message {index} has no problem but is rejected: {err:?}");
        }
    }
    for (i, (r, (id, body, problem))) in decoded.records.iter().zip(&messages).enumerate() {
        assert!(!problem || rejected[i], "Records[{i}] has a problem but no reject");
        assert_eq!(r.source, sqs::SOURCE);
        assert_eq!(&r.id.source_id, id);
        assert_eq!(r.key.as_deref(), r.attributes.get("MessageGroupId").and_then(Value::as_str), "Records[{i}]: the key is the group");
        assert!(r.attributes.contains_key("message_attributes") && r.attributes.contains_key("event_source_arn"));
        if !config.unwrap_sns && !config.base64_body {
            assert_eq!(&r.data[..], body.as_bytes(), "Records[{i}]: the payload is the body");
        }
    }
    if decoded.rejects.is_empty() && has_records {
        if let Ok(event) = serde_json::from_slice::<aws_lambda_events::event::sqs::SqsEvent>(event) {
            let other = sqs::decode(event, &config);
            let view = |records: &[Record]| records.iter().map(|r| (r.id.clone(), r.key.clone(), r.data.clone(), r.arrival_ms)).collect::<Vec<_>>();
            if other.rejects.is_empty() {
                assert_eq!(view(&other.records), view(&decoded.records), "SqsEvent and SqsBatch decode alike");
            }
        }
    }

    let fifo = sqs::is_fifo(&decoded.records);
    let groups: Vec<String> = decoded.records.iter().map(|r| r.key.clone().unwrap_or_default()).collect();
    let failed: Vec<bool> = match fifo {
        true => (0..rejected.len()).map(|i| (0..=i).any(|j| rejected[j] && groups[j] == groups[i])).collect(),
        false => rejected.clone(),
    };
    let batch = serde_json::from_slice::<SqsBatch>(event).expect("it read once");
    let invocation = block_on(sqs::invoke(sqs_fanout(flags), batch, deadline()));
    if !has_records {
        assert!(matches!(invocation.response, Err(sqs::SqsHandlerError::NotSqs)), "{:?}", invocation.response);
        return;
    }
    check_statuses(&invocation.report, &failed);
    let ids: Vec<&str> = invocation.records.iter().map(|r| r.id.source_id.as_str()).collect();
    assert_eq!(ids, messages.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(), "the records come back in batch order");
    match (expected_failures(&ids, &failed), &invocation.response) {
        (Ok(want), Ok(response)) => {
            let got: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
            assert_eq!(got, want, "the answer names the failed messages (fifo: {fifo})");
        }
        (Err(index), Err(sqs::SqsHandlerError::Unreportable(crate::sources::UnreportableRecord { index: got, .. }))) => assert_eq!(*got, index),
        (want, got) => panic!("expected {want:?}, answered {got:?}"),
    }
}

/// IoT: the first byte picks the config (bit 0: `topic_field: t`,
/// `client_id_field: c`); the rest is the rule's result. [`iot::decode`] and
/// the whole invocation ([`iot::invoke`], nothing routed).
///
/// - JSON text always decodes: an array into one record per element, any
///   other value into one record; each payload is its element's text, ids
///   `<request>-<i>`, `attributes.topic` / `client_id` the element's string
///   fields, the key the client id else the topic.
/// - The answer counts every record unrouted, or is `NotJson` when decoding failed.
pub fn iot_decode(data: &[u8]) {
    let Some((&flags, event)) = data.split_first() else { return };
    let fanout = if flags & 1 == 1 { &fanouts()[4] } else { sqs_fanout(0) };
    let config = &fanout.config().iot;
    let decoded = iot::decode(Bytes::copy_from_slice(event), "fuzz", config);
    if let Ok(value) = serde_json::from_slice::<Value>(event) {
        let Ok(decoded) = &decoded else { panic!("JSON text decodes: {:?}", decoded.as_ref().err()) };
        let elements = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        assert_eq!(decoded.records.len(), elements.len(), "one record per element");
        assert!(decoded.rejects.is_empty());
        let (topic_field, client_field) = (config.topic_field.as_deref().unwrap_or("topic"), config.client_id_field.as_deref().unwrap_or("clientId"));
        for (i, (r, element)) in decoded.records.iter().zip(&elements).enumerate() {
            assert_eq!(r.id.source_id, format!("fuzz-{i}"));
            assert_eq!(serde_json::from_slice::<Value>(&r.data).ok().as_ref(), Some(element), "record {i} is its element's text");
            let text = |field: &str| element.get(field).and_then(Value::as_str);
            let (topic, client) = (text(topic_field), text(client_field));
            assert_eq!(r.attributes.get("topic").and_then(Value::as_str), topic, "record {i}");
            assert_eq!(r.attributes.get("client_id").and_then(Value::as_str), client, "record {i}");
            assert_eq!(r.key.as_deref(), client.or(topic), "record {i}");
        }
    }
    let invocation = block_on(iot::invoke(fanout, Bytes::copy_from_slice(event), "fuzz", deadline()));
    match (&decoded, &invocation.response) {
        (Ok(d), Ok(summary)) => {
            let n = d.records.len();
            assert_eq!(*summary, iot::IotSummary { records: n, delivered: 0, dead_lettered: 0, unrouted: n });
        }
        (Err(_), Err(iot::IotHandlerError::NotJson(_))) => {}
        (d, got) => panic!("decoded {:?}, answered {got:?}", d.as_ref().map(|d| d.records.len())),
    }
}

/// HTTP: an API Gateway proxy event. [`apigw::request_from_event`], then
/// [`http::invoke`] (nothing routed; requests that would call IoT Events are
/// only parsed: `POST /detectors` items through
/// [`iot_events_detector::update_from_item`] and `encode`). Bodies whose
/// length is a multiple of 3 meet a 256-byte limit.
///
/// - An event that does not read is a 400 with an `error` message.
/// - Every answer is 200, 207, 400, 404, 405, 413 or 415, with a JSON body;
///   `POST /records` answers one result per item (`unrouted` or `invalid`),
///   200 exactly when none is invalid; errors carry an `error` message.
/// - The proxy response carries the status and the body as JSON text.
/// - A `detectors[]` item that validates also encodes into an SDK request.
pub fn http_event(data: &[u8]) {
    let request = match apigw::request_from_event(data) {
        Ok(request) => request,
        Err(answer) => {
            assert_eq!(answer.status, 400, "{answer:?}");
            assert!(answer.body["error"].is_string(), "{answer:?}");
            check_proxy_response(&answer);
            return;
        }
    };
    assert!(!request.method.is_empty());
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let method = request.method.to_ascii_uppercase();
    let fanout = if request.body.len() % 3 == 0 { &fanouts()[5] } else { sqs_fanout(0) };
    match (method.as_str(), segments.as_slice()) {
        // Reads of detector state call IoT Events: not here.
        ("GET", [.., "detectors", _] | [.., "detectors", _, _]) => return,
        ("POST", [.., "detectors"]) if detector_items_would_send(&request.body) => return,
        _ => {}
    }
    let (answer, routed) = block_on(http::invoke(fanout, request.clone(), deadline()));
    assert!([200, 207, 400, 404, 405, 413, 415].contains(&answer.status), "{} {}: {answer:?}", request.method, request.path);
    check_proxy_response(&answer);
    match answer.status {
        200 | 207 => {
            if let Some((records, report)) = &routed {
                let results = answer.body["records"].as_array().expect("a result per item");
                let mut valid = 0;
                for r in results {
                    assert!(r["id"].is_string(), "{r}");
                    match r["status"].as_str() {
                        Some("unrouted") => valid += 1,
                        Some("invalid") => assert_eq!(r["error"]["code"], "InvalidRecord", "{r}"),
                        _ => panic!("nothing is routed, so every item is unrouted or invalid: {r}"),
                    }
                }
                assert_eq!(records.len(), valid);
                assert_eq!(answer.status == 200, valid == results.len(), "200 exactly when every item is valid");
                assert!(report.status.iter().all(|s| *s == RecordStatus::Unrouted));
            } else {
                let results = answer.body["detectors"].as_array().expect("a result per detector item");
                assert!(results.iter().all(|r| r["status"] == "invalid"), "nothing was sent: {}", answer.body);
                assert_eq!(answer.status == 200, results.is_empty());
            }
        }
        _ => {
            assert!(answer.body["error"].is_string(), "{answer:?}");
            assert!(routed.is_none());
        }
    }
}

/// Whether `POST /detectors` with this body would send an update (some item
/// validates); every item that validates must encode.
fn detector_items_would_send(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return false };
    let Some(items) = value.get("detectors").and_then(Value::as_array) else { return false };
    let mut any = false;
    for (i, item) in items.iter().enumerate() {
        if let Ok(update) = iot_events_detector::update_from_item(item, "", format!("item-{i}")) {
            assert_eq!(update.message_id, format!("item-{i}"));
            let encoded = detector_sender().encode(&[&update]);
            assert!(encoded.as_ref().is_ok_and(|e| e.len() == 1), "a validated update encodes: {update:?}: {encoded:?}");
            any |= !update.model.is_empty();
        }
    }
    any
}

/// The proxy response: the status, and the body as JSON text.
fn check_proxy_response(answer: &http::HttpResponse) {
    let event = apigw::response_to_event(answer);
    assert_eq!(event["statusCode"], answer.status);
    let body: Value = serde_json::from_str(event["body"].as_str().expect("the body is text")).expect("the body is JSON");
    assert_eq!(body, answer.body);
}

/// KPL: the first byte picks raw bytes (even) or a frame the harness builds
/// around the rest (odd: magic, the bytes as the protobuf, their MD5), so the
/// protobuf decoding is reached. [`kpl::deaggregate`].
///
/// - An aggregate has the magic, a body whose MD5 is the trailer, and at
///   least one record; each user record has its table's partition key and
///   its payload is a slice of the parent's bytes.
/// - [`kpl::aggregate`] of the user records deaggregates to the same records.
/// - A Kinesis record carrying the bytes decodes into one record per user record.
pub fn kpl_deaggregate(data: &[u8]) {
    use md5::{Digest, Md5};
    use prost::Message;
    let Some((&mode, rest)) = data.split_first() else { return };
    let framed = if mode & 1 == 1 {
        let mut out = kpl::MAGIC.to_vec();
        out.extend_from_slice(rest);
        out.extend_from_slice(&Md5::digest(rest));
        Bytes::from(out)
    } else {
        Bytes::copy_from_slice(rest)
    };
    let subs = kpl::deaggregate(&framed);
    let event = json!({"Records": [{"eventID": "shardId-0:1", "kinesis": {
        "sequenceNumber": "1", "partitionKey": "p", "data": base64::engine::general_purpose::STANDARD.encode(&framed)}}]});
    let decoded = kinesis::decode_batch(serde_json::from_value(event).expect("a Kinesis event"));
    assert!(decoded.rejects.is_empty());
    let Some(subs) = subs else {
        assert_eq!(decoded.records.len(), 1, "not an aggregate: one ordinary record");
        assert_eq!(decoded.records[0].data, framed);
        return;
    };
    assert!(framed.len() > kpl::MAGIC.len() + kpl::DIGEST_LEN && framed.starts_with(&kpl::MAGIC));
    let body = &framed[kpl::MAGIC.len()..framed.len() - kpl::DIGEST_LEN];
    assert_eq!(Md5::digest(body)[..], framed[framed.len() - kpl::DIGEST_LEN..]);
    let aggregate = kpl::AggregatedRecord::decode(body).expect("it deaggregated, so it decodes");
    assert!(!subs.is_empty());
    assert_eq!(subs.len(), aggregate.records.len());
    let range = framed.as_ptr() as usize..framed.as_ptr() as usize + framed.len();
    for (sub, record) in subs.iter().zip(&aggregate.records) {
        assert_eq!(sub.partition_key, aggregate.partition_key_table[record.partition_key_index as usize]);
        assert_eq!(sub.data, record.data);
        assert!(sub.data.is_empty() || range.contains(&(sub.data.as_ptr() as usize)), "payloads are slices of the parent");
    }
    let pairs: Vec<(&str, &[u8])> = subs.iter().map(|s| (s.partition_key.as_str(), &s.data[..])).collect();
    assert_eq!(kpl::deaggregate(&kpl::aggregate(&pairs)).as_ref(), Some(&subs), "aggregate and deaggregate round-trip");
    assert_eq!(decoded.records.len(), subs.len());
    for (i, (r, sub)) in decoded.records.iter().zip(&subs).enumerate() {
        assert_eq!((r.id.source_id.as_str(), r.id.sub_sequence), ("1", Some(i as u32)));
        assert_eq!((r.key.as_deref(), &r.data), (Some(sub.partition_key.as_str()), &sub.data));
    }
}

// ---------------------------------------------------------------------------
// Patterns, pointers, projection, config
// ---------------------------------------------------------------------------

/// Patterns. First byte 0x01: wildcard mode, `W SEP T` (each cut to 200
/// bytes) checks `{"wildcard": W}` against `{"s": T}` by a reference
/// matcher. Otherwise the first byte picks the record's source and the rest
/// is `pattern SEP payload [SEP attributes [SEP key]]`: [`Pattern::compile`],
/// then [`Pattern::matches`].
///
/// - Compiling never panics; an error names its place.
/// - Matching never panics and gives the same answer twice.
/// - A record whose JSON view keeps only the pattern's
///   [`Pattern::data_fields`] matches exactly as the whole record does; a
///   pattern that reads no payload field matches whatever the payload.
/// - `wildcard` matches exactly what a textbook `*` matcher does, and a
///   pattern with `**` does not compile.
pub fn pattern_match(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode == 0x01 {
        return wildcard_mode(rest);
    }
    let mut parts = rest.splitn(4, |&b| b == SEP);
    let pattern_text = parts.next().unwrap_or_default();
    let payload = Bytes::copy_from_slice(parts.next().unwrap_or_default());
    let attributes: Arc<Map<String, Value>> = Arc::new(
        parts
            .next()
            .and_then(|a| serde_json::from_slice(a).ok())
            .unwrap_or_else(|| json!({"shard_id": "shardId-000000000001", "topic": "plant/a/t"}).as_object().cloned().unwrap_or_default()),
    );
    let key = match parts.next() {
        Some(k) => Some(String::from_utf8_lossy(k).into_owned()),
        None => Some("device-7".to_owned()),
    };
    let Ok(pattern_value) = serde_json::from_slice::<Value>(pattern_text) else { return };
    let pattern = match Pattern::compile(&pattern_value) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.message.is_empty() && !e.to_string().is_empty());
            return;
        }
    };
    let source = ["kinesis", "sqs", "http", "iot"][mode as usize % 4];
    let record = |payload: &Bytes| {
        let mut r = Record::new(RecordId::new("fuzz"), source, payload.clone()).with_attributes(Arc::clone(&attributes));
        r.key = key.clone();
        r
    };
    let whole = record(&payload);
    let matched = pattern.matches(&whole);
    assert_eq!(pattern.matches(&whole), matched, "matching twice answers the same");
    match pattern.data_fields() {
        DataFields::Fields(fields) => {
            let fields: Arc<[String]> = fields.into_iter().collect::<Vec<_>>().into();
            let projected = record(&payload);
            projected.project_json(&fields);
            assert_eq!(pattern.matches(&projected), matched, "the projected view ({fields:?}) matches as the whole payload does");
        }
        DataFields::Unused => {
            for other in [&b"{}"[..], b"not json", b"[1]"] {
                assert_eq!(pattern.matches(&record(&Bytes::from_static(other))), matched, "a pattern that reads no payload ignores it");
            }
        }
        DataFields::Whole => {}
    }
}

fn wildcard_mode(rest: &[u8]) {
    let mut parts = rest.splitn(2, |&b| b == SEP);
    let cut = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned();
    let wildcard = cut(parts.next().unwrap_or_default());
    let text = cut(parts.next().unwrap_or_default());
    let compiled = Pattern::compile(&json!({"data": {"s": [{"wildcard": wildcard}]}}));
    if wildcard.contains("**") {
        assert!(compiled.is_err(), "consecutive `*` do not compile: {wildcard:?}");
        return;
    }
    let pattern = compiled.expect("a wildcard without `**` compiles");
    let record = Record::new(RecordId::new("fuzz"), "kinesis", Bytes::from(json!({"s": text}).to_string()));
    assert_eq!(pattern.matches(&record), wildcard_reference(wildcard.as_bytes(), text.as_bytes()), "wildcard {wildcard:?} on {text:?}");
}

/// `*` matches any run of bytes, anything else itself: the textbook dynamic program.
fn wildcard_reference(pattern: &[u8], text: &[u8]) -> bool {
    // prefix[j]: the pattern so far matches text[..j].
    let mut prefix = vec![false; text.len() + 1];
    prefix[0] = true;
    for &c in pattern {
        if c == b'*' {
            for j in 1..=text.len() {
                prefix[j] = prefix[j] || prefix[j - 1];
            }
        } else {
            for j in (1..=text.len()).rev() {
                prefix[j] = prefix[j - 1] && text[j - 1] == c;
            }
            prefix[0] = false;
        }
    }
    prefix[text.len()]
}

/// JSON Pointers: `pointer SEP document`. [`crate::pointer::get`].
///
/// - It finds exactly what `serde_json::Value::pointer` finds (the same value).
/// - A document parsed keeping only the pointer's top-level field
///   ([`DataFields::pointer`], [`parse_projected`]) yields the same value there.
pub fn pointer_get(data: &[u8]) {
    let mut parts = data.splitn(2, |&b| b == SEP);
    let pointer = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let document = parts.next().unwrap_or_default();
    let Ok(value) = serde_json::from_slice::<Value>(document) else { return };
    let got = crate::pointer::get(&value, &pointer);
    let want = value.pointer(&pointer);
    assert!(
        match (got, want) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        },
        "pointer {pointer:?}: got {got:?}, serde_json finds {want:?}"
    );
    if let DataFields::Fields(fields) = DataFields::pointer(&pointer) {
        let fields: Vec<String> = fields.into_iter().collect();
        let projected = parse_projected(document, &fields).expect("the full parse succeeded, so the projected one does");
        assert_eq!(crate::pointer::get(&projected, &pointer), got, "pointer {pointer:?} reads the same through the projection {fields:?}");
    }
}

/// The projected parse: `field\nfield... SEP payload` (no SEP: no fields,
/// all payload). [`parse_projected`] with the fields sorted.
///
/// - It is `Some` exactly when `serde_json::from_slice::<Value>` is `Ok`.
/// - Then it is the full parse with only those fields of an object kept
///   (any other value whole).
pub fn projection_parse(data: &[u8]) {
    let (fields_text, payload) = match data.iter().position(|&b| b == SEP) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    let mut fields: Vec<String> =
        if fields_text.is_empty() { Vec::new() } else { String::from_utf8_lossy(fields_text).split('\n').map(str::to_owned).collect() };
    fields.sort();
    fields.dedup();
    let full = serde_json::from_slice::<Value>(payload);
    let projected = parse_projected(payload, &fields);
    assert_eq!(projected.is_some(), full.is_ok(), "projected and full parses agree on JSON-ness ({:?})", full.as_ref().err());
    if let (Some(projected), Ok(full)) = (projected, full) {
        let want = match full {
            Value::Object(map) => Value::Object(map.into_iter().filter(|(k, _)| fields.binary_search(k).is_ok()).collect()),
            other => other,
        };
        assert_eq!(projected, want, "fields {fields:?}");
    }
}

/// Config files: UTF-8 text through [`Config::parse`]; a valid config builds
/// a [`Fanout`] and dry-runs sample records.
///
/// - Parsing never panics; errors name the file and, when invalid, list problems.
/// - A valid config is consistent: destinations sorted and unique, route,
///   dead-letter and unmatched indices in range, no route to the dead-letter
///   destination, limits that admit an item into a request, delivery
///   settings in their ranges.
/// - Its dry run gives every record a status that agrees with its outcomes.
pub fn config_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let config = match Config::parse(text, Path::new("fuzz.yaml")) {
        Ok(config) => config,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.yaml"), "errors name the file: {message}");
            match e {
                ConfigError::Invalid { problems, .. } => {
                    assert!(!problems.is_empty() && problems.iter().all(|p| !p.place.is_empty() && !p.message.is_empty()), "{problems:?}")
                }
                ConfigError::Parse { message, .. } => assert!(!message.is_empty()),
                other => panic!("parsing text only fails to parse or to validate: {other}"),
            }
            return;
        }
    };
    check_config(&config);
    let fanout = Fanout::dry_run(config, clients());
    let records = sample_records();
    let report = block_on(fanout.process(&records, no_deadline()));
    check_dry_run(&fanout, &report);
}

fn check_config(c: &Config) {
    let n = c.destinations.len();
    assert!(n > 0);
    assert!(c.destinations.windows(2).all(|w| w[0].0 < w[1].0), "destinations sorted by name, each once");
    for r in &c.routes {
        assert!(r.to.iter().all(|&d| d < n), "route {} names destinations that exist", r.name);
        assert!(r.to.iter().enumerate().all(|(i, d)| !r.to[..i].contains(d)), "route {} names a destination once", r.name);
        assert_eq!(r.pattern.is_some(), r.pattern_source.is_some(), "route {}: a pattern as written is compiled", r.name);
        assert!(c.dead_letter.is_none_or(|dl| !r.to.contains(&dl)), "route {} sends to the dead-letter destination", r.name);
    }
    if let Some(dl) = c.dead_letter {
        assert!(dl < n && c.destinations[dl].1.kind().takes_dead_letters());
        assert_ne!(c.unmatched, Some(dl));
    }
    assert!(c.unmatched.is_none_or(|u| u < n));
    for (name, d) in &c.destinations {
        let l = d.spec().limits();
        assert!(l.max_items >= 1 && l.max_item_bytes >= 1 && l.max_item_bytes <= l.max_request_bytes, "{name}: limits {l:?}");
    }
    let d = &c.delivery;
    assert!((1..=100).contains(&d.max_attempts) && (1..=crate::destinations::registry::MAX_IN_FLIGHT).contains(&d.max_in_flight));
    assert!(d.base_delay_ms >= 1 && d.base_delay_ms <= d.max_delay_ms);
    assert!(d.deadline_margin_ms >= 1 && d.deadline_margin_ms < crate::config::MAX_LAMBDA_TIMEOUT_MS);
    let _ = c.data_fields();
}

/// Records every destination type has something to say about.
fn sample_records() -> Vec<Record> {
    let payloads: [&str; 5] = [
        r#"{"deviceId":"sensor-1","site":"a","temperature":61.5,"pressure":1012,"alarm":true,"q":"GOOD","ts":1800000000000}"#,
        r#"{"deviceId":"sensor-2","temperature":20}"#,
        r#"[{"keyValue":"k-1","state":{"stateName":"Idle"}}]"#,
        "legacy,gw-9,temp=19.0",
        "",
    ];
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut attributes = Map::new();
            attributes.insert("shard_id".into(), json!("shardId-000000000000"));
            Record::new(RecordId::new(format!("4959{i}")), "kinesis", Bytes::from_static(p.as_bytes()))
                .with_key(format!("sensor-{i}"))
                .with_attributes(Arc::new(attributes))
        })
        .collect()
}

/// A dry run's report: one per record, one per destination (outcomes in
/// record order), statuses that agree with the outcomes, and, since every
/// sent entry succeeds, failures only from permanent refusals.
fn check_dry_run(fanout: &Fanout, report: &Report) {
    assert_eq!(report.destinations.len(), fanout.destinations().len(), "a report per destination, and no source rejects");
    let n = report.status.len();
    for d in &report.destinations {
        assert!(
            d.outcomes.windows(2).all(|w| w[0].0 < w[1].0) && d.outcomes.iter().all(|(i, _)| (*i as usize) < n),
            "{}: outcomes in record order",
            d.name
        );
    }
    for (i, status) in report.status.iter().enumerate() {
        let outcomes: Vec<&DestinationOutcome> = report.outcomes_of(i).map(|(_, o)| o).collect();
        let failed = outcomes.iter().any(|o| matches!(o, DestinationOutcome::Failed(_)));
        let dead = outcomes.iter().any(|o| matches!(o, DestinationOutcome::DeadLettered(_)));
        match status {
            RecordStatus::Unrouted => assert!(outcomes.is_empty(), "record {i}: unrouted but {outcomes:?}"),
            RecordStatus::Delivered => assert!(!outcomes.is_empty() && !failed && !dead, "record {i}: delivered but {outcomes:?}"),
            RecordStatus::DeadLettered => assert!(dead && !failed, "record {i}: dead-lettered but {outcomes:?}"),
            RecordStatus::Failed => assert!(failed, "record {i}: failed but {outcomes:?}"),
        }
        for o in outcomes {
            if let DestinationOutcome::Failed(e) | DestinationOutcome::DeadLettered(e) = o {
                assert_eq!(e.class, ErrorClass::Permanent, "record {i}: a dry run only fails for good: {e:?}");
            }
        }
    }
}

/// The dry-run configs: every destination type and mapping mode with a
/// dead-letter destination (0), and only field-reading mappings, so that the
/// JSON view is projected, with an `unmatched` destination (1).
const DRY_RUN_CONFIGS: [&str; 2] = [
    r#"
destinations:
  archive: { type: firehose, delivery_stream: archive, max_record_bytes: 2048 }
  hot: { type: kinesis, stream: hot, partition_key: /deviceId }
  keyed: { type: kinesis, stream: keyed, max_record_bytes: 4096 }
  analytics: { type: iot_analytics, channel: telemetry }
  analytics-clean: { type: iot_analytics, channel: clean, sanitize_field_names: true, max_message_bytes: 4096 }
  events: { type: iot_events, input: telemetry_input }
  events-mapped: { type: iot_events, input: mapped, payload: /reading, timestamp: /ts }
  alarms: { type: iot_events_detector, detector_model: overheating, key: /deviceId, state: Alarm, variables: { temperature: /temperature, site: /site }, timers: { cool: 60, wait: /wait } }
  alarm-states: { type: iot_events_detector, detector_model: states, key: /deviceId, state: /state }
  detectors-raw: { type: iot_events_detector, detector_model: raw, passthrough: true }
  plant: { type: sitewise, properties: [ { alias: '/plant/{/site}/{/deviceId}/temperature', value: /temperature, type: double }, { alias: '/plant/{/site}/{/deviceId}/pressure', value: /pressure, type: integer, timestamp: /ts, quality: /q }, { asset_id: '{/asset}', property_id: 'p-{/n}', value: /v, type: string }, { alias: '/x/{/deviceId}', value: /b, type: boolean, quality: BAD } ] }
  plant-raw: { type: sitewise, passthrough: true, enable_partial_entry_processing: false }
  errors: { type: firehose, delivery_stream: errors, max_record_bytes: 8192 }
routes:
  - { name: all, to: [archive] }
  - { name: hot, match: { data: { temperature: [ { numeric: [">", 50] } ] } }, to: [hot, keyed] }
  - { name: readings, match: { data: { temperature: [ { exists: true } ] } }, to: [analytics, analytics-clean, events, events-mapped, plant] }
  - { name: alarms, match: { $or: [ { data: { alarm: [ true ] } }, { key: [ { prefix: "alarm" } ] } ] }, to: [alarms, alarm-states] }
  - { name: raw, match: { data: { keyValue: [ { exists: true } ] } }, to: [detectors-raw] }
  - { name: entries, match: { data: { entries: [ { exists: true } ] } }, to: [plant-raw] }
dead_letter: errors
"#,
    r#"
destinations:
  rest: { type: firehose, delivery_stream: rest, max_record_bytes: 2048 }
  hot: { type: kinesis, stream: hot, partition_key: /deviceId }
  keyed: { type: kinesis, stream: keyed, partition_key: /k~1ey/0 }
  events-mapped: { type: iot_events, input: mapped, payload: /reading, timestamp: /ts }
  alarms: { type: iot_events_detector, detector_model: overheating, key: /deviceId, state: Alarm, variables: { temperature: /temperature, site: /site }, timers: { cool: 60, wait: /wait } }
  alarm-states: { type: iot_events_detector, detector_model: states, key: /deviceId, state: /state }
  plant: { type: sitewise, properties: [ { alias: '/plant/{/site}/{/deviceId}/temperature', value: /temperature, type: double }, { alias: '/plant/{/site}/{/deviceId}/pressure', value: /pressure, type: integer, timestamp: /ts, quality: /q }, { asset_id: '{/asset}', property_id: 'p-{/n}', value: /v } ] }
  relay: { type: kinesis, stream: relay, partition_key: '= .data.deviceId // .key // "none"', transform: '{deviceId: .data.deviceId, t: .data.temperature, nested: .data.nested.level, key, id}' }
  archive: { type: firehose, delivery_stream: archive, delimiter: "\n", transform: 'select((.data | type) == "object") | .data | {site, temperature, alarm}, (.n // empty)' }
routes:
  - { name: hot, match: { data: { temperature: [ { numeric: [">", 50] } ], $or: [ { site: [ { prefix: "a" } ] }, { deviceId: [ { wildcard: "s*-*" } ] } ] } }, to: [hot, keyed, relay, archive] }
  - { name: readings, match: { data: { temperature: [ { exists: true } ], reading: [ { anything-but: [ null ] } ] } }, to: [events-mapped, plant] }
  - { name: plant, match: { data: { site: [ { exists: true } ] } }, to: [plant] }
  - { name: alarms, match: { $or: [ { data: { alarm: [ true ] } }, { key: [ { prefix: "alarm" } ] }, { data: { nested: { level: [ { numeric: [">=", 3] } ] } } } ] }, to: [alarms, alarm-states] }
unmatched: rest
"#,
];

fn dry_run_fanouts() -> &'static [Fanout] {
    static FANOUTS: OnceLock<Vec<Fanout>> = OnceLock::new();
    // The third is the second without the projected JSON view.
    FANOUTS.get_or_init(|| {
        let mut all: Vec<Fanout> = DRY_RUN_CONFIGS.iter().map(|text| Fanout::dry_run(fuzz_config(text), clients())).collect();
        all.push(all[1].clone().without_projection());
        all
    })
}

/// Routing and every destination's `prepare`, `pack` and `encode`, in a dry
/// run over fixed configs: the first byte picks the config (bit 0); the rest
/// is up to 16 records separated by SEP, each a byte (key: none, `device-1`,
/// `alarm-7` or empty; arrival: none or 1970) and its payload.
///
/// - The report agrees with itself (see `config_parse`), and only permanent
///   refusals fail.
/// - With the projected JSON view (config 1), the report is exactly the
///   report of the whole-document parse ([`Fanout::without_projection`]).
pub fn route_dry_run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    let fanout = &dry_run_fanouts()[which as usize & 1];
    let records = || -> Vec<Record> {
        rest.split(|&b| b == SEP)
            .take(16)
            .enumerate()
            .map(|(i, chunk)| {
                let (&shape, payload) = chunk.split_first().unwrap_or((&0, &[]));
                let mut r = Record::new(
                    RecordId { source_id: format!("4959{i}"), sub_sequence: (shape & 8 == 8).then_some(i as u32) },
                    "kinesis",
                    Bytes::copy_from_slice(payload),
                );
                r.key = [None, Some("device-1"), Some("alarm-7"), Some("")][shape as usize & 3].map(str::to_owned);
                r.arrival_ms = (shape & 4 == 4).then_some(0);
                r
            })
            .collect()
    };
    let first = records();
    let report = block_on(fanout.process(&first, no_deadline()));
    assert_eq!(report.status.len(), first.len());
    check_dry_run(fanout, &report);
    if fanout.projection().is_some() {
        let second = records();
        let other = block_on(dry_run_fanouts()[2].process(&second, no_deadline()));
        assert_eq!(report.status, other.status, "projected and whole JSON views route and deliver alike");
        for (a, b) in report.destinations.iter().zip(&other.destinations) {
            assert_eq!(a.outcomes, b.outcomes, "{}: projected and whole JSON views give the same outcomes", a.name);
        }
    }
}

// ---------------------------------------------------------------------------
// Response mapping
// ---------------------------------------------------------------------------

/// A positional answer: per response entry, success or (code, message).
type Positional = Vec<Option<(String, Option<String>)>>;

/// A positional response (`entries[i]` answers sent entry `i`): `Ok` with
/// one result per sent entry exactly when the lengths agree, each an error
/// exactly when the entry has a code (that code, its message, its class);
/// else a transient whole-request error.
fn check_positional(mapped: Result<Vec<ItemResult>, ItemError>, sent: usize, answered: &Positional, classify: fn(&str) -> ErrorClass) {
    if answered.len() != sent {
        let e = mapped.expect_err("a response of another length is not guessed at");
        assert_eq!(e.class, ErrorClass::Transient, "{e:?}");
        return;
    }
    let results = mapped.expect("a response of the right length maps");
    assert_eq!(results.len(), sent, "one result per sent entry");
    for (i, (result, answer)) in results.iter().zip(answered).enumerate() {
        match (result, answer) {
            (Ok(()), None) => {}
            (Err(e), Some((code, message))) => {
                assert_eq!(&e.code, code, "entry {i}");
                assert_eq!(e.message, message.clone().unwrap_or_default(), "entry {i}");
                assert_eq!(e.class, classify(code), "entry {i}");
            }
            (got, want) => panic!("entry {i}: answered {want:?}, mapped to {got:?}"),
        }
    }
}

/// A positional answer read from fuzz bytes: sent count, then per entry a
/// flag and, when failed, a code and maybe a message.
fn positional_answer(r: &mut Reader<'_>) -> (usize, Positional) {
    let sent = r.below(12);
    let n = if r.byte() & 3 == 0 { r.below(12) } else { sent };
    let answered = (0..n).map(|_| (r.byte() & 1 == 1).then(|| (r.text(CODES), r.maybe_text(MESSAGES)))).collect();
    (sent, answered)
}

/// Firehose `PutRecordBatch`: [`firehose::map_response`] on an output built
/// from the bytes (see `check_positional`).
pub fn firehose_response(data: &[u8]) {
    use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchOutput;
    use aws_sdk_firehose::types::PutRecordBatchResponseEntry;
    let mut r = Reader(data);
    let (sent, answered) = positional_answer(&mut r);
    let entries = answered
        .iter()
        .map(|a| match a {
            None => PutRecordBatchResponseEntry::builder().record_id("r").build(),
            Some((code, message)) => PutRecordBatchResponseEntry::builder().error_code(code).set_error_message(message.clone()).build(),
        })
        .collect();
    let failed = answered.iter().filter(|a| a.is_some()).count() as i32;
    let output = PutRecordBatchOutput::builder().failed_put_count(failed).set_request_responses(Some(entries)).build().expect("output builds");
    check_positional(firehose::map_response(&output, sent), sent, &answered, firehose::classify_item_code);
}

/// Kinesis `PutRecords`: [`kinesis_destination::map_response`] on an output
/// built from the bytes (see `check_positional`).
pub fn kinesis_response(data: &[u8]) {
    use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
    use aws_sdk_kinesis::types::PutRecordsResultEntry;
    let mut r = Reader(data);
    let (sent, answered) = positional_answer(&mut r);
    let entries = answered
        .iter()
        .map(|a| match a {
            None => PutRecordsResultEntry::builder().sequence_number("1").shard_id("s").build(),
            Some((code, message)) => PutRecordsResultEntry::builder().error_code(code).set_error_message(message.clone()).build(),
        })
        .collect();
    let failed = answered.iter().filter(|a| a.is_some()).count() as i32;
    let output = PutRecordsOutput::builder().failed_record_count(failed).set_records(Some(entries)).build().expect("output builds");
    check_positional(kinesis_destination::map_response(&output, sent), sent, &answered, kinesis_destination::classify_item_code);
}

/// One error entry of a by-id response: message id, code, message.
type ByIdError = (Option<String>, Option<String>, Option<String>);

/// A by-id answer read from fuzz bytes: the sent ids, then the error entries.
fn by_id_answer(r: &mut Reader<'_>) -> (Vec<String>, Vec<ByIdError>) {
    let sent = (0..r.below(12)).map(|_| r.text(IDS)).collect();
    let errors = (0..r.below(12)).map(|_| (r.maybe_text(IDS), r.maybe_text(CODES), r.maybe_text(MESSAGES))).collect();
    (sent, errors)
}

/// A by-id response: one result per sent message, an error exactly when an
/// error entry names its id, with the code of one such entry (`UnknownError`
/// when it has none) and that code's class.
fn check_by_id(results: &[ItemResult], sent: &[String], errors: &[ByIdError], classify: fn(&str) -> ErrorClass) {
    assert_eq!(results.len(), sent.len(), "one result per sent message");
    for (i, (result, id)) in results.iter().zip(sent).enumerate() {
        let naming: Vec<&ByIdError> = errors.iter().filter(|(m, _, _)| m.as_deref() == Some(id.as_str())).collect();
        match result {
            Ok(()) => assert!(naming.is_empty(), "message {i} ({id:?}) is named by {naming:?} but mapped to success"),
            Err(e) => {
                assert!(
                    naming
                        .iter()
                        .any(|(_, code, message)| code.as_deref().unwrap_or("UnknownError") == e.code
                            && message.clone().unwrap_or_default() == e.message),
                    "message {i} ({id:?}) mapped to {e:?}, named by {naming:?}"
                );
                assert_eq!(e.class, classify(&e.code));
            }
        }
    }
}

/// IoT Analytics `BatchPutMessage`: [`iot_analytics::map_response`] (see `check_by_id`).
pub fn iot_analytics_response(data: &[u8]) {
    use aws_sdk_iotanalytics::operation::batch_put_message::BatchPutMessageOutput;
    use aws_sdk_iotanalytics::types::BatchPutMessageErrorEntry;
    let (sent, errors) = by_id_answer(&mut Reader(data));
    let messages: Vec<AnalyticsMessage> =
        sent.iter().map(|id| AnalyticsMessage { message_id: id.clone(), payload: Bytes::from_static(b"{}") }).collect();
    let output = BatchPutMessageOutput::builder()
        .set_batch_put_message_error_entries(Some(
            errors
                .iter()
                .map(|(id, code, message)| {
                    BatchPutMessageErrorEntry::builder()
                        .set_message_id(id.clone())
                        .set_error_code(code.clone())
                        .set_error_message(message.clone())
                        .build()
                })
                .collect(),
        ))
        .build();
    let results = iot_analytics::map_response(&output, &messages.iter().collect::<Vec<_>>());
    check_by_id(&results, &sent, &errors, iot_analytics::classify_item_code);
}

/// IoT Events `BatchPutMessage`: [`iot_events::map_response`] (see
/// `check_by_id`; codes go through the SDK's `ErrorCode`).
pub fn iot_events_response(data: &[u8]) {
    use aws_sdk_ioteventsdata::operation::batch_put_message::BatchPutMessageOutput;
    use aws_sdk_ioteventsdata::types::{BatchPutMessageErrorEntry, ErrorCode};
    let (sent, mut errors) = by_id_answer(&mut Reader(data));
    for (_, code, _) in &mut errors {
        *code = code.as_deref().map(|c| ErrorCode::from(c).as_str().to_owned());
    }
    let messages: Vec<EventsMessage> =
        sent.iter().map(|id| EventsMessage { message_id: id.clone(), payload: Bytes::from_static(b"{}"), time_in_millis: None }).collect();
    let output = BatchPutMessageOutput::builder()
        .set_batch_put_message_error_entries(Some(
            errors
                .iter()
                .map(|(id, code, message)| {
                    BatchPutMessageErrorEntry::builder()
                        .set_message_id(id.clone())
                        .set_error_code(code.as_deref().map(ErrorCode::from))
                        .set_error_message(message.clone())
                        .build()
                })
                .collect(),
        ))
        .build();
    let results = iot_events::map_response(&output, &messages.iter().collect::<Vec<_>>());
    check_by_id(&results, &sent, &errors, iot_events::classify_item_code);
}

/// IoT Events `BatchUpdateDetector`: [`iot_events_detector::map_response`]
/// (see `check_by_id`).
pub fn iot_events_detector_response(data: &[u8]) {
    use aws_sdk_ioteventsdata::operation::batch_update_detector::BatchUpdateDetectorOutput;
    use aws_sdk_ioteventsdata::types::{BatchUpdateDetectorErrorEntry, ErrorCode};
    let (sent, mut errors) = by_id_answer(&mut Reader(data));
    for (_, code, _) in &mut errors {
        *code = code.as_deref().map(|c| ErrorCode::from(c).as_str().to_owned());
    }
    let updates: Vec<DetectorUpdate> = sent
        .iter()
        .map(|id| DetectorUpdate {
            message_id: id.clone(),
            model: "m".into(),
            key: "k".into(),
            state: "s".into(),
            variables: Vec::new(),
            timers: Vec::new(),
        })
        .collect();
    let output = BatchUpdateDetectorOutput::builder()
        .set_batch_update_detector_error_entries(Some(
            errors
                .iter()
                .map(|(id, code, message)| {
                    BatchUpdateDetectorErrorEntry::builder()
                        .set_message_id(id.clone())
                        .set_error_code(code.as_deref().map(ErrorCode::from))
                        .set_error_message(message.clone())
                        .build()
                })
                .collect(),
        ))
        .build();
    let results = iot_events_detector::map_response(&output, &updates.iter().collect::<Vec<_>>());
    check_by_id(&results, &sent, &errors, iot_events_detector::classify_item_code);
}

/// SiteWise codes the service documents, and odd ones.
const SITEWISE_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "InvalidRequestException",
    "InternalFailureException",
    "ServiceUnavailableException",
    "ThrottlingException",
    "LimitExceededException",
    "ConflictingOperationException",
    "TimestampOutOfRangeException",
    "AccessDeniedException",
    "SomethingNew",
];

/// One error of a SiteWise error entry: code, message, the timestamps it names.
type SitewiseError = (String, String, Vec<(i64, i32)>);

/// A second of the values and of the error timestamps (few, so they collide).
const T0: i64 = 1_800_000_000;

/// SiteWise `BatchPutAssetPropertyValue`: values (property, timestamp) from
/// the bytes, [`sitewise::group_entries`] and the destination's `encode`,
/// then [`sitewise::map_response`] on error entries from the bytes.
///
/// - Grouping puts each value in one entry, at most 10 values of one
///   property with distinct timestamps per entry, at least
///   [`sitewise::entries_lower_bound`] entries; `encode` builds those entries
///   (`entryId` `e<k>`).
/// - An error entry naming an entry that was not sent (`x`, `e<k>` past the
///   end) is a transient whole-request error; `e<k>` of a sent entry never is.
/// - Otherwise one result per value: a value named by an error's timestamp
///   fails with that error's code and class; with partial processing off,
///   every other value of an entry with errors fails (transient); the rest succeed.
pub fn sitewise_response(data: &[u8]) {
    use aws_sdk_iotsitewise::operation::batch_put_asset_property_value::BatchPutAssetPropertyValueOutput;
    use aws_sdk_iotsitewise::types::{BatchPutAssetPropertyError, BatchPutAssetPropertyErrorEntry, BatchPutAssetPropertyValueErrorCode, TimeInNanos};
    let mut r = Reader(data);
    let partial = r.byte() & 1 == 1;
    let values: Vec<SitewiseValue> = (0..r.below(48))
        .map(|_| {
            let shape = r.byte();
            SitewiseValue {
                property: match shape & 3 {
                    3 => PropertyRef::Ids { asset: "asset".into(), property: "prop".into() },
                    p => PropertyRef::Alias(["/a", "/b", "/c"][p as usize].into()),
                },
                value: SitewiseVariant::Double(f64::from(shape)),
                seconds: T0 + i64::from((shape >> 2) & 3),
                nanos: i32::from((shape >> 4) & 1) * 500,
                quality: "GOOD",
            }
        })
        .collect();
    let batch: Vec<&SitewiseValue> = values.iter().collect();
    let entries = sitewise::group_entries(batch.iter().copied());
    let mut seen = vec![0u32; values.len()];
    for entry in &entries {
        assert!(!entry.is_empty() && entry.len() <= sitewise::MAX_VALUES_PER_ENTRY, "{entry:?}");
        let first = &values[entry[0]].property;
        for (k, &i) in entry.iter().enumerate() {
            seen[i] += 1;
            assert_eq!(&values[i].property, first, "one property per entry");
            let stamp = (values[i].seconds, values[i].nanos);
            assert!(entry[..k].iter().all(|&j| (values[j].seconds, values[j].nanos) != stamp), "distinct timestamps per entry");
        }
    }
    assert!(seen.iter().all(|&s| s == 1), "every value in exactly one entry");
    assert!(sitewise::entries_lower_bound(batch.iter().copied()) <= entries.len());
    let (sdk_entries, planned) = sitewise_sender().encode(&batch).expect("valid values encode");
    assert_eq!(planned, entries);
    for (k, (e, idx)) in sdk_entries.iter().zip(&entries).enumerate() {
        assert_eq!(e.entry_id(), format!("e{k}"));
        assert_eq!(e.property_values().len(), idx.len());
    }

    // The answer: error entries naming sent entries (mostly) or not.
    let mut error_entries = Vec::new();
    // Per error entry: the sent entry it names (`None`: none), and its errors (code, message, timestamps).
    let mut named: Vec<(Option<usize>, Vec<SitewiseError>)> = Vec::new();
    // Ids a service would never echo but that parse as a sent entry (`e01`, `e+1`) are not judged.
    let mut unjudged = false;
    for _ in 0..r.below(6) {
        let (id, index) = match r.below(4) {
            0..=2 => {
                let k = r.below(entries.len() + 2);
                (format!("e{k}"), (k < entries.len()).then_some(k))
            }
            _ => (r.text(&["x", "e", "", "E0", "e-1", "0", "e01", "e+0"]), None),
        };
        unjudged |= index.is_none() && id.strip_prefix('e').and_then(|n| n.parse::<usize>().ok()).is_some_and(|k| k < entries.len());
        let mut errors = Vec::new();
        let mut builder = BatchPutAssetPropertyErrorEntry::builder().entry_id(&id);
        for _ in 0..=r.below(3) {
            let code = BatchPutAssetPropertyValueErrorCode::from(r.text(SITEWISE_CODES).as_str());
            let message = r.text(MESSAGES);
            let stamps: Vec<(i64, i32)> = (0..r.below(4)).map(|_| (T0 + r.below(5) as i64, r.below(3) as i32 * 500)).collect();
            let mut error = BatchPutAssetPropertyError::builder().error_code(code.clone()).error_message(&message).set_timestamps(Some(Vec::new()));
            for (s, n) in &stamps {
                let ts = TimeInNanos::builder().time_in_seconds(*s);
                // offsetInNanos is optional: absent means 0.
                let ts = if *n == 0 && r.byte() & 1 == 1 { ts } else { ts.offset_in_nanos(*n) };
                error = error.timestamps(ts.build().expect("a timestamp builds"));
            }
            builder = builder.errors(error.build().expect("an error builds"));
            errors.push((code.as_str().to_owned(), message, stamps));
        }
        error_entries.push(builder.build().expect("an error entry builds"));
        named.push((index, errors));
    }
    let output = BatchPutAssetPropertyValueOutput::builder().set_error_entries(Some(error_entries)).build().expect("output builds");
    let mapped = sitewise::map_response(&output, &batch, &entries, partial);
    if unjudged {
        return;
    }
    if named.iter().any(|(k, _)| k.is_none()) {
        let e = mapped.expect_err("an error entry naming an entry that was not sent fails the request");
        assert_eq!(e.class, ErrorClass::Transient);
        return;
    }
    let results = mapped.expect("every error entry names a sent entry");
    assert_eq!(results.len(), values.len(), "one result per value");
    for (i, result) in results.iter().enumerate() {
        let stamp = (values[i].seconds, values[i].nanos);
        let entry = entries.iter().position(|e| e.contains(&i)).expect("grouped");
        let errors: Vec<&SitewiseError> = named.iter().filter(|(k, _)| *k == Some(entry)).flat_map(|(_, errors)| errors).collect();
        let naming: Vec<&&SitewiseError> = errors.iter().filter(|(_, _, stamps)| stamps.contains(&stamp)).collect();
        match result {
            Ok(()) => {
                assert!(naming.is_empty(), "value {i} is named by {naming:?} but succeeded");
                assert!(partial || errors.is_empty(), "value {i}: its entry had errors and partial processing is off");
            }
            Err(e) if naming.is_empty() => {
                assert!(!partial && !errors.is_empty(), "value {i} is named by no error but failed: {e:?}");
                assert_eq!((e.code.as_str(), e.class), ("EntryNotIngested", ErrorClass::Transient));
            }
            Err(e) => {
                assert!(
                    naming.iter().any(|(code, message, _)| *code == e.code && *message == e.message),
                    "value {i} mapped to {e:?}, named by {naming:?}"
                );
                assert_eq!(e.class, sitewise::classify_item_code(&e.code));
            }
        }
    }
}
