//! A [`LedgerStore`] in memory, counting its calls: for tests, and for
//! trying the ledger without DynamoDB.

use super::{LedgerStore, StoreError, StoreFuture};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// What the store holds.
#[derive(Debug, Default)]
struct Contents {
    pending: HashSet<String>,
    settled: HashMap<String, BTreeSet<String>>,
}

/// The ledger's items in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    contents: Mutex<Contents>,
    /// Reads (marker reads and record reads) so far.
    pub reads: AtomicUsize,
    /// Writes (remember and clear) so far.
    pub writes: AtomicUsize,
    /// While set, every call fails (the store is down).
    pub down: AtomicBool,
}

impl MemoryStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError("the store is down (test)".into()))
        } else {
            Ok(())
        }
    }

    /// Refuse a call naming one key twice, as DynamoDB's batch calls do.
    fn unique<'a>(keys: impl IntoIterator<Item = &'a String>) -> Result<(), StoreError> {
        let mut seen = HashSet::new();
        match keys.into_iter().all(|k| seen.insert(k)) {
            true => Ok(()),
            false => Err(StoreError("Provided list of item keys contains duplicates".into())),
        }
    }

    fn contents(&self) -> std::sync::MutexGuard<'_, Contents> {
        self.contents.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `partition` is marked pending.
    pub fn is_pending(&self, partition: &str) -> bool {
        self.contents().pending.contains(partition)
    }
}

impl LedgerStore for MemoryStore {
    fn pending<'a>(&'a self, partitions: &'a [String]) -> StoreFuture<'a, HashSet<String>> {
        Box::pin(async move {
            self.check()?;
            self.reads.fetch_add(1, Ordering::SeqCst);
            let c = self.contents();
            Ok(partitions.iter().filter(|p| c.pending.contains(*p)).cloned().collect())
        })
    }

    fn settled<'a>(&'a self, identities: &'a [String]) -> StoreFuture<'a, HashMap<String, BTreeSet<String>>> {
        Box::pin(async move {
            self.check()?;
            Self::unique(identities)?;
            self.reads.fetch_add(1, Ordering::SeqCst);
            let c = self.contents();
            Ok(identities.iter().filter_map(|id| c.settled.get(id).map(|d| (id.clone(), d.clone()))).collect())
        })
    }

    fn remember<'a>(&'a self, settled: &'a [(String, BTreeSet<String>)], partitions: &'a [String]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            Self::unique(settled.iter().map(|(id, _)| id))?;
            self.writes.fetch_add(1, Ordering::SeqCst);
            let mut c = self.contents();
            for (id, destinations) in settled {
                c.settled.insert(id.clone(), destinations.clone());
            }
            c.pending.extend(partitions.iter().cloned());
            Ok(())
        })
    }

    fn clear<'a>(&'a self, partitions: &'a [String]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.writes.fetch_add(1, Ordering::SeqCst);
            let mut c = self.contents();
            for p in partitions {
                c.pending.remove(p);
            }
            Ok(())
        })
    }
}
