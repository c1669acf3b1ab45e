//! The SQS handler against the sandbox: standard queues, FIFO group order
//! with failures at several positions, and bodies that cannot be decoded.

use aws_lambda_events::event::sqs::SqsEvent;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::accepted_payloads;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

const CONFIG: &str = "destinations:\n  archive: { type: firehose, delivery_stream: archive }\n  dead: { type: firehose, delivery_stream: dead }\nroutes: [ { name: all, to: [archive] } ]\n\
                      delivery: { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 2 }\n";

/// Messages as (id, group, body); FIFO when any has a group.
fn event(messages: &[(&str, Option<&str>, &str)]) -> SqsEvent {
    let fifo = messages.iter().any(|m| m.1.is_some());
    let arn = if fifo { "arn:aws:sqs:eu-west-1:123456789012:q.fifo" } else { "arn:aws:sqs:eu-west-1:123456789012:q" };
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, group, body)| {
            let mut attributes = json!({"SentTimestamp": "1795323600000", "ApproximateReceiveCount": "1"});
            if let Some(g) = group {
                attributes["MessageGroupId"] = json!(g);
            }
            json!({"messageId": id, "body": body, "attributes": attributes, "messageAttributes": {}, "eventSourceARN": arn})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("event")
}

async fn run(config: &str, faults: &str, event: SqsEvent) -> (fanout_sandbox::Sandbox, Vec<String>) {
    let (sandbox, clients) =
        fanout_tests::sandbox(SandboxOptions { faults: FaultSpec::parse(faults).expect("spec"), ..SandboxOptions::default() }).await;
    let fanout = Fanout::new(Config::parse(config, Path::new("sqs.yaml")).expect("valid"), &clients);
    let response = fanout::sources::sqs::handle(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a batch response");
    (sandbox, response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect())
}

fn sent_bodies(sandbox: &fanout_sandbox::Sandbox) -> HashSet<String> {
    sandbox.state.world().store.calls().iter().filter(|c| c.api == Api::Firehose).flat_map(|c| c.items.iter().map(|(text, _)| text.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_queue_reports_only_the_message_that_keeps_failing() {
    let (sandbox, failed) =
        run(CONFIG, r#"firehose:match="n":2"#, event(&[("m1", None, r#"{"n":1}"#), ("m2", None, r#"{"n":2}"#), ("m3", None, r#"{"n":3}"#)])).await;
    assert_eq!(failed, vec!["m2"]);
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "archive"), vec![br#"{"n":1}"#.to_vec(), br#"{"n":3}"#.to_vec()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_groups_stop_at_their_first_failure_and_others_carry_on() {
    let messages = [
        ("a0", Some("A"), r#"{"m":"a0"}"#),
        ("b0", Some("B"), r#"{"m":"b0"}"#),
        ("a1", Some("A"), r#"{"m":"a1"}"#),
        ("c0", Some("C"), r#"{"m":"c0"}"#),
        ("b1", Some("B"), r#"{"m":"b1"}"#),
        ("a2", Some("A"), r#"{"m":"a2"}"#),
        ("c1", Some("C"), r#"{"m":"c1"}"#),
    ];
    // a1 (second of A) and b0 (first of B) fail on every attempt.
    let (sandbox, failed) = run(CONFIG, r#"firehose:match="m":"a1";firehose:match="m":"b0""#, event(&messages)).await;
    assert_eq!(failed, vec!["b0", "a1", "b1", "a2"], "each failed message and every later one of its group, in batch order");
    let stored: Vec<Vec<u8>> = accepted_payloads(&sandbox, Api::Firehose, "archive");
    assert_eq!(stored, vec![br#"{"m":"a0"}"#.to_vec(), br#"{"m":"c0"}"#.to_vec(), br#"{"m":"c1"}"#.to_vec()], "delivered in group order");
    let sent = sent_bodies(&sandbox);
    assert!(!sent.contains(r#"{"m":"b1"}"#) && !sent.contains(r#"{"m":"a2"}"#), "messages after a failure are not sent: {sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_with_every_message_delivered_reports_nothing() {
    let messages = [("a0", Some("A"), "{}"), ("a1", Some("A"), "{}"), ("b0", Some("B"), "{}")];
    let (sandbox, failed) = run(CONFIG, "", event(&messages)).await;
    assert!(failed.is_empty());
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "archive").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_bodies_are_dead_lettered_or_reported_naming_the_rule() {
    let config = format!("{CONFIG}sqs: {{ base64_body: true }}\n");
    let messages = [("ok", None, "eyJhIjoxfQ=="), ("bad", None, "%%%")];
    let (sandbox, failed) = run(&config, "", event(&messages)).await;
    assert_eq!(failed, vec!["bad"], "without dead_letter the bad body is reported");
    assert_eq!(accepted_payloads(&sandbox, Api::Firehose, "archive"), vec![br#"{"a":1}"#.to_vec()]);

    let (sandbox, failed) = run(&format!("{config}dead_letter: dead\n"), "", event(&messages)).await;
    assert!(failed.is_empty());
    let envelopes = accepted_payloads(&sandbox, Api::Firehose, "dead");
    let envelope: Value = serde_json::from_slice(&envelopes[0]).expect("json");
    assert_eq!((envelope["record_id"].as_str(), envelope["reason"]["code"].as_str()), (Some("bad"), Some("InvalidBase64Body")));
    assert_eq!(envelope["destination"], "(source)");
}
