//! [`DryRun`]: a sender that plans and encodes every request exactly as the
//! destination would, sends nothing, and answers success for every entry.
//! [`crate::Fanout::dry_run`] wraps each destination in it when it builds the
//! senders, so the CPU-only path (benchmarks, `fanout-local bench`, what-if
//! runs) is the production path with the network taken out, and nothing in
//! the production path knows whether it is a dry run.

use crate::deliver::api::{BatchApi, Combined, ItemResult, Prepared, Purpose};
use crate::error::ItemError;
use crate::pack::Limits;
use crate::record::Record;

/// `D` with its `send` replaced by an encode and a success per entry.
#[derive(Debug)]
pub struct DryRun<D>(pub D);

impl<D: BatchApi> BatchApi for DryRun<D> {
    type Entry = D::Entry;
    type Request = D::Request;

    fn limits(&self) -> Limits {
        self.0.limits()
    }

    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<Self::Entry>>) -> Result<(), ItemError> {
        self.0.prepare(record, purpose, out)
    }

    fn pack(&self, items: &[&Prepared<Self::Entry>]) -> Vec<Vec<usize>> {
        self.0.pack(items)
    }

    fn lower_bound(&self, items: &[&Prepared<Self::Entry>]) -> usize {
        self.0.lower_bound(items)
    }

    fn combine(&self, items: &[Prepared<Self::Entry>]) -> Option<Vec<Combined<Self::Entry>>> {
        self.0.combine(items)
    }

    fn billing_unit(&self) -> Option<usize> {
        self.0.billing_unit()
    }

    fn order_key<'e>(&self, entry: &'e Self::Entry) -> Option<&'e str> {
        self.0.order_key(entry)
    }

    fn encode(&self, batch: &[&Self::Entry]) -> Result<Self::Request, ItemError> {
        self.0.encode(batch)
    }

    async fn send(&self, batch: &[&Self::Entry]) -> Result<Vec<ItemResult>, ItemError> {
        std::hint::black_box(self.0.encode(batch)?);
        Ok(vec![Ok(()); batch.len()])
    }
}
