//! SiteWise entry grouping: values of one property are grouped into entries
//! of at most 10 values with distinct timestamps (so an error's timestamps
//! name exactly one value), and the fewest entries any grouping can use.

use super::values::{PropertyRef, SitewiseValue};
use super::MAX_VALUES_PER_ENTRY;
use std::collections::HashMap;

/// Group values into entries: one property each, at most 10 values, distinct
/// (seconds, nanos) within an entry. Returns value indices per entry, in
/// order of first appearance. Deterministic, so `send` rebuilds the same
/// entries that `pack` planned.
pub fn group_entries<'a>(values: impl Iterator<Item = &'a SitewiseValue>) -> Vec<Vec<usize>> {
    let mut entries: Vec<Vec<usize>> = Vec::new();
    let mut stamps: Vec<Vec<(i64, i32)>> = Vec::new();
    let mut open: HashMap<&PropertyRef, Vec<usize>> = HashMap::new();
    for (i, v) in values.enumerate() {
        let stamp = (v.seconds, v.nanos);
        let candidates = open.entry(&v.property).or_default();
        match candidates.iter().copied().find(|&e| entries[e].len() < MAX_VALUES_PER_ENTRY && !stamps[e].contains(&stamp)) {
            Some(e) => {
                entries[e].push(i);
                stamps[e].push(stamp);
            }
            None => {
                candidates.push(entries.len());
                entries.push(vec![i]);
                stamps.push(vec![stamp]);
            }
        }
    }
    entries
}

/// The fewest entries any grouping can use: per property, at least
/// `ceil(values / 10)`, and at least as many as the values sharing one
/// timestamp (they cannot share an entry).
pub fn entries_lower_bound<'a>(values: impl Iterator<Item = &'a SitewiseValue>) -> usize {
    let mut keys: Vec<(&PropertyRef, i64, i32)> = values.map(|v| (&v.property, v.seconds, v.nanos)).collect();
    keys.sort_unstable();
    let mut entries = 0;
    for property in keys.chunk_by(|a, b| a.0 == b.0) {
        let most_at_one_stamp = property.chunk_by(|a, b| (a.1, a.2) == (b.1, b.2)).map(<[_]>::len).max().unwrap_or(0);
        entries += property.len().div_ceil(MAX_VALUES_PER_ENTRY).max(most_at_one_stamp);
    }
    entries
}
