//! Fault scenarios through the Kinesis handler, against the sandbox over real
//! HTTP. Every scenario ends with the invariant check: each record delivered
//! to each of its destinations, dead-lettered, or reported failed.

use aws_lambda_events::event::kinesis::KinesisEvent;
use base64::Engine as _;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::{Sandbox, SandboxOptions};
use fanout_tests::invariant::{self, accepted_payloads, Input, Summary};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

const N: usize = 200;

fn config(dead_letter: bool, extra: &str) -> Config {
    let text = format!(
        "destinations:\n  archive: {{ type: firehose, delivery_stream: archive }}\n  mirror: {{ type: kinesis, stream: mirror, partition_key: /deviceId }}\n  dead: {{ type: firehose, delivery_stream: dead }}\n\
         routes:\n  - {{ name: all, to: [archive] }}\n  - {{ name: hot, match: {{ data: {{ t: [ {{ numeric: ['>', 50] }} ] }} }}, to: [mirror] }}\n\
         delivery: {{ max_attempts: 6, base_delay_ms: 5, max_delay_ms: 20, deadline_margin_ms: 200 }}\n{}{extra}",
        if dead_letter { "dead_letter: dead\n" } else { "" }
    );
    Config::parse(&text, Path::new("faults.yaml")).expect("valid")
}

/// Record i: {"deviceId":"d-i","t":i % 100}; hot (to mirror too) when t > 50.
fn inputs() -> Vec<Input> {
    (0..N)
        .map(|i| {
            let t = i % 100;
            let mut routed_to = vec![(Api::Firehose, "archive".to_owned())];
            if t > 50 {
                routed_to.push((Api::Kinesis, "mirror".to_owned()));
            }
            Input { id: format!("seq-{i:04}"), payload: format!(r#"{{"deviceId":"d-{i}","t":{t}}}"#).into_bytes(), routed_to }
        })
        .collect()
}

fn event(inputs: &[Input]) -> KinesisEvent {
    fanout_tests::kinesis_event(inputs.iter().map(|r| (r.id.as_str(), "pk", r.payload.as_slice())))
}

struct Run {
    sandbox: Sandbox,
    inputs: Vec<Input>,
    reported: HashSet<String>,
    elapsed: Duration,
}

async fn run(config: Config, faults: &str, budget: Duration) -> Run {
    let spec = FaultSpec::parse(faults).expect("spec");
    let (sandbox, clients) = fanout_tests::sandbox(SandboxOptions { faults: spec, ..SandboxOptions::default() }).await;
    let fanout = Fanout::new(config, &clients);
    let inputs = inputs();
    let start = Instant::now();
    let response = fanout::sources::kinesis::handle(&fanout, event(&inputs), SystemTime::now() + budget).await.expect("a partial batch response");
    let elapsed = start.elapsed();
    let reported = response.batch_item_failures.into_iter().map(|f| f.item_identifier.expect("never null")).collect();
    Run { sandbox, inputs, reported, elapsed }
}

impl Run {
    fn check(&self, dead_letter: Option<&str>) -> Summary {
        invariant::check(&self.sandbox, &self.inputs, &self.reported, dead_letter).unwrap_or_else(|e| panic!("invariant broken: {e}"))
    }

    /// Per item text (payload) at one API: (sends, failed sends).
    fn sends(&self, api: Api) -> HashMap<String, (usize, usize)> {
        let mut out: HashMap<String, (usize, usize)> = HashMap::new();
        for call in self.sandbox.state.world().store.calls().iter().filter(|c| c.api == api) {
            for (item, error) in &call.items {
                let e = out.entry(item.clone()).or_default();
                e.0 += 1;
                e.1 += usize::from(error.is_some());
            }
        }
        out
    }

    fn ids(&self, indices: &[usize]) -> HashSet<String> {
        indices.iter().map(|&i| self.inputs[i].id.clone()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_item_failures_are_all_delivered_by_resending_only_them() {
    let run = run(config(false, ""), "firehose:rate=0.1;kinesis:rate=0.1;seed=11", Duration::from_secs(30)).await;
    assert!(run.reported.is_empty(), "{:?}", run.reported);
    assert_eq!(run.check(None), Summary { delivered: N, ..Summary::default() });
    for api in [Api::Firehose, Api::Kinesis] {
        let sends = run.sends(api);
        let failures: usize = sends.values().map(|s| s.1).sum();
        assert!(failures > 0, "the faults fired at {api}");
        for (item, (sent, failed)) in &sends {
            assert_eq!(*sent, failed + 1, "{item} was sent once, plus once after each failure, never more");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_failing_on_every_attempt_are_exactly_the_ones_reported() {
    // d-7 is archived only; d-57 is also mirrored and fails only at the mirror.
    let run = run(config(false, ""), r#"firehose:match="d-7";kinesis:match="d-57""#, Duration::from_secs(30)).await;
    assert_eq!(run.reported, run.ids(&[7, 57]));
    let summary = run.check(None);
    assert_eq!((summary.delivered, summary.reported), (N - 2, 2));
    assert_eq!(run.sends(Api::Firehose)[r#"{"deviceId":"d-7","t":7}"#], (6, 6), "max_attempts sends, all failed");
    assert!(
        accepted_payloads(&run.sandbox, Api::Firehose, "archive").contains(&br#"{"deviceId":"d-57","t":57}"#.to_vec()),
        "archived even though the mirror failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_503_are_ridden_out() {
    let run = run(config(false, ""), "firehose:status=503,count=3;kinesis:status=503,count=2", Duration::from_secs(30)).await;
    assert!(run.reported.is_empty(), "{:?}", run.reported);
    assert_eq!(run.check(None).delivered, N);
    let statuses: Vec<u16> = run.sandbox.state.world().store.calls().iter().filter(|c| c.status == 503).map(|c| c.status).collect();
    assert_eq!(statuses.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_beyond_the_deadline_returns_in_time_and_reports_what_did_not_finish() {
    let budget = Duration::from_millis(1500);
    let run = run(config(false, ""), "kinesis:latency=5000", budget).await;
    assert!(run.elapsed < budget, "answered after {:?}", run.elapsed);
    let hot: Vec<usize> = (0..N).filter(|i| i % 100 > 50).collect();
    assert_eq!(run.reported, run.ids(&hot), "every mirrored record is reported, no other");
    let summary = run.check(None);
    assert_eq!(summary.reported, hot.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_rejection_without_dead_letter_is_reported_and_not_resent() {
    let run = run(config(false, ""), r#"firehose:match="d-5",code=InvalidArgumentException"#, Duration::from_secs(30)).await;
    assert_eq!(run.reported, run.ids(&[5]));
    assert_eq!(run.sends(Api::Firehose)[r#"{"deviceId":"d-5","t":5}"#], (1, 1));
    assert_eq!(run.check(None).delivered, N - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_rejection_with_dead_letter_is_handled_with_its_reason() {
    let run = run(config(true, ""), r#"firehose:target=archive,match="d-5",code=InvalidArgumentException"#, Duration::from_secs(30)).await;
    assert!(run.reported.is_empty(), "{:?}", run.reported);
    assert_eq!(run.check(Some("dead")), Summary { delivered: N - 1, dead_lettered: 1, ..Summary::default() });
    let envelopes = accepted_payloads(&run.sandbox, Api::Firehose, "dead");
    let envelope: serde_json::Value = serde_json::from_slice(&envelopes[0]).expect("json");
    assert_eq!(envelope["reason"]["code"], "InvalidArgumentException");
    assert_eq!(envelope["destination"], "archive");
    let original = base64::engine::general_purpose::STANDARD.decode(envelope["data_base64"].as_str().unwrap_or_default()).unwrap_or_default();
    assert_eq!(original, run.inputs[5].payload);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_catches_a_lost_record() {
    // The invariant must be able to fail: drop a delivered record from the sandbox and check again.
    let run = run(config(false, ""), "", Duration::from_secs(30)).await;
    assert!(run.check(None).delivered == N);
    let mut inputs = run.inputs.clone();
    inputs.push(Input { id: "seq-lost".into(), payload: b"never sent".to_vec(), routed_to: vec![(Api::Firehose, "archive".into())] });
    let err = invariant::check(&run.sandbox, &inputs, &run.reported, None).unwrap_err();
    assert!(err.contains("seq-lost") && err.contains("0 copies"), "{err}");
}
