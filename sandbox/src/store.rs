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
    calls: Vec<Call>,
    data_dir: Option<PathBuf>,
}

impl Store {
    /// A store writing JSON Lines under `data_dir` when given.
    pub fn new(data_dir: Option<PathBuf>) -> Self {
        Self { data_dir, ..Default::default() }
    }

    /// Keep an accepted item.
    pub fn accept(&mut self, api: Api, target: &str, item: Value) {
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
        self.items.entry((api, target.to_owned())).or_default().push(item);
    }

    /// Record a call.
    pub fn log(&mut self, call: Call) {
        self.calls.push(call);
    }

    /// Items accepted for a target, in order.
    pub fn items(&self, api: Api, target: &str) -> &[Value] {
        self.items.get(&(api, target.to_owned())).map_or(&[], Vec::as_slice)
    }

    /// Every target with accepted items, and how many.
    pub fn targets(&self) -> Vec<(Api, String, usize)> {
        self.items.iter().map(|((a, t), v)| (*a, t.clone(), v.len())).collect()
    }

    /// Every call so far.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.items.clear();
        self.calls.clear();
    }
}

/// A file name for a target (Yandex-style stream paths hold slashes).
fn sanitize(target: &str) -> String {
    target.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect()
}
