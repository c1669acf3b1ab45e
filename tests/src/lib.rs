//! Support for fanout's end-to-end tests: a moto server started on
//! 127.0.0.1, resources for the example `fanout.yaml`, read-back helpers, and
//! a Lambda Runtime API stand-in to run the real function binaries under.

pub mod configs;
pub mod corpus;
pub mod fifo;
pub mod function;
pub mod invariant;
pub mod moto;
pub mod replay;

pub use fanout_sandbox::runtime_api;

use fanout::Clients;
use fanout_sandbox::{Sandbox, SandboxOptions};
use std::io::{Read, Write};
use std::net::TcpStream;

/// A sandbox on a free loopback port, and SDK clients pointed at it (the
/// routing crate's clients: retries off, SiteWise's host prefix handled).
pub async fn sandbox(options: SandboxOptions) -> (Sandbox, Clients) {
    let sandbox = Sandbox::start(options, 0).await.expect("the sandbox starts");
    let clients = Clients::from_sdk_config(&fanout_local::sdk::endpoint_sdk_config(&sandbox.endpoint));
    (sandbox, clients)
}

/// [`http`] off the async runtime, for servers running in the same runtime.
pub async fn http_async(port: u16, method: &'static str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let (path, body) = (path.to_owned(), body.to_vec());
    tokio::task::spawn_blocking(move || http(port, method, &path, &[], &body)).await.expect("http task")
}

/// A plain HTTP/1.0 request to 127.0.0.1:`port`; returns (status, body).
/// Blocking: from async code use [`http_async`].
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write request");
    stream.write_all(body).expect("write body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |p| p + 4);
    let status = String::from_utf8_lossy(&response[..split]).split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response[split..].to_vec())
}

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The payloads of a Kinesis event file, decoded from base64, in order.
pub fn event_payloads(event: &serde_json::Value) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    event["Records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| base64::engine::general_purpose::STANDARD.decode(r["kinesis"]["data"].as_str().unwrap_or_default()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

/// A Kinesis event of one record per `(sequence number, partition key,
/// payload)`, from the stream `in` of shard 0, as Lambda delivers it.
pub fn kinesis_event<'a>(records: impl IntoIterator<Item = (&'a str, &'a str, &'a [u8])>) -> aws_lambda_events::event::kinesis::KinesisEvent {
    use base64::Engine as _;
    let records: Vec<serde_json::Value> = records
        .into_iter()
        .map(|(sequence, key, payload)| {
            serde_json::json!({
                "eventSource": "aws:kinesis", "eventID": format!("shardId-000000000000:{sequence}"), "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/in",
                "kinesis": { "partitionKey": key, "sequenceNumber": sequence, "data": base64::engine::general_purpose::STANDARD.encode(payload), "approximateArrivalTimestamp": 1.7e9 }
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("a Kinesis event")
}
