//! What the sandbox accepted: in memory, and as JSON Lines with `--data-dir`.

use crate::faults::Api;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// One call as the sandbox saw it, for tests that check what was (re)sent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Call {
    /// The API.
    pub api: Api,
    /// The operation (`PutRecordBatch`, ...).
    pub operation: &'static str,
    /// The stream, channel, input or model named.
    pub target: String,
    /// Each item's key (payload text or id) and the error code it got.
    pub items: Vec<(String, Option<String>)>,
    /// The HTTP status answered.
    pub status: u16,
}

/// Accepted items per (API, target), and every call.
#[derive(Debug, Default)]
pub struct Store {
    items: BTreeMap<(Api, String), Vec<Value>>,
    counts: BTreeMap<Api, BTreeMap<String, usize>>,
    calls: Vec<Call>,
    calls_seen: u64,
    data_dir: Option<PathBuf>,
    retain: bool,
}

impl Store {
    /// A store writing JSON Lines under `data_dir` when given; with
    /// `retain` false it keeps only counts (no items, no call log).
    pub fn new(data_dir: Option<PathBuf>, retain: bool) -> Self {
        Self { data_dir, retain, ..Default::default() }
    }

    /// Whether accepted items are written to a data dir.
    pub fn writes(&self) -> bool {
        self.data_dir.is_some()
    }

    /// Whether items are kept for read-back.
    pub fn retains(&self) -> bool {
        self.retain
    }

    /// Keep an accepted item; `item` is only built when it is kept or written.
    pub fn accept(&mut self, api: Api, target: &str, item: impl FnOnce() -> Value) {
        if !self.retain && self.data_dir.is_none() {
            self.count(api, target);
            return;
        }
        let item = item();
        if let Some(dir) = &self.data_dir {
            let dir = dir.join(api.name());
            let file = dir.join(format!("{}.jsonl", sanitize(target)));
            let written = std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::OpenOptions::new().create(true).append(true).open(&file))
                .and_then(|mut f| writeln!(f, "{item}"));
            if let Err(e) = written {
                tracing::warn!(file = %file.display(), error = %e, "could not write to the data dir");
            }
        }
        if self.retain {
            self.items.entry((api, target.to_owned())).or_default().push(item);
        } else {
            self.count(api, target);
        }
    }

    fn count(&mut self, api: Api, target: &str) {
        let per_api = self.counts.entry(api).or_default();
        match per_api.get_mut(target) {
            Some(n) => *n += 1,
            None => {
                per_api.insert(target.to_owned(), 1);
            }
        }
    }

    /// Record a call.
    pub fn log(&mut self, call: Call) {
        self.calls_seen += 1;
        if self.retain {
            self.calls.push(call);
        }
    }

    /// Items accepted for a target, in order.
    pub fn items(&self, api: Api, target: &str) -> &[Value] {
        self.items.get(&(api, target.to_owned())).map_or(&[], Vec::as_slice)
    }

    /// Every target with accepted items, and how many.
    pub fn targets(&self) -> Vec<(Api, String, usize)> {
        let counted = self.counts.iter().flat_map(|(a, per)| per.iter().map(move |(t, n)| (*a, t.clone(), *n)));
        self.items.iter().map(|((a, t), v)| (*a, t.clone(), v.len())).chain(counted).collect()
    }

    /// Calls seen so far, also those not kept (a unique number for the next one).
    pub fn calls_seen(&self) -> u64 {
        self.calls_seen
    }

    /// Every call so far.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.items.clear();
        self.counts.clear();
        self.calls.clear();
    }
}

/// A file name for a target (Yandex-style stream paths hold slashes).
fn sanitize(target: &str) -> String {
    target.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn without_retention_items_are_counted_not_kept() {
        let mut kept = Store::new(None, true);
        let mut counted = Store::new(None, false);
        for store in [&mut kept, &mut counted] {
            store.accept(Api::Firehose, "s", || json!({"data": "a"}));
            store.accept(Api::Firehose, "s", || json!({"data": "b"}));
            store.log(Call { api: Api::Firehose, operation: "PutRecordBatch", target: "s".into(), items: Vec::new(), status: 200 });
        }
        assert_eq!(kept.items(Api::Firehose, "s").len(), 2);
        assert_eq!(kept.calls().len(), 1);
        assert!(counted.items(Api::Firehose, "s").is_empty() && counted.calls().is_empty());
        assert_eq!(counted.targets(), vec![(Api::Firehose, "s".to_owned(), 2)]);
        assert_eq!(kept.targets(), counted.targets());
        counted.clear();
        assert!(counted.targets().is_empty());
    }
}
