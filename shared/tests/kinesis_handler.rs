//! The Kinesis handler through the real SDK clients, with an in-process HTTP
//! connector standing in for Firehose and Kinesis (the SDK builds, signs and
//! parses every request and answer; the connector reads the body fanout
//! wrote). Each stand-in records every request it gets and computes its
//! answer from the request, so the tests check what was (re)sent as well as
//! what the handler answered.

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use aws_types::region::Region;
use base64::Engine as _;
use fanout::{Clients, Config, Fanout};
use serde_json::json;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// What one mocked call returns, decided from the payloads of the request.
enum Answer {
    /// One entry per payload: `None` accepted, `Some(code)` failed with that code.
    Items(Vec<Option<&'static str>>),
    /// The whole call fails with this HTTP status.
    Status(u16),
    /// The whole call fails with this modeled error code (throttling, not found, ...).
    Error(&'static str),
}

type Script = dyn Fn(usize, &str, &[String]) -> Answer + Send + Sync;

/// Requests a mock received: (stream, payloads).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Request>>>);

/// One request: the stream it named and its payloads.
type Request = (String, Vec<String>);

impl Log {
    fn push(&self, stream: &str, payloads: Vec<String>) -> usize {
        let mut log = self.0.lock().unwrap();
        log.push((stream.to_owned(), payloads));
        log.len() - 1
    }
    fn requests(&self) -> Vec<Request> {
        self.0.lock().unwrap().clone()
    }
    fn payloads_to(&self, stream: &str) -> Vec<String> {
        self.requests().into_iter().filter(|(s, _)| s == stream).flat_map(|(_, p)| p).collect()
    }
}

/// An HTTP connector for the SDK clients that answers each request with a
/// function of it, in process: the SDK still builds, signs and parses every
/// request and answer, so the tests see the bodies fanout writes.
#[derive(Clone)]
struct Answering(Arc<dyn Fn(&serde_json::Value) -> HttpResponse + Send + Sync>);

impl std::fmt::Debug for Answering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Answering")
    }
}

impl HttpConnector for Answering {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body: serde_json::Value = request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
        HttpConnectorFuture::ready(Ok((self.0)(&body)))
    }
}

impl HttpClient for Answering {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn response(status: u16, body: serde_json::Value) -> HttpResponse {
    let mut response = HttpResponse::new(StatusCode::try_from(status).expect("valid status"), SdkBody::from(body.to_string()));
    response.headers_mut().insert("Content-Type", "application/x-amz-json-1.1");
    response
}

/// The answer to a request: `entries` builds each per-record entry of a
/// success (`None` accepted, `Some(code)` failed), under `list` with the
/// failure count in `count`.
fn answer(answer: Answer, count: &str, list: &str, ok: serde_json::Value) -> HttpResponse {
    match answer {
        Answer::Items(items) => {
            let failed = items.iter().flatten().count();
            let entries: Vec<serde_json::Value> =
                items.iter().map(|item| item.map_or_else(|| ok.clone(), |code| json!({"ErrorCode": code, "ErrorMessage": "mocked"}))).collect();
            response(200, json!({count: failed, list: entries}))
        }
        Answer::Status(s) => HttpResponse::new(StatusCode::try_from(s).expect("valid status"), SdkBody::empty()),
        Answer::Error(code) => response(400, json!({"__type": code, "message": "mocked"})),
    }
}

/// Each record's `Data` in a request body, decoded, as text.
fn data(record: &serde_json::Value) -> String {
    let bytes = base64::engine::general_purpose::STANDARD.decode(record["Data"].as_str().unwrap_or_default()).expect("Data is base64");
    String::from_utf8_lossy(&bytes).into_owned()
}

fn config(answering: Answering) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("AKIDTEST", "secret", None, None, "test")))
        .http_client(answering)
        .retry_config(RetryConfig::disabled())
        .build()
}

fn firehose(log: Log, script: Arc<Script>) -> aws_sdk_firehose::Client {
    let answering = Answering(Arc::new(move |body: &serde_json::Value| {
        let payloads: Vec<String> = body["Records"].as_array().map(|r| r.iter().map(data).collect()).unwrap_or_default();
        let stream = body["DeliveryStreamName"].as_str().unwrap_or_default();
        let call = log.push(stream, payloads.clone());
        answer(script(call, stream, &payloads), "FailedPutCount", "RequestResponses", json!({"RecordId": "id"}))
    }));
    aws_sdk_firehose::Client::new(&config(answering))
}

fn kinesis(log: Log, script: Arc<Script>) -> aws_sdk_kinesis::Client {
    let answering = Answering(Arc::new(move |body: &serde_json::Value| {
        let payloads: Vec<String> = body["Records"]
            .as_array()
            .map(|r| r.iter().map(|r| format!("{}|{}", r["PartitionKey"].as_str().unwrap_or_default(), data(r))).collect())
            .unwrap_or_default();
        let stream = body["StreamName"].as_str().unwrap_or_default();
        let call = log.push(stream, payloads.clone());
        answer(script(call, stream, &payloads), "FailedRecordCount", "Records", json!({"SequenceNumber": "1", "ShardId": "shardId-0"}))
    }));
    aws_sdk_kinesis::Client::new(&config(answering))
}

/// Clients for the services these tests do not use (never called).
fn unused_clients() -> Clients {
    let sdk =
        aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1")).build();
    Clients::from_sdk_config(&sdk)
}

fn all_ok() -> Arc<Script> {
    Arc::new(|_, _, p| Answer::Items(vec![None; p.len()]))
}

const CONFIG: &str = r#"
destinations:
  archive: { type: firehose, delivery_stream: archive }
  hot: { type: kinesis, stream: hot, partition_key: /deviceId }
  errors: { type: firehose, delivery_stream: errors }
routes:
  - { name: all, to: [archive] }
  - { name: hot, match: { data: { t: [ { numeric: [">", 50] } ] } }, to: [hot] }
delivery: { max_attempts: 4, base_delay_ms: 1, max_delay_ms: 5, deadline_margin_ms: 200 }
"#;

struct Harness {
    fanout: Fanout,
    firehose: Log,
    kinesis: Log,
}

fn harness(extra_config: &str, firehose_script: Arc<Script>, kinesis_script: Arc<Script>) -> Harness {
    let (fh, ks) = (Log::default(), Log::default());
    let config = Config::parse(&format!("{CONFIG}{extra_config}"), Path::new("test.yaml")).expect("valid config");
    let clients = Clients { firehose: firehose(fh.clone(), firehose_script), kinesis: kinesis(ks.clone(), kinesis_script), ..unused_clients() };
    Harness { fanout: Fanout::new(config, &clients), firehose: fh, kinesis: ks }
}

/// A Kinesis event of JSON payloads; record i has sequence number `seq-i`.
fn event(payloads: &[String]) -> KinesisEvent {
    let records: Vec<serde_json::Value> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "eventSource": "aws:kinesis", "eventID": format!("shardId-000000000000:seq-{i}"), "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/in",
                "kinesis": { "partitionKey": format!("pk-{i}"), "sequenceNumber": format!("seq-{i}"),
                             "data": base64::engine::general_purpose::STANDARD.encode(p), "approximateArrivalTimestamp": 1_700_000_000.0 }
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("event")
}

fn payloads(n: usize, hot: &[usize]) -> Vec<String> {
    (0..n).map(|i| format!(r#"{{"deviceId":"d-{i}","t":{}}}"#, if hot.contains(&i) { 60 } else { 20 })).collect()
}

fn far() -> SystemTime {
    SystemTime::now() + Duration::from_secs(30)
}

async fn run(h: &Harness, payloads: &[String], deadline: SystemTime) -> Vec<String> {
    let response = fanout::sources::kinesis::handle(&h.fanout, event(payloads), deadline).await.expect("a partial batch response");
    response.batch_item_failures.into_iter().map(|f| f.item_identifier.expect("never null")).collect()
}

#[tokio::test]
async fn everything_succeeds_routed_by_content_in_one_request_each() {
    let h = harness("", all_ok(), all_ok());
    let input = payloads(8, &[2, 5]);
    assert!(run(&h, &input, far()).await.is_empty());
    assert_eq!(h.firehose.requests().len(), 1);
    assert_eq!(h.firehose.payloads_to("archive"), input);
    assert_eq!(h.kinesis.payloads_to("hot"), vec![format!("d-2|{}", input[2]), format!("d-5|{}", input[5])], "partition key from /deviceId");
}

#[tokio::test]
async fn failed_entries_are_resent_alone_and_then_succeed() {
    // First call: entries 1 and 6 fail; every later call succeeds.
    let script: Arc<Script> = Arc::new(|call, _, p| {
        Answer::Items((0..p.len()).map(|i| (call == 0 && (i == 1 || i == 6)).then_some("ServiceUnavailableException")).collect())
    });
    let h = harness("", script, all_ok());
    let input = payloads(8, &[]);
    assert!(run(&h, &input, far()).await.is_empty());
    let requests = h.firehose.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].1, vec![input[1].clone(), input[6].clone()], "only the failed entries are resent");
}

#[tokio::test]
async fn entries_that_keep_failing_are_reported_and_no_others() {
    let script: Arc<Script> = Arc::new(|_, _, p| Answer::Items(p.iter().map(|x| x.contains("d-3").then_some("InternalFailure")).collect()));
    let h = harness("", all_ok(), script);
    let input = payloads(6, &[1, 3, 4]);
    assert_eq!(run(&h, &input, far()).await, vec!["seq-3"]);
    let sends_of_3 = h.kinesis.payloads_to("hot").iter().filter(|p| p.contains("d-3")).count();
    assert_eq!(sends_of_3, 4, "sent max_attempts times");
}

#[tokio::test]
async fn a_whole_call_500_is_retried_then_succeeds() {
    let script: Arc<Script> = Arc::new(|call, _, p| if call == 0 { Answer::Status(500) } else { Answer::Items(vec![None; p.len()]) });
    let h = harness("", script, all_ok());
    let input = payloads(5, &[]);
    assert!(run(&h, &input, far()).await.is_empty());
    let requests = h.firehose.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].1, requests[1].1, "the whole batch is resent");
}

#[tokio::test]
async fn throttling_until_the_deadline_returns_before_it_and_reports_the_records() {
    let throttle: Arc<Script> = Arc::new(|_, _, _| Answer::Error("ThrottlingException"));
    let (fh, ks) = (Log::default(), Log::default());
    let config = Config::parse(
        &CONFIG.replace("max_attempts: 4, base_delay_ms: 1, max_delay_ms: 5", "max_attempts: 100, base_delay_ms: 20, max_delay_ms: 100"),
        Path::new("t.yaml"),
    )
    .expect("valid");
    let fanout = Fanout::new(config, &Clients { firehose: firehose(fh.clone(), throttle), kinesis: kinesis(ks, all_ok()), ..unused_clients() });
    let h = Harness { fanout, firehose: fh, kinesis: Log::default() };
    let start = Instant::now();
    let deadline = SystemTime::now() + Duration::from_millis(1500);
    let failed = run(&h, &payloads(3, &[]), deadline).await;
    assert!(start.elapsed() < Duration::from_millis(1500), "answered after {:?}", start.elapsed());
    assert_eq!(failed, vec!["seq-0", "seq-1", "seq-2"]);
    assert!(h.firehose.requests().len() > 2, "it kept retrying until the margin");
}

#[tokio::test]
async fn permanent_errors_without_dead_letter_are_reported() {
    let script: Arc<Script> = Arc::new(|_, _, p| Answer::Items(p.iter().map(|x| x.contains("d-1").then_some("InvalidArgumentException")).collect()));
    let h = harness("", script, all_ok());
    assert_eq!(run(&h, &payloads(3, &[]), far()).await, vec!["seq-1"]);
    assert_eq!(h.firehose.requests().len(), 1, "permanent errors are not resent");
}

#[tokio::test]
async fn permanent_errors_with_dead_letter_are_handled_with_their_reason() {
    let script: Arc<Script> = Arc::new(|_, stream, p| {
        Answer::Items(p.iter().map(|x| (stream == "archive" && x.contains("d-1")).then_some("InvalidArgumentException")).collect())
    });
    let h = harness("dead_letter: errors\n", script, all_ok());
    // Record 2 is hot but has no deviceId: a permanent prepare error at `hot`.
    let mut input = payloads(3, &[]);
    input[2] = r#"{"t":70}"#.into();
    assert!(run(&h, &input, far()).await.is_empty(), "dead-lettered records count as handled");
    let envelopes: Vec<serde_json::Value> =
        h.firehose.payloads_to("errors").iter().map(|p| serde_json::from_str(p).expect("json envelope")).collect();
    assert_eq!(envelopes.len(), 2);
    let by_record: Vec<(&str, &str, &str)> = envelopes
        .iter()
        .map(|e| (e["record_id"].as_str().unwrap(), e["destination"].as_str().unwrap(), e["reason"]["code"].as_str().unwrap()))
        .collect();
    assert!(by_record.contains(&("seq-1", "archive", "InvalidArgumentException")), "{by_record:?}");
    assert!(by_record.contains(&("seq-2", "hot", "PartitionKeyMissing")), "{by_record:?}");
    let original = base64::engine::general_purpose::STANDARD
        .decode(envelopes.iter().find(|e| e["record_id"] == "seq-2").unwrap()["data_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(original, input[2].as_bytes());
    assert!(h.kinesis.requests().is_empty(), "the invalid record was never sent to Kinesis");
}

#[tokio::test]
async fn a_dead_letter_destination_that_fails_leaves_the_record_reported() {
    let script: Arc<Script> = Arc::new(|_, stream, p| {
        Answer::Items(
            p.iter()
                .map(|x| if stream == "errors" { Some("InvalidArgumentException") } else { x.contains("d-0").then_some("InvalidArgumentException") })
                .collect(),
        )
    });
    let h = harness("dead_letter: errors\n", script, all_ok());
    assert_eq!(run(&h, &payloads(2, &[]), far()).await, vec!["seq-0"]);
}

#[tokio::test]
async fn a_record_fails_when_any_of_its_destinations_does() {
    let throttled: Arc<Script> = Arc::new(|_, _, p| Answer::Items(vec![Some("ProvisionedThroughputExceededException"); p.len()]));
    let h = harness("", all_ok(), throttled);
    let input = payloads(4, &[2]);
    assert_eq!(run(&h, &input, far()).await, vec!["seq-2"], "archived but not mirrored: reported");
    assert!(h.firehose.payloads_to("archive").contains(&input[2]));
}

#[tokio::test]
async fn a_missing_stream_is_permanent_and_not_retried() {
    let missing: Arc<Script> = Arc::new(|_, _, _| Answer::Error("ResourceNotFoundException"));
    let h = harness("", missing, all_ok());
    let failed: HashSet<String> = run(&h, &payloads(3, &[]), far()).await.into_iter().collect();
    assert_eq!(failed.len(), 3);
    assert_eq!(h.firehose.requests().len(), 1);
}

#[tokio::test]
async fn large_batches_use_the_fewest_requests_the_limits_allow() {
    let h = harness("", all_ok(), all_ok());
    let input = payloads(1201, &[]);
    assert!(run(&h, &input, far()).await.is_empty());
    let sizes: Vec<usize> = h.firehose.requests().iter().map(|(_, p)| p.len()).collect();
    assert_eq!(sizes.len(), 3, "ceil(1201 / 500)");
    assert_eq!(sizes.iter().sum::<usize>(), 1201);
}
