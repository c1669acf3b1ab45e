//! What a transform costs on the CPU path, measured beside the same work
//! without one, in one run: the `small` workload's 10,000 records of ~200
//! bytes to one Kinesis destination, planned and encoded with nothing sent
//! ([`fanout::Fanout::dry_run`]), once as they are and once through a simple
//! transform (three fields of the payload and the partition key), which
//! runs on the fast path of programs that only pick values; and the same
//! transform through jaq (written `(...) | .`, which is not a pick), with a
//! breakdown of jaq's path.
//!
//! Target: the transformed path at most 3 µs per (record, destination)
//! pair. Run with `cargo bench -p fanout --bench transform`; figures in
//! docs/performance.md.

// criterion_group! generates a public function it does not document.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fanout::workloads::Workload;
use fanout::{Clients, Config, Fanout};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

const PLAIN: &str =
    "destinations:\n  stream: { type: kinesis, stream: bench-stream, partition_key: /deviceId }\nroutes:\n  - { name: all, to: [stream] }\n";
const TRANSFORMED: &str = "destinations:\n  stream: { type: kinesis, stream: bench-stream, partition_key: /deviceId, transform: '{deviceId: .data.deviceId, temperature: .data.temperature, ts: .data.ts, key}' }\nroutes:\n  - { name: all, to: [stream] }\n";
const THROUGH_JAQ: &str = "destinations:\n  stream: { type: kinesis, stream: bench-stream, partition_key: /deviceId, transform: '{deviceId: .data.deviceId, temperature: .data.temperature, ts: .data.ts, key} | .' }\nroutes:\n  - { name: all, to: [stream] }\n";

fn transform(c: &mut Criterion) {
    let workload = Workload::Small;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let event = workload.event_json(now_ms);
    let far = || tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
    let decode = || fanout::sources::kinesis::decode_batch(serde_json::from_slice(&event).expect("the event deserializes")).records;

    let mut group = c.benchmark_group("transform");
    group.sample_size(20);
    group.throughput(Throughput::Elements(workload.records() as u64));
    for (name, yaml) in [("plain", PLAIN), ("three_fields_and_key", TRANSFORMED), ("three_fields_and_key_through_jaq", THROUGH_JAQ)] {
        let fanout = Fanout::dry_run(Config::parse(yaml, Path::new(name)).expect("valid"), &Clients::offline());
        group.bench_function(name, |b| b.iter_batched(decode, |records| runtime.block_on(fanout.process(&records, far())), BatchSize::LargeInput));
    }
    // Where the time goes on jaq's path: the view alone, and the program on a view.
    let records = decode();
    assert!(fanout::transform::Program::compile("{a: .data.a, key}").is_ok_and(|p| p.is_pick()), "the bench's transform is on the fast path");
    assert!(fanout::transform::Program::compile("{a: .data.a, key} | .").is_ok_and(|p| !p.is_pick()), "the `| .` form goes through jaq");
    let program =
        fanout::transform::Program::compile("{deviceId: .data.deviceId, temperature: .data.temperature, ts: .data.ts, key}").expect("compiles");
    let cache = fanout::transform::AttributesCache::default();
    group.bench_function("view_only", |b| {
        b.iter(|| records.iter().for_each(|r| drop(std::hint::black_box(fanout::transform::view_with_attributes(r, cache.get(r))))))
    });
    group.bench_function("view_and_run", |b| b.iter(|| records.iter().filter_map(|r| program.run_on(r).ok()).map(|o| o.len()).sum::<usize>()));
    group.bench_function("view_run_and_serialize", |b| {
        b.iter(|| {
            records
                .iter()
                .filter_map(|r| program.run_on(r).ok())
                .map(|o| o.iter().map(|v| fanout::transform::output_bytes(v).len()).sum::<usize>())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, transform);
criterion_main!(benches);
