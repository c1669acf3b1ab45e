//! Sources: one module per event kind, each decoding its event into
//! [`crate::record::Record`]s and turning a [`crate::fanout::Report`] into the
//! answer that source expects.

pub mod http;
pub mod iot;
pub mod kinesis;
pub mod kpl;
pub mod sqs;

use crate::fanout::Report;
use crate::record::Record;

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
