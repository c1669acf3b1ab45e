//! fanout's wire format checked against another implementation: moto, over
//! real HTTP, through the same handler the Lambda runs.

use fanout::{Clients, Config, Fanout};
use fanout_tests::moto::{contains, Moto};
use fanout_tests::{event_payloads, repo_root};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn example_event() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/kinesis.json")).expect("events/kinesis.json")).expect("json")
}

fn is_hot(payload: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(payload).ok().and_then(|v| v["temperature"].as_f64()).is_some_and(|t| t > 50.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_event_lands_in_moto_kinesis_and_firehose() {
    let moto = Moto::start();
    moto.provision_example().await;
    let config = Config::parse(fanout_tests::configs::MOTO, Path::new("moto.yaml")).expect("moto config");
    let fanout = Fanout::new(config, &Clients::from_sdk_config(&moto.sdk_config()));
    let event = example_event();
    let response =
        fanout::sources::kinesis::handle(&fanout, serde_json::from_value(event.clone()).expect("event"), SystemTime::now() + Duration::from_secs(30))
            .await
            .expect("response");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let payloads = event_payloads(&event);
    let archived: Vec<u8> = moto.bucket_objects("archive-bucket").concat();
    for p in &payloads {
        assert!(contains(&archived, p), "archived: {}", String::from_utf8_lossy(p));
    }
    let hot: Vec<(String, Vec<u8>)> = moto.stream_records("telemetry-hot").await;
    let expected: Vec<&Vec<u8>> = payloads.iter().filter(|p| is_hot(p)).collect();
    assert_eq!(hot.len(), expected.len());
    for ((key, data), want) in hot.iter().zip(expected) {
        assert_eq!(data, want);
        let device = serde_json::from_slice::<serde_json::Value>(want).expect("json")["deviceId"].as_str().map(str::to_owned);
        assert_eq!(Some(key.clone()), device, "partition key from /deviceId");
    }
    assert!(moto.bucket_objects("dead-letter-bucket").is_empty(), "nothing was dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stream_is_a_permanent_failure_reported_or_dead_lettered() {
    let moto = Moto::start();
    moto.create_delivery_stream("dead", "dead-bucket").await;
    let config = |dead_letter: &str| {
        Config::parse(
            &format!(
                "destinations:\n  gone: {{ type: kinesis, stream: no-such-stream }}\n  dead: {{ type: firehose, delivery_stream: dead }}\nroutes: [ {{ name: all, to: [gone] }} ]\n\
                 delivery: {{ base_delay_ms: 1, max_delay_ms: 2 }}\n{dead_letter}"
            ),
            Path::new("t.yaml"),
        )
        .expect("valid")
    };
    let event = example_event();
    let clients = Clients::from_sdk_config(&moto.sdk_config());
    let deadline = SystemTime::now() + Duration::from_secs(30);

    let without = Fanout::new(config(""), &clients);
    let response =
        fanout::sources::kinesis::handle(&without, serde_json::from_value(event.clone()).expect("event"), deadline).await.expect("response");
    let reported: Vec<_> = response.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect();
    let all: Vec<String> = event["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["kinesis"]["sequenceNumber"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(reported, all, "moto's ResourceNotFoundException is parsed and every record reported");

    let with = Fanout::new(config("dead_letter: dead\n"), &clients);
    let response = fanout::sources::kinesis::handle(&with, serde_json::from_value(event.clone()).expect("event"), deadline).await.expect("response");
    assert!(response.batch_item_failures.is_empty());
    let dead = String::from_utf8(moto.bucket_objects("dead-bucket").concat()).expect("utf8");
    assert_eq!(dead.matches("ResourceNotFoundException").count(), all.len(), "{dead}");
}
