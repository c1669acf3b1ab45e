//! The delivery ledger: which destinations already
//! settled which records (accepted them, or refused them for good and the
//! record was dead-lettered), so that a record the source delivers again
//! (Lambda's replays) is sent only where it has not been settled yet.
//!
//! - A record's **identity** is its source's: stream ARN, shard and sequence
//!   number (with the KPL sub-sequence) for Kinesis and DynamoDB Streams;
//!   queue ARN and message id for SQS; the item id an HTTP caller gave. IoT
//!   rule events and HTTP items without an id have none: the ledger does
//!   not apply to them (at-least-once, as without it).
//! - Records are grouped by **partition** (a shard, a queue). A partition
//!   with records that may come back is marked **pending**. An invocation
//!   reads the marker of its partitions (one small read, or none while this
//!   instance knows the partition clear), and only for a pending partition
//!   reads what its records settled.
//! - Writes happen only after an invocation with failures: what each record
//!   that may come back has settled so far, then the marker. A later
//!   invocation of the partition with no failure clears the marker.
//! - Two records of one batch that claim the same identity (a forged or
//!   broken event: a source never gives two records one) are read once and
//!   remembered as settled only where both settled, so that neither is
//!   skipped where the other was the one delivered (and the store never sees
//!   one key twice in a call, which DynamoDB refuses).
//! - The ledger never costs a record: when the store fails, the invocation
//!   delivers as without a ledger (duplicates, never a loss) and says so; a
//!   write that fails after delivery means a duplicate later.

pub mod config;
pub mod dynamodb;
pub mod env;
pub mod memory;

use crate::record::Record;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long this instance trusts that a partition it saw clear is still
/// clear without reading its marker again (another instance may take the
/// partition over; trusting longer would only cost duplicates, never records).
pub const CLEAR_FOR: Duration = Duration::from_secs(60);

/// A boxed future of a store operation.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why the store did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ledger's store failed: {0}")]
pub struct StoreError(pub String);

/// What the ledger stores, behind a narrow interface (DynamoDB in Lambda, memory in tests).
pub trait LedgerStore: Send + Sync + fmt::Debug {
    /// Which of `partitions` are marked pending.
    fn pending<'a>(&'a self, partitions: &'a [String]) -> StoreFuture<'a, HashSet<String>>;
    /// What each of `identities` has settled (identities with nothing stored are absent).
    fn settled<'a>(&'a self, identities: &'a [String]) -> StoreFuture<'a, HashMap<String, BTreeSet<String>>>;
    /// Store what these records settled (replacing what was stored for them), then mark `partitions` pending.
    fn remember<'a>(&'a self, settled: &'a [(String, BTreeSet<String>)], partitions: &'a [String]) -> StoreFuture<'a, ()>;
    /// Clear the marker of `partitions`.
    fn clear<'a>(&'a self, partitions: &'a [String]) -> StoreFuture<'a, ()>;
}

/// A record's identity across deliveries by its source, if it has one.
pub fn identity(record: &Record) -> Option<String> {
    let attr = |name: &str| record.attributes.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    match record.source {
        "kinesis" | "dynamodb" => Some(format!("{}|{}|{}", attr("event_source_arn"), attr("shard_id"), record.id)),
        "sqs" => Some(format!("{}|{}", attr("event_source_arn"), record.id)),
        "http" if !record.id.is_assigned() => Some(format!("http|{}", record.id)),
        _ => None,
    }
}

/// Whether a record has an identity ([`identity`]), without building it.
fn has_identity(record: &Record) -> bool {
    matches!(record.source, "kinesis" | "dynamodb" | "sqs") || (record.source == "http" && !record.id.is_assigned())
}

/// Each record's partition (`None` without an identity), built once per
/// attributes map the records share (a batch's records share one).
fn partitions(records: &[Record]) -> Vec<Option<Arc<str>>> {
    let mut last: Option<(*const serde_json::Map<String, serde_json::Value>, &'static str, Arc<str>)> = None;
    records
        .iter()
        .map(|r| {
            if !has_identity(r) {
                return None;
            }
            let key = (Arc::as_ptr(&r.attributes), r.source);
            match &last {
                Some((ptr, source, p)) if (*ptr, *source) == key => Some(Arc::clone(p)),
                _ => {
                    let p: Arc<str> = partition(r).into();
                    last = Some((key.0, key.1, Arc::clone(&p)));
                    Some(p)
                }
            }
        })
        .collect()
}

/// The partition a record with an identity belongs to.
pub fn partition(record: &Record) -> String {
    let attr = |name: &str| record.attributes.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    match record.source {
        "kinesis" | "dynamodb" => format!("{}|{}", attr("event_source_arn"), attr("shard_id")),
        "sqs" => attr("event_source_arn").to_owned(),
        other => other.to_owned(),
    }
}

/// What the ledger knew before an invocation delivered.
#[derive(Debug, Default)]
pub struct Prior {
    /// Per record index, the destinations that already settled it.
    pub settled: HashMap<usize, BTreeSet<String>>,
    /// The pending partitions among the batch's.
    pub pending: HashSet<String>,
    /// Why the ledger could not be read (the invocation is at-least-once).
    pub unavailable: Option<StoreError>,
}

/// The ledger: a store and what this instance knows.
#[derive(Debug)]
pub struct Ledger {
    store: Arc<dyn LedgerStore>,
    /// Partitions this instance saw clear, and when.
    clear: Mutex<HashMap<String, Instant>>,
}

impl Ledger {
    /// A ledger over `store`.
    pub fn new(store: Arc<dyn LedgerStore>) -> Self {
        Self { store, clear: Mutex::new(HashMap::new()) }
    }

    fn known_clear(&self, partition: &str) -> bool {
        self.clear.lock().map(|c| c.get(partition).is_some_and(|at| at.elapsed() < CLEAR_FOR)).unwrap_or(false)
    }

    fn set_clear(&self, partitions: impl IntoIterator<Item = String>, clear: bool) {
        if let Ok(mut c) = self.clear.lock() {
            for p in partitions {
                if clear {
                    c.insert(p, Instant::now());
                } else {
                    c.remove(&p);
                }
            }
        }
    }

    /// Read what the batch's records settled before: the markers of their
    /// partitions this instance does not know clear, then, for pending
    /// partitions only, their records.
    pub async fn before(&self, records: &[Record]) -> Prior {
        let of = partitions(records);
        let mut asked: Vec<String> = Vec::new();
        for p in of.iter().flatten() {
            if !asked.iter().any(|a| **a == **p) && !self.known_clear(p) {
                asked.push(p.to_string());
            }
        }
        let mut prior = Prior::default();
        if asked.is_empty() {
            return prior;
        }
        let pending = match self.store.pending(&asked).await {
            Ok(p) => p,
            Err(e) => {
                prior.unavailable = Some(e);
                return prior;
            }
        };
        self.set_clear(asked.iter().filter(|p| !pending.contains(*p)).cloned(), true);
        if pending.is_empty() {
            return prior;
        }
        // Identities are built only for the records of pending partitions.
        let wanted: Vec<(usize, String)> = records
            .iter()
            .zip(&of)
            .enumerate()
            .filter(|(_, (_, p))| p.as_deref().is_some_and(|p| pending.contains(p)))
            .filter_map(|(i, (r, _))| identity(r).map(|id| (i, id)))
            .collect();
        let mut unique: HashSet<&str> = HashSet::with_capacity(wanted.len());
        let ids: Vec<String> = wanted.iter().filter(|(_, id)| unique.insert(id.as_str())).map(|(_, id)| id.clone()).collect();
        match self.store.settled(&ids).await {
            Ok(found) => {
                for (i, id) in wanted {
                    if let Some(destinations) = found.get(&id) {
                        prior.settled.insert(i, destinations.clone());
                    }
                }
            }
            Err(e) => prior.unavailable = Some(e),
        }
        prior.pending = pending;
        prior
    }

    /// Whether [`Ledger::after`] has anything to do: something failed, or a
    /// pending partition may be cleared. When not, the caller can skip
    /// gathering what each record settled.
    pub fn needs_after(prior: &Prior, any_failed: bool) -> bool {
        prior.unavailable.is_none() && (any_failed || !prior.pending.is_empty())
    }

    /// After delivering: `settled_now[i]` are the destinations that settled
    /// record `i` in this invocation, `failed[i]` whether the record is
    /// reported failed (it, and in a stream the records after it, come back).
    /// Writes only when something failed; clears the pending partitions that
    /// had no failure.
    pub async fn after(&self, records: &[Record], prior: &Prior, settled_now: &[BTreeSet<String>], failed: &[bool]) -> Result<(), StoreError> {
        if prior.unavailable.is_some() {
            return Ok(());
        }
        let of = partitions(records);
        let mut first_failure: HashMap<Arc<str>, usize> = HashMap::new();
        for (i, p) in of.iter().enumerate() {
            if let (true, Some(p)) = (failed.get(i).copied().unwrap_or(false), p) {
                first_failure.entry(Arc::clone(p)).or_insert(i);
            }
        }
        let mut remember: Vec<(String, BTreeSet<String>)> = Vec::new();
        // Where each identity is in `remember`, for one claimed twice.
        let mut at: HashMap<String, usize> = HashMap::new();
        for (i, (r, p)) in records.iter().zip(&of).enumerate() {
            // Only records from their partition's first failure on come back.
            if p.as_ref().and_then(|p| first_failure.get(p)).is_none_or(|&from| i < from) {
                continue;
            }
            let Some(id) = identity(r) else { continue };
            let mut all: BTreeSet<String> = prior.settled.get(&i).cloned().unwrap_or_default();
            all.extend(settled_now.get(i).into_iter().flatten().cloned());
            match at.get(&id) {
                // Settled for the identity only where every record claiming it settled.
                Some(&k) => remember[k].1.retain(|d| all.contains(d)),
                None => {
                    at.insert(id.clone(), remember.len());
                    remember.push((id, all));
                }
            }
        }
        remember.retain(|(_, all)| !all.is_empty());
        let failing: Vec<String> = first_failure.keys().map(|p| p.to_string()).collect();
        if !failing.is_empty() {
            self.set_clear(failing.iter().cloned(), false);
            self.store.remember(&remember, &failing).await?;
        }
        let cleared: Vec<String> = prior.pending.iter().filter(|p| !first_failure.contains_key(p.as_str())).cloned().collect();
        if !cleared.is_empty() {
            self.store.clear(&cleared).await?;
            self.set_clear(cleared, true);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
