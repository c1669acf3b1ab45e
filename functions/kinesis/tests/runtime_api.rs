//! The built `kinesis-fanout` binary, started under a Lambda Runtime API
//! stand-in with `FANOUT_CONFIG_FILE` set and `AWS_ENDPOINT_URL` pointing at
//! moto, delivers the sample event and answers with the batch response.

use fanout_tests::moto::{contains, Moto};
use fanout_tests::runtime_api::{Answer, RuntimeApi};
use fanout_tests::{event_payloads, repo_root};
use std::process::Stdio;
use std::time::Duration;

use fanout_tests::function::Function as Kill;

/// Start the built binary as Lambda would, with `extra` environment on top.
fn start_function(runtime: &RuntimeApi, endpoint: &str, config: &std::path::Path, stdout: Stdio, extra: &[(&str, &str)]) -> Kill {
    fanout_tests::function::start(std::path::Path::new(env!("CARGO_BIN_EXE_kinesis-fanout")), runtime, endpoint, config, stdout, extra)
}

/// `events/kinesis.json`.
fn sample_event() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/kinesis.json")).expect("event")).expect("json")
}

/// moto with the example's streams and buckets, the Runtime API stand-in,
/// and the example config for moto, written under `name`.
async fn example_setup(name: &str) -> (Moto, RuntimeApi, std::path::PathBuf) {
    let moto = Moto::start();
    moto.provision_example().await;
    let runtime = RuntimeApi::start().await.expect("the runtime API stand-in starts");
    (moto, runtime, fanout_tests::configs::write(name, fanout_tests::configs::MOTO))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_delivers_the_sample_event_and_answers_under_the_runtime_api() {
    let (moto, runtime, config) = example_setup("runtime-example").await;
    let _function = start_function(&runtime, &moto.endpoint, &config, Stdio::null(), &[]);

    let event = sample_event();
    let id = runtime.invoke(event.clone(), Duration::from_secs(30));
    let answer = runtime.answer(&id, Duration::from_secs(60)).await.expect("the function answered");
    assert_eq!(answer, Answer::Response(serde_json::json!({"batchItemFailures": []})));

    let archived = moto.bucket_objects("archive-bucket").concat();
    for p in event_payloads(&event) {
        assert!(contains(&archived, &p), "archived: {}", String::from_utf8_lossy(&p));
    }
    assert_eq!(moto.stream_records("telemetry-hot").await.len(), 2, "the two readings above 50");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stream_is_reported_by_sequence_number() {
    let moto = Moto::start();
    moto.create_delivery_stream("telemetry-archive", "archive-bucket").await;
    moto.create_delivery_stream("fanout-dead-letters", "dead-letter-bucket").await;
    // telemetry-hot is not created, and this config has no dead_letter.
    let config = fanout_tests::configs::write("runtime-no-dead-letter", &fanout_tests::configs::MOTO.replace("dead_letter: errors", ""));
    let runtime = RuntimeApi::start().await.expect("the runtime API stand-in starts");
    let _function = start_function(&runtime, &moto.endpoint, &config, Stdio::null(), &[]);

    let event = sample_event();
    let hot_sequence_numbers: Vec<serde_json::Value> = event["Records"]
        .as_array()
        .expect("records")
        .iter()
        .zip(event_payloads(&event))
        .filter(|(_, p)| serde_json::from_slice::<serde_json::Value>(p).ok().and_then(|v| v["temperature"].as_f64()).is_some_and(|t| t > 50.0))
        .map(|(r, _)| serde_json::json!({"itemIdentifier": r["kinesis"]["sequenceNumber"]}))
        .collect();
    let id = runtime.invoke(event, Duration::from_secs(30));
    let answer = runtime.answer(&id, Duration::from_secs(60)).await.expect("the function answered");
    assert_eq!(answer, Answer::Response(serde_json::json!({ "batchItemFailures": hot_sequence_numbers })));
}

/// What Lambda shows for a handler error: the error type fanout names, not a
/// boxed error's type name (the local runner prints the same, local/tests/cli.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_error_reaches_lambda_with_its_own_error_type() {
    let (moto, runtime, config) = example_setup("runtime-error-type").await;
    let _function = start_function(&runtime, &moto.endpoint, &config, Stdio::null(), &[]);
    let id = runtime.invoke(serde_json::json!({"not": "a Kinesis event"}), Duration::from_secs(30));
    let Some(Answer::Error(body)) = runtime.answer(&id, Duration::from_secs(60)).await else { panic!("expected an error answer") };
    let body: serde_json::Value = serde_json::from_str(&body).expect("the error is JSON");
    assert_eq!(body, serde_json::json!({"errorType": "NotKinesisEvent", "errorMessage": "not a Kinesis event: it has no `Records` array"}));
}

/// Runs the binary until it exits and returns (succeeded, stdout).
async fn run_to_exit(function: Kill) -> (bool, String) {
    collect(function, false).await
}

/// Stop the function and return what it wrote to stdout.
async fn stop_and_read(function: Kill) -> String {
    collect(function, true).await.1
}

/// Wait for the function to exit (killing it first when `stop`): (succeeded, stdout).
async fn collect(function: Kill, stop: bool) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let mut function = function;
        if stop {
            let _ = function.0.kill();
        }
        let stdout = function.0.stdout.take();
        let status = function.0.wait();
        let mut text = String::new();
        if let Some(mut out) = stdout {
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
        }
        (status.map(|s| s.success()).unwrap_or(false), text)
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_config_and_fanout_config_file_together_fail_initialisation_naming_both() {
    // The config comes from exactly one source (docs/configuration.md): the
    // text no longer silently wins over the file.
    let runtime = RuntimeApi::start().await.expect("the runtime API stand-in starts");
    let inline = "destinations: { a: { type: firehose, delivery_stream: s } }\n";
    let function = start_function(&runtime, "http://127.0.0.1:9", &repo_root().join("fanout.yaml"), Stdio::piped(), &[("FANOUT_CONFIG", inline)]);
    let (ok, logs) = run_to_exit(function).await;
    assert!(!ok, "two sources must stop the function at init");
    assert!(logs.contains("FANOUT_CONFIG is set but so is FANOUT_CONFIG_FILE"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_fails_initialisation_naming_the_file_and_place() {
    let config = fanout_tests::configs::write(
        "runtime-bad",
        "destinations: { a: { type: firehose, delivery_stream: s } }\nroutes: [ { name: r, to: [b] } ]\n",
    );
    let runtime = RuntimeApi::start().await.expect("the runtime API stand-in starts");
    let function = start_function(&runtime, "http://127.0.0.1:9", &config, Stdio::piped(), &[]);
    let (ok, logs) = run_to_exit(function).await;
    assert!(!ok, "a bad config must stop the function at init");
    assert!(logs.contains("fanout.yaml") && logs.contains("routes[0].to[0]") && logs.contains("unknown destination `b`"), "{logs}");
}

/// The JSON objects among a function's stdout lines.
fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).filter(|v| v.is_object()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_watchs_1970_deadline_is_treated_as_unknown_and_everything_is_delivered() {
    let (moto, runtime, config) = example_setup("runtime-cargo-lambda").await;
    let function = start_function(&runtime, &moto.endpoint, &config, Stdio::piped(), &[]);

    let event = sample_event();
    // cargo lambda watch 1.9.2 sends `lambda-runtime-deadline-ms: 600000` on every invocation.
    for _ in 0..2 {
        let id = runtime.invoke_with_fixed_deadline(event.clone(), 600_000);
        let answer = runtime.answer(&id, Duration::from_secs(60)).await.expect("the function answered");
        assert_eq!(answer, Answer::Response(serde_json::json!({"batchItemFailures": []})), "nothing may be failed for lack of time");
    }
    let archived = moto.bucket_objects("archive-bucket").concat();
    for p in event_payloads(&event) {
        assert!(contains(&archived, &p), "archived: {}", String::from_utf8_lossy(&p));
    }
    let logs = json_lines(&stop_and_read(function).await);
    let warnings: Vec<&serde_json::Value> = logs.iter().filter(|l| l["message"].as_str().is_some_and(|m| m.contains("not a real one"))).collect();
    assert_eq!(warnings.len(), 1, "warned once per process: {logs:?}");
    assert_eq!(warnings[0]["level"], "WARN");
    assert_eq!(warnings[0]["deadline_ms"], 600_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_writes_one_summary_with_emf_totals_and_one_emf_document_per_destination() {
    let (moto, runtime, config) = example_setup("runtime-emf").await;
    let function = start_function(&runtime, &moto.endpoint, &config, Stdio::piped(), &[("FANOUT_METRICS_NAMESPACE", "plant-ops")]);
    let event = sample_event();
    let id = runtime.invoke(event.clone(), Duration::from_secs(30));
    let answer = runtime.answer(&id, Duration::from_secs(60)).await.expect("the function answered");
    assert_eq!(answer, Answer::Response(serde_json::json!({"batchItemFailures": []})));
    let logs = json_lines(&stop_and_read(function).await);

    // The sample event: 6 records, all archived, 2 above 50 degrees (hot-readings).
    let summaries: Vec<&serde_json::Value> = logs.iter().filter(|l| l["message"] == "invocation summary").collect();
    assert_eq!(summaries.len(), 1, "{logs:?}");
    let s = summaries[0];
    assert_eq!(s["requestId"], id.as_str());
    assert_eq!((s["records"].as_u64(), s["delivered"].as_u64(), s["failed"].as_u64()), (Some(6), Some(6), Some(0)));
    assert_eq!(s["destinations"]["archive"]["delivered"], 6, "nested, not an escaped string");
    assert_eq!(s["destinations"]["hot-readings"]["routed"], 2);
    assert_eq!((s["Records"].as_u64(), s["Delivered"].as_u64(), s["Failed"].as_u64(), s["Unrouted"].as_u64()), (Some(6), Some(6), Some(0), Some(0)));
    assert_eq!(s["ColdStart"], 1, "the first invocation of the process");
    assert_eq!(s["FunctionName"], "kinesis-fanout");
    let directive = &s["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "plant-ops", "FANOUT_METRICS_NAMESPACE overrides the config");
    assert_eq!(directive["Dimensions"], serde_json::json!([["FunctionName"]]));
    // The sample's arrival times are from 2026-11-22: the batch age is at least the time since.
    let since_sample = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64) - 1_795_323_600_000;
    assert!(s["BatchAge"].as_u64().is_some_and(|a| a + 60_000 >= since_sample), "{}", s["BatchAge"]);

    let per_destination: Vec<&serde_json::Value> = logs.iter().filter(|l| l.get("Destination").is_some()).collect();
    let mut names: Vec<&str> = per_destination.iter().filter_map(|d| d["Destination"].as_str()).collect();
    names.sort();
    assert_eq!(names, ["archive", "hot-readings"], "destinations without traffic write nothing");
    for d in per_destination {
        let routed = if d["Destination"] == "archive" { 6 } else { 2 };
        assert_eq!((d["Routed"].as_u64(), d["Delivered"].as_u64(), d["Requests"].as_u64()), (Some(routed), Some(routed), Some(1)), "{d}");
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["FunctionName", "Destination"]]));
    }
}
