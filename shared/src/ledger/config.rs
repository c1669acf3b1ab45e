//! `ledger:` in the config file: where the delivery ledger keeps its items.

use crate::validation::{problem, Problem};
use serde::Deserialize;

/// Hours a ledger item lives unless `ttl_hours` says otherwise (a day:
/// longer than Lambda retries a stream batch or an SQS message by default).
pub const DEFAULT_TTL_HOURS: u32 = 24;
/// The most `ttl_hours` may be (a year).
pub const MAX_TTL_HOURS: u32 = 8_760;

/// `ledger: { table: ..., ttl_hours: ... }`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// The DynamoDB table (key `pk`, a string; TTL on the `ttl` attribute).
    pub table: String,
    /// How long items live, hours (default 24).
    pub ttl_hours: Option<u32>,
}

impl LedgerConfig {
    /// Item lifetime in seconds.
    pub fn ttl_secs(&self) -> u64 {
        u64::from(self.ttl_hours.unwrap_or(DEFAULT_TTL_HOURS)) * 3600
    }

    /// Every problem, at `ledger.<field>`.
    pub fn validate(&self, problems: &mut Vec<Problem>) {
        if let Some(p) = table_name_problem(&self.table) {
            problems.push(problem("ledger.table", &p));
        }
        if let Some(h) = self.ttl_hours {
            if h == 0 || h > MAX_TTL_HOURS {
                problems.push(problem("ledger.ttl_hours", &format!("{h} is outside 1-{MAX_TTL_HOURS}")));
            }
        }
    }
}

/// Why `t` is not a DynamoDB table name, if it is not.
pub(crate) fn table_name_problem(t: &str) -> Option<String> {
    let ok = (3..=255).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    (!ok).then(|| format!("`{t}` is not a DynamoDB table name (3-255 of [a-zA-Z0-9_.-])"))
}
