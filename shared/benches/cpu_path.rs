//! The CPU-only path of one invocation on the `small` workload (10,000
//! records of ~200 bytes; Firehose and Kinesis for all, SiteWise for about
//! half), with nothing sent: requests are planned and encoded as they would
//! be, and answered success ([`fanout::destinations::DryRun`], built by `Fanout::dry_run`).
//!
//! - `decode`: event JSON to records (what Lambda's runtime and the Kinesis source do);
//! - `route`: match every record against the routes (parsing its JSON once);
//! - `plan_and_encode`: prepare, pack and encode every request, and build the report;
//! - `invocation`: all of it, and the batch response;
//! - `metrics`: the summary line and the EMF documents of one invocation of
//!   the workload, built and written to memory (per invocation, not per record).
//!
//! Target: `invocation` at most 1.5 µs per record per destination, that is
//! 37.5 ms for the 25,000 (record, destination) pairs of `small`. Run with
//! `cargo bench -p fanout`; figures in docs/performance.md.

// criterion_group! generates a public function it does not document.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fanout::workloads::Workload;
use fanout::{Clients, Config, Fanout};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

fn cpu_path(c: &mut Criterion) {
    let workload = Workload::Small;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let event = workload.event_json(now_ms);
    let config = Config::parse(workload.config_yaml(), Path::new(workload.name())).expect("the workload's config is valid");
    let fanout = Fanout::dry_run(config, &Clients::offline());
    let far = || tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
    let decode = || fanout::sources::kinesis::decode_batch(serde_json::from_slice(&event).expect("the event deserializes")).records;

    let pairs = {
        let records = decode();
        let report = runtime.block_on(fanout.process(&records, far()));
        report.destinations.iter().map(|d| d.outcomes.len() as u64).sum::<u64>()
    };

    let mut group = c.benchmark_group("small");
    group.sample_size(20);
    group.throughput(Throughput::Elements(workload.records() as u64));
    group.bench_function("decode", |b| b.iter(decode));
    group.bench_function("route", |b| {
        b.iter_batched(
            decode,
            |records| fanout::router::route(&fanout.config().routes, fanout.config().unmatched, fanout.destinations().len(), &records),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("plan_and_encode", |b| {
        b.iter_batched(decode, |records| runtime.block_on(fanout.process(&records, far())), BatchSize::LargeInput)
    });
    group.throughput(Throughput::Elements(pairs));
    group.bench_function("invocation_per_record_destination", |b| {
        b.iter(|| {
            let records = decode();
            let report = runtime.block_on(fanout.process(&records, far()));
            fanout::sources::kinesis::respond(&records, &report).map(|r| r.batch_item_failures.len())
        })
    });
    group.finish();

    let (telemetry, captured) = fanout::metrics::Telemetry::capture("bench");
    let observed = Fanout::dry_run(Config::parse(workload.config_yaml(), Path::new(workload.name())).expect("valid"), &Clients::offline())
        .with_telemetry(telemetry);
    let records = decode();
    let report = runtime.block_on(observed.process(&records, far()));
    let mut group = c.benchmark_group("small");
    group.sample_size(50);
    group.throughput(Throughput::Elements(1));
    group.bench_function("metrics_per_invocation", |b| {
        b.iter(|| {
            fanout::metrics::observe(&observed, "kinesis", &records, &report, std::time::Instant::now(), fanout::metrics::BatchAge::FirstRecord);
            captured.take().len()
        })
    });
    group.finish();
}

criterion_group!(benches, cpu_path);
criterion_main!(benches);
