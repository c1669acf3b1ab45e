//! [`Transformed`]: a destination with a `transform`. The registry wraps a
//! destination's sender in it when its config names one, so no destination
//! module knows about transforms.
//!
//! For each routed record the program runs on the record's view
//! ([`crate::transform::view`]), and each output becomes a record of its own
//! (the same identity, key and metadata, the output as payload) that the
//! destination prepares as usual:
//!
//! - no output (`empty`, `select(false)`): nothing is sent for the record
//!   and it counts as filtered at this destination, not failed;
//! - one output: one entry, as without a transform;
//! - several outputs: several entries; the record is delivered when all of
//!   them are, and one that fails fails the record (it is retried or
//!   reported as a whole, so a source retry may repeat outputs that had
//!   already been accepted);
//! - a runtime error, or more than [`crate::transform::MAX_OUTPUTS`]
//!   outputs: a permanent failure `TransformFailed` of the record at this
//!   destination, dead-lettered with jq's message.
//!
//! Dead-letter envelopes are sent as they are, never transformed.

use crate::deliver::api::{BatchApi, Combined, ItemResult, Prepared, Purpose};
use crate::error::ItemError;
use crate::pack::Limits;
use crate::projection::DataFields;
use crate::record::Record;
use crate::transform::{AttributesCache, Program};
use std::sync::Arc;

/// `D`, with each record's payload replaced by a program's outputs.
#[derive(Debug)]
pub struct Transformed<D> {
    inner: D,
    /// The compiled program, or why it did not compile (config validation
    /// reports that before any sender is built; a sender built anyway fails
    /// every record with the reason rather than sending untransformed data).
    program: Result<Program, String>,
    /// The batch's attributes, converted once.
    attributes: AttributesCache,
    /// The only top-level fields of an output that `inner` reads (its
    /// partition key, group id, ...), so an output's JSON view keeps only
    /// those ([`crate::projection`]); `None` when it reads all or none.
    output_fields: Option<Arc<[String]>>,
}

impl<D> Transformed<D> {
    /// `inner` with the program `code`; `reads` is what `inner` reads of a
    /// record's payload ([`crate::destinations::DestinationSpec::data_fields`]).
    pub fn new(inner: D, code: &str, reads: DataFields) -> Self {
        let output_fields = match reads {
            DataFields::Fields(names) => Some(names.into_iter().collect::<Vec<_>>().into()),
            DataFields::Unused | DataFields::Whole => None,
        };
        Self { inner, program: Program::compile(code), attributes: AttributesCache::default(), output_fields }
    }
}

impl<D: BatchApi> BatchApi for Transformed<D> {
    type Entry = D::Entry;
    type Request = D::Request;

    fn limits(&self) -> Limits {
        self.inner.limits()
    }

    fn prepare(&self, record: &Record, purpose: Purpose, out: &mut Vec<Prepared<Self::Entry>>) -> Result<(), ItemError> {
        if purpose == Purpose::DeadLetter {
            return self.inner.prepare(record, purpose, out);
        }
        let program = self.program.as_ref().map_err(|why| ItemError::permanent("TransformFailed", why.clone()))?;
        let outputs = program
            .outputs(record, &self.attributes)
            .map_err(|why| ItemError::permanent("TransformFailed", format!("the transform failed: {why}")))?;
        for output in outputs {
            let output = record.with_data(output);
            if let Some(fields) = &self.output_fields {
                output.project_json(fields);
            }
            self.inner.prepare(&output, purpose, out)?;
        }
        Ok(())
    }

    fn pack(&self, items: &[&Prepared<Self::Entry>]) -> Vec<Vec<usize>> {
        self.inner.pack(items)
    }

    fn lower_bound(&self, items: &[&Prepared<Self::Entry>]) -> usize {
        self.inner.lower_bound(items)
    }

    fn combine(&self, items: &[Prepared<Self::Entry>]) -> Option<Vec<Combined<Self::Entry>>> {
        self.inner.combine(items)
    }

    fn billing_unit(&self) -> Option<usize> {
        self.inner.billing_unit()
    }

    fn order_key<'e>(&self, entry: &'e Self::Entry) -> Option<&'e str> {
        self.inner.order_key(entry)
    }

    fn encode(&self, batch: &[&Self::Entry]) -> Result<Self::Request, ItemError> {
        self.inner.encode(batch)
    }

    async fn send(&self, batch: &[&Self::Entry]) -> Result<Vec<ItemResult>, ItemError> {
        self.inner.send(batch).await
    }
}
