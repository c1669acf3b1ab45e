//! `fanout-local invoke`: one event file through the real handler.

use crate::sdk::{aws_sdk_config, endpoint_sdk_config};
use fanout::config::ConfigError;
use fanout::record::Record;
use fanout::report::{DestinationCounts, DestinationOutcome, LedgerUse, RecordStatus, Report};
use fanout::sources::ErrorType;
use fanout::{Clients, Config, Fanout};
use fanout_sandbox::faults::{FaultSpec, SpecError};
use fanout_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// The event sources fanout has functions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// Kinesis stream batches.
    Kinesis,
    /// DynamoDB Streams batches.
    Dynamodb,
    /// SQS batches.
    Sqs,
    /// API Gateway requests.
    Http,
    /// IoT rule invocations.
    Iot,
}

/// Where requests go.
#[derive(Debug, Clone)]
pub enum SendTo {
    /// The embedded sandbox, with these faults.
    Sandbox(FaultSpec),
    /// Another endpoint (moto, LocalStack, a running `fanout-local serve`), dummy credentials.
    Endpoint(String),
    /// Real AWS, with the standard configuration.
    Aws,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// The source kind.
    pub source: Source,
    /// The event file.
    pub event: PathBuf,
    /// The config file.
    pub config: PathBuf,
    /// Where requests go.
    pub send_to: SendTo,
    /// The invocation's time budget (the Lambda timeout).
    pub deadline: Duration,
    /// Keep the event's arrival times; by default records are stamped with
    /// the current time, as if they had just arrived (sample events are old,
    /// and SiteWise takes only the last 7 days).
    pub keep_arrival: bool,
    /// Turn the delivery ledger on (a config's `ledger:` is on anyway): the
    /// config's table, or in the embedded sandbox [`LOCAL_LEDGER_TABLE`]
    /// when the config has none. Implies `replay`.
    pub ledger: bool,
    /// When the invocation reports failures, deliver the event again as
    /// Lambda would ([`crate::replay::replay_event`]), with the sandbox's
    /// faults cleared (the destinations have recovered).
    pub replay: bool,
}

/// The ledger table `--ledger` uses in the embedded sandbox when the config names none.
pub const LOCAL_LEDGER_TABLE: &str = "fanout-local-ledger";

/// What happened to one record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordRow {
    /// Its identity.
    pub id: String,
    /// Overall.
    pub status: RecordStatus,
    /// Per destination: name and outcome text.
    pub outcomes: Vec<(String, String)>,
}

/// One destination's line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DestinationRow {
    /// The destination's name in the config.
    pub name: String,
    /// Its `type` (`source` for a pseudo-destination of the source: its rejects, SQS FIFO records held back).
    pub kind: &'static str,
    /// What it was sent and what came of it.
    pub counts: DestinationCounts,
}

/// Everything an invocation did.
#[derive(Debug)]
pub struct InvokeResult {
    /// Where requests went, in words.
    pub sent_to: String,
    /// Exactly what the Lambda function returns (or its error, as Lambda shows it).
    pub response: Value,
    /// Per record.
    pub records: Vec<RecordRow>,
    /// Per destination, in config order.
    pub destinations: Vec<DestinationRow>,
    /// What the embedded sandbox holds afterwards: (API, target, items).
    pub sandbox_items: Vec<(String, String, usize)>,
    /// Things the user should know (redirected endpoints).
    pub notes: Vec<String>,
    /// The CloudWatch EMF documents the function would write for this
    /// invocation (the summary with the totals, then one per destination);
    /// empty when the config turns metrics off.
    pub metrics: Vec<Value>,
    /// What the delivery ledger did.
    pub ledger: LedgerUse,
    /// The event delivered again after failures (`--replay`, `--ledger`):
    /// how many of its records were sent again, and what came of it.
    pub replay: Option<(usize, Box<InvokeResult>)>,
}

impl InvokeResult {
    /// The `--json` object: `{"response": ..., "destinations": {name: {...}}}`,
    /// with a ledger also `"ledger"` and each destination's `already_settled`,
    /// and after a replay `"replay": {"records": n, "response": ..., ...}`.
    pub fn to_json(&self) -> Value {
        let ledger = self.ledger != LedgerUse::Off;
        let destinations: serde_json::Map<String, Value> = self
            .destinations
            .iter()
            .map(|d| {
                let c = &d.counts;
                let mut row = json!({"requests": c.requests, "records": c.routed, "bytes": c.bytes, "retries": c.retried, "failed": c.failed, "dead_lettered": c.dead_lettered, "filtered": c.filtered});
                if ledger {
                    row["already_settled"] = json!(c.already_settled);
                }
                (d.name.clone(), row)
            })
            .collect();
        let mut out = json!({"response": self.response, "destinations": destinations});
        if ledger {
            out["ledger"] = json!(self.ledger);
        }
        if let Some((records, replay)) = &self.replay {
            let mut again = replay.to_json();
            again["records"] = json!(records);
            out["replay"] = again;
        }
        out
    }
}

/// Why a local invocation could not run.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The event file cannot be used.
    #[error("{}: {message}", path.display())]
    Event {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The sandbox could not start.
    #[error("the embedded sandbox could not start: {0}")]
    Sandbox(#[from] std::io::Error),
    /// A bad fault spec.
    #[error(transparent)]
    Faults(#[from] SpecError),
    /// `--ledger` away from the embedded sandbox, with no table to use.
    #[error("--ledger with --endpoint or --aws needs the config's `ledger: {{ table: ... }}` (a table that exists there)")]
    NoLedgerTable,
}

/// Run one event file through the handler of its source (and, with
/// `replay`, again as Lambda would after failures).
pub async fn invoke(request: InvokeRequest) -> Result<InvokeResult, LocalError> {
    let mut config = Config::load(&request.config)?;
    let mut text = std::fs::read_to_string(&request.event).map_err(|e| LocalError::Event { path: request.event.clone(), message: e.to_string() })?;
    if !request.keep_arrival && matches!(request.source, Source::Kinesis | Source::Dynamodb | Source::Sqs) {
        text = crate::restamp::restamp_text(&text, SystemTime::now());
    }
    let mut notes = Vec::new();
    let (sandbox, sdk, sent_to) = match &request.send_to {
        SendTo::Sandbox(faults) => {
            let sandbox = Sandbox::start(SandboxOptions { faults: faults.clone(), ..SandboxOptions::default() }, 0).await?;
            for (name, dest) in &mut config.destinations {
                if let Some(url) = dest.spec_mut().endpoint_url_mut().replace(sandbox.endpoint.clone()) {
                    notes.push(format!("destination `{name}`: endpoint_url {url} redirected to the embedded sandbox"));
                }
            }
            let sdk = endpoint_sdk_config(&sandbox.endpoint);
            let sent_to = format!("embedded sandbox {}", sandbox.endpoint);
            (Some(sandbox), sdk, sent_to)
        }
        SendTo::Endpoint(url) => (None, endpoint_sdk_config(url), format!("endpoint {url}")),
        SendTo::Aws => (None, aws_sdk_config().await, "AWS".to_owned()),
    };
    if request.ledger {
        match (&config.ledger, &sandbox) {
            (Some(l), _) => notes.push(format!("delivery ledger: table {} ({sent_to})", l.table)),
            (None, Some(_)) => {
                fanout::ledger::env::use_table(&mut config, LOCAL_LEDGER_TABLE);
                notes.push(format!("delivery ledger: table {LOCAL_LEDGER_TABLE} in the embedded sandbox"));
            }
            (None, None) => return Err(LocalError::NoLedgerTable),
        }
    } else if let Some(l) = &config.ledger {
        notes.push(format!("delivery ledger (the config's): table {} ({sent_to})", l.table));
    }
    let (telemetry, metrics) = fanout::metrics::Telemetry::capture("fanout-local");
    let fanout = Fanout::new(config, &Clients::from_sdk_config(&sdk)).with_telemetry(telemetry);
    let deadline = SystemTime::now() + request.deadline;
    let items = |sandbox: &Option<Sandbox>| -> Vec<(String, String, usize)> {
        sandbox
            .as_ref()
            .map(|s| s.state.world().store.targets().into_iter().map(|(api, t, n)| (api.name().to_owned(), t, n)).collect())
            .unwrap_or_default()
    };
    let (records, report, response) = run_event(&fanout, request.source, &text, &request.event, deadline).await?;
    let mut result = result_of(&records, &report, response, &metrics, sent_to.clone());
    result.notes = notes;
    result.sandbox_items = items(&sandbox);
    if request.replay || request.ledger {
        if let Some(again) = crate::replay::replay_event(request.source, &text, &result.response) {
            if let Some(sandbox) = &sandbox {
                sandbox.state.faults().set(&FaultSpec::default());
            }
            let deadline = SystemTime::now() + request.deadline;
            let (records, report, response) = run_event(&fanout, request.source, &again.text, &request.event, deadline).await?;
            let mut replayed = result_of(&records, &report, response, &metrics, sent_to);
            replayed.sandbox_items = items(&sandbox);
            result.replay = Some((again.records, Box::new(replayed)));
        }
    }
    Ok(result)
}

/// One invocation of the source's handler on the event `text`: its records,
/// its report and what the function returns.
async fn run_event(
    fanout: &Fanout,
    source: Source,
    text: &str,
    path: &std::path::Path,
    deadline: SystemTime,
) -> Result<(Vec<Record>, Report, Value), LocalError> {
    let not = |what: &str| {
        let what = what.to_owned();
        move |e: serde_json::Error| LocalError::Event { path: path.to_path_buf(), message: format!("not {what} event: {e}") }
    };
    Ok(match source {
        Source::Kinesis => {
            let event: fanout::sources::kinesis::KinesisBatch = serde_json::from_str(text).map_err(not("a Kinesis"))?;
            let run = fanout::sources::kinesis::invoke_batch(fanout, event, deadline).await;
            let response = match &run.response {
                Ok(r) => serde_json::to_value(r).unwrap_or_default(),
                Err(e) => lambda_error(e),
            };
            (run.records, run.report, response)
        }
        Source::Dynamodb => {
            let event: fanout::sources::dynamodb::DynamoDbBatch = serde_json::from_str(text).map_err(not("a DynamoDB Streams"))?;
            let run = fanout::sources::dynamodb::invoke_batch(fanout, event, deadline).await;
            let response = match &run.response {
                Ok(r) => serde_json::to_value(r).unwrap_or_default(),
                Err(e) => lambda_error(e),
            };
            (run.records, run.report, response)
        }
        Source::Sqs => {
            let event: fanout::sources::sqs::SqsBatch = serde_json::from_str(text).map_err(not("an SQS"))?;
            let run = fanout::sources::sqs::invoke(fanout, event, deadline).await;
            let response = match &run.response {
                Ok(r) => serde_json::to_value(r).unwrap_or_default(),
                Err(e) => lambda_error(e),
            };
            (run.records, run.report, response)
        }
        Source::Iot => {
            let run = fanout::sources::iot::invoke(fanout, bytes::Bytes::from(text.to_owned()), "local", deadline).await;
            let response = match &run.response {
                Ok(r) => serde_json::to_value(r).unwrap_or_default(),
                Err(e) => lambda_error(e),
            };
            (run.records, run.report, response)
        }
        Source::Http => {
            let (answer, processed) = fanout::sources::http::invoke_event(fanout, text.as_bytes(), deadline).await;
            let response = fanout::sources::http::apigw::response_to_event(&answer);
            let (records, report) = processed.unwrap_or_else(|| (Vec::new(), fanout::Report::empty(0)));
            (records, report, response)
        }
    })
}

/// The rows of one invocation (notes and sandbox items left for the caller).
fn result_of(records: &[Record], report: &Report, response: Value, metrics: &fanout::metrics::Captured, sent_to: String) -> InvokeResult {
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, r)| RecordRow {
            id: if r.id.source_id.is_empty() { format!("(record {i}: no id)") } else { r.id.to_string() },
            status: report.status[i],
            outcomes: report
                .outcomes_of(i)
                .map(|(name, o)| {
                    let text = match o {
                        DestinationOutcome::Delivered => "delivered".to_owned(),
                        DestinationOutcome::DeadLettered(e) => {
                            format!("dead-lettered: {}: {}", e.code, e.message)
                        }
                        DestinationOutcome::Failed(e) => {
                            format!("failed: {}: {} ({})", e.code, e.message, e.class)
                        }
                    };
                    (name.to_owned(), text)
                })
                .collect(),
        })
        .collect();
    let destinations = report.destinations.iter().map(|d| DestinationRow { name: d.name.clone(), kind: d.kind_name(), counts: d.counts() }).collect();
    let metrics = metrics.take().iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|d| d.get("_aws").is_some()).collect();
    InvokeResult {
        sent_to,
        response,
        records: rows,
        destinations,
        sandbox_items: Vec::new(),
        notes: Vec::new(),
        metrics,
        ledger: report.ledger,
        replay: None,
    }
}

/// A handler error as Lambda shows it: the `errorType` and `errorMessage`
/// of the `lambda_runtime::Diagnostic` the function returns for it.
fn lambda_error(error: &impl ErrorType) -> Value {
    let diagnostic = error.diagnostic();
    json!({"errorType": diagnostic.error_type, "errorMessage": diagnostic.error_message})
}
