//! Support for fanout's end-to-end tests: a moto server started on
//! 127.0.0.1, resources for the example `fanout.yaml`, read-back helpers, and
//! a Lambda Runtime API stand-in to run the real function binaries under.

pub mod moto;
pub mod runtime_api;

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
                .map(|r| {
                    base64::engine::general_purpose::STANDARD
                        .decode(r["kinesis"]["data"].as_str().unwrap_or_default())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}
