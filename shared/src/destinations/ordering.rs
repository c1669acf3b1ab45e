//! `ordering: per_key`: a destination that keeps source order per key
//! (Kinesis partition key, detector key; SQS and SNS FIFO message groups
//! always do). Delivered by [`crate::deliver::ordered`]: no request carries
//! two records of one key, a key's next record goes only once the one before
//! it has an answer, and a record that gives up holds back the later records
//! of its key (reported failed, `HeldBack`, so the source retries them after
//! it, in order). docs/delivery.md says what each API guarantees and what
//! this adds.

use crate::validation::{problem, Problem};
use serde::Deserialize;

/// What order a destination keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ordering {
    /// Source order per key.
    PerKey,
}

/// Whether `ordering` asks for order per key.
pub fn per_key(ordering: Option<Ordering>) -> bool {
    ordering == Some(Ordering::PerKey)
}

/// `ordering: per_key` on a standard SQS queue or SNS topic: they keep no
/// order a sender could rely on (FIFO ones always keep it per group).
pub fn check_fifo_only(problems: &mut Vec<Problem>, place: &str, ordering: Option<Ordering>, is_fifo: bool, what: &str) {
    if per_key(ordering) && !is_fifo {
        problems.push(problem(
            &format!("{place}.ordering"),
            &format!("a standard {what} keeps no order: use a FIFO {what} (name ending in .fifo), which keeps order per message group by itself"),
        ));
    }
}
