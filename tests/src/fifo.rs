//! The FIFO order check shared by the SQS and SNS destination tests: Kinesis
//! records of four devices routed to one FIFO target grouped by device,
//! under injected per-entry failures with few attempts (so records give up
//! and hold their group back), replayed as Lambda replays a stream batch
//! (from the lowest reported sequence number) until nothing fails.

use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use std::collections::HashMap;
use std::path::Path;

/// Run the scenario against `destination` (the YAML of one FIFO destination
/// named `out`, grouping by `/device`) whose sandbox target is
/// (`api`, `target`); panics unless every record reached the target exactly
/// once and each group's messages are in source order.
pub async fn order_holds_under_failures_and_replays(destination: &str, api: Api, target: &str) {
    let spec = FaultSpec::parse(&format!("{}:rate=0.4;seed=11", api.name())).expect("spec");
    let (sandbox, clients) = crate::sandbox(SandboxOptions { faults: spec, ..SandboxOptions::default() }).await;
    let text = format!(
        "destinations:\n  out: {destination}\nroutes:\n  - {{ name: all, to: [out] }}\n\
         delivery: {{ max_attempts: 2, base_delay_ms: 1, max_delay_ms: 2, deadline_margin_ms: 200 }}\n"
    );
    let fanout = Fanout::new(Config::parse(&text, Path::new("fifo.yaml")).expect("valid"), &clients);
    let records: Vec<(String, Vec<u8>)> =
        (0..48).map(|i| (format!("{:05}", 1000 + i), format!(r#"{{"device":"d-{}","n":{i}}}"#, i % 4).into_bytes())).collect();

    let invocations = crate::replay::until_clean(&fanout, &records, 40, |_| {}).await;
    assert!(invocations > 1, "records gave up, so Lambda replayed at least once");

    let items: Vec<serde_json::Value> = sandbox.state.world().store.items(api, target).to_vec();
    assert_eq!(items.len(), records.len(), "every record exactly once (replayed ones deduplicated by their source identity)");
    let mut last_per_group: HashMap<String, i64> = HashMap::new();
    for item in &items {
        let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, item["data"].as_str().expect("data")).expect("b64");
        let payload: serde_json::Value = serde_json::from_slice(&data).expect("json");
        let group = item["group"].as_str().expect("a group").to_owned();
        assert_eq!(payload["device"], group.as_str());
        let n = payload["n"].as_i64().expect("n");
        if let Some(before) = last_per_group.insert(group.clone(), n) {
            assert!(before < n, "group {group}: message {n} came after {before}");
        }
    }
}
