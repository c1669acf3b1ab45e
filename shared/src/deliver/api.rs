//! What the delivery engine asks of a batch API: [`BatchApi`], and the
//! entries and answers that pass between them. Each destination module
//! implements it for its sender; the engine ([`crate::deliver::deliver`]) is
//! generic over it and knows nothing of any one API.

use crate::error::ItemError;
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

/// Entries that became one ([`BatchApi::combine`]): the combined entry, and
/// the indices of the items it carries, in the order it carries them.
#[derive(Debug, Clone)]
pub struct Combined<E> {
    /// What is sent (a KPL aggregate, records packed into one).
    pub item: Prepared<E>,
    /// The items in it: each shares its outcome.
    pub members: Vec<u32>,
}

/// A batch API: how records become entries, entries become requests, and
/// requests are sent and answered item by item.
pub trait BatchApi: Send + Sync {
    /// What one request entry holds before it becomes an SDK type.
    type Entry: Send + Sync;
    /// What [`BatchApi::encode`] builds for one request.
    type Request: Send;

    /// The limits the packer must respect.
    fn limits(&self) -> Limits;

    /// Build the entries for one record (most APIs: one; SiteWise: one per
    /// value) and push them to `out`. Pure. An `Err` is permanent: the record
    /// breaks a rule of this API and none of its entries is sent (the caller
    /// discards anything pushed before the error).
    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<Self::Entry>>) -> Result<(), ItemError>;

    /// Group items into requests. The default packs by count and bytes with
    /// [`crate::pack::pack`]; destinations whose requests have more structure
    /// (SiteWise: values grouped into entries) override it. Returns indices
    /// into `items`; every index must appear in exactly one batch.
    fn pack(&self, items: &[&Prepared<Self::Entry>]) -> Vec<Vec<usize>> {
        let sizes: Vec<usize> = items.iter().map(|i| i.size).collect();
        crate::pack::pack(&sizes, &self.limits())
    }

    /// The fewest requests the API's limits allow for `items`, the figure
    /// [`BatchApi::pack`] is measured against. The default bounds by count
    /// and bytes ([`Limits::lower_bound`]).
    fn lower_bound(&self, items: &[&Prepared<Self::Entry>]) -> usize {
        self.limits().lower_bound(items.iter().map(|i| i.size))
    }

    /// Combine items into fewer entries before they are packed into requests
    /// (KPL aggregation, Firehose packing); `None`, the default: each item
    /// is an entry of its own. Every index appears in exactly one
    /// [`Combined::members`]; a combined entry succeeds or fails whole, and
    /// is retried whole. Pure.
    fn combine(&self, _items: &[Prepared<Self::Entry>]) -> Option<Vec<Combined<Self::Entry>>> {
        None
    }

    /// The size of the unit the service bills each entry by (Kinesis: a 25 KiB
    /// PUT payload unit; Firehose: 5 KiB of ingestion), for
    /// [`crate::deliver::SendStats::billed_units`]; `None`: not counted.
    fn billing_unit(&self) -> Option<usize> {
        None
    }

    /// The key whose order the destination keeps for `entry` (a FIFO message
    /// group): the engine never lets an entry overtake an earlier entry of
    /// its key ([`crate::deliver::ordered`]). `None`, the default: no order.
    fn order_key<'e>(&self, _entry: &'e Self::Entry) -> Option<&'e str> {
        None
    }

    /// The request's entries as SDK types: what [`BatchApi::send`] sends
    /// for this batch, built without sending. Pure; an `Err` is a whole-request
    /// failure (an SDK builder refused a value).
    fn encode(&self, batch: &[&Self::Entry]) -> Result<Self::Request, ItemError>;

    /// Send one request. `Ok` holds exactly one result per entry, in order;
    /// `Err` means the whole request failed and every entry shares the error.
    fn send(&self, batch: &[&Self::Entry]) -> impl Future<Output = Result<Vec<ItemResult>, ItemError>> + Send;
}
