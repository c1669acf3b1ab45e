//! Delivery that keeps order per key (SQS and SNS FIFO message groups).
//!
//! A batch API does not keep order inside a request when an entry fails: the
//! entries after it in the same group can succeed and overtake it (SQS and
//! SNS FIFO enqueue a batch in request order per group, and a failed entry
//! leaves a gap). So no request ever carries two entries of one key, and a
//! key's next entry is sent only once the one before it has an answer:
//!
//! - each round sends the first pending item of every key, packed and all in
//!   flight at once (items of different keys share requests freely);
//! - an item the destination accepted or refused for good (it is
//!   dead-lettered) lets its key's next item go in the next round;
//! - a transient failure is resent after its own backoff (the other keys go
//!   on meanwhile), ahead of the rest of its key; once it has spent its
//!   attempts (or its next try would come after the deadline), it is
//!   reported failed and every later item of its key is held back: reported
//!   failed without being sent, so the source retries them after it, in order.
//!
//! The cost is latency: a key with `n` items takes `n` rounds. A round sends
//! every ready key at once instead of waiting to fill requests, so the
//! requests reach the lower bound reported here, `max(fewest by the limits,
//! longest key)`, when the keys are of even length, and may exceed it when
//! they are not (11 keys of one item and one of two take 3 requests of 10).

use super::api::{BatchApi, Prepared};
use super::{send_round, ItemOutcome, RetryPolicy, SendStats};
use crate::error::ItemError;
use crate::pace::Pacer;
use std::collections::{HashMap, VecDeque};
use tokio::time::Instant;

/// The error of an item held back behind a failed item of its key.
pub fn held_back(key: &str, cause: &ItemError) -> ItemError {
    ItemError::transient("HeldBack", format!("not sent: an earlier record of `{key}` failed ({}), and this one may not overtake it", cause.code))
}

/// Deliver `items` keeping, for each [`BatchApi::order_key`], the order of
/// the items (items without a key are each their own key). One outcome per
/// item, in order.
pub async fn deliver_ordered<D: BatchApi>(
    dest: &D,
    items: &[Prepared<D::Entry>],
    policy: &RetryPolicy,
    pacer: Option<&Pacer>,
    deadline: Instant,
) -> (Vec<ItemOutcome>, SendStats) {
    let mut queues: Vec<VecDeque<usize>> = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let queue = match dest.order_key(&item.entry) {
            Some(key) => *by_key.entry(key).or_insert_with(|| {
                queues.push(VecDeque::new());
                queues.len() - 1
            }),
            None => {
                queues.push(VecDeque::new());
                queues.len() - 1
            }
        };
        queues[queue].push_back(i);
    }
    let mut stats = SendStats::default();
    let all: Vec<&Prepared<D::Entry>> = items.iter().collect();
    let longest = queues.iter().map(VecDeque::len).max().unwrap_or(0);
    stats.requests_lower_bound = dest.lower_bound(&all).max(longest) as u64;

    let mut outcomes: Vec<Option<ItemOutcome>> = vec![None; items.len()];
    let mut attempts = vec![0u32; items.len()];
    // When each key's head may be sent: now, or after its own backoff.
    let mut ready_at: Vec<Instant> = vec![Instant::now(); queues.len()];
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let ready: Vec<usize> = (0..queues.len()).filter(|&q| !queues[q].is_empty() && ready_at[q] <= now).collect();
        if ready.is_empty() {
            // Nothing to send now: wait for the first key whose backoff ends, if it ends in time.
            match (0..queues.len()).filter(|&q| !queues[q].is_empty()).map(|q| ready_at[q]).min() {
                None => break,
                Some(next) if next >= deadline => break,
                Some(next) => {
                    tokio::time::sleep_until(next).await;
                    continue;
                }
            }
        }
        let heads: Vec<usize> = ready.iter().filter_map(|&q| queues[q].front().copied()).collect();
        stats.retried += heads.iter().filter(|&&h| attempts[h] > 0).count() as u64;
        let mut answer_of: HashMap<usize, Result<(), ItemError>> =
            send_round(dest, items, &heads, policy, pacer, deadline, &mut stats).await.into_iter().collect();
        for &q in &ready {
            let queue = &mut queues[q];
            let Some(&head) = queue.front() else { continue };
            let Some(result) = answer_of.remove(&head) else { continue };
            attempts[head] += 1;
            match result {
                Ok(()) => {
                    outcomes[head] = Some(ItemOutcome::Delivered);
                    queue.pop_front();
                }
                Err(e) if !e.is_transient() => {
                    outcomes[head] = Some(ItemOutcome::Rejected(e));
                    queue.pop_front();
                }
                Err(e) if attempts[head] >= policy.max_attempts => give_up(dest, items, queue, &mut outcomes, e),
                Err(e) => {
                    // Only this key waits: the others go on in the next round.
                    outcomes[head] = Some(ItemOutcome::Failed(e));
                    ready_at[q] = Instant::now() + policy.backoff(attempts[head]);
                }
            }
        }
    }
    // The deadline (or a backoff ending past it): a key whose head failed holds the rest back; a key whose head was never answered was not sent.
    for queue in &mut queues {
        match queue.front().and_then(|&head| match &outcomes[head] {
            Some(ItemOutcome::Failed(e)) => Some(e.clone()),
            _ => None,
        }) {
            Some(e) => give_up(dest, items, queue, &mut outcomes, e),
            None => queue.clear(),
        }
    }
    let outcomes = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| ItemOutcome::Failed(ItemError::deadline("not sent before the invocation deadline"))))
        .collect();
    (outcomes, stats)
}

/// The queue's head failed for good: report it, and hold back the rest of its key.
fn give_up<D: BatchApi>(dest: &D, items: &[Prepared<D::Entry>], queue: &mut VecDeque<usize>, outcomes: &mut [Option<ItemOutcome>], cause: ItemError) {
    let Some(head) = queue.pop_front() else { return };
    let key = dest.order_key(&items[head].entry).unwrap_or_default();
    for later in queue.drain(..) {
        outcomes[later] = Some(ItemOutcome::Failed(held_back(key, &cause)));
    }
    outcomes[head] = Some(ItemOutcome::Failed(cause));
}
