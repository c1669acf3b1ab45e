//! Helpers every destination module uses to build entries and read answers:
//! deterministic message ids, the item size check, and the two ways a batch
//! API answers per entry (by position, by id).

use crate::deliver::api::ItemResult;
use crate::error::{ErrorClass, ItemError};
use crate::pack::Limits;

/// Map a positional per-entry response (`RequestResponses[i]`, `Records[i]`)
/// back to the sent entries. A response of another length than the request
/// is treated as a transient whole-request failure, never guessed at.
pub fn map_positional<'a>(
    api: &str,
    sent: usize,
    entries: impl ExactSizeIterator<Item = (Option<&'a str>, Option<&'a str>)>,
    classify: fn(&str) -> ErrorClass,
) -> Result<Vec<ItemResult>, ItemError> {
    if entries.len() != sent {
        return Err(ItemError::bad_response(format!("{api} answered {} entries for {sent} sent", entries.len())));
    }
    Ok(entries
        .map(|(code, message)| match code {
            None => Ok(()),
            Some(code) => Err(ItemError { code: code.to_owned(), message: message.unwrap_or_default().to_owned(), class: classify(code) }),
        })
        .collect())
}

/// A message id derived from the record's identity, so a record keeps its id
/// on every resend: the id itself when it fits `[a-zA-Z0-9_-]{1,max_len}`
/// (a KPL sub-sequence's `#` becomes `-`), else `h` and a 64-bit FNV-1a hash
/// of it in hex. Ids are unique within an invocation, so within each request.
pub fn message_id(id: &crate::record::RecordId, max_len: usize) -> String {
    let text = match id.sub_sequence {
        Some(sub) => format!("{}-{sub}", id.source_id),
        None => id.source_id.clone(),
    };
    if !text.is_empty() && text.len() <= max_len && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return text;
    }
    hashed_id(&text)
}

/// `h` and the 64-bit FNV-1a hash of `text` in hex: a stable stand-in for an
/// identifier that breaks an API's id rules (17 characters of `[a-z0-9]`).
pub fn hashed_id(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("h{hash:016x}")
}

/// Map per-entry errors keyed by id (IoT Analytics, IoT Events) back to the
/// sent entries; an entry not named in the errors succeeded.
pub fn map_by_id<'a>(
    sent_ids: impl Iterator<Item = &'a str>,
    errors: impl Iterator<Item = (Option<&'a str>, Option<&'a str>, Option<&'a str>)>,
    classify: fn(&str) -> ErrorClass,
) -> Vec<ItemResult> {
    let errors: std::collections::HashMap<&str, (&str, &str)> =
        errors.filter_map(|(id, code, message)| Some((id?, (code.unwrap_or("UnknownError"), message.unwrap_or_default())))).collect();
    sent_ids
        .map(|id| match errors.get(id) {
            None => Ok(()),
            Some((code, message)) => Err(ItemError { code: (*code).to_owned(), message: (*message).to_owned(), class: classify(code) }),
        })
        .collect()
}

/// Map an answer that lists every entry by `Id` in a successful or a failed
/// list (SQS `SendMessageBatch`, SNS `PublishBatch`) back to the sent
/// entries. An id named in neither list is a transient failure: its fate is
/// unknown, so it is resent, never assumed delivered.
pub fn map_listed<'a>(
    api: &str,
    sent_ids: impl Iterator<Item = &'a str>,
    successful: impl Iterator<Item = &'a str>,
    failed: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)>,
    classify: fn(&str) -> ErrorClass,
) -> Vec<ItemResult> {
    let failed: std::collections::HashMap<&str, (&str, &str)> = failed.map(|(id, code, message)| (id, (code, message.unwrap_or_default()))).collect();
    let succeeded: std::collections::HashSet<&str> = successful.collect();
    sent_ids
        .map(|id| match failed.get(id) {
            Some((code, message)) => Err(ItemError { code: (*code).to_owned(), message: (*message).to_owned(), class: classify(code) }),
            None if succeeded.contains(id) => Ok(()),
            None => Err(ItemError::bad_response(format!("{api} did not answer for entry `{id}`"))),
        })
        .collect()
}

/// Reject a record whose prepared size exceeds the destination's item limit.
pub fn check_size(size: usize, limits: &Limits, api: &str, what: &str) -> Result<(), ItemError> {
    if size > limits.max_item_bytes {
        return Err(ItemError::permanent(
            "RecordTooLarge",
            format!("{what} is {size} bytes, above the {api} limit of {} bytes", limits.max_item_bytes),
        ));
    }
    Ok(())
}
