//! The IoT rule handler against the sandbox: arrays and objects, and the
//! async-invocation answer (an error when Lambda should retry).

use fanout::sources::iot::{handle, IotHandlerError, IotSummary};
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::accepted_payloads;
use fanout_tests::repo_root;
use serde_json::Value;
use std::time::{Duration, SystemTime};

async fn fanout_with(faults: &str, config_text: Option<&str>) -> (fanout_sandbox::Sandbox, Fanout) {
    let (sandbox, clients) =
        fanout_tests::sandbox(SandboxOptions { faults: FaultSpec::parse(faults).expect("spec"), ..SandboxOptions::default() }).await;
    let text = config_text.map_or_else(|| std::fs::read_to_string(repo_root().join("fanout.yaml")).expect("config"), str::to_owned);
    let config = Config::parse(&text, std::path::Path::new("fanout.yaml")).expect("valid");
    (sandbox, Fanout::new(config, &clients))
}

fn sample_value() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/iot-rule.json")).expect("event")).expect("json")
}

/// The sample rule result as the function receives it: its JSON text.
fn sample() -> bytes::Bytes {
    bytes::Bytes::from(std::fs::read_to_string(repo_root().join("events/iot-rule.json")).expect("event"))
}

fn deadline() -> SystemTime {
    SystemTime::now() + Duration::from_secs(30)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_rule_result_is_routed_element_by_element() {
    let (sandbox, fanout) = fanout_with("", None).await;
    let summary = handle(&fanout, sample(), "req-1", deadline()).await.expect("delivered");
    assert_eq!(summary, IotSummary { records: 2, delivered: 2, dead_lettered: 0, unrouted: 0 });
    let archived: Vec<Value> =
        accepted_payloads(&sandbox, Api::Firehose, "telemetry-archive").iter().map(|p| serde_json::from_slice(p).expect("json")).collect();
    assert_eq!(archived, sample_value().as_array().cloned().unwrap_or_default());
    let ids: Vec<String> = sandbox
        .state
        .world()
        .store
        .items(Api::IotEvents, "telemetry_input")
        .iter()
        .map(|m| m["messageId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, ["req-1-0", "req-1-1"], "ids from the request id, stable across Lambda's retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_event_is_one_record() {
    let (sandbox, fanout) = fanout_with("", None).await;
    let object = bytes::Bytes::from(sample_value()[0].to_string());
    assert_eq!(handle(&fanout, object, "req-2", deadline()).await.expect("delivered").records, 1);
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "telemetry-archive").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_return_an_error_so_lambda_retries() {
    let (_sandbox, fanout) = fanout_with(
        r#"firehose:match="sensor-102""#,
        Some(&std::fs::read_to_string(repo_root().join("fanout.yaml")).expect("config").replace("max_attempts: 8", "max_attempts: 2")),
    )
    .await;
    match handle(&fanout, sample(), "req-3", deadline()).await {
        Err(IotHandlerError::Transient { failed, total }) => assert_eq!((failed, total), (vec!["req-3-1".to_owned()], 2)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_are_dead_lettered_or_returned_as_an_error() {
    let rule = r#"firehose:target=telemetry-archive,match="sensor-101",code=InvalidArgumentException"#;
    let (sandbox, fanout) = fanout_with(rule, None).await;
    let summary = handle(&fanout, sample(), "req-4", deadline()).await.expect("dead-lettered counts as handled");
    assert_eq!(summary.dead_lettered, 1);
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "fanout-dead-letters").len(), 1);

    let no_dl = std::fs::read_to_string(repo_root().join("fanout.yaml")).expect("config").replace("dead_letter: errors", "");
    let (_sandbox, fanout) = fanout_with(rule, Some(&no_dl)).await;
    let err = handle(&fanout, sample(), "req-5", deadline()).await.unwrap_err();
    assert!(matches!(err, IotHandlerError::Permanent { .. }), "{err}");
    assert!(err.to_string().contains("req-5-0") && err.to_string().contains("InvalidArgumentException"), "{err}");
}
