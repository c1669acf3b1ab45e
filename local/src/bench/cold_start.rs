//! `fanout-local bench --cold-start`: each built function binary, started as
//! Lambda starts it, under a Runtime API stand-in; timed from the spawn to
//! its first `GET /runtime/invocation/next`, which comes after `main` has
//! loaded the config and built every SDK client. The config names all five
//! destination types, so all five clients are built.

use super::{BenchError, Kill};
use crate::measure::median;
use fanout::workloads::Workload;
use fanout_sandbox::runtime_api::RuntimeApi;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The function binaries, as `cargo build --release` names them.
pub const FUNCTIONS: [&str; 5] = ["kinesis-fanout", "dynamodb-fanout", "sqs-fanout", "iot-fanout", "http-fanout"];

/// How long a binary may take to reach the Runtime API before the run is abandoned.
const INIT_WAIT: Duration = Duration::from_secs(10);

/// One binary's figures.
#[derive(Debug, Clone)]
pub struct ColdStart {
    /// The binary's name.
    pub function: &'static str,
    /// Its size on disk, bytes.
    pub binary_bytes: u64,
    /// Spawn to first `invocation/next`, per run, ms.
    pub init_ms_runs: Vec<f64>,
}

impl ColdStart {
    /// The median init time, ms.
    pub fn init_ms(&self) -> f64 {
        median(&self.init_ms_runs)
    }

    /// The `--json` object.
    pub fn to_json(&self) -> Value {
        let round = |x: f64| (x * 100.0).round() / 100.0;
        json!({
            "function": self.function,
            "binary_mb": round(self.binary_bytes as f64 / (1024.0 * 1024.0)),
            "init_ms": round(self.init_ms()),
            "init_ms_runs": self.init_ms_runs.iter().map(|&x| round(x)).collect::<Vec<_>>(),
        })
    }
}

/// The directory holding the function binaries by default: the one this
/// binary runs from (`target/release` under `cargo run --release`).
pub fn default_bin_dir() -> PathBuf {
    std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_else(|| PathBuf::from("target/release"))
}

/// Time every function binary found in `bin_dir`, `runs` starts each.
/// Returns the figures and the names of the binaries not found; when none is
/// found, the error says how to build them.
pub async fn measure(bin_dir: &Path, runs: usize) -> Result<(Vec<ColdStart>, Vec<&'static str>), BenchError> {
    let missing: Vec<&'static str> = FUNCTIONS.iter().copied().filter(|f| !bin_dir.join(f).is_file()).collect();
    if missing.len() == FUNCTIONS.len() {
        return Err(BenchError::Run {
            workload: "cold-start",
            message: format!(
                "{} not found in {}: build them first with `cargo build --release --workspace --bins` (or use --bin-dir)",
                missing.join(", "),
                bin_dir.display()
            ),
        });
    }
    let dir = std::env::temp_dir().join(format!("fanout-cold-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("fanout.yaml");
    std::fs::write(&config, Workload::Fanout5.config_yaml())?;
    let mut out = Vec::new();
    for function in FUNCTIONS.into_iter().filter(|f| !missing.contains(f)) {
        let binary = bin_dir.join(function);
        let binary_bytes = std::fs::metadata(&binary)?.len();
        let mut init_ms_runs = Vec::with_capacity(runs);
        for _ in 0..runs {
            init_ms_runs.push(time_init(&binary, function, &config).await?);
        }
        out.push(ColdStart { function, binary_bytes, init_ms_runs });
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((out, missing))
}

/// Start `binary` once as Lambda would and time it to its first poll.
async fn time_init(binary: &Path, function: &'static str, config: &Path) -> Result<f64, BenchError> {
    let runtime = RuntimeApi::start().await?;
    let started = Instant::now();
    let _child = Kill(
        Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("FANOUT_CONFIG_FILE", config)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let polled = runtime.first_poll(INIT_WAIT).await.ok_or_else(|| BenchError::Run {
        workload: "cold-start",
        message: format!("{function} did not reach the Runtime API within {INIT_WAIT:?} (run it by hand to see its error)"),
    })?;
    Ok(polled.saturating_duration_since(started).as_secs_f64() * 1e3)
}

/// The human-readable report.
pub fn render(figures: &[ColdStart]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("cold start (spawn to first Runtime API poll, every SDK client built)\n");
    let _ = writeln!(out, "  {:<16} {:>10} {:>12}  runs", "function", "binary MB", "init ms");
    for f in figures {
        let runs = f.init_ms_runs.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "  {:<16} {:>10.2} {:>12.1}  {runs}", f.function, f.binary_bytes as f64 / (1024.0 * 1024.0), f.init_ms());
    }
    out
}
