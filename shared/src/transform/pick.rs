//! The fast path of the most common programs: those that only pick values
//! out of the view and put them in an object, such as
//!
//! ```text
//! .data.payload
//! {deviceId: .data.deviceId, t: .data.temperature, key, source: "plant-a"}
//! .data | {deviceId, temperature}
//! ```
//!
//! A [`Pick`] is recognized in jaq's own parse of the program (so it reads
//! exactly as jaq reads it) and evaluated without building the view: the
//! picked payload fields are found in one pass over the payload and written
//! from their text ([`super::raw`], [`super::json_text`]). Its output is the
//! one jaq gives, byte for byte; where the two could differ (a payload that
//! is not JSON, a path into a value that is not an object, a string jaq
//! reads differently), [`Pick::write`] answers `None` and jaq runs instead,
//! so errors and edge cases are always jaq's.
//!
//! Recognized: paths of plain field names from `.` (`.a.b`, `."a-b"`,
//! `.["a"]`), objects whose keys are names or plain strings and whose values
//! are such paths, plain strings, integers, `null`, `true` or `false`
//! (shorthands such as `{key}` included), and a path piped into either
//! (then with paths only).

use super::json_text::{write_json, write_raw, write_serde, write_serde_map, write_str, JsonKind};
use super::raw::{self, Payload};
use crate::record::Record;
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::path::{Opt, Part};
use serde_json::value::RawValue;
use serde_json::Value;

/// A program that only picks values out of the view.
#[derive(Debug)]
pub(super) struct Pick {
    shape: Shape,
    /// The payload's top-level fields the paths read, each once.
    fields: Vec<String>,
}

#[derive(Debug)]
enum Shape {
    /// One value.
    One(Item),
    /// An object: each key as JSON text (quoted), then its value.
    Object(Vec<(Vec<u8>, Item)>),
}

#[derive(Debug)]
enum Item {
    /// A constant, as JSON text.
    Json(Vec<u8>, JsonKind),
    /// A constant string.
    Text(String),
    /// A path into the view.
    Path(ViewPath),
}

/// `.root.rest...`
#[derive(Debug)]
struct ViewPath {
    root: Root,
    rest: Vec<String>,
}

#[derive(Debug)]
enum Root {
    Source,
    Key,
    Id,
    Arrival,
    Attributes,
    /// `.data` itself.
    Data,
    /// `.data.<fields[i]>`
    DataField(usize),
    /// A name the view does not have: `null`.
    Absent,
}

impl Pick {
    /// The pick `code` is, if it is one (`code` compiles with jaq).
    pub(super) fn recognize(code: &str) -> Option<Pick> {
        let term = jaq_core::load::parse(code, |p| p.term())?;
        let mut fields = Vec::new();
        let shape = shape(&term, &[], &mut fields)?;
        Some(Pick { shape, fields })
    }

    /// Write the output for `record` into `out` and say its kind; a string
    /// alone is written `bare` (its content) or quoted. `None` leaves the
    /// record to jaq (`out` may then hold a partial output).
    pub(super) fn write(&self, record: &Record, bare: bool, out: &mut Vec<u8>) -> Option<JsonKind> {
        let payload = if self.fields.is_empty() && !self.reads_whole_data() { None } else { Some(raw::read(&record.data, &self.fields)?) };
        let payload = payload.as_ref();
        match &self.shape {
            Shape::One(item) => write_item(item, record, payload, bare, out),
            Shape::Object(entries) => {
                out.push(b'{');
                for (i, (key, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(key);
                    out.push(b':');
                    write_item(item, record, payload, false, out)?;
                }
                out.push(b'}');
                Some(JsonKind::Object)
            }
        }
    }

    fn reads_whole_data(&self) -> bool {
        let whole = |item: &Item| matches!(item, Item::Path(ViewPath { root: Root::Data, .. }));
        match &self.shape {
            Shape::One(item) => whole(item),
            Shape::Object(entries) => entries.iter().any(|(_, item)| whole(item)),
        }
    }
}

/// The shape of `term` run after the path `prefix`.
fn shape(term: &Term<&str>, prefix: &[String], fields: &mut Vec<String>) -> Option<Shape> {
    match term {
        Term::BinOp(left, BinaryOp::Pipe(None), right) => {
            let mut prefix = prefix.to_vec();
            prefix.extend(path(left)?);
            shape(right, &prefix, fields)
        }
        Term::Obj(entries) => {
            // After a pipe, `{}` or a constant would hide the prefix's errors.
            if !prefix.is_empty() && entries.is_empty() {
                return None;
            }
            let mut out: Vec<(Vec<u8>, Item)> = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let name = plain_str(key)?;
                let item = match value {
                    None => view_path([prefix, std::slice::from_ref(&name)].concat(), fields)?,
                    Some(value) => item(value, prefix, fields)?,
                };
                let mut quoted = Vec::with_capacity(name.len() + 2);
                write_str(name.as_bytes(), &mut quoted);
                // `{a: 1, a: 2}` is one key: left to jaq.
                if out.iter().any(|(k, _)| *k == quoted) {
                    return None;
                }
                out.push((quoted, item));
            }
            Some(Shape::Object(out))
        }
        other => Some(Shape::One(item(other, prefix, fields)?)),
    }
}

/// A value: a path after `prefix`, or (with no prefix) a constant.
fn item(term: &Term<&str>, prefix: &[String], fields: &mut Vec<String>) -> Option<Item> {
    if let Some(rest) = path(term) {
        return view_path([prefix, &rest].concat(), fields);
    }
    if !prefix.is_empty() {
        return None;
    }
    match term {
        Term::Str(..) => plain_str(term).map(Item::Text),
        Term::Num(n) => n.parse::<isize>().ok().map(|i| Item::Json(itoa::Buffer::new().format(i).as_bytes().to_vec(), JsonKind::Number)),
        Term::Call(name, args) if args.is_empty() => match *name {
            "null" => Some(Item::Json(b"null".to_vec(), JsonKind::Null)),
            "true" | "false" => Some(Item::Json(name.as_bytes().to_vec(), JsonKind::Bool)),
            _ => None,
        },
        _ => None,
    }
}

/// The field names of a path of plain names from `.` (`.` itself is empty).
fn path(term: &Term<&str>) -> Option<Vec<String>> {
    match term {
        Term::Id => Some(Vec::new()),
        Term::Path(base, parts) => {
            let mut names = path(base)?;
            for (part, opt) in &parts.0 {
                match (part, opt) {
                    (Part::Index(name), Opt::Essential) => names.push(plain_str(name)?),
                    _ => return None,
                }
            }
            Some(names)
        }
        _ => None,
    }
}

/// A string literal without interpolation or format.
fn plain_str(term: &Term<&str>) -> Option<String> {
    let Term::Str(None, parts) = term else { return None };
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Str(s) => text.push_str(s),
            StrPart::Char(c) => text.push(*c),
            StrPart::Term(_) => return None,
        }
    }
    Some(text)
}

fn view_path(mut names: Vec<String>, fields: &mut Vec<String>) -> Option<Item> {
    if names.is_empty() {
        return None;
    }
    let first = names.remove(0);
    let root = match first.as_str() {
        "source" => Root::Source,
        "key" => Root::Key,
        "id" => Root::Id,
        "arrival" => Root::Arrival,
        "attributes" => Root::Attributes,
        "data" if names.is_empty() => Root::Data,
        "data" => {
            let field = names.remove(0);
            let i = fields.iter().position(|f| *f == field).unwrap_or_else(|| {
                fields.push(field);
                fields.len() - 1
            });
            Root::DataField(i)
        }
        _ => Root::Absent,
    };
    Some(Item::Path(ViewPath { root, rest: names }))
}

fn write_item(item: &Item, record: &Record, payload: Option<&Payload<'_>>, bare: bool, out: &mut Vec<u8>) -> Option<JsonKind> {
    match item {
        Item::Json(text, kind) => {
            out.extend_from_slice(text);
            Some(*kind)
        }
        Item::Text(text) => {
            write_text(text.as_bytes(), bare, out);
            Some(JsonKind::String)
        }
        Item::Path(path) => write_path(path, record, payload, bare, out),
    }
}

fn write_text(text: &[u8], bare: bool, out: &mut Vec<u8>) {
    if bare {
        out.extend_from_slice(text);
    } else {
        write_str(text, out);
    }
}

fn write_null(out: &mut Vec<u8>) -> Option<JsonKind> {
    out.extend_from_slice(b"null");
    Some(JsonKind::Null)
}

fn write_path(path: &ViewPath, record: &Record, payload: Option<&Payload<'_>>, bare: bool, out: &mut Vec<u8>) -> Option<JsonKind> {
    let scalar_root = |present: bool| {
        // `.key.x` is null on a null key, an error on a string: jaq's.
        if path.rest.is_empty() || !present {
            Some(present)
        } else {
            None
        }
    };
    match path.root {
        Root::Source => {
            scalar_root(true)?;
            write_text(record.source.as_bytes(), bare, out);
            Some(JsonKind::String)
        }
        Root::Key => match (scalar_root(record.key.is_some())?, &record.key) {
            (true, Some(key)) => {
                write_text(key.as_bytes(), bare, out);
                Some(JsonKind::String)
            }
            _ => write_null(out),
        },
        Root::Id => {
            scalar_root(true)?;
            match record.id.sub_sequence {
                None => write_text(record.id.source_id.as_bytes(), bare, out),
                Some(_) => write_text(record.id.to_string().as_bytes(), bare, out),
            }
            Some(JsonKind::String)
        }
        Root::Arrival => match (scalar_root(record.arrival_ms.is_some())?, record.arrival_ms) {
            (true, Some(ms)) => {
                out.extend_from_slice(itoa::Buffer::new().format(ms as isize).as_bytes());
                Some(JsonKind::Number)
            }
            _ => write_null(out),
        },
        Root::Attributes => {
            let Some((first, rest)) = path.rest.split_first() else {
                write_serde_map(&record.attributes, out);
                return Some(JsonKind::Object);
            };
            let mut current = record.attributes.get(first);
            for name in rest {
                current = match current {
                    None => None,
                    Some(value) => index_serde(value, name)?,
                };
            }
            match current {
                None => write_null(out),
                Some(Value::String(s)) => {
                    write_text(s.as_bytes(), bare, out);
                    Some(JsonKind::String)
                }
                Some(v) => {
                    write_serde(v, out);
                    Some(serde_kind(v))
                }
            }
        }
        Root::Data => match payload? {
            Payload::Other(raw) => write_raw(raw, bare, out),
            Payload::Object(_) => {
                write_json(&jaq_json::read::parse_single(&record.data).ok()?, out);
                Some(JsonKind::Object)
            }
        },
        Root::DataField(i) => {
            let mut current: Option<&RawValue> = match payload? {
                Payload::Object(found) => *found.get(i)?,
                Payload::Other(raw) if raw.get() == "null" => None,
                // Indexing an array, a string, a number: jaq's error.
                Payload::Other(_) => return None,
            };
            for name in &path.rest {
                current = match current {
                    None => None,
                    Some(value) => match value.get().as_bytes().first() {
                        Some(b'{') => raw::field(value, name),
                        Some(b'n') => None,
                        _ => return None,
                    },
                };
            }
            match current {
                Some(raw) => write_raw(raw, bare, out),
                None => write_null(out),
            }
        }
        Root::Absent => write_null(out),
    }
}

/// `value.name`: the field (`Some(None)` when absent or `value` is null),
/// `None` when `value` cannot be indexed by name (jaq's error).
fn index_serde<'v>(value: &'v Value, name: &str) -> Option<Option<&'v Value>> {
    match value {
        Value::Object(map) => Some(map.get(name)),
        Value::Null => Some(None),
        _ => None,
    }
}

fn serde_kind(v: &Value) -> JsonKind {
    match v {
        Value::Null => JsonKind::Null,
        Value::Bool(_) => JsonKind::Bool,
        Value::Number(_) => JsonKind::Number,
        Value::String(_) => JsonKind::String,
        Value::Array(_) => JsonKind::Array,
        Value::Object(_) => JsonKind::Object,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordId;
    use crate::transform::{output_bytes, Program};
    use bytes::Bytes;
    use proptest::prelude::*;

    /// Programs the fast path takes, each with a view of every kind of pick.
    const PICKS: &[&str] = &[
        "{deviceId: .data.deviceId, temperature: .data.temperature, ts: .data.ts, key}",
        ".data | {deviceId, n, nested}",
        ".data.nested.b",
        ".data.nested | {b, c}",
        ".data",
        ".data.deviceId",
        r#"{"kind": "reading", v: 1, on: true, none: null, src: .source, id, arrival, shard: .attributes.shard_id}"#,
        ".attributes",
        ".attributes.meta.zone",
        r#".["data"]."deviceId""#,
        "{missing: .data.missing.deeper, other: .nothing.at.all}",
        ".key",
        ".id",
    ];

    fn record(data: &str, key: Option<&str>, sub: Option<u32>) -> Record {
        let mut id = RecordId::new("4959-\"1\"");
        id.sub_sequence = sub;
        let attributes = serde_json::json!({"shard_id": "shardId-0", "n": 7, "f": 1.5, "meta": {"zone": "eu\n1", "list": [1, "x", null]}});
        let serde_json::Value::Object(attributes) = attributes else { unreachable!() };
        let mut r =
            Record::new(id, "kinesis", Bytes::copy_from_slice(data.as_bytes())).with_arrival_ms(1_795_323_600_000).with_attributes(attributes.into());
        if let Some(key) = key {
            r = r.with_key(key);
        }
        r
    }

    /// The fast path's output, when it takes the record.
    fn fast(code: &str, record: &Record) -> Option<Vec<u8>> {
        let pick = Pick::recognize(code).unwrap_or_else(|| panic!("`{code}` is a pick"));
        let mut out = Vec::new();
        pick.write(record, true, &mut out).map(|_| out)
    }

    /// jaq's outputs, as a transform sends them.
    fn jaq(code: &str, record: &Record) -> Result<Vec<Vec<u8>>, String> {
        let program = Program::compile(code).expect("compiles");
        Ok(program.run_on(record)?.iter().map(|v| output_bytes(v).to_vec()).collect())
    }

    #[test]
    fn recognizes_programs_that_only_pick_and_nothing_else() {
        for code in PICKS.iter().chain(&["{}", "\"constant\"", "42", ".data | .a | {b}", "{a: .data.a, \"b c\": .key}"]) {
            assert!(Pick::recognize(code).is_some(), "{code}");
        }
        for code in [
            ".",
            ".data.a?",
            ".data.a, .key",
            ".data.a // \"x\"",
            "{(.key): 1}",
            ".data[0]",
            ".data.a[]",
            ".data | {}",
            ".data.a | {b: \"constant\"}",
            "{a: 1, a: 2}",
            "\"\\(.key)\"",
            "@base64 \"x\"",
            "1.5",
            "-1",
            "{$__loc__}",
            "{a: .data.a | ascii_downcase}",
            "length",
        ] {
            assert!(Pick::recognize(code).is_none(), "{code}");
        }
    }

    #[test]
    fn writes_what_jaq_writes_for_the_common_transform() {
        let r = record(
            r#"{"deviceId":"sensor-\u00e9","temperature":21.50,"ts":-0,"big":123456789012345678901234567890,"skip":[1,{"x":2}]}"#,
            Some("pk"),
            None,
        );
        let code = "{deviceId: .data.deviceId, temperature: .data.temperature, ts: .data.ts, key}";
        let out = fast(code, &r).expect("the fast path takes it");
        assert_eq!(String::from_utf8_lossy(&out), r#"{"deviceId":"sensor-é","temperature":21.50,"ts":0,"key":"pk"}"#);
        assert_eq!(jaq(code, &r), Ok(vec![out]));
    }

    #[test]
    fn leaves_to_jaq_what_jaq_reads_differently_or_refuses() {
        let r = record("not json", None, None);
        assert_eq!(fast(".data.deviceId", &r), None, "indexing a string is jaq's error");
        assert!(jaq(".data.deviceId", &r).is_err());
        let r = record(r#"["a"]"#, None, None);
        assert_eq!(fast("{a: .data.a}", &r), None);
        let r = record(r#"{"a":"\ud800"}"#, None, None);
        assert_eq!(fast(".data.a", &r), None, "a lone surrogate is read by jaq its own way");
        let r = record(r#"{"a":{"b":"text"}}"#, Some("k"), None);
        assert_eq!(fast(".data.a.b.c", &r), None);
        assert_eq!(fast(".key.x", &r), None);
        assert_eq!(fast(".source.x", &r), None);
        assert_eq!(fast(".attributes.shard_id.x", &r), None);
    }

    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|i| i.to_string()),
            Just("-0".to_owned()),
            Just("21.50".to_owned()),
            Just("1e5".to_owned()),
            Just("-2.5E-3".to_owned()),
            Just("123456789012345678901234567890".to_owned()),
            Just("1e400".to_owned()),
        ]
    }

    fn string() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z ]{0,6}".prop_map(|s| format!("\"{s}\"")),
            Just(r#""esc\"aped\\ \n \t \u0001 \u00e9 \/""#.to_owned()),
            Just("\"raw é\"".to_owned()),
        ]
    }

    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![Just("null".to_owned()), Just("true".to_owned()), Just("false".to_owned()), number(), string()];
        leaf.prop_recursive(3, 20, 4, |inner| {
            let key = prop_oneof![Just("deviceId"), Just("n"), Just("nested"), Just("b"), Just("c"), Just("ts"), Just("temperature"), Just("z")];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
                prop::collection::vec((key, inner), 0..5).prop_map(|fields| {
                    let fields: Vec<String> = fields.into_iter().map(|(k, v)| format!("\"{k}\" : {v}")).collect();
                    format!("{{ {} }}", fields.join(","))
                }),
            ]
        })
    }

    fn payload() -> impl Strategy<Value = String> {
        prop_oneof![8 => json_text(), 1 => Just("not json".to_owned()), 1 => Just(r#"{"deviceId": 1} trailing"#.to_owned())]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Wherever the fast path answers, it answers what jaq does.
        #[test]
        fn the_fast_path_answers_as_jaq_does(data in payload(), which in 0..PICKS.len(), key in prop::option::of("[a-z]{1,3}"), sub in prop::option::of(0u32..3)) {
            let code = PICKS[which];
            let r = record(&data, key.as_deref(), sub);
            if let Some(out) = fast(code, &r) {
                prop_assert_eq!(jaq(code, &r), Ok(vec![out]), "{} on {}", code, data);
            }
        }
    }

    #[test]
    fn the_fast_path_takes_json_objects_and_the_metadata() {
        let r = record(r#"{"deviceId":"d","n":1.0,"nested":{"b":[1,{"x":null}],"c":"\u0041"}}"#, None, Some(2));
        for code in PICKS {
            let out = fast(code, &r).unwrap_or_else(|| panic!("`{code}` takes a JSON object"));
            assert_eq!(jaq(code, &r), Ok(vec![out]), "{code}");
        }
    }
}
