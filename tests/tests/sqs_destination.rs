//! The `sqs` destination end to end: the Kinesis handler routing to an SQS
//! queue of the sandbox over real HTTP, through the real SDK client, with
//! injected per-entry failures and payloads SQS refuses; and the sandbox's
//! SQS API as the SDK sees it.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::{self, accepted_payloads, Input, Summary};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

const QUEUE_URL: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/orders";
const N: usize = 60;

fn config() -> Config {
    let text = format!(
        "destinations:\n  orders: {{ type: sqs, queue_url: '{QUEUE_URL}', attributes: {{ order: /order }} }}\n  dead: {{ type: firehose, delivery_stream: dead }}\n\
         routes:\n  - {{ name: all, to: [orders] }}\ndead_letter: dead\n\
         delivery: {{ max_attempts: 8, base_delay_ms: 5, max_delay_ms: 20, deadline_margin_ms: 200 }}\n"
    );
    Config::parse(&text, Path::new("sqs.yaml")).expect("valid")
}

/// N JSON records, and one whose payload holds a control character SQS refuses (the last).
fn inputs() -> Vec<Input> {
    let mut all: Vec<Input> = (0..N)
        .map(|i| Input {
            id: format!("seq-{i:04}"),
            payload: format!(r#"{{"order":{i}}}"#).into_bytes(),
            routed_to: vec![(Api::Sqs, "orders".to_owned())],
        })
        .collect();
    all.push(Input { id: "seq-bad".into(), payload: b"{\"order\":\"\x01\"}".to_vec(), routed_to: vec![(Api::Sqs, "orders".to_owned())] });
    all
}

fn event(inputs: &[Input]) -> KinesisEvent {
    fanout_tests::kinesis_event(inputs.iter().map(|r| (r.id.as_str(), "pk", r.payload.as_slice())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_reach_the_queue_only_failed_entries_are_resent_and_refused_ones_are_dead_lettered() {
    let spec = FaultSpec::parse("sqs:rate=0.2;seed=3").expect("spec");
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions { faults: spec, ..SandboxOptions::default() }).await;
    let fanout = Fanout::new(config(), &clients);
    let inputs = inputs();
    let response = fanout::sources::kinesis::handle(&fanout, event(&inputs), SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);

    let summary = invariant::check(&sandbox, &inputs, &HashSet::new(), Some("dead")).unwrap_or_else(|e| panic!("invariant broken: {e}"));
    assert_eq!(summary, Summary { delivered: N, dead_lettered: 1, ..Summary::default() });
    assert!(invariant::dead_lettered_ids(&sandbox, "dead").contains("seq-bad"), "refused before sending, with its reason");

    // Each message was sent once, plus once after each injected failure; never more.
    let mut sends: HashMap<String, (usize, usize)> = HashMap::new();
    for call in sandbox.state.world().store.calls().iter().filter(|c| c.api == Api::Sqs) {
        assert!(call.items.len() <= 10, "at most 10 entries per request");
        for (item, error) in &call.items {
            let e = sends.entry(item.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(error.is_some());
        }
    }
    assert!(sends.values().map(|s| s.1).sum::<usize>() > 0, "the faults fired");
    for (item, (sent, failed)) in &sends {
        assert_eq!(*sent, failed + 1, "{item}");
    }
    assert_eq!(accepted_payloads(&sandbox, Api::Sqs, "orders").len(), N);
    let world = sandbox.state.world();
    let orders: HashSet<String> =
        world.store.items(Api::Sqs, "orders").iter().filter_map(|i| i["attributes"]["order"].as_str().map(str::to_owned)).collect();
    assert_eq!(orders.len(), N, "each message carries its order number as an attribute");
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("(no code)").to_owned()
}

fn entry(id: &str, body: &str) -> aws_sdk_sqs::types::SendMessageBatchRequestEntry {
    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder().id(id).message_body(body).build().expect("entry")
}

#[tokio::test]
async fn the_sandbox_answers_send_message_batch_as_sqs_does() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions { auto_create: false, ..SandboxOptions::default() }).await;
    let sqs = &clients.sqs;
    let missing = sqs.send_message_batch().queue_url(QUEUE_URL).entries(entry("a", "x")).send().await.unwrap_err();
    assert!(code(&missing).contains("NonExistentQueue"), "{}", code(&missing));
    let url = sqs.create_queue().queue_name("orders").send().await.expect("created").queue_url().map(str::to_owned).expect("url");

    let out = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", "one"))
        .entries(entry("b", "bad \u{1} char"))
        .entries(entry("c", "three"))
        .send()
        .await
        .expect("answered");
    assert_eq!(out.successful().iter().map(|s| s.id()).collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(out.failed().iter().map(|f| (f.id(), f.code(), f.sender_fault())).collect::<Vec<_>>(), [("b", "InvalidMessageContents", true)]);
    assert_eq!(accepted_payloads(&sandbox, Api::Sqs, "orders"), [b"one".to_vec(), b"three".to_vec()]);

    let eleven: Vec<_> = (0..11).map(|i| entry(&format!("e{i}"), "x")).collect();
    let err = sqs.send_message_batch().queue_url(&url).set_entries(Some(eleven)).send().await.unwrap_err();
    assert!(code(&err).contains("TooManyEntriesInBatchRequest"), "{}", code(&err));
    let err = sqs.send_message_batch().queue_url(&url).entries(entry("a", "x")).entries(entry("a", "y")).send().await.unwrap_err();
    assert!(code(&err).contains("BatchEntryIdsNotDistinct"), "{}", code(&err));
    let big = "x".repeat(600 * 1024);
    let err = sqs.send_message_batch().queue_url(&url).entries(entry("a", &big)).entries(entry("b", &big)).send().await.unwrap_err();
    assert!(code(&err).contains("BatchRequestTooLong"), "{}", code(&err));
}

/// Every record reaches a FIFO queue exactly once and in source order per
/// message group, under failures that make records give up and Lambda replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_groups_keep_source_order_under_failures_and_replays() {
    let queue = "{ type: sqs, queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo', message_group_id: /device }";
    fanout_tests::fifo::order_holds_under_failures_and_replays(queue, Api::Sqs, "orders.fifo").await;
}
