//! jq programs (run by [jaq](https://github.com/01mf02/jaq)): a destination's
//! `transform`, and `=` value expressions.
//!
//! A program is compiled once, when the config is loaded, and run per record
//! against the record's view:
//!
//! ```json
//! {"source": "kinesis", "key": "sensor-1", "id": "4959...", "arrival": 1795323600000,
//!  "attributes": {"shard_id": "shardId-000000000000"}, "data": {"deviceId": "sensor-1"}}
//! ```
//!
//! `data` is the payload parsed as JSON, or the payload as a string when it
//! is not JSON (by the rule patterns follow: [`Record::json`]); numbers keep
//! the text they were written with. `key` and `arrival` are null when the
//! source has none.
//!
//! Programs that only pick values (`{deviceId: .data.deviceId, key}`,
//! `.data | {a, b}`, `.data.payload`) take a fast path that builds no view
//! and runs no interpreter, with the same output byte for byte (module
//! `pick`); everything else, and every record the fast path cannot be sure
//! of, runs on jaq.
//!
//! jaq's core and standard library are available: `@format` strings
//! (`@base64`, `@csv`, ...), math, regex and date filters (`arrival / 1000 |
//! todate`).

mod json_text;
mod pick;
mod raw;

pub use json_text::{write_json, JsonKind};

use crate::record::Record;
use bytes::Bytes;
use jaq_core::compile::Filter;
use jaq_core::data::JustLut;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{unwrap_valr, Compiler, Ctx, Native, Vars};
use jaq_json::Val;
use pick::Pick;
use serde_json::Value;

type Data = JustLut<Val>;

/// Most outputs one run may produce before it counts as a runaway.
pub const MAX_OUTPUTS: usize = 100;

/// A compiled jq program.
pub struct Program {
    code: String,
    filter: Filter<Native<Data>>,
    /// The fast path, when the program only picks values ([`pick`]).
    pick: Option<Pick>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Program").field(&self.code).finish()
    }
}

impl PartialEq for Program {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for Program {}

impl Program {
    /// Compile `code`; `Err` says what is wrong and where, in words.
    pub fn compile(code: &str) -> Result<Self, String> {
        let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
        let funs = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs());
        let arena = Arena::default();
        let modules = Loader::new(defs).load(&arena, File { code, path: () }).map_err(|errors| {
            let mut words = Vec::new();
            for (_, e) in errors {
                match e {
                    jaq_core::load::Error::Io(list) => words.extend(list.into_iter().map(|(path, why)| format!("cannot load `{path}`: {why}"))),
                    jaq_core::load::Error::Lex(list) => words.extend(list.into_iter().map(|(expect, at)| at_place(code, expect.as_str(), at))),
                    jaq_core::load::Error::Parse(list) => words.extend(list.into_iter().map(|(expect, at)| at_place(code, expect.as_str(), at))),
                }
            }
            format!("the jq program does not parse: {}", words.join("; "))
        })?;
        let filter = Compiler::default().with_funs(funs).compile(modules).map_err(|errors| {
            let words: Vec<String> = errors
                .into_iter()
                .flat_map(|(_, list)| list)
                .map(|(name, kind)| format!("{kind:?} `{name}` is not defined").to_lowercase())
                .collect();
            format!("the jq program does not compile: {}", words.join("; "))
        })?;
        Ok(Self { code: code.to_owned(), filter, pick: Pick::recognize(code) })
    }

    /// Whether the program runs on the fast path of programs that only pick
    /// values (`{deviceId: .data.deviceId, key}`), without the interpreter.
    pub fn is_pick(&self) -> bool {
        self.pick.is_some()
    }

    /// The program's text.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Run on `input`: its outputs in order, at most [`MAX_OUTPUTS`] (one
    /// more is an error), or the first runtime error, as text.
    pub fn run(&self, input: Val) -> Result<Vec<Val>, String> {
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new([]));
        let mut outputs = Vec::new();
        for out in self.filter.id.run((ctx, input)).map(unwrap_valr) {
            if outputs.len() == MAX_OUTPUTS {
                return Err(format!("more than {MAX_OUTPUTS} outputs for one record"));
            }
            outputs.push(out.map_err(|e| e.to_string())?);
        }
        Ok(outputs)
    }

    /// Run on `record`'s view ([`view`]), always with jaq.
    pub fn run_on(&self, record: &Record) -> Result<Vec<Val>, String> {
        self.run(view(record))
    }

    /// What a transform sends for `record`: each output's bytes, in order
    /// ([`output_bytes`]), or the runtime error. `attributes` converts the
    /// batch's attributes once when jaq runs.
    pub fn outputs(&self, record: &Record, attributes: &AttributesCache) -> Result<Vec<Bytes>, String> {
        if let Some(pick) = &self.pick {
            let mut out = Vec::with_capacity(record.data.len().min(4096) + 64);
            if pick.write(record, true, &mut out).is_some() {
                return Ok(vec![Bytes::from(out)]);
            }
        }
        Ok(self.run(view_with_attributes(record, attributes.get(record)))?.iter().map(output_bytes).collect())
    }

    /// A value expression's value for `record`: its first output, which
    /// must be a string (as it is), a number or a boolean (as JSON).
    pub fn text(&self, record: &Record) -> Result<String, ExprError> {
        if let Some(pick) = &self.pick {
            let mut out = Vec::with_capacity(64);
            if let Some(JsonKind::String | JsonKind::Number | JsonKind::Bool) = pick.write(record, true, &mut out) {
                if let Ok(text) = String::from_utf8(out) {
                    return Ok(text);
                }
            }
        }
        let outputs = self.run_on(record).map_err(ExprError::Failed)?;
        let first = outputs.first().ok_or(ExprError::Nothing)?;
        output_text(first).ok_or(ExprError::NotScalar(kind(first)))
    }
}

impl Program {
    /// A mapping expression's value for `record`: its first output as a
    /// JSON value (numbers beyond `f64` become the nearest `f64`).
    pub fn json(&self, record: &Record) -> Result<Value, ExprError> {
        let mut out = Vec::with_capacity(64);
        if let Some(pick) = &self.pick {
            if pick.write(record, false, &mut out).is_some() {
                if let Ok(value) = serde_json::from_slice(&out) {
                    return Ok(value);
                }
            }
            out.clear();
        }
        let outputs = self.run_on(record).map_err(ExprError::Failed)?;
        write_json(outputs.first().ok_or(ExprError::Nothing)?, &mut out);
        serde_json::from_slice(&out).map_err(|e| ExprError::Failed(format!("the output is not JSON: {e}")))
    }
}

/// Why an expression has no value for a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprError {
    /// A runtime error, in jq's words.
    Failed(String),
    /// No output.
    Nothing,
    /// The first output is null, an array or an object ([`kind`]).
    NotScalar(&'static str),
}

impl ExprError {
    /// What went wrong, to follow the expression in a message: "failed:
    /// ...", "produced nothing", "produced an array, not ...".
    pub fn words(&self) -> String {
        match self {
            ExprError::Failed(why) => format!("failed: {why}"),
            ExprError::Nothing => "produced nothing".to_owned(),
            ExprError::NotScalar(kind) => format!("produced {kind}, not a string, number or boolean"),
        }
    }
}

impl Program {}

/// "expected X at `...`", with the start of what was found.
fn at_place(code: &str, expected: &str, at: &str) -> String {
    let found: String = at.chars().take(20).collect();
    if found.is_empty() || at.len() == code.len() && code.is_empty() {
        format!("expected {expected} at the end")
    } else {
        format!("expected {expected} at `{found}`")
    }
}

fn key(name: &str) -> Val {
    Val::from(name.to_owned())
}

/// The record as a jq program sees it (see the module documentation).
pub fn view(record: &Record) -> Val {
    view_with_attributes(record, from_json_map(&record.attributes))
}

/// [`view`] with the record's attributes already converted (they are shared
/// by a batch's records: [`AttributesCache`] converts them once).
///
/// `data` is JSON by the rule patterns follow ([`Record::json`]: what
/// serde_json reads whole, nested at most 127 levels), read by jaq so that
/// numbers keep the text they were written with.
pub fn view_with_attributes(record: &Record, attributes: Val) -> Val {
    let text = || Val::from(String::from_utf8_lossy(&record.data).into_owned());
    let data = if record.json().is_some() { jaq_json::read::parse_single(&record.data).unwrap_or_else(|_| text()) } else { text() };
    let mut map = jaq_json::Map::default();
    map.insert(key("source"), key(record.source));
    map.insert(key("key"), record.key.as_deref().map_or(Val::Null, key));
    map.insert(key("id"), Val::from(record.id.to_string()));
    map.insert(key("arrival"), record.arrival_ms.map_or(Val::Null, |ms| Val::from(ms as isize)));
    map.insert(key("attributes"), attributes);
    map.insert(key("data"), data);
    Val::obj(map)
}

/// The last attributes map converted, kept alive by its `Arc` so that a
/// pointer match is the same map (a batch's records share one).
#[derive(Debug, Default)]
pub struct AttributesCache(std::sync::Mutex<Option<(SharedAttributes, Val)>>);

/// A batch's attributes map, as records share it.
type SharedAttributes = std::sync::Arc<serde_json::Map<String, Value>>;

impl AttributesCache {
    /// `record`'s attributes as a jq value, converted once per shared map.
    pub fn get(&self, record: &Record) -> Val {
        let Ok(mut slot) = self.0.lock() else { return from_json_map(&record.attributes) };
        if let Some((map, val)) = slot.as_ref() {
            if std::sync::Arc::ptr_eq(map, &record.attributes) {
                return val.clone();
            }
        }
        let val = from_json_map(&record.attributes);
        *slot = Some((std::sync::Arc::clone(&record.attributes), val.clone()));
        val
    }
}

fn from_json_map(map: &serde_json::Map<String, Value>) -> Val {
    Val::obj(map.iter().map(|(k, v)| (key(k), from_json(v))).collect())
}

/// A `serde_json` value as a jaq value (numbers exactly, through their text).
pub fn from_json(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::from(*b),
        Value::Number(n) => jaq_json::read::parse_single_num(n.to_string().as_bytes()).map_or(Val::Null, Val::Num),
        Value::String(s) => key(s),
        Value::Array(items) => Val::from_iter(items.iter().map(from_json)),
        Value::Object(map) => from_json_map(map),
    }
}

/// What a destination sends for one output: a string's bytes as they are,
/// anything else as compact JSON.
pub fn output_bytes(v: &Val) -> Bytes {
    match v {
        Val::TStr(b) | Val::BStr(b) => (**b).clone(),
        other => {
            let mut out = Vec::with_capacity(128);
            write_json(other, &mut out);
            Bytes::from(out)
        }
    }
}

/// "a string", "an object", ...: how errors name a jq value's kind.
pub fn kind(v: &Val) -> &'static str {
    match v {
        Val::Null => "null",
        Val::Bool(_) => "a boolean",
        Val::Num(_) => "a number",
        Val::TStr(_) | Val::BStr(_) => "a string",
        Val::Arr(_) => "an array",
        Val::Obj(_) => "an object",
    }
}

/// A scalar output as text (for value expressions): strings as they are,
/// numbers and booleans as JSON; `None` for null, arrays and objects.
pub fn output_text(v: &Val) -> Option<String> {
    match v {
        Val::TStr(b) | Val::BStr(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Val::Num(_) | Val::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;

    fn record(data: &str) -> Record {
        Record::new(RecordId::new("4959-1"), "kinesis", Bytes::copy_from_slice(data.as_bytes()))
            .with_key("sensor-1")
            .with_arrival_ms(1_795_323_600_000)
    }

    fn run(code: &str, data: &str) -> Result<Vec<String>, String> {
        let program = Program::compile(code)?;
        Ok(program.run_on(&record(data))?.iter().map(|v| String::from_utf8_lossy(&output_bytes(v)).into_owned()).collect())
    }

    #[test]
    fn the_view_carries_the_records_metadata_and_its_payload() {
        let out = run("{source, key, id, arrival, d: .data.deviceId}", r#"{"deviceId":"sensor-1","t":20}"#).expect("runs");
        assert_eq!(out, [r#"{"source":"kinesis","key":"sensor-1","id":"4959-1","arrival":1795323600000,"d":"sensor-1"}"#]);
        assert_eq!(run(".data", "not json").expect("runs"), ["not json"], "a payload that is not JSON is a string");
    }

    #[test]
    fn strings_are_sent_as_their_bytes_and_the_rest_as_json() {
        assert_eq!(
            run(r#".data.a, [1, "x"], 2.5, null, true"#, r#"{"a":"plain text"}"#).expect("runs"),
            ["plain text", r#"[1,"x"]"#, "2.5", "null", "true"]
        );
        assert_eq!(run("empty", "{}").expect("runs"), Vec::<String>::new());
        assert_eq!(run(".data | @base64", r#""hi""#).expect("runs"), ["aGk="], "the format filters are there");
    }

    #[test]
    fn json_output_escapes_strings_and_keeps_numbers_exact() {
        let out = run(
            r#"{s: "a\"b\\c\n\u0001é", n: .data.n, f: 1.5, big: .data.big, nan: nan, l: [null, false]}"#,
            r#"{"n":12,"big":123456789012345678901234567890}"#,
        )
        .expect("runs");
        let back: serde_json::Value = serde_json::from_str(&out[0]).expect("valid JSON");
        assert_eq!(back["s"], "a\"b\\c\n\u{1}é");
        assert_eq!((back["n"].as_i64(), back["f"].as_f64(), back["nan"].is_null()), (Some(12), Some(1.5), true));
        assert!(out[0].contains("123456789012345678901234567890"), "{}", out[0]);
        assert!(out[0].ends_with(r#""l":[null,false]}"#), "{}", out[0]);
    }

    #[test]
    fn compile_and_runtime_errors_are_words() {
        let e = Program::compile(".data |").unwrap_err();
        assert!(e.starts_with("the jq program does not parse"), "{e}");
        let e = Program::compile("nosuchfilter(1)").unwrap_err();
        assert!(e.contains("nosuchfilter"), "{e}");
        let e = run(".data.a + 1", r#"{"a":"text"}"#).unwrap_err();
        assert!(e.contains("cannot") || e.contains("add"), "{e}");
        let e = run("range(1000)", "{}").unwrap_err();
        assert!(e.contains("more than 100 outputs"), "{e}");
    }

    #[test]
    fn numbers_keep_their_value_through_the_view() {
        assert_eq!(run(".data.n", r#"{"n":12345678901234567890}"#).expect("runs"), ["12345678901234567890"]);
        let r = record("{}").with_attributes(std::sync::Arc::new(serde_json::from_str(r#"{"shard":"s-1","n":7}"#).expect("json")));
        let program = Program::compile(".attributes | .shard + (.n|tostring)").expect("compiles");
        assert_eq!(program.run_on(&r).expect("runs").iter().map(|v| output_text(v).unwrap_or_default()).collect::<Vec<_>>(), ["s-17"]);
    }
}
