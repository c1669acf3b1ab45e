//! `fanout-local bench --process`: what a user pays, measured on the built
//! function binary itself. `kinesis-fanout` runs as Lambda runs it, under a
//! Runtime API stand-in ([`RuntimeApi`]), warm, one invocation after
//! another, and sends to `fanout-local serve` in another process (so the
//! endpoint's work is not counted). Each invocation's CPU (user and system),
//! wall time, page faults and resident memory are read from the function's
//! `/proc` entry ([`ProcStat`]).
//!
//! Side by side in the same run, `--reference` does the same job with a
//! straightforward Python router on boto3 (`local/reference/boto3_router.py`,
//! the same Runtime API loop), so the figure that matters is a ratio that
//! does not drift with the machine. `--quota 128,512,1769` repeats the
//! invocations under the CPU share Lambda gives those memory sizes
//! ([`CpuQuota`]), for the wall time Lambda would bill.

use super::cpu_quota::CpuQuota;
use super::proc_stat::{tick_ms, ProcStat};
use super::{BenchError, Kill};
use crate::measure::median;
use fanout::workloads::Workload;
use fanout_sandbox::runtime_api::{Answer, RuntimeApi};
use serde_json::{json, Value};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The reference router, written next to the workload's config when asked for.
const REFERENCE_ROUTER: &str = include_str!("../../reference/boto3_router.py");
/// How long a subject may take from its start to its first poll (Python imports boto3).
const INIT_WAIT: Duration = Duration::from_secs(30);
/// How long one invocation may take before the run is abandoned.
const INVOCATION_WAIT: Duration = Duration::from_secs(300);
/// Invocations timed under each CPU quota.
const QUOTA_RUNS: usize = 3;
/// Lambda's arm64 price per GB-second and per request (us-east-1, first tier).
pub const PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Lambda's price per request.
pub const PRICE_PER_REQUEST: f64 = 0.000_000_2;

/// What is measured: the function binary, or the reference router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// `kinesis-fanout`.
    Fanout,
    /// `local/reference/boto3_router.py`.
    Reference,
}

impl Subject {
    /// As the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Subject::Fanout => "kinesis-fanout",
            Subject::Reference => "python boto3 reference",
        }
    }
}

/// One warm invocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Invocation {
    /// The subject's CPU time, ms (all its threads).
    pub cpu_ms: f64,
    /// From queueing the event to its answer, ms.
    pub wall_ms: f64,
    /// Minor page faults.
    pub minor_faults: u64,
    /// Resident memory after it, KiB.
    pub rss_kib: u64,
}

/// One subject's figures on one workload.
#[derive(Debug, Clone)]
pub struct SubjectFigures {
    /// Who.
    pub subject: Subject,
    /// Each measured invocation, in order.
    pub invocations: Vec<Invocation>,
    /// User and system CPU over all measured invocations, ms (clock-tick resolution).
    pub user_ms: f64,
    /// See `user_ms`.
    pub system_ms: f64,
    /// The process's peak resident memory, KiB.
    pub peak_rss_kib: u64,
    /// Under each CPU quota (memory size, MB): the invocations' wall times,
    /// ms; empty when this machine does not allow a quota.
    pub quotas: Vec<(u64, Vec<f64>)>,
}

impl SubjectFigures {
    /// Median CPU per invocation, ms.
    pub fn cpu_ms(&self) -> f64 {
        median(&self.invocations.iter().map(|i| i.cpu_ms).collect::<Vec<_>>())
    }

    /// Median wall per invocation, ms.
    pub fn wall_ms(&self) -> f64 {
        median(&self.invocations.iter().map(|i| i.wall_ms).collect::<Vec<_>>())
    }

    /// Median minor page faults per invocation.
    pub fn minor_faults(&self) -> f64 {
        median(&self.invocations.iter().map(|i| i.minor_faults as f64).collect::<Vec<_>>())
    }
}

/// The figures of one workload.
#[derive(Debug, Clone)]
pub struct ProcessFigures {
    /// The workload.
    pub workload: Workload,
    /// Records per invocation.
    pub records: usize,
    /// The event's JSON size.
    pub event_bytes: usize,
    /// Per subject, fanout first.
    pub subjects: Vec<SubjectFigures>,
}

impl ProcessFigures {
    /// The reference's median CPU over fanout's, when both were measured.
    pub fn cpu_ratio(&self) -> Option<f64> {
        let of = |s: Subject| self.subjects.iter().find(|f| f.subject == s).map(SubjectFigures::cpu_ms);
        Some(of(Subject::Reference)? / of(Subject::Fanout)?).filter(|r| r.is_finite())
    }

    /// Lambda's cost per million records at `memory_mb` for a median wall of `wall_ms`.
    pub fn cost_per_million_records(&self, memory_mb: u64, wall_ms: f64) -> f64 {
        let per_invocation = wall_ms / 1000.0 * memory_mb as f64 / 1024.0 * PRICE_PER_GB_SECOND + PRICE_PER_REQUEST;
        per_invocation * 1e6 / self.records.max(1) as f64
    }

    /// The `--json` object.
    pub fn to_json(&self) -> Value {
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let subjects: Vec<Value> = self
            .subjects
            .iter()
            .map(|s| {
                let runs = s.invocations.len().max(1) as f64;
                json!({
                    "subject": s.subject.name(),
                    "cpu_ms": round(s.cpu_ms()),
                    "user_ms": round(s.user_ms / runs),
                    "system_ms": round(s.system_ms / runs),
                    "wall_ms": round(s.wall_ms()),
                    "minor_faults": s.minor_faults(),
                    "peak_rss_mb": round(s.peak_rss_kib as f64 / 1024.0),
                    "rss_mb_runs": s.invocations.iter().map(|i| round(i.rss_kib as f64 / 1024.0)).collect::<Vec<_>>(),
                    "cpu_ms_runs": s.invocations.iter().map(|i| round(i.cpu_ms)).collect::<Vec<_>>(),
                    "wall_ms_runs": s.invocations.iter().map(|i| round(i.wall_ms)).collect::<Vec<_>>(),
                    "quota_wall_ms": s.quotas.iter().map(|(mb, walls)| (mb.to_string(), json!(round(median(walls))))).collect::<serde_json::Map<_, _>>(),
                    "cost_per_million_records": s.quotas.iter().map(|(mb, walls)| (mb.to_string(), json!((self.cost_per_million_records(*mb, median(walls)) * 1e7).round() / 1e7))).collect::<serde_json::Map<_, _>>(),
                })
            })
            .collect();
        json!({
            "workload": self.workload.name(),
            "records": self.records,
            "event_bytes": self.event_bytes,
            "reference_over_fanout_cpu": self.cpu_ratio().map(round),
            "subjects": subjects,
        })
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct ProcessBench {
    /// The workload (its event, and its config for the function).
    pub workload: Workload,
    /// Measured warm invocations per subject, after one warm-up.
    pub runs: usize,
    /// Where `kinesis-fanout` is.
    pub bin_dir: PathBuf,
    /// Also measure the reference router.
    pub reference: bool,
    /// Memory sizes (MB) whose CPU share to impose, in turn.
    pub quotas: Vec<u64>,
    /// Records per invocation, when fewer than the workload's.
    pub records: Option<usize>,
}

impl ProcessBench {
    /// Run it: the endpoint in a process of its own, then each subject.
    pub async fn run(&self) -> Result<ProcessFigures, BenchError> {
        let binary = self.bin_dir.join("kinesis-fanout");
        if !binary.is_file() {
            return Err(fail(format!(
                "kinesis-fanout not found in {}: build it first with `cargo build --release --workspace --bins` (or use --bin-dir)",
                self.bin_dir.display()
            )));
        }
        if self.reference && !matches!(self.workload, Workload::Big | Workload::Large) {
            return Err(fail(format!("the reference router does the job of `big` and `large` only, not `{}`", self.workload.name())));
        }
        let dir = std::env::temp_dir().join(format!("fanout-bench-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("fanout.yaml");
        std::fs::write(&config, self.workload.config_yaml())?;
        let (_endpoint_process, endpoint) = start_endpoint()?;
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let records = self.records.unwrap_or(usize::MAX).min(self.workload.records()).max(1);
        let event = String::from_utf8(self.workload.event_json_of(now_ms, records)).map_err(|e| fail(e.to_string()))?;
        let mut subjects = vec![self.measure(Subject::Fanout, &binary, &config, &endpoint, &event).await?];
        if self.reference {
            let script = dir.join("boto3_router.py");
            std::fs::write(&script, REFERENCE_ROUTER)?;
            subjects.push(self.measure(Subject::Reference, &script, &config, &endpoint, &event).await?);
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(ProcessFigures { workload: self.workload, records, event_bytes: event.len(), subjects })
    }

    async fn measure(&self, subject: Subject, program: &Path, config: &Path, endpoint: &str, event: &str) -> Result<SubjectFigures, BenchError> {
        let runtime = RuntimeApi::start().await?;
        let mut command = match subject {
            Subject::Fanout => Command::new(program),
            Subject::Reference => {
                let mut c = Command::new("python3");
                c.arg(program);
                c
            }
        };
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", subject.name())
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("FANOUT_CONFIG_FILE", config)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("REFERENCE_DELIVERY_STREAM", "bench-archive")
            .env("REFERENCE_STREAM", "bench-stream")
            .env("REFERENCE_PARTITION_KEY", "deviceId")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = Kill(command.spawn().map_err(|e| fail(format!("cannot start {}: {e}", subject.name())))?);
        let pid = child.0.id();
        runtime.first_poll(INIT_WAIT).await.ok_or_else(|| {
            fail(format!("{} did not reach the Runtime API within {INIT_WAIT:?} (run it by hand to see its error)", subject.name()))
        })?;
        invoke(&runtime, subject, event).await?;
        let first = ProcStat::read(pid).ok_or_else(|| fail(format!("{} is gone", subject.name())))?;
        let mut invocations = Vec::with_capacity(self.runs);
        let mut last = first;
        for _ in 0..self.runs {
            let wall = invoke(&runtime, subject, event).await?;
            let now = ProcStat::read(pid).ok_or_else(|| fail(format!("{} is gone", subject.name())))?;
            let spent = last.until(&now);
            invocations.push(Invocation { cpu_ms: spent.cpu_ns as f64 / 1e6, wall_ms: wall, minor_faults: spent.minor_faults, rss_kib: now.rss_kib });
            last = now;
        }
        let total = first.until(&last);
        let mut quotas = Vec::new();
        for &memory_mb in &self.quotas {
            let Some(_quota) = CpuQuota::lambda_share(pid, memory_mb) else { break };
            let mut walls = Vec::with_capacity(QUOTA_RUNS);
            for _ in 0..QUOTA_RUNS {
                walls.push(invoke(&runtime, subject, event).await?);
            }
            quotas.push((memory_mb, walls));
        }
        Ok(SubjectFigures {
            subject,
            invocations,
            user_ms: total.user_ticks as f64 * tick_ms(),
            system_ms: total.system_ticks as f64 * tick_ms(),
            peak_rss_kib: last.peak_rss_kib,
            quotas,
        })
    }
}

fn fail(message: String) -> BenchError {
    BenchError::Run { workload: "process", message }
}

/// One invocation: queue the event, wait for the answer, check nothing failed; its wall time, ms.
async fn invoke(runtime: &RuntimeApi, subject: Subject, event: &str) -> Result<f64, BenchError> {
    let started = Instant::now();
    let id = runtime.invoke_text(event.to_owned(), INVOCATION_WAIT);
    let answer = runtime.answer(&id, INVOCATION_WAIT).await;
    let wall = started.elapsed().as_secs_f64() * 1e3;
    match answer {
        Some(Answer::Response(v)) if v == json!({"batchItemFailures": []}) => Ok(wall),
        other => Err(fail(format!("{} answered {other:?}", subject.name()))),
    }
}

/// `fanout-local serve --port 0 --discard` in a process of its own; its endpoint.
fn start_endpoint() -> Result<(Kill, String), BenchError> {
    let exe = std::env::current_exe()?;
    let mut child = Kill(Command::new(&exe).args(["serve", "--port", "0", "--discard"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?);
    let stdout = child.0.stdout.take().ok_or_else(|| fail("no stdout from serve".into()))?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let endpoint = line.trim().rsplit(' ').next().filter(|e| e.starts_with("http://")).map(str::to_owned);
    endpoint.map(|e| (child, e)).ok_or_else(|| fail(format!("fanout-local serve said `{}`", line.trim())))
}

/// The human-readable report.
pub fn render(f: &ProcessFigures) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workload {} as Lambda runs it: {} records, {:.1} MB event; the endpoint is fanout-local serve in another process",
        f.workload.name(),
        f.records,
        f.event_bytes as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "  {:<24} {:>8} {:>8} {:>8} {:>9} {:>13} {:>10} {:>16}",
        "per warm invocation", "cpu ms", "user", "system", "wall ms", "minor faults", "peak MiB", "RSS first..last"
    );
    for s in &f.subjects {
        let runs = s.invocations.len().max(1) as f64;
        let rss = |i: Option<&Invocation>| i.map_or(0.0, |i| i.rss_kib as f64 / 1024.0);
        let _ = writeln!(
            out,
            "  {:<24} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>13.0} {:>10.1} {:>7.1}..{:<7.1}",
            s.subject.name(),
            s.cpu_ms(),
            s.user_ms / runs,
            s.system_ms / runs,
            s.wall_ms(),
            s.minor_faults(),
            s.peak_rss_kib as f64 / 1024.0,
            rss(s.invocations.first()),
            rss(s.invocations.last())
        );
    }
    if let Some(ratio) = f.cpu_ratio() {
        let _ =
            writeln!(out, "  the reference spends {ratio:.1} times fanout's CPU (medians of {} invocations each)", f.subjects[0].invocations.len());
    }
    for s in f.subjects.iter().filter(|s| !s.quotas.is_empty()) {
        let _ = writeln!(out, "  {} under Lambda's CPU share (median wall ms; cost per million records, arm64):", s.subject.name());
        for (mb, walls) in &s.quotas {
            let wall = median(walls);
            let _ = writeln!(out, "    {mb:>5} MB  {wall:>9.1} ms  ${:.6}", f.cost_per_million_records(*mb, wall));
        }
    }
    out
}
