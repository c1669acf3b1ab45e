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
use crate::report::{DestinationReport, LedgerUse, RecordStatus, Report};
use std::fmt::Write as _;

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
/// nested `destinations` object; with a delivery ledger, `ledger` (what it
/// did: [`LedgerUse`]) and each destination's `already_settled`; with
/// metrics on, also the `_aws` block and the total metrics under the
/// `[FunctionName]` dimension set (with a ledger, `LedgerUnavailable`: 1 when
/// the invocation fell back to at-least-once). One JSON
/// object, as text (written directly: no JSON tree is built).
pub fn summary(report: &Report, facts: &InvocationFacts<'_>, labels: &Labels<'_>) -> String {
    let mut doc = Doc::new(512);
    doc.str("timestamp", facts.timestamp);
    doc.str("level", "INFO");
    doc.str("message", "invocation summary");
    if let Some(id) = facts.request_id {
        doc.str("requestId", id);
    }
    doc.str("source", facts.source);
    let t = report.totals();
    let count = |s: RecordStatus| t[s as usize] as u64;
    let totals = [
        ("records", "Records", report.status.len() as u64),
        ("delivered", "Delivered", count(RecordStatus::Delivered)),
        ("failed", "Failed", count(RecordStatus::Failed)),
        ("dead_lettered", "DeadLettered", count(RecordStatus::DeadLettered)),
        ("unrouted", "Unrouted", count(RecordStatus::Unrouted)),
    ];
    for (field, _, n) in totals {
        doc.num(field, n);
    }
    let ledger = report.ledger != LedgerUse::Off;
    if ledger {
        doc.str("ledger", report.ledger.as_str());
    }
    doc.key("destinations");
    doc.open();
    for d in report.destinations.iter().filter(|d| active(d)) {
        let c = d.counts();
        doc.key(&d.name);
        doc.open();
        doc.num("routed", c.routed as u64);
        doc.num("delivered", c.delivered as u64);
        doc.num("failed", c.failed as u64);
        doc.num("dead_lettered", c.dead_lettered as u64);
        doc.num("requests", c.requests);
        doc.num("bytes", c.bytes);
        doc.num("retried", c.retried);
        doc.num("requests_lower_bound", c.requests_lower_bound);
        doc.num("throttles", c.throttles);
        if ledger {
            doc.num("already_settled", c.already_settled);
        }
        doc.close();
    }
    doc.close();
    if labels.config.enabled {
        let mut metrics: Vec<(&str, &str)> = Vec::with_capacity(8);
        for (_, name, n) in totals {
            doc.num(name, n);
            metrics.push((name, "Count"));
        }
        doc.float("Duration", facts.duration_ms);
        metrics.push(("Duration", "Milliseconds"));
        if let Some(age) = facts.batch_age_ms {
            doc.num("BatchAge", age);
            metrics.push(("BatchAge", "Milliseconds"));
        }
        doc.num("ColdStart", u64::from(facts.cold_start));
        metrics.push(("ColdStart", "Count"));
        if ledger {
            doc.num("LedgerUnavailable", u64::from(report.ledger.fell_back()));
            metrics.push(("LedgerUnavailable", "Count"));
        }
        add_directive(&mut doc, labels, &[FUNCTION_DIMENSION], &metrics, facts.now_ms);
    }
    doc.finish()
}

/// One EMF document per destination that routed records or sent requests
/// (not the pseudo-destinations of a source's own rejects), under the
/// `[FunctionName, Destination]` dimension set, as text. None when metrics
/// or per-destination metrics are off.
pub fn per_destination<'r>(report: &'r Report, labels: &'r Labels<'_>, now_ms: i64) -> impl Iterator<Item = String> + 'r {
    let on = labels.config.enabled && labels.config.per_destination;
    report.destinations.iter().filter(move |d| on && d.kind.is_some() && active(d)).map(move |d| {
        let c = d.counts();
        let mut doc = Doc::new(384);
        doc.str(DESTINATION_DIMENSION, &d.name);
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
        for (name, _, n) in values {
            doc.num(name, n);
        }
        let mut metrics: Vec<(&str, &str)> = values.iter().map(|(name, unit, _)| (*name, *unit)).collect();
        if report.ledger != LedgerUse::Off {
            doc.num("AlreadySettled", c.already_settled);
            metrics.push(("AlreadySettled", "Count"));
        }
        add_directive(&mut doc, labels, &[FUNCTION_DIMENSION, DESTINATION_DIMENSION], &metrics, now_ms);
        doc.finish()
    })
}

fn active(d: &DestinationReport) -> bool {
    !d.outcomes.is_empty() || d.dead_letter_stats.requests > 0
}

/// Add the `_aws` block (one directive: the dimension set `dimensions`, and
/// when the config adds constant dimensions, that set again with them, so
/// alarms on the plain set keep working) and the dimension values.
fn add_directive(doc: &mut Doc, labels: &Labels<'_>, dimensions: &[&str], metrics: &[(&str, &str)], now_ms: i64) {
    doc.str(FUNCTION_DIMENSION, labels.function_name);
    for (name, value) in &labels.config.dimensions {
        doc.str(name, value);
    }
    doc.key("_aws");
    doc.open();
    doc.key("Timestamp");
    let _ = write!(doc.0, "{now_ms}");
    doc.key("CloudWatchMetrics");
    doc.0.push_str("[{");
    doc.1 = true;
    doc.str("Namespace", labels.namespace);
    doc.key("Dimensions");
    doc.0.push_str("[[");
    list(&mut doc.0, dimensions.iter().copied());
    doc.0.push(']');
    if !labels.config.dimensions.is_empty() {
        doc.0.push_str(",[");
        list(&mut doc.0, dimensions.iter().copied().chain(labels.config.dimensions.keys().map(String::as_str)));
        doc.0.push(']');
    }
    doc.0.push(']');
    doc.key("Metrics");
    doc.0.push('[');
    for (k, (name, unit)) in metrics.iter().enumerate() {
        if k > 0 {
            doc.0.push(',');
        }
        doc.0.push_str("{\"Name\":");
        string(&mut doc.0, name);
        doc.0.push_str(",\"Unit\":");
        string(&mut doc.0, unit);
        doc.0.push('}');
    }
    doc.0.push_str("]}]");
    doc.close();
}

/// A JSON object being written: the text, and whether the innermost object
/// is still empty (no comma before its first member).
struct Doc(String, bool);

impl Doc {
    fn new(capacity: usize) -> Self {
        let mut text = String::with_capacity(capacity);
        text.push('{');
        Doc(text, true)
    }
    fn key(&mut self, key: &str) {
        if !self.1 {
            self.0.push(',');
        }
        self.1 = false;
        string(&mut self.0, key);
        self.0.push(':');
    }
    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        string(&mut self.0, value);
    }
    fn num(&mut self, key: &str, value: u64) {
        self.key(key);
        let _ = write!(self.0, "{value}");
    }
    fn float(&mut self, key: &str, value: f64) {
        self.key(key);
        if value.is_finite() {
            let _ = write!(self.0, "{value}");
        } else {
            self.0.push('0');
        }
    }
    fn open(&mut self) {
        self.0.push('{');
        self.1 = true;
    }
    fn close(&mut self) {
        self.0.push('}');
        self.1 = false;
    }
    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// `text` as a JSON string (quoted and escaped by serde_json).
fn string(out: &mut String, text: &str) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

fn list<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
    for (k, item) in items.enumerate() {
        if k > 0 {
            out.push(',');
        }
        string(out, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{DestinationOutcome, DestinationReport, Report};

    fn report() -> Report {
        let mut r = Report::empty(3);
        r.status[2] = RecordStatus::Unrouted;
        r.destinations.push(DestinationReport {
            name: "a \"quoted\" name".into(),
            kind: Some(crate::destinations::Kind::Firehose),
            outcomes: vec![(0, DestinationOutcome::Delivered), (1, DestinationOutcome::Delivered)],
            stats: Default::default(),
            dead_letter_stats: Default::default(),
            tally: None,
        });
        r
    }

    #[test]
    fn documents_are_json_objects_with_escaped_names_and_every_value() {
        let config = MetricsConfig { dimensions: [("stage".to_owned(), "pr\u{e9}-\"1\"".to_owned())].into(), ..MetricsConfig::default() };
        let labels = Labels { config: &config, namespace: "ns", function_name: "fn" };
        let facts = InvocationFacts {
            source: "sqs",
            request_id: Some("r\n1"),
            duration_ms: 1.5,
            batch_age_ms: Some(7),
            cold_start: true,
            now_ms: 42,
            timestamp: "t",
        };
        let report = report();
        let s: serde_json::Value = serde_json::from_str(&summary(&report, &facts, &labels)).expect("JSON");
        assert_eq!(s["requestId"], "r\n1");
        assert_eq!(s["destinations"]["a \"quoted\" name"]["delivered"], 2);
        assert_eq!(
            (s["Records"].as_u64(), s["Delivered"].as_u64(), s["Unrouted"].as_u64(), s["BatchAge"].as_u64()),
            (Some(3), Some(2), Some(1), Some(7))
        );
        assert_eq!(s["Duration"], 1.5);
        assert_eq!(s["stage"], "pr\u{e9}-\"1\"");
        assert_eq!(
            s["_aws"],
            serde_json::json!({"Timestamp": 42, "CloudWatchMetrics": [{"Namespace": "ns",
            "Dimensions": [["FunctionName"], ["FunctionName", "stage"]],
            "Metrics": [{"Name": "Records", "Unit": "Count"}, {"Name": "Delivered", "Unit": "Count"}, {"Name": "Failed", "Unit": "Count"},
                {"Name": "DeadLettered", "Unit": "Count"}, {"Name": "Unrouted", "Unit": "Count"}, {"Name": "Duration", "Unit": "Milliseconds"},
                {"Name": "BatchAge", "Unit": "Milliseconds"}, {"Name": "ColdStart", "Unit": "Count"}]}]})
        );
        let docs: Vec<serde_json::Value> = per_destination(&report, &labels, 42).map(|d| serde_json::from_str(&d).expect("JSON")).collect();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["Destination"], "a \"quoted\" name");
        assert_eq!(docs[0]["Routed"], 2);

        assert!(s.get("ledger").is_none() && s.get("LedgerUnavailable").is_none(), "no ledger, no ledger fields: {s}");
        assert!(docs[0].get("AlreadySettled").is_none());

        let off = MetricsConfig { enabled: false, ..MetricsConfig::default() };
        let labels = Labels { config: &off, ..labels };
        let s: serde_json::Value = serde_json::from_str(&summary(&report, &facts, &labels)).expect("JSON");
        assert!(s.get("_aws").is_none() && s.get("Records").is_none());
        assert_eq!(s["records"], 3);
        assert_eq!(per_destination(&report, &labels, 42).count(), 0);
    }

    #[test]
    fn with_a_ledger_the_documents_say_what_it_did_and_what_each_destination_skipped() {
        let config = MetricsConfig::default();
        let labels = Labels { config: &config, namespace: "ns", function_name: "fn" };
        let facts = InvocationFacts {
            source: "kinesis",
            request_id: None,
            duration_ms: 1.0,
            batch_age_ms: None,
            cold_start: false,
            now_ms: 1,
            timestamp: "t",
        };
        for (ledger, word, fell_back) in
            [(LedgerUse::Used, "used", 0), (LedgerUse::NotUpdated, "not_updated", 1), (LedgerUse::Unavailable, "unavailable", 1)]
        {
            let mut report = report();
            report.ledger = ledger;
            report.destinations[0].stats.already_settled = 1;
            let s: serde_json::Value = serde_json::from_str(&summary(&report, &facts, &labels)).expect("JSON");
            assert_eq!(s["ledger"], word);
            assert_eq!(s["LedgerUnavailable"], fell_back, "{s}");
            assert!(s["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().is_some_and(|m| m.iter().any(|m| m["Name"] == "LedgerUnavailable")));
            assert_eq!(s["destinations"]["a \"quoted\" name"]["already_settled"], 1);
            let docs: Vec<serde_json::Value> = per_destination(&report, &labels, 1).map(|d| serde_json::from_str(&d).expect("JSON")).collect();
            assert_eq!(docs[0]["AlreadySettled"], 1);
            assert!(docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().is_some_and(|m| m.iter().any(|m| m["Name"] == "AlreadySettled")));
        }
    }
}
