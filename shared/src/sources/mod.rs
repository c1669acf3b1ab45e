//! Sources: one module per event kind, each decoding its event into
//! [`crate::record::Record`]s and turning a [`crate::fanout::Report`] into the
//! answer that source expects.

pub mod http;
pub mod iot;
pub mod kinesis;
pub mod kpl;
mod loose;
pub mod sqs;

pub use loose::Problem;

use crate::error::ItemError;
use crate::record::Record;
use crate::report::Report;

/// The error code of a record that its source cannot decode (a field of the
/// wrong type, `data` that is not base64, ...): a permanent failure of that
/// record alone, dead-lettered with the reason when `dead_letter` is set.
pub const INVALID_RECORD: &str = "InvalidRecord";

/// What a source decoded from one event: every record it holds, in event
/// order, and the ones that could not be decoded (index into `records`, a
/// permanent error naming the field and the rule). A record that cannot be
/// decoded is still in `records`, with what could be read of it, so that it
/// can be dead-lettered or reported by its identifier.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The records.
    pub records: Vec<Record>,
    /// The records that could not be decoded, by index.
    pub rejects: Vec<(u32, ItemError)>,
}

impl Decoded {
    /// The records and the rejects.
    pub fn into_parts(self) -> (Vec<Record>, Vec<(u32, ItemError)>) {
        (self.records, self.rejects)
    }
}

/// The source ids of the failed records, in batch order, each once (KPL
/// sub-records share their parent's), for a partial batch response. `Err`
/// holds the index of a failed record with an empty id: such a record cannot
/// be named, so the source must fail the whole batch instead.
pub(crate) fn failed_ids<'a>(records: &'a [Record], report: &Report) -> Result<Vec<&'a str>, usize> {
    let mut ids: Vec<&str> = Vec::new();
    for index in report.failed() {
        let id = records[index].id.source_id.as_str();
        if id.is_empty() {
            return Err(index);
        }
        if ids.last() != Some(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}
