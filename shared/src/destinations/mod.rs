//! Destinations: one module per batch API, all of the same shape.
//!
//! Each module holds the API's limits as named constants, a pure `prepare`
//! that turns a record into a sized entry (or a permanent error naming the
//! rule), a thin `send` over the SDK client, and a pure function from the
//! response to one result per sent entry. The delivery engine
//! ([`crate::deliver`]) is generic over [`Destination`] and knows nothing of
//! any one API.

pub mod firehose;
pub mod kinesis;

use crate::error::{ErrorClass, ItemError, RequestError};
use crate::pack::Limits;
use crate::record::Record;
use std::future::Future;

/// An entry ready for a destination, with its size in the API's own measure.
#[derive(Debug, Clone)]
pub struct Prepared<E> {
    /// The entry.
    pub entry: E,
    /// The bytes it counts against the item and request limits.
    pub size: usize,
}

/// Why a record is being prepared: routed records follow the destination's
/// mapping; dead-letter envelopes are sent as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A record a route sent here.
    Route,
    /// A dead-letter envelope (its payload is the envelope, not the record's).
    DeadLetter,
}

/// The result of one entry in a request that the service answered.
pub type ItemResult = Result<(), ItemError>;

/// A batch API.
pub trait Destination: Send + Sync {
    /// What one request entry holds before it becomes an SDK type.
    type Entry: Send + Sync;

    /// The limits the packer must respect.
    fn limits(&self) -> Limits;

    /// Build the entries for one record (most APIs: one; SiteWise: one per
    /// value) and push them to `out`. Pure. An `Err` is permanent: the record
    /// breaks a rule of this API and none of its entries is sent (the caller
    /// discards anything pushed before the error).
    fn prepare(
        &self,
        record: &Record,
        purpose: Purpose,
        out: &mut Vec<Prepared<Self::Entry>>,
    ) -> Result<(), ItemError>;

    /// Send one request. `Ok` holds exactly one result per entry, in order;
    /// `Err` means the whole request failed and every entry shares the error.
    fn send(
        &self,
        batch: &[&Self::Entry],
    ) -> impl Future<Output = Result<Vec<ItemResult>, RequestError>> + Send;
}

/// Map a positional per-entry response (`RequestResponses[i]`, `Records[i]`)
/// back to the sent entries. A response of another length than the request
/// is treated as a transient whole-request failure, never guessed at.
pub(crate) fn map_positional<'a>(
    api: &str,
    sent: usize,
    entries: impl ExactSizeIterator<Item = (Option<&'a str>, Option<&'a str>)>,
    classify: fn(&str) -> ErrorClass,
) -> Result<Vec<ItemResult>, RequestError> {
    if entries.len() != sent {
        return Err(RequestError::bad_response(format!(
            "{api} answered {} entries for {sent} sent",
            entries.len()
        )));
    }
    Ok(entries
        .map(|(code, message)| match code {
            None => Ok(()),
            Some(code) => Err(ItemError {
                code: code.to_owned(),
                message: message.unwrap_or_default().to_owned(),
                class: classify(code),
            }),
        })
        .collect())
}

/// Reject a record whose prepared size exceeds the destination's item limit.
pub(crate) fn check_size(
    size: usize,
    limits: &Limits,
    api: &str,
    what: &str,
) -> Result<(), ItemError> {
    if size > limits.max_item_bytes {
        return Err(ItemError::permanent(
            "RecordTooLarge",
            format!(
                "{what} is {size} bytes, above the {api} limit of {} bytes",
                limits.max_item_bytes
            ),
        ));
    }
    Ok(())
}

/// Every destination type, for the registry built from the config.
#[derive(Debug, Clone)]
pub enum AnyDestination {
    /// `type: firehose`.
    Firehose(firehose::Firehose),
    /// `type: kinesis`.
    Kinesis(kinesis::Kinesis),
}

/// The final state of one record at one destination, from its items.
pub use crate::deliver::ItemOutcome;

impl AnyDestination {
    /// Prepare `records` and deliver them; one outcome per record, in order.
    ///
    /// A record whose `prepare` fails is `Rejected` without being sent. A
    /// record that becomes several items is `Rejected` if any item was,
    /// else `Failed` if any item failed, else `Delivered`.
    pub async fn deliver(
        &self,
        records: &[&crate::record::Record],
        purpose: Purpose,
        policy: &crate::deliver::RetryPolicy,
        deadline: tokio::time::Instant,
    ) -> (Vec<ItemOutcome>, crate::deliver::SendStats) {
        match self {
            AnyDestination::Firehose(d) => {
                prepare_and_deliver(d, records, purpose, policy, deadline).await
            }
            AnyDestination::Kinesis(d) => {
                prepare_and_deliver(d, records, purpose, policy, deadline).await
            }
        }
    }

    /// The packing limits.
    pub fn limits(&self) -> Limits {
        match self {
            AnyDestination::Firehose(d) => d.limits(),
            AnyDestination::Kinesis(d) => d.limits(),
        }
    }
}

async fn prepare_and_deliver<D: Destination>(
    dest: &D,
    records: &[&crate::record::Record],
    purpose: Purpose,
    policy: &crate::deliver::RetryPolicy,
    deadline: tokio::time::Instant,
) -> (Vec<ItemOutcome>, crate::deliver::SendStats) {
    let mut outcomes = vec![ItemOutcome::Delivered; records.len()];
    let mut items = Vec::with_capacity(records.len());
    let mut owner: Vec<u32> = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let before = items.len();
        match dest.prepare(record, purpose, &mut items) {
            Ok(()) => owner.resize(items.len(), index as u32),
            Err(e) => {
                items.truncate(before);
                outcomes[index] = ItemOutcome::Rejected(e);
            }
        }
    }
    let (item_outcomes, stats) = crate::deliver::deliver(dest, &items, policy, deadline).await;
    for (item, outcome) in item_outcomes.into_iter().enumerate() {
        let slot = &mut outcomes[owner[item] as usize];
        *slot = match (&*slot, outcome) {
            (ItemOutcome::Rejected(_), _) => continue,
            (_, rejected @ ItemOutcome::Rejected(_)) => rejected,
            (ItemOutcome::Failed(_), _) => continue,
            (_, other) => other,
        };
    }
    (outcomes, stats)
}
