//! The bad-input corpus (`tests/corpus/*.json`, see `fanout_tests::corpus`)
//! through the real handlers, in-process, against the sandbox: every case's
//! answer, per-record statuses, reasons and destinations as written in it.

use bytes::Bytes;
use fanout::sources::{dynamodb, http, iot, kinesis, sqs};
use fanout::{Clients, Config, Fanout};
use fanout_sandbox::SandboxOptions;
use fanout_tests::corpus::{config_text, load, mismatches, Case, Outcome};
use std::path::Path;
use std::time::{Duration, SystemTime};

async fn run(source: &str, case: &Case, clients: &Clients) -> Outcome {
    let config = Config::parse(&config_text(&case.config), Path::new("corpus.yaml")).expect("the corpus configs are valid");
    let fanout = Fanout::new(config, clients);
    let deadline = SystemTime::now() + Duration::from_secs(30);
    let text = case.event.clone();
    let answer_of = |r: Result<serde_json::Value, String>| Some(r);
    match source {
        "kinesis" => match serde_json::from_str::<kinesis::KinesisBatch>(&text) {
            Ok(batch) => {
                let run = kinesis::invoke_batch(&fanout, batch, deadline).await;
                let mut out = Outcome::from_report(&run.report);
                out.answer = answer_of(run.response.map(|r| serde_json::to_value(r).unwrap_or_default()).map_err(|e| e.to_string()));
                out
            }
            Err(e) => Outcome { answer: answer_of(Err(format!("the event does not deserialize: {e}"))), ..Outcome::default() },
        },
        "dynamodb" => match serde_json::from_str::<dynamodb::DynamoDbBatch>(&text) {
            Ok(batch) => {
                let run = dynamodb::invoke_batch(&fanout, batch, deadline).await;
                let mut out = Outcome::from_report(&run.report);
                out.answer = answer_of(run.response.map(|r| serde_json::to_value(r).unwrap_or_default()).map_err(|e| e.to_string()));
                out
            }
            Err(e) => Outcome { answer: answer_of(Err(format!("the event does not deserialize: {e}"))), ..Outcome::default() },
        },
        "sqs" => match serde_json::from_str::<sqs::SqsBatch>(&text) {
            Ok(batch) => {
                let run = sqs::invoke(&fanout, batch, deadline).await;
                let mut out = Outcome::from_report(&run.report);
                out.answer = answer_of(run.response.map(|r| serde_json::to_value(r).unwrap_or_default()).map_err(|e| e.to_string()));
                out
            }
            Err(e) => Outcome { answer: answer_of(Err(format!("the event does not deserialize: {e}"))), ..Outcome::default() },
        },
        "iot" => {
            let run = iot::invoke(&fanout, Bytes::from(text), "corpus", deadline).await;
            let mut out = Outcome::from_report(&run.report);
            out.answer = answer_of(run.response.map(|r| serde_json::to_value(r).unwrap_or_default()).map_err(|e| e.to_string()));
            out
        }
        _ => {
            let (answer, processed) = http::invoke_event(&fanout, text.as_bytes(), deadline).await;
            let mut out = processed.map(|(_, report)| Outcome::from_report(&report)).unwrap_or_default();
            out.answer = answer_of(Ok(http::apigw::response_to_event(&answer)));
            out
        }
    }
}

async fn check(source: &str) {
    let (_sandbox, clients) = fanout_tests::sandbox(SandboxOptions::default()).await;
    let cases = load(&format!("{source}.json"));
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = run(source, case, &clients).await;
        for m in mismatches(case, &outcome, true) {
            failures.push(format!("{}: {m}", case.name));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_cases() {
    check("kinesis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_cases() {
    check("dynamodb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_cases() {
    check("sqs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iot_cases() {
    check("iot").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_cases() {
    check("http").await;
}

#[test]
fn config_cases() {
    let cases = fanout_tests::corpus::config_cases();
    assert!(cases.len() >= 20, "{} config cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        assert!(!case.expect.is_empty(), "{name}: no `# expect:` line");
        match (Config::load(&case.path), case.expect.iter().any(|e| e == "(valid)")) {
            (Ok(_), true) => {}
            (Ok(_), false) => failures.push(format!("{name}: accepted, but must be refused with {:?}", case.expect)),
            (Err(e), true) => failures.push(format!("{name}: refused ({e}), but is valid")),
            (Err(e), false) => {
                let text = e.to_string();
                if !text.contains(name) {
                    failures.push(format!("{name}: the error does not name the file: {text}"));
                }
                for want in &case.expect {
                    if !text.contains(want.as_str()) {
                        failures.push(format!("{name}: `{want}` not in: {text}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}
