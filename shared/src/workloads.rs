//! The benchmark workloads: synthetic Kinesis events and the configs that
//! route them, generated in memory and deterministic for a given clock.
//!
//! Used by `fanout-local bench` (the whole handler against the embedded
//! sandbox) and by the routing crate's criterion benches (the CPU-only path).
//! Each event is a Kinesis batch near Lambda's 6 MB invocation payload:
//!
//! | workload  | records | payload   | destinations                                                   |
//! |-----------|---------|-----------|----------------------------------------------------------------|
//! | `small`   | 10,000  | ~200 B    | Firehose (all), Kinesis (all, key `/deviceId`), SiteWise (2 properties, temperature > 50) |
//! | `large`   | 1,500   | ~3 KiB    | Firehose, Kinesis                                              |
//! | `fanout5` | 2,000   | ~500 B    | the five IoT and streaming destination types                   |
//! | `messaging` | 2,000 | ~500 B    | SQS standard and FIFO (grouped by device), SNS, EventBridge    |
//! | `keyed`   | 10,000  | ~200 B    | one Kinesis stream, key `/deviceId`                            |
//! | `ordered` | 10,000  | ~200 B    | the same stream with `ordering: per_key` (what order costs)    |
//! | `packed`  | 10,000  | ~200 B    | `small` with the stream's records KPL-aggregated and the archive's packed (what aggregation saves) |
//! | `big`     | 7,000   | ~700 B    | Firehose (all), Kinesis (all, key `/deviceId`): a 5 MB batch, near Lambda's payload limit |

use base64::Engine as _;
use std::fmt::Write as _;

/// Devices the telemetry comes from (200: each sends 50 readings in `small`).
pub const DEVICES: usize = 200;
/// Sites the devices are spread over.
pub const SITES: usize = 8;
/// Milliseconds between two readings of the generated batch.
const READING_INTERVAL_MS: i64 = 5;

/// One benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// 10,000 records of ~200-byte telemetry to Firehose, Kinesis and SiteWise.
    Small,
    /// 1,500 records of ~3 KiB to Firehose and Kinesis.
    Large,
    /// 2,000 records of ~500 bytes to the five IoT and streaming destination types.
    Fanout5,
    /// 2,000 records of ~500 bytes to SQS (standard and FIFO), SNS and EventBridge.
    Messaging,
    /// `small`'s records to one Kinesis stream keyed by device.
    Keyed,
    /// `keyed` with order per key.
    Ordered,
    /// `small` with KPL aggregation on the stream and packing on the archive.
    Packed,
    /// 7,000 records of ~700 bytes to Firehose and Kinesis: a batch near Lambda's 6 MB payload.
    Big,
}

impl Workload {
    /// Every workload, in the order the bench runs them.
    pub const ALL: [Workload; 8] = [
        Workload::Small,
        Workload::Large,
        Workload::Fanout5,
        Workload::Messaging,
        Workload::Keyed,
        Workload::Ordered,
        Workload::Packed,
        Workload::Big,
    ];

    /// The name used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Small => "small",
            Workload::Large => "large",
            Workload::Fanout5 => "fanout5",
            Workload::Messaging => "messaging",
            Workload::Keyed => "keyed",
            Workload::Ordered => "ordered",
            Workload::Packed => "packed",
            Workload::Big => "big",
        }
    }

    /// The workload of that name.
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Records in the event.
    pub fn records(self) -> usize {
        match self {
            Workload::Small | Workload::Keyed | Workload::Ordered | Workload::Packed => 10_000,
            Workload::Large => 1_500,
            Workload::Fanout5 | Workload::Messaging => 2_000,
            Workload::Big => 7_000,
        }
    }

    /// The target payload size in bytes (each payload is within a few bytes of it).
    pub fn payload_bytes(self) -> usize {
        match self {
            Workload::Small | Workload::Keyed | Workload::Ordered | Workload::Packed => 200,
            Workload::Large => 3 * 1024,
            Workload::Fanout5 | Workload::Messaging => 500,
            Workload::Big => 700,
        }
    }

    /// The config that routes this workload (YAML, as a user would write it).
    pub fn config_yaml(self) -> &'static str {
        match self {
            Workload::Small => SMALL_CONFIG,
            Workload::Large | Workload::Big => LARGE_CONFIG,
            Workload::Fanout5 => FANOUT5_CONFIG,
            Workload::Messaging => MESSAGING_CONFIG,
            Workload::Keyed => KEYED_CONFIG,
            Workload::Ordered => ORDERED_CONFIG,
            Workload::Packed => PACKED_CONFIG.as_str(),
        }
    }

    /// The JSON payloads, in order. Reading `i` comes from device
    /// `i % DEVICES`, is stamped `now_ms - (n - i) * 5` ms (distinct, recent:
    /// inside SiteWise's 7-day window), and has a temperature drawn from a
    /// fixed seed, above 50 for about half of the readings.
    pub fn payloads(self, now_ms: i64) -> Vec<Vec<u8>> {
        let n = self.records();
        let mut rng = fastrand::Rng::with_seed(0x0000_0fa4_0075);
        (0..n)
            .map(|i| {
                let device = i % DEVICES;
                let site = device % SITES;
                let temperature = 20.0 + f64::from(rng.u32(0..6_000)) / 100.0;
                let pressure = 990.0 + f64::from(rng.u32(0..4_000)) / 100.0;
                let ts = now_ms - (n - i) as i64 * READING_INTERVAL_MS;
                let mut text = format!(
                    r#"{{"deviceId":"sensor-{device:05}","site":"plant-{site:02}","temperature":{temperature:.2},"pressure":{pressure:.2},"ts":{ts},"seq":{i}"#
                );
                if self == Workload::Fanout5 {
                    let _ = write!(text, r#","alarm":{},"metrics":{{"temperature":{temperature:.2},"pressure":{pressure:.2}}}"#, temperature > 75.0);
                }
                pad(&mut text, self.payload_bytes(), &mut rng);
                text.into_bytes()
            })
            .collect()
    }

    /// The Kinesis event Lambda would deliver, as JSON bytes (what the
    /// function's runtime deserializes): one shard, arrival `now_ms`.
    ///
    /// Written straight to bytes (no JSON tree), so generating it does not
    /// set the process's peak memory.
    pub fn event_json(self, now_ms: i64) -> Vec<u8> {
        self.event_json_of(now_ms, self.records())
    }

    /// [`Workload::event_json`] with only the first `records` records (at
    /// most the workload's), for figures per batch size.
    pub fn event_json_of(self, now_ms: i64, records: usize) -> Vec<u8> {
        let engine = base64::engine::general_purpose::STANDARD;
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/telemetry";
        let arrival = now_ms as f64 / 1000.0;
        let mut out = String::with_capacity(records.min(self.records()) * (self.payload_bytes() * 4 / 3 + 520));
        out.push_str(r#"{"Records":["#);
        for (i, payload) in self.payloads(now_ms).iter().take(records).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let sequence = format!("4959000000000000000000000000000000000000000000{i:010}");
            let _ = write!(
                out,
                r#"{{"kinesis":{{"kinesisSchemaVersion":"1.0","partitionKey":"sensor-{device:05}","sequenceNumber":"{sequence}","data":"{data}","approximateArrivalTimestamp":{arrival}}},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000000:{sequence}","eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/fanout","awsRegion":"us-east-1","eventSourceARN":"{arn}"}}"#,
                device = i % DEVICES,
                data = engine.encode(payload),
            );
        }
        out.push_str("]}");
        out.into_bytes()
    }
}

/// Pad a JSON object under construction to `target` bytes with a `note`
/// field of lowercase letters, and close it.
fn pad(text: &mut String, target: usize, rng: &mut fastrand::Rng) {
    const FIELD: &str = r#","note":""#;
    let used = text.len() + FIELD.len() + 2;
    if used < target {
        text.push_str(FIELD);
        text.extend((0..target - used).map(|_| rng.lowercase()));
        text.push('"');
    }
    text.push('}');
}

const SMALL_CONFIG: &str = r#"
destinations:
  archive: { type: firehose, delivery_stream: bench-archive }
  stream: { type: kinesis, stream: bench-stream, partition_key: /deviceId }
  plant:
    type: sitewise
    properties:
      - { alias: '/plant/{/site}/{/deviceId}/temperature', value: /temperature, type: double, timestamp: /ts }
      - { alias: '/plant/{/site}/{/deviceId}/pressure', value: /pressure, type: double, timestamp: /ts }
routes:
  - { name: all, to: [archive, stream] }
  - { name: hot, match: { data: { temperature: [ { numeric: [">", 50] } ] } }, to: [plant] }
"#;

/// `small`, with the same records sent for a fraction of the bill: the
/// stream's records in KPL aggregates (one device's readings per aggregate),
/// the archive's newline-delimited and packed into Firehose records.
/// Everything else is `small`'s, word for word.
static PACKED_CONFIG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    SMALL_CONFIG
        .replace("delivery_stream: bench-archive }", "delivery_stream: bench-archive, delimiter: \"\\n\", pack: true }")
        .replace("partition_key: /deviceId }", "partition_key: /deviceId, aggregate: kpl }")
});

const LARGE_CONFIG: &str = r#"
destinations:
  archive: { type: firehose, delivery_stream: bench-archive }
  stream: { type: kinesis, stream: bench-stream, partition_key: /deviceId }
routes:
  - { name: all, to: [archive, stream] }
"#;

const FANOUT5_CONFIG: &str = r#"
destinations:
  archive: { type: firehose, delivery_stream: bench-archive }
  stream: { type: kinesis, stream: bench-stream, partition_key: /deviceId }
  analytics: { type: iot_analytics, channel: bench_channel }
  events: { type: iot_events, input: bench_input, payload: /metrics, timestamp: /ts }
  detectors:
    type: iot_events_detector
    detector_model: bench_model
    key: /deviceId
    state: Normal
    variables: { temperature: /temperature, pressure: /pressure }
  plant:
    type: sitewise
    properties:
      - { alias: '/plant/{/site}/{/deviceId}/temperature', value: /temperature, type: double, timestamp: /ts }
      - { alias: '/plant/{/site}/{/deviceId}/pressure', value: /pressure, type: double, timestamp: /ts }
routes:
  - { name: all, to: [archive, stream, analytics, events, detectors, plant] }
"#;

/// FIFO order per device costs no request here: 200 devices send 10
/// readings each, so each of the 10 rounds carries 200 groups' heads in 20
/// full requests (see `deliver/ordered.rs`).
const MESSAGING_CONFIG: &str = r#"
destinations:
  queue: { type: sqs, queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-queue' }
  ordered: { type: sqs, queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-ordered.fifo', message_group_id: /deviceId }
  topic: { type: sns, topic_arn: 'arn:aws:sns:us-east-1:123456789012:bench-topic' }
  bus: { type: eventbridge, event_bus: bench-bus, source: com.example.bench, detail_type: Reading }
routes:
  - { name: all, to: [queue, ordered, topic, bus] }
"#;

const KEYED_CONFIG: &str = r#"
destinations:
  stream: { type: kinesis, stream: bench-stream, partition_key: /deviceId }
routes:
  - { name: all, to: [stream] }
"#;

const ORDERED_CONFIG: &str = r#"
destinations:
  stream: { type: kinesis, stream: bench-stream, partition_key: /deviceId, ordering: per_key }
routes:
  - { name: all, to: [stream] }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::Value;
    use std::path::Path;

    const NOW_MS: i64 = 1_763_800_000_000;

    #[test]
    fn payloads_are_json_of_the_promised_size_and_count() {
        for w in Workload::ALL {
            let payloads = w.payloads(NOW_MS);
            assert_eq!(payloads.len(), w.records(), "{}", w.name());
            for p in &payloads {
                let v: Value = serde_json::from_slice(p).unwrap_or_else(|e| panic!("{}: {e}", w.name()));
                assert!(v["deviceId"].is_string() && v["temperature"].is_f64() && v["ts"].is_i64(), "{}: {v}", w.name());
                assert!(p.len().abs_diff(w.payload_bytes()) <= 2, "{}: {} bytes", w.name(), p.len());
            }
        }
    }

    #[test]
    fn about_half_of_the_small_readings_are_hot_and_timestamps_are_distinct() {
        let payloads = Workload::Small.payloads(NOW_MS);
        let values: Vec<Value> = payloads.iter().map(|p| serde_json::from_slice(p).unwrap_or_default()).collect();
        let hot = values.iter().filter(|v| v["temperature"].as_f64().unwrap_or(0.0) > 50.0).count();
        assert!((4_500..=5_500).contains(&hot), "{hot} hot readings");
        let mut stamps: Vec<i64> = values.iter().filter_map(|v| v["ts"].as_i64()).collect();
        stamps.dedup();
        assert_eq!(stamps.len(), payloads.len());
        assert!(stamps.iter().all(|&t| t < NOW_MS && t > NOW_MS - 7 * 24 * 3_600_000));
    }

    #[tokio::test]
    async fn a_dry_run_sends_nothing_and_plans_the_fewest_requests() {
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let config = Config::parse(Workload::Small.config_yaml(), Path::new("small")).expect("valid");
        let fanout = crate::Fanout::dry_run(config, &crate::Clients::offline());
        let event = serde_json::from_slice(&Workload::Small.event_json(now_ms)).expect("event");
        let records = crate::sources::kinesis::decode(event).records;
        let report = fanout.process(&records, tokio::time::Instant::now() + std::time::Duration::from_secs(3600)).await;
        assert_eq!(report.count(crate::report::RecordStatus::Delivered), records.len(), "nothing was sent, so nothing failed");

        // The SiteWise bound from first principles: per device and property,
        // ceil(hot readings / 10) entries; 10 entries per request.
        let mut hot_per_device = vec![0usize; DEVICES];
        for (i, p) in Workload::Small.payloads(now_ms).iter().enumerate() {
            let v: Value = serde_json::from_slice(p).expect("json");
            if v["temperature"].as_f64().unwrap_or(0.0) > 50.0 {
                hot_per_device[i % DEVICES] += 1;
            }
        }
        let entries: usize = hot_per_device.iter().map(|n| 2 * n.div_ceil(10)).sum();
        let expected = [("archive", 20), ("plant", entries.div_ceil(10) as u64), ("stream", 20)];
        for (name, requests) in expected {
            let d = report.destinations.iter().find(|d| d.name == name).expect("destination");
            let c = d.counts();
            assert_eq!((c.requests, c.requests_lower_bound), (requests, requests), "{name}");
        }
    }

    /// Ten entries per request at each of the four APIs, and FIFO order by
    /// device (10 readings per device) needing no more: 200 requests each.
    #[tokio::test]
    async fn the_messaging_workload_plans_the_fewest_requests_fifo_included() {
        let config = Config::parse(Workload::Messaging.config_yaml(), Path::new("messaging")).expect("valid");
        let fanout = crate::Fanout::dry_run(config, &crate::Clients::offline());
        let event = serde_json::from_slice(&Workload::Messaging.event_json(NOW_MS)).expect("event");
        let records = crate::sources::kinesis::decode(event).records;
        let report = fanout.process(&records, tokio::time::Instant::now() + std::time::Duration::from_secs(3600)).await;
        assert_eq!(report.count(crate::report::RecordStatus::Delivered), 2_000);
        for name in ["queue", "ordered", "topic", "bus"] {
            let d = report.destinations.iter().find(|d| d.name == name).expect("destination");
            let c = d.counts();
            assert_eq!((c.requests, c.requests_lower_bound), (200, 200), "{name}: 2,000 records, 10 per request");
        }
    }

    /// Order per device costs requests: 200 devices of 50 readings each take
    /// 50 rounds of one reading per device (200 a request), where the same
    /// stream unordered takes 20 requests of 500.
    #[tokio::test]
    async fn ordering_per_key_takes_one_round_per_reading_of_a_device() {
        for (w, requests) in [(Workload::Keyed, 20), (Workload::Ordered, 50)] {
            let config = Config::parse(w.config_yaml(), Path::new(w.name())).expect("valid");
            let fanout = crate::Fanout::dry_run(config, &crate::Clients::offline());
            let event = serde_json::from_slice(&w.event_json(NOW_MS)).expect("event");
            let records = crate::sources::kinesis::decode(event).records;
            let report = fanout.process(&records, tokio::time::Instant::now() + std::time::Duration::from_secs(3600)).await;
            assert_eq!(report.count(crate::report::RecordStatus::Delivered), 10_000);
            let c = report.destinations[0].counts();
            assert_eq!((c.requests, c.requests_lower_bound), (requests, requests), "{}", w.name());
        }
    }

    /// The bill of `small` and `packed` from the records themselves: Kinesis
    /// bills one 25 KiB PUT payload unit per record of up to 25 KiB; Firehose
    /// each record rounded up to 5 KiB. Aggregated, the stream takes one
    /// aggregate per device (50 readings of ~220 bytes: one unit); packed,
    /// the archive's 2 MB take about 2 MB / 5 KiB units. At least 20 times
    /// fewer each.
    #[tokio::test]
    async fn aggregation_and_packing_cut_the_billed_units_twenty_fold() {
        // SiteWise takes readings of the last 7 days: stamp them now.
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut billed = std::collections::HashMap::new();
        for w in [Workload::Small, Workload::Packed] {
            let config = Config::parse(w.config_yaml(), Path::new(w.name())).expect("valid");
            let fanout = crate::Fanout::dry_run(config, &crate::Clients::offline());
            let event = serde_json::from_slice(&w.event_json(now_ms)).expect("event");
            let records = crate::sources::kinesis::decode(event).records;
            let report = fanout.process(&records, tokio::time::Instant::now() + std::time::Duration::from_secs(3600)).await;
            assert_eq!(report.count(crate::report::RecordStatus::Delivered), 10_000);
            for d in &report.destinations {
                let c = d.counts();
                billed.insert((w.name(), d.name.clone()), (c.entries_sent, c.billed_units));
            }
        }
        let payloads = Workload::Small.payloads(now_ms);
        let bytes: usize = payloads.iter().map(|p| p.len() + 1).sum();
        assert_eq!(billed[&("small", "stream".to_owned())], (10_000, 10_000), "one unit per small record");
        assert_eq!(billed[&("small", "archive".to_owned())], (10_000, 10_000), "5 KiB per small record");
        assert_eq!(billed[&("packed", "stream".to_owned())], (DEVICES as u64, DEVICES as u64), "one aggregate of one unit per device");
        let (records, units) = billed[&("packed", "archive".to_owned())];
        assert_eq!(records as usize, bytes.div_ceil(1_024_000), "packed into full Firehose records");
        assert!((units as usize).abs_diff(bytes.div_ceil(5 * 1024)) <= records as usize, "{units} units for {bytes} bytes");
        for name in ["stream", "archive"] {
            let (before, after) = (billed[&("small", name.to_owned())].1, billed[&("packed", name.to_owned())].1);
            assert!(after * 20 <= before, "{name}: {before} units without, {after} with");
        }
    }

    #[test]
    fn configs_are_valid_and_events_decode_to_every_payload() {
        for w in Workload::ALL {
            Config::parse(w.config_yaml(), Path::new(w.name())).unwrap_or_else(|e| panic!("{}: {e}", w.name()));
            let event: aws_lambda_events::event::kinesis::KinesisEvent =
                serde_json::from_slice(&w.event_json(NOW_MS)).unwrap_or_else(|e| panic!("{}: {e}", w.name()));
            let records = crate::sources::kinesis::decode(event).records;
            let payloads = w.payloads(NOW_MS);
            assert_eq!(records.len(), payloads.len());
            assert!(records.iter().zip(&payloads).all(|(r, p)| r.data.as_ref() == p.as_slice()), "{}", w.name());
        }
    }
}
