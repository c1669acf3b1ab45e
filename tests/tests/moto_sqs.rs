//! The `sqs` destination against another implementation: moto's SQS, over
//! real HTTP, through the Kinesis handler. Every payload arrives as one
//! message body, byte for byte.

use fanout::{Clients, Config, Fanout};
use fanout_tests::moto::Moto;
use std::path::Path;
use std::time::{Duration, SystemTime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_records_arrive_in_moto_sqs_as_message_bodies() {
    let moto = Moto::start();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config());
    let url = sqs.create_queue().queue_name("orders").send().await.expect("queue").queue_url().map(str::to_owned).expect("url");
    let config = format!("destinations:\n  orders: {{ type: sqs, queue_url: '{url}' }}\nroutes:\n  - {{ name: all, to: [orders] }}\n");
    let fanout = Fanout::new(Config::parse(&config, Path::new("moto-sqs.yaml")).expect("valid"), &Clients::from_sdk_config(&moto.sdk_config()));

    // 23 records: three requests of at most 10 entries.
    let payloads: Vec<String> = (0..23).map(|i| format!(r#"{{"order":{i},"note":"é ✓"}}"#)).collect();
    let records: Vec<serde_json::Value> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            use base64::Engine as _;
            serde_json::json!({"eventSource": "aws:kinesis", "eventID": format!("s:{i}"), "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/in",
                "kinesis": {"partitionKey": "pk", "sequenceNumber": format!("{i:05}"), "data": base64::engine::general_purpose::STANDARD.encode(p), "approximateArrivalTimestamp": 1.7e9}})
        })
        .collect();
    let event = serde_json::from_value(serde_json::json!({ "Records": records })).expect("event");
    let response = fanout::sources::kinesis::handle(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("response");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let mut bodies = Vec::new();
    for _ in 0..10 {
        let out = sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.expect("received");
        if out.messages().is_empty() {
            break;
        }
        bodies.extend(out.messages().iter().filter_map(|m| m.body().map(str::to_owned)));
    }
    bodies.sort();
    let mut want = payloads.clone();
    want.sort();
    assert_eq!(bodies, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_named_by_name_and_account_is_found_in_moto() {
    let moto = Moto::start();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config());
    let url = sqs.create_queue().queue_name("by-name").send().await.expect("queue").queue_url().map(str::to_owned).expect("url");
    let config = "destinations:\n  q: { type: sqs, queue_name: by-name, account_id: '123456789012' }\nroutes:\n  - { name: all, to: [q] }\n";
    let fanout = Fanout::new(Config::parse(config, Path::new("moto-sqs.yaml")).expect("valid"), &Clients::from_sdk_config(&moto.sdk_config()));
    let event = fanout_tests::kinesis_event([("00001", "pk", &b"{\"a\":1}"[..]), ("00002", "pk", b"{\"a\":2}")]);
    let response = fanout::sources::kinesis::handle(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("response");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let out = sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.expect("received");
    assert_eq!(out.messages().len(), 2);
}
