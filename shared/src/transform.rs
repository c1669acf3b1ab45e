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
//! is not JSON; `key` and `arrival` are null when the source has none.
//!
//! jaq's core and standard library are available: `@format` strings
//! (`@base64`, `@csv`, ...), math, regex and date filters (`arrival / 1000 |
//! todate`).

use crate::record::Record;
use bytes::Bytes;
use jaq_core::compile::Filter;
use jaq_core::data::JustLut;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{unwrap_valr, Compiler, Ctx, Native, Vars};
use jaq_json::Val;
use serde_json::Value;

type Data = JustLut<Val>;

/// Most outputs one run may produce before it counts as a runaway.
pub const MAX_OUTPUTS: usize = 100;

/// A compiled jq program.
pub struct Program {
    code: String,
    filter: Filter<Native<Data>>,
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
        Ok(Self { code: code.to_owned(), filter })
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

    /// Run on `record`'s view ([`view`]).
    pub fn run_on(&self, record: &Record) -> Result<Vec<Val>, String> {
        self.run(view(record))
    }
}

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
pub fn view_with_attributes(record: &Record, attributes: Val) -> Val {
    let data = jaq_json::read::parse_single(&record.data).unwrap_or_else(|_| Val::from(String::from_utf8_lossy(&record.data).into_owned()));
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

/// Compact JSON of `v` into `out`: strings escaped (invalid UTF-8 replaced
/// by U+FFFD), non-finite numbers as `null`, non-string object keys as their
/// JSON text. A direct writer: jaq's own goes through `io::Write` and its
/// pretty-printer's styles, several times slower for small objects.
pub fn write_json(v: &Val, out: &mut Vec<u8>) {
    use jaq_json::Num;
    use std::io::Write as _;
    match v {
        Val::Null => out.extend_from_slice(b"null"),
        Val::Bool(true) => out.extend_from_slice(b"true"),
        Val::Bool(false) => out.extend_from_slice(b"false"),
        Val::Num(Num::Int(i)) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Val::Num(Num::Float(f)) if !f.is_finite() => out.extend_from_slice(b"null"),
        Val::Num(Num::Dec(d)) => out.extend_from_slice(d.as_bytes()),
        Val::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Val::TStr(b) | Val::BStr(b) => write_str(b, out),
        Val::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(item, out);
            }
            out.push(b']');
        }
        Val::Obj(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match k {
                    Val::TStr(b) | Val::BStr(b) => write_str(b, out),
                    other => {
                        let mut text = Vec::new();
                        write_json(other, &mut text);
                        write_str(&text, out);
                    }
                }
                out.push(b':');
                write_json(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_str(bytes: &[u8], out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(bytes);
    out.push(b'"');
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&text.as_bytes()[start..]);
    out.push(b'"');
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
