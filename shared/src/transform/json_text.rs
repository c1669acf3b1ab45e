//! Compact JSON text, written the way jq writes it, from jaq values
//! ([`write_json`]), from `serde_json` values ([`write_serde`]) and from
//! checked JSON text ([`write_raw`]). All three agree byte for byte on the
//! same value, so a transform's output does not depend on which path built
//! it: strings re-escaped (only `"`, `\` and control characters; the rest
//! as UTF-8), integers canonical, other numbers as they were written.

use jaq_json::Val;
use serde_json::value::RawValue;
use serde_json::Value;

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

/// `v` as [`write_json`] writes the same value converted to jaq
/// ([`super::from_json`]): numbers as serde_json prints them, which is how
/// the conversion reads them.
pub fn write_serde(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
            (_, Some(u)) => out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes()),
            _ => out.extend_from_slice(n.to_string().as_bytes()),
        },
        Value::String(s) => write_str(s.as_bytes(), out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_serde(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_serde_map(map, out),
    }
}

/// A `serde_json` object as [`write_serde`] writes it.
pub fn write_serde_map(map: &serde_json::Map<String, Value>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (k, item)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(k.as_bytes(), out);
        out.push(b':');
        write_serde(item, out);
    }
    out.push(b'}');
}

/// The kind of a JSON value, as a transform's output is judged by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `null`
    Null,
    /// `true` or `false`
    Bool,
    /// A number
    Number,
    /// A string
    String,
    /// An array
    Array,
    /// An object
    Object,
}

/// Write checked JSON text `raw` (a slice of a payload that
/// [`super::raw::read`] accepted) as [`write_json`] writes the value jaq
/// reads from it; a string's content goes out unquoted when `bare`. `None`
/// when the text cannot be read after all (a string with a lone surrogate):
/// the caller then lets jaq decide.
pub fn write_raw(raw: &RawValue, bare: bool, out: &mut Vec<u8>) -> Option<JsonKind> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => {
            let inner = text.get(1..text.len() - 1)?;
            let decoded: std::borrow::Cow<'_, str> = if inner.contains('\\') {
                std::borrow::Cow::Owned(serde_json::from_str::<String>(text).ok()?)
            } else {
                std::borrow::Cow::Borrowed(inner)
            };
            if bare {
                out.extend_from_slice(decoded.as_bytes());
            } else {
                write_str(decoded.as_bytes(), out);
            }
            Some(JsonKind::String)
        }
        b'n' => {
            out.extend_from_slice(b"null");
            Some(JsonKind::Null)
        }
        b't' | b'f' => {
            out.extend_from_slice(text.as_bytes());
            Some(JsonKind::Bool)
        }
        // jaq reads an integer into an integer (so `-0` is `0`), any other
        // number as the text it was written as.
        b'-' | b'0'..=b'9' => {
            out.extend_from_slice(if text == "-0" { b"0" } else { text.as_bytes() });
            Some(JsonKind::Number)
        }
        open => {
            let kind = if *open == b'[' { JsonKind::Array } else { JsonKind::Object };
            write_json(&jaq_json::read::parse_single(text.as_bytes()).ok()?, out);
            Some(kind)
        }
    }
}

/// `bytes` as a JSON string: `"`, `\` and control characters escaped,
/// everything else as UTF-8 (invalid UTF-8 replaced by U+FFFD).
pub fn write_str(bytes: &[u8], out: &mut Vec<u8>) {
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
