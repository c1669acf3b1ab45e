//! The `eventbridge` destination end to end: the Kinesis handler putting
//! events on a bus of the sandbox over real HTTP, through the real SDK
//! client, with injected per-entry failures and payloads that are not JSON
//! objects; and the sandbox's PutEvents as the SDK sees it.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::{self, Input, Summary};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_bus_only_failed_ones_are_resent_and_non_objects_are_dead_lettered_with_the_reason() {
    let spec = FaultSpec::parse("eventbridge:rate=0.2;seed=9").expect("spec");
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions { faults: spec, ..SandboxOptions::default() }).await;
    let text = "destinations:\n  bus: { type: eventbridge, event_bus: ops, source: com.example.telemetry, detail_type: /kind }\n  dead: { type: firehose, delivery_stream: dead }\n\
         routes:\n  - { name: all, to: [bus] }\ndead_letter: dead\n\
         delivery: { max_attempts: 8, base_delay_ms: 5, max_delay_ms: 20, deadline_margin_ms: 200 }\n";
    let fanout = Fanout::new(Config::parse(text, Path::new("eb.yaml")).expect("valid"), &clients);
    let routed = vec![(Api::EventBridge, "ops".to_owned())];
    let mut inputs: Vec<Input> = (0..35)
        .map(|i| Input { id: format!("seq-{i:04}"), payload: format!(r#"{{"kind":"Reading","n":{i}}}"#).into_bytes(), routed_to: routed.clone() })
        .collect();
    inputs.push(Input { id: "seq-array".into(), payload: b"[1,2,3]".to_vec(), routed_to: routed.clone() });
    let event = fanout_tests::kinesis_event(inputs.iter().map(|r| (r.id.as_str(), "pk", r.payload.as_slice())));
    let response = fanout::sources::kinesis::handle(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);

    let summary = invariant::check(&sandbox, &inputs, &HashSet::new(), Some("dead")).unwrap_or_else(|e| panic!("invariant broken: {e}"));
    assert_eq!(summary, Summary { delivered: 35, dead_lettered: 1, ..Summary::default() });
    let envelopes = invariant::accepted_payloads(&sandbox, Api::Firehose, "dead");
    let envelope: serde_json::Value = serde_json::from_slice(&envelopes[0]).expect("an envelope");
    assert!(envelope.to_string().contains("MalformedDetail"), "the reason travels with it: {envelope}");
    let world = sandbox.state.world();
    let items = world.store.items(Api::EventBridge, "ops");
    assert!(items.iter().all(|i| i["source"] == "com.example.telemetry" && i["detail_type"] == "Reading"));
    let failed_sends: usize =
        world.store.calls().iter().filter(|c| c.api == Api::EventBridge).flat_map(|c| &c.items).filter(|(_, e)| e.is_some()).count();
    assert!(failed_sends > 0, "the faults fired");
}

fn event(detail: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder().source("com.example").detail_type("T").detail(detail).build()
}

#[tokio::test]
async fn the_sandbox_answers_put_events_as_eventbridge_does() {
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions { auto_create: false, ..SandboxOptions::default() }).await;
    let eb = &clients.eventbridge;
    let out = eb
        .put_events()
        .entries(event(r#"{"a":1}"#))
        .entries(event("[1]"))
        .entries(PutEventsRequestEntry::builder().source("aws.ec2").detail_type("T").detail("{}").build())
        .entries(PutEventsRequestEntry::builder().detail_type("T").detail("{}").build())
        .send()
        .await
        .expect("answered");
    assert_eq!(out.failed_entry_count(), 3);
    let codes: Vec<Option<&str>> = out.entries().iter().map(|e| e.error_code()).collect();
    assert_eq!(codes, [None, Some("MalformedDetail"), Some("NotAuthorizedForSourceException"), Some("InvalidArgument")], "positional answers");
    assert!(out.entries()[0].event_id().is_some());
    assert_eq!(sandbox.state.world().store.items(Api::EventBridge, "default").len(), 1);

    let missing = eb
        .put_events()
        .entries(PutEventsRequestEntry::builder().source("s").detail_type("T").detail("{}").event_bus_name("nope").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    let eleven: Vec<_> = (0..11).map(|_| event("{}")).collect();
    assert!(eb.put_events().set_entries(Some(eleven)).send().await.is_err(), "at most 10 entries");
    let big = format!(r#"{{"x":"{}"}}"#, "x".repeat(600_000));
    let err = eb.put_events().entries(event(&big)).entries(event(&big)).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "the entries' total size is limited");
}
