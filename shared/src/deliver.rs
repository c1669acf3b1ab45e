//! The delivery engine, shared by every destination.
//!
//! One call delivers one destination's prepared items:
//! - items are packed into the fewest requests the limits allow and all of
//!   them are put in flight at once, at most `max_in_flight` at a time;
//! - a 200 is not success: per-item errors are read, and only the failed
//!   items are resent, re-packed together (fewer requests on each round);
//! - between rounds the engine waits a full-jitter exponential backoff;
//! - it stops when nothing is pending, when `max_attempts` rounds are spent,
//!   or when the next wait would cross the deadline. Requests still in flight
//!   at the deadline are abandoned and their items reported failed.
//!
//! The engine owns all retries: SDK clients are built with retries disabled
//! (see [`crate::clients`]), so whole-request errors and per-item errors are
//! retried by the same loop, under the same attempt budget and deadline.

pub mod api;
pub mod ordered;

use crate::error::ItemError;
use crate::pace::Pacer;
use api::{BatchApi, ItemResult, Prepared};
use futures_util::stream::{self, StreamExt};
use std::time::Duration;
use tokio::time::Instant;

/// One request's item indices and the service's answer to it.
type BatchAnswer = (Vec<usize>, Result<Vec<ItemResult>, ItemError>);

/// How a destination's items are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Rounds per item, the first send included.
    pub max_attempts: u32,
    /// Backoff base.
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
    /// Requests in flight at once.
    pub max_in_flight: usize,
}

impl RetryPolicy {
    /// The wait before round `round + 1` (rounds count from 1): a uniform draw
    /// from zero to `min(max_delay, base_delay * 2^(round - 1))` ("full jitter").
    pub fn backoff(&self, round: u32) -> Duration {
        let factor = 1u32.checked_shl(round.saturating_sub(1)).unwrap_or(u32::MAX);
        let cap = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

/// The final state of one prepared item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// The destination accepted it.
    Delivered,
    /// It never succeeded: a transient error outlasted the attempts or the deadline.
    Failed(ItemError),
    /// The destination refused it for good.
    Rejected(ItemError),
}

/// What the engine did for one destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SendStats {
    /// Requests sent (answered or not).
    pub requests: u64,
    /// Item sends, resends included.
    pub items_sent: u64,
    /// Bytes sent, resends included, in the API's measure.
    pub bytes: u64,
    /// Item resends.
    pub retried: u64,
    /// The fewest requests the API's limits allow for one send of every item
    /// (resends not counted): `requests` equals it when nothing failed.
    pub requests_lower_bound: u64,
    /// Item sends the service refused with a throttling code
    /// ([`crate::error::is_throttle_code`]); a throttled request counts each of its items.
    pub throttled: u64,
    /// Records that became no entry at all (a transform with no output):
    /// nothing was sent for them, and they count as delivered, not failed.
    pub filtered: u64,
    /// Records the source delivered again that this destination had already
    /// settled (the delivery ledger, [`crate::ledger`]): not sent again.
    pub already_settled: u64,
    /// Entries as the service bills them, resends included
    /// ([`api::BatchApi::billing_unit`]: each entry's size rounded up to
    /// whole units); 0 for services not counted.
    pub billed_units: u64,
}

impl std::ops::AddAssign<&SendStats> for SendStats {
    fn add_assign(&mut self, other: &SendStats) {
        self.requests += other.requests;
        self.items_sent += other.items_sent;
        self.bytes += other.bytes;
        self.retried += other.retried;
        self.requests_lower_bound += other.requests_lower_bound;
        self.throttled += other.throttled;
        self.filtered += other.filtered;
        self.already_settled += other.already_settled;
        self.billed_units += other.billed_units;
    }
}

/// Deliver `items` to `dest`; returns one outcome per item, in order.
///
/// With a `pacer`, each request waits for its slot under the destination's
/// rate limit first; a request whose slot comes after the deadline is not
/// sent and its items are reported failed (transient).
///
/// When the destination names an order key for its entries
/// ([`BatchApi::order_key`]), the items are delivered by
/// [`ordered::deliver_ordered`] instead, which keeps each key's order.
pub async fn deliver<D: BatchApi>(
    dest: &D,
    items: &[Prepared<D::Entry>],
    policy: &RetryPolicy,
    pacer: Option<&Pacer>,
    deadline: Instant,
) -> (Vec<ItemOutcome>, SendStats) {
    if items.iter().any(|i| dest.order_key(&i.entry).is_some()) {
        return ordered::deliver_ordered(dest, items, policy, pacer, deadline).await;
    }
    // `None`: not answered yet (no per-item error allocated up front).
    let mut outcomes: Vec<Option<ItemOutcome>> = vec![None; items.len()];
    let mut stats = SendStats::default();
    let mut pending: Vec<usize> = (0..items.len()).collect();
    let mut round = 0;
    while !pending.is_empty() && Instant::now() < deadline {
        round += 1;
        if round == 1 {
            let all: Vec<&Prepared<D::Entry>> = items.iter().collect();
            stats.requests_lower_bound = dest.lower_bound(&all) as u64;
        }
        let mut retry = Vec::new();
        for (i, result) in send_round(dest, items, &pending, policy, pacer, deadline, &mut stats).await {
            outcomes[i] = Some(match result {
                Ok(()) => ItemOutcome::Delivered,
                Err(e) if e.is_transient() => {
                    retry.push(i);
                    ItemOutcome::Failed(e)
                }
                Err(e) => ItemOutcome::Rejected(e),
            });
        }
        if retry.is_empty() || round >= policy.max_attempts {
            break;
        }
        let wait = policy.backoff(round);
        if Instant::now() + wait >= deadline {
            break;
        }
        tokio::time::sleep(wait).await;
        retry.sort_unstable();
        stats.retried += retry.len() as u64;
        pending = retry;
    }
    let outcomes = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| ItemOutcome::Failed(ItemError::deadline("not sent before the invocation deadline"))))
        .collect();
    (outcomes, stats)
}

/// Send the items at `indices` once: packed into requests, all in flight at
/// once (at most `max_in_flight`), each paced and cut off at the deadline.
/// Returns each item's index and its answer (a whole-request error is every
/// item's answer), and counts requests, item sends, bytes and throttles.
pub(crate) async fn send_round<D: BatchApi>(
    dest: &D,
    items: &[Prepared<D::Entry>],
    indices: &[usize],
    policy: &RetryPolicy,
    pacer: Option<&Pacer>,
    deadline: Instant,
    stats: &mut SendStats,
) -> Vec<(usize, ItemResult)> {
    let round_items: Vec<&Prepared<D::Entry>> = indices.iter().map(|&i| &items[i]).collect();
    let batches: Vec<Vec<usize>> = dest.pack(&round_items).into_iter().map(|b| b.into_iter().map(|j| indices[j]).collect()).collect();
    stats.requests += batches.len() as u64;
    stats.items_sent += indices.len() as u64;
    stats.bytes += round_items.iter().map(|i| i.size).sum::<usize>() as u64;
    if let Some(unit) = dest.billing_unit().filter(|u| *u > 0) {
        stats.billed_units += round_items.iter().map(|i| i.size.div_ceil(unit) as u64).sum::<u64>();
    }
    let answers: Vec<BatchAnswer> = stream::iter(batches)
        .map(|batch| async move {
            let entries: Vec<&D::Entry> = batch.iter().map(|&i| &items[i].entry).collect();
            let paced_send = async {
                if let Some(pacer) = pacer {
                    if !pacer.wait_before(batch.len(), batch.iter().map(|&i| items[i].size).sum(), deadline).await {
                        return Err(ItemError::deadline("the destination's rate limit had no slot for this request before the invocation deadline"));
                    }
                }
                dest.send(&entries).await
            };
            let answer = match tokio::time::timeout_at(deadline, paced_send).await {
                Ok(answer) => answer,
                Err(_) => Err(ItemError::deadline("the request was still waiting for its rate-limit slot or its answer at the invocation deadline")),
            };
            (batch, answer)
        })
        .buffer_unordered(policy.max_in_flight.max(1))
        .collect()
        .await;
    let mut results = Vec::with_capacity(indices.len());
    for (batch, answer) in answers {
        let answer = answer.and_then(|results| {
            if results.len() == batch.len() {
                Ok(results)
            } else {
                Err(ItemError::bad_response(format!("{} results for {} entries", results.len(), batch.len())))
            }
        });
        match answer {
            Ok(answered) => {
                for (&i, result) in batch.iter().zip(answered) {
                    if let Err(e) = &result {
                        stats.throttled += u64::from(crate::error::is_throttle_code(&e.code));
                    }
                    results.push((i, result));
                }
            }
            Err(e) => {
                if crate::error::is_throttle_code(&e.code) {
                    stats.throttled += batch.len() as u64;
                }
                results.extend(batch.iter().map(|&i| (i, Err(e.clone()))));
            }
        }
    }
    results
}

#[cfg(test)]
mod tests;
