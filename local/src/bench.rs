//! `fanout-local bench`: the real Kinesis handler, in-process, on generated
//! workloads ([`fanout::workloads`]), against the embedded sandbox over
//! loopback HTTP; and (`--cold-start`) the built function binaries under a
//! Lambda Runtime API stand-in; and (`--process`) the built `kinesis-fanout`
//! warm under the stand-in, against an endpoint in another process, beside
//! a reference router ([`process`]).
//!
//! One measured invocation is what Lambda's runtime does with an event:
//! deserialize the event JSON, run the handler (decode, route, deliver every
//! request, respond) and serialize the response. Wall and CPU time are the
//! medians over the measured runs, after one warm-up run; CPU time is the
//! whole process's (fanout and the in-process sandbox). Peak RSS is the
//! process's high-water mark, so each workload runs in a process of its own
//! when several are asked for.

pub mod cold_start;
pub mod cpu_quota;
pub mod proc_stat;
pub mod process;

use crate::measure::{cpu_time, median, peak_rss_mb};
use crate::sdk::endpoint_sdk_config;
use fanout::destinations::Kind;
use fanout::report::RecordStatus;
use fanout::workloads::Workload;
use fanout::{Clients, Config, Fanout};
use fanout_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A child process, killed (and reaped) on drop.
pub(crate) struct Kill(pub(crate) std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Invocation budget given to each run (Lambda's 15-minute maximum is not needed).
const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// One destination's request counts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DestinationRequests {
    /// The name in the workload's config.
    pub name: String,
    /// Its type (`None` for a pseudo-destination of the source).
    pub kind: Option<Kind>,
    /// Requests sent in one invocation.
    pub requests: u64,
    /// The fewest requests the API limits allow for what was sent.
    pub requests_lower_bound: u64,
    /// Entries sent: records, or the aggregates and packed records they became.
    pub entries_sent: u64,
    /// What the service bills for them in its own unit (see [`billing_unit`]); 0 where not counted.
    pub billed_units: u64,
}

/// The unit a destination type's bill counts, as the bench prints it.
pub fn billing_unit(kind: Option<Kind>) -> Option<&'static str> {
    match kind {
        Some(Kind::Kinesis) => Some("PUT units (25 KiB)"),
        Some(Kind::Firehose) => Some("5 KiB units"),
        _ => None,
    }
}

/// The figures of one workload.
#[derive(Debug, Clone)]
pub struct WorkloadFigures {
    /// The workload.
    pub workload: Workload,
    /// Records in the event.
    pub records: usize,
    /// Payload bytes in the event (decoded).
    pub payload_bytes: usize,
    /// The event's JSON size, as Lambda delivers it.
    pub event_bytes: usize,
    /// Per destination, from the last measured run.
    pub destinations: Vec<DestinationRequests>,
    /// Wall time of each measured run, ms.
    pub wall_ms_runs: Vec<f64>,
    /// CPU time of each measured run, ms.
    pub cpu_ms_runs: Vec<f64>,
    /// Peak RSS of the process, MiB.
    pub peak_rss_mb: f64,
    /// Whether requests were only planned and encoded, not sent.
    pub dry_run: bool,
}

impl WorkloadFigures {
    /// Median wall time, ms.
    pub fn wall_ms(&self) -> f64 {
        median(&self.wall_ms_runs)
    }

    /// Median CPU time, ms.
    pub fn cpu_ms(&self) -> f64 {
        median(&self.cpu_ms_runs)
    }

    /// The `--json` object.
    pub fn to_json(&self) -> Value {
        let requests: serde_json::Map<String, Value> = self.destinations.iter().map(|d| (d.name.clone(), json!(d.requests))).collect();
        let bounds: serde_json::Map<String, Value> = self.destinations.iter().map(|d| (d.name.clone(), json!(d.requests_lower_bound))).collect();
        let entries: serde_json::Map<String, Value> = self.destinations.iter().map(|d| (d.name.clone(), json!(d.entries_sent))).collect();
        let billed: serde_json::Map<String, Value> = self.destinations.iter().map(|d| (d.name.clone(), json!(d.billed_units))).collect();
        let types: serde_json::Map<String, Value> =
            self.destinations.iter().map(|d| (d.name.clone(), json!(d.kind.map_or("source", Kind::as_str)))).collect();
        let round = |x: f64| (x * 100.0).round() / 100.0;
        json!({
            "workload": self.workload.name(),
            "records": self.records,
            "payload_bytes": self.payload_bytes,
            "event_bytes": self.event_bytes,
            "wall_ms": round(self.wall_ms()),
            "cpu_ms": round(self.cpu_ms()),
            "peak_rss_mb": round(self.peak_rss_mb),
            "requests": requests,
            "requests_lower_bound": bounds,
            "entries_sent": entries,
            "billed_units": billed,
            "destination_types": types,
            "runs": self.wall_ms_runs.len(),
            "dry_run": self.dry_run,
            "wall_ms_runs": self.wall_ms_runs.iter().map(|&x| round(x)).collect::<Vec<_>>(),
            "cpu_ms_runs": self.cpu_ms_runs.iter().map(|&x| round(x)).collect::<Vec<_>>(),
        })
    }

    /// Rebuild figures from a `--json` object (a child process's output).
    pub fn from_json(v: &Value) -> Option<WorkloadFigures> {
        let workload = Workload::from_name(v["workload"].as_str()?)?;
        let floats = |key: &str| v[key].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>());
        let destinations = v["requests"]
            .as_object()?
            .iter()
            .map(|(name, n)| DestinationRequests {
                name: name.clone(),
                kind: v["destination_types"][name].as_str().and_then(Kind::from_name),
                requests: n.as_u64().unwrap_or(0),
                requests_lower_bound: v["requests_lower_bound"][name].as_u64().unwrap_or(0),
                entries_sent: v["entries_sent"][name].as_u64().unwrap_or(0),
                billed_units: v["billed_units"][name].as_u64().unwrap_or(0),
            })
            .collect();
        Some(WorkloadFigures {
            workload,
            records: usize::try_from(v["records"].as_u64()?).ok()?,
            payload_bytes: usize::try_from(v["payload_bytes"].as_u64()?).ok()?,
            event_bytes: usize::try_from(v["event_bytes"].as_u64()?).ok()?,
            destinations,
            wall_ms_runs: floats("wall_ms_runs")?,
            cpu_ms_runs: floats("cpu_ms_runs")?,
            peak_rss_mb: v["peak_rss_mb"].as_f64()?,
            dry_run: v["dry_run"].as_bool().unwrap_or(false),
        })
    }

    /// Whether every destination used exactly the fewest requests the limits allow.
    pub fn requests_minimal(&self) -> bool {
        self.destinations.iter().all(|d| d.requests == d.requests_lower_bound)
    }
}

/// Why a benchmark could not produce figures.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The sandbox could not start.
    #[error("the embedded sandbox could not start: {0}")]
    Sandbox(#[from] std::io::Error),
    /// A workload's config did not load (a bug in the workload).
    #[error(transparent)]
    Config(#[from] fanout::config::ConfigError),
    /// A run did not deliver everything: its figures would not mean anything.
    #[error("workload {workload}: {message}")]
    Run {
        /// The workload.
        workload: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// Run one workload in this process: one warm-up run, then `runs` measured runs.
///
/// With `dry_run`, requests are planned and encoded but not sent (no
/// sandbox, no network): the CPU-only path of a whole invocation.
pub async fn run_workload(workload: Workload, runs: usize, dry_run: bool) -> Result<WorkloadFigures, BenchError> {
    // The sandbox validates and answers as always but keeps no items: the
    // process's memory is then fanout's (and the sandbox's request handling).
    let sandbox = match dry_run {
        true => None,
        false => Some(Sandbox::start(SandboxOptions { retain_items: false, ..SandboxOptions::default() }, 0).await?),
    };
    // A dry run sends nothing: its clients cannot reach anything.
    let clients = sandbox.as_ref().map_or_else(Clients::offline, |s| Clients::from_sdk_config(&endpoint_sdk_config(&s.endpoint)));
    let config = Config::parse(workload.config_yaml(), Path::new(workload.name()))?;
    let fanout = if dry_run { Fanout::dry_run(config, &clients) } else { Fanout::new(config, &clients) };
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let event_bytes = workload.event_json(now_ms).len();
    let payload_bytes = workload.payloads(now_ms).iter().map(Vec::len).sum();

    let mut figures = WorkloadFigures {
        workload,
        records: workload.records(),
        payload_bytes,
        event_bytes,
        destinations: Vec::new(),
        wall_ms_runs: Vec::with_capacity(runs),
        cpu_ms_runs: Vec::with_capacity(runs),
        peak_rss_mb: 0.0,
        dry_run,
    };
    for run in 0..=runs {
        if let Some(sandbox) = &sandbox {
            sandbox.state.world().reset();
        }
        // A fresh copy per run, dropped once deserialized, as Lambda's runtime does with the body.
        let event = workload.event_json(now_ms);
        let (cpu, wall) = (cpu_time(), Instant::now());
        let outcome = invoke_once(&fanout, event, dry_run).await;
        let (wall, cpu) = (wall.elapsed(), cpu_time().saturating_sub(cpu));
        let (report, response) = outcome.map_err(|message| BenchError::Run { workload: workload.name(), message })?;
        check(workload, &report, &response)?;
        if run > 0 {
            figures.wall_ms_runs.push(wall.as_secs_f64() * 1e3);
            figures.cpu_ms_runs.push(cpu.as_secs_f64() * 1e3);
            figures.destinations = report
                .destinations
                .iter()
                .map(|d| {
                    let c = d.counts();
                    DestinationRequests {
                        name: d.name.clone(),
                        kind: d.kind,
                        requests: c.requests,
                        requests_lower_bound: c.requests_lower_bound,
                        entries_sent: c.entries_sent,
                        billed_units: c.billed_units,
                    }
                })
                .collect();
        }
    }
    figures.peak_rss_mb = peak_rss_mb();
    Ok(figures)
}

/// What Lambda's runtime does with one event: deserialize, handle, serialize.
async fn invoke_once(fanout: &Fanout, event: Vec<u8>, dry_run: bool) -> Result<(fanout::Report, Vec<u8>), String> {
    let parsed = serde_json::from_slice(&event).map_err(|e| format!("the generated event does not deserialize: {e}"))?;
    drop(event);
    let (report, response) = if dry_run {
        let records = fanout::sources::kinesis::decode_batch(parsed).records;
        // A dry run sends nothing, so no deadline should cut it short.
        let report = fanout.process(&records, tokio::time::Instant::now() + Duration::from_secs(3600)).await;
        let response = fanout::sources::kinesis::respond(&records, &report);
        (report, response)
    } else {
        let run = fanout::sources::kinesis::invoke_batch(fanout, parsed, SystemTime::now() + RUN_DEADLINE).await;
        (run.report, run.response)
    };
    let bytes = serde_json::to_vec(&response.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    Ok((report, bytes))
}

/// A run counts only if every record reached every destination it was routed to.
fn check(workload: Workload, report: &fanout::Report, response: &[u8]) -> Result<(), BenchError> {
    let not_delivered = report.status.len() - report.count(RecordStatus::Delivered);
    if not_delivered > 0 || response != br#"{"batchItemFailures":[]}"# {
        let first = report
            .destinations
            .iter()
            .flat_map(|d| d.outcomes.iter().map(move |(_, o)| (d, o)))
            .find(|(_, o)| **o != fanout::report::DestinationOutcome::Delivered)
            .map(|(d, o)| format!("{}: {o:?}", d.name))
            .unwrap_or_default();
        return Err(BenchError::Run {
            workload: workload.name(),
            message: format!("{not_delivered} records not delivered (first: {first}); the response reports {} bytes of failures", response.len()),
        });
    }
    Ok(())
}

/// The human-readable report of one workload.
pub fn render(f: &WorkloadFigures) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workload {}{}: {} records, {} payload bytes ({:.1} MB event)",
        f.workload.name(),
        if f.dry_run { " (dry run: planned and encoded, nothing sent)" } else { "" },
        f.records,
        f.payload_bytes,
        f.event_bytes as f64 / 1e6
    );
    let _ = writeln!(out, "  {:<12} {:<20} {:>9} {:>12} {:>9} {:>9}", "destination", "type", "requests", "lower bound", "entries", "billed");
    for d in &f.destinations {
        let mark = if d.requests == d.requests_lower_bound { "" } else { "  (above the bound)" };
        let billed = billing_unit(d.kind).map_or_else(|| format!("{:>9}", "-"), |unit| format!("{:>9} {unit}", d.billed_units));
        let _ = writeln!(
            out,
            "  {:<12} {:<20} {:>9} {:>12} {:>9} {billed}{mark}",
            d.name,
            d.kind.map_or("source", Kind::as_str),
            d.requests,
            d.requests_lower_bound,
            d.entries_sent
        );
    }
    let _ = writeln!(
        out,
        "  wall {:.1} ms, cpu {:.1} ms (medians of {} warm runs; wall runs: {}), peak RSS {:.1} MiB",
        f.wall_ms(),
        f.cpu_ms(),
        f.wall_ms_runs.len(),
        f.wall_ms_runs.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(" "),
        f.peak_rss_mb
    );
    out
}
