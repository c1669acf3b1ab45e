//! The `sns` destination end to end: the Kinesis handler publishing to SNS
//! topics of the sandbox over real HTTP (awsQuery), through the real SDK
//! client, with injected per-entry failures, payloads SNS refuses, and FIFO
//! order; and the sandbox's SNS API as the SDK sees it.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::{self, accepted_payloads, Input, Summary};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_reach_the_topic_with_their_subject_and_refused_ones_are_dead_lettered() {
    let spec = FaultSpec::parse("sns:rate=0.2;seed=5").expect("spec");
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions { faults: spec, ..SandboxOptions::default() }).await;
    let text = format!(
        "destinations:\n  alerts: {{ type: sns, topic_arn: '{TOPIC}', subject: /title, attributes: {{ kind: alert, n: /n }} }}\n  dead: {{ type: firehose, delivery_stream: dead }}\n\
         routes:\n  - {{ name: all, to: [alerts] }}\ndead_letter: dead\n\
         delivery: {{ max_attempts: 8, base_delay_ms: 5, max_delay_ms: 20, deadline_margin_ms: 200 }}\n"
    );
    let fanout = Fanout::new(Config::parse(&text, Path::new("sns.yaml")).expect("valid"), &clients);
    let routed = vec![(Api::Sns, "alerts".to_owned())];
    let mut inputs: Vec<Input> = (0..40)
        .map(|i| Input { id: format!("seq-{i:04}"), payload: format!(r#"{{"title":"Alert {i}","n":{i}}}"#).into_bytes(), routed_to: routed.clone() })
        .collect();
    inputs.push(Input { id: "seq-no-title".into(), payload: br#"{"n":-1}"#.to_vec(), routed_to: routed.clone() });
    let event = fanout_tests::kinesis_event(inputs.iter().map(|r| (r.id.as_str(), "pk", r.payload.as_slice())));
    let response = fanout::sources::kinesis::handle(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);

    let summary = invariant::check(&sandbox, &inputs, &HashSet::new(), Some("dead")).unwrap_or_else(|e| panic!("invariant broken: {e}"));
    assert_eq!(summary, Summary { delivered: 40, dead_lettered: 1, ..Summary::default() });
    assert!(invariant::dead_lettered_ids(&sandbox, "dead").contains("seq-no-title"), "a subject pointer that reads nothing");
    let world = sandbox.state.world();
    let subjects: HashSet<&str> = world.store.items(Api::Sns, "alerts").iter().filter_map(|i| i["subject"].as_str()).collect();
    assert!(subjects.contains("Alert 7") && subjects.len() == 40, "each message with its own subject");
    for item in world.store.items(Api::Sns, "alerts") {
        let n = item["subject"].as_str().and_then(|s| s.strip_prefix("Alert ")).expect("a subject");
        assert_eq!(item["attributes"], serde_json::json!({"kind": "alert", "n": n}), "attributes from a constant and a pointer");
    }
    let failed_sends: usize = world.store.calls().iter().filter(|c| c.api == Api::Sns).flat_map(|c| &c.items).filter(|(_, e)| e.is_some()).count();
    assert!(failed_sends > 0, "the faults fired");
}

/// Every record reaches a FIFO topic exactly once and in source order per
/// message group, under failures that make records give up and Lambda replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_topics_keep_source_order_per_group_under_failures_and_replays() {
    let topic = "{ type: sns, topic_arn: 'arn:aws:sns:us-east-1:123456789012:alerts.fifo', message_group_id: /device }";
    fanout_tests::fifo::order_holds_under_failures_and_replays(topic, Api::Sns, "alerts.fifo").await;
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("(no code)").to_owned()
}

fn entry(id: &str, message: &str) -> aws_sdk_sns::types::PublishBatchRequestEntry {
    aws_sdk_sns::types::PublishBatchRequestEntry::builder().id(id).message(message).build().expect("entry")
}

#[tokio::test]
async fn the_sandbox_answers_publish_batch_as_sns_does() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions { auto_create: false, ..SandboxOptions::default() }).await;
    let sns = &clients.sns;
    let missing = sns.publish_batch().topic_arn(TOPIC).publish_batch_request_entries(entry("a", "x")).send().await.unwrap_err();
    assert_eq!(code(&missing), "NotFound");
    let arn = sns.create_topic().name("alerts").send().await.expect("created").topic_arn().map(str::to_owned).expect("arn");
    assert_eq!(arn, TOPIC);

    let out = sns
        .publish_batch()
        .topic_arn(&arn)
        .publish_batch_request_entries(entry("a", "one"))
        .publish_batch_request_entries(entry("b", ""))
        .publish_batch_request_entries(entry("c", "three & <four>"))
        .send()
        .await
        .expect("answered");
    assert_eq!(out.successful().iter().filter_map(|s| s.id()).collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(out.failed().iter().map(|f| (f.id(), f.code(), f.sender_fault())).collect::<Vec<_>>(), [("b", "InvalidParameter", true)]);
    assert_eq!(accepted_payloads(&sandbox, Api::Sns, "alerts"), [b"one".to_vec(), b"three & <four>".to_vec()], "form decoding and XML escaping");

    let eleven: Vec<_> = (0..11).map(|i| entry(&format!("e{i}"), "x")).collect();
    let err = sns.publish_batch().topic_arn(&arn).set_publish_batch_request_entries(Some(eleven)).send().await.unwrap_err();
    assert_eq!(code(&err), "TooManyEntriesInBatchRequest");
    let err = sns
        .publish_batch()
        .topic_arn(&arn)
        .publish_batch_request_entries(entry("a", "x"))
        .publish_batch_request_entries(entry("a", "y"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BatchEntryIdsNotDistinct");
    let big = "x".repeat(150 * 1024);
    let err = sns
        .publish_batch()
        .topic_arn(&arn)
        .publish_batch_request_entries(entry("a", &big))
        .publish_batch_request_entries(entry("b", &big))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BatchRequestTooLong", "256 KiB per request by default");

    sns.create_topic().name("alerts.fifo").send().await.expect("created");
    let fifo = "arn:aws:sns:us-east-1:123456789012:alerts.fifo";
    let grouped = |id: &str, dedup: &str| {
        aws_sdk_sns::types::PublishBatchRequestEntry::builder()
            .id(id)
            .message("m")
            .message_group_id("g")
            .message_deduplication_id(dedup)
            .build()
            .expect("entry")
    };
    let out = sns
        .publish_batch()
        .topic_arn(fifo)
        .publish_batch_request_entries(grouped("a", "d1"))
        .publish_batch_request_entries(entry("b", "no group"))
        .publish_batch_request_entries(grouped("c", "d1"))
        .send()
        .await
        .expect("answered");
    assert_eq!(out.failed().iter().map(|f| f.id()).collect::<Vec<_>>(), ["b"], "FIFO topics need a group");
    assert_eq!(out.successful().len(), 2);
    assert_eq!(accepted_payloads(&sandbox, Api::Sns, "alerts.fifo").len(), 1, "the second d1 is a duplicate: answered, not delivered");
}
