//! The names of the metrics fanout emits, which `metrics:` dimensions may not reuse.

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
    "LedgerUnavailable",
    "Routed",
    "Requests",
    "Resends",
    "Throttles",
    "Bytes",
    "AlreadySettled",
];
