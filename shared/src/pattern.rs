//! EventBridge-style content patterns, compiled once at start-up.
//!
//! A pattern is a JSON object. Each key names a field of the record view
//! (`source`, `key`, `attributes`, `data`, and below `data` the payload's own
//! fields); its value is either a nested object (match deeper) or an array of
//! matchers, any one of which may match. Supported matchers: exact values
//! (string, number, boolean, null), `prefix`, `suffix`, `anything-but`,
//! `numeric`, `exists`, `equals-ignore-case`, `wildcard`, and `$or` at any
//! object level. When the record's field is an array, the field matches when
//! any element matches. Numbers compare by value (`300` equals `3.0e2`).
//!
//! Mistakes that would make a pattern silently match nothing (or everything)
//! are compile errors: a top-level field the record view does not have, an
//! empty object or list, an empty `anything-but` list, a `numeric` range that
//! is not a lower then a higher bound, and (as in EventBridge) consecutive `*`
//! in a `wildcard`.

use crate::record::Record;
use serde_json::{Map, Value};

/// A compiled content pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    root: ObjectPattern,
}

/// Why a pattern could not be compiled, and where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", if path.is_empty() { "(pattern)" } else { path })]
pub struct PatternError {
    /// Dotted path inside the pattern (`data.temperature[0]`); empty for the
    /// pattern itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, Default)]
struct ObjectPattern {
    fields: Vec<(String, FieldPattern)>,
    /// Each `$or` holds alternatives; at least one must match.
    ors: Vec<Vec<ObjectPattern>>,
}

#[derive(Debug, Clone)]
enum FieldPattern {
    Nested(ObjectPattern),
    Any(Vec<Matcher>),
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact(Value),
    Prefix(String, bool),
    Suffix(String, bool),
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(AnythingBut),
    Numeric(Vec<(NumOp, f64)>),
    Exists(bool),
}

#[derive(Debug, Clone)]
enum AnythingBut {
    Values(Vec<Value>),
    Prefix(String),
    Suffix(String),
    IgnoreCase(Vec<String>),
}

#[derive(Debug, Clone, Copy)]
enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The fields of the record view (see [`Node::get`]); a pattern naming any
/// other field at the top level could never match.
const RECORD_FIELDS: [&str; 4] = ["source", "key", "attributes", "data"];

/// Where in the view an object pattern applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The record view itself: its fields are [`RECORD_FIELDS`].
    Record,
    /// Below `attributes` or `data`: any field names.
    Inside,
}

/// A field of the view a pattern is matched against.
#[derive(Clone, Copy)]
enum Node<'a> {
    Missing,
    Record(&'a Record),
    Json(&'a Value),
    Str(&'a str),
    Map(&'a Map<String, Value>),
}

impl<'a> Node<'a> {
    fn get(self, key: &str) -> Node<'a> {
        match self {
            Node::Record(r) => match key {
                "source" => Node::Str(r.source),
                "key" => r.key.as_deref().map_or(Node::Missing, Node::Str),
                "attributes" => Node::Map(&r.attributes),
                "data" => r.json().map_or(Node::Missing, Node::Json),
                _ => Node::Missing,
            },
            Node::Json(Value::Object(m)) | Node::Map(m) => m.get(key).map_or(Node::Missing, Node::Json),
            _ => Node::Missing,
        }
    }
}

impl Pattern {
    /// Compile a pattern given as JSON (or YAML read into JSON).
    pub fn compile(pattern: &Value) -> Result<Self, PatternError> {
        let root = compile_object(pattern, "", Level::Record)?;
        Ok(Self { root })
    }

    /// Whether the record matches. Payloads that are not JSON have no `data`
    /// fields: patterns on `data` do not match them (except `exists: false`).
    pub fn matches(&self, record: &Record) -> bool {
        self.root.matches(Node::Record(record))
    }

    /// The payload fields the pattern reads: the keys under `data` (in every
    /// `$or` alternative too), or the whole document when it matches `data`
    /// itself.
    pub fn data_fields(&self) -> crate::projection::DataFields {
        fn walk(o: &ObjectPattern) -> DataFields {
            let own = o.fields.iter().filter(|(k, _)| k == "data").map(|(_, p)| match p {
                FieldPattern::Nested(inner) => DataFields::all(
                    inner
                        .fields
                        .iter()
                        .map(|(k, _)| DataFields::Fields(std::collections::BTreeSet::from([k.clone()])))
                        .chain(inner.ors.iter().flatten().map(top_level)),
                ),
                FieldPattern::Any(_) => DataFields::Whole,
            });
            DataFields::all(own.chain(o.ors.iter().flatten().map(walk)).collect::<Vec<_>>())
        }
        /// The top-level keys of an alternative below `data`.
        fn top_level(o: &ObjectPattern) -> DataFields {
            DataFields::all(
                o.fields
                    .iter()
                    .map(|(k, _)| DataFields::Fields(std::collections::BTreeSet::from([k.clone()])))
                    .chain(o.ors.iter().flatten().map(top_level))
                    .collect::<Vec<_>>(),
            )
        }
        use crate::projection::DataFields;
        walk(&self.root)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn err(path: &str, message: impl Into<String>) -> PatternError {
    PatternError { path: path.to_owned(), message: message.into() }
}

fn compile_object(value: &Value, path: &str, level: Level) -> Result<ObjectPattern, PatternError> {
    let Value::Object(map) = value else {
        return Err(err(path, format!("a pattern must be an object of field names, found {value}")));
    };
    if map.is_empty() {
        return Err(err(path, "an empty object matches nothing useful; leave `match` out to take every record"));
    }
    let mut out = ObjectPattern::default();
    for (key, v) in map {
        let here = join(path, key);
        if key == "$or" {
            let Value::Array(alts) = v else {
                return Err(err(&here, "`$or` takes an array of patterns"));
            };
            if alts.len() < 2 {
                return Err(err(&here, "`$or` needs at least two alternatives"));
            }
            let alts = alts.iter().enumerate().map(|(i, alt)| compile_object(alt, &format!("{here}[{i}]"), level)).collect::<Result<Vec<_>, _>>()?;
            out.ors.push(alts);
            continue;
        }
        if level == Level::Record {
            check_record_field(key, v, &here)?;
        }
        let field = match v {
            Value::Object(_) => FieldPattern::Nested(compile_object(v, &here, Level::Inside)?),
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(err(&here, "an empty array of values matches nothing"));
                }
                let matchers = items.iter().enumerate().map(|(i, m)| compile_matcher(m, &format!("{here}[{i}]"))).collect::<Result<Vec<_>, _>>()?;
                FieldPattern::Any(matchers)
            }
            _ => return Err(err(&here, format!("must be an array of values or an object, found {v}; write [{v}]"))),
        };
        out.fields.push((key.clone(), field));
    }
    Ok(out)
}

/// A top-level field must be one the record view has, in the shape it has:
/// `source` and `key` are strings, `attributes` an object, `data` anything.
fn check_record_field(key: &str, value: &Value, path: &str) -> Result<(), PatternError> {
    match (key, value) {
        ("source" | "key", Value::Object(_)) => {
            Err(err(path, format!("`{key}` is a string: match it with an array of values, like {key}: [{{ prefix: \"x\" }}]")))
        }
        ("attributes", Value::Array(_)) => Err(err(path, "`attributes` is an object: match its fields, like attributes: { shard_id: [ ... ] }")),
        (k, _) if RECORD_FIELDS.contains(&k) => Ok(()),
        (k, _) => Err(err(
            path,
            format!("unknown record field `{k}`: a record has source, key, attributes and data (payload fields go under data: {{ {k}: ... }})"),
        )),
    }
}

fn compile_matcher(value: &Value, path: &str) -> Result<Matcher, PatternError> {
    let Value::Object(op) = value else {
        return match value {
            Value::Array(_) => Err(err(path, "nested arrays are not allowed in a list of values")),
            v => Ok(Matcher::Exact(v.clone())),
        };
    };
    if op.len() != 1 {
        return Err(err(path, "a matcher object has exactly one operator"));
    }
    let Some((name, arg)) = op.iter().next() else {
        return Err(err(path, "a matcher object has exactly one operator"));
    };
    let here = join(path, name);
    match name.as_str() {
        "prefix" | "suffix" => {
            let (text, ignore_case) = match arg {
                Value::String(s) => (s.clone(), false),
                Value::Object(o) if o.len() == 1 => match o.get("equals-ignore-case") {
                    Some(Value::String(s)) => (s.to_lowercase(), true),
                    _ => return Err(err(&here, "takes a string or {\"equals-ignore-case\": string}")),
                },
                _ => return Err(err(&here, "takes a string or {\"equals-ignore-case\": string}")),
            };
            Ok(if name == "prefix" { Matcher::Prefix(text, ignore_case) } else { Matcher::Suffix(text, ignore_case) })
        }
        "equals-ignore-case" => match arg {
            Value::String(s) => Ok(Matcher::EqualsIgnoreCase(s.to_lowercase())),
            _ => Err(err(&here, "takes a string")),
        },
        "wildcard" => match arg {
            Value::String(s) => match s.find("**") {
                Some(at) => Err(err(
                    &here,
                    format!(
                        "`{s}` has consecutive `*` at position {}: EventBridge refuses them (one `*` already matches any run of characters)",
                        s[..at].chars().count()
                    ),
                )),
                None => Ok(Matcher::Wildcard(s.clone())),
            },
            _ => Err(err(&here, "takes a string with `*` wildcards")),
        },
        "exists" => match arg {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err(err(&here, "takes true or false")),
        },
        "numeric" => compile_numeric(arg, &here),
        "anything-but" => compile_anything_but(arg, &here),
        other => Err(err(
            &here,
            format!("unknown operator `{other}` (expected prefix, suffix, equals-ignore-case, wildcard, exists, numeric or anything-but)"),
        )),
    }
}

fn compile_numeric(arg: &Value, path: &str) -> Result<Matcher, PatternError> {
    let Value::Array(parts) = arg else {
        return Err(err(path, "takes an array like [\">\", 0, \"<=\", 5]"));
    };
    if parts.is_empty() || parts.len() % 2 != 0 || parts.len() > 4 {
        return Err(err(path, "takes one or two (operator, number) pairs, like [\">\", 0, \"<=\", 5]"));
    }
    let mut ops: Vec<(NumOp, f64)> = Vec::with_capacity(parts.len() / 2);
    for pair in parts.chunks(2) {
        let op = match pair[0].as_str() {
            Some("=") => NumOp::Eq,
            Some("<") => NumOp::Lt,
            Some("<=") => NumOp::Le,
            Some(">") => NumOp::Gt,
            Some(">=") => NumOp::Ge,
            _ => return Err(err(path, format!("{} is not one of =, <, <=, >, >=", pair[0]))),
        };
        let Some(n) = pair[1].as_f64() else {
            return Err(err(path, format!("{} is not a number", pair[1])));
        };
        ops.push((op, n));
    }
    if let [(low_op, low), (high_op, high)] = ops[..] {
        if !matches!(low_op, NumOp::Gt | NumOp::Ge) || !matches!(high_op, NumOp::Lt | NumOp::Le) {
            return Err(err(path, "a range is a lower bound (> or >=) then an upper bound (< or <=), like [\">\", 0, \"<=\", 5]"));
        }
        if low > high {
            return Err(err(path, format!("the lower bound {low} is above the upper bound {high}: the range matches nothing")));
        }
        if low == high {
            return Err(err(path, format!("the lower and upper bounds are both {low}: for one value write [\"=\", {low}]")));
        }
    }
    Ok(Matcher::Numeric(ops))
}

fn compile_anything_but(arg: &Value, path: &str) -> Result<Matcher, PatternError> {
    let strings = |v: &Value| -> Result<Vec<String>, PatternError> {
        match v {
            Value::String(s) => Ok(vec![s.to_lowercase()]),
            Value::Array(a) if a.is_empty() => Err(err(path, "an empty list excludes nothing; list at least one value")),
            Value::Array(a) => {
                a.iter().map(|x| x.as_str().map(str::to_lowercase).ok_or_else(|| err(path, "equals-ignore-case takes strings"))).collect()
            }
            _ => Err(err(path, "equals-ignore-case takes a string or an array of strings")),
        }
    };
    Ok(Matcher::AnythingBut(match arg {
        Value::Array(values) => {
            if values.is_empty() {
                return Err(err(path, "an empty list excludes nothing; list at least one value"));
            }
            if values.iter().any(|v| v.is_array() || v.is_object()) {
                return Err(err(path, "takes a value, an array of values, or {prefix|suffix|equals-ignore-case: ...}"));
            }
            AnythingBut::Values(values.clone())
        }
        Value::Object(o) if o.len() == 1 => match o.iter().next() {
            Some((k, Value::String(s))) if k == "prefix" => AnythingBut::Prefix(s.clone()),
            Some((k, Value::String(s))) if k == "suffix" => AnythingBut::Suffix(s.clone()),
            Some((k, v)) if k == "equals-ignore-case" => AnythingBut::IgnoreCase(strings(v)?),
            _ => return Err(err(path, "takes a value, an array of values, or {prefix|suffix|equals-ignore-case: ...}")),
        },
        Value::Object(_) => return Err(err(path, "takes a value, an array of values, or {prefix|suffix|equals-ignore-case: ...}")),
        v => AnythingBut::Values(vec![v.clone()]),
    }))
}

impl ObjectPattern {
    fn matches(&self, node: Node<'_>) -> bool {
        // Arrays of objects: the pattern matches when any element does.
        if let Node::Json(Value::Array(items)) = node {
            return items.iter().any(|item| self.matches(Node::Json(item)));
        }
        self.fields.iter().all(|(key, field)| field.matches(node.get(key))) && self.ors.iter().all(|alts| alts.iter().any(|alt| alt.matches(node)))
    }
}

impl FieldPattern {
    fn matches(&self, node: Node<'_>) -> bool {
        match self {
            FieldPattern::Nested(object) => !matches!(node, Node::Missing) && object.matches(node),
            FieldPattern::Any(matchers) => matchers.iter().any(|m| m.matches_node(node)),
        }
    }
}

/// A scalar seen by a matcher.
enum Scalar<'a> {
    Str(&'a str),
    Num(f64),
    Other(&'a Value),
}

impl Matcher {
    fn matches_node(&self, node: Node<'_>) -> bool {
        match node {
            Node::Missing => matches!(self, Matcher::Exists(false)),
            Node::Str(s) => self.matches_scalar(Scalar::Str(s)),
            Node::Json(Value::Array(items)) => match self {
                Matcher::Exists(e) => *e,
                _ => items.iter().any(|v| self.matches_value(v)),
            },
            Node::Json(v) => self.matches_value(v),
            Node::Record(_) | Node::Map(_) => matches!(self, Matcher::Exists(true)),
        }
    }

    fn matches_value(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => self.matches_scalar(Scalar::Str(s)),
            Value::Number(n) => n.as_f64().is_some_and(|f| self.matches_scalar(Scalar::Num(f))),
            Value::Array(_) => false,
            other => self.matches_scalar(Scalar::Other(other)),
        }
    }

    fn matches_scalar(&self, s: Scalar<'_>) -> bool {
        match (self, &s) {
            (Matcher::Exists(e), _) => *e,
            (Matcher::Exact(expected), _) => scalar_eq(expected, &s),
            (Matcher::Prefix(p, false), Scalar::Str(v)) => v.starts_with(p.as_str()),
            (Matcher::Prefix(p, true), Scalar::Str(v)) => v.to_lowercase().starts_with(p.as_str()),
            (Matcher::Suffix(p, false), Scalar::Str(v)) => v.ends_with(p.as_str()),
            (Matcher::Suffix(p, true), Scalar::Str(v)) => v.to_lowercase().ends_with(p.as_str()),
            (Matcher::EqualsIgnoreCase(p), Scalar::Str(v)) => v.to_lowercase() == *p,
            (Matcher::Wildcard(p), Scalar::Str(v)) => wildcard(p.as_bytes(), v.as_bytes()),
            (Matcher::Numeric(ops), Scalar::Num(n)) => ops.iter().all(|(op, bound)| match op {
                NumOp::Eq => n == bound,
                NumOp::Lt => n < bound,
                NumOp::Le => n <= bound,
                NumOp::Gt => n > bound,
                NumOp::Ge => n >= bound,
            }),
            (Matcher::AnythingBut(AnythingBut::Values(values)), _) => !values.iter().any(|x| scalar_eq(x, &s)),
            (Matcher::AnythingBut(AnythingBut::Prefix(p)), Scalar::Str(v)) => !v.starts_with(p.as_str()),
            (Matcher::AnythingBut(AnythingBut::Suffix(p)), Scalar::Str(v)) => !v.ends_with(p.as_str()),
            (Matcher::AnythingBut(AnythingBut::IgnoreCase(values)), Scalar::Str(v)) => {
                let lower = v.to_lowercase();
                !values.contains(&lower)
            }
            _ => false,
        }
    }
}

fn scalar_eq(expected: &Value, s: &Scalar<'_>) -> bool {
    match (expected, s) {
        (Value::String(e), Scalar::Str(v)) => e == v,
        (Value::Number(e), Scalar::Num(v)) => e.as_f64() == Some(*v),
        (e, Scalar::Other(v)) => e == *v,
        _ => false,
    }
}

/// `*` matches any run of characters, everything else matches itself.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests;
