//! The `sns`, `eventbridge` and FIFO `sqs` destinations against another
//! implementation: moto, over real HTTP, through the Kinesis handler. What
//! arrives is read back through SQS: a raw-delivery subscription of the
//! topic, a rule targeting a queue on the bus, and the FIFO queue itself.

use fanout::{Clients, Config, Fanout};
use fanout_tests::moto::Moto;
use std::path::Path;
use std::time::{Duration, SystemTime};

async fn route(moto: &Moto, destination: &str, payloads: &[String]) {
    let config = format!("destinations:\n  out: {destination}\nroutes:\n  - {{ name: all, to: [out] }}\n");
    let fanout = Fanout::new(Config::parse(&config, Path::new("moto.yaml")).expect("valid"), &Clients::from_sdk_config(&moto.sdk_config()));
    let sequences: Vec<String> = (0..payloads.len()).map(|i| format!("{i:05}")).collect();
    let event = fanout_tests::kinesis_event(sequences.iter().zip(payloads).map(|(s, p)| (s.as_str(), "pk", p.as_bytes())));
    let response = fanout::sources::kinesis::handle(&fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("response");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let mut create = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let url = create.send().await.expect("queue").queue_url().map(str::to_owned).expect("url");
    (url, format!("arn:aws:sqs:us-east-1:123456789012:{name}"))
}

/// Every message body of the queue, in the order the queue gives them.
async fn bodies(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..20 {
        let out = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.expect("received");
        if out.messages().is_empty() {
            break;
        }
        for m in out.messages() {
            bodies.extend(m.body().map(str::to_owned));
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message().queue_url(url).receipt_handle(handle).send().await.expect("deleted");
            }
        }
    }
    bodies
}

fn payloads(n: usize) -> Vec<String> {
    (0..n).map(|i| format!(r#"{{"kind":"Reading","device":"d-{}","n":{i},"note":"é ✓"}}"#, i % 3)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_records_reach_a_moto_topics_subscribers_as_sent() {
    let moto = Moto::start();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config());
    let sns = aws_sdk_sns::Client::new(&moto.sdk_config());
    let topic = sns.create_topic().name("alerts").send().await.expect("topic").topic_arn().map(str::to_owned).expect("arn");
    let (url, queue_arn) = queue(&sqs, "alerts-copy").await;
    sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(&queue_arn).attributes("RawMessageDelivery", "true").send().await.expect("subscribed");

    let sent = payloads(23);
    route(&moto, &format!("{{ type: sns, topic_arn: '{topic}', subject: /kind, attributes: {{ device: /device }} }}"), &sent).await;
    let first = sqs.receive_message().queue_url(&url).message_attribute_names("All").max_number_of_messages(1).send().await.expect("received");
    let message = first.messages().first().expect("a message");
    let device = serde_json::from_str::<serde_json::Value>(message.body().unwrap_or_default()).expect("json")["device"].as_str().map(str::to_owned);
    let attribute = message.message_attributes().and_then(|a| a.get("device")).and_then(|v| v.string_value()).map(str::to_owned);
    assert_eq!(attribute, device, "the attribute travels to the subscriber");
    if let Some(handle) = message.receipt_handle() {
        sqs.change_message_visibility().queue_url(&url).receipt_handle(handle).visibility_timeout(0).send().await.expect("released");
    }
    let mut got = bodies(&sqs, &url).await;
    got.sort();
    let mut want = sent.clone();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_put_on_a_moto_bus_reach_the_rules_target_with_the_payload_as_detail() {
    let moto = Moto::start();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config());
    let eb = aws_sdk_eventbridge::Client::new(&moto.sdk_config());
    eb.create_event_bus().name("ops").send().await.expect("bus");
    eb.put_rule().name("all").event_bus_name("ops").event_pattern(r#"{"source":["com.example.telemetry"]}"#).send().await.expect("rule");
    let (url, queue_arn) = queue(&sqs, "events-copy").await;
    let target = aws_sdk_eventbridge::types::Target::builder().id("q").arn(&queue_arn).build().expect("target");
    eb.put_targets().rule("all").event_bus_name("ops").targets(target).send().await.expect("target set");

    let sent = payloads(14);
    route(&moto, "{ type: eventbridge, event_bus: ops, source: com.example.telemetry, detail_type: /kind }", &sent).await;
    let events: Vec<serde_json::Value> = bodies(&sqs, &url).await.iter().map(|b| serde_json::from_str(b).expect("an event")).collect();
    assert_eq!(events.len(), sent.len());
    let mut details: Vec<serde_json::Value> = events.iter().map(|e| e["detail"].clone()).collect();
    details.sort_by_key(|d| d["n"].as_i64());
    let want: Vec<serde_json::Value> = sent.iter().map(|p| serde_json::from_str(p).expect("json")).collect();
    assert_eq!(details, want);
    assert!(events.iter().all(|e| e["detail-type"] == "Reading" && e["source"] == "com.example.telemetry"), "{}", events[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moto_fifo_queue_gets_each_group_in_source_order() {
    let moto = Moto::start();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config());
    let (url, _) = queue(&sqs, "orders.fifo").await;
    let sent = payloads(30);
    route(&moto, &format!("{{ type: sqs, queue_url: '{url}', message_group_id: /device }}"), &sent).await;
    let got = bodies(&sqs, &url).await;
    assert_eq!(got.len(), sent.len());
    for device in ["d-0", "d-1", "d-2"] {
        let of = |list: &[String]| list.iter().filter(|b| b.contains(&format!("\"{device}\""))).cloned().collect::<Vec<_>>();
        assert_eq!(of(&got), of(&sent), "group {device} in source order");
    }
}
