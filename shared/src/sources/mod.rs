//! Sources: one module per event kind, each decoding its event into
//! [`crate::record::Record`]s and turning a [`crate::report::Report`] into the
//! answer that source expects.

pub mod dynamodb;
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

/// A failed record that the partial-batch answer cannot name (it has no id),
/// so the source fails the whole batch and Lambda retries all of it. Shared by
/// the sources that answer with `batchItemFailures` (Kinesis, SQS).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{noun} {index} failed ({reason}) but has no {id_field} to report; failing the whole batch so Lambda retries it")]
pub struct UnreportableRecord {
    /// What the source calls its records (`record`, `message`).
    pub noun: &'static str,
    /// Its position in the batch.
    pub index: usize,
    /// The field that would have named it (`sequence number`, `messageId`).
    pub id_field: &'static str,
    /// Why it failed: `destination: code: message`.
    pub reason: String,
}

impl UnreportableRecord {
    /// Record `index` of a batch of `noun`s named by `id_field`.
    pub(crate) fn new(noun: &'static str, index: usize, id_field: &'static str, report: &Report) -> Self {
        Self { noun, index, id_field, reason: report.first_error(index) }
    }
}

/// The `errorType` Lambda shows for a handler error: a stable name per kind
/// of failure, which on-failure destinations, Step Functions retriers and log
/// queries can match. Each handler error converts into a
/// [`lambda_runtime::Diagnostic`] with it, and the local runner prints the same.
pub trait ErrorType: std::fmt::Display {
    /// The name.
    fn error_type(&self) -> &'static str;

    /// What the function answers Lambda with.
    fn diagnostic(&self) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic { error_type: self.error_type().to_owned(), error_message: self.to_string() }
    }
}

/// `impl From<$error> for Diagnostic` through [`ErrorType`].
macro_rules! into_diagnostic {
    ($error:ty) => {
        impl From<$error> for lambda_runtime::Diagnostic {
            fn from(error: $error) -> Self {
                $crate::sources::ErrorType::diagnostic(&error)
            }
        }
    };
}
pub(crate) use into_diagnostic;

/// The answer of a stream source (Kinesis, DynamoDB Streams) to Lambda:
/// the sequence number of every failed record, once, in batch order (KPL
/// sub-records name their parent's). Lambda checkpoints before the lowest
/// one and replays the shard from there, so every record after it comes
/// again: naming each failed record (not only the first) costs nothing and
/// keeps the answer true if Lambda ever reads more of it. A failed record
/// with no sequence number cannot be named, so the whole batch fails
/// instead ([`UnreportableRecord`]); never a null or empty identifier.
pub(crate) fn failed_sequence_numbers<'a>(records: &'a [Record], report: &Report) -> Result<Vec<&'a str>, UnreportableRecord> {
    failed_ids(records, report).map_err(|index| UnreportableRecord::new("record", index, "sequence number", report))
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
