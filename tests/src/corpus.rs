//! The bad-input corpus (`tests/corpus/`): hostile events for every source,
//! each with the exact outcome a user must get, run through the real
//! handlers in-process (`tests/tests/corpus.rs`) and through the built
//! function binaries under the Runtime API stand-in (each function crate's
//! `tests/corpus.rs`).
//!
//! A case file is a JSON array of cases:
//!
//! ```json
//! {"name": "data-not-base64", "about": "why this case matters",
//!  "config": "plain" | "dead-letter" | "small-body",
//!  "event": <the event> | {"base": "kinesis.json", "edits": [{"set": "/Records/2/kinesis/data", "to": "!!"}, {"remove": "/a/b"}]}
//!         | {"text": "event text with «nest 10000» or «b64 ...» or «repeat 5 x»"},
//!  "expect": {"response": <exact answer>, "error": ["substring", ...], "failed_ids": ["id", ...],
//!             "records": ["delivered", "failed", ...], "reasons": {"2": "substring"},
//!             "delivered_to": {"2": ["archive"]},
//!             "status": 207, "items": ["delivered", "invalid"], "body_contains": ["substring"]}}
//! ```
//!
//! Every key of `expect` is optional; each one given is checked exactly as
//! written (the expected values are written by hand from the rules in
//! docs/delivery.md, never copied from a run). `records`, `reasons` and
//! `delivered_to` need the in-process report, so the binary runs check the
//! answer only.

use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// The directory of the corpus.
pub fn dir() -> PathBuf {
    crate::repo_root().join("tests/corpus")
}

/// The configs the cases name, served by one sandbox.
pub fn config_text(name: &str) -> String {
    let plain = "destinations:\n  archive: { type: firehose, delivery_stream: corpus-archive }\n  hot: { type: kinesis, stream: corpus-hot, partition_key: /deviceId }\nroutes:\n  - { name: everything, to: [archive] }\n  - { name: hot, match: { data: { temperature: [ { numeric: [\">\", 50] } ] } }, to: [hot] }\n";
    match name {
        "dead-letter" => {
            plain.replace("routes:", "  errors: { type: firehose, delivery_stream: corpus-dead-letters }\nroutes:") + "dead_letter: errors\n"
        }
        "small-body" => format!("{plain}http: {{ max_body_bytes: 100 }}\n"),
        _ => plain.to_owned(),
    }
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// `file:name`.
    pub name: String,
    /// Which config ([`config_text`]).
    pub config: String,
    /// The event text.
    pub event: String,
    /// What must happen.
    pub expect: Map<String, Value>,
}

/// The cases of one file (`kinesis.json`, ...).
pub fn load(file: &str) -> Vec<Case> {
    let path = dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    cases
        .into_iter()
        .map(|c| {
            let name = format!("{file}:{}", c["name"].as_str().unwrap_or("?"));
            Case {
                config: c["config"].as_str().unwrap_or("plain").to_owned(),
                event: event_text(&c["event"], &name),
                expect: c["expect"].as_object().cloned().unwrap_or_default(),
                name,
            }
        })
        .collect()
}

fn event_text(spec: &Value, name: &str) -> String {
    if let Some(text) = spec.get("text").and_then(Value::as_str) {
        return expand(text);
    }
    let Some(base) = spec.get("base").and_then(Value::as_str) else {
        return spec.to_string();
    };
    let path = crate::repo_root().join("events").join(base);
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"))).expect("sample event");
    for edit in spec["edits"].as_array().into_iter().flatten() {
        if let Some(pointer) = edit["set"].as_str() {
            let (parent, field) = pointer.rsplit_once('/').unwrap_or_else(|| panic!("{name}: bad pointer {pointer}"));
            let to = match &edit["to"] {
                Value::String(s) if s.contains('«') => Value::String(expand(s)),
                other => other.clone(),
            };
            match event.pointer_mut(parent).unwrap_or_else(|| panic!("{name}: no {parent}")) {
                Value::Object(m) => {
                    m.insert(field.to_owned(), to);
                }
                Value::Array(a) => {
                    let i: usize = field.parse().unwrap_or_else(|_| panic!("{name}: {field}"));
                    a[i] = to;
                }
                _ => panic!("{name}: {parent} holds no fields"),
            }
        }
        if let Some(pointer) = edit["remove"].as_str() {
            let (parent, field) = pointer.rsplit_once('/').unwrap_or_else(|| panic!("{name}: bad pointer {pointer}"));
            if let Some(m) = event.pointer_mut(parent).and_then(Value::as_object_mut) {
                m.remove(field);
            }
        }
    }
    event.to_string()
}

/// Expand `«nest N»` (N `[` then N `]`), `«repeat N TEXT»` and
/// `«b64 TEXT»` (base64 of TEXT after its own expansion), innermost first.
/// (Guillemets, because JSON payloads are full of braces.)
pub fn expand(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some(start) = out.rfind('«') {
        let Some(len) = out[start..].find('»') else { break };
        let inner = out[start + '«'.len_utf8()..start + len].to_owned();
        let (op, arg) = inner.split_once(' ').unwrap_or((inner.as_str(), ""));
        let replacement = match op {
            "nest" => {
                let n: usize = arg.trim().parse().unwrap_or(0);
                "[".repeat(n) + &"]".repeat(n)
            }
            "repeat" => {
                let (n, what) = arg.split_once(' ').unwrap_or((arg, ""));
                what.repeat(n.trim().parse().unwrap_or(0))
            }
            "b64" => base64::engine::general_purpose::STANDARD.encode(arg),
            _ => panic!("unknown template «{inner}»"),
        };
        out.replace_range(start..start + len + '»'.len_utf8(), &replacement);
    }
    out
}

/// What a handler did with one event, as the corpus compares it.
#[derive(Debug, Default)]
pub struct Outcome {
    /// What the function answers: `Ok(response)` or `Err(error text)`.
    pub answer: Option<Result<Value, String>>,
    /// Per record: `delivered`, `failed`, `dead_lettered`, `unrouted`.
    pub statuses: Vec<String>,
    /// Per record: the first failure or dead-letter reason, `code: message`.
    pub reasons: Vec<Option<String>>,
    /// Per record: the destinations that took it, sorted.
    pub delivered_to: Vec<Vec<String>>,
}

impl Outcome {
    /// Read statuses, reasons and destinations from a report.
    pub fn from_report(report: &fanout::Report) -> Self {
        use fanout::report::DestinationOutcome;
        let n = report.status.len();
        let mut out = Outcome {
            statuses: report
                .status
                .iter()
                .map(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
                .collect(),
            reasons: vec![None; n],
            delivered_to: vec![Vec::new(); n],
            answer: None,
        };
        for i in 0..n {
            for (dest, o) in report.outcomes_of(i) {
                match o {
                    DestinationOutcome::Delivered => out.delivered_to[i].push(dest.to_owned()),
                    DestinationOutcome::Failed(e) | DestinationOutcome::DeadLettered(e) => {
                        out.reasons[i].get_or_insert_with(|| format!("{}: {}", e.code, e.message));
                    }
                }
            }
            out.delivered_to[i].sort();
        }
        out
    }
}

/// Every way `outcome` differs from `case.expect` (empty when it matches).
/// `in_process` says whether the report-level keys can be checked.
pub fn mismatches(case: &Case, outcome: &Outcome, in_process: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let e = &case.expect;
    let answer = outcome.answer.clone().unwrap_or_else(|| Err("no answer".into()));
    if let Some(text) = answer.as_ref().err() {
        if text.to_ascii_lowercase().contains("panic") {
            bad.push(format!("the answer mentions a panic: {text}"));
        }
    }
    if let Some(want) = e.get("response") {
        if answer.as_ref().ok() != Some(want) {
            bad.push(format!("response: want {want}, got {answer:?}"));
        }
    }
    if let Some(parts) = e.get("error").and_then(Value::as_array) {
        match &answer {
            Err(text) => {
                for p in parts.iter().filter_map(Value::as_str) {
                    if !text.contains(p) {
                        bad.push(format!("error: `{p}` not in `{text}`"));
                    }
                }
            }
            Ok(v) => bad.push(format!("error: want an error, got the response {v}")),
        }
    } else if let Err(text) = &answer {
        if e.get("response").is_none() && e.get("status").is_none() {
            bad.push(format!("unexpected error: {text}"));
        }
    }
    if let Some(want) = e.get("failed_ids") {
        let got: Vec<Value> = answer
            .as_ref()
            .ok()
            .and_then(|v| v["batchItemFailures"].as_array())
            .map(|a| a.iter().map(|f| f["itemIdentifier"].clone()).collect())
            .unwrap_or_default();
        if Some(&got) != want.as_array() {
            bad.push(format!("failed_ids: want {want}, got {got:?}"));
        }
    }
    let http_body =
        || -> Value { answer.as_ref().ok().and_then(|v| v["body"].as_str()).and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default() };
    if let Some(want) = e.get("status") {
        let got = answer.as_ref().ok().map(|v| v["statusCode"].clone());
        if got.as_ref() != Some(want) {
            bad.push(format!("status: want {want}, got {got:?} ({answer:?})"));
        }
    }
    if let Some(want) = e.get("items") {
        let got: Vec<Value> = http_body()["records"].as_array().map(|a| a.iter().map(|r| r["status"].clone()).collect()).unwrap_or_default();
        if Some(&got) != want.as_array() {
            bad.push(format!("items: want {want}, got {got:?} in {}", http_body()));
        }
    }
    if let Some(parts) = e.get("body_contains").and_then(Value::as_array) {
        let body = answer.as_ref().ok().and_then(|v| v["body"].as_str()).unwrap_or_default().to_owned();
        for p in parts.iter().filter_map(Value::as_str) {
            if !body.contains(p) {
                bad.push(format!("body: `{p}` not in `{body}`"));
            }
        }
    }
    if !in_process {
        return bad;
    }
    if let Some(want) = e.get("records") {
        if Some(&json!(outcome.statuses)) != Some(want) {
            bad.push(format!("records: want {want}, got {:?}", outcome.statuses));
        }
    }
    for (key, want) in e.get("reasons").and_then(Value::as_object).into_iter().flatten() {
        let i: usize = key.parse().unwrap_or(usize::MAX);
        let got = outcome.reasons.get(i).cloned().flatten().unwrap_or_default();
        if !want.as_str().is_some_and(|w| got.contains(w)) {
            bad.push(format!("reasons[{key}]: want `{want}` in `{got}`"));
        }
    }
    for (key, want) in e.get("delivered_to").and_then(Value::as_object).into_iter().flatten() {
        let i: usize = key.parse().unwrap_or(usize::MAX);
        let got = outcome.delivered_to.get(i).cloned().unwrap_or_default();
        if Some(&json!(got)) != Some(want) {
            bad.push(format!("delivered_to[{key}]: want {want}, got {got:?}"));
        }
    }
    bad
}

/// One hostile config (`tests/corpus/configs/*.yaml`): its path, and what
/// loading it must say (`# expect: TEXT` lines at its top; `(valid)` for a
/// config that must load).
#[derive(Debug, Clone)]
pub struct ConfigCase {
    /// The file.
    pub path: PathBuf,
    /// Texts the error must contain, or `["(valid)"]`.
    pub expect: Vec<String>,
}

/// Every config case, sorted by file name.
pub fn config_cases() -> Vec<ConfigCase> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir().join("configs"))
        .expect("tests/corpus/configs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let expect = text.lines().filter_map(|l| l.strip_prefix("# expect: ")).map(str::to_owned).collect();
            ConfigCase { path, expect }
        })
        .collect()
}
