//! Per-invocation metrics in CloudWatch Embedded Metric Format, and the
//! invocation summary line (docs/operations.md).
//!
//! Each source's `invoke` calls [`observe`] once with the invocation's
//! records and report. It writes, through the [`Telemetry`] of the
//! [`Fanout`], one summary line (a JSON object: counts and a nested
//! `destinations` object; with metrics on it is also the EMF document of the
//! totals) and, with metrics on, one EMF document per destination. The lines
//! are built from the report after the answer is decided, with no API call;
//! nothing is written when the telemetry discards (benchmarks).
//!
//! fanout writes EMF itself rather than through `metrics_cloudwatch_embedded`:
//! that crate reports through the `metrics` facade's global recorder (one per
//! process, so tests and the local runner could not capture one invocation's
//! documents) and puts every label into one document, where fanout needs one
//! document per destination for the `Destination` dimension; the format is a
//! few fields of JSON.

pub mod config;
pub(crate) mod emf;
pub mod names;
pub mod output;

pub use config::{MetricsConfig, DEFAULT_NAMESPACE, DESTINATION_DIMENSION, FUNCTION_DIMENSION, MAX_EXTRA_DIMENSIONS};
pub use emf::{per_destination, summary, InvocationFacts, Labels};
pub use names::METRIC_NAMES;
pub use output::{Captured, Telemetry, NAMESPACE_ENV};

use crate::fanout::Fanout;
use crate::record::Record;
use crate::report::Report;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static INVOKED: AtomicBool = AtomicBool::new(false);

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Run one invocation's handler with its Lambda request id known to
/// [`observe`] (for the summary line's `requestId`).
pub async fn with_request_id<F: std::future::Future>(request_id: String, handler: F) -> F::Output {
    REQUEST_ID.scope(request_id, handler).await
}

/// Which record's arrival time the `BatchAge` metric is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAge {
    /// No batch age (HTTP, IoT: records arrive when the function is called).
    None,
    /// The first record with an arrival time: a Kinesis batch comes from one
    /// shard in sequence order, so it is the oldest (and no scan is needed).
    FirstRecord,
    /// The oldest of all (SQS: a batch is in no particular order).
    Oldest,
}

/// Write the summary line and the metrics of one invocation that started at
/// `started` (see the module doc). The cost does not grow with the records,
/// except for `BatchAge::Oldest` (a scan of their arrival times).
pub fn observe(fanout: &Fanout, source: &'static str, records: &[Record], report: &Report, started: Instant, batch_age: BatchAge) {
    let cold_start = !INVOKED.swap(true, Ordering::Relaxed);
    let telemetry = fanout.telemetry();
    if !telemetry.is_on() {
        return;
    }
    let config = &fanout.config().metrics;
    let summary_wanted = tracing::enabled!(target: "fanout::summary", tracing::Level::INFO);
    if !config.enabled && !summary_wanted {
        return;
    }
    let now = SystemTime::now();
    let now_ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let oldest = match batch_age {
        BatchAge::None => None,
        BatchAge::FirstRecord => records.iter().find_map(|r| r.arrival_ms),
        BatchAge::Oldest => records.iter().filter_map(|r| r.arrival_ms).min(),
    };
    let batch_age_ms = oldest.map(|oldest| now_ms.saturating_sub(oldest).max(0) as u64);
    let timestamp = aws_smithy_types::DateTime::from(now).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default();
    let request_id = REQUEST_ID.try_with(|id| id.clone()).ok();
    let facts = InvocationFacts {
        source,
        request_id: request_id.as_deref(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        batch_age_ms,
        cold_start,
        now_ms,
        timestamp: &timestamp,
    };
    let labels =
        Labels { config, namespace: telemetry.namespace_override.as_deref().unwrap_or(&config.namespace), function_name: &telemetry.function_name };
    let mut lines = Vec::with_capacity(1 + report.destinations.len());
    lines.push(summary(report, &facts, &labels));
    lines.extend(per_destination(report, &labels, now_ms));
    telemetry.write(&lines);
}
