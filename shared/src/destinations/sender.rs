//! [`Sender`]: the one object-safe face every destination shows the router.
//! Records go in; one outcome per record comes out, after the destination's
//! `prepare`, the packer and the delivery engine have done their work. Any
//! [`BatchApi`] is a `Sender`, so a destination module never implements this
//! itself.

use crate::deliver::api::{BatchApi, Prepared, Purpose};
use crate::deliver::{ItemOutcome, RetryPolicy, SendStats};
use crate::pace::Pacer;
use crate::record::Record;
use std::future::Future;
use std::pin::Pin;
use tokio::time::Instant;

/// The future [`Sender::deliver`] returns: one per destination per invocation.
pub type Delivery<'a> = Pin<Box<dyn Future<Output = (Vec<ItemOutcome>, SendStats)> + Send + 'a>>;

/// A destination the router can deliver to, whatever its API.
pub trait Sender: Send + Sync + std::fmt::Debug {
    /// Prepare `records` and deliver them; one outcome per record, in order.
    ///
    /// A record whose `prepare` fails is `Rejected` without being sent. A
    /// record that becomes several items is `Rejected` if any item was,
    /// else `Failed` if any item failed, else `Delivered`. A record that
    /// becomes no item (a transform with no output) is `Delivered` and
    /// counted in [`SendStats::filtered`]. Items the destination combines
    /// ([`BatchApi::combine`]) share the combined entry's outcome.
    fn deliver<'a>(
        &'a self,
        records: &'a [&'a Record],
        purpose: Purpose,
        policy: &'a RetryPolicy,
        pacer: Option<&'a Pacer>,
        deadline: Instant,
    ) -> Delivery<'a>;
}

impl<D: BatchApi + std::fmt::Debug> Sender for D {
    fn deliver<'a>(
        &'a self,
        records: &'a [&'a Record],
        purpose: Purpose,
        policy: &'a RetryPolicy,
        pacer: Option<&'a Pacer>,
        deadline: Instant,
    ) -> Delivery<'a> {
        Box::pin(prepare_and_deliver(self, records, purpose, policy, pacer, deadline))
    }
}

async fn prepare_and_deliver<D: BatchApi>(
    dest: &D,
    records: &[&Record],
    purpose: Purpose,
    policy: &RetryPolicy,
    pacer: Option<&Pacer>,
    deadline: Instant,
) -> (Vec<ItemOutcome>, SendStats) {
    let mut outcomes = vec![ItemOutcome::Delivered; records.len()];
    let mut items = Vec::with_capacity(records.len());
    let mut owner: Vec<u32> = Vec::with_capacity(records.len());
    let mut filtered = 0;
    for (index, record) in records.iter().enumerate() {
        let before = items.len();
        match dest.prepare(record, purpose, &mut items) {
            Ok(()) if items.len() == before => filtered += 1,
            Ok(()) => owner.resize(items.len(), index as u32),
            Err(e) => {
                items.truncate(before);
                outcomes[index] = ItemOutcome::Rejected(e);
            }
        }
    }
    let mut merge = |item: u32, outcome: ItemOutcome| {
        let slot = &mut outcomes[owner[item as usize] as usize];
        *slot = match (&*slot, outcome) {
            (ItemOutcome::Rejected(_), _) => return,
            (_, rejected @ ItemOutcome::Rejected(_)) => rejected,
            (ItemOutcome::Failed(_), _) => return,
            (_, other) => other,
        };
    };
    let mut stats = match dest.combine(&items) {
        None => {
            let (item_outcomes, stats) = crate::deliver::deliver(dest, &items, policy, pacer, deadline).await;
            for (item, outcome) in item_outcomes.into_iter().enumerate() {
                merge(item as u32, outcome);
            }
            stats
        }
        Some(combined) => {
            // Each combined entry's outcome is every member's.
            let (members, entries): (Vec<Vec<u32>>, Vec<Prepared<D::Entry>>) = combined.into_iter().map(|c| (c.members, c.item)).unzip();
            let (entry_outcomes, stats) = crate::deliver::deliver(dest, &entries, policy, pacer, deadline).await;
            for (members, outcome) in members.into_iter().zip(entry_outcomes) {
                for item in members {
                    merge(item, outcome.clone());
                }
            }
            stats
        }
    };
    stats.filtered = filtered;
    (outcomes, stats)
}
