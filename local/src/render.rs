//! Human-readable output of `invoke`.

use crate::invoke::InvokeResult;
use fanout::report::{LedgerUse, RecordStatus};
use std::fmt::Write;

fn status(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Delivered => "delivered",
        RecordStatus::Unrouted => "unrouted",
        RecordStatus::DeadLettered => "dead-lettered",
        RecordStatus::Failed => "FAILED",
    }
}

/// The report: where each record went, per-destination counts, the response.
pub fn report(result: &InvokeResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} records -> {}", result.records.len(), result.sent_to);
    for note in &result.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let id_width = result.records.iter().map(|r| r.id.len()).max().unwrap_or(6).max(6);
    let _ = writeln!(out, "\n{:<id_width$}  {:<13}  WHERE", "RECORD", "STATUS");
    for r in &result.records {
        let where_ = if r.outcomes.is_empty() {
            "(no route took it)".to_owned()
        } else {
            r.outcomes.iter().map(|(d, o)| if o == "delivered" { d.clone() } else { format!("{d} [{o}]") }).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(out, "{:<id_width$}  {:<13}  {where_}", r.id, status(r.status));
    }
    let name_width = result.destinations.iter().map(|d| d.name.len()).max().unwrap_or(11).max(11);
    let kind_width = result.destinations.iter().map(|d| d.kind.len()).max().unwrap_or(4).max(4);
    let ledger = result.ledger != LedgerUse::Off;
    let _ = write!(
        out,
        "\n{:<name_width$}  {:<kind_width$}  {:>7}  {:>8}  {:>9}  {:>7}  {:>6}  {:>13}",
        "DESTINATION", "TYPE", "RECORDS", "REQUESTS", "BYTES", "RETRIES", "FAILED", "DEAD-LETTERED"
    );
    let _ = writeln!(out, "{}", if ledger { "  SKIPPED" } else { "" });
    for d in &result.destinations {
        let c = &d.counts;
        let _ = write!(
            out,
            "{:<name_width$}  {:<kind_width$}  {:>7}  {:>8}  {:>9}  {:>7}  {:>6}  {:>13}",
            d.name, d.kind, c.routed, c.requests, c.bytes, c.retried, c.failed, c.dead_lettered
        );
        let _ = if ledger { writeln!(out, "  {:>7}", c.already_settled) } else { writeln!(out) };
    }
    for d in result.destinations.iter().filter(|d| d.counts.filtered > 0) {
        let _ = writeln!(out, "{}: {} record(s) filtered by its transform (nothing sent for them)", d.name, d.counts.filtered);
    }
    match result.ledger {
        LedgerUse::Off => {}
        LedgerUse::Used => {
            let _ = writeln!(out, "delivery ledger: used (SKIPPED: records the destination accepted in an earlier delivery, not sent again)");
        }
        LedgerUse::NotUpdated => {
            let _ = writeln!(out, "delivery ledger: NOT UPDATED after the failures (a replay may send these records again)");
        }
        LedgerUse::Unavailable => {
            let _ = writeln!(out, "delivery ledger: UNAVAILABLE (this invocation delivered at least once)");
        }
    }
    if !result.sandbox_items.is_empty() {
        let _ = writeln!(out, "\nThe sandbox now holds:");
        for (api, target, n) in &result.sandbox_items {
            let _ = writeln!(out, "  {api}/{target}: {n} item(s)");
        }
    }
    let _ = writeln!(out, "\nResponse (what the Lambda function returns):\n{}", result.response);
    if let Some((records, replay)) = &result.replay {
        let _ =
            writeln!(out, "\n=== Replay: the source delivers {records} record(s) again, as Lambda does after these failures (faults cleared) ===\n");
        out.push_str(&report(replay));
    }
    out
}

/// The `--metrics` section: each EMF document on its own line, as the
/// function writes it to stdout (where Lambda reads EMF from).
pub fn metrics(documents: &[serde_json::Value]) -> String {
    let mut out = String::new();
    if documents.is_empty() {
        let _ = writeln!(out, "\nmetrics: none (the config sets metrics.enabled: false)");
        return out;
    }
    let _ = writeln!(out, "\nmetrics (CloudWatch EMF, one document per line, as the function writes them):");
    for d in documents {
        let _ = writeln!(out, "{d}");
    }
    out
}
