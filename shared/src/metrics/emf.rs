//! The documents of one invocation, built from its [`Report`] (pure): the
//! summary line, which is also the EMF document of the totals, and one EMF
//! document per destination.
//!
//! EMF (CloudWatch Embedded Metric Format): a JSON object on one line whose
//! `_aws.CloudWatchMetrics` names which of its members are metrics, under
//! which namespace and dimension sets; the dimension values and metric values
//! are top-level members. Lambda turns such lines into metrics with no API
//! call. A dimension has one value per document, so each destination gets a
//! document of its own.

use super::config::{MetricsConfig, DESTINATION_DIMENSION, FUNCTION_DIMENSION};
use crate::fanout::{DestinationReport, RecordStatus, Report};
use serde_json::{json, Map, Value};

/// Every metric name fanout emits (totals, then per destination).
pub const METRIC_NAMES: &[&str] = &[
    "Records",
    "Delivered",
    "Failed",
    "DeadLettered",
    "Unrouted",
    "Duration",
    "BatchAge",
    "ColdStart",
    "Routed",
    "Requests",
    "Resends",
    "Throttles",
    "Bytes",
];

/// What one invocation was, beyond its report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvocationFacts<'a> {
    /// The source kind (`kinesis`, `sqs`, `http`, `iot`).
    pub source: &'static str,
    /// The Lambda request id, when known.
    pub request_id: Option<&'a str>,
    /// From the handler's start to its answer, in ms.
    pub duration_ms: f64,
    /// Now minus the oldest record's arrival, in ms (Kinesis and SQS).
    pub batch_age_ms: Option<u64>,
    /// The first invocation of this process.
    pub cold_start: bool,
    /// When, in ms since the epoch (EMF's `Timestamp`).
    pub now_ms: i64,
    /// The same instant as RFC 3339, for the `timestamp` field.
    pub timestamp: &'a str,
}

/// Where the documents go in CloudWatch: the settings and the function's name.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// The `metrics:` section.
    pub config: &'a MetricsConfig,
    /// The namespace in force (the config's, or `FANOUT_METRICS_NAMESPACE`).
    pub namespace: &'a str,
    /// The `FunctionName` dimension's value.
    pub function_name: &'a str,
}

/// The summary line: `level`, `message: "invocation summary"`, the counts
/// (`records`, `delivered`, `failed`, `dead_lettered`, `unrouted`) and the
/// nested `destinations` object; with metrics on, also the `_aws` block and
/// the total metrics under the `[FunctionName]` dimension set.
pub fn summary(report: &Report, facts: &InvocationFacts<'_>, labels: &Labels<'_>) -> Value {
    let mut doc = Map::new();
    doc.insert("timestamp".into(), facts.timestamp.into());
    doc.insert("level".into(), "INFO".into());
    doc.insert("message".into(), "invocation summary".into());
    if let Some(id) = facts.request_id {
        doc.insert("requestId".into(), id.into());
    }
    doc.insert("source".into(), facts.source.into());
    let count = |s| report.count(s) as u64;
    let totals = [
        ("records", "Records", report.status.len() as u64),
        ("delivered", "Delivered", count(RecordStatus::Delivered)),
        ("failed", "Failed", count(RecordStatus::Failed)),
        ("dead_lettered", "DeadLettered", count(RecordStatus::DeadLettered)),
        ("unrouted", "Unrouted", count(RecordStatus::Unrouted)),
    ];
    for (field, _, n) in totals {
        doc.insert(field.into(), n.into());
    }
    let destinations: Map<String, Value> =
        report.destinations.iter().filter(|d| active(d)).map(|d| (d.name.clone(), serde_json::to_value(d.counts()).unwrap_or(Value::Null))).collect();
    doc.insert("destinations".into(), Value::Object(destinations));
    if labels.config.enabled {
        let mut metrics = Vec::with_capacity(8);
        for (_, name, n) in totals {
            doc.insert(name.into(), n.into());
            metrics.push(metric(name, "Count"));
        }
        doc.insert("Duration".into(), json!(facts.duration_ms));
        metrics.push(metric("Duration", "Milliseconds"));
        if let Some(age) = facts.batch_age_ms {
            doc.insert("BatchAge".into(), age.into());
            metrics.push(metric("BatchAge", "Milliseconds"));
        }
        doc.insert("ColdStart".into(), u64::from(facts.cold_start).into());
        metrics.push(metric("ColdStart", "Count"));
        add_directive(&mut doc, labels, &[FUNCTION_DIMENSION], metrics, facts.now_ms);
    }
    Value::Object(doc)
}

/// One EMF document per destination that routed records or sent requests
/// (not the pseudo-destinations of a source's own rejects), under the
/// `[FunctionName, Destination]` dimension set. None when metrics or
/// per-destination metrics are off.
pub fn per_destination<'r>(report: &'r Report, labels: &'r Labels<'_>, now_ms: i64) -> impl Iterator<Item = Value> + 'r {
    let on = labels.config.enabled && labels.config.per_destination;
    report.destinations.iter().filter(move |d| on && d.kind != "source" && active(d)).map(move |d| {
        let c = d.counts();
        let mut doc = Map::new();
        doc.insert(DESTINATION_DIMENSION.into(), d.name.clone().into());
        let values = [
            ("Routed", "Count", c.routed as u64),
            ("Delivered", "Count", c.delivered as u64),
            ("Failed", "Count", c.failed as u64),
            ("DeadLettered", "Count", c.dead_lettered as u64),
            ("Requests", "Count", c.requests),
            ("Resends", "Count", c.retried),
            ("Throttles", "Count", c.throttles),
            ("Bytes", "Bytes", c.bytes),
        ];
        let mut metrics = Vec::with_capacity(values.len());
        for (name, unit, n) in values {
            doc.insert(name.into(), n.into());
            metrics.push(metric(name, unit));
        }
        add_directive(&mut doc, labels, &[FUNCTION_DIMENSION, DESTINATION_DIMENSION], metrics, now_ms);
        Value::Object(doc)
    })
}

fn active(d: &DestinationReport) -> bool {
    !d.outcomes.is_empty() || d.dead_letter_stats.requests > 0
}

fn metric(name: &str, unit: &str) -> Value {
    json!({"Name": name, "Unit": unit})
}

/// Add the `_aws` block (one directive: the dimension set `dimensions`, and
/// when the config adds constant dimensions, that set again with them, so
/// alarms on the plain set keep working) and the dimension values.
fn add_directive(doc: &mut Map<String, Value>, labels: &Labels<'_>, dimensions: &[&str], metrics: Vec<Value>, now_ms: i64) {
    doc.insert(FUNCTION_DIMENSION.into(), labels.function_name.into());
    let plain: Vec<Value> = dimensions.iter().map(|d| Value::from(*d)).collect();
    let mut sets = vec![Value::Array(plain.clone())];
    if !labels.config.dimensions.is_empty() {
        let mut with_constants = plain;
        for (name, value) in &labels.config.dimensions {
            with_constants.push(name.clone().into());
            doc.insert(name.clone(), value.clone().into());
        }
        sets.push(Value::Array(with_constants));
    }
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{"Namespace": labels.namespace, "Dimensions": sets, "Metrics": metrics}],
        }),
    );
}
