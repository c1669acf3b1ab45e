//! SiteWise on the wire: values as SDK entries, the answer's error entries
//! back to one result per value, and how error codes are classified.

use super::values::{PropertyRef, SitewiseValue, SitewiseVariant};
use crate::deliver::api::ItemResult;
use crate::error::{classify_code, ErrorClass, ItemError};
use aws_sdk_iotsitewise::types::{AssetPropertyValue, PutAssetPropertyValueEntry, Quality, TimeInNanos, Variant};

/// Classify an `errorEntries[].errors[].errorCode`. Of the nine codes the
/// API model lists, invalid request, not found, timestamp out of range and
/// access denied are permanent; conflicting operations, throttling, limits,
/// internal failures and unavailability are transient. A code the model does
/// not list is transient, as at every other destination: it is retried
/// within the attempt budget and then reported, not dead-lettered on a guess.
pub fn classify_item_code(code: &str) -> ErrorClass {
    match code {
        "InvalidRequestException" | "ResourceNotFoundException" | "TimestampOutOfRangeException" | "AccessDeniedException" => ErrorClass::Permanent,
        "ConflictingOperationException" => ErrorClass::Transient,
        other => classify_code(other).unwrap_or(ErrorClass::Transient),
    }
}

/// Map a response to one result per sent value. `entries` are the value
/// indices per entry as sent (entry `k` had id `e{k}`). A value named in an
/// error's timestamps gets that error; with partial processing off, the other
/// values of an entry that had errors were not ingested and are transient
/// failures (they succeed when resent without the bad value).
pub fn map_response(
    output: &aws_sdk_iotsitewise::operation::batch_put_asset_property_value::BatchPutAssetPropertyValueOutput,
    batch: &[&SitewiseValue],
    entries: &[Vec<usize>],
    partial: bool,
) -> Result<Vec<ItemResult>, ItemError> {
    let mut results: Vec<ItemResult> = vec![Ok(()); batch.len()];
    // Per value: named by an error. Per entry: had an error entry. Both are
    // judged over the whole answer, so an entry named by two error entries
    // keeps every value's own error.
    let mut named = vec![false; batch.len()];
    let mut failed_entries: Vec<&Vec<usize>> = Vec::new();
    for error_entry in output.error_entries() {
        let id = error_entry.entry_id();
        let entry = id
            .strip_prefix('e')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|k| entries.get(k))
            .ok_or_else(|| ItemError::bad_response(format!("errorEntries names entry `{id}`, which was not sent")))?;
        failed_entries.push(entry);
        for error in error_entry.errors() {
            let code = error.error_code().as_str();
            for ts in error.timestamps() {
                let stamp = (ts.time_in_seconds(), ts.offset_in_nanos().unwrap_or(0));
                if let Some(&i) = entry.iter().find(|&&i| (batch[i].seconds, batch[i].nanos) == stamp) {
                    named[i] = true;
                    results[i] = Err(ItemError { code: code.to_owned(), message: error.error_message().to_owned(), class: classify_item_code(code) });
                }
            }
        }
    }
    if !partial {
        for &i in failed_entries.into_iter().flatten() {
            if !named[i] {
                results[i] =
                    Err(ItemError::transient("EntryNotIngested", "another value of the same entry failed and enablePartialEntryProcessing is false"));
            }
        }
    }
    Ok(results)
}

/// One SDK entry with id `entry_id` holding `values` (all of one property).
pub fn to_sdk<'a>(entry_id: String, values: impl Iterator<Item = &'a SitewiseValue>) -> Result<PutAssetPropertyValueEntry, ItemError> {
    let mut entry = PutAssetPropertyValueEntry::builder().entry_id(entry_id);
    let mut values = values.peekable();
    entry = match values.peek().map(|v| &v.property) {
        Some(PropertyRef::Alias(a)) => entry.property_alias(a),
        Some(PropertyRef::Ids { asset, property }) => entry.asset_id(asset).property_id(property),
        None => entry,
    };
    for v in values {
        let variant = match &v.value {
            SitewiseVariant::Double(d) => Variant::builder().double_value(*d),
            SitewiseVariant::Integer(i) => Variant::builder().integer_value(*i),
            SitewiseVariant::String(s) => Variant::builder().string_value(s),
            SitewiseVariant::Boolean(b) => Variant::builder().boolean_value(*b),
        }
        .build();
        let ts = TimeInNanos::builder().time_in_seconds(v.seconds).offset_in_nanos(v.nanos).build().map_err(ItemError::construction)?;
        entry = entry.property_values(AssetPropertyValue::builder().value(variant).timestamp(ts).quality(Quality::from(v.quality)).build());
    }
    entry.build().map_err(ItemError::construction)
}
