//! `fanout-local`: invoke fanout's handlers on event files, serve the
//! sandbox, validate configs. See `fanout-local --help`.

use clap::{Parser, Subcommand};
use fanout::workloads::Workload;
use fanout_local::bench::{self, cold_start, WorkloadFigures};
use fanout_local::invoke::{invoke, InvokeRequest, SendTo, Source};
use fanout_sandbox::faults::FaultSpec;
use fanout_sandbox::{Sandbox, SandboxOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "fanout-local",
    version,
    about = "Run fanout locally: the same handlers the Lambda functions run, against an embedded sandbox of the five batch APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an event file through the handler, in-process, and print where each record went.
    Invoke {
        /// The source: kinesis, dynamodb, sqs, http or iot.
        source: Source,
        /// The event file (as in events/).
        event: PathBuf,
        /// The config file.
        #[arg(long, default_value = "fanout.yaml")]
        config: PathBuf,
        /// Send to this endpoint (moto, LocalStack, `fanout-local serve`) instead of the embedded sandbox.
        #[arg(long, conflicts_with = "aws")]
        endpoint: Option<String>,
        /// Send to real AWS (standard credential chain and region).
        #[arg(long)]
        aws: bool,
        /// Faults for the embedded sandbox, e.g. `kinesis:rate=0.1;firehose:match=sensor-004;seed=7`.
        #[arg(long, value_name = "SPEC")]
        fail: Option<String>,
        /// The invocation's time budget in ms (the Lambda timeout).
        #[arg(long, default_value_t = 60_000)]
        deadline_ms: u64,
        /// Print one JSON object: {"response": ..., "destinations": {...}}.
        #[arg(long)]
        json: bool,
        /// Keep the event's arrival times (by default records are stamped as arriving now).
        #[arg(long)]
        keep_arrival: bool,
        /// Also print the CloudWatch EMF documents the function would write (with --json: under "metrics").
        #[arg(long)]
        metrics: bool,
        /// Use the delivery ledger (the config's table, or one in the embedded sandbox), and replay as --replay does:
        /// the replay sends each record only where it is missing.
        #[arg(long)]
        ledger: bool,
        /// When records fail, deliver the event again as Lambda would (streams: from the lowest failure on;
        /// SQS: the failed messages; IoT, HTTP: the whole event), with the faults cleared, and print that too.
        #[arg(long)]
        replay: bool,
    },
    /// Print an event file with every record's arrival time set to now (Kinesis, DynamoDB, SQS), for
    /// `cargo lambda invoke --data-ascii` or `sam local invoke -e`.
    Restamp {
        /// The event file (as in events/).
        event: PathBuf,
    },
    /// Run the sandbox alone, for `cargo lambda watch`, `sam local` or any SDK client.
    Serve {
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 4566)]
        port: u16,
        /// Faults to inject (see `invoke --fail`); change them at run time with PUT /_sandbox/faults.
        #[arg(long, value_name = "SPEC")]
        fail: Option<String>,
        /// Also write accepted items as JSON Lines under this directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Answer ResourceNotFound for streams, channels, inputs and aliases not created first.
        #[arg(long)]
        no_auto_create: bool,
        /// Validate and answer every call but keep nothing (for long benchmark runs: memory stays flat).
        #[arg(long, conflicts_with = "data_dir")]
        discard: bool,
    },
    /// Print what each record of an event becomes for one destination's transform, sending nothing.
    Transform {
        /// The source: kinesis, dynamodb or sqs.
        source: String,
        /// The event file (as in events/).
        event: PathBuf,
        /// The destination whose transform to run.
        #[arg(long)]
        destination: String,
        /// The config file.
        #[arg(long, default_value = "fanout.yaml")]
        config: PathBuf,
    },
    /// Measure fanout on generated workloads: requests against the API lower bound, wall and CPU time, peak RSS.
    Bench {
        /// One workload (small, large, fanout5, messaging, keyed, ordered, packed); default: all, each in a process of its own.
        #[arg(long, value_parser = parse_workload)]
        workload: Option<Workload>,
        /// Measured runs per workload, after one warm-up run.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..))]
        runs: u16,
        /// Print one JSON object per workload (per function with --cold-start).
        #[arg(long)]
        json: bool,
        /// Time the built function binaries from start to their first Runtime API poll, and their size.
        #[arg(long)]
        cold_start: bool,
        /// Plan and encode every request but send nothing (no sandbox): the CPU-only path.
        #[arg(long, conflicts_with = "cold_start")]
        dry_run: bool,
        /// Run the built kinesis-fanout as Lambda does (Runtime API stand-in, warm, endpoint in another
        /// process) and read its own CPU, wall, page faults and memory per invocation (default workload: big).
        #[arg(long, conflicts_with_all = ["cold_start", "dry_run"])]
        process: bool,
        /// With --process: also measure the reference router (Python, boto3) side by side (big, large).
        #[arg(long, requires = "process")]
        reference: bool,
        /// With --process: memory sizes (MB) whose Lambda CPU share to impose in turn with a cgroup, e.g. 128,512,1769.
        #[arg(long, requires = "process", value_delimiter = ',')]
        quota: Vec<u64>,
        /// With --process: send only the workload's first N records per invocation (per-record cost by batch size).
        #[arg(long, requires = "process", value_parser = clap::value_parser!(u64).range(1..))]
        records: Option<u64>,
        /// Where the function binaries are (default: beside this binary).
        #[arg(long)]
        bin_dir: Option<PathBuf>,
    },
    /// Check a config file and print what it would route where.
    Validate {
        /// The config file.
        config: PathBuf,
        /// Also show where each record of this Kinesis event would go (nothing is sent).
        #[arg(long)]
        event: Option<PathBuf>,
    },
}

fn parse_workload(name: &str) -> Result<Workload, String> {
    Workload::from_name(name).ok_or_else(|| format!("unknown workload `{name}` ({})", Workload::ALL.map(Workload::name).join(", ")))
}

fn faults(spec: Option<&str>) -> Result<FaultSpec, String> {
    spec.map_or_else(|| Ok(FaultSpec::default()), |s| FaultSpec::parse(s).map_err(|e| e.to_string()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fanout-local: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Restamp { event } => {
            let text = std::fs::read_to_string(&event).map_err(|e| format!("{}: {e}", event.display()))?;
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "{}", fanout_local::restamp::restamp_text(&text, std::time::SystemTime::now()));
            Ok(())
        }
        Command::Invoke { source, event, config, endpoint, aws, fail, deadline_ms, json, keep_arrival, metrics, ledger, replay } => {
            if fail.is_some() && (endpoint.is_some() || aws) {
                return Err("--fail injects faults into the embedded sandbox; it cannot be used with --endpoint or --aws".into());
            }
            let send_to = match (endpoint, aws) {
                (Some(url), _) => SendTo::Endpoint(url),
                (None, true) => SendTo::Aws,
                (None, false) => SendTo::Sandbox(faults(fail.as_deref())?),
            };
            let deadline = Duration::from_millis(deadline_ms);
            let result =
                invoke(InvokeRequest { source, event, config, send_to, deadline, keep_arrival, ledger, replay }).await.map_err(|e| e.to_string())?;
            if json {
                let mut out = result.to_json();
                if metrics {
                    out["metrics"] = serde_json::Value::from(result.metrics.clone());
                }
                println!("{out}");
            } else {
                print!("{}", fanout_local::render::report(&result));
                if metrics {
                    print!("{}", fanout_local::render::metrics(&result.metrics));
                }
            }
            Ok(())
        }
        Command::Serve { port, fail, data_dir, no_auto_create, discard } => {
            let options = SandboxOptions {
                auto_create: !no_auto_create,
                faults: faults(fail.as_deref())?,
                data_dir,
                retain_items: !discard,
                ..SandboxOptions::default()
            };
            let sandbox = Sandbox::start(options, port).await.map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
            // Written without println!, so a closed stdout (a piped reader that went away) is not a panic.
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "fanout sandbox listening on {}", sandbox.endpoint);
            let _ = writeln!(
                stdout,
                "  export AWS_ENDPOINT_URL={} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1",
                sandbox.endpoint
            );
            let _ = writeln!(
                stdout,
                "  read back: curl {0}/_sandbox/items    faults: curl -X PUT --data 'kinesis:rate=0.1' {0}/_sandbox/faults",
                sandbox.endpoint
            );
            let _ = stdout.flush();
            tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Bench { workload, runs, json, process: true, reference, quota, records, bin_dir, .. } => {
            let bench = fanout_local::bench::process::ProcessBench {
                workload: workload.unwrap_or(Workload::Big),
                runs: usize::from(runs),
                bin_dir: bin_dir.unwrap_or_else(cold_start::default_bin_dir),
                reference,
                quotas: quota,
                records: records.and_then(|n| usize::try_from(n).ok()),
            };
            let figures = bench.run().await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", figures.to_json());
            } else {
                print!("{}", fanout_local::bench::process::render(&figures));
            }
            Ok(())
        }
        Command::Bench { runs, json, cold_start: true, bin_dir, .. } => {
            let dir = bin_dir.unwrap_or_else(cold_start::default_bin_dir);
            let (figures, missing) = cold_start::measure(&dir, usize::from(runs)).await.map_err(|e| e.to_string())?;
            if !missing.is_empty() {
                eprintln!("fanout-local: not measured (not built in {}): {}", dir.display(), missing.join(", "));
            }
            if json {
                figures.iter().for_each(|f| println!("{}", f.to_json()));
            } else {
                print!("{}", cold_start::render(&figures));
            }
            Ok(())
        }
        Command::Bench { workload: Some(w), runs, json, dry_run, .. } => {
            let figures = bench::run_workload(w, usize::from(runs), dry_run).await.map_err(|e| e.to_string())?;
            print_figures(&figures, json);
            Ok(())
        }
        Command::Bench { workload: None, runs, json, dry_run, .. } => {
            // One process per workload, so each peak RSS is that workload's own.
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            for w in Workload::ALL {
                let out = std::process::Command::new(&exe)
                    .args(["bench", "--workload", w.name(), "--runs", &runs.to_string(), "--json"])
                    .args(dry_run.then_some("--dry-run"))
                    .stderr(std::process::Stdio::inherit())
                    .output()
                    .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
                if !out.status.success() {
                    return Err(format!("workload {} failed", w.name()));
                }
                let figures = serde_json::from_slice(&out.stdout)
                    .ok()
                    .and_then(|v| WorkloadFigures::from_json(&v))
                    .ok_or_else(|| format!("workload {}: unreadable figures: {}", w.name(), String::from_utf8_lossy(&out.stdout)))?;
                print_figures(&figures, json);
            }
            Ok(())
        }
        Command::Transform { source, event, destination, config } => {
            let config = fanout::Config::load(&config).map_err(|e| e.to_string())?;
            let records = fanout_local::transform::records(&source, &event, &config)?;
            print!("{}", fanout_local::transform::render(&config, &destination, &records)?);
            Ok(())
        }
        Command::Validate { config, event } => {
            let config = fanout::Config::load(&config).map_err(|e| e.to_string())?;
            print!("{}", fanout_local::validate::summary(&config));
            if let Some(path) = event {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let event = serde_json::from_str(&text).map_err(|e| format!("{}: not a Kinesis event: {e}", path.display()))?;
                let records = fanout::sources::kinesis::decode(event).records;
                print!("{}", fanout_local::validate::routes_for(&config, &records));
            }
            Ok(())
        }
    }
}

fn print_figures(figures: &WorkloadFigures, json: bool) {
    if json {
        println!("{}", figures.to_json());
    } else {
        println!("{}", bench::render(figures));
    }
}
