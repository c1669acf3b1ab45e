//! The HTTP source against the sandbox: status codes, per-item answers,
//! malformed input, and detector state over HTTP.

use bytes::Bytes;
use fanout::sources::http::{handle, HttpRequest, HttpResponse};
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::accepted_payloads;
use fanout_tests::repo_root;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

async fn fanout(faults: &str, extra: &str) -> (fanout_sandbox::Sandbox, Fanout) {
    let (sandbox, clients) =
        fanout_tests::sandbox(SandboxOptions { faults: FaultSpec::parse(faults).expect("spec"), ..SandboxOptions::default() }).await;
    let text = std::fs::read_to_string(repo_root().join("fanout.yaml")).expect("config") + extra;
    (sandbox, Fanout::new(Config::parse(&text, std::path::Path::new("fanout.yaml")).expect("valid"), &clients))
}

fn request(method: &str, path: &str, content_type: &str, body: &str) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        path: path.into(),
        query: Vec::new(),
        content_type: Some(content_type.into()),
        body: Bytes::from(body.to_owned()),
    }
}

async fn call(f: &Fanout, r: HttpRequest) -> HttpResponse {
    handle(f, r, SystemTime::now() + Duration::from_secs(30)).await
}

fn reading(id: &str, device: &str, t: f64) -> Value {
    json!({"id": id, "key": device, "data": {"deviceId": device, "site": "plant-e", "temperature": t, "pressure": 1000.0}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_records_delivered_answers_200_with_a_result_each() {
    let (sandbox, f) = fanout("", "").await;
    let body = json!({"records": [reading("a", "s-1", 20.0), {"data_base64": "aGVsbG8="}]}).to_string();
    let r = call(&f, request("POST", "/prod/records", "application/json; charset=utf-8", &body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["records"][0]["id"], "a");
    assert_eq!(r.body["records"][0]["destinations"]["archive"], "delivered");
    assert_eq!((r.body["records"][1]["id"].as_str(), r.body["records"][1]["status"].as_str()), (Some("auto-1"), Some("delivered")));
    assert!(accepted_payloads(&sandbox, Api::Firehose, "telemetry-archive").contains(&b"hello\n".to_vec()), "with the archive's newline delimiter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn some_failures_answer_207_naming_the_record_and_destination() {
    let (_sandbox, f) =
        fanout(r#"firehose:target=telemetry-archive,match="s-2""#, "delivery: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 2 }\n").await;
    let body = json!({"records": [reading("a", "s-1", 20.0), reading("b", "s-2", 20.0)]}).to_string();
    let r = call(&f, request("POST", "/records", "application/json", &body)).await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["records"][0]["status"], "delivered");
    let b = &r.body["records"][1];
    assert_eq!((b["status"].as_str(), b["error"]["code"].as_str()), (Some("failed"), Some("ServiceUnavailableException")));
    assert_eq!(b["destinations"]["archive"]["retryable"], true);
    assert_eq!(b["destinations"]["analytics"], "delivered", "the other destinations still got it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_items_are_answered_per_item_and_do_not_stop_the_valid_ones() {
    let (sandbox, f) = fanout("", "").await;
    let body = json!({"records": [reading("a", "s-1", 20.0), {"id": "a", "data": 1}, {"id": "x"}, {"id": "y", "data": 1, "data_base64": "AA=="}, {"id": "z", "data_base64": "%%"}, {"id": "w", "dta": 1}]}).to_string();
    let r = call(&f, request("POST", "/records", "application/json", &body)).await;
    assert_eq!(r.status, 207);
    let statuses: Vec<&str> = r.body["records"].as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap_or_default()).collect();
    assert_eq!(statuses, ["delivered", "invalid", "invalid", "invalid", "invalid", "invalid"]);
    let messages: Vec<&str> = r.body["records"].as_array().unwrap()[1..].iter().map(|x| x["error"]["message"].as_str().unwrap_or_default()).collect();
    assert!(messages[0].contains("id `a` is used by an earlier record"), "{messages:?}");
    assert!(messages[1].contains("exactly one of `data` and `data_base64`") && messages[2].contains("exactly one"), "{messages:?}");
    assert!(messages[3].contains("not base64") && messages[4].contains("unknown field `dta`"), "{messages:?}");
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "telemetry-archive").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_bodies_take_one_record_per_line() {
    let (sandbox, f) = fanout("", "").await;
    let body = format!("{}\n\n{}\n", reading("a", "s-1", 20.0), reading("b", "s-2", 70.0));
    let r = call(&f, request("POST", "/records", "application/x-ndjson", &body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "telemetry-archive").len(), 2);
    // A line that is not JSON is that item's problem alone: the good lines are delivered.
    let mixed = call(&f, request("POST", "/records", "application/x-ndjson", "{\"id\":\"c\",\"data\":1}\nnot json\n")).await;
    assert_eq!(mixed.status, 207, "{}", mixed.body);
    assert_eq!(mixed.body["records"][0]["status"], "delivered", "{}", mixed.body);
    assert_eq!(mixed.body["records"][1]["status"], "invalid", "{}", mixed.body);
    assert!(mixed.body["records"][1]["error"]["message"].as_str().is_some_and(|e| e.contains("line 2: not JSON")), "{}", mixed.body);
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "telemetry-archive").len(), 3, "the good line is delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_types_sizes_and_routes_get_their_status() {
    let (_sandbox, f) = fanout("", "http: { max_body_bytes: 64 }\n").await;
    let r = call(&f, request("POST", "/records", "application/json", "{\"records\": [")).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("malformed body") && e.contains("line 1")), "{}", r.body);
    assert_eq!(call(&f, request("POST", "/records", "application/json", "{\"items\": []}")).await.status, 400);
    assert_eq!(call(&f, request("POST", "/records", "text/csv", "a,b")).await.status, 415);
    assert_eq!(call(&f, request("POST", "/records", "application/json", &"x".repeat(65))).await.status, 413);
    assert_eq!(call(&f, request("GET", "/records", "application/json", "")).await.status, 405);
    assert_eq!(call(&f, request("GET", "/elsewhere", "application/json", "")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detector_state_over_http() {
    let (_sandbox, f) = fanout("", "").await;
    let update = json!({"detectors": [
        {"detectorModelName": "pump", "keyValue": "p-1", "state": {"stateName": "Hot", "variables": [{"name": "t", "value": "90"}], "timers": []}},
        {"detectorModelName": "pump", "keyValue": "bad key", "state": {"stateName": "Hot", "variables": [], "timers": []}}
    ]});
    let r = call(&f, request("POST", "/detectors", "application/json", &update.to_string())).await;
    assert_eq!(r.status, 207);
    assert_eq!((r.body["detectors"][0]["status"].as_str(), r.body["detectors"][1]["status"].as_str()), (Some("updated"), Some("invalid")));
    let one = call(&f, request("GET", "/detectors/pump/p-1", "application/json", "")).await;
    assert_eq!((one.status, one.body["state"].as_str(), one.body["variables"]["t"].as_str()), (200, Some("Hot"), Some("90")));
    assert_eq!(call(&f, request("GET", "/detectors/pump/nobody", "application/json", "")).await.status, 404);
    let mut list = request("GET", "/detectors/pump", "application/json", "");
    list.query = vec![("state".into(), "Hot".into()), ("limit".into(), "1".into())];
    let page = call(&f, list.clone()).await;
    assert_eq!((page.status, page.body["detectors"][0]["key"].as_str()), (200, Some("p-1")));
    list.query[1].1 = "0".into();
    assert_eq!(call(&f, list).await.status, 400);
    assert_eq!(call(&f, request("GET", "/detectors/unknown-model", "application/json", "")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_detector_reads_answer_429_with_retry_after() {
    let (_sandbox, f) = fanout("iotevents:status=429,count=all", "").await;
    let r = call(&f, request("GET", "/detectors/pump/p-1", "application/json", "")).await;
    assert_eq!(r.status, 429);
    assert!(r.headers.iter().any(|(k, v)| *k == "Retry-After" && v == "1"));
}
